//! Many processes and threads on one token row: the refresh storm (exactly one refresh
//! reaches the simulator, every caller gets its result) and processes killed in the middle
//! of a refresh (before ANAF answers, and after ANAF rotated the token but before the
//! commit). The children are this test binary re-run with a job in the environment, using
//! the library through its C API.

#[macro_use]
mod common;

use anaf_bridge::status::*;
use common::*;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const JOB: &str = "ANAF_TOKEN_STORM_JOB";
const CONFIG: &str = "ANAF_TOKEN_STORM_CONFIG";
const START_AT: &str = "ANAF_TOKEN_STORM_START_AT";
const THREADS: &str = "ANAF_TOKEN_STORM_THREADS";
const TOKEN_PATH: &str = "/anaf-oauth2/v1/token";

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The child side. Run only by the tests below (ignored, so `cargo test` does not run it
/// on its own); prints one line per result on stdout.
#[test]
#[ignore]
fn child_main() {
    let Ok(job) = std::env::var(JOB) else {
        return;
    };
    let config = std::env::var(CONFIG).unwrap();
    match job.as_str() {
        "storm" => {
            let threads: usize = std::env::var(THREADS).unwrap().parse().unwrap();
            let start_at: u64 = std::env::var(START_AT).unwrap().parse().unwrap();
            // Two handles per process, shared by the threads (handles are thread-safe).
            let handles = [
                CClient::open(&config).unwrap(),
                CClient::open(&config).unwrap(),
            ];
            std::thread::scope(|s| {
                for i in 0..threads {
                    let h = &handles[i % 2];
                    s.spawn(move || {
                        while unix_ms() < start_at {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        match h.get_token() {
                            Ok(t) => println!("TOKEN {t}"),
                            Err((rc, msg)) => println!("ERROR {rc} {msg}"),
                        }
                    });
                }
            });
        }
        "refresh" => {
            let c = CClient::open(&config).unwrap();
            println!("READY");
            match c.refresh() {
                Ok(()) => println!("REFRESHED"),
                Err((rc, msg)) => println!("ERROR {rc} {msg}"),
            }
        }
        other => panic!("unknown job {other}"),
    }
}

/// A token with 5 days left (inside the 14-day margin); tokens issued afterwards live 90 days.
fn near_expiry(f: &Fixture) -> anaf_sim::TokenPair {
    f.sim.set_lifetimes(
        Duration::from_secs(5 * 86_400),
        Duration::from_secs(365 * 86_400),
    );
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    f.sim.set_lifetimes(
        Duration::from_secs(90 * 86_400),
        Duration::from_secs(365 * 86_400),
    );
    let c = CClient::open(&f.config(json!({}))).unwrap();
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    pair
}

on_every_backend!(
    refresh_storm,
    killed_before_anaf_answers,
    killed_after_rotation,
    killed_at_random_points_once_the_pair_is_in
);
mod server_gone_during_a_refresh {
    use super::*;
    #[test]
    fn postgresql() {
        super::server_drops_the_connections_during_a_refresh(Backend::Postgres);
    }
    #[test]
    fn mariadb() {
        super::server_drops_the_connections_during_a_refresh(Backend::MariaDb);
    }
}

/// The server drops the DLL's connections while ANAF answers a refresh: the new pair is
/// still committed (on new connections), ANAF is called once, nothing is lost.
fn server_drops_the_connections_during_a_refresh(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let old = near_expiry(&f);
    f.sim.inject_on(
        TOKEN_PATH,
        anaf_sim::Fault::Latency(Duration::from_millis(1_500)),
        1,
    );
    let conn = f.odbc.clone().unwrap();
    let c = CClient::open(&f.config(json!({}))).unwrap();
    let token = std::thread::scope(|s| {
        let h = s.spawn(|| c.get_token());
        wait_for("the lease", Duration::from_secs(10), || {
            lease_owner(&f).is_some()
        });
        drop_sessions(b, &conn);
        h.join().unwrap()
    })
    .unwrap_or_else(|e| panic!("{b:?}: {e:?}"));
    assert_ne!(token, old.access_token);
    let k = f.sim.counters();
    assert_eq!((k.token_refresh_grants, k.refresh_refused), (1, 0), "{k:?}");
    let row = f.store().load(&profile()).unwrap().unwrap();
    assert_eq!(
        (row.version, row.lease_owner),
        (2, None),
        "committed, lease cleared"
    );
}

/// Many processes and threads on a token near expiry: exactly one refresh reaches ANAF.
fn refresh_storm(b: Backend) {
    const PROCESSES: usize = 4;
    const THREADS_PER: usize = 8;
    let Some(f) = Fixture::on(b) else { return };
    let old = near_expiry(&f);
    // Hold ANAF's answer a little so that every caller arrives while the refresh runs.
    f.sim.inject_on(
        TOKEN_PATH,
        anaf_sim::Fault::Latency(Duration::from_millis(700)),
        1,
    );
    let config = f.config(json!({}));
    let start_at = unix_ms() + 2_500;
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            common::child(
                "child_main",
                &[
                    (JOB, "storm".into()),
                    (CONFIG, config.clone()),
                    (START_AT, start_at.to_string()),
                    (THREADS, THREADS_PER.to_string()),
                ],
            )
            .spawn()
            .expect("child process")
        })
        .collect();
    // This process joins the storm too, with its own threads.
    let mine: Vec<String> = {
        let c = CClient::open(&config).unwrap();
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..THREADS_PER)
                .map(|_| {
                    let c = &c;
                    s.spawn(move || {
                        while unix_ms() < start_at {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        c.get_token().map_err(|e| format!("{e:?}")).unwrap()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        })
    };
    let mut tokens = mine;
    for ch in children {
        let out = ch.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut n = 0;
        for line in stdout.lines() {
            if let Some(t) = line.strip_prefix("TOKEN ") {
                tokens.push(t.to_string());
                n += 1;
            } else if line.starts_with("ERROR") {
                panic!("a caller failed: {line}");
            }
        }
        assert_eq!(n, THREADS_PER, "every thread answered: {stdout}");
    }
    assert_eq!(tokens.len(), (PROCESSES + 1) * THREADS_PER);
    let k = f.sim.counters();
    assert_eq!(
        k.token_refresh_grants, 1,
        "exactly one refresh reached ANAF: {k:?}"
    );
    assert_eq!(
        k.refresh_refused, 0,
        "no refresh token was spent twice: {k:?}"
    );
    let first = &tokens[0];
    assert_ne!(first, &old.access_token, "callers got the new token");
    assert!(
        tokens.iter().all(|t| t == first),
        "every caller got the same new token"
    );
    let c = CClient::open(&config).unwrap();
    assert_eq!(&c.get_token().unwrap(), first);
    assert_eq!(c.token_info().unwrap()["version"], 2);
}

fn lease_owner(f: &Fixture) -> Option<String> {
    f.store()
        .load(&profile())
        .unwrap()
        .and_then(|r| r.lease_owner)
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let t = Instant::now();
    while !ok() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn_refresher(f: &Fixture) -> std::process::Child {
    spawn_refresher_with(f, json!({}))
}

fn spawn_refresher_with(f: &Fixture, extra: serde_json::Value) -> std::process::Child {
    let mut ch = common::child(
        "child_main",
        &[(JOB, "refresh".into()), (CONFIG, f.config(extra))],
    )
    .spawn()
    .expect("child process");
    // The test harness prints its own lines first. The reader thread keeps draining the
    // child's output so that it never blocks on a full pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    let out = ch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
            let _ = tx.send(line);
        }
    });
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the child ended or hung before READY");
        if line.trim() == "READY" {
            break;
        }
    }
    ch
}

/// A process killed while it waits for ANAF's answer: the next one takes over at once.
fn killed_before_anaf_answers(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let old = near_expiry(&f);
    f.sim.inject_on(
        TOKEN_PATH,
        anaf_sim::Fault::Latency(Duration::from_secs(6)),
        1,
    );
    let mut ch = spawn_refresher(&f);
    // The child holds the lease and waits for ANAF's answer: kill it there.
    wait_for("the child's lease", Duration::from_secs(10), || {
        lease_owner(&f).is_some()
    });
    std::thread::sleep(Duration::from_millis(300));
    ch.kill().unwrap();
    ch.wait().unwrap();
    let owner = lease_owner(&f).expect("the dead child's lease is still in the row");
    assert!(owner.contains(&format!("/{}/", ch.id())), "{owner}");
    // Wait past the held answer: the simulator drops it with the connection.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(f.sim.counters().token_refresh_grants, 0);

    // A new process (this one, with a fresh handle) sees the dead holder, takes over at once
    // (no need to wait for the lease's time limit) and refreshes with the same token.
    let c = CClient::open(&f.config(json!({}))).unwrap();
    let t = Instant::now();
    let token = c.get_token().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took over without waiting for the lease to lapse"
    );
    assert_ne!(token, old.access_token);
    let k = f.sim.counters();
    assert_eq!((k.token_refresh_grants, k.refresh_refused), (1, 0), "{k:?}");
    assert_eq!(lease_owner(&f), None);
}

/// A process killed after ANAF rotated the pair, its commit blocked: nothing is lost.
fn killed_after_rotation(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let old = near_expiry(&f);
    f.sim.inject_on(
        TOKEN_PATH,
        anaf_sim::Fault::Latency(Duration::from_millis(3_000)),
        1,
    );
    let mut ch = spawn_refresher(&f);
    wait_for("the child's lease", Duration::from_secs(10), || {
        lease_owner(&f).is_some()
    });
    // Another program locks the database (the file, or the token's row on a server) while
    // ANAF answers the child: the child cannot commit the new pair, which exists only in
    // its memory...
    let blocker = f.hold_the_token_row();
    wait_for("ANAF's rotation", Duration::from_secs(10), || {
        f.sim.counters().token_refresh_grants == 1
    });
    // ...so it keeps it in the rescue file before anything else.
    // This fixture's rescue files: named after the store's local base (the file itself, or
    // the name a server store gets in the user's state folder), in that folder.
    let base = f.store().path;
    let rescue_dir = base.parent().unwrap().to_path_buf();
    let prefix = base.file_name().unwrap().to_string_lossy().into_owned();
    let rescue = || {
        std::fs::read_dir(&rescue_dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .any(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.starts_with(&prefix) && n.contains(".rescue-") && n.ends_with(".json")
            })
    };
    wait_for("the rescue file", Duration::from_secs(10), rescue);
    ch.kill().unwrap();
    ch.wait().unwrap();
    drop(blocker);

    // The row still holds the spent token; a new process must not spend it again but
    // commit the rescued pair.
    let c = CClient::open(&f.config(json!({}))).unwrap();
    let token = c.get_token().unwrap();
    let info = c.token_info().unwrap();
    assert_eq!(info["login_required"], false, "{info}");
    assert_ne!(token, old.access_token);
    let k = f.sim.counters();
    assert_eq!((k.token_refresh_grants, k.refresh_refused), (1, 0), "{k:?}");
    assert!(!rescue(), "the rescue file is removed once committed");
    c.test_token().unwrap();
    // And the rescued refresh token is the live one: the next refresh works.
    c.refresh().unwrap();
    assert_eq!(f.sim.counters().token_refresh_grants, 2);
}

/// This fixture's rescue files: named after the store's local base (the file itself, or the
/// name a server store gets in the user's state folder), in that folder.
fn rescue_files(f: &Fixture) -> Vec<std::path::PathBuf> {
    let base = f.store().path;
    let prefix = format!("{}.rescue-", base.file_name().unwrap().to_string_lossy());
    std::fs::read_dir(base.parent().unwrap())
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(&prefix) && n.ends_with(".json")
        })
        .map(|e| e.path())
        .collect()
}

/// From the moment the rotated pair is durable (the child logs that its rescue file is
/// written) to the end of the refresh, a kill at any point loses nothing: with another
/// program holding the lock (the commit waits) and without (the commit, the file's removal
/// and the return race the kill). Each round kills at a random delay; the next process
/// always ends with a working pair, without a login and without spending a token twice.
fn killed_at_random_points_once_the_pair_is_in(b: Backend) {
    use rand::Rng;
    let Some(f) = Fixture::on(b) else { return };
    let mut rng = rand::thread_rng();
    for (held, rounds, spread_ms) in [(false, 6, 15u64), (true, 4, 400)] {
        for round in 0..rounds {
            let what = format!("lock held: {held}, round {round}");
            near_expiry(&f);
            let grants = f.sim.counters().token_refresh_grants;
            if held {
                // Time to take the lock while ANAF "works", before the child commits.
                f.sim.inject_on(
                    TOKEN_PATH,
                    anaf_sim::Fault::Latency(Duration::from_millis(1_500)),
                    1,
                );
            }
            let log = f.dir.path().join(format!("child-{held}-{round}.log"));
            let mut ch = spawn_refresher_with(&f, json!({ "log_file": log }));
            let blocker = held.then(|| {
                wait_for("the child's lease", Duration::from_secs(10), || {
                    lease_owner(&f).is_some()
                });
                f.hold_the_token_row()
            });
            // The child logs this line right after its rescue file is flushed and renamed.
            wait_for(
                &format!("the durable pair ({what})"),
                Duration::from_secs(20),
                || {
                    std::fs::read_to_string(&log)
                        .is_ok_and(|t| t.contains("refreshed token kept in"))
                },
            );
            std::thread::sleep(Duration::from_micros(rng.gen_range(0..spread_ms * 1000)));
            ch.kill().unwrap();
            ch.wait().unwrap();
            drop(blocker);

            let c = CClient::open(&f.config(json!({}))).unwrap();
            c.get_token().unwrap_or_else(|e| panic!("{what}: {e:?}"));
            let info = c.token_info().unwrap();
            assert_eq!(info["login_required"], false, "{what}: {info}");
            assert_eq!(
                f.sim.counters().token_refresh_grants,
                grants + 1,
                "{what}: the spent token was not spent again"
            );
            // The pair the child obtained is the live one: it refreshes.
            c.refresh().unwrap_or_else(|e| panic!("{what}: {e:?}"));
            assert!(
                rescue_files(&f).is_empty(),
                "{what}: {:?}",
                rescue_files(&f)
            );
        }
    }
}

#[test]
fn without_a_rescue_file_a_spent_token_gives_a_clear_login_required() {
    // The window no client can close: ANAF rotated, the answer never arrived (connection
    // lost, or a crash between the answer and the rescue file). Simulated by spending the
    // stored refresh token elsewhere and leaving a dead process's lease on the row.
    let f = Fixture::new();
    let old = near_expiry(&f);
    let s = f.session(json!({}));
    anaf_bridge::client::http::block_on(anaf_bridge::client::oauth::refresh(
        &s.http,
        &s.config,
        &old.refresh_token,
    ))
    .unwrap();
    let raw = rusqlite::Connection::open(f.db()).unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    raw.execute(
        "UPDATE anaf_token SET lease_owner = ?1, lease_until = ?2, lease_refresh_hash = refresh_hash",
        rusqlite::params![format!("{}/4194305/00", host.trim()), unix_ms() as i64 + 60_000],
    )
    .unwrap();
    let c = CClient::open(&f.config(json!({}))).unwrap();
    // The access token still has 5 days: the ERP goes on working...
    assert_eq!(c.get_token().unwrap(), old.access_token);
    // ...but the status says a new login is needed, and why.
    let e = c.refresh().unwrap_err();
    assert_eq!(e.0, ANAF_ERR_LOGIN_REQUIRED);
    let info = c.token_info().unwrap();
    assert_eq!(info["login_required"], true);
    assert!(
        info["refresh_error"]
            .as_str()
            .unwrap()
            .contains("interrupted"),
        "{info}"
    );
    assert_eq!(
        f.sim.counters().refresh_refused,
        1,
        "the dead token was tried once, not again"
    );
}
