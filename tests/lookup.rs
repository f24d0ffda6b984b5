//! `anaf_company_lookup` against the simulator's registry of VAT payers: the ERP's CIFs as
//! it holds them, ANAF's 100-a-request and one-request-a-second limits, and bad answers.

mod common;

use anaf_bridge::status::*;
use common::*;
use serde_json::{json, Value};
use std::ffi::{c_char, CString};
use std::time::{Duration, Instant};

fn lookup(c: &CClient, cifs: &str, date: Option<&str>) -> Result<Value, (i32, String)> {
    let cifs = CString::new(cifs).unwrap();
    let date = date.map(|d| CString::new(d).unwrap());
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: live handle, NUL-terminated strings (or NULL), writable out pointer.
    let rc = unsafe {
        anaf_bridge::ffi::lookup::anaf_company_lookup(
            c.0,
            cifs.as_ptr(),
            date.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
            &mut out,
        )
    };
    if rc == ANAF_OK {
        Ok(serde_json::from_str(&take(out).unwrap()).unwrap())
    } else {
        Err((rc, last_error()))
    }
}

#[test]
fn a_partner_is_filled_in_from_its_cif_as_the_erp_holds_it() {
    let f = Fixture::new();
    // No token: the registry is public.
    let c = CClient::open(&f.config(json!({}))).unwrap();
    f.sim.set_registered("8000000000", false);
    let v = lookup(
        &c,
        r#"["RO 14399840", 14399840, "8000000000", "14399841"]"#,
        Some("2026-11-30"),
    )
    .unwrap();
    assert_eq!(v["date"], "2026-11-30");
    assert_eq!(v["requests"], 1);
    let found = v["found"].as_array().unwrap();
    assert_eq!(found.len(), 1, "the same CIF once: {v}");
    let p = &found[0];
    assert_eq!(p["cif"], "14399840");
    assert_eq!(p["name"], "FIRMA 14399840 SRL");
    assert_eq!(p["reg_com"], "J12/4841/2015");
    assert_eq!(
        (
            p["vat_payer"].clone(),
            p["e_factura"].clone(),
            p["inactive"].clone()
        ),
        (json!(true), json!(true), json!(true))
    );
    assert_eq!(p["inactive_since"], "2024-03-01");
    assert_eq!(p["e_factura_since"], "2022-07-01");
    assert_eq!(p["seat_address"]["county_code"], "CJ");
    assert_eq!(
        p["anaf"]["date_generale"]["data"], "2026-11-30",
        "the day asked for"
    );
    assert_eq!(v["not_found"], json!(["8000000000"]));
    assert_eq!(v["invalid"][0]["cif"], "14399841");
    assert!(v["invalid"][0]["message"]
        .as_str()
        .unwrap()
        .contains("cifra de control"));
    // Without a date: today's data.
    let v = lookup(&c, r#"["14399840"]"#, None).unwrap();
    assert_eq!(v["date"].as_str().unwrap().len(), 10);
}

#[test]
fn a_long_list_goes_100_at_a_time_one_request_a_second() {
    let f = Fixture::new();
    let c = CClient::open(&f.config(json!({}))).unwrap();
    let list = valid_cifs(1_000_000, 250);
    let t = Instant::now();
    let v = lookup(&c, &serde_json::to_string(&list).unwrap(), None).unwrap();
    let took = t.elapsed();
    assert_eq!(v["requests"], 3);
    assert_eq!(v["found"].as_array().unwrap().len(), 250);
    let k = f.sim.counters();
    assert_eq!((k.lookups, k.lookups_refused), (3, 0), "{k:?}");
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    // Two threads of the ERP at once share the pace: still nothing refused.
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| lookup(&c, r#"["14399840"]"#, None).unwrap());
        }
    });
    let k = f.sim.counters();
    assert_eq!((k.lookups, k.lookups_refused), (5, 0), "{k:?}");
}

#[test]
fn bad_lists_and_bad_answers_get_a_clear_status() {
    let f = Fixture::new();
    let c = CClient::open(&f.config(json!({}))).unwrap();
    for bad in [r#"{"cui": 14399840}"#, "[", r#"["14399841", "RO"]"#] {
        let (rc, msg) = lookup(&c, bad, None).unwrap_err();
        assert_eq!(rc, ANAF_ERR_INVALID_ARGUMENT, "{bad}: {msg}");
    }
    let (rc, msg) = lookup(&c, r#"["14399840"]"#, Some("30.11.2026")).unwrap_err();
    assert_eq!(rc, ANAF_ERR_INVALID_ARGUMENT);
    assert!(msg.contains("30.11.2026"), "{msg}");
    assert_eq!(f.sim.counters().lookups, 0, "nothing sent");
    // The firewall's page, and an answer that is not the registry's.
    f.sim
        .inject_on("/api/PlatitorTvaRest", anaf_sim::Fault::HtmlRejected, 10);
    let (rc, msg) = lookup(&c, r#"["14399840"]"#, None).unwrap_err();
    assert_eq!(rc, ANAF_ERR_HTML_RESPONSE, "{msg}");
    f.sim.clear_faults();
    f.sim.inject_on(
        "/api/PlatitorTvaRest",
        anaf_sim::Fault::Body {
            content_type: "application/json".into(),
            body: br#"{"cod": 200, "message": "SUCCESS"}"#.to_vec(),
        },
        1,
    );
    let (rc, msg) = lookup(&c, r#"["14399840"]"#, None).unwrap_err();
    assert!(
        rc == ANAF_ERR_BAD_RESPONSE || rc == ANAF_ERR_REJECTED,
        "{rc}: {msg}"
    );
    // The registry is back.
    assert!(lookup(&c, r#"["14399840"]"#, None).is_ok());
}

#[test]
fn a_request_of_another_machine_in_the_same_second_costs_a_wait_not_an_error() {
    let f = Fixture::new();
    let c = CClient::open(&f.config(json!({}))).unwrap();
    f.sim.registry_called_elsewhere();
    let v = lookup(&c, r#"["14399840"]"#, None).unwrap();
    assert_eq!(v["found"].as_array().unwrap().len(), 1, "{v}");
    let k = f.sim.counters();
    assert_eq!((k.lookups, k.lookups_refused), (2, 1), "{k:?}");
}
