//! The seam between what the DLL keeps and the database that keeps it.
//!
//! Every table of the DLL (tokens, journal, counters, links) is read and written through
//! [`Conn`]: SQL written once with `?` placeholders, arguments as [`Arg`], rows as [`Row`],
//! failures as [`DbError`]. The SQLite file (`store::sqlite`) implements it; a database
//! server reached through ODBC is the other implementation it is shaped for. So the
//! protocols above it — the refresh lease, the journal's duplicate rule — have one home,
//! whatever the backend: the domain modules never see a driver type.
//!
//! What differs between backends (how a write transaction takes its lock, how an inserted
//! id comes back, the DDL) is answered behind this trait, never by a caller.

use std::fmt;

/// One argument of a statement, borrowed from the caller.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg<'a> {
    Null,
    Int(i64),
    Text(&'a str),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<u32> for Arg<'_> {
    fn from(v: u32) -> Self {
        Arg::Int(v as i64)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Int(v as i64)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}

impl<'a, T: Into<Arg<'a>>> From<Option<T>> for Arg<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Arg::Null, Into::into)
    }
}

/// The arguments of a statement: `args![a, b, c]`, each converted with `Arg::from`.
macro_rules! args {
    ($($a:expr),* $(,)?) => { &[$($crate::store::db::Arg::from($a)),*] };
}
pub(crate) use args;

/// One column value as the database returned it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// One result row. The typed getters answer [`Kind::Corrupt`] for a value of another type,
/// so a row damaged by hand reads as damaged instead of as a wrong number.
#[derive(Clone, Debug, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn at(&self, i: usize) -> Result<&Value, DbError> {
        self.0
            .get(i)
            .ok_or_else(|| DbError::corrupt(format!("column {i} missing from the result")))
    }

    /// An integer column (servers that hand numbers back as text are read too).
    pub fn int(&self, i: usize) -> Result<i64, DbError> {
        self.opt_int(i)?
            .ok_or_else(|| DbError::corrupt(format!("column {i} is NULL, an integer expected")))
    }

    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, DbError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(*v)),
            Value::Text(t) => t.trim().parse().map(Some).map_err(|_| {
                DbError::corrupt(format!("column {i} holds {t:?}, an integer expected"))
            }),
            other => Err(DbError::corrupt(format!(
                "column {i} holds {other:?}, an integer expected"
            ))),
        }
    }

    pub fn text(&self, i: usize) -> Result<String, DbError> {
        self.opt_text(i)?
            .ok_or_else(|| DbError::corrupt(format!("column {i} is NULL, text expected")))
    }

    pub fn opt_text(&self, i: usize) -> Result<Option<String>, DbError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Text(t) => Ok(Some(t.clone())),
            other => Err(DbError::corrupt(format!(
                "column {i} holds {other:?}, text expected"
            ))),
        }
    }
}

/// What kind of failure, for the status the ERP gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Another program holds the lock past the busy timeout.
    Busy,
    /// The file, folder or account may not be written.
    ReadOnly,
    /// Not a database, or a value of the wrong type.
    Corrupt,
    /// A table the statement names does not exist.
    MissingTable,
    Other,
}

/// A database failure, in the backend's own words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbError {
    pub kind: Kind,
    pub text: String,
}

impl DbError {
    pub fn new(kind: Kind, text: impl Into<String>) -> DbError {
        DbError {
            kind,
            text: text.into(),
        }
    }

    pub fn corrupt(text: impl Into<String>) -> DbError {
        DbError::new(Kind::Corrupt, text)
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

pub type DbResult<T> = std::result::Result<T, DbError>;

/// A connection, inside or outside a transaction (the store decides which).
pub trait Conn {
    /// Runs a statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<u64>;

    /// Runs a query; all its rows.
    fn query(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<Vec<Row>>;

    /// The first row of a query, if any.
    fn query_row(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<Option<Row>> {
        Ok(self.query(sql, args)?.into_iter().next())
    }

    /// Runs an INSERT into a table whose key is an integer `id` the database assigns, and
    /// returns that id.
    fn insert_returning_id(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<i64>;

    /// Inside a write transaction: makes the rest of it exclusive against every other
    /// transaction that names the same `scope` (a token row's key, a journal document),
    /// so a read-then-write cannot interleave with another workstation's. A backend whose
    /// write transactions already exclude each other (SQLite's BEGIN IMMEDIATE) does
    /// nothing here.
    fn serialize(&mut self, scope: &str) -> DbResult<()>;
}

/// How a write transaction is run.
#[derive(Clone, Copy, Debug)]
pub struct Write {
    /// How long to wait for another program's lock; `None`: the store's busy timeout.
    pub busy: Option<std::time::Duration>,
    /// Wait for the disk before returning (a row that must outlive a power cut). Where the
    /// backend has no such switch, every commit is durable.
    pub durable: bool,
}

// Constructors, not associated constants: cbindgen would put a struct with constants
// into the C header.
impl Write {
    /// Durable, with the store's busy timeout.
    pub fn durable() -> Write {
        Write {
            busy: None,
            durable: true,
        }
    }

    /// Committed, but not waited for on the disk: survives a crash of the ERP, not
    /// necessarily a power cut (counters, the end of an attempt, a last status).
    pub fn relaxed() -> Write {
        Write {
            busy: None,
            durable: false,
        }
    }

    pub fn within(busy: std::time::Duration) -> Write {
        Write {
            busy: Some(busy),
            durable: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getters_refuse_other_types() {
        let r = Row(vec![
            Value::Int(5),
            Value::Text("soon".into()),
            Value::Null,
            Value::Text(" 42".into()),
        ]);
        assert_eq!(r.int(0).unwrap(), 5);
        assert_eq!(r.int(1).unwrap_err().kind, Kind::Corrupt);
        assert_eq!(r.text(0).unwrap_err().kind, Kind::Corrupt);
        assert_eq!(r.opt_text(2).unwrap(), None);
        assert_eq!(r.int(2).unwrap_err().kind, Kind::Corrupt);
        assert_eq!(
            r.int(3).unwrap(),
            42,
            "numbers as text, as some ODBC drivers send them"
        );
        assert_eq!(r.int(9).unwrap_err().kind, Kind::Corrupt);
    }

    #[test]
    fn args_convert() {
        let s = String::from("x");
        let none: Option<&str> = None;
        let a: &[Arg<'_>] = args![1i64, &s, "y", none, Some(3i64), true];
        assert_eq!(
            a,
            &[
                Arg::Int(1),
                Arg::Text("x"),
                Arg::Text("y"),
                Arg::Null,
                Arg::Int(3),
                Arg::Int(1)
            ]
        );
    }
}
