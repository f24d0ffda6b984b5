//! Upload throughput against the local simulator, and the pacer's rate.
//!
//! 1. 2000 e-Factura uploads through anaf-bridge (XML check, SHA-256, journal, token,
//!    pacer, answer parsing) compared with a raw keep-alive reqwest loop sending the same
//!    requests and reading the same answers, once with each `journal_sync` setting:
//!    "full" (the default: the journal row is flushed to disk before the upload leaves) and
//!    "normal" (handed to the OS only). Target: anaf-bridge ≤ 1.15 × raw. The pacer is set
//!    out of the way for this part (its rate is the subject of part 3).
//! 2. The same comparison with 20 ms of latency added by the simulator to every answer,
//!    ANAF's order of magnitude being 100 ms and more.
//! 3. The pacer at its configured rate (1000 per minute, ANAF's maximum) with 4 threads
//!    uploading at once: the busiest sliding second and ten seconds never hold more than
//!    the rate allows.
//!
//! Run: `cargo bench -p anaf-bridge --bench upload` (ANAF_BENCH_N overrides 2000;
//! ANAF_BENCH_DIR=/dev/shm puts the database on tmpfs, to tell the DLL's own work from the
//! disk's latency).

use anaf_bridge::client::efactura::UploadOptions;
use anaf_bridge::client::upload::UploadOutcome;
use anaf_bridge::client::Session;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::{invoice, CIF};

fn bridge_loop(s: &Session, docs: &[Vec<u8>]) -> Duration {
    let opts = UploadOptions::default();
    let t = Instant::now();
    for d in docs {
        match s.efactura().upload(d, &opts).unwrap() {
            UploadOutcome::Uploaded(_) => {}
            other => panic!("{other:?}"),
        }
    }
    t.elapsed()
}

fn raw_loop(client: &reqwest::Client, url: &str, token: &str, docs: &[Vec<u8>]) -> Duration {
    anaf_bridge::client::http::block_on(async {
        let t = Instant::now();
        for d in docs {
            let r = client
                .post(url)
                .bearer_auth(token)
                .header("content-type", "text/plain")
                .body(d.clone())
                .send()
                .await
                .unwrap();
            let body = r.bytes().await.unwrap();
            assert!(
                body.windows(16).any(|w| w == b"index_incarcare="),
                "{}",
                String::from_utf8_lossy(&body)
            );
        }
        t.elapsed()
    })
}

fn main() {
    let n: usize = std::env::var("ANAF_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let sim = anaf_sim::Sim::start(anaf_sim::SimConfig {
        per_minute_limit: u32::MAX,
        processing_secs: 0,
        ..Default::default()
    })
    .unwrap();
    // ANAF_BENCH_DIR=/dev/shm puts the database on tmpfs: the same code without the
    // disk's fsync latency, to tell the two costs apart.
    let dir = match std::env::var("ANAF_BENCH_DIR") {
        Ok(d) => tempfile::tempdir_in(d).unwrap(),
        Err(_) => tempfile::tempdir().unwrap(),
    };

    // ---- 1. anaf-bridge vs raw keep-alive loop -------------------------------------
    let full = common::session(
        &sim,
        &dir.path().join("full.db"),
        u32::MAX,
        serde_json::json!({"journal_sync": "full"}),
    );
    let normal = common::session(
        &sim,
        &dir.path().join("normal.db"),
        u32::MAX,
        serde_json::json!({"journal_sync": "normal"}),
    );
    let ca = std::fs::read(sim.ca_pem_path()).unwrap();
    let raw = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap();
    let url = format!(
        "{}/test/FCTEL/rest/upload?standard=UBL&cif={CIF}",
        sim.api_url()
    );
    let token = full.access_token().unwrap();

    // Warm-up: connections, the journal tables, the runtime.
    for (s, tag) in [(&full, "WF"), (&normal, "WN")] {
        bridge_loop(s, &(0..50).map(|i| invoice(i, tag)).collect::<Vec<_>>());
    }
    raw_loop(
        &raw,
        &url,
        &token,
        &(0..50).map(|i| invoice(i, "WR")).collect::<Vec<_>>(),
    );

    println!(
        "uploads: {n} sequential, keep-alive, local simulator over HTTPS; database in {}",
        dir.path().display()
    );
    let compare = |n: usize, prefix: &str| -> [Duration; 3] {
        // One request of each kind in turn, so that the machine's drift and the
        // simulator's growing state hit every side alike.
        let mut t = [Duration::ZERO; 3];
        for i in 0..n {
            t[0] += raw_loop(
                &raw,
                &url,
                &token,
                std::slice::from_ref(&invoice(i, &format!("{prefix}R"))),
            );
            t[1] += bridge_loop(
                &full,
                std::slice::from_ref(&invoice(i, &format!("{prefix}F"))),
            );
            t[2] += bridge_loop(
                &normal,
                std::slice::from_ref(&invoice(i, &format!("{prefix}N"))),
            );
        }
        t
    };
    let report = |n: usize, t: [Duration; 3]| {
        let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        println!("  raw reqwest loop           : {:9.1} µs/upload", per(t[0]));
        for (name, d) in [
            ("anaf-bridge, journal full  ", t[1]),
            ("anaf-bridge, journal normal", t[2]),
        ] {
            let ratio = d.as_secs_f64() / t[0].as_secs_f64();
            println!(
                "  {name}: {:9.1} µs/upload, +{:.1} µs, ratio {ratio:.3} (target ≤ 1.15) {}",
                per(d),
                per(d) - per(t[0]),
                if ratio <= 1.15 { "OK" } else { "OVER TARGET" }
            );
        }
    };
    report(n, compare(n, "L"));

    // ---- 2. the same with 20 ms of network and ANAF time per answer ----------------
    let m = (n / 10).max(20);
    sim.inject_on(
        "/test/FCTEL",
        anaf_sim::Fault::Latency(Duration::from_millis(20)),
        3 * m as u32,
    );
    println!("uploads: {m} sequential, 20 ms added to every answer by the simulator");
    report(m, compare(m, "S"));
    sim.clear_faults();

    // ---- 3. the pacer at its configured rate --------------------------------------
    let rate = 1000u32;
    anaf_bridge::client::pacer::global().reset();
    let s = Arc::new(common::session(
        &sim,
        &dir.path().join("pacer.db"),
        rate,
        serde_json::json!({"journal_sync": "full"}),
    ));
    // The arrival times at the simulator (what ANAF counts), sampled every 0.5 ms from
    // its request counter while 4 threads upload.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sim = Arc::new(sim);
    let sampler = {
        let (sim, done) = (sim.clone(), done.clone());
        std::thread::spawn(move || {
            let mut arrivals = Vec::new();
            let mut seen = sim.counters().requests;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let now = sim.counters().requests;
                for _ in seen..now {
                    arrivals.push(Instant::now());
                }
                seen = now;
                std::thread::sleep(Duration::from_micros(500));
            }
            arrivals
        })
    };
    let per_thread = 50;
    let t0 = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    let d = invoice(i, &format!("P{t}"));
                    s.efactura().upload(&d, &UploadOptions::default()).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = t0.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let st = sampler.join().unwrap();
    let max_in = |w: Duration| {
        let mut j = 0;
        let mut best = 0;
        for i in 0..st.len() {
            while j < st.len() && st[j] - st[i] < w {
                j += 1;
            }
            best = best.max(j - i);
        }
        best
    };
    let calls = st.len();
    let (one, ten) = (
        max_in(Duration::from_secs(1)),
        max_in(Duration::from_secs(10)),
    );
    // Slots are 60 s / rate apart: a window of w holds at most ceil(w / interval) starts,
    // one more for the sampling and the network jitter between slot and arrival.
    let allowed = |w: f64| (w * rate as f64 / 60.0).ceil() as usize + 1;
    println!(
        "pacer: {calls} requests from 4 threads at {rate}/min took {:.2} s ({:.0}/min)",
        elapsed.as_secs_f64(),
        calls as f64 / elapsed.as_secs_f64() * 60.0
    );
    println!(
        "pacer: busiest 1 s = {one} (allowed {}), busiest 10 s = {ten} (allowed {})",
        allowed(1.0),
        allowed(10.0)
    );
    assert!(
        one <= allowed(1.0) && ten <= allowed(10.0),
        "the pacer exceeded its rate"
    );
    println!("pacer: never above the configured rate: OK");
}
