//! The schema of the token database and its forward migrations.
//!
//! `anaf_schema` holds one row (`id = 1`) with the schema version. Each entry of
//! [`MIGRATIONS`] takes the file from version `i` to `i + 1`; they only ever add (tables,
//! columns, views), so an older DLL that still reads the file sees what it knows. A file
//! whose version is above [`CURRENT`] was written by a newer DLL and is refused.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// The schema version this build writes.
pub const CURRENT: i64 = 2;

/// `MIGRATIONS[i]` migrates from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the token table, one row per profile (CIF, client_id, environment).
    // Times are whole seconds since 1970-01-01 UTC, except lease_until (milliseconds).
    "CREATE TABLE IF NOT EXISTS anaf_token (
         cif                    TEXT    NOT NULL,
         client_id              TEXT    NOT NULL,
         environment            TEXT    NOT NULL CHECK (environment IN ('prod', 'test')),
         access_token           TEXT    NOT NULL,
         refresh_token          TEXT    NOT NULL,
         token_type             TEXT    NOT NULL DEFAULT 'Bearer',
         access_expires_at      INTEGER NOT NULL,
         refresh_expires_at     INTEGER NOT NULL,
         cert_serial            TEXT,
         obtained_at            INTEGER NOT NULL,
         refreshed_at           INTEGER,
         version                INTEGER NOT NULL DEFAULT 1,
         previous_refresh_token TEXT,
         refresh_refused_at     INTEGER,
         refresh_error          TEXT,
         lease_owner            TEXT,
         lease_until            INTEGER,
         lease_refresh_token    TEXT,
         PRIMARY KEY (cif, client_id, environment)
     );",
    // 1 -> 2: a read-only view with readable UTC dates and days left, for ERP reports.
    "CREATE VIEW IF NOT EXISTS anaf_token_v AS
     SELECT cif, client_id, environment, token_type, cert_serial, version, access_token,
            strftime('%Y-%m-%dT%H:%M:%SZ', access_expires_at, 'unixepoch')  AS access_expires_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', refresh_expires_at, 'unixepoch') AS refresh_expires_utc,
            (access_expires_at  - CAST(strftime('%s', 'now') AS INTEGER)) / 86400 AS access_days_left,
            (refresh_expires_at - CAST(strftime('%s', 'now') AS INTEGER)) / 86400 AS refresh_days_left,
            strftime('%Y-%m-%dT%H:%M:%SZ', obtained_at, 'unixepoch')  AS obtained_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', refreshed_at, 'unixepoch') AS refreshed_utc,
            refresh_refused_at IS NOT NULL AS login_required
     FROM anaf_token;",
];

#[derive(Debug)]
pub enum MigrateError {
    Sql(rusqlite::Error),
    Newer(i64),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Sql(e)
    }
}

/// The file's schema version: 0 for a new (or pre-versioning) file.
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    let has_table: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'anaf_schema'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if has_table.is_none() {
        return Ok(0);
    }
    Ok(conn
        .query_row("SELECT version FROM anaf_schema WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?
        .unwrap_or(0))
}

/// Brings the file to [`CURRENT`] in one transaction (so two processes opening a new file
/// at once cannot both migrate), or refuses a newer file. A file already current is only read.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    migrate_to(conn, CURRENT)
}

/// Migrates to `target` (tests build files of older versions with it).
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<(), MigrateError> {
    let v = version(conn)?;
    if v > CURRENT {
        return Err(MigrateError::Newer(v));
    }
    if v >= target {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS anaf_schema (
             id INTEGER PRIMARY KEY CHECK (id = 1),
             version INTEGER NOT NULL
         );",
    )?;
    // Read again under the write lock: another process may have migrated meanwhile.
    let v = version(&tx)?;
    if v > CURRENT {
        return Err(MigrateError::Newer(v));
    }
    for step in v..target {
        tx.execute_batch(MIGRATIONS[step as usize])?;
    }
    if v < target {
        tx.execute(
            "INSERT INTO anaf_schema (id, version) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version",
            [target],
        )?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_is_listed() {
        assert_eq!(MIGRATIONS.len() as i64, CURRENT);
    }

    #[test]
    fn fresh_file_reaches_current_and_is_idempotent() {
        let mut c = Connection::open_in_memory().unwrap();
        assert_eq!(version(&c).unwrap(), 0);
        migrate(&mut c).unwrap();
        assert_eq!(version(&c).unwrap(), CURRENT);
        migrate(&mut c).unwrap();
        assert_eq!(version(&c).unwrap(), CURRENT);
    }

    #[test]
    fn newer_file_is_refused_untouched() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        c.execute("UPDATE anaf_schema SET version = ?1", [CURRENT + 1])
            .unwrap();
        match migrate(&mut c) {
            Err(MigrateError::Newer(v)) => assert_eq!(v, CURRENT + 1),
            other => panic!("expected Newer, got {other:?}"),
        }
        assert_eq!(version(&c).unwrap(), CURRENT + 1);
    }

    #[test]
    fn skeleton_file_without_version_row_is_migrated() {
        // The first builds created only an empty anaf_schema table.
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE anaf_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);",
        )
        .unwrap();
        migrate(&mut c).unwrap();
        assert_eq!(version(&c).unwrap(), CURRENT);
    }
}
