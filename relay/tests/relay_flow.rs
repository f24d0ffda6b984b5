//! The relay started in-process against the real simulator: the whole browser flow and
//! every refusal (wrong secret, expiry, replayed state, second retrieval), with the log
//! scanned for secrets.

mod common;

use anaf_relay::db::DbTarget;
use anaf_relay::{Log, Relay, RelayConfig};
use anaf_sim::{Sim, SimConfig};
use common::*;
use url::Url;

struct Env {
    sim: Sim,
    relay: Relay,
    base: String,
}

fn env() -> Env {
    env_with(|_| {})
}

fn env_with(adjust: impl FnOnce(&mut RelayConfig)) -> Env {
    let sim = Sim::start(SimConfig::default()).unwrap();
    let mut cfg = RelayConfig::new(
        Url::parse("http://127.0.0.1:0/anaf/callback").unwrap(),
        vendor(),
        DbTarget::Sqlite(":memory:".into()),
    );
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    cfg.idp_url = Url::parse(&sim.idp_url()).unwrap();
    cfg.ca_file = Some(sim.ca_pem_path());
    cfg.log = Log::memory();
    adjust(&mut cfg);
    let relay = Relay::start(cfg).unwrap();
    sim.register_app(CLIENT_ID, CLIENT_SECRET, relay.callback_url().as_str());
    let base = relay.public_url().to_string();
    Env { sim, relay, base }
}

fn query_value(url: &str, key: &str) -> String {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_flow_seals_tokens_for_the_dll_once() {
    let e = env();
    let dll = http();
    let (s, v, link) = create_link(&dll, &e.base, Some(e.relay.callback_url().as_str())).await;
    assert_eq!(s, 201, "{v}");
    let link = link.unwrap();
    assert!(
        link.url.starts_with(&format!("{}l/", e.base)),
        "{}",
        link.url
    );
    let left = link.expires_at - e.relay.clock().now();
    assert!(
        (5 * 3600 - 5..=5 * 3600).contains(&left),
        "5 hours, got {left} s"
    );
    assert!(e.relay.inspect(&link.id).unwrap().holds_record);

    let (s, v, _) = poll(&dll, &e.base, &link.id, &link.secret).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("pending")));

    let before = e.sim.counters();
    let b = browser(&e.sim, Some(SERIAL), None);
    let (callback, status, page) = open_in_browser(&b, &link.url).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Tokenul ANAF a fost generat cu succes")
            && page.contains("The ANAF token was generated")
    );
    let after = e.sim.counters();
    assert_eq!(
        after.token_code_grants,
        before.token_code_grants + 1,
        "the relay exchanged the code"
    );
    let code = query_value(&callback, "code");
    assert!(!code.is_empty());

    // The relay keeps the tokens sealed until the DLL takes them.
    let view = e.relay.inspect(&link.id).unwrap();
    assert_eq!((view.status, view.holds_tokens), ("done", true));

    // Wrong secret: refused, nothing leaked, nothing consumed.
    let (s, v, text) = poll(&dll, &e.base, &link.id, "not-the-secret-at-all-0123456789").await;
    assert_eq!(s, 404, "{v}");
    assert!(
        !text.contains("ciphertext") && !text.contains("done"),
        "{text}"
    );
    assert!(e.relay.inspect(&link.id).unwrap().holds_tokens);
    // Another link's secret does not open this one either.
    let (_, _, other) = create_link(&dll, &e.base, None).await;
    let other = other.unwrap();
    assert_eq!(poll(&dll, &e.base, &link.id, &other.secret).await.0, 404);

    // The right secret: the tokens, once.
    let (s, v, _) = poll(&dll, &e.base, &link.id, &link.secret).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("done")), "{v}");
    let tokens = open(&link, &v);
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    assert!(access.starts_with("eyJ") && !refresh.is_empty());
    // The sealed answer does not show the token in clear.
    assert!(!v.to_string().contains(&access[..20]));
    // Another key cannot open it.
    let wrong = DllLink {
        id: link.id.clone(),
        url: String::new(),
        expires_at: 0,
        secret: String::new(),
        key: x25519_dalek::StaticSecret::random_from_rng(rand::rngs::OsRng),
    };
    assert!(std::panic::catch_unwind(|| open(&wrong, &v)).is_err());

    // Second retrieval: refused; the relay holds nothing any more.
    let (s, _, text) = poll(&dll, &e.base, &link.id, &link.secret).await;
    assert_eq!(s, 404);
    assert!(!text.contains("ciphertext"));
    let view = e.relay.inspect(&link.id).unwrap();
    assert_eq!((view.holds_record, view.holds_tokens), (false, false));

    // Replaying the callback (state already consumed): refused, no second exchange.
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(e.sim.counters().token_code_grants, after.token_code_grants);
    // The used link's page now says it is done, and cannot start again.
    let r = b.post(format!("{}/start", link.url)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers().get("location").is_none());

    let log = e.relay.log_text();
    assert_clean(
        &log,
        &[
            CLIENT_SECRET,
            &link.secret,
            &other.secret,
            &access,
            &refresh,
            &code,
            &link.id,
        ],
    );
    assert!(log.contains("token obtained and sealed"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_and_stale_states_are_refused() {
    let e = env();
    let dll = http();
    let (_, _, link) = create_link(&dll, &e.base, None).await;
    let link = link.unwrap();
    let b = browser(&e.sim, Some(SERIAL), None);
    let cb = e.relay.callback_url();
    // No state, a state for an unknown link, a wrong nonce before any start.
    for q in [
        "code=abc".to_string(),
        "code=abc&state=nolinkhere.xyz".to_string(),
        format!("code=abc&state={}.forged", link.id),
    ] {
        let r = b.get(format!("{cb}?{q}")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400, "{q}");
    }
    // A GET of the start address (a link scanner) only leads back to the landing page.
    let r = b.get(format!("{}/start", link.url)).send().await.unwrap();
    assert_eq!((r.status().as_u16(), location(&r)), (303, link.url.clone()));
    // Two starts: only the latest state counts.
    let r1 = b.post(format!("{}/start", link.url)).send().await.unwrap();
    let first = location(&r1);
    let r2 = b.post(format!("{}/start", link.url)).send().await.unwrap();
    let second = location(&r2);
    assert_ne!(query_value(&first, "state"), query_value(&second, "state"));
    let r = b.get(&first).send().await.unwrap();
    let stale_callback = location(&r);
    let r = b.get(&stale_callback).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400, "a stale state is refused");
    assert_eq!(
        e.sim.counters().token_code_grants,
        0,
        "no exchange for a refused state"
    );
    let r = b.get(&second).send().await.unwrap();
    let r = b.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(e.sim.counters().token_code_grants, 1);
    assert_eq!(
        poll(&dll, &e.base, &link.id, &link.secret).await.1["status"],
        "done"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn links_expire_after_five_hours() {
    let e = env();
    let dll = http();
    let b = browser(&e.sim, Some(SERIAL), None);

    // A link nobody opened.
    let (_, _, idle) = create_link(&dll, &e.base, None).await;
    let idle = idle.unwrap();
    // A link whose token was generated but never collected.
    let (_, _, uncollected) = create_link(&dll, &e.base, None).await;
    let uncollected = uncollected.unwrap();
    let (_, s, _) = open_in_browser(&b, &uncollected.url).await;
    assert_eq!(s, 200);
    // A link whose browser went to ANAF just before the end.
    let (_, _, late) = create_link(&dll, &e.base, None).await;
    let late = late.unwrap();
    let r = b.post(format!("{}/start", late.url)).send().await.unwrap();
    let authorize = location(&r);

    e.relay.clock().advance(5 * 3600 - 10);
    assert_eq!(
        poll(&dll, &e.base, &idle.id, &idle.secret).await.1["status"],
        "pending"
    );
    e.relay.clock().advance(11);

    for l in [&idle, &uncollected, &late] {
        let (s, v, text) = poll(&dll, &e.base, &l.id, &l.secret).await;
        assert_eq!((s, v["status"].as_str()), (410, Some("expired")), "{text}");
        assert!(!text.contains("ciphertext"));
        let view = e.relay.inspect(&l.id).unwrap();
        assert_eq!(
            (view.status, view.holds_record, view.holds_tokens),
            ("expired", false, false)
        );
        // Wrong secret on an expired link: still just "not found".
        assert_eq!(
            poll(&dll, &e.base, &l.id, "wrong-secret-wrong-secret")
                .await
                .0,
            404
        );
    }
    // The landing page says expired.
    let r = b.get(&idle.url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 410);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("a expirat") && page.contains("expired"),
        "{page}"
    );
    assert_eq!(
        b.post(format!("{}/start", idle.url))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        410
    );
    // ANAF answers after the expiry: the callback is refused without an exchange.
    let grants = e.sim.counters().token_code_grants;
    let r = b.get(&authorize).send().await.unwrap();
    let r = b.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 410);
    assert_eq!(e.sim.counters().token_code_grants, grants);

    // Tombstones are forgotten a day later.
    e.relay.clock().advance(24 * 3600 + 1);
    e.relay.sweep();
    assert!(e.relay.inspect(&idle.id).is_none());
    assert_eq!(poll(&dll, &e.base, &idle.id, &idle.secret).await.0, 404);
    assert_clean(
        &e.relay.log_text(),
        &[CLIENT_SECRET, &idle.secret, &late.secret],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_attempt_shows_what_to_try_and_can_be_retried() {
    let e = env();
    let dll = http();
    let (_, _, link) = create_link(&dll, &e.base, None).await;
    let link = link.unwrap();

    // A browser without the USB token: ANAF denies access.
    let nocert = browser(&e.sim, None, None);
    let (_, s, page) = open_in_browser(&nocert, &link.url).await;
    assert_eq!(s, 200);
    assert!(
        page.contains("Închideți complet browserul") && page.contains("Close the browser"),
        "{page}"
    );
    assert!(page.contains("stick-ul") && page.contains("USB token"));
    let (_, v, _) = poll(&dll, &e.base, &link.id, &link.secret).await;
    assert_eq!(
        (v["status"].as_str(), v["reason"].as_str()),
        (Some("failed"), Some("access_denied")),
        "{v}"
    );
    assert!(
        e.relay.inspect(&link.id).unwrap().holds_record,
        "kept for a retry"
    );

    // A certificate not enrolled for the company: denied too.
    e.sim.set_enrolled(SERIAL, CIF, false);
    for c in ["14399840", "8000006", "8000000000"] {
        e.sim.set_enrolled(SERIAL, c, false);
    }
    let b = browser(&e.sim, Some(SERIAL), None);
    let (_, _, page) = open_in_browser(&b, &link.url).await;
    assert!(page.contains("nu a putut fi generat"), "{page}");
    assert_eq!(
        poll(&dll, &e.base, &link.id, &link.secret).await.1["reason"],
        "access_denied"
    );

    // Enrolled again, the same link works.
    for c in ["14399840", "8000006", "8000000000"] {
        e.sim.set_enrolled(SERIAL, c, true);
    }
    let (_, s, page) = open_in_browser(&b, &link.url).await;
    assert_eq!(s, 200);
    assert!(page.contains("generat cu succes"), "{page}");
    let (_, v, _) = poll(&dll, &e.base, &link.id, &link.secret).await;
    assert_eq!(v["status"], "done");
    assert!(open(&link, &v)["access_token"].as_str().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_refused_without_echoing_secrets() {
    let e = env();
    let dll = http();
    // The ERP's redirect_uri is not the relay's callback.
    let (s, v, _) = create_link(&dll, &e.base, Some("https://localhost:9443/anaf/callback")).await;
    assert_eq!(s, 409);
    assert_eq!(v["error"], "redirect_mismatch");
    assert_eq!(v["callback_url"], e.relay.callback_url().as_str());
    // Malformed requests; the secret never comes back.
    for body in [
        serde_json::json!({"client_id": CLIENT_ID}),
        serde_json::json!({"client_id": CLIENT_ID, "public_key": "AAAA", "verifier": "AAAA"}),
        serde_json::json!({"client_id": 5, "public_key": 1, "verifier": 2, "cif": CLIENT_SECRET}),
    ] {
        let r = dll
            .post(format!("{}api/links", e.base))
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
        assert!(!r.text().await.unwrap().contains(CLIENT_SECRET));
    }
    // No bearer, unknown id, cancel with a wrong secret.
    let (_, _, link) = create_link(&dll, &e.base, None).await;
    let link = link.unwrap();
    let r = dll
        .post(format!("{}api/links/{}/poll", e.base, link.id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(
        poll(&dll, &e.base, "unknownlinkid", &link.secret).await.0,
        404
    );
    let r = dll
        .delete(format!("{}api/links/{}", e.base, link.id))
        .bearer_auth("wrong-wrong-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // Cancel with the right secret wipes the record; the landing page is gone.
    let r = dll
        .delete(format!("{}api/links/{}", e.base, link.id))
        .bearer_auth(&link.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert!(!e.relay.inspect(&link.id).unwrap().holds_record);
    assert_eq!(
        poll(&dll, &e.base, &link.id, &link.secret).await.1["status"],
        "cancelled"
    );
    assert_eq!(
        http()
            .get(&link.url)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        410
    );
    // The test clock endpoint does not exist unless enabled.
    let r = dll
        .post(format!("{}_test/clock?advance_seconds=99999", e.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_clean(&e.relay.log_text(), &[CLIENT_SECRET, &link.secret]);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_client_secret_fails_at_the_exchange() {
    let e = env();
    // Registered at "ANAF" with another secret than the one the DLL sends.
    e.sim.register_app(
        CLIENT_ID,
        "a-different-secret-123",
        e.relay.callback_url().as_str(),
    );
    let dll = http();
    let (_, _, link) = create_link(&dll, &e.base, None).await;
    let link = link.unwrap();
    let b = browser(&e.sim, Some(SERIAL), None);
    let (_, s, page) = open_in_browser(&b, &link.url).await;
    assert_eq!(s, 200);
    assert!(page.contains("Client ID / Client Secret"), "{page}");
    let (_, v, _) = poll(&dll, &e.base, &link.id, &link.secret).await;
    assert_eq!(
        (v["status"].as_str(), v["reason"].as_str()),
        (Some("failed"), Some("invalid_client")),
        "{v}"
    );
    assert_clean(&e.relay.log_text(), &[CLIENT_SECRET, &link.secret]);
}

#[tokio::test(flavor = "multi_thread")]
async fn link_creation_needs_an_installation_key_and_shows_the_customer() {
    let e = env();
    let dll = http();
    // No key, an unknown key, a key sent as something else than a bearer.
    for key in [None, Some("ark_not-issued-by-this-vendor-000000000000000")] {
        let (s, v, _) = create_link_as(&dll, &e.base, key, None, serde_json::json!({})).await;
        assert_eq!((s, v["error"].as_str()), (401, Some("unauthorized")), "{v}");
    }
    // The client secret is the relay's own: a request that carries one is refused.
    let (s, v, _) = create_link_as(
        &dll,
        &e.base,
        Some(KEY),
        None,
        serde_json::json!({"client_secret": CLIENT_SECRET}),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    // A client_id the installation may not use.
    let (s, v, _) = create_link_as(
        &dll,
        &e.base,
        Some(KEY),
        None,
        serde_json::json!({"client_id": "someone-elses-app"}),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (403, Some("client_not_allowed")),
        "{v}"
    );
    // An installation limited to its CIFs: another CIF (or none) is refused.
    for cif in [serde_json::json!(CIF), serde_json::Value::Null] {
        let (s, v, _) = create_link_as(
            &dll,
            &e.base,
            Some(OTHER_KEY),
            None,
            serde_json::json!({ "cif": cif }),
        )
        .await;
        assert_eq!(
            (s, v["error"].as_str()),
            (403, Some("cif_not_allowed")),
            "{v}"
        );
    }
    let (s, v, other) = create_link_as(
        &dll,
        &e.base,
        Some(OTHER_KEY),
        None,
        serde_json::json!({"cif": "8000006"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(e.relay.link_count(), 1, "nothing stored for a refusal");

    // The landing page names the customer the key belongs to, escaped.
    let (_, _, link) = create_link(&dll, &e.base, None).await;
    let page = http()
        .get(&link.unwrap().url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Cerut de <b>SC Firma Test &lt;SRL&gt; &amp; Co</b>")
            && page.contains("Requested by <b>SC Firma Test &lt;SRL&gt; &amp; Co</b>"),
        "{page}"
    );
    let page = http()
        .get(&other.unwrap().url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<b>Alta SRL</b>") && page.contains("CIF 8000006"),
        "{page}"
    );
    let log = e.relay.log_text();
    assert!(log.contains("no or unknown installation key"), "{log}");
    assert_clean(&log, &[KEY, OTHER_KEY, CLIENT_SECRET]);
}

#[tokio::test(flavor = "multi_thread")]
async fn caps_count_tombstones_in_all_and_per_installation() {
    let e = env_with(|c| {
        c.max_links = 5;
        c.max_links_per_installation = 3;
    });
    let dll = http();
    let mut first = Vec::new();
    for _ in 0..3 {
        let (s, v, l) = create_link(&dll, &e.base, None).await;
        assert_eq!(s, 201, "{v}");
        first.push(l.unwrap());
    }
    let (s, v, _) = create_link(&dll, &e.base, None).await;
    assert_eq!((s, v["error"].as_str()), (503, Some("busy")), "{v}");
    // A cancelled link leaves a tombstone, which still counts.
    let r = dll
        .delete(format!("{}api/links/{}", e.base, first[0].id))
        .bearer_auth(&first[0].secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(create_link(&dll, &e.base, None).await.0, 503);
    // Another installation has room of its own, up to the relay's total.
    let other = || {
        create_link_as(
            &dll,
            &e.base,
            Some(OTHER_KEY),
            None,
            serde_json::json!({"cif": "8000006"}),
        )
    };
    assert_eq!(other().await.0, 201);
    assert_eq!(other().await.0, 201);
    assert_eq!(other().await.0, 503, "the total counts every row");
    // A day after the expiry the tombstones go, and there is room again.
    e.relay.clock().advance(5 * 3600 + 24 * 3600 + 1);
    let (expired, removed) = e.relay.sweep();
    assert_eq!((expired, removed), (4, 5));
    assert_eq!(e.relay.link_count(), 0);
    assert_eq!(create_link(&dll, &e.base, None).await.0, 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_per_key_and_per_address() {
    let e = env_with(|c| c.rates.key_links_per_hour = 2);
    let dll = http();
    assert_eq!(create_link(&dll, &e.base, None).await.0, 201);
    assert_eq!(create_link(&dll, &e.base, None).await.0, 201);
    let (s, v, _) = create_link(&dll, &e.base, None).await;
    assert_eq!((s, v["error"].as_str()), (429, Some("rate_limited")), "{v}");
    // The other installation's key has its own bucket.
    let (s, _, _) = create_link_as(
        &dll,
        &e.base,
        Some(OTHER_KEY),
        None,
        serde_json::json!({"cif": "8000006"}),
    )
    .await;
    assert_eq!(s, 201);

    let e = env_with(|c| c.rates.ip_per_minute = 5);
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = dll
            .get(format!("{}l/AAAAAAAAAAAAAAAAAAAAAA", e.base))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status().as_u16() == 429 {
            let wait: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&wait), "{wait}");
        }
    }
    assert_eq!(statuses, [404, 404, 404, 404, 404, 429, 429]);
    // Refused before any work: no link is made for a limited address either.
    assert_eq!(create_link(&dll, &e.base, None).await.0, 429);
    // The health check stays outside the limit.
    let r = dll.get(format!("{}healthz", e.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_database_alone_reveals_no_link() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("links.db");
    let e = env_with(|c| c.db = DbTarget::Sqlite(db.clone()));
    let dll = http();
    let b = browser(&e.sim, Some(SERIAL), None);
    // One link done (tokens waiting), one with an attempt in progress.
    let (_, _, done) = create_link(&dll, &e.base, None).await;
    let done = done.unwrap();
    let (_, s, _) = open_in_browser(&b, &done.url).await;
    assert_eq!(s, 200);
    let (_, _, busy) = create_link(&dll, &e.base, None).await;
    let busy = busy.unwrap();
    let r = b.post(format!("{}/start", busy.url)).send().await.unwrap();
    let state = query_value(&location(&r), "state");
    let nonce = state.split_once('.').unwrap().1.to_string();
    drop(e);

    let mut bytes = std::fs::read(&db).unwrap();
    for f in ["links.db-wal", "links.db-shm"] {
        if let Ok(b) = std::fs::read(dir.path().join(f)) {
            bytes.extend(b);
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    for (what, secret) in [
        ("a link id", done.id.as_str()),
        ("a link id", busy.id.as_str()),
        ("a state", nonce.as_str()),
        ("the CIF", CIF),
        ("the client_id", CLIENT_ID),
        ("the client secret", CLIENT_SECRET),
    ] {
        assert!(!text.contains(secret), "the database shows {what}");
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let statuses: Vec<String> = conn
        .prepare("SELECT status FROM relay_link ORDER BY status")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(statuses, ["done", "pending"]);
    drop(conn);

    // Another storage key cannot use this database: refused at start, not link by link.
    let mut cfg = RelayConfig::new(
        Url::parse("http://127.0.0.1:0/anaf/callback").unwrap(),
        std::sync::Arc::new(
            anaf_relay::vendor::Vendor::parse(
                &vendor_toml().replace(
                    STORAGE_KEY,
                    anaf_relay::crypto::StorageKey::generate()
                        .to_text()
                        .as_str(),
                ),
            )
            .unwrap(),
        ),
        DbTarget::Sqlite(db.clone()),
    );
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    let err = Relay::start(cfg).err().expect("refused");
    assert!(err.contains("another storage_key"), "{err}");
}

/// Reads from `tcp` until the server closes it; `None` if it is still open after `limit`.
async fn closed_within(
    tcp: &mut tokio::net::TcpStream,
    limit: std::time::Duration,
) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_half_sent_header_and_an_idle_connection_are_dropped() {
    use tokio::io::AsyncWriteExt;
    let e = env_with(|c| c.conn.header_timeout = std::time::Duration::from_secs(1));
    let addr = e.relay.addr();
    let started = std::time::Instant::now();
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /anaf/healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let answer = closed_within(&mut tcp, std::time::Duration::from_secs(5))
        .await
        .expect("the relay closes a connection whose header never ends");
    assert!(!answer.contains("200 OK"), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(4));

    // A connection that says nothing at all, and one idle after a request.
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert!(
        closed_within(&mut silent, std::time::Duration::from_secs(5))
            .await
            .is_some()
    );
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /anaf/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = closed_within(&mut idle, std::time::Duration::from_secs(5))
        .await
        .expect("an idle keep-alive connection is closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
