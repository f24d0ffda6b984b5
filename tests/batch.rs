//! `anaf_upload_batch` against the simulator, on every storage backend: the duplicate rules
//! of a single upload for each item, bad items reported without stopping the rest, the
//! outcome of each in its journal row, and a batch killed midway that sends nothing twice.

mod common;

use anaf_bridge::status::*;
use common::*;
use serde_json::{json, Value};
use std::ffi::{c_char, CString};
use std::time::{Duration, Instant};

on_every_backend!(
    a_batch_with_duplicates_bad_files_and_earlier_uploads_sends_each_invoice_once,
    a_batch_killed_midway_sends_nothing_twice_when_run_again,
    the_screen_follows_a_batch_and_may_cancel_it,
    two_processes_batching_at_once_keep_one_rate_together,
    the_states_of_a_batch_are_asked_together,
    transport_declarations_go_through_the_same_batch,
);

const JOB: &str = "ANAF_BATCH_CHILD";
const CONFIG: &str = "ANAF_BATCH_CHILD_CONFIG";
/// The file holding the child's items (too long for the environment).
const ITEMS: &str = "ANAF_BATCH_CHILD_ITEMS";

fn invoice(n: usize) -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/factura_ubl.xml"
    ))
    .unwrap()
    .replace(
        "<cbc:ID>ABR-2026-0001</cbc:ID>",
        &format!("<cbc:ID>LOT-{n:05}</cbc:ID>"),
    )
}

fn batch(c: &CClient, items: &Value, options: Value) -> (i32, Value) {
    let items = CString::new(items.to_string()).unwrap();
    let o = CString::new(options.to_string()).unwrap();
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: live handle, NUL-terminated strings, writable out pointer.
    let rc = unsafe {
        anaf_bridge::ffi::batch::anaf_upload_batch(c.0, items.as_ptr(), o.as_ptr(), &mut out)
    };
    let v = take(out)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    (rc, v)
}

fn upload(c: &CClient, xml: &str) -> i32 {
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: live handle, a buffer of that length, NULL options, writable out pointer.
    let rc = unsafe {
        anaf_bridge::ffi::efactura::anaf_upload(
            c.0,
            xml.as_ptr(),
            xml.len(),
            std::ptr::null(),
            &mut out,
        )
    };
    take(out);
    rc
}

fn uploads_at_anaf(f: &Fixture) -> u64 {
    f.sim.counters().uploads.get(CIF).copied().unwrap_or(0)
}

fn client(f: &Fixture) -> CClient {
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    let c = CClient::open(&f.config(json!({"rate_limit_per_minute": 1000}))).unwrap();
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    c
}

fn a_batch_with_duplicates_bad_files_and_earlier_uploads_sends_each_invoice_once(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let c = client(&f);
    // Invoice 0 went out on its own before; invoice 1's upload got no answer (uncertain).
    assert_eq!(upload(&c, &invoice(0)), ANAF_OK);
    f.sim
        .inject_on("/test/FCTEL/rest/upload", anaf_sim::Fault::Reset, 1);
    assert_eq!(upload(&c, &invoice(1)), ANAF_ERR_NETWORK);
    f.sim.clear_faults();
    let before = uploads_at_anaf(&f);

    let file = f.dir.path().join("f7.xml");
    std::fs::write(&file, invoice(7)).unwrap();
    let mut items: Vec<Value> = (0..20)
        .filter(|&n| n != 7)
        .map(|n| json!({"xml": invoice(n), "ref": format!("FX-{n}")}))
        .collect();
    items.push(json!({"path": file, "ref": "FX-7"}));
    items.push(json!({"xml": invoice(5), "ref": "FX-5 again"}));
    items.push(json!({"path": f.dir.path().join("missing.xml"), "ref": "missing"}));
    items.push(json!({"xml": "<Invoice><unclosed>", "ref": "broken"}));
    let items = Value::Array(items);
    let (rc, v) = batch(&c, &items, json!({"standard": "UBL", "max_in_flight": 4}));
    assert_eq!(rc, ANAF_ERR_BATCH_INCOMPLETE, "{v}");
    assert!(last_error().contains("see \"items\"") || last_error().contains("vedeți"));
    assert_eq!(
        v["counts"],
        json!({"uploaded": 18, "already_uploaded": 1, "uncertain": 1, "duplicate": 1, "invalid": 2}),
        "{v}"
    );
    assert_eq!(
        uploads_at_anaf(&f),
        before + 18,
        "each new invoice sent once"
    );
    let all = v["items"].as_array().unwrap();
    assert_eq!(all.len(), 23);
    for (i, it) in all.iter().enumerate() {
        assert_eq!(it["item"], i, "in the order given: {it}");
        if it["result"] == "uploaded" {
            assert!(it["index_incarcare"].as_str().is_some(), "{it}");
            assert!(it["journal_id"].as_i64().is_some(), "{it}");
        }
    }
    let by_ref = |r: &str| all.iter().find(|it| it["ref"] == r).unwrap().clone();
    assert_eq!(by_ref("FX-0")["result"], "already_uploaded");
    assert_eq!(by_ref("FX-1")["result"], "uncertain");
    assert_eq!(by_ref("FX-7")["result"], "uploaded", "read from its file");
    let again = by_ref("FX-5 again");
    assert_eq!(
        (again["result"].clone(), again["same_as"].clone()),
        (json!("duplicate"), json!(5)),
        "{again}"
    );
    assert_eq!(by_ref("missing")["status"], "ANAF_ERR_FILE");
    assert_eq!(by_ref("broken")["result"], "invalid");

    // The journal has every one of them; the same batch again sends nothing.
    let (rc, v) = batch(&c, &items, json!({}));
    assert_eq!(rc, ANAF_ERR_BATCH_INCOMPLETE, "{v}");
    assert_eq!(
        v["counts"]["already_uploaded"], 20,
        "the duplicate too: {v}"
    );
    assert_eq!(uploads_at_anaf(&f), before + 18);
    // Only what can go: all of it at ANAF answers ANAF_OK.
    let good: Vec<Value> = (2..20).map(|n| json!({"xml": invoice(n)})).collect();
    let (rc, v) = batch(&c, &Value::Array(good), json!({}));
    assert_eq!(
        (rc, v["counts"].clone()),
        (ANAF_OK, json!({"already_uploaded": 18}))
    );
    // Bad lists are refused before anything is written.
    for bad in [
        json!({"xml": "x"}),
        json!([{"xml": "x", "path": "y"}]),
        json!([{"xml": invoice(99), "colour": 1}]),
    ] {
        let (rc, _) = batch(&c, &bad, json!({}));
        assert!(
            rc == ANAF_ERR_INVALID_JSON || rc == ANAF_ERR_INVALID_ARGUMENT,
            "{bad}: {rc}"
        );
    }
    let (rc, _) = batch(&c, &json!([]), json!({"max_in_flight": 0}));
    assert_eq!(rc, ANAF_ERR_INVALID_ARGUMENT);
}

/// The child side: one batch, its answer on stdout.
#[test]
#[ignore]
fn child_main() {
    let Ok(job) = std::env::var(JOB) else { return };
    let c = CClient::open(&std::env::var(CONFIG).unwrap()).unwrap();
    let items = std::fs::read_to_string(std::env::var(ITEMS).unwrap()).unwrap();
    let items: Value = serde_json::from_str(&items).unwrap();
    match job.as_str() {
        "batch" => {
            let (rc, v) = batch(&c, &items, json!({"max_in_flight": 4}));
            println!("RESULT {rc} {v}");
        }
        other => panic!("unknown job {other}"),
    }
}

fn a_batch_killed_midway_sends_nothing_twice_when_run_again(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    // Listed by ANAF as soon as it is taken (the resolve below looks for them there).
    f.sim.set_processing_secs(0);
    let c = client(&f);
    let items = Value::Array((0..40).map(|n| json!({"xml": invoice(n)})).collect());
    f.sim.inject_on(
        "/test/FCTEL/rest/upload",
        anaf_sim::Fault::Latency(Duration::from_millis(150)),
        1000,
    );
    let config = f.config(json!({"rate_limit_per_minute": 1000}));
    let items_file = f.dir.path().join("items.json");
    std::fs::write(&items_file, items.to_string()).unwrap();
    let mut ch = common::child(
        "child_main",
        &[
            (JOB, "batch".into()),
            (CONFIG, config),
            (ITEMS, items_file.display().to_string()),
        ],
    )
    .spawn()
    .expect("child process");
    let t = Instant::now();
    while uploads_at_anaf(&f) < 8 {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the child never uploaded"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    ch.kill().unwrap();
    ch.wait().unwrap();
    f.sim.clear_faults();
    let sent = uploads_at_anaf(&f);
    assert!(sent < 40, "killed midway: {sent}");
    // Run again: what the child recorded is not sent again, whatever state it was left in
    // (uploaded, or sending: uncertain until resolved).
    let (_, v) = batch(&c, &items, json!({}));
    let n = |r: &str| v["counts"][r].as_u64().unwrap_or(0);
    assert_eq!(
        n("uploaded"),
        0,
        "every row was written before the first upload: {v}"
    );
    assert_eq!(n("already_uploaded") + n("uncertain"), 40, "{v}");
    assert!(n("already_uploaded") <= sent, "{v}");
    assert_eq!(uploads_at_anaf(&f), sent, "nothing sent twice");
    // The resolve afterwards (row 0: every uncertain row, one listing): what reached ANAF
    // is found and becomes uploaded; the rest is sent on purpose with force.
    std::thread::sleep(Duration::from_millis(1100));
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: live handle, writable out pointer.
    let rc = unsafe { anaf_bridge::ffi::upload::anaf_upload_resolve(c.0, 0, 2, &mut out) };
    let r: Value = serde_json::from_str(&take(out).unwrap()).unwrap();
    assert_eq!(rc, ANAF_OK, "{r}");
    let found = r["found"].as_u64().unwrap() + n("already_uploaded");
    assert_eq!(found, sent, "every invoice that reached ANAF is found: {r}");
    let downloads = f.sim.counters().downloads;
    assert!(
        downloads.values().all(|&d| d == 1),
        "each candidate downloaded once: {downloads:?}"
    );
    let (_, v) = batch(&c, &items, json!({}));
    let left: Vec<Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|it| it["result"] == "uncertain")
        .map(|it| items[it["item"].as_u64().unwrap() as usize].clone())
        .collect();
    assert_eq!(left.len() as u64, 40 - sent, "{v}");
    let (rc, v) = batch(&c, &Value::Array(left), json!({"force": true}));
    assert_eq!(rc, ANAF_OK, "{v}");
    assert_eq!(uploads_at_anaf(&f), 40, "each invoice at ANAF once");
}

fn poll(c: &CClient) -> (i32, Value) {
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: live handle, writable out pointer.
    let rc = unsafe { anaf_bridge::ffi::batch::anaf_upload_batch_poll(c.0, &mut out) };
    let v = take(out)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    (rc, v)
}

fn begin(c: &CClient, items: &Value, options: Value) -> i32 {
    let items = CString::new(items.to_string()).unwrap();
    let o = CString::new(options.to_string()).unwrap();
    // SAFETY: live handle, NUL-terminated strings.
    unsafe { anaf_bridge::ffi::batch::anaf_upload_batch_begin(c.0, items.as_ptr(), o.as_ptr()) }
}

fn the_screen_follows_a_batch_and_may_cancel_it(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let c = client(&f);
    assert_eq!(poll(&c).0, ANAF_ERR_NO_BATCH);
    let items = Value::Array((0..40).map(|n| json!({"xml": invoice(n)})).collect());
    f.sim.inject_on(
        "/test/FCTEL/rest/upload",
        anaf_sim::Fault::Latency(Duration::from_millis(100)),
        1000,
    );
    // A malformed list is refused at once, nothing begun.
    assert_eq!(
        begin(&c, &json!({"xml": 1}), json!({})),
        ANAF_ERR_INVALID_JSON
    );
    assert_eq!(begin(&c, &items, json!({"max_in_flight": 2})), ANAF_OK);
    assert_eq!(begin(&c, &items, json!({})), ANAF_ERR_BATCH_BUSY);
    let t = Instant::now();
    let mut seen = Vec::new();
    loop {
        let (rc, v) = poll(&c);
        assert_eq!(rc, ANAF_PENDING, "ended before the cancel: {v}");
        let p = v["progress"].clone();
        seen.push(p.clone());
        if p["sent"].as_u64().unwrap() >= 6 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "{v}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: live handle.
    assert_eq!(
        unsafe { anaf_bridge::ffi::batch::anaf_upload_batch_cancel(c.0) },
        ANAF_OK
    );
    let (rc, done) = loop {
        let (rc, v) = poll(&c);
        if rc != ANAF_PENDING {
            break (rc, v);
        }
        assert!(t.elapsed() < Duration::from_secs(60), "{v}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(rc, ANAF_ERR_BATCH_INCOMPLETE, "{done}");
    assert_eq!(done["status"], "done");
    let n = |r: &str| done["counts"][r].as_u64().unwrap_or(0);
    assert!(n("cancelled") > 0 && n("uploaded") >= 6, "{done}");
    assert_eq!(n("cancelled") + n("uploaded"), 40, "{done}");
    assert_eq!(poll(&c).0, ANAF_ERR_NO_BATCH, "the outcome is given once");
    assert!(seen
        .windows(2)
        .all(|w| w[0]["sent"].as_u64() <= w[1]["sent"].as_u64()));
    assert!(seen.iter().all(|p| p["total"] == 40), "{seen:?}");
    // The cancelled ones were never sent: a new batch sends exactly those.
    f.sim.clear_faults();
    let (rc, v) = batch(&c, &items, json!({}));
    assert_eq!(rc, ANAF_OK, "{v}");
    assert_eq!(
        v["counts"]["uploaded"].as_u64(),
        Some(n("cancelled")),
        "{v}"
    );
    assert_eq!(uploads_at_anaf(&f), 40, "each invoice once");
}

/// Two ERPs' batches at once, each process with its own pacer: the pace kept in the database
/// holds them together to the configured rate (120 a minute here: one call every 500 ms).
fn two_processes_batching_at_once_keep_one_rate_together(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let c = client(&f);
    drop(c);
    let config = f.config(json!({"rate_limit_per_minute": 120}));
    let children: Vec<_> = [0..10, 10..20]
        .into_iter()
        .enumerate()
        .map(|(k, range)| {
            let items = Value::Array(range.map(|n| json!({"xml": invoice(n)})).collect());
            let file = f.dir.path().join(format!("items{k}.json"));
            std::fs::write(&file, items.to_string()).unwrap();
            common::child(
                "child_main",
                &[
                    (JOB, "batch".into()),
                    (CONFIG, config.clone()),
                    (ITEMS, file.display().to_string()),
                ],
            )
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("child process")
        })
        .collect();
    // When each upload arrives at the simulator.
    let mut arrivals = Vec::new();
    let mut seen = 0;
    let t = Instant::now();
    while seen < 20 {
        let now = uploads_at_anaf(&f);
        for _ in seen..now {
            arrivals.push(t.elapsed());
        }
        seen = now;
        assert!(t.elapsed() < Duration::from_secs(90), "{seen} uploads");
        std::thread::sleep(Duration::from_millis(5));
    }
    for ch in children {
        let out = ch.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("RESULT 0 "), "{text}");
    }
    // In any second at most 2 starts (and one more for the sampling and the network).
    let most_in_a_second = (0..arrivals.len())
        .map(|i| {
            arrivals[i..]
                .iter()
                .take_while(|a| **a - arrivals[i] < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    assert!(
        most_in_a_second <= 3,
        "{most_in_a_second} uploads within a second: {arrivals:?}"
    );
    assert_eq!(uploads_at_anaf(&f), 20);
}

fn status_batch(c: &CClient, ids: &Value, options: Value) -> (i32, Value) {
    let ids = CString::new(ids.to_string()).unwrap();
    let o = CString::new(options.to_string()).unwrap();
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: live handle, NUL-terminated strings, writable out pointer.
    let rc = unsafe {
        anaf_bridge::ffi::batch::anaf_status_batch(c.0, ids.as_ptr(), o.as_ptr(), &mut out)
    };
    let v = take(out)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    (rc, v)
}

fn the_states_of_a_batch_are_asked_together(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    f.sim.set_processing_secs(1);
    let c = client(&f);
    let items = Value::Array((0..6).map(|n| json!({"xml": invoice(n)})).collect());
    let (rc, v) = batch(&c, &items, json!({}));
    assert_eq!(rc, ANAF_OK, "{v}");
    let ids: Vec<Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["index_incarcare"].clone())
        .collect();
    // At once: still being processed.
    let (rc, v) = status_batch(&c, &Value::Array(ids.clone()), json!({}));
    assert_eq!(rc, ANAF_OK, "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 6);
    assert_eq!(
        v["items"][2]["index_incarcare"], ids[2],
        "in the order given"
    );
    // Waited for: every one final and ok, each asked a few times at most.
    let (rc, v) = status_batch(
        &c,
        &Value::Array(ids.clone()),
        json!({"wait_seconds": 30, "interval_ms": 200, "max_in_flight": 3}),
    );
    assert_eq!(
        (rc, v["counts"].clone()),
        (ANAF_OK, json!({"ok": 6})),
        "{v}"
    );
    assert!(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|it| it["final"] == true && it["checks_today"].as_u64().unwrap() < 20));
    // An index that is not one, and bad lists.
    let (rc, v) = status_batch(&c, &json!([ids[0], "abc"]), json!({}));
    assert_eq!(rc, ANAF_ERR_BATCH_INCOMPLETE, "{v}");
    assert_eq!(v["counts"], json!({"ok": 1, "unknown": 1}), "{v}");
    assert_eq!(v["items"][1]["status"], "ANAF_ERR_INVALID_ARGUMENT", "{v}");
    assert_eq!(
        status_batch(&c, &json!({"a": 1}), json!({})).0,
        ANAF_ERR_INVALID_JSON
    );
    assert_eq!(
        status_batch(&c, &json!([]), json!({"wait_seconds": -1})).0,
        ANAF_ERR_INVALID_ARGUMENT
    );
}

fn declaration(n: usize) -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/etransport_v2.xml"
    ))
    .unwrap()
    .replace(
        "nrVehicul=\"B101ABC\"",
        &format!("nrVehicul=\"B{:03}XYZ\"", n),
    )
}

fn transport_declarations_go_through_the_same_batch(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let c = client(&f);
    // Invoices and declarations in one list; a declaration takes only cif and force.
    let mut items: Vec<Value> = (0..4)
        .map(|n| json!({"xml": declaration(n), "etransport": true, "ref": format!("T{n}")}))
        .collect();
    items.push(json!({"xml": invoice(1), "ref": "F1"}));
    items.push(json!({"xml": declaration(0), "etransport": true, "ref": "T0 again"}));
    let (rc, v) = batch(&c, &Value::Array(items.clone()), json!({"standard": "UBL"}));
    assert_eq!(rc, ANAF_ERR_BATCH_INCOMPLETE, "{v}");
    assert_eq!(v["counts"], json!({"uploaded": 5, "duplicate": 1}), "{v}");
    let t0 = &v["items"][0];
    assert!(t0["UIT"].as_str().is_some_and(|u| !u.is_empty()), "{t0}");
    assert!(v["items"][4]["dateResponse"].is_string(), "{v}");
    let sent = f.sim.counters().etransport_uploads.get(CIF).copied();
    assert_eq!(sent, Some(4), "each declaration once");
    // Again: already there, with the UIT from the journal.
    let (_, v) = batch(&c, &Value::Array(items), json!({}));
    assert_eq!(v["counts"]["already_uploaded"], 6, "{v}");
    assert_eq!(v["items"][0]["UIT"], t0["UIT"], "{v}");
    let (rc, _) = batch(
        &c,
        &json!([{"xml": declaration(9), "etransport": true, "b2c": true}]),
        json!({}),
    );
    assert_eq!(rc, ANAF_ERR_INVALID_ARGUMENT);
}
