//! e-Factura calls of the C API: upload (through the journal, `ffi::upload`), status,
//! lists, download. Structured answers are JSON strings the host frees with `anaf_free`;
//! see docs/services.md for every field.

use super::options::{flag, options, string_opt};
use super::upload;
use super::{entry, note, opt_text, out, session, text, AnafClient};
use crate::client::efactura::{self, Standard, UploadOptions};
use crate::client::input::Filter;
use crate::client::upload::UploadOutcome;
use crate::client::Session;
use crate::error::{Error, Result};
use crate::status::*;
use serde_json::{json, Map, Value};
use std::ffi::c_char;
use std::path::Path;
use std::time::Duration;

pub(crate) const UPLOAD_KEYS: &[&str] = &[
    "standard",
    "extern",
    "autofactura",
    "executare",
    "b2c",
    "force",
    "cif",
];

fn upload_options(raw: Option<&str>) -> Result<UploadOptions> {
    upload_options_from(&options(raw, UPLOAD_KEYS)?)
}

/// The upload options of a checked `options_json` object.
pub(crate) fn upload_options_from(m: &Map<String, Value>) -> Result<UploadOptions> {
    Ok(UploadOptions {
        standard: match string_opt(m, "standard")? {
            Some(s) => Standard::parse(s)?,
            None => Standard::UBL,
        },
        extern_: flag(m, "extern")?,
        autofactura: flag(m, "autofactura")?,
        executare: flag(m, "executare")?,
        b2c: flag(m, "b2c")?,
        force: flag(m, "force")?,
        cif: string_opt(m, "cif")?.map(str::to_string),
    })
}

/// e-Factura's upload of `xml` with the call's `options_json`.
fn send(
    s: &Session,
    xml: &[u8],
    options_json: Option<&str>,
) -> Result<UploadOutcome<efactura::Uploaded>> {
    s.efactura().upload(xml, &upload_options(options_json)?)
}

/// Uploads an invoice XML (`xml`, `xml_len` bytes) to e-Factura.
///
/// `options_json` (NULL for defaults): `standard` ("UBL" default, "CN", "CII", "RASP"),
/// `extern`, `autofactura`, `executare` (the `=DA` flags), `b2c` (use `uploadb2c`),
/// `force` (send even if the upload journal knows this document), `cif` (default: the
/// configured CIF).
///
/// `*out_json`: `{"result":"uploaded","index_incarcare":"…","dateResponse":"…","sha256":"…","journal_id":N}`.
/// Returns `ANAF_ALREADY_UPLOADED` (2) without sending when the same document (same CIF,
/// standard, flags and bytes) is already at ANAF (`result` "already_uploaded", with its
/// index), and `ANAF_ERR_UPLOAD_UNCERTAIN` without sending when an earlier attempt got no
/// answer (`result` "uncertain"): check the message list, then upload with `force`.
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
    upload::from_memory(client, xml, xml_len, options_json, out_json, send)
}

/// As `anaf_upload`, with the XML read from the file at `xml_path`.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `xml_path` and `options_json` are NULL or
/// NUL-terminated strings; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_upload_file(
    client: *mut AnafClient,
    xml_path: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    upload::from_file(client, xml_path, options_json, out_json, send)
}

fn state_status(st: &efactura::MessageState) -> Result<i32> {
    let stare = &st.stare;
    if st.is_ok() {
        Ok(ANAF_OK)
    } else if st.is_pending() {
        note(&Error::verbatim(
            ANAF_PENDING,
            format!("ANAF: stare=\"{stare}\""),
        ));
        Ok(ANAF_PENDING)
    } else {
        let id = st.id_descarcare.clone().unwrap_or_default();
        let said = if st.errors.is_empty() {
            String::new()
        } else {
            format!(" — {}", st.errors.join("; "))
        };
        let (list_ro, list_en) = if id.is_empty() {
            (String::new(), String::new())
        } else {
            (
                format!("; lista erorilor se descarcă cu id_descarcare={id}"),
                format!("; download the error list with id_descarcare={id}"),
            )
        };
        Err(Error::with(
            ANAF_ERR_REJECTED,
            format!("ANAF: stare=\"{stare}\"{said}{list_ro}"),
            format!("ANAF: stare=\"{stare}\"{said}{list_en}"),
        ))
    }
}

/// What a wait for a final state came to, as `anaf_status_wait` and `anaf_status_batch`
/// give it.
pub(crate) fn waited_json(w: &efactura::Waited) -> Value {
    let mut v = w
        .state
        .as_ref()
        .map(state_json)
        .unwrap_or_else(|| json!({"stare": null, "final": false, "ok": false}));
    v["polls"] = json!(w.polls);
    v["stopped_for_quota"] = json!(w.stopped_for_quota);
    v["checks_today"] = json!(w.checks_today);
    v
}

pub(crate) fn state_json(st: &efactura::MessageState) -> Value {
    json!({ "stare": st.stare, "id_descarcare": st.id_descarcare, "final": st.is_final(), "ok": st.is_ok(), "errors": st.errors })
}

/// `stareMesaj` for an upload index. `*out_json`: `{"stare","id_descarcare","final","ok",
/// "errors"}` (`errors`: ANAF's messages when it sent them with the state).
/// Returns `ANAF_OK` for "ok", `ANAF_PENDING` for "in prelucrare", `ANAF_ERR_REJECTED` for
/// "nok" / "XML cu erori nepreluat de sistem" (the JSON is filled in every case). Each
/// call counts against ANAF's 100 checks per message per day (checked before sending).
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `id_incarcare` is NULL or a NUL-terminated
/// string; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_status(
    client: *mut AnafClient,
    id_incarcare: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let id = text(id_incarcare, "id_incarcare")?;
        let s = session(client)?;
        let st = s.efactura().status(id)?;
        super::give_json(slot, &state_json(&st));
        state_status(&st)
    })
}

/// Polls `stareMesaj` until the state is final or `timeout_seconds` pass, pausing
/// `interval_ms` (0 = 2000) and then half as long again each time (at most 30 s), and
/// stopping early rather than use more than 90 of the day's 100 checks of this message.
/// `*out_json`: as `anaf_status` plus `polls`, `stopped_for_quota`, `checks_today`.
/// Returns as `anaf_status`; `ANAF_PENDING` when it stopped before a final state.
///
/// # Safety
/// As `anaf_status`.
#[no_mangle]
pub unsafe extern "C" fn anaf_status_wait(
    client: *mut AnafClient,
    id_incarcare: *const c_char,
    timeout_seconds: u32,
    interval_ms: u32,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let id = text(id_incarcare, "id_incarcare")?;
        let s = session(client)?;
        let interval = Duration::from_millis(if interval_ms == 0 {
            2000
        } else {
            interval_ms as u64
        });
        let w =
            s.efactura()
                .wait_final(id, Duration::from_secs(timeout_seconds as u64), interval)?;
        let v = waited_json(&w);
        super::give_json(slot, &v);
        match &w.state {
            Some(st) if st.is_final() => state_status(st),
            _ => {
                let (ro, en) = if w.stopped_for_quota {
                    let checks = w.checks_today;
                    (
                        format!("S-au făcut deja {checks} verificări azi pentru acest mesaj; anaf-bridge s-a oprit ca să nu depășească limita ANAF de 100 pe zi."),
                        format!("{checks} checks of this message were made today; anaf-bridge stopped to stay under ANAF's limit of 100 a day."),
                    )
                } else {
                    let polls = w.polls;
                    (
                        format!(
                            "Încă în prelucrare după {timeout_seconds} s ({polls} verificări)."
                        ),
                        format!(
                            "Still being processed after {timeout_seconds} s ({polls} checks)."
                        ),
                    )
                };
                note(&Error::with(ANAF_PENDING, ro, en));
                Ok(ANAF_PENDING)
            }
        }
    })
}

/// The messages of the last `zile` days (1..60), optionally filtered (`filtru`: "E" errors,
/// "T" sent, "P" received, "R" buyer messages; NULL = all). "No messages" is an empty
/// list. `*out_json`: `{"mesaje":[{"data_creare","cif","id_solicitare","detalii","tip","id"}],
/// "serial","cui","titlu"}`. Over 500 messages, the paginated list is used automatically.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `filtru` is NULL or a NUL-terminated
/// string; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_list_messages(
    client: *mut AnafClient,
    zile: i32,
    filtru: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let filtru = Filter::parse(opt_text(filtru, "filtru")?)?;
        let s = session(client)?;
        let list = s.efactura().list(zile as i64, filtru)?;
        super::give_json(slot, &serde_json::to_value(&list).unwrap_or(Value::Null));
        Ok(ANAF_OK)
    })
}

/// Every message between `start_ms` and `end_ms` (Unix time in milliseconds; an end in
/// the future is brought back to now), all pages in order, each message once.
/// With `out_path` NULL, `*out_json` is `{"mesaje":[…],"count","total","pages",…}`; with a
/// path, the same JSON is written to that file (for very long ranges) and `*out_json` is
/// the summary without `mesaje`, plus `"file"`.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `filtru` and `out_path` are NULL or
/// NUL-terminated strings; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_list_messages_paged(
    client: *mut AnafClient,
    start_ms: i64,
    end_ms: i64,
    filtru: *const c_char,
    out_path: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let filtru = Filter::parse(opt_text(filtru, "filtru")?)?;
        let path = opt_text(out_path, "out_path")?;
        let s = session(client)?;
        match path {
            None => {
                let mut all = Vec::new();
                let p = s.efactura().list_paged(start_ms, end_ms, filtru, |m| {
                    all.push(m);
                    Ok(())
                })?;
                let mut v = serde_json::to_value(&p).unwrap_or(Value::Null);
                v["mesaje"] = serde_json::to_value(&all).unwrap_or(Value::Null);
                super::give_json(slot, &v);
            }
            Some(path) => {
                let p =
                    s.efactura()
                        .list_paged_to_file(start_ms, end_ms, filtru, Path::new(path))?;
                let mut v = serde_json::to_value(&p).unwrap_or(Value::Null);
                v["file"] = json!(path);
                super::give_json(slot, &v);
            }
        }
        Ok(ANAF_OK)
    })
}

/// Downloads message `id` (an `id` from the lists or `id_descarcare`) as a ZIP to
/// `zip_path`; with `extract` non-zero, also writes the invoice XML and ANAF's signature
/// (`semnatura_….xml`) beside it. `*out_json`: `{"zip_path","size","xml_path",
/// "signature_path","entries"}`. Counts against ANAF's 10 downloads per message per day.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `id` and `zip_path` are NULL or
/// NUL-terminated strings; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_download(
    client: *mut AnafClient,
    id: *const c_char,
    zip_path: *const c_char,
    extract: i32,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let id = text(id, "id")?;
        let zip_path = text(zip_path, "zip_path")?;
        let s = session(client)?;
        let d = s
            .efactura()
            .download(id, Path::new(zip_path), extract != 0)?;
        super::give_json(slot, &serde_json::to_value(&d).unwrap_or(Value::Null));
        Ok(ANAF_OK)
    })
}
