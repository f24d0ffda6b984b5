//! The HTTP machinery shared by every ANAF service: one tokio runtime per process and one
//! reqwest client per session (connection reuse, timeouts, the extra trusted CA).

use crate::config::Config;
use crate::error::{Error, Result};
use crate::status::{ANAF_ERR_FILE, ANAF_ERR_INVALID_CONFIG};
use once_cell::sync::Lazy;
use std::future::Future;
use tokio::runtime::Runtime;

static RUNTIME: Lazy<Runtime> = Lazy::new(|| {
    crate::platform::pin_module();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("anaf-bridge-io")
        .enable_all()
        .build()
        .expect("tokio runtime")
});

/// The process-wide runtime; host threads block on it, it never runs host code.
pub fn runtime() -> &'static Runtime {
    &RUNTIME
}

/// Runs a future to completion from a host thread.
pub fn block_on<F: Future>(f: F) -> F::Output {
    RUNTIME.block_on(f)
}

/// Builds the session's HTTP client: system roots (the Windows store on Windows), the
/// configured extra CA, the system proxy, the configured timeouts, no automatic redirects
/// (ANAF's redirects carry meaning: the OAuth code, the revoke login wall).
pub fn build_client(cfg: &Config) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("anaf-bridge/", env!("CARGO_PKG_VERSION")))
        .timeout(cfg.timeout)
        .connect_timeout(cfg.connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(std::time::Duration::from_secs(50));
    if let Some(path) = &cfg.ca_file {
        b = b.add_root_certificate(load_ca(path)?);
    }
    // reqwest reads HTTPS_PROXY & co. itself; the Windows Internet Options proxy needs this.
    b = crate::client::diagnose::apply_system_proxy(b);
    b.build().map_err(|e| {
        Error::with(
            ANAF_ERR_INVALID_CONFIG,
            format!("Clientul HTTP nu a putut fi creat: {e}"),
            format!("The HTTP client could not be built: {e}"),
        )
    })
}

fn load_ca(path: &std::path::Path) -> Result<reqwest::Certificate> {
    let pem = std::fs::read(path).map_err(|e| {
        Error::with(
            ANAF_ERR_FILE,
            format!("ca_file \"{}\": {e}", path.display()),
            format!("ca_file \"{}\": {e}", path.display()),
        )
    })?;
    reqwest::Certificate::from_pem(&pem).map_err(|e| {
        Error::with(
            ANAF_ERR_INVALID_CONFIG,
            format!(
                "ca_file \"{}\" nu este un certificat PEM: {e}",
                path.display()
            ),
            format!(
                "ca_file \"{}\" is not a PEM certificate: {e}",
                path.display()
            ),
        )
    })
}
