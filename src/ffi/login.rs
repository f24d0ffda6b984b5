//! The interactive login of the C API.

use super::{entry, session, AnafClient};
use crate::status::ANAF_OK;
use std::ffi::c_void;

/// Opens ANAF's login window over `parent_window` (an HWND on Windows, or NULL), lets the
/// user pick the certificate with the configured serial and type the PIN, and stores the
/// token. Blocks until the window closes or the login timeout passes. One login window
/// is open at a time in the process: a call from another thread waits for its turn.
///
/// Returns `ANAF_OK` with the token row written, or: `ANAF_ERR_CANCELLED` (window closed,
/// or `anaf_cancel_login`), `ANAF_ERR_TIMEOUT`, `ANAF_ERR_ACCESS_DENIED`,
/// `ANAF_ERR_CERT_NOT_FOUND` (the message lists the serials offered), `ANAF_ERR_TLS`,
/// `ANAF_ERR_REDIRECT_MISMATCH`, `ANAF_ERR_CODE_EXPIRED`, `ANAF_ERR_WEBVIEW2_MISSING`
/// (checked before any window opens), `ANAF_ERR_WINDOW`, and the token-exchange errors.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `parent_window` is NULL or a window handle.
#[no_mangle]
pub unsafe extern "C" fn anaf_generate_token(
    client: *mut AnafClient,
    parent_window: *mut c_void,
) -> i32 {
    entry(|| {
        let s = session(client)?;
        crate::login::generate_token(&s, parent_window as usize)?;
        Ok(ANAF_OK)
    })
}

/// Closes the login window that `anaf_generate_token` has open (or is about to open) for
/// this client, from any thread; that call then returns `ANAF_ERR_CANCELLED`. Returns
/// `ANAF_OK` also when no login is in progress.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`.
#[no_mangle]
pub unsafe extern "C" fn anaf_cancel_login(client: *mut AnafClient) -> i32 {
    entry(|| {
        let s = session(client)?;
        let n = crate::login::cancel(&s);
        ::log::info!(target: "anaf::login", "anaf_cancel_login: {n} login(s) asked to close");
        Ok(ANAF_OK)
    })
}
