//! ANAF's public services through the C API against the simulator: validation (FACT1,
//! FCN), XML to PDF with and without validation, the signature check of a downloaded
//! invoice, and the WAF's HTML page in front of them.

mod common;
#[path = "fixtures/svc.rs"]
mod svc;

use anaf_bridge::ffi::public::*;
use anaf_bridge::status::*;
use anaf_sim::Fault;
use common::{CClient, Fixture};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use svc::*;

fn validate(cl: &CClient, xml: &[u8], standard: &str) -> (i32, Option<Value>, String) {
    let s = c(standard);
    call(|o| unsafe { anaf_validate(cl.0, xml.as_ptr(), xml.len(), s.as_ptr(), o) })
}

fn pdf(cl: &CClient, xml: &[u8], validate: bool, path: &Path) -> (i32, Option<Value>, String) {
    let p = c(path.to_str().unwrap());
    call(|o| unsafe {
        anaf_xml_to_pdf(
            cl.0,
            xml.as_ptr(),
            xml.len(),
            std::ptr::null(),
            validate as i32,
            p.as_ptr(),
            o,
        )
    })
}

fn nok_invoice() -> Vec<u8> {
    String::from_utf8(invoice())
        .unwrap()
        .replace("</Invoice>", "<!-- anaf-sim:nok --></Invoice>")
        .into_bytes()
}

#[test]
fn validation_and_pdf() {
    let fx = Fixture::new();
    let cl = client(&fx, json!({}));

    let (rc, v, err) = validate(&cl, &invoice(), "FACT1");
    assert_eq!(rc, ANAF_OK, "{err}");
    assert_eq!(v.unwrap()["stare"], "ok");

    // Not valid: ANAF's messages in the error and in the JSON.
    let (rc, v, err) = validate(&cl, &nok_invoice(), "FACT1");
    assert_eq!(rc, ANAF_ERR_REJECTED, "{err}");
    let v = v.expect("the verdict is given with the status");
    assert_eq!(v["stare"], "nok");
    assert!(v["Messages"][0]["message"]
        .as_str()
        .unwrap()
        .contains("BR-RO-SIM"));
    assert!(err.contains("SCHEMATRON"), "{err}");
    // An invoice checked as a credit note.
    let (rc, _, err) = validate(&cl, &invoice(), "FCN");
    assert_eq!(rc, ANAF_ERR_REJECTED);
    assert!(err.contains("'Invoice'"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("factura.pdf");
    let (rc, v, err) = pdf(&cl, &invoice(), true, &out);
    assert_eq!(rc, ANAF_OK, "{err}");
    let data = std::fs::read(&out).unwrap();
    assert!(data.starts_with(b"%PDF"));
    assert_eq!(v.unwrap()["size"], data.len());

    // With validation a bad invoice gives no PDF; without it (/DA), it does.
    let bad = dir.path().join("bad.pdf");
    let (rc, _, err) = pdf(&cl, &nok_invoice(), true, &bad);
    assert_eq!(rc, ANAF_ERR_REJECTED, "{err}");
    assert!(!bad.exists());
    let (rc, _, err) = pdf(&cl, &nok_invoice(), false, &bad);
    assert_eq!(rc, ANAF_OK, "{err}");
    assert!(std::fs::read(&bad).unwrap().starts_with(b"%PDF"));
    // out_json may be NULL for the PDF.
    let p = c(dir.path().join("n.pdf").to_str().unwrap());
    let xml = invoice();
    let rc = unsafe {
        anaf_xml_to_pdf(
            cl.0,
            xml.as_ptr(),
            xml.len(),
            c("FACT1").as_ptr(),
            1,
            p.as_ptr(),
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, ANAF_OK);

    // Checked before the network.
    let before = fx.sim.counters().requests;
    let (rc, _, _) = validate(&cl, &invoice(), "UBL");
    assert_eq!(rc, ANAF_ERR_INVALID_ARGUMENT);
    let (rc, _, _) = validate(&cl, b"<Invoice>", "FACT1");
    assert_eq!(rc, ANAF_ERR_NOT_XML);
    let (rc, _, _) = pdf(&cl, b"", true, &out);
    assert_eq!(rc, ANAF_ERR_NOT_XML);
    assert_eq!(fx.sim.counters().requests, before);
}

#[test]
fn waf_page_and_server_errors_on_the_public_host() {
    let fx = Fixture::new();
    let cl = client(&fx, json!({}));
    fx.sim
        .inject_on("/prod/FCTEL/rest/validare", Fault::HtmlRejected, 1);
    let (rc, v, err) = validate(&cl, &invoice(), "FACT1");
    assert_eq!(rc, ANAF_ERR_HTML_RESPONSE, "{err}");
    assert!(v.is_none());
    assert!(err.contains("support ID"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.pdf");
    fx.sim
        .inject_on("/prod/FCTEL/rest/transformare", Fault::HtmlRejected, 1);
    let (rc, _, err) = pdf(&cl, &invoice(), true, &out);
    assert_eq!(
        rc, ANAF_ERR_HTML_RESPONSE,
        "HTML where a PDF was expected: {err}"
    );
    assert!(!out.exists());

    // Validation changes nothing at ANAF: a 503 is repeated.
    fx.sim
        .inject_on("/prod/FCTEL/rest/validare", Fault::Status(503), 1);
    let (rc, _, err) = validate(&cl, &invoice(), "FACT1");
    assert_eq!(rc, ANAF_OK, "{err}");
}

#[test]
fn signature_of_a_downloaded_invoice() {
    let fx = Fixture::new();
    fx.sim.set_processing_secs(0);
    let cl = client(&fx, json!({}));
    let (rc, v, err) = upload(&cl, &invoice_numbered("P001"), None);
    assert_eq!(rc, ANAF_OK, "{err}");
    let index = v.unwrap()["index_incarcare"].as_str().unwrap().to_string();
    fx.sim.advance_clock(Duration::from_secs(1));
    let (rc, v, err) = status(&cl, &index);
    assert_eq!(rc, ANAF_OK, "{err}");
    let id = v.unwrap()["id_descarcare"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (rc, v, err) = download(&cl, &id, &dir.path().join("m.zip"), true);
    assert_eq!(rc, ANAF_OK, "{err}");
    let v = v.unwrap();
    let (xml, sig) = (
        v["xml_path"].as_str().unwrap().to_string(),
        v["signature_path"].as_str().unwrap().to_string(),
    );

    let check = |x: &str, s: &str| {
        let (x, s) = (c(x), c(s));
        call(|o| unsafe { anaf_verify_signature(cl.0, x.as_ptr(), s.as_ptr(), o) })
    };
    let (rc, v, err) = check(&xml, &sig);
    assert_eq!(rc, ANAF_OK, "{err}");
    let v = v.unwrap();
    assert_eq!(v["valid"], true);
    assert!(v["msg"].as_str().unwrap().contains("validate cu succes"));

    // A changed invoice no longer matches ANAF's signature.
    let changed = dir.path().join("changed.xml");
    std::fs::write(
        &changed,
        String::from_utf8(std::fs::read(&xml).unwrap())
            .unwrap()
            .replace("1210.00", "1.00"),
    )
    .unwrap();
    let (rc, v, err) = check(changed.to_str().unwrap(), &sig);
    assert_eq!(rc, ANAF_ERR_REJECTED, "{err}");
    assert_eq!(v.unwrap()["valid"], false);
    assert!(err.contains("NU au putut fi validate"), "{err}");

    let (rc, _, err) = check(dir.path().join("missing.xml").to_str().unwrap(), &sig);
    assert_eq!(rc, ANAF_ERR_FILE, "{err}");
}
