//! The browser link end to end through the C API: DLL → anaf-relay (in-process, real
//! HTTP on loopback) → the simulator's client-certificate /authorize, driven by an HTTP
//! client holding the test certificate (the remote browser) → relay → DLL poll → token
//! in the real SQLite table. Plus the 5-hour expiry on the relay's simulated clock and
//! the refusals.

use anaf_bridge::ffi::link::{anaf_link_begin, anaf_link_cancel, anaf_link_poll, anaf_link_wait};
use anaf_bridge::ffi::AnafClient;
use anaf_bridge::status::*;
use anaf_relay::{Log, Relay, RelayConfig};
use anaf_sim::{Sim, SimConfig};
use serde_json::{json, Value};
use std::ffi::{c_char, CStr, CString};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

static LOG_DIR: once_cell::sync::Lazy<tempfile::TempDir> =
    once_cell::sync::Lazy::new(|| tempfile::tempdir().unwrap());

const CIF: &str = "14399840";
const SERIAL: &str = "7A2B3C4D5E";
const CLIENT_ID: &str = "link-test-client";
const CLIENT_SECRET: &str = "L1nk-Client-Secret+42/abc";
/// The key the vendor issued to this ERP installation.
const RELAY_KEY: &str = "ark_link-flow-test-installation-key-0123456789";
const CUSTOMER: &str = "SC Link Test SRL";

fn sha_hex(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The vendor's relay configuration: the client secret lives there, not in the request.
fn vendor() -> std::sync::Arc<anaf_relay::vendor::Vendor> {
    let storage_key = anaf_relay::crypto::StorageKey::generate();
    let text = format!(
        "storage_key = \"{}\"\n[[client]]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n{}",
        storage_key.to_text().as_str(),
        anaf_relay::vendor::installation_entry(
            "link-test",
            CUSTOMER,
            &[CLIENT_ID.to_string()],
            &[],
            &sha_hex(RELAY_KEY)
        )
    );
    std::sync::Arc::new(anaf_relay::vendor::Vendor::parse(&text).unwrap())
}

struct Env {
    sim: Sim,
    relay: Option<Relay>,
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let sim = Sim::start(SimConfig::default()).unwrap();
        let mut cfg = RelayConfig::new(
            Url::parse("http://127.0.0.1:0/anaf/callback").unwrap(),
            vendor(),
            anaf_relay::db::DbTarget::Sqlite(":memory:".into()),
        );
        cfg.listen = "127.0.0.1:0".parse().unwrap();
        cfg.idp_url = Url::parse(&sim.idp_url()).unwrap();
        cfg.ca_file = Some(sim.ca_pem_path());
        cfg.log = Log::memory();
        let relay = Relay::start(cfg).unwrap();
        sim.register_app(CLIENT_ID, CLIENT_SECRET, relay.callback_url().as_str());
        Env {
            sim,
            relay: Some(relay),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn relay(&self) -> &Relay {
        self.relay.as_ref().unwrap()
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("erp.db")
    }

    /// The DLL's log goes to one file per process (the first client that names one wins):
    /// every test here names the same file.
    fn log_file(&self) -> PathBuf {
        LOG_DIR.path().join("anaf.log")
    }

    fn config(&self, extra: Value) -> String {
        let r = self.relay();
        let mut v = json!({
            "environment": "test",
            "idp_url": self.sim.idp_url(),
            "api_url": self.sim.api_url(),
            "public_url": self.sim.public_url(),
            "ca_file": self.sim.ca_pem_path(),
            "database": self.db(),
            "cif": CIF,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": r.callback_url().as_str(),
            "relay_url": r.public_url().as_str(),
            "relay_key": RELAY_KEY,
            "language": "en",
            "timeout_seconds": 10,
            "connect_timeout_seconds": 5,
            "log_file": self.log_file(),
        });
        if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
            m.extend(e);
        }
        v.to_string()
    }

    fn open(&self) -> Client {
        self.open_with(json!({}))
    }

    fn open_with(&self, extra: Value) -> Client {
        let c = CString::new(self.config(extra)).unwrap();
        let mut h: *mut AnafClient = std::ptr::null_mut();
        // SAFETY: valid string, writable out pointer.
        let rc = unsafe { anaf_bridge::ffi::core::anaf_open(c.as_ptr(), &mut h) };
        assert_eq!(rc, 0, "anaf_open: {}", last_error());
        Client(h)
    }

    /// The link rows in the ERP's database.
    fn link_rows(&self) -> Vec<(String, String, String)> {
        let c = rusqlite::Connection::open(self.db()).unwrap();
        let mut st = c
            .prepare("SELECT link_id, retrieval_secret, private_key FROM anaf_link")
            .unwrap();
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows
    }

    fn exec(&self, sql: &str) {
        rusqlite::Connection::open(self.db())
            .unwrap()
            .execute(sql, [])
            .unwrap();
    }

    /// A browser on a computer where the certificate works (or without it).
    fn browser(&self, with_cert: bool) -> Browser {
        let ca = std::fs::read(self.sim.ca_pem_path()).unwrap();
        let mut b = browser_builder(&ca);
        if with_cert {
            let cc = self.sim.client_cert(SERIAL);
            let mut pem = std::fs::read(&cc.cert_pem).unwrap();
            pem.extend(std::fs::read(&cc.key_pem).unwrap());
            b = b.identity(reqwest::Identity::from_pem(&pem).unwrap());
        }
        Browser(b.build().unwrap())
    }
}

fn browser_builder(ca: &[u8]) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .add_root_certificate(reqwest::Certificate::from_pem(ca).unwrap())
}

struct Browser(reqwest::Client);

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

impl Browser {
    fn get(&self, url: &str) -> (u16, Option<String>, String) {
        let c = self.0.clone();
        let url = url.to_string();
        rt().block_on(async move {
            let r = c.get(&url).send().await.unwrap();
            let s = r.status().as_u16();
            let loc = r
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|v| v.to_str().unwrap().to_string());
            (s, loc, r.text().await.unwrap())
        })
    }

    fn post(&self, url: &str) -> (u16, Option<String>, String) {
        let c = self.0.clone();
        let url = url.to_string();
        rt().block_on(async move {
            let r = c.post(&url).send().await.unwrap();
            let s = r.status().as_u16();
            let loc = r
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|v| v.to_str().unwrap().to_string());
            (s, loc, r.text().await.unwrap())
        })
    }

    /// Opens the link as the person holding the USB token does; returns the last page
    /// and the callback URL ANAF sent the browser to.
    fn open_link(&self, link: &str) -> (u16, String, String) {
        let (s, _, page) = self.get(link);
        assert_eq!(s, 200, "landing page: {page}");
        assert!(page.contains("Generare token ANAF") && page.contains("ANAF token"));
        assert!(page.contains(CUSTOMER), "the verified customer: {page}");
        assert!(page.contains(&format!("action=\"{link}/start\"")));
        let (s, authorize, _) = self.post(&format!("{link}/start"));
        assert_eq!(s, 303);
        let (s, callback, body) = self.get(&authorize.unwrap());
        assert_eq!(s, 302, "authorize: {body}");
        let callback = callback.unwrap();
        let (s, _, page) = self.get(&callback);
        (s, page, callback)
    }
}

struct Client(*mut AnafClient);

impl Drop for Client {
    fn drop(&mut self) {
        // SAFETY: a live handle, closed once.
        unsafe { anaf_bridge::ffi::core::anaf_close(self.0) };
    }
}

fn last_error() -> String {
    // SAFETY: a valid thread-local NUL-terminated string.
    unsafe { CStr::from_ptr(anaf_bridge::ffi::core::anaf_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn take(p: *mut c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: returned by the library, freed once.
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    unsafe { anaf_bridge::ffi::core::anaf_free(p) };
    Some(s)
}

impl Client {
    fn begin(&self) -> Result<String, (i32, String)> {
        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: live handle, writable out pointer.
        let rc = unsafe { anaf_link_begin(self.0, &mut out) };
        if rc == 0 {
            Ok(take(out).unwrap())
        } else {
            assert!(out.is_null());
            Err((rc, last_error()))
        }
    }

    fn poll(&self) -> (i32, Value, String) {
        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: as above.
        let rc = unsafe { anaf_link_poll(self.0, &mut out) };
        let err = last_error();
        let v = serde_json::from_str(&take(out).expect("poll JSON")).unwrap();
        (rc, v, err)
    }

    fn wait(&self, secs: u32) -> (i32, Value, String) {
        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: as above.
        let rc = unsafe { anaf_link_wait(self.0, secs, &mut out) };
        let err = last_error();
        let v = take(out)
            .map(|s| serde_json::from_str(&s).unwrap())
            .unwrap_or(Value::Null);
        (rc, v, err)
    }

    fn token_info(&self) -> Result<Value, (i32, String)> {
        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: as above.
        let rc = unsafe { anaf_bridge::ffi::token::anaf_token_info(self.0, &mut out) };
        if rc == 0 {
            Ok(serde_json::from_str(&take(out).unwrap()).unwrap())
        } else {
            Err((rc, last_error()))
        }
    }

    fn get_token(&self) -> Result<String, (i32, String)> {
        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: as above.
        let rc = unsafe { anaf_bridge::ffi::token::anaf_get_token(self.0, &mut out) };
        if rc == 0 {
            Ok(take(out).unwrap())
        } else {
            Err((rc, last_error()))
        }
    }
}

fn assert_clean(what: &str, log: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(s.len() >= 6);
        assert!(
            !log.contains(s),
            "{what} leaks a secret ({}…):\n{log}",
            &s[..4]
        );
    }
}

#[test]
fn link_generated_in_a_remote_browser_lands_in_the_table() {
    let env = Env::new();
    let erp = env.open();
    let url = erp.begin().expect("link");
    assert!(url.starts_with(env.relay().public_url().as_str()), "{url}");
    let rows = env.link_rows();
    assert_eq!(rows.len(), 1);
    let (link_id, secret, _key) = rows[0].clone();
    assert!(url.ends_with(&link_id));

    let (rc, v, err) = erp.poll();
    assert_eq!(rc, ANAF_PENDING, "{v}");
    assert!(err.contains("not generated in the browser yet"), "{err}");
    assert_eq!(
        (v["status"].as_str(), v["url"].as_str()),
        (Some("pending"), Some(url.as_str()))
    );
    assert_eq!(erp.token_info().unwrap_err().0, ANAF_ERR_NO_TOKEN);

    // The accountant sends the link; the certificate holder opens it elsewhere.
    let (s, page, callback) = env.browser(true).open_link(&url);
    assert_eq!(s, 200, "{page}");
    assert!(
        page.contains("Tokenul ANAF a fost generat cu succes"),
        "{page}"
    );
    let code = Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();

    // The ERP's token form was closed and reopened: a new handle finishes the link.
    drop(erp);
    let erp = env.open();
    let (rc, v, err) = erp.poll();
    assert_eq!(rc, ANAF_OK, "{v} {err}");
    assert_eq!(v["status"], "done");
    assert_eq!(v["token"]["serial"], SERIAL, "{v}");
    let info = erp.token_info().expect("token in the table");
    assert_eq!(info["cif"], CIF);
    assert_eq!(info["client_id"], CLIENT_ID);
    assert_eq!(info["serial"], SERIAL);
    let access = erp.get_token().expect("access token");
    assert!(access.starts_with("eyJ"));
    // The token is ANAF's real one: the simulator's TestOauth accepts it.
    // SAFETY: live handle.
    let rc = unsafe { anaf_bridge::ffi::token::anaf_test_token(erp.0) };
    assert_eq!(rc, 0, "{}", last_error());

    // Done once: the link is gone here and at the relay.
    assert!(env.link_rows().is_empty());
    let (rc, v, _) = erp.poll();
    assert_eq!((rc, v["status"].as_str()), (ANAF_ERR_NO_LINK, Some("none")));
    let view = env.relay().inspect(&link_id).unwrap();
    assert_eq!((view.holds_record, view.holds_tokens), (false, false));
    assert_eq!(env.sim.counters().token_code_grants, 1);

    // No secret in either log.
    let cfg = anaf_bridge::config::Config::from_json(&env.config(json!({}))).unwrap();
    let refresh = anaf_bridge::store::Store::for_config(&cfg)
        .unwrap()
        .load(&anaf_bridge::store::Profile {
            cif: CIF.into(),
            client_id: CLIENT_ID.into(),
            environment: "test".into(),
        })
        .unwrap()
        .unwrap()
        .refresh_token;
    let secrets = [
        CLIENT_SECRET,
        RELAY_KEY,
        &secret,
        &access,
        &refresh,
        &code,
        &link_id,
    ];
    assert_clean("relay log", &env.relay().log_text(), &secrets);
    let dll_log = std::fs::read_to_string(env.log_file()).unwrap();
    assert!(
        dll_log.contains("anaf::link"),
        "the DLL logged the link: {dll_log}"
    );
    assert_clean("DLL log", &dll_log, &secrets);
}

#[test]
fn wait_returns_when_the_browser_finishes_after_a_failed_attempt() {
    let env = Env::new();
    let erp = env.open();
    let url = erp.begin().unwrap();

    // First try without the USB token: ANAF denies, the page says what to try.
    let (s, page, _) = env.browser(false).open_link(&url);
    assert_eq!(s, 200);
    assert!(
        page.contains("Închideți complet browserul") && page.contains("USB token"),
        "{page}"
    );
    let (rc, v, err) = erp.poll();
    assert_eq!(rc, ANAF_ERR_LINK_FAILED, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["reason"].as_str()),
        (Some("failed"), Some("access_denied"))
    );
    assert!(
        err.contains("denied") && err.contains("opened again"),
        "{err}"
    );
    assert_eq!(env.link_rows().len(), 1, "the link stays usable");

    // A simple host blocks in anaf_link_wait while the holder retries with the token.
    let browser = env.browser(true);
    let url2 = url.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        browser.open_link(&url2)
    });
    let (rc, v, err) = erp.wait(60);
    let (s, page, _) = t.join().unwrap();
    assert_eq!(s, 200, "{page}");
    assert_eq!(rc, ANAF_OK, "{v} {err}");
    assert_eq!(erp.token_info().unwrap()["serial"], SERIAL);

    // A new failure during a wait ends it at once.
    let url = erp.begin().unwrap();
    let browser = env.browser(false);
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1000));
        browser.open_link(&url)
    });
    let started = std::time::Instant::now();
    let (rc, v, _) = erp.wait(60);
    t.join().unwrap();
    assert_eq!(
        (rc, v["reason"].as_str()),
        (ANAF_ERR_LINK_FAILED, Some("access_denied")),
        "{v}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));

    // A wait that runs out: ANAF_ERR_TIMEOUT, the link still pending.
    let _ = erp.begin().unwrap();
    let (rc, _, err) = erp.wait(1);
    assert_eq!(rc, ANAF_ERR_TIMEOUT, "{err}");
    assert!(err.contains("valid until"), "{err}");
    assert_eq!(erp.poll().0, ANAF_PENDING);
}

#[test]
fn link_expires_after_five_hours() {
    let env = Env::new();
    let erp = env.open();
    let url = erp.begin().unwrap();
    env.relay().clock().advance(5 * 3600 - 30);
    assert_eq!(erp.poll().0, ANAF_PENDING);
    env.relay().clock().advance(31);
    let (rc, v, err) = erp.poll();
    assert_eq!(rc, ANAF_ERR_LINK_EXPIRED, "{v} {err}");
    assert_eq!(v["status"], "expired");
    assert!(err.contains("5 hours"), "{err}");
    assert!(env.link_rows().is_empty());
    assert_eq!(erp.poll().0, ANAF_ERR_NO_LINK);
    // Opening it now shows the expired page; nothing reaches the table.
    let (s, _, page) = env.browser(true).get(&url);
    assert_eq!(s, 410);
    assert!(page.contains("a expirat"));
    assert_eq!(erp.token_info().unwrap_err().0, ANAF_ERR_NO_TOKEN);

    // A token generated but not collected within the 5 hours is lost too.
    let url = erp.begin().unwrap();
    let (s, _, _) = env.browser(true).open_link(&url);
    assert_eq!(s, 200);
    env.relay().clock().advance(5 * 3600 + 1);
    assert_eq!(erp.poll().0, ANAF_ERR_LINK_EXPIRED);
    assert_eq!(erp.token_info().unwrap_err().0, ANAF_ERR_NO_TOKEN);
}

#[test]
fn refusals_and_failures_are_clear_and_leak_nothing() {
    let mut env = Env::new();
    let erp = env.open();

    // Argument checks.
    // SAFETY: deliberate NULLs.
    unsafe {
        assert_eq!(
            anaf_link_begin(erp.0, std::ptr::null_mut()),
            ANAF_ERR_NULL_POINTER
        );
        let mut out: *mut c_char = std::ptr::null_mut();
        assert_eq!(
            anaf_link_begin(std::ptr::null_mut(), &mut out),
            ANAF_ERR_NULL_POINTER
        );
        assert_eq!(
            anaf_link_poll(std::ptr::null_mut(), std::ptr::null_mut()),
            ANAF_ERR_NULL_POINTER
        );
        assert_eq!(
            anaf_link_wait(erp.0, 0, std::ptr::null_mut()),
            ANAF_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            anaf_link_poll(erp.0, std::ptr::null_mut()),
            ANAF_ERR_NO_LINK
        );
        assert_eq!(anaf_link_cancel(erp.0), ANAF_ERR_NO_LINK);
    }

    // No installation key, or one the relay does not know: a configuration error that
    // names the field (the relay answers 401).
    for key in [
        Value::Null,
        json!("ark_not-a-key-this-relay-issued-000000000"),
    ] {
        let c = env.open_with(json!({ "relay_key": key }));
        let e = c.begin().unwrap_err();
        assert_eq!(e.0, ANAF_ERR_INVALID_CONFIG, "{}", e.1);
        assert!(e.1.contains("relay_key"), "{}", e.1);
    }
    assert!(env.link_rows().is_empty());
    assert!(env
        .relay()
        .log_text()
        .contains("no or unknown installation key"));

    // No relay configured; a redirect_uri that is not the relay's callback.
    let c = env.open_with(json!({"relay_url": null}));
    let e = c.begin().unwrap_err();
    assert_eq!(e.0, ANAF_ERR_INVALID_CONFIG);
    assert!(e.1.contains("relay_url"), "{}", e.1);
    let c = env.open_with(json!({"redirect_uri": "https://localhost:9443/anaf/callback"}));
    let e = c.begin().unwrap_err();
    assert_eq!(e.0, ANAF_ERR_REDIRECT_MISMATCH);
    assert!(e.1.contains(env.relay().callback_url().as_str()), "{}", e.1);

    // A new link replaces the pending one, which the relay drops.
    let first = erp.begin().unwrap();
    let first_id = env.link_rows()[0].0.clone();
    let second = erp.begin().unwrap();
    assert_ne!(first, second);
    assert_eq!(env.link_rows().len(), 1);
    assert_eq!(env.relay().inspect(&first_id).unwrap().status, "cancelled");
    let (s, _, _) = env.browser(true).get(&first);
    assert_eq!(s, 410);

    // A wrong retrieval secret: the relay answers "unknown", the DLL gives up the link.
    let url = second;
    let (s, _, _) = env.browser(true).open_link(&url);
    assert_eq!(s, 200);
    let (id, _, _) = env.link_rows()[0].clone();
    env.exec(
        "UPDATE anaf_link SET retrieval_secret = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'",
    );
    let (rc, v, err) = erp.poll();
    assert_eq!(rc, ANAF_ERR_LINK_FAILED, "{v}");
    assert!(err.contains("no longer knows"), "{err}");
    assert!(
        env.relay().inspect(&id).unwrap().holds_tokens,
        "nothing handed out"
    );
    assert_eq!(erp.token_info().unwrap_err().0, ANAF_ERR_NO_TOKEN);

    // Sealed tokens under a key that is not the link's: refused, nothing stored.
    let _ = erp.begin().unwrap();
    let url = format!("{}l/{}", env.relay().public_url(), env.link_rows()[0].0);
    let (s, _, _) = env.browser(true).open_link(&url);
    assert_eq!(s, 200);
    use base64::Engine;
    let other_key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 32]);
    env.exec(&format!("UPDATE anaf_link SET private_key = '{other_key}'"));
    let (rc, _, err) = erp.poll();
    assert_eq!(rc, ANAF_ERR_LINK_FAILED);
    assert!(err.contains("could not be opened"), "{err}");
    assert_eq!(erp.token_info().unwrap_err().0, ANAF_ERR_NO_TOKEN);
    assert!(env.link_rows().is_empty());

    // The relay unreachable: a network error, the link stays pending for later.
    let _ = erp.begin().unwrap();
    env.relay = None;
    let (rc, v, _) = erp.poll();
    assert!(rc == ANAF_ERR_NETWORK || rc == ANAF_ERR_TIMEOUT, "{rc} {v}");
    assert_eq!(v["status"], "error");
    assert_eq!(env.link_rows().len(), 1);
}

/// Run only as a child process (see the next test): another process polls the link.
/// Ignored, so a plain `cargo test` does not count it as a test that passed.
#[test]
#[ignore]
fn child_process_polls_the_link() {
    let Ok(config) = std::env::var("ANAF_LINK_CHILD_CONFIG") else {
        return;
    };
    let c = CString::new(config).unwrap();
    let mut h: *mut AnafClient = std::ptr::null_mut();
    // SAFETY: valid string, writable out pointer.
    let rc = unsafe { anaf_bridge::ffi::core::anaf_open(c.as_ptr(), &mut h) };
    assert_eq!(rc, 0, "{}", last_error());
    let client = Client(h);
    let (rc, v, err) = client.poll();
    println!("CHILD-POLL {rc} {}", v["status"]);
    assert_eq!(rc, ANAF_OK, "{v} {err}");
}

#[test]
fn another_process_finishes_the_link() {
    let env = Env::new();
    let erp = env.open();
    let url = erp.begin().unwrap();
    drop(erp);
    let (s, _, _) = env.browser(true).open_link(&url);
    assert_eq!(s, 200);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_polls_the_link",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ANAF_LINK_CHILD_CONFIG", env.config(json!({})))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("CHILD-POLL 0 \"done\""),
        "{text}"
    );
    let erp = env.open();
    assert_eq!(erp.token_info().unwrap()["serial"], SERIAL);
    assert_eq!(erp.poll().0, ANAF_ERR_NO_LINK);
}

/// Whoever opens the link chooses the certificate. A token obtained with another one than
/// the configured `cert_serial` is stored with a warning, or refused with
/// `"link_serial": "refuse"`.
#[test]
fn a_link_used_with_another_certificate_is_said_or_refused() {
    let env = Env::new();
    // Refused first: nothing is stored, so the second case starts from an empty table.
    for (refuse, extra) in [
        (
            true,
            json!({ "cert_serial": "99AA", "link_serial": "refuse", "language": "en" }),
        ),
        (false, json!({ "cert_serial": "99AA" })),
    ] {
        let erp = env.open_with(extra);
        let url = erp.begin().expect("link");
        let (s, page, _) = env.browser(true).open_link(&url);
        assert_eq!(s, 200, "{page}");
        let (rc, v, err) = erp.poll();
        if refuse {
            assert_eq!(rc, ANAF_ERR_LINK_FAILED, "{v} {err}");
            assert!(
                err.contains(SERIAL) && err.contains("99AA") && err.contains("not kept"),
                "{err}"
            );
            assert_eq!(
                erp.token_info().unwrap_err().0,
                ANAF_ERR_NO_TOKEN,
                "nothing stored"
            );
        } else {
            assert_eq!(rc, ANAF_OK, "{v} {err}");
            let w = v["token"]["warning"].as_str().unwrap_or_default();
            assert!(w.contains(SERIAL) && w.contains("99AA"), "{v}");
            assert_eq!(erp.token_info().unwrap()["serial"], SERIAL);
        }
    }
}

/// A link opened for one firm by an accountant whose certificate serves several: the other
/// firms, set to that certificate's token, use it with no link and no login of their own.
#[test]
fn a_link_for_one_company_serves_the_others_of_its_certificate() {
    let env = Env::new();
    let erp = env.open();
    let url = erp.begin().expect("link");
    let (s, page, _) = env.browser(true).open_link(&url);
    assert_eq!(s, 200, "{page}");
    let (rc, v, err) = erp.poll();
    assert_eq!(rc, ANAF_OK, "{v} {err}");
    let token = erp.get_token().unwrap();
    // 8000006: another firm the simulator's certificates are enrolled for.
    let other = env
        .open_with(json!({ "cif": "8000006", "cert_serial": SERIAL, "token_for": "certificate" }));
    assert_eq!(other.get_token().unwrap(), token);
    let info = other.token_info().unwrap();
    assert_eq!(
        (&info["cif"], &info["token_cif"]),
        (&json!("8000006"), &json!(CIF))
    );
    let cifs: Vec<&str> = info["cifs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["cif"].as_str().unwrap())
        .collect();
    assert_eq!(cifs.len(), 2, "{info}");
    assert!(cifs.contains(&CIF) && cifs.contains(&"8000006"), "{info}");
    // SAFETY: live handle.
    assert_eq!(
        unsafe { anaf_bridge::ffi::token::anaf_test_token(other.0) },
        0,
        "{}",
        last_error()
    );
    assert_eq!(env.sim.counters().token_code_grants, 1);
}
