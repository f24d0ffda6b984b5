//! The token database the ERP shares: one SQLite file, opened per session.
//!
//! The schema is public (the ERP may read `anaf_token` directly; see docs/token-table.md)
//! and versioned in `anaf_schema`: the DLL migrates older files forward on open and refuses
//! files written by a newer DLL (`ANAF_ERR_DATABASE_NEWER`) instead of guessing.

pub mod journal;
pub mod rescue;
pub mod schema;
pub mod tokens;

pub use tokens::{Claim, Finish, NewTokens, Profile, TokenRow};

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
    /// Reads (and whatever other modules run through [`Store::with`]).
    conn: Mutex<Connection>,
    /// The token writes: a connection of their own, so that a write waiting for another
    /// program's lock never holds up the readers of this handle (WAL lets them read on).
    writer: Mutex<Connection>,
    busy_timeout: Duration,
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        Self::open_with(path, BUSY_TIMEOUT)
    }

    /// As [`Store::open`], with another busy timeout (tests of the locked case).
    pub fn open_with(path: &Path, busy_timeout: Duration) -> Result<Store> {
        Self::open_flags(
            path,
            busy_timeout,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    }

    pub(crate) fn open_flags(
        path: &Path,
        busy_timeout: Duration,
        flags: OpenFlags,
    ) -> Result<Store> {
        let connect = || -> Result<Connection> {
            let conn = Connection::open_with_flags(path, flags).map_err(|e| db_error(path, e))?;
            conn.busy_timeout(busy_timeout)
                .map_err(|e| db_error(path, e))?;
            // WAL lets ERP readers see the row while a refresh writes; it may be refused on
            // network shares or read-only files, where the default journal still works.
            let _ = conn.pragma_update(None, "journal_mode", "WAL");
            conn.pragma_update(None, "synchronous", "FULL")
                .map_err(|e| db_error(path, e))?;
            // Room for every statement of the token and journal paths, so none is
            // prepared again because another pushed it out of the cache.
            conn.set_prepared_statement_cache_capacity(64);
            Ok(conn)
        };
        let mut conn = connect()?;
        schema::migrate(&mut conn).map_err(|e| match e {
            schema::MigrateError::Sql(e) => db_error(path, e),
            schema::MigrateError::Newer(v) => Error::with(
                ANAF_ERR_DATABASE_NEWER,
                format!(
                    "Fișier: {} (schema {v}; această versiune a anaf-bridge cunoaște până la {}).",
                    path.display(),
                    schema::ANAF_SCHEMA_VERSION
                ),
                format!(
                    "File: {} (schema {v}; this anaf-bridge knows up to {}).",
                    path.display(),
                    schema::ANAF_SCHEMA_VERSION
                ),
            ),
        })?;
        let writer = connect()?;
        Ok(Store {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            writer: Mutex::new(writer),
            busy_timeout,
        })
    }

    /// Runs `f` with the connection (one user at a time within the process).
    pub fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut c)
    }

    /// As [`Store::with`], for the DLL's working tables ([`schema::OWN_TABLES`]): when
    /// SQLite says one of them is missing (dropped by another tool after this file was
    /// opened), creates them again and runs `f` once more.
    pub(crate) fn with_own_tables<T>(
        &self,
        mut f: impl FnMut(&mut Connection) -> Result<T>,
    ) -> Result<T> {
        let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        match f(&mut c) {
            Err(e) if missing_own_table(&e) => {
                ::log::warn!(target: "anaf::store", "recreating the DLL's tables: {e:?}");
                schema::restore_own_tables(&c).map_err(|e| db_error(&self.path, e))?;
                f(&mut c)
            }
            r => r,
        }
    }

    /// Runs `f` on the writer connection inside a short [`immediate`] transaction;
    /// commits on `Ok`.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        self.write_within(self.busy_timeout, f)
    }

    /// As [`Store::write`], waiting at most `busy` for another program's lock.
    pub(crate) fn write_within<T>(
        &self,
        busy: Duration,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let mut c = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let c = &mut *c;
        {
            if busy != self.busy_timeout {
                c.busy_timeout(busy).map_err(|e| db_error(&self.path, e))?;
            }
            let r = immediate(c, f).map_err(|e| db_error(&self.path, e));
            if busy != self.busy_timeout {
                let _ = c.busy_timeout(self.busy_timeout);
            }
            r
        }
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<i64> {
        self.with(|c| schema::version(c).map_err(|e| db_error(&self.path, e)))
    }
}

/// SQLite's own words for a missing table, as [`db_error`] keeps them.
fn missing_own_table(e: &Error) -> bool {
    e.status == ANAF_ERR_DATABASE
        && e.detail(crate::status::Lang::En)
            .is_some_and(|d| d.contains("no such table: anaf_"))
}

/// Sets `synchronous` with a cached statement (journal writes switch it per transaction).
pub(crate) fn set_synchronous(c: &Connection, full: bool) -> rusqlite::Result<()> {
    let sql = if full {
        "PRAGMA synchronous = FULL"
    } else {
        "PRAGMA synchronous = NORMAL"
    };
    c.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs `f` in a `BEGIN IMMEDIATE` transaction on `c` (the write lock is taken at once, so
/// two processes never both read-then-write the same row) with cached BEGIN/COMMIT
/// statements: the upload path runs this twice per upload. Rolls back when `f` or COMMIT
/// fails, and when `f` panics, so the connection is never left inside a transaction.
pub(crate) fn immediate<T, E: From<rusqlite::Error>>(
    c: &Connection,
    f: impl FnOnce(&Connection) -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    struct RollbackUnlessCommitted<'c>(&'c Connection);
    impl Drop for RollbackUnlessCommitted<'_> {
        fn drop(&mut self) {
            if !self.0.is_autocommit() {
                let _ = self.0.execute_batch("ROLLBACK");
            }
        }
    }
    c.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let _guard = RollbackUnlessCommitted(c);
    let v = f(c)?;
    c.prepare_cached("COMMIT")?.execute([])?;
    Ok(v)
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
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => ANAF_ERR_DATABASE_CORRUPT,
        _ => ANAF_ERR_DATABASE,
    };
    Error::with(
        status,
        format!("Fișier: {} ({e})", path.display()),
        format!("File: {} ({e})", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immediate_rolls_back_on_error_and_on_panic() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let count = |c: &Connection| -> i64 {
            c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .unwrap()
        };
        let r: rusqlite::Result<()> = immediate(&c, |c| {
            c.execute("INSERT INTO t VALUES (1)", [])?;
            c.execute("INSERT INTO nowhere VALUES (1)", [])?;
            Ok(())
        });
        assert!(r.is_err());
        assert!(c.is_autocommit());
        assert_eq!(count(&c), 0);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: rusqlite::Result<()> = immediate(&c, |c| {
                c.execute("INSERT INTO t VALUES (2)", [])?;
                panic!("inside the transaction");
            });
        }));
        assert!(panicked.is_err());
        assert!(c.is_autocommit(), "no transaction left open after a panic");
        assert_eq!(count(&c), 0);
        immediate(&c, |c| c.execute("INSERT INTO t VALUES (3)", [])).unwrap();
        assert_eq!(count(&c), 1);
    }
}
