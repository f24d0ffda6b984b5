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

/// `on_every_backend!(scenario)`: a module `scenario` with one test per backend, each
/// calling `scenario(Backend::…)` (the server ones skip loudly outside CI when their server
/// is not running).
#[macro_export]
macro_rules! on_every_backend {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                use super::*;
                #[test]
                fn sqlite() {
                    super::$scenario(Backend::Sqlite);
                }
                #[test]
                fn postgresql() {
                    super::$scenario(Backend::Postgres);
                }
                #[test]
                fn mariadb() {
                    super::$scenario(Backend::MariaDb);
                }
            }
        )+
    };
}

/// The profile the fixtures' configuration names.
pub fn profile() -> anaf_bridge::store::Profile {
    anaf_bridge::store::Profile {
        cif: CIF.into(),
        client_id: "sim-client-id".into(),
        environment: "test".into(),
    }
}

/// Where a fixture keeps the token: the SQLite file, or a real server through ODBC
/// (started by scripts/test.sh; see scripts/lib/dbservers.sh).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MariaDb,
}

impl Backend {
    /// The server's connection string; `None` (said loudly) when the server was not
    /// started, which fails the test under CI.
    pub fn server(self) -> Option<String> {
        let var = match self {
            Backend::Sqlite => return None,
            Backend::Postgres => "ANAF_TEST_ODBC_POSTGRES",
            Backend::MariaDb => "ANAF_TEST_ODBC_MARIADB",
        };
        match std::env::var(var) {
            Ok(c) => Some(c),
            Err(_) if std::env::var_os("CI").is_some() => {
                panic!("{var} is not set under CI: the server did not start")
            }
            Err(_) => {
                eprintln!(
                    "!!! {var} not set: {self:?} NOT TESTED (scripts/test.sh starts the servers)"
                );
                None
            }
        }
    }
}

/// A simulator and a temporary folder for the token database (or a database of its own on
/// a server).
pub struct Fixture {
    pub sim: Sim,
    pub dir: tempfile::TempDir,
    /// The connection string of this fixture's own database on a server.
    pub odbc: Option<String>,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture {
            sim: Sim::start(SimConfig::default()).expect("simulator"),
            dir: tempfile::tempdir().expect("temp dir"),
            odbc: None,
        }
    }

    /// A fixture on `backend`, with a new empty database there; `None` when that server
    /// is not running (outside CI).
    pub fn on(backend: Backend) -> Option<Fixture> {
        let mut f = Fixture::new();
        if backend == Backend::Sqlite {
            return Some(f);
        }
        let main = backend.server()?;
        let name = format!("anaf_t_{:016x}", rand_u64());
        anaf_bridge::store::odbc::exec_for_tests(&main, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("creating {name}: {e}"));
        f.odbc = Some(main.replace("Database=anaf;", &format!("Database={name};")));
        // The rescue files of a server store go to the user's state folder: this
        // fixture's folder, for this process and the children it starts.
        std::env::set_var("XDG_STATE_HOME", shared_state_dir());
        Some(f)
    }

    /// Another program's transaction holding the token until the value is dropped: the
    /// file's write lock (BEGIN IMMEDIATE), or on a server the lock row of the token's
    /// scope (which exists once a write has serialized on it).
    pub fn hold_the_token_row(&self) -> Box<dyn std::any::Any> {
        match &self.odbc {
            None => {
                let c = rusqlite::Connection::open(self.db()).unwrap();
                c.execute_batch("BEGIN IMMEDIATE;").unwrap();
                Box::new(c)
            }
            Some(conn) => {
                let scope = anaf_bridge::store::tokens::lock_scope(&profile());
                Box::new(anaf_bridge::store::odbc::HeldLockForTests::hold(conn, &scope).unwrap())
            }
        }
    }

    /// The fixture's store, opened the way the DLL opens it (with its configuration's key).
    pub fn store(&self) -> anaf_bridge::store::Store {
        let cfg = anaf_bridge::config::Config::from_json(&self.config(json!({}))).unwrap();
        anaf_bridge::store::Store::for_config(&cfg).expect("store")
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("anaf.db")
    }

    /// The configuration JSON for the simulator; `extra` overrides or adds keys.
    pub fn config(&self, extra: Value) -> String {
        let mut extra = extra;
        if let (Some(c), Value::Object(m)) = (&self.odbc, &mut extra) {
            m.entry("database").or_insert(Value::Null);
            m.entry("odbc").or_insert(json!(c));
        }
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

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

/// One state folder per test binary run, inherited by the children it starts.
fn shared_state_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| match std::env::var_os("ANAF_TEST_STATE_HOME") {
        Some(d) => PathBuf::from(d),
        None => {
            let d = std::env::temp_dir().join(format!("anaf-test-state-{}", std::process::id()));
            std::env::set_var("ANAF_TEST_STATE_HOME", &d);
            d
        }
    })
    .clone()
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

/// Drops every session of the fixture's database, as a server restart or failover would.
pub fn drop_sessions(b: Backend, conn: &str) {
    use anaf_bridge::store::odbc::{exec_for_tests, query_for_tests};
    let db = conn
        .split("Database=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    let ids = if b == Backend::Postgres {
        format!(
            "SELECT pid FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid()"
        )
    } else {
        format!("SELECT id FROM information_schema.processlist WHERE db = '{db}' AND id <> CONNECTION_ID()")
    };
    for row in query_for_tests(conn, &ids).unwrap() {
        let id = row[0].clone().unwrap();
        let kill = if b == Backend::Postgres {
            format!("SELECT pg_terminate_backend({id})")
        } else {
            format!("KILL {id}")
        };
        let _ = exec_for_tests(conn, &kill);
    }
}

/// `n` valid CIFs from `first` on (the control digit computed with ANAF's key 753217532).
pub fn valid_cifs(first: u32, n: usize) -> Vec<String> {
    const KEY: [u32; 9] = [7, 5, 3, 2, 1, 7, 5, 3, 2];
    (first..)
        .take(n)
        .map(|body| {
            let digits: Vec<u32> = body
                .to_string()
                .bytes()
                .map(|b| (b - b'0') as u32)
                .collect();
            let sum: u32 = digits
                .iter()
                .zip(&KEY[9 - digits.len()..])
                .map(|(d, k)| d * k)
                .sum();
            let c = sum * 10 % 11;
            format!("{body}{}", if c == 10 { 0 } else { c })
        })
        .collect()
}

impl Fixture {
    /// The rows of a query on the fixture's database, every value as text (as an ERP's
    /// report reads them).
    pub fn sql_rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        if let Some(conn) = &self.odbc {
            return anaf_bridge::store::odbc::query_for_tests(conn, sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let c = rusqlite::Connection::open(self.db()).unwrap();
        let mut st = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let n = st.column_count();
        let rows = st
            .query_map([], |r| {
                (0..n)
                    .map(|i| {
                        use rusqlite::types::ValueRef::*;
                        Ok(match r.get_ref(i)? {
                            Null => None,
                            Integer(v) => Some(v.to_string()),
                            Real(v) => Some(v.to_string()),
                            Text(t) | Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
                        })
                    })
                    .collect()
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows
    }

    /// Runs a statement on the fixture's database, as the ERP's own SQL would.
    pub fn sql_exec(&self, sql: &str) {
        match &self.odbc {
            Some(conn) => {
                anaf_bridge::store::odbc::exec_for_tests(conn, sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            None => {
                rusqlite::Connection::open(self.db())
                    .unwrap()
                    .execute_batch(sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }
}

/// The test invoice (tests/fixtures/factura_ubl.xml) numbered `id`, sold by `seller`.
pub fn invoice_of(seller: &str, id: &str) -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/factura_ubl.xml"
    ))
    .unwrap()
    .replace(
        "<cbc:ID>ABR-2026-0001</cbc:ID>",
        &format!("<cbc:ID>{id}</cbc:ID>"),
    )
    .replace(
        "<cbc:CompanyID>RO14399840</cbc:CompanyID>",
        &format!("<cbc:CompanyID>RO{seller}</cbc:CompanyID>"),
    )
}

impl CClient {
    /// `anaf_upload` of `xml` with default options: the status and the answer's JSON.
    pub fn upload(&self, xml: &str) -> (i32, Value) {
        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: live handle, a buffer of that length, NULL options, writable out pointer.
        let rc = unsafe {
            anaf_bridge::ffi::efactura::anaf_upload(
                self.0,
                xml.as_ptr(),
                xml.len(),
                std::ptr::null(),
                &mut out,
            )
        };
        let v = take(out)
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap_or(Value::Null);
        (rc, v)
    }
}
