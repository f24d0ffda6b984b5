//! Month-end at ANAF's speed: `anaf_upload_batch` against serial uploads and a peer client.
//!
//! 1. 2000 invoices through the batch, the simulator answering each upload 300 ms late and
//!    refusing a 1001st call in a minute, the DLL configured at ANAF's 1000 a minute: the
//!    rate reached (target ≥ 90 % of the configured one, which is the physical limit here),
//!    and the busiest minute of arrivals counted at the simulator (never above the rate).
//! 2. The same latency, invoices uploaded one after another with `anaf_upload`, and with the
//!    peer client `anafpy` (PyPI, driven by benches/anafpy_upload.py), on a few hundred each.
//! 3. 20 ms a answer and the pacer out of the way: the batch against a raw keep-alive
//!    reqwest loop sending the same requests with as many in flight (target ≤ 1.05×).
//!
//! Run: `cargo bench -p anaf-bridge --bench batch`. ANAF_BENCH_N overrides 2000,
//! ANAF_BENCH_SERIAL_N 200; ANAF_BENCH_ANAFPY names a Python with anafpy installed
//! (`python3.12 -m venv /tmp/anafpy && /tmp/anafpy/bin/pip install anafpy==0.13.3`), else
//! that figure is not measured.

use anaf_bridge::client::batch::{Doc, Item};
use anaf_bridge::client::efactura::UploadOptions;
use anaf_bridge::client::upload::UploadOutcome;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::{invoice, CIF, FIXTURE};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sim(per_minute_limit: u32, latency: Duration) -> anaf_sim::Sim {
    let sim = anaf_sim::Sim::start(anaf_sim::SimConfig {
        per_minute_limit,
        processing_secs: 0,
        ..Default::default()
    })
    .unwrap();
    sim.inject_on(
        "/test/FCTEL/rest/upload",
        anaf_sim::Fault::Latency(latency),
        u32::MAX,
    );
    sim
}

fn items(n: usize, tag: &str) -> Vec<Item> {
    (0..n)
        .map(|i| Item {
            xml: Ok(invoice(i, tag)),
            doc: Doc::Invoice(UploadOptions::default()),
            reference: None,
        })
        .collect()
}

fn uploads(sim: &anaf_sim::Sim) -> u64 {
    sim.counters().uploads.get(CIF).copied().unwrap_or(0)
}

/// When each upload arrives at the simulator, sampled every millisecond until `done`.
fn sample(sim: Arc<anaf_sim::Sim>, done: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<Instant>> {
    std::thread::spawn(move || {
        let mut arrivals = Vec::new();
        let mut seen = uploads(&sim);
        while !done.load(Ordering::Relaxed) {
            let now = uploads(&sim);
            for _ in seen..now {
                arrivals.push(Instant::now());
            }
            seen = now;
            std::thread::sleep(Duration::from_millis(1));
        }
        arrivals
    })
}

fn busiest(arrivals: &[Instant], window: Duration) -> usize {
    let mut j = 0;
    let mut best = 0;
    for i in 0..arrivals.len() {
        while j < arrivals.len() && arrivals[j] - arrivals[i] < window {
            j += 1;
        }
        best = best.max(j - i);
    }
    best
}

/// The raw loop: the same upload requests, `in_flight` at a time, each answer read.
fn raw(sim: &anaf_sim::Sim, token: &str, docs: &[Vec<u8>], in_flight: usize) -> Duration {
    let ca = std::fs::read(sim.ca_pem_path()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap();
    let url = format!(
        "{}/test/FCTEL/rest/upload?standard=UBL&cif={CIF}",
        sim.api_url()
    );
    let next = AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..in_flight {
            s.spawn(|| {
                while let Some(d) = docs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    anaf_bridge::client::http::block_on(async {
                        let r = client
                            .post(&url)
                            .bearer_auth(token)
                            .header("content-type", "text/plain")
                            .body(d.clone())
                            .send()
                            .await
                            .unwrap();
                        let body = r.bytes().await.unwrap();
                        assert!(body.windows(16).any(|w| w == b"index_incarcare="));
                    });
                }
            });
        }
    });
    t.elapsed()
}

fn main() {
    let n = env_number("ANAF_BENCH_N", 2000);
    let serial_n = env_number("ANAF_BENCH_SERIAL_N", 200);
    let dir = tempfile::tempdir().unwrap();
    let rate = 1000u32;

    // ---- 1. the batch at ANAF's latency and rate --------------------------------------
    let s1 = Arc::new(sim(rate, Duration::from_millis(300)));
    let s = common::session(
        &s1,
        &dir.path().join("batch.db"),
        rate,
        serde_json::json!({}),
    );
    let in_flight = s.config.max_in_flight as usize;
    let done = Arc::new(AtomicBool::new(false));
    let sampler = sample(s1.clone(), done.clone());
    let t = Instant::now();
    let v = s.upload_batch(&items(n, "B"), in_flight).unwrap();
    let took = t.elapsed();
    done.store(true, Ordering::Relaxed);
    let arrivals = sampler.join().unwrap();
    assert_eq!(
        v["counts"]["uploaded"].as_u64(),
        Some(n as u64),
        "{}",
        v["counts"]
    );
    let per_minute = n as f64 / took.as_secs_f64() * 60.0;
    let minute = busiest(&arrivals, Duration::from_secs(60));
    let refused = s1.counters().rate_limited;
    println!(
        "batch: {n} invoices, 300 ms an answer, {in_flight} in flight, rate {rate}/min: {:.1} s, {per_minute:.0}/min ({:.1} % of the rate; target ≥ 90 %) {}",
        took.as_secs_f64(),
        per_minute / rate as f64 * 100.0,
        if per_minute >= 0.9 * rate as f64 { "OK" } else { "UNDER TARGET" }
    );
    println!(
        "batch: busiest minute at the simulator {minute} uploads (rate {rate}), {refused} refused by its limit: {}",
        if minute <= rate as usize + 1 && refused == 0 { "never above the rate, OK" } else { "ABOVE THE RATE" }
    );

    // ---- 2. serial, the DLL and the peer client --------------------------------------
    let t = Instant::now();
    for d in (0..serial_n).map(|i| invoice(i, "S")) {
        match s.efactura().upload(&d, &UploadOptions::default()).unwrap() {
            UploadOutcome::Uploaded(_) => {}
            other => panic!("{other:?}"),
        }
    }
    let serial = serial_n as f64 / t.elapsed().as_secs_f64() * 60.0;
    println!("serial anaf_upload: {serial_n} invoices, {serial:.0}/min");
    match std::env::var("ANAF_BENCH_ANAFPY") {
        Ok(python) => {
            let pair = s1.mint_tokens(CIF, "1A2B3C4D");
            let out = std::process::Command::new(&python)
                .arg(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/benches/anafpy_upload.py"
                ))
                .arg(s1.api_url())
                .arg(s1.ca_pem_path())
                .arg(&pair.access_token)
                .arg(&pair.refresh_token)
                .arg(CIF)
                .arg(FIXTURE)
                .arg(serial_n.to_string())
                .output()
                .expect("the anafpy script");
            let text = String::from_utf8_lossy(&out.stdout);
            match serde_json::from_str::<serde_json::Value>(text.trim()) {
                Ok(r) => println!(
                    "serial anafpy {}: {serial_n} invoices, {:.0}/min",
                    anafpy_version(&python),
                    serial_n as f64 / r["seconds"].as_f64().unwrap() * 60.0
                ),
                Err(_) => println!(
                    "anafpy: failed: {text} {}",
                    String::from_utf8_lossy(&out.stderr)
                ),
            }
        }
        Err(_) => {
            println!("serial anafpy: NOT MEASURED (set ANAF_BENCH_ANAFPY to a Python with anafpy)")
        }
    }
    drop(s);

    // ---- 3. the DLL's own cost: 20 ms an answer, the pacer out of the way -------------
    let s3 = sim(u32::MAX, Duration::from_millis(20));
    let s = common::session(
        &s3,
        &dir.path().join("overhead.db"),
        u32::MAX,
        serde_json::json!({}),
    );
    let token = s.access_token().unwrap();
    // Warm-up: connections, tables.
    s.upload_batch(&items(50, "W"), in_flight).unwrap();
    raw(
        &s3,
        &token,
        &(0..50).map(|i| invoice(i, "WR")).collect::<Vec<_>>(),
        in_flight,
    );
    let docs: Vec<Vec<u8>> = (0..n).map(|i| invoice(i, "R")).collect();
    let t_raw = raw(&s3, &token, &docs, in_flight);
    let t = Instant::now();
    let v = s.upload_batch(&items(n, "D"), in_flight).unwrap();
    let t_dll = t.elapsed();
    assert_eq!(v["counts"]["uploaded"].as_u64(), Some(n as u64));
    let per = |d: Duration| d.as_secs_f64() * 1e3 / n as f64;
    let ratio = t_dll.as_secs_f64() / t_raw.as_secs_f64();
    println!(
        "overhead: {n} invoices, 20 ms an answer, {in_flight} in flight: raw loop {:.2} ms/upload, batch {:.2} ms/upload, ratio {ratio:.3} (target ≤ 1.05) {}",
        per(t_raw),
        per(t_dll),
        if ratio <= 1.05 { "OK" } else { "OVER TARGET" }
    );
}

fn anafpy_version(python: &str) -> String {
    std::process::Command::new(python)
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('anafpy'))",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
