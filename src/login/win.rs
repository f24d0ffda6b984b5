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
use super::decide;
use super::flow::{self, guarded, End, Nav, Request};
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
use webview2_com::Microsoft::Web::WebView2::Win32::*;
use webview2_com::{
    ClientCertificateRequestedEventHandler, CreateCoreWebView2EnvironmentCompletedHandler,
    ExecuteScriptCompletedHandler, NavigationCompletedEventHandler, NavigationStartingEventHandler,
};
use windows::core::{w, Interface, HSTRING, PCWSTR, PWSTR};
use windows::Win32::Foundation::{HINSTANCE, HMODULE};
use windows::Win32::Foundation::{HWND, LPARAM, LRESULT, RECT, WPARAM};
use windows::Win32::Graphics::Gdi::{
    GetDC, GetDeviceCaps, GetMonitorInfoW, MonitorFromWindow, ReleaseDC, LOGPIXELSY, MONITORINFO,
    MONITOR_DEFAULTTONEAREST, MONITOR_DEFAULTTOPRIMARY,
};
use windows::Win32::System::Com::{CoInitializeEx, CoTaskMemFree, COINIT_APARTMENTTHREADED};
use windows::Win32::System::LibraryLoader::{
    GetModuleFileNameW, GetModuleHandleExW, GetModuleHandleW, GetProcAddress,
    GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
};
use windows::Win32::UI::Input::KeyboardAndMouse::{EnableWindow, IsWindowEnabled};
use windows::Win32::UI::Shell::{
    FOLDERID_LocalAppData, FOLDERID_ProgramFiles, FOLDERID_ProgramFilesX86, FOLDERID_Windows,
    SHGetKnownFolderPath, KF_FLAG_DEFAULT,
};
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
fn webview2_missing(why: &crate::platform::NoRuntime) -> Error {
    let (ro, en) = crate::platform::missing_runtime_advice(
        crate::platform::native_machine(),
        cfg!(target_pointer_width = "64"),
        why.fixed,
    );
    Error::with(
        ANAF_ERR_WEBVIEW2_MISSING,
        format!("{ro} ({})", why.ro),
        format!("{en} ({})", why.en),
    )
}

/// The WebView2 runtime for this login (checked by platform's rule), found before any
/// window opens and again when the environment is created.
fn runtime(req: &Request) -> Result<crate::platform::Runtime> {
    crate::platform::webview2_runtime(req.webview2_folder.as_deref())
        .map_err(|why| webview2_missing(&why))
}

/// Checks the WebView2 runtime before any window opens.
pub fn preflight(req: &Request) -> Result<()> {
    let rt = runtime(req)?;
    let channel = rt
        .channel
        .map(|c| format!(" ({})", c.name()))
        .unwrap_or_default();
    ::log::info!(target: "anaf::login", "WebView2 runtime {}{channel} in {} (from {})", rt.version, rt.folder.display(), rt.source.name());
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
    /// The window that owns the dialog (`decide::owner`) and its enabled state before.
    owner: Option<decide::OwnerState>,
    webview: Option<wry::WebView>,
    /// The browser process (ICoreWebView2::BrowserProcessId), allowed to the foreground.
    browser_pid: u32,
    opened: Instant,
    req: Request,
    close_requested: bool,
    /// A client certificate was sent (chosen here, or WebView2's picker shown).
    certificate_sent: bool,
    /// `open` is still creating the environment and the controller, which pump messages:
    /// a teardown asked meanwhile waits until `open` is done with the window.
    building: bool,
    teardown_pending: bool,
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

/// A known folder of the shell, as text.
fn known_folder(id: &windows::core::GUID) -> Option<String> {
    // SAFETY: the returned string is CoTaskMemAlloc'd and freed here.
    unsafe {
        let p = SHGetKnownFolderPath(id, KF_FLAG_DEFAULT, None).ok()?;
        let s = p.to_string().ok();
        CoTaskMemFree(Some(p.0 as *const _));
        s
    }
}

/// Whether this process runs elevated (TokenElevation of its own token).
fn elevated() -> bool {
    use windows::Win32::Foundation::{CloseHandle, HANDLE};
    use windows::Win32::Security::{
        GetTokenInformation, TokenElevation, TOKEN_ELEVATION, TOKEN_QUERY,
    };
    use windows::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};
    // SAFETY: our own process token, queried into a local struct of the size given, closed here.
    unsafe {
        let mut token = HANDLE::default();
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token).is_err() {
            return false;
        }
        let mut info = TOKEN_ELEVATION::default();
        let mut len = 0u32;
        let ok = GetTokenInformation(
            token,
            TokenElevation,
            Some(&mut info as *mut TOKEN_ELEVATION as *mut std::ffi::c_void),
            std::mem::size_of::<TOKEN_ELEVATION>() as u32,
            &mut len,
        )
        .is_ok();
        let _ = CloseHandle(token);
        ok && info.TokenIsElevated != 0
    }
}

/// This thread's DPI awareness (DPI_AWARENESS 0/1/2): GetThreadDpiAwarenessContext and
/// GetAwarenessFromDpiAwarenessContext, looked up at run time (Windows 10 1607); None
/// before that, or when unknown.
fn dpi_awareness() -> Option<u32> {
    type Awareness = unsafe extern "system" fn(isize) -> i32;
    // SAFETY: user32 is loaded in every GUI process; both functions have their documented
    // signatures (DPI_AWARENESS_CONTEXT is a handle-sized value).
    unsafe {
        let user32 = GetModuleHandleW(w!("user32.dll")).ok()?;
        let ctx = GetProcAddress(user32, windows::core::s!("GetThreadDpiAwarenessContext"))?;
        let aw = GetProcAddress(
            user32,
            windows::core::s!("GetAwarenessFromDpiAwarenessContext"),
        )?;
        // GetProcAddress's own type is `fn() -> isize`, GetThreadDpiAwarenessContext's.
        let aw: Awareness = std::mem::transmute(aw);
        let a = aw(ctx());
        (0..=2).contains(&a).then_some(a as u32)
    }
}

/// The folder of this DLL (not of the host's exe).
fn dll_dir() -> Option<String> {
    let module = this_module()?;
    let mut buf = vec![0u16; 1024];
    // SAFETY: the buffer is writable for its length; the module is this DLL.
    let n = unsafe { GetModuleFileNameW(Some(HMODULE(module.0)), &mut buf) } as usize;
    if n == 0 || n >= buf.len() {
        return None;
    }
    let path = String::from_utf16_lossy(&buf[..n]);
    path.rfind('\\').map(|i| path[..i].to_string())
}

/// The user data folder for this runtime and elevation (`decide::user_data_folder`).
fn user_data_folder(rt: &crate::platform::Runtime) -> Option<std::path::PathBuf> {
    let local = known_folder(&FOLDERID_LocalAppData);
    let temp = std::env::temp_dir().display().to_string();
    let dll = dll_dir();
    let refused: Vec<String> = [
        FOLDERID_ProgramFiles,
        FOLDERID_ProgramFilesX86,
        FOLDERID_Windows,
    ]
    .iter()
    .filter_map(known_folder)
    .collect();
    let folder = rt.folder.display().to_string();
    let dir = decide::user_data_folder(
        &decide::FolderPlaces {
            local_app_data: local.as_deref(),
            temp: Some(&temp),
            dll_dir: dll.as_deref(),
            refused: &refused,
        },
        &decide::RuntimeKind {
            fixed: rt.fixed,
            folder: &folder,
            version: &rt.version,
            dpi_awareness: dpi_awareness(),
        },
        elevated(),
    )?;
    let dir = std::path::PathBuf::from(dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        ::log::warn!(target: "anaf::login", "WebView2 user data folder {}: {e}", dir.display());
    }
    Some(dir)
}

thread_local! {
    /// The last environment made on the UI thread, with its runtime and user data folder:
    /// reused by the next login on the same ones (the supported pattern — one environment,
    /// controllers created and closed from it, a browser process started again as needed).
    static ENV: RefCell<Option<(String, ICoreWebView2Environment)>> = const { RefCell::new(None) };
}

/// The environment for this login: the cached one if its runtime and user data folder are
/// the same and `fresh` is false (then `true` is returned with it), else a new one.
fn environment(
    win: &Shared,
    req: &Request,
    fresh: bool,
) -> Result<(ICoreWebView2Environment, bool)> {
    let rt = runtime(req)?;
    let folder = user_data_folder(&rt);
    let shown = folder
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    ::log::info!(target: "anaf::login", "WebView2 user data folder {shown}");
    let Some(folder) = folder else {
        return Err(Error::with(
            ANAF_ERR_WINDOW,
            "(WebView2: niciun dosar de date potrivit: nici AppData\\Local, nici dosarul temporar)",
            "(WebView2: no usable user data folder: neither AppData\\Local nor the temporary folder)",
        ));
    };
    let key = format!("{}|{shown}", rt.folder.display());
    if !fresh {
        let cached = ENV.with(|c| {
            c.borrow()
                .as_ref()
                .filter(|(k, _)| *k == key)
                .map(|(_, e)| e.clone())
        });
        if let Some(env) = cached {
            return Ok((env, true));
        }
    }
    let mut attempt = 0;
    let why = loop {
        match create_environment(&rt, &folder) {
            Ok(env) => {
                ENV.with(|c| *c.borrow_mut() = Some((key, env.clone())));
                return Ok((env, false));
            }
            Err((why, hresult)) => match decide::retry_environment(hresult, attempt) {
                Some(wait) if !ended(win) => {
                    ::log::warn!(target: "anaf::login", "WebView2 environment: {why}; again in {} ms", wait.as_millis());
                    attempt += 1;
                    // Answers this thread's messages meanwhile (the window paints, closes).
                    let until = Instant::now() + wait;
                    while Instant::now() < until && !ended(win) {
                        let left = until.saturating_duration_since(Instant::now());
                        pump_host(left.as_millis().min(100) as u32);
                    }
                }
                _ => break why,
            },
        }
    };
    // The runtime was found before the window opened: a failure here is something else
    // (the user data folder, policies, a broken install), reported with its HRESULT.
    Err(Error::with(
        ANAF_ERR_WINDOW,
        format!(
            "(WebView2: CreateCoreWebView2EnvironmentWithOptions: {why}; dosar de date: {shown})"
        ),
        format!(
            "(WebView2: CreateCoreWebView2EnvironmentWithOptions: {why}; user data folder: {shown})"
        ),
    ))
}

/// One environment creation through the DLL's loader: the environment, or what failed and
/// its HRESULT.
fn create_environment(
    rt: &crate::platform::Runtime,
    folder: &std::path::Path,
) -> std::result::Result<ICoreWebView2Environment, (String, Option<u32>)> {
    let data = wide(folder);
    let rt = rt.clone();
    let (tx, rx) = mpsc::channel();
    let r = CreateCoreWebView2EnvironmentCompletedHandler::wait_for_async_operation(
        Box::new(move |handler| {
            // SAFETY: the string lives in this closure across the call; the handler is a
            // live COM object, kept by the runtime as WebView2's own loader does.
            unsafe {
                crate::platform::create_webview2_environment(
                    &rt,
                    PCWSTR(data.as_ptr()),
                    handler.as_raw(),
                )
            }
            .map_err(webview2_com::Error::WindowsError)
        }),
        Box::new(move |code, env| {
            code?;
            let _ = tx.send(env);
            Ok(())
        }),
    );
    match r {
        Ok(()) => match rx.try_recv() {
            Ok(Some(env)) => Ok(env),
            _ => Err(("no environment".to_string(), None)),
        },
        Err(e) => {
            let hresult = match &e {
                webview2_com::Error::WindowsError(w) => Some(w.code().0 as u32),
                _ => None,
            };
            Err((format!("{e:?}"), hresult))
        }
    }
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

/// A PWSTR WebView2 allocated, as text, freed.
///
/// # Safety
/// `p` is NULL or a CoTaskMemAlloc'd NUL-terminated string nobody else frees.
unsafe fn take_string(p: PWSTR) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: as the caller vouches.
    unsafe {
        let s = p.to_string().unwrap_or_default();
        CoTaskMemFree(Some(p.0 as *const _));
        s
    }
}

/// Lets the browser process take the foreground: the certificate is chosen in code, so
/// that process never gets the user's input, and the token's PIN prompt (shown from it)
/// could open behind the window or without focus.
fn allow_browser_foreground(win: &Shared) {
    let pid = win.borrow().browser_pid;
    if pid != 0 {
        // SAFETY: a plain call; fails harmlessly when we may not grant the foreground.
        if let Err(e) = unsafe { AllowSetForegroundWindow(pid) } {
            ::log::debug!(target: "anaf::login", "AllowSetForegroundWindow({pid}): {e}");
        }
    }
}

fn on_certificate_requested(
    win: &Shared,
    args: &ICoreWebView2ClientCertificateRequestedEventArgs,
) -> windows::core::Result<()> {
    let (configured, idp) = {
        let w = win.borrow();
        (w.req.cert_serial.clone(), w.req.idp.clone())
    };
    // SAFETY: COM calls on live objects WebView2 passed to this handler.
    unsafe {
        let mut host = PWSTR::null();
        args.Host(&mut host)?;
        let host = take_string(host);
        let mut is_proxy = windows::core::BOOL(0);
        args.IsProxy(&mut is_proxy)?;
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
        let is_proxy = is_proxy.as_bool();
        ::log::info!(target: "anaf::login", "client certificate asked by {host} (proxy: {is_proxy}); offered: {}", offered.join(", "));
        let asked = decide::CertRequest {
            host: &host,
            is_proxy,
            offered: &offered,
            configured: configured.as_deref(),
            already_sent: win.borrow().certificate_sent,
        };
        match decide::certificate(&asked, &idp) {
            decide::CertAnswer::Use(i) => {
                args.SetSelectedCertificate(&certs[i])?;
                args.SetHandled(true)?;
                win.borrow_mut().certificate_sent = true;
                allow_browser_foreground(win);
            }
            decide::CertAnswer::Picker => {
                // WebView2 shows its own picker.
                args.SetHandled(false)?;
                win.borrow_mut().certificate_sent = true;
                allow_browser_foreground(win);
            }
            decide::CertAnswer::WithoutCertificate => {
                // Handled without a SelectedCertificate: answered without a certificate.
                args.SetHandled(true)?;
            }
            decide::CertAnswer::PlatformDefault => {
                args.SetHandled(false)?;
            }
            decide::CertAnswer::Fail(e) => {
                args.SetCancel(true)?;
                finish(win, End::Failed(e));
            }
        }
    }
    Ok(())
}

fn on_navigation_starting(
    win: &Shared,
    args: &ICoreWebView2NavigationStartingEventArgs,
) -> windows::core::Result<()> {
    // SAFETY: COM calls on live objects WebView2 passed to this handler.
    unsafe {
        let mut uri = PWSTR::null();
        args.Uri(&mut uri)?;
        let uri = take_string(uri);
        let mut redirected = windows::core::BOOL(0);
        let _ = args.IsRedirected(&mut redirected);
        let (idp, redirect) = {
            let w = win.borrow();
            (w.req.idp.clone(), w.req.redirect.clone())
        };
        if ended(win) {
            // The login is over: nothing more is loaded.
            return args.SetCancel(true);
        }
        match decide::navigation_starting(&uri, redirected.as_bool(), &idp, &redirect) {
            Nav::Allow => {}
            Nav::Redirect => {
                args.SetCancel(true)?;
                let open_to_code = win.borrow().opened.elapsed();
                finish(
                    win,
                    End::Redirect {
                        url: uri,
                        open_to_code,
                    },
                );
            }
            Nav::Refuse(e) => {
                args.SetCancel(true)?;
                ::log::warn!(target: "anaf::login", "navigation refused: {e:?}");
                finish(win, End::Failed(e));
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
        let uri = take_string(source);
        let mut ok = windows::core::BOOL(0);
        args.IsSuccess(&mut ok)?;
        let mut status = COREWEBVIEW2_WEB_ERROR_STATUS::default();
        args.WebErrorStatus(&mut status)?;
        // HttpStatusCode: ICoreWebView2NavigationCompletedEventArgs2 (WebView2 1.0.1245.22).
        let mut http = 0i32;
        if let Ok(args2) = args.cast::<ICoreWebView2NavigationCompletedEventArgs2>() {
            let _ = args2.HttpStatusCode(&mut http);
        }
        let (idp, certificate_sent) = {
            let w = win.borrow();
            (w.req.idp.clone(), w.certificate_sent)
        };
        let done = decide::Completed {
            uri: &uri,
            is_success: ok.as_bool(),
            web_error: decide::WebError::from_code(status.0),
            http_status: http,
            certificate_sent,
            detail: None,
        };
        match decide::navigation_completed(&done, &idp) {
            decide::AfterLoad::Nothing => {}
            decide::AfterLoad::Ignore(why) => {
                ::log::info!(target: "anaf::login", "navigation not completed, not fatal: {why} ({}, HTTP {http})", status.0);
            }
            decide::AfterLoad::Fail(e) => finish(win, End::Failed(e)),
            decide::AfterLoad::ReadErrorPage(http) => {
                let w = win.clone();
                let handler =
                    ExecuteScriptCompletedHandler::create(Box::new(move |_hr, json: String| {
                        guarded(Ok(()), || {
                            let text: String = serde_json::from_str(&json).unwrap_or(json);
                            finish(&w, End::Failed(flow::error_page(http, &text)));
                            Ok(())
                        })
                    }));
                view.ExecuteScript(w!("document.body ? document.body.innerText : ''"), &handler)?;
            }
        }
    }
    Ok(())
}

/// The owner the ERP's handle stands for (`decide::owner`), with its enabled state now.
fn owner_of(parent: usize) -> Option<decide::OwnerState> {
    let hwnd = HWND(parent as *mut _);
    // SAFETY: queries that tolerate any handle value (a stale one gives FALSE / NULL).
    unsafe {
        let is_window = parent != 0 && IsWindow(Some(hwnd)).as_bool();
        let root = if is_window {
            GetAncestor(hwnd, GA_ROOT).0 as usize
        } else {
            0
        };
        let refused = [GetDesktopWindow().0 as usize, GetShellWindow().0 as usize];
        let refused: Vec<usize> = refused.into_iter().filter(|h| *h != 0).collect();
        // Whether the top-level window's thread answers: EnableWindow sends it WM_ENABLE
        // and waits. The calling thread answers while it waits for the login (pump_host).
        let top = if root != 0 { root } else { parent };
        let answers = is_window
            && SendMessageTimeoutW(
                HWND(top as *mut _),
                WM_NULL,
                WPARAM(0),
                LPARAM(0),
                SMTO_ABORTIFHUNG | SMTO_ERRORONEXIT,
                1500,
                None,
            )
            .0 != 0;
        let owner = decide::owner(parent, is_window, root, &refused, answers);
        if owner.is_none() && parent != 0 {
            ::log::warn!(target: "anaf::login", "parent window {parent:#x} not used as owner (not a window, the desktop or the shell, or its thread does not answer: {answers})");
        }
        owner.map(|o| {
            let h = HWND(o as *mut _);
            decide::OwnerState::new(o, IsWindowEnabled(h).as_bool())
        })
    }
}

/// The DPI the window is shown at: the owner's (GetDpiForWindow, looked up at run time,
/// since Windows 10 1607), else the system's.
fn dpi_of(owner: Option<HWND>) -> u32 {
    type DpiForWindow = unsafe extern "system" fn(HWND) -> u32;
    // SAFETY: user32 is loaded in every GUI process; the function's type is its documented
    // signature; the DC is the screen's, released here.
    unsafe {
        if let (Some(h), Ok(user32)) = (owner, GetModuleHandleW(w!("user32.dll"))) {
            if let Some(f) = GetProcAddress(user32, windows::core::s!("GetDpiForWindow")) {
                let f: DpiForWindow = std::mem::transmute(f);
                let dpi = f(h);
                if dpi != 0 {
                    return dpi;
                }
            }
        }
        let dc = GetDC(None);
        let dpi = GetDeviceCaps(Some(dc), LOGPIXELSY);
        ReleaseDC(None, dc);
        dpi.max(0) as u32
    }
}

/// Where the window goes (`decide::placement`): on the owner's monitor, else the primary.
fn placement(owner: Option<HWND>) -> decide::Rect {
    let to = |r: RECT| decide::Rect {
        left: r.left,
        top: r.top,
        right: r.right,
        bottom: r.bottom,
    };
    // SAFETY: queries with valid out pointers; a stale owner gives the primary monitor.
    unsafe {
        let monitor = match owner {
            Some(h) => MonitorFromWindow(h, MONITOR_DEFAULTTONEAREST),
            None => MonitorFromWindow(HWND::default(), MONITOR_DEFAULTTOPRIMARY),
        };
        let mut info = MONITORINFO {
            cbSize: std::mem::size_of::<MONITORINFO>() as u32,
            ..Default::default()
        };
        let work = if GetMonitorInfoW(monitor, &mut info).as_bool() {
            to(info.rcWork)
        } else {
            decide::Rect {
                left: 0,
                top: 0,
                right: 1024,
                bottom: 768,
            }
        };
        let mut r = RECT::default();
        let owner_rect = owner
            .filter(|h| GetWindowRect(*h, &mut r).is_ok())
            .map(|_| to(r));
        decide::placement(owner_rect, work, dpi_of(owner))
    }
}

fn open(req: Request, done: mpsc::Sender<End>) {
    let owner = owner_of(req.parent);
    let owner_hwnd = owner.as_ref().map(|o| HWND(o.hwnd as *mut _));
    let title = HSTRING::from(req.title.as_str());
    let at = placement(owner_hwnd);
    // An owned modal window has no minimize box: minimized, it would leave the ERP
    // disabled with nothing on the screen to bring back.
    let style = if owner_hwnd.is_some() {
        WINDOW_STYLE(WS_OVERLAPPEDWINDOW.0 & !WS_MINIMIZEBOX.0)
    } else {
        WS_OVERLAPPEDWINDOW
    };
    // SAFETY: Win32 calls on this (UI) thread; the owner HWND comes from the host and is
    // only used as owner / for EnableWindow, which tolerate a stale handle.
    let hwnd = unsafe {
        CreateWindowExW(
            WINDOW_EX_STYLE(0),
            w!("AnafBridgeLogin"),
            &title,
            style,
            at.left,
            at.top,
            at.width(),
            at.height(),
            owner_hwnd,
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
        owner,
        webview: None,
        browser_pid: 0,
        opened: Instant::now(),
        req: req.clone(),
        close_requested: false,
        report: None,
        certificate_sent: false,
        building: true,
        teardown_pending: false,
    }));
    CURRENT.with(|c| *c.borrow_mut() = Some(win.clone()));
    // SAFETY: our window, this thread; the owner is disabled for the window's life (modal),
    // if it was enabled (`OwnerState`).
    unsafe {
        if let Some(o) = win.borrow().owner.as_ref() {
            if o.disable() {
                let _ = EnableWindow(HWND(o.hwnd as *mut _), false);
            }
        }
        let _ = ShowWindow(hwnd, SW_SHOW);
        let _ = SetForegroundWindow(hwnd);
        SetTimer(Some(hwnd), TIMER_ID, 100, None);
    }

    let built = build(&win, &req, hwnd);
    let pending = {
        let mut w = win.borrow_mut();
        w.building = false;
        w.teardown_pending
    };
    match built {
        Ok(()) => ::log::info!(target: "anaf::login", "login window opened"),
        Err(e) => finish(&win, End::Failed(e)),
    }
    if pending {
        teardown(&win);
    }
}

/// The environment, the web view and its handlers, then the first navigation — in that
/// order, so no navigation happens before the handlers that check it.
fn build(win: &Shared, req: &Request, hwnd: HWND) -> Result<()> {
    let window_error = |what: &str, e: &dyn std::fmt::Display| {
        Error::with(
            ANAF_ERR_WINDOW,
            format!("({what}: {e})"),
            format!("({what}: {e})"),
        )
    };
    let make = |env: ICoreWebView2Environment| {
        WebViewBuilder::new()
            .with_incognito(true)
            .with_devtools(false)
            .with_environment(env)
            .with_new_window_req_handler(|_, _| wry::NewWindowResponse::Deny)
            // Nothing is downloaded from the login window (DownloadStarting cancelled).
            .with_download_started_handler(|_, _| false)
            .build(&Host(hwnd))
    };
    let (env, reused) = environment(win, req, false)?;
    // The environment's creation pumps messages: the window may have ended meanwhile.
    if ended(win) {
        return Ok(());
    }
    let webview = match make(env) {
        Ok(w) => w,
        // A reused environment whose runtime went (an Evergreen update) or whose browser
        // process failed: once more with a new one.
        Err(e) if reused => {
            ::log::warn!(target: "anaf::login", "WebView2 controller on the reused environment: {e}; a new environment");
            ENV.with(|c| *c.borrow_mut() = None);
            let (env, _) = environment(win, req, true)?;
            if ended(win) {
                return Ok(());
            }
            make(env).map_err(|e| window_error("WebView2", &e))?
        }
        Err(e) => return Err(window_error("WebView2", &e)),
    };
    if ended(win) {
        return Ok(());
    }
    let core = webview.webview();
    let mut pid = 0u32;
    // SAFETY: a getter on the live ICoreWebView2 of this window.
    if unsafe { core.BrowserProcessId(&mut pid) }.is_ok() {
        win.borrow_mut().browser_pid = pid;
    }
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
    let start_win = win.clone();
    let start_handler = NavigationStartingEventHandler::create(Box::new(move |_, args| {
        // A panic or a failure refuses the navigation: nothing unchecked is loaded.
        guarded(Ok(()), || {
            if let Some(args) = args {
                if on_navigation_starting(&start_win, &args).is_err() {
                    // SAFETY: the live args of this event.
                    let _ = unsafe { args.SetCancel(true) };
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
    let mut token = 0i64;
    // SAFETY: registering handlers on the live ICoreWebView2 of this window.
    let registered = unsafe {
        core.add_NavigationStarting(&start_handler, &mut token)
            .and_then(|_| core.add_NavigationCompleted(&nav_handler, &mut token))
            .and_then(|_| core.cast::<ICoreWebView2_5>())
            .and_then(|c5| c5.add_ClientCertificateRequested(&cert_handler, &mut token))
    };
    if let Err(e) = registered {
        ::log::warn!(target: "anaf::login", "WebView2 handlers: {e}");
        return Err(Error::with(
            ANAF_ERR_WEBVIEW2_MISSING,
            format!("(WebView2 prea vechi: {e})"),
            format!("(WebView2 too old: {e})"),
        ));
    }
    allow_browser_foreground(win);
    webview
        .load_url(&req.url)
        .map_err(|e| window_error("WebView2 Navigate", &e))?;
    win.borrow_mut().webview = Some(webview);
    Ok(())
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

/// Gives the owner back its enabled state from before (once: `OwnerState::restore`).
fn restore_owner(win: &Shared) {
    let enable = {
        let mut w = win.borrow_mut();
        w.owner.as_mut().and_then(|o| o.restore().then_some(o.hwnd))
    };
    if let Some(h) = enable {
        let h = HWND(h as *mut _);
        // SAFETY: the owner handle from the host; EnableWindow tolerates a stale one.
        unsafe {
            let _ = EnableWindow(h, true);
            let _ = SetForegroundWindow(h);
        }
    }
}

fn teardown(win: &Shared) {
    if win.borrow().building {
        // `open` is inside a nested message pump: it tears down when it is done.
        win.borrow_mut().teardown_pending = true;
        return;
    }
    let (webview, hwnd, report) = {
        let mut w = win.borrow_mut();
        (w.webview.take(), w.hwnd, w.report.take())
    };
    drop(webview);
    // The owner is enabled again before our window goes (the modal rule), so that Windows
    // activates it rather than another application's window.
    restore_owner(win);
    // SAFETY: our window on this thread.
    unsafe {
        let _ = KillTimer(Some(hwnd), TIMER_ID);
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
                // Destroyed from outside (e.g. with its owner): report it as closed, and
                // give the owner back its state as teardown would.
                let (done, report, webview) = {
                    let mut w = win.borrow_mut();
                    (w.done.take(), w.report.take(), w.webview.take())
                };
                drop(webview);
                restore_owner(&win);
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
