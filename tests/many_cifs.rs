//! One certificate, many companies, against the simulator on every storage backend: an
//! accountant's certificate enrolled in SPV for 50 firms logs in once and serves them all
//! (one token row, one refresh across processes), another certificate enrolled for 2 is
//! refused by ANAF for a third firm (its words kept, the firm not served, then served once
//! SPV grants the right), and a schema-3 file keeps its tokens without a login.

mod common;

use anaf_bridge::status::*;
use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{c_char, CString};
use std::time::Duration;

on_every_backend!(
    one_login_serves_fifty_companies_and_one_refresh_keeps_them_all,
    a_company_outside_the_enrolment_is_refused_with_anafs_words_and_not_served,
);

/// The accountant's certificate (50 firms) and a second one (2 firms).
const S1: &str = "5E1A0001";
const S2: &str = "5E2B0002";

const JOB: &str = "ANAF_MANY_CIFS_CHILD";
const CONFIG: &str = "ANAF_MANY_CIFS_CONFIG";
const CIFS: &str = "ANAF_MANY_CIFS_CIFS";
const START_AT: &str = "ANAF_MANY_CIFS_START_AT";

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The configuration of a firm whose token is its accountant's certificate's.
fn firm_config(f: &Fixture, cif: &str, serial: &str) -> String {
    f.config(json!({"cif": cif, "cert_serial": serial, "token_for": "certificate"}))
}

/// The same configuration for another firm.
fn with_cif(config: &str, cif: &str) -> String {
    let mut v: Value = serde_json::from_str(config).unwrap();
    v["cif"] = json!(cif);
    v.to_string()
}

/// One login with the USB token holding `serial`, made from `c`'s firm.
fn login(f: &Fixture, c: &CClient, cif: &str, serial: &str) {
    let code = f.auth_code(&f.session(json!({ "cif": cif })), serial);
    c.exchange_code(&code)
        .unwrap_or_else(|e| panic!("login for {cif}: {e:?}"));
}

fn assign(c: &CClient, serial: Option<&str>) -> Result<Value, (i32, String)> {
    let s = serial.map(|s| CString::new(s).unwrap());
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: live handle, NULL or a NUL-terminated string, writable out pointer.
    let rc = unsafe {
        anaf_bridge::ffi::token::anaf_token_assign(
            c.0,
            s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            &mut out,
        )
    };
    match rc {
        ANAF_OK => Ok(serde_json::from_str(&take(out).unwrap()).unwrap()),
        _ => {
            assert!(out.is_null());
            Err((rc, last_error()))
        }
    }
}

/// `anaf_token_info`'s `cifs`, by CIF.
fn companies(info: &Value) -> BTreeMap<String, Value> {
    info["cifs"]
        .as_array()
        .unwrap_or_else(|| panic!("no cifs in {info}"))
        .iter()
        .map(|e| (e["cif"].as_str().unwrap().to_string(), e.clone()))
        .collect()
}

/// The report view as an ERP reads it: (cif, token_cif) per row.
fn view(f: &Fixture) -> BTreeMap<String, String> {
    let rows = f.sql_rows("SELECT cif, token_cif FROM anaf_token_v");
    let n = rows.len();
    let m: BTreeMap<String, String> = rows
        .into_iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect();
    assert_eq!(m.len(), n, "one row per company in the view");
    m
}

fn one_login_serves_fifty_companies_and_one_refresh_keeps_them_all(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let firms = valid_cifs(2_000_000, 50);
    for cif in &firms {
        f.sim.set_enrolled(S1, cif, true);
    }
    let base = firm_config(&f, &firms[0], S1);
    let handles: Vec<CClient> = firms
        .iter()
        .map(|cif| CClient::open(&with_cif(&base, cif)).unwrap())
        .collect();
    assert_eq!(handles[7].get_token().unwrap_err().0, ANAF_ERR_NO_TOKEN);

    // The accountant logs in once, from the first firm; every firm then uses that token.
    login(&f, &handles[0], &firms[0], S1);
    let token = handles[0].get_token().unwrap();
    for (i, (h, cif)) in handles.iter().zip(&firms).enumerate() {
        assert_eq!(h.get_token().unwrap(), token, "{cif}");
        let (rc, v) = h.upload(&invoice_of(cif, &format!("MC-{i:03}")));
        assert_eq!(rc, ANAF_OK, "{cif}: {v} {}", last_error());
    }
    let k = f.sim.counters();
    assert_eq!(k.token_code_grants, 1, "one login: {k:?}");
    for cif in &firms {
        assert_eq!(k.uploads.get(cif), Some(&1), "{cif}: {k:?}");
    }
    // Opening a handle for another firm costs no login and shares the store of the others.
    let (s1, s2) = (
        f.session(json!({"cif": firms[1], "cert_serial": S1, "token_for": "certificate"})),
        f.session(json!({"cif": firms[2], "cert_serial": S1, "token_for": "certificate"})),
    );
    assert!(std::sync::Arc::ptr_eq(&s1.store, &s2.store), "one store");

    // The token lists the fifty, each accepted by ANAF; one token row, fifty view rows.
    let info = handles[9].token_info().unwrap();
    assert_eq!(
        (&info["token_cif"], &info["serial"]),
        (&json!(firms[0]), &json!(S1))
    );
    let listed = companies(&info);
    assert_eq!(
        listed.keys().collect::<Vec<_>>(),
        firms
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    for (cif, e) in &listed {
        assert_eq!(e["served"], true, "{e}");
        assert!(e["accepted_at"].is_string(), "{cif} accepted: {e}");
        let by = if cif == &firms[0] { "login" } else { "config" };
        assert_eq!(e["assigned_by"], by, "{e}");
    }
    assert_eq!(f.sql_rows("SELECT cif FROM anaf_token").len(), 1);
    let v = view(&f);
    assert_eq!(v.len(), 50);
    assert!(
        v.iter().all(|(c, t)| firms.contains(c) && t == &firms[0]),
        "{v:?}"
    );

    // Near expiry, three other processes (workstations) ask for the token of their firms
    // at once: one refresh at ANAF keeps all fifty going.
    let soon = unix_ms() / 1000 + 3600;
    f.sql_exec(&format!("UPDATE anaf_token SET access_expires_at = {soon}"));
    f.sim.inject_on(
        "/anaf-oauth2/v1/token",
        anaf_sim::Fault::Latency(Duration::from_millis(500)),
        1,
    );
    let start_at = unix_ms() + 2_500;
    let children: Vec<_> = firms
        .chunks(17)
        .map(|part| {
            child(
                "child_main",
                &[
                    (JOB, "tokens".into()),
                    (CONFIG, base.clone()),
                    (CIFS, part.join(",")),
                    (START_AT, start_at.to_string()),
                ],
            )
            .spawn()
            .expect("child process")
        })
        .collect();
    let mut fresh = BTreeMap::new();
    for ch in children {
        let out = ch.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in stdout.lines() {
            let mut w = line.split(' ');
            match (w.next(), w.next(), w.next()) {
                (Some("TOKEN"), Some(cif), Some(t)) => {
                    fresh.insert(cif.to_string(), t.to_string());
                }
                (Some("ERROR"), ..) => panic!("a firm failed: {line}"),
                _ => {}
            }
        }
    }
    assert_eq!(fresh.len(), 50, "every firm answered: {fresh:?}");
    let new = fresh.values().next().unwrap().clone();
    assert_ne!(new, token, "the token was refreshed");
    assert!(fresh.values().all(|t| t == &new), "one new token for all");
    let k = f.sim.counters();
    assert_eq!((k.token_refresh_grants, k.refresh_refused), (1, 0), "{k:?}");
    // This process's handles go on with the new token.
    for (i, (h, cif)) in handles.iter().zip(&firms).enumerate() {
        assert_eq!(h.get_token().unwrap(), new, "{cif}");
        let (rc, v) = h.upload(&invoice_of(cif, &format!("MC-B-{i:03}")));
        assert_eq!(rc, ANAF_OK, "{cif}: {v} {}", last_error());
    }
    let k = f.sim.counters();
    assert_eq!(
        (k.token_code_grants, k.token_refresh_grants),
        (1, 1),
        "{k:?}"
    );
    assert!(firms.iter().all(|c| k.uploads.get(c) == Some(&2)), "{k:?}");
}

fn a_company_outside_the_enrolment_is_refused_with_anafs_words_and_not_served(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let firms = valid_cifs(3_000_000, 3);
    let (a, bb, outsider) = (&firms[0], &firms[1], &firms[2]);
    f.sim.set_enrolled(S2, a, true);
    f.sim.set_enrolled(S2, bb, true);
    f.sim.set_enrolled(S2, outsider, false);
    let ha = CClient::open(&firm_config(&f, a, S2)).unwrap();
    // The second firm's ERP names no certificate: it assigns the firm with a call.
    let hb = CClient::open(&f.config(json!({ "cif": bb }))).unwrap();
    assert_eq!(assign(&hb, Some(S2)).unwrap_err().0, ANAF_ERR_NO_TOKEN);
    login(&f, &ha, a, S2);
    let info = assign(&hb, Some("5e:2b:00:02")).expect("assigned");
    assert_eq!((&info["token_cif"], &info["cif"]), (&json!(a), &json!(bb)));
    assert_eq!(hb.get_token().unwrap(), ha.get_token().unwrap());
    assert_eq!(
        hb.upload(&invoice_of(bb, "B-1")).0,
        ANAF_OK,
        "{}",
        last_error()
    );

    // A firm the certificate is not enrolled for: ANAF's words, the serial, not served.
    let hx = CClient::open(&firm_config(&f, outsider, S2)).unwrap();
    let (rc, v) = hx.upload(&invoice_of(outsider, "X-1"));
    let err = last_error();
    assert_eq!(rc, ANAF_ERR_UNAUTHORIZED, "{v} {err}");
    let words = format!("Nu aveti drept in SPV pentru CIF={outsider}");
    assert!(err.contains(&words), "{err}");
    let info = hx.token_info().unwrap();
    let listed = companies(&info);
    let x = &listed[outsider.as_str()];
    assert_eq!(x["served"], false, "{x}");
    assert!(x["refused_at"].is_string(), "{x}");
    let status = x["status"].as_str().unwrap_or_default();
    assert!(status.contains(&words) && status.contains(S2), "{x}");
    assert_eq!(
        (
            &listed[a.as_str()]["served"],
            &listed[bb.as_str()]["served"]
        ),
        (&json!(true), &json!(true))
    );
    assert_eq!(
        view(&f).keys().collect::<Vec<_>>(),
        vec![a, bb],
        "the outsider is not in the view"
    );
    assert_eq!(f.sim.counters().uploads.get(outsider.as_str()), None);

    // SPV grants the right later: the same token works for it, nothing to do here.
    f.sim.set_enrolled(S2, outsider, true);
    let (rc, v) = hx.upload(&invoice_of(outsider, "X-2"));
    assert_eq!(rc, ANAF_OK, "{v} {}", last_error());
    let x = companies(&hx.token_info().unwrap())[outsider.as_str()].clone();
    assert_eq!(
        (&x["served"], &x["status"]),
        (&json!(true), &Value::Null),
        "{x}"
    );
    assert_eq!(view(&f).len(), 3);
    assert_eq!(f.sim.counters().token_code_grants, 1);
}

mod firms_move_from_the_file {
    use super::*;
    #[test]
    fn to_postgresql() {
        firms_move_from_the_file_to_the_server_with_their_token(Backend::Postgres);
    }
    #[test]
    fn to_mariadb() {
        firms_move_from_the_file_to_the_server_with_their_token(Backend::MariaDb);
    }
}

/// An accounting firm moving its file to the ERP's server (`anaf_store_migrate`): the one
/// token goes with every firm it serves, so no firm needs a login on the server.
fn firms_move_from_the_file_to_the_server_with_their_token(b: Backend) {
    let Some(server) = Fixture::on(b) else { return };
    let file = Fixture::new();
    // One simulator for both configurations: the server fixture lends only its database.
    let firms = valid_cifs(5_000_000, 4);
    for cif in &firms {
        file.sim.set_enrolled(S1, cif, true);
    }
    let base = firm_config(&file, &firms[0], S1);
    let first = CClient::open(&base).unwrap();
    login(&file, &first, &firms[0], S1);
    let token = first.get_token().unwrap();
    for cif in &firms[1..] {
        let c = CClient::open(&with_cif(&base, cif)).unwrap();
        assert_eq!(c.get_token().unwrap(), token, "{cif}");
    }
    let mut to: Value = serde_json::from_str(&base).unwrap();
    to["database"] = Value::Null;
    to["odbc"] = json!(server.odbc.clone().unwrap());
    // The server's configuration names no certificate: the assignments must come along.
    to.as_object_mut().unwrap().remove("token_for");
    let to = to.to_string();
    let (fc, tc) = (
        CString::new(base.clone()).unwrap(),
        CString::new(to.clone()).unwrap(),
    );
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: two NUL-terminated strings and a writable out pointer.
    let rc =
        unsafe { anaf_bridge::ffi::token::anaf_store_migrate(fc.as_ptr(), tc.as_ptr(), &mut out) };
    assert_eq!(rc, ANAF_OK, "{}", last_error());
    let r: Value = serde_json::from_str(&take(out).unwrap()).unwrap();
    assert_eq!(r["tokens"].as_array().map(Vec::len), Some(1), "{r}");
    assert_eq!(r["served"], json!({"read": 4, "copied": 4}), "{r}");
    for (i, cif) in firms.iter().enumerate() {
        let c = CClient::open(&with_cif(&to, cif)).unwrap();
        assert_eq!(c.get_token().unwrap(), token, "{cif}");
        let info = c.token_info().unwrap();
        assert_eq!(info["token_cif"], json!(firms[0]), "{info}");
        assert_eq!(companies(&info).len(), 4, "{info}");
        assert_eq!(
            c.upload(&invoice_of(cif, &format!("MV-{i}"))).0,
            ANAF_OK,
            "{}",
            last_error()
        );
    }
    let view = server.sql_rows("SELECT cif, token_cif FROM anaf_token_v");
    assert_eq!(view.len(), 4, "{view:?}");
    let k = file.sim.counters();
    assert_eq!((k.token_code_grants, k.refresh_refused), (1, 0), "{k:?}");
}

/// A file an older DLL wrote (schema 3: a token row per firm, two of one certificate) keeps
/// working without a login; each firm keeps its row in the view, and a firm newly set to
/// its certificate's token uses one of them.
#[test]
fn a_schema_3_file_keeps_its_tokens_and_a_row_per_company() {
    let f = Fixture::new();
    let firms = valid_cifs(4_000_000, 3);
    for cif in &firms {
        f.sim.set_enrolled(S1, cif, true);
    }
    let pairs: Vec<_> = firms[..2]
        .iter()
        .map(|c| f.sim.mint_tokens(c, S1))
        .collect();
    {
        let mut c = rusqlite::Connection::open(f.db()).unwrap();
        anaf_bridge::store::schema::migrate_to(&mut c, 3).unwrap();
        let now = (unix_ms() / 1000) as i64;
        for (cif, p) in firms.iter().zip(&pairs) {
            c.execute(
                "INSERT INTO anaf_token (cif, client_id, environment, access_token, refresh_token,
                     access_expires_at, refresh_expires_at, cert_serial, obtained_at)
                 VALUES (?1, 'sim-client-id', 'test', ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![
                    cif,
                    p.access_token,
                    p.refresh_token,
                    now + p.expires_in as i64,
                    now + 365 * 86_400,
                    S1,
                    now - 86_400
                ],
            )
            .unwrap();
        }
    }
    for (i, (cif, p)) in firms.iter().zip(&pairs).enumerate() {
        let c = CClient::open(&f.config(json!({ "cif": cif }))).unwrap();
        assert_eq!(c.get_token().unwrap(), p.access_token, "{cif}");
        assert_eq!(
            c.upload(&invoice_of(cif, &format!("M3-{i}"))).0,
            ANAF_OK,
            "{}",
            last_error()
        );
        let info = c.token_info().unwrap();
        assert_eq!(info["token_cif"], json!(cif));
        assert_eq!(
            companies(&info)[cif.as_str()]["assigned_by"],
            "migration",
            "{info}"
        );
    }
    let v = view(&f);
    assert_eq!(v.len(), 2);
    assert!(v.iter().all(|(c, t)| c == t), "{v:?}");
    // The third firm, set to the certificate's token, uses one of the two rows.
    let c = CClient::open(&firm_config(&f, &firms[2], S1)).unwrap();
    let t = c.get_token().unwrap();
    assert!(pairs.iter().any(|p| p.access_token == t));
    assert_eq!(
        c.upload(&invoice_of(&firms[2], "M3-2")).0,
        ANAF_OK,
        "{}",
        last_error()
    );
    assert_eq!(view(&f).len(), 3);
    let k = f.sim.counters();
    assert_eq!(
        (k.token_code_grants, k.token_refresh_grants),
        (0, 0),
        "{k:?}"
    );
}

/// The child process: handles for the firms of `CIFS`, each asking for its token from a
/// thread of its own at `START_AT`; prints `TOKEN <cif> <token>` or `ERROR …` per firm.
#[test]
#[ignore]
fn child_main() {
    let Ok(job) = std::env::var(JOB) else {
        return;
    };
    assert_eq!(job, "tokens");
    let config = std::env::var(CONFIG).unwrap();
    let start_at: u64 = std::env::var(START_AT).unwrap().parse().unwrap();
    let cifs: Vec<String> = std::env::var(CIFS)
        .unwrap()
        .split(',')
        .map(String::from)
        .collect();
    let handles: Vec<(String, CClient)> = cifs
        .iter()
        .map(|c| (c.clone(), CClient::open(&with_cif(&config, c)).unwrap()))
        .collect();
    std::thread::scope(|s| {
        for (cif, h) in &handles {
            s.spawn(move || {
                while unix_ms() < start_at {
                    std::thread::sleep(Duration::from_millis(1));
                }
                match h.get_token() {
                    Ok(t) => println!("TOKEN {cif} {t}"),
                    Err((rc, msg)) => println!("ERROR {cif} {rc} {msg}"),
                }
            });
        }
    });
}
