//! The login flow shared by both window shells: the authorize URL with its state, the
//! recognition of the navigation to the configured redirect_uri (caught inside the web
//! view, so nothing has to answer at the callback URL), where else the web view may go
//! (ANAF's identity provider only), the state check, ANAF's `error=`
//! answers, the error pages of the identity provider, cancellation, one login window at
//! a time per process, and the code exchange through the token-lifecycle code.

use crate::client::oauth::{self, Grant};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::status::*;
use once_cell::sync::Lazy;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// Everything a window shell needs to run one login; plain data, sent to the GUI thread.
#[derive(Clone, Debug)]
pub struct Request {
    /// The authorize URL, with `state`.
    pub url: String,
    /// The configured redirect_uri: a navigation to it ends the login.
    pub redirect: Url,
    /// The identity provider: the only origin the window may load, and the only host whose
    /// certificate the extra CA may vouch for.
    pub idp: Url,
    pub title: String,
    /// One line shown above the page, in the configured language.
    pub hint: String,
    pub lang: Lang,
    pub timeout: Duration,
    /// The configured serial, normalised.
    pub cert_serial: Option<String>,
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
    pub client_cert_password: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub webview2_folder: Option<PathBuf>,
    /// The host's window (an HWND on Windows), 0 for none.
    pub parent: usize,
    /// Set by `anaf_cancel_login` (or the host's own timeout): the window closes.
    pub cancel: Arc<AtomicBool>,
    /// Test hook: close the window as a user would, this long after it opened.
    pub test_close_after: Option<Duration>,
}

/// How a login window ended.
#[derive(Debug)]
pub enum End {
    /// The web view navigated to the redirect URI (this URL); the navigation was stopped.
    Redirect { url: String, open_to_code: Duration },
    /// The user closed the window.
    Closed,
    /// `anaf_cancel_login` was called.
    Cancelled,
    /// The login timeout passed with the window open.
    TimedOut,
    /// Something specific went wrong (certificate, TLS, an error page).
    Failed(Error),
}

/// Whether a navigation goes to the configured redirect URI: same scheme, host, port and
/// path (a trailing slash ignored); the query is the answer.
pub fn is_redirect(nav: &str, redirect: &Url) -> bool {
    let Ok(nav) = Url::parse(nav) else {
        return false;
    };
    nav.scheme().eq_ignore_ascii_case(redirect.scheme())
        && nav.host_str().map(str::to_ascii_lowercase)
            == redirect.host_str().map(str::to_ascii_lowercase)
        && nav.port_or_known_default() == redirect.port_or_known_default()
        && nav.path().trim_end_matches('/') == redirect.path().trim_end_matches('/')
}

/// What a window shell does with a navigation of its web view.
#[derive(Debug)]
pub enum Nav {
    /// A page of the identity provider: load it.
    Allow,
    /// The redirect URI: stop it here and read the answer from its URL.
    Redirect,
    /// Anywhere else: stop it and end the login with this error.
    Refuse(Error),
}

/// The one rule for where the login window may go, used by both shells for every
/// navigation (redirects included): the identity provider's origin (scheme, host and port
/// of `idp_url` — ANAF's login stays on logincert.anaf.ro, its error pages and the F5
/// login wall included), the redirect URI (caught, never loaded), and `about:blank`
/// (no network). The window has no other business: a page that leads elsewhere, by a
/// redirect or by a link the user clicked, ends the login with the host named, rather
/// than being blocked silently, which would leave a stuck window until the timeout and
/// nothing for support to go on.
pub fn navigation(nav: &str, idp: &Url, redirect: &Url) -> Nav {
    if is_redirect(nav, redirect) {
        return Nav::Redirect;
    }
    match Url::parse(nav) {
        Ok(u) if u.as_str() == "about:blank" => Nav::Allow,
        Ok(u) if u.origin().is_tuple() && u.origin() == idp.origin() => Nav::Allow,
        Ok(u) => Nav::Refuse(left_login(&where_to(&u), idp)),
        Err(_) => Nav::Refuse(left_login("?", idp)),
    }
}

/// Where a refused navigation went, without its path and query (they may carry secrets):
/// the origin, or the scheme of a URL that has none (`file:`, `data:`, `javascript:`).
fn where_to(u: &Url) -> String {
    if u.origin().is_tuple() {
        u.origin().ascii_serialization()
    } else {
        format!("{}:", u.scheme())
    }
}

fn left_login(target: &str, idp: &Url) -> Error {
    let idp = idp.origin().ascii_serialization();
    Error::with(
        ANAF_ERR_BAD_RESPONSE,
        format!("Pagina de autentificare a încercat să deschidă {target}, care nu este serverul de autentificare ANAF ({idp}) și nici redirect_uri; autentificarea a fost oprită."),
        format!("The login page tried to open {target}, which is neither ANAF's identity provider ({idp}) nor the redirect_uri; the login was stopped."),
    )
}

/// Reads ANAF's answer from the redirect: the code, or the error it carries.
pub fn code_from_redirect(nav: &str, expected_state: &str) -> Result<String> {
    let url = Url::parse(nav)
        .map_err(|e| Error::verbatim(ANAF_ERR_BAD_RESPONSE, format!("{nav}: {e}")))?;
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    if let Some(err) = q.get("error") {
        return Err(oauth_error(
            err,
            q.get("error_description").map(String::as_str),
        ));
    }
    // The state ties the answer to this login: every authorize URL carries one and ANAF
    // sends it back, so an answer without it was not made for this window.
    match q.get("state") {
        Some(s) if s == expected_state => {}
        Some(_) => {
            return Err(Error::with(
                ANAF_ERR_STATE_MISMATCH,
                "(state diferit în răspuns)",
                "(different state in the answer)",
            ))
        }
        None => {
            return Err(Error::with(
                ANAF_ERR_STATE_MISMATCH,
                "(răspunsul nu conține state-ul cererii)",
                "(the answer carries no state of the request)",
            ))
        }
    }
    match q.get("code") {
        Some(c) if !c.is_empty() => Ok(c.clone()),
        _ => Err(Error::with(
            ANAF_ERR_BAD_RESPONSE,
            "Redirecționarea ANAF nu conține codul de autorizare.",
            "ANAF's redirect carries no authorization code.",
        )),
    }
}

/// The error of an OAuth error name from the authorize step (its redirect or its error
/// page): the step that issues a code, so `invalid_grant` is read as for a code.
pub fn oauth_error(error: &str, description: Option<&str>) -> Error {
    let desc = description.unwrap_or("").trim();
    let quoted = if desc.is_empty() {
        format!("(ANAF: {error})")
    } else {
        format!("(ANAF: {error}: {desc})")
    };
    let status = oauth::error_status(error, Some(desc), Grant::Code);
    Error::verbatim(status, quoted)
}

/// Reads an error page of the identity provider (HTTP ≥ 400 on the authorize URL): OAuth
/// JSON when it is JSON, else the page's text, shortened.
pub fn error_page(http_status: u32, body: &str) -> Error {
    if let Ok(serde_json::Value::Object(m)) = serde_json::from_str::<serde_json::Value>(body.trim())
    {
        if let Some(e) = m.get("error").and_then(|v| v.as_str()) {
            return oauth_error(e, m.get("error_description").and_then(|v| v.as_str()));
        }
    }
    let text: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let short: String = text.chars().take(300).collect();
    let lower = short.to_ascii_lowercase();
    if lower.contains("redirect") && lower.contains("match") {
        return Error::verbatim(
            ANAF_ERR_REDIRECT_MISMATCH,
            format!("(HTTP {http_status}: {short})"),
        );
    }
    if lower.contains("access_denied") || lower.contains("access denied") {
        return Error::verbatim(
            ANAF_ERR_ACCESS_DENIED,
            format!("(HTTP {http_status}: {short})"),
        );
    }
    Error::verbatim(ANAF_ERR_OAUTH, format!("(HTTP {http_status}: {short})"))
}

/// A URL without its query (the state and client id are of no use in a message).
fn short(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

/// A TLS failure of the login page, with what the platform said.
pub fn tls_error(url: &str, what: &str) -> Error {
    let url = short(url);
    Error::with(
        ANAF_ERR_TLS,
        format!("{url}: {what}. Verificați data și ora calculatorului, proxy-ul sau antivirusul care inspectează HTTPS."),
        format!("{url}: {what}. Check the computer's date and time, the proxy, or an antivirus that inspects HTTPS."),
    )
}

/// A network failure of the login page.
pub fn network_error(url: &str, what: &str) -> Error {
    let url = short(url);
    Error::verbatim(ANAF_ERR_NETWORK, format!("({url}: {what})"))
}

/// The window's title and hint, in the configured language.
pub fn texts(lang: Lang, cif: &str) -> (String, String) {
    match lang {
        Lang::Ro => (
            format!("Autentificare ANAF cu semnătura electronică — CIF {cif}"),
            "Alegeți certificatul și introduceți PIN-ul stick-ului când vi se cere. Fereastra se închide singură.".into(),
        ),
        Lang::En => (
            format!("ANAF login with the qualified certificate — CIF {cif}"),
            "Choose the certificate and type the USB token's PIN when asked. The window closes by itself.".into(),
        ),
    }
}

/// Builds the request for one login from the configuration.
pub fn request(
    cfg: &Config,
    url: String,
    parent: usize,
    cancel: Arc<AtomicBool>,
) -> Result<Request> {
    let (_, _, redirect) = cfg.oauth()?;
    let redirect = Url::parse(redirect).map_err(|e| {
        Error::with(
            ANAF_ERR_INVALID_CONFIG,
            format!("Câmpul \"redirect_uri\": {e}"),
            format!("Field \"redirect_uri\": {e}"),
        )
    })?;
    let (title, hint) = texts(cfg.language, &cfg.cif);
    let test_close_after = std::env::var("ANAF_BRIDGE_TEST_CLOSE_WINDOW_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_millis);
    Ok(Request {
        url,
        redirect,
        idp: cfg.idp_url.clone(),
        title,
        hint,
        lang: cfg.language,
        timeout: cfg.login_timeout,
        cert_serial: cfg.cert_serial.clone(),
        client_cert_file: cfg.client_cert_file.clone(),
        client_key_file: cfg.client_key_file.clone(),
        client_cert_password: cfg.client_cert_password.clone(),
        ca_file: cfg.ca_file.clone(),
        webview2_folder: cfg.webview2_folder.clone(),
        parent,
        cancel,
        test_close_after,
    })
}

/// Turns how the window ended into the code, or the status the ERP sees.
pub fn code_from_end(end: End, state: &str) -> Result<String> {
    match end {
        End::Redirect { url, open_to_code } => {
            ::log::info!(
                target: "anaf::login",
                "login window: open→code {} ms",
                open_to_code.as_millis()
            );
            code_from_redirect(&url, state)
        }
        End::Closed => Err(Error::with(
            ANAF_ERR_CANCELLED,
            "(fereastra de autentificare a fost închisă)",
            "(the login window was closed)",
        )),
        End::Cancelled => Err(cancelled()),
        End::TimedOut => Err(Error::with(
            ANAF_ERR_TIMEOUT,
            "Fereastra de autentificare a stat deschisă prea mult (login_timeout_seconds).",
            "The login window stayed open too long (login_timeout_seconds).",
        )),
        End::Failed(e) => Err(e),
    }
}

/// Runs a window callback's body; a panic in it (a bug) must not unwind into the C code
/// calling it (GLib, WebView2 COM), which would abort the host process: it is logged and `default` returned.
pub fn guarded<R>(default: R, f: impl FnOnce() -> R) -> R {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            ::log::error!(target: "anaf::login", "internal error in a window callback (caught)");
            default
        }
    }
}

// ---- one login window at a time, and cancellation ----------------------------------

/// Logins in progress, by session address: `anaf_cancel_login` sets their flags.
static ACTIVE: Lazy<Mutex<HashMap<usize, Vec<Arc<AtomicBool>>>>> =
    Lazy::new(|| Mutex::new(HashMap::new()));

/// Registers a login of this session for cancellation; unregisters on drop.
pub struct Registration {
    key: usize,
    pub flag: Arc<AtomicBool>,
}

impl Registration {
    pub fn new(key: usize) -> Registration {
        let flag = Arc::new(AtomicBool::new(false));
        ACTIVE
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default()
            .push(flag.clone());
        Registration { key, flag }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut map = ACTIVE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = map.get_mut(&self.key) {
            v.retain(|f| !Arc::ptr_eq(f, &self.flag));
            if v.is_empty() {
                map.remove(&self.key);
            }
        }
    }
}

/// Cancels every login of the session with this key; returns how many there were.
pub fn cancel(key: usize) -> usize {
    let map = ACTIVE.lock().unwrap_or_else(|p| p.into_inner());
    match map.get(&key) {
        Some(v) => {
            for f in v {
                f.store(true, Ordering::SeqCst);
            }
            v.len()
        }
        None => 0,
    }
}

/// One login window at a time in the process: a second caller (another host thread)
/// waits its turn, can be cancelled while waiting, and gives up after its timeout.
static GATE: Lazy<(Mutex<bool>, Condvar)> = Lazy::new(|| (Mutex::new(false), Condvar::new()));

pub struct Turn(());

impl Drop for Turn {
    fn drop(&mut self) {
        let (lock, cv) = &*GATE;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = false;
        cv.notify_all();
    }
}

/// `idle` runs between short waits without the gate's lock held: on Windows it answers the
/// host thread's messages (the thread may own the window another login is disabling).
pub fn wait_turn(timeout: Duration, cancel: &AtomicBool, idle: &dyn Fn()) -> Result<Turn> {
    let (lock, cv) = &*GATE;
    let deadline = Instant::now() + timeout;
    loop {
        {
            let mut busy = lock.lock().unwrap_or_else(|p| p.into_inner());
            if !*busy {
                *busy = true;
                return Ok(Turn(()));
            }
            if cancel.load(Ordering::SeqCst) {
                return Err(cancelled());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::with(
                    ANAF_ERR_TIMEOUT,
                    "O altă fereastră de autentificare ANAF a rămas deschisă în acest program.",
                    "Another ANAF login window stayed open in this program.",
                ));
            }
            let step = (deadline - now).min(Duration::from_millis(30));
            drop(
                cv.wait_timeout(busy, step)
                    .unwrap_or_else(|p| p.into_inner()),
            );
        }
        idle();
    }
}

fn cancelled() -> Error {
    Error::with(
        ANAF_ERR_CANCELLED,
        "(autentificarea a fost anulată de aplicație)",
        "(the login was cancelled by the application)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redirect() -> Url {
        Url::parse("https://localhost:9443/anaf/callback").unwrap()
    }

    #[test]
    fn redirect_is_recognised_exactly() {
        let r = redirect();
        assert!(is_redirect(
            "https://localhost:9443/anaf/callback?code=1&state=s",
            &r
        ));
        assert!(is_redirect(
            "https://LOCALHOST:9443/anaf/callback/?code=1",
            &r
        ));
        assert!(!is_redirect(
            "https://localhost:9444/anaf/callback?code=1",
            &r
        ));
        assert!(!is_redirect(
            "http://localhost:9443/anaf/callback?code=1",
            &r
        ));
        assert!(!is_redirect(
            "https://localhost:9443/anaf/callbackx?code=1",
            &r
        ));
        assert!(!is_redirect("https://127.0.0.1:1/anaf-oauth2/v1/authorize?redirect_uri=https://localhost:9443/anaf/callback", &r));
        assert!(!is_redirect("not a url", &r));
    }

    #[test]
    fn navigation_stays_on_the_identity_provider() {
        let idp = Url::parse("https://logincert.anaf.ro").unwrap();
        let r = redirect();
        let allowed = |u: &str| matches!(navigation(u, &idp, &r), Nav::Allow);
        assert!(allowed(
            "https://logincert.anaf.ro/anaf-oauth2/v1/authorize?client_id=x&state=s"
        ));
        assert!(allowed("https://LOGINCERT.anaf.ro:443/my.policy"));
        assert!(allowed("about:blank"));
        assert!(matches!(
            navigation(
                "https://localhost:9443/anaf/callback?code=c&state=s",
                &idp,
                &r
            ),
            Nav::Redirect
        ));
        for (nav, named) in [
            ("https://www.anaf.ro/asistenta", "https://www.anaf.ro"),
            (
                "http://logincert.anaf.ro/anaf-oauth2/v1/authorize",
                "http://logincert.anaf.ro",
            ),
            (
                "https://logincert.anaf.ro:8443/x",
                "https://logincert.anaf.ro:8443",
            ),
            (
                "https://logincert.anaf.ro.example.com/",
                "https://logincert.anaf.ro.example.com",
            ),
            (
                "https://localhost:9443/other?code=c",
                "https://localhost:9443",
            ),
            ("file:///C:/Windows/win.ini", "file:"),
            ("data:text/html,<b>x</b>", "data:"),
            ("not a url", "?"),
        ] {
            match navigation(nav, &idp, &r) {
                Nav::Refuse(e) => {
                    assert_eq!(e.status, ANAF_ERR_BAD_RESPONSE, "{nav}");
                    let en = e.message(Lang::En);
                    assert!(
                        en.contains(&format!("tried to open {named},")),
                        "{nav}: {en}"
                    );
                    assert!(en.contains("https://logincert.anaf.ro"), "{en}");
                    assert!(!en.contains("code=c"), "no query in the message: {en}");
                    assert!(e.message(Lang::Ro).contains("a încercat să deschidă"));
                }
                other => panic!("{nav}: {other:?}"),
            }
        }
    }

    #[test]
    fn redirect_answers() {
        let base = "https://localhost:9443/anaf/callback";
        assert_eq!(
            code_from_redirect(&format!("{base}?code=abc&state=s1"), "s1").unwrap(),
            "abc"
        );
        let e = code_from_redirect(&format!("{base}?code=abc"), "s1").unwrap_err();
        assert_eq!(e.status, ANAF_ERR_STATE_MISMATCH, "no state: refused");
        assert!(e.message(Lang::Ro).contains("nu conține state"));
        assert!(e.message(Lang::En).contains("carries no state"));
        let e = code_from_redirect(&format!("{base}?code=abc&state=s2"), "s1").unwrap_err();
        assert_eq!(e.status, ANAF_ERR_STATE_MISMATCH);
        let e =
            code_from_redirect(&format!("{base}?error=access_denied&state=s1"), "s1").unwrap_err();
        assert_eq!(e.status, ANAF_ERR_ACCESS_DENIED);
        let e = code_from_redirect(&format!("{base}?state=s1"), "s1").unwrap_err();
        assert_eq!(e.status, ANAF_ERR_BAD_RESPONSE);
        let e = code_from_redirect(
            &format!("{base}?error=invalid_request&error_description=Redirect-URI%20x%20does%20not%20match"),
            "s1",
        )
        .unwrap_err();
        assert_eq!(e.status, ANAF_ERR_REDIRECT_MISMATCH);
    }

    #[test]
    fn error_pages() {
        let e = error_page(
            400,
            r#"{"error":"invalid_request","error_description":"Redirect-URI https://x does not match"}"#,
        );
        assert_eq!(e.status, ANAF_ERR_REDIRECT_MISMATCH);
        assert!(e.message(Lang::En).contains("does not match"));
        assert_eq!(
            error_page(401, r#"{"error":"invalid_client"}"#).status,
            ANAF_ERR_INVALID_CLIENT
        );
        assert_eq!(
            error_page(403, "<html><body>Access denied</body></html>").status,
            ANAF_ERR_ACCESS_DENIED
        );
        assert_eq!(error_page(500, "<html>oops</html>").status, ANAF_ERR_OAUTH);
    }

    #[test]
    fn ends_map_to_statuses() {
        assert_eq!(
            code_from_end(End::Closed, "s").unwrap_err().status,
            ANAF_ERR_CANCELLED
        );
        assert_eq!(
            code_from_end(End::Cancelled, "s").unwrap_err().status,
            ANAF_ERR_CANCELLED
        );
        assert_eq!(
            code_from_end(End::TimedOut, "s").unwrap_err().status,
            ANAF_ERR_TIMEOUT
        );
    }

    #[test]
    fn cancel_reaches_registered_logins_only() {
        let a = Registration::new(0xA1);
        let b = Registration::new(0xB2);
        assert_eq!(cancel(0xA1), 1);
        assert!(a.flag.load(Ordering::SeqCst));
        assert!(!b.flag.load(Ordering::SeqCst));
        drop(a);
        assert_eq!(cancel(0xA1), 0);
    }

    #[test]
    fn one_turn_at_a_time() {
        let no = AtomicBool::new(false);
        let idles = std::cell::Cell::new(0);
        let idle = || idles.set(idles.get() + 1);
        let t = wait_turn(Duration::from_secs(1), &no, &idle).unwrap();
        let e = wait_turn(Duration::from_millis(150), &no, &idle)
            .err()
            .unwrap();
        assert_eq!(e.status, ANAF_ERR_TIMEOUT);
        assert!(
            idles.get() >= 2,
            "the host's messages are answered while waiting"
        );
        let yes = AtomicBool::new(true);
        let e = wait_turn(Duration::from_secs(1), &yes, &idle)
            .err()
            .unwrap();
        assert_eq!(e.status, ANAF_ERR_CANCELLED);
        drop(t);
        drop(wait_turn(Duration::from_millis(150), &no, &idle).unwrap());
    }
}
