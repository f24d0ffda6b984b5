//! What differs between the database servers the ODBC backend talks to: column types,
//! identity columns, "insert unless present", how an inserted id comes back, the busy
//! timeout, the report view. One table per dialect; the statements of `tokens`, `journal`
//! and `links` are the same everywhere.
//!
//! The schema of a server is described once ([`TABLES`]) and rendered per dialect, both
//! for the DLL (which creates what is missing) and for the DBA (`docs/sql/<dialect>.sql`,
//! checked against this module by a test).

use super::schema::ANAF_SCHEMA_VERSION;

/// A database server, as the driver names it (`SQL_DBMS_NAME`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    /// MySQL and MariaDB.
    MySql,
    MsSql,
    Oracle,
    Firebird,
    Sqlite,
}

/// How the id of a new journal row comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertId {
    /// `INSERT … RETURNING id` answers a row.
    Returning,
    /// A query run right after the INSERT on the same connection.
    Query(&'static str),
    /// SQL Server: `OUTPUT INSERTED.id` between the column list and VALUES.
    Output,
    /// The largest id, read while the transaction holds the lock every INSERT takes.
    MaxUnderLock(&'static str),
}

/// The type of a column, rendered per dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    /// Part of a key, or an indexed short text: at most 100 characters.
    Key,
    /// A short text (states, times, hashes): at most 200 characters.
    Short,
    /// A token, an error text, a sealed answer: up to 4000 characters.
    Long,
    /// A downloaded document (base64): without a practical limit.
    Huge,
    BigInt,
    /// The journal's id, assigned by the database.
    Identity,
}

struct Column {
    name: &'static str,
    ty: Type,
    not_null: bool,
    default: Option<&'static str>,
}

const fn col(name: &'static str, ty: Type) -> Column {
    Column {
        name,
        ty,
        not_null: true,
        default: None,
    }
}

const fn null(name: &'static str, ty: Type) -> Column {
    Column {
        name,
        ty,
        not_null: false,
        default: None,
    }
}

const fn with_default(name: &'static str, ty: Type, default: &'static str) -> Column {
    Column {
        name,
        ty,
        not_null: true,
        default: Some(default),
    }
}

pub struct Table {
    pub name: &'static str,
    columns: &'static [Column],
    primary_key: &'static [&'static str],
    indexes: &'static [(&'static str, &'static [&'static str])],
}

impl Table {
    /// The column names, in order.
    pub fn column_names(&self) -> impl Iterator<Item = &'static str> {
        self.columns.iter().map(|c| c.name)
    }
}

use Type::*;

/// Every table of a server schema at [`ANAF_SCHEMA_VERSION`]. Column names avoid the words
/// some server reserves (`key`, `count`, `size`, `day`); `flags` may be NULL because Oracle
/// stores an empty string as NULL.
pub const TABLES: &[Table] = &[
    Table {
        name: "anaf_schema",
        columns: &[col("id", BigInt), col("version", BigInt)],
        primary_key: &["id"],
        indexes: &[],
    },
    Table {
        name: "anaf_token",
        columns: &[
            col("cif", Key),
            col("client_id", Key),
            col("environment", Key),
            col("access_token", Long),
            col("refresh_token", Long),
            with_default("token_type", Short, "'Bearer'"),
            col("access_expires_at", BigInt),
            col("refresh_expires_at", BigInt),
            null("cert_serial", Short),
            col("obtained_at", BigInt),
            null("refreshed_at", BigInt),
            with_default("version", BigInt, "1"),
            null("previous_refresh_hash", Short),
            null("refresh_refused_at", BigInt),
            null("refresh_error", Long),
            null("lease_owner", Short),
            null("lease_until", BigInt),
            null("lease_refresh_hash", Short),
            null("refresh_hash", Short),
        ],
        primary_key: &["cif", "client_id", "environment"],
        indexes: &[],
    },
    // Which token serves which company (store::served): a login's token may act for every
    // CIF its certificate is enrolled for in SPV.
    Table {
        name: "anaf_token_cif",
        columns: &[
            col("cif", Key),
            col("client_id", Key),
            col("environment", Key),
            col("token_cif", Key),
            null("cert_serial", Short),
            col("assigned_by", Short),
            col("assigned_at", BigInt),
            null("accepted_at", BigInt),
            null("refused_at", BigInt),
            null("refused_error", Long),
        ],
        primary_key: &["cif", "client_id", "environment"],
        indexes: &[(
            "anaf_token_cif_token",
            &["token_cif", "client_id", "environment"],
        )],
    },
    Table {
        name: "anaf_upload_journal",
        columns: &[
            col("id", Identity),
            col("cif", Key),
            col("environment", Key),
            col("service", Key),
            col("standard", Short),
            null("flags", Short),
            col("sha256", Key),
            col("size_bytes", BigInt),
            col("started_at", Short),
            null("finished_at", Short),
            col("state", Short),
            null("index_incarcare", Key),
            null("uit", Short),
            null("last_status", Short),
            null("detail", Long),
            with_default("forced", BigInt, "0"),
        ],
        primary_key: &["id"],
        indexes: &[
            (
                "anaf_upload_journal_key",
                &["cif", "environment", "service", "sha256"],
            ),
            ("anaf_upload_journal_index", &["index_incarcare"]),
        ],
    },
    Table {
        name: "anaf_call_count",
        columns: &[
            col("call_day", Key),
            col("kind", Key),
            col("call_key", Key),
            col("calls", BigInt),
        ],
        primary_key: &["call_day", "kind", "call_key"],
        indexes: &[],
    },
    Table {
        name: "anaf_link",
        columns: &[
            col("cif", Key),
            col("client_id", Key),
            col("environment", Key),
            col("link_id", Short),
            col("url", Long),
            col("relay_url", Long),
            col("retrieval_secret", Short),
            col("private_key", Short),
            col("created_at", BigInt),
            col("expires_at", BigInt),
            null("claimed_until", BigInt),
            null("sealed_answer", Long),
            null("last_reason", Short),
            null("last_detail", Long),
            null("last_attempt", BigInt),
        ],
        primary_key: &["cif", "client_id", "environment"],
        indexes: &[],
    },
    // The e-Factura inbox (store::inbox): one row per message ANAF listed for the company.
    Table {
        name: "anaf_inbox",
        columns: &[
            col("cif", Key),
            col("environment", Key),
            col("message_id", Key),
            col("message_type", Short),
            col("created_at", Short),
            col("created_ms", BigInt),
            null("id_solicitare", Key),
            null("detalii", Long),
            null("supplier_cif", Short),
            null("customer_cif", Short),
            col("listed_at", BigInt),
            col("state", Short),
            with_default("attempts", BigInt, "0"),
            null("last_error", Long),
            null("downloaded_at", BigInt),
            null("zip_base64", Huge),
            null("zip_file", Long),
            null("zip_sha256", Short),
            null("zip_bytes", BigInt),
            null("syntax", Short),
            null("doc_kind", Short),
            null("invoice_number", Short),
            null("issue_date", Short),
            null("due_date", Short),
            null("currency", Short),
            null("supplier_vat", Short),
            null("supplier_name", Long),
            null("customer_vat", Short),
            null("customer_name", Long),
            null("total_without_vat", Short),
            null("vat_total", Short),
            null("payable", Short),
            null("line_count", BigInt),
            null("parse_error", Long),
            null("anaf_errors", Long),
            null("imported_at", BigInt),
            null("erp_ref", Long),
        ],
        primary_key: &["cif", "environment", "message_id"],
        indexes: &[("anaf_inbox_created", &["cif", "environment", "created_ms"])],
    },
    // Where the inbox of a company stands, and the lease of the one sync running for it.
    Table {
        name: "anaf_inbox_sync",
        columns: &[
            col("cif", Key),
            col("environment", Key),
            null("synced_until", BigInt),
            null("lease_owner", Short),
            null("lease_until", BigInt),
            null("last_run_at", BigInt),
            null("last_result", Long),
        ],
        primary_key: &["cif", "environment"],
        indexes: &[],
    },
    // The PDF of a received invoice, kept once ANAF's transformation made it.
    Table {
        name: "anaf_inbox_pdf",
        columns: &[
            col("cif", Key),
            col("environment", Key),
            col("message_id", Key),
            null("pdf_base64", Huge),
            null("pdf_file", Long),
            col("pdf_bytes", BigInt),
            col("made_at", BigInt),
        ],
        primary_key: &["cif", "environment", "message_id"],
        indexes: &[],
    },
    // The next free slot for a call to ANAF (store::pace), per scope.
    Table {
        name: "anaf_pace",
        columns: &[col("scope", Key), col("next_ms", BigInt)],
        primary_key: &["scope"],
        indexes: &[],
    },
    // One row per scope a write transaction serializes on (`Conn::serialize`): the row
    // lock taken by updating it is what makes a read-then-write exclusive on a server.
    Table {
        name: "anaf_lock",
        columns: &[col("scope", Short), col("touched", BigInt)],
        primary_key: &["scope"],
        indexes: &[],
    },
];

impl Dialect {
    /// The dialect of a server from the driver's `SQL_DBMS_NAME`.
    pub fn from_dbms_name(name: &str) -> Option<Dialect> {
        let n = name.to_ascii_lowercase();
        Some(if n.contains("postgres") {
            Dialect::Postgres
        } else if n.contains("mysql") || n.contains("mariadb") {
            Dialect::MySql
        } else if n.contains("sql server") {
            Dialect::MsSql
        } else if n.contains("oracle") {
            Dialect::Oracle
        } else if n.contains("firebird") || n.contains("interbase") {
            Dialect::Firebird
        } else if n.contains("sqlite") {
            Dialect::Sqlite
        } else {
            return None;
        })
    }

    /// The name of `docs/sql/<name>.sql` and of the dialect in messages.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgresql",
            Dialect::MySql => "mysql",
            Dialect::MsSql => "sqlserver",
            Dialect::Oracle => "oracle",
            Dialect::Firebird => "firebird",
            Dialect::Sqlite => "sqlite",
        }
    }

    /// Every dialect (a function: cbindgen would put a type with constants in the header).
    pub fn all() -> [Dialect; 6] {
        [
            Dialect::Postgres,
            Dialect::MySql,
            Dialect::MsSql,
            Dialect::Oracle,
            Dialect::Firebird,
            Dialect::Sqlite,
        ]
    }

    fn ty(self, t: Type) -> &'static str {
        use Dialect::*;
        match (self, t) {
            (Oracle, Key) => "VARCHAR2(100)",
            (Oracle, Short) => "VARCHAR2(200)",
            (Oracle, Long) => "VARCHAR2(4000)",
            (Oracle, Huge) => "CLOB",
            (MsSql, Huge) => "NVARCHAR(MAX)",
            (MySql, Huge) => "LONGTEXT",
            (Postgres, Huge) => "TEXT",
            (Firebird, Huge) => "BLOB SUB_TYPE TEXT",
            (Oracle, BigInt) => "NUMBER(19)",
            (Oracle, Identity) => "NUMBER(19) GENERATED BY DEFAULT AS IDENTITY",
            (MsSql, Key) => "NVARCHAR(100)",
            (MsSql, Short) => "NVARCHAR(200)",
            (MsSql, Long) => "NVARCHAR(4000)",
            (MsSql, Identity) => "BIGINT IDENTITY(1,1)",
            (MySql, Long) => "TEXT",
            (MySql, Identity) => "BIGINT AUTO_INCREMENT",
            (Postgres, Long) => "TEXT",
            (Postgres, Identity) => "BIGINT GENERATED BY DEFAULT AS IDENTITY",
            (Firebird, Long) => "VARCHAR(4000)",
            (Firebird, Identity) => "BIGINT GENERATED BY DEFAULT AS IDENTITY",
            (Sqlite, Key | Short | Long | Huge) => "TEXT",
            (Sqlite, BigInt | Identity) => "INTEGER",
            (_, Key) => "VARCHAR(100)",
            (_, Short) => "VARCHAR(200)",
            (_, BigInt) => "BIGINT",
        }
    }

    /// The CREATE TABLE and CREATE INDEX statements of one table.
    pub fn create_table(self, t: &Table) -> Vec<String> {
        let mut cols: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                let mut s = format!("    {} {}", c.name, self.ty(c.ty));
                if let Some(d) = c.default {
                    s.push_str(&format!(" DEFAULT {d}"));
                }
                if c.not_null {
                    s.push_str(" NOT NULL");
                }
                s
            })
            .collect();
        cols.push(format!("    PRIMARY KEY ({})", t.primary_key.join(", ")));
        let mut out = vec![format!(
            "CREATE TABLE {} (\n{}\n){}",
            t.name,
            cols.join(",\n"),
            if self == Dialect::MySql {
                " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
            } else {
                ""
            }
        )];
        for (name, columns) in t.indexes {
            out.push(format!(
                "CREATE INDEX {name} ON {} ({})",
                t.name,
                columns.join(", ")
            ));
        }
        out
    }

    /// The report view `anaf_token_v`: one row per company, with the token that serves it
    /// (a CIF `anaf_token_cif` names, unless ANAF refused it; else a token row's own CIF),
    /// readable UTC dates and whole days left; the same columns as the SQLite file's.
    pub fn create_view(self) -> String {
        use Dialect::*;
        let (utc, now): (fn(&str) -> String, &str) = match self {
            Postgres => (
                |c| {
                    format!("to_char(to_timestamp({c}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
                },
                "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)",
            ),
            MySql => (
                |c| {
                    format!("DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL {c} SECOND, '%Y-%m-%dT%H:%i:%sZ')")
                },
                "UNIX_TIMESTAMP()",
            ),
            MsSql => (
                |c| {
                    format!("CONVERT(NVARCHAR(19), DATEADD(SECOND, {c} % 86400, DATEADD(DAY, {c} / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z'")
                },
                "DATEDIFF_BIG(SECOND, '1970-01-01', SYSUTCDATETIME())",
            ),
            Oracle => (
                |c| {
                    format!("TO_CHAR(DATE '1970-01-01' + {c} / 86400, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
                },
                "ROUND((CAST(SYS_EXTRACT_UTC(SYSTIMESTAMP) AS DATE) - DATE '1970-01-01') * 86400)",
            ),
            Firebird => (
                |c| {
                    format!("REPLACE(SUBSTRING(CAST(DATEADD(SECOND, {c}, TIMESTAMP '1970-01-01 00:00:00') AS VARCHAR(24)) FROM 1 FOR 19), ' ', 'T') || 'Z'")
                },
                "DATEDIFF(SECOND, TIMESTAMP '1970-01-01 00:00:00', CAST('NOW' AS TIMESTAMP))",
            ),
            Sqlite => (
                |c| format!("strftime('%Y-%m-%dT%H:%M:%SZ', {c}, 'unixepoch')"),
                "CAST(strftime('%s', 'now') AS INTEGER)",
            ),
        };
        let days = |e: &str| match self {
            MySql => format!("({e}) DIV 86400"),
            Oracle => format!("TRUNC(({e}) / 86400)"),
            _ => format!("({e}) / 86400"),
        };
        // The columns of one row, from the token row `t`; `cif` is the company's.
        let columns = |cif: &str| {
            format!(
                "{cif} AS cif, t.client_id, t.environment, t.token_type, t.cert_serial, t.version,
       CASE WHEN t.access_token LIKE 'anafseal1:%' THEN NULL ELSE t.access_token END AS access_token,
       {} AS access_expires_utc,
       {} AS refresh_expires_utc,
       {} AS access_days_left,
       {} AS refresh_days_left,
       {} AS obtained_utc,
       CASE WHEN t.refreshed_at IS NULL THEN NULL ELSE {} END AS refreshed_utc,
       CASE WHEN t.refresh_refused_at IS NULL THEN 0 ELSE 1 END AS login_required,
       t.cif AS token_cif",
                utc("t.access_expires_at"),
                utc("t.refresh_expires_at"),
                days(&format!("t.access_expires_at - {now}")),
                days(&format!("t.refresh_expires_at - {now}")),
                utc("t.obtained_at"),
                utc("t.refreshed_at"),
            )
        };
        format!(
            "CREATE VIEW anaf_token_v AS
SELECT {}
FROM anaf_token_cif s JOIN anaf_token t
  ON t.cif = s.token_cif AND t.client_id = s.client_id AND t.environment = s.environment
WHERE s.refused_at IS NULL
UNION ALL
SELECT {}
FROM anaf_token t
WHERE NOT EXISTS (SELECT 1 FROM anaf_token_cif s
                  WHERE s.cif = t.cif AND s.client_id = t.client_id AND s.environment = t.environment)",
            columns("s.cif"),
            columns("t.cif"),
        )
    }

    /// Every statement that creates a server schema at [`ANAF_SCHEMA_VERSION`], in order:
    /// tables, indexes, the view, the version row.
    pub fn schema(self) -> Vec<String> {
        let mut out: Vec<String> = TABLES.iter().flat_map(|t| self.create_table(t)).collect();
        out.push(self.create_view());
        out.push(format!(
            "INSERT INTO anaf_schema (id, version) VALUES (1, {ANAF_SCHEMA_VERSION})"
        ));
        out
    }

    /// The statements that take a server schema from `from` to `from + 1`, the version row
    /// last. Each may fail because another workstation ran it first; what counts is the
    /// shape afterwards, which the caller checks.
    pub fn upgrade(self, from: i64) -> Vec<String> {
        use Dialect::*;
        let rename = |a: &str, b: &str| match self {
            MsSql => format!("EXEC sp_rename 'anaf_token.{a}', '{b}', 'COLUMN'"),
            Firebird => format!("ALTER TABLE anaf_token ALTER COLUMN {a} TO {b}"),
            _ => format!("ALTER TABLE anaf_token RENAME COLUMN {a} TO {b}"),
        };
        let add = |c: &str, t: Type| match self {
            MsSql | Oracle | Firebird => format!("ALTER TABLE anaf_token ADD {c} {}", self.ty(t)),
            _ => format!("ALTER TABLE anaf_token ADD COLUMN {c} {}", self.ty(t)),
        };
        let mut out = match from {
            // Tokens at rest and the inbox (schema.rs, migration 4 -> 5).
            4 => {
                let mut v = vec![
                    rename("previous_refresh_token", "previous_refresh_hash"),
                    rename("lease_refresh_token", "lease_refresh_hash"),
                    add("refresh_hash", Short),
                    // Back in its current shape at 7 -> 8 (it names a table made there).
                    "DROP VIEW anaf_token_v".to_string(),
                ];
                for t in TABLES
                    .iter()
                    .filter(|t| ["anaf_inbox", "anaf_inbox_sync"].contains(&t.name))
                {
                    v.extend(self.create_table(t));
                }
                v
            }
            // The inbox's PDFs (migration 5 -> 6), the shared pace (6 -> 7).
            5 | 6 => {
                let name = if from == 5 {
                    "anaf_inbox_pdf"
                } else {
                    "anaf_pace"
                };
                TABLES
                    .iter()
                    .filter(|t| t.name == name)
                    .flat_map(|t| self.create_table(t))
                    .collect()
            }
            // One token for many companies (migration 7 -> 8): every row serves its own CIF.
            7 => {
                let mut v: Vec<String> = TABLES
                    .iter()
                    .filter(|t| t.name == "anaf_token_cif")
                    .flat_map(|t| self.create_table(t))
                    .collect();
                v.push(super::served::MIGRATE_ROWS.to_string());
                v.push("DROP VIEW anaf_token_v".to_string());
                v.push(self.create_view());
                v
            }
            _ => return vec![],
        };
        out.push(format!(
            "UPDATE anaf_schema SET version = {} WHERE id = 1 AND version = {from}",
            from + 1
        ));
        out
    }

    /// The DDL file for the DBA who creates the tables himself.
    pub fn ddl_file(self) -> String {
        let mut s = format!(
            "-- anaf-bridge: the tables of the token store on {}, schema version {ANAF_SCHEMA_VERSION}.\n\
             -- Generated from src/store/dialect.rs; a test fails when this file is stale.\n\
             -- With these tables created, the DLL needs only SELECT, INSERT, UPDATE and DELETE on them.\n\n",
            self.name()
        );
        for st in self.schema() {
            s.push_str(&st);
            s.push_str(";\n\n");
        }
        for from in 1..ANAF_SCHEMA_VERSION {
            let steps = self.upgrade(from);
            if steps.is_empty() {
                continue;
            }
            s.push_str(&format!(
                "-- Upgrading tables of schema version {from} instead (the DLL does this itself where it may ALTER them):\n"
            ));
            for st in steps {
                s.push_str(&format!("-- {};\n", st.replace('\n', "\n--   ")));
            }
            s.push('\n');
        }
        s
    }

    /// Inserts the lock row of a scope unless it exists (one parameter: the scope).
    pub fn insert_lock_if_absent(self) -> &'static str {
        match self {
            Dialect::Postgres => {
                "INSERT INTO anaf_lock (scope, touched) VALUES (?, 0) ON CONFLICT (scope) DO NOTHING"
            }
            Dialect::MySql => "INSERT IGNORE INTO anaf_lock (scope, touched) VALUES (?, 0)",
            Dialect::Sqlite => "INSERT OR IGNORE INTO anaf_lock (scope, touched) VALUES (?, 0)",
            Dialect::MsSql => {
                "MERGE INTO anaf_lock WITH (HOLDLOCK) AS l USING (SELECT ? AS scope) AS s \
                 ON l.scope = s.scope WHEN NOT MATCHED THEN INSERT (scope, touched) VALUES (s.scope, 0);"
            }
            Dialect::Oracle => {
                "MERGE INTO anaf_lock l USING (SELECT ? AS scope FROM dual) s \
                 ON (l.scope = s.scope) WHEN NOT MATCHED THEN INSERT (scope, touched) VALUES (s.scope, 0)"
            }
            Dialect::Firebird => {
                "MERGE INTO anaf_lock l USING (SELECT CAST(? AS VARCHAR(200)) AS scope FROM rdb$database) s \
                 ON (l.scope = s.scope) WHEN NOT MATCHED THEN INSERT (scope, touched) VALUES (s.scope, 0)"
            }
        }
    }

    pub fn insert_id(self) -> InsertId {
        match self {
            Dialect::Postgres | Dialect::Firebird | Dialect::Sqlite => InsertId::Returning,
            Dialect::MySql => InsertId::Query("SELECT LAST_INSERT_ID()"),
            Dialect::MsSql => InsertId::Output,
            // Identity columns answer RETURNING only into bound out-parameters, which a
            // generic ODBC path does not have.
            Dialect::Oracle => InsertId::MaxUnderLock("SELECT MAX(id) FROM anaf_upload_journal"),
        }
    }

    /// Statements run once per connection: how long a statement waits for another
    /// transaction's lock before failing (the busy timeout), and the SQL the DLL speaks.
    pub fn session_setup(self, busy: std::time::Duration) -> Vec<String> {
        // Never 0: PostgreSQL reads 0 as "wait forever", SQL Server as "fail at once".
        let ms = busy.as_millis().max(1);
        match self {
            Dialect::Postgres => vec![format!("SET lock_timeout = '{ms}ms'")],
            Dialect::MySql => vec![
                // Whole seconds only: a wait below a second becomes one second.
                format!(
                    "SET SESSION innodb_lock_wait_timeout = {}",
                    busy.as_secs().max(1)
                ),
                // READ COMMITTED as on the other servers: each statement sees the latest
                // commit once its lock is granted.
                "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED".into(),
            ],
            Dialect::MsSql => vec![format!("SET LOCK_TIMEOUT {ms}")],
            // Oracle waits for row locks without a session limit; Firebird's wait is the
            // transaction's (the driver's LockTimeout attribute).
            Dialect::Oracle | Dialect::Firebird | Dialect::Sqlite => vec![],
        }
    }
}

#[cfg(test)]
#[path = "dialect_tests.rs"]
mod tests;
