//! End-to-end tests of `anaf_generate_token` on Linux: the real login window (wry on
//! WebKitGTK, run under `xvfb-run -a`), real HTTPS with client certificates to the
//! simulator's identity provider, the real SQLite token table. Nothing is mocked.
//!
//! All GUI tests live in this one file so they share the process's one GUI thread.
//! They take turns through `SERIAL` (the test close hook is an environment variable).
//!
//! Run: `xvfb-run -a cargo test -p anaf-bridge --test login_window -- --nocapture`
#![cfg(all(target_os = "linux", feature = "login-gtk"))]

use anaf_bridge::ffi::core::{anaf_close, anaf_last_error, anaf_open};
use anaf_bridge::ffi::login::{anaf_cancel_login, anaf_generate_token};
use anaf_bridge::ffi::AnafClient;
use anaf_bridge::status::*;
use anaf_sim::{ClientCert, Sim, SimConfig};
use std::ffi::{CStr, CString};
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const CIF: &str = "14399840";

static SERIAL: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

struct Fixture {
    sim: Sim,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            sim: Sim::start(SimConfig::default()).expect("simulator"),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("tokens.db")
    }

    /// The library logs to the file the first client names, for the whole process.
    fn log(&self) -> PathBuf {
        static LOG: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        LOG.get_or_init(|| {
            std::env::temp_dir().join(format!("anaf-login-window-{}.log", std::process::id()))
        })
        .clone()
    }

    /// The configuration JSON; `extra` overrides or adds fields.
    fn config(&self, extra: serde_json::Value) -> String {
        let mut v = serde_json::json!({
            "environment": "test",
            "idp_url": self.sim.idp_url(),
            "api_url": self.sim.api_url(),
            "public_url": self.sim.public_url(),
            "database": self.db(),
            "cif": CIF,
            "client_id": "sim-client-id",
            "client_secret": "sim-client-secret",
            "redirect_uri": "https://localhost:9443/anaf/callback",
            "ca_file": self.sim.ca_pem_path(),
            "language": "en",
            "log_file": self.log(),
            "login_timeout_seconds": 60,
        });
        for (k, val) in extra.as_object().unwrap() {
            if val.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = val.clone();
            }
        }
        v.to_string()
    }

    fn pem(&self, c: &ClientCert, serial_in_config: &str) -> String {
        self.config(serde_json::json!({
            "client_cert_file": c.cert_pem,
            "client_key_file": c.key_pem,
            "cert_serial": serial_in_config,
        }))
    }

    /// The certificate serial stored in the token row, if the row exists.
    fn stored_serial(&self) -> Option<Option<String>> {
        let db = rusqlite::Connection::open(self.db()).unwrap();
        db.query_row(
            "SELECT cert_serial FROM anaf_token WHERE cif = ?1 AND client_id = 'sim-client-id' AND environment = 'test'",
            [CIF],
            |r| r.get::<_, Option<String>>(0),
        )
        .ok()
    }

    fn clear_tokens(&self) {
        if self.db().exists() {
            let db = rusqlite::Connection::open(self.db()).unwrap();
            let _ = db.execute("DELETE FROM anaf_token", []);
        }
    }
}

struct Client(*mut AnafClient);
// SAFETY: the C API's handles are thread-safe by contract; this wrapper only carries one.
unsafe impl Send for Client {}
unsafe impl Sync for Client {}

impl Client {
    fn open(json: &str) -> Client {
        let c = CString::new(json).unwrap();
        let mut h: *mut AnafClient = std::ptr::null_mut();
        // SAFETY: valid string and out pointer.
        let rc = unsafe { anaf_open(c.as_ptr(), &mut h) };
        assert_eq!(rc, ANAF_OK, "anaf_open: {}", last_error());
        Client(h)
    }

    /// `anaf_generate_token` with no parent window: (status, message, seconds taken).
    fn generate(&self) -> (i32, String, f64) {
        let t = Instant::now();
        // SAFETY: an open handle; NULL parent is allowed.
        let rc = unsafe { anaf_generate_token(self.0, std::ptr::null_mut()) };
        (rc, last_error(), t.elapsed().as_secs_f64())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // SAFETY: the handle came from anaf_open and is closed once.
        unsafe { anaf_close(self.0) };
    }
}

fn last_error() -> String {
    // SAFETY: anaf_last_error returns a valid thread-local string.
    unsafe { CStr::from_ptr(anaf_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// The open→code times the library logged, in ms.
fn logged_timings(log: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split("open→code ").nth(1))
        .filter_map(|rest| rest.trim_end_matches(" ms").trim().parse().ok())
        .collect()
}

/// A TCP port that accepts connections and never answers: the login page never loads,
/// like ANAF waiting while the token's PIN prompt is open.
fn silent_server() -> (String, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://127.0.0.1:{}", l.local_addr().unwrap().port());
    let h = std::thread::spawn(move || {
        l.set_nonblocking(true).unwrap();
        let mut held = Vec::new();
        let until = Instant::now() + Duration::from_secs(40);
        while Instant::now() < until {
            match l.accept() {
                Ok((mut s, _)) => {
                    let _ = s.set_nonblocking(true);
                    let mut buf = [0u8; 512];
                    let _ = s.read(&mut buf);
                    held.push(s);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    (url, h)
}

#[test]
fn three_logins_in_one_process_store_the_certificate_serial() {
    let _t = turn();
    let f = Fixture::new();
    let a = f.sim.client_cert("1A2B3C4D5E");
    let b = f.sim.client_cert("00C0FFEE01");
    let grants = f.sim.counters().token_code_grants;
    let timings_before = logged_timings(&f.log()).len();

    // 1: PEM files, serial typed as Windows shows it (spaces, lower case).
    let c = Client::open(&f.pem(&a, "1a 2b 3c 4d 5e"));
    let (rc, msg, secs) = c.generate();
    assert_eq!(rc, ANAF_OK, "{msg}");
    assert_eq!(
        f.stored_serial(),
        Some(Some(a.serial.clone())),
        "token row with the certificate's serial"
    );
    eprintln!("login 1 (PEM): {secs:.2} s");

    // 2: the same client again, after the row is gone.
    f.clear_tokens();
    let (rc, msg, secs) = c.generate();
    assert_eq!(rc, ANAF_OK, "{msg}");
    assert_eq!(f.stored_serial(), Some(Some(a.serial.clone())));
    eprintln!("login 2 (PEM, same client): {secs:.2} s");
    drop(c);

    // 3: another certificate, from PKCS#12, serial with a leading zero byte and colons.
    let c = Client::open(&f.config(serde_json::json!({
        "client_cert_file": b.p12,
        "client_cert_password": b.p12_password,
        "cert_serial": "00:c0:ff:ee:01",
    })));
    let (rc, msg, secs) = c.generate();
    assert_eq!(rc, ANAF_OK, "{msg}");
    let stored = f.stored_serial().flatten().expect("token row");
    assert!(
        anaf_bridge::login::cert::same_serial(&stored, &b.serial),
        "stored serial {stored} is the PKCS#12 certificate's {}",
        b.serial
    );
    eprintln!("login 3 (PKCS#12): {secs:.2} s");

    assert_eq!(
        f.sim.counters().token_code_grants - grants,
        3,
        "three codes exchanged"
    );
    let timings = logged_timings(&f.log())[timings_before..].to_vec();
    assert_eq!(
        timings.len(),
        3,
        "open→code logged for each login: {timings:?}"
    );
    eprintln!("TIMING open→code (ms) per login: {timings:?}");
}

#[test]
fn wrong_serial_lists_the_serial_offered() {
    let _t = turn();
    let f = Fixture::new();
    let a = f.sim.client_cert("0ABCDEF123");
    let c = Client::open(&f.pem(&a, "DEADBEEF"));
    let (rc, msg, _) = c.generate();
    assert_eq!(rc, ANAF_ERR_CERT_NOT_FOUND, "{msg}");
    assert!(
        msg.contains("DEADBEEF"),
        "names the configured serial: {msg}"
    );
    assert!(
        msg.contains(&a.serial),
        "lists the serial offered ({}): {msg}",
        a.serial
    );
    eprintln!("wrong serial: {msg}");
    assert_eq!(f.stored_serial(), None, "no token row");
}

#[test]
fn not_enrolled_certificate_is_access_denied() {
    let _t = turn();
    let f = Fixture::new();
    let a = f.sim.client_cert("5EED000001");
    // Not enrolled in SPV for any CIF (the authorize request carries no CIF).
    for cif in SimConfig::default().cifs {
        f.sim.set_enrolled(&a.serial, &cif, false);
    }
    let c = Client::open(&f.pem(&a, &a.serial));
    let (rc, msg, _) = c.generate();
    assert_eq!(rc, ANAF_ERR_ACCESS_DENIED, "{msg}");
    assert!(msg.contains("USB token"), "explains the causes: {msg}");
    eprintln!("not enrolled: {msg}");
    assert_eq!(f.stored_serial(), None);
}

#[test]
fn no_certificate_at_all_is_access_denied() {
    let _t = turn();
    let f = Fixture::new();
    let c = Client::open(&f.config(serde_json::json!({})));
    let (rc, msg, _) = c.generate();
    assert_eq!(rc, ANAF_ERR_ACCESS_DENIED, "{msg}");
}

#[test]
fn redirect_uri_not_registered_is_redirect_mismatch() {
    let _t = turn();
    let f = Fixture::new();
    let a = f.sim.client_cert("7777777777");
    let c = Client::open(&f.config(serde_json::json!({
        "client_cert_file": a.cert_pem,
        "client_key_file": a.key_pem,
        "redirect_uri": "https://localhost:9443/other/callback",
    })));
    let (rc, msg, _) = c.generate();
    assert_eq!(rc, ANAF_ERR_REDIRECT_MISMATCH, "{msg}");
    assert!(msg.contains("does not match"), "keeps ANAF's words: {msg}");
    eprintln!("redirect mismatch: {msg}");
}

#[test]
fn untrusted_server_certificate_is_a_tls_error() {
    let _t = turn();
    let f = Fixture::new();
    let a = f.sim.client_cert("1234567890");
    // No ca_file: the simulator's certificate is not trusted.
    let c = Client::open(&f.config(serde_json::json!({
        "client_cert_file": a.cert_pem,
        "client_key_file": a.key_pem,
        "ca_file": null,
    })));
    let (rc, msg, _) = c.generate();
    assert_eq!(rc, ANAF_ERR_TLS, "{msg}");
    eprintln!("untrusted server: {msg}");
}

#[test]
fn login_page_leading_elsewhere_ends_the_login_naming_the_host() {
    let _t = turn();
    let f = Fixture::new();
    let a = f.sim.client_cert("6666666666");
    // The identity provider's page sends the window to another host (a hijacked page, a
    // link): the window never loads it and the login ends, naming where it went.
    f.sim.inject_on(
        "/anaf-oauth2/v1/authorize",
        anaf_sim::Fault::Redirect("https://anaf-login.example.invalid/phish?code=c&state=s".into()),
        1,
    );
    let grants = f.sim.counters().token_code_grants;
    let c = Client::open(&f.pem(&a, &a.serial));
    let (rc, msg, secs) = c.generate();
    assert_eq!(rc, ANAF_ERR_BAD_RESPONSE, "{msg}");
    assert!(
        msg.contains("tried to open https://anaf-login.example.invalid,"),
        "names the host: {msg}"
    );
    assert!(
        msg.contains(&f.sim.idp_url()),
        "names the identity provider: {msg}"
    );
    assert!(secs < 20.0, "ends at once, not at the timeout: {secs:.2} s");
    assert_eq!(
        f.sim.counters().token_code_grants,
        grants,
        "nothing exchanged"
    );
    assert_eq!(f.stored_serial(), None);
    eprintln!("navigation elsewhere: {msg}");
}

#[test]
fn cancel_from_another_thread_closes_the_window() {
    let _t = turn();
    let f = Fixture::new();
    let (url, _server) = silent_server();
    let c = std::sync::Arc::new(Client::open(
        &f.config(serde_json::json!({ "idp_url": url })),
    ));
    let c2 = c.clone();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        // SAFETY: an open handle, used from another thread as the C API allows.
        unsafe { anaf_cancel_login(c2.0) }
    });
    let (rc, msg, secs) = c.generate();
    assert_eq!(canceller.join().unwrap(), ANAF_OK);
    assert_eq!(rc, ANAF_ERR_CANCELLED, "{msg}");
    assert!(
        (1.4..10.0).contains(&secs),
        "returned soon after the cancel: {secs:.2} s"
    );
}

#[test]
fn user_closing_the_window_is_cancelled() {
    let _t = turn();
    let f = Fixture::new();
    let (url, _server) = silent_server();
    let c = Client::open(&f.config(serde_json::json!({ "idp_url": url, "language": "ro" })));
    // The test hook closes the window the way the close button does (delete-event).
    std::env::set_var("ANAF_BRIDGE_TEST_CLOSE_WINDOW_MS", "800");
    let (rc, msg, secs) = c.generate();
    std::env::remove_var("ANAF_BRIDGE_TEST_CLOSE_WINDOW_MS");
    assert_eq!(rc, ANAF_ERR_CANCELLED, "{msg}");
    assert!(
        msg.contains("anulată") && msg.contains("închisă"),
        "Romanian message: {msg}"
    );
    assert!(secs < 10.0, "{secs:.2} s");
}

#[test]
fn window_left_open_times_out() {
    let _t = turn();
    let f = Fixture::new();
    let (url, _server) = silent_server();
    let c =
        Client::open(&f.config(serde_json::json!({ "idp_url": url, "login_timeout_seconds": 10 })));
    let (rc, msg, secs) = c.generate();
    assert_eq!(rc, ANAF_ERR_TIMEOUT, "{msg}");
    assert!((9.5..20.0).contains(&secs), "{secs:.2} s");
}

#[test]
fn calls_from_two_host_threads_take_turns() {
    let _t = turn();
    let f = Fixture::new();
    let a = f.sim.client_cert("2222222222");
    let grants = f.sim.counters().token_code_grants;
    let log_before = std::fs::read_to_string(f.log()).unwrap_or_default().len();
    let json = f.pem(&a, &a.serial);
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let json = json.clone();
            std::thread::spawn(move || {
                let c = Client::open(&json);
                c.generate()
            })
        })
        .collect();
    for t in threads {
        let (rc, msg, secs) = t.join().unwrap();
        assert_eq!(rc, ANAF_OK, "{msg}");
        eprintln!("host thread login: {secs:.2} s");
    }
    assert_eq!(f.sim.counters().token_code_grants - grants, 2);
    // The two windows did not overlap: opened, ended, opened, ended.
    let log = std::fs::read_to_string(f.log()).unwrap();
    let events: Vec<&str> = log[log_before..]
        .lines()
        .filter_map(|l| {
            if l.contains("login window opened") {
                Some("open")
            } else if l.contains("window ends") {
                Some("end")
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        events,
        ["open", "end", "open", "end"],
        "one window at a time"
    );
    assert_eq!(f.stored_serial(), Some(Some(a.serial.clone())));
}

#[test]
fn code_older_than_60_seconds_is_code_expired() {
    let _t = turn();
    let f = Fixture::new();
    let a = f.sim.client_cert("3333333333");
    // The exchange is held 1.5 s; meanwhile the simulator's clock jumps 2 minutes past the
    // moment the code was issued, as if the code had waited too long.
    f.sim.inject_on(
        "/anaf-oauth2/v1/token",
        anaf_sim::Fault::Latency(Duration::from_millis(1500)),
        1,
    );
    let codes = f.sim.counters().authorize_codes;
    let sim = &f.sim;
    std::thread::scope(|s| {
        s.spawn(|| {
            let until = Instant::now() + Duration::from_secs(30);
            while sim.counters().authorize_codes == codes && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
            sim.advance_clock(Duration::from_secs(120));
        });
        let c = Client::open(&f.pem(&a, &a.serial));
        let (rc, msg, _) = c.generate();
        assert_eq!(rc, ANAF_ERR_CODE_EXPIRED, "{msg}");
        eprintln!("code expired: {msg}");
    });
    assert_eq!(f.stored_serial(), None);
}

#[test]
fn wrong_pkcs12_password_names_the_file() {
    let _t = turn();
    let f = Fixture::new();
    let a = f.sim.client_cert("4444444444");
    let c = Client::open(&f.config(serde_json::json!({
        "client_cert_file": a.p12,
        "client_cert_password": "not-the-password",
        "cert_serial": a.serial,
    })));
    let (rc, msg, _) = c.generate();
    assert_eq!(rc, ANAF_ERR_FILE, "{msg}");
    assert!(msg.contains("client_cert_file"), "{msg}");
    assert_eq!(f.stored_serial(), None);
}

#[test]
fn null_and_closed_handles_are_refused() {
    // In turn with the others: a freed handle's address must not be reused meanwhile.
    let _t = turn();
    // SAFETY: NULL is a documented input of both functions.
    unsafe {
        assert_eq!(
            anaf_generate_token(std::ptr::null_mut(), std::ptr::null_mut()),
            ANAF_ERR_NULL_POINTER
        );
        assert_eq!(
            anaf_cancel_login(std::ptr::null_mut()),
            ANAF_ERR_NULL_POINTER
        );
    }
    let f = Fixture::new();
    let c = Client::open(&f.config(serde_json::json!({})));
    let raw = c.0;
    drop(c);
    // SAFETY: a closed handle is refused by the registry, never dereferenced.
    unsafe {
        assert_eq!(
            anaf_generate_token(raw, std::ptr::null_mut()),
            ANAF_ERR_INVALID_ARGUMENT
        );
        assert_eq!(anaf_cancel_login(raw), ANAF_ERR_INVALID_ARGUMENT);
    }
    // No login in progress: cancelling is harmless.
    let c = Client::open(&f.config(serde_json::json!({})));
    // SAFETY: an open handle.
    assert_eq!(unsafe { anaf_cancel_login(c.0) }, ANAF_OK);
}
