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
mod tests {
    use super::*;

    fn idp() -> Url {
        Url::parse("https://logincert.anaf.ro").unwrap()
    }

    fn serials(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    fn req<'a>(
        host: &'a str,
        is_proxy: bool,
        offered: &'a [String],
        configured: Option<&'a str>,
    ) -> CertRequest<'a> {
        CertRequest {
            host,
            is_proxy,
            offered,
            configured,
            already_sent: false,
        }
    }

    #[test]
    fn the_certificate_goes_to_the_identity_provider_only() {
        let two = serials(&["00AB", "CD"]);
        // WebView2's Host is lower case ASCII, without port.
        for host in [
            "logincert.anaf.ro",
            "LOGINCERT.anaf.ro",
            "logincert.anaf.ro.",
        ] {
            assert!(matches!(
                certificate(&req(host, false, &two, Some("cd")), &idp()),
                CertAnswer::Use(1)
            ));
        }
        // Another host (a subresource elsewhere): never the qualified certificate, and
        // never a failure of the login.
        for host in [
            "www.anaf.ro",
            "logincert.anaf.ro.example.com",
            "",
            "anaf.ro",
        ] {
            assert!(
                matches!(
                    certificate(&req(host, false, &two, Some("cd")), &idp()),
                    CertAnswer::WithoutCertificate
                ),
                "{host}"
            );
        }
        // A proxy asking (IsProxy TRUE), even with the identity provider's name and no
        // matching certificate: WebView2's default, not ANAF_ERR_CERT_NOT_FOUND.
        assert!(matches!(
            certificate(&req("logincert.anaf.ro", true, &[], Some("EF")), &idp()),
            CertAnswer::PlatformDefault
        ));
        assert!(matches!(
            certificate(&req("proxy.firma.local", true, &two, None), &idp()),
            CertAnswer::PlatformDefault
        ));
    }

    #[test]
    fn ipv6_identity_provider_host_compares_without_brackets() {
        let idp = Url::parse("https://[::1]:9443").unwrap();
        let one = serials(&["AB"]);
        assert!(matches!(
            certificate(&req("::1", false, &one, None), &idp),
            CertAnswer::Use(0)
        ));
        let local = Url::parse("https://127.0.0.1:9443").unwrap();
        assert!(is_idp_host("127.0.0.1", &local));
        assert!(!is_idp_host("127.0.0.2", &local));
    }

    #[test]
    fn the_certificate_rule_on_the_identity_provider() {
        let two = serials(&["00AB", "CD"]);
        let one = serials(&["00AB"]);
        let host = "logincert.anaf.ro";
        assert!(matches!(
            certificate(&req(host, false, &two, Some("ab")), &idp()),
            CertAnswer::Use(0)
        ));
        assert!(matches!(
            certificate(&req(host, false, &one, None), &idp()),
            CertAnswer::Use(0)
        ));
        assert!(matches!(
            certificate(&req(host, false, &two, None), &idp()),
            CertAnswer::Picker
        ));
        match certificate(&req(host, false, &two, Some("EF")), &idp()) {
            CertAnswer::Fail(e) => {
                assert_eq!(e.status, ANAF_ERR_CERT_NOT_FOUND);
                assert!(e.message(Lang::En).contains("00AB, CD"));
            }
            other => panic!("{other:?}"),
        }
        // A serial configured, nothing offered: CERT_NOT_FOUND saying none was offered.
        match certificate(&req(host, false, &[], Some("EF")), &idp()) {
            CertAnswer::Fail(e) => {
                assert_eq!(e.status, ANAF_ERR_CERT_NOT_FOUND);
                assert!(e.message(Lang::En).contains("No certificate was offered"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nothing_offered_and_no_serial_is_access_denied_at_once() {
        match certificate(&req("logincert.anaf.ro", false, &[], None), &idp()) {
            CertAnswer::Fail(e) => {
                assert_eq!(e.status, ANAF_ERR_ACCESS_DENIED);
                let en = e.message(Lang::En);
                assert!(
                    en.contains("offers none") && en.contains("USB token"),
                    "{en}"
                );
                assert!(en.contains("Remote Desktop") && en.contains("cert_serial"));
                let ro = e.message(Lang::Ro);
                assert!(
                    ro.contains("nu oferă niciunul") && ro.contains("stick"),
                    "{ro}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_later_request_offering_nothing_does_not_end_the_login() {
        for configured in [None, Some("EF")] {
            let later = CertRequest {
                already_sent: true,
                ..req("logincert.anaf.ro", false, &[], configured)
            };
            assert!(
                matches!(certificate(&later, &idp()), CertAnswer::WithoutCertificate),
                "{configured:?}"
            );
        }
        // With certificates offered, the rule is the same as the first time.
        let two = serials(&["00AB", "CD"]);
        let later = CertRequest {
            already_sent: true,
            ..req("logincert.anaf.ro", false, &two, Some("EF"))
        };
        assert!(matches!(certificate(&later, &idp()), CertAnswer::Fail(_)));
    }

    #[test]
    fn web_error_status_values_are_webview2s() {
        // COREWEBVIEW2_WEB_ERROR_STATUS in WebView2.h / webview2-com-sys 0.39.
        for (code, w) in [
            (0, WebError::Unknown),
            (1, WebError::CertificateCommonNameIsIncorrect),
            (2, WebError::CertificateExpired),
            (3, WebError::ClientCertificateContainsErrors),
            (4, WebError::CertificateRevoked),
            (5, WebError::CertificateIsInvalid),
            (6, WebError::ServerUnreachable),
            (7, WebError::Timeout),
            (8, WebError::ErrorHttpInvalidServerResponse),
            (9, WebError::ConnectionAborted),
            (10, WebError::ConnectionReset),
            (11, WebError::Disconnected),
            (12, WebError::CannotConnect),
            (13, WebError::HostNameNotResolved),
            (14, WebError::OperationCanceled),
            (15, WebError::RedirectFailed),
            (16, WebError::UnexpectedError),
            (17, WebError::ValidAuthenticationCredentialsRequired),
            (18, WebError::ValidProxyAuthenticationRequired),
        ] {
            assert_eq!(WebError::from_code(code), w);
            assert_eq!(w.code(), code);
        }
        assert_eq!(WebError::from_code(19), WebError::Other(19));
        assert_eq!(WebError::from_code(-1), WebError::Other(-1));
        assert_eq!(WebError::Other(42).code(), 42);
    }

    fn done(
        uri: &str,
        is_success: bool,
        web_error: i32,
        http_status: i32,
        certificate_sent: bool,
    ) -> AfterLoad {
        navigation_completed(
            &Completed {
                uri,
                is_success,
                web_error: WebError::from_code(web_error),
                http_status,
                certificate_sent,
                detail: None,
            },
            &idp(),
        )
    }

    const AUTHORIZE: &str = "https://logincert.anaf.ro/anaf-oauth2/v1/authorize?client_id=x";

    #[test]
    fn anaf_error_pages_are_read_before_anything_is_called_a_network_failure() {
        // WebView2: IsSuccess FALSE for HTTP 4xx; the status code says what it was.
        for (ok, status, http) in [
            (false, 0, 400),
            (false, 8, 403),
            (true, 0, 400),
            (false, 16, 500),
        ] {
            assert!(
                matches!(done(AUTHORIZE, ok, status, http, true), AfterLoad::ReadErrorPage(h) if h == http as u32),
                "{ok} {status} {http}"
            );
        }
        // The page text then decides: redirect mismatch, access denied.
        assert_eq!(
            flow::error_page(400, "Redirect-URI https://x does not match").status,
            ANAF_ERR_REDIRECT_MISMATCH
        );
        assert_eq!(
            flow::error_page(403, "Access denied").status,
            ANAF_ERR_ACCESS_DENIED
        );
        // A 4xx elsewhere is not ANAF's page (and is not read).
        match done("https://cdn.example.com/x", false, 0, 404, false) {
            AfterLoad::Fail(e) => {
                assert_eq!(e.status, ANAF_ERR_NETWORK);
                assert!(e.message(Lang::En).contains("HTTP 404"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn non_fatal_statuses_are_ignored() {
        // OPERATION_CANCELED (ours, or superseded), credentials asked by the server or the
        // proxy (WebView2 prompts), CONNECTION_ABORTED (a download: HttpStatusCode 0;
        // window.stop(): HttpStatusCode 200; a transient abort WebView2 retries).
        for (status, http) in [(14, 0), (17, 401), (18, 407), (0, 407), (9, 0), (9, 200)] {
            let uri = if http == 401 {
                "https://other.example.com/"
            } else {
                AUTHORIZE
            };
            assert!(
                matches!(done(uri, false, status, http, false), AfterLoad::Ignore(_)),
                "{status} {http}"
            );
        }
        assert!(matches!(
            done(AUTHORIZE, true, 0, 200, false),
            AfterLoad::Nothing
        ));
        assert!(matches!(
            done("about:blank", true, 0, 0, false),
            AfterLoad::Nothing
        ));
    }

    #[test]
    fn failures_map_to_statuses() {
        for status in [1, 2, 4, 5] {
            match done(AUTHORIZE, false, status, 0, true) {
                AfterLoad::Fail(e) => {
                    assert_eq!(e.status, ANAF_ERR_TLS, "{status}");
                    let en = e.message(Lang::En);
                    assert!(en.contains("https://logincert.anaf.ro/anaf-oauth2/v1/authorize"));
                    assert!(!en.contains("client_id"), "no query: {en}");
                }
                other => panic!("{status}: {other:?}"),
            }
        }
        for status in [0, 6, 7, 8, 10, 11, 12, 13, 15, 16, 99] {
            match done(AUTHORIZE, false, status, 0, false) {
                AfterLoad::Fail(e) => assert_eq!(e.status, ANAF_ERR_NETWORK, "{status}"),
                other => panic!("{status}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_client_certificate_error_after_sending_one_is_the_pin_not_tls() {
        match done(AUTHORIZE, false, 3, 0, true) {
            AfterLoad::Fail(e) => {
                assert_eq!(e.status, ANAF_ERR_CANCELLED);
                let en = e.message(Lang::En);
                assert!(en.contains("PIN") && en.contains("https://logincert.anaf.ro"));
                assert!(e.message(Lang::Ro).contains("PIN-ul"));
            }
            other => panic!("{other:?}"),
        }
        // No certificate sent in this window: the platform's TLS failure.
        match done(AUTHORIZE, false, 3, 0, false) {
            AfterLoad::Fail(e) => assert_eq!(e.status, ANAF_ERR_TLS),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_redirect_is_recognised_whether_redirected_or_not() {
        let redirect = Url::parse("https://localhost:9443/anaf/callback").unwrap();
        for redirected in [true, false] {
            assert!(matches!(
                navigation_starting(
                    "https://localhost:9443/anaf/callback?code=c&state=s",
                    redirected,
                    &idp(),
                    &redirect
                ),
                Nav::Redirect
            ));
            assert!(matches!(
                navigation_starting(AUTHORIZE, redirected, &idp(), &redirect),
                Nav::Allow
            ));
            assert!(matches!(
                navigation_starting("https://evil.example/", redirected, &idp(), &redirect),
                Nav::Refuse(_)
            ));
        }
    }

    #[test]
    fn only_a_user_data_folder_still_held_is_retried_once() {
        let held = Some(0x8007_139F);
        assert_eq!(
            retry_environment(held, 0),
            Some(std::time::Duration::from_millis(1500))
        );
        assert_eq!(retry_environment(held, 1), None);
        for other in [
            Some(0x8007_007F),
            Some(0x8007_0005),
            Some(0x8007_0002),
            None,
        ] {
            assert_eq!(retry_environment(other, 0), None, "{other:?}");
        }
    }

    #[test]
    fn the_owner_is_the_top_level_window() {
        let (desktop, shell) = (0x10010, 0x10020);
        let refused = [desktop, shell];
        // The ERP's main window itself.
        assert_eq!(owner(0x500, true, 0x500, &refused, true), Some(0x500));
        // A panel / MDI child / control: its top-level window.
        assert_eq!(owner(0x7a2, true, 0x500, &refused, true), Some(0x500));
        // No root reported: the handle as given.
        assert_eq!(owner(0x7a2, true, 0, &refused, true), Some(0x7a2));
        // None, stale, the desktop or the shell: no owner.
        assert_eq!(owner(0, true, 0, &refused, true), None);
        assert_eq!(owner(0x7a2, false, 0, &refused, true), None);
        assert_eq!(owner(desktop, true, desktop, &refused, true), None);
        assert_eq!(owner(0x7a2, true, desktop, &refused, true), None);
        assert_eq!(owner(shell, true, shell, &refused, true), None);
        // Its thread does not answer (a worker called; the UI thread waits for it).
        assert_eq!(owner(0x500, true, 0x500, &refused, false), None);
    }

    #[test]
    fn the_owner_gets_back_exactly_its_enabled_state_once() {
        let mut enabled = OwnerState::new(0x500, true);
        assert!(enabled.disable());
        assert!(enabled.restore(), "enabled again at teardown");
        assert!(!enabled.restore(), "and not again at WM_DESTROY");
        // The ERP had disabled it (its own modal state): left disabled, never enabled.
        let mut disabled = OwnerState::new(0x500, false);
        assert!(!disabled.disable());
        assert!(!disabled.restore());
        assert!(!disabled.restore());
    }

    fn r(left: i32, top: i32, right: i32, bottom: i32) -> Rect {
        Rect {
            left,
            top,
            right,
            bottom,
        }
    }

    #[test]
    fn the_window_is_dpi_scaled_centred_and_on_the_owners_monitor() {
        let primary = r(0, 0, 1920, 1040);
        // 96 DPI, no owner: 900×720 centred on the work area.
        assert_eq!(placement(None, primary, 96), r(510, 160, 1410, 880));
        // 144 DPI (150 %): 1350×1080 → capped to the work area's height.
        let p = placement(None, primary, 144);
        assert_eq!((p.width(), p.height()), (1350, 1040));
        assert_eq!((p.top, p.bottom), (0, 1040));
        // Centred on the owner.
        let erp = r(100, 100, 1300, 900);
        assert_eq!(placement(Some(erp), primary, 96), r(250, 140, 1150, 860));
        // An owner on a monitor left of the primary one: negative coordinates kept.
        let left = r(-1920, 0, 0, 1040);
        let erp = r(-1800, 50, -1000, 650);
        let p = placement(Some(erp), left, 96);
        assert!(p.left >= -1920 && p.right <= 0, "{p:?}");
        assert_eq!(p.width(), 900);
        // An owner half off its monitor: the window stays inside the work area.
        let erp = r(1700, 900, 2500, 1500);
        let p = placement(Some(erp), primary, 96);
        assert_eq!((p.right, p.bottom), (1920, 1040));
        // A monitor above, and a zero DPI (unknown): 96.
        let above = r(0, -1080, 1920, -40);
        let p = placement(None, above, 0);
        assert_eq!((p.width(), p.height(), p.top), (900, 720, -1080 + 160));
    }

    #[test]
    fn a_user_data_folder_per_runtime_kind_and_elevation() {
        let refused = [
            r"C:\Program Files".to_string(),
            r"C:\Program Files (x86)".to_string(),
            r"C:\Windows".to_string(),
        ];
        let places = FolderPlaces {
            local_app_data: Some(r"C:\Users\ana\AppData\Local"),
            temp: Some(r"C:\Users\ana\AppData\Local\Temp"),
            dll_dir: Some(r"C:\Windows\System32"),
            refused: &refused,
        };
        let evergreen = RuntimeKind {
            fixed: false,
            folder: r"C:\Program Files (x86)\Microsoft\EdgeWebView\Application\131.0.2903.86",
            version: "131.0.2903.86",
            dpi_awareness: None,
        };
        let fixed = RuntimeKind {
            fixed: true,
            folder: r"C:\ERP\WebView2",
            version: "120.0.2210.91",
            dpi_awareness: Some(0),
        };
        let fixed_elsewhere = RuntimeKind {
            folder: r"D:\Alt ERP\WebView2",
            ..fixed
        };
        let base = r"C:\Users\ana\AppData\Local\anaf-bridge\WebView2\";
        let e = user_data_folder(&places, &evergreen, false).unwrap();
        assert_eq!(e, format!("{base}evergreen"));
        let ea = user_data_folder(&places, &evergreen, true).unwrap();
        assert_eq!(ea, format!("{base}evergreen-admin"));
        let f = user_data_folder(&places, &fixed, false).unwrap();
        assert!(f.starts_with(&format!("{base}fixed-120.0.2210.91-")), "{f}");
        assert_eq!(f.len(), base.len() + "fixed-120.0.2210.91-".len() + 8);
        let fa = user_data_folder(&places, &fixed, true).unwrap();
        assert!(fa.ends_with("-admin"));
        let f2 = user_data_folder(&places, &fixed_elsewhere, false).unwrap();
        // Another DPI awareness (a per-monitor-aware ERP beside an unaware one).
        let pm = RuntimeKind {
            dpi_awareness: Some(2),
            ..evergreen
        };
        let ep = user_data_folder(&places, &pm, true).unwrap();
        assert_eq!(ep, format!("{base}evergreen-admin-dpi2"));
        let all = [&e, &ea, &f, &fa, &f2, &ep];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b, "one folder per runtime and elevation");
            }
        }
        // The same fixed runtime, written another way: the same folder.
        let same = RuntimeKind {
            folder: r"c:\erp\webview2",
            ..fixed
        };
        assert_eq!(user_data_folder(&places, &same, false).unwrap(), f);
    }

    #[test]
    fn the_user_data_folder_is_never_in_program_files_nor_relative_to_the_working_directory() {
        let refused = [
            r"C:\Program Files".to_string(),
            r"C:\Program Files (x86)".to_string(),
            r"C:\Windows".to_string(),
        ];
        let rt = RuntimeKind {
            fixed: false,
            folder: "",
            version: "",
            dpi_awareness: None,
        };
        let at = |local: Option<&str>, temp: Option<&str>, dll: Option<&str>| {
            user_data_folder(
                &FolderPlaces {
                    local_app_data: local,
                    temp,
                    dll_dir: dll,
                    refused: &refused,
                },
                &rt,
                false,
            )
        };
        // Local app data unusable (inside Program Files, a share, missing): the temp folder.
        for local in [
            Some(r"C:\Program Files\ERP\data"),
            Some(r"c:\PROGRAM FILES (X86)\x"),
            Some(r"C:\Windows\System32\config\systemprofile\..\..\..\Program Files\x"),
            Some(r"\\server\profiles\ana"),
            Some(""),
            None,
        ] {
            assert_eq!(
                at(local, Some(r"D:\Temp"), None).as_deref(),
                Some(r"D:\Temp\anaf-bridge\WebView2\evergreen"),
                "{local:?}"
            );
        }
        // A relative folder: against the DLL's folder, never the working directory.
        assert_eq!(
            at(Some(r"data"), None, Some(r"D:\ERP\bin")).as_deref(),
            Some(r"D:\ERP\bin\data\anaf-bridge\WebView2\evergreen")
        );
        // … and refused where that lands in the Windows folder (a DLL in System32).
        assert_eq!(at(Some("data"), None, Some(r"C:\Windows\System32")), None);
        // No DLL folder, or a rooted-but-driveless path: refused.
        assert_eq!(at(Some("data"), None, None), None);
        assert_eq!(at(Some(r"\data"), None, Some(r"D:\ERP")), None);
        assert_eq!(at(Some(r"C:data"), None, Some(r"D:\ERP")), None);
        // Program Files itself and the next folder whose name starts alike.
        assert_eq!(at(Some(r"C:\Program Files"), None, None), None);
        assert_eq!(
            at(Some(r"C:\Program Files Data"), None, None).as_deref(),
            Some(r"C:\Program Files Data\anaf-bridge\WebView2\evergreen")
        );
    }
}
