//! `anaf_get_token` with a valid token kept on PostgreSQL through ODBC, against a bare ODBC
//! SELECT of the same row by a connection of the same driver to the same server. Target:
//! at most 1.5× the bare SELECT.
//!
//! Needs a server: `ANAF_TEST_ODBC_POSTGRES` (scripts/lib/dbservers.sh starts one), e.g.
//!   source scripts/lib/dbservers.sh && db_servers_start && \
//!   cargo bench -p anaf-bridge --bench get_token_odbc; db_servers_stop
//! (a plain bench binary, `harness = false`; it prints its figures).

use anaf_bridge::ffi::core::{anaf_close, anaf_free, anaf_open};
use anaf_bridge::ffi::token::{anaf_get_token, anaf_import_token};
use anaf_bridge::ffi::AnafClient;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use odbc_api::{ConnectionOptions, Cursor, IntoParameter};
use std::ffi::{c_char, CString};
use std::hint::black_box;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const WARMUP: u32 = 500;
const BATCHES: usize = 60;
const PER_BATCH: u32 = 200;

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
    let Ok(odbc) = std::env::var("ANAF_TEST_ODBC_POSTGRES") else {
        println!("ANAF_TEST_ODBC_POSTGRES is not set: no server to measure (see the header of benches/get_token_odbc.rs)");
        return;
    };
    let config = serde_json::json!({
        "odbc": odbc, "cif": "14399840", "client_id": "bench-client",
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
    unsafe {
        let mut out: *mut c_char = std::ptr::null_mut();
        assert_eq!(anaf_get_token(client, &mut out), 0);
        assert_eq!(std::ffi::CStr::from_ptr(out).to_str().unwrap(), access);
        anaf_free(out);
    }

    // The baseline: a connection of the same driver, the row's access token by its key.
    let env = odbc_api::environment().unwrap();
    let conn = env
        .connect_with_connection_string(&odbc, ConnectionOptions::default())
        .unwrap();
    let mut buf = Vec::new();
    let mut bare = || {
        let params = (
            &"14399840".into_parameter(),
            &"bench-client".into_parameter(),
            &"prod".into_parameter(),
        );
        let mut cursor = conn
            .execute("SELECT access_token FROM anaf_token WHERE cif = ? AND client_id = ? AND environment = ?", params, None)
            .unwrap()
            .unwrap();
        let mut row = cursor.next_row().unwrap().unwrap();
        row.get_text(1, &mut buf).unwrap();
        black_box(&buf);
    };

    // Where the time goes: the store's fast path alone, through the seam.
    let session = anaf_bridge::client::Session::open(
        anaf_bridge::config::Config::from_json(cfg.to_str().unwrap()).unwrap(),
    )
    .unwrap();
    let store_only = || {
        black_box(
            session
                .store
                .fresh_access_token("14399840", "bench-client", "prod", None, 1_000_000_000, 0)
                .unwrap(),
        );
    };
    type Op<'a> = (&'static str, Box<dyn FnMut() + 'a>);
    let mut ops: Vec<Op> = vec![
        (
            "anaf_get_token (valid token on PostgreSQL, C API)",
            Box::new(get_token),
        ),
        (
            "bare ODBC SELECT access_token (baseline)",
            Box::new(&mut bare),
        ),
        ("the store's fast-path SELECT alone", Box::new(store_only)),
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
        .map(|b| samples[0][b] / samples[1][b])
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
        "ratio anaf_get_token / bare ODBC SELECT (median of per-batch ratios): {ratio:.2}x -> target <= 1.50x {}",
        if ratio <= 1.5 { "met" } else { "NOT met" }
    );
    unsafe { anaf_close(client) };
}
