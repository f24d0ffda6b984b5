//! The HTTP side: the DLL's API, the browser's pages, the ANAF callback.

use crate::connections::Peer;
use crate::crypto;
use crate::db::{Caps, Db, DbError};
use crate::limits::Limits;
use crate::pages;
use crate::store::{Clock, Link, Record, Row, SealedTokens, Status, TOMBSTONE_SECONDS};
use crate::vendor::Vendor;
use crate::{Log, Settings};
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// Largest API request body accepted (a link request is a few hundred bytes).
const MAX_BODY: usize = 16 * 1024;
/// Tries of a read-change-write that another request keeps overtaking.
const WRITE_TRIES: usize = 5;

pub struct App {
    pub settings: Settings,
    pub vendor: Arc<Vendor>,
    pub db: Db,
    pub clock: Clock,
    pub http: reqwest::Client,
    pub log: Log,
    pub limits: Limits,
    /// Requests refused by a rate limit since the last sweep said so.
    pub limited: AtomicU64,
}

/// The storage failed; already logged.
pub struct Unavailable;

/// What a change to a link decided.
enum Change<T> {
    /// Write the link back, then answer this.
    Write(T),
    /// Answer this; nothing to write.
    Keep(T),
}

fn id_hash(id: &str) -> [u8; 32] {
    crypto::sha256(id.as_bytes())
}

/// Link ids are base64url of 16 random bytes; anything else is not looked up.
fn id_ok(id: &str) -> bool {
    (16..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl App {
    fn link_url(&self, id: &str) -> String {
        format!("{}l/{}", self.settings.public_url, id)
    }

    fn db_failed(&self, what: &str, e: DbError) -> Unavailable {
        self.log.line(&format!("storage error ({what}): {e}"));
        Unavailable
    }

    fn open_row(&self, id: &str, row: Row) -> Result<Link, Unavailable> {
        let Some(status) = Status::parse(&row.status) else {
            self.log.line(&format!(
                "link {}: unknown status in the database",
                short(id)
            ));
            return Err(Unavailable);
        };
        let record = match &row.record {
            None => None,
            Some(sealed) => {
                let opened = self
                    .vendor
                    .storage_key
                    .open(id, sealed)
                    .and_then(|plain| serde_json::from_slice::<Record>(&plain).ok());
                if opened.is_none() {
                    self.log.line(&format!(
                        "link {}: its record could not be opened (altered, or another storage key)",
                        short(id)
                    ));
                    return Err(Unavailable);
                }
                opened
            }
        };
        Ok(Link {
            id_hash: row.id_hash,
            installation: row.installation,
            status,
            verifier: row.verifier,
            created: row.created_at,
            expires: row.expires_at,
            version: row.version,
            record,
        })
    }

    fn seal_record(&self, id: &str, record: &Record) -> Vec<u8> {
        let plain = Zeroizing::new(serde_json::to_vec(record).expect("a record serialises"));
        self.vendor.storage_key.seal(id, &plain)
    }

    /// Reads the link (its expiry applied), lets `change` look at it or edit it, and
    /// writes it back unless another request wrote in between; then reads again.
    async fn modify<T>(
        &self,
        id: &str,
        mut change: impl FnMut(Option<&mut Link>, i64) -> Change<T>,
    ) -> Result<T, Unavailable> {
        for _ in 0..WRITE_TRIES {
            let now = self.clock.now();
            let mut link = if id_ok(id) {
                match self.db.get(id_hash(id)).await {
                    Ok(Some(row)) => Some(self.open_row(id, row)?),
                    Ok(None) => None,
                    Err(e) => return Err(self.db_failed("read", e)),
                }
            } else {
                None
            };
            let settled = link.as_mut().is_some_and(|l| l.settle(now));
            let (value, write) = match change(link.as_mut(), now) {
                Change::Write(v) => (v, true),
                Change::Keep(v) => (v, settled),
            };
            let Some(l) = link.filter(|_| write) else {
                return Ok(value);
            };
            let sealed = l.record.as_ref().map(|r| self.seal_record(id, r));
            match self
                .db
                .update(l.id_hash, l.version, l.status.name(), sealed)
                .await
            {
                Ok(true) => {
                    if settled {
                        self.log.line(&format!("link {} expired", short(id)));
                    }
                    return Ok(value);
                }
                Ok(false) => continue,
                Err(e) => return Err(self.db_failed("write", e)),
            }
        }
        self.log.line(&format!(
            "link {}: gave up a write overtaken {WRITE_TRIES} times",
            short(id)
        ));
        Err(Unavailable)
    }
}

/// A short, non-secret handle of a link id for the log.
fn short(id: &str) -> &str {
    let end = id.char_indices().nth(6).map(|(i, _)| i).unwrap_or(id.len());
    &id[..end]
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
        .route(app.settings.callback_url.path(), get(callback));
    if app.settings.test_clock {
        r = r.route(&format!("{p}_test/clock"), post(test_clock));
    }
    // The health check stays outside the rate limit (a balancer asks often).
    r.layer(axum::middleware::from_fn_with_state(
        app.clone(),
        rate_limit,
    ))
    .route(&format!("{p}healthz"), get(|| async { "ok" }))
    .with_state(app)
}

/// The client's address: the peer's, or (behind a proxy that sets it) the header's.
fn client_ip(app: &App, req: &Request) -> Option<IpAddr> {
    if let Some(name) = &app.settings.client_ip_header {
        // X-Forwarded-For may list several: the last is the one the proxy saw.
        let from_header = req
            .headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .next_back();
        if from_header.is_some() {
            return from_header;
        }
    }
    req.extensions().get::<Peer>().map(|p| p.0.ip())
}

fn too_many(wait: Duration) -> Response {
    let mut r = api_error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "too many requests; try again later",
    );
    let secs = wait.as_secs().max(1).to_string();
    if let Ok(v) = HeaderValue::from_str(&secs) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

async fn rate_limit(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if let Some(ip) = client_ip(&app, &req) {
        if let Err(wait) = app.limits.request(ip) {
            app.limited.fetch_add(1, Ordering::Relaxed);
            return too_many(wait);
        }
    }
    next.run(req).await
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
// A DLL that still sends its client_secret is refused: the secret belongs in the relay's
// own configuration, and the vendor should notice.
#[serde(deny_unknown_fields)]
struct CreateReq {
    client_id: String,
    #[serde(default)]
    redirect_uri: Option<String>,
    public_key: String,
    verifier: String,
    #[serde(default)]
    cif: Option<String>,
}

fn unavailable() -> Response {
    api_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the relay's storage is not available; try later",
    )
}

fn unavailable_page() -> Response {
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::failure("internal", None, None),
    )
}

async fn create(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    // The installation key first: nothing else is looked at for a stranger.
    let Some(inst) = bearer(&headers).and_then(|k| {
        std::str::from_utf8(&k)
            .ok()
            .and_then(|k| app.vendor.authenticate(k))
    }) else {
        app.log.line("link refused: no or unknown installation key");
        let mut r = api_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid installation key (the ERP's relay_key) is required",
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    };
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
            "the link request is not valid JSON of the expected shape (client_id, public_key, verifier, redirect_uri?, cif?; no client_secret)",
        );
    };
    let cid = req.client_id.trim();
    if cid.is_empty() || cid.len() > 256 {
        return api_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "client_id is required",
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
    if !inst.client_ids.iter().any(|c| c == cid) {
        app.log.line(&format!(
            "link refused: client_id {cid} is not allowed for installation {}",
            inst.id
        ));
        return api_error(
            StatusCode::FORBIDDEN,
            "client_not_allowed",
            "this client_id is not served by this relay for this installation",
        );
    }
    let cif = req
        .cif
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.len() <= 12 && c.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string);
    if !inst.cifs.is_empty() && !cif.as_ref().is_some_and(|c| inst.cifs.contains(c)) {
        app.log.line(&format!(
            "link refused: CIF not allowed for installation {}",
            inst.id
        ));
        return api_error(
            StatusCode::FORBIDDEN,
            "cif_not_allowed",
            "this CIF is not among the installation's companies",
        );
    }
    if let Err(wait) = app.limits.link(&inst.id) {
        app.limited.fetch_add(1, Ordering::Relaxed);
        return too_many(wait);
    }
    let now = app.clock.now();
    let expires = now + app.settings.link_ttl_seconds;
    let id = crypto::random_token(16);
    let record = Record {
        client_id: cid.to_string(),
        recipient: crypto::b64(&recipient),
        cif,
        state: None,
        attempts: 0,
        failure: None,
        tokens: None,
    };
    let row = Row {
        id_hash: id_hash(&id),
        installation: inst.id.clone(),
        status: Status::Pending.name().to_string(),
        verifier,
        created_at: now,
        expires_at: expires,
        version: 1,
        record: Some(app.seal_record(&id, &record)),
    };
    let caps = Caps {
        total: app.settings.max_links,
        per_installation: app.settings.max_links_per_installation,
    };
    match app.db.insert(&row, expires + TOMBSTONE_SECONDS, caps).await {
        Ok(true) => {}
        Ok(false) => {
            app.log.line(&format!(
                "link refused for installation {}: too many links (live and recent)",
                inst.id
            ));
            return api_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many links in progress; try later",
            );
        }
        Err(e) => {
            app.db_failed("insert", e);
            return unavailable();
        }
    }
    app.log.line(&format!(
        "link {} created (installation {}, client_id {cid}), valid {} s",
        short(&id),
        inst.id,
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
    let outcome = app
        .modify(&id, |link, _| {
            let Some(l) = link else {
                return Change::Keep((not_found(), None));
            };
            if !l.verify(&secret) {
                return Change::Keep((not_found(), Some("retrieval refused (wrong secret)")));
            }
            let expires = l.expires;
            let attempts = l.record.as_ref().map(|r| r.attempts).unwrap_or(0);
            match l.status {
                Status::Pending => Change::Keep((
                    api(
                        StatusCode::OK,
                        json!({"status": "pending", "expires_at": expires}),
                    ),
                    None,
                )),
                Status::Failed => {
                    let (reason, description) = l
                        .record
                        .as_ref()
                        .and_then(|r| r.failure.clone())
                        .unwrap_or_else(|| ("oauth".into(), String::new()));
                    Change::Keep((
                        api(
                            StatusCode::OK,
                            json!({"status": "failed", "reason": reason, "attempt": attempts, "error_description": description, "expires_at": expires}),
                        ),
                        None,
                    ))
                }
                Status::Done => {
                    let Some(t) = l.record.as_ref().and_then(|r| r.tokens.clone()) else {
                        return Change::Keep((not_found(), None));
                    };
                    l.wipe(Status::Retrieved);
                    Change::Write((
                        api(
                            StatusCode::OK,
                            json!({
                                "status": "done",
                                "ephemeral_public_key": t.ephemeral_public_key,
                                "nonce": t.nonce,
                                "ciphertext": t.ciphertext,
                            }),
                        ),
                        Some("tokens retrieved by the DLL and deleted here"),
                    ))
                }
                Status::Expired => Change::Keep((
                    api(StatusCode::GONE, json!({"status": "expired"})),
                    None,
                )),
                Status::Cancelled => Change::Keep((
                    api(StatusCode::GONE, json!({"status": "cancelled"})),
                    None,
                )),
                Status::Retrieved => Change::Keep((not_found(), None)),
            }
        })
        .await;
    match outcome {
        Ok((r, note)) => {
            if let Some(n) = note {
                app.log.line(&format!("link {}: {n}", short(&id)));
            }
            r
        }
        Err(Unavailable) => unavailable(),
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
    let outcome = app
        .modify(&id, |link, _| match link {
            Some(l) if l.verify(&secret) => {
                if l.status.is_live() {
                    l.wipe(Status::Cancelled);
                    Change::Write(true)
                } else {
                    Change::Keep(true)
                }
            }
            _ => Change::Keep(false),
        })
        .await;
    match outcome {
        Ok(true) => {
            app.log
                .line(&format!("link {} cancelled by the DLL", short(&id)));
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(false) => not_found(),
        Err(Unavailable) => unavailable(),
    }
}

/// The page for a link that cannot start a browser attempt (`None`: it can).
fn page_unless_live(link: Option<&Link>) -> Option<Response> {
    match link.map(|l| l.status) {
        None => Some(html(StatusCode::NOT_FOUND, pages::gone(false))),
        Some(Status::Pending | Status::Failed) => None,
        Some(Status::Expired) => Some(html(StatusCode::GONE, pages::gone(true))),
        Some(Status::Done | Status::Retrieved) => Some(html(StatusCode::OK, pages::success())),
        Some(Status::Cancelled) => Some(html(StatusCode::GONE, pages::gone(false))),
    }
}

async fn landing(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let start = format!("{}/start", app.link_url(&id));
    let host = app.settings.public_url.host_str().unwrap_or("").to_string();
    let outcome = app
        .modify(&id, |link, now| {
            if let Some(page) = page_unless_live(link.as_deref()) {
                return Change::Keep(page);
            }
            let Some(l) = link else {
                return Change::Keep(html(StatusCode::NOT_FOUND, pages::gone(false)));
            };
            let customer = app
                .vendor
                .installation(&l.installation)
                .map(|i| i.customer.as_str())
                .unwrap_or("?");
            let cif = l.record.as_ref().and_then(|r| r.cif.as_deref());
            let body = pages::landing(&start, cif, customer, &host, l.expires - now);
            let mut r = html(StatusCode::OK, body);
            let idp = app.settings.idp_url.origin().ascii_serialization();
            let csp = format!(
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self' {idp}"
            );
            if let Ok(v) = HeaderValue::from_str(&csp) {
                r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            Change::Keep(r)
        })
        .await;
    outcome.unwrap_or_else(|Unavailable| unavailable_page())
}

/// A GET of the start address (pasted, or a scanner): back to the landing page.
async fn start_by_get(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let mut r = html(StatusCode::SEE_OTHER, String::new());
    if id_ok(&id) {
        if let Ok(v) = HeaderValue::from_str(&app.link_url(&id)) {
            r.headers_mut().insert(header::LOCATION, v);
        }
    }
    r
}

/// Starts a browser attempt: a fresh `state`, then 303 to ANAF's authorize.
async fn start(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let outcome = app
        .modify(&id, |link, _| {
            if let Some(page) = page_unless_live(link.as_deref()) {
                return Change::Keep(Err(page));
            }
            let Some(r) = link.and_then(|l| {
                l.status = Status::Pending;
                l.record.as_mut()
            }) else {
                return Change::Keep(Err(html(StatusCode::NOT_FOUND, pages::gone(false))));
            };
            let nonce = crypto::random_token(32);
            r.state = Some(nonce.clone());
            r.attempts = r.attempts.saturating_add(1);
            r.failure = None;
            Change::Write(Ok((nonce, r.client_id.clone())))
        })
        .await;
    let (nonce, client_id) = match outcome {
        Ok(Ok(v)) => v,
        Ok(Err(page)) => return page,
        Err(Unavailable) => return unavailable_page(),
    };
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

/// Why a callback is refused before any exchange.
enum Refusal {
    Unknown,
    Expired,
    Stale,
    /// ANAF answered with an error: the reason and the page.
    Anaf(&'static str, Response),
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
    let retry = app.link_url(id);
    // Check and consume the state in one write: a replayed state finds nothing.
    let checked = app
        .modify(id, |link, _| {
            let Some(l) = link else {
                return Change::Keep(Err(Refusal::Unknown));
            };
            if l.status == Status::Expired {
                return Change::Keep(Err(Refusal::Expired));
            }
            let current = l.record.as_ref().and_then(|r| r.state.as_deref());
            let matches = current.is_some_and(|s| {
                bool::from(subtle::ConstantTimeEq::ct_eq(
                    s.as_bytes(),
                    nonce.as_bytes(),
                ))
            });
            if !matches || l.status != Status::Pending {
                return Change::Keep(Err(Refusal::Stale));
            }
            let Some(r) = l.record.as_mut() else {
                return Change::Keep(Err(Refusal::Stale));
            };
            r.state = None;
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
                let page = html(
                    StatusCode::OK,
                    pages::failure(reason, Some(&description), Some(&retry)),
                );
                r.failure = Some((reason.to_string(), description));
                l.status = Status::Failed;
                return Change::Write(Err(Refusal::Anaf(reason, page)));
            }
            Change::Write(Ok(r.client_id.clone()))
        })
        .await;
    let client_id = match checked {
        Ok(Ok(c)) => c,
        Ok(Err(Refusal::Unknown)) => {
            app.log.line("callback refused: unknown link");
            return html(StatusCode::BAD_REQUEST, pages::gone(false));
        }
        Ok(Err(Refusal::Expired)) => {
            app.log.line(&format!(
                "link {}: callback after expiry refused",
                short(id)
            ));
            return html(StatusCode::GONE, pages::gone(true));
        }
        Ok(Err(Refusal::Stale)) => {
            app.log.line(&format!(
                "link {}: callback refused (state not current: replayed or stale)",
                short(id)
            ));
            return html(StatusCode::BAD_REQUEST, pages::gone(false));
        }
        Ok(Err(Refusal::Anaf(reason, page))) => {
            app.log
                .line(&format!("link {}: ANAF answered {reason}", short(id)));
            return page;
        }
        Err(Unavailable) => return unavailable_page(),
    };
    let Some(code) = q.get("code").filter(|c| !c.is_empty()) else {
        fail(&app, id, "oauth", "no code in ANAF's answer").await;
        return html(
            StatusCode::BAD_REQUEST,
            pages::failure("oauth", None, Some(&retry)),
        );
    };
    let Some(secret) = app.vendor.client_secret(&client_id) else {
        fail(
            &app,
            id,
            "internal",
            "the relay's configuration has no secret for this client_id",
        )
        .await;
        return html(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::failure("internal", None, None),
        );
    };
    let result = exchange(&app, &client_id, secret, code).await;
    match result {
        Ok(tokens) => {
            let stored = app
                .modify(id, |link, _| {
                    let Some(l) = link else {
                        return Change::Keep(html(StatusCode::GONE, pages::gone(false)));
                    };
                    if l.status == Status::Expired {
                        return Change::Keep(html(StatusCode::GONE, pages::gone(true)));
                    }
                    if !l.status.is_live() {
                        return Change::Keep(html(StatusCode::GONE, pages::gone(false)));
                    }
                    let Some(r) = l.record.as_mut() else {
                        return Change::Keep(html(StatusCode::GONE, pages::gone(false)));
                    };
                    let sealed =
                        crypto::b64_32(&r.recipient).and_then(|k| crypto::seal(&k, id, &tokens));
                    match sealed {
                        Some(s) => {
                            r.tokens = Some(SealedTokens {
                                ephemeral_public_key: crypto::b64(&s.ephemeral_public_key),
                                nonce: crypto::b64(&s.nonce),
                                ciphertext: crypto::b64(&s.ciphertext),
                            });
                            r.state = None;
                            r.failure = None;
                            l.status = Status::Done;
                            Change::Write(html(StatusCode::OK, pages::success()))
                        }
                        None => {
                            r.failure = Some((
                                "internal".into(),
                                "the link's public key is not usable".into(),
                            ));
                            l.status = Status::Failed;
                            Change::Write(html(
                                StatusCode::INTERNAL_SERVER_ERROR,
                                pages::failure("internal", None, None),
                            ))
                        }
                    }
                })
                .await;
            match stored {
                Ok(page) => {
                    if page.status() == StatusCode::OK {
                        app.log.line(&format!(
                            "link {}: token obtained and sealed for the DLL",
                            short(id)
                        ));
                    }
                    page
                }
                Err(Unavailable) => unavailable_page(),
            }
        }
        Err((reason, description)) => {
            fail(&app, id, &reason, &description).await;
            html(
                StatusCode::OK,
                pages::failure(&reason, Some(&description), Some(&retry)),
            )
        }
    }
}

/// Records a failed attempt (unless something newer happened to the link meanwhile).
async fn fail(app: &App, id: &str, reason: &str, description: &str) {
    let _ = app
        .modify(id, |link, _| match link {
            Some(l) if l.status == Status::Pending => match l.record.as_mut() {
                Some(r) => {
                    r.failure = Some((reason.to_string(), description.to_string()));
                    l.status = Status::Failed;
                    Change::Write(())
                }
                None => Change::Keep(()),
            },
            _ => Change::Keep(()),
        })
        .await;
    app.log
        .line(&format!("link {}: attempt failed ({reason})", short(id)));
}

fn form(s: &str) -> Zeroizing<String> {
    Zeroizing::new(url::form_urlencoded::byte_serialize(s.as_bytes()).collect())
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
