//! The token functions of the C API.

use super::{entry, not_implemented, out, session, AnafClient};
use std::ffi::c_char;

/// Refreshes the token now (new access and refresh token, both stored atomically).
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`.
#[no_mangle]
pub unsafe extern "C" fn anaf_refresh(client: *mut AnafClient) -> i32 {
    entry(|| {
        let _s = session(client)?;
        not_implemented("anaf_refresh")
    })
}

/// Returns a valid access token in `*out_token` (free with `anaf_free`), refreshing it
/// silently when it is close to expiry.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `out_token` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_get_token(client: *mut AnafClient, out_token: *mut *mut c_char) -> i32 {
    entry(|| {
        let _slot = out(out_token, "out_token")?;
        let _s = session(client)?;
        not_implemented("anaf_get_token")
    })
}
