//! The Linux login window: wry on WebKitGTK, on ONE persistent GUI thread (creating the
//! GTK side from a new thread per call fails), the client certificate from a PEM or
//! PKCS#12 file named in the configuration, the extra CA (`ca_file`) trusted for the
//! identity provider's host only.

use super::cert;
use super::decide;
use super::flow::{self, guarded, End, Request};
use crate::error::{Error, Result};
use crate::status::*;
use gio::prelude::*;
use glib::translate::ToGlibPtr;
use gtk::prelude::*;
use once_cell::sync::OnceCell;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use url::Url;
use webkit2gtk::{
    AuthenticationRequestExt, AuthenticationScheme, LoadEvent, URIResponseExt, WebContextExt,
    WebResourceExt, WebViewExt,
};
use wry::{WebViewBuilder, WebViewBuilderExtUnix, WebViewExtUnix};

/// The GUI thread, started on first use and kept for the life of the process.
static GUI: OnceCell<std::result::Result<(), String>> = OnceCell::new();

fn ensure_gui() -> Result<()> {
    let started = GUI.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("anaf-bridge-gui".into())
            .spawn(move || match gtk::init() {
                Ok(()) => {
                    let _ = tx.send(Ok(()));
                    loop {
                        gtk::main();
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                }
            });
        match spawned {
            Err(e) => Err(e.to_string()),
            Ok(_) => rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| Err("GTK did not start in 30 s".into())),
        }
    });
    started.clone().map_err(|e| {
        Error::with(
            ANAF_ERR_WINDOW,
            format!("(GTK nu a putut fi inițializat: {e}; este setat DISPLAY?)"),
            format!("(GTK could not be initialised: {e}; is DISPLAY set?)"),
        )
    })
}

/// Nothing to check before the window on Linux beyond GTK itself.
pub fn preflight(_req: &Request) -> Result<()> {
    ensure_gui()
}

/// What the host thread does while it waits for its turn: nothing on Linux.
pub fn idle() {}

/// Called when the login call returns: nothing to hand back on Linux.
pub fn after() {}

/// The version of the linked WebKitGTK.
pub fn webkit_version() -> String {
    // SAFETY: plain getters of the linked library; no initialisation needed.
    unsafe {
        format!(
            "{}.{}.{}",
            webkit2gtk::ffi::webkit_get_major_version(),
            webkit2gtk::ffi::webkit_get_minor_version(),
            webkit2gtk::ffi::webkit_get_micro_version()
        )
    }
}

/// Opens the window on the GUI thread and blocks the calling thread until it ends.
pub fn run(req: Request) -> Result<End> {
    ensure_gui()?;
    let (tx, rx) = mpsc::channel::<End>();
    let limit = req.timeout + Duration::from_secs(30);
    glib::MainContext::default().invoke(move || open(req, tx));
    match rx.recv_timeout(limit) {
        Ok(end) => Ok(end),
        Err(mpsc::RecvTimeoutError::Timeout) => Ok(End::TimedOut),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::with(
            ANAF_ERR_WINDOW,
            "(firul ferestrei s-a oprit)",
            "(the window thread stopped)",
        )),
    }
}

/// The state of one open window, on the GUI thread.
struct Win {
    done: Option<mpsc::Sender<End>>,
    window: Option<gtk::Window>,
    webview: Option<wry::WebView>,
    opened: Instant,
    /// Hosts already allowed after checking their certificate against `ca_file`.
    allowed: Vec<String>,
    /// A client certificate was sent in this window.
    certificate_sent: bool,
}

type Shared = Rc<RefCell<Win>>;

/// Ends the login once: reports to the waiting host thread, then tears the window down
/// from an idle callback (never inside a WebKit signal handler).
fn finish(win: &Shared, end: End) {
    let Some(done) = win.borrow_mut().done.take() else {
        return;
    };
    ::log::debug!(target: "anaf::login", "window ends: {end:?}");
    let _ = done.send(end);
    let win = win.clone();
    glib::idle_add_local_once(move || {
        guarded((), || {
            let (webview, window) = {
                let mut w = win.borrow_mut();
                (w.webview.take(), w.window.take())
            };
            drop(webview);
            if let Some(window) = window {
                // SAFETY: the window is ours, created on this thread; nothing uses it after this.
                unsafe { window.destroy() };
            }
        })
    });
}

fn ended(win: &Shared) -> bool {
    win.borrow().done.is_none()
}

/// The client certificate of the configuration, with its serial.
fn load_client_cert(req: &Request) -> Result<Option<(gio::TlsCertificate, String)>> {
    let Some(path) = &req.client_cert_file else {
        return Ok(None);
    };
    let file_err = |e: &dyn std::fmt::Display| {
        let path = path.display();
        Error::with(
            ANAF_ERR_FILE,
            format!("client_cert_file \"{path}\": {e}"),
            format!("client_cert_file \"{path}\": {e}"),
        )
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let certificate = if ext == "p12" || ext == "pfx" {
        let data = std::fs::read(path).map_err(|e| file_err(&e))?;
        gio::TlsCertificate::from_pkcs12(&data, req.client_cert_password.as_deref())
            .map_err(|e| file_err(&e))?
    } else {
        let key = req.client_key_file.as_ref().unwrap_or(path);
        gio::TlsCertificate::from_files(path, key).map_err(|e| file_err(&e))?
    };
    let der: Option<glib::ByteArray> = certificate.property("certificate");
    let serial = der
        .as_ref()
        .and_then(|d| cert::serial_of_der(d))
        .ok_or_else(|| file_err(&"no X.509 certificate"))?;
    Ok(Some((certificate, serial)))
}

/// Answers WebKit's client-certificate request with `certificate` (None: continue without).
fn answer_with(
    request: &webkit2gtk::AuthenticationRequest,
    certificate: Option<&gio::TlsCertificate>,
) {
    // SAFETY: both pointers are live GObjects for the duration of the calls; the
    // credential is created here, copied by WebKit, and freed here.
    unsafe {
        let cert_ptr: *mut gio::ffi::GTlsCertificate = match certificate {
            Some(c) => c.to_glib_none().0,
            None => std::ptr::null_mut(),
        };
        let credential = webkit2gtk::ffi::webkit_credential_new_for_certificate(
            cert_ptr,
            webkit2gtk::ffi::WEBKIT_CREDENTIAL_PERSISTENCE_NONE,
        );
        webkit2gtk::ffi::webkit_authentication_request_authenticate(
            request.to_glib_none().0,
            credential,
        );
        if !credential.is_null() {
            webkit2gtk::ffi::webkit_credential_free(credential);
        }
    }
}

fn host_port(url: &str) -> Option<(String, u16)> {
    let u = Url::parse(url).ok()?;
    Some((u.host_str()?.to_string(), u.port_or_known_default()?))
}

fn tls_flags_text(flags: gio::TlsCertificateFlags) -> String {
    let mut parts = Vec::new();
    for (f, name) in [
        (gio::TlsCertificateFlags::UNKNOWN_CA, "unknown CA"),
        (gio::TlsCertificateFlags::BAD_IDENTITY, "bad identity"),
        (gio::TlsCertificateFlags::NOT_ACTIVATED, "not yet valid"),
        (gio::TlsCertificateFlags::EXPIRED, "expired"),
        (gio::TlsCertificateFlags::REVOKED, "revoked"),
        (gio::TlsCertificateFlags::INSECURE, "insecure"),
        (gio::TlsCertificateFlags::GENERIC_ERROR, "error"),
    ] {
        if flags.contains(f) {
            parts.push(name);
        }
    }
    if parts.is_empty() {
        format!("{flags:?}")
    } else {
        parts.join(", ")
    }
}

/// Builds the window on the GUI thread. Everything after this is driven by signals and
/// a 100 ms timer (cancel, timeout, the test close hook).
fn open(req: Request, done: mpsc::Sender<End>) {
    let client_cert = match load_client_cert(&req) {
        Ok(c) => c,
        Err(e) => {
            let _ = done.send(End::Failed(e));
            return;
        }
    };
    let ca = match &req.ca_file {
        None => None,
        Some(p) => match gio::TlsCertificate::from_file(p) {
            Ok(c) => Some(c),
            Err(e) => {
                let path = p.display();
                let _ = done.send(End::Failed(Error::with(
                    ANAF_ERR_FILE,
                    format!("ca_file \"{path}\": {e}"),
                    format!("ca_file \"{path}\": {e}"),
                )));
                return;
            }
        },
    };

    let window = gtk::Window::new(gtk::WindowType::Toplevel);
    window.set_title(&req.title);
    window.set_default_size(900, 720);
    window.set_position(gtk::WindowPosition::Center);
    let vbox = gtk::Box::new(gtk::Orientation::Vertical, 0);
    let hint = gtk::Label::new(Some(&req.hint));
    hint.set_margin_top(6);
    hint.set_margin_bottom(6);
    vbox.pack_start(&hint, false, false, 0);
    window.add(&vbox);

    let win: Shared = Rc::new(RefCell::new(Win {
        done: Some(done),
        window: Some(window.clone()),
        webview: None,
        opened: Instant::now(),
        allowed: Vec::new(),
        certificate_sent: false,
    }));

    let nav_win = win.clone();
    let (idp, redirect) = (req.idp.clone(), req.redirect.clone());
    let built = WebViewBuilder::new()
        .with_url(req.url.clone())
        .with_incognito(true)
        .with_devtools(false)
        .with_navigation_handler(move |uri: String| {
            // A panic refuses the navigation: nothing unchecked is loaded.
            guarded(false, || {
                match decide::navigation_starting(&uri, false, &idp, &redirect) {
                    flow::Nav::Allow => true,
                    flow::Nav::Redirect => {
                        let open_to_code = nav_win.borrow().opened.elapsed();
                        finish(
                            &nav_win,
                            End::Redirect {
                                url: uri,
                                open_to_code,
                            },
                        );
                        false
                    }
                    flow::Nav::Refuse(e) => {
                        ::log::warn!(target: "anaf::login", "navigation refused: {e:?}");
                        finish(&nav_win, End::Failed(e));
                        false
                    }
                }
            })
        })
        .with_new_window_req_handler(|_, _| wry::NewWindowResponse::Deny)
        .build_gtk(&vbox);
    let webview = match built {
        Ok(w) => w,
        Err(e) => {
            finish(
                &win,
                End::Failed(Error::with(
                    ANAF_ERR_WINDOW,
                    format!("(WebKitGTK: {e})"),
                    format!("(WebKitGTK: {e})"),
                )),
            );
            return;
        }
    };
    let wk = webview.webview();

    // The client certificate, chosen by the rule of `decide::certificate`.
    let auth_win = win.clone();
    let configured = req.cert_serial.clone();
    let cert_idp = req.idp.clone();
    wk.connect_authenticate(move |_, request| {
        guarded(false, || {
            if request.scheme() != AuthenticationScheme::ClientCertificateRequested {
                return false;
            }
            let offered: Vec<String> = client_cert.iter().map(|(_, s)| s.clone()).collect();
            let host = request.host().map(|h| h.to_string()).unwrap_or_default();
            let asked = decide::CertRequest {
                host: &host,
                is_proxy: request.is_for_proxy(),
                offered: &offered,
                configured: configured.as_deref(),
                already_sent: auth_win.borrow().certificate_sent,
            };
            match decide::certificate(&asked, &cert_idp) {
                decide::CertAnswer::Use(i) => {
                    ::log::info!(target: "anaf::login", "client certificate {} sent", offered[i]);
                    auth_win.borrow_mut().certificate_sent = true;
                    answer_with(request, client_cert.as_ref().map(|(c, _)| c));
                }
                decide::CertAnswer::Fail(e) => {
                    request.cancel();
                    finish(&auth_win, End::Failed(e));
                }
                decide::CertAnswer::Picker | decide::CertAnswer::WithoutCertificate => {
                    ::log::info!(target: "anaf::login", "{host}: continuing without a client certificate");
                    answer_with(request, None);
                }
                decide::CertAnswer::PlatformDefault => return false,
            }
            true
        })
    });

    // The extra CA, for the identity provider's host only.
    let tls_win = win.clone();
    let idp_host = req.idp.host_str().map(str::to_string);
    wk.connect_load_failed_with_tls_errors(move |view, uri, certificate, flags| {
        guarded(false, || {
            if ended(&tls_win) {
                return true;
            }
            if let (Some(ca), Some((host, port)), Some(idp)) = (&ca, host_port(uri), &idp_host) {
                let already = tls_win.borrow().allowed.contains(&host);
                if &host == idp && !already {
                    let identity = gio::NetworkAddress::new(&host, port);
                    let check = certificate.verify(Some(&identity), Some(ca));
                    if check.is_empty() {
                        if let Some(ctx) = view.web_context() {
                            ctx.allow_tls_certificate_for_host(certificate, &host);
                            tls_win.borrow_mut().allowed.push(host.clone());
                            ::log::info!(target: "anaf::login", "{host}: server certificate valid for ca_file, allowed");
                            view.load_uri(uri);
                            return true;
                        }
                    } else {
                        let why = tls_flags_text(check);
                        ::log::warn!(target: "anaf::login", "{host}: server certificate not valid for ca_file: {why}");
                    }
                }
            }
            finish(&tls_win, End::Failed(flow::tls_error(uri, &tls_flags_text(flags))));
            true
        })
    });

    let fail_win = win.clone();
    let fail_idp = req.idp.clone();
    wk.connect_load_failed(move |_, _, uri, error| {
        guarded(false, || {
            if ended(&fail_win) {
                return false;
            }
            // WebKit's errors in WebView2's terms, for the one failure rule.
            let msg = error.message().to_string();
            let web_error = if error.matches(webkit2gtk::NetworkError::Cancelled) {
                decide::WebError::OperationCanceled
            } else if error.matches(webkit2gtk::PolicyError::FrameLoadInterruptedByPolicyChange) {
                // A download, or a navigation we refused: not a failure by itself.
                decide::WebError::ConnectionAborted
            } else if error.is::<gio::TlsError>() || crate::client::http::is_tls(&msg) {
                decide::WebError::CertificateIsInvalid
            } else {
                decide::WebError::Unknown
            };
            let done = decide::Completed {
                uri,
                is_success: false,
                web_error,
                http_status: 0,
                certificate_sent: fail_win.borrow().certificate_sent,
                detail: Some(&msg),
            };
            match decide::navigation_completed(&done, &fail_idp) {
                decide::AfterLoad::Fail(e) => {
                    finish(&fail_win, End::Failed(e));
                    true
                }
                _ => false,
            }
        })
    });

    // Error pages of the identity provider (e.g. redirect_uri mismatch answered as 400).
    let page_win = win.clone();
    let page_idp = req.idp.clone();
    wk.connect_load_changed(move |view, event| {
        guarded((), || {
            if event != LoadEvent::Finished || ended(&page_win) {
                return;
            }
            let Some(resource) = view.main_resource() else {
                return;
            };
            let Some(response) = resource.response() else {
                return;
            };
            let status = response.status_code();
            let uri = resource.uri().map(|u| u.to_string()).unwrap_or_default();
            let done = decide::Completed {
                uri: &uri,
                is_success: status < 400,
                web_error: decide::WebError::Unknown,
                http_status: status as i32,
                certificate_sent: page_win.borrow().certificate_sent,
                detail: None,
            };
            if let decide::AfterLoad::ReadErrorPage(status) =
                decide::navigation_completed(&done, &page_idp)
            {
                let w = page_win.clone();
                WebResourceExt::data(
                    &resource,
                    None::<&gio::Cancellable>,
                    move |body: std::result::Result<Vec<u8>, glib::Error>| {
                        let text = body
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                            .unwrap_or_default();
                        finish(&w, End::Failed(flow::error_page(status, &text)));
                    },
                );
            }
        })
    });

    let close_win = win.clone();
    window.connect_delete_event(move |_, _| {
        guarded(glib::Propagation::Proceed, || {
            finish(&close_win, End::Closed);
            glib::Propagation::Stop
        })
    });

    win.borrow_mut().webview = Some(webview);
    window.show_all();
    window.present();
    ::log::info!(target: "anaf::login", "login window opened");

    // Cancel, timeout and the test close hook.
    let tick_win = win.clone();
    let cancel = req.cancel.clone();
    let timeout = req.timeout;
    let test_close = req.test_close_after;
    let mut close_requested = false;
    glib::timeout_add_local(Duration::from_millis(100), move || {
        guarded(glib::ControlFlow::Break, || {
            if ended(&tick_win) {
                return glib::ControlFlow::Break;
            }
            let elapsed = tick_win.borrow().opened.elapsed();
            if cancel.load(Ordering::SeqCst) {
                finish(&tick_win, End::Cancelled);
                return glib::ControlFlow::Break;
            }
            if elapsed >= timeout {
                finish(&tick_win, End::TimedOut);
                return glib::ControlFlow::Break;
            }
            if let Some(after) = test_close {
                if elapsed >= after && !close_requested {
                    close_requested = true;
                    // As the user's click on the close button: delete-event, then Closed.
                    let w = tick_win.borrow().window.clone();
                    if let Some(w) = w {
                        w.close();
                    }
                }
            }
            glib::ControlFlow::Continue
        })
    });
}
