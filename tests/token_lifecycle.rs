//! Token lifecycle against the simulator: real HTTPS over loopback, the real SQLite file,
//! the C API where the ERP would use it. Exchange, refresh with rotation, silent refresh
//! at the margin, 401-triggered refresh, expired refresh token, IdP failures that must not
//! lose the refresh token, revoke and delete, bad databases.

#[macro_use]
mod common;

use anaf_bridge::status::*;
use common::*;
use serde_json::json;
use std::time::Duration;

on_every_backend!(
    exchange_code_stores_a_jwt_pair_with_serial_and_expiries,
    exchange_failures_have_their_own_status,
    refresh_rotates_both_tokens_and_the_old_refresh_token_is_dead,
    silent_refresh_at_the_margin_and_not_before,
    a_401_triggers_one_refresh,
    expired_refresh_token_asks_for_a_new_login,
    refresh_token_refused_by_anaf_is_marked_and_not_spent_again,
    idp_failures_keep_the_refresh_token,
    wrong_client_secret_on_refresh_is_invalid_client_and_keeps_the_token,
    a_changed_client_secret_is_named_and_token_key_previous_carries_the_token,
    delete_revokes_best_effort_then_deletes,
    import_rejects_garbage_and_keeps_the_previous_pair,
);

fn row_refresh_token(f: &Fixture) -> Option<String> {
    f.store().load(&profile()).unwrap().map(|r| r.refresh_token)
}

fn exchange_code_stores_a_jwt_pair_with_serial_and_expiries(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let s = f.session(json!({}));
    let c = CClient::open(&f.config(json!({}))).unwrap();
    assert_eq!(c.get_token().unwrap_err().0, ANAF_ERR_NO_TOKEN);

    let code = f.auth_code(&s, SERIAL);
    // The manual path: the user pastes the whole redirected URL.
    c.exchange_code(&format!(
        "https://localhost:9443/anaf/callback?code={code}&state=x"
    ))
    .unwrap();
    assert_eq!(f.sim.counters().token_code_grants, 1);
    let info = c.token_info().unwrap();
    assert_eq!(info["serial"], SERIAL);
    assert_eq!(info["cif"], CIF);
    assert_eq!(info["environment"], "test");
    assert!(
        (89..=90).contains(&info["days_left"].as_i64().unwrap()),
        "{info}"
    );
    assert!(info["refresh_days_left"].as_i64().unwrap() >= 364, "{info}");
    assert_eq!(info["version"], 1);
    assert_eq!(info["login_required"], false);
    assert!(info.get("access_token").is_none(), "no secrets in the info");

    let token = c.get_token().unwrap();
    let claims = f.sim.decode_token(&token).expect("a token the sim signed");
    assert_eq!(claims.serial, SERIAL);
    c.test_token().unwrap();

    // The code was spent: a second exchange is refused with the right status.
    let e = c.exchange_code(&code).unwrap_err();
    assert_eq!(e.0, ANAF_ERR_CODE_EXPIRED, "{e:?}");
    assert!(
        e.1.contains("Invalid authorization code"),
        "ANAF's words are kept: {}",
        e.1
    );
    assert_eq!(
        c.get_token().unwrap(),
        token,
        "the stored token is untouched"
    );
}

fn exchange_failures_have_their_own_status(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let s = f.session(json!({}));
    let code = f.auth_code(&s, SERIAL);
    let bad_secret = CClient::open(&f.config(json!({"client_secret": "wrong"}))).unwrap();
    let e = bad_secret.exchange_code(&code).unwrap_err();
    assert_eq!(e.0, ANAF_ERR_INVALID_CLIENT, "{e:?}");
    assert!(e.1.contains("Client ID"), "{}", e.1);

    let code = f.auth_code(&s, SERIAL);
    let other_cb =
        CClient::open(&f.config(json!({"redirect_uri": "https://localhost:9443/other"}))).unwrap();
    let e = other_cb.exchange_code(&code).unwrap_err();
    assert_eq!(e.0, ANAF_ERR_REDIRECT_MISMATCH, "{e:?}");

    let c = CClient::open(&f.config(json!({}))).unwrap();
    let e = c
        .exchange_code("https://localhost:9443/anaf/callback?error=access_denied&error_description=No+client+certificate")
        .unwrap_err();
    assert_eq!(e.0, ANAF_ERR_ACCESS_DENIED);
    assert!(e.1.contains("No client certificate"), "{}", e.1);
    assert_eq!(
        c.exchange_code("   ").unwrap_err().0,
        ANAF_ERR_INVALID_ARGUMENT
    );
    assert_eq!(f.sim.counters().token_code_grants, 0);
    assert_eq!(c.get_token().unwrap_err().0, ANAF_ERR_NO_TOKEN);
}

#[test]
fn authorize_url_carries_a_random_state() {
    let f = Fixture::new();
    let c = CClient::open(&f.config(json!({}))).unwrap();
    let a = url::Url::parse(&c.authorize_url(None).unwrap()).unwrap();
    let b = url::Url::parse(&c.authorize_url(None).unwrap()).unwrap();
    let state = |u: &url::Url| {
        u.query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned()
    };
    assert_ne!(state(&a), state(&b));
    assert!(a.as_str().starts_with(&f.sim.idp_url()));
    assert!(a.as_str().contains("token_content_type=jwt"));
    let fixed = url::Url::parse(&c.authorize_url(Some("abc")).unwrap()).unwrap();
    assert_eq!(state(&fixed), "abc");
}

fn refresh_rotates_both_tokens_and_the_old_refresh_token_is_dead(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let c = CClient::open(&f.config(json!({}))).unwrap();
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    assert_eq!(c.token_info().unwrap()["serial"], SERIAL);

    c.refresh().unwrap();
    let k = f.sim.counters();
    assert_eq!((k.token_refresh_grants, k.refresh_refused), (1, 0));
    let info = c.token_info().unwrap();
    assert_eq!(info["version"], 2);
    assert!(info["refreshed_at"].is_string());
    let new_rt = row_refresh_token(&f).unwrap();
    assert_ne!(new_rt, pair.refresh_token);
    let token = c.get_token().unwrap();
    assert_ne!(token, pair.access_token);
    c.test_token().unwrap();

    // The simulator refuses the spent token: spending it again would have shown here.
    let s = f.session(json!({}));
    let e = anaf_bridge::client::http::block_on(anaf_bridge::client::oauth::refresh(
        &s.http,
        &s.config,
        &pair.refresh_token,
    ))
    .unwrap_err();
    assert_eq!(e.status, ANAF_ERR_LOGIN_REQUIRED);
    // A second refresh spends the new token, not the old one.
    c.refresh().unwrap();
    assert_eq!(f.sim.counters().token_refresh_grants, 2);
    assert_eq!(
        f.sim.counters().refresh_refused,
        1,
        "only the deliberate one above"
    );
}

fn silent_refresh_at_the_margin_and_not_before(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    // A token with 10 days left: inside the default 14-day margin.
    f.sim.set_lifetimes(
        Duration::from_secs(10 * 86_400),
        Duration::from_secs(365 * 86_400),
    );
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    f.sim.set_lifetimes(
        Duration::from_secs(90 * 86_400),
        Duration::from_secs(365 * 86_400),
    );

    // With a 7-day margin the token is simply returned.
    let c7 = CClient::open(&f.config(json!({"refresh_margin_days": 7}))).unwrap();
    c7.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    assert_eq!(c7.get_token().unwrap(), pair.access_token);
    assert_eq!(f.sim.counters().token_refresh_grants, 0);

    // With the default margin it is refreshed on the way, once.
    let c = CClient::open(&f.config(json!({}))).unwrap();
    let t = c.get_token().unwrap();
    assert_ne!(t, pair.access_token);
    assert_eq!(c.get_token().unwrap(), t);
    assert_eq!(
        c7.get_token().unwrap(),
        t,
        "another handle sees the refresh"
    );
    assert_eq!(f.sim.counters().token_refresh_grants, 1);
    assert!((89..=90).contains(&c.token_info().unwrap()["days_left"].as_i64().unwrap()));
}

fn a_401_triggers_one_refresh(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let c = CClient::open(&f.config(json!({}))).unwrap();
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    // An access token the API does not accept (not signed by ANAF) but that looks valid
    // for 80 more days, with a good refresh token: as after a revocation at ANAF.
    let forged = {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 80 * 86_400;
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"RS512"}"#),
            URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp},"serial":"{SERIAL}"}}"#)),
            URL_SAFE_NO_PAD.encode(b"sig")
        )
    };
    c.import_token(&forged, &pair.refresh_token).unwrap();
    assert_eq!(c.get_token().unwrap(), forged, "no reason to refresh yet");
    c.test_token().unwrap();
    let k = f.sim.counters();
    assert_eq!(k.unauthorized, 1, "{k:?}");
    assert_eq!(k.token_refresh_grants, 1);
    let now = c.get_token().unwrap();
    assert_ne!(now, forged);

    // After a 401 on a token another handle already replaced, no second refresh happens.
    let s = f.session(json!({}));
    assert_eq!(s.access_token_after_401(&forged).unwrap(), now);
    assert_eq!(f.sim.counters().token_refresh_grants, 1);
    // And a 401 on the current one refreshes exactly once more.
    let newer = s.access_token_after_401(&now).unwrap();
    assert_ne!(newer, now);
    assert_eq!(f.sim.counters().token_refresh_grants, 2);
}

fn expired_refresh_token_asks_for_a_new_login(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    f.sim
        .set_lifetimes(Duration::from_secs(2), Duration::from_secs(3));
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    let c = CClient::open(&f.config(json!({}))).unwrap();
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    std::thread::sleep(Duration::from_millis(3_500));
    let e = c.get_token().unwrap_err();
    assert_eq!(e.0, ANAF_ERR_LOGIN_REQUIRED, "{e:?}");
    assert!(
        e.1.contains("certificate"),
        "the message says what to do: {}",
        e.1
    );
    assert_eq!(c.refresh().unwrap_err().0, ANAF_ERR_LOGIN_REQUIRED);
    assert_eq!(c.token_info().unwrap()["login_required"], true);
    assert_eq!(f.sim.counters().token_refresh_grants, 0);
    // The row is kept (the ERP can still show what it was) until a new login replaces it.
    assert_eq!(
        row_refresh_token(&f).as_deref(),
        Some(pair.refresh_token.as_str())
    );
}

fn refresh_token_refused_by_anaf_is_marked_and_not_spent_again(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    let c = CClient::open(&f.config(json!({}))).unwrap();
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    // Someone else spends it behind our back (another tool with a copy of the token).
    let s = f.session(json!({}));
    anaf_bridge::client::http::block_on(anaf_bridge::client::oauth::refresh(
        &s.http,
        &s.config,
        &pair.refresh_token,
    ))
    .unwrap();
    let e = c.refresh().unwrap_err();
    assert_eq!(e.0, ANAF_ERR_LOGIN_REQUIRED);
    assert!(e.1.contains("already used"), "ANAF's words: {}", e.1);
    let refused = f.sim.counters().refresh_refused;
    assert_eq!(refused, 1);
    // The access token still works until it expires: the ERP keeps going...
    assert_eq!(c.get_token().unwrap(), pair.access_token);
    // ...and nobody knocks at ANAF with the dead refresh token again.
    assert_eq!(c.refresh().unwrap_err().0, ANAF_ERR_LOGIN_REQUIRED);
    assert_eq!(f.sim.counters().refresh_refused, refused);
    let info = c.token_info().unwrap();
    assert_eq!(info["login_required"], true);
    assert!(info["refresh_error"]
        .as_str()
        .unwrap()
        .contains("already used"));
    // A new login clears it.
    let code = f.auth_code(&s, SERIAL);
    c.exchange_code(&code).unwrap();
    assert_eq!(c.token_info().unwrap()["login_required"], false);
    c.refresh().unwrap();
}

fn idp_failures_keep_the_refresh_token(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    let c = CClient::open(&f.config(json!({"timeout_seconds": 2}))).unwrap();
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    let token_path = "/anaf-oauth2/v1/token";
    let cases: Vec<(anaf_sim::Fault, &[i32])> = vec![
        (anaf_sim::Fault::HtmlRejected, &[ANAF_ERR_HTML_RESPONSE]),
        (
            anaf_sim::Fault::Status(502),
            &[ANAF_ERR_HTML_RESPONSE, ANAF_ERR_HTTP],
        ),
        (anaf_sim::Fault::Reset, &[ANAF_ERR_NETWORK]),
        (anaf_sim::Fault::RateLimited, &[ANAF_ERR_RATE_LIMITED]),
        // A token answer is a few KB: one past 1 MB is cut off unread.
        (
            anaf_sim::Fault::Flood {
                content_type: "application/json".into(),
                bytes: 2 << 20,
            },
            &[ANAF_ERR_BAD_RESPONSE],
        ),
        (
            anaf_sim::Fault::Latency(Duration::from_secs(4)),
            &[ANAF_ERR_TIMEOUT],
        ),
    ];
    for (fault, want) in cases {
        f.sim.inject_on(token_path, fault.clone(), 1);
        let e = c.refresh().unwrap_err();
        assert!(want.contains(&e.0), "{fault:?}: got {e:?}");
        if matches!(fault, anaf_sim::Fault::Flood { .. }) {
            assert!(e.1.contains("exceeds 1 MB"), "{e:?}");
        }
        assert!(!e.1.is_empty());
        assert_eq!(
            row_refresh_token(&f).as_deref(),
            Some(pair.refresh_token.as_str()),
            "{fault:?}"
        );
        // get_token still answers with the stored (valid) access token.
        assert_eq!(c.get_token().unwrap(), pair.access_token);
    }
    // The timed-out request reached the handler after our timeout: the simulator may have
    // spent the token then. Anything else must leave it usable.
    std::thread::sleep(Duration::from_secs(3));
    let spent_by_timeout = f.sim.counters().token_refresh_grants;
    eprintln!("refresh grants after the client timed out: {spent_by_timeout}");
    match c.refresh() {
        Ok(()) => assert_eq!(spent_by_timeout, 0),
        Err(e) => {
            assert_eq!(spent_by_timeout, 1, "{e:?}");
            assert_eq!(e.0, ANAF_ERR_LOGIN_REQUIRED);
        }
    }
}

fn wrong_client_secret_on_refresh_is_invalid_client_and_keeps_the_token(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    // The token is sealed under the ERP's own `token_key`, so a wrong client secret only
    // fails where ANAF checks it.
    let key = json!("the ERP's token key, 32 chars..");
    let c = CClient::open(&f.config(json!({"client_secret": "nope", "token_key": key}))).unwrap();
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    let e = c.refresh().unwrap_err();
    assert_eq!(e.0, ANAF_ERR_INVALID_CLIENT, "{e:?}");
    assert_eq!(c.token_info().unwrap()["login_required"], false);
    assert_eq!(c.get_token().unwrap(), pair.access_token);
    let good = CClient::open(&f.config(json!({"token_key": key}))).unwrap();
    good.refresh().unwrap();
}

/// The key comes from the client secret when the ERP gives no `token_key`: a workstation
/// with another secret is told so and changes nothing, and after the vendor rotates the
/// secret, `token_key_previous` carries the token over to the new key without a login.
fn a_changed_client_secret_is_named_and_token_key_previous_carries_the_token(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    let old = CClient::open(&f.config(json!({}))).unwrap();
    old.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    let old_secret = "sim-client-secret";
    // The vendor regenerates the secret in SPV (the same application, a new secret).
    f.sim.register_app(
        "sim-client-id",
        "rotated-in-spv",
        "https://localhost:9443/anaf/callback",
    );
    let rotated = CClient::open(&f.config(json!({"client_secret": "rotated-in-spv"}))).unwrap();
    let e = rotated.get_token().unwrap_err();
    assert_eq!(e.0, ANAF_ERR_INVALID_CONFIG, "{e:?}");
    assert!(e.1.contains("token_key_previous"), "{}", e.1);
    assert_eq!(f.sim.counters().token_refresh_grants, 0);
    let carried = CClient::open(&f.config(json!({
        "client_secret": "rotated-in-spv", "token_key_previous": old_secret
    })))
    .unwrap();
    assert_eq!(carried.get_token().unwrap(), pair.access_token);
    carried.refresh().unwrap();
    // Sealed under the new key now: the previous one is no longer needed.
    drop(carried);
    let after = CClient::open(&f.config(json!({"client_secret": "rotated-in-spv"}))).unwrap();
    assert_eq!(after.token_info().unwrap()["login_required"], false);
    after.refresh().unwrap();
}

fn delete_revokes_best_effort_then_deletes(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let c = CClient::open(&f.config(json!({}))).unwrap();
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    c.delete_token().unwrap();
    assert_eq!(f.sim.counters().revokes, 1);
    assert_eq!(c.get_token().unwrap_err().0, ANAF_ERR_NO_TOKEN);
    assert_eq!(c.delete_token().unwrap_err().0, ANAF_ERR_NO_TOKEN);

    // The login wall ANAF was seen answering /revoke with: still deleted locally.
    f.sim.set_revoke_login_wall(true);
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    c.delete_token().unwrap();
    assert_eq!(row_refresh_token(&f), None);
    f.sim.set_revoke_login_wall(false);

    // A database that cannot take the delete (another program's lock): nothing is revoked,
    // the working token stays.
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    let revokes = f.sim.counters().revokes;
    let short = CClient::open(&f.config(json!({}))).unwrap();
    {
        let _blocker = f.hold_the_token_row();
        let e = short.delete_token().unwrap_err();
        assert_eq!(e.0, ANAF_ERR_DATABASE_LOCKED, "{e:?}");
    }
    assert_eq!(
        f.sim.counters().revokes,
        revokes,
        "no revoke for a row that stays"
    );
    assert_eq!(
        row_refresh_token(&f).as_deref(),
        Some(pair.refresh_token.as_str())
    );
}

fn import_rejects_garbage_and_keeps_the_previous_pair(b: Backend) {
    let Some(f) = Fixture::on(b) else { return };
    let c = CClient::open(&f.config(json!({ "cert_serial": SERIAL }))).unwrap();
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    let e = c.import_token("", "x").unwrap_err();
    assert_eq!(e.0, ANAF_ERR_INVALID_ARGUMENT);
    assert!(e.1.contains("access_token"));
    assert_eq!(
        c.import_token("a b", "x").unwrap_err().0,
        ANAF_ERR_INVALID_ARGUMENT
    );
    // What black-box tests imported with ANAF_OK, each replacing a working pair before.
    let other = f.sim.mint_tokens(CIF, "99AA");
    let junk = "x".repeat(10 << 20);
    for (a, r, why) in [
        ("abc", "def", "not a JWT"),
        (
            pair.refresh_token.as_str(),
            pair.access_token.as_str(),
            "swapped",
        ),
        (junk.as_str(), junk.as_str(), "longer than 16 KB"),
        ("a.!!!.c", "a.@@@.c", "not a JWT"),
        (
            other.access_token.as_str(),
            other.refresh_token.as_str(),
            "certificate 99AA",
        ),
    ] {
        let e = c.import_token(a, r).unwrap_err();
        assert_eq!(e.0, ANAF_ERR_INVALID_ARGUMENT, "{why}: {e:?}");
        assert!(
            e.1.contains(why) && e.1.contains("unchanged"),
            "{why}: {}",
            &e.1[..e.1.len().min(300)]
        );
    }
    assert_eq!(c.get_token().unwrap(), pair.access_token);
    assert_eq!(
        c.token_info().unwrap()["version"],
        1,
        "nothing replaced the pair"
    );
}

#[test]
fn bad_databases_get_clear_statuses_and_are_left_alone() {
    let f = Fixture::new();
    let c = CClient::open(&f.config(json!({}))).unwrap();
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();

    // A damaged row.
    let raw = rusqlite::Connection::open(f.db()).unwrap();
    let sealed_refresh = |raw: &rusqlite::Connection| -> String {
        raw.query_row("SELECT refresh_token FROM anaf_token", [], |r| r.get(0))
            .unwrap()
    };
    let before = sealed_refresh(&raw);
    raw.execute("UPDATE anaf_token SET access_expires_at = 'tomorrow'", [])
        .unwrap();
    let e = c.get_token().unwrap_err();
    assert_eq!(e.0, ANAF_ERR_DATABASE_CORRUPT, "{e:?}");
    assert!(e.1.contains("damaged"), "{}", e.1);
    assert_eq!(
        sealed_refresh(&raw),
        before,
        "nothing was deleted or rewritten"
    );

    // A file from a newer anaf-bridge.
    raw.execute("UPDATE anaf_schema SET version = version + 1", [])
        .unwrap();
    drop(raw);
    drop(c);
    let e = CClient::open(&f.config(json!({}))).err().unwrap();
    assert_eq!(e.0, ANAF_ERR_DATABASE_NEWER, "{e:?}");
    assert!(e.1.contains("update the DLL"), "{}", e.1);

    // Not a database at all.
    std::fs::write(
        f.db(),
        b"this is a text file, not SQLite, and it is long enough to be read",
    )
    .unwrap();
    let _ = std::fs::remove_file(f.db().with_extension("db-wal"));
    let _ = std::fs::remove_file(f.db().with_extension("db-shm"));
    let e = CClient::open(&f.config(json!({}))).err().unwrap();
    assert_eq!(e.0, ANAF_ERR_DATABASE_CORRUPT, "{e:?}");
}

#[test]
fn messages_are_in_romanian_by_default() {
    let f = Fixture::new();
    let mut cfg: serde_json::Value = serde_json::from_str(&f.config(json!({}))).unwrap();
    cfg.as_object_mut().unwrap().remove("language");
    let c = CClient::open(&cfg.to_string()).unwrap();
    let e = c.get_token().unwrap_err();
    assert_eq!(e.0, ANAF_ERR_NO_TOKEN);
    assert!(
        e.1.contains("generați unul cu semnătura electronică"),
        "{}",
        e.1
    );
    // Lifetimes long enough for the import on a loaded machine, short enough to wait out.
    f.sim
        .set_lifetimes(Duration::from_secs(3), Duration::from_secs(3));
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    std::thread::sleep(Duration::from_millis(3_500));
    let e = c.get_token().unwrap_err();
    assert_eq!(e.0, ANAF_ERR_LOGIN_REQUIRED);
    assert!(e.1.contains("stick-ul USB"), "{}", e.1);
}

#[test]
fn a_write_transaction_of_the_erp_does_not_block_reading_the_token() {
    let f = Fixture::new();
    let c = CClient::open(&f.config(json!({}))).unwrap();
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    // The ERP holds a write transaction on the same file (WAL: readers go on).
    let erp = rusqlite::Connection::open(f.db()).unwrap();
    erp.execute_batch("BEGIN IMMEDIATE; CREATE TABLE erp_invoices (id INTEGER);")
        .unwrap();
    assert_eq!(c.get_token().unwrap(), pair.access_token);
    assert_eq!(c.token_info().unwrap()["version"], 1);
    erp.execute_batch("COMMIT;").unwrap();
}

#[test]
fn short_lived_tokens_do_not_make_every_call_refresh() {
    // ANAF's older documents give the access token one hour: with the 14-day margin a
    // refreshed pair is still "near expiry"; it must be used for half its life, not
    // refreshed on every call.
    let f = Fixture::new();
    f.sim.set_lifetimes(
        Duration::from_secs(3_600),
        Duration::from_secs(365 * 86_400),
    );
    let pair = f.sim.mint_tokens(CIF, SERIAL);
    let c = CClient::open(&f.config(json!({}))).unwrap();
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    let t = c.get_token().unwrap();
    assert_ne!(
        t, pair.access_token,
        "a fresh login inside the margin is refreshed once"
    );
    for _ in 0..5 {
        assert_eq!(c.get_token().unwrap(), t);
    }
    assert_eq!(f.sim.counters().token_refresh_grants, 1);
}

/// An ERP moving from the SQLite file to its database server: one call moves every CIF's
/// token and the journal; the file's rows are marked moved; a second run moves nothing; the
/// moved token refreshes on the server, and a workstation left on the file is told where
/// the token went instead of spending it.
fn move_from_the_file_to_the_server(b: Backend) {
    let Some(server) = Fixture::on(b) else { return };
    let file = Fixture::new();
    let from = file.config(json!({}));
    // One simulator for both configurations: the server fixture lends only its database.
    let to = file.config(json!({"database": null, "odbc": server.odbc.clone().unwrap()}));
    // Two companies in the file, logged in with two certificates (one certificate's logins
    // share a row), one with a journal entry.
    let pair = file.sim.mint_tokens(CIF, SERIAL);
    let c = CClient::open(&from).unwrap();
    c.import_token(&pair.access_token, &pair.refresh_token)
        .unwrap();
    let other = file.config(json!({"cif": "18547290"}));
    let p2 = file.sim.mint_tokens("18547290", "5E2A");
    CClient::open(&other)
        .unwrap()
        .import_token(&p2.access_token, &p2.refresh_token)
        .unwrap();
    let key = anaf_bridge::store::journal::UploadKey {
        cif: CIF.into(),
        environment: "test".into(),
        service: anaf_bridge::store::journal::Service::EFactura,
        standard: "UBL".into(),
        flags: "".into(),
        sha256: "ab".into(),
    };
    let fs = file.store();
    let anaf_bridge::store::journal::Begin::Send(id) =
        anaf_bridge::store::journal::begin(&fs, &key, 9, false, true).unwrap()
    else {
        panic!()
    };
    anaf_bridge::store::journal::finish(
        &fs,
        id,
        anaf_bridge::store::journal::State::Uploaded,
        Some("5001"),
        None,
        None,
    )
    .unwrap();

    let run = || -> serde_json::Value {
        let (f, t) = (
            std::ffi::CString::new(from.clone()).unwrap(),
            std::ffi::CString::new(to.clone()).unwrap(),
        );
        let mut out = std::ptr::null_mut();
        let rc = unsafe {
            anaf_bridge::ffi::token::anaf_store_migrate(f.as_ptr(), t.as_ptr(), &mut out)
        };
        assert_eq!(rc, ANAF_OK, "{}", last_error());
        serde_json::from_str(&take(out).unwrap()).unwrap()
    };
    let outcomes = |r: &serde_json::Value| -> Vec<String> {
        r["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["outcome"].as_str().unwrap().to_string())
            .collect()
    };
    let r = run();
    assert_eq!(outcomes(&r), ["moved", "moved"], "{r}");
    assert_eq!(r["journal"]["copied"], 1, "{r}");
    // Twice: nothing moves again.
    let r = run();
    assert_eq!(outcomes(&r), ["already_moved", "already_moved"], "{r}");
    assert_eq!(r["journal"]["copied"], 0, "{r}");

    // On the server: the same token, the journal's protection, and a refresh that works.
    let s = CClient::open(&to).unwrap();
    assert_eq!(s.get_token().unwrap(), pair.access_token);
    let ss = server.store();
    assert!(
        matches!(anaf_bridge::store::journal::begin(&ss, &key, 9, false, true).unwrap(),
        anaf_bridge::store::journal::Begin::AlreadyUploaded(e) if e.index_incarcare.as_deref() == Some("5001"))
    );
    s.refresh().unwrap();
    assert_eq!(file.sim.counters().refresh_refused, 0);
    // The file's row is dead for refreshing, and says why.
    let e = c.refresh().unwrap_err();
    assert_eq!(e.0, ANAF_ERR_LOGIN_REQUIRED, "{e:?}");
    assert!(
        e.1.contains("moved") && e.1.contains("odbc") && !e.1.contains("anaf-test"),
        "{}",
        e.1
    );
    let k = file.sim.counters();
    assert_eq!(
        (k.token_refresh_grants, k.refresh_refused),
        (1, 0),
        "the file never spent the moved token: {k:?}"
    );
}

mod move_from_the_file {
    use super::*;
    #[test]
    fn to_postgresql() {
        move_from_the_file_to_the_server(Backend::Postgres);
    }
    #[test]
    fn to_mariadb() {
        move_from_the_file_to_the_server(Backend::MariaDb);
    }
}
