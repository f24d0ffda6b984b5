//! `anaf-relay`: the small server an ERP vendor hosts at its ANAF callback URL so that
//! anaf-bridge's browser link works (see README.md for the protocol and deployment).
//!
//! Used as a binary (`src/main.rs`) and, in tests, as a library started in-process
//! ([`Relay::start`]).

pub mod connections;
pub mod crypto;
pub mod db;
pub mod limits;
pub mod log;
pub mod pages;
pub mod server;
pub mod store;
pub mod vendor;

pub use crate::log::Log;
use connections::ConnLimits;
use db::{Db, DbTarget};
use limits::{Limits, RateConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use store::Clock;
use tokio::sync::watch;
use url::Url;
use vendor::Vendor;

/// ANAF's identity provider.
pub const DEFAULT_IDP_URL: &str = "https://logincert.anaf.ro";
/// ANAF's browser link lives 5 hours (as ERP users know it).
pub const DEFAULT_LINK_TTL: Duration = Duration::from_secs(5 * 3600);
/// How often expired links are wiped and old tombstones removed.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// How the relay is run.
#[derive(Clone)]
pub struct RelayConfig {
    /// Address to listen on, e.g. `127.0.0.1:8080` behind a reverse proxy.
    pub listen: SocketAddr,
    /// The callback URL registered in SPV for the application (must be exactly this).
    /// A port of 0 is replaced by the port actually bound (tests).
    pub callback_url: Url,
    /// Where links point (`{public_url}l/{id}`) and where the DLL's API lives
    /// (`{public_url}api/links`). Default: the callback URL's folder.
    pub public_url: Option<Url>,
    pub idp_url: Url,
    /// An extra trusted root for the IdP (the simulator's CA in tests).
    pub ca_file: Option<PathBuf>,
    /// TLS served by the relay itself (PEM files); without them it serves plain HTTP for a
    /// reverse proxy that terminates TLS.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub link_ttl: Duration,
    /// The applications (client_id → secret), the installations that may make links, the
    /// storage key (the configuration file, `vendor`).
    pub vendor: Arc<Vendor>,
    /// Where links are kept.
    pub db: DbTarget,
    /// Rows of every kind (live links and tombstones) at most, in all and per installation.
    pub max_links: i64,
    pub max_links_per_installation: i64,
    pub rates: RateConfig,
    pub conn: ConnLimits,
    /// Behind a proxy: the header holding the client's address (e.g. `X-Real-IP`), for the
    /// rate limits. Only for a relay that nobody reaches but through that proxy.
    pub client_ip_header: Option<String>,
    /// Enables `POST {public}_test/clock?advance_seconds=N`. Tests only.
    pub test_clock: bool,
    pub log: Log,
}

impl RelayConfig {
    pub fn new(callback_url: Url, vendor: Arc<Vendor>, db: DbTarget) -> RelayConfig {
        RelayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            callback_url,
            public_url: None,
            idp_url: Url::parse(DEFAULT_IDP_URL).expect("static url"),
            ca_file: None,
            tls_cert: None,
            tls_key: None,
            link_ttl: DEFAULT_LINK_TTL,
            vendor,
            db,
            max_links: 100_000,
            max_links_per_installation: 1_000,
            rates: RateConfig::default(),
            conn: ConnLimits::default(),
            client_ip_header: None,
            test_clock: false,
            log: Log::memory(),
        }
    }
}

/// The resolved settings the handlers use.
#[derive(Clone)]
pub struct Settings {
    pub callback_url: Url,
    /// Always ends with '/'.
    pub public_url: Url,
    pub idp_url: Url,
    pub link_ttl_seconds: i64,
    pub max_links: i64,
    pub max_links_per_installation: i64,
    pub client_ip_header: Option<axum::http::HeaderName>,
    pub test_clock: bool,
    pub tls: bool,
}

/// `{idp}/anaf-oauth2/v1/{name}`, keeping any path the IdP base has.
pub fn idp_endpoint(idp: &Url, name: &str) -> Url {
    let mut b = idp.clone();
    if !b.path().ends_with('/') {
        let p = format!("{}/", b.path());
        b.set_path(&p);
    }
    b.join(&format!("anaf-oauth2/v1/{name}")).unwrap_or(b)
}

fn folder_of(u: &Url) -> Url {
    let mut f = u.clone();
    f.set_query(None);
    f.set_fragment(None);
    let path = f.path().to_string();
    let cut = path.rfind('/').map(|i| &path[..=i]).unwrap_or("/");
    f.set_path(cut);
    f
}

fn with_port(u: &Url, port: u16) -> Url {
    let mut v = u.clone();
    if u.port() == Some(0) {
        let _ = v.set_port(Some(port));
    }
    v
}

fn tls_config(cert: &PathBuf, key: &PathBuf) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("tls_cert {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("tls_cert {}: no certificate", cert.display()));
    }
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("tls_key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls: {e}"))?;
    Ok(Arc::new(cfg))
}

fn http_client(cfg: &RelayConfig) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("anaf-relay/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(ca) = &cfg.ca_file {
        let pem = std::fs::read(ca).map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
        b = b.add_root_certificate(cert);
    }
    b.build().map_err(|e| format!("http client: {e}"))
}

/// A relay running on its own thread and runtime; stops when dropped.
pub struct Relay {
    app: Arc<server::App>,
    addr: SocketAddr,
    rt: tokio::runtime::Handle,
    shutdown: Option<watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A non-secret view of a link, for tests and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkView {
    pub status: &'static str,
    /// The sealed record (state, CIF, public key, tokens) is still kept.
    pub holds_record: bool,
    pub holds_tokens: bool,
}

impl Relay {
    /// Binds, opens the database, then serves on a thread of its own until dropped.
    pub fn start(cfg: RelayConfig) -> Result<Relay, String> {
        let std_listener = std::net::TcpListener::bind(cfg.listen)
            .map_err(|e| format!("listen {}: {e}", cfg.listen))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| e.to_string())?;
        let addr = std_listener.local_addr().map_err(|e| e.to_string())?;
        let tls = match (&cfg.tls_cert, &cfg.tls_key) {
            (Some(c), Some(k)) => Some(tls_config(c, k)?),
            (None, None) => None,
            _ => return Err("tls_cert and tls_key go together".into()),
        };
        let (tx, rx) = watch::channel(false);
        let conn = cfg.conn.clone();
        type Ready = Result<(Arc<server::App>, tokio::runtime::Handle), String>;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Ready>();
        // The runtime is made, used and dropped on the relay's own thread: the caller may
        // be inside a runtime of its own (tests).
        let thread = std::thread::Builder::new()
            .name("anaf-relay".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("anaf-relay-worker")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let started = rt.block_on(async {
                    let app = build_app(&cfg, addr.port()).await?;
                    let listener = tokio::net::TcpListener::from_std(std_listener)
                        .map_err(|e| e.to_string())?;
                    Ok::<_, String>((app, listener))
                });
                let (app, listener) = match started {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok((app.clone(), rt.handle().clone())));
                rt.block_on(serve(app, listener, tls, conn, rx));
                // Requests still running (a stuck exchange) must not hold the stop.
                rt.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(|e| e.to_string())?;
        let (app, handle) = match ready_rx.recv().map_err(|e| e.to_string()) {
            Ok(Ok(v)) => v,
            Ok(Err(e)) | Err(e) => {
                let _ = thread.join();
                return Err(e);
            }
        };
        Ok(Relay {
            app,
            addr,
            rt: handle,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base the DLL is configured with (`relay_url`).
    pub fn public_url(&self) -> Url {
        self.app.settings.public_url.clone()
    }

    /// The callback URL (port resolved) to register as the application's redirect_uri.
    pub fn callback_url(&self) -> Url {
        self.app.settings.callback_url.clone()
    }

    pub fn clock(&self) -> &Clock {
        &self.app.clock
    }

    pub fn log_text(&self) -> String {
        self.app.log.text()
    }

    /// Runs `f` on the relay's runtime from any thread (a test's own runtime included).
    fn run<T: Send>(&self, f: impl std::future::Future<Output = T> + Send) -> T {
        std::thread::scope(|s| s.spawn(|| self.rt.block_on(f)).join().expect("relay task"))
    }

    /// What the relay holds for a link, without revealing any of it.
    pub fn inspect(&self, id: &str) -> Option<LinkView> {
        let app = self.app.clone();
        let id = id.to_string();
        self.run(async move {
            let row = app.db.get(crypto::sha256(id.as_bytes())).await.ok()??;
            let now = app.clock.now();
            let live = store::Status::parse(&row.status)?.is_live();
            let (status, open) = if live && now >= row.expires_at {
                ("expired", None)
            } else {
                let opened = row.record.as_ref().and_then(|r| {
                    app.vendor
                        .storage_key
                        .open(&id, r)
                        .and_then(|p| serde_json::from_slice::<store::Record>(&p).ok())
                });
                (store::Status::parse(&row.status)?.name(), opened)
            };
            Some(LinkView {
                status,
                holds_record: open.is_some(),
                holds_tokens: open.is_some_and(|r| r.tokens.is_some()),
            })
        })
    }

    /// Rows in the database (live links and tombstones).
    pub fn link_count(&self) -> i64 {
        let app = self.app.clone();
        self.run(async move { app.db.count().await.unwrap_or(-1) })
    }

    /// Runs the expiry sweep now (it also runs every minute): (expired, removed).
    pub fn sweep(&self) -> (u64, u64) {
        let app = self.app.clone();
        self.run(async move { app.db.sweep(app.clock.now()).await.unwrap_or((0, 0)) })
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn build_app(cfg: &RelayConfig, bound_port: u16) -> Result<Arc<server::App>, String> {
    let callback_url = with_port(&cfg.callback_url, bound_port);
    if callback_url.scheme() != "https" && callback_url.scheme() != "http" {
        return Err("callback_url must be an https URL".into());
    }
    let mut public_url = cfg
        .public_url
        .as_ref()
        .map(|u| with_port(u, bound_port))
        .unwrap_or_else(|| folder_of(&callback_url));
    if !public_url.path().ends_with('/') {
        let p = format!("{}/", public_url.path());
        public_url.set_path(&p);
    }
    let ttl = cfg.link_ttl.as_secs() as i64;
    if ttl <= 0 {
        return Err("link_ttl must be positive".into());
    }
    let client_ip_header = match &cfg.client_ip_header {
        None => None,
        Some(h) => Some(
            axum::http::HeaderName::from_bytes(h.trim().as_bytes())
                .map_err(|_| format!("client_ip_header \"{h}\" is not a header name"))?,
        ),
    };
    let db = Db::open(&cfg.db, &cfg.vendor.storage_key.fingerprint())
        .await
        .map_err(|e| format!("database ({}): {e}", cfg.db.describe()))?;
    Ok(Arc::new(server::App {
        settings: Settings {
            callback_url,
            public_url,
            idp_url: cfg.idp_url.clone(),
            link_ttl_seconds: ttl,
            max_links: cfg.max_links.max(1),
            max_links_per_installation: cfg.max_links_per_installation.max(1),
            client_ip_header,
            test_clock: cfg.test_clock,
            tls: cfg.tls_cert.is_some(),
        },
        vendor: cfg.vendor.clone(),
        db,
        clock: Clock::default(),
        http: http_client(cfg)?,
        log: cfg.log.clone(),
        limits: Limits::new(&cfg.rates),
        limited: Default::default(),
    }))
}

/// Serves until `stop` changes; also sweeps expired links every minute.
async fn serve(
    app: Arc<server::App>,
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    conn: ConnLimits,
    stop: watch::Receiver<bool>,
) {
    let s = &app.settings;
    app.log.line(&format!(
        "listening on {} ({}); callback {}; links {}l/; {} installation(s), {} client(s)",
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default(),
        if s.tls { "https" } else { "http" },
        s.callback_url,
        s.public_url,
        app.vendor.installations(),
        app.vendor.clients(),
    ));
    let sweeper = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            loop {
                tick.tick().await;
                match app.db.sweep(app.clock.now()).await {
                    Ok((expired, removed)) if expired + removed > 0 => app.log.line(&format!(
                        "sweep: {expired} link(s) expired, {removed} forgotten"
                    )),
                    Ok(_) => {}
                    Err(e) => app.log.line(&format!("storage error (sweep): {e}")),
                }
                app.limits.tidy();
                let limited = app.limited.swap(0, Ordering::Relaxed);
                if limited > 0 {
                    app.log.line(&format!(
                        "{limited} request(s) refused by the rate limits in the last minute"
                    ));
                }
            }
        })
    };
    let router = server::router(app.clone());
    connections::serve(listener, router, tls, conn, stop).await;
    sweeper.abort();
}

/// Runs the relay in the current thread until Ctrl-C / SIGTERM (the binary).
pub fn run_forever(cfg: RelayConfig) -> Result<(), String> {
    let relay = Relay::start(cfg)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        Ok::<(), String>(())
    })?;
    let log = relay.app.log.clone();
    log.line("stopping");
    drop(relay);
    log.flush(Duration::from_secs(2));
    Ok(())
}
