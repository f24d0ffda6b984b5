//! Helpers shared by the relay's tests: a DLL stand-in (what src/login/link.rs sends and
//! opens) and a "remote browser" holding the test certificate.

#![allow(dead_code)]

use anaf_relay::crypto::{b64, derive_key, sha256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::{json, Value};
use x25519_dalek::{PublicKey, StaticSecret};

pub const CLIENT_ID: &str = "relay-test-client";
/// Contains characters that need form-urlencoding in HTTP Basic.
pub const CLIENT_SECRET: &str = "Rel4y-S3cret+with/odd=chars%41";
pub const SERIAL: &str = "5A17C0DE01";
pub const CIF: &str = "14399840";
/// The installation key the tests' ERP holds (`relay_key`).
pub const KEY: &str = "ark_relay-test-installation-key-0123456789abcdef";
pub const CUSTOMER: &str = "SC Firma Test <SRL> & Co";
/// A second installation, allowed only CIF 8000006.
pub const OTHER_KEY: &str = "ark_relay-test-other-installation-0123456789abc";
/// A fixed storage key, so that a restarted relay opens what the first one stored.
pub const STORAGE_KEY: &str = "c3RvcmFnZS1rZXktZm9yLXRoZS1yZWxheS10ZXN0cyE";

fn sha_hex(s: &str) -> String {
    sha256(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The vendor's configuration file for the tests.
pub fn vendor_toml() -> String {
    format!(
        "storage_key = \"{STORAGE_KEY}\"\n\
         [[client]]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = {}\n\
         [[installation]]\nid = \"test-install\"\ncustomer = {}\nclient_ids = [\"{CLIENT_ID}\"]\nkey_sha256 = \"{}\"\n\
         [[installation]]\nid = \"other-install\"\ncustomer = \"Alta SRL\"\nclient_ids = [\"{CLIENT_ID}\"]\nkey_sha256 = \"{}\"\ncifs = [\"8000006\"]\n",
        serde_json::to_string(CLIENT_SECRET).unwrap(),
        serde_json::to_string(CUSTOMER).unwrap(),
        sha_hex(KEY),
        sha_hex(OTHER_KEY),
    )
}

pub fn vendor() -> std::sync::Arc<anaf_relay::vendor::Vendor> {
    std::sync::Arc::new(anaf_relay::vendor::Vendor::parse(&vendor_toml()).unwrap())
}

/// What the DLL keeps for a link.
pub struct DllLink {
    pub id: String,
    pub url: String,
    pub expires_at: i64,
    pub secret: String,
    pub key: StaticSecret,
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Creates a link as the DLL does. Returns the HTTP status and the DLL's side.
pub async fn create_link(
    c: &reqwest::Client,
    base: &str,
    redirect_uri: Option<&str>,
) -> (u16, Value, Option<DllLink>) {
    create_link_as(c, base, Some(KEY), redirect_uri, json!({})).await
}

/// The same with another key (or none) and extra body fields.
pub async fn create_link_as(
    c: &reqwest::Client,
    base: &str,
    relay_key: Option<&str>,
    redirect_uri: Option<&str>,
    extra: Value,
) -> (u16, Value, Option<DllLink>) {
    let key = StaticSecret::random_from_rng(OsRng);
    let public = PublicKey::from(&key);
    let mut raw = [0u8; 32];
    OsRng.fill_bytes(&mut raw);
    let secret = URL_SAFE_NO_PAD.encode(raw);
    let mut body = json!({
        "client_id": CLIENT_ID,
        "public_key": b64(public.as_bytes()),
        "verifier": b64(&sha256(secret.as_bytes())),
        "cif": CIF,
    });
    if let Some(r) = redirect_uri {
        body["redirect_uri"] = json!(r);
    }
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        for (k, v) in e {
            if v.is_null() {
                b.remove(&k);
            } else {
                b.insert(k, v);
            }
        }
    }
    let mut req = c.post(format!("{base}api/links")).json(&body);
    if let Some(k) = relay_key {
        req = req.bearer_auth(k);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    let link = (status == 201).then(|| DllLink {
        id: v["id"].as_str().unwrap().to_string(),
        url: v["url"].as_str().unwrap().to_string(),
        expires_at: v["expires_at"].as_i64().unwrap(),
        secret,
        key,
    });
    (status, v, link)
}

pub async fn poll(c: &reqwest::Client, base: &str, id: &str, secret: &str) -> (u16, Value, String) {
    let r = c
        .post(format!("{base}api/links/{id}/poll"))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let text = r.text().await.unwrap();
    (s, serde_json::from_str(&text).unwrap_or(Value::Null), text)
}

/// Opens a `done` answer with the link's key (what the DLL does).
pub fn open(link: &DllLink, v: &Value) -> Value {
    let d = |k: &str| URL_SAFE_NO_PAD.decode(v[k].as_str().unwrap()).unwrap();
    let eph: [u8; 32] = d("ephemeral_public_key").try_into().unwrap();
    let own = PublicKey::from(&link.key);
    let shared = link.key.diffie_hellman(&PublicKey::from(eph));
    let k = derive_key(shared.as_bytes(), &eph, own.as_bytes());
    let c = ChaCha20Poly1305::new(Key::from_slice(k.as_ref()));
    let pt = c
        .decrypt(
            Nonce::from_slice(&d("nonce")),
            Payload {
                msg: &d("ciphertext"),
                aad: link.id.as_bytes(),
            },
        )
        .expect("the DLL's key opens the sealed tokens");
    serde_json::from_slice(&pt).unwrap()
}

/// A browser on the computer holding the USB token: the test certificate, the simulator's
/// CA (and, for an https relay, the relay's certificate), no automatic redirects.
pub fn browser(
    sim: &anaf_sim::Sim,
    serial: Option<&str>,
    extra_root_pem: Option<&[u8]>,
) -> reqwest::Client {
    let ca = std::fs::read(sim.ca_pem_path()).unwrap();
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap());
    if let Some(pem) = extra_root_pem {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(pem).unwrap());
    }
    if let Some(serial) = serial {
        let cc = sim.client_cert(serial);
        let mut pem = std::fs::read(&cc.cert_pem).unwrap();
        pem.extend(std::fs::read(&cc.key_pem).unwrap());
        b = b.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    b.build().unwrap()
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(reqwest::header::LOCATION)
        .expect("a redirect")
        .to_str()
        .unwrap()
        .to_string()
}

/// The browser opens the link, follows the button to ANAF, presents the certificate and
/// comes back to the relay's callback. Returns (callback URL, final status, final page).
pub async fn open_in_browser(b: &reqwest::Client, link_url: &str) -> (String, u16, String) {
    let r = b.get(link_url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "landing page");
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Generare token ANAF") && page.contains("ANAF token"),
        "bilingual landing page"
    );
    let start = format!("{link_url}/start");
    assert!(
        page.contains(&format!("action=\"{start}\"")),
        "the button posts to {start}"
    );
    let r = b.post(&start).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let authorize = location(&r);
    assert!(
        authorize.contains("/anaf-oauth2/v1/authorize?"),
        "{authorize}"
    );
    assert!(authorize.contains("state="), "{authorize}");
    let r = b.get(&authorize).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302, "ANAF redirects back");
    let callback = location(&r);
    let r = b.get(&callback).send().await.unwrap();
    let s = r.status().as_u16();
    (callback, s, r.text().await.unwrap())
}

/// Asserts that no secret value appears in the log text.
pub fn assert_clean(log: &str, secrets: &[&str]) {
    assert!(!log.is_empty(), "the relay logged something");
    for s in secrets {
        assert!(s.len() >= 6, "secret too short to scan for");
        assert!(
            !log.contains(s),
            "the log leaks a secret ({}…):\n{log}",
            &s[..4]
        );
    }
}
