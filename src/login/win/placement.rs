//! The window's owner (the ERP's window, disabled while the login is open and given back
//! its state after), its place and DPI on the screen, and the browser's foreground right.

use super::Shared;
use crate::login::decide;
use windows::core::w;
use windows::Win32::Foundation::{HWND, LPARAM, RECT, WPARAM};
use windows::Win32::Graphics::Gdi::{
    GetDC, GetDeviceCaps, GetMonitorInfoW, MonitorFromWindow, ReleaseDC, LOGPIXELSY, MONITORINFO,
    MONITOR_DEFAULTTONEAREST, MONITOR_DEFAULTTOPRIMARY,
};
use windows::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
use windows::Win32::UI::Input::KeyboardAndMouse::{EnableWindow, IsWindowEnabled};
use windows::Win32::UI::WindowsAndMessaging::*;

/// Lets the browser process take the foreground: the certificate is chosen in code, so
/// that process never gets the user's input, and the token's PIN prompt (shown from it)
/// could open behind the window or without focus.
pub(super) fn allow_browser_foreground(win: &Shared) {
    let pid = win.borrow().browser_pid;
    if pid != 0 {
        // SAFETY: a plain call; fails harmlessly when we may not grant the foreground.
        if let Err(e) = unsafe { AllowSetForegroundWindow(pid) } {
            ::log::debug!(target: "anaf::login", "AllowSetForegroundWindow({pid}): {e}");
        }
    }
}

/// The owner the ERP's handle stands for (`decide::owner`), with its enabled state now.
pub(super) fn owner_of(parent: usize) -> Option<decide::OwnerState> {
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
pub(super) fn placement(owner: Option<HWND>) -> decide::Rect {
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

/// Gives the owner back its enabled state from before (once: `OwnerState::restore`).
pub(super) fn restore_owner(win: &Shared) {
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
