//! The real `anaf-relay` binary, serving HTTPS itself (rustls) on loopback, driven through
//! the whole flow; its stderr log is scanned for every secret.

mod common;

use anaf_sim::{Sim, SimConfig};
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct RelayProcess {
    child: Child,
    log: Arc<Mutex<String>>,
    base: String,
    callback: String,
    /// The stderr pipe when nobody reads it any more (see `spawn_unread`).
    _unread: Option<std::process::ChildStderr>,
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RelayProcess {
    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

/// The vendor's configuration file and the database path, in `dir`.
fn files(dir: &std::path::Path) -> (String, String) {
    let config = dir.join("relay.toml");
    std::fs::write(&config, vendor_toml()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    (
        config.to_string_lossy().into_owned(),
        dir.join("links.db").to_string_lossy().into_owned(),
    )
}

fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_anaf-relay"));
    c.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

fn spawn(args: &[&str]) -> RelayProcess {
    spawn_env(args, &[])
}

fn spawn_env(args: &[&str], env: &[(&str, &str)]) -> RelayProcess {
    let mut child = command(args, env).spawn().expect("anaf-relay starts");
    let log = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut l = sink.lock().unwrap();
            l.push_str(&line);
            l.push('\n');
        }
    });
    wait_listening(child, log, None)
}

/// Reads stderr up to the "listening" line, then never again: the pipe fills up.
fn spawn_unread(args: &[&str]) -> RelayProcess {
    let mut child = command(args, &[]).spawn().expect("anaf-relay starts");
    let mut stderr = child.stderr.take().unwrap();
    let mut text = Vec::new();
    let mut byte = [0u8; 1];
    use std::io::Read;
    while !String::from_utf8_lossy(&text).contains("installation(s)") {
        assert_eq!(stderr.read(&mut byte).unwrap(), 1, "anaf-relay exited");
        text.push(byte[0]);
    }
    let log = Arc::new(Mutex::new(String::from_utf8_lossy(&text).into_owned()));
    wait_listening(child, log, Some(stderr))
}

fn wait_listening(
    mut child: Child,
    log: Arc<Mutex<String>>,
    unread: Option<std::process::ChildStderr>,
) -> RelayProcess {
    let start = Instant::now();
    loop {
        let text = log.lock().unwrap().clone();
        if let Some(line) = text.lines().find(|l| l.contains("listening on")) {
            let callback = line
                .split("callback ")
                .nth(1)
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .trim()
                .to_string();
            let base = line
                .split("links ")
                .nth(1)
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .trim()
                .trim_end_matches("l/")
                .to_string();
            return RelayProcess {
                child,
                log,
                base,
                callback,
                _unread: unread,
            };
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("anaf-relay exited ({status}): {text}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "anaf-relay did not start: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_serves_https_and_never_logs_secrets() {
    let sim = Sim::start(SimConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let cert_pem = ck.cert.pem();
    std::fs::write(dir.path().join("relay.pem"), &cert_pem).unwrap();
    std::fs::write(
        dir.path().join("relay-key.pem"),
        ck.signing_key.serialize_pem(),
    )
    .unwrap();
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let idp = sim.idp_url();
    let ca = sim.ca_pem_path().to_string_lossy().into_owned();
    let (config, db) = files(dir.path());
    let relay = spawn(&[
        "--config",
        &config,
        "--db",
        &db,
        "--listen",
        "127.0.0.1:0",
        "--callback-url",
        "https://127.0.0.1:0/anaf/callback",
        "--idp-url",
        &idp,
        "--ca-file",
        &ca,
        "--tls-cert",
        &p("relay.pem"),
        "--tls-key",
        &p("relay-key.pem"),
        "--test-clock",
    ]);
    assert!(
        relay.callback.starts_with("https://127.0.0.1:")
            && relay.callback.ends_with("/anaf/callback"),
        "{}",
        relay.callback
    );
    sim.register_app(CLIENT_ID, CLIENT_SECRET, &relay.callback);

    let dll = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    // Plain HTTP to a TLS port fails: the relay really serves TLS.
    let plain = relay.base.replace("https://", "http://");
    assert!(http().get(format!("{plain}healthz")).send().await.is_err());

    let (s, v, link) = create_link(&dll, &relay.base, Some(&relay.callback)).await;
    assert_eq!(s, 201, "{v} {}", relay.log());
    let link = link.unwrap();
    assert!(link.url.starts_with("https://"));
    let b = browser(&sim, Some(SERIAL), Some(cert_pem.as_bytes()));
    let (callback, s, page) = open_in_browser(&b, &link.url).await;
    assert_eq!(s, 200, "{page}");
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let (_, v, _) = poll(&dll, &relay.base, &link.id, &link.secret).await;
    assert_eq!(v["status"], "done");
    let tokens = open(&link, &v);
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        poll(&dll, &relay.base, &link.id, &link.secret).await.0,
        404,
        "second retrieval"
    );

    // The test clock: 5 hours later a new link is expired.
    let (_, _, late) = create_link(&dll, &relay.base, None).await;
    let late = late.unwrap();
    let r = dll
        .post(format!(
            "{}_test/clock?advance_seconds={}",
            relay.base,
            5 * 3600
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        poll(&dll, &relay.base, &late.id, &late.secret).await.1["status"],
        "expired"
    );

    std::thread::sleep(Duration::from_millis(200));
    let log = relay.log();
    assert!(
        log.contains("token obtained and sealed") && log.contains("--test-clock is on"),
        "{log}"
    );
    assert_clean(
        &log,
        &[
            CLIENT_SECRET,
            KEY,
            STORAGE_KEY,
            &link.secret,
            &late.secret,
            &access,
            &refresh,
            &code,
            &link.id,
        ],
    );
}

#[test]
fn the_binary_refuses_a_bad_command_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_anaf-relay"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--callback-url is required"));
    let dir = tempfile::tempdir().unwrap();
    let (config, db) = files(dir.path());
    // No configuration file, or one that lets nobody in: refused before listening.
    let out = Command::new(env!("CARGO_BIN_EXE_anaf-relay"))
        .args(["--callback-url", "https://x.example/cb", "--db", &db])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--config is required"));
    let empty = dir.path().join("empty.toml");
    std::fs::write(
        &empty,
        format!("storage_key = \"{STORAGE_KEY}\"\n[[client]]\nclient_id = \"c\"\nclient_secret = \"s\"\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_anaf-relay"))
        .args([
            "--callback-url",
            "https://x.example/cb",
            "--db",
            &db,
            "--config",
        ])
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no [[installation]]"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_anaf-relay"))
        .args([
            "--callback-url",
            "https://x.example/cb",
            "--config",
            &config,
            "--db",
            &db,
            "--allow-client-id",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[[installation]]"));
    let out = Command::new(env!("CARGO_BIN_EXE_anaf-relay"))
        .args([
            "--callback-url",
            "https://x.example/cb",
            "--config",
            &config,
            "--db",
            &db,
            "--tls-cert",
            "/nonexistent.pem",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_anaf-relay"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--callback-url"));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_in_the_middle_of_a_link_loses_nothing() {
    let sim = Sim::start(SimConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (config, db) = files(dir.path());
    let port = free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let callback = format!("http://127.0.0.1:{port}/anaf/callback");
    let idp = sim.idp_url();
    let ca = sim.ca_pem_path().to_string_lossy().into_owned();
    let args = [
        "--config",
        &config,
        "--db",
        &db,
        "--listen",
        &listen,
        "--callback-url",
        &callback,
        "--idp-url",
        &idp,
        "--ca-file",
        &ca,
    ];
    let relay = spawn(&args);
    sim.register_app(CLIENT_ID, CLIENT_SECRET, &callback);
    let dll = http();
    let (s, v, link) = create_link(&dll, &relay.base, None).await;
    assert_eq!(s, 201, "{v}");
    let link = link.unwrap();
    let (_, _, untouched) = create_link(&dll, &relay.base, None).await;
    let untouched = untouched.unwrap();
    // The holder clicked the button and is at ANAF, typing the PIN…
    let b = browser(&sim, Some(SERIAL), None);
    let r = b.post(format!("{}/start", link.url)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let authorize = location(&r);

    // …while the relay is killed (a crash, a deploy) and started again.
    drop(relay);
    let relay = spawn(&args);
    let log_before = relay.log();
    assert!(log_before.contains("listening on"), "{log_before}");

    // ANAF sends the browser back to the new process, which finishes the link.
    let r = b.get(&authorize).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302);
    let r = b.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("generat cu succes"));
    let (s, v, _) = poll(&dll, &relay.base, &link.id, &link.secret).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("done")), "{v}");
    assert!(open(&link, &v)["access_token"].as_str().is_some());
    // The other link is still pending, and its page still opens.
    let (_, v, _) = poll(&dll, &relay.base, &untouched.id, &untouched.secret).await;
    assert_eq!(v["status"], "pending");
    let (_, s, _) = open_in_browser(&b, &untouched.url).await;
    assert_eq!(s, 200);
    assert_clean(&relay.log(), &[CLIENT_SECRET, KEY, &link.secret, &link.id]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_test_clock_needs_an_explicit_yes() {
    let dir = tempfile::tempdir().unwrap();
    let (config, db) = files(dir.path());
    let args = [
        "--config",
        &config,
        "--db",
        &db,
        "--listen",
        "127.0.0.1:0",
        "--callback-url",
        "http://127.0.0.1:0/anaf/callback",
    ];
    for (value, on) in [("0", false), ("false", false), ("1", true), ("yes", true)] {
        let relay = spawn_env(&args, &[("ANAF_RELAY_TEST_CLOCK", value)]);
        let r = http()
            .post(format!("{}_test/clock?advance_seconds=10", relay.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16() == 200,
            on,
            "ANAF_RELAY_TEST_CLOCK={value}"
        );
        assert_eq!(relay.log().contains("--test-clock is on"), on, "{value}");
    }
    let out = command(&args, &[("ANAF_RELAY_TEST_CLOCK", "perhaps")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ANAF_RELAY_TEST_CLOCK must be"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stderr_nobody_reads_does_not_stop_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let (config, db) = files(dir.path());
    let relay = spawn_unread(&[
        "--config",
        &config,
        "--db",
        &db,
        "--listen",
        "127.0.0.1:0",
        "--callback-url",
        "http://127.0.0.1:0/anaf/callback",
        "--ip-requests-per-minute",
        "1000000",
    ]);
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    // Each refused link logs a line of ~80 bytes: far more than a pipe holds (64 KiB).
    for i in 0..2500 {
        let r = c
            .post(format!("{}api/links", relay.base))
            .bearer_auth("ark_wrong")
            .body("{}")
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {i} hung or failed: {e}"));
        assert_eq!(r.status().as_u16(), 401);
    }
    let (s, v, _) = create_link(&c, &relay.base, None).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        c.get(format!("{}healthz", relay.base))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
}
