//! The upload part of the C API that every service shares: the exports' bodies for an XML
//! in memory or in a file, the JSON of an upload's outcome, and the upload journal's own
//! calls (`anaf_upload_journal`, `anaf_upload_resolve`).

use super::{bytes, entry, note, opt_text, out, session, text, AnafClient};
use crate::client::files::read_file;
use crate::client::input::check_days;
use crate::client::upload::UploadOutcome;
use crate::client::Session;
use crate::error::{Error, Result};
use crate::status::*;
use crate::store::journal::{self, Entry};
use serde::Serialize;
use serde_json::{json, Value};
use std::ffi::c_char;
use std::path::Path;

/// A service's upload: the session, the XML and the call's `options_json`.
pub(crate) type UploadFn<U> = fn(&Session, &[u8], Option<&str>) -> Result<UploadOutcome<U>>;

/// The body of an upload export for an XML in memory (`xml`, `xml_len` bytes).
///
/// # Safety
/// As the exports that call it: `xml` points to `xml_len` bytes, `options_json` is NULL or
/// a NUL-terminated string, `out_json` is NULL or writable.
pub(crate) unsafe fn from_memory<U: Serialize>(
    client: *mut AnafClient,
    xml: *const u8,
    xml_len: usize,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
    send: UploadFn<U>,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let xml = bytes(xml, xml_len, "xml")?;
        let opts = opt_text(options_json, "options_json")?;
        let s = session(client)?;
        give_outcome(slot, send(&s, xml, opts)?)
    })
}

/// The body of an upload export for an XML read from `xml_path`.
///
/// # Safety
/// As the exports that call it: `xml_path` and `options_json` are NULL or NUL-terminated
/// strings, `out_json` is NULL or writable.
pub(crate) unsafe fn from_file<U: Serialize>(
    client: *mut AnafClient,
    xml_path: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
    send: UploadFn<U>,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let path = text(xml_path, "xml_path")?;
        let opts = opt_text(options_json, "options_json")?;
        let s = session(client)?;
        let xml = read_file(Path::new(path))?;
        give_outcome(slot, send(&s, &xml, opts)?)
    })
}

/// Gives the host the answer of an upload that did not fail, and its status.
pub(crate) fn give_outcome<U: Serialize>(
    slot: &mut *mut c_char,
    outcome: UploadOutcome<U>,
) -> Result<i32> {
    match outcome {
        UploadOutcome::Uploaded(u) => uploaded(slot, &u),
        UploadOutcome::AlreadyUploaded(e) => journal_outcome(slot, &e, true),
        UploadOutcome::Uncertain(e) => journal_outcome(slot, &e, false),
    }
}

/// The JSON of a journal row, as `anaf_upload` and `anaf_upload_journal` give it.
pub(crate) fn entry_json(e: &Entry) -> Value {
    serde_json::to_value(e).unwrap_or(Value::Null)
}

/// The answer of an upload that went out: ANAF's answer with `"result":"uploaded"`.
pub(crate) fn uploaded(slot: &mut *mut c_char, answer: &impl serde::Serialize) -> Result<i32> {
    let mut v = serde_json::to_value(answer).unwrap_or(Value::Null);
    v["result"] = json!("uploaded");
    super::give_json(slot, &v);
    Ok(ANAF_OK)
}

/// The answer of an upload the journal did not send: `ANAF_ALREADY_UPLOADED` (with a
/// message naming the index) or `ANAF_ERR_UPLOAD_UNCERTAIN` (with the JSON still filled in).
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
        let (started_at, row) = (&prev.started_at, prev.id);
        note(&Error::with(
            ANAF_ALREADY_UPLOADED,
            format!("index_incarcare {idx}, trimis la {started_at} (jurnalul de încărcări, rândul {row}). Pentru o retrimitere voită folosiți opțiunea \"force\"."),
            format!("index_incarcare {idx}, sent at {started_at} (upload journal row {row}). To upload it again on purpose use the \"force\" option."),
        ));
        Ok(ANAF_ALREADY_UPLOADED)
    } else {
        let (started_at, row, state) = (&prev.started_at, prev.id, &prev.state);
        let detail = prev
            .detail
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        Err(Error::with(
            ANAF_ERR_UPLOAD_UNCERTAIN,
            format!("Încercarea anterioară: {started_at} (jurnal rândul {row}, stare „{state}”{detail})."),
            format!("Earlier attempt: {started_at} (journal row {row}, state \"{state}\"{detail})."),
        ))
    }
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
            let idx = r.entry.index_incarcare.as_deref().unwrap_or("");
            note(&Error::with(
                ANAF_ALREADY_UPLOADED,
                format!("Factura este la ANAF: index_incarcare {idx}."),
                format!("The invoice is at ANAF: index_incarcare {idx}."),
            ));
            Ok(ANAF_ALREADY_UPLOADED)
        } else {
            Ok(ANAF_OK)
        }
    })
}
