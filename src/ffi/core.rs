//! Opening and closing clients, the last error, freeing strings, the version.

use super::{entry, last_error_ptr, out, register, text, unregister, AnafClient};
use crate::client::Session;
use crate::config::Config;
use crate::status::ANAF_OK;
use std::ffi::c_char;

/// Opens a client from a configuration JSON (see the README for its keys): checks the
/// configuration, opens or creates the token database, and returns a handle in `*out_client`.
/// On failure `*out_client` is NULL and `anaf_last_error()` names the problem.
///
/// # Safety
/// `config_json` is NULL or a NUL-terminated string; `out_client` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_open(
    config_json: *const c_char,
    out_client: *mut *mut AnafClient,
) -> i32 {
    entry(|| {
        let slot = out(out_client, "out_client")?;
        let json = text(config_json, "config_json")?;
        if let Some(lang) = crate::config::peek_language(json) {
            super::set_call_lang(lang);
        }
        let cfg = Config::from_json(json)?;
        super::set_default_lang(cfg.language);
        let session = Session::open(cfg)?;
        *slot = register(session);
        Ok(ANAF_OK)
    })
}

/// Closes a client. NULL is accepted and does nothing. Calls still running on the handle
/// in other threads finish normally; a second close of the same handle is refused.
///
/// # Safety
/// `client` is NULL or a value returned by `anaf_open`.
#[no_mangle]
pub unsafe extern "C" fn anaf_close(client: *mut AnafClient) -> i32 {
    entry(|| {
        if client.is_null() {
            return Ok(ANAF_OK);
        }
        unregister(client)?;
        Ok(ANAF_OK)
    })
}

/// The message of the last failed call on this thread (UTF-8, in the client's language;
/// empty after a successful call). The pointer stays valid until the next call on this thread.
#[no_mangle]
pub extern "C" fn anaf_last_error() -> *const c_char {
    last_error_ptr()
}

/// Frees a string returned by this library. NULL is accepted; so is, harmlessly, a pointer
/// the library did not hand out or a string already freed (ignored, and logged).
///
/// # Safety
/// `s` is NULL or any pointer value; it is never dereferenced unless this library handed
/// it out and it was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn anaf_free(s: *mut c_char) {
    let _ = std::panic::catch_unwind(|| {
        if !s.is_null() && super::take_back(s).is_none() {
            ::log::warn!(target: "anaf::ffi", "anaf_free of a pointer this library did not hand out (or already freed): ignored");
        }
    });
}

/// The library version, e.g. "0.1.0" (static; do not free).
#[no_mangle]
pub extern "C" fn anaf_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// The symbolic name of a status code, e.g. "ANAF_ERR_TIMEOUT" (static; do not free).
#[no_mangle]
pub extern "C" fn anaf_status_name(status: i32) -> *const c_char {
    static_name(status).as_ptr() as *const c_char
}

fn static_name(status: i32) -> &'static str {
    use once_cell::sync::Lazy;
    use std::collections::HashMap;
    static NAMES: Lazy<HashMap<i32, String>> = Lazy::new(|| {
        let mut m: HashMap<i32, String> = crate::status::all()
            .map(|c| (c, format!("{}\0", crate::status::name(c))))
            .collect();
        m.insert(i32::MIN, "ANAF_UNKNOWN\0".into());
        m
    });
    NAMES
        .get(&status)
        .or_else(|| NAMES.get(&i32::MIN))
        .map(|s| s.as_str())
        .unwrap_or("ANAF_UNKNOWN\0")
}
