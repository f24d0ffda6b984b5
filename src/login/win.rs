//! The Windows login window: a window of the DLL's own, owned by (and modal to) the
//! ERP's window, with wry building a WebView2 on it, on ONE dedicated STA UI thread with
//! its own message pump (the host thread may be MTA or the ERP's own UI thread).
//!
//! The WebView2 environment comes from the DLL's own loader (no WebView2Loader.dll);
//! its user data folder is under the user's local app data. The certificate is chosen in
//! `ClientCertificateRequested` by serial (see `cert::choose`).
//!
//! Not run here: WebView2 itself (Wine has no runtime). What runs under Wine is the
//! runtime check, which answers `ANAF_ERR_WEBVIEW2_MISSING` before any window opens.

use super::cert;
use super::flow::{self, guarded, End, Request};
use crate::error::{Error, Result};
use crate::status::*;
use base64::Engine;
use once_cell::sync::OnceCell;
use std::cell::RefCell;
use std::num::NonZeroIsize;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};
use url::Url;
use webview2_com::Microsoft::Web::WebView2::Win32::*;
use webview2_com::{
    ClientCertificateRequestedEventHandler, CreateCoreWebView2EnvironmentCompletedHandler,
    ExecuteScriptCompletedHandler, NavigationCompletedEventHandler,
};
use windows::core::{w, Interface, HSTRING, PCWSTR, PWSTR};
use windows::Win32::Foundation::{HINSTANCE, HMODULE};
use windows::Win32::Foundation::{HWND, LPARAM, LRESULT, RECT, WPARAM};
use windows::Win32::System::Com::{CoInitializeEx, CoTaskMemFree, COINIT_APARTMENTTHREADED};
use windows::Win32::System::LibraryLoader::{
    GetModuleHandleExW, GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
    GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
};
use windows::Win32::UI::Input::KeyboardAndMouse::EnableWindow;
use windows::Win32::UI::Shell::{FOLDERID_LocalAppData, SHGetKnownFolderPath, KF_FLAG_DEFAULT};
use windows::Win32::UI::WindowsAndMessaging::*;
use wry::raw_window_handle::{
    HandleError, HasWindowHandle, RawWindowHandle, Win32WindowHandle, WindowHandle,
};
use wry::{WebViewBuilder, WebViewBuilderExtWindows, WebViewExtWindows};

const WM_APP_JOB: u32 = WM_APP + 1;
const WM_APP_TEARDOWN: u32 = WM_APP + 2;
const TIMER_ID: usize = 1;

// ---- the WebView2 runtime, checked before any window --------------------------------

fn wide(s: &std::path::Path) -> HSTRING {
    HSTRING::from(s.as_os_str())
}

/// No usable WebView2 runtime: what to install, and what was found (or refused).
fn webview2_missing(why: &crate::platform::NoRuntime, folder: Option<&std::path::Path>) -> Error {
    let bits = if crate::platform::os_is_64bit() {
        "X64"
    } else {
        "X86"
    };
    let installer = format!("MicrosoftEdgeWebView2RuntimeInstaller{bits}.exe");
    let boot = "https://go.microsoft.com/fwlink/p/?LinkId=2124703";
    let fixed = folder
        .map(|f| format!(" webview2_folder = \"{}\".", f.display()))
        .unwrap_or_default();
    Error::with(
        ANAF_ERR_WEBVIEW2_MISSING,
        format!(
            "Instalați „Evergreen Standalone Installer” {bits} ({installer}) sau „Evergreen Bootstrapper” ({boot}), apoi reluați.{fixed} ({})",
            why.ro
        ),
        format!(
            "Install the Evergreen Standalone Installer {bits} ({installer}) or the Evergreen Bootstrapper ({boot}), then try again.{fixed} ({})",
            why.en
        ),
    )
}

/// The WebView2 runtime for this login (checked by platform's rule), found before any
/// window opens and again when the environment is created.
fn runtime(req: &Request) -> Result<crate::platform::Runtime> {
    crate::platform::webview2_runtime(req.webview2_folder.as_deref())
        .map_err(|why| webview2_missing(&why, req.webview2_folder.as_deref()))
}

/// Checks the WebView2 runtime before any window opens.
pub fn preflight(req: &Request) -> Result<()> {
    let rt = runtime(req)?;
    ::log::info!(target: "anaf::login", "WebView2 runtime {} in {}", rt.version, rt.folder.display());
    Ok(())
}

// ---- the UI thread -----------------------------------------------------------------

type Job = Box<dyn FnOnce() + Send>;

struct Ui {
    /// The message-only window that receives jobs (as usize: HWND is not Send).
    dispatch: usize,
    jobs: Mutex<mpsc::Sender<Job>>,
}

static UI: OnceCell<std::result::Result<Ui, String>> = OnceCell::new();

thread_local! {
    static JOBS: RefCell<Option<mpsc::Receiver<Job>>> = const { RefCell::new(None) };
    static CURRENT: RefCell<Option<Rc<RefCell<Win>>>> = const { RefCell::new(None) };
}

fn ui() -> Result<&'static Ui> {
    let r = UI.get_or_init(|| {
        // The UI thread runs this DLL's code for the rest of the process.
        crate::platform::pin_module();
        let (ready_tx, ready_rx) = mpsc::channel::<std::result::Result<usize, String>>();
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("anaf-bridge-ui".into())
            .spawn(move || ui_thread(ready_tx, job_rx));
        if let Err(e) = spawned {
            return Err(e.to_string());
        }
        match ready_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(dispatch)) => Ok(Ui {
                dispatch,
                jobs: Mutex::new(job_tx),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the UI thread did not start".into()),
        }
    });
    r.as_ref().map_err(|e| {
        Error::with(
            ANAF_ERR_WINDOW,
            format!("(firul ferestrei: {e})"),
            format!("(window thread: {e})"),
        )
    })
}

/// This DLL's own module (not the host's exe): the window classes belong to it.
fn this_module() -> Option<HINSTANCE> {
    static ANCHOR: u8 = 0;
    let mut module = HMODULE::default();
    // SAFETY: FROM_ADDRESS reads the address of a static of this module; the out pointer
    // is valid; UNCHANGED_REFCOUNT takes no reference.
    unsafe {
        GetModuleHandleExW(
            GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
            PCWSTR(&ANCHOR as *const u8 as *const u16),
            &mut module,
        )
        .ok()?;
    }
    Some(module.into())
}

fn ui_thread(ready: mpsc::Sender<std::result::Result<usize, String>>, jobs: mpsc::Receiver<Job>) {
    // SAFETY: plain Win32 calls on this thread's own objects; the class names are static.
    unsafe {
        if let Err(e) = CoInitializeEx(None, COINIT_APARTMENTTHREADED).ok() {
            let _ = ready.send(Err(format!("CoInitializeEx: {e}")));
            return;
        }
        let instance = this_module();
        let dispatch_class = WNDCLASSEXW {
            cbSize: std::mem::size_of::<WNDCLASSEXW>() as u32,
            lpfnWndProc: Some(dispatch_proc),
            hInstance: instance.unwrap_or_default(),
            lpszClassName: w!("AnafBridgeDispatch"),
            ..Default::default()
        };
        RegisterClassExW(&dispatch_class);
        let login_class = WNDCLASSEXW {
            cbSize: std::mem::size_of::<WNDCLASSEXW>() as u32,
            lpfnWndProc: Some(login_proc),
            hInstance: instance.unwrap_or_default(),
            hCursor: LoadCursorW(None, IDC_ARROW).unwrap_or_default(),
            lpszClassName: w!("AnafBridgeLogin"),
            ..Default::default()
        };
        RegisterClassExW(&login_class);
        let dispatch = match CreateWindowExW(
            WINDOW_EX_STYLE(0),
            w!("AnafBridgeDispatch"),
            w!(""),
            WINDOW_STYLE(0),
            0,
            0,
            0,
            0,
            Some(HWND_MESSAGE),
            None,
            instance,
            None,
        ) {
            Ok(h) => h,
            Err(e) => {
                let _ = ready.send(Err(format!("CreateWindowExW: {e}")));
                return;
            }
        };
        JOBS.with(|j| *j.borrow_mut() = Some(jobs));
        let _ = ready.send(Ok(dispatch.0 as usize));
        let mut msg = MSG::default();
        while GetMessageW(&mut msg, None, 0, 0).as_bool() {
            let _ = TranslateMessage(&msg);
            DispatchMessageW(&msg);
        }
    }
}

unsafe extern "system" fn dispatch_proc(hwnd: HWND, msg: u32, wp: WPARAM, lp: LPARAM) -> LRESULT {
    if msg == WM_APP_JOB {
        let job = JOBS.with(|j| j.borrow().as_ref().and_then(|rx| rx.try_recv().ok()));
        if let Some(job) = job {
            // A panic must not unwind through the window procedure into user32.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        }
        return LRESULT(0);
    }
    DefWindowProcW(hwnd, msg, wp, lp)
}

thread_local! {
    /// A WM_QUIT the host thread received while we pumped its messages: posted again
    /// when the login call returns, so the host's own loop still sees it.
    static HOST_QUIT: std::cell::Cell<Option<i32>> = const { std::cell::Cell::new(None) };
}

/// Answers the host thread's pending messages (it may be the ERP's UI thread: its windows
/// repaint, and cross-thread messages from our owned window, e.g. EnableWindow, are
/// answered, as under any modal dialog). Waits at most `ms` for one to arrive.
fn pump_host(ms: u32) {
    // SAFETY: standard message pump calls with a valid MSG, on the calling thread.
    unsafe {
        MsgWaitForMultipleObjectsEx(None, ms, QS_ALLINPUT, MWMO_INPUTAVAILABLE);
        let mut msg = MSG::default();
        while PeekMessageW(&mut msg, None, 0, 0, PM_REMOVE).as_bool() {
            if msg.message == WM_QUIT {
                HOST_QUIT.with(|q| q.set(Some(msg.wParam.0 as i32)));
                continue;
            }
            let _ = TranslateMessage(&msg);
            DispatchMessageW(&msg);
        }
    }
}

/// What the host thread does while it waits for its turn.
pub fn idle() {
    pump_host(0);
}

/// Called when the login call returns: hands a WM_QUIT we swallowed back to the host.
pub fn after() {
    if let Some(code) = HOST_QUIT.with(|q| q.take()) {
        // SAFETY: re-posts the host's own quit request on its thread.
        unsafe { PostQuitMessage(code) };
    }
}

/// Waits for the window's end on the host thread, pumping the host thread's messages.
fn wait_pumping(rx: &mpsc::Receiver<End>, limit: Duration) -> Option<End> {
    let start = Instant::now();
    loop {
        match rx.try_recv() {
            Ok(end) => return Some(end),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) => {}
        }
        if start.elapsed() >= limit {
            return Some(End::TimedOut);
        }
        pump_host(50);
    }
}

/// Opens the window on the UI thread and blocks the calling thread until it ends.
pub fn run(req: Request) -> Result<End> {
    let ui = ui()?;
    let (tx, rx) = mpsc::channel::<End>();
    let limit = req.timeout + Duration::from_secs(30);
    {
        let jobs = ui.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let _ = jobs.send(Box::new(move || open(req, tx)));
    }
    // SAFETY: the dispatch window lives as long as the UI thread, i.e. the process.
    unsafe {
        PostMessageW(
            Some(HWND(ui.dispatch as *mut _)),
            WM_APP_JOB,
            WPARAM(0),
            LPARAM(0),
        )
        .map_err(|e| {
            Error::with(
                ANAF_ERR_WINDOW,
                format!("(PostMessage: {e})"),
                format!("(PostMessage: {e})"),
            )
        })?;
    }
    match wait_pumping(&rx, limit) {
        Some(end) => Ok(end),
        None => Err(Error::with(
            ANAF_ERR_WINDOW,
            "(firul ferestrei s-a oprit)",
            "(the window thread stopped)",
        )),
    }
}

// ---- one login window --------------------------------------------------------------

struct Win {
    done: Option<mpsc::Sender<End>>,
    /// How the window ended, sent to the host thread once the window is destroyed.
    report: Option<(mpsc::Sender<End>, End)>,
    hwnd: HWND,
    parent: HWND,
    webview: Option<wry::WebView>,
    opened: Instant,
    req: Request,
    close_requested: bool,
}

type Shared = Rc<RefCell<Win>>;

/// The login window as wry sees it.
struct Host(HWND);

impl HasWindowHandle for Host {
    fn window_handle(&self) -> std::result::Result<WindowHandle<'_>, HandleError> {
        let raw = NonZeroIsize::new(self.0 .0 as isize).ok_or(HandleError::Unavailable)?;
        let handle = Win32WindowHandle::new(raw);
        // SAFETY: the HWND is our live window; wry uses it only while we keep the WebView.
        Ok(unsafe { WindowHandle::borrow_raw(RawWindowHandle::Win32(handle)) })
    }
}

/// Ends the login once. The host thread is told only after the window is gone (in
/// `teardown`), so it keeps pumping its messages while the owner is re-enabled.
fn finish(win: &Shared, end: End) {
    let (done, hwnd) = {
        let mut w = win.borrow_mut();
        (w.done.take(), w.hwnd)
    };
    let Some(done) = done else { return };
    ::log::debug!(target: "anaf::login", "window ends: {end:?}");
    win.borrow_mut().report = Some((done, end));
    // SAFETY: posting to our own window; it tears itself down outside any WebView2 callback.
    unsafe {
        let _ = PostMessageW(Some(hwnd), WM_APP_TEARDOWN, WPARAM(0), LPARAM(0));
    }
}

fn ended(win: &Shared) -> bool {
    win.borrow().done.is_none()
}

fn current() -> Option<Shared> {
    CURRENT.with(|c| c.borrow().clone())
}

fn user_data_folder() -> Option<std::path::PathBuf> {
    // SAFETY: the returned string is CoTaskMemAlloc'd and freed here.
    unsafe {
        let p = SHGetKnownFolderPath(&FOLDERID_LocalAppData, KF_FLAG_DEFAULT, None).ok()?;
        let s = p.to_string().ok();
        CoTaskMemFree(Some(p.0 as *const _));
        let dir = std::path::PathBuf::from(s?)
            .join("anaf-bridge")
            .join("WebView2");
        let _ = std::fs::create_dir_all(&dir);
        Some(dir)
    }
}

fn environment(req: &Request) -> Result<ICoreWebView2Environment> {
    let rt = runtime(req)?;
    let data = user_data_folder().map(|d| wide(&d));
    let (tx, rx) = mpsc::channel();
    let r = CreateCoreWebView2EnvironmentCompletedHandler::wait_for_async_operation(
        Box::new(move |handler| {
            let d = data
                .as_ref()
                .map(|h| PCWSTR(h.as_ptr()))
                .unwrap_or(PCWSTR::null());
            // SAFETY: the string lives in this closure across the call; the handler is a
            // live COM object, kept by the runtime as WebView2's own loader does.
            unsafe { crate::platform::create_webview2_environment(&rt, d, handler.as_raw()) }
                .map_err(webview2_com::Error::WindowsError)
        }),
        Box::new(move |code, env| {
            code?;
            let _ = tx.send(env);
            Ok(())
        }),
    );
    // The runtime was found before the window opened: a failure here is something else
    // (the user data folder, policies, a broken install), reported with its HRESULT.
    let why = match r {
        Ok(()) => match rx.try_recv() {
            Ok(Some(env)) => return Ok(env),
            _ => "no environment".to_string(),
        },
        Err(e) => format!("{e:?}"),
    };
    let data = user_data_folder()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    Err(Error::with(
        ANAF_ERR_WINDOW,
        format!(
            "(WebView2: CreateCoreWebView2EnvironmentWithOptions: {why}; dosar de date: {data})"
        ),
        format!(
            "(WebView2: CreateCoreWebView2EnvironmentWithOptions: {why}; user data folder: {data})"
        ),
    ))
}

/// The serial of a WebView2 client certificate: from its PEM, else its DER serial field.
fn serial_of(c: &ICoreWebView2ClientCertificate) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    // SAFETY: COM getters with valid out pointers; the strings are CoTaskMemAlloc'd and freed.
    unsafe {
        let mut pem = PWSTR::null();
        if c.ToPemEncoding(&mut pem).is_ok() && !pem.is_null() {
            let text = pem.to_string().unwrap_or_default();
            CoTaskMemFree(Some(pem.0 as *const _));
            let body: String = text
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<Vec<_>>()
                .concat();
            if let Some(s) = b64
                .decode(body.trim())
                .ok()
                .and_then(|der| cert::serial_of_der(&der))
            {
                return s;
            }
        }
        let mut ser = PWSTR::null();
        if c.DerEncodedSerialNumber(&mut ser).is_ok() && !ser.is_null() {
            let text = ser.to_string().unwrap_or_default();
            CoTaskMemFree(Some(ser.0 as *const _));
            if let Ok(bytes) = b64.decode(text.trim()) {
                // Either the INTEGER's content or the whole TLV.
                if bytes.len() > 2 && bytes[0] == 0x02 && bytes[1] as usize == bytes.len() - 2 {
                    return hex::encode_upper(&bytes[2..]);
                }
                return hex::encode_upper(bytes);
            }
            return text;
        }
    }
    String::new()
}

fn on_certificate_requested(
    win: &Shared,
    args: &ICoreWebView2ClientCertificateRequestedEventArgs,
) -> windows::core::Result<()> {
    let configured = win.borrow().req.cert_serial.clone();
    // SAFETY: COM calls on live objects WebView2 passed to this handler.
    unsafe {
        let list = args.MutuallyTrustedCertificates()?;
        let mut count = 0u32;
        list.Count(&mut count)?;
        let mut certs = Vec::new();
        let mut offered = Vec::new();
        for i in 0..count {
            let c = list.GetValueAtIndex(i)?;
            offered.push(serial_of(&c));
            certs.push(c);
        }
        ::log::info!(target: "anaf::login", "certificates offered: {}", offered.join(", "));
        match cert::choose(configured.as_deref(), &offered) {
            cert::Choice::Use(i) => {
                args.SetSelectedCertificate(&certs[i])?;
                args.SetHandled(true)?;
            }
            cert::Choice::NotFound => {
                args.SetCancel(true)?;
                let e = cert::not_found_error(configured.as_deref().unwrap_or(""), &offered);
                finish(win, End::Failed(e));
            }
            cert::Choice::Ask => {
                // WebView2 shows its own picker.
                args.SetHandled(false)?;
            }
        }
    }
    Ok(())
}

fn on_navigation_completed(
    win: &Shared,
    view: Option<ICoreWebView2>,
    args: &ICoreWebView2NavigationCompletedEventArgs,
) -> windows::core::Result<()> {
    if ended(win) {
        return Ok(());
    }
    let Some(view) = view else { return Ok(()) };
    // SAFETY: COM calls on live objects WebView2 passed to this handler.
    unsafe {
        let mut source = PWSTR::null();
        view.Source(&mut source)?;
        let uri = source.to_string().unwrap_or_default();
        CoTaskMemFree(Some(source.0 as *const _));
        let mut ok = windows::core::BOOL(0);
        args.IsSuccess(&mut ok)?;
        if !ok.as_bool() {
            let mut status = COREWEBVIEW2_WEB_ERROR_STATUS::default();
            args.WebErrorStatus(&mut status)?;
            let e = match status {
                COREWEBVIEW2_WEB_ERROR_STATUS_OPERATION_CANCELED => return Ok(()),
                COREWEBVIEW2_WEB_ERROR_STATUS_CERTIFICATE_COMMON_NAME_IS_INCORRECT
                | COREWEBVIEW2_WEB_ERROR_STATUS_CERTIFICATE_EXPIRED
                | COREWEBVIEW2_WEB_ERROR_STATUS_CERTIFICATE_IS_INVALID
                | COREWEBVIEW2_WEB_ERROR_STATUS_CERTIFICATE_REVOKED
                | COREWEBVIEW2_WEB_ERROR_STATUS_CLIENT_CERTIFICATE_CONTAINS_ERRORS => {
                    flow::tls_error(&uri, &format!("WebView2 error status {}", status.0))
                }
                _ => flow::network_error(&uri, &format!("WebView2 error status {}", status.0)),
            };
            finish(win, End::Failed(e));
            return Ok(());
        }
        let Ok(args2) = args.cast::<ICoreWebView2NavigationCompletedEventArgs2>() else {
            return Ok(());
        };
        let mut http = 0i32;
        args2.HttpStatusCode(&mut http)?;
        let idp_host = win.borrow().req.idp.host_str().map(str::to_string);
        let on_idp = Url::parse(&uri)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            == idp_host;
        if http >= 400 && on_idp {
            let w = win.clone();
            let handler =
                ExecuteScriptCompletedHandler::create(Box::new(move |_hr, json: String| {
                    guarded(Ok(()), || {
                        let text: String = serde_json::from_str(&json).unwrap_or(json);
                        finish(&w, End::Failed(flow::error_page(http as u32, &text)));
                        Ok(())
                    })
                }));
            view.ExecuteScript(w!("document.body ? document.body.innerText : ''"), &handler)?;
        }
    }
    Ok(())
}

fn open(req: Request, done: mpsc::Sender<End>) {
    let parent = HWND(req.parent as *mut _);
    let has_parent = req.parent != 0;
    let title = HSTRING::from(req.title.as_str());
    // SAFETY: Win32 calls on this (UI) thread; the parent HWND comes from the host and is
    // only used as owner / for EnableWindow, which tolerate a stale handle.
    let hwnd = unsafe {
        let mut x = CW_USEDEFAULT;
        let mut y = CW_USEDEFAULT;
        let (w, h) = (900, 720);
        let mut r = RECT::default();
        if has_parent && GetWindowRect(parent, &mut r).is_ok() {
            x = r.left + ((r.right - r.left) - w) / 2;
            y = r.top + ((r.bottom - r.top) - h) / 2;
        }
        CreateWindowExW(
            WINDOW_EX_STYLE(0),
            w!("AnafBridgeLogin"),
            &title,
            WS_OVERLAPPEDWINDOW,
            x.max(0),
            y.max(0),
            w,
            h,
            if has_parent { Some(parent) } else { None },
            None,
            this_module(),
            None,
        )
    };
    let hwnd = match hwnd {
        Ok(h) => h,
        Err(e) => {
            let _ = done.send(End::Failed(Error::with(
                ANAF_ERR_WINDOW,
                format!("(CreateWindowExW: {e})"),
                format!("(CreateWindowExW: {e})"),
            )));
            return;
        }
    };
    let win: Shared = Rc::new(RefCell::new(Win {
        done: Some(done),
        hwnd,
        parent,
        webview: None,
        opened: Instant::now(),
        req: req.clone(),
        close_requested: false,
        report: None,
    }));
    CURRENT.with(|c| *c.borrow_mut() = Some(win.clone()));
    // SAFETY: our window, this thread; the parent is disabled for the window's life (modal).
    unsafe {
        if has_parent {
            let _ = EnableWindow(parent, false);
        }
        let _ = ShowWindow(hwnd, SW_SHOW);
        let _ = SetForegroundWindow(hwnd);
        SetTimer(Some(hwnd), TIMER_ID, 100, None);
    }

    let env = match environment(&req) {
        Ok(e) => e,
        Err(e) => {
            finish(&win, End::Failed(e));
            return;
        }
    };
    let nav_win = win.clone();
    let (idp, redirect) = (req.idp.clone(), req.redirect.clone());
    let built = WebViewBuilder::new()
        .with_url(req.url.clone())
        .with_incognito(true)
        .with_devtools(false)
        .with_environment(env)
        .with_navigation_handler(move |uri: String| {
            // A panic refuses the navigation: nothing unchecked is loaded.
            guarded(false, || match flow::navigation(&uri, &idp, &redirect) {
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
            })
        })
        .with_new_window_req_handler(|_, _| wry::NewWindowResponse::Deny)
        .build(&Host(hwnd));
    let webview = match built {
        Ok(w) => w,
        Err(e) => {
            finish(
                &win,
                End::Failed(Error::with(
                    ANAF_ERR_WINDOW,
                    format!("(WebView2: {e})"),
                    format!("(WebView2: {e})"),
                )),
            );
            return;
        }
    };
    let core = webview.webview();
    let mut token = 0i64;
    let cert_win = win.clone();
    let cert_handler = ClientCertificateRequestedEventHandler::create(Box::new(move |_, args| {
        guarded(Ok(()), || {
            if let Some(args) = args {
                if let Err(e) = on_certificate_requested(&cert_win, &args) {
                    finish(
                        &cert_win,
                        End::Failed(flow::tls_error(
                            "ClientCertificateRequested",
                            &e.to_string(),
                        )),
                    );
                }
            }
            Ok(())
        })
    }));
    let nav_done_win = win.clone();
    let nav_handler = NavigationCompletedEventHandler::create(Box::new(move |view, args| {
        guarded(Ok(()), || {
            if let Some(args) = args {
                let _ = on_navigation_completed(&nav_done_win, view, &args);
            }
            Ok(())
        })
    }));
    // SAFETY: registering handlers on the live ICoreWebView2 of this window.
    let registered = unsafe {
        core.cast::<ICoreWebView2_5>()
            .and_then(|c5| c5.add_ClientCertificateRequested(&cert_handler, &mut token))
            .and_then(|_| core.add_NavigationCompleted(&nav_handler, &mut token))
    };
    if let Err(e) = registered {
        ::log::warn!(target: "anaf::login", "WebView2 handlers: {e}");
        finish(
            &win,
            End::Failed(Error::with(
                ANAF_ERR_WEBVIEW2_MISSING,
                format!("(WebView2 prea vechi: {e})"),
                format!("(WebView2 too old: {e})"),
            )),
        );
    }
    win.borrow_mut().webview = Some(webview);
    ::log::info!(target: "anaf::login", "login window opened");
}

fn tick(win: &Shared) {
    if ended(win) {
        return;
    }
    let (elapsed, cancel, timeout, test_close, hwnd, requested) = {
        let w = win.borrow();
        (
            w.opened.elapsed(),
            w.req.cancel.load(Ordering::SeqCst),
            w.req.timeout,
            w.req.test_close_after,
            w.hwnd,
            w.close_requested,
        )
    };
    if cancel {
        finish(win, End::Cancelled);
    } else if elapsed >= timeout {
        finish(win, End::TimedOut);
    } else if let Some(after) = test_close {
        if elapsed >= after && !requested {
            win.borrow_mut().close_requested = true;
            // SAFETY: as the user's click on the close button.
            unsafe {
                let _ = PostMessageW(Some(hwnd), WM_CLOSE, WPARAM(0), LPARAM(0));
            }
        }
    }
}

fn teardown(win: &Shared) {
    let (webview, hwnd, parent, report) = {
        let mut w = win.borrow_mut();
        (w.webview.take(), w.hwnd, w.parent, w.report.take())
    };
    drop(webview);
    // SAFETY: our window on this thread; the owner is enabled again before we go (modal rule).
    unsafe {
        let _ = KillTimer(Some(hwnd), TIMER_ID);
        if !parent.0.is_null() {
            let _ = EnableWindow(parent, true);
            let _ = SetForegroundWindow(parent);
        }
        let _ = DestroyWindow(hwnd);
    }
    CURRENT.with(|c| *c.borrow_mut() = None);
    if let Some((done, end)) = report {
        let _ = done.send(end);
    }
}

unsafe extern "system" fn login_proc(hwnd: HWND, msg: u32, wp: WPARAM, lp: LPARAM) -> LRESULT {
    let handled = std::panic::catch_unwind(|| {
        let win = current().filter(|w| w.borrow().hwnd == hwnd)?;
        match msg {
            WM_CLOSE => {
                finish(&win, End::Closed);
                Some(LRESULT(0))
            }
            WM_TIMER if wp.0 == TIMER_ID => {
                tick(&win);
                Some(LRESULT(0))
            }
            WM_APP_TEARDOWN => {
                teardown(&win);
                Some(LRESULT(0))
            }
            WM_DESTROY => {
                // Destroyed from outside (e.g. with its owner): report it as closed.
                let (done, report, webview) = {
                    let mut w = win.borrow_mut();
                    (w.done.take(), w.report.take(), w.webview.take())
                };
                drop(webview);
                if let Some(done) = done {
                    let _ = done.send(End::Closed);
                }
                if let Some((done, end)) = report {
                    let _ = done.send(end);
                }
                CURRENT.with(|c| *c.borrow_mut() = None);
                None
            }
            _ => None,
        }
    });
    match handled {
        Ok(Some(r)) => r,
        _ => DefWindowProcW(hwnd, msg, wp, lp),
    }
}
