//! Every decision the login window shells take, as plain functions of the event's fields,
//! compiled and tested on every platform. The shells (`win/` for WebView2, `gtk.rs` for
//! WebKitGTK) read the fields from their events, call these, and do what they answer:
//!
//! - which client-certificate request gets which certificate ([`certificate`]);
//! - which navigation is the redirect, and where else the window may go
//!   ([`navigation_starting`], over `flow::navigation`);
//! - which finished navigation means which status, which failures are not fatal, and when
//!   the identity provider's error page is read ([`navigation_completed`]);
//! - which window owns the dialog and how its enabled state comes back ([`owner`],
//!   [`OwnerState`]);
//! - where the window goes and how big it is ([`placement`]);
//! - which WebView2 user data folder ([`user_data_folder`]).
//!
//! The WebView2 facts these rely on are listed, with their references, in docs/login.md
//! ("What the Windows shell relies on").

use super::cert;
use super::flow::{self, Nav};
use crate::error::Error;
use crate::status::*;
use url::Url;

// ---- the identity provider's host ---------------------------------------------------

/// A host name as WebView2 reports it (ClientCertificateRequested's `Host`: ASCII lower
/// case, punycode, IPv6 without brackets) or as `url` writes it (IPv6 in brackets), made
/// comparable: lower case, no brackets, no trailing dot.
fn comparable_host(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Whether `host` is the identity provider's host (whatever the port).
pub fn is_idp_host(host: &str, idp: &Url) -> bool {
    match idp.host_str() {
        Some(h) if !host.trim().is_empty() => comparable_host(host) == comparable_host(h),
        _ => false,
    }
}

/// Whether `uri` is on the identity provider's host.
pub fn is_on_idp(uri: &str, idp: &Url) -> bool {
    Url::parse(uri)
        .ok()
        .and_then(|u| u.host_str().map(|h| is_idp_host(h, idp)))
        .unwrap_or(false)
}

// ---- the client certificate ---------------------------------------------------------

/// A server's request for a client certificate, as the web view reports it.
#[derive(Debug, Clone, Copy)]
pub struct CertRequest<'a> {
    /// The host that asked (WebView2: `Host`; WebKitGTK: the request's host).
    pub host: &'a str,
    /// The request comes from an HTTP proxy, not from the server itself (`IsProxy`).
    pub is_proxy: bool,
    /// The serials of the certificates offered (WebView2: `MutuallyTrustedCertificates`,
    /// the store's certificates the server's CAs accept; Linux: the configured file's).
    pub offered: &'a [String],
    /// The configured `cert_serial`.
    pub configured: Option<&'a str>,
    /// A certificate was already sent in this window (a later request of the same login).
    pub already_sent: bool,
}

/// What to answer a client-certificate request with.
#[derive(Debug)]
pub enum CertAnswer {
    /// Send the certificate at this index of the offered list.
    Use(usize),
    /// No serial configured and several certificates offered: the platform's own picker.
    Picker,
    /// Answer without a certificate: another host than the identity provider asked, and
    /// the qualified certificate (a person's name and CNP) is sent nowhere else.
    WithoutCertificate,
    /// A proxy asked: not the login's business; the platform's default handling (on
    /// WebView2 its own dialog, as in Edge), the same as without this DLL.
    PlatformDefault,
    /// Cancel the request and end the login with this error.
    Fail(Error),
}

/// The certificate rule. Only the identity provider's host (`IsProxy` false) gets the
/// configured certificate; there: the configured serial, or `ANAF_ERR_CERT_NOT_FOUND`
/// listing what was offered; without a serial the only certificate offered, else the
/// picker. Nothing offered and no serial configured ends the login at once with
/// `ANAF_ERR_ACCESS_DENIED` (what ANAF answers a login without a certificate, see
/// docs/login.md): left to the platform, WebView2 answers without a certificate, shows
/// nothing, and the outcome would depend on ANAF's page.
pub fn certificate(req: &CertRequest<'_>, idp: &Url) -> CertAnswer {
    if req.is_proxy {
        return CertAnswer::PlatformDefault;
    }
    if !is_idp_host(req.host, idp) {
        return CertAnswer::WithoutCertificate;
    }
    // A later request that offers nothing, once the certificate went (WebView2Feedback
    // #2622: requests with no certificate offered are seen besides the real one): not a
    // reason to end a login that may be done; ANAF judges the answer without one.
    if req.offered.is_empty() && req.already_sent {
        return CertAnswer::WithoutCertificate;
    }
    if req.offered.is_empty() && req.configured.is_none() {
        return CertAnswer::Fail(no_certificate_offered());
    }
    match cert::choose(req.configured, req.offered) {
        cert::Choice::Use(i) => CertAnswer::Use(i),
        cert::Choice::Ask => CertAnswer::Picker,
        cert::Choice::NotFound => CertAnswer::Fail(cert::not_found_error(
            req.configured.unwrap_or(""),
            req.offered,
        )),
    }
}

/// No certificate offered for the identity provider, and no `cert_serial` configured.
fn no_certificate_offered() -> Error {
    Error::with(
        ANAF_ERR_ACCESS_DENIED,
        "Serverul de autentificare ANAF cere certificatul calificat, dar Windows nu oferă niciunul: stick-ul cu semnătura (USB token) nu este conectat, driverul lui nu este instalat, (pe Remote Desktop) smart card-urile nu sunt redirecționate, sau niciun certificat nu este emis de o autoritate acceptată de ANAF. Conectați stick-ul și reluați; seria certificatului se poate configura în cert_serial.",
        "ANAF's identity provider asks for the qualified certificate, but Windows offers none: the USB token is not plugged in, its driver is not installed, (on Remote Desktop) smart cards are not redirected, or no certificate is issued by an authority ANAF accepts. Plug the USB token in and try again; the certificate's serial can be set in cert_serial.",
    )
}

// ---- navigations ---------------------------------------------------------------------

/// A navigation about to start (WebView2's NavigationStarting; WebKitGTK's policy
/// decision): the redirect URI is caught, the identity provider's origin allowed, anything
/// else refused (`flow::navigation`). `is_redirected` (the server's 3xx led here, as ANAF
/// answers with a 302 to the redirect URI) is logged, not a condition: a form or a script
/// of ANAF's page carrying the answer is as valid, and `state` ties the answer to this login.
pub fn navigation_starting(uri: &str, is_redirected: bool, idp: &Url, redirect: &Url) -> Nav {
    let nav = flow::navigation(uri, idp, redirect);
    if matches!(nav, Nav::Redirect) {
        ::log::debug!(target: "anaf::login", "redirect URI reached (by a server redirect: {is_redirected})");
    }
    nav
}

/// WebView2's COREWEBVIEW2_WEB_ERROR_STATUS, by its documented values (WebView2.h and
/// webview2-com-sys agree); a value a newer runtime adds is kept as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebError {
    Unknown,
    CertificateCommonNameIsIncorrect,
    CertificateExpired,
    ClientCertificateContainsErrors,
    CertificateRevoked,
    CertificateIsInvalid,
    ServerUnreachable,
    Timeout,
    ErrorHttpInvalidServerResponse,
    ConnectionAborted,
    ConnectionReset,
    Disconnected,
    CannotConnect,
    HostNameNotResolved,
    OperationCanceled,
    RedirectFailed,
    UnexpectedError,
    ValidAuthenticationCredentialsRequired,
    ValidProxyAuthenticationRequired,
    Other(i32),
}

impl WebError {
    const ALL: [WebError; 19] = [
        WebError::Unknown,
        WebError::CertificateCommonNameIsIncorrect,
        WebError::CertificateExpired,
        WebError::ClientCertificateContainsErrors,
        WebError::CertificateRevoked,
        WebError::CertificateIsInvalid,
        WebError::ServerUnreachable,
        WebError::Timeout,
        WebError::ErrorHttpInvalidServerResponse,
        WebError::ConnectionAborted,
        WebError::ConnectionReset,
        WebError::Disconnected,
        WebError::CannotConnect,
        WebError::HostNameNotResolved,
        WebError::OperationCanceled,
        WebError::RedirectFailed,
        WebError::UnexpectedError,
        WebError::ValidAuthenticationCredentialsRequired,
        WebError::ValidProxyAuthenticationRequired,
    ];

    /// From the number WebView2's `WebErrorStatus` gives (0 = UNKNOWN … 18 =
    /// VALID_PROXY_AUTHENTICATION_REQUIRED).
    pub fn from_code(code: i32) -> WebError {
        usize::try_from(code)
            .ok()
            .and_then(|i| WebError::ALL.get(i).copied())
            .unwrap_or(WebError::Other(code))
    }

    /// The number WebView2 uses for it.
    pub fn code(self) -> i32 {
        match self {
            WebError::Other(c) => c,
            known => WebError::ALL
                .iter()
                .position(|w| *w == known)
                .map(|i| i as i32)
                .unwrap_or(-1),
        }
    }

    /// The failures WebView2's reference calls possibly non-catastrophic, and the ones it
    /// reports for things that are not failures of the login: the navigation was
    /// cancelled (by us, or superseded by the next one), the server or a proxy asked for
    /// HTTP credentials (WebView2 shows its own prompt), a navigation turned into a
    /// download, `window.stop()`, or a transient abort WebView2 retries itself
    /// (CONNECTION_ABORTED for all three). Why each is not fatal, when it is.
    pub fn not_fatal(self) -> Option<&'static str> {
        match self {
            WebError::OperationCanceled => Some("navigation cancelled or superseded"),
            WebError::ValidAuthenticationCredentialsRequired => {
                Some("the server asks for credentials (WebView2 prompts)")
            }
            WebError::ValidProxyAuthenticationRequired => {
                Some("the proxy asks for credentials (WebView2 prompts)")
            }
            WebError::ConnectionAborted => {
                Some("aborted: a download, window.stop(), or a transient abort WebView2 retries")
            }
            _ => None,
        }
    }

    /// A failure of the server's certificate (TLS).
    fn is_server_certificate(self) -> bool {
        matches!(
            self,
            WebError::CertificateCommonNameIsIncorrect
                | WebError::CertificateExpired
                | WebError::CertificateRevoked
                | WebError::CertificateIsInvalid
        )
    }
}

/// A finished navigation of the main frame, as the web view reports it.
#[derive(Debug, Clone, Copy)]
pub struct Completed<'a> {
    /// The page (WebView2: `Source` after the navigation).
    pub uri: &'a str,
    /// `IsSuccess`: FALSE also for HTTP 4xx, and for cancelled or aborted loads.
    pub is_success: bool,
    /// `WebErrorStatus` (meaningful when `is_success` is false).
    pub web_error: WebError,
    /// `HttpStatusCode` (ICoreWebView2NavigationCompletedEventArgs2): 0 when no HTTP
    /// response came (a network failure, a non-HTTP page) or the runtime has no such field.
    pub http_status: i32,
    /// A client certificate was sent in this window (chosen by us, or the picker shown).
    pub certificate_sent: bool,
    /// The platform's own words for the failure (WebKitGTK's error message); WebView2
    /// has only the status, which is named instead.
    pub detail: Option<&'a str>,
}

/// What to do after a navigation finished.
#[derive(Debug)]
pub enum AfterLoad {
    /// A page loaded: wait for the next navigation.
    Nothing,
    /// Not a failure of the login (logged): wait.
    Ignore(&'static str),
    /// An error page of the identity provider (HTTP ≥ 400 on its host): read its text and
    /// map it with `flow::error_page` (redirect mismatch, access denied, ANAF's words).
    ReadErrorPage(u32),
    /// End the login with this error.
    Fail(Error),
}

/// The failure rule. HTTP authentication (the server's or a proxy's) is WebView2's own
/// prompt and waits. Then the HTTP status is read: WebView2 reports an HTTP 4xx as
/// `IsSuccess` FALSE, and ANAF's answers that matter (redirect_uri mismatch, access
/// denied) are such pages on its host, read for what they say before anything is called a
/// network failure. Then the non-fatal statuses are ignored; the server certificate's are
/// `ANAF_ERR_TLS`; a client certificate that "contains errors" after one was sent is the
/// PIN prompt cancelled (or a wrong PIN, or the token pulled out), told as such rather than
/// as a TLS problem; anything else is `ANAF_ERR_NETWORK`.
pub fn navigation_completed(c: &Completed<'_>, idp: &Url) -> AfterLoad {
    // HTTP authentication asked by the server (401) or a proxy (407): WebView2 shows its
    // own prompt (BasicAuthenticationRequested unhandled); not a page of ANAF to read.
    let credentials = matches!(
        c.web_error,
        WebError::ValidAuthenticationCredentialsRequired
            | WebError::ValidProxyAuthenticationRequired
    );
    if !c.is_success && (credentials || c.http_status == 407) {
        return AfterLoad::Ignore(
            c.web_error
                .not_fatal()
                .unwrap_or("the proxy asks for credentials (WebView2 prompts)"),
        );
    }
    if c.http_status >= 400 && is_on_idp(c.uri, idp) {
        return AfterLoad::ReadErrorPage(c.http_status as u32);
    }
    if c.is_success {
        return AfterLoad::Nothing;
    }
    if let Some(why) = c.web_error.not_fatal() {
        return AfterLoad::Ignore(why);
    }
    let what = match (c.detail, c.http_status) {
        (Some(d), _) if !d.trim().is_empty() => d.trim().to_string(),
        (_, 0) => format!(
            "WebView2 error status {:?} ({})",
            c.web_error,
            c.web_error.code()
        ),
        (_, http) => format!(
            "WebView2 error status {:?} ({}), HTTP {http}",
            c.web_error,
            c.web_error.code()
        ),
    };
    if c.web_error == WebError::ClientCertificateContainsErrors {
        return AfterLoad::Fail(if c.certificate_sent {
            pin_not_given(c.uri)
        } else {
            flow::tls_error(c.uri, &what)
        });
    }
    if c.web_error.is_server_certificate() {
        return AfterLoad::Fail(flow::tls_error(c.uri, &what));
    }
    AfterLoad::Fail(flow::network_error(c.uri, &what))
}

/// The client certificate was sent but its key could not sign: the PIN prompt of the
/// token's software cancelled, a wrong or blocked PIN, the token pulled out.
fn pin_not_given(uri: &str) -> Error {
    let origin = Url::parse(uri)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    Error::with(
        ANAF_ERR_CANCELLED,
        format!("(certificatul a fost trimis către {origin}, dar semnătura cu el nu s-a făcut: PIN-ul nu a fost introdus — fereastra stick-ului a fost închisă —, PIN-ul este greșit sau blocat, ori stick-ul a fost scos)"),
        format!("(the certificate was sent to {origin}, but signing with it did not happen: the PIN was not entered — the USB token's prompt was closed —, the PIN is wrong or blocked, or the token was pulled out)"),
    )
}

// ---- the window that owns the dialog ---------------------------------------------------

/// Which window the login window is owned by (and modal to), from the handle the ERP
/// passed: the top-level window it belongs to (`root`: GetAncestor(GA_ROOT), which walks
/// the parent chain, so a panel, an MDI child or a control of a dialog gives its frame or
/// dialog — the window the user would otherwise keep using); none for 0, a handle that is
/// no window (`is_window` false), one of the `refused` windows (the desktop, the shell:
/// never disabled, never owners), or a window whose thread does not answer messages
/// (`answers` false: SendMessageTimeout(WM_NULL) timed out — the ERP called from a worker
/// while its UI thread waits for it). Disabling that window would block the login's UI
/// thread in EnableWindow until its thread pumps again, i.e. for ever; the window opens
/// unowned instead.
pub fn owner(
    parent: usize,
    is_window: bool,
    root: usize,
    refused: &[usize],
    answers: bool,
) -> Option<usize> {
    if parent == 0 || !is_window || !answers {
        return None;
    }
    let top = if root == 0 { parent } else { root };
    if refused.contains(&top) || refused.contains(&parent) {
        return None;
    }
    Some(top)
}

/// The owner's enabled state, kept from before the login window disabled it and given
/// back exactly once, whichever way the window ends (teardown, or WM_DESTROY from outside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerState {
    pub hwnd: usize,
    pub was_enabled: bool,
    restored: bool,
}

impl OwnerState {
    pub fn new(hwnd: usize, was_enabled: bool) -> OwnerState {
        OwnerState {
            hwnd,
            was_enabled,
            restored: false,
        }
    }

    /// Whether to disable the owner now (it was enabled: our window makes it modal). An
    /// owner the ERP had disabled already stays as it is.
    pub fn disable(&self) -> bool {
        self.was_enabled
    }

    /// The first time: whether to enable the owner again (and give it the foreground) —
    /// only if it was enabled before. Later calls: false.
    pub fn restore(&mut self) -> bool {
        if self.restored {
            return false;
        }
        self.restored = true;
        self.was_enabled
    }
}

// ---- where the window goes -------------------------------------------------------------

/// A rectangle in screen coordinates (left, top inclusive; right, bottom exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub left: i32,
    pub top: i32,
    pub right: i32,
    pub bottom: i32,
}

impl Rect {
    pub fn width(&self) -> i32 {
        self.right - self.left
    }
    pub fn height(&self) -> i32 {
        self.bottom - self.top
    }
}

/// The login window's size at 96 DPI.
const BASE_SIZE: (i32, i32) = (900, 720);

/// The login window's rectangle: 900×720 at 96 DPI scaled to `dpi`, no larger than the
/// work area of the monitor it goes on (`work`: the owner's monitor, MonitorFromWindow,
/// else the primary one), centred on the owner (or on that work area) and kept inside it —
/// on a monitor left of or above the primary one coordinates are negative, and stay so.
pub fn placement(owner: Option<Rect>, work: Rect, dpi: u32) -> Rect {
    let dpi = if dpi == 0 { 96 } else { dpi.min(96 * 8) } as i64;
    let scale = |v: i32| ((v as i64 * dpi + 48) / 96) as i32;
    let w = scale(BASE_SIZE.0).min(work.width()).max(1);
    let h = scale(BASE_SIZE.1).min(work.height()).max(1);
    let centre = owner.unwrap_or(work);
    let x = centre.left + (centre.width() - w) / 2;
    let y = centre.top + (centre.height() - h) / 2;
    let x = x.clamp(work.left, (work.right - w).max(work.left));
    let y = y.clamp(work.top, (work.bottom - h).max(work.top));
    Rect {
        left: x,
        top: y,
        right: x + w,
        bottom: y + h,
    }
}

// ---- the WebView2 user data folder -----------------------------------------------------

/// The runtime a login uses, as far as the user data folder cares.
#[derive(Debug, Clone, Copy)]
pub struct RuntimeKind<'a> {
    /// A fixed-version runtime (`webview2_folder`, or the environment's folder) rather
    /// than the installed Evergreen one.
    pub fixed: bool,
    pub folder: &'a str,
    pub version: &'a str,
    /// The process's DPI awareness (DPI_AWARENESS: 0 unaware, 1 system, 2 per monitor),
    /// when known: it is on the browser's command line, and WebView2 refuses a folder held
    /// by a browser process started with another command line.
    pub dpi_awareness: Option<u32>,
}

/// Where the user data folder may go.
#[derive(Debug, Clone, Copy)]
pub struct FolderPlaces<'a> {
    /// The user's local app data (FOLDERID_LocalAppData), the first choice.
    pub local_app_data: Option<&'a str>,
    /// The temporary folder (GetTempPath), if the first is unusable.
    pub temp: Option<&'a str>,
    /// The folder of this DLL: a relative folder above is resolved against it, never
    /// against the process's working directory (which WebView2 would use).
    pub dll_dir: Option<&'a str>,
    /// Program Files (both), the Windows folder: never a user data folder there (not
    /// writable by users, and shared by every user of the machine).
    pub refused: &'a [String],
}

/// The WebView2 user data folder: `<local app data>\anaf-bridge\WebView2\<kind>`, one per
/// runtime kind and elevation. A folder is tied to the browser process that has it open:
/// an environment for another runtime (a fixed-version one beside Evergreen, another
/// fixed version) or another elevation on the same folder fails (ERROR_INVALID_STATE)
/// while the first is open — two ERPs logging in at once. `<kind>` is `evergreen` or
/// `fixed-<version>-<8 hex of the folder>`, then `-admin` when elevated and `-dpi<N>` for a
/// DPI awareness other than unaware. Windows paths as text; None when no place qualifies.
pub fn user_data_folder(
    places: &FolderPlaces<'_>,
    runtime: &RuntimeKind<'_>,
    elevated: bool,
) -> Option<String> {
    let mut leaf = if runtime.fixed {
        let tag: String = crate::store::seal::hash(&runtime.folder.trim().to_lowercase())
            .chars()
            .take(8)
            .collect();
        let version: String = runtime
            .version
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
            .take(32)
            .collect();
        format!("fixed-{version}-{tag}")
    } else {
        "evergreen".to_string()
    };
    if elevated {
        leaf.push_str("-admin");
    }
    match runtime.dpi_awareness {
        Some(a) if a > 0 => leaf.push_str(&format!("-dpi{a}")),
        _ => {}
    }
    for base in [places.local_app_data, places.temp].into_iter().flatten() {
        let Some(base) = absolute_base(base, places.dll_dir) else {
            continue;
        };
        let refused = places.refused.iter().any(|r| is_within(&base, r));
        if refused {
            continue;
        }
        return Some(format!(
            "{}\\anaf-bridge\\WebView2\\{leaf}",
            base.trim_end_matches('\\')
        ));
    }
    None
}

/// `base` as an absolute local path: as it is, or resolved against the DLL's folder when
/// relative; None for a network path or when nothing absolute comes out.
fn absolute_base(base: &str, dll_dir: Option<&str>) -> Option<String> {
    let b = base.trim();
    if b.is_empty() {
        return None;
    }
    let absolute = |p: &str| matches!(crate::platform::local_components(p), Ok(Some(_)));
    let dir = dll_dir.filter(|d| absolute(d));
    let r = crate::platform::resolve_against(dir, b);
    absolute(&r).then_some(r)
}

/// Whether `path` is `root` or inside it (lexically, case-insensitively, `..` resolved).
fn is_within(path: &str, root: &str) -> bool {
    let norm = |p: &str| -> Option<Vec<String>> {
        let parts = crate::platform::local_components(p).ok()??;
        let mut out: Vec<String> = Vec::new();
        for c in parts {
            if c == ".." {
                if out.len() > 1 {
                    out.pop();
                }
            } else {
                out.push(c);
            }
        }
        Some(out)
    };
    match (norm(path), norm(root)) {
        (Some(p), Some(r)) => p.len() >= r.len() && p[..r.len()] == r[..],
        _ => false,
    }
}

/// Whether to create the WebView2 environment again after `hresult`, and after how long.
/// Only HRESULT_FROM_WIN32(ERROR_INVALID_STATE) (0x8007139F), once: the user data folder is
/// still held by a browser process configured otherwise — typically the previous login's,
/// still shutting down after an Evergreen update changed the runtime folder. Anything else
/// (the runtime's DLL refused, access denied, a policy) does not get better by waiting.
pub fn retry_environment(hresult: Option<u32>, attempt: u32) -> Option<std::time::Duration> {
    match (hresult, attempt) {
        (Some(0x8007_139F), 0) => Some(std::time::Duration::from_millis(1500)),
        _ => None,
    }
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
