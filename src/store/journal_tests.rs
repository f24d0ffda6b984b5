use super::*;

fn key(sha: &str) -> UploadKey {
    UploadKey {
        cif: "14399840".into(),
        environment: "test".into(),
        service: Service::EFactura,
        standard: "UBL".into(),
        flags: "".into(),
        sha256: sha.into(),
    }
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("j.db")).unwrap();
    (dir, s)
}

#[test]
fn uploaded_blocks_a_second_send_until_forced() {
    let (_d, s) = store();
    let Begin::Send(id) = begin(&s, &key("aa"), 10, false, true).unwrap() else {
        panic!()
    };
    finish(&s, id, State::Uploaded, Some("3828"), None, None).unwrap();
    match begin(&s, &key("aa"), 10, false, true).unwrap() {
        Begin::AlreadyUploaded(e) => {
            assert_eq!(e.index_incarcare.as_deref(), Some("3828"));
            assert_eq!(e.id, id);
        }
        other => panic!("{other:?}"),
    }
    // Another document, another standard or flags: not the same upload.
    assert!(matches!(
        begin(&s, &key("bb"), 10, false, true).unwrap(),
        Begin::Send(_)
    ));
    let mut k = key("aa");
    k.flags = "extern".into();
    assert!(matches!(
        begin(&s, &k, 10, false, true).unwrap(),
        Begin::Send(_)
    ));
    let Begin::Send(forced) = begin(&s, &key("aa"), 10, true, true).unwrap() else {
        panic!()
    };
    assert!(get(&s, forced).unwrap().unwrap().forced);
}

#[test]
fn no_answer_and_crash_are_uncertain_rejected_and_failed_are_not() {
    let (_d, s) = store();
    // A crash between begin and finish leaves "sending".
    let Begin::Send(_) = begin(&s, &key("c1"), 1, false, true).unwrap() else {
        panic!()
    };
    assert!(
        matches!(begin(&s, &key("c1"), 1, false, true).unwrap(), Begin::Uncertain(e) if e.state == "sending")
    );
    let Begin::Send(id) = begin(&s, &key("c2"), 1, false, true).unwrap() else {
        panic!()
    };
    finish(&s, id, State::Unknown, None, None, Some("timeout")).unwrap();
    assert!(
        matches!(begin(&s, &key("c2"), 1, false, true).unwrap(), Begin::Uncertain(e) if e.detail.as_deref() == Some("timeout"))
    );
    for st in [State::Rejected, State::Failed] {
        let k = key(st.as_str());
        let Begin::Send(id) = begin(&s, &k, 1, false, true).unwrap() else {
            panic!()
        };
        finish(&s, id, st, None, None, None).unwrap();
        assert!(matches!(
            begin(&s, &k, 1, false, true).unwrap(),
            Begin::Send(_)
        ));
    }
}

#[test]
fn journal_survives_reopening_and_tracks_status() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    {
        let s = Store::open(&path).unwrap();
        let Begin::Send(id) = begin(&s, &key("dd"), 5, false, true).unwrap() else {
            panic!()
        };
        finish(&s, id, State::Uploaded, Some("77"), None, None).unwrap();
        set_last_status(&s, "14399840", Service::EFactura, "77", "ok").unwrap();
    }
    let s = Store::open(&path).unwrap();
    let rows = recent(&s, "14399840", 1).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].last_status.as_deref(), Some("ok"));
    assert!(matches!(
        begin(&s, &key("dd"), 5, false, true).unwrap(),
        Begin::AlreadyUploaded(_)
    ));
}

#[test]
fn tables_come_back_if_the_database_lost_them() {
    let (_d, s) = store();
    assert!(matches!(
        begin(&s, &key("e1"), 1, false, true).unwrap(),
        Begin::Send(_)
    ));
    s.sqlite(|c| {
        c.execute_batch(
            "DROP TABLE anaf_upload_journal; DROP TABLE anaf_call_count; DROP TABLE anaf_link;",
        )
    })
    .unwrap();
    assert!(matches!(
        begin(&s, &key("e1"), 1, false, true).unwrap(),
        Begin::Send(_)
    ));
    assert_eq!(count_call(&s, "lista", "x", 5).unwrap(), 1);
    let link: i64 = s
        .sqlite(|c| {
            c.query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'anaf_link'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(link, 1, "the browser-link table comes back with the others");
}

#[test]
fn relaxed_writes_leave_the_connection_at_full() {
    let (_d, s) = store();
    // The setting of the connection that writes, read inside one of its transactions.
    let sync = |s: &Store| {
        s.write(Write::durable(), |c| {
            c.query_row("PRAGMA synchronous", &[])?.unwrap().int(0)
        })
        .unwrap()
    };
    assert_eq!(sync(&s), 2);
    let Begin::Send(id) = begin(&s, &key("r1"), 1, false, false).unwrap() else {
        panic!()
    };
    assert_eq!(sync(&s), 2, "after a relaxed begin");
    finish(&s, id, State::Uploaded, Some("9"), None, None).unwrap();
    count_call(&s, "lista", "x", 5).unwrap();
    set_last_status(&s, "14399840", Service::EFactura, "9", "ok").unwrap();
    assert_eq!(sync(&s), 2, "after finish, counters and status");
    // A failure inside the transaction rolls it back and leaves no transaction open:
    // the next one begins.
    let e = s
        .write(Write::relaxed(), |c| {
            c.execute("INSERT INTO nowhere VALUES (1)", &[])
        })
        .unwrap_err();
    assert_eq!(e.status, ANAF_ERR_DATABASE, "{e:?}");
    let Begin::Send(_) = begin(&s, &key("r2"), 1, false, true).unwrap() else {
        panic!()
    };
    assert_eq!(sync(&s), 2);
}

#[test]
fn counters_stop_at_the_limit() {
    let (_d, s) = store();
    for i in 1..=3 {
        assert_eq!(count_call(&s, "descarcare", "14399840/1", 3).unwrap(), i);
    }
    let e = count_call(&s, "descarcare", "14399840/1", 3).unwrap_err();
    assert_eq!(e.status, ANAF_ERR_QUOTA_EXCEEDED);
    assert_eq!(calls_today(&s, "descarcare", "14399840/1").unwrap(), 3);
    assert_eq!(count_call(&s, "descarcare", "14399840/2", 3).unwrap(), 1);
}

#[test]
fn anaf_day_follows_romanian_time() {
    let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    // Winter: UTC+2.
    assert_eq!(
        anaf_day(t("2026-01-15T21:59:00Z")).to_string(),
        "2026-01-15"
    );
    assert_eq!(
        anaf_day(t("2026-01-15T22:00:00Z")).to_string(),
        "2026-01-16"
    );
    // Summer: UTC+3.
    assert_eq!(
        anaf_day(t("2026-07-15T20:59:00Z")).to_string(),
        "2026-07-15"
    );
    assert_eq!(
        anaf_day(t("2026-07-15T21:00:00Z")).to_string(),
        "2026-07-16"
    );
    // 2026: DST from 29 March 01:00 UTC to 25 October 01:00 UTC.
    assert_eq!(
        anaf_day(t("2026-03-29T00:59:00Z")).to_string(),
        "2026-03-29"
    );
    assert_eq!(
        anaf_day(t("2026-03-28T21:30:00Z")).to_string(),
        "2026-03-28"
    );
    assert_eq!(
        anaf_day(t("2026-10-24T21:30:00Z")).to_string(),
        "2026-10-25"
    );
}
