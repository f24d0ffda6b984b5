//! The one STA UI thread of the process, which runs the login windows, and the host
//! thread's side: posting it a job, and pumping the host's own messages while it waits.

use super::window::{login_proc, open};
use crate::error::{Error, Result};
use crate::login::flow::{End, Request};
use crate::status::*;
use once_cell::sync::OnceCell;
use std::cell::RefCell;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};
use windows::core::{w, PCWSTR};
use windows::Win32::Foundation::{HINSTANCE, HMODULE, HWND, LPARAM, LRESULT, WPARAM};
use windows::Win32::System::Com::{CoInitializeEx, COINIT_APARTMENTTHREADED};
use windows::Win32::System::LibraryLoader::{
    GetModuleHandleExW, GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
    GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
};
use windows::Win32::UI::WindowsAndMessaging::*;

const WM_APP_JOB: u32 = WM_APP + 1;
pub(super) const WM_APP_TEARDOWN: u32 = WM_APP + 2;

type Job = Box<dyn FnOnce() + Send>;

struct Ui {
    /// The message-only window that receives jobs (as usize: HWND is not Send).
    dispatch: usize,
    jobs: Mutex<mpsc::Sender<Job>>,
}

static UI: OnceCell<std::result::Result<Ui, String>> = OnceCell::new();

thread_local! {
    static JOBS: RefCell<Option<mpsc::Receiver<Job>>> = const { RefCell::new(None) };
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
pub(super) fn this_module() -> Option<HINSTANCE> {
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
pub(super) fn pump_host(ms: u32) {
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
