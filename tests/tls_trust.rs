//! What the DLL's HTTPS connections trust, with real TLS on loopback against the
//! simulator: its test CA (`ca_file`) is trusted for the configured hosts only. The
//! simulator's certificate names both 127.0.0.1 and localhost, so the same server is
//! reached under a configured name and under one the configuration does not name.

use anaf_bridge::client::http::{block_on, build_client};
use anaf_bridge::config::Config;
use anaf_sim::{Sim, SimConfig};
use serde_json::json;

/// The TestOauth URL of the simulator's API host under `host`.
fn hello(sim: &Sim, host: &str) -> String {
    let port = sim.api_url().rsplit(':').next().unwrap().to_string();
    format!("https://{host}:{port}/TestOauth/jaxrs/hello?name=x")
}

fn client(sim: &Sim, extra: serde_json::Value) -> reqwest::Client {
    let mut cfg = json!({
        "cif": "14399840",
        "database": "unused.db",
        "idp_url": sim.idp_url(),
        "api_url": sim.api_url(),
        "public_url": sim.public_url(),
        "ca_file": sim.ca_pem_path(),
    });
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    build_client(&Config::from_json(&cfg.to_string()).unwrap()).unwrap()
}

/// Ok(HTTP status), or the error chain's text.
fn get(c: &reqwest::Client, url: String) -> Result<u16, String> {
    block_on(async move { c.get(url).send().await })
        .map(|r| r.status().as_u16())
        .map_err(|e| {
            let mut text = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                text.push_str(": ");
                text.push_str(&s.to_string());
                src = s.source();
            }
            text
        })
}

#[test]
fn ca_file_is_trusted_for_the_configured_hosts_only() {
    let sim = Sim::start(SimConfig::default()).expect("simulator");

    // Configured as 127.0.0.1: the test CA vouches for it (any answer is a finished handshake).
    let c = client(&sim, json!({}));
    let status = get(&c, hello(&sim, "127.0.0.1")).expect("TLS with ca_file");
    assert_eq!(status, 401, "TestOauth without a token");

    // The same server under a name no configured URL has: the system's roots only.
    let e = get(&c, hello(&sim, "localhost")).expect_err("not a configured host");
    assert!(e.contains("UnknownIssuer"), "{e}");

    // Named by a configured URL (here the relay's), the host is covered, whatever the port.
    let c = client(&sim, json!({ "relay_url": "https://localhost:1/anaf/" }));
    assert_eq!(get(&c, hello(&sim, "localhost")), Ok(401));

    // Without ca_file nothing is trusted beyond the system's roots.
    let c = client(&sim, json!({ "ca_file": null }));
    let e = get(&c, hello(&sim, "127.0.0.1")).expect_err("no ca_file");
    assert!(e.contains("UnknownIssuer"), "{e}");
}
