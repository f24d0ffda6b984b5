//! Everything the simulator remembers, behind one lock: registered applications,
//! SPV enrolment, authorization codes, refresh-token rotation, counters, faults,
//! and the e-Factura / e-Transport stores.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::certs::Pki;
use crate::clock::Clock;
use crate::jwt::{Claims, Signer, ISSUER};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct App {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
}

#[derive(Clone, Debug)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub serial: String,
    pub subject: String,
    pub issued_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshState {
    Active,
    Spent,
    Revoked,
}

/// A token pair exactly as /token answers it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub token_type: String,
}

/// What happened, for tests to assert on.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Counters {
    /// Successful authorization_code exchanges.
    pub token_code_grants: u64,
    /// Successful refresh_token exchanges.
    pub token_refresh_grants: u64,
    /// Refresh attempts refused (spent, revoked, expired or foreign refresh token).
    pub refresh_refused: u64,
    /// /token answers with an error of any kind.
    pub token_errors: u64,
    pub revokes: u64,
    /// /authorize answers with a code.
    pub authorize_codes: u64,
    /// /authorize answers with error=access_denied.
    pub authorize_denied: u64,
    /// Requests on the API and public hosts (not /_sim).
    pub requests: u64,
    /// Requests refused for a missing, bad or expired bearer token.
    pub unauthorized: u64,
    /// e-Factura uploads accepted, per CIF of the query.
    pub uploads: HashMap<String, u64>,
    /// e-Transport uploads accepted, per CIF.
    pub etransport_uploads: HashMap<String, u64>,
    /// Faults injected so far.
    pub faults_fired: u64,
    /// Answers 429 from the per-minute limit (not injected ones).
    pub rate_limited: u64,
    /// e-Factura ZIPs handed out by `descarcare`, per message id.
    pub downloads: HashMap<String, u64>,
    /// PDFs made by `transformare`.
    pub pdfs: u64,
    /// Requests to the registry of VAT payers, and those refused (over 100 CIFs, or within
    /// a second of the previous one).
    pub lookups: u64,
    pub lookups_refused: u64,
}

/// Fault injection for the next N matching requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Fault {
    /// Wait this long, then answer normally.
    Latency(Duration),
    /// Answer with this HTTP status (a small HTML body, like a gateway error page).
    Status(u16),
    /// Drop the TCP connection with a RST, no HTTP answer.
    Reset,
    /// HTTP 200 with the WAF's HTML "Request Rejected" page.
    HtmlRejected,
    /// HTTP 429 as the per-minute limit answers.
    RateLimited,
    /// HTTP 302 to this Location (a login page that leads elsewhere).
    Redirect(String),
    /// HTTP 200 with this body (a crafted answer: a ZIP bomb, a malformed document).
    Body { content_type: String, body: Vec<u8> },
    /// HTTP 200 with this many bytes of filler, chunked, without a Content-Length (an
    /// answer that never seems to end).
    Flood { content_type: String, bytes: u64 },
}

#[derive(Clone, Debug, Serialize)]
pub struct FaultRule {
    pub prefix: Option<String>,
    pub fault: Fault,
    pub remaining: u32,
}

pub struct Inner {
    pub apps: HashMap<String, App>,
    pub cifs: BTreeSet<String>,
    /// Explicit enrolment decisions (serial, cif) → enrolled; absent = enrolled for every
    /// known CIF.
    pub enrolment: HashMap<(String, String), bool>,
    pub codes: HashMap<String, CodeGrant>,
    pub refresh: HashMap<String, RefreshState>,
    pub revoked_access: HashSet<String>,
    pub access_lifetime: Duration,
    pub refresh_lifetime: Duration,
    pub code_lifetime: Duration,
    pub login_wall: bool,
    pub foreign_cif_403: bool,
    pub counters: Counters,
    pub faults: Vec<FaultRule>,
    pub per_minute_limit: u32,
    pub minute_window: (i64, u32),
    pub quotas: crate::quotas::Quotas,
    pub efactura: crate::efactura::Store,
    pub etransport: crate::etransport::Store,
    /// idp, api, public base URLs, for the control API.
    pub urls: [String; 3],
    pub default_client_id: String,
    pub processing_secs: u64,
    /// Messages per page of the paginated list (ANAF: 500; tests make it smaller).
    pub page_size: usize,
    /// CIFs in the "Registrul RO e-Factura executari silite" (upload executare=DA).
    pub executare_registry: BTreeSet<String>,
    /// The next N uploads / validations answer "A aparut o eroare tehnica".
    pub technical_errors: u32,
    /// The registry of VAT payers (the company lookup).
    pub registry: crate::registry::Registry,
}

pub struct State {
    pub clock: Clock,
    pub signer: Arc<Signer>,
    pub pki: Pki,
    pub dir: PathBuf,
    inner: Mutex<Inner>,
}

pub fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

impl State {
    pub fn new(cfg: &crate::SimConfig, pki: Pki, signer: Arc<Signer>, dir: PathBuf) -> State {
        let mut apps = HashMap::new();
        apps.insert(
            cfg.client_id.clone(),
            App {
                client_id: cfg.client_id.clone(),
                client_secret: cfg.client_secret.clone(),
                redirect_uri: cfg.redirect_uri.clone(),
            },
        );
        State {
            clock: Clock::default(),
            signer,
            pki,
            dir,
            inner: Mutex::new(Inner {
                apps,
                cifs: cfg.cifs.iter().cloned().collect(),
                enrolment: HashMap::new(),
                codes: HashMap::new(),
                refresh: HashMap::new(),
                revoked_access: HashSet::new(),
                access_lifetime: cfg.access_lifetime,
                refresh_lifetime: cfg.refresh_lifetime,
                code_lifetime: Duration::from_secs(60),
                login_wall: false,
                foreign_cif_403: false,
                counters: Counters::default(),
                faults: Vec::new(),
                per_minute_limit: cfg.per_minute_limit,
                minute_window: (0, 0),
                quotas: Default::default(),
                efactura: Default::default(),
                etransport: Default::default(),
                urls: Default::default(),
                default_client_id: cfg.client_id.clone(),
                processing_secs: cfg.processing_secs,
                page_size: 500,
                executare_registry: cfg.cifs.iter().cloned().collect(),
                technical_errors: 0,
                registry: Default::default(),
            }),
        }
    }

    /// Takes one pending "eroare tehnica" if any: its text, with a code.
    pub fn take_technical_error(&self) -> Option<String> {
        let mut g = self.lock();
        if g.technical_errors == 0 {
            return None;
        }
        g.technical_errors -= 1;
        Some(format!(
            "A aparut o eroare tehnica. Cod: {}",
            100 + rand::random::<u16>() % 900
        ))
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Issues an access + refresh pair for this certificate holder and application,
    /// recording the refresh token for rotation.
    pub fn issue_pair(&self, serial: &str, subject: &str, client_id: &str) -> TokenPair {
        let now = self.clock.now_secs();
        let mut g = self.lock();
        let access_life = g.access_lifetime.as_secs() as i64;
        let refresh_life = g.refresh_lifetime.as_secs() as i64;
        let mk = |use_: &str, life: i64| Claims {
            iss: ISSUER.to_string(),
            sub: subject.to_string(),
            serial: serial.to_string(),
            clientappid: client_id.to_string(),
            role: vec!["ROLE_EFACTURA".into(), "ROLE_ETRANSPORT".into()],
            scope: "openid".into(),
            iat: now,
            exp: now + life,
            jti: random_token(16),
            token_use: use_.to_string(),
        };
        let access = mk("access", access_life);
        let refresh = mk("refresh", refresh_life);
        g.refresh.insert(refresh.jti.clone(), RefreshState::Active);
        drop(g);
        TokenPair {
            access_token: self.signer.sign(&access),
            refresh_token: self.signer.sign(&refresh),
            expires_in: access_life.max(0) as u64,
            token_type: "Bearer".into(),
        }
    }
}

impl Inner {
    /// Is this certificate serial enrolled in SPV for this CIF?
    pub fn enrolled(&self, serial: &str, cif: &str) -> bool {
        match self.enrolment.get(&(serial.to_string(), cif.to_string())) {
            Some(v) => *v,
            None => self.cifs.contains(cif),
        }
    }

    /// Is the serial enrolled for at least one CIF (what /authorize checks)?
    pub fn enrolled_any(&self, serial: &str) -> bool {
        self.cifs.iter().any(|c| self.enrolled(serial, c))
            || self.enrolment.iter().any(|((s, _), v)| s == serial && *v)
    }
}
