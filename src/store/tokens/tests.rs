#[cfg(target_os = "linux")]
use super::owner::zombie;
use super::*;
use crate::status::*;
use std::time::Duration;

fn profile() -> Profile {
    Profile {
        cif: "14399840".into(),
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
        cert_serial: Some("ABCD".into()),
    }
}

fn temp() -> (tempfile::TempDir, Store) {
    let d = tempfile::tempdir().unwrap();
    let s = keyed(Store::open(&d.path().join("t.db")).unwrap());
    (d, s)
}

pub(crate) fn keyed(s: Store) -> Store {
    s.sealed_with(Some(seal::Sealer::derive("test secret", "client_secret")))
        .unwrap()
}

#[test]
fn put_load_and_versions() {
    let (_d, s) = temp();
    let p = profile();
    assert!(s.load(&p).unwrap().is_none());
    let r = s.put(&p, &pair("a1", "r1"), 100).unwrap();
    assert_eq!(r.version, 1);
    assert_eq!(r.obtained_at, 100);
    let r = s.put(&p, &pair("a2", "r2"), 200).unwrap();
    assert_eq!(r.version, 2);
    assert_eq!(
        r.previous_refresh_hash.as_deref(),
        Some(seal::hash("r1").as_str())
    );
    assert_eq!(s.load(&p).unwrap().unwrap(), r);
    let other = Profile {
        environment: "prod".into(),
        ..profile()
    };
    assert!(s.load(&other).unwrap().is_none());
}

#[test]
fn fast_path_finds_only_a_token_needing_nothing() {
    let (_d, s) = temp();
    let p = profile();
    let f = |now: i64, margin: i64| {
        s.fresh_access_token(&p.cif, &p.client_id, &p.environment, None, now, margin)
            .unwrap()
    };
    assert_eq!(f(1_000_000_000, 100), None, "no row");
    s.put(&p, &pair("a1", "r1"), 1).unwrap();
    assert_eq!(f(1_000_000_000, 100).as_deref(), Some("a1"));
    assert_eq!(f(2_000_000_000 - 100, 100), None, "within the margin");
    assert_eq!(f(2_000_000_000 - 101, 100).as_deref(), Some("a1"));
    assert_eq!(
        f(2_100_000_000, -200_000_000),
        None,
        "refresh token expired"
    );
    // A pair from a refresh that lives less than the margin: refreshed at half its life.
    let short = NewTokens {
        access_expires_at: 1_000_000_000 + 3_600,
        ..pair("a2", "r2")
    };
    let Finish::Committed(_) = s.finish(&p, "me", "r1", &short, 1_000_000_000).unwrap() else {
        panic!()
    };
    assert_eq!(f(1_000_000_000 + 1_700, 14 * 86_400).as_deref(), Some("a2"));
    assert_eq!(f(1_000_000_000 + 1_900, 14 * 86_400), None);
    s.put(&p, &pair("a1", "r1"), 1).unwrap();
    s.sqlite(|c| c.execute("UPDATE anaf_token SET access_expires_at = 'later'", []))
        .unwrap();
    assert_eq!(
        f(1_000_000_000, 100),
        None,
        "a damaged row goes to the slow path"
    );
    s.put(&p, &pair("a1", "r1"), 1).unwrap();
    s.refuse(&p, "me", "r1", "invalid_grant", 5).unwrap();
    assert_eq!(f(1_000_000_000, 100), None, "refresh token refused");
}

#[test]
fn lease_protocol() {
    let (_d, s) = temp();
    let p = profile();
    assert!(matches!(
        s.claim(&p, "me", None, 0, 1000).unwrap(),
        Claim::Missing
    ));
    let r = s.put(&p, &pair("a1", "r1"), 100).unwrap();
    // A version the caller did not see: someone else already refreshed.
    assert!(matches!(
        s.claim(&p, "me", Some(r.version + 7), 0, 1000).unwrap(),
        Claim::Changed(_)
    ));
    let Claim::Claimed { row, interrupted } =
        s.claim(&p, "me", Some(r.version), 1_000, 5_000).unwrap()
    else {
        panic!()
    };
    assert!(!interrupted);
    assert_eq!(
        row.lease_refresh_hash.as_deref(),
        Some(seal::hash("r1").as_str())
    );
    // Another (remote, so presumed alive) owner is told to wait while the lease runs...
    let remote = "other-host/1/00";
    match s.claim(&p, remote, Some(r.version), 2_000, 5_000).unwrap() {
        Claim::Busy { owner, until, .. } => {
            assert_eq!(owner, "me");
            assert_eq!(until, 6_000);
        }
        c => panic!("{c:?}"),
    }
    // ...and takes it over once it lapsed, knowing r1 may have been spent.
    match s.claim(&p, remote, Some(r.version), 7_000, 5_000).unwrap() {
        Claim::Claimed { interrupted, row } => {
            assert!(interrupted);
            assert_eq!(row.lease_owner.as_deref(), Some(remote));
        }
        c => panic!("{c:?}"),
    }
    // The first owner's late answer still lands (the row holds the token it spent).
    let f = s.finish(&p, "me", "r1", &pair("a2", "r2"), 300).unwrap();
    let Finish::Committed(row) = f else {
        panic!("{f:?}")
    };
    assert_eq!(row.version, r.version + 1);
    assert_eq!(row.refresh_token, "r2");
    assert_eq!(
        row.previous_refresh_hash.as_deref(),
        Some(seal::hash("r1").as_str())
    );
    assert_eq!(row.refreshed_at, Some(300));
    assert_eq!(row.lease_owner, None);
    // A second answer for the same spent token is not written over it.
    let f = s.finish(&p, remote, "r1", &pair("a3", "r3"), 301).unwrap();
    let Finish::Superseded(row) = f else {
        panic!("{f:?}")
    };
    assert_eq!(row.refresh_token, "r2");
}

#[test]
fn dead_local_owner_is_taken_over_at_once() {
    let (_d, s) = temp();
    let p = profile();
    let r = s.put(&p, &pair("a1", "r1"), 100).unwrap();
    let host = process_owner().split('/').next().unwrap().to_string();
    // A pid that cannot exist on Linux (above pid_max's ceiling of 2^22) nor on
    // Windows (process ids are multiples of 4).
    let dead = format!("{host}/4194305/00");
    let Claim::Claimed { .. } = s.claim(&p, &dead, Some(r.version), 0, 60_000).unwrap() else {
        panic!()
    };
    match s.claim(&p, "x", Some(r.version), 1, 60_000).unwrap() {
        Claim::Claimed { interrupted, .. } => assert!(interrupted),
        c => panic!("{c:?}"),
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_dead_but_unreaped_holder_is_dead() {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    // Not waited for: once it exits it stays a zombie until reaped.
    let t = std::time::Instant::now();
    while !zombie(child.id()) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the child never became a zombie"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let host = process_owner().split('/').next().unwrap().to_string();
    assert!(!owner_may_be_alive(&format!("{host}/{}/00", child.id())));
    assert!(owner_may_be_alive(&format!("{host}/1/00")), "init is alive");
    child.wait().unwrap();
}

#[test]
fn refuse_marks_only_the_spent_token() {
    let (_d, s) = temp();
    let p = profile();
    s.put(&p, &pair("a1", "r1"), 100).unwrap();
    let row = s
        .refuse(&p, "me", "other", "invalid_grant", 5)
        .unwrap()
        .unwrap();
    assert_eq!(row.refresh_refused_at, None);
    let row = s
        .refuse(&p, "me", "r1", "invalid_grant", 5)
        .unwrap()
        .unwrap();
    assert_eq!(row.refresh_refused_at, Some(5));
    assert_eq!(
        row.refresh_token, "r1",
        "tokens are never deleted by a refusal"
    );
    // A new login clears the mark.
    let row = s.put(&p, &pair("a2", "r2"), 6).unwrap();
    assert_eq!(row.refresh_refused_at, None);
    assert!(s.delete(&p).unwrap());
    assert!(!s.delete(&p).unwrap());
}

#[test]
fn locked_database_is_reported_as_locked() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.db");
    let s = keyed(Store::open_with(&path, Duration::from_millis(200)).unwrap());
    s.put(&profile(), &pair("a1", "r1"), 1).unwrap();
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE;").unwrap();
    let e = s.claim(&profile(), "me", None, 0, 1000).unwrap_err();
    assert_eq!(e.status, ANAF_ERR_DATABASE_LOCKED, "{e:?}");
    // Readers are not blocked by the writer (WAL).
    assert_eq!(s.load(&profile()).unwrap().unwrap().access_token, "a1");
    other.execute_batch("ROLLBACK;").unwrap();
    assert!(matches!(
        s.claim(&profile(), "me", None, 0, 1000).unwrap(),
        Claim::Claimed { .. }
    ));
}

#[test]
fn a_write_waiting_for_a_lock_does_not_hold_up_readers_of_the_same_handle() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.db");
    let s = keyed(Store::open_with(&path, Duration::from_millis(1_500)).unwrap());
    s.put(&profile(), &pair("a1", "r1"), 1).unwrap();
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE;").unwrap();
    let done = AtomicBool::new(false);
    std::thread::scope(|sc| {
        sc.spawn(|| {
            let r = s.claim(&profile(), "me", None, 0, 1000);
            done.store(true, Ordering::SeqCst);
            assert_eq!(r.unwrap_err().status, ANAF_ERR_DATABASE_LOCKED);
        });
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(s.load(&profile()).unwrap().unwrap().access_token, "a1");
        assert!(
            !done.load(Ordering::SeqCst),
            "the read did not wait for the writer"
        );
    });
    other.execute_batch("ROLLBACK;").unwrap();
}

#[test]
fn read_only_database_reads_but_refuses_to_claim() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.db");
    keyed(Store::open(&path).unwrap())
        .put(&profile(), &pair("a1", "r1"), 1)
        .unwrap();
    let ro = keyed(
        Store::open_flags(
            &path,
            Duration::from_millis(200),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap(),
    );
    assert_eq!(ro.load(&profile()).unwrap().unwrap().refresh_token, "r1");
    let e = ro.claim(&profile(), "me", None, 0, 1000).unwrap_err();
    assert_eq!(e.status, ANAF_ERR_DATABASE_READONLY, "{e:?}");
}

#[test]
fn corrupt_row_and_file_are_reported() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.db");
    let s = keyed(Store::open(&path).unwrap());
    s.put(&profile(), &pair("a1", "r1"), 1).unwrap();
    s.sqlite(|c| c.execute("UPDATE anaf_token SET access_expires_at = 'soon'", []))
        .unwrap();
    let e = s.load(&profile()).unwrap_err();
    assert_eq!(e.status, ANAF_ERR_DATABASE_CORRUPT, "{e:?}");
    // Opening the file again works: the damaged row is reported where it is used.
    let again = keyed(Store::open(&path).unwrap());
    let e = again.load(&profile()).unwrap_err();
    assert_eq!(e.status, ANAF_ERR_DATABASE_CORRUPT, "{e:?}");

    let junk = d.path().join("junk.db");
    std::fs::write(&junk, vec![0x5au8; 8192]).unwrap();
    let e = Store::open(&junk).err().unwrap();
    assert_eq!(e.status, ANAF_ERR_DATABASE_CORRUPT, "{e:?}");
    assert_eq!(
        std::fs::read(&junk).unwrap(),
        vec![0x5au8; 8192],
        "left untouched"
    );
}

#[test]
fn newer_file_is_refused_by_open() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.db");
    drop(Store::open(&path).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute("UPDATE anaf_schema SET version = 99", [])
        .unwrap();
    // As a newer DLL might leave it: the rollback journal, not WAL.
    let _: String = c
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .unwrap();
    drop(c);
    let before = std::fs::read(&path).unwrap();
    let e = Store::open(&path).err().unwrap();
    assert_eq!(e.status, ANAF_ERR_DATABASE_NEWER);
    assert!(e.message(crate::status::Lang::En).contains("99"));
    assert!(
        std::fs::read(&path).unwrap() == before,
        "the newer file is left untouched"
    );
    assert!(!d.path().join("t.db-wal").exists());
}

#[test]
fn a_token_table_of_another_program_is_refused_at_open() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.db");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "CREATE TABLE anaf_schema (id INTEGER PRIMARY KEY, version INTEGER NOT NULL);
         INSERT INTO anaf_schema VALUES (1, 4);
         CREATE TABLE anaf_token (cif TEXT, token TEXT);",
    )
    .unwrap();
    drop(c);
    let e = Store::open(&path).err().unwrap();
    assert_eq!(e.status, ANAF_ERR_DATABASE, "{e:?}");
    assert!(
        e.message(crate::status::Lang::En)
            .contains("table anaf_token lacks the columns"),
        "{e:?}"
    );
}

#[test]
fn workstations_opening_a_new_file_together_all_get_it() {
    for _ in 0..5 {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("new.db");
        let barrier = std::sync::Barrier::new(8);
        std::thread::scope(|sc| {
            for _ in 0..8 {
                sc.spawn(|| {
                    barrier.wait();
                    Store::open(&path).map(drop).unwrap();
                });
            }
        });
    }
}

#[test]
fn open_under_another_programs_lock_waits_one_busy_timeout() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.db");
    drop(Store::open(&path).unwrap());
    let other = rusqlite::Connection::open(&path).unwrap();
    let _: String = other
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .unwrap();
    other
        .execute_batch("BEGIN EXCLUSIVE; UPDATE anaf_schema SET version = version;")
        .unwrap();
    let busy = Duration::from_millis(1_500);
    let t = std::time::Instant::now();
    let e = Store::open_with(&path, busy).err().unwrap();
    let waited = t.elapsed();
    assert_eq!(e.status, ANAF_ERR_DATABASE_LOCKED, "{e:?}");
    assert!(
        waited < busy * 3 / 2,
        "waited {waited:?} for a busy timeout of {busy:?}"
    );
    other.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn version_1_file_with_a_row_migrates_forward() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.db");
    {
        let mut c = rusqlite::Connection::open(&path).unwrap();
        super::super::schema::migrate_to(&mut c, 1).unwrap();
        assert_eq!(super::super::schema::version(&c).unwrap(), 1);
        c.execute(
            "INSERT INTO anaf_token (cif, client_id, environment, access_token, refresh_token,
                access_expires_at, refresh_expires_at, obtained_at)
             VALUES ('14399840', 'cid', 'test', 'a1', 'r1', 2000000000, 2100000000, 5)",
            [],
        )
        .unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(
        s.schema_version().unwrap(),
        super::super::schema::ANAF_SCHEMA_VERSION
    );
    let row = s.load(&profile()).unwrap().unwrap();
    assert_eq!(
        (
            row.access_token.as_str(),
            row.version,
            row.token_type.as_str()
        ),
        ("a1", 1, "Bearer")
    );
    let days: i64 = s
        .sqlite(|c| {
            c.query_row("SELECT access_days_left FROM anaf_token_v", [], |r| {
                r.get(0)
            })
        })
        .unwrap();
    assert!(days > 0);
}

fn raw_columns(s: &Store, cols: &str) -> Vec<Option<String>> {
    let n = cols.split(',').count();
    s.sqlite(|c| {
        c.query_row(&format!("SELECT {cols} FROM anaf_token"), [], |r| {
            (0..n)
                .map(|i| r.get(i))
                .collect::<rusqlite::Result<Vec<_>>>()
        })
    })
    .unwrap()
}

#[test]
fn the_table_holds_no_token_and_the_view_shows_none() {
    let (_d, s) = temp();
    let p = profile();
    s.put(&p, &pair("access-1", "refresh-1"), 1).unwrap();
    s.put(&p, &pair("access-2", "refresh-2"), 2).unwrap();
    let Claim::Claimed { .. } = s.claim(&p, "me", None, 0, 1000).unwrap() else {
        panic!()
    };
    let raw = raw_columns(
        &s,
        "access_token, refresh_token, previous_refresh_hash, lease_refresh_hash, refresh_hash",
    );
    for v in raw.iter().flatten() {
        assert!(!v.contains("access-") && !v.contains("refresh-"), "{v}");
    }
    assert!(seal::is_sealed(raw[0].as_ref().unwrap()));
    assert!(seal::is_sealed(raw[1].as_ref().unwrap()));
    assert_eq!(raw[2], Some(seal::hash("refresh-1")));
    assert_eq!(raw[3], Some(seal::hash("refresh-2")));
    assert_eq!(raw[4], Some(seal::hash("refresh-2")));
    let view: Option<String> = s
        .sqlite(|c| c.query_row("SELECT access_token FROM anaf_token_v", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(view, None, "the view shows no sealed value");
    // The file itself has neither token in it anywhere (secure_delete, no plain copy).
    drop(s);
    for f in ["t.db", "t.db-wal"] {
        if let Ok(bytes) = std::fs::read(_d.path().join(f)) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains("refresh-1") && !text.contains("refresh-2"),
                "{f}"
            );
        }
    }
}

#[test]
fn an_access_token_the_erp_opted_in_to_is_readable_and_the_refresh_token_is_not() {
    let d = tempfile::tempdir().unwrap();
    let mut key = seal::Sealer::derive("test secret", "client_secret");
    key.share_access_token = true;
    let s = Store::open(&d.path().join("t.db"))
        .unwrap()
        .sealed_with(Some(key))
        .unwrap();
    s.put(&profile(), &pair("access-1", "refresh-1"), 1)
        .unwrap();
    let raw = raw_columns(&s, "access_token, refresh_token");
    assert_eq!(raw[0].as_deref(), Some("access-1"));
    assert!(seal::is_sealed(raw[1].as_ref().unwrap()));
    let view: Option<String> = s
        .sqlite(|c| c.query_row("SELECT access_token FROM anaf_token_v", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(view.as_deref(), Some("access-1"));
    assert_eq!(
        s.load(&profile()).unwrap().unwrap().refresh_token,
        "refresh-1"
    );
}

#[test]
fn a_schema_4_file_is_sealed_on_first_open_and_its_refresh_goes_on() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.db");
    {
        let mut c = rusqlite::Connection::open(&path).unwrap();
        super::super::schema::migrate_to(&mut c, 4).unwrap();
        // A refresh of r0 in flight by a process on another host, as schema 4 kept it.
        c.execute(
            "INSERT INTO anaf_token (cif, client_id, environment, access_token, refresh_token,
                access_expires_at, refresh_expires_at, obtained_at, previous_refresh_token,
                lease_owner, lease_until, lease_refresh_token)
             VALUES ('14399840', 'cid', 'test', 'a0', 'r0', 2000000000, 2100000000, 5,
                'r-1', 'other-host/1/00', 1, 'r0')",
            [],
        )
        .unwrap();
        c.execute(
            "INSERT INTO anaf_link (cif, client_id, environment, link_id, url, relay_url,
                retrieval_secret, private_key, created_at, expires_at)
             VALUES ('14399840', 'cid', 'test', 'L1', 'u', 'r', 'secret-x', 'key-x', 1, 2)",
            [],
        )
        .unwrap();
    }
    let s = keyed(Store::open(&path).unwrap());
    let raw = raw_columns(
        &s,
        "access_token, refresh_token, previous_refresh_hash, lease_refresh_hash, refresh_hash",
    );
    assert!(seal::is_sealed(raw[0].as_ref().unwrap()), "{raw:?}");
    assert!(seal::is_sealed(raw[1].as_ref().unwrap()), "{raw:?}");
    assert_eq!(raw[2], Some(seal::hash("r-1")));
    assert_eq!(raw[3], Some(seal::hash("r0")));
    assert_eq!(raw[4], Some(seal::hash("r0")));
    let link: (String, String) = s
        .sqlite(|c| {
            c.query_row(
                "SELECT retrieval_secret, private_key FROM anaf_link",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .unwrap();
    assert!(
        seal::is_sealed(&link.0) && seal::is_sealed(&link.1),
        "{link:?}"
    );
    let l = s.links().load(&profile()).unwrap().unwrap();
    assert_eq!(
        (l.secret.as_str(), l.private_key.as_str()),
        ("secret-x", "key-x")
    );
    // The lapsed holder was spending r0: whoever takes over knows it.
    match s.claim(&profile(), "me", None, 10, 1000).unwrap() {
        Claim::Claimed { row, interrupted } => {
            assert!(interrupted);
            assert_eq!(
                (row.access_token.as_str(), row.refresh_token.as_str()),
                ("a0", "r0")
            );
        }
        c => panic!("{c:?}"),
    }
    let Finish::Committed(row) = s
        .finish(&profile(), "me", "r0", &pair("a1", "r1"), 20)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(row.previous_refresh_hash, Some(seal::hash("r0")));
}

#[test]
fn another_key_is_named_and_the_row_stays_as_it_is() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.db");
    keyed(Store::open(&path).unwrap())
        .put(&profile(), &pair("a1", "r1"), 1)
        .unwrap();
    let before = raw_columns(
        &keyed(Store::open(&path).unwrap()),
        "access_token, refresh_token",
    );
    let other = Store::open(&path)
        .unwrap()
        .sealed_with(Some(seal::Sealer::derive(
            "rotated secret",
            "client_secret",
        )))
        .unwrap();
    let e = other.load(&profile()).unwrap_err();
    assert_eq!(e.status, ANAF_ERR_INVALID_CONFIG, "{e:?}");
    assert!(
        e.message(crate::status::Lang::En).contains("another key"),
        "{e:?}"
    );
    assert_eq!(
        other
            .fresh_access_token("14399840", "cid", "test", None, 1_000_000_000, 100)
            .unwrap(),
        None,
        "the fast path leaves it to the slow one, which says why"
    );
    assert!(other.claim(&profile(), "me", None, 0, 1000).is_err());
    assert_eq!(raw_columns(&other, "access_token, refresh_token"), before);
    let nokey = Store::open(&path).unwrap();
    assert_eq!(
        nokey.load(&profile()).unwrap_err().status,
        ANAF_ERR_INVALID_CONFIG
    );
    assert_eq!(
        nokey
            .put(&profile(), &pair("a2", "r2"), 2)
            .unwrap_err()
            .status,
        ANAF_ERR_INVALID_CONFIG,
        "no token is written unsealed"
    );
}

#[test]
fn the_file_is_owner_only_and_deletes_securely() {
    let (d, s) = temp();
    let on: i64 = s
        .sqlite(|c| c.query_row("PRAGMA secure_delete", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(on, 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        s.put(&profile(), &pair("a1", "r1"), 1).unwrap();
        for f in ["t.db", "t.db-wal"] {
            let mode = std::fs::metadata(d.path().join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{f}: {mode:o}");
        }
    }
    let _ = d;
}
