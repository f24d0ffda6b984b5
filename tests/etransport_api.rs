//! e-Transport through the C API against the simulator: v2 upload (index + UIT) through
//! the upload journal, status, list, ANAF's rejections and the input checks.

mod common;
#[path = "fixtures/svc.rs"]
mod svc;

use anaf_bridge::ffi::etransport::*;
use anaf_bridge::status::*;
use anaf_sim::Fault;
use common::{CClient, Fixture, CIF};
use serde_json::{json, Value};
use std::time::Duration;
use svc::*;

fn et_upload(cl: &CClient, xml: &[u8], options: Option<&str>) -> (i32, Option<Value>, String) {
    let o = options.map(c);
    call(|out| unsafe {
        anaf_etransport_upload(
            cl.0,
            xml.as_ptr(),
            xml.len(),
            o.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            out,
        )
    })
}

fn et_status(cl: &CClient, index: &str) -> (i32, Option<Value>, String) {
    let i = c(index);
    call(|out| unsafe { anaf_etransport_status(cl.0, i.as_ptr(), out) })
}

fn et_list(cl: &CClient, zile: i32) -> (i32, Option<Value>, String) {
    call(|out| unsafe { anaf_etransport_list(cl.0, zile, std::ptr::null(), out) })
}

fn et_uploads(fx: &Fixture) -> u64 {
    fx.sim
        .counters()
        .etransport_uploads
        .get(CIF)
        .copied()
        .unwrap_or(0)
}

#[test]
fn declaration_upload_status_and_list() {
    let fx = Fixture::new();
    let cl = client(&fx, json!({}));

    // Nothing yet: an empty list, not an error.
    let (rc, v, err) = et_list(&cl, 60);
    assert_eq!(rc, ANAF_OK, "{err}");
    assert_eq!(v.unwrap()["mesaje"], json!([]));

    let xml = declaration("T001");
    let (rc, v, err) = et_upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_OK, "{err}");
    let v = v.unwrap();
    assert_eq!(v["result"], "uploaded");
    let index = v["index_incarcare"].as_str().unwrap().to_string();
    let uit = v["UIT"].as_str().unwrap().to_string();
    assert!(!uit.is_empty());
    assert_eq!(et_uploads(&fx), 1);

    let (rc, v, err) = et_status(&cl, &index);
    assert_eq!(rc, ANAF_PENDING, "{err}");
    assert_eq!(v.unwrap()["stare"], "in prelucrare");
    fx.sim.advance_clock(Duration::from_secs(5));
    let (rc, v, err) = et_status(&cl, &index);
    assert_eq!(rc, ANAF_OK, "{err}");
    assert_eq!(v.unwrap()["stare"], "ok");

    let (rc, v, err) = et_list(&cl, 1);
    assert_eq!(rc, ANAF_OK, "{err}");
    let v = v.unwrap();
    let item = v["mesaje"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["uit"] == uit.as_str())
        .expect("listed");
    assert_eq!(
        item["id_incarcare"]
            .as_str()
            .unwrap()
            .trim_start_matches('0'),
        index.trim_start_matches('0')
    );

    // The same declaration again: not sent, the index and UIT come back.
    let (rc, v, err) = et_upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_ALREADY_UPLOADED, "{err}");
    let v = v.unwrap();
    assert_eq!(v["index_incarcare"], index.as_str());
    assert_eq!(v["UIT"], uit.as_str());
    assert_eq!(et_uploads(&fx), 1);
    let (rc, v, err) = et_upload(&cl, &xml, Some(r#"{"force":true}"#));
    assert_eq!(rc, ANAF_OK, "{err}");
    assert_ne!(v.unwrap()["UIT"], uit.as_str());
    assert_eq!(et_uploads(&fx), 2);

    // From a file.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.xml");
    std::fs::write(&p, declaration("T002")).unwrap();
    let p = c(p.to_str().unwrap());
    let (rc, _, err) =
        call(|o| unsafe { anaf_etransport_upload_file(cl.0, p.as_ptr(), std::ptr::null(), o) });
    assert_eq!(rc, ANAF_OK, "{err}");
}

#[test]
fn rejected_declarations_and_bad_inputs() {
    let fx = Fixture::new();
    fx.sim.set_processing_secs(0);
    let cl = client(&fx, json!({}));

    // A declaration ANAF refuses after processing: nok with its message.
    let nok = String::from_utf8(declaration("T101"))
        .unwrap()
        .replace("</eTransport>", "<!-- anaf-sim:nok --></eTransport>");
    let (rc, v, err) = et_upload(&cl, nok.as_bytes(), None);
    assert_eq!(rc, ANAF_OK, "{err}");
    let index = v.unwrap()["index_incarcare"].as_str().unwrap().to_string();
    let (rc, v, err) = et_status(&cl, &index);
    assert_eq!(rc, ANAF_ERR_REJECTED, "{err}");
    assert_eq!(v.unwrap()["stare"], "nok");
    assert!(err.contains("UIT-ul nu poate fi identificat"), "{err}");

    // A CIF the certificate has no right on in SPV: ANAF's words, a distinct status.
    fx.sim.set_enrolled(common::SERIAL, "8000000000", false);
    let (rc, _, err) = et_upload(&cl, &declaration("T102"), Some(r#"{"cif":"8000000000"}"#));
    assert_eq!(rc, ANAF_ERR_UNAUTHORIZED, "{err}");
    assert!(
        err.contains("Nu aveti drept in SPV pentru CIF=8000000000"),
        "{err}"
    );

    // Before the network.
    let before = fx.sim.counters().requests;
    let (rc, _, _) = et_upload(&cl, b"not xml", None);
    assert_eq!(rc, ANAF_ERR_NOT_XML);
    let mut big = b"<eTransport>".to_vec();
    big.resize(5 * 1024 * 1024 + 1, b' ');
    let (rc, _, _) = et_upload(&cl, &big, None);
    assert_eq!(rc, ANAF_ERR_TOO_LARGE);
    let (rc, _, _) = et_upload(&cl, &declaration("T103"), Some(r#"{"cif":"RO14399840"}"#));
    assert_eq!(rc, ANAF_ERR_INVALID_ARGUMENT);
    for z in [0, 61] {
        let (rc, _, _) = et_list(&cl, z);
        assert_eq!(rc, ANAF_ERR_INVALID_ARGUMENT);
    }
    let (rc, _, _) = et_status(&cl, "UIT123");
    assert_eq!(rc, ANAF_ERR_INVALID_ARGUMENT);
    assert_eq!(fx.sim.counters().requests, before);

    // The WAF page and a reset on the upload: distinct statuses; a reset leaves the
    // upload uncertain, never resent silently.
    fx.sim
        .inject_on("/test/ETRANSPORT/ws/v1/lista", Fault::HtmlRejected, 1);
    let (rc, _, err) = et_list(&cl, 2);
    assert_eq!(rc, ANAF_ERR_HTML_RESPONSE, "{err}");
    let xml = declaration("T104");
    fx.sim
        .inject_on("/test/ETRANSPORT/ws/v1/upload", Fault::Reset, 1);
    let (rc, _, err) = et_upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_ERR_NETWORK, "{err}");
    let (rc, v, _) = et_upload(&cl, &xml, None);
    assert_eq!(rc, ANAF_ERR_UPLOAD_UNCERTAIN);
    assert_eq!(v.unwrap()["journal"]["service"], "etransport");
}
