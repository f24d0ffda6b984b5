//! The e-Factura inbox against the simulator, through the C API, on every storage backend:
//! a first sync of a realistic inbox (over 500 messages: several pages), incremental runs,
//! a run stopped and one killed in the middle, two processes at once, every message type,
//! bad answers, and the ERP's list, get and acknowledgement.

#[macro_use]
mod common;

use anaf_bridge::status::*;
use common::*;
use serde_json::{json, Value};
use std::ffi::{c_char, CString};
use std::time::{Duration, Instant};

on_every_backend!(
    a_first_sync_brings_everything_once_and_the_next_only_what_is_new,
    a_stopped_or_killed_sync_is_continued_without_downloading_twice,
    two_processes_never_sync_one_company_at_once,
    what_arrives_is_listed_read_and_acknowledged,
    the_screen_follows_a_sync_begun_in_the_background,
    bad_answers_flag_a_message_or_stop_the_run_and_the_next_run_goes_on,
    zips_may_live_in_a_folder_instead_of_the_database,
    odd_archives_are_kept_and_flagged_with_the_reason,
    the_database_going_away_mid_run_stops_it_cleanly_and_the_next_run_goes_on,
);

const ENV: &str = "test";
const JOB: &str = "ANAF_INBOX_CHILD";
const CONFIG: &str = "ANAF_INBOX_CHILD_CONFIG";

fn sync(c: &CClient, options: Value) -> (i32, Value) {
    let o = CString::new(options.to_string()).unwrap();
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: live handle, NUL-terminated options, writable out pointer.
    let rc = unsafe { anaf_bridge::ffi::inbox::anaf_inbox_sync(c.0, o.as_ptr(), &mut out) };
    let v = take(out)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    if rc != ANAF_OK {
        eprintln!("sync: {rc} {}", last_error());
    }
    (rc, v)
}

fn list(c: &CClient, filter: Value) -> Vec<Value> {
    let f = CString::new(filter.to_string()).unwrap();
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: as above.
    let rc = unsafe { anaf_bridge::ffi::inbox::anaf_inbox_list(c.0, f.as_ptr(), &mut out) };
    assert_eq!(rc, ANAF_OK, "{}", last_error());
    let v: Value = serde_json::from_str(&take(out).unwrap()).unwrap();
    v["messages"].as_array().unwrap().clone()
}

fn get(c: &CClient, id: &str, what: &str, path: &std::path::Path) -> Result<Value, (i32, String)> {
    let (id, what) = (CString::new(id).unwrap(), CString::new(what).unwrap());
    let p = CString::new(path.to_str().unwrap()).unwrap();
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: as above.
    let rc = unsafe {
        anaf_bridge::ffi::inbox::anaf_inbox_get(
            c.0,
            id.as_ptr(),
            what.as_ptr(),
            p.as_ptr(),
            &mut out,
        )
    };
    if rc == ANAF_OK {
        Ok(serde_json::from_str(&take(out).unwrap()).unwrap())
    } else {
        Err((rc, last_error()))
    }
}

fn ack(c: &CClient, id: &str, erp_ref: &str) -> i32 {
    let (id, r) = (CString::new(id).unwrap(), CString::new(erp_ref).unwrap());
    // SAFETY: as above.
    unsafe { anaf_bridge::ffi::inbox::anaf_inbox_ack(c.0, id.as_ptr(), r.as_ptr()) }
}

/// A client with a token, the simulator holding `n` received invoices (and what the
/// company sent and had rejected) over 59 days.
fn seeded(f: &Fixture, n: usize) -> CClient {
    // Pages of 50 (ANAF's are 500): paging shown with fewer messages to download.
    f.sim.set_page_size(50);
    f.sim.seed_inbox(ENV, CIF, n, 59);
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    let c = CClient::open(&config(f)).unwrap();
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    c
}

/// The fixture's configuration at ANAF's full rate (the pacer is shared by the process,
/// and the backends run at once).
fn config(f: &Fixture) -> String {
    f.config(json!({"rate_limit_per_minute": 1000}))
}

fn downloads(f: &Fixture) -> (u64, u64) {
    let d = f.sim.counters().downloads;
    (d.values().sum(), d.values().copied().max().unwrap_or(0))
}

fn a_first_sync_brings_everything_once_and_the_next_only_what_is_new(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let c = seeded(&f, 120);
    let (rc, v) = sync(&c, json!({}));
    assert_eq!(rc, ANAF_OK, "{v}");
    // 120 received; 12 sent, 3 of those rejected (every 50th of the received).
    let total = 120 + 12;
    assert_eq!(v["new"], total, "{v}");
    assert_eq!(v["new_by_type"]["FACTURA PRIMITA"], 120, "{v}");
    assert_eq!(v["new_by_type"]["ERORI FACTURA"], 3, "{v}");
    assert_eq!(v["new_by_type"]["FACTURA TRIMISA"], 9, "{v}");
    assert_eq!(v["list_pages"], 3, "{v}");
    assert_eq!(
        (v["downloaded"].clone(), v["left"].clone()),
        (json!(total), json!(0))
    );
    assert_eq!(v["complete"], true);
    assert_eq!(
        (v["calls"].clone(), v["skipped"].clone()),
        (json!(3 + total), json!(0)),
        "three pages and a download each: {v}"
    );
    assert_eq!(
        downloads(&f),
        (total as u64, 1),
        "each message downloaded once"
    );

    // Nothing new: nothing listed as new, nothing downloaded.
    let (rc, v) = sync(&c, json!({}));
    assert_eq!(
        (rc, v["new"].clone(), v["downloaded"].clone()),
        (ANAF_OK, json!(0), json!(0)),
        "{v}"
    );
    assert_eq!(downloads(&f).0, total as u64);

    // Five more arrive: the next run brings exactly those; the hour listed again is
    // skipped, not downloaded.
    f.sim.seed_invoices(ENV, "8000000000", CIF, 5);
    let (rc, v) = sync(&c, json!({}));
    assert_eq!(
        (rc, v["new"].clone(), v["downloaded"].clone()),
        (ANAF_OK, json!(5), json!(5)),
        "{v}"
    );
    assert_eq!(
        v["skipped"].as_u64(),
        v["listed"].as_u64().map(|l| l - 5),
        "{v}"
    );
    assert_eq!(downloads(&f), (total as u64 + 5, 1));
    assert_eq!(v["inbox"]["downloaded"]["FACTURA PRIMITA"], 125, "{v}");
}

/// The child side: one sync, its answer on stdout.
#[test]
#[ignore]
fn child_main() {
    let Ok(job) = std::env::var(JOB) else { return };
    let c = CClient::open(&std::env::var(CONFIG).unwrap()).unwrap();
    match job.as_str() {
        "sync" => {
            let (rc, v) = sync(&c, json!({}));
            println!("RESULT {rc} {v}");
        }
        other => panic!("unknown job {other}"),
    }
}

fn spawn_sync(f: &Fixture) -> std::process::Child {
    common::child("child_main", &[(JOB, "sync".into()), (CONFIG, config(f))])
        .spawn()
        .expect("child process")
}

fn downloaded_rows(c: &CClient) -> usize {
    list(c, json!({"state": "downloaded"})).len()
}

fn a_stopped_or_killed_sync_is_continued_without_downloading_twice(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let c = seeded(&f, 100);
    let total = 100 + 10;
    // Stopped by the ERP's own limit: the rest waits for the next run.
    let (rc, v) = sync(&c, json!({"max_downloads": 40}));
    assert_eq!(
        (rc, v["downloaded"].clone(), v["left"].clone()),
        (ANAF_OK, json!(40), json!(total - 40)),
        "{v}"
    );
    // Stopped by the network: the run says why, the rows stay for the next one.
    f.sim
        .inject_on("/test/FCTEL/rest/descarcare", anaf_sim::Fault::Reset, 3);
    let (rc, v) = sync(&c, json!({}));
    assert_ne!(rc, ANAF_OK, "{v}");
    assert_eq!(v["complete"], false, "{v}");
    assert!(v["stopped"]["status"].as_str().is_some(), "{v}");
    // Killed in the middle of its downloads, by the operating system.
    f.sim.inject_on(
        "/test/FCTEL/rest/descarcare",
        anaf_sim::Fault::Latency(Duration::from_millis(30)),
        1000,
    );
    let mut ch = spawn_sync(&f);
    let before = downloaded_rows(&c);
    let t = Instant::now();
    while downloaded_rows(&c) < before + 20 {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the child never downloaded"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    ch.kill().unwrap();
    ch.wait().unwrap();
    f.sim.clear_faults();
    // The dead child's lease is taken over at once (its process is gone) and the rest comes.
    let (rc, v) = sync(&c, json!({}));
    assert_eq!((rc, v["complete"].clone()), (ANAF_OK, json!(true)), "{v}");
    assert_eq!(v["left"], 0, "{v}");
    assert_eq!(downloaded_rows(&c), total);
    let (sum, most) = downloads(&f);
    // At most the one download in flight when the child was killed is repeated.
    assert!(
        most <= 2 && sum <= total as u64 + 1,
        "{sum} downloads, at most {most} of one"
    );
}

fn two_processes_never_sync_one_company_at_once(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let c = seeded(&f, 60);
    let total = 60 + 6;
    f.sim.inject_on(
        "/test/FCTEL/rest/descarcare",
        anaf_sim::Fault::Latency(Duration::from_millis(40)),
        1000,
    );
    let ch = spawn_sync(&f);
    let t = Instant::now();
    while downloaded_rows(&c) == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the child never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Another workstation is syncing: told so, with nothing spent.
    let (rc, v) = sync(&c, json!({}));
    assert_eq!(rc, ANAF_ERR_SYNC_BUSY, "{v}");
    assert!(
        last_error().contains("synced right now"),
        "{}",
        last_error()
    );
    // Or waits for it, and then finds nothing left to do.
    let (rc, v) = sync(&c, json!({"wait_seconds": 120}));
    assert_eq!(
        (rc, v["new"].clone(), v["downloaded"].clone()),
        (ANAF_OK, json!(0), json!(0)),
        "{v}"
    );
    let out = ch.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("RESULT 0 "), "{text}");
    assert_eq!(
        downloads(&f),
        (total as u64, 1),
        "no message downloaded twice"
    );
    // Threads of one process are kept apart too.
    f.sim.seed_invoices(ENV, "8000000000", CIF, 30);
    let results: Vec<(i32, Value)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2).map(|_| s.spawn(|| sync(&c, json!({})))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok: u64 = results
        .iter()
        .filter(|(rc, _)| *rc == ANAF_OK)
        .map(|(_, v)| v["downloaded"].as_u64().unwrap())
        .sum();
    assert_eq!(ok, 30, "{results:?}");
    assert_eq!(downloads(&f).1, 1);
}

fn what_arrives_is_listed_read_and_acknowledged(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let c = seeded(&f, 60);
    // Listed only, first: two of the company's own uploads get journal rows, as if this
    // DLL had sent them (one ANAF rejected, one it accepted).
    let (rc, v) = sync(&c, json!({"max_downloads": 0}));
    assert_eq!((rc, v["downloaded"].clone()), (ANAF_OK, json!(0)), "{v}");
    let index_of = |t: &str| {
        list(&c, json!({"type": t}))[0]["id_solicitare"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (rejected, accepted) = (index_of("ERORI FACTURA"), index_of("FACTURA TRIMISA"));
    let store = f.store();
    let mut journal_ids = Vec::new();
    for (i, index) in [&rejected, &accepted].into_iter().enumerate() {
        use anaf_bridge::store::journal;
        let key = journal::UploadKey {
            cif: CIF.into(),
            environment: ENV.into(),
            service: anaf_bridge::store::journal::Service::EFactura,
            standard: "UBL".into(),
            flags: String::new(),
            sha256: format!("{i:064}"),
        };
        let journal::Begin::Send(id) = journal::begin(&store, &key, 100, false, true).unwrap()
        else {
            panic!()
        };
        journal::finish(
            &store,
            id,
            journal::State::Uploaded,
            Some(index),
            None,
            None,
        )
        .unwrap();
        journal_ids.push(id);
    }
    let (rc, v) = sync(&c, json!({}));
    assert_eq!(rc, ANAF_OK, "{v}");
    assert_eq!(v["journal_settled"], 2, "{v}");
    let row = |id| {
        anaf_bridge::store::journal::get(&store, id)
            .unwrap()
            .unwrap()
    };
    let r = row(journal_ids[0]);
    assert_eq!(
        (r.state.as_str(), r.last_status.as_deref()),
        ("rejected", Some("nok"))
    );
    assert!(r.detail.as_deref().unwrap().contains("BR-RO-010"), "{r:?}");
    let r = row(journal_ids[1]);
    assert_eq!(
        (r.state.as_str(), r.last_status.as_deref()),
        ("uploaded", Some("ok"))
    );
    let received = list(&c, json!({"type": "FACTURA PRIMITA"}));
    assert_eq!(received.len(), 60);
    for m in &received {
        assert_eq!(m["state"], "downloaded", "{m}");
        assert_eq!(m["parse_error"], Value::Null, "{m}");
        assert!(m["invoice_number"].as_str().is_some(), "{m}");
        assert!(
            m["payable"].as_str().is_some() && m["line_count"].as_i64() >= Some(1),
            "{m}"
        );
        assert_eq!(m["customer_cif"], CIF, "{m}");
        assert_eq!(m["customer_vat"], format!("RO{CIF}"), "{m}");
        assert!(
            m["supplier_name"].as_str().unwrap().starts_with("Furnizor"),
            "{m}"
        );
    }
    let syntaxes: std::collections::BTreeSet<_> = received
        .iter()
        .map(|m| m["syntax"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(syntaxes.len(), 2, "UBL and CII: {syntaxes:?}");
    assert!(received.iter().any(|m| m["doc_kind"] == "credit_note"));
    // Newest first.
    let times: Vec<i64> = received
        .iter()
        .map(|m| m["created_ms"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));
    // ANAF's error messages are kept, not read as invoices.
    let errors = list(&c, json!({"type": "ERORI FACTURA"}));
    assert!(!errors.is_empty());
    assert!(errors
        .iter()
        .all(|m| m["state"] == "downloaded" && m["invoice_number"].is_null()));

    // The parts of one invoice.
    let m = &received[0];
    let id = m["message_id"].as_str().unwrap();
    let xml = f.dir.path().join("f.xml");
    let got = get(&c, id, "xml", &xml).unwrap();
    let text = std::fs::read_to_string(&xml).unwrap();
    assert!(
        text.contains(m["invoice_number"].as_str().unwrap()),
        "{got}"
    );
    assert_eq!(got["message"]["message_id"], id);
    let zip = f.dir.path().join("f.zip");
    get(&c, id, "zip", &zip).unwrap();
    assert!(std::fs::read(&zip).unwrap().starts_with(b"PK"));
    let sig = f.dir.path().join("s.xml");
    get(&c, id, "signature", &sig).unwrap();
    assert!(std::fs::metadata(&sig).unwrap().len() > 0);
    // The PDF: made by ANAF once, then kept; the WAF's page keeps nothing and is
    // tried again on the next ask.
    let pdf = f.dir.path().join("f.pdf");
    let other = received[1]["message_id"].as_str().unwrap();
    f.sim.inject_on(
        "/prod/FCTEL/rest/transformare",
        anaf_sim::Fault::HtmlRejected,
        1,
    );
    assert_eq!(
        get(&c, other, "pdf", &pdf).unwrap_err().0,
        ANAF_ERR_HTML_RESPONSE
    );
    let before = f.sim.counters().pdfs;
    get(&c, other, "pdf", &pdf).unwrap();
    get(&c, id, "pdf", &pdf).unwrap();
    let first = std::fs::read(&pdf).unwrap();
    assert!(first.starts_with(b"%PDF"));
    std::fs::remove_file(&pdf).unwrap();
    get(&c, id, "pdf", &pdf).unwrap();
    assert_eq!(std::fs::read(&pdf).unwrap(), first);
    assert_eq!(
        f.sim.counters().pdfs,
        before + 2,
        "one transformation per invoice"
    );
    assert_eq!(
        get(&c, "123", "xml", &xml).unwrap_err().0,
        ANAF_ERR_NO_MESSAGE
    );
    assert_eq!(
        get(&c, id, "docx", &xml).unwrap_err().0,
        ANAF_ERR_INVALID_ARGUMENT
    );

    // Imported once: acknowledged, it leaves the "not imported" list.
    let before = list(&c, json!({"type": "FACTURA PRIMITA", "not_imported": true})).len();
    assert_eq!(ack(&c, id, "NIR 77"), ANAF_OK);
    let after = list(&c, json!({"type": "FACTURA PRIMITA", "not_imported": true}));
    assert_eq!(after.len(), before - 1);
    assert!(after.iter().all(|m| m["message_id"] != id));
    assert_eq!(
        list(&c, json!({"state": "downloaded", "limit": 1})).len(),
        1
    );
    let one = list(&c, json!({"type": "FACTURA PRIMITA"}));
    let acked = one.iter().find(|m| m["message_id"] == id).unwrap();
    assert_eq!(acked["erp_ref"], "NIR 77");
    assert_eq!(ack(&c, "123", "x"), ANAF_ERR_NO_MESSAGE);
    // Filters are checked.
    let bad = CString::new(r#"{"tip": "x"}"#).unwrap();
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: live handle, NUL-terminated filter, writable out pointer.
    let rc = unsafe { anaf_bridge::ffi::inbox::anaf_inbox_list(c.0, bad.as_ptr(), &mut out) };
    assert_ne!(rc, ANAF_OK);
    assert!(last_error().contains("tip"), "{}", last_error());
}

fn poll(c: &CClient) -> (i32, Value) {
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: live handle, writable out pointer.
    let rc = unsafe { anaf_bridge::ffi::inbox::anaf_inbox_sync_poll(c.0, &mut out) };
    let v = take(out)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    (rc, v)
}

fn begin(c: &CClient) -> i32 {
    // SAFETY: live handle; NULL options.
    unsafe { anaf_bridge::ffi::inbox::anaf_inbox_sync_begin(c.0, std::ptr::null()) }
}

fn the_screen_follows_a_sync_begun_in_the_background(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let c = seeded(&f, 50);
    let total = 50 + 5;
    assert_eq!(poll(&c).0, ANAF_ERR_NO_SYNC);
    f.sim.inject_on(
        "/test/FCTEL/rest/descarcare",
        anaf_sim::Fault::Latency(Duration::from_millis(20)),
        1000,
    );
    let t = Instant::now();
    assert_eq!(begin(&c), ANAF_OK, "{}", last_error());
    assert_eq!(begin(&c), ANAF_ERR_SYNC_BUSY, "one at a time per handle");
    let mut seen = Vec::new();
    let (rc, done) = loop {
        let (rc, v) = poll(&c);
        if rc != ANAF_PENDING {
            break (rc, v);
        }
        assert_eq!(v["status"], "running", "{v}");
        seen.push(v["progress"].clone());
        assert!(t.elapsed() < Duration::from_secs(120), "never ended: {v}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(rc, ANAF_OK, "{done}");
    assert_eq!(
        (done["status"].clone(), done["downloaded"].clone()),
        (json!("done"), json!(total))
    );
    // The screen saw the downloads go up, within the total.
    let during: Vec<u64> = seen
        .iter()
        .filter(|p| p["phase"] == "downloading")
        .map(|p| p["downloaded"].as_u64().unwrap())
        .collect();
    assert!(
        during.len() >= 2 && during.windows(2).all(|w| w[0] <= w[1]),
        "{seen:?}"
    );
    assert!(seen
        .iter()
        .all(|p| p["downloaded"].as_u64() <= p["total"].as_u64().or(Some(total as u64))));
    assert!(seen.iter().any(|p| p["total"] == total), "{seen:?}");
    // The outcome is given once.
    assert_eq!(poll(&c).0, ANAF_ERR_NO_SYNC);
    assert_eq!(downloads(&f), (total as u64, 1));
}

fn bad_answers_flag_a_message_or_stop_the_run_and_the_next_run_goes_on(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    // An empty inbox ("Nu exista mesaje…") is a complete run with nothing new.
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    let c = CClient::open(&config(&f)).unwrap();
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    let (rc, v) = sync(&c, json!({}));
    assert_eq!(
        (rc, v["new"].clone(), v["complete"].clone()),
        (ANAF_OK, json!(0), json!(true)),
        "{v}"
    );
    assert_eq!(v["list_calls_left_today"], 100_000 - 1, "{v}");

    // Arriving now (a run lists again only the last hour before its previous end).
    f.sim.seed_invoices(ENV, "8000000000", CIF, 22);
    let total = 22;
    let dl = "/test/FCTEL/rest/descarcare";
    let body = |ct: &str, b: &str| anaf_sim::Fault::Body {
        content_type: ct.into(),
        body: b.as_bytes().to_vec(),
    };
    // A ZIP that is not a ZIP: that message is flagged, the others come.
    f.sim
        .inject_on(dl, body("application/zip", "this is not a zip"), 1);
    let (rc, v) = sync(&c, json!({}));
    assert_eq!(
        (rc, v["downloaded"].clone(), v["failed"].clone()),
        (ANAF_OK, json!(total - 1), json!(1)),
        "{v}"
    );
    let bad = list(&c, json!({"state": "failed"}));
    assert_eq!(bad.len(), 1);
    assert!(
        bad[0]["last_error"].as_str().unwrap().contains("ZIP"),
        "{}",
        bad[0]
    );
    // ANAF's daily quota for that message: flagged again, with ANAF's words.
    f.sim.inject_on(
        dl,
        body(
            "application/json",
            r#"{"eroare":"S-au facut deja 10 descarcari de mesaj in cursul zilei","titlu":"Descarcare mesaj"}"#,
        ),
        1,
    );
    let (rc, v) = sync(&c, json!({}));
    assert_eq!((rc, v["failed"].clone()), (ANAF_OK, json!(1)), "{v}");
    let bad = list(&c, json!({"state": "failed"}));
    assert!(
        bad[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("S-au facut deja"),
        "{}",
        bad[0]
    );
    assert_eq!(bad[0]["attempts"], 2);
    // The firewall's HTML page: the run stops and says so; nothing is flagged.
    f.sim.inject_on(dl, anaf_sim::Fault::HtmlRejected, 1);
    let (rc, v) = sync(&c, json!({}));
    assert_eq!(rc, ANAF_ERR_HTML_RESPONSE, "{v}");
    assert_eq!(
        (v["complete"].clone(), v["stopped"]["status"].clone()),
        (json!(false), json!("ANAF_ERR_HTML_RESPONSE")),
        "{v}"
    );
    assert_eq!(list(&c, json!({"state": "failed"}))[0]["attempts"], 2);
    // The next run goes on: everything is in.
    let (rc, v) = sync(&c, json!({}));
    assert_eq!(
        (rc, v["downloaded"].clone(), v["left"].clone()),
        (ANAF_OK, json!(1), json!(0)),
        "{v}"
    );
    assert_eq!(list(&c, json!({"state": "downloaded"})).len(), total);
    assert_eq!(downloads(&f), (total as u64, 1));

    // Messages that appear with an older creation time than the last hour listed are not
    // in the incremental window (here only the newest received one and ANAF's error list
    // are); "since" lists a longer one again.
    f.sim.seed_inbox(ENV, CIF, 10, 5);
    let (rc, v) = sync(&c, json!({}));
    assert_eq!((rc, v["new"].clone()), (ANAF_OK, json!(2)), "{v}");
    let since = (chrono::Utc::now() - chrono::Duration::days(6))
        .format("%Y-%m-%d")
        .to_string();
    let (rc, v) = sync(&c, json!({ "since": since }));
    assert_eq!(
        (rc, v["new"].clone(), v["downloaded"].clone()),
        (ANAF_OK, json!(9), json!(9)),
        "{v}"
    );
}

fn zips_may_live_in_a_folder_instead_of_the_database(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    f.sim.seed_invoices(ENV, "8000000000", CIF, 12);
    let folder = f.dir.path().join("inbox");
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    let c = CClient::open(&f.config(json!({
        "rate_limit_per_minute": 1000, "inbox_folder": folder
    })))
    .unwrap();
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    let (rc, v) = sync(&c, json!({}));
    assert_eq!((rc, v["downloaded"].clone()), (ANAF_OK, json!(12)), "{v}");
    let dir = folder.join(CIF).join(ENV);
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(files.len(), 12, "{dir:?}");
    let rows = list(&c, json!({}));
    for m in &rows {
        let file = m["zip_file"].as_str().unwrap();
        assert!(std::fs::read(file).unwrap().starts_with(b"PK"), "{m}");
        assert!(m["invoice_number"].as_str().is_some(), "{m}");
    }
    let xml = f.dir.path().join("one.xml");
    get(&c, rows[0]["message_id"].as_str().unwrap(), "xml", &xml).unwrap();
    let number = rows[0]["invoice_number"].as_str().unwrap();
    assert!(std::fs::read_to_string(&xml).unwrap().contains(number));
    // Its PDF is kept next to its ZIP.
    let id = rows[0]["message_id"].as_str().unwrap();
    get(&c, id, "pdf", &f.dir.path().join("one.pdf")).unwrap();
    let kept = std::fs::read(dir.join(format!("{id}.pdf"))).unwrap();
    assert!(kept.starts_with(b"%PDF"));
}

/// A ZIP as ANAF's `descarcare` gives it, with these entries.
fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(text.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn odd_archives_are_kept_and_flagged_with_the_reason(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let c = seeded(&f, 8);
    // The next four downloads (oldest first) get these archives instead of ANAF's.
    let ubl_in = |ns: &str| {
        format!(
            r#"<?xml version="1.0"?><Invoice xmlns="{ns}" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"><cbc:ID>X-1</cbc:ID></Invoice>"#
        )
    };
    let odd = [
        // No invoice XML, only ANAF's signature.
        zip_of(&[("semnatura_1.xml", "<Signature/>")]),
        // XML that is not an invoice.
        zip_of(&[(
            "1.xml",
            "<Order xmlns=\"urn:example:order\"><ID>7</ID></Order>",
        )]),
        // An invoice in a namespace nobody expected.
        zip_of(&[("1.xml", &ubl_in("urn:example:not-ubl:Invoice"))]),
        // XML that does not parse.
        zip_of(&[("1.xml", "<Invoice><cbc:ID>unclosed")]),
    ];
    for z in &odd {
        f.sim.inject_on(
            "/test/FCTEL/rest/descarcare",
            anaf_sim::Fault::Body {
                content_type: "application/zip".into(),
                body: z.clone(),
            },
            1,
        );
    }
    let (rc, v) = sync(&c, json!({}));
    assert_eq!((rc, v["failed"].clone()), (ANAF_OK, json!(0)), "{v}");
    // Every message is kept (downloaded); the odd ones say why they could not be read.
    let rows = list(&c, json!({"type": "FACTURA PRIMITA"}));
    let mut errors: Vec<String> = rows
        .iter()
        .filter_map(|m| m["parse_error"].as_str().map(str::to_string))
        .collect();
    errors.sort();
    assert_eq!(errors.len(), 4, "{rows:?}");
    assert!(rows.iter().all(|m| m["state"] == "downloaded"), "{rows:?}");
    let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
    assert!(has("nu conține XML-ul mesajului"), "{errors:?}");
    assert!(has("{urn:example:order}Order"), "{errors:?}");
    assert!(has("{urn:example:not-ubl:Invoice}Invoice"), "{errors:?}");
    assert!(has("XML-ul nu poate fi citit"), "{errors:?}");
    // The others were read.
    assert!(rows
        .iter()
        .filter(|m| m["parse_error"].is_null())
        .all(|m| m["invoice_number"].is_string()));
    // A message kept unread still gives its ZIP, as ANAF sent it.
    let flagged = rows.iter().find(|m| m["parse_error"].is_string()).unwrap();
    let out = f.dir.path().join("odd.zip");
    get(&c, flagged["message_id"].as_str().unwrap(), "zip", &out).unwrap();
    assert!(odd.contains(&std::fs::read(&out).unwrap()));
}

/// The database goes away while a run downloads: the SQLite file locked by another program
/// past the wait, or every session of the server's database dropped (a restart, a failover).
/// The run ends with a clear status or carries on over new connections; the next run
/// completes, and no message is downloaded twice but the one in flight.
fn the_database_going_away_mid_run_stops_it_cleanly_and_the_next_run_goes_on(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let c = seeded(&f, 40);
    f.sim.inject_on(
        "/test/FCTEL/rest/descarcare",
        anaf_sim::Fault::Latency(Duration::from_millis(100)),
        1000,
    );
    assert_eq!(begin(&c), ANAF_OK, "{}", last_error());
    let t = Instant::now();
    let progressed = || {
        let (rc, v) = poll(&c);
        assert_eq!(rc, ANAF_PENDING, "ended too soon: {v}");
        v["progress"]["downloaded"].as_u64().unwrap_or(0) >= 3
    };
    while !progressed() {
        assert!(t.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(20));
    }
    let (rc, first) = match &f.odbc {
        None => {
            // Another program holds the file past the DLL's wait (10 s).
            let other = rusqlite::Connection::open(f.db()).unwrap();
            other.execute_batch("BEGIN EXCLUSIVE;").unwrap();
            let end = loop {
                let (rc, v) = poll(&c);
                if rc != ANAF_PENDING {
                    break (rc, v);
                }
                assert!(t.elapsed() < Duration::from_secs(90), "never ended: {v}");
                std::thread::sleep(Duration::from_millis(100));
            };
            other.execute_batch("COMMIT;").unwrap();
            end
        }
        Some(conn) => {
            for _ in 0..3 {
                drop_sessions(b, conn);
                std::thread::sleep(Duration::from_millis(150));
            }
            loop {
                let (rc, v) = poll(&c);
                if rc != ANAF_PENDING {
                    break (rc, v);
                }
                assert!(t.elapsed() < Duration::from_secs(90), "never ended: {v}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    if f.odbc.is_none() {
        assert_eq!(rc, ANAF_ERR_DATABASE_LOCKED, "{first}");
        assert_eq!(first["complete"], false, "{first}");
        assert!(
            first["stopped"]["message"].as_str().is_some(),
            "the reason is in the answer: {first}"
        );
    } else {
        // The DLL reconnects: the run goes on, or stops with the database's status.
        assert!(
            rc == ANAF_OK || rc == ANAF_ERR_DATABASE || rc == ANAF_ERR_DATABASE_LOCKED,
            "{rc} {first}"
        );
    }
    f.sim.clear_faults();
    let (rc, v) = sync(&c, json!({}));
    assert_eq!((rc, v["complete"].clone()), (ANAF_OK, json!(true)), "{v}");
    let total = list(&c, json!({})).len();
    assert_eq!(downloaded_rows(&c), total);
    let d = f.sim.counters().downloads;
    let twice = d.values().filter(|&&n| n == 2).count();
    assert!(
        d.len() == total && d.values().all(|&n| n <= 2) && twice <= 1,
        "{twice} downloaded twice: {d:?}"
    );
}
