//! The SQLite backend (rusqlite, bundled): WAL, and a full sync at each commit, so that a
//! link the relay answered for survives a power cut. One connection behind a mutex,
//! used from tokio's blocking threads.

use super::{check_schema, Caps, DbError, SCHEMA_VERSION, SWEEP_BATCH};
use crate::store::Row;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS relay_schema (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    key_check TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS relay_link (
    id_hash BLOB PRIMARY KEY,
    installation TEXT NOT NULL,
    status TEXT NOT NULL,
    verifier BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    forget_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    record BLOB
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS relay_link_live_expiry ON relay_link (expires_at) WHERE record IS NOT NULL;
CREATE INDEX IF NOT EXISTS relay_link_forget ON relay_link (forget_at);
CREATE INDEX IF NOT EXISTS relay_link_installation ON relay_link (installation);
";

pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
}

fn err(e: rusqlite::Error) -> DbError {
    format!("sqlite: {e}")
}

impl Sqlite {
    pub async fn open(path: PathBuf, fingerprint: String) -> Result<Sqlite, DbError> {
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection, DbError> {
            let c =
                Connection::open(&path).map_err(|e| format!("sqlite {}: {e}", path.display()))?;
            c.busy_timeout(std::time::Duration::from_secs(5))
                .map_err(err)?;
            c.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
            c.pragma_update(None, "synchronous", "FULL").map_err(err)?;
            c.execute_batch(SCHEMA).map_err(err)?;
            c.execute(
                "INSERT OR IGNORE INTO relay_schema (id, version, key_check) VALUES (1, ?1, ?2)",
                params![SCHEMA_VERSION, fingerprint],
            )
            .map_err(err)?;
            let (version, stored): (i64, String) = c
                .query_row(
                    "SELECT version, key_check FROM relay_schema WHERE id = 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(err)?;
            check_schema(version, &stored, &fingerprint)?;
            Ok(c)
        })
        .await
        .map_err(|e| e.to_string())??;
        Ok(Sqlite {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, DbError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let c = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&c).map_err(err)
        })
        .await
        .map_err(|e| e.to_string())?
    }

    pub async fn insert(&self, row: Row, forget_at: i64, caps: Caps) -> Result<bool, DbError> {
        self.with(move |c| {
            // The caps and the insert in one statement, under the connection's lock.
            let n = c.execute(
                "INSERT INTO relay_link (id_hash, installation, status, verifier, created_at, expires_at, forget_at, version, record)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
                 WHERE (SELECT COUNT(*) FROM relay_link) < ?10
                   AND (SELECT COUNT(*) FROM relay_link WHERE installation = ?2) < ?11",
                params![
                    &row.id_hash[..],
                    row.installation,
                    row.status,
                    &row.verifier[..],
                    row.created_at,
                    row.expires_at,
                    forget_at,
                    row.version,
                    row.record,
                    caps.total,
                    caps.per_installation
                ],
            )?;
            Ok(n == 1)
        })
        .await
    }

    pub async fn get(&self, id_hash: [u8; 32]) -> Result<Option<Row>, DbError> {
        self.with(move |c| {
            c.query_row(
                "SELECT installation, status, verifier, created_at, expires_at, version, record
                 FROM relay_link WHERE id_hash = ?1",
                params![&id_hash[..]],
                |r| {
                    let verifier: Vec<u8> = r.get(2)?;
                    Ok(Row {
                        id_hash,
                        installation: r.get(0)?,
                        status: r.get(1)?,
                        verifier: verifier.try_into().unwrap_or([0u8; 32]),
                        created_at: r.get(3)?,
                        expires_at: r.get(4)?,
                        version: r.get(5)?,
                        record: r.get(6)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    pub async fn update(
        &self,
        id_hash: [u8; 32],
        version: i64,
        status: String,
        record: Option<Vec<u8>>,
    ) -> Result<bool, DbError> {
        self.with(move |c| {
            let n = c.execute(
                "UPDATE relay_link SET status = ?1, record = ?2, version = version + 1
                 WHERE id_hash = ?3 AND version = ?4",
                params![status, record, &id_hash[..], version],
            )?;
            Ok(n == 1)
        })
        .await
    }

    pub async fn sweep(&self, now: i64) -> Result<(u64, u64), DbError> {
        self.with(move |c| {
            let expired = c.execute(
                "UPDATE relay_link SET status = 'expired', record = NULL, version = version + 1
                 WHERE id_hash IN (SELECT id_hash FROM relay_link
                                   WHERE record IS NOT NULL AND expires_at <= ?1 LIMIT ?2)",
                params![now, SWEEP_BATCH],
            )?;
            let removed = c.execute(
                "DELETE FROM relay_link WHERE id_hash IN
                   (SELECT id_hash FROM relay_link WHERE forget_at <= ?1 LIMIT ?2)",
                params![now, SWEEP_BATCH],
            )?;
            Ok((expired as u64, removed as u64))
        })
        .await
    }

    pub async fn count(&self) -> Result<i64, DbError> {
        self.with(|c| c.query_row("SELECT COUNT(*) FROM relay_link", [], |r| r.get(0)))
            .await
    }
}
