//! The interactive login of the C API.

use super::{entry, not_implemented, session, AnafClient};
use std::ffi::c_void;

/// Opens ANAF's login window over `parent_window` (an HWND on Windows, or NULL), lets the
/// user pick the certificate with the configured serial and type the PIN, and stores the
/// token. Blocks until the window closes or the login timeout passes.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `parent_window` is NULL or a window handle.
#[no_mangle]
pub unsafe extern "C" fn anaf_generate_token(client: *mut AnafClient, parent_window: *mut c_void) -> i32 {
    entry(|| {
        let _s = session(client)?;
        let _ = parent_window;
        not_implemented("anaf_generate_token")
    })
}
