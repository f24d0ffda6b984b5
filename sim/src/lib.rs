//! anaf-sim: a faithful ANAF simulator for tests and offline development.
//!
//! Three HTTPS hosts on 127.0.0.1, like ANAF's three: the identity provider
//! (logincert.anaf.ro), the OAuth API (api.anaf.ro) and the public services
//! (webservicesp.anaf.ro). See README.md for every endpoint and control.
//!
//! ```no_run
//! let sim = anaf_sim::Sim::start(anaf_sim::SimConfig::default()).unwrap();
//! let pair = sim.mint_tokens("14399840", "1A2B3C");
//! println!("{} {}", sim.api_url(), pair.access_token);
//! ```

#![allow(clippy::result_large_err)] // handlers return axum answers as errors

mod auth;
pub mod certs;
pub mod clock;
mod control;
pub mod documents;
mod efactura;
mod etransport;
mod faults;
mod idp;
mod jwt;
mod public;
mod quotas;
mod registry;
mod respond;
mod server;
mod state;
mod testoauth;
mod xmlinfo;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;

pub use certs::ClientCert;
pub use efactura::Outcome;
pub use jwt::Claims;
pub use quotas::Kind as QuotaKind;
pub use state::{Counters, Fault, TokenPair};

use state::State;

/// How to start a simulator. `Default` gives the values documented on each field.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The registered application ("sim-client-id").
    pub client_id: String,
    /// Its secret ("sim-client-secret").
    pub client_secret: String,
    /// Its callback, compared exactly ("https://localhost:9443/anaf/callback").
    pub redirect_uri: String,
    /// Access token lifetime (90 days, as ANAF).
    pub access_lifetime: Duration,
    /// Refresh token lifetime (365 days, as ANAF).
    pub refresh_lifetime: Duration,
    /// Companies known to the simulator; every certificate serial is enrolled in SPV for
    /// all of them unless `set_enrolled` says otherwise. Default: 14399840, 8000006,
    /// 8000000000 (valid control digits).
    pub cifs: Vec<String>,
    /// Where certificates (and the JWT key) are written; a temporary directory if None.
    pub state_dir: Option<PathBuf>,
    /// Fixed ports (0 = any free port).
    pub idp_port: u16,
    pub api_port: u16,
    pub public_port: u16,
    /// Requests per minute on the API and public hosts before 429 (ANAF: 1000).
    pub per_minute_limit: u32,
    /// Seconds an uploaded invoice stays "in prelucrare" before ok/nok.
    pub processing_secs: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            client_id: "sim-client-id".into(),
            client_secret: "sim-client-secret".into(),
            redirect_uri: "https://localhost:9443/anaf/callback".into(),
            access_lifetime: Duration::from_secs(90 * 24 * 3600),
            refresh_lifetime: Duration::from_secs(365 * 24 * 3600),
            cifs: vec!["14399840".into(), "8000006".into(), "8000000000".into()],
            state_dir: None,
            idp_port: 0,
            api_port: 0,
            public_port: 0,
            per_minute_limit: 1000,
            processing_secs: 2,
        }
    }
}

/// A running simulator. Stops (and closes its ports) on drop.
pub struct Sim {
    state: Arc<State>,
    idp: SocketAddr,
    api: SocketAddr,
    public: SocketAddr,
    dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn bind(port: u16) -> Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind(("127.0.0.1", port))
        .with_context(|| format!("binding 127.0.0.1:{port}"))?;
    l.set_nonblocking(true)?;
    Ok(l)
}

impl Sim {
    /// Starts the three hosts on their own thread and tokio runtime.
    pub fn start(cfg: SimConfig) -> Result<Sim> {
        let (dir, tmp) = match &cfg.state_dir {
            Some(d) => {
                std::fs::create_dir_all(d)?;
                (d.clone(), None)
            }
            None => {
                let t = tempfile::Builder::new().prefix("anaf-sim-").tempdir()?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        let pki = certs::Pki::open(&dir)?;
        let signer = jwt::Signer::open(cfg.state_dir.as_deref())?;
        let idp_tls = server::tls_config(&pki, true)?;
        let plain_tls = server::tls_config(&pki, false)?;
        let state = Arc::new(State::new(&cfg, pki, signer, dir.clone()));

        let l_idp = bind(cfg.idp_port)?;
        let l_api = bind(cfg.api_port)?;
        let l_pub = bind(cfg.public_port)?;
        let (idp, api, public) = (
            l_idp.local_addr()?,
            l_api.local_addr()?,
            l_pub.local_addr()?,
        );

        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<()>>();
        let st = state.clone();
        let thread = std::thread::Builder::new()
            .name("anaf-sim".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.into()));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listeners = (|| -> Result<_> {
                        Ok((
                            tokio::net::TcpListener::from_std(l_idp)?,
                            tokio::net::TcpListener::from_std(l_api)?,
                            tokio::net::TcpListener::from_std(l_pub)?,
                        ))
                    })();
                    let (li, la, lp) = match listeners {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    tokio::spawn(server::serve(li, idp_tls, idp_router(&st)));
                    tokio::spawn(server::serve(la, plain_tls.clone(), api_router(&st)));
                    tokio::spawn(server::serve(lp, plain_tls, public_router(&st)));
                    let _ = ready_tx.send(Ok(()));
                    let _ = rx.await;
                });
                rt.shutdown_timeout(Duration::from_millis(500));
            })?;
        ready_rx
            .recv()
            .context("simulator thread ended before starting")??;
        let sim = Sim {
            state,
            idp,
            api,
            public,
            dir,
            _tmp: tmp,
            shutdown: Some(tx),
            thread: Some(thread),
        };
        sim.state
            .set_urls(sim.idp_url(), sim.api_url(), sim.public_url());
        Ok(sim)
    }

    /// "https://127.0.0.1:PORT" of the identity provider.
    pub fn idp_url(&self) -> String {
        format!("https://{}", self.idp)
    }
    /// "https://127.0.0.1:PORT" of the OAuth API (e-Factura, e-Transport, TestOauth, /_sim).
    pub fn api_url(&self) -> String {
        format!("https://{}", self.api)
    }
    /// "https://127.0.0.1:PORT" of the public services (validare, transformare, signature).
    pub fn public_url(&self) -> String {
        format!("https://{}", self.public)
    }
    pub fn ca_pem_path(&self) -> PathBuf {
        self.state.pki.ca_pem_path()
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Issues a client certificate with this serial (hex; spaces and colons allowed).
    /// Panics on a serial that is not hex.
    pub fn client_cert(&self, serial_hex: &str) -> ClientCert {
        self.state
            .issue_client_cert(serial_hex)
            .expect("issuing a client certificate")
    }

    pub fn set_enrolled(&self, serial_hex: &str, cif: &str, enrolled: bool) {
        self.state.set_enrolled(serial_hex, cif, enrolled)
    }

    pub fn register_app(&self, client_id: &str, client_secret: &str, redirect_uri: &str) {
        self.state
            .register_app(client_id, client_secret, redirect_uri)
    }

    /// A token pair exactly as /token would give after a browser login with the
    /// certificate `serial`, for the default application. The serial becomes enrolled
    /// for `cif` unless `set_enrolled` already decided about that pair.
    pub fn mint_tokens(&self, cif: &str, serial: &str) -> TokenPair {
        self.state.mint(cif, serial, None).expect("minting tokens")
    }

    /// Lifetimes of the tokens issued from now on.
    pub fn set_lifetimes(&self, access: Duration, refresh: Duration) {
        let mut g = self.state.lock();
        g.access_lifetime = access;
        g.refresh_lifetime = refresh;
    }

    pub fn advance_clock(&self, d: Duration) {
        self.state.clock.advance(d)
    }

    /// Sets the simulator's "now" (Unix milliseconds), backwards too.
    pub fn set_clock_ms(&self, ms: i64) {
        self.state.clock.set_ms(ms)
    }

    /// The simulator's "now" in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.state.clock.now_ms()
    }

    pub fn counters(&self) -> Counters {
        self.state.lock().counters.clone()
    }

    /// The fault for the next `times` requests on the API and public hosts.
    pub fn inject(&self, fault: Fault, times: u32) {
        self.state.inject(None, fault, times)
    }

    /// The fault for the next `times` requests (any host) whose path starts with `prefix`.
    pub fn inject_on(&self, path_prefix: &str, fault: Fault, times: u32) {
        self.state
            .inject(Some(path_prefix.to_string()), fault, times)
    }

    pub fn clear_faults(&self) {
        self.state.lock().faults.clear()
    }

    /// /revoke answers 302 to a login page, as the live service was seen doing.
    pub fn set_revoke_login_wall(&self, on: bool) {
        self.state.lock().login_wall = on;
    }

    /// A CIF the certificate is not enrolled for gets a bare HTTP 403 instead of the
    /// services' documented 200 answer "Nu aveti drept in SPV pentru CIF=…".
    pub fn set_foreign_cif_403(&self, on: bool) {
        self.state.lock().foreign_cif_403 = on;
    }

    pub fn set_per_minute_limit(&self, n: u32) {
        self.state.lock().per_minute_limit = n;
    }

    pub fn reset_quotas(&self) {
        self.state.reset_quotas()
    }

    /// Adds `n` already processed invoices from `seller` to `buyer` (both become known
    /// CIFs) on `env` ("prod"/"test"), one minute apart going back from now: what a busy
    /// company's lists look like, without n uploads. Returns their id_incarcare.
    pub fn seed_invoices(&self, env: &str, seller: &str, buyer: &str, n: usize) -> Vec<u64> {
        self.state.seed_invoices(env, seller, buyer, n)
    }

    /// Messages per page of the paginated list (ANAF's is 500): a test of paging with
    /// fewer messages.
    pub fn set_page_size(&self, n: usize) {
        self.state.lock().page_size = n;
    }

    /// Whether the registry of VAT payers knows `cif` (all do unless told otherwise).
    pub fn set_registered(&self, cif: &str, known: bool) {
        let mut g = self.state.lock();
        if known {
            g.registry.unknown.remove(cif);
        } else {
            g.registry.unknown.insert(cif.to_string());
        }
    }

    /// Another machine of the firm asks the registry in the same second as the next
    /// request of ours: that request is refused with the registry's 429.
    pub fn registry_called_elsewhere(&self) {
        self.state.lock().registry.refuse_next = 1;
    }

    /// An inbox of realistic size for `cif` over the last `days` days (see
    /// `State::seed_inbox`); the ids of its received invoices' uploads.
    pub fn seed_inbox(&self, env: &str, cif: &str, n: usize, days: i64) -> Vec<u64> {
        self.state.seed_inbox(env, cif, n, days)
    }

    /// Lowers (or raises) a daily quota, so tests can reach it quickly.
    pub fn set_quota_limit(&self, kind: QuotaKind, limit: u32) {
        self.state.lock().quotas.limits.insert(kind, limit);
    }

    /// The outcome of the next e-Factura upload(s), in order, whatever their content.
    pub fn force_next_outcome(&self, outcome: Outcome) {
        self.state.lock().efactura.forced.push_back(outcome);
    }

    /// The next `times` e-Factura uploads, validations or PDF conversions answer ANAF's
    /// "A aparut o eroare tehnica. Cod: NNN" in their own format.
    pub fn inject_technical_error(&self, times: u32) {
        self.state.lock().technical_errors += times;
    }

    /// How long uploads stay "in prelucrare" (simulator seconds).
    pub fn set_processing_secs(&self, secs: u64) {
        self.state.lock().processing_secs = secs;
    }

    /// CIFs in the executari silite registry (upload with executare=DA).
    pub fn set_executare_registered(&self, cif: &str, registered: bool) {
        let mut g = self.state.lock();
        if registered {
            g.executare_registry.insert(cif.to_string());
        } else {
            g.executare_registry.remove(cif);
        }
    }

    /// The same JSON as the binary's start line and GET /_sim/info.
    pub fn info_json(&self) -> serde_json::Value {
        control::info_json(&self.state)
    }

    /// Decodes a token the simulator issued (None if the signature does not verify).
    pub fn decode_token(&self, token: &str) -> Option<Claims> {
        self.state.signer.verify(token)
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn with_faults(router: Router, st: &Arc<State>, service_host: bool) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        faults::HostCtx {
            state: st.clone(),
            service_host,
        },
        faults::middleware,
    ))
}

fn idp_router(st: &Arc<State>) -> Router {
    with_faults(idp::router(st.clone()), st, false)
}

fn api_router(st: &Arc<State>) -> Router {
    let st2 = st.clone();
    let st3 = st.clone();
    let r = Router::new()
        .merge(testoauth::router(st.clone()))
        .merge(efactura::router(st.clone()))
        .merge(etransport::router(st.clone()))
        .fallback(move |uri: axum::http::Uri| {
            let st = st2.clone();
            async move { respond::not_found(st.clock.now_ms(), uri.path()) }
        })
        .method_not_allowed_fallback(move |uri: axum::http::Uri| {
            let st = st3.clone();
            async move { respond::method_not_allowed(st.clock.now_ms(), uri.path()) }
        });
    with_faults(r, st, true).merge(control::router(st.clone()))
}

fn public_router(st: &Arc<State>) -> Router {
    with_faults(public::router(st.clone()), st, true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sim_is_shareable_across_threads() {
        fn check<T: Send + Sync>() {}
        check::<super::Sim>();
        check::<super::Counters>();
    }
}
