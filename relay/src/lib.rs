//! `anaf-relay`: the small server an ERP vendor hosts at its ANAF callback URL so that
//! anaf-bridge's browser link works (see README.md for the protocol and deployment).
//!
//! Used as a binary (`src/main.rs`) and, in tests, as a library started in-process
//! ([`Relay::start`]).

pub mod crypto;
pub mod pages;
pub mod server;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::Clock;
use tokio::sync::oneshot;
use url::Url;

/// ANAF's identity provider.
pub const DEFAULT_IDP_URL: &str = "https://logincert.anaf.ro";
/// ANAF's browser link lives 5 hours (as ERP users know it).
pub const DEFAULT_LINK_TTL: Duration = Duration::from_secs(5 * 3600);

/// Where the relay's log lines go. Lines never carry a secret, a code or a token.
#[derive(Clone)]
pub enum Log {
    Stderr,
    /// Kept in memory (tests read it back to check that nothing secret was logged).
    Memory(Arc<Mutex<Vec<String>>>),
}

impl Log {
    pub fn memory() -> Log {
        Log::Memory(Arc::new(Mutex::new(Vec::new())))
    }

    pub fn line(&self, text: &str) {
        let line = format!(
            "{} anaf-relay: {text}",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        );
        match self {
            Log::Stderr => eprintln!("{line}"),
            Log::Memory(m) => m.lock().unwrap_or_else(|p| p.into_inner()).push(line),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Log::Stderr => String::new(),
            Log::Memory(m) => m.lock().unwrap_or_else(|p| p.into_inner()).join("\n"),
        }
    }
}

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
    /// When non-empty, only these client_ids may create links.
    pub allowed_client_ids: Vec<String>,
    pub max_links: usize,
    /// Enables `POST {public}_test/clock?advance_seconds=N`. Tests only.
    pub test_clock: bool,
    pub log: Log,
}

impl RelayConfig {
    pub fn new(callback_url: Url) -> RelayConfig {
        RelayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            callback_url,
            public_url: None,
            idp_url: Url::parse(DEFAULT_IDP_URL).expect("static url"),
            ca_file: None,
            tls_cert: None,
            tls_key: None,
            link_ttl: DEFAULT_LINK_TTL,
            allowed_client_ids: Vec::new(),
            max_links: 10_000,
            test_clock: false,
            log: Log::Stderr,
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
    pub allowed_client_ids: Vec<String>,
    pub max_links: usize,
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
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A non-secret view of a link, for tests and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkView {
    pub status: &'static str,
    pub holds_client_secret: bool,
    pub holds_tokens: bool,
}

impl Relay {
    /// Binds, then serves on a thread of its own until dropped.
    pub fn start(cfg: RelayConfig) -> Result<Relay, String> {
        let std_listener = std::net::TcpListener::bind(cfg.listen)
            .map_err(|e| format!("listen {}: {e}", cfg.listen))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| e.to_string())?;
        let addr = std_listener.local_addr().map_err(|e| e.to_string())?;
        let app = build_app(&cfg, addr.port())?;
        let tls = match (&cfg.tls_cert, &cfg.tls_key) {
            (Some(c), Some(k)) => Some(tls_config(c, k)?),
            (None, None) => None,
            _ => return Err("tls_cert and tls_key go together".into()),
        };
        let (tx, rx) = oneshot::channel();
        let app2 = app.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let thread = std::thread::Builder::new()
            .name("anaf-relay".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    serve(app2, listener, tls, async {
                        let _ = rx.await;
                    })
                    .await;
                });
            })
            .map_err(|e| e.to_string())?;
        ready_rx.recv().map_err(|e| e.to_string())??;
        Ok(Relay {
            app,
            addr,
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

    /// What the relay holds for a link, without revealing any of it.
    pub fn inspect(&self, id: &str) -> Option<LinkView> {
        let mut links = self.app.links.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.app.clock.now();
        let l = links.map.get_mut(id)?;
        l.settle(now);
        Some(LinkView {
            status: l.outcome.name(),
            holds_client_secret: l.client_secret.is_some(),
            holds_tokens: matches!(l.outcome, store::Outcome::Done(_)),
        })
    }

    /// Ids of the links the relay still knows (live or tombstone).
    pub fn link_ids(&self) -> Vec<String> {
        let links = self.app.links.lock().unwrap_or_else(|p| p.into_inner());
        links.map.keys().cloned().collect()
    }

    /// Runs the expiry sweep now (it also runs every minute).
    pub fn sweep(&self) -> (usize, usize) {
        let now = self.app.clock.now();
        self.app
            .links
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sweep(now)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn build_app(cfg: &RelayConfig, bound_port: u16) -> Result<Arc<server::App>, String> {
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
    Ok(Arc::new(server::App {
        settings: Settings {
            callback_url,
            public_url,
            idp_url: cfg.idp_url.clone(),
            link_ttl_seconds: ttl,
            allowed_client_ids: cfg.allowed_client_ids.clone(),
            max_links: cfg.max_links.max(1),
            test_clock: cfg.test_clock,
            tls: cfg.tls_cert.is_some(),
        },
        links: Mutex::new(store::Links::default()),
        key: crypto::ProcessKey::generate(),
        clock: Clock::default(),
        http: http_client(cfg)?,
        log: cfg.log.clone(),
    }))
}

/// Serves until `stop` completes; also sweeps expired links every minute.
async fn serve(
    app: Arc<server::App>,
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let s = &app.settings;
    app.log.line(&format!(
        "listening on {} ({}); callback {}; links {}l/",
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default(),
        if s.tls { "https" } else { "http" },
        s.callback_url,
        s.public_url
    ));
    let sweeper = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let now = app.clock.now();
                let (expired, removed) = app
                    .links
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .sweep(now);
                if expired + removed > 0 {
                    app.log.line(&format!(
                        "sweep: {expired} link(s) expired, {removed} forgotten"
                    ));
                }
            }
        })
    };
    let router = server::router(app.clone());
    match tls {
        None => {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(stop)
                .await;
        }
        Some(cfg) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
            tokio::pin!(stop);
            loop {
                let (tcp, _) = tokio::select! {
                    _ = &mut stop => break,
                    r = listener.accept() => match r {
                        Ok(c) => c,
                        Err(_) => continue,
                    },
                };
                let acceptor = acceptor.clone();
                let router = router.clone();
                tokio::spawn(async move {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(Duration::from_secs(15), acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let svc = hyper_util::service::TowerToHyperService::new(router);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
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
    relay.app.log.line("stopping");
    drop(relay);
    Ok(())
}
