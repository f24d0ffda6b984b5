//! The store's protocols on every backend: the SQLite file, and real PostgreSQL and MariaDB
//! servers through unixODBC and Debian's drivers (started by scripts/test.sh through
//! scripts/lib/dbservers.sh, which exports ANAF_TEST_ODBC_POSTGRES / ANAF_TEST_ODBC_MARIADB).
//! Without those variables the server cases are skipped loudly, and fail under CI=true.

use anaf_bridge::status::*;
use anaf_bridge::store::journal::{self, Begin, State, UploadKey};
use anaf_bridge::store::links::LinkRow;
use anaf_bridge::store::seal::{self, Sealer};
use anaf_bridge::store::{Claim, Finish, NewTokens, Profile, Store};
use std::sync::{Arc, Barrier};
use std::time::Duration;
use zeroize::Zeroizing;

/// The tests share one database per server: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

type Backends = Vec<(String, Store, Option<tempfile::TempDir>)>;

/// A fresh store per test: a new file, or the server's tables emptied; and the guard that
/// keeps the other tests of this file off the servers meanwhile.
fn backends(test: &str) -> (std::sync::MutexGuard<'static, ()>, Backends) {
    let guard = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut out = vec![(
        "sqlite".to_string(),
        keyed(Store::open(&dir.path().join("t.db")).unwrap()),
        Some(dir),
    )];
    for (name, var) in [
        ("postgresql", "ANAF_TEST_ODBC_POSTGRES"),
        ("mariadb", "ANAF_TEST_ODBC_MARIADB"),
    ] {
        match std::env::var(var) {
            Ok(conn) => {
                let s = keyed(
                    Store::open_odbc(&conn, Duration::from_secs(5))
                        .unwrap_or_else(|e| panic!("{name}: {e:?}")),
                );
                clear(&conn, &s);
                out.push((name.to_string(), s, None));
            }
            Err(_) if std::env::var_os("CI").is_some() => {
                panic!("{var} is not set under CI: the {name} server did not start (scripts/lib/dbservers.sh)")
            }
            Err(_) => eprintln!(
                "!!! {test}: {var} not set: {name} NOT TESTED (run scripts/test.sh, which starts the servers)"
            ),
        }
    }
    (guard, out)
}

/// The store with a sealing key, as the DLL opens it.
fn keyed(s: Store) -> Store {
    s.sealed_with(Some(Sealer::derive("test secret", "client_secret")))
        .unwrap()
}

/// Empties the DLL's tables on a server (the tests share one database).
fn clear(_conn: &str, s: &Store) {
    for t in [
        "anaf_token",
        "anaf_token_cif",
        "anaf_upload_journal",
        "anaf_call_count",
        "anaf_link",
    ] {
        s.run_sql_for_tests(&format!("DELETE FROM {t}")).unwrap();
    }
}

fn profile(cif: &str) -> Profile {
    Profile {
        cif: cif.into(),
        client_id: "cid".into(),
        environment: "test".into(),
    }
}

fn pair(a: &str, r: &str) -> NewTokens {
    NewTokens {
        access_token: a.into(),
        refresh_token: r.into(),
        token_type: "Bearer".into(),
        access_expires_at: 2_000_000_000,
        refresh_expires_at: 2_100_000_000,
        cert_serial: Some("5A1A0001".into()),
    }
}

#[test]
fn token_rows_and_the_refresh_lease() {
    let (_serial, list) = backends("token_rows_and_the_refresh_lease");
    for (name, s, _d) in list {
        let p = profile("14399840");
        assert!(s.load(&p).unwrap().is_none(), "{name}");
        let r = s.put(&p, &pair("a1", "r1"), 100).unwrap();
        assert_eq!((r.version, r.obtained_at), (1, 100), "{name}");
        let r = s.put(&p, &pair("a2", "r2"), 200).unwrap();
        assert_eq!(r.version, 2, "{name}");
        assert_eq!(r.previous_refresh_hash, Some(seal::hash("r1")), "{name}");
        assert_eq!(s.load(&p).unwrap().unwrap(), r, "{name}");
        // Fast path.
        let fresh = |now| {
            s.fresh_access_token(&p.cif, &p.client_id, &p.environment, None, now, 100)
                .unwrap()
        };
        assert_eq!(fresh(1_000_000_000).as_deref(), Some("a2"), "{name}");
        assert_eq!(
            fresh(2_000_000_000 - 100),
            None,
            "{name}: within the margin"
        );
        // Lease.
        let Claim::Claimed { row, interrupted } = s.claim(&p, "me", Some(2), 1_000, 5_000).unwrap()
        else {
            panic!("{name}")
        };
        assert!(!interrupted, "{name}");
        assert_eq!(row.lease_refresh_hash, Some(seal::hash("r2")), "{name}");
        match s
            .claim(&p, "other-host/1/00", Some(2), 2_000, 5_000)
            .unwrap()
        {
            Claim::Busy { owner, until, .. } => {
                assert_eq!((owner.as_str(), until), ("me", 6_000), "{name}")
            }
            c => panic!("{name}: {c:?}"),
        }
        let Finish::Committed(row) = s.finish(&p, "me", "r2", &pair("a3", "r3"), 300).unwrap()
        else {
            panic!("{name}")
        };
        assert_eq!(
            (row.version, row.refresh_token.as_str(), row.refreshed_at),
            (3, "r3", Some(300)),
            "{name}"
        );
        assert_eq!(row.lease_owner, None, "{name}");
        assert!(
            matches!(
                s.finish(&p, "x", "r2", &pair("a4", "r4"), 301).unwrap(),
                Finish::Superseded(_)
            ),
            "{name}"
        );
        // Refusal, then a new login clears it.
        let row = s
            .refuse(&p, "me", "r3", "invalid_grant: Romanian ă î ș ț", 5)
            .unwrap()
            .unwrap();
        assert_eq!(row.refresh_refused_at, Some(5), "{name}");
        assert_eq!(
            row.refresh_error.as_deref(),
            Some("invalid_grant: Romanian ă î ș ț"),
            "{name}: UTF-8 kept"
        );
        assert_eq!(fresh(1_000_000_000), None, "{name}: refused");
        assert_eq!(
            s.put(&p, &pair("a5", "r5"), 6).unwrap().refresh_refused_at,
            None,
            "{name}"
        );
        assert!(s.delete(&p).unwrap(), "{name}");
        assert!(!s.delete(&p).unwrap(), "{name}");
        assert!(
            matches!(s.claim(&p, "me", None, 0, 1).unwrap(), Claim::Missing),
            "{name}"
        );
    }
}

#[test]
fn one_claim_wins_among_threads_with_their_own_connections() {
    let (_serial, list) = backends("one_claim_wins_among_threads_with_their_own_connections");
    for (name, s, d) in list {
        let p = profile("1000");
        let r = s.put(&p, &pair("a1", "r1"), 1).unwrap();
        // Eight handles (eight connections), each claiming the same version at once.
        let stores: Vec<Store> = (0..8)
            .map(|_| {
                keyed(match (&d, name.as_str()) {
                    (Some(d), _) => Store::open(&d.path().join("t.db")).unwrap(),
                    (None, "postgresql") => Store::open_odbc(
                        &std::env::var("ANAF_TEST_ODBC_POSTGRES").unwrap(),
                        Duration::from_secs(10),
                    )
                    .unwrap(),
                    (None, _) => Store::open_odbc(
                        &std::env::var("ANAF_TEST_ODBC_MARIADB").unwrap(),
                        Duration::from_secs(10),
                    )
                    .unwrap(),
                })
            })
            .collect();
        let barrier = Arc::new(Barrier::new(stores.len()));
        let won: usize = std::thread::scope(|sc| {
            let hs: Vec<_> = stores
                .iter()
                .enumerate()
                .map(|(i, st)| {
                    let b = barrier.clone();
                    let p = p.clone();
                    sc.spawn(move || {
                        b.wait();
                        let owner = format!("remote-{i}/1/00");
                        matches!(
                            st.claim(&p, &owner, Some(r.version), 10, 60_000).unwrap(),
                            Claim::Claimed { .. }
                        )
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap() as usize).sum()
        });
        assert_eq!(won, 1, "{name}: exactly one lease");
    }
}

#[test]
fn journal_duplicates_and_counters() {
    let (_serial, list) = backends("journal_duplicates_and_counters");
    for (name, s, _d) in list {
        let key = |sha: &str, flags: &str| UploadKey {
            cif: "14399840".into(),
            environment: "test".into(),
            service: anaf_bridge::store::journal::Service::EFactura,
            standard: "UBL".into(),
            flags: flags.into(),
            sha256: sha.into(),
        };
        let Begin::Send(id) = journal::begin(&s, &key("aa", ""), 10, false, true).unwrap() else {
            panic!("{name}")
        };
        assert!(
            matches!(journal::begin(&s, &key("aa", ""), 10, false, true).unwrap(), Begin::Uncertain(e) if e.id == id),
            "{name}"
        );
        journal::finish(&s, id, State::Uploaded, Some("3828"), None, None).unwrap();
        match journal::begin(&s, &key("aa", ""), 10, false, true).unwrap() {
            Begin::AlreadyUploaded(e) => {
                assert_eq!(
                    (e.id, e.index_incarcare.as_deref(), e.flags.as_str(), e.size),
                    (id, Some("3828"), "", 10),
                    "{name}"
                )
            }
            b => panic!("{name}: {b:?}"),
        }
        assert!(
            matches!(
                journal::begin(&s, &key("aa", "extern"), 10, false, true).unwrap(),
                Begin::Send(_)
            ),
            "{name}: other flags"
        );
        let Begin::Send(forced) = journal::begin(&s, &key("aa", ""), 10, true, false).unwrap()
        else {
            panic!("{name}")
        };
        assert!(forced > id, "{name}: ids grow");
        assert!(journal::get(&s, forced).unwrap().unwrap().forced, "{name}");
        journal::set_last_status(
            &s,
            "14399840",
            anaf_bridge::store::journal::Service::EFactura,
            "3828",
            "ok",
        )
        .unwrap();
        let recent = journal::recent(&s, "14399840", 1).unwrap();
        assert_eq!(recent.len(), 3, "{name}");
        assert_eq!(
            recent
                .iter()
                .find(|e| e.id == id)
                .unwrap()
                .last_status
                .as_deref(),
            Some("ok"),
            "{name}"
        );
        for i in 1..=3 {
            assert_eq!(
                journal::count_call(&s, "descarcare", "14399840/1", 3).unwrap(),
                i,
                "{name}"
            );
        }
        let e = journal::count_call(&s, "descarcare", "14399840/1", 3).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_QUOTA_EXCEEDED, "{name}");
        assert_eq!(
            journal::calls_today(&s, "descarcare", "14399840/1").unwrap(),
            3,
            "{name}"
        );
    }
}

#[test]
fn pending_links() {
    let (_serial, list) = backends("pending_links");
    for (name, s, _d) in list {
        let p = profile("14399840");
        let link = LinkRow {
            link_id: "L1".into(),
            url: "https://erp.example.ro/anaf/l/L1".into(),
            relay_url: "https://erp.example.ro/anaf/".into(),
            secret: Zeroizing::new("s".into()),
            private_key: Zeroizing::new("k".into()),
            expires_at: 1_000,
            sealed_answer: None,
            last_reason: None,
            last_detail: None,
            last_attempt: None,
        };
        s.links().put(&p, &link, 1).unwrap();
        s.links()
            .put(
                &p,
                &LinkRow {
                    link_id: "L2".into(),
                    ..link.clone()
                },
                2,
            )
            .unwrap();
        let got = s.links().load(&p).unwrap().unwrap();
        assert_eq!(
            got.link_id, "L2",
            "{name}: the newer link replaces the older"
        );
        assert!(s.links().claim(&p, "L2", 160, 100).unwrap(), "{name}");
        assert!(
            !s.links().claim(&p, "L2", 170, 110).unwrap(),
            "{name}: claimed by another poller"
        );
        s.links().release(&p, "L2").unwrap();
        assert!(s.links().claim(&p, "L2", 170, 110).unwrap(), "{name}");
        s.links()
            .set_failure(&p, "L2", "oauth", "access_denied", 2)
            .unwrap();
        s.links().set_sealed_answer(&p, "L2", "{\"x\":1}").unwrap();
        let got = s.links().load(&p).unwrap().unwrap();
        assert_eq!(
            (got.last_attempt, got.sealed_answer.as_deref()),
            (Some(2), Some("{\"x\":1}")),
            "{name}"
        );
        s.links().delete(&p, "L2").unwrap();
        assert!(s.links().load(&p).unwrap().is_none(), "{name}");
    }
}

#[test]
fn reopening_finds_the_schema_and_a_newer_one_is_refused() {
    let (_serial, list) = backends("reopening_finds_the_schema_and_a_newer_one_is_refused");
    for (name, s, d) in list {
        let p = profile("14399840");
        s.put(&p, &pair("a1", "r1"), 1).unwrap();
        let v = s.schema_version().unwrap();
        assert_eq!(v, anaf_bridge::store::schema::ANAF_SCHEMA_VERSION, "{name}");
        let reopen = || match (&d, name.as_str()) {
            (Some(d), _) => Store::open(&d.path().join("t.db")),
            (None, "postgresql") => Store::open_odbc(
                &std::env::var("ANAF_TEST_ODBC_POSTGRES").unwrap(),
                Duration::from_secs(5),
            ),
            (None, _) => Store::open_odbc(
                &std::env::var("ANAF_TEST_ODBC_MARIADB").unwrap(),
                Duration::from_secs(5),
            ),
        };
        assert_eq!(
            keyed(reopen().unwrap())
                .load(&p)
                .unwrap()
                .unwrap()
                .access_token,
            "a1",
            "{name}"
        );
        s.run_sql_for_tests("UPDATE anaf_schema SET version = 99")
            .unwrap();
        let e = reopen().err().unwrap();
        assert_eq!(e.status, ANAF_ERR_DATABASE_NEWER, "{name}: {e:?}");
        s.run_sql_for_tests(&format!("UPDATE anaf_schema SET version = {v}"))
            .unwrap();
    }
}

#[test]
fn server_failures_are_clear() {
    let Ok(conn) = std::env::var("ANAF_TEST_ODBC_POSTGRES") else {
        if std::env::var_os("CI").is_some() {
            panic!("ANAF_TEST_ODBC_POSTGRES is not set under CI");
        }
        eprintln!("!!! server_failures_are_clear: PostgreSQL NOT TESTED");
        return;
    };
    let msg = |c: &str| {
        let e = Store::open_odbc(c, Duration::from_secs(2)).err().expect(c);
        (e.status, e.message(Lang::En))
    };
    let (st, m) = msg("Driver={No Such Driver};Server=127.0.0.1;");
    assert_eq!(st, ANAF_ERR_DATABASE);
    assert!(m.contains("bit ODBC driver"), "{m}");
    let (st, m) = msg(&conn.replace("PWD=anaf-test", "PWD=wrong"));
    assert_eq!(st, ANAF_ERR_DATABASE);
    assert!(
        m.contains("refused the user or password") && !m.contains("wrong"),
        "{m}"
    );
    let (st, m) = msg(&conn.replace("Port=", "Port=1"));
    assert_eq!(st, ANAF_ERR_DATABASE);
    assert!(m.contains("does not answer"), "{m}");
}

#[test]
fn tables_a_dba_created_need_no_create_right_and_their_absence_is_explained() {
    let (Ok(dml), Ok(nocreate)) = (
        std::env::var("ANAF_TEST_ODBC_POSTGRES_DML"),
        std::env::var("ANAF_TEST_ODBC_POSTGRES_NOCREATE"),
    ) else {
        if std::env::var_os("CI").is_some() {
            panic!("ANAF_TEST_ODBC_POSTGRES_DML is not set under CI");
        }
        eprintln!("!!! DBA-created tables: PostgreSQL NOT TESTED");
        return;
    };
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    // docs/sql/postgresql.sql run by the DBA; the DLL's user may only read and write.
    let s = keyed(Store::open_odbc(&dml, Duration::from_secs(5)).unwrap());
    let p = profile("14399840");
    s.delete(&p).unwrap();
    s.put(&p, &pair("a1", "r1"), 1).unwrap();
    assert!(matches!(
        s.claim(&p, "me", None, 0, 1000).unwrap(),
        Claim::Claimed { .. }
    ));
    assert!(journal::count_call(&s, "lista", "dba", 1000).unwrap() >= 1);
    // No tables and no right to create them: the message says what the DBA must run.
    let e = Store::open_odbc(&nocreate, Duration::from_secs(5))
        .err()
        .unwrap();
    assert_eq!(e.status, ANAF_ERR_DATABASE, "{e:?}");
    let m = e.message(Lang::En);
    assert!(
        m.contains("docs/sql/postgresql.sql") && m.contains("CREATE TABLE"),
        "{m}"
    );
}

/// Every other session on a PostgreSQL database, dropped by the server (as by a restart or
/// a failover).
fn drop_sessions(conn: &str, db: &str) {
    anaf_bridge::store::odbc::exec_for_tests(
        conn,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid()"),
    )
    .unwrap();
}

#[test]
fn a_dropped_connection_is_replaced_and_a_held_lock_is_reported_as_locked() {
    let (_serial, list) =
        backends("a_dropped_connection_is_replaced_and_a_held_lock_is_reported_as_locked");
    for (name, s, _d) in list {
        if name != "postgresql" {
            continue;
        }
        let conn = std::env::var("ANAF_TEST_ODBC_POSTGRES").unwrap();
        let p = profile("14399840");
        s.put(&p, &pair("a1", "r1"), 1).unwrap();
        // The server drops both of the handle's connections: reads and writes go on.
        drop_sessions(&conn, "anaf");
        assert_eq!(
            s.load(&p).unwrap().unwrap().access_token,
            "a1",
            "{name}: read after the drop"
        );
        drop_sessions(&conn, "anaf");
        assert!(
            matches!(
                s.claim(&p, "me", None, 0, 1000).unwrap(),
                Claim::Claimed { .. }
            ),
            "{name}: write after the drop"
        );
        s.release(&p, "me").unwrap();
        // An ERP transaction holding the token's row past the busy timeout: LOCKED, quickly.
        let held =
            anaf_bridge::store::odbc::HeldLockForTests::hold(&conn, "token/14399840/cid/test")
                .unwrap();
        // A first, short commit attempt waits its own bound, not the store's (5 s here).
        let t = std::time::Instant::now();
        let e = s
            .finish_within(
                Duration::from_millis(300),
                &p,
                "me",
                "r1",
                &pair("a2", "r2"),
                2,
            )
            .unwrap_err();
        assert_eq!(e.status, ANAF_ERR_DATABASE_LOCKED, "{name}: {e:?}");
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "{name}: waited {:?}",
            t.elapsed()
        );
        let short = keyed(Store::open_odbc(&conn, Duration::from_millis(500)).unwrap());
        let t = std::time::Instant::now();
        let e = short.claim(&p, "me", None, 0, 1000).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_DATABASE_LOCKED, "{name}: {e:?}");
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{name}: waited {:?}",
            t.elapsed()
        );
        assert_eq!(
            short.load(&p).unwrap().unwrap().access_token,
            "a1",
            "{name}: reads are not blocked"
        );
        drop(held);
        assert!(matches!(
            short.claim(&p, "me", None, 0, 1000).unwrap(),
            Claim::Claimed { .. }
        ));
    }
}

#[test]
fn a_table_without_some_columns_is_named() {
    let Some(conn) = std::env::var("ANAF_TEST_ODBC_POSTGRES").ok() else {
        if std::env::var_os("CI").is_some() {
            panic!("ANAF_TEST_ODBC_POSTGRES is not set under CI");
        }
        return;
    };
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let db = format!("anaf_cols_{}", std::process::id());
    anaf_bridge::store::odbc::exec_for_tests(&conn, &format!("CREATE DATABASE {db}")).unwrap();
    let other = conn.replace("Database=anaf;", &format!("Database={db};"));
    // An older tool's token table, with other columns.
    anaf_bridge::store::odbc::exec_for_tests(
        &other,
        "CREATE TABLE anaf_token (cif VARCHAR(20), token TEXT)",
    )
    .unwrap();
    let e = Store::open_odbc(&other, Duration::from_secs(5))
        .err()
        .unwrap();
    assert_eq!(e.status, ANAF_ERR_DATABASE, "{e:?}");
    let m = e.message(Lang::En);
    assert!(
        m.contains("table anaf_token is missing or lacks some of its columns"),
        "{m}"
    );
}

#[test]
fn tables_with_the_erps_prefix_and_schema() {
    let (_serial, list) = backends("tables_with_the_erps_prefix_and_schema");
    for (name, plain, _d) in list {
        let (conn, prefix) = match name.as_str() {
            "postgresql" => {
                let c = std::env::var("ANAF_TEST_ODBC_POSTGRES").unwrap();
                anaf_bridge::store::odbc::exec_for_tests(&c, "CREATE SCHEMA IF NOT EXISTS contab")
                    .unwrap();
                (c, "contab.erp_")
            }
            // MariaDB's schemas are databases.
            "mariadb" => {
                let c = std::env::var("ANAF_TEST_ODBC_MARIADB").unwrap();
                anaf_bridge::store::odbc::exec_for_tests(
                    &c,
                    "CREATE DATABASE IF NOT EXISTS anaf_contab",
                )
                .unwrap();
                (c, "anaf_contab.erp_")
            }
            _ => continue,
        };
        let target = anaf_bridge::config::OdbcTarget {
            connection: conn.clone(),
            table_prefix: prefix.into(),
        };
        let s = keyed(
            Store::open_server(&target, Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("{name}: {e:?}")),
        );
        let p = profile("14399840");
        s.delete(&p).unwrap();
        // No lock row left by an earlier run (the store's SQL is prefixed): the one checked
        // below must come from these writes.
        s.run_sql_for_tests("DELETE FROM anaf_lock").unwrap();
        s.put(&p, &pair("a1", "r1"), 1).unwrap();
        assert!(
            matches!(
                s.claim(&p, "me", None, 0, 1000).unwrap(),
                Claim::Claimed { .. }
            ),
            "{name}"
        );
        assert!(
            journal::count_call(&s, "lista", "x", 1000).is_ok(),
            "{name}"
        );
        assert!(
            matches!(
                journal::begin(
                    &s,
                    &UploadKey {
                        cif: p.cif.clone(),
                        environment: "test".into(),
                        service: anaf_bridge::store::journal::Service::EFactura,
                        standard: "UBL".into(),
                        flags: "".into(),
                        sha256: format!("{:x}", rand::random::<u64>()),
                    },
                    1,
                    false,
                    true
                )
                .unwrap(),
                Begin::Send(_)
            ),
            "{name}"
        );
        // The rows are in the prefixed tables, not in the plain ones.
        assert!(
            plain.load(&p).unwrap().is_none(),
            "{name}: nothing in anaf_token"
        );
        let t = prefix.to_string() + "anaf_token";
        plain
            .run_sql_for_tests(&format!(
                "UPDATE {t} SET token_type = 'Bearer' WHERE cif = '14399840'"
            ))
            .unwrap_or_else(|e| panic!("{name}: {t} is where the row is: {e:?}"));
        // The writes serialized on the prefixed lock table, not on a plain anaf_lock.
        let lock = prefix.to_string() + "anaf_lock";
        let rows = plain
            .run_sql_for_tests(&format!(
                "UPDATE {lock} SET touched = touched + 1 WHERE scope = 'token/14399840/cid/test'"
            ))
            .unwrap();
        assert_eq!(rows, 1, "{name}: the token's lock row is in {lock}");
        assert_eq!(
            keyed(Store::open_server(&target, Duration::from_secs(5)).unwrap())
                .load(&p)
                .unwrap()
                .unwrap()
                .access_token,
            "a1"
        );
    }
}

#[test]
fn tokens_are_sealed_on_every_backend_and_the_view_shows_none() {
    let (_serial, list) = backends("tokens_are_sealed_on_every_backend_and_the_view_shows_none");
    for (name, s, d) in list {
        let p = profile("14399840");
        s.put(&p, &pair("access-1", "refresh-1"), 1).unwrap();
        let sql = "SELECT t.access_token, t.refresh_token, t.refresh_hash, v.access_token \
                   FROM anaf_token t JOIN anaf_token_v v ON v.cif = t.cif";
        let row: Vec<Option<String>> = match &d {
            Some(d) => {
                let c = rusqlite::Connection::open(d.path().join("t.db")).unwrap();
                c.query_row(sql, [], |r| {
                    (0..4).map(|i| r.get(i)).collect::<rusqlite::Result<_>>()
                })
                .unwrap()
            }
            None => {
                let var = if name == "postgresql" {
                    "ANAF_TEST_ODBC_POSTGRES"
                } else {
                    "ANAF_TEST_ODBC_MARIADB"
                };
                anaf_bridge::store::odbc::query_for_tests(&std::env::var(var).unwrap(), sql)
                    .unwrap()
                    .remove(0)
            }
        };
        assert!(seal::is_sealed(row[0].as_ref().unwrap()), "{name}: {row:?}");
        assert!(seal::is_sealed(row[1].as_ref().unwrap()), "{name}: {row:?}");
        assert_eq!(row[2], Some(seal::hash("refresh-1")), "{name}");
        assert_eq!(row[3], None, "{name}: the view shows no sealed value");
        assert_eq!(
            s.load(&p).unwrap().unwrap().access_token,
            "access-1",
            "{name}"
        );
    }
}

/// Tables of schema 4 on a server (the first ODBC release) are upgraded in place, and the
/// tokens they hold as they are get sealed, without a new login.
#[test]
fn schema_4_tables_on_a_server_are_upgraded_to_8_and_sealed() {
    use anaf_bridge::store::odbc::{exec_for_tests, query_for_tests};
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    for (name, var) in [
        ("postgresql", "ANAF_TEST_ODBC_POSTGRES"),
        ("mariadb", "ANAF_TEST_ODBC_MARIADB"),
    ] {
        let Ok(conn) = std::env::var(var) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "{var} is not set under CI"
            );
            eprintln!("!!! schema 4 upgrade: {name} NOT TESTED");
            continue;
        };
        let run = |sql: &str| exec_for_tests(&conn, sql).map(|_| ());
        let _ = run("DROP VIEW v4_anaf_token_v");
        for t in [
            "token",
            "schema",
            "upload_journal",
            "call_count",
            "link",
            "lock",
            "inbox",
            "inbox_sync",
            "inbox_pdf",
            "pace",
            "token_cif",
        ] {
            let _ = run(&format!("DROP TABLE v4_anaf_{t}"));
        }
        let target = anaf_bridge::config::OdbcTarget {
            connection: conn.clone(),
            table_prefix: "v4_".into(),
        };
        drop(Store::open_server(&target, Duration::from_secs(5)).unwrap());
        // Back to the shape schema 4 had, with a row as it kept it.
        for st in [
            "DROP VIEW v4_anaf_token_v",
            "ALTER TABLE v4_anaf_token RENAME COLUMN previous_refresh_hash TO previous_refresh_token",
            "ALTER TABLE v4_anaf_token RENAME COLUMN lease_refresh_hash TO lease_refresh_token",
            "ALTER TABLE v4_anaf_token DROP COLUMN refresh_hash",
            "CREATE VIEW v4_anaf_token_v AS SELECT cif, access_token FROM v4_anaf_token",
            "DROP TABLE v4_anaf_inbox",
            "DROP TABLE v4_anaf_inbox_sync",
            "DROP TABLE v4_anaf_inbox_pdf",
            "DROP TABLE v4_anaf_pace",
            "DROP TABLE v4_anaf_token_cif",
            "UPDATE v4_anaf_schema SET version = 4",
            "INSERT INTO v4_anaf_token (cif, client_id, environment, access_token, refresh_token,
                 access_expires_at, refresh_expires_at, obtained_at, previous_refresh_token)
             VALUES ('14399840', 'cid', 'test', 'a0', 'r0', 2000000000, 2100000000, 5, 'r-1')",
        ] {
            run(st).unwrap_or_else(|e| panic!("{name}: {st}: {e}"));
        }
        let s = keyed(
            Store::open_server(&target, Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("{name}: {e:?}")),
        );
        assert_eq!(s.schema_version().unwrap(), 8, "{name}");
        // The inbox (schema 5), its PDFs (schema 6) and the shared pace (7) are there.
        query_for_tests(
            &conn,
            "SELECT i.message_id, p.pdf_bytes, c.next_ms FROM v4_anaf_inbox i
               JOIN v4_anaf_inbox_pdf p ON p.message_id = i.message_id
               JOIN v4_anaf_pace c ON c.scope = i.cif WHERE 1 = 0",
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let p = profile("14399840");
        let row = s.load(&p).unwrap().unwrap();
        assert_eq!(
            (row.access_token.as_str(), row.refresh_token.as_str()),
            ("a0", "r0")
        );
        assert_eq!(row.previous_refresh_hash, Some(seal::hash("r-1")), "{name}");
        let raw = query_for_tests(
            &conn,
            "SELECT t.access_token, t.refresh_token, v.access_token, v.token_cif, s.assigned_by
               FROM v4_anaf_token t JOIN v4_anaf_token_v v ON v.cif = t.cif
               JOIN v4_anaf_token_cif s ON s.cif = t.cif",
        )
        .unwrap()
        .remove(0);
        assert!(seal::is_sealed(raw[0].as_ref().unwrap()), "{name}: {raw:?}");
        assert!(seal::is_sealed(raw[1].as_ref().unwrap()), "{name}: {raw:?}");
        assert_eq!(raw[2], None, "{name}: the upgraded view");
        // Schema 8: the row serves its own company, as the view says.
        assert_eq!(raw[3].as_deref(), Some("14399840"), "{name}: {raw:?}");
        assert_eq!(raw[4].as_deref(), Some("migration"), "{name}: {raw:?}");
        // The refresh protocol works on the upgraded table.
        let Claim::Claimed { .. } = s.claim(&p, "me", None, 0, 1000).unwrap() else {
            panic!("{name}")
        };
        let Finish::Committed(r) = s.finish(&p, "me", "r0", &pair("a1", "r1"), 9).unwrap() else {
            panic!("{name}")
        };
        assert_eq!(r.previous_refresh_hash, Some(seal::hash("r0")), "{name}");
    }
}
