//! `anaf_get_token` with a valid token (the call every ERP operation makes) against a bare
//! rusqlite SELECT of the same row on the same file. Target: at most 1.5× the bare SELECT.
//!
//! Run: `cargo bench -p anaf-bridge --no-default-features --bench get_token`
//! (a plain bench binary, `harness = false`; it prints its figures).

use anaf_bridge::ffi::core::{anaf_close, anaf_free, anaf_open};
use anaf_bridge::ffi::token::{anaf_get_token, anaf_import_token};
use anaf_bridge::ffi::AnafClient;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::ffi::{c_char, CString};
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ROUNDS: usize = 7;
const PER_ROUND: u32 = 50_000;

fn jwt(exp: u64, kind: &str) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS512","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(format!(
            r#"{{"iss":"https://logincert.anaf.ro","serial":"1A2B3C4D","exp":{exp},"token_use":"{kind}","clientappid":"bench"}}"#
        )),
        URL_SAFE_NO_PAD.encode([7u8; 256])
    )
}

/// Median time per operation over ROUNDS rounds of PER_ROUND calls.
fn measure(mut op: impl FnMut()) -> Duration {
    for _ in 0..PER_ROUND / 5 {
        op();
    }
    let mut per_op: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..PER_ROUND {
                op();
            }
            t.elapsed() / PER_ROUND
        })
        .collect();
    per_op.sort();
    per_op[ROUNDS / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("anaf.db");
    let config = serde_json::json!({
        "database": db, "cif": "14399840", "client_id": "bench-client",
        "client_secret": "s", "redirect_uri": "https://localhost:9443/cb",
        "environment": "prod", "idp_url": "https://127.0.0.1:9/"
    })
    .to_string();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (access, refresh) = (
        jwt(now + 80 * 86_400, "access"),
        jwt(now + 300 * 86_400, "refresh"),
    );

    let mut client: *mut AnafClient = std::ptr::null_mut();
    let cfg = CString::new(config).unwrap();
    let (a, r) = (
        CString::new(access.clone()).unwrap(),
        CString::new(refresh).unwrap(),
    );
    // SAFETY: valid strings and out pointers throughout; every returned string is freed.
    unsafe {
        assert_eq!(anaf_open(cfg.as_ptr(), &mut client), 0);
        assert_eq!(anaf_import_token(client, a.as_ptr(), r.as_ptr()), 0);
    }

    let get_token = || unsafe {
        let mut out: *mut c_char = std::ptr::null_mut();
        let rc = anaf_get_token(client, &mut out);
        debug_assert_eq!(rc, 0);
        black_box(out);
        anaf_free(out);
    };
    // Sanity: the call returns the stored token.
    unsafe {
        let mut out: *mut c_char = std::ptr::null_mut();
        assert_eq!(anaf_get_token(client, &mut out), 0);
        assert_eq!(std::ffi::CStr::from_ptr(out).to_str().unwrap(), access);
        anaf_free(out);
    }

    // The baselines: the same file, opened as the ERP would, same pragmas.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let key = ("14399840", "bench-client", "prod");
    let bare_access = || {
        let mut st = conn
            .prepare_cached(
                "SELECT access_token FROM anaf_token WHERE cif = ?1 AND client_id = ?2 AND environment = ?3",
            )
            .unwrap();
        let t: String = st.query_row(key, |r| r.get(0)).unwrap();
        black_box(t);
    };
    let bare_decision = || {
        let mut st = conn
            .prepare_cached(
                "SELECT access_token, access_expires_at, refresh_expires_at, refresh_refused_at \
                 FROM anaf_token WHERE cif = ?1 AND client_id = ?2 AND environment = ?3",
            )
            .unwrap();
        let t: (String, i64, i64, Option<i64>) = st
            .query_row(key, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap();
        black_box(t);
    };

    // Interleave to share any drift of the machine between the two.
    let mut api = Vec::new();
    let mut base1 = Vec::new();
    let mut base2 = Vec::new();
    for _ in 0..3 {
        api.push(measure(get_token));
        base1.push(measure(bare_access));
        base2.push(measure(bare_decision));
    }
    api.sort();
    base1.sort();
    base2.sort();
    let (api, base1, base2) = (api[1], base1[1], base2[1]);
    let ratio1 = api.as_nanos() as f64 / base1.as_nanos() as f64;
    let ratio2 = api.as_nanos() as f64 / base2.as_nanos() as f64;
    println!(
        "anaf_get_token (valid token, C API, incl. anaf_free): {:>7.2} µs/call",
        api.as_nanos() as f64 / 1000.0
    );
    println!("bare rusqlite SELECT access_token:                     {:>7.2} µs/call  -> ratio {ratio1:.2}x", base1.as_nanos() as f64 / 1000.0);
    println!("bare rusqlite SELECT of the 4 columns get_token reads: {:>7.2} µs/call  -> ratio {ratio2:.2}x", base2.as_nanos() as f64 / 1000.0);
    println!(
        "target: <= 1.50x the bare SELECT: {}",
        if ratio1 <= 1.5 { "met" } else { "NOT met" }
    );

    unsafe { anaf_close(client) };
}
