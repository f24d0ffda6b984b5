use super::*;
use crate::client::jwt;
use serde_json::json;

fn session(dir: &std::path::Path) -> Session {
    let cfg = crate::config::Config::from_json(
        &json!({
            "database": dir.join("t.db"), "cif": "14399840", "client_id": "cid",
            "client_secret": "sec", "redirect_uri": "https://localhost:9443/cb",
            "environment": "test", "idp_url": "https://127.0.0.1:9/", "timeout_seconds": 2,
            "connect_timeout_seconds": 1
        })
        .to_string(),
    )
    .unwrap();
    Session::open(cfg).unwrap()
}

fn tok(exp: i64, serial: &str) -> String {
    jwt::make(&json!({"exp": exp, "serial": serial, "nonce": rand::random::<u32>()}))
}

#[test]
fn import_reads_expiry_and_serial_and_get_returns_it() {
    let d = tempfile::tempdir().unwrap();
    let s = session(d.path());
    assert_eq!(s.access_token().unwrap_err().status, ANAF_ERR_NO_TOKEN);
    let exp = now() + 80 * 86_400;
    let a = tok(exp, "ab:cd");
    let info = s
        .store_token_response(&a, &tok(now() + 300 * 86_400, "ab:cd"), None)
        .unwrap();
    assert_eq!(info.serial.as_deref(), Some("ABCD"));
    assert!((79..=80).contains(&info.days_left), "{info:?}");
    assert_eq!(info.access_expires_at, rfc3339(exp));
    assert!(!info.login_required);
    assert_eq!(s.access_token().unwrap(), a);
    let e = s.store_token_response("", "x", None).unwrap_err();
    assert_eq!(e.status, ANAF_ERR_INVALID_ARGUMENT);
}

#[test]
fn dead_refresh_token_needs_login_without_calling_anaf() {
    let d = tempfile::tempdir().unwrap();
    let s = session(d.path());
    // Access expired, refresh expired: no network (the idp_url is a closed port anyway).
    s.store_token_response(&tok(now() - 10, "01"), &tok(now() - 5, "01"), None)
        .unwrap();
    let e = s.access_token().unwrap_err();
    assert_eq!(e.status, ANAF_ERR_LOGIN_REQUIRED, "{e:?}");
    assert!(s.token_info().unwrap().login_required);
    // Refresh dead but access still good: the ERP keeps working until it expires.
    let a = tok(now() + 5 * 86_400, "01");
    s.store_token_response(&a, &tok(now() - 5, "01"), None)
        .unwrap();
    assert_eq!(s.access_token().unwrap(), a);
    assert_eq!(s.refresh_now().unwrap_err().status, ANAF_ERR_LOGIN_REQUIRED);
}

#[test]
fn failed_silent_refresh_keeps_the_current_token() {
    let d = tempfile::tempdir().unwrap();
    let s = session(d.path());
    let a = tok(now() + 3 * 86_400, "01");
    s.store_token_response(&a, &tok(now() + 300 * 86_400, "01"), None)
        .unwrap();
    // Within the 14-day margin; ANAF unreachable: the current token is returned...
    assert_eq!(s.access_token().unwrap(), a);
    // ...the refresh token is untouched and the lease was given back.
    let row = s.store.load(&s.profile().unwrap()).unwrap().unwrap();
    assert_eq!(row.lease_owner, None);
    assert_eq!(row.refresh_refused_at, None);
    // An explicit refresh reports the network failure.
    let e = s.refresh_now().unwrap_err();
    assert!(
        matches!(e.status, ANAF_ERR_NETWORK | ANAF_ERR_TIMEOUT),
        "{e:?}"
    );
}

#[test]
fn read_only_database_never_spends_the_refresh_token() {
    // A refresh whose result could not be saved would lose the token: the lease is
    // claimed (a write) before ANAF is called, so a read-only file stops it first.
    let sim = anaf_sim::Sim::start(anaf_sim::SimConfig::default()).unwrap();
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("t.db");
    let cfg = crate::config::Config::from_json(
        &json!({
            "database": db, "cif": "14399840", "client_id": "sim-client-id",
            "client_secret": "sim-client-secret",
            "redirect_uri": "https://localhost:9443/anaf/callback", "environment": "test",
            "idp_url": sim.idp_url(), "api_url": sim.api_url(), "ca_file": sim.ca_pem_path()
        })
        .to_string(),
    )
    .unwrap();
    sim.set_lifetimes(
        Duration::from_secs(5 * 86_400),
        Duration::from_secs(365 * 86_400),
    );
    let pair = sim.mint_tokens("14399840", "0A");
    Session::open(cfg.clone())
        .unwrap()
        .store_token_response(&pair.access_token, &pair.refresh_token, None)
        .unwrap();
    let mut ro = Session::open(cfg).unwrap();
    ro.store = Arc::new(
        crate::store::Store::open_flags(
            &db,
            Duration::from_millis(200),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap()
        .sealed_with(crate::store::seal::Sealer::from_config(&ro.config))
        .unwrap(),
    );
    // Within the margin: the current token is still handed out...
    assert_eq!(ro.access_token().unwrap(), pair.access_token);
    // ...an explicit refresh says why it cannot refresh...
    let e = ro.refresh_now().unwrap_err();
    assert_eq!(e.status, ANAF_ERR_DATABASE_READONLY, "{e:?}");
    // ...and ANAF never saw the refresh token.
    let k = sim.counters();
    assert_eq!((k.token_refresh_grants, k.token_errors), (0, 0), "{k:?}");
}
