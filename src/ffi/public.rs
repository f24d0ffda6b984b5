//! ANAF's public services in the C API (no token): validation, XML to PDF, and the check
//! of ANAF's signature on a downloaded invoice.

use super::{bytes, entry, opt_text, out, session, text, AnafClient};
use crate::client::files::read_file;
use crate::client::public::DocStandard;
use crate::error::Error;
use crate::status::*;
use serde_json::{json, Value};
use std::ffi::c_char;
use std::path::Path;

/// Validates an invoice ("FACT1") or credit note ("FCN") with ANAF's public service.
/// `*out_json`: `{"stare":"ok"|"nok","Messages":[{"message"}],"trace_id"}`, filled also
/// when the document is not valid, which returns `ANAF_ERR_REJECTED` with ANAF's messages.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `xml` points to `xml_len` bytes;
/// `standard` is NULL or a NUL-terminated string; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_validate(
    client: *mut AnafClient,
    xml: *const u8,
    xml_len: usize,
    standard: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let xml = bytes(xml, xml_len, "xml")?;
        let standard = DocStandard::parse(opt_text(standard, "standard")?.unwrap_or("FACT1"))?;
        let s = session(client)?;
        let v = s.public().validate(xml, standard)?;
        super::give_json(slot, &serde_json::to_value(&v).unwrap_or(Value::Null));
        if v.is_ok() {
            Ok(ANAF_OK)
        } else {
            Err(crate::client::answer::anaf_messages_error(&v.texts()))
        }
    })
}

/// Converts an invoice XML to PDF with ANAF's public service and writes it to `pdf_path`.
/// `validate` non-zero: ANAF validates first (a failed validation is `ANAF_ERR_REJECTED`
/// with ANAF's messages and no file); zero: no validation (`/DA`). `out_json` may be NULL;
/// otherwise it receives `{"pdf_path","size"}`.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `xml` points to `xml_len` bytes;
/// `standard` and `pdf_path` are NULL or NUL-terminated strings; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_xml_to_pdf(
    client: *mut AnafClient,
    xml: *const u8,
    xml_len: usize,
    standard: *const c_char,
    validate: i32,
    pdf_path: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = super::opt_out(out_json, "out_json")?;
        let xml = bytes(xml, xml_len, "xml")?;
        let standard = DocStandard::parse(opt_text(standard, "standard")?.unwrap_or("FACT1"))?;
        let pdf_path = text(pdf_path, "pdf_path")?;
        let s = session(client)?;
        let size = s
            .public()
            .to_pdf(xml, standard, validate != 0, Path::new(pdf_path))?;
        if let Some(slot) = slot {
            super::give_json(slot, &json!({ "pdf_path": pdf_path, "size": size }));
        }
        Ok(ANAF_OK)
    })
}

/// Checks ANAF's signature file against the invoice XML it signs (both as extracted by
/// `anaf_download`). `*out_json`: `{"valid":true|false,"msg":"…ANAF's text…"}`. An invalid
/// signature returns `ANAF_ERR_REJECTED` (JSON filled in).
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; the paths are NULL or NUL-terminated
/// strings; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_verify_signature(
    client: *mut AnafClient,
    xml_path: *const c_char,
    signature_path: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let xml_path = Path::new(text(xml_path, "xml_path")?);
        let sig_path = Path::new(text(signature_path, "signature_path")?);
        let s = session(client)?;
        let xml = read_file(xml_path)?;
        let sig = read_file(sig_path)?;
        let name = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "file.xml".into())
        };
        let c = s
            .public()
            .verify_signature(&xml, &name(xml_path), &sig, &name(sig_path))?;
        super::give_json(slot, &serde_json::to_value(&c).unwrap_or(Value::Null));
        if c.valid {
            Ok(ANAF_OK)
        } else {
            Err(Error::verbatim(
                ANAF_ERR_REJECTED,
                format!("ANAF: {}", c.msg),
            ))
        }
    })
}
