//! What the DLL keeps, and where: the token rows and their refresh lease (`tokens`), the
//! upload journal and the daily call counters (`journal`), the pending browser links
//! (`links`), the e-Factura inbox (`inbox`), the rescue of a pair whose commit failed
//! (`rescue`), which token serves which company (`served`); the sealing of the secrets
//! among them (`seal`).
//!
//! Those modules hold the protocols and their SQL, written once against the seam in `db`;
//! the backend behind it today is the SQLite file (`sqlite`). The schema is public (the
//! ERP may read `anaf_token` directly; see docs/token-table.md) and versioned in
//! `anaf_schema`: the DLL migrates older files forward on open and refuses files written
//! by a newer DLL (`ANAF_ERR_DATABASE_NEWER`) instead of guessing.

pub mod db;
pub mod dialect;
pub mod inbox;
pub mod journal;
pub mod links;
pub mod migrate;
#[cfg(feature = "odbc")]
pub mod odbc;
pub mod pace;
pub mod rescue;
pub mod schema;
pub mod seal;
pub mod served;
pub mod sqlite;
pub mod tokens;

pub use tokens::{Claim, Finish, NewTokens, Profile, TokenRow};

use crate::error::{Error, Result};
use db::{Conn, DbError, DbResult, Kind, Write};
use rusqlite::OpenFlags;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a writer waits for another process's transaction before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a probe of the database ([`Store::probe`]) waits for another program's lock:
/// diagnose reports a lock instead of waiting it out.
const PROBE_BUSY_TIMEOUT: Duration = Duration::from_secs(3);

/// What [`Store::probe`] found working.
pub enum Probed {
    /// The SQLite file: read, and written inside a transaction that was rolled back.
    File { path: PathBuf },
    /// The database server: its description ([`Store::describe`]) and schema version.
    Server {
        described: serde_json::Value,
        schema_version: i64,
    },
}

/// The database of one client handle.
pub struct Store {
    /// The SQLite file; also what the process-wide refresh lock and the rescue files of
    /// this store are keyed on.
    pub path: PathBuf,
    backend: Backend,
    busy_timeout: Duration,
    /// The key the secrets are sealed under; `None` for a configuration without one.
    seal: Option<seal::Sealer>,
    /// The access token the fast path opened last: its place, the stored (sealed) text,
    /// and the token. Opening costs more than the SELECT; the stored text says whether the
    /// token is still the same.
    opened_access: std::sync::Mutex<Option<(String, String, zeroize::Zeroizing<String>)>>,
}

enum Backend {
    Sqlite(Box<sqlite::SqliteDb>),
    #[cfg(feature = "odbc")]
    Odbc(odbc::OdbcDb),
}

/// Runs `$e` with `$db` bound to the backend, whichever it is.
macro_rules! on_backend {
    ($b:expr, $db:ident => $e:expr) => {
        match $b {
            Backend::Sqlite($db) => $e,
            #[cfg(feature = "odbc")]
            Backend::Odbc($db) => $e,
        }
    };
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
        let db = sqlite::SqliteDb::open(path, busy_timeout, flags)?;
        Ok(Store {
            path: path.to_path_buf(),
            backend: Backend::Sqlite(Box::new(db)),
            busy_timeout,
            seal: None,
            opened_access: Default::default(),
        })
    }

    /// Opens the store a configuration names (the SQLite file of `"database"`, or the
    /// server of `"odbc"`) with its sealing key.
    pub fn for_config(cfg: &crate::config::Config) -> Result<Store> {
        let store = match &cfg.storage {
            crate::config::Storage::Sqlite(path) => Self::open(path)?,
            crate::config::Storage::Odbc(target) => Self::open_server(target, BUSY_TIMEOUT)?,
        };
        store.sealed_with(seal::Sealer::from_config(cfg))
    }

    /// The store of a configuration, shared by every handle of this process that names the
    /// same database with the same key: handles for many companies use one pair of
    /// connections (and so one place where their token's refresh is serialized).
    pub fn shared_for_config(cfg: &crate::config::Config) -> Result<std::sync::Arc<Store>> {
        use std::collections::HashMap;
        use std::sync::{Arc, Mutex, Weak};
        static POOL: once_cell::sync::Lazy<Mutex<HashMap<String, Weak<Store>>>> =
            once_cell::sync::Lazy::new(Default::default);
        // Hashed: the connection string may carry a password.
        let key = seal::hash(&format!(
            "{:?}\0{:?}",
            cfg.storage,
            seal::Sealer::from_config(cfg).map(|s| s.fingerprint())
        ));
        let found = {
            let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
            pool.retain(|_, w| w.strong_count() > 0);
            pool.get(&key).and_then(Weak::upgrade)
        };
        if let Some(s) = found {
            return Ok(s);
        }
        // Opened without the pool's lock: a server slow to answer delays only its own handles.
        let opened = Arc::new(Self::for_config(cfg)?);
        let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
        match pool.get(&key).and_then(Weak::upgrade) {
            Some(s) => Ok(s),
            None => {
                pool.insert(key, Arc::downgrade(&opened));
                Ok(opened)
            }
        }
    }

    /// Gives the store its sealing key, and seals what rows written before sealing (or by
    /// the ERP itself) hold readable. Without a key, only the hashes are brought up to date.
    pub fn sealed_with(mut self, sealer: Option<seal::Sealer>) -> Result<Store> {
        self.seal = sealer;
        if let Err(e) = self.seal_old_rows() {
            // The rows stay as they are and work; the next open tries again.
            if e.status == crate::status::ANAF_ERR_DATABASE_LOCKED
                || e.status == crate::status::ANAF_ERR_DATABASE_READONLY
            {
                ::log::warn!(target: "anaf::store", "old rows not sealed yet: {e:?}");
            } else {
                return Err(e);
            }
        }
        Ok(self)
    }

    fn seal_old_rows(&self) -> Result<()> {
        tokens::seal_old_rows(self)?;
        links::seal_old_rows(self)?;
        rescue::settle_orphans(self, crate::time::now());
        Ok(())
    }

    /// The sealing key, or the error of a configuration without one.
    pub(crate) fn sealer(&self) -> Result<&seal::Sealer> {
        self.seal.as_ref().ok_or_else(seal::no_key)
    }

    /// A stored secret opened: a sealed one needs the key, one stored readable is itself.
    pub(crate) fn open_value(
        &self,
        stored: &str,
        place: &str,
    ) -> Result<zeroize::Zeroizing<String>> {
        if seal::is_sealed(stored) {
            self.sealer()?.open(stored, place)
        } else {
            Ok(zeroize::Zeroizing::new(stored.to_string()))
        }
    }

    /// Opens the token store in a database server through ODBC, tables unprefixed.
    pub fn open_odbc(connection: &str, busy_timeout: Duration) -> Result<Store> {
        Self::open_server(
            &crate::config::OdbcTarget {
                connection: connection.to_string(),
                table_prefix: String::new(),
            },
            busy_timeout,
        )
    }

    /// Opens the token store in a database server through ODBC.
    #[cfg(feature = "odbc")]
    pub fn open_server(
        target: &crate::config::OdbcTarget,
        busy_timeout: Duration,
    ) -> Result<Store> {
        let db = odbc::OdbcDb::open(&target.connection, &target.table_prefix, busy_timeout)?;
        Ok(Store {
            path: rescue::local_base(&format!("{};{}", target.connection, target.table_prefix)),
            backend: Backend::Odbc(db),
            busy_timeout,
            seal: None,
            opened_access: Default::default(),
        })
    }

    #[cfg(not(feature = "odbc"))]
    pub fn open_server(
        _target: &crate::config::OdbcTarget,
        _busy_timeout: Duration,
    ) -> Result<Store> {
        Err(Error::new(crate::status::ANAF_ERR_NOT_IMPLEMENTED))
    }

    /// The store's busy timeout.
    pub fn busy_timeout(&self) -> Duration {
        self.busy_timeout
    }

    /// Runs `f` on the read connection (autocommit: each statement sees the latest commit).
    pub(crate) fn read<T>(&self, mut f: impl FnMut(&mut dyn Conn) -> DbResult<T>) -> Result<T> {
        self.again_without_missing_tables(|b| on_backend!(b, db => db.read(&mut f)))
    }

    /// Runs `f` inside one write transaction, committed when `f` returns `Ok`, rolled back
    /// otherwise (and when it panics).
    pub(crate) fn write<T>(
        &self,
        w: Write,
        mut f: impl FnMut(&mut dyn Conn) -> DbResult<T>,
    ) -> Result<T> {
        self.again_without_missing_tables(|b| on_backend!(b, db => db.write(w, &mut f)))
    }

    /// Runs `op`; when the database says one of the DLL's working tables is missing
    /// (dropped by another tool after this file was opened), creates them again and runs
    /// `op` once more. The token table is never recreated behind the ERP's back.
    fn again_without_missing_tables<T>(
        &self,
        mut op: impl FnMut(&Backend) -> DbResult<T>,
    ) -> Result<T> {
        match op(&self.backend) {
            Err(e) if missing_own_table(&e) => {
                ::log::warn!(target: "anaf::store", "recreating the DLL's tables: {e}");
                on_backend!(&self.backend, db => db.restore_own_tables())
                    .map_err(|e| self.error(e))?;
                op(&self.backend).map_err(|e| self.error(e))
            }
            r => r.map_err(|e| self.error(e)),
        }
    }

    /// A failure as the ERP sees it: a status for its kind and the backend's words.
    pub fn error(&self, e: DbError) -> Error {
        on_backend!(&self.backend, db => db.error(e))
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        on_backend!(&self.backend, db => db.schema_version()).map_err(|e| self.error(e))
    }

    /// Proves the database can be used as it stands, changing nothing, for diagnose. A
    /// SQLite file is read and written (inside a transaction that is rolled back) on a
    /// connection of its own: this handle's connections were opened earlier, the file's
    /// permissions and other programs' locks are those of now. On a server, the schema
    /// version is read on the handle's connection.
    pub fn probe(&self) -> Result<Probed> {
        match &self.backend {
            Backend::Sqlite(db) => Self::probe_file(db.path()),
            #[cfg(feature = "odbc")]
            Backend::Odbc(_) => Ok(Probed::Server {
                described: self.describe(),
                schema_version: self.schema_version()?,
            }),
        }
    }

    /// As [`Store::probe`], for the store a configuration names when no handle has it open
    /// (`anaf_open` failed): the SQLite file is probed without being created or migrated;
    /// a server is connected to, which also proves its tables are there or can be made.
    pub fn probe_storage(storage: &crate::config::Storage) -> Result<Probed> {
        match storage {
            crate::config::Storage::Sqlite(path) => Self::probe_file(path),
            crate::config::Storage::Odbc(target) => {
                Self::open_server(target, PROBE_BUSY_TIMEOUT)?.probe()
            }
        }
    }

    fn probe_file(path: &Path) -> Result<Probed> {
        sqlite::probe(path, PROBE_BUSY_TIMEOUT)?;
        Ok(Probed::File {
            path: path.to_path_buf(),
        })
    }

    /// Where the database is, for diagnose and the log: the backend, and for a file on a
    /// network folder the filesystem's kind.
    pub fn describe(&self) -> serde_json::Value {
        match &self.backend {
            Backend::Sqlite(db) => serde_json::json!({
                "backend": "sqlite",
                "sqlite_version": rusqlite::version(),
                "path": db.path().display().to_string(),
                "journal_mode": db.journal_mode(),
                "network_filesystem": db.network(),
            }),
            #[cfg(feature = "odbc")]
            Backend::Odbc(db) => serde_json::json!({
                "backend": "odbc",
                "server": db.dbms(),
                "dialect": db.dialect().name(),
                "connection": db.label(),
            }),
        }
    }

    /// Runs one statement in a write transaction: for tests that must damage or empty a
    /// store on any backend (not part of the DLL's API).
    #[doc(hidden)]
    pub fn run_sql_for_tests(&self, sql: &str) -> Result<u64> {
        self.write(Write::durable(), |c| c.execute(sql, &[]))
    }

    /// The SQLite connection itself, for tests that must reach past the seam.
    #[cfg(test)]
    pub(crate) fn sqlite<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> T) -> T {
        match &self.backend {
            Backend::Sqlite(db) => db.raw(f),
            #[cfg(feature = "odbc")]
            Backend::Odbc(_) => panic!("not a SQLite store"),
        }
    }
}

/// The database's words for a missing table of the DLL's own (not `anaf_token`).
fn missing_own_table(e: &DbError) -> bool {
    e.kind == Kind::MissingTable && schema::OWN_TABLE_NAMES.iter().any(|t| e.text.contains(t))
}
