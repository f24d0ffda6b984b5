//! The SQLite backend: the file named by `"database"`, embedded in the DLL.
//!
//! Two connections per handle: reads, and writes in short `BEGIN IMMEDIATE` transactions
//! (the write lock is taken at once, so two processes never both read-then-write a row;
//! a write waiting for another program's lock never holds up this handle's readers).
//!
//! WAL on a local disk, so ERP readers see the row while a refresh writes. On a network
//! folder the rollback journal instead: WAL keeps its index in shared memory, which two
//! computers mapping one file over SMB or NFS do not share, and no filesystem refuses it —
//! the DLL has to know where the file is (`platform::network_filesystem`).

use super::db::{Arg, Conn, DbError, DbResult, Kind, Row, Value, Write};
use super::schema;
use crate::error::{Error, Result};
use crate::status::*;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags, ToSql};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

pub struct SqliteDb {
    path: PathBuf,
    reader: Mutex<Connection>,
    writer: Mutex<Connection>,
    busy_timeout: Duration,
    /// The filesystem type when the file is on a network folder (`smb`, `nfs`, …).
    network: Option<&'static str>,
    journal_mode: String,
}

/// Creates a missing database file owner-only where the platform has such modes (Unix;
/// SQLite gives its journal and WAL files the database's mode). An empty file is an empty
/// database. Any failure is left for SQLite to report as it opens the path.
fn create_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
    }
    #[cfg(not(unix))]
    let _ = path;
}

impl SqliteDb {
    /// Opens (creating if needed) the file and brings its schema up to date.
    pub fn open(path: &Path, busy_timeout: Duration, flags: OpenFlags) -> Result<SqliteDb> {
        if flags.contains(OpenFlags::SQLITE_OPEN_CREATE) {
            create_private(path);
        }
        Self::open_on(
            path,
            busy_timeout,
            flags,
            crate::platform::network_filesystem(path),
        )
        .map_err(|e| match e.status {
            ANAF_ERR_DATABASE if !path.exists() => folder_refuses(path).unwrap_or(e),
            _ => e,
        })
    }

    /// As [`SqliteDb::open`], told whether the file is on a network folder (tests can make
    /// no NFS or SMB mount here).
    fn open_on(
        path: &Path,
        busy_timeout: Duration,
        flags: OpenFlags,
        network: Option<&'static str>,
    ) -> Result<SqliteDb> {
        let open = || -> Result<Connection> {
            let conn = Connection::open_with_flags(path, flags).map_err(|e| error(path, e))?;
            conn.busy_timeout(busy_timeout)
                .map_err(|e| error(path, e))?;
            Ok(conn)
        };
        let set_up = |conn: &Connection| -> Result<String> {
            let wanted = if network.is_some() { "DELETE" } else { "WAL" };
            // Switching the journal mode needs the file to itself. SQLite answers BUSY at once
            // while another connection is switching it too (two workstations opening a new
            // file together): try again. Once the busy timeout is spent (another program
            // holds the file), say so now, not after a second wait.
            let started = std::time::Instant::now();
            let mode = loop {
                match conn.pragma_update_and_check(None, "journal_mode", wanted, |r| {
                    r.get::<_, String>(0)
                }) {
                    Ok(mode) => break mode.to_ascii_lowercase(),
                    Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) => {
                        if started.elapsed() >= busy_timeout {
                            return Err(error(path, e));
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    // A read-only file keeps its own journal mode, which still works.
                    Err(_) => break String::new(),
                }
            };
            conn.pragma_update(None, "synchronous", "FULL")
                .map_err(|e| error(path, e))?;
            // Freed pages (a replaced token's) are overwritten, not left for a reader of
            // the file to find.
            conn.pragma_update(None, "secure_delete", "ON")
                .map_err(|e| error(path, e))?;
            // Room for every statement of the token and journal paths, so none is
            // prepared again because another pushed it out of the cache.
            conn.set_prepared_statement_cache_capacity(64);
            Ok(mode)
        };
        let newer = |v: i64| {
            let file = path.display();
            let known = schema::ANAF_SCHEMA_VERSION;
            Error::with(
                ANAF_ERR_DATABASE_NEWER,
                format!(
                    "Fișier: {file} (schema {v}; această versiune a anaf-bridge cunoaște până la {known})."
                ),
                format!("File: {file} (schema {v}; this anaf-bridge knows up to {known})."),
            )
        };
        let mut reader = open()?;
        // A file of a newer DLL is refused before anything writes to it, not even its
        // journal mode.
        match schema::version(&reader) {
            Ok(v) if v > schema::ANAF_SCHEMA_VERSION => return Err(newer(v)),
            Ok(_) => {}
            Err(e) => return Err(error(path, e)),
        }
        let journal_mode = set_up(&reader)?;
        let foreign = |(table, e): (&str, rusqlite::Error)| {
            let file = path.display();
            Error::with(
                ANAF_ERR_DATABASE,
                format!("Fișier: {file}: tabela {table} nu are coloanele pe care anaf-bridge le scrie; a fost creată de alt program? ({e})"),
                format!("File: {file}: table {table} lacks the columns anaf-bridge writes; was it made by another program? ({e})"),
            )
        };
        schema::migrate(&mut reader).map_err(|e| match e {
            // A migration that finds a column missing: a table of another program.
            schema::MigrateError::Sql(e) if e.to_string().contains("no such column") => {
                check_columns(&reader)
                    .err()
                    .map(foreign)
                    .unwrap_or_else(|| error(path, e))
            }
            schema::MigrateError::Sql(e) => error(path, e),
            schema::MigrateError::Newer(v) => newer(v),
        })?;
        check_columns(&reader).map_err(foreign)?;
        let writer = open()?;
        set_up(&writer)?;
        if network.is_some() && journal_mode == "wal" {
            // Another program still has the file open in WAL mode: it cannot switch now.
            ::log::warn!(target: "anaf::store", "{} is on a network folder but stays in WAL mode: another program has it open", path.display());
        }
        Ok(SqliteDb {
            path: path.to_path_buf(),
            reader: Mutex::new(reader),
            writer: Mutex::new(writer),
            busy_timeout,
            network,
            journal_mode,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn network(&self) -> Option<&'static str> {
        self.network
    }

    /// `wal` or `delete` (the rollback journal), as SQLite answered.
    pub fn journal_mode(&self) -> &str {
        &self.journal_mode
    }

    pub fn read<T>(&self, f: &mut dyn FnMut(&mut dyn Conn) -> DbResult<T>) -> DbResult<T> {
        let c = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut SqliteConn(&c))
    }

    pub fn write<T>(
        &self,
        w: Write,
        f: &mut dyn FnMut(&mut dyn Conn) -> DbResult<T>,
    ) -> DbResult<T> {
        let c = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let busy = w.busy.unwrap_or(self.busy_timeout);
        if busy != self.busy_timeout {
            c.busy_timeout(busy).map_err(sql_error)?;
        }
        if !w.durable {
            set_synchronous(&c, false).map_err(sql_error)?;
        }
        let r = immediate(&c, |c| f(&mut SqliteConn(c)));
        if !w.durable {
            let restored = set_synchronous(&c, true).map_err(sql_error);
            if r.is_ok() {
                restored?;
            }
        }
        if busy != self.busy_timeout {
            let _ = c.busy_timeout(self.busy_timeout);
        }
        r
    }

    /// Creates the DLL's working tables again (another tool dropped one).
    pub fn restore_own_tables(&self) -> DbResult<()> {
        let c = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        schema::restore_own_tables(&c).map_err(sql_error)
    }

    pub fn schema_version(&self) -> DbResult<i64> {
        let c = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        schema::version(&c).map_err(sql_error)
    }

    /// The reader connection itself, for tests that must reach past the seam.
    #[cfg(test)]
    pub fn raw<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        let c = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        f(&c)
    }

    /// The message of a failure, naming the file.
    pub fn error(&self, e: DbError) -> Error {
        describe(&self.path, e)
    }
}

/// A database that does not exist yet, in a folder this user may not create files in (the
/// ERP's folder under Program Files): SQLite only says "unable to open database file".
fn folder_refuses(path: &Path) -> Option<Error> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    if !folder.is_dir() {
        return None;
    }
    let probe = folder.join(format!(
        ".anaf-probe-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            let file = path.display();
            let folder = folder.display();
            Some(Error::with(
                ANAF_ERR_DATABASE_READONLY,
                format!("Fișier: {file} nu există încă, iar folderul {folder} nu permite acestui utilizator să-l creeze. Alegeți un folder în care utilizatorii Windows pot scrie (nu Program Files), sau dați-le drept de scriere pe el."),
                format!("File: {file} does not exist yet, and the folder {folder} does not let this user create it. Choose a folder the Windows users can write to (not Program Files), or give them write permission on it."),
            ))
        }
        Err(_) => None,
    }
}

/// Every table the DLL reads has the columns it reads (a table of the same name made by
/// another program would fail later, in the middle of a refresh).
fn check_columns(c: &Connection) -> std::result::Result<(), (&'static str, rusqlite::Error)> {
    for t in super::dialect::TABLES
        .iter()
        .filter(|t| t.name != "anaf_lock")
    {
        let cols: Vec<&str> = t.column_names().collect();
        c.prepare(&format!(
            "SELECT {} FROM {} WHERE 0",
            cols.join(", "),
            t.name
        ))
        .map(|_| ())
        .map_err(|e| (t.name, e))?;
    }
    Ok(())
}

struct SqliteConn<'c>(&'c Connection);

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Arg::Null => ValueRef::Null,
            Arg::Int(v) => ValueRef::Integer(v),
            Arg::Text(s) => ValueRef::Text(s.as_bytes()),
        }))
    }
}

impl Conn for SqliteConn<'_> {
    fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<u64> {
        let mut st = self.0.prepare_cached(sql).map_err(sql_error)?;
        st.execute(rusqlite::params_from_iter(args.iter()))
            .map(|n| n as u64)
            .map_err(sql_error)
    }

    fn query(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<Vec<Row>> {
        let mut st = self.0.prepare_cached(sql).map_err(sql_error)?;
        let n = st.column_count();
        let mut rows = st
            .query(rusqlite::params_from_iter(args.iter()))
            .map_err(sql_error)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(sql_error)? {
            let mut values = Vec::with_capacity(n);
            for i in 0..n {
                values.push(match r.get_ref(i).map_err(sql_error)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Real(v) => Value::Real(v),
                    ValueRef::Text(t) => Value::Text(
                        String::from_utf8(t.to_vec())
                            .map_err(|_| DbError::corrupt(format!("column {i} is not UTF-8")))?,
                    ),
                    ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                });
            }
            out.push(Row(values));
        }
        Ok(out)
    }

    fn insert_returning_id(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<i64> {
        self.execute(sql, args)?;
        Ok(self.0.last_insert_rowid())
    }

    fn serialize(&mut self, _scope: &str) -> DbResult<()> {
        // BEGIN IMMEDIATE already holds the file's one write lock.
        Ok(())
    }
}

/// Sets `synchronous` with a cached statement (relaxed writes switch it per transaction).
fn set_synchronous(c: &Connection, full: bool) -> rusqlite::Result<()> {
    let sql = if full {
        "PRAGMA synchronous = FULL"
    } else {
        "PRAGMA synchronous = NORMAL"
    };
    c.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs `f` in a `BEGIN IMMEDIATE` transaction on `c` with cached BEGIN/COMMIT statements
/// (the upload path runs this twice per upload). Rolls back when `f` or COMMIT fails, and
/// when `f` panics, so the connection is never left inside a transaction.
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

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> DbError {
        sql_error(e)
    }
}

/// SQLite's failure as a [`DbError`], keeping SQLite's own words.
fn sql_error(e: rusqlite::Error) -> DbError {
    let kind = match &e {
        rusqlite::Error::SqliteFailure(f, msg) => match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Kind::Busy,
            ErrorCode::ReadOnly | ErrorCode::PermissionDenied => Kind::ReadOnly,
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => Kind::Corrupt,
            _ if msg
                .as_deref()
                .is_some_and(|m| m.starts_with("no such table")) =>
            {
                Kind::MissingTable
            }
            _ => Kind::Other,
        },
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => Kind::Corrupt,
        _ => Kind::Other,
    };
    DbError::new(kind, e.to_string())
}

/// Maps a failure to a status the ERP can act on, naming the file.
pub fn describe(path: &Path, e: DbError) -> Error {
    let status = match e.kind {
        Kind::Busy => ANAF_ERR_DATABASE_LOCKED,
        Kind::ReadOnly => ANAF_ERR_DATABASE_READONLY,
        Kind::Corrupt => ANAF_ERR_DATABASE_CORRUPT,
        Kind::MissingTable | Kind::Other => ANAF_ERR_DATABASE,
    };
    let file = path.display();
    Error::with(
        status,
        format!("Fișier: {file} ({e})"),
        format!("File: {file} ({e})"),
    )
}

fn error(path: &Path, e: rusqlite::Error) -> Error {
    describe(path, sql_error(e))
}

/// Opens an existing file on a connection of its own and writes inside a transaction that
/// is rolled back: proves the file is reachable, readable and writable (file and folder).
/// For [`super::Store::probe`], which must not need an open handle.
pub(super) fn probe(path: &Path, busy_timeout: Duration) -> Result<()> {
    let run = || -> rusqlite::Result<()> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(busy_timeout)?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })?;
        immediate(&conn, |c| {
            c.execute_batch(
                "CREATE TABLE anaf_diagnose_probe (x INTEGER);
                 INSERT INTO anaf_diagnose_probe VALUES (1);",
            )?;
            // Never committed: the error rolls the probe back.
            Err::<(), _>(rusqlite::Error::QueryReturnedNoRows)
        })
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(()),
            e => Err(e),
        })
    };
    run().map_err(|e| error(path, e))
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

    #[test]
    fn bundled_sqlite_is_past_the_350_wal_locking_change() {
        // 3.50 split WAL shared-memory locking in a way that breaks on network folders.
        assert!(
            rusqlite::version_number() >= 3_051_000,
            "{}",
            rusqlite::version()
        );
    }

    #[test]
    fn probe_leaves_nothing_behind() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("p.db");
        drop(
            SqliteDb::open(
                &path,
                Duration::from_secs(1),
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            )
            .unwrap(),
        );
        probe(&path, Duration::from_secs(1)).unwrap();
        let c = Connection::open(&path).unwrap();
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'anaf_diagnose_probe'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0);
        let e = probe(&d.path().join("none/x.db"), Duration::from_secs(1)).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_DATABASE, "{e:?}");
    }

    #[test]
    fn a_file_on_a_network_folder_leaves_wal() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("n.db");
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
        // First opened on a local disk (WAL, which SQLite keeps in the file)...
        drop(SqliteDb::open_on(&path, Duration::from_secs(1), flags, None).unwrap());
        let mode = |p: &Path| -> String {
            Connection::open(p)
                .unwrap()
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(mode(&path), "wal");
        // ...then the share is mounted and the file is opened from there.
        let db = SqliteDb::open_on(&path, Duration::from_secs(1), flags, Some("smb")).unwrap();
        assert_eq!(db.journal_mode(), "delete");
        assert_eq!(db.network(), Some("smb"));
        db.write(Write::durable(), &mut |c| {
            c.execute("INSERT INTO anaf_call_count VALUES ('d', 'k', 'x', 1)", &[])
        })
        .unwrap();
        drop(db);
        assert_eq!(mode(&path), "delete", "the file itself left WAL");
        assert!(!d.path().join("n.db-wal").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_in_a_folder_the_user_cannot_write_is_read_only() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let folder = d.path().join("Program Files");
        std::fs::create_dir(&folder).unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        std::fs::set_permissions(
            &folder,
            std::fs::Permissions::from_mode(if root { 0o755 } else { 0o555 }),
        )
        .unwrap();
        let path = folder.join("anaf.db");
        let p = path.clone();
        // root writes anywhere: the open runs on a thread whose file-system identity is
        // `nobody` (setfsuid is per thread).
        let e = std::thread::spawn(move || {
            // SAFETY: changes only this thread's file-system credentials.
            if root {
                unsafe {
                    libc::setfsgid(65534);
                    libc::setfsuid(65534);
                }
            }
            let r = SqliteDb::open(
                &p,
                Duration::from_secs(1),
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            );
            if root {
                unsafe {
                    libc::setfsuid(libc::getuid());
                    libc::setfsgid(libc::getgid());
                }
            }
            r.err().expect("no database can be made there")
        })
        .join()
        .unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(e.status, ANAF_ERR_DATABASE_READONLY, "{e:?}");
        assert!(
            e.message(crate::status::Lang::En).contains("Program Files"),
            "{e:?}"
        );
        assert!(!path.exists());
    }

    #[test]
    fn local_file_is_wal_and_missing_tables_are_named() {
        let d = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(
            &d.path().join("w.db"),
            Duration::from_secs(1),
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .unwrap();
        if crate::platform::network_filesystem(d.path()).is_none() {
            assert_eq!(db.journal_mode(), "wal");
        }
        let e = db
            .read(&mut |c| c.query("SELECT * FROM anaf_nothing", &[]))
            .unwrap_err();
        assert_eq!(e.kind, Kind::MissingTable, "{e:?}");
    }
}
