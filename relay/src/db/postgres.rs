//! The PostgreSQL backend (tokio-postgres): what several instances behind a balancer
//! share. One connection, pipelined, made again when it drops. Plain TCP or a Unix
//! socket: reach a remote server over a private network (no TLS is built in).

use super::{check_schema, Caps, DbError, SCHEMA_VERSION, SWEEP_BATCH};
use crate::store::Row;
use std::sync::Arc;
use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls};

const SCHEMA: &str = "
BEGIN;
-- Two instances starting together: one creates, the other waits here.
SELECT pg_advisory_xact_lock(7305135);
CREATE TABLE IF NOT EXISTS relay_schema (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL,
    key_check TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS relay_link (
    id_hash BYTEA PRIMARY KEY,
    installation TEXT NOT NULL,
    status TEXT NOT NULL,
    verifier BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    forget_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    record BYTEA
);
CREATE INDEX IF NOT EXISTS relay_link_live_expiry ON relay_link (expires_at) WHERE record IS NOT NULL;
CREATE INDEX IF NOT EXISTS relay_link_forget ON relay_link (forget_at);
CREATE INDEX IF NOT EXISTS relay_link_installation ON relay_link (installation);
COMMIT;
";

pub struct Postgres {
    config: String,
    client: Mutex<Option<Arc<Client>>>,
}

fn err(e: tokio_postgres::Error) -> DbError {
    // The server's message, never the statement's parameters.
    match e.as_db_error() {
        Some(d) => format!("postgresql: {}", d.message()),
        None => format!("postgresql: {e}"),
    }
}

async fn connect(config: &str) -> Result<Client, DbError> {
    let (client, conn) = tokio_postgres::connect(config, NoTls).await.map_err(err)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

impl Postgres {
    pub async fn open(config: String, fingerprint: &str) -> Result<Postgres, DbError> {
        let c = connect(&config).await?;
        c.batch_execute(SCHEMA).await.map_err(err)?;
        c.execute(
            "INSERT INTO relay_schema (id, version, key_check) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
            &[&SCHEMA_VERSION, &fingerprint],
        )
        .await
        .map_err(err)?;
        let r = c
            .query_one(
                "SELECT version, key_check FROM relay_schema WHERE id = 1",
                &[],
            )
            .await
            .map_err(err)?;
        check_schema(r.get(0), r.get::<_, String>(1).as_str(), fingerprint)?;
        Ok(Postgres {
            config,
            client: Mutex::new(Some(Arc::new(c))),
        })
    }

    /// The connection, made again if the server closed it.
    async fn client(&self) -> Result<Arc<Client>, DbError> {
        let mut g = self.client.lock().await;
        if let Some(c) = g.as_ref() {
            if !c.is_closed() {
                return Ok(c.clone());
            }
        }
        let c = Arc::new(connect(&self.config).await?);
        *g = Some(c.clone());
        Ok(c)
    }

    pub async fn insert(&self, row: &Row, forget_at: i64, caps: Caps) -> Result<bool, DbError> {
        // Under concurrent inserts the caps may be passed by a few: they bound abuse, they
        // are not an exact quota.
        let n = self
            .client()
            .await?
            .execute(
                "INSERT INTO relay_link (id_hash, installation, status, verifier, created_at, expires_at, forget_at, version, record)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
                 WHERE (SELECT COUNT(*) FROM relay_link) < $10
                   AND (SELECT COUNT(*) FROM relay_link WHERE installation = $2) < $11",
                &[
                    &&row.id_hash[..],
                    &row.installation,
                    &row.status,
                    &&row.verifier[..],
                    &row.created_at,
                    &row.expires_at,
                    &forget_at,
                    &row.version,
                    &row.record,
                    &caps.total,
                    &caps.per_installation,
                ],
            )
            .await
            .map_err(err)?;
        Ok(n == 1)
    }

    pub async fn get(&self, id_hash: [u8; 32]) -> Result<Option<Row>, DbError> {
        let r = self
            .client()
            .await?
            .query_opt(
                "SELECT installation, status, verifier, created_at, expires_at, version, record
                 FROM relay_link WHERE id_hash = $1",
                &[&&id_hash[..]],
            )
            .await
            .map_err(err)?;
        Ok(r.map(|r| {
            let verifier: Vec<u8> = r.get(2);
            Row {
                id_hash,
                installation: r.get(0),
                status: r.get(1),
                verifier: verifier.try_into().unwrap_or([0u8; 32]),
                created_at: r.get(3),
                expires_at: r.get(4),
                version: r.get(5),
                record: r.get(6),
            }
        }))
    }

    pub async fn update(
        &self,
        id_hash: [u8; 32],
        version: i64,
        status: &str,
        record: Option<Vec<u8>>,
    ) -> Result<bool, DbError> {
        let n = self
            .client()
            .await?
            .execute(
                "UPDATE relay_link SET status = $1, record = $2, version = version + 1
                 WHERE id_hash = $3 AND version = $4",
                &[&status, &record, &&id_hash[..], &version],
            )
            .await
            .map_err(err)?;
        Ok(n == 1)
    }

    pub async fn sweep(&self, now: i64) -> Result<(u64, u64), DbError> {
        let c = self.client().await?;
        let expired = c
            .execute(
                "UPDATE relay_link SET status = 'expired', record = NULL, version = version + 1
                 WHERE id_hash IN (SELECT id_hash FROM relay_link
                                   WHERE record IS NOT NULL AND expires_at <= $1 LIMIT $2)",
                &[&now, &SWEEP_BATCH],
            )
            .await
            .map_err(err)?;
        let removed = c
            .execute(
                "DELETE FROM relay_link WHERE id_hash IN
                   (SELECT id_hash FROM relay_link WHERE forget_at <= $1 LIMIT $2)",
                &[&now, &SWEEP_BATCH],
            )
            .await
            .map_err(err)?;
        Ok((expired, removed))
    }

    pub async fn count(&self) -> Result<i64, DbError> {
        let r = self
            .client()
            .await?
            .query_one("SELECT COUNT(*) FROM relay_link", &[])
            .await
            .map_err(err)?;
        Ok(r.get(0))
    }
}
