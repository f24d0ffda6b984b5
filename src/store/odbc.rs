//! The ODBC backend: the token store in the ERP's own database server, reached with the
//! connection string the ERP already uses (`"odbc": "DSN=ERP;UID=…"`).
//!
//! odbc-api speaks the wide (UTF-16) ODBC calls on Windows (Wine's odbc32 forwards only
//! those to the host's unixODBC); parameters and text columns cross as UTF-16 on every
//! platform, so no code page of the driver or of Windows can garble a Romanian message.
//! ODBC 3.5 mode, so that Firebird's driver works too.
//!
//! Two connections per handle, as for SQLite: reads in autocommit, writes in short manual
//! transactions. A write transaction takes row locks through `anaf_lock` (see
//! [`Conn::serialize`]), so a read-then-write is exclusive on every server, whatever its
//! isolation level; each server's lock wait is set to the store's busy timeout.

use super::db::{Arg, Conn, DbError, DbResult, Kind, Row, Value, Write};
use super::dialect::{Dialect, InsertId, TABLES};
use super::schema::ANAF_SCHEMA_VERSION;
use crate::error::{Error, Result};
use crate::status::*;
use odbc_api::parameter::{InputParameter, VarWCharBox};
use odbc_api::{Connection, ConnectionOptions, Cursor, ResultSetMetadata};
use std::sync::Mutex;
use std::time::Duration;

pub struct OdbcDb {
    /// The connection string with its password masked, for messages and the log.
    label: String,
    dialect: Dialect,
    dbms: String,
    reader: Mutex<Connection<'static>>,
    writer: Mutex<Connection<'static>>,
    busy_timeout: Duration,
    /// How the tables are named here (the ERP's prefix and schema).
    naming: Naming,
    /// Kept to connect again when the server drops a connection (restart, failover, an
    /// idle timeout): the ERP's handle outlives its connections.
    connection_string: zeroize::Zeroizing<String>,
}

impl OdbcDb {
    /// Connects twice with `connection_string`, detects the server, creates the schema where
    /// it is missing (or checks the tables a DBA created) and refuses a newer one.
    pub fn open(
        connection_string: &str,
        table_prefix: &str,
        busy_timeout: Duration,
    ) -> Result<OdbcDb> {
        let naming = Naming::parse(table_prefix);
        let label = mask_connection_string(connection_string);
        let fail = |e: DbError| describe(&label, e);
        let connect = || connect(connection_string, busy_timeout);
        let reader = connect().map_err(fail)?;
        let dbms = reader
            .database_management_system_name()
            .map_err(|e| fail(odbc_error(e)))?;
        let dialect = Dialect::from_dbms_name(&dbms).ok_or_else(|| {
            Error::with(
                ANAF_ERR_DATABASE,
                format!("Serverul de baze de date „{dbms}” ({label}) nu este unul pe care anaf-bridge îl cunoaște: PostgreSQL, MySQL/MariaDB, SQL Server, Oracle, Firebird, SQLite."),
                format!("The database server \"{dbms}\" ({label}) is not one anaf-bridge knows: PostgreSQL, MySQL/MariaDB, SQL Server, Oracle, Firebird, SQLite."),
            )
        })?;
        let writer = connect().map_err(fail)?;
        for c in [&reader, &writer] {
            for st in dialect.session_setup(busy_timeout) {
                exec(c, &st, &[]).map_err(fail)?;
            }
        }
        let db = OdbcDb {
            label,
            dialect,
            dbms,
            reader: Mutex::new(reader),
            writer: Mutex::new(writer),
            busy_timeout,
            connection_string: zeroize::Zeroizing::new(connection_string.to_string()),
            naming,
        };
        db.migrate()?;
        Ok(db)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn dbms(&self) -> &str {
        &self.dbms
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// The schema version on the server: 0 when there is no `anaf_schema` yet.
    pub fn schema_version(&self) -> DbResult<i64> {
        let c = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        version_on(&c, &self.naming)
    }

    /// Creates the schema on a server that has none. Each CREATE is tried on its own: one
    /// that fails because the table exists (a DBA created it from docs/sql, or another
    /// workstation is creating it right now) is fine. Tables of an older schema are
    /// upgraded the same way, statement by statement. Then every table must have every
    /// column, and the version must be this DLL's.
    fn migrate(&self) -> Result<()> {
        let fail = |e: DbError| describe(&self.label, e);
        let c = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let v = version_on(&c, &self.naming).map_err(fail)?;
        if v > ANAF_SCHEMA_VERSION {
            let label = &self.label;
            return Err(Error::with(
                ANAF_ERR_DATABASE_NEWER,
                format!("Server: {label} (schema {v}; această versiune a anaf-bridge cunoaște până la {ANAF_SCHEMA_VERSION})."),
                format!("Server: {label} (schema {v}; this anaf-bridge knows up to {ANAF_SCHEMA_VERSION})."),
            ));
        }
        if v == 0 {
            let mut denied = None;
            for st in self.dialect.schema() {
                match exec_named(&c, &self.naming, &st, &[]) {
                    Ok(_) => {}
                    Err(e) if e.kind == Kind::ReadOnly => denied = Some(e),
                    // Already there (or being created by another workstation): checked below.
                    Err(e) => ::log::info!(target: "anaf::store", "schema statement skipped: {e}"),
                }
            }
            if let Some(e) = denied {
                ::log::warn!(target: "anaf::store", "no right to create the tables: {e}");
            }
        }
        for from in (1..ANAF_SCHEMA_VERSION).filter(|&from| v > 0 && from >= v) {
            for st in self.dialect.upgrade(from) {
                if let Err(e) = exec_named(&c, &self.naming, &st, &[]) {
                    // Done already by another workstation, or no ALTER right: the shape
                    // is checked below either way.
                    ::log::warn!(target: "anaf::store", "upgrade statement from schema {from} failed: {e}");
                }
            }
        }
        for t in TABLES {
            let cols: Vec<&str> = t.column_names().collect();
            let probe = format!("SELECT {} FROM {} WHERE 1 = 0", cols.join(", "), t.name);
            if let Err(e) = query_named(&c, &self.naming, &probe, &[]) {
                let file = format!("docs/sql/{}.sql", self.dialect.name());
                let label = &self.label;
                let table = self.naming.table(t.name);
                let columns = cols.join(", ");
                return Err(Error::with(
                    ANAF_ERR_DATABASE,
                    format!("Server: {label}: tabela {table} lipsește sau nu are toate coloanele ({columns}); anaf-bridge nu a putut-o crea. Cereți administratorului bazei de date să ruleze {file} din kitul anaf-bridge, sau să dea utilizatorului dreptul CREATE TABLE. ({e})"),
                    format!("Server: {label}: table {table} is missing or lacks some of its columns ({columns}); anaf-bridge could not create it. Ask the database administrator to run {file} from the anaf-bridge kit, or to give the user the CREATE TABLE right. ({e})"),
                ));
            }
        }
        let v = version_on(&c, &self.naming).map_err(fail)?;
        if v != ANAF_SCHEMA_VERSION {
            let label = &self.label;
            return Err(Error::with(
                ANAF_ERR_DATABASE,
                format!("Server: {label}: anaf_schema nu are rândul versiunii (id = 1, version = {ANAF_SCHEMA_VERSION}); are {v}."),
                format!("Server: {label}: anaf_schema lacks the version row (id = 1, version = {ANAF_SCHEMA_VERSION}); it has {v}."),
            ));
        }
        Ok(())
    }

    pub fn read<T>(&self, f: &mut dyn FnMut(&mut dyn Conn) -> DbResult<T>) -> DbResult<T> {
        let mut c = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        let mut run = |c: &Connection<'static>| {
            f(&mut OdbcConn {
                conn: c,
                dialect: self.dialect,
                naming: &self.naming,
            })
        };
        match run(&c) {
            Err(e) if is_connection_lost(&e) => {
                self.reconnect(&mut c, &e)?;
                run(&c)
            }
            r => r,
        }
    }

    /// Replaces a connection the server dropped, with the session set up again.
    fn reconnect(&self, c: &mut Connection<'static>, why: &DbError) -> DbResult<()> {
        ::log::warn!(target: "anaf::store", "the server dropped the connection, connecting again: {why}");
        let fresh = connect(&self.connection_string, self.busy_timeout)?;
        for st in self.dialect.session_setup(self.busy_timeout) {
            exec(&fresh, &st, &[])?;
        }
        *c = fresh;
        Ok(())
    }

    pub fn write<T>(
        &self,
        w: Write,
        f: &mut dyn FnMut(&mut dyn Conn) -> DbResult<T>,
    ) -> DbResult<T> {
        let mut c = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let busy = w.busy.unwrap_or(self.busy_timeout);
        let other_busy = busy != self.busy_timeout;
        // A connection the server dropped since the last write: the transaction never began
        // there, so connecting again and running it is safe. (One dropped during the
        // transaction rolls it back on the server; running it again is safe too: every
        // write of the store checks the row it changes, a retried claim finds its own
        // lease, a retried commit of a new pair finds it stored.)
        // (A driver that cannot tell answers an error here: taken as alive.)
        if c.is_dead().unwrap_or(false) {
            self.reconnect(
                &mut c,
                &DbError::new(Kind::Other, "the driver reports the connection dead"),
            )?;
        }
        // The caller's lock wait (a short first attempt) and the transaction, together: a
        // connection found dropped by either is replaced and both run again.
        let run = |c: &Connection<'static>, f: &mut dyn FnMut(&mut dyn Conn) -> DbResult<T>| {
            if other_busy {
                for st in self.dialect.session_setup(busy) {
                    exec(c, &st, &[])?;
                }
            }
            transaction(c, self.dialect, &self.naming, f)
        };
        let mut r = run(&c, f);
        if let Err(e) = &r {
            if is_connection_lost(e) {
                let e = e.clone();
                self.reconnect(&mut c, &e)?;
                r = run(&c, f);
            }
        }
        // A deadlock victim is rolled back whole by the server: run it again, a few times.
        for attempt in 1..=5 {
            match &r {
                Err(e) if is_deadlock(e) => {
                    ::log::info!(target: "anaf::store", "deadlock, transaction run again ({attempt}): {e}");
                    std::thread::sleep(Duration::from_millis(
                        5 * attempt + rand::random::<u64>() % 20,
                    ));
                    r = transaction(&c, self.dialect, &self.naming, f);
                }
                _ => break,
            }
        }
        if other_busy {
            for st in self.dialect.session_setup(self.busy_timeout) {
                let _ = exec(&c, &st, &[]);
            }
        }
        r
    }

    /// Creates the DLL's working tables again (another tool dropped one).
    pub fn restore_own_tables(&self) -> DbResult<()> {
        let c = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        for t in TABLES {
            if super::schema::OWN_TABLE_NAMES.contains(&t.name) || t.name == "anaf_lock" {
                for st in self.dialect.create_table(t) {
                    let _ = exec_named(&c, &self.naming, &st, &[]);
                }
            }
        }
        Ok(())
    }

    pub fn error(&self, e: DbError) -> Error {
        describe(&self.label, e)
    }
}

/// How the DLL's tables are named on a server: `anaf_token`…, or with the ERP's prefix
/// (`erp_anaf_token`) and schema (`contab.erp_anaf_token`). Applied to every statement, so
/// the statements of the store stay written once with the plain names; index names take
/// the prefix but not the schema (servers put an index in its table's schema).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Naming {
    schema: Option<String>,
    prefix: String,
}

/// A name the DLL's statements use for a table or the view (what `table_prefix`'s schema
/// qualifies; index names only take the prefix).
fn is_table_name(word: &str) -> bool {
    word == "anaf_token_v" || TABLES.iter().any(|t| t.name == word)
}

impl Naming {
    /// From `table_prefix` as the configuration checked it: `[schema.]prefix`.
    pub fn parse(table_prefix: &str) -> Naming {
        match table_prefix.split_once('.') {
            Some((schema, prefix)) => Naming {
                schema: Some(schema.to_string()),
                prefix: prefix.to_string(),
            },
            None => Naming {
                schema: None,
                prefix: table_prefix.to_string(),
            },
        }
    }

    /// The name a table has here.
    pub fn table(&self, name: &str) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}{name}", self.prefix),
            None => format!("{}{name}", self.prefix),
        }
    }

    /// `sql` with every identifier that starts with `anaf_` renamed.
    pub fn apply<'a>(&self, sql: &'a str) -> std::borrow::Cow<'a, str> {
        if self.schema.is_none() && self.prefix.is_empty() {
            return std::borrow::Cow::Borrowed(sql);
        }
        let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let mut out = String::with_capacity(sql.len() + 64);
        let mut rest = sql;
        while let Some(at) = rest.find("anaf_") {
            let starts_word = rest[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !ident(c) && c != '.');
            out.push_str(&rest[..at]);
            let end = rest[at..]
                .find(|c: char| !ident(c))
                .map_or(rest.len(), |e| at + e);
            let word = &rest[at..end];
            if !starts_word {
                out.push_str(word);
            } else if is_table_name(word) {
                out.push_str(&self.table(word));
            } else {
                out.push_str(&self.prefix);
                out.push_str(word);
            }
            rest = &rest[end..];
        }
        out.push_str(rest);
        std::borrow::Cow::Owned(out)
    }
}

fn connect(connection_string: &str, busy_timeout: Duration) -> DbResult<Connection<'static>> {
    let env = odbc_api::environment().map_err(odbc_error)?;
    env.connect_with_connection_string(
        connection_string,
        ConnectionOptions {
            login_timeout_sec: Some(busy_timeout.as_secs().clamp(1, 60) as u32),
            packet_size: None,
        },
    )
    .map_err(odbc_error)
}

/// The server closed the connection (restart, failover, killed session, idle timeout).
fn is_connection_lost(e: &DbError) -> bool {
    [
        "State: 08S01",
        "State: 08003",
        "State: 08006",
        "State: 57P01",
        "Native error: 2006",
        "Native error: 2013",
        "server closed the connection",
        "terminating connection",
        "no connection to the server",
        "could not send data to server",
        "Lost connection",
        "has gone away",
    ]
    .iter()
    .any(|s| e.text.contains(s))
}

/// Runs `f` in a manual-commit transaction; commits on `Ok`, rolls back otherwise and when
/// `f` panics, and gives the connection back in autocommit.
fn transaction<T>(
    c: &Connection<'static>,
    dialect: Dialect,
    naming: &Naming,
    f: &mut dyn FnMut(&mut dyn Conn) -> DbResult<T>,
) -> DbResult<T> {
    struct Autocommit<'c>(&'c Connection<'static>, bool);
    impl Drop for Autocommit<'_> {
        fn drop(&mut self) {
            if !self.1 {
                let _ = self.0.rollback();
            }
            let _ = self.0.set_autocommit(true);
        }
    }
    c.set_autocommit(false).map_err(odbc_error)?;
    let mut guard = Autocommit(c, false);
    let v = f(&mut OdbcConn {
        conn: c,
        dialect,
        naming,
    })?;
    c.commit().map_err(odbc_error)?;
    guard.1 = true;
    Ok(v)
}

/// Read in autocommit: PostgreSQL would abort the rest of a transaction after the error
/// of a missing table.
fn version_on(c: &Connection<'static>, n: &Naming) -> DbResult<i64> {
    match query_named(c, n, "SELECT version FROM anaf_schema WHERE id = 1", &[]) {
        Ok(rows) => rows.first().map_or(Ok(0), |r| r.int(0)),
        Err(e) if e.kind == Kind::MissingTable => Ok(0),
        Err(e) => Err(e),
    }
}

struct OdbcConn<'c> {
    conn: &'c Connection<'static>,
    dialect: Dialect,
    naming: &'c Naming,
}

fn params(args: &[Arg<'_>]) -> Vec<Box<dyn InputParameter>> {
    args.iter()
        .map(|a| -> Box<dyn InputParameter> {
            match *a {
                Arg::Int(v) => Box::new(v),
                Arg::Text(s) => Box::new(VarWCharBox::from_str_slice(s)),
                Arg::Null => Box::new(VarWCharBox::null()),
            }
        })
        .collect()
}

fn exec(c: &Connection<'static>, sql: &str, args: &[Arg<'_>]) -> DbResult<u64> {
    exec_named(c, &Naming::default(), sql, args)
}

fn exec_named(c: &Connection<'static>, n: &Naming, sql: &str, args: &[Arg<'_>]) -> DbResult<u64> {
    let sql = n.apply(sql);
    let sql = sql.as_ref();
    let p = params(args);
    let mut st = c.preallocate().map_err(odbc_error)?;
    // A statement that answers rows (a SELECT run for its effect) changed none.
    if st.execute(sql, p.as_slice()).map_err(odbc_error)?.is_some() {
        return Ok(0);
    }
    Ok(st.row_count().map_err(odbc_error)?.unwrap_or(0) as u64)
}

fn query_named(
    c: &Connection<'static>,
    n: &Naming,
    sql: &str,
    args: &[Arg<'_>],
) -> DbResult<Vec<Row>> {
    let sql = n.apply(sql);
    let sql = sql.as_ref();
    let p = params(args);
    let mut out = Vec::new();
    let Some(mut cursor) = c.execute(sql, p.as_slice(), None).map_err(odbc_error)? else {
        return Ok(out);
    };
    let n = cursor.num_result_cols().map_err(odbc_error)?.max(0) as u16;
    let mut buf = Vec::new();
    while let Some(mut row) = cursor.next_row().map_err(odbc_error)? {
        let mut values = Vec::with_capacity(n as usize);
        for i in 1..=n {
            values.push(if row.get_wide_text(i, &mut buf).map_err(odbc_error)? {
                Value::Text(String::from_utf16_lossy(&buf))
            } else {
                Value::Null
            });
        }
        out.push(Row(values));
    }
    Ok(out)
}

impl Conn for OdbcConn<'_> {
    fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<u64> {
        exec_named(self.conn, self.naming, sql, args)
    }

    fn query(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<Vec<Row>> {
        query_named(self.conn, self.naming, sql, args)
    }

    fn insert_returning_id(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<i64> {
        let first = |rows: Vec<Row>| -> DbResult<i64> {
            rows.first()
                .ok_or_else(|| DbError::new(Kind::Other, "the INSERT returned no id"))?
                .int(0)
        };
        match self.dialect.insert_id() {
            InsertId::Returning => first(query_named(
                self.conn,
                self.naming,
                &format!("{sql} RETURNING id"),
                args,
            )?),
            InsertId::Output => {
                let at = sql.find(" VALUES").unwrap_or(sql.len());
                let sql = format!("{} OUTPUT INSERTED.id{}", &sql[..at], &sql[at..]);
                first(query_named(self.conn, self.naming, &sql, args)?)
            }
            InsertId::Query(q) => {
                exec_named(self.conn, self.naming, sql, args)?;
                first(query_named(self.conn, self.naming, q, &[])?)
            }
            InsertId::MaxUnderLock(q) => {
                // Held until the commit: no other row can be inserted in between.
                self.serialize("journal-insert")?;
                exec_named(self.conn, self.naming, sql, args)?;
                first(query_named(self.conn, self.naming, q, &[])?)
            }
        }
    }

    fn serialize(&mut self, scope: &str) -> DbResult<()> {
        // The update first: on a row that exists (every time but the first) it takes the
        // exclusive lock at once, where a duplicate check would take a shared one first and
        // two transactions upgrading theirs would deadlock.
        let lock = "UPDATE anaf_lock SET touched = touched + 1 WHERE scope = ?";
        if exec_named(self.conn, self.naming, lock, &[Arg::Text(scope)])? == 0 {
            exec_named(
                self.conn,
                self.naming,
                self.dialect.insert_lock_if_absent(),
                &[Arg::Text(scope)],
            )?;
            exec_named(self.conn, self.naming, lock, &[Arg::Text(scope)])?;
        }
        Ok(())
    }
}

/// The driver's failure as a [`DbError`]: SQLSTATE and native code decide the kind.
fn odbc_error(e: odbc_api::Error) -> DbError {
    let text = e.to_string().replace('\n', " ");
    let kind = match &e {
        odbc_api::Error::Diagnostics { record, .. } => {
            kind_of(record.state.as_str(), record.native_error)
        }
        _ => Kind::Other,
    };
    DbError::new(kind, text)
}

/// The server chose this transaction as a deadlock's victim (or a serialization failure):
/// it was rolled back and may simply run again.
fn is_deadlock(e: &DbError) -> bool {
    e.kind == Kind::Busy
        && ["State: 40001", "State: 40P01", "Native error: 1213"]
            .iter()
            .any(|s| e.text.contains(s))
}

fn kind_of(state: &str, native: i32) -> Kind {
    match (state, native) {
        // Lock wait past the timeout, deadlock victim, serialization failure.
        ("40001" | "40P01" | "HYT00" | "55P03", _) | (_, 1205 | 1213 | 1222) => Kind::Busy,
        ("42S02" | "42P01", _) | (_, 1146 | 208 | 942) => Kind::MissingTable,
        ("42501", _) | (_, 1142 | 1044 | 262 | 1031) => Kind::ReadOnly,
        _ => Kind::Other,
    }
}

/// What the ERP reads for a failure, naming the server and what to do.
fn describe(label: &str, e: DbError) -> Error {
    let text = &e.text;
    let has = |states: &[&str]| states.iter().any(|s| text.contains(s));
    let bits = if cfg!(target_pointer_width = "64") {
        64
    } else {
        32
    };
    let (status, ro, en): (i32, String, String) = match e.kind {
        Kind::Busy => (ANAF_ERR_DATABASE_LOCKED, String::new(), String::new()),
        Kind::ReadOnly => (
            ANAF_ERR_DATABASE_READONLY,
            " Utilizatorul bazei de date nu are drept de scriere pe tabelele anaf_*.".into(),
            " The database user may not write the anaf_* tables.".into(),
        ),
        Kind::Corrupt => (ANAF_ERR_DATABASE_CORRUPT, String::new(), String::new()),
        Kind::MissingTable | Kind::Other if has(&["IM002", "IM003", "Can't open lib"]) => (
            ANAF_ERR_DATABASE,
            format!(" Driverul ODBC sau sursa de date (DSN) nu există pentru programele de {bits} de biți: un ERP de {bits} de biți are nevoie de un driver ODBC de {bits} de biți (pe Windows de 64 de biți, sursele de 32 de biți se fac cu C:\\Windows\\SysWOW64\\odbcad32.exe)."),
            format!(" The ODBC driver or data source (DSN) does not exist for {bits}-bit programs: a {bits}-bit ERP needs a {bits}-bit ODBC driver (on 64-bit Windows, 32-bit data sources are made with C:\\Windows\\SysWOW64\\odbcad32.exe)."),
        ),
        Kind::MissingTable | Kind::Other
            if has(&["28000", "28P01", "authentication failed", "Access denied for user", "Login failed for user"]) =>
        (
            ANAF_ERR_DATABASE,
            " Serverul a refuzat utilizatorul sau parola din șirul de conectare.".into(),
            " The server refused the user or password of the connection string.".into(),
        ),
        Kind::MissingTable | Kind::Other if has(&["08001", "08S01", "08006", "08004"]) => (
            ANAF_ERR_DATABASE,
            " Serverul de baze de date nu răspunde: verificați că rulează și că rețeaua îl vede.".into(),
            " The database server does not answer: check that it runs and that the network reaches it.".into(),
        ),
        Kind::MissingTable | Kind::Other => (ANAF_ERR_DATABASE, String::new(), String::new()),
    };
    Error::with(
        status,
        format!("Server: {label} ({text}).{ro}"),
        format!("Server: {label} ({text}).{en}"),
    )
}

/// Test support (not part of the DLL's API): runs `sql` on a connection of its own in
/// autocommit (CREATE DATABASE cannot run in a transaction).
#[doc(hidden)]
pub fn exec_for_tests(connection: &str, sql: &str) -> std::result::Result<u64, String> {
    let env = odbc_api::environment().map_err(|e| e.to_string())?;
    let c = env
        .connect_with_connection_string(connection, ConnectionOptions::default())
        .map_err(|e| e.to_string())?;
    exec(&c, sql, &[]).map_err(|e| e.text)
}

/// Test support: the rows of a query on a connection of its own, as text.
#[doc(hidden)]
pub fn query_for_tests(
    connection: &str,
    sql: &str,
) -> std::result::Result<Vec<Vec<Option<String>>>, String> {
    let c = connect(connection, Duration::from_secs(10)).map_err(|e| e.text)?;
    let rows = query_named(&c, &Naming::default(), sql, &[]).map_err(|e| e.text)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            r.0.into_iter()
                .map(|v| match v {
                    Value::Text(t) => Some(t),
                    Value::Null => None,
                    other => Some(format!("{other:?}")),
                })
                .collect()
        })
        .collect())
}

/// Test support: another program's transaction holding the lock of a scope (as an ERP
/// transaction would hold a row), until dropped.
#[doc(hidden)]
pub struct HeldLockForTests(Connection<'static>);

impl HeldLockForTests {
    pub fn hold(connection: &str, scope: &str) -> std::result::Result<Self, String> {
        let env = odbc_api::environment().map_err(|e| e.to_string())?;
        let c = env
            .connect_with_connection_string(connection, ConnectionOptions::default())
            .map_err(|e| e.to_string())?;
        c.set_autocommit(false).map_err(|e| e.to_string())?;
        let n = exec(
            &c,
            "UPDATE anaf_lock SET touched = touched + 1 WHERE scope = ?",
            &[Arg::Text(scope)],
        )
        .map_err(|e| e.text)?;
        if n == 0 {
            return Err(format!("no lock row for {scope}"));
        }
        Ok(HeldLockForTests(c))
    }
}

impl Drop for HeldLockForTests {
    fn drop(&mut self) {
        let _ = self.0.rollback();
    }
}

/// The connection string with the values of `PWD`/`Password` hidden.
pub fn mask_connection_string(s: &str) -> String {
    s.split(';')
        .map(|part| match part.split_once('=') {
            Some((k, _))
                if matches!(
                    k.trim().to_ascii_lowercase().as_str(),
                    "pwd" | "password" | "pass"
                ) =>
            {
                format!("{k}=***")
            }
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
#[path = "odbc_tests.rs"]
mod tests;
