//! e-Transport calls of the C API: upload of a v2 declaration (index + UIT, through the
//! upload journal), status, list.

use super::options::{flag, options, string_opt};
use super::upload;
use super::{entry, note, opt_text, out, session, text, AnafClient};
use crate::client::etransport::TransportUploaded;
use crate::client::upload::UploadOutcome;
use crate::client::Session;
use crate::error::{Error, Result};
use crate::status::*;
use serde_json::Value;
use std::ffi::c_char;

/// e-Transport's upload of `xml` with the call's `options_json` (`cif`, `force`).
fn send(
    s: &Session,
    xml: &[u8],
    options_json: Option<&str>,
) -> Result<UploadOutcome<TransportUploaded>> {
    let m = options(options_json, &["cif", "force"])?;
    s.etransport()
        .upload(xml, string_opt(&m, "cif")?, flag(&m, "force")?)
}

/// Uploads an e-Transport declaration (schema v2) for the configured CIF (or `cif` in
/// `options_json`; `force` as for `anaf_upload`). `*out_json`: `{"result":"uploaded",
/// "index_incarcare":"…","UIT":"…","dateResponse","trace_id","ref_declarant","atentie",
/// "sha256","journal_id"}`. The UIT is valid once `anaf_etransport_status` says "ok".
/// Duplicates are handled as in `anaf_upload` (`ANAF_ALREADY_UPLOADED`, with the UIT).
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `xml` points to `xml_len` bytes;
/// `options_json` is NULL or a NUL-terminated string; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_etransport_upload(
    client: *mut AnafClient,
    xml: *const u8,
    xml_len: usize,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    upload::from_memory(client, xml, xml_len, options_json, out_json, send)
}

/// As `anaf_etransport_upload`, with the XML read from `xml_path`.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `xml_path` and `options_json` are NULL or
/// NUL-terminated strings; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_etransport_upload_file(
    client: *mut AnafClient,
    xml_path: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    upload::from_file(client, xml_path, options_json, out_json, send)
}

/// The state of a declaration: `*out_json` `{"stare","dateResponse","trace_id","errors":[…]}`.
/// Returns `ANAF_OK` for "ok", `ANAF_PENDING` for "in prelucrare", `ANAF_ERR_REJECTED` for
/// "nok" / "XML cu erori nepreluat de sistem" (JSON filled in, ANAF's messages kept).
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `index_incarcare` is NULL or a
/// NUL-terminated string; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_etransport_status(
    client: *mut AnafClient,
    index_incarcare: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let index = text(index_incarcare, "index_incarcare")?;
        let s = session(client)?;
        let st = s.etransport().status(index)?;
        super::give_json(slot, &serde_json::to_value(&st).unwrap_or(Value::Null));
        if st.is_ok() {
            Ok(ANAF_OK)
        } else if st.is_pending() {
            note(&Error::verbatim(
                ANAF_PENDING,
                format!("ANAF: stare=\"{}\"", st.stare),
            ));
            Ok(ANAF_PENDING)
        } else {
            let msgs = if st.errors.is_empty() {
                String::new()
            } else {
                format!(": {}", st.errors.join(" | "))
            };
            Err(Error::verbatim(
                ANAF_ERR_REJECTED,
                format!("ANAF: stare=\"{}\"{msgs}", st.stare),
            ))
        }
    })
}

/// The declarations and notices of the last `zile` days (1..60) for `cif` (NULL = the
/// configured CIF): `*out_json` `{"mesaje":[…ANAF's items…],"serial","cui","titlu"}`;
/// "no messages" is an empty list.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `cif` is NULL or a NUL-terminated string;
/// `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_etransport_list(
    client: *mut AnafClient,
    zile: i32,
    cif: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let cif = opt_text(cif, "cif")?;
        let s = session(client)?;
        let l = s.etransport().list(zile as i64, cif)?;
        super::give_json(slot, &serde_json::to_value(&l).unwrap_or(Value::Null));
        Ok(ANAF_OK)
    })
}
