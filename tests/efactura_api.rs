//! e-Factura through the C API against the simulator: upload (buffer and file, flags, B2C),
//! the duplicate journal, status and the wait helper, lists (simple, paginated, to a file),
//! download with extraction, and every input check before the network.

mod common;
#[path = "fixtures/svc.rs"]
mod svc;

use anaf_bridge::status::*;
use common::{Fixture, CIF};
use serde_json::{json, Value};
use std::time::Duration;
use svc::*;

fn index_of(v: &Option<Value>) -> String {
    v.as_ref().unwrap()["index_incarcare"]
        .as_str()
        .expect("index_incarcare")
        .to_string()
}

#[test]
fn upload_status_list_download_end_to_end() {
    let fx = Fixture::new();
    let cl = client(&fx, json!({}));
    let xml = invoice_numbered("1001");

    let (rc, v, err) = upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_OK, "{err}");
    let v = v.unwrap();
    assert_eq!(v["result"], "uploaded");
    let index = v["index_incarcare"].as_str().unwrap().to_string();
    assert!(index.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(uploads(&fx), 1);

    // Right after the upload ANAF is still processing it.
    let (rc, v, err) = status(&cl, &index);
    assert_eq!(rc, ANAF_PENDING, "{err}");
    assert_eq!(v.unwrap()["stare"], "in prelucrare");

    fx.sim.advance_clock(Duration::from_secs(5));
    let (rc, v, err) = status(&cl, &index);
    assert_eq!(rc, ANAF_OK, "{err}");
    let v = v.unwrap();
    assert_eq!(v["stare"], "ok");
    assert_eq!(v["final"], true);
    let id_descarcare = v["id_descarcare"].as_str().unwrap().to_string();

    // The simple list shows it as sent; the "received" filter does not.
    let (rc, v, err) = list(&cl, 1, None);
    assert_eq!(rc, ANAF_OK, "{err}");
    let v = v.unwrap();
    assert!(listed(&v, &index), "{v}");
    let m = v["mesaje"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id_solicitare"] == index.as_str())
        .unwrap();
    assert_eq!(m["tip"], "FACTURA TRIMISA");
    assert_eq!(m["id"], id_descarcare.as_str());
    let (rc, v, _) = list(&cl, 1, Some("P"));
    assert_eq!(rc, ANAF_OK);
    assert!(!listed(&v.unwrap(), &index));

    // Download the ZIP and extract the invoice and ANAF's signature beside it.
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join(format!("{id_descarcare}.zip"));
    let (rc, v, err) = download(&cl, &id_descarcare, &zip, true);
    assert_eq!(rc, ANAF_OK, "{err}");
    let v = v.unwrap();
    assert!(std::fs::read(&zip).unwrap().starts_with(b"PK\x03\x04"));
    let xml_path = v["xml_path"].as_str().unwrap();
    let sig_path = v["signature_path"].as_str().unwrap();
    assert_eq!(
        std::fs::read(xml_path).unwrap(),
        xml,
        "the invoice inside the ZIP is the one uploaded"
    );
    assert!(std::path::Path::new(sig_path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("semnatura_"));
    assert!(String::from_utf8(std::fs::read(sig_path).unwrap())
        .unwrap()
        .contains("Signature"));

    // The journal keeps the upload with its last known state.
    let (rc, v, _) = call(|o| unsafe { anaf_bridge::ffi::upload::anaf_upload_journal(cl.0, 1, o) });
    assert_eq!(rc, ANAF_OK);
    let row = &v.unwrap()["uploads"][0];
    assert_eq!(row["index_incarcare"], index.as_str());
    assert_eq!(row["state"], "uploaded");
    assert_eq!(row["last_status"], "ok");
}

#[test]
fn the_same_invoice_is_not_uploaded_twice_unless_forced() {
    let fx = Fixture::new();
    let cl = client(&fx, json!({}));
    let xml = invoice_numbered("2001");
    let (rc, v, err) = upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_OK, "{err}");
    let first = index_of(&v);
    let requests = fx.sim.counters().requests;

    // Same bytes, same CIF and standard: not sent, the earlier index comes back.
    let (rc, v, err) = upload(&cl, &xml, Some(r#"{"standard":"UBL"}"#));
    assert_eq!(rc, ANAF_ALREADY_UPLOADED, "{err}");
    assert_eq!(v.as_ref().unwrap()["result"], "already_uploaded");
    assert_eq!(index_of(&v), first);
    assert!(err.contains(&first) && err.contains("force"), "{err}");
    assert_eq!(fx.sim.counters().requests, requests, "nothing went to ANAF");
    assert_eq!(uploads(&fx), 1);

    // Another client on the same database (another ERP workstation) sees it too.
    let other = client(&fx, json!({}));
    let (rc, v, _) = upload(&other, &xml, None);
    assert_eq!(rc, ANAF_ALREADY_UPLOADED);
    assert_eq!(index_of(&v), first);

    // Another document is sent.
    let (rc, v, err) = upload(&cl, &invoice_numbered("2002"), None);
    assert_eq!(rc, ANAF_OK, "{err}");
    assert_ne!(index_of(&v), first);

    // force: sent again on purpose, a new index.
    let (rc, v, err) = upload(&cl, &xml, Some(r#"{"force":true}"#));
    assert_eq!(rc, ANAF_OK, "{err}");
    let forced = index_of(&v);
    assert_ne!(forced, first);
    assert_eq!(uploads(&fx), 3);
    // And the newest upload is what a later duplicate reports.
    let (rc, v, _) = upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_ALREADY_UPLOADED);
    assert_eq!(index_of(&v), forced);
}

#[test]
fn journal_sync_normal_still_blocks_a_second_upload() {
    // The relaxed journal skips only the disk flush: the row is committed before the
    // request leaves all the same, so a second upload is refused, here and elsewhere.
    let fx = Fixture::new();
    let cl = client(&fx, json!({ "journal_sync": "normal" }));
    let xml = invoice_numbered("2101");
    let (rc, v, err) = upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_OK, "{err}");
    let first = index_of(&v);
    let (rc, v, _) = upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_ALREADY_UPLOADED);
    assert_eq!(index_of(&v), first);
    let other = client(&fx, json!({}));
    let (rc, v, _) = upload(&other, &xml, None);
    assert_eq!(rc, ANAF_ALREADY_UPLOADED);
    assert_eq!(index_of(&v), first);
    assert_eq!(uploads(&fx), 1);
}

#[test]
fn upload_from_file_b2c_and_flags() {
    let fx = Fixture::new();
    let cl = client(&fx, json!({}));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("factura 3001.xml");
    std::fs::write(&path, invoice_numbered("3001")).unwrap();
    let p = c(path.to_str().unwrap());
    let (rc, v, err) = call(|o| unsafe {
        anaf_bridge::ffi::efactura::anaf_upload_file(cl.0, p.as_ptr(), std::ptr::null(), o)
    });
    assert_eq!(rc, ANAF_OK, "{err}");
    assert_eq!(v.unwrap()["result"], "uploaded");

    let (rc, _, err) = upload(&cl, &invoice_numbered("3002"), Some(r#"{"b2c":true}"#));
    assert_eq!(rc, ANAF_OK, "{err}");
    let (rc, _, err) = upload(
        &cl,
        &invoice_numbered("3003"),
        Some(r#"{"extern":true,"autofactura":"DA"}"#),
    );
    assert_eq!(rc, ANAF_OK, "{err}");
    assert_eq!(uploads(&fx), 3);

    // The same bytes with other flags are another upload, not a duplicate.
    let (rc, _, err) = upload(&cl, &invoice_numbered("3003"), Some(r#"{"extern":true}"#));
    assert_eq!(rc, ANAF_OK, "{err}");
    assert_eq!(uploads(&fx), 4);

    // executare=DA for a CIF outside the registry: ANAF's own text, nothing registered,
    // and a later try is sent again (a rejection is not a duplicate).
    fx.sim.set_executare_registered(CIF, false);
    let (rc, v, err) = upload(
        &cl,
        &invoice_numbered("3004"),
        Some(r#"{"executare":true}"#),
    );
    assert_eq!(rc, ANAF_ERR_REJECTED, "{err}");
    assert!(v.is_none());
    assert!(
        err.contains("nu este inregistrat in Registrul RO e-Factura executari silite"),
        "{err}"
    );
    fx.sim.set_executare_registered(CIF, true);
    let (rc, _, err) = upload(
        &cl,
        &invoice_numbered("3004"),
        Some(r#"{"executare":true}"#),
    );
    assert_eq!(rc, ANAF_OK, "{err}");
}

#[test]
fn inputs_are_checked_before_the_network() {
    let fx = Fixture::new();
    let cl = client(&fx, json!({ "language": "ro" }));
    let before = fx.sim.counters().requests;
    let dir = tempfile::tempdir().unwrap();

    let missing = c(dir.path().join("nu-exista.xml").to_str().unwrap());
    let (rc, _, err) = call(|o| unsafe {
        anaf_bridge::ffi::efactura::anaf_upload_file(cl.0, missing.as_ptr(), std::ptr::null(), o)
    });
    assert_eq!(rc, ANAF_ERR_FILE);
    assert!(err.contains("nu-exista.xml"), "{err}");

    let (rc, _, err) = upload(&cl, b"Factura 1, total 100 lei", None);
    assert_eq!(rc, ANAF_ERR_NOT_XML, "{err}");
    assert!(
        err.starts_with("Documentul nu este un XML valid"),
        "Romanian by default: {err}"
    );
    let (rc, _, _) = upload(&cl, b"<Invoice><cbc:ID>1</Invoice>", None);
    assert_eq!(rc, ANAF_ERR_NOT_XML);

    let mut big = b"<Invoice>".to_vec();
    big.resize(10 * 1024 * 1024 + 1, b' ');
    let (rc, _, err) = upload(&cl, &big, None);
    assert_eq!(rc, ANAF_ERR_TOO_LARGE, "{err}");

    let xml = invoice_numbered("4001");
    for (opts, needle) in [
        (r#"{"cif":"RO14399840"}"#, "RO"),
        (r#"{"cif":"14399841"}"#, "control"),
        (r#"{"standard":"XML"}"#, "UBL, CN, CII, RASP"),
        (r#"{"standrd":"UBL"}"#, "standrd"),
        (r#"{"extern":"poate"}"#, "extern"),
    ] {
        let (rc, _, err) = upload(&cl, &xml, Some(opts));
        assert_eq!(rc, ANAF_ERR_INVALID_ARGUMENT, "{opts}: {err}");
        assert!(err.contains(needle), "{opts}: {err}");
    }
    let (rc, _, _) = upload(&cl, &xml, Some("{standard"));
    assert_eq!(rc, ANAF_ERR_INVALID_JSON);

    for zile in [0, 61, -1] {
        let (rc, v, err) = list(&cl, zile, None);
        assert_eq!(rc, ANAF_ERR_INVALID_ARGUMENT, "{zile}");
        assert!(v.is_none() && err.contains("60"), "{err}");
    }
    let (rc, _, _) = list(&cl, 5, Some("X"));
    assert_eq!(rc, ANAF_ERR_INVALID_ARGUMENT);
    let (rc, _, _) = status(&cl, "12a");
    assert_eq!(rc, ANAF_ERR_INVALID_ARGUMENT);
    let (rc, _, _) = download(&cl, "1", &dir.path().join("lipsa/x.zip"), false);
    assert_eq!(
        rc, ANAF_ERR_FILE,
        "a missing folder is found before downloading"
    );
    // NULL arguments are refused, never dereferenced.
    let (rc, _, _) = call(|o| unsafe {
        anaf_bridge::ffi::efactura::anaf_upload(cl.0, std::ptr::null(), 10, std::ptr::null(), o)
    });
    assert_eq!(rc, ANAF_ERR_NULL_POINTER);
    let rc = unsafe {
        anaf_bridge::ffi::efactura::anaf_status(cl.0, std::ptr::null(), std::ptr::null_mut())
    };
    assert_eq!(rc, ANAF_ERR_NULL_POINTER);

    assert_eq!(
        fx.sim.counters().requests,
        before,
        "no request reached the simulator"
    );
    // Nothing was recorded in the journal either.
    let (_, v, _) = call(|o| unsafe { anaf_bridge::ffi::upload::anaf_upload_journal(cl.0, 1, o) });
    assert_eq!(v.unwrap()["uploads"], json!([]));
}

#[test]
fn wait_helper_polls_to_the_final_state_within_the_quota() {
    let fx = Fixture::new();
    fx.sim.set_processing_secs(1);
    let cl = client(&fx, json!({}));
    let (rc, v, err) = upload(&cl, &invoice_numbered("5001"), None);
    assert_eq!(rc, ANAF_OK, "{err}");
    let index = index_of(&v);
    let id = c(&index);
    let (rc, v, err) = call(|o| unsafe {
        anaf_bridge::ffi::efactura::anaf_status_wait(cl.0, id.as_ptr(), 20, 200, o)
    });
    assert_eq!(rc, ANAF_OK, "{err}");
    let v = v.unwrap();
    assert_eq!(v["stare"], "ok");
    assert!(v["polls"].as_u64().unwrap() >= 2, "{v}");
    assert_eq!(v["stopped_for_quota"], false);

    // A message whose checks of today are nearly used up: the helper stops before
    // spending the ERP's last ones, and says so.
    fx.sim.set_processing_secs(3600);
    let (rc, v, _) = upload(&cl, &invoice_numbered("5002"), None);
    assert_eq!(rc, ANAF_OK);
    let index = index_of(&v);
    let session = fx.session(json!({}));
    for _ in 0..89 {
        anaf_bridge::store::journal::count_call(
            &session.store,
            "stareMesaj",
            &format!("{CIF}/{index}"),
            100,
        )
        .unwrap();
    }
    let id = c(&index);
    let before = fx.sim.counters().requests;
    let (rc, v, err) = call(|o| unsafe {
        anaf_bridge::ffi::efactura::anaf_status_wait(cl.0, id.as_ptr(), 60, 10, o)
    });
    assert_eq!(rc, ANAF_PENDING, "{err}");
    let v = v.unwrap();
    assert_eq!(v["stopped_for_quota"], true, "{v}");
    assert_eq!(v["polls"], 1);
    assert_eq!(v["checks_today"], 90);
    assert!(err.contains("100"), "{err}");
    assert_eq!(fx.sim.counters().requests, before + 1);
    // A timeout returns PENDING with the state seen.
    let (rc, v, _) = upload(&cl, &invoice_numbered("5003"), None);
    assert_eq!(rc, ANAF_OK);
    let id = c(&index_of(&v));
    let (rc, v, err) = call(|o| unsafe {
        anaf_bridge::ffi::efactura::anaf_status_wait(cl.0, id.as_ptr(), 0, 10, o)
    });
    assert_eq!(rc, ANAF_PENDING, "{err}");
    let v = v.unwrap();
    assert_eq!(v["stare"], "in prelucrare");
    assert_eq!(v["stopped_for_quota"], false);
    assert_eq!(v["polls"], 1);
}

/// Uploads `n` invoices straight to the simulator (a supplier's own software), so that
/// the lists have more than one page of 500.
fn seed(fx: &Fixture, n: usize) -> Vec<String> {
    fx.sim.set_per_minute_limit(1_000_000);
    let token = fx.sim.mint_tokens(CIF, common::SERIAL).access_token;
    let ca = std::fs::read(fx.sim.ca_pem_path()).unwrap();
    let url = format!(
        "{}/test/FCTEL/rest/upload?standard=UBL&cif={CIF}",
        fx.sim.api_url()
    );
    anaf_bridge::client::http::block_on(async move {
        let c = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
            .build()
            .unwrap();
        let mut ids = Vec::new();
        for i in 0..n {
            let body = invoice_numbered(&format!("S{i:05}"));
            let r = c
                .post(&url)
                .bearer_auth(&token)
                .header("content-type", "text/plain")
                .body(body)
                .send()
                .await
                .unwrap();
            let t = r.text().await.unwrap();
            let idx = t
                .split("index_incarcare=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string();
            ids.push(idx);
        }
        ids
    })
}

#[test]
fn paginated_list_reads_every_page_once_and_in_order() {
    let fx = Fixture::new();
    fx.sim.set_processing_secs(0);
    let cl = client(&fx, json!({}));
    let start = fx.sim.now_ms() - 1000;
    let ids = seed(&fx, 620);
    // The list is judged by ANAF's clock: the newest messages must be a second old.
    std::thread::sleep(Duration::from_millis(1100));
    let end = fx.sim.now_ms() + 3_600_000; // in the future: brought back to now

    let (rc, v, err) = call(|o| unsafe {
        anaf_bridge::ffi::efactura::anaf_list_messages_paged(
            cl.0,
            start,
            end,
            std::ptr::null(),
            std::ptr::null(),
            o,
        )
    });
    assert_eq!(rc, ANAF_OK, "{err}");
    let v = v.unwrap();
    assert_eq!(v["pages"], 2, "{}", v["titlu"]);
    assert_eq!(v["total"], 620);
    assert_eq!(v["count"], 620);
    let listed: Vec<String> = v["mesaje"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id_solicitare"].as_str().unwrap().to_string())
        .collect();
    let mut want = ids.clone();
    let mut got = listed.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want, "every upload once");

    // The same listing written to a file: same messages, same order.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mesaje.json");
    let f = c(file.to_str().unwrap());
    let (rc, s, err) = call(|o| unsafe {
        anaf_bridge::ffi::efactura::anaf_list_messages_paged(
            cl.0,
            start,
            end,
            c("T").as_ptr(),
            f.as_ptr(),
            o,
        )
    });
    assert_eq!(rc, ANAF_OK, "{err}");
    let s = s.unwrap();
    assert!(s.get("mesaje").is_none());
    assert_eq!(s["count"], 620);
    let from_file: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let file_ids: Vec<String> = from_file["mesaje"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id_solicitare"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(file_ids, listed);
    assert_eq!(from_file["pages"], 2);

    // The simple list refuses more than 500: the DLL pages instead.
    let (rc, v, err) = list(&cl, 1, None);
    assert_eq!(rc, ANAF_OK, "{err}");
    assert_eq!(v.unwrap()["mesaje"].as_array().unwrap().len(), 620);

    // An empty range ("Nu exista mesaje in intervalul selectat") is an empty list.
    let (rc, v, err) = call(|o| unsafe {
        anaf_bridge::ffi::efactura::anaf_list_messages_paged(
            cl.0,
            start - 50_000,
            start - 40_000,
            std::ptr::null(),
            std::ptr::null(),
            o,
        )
    });
    assert_eq!(rc, ANAF_OK, "{err}");
    assert_eq!(v.unwrap()["mesaje"], json!([]));
    // A start after the end is refused before the network.
    let (rc, _, _) = call(|o| unsafe {
        anaf_bridge::ffi::efactura::anaf_list_messages_paged(
            cl.0,
            start,
            start - 1,
            std::ptr::null(),
            std::ptr::null(),
            o,
        )
    });
    assert_eq!(rc, ANAF_ERR_INVALID_ARGUMENT);
}

#[test]
fn no_messages_is_an_empty_list() {
    let fx = Fixture::new();
    let cl = client(&fx, json!({}));
    let (rc, v, err) = list(&cl, 60, None);
    assert_eq!(rc, ANAF_OK, "{err}");
    let v = v.unwrap();
    assert_eq!(v["mesaje"], json!([]));
    assert!(
        v["titlu"].as_str().unwrap().contains("Nu exista mesaje"),
        "{v}"
    );
}
