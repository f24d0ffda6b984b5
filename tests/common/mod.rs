//! Shared helpers of the integration tests: a simulator with a token database beside it,
//! configuration JSON, the C API wrapped for Rust, an authorization code obtained with a
//! client certificate (no browser), and re-running the test binary as a child process.
//!
//! Each test binary includes this with `mod common;`; not every binary uses every helper.
#![allow(dead_code)]

use anaf_bridge::client::Session;
use anaf_bridge::config::Config;
use anaf_bridge::ffi::AnafClient;
use anaf_sim::{Sim, SimConfig};
use serde_json::{json, Value};
use std::ffi::{c_char, CStr, CString};
use std::path::PathBuf;
use std::sync::Arc;

pub const CIF: &str = "14399840";
pub const SERIAL: &str = "1A2B3C4D";

/// A simulator and a temporary folder for the token database.
pub struct Fixture {
    pub sim: Sim,
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture {
            sim: Sim::start(SimConfig::default()).expect("simulator"),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("anaf.db")
    }

    /// The configuration JSON for the simulator; `extra` overrides or adds keys.
    pub fn config(&self, extra: Value) -> String {
        config_for(
            &self.sim.idp_url(),
            &self.sim.api_url(),
            &self.sim.public_url(),
            &self.sim.ca_pem_path(),
            &self.db(),
            extra,
        )
    }

    pub fn session(&self, extra: Value) -> Arc<Session> {
        Arc::new(
            Session::open(Config::from_json(&self.config(extra)).expect("config"))
                .expect("session"),
        )
    }

    /// An authorization code from the simulator's /authorize, presenting the client
    /// certificate with `serial` as the USB token would.
    pub fn auth_code(&self, session: &Session, serial: &str) -> String {
        let cert = self.sim.client_cert(serial);
        let state = anaf_bridge::client::oauth::new_state();
        let url = anaf_bridge::client::oauth::authorize_url(&session.config, &state)
            .expect("authorize url");
        let mut pem = std::fs::read(&cert.cert_pem).unwrap();
        pem.extend(std::fs::read(&cert.key_pem).unwrap());
        let ca = std::fs::read(self.sim.ca_pem_path()).unwrap();
        let location = anaf_bridge::client::http::block_on(async move {
            let c = reqwest::Client::builder()
                .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
                .identity(reqwest::Identity::from_pem(&pem).unwrap())
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let r = c.get(url).send().await.expect("authorize request");
            assert_eq!(r.status().as_u16(), 302, "authorize answer");
            r.headers()[reqwest::header::LOCATION]
                .to_str()
                .unwrap()
                .to_string()
        });
        let loc = url::Url::parse(&location).unwrap();
        let q: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
        assert_eq!(q.get("state"), Some(&state), "state comes back");
        q.get("code")
            .unwrap_or_else(|| panic!("no code in {location}"))
            .clone()
    }
}

pub fn config_for(
    idp: &str,
    api: &str,
    public: &str,
    ca: &std::path::Path,
    db: &std::path::Path,
    extra: Value,
) -> String {
    let mut v = json!({
        "idp_url": idp,
        "api_url": api,
        "public_url": public,
        "ca_file": ca,
        "database": db,
        "cif": CIF,
        "client_id": "sim-client-id",
        "client_secret": "sim-client-secret",
        "redirect_uri": "https://localhost:9443/anaf/callback",
        "environment": "test",
        "language": "en",
        "timeout_seconds": 10,
        "connect_timeout_seconds": 5
    });
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    v.to_string()
}

/// The C API, wrapped: every call returns its status and the thread's last error.
pub struct CClient(pub *mut AnafClient);

unsafe impl Send for CClient {}
unsafe impl Sync for CClient {}

pub fn last_error() -> String {
    // SAFETY: anaf_last_error returns a valid NUL-terminated thread-local string.
    unsafe { CStr::from_ptr(anaf_bridge::ffi::core::anaf_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// Takes a string the library returned and frees it with `anaf_free`.
pub fn take(p: *mut c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: p came from the library and is freed once, here.
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    unsafe { anaf_bridge::ffi::core::anaf_free(p) };
    Some(s)
}

impl CClient {
    pub fn open(config: &str) -> Result<CClient, (i32, String)> {
        let c = CString::new(config).unwrap();
        let mut h: *mut AnafClient = std::ptr::null_mut();
        // SAFETY: valid string and out pointer.
        let rc = unsafe { anaf_bridge::ffi::core::anaf_open(c.as_ptr(), &mut h) };
        if rc == 0 {
            Ok(CClient(h))
        } else {
            Err((rc, last_error()))
        }
    }

    pub fn get_token(&self) -> Result<String, (i32, String)> {
        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: live handle, writable out pointer.
        let rc = unsafe { anaf_bridge::ffi::token::anaf_get_token(self.0, &mut out) };
        if rc == 0 {
            Ok(take(out).expect("token"))
        } else {
            assert!(out.is_null());
            Err((rc, last_error()))
        }
    }

    pub fn token_info(&self) -> Result<Value, (i32, String)> {
        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: as above.
        let rc = unsafe { anaf_bridge::ffi::token::anaf_token_info(self.0, &mut out) };
        if rc == 0 {
            Ok(serde_json::from_str(&take(out).unwrap()).unwrap())
        } else {
            Err((rc, last_error()))
        }
    }

    pub fn status(&self, rc: i32) -> Result<(), (i32, String)> {
        if rc == 0 {
            Ok(())
        } else {
            Err((rc, last_error()))
        }
    }

    pub fn refresh(&self) -> Result<(), (i32, String)> {
        // SAFETY: live handle.
        self.status(unsafe { anaf_bridge::ffi::token::anaf_refresh(self.0) })
    }

    pub fn test_token(&self) -> Result<(), (i32, String)> {
        // SAFETY: live handle.
        self.status(unsafe { anaf_bridge::ffi::token::anaf_test_token(self.0) })
    }

    pub fn delete_token(&self) -> Result<(), (i32, String)> {
        // SAFETY: live handle.
        self.status(unsafe { anaf_bridge::ffi::token::anaf_delete_token(self.0) })
    }

    pub fn exchange_code(&self, code: &str) -> Result<(), (i32, String)> {
        let c = CString::new(code).unwrap();
        // SAFETY: live handle, valid string.
        self.status(unsafe { anaf_bridge::ffi::token::anaf_exchange_code(self.0, c.as_ptr()) })
    }

    pub fn import_token(&self, access: &str, refresh: &str) -> Result<(), (i32, String)> {
        let (a, r) = (
            CString::new(access).unwrap(),
            CString::new(refresh).unwrap(),
        );
        // SAFETY: live handle, valid strings.
        self.status(unsafe {
            anaf_bridge::ffi::token::anaf_import_token(self.0, a.as_ptr(), r.as_ptr())
        })
    }

    pub fn authorize_url(&self, state: Option<&str>) -> Result<String, (i32, String)> {
        let s = state.map(|s| CString::new(s).unwrap());
        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: live handle, NULL or valid string, writable out pointer.
        let rc = unsafe {
            anaf_bridge::ffi::token::anaf_authorize_url(
                self.0,
                s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                &mut out,
            )
        };
        self.status(rc).map(|_| take(out).unwrap())
    }
}

impl Drop for CClient {
    fn drop(&mut self) {
        // SAFETY: the handle came from anaf_open and is closed once.
        unsafe { anaf_bridge::ffi::core::anaf_close(self.0) };
    }
}

/// Re-runs this test binary as a child process that executes only the ignored test
/// `entry` (a dispatcher reading its job from the environment).
pub fn child(entry: &str, envs: &[(&str, String)]) -> std::process::Command {
    let exe = std::env::current_exe().expect("test binary path");
    let mut c = std::process::Command::new(exe);
    c.args([
        "--exact",
        entry,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ]);
    for (k, v) in envs {
        c.env(k, v);
    }
    c.stdout(std::process::Stdio::piped());
    c.stderr(std::process::Stdio::piped());
    c
}
