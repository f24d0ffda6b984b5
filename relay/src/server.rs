//! The HTTP side: the DLL's API, the browser's pages, the ANAF callback.

use crate::crypto::{self, ProcessKey};
use crate::pages;
use crate::store::{Clock, Link, Links, Outcome};
use crate::{Log, Settings};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

/// Largest API request body accepted (a link request is a few hundred bytes).
const MAX_BODY: usize = 16 * 1024;

pub struct App {
    pub settings: Settings,
    pub links: Mutex<Links>,
    pub key: ProcessKey,
    pub clock: Clock,
    pub http: reqwest::Client,
    pub log: Log,
}

impl App {
    fn lock(&self) -> std::sync::MutexGuard<'_, Links> {
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn link_url(&self, id: &str) -> String {
        format!("{}l/{}", self.settings.public_url, id)
    }
}

/// A short, non-secret handle of a link id for the log.
fn short(id: &str) -> &str {
    &id[..id.len().min(6)]
}

pub fn router(app: Arc<App>) -> Router {
    let p = app.settings.public_url.path().to_string();
    let mut r = Router::new()
        .route(&format!("{p}api/links"), post(create))
        .route(&format!("{p}api/links/{{id}}/poll"), post(poll))
        .route(&format!("{p}api/links/{{id}}"), delete(cancel))
        .route(&format!("{p}l/{{id}}"), get(landing))
        // A POST (the landing page's button): e-mail link scanners follow links with GET
        // and would otherwise start (and fail) an attempt at ANAF on their own.
        .route(&format!("{p}l/{{id}}/start"), post(start).get(start_by_get))
        .route(&format!("{p}healthz"), get(|| async { "ok" }))
        .route(app.settings.callback_url.path(), get(callback));
    if app.settings.test_clock {
        r = r.route(&format!("{p}_test/clock"), post(test_clock));
    }
    r.with_state(app)
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The callback URL carries the code: never let it travel in a Referer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'"),
    );
    r
}

fn api(status: StatusCode, v: Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn api_error(status: StatusCode, error: &str, description: &str) -> Response {
    api(
        status,
        json!({"error": error, "error_description": description}),
    )
}

#[derive(Deserialize)]
struct CreateReq {
    client_id: String,
    client_secret: Zeroizing<String>,
    #[serde(default)]
    redirect_uri: Option<String>,
    public_key: String,
    verifier: String,
    #[serde(default)]
    cif: Option<String>,
}

async fn create(State(app): State<Arc<App>>, body: Bytes) -> Response {
    if body.len() > MAX_BODY {
        return api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "bad_request",
            "request too large",
        );
    }
    // serde's messages can quote the offending value: never echo or log them.
    let Ok(req) = serde_json::from_slice::<CreateReq>(&body) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the link request is not valid JSON of the expected shape",
        );
    };
    let cid = req.client_id.trim();
    if cid.is_empty()
        || cid.len() > 256
        || req.client_secret.is_empty()
        || req.client_secret.len() > 1024
    {
        return api_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "client_id and client_secret are required",
        );
    }
    let (Some(recipient), Some(verifier)) = (
        crypto::b64_32(&req.public_key),
        crypto::b64_32(&req.verifier),
    ) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "public_key and verifier must be 32 bytes, base64url",
        );
    };
    let callback = app.settings.callback_url.as_str();
    if let Some(r) = req
        .redirect_uri
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        if r != callback {
            return api(
                StatusCode::CONFLICT,
                json!({"error": "redirect_mismatch", "error_description": "the redirect_uri differs from this relay's callback URL", "callback_url": callback}),
            );
        }
    }
    if !app.settings.allowed_client_ids.is_empty()
        && !app.settings.allowed_client_ids.iter().any(|c| c == cid)
    {
        app.log.line(&format!(
            "link refused: client_id {cid} is not allowed on this relay"
        ));
        return api_error(
            StatusCode::FORBIDDEN,
            "client_not_allowed",
            "this client_id is not served by this relay",
        );
    }
    let cif = req
        .cif
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.len() <= 12 && c.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string);
    let now = app.clock.now();
    let expires = now + app.settings.link_ttl_seconds;
    let id = crypto::random_token(16);
    let sealed_secret = app.key.seal(
        format!("client_secret:{id}").as_bytes(),
        req.client_secret.as_bytes(),
    );
    {
        let mut links = app.lock();
        links.sweep(now);
        if links.live_count() >= app.settings.max_links {
            app.log.line("link refused: too many links in progress");
            return api_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many links in progress; try later",
            );
        }
        links.map.insert(
            id.clone(),
            Link {
                client_id: cid.to_string(),
                client_secret: Some(sealed_secret),
                verifier,
                recipient,
                cif,
                created: now,
                expires,
                state: None,
                attempts: 0,
                outcome: Outcome::Pending,
            },
        );
    }
    app.log.line(&format!(
        "link {} created (client_id {cid}), valid {} s",
        short(&id),
        app.settings.link_ttl_seconds
    ));
    api(
        StatusCode::CREATED,
        json!({
            "id": id,
            "url": app.link_url(&id),
            "expires_at": expires,
            "callback_url": callback,
        }),
    )
}

/// The retrieval secret from `Authorization: Bearer …`.
fn bearer(headers: &HeaderMap) -> Option<Zeroizing<Vec<u8>>> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let t = v.strip_prefix("Bearer ")?.trim();
    if t.is_empty() || t.len() > 200 {
        return None;
    }
    Some(Zeroizing::new(t.as_bytes().to_vec()))
}

fn not_found() -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such link for this secret",
    )
}

async fn poll(State(app): State<Arc<App>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Some(secret) = bearer(&headers) else {
        return not_found();
    };
    let now = app.clock.now();
    let mut links = app.lock();
    let Some(link) = links.map.get_mut(&id) else {
        return not_found();
    };
    if !link.verify(&secret) {
        drop(links);
        app.log.line(&format!(
            "link {}: retrieval refused (wrong secret)",
            short(&id)
        ));
        return not_found();
    }
    if link.settle(now) {
        app.log.line(&format!("link {} expired", short(&id)));
    }
    match &link.outcome {
        Outcome::Pending => api(
            StatusCode::OK,
            json!({"status": "pending", "expires_at": link.expires}),
        ),
        Outcome::Failed {
            reason,
            description,
        } => api(
            StatusCode::OK,
            json!({"status": "failed", "reason": reason, "attempt": link.attempts, "error_description": description, "expires_at": link.expires}),
        ),
        Outcome::Done(_) => {
            let Outcome::Done(sealed) = std::mem::replace(&mut link.outcome, Outcome::Retrieved)
            else {
                unreachable!()
            };
            link.wipe(Outcome::Retrieved);
            drop(links);
            app.log.line(&format!(
                "link {}: tokens retrieved by the DLL and deleted here",
                short(&id)
            ));
            api(
                StatusCode::OK,
                json!({
                    "status": "done",
                    "ephemeral_public_key": crypto::b64(&sealed.ephemeral_public_key),
                    "nonce": crypto::b64(&sealed.nonce),
                    "ciphertext": crypto::b64(&sealed.ciphertext),
                }),
            )
        }
        Outcome::Expired => api(StatusCode::GONE, json!({"status": "expired"})),
        Outcome::Cancelled => api(StatusCode::GONE, json!({"status": "cancelled"})),
        Outcome::Retrieved => not_found(),
    }
}

async fn cancel(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(secret) = bearer(&headers) else {
        return not_found();
    };
    let mut links = app.lock();
    match links.map.get_mut(&id) {
        Some(l) if l.verify(&secret) => {
            if l.outcome.is_live() {
                l.wipe(Outcome::Cancelled);
            }
            drop(links);
            app.log
                .line(&format!("link {} cancelled by the DLL", short(&id)));
            StatusCode::NO_CONTENT.into_response()
        }
        _ => not_found(),
    }
}

/// Whether the link can start a browser attempt; otherwise the page to show.
fn live_or_page(app: &App, links: &mut Links, id: &str) -> Result<(), Box<Response>> {
    let now = app.clock.now();
    match links.map.get_mut(id) {
        None => Err(Box::new(html(StatusCode::NOT_FOUND, pages::gone(false)))),
        Some(l) => {
            l.settle(now);
            match l.outcome {
                Outcome::Pending | Outcome::Failed { .. } => Ok(()),
                Outcome::Expired => Err(Box::new(html(StatusCode::GONE, pages::gone(true)))),
                Outcome::Done(_) | Outcome::Retrieved => {
                    Err(Box::new(html(StatusCode::OK, pages::success())))
                }
                Outcome::Cancelled => Err(Box::new(html(StatusCode::GONE, pages::gone(false)))),
            }
        }
    }
}

async fn landing(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let mut links = app.lock();
    if let Err(page) = live_or_page(&app, &mut links, &id) {
        return *page;
    }
    let l = &links.map[&id];
    let left = l.expires - app.clock.now();
    let body = pages::landing(
        &format!("{}/start", app.link_url(&id)),
        l.cif.as_deref(),
        left,
    );
    let mut r = html(StatusCode::OK, body);
    let idp = app.settings.idp_url.origin().ascii_serialization();
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self' {idp}"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

/// A GET of the start address (pasted, or a scanner): back to the landing page.
async fn start_by_get(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let mut r = html(StatusCode::SEE_OTHER, String::new());
    if let Ok(v) = HeaderValue::from_str(&app.link_url(&id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Starts a browser attempt: a fresh `state`, then 303 to ANAF's authorize.
async fn start(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let mut links = app.lock();
    if let Err(page) = live_or_page(&app, &mut links, &id) {
        return *page;
    }
    let Some(l) = links.map.get_mut(&id) else {
        return html(StatusCode::NOT_FOUND, pages::gone(false));
    };
    let nonce = crypto::random_token(32);
    l.state = Some(nonce.clone());
    l.attempts = l.attempts.saturating_add(1);
    l.outcome = Outcome::Pending;
    let client_id = l.client_id.clone();
    drop(links);
    let mut url = crate::idp_endpoint(&app.settings.idp_url, "authorize");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", app.settings.callback_url.as_str())
        .append_pair("token_content_type", "jwt")
        .append_pair("state", &format!("{id}.{nonce}"));
    app.log
        .line(&format!("link {}: browser sent to ANAF", short(&id)));
    let mut r = html(StatusCode::SEE_OTHER, String::new());
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

async fn callback(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let state = q.get("state").map(String::as_str).unwrap_or("");
    let Some((id, nonce)) = state.split_once('.') else {
        app.log.line("callback refused: no or malformed state");
        return html(StatusCode::BAD_REQUEST, pages::gone(false));
    };
    let now = app.clock.now();
    // Check and consume the state in one step: a replayed state finds nothing.
    let (client_id, sealed_secret) = {
        let mut links = app.lock();
        let Some(l) = links.map.get_mut(id) else {
            app.log.line("callback refused: unknown link");
            return html(StatusCode::BAD_REQUEST, pages::gone(false));
        };
        if l.settle(now) || l.outcome.name() == "expired" {
            app.log.line(&format!(
                "link {}: callback after expiry refused",
                short(id)
            ));
            return html(StatusCode::GONE, pages::gone(true));
        }
        let matches = l
            .state
            .as_deref()
            .map(|s| {
                bool::from(subtle::ConstantTimeEq::ct_eq(
                    s.as_bytes(),
                    nonce.as_bytes(),
                ))
            })
            .unwrap_or(false);
        if !matches || !matches!(l.outcome, Outcome::Pending) {
            drop(links);
            app.log.line(&format!(
                "link {}: callback refused (state not current: replayed or stale)",
                short(id)
            ));
            return html(StatusCode::BAD_REQUEST, pages::gone(false));
        }
        l.state = None;
        if let Some(err) = q.get("error") {
            let reason = if err == "access_denied" {
                "access_denied"
            } else {
                "oauth"
            };
            let description = q
                .get("error_description")
                .map(|d| d.chars().take(300).collect::<String>())
                .unwrap_or_else(|| err.chars().take(100).collect());
            l.outcome = Outcome::Failed {
                reason: reason.to_string(),
                description: description.clone(),
            };
            drop(links);
            app.log
                .line(&format!("link {}: ANAF answered {reason}", short(id)));
            return html(
                StatusCode::OK,
                pages::failure(reason, Some(&description), Some(&app.link_url(id))),
            );
        }
        let Some(secret) = l.client_secret.clone() else {
            return html(StatusCode::GONE, pages::gone(false));
        };
        (l.client_id.clone(), secret)
    };
    let Some(code) = q.get("code").filter(|c| !c.is_empty()) else {
        fail(&app, id, "oauth", "no code in ANAF's answer");
        return html(
            StatusCode::BAD_REQUEST,
            pages::failure("oauth", None, Some(&app.link_url(id))),
        );
    };
    let Some(secret) = app
        .key
        .open(format!("client_secret:{id}").as_bytes(), &sealed_secret)
    else {
        fail(
            &app,
            id,
            "internal",
            "the client secret could not be opened",
        );
        return html(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::failure("internal", None, None),
        );
    };
    let secret = Zeroizing::new(String::from_utf8_lossy(&secret).into_owned());
    let result = exchange(&app, &client_id, &secret, code).await;
    drop(secret);
    match result {
        Ok(tokens) => {
            let mut links = app.lock();
            let Some(l) = links.map.get_mut(id) else {
                return html(StatusCode::GONE, pages::gone(false));
            };
            if l.settle(app.clock.now()) {
                return html(StatusCode::GONE, pages::gone(true));
            }
            match crypto::seal(&l.recipient, id, &tokens) {
                Some(sealed) => {
                    // The secret is no longer needed: wipe it, keep only the sealed tokens.
                    l.wipe(Outcome::Pending);
                    l.outcome = Outcome::Done(sealed);
                    drop(links);
                    app.log.line(&format!(
                        "link {}: token obtained and sealed for the DLL",
                        short(id)
                    ));
                    html(StatusCode::OK, pages::success())
                }
                None => {
                    l.wipe(Outcome::Pending);
                    l.outcome = Outcome::Failed {
                        reason: "internal".into(),
                        description: "the link's public key is not usable".into(),
                    };
                    html(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        pages::failure("internal", None, None),
                    )
                }
            }
        }
        Err((reason, description)) => {
            fail(&app, id, &reason, &description);
            html(
                StatusCode::OK,
                pages::failure(&reason, Some(&description), Some(&app.link_url(id))),
            )
        }
    }
}

fn form(s: &str) -> Zeroizing<String> {
    Zeroizing::new(url::form_urlencoded::byte_serialize(s.as_bytes()).collect())
}

fn fail(app: &App, id: &str, reason: &str, description: &str) {
    let mut links = app.lock();
    if let Some(l) = links.map.get_mut(id) {
        if matches!(l.outcome, Outcome::Pending) {
            l.outcome = Outcome::Failed {
                reason: reason.to_string(),
                description: description.to_string(),
            };
        }
    }
    drop(links);
    app.log
        .line(&format!("link {}: attempt failed ({reason})", short(id)));
}

/// The code exchange at ANAF's token endpoint (HTTP Basic, within the code's 60 seconds).
/// Returns the token answer's JSON bytes, wiped when dropped.
async fn exchange(
    app: &App,
    client_id: &str,
    secret: &str,
    code: &str,
) -> Result<Zeroizing<Vec<u8>>, (String, String)> {
    let url = crate::idp_endpoint(&app.settings.idp_url, "token");
    let resp = app
        .http
        .post(url)
        // RFC 6749 §2.3.1: both halves form-urlencoded before the Basic encoding.
        .basic_auth(form(client_id).as_str(), Some(form(secret).as_str()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", app.settings.callback_url.as_str()),
            ("token_content_type", "jwt"),
        ])
        .send()
        .await
        .map_err(|e| {
            let kind = if e.is_timeout() {
                "timeout"
            } else if e.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            ("network".to_string(), format!("token endpoint: {kind}"))
        })?;
    let status = resp.status();
    let body = Zeroizing::new(
        resp.bytes()
            .await
            .map_err(|_| {
                (
                    "network".to_string(),
                    "token endpoint: body not read".to_string(),
                )
            })?
            .to_vec(),
    );
    let v: Value = serde_json::from_slice(&body).map_err(|_| {
        (
            "oauth".to_string(),
            format!(
                "token endpoint answered HTTP {} without JSON",
                status.as_u16()
            ),
        )
    })?;
    if status.is_success()
        && v.get("access_token")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    {
        return Ok(body);
    }
    let err = v.get("error").and_then(Value::as_str).unwrap_or("");
    let desc: String = v
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    let reason = match err {
        "invalid_grant" => "code_expired",
        "invalid_client" => "invalid_client",
        "invalid_request" if desc.to_ascii_lowercase().contains("redirect") => "redirect_mismatch",
        _ => "oauth",
    };
    Err((
        reason.to_string(),
        format!("HTTP {} {err} {desc}", status.as_u16())
            .trim()
            .to_string(),
    ))
}

async fn test_clock(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let secs = q
        .get("advance_seconds")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    if secs < 0 {
        return api_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "advance_seconds must be positive",
        );
    }
    app.clock.advance(secs);
    app.log.line(&format!("test clock advanced by {secs} s"));
    api(StatusCode::OK, json!({"now": app.clock.now()}))
}
