//! The WebView2 environment: the runtime (checked before any window), the user data
//! folder, and the environment made through the DLL's own loader, kept for the next login.

use super::ui::{pump_host, this_module};
use super::{ended, Shared};
use crate::error::{Error, Result};
use crate::login::decide;
use crate::login::flow::Request;
use crate::status::*;
use std::cell::RefCell;
use std::sync::mpsc;
use std::time::Instant;
use webview2_com::CreateCoreWebView2EnvironmentCompletedHandler;
use webview2_com::Microsoft::Web::WebView2::Win32::ICoreWebView2Environment;
use windows::core::{w, Interface, HSTRING, PCWSTR};
use windows::Win32::Foundation::HMODULE;
use windows::Win32::System::Com::CoTaskMemFree;
use windows::Win32::System::LibraryLoader::{GetModuleFileNameW, GetModuleHandleW, GetProcAddress};
use windows::Win32::UI::Shell::{
    FOLDERID_LocalAppData, FOLDERID_ProgramFiles, FOLDERID_ProgramFilesX86, FOLDERID_Windows,
    SHGetKnownFolderPath, KF_FLAG_DEFAULT,
};

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
    pub(super) static ENV: RefCell<Option<(String, ICoreWebView2Environment)>> = const { RefCell::new(None) };
}

/// The environment for this login: the cached one if its runtime and user data folder are
/// the same and `fresh` is false (then `true` is returned with it), else a new one.
pub(super) fn environment(
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
