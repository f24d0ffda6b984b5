//! What the benchmarks against the simulator share: the session they measure (a token
//! imported, the rate given) and the invoices they send. Each bench includes this with
//! `mod common;`; not every bench uses every helper.
#![allow(dead_code)]

use anaf_bridge::client::Session;
use anaf_bridge::config::Config;

pub const CIF: &str = "14399840";
pub const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/factura_ubl.xml"
);

/// The sample invoice numbered `{tag}-{n}`: a document of its own for the journal.
pub fn invoice(n: usize, tag: &str) -> Vec<u8> {
    std::fs::read_to_string(FIXTURE)
        .unwrap()
        .replace(
            "<cbc:ID>ABR-2026-0001</cbc:ID>",
            &format!("<cbc:ID>{tag}-{n:06}</cbc:ID>"),
        )
        .into_bytes()
}

/// A session on the simulator with its database at `db`, a token imported, pacing at `rate`
/// a minute (`u32::MAX`: out of the way, past the configuration's bounds); `extra` adds
/// configuration keys.
pub fn session(
    sim: &anaf_sim::Sim,
    db: &std::path::Path,
    rate: u32,
    extra: serde_json::Value,
) -> Session {
    let mut cfg = serde_json::json!({
        "database": db, "cif": CIF, "environment": "test",
        "idp_url": sim.idp_url(), "api_url": sim.api_url(), "public_url": sim.public_url(),
        "ca_file": sim.ca_pem_path(),
        "client_id": "sim-client-id", "client_secret": "sim-client-secret",
        "redirect_uri": "https://localhost:9443/anaf/callback",
    });
    if let (Some(m), serde_json::Value::Object(e)) = (cfg.as_object_mut(), extra) {
        m.extend(e);
    }
    let mut config = Config::from_json(&cfg.to_string()).unwrap();
    config.rate_limit_per_minute = rate;
    let s = Session::open(config).unwrap();
    let pair = sim.mint_tokens(CIF, "1A2B3C4D");
    s.store_token_response(&pair.access_token, &pair.refresh_token, None)
        .unwrap();
    s
}
