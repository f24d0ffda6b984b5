//! The schema of the token database and its forward migrations.
//!
//! `anaf_schema` holds one row (`id = 1`) with the schema version. Each entry of
//! [`MIGRATIONS`] takes the file from version `i` to `i + 1`; they only ever add (tables,
//! columns, views), so an older DLL that still reads the file sees what it knows. A file
//! whose version is above [`ANAF_SCHEMA_VERSION`] was written by a newer DLL and is refused.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// The anaf_schema.version this DLL writes; a file of a newer one is refused (DATABASE_NEWER).
pub const ANAF_SCHEMA_VERSION: i64 = 8;

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
    // 2 -> 3: the DLL's working tables. Builds before version 3 created them on first
    // use, hence IF NOT EXISTS throughout; their full index on index_incarcare (which every
    // new `sending` row had to update) becomes a partial one.
    concat!(
        "DROP INDEX IF EXISTS anaf_upload_journal_index;",
        own_tables_v3!()
    ),
    // 3 -> 4: column names every database server accepts (`key`, `count`, `size` and `day`
    // are reserved by some), so that one set of statements serves every backend.
    "ALTER TABLE anaf_upload_journal RENAME COLUMN size TO size_bytes;
     ALTER TABLE anaf_call_count RENAME COLUMN day TO call_day;
     ALTER TABLE anaf_call_count RENAME COLUMN key TO call_key;
     ALTER TABLE anaf_call_count RENAME COLUMN count TO calls;",
    // 4 -> 5: tokens at rest. The table keeps hashes of the refresh tokens it compares
    // (the one a pair replaced, the one being spent, the current one) instead of second
    // copies of them; the tokens themselves are sealed by the store when it opens the file
    // (store::seal), and the report view shows no sealed value.
    concat!(
        "ALTER TABLE anaf_token RENAME COLUMN previous_refresh_token TO previous_refresh_hash;
         ALTER TABLE anaf_token RENAME COLUMN lease_refresh_token TO lease_refresh_hash;
         ALTER TABLE anaf_token ADD COLUMN refresh_hash TEXT;
         DROP VIEW IF EXISTS anaf_token_v;",
        token_view!(),
        ";",
        inbox_tables!()
    ),
    // 5 -> 6: the PDFs ANAF's transformation made of received invoices, kept once obtained
    // (a table of their own: the inbox's rows stay small to scan).
    inbox_pdf_table!(),
    // 6 -> 7: the pace of calls to ANAF kept by every process and workstation sharing the
    // database (store::pace).
    pace_table!(),
    // 7 -> 8: one token for many companies (store::served). Every row serves its own CIF,
    // so a file of any earlier version keeps working without a new login; the report view
    // gives a row per company served.
    concat!(
        token_cif_table!(),
        "INSERT OR IGNORE INTO anaf_token_cif (cif, client_id, environment, token_cif, cert_serial,
             assigned_by, assigned_at)
         SELECT cif, client_id, environment, cif, cert_serial, 'migration', obtained_at
         FROM anaf_token;
         DROP VIEW IF EXISTS anaf_token_v;",
        token_view_v8!(),
        ";"
    ),
];

/// Which token serves which company; as migration 7 -> 8 made it.
macro_rules! token_cif_table {
    () => {
        "
CREATE TABLE IF NOT EXISTS anaf_token_cif (
    cif           TEXT    NOT NULL,
    client_id     TEXT    NOT NULL,
    environment   TEXT    NOT NULL,
    token_cif     TEXT    NOT NULL,
    cert_serial   TEXT,
    assigned_by   TEXT    NOT NULL,
    assigned_at   INTEGER NOT NULL,
    accepted_at   INTEGER,
    refused_at    INTEGER,
    refused_error TEXT,
    PRIMARY KEY (cif, client_id, environment)
);
CREATE INDEX IF NOT EXISTS anaf_token_cif_token ON anaf_token_cif (token_cif, client_id, environment);
"
    };
}
use token_cif_table;

/// The report view at schema 8: a row per company, with the token that serves it (the CIF
/// `anaf_token_cif` names unless ANAF refused it; a row nobody assigned serves its own CIF).
macro_rules! token_view_v8 {
    () => {
        "CREATE VIEW IF NOT EXISTS anaf_token_v AS
     SELECT s.cif AS cif, t.client_id, t.environment, t.token_type, t.cert_serial, t.version,
            CASE WHEN t.access_token LIKE 'anafseal1:%' THEN NULL ELSE t.access_token END AS access_token,
            strftime('%Y-%m-%dT%H:%M:%SZ', t.access_expires_at, 'unixepoch')  AS access_expires_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', t.refresh_expires_at, 'unixepoch') AS refresh_expires_utc,
            (t.access_expires_at  - CAST(strftime('%s', 'now') AS INTEGER)) / 86400 AS access_days_left,
            (t.refresh_expires_at - CAST(strftime('%s', 'now') AS INTEGER)) / 86400 AS refresh_days_left,
            strftime('%Y-%m-%dT%H:%M:%SZ', t.obtained_at, 'unixepoch')  AS obtained_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', t.refreshed_at, 'unixepoch') AS refreshed_utc,
            t.refresh_refused_at IS NOT NULL AS login_required,
            t.cif AS token_cif
     FROM anaf_token_cif s JOIN anaf_token t
       ON t.cif = s.token_cif AND t.client_id = s.client_id AND t.environment = s.environment
     WHERE s.refused_at IS NULL
     UNION ALL
     SELECT t.cif, t.client_id, t.environment, t.token_type, t.cert_serial, t.version,
            CASE WHEN t.access_token LIKE 'anafseal1:%' THEN NULL ELSE t.access_token END,
            strftime('%Y-%m-%dT%H:%M:%SZ', t.access_expires_at, 'unixepoch'),
            strftime('%Y-%m-%dT%H:%M:%SZ', t.refresh_expires_at, 'unixepoch'),
            (t.access_expires_at  - CAST(strftime('%s', 'now') AS INTEGER)) / 86400,
            (t.refresh_expires_at - CAST(strftime('%s', 'now') AS INTEGER)) / 86400,
            strftime('%Y-%m-%dT%H:%M:%SZ', t.obtained_at, 'unixepoch'),
            strftime('%Y-%m-%dT%H:%M:%SZ', t.refreshed_at, 'unixepoch'),
            t.refresh_refused_at IS NOT NULL,
            t.cif
     FROM anaf_token t
     WHERE NOT EXISTS (SELECT 1 FROM anaf_token_cif s
                       WHERE s.cif = t.cif AND s.client_id = t.client_id AND s.environment = t.environment)"
    };
}
use token_view_v8;

/// The report view at schema 5: what migration 1 -> 2 made, with the access token only
/// where it is stored readable (`share_access_token`).
macro_rules! token_view {
    () => {
        "CREATE VIEW IF NOT EXISTS anaf_token_v AS
     SELECT cif, client_id, environment, token_type, cert_serial, version,
            CASE WHEN access_token LIKE 'anafseal1:%' THEN NULL ELSE access_token END AS access_token,
            strftime('%Y-%m-%dT%H:%M:%SZ', access_expires_at, 'unixepoch')  AS access_expires_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', refresh_expires_at, 'unixepoch') AS refresh_expires_utc,
            (access_expires_at  - CAST(strftime('%s', 'now') AS INTEGER)) / 86400 AS access_days_left,
            (refresh_expires_at - CAST(strftime('%s', 'now') AS INTEGER)) / 86400 AS refresh_days_left,
            strftime('%Y-%m-%dT%H:%M:%SZ', obtained_at, 'unixepoch')  AS obtained_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', refreshed_at, 'unixepoch') AS refreshed_utc,
            refresh_refused_at IS NOT NULL AS login_required
     FROM anaf_token"
    };
}
use token_view;

/// The upload journal, the daily call counters, the pending browser links and the inbox, in their
/// current shape. Every statement is idempotent: [`restore_own_tables`] runs it again when
/// one of them went missing from an open file.
pub const OWN_TABLES: &str = concat!(
    own_tables!(),
    inbox_tables!(),
    inbox_pdf_table!(),
    pace_table!(),
    token_cif_table!()
);

/// The tables of [`OWN_TABLES`], as the database names them when one is missing.
pub const OWN_TABLE_NAMES: &[&str] = &[
    "anaf_upload_journal",
    "anaf_call_count",
    "anaf_link",
    "anaf_inbox",
    "anaf_inbox_sync",
    "anaf_inbox_pdf",
    "anaf_pace",
    "anaf_token_cif",
];

/// The e-Factura inbox (store::inbox), as migration 4 -> 5 made it.
macro_rules! inbox_tables {
    () => {
        "
CREATE TABLE IF NOT EXISTS anaf_inbox (
    cif               TEXT NOT NULL,
    environment       TEXT NOT NULL,
    message_id        TEXT NOT NULL,
    message_type      TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    created_ms        INTEGER NOT NULL,
    id_solicitare     TEXT,
    detalii           TEXT,
    supplier_cif      TEXT,
    customer_cif      TEXT,
    listed_at         INTEGER NOT NULL,
    state             TEXT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    downloaded_at     INTEGER,
    zip_base64        TEXT,
    zip_file          TEXT,
    zip_sha256        TEXT,
    zip_bytes         INTEGER,
    syntax            TEXT,
    doc_kind          TEXT,
    invoice_number    TEXT,
    issue_date        TEXT,
    due_date          TEXT,
    currency          TEXT,
    supplier_vat      TEXT,
    supplier_name     TEXT,
    customer_vat      TEXT,
    customer_name     TEXT,
    total_without_vat TEXT,
    vat_total         TEXT,
    payable           TEXT,
    line_count        INTEGER,
    parse_error       TEXT,
    anaf_errors       TEXT,
    imported_at       INTEGER,
    erp_ref           TEXT,
    PRIMARY KEY (cif, environment, message_id)
);
CREATE INDEX IF NOT EXISTS anaf_inbox_created ON anaf_inbox (cif, environment, created_ms);
CREATE TABLE IF NOT EXISTS anaf_inbox_sync (
    cif          TEXT NOT NULL,
    environment  TEXT NOT NULL,
    synced_until INTEGER,
    lease_owner  TEXT,
    lease_until  INTEGER,
    last_run_at  INTEGER,
    last_result  TEXT,
    PRIMARY KEY (cif, environment)
);
"
    };
}
use inbox_tables;

/// The PDF of a received invoice (`anaf_inbox_get` with "pdf"), in the row or in the
/// configured `inbox_folder`; as migration 5 -> 6 made it.
macro_rules! inbox_pdf_table {
    () => {
        "
CREATE TABLE IF NOT EXISTS anaf_inbox_pdf (
    cif          TEXT NOT NULL,
    environment  TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    pdf_base64   TEXT,
    pdf_file     TEXT,
    pdf_bytes    INTEGER NOT NULL,
    made_at      INTEGER NOT NULL,
    PRIMARY KEY (cif, environment, message_id)
);
"
    };
}
use inbox_pdf_table;

/// The next free slot (Unix ms) for a call to ANAF, per scope; as migration 6 -> 7 made it.
macro_rules! pace_table {
    () => {
        "
CREATE TABLE IF NOT EXISTS anaf_pace (
    scope    TEXT NOT NULL PRIMARY KEY,
    next_ms  INTEGER NOT NULL
);
"
    };
}
use pace_table;

/// The text of [`OWN_TABLES`], as a macro so that a migration can extend it with `concat!`.
/// The journal's `id` is a plain rowid (no AUTOINCREMENT, one page less to write per
/// upload): ids only grow, unless the newest rows are deleted.
macro_rules! own_tables {
    () => {
        "
CREATE TABLE IF NOT EXISTS anaf_upload_journal (
    id              INTEGER PRIMARY KEY,
    cif             TEXT NOT NULL,
    environment     TEXT NOT NULL,
    service         TEXT NOT NULL,
    standard        TEXT NOT NULL,
    flags           TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    size_bytes      INTEGER NOT NULL,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    state           TEXT NOT NULL,
    index_incarcare TEXT,
    uit             TEXT,
    last_status     TEXT,
    detail          TEXT,
    forced          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS anaf_upload_journal_key
    ON anaf_upload_journal (cif, environment, service, sha256);
CREATE INDEX IF NOT EXISTS anaf_upload_journal_index
    ON anaf_upload_journal (index_incarcare) WHERE index_incarcare IS NOT NULL;
CREATE TABLE IF NOT EXISTS anaf_call_count (
    call_day TEXT NOT NULL,
    kind     TEXT NOT NULL,
    call_key TEXT NOT NULL,
    calls    INTEGER NOT NULL,
    PRIMARY KEY (call_day, kind, call_key)
);
CREATE TABLE IF NOT EXISTS anaf_link (
    cif              TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    environment      TEXT NOT NULL,
    link_id          TEXT NOT NULL,
    url              TEXT NOT NULL,
    relay_url        TEXT NOT NULL,
    retrieval_secret TEXT NOT NULL,
    private_key      TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    claimed_until    INTEGER,
    sealed_answer    TEXT,
    last_reason      TEXT,
    last_detail      TEXT,
    last_attempt     INTEGER,
    PRIMARY KEY (cif, client_id, environment)
);
"
    };
}
use own_tables;

/// The working tables as schema version 3 created them (migration 2 -> 3).
macro_rules! own_tables_v3 {
    () => {
        "
CREATE TABLE IF NOT EXISTS anaf_upload_journal (
    id              INTEGER PRIMARY KEY,
    cif             TEXT NOT NULL,
    environment     TEXT NOT NULL,
    service         TEXT NOT NULL,
    standard        TEXT NOT NULL,
    flags           TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    size            INTEGER NOT NULL,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    state           TEXT NOT NULL,
    index_incarcare TEXT,
    uit             TEXT,
    last_status     TEXT,
    detail          TEXT,
    forced          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS anaf_upload_journal_key
    ON anaf_upload_journal (cif, environment, service, sha256);
CREATE INDEX IF NOT EXISTS anaf_upload_journal_index
    ON anaf_upload_journal (index_incarcare) WHERE index_incarcare IS NOT NULL;
CREATE TABLE IF NOT EXISTS anaf_call_count (
    day   TEXT NOT NULL,
    kind  TEXT NOT NULL,
    key   TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (day, kind, key)
);
CREATE TABLE IF NOT EXISTS anaf_link (
    cif              TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    environment      TEXT NOT NULL,
    link_id          TEXT NOT NULL,
    url              TEXT NOT NULL,
    relay_url        TEXT NOT NULL,
    retrieval_secret TEXT NOT NULL,
    private_key      TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    claimed_until    INTEGER,
    sealed_answer    TEXT,
    last_reason      TEXT,
    last_detail      TEXT,
    last_attempt     INTEGER,
    PRIMARY KEY (cif, client_id, environment)
);
"
    };
}
use own_tables_v3;

/// Creates [`OWN_TABLES`] again (an ERP tool dropped one after the file was opened).
pub fn restore_own_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(OWN_TABLES)
}

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

/// Brings the file to [`ANAF_SCHEMA_VERSION`] in one transaction (so two processes opening a new file
/// at once cannot both migrate), or refuses a newer file. A file already current is only read.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    migrate_to(conn, ANAF_SCHEMA_VERSION)
}

/// Migrates to `target` (tests build files of older versions with it).
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<(), MigrateError> {
    let v = version(conn)?;
    if v > ANAF_SCHEMA_VERSION {
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
    if v > ANAF_SCHEMA_VERSION {
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
        assert_eq!(MIGRATIONS.len() as i64, ANAF_SCHEMA_VERSION);
    }

    #[test]
    fn fresh_file_reaches_current_and_is_idempotent() {
        let mut c = Connection::open_in_memory().unwrap();
        assert_eq!(version(&c).unwrap(), 0);
        migrate(&mut c).unwrap();
        assert_eq!(version(&c).unwrap(), ANAF_SCHEMA_VERSION);
        migrate(&mut c).unwrap();
        assert_eq!(version(&c).unwrap(), ANAF_SCHEMA_VERSION);
    }

    #[test]
    fn newer_file_is_refused_untouched() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        c.execute(
            "UPDATE anaf_schema SET version = ?1",
            [ANAF_SCHEMA_VERSION + 1],
        )
        .unwrap();
        match migrate(&mut c) {
            Err(MigrateError::Newer(v)) => assert_eq!(v, ANAF_SCHEMA_VERSION + 1),
            other => panic!("expected Newer, got {other:?}"),
        }
        assert_eq!(version(&c).unwrap(), ANAF_SCHEMA_VERSION + 1);
    }

    #[test]
    fn version_2_file_with_first_use_tables_keeps_its_rows() {
        // Builds before version 3 created the journal on first use: AUTOINCREMENT ids and
        // a full index on index_incarcare.
        let mut c = Connection::open_in_memory().unwrap();
        migrate_to(&mut c, 2).unwrap();
        c.execute_batch(
            "CREATE TABLE anaf_upload_journal (
                 id INTEGER PRIMARY KEY AUTOINCREMENT, cif TEXT NOT NULL,
                 environment TEXT NOT NULL, service TEXT NOT NULL, standard TEXT NOT NULL,
                 flags TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
                 started_at TEXT NOT NULL, finished_at TEXT, state TEXT NOT NULL,
                 index_incarcare TEXT, uit TEXT, last_status TEXT, detail TEXT,
                 forced INTEGER NOT NULL DEFAULT 0);
             CREATE INDEX anaf_upload_journal_index ON anaf_upload_journal (index_incarcare);
             INSERT INTO anaf_upload_journal (cif, environment, service, standard, flags,
                 sha256, size, started_at, state, index_incarcare)
             VALUES ('14399840', 'test', 'efactura', 'UBL', '', 'ab', 1,
                 '2026-11-01T10:00:00.000Z', 'uploaded', '5001');",
        )
        .unwrap();
        migrate(&mut c).unwrap();
        assert_eq!(version(&c).unwrap(), ANAF_SCHEMA_VERSION);
        let index_sql: String = c
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'anaf_upload_journal_index'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(index_sql.contains("IS NOT NULL"), "{index_sql}");
        let idx: String = c
            .query_row(
                "SELECT index_incarcare FROM anaf_upload_journal WHERE sha256 = 'ab'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(idx, "5001");
        for t in ["anaf_call_count", "anaf_link"] {
            let n: i64 = c
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [t],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 1, "{t}");
        }
        // The lookup by index uses the partial index.
        let plan: String = c
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM anaf_upload_journal
                  WHERE cif = '14399840' AND index_incarcare = '5001'",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("anaf_upload_journal_index"), "{plan}");
    }

    #[test]
    fn version_3_file_keeps_its_journal_and_counters_under_the_new_names() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate_to(&mut c, 3).unwrap();
        c.execute_batch(
            "INSERT INTO anaf_upload_journal (cif, environment, service, standard, flags,
                 sha256, size, started_at, state) VALUES ('1', 'test', 'efactura', 'UBL', '',
                 'ab', 4500, '2026-11-01T10:00:00.000Z', 'uploaded');
             INSERT INTO anaf_call_count (day, kind, key, count) VALUES ('2026-11-01', 'lista', '1', 7);",
        )
        .unwrap();
        migrate(&mut c).unwrap();
        assert_eq!(version(&c).unwrap(), ANAF_SCHEMA_VERSION);
        let (size, calls): (i64, i64) = c
            .query_row(
                "SELECT size_bytes, (SELECT calls FROM anaf_call_count
                     WHERE call_day = '2026-11-01' AND call_key = '1') FROM anaf_upload_journal",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((size, calls), (4500, 7));
        // The restore text is the current shape: dropping and restoring gives the same columns.
        c.execute_batch("DROP TABLE anaf_call_count").unwrap();
        restore_own_tables(&c).unwrap();
        c.execute("INSERT INTO anaf_call_count (call_day, kind, call_key, calls) VALUES ('d', 'k', 'x', 1)", [])
            .unwrap();
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
        assert_eq!(version(&c).unwrap(), ANAF_SCHEMA_VERSION);
    }
}
