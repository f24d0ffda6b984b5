//! e-Factura calls of the C API: upload (with the duplicate journal), status, lists,
//! download, validation, PDF, signature check. Structured answers are JSON strings the
//! host frees with `anaf_free`; see docs/services.md for every field.

use super::{bytes, entry, note, opt_text, out, session, text, AnafClient};
use crate::client::efactura::{self, Standard, UploadOptions};
use crate::client::files;
use crate::client::input::{check_days, Filter};
use crate::client::public::DocStandard;
use crate::client::upload::UploadOutcome;
use crate::error::{Error, Result};
use crate::status::*;
use crate::store::journal::{self, Entry};
use serde_json::{json, Map, Value};
use std::ffi::c_char;
use std::path::Path;
use std::time::Duration;

/// Parses an options JSON object (NULL or "" = `{}`), refusing unknown keys by name.
pub(crate) fn options(raw: Option<&str>, known: &[&str]) -> Result<Map<String, Value>> {
    let Some(raw) = raw else {
        return Ok(Map::new());
    };
    let v: Value = serde_json::from_str(raw).map_err(|e| {
        Error::with(
            ANAF_ERR_INVALID_JSON,
            format!("options_json: {e}"),
            format!("options_json: {e}"),
        )
    })?;
    let Value::Object(map) = v else {
        return Err(Error::with(
            ANAF_ERR_INVALID_JSON,
            "options_json trebuie să fie un obiect JSON ({...}).",
            "options_json must be a JSON object ({...}).",
        ));
    };
    for k in map.keys() {
        if !known.contains(&k.as_str()) {
            return Err(Error::with(
                ANAF_ERR_INVALID_ARGUMENT,
                format!(
                    "options_json: câmpul „{k}” nu este cunoscut; permise: {}.",
                    known.join(", ")
                ),
                format!(
                    "options_json: unknown field \"{k}\"; known: {}.",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(map)
}

/// The members of an options object, each checked for its type; errors name the argument.
pub(crate) struct Members {
    pub(crate) m: Map<String, Value>,
    pub(crate) arg: &'static str,
}

impl Members {
    fn bad(&self, k: &str, ro: &str, en: &str) -> Error {
        Error::with(
            ANAF_ERR_INVALID_ARGUMENT,
            format!("{}: \"{k}\" {ro}", self.arg),
            format!("{}: \"{k}\" {en}", self.arg),
        )
    }

    pub(crate) fn string(&self, k: &str) -> Result<Option<String>> {
        match self.m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(k, "trebuie să fie text.", "must be a string.")),
        }
    }

    /// A day, `YYYY-MM-DD`, as the Unix ms of its start (UTC).
    pub(crate) fn day_ms(&self, k: &str) -> Result<Option<i64>> {
        self.string(k)?
            .map(|d| {
                chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map(|d| {
                        d.and_hms_opt(0, 0, 0)
                            .unwrap_or_default()
                            .and_utc()
                            .timestamp_millis()
                    })
                    .map_err(|_| self.bad(k, "este o dată AAAA-LL-ZZ.", "is a date YYYY-MM-DD."))
            })
            .transpose()
    }

    /// A whole number from `min` to `max`.
    pub(crate) fn number(&self, k: &str, min: u64, max: u64) -> Result<Option<u64>> {
        match self.m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some_and(|v| (min..=max).contains(&v)) => {
                Ok(n.as_u64())
            }
            Some(_) => Err(self.bad(
                k,
                &format!("este un număr întreg de la {min} la {max}."),
                &format!("is a whole number from {min} to {max}."),
            )),
        }
    }

    pub(crate) fn flag(&self, k: &str) -> Result<bool> {
        match self.m.get(k) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.bad(k, "este true sau false.", "is true or false.")),
        }
    }
}

/// A boolean option: true/false, 1/0, "DA"/"NU".
pub(crate) fn flag(map: &Map<String, Value>, key: &str) -> Result<bool> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(false),
        Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("DA") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("NU") => Ok(false),
        Some(other) => Err(Error::with(
            ANAF_ERR_INVALID_ARGUMENT,
            format!("options_json: „{key}” = {other} trebuie să fie true sau false."),
            format!("options_json: \"{key}\" = {other} must be true or false."),
        )),
    }
}

pub(crate) fn string_opt<'m>(map: &'m Map<String, Value>, key: &str) -> Result<Option<&'m str>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(Error::with(
            ANAF_ERR_INVALID_ARGUMENT,
            format!("options_json: „{key}” = {other} trebuie să fie text."),
            format!("options_json: \"{key}\" = {other} must be a string."),
        )),
    }
}

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

/// The JSON of a journal row, as `anaf_upload` and `anaf_upload_journal` give it.
pub(crate) fn entry_json(e: &Entry) -> Value {
    serde_json::to_value(e).unwrap_or(Value::Null)
}

/// Gives the host the answer of an upload that did not fail, and its status:
/// `ANAF_OK`, `ANAF_ALREADY_UPLOADED` (with a message naming the index) or
/// `ANAF_ERR_UPLOAD_UNCERTAIN` (with the JSON still filled in).
/// The answer of an upload that went out: ANAF's answer with `"result":"uploaded"`.
pub(crate) fn uploaded(slot: &mut *mut c_char, answer: &impl serde::Serialize) -> Result<i32> {
    let mut v = serde_json::to_value(answer).unwrap_or(Value::Null);
    v["result"] = json!("uploaded");
    super::give_json(slot, &v);
    Ok(ANAF_OK)
}

pub(crate) fn journal_outcome(slot: &mut *mut c_char, prev: &Entry, already: bool) -> Result<i32> {
    let mut v = json!({
        "result": if already { "already_uploaded" } else { "uncertain" },
        "index_incarcare": prev.index_incarcare,
        "sent_at": prev.started_at,
        "journal_id": prev.id,
        "journal": entry_json(prev),
    });
    if let Some(u) = &prev.uit {
        v["UIT"] = json!(u);
    }
    super::give_json(slot, &v);
    if already {
        let idx = prev.index_incarcare.clone().unwrap_or_default();
        note(&Error::with(
            ANAF_ALREADY_UPLOADED,
            format!("index_incarcare {idx}, trimis la {} (jurnalul de încărcări, rândul {}). Pentru o retrimitere voită folosiți opțiunea \"force\".", prev.started_at, prev.id),
            format!("index_incarcare {idx}, sent at {} (upload journal row {}). To upload it again on purpose use the \"force\" option.", prev.started_at, prev.id),
        ));
        Ok(ANAF_ALREADY_UPLOADED)
    } else {
        Err(Error::with(
            ANAF_ERR_UPLOAD_UNCERTAIN,
            format!(
                "Încercarea anterioară: {} (jurnal rândul {}, stare „{}”{}).",
                prev.started_at,
                prev.id,
                prev.state,
                prev.detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ),
            format!(
                "Earlier attempt: {} (journal row {}, state \"{}\"{}).",
                prev.started_at,
                prev.id,
                prev.state,
                prev.detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ),
        ))
    }
}

fn do_upload(
    client: *mut AnafClient,
    xml: &[u8],
    options_json: Option<&str>,
    slot: &mut *mut c_char,
) -> Result<i32> {
    let s = session(client)?;
    let opts = upload_options(options_json)?;
    match s.efactura().upload(xml, &opts)? {
        UploadOutcome::Uploaded(u) => uploaded(slot, &u),
        UploadOutcome::AlreadyUploaded(e) => journal_outcome(slot, &e, true),
        UploadOutcome::Uncertain(e) => journal_outcome(slot, &e, false),
    }
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
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let xml = bytes(xml, xml_len, "xml")?;
        let opts = opt_text(options_json, "options_json")?;
        do_upload(client, xml, opts, slot)
    })
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
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let path = text(xml_path, "xml_path")?;
        let opts = opt_text(options_json, "options_json")?;
        session(client)?;
        let xml = files::read_file(Path::new(path))?;
        do_upload(client, &xml, opts, slot)
    })
}

fn state_status(st: &efactura::MessageState) -> Result<i32> {
    if st.is_ok() {
        Ok(ANAF_OK)
    } else if st.is_pending() {
        note(&Error::verbatim(
            ANAF_PENDING,
            format!("ANAF: stare=\"{}\"", st.stare),
        ));
        Ok(ANAF_PENDING)
    } else {
        let id = st.id_descarcare.clone().unwrap_or_default();
        let said = if st.errors.is_empty() {
            String::new()
        } else {
            format!(" — {}", st.errors.join("; "))
        };
        Err(Error::with(
            ANAF_ERR_REJECTED,
            format!(
                "ANAF: stare=\"{}\"{said}{}",
                st.stare,
                if id.is_empty() {
                    String::new()
                } else {
                    format!("; lista erorilor se descarcă cu id_descarcare={id}")
                }
            ),
            format!(
                "ANAF: stare=\"{}\"{said}{}",
                st.stare,
                if id.is_empty() {
                    String::new()
                } else {
                    format!("; download the error list with id_descarcare={id}")
                }
            ),
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
                    (
                        format!("S-au făcut deja {} verificări azi pentru acest mesaj; anaf-bridge s-a oprit ca să nu depășească limita ANAF de 100 pe zi.", w.checks_today),
                        format!("{} checks of this message were made today; anaf-bridge stopped to stay under ANAF's limit of 100 a day.", w.checks_today),
                    )
                } else {
                    (
                        format!(
                            "Încă în prelucrare după {timeout_seconds} s ({} verificări).",
                            w.polls
                        ),
                        format!(
                            "Still being processed after {timeout_seconds} s ({} checks).",
                            w.polls
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
        let xml = files::read_file(xml_path)?;
        let sig = files::read_file(sig_path)?;
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

/// The upload journal of the configured CIF for the last `days` days (1..3650), newest
/// first: `{"uploads":[{"id","service","standard","flags","sha256","size","started_at",
/// "finished_at","state","index_incarcare","uit","last_status","detail","forced"}]}`.
/// `state`: "uploaded", "rejected", "failed" (never reached ANAF), "unknown" (no answer),
/// "sending" (in progress, or the program stopped while sending).
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_upload_journal(
    client: *mut AnafClient,
    days: i32,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let s = session(client)?;
        if !(1..=3650).contains(&days) {
            return Err(Error::with(
                ANAF_ERR_INVALID_ARGUMENT,
                format!("„days” = {days}: între 1 și 3650."),
                format!("\"days\" = {days}: from 1 to 3650."),
            ));
        }
        let rows = journal::recent(&s.store, &s.config.cif, days as u32)?;
        let list: Vec<Value> = rows.iter().map(entry_json).collect();
        super::give_json(slot, &json!({ "uploads": list }));
        Ok(ANAF_OK)
    })
}

/// `anaf_upload_resolve` with row 0: every e-Factura row of this CIF in the last `zile`
/// days still uncertain (`sending` or `unknown`: a batch cut short, a lost answer).
fn resolve_all(s: &crate::client::Session, zile: i32, slot: &mut *mut c_char) -> Result<i32> {
    let days = check_days(zile as i64)?;
    let ids: Vec<i64> = crate::store::journal::recent(&s.store, &s.config.cif, days)?
        .into_iter()
        .filter(|e| {
            e.service().is_some_and(|s| s.is_efactura())
                && matches!(
                    e.state(),
                    crate::store::journal::State::Sending | crate::store::journal::State::Unknown
                )
        })
        .map(|e| e.id)
        .collect();
    let rows = if ids.is_empty() {
        Vec::new()
    } else {
        s.efactura().resolve_many(&ids, zile as i64)?
    };
    let found = rows.iter().filter(|r| r.found).count();
    super::give_json(
        slot,
        &json!({
            "rows": rows.iter().map(|r| json!({
                "journal_id": r.entry.id,
                "found": r.found,
                "index_incarcare": r.entry.index_incarcare,
                "state": r.entry.state,
            })).collect::<Vec<_>>(),
            "found": found,
            "not_found": rows.len() - found,
            "checked": rows.first().map_or(0, |r| r.checked),
        }),
    );
    Ok(ANAF_OK)
}

/// Settles an upload left uncertain (`ANAF_ERR_UPLOAD_UNCERTAIN`, journal row `journal_id`
/// from its JSON): looks for the invoice among those sent in the last `zile` days since
/// the attempt, downloading candidates (at most 20, newest first) and comparing the
/// SHA-256 of their XML with the journal's. Found: returns `ANAF_ALREADY_UPLOADED`, the
/// row becomes "uploaded" with its `index_incarcare` (later uploads of the document are
/// not sent). Not found: `ANAF_OK` with `"found":false`; upload with `force` if wanted.
/// `*out_json`: `{"found","checked","index_incarcare","journal":{…}}`.
/// `journal_id` 0 settles every row of this CIF still uncertain in the last `zile` days
/// (a batch cut short) with one listing, each candidate downloaded once:
/// `{"rows":[{"journal_id","found","index_incarcare","state"}…],"found","not_found",
/// "checked"}`, `ANAF_OK`.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_upload_resolve(
    client: *mut AnafClient,
    journal_id: i64,
    zile: i32,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let s = session(client)?;
        if journal_id == 0 {
            return resolve_all(&s, zile, slot);
        }
        let r = s.efactura().resolve(journal_id, zile as i64)?;
        super::give_json(
            slot,
            &json!({
                "found": r.found,
                "checked": r.checked,
                "index_incarcare": r.entry.index_incarcare,
                "journal": entry_json(&r.entry),
            }),
        );
        if r.found {
            note(&Error::with(
                ANAF_ALREADY_UPLOADED,
                format!(
                    "Factura este la ANAF: index_incarcare {}.",
                    r.entry.index_incarcare.as_deref().unwrap_or("")
                ),
                format!(
                    "The invoice is at ANAF: index_incarcare {}.",
                    r.entry.index_incarcare.as_deref().unwrap_or("")
                ),
            ));
            Ok(ANAF_ALREADY_UPLOADED)
        } else {
            Ok(ANAF_OK)
        }
    })
}
