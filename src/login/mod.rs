//! The interactive login window (WebView2 on Windows, WebKitGTK on Linux) and the
//! browser-link flow.
//!
//! `generate_token` is what `anaf_generate_token` runs: the flow in [`flow`] is shared,
//! the window itself is a platform shell (`win` on Windows, `gtk` on Linux) that only
//! opens the page, answers the certificate request, and reports how the window ended.

pub mod cert;
pub mod decide;
pub mod flow;
pub mod link;

#[cfg(all(target_os = "linux", feature = "login-gtk"))]
mod gtk;
#[cfg(all(target_os = "linux", feature = "login-gtk"))]
use gtk as shell;

#[cfg(windows)]
mod win;
#[cfg(windows)]
use win as shell;

use crate::client::Session;
use crate::error::Result;

/// The key under which a session's logins are registered for cancellation.
fn key(session: &Session) -> usize {
    session as *const Session as usize
}

/// Runs the interactive login for this session and stores the token: opens the window
/// over `parent` (an HWND on Windows, 0 for none), waits for ANAF's redirect, exchanges
/// the code. Blocks the calling thread; one window at a time per process.
#[cfg(any(windows, all(target_os = "linux", feature = "login-gtk")))]
pub fn generate_token(session: &Session, parent: usize) -> Result<()> {
    thread_local! {
        static IN_LOGIN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    // The host thread's messages are pumped while it waits: a message handler of the ERP
    // could call again from the same thread. Refused at once instead of waiting on itself.
    if IN_LOGIN.with(|f| f.replace(true)) {
        return Err(crate::error::Error::with(
            crate::status::ANAF_ERR_WINDOW,
            "(o fereastră de autentificare este deja deschisă din același fir al aplicației)",
            "(a login window is already open from this same application thread)",
        ));
    }
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            IN_LOGIN.with(|f| f.set(false));
            shell::after();
        }
    }
    let _leave = Leave;

    let reg = flow::Registration::new(key(session));
    let cfg = &session.config;
    cfg.oauth()?;
    let (state, url) = lifecycle::authorize(cfg)?;
    let req = flow::request(cfg, url.to_string(), parent, reg.flag.clone())?;
    // Checked before any window: the WebView2 runtime on Windows, GTK on Linux.
    shell::preflight(&req)?;
    let turn = flow::wait_turn(cfg.login_timeout, &reg.flag, &shell::idle)?;
    ::log::info!(target: "anaf::login", "login window for cif {} ({})", cfg.cif, cfg.idp_url);
    let end = shell::run(req)?;
    drop(turn);
    let code = flow::code_from_end(end, &state)?;
    // The exchange maps invalid_grant on a fresh code to ANAF_ERR_CODE_EXPIRED and a
    // redirect_uri complaint to ANAF_ERR_REDIRECT_MISMATCH.
    let serial = lifecycle::exchange(session, &code)?;
    ::log::info!(target: "anaf::login", "token stored for certificate serial {serial}");
    Ok(())
}

/// The two calls into the token-lifecycle code (client::oauth, Session::exchange_code).
#[cfg(any(windows, all(target_os = "linux", feature = "login-gtk")))]
mod lifecycle {
    use crate::client::Session;
    use crate::config::Config;
    use crate::error::Result;

    /// A fresh state and the authorize URL carrying it.
    pub fn authorize(cfg: &Config) -> Result<(String, url::Url)> {
        let state = crate::client::oauth::new_state();
        let url = crate::client::oauth::authorize_url(cfg, &state)?;
        Ok((state, url))
    }

    /// Exchanges the code, stores the token row; returns the certificate serial it carries.
    pub fn exchange(session: &Session, code: &str) -> Result<String> {
        let info = session.exchange_code(code)?;
        Ok(info.serial.unwrap_or_else(|| "?".into()))
    }
}

/// Builds without a login window (Linux without the `login-gtk` feature).
#[cfg(not(any(windows, all(target_os = "linux", feature = "login-gtk"))))]
pub fn generate_token(session: &Session, parent: usize) -> Result<()> {
    let _ = (session, parent, key);
    Err(crate::error::Error::with(
        crate::status::ANAF_ERR_NOT_IMPLEMENTED,
        "(această versiune nu are fereastră de autentificare)",
        "(this build has no login window)",
    ))
}

/// The engine this build's login window runs on, as diagnose reports it.
pub enum Engine {
    Found {
        name: &'static str,
        version: String,
    },
    /// The engine is not installed (the WebView2 runtime): why.
    Missing {
        detail: String,
    },
    /// This build has no login window (the browser link remains).
    NotBuilt,
}

/// The engine the login window would use: the WebView2 runtime, found as the window finds
/// it (`webview2_folder` first).
#[cfg(windows)]
pub fn engine(webview2_folder: Option<&std::path::Path>) -> Engine {
    match crate::platform::webview2_version(webview2_folder) {
        Ok(version) => Engine::Found {
            name: "Microsoft Edge WebView2 Runtime",
            version,
        },
        Err(detail) => Engine::Missing { detail },
    }
}

/// The engine the login window would use: the linked WebKitGTK.
#[cfg(all(target_os = "linux", feature = "login-gtk"))]
pub fn engine(_webview2_folder: Option<&std::path::Path>) -> Engine {
    Engine::Found {
        name: "WebKitGTK",
        version: gtk::webkit_version(),
    }
}

#[cfg(not(any(windows, all(target_os = "linux", feature = "login-gtk"))))]
pub fn engine(_webview2_folder: Option<&std::path::Path>) -> Engine {
    Engine::NotBuilt
}

/// Asks every login window of this session to close (from any thread); the waiting
/// `generate_token` returns `ANAF_ERR_CANCELLED`. Returns how many were open or waiting.
pub fn cancel(session: &Session) -> usize {
    flow::cancel(key(session))
}
