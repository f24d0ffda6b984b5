//! Helpers for the simulator's own tests: real HTTPS clients over loopback.
#![allow(dead_code)]

use std::collections::HashMap;

use anaf_sim::{ClientCert, Sim, SimConfig};
use reqwest::blocking::Client;
use reqwest::redirect::Policy;

pub fn start() -> Sim {
    Sim::start(SimConfig::default()).expect("simulator starts")
}

fn builder(sim: &Sim) -> reqwest::blocking::ClientBuilder {
    let ca = std::fs::read(sim.ca_pem_path()).unwrap();
    Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .redirect(Policy::none())
        .use_rustls_tls()
}

/// A client that trusts the simulator's CA and presents no certificate.
pub fn client(sim: &Sim) -> Client {
    builder(sim).build().unwrap()
}

/// A client that presents this client certificate (like the browser with the USB token).
pub fn client_with_cert(sim: &Sim, cert: &ClientCert) -> Client {
    let mut pem = std::fs::read(&cert.cert_pem).unwrap();
    pem.extend(std::fs::read(&cert.key_pem).unwrap());
    builder(sim)
        .identity(reqwest::Identity::from_pem(&pem).unwrap())
        .build()
        .unwrap()
}

pub fn query_of(location: &str) -> HashMap<String, String> {
    let q = location.split_once('?').map(|x| x.1).unwrap_or("");
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), pct_decode(v)))
        .collect()
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 && i + 3 <= b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

pub fn authorize_url(sim: &Sim, state: &str) -> String {
    format!(
        "{}/anaf-oauth2/v1/authorize?response_type=code&client_id=sim-client-id&redirect_uri={}&token_content_type=jwt&state={state}",
        sim.idp_url(),
        "https%3A%2F%2Flocalhost%3A9443%2Fanaf%2Fcallback"
    )
}

/// Browser step with a certificate: returns the code.
pub fn get_code(sim: &Sim, cert: &ClientCert) -> String {
    let r = client_with_cert(sim, cert)
        .get(authorize_url(sim, "st"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 302);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    query_of(&loc)
        .get("code")
        .cloned()
        .expect("code in redirect")
}

pub fn token_request(sim: &Sim, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let r = client(sim)
        .post(format!("{}/anaf-oauth2/v1/token", sim.idp_url()))
        .basic_auth("sim-client-id", Some("sim-client-secret"))
        .form(form)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap())
}

pub fn exchange(sim: &Sim, code: &str) -> (u16, serde_json::Value) {
    token_request(
        sim,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", "https://localhost:9443/anaf/callback"),
            ("token_content_type", "jwt"),
        ],
    )
}

pub fn refresh(sim: &Sim, rt: &str) -> (u16, serde_json::Value) {
    token_request(
        sim,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("token_content_type", "jwt"),
        ],
    )
}

pub fn get_api(sim: &Sim, path: &str, token: Option<&str>) -> reqwest::blocking::Response {
    let mut r = client(sim).get(format!("{}{}", sim.api_url(), path));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().unwrap()
}
