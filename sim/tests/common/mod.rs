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
    let text = r.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
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

pub mod ojson;

/// shared/anaf beside the repository (ANAF_SHARED_DIR overrides).
pub fn shared_anaf() -> std::path::PathBuf {
    if let Ok(d) = std::env::var("ANAF_SHARED_DIR") {
        return std::path::PathBuf::from(d).join("anaf");
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/anaf")
}

/// The raw text of one example answer in ANAF's swagger JSON: for a string example the
/// string itself, for an object its JSON text (key order kept).
pub fn swagger_example(file: &str, path: &str, method: &str, code: &str, name: &str) -> String {
    let p = shared_anaf().join("swagger").join(file);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let doc = ojson::parse(&text);
    let responses = doc.at(&["paths", path, method, "responses", code, "content"]);
    let ojson::J::Obj(contents) = responses else {
        panic!()
    };
    for (_, c) in contents {
        if let Some(ex) = c.get("examples").and_then(|e| e.get(name)) {
            return match ex.at(&["value"]) {
                ojson::J::Str(s) => s.clone(),
                other => to_text(other),
            };
        }
    }
    panic!("no example {name:?} for {method} {path} {code} in {file}");
}

/// The JavaScript spec object of one of the e-Transport swagger pages.
pub fn etransport_spec(page: &str) -> ojson::J {
    let p = shared_anaf().join("etransport-swagger").join(page);
    let html = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let start = html.find("var spec = ").expect("spec in page") + "var spec = ".len();
    // The object ends at the brace that balances the first one (no braces in strings
    // outside the examples' JSON, which balance too).
    let bytes = html.as_bytes();
    let (mut depth, mut end, mut quote) = (0i32, start, 0u8);
    let mut i = start;
    while i < bytes.len() {
        let c = bytes[i];
        if quote != 0 {
            if c == b'\\' {
                i += 1;
            } else if c == quote {
                quote = 0;
            }
        } else if c == b'"' || c == b'\'' {
            quote = c;
        } else if c == b'{' {
            depth += 1;
        } else if c == b'}' {
            depth -= 1;
            if depth == 0 {
                end = i + 1;
                break;
            }
        }
        i += 1;
    }
    ojson::parse(&html[start..end])
}

pub fn etransport_example(
    page: &str,
    path: &str,
    method: &str,
    code: &str,
    name: &str,
) -> ojson::J {
    let spec = etransport_spec(page);
    let c = spec.at(&["paths", path, method, "responses", code, "content"]);
    let ojson::J::Obj(contents) = c else { panic!() };
    for (_, c) in contents {
        if let Some(ex) = c.get("examples").and_then(|e| e.get(name)) {
            return ex.at(&["value"]).clone();
        }
    }
    panic!("no example {name:?} in {page}");
}

pub fn to_text(j: &ojson::J) -> String {
    use ojson::J;
    match j {
        J::Obj(v) => format!(
            "{{{}}}",
            v.iter()
                .map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), to_text(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        J::Arr(v) => format!("[{}]", v.iter().map(to_text).collect::<Vec<_>>().join(",")),
        J::Str(s) => serde_json::to_string(s).unwrap(),
        J::Num(n) => n.clone(),
        J::Bool(b) => b.to_string(),
        J::Null => "null".into(),
    }
}

/// Replaces the value of attribute `name` with "*" (for ids and dates that differ).
pub fn mask_attr(xml: &str, name: &str) -> String {
    let pat = format!(" {name}=\"");
    match xml.find(&pat) {
        None => xml.to_string(),
        Some(i) => {
            let s = i + pat.len();
            let e = s + xml[s..].find('"').unwrap();
            format!("{}*{}", &xml[..s], &xml[e..])
        }
    }
}

pub fn norm_xml(s: &str) -> String {
    let mut s = s.replace("\r\n", "\n");
    for a in ["dateResponse", "index_incarcare", "id_descarcare"] {
        s = mask_attr(&s, a);
    }
    s
}

/// A request body example of ANAF's swagger (the invoices ANAF documents with).
pub fn swagger_request(file: &str, path: &str, method: &str, name: &str) -> String {
    let p = shared_anaf().join("swagger").join(file);
    let doc = ojson::parse(&std::fs::read_to_string(&p).unwrap());
    let ojson::J::Obj(contents) = doc.at(&["paths", path, method, "requestBody", "content"]) else {
        panic!()
    };
    for (_, c) in contents {
        if let Some(ex) = c.get("examples").and_then(|e| e.get(name)) {
            return ex.at(&["value"]).str().to_string();
        }
    }
    panic!("no request example {name:?}");
}

/// ANAF's own UBL example invoice, with the seller and buyer CIFs replaced.
pub fn ubl_invoice(seller: &str, buyer: &str) -> String {
    swagger_request("upload.json", "/upload", "post", "structura xml pentru UBL")
        .replace("RO1234567890", &format!("RO{seller}"))
        .replace("RO987456123", &format!("RO{buyer}"))
}

pub fn post_api(
    sim: &Sim,
    path: &str,
    token: Option<&str>,
    body: impl Into<reqwest::blocking::Body>,
) -> (u16, String) {
    let mut r = client(sim)
        .post(format!("{}{}", sim.api_url(), path))
        .header("content-type", "text/plain")
        .body(body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

pub fn get_text(sim: &Sim, path: &str, token: Option<&str>) -> (u16, String) {
    let r = get_api(sim, path, token);
    (r.status().as_u16(), r.text().unwrap())
}

/// "Cod: 123" → "Cod: XXX", as ANAF's examples write the technical error code.
pub fn mask_code(s: &str) -> String {
    match s.find("Cod: ") {
        None => s.to_string(),
        Some(i) => {
            let start = i + 5;
            let end = start
                + s[start..]
                    .bytes()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
            format!("{}XXX{}", &s[..start], &s[end..])
        }
    }
}
