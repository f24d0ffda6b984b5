//! Two relays on one PostgreSQL database, as behind a balancer: a link made on one is
//! opened, finished and collected through the other, and a third started afterwards
//! still knows the links. Needs ANAF_TEST_RELAY_POSTGRES (scripts/test.sh starts the
//! server, scripts/lib/dbservers.sh); without it the test is skipped loudly, and fails
//! under CI=true.

mod common;

use anaf_relay::db::DbTarget;
use anaf_relay::{Log, Relay, RelayConfig};
use anaf_sim::{Sim, SimConfig};
use common::*;
use url::Url;

/// A database of its own on the test server (the user may create databases).
async fn fresh_database() -> Option<String> {
    let base = match std::env::var("ANAF_TEST_RELAY_POSTGRES") {
        Ok(u) => u,
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("ANAF_TEST_RELAY_POSTGRES is not set under CI: the PostgreSQL server did not start (scripts/lib/dbservers.sh)")
        }
        Err(_) => {
            eprintln!("!!! ANAF_TEST_RELAY_POSTGRES not set: the relay on PostgreSQL NOT TESTED (run scripts/test.sh, which starts the server)");
            return None;
        }
    };
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .expect("the test server answers");
    tokio::spawn(conn);
    let name = format!(
        "anaf_t_relay_{}",
        anaf_relay::crypto::random_token(6)
            .to_ascii_lowercase()
            .replace('-', "_")
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let mut u = Url::parse(&base).unwrap();
    u.set_path(&format!("/{name}"));
    Some(u.to_string())
}

fn relay(sim: &Sim, db: &str, callback: Option<&Url>) -> Relay {
    let cb = callback
        .cloned()
        .unwrap_or_else(|| Url::parse("http://127.0.0.1:0/anaf/callback").unwrap());
    let mut cfg = RelayConfig::new(cb, vendor(), DbTarget::parse(db));
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    // Every instance serves links on its own address; the callback is the one in SPV.
    cfg.public_url = Some(Url::parse("http://127.0.0.1:0/anaf/").unwrap());
    cfg.idp_url = Url::parse(&sim.idp_url()).unwrap();
    cfg.ca_file = Some(sim.ca_pem_path());
    cfg.log = Log::memory();
    Relay::start(cfg).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_share_the_links_on_postgresql() {
    let Some(db) = fresh_database().await else {
        return;
    };
    let sim = Sim::start(SimConfig::default()).unwrap();
    let a = relay(&sim, &db, None);
    let b = relay(&sim, &db, Some(&a.callback_url()));
    sim.register_app(CLIENT_ID, CLIENT_SECRET, a.callback_url().as_str());
    let (base_a, base_b) = (a.public_url().to_string(), b.public_url().to_string());
    assert_ne!(base_a, base_b);
    let dll = http();

    let (s, v, link) = create_link(&dll, &base_a, None).await;
    assert_eq!(s, 201, "{v}");
    let link = link.unwrap();
    let (_, _, waiting) = create_link(&dll, &base_b, None).await;
    let waiting = waiting.unwrap();
    // The browser lands on B; ANAF sends it back to the callback, which is A.
    let at_b = link.url.replace(&base_a, &base_b);
    let browser = browser(&sim, Some(SERIAL), None);
    let (callback, s, page) = open_in_browser(&browser, &at_b).await;
    assert_eq!(s, 200, "{page}");
    assert!(
        callback.starts_with(a.callback_url().as_str()),
        "{callback}"
    );
    // The DLL polls B and gets the tokens once; A then knows they are gone.
    let (s, v, _) = poll(&dll, &base_b, &link.id, &link.secret).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("done")), "{v}");
    assert!(open(&link, &v)["access_token"].as_str().is_some());
    assert_eq!(poll(&dll, &base_a, &link.id, &link.secret).await.0, 404);
    // The replayed callback finds its state consumed, whichever instance it reaches.
    let replay = browser.get(&callback).send().await.unwrap();
    assert_eq!(replay.status().as_u16(), 400);
    assert_eq!(sim.counters().token_code_grants, 1);

    // Both stop (a deploy); a new instance still has the pending link.
    drop(a);
    drop(b);
    let c = relay(&sim, &db, None);
    let base_c = c.public_url().to_string();
    let (s, v, _) = poll(&dll, &base_c, &waiting.id, &waiting.secret).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("pending")), "{v}");
    assert_eq!(c.link_count(), 2);
    c.clock().advance(5 * 3600 + 24 * 3600 + 1);
    assert_eq!(c.sweep(), (1, 2));
}
