//! Many uploads at once (`anaf_upload_batch`): the items read and checked here, the batch
//! itself is `client::batch`'s.

use super::efactura::{upload_options_from, UPLOAD_KEYS};
use super::options::{flag, options, string_opt, Members};
use super::{entry, give_json, opt_text, out, session, text, AnafClient};
use crate::client::batch::{Doc, Item, Job};
use crate::client::files;
use crate::error::{Error, Result};
use crate::status::*;
use serde_json::{Map, Value};
use std::ffi::c_char;
use std::path::Path;
use std::time::Duration;

/// The keys of an item besides the upload options (`etransport`: an e-Transport
/// declaration instead of an invoice).
const ITEM_KEYS: &[&str] = &["path", "xml", "ref", "etransport"];
/// The upload options an e-Transport declaration takes.
const TRANSPORT_KEYS: &[&str] = &["cif", "force"];
/// The XML of a whole batch is held for the run: kept well inside a 32-bit ERP's memory.
const MAX_BATCH_BYTES: usize = 256 * 1024 * 1024;

/// The items of `items_json`, each with the batch's options under its own.
fn items(items_json: &str, defaults: &Map<String, Value>) -> Result<Vec<Item>> {
    let bad = |ro: String, en: String| Error::with(ANAF_ERR_INVALID_JSON, ro, en);
    let v: Value = serde_json::from_str(items_json)
        .map_err(|e| bad(format!("items_json: {e}"), format!("items_json: {e}")))?;
    let Value::Array(list) = v else {
        return Err(bad(
            "items_json trebuie să fie un tablou JSON: [{\"path\":\"…\"}, {\"xml\":\"…\"}].".into(),
            "items_json must be a JSON array: [{\"path\":\"…\"}, {\"xml\":\"…\"}].".into(),
        ));
    };
    let known: Vec<&str> = UPLOAD_KEYS.iter().chain(ITEM_KEYS).copied().collect();
    let mut total = 0usize;
    list.iter()
        .enumerate()
        .map(|(i, it)| {
            let mut m = options(Some(&it.to_string()), &known).map_err(|e| {
                let (ro, en) = (e.message(Lang::Ro), e.message(Lang::En));
                Error::with(
                    e.status,
                    format!("items_json[{i}]: {ro}"),
                    format!("items_json[{i}]: {en}"),
                )
            })?;
            let reference = string_opt(&m, "ref")?.map(str::to_string);
            // A file that cannot be read is that item's outcome; a malformed list is the
            // caller's mistake and refuses the whole batch before anything is written.
            let xml = match (string_opt(&m, "path")?, string_opt(&m, "xml")?) {
                (Some(p), None) => files::read_file(Path::new(p)),
                (None, Some(x)) => Ok(x.as_bytes().to_vec()),
                _ => {
                    return Err(Error::with(
                        ANAF_ERR_INVALID_ARGUMENT,
                        format!("items_json[{i}]: fiecare factură are fie „path”, fie „xml”."),
                        format!("items_json[{i}]: each invoice has either \"path\" or \"xml\"."),
                    ))
                }
            };
            total += xml.as_ref().map_or(0, Vec::len);
            if total > MAX_BATCH_BYTES {
                return Err(Error::with(
                    ANAF_ERR_TOO_LARGE,
                    format!("items_json[{i}]: lotul depășește 256 MB de XML; împărțiți-l în loturi mai mici."),
                    format!("items_json[{i}]: the batch holds more than 256 MB of XML; split it into smaller batches."),
                ));
            }
            let transport = flag(&m, "etransport")? || flag(defaults, "etransport")?;
            for k in ITEM_KEYS {
                m.remove(*k);
            }
            if transport {
                if let Some(k) = m.keys().find(|k| !TRANSPORT_KEYS.contains(&k.as_str())) {
                    return Err(Error::with(
                        ANAF_ERR_INVALID_ARGUMENT,
                        format!("items_json[{i}]: „{k}” nu se aplică unei declarații e-Transport (doar cif, force)."),
                        format!("items_json[{i}]: \"{k}\" does not apply to an e-Transport declaration (only cif, force)."),
                    ));
                }
            }
            for (k, v) in defaults {
                if k != "etransport" && (!transport || TRANSPORT_KEYS.contains(&k.as_str())) {
                    m.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            let doc = if transport {
                Doc::Transport {
                    cif: string_opt(&m, "cif")?.map(str::to_string),
                    force: flag(&m, "force")?,
                }
            } else {
                Doc::Invoice(upload_options_from(&m)?)
            };
            Ok(Item {
                xml,
                doc,
                reference,
            })
        })
        .collect()
}

/// The items and the number in flight of a call, checked before anything is written.
fn request(
    s: &crate::client::Session,
    items_json: &str,
    options_json: Option<&str>,
) -> Result<(Vec<Item>, usize)> {
    let known: Vec<&str> = UPLOAD_KEYS
        .iter()
        .copied()
        .chain(["max_in_flight", "etransport"])
        .collect();
    let mut o = Members {
        m: options(options_json, &known)?,
        arg: "options_json",
    };
    let in_flight = o
        .number("max_in_flight", 1, 64)?
        .map_or(s.config.max_in_flight as usize, |n| n as usize);
    o.m.remove("max_in_flight");
    let defaults = o.m;
    Ok((items(items_json, &defaults)?, in_flight))
}

/// The status of a finished batch: `ANAF_OK` when every item is at ANAF, else
/// `ANAF_ERR_BATCH_INCOMPLETE` naming the counts.
fn verdict(v: &Value) -> Result<i32> {
    let total = v["items"].as_array().map_or(0, Vec::len);
    let good = ["uploaded", "already_uploaded"]
        .iter()
        .map(|r| v["counts"][*r].as_u64().unwrap_or(0) as usize)
        .sum::<usize>();
    if good == total {
        return Ok(ANAF_OK);
    }
    let counts = v["counts"].to_string();
    let missing = total - good;
    Err(Error::with(
        ANAF_ERR_BATCH_INCOMPLETE,
        format!("{missing} din {total} facturi nu sunt la ANAF ({counts}); vedeți „items”."),
        format!("{missing} of {total} invoices are not at ANAF ({counts}); see \"items\"."),
    ))
}

/// Uploads many invoices to e-Factura, up to `max_in_flight` (config, default 8) at a time,
/// within the per-minute rate. `items_json`: `[{"path":"C:\\…\\f1.xml"}, {"xml":"<Invoice…>",
/// "ref":"FX-12"}, …]`, each with the options of `anaf_upload` if it needs its own;
/// `options_json` (NULL for none): those options for every item, and `max_in_flight`.
/// The journal rows of all items are written before the first one leaves (one transaction);
/// the duplicate rules of `anaf_upload` apply to each.
/// `*out_json` (also with an error status): `{"items":[{"item","ref","result",
/// "index_incarcare","journal_id","status","message"}…],"counts":{result:n},"elapsed_ms"}`;
/// `result`: uploaded, already_uploaded, duplicate, uncertain, invalid, rejected, failed,
/// unknown, cancelled. Returns `ANAF_OK` when every item is uploaded or already uploaded,
/// else `ANAF_ERR_BATCH_INCOMPLETE` (the JSON says which and why).
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `items_json` and `options_json` are NULL
/// or NUL-terminated strings; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_upload_batch(
    client: *mut AnafClient,
    items_json: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let list = text(items_json, "items_json")?;
        let options = opt_text(options_json, "options_json")?;
        let s = session(client)?;
        let (items, in_flight) = request(&s, list, options)?;
        let v = s.upload_batch(&items, in_flight)?;
        give_json(slot, &v);
        verdict(&v)
    })
}

/// Starts `anaf_upload_batch` on a thread of the DLL and returns at once (the list is
/// checked first: a malformed one is refused here); the ERP's screen then calls
/// `anaf_upload_batch_poll` for the progress and the outcome, and may call
/// `anaf_upload_batch_cancel`. `ANAF_ERR_BATCH_BUSY` while a batch begun on this handle runs.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `items_json` and `options_json` are NULL
/// or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn anaf_upload_batch_begin(
    client: *mut AnafClient,
    items_json: *const c_char,
    options_json: *const c_char,
) -> i32 {
    entry(|| {
        let list = text(items_json, "items_json")?;
        let options = opt_text(options_json, "options_json")?;
        let s = session(client)?;
        let mut job = s.batch_job.lock().unwrap_or_else(|p| p.into_inner());
        if job.as_ref().is_some_and(|j| !j.finished()) {
            return Err(Error::new(ANAF_ERR_BATCH_BUSY));
        }
        let (items, in_flight) = request(&s, list, options)?;
        let session = s.clone();
        *job = Some(Job::start("anaf-upload-batch", move |p, cancel| {
            session
                .upload_batch_with(&items, in_flight, p, cancel)
                .map_err(|e| (e, Value::Null))
        }));
        Ok(ANAF_OK)
    })
}

/// The batch begun with `anaf_upload_batch_begin`: `ANAF_PENDING` while it runs, with
/// `{"status":"running","progress":{"total","sent","accepted","failed","left"}}`; once it
/// ended, what `anaf_upload_batch` would have returned, with `"status":"done"` in its JSON —
/// once: the next poll answers `ANAF_ERR_NO_BATCH`, as does a handle where none was begun.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_upload_batch_poll(
    client: *mut AnafClient,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let s = session(client)?;
        super::job::poll(&s.batch_job, ANAF_ERR_NO_BATCH, slot, verdict)
    })
}

/// Stops the batch begun on this client at its next request: what was sent stays sent,
/// the items not sent yet end `cancelled` (and may be sent by a new batch). `ANAF_OK` also
/// when no batch runs; the poll then gives the outcome.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`.
#[no_mangle]
pub unsafe extern "C" fn anaf_upload_batch_cancel(client: *mut AnafClient) -> i32 {
    entry(|| {
        let s = session(client)?;
        if let Some(job) = s
            .batch_job
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            job.cancel();
        }
        Ok(ANAF_OK)
    })
}

/// The processing states of many uploads (`stareMesaj`), up to `max_in_flight` asked at
/// once. `ids_json`: `["5001234567", …]` (the `index_incarcare` of each upload);
/// `options_json` (NULL for none): `{"wait_seconds": N}` to poll each one until it is
/// final or N seconds pass (default 0: one check each), `"interval_ms"` (default 2000, then
/// half as long again each time), `"max_in_flight"`. Each message stays within its 100
/// checks a day (a few kept for the ERP). `*out_json`: `{"items":[{"index_incarcare",
/// "stare","id_descarcare","final","ok","errors","polls","checks_today",
/// "stopped_for_quota"} or {"index_incarcare","status","code","message"}…],
/// "counts":{"ok","nok","pending","unknown"}}`. Returns `ANAF_OK` when ANAF gave a state for
/// every one (whatever it is), else `ANAF_ERR_BATCH_INCOMPLETE`.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `ids_json` and `options_json` are NULL
/// or NUL-terminated strings; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_status_batch(
    client: *mut AnafClient,
    ids_json: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let ids = text(ids_json, "ids_json")?;
        let m = Members {
            m: options(
                opt_text(options_json, "options_json")?,
                &["wait_seconds", "interval_ms", "max_in_flight"],
            )?,
            arg: "options_json",
        };
        let s = session(client)?;
        let wait = Duration::from_secs(m.number("wait_seconds", 0, 3600)?.unwrap_or(0));
        let interval = Duration::from_millis(m.number("interval_ms", 100, 60_000)?.unwrap_or(2000));
        let in_flight = m
            .number("max_in_flight", 1, 64)?
            .map_or(s.config.max_in_flight as usize, |n| n as usize);
        let ids: Vec<String> = match serde_json::from_str::<Value>(ids) {
            Ok(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(t) => t.trim().to_string(),
                    other => other.to_string(),
                })
                .collect(),
            _ => return Err(Error::with(
                ANAF_ERR_INVALID_JSON,
                "ids_json trebuie să fie un tablou JSON de index_incarcare: [\"5001234567\", …].",
                "ids_json must be a JSON array of index_incarcare: [\"5001234567\", …].",
            )),
        };
        let lang = s.config.language;
        let (mut items, mut counts) = (Vec::new(), Map::new());
        for (id, w) in ids
            .iter()
            .zip(s.status_batch(&ids, in_flight, wait, interval))
        {
            let (kind, mut v) = match &w {
                Ok(w) => {
                    let kind = match &w.state {
                        Some(st) if st.is_ok() => "ok",
                        Some(st) if st.is_final() => "nok",
                        Some(_) => "pending",
                        None => "unknown",
                    };
                    (kind, super::efactura::waited_json(w))
                }
                Err(e) => (
                    "unknown",
                    serde_json::json!({"status": name(e.status), "code": e.status, "message": e.message(lang)}),
                ),
            };
            v["index_incarcare"] = Value::String(id.clone());
            items.push(v);
            let n = counts.entry(kind).or_insert(Value::from(0u64));
            *n = Value::from(n.as_u64().unwrap_or(0) + 1);
        }
        let unknown = counts.get("unknown").and_then(Value::as_u64).unwrap_or(0);
        give_json(
            slot,
            &serde_json::json!({"items": items, "counts": Value::Object(counts)}),
        );
        if unknown == 0 {
            Ok(ANAF_OK)
        } else {
            let total = ids.len();
            Err(Error::with(
                ANAF_ERR_BATCH_INCOMPLETE,
                format!(
                    "Starea a {unknown} din {total} încărcări nu a putut fi aflată; vedeți „items”."
                ),
                format!(
                    "The state of {unknown} of {total} uploads could not be had; see \"items\"."
                ),
            ))
        }
    })
}
