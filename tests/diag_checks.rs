//! `anaf_diagnose` / `anaf_diagnose_config` through the C API against the simulator: a
//! healthy setup, then each cause the seeds list under "Acces denied" and the rest (no
//! serial, serial with spaces, no token, dead host, silent host and its timeout, clock
//! skew from the Date header, read-only database).

#[macro_use]
mod common;

use common::{child, Backend, CClient, Fixture, CIF, SERIAL};
use serde_json::{json, Value};
use std::ffi::{c_char, CString};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn diagnose(c: &CClient) -> Value {
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: a live handle and a writable out pointer.
    let rc = unsafe { anaf_bridge::ffi::diag::anaf_diagnose(c.0, &mut out) };
    assert_eq!(rc, 0, "anaf_diagnose: {}", common::last_error());
    serde_json::from_str(&common::take(out).expect("report")).expect("report is JSON")
}

fn diagnose_config(config: &str) -> (i32, Option<Value>) {
    let c = CString::new(config).unwrap();
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: a valid string and a writable out pointer.
    let rc = unsafe { anaf_bridge::ffi::diag::anaf_diagnose_config(c.as_ptr(), &mut out) };
    (
        rc,
        common::take(out).map(|s| serde_json::from_str(&s).expect("report is JSON")),
    )
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

fn status<'a>(report: &'a Value, id: &str) -> &'a str {
    check(report, id)["status"].as_str().unwrap()
}

/// A port on which nothing listens.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn healthy_setup_passes_every_check() {
    let f = Fixture::new();
    let c = CClient::open(&f.config(json!({ "cert_serial": SERIAL }))).expect("open");
    let t = f.sim.mint_tokens(CIF, SERIAL);
    c.import_token(&t.access_token, &t.refresh_token)
        .expect("import");
    let r = diagnose(&c);
    for item in r["checks"].as_array().unwrap() {
        assert_eq!(
            item["status"], "ok",
            "check {} is not ok: {item:#}",
            item["id"]
        );
        assert!(
            item["action"].is_null(),
            "an ok check has no action: {item:#}"
        );
        assert!(!item["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(r["ok"], true);
    assert_eq!(r["problems"], 0);
    assert_eq!(r["language"], "en");
    for id in [
        "cert_serial",
        "oauth_config",
        "dll_bitness",
        "webview2",
        "database",
        "proxy",
        "network_identity",
        "network_api",
        "network_public",
        "clock",
        "token",
    ] {
        check(&r, id);
    }
    let bits = check(&r, "dll_bitness");
    assert_eq!(bits["data"]["dll_bits"], usize::BITS);
    let module = bits["data"]["module"].as_str().expect("module path");
    assert!(std::path::Path::new(module).exists(), "{module}");
    let token = &check(&r, "token")["data"];
    assert!(
        (88..=90).contains(&token["days_left"].as_i64().unwrap()),
        "{token}"
    );
    assert_eq!(token["serial"], SERIAL);
    let clock = &check(&r, "clock")["data"];
    assert!(
        clock["skew_seconds"].as_i64().unwrap().abs() <= 5,
        "{clock}"
    );
    assert_eq!(
        check(&r, "network_api")["data"]["addresses"][0],
        "127.0.0.1"
    );
    // The report never carries the tokens or the client secret.
    let text = r.to_string();
    assert!(!text.contains(&t.access_token) && !text.contains(&t.refresh_token));
    assert!(!text.contains("sim-client-secret"));
}

/// The database check asks the store, on every backend: through the open handle's store,
/// and without a handle (`anaf_diagnose_config`).
fn the_database_check_asks_the_store(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let config = f.config(json!({}));
    let c = CClient::open(&config).expect("open");
    let (rc, without) = diagnose_config(&config);
    assert_eq!(rc, 0, "anaf_diagnose_config: {}", common::last_error());
    for r in [diagnose(&c), without.expect("report")] {
        let db = check(&r, "database");
        assert_eq!(db["status"], "ok", "{db:#}");
        if b == Backend::Sqlite {
            assert_eq!(db["data"]["path"], f.db().display().to_string(), "{db:#}");
        } else {
            assert_eq!(db["data"]["backend"], "odbc", "{db:#}");
            assert!(db["data"]["schema_version"].as_i64().is_some(), "{db:#}");
        }
    }
}

on_every_backend!(the_database_check_asks_the_store);

#[test]
fn each_acces_denied_cause_is_named_in_romanian() {
    let f = Fixture::new();
    // No serial, no token, the API host dead (connection refused).
    let dead = format!("https://127.0.0.1:{}", closed_port());
    let c = CClient::open(&f.config(json!({ "language": "ro", "api_url": dead }))).expect("open");
    let started = Instant::now();
    let r = diagnose(&c);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "a refused port answers at once"
    );
    assert_eq!(r["ok"], false);
    assert_eq!(r["language"], "ro");
    let serial = check(&r, "cert_serial");
    assert_eq!(serial["status"], "problem");
    assert!(
        serial["message"]
            .as_str()
            .unwrap()
            .contains("Seria certificatului"),
        "{serial}"
    );
    assert!(
        serial["action"].as_str().unwrap().contains("certmgr.msc"),
        "{serial}"
    );
    let token = check(&r, "token");
    assert_eq!(token["status"], "problem");
    assert!(
        token["message"]
            .as_str()
            .unwrap()
            .contains("Nu există token"),
        "{token}"
    );
    let api = check(&r, "network_api");
    assert_eq!(api["status"], "problem", "{api}");
    assert!(
        api["message"]
            .as_str()
            .unwrap()
            .contains("nu poate fi contactat"),
        "{api}"
    );
    assert!(api["action"].as_str().unwrap().contains("proxy"), "{api}");
    // The other hosts are still judged on their own.
    assert_eq!(status(&r, "network_identity"), "ok");
    assert_eq!(status(&r, "network_public"), "ok");
    assert!(r["problems"].as_u64().unwrap() >= 3);
}

#[test]
fn serial_with_spaces_is_a_warning_with_the_clean_form() {
    let f = Fixture::new();
    let c = CClient::open(&f.config(json!({ "cert_serial": "1a 2b 3c 4d" }))).expect("open");
    let r = diagnose(&c);
    let s = check(&r, "cert_serial");
    assert_eq!(s["status"], "warning", "{s}");
    assert!(s["action"].as_str().unwrap().contains("1A2B3C4D"), "{s}");
    assert_eq!(s["data"]["normalised"], true);
}

#[test]
fn a_silent_host_fails_within_the_configured_timeout() {
    let f = Fixture::new();
    // Accepts connections and never answers (a blackholing firewall or proxy).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().take(3) {
            held.push(s);
        }
        std::thread::sleep(Duration::from_secs(6));
    });
    let url = format!("https://127.0.0.1:{port}");
    let c =
        CClient::open(&f.config(json!({ "public_url": url, "timeout_seconds": 2 }))).expect("open");
    let started = Instant::now();
    let r = diagnose(&c);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "took {took:?}"
    );
    let p = check(&r, "network_public");
    assert_eq!(p["status"], "problem", "{p}");
    assert!(
        p["message"].as_str().unwrap().contains("within 2 seconds"),
        "{p}"
    );
    assert!(
        p["action"].as_str().unwrap().contains("timeout_seconds"),
        "{p}"
    );
    assert_eq!(status(&r, "network_api"), "ok");
    drop(holder);
}

/// A plain HTTP "ANAF API" whose Date header is `offset` away from now.
fn skewed_api(offset: chrono::Duration) -> (String, std::thread::JoinHandle<()>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        if let Some(Ok(mut s)) = l.incoming().next() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let date = (chrono::Utc::now() + offset).format("%a, %d %b %Y %H:%M:%S GMT");
            let _ = write!(s, "HTTP/1.1 404 Not Found\r\nDate: {date}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, h)
}

#[test]
fn clock_skew_comes_from_the_api_hosts_date_header() {
    let f = Fixture::new();
    let (url, h) = skewed_api(chrono::Duration::minutes(-12));
    let c = CClient::open(&f.config(json!({ "api_url": url }))).expect("open");
    let r = diagnose(&c);
    h.join().unwrap();
    let clock = check(&r, "clock");
    assert_eq!(clock["status"], "problem", "{clock}");
    let skew = clock["data"]["skew_seconds"].as_i64().unwrap();
    assert!(
        (715..=725).contains(&skew),
        "local clock 12 min ahead: {skew}"
    );
    assert!(
        clock["message"].as_str().unwrap().contains("12 min ahead"),
        "{clock}"
    );
    assert_eq!(
        status(&r, "network_api"),
        "ok",
        "an HTTP 404 still proves the host answers"
    );

    let (url, h) = skewed_api(chrono::Duration::seconds(90));
    let c = CClient::open(&f.config(json!({ "api_url": url }))).expect("open");
    let r = diagnose(&c);
    h.join().unwrap();
    assert_eq!(status(&r, "clock"), "warning");
}

#[test]
fn diagnose_config_works_without_an_open_client() {
    let f = Fixture::new();
    let (rc, r) = diagnose_config(&f.config(json!({ "cert_serial": SERIAL })));
    assert_eq!(rc, 0);
    let r = r.unwrap();
    let d = check(&r, "database");
    assert_eq!(d["status"], "ok", "a new database is created on open: {d}");
    assert_eq!(d["data"]["exists"], false);
    assert!(!f.db().exists(), "diagnose does not create the database");
    // A folder that does not exist is a problem.
    let missing = f.dir.path().join("no-such-folder/anaf.db");
    let (_, r2) = diagnose_config(&f.config(json!({ "database": missing })));
    let d = check(r2.as_ref().unwrap(), "database");
    assert_eq!(d["status"], "problem", "{d}");
    assert!(d["action"].as_str().unwrap().contains("folder"), "{d}");
    assert_eq!(status(&r, "token"), "skipped");
    assert_eq!(status(&r, "network_api"), "ok");
    // A configuration that does not parse is an error status, not a report.
    let (rc, r) = diagnose_config("{\"cif\": \"14399840\"}");
    assert_eq!(rc, anaf_bridge::status::ANAF_ERR_INVALID_CONFIG);
    assert!(r.is_none());
    assert!(common::last_error().contains("database"));
}

#[test]
fn null_arguments_are_refused() {
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: NULL handle / NULL out pointer are what is being tested.
    unsafe {
        assert_eq!(
            anaf_bridge::ffi::diag::anaf_diagnose(std::ptr::null_mut(), &mut out),
            -1
        );
        assert!(out.is_null());
        let f = Fixture::new();
        let c = CClient::open(&f.config(json!({}))).unwrap();
        assert_eq!(
            anaf_bridge::ffi::diag::anaf_diagnose(c.0, std::ptr::null_mut()),
            -1
        );
        assert_eq!(
            anaf_bridge::ffi::diag::anaf_diagnose_config(std::ptr::null(), &mut out),
            -1
        );
    }
}

// ------------------------------------------------------------ read-only database

#[test]
fn read_only_database_is_a_problem_with_what_to_do() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("anaf.db");
    let dead = format!("https://127.0.0.1:{}", closed_port());
    let config = common::config_for(
        &dead,
        &dead,
        &dead,
        std::path::Path::new("/unused.pem"),
        &db,
        json!({ "ca_file": null, "timeout_seconds": 1, "connect_timeout_seconds": 1 }),
    );
    drop(CClient::open(&config).expect("creating the database"));
    // The ERP user without write rights: the file and its folder are read-only to them.
    // root writes anything, so the probe runs on a thread whose file-system identity is
    // `nobody` (setfsuid is per thread and drops CAP_DAC_OVERRIDE); the database check
    // runs on the calling thread, as in the host.
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let (file_mode, dir_mode) = if root { (0o644, 0o755) } else { (0o444, 0o555) };
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(dir_mode)).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(file_mode)).unwrap();
    let cfg = config.clone();
    let (rc, report) = std::thread::spawn(move || {
        // SAFETY: changes only this thread's file-system credentials (root only; others
        // are already refused by the read-only modes).
        if root {
            unsafe {
                libc::setfsgid(65534);
                libc::setfsuid(65534);
            }
        }
        let nobody = std::fs::OpenOptions::new()
            .append(true)
            .open(db_path(&cfg))
            .is_err();
        let r = diagnose_config(&cfg);
        // SAFETY: as above; back to the process's own identity.
        if root {
            unsafe {
                libc::setfsuid(libc::getuid());
                libc::setfsgid(libc::getgid());
            }
        }
        assert!(
            nobody,
            "the database must not be writable for the probe's user"
        );
        r
    })
    .join()
    .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(rc, 0);
    let report = report.unwrap();
    let d = check(&report, "database");
    assert_eq!(d["status"], "problem", "{d}");
    assert_eq!(
        d["data"]["status_name"], "ANAF_ERR_DATABASE_READONLY",
        "{d}"
    );
    assert!(d["action"].as_str().unwrap().contains("write"), "{d}");
    assert!(d["message"].as_str().unwrap().contains("anaf.db"), "{d}");
    // The same database is fine for its owner.
    let (_, ok) = diagnose_config(&config);
    assert_eq!(status(&ok.unwrap(), "database"), "ok");
}

fn db_path(config: &str) -> String {
    let v: Value = serde_json::from_str(config).unwrap();
    v["database"].as_str().unwrap().to_string()
}

// ------------------------------------------------------------ proxy

const PROXY_ENV: &str = "ANAF_DIAG_PROXY_CONFIG";

/// Run with HTTPS_PROXY set (see below): diagnoses and prints the report.
#[test]
#[ignore]
fn proxy_child() {
    let Ok(config) = std::env::var(PROXY_ENV) else {
        return;
    };
    let (rc, r) = diagnose_config(&config);
    println!("DIAG_RC:{rc}");
    println!("DIAG_JSON:{}", r.map(|v| v.to_string()).unwrap_or_default());
}

#[test]
fn the_proxy_from_the_environment_carries_every_call() {
    // A proxy that writes down what it is asked for and refuses it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // With credentials, as corporate proxies are configured: they must not reach the report.
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let proxy_with_credentials = proxy.replace("http://", "http://ana:Parola1@");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { break };
            let mut buf = [0u8; 2048];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]);
            seen2
                .lock()
                .unwrap()
                .push(head.lines().next().unwrap_or_default().to_string());
            let _ = s.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let f = Fixture::new();
    let out = child(
        "proxy_child",
        &[(PROXY_ENV, f.config(json!({ "cert_serial": SERIAL })))],
    )
    .env("HTTPS_PROXY", &proxy_with_credentials)
    .env_remove("NO_PROXY")
    .env_remove("no_proxy")
    .env_remove("ALL_PROXY")
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("DIAG_JSON:"))
        .unwrap_or_else(|| {
            panic!(
                "no report: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let r: Value = serde_json::from_str(line).unwrap();
    let p = check(&r, "proxy");
    assert_eq!(p["data"]["source"], "environment", "{p}");
    let masked = proxy.replace("http://", "http://***@");
    assert_eq!(p["data"]["https"], masked.as_str());
    assert!(p["message"].as_str().unwrap().contains(&masked), "{p}");
    assert!(
        !line.contains("Parola1"),
        "the proxy password reached the report"
    );
    let api = f.sim.api_url().trim_start_matches("https://").to_string();
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|l| l.starts_with(&format!("CONNECT {api}"))),
        "the API host was asked through the proxy: {seen:?}"
    );
    // Through a refusing proxy no host answers; DNS is not blamed (the proxy resolves).
    let a = check(&r, "network_api");
    assert_eq!(a["status"], "problem", "{a}");
    assert!(!a["message"].as_str().unwrap().contains("DNS"), "{a}");
}
