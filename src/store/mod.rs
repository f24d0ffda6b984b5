//! The token database the ERP shares: one SQLite file, opened per session.

pub mod journal;

use crate::error::{Error, Result};
use crate::status::*;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// How long a writer waits for another process's transaction before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Store {
    pub path: PathBuf,
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| db_error(path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| db_error(path, e))?;
        // WAL lets ERP readers see the row while a refresh writes; it may be refused on
        // network shares, where the default journal still works.
        let _ = conn.pragma_update(None, "journal_mode", "WAL");
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| db_error(path, e))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS anaf_schema (
                 id INTEGER PRIMARY KEY CHECK (id = 1),
                 version INTEGER NOT NULL
             );",
        )
        .map_err(|e| db_error(path, e))?;
        Ok(Store {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    /// Runs `f` with the connection (one user at a time within the process).
    pub fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut c)
    }
}

/// Maps an SQLite failure to a status the ERP can act on, keeping SQLite's own words.
pub fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    let status = match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => ANAF_ERR_DATABASE_LOCKED,
            ErrorCode::ReadOnly | ErrorCode::PermissionDenied => ANAF_ERR_DATABASE_READONLY,
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => ANAF_ERR_DATABASE_CORRUPT,
            _ => ANAF_ERR_DATABASE,
        },
        _ => ANAF_ERR_DATABASE,
    };
    Error::with(
        status,
        format!("Fișier: {} ({e})", path.display()),
        format!("File: {} ({e})", path.display()),
    )
}
