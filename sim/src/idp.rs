//! logincert.anaf.ro: /anaf-oauth2/v1/{authorize,token,revoke}.
//!
//! Decisions where ANAF's behaviour cannot be observed offline:
//! - /authorize without a client certificate answers 302 to the redirect URI with
//!   `error=access_denied` (what the live service does when the USB token is absent and
//!   the browser sends no certificate). A certificate the test CA did not sign fails the
//!   TLS handshake, as it does live.
//! - Unknown client_id or a redirect_uri that does not match exactly: 400 with OAuth
//!   error JSON, no redirect (RFC 6749 §4.1.2.1 forbids redirecting to an unverified URI).
//! - /token accepts the client credentials by HTTP Basic (what ANAF documents) and also in
//!   the form body.
//! - A spent refresh token is refused with invalid_grant (stricter than ANAF, on purpose).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use base64::Engine;

use crate::respond::{html, json_raw};
use crate::server::ConnInfo;
use crate::state::{CodeGrant, RefreshState, State};

pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/anaf-oauth2/v1/authorize", get(authorize))
        .route("/anaf-oauth2/v1/token", post(token))
        .route("/anaf-oauth2/v1/revoke", post(revoke))
        .route("/my.policy", get(login_wall_page))
        .with_state(state)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = format!(
        r#"{{"error":"{error}","error_description":{}}}"#,
        serde_json::to_string(description).unwrap()
    );
    let mut r = json_raw(status, body);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().unwrap());
    r
}

fn redirect(location: String) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut s = uri.to_string();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (k, v) in pairs {
        s.push(sep);
        s.push_str(k);
        s.push('=');
        s.push_str(&url_encode(v));
        sep = '&';
    }
    s
}

pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn authorize(
    AxState(st): AxState<Arc<State>>,
    Extension(conn): Extension<ConnInfo>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let client_id = q.get("client_id").cloned().unwrap_or_default();
    let redirect_uri = q.get("redirect_uri").cloned().unwrap_or_default();
    let state_param = q.get("state").cloned();
    let app = st.lock().apps.get(&client_id).cloned();
    let Some(app) = app else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            &format!("Client {client_id} is not registered"),
        );
    };
    if redirect_uri != app.redirect_uri {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!(
                "Redirect-URI {redirect_uri} does not match the one registered for the client"
            ),
        );
    }
    let mut extra: Vec<(&str, &str)> = Vec::new();
    if let Some(s) = state_param.as_deref() {
        extra.push(("state", s));
    }
    let fail = |error: &str, desc: &str| {
        let mut p = vec![("error", error), ("error_description", desc)];
        p.extend(extra.iter().cloned());
        redirect(with_query(&redirect_uri, &p))
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return fail("unsupported_response_type", "response_type must be code");
    }
    let Some(cert) = conn.peer_cert.as_ref() else {
        st.lock().counters.authorize_denied += 1;
        return fail("access_denied", "No client certificate was presented");
    };
    let Some(serial) = crate::certs::serial_of_der(cert) else {
        st.lock().counters.authorize_denied += 1;
        return fail("access_denied", "The client certificate could not be read");
    };
    let mut g = st.lock();
    if !g.enrolled_any(&serial) {
        g.counters.authorize_denied += 1;
        drop(g);
        return fail(
            "access_denied",
            &format!("The certificate with serial {serial} is not enrolled in SPV"),
        );
    }
    let code = crate::state::random_token(20);
    let now = st.clock.now_ms();
    g.codes.insert(
        code.clone(),
        CodeGrant {
            client_id,
            redirect_uri: redirect_uri.clone(),
            serial: serial.clone(),
            subject: format!("sim-{serial}"),
            issued_ms: now,
        },
    );
    g.counters.authorize_codes += 1;
    drop(g);
    let mut p = vec![("code", code.as_str())];
    p.extend(extra.iter().cloned());
    redirect(with_query(&redirect_uri, &p))
}

/// Client credentials from HTTP Basic (preferred, as ANAF documents) or the form body.
fn client_credentials(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Option<(String, String)> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, rest) = v.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let s = String::from_utf8(raw).ok()?;
        let (id, secret) = s.split_once(':')?;
        // RFC 6749 §2.3.1: both halves are form-urlencoded before Basic encoding.
        return Some((form_decode(id), form_decode(secret)));
    }
    Some((
        form.get("client_id")?.clone(),
        form.get("client_secret")?.clone(),
    ))
}

fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 3 <= bytes.len() => {
                let hexpair = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hexpair, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The form body, whatever the Content-Type says (a bad body is an empty form, which
/// then fails with OAuth's own error instead of a framework rejection).
fn form_of(body: &[u8]) -> HashMap<String, String> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

async fn token(AxState(st): AxState<Arc<State>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = form_of(&body);
    let r = token_inner(&st, &headers, &form);
    if r.status() != StatusCode::OK {
        st.lock().counters.token_errors += 1;
    }
    r
}

fn token_inner(st: &State, headers: &HeaderMap, form: &HashMap<String, String>) -> Response {
    let Some((client_id, secret)) = client_credentials(headers, form) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad client credentials",
        );
    };
    let app = st.lock().apps.get(&client_id).cloned();
    match app {
        Some(a) if a.client_secret == secret => {}
        _ => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Bad client credentials",
            )
        }
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(code) = form.get("code") else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Missing code");
            };
            let now = st.clock.now_ms();
            let mut g = st.lock();
            // A code is spent by any attempt to use it, good or bad (RFC 6749 §4.1.2).
            let Some(grant) = g.codes.remove(code) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid authorization code",
                );
            };
            if now - grant.issued_ms > g.code_lifetime.as_millis() as i64 {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Authorization code expired",
                );
            }
            if grant.client_id != client_id {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Authorization code was issued to another client",
                );
            }
            if form.get("redirect_uri") != Some(&grant.redirect_uri) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    &format!(
                        "Redirect-URI {} does not match",
                        form.get("redirect_uri").map(String::as_str).unwrap_or("")
                    ),
                );
            }
            g.counters.token_code_grants += 1;
            drop(g);
            token_ok(st.issue_pair(&grant.serial, &grant.subject, &client_id))
        }
        Some("refresh_token") => {
            let Some(rt) = form.get("refresh_token") else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing refresh_token",
                );
            };
            let refused = |why: &str| {
                st.lock().counters.refresh_refused += 1;
                oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why)
            };
            let Some(c) = st.signer.verify(rt) else {
                return refused("Invalid refresh token");
            };
            if c.token_use != "refresh" {
                return refused("Invalid refresh token");
            }
            if c.exp <= st.clock.now_secs() {
                return refused("Refresh token expired");
            }
            if c.clientappid != client_id {
                return refused("Refresh token was issued to another client");
            }
            let mut g = st.lock();
            match g.refresh.get(&c.jti).copied() {
                Some(RefreshState::Active) => {
                    g.refresh.insert(c.jti.clone(), RefreshState::Spent);
                    g.counters.token_refresh_grants += 1;
                }
                Some(RefreshState::Spent) => {
                    drop(g);
                    return refused("Refresh token already used");
                }
                Some(RefreshState::Revoked) => {
                    drop(g);
                    return refused("Refresh token revoked");
                }
                // Signed by us but unknown: issued by an earlier run with the same state
                // dir. Accept once.
                None => {
                    g.refresh.insert(c.jti.clone(), RefreshState::Spent);
                    g.counters.token_refresh_grants += 1;
                }
            }
            drop(g);
            token_ok(st.issue_pair(&c.serial, &c.sub, &client_id))
        }
        Some(other) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Unsupported grant type: {other}"),
        ),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing grant_type",
        ),
    }
}

fn token_ok(p: crate::state::TokenPair) -> Response {
    let body = format!(
        r#"{{"access_token":"{}","token_type":"Bearer","expires_in":{},"refresh_token":"{}"}}"#,
        p.access_token, p.expires_in, p.refresh_token
    );
    let mut r = json_raw(StatusCode::OK, body);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().unwrap());
    r
}

async fn revoke(AxState(st): AxState<Arc<State>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = form_of(&body);
    if st.lock().login_wall {
        // What the live service was seen doing: the F5 access policy's login page.
        return redirect("/my.policy".to_string());
    }
    let Some((client_id, secret)) = client_credentials(&headers, &form) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad client credentials",
        );
    };
    let ok = st
        .lock()
        .apps
        .get(&client_id)
        .is_some_and(|a| a.client_secret == secret);
    if !ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad client credentials",
        );
    }
    let Some(tok) = form.get("token") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Missing token");
    };
    let mut g = st.lock();
    g.counters.revokes += 1;
    // RFC 7009: an unknown or foreign token still answers 200.
    if let Some(c) = st.signer.verify(tok) {
        if c.clientappid == client_id {
            if c.token_use == "refresh" {
                g.refresh.insert(c.jti, RefreshState::Revoked);
            } else {
                g.revoked_access.insert(c.jti);
            }
        }
    }
    StatusCode::OK.into_response()
}

async fn login_wall_page() -> Response {
    html(
        StatusCode::OK,
        "<!DOCTYPE html><html><head><title>Autentificare</title></head><body>\
         <form method=\"post\" action=\"/my.policy\"><p>Autentificare necesara</p>\
         <input type=\"text\" name=\"username\"><input type=\"password\" name=\"password\">\
         <input type=\"submit\" value=\"Logon\"></form></body></html>"
            .to_string(),
    )
}
