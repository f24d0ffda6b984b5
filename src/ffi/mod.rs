//! The C ABI. Every exported function goes through [`entry`] (the panic boundary and the
//! thread-local last error) and reads its arguments through the checked helpers below,
//! so no panic, Rust type or unchecked pointer crosses into the host.

pub mod batch;
pub mod core;
pub mod diag;
pub mod efactura;
pub mod etransport;
pub mod inbox;
mod job;
pub mod link;
pub mod login;
pub mod lookup;
mod options;
pub mod public;
pub mod token;
pub mod upload;

use crate::client::Session;
use crate::error::{Error, Result};
use crate::status::{self, Lang, *};
use once_cell::sync::Lazy;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

/// The opaque client handle of the C API. Its address is only a key into the registry of
/// live sessions: a closed, foreign or doubly-closed handle is refused, never dereferenced.
pub struct AnafClient {
    _key: u8,
}

static CLIENTS: Lazy<Mutex<HashMap<usize, Arc<Session>>>> =
    Lazy::new(|| Mutex::new(HashMap::new()));

/// Language of the last opened client: used for errors raised before a handle is known.
static DEFAULT_LANG: AtomicU8 = AtomicU8::new(0);

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
    static CALL_LANG: Cell<Lang> = const { Cell::new(Lang::Ro) };
}

fn lang_from(v: u8) -> Lang {
    if v == 1 {
        Lang::En
    } else {
        Lang::Ro
    }
}

pub(crate) fn set_default_lang(lang: Lang) {
    DEFAULT_LANG.store(if lang == Lang::En { 1 } else { 0 }, Ordering::Relaxed);
}

/// Makes the rest of the current call speak `lang` (before a handle is known).
pub(crate) fn set_call_lang(lang: Lang) {
    CALL_LANG.with(|l| l.set(lang));
}

/// The panic boundary every export runs its body in. `Ok(code)` is returned as is (a
/// positive code may carry a message set with [`note`]); `Err` sets the last error; a
/// panic becomes `ANAF_ERR_INTERNAL` with its message, and the host goes on.
pub(crate) fn entry(f: impl FnOnce() -> Result<i32>) -> i32 {
    CALL_LANG.with(|l| l.set(lang_from(DEFAULT_LANG.load(Ordering::Relaxed))));
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(code)) => {
            if code == ANAF_OK {
                set_last_text("");
            }
            code
        }
        Ok(Err(e)) => {
            note(&e);
            e.status
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            ::log::error!(target: "anaf::ffi", "internal error caught at the API boundary: {what}");
            note(&Error::verbatim(ANAF_ERR_INTERNAL, format!("({what})")));
            ANAF_ERR_INTERNAL
        }
    }
}

/// The longest `anaf_last_error` text, in bytes with its NUL: messages quote what was wrong,
/// and what was wrong may be a 50 MB value, cut with " […]".
pub const ANAF_MAX_ERROR_BYTES: usize = 4096;

/// Sets the thread's last-error text from an error, in the language of the current call.
pub(crate) fn note(e: &Error) {
    let lang = CALL_LANG.with(|l| l.get());
    let text = e.message(lang);
    let en = e.message(Lang::En);
    ::log::debug!(target: "anaf::ffi", "{} ({}): {}", status::name(e.status), e.status, cut(&en, ANAF_MAX_ERROR_BYTES));
    // Masked like the log: a message may quote a redirect URL with its code, or a value.
    set_last_text(&crate::log::redact(&cut(&text, ANAF_MAX_ERROR_BYTES)));
}

/// `text` cut at a character boundary to at most `max` bytes, with an ellipsis saying so.
pub(crate) fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut end = max.saturating_sub(" […]".len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{} […]", &text[..end]))
}

fn set_last_text(text: &str) {
    let c = CString::new(text.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|l| *l.borrow_mut() = c);
}

pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|l| l.borrow().as_ptr())
}

/// Registers a session and returns its new handle.
pub(crate) fn register(session: Session) -> *mut AnafClient {
    set_default_lang(session.config.language);
    let ptr = Box::into_raw(Box::new(AnafClient { _key: 0 }));
    CLIENTS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(ptr as usize, Arc::new(session));
    ptr
}

/// Removes a handle; calls already running on it keep their own reference and finish.
pub(crate) fn unregister(ptr: *mut AnafClient) -> Result<()> {
    let removed = CLIENTS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&(ptr as usize));
    match removed {
        Some(_) => {
            // SAFETY: the address was produced by Box::into_raw in `register` and was
            // still registered, so it has not been freed yet; removal makes this the only free.
            drop(unsafe { Box::from_raw(ptr) });
            Ok(())
        }
        None => Err(bad_handle()),
    }
}

fn bad_handle() -> Error {
    Error::with(
        ANAF_ERR_INVALID_ARGUMENT,
        "Parametrul \"client\" nu este un client deschis (a fost închis sau nu provine din anaf_open).",
        "Argument \"client\" is not an open client (it was closed or did not come from anaf_open).",
    )
}

/// The session behind a handle; also makes the current call speak the client's language.
pub(crate) fn session(ptr: *mut AnafClient) -> Result<Arc<Session>> {
    if ptr.is_null() {
        return Err(null_arg("client"));
    }
    let s = CLIENTS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&(ptr as usize))
        .cloned()
        .ok_or_else(bad_handle)?;
    CALL_LANG.with(|l| l.set(s.config.language));
    Ok(s)
}

pub(crate) fn null_arg(name: &str) -> Error {
    Error::with(
        ANAF_ERR_NULL_POINTER,
        format!("Parametrul \"{name}\" este NULL."),
        format!("Argument \"{name}\" is NULL."),
    )
}

/// A required UTF-8 string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives the call.
pub(crate) unsafe fn text<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(null_arg(name));
    }
    CStr::from_ptr(p).to_str().map_err(|e| {
        let byte = e.valid_up_to();
        Error::with(
            ANAF_ERR_INVALID_UTF8,
            format!("Parametrul \"{name}\" nu este UTF-8 (octetul {byte})."),
            format!("Argument \"{name}\" is not UTF-8 (at byte {byte})."),
        )
    })
}

/// An optional UTF-8 string argument: NULL or "" mean absent.
///
/// # Safety
/// As for [`text`].
pub(crate) unsafe fn opt_text<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    let s = text(p, name)?;
    Ok(if s.is_empty() { None } else { Some(s) })
}

/// A byte buffer argument; NULL is allowed only with length 0.
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes that outlive the call.
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize, name: &str) -> Result<&'a [u8]> {
    if p.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(null_arg(name));
    }
    // Checked before the memory is touched: (size_t)-1, or any length no document has.
    if len > MAX_BUFFER {
        let max_mb = MAX_BUFFER >> 20;
        return Err(Error::with(
            ANAF_ERR_INVALID_ARGUMENT,
            format!(
                "Argumentul {name}: lungimea {len} depășește orice document acceptat ({max_mb} MB)."
            ),
            format!(
                "Argument {name}: the length {len} is beyond any document accepted ({max_mb} MB)."
            ),
        ));
    }
    Ok(std::slice::from_raw_parts(p, len))
}

/// The largest buffer an argument may be: above every limit of ANAF's (10 MB), far below
/// what `slice::from_raw_parts` allows.
const MAX_BUFFER: usize = 64 << 20;

/// An output pointer argument, cleared to NULL before any work so the host never sees garbage.
///
/// # Safety
/// `p` is NULL or points to writable storage for one pointer.
pub(crate) unsafe fn out<'a, T>(p: *mut *mut T, name: &str) -> Result<&'a mut *mut T> {
    if p.is_null() {
        return Err(null_arg(name));
    }
    *p = std::ptr::null_mut();
    Ok(&mut *p)
}

/// As [`out`], for an output the host may leave out (NULL: no answer wanted).
///
/// # Safety
/// As [`out`].
pub(crate) unsafe fn opt_out<'a, T>(p: *mut *mut T, name: &str) -> Result<Option<&'a mut *mut T>> {
    if p.is_null() {
        Ok(None)
    } else {
        out(p, name).map(Some)
    }
}

/// Hands a string to the host; the host frees it with `anaf_free`.
pub(crate) fn give(slot: &mut *mut c_char, s: impl Into<Vec<u8>>) {
    let mut v: Vec<u8> = s.into();
    v.retain(|&b| b != 0);
    // No NUL remains, so this cannot fail.
    let p = CString::new(v).unwrap_or_default().into_raw();
    handed_out().insert(p as usize);
    *slot = p;
}

/// The strings handed to the host and not freed yet: `anaf_free` frees only these, so a
/// pointer the DLL did not hand out (the static text of `anaf_version`, `anaf_last_error`,
/// a string freed twice) is refused instead of corrupting the host's heap.
fn handed_out() -> std::sync::MutexGuard<'static, std::collections::HashSet<usize>> {
    static HANDED: once_cell::sync::Lazy<std::sync::Mutex<std::collections::HashSet<usize>>> =
        once_cell::sync::Lazy::new(Default::default);
    HANDED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Takes `p` back if the DLL handed it out and it was not freed yet.
pub(crate) fn take_back(p: *mut c_char) -> Option<CString> {
    if p.is_null() || !handed_out().remove(&(p as usize)) {
        return None;
    }
    // SAFETY: `p` came from CString::into_raw in `give` and was not freed since (it was
    // still in the set, which `give` and this function alone change).
    Some(unsafe { CString::from_raw(p) })
}

/// Hands a JSON value to the host as a string.
pub(crate) fn give_json(slot: &mut *mut c_char, v: &serde_json::Value) {
    give(slot, v.to_string());
}

/// [`entry`] for the integration tests of the panic boundary.
#[doc(hidden)]
pub fn entry_for_tests(f: impl FnOnce() -> Result<i32>) -> i32 {
    entry(f)
}

/// [`give`] for the integration tests of `anaf_free`.
#[doc(hidden)]
pub fn give_for_tests(slot: &mut *mut c_char, s: &str) {
    give(slot, s)
}

/// Whether `p` is a string handed out and not freed yet (the tests of `anaf_free`).
#[doc(hidden)]
pub fn handed_out_for_tests(p: *const c_char) -> bool {
    handed_out().contains(&(p as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_error_is_masked_like_the_log() {
        note(&Error::verbatim(
            status::ANAF_ERR_STATE_MISMATCH,
            r#"https://erp.example.ro/cb?code=C0DE-SECRET&state=s1 {"refresh_token": "opaque-r"}"#,
        ));
        // SAFETY: the pointer is this thread's NUL-terminated last-error text.
        let text = unsafe { std::ffi::CStr::from_ptr(last_error_ptr()) }
            .to_string_lossy()
            .into_owned();
        assert!(text.contains("state=s1"), "{text}");
        assert!(
            !text.contains("C0DE-SECRET") && !text.contains("opaque-r"),
            "{text}"
        );
    }
}
