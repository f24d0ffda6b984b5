//! Controls shared by the Rust API (`Sim`) and the HTTP control API under /_sim on the
//! API host (for tests written in C, Delphi, C#, or running under Wine).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::efactura::Outcome;
use crate::quotas::Kind as QuotaKind;

use crate::certs::{normalize_serial, ClientCert};
use crate::state::{App, Fault, FaultRule, State, TokenPair};

impl State {
    pub fn set_urls(&self, idp: String, api: String, public: String) {
        self.lock().urls = [idp, api, public];
    }

    pub fn issue_client_cert(&self, serial_hex: &str) -> Result<ClientCert> {
        let serial = normalize_serial(serial_hex)?;
        self.pki
            .issue_client(&serial, &format!("SIM TEST {serial}"))
    }

    pub fn set_enrolled(&self, serial_hex: &str, cif: &str, enrolled: bool) {
        let serial = normalize_serial(serial_hex).unwrap_or_else(|_| serial_hex.to_string());
        // Only this serial: the CIF does not join the companies every serial is
        // enrolled for.
        self.lock()
            .enrolment
            .insert((serial, cif.to_string()), enrolled);
    }

    pub fn register_app(&self, client_id: &str, client_secret: &str, redirect_uri: &str) {
        self.lock().apps.insert(
            client_id.to_string(),
            App {
                client_id: client_id.to_string(),
                client_secret: client_secret.to_string(),
                redirect_uri: redirect_uri.to_string(),
            },
        );
    }

    /// Tokens as /token gives them, without the browser step.
    pub fn mint(&self, cif: &str, serial: &str, client_id: Option<&str>) -> Result<TokenPair> {
        let serial = normalize_serial(serial)?;
        let client_id = {
            let mut g = self.lock();
            // Enrolled for that CIF, unless a test decided otherwise.
            g.enrolment
                .entry((serial.clone(), cif.to_string()))
                .or_insert(true);
            match client_id {
                Some(c) => {
                    anyhow::ensure!(g.apps.contains_key(c), "unknown client_id {c}");
                    c.to_string()
                }
                None => self.default_client_id(&g),
            }
        };
        Ok(self.issue_pair(&serial, &format!("sim-{serial}"), &client_id))
    }

    fn default_client_id(&self, g: &crate::state::Inner) -> String {
        g.default_client_id.clone()
    }

    pub fn inject(&self, prefix: Option<String>, fault: Fault, times: u32) {
        if times == 0 {
            return;
        }
        self.lock().faults.push(FaultRule {
            prefix,
            fault,
            remaining: times,
        });
    }

    pub fn reset_quotas(&self) {
        self.lock().quotas.reset_counts();
    }
}

/// The HTTP control API, for test code that is not Rust. JSON in, JSON out; no
/// authentication (the simulator listens on loopback only).
pub fn router(st: Arc<State>) -> Router {
    Router::new()
        .route("/_sim/info", get(info))
        .route("/_sim/certs", post(certs))
        .route("/_sim/enrolment", post(enrolment))
        .route("/_sim/apps", post(apps))
        .route("/_sim/tokens", post(tokens))
        .route("/_sim/counters", get(counters))
        .route("/_sim/clock", get(clock_get).post(clock_set))
        .route("/_sim/lifetimes", post(lifetimes))
        .route(
            "/_sim/faults",
            post(faults_add).delete(faults_clear).get(faults_list),
        )
        .route("/_sim/switches", post(switches))
        .route("/_sim/quotas", post(quotas))
        .route("/_sim/quotas/reset", post(quotas_reset))
        .route("/_sim/efactura/next-outcome", post(next_outcome))
        .route("/_sim/efactura/inbox", post(inbox))
        .with_state(st)
}

type S = AxState<Arc<State>>;

fn ok_json(v: serde_json::Value) -> Response {
    (StatusCode::OK, Json(v)).into_response()
}

fn bad(msg: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": msg.to_string() })),
    )
        .into_response()
}

/// Parses the body as JSON (an empty body is `{}`), answering 400 with the reason.
fn body<T: serde::de::DeserializeOwned>(b: &Bytes) -> Result<T, Response> {
    let b: &[u8] = if b.is_empty() { b"{}" } else { b };
    serde_json::from_slice(b).map_err(bad)
}

pub fn info_json(st: &State) -> serde_json::Value {
    let g = st.lock();
    let app = g.apps.get(&g.default_client_id).cloned();
    serde_json::json!({
        "idp_url": g.urls[0],
        "api_url": g.urls[1],
        "public_url": g.urls[2],
        "control_url": format!("{}/_sim", g.urls[1]),
        "ca_pem": st.pki.ca_pem_path(),
        "dir": st.dir,
        "client_id": app.as_ref().map(|a| a.client_id.clone()),
        "client_secret": app.as_ref().map(|a| a.client_secret.clone()),
        "redirect_uri": app.as_ref().map(|a| a.redirect_uri.clone()),
        "cifs": g.cifs.iter().collect::<Vec<_>>(),
        "now_ms": st.clock.now_ms(),
    })
}

async fn info(AxState(st): S) -> Response {
    ok_json(info_json(&st))
}

#[derive(Deserialize)]
struct CertReq {
    serial: String,
}

async fn certs(AxState(st): S, b: Bytes) -> Response {
    let r: CertReq = match body(&b) {
        Ok(r) => r,
        Err(e) => return e,
    };
    match st.issue_client_cert(&r.serial) {
        Ok(c) => ok_json(serde_json::to_value(c).unwrap()),
        Err(e) => bad(e),
    }
}

#[derive(Deserialize)]
struct EnrolReq {
    serial: String,
    cif: String,
    enrolled: bool,
}

async fn enrolment(AxState(st): S, b: Bytes) -> Response {
    let r: EnrolReq = match body(&b) {
        Ok(r) => r,
        Err(e) => return e,
    };
    st.set_enrolled(&r.serial, &r.cif, r.enrolled);
    ok_json(serde_json::json!({"serial": r.serial, "cif": r.cif, "enrolled": r.enrolled}))
}

async fn apps(AxState(st): S, b: Bytes) -> Response {
    let r: App = match body(&b) {
        Ok(r) => r,
        Err(e) => return e,
    };
    st.register_app(&r.client_id, &r.client_secret, &r.redirect_uri);
    ok_json(serde_json::to_value(r).unwrap())
}

#[derive(Deserialize)]
struct TokenReq {
    cif: String,
    serial: String,
    client_id: Option<String>,
}

async fn tokens(AxState(st): S, b: Bytes) -> Response {
    let r: TokenReq = match body(&b) {
        Ok(r) => r,
        Err(e) => return e,
    };
    match st.mint(&r.cif, &r.serial, r.client_id.as_deref()) {
        Ok(p) => ok_json(serde_json::to_value(p).unwrap()),
        Err(e) => bad(e),
    }
}

async fn counters(AxState(st): S) -> Response {
    ok_json(serde_json::to_value(st.lock().counters.clone()).unwrap())
}

fn clock_json(st: &State) -> Response {
    ok_json(serde_json::json!({
        "now_ms": st.clock.now_ms(),
        "offset_ms": st.clock.offset_ms(),
    }))
}

async fn clock_get(AxState(st): S) -> Response {
    clock_json(&st)
}

#[derive(Deserialize)]
struct ClockReq {
    advance_secs: Option<u64>,
    set_ms: Option<i64>,
}

async fn clock_set(AxState(st): S, b: Bytes) -> Response {
    let r: ClockReq = match body(&b) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if let Some(ms) = r.set_ms {
        st.clock.set_ms(ms);
    }
    if let Some(s) = r.advance_secs {
        st.clock.advance(Duration::from_secs(s));
    }
    clock_json(&st)
}

#[derive(Deserialize)]
struct LifetimesReq {
    access_secs: Option<u64>,
    refresh_secs: Option<u64>,
}

async fn lifetimes(AxState(st): S, b: Bytes) -> Response {
    let r: LifetimesReq = match body(&b) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut g = st.lock();
    if let Some(a) = r.access_secs {
        g.access_lifetime = Duration::from_secs(a);
    }
    if let Some(x) = r.refresh_secs {
        g.refresh_lifetime = Duration::from_secs(x);
    }
    ok_json(serde_json::json!({
        "access_secs": g.access_lifetime.as_secs(),
        "refresh_secs": g.refresh_lifetime.as_secs(),
    }))
}

#[derive(Deserialize)]
struct FaultReq {
    /// latency | status | reset | html_rejected | rate_limited | redirect | body | flood
    fault: String,
    ms: Option<u64>,
    status: Option<u16>,
    /// redirect: the Location.
    location: Option<String>,
    /// body, flood: the Content-Type (default application/octet-stream).
    content_type: Option<String>,
    /// body: the bytes, in base64.
    body_base64: Option<String>,
    /// flood: how many bytes.
    bytes: Option<u64>,
    times: Option<u32>,
    path_prefix: Option<String>,
}

async fn faults_add(AxState(st): S, b: Bytes) -> Response {
    let r: FaultReq = match body(&b) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let fault = match r.fault.as_str() {
        "latency" => Fault::Latency(Duration::from_millis(r.ms.unwrap_or(1000))),
        "status" => Fault::Status(r.status.unwrap_or(503)),
        "reset" => Fault::Reset,
        "html_rejected" => Fault::HtmlRejected,
        "rate_limited" => Fault::RateLimited,
        "redirect" => match r.location {
            Some(l) => Fault::Redirect(l),
            None => return bad("redirect needs \"location\""),
        },
        "body" => {
            use base64::Engine;
            let b64 = r.body_base64.unwrap_or_default();
            match base64::engine::general_purpose::STANDARD.decode(b64.trim()) {
                Ok(body) => Fault::Body {
                    content_type: content_type(r.content_type),
                    body,
                },
                Err(e) => return bad(format!("body_base64: {e}")),
            }
        }
        "flood" => Fault::Flood {
            content_type: content_type(r.content_type),
            bytes: r.bytes.unwrap_or(100 * 1024 * 1024),
        },
        other => return bad(format!("unknown fault {other:?}")),
    };
    st.inject(r.path_prefix, fault, r.times.unwrap_or(1));
    faults_list(AxState(st)).await
}

fn content_type(given: Option<String>) -> String {
    given.unwrap_or_else(|| "application/octet-stream".into())
}

async fn faults_clear(AxState(st): S) -> Response {
    st.lock().faults.clear();
    ok_json(serde_json::json!([]))
}

async fn faults_list(AxState(st): S) -> Response {
    ok_json(serde_json::to_value(st.lock().faults.clone()).unwrap())
}

#[derive(Deserialize)]
struct SwitchReq {
    revoke_login_wall: Option<bool>,
    foreign_cif_403: Option<bool>,
    per_minute_limit: Option<u32>,
    processing_secs: Option<u64>,
    technical_errors: Option<u32>,
}

async fn switches(AxState(st): S, b: Bytes) -> Response {
    let r: SwitchReq = match body(&b) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut g = st.lock();
    if let Some(v) = r.revoke_login_wall {
        g.login_wall = v;
    }
    if let Some(v) = r.foreign_cif_403 {
        g.foreign_cif_403 = v;
    }
    if let Some(v) = r.per_minute_limit {
        g.per_minute_limit = v;
    }
    if let Some(v) = r.processing_secs {
        g.processing_secs = v;
    }
    if let Some(v) = r.technical_errors {
        g.technical_errors = v;
    }
    ok_json(serde_json::json!({
        "revoke_login_wall": g.login_wall,
        "foreign_cif_403": g.foreign_cif_403,
        "per_minute_limit": g.per_minute_limit,
        "processing_secs": g.processing_secs,
        "technical_errors": g.technical_errors,
    }))
}

#[derive(Deserialize)]
struct QuotaReq {
    kind: QuotaKind,
    limit: u32,
}

async fn quotas(AxState(st): S, b: Bytes) -> Response {
    let r: QuotaReq = match body(&b) {
        Ok(r) => r,
        Err(e) => return e,
    };
    st.lock().quotas.limits.insert(r.kind, r.limit);
    ok_json(serde_json::json!({"kind": r.kind, "limit": r.limit}))
}

async fn quotas_reset(AxState(st): S) -> Response {
    st.reset_quotas();
    ok_json(serde_json::json!({"reset": true}))
}

#[derive(Deserialize)]
struct OutcomeReq {
    outcome: Outcome,
}

async fn next_outcome(AxState(st): S, b: Bytes) -> Response {
    let r: OutcomeReq = match body(&b) {
        Ok(r) => r,
        Err(e) => return e,
    };
    st.lock().efactura.forced.push_back(r.outcome);
    ok_json(serde_json::json!({"queued": r.outcome}))
}

#[derive(Deserialize)]
struct InboxReq {
    cif: String,
    #[serde(default = "test_env")]
    environment: String,
    count: usize,
    #[serde(default = "two_days")]
    days: i64,
}

fn test_env() -> String {
    "test".into()
}

fn two_days() -> i64 {
    2
}

/// Fills the company's inbox (`State::seed_inbox`): `count` received invoices over `days`,
/// with what it sent and had rejected.
async fn inbox(AxState(st): S, b: Bytes) -> Response {
    let r: InboxReq = match body(&b) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if !(1..=60).contains(&r.days) || r.count > 100_000 {
        return bad("days must be 1..60 and count at most 100000");
    }
    let ids = st.seed_inbox(&r.environment, &r.cif, r.count, r.days);
    ok_json(serde_json::json!({"seeded": ids.len()}))
}
