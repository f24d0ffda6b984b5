//! e-Factura under faults injected in the simulator: 5xx and resets (retried only where
//! safe), the upload whose answer never came (timeout, reset, crash) and the journal that
//! refuses to send it again blindly, the WAF's HTML page, the refreshed token after a 401.
//! (429 and daily quotas, which pause the process-wide pacer, are in efactura_limits.rs.)

mod common;
#[path = "fixtures/svc.rs"]
mod svc;

use anaf_bridge::status::*;
use anaf_sim::Fault;
use common::{Fixture, CIF};
use serde_json::json;
use std::time::Duration;
use svc::*;

const LIST: &str = "/test/FCTEL/rest/listaMesajeFactura";
const UPLOAD: &str = "/test/FCTEL/rest/upload";

#[test]
fn reads_are_retried_on_5xx_and_resets_within_a_bound() {
    let fx = Fixture::new();
    let cl = client(&fx, json!({}));

    fx.sim.inject_on(LIST, Fault::Status(503), 2);
    let (rc, v, err) = list(&cl, 3, None);
    assert_eq!(rc, ANAF_OK, "two 503 then the answer: {err}");
    assert!(v.unwrap()["mesaje"].is_array());

    fx.sim.inject_on(LIST, Fault::Reset, 1);
    let (rc, _, err) = list(&cl, 3, None);
    assert_eq!(rc, ANAF_OK, "a reset read is repeated: {err}");
    assert_eq!(fx.sim.counters().faults_fired, 3);

    // A server that keeps failing: three attempts, then the status and the page's words.
    fx.sim.inject_on(LIST, Fault::Status(500), 10);
    let before = fx.sim.counters().faults_fired;
    let (rc, v, err) = list(&cl, 3, None);
    assert_eq!(rc, ANAF_ERR_HTTP, "{err}");
    assert!(v.is_none());
    assert!(
        err.contains("500") && err.contains("Internal Server Error"),
        "{err}"
    );
    assert_eq!(
        fx.sim.counters().faults_fired - before,
        3,
        "bounded retries"
    );
    fx.sim.clear_faults();
}

#[test]
fn an_upload_is_not_repeated_after_a_5xx_or_a_reset() {
    let fx = Fixture::new();
    let cl = client(&fx, json!({}));
    let xml = invoice_numbered("6001");

    // A gateway error: the upload is not repeated automatically; ANAF did not take it,
    // so the next try sends it.
    fx.sim.inject_on(UPLOAD, Fault::Status(502), 1);
    let (rc, _, err) = upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_ERR_HTTP, "{err}");
    assert_eq!(fx.sim.counters().faults_fired, 1, "not retried");
    let (rc, _, err) = upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_OK, "{err}");
    assert_eq!(uploads(&fx), 1);

    // A reset after the request went out: the outcome is unknown, so a second upload of
    // the same document is not sent but reported.
    let xml = invoice_numbered("6002");
    fx.sim.inject_on(UPLOAD, Fault::Reset, 1);
    let (rc, _, err) = upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_ERR_NETWORK, "{err}");
    assert!(
        err.contains("unknown"),
        "the message says what the journal keeps: {err}"
    );
    let requests = fx.sim.counters().requests;
    let (rc, v, err) = upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_ERR_UPLOAD_UNCERTAIN, "{err}");
    assert_eq!(fx.sim.counters().requests, requests, "not sent");
    let v = v.expect("the JSON is given with the uncertain status");
    assert_eq!(v["result"], "uncertain");
    assert_eq!(v["journal"]["state"], "unknown");
    assert!(err.contains("force") && err.contains("list"), "{err}");
    // The caller checked the list: it is not there; force sends it.
    let (rc, v, err) = upload(&cl, &xml, Some(r#"{"force":true}"#));
    assert_eq!(rc, ANAF_OK, "{err}");
    assert_eq!(v.unwrap()["result"], "uploaded");
    assert_eq!(uploads(&fx), 2);
}

#[test]
fn a_timed_out_upload_is_reported_not_resent_until_checked_and_forced() {
    let fx = Fixture::new();
    fx.sim.set_processing_secs(0);
    let cl = client(&fx, json!({ "timeout_seconds": 1 }));
    let xml = invoice_numbered("7001");

    fx.sim
        .inject_on(UPLOAD, Fault::Latency(Duration::from_millis(2500)), 1);
    let (rc, v, err) = upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_ERR_TIMEOUT, "{err}");
    assert!(v.is_none());
    assert!(err.contains("unknown"), "{err}");
    let requests = fx.sim.counters().requests;

    // The ERP tries again (where duplicates came from): the DLL does not send it.
    let (rc, v, err) = upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_ERR_UPLOAD_UNCERTAIN, "{err}");
    assert_eq!(fx.sim.counters().requests, requests, "not sent");
    let v = v.unwrap();
    assert_eq!(v["journal"]["state"], "unknown");
    assert!(
        v["journal"]["detail"]
            .as_str()
            .unwrap()
            .contains("did not answer in time"),
        "{v}"
    );
    // Still not sent on a third try, from another handle on the same database.
    let other = client(&fx, json!({}));
    let (rc, _, _) = upload(&other, &xml, None);
    assert_eq!(rc, ANAF_ERR_UPLOAD_UNCERTAIN);

    // How the ERP checks: the message list. (The simulator drops a request whose client
    // went away, so here the invoice is not there.) Then force sends it, once.
    let (rc, v, err) = list(&cl, 1, Some("T"));
    assert_eq!(rc, ANAF_OK, "{err}");
    assert_eq!(v.unwrap()["mesaje"], json!([]));
    let (rc, v, err) = upload(&cl, &xml, Some(r#"{"force":true}"#));
    assert_eq!(rc, ANAF_OK, "{err}");
    let index = v.unwrap()["index_incarcare"].as_str().unwrap().to_string();
    assert_eq!(uploads(&fx), 1);
    let (rc, v, _) = upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_ALREADY_UPLOADED);
    assert_eq!(v.unwrap()["index_incarcare"], index.as_str());
}

/// The child of `an_upload_cut_by_a_crash_is_uncertain`: starts an upload that ANAF
/// answers slowly and dies in the middle of it, as an ERP killed from Task Manager.
#[test]
#[ignore]
fn crash_child() {
    let Ok(config) = std::env::var("ANAF_TEST_CONFIG") else {
        return;
    };
    let xml = std::fs::read(std::env::var("ANAF_TEST_XML").unwrap()).unwrap();
    let cl = common::CClient::open(&config).unwrap();
    let db: serde_json::Value = serde_json::from_str(&config).unwrap();
    let db = std::path::PathBuf::from(db["database"].as_str().unwrap());
    std::thread::spawn(move || {
        // Die once the attempt is recorded and the request is on its way (the simulator
        // holds it for 3 s), whatever the speed of the machine.
        let store = anaf_bridge::store::Store::open(&db).unwrap();
        for _ in 0..200 {
            let rows = anaf_bridge::store::journal::recent(&store, CIF, 1).unwrap_or_default();
            if rows.iter().any(|r| r.state == "sending") {
                std::thread::sleep(Duration::from_millis(300));
                std::process::exit(3);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::process::exit(4);
    });
    let _ = upload(&cl, &xml, None);
    unreachable!("the upload answers after the crash");
}

#[test]
fn an_upload_cut_by_a_crash_is_uncertain() {
    let fx = Fixture::new();
    let cl = client(&fx, json!({}));
    let dir = tempfile::tempdir().unwrap();
    let xml_path = dir.path().join("f.xml");
    let xml = invoice_numbered("8001");
    std::fs::write(&xml_path, &xml).unwrap();
    fx.sim
        .inject_on(UPLOAD, Fault::Latency(Duration::from_secs(3)), 1);
    let out = common::child(
        "crash_child",
        &[
            (
                "ANAF_TEST_CONFIG",
                fx.config(json!({ "rate_limit_per_minute": 1000 })),
            ),
            ("ANAF_TEST_XML", xml_path.to_string_lossy().into_owned()),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (rc, v, err) = upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_ERR_UPLOAD_UNCERTAIN, "{err}");
    assert_eq!(
        v.unwrap()["journal"]["state"],
        "sending",
        "recorded before sending, never finished"
    );
}

#[test]
fn html_page_where_xml_or_json_was_expected() {
    let fx = Fixture::new();
    let cl = client(&fx, json!({}));
    fx.sim
        .inject_on("/test/FCTEL/rest/stareMesaj", Fault::HtmlRejected, 1);
    let (rc, v, err) = status(&cl, "1");
    assert_eq!(rc, ANAF_ERR_HTML_RESPONSE, "{err}");
    assert!(v.is_none());
    assert!(
        err.contains("Request Rejected") && err.contains("support ID"),
        "{err}"
    );
    assert!(!err.contains("<br>"));

    // On an upload the page means the request was stopped before ANAF: sent again later.
    let xml = invoice_numbered("9001");
    fx.sim.inject_on(UPLOAD, Fault::HtmlRejected, 1);
    let (rc, _, _) = upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_ERR_HTML_RESPONSE);
    let (rc, _, err) = upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_OK, "{err}");
}

#[test]
fn a_refused_token_is_refreshed_once_and_the_call_repeated() {
    let fx = Fixture::new();
    fx.sim
        .set_lifetimes(Duration::from_secs(600), Duration::from_secs(365 * 86400));
    let cl = client(&fx, json!({ "refresh_margin_days": 0 }));
    // ANAF's clock says the access token expired; ours does not know yet.
    fx.sim.advance_clock(Duration::from_secs(900));
    let before = fx.sim.counters();
    let (rc, _, err) = upload(&cl, &invoice_numbered("9101"), None);
    assert_eq!(rc, ANAF_OK, "{err}");
    let after = fx.sim.counters();
    assert_eq!(after.token_refresh_grants - before.token_refresh_grants, 1);
    assert_eq!(after.unauthorized - before.unauthorized, 1);
    assert_eq!(uploads(&fx), 1);
    let _ = CIF;
}

#[test]
fn an_uncertain_upload_is_settled_from_the_message_list() {
    use anaf_bridge::store::journal::{self, Begin, State, UploadKey};
    let fx = Fixture::new();
    fx.sim.set_processing_secs(0);
    let cl = client(&fx, json!({}));
    let session = fx.session(json!({}));
    let key = |xml: &[u8]| UploadKey {
        cif: CIF.into(),
        environment: "test".into(),
        service: anaf_bridge::store::journal::Service::EFactura,
        standard: "UBL".into(),
        flags: "".into(),
        sha256: anaf_bridge::client::files::sha256_hex(xml),
    };
    // Sent, but the answer was lost: the journal says "unknown" and ANAF has the invoice
    // (here it reaches ANAF from a client with another database, as the lost one did).
    let sent = invoice_numbered("R001");
    let Begin::Send(row) =
        journal::begin(&session.store, &key(&sent), sent.len(), false, true).unwrap()
    else {
        panic!()
    };
    journal::finish(
        &session.store,
        row,
        State::Unknown,
        None,
        None,
        Some("timeout"),
    )
    .unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let other = client(
        &fx,
        json!({ "database": elsewhere.path().join("other.db") }),
    );
    let (rc, v, err) = upload(&other, &sent, None);
    assert_eq!(rc, ANAF_OK, "{err}");
    let index = v.unwrap()["index_incarcare"].as_str().unwrap().to_string();
    // Another invoice of the same period, which must not be taken for it.
    let (rc, _, _) = upload(&cl, &invoice_numbered("R002"), None);
    assert_eq!(rc, ANAF_OK);
    std::thread::sleep(Duration::from_millis(1100));

    let (rc, v, err) =
        call(|o| unsafe { anaf_bridge::ffi::upload::anaf_upload_resolve(cl.0, row, 2, o) });
    assert_eq!(rc, ANAF_ALREADY_UPLOADED, "{err}");
    let v = v.unwrap();
    assert_eq!(v["found"], true);
    assert_eq!(v["index_incarcare"], index.as_str());
    assert_eq!(v["journal"]["state"], "uploaded");
    // From now on the document is "already uploaded", with ANAF's index.
    let uploads_before = uploads(&fx);
    let (rc, v, _) = upload(&cl, &sent, None);
    assert_eq!(rc, ANAF_ALREADY_UPLOADED);
    assert_eq!(v.unwrap()["index_incarcare"], index.as_str());
    assert_eq!(uploads(&fx), uploads_before);

    // An uncertain upload ANAF never got: not found, the row stays, force sends it.
    let lost = invoice_numbered("R003");
    let Begin::Send(row) =
        journal::begin(&session.store, &key(&lost), lost.len(), false, true).unwrap()
    else {
        panic!()
    };
    let (rc, v, err) =
        call(|o| unsafe { anaf_bridge::ffi::upload::anaf_upload_resolve(cl.0, row, 2, o) });
    assert_eq!(rc, ANAF_OK, "{err}");
    let v = v.unwrap();
    assert_eq!(v["found"], false);
    assert!(v["checked"].as_u64().unwrap() >= 1);
    assert_eq!(v["journal"]["state"], "sending");
    let (rc, _, _) = upload(&cl, &lost, None);
    assert_eq!(rc, ANAF_ERR_UPLOAD_UNCERTAIN);
    let (rc, _, err) = upload(&cl, &lost, Some(r#"{"force":true}"#));
    assert_eq!(rc, ANAF_OK, "{err}");
    // A row that does not exist.
    let (rc, _, _) =
        call(|o| unsafe { anaf_bridge::ffi::upload::anaf_upload_resolve(cl.0, 999_999, 2, o) });
    assert_eq!(rc, ANAF_ERR_INVALID_ARGUMENT);
}

/// The double click on "send": the same new invoice from eight threads (two handles) at
/// once. One upload reaches ANAF; the others wait for it and answer ALREADY_UPLOADED with
/// its index, instead of "the answer never came" while it is merely in flight.
#[test]
fn the_same_invoice_sent_eight_times_at_once_is_uploaded_once() {
    let fx = Fixture::new();
    fx.sim.set_processing_secs(0);
    let handles = [client(&fx, json!({})), client(&fx, json!({}))];
    let xml = invoice_numbered("7301");
    fx.sim
        .inject_on(UPLOAD, Fault::Latency(Duration::from_millis(800)), 1);
    let barrier = std::sync::Barrier::new(8);
    let results: Vec<(i32, Option<serde_json::Value>, String)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|i| {
                let (cl, b, xml) = (&handles[i % 2], &barrier, &xml);
                s.spawn(move || {
                    b.wait();
                    upload(cl, xml, None)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(uploads(&fx), 1, "one upload reached ANAF");
    let ok: Vec<_> = results.iter().filter(|r| r.0 == ANAF_OK).collect();
    let already: Vec<_> = results
        .iter()
        .filter(|r| r.0 == ANAF_ALREADY_UPLOADED)
        .collect();
    assert_eq!((ok.len(), already.len()), (1, 7), "{results:?}");
    let index = ok[0].1.as_ref().unwrap()["index_incarcare"].clone();
    assert!(
        already
            .iter()
            .all(|r| r.1.as_ref().unwrap()["index_incarcare"] == index),
        "{results:?}"
    );
}

/// A small ZIP whose invoice inflates to `mib` MiB of zeros.
fn zip_bomb(mib: usize) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("3001.xml", opts).unwrap();
    let block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        w.write_all(&block).unwrap();
    }
    w.start_file("semnatura_3001.xml", opts).unwrap();
    w.write_all(b"<Signature/>").unwrap();
    w.finish().unwrap().into_inner()
}

#[test]
fn a_zip_bomb_is_not_unpacked() {
    let fx = Fixture::new();
    let cl = client(&fx, json!({}));
    let bomb = zip_bomb(60);
    assert!(bomb.len() < 200 << 10, "{} bytes", bomb.len());
    fx.sim.inject_on(
        "/test/FCTEL/rest/descarcare",
        Fault::Body {
            content_type: "application/zip".into(),
            body: bomb,
        },
        2,
    );
    let dir = tempfile::tempdir().unwrap();
    // Saved as it came, without unpacking: nothing is inflated.
    let (rc, v, err) = download(&cl, "3001", &dir.path().join("a.zip"), false);
    assert_eq!(rc, ANAF_OK, "{err}");
    assert_eq!(v.unwrap()["entries"].as_array().unwrap().len(), 2);
    // Unpacked: refused at 50 MB, and no invoice written.
    let (rc, _, err) = download(&cl, "3001", &dir.path().join("b.zip"), true);
    assert_eq!(rc, ANAF_ERR_BAD_RESPONSE, "{err}");
    assert!(
        err.contains("\"3001.xml\"") && err.contains("exceeds 50 MB"),
        "{err}"
    );
    assert!(!dir.path().join("3001.xml").exists());
}

#[test]
fn an_answer_that_never_ends_is_cut_at_the_limit_and_not_repeated() {
    let fx = Fixture::new();
    let cl = client(&fx, json!({}));
    fx.sim.inject_on(
        LIST,
        Fault::Flood {
            content_type: "application/json".into(),
            // One MB past the 64 MB the DLL reads of an answer.
            bytes: 65 << 20,
        },
        3,
    );
    let before = fx.sim.counters().faults_fired;
    let (rc, v, err) = list(&cl, 3, None);
    assert_eq!(rc, ANAF_ERR_BAD_RESPONSE, "{err}");
    assert!(v.is_none());
    assert!(err.contains("exceeds 64 MB"), "{err}");
    assert!(
        err.contains("listaMesajeFactura") && !err.contains("zile="),
        "{err}"
    );
    assert_eq!(fx.sim.counters().faults_fired - before, 1, "not retried");
    fx.sim.clear_faults();
}
