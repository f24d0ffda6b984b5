//! Where the links live: a SQLite file (one instance) or a PostgreSQL database (several
//! instances behind a balancer). Both hold the same table, `relay_link`, one row per
//! link (see `store` for what is in clear and what is sealed), and `relay_schema`, its
//! version and the storage key's fingerprint.
//!
//! Every change is one statement: a row is written back only if its `version` is still
//! the one that was read, so two requests (or two instances) never both consume one
//! `state` or hand out one set of tokens twice.

mod postgres;
mod sqlite;

use crate::store::Row;

/// The schema this build writes.
pub const SCHEMA_VERSION: i64 = 1;
/// Rows one sweep expires or removes at most (the next sweep does the rest).
pub const SWEEP_BATCH: i64 = 1000;

/// Which database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbTarget {
    /// A file path, or `:memory:` (tests).
    Sqlite(std::path::PathBuf),
    /// `postgres://user:password@host/db` or `host=… dbname=…`.
    Postgres(String),
}

impl DbTarget {
    /// `postgres://…`, `postgresql://…` or `host=…`: PostgreSQL; anything else is a path.
    pub fn parse(s: &str) -> DbTarget {
        let t = s.trim();
        if t.starts_with("postgres://") || t.starts_with("postgresql://") || t.starts_with("host=")
        {
            DbTarget::Postgres(t.to_string())
        } else {
            DbTarget::Sqlite(t.into())
        }
    }

    /// For the log: never the password.
    pub fn describe(&self) -> String {
        match self {
            DbTarget::Sqlite(p) => format!("sqlite {}", p.display()),
            DbTarget::Postgres(u) => match url::Url::parse(u) {
                Ok(u) => format!(
                    "postgresql {}:{}{}",
                    u.host_str().unwrap_or(""),
                    u.port().unwrap_or(5432),
                    u.path()
                ),
                Err(_) => "postgresql".into(),
            },
        }
    }
}

/// Limits a new link must fit in: every row counts, tombstones too.
#[derive(Clone, Copy, Debug)]
pub struct Caps {
    pub total: i64,
    pub per_installation: i64,
}

/// A database error, as text (it never holds a secret: parameters are not quoted).
pub type DbError = String;

pub enum Db {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

impl Db {
    /// Opens (creating the tables) and checks that the rows were sealed under this key.
    pub async fn open(target: &DbTarget, key_fingerprint: &str) -> Result<Db, DbError> {
        match target {
            DbTarget::Sqlite(p) => Ok(Db::Sqlite(
                sqlite::Sqlite::open(p.clone(), key_fingerprint.to_string()).await?,
            )),
            DbTarget::Postgres(u) => Ok(Db::Postgres(
                postgres::Postgres::open(u.clone(), key_fingerprint).await?,
            )),
        }
    }

    /// Inserts a new link unless the caps are reached (`Ok(false)`).
    pub async fn insert(&self, row: &Row, forget_at: i64, caps: Caps) -> Result<bool, DbError> {
        match self {
            Db::Sqlite(d) => d.insert(row.clone(), forget_at, caps).await,
            Db::Postgres(d) => d.insert(row, forget_at, caps).await,
        }
    }

    pub async fn get(&self, id_hash: [u8; 32]) -> Result<Option<Row>, DbError> {
        match self {
            Db::Sqlite(d) => d.get(id_hash).await,
            Db::Postgres(d) => d.get(id_hash).await,
        }
    }

    /// Writes status and record if the row is still at `version` (then `version + 1`).
    pub async fn update(
        &self,
        id_hash: [u8; 32],
        version: i64,
        status: &str,
        record: Option<Vec<u8>>,
    ) -> Result<bool, DbError> {
        match self {
            Db::Sqlite(d) => d.update(id_hash, version, status.to_string(), record).await,
            Db::Postgres(d) => d.update(id_hash, version, status, record).await,
        }
    }

    /// Expires live links past their time and removes old tombstones, a batch of each,
    /// through the indexes on the two times: (expired, removed).
    pub async fn sweep(&self, now: i64) -> Result<(u64, u64), DbError> {
        match self {
            Db::Sqlite(d) => d.sweep(now).await,
            Db::Postgres(d) => d.sweep(now).await,
        }
    }

    /// Rows of every kind.
    pub async fn count(&self) -> Result<i64, DbError> {
        match self {
            Db::Sqlite(d) => d.count().await,
            Db::Postgres(d) => d.count().await,
        }
    }
}

/// The key check shared by both backends.
fn check_schema(version: i64, stored_fingerprint: &str, ours: &str) -> Result<(), DbError> {
    if version > SCHEMA_VERSION {
        return Err(format!(
            "the database was made by a newer anaf-relay (schema {version}, this one knows {SCHEMA_VERSION})"
        ));
    }
    if stored_fingerprint != ours {
        return Err(
            "the links in this database were sealed under another storage_key: start the relay with the configuration file that made them (or a new database)"
                .into(),
        );
    }
    Ok(())
}
