//! One login window's life: opened over its owner, the web view built with its handlers,
//! ticked for cancel and timeout, torn down, and its window procedure.

use super::certificate::on_certificate_requested;
use super::environment::{environment, ENV};
use super::navigation::{on_navigation_completed, on_navigation_starting};
use super::placement::{allow_browser_foreground, owner_of, placement, restore_owner};
use super::ui::{this_module, WM_APP_TEARDOWN};
use super::{current, ended, finish, Shared, Win, CURRENT};
use crate::error::{Error, Result};
use crate::login::flow::{self, guarded, End, Request};
use crate::status::*;
use std::cell::RefCell;
use std::num::NonZeroIsize;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Instant;
use webview2_com::Microsoft::Web::WebView2::Win32::*;
use webview2_com::{
    ClientCertificateRequestedEventHandler, NavigationCompletedEventHandler,
    NavigationStartingEventHandler,
};
use windows::core::{w, Interface, HSTRING};
use windows::Win32::Foundation::{HWND, LPARAM, LRESULT, WPARAM};
use windows::Win32::UI::Input::KeyboardAndMouse::EnableWindow;
use windows::Win32::UI::WindowsAndMessaging::*;
use wry::raw_window_handle::{
    HandleError, HasWindowHandle, RawWindowHandle, Win32WindowHandle, WindowHandle,
};
use wry::{WebViewBuilder, WebViewBuilderExtWindows, WebViewExtWindows};

const TIMER_ID: usize = 1;

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

pub(super) fn open(req: Request, done: mpsc::Sender<End>) {
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

pub(super) unsafe extern "system" fn login_proc(
    hwnd: HWND,
    msg: u32,
    wp: WPARAM,
    lp: LPARAM,
) -> LRESULT {
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
