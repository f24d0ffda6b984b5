//! The log of a full run never holds a secret: a client with `log_file` goes through an
//! ERP's whole life against the simulator (authorization code exchange, import, refresh,
//! TestOauth, a 401 answered by a refresh, upload, status, list, download, diagnose, errors
//! with the token in the request) and the log file (and any rotated copy) is then searched
//! for every token, refresh token, authorization code, the client secret and the
//! certificate password (PIN) — whole or in part.

mod common;

use anaf_sim::Fault;
use common::{CClient, Fixture, CIF, SERIAL};
use serde_json::json;
use std::ffi::{c_char, CString};

fn call_json(rc_and_out: (i32, *mut c_char)) -> (i32, String) {
    let (rc, out) = rc_and_out;
    (rc, common::take(out).unwrap_or_default())
}

fn upload_file(c: &CClient, path: &std::path::Path) -> (i32, String) {
    let p = CString::new(path.to_str().unwrap()).unwrap();
    let o = CString::new(r#"{"standard":"UBL"}"#).unwrap();
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: a live handle, valid strings, a writable out pointer.
    let rc = unsafe {
        anaf_bridge::ffi::efactura::anaf_upload_file(c.0, p.as_ptr(), o.as_ptr(), &mut out)
    };
    call_json((rc, out))
}

fn status_wait(c: &CClient, index: &str) -> (i32, String) {
    let i = CString::new(index).unwrap();
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: as above.
    let rc =
        unsafe { anaf_bridge::ffi::efactura::anaf_status_wait(c.0, i.as_ptr(), 60, 300, &mut out) };
    call_json((rc, out))
}

fn download(c: &CClient, id: &str, zip: &std::path::Path) -> (i32, String) {
    let i = CString::new(id).unwrap();
    let z = CString::new(zip.to_str().unwrap()).unwrap();
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: as above.
    let rc = unsafe {
        anaf_bridge::ffi::efactura::anaf_download(c.0, i.as_ptr(), z.as_ptr(), 1, &mut out)
    };
    call_json((rc, out))
}

fn list(c: &CClient) -> (i32, String) {
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: as above; NULL filter means all.
    let rc = unsafe {
        anaf_bridge::ffi::efactura::anaf_list_messages(c.0, 10, std::ptr::null(), &mut out)
    };
    call_json((rc, out))
}

fn diagnose(c: &CClient) -> String {
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: as above.
    let rc = unsafe { anaf_bridge::ffi::diag::anaf_diagnose(c.0, &mut out) };
    assert_eq!(rc, 0, "{}", common::last_error());
    common::take(out).unwrap()
}

/// The value of a string or number field in a flat JSON answer.
fn field(json: &str, key: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    match &v[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        other => panic!("no {key} in {json} ({other})"),
    }
}

/// Pieces of a secret that must not appear either: each JWT part of 16+ characters, and
/// every 24-character window of an opaque value.
fn pieces(secret: &str) -> Vec<String> {
    let mut v = vec![secret.to_string()];
    if secret.matches('.').count() == 2 {
        // The header part is the same in every token ({"alg":...}): public, not searched.
        v.extend(
            secret
                .split('.')
                .skip(1)
                .filter(|p| p.len() >= 16)
                .map(str::to_string),
        );
    } else if secret.len() > 24 {
        let b = secret.as_bytes();
        v.extend(
            (0..=b.len() - 24)
                .step_by(8)
                .map(|i| String::from_utf8_lossy(&b[i..i + 24]).into_owned()),
        );
    }
    v
}

fn stored_refresh_token(f: &Fixture) -> String {
    f.store()
        .load(&common::profile())
        .unwrap()
        .unwrap()
        .refresh_token
}

#[test]
fn a_full_run_leaves_no_secret_in_the_log() {
    let f = Fixture::new();
    let log = f.dir.path().join("anaf-bridge.log");
    let pin = "PIN-7391-secret";
    let config = f.config(json!({
        "log_file": log,
        "cert_serial": SERIAL,
        "client_cert_password": pin,
        "language": "ro",
    }));
    let c = CClient::open(&config).expect("open");
    let mut secrets: Vec<(&str, String)> = vec![
        ("client secret", "sim-client-secret".into()),
        ("PIN", pin.into()),
    ];

    // The first token, by the authorization-code path (as after the login window).
    let session = f.session(json!({ "cert_serial": SERIAL }));
    let code = f.auth_code(&session, SERIAL);
    secrets.push(("authorization code", code.clone()));
    c.exchange_code(&code).expect("exchange the code");
    secrets.push(("access token (code)", c.get_token().unwrap()));
    secrets.push(("refresh token (code)", stored_refresh_token(&f)));
    // A second code spent twice: the error path logs ANAF's answer, never the code.
    let code2 = f.auth_code(&session, SERIAL);
    secrets.push(("second authorization code", code2.clone()));
    c.exchange_code(&code2).expect("second exchange");
    assert!(c.exchange_code(&code2).is_err(), "a spent code is refused");
    secrets.push(("access token (code 2)", c.get_token().unwrap()));
    secrets.push(("refresh token (code 2)", stored_refresh_token(&f)));

    // An imported pair, then a refresh (rotation: new access and refresh token).
    let t = f.sim.mint_tokens(CIF, SERIAL);
    c.import_token(&t.access_token, &t.refresh_token)
        .expect("import");
    secrets.push(("imported access token", t.access_token.clone()));
    secrets.push(("imported refresh token", t.refresh_token.clone()));
    c.test_token().expect("TestOauth");
    c.refresh().expect("refresh");
    secrets.push(("refreshed access token", c.get_token().unwrap()));
    secrets.push(("refreshed refresh token", stored_refresh_token(&f)));
    assert!(c.token_info().is_ok());

    // e-Factura: upload, a 401 on the status call (refresh and retry), status, list, download.
    let invoice =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo/factura.xml");
    let (rc, up) = upload_file(&c, &invoice);
    assert!(rc >= 0, "upload: {rc} {}", common::last_error());
    let index = field(&up, "index_incarcare");
    f.sim
        .inject_on("/test/FCTEL/rest/stareMesaj", Fault::Status(401), 1);
    let (rc, st) = status_wait(&c, &index);
    assert_eq!(rc, 0, "status: {}", common::last_error());
    secrets.push(("access token after 401", c.get_token().unwrap()));
    secrets.push(("refresh token after 401", stored_refresh_token(&f)));
    let id = field(&st, "id_descarcare");
    assert_eq!(list(&c).0, 0, "list: {}", common::last_error());
    let (rc, _) = download(&c, &id, &f.dir.path().join("answer.zip"));
    assert_eq!(rc, 0, "download: {}", common::last_error());
    // Failures with the bearer token on the wire: a gateway error and a reset.
    // (Injected more than once: the client may retry a gateway error.)
    f.sim
        .inject_on("/test/FCTEL/rest/listaMesaje", Fault::Status(502), 20);
    assert_ne!(list(&c).0, 0, "a 502 is an error");
    f.sim.clear_faults();
    f.sim
        .inject_on("/test/FCTEL/rest/listaMesaje", Fault::Reset, 20);
    assert_ne!(list(&c).0, 0, "a reset is an error");
    f.sim.clear_faults();
    let report = diagnose(&c);
    for (what, s) in &secrets {
        assert!(
            !report.contains(s.as_str()),
            "the diagnose report holds the {what}"
        );
    }
    // Deleting the token and closing are logged too.
    c.delete_token().expect("delete");
    drop(c);

    let mut text = String::new();
    for p in [
        log.clone(),
        log.with_extension("log.1"),
        log.with_extension("log.2"),
        log.with_extension("log.3"),
    ] {
        if let Ok(t) = std::fs::read_to_string(&p) {
            text.push_str(&t);
        }
    }
    // The log is real: it tells what happened (so an empty file cannot pass).
    assert!(text.lines().count() >= 10, "the log is too short:\n{text}");
    assert!(
        text.contains("anaf::"),
        "log lines carry their module:\n{text}"
    );
    assert!(text.contains(CIF), "the log names the company:\n{text}");
    assert!(
        text.contains("anaf::diagnose: token ok"),
        "the diagnose findings are logged:\n{text}"
    );
    let leaks = find_leaks(&text, &secrets);
    assert!(
        leaks.is_empty(),
        "secrets in the log:\n{}",
        leaks.join("\n")
    );
    // The search itself finds a leak (whole, or only the signature of a JWT).
    let planted = format!("{text}\nDEBUG x: refresh={}\n", secrets.last().unwrap().1);
    let found = find_leaks(&planted, &secrets);
    assert_eq!(found.len(), 1, "{found:#?}");
    let sig = secrets[3].1.rsplit('.').next().unwrap().to_string();
    assert_eq!(
        find_leaks(&format!("{text}\nsig {sig}\n"), &secrets).len(),
        1,
        "{}",
        secrets[3].0
    );
}

fn find_leaks(text: &str, secrets: &[(&str, String)]) -> Vec<String> {
    let mut leaks = Vec::new();
    for (what, s) in secrets {
        assert!(s.len() >= 6, "{what} is too short to search for: {s:?}");
        for piece in pieces(s) {
            if let Some(line) = text.lines().find(|l| l.contains(&piece)) {
                leaks.push(format!(
                    "{what} ({}…) in: {line}",
                    &piece[..piece.len().min(12)]
                ));
                break;
            }
        }
    }
    leaks
}
