//! The identity provider over real HTTPS with client certificates.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn full_login_refresh_rotation_and_hello() {
    let sim = start();
    let cert = sim.client_cert("1a 2b 3c 4d");
    assert_eq!(cert.serial, "1A2B3C4D");
    assert!(cert.p12.exists() && cert.key_pem.exists());

    let r = client_with_cert(&sim, &cert)
        .get(authorize_url(&sim, "xyz"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 302);
    let loc = r.headers()["location"].to_str().unwrap();
    assert!(
        loc.starts_with("https://localhost:9443/anaf/callback?code="),
        "{loc}"
    );
    let q = query_of(loc);
    assert_eq!(q["state"], "xyz");

    let (status, body) = exchange(&sim, &q["code"]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 90 * 24 * 3600);
    let access = body["access_token"].as_str().unwrap().to_string();
    let refresh1 = body["refresh_token"].as_str().unwrap().to_string();

    // The JWT: RS512, ANAF's issuer and claims.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: serde_json::Value =
        serde_json::from_slice(&b64.decode(access.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS512");
    let claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(access.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["serial"], "1A2B3C4D");
    assert_eq!(claims["clientappid"], "sim-client-id");
    assert_eq!(claims["iss"], "https://logincert.anaf.ro");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        90 * 24 * 3600
    );

    // The code is single-use.
    let (status, body) = exchange(&sim, &q["code"]);
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");

    // Refresh rotates both tokens; the spent refresh token is refused.
    let (status, body) = refresh(&sim, &refresh1);
    assert_eq!(status, 200, "{body}");
    let refresh2 = body["refresh_token"].as_str().unwrap().to_string();
    let access2 = body["access_token"].as_str().unwrap().to_string();
    assert_ne!(refresh1, refresh2);
    let (status, body) = refresh(&sim, &refresh1);
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    let c = sim.counters();
    assert_eq!(c.token_code_grants, 1);
    assert_eq!(c.token_refresh_grants, 1);
    assert_eq!(c.refresh_refused, 1);

    // The access token works on TestOauth; no token is a 401.
    let r = get_api(&sim, "/TestOauth/jaxrs/hello?name=ERP", Some(&access2));
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v["message"], "Hello ERP");
    let r = get_api(&sim, "/TestOauth/jaxrs/hello?name=ERP", None);
    assert_eq!(r.status(), 401);
    let r = get_api(&sim, "/TestOauth/jaxrs/hello?name=ERP", Some(&refresh2));
    assert_eq!(r.status(), 401, "a refresh token is not an access token");
}

#[test]
fn authorize_refusals() {
    let sim = start();
    // No certificate: access_denied on the redirect.
    let r = client(&sim).get(authorize_url(&sim, "s1")).send().unwrap();
    assert_eq!(r.status(), 302);
    let q = query_of(r.headers()["location"].to_str().unwrap());
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "s1");
    assert!(!q.contains_key("code"));

    // A certificate not enrolled in SPV for any company.
    let cert = sim.client_cert("0BADC0DE");
    for cif in ["14399840", "8000006", "8000000000"] {
        sim.set_enrolled("BADC0DE", cif, false);
    }
    let r = client_with_cert(&sim, &cert)
        .get(authorize_url(&sim, "s2"))
        .send()
        .unwrap();
    let q = query_of(r.headers()["location"].to_str().unwrap());
    assert_eq!(q["error"], "access_denied");
    assert_eq!(sim.counters().authorize_denied, 2);

    // A redirect URI that differs by one character: no redirect, invalid_request.
    let cert = sim.client_cert("01");
    let url = authorize_url(&sim, "s3").replace("callback", "callback%2F");
    let r = client_with_cert(&sim, &cert).get(url).send().unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v["error"], "invalid_request");

    // Unknown client.
    let url = authorize_url(&sim, "s4").replace("sim-client-id", "other");
    let r = client_with_cert(&sim, &cert).get(url).send().unwrap();
    assert_eq!(r.status(), 400);
}

#[test]
fn code_expires_after_60_seconds_and_bad_client_is_401() {
    let sim = start();
    let cert = sim.client_cert("77");
    let code = get_code(&sim, &cert);
    sim.advance_clock(Duration::from_secs(61));
    let (status, body) = exchange(&sim, &code);
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");

    let code = get_code(&sim, &cert);
    let r = client(&sim)
        .post(format!("{}/anaf-oauth2/v1/token", sim.idp_url()))
        .basic_auth("sim-client-id", Some("wrong"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "https://localhost:9443/anaf/callback"),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v["error"], "invalid_client");
}

#[test]
fn lifetimes_expiry_and_revoke() {
    let sim = start();
    sim.set_lifetimes(Duration::from_secs(120), Duration::from_secs(600));
    let pair = sim.mint_tokens("14399840", "ABCDEF");
    assert_eq!(pair.expires_in, 120);
    assert_eq!(
        get_api(
            &sim,
            "/TestOauth/jaxrs/hello?name=a",
            Some(&pair.access_token)
        )
        .status(),
        200
    );
    sim.advance_clock(Duration::from_secs(121));
    assert_eq!(
        get_api(
            &sim,
            "/TestOauth/jaxrs/hello?name=a",
            Some(&pair.access_token)
        )
        .status(),
        401
    );
    // The refresh token still works, and gives a fresh access token.
    let (status, body) = refresh(&sim, &pair.refresh_token);
    assert_eq!(status, 200);
    let access = body["access_token"].as_str().unwrap().to_string();
    let rt = body["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        get_api(&sim, "/TestOauth/jaxrs/hello?name=a", Some(&access)).status(),
        200
    );
    // After its lifetime the refresh token is refused.
    sim.advance_clock(Duration::from_secs(601));
    let (status, body) = refresh(&sim, &rt);
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");

    // Revoke: 200, then the refresh token is refused.
    let pair = sim.mint_tokens("14399840", "ABCDEF");
    let revoke = |tok: &str| {
        client(&sim)
            .post(format!("{}/anaf-oauth2/v1/revoke", sim.idp_url()))
            .basic_auth("sim-client-id", Some("sim-client-secret"))
            .form(&[("token", tok), ("token_type_hint", "refresh_token")])
            .send()
            .unwrap()
    };
    assert_eq!(revoke(&pair.refresh_token).status(), 200);
    assert_eq!(refresh(&sim, &pair.refresh_token).0, 400);
    assert_eq!(sim.counters().revokes, 1);

    // The live service's login wall.
    sim.set_revoke_login_wall(true);
    let r = revoke(&pair.access_token);
    assert_eq!(r.status(), 302);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .contains("my.policy"));
}

#[test]
fn certificate_from_another_ca_fails_the_handshake() {
    let sim = start();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let mut pem = cert.pem().into_bytes();
    pem.extend(key.serialize_pem().into_bytes());
    let ca = std::fs::read(sim.ca_pem_path()).unwrap();
    let c = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .identity(reqwest::Identity::from_pem(&pem).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .use_rustls_tls()
        .build()
        .unwrap();
    let r = c.get(authorize_url(&sim, "x")).send();
    assert!(r.is_err(), "expected a TLS failure, got {r:?}");
    assert_eq!(sim.counters().authorize_codes, 0);
    // The same client without that certificate reaches the server.
    let ok = client(&sim).get(authorize_url(&sim, "x")).send().unwrap();
    assert_eq!(ok.status(), 302);
}

#[test]
fn extra_applications_and_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = anaf_sim::SimConfig {
        state_dir: Some(dir.path().join("s")),
        ..Default::default()
    };
    let sim = anaf_sim::Sim::start(cfg.clone()).unwrap();
    assert!(sim.ca_pem_path().starts_with(dir.path()));
    sim.register_app("erp2", "secret2", "https://localhost:7000/cb");
    let cert = sim.client_cert("42");
    let url = format!(
        "{}/anaf-oauth2/v1/authorize?response_type=code&client_id=erp2&redirect_uri=https%3A%2F%2Flocalhost%3A7000%2Fcb",
        sim.idp_url()
    );
    let r = client_with_cert(&sim, &cert).get(url).send().unwrap();
    let code = query_of(r.headers()["location"].to_str().unwrap())["code"].clone();
    let r = client(&sim)
        .post(format!("{}/anaf-oauth2/v1/token", sim.idp_url()))
        .basic_auth("erp2", Some("secret2"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "https://localhost:7000/cb"),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().unwrap();
    let claims = sim
        .decode_token(v["refresh_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.clientappid, "erp2");
    // Another application's client credentials cannot spend it.
    let (status, body) = refresh(&sim, v["refresh_token"].as_str().unwrap());
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let ca = std::fs::read(sim.ca_pem_path()).unwrap();
    let old_token = sim.mint_tokens("14399840", "42").access_token;
    drop(sim);
    // A restart on the same state dir keeps the CA and the signing key.
    let sim = anaf_sim::Sim::start(cfg).unwrap();
    assert_eq!(std::fs::read(sim.ca_pem_path()).unwrap(), ca);
    assert!(sim.decode_token(&old_token).is_some());
}

#[test]
fn token_endpoint_answers_oauth_json_for_odd_requests() {
    let sim = start();
    let post = |auth: bool, body: &'static str| {
        let mut r = client(&sim)
            .post(format!("{}/anaf-oauth2/v1/token", sim.idp_url()))
            .body(body);
        if auth {
            r = r.basic_auth("sim-client-id", Some("sim-client-secret"));
        }
        let r = r.send().unwrap();
        let status = r.status().as_u16();
        (status, r.json::<serde_json::Value>().unwrap())
    };
    let (s, v) = post(false, "");
    assert_eq!((s, v["error"].as_str()), (401, Some("invalid_client")));
    let (s, v) = post(true, "");
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_request")));
    let (s, v) = post(true, "grant_type=password&username=a&password=b");
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (s, v) = post(true, "grant_type=refresh_token&refresh_token=abc");
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_grant")));
    // Client credentials in the form body work too.
    let pair = sim.mint_tokens("14399840", "99");
    let r = client(&sim)
        .post(format!("{}/anaf-oauth2/v1/token", sim.idp_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", pair.refresh_token.as_str()),
            ("client_id", "sim-client-id"),
            ("client_secret", "sim-client-secret"),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(sim.counters().token_errors, 4);
}
