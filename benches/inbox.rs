//! The inbox sync against a plain loop of the same requests, and its quotas.
//!
//! 1. A first `anaf_inbox_sync` of 5000 messages over 59 days (pages of 500, ANAF's),
//!    with 50 ms added by the simulator to every answer, against a plain keep-alive
//!    reqwest loop that sends the same list requests over the same window and downloads
//!    every message listed, one at a time like the DLL (same concurrency), reading every
//!    body. Each side has a simulator of its own holding the same inbox. What the DLL adds
//!    is its work per message: the daily call counters, the ZIP opened and the invoice
//!    read, the row written. Target: ≤ 1.15 × the loop. The pacer is out of the way here.
//! 2. The quotas: the same sync of 1500 messages at the configured rate (1000 a minute,
//!    ANAF's limit) against a simulator that refuses a 1001st call in a minute: no call
//!    refused (HTTP 429), and every message downloaded once (ANAF allows 10 a day).
//!
//! Run: `cargo bench -p anaf-bridge --bench inbox` (ANAF_BENCH_N overrides 5000,
//! ANAF_BENCH_QUOTA_N 1500, ANAF_BENCH_LATENCY_MS 50).

use anaf_bridge::client::inbox::SyncOptions;
use anaf_bridge::client::Session;
use std::time::{Duration, Instant};

mod common;
use common::CIF;
const ENV: &str = "test";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A simulator holding `n` messages for the company, answering `latency` late.
fn sim_with(n: usize, latency: Duration, per_minute_limit: u32) -> anaf_sim::Sim {
    let sim = anaf_sim::Sim::start(anaf_sim::SimConfig {
        per_minute_limit,
        processing_secs: 0,
        ..Default::default()
    })
    .unwrap();
    sim.seed_inbox(ENV, CIF, n, 59);
    if !latency.is_zero() {
        sim.inject_on("/test/FCTEL", anaf_sim::Fault::Latency(latency), u32::MAX);
    }
    sim
}

/// One sync by the DLL: its time and answer.
fn bridge(s: &Session) -> (Duration, serde_json::Value) {
    let t = Instant::now();
    let v = s
        .inbox_sync(&SyncOptions::default())
        .unwrap_or_else(|(e, v)| panic!("{e:?} {v}"));
    (t.elapsed(), v)
}

/// The plain loop: the paged list over the DLL's first window (60 days back, ending two
/// minutes ago), then every message downloaded in turn. Its time and the messages.
fn plain(sim: &anaf_sim::Sim) -> (Duration, usize) {
    let ca = std::fs::read(sim.ca_pem_path()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap();
    let token = sim.mint_tokens(CIF, "1A2B3C4D").access_token;
    let base = format!("{}/test/FCTEL/rest", sim.api_url());
    anaf_bridge::client::http::block_on(async {
        let t = Instant::now();
        let now = chrono::Utc::now().timestamp_millis();
        let (start, end) = (now - 60 * 86_400_000 + 60_000, now - 120_000);
        let mut ids = Vec::new();
        let mut page = 1;
        loop {
            let url = format!(
                "{base}/listaMesajePaginatieFactura?startTime={start}&endTime={end}&cif={CIF}&pagina={page}"
            );
            let r = client.get(&url).bearer_auth(&token).send().await.unwrap();
            let v: serde_json::Value = r.json().await.unwrap();
            for m in v["mesaje"].as_array().expect("a page") {
                ids.push(m["id"].as_str().unwrap().to_string());
            }
            if page >= v["numar_total_pagini"].as_u64().unwrap() {
                break;
            }
            page += 1;
        }
        for id in &ids {
            let r = client
                .get(format!("{base}/descarcare?id={id}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            let body = r.bytes().await.unwrap();
            assert!(body.starts_with(b"PK"), "{id}");
        }
        (t.elapsed(), ids.len())
    })
}

fn main() {
    let n = env_number("ANAF_BENCH_N", 5000) as usize;
    let quota_n = env_number("ANAF_BENCH_QUOTA_N", 1500) as usize;
    let latency = Duration::from_millis(env_number("ANAF_BENCH_LATENCY_MS", 50));
    let dir = tempfile::tempdir().unwrap();

    // ---- 1. the DLL against the plain loop ------------------------------------------
    println!(
        "inbox: a first sync of {n} messages, {} ms added to every answer, one request at a time",
        latency.as_millis()
    );
    let (sim_a, sim_b) = (
        sim_with(n, latency, u32::MAX),
        sim_with(n, latency, u32::MAX),
    );
    let s = common::session(
        &sim_a,
        &dir.path().join("bridge.db"),
        u32::MAX,
        serde_json::json!({}),
    );
    let (t_plain, listed) = plain(&sim_b);
    let (t_bridge, v) = bridge(&s);
    let downloaded = v["downloaded"].as_u64().unwrap() as usize;
    assert_eq!(
        (downloaded, v["complete"].as_bool()),
        (listed, Some(true)),
        "{v}"
    );
    let per = |d: Duration| d.as_secs_f64() * 1e3 / listed as f64;
    let ratio = t_bridge.as_secs_f64() / t_plain.as_secs_f64();
    println!(
        "  plain reqwest loop : {:7.1} s, {:5.2} ms/message ({listed} listed and downloaded)",
        t_plain.as_secs_f64(),
        per(t_plain)
    );
    println!(
        "  anaf_inbox_sync    : {:7.1} s, {:5.2} ms/message, +{:.2} ms, ratio {ratio:.3} (target ≤ 1.15) {}",
        t_bridge.as_secs_f64(),
        per(t_bridge),
        per(t_bridge) - per(t_plain),
        if ratio <= 1.15 { "OK" } else { "OVER TARGET" }
    );
    drop((sim_a, sim_b));

    // ---- 2. the quotas --------------------------------------------------------------
    anaf_bridge::client::pacer::global().reset();
    let sim = sim_with(quota_n, Duration::ZERO, 1000);
    let s = common::session(
        &sim,
        &dir.path().join("quota.db"),
        1000,
        serde_json::json!({}),
    );
    let (t, v) = bridge(&s);
    let k = sim.counters();
    let once = k.downloads.values().all(|&d| d == 1);
    println!(
        "quotas: {quota_n} messages at 1000/min: {} calls in {:.1} s (one every {:.1} ms), {} refused by the per-minute limit, every message downloaded once: {}",
        k.requests,
        t.as_secs_f64(),
        t.as_secs_f64() * 1e3 / (k.requests.max(2) - 1) as f64,
        k.rate_limited,
        if once { "yes" } else { "NO" }
    );
    assert_eq!(v["downloaded"].as_u64(), Some(k.downloads.len() as u64));
    assert!(k.rate_limited == 0 && once, "a quota was exceeded: {k:?}");
    println!("quotas: never above a quota: OK");
}
