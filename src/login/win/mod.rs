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
//!
//! The files: the UI thread and the host's message pump (`ui`), the WebView2 environment
//! (`environment`), the window's life from open to teardown (`window`), its owner and
//! place on the screen (`placement`), the certificate choice (`certificate`) and the
//! navigation checks (`navigation`). Here: the one window's state and how it ends.

mod certificate;
mod environment;
mod navigation;
mod placement;
mod ui;
mod window;

pub use environment::preflight;
pub use ui::{after, idle, run};

use super::decide;
use super::flow::{End, Request};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Instant;
use ui::WM_APP_TEARDOWN;
use windows::Win32::Foundation::{HWND, LPARAM, WPARAM};
use windows::Win32::UI::WindowsAndMessaging::PostMessageW;

thread_local! {
    static CURRENT: RefCell<Option<Rc<RefCell<Win>>>> = const { RefCell::new(None) };
}

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
