//! e-Factura and e-Transport calls of the C API.

use super::{bytes, entry, not_implemented, opt_text, out, session, AnafClient};
use std::ffi::c_char;

/// Uploads an invoice XML (`xml`, `xml_len` bytes) to e-Factura. `options_json` (NULL for
/// defaults) may set `standard` (UBL, CN, CII, RASP), `extern`, `autofactura`, `executare`,
/// `b2c`. On success `*out_json` receives `{"index_incarcare":..., ...}`.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `xml` points to `xml_len` bytes;
/// `options_json` is NULL or a NUL-terminated string; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_upload(
    client: *mut AnafClient,
    xml: *const u8,
    xml_len: usize,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let _slot = out(out_json, "out_json")?;
        let _s = session(client)?;
        let _xml = bytes(xml, xml_len, "xml")?;
        let _opts = opt_text(options_json, "options_json")?;
        not_implemented("anaf_upload")
    })
}
