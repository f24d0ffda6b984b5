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

const WARMUP: u32 = 5_000;
const BATCHES: usize = 200;
const PER_BATCH: u32 = 1_000;

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

    // Where the time goes: the Rust API without the C boundary, and the store's query alone.
    let session = anaf_bridge::client::Session::open(
        anaf_bridge::config::Config::from_json(cfg.to_str().unwrap()).unwrap(),
    )
    .unwrap();
    let rust_api = || {
        black_box(session.access_token().unwrap());
    };
    let store_only = || {
        black_box(
            session
                .store
                .fresh_access_token("14399840", "bench-client", "prod", None, 1_000_000_000, 0)
                .unwrap(),
        );
    };

    // The machine is shared (builds run beside): alternate short batches of the call and
    // of the baseline and take the median of the per-batch ratios, which cancels drift.
    type Op<'a> = (&'static str, Box<dyn FnMut() + 'a>);
    let mut ops: Vec<Op> = vec![
        (
            "anaf_get_token (valid token, C API, incl. anaf_free)",
            Box::new(get_token),
        ),
        ("Session::access_token (Rust API)", Box::new(rust_api)),
        ("the store's fast-path SELECT alone", Box::new(store_only)),
        (
            "bare rusqlite SELECT access_token (baseline)",
            Box::new(bare_access),
        ),
        (
            "bare rusqlite SELECT of 4 decision columns",
            Box::new(bare_decision),
        ),
    ];
    for (_, op) in ops.iter_mut() {
        for _ in 0..WARMUP {
            op();
        }
    }
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); ops.len()];
    for _ in 0..BATCHES {
        for (k, (_, op)) in ops.iter_mut().enumerate() {
            let t = Instant::now();
            for _ in 0..PER_BATCH {
                op();
            }
            samples[k].push(t.elapsed().as_nanos() as f64 / PER_BATCH as f64);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let mut ratios: Vec<f64> = (0..BATCHES)
        .map(|b| samples[0][b] / samples[3][b])
        .collect();
    let ratio = median(&mut ratios);
    println!("median of {BATCHES} batches x {PER_BATCH} calls each:");
    for (k, (name, _)) in ops.iter().enumerate() {
        println!(
            "  {name:<55} {:>7.2} µs/call",
            median(&mut samples[k]) / 1000.0
        );
    }
    println!(
        "ratio anaf_get_token / bare SELECT (median of per-batch ratios): {ratio:.2}x -> target <= 1.50x {}",
        if ratio <= 1.5 { "met" } else { "NOT met" }
    );

    unsafe { anaf_close(client) };
}
