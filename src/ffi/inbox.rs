//! The e-Factura inbox of the C API: the sync, the list of what arrived, one message's
//! parts, the ERP's acknowledgement. The rows are documented in README (`anaf_inbox`).

use super::options::{options, Members};
use super::{entry, opt_text, out, session, text, AnafClient};
use crate::client::inbox::{Job, Part, SyncOptions};
use crate::error::{Error, Result};
use crate::status::*;
use crate::store::inbox::Filter;
use serde_json::json;
use std::ffi::c_char;
use std::path::Path;
use std::time::Duration;

/// Brings the inbox of the handle's CIF up to date in the database (listing from where the
/// last run ended, downloading each new message once; see README "The inbox").
/// `options_json` may be NULL or `{"since":"YYYY-MM-DD","wait_seconds":N,"max_downloads":N}`.
/// `*out_json` (always, also with an error status): `{"new","new_by_type","listed",
/// "downloaded","failed","expired","left","complete","stopped","inbox",…}`.
/// `ANAF_ERR_SYNC_BUSY` when another workstation syncs this CIF right now.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `options_json` is NULL or a
/// NUL-terminated string; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_inbox_sync(
    client: *mut AnafClient,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let o = sync_options(opt_text(options_json, "options_json")?)?;
        let s = session(client)?;
        match s.inbox_sync(&o) {
            Ok(v) => {
                super::give_json(slot, &v);
                Ok(ANAF_OK)
            }
            Err((e, v)) => {
                if !v.is_null() {
                    super::give_json(slot, &v);
                }
                Err(e)
            }
        }
    })
}

/// Starts `anaf_inbox_sync` on a thread of its own and returns at once; the ERP's screen
/// then calls `anaf_inbox_sync_poll` (every second, say) for the progress and the outcome.
/// `ANAF_ERR_SYNC_BUSY` when a sync begun on this handle is still running.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `options_json` is NULL or a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn anaf_inbox_sync_begin(
    client: *mut AnafClient,
    options_json: *const c_char,
) -> i32 {
    entry(|| {
        let o = sync_options(opt_text(options_json, "options_json")?)?;
        let s = session(client)?;
        let mut job = s.inbox_job.lock().unwrap_or_else(|p| p.into_inner());
        if job.as_ref().is_some_and(|j| !j.finished()) {
            return Err(Error::with(
                ANAF_ERR_SYNC_BUSY,
                "O sincronizare pornită cu anaf_inbox_sync_begin pe acest client rulează încă; urmăriți-o cu anaf_inbox_sync_poll.",
                "A sync begun with anaf_inbox_sync_begin on this client is still running; follow it with anaf_inbox_sync_poll.",
            ));
        }
        let session = s.clone();
        *job = Some(Job::start("anaf-inbox-sync", move |p, _| {
            session.inbox_sync_with(&o, p)
        }));
        Ok(ANAF_OK)
    })
}

/// The sync begun with `anaf_inbox_sync_begin`: `ANAF_PENDING` while it runs, with
/// `{"status":"running","progress":{"phase":"starting|listing|downloading|done","listed",
/// "new","total","downloaded","parsed","failed"}}`; once it ended, its status (what
/// `anaf_inbox_sync` would have returned) and `{"status":"done", …its answer…}` — once:
/// the next poll answers `ANAF_ERR_NO_SYNC`, as does a handle where none was begun.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_inbox_sync_poll(
    client: *mut AnafClient,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let s = session(client)?;
        super::job::poll(&s.inbox_job, ANAF_ERR_NO_SYNC, slot, |_| Ok(ANAF_OK))
    })
}

/// The messages of the inbox, newest first, without their files. `filter_json` may be NULL
/// or `{"type":"FACTURA PRIMITA","supplier_cif":"…","state":"downloaded",
/// "not_imported":true,"from":"YYYY-MM-DD","to":"YYYY-MM-DD","limit":N}`.
/// `*out_json`: `{"messages":[{row}…],"count"}`.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `filter_json` is NULL or a
/// NUL-terminated string; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_inbox_list(
    client: *mut AnafClient,
    filter_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let f = filter(opt_text(filter_json, "filter_json")?)?;
        let s = session(client)?;
        let rows = s
            .store
            .inbox(&s.config.cif, s.config.environment.as_str())
            .list(&f)?;
        super::give_json(slot, &json!({"count": rows.len(), "messages": rows}));
        Ok(ANAF_OK)
    })
}

fn sync_options(raw: Option<&str>) -> Result<SyncOptions> {
    let o = Members {
        m: options(raw, &["since", "wait_seconds", "max_downloads"])?,
        arg: "options_json",
    };
    Ok(SyncOptions {
        since_ms: o.day_ms("since")?,
        wait: o.number("wait_seconds", 0, 3600)?.map(Duration::from_secs),
        max_downloads: o
            .number("max_downloads", 0, u32::MAX as u64)?
            .map(|n| n as usize),
    })
}

fn filter(raw: Option<&str>) -> Result<Filter> {
    let f = Members {
        m: options(
            raw,
            &[
                "type",
                "supplier_cif",
                "state",
                "not_imported",
                "from",
                "to",
                "limit",
            ],
        )?,
        arg: "filter_json",
    };
    Ok(Filter {
        message_type: f.string("type")?,
        supplier_cif: f.string("supplier_cif")?,
        state: f.string("state")?,
        not_imported: f.flag("not_imported")?,
        from_ms: f.day_ms("from")?,
        // "to" includes its whole day.
        to_ms: f.day_ms("to")?.map(|ms| ms + 86_400_000),
        limit: f.number("limit", 0, u32::MAX as u64)?.map(|n| n as usize),
    })
}

/// Writes one part of a downloaded message to `out_path`: `what` is "zip" (as ANAF gave
/// it), "xml" (the invoice), "signature" (ANAF's signature) or "pdf" (made by ANAF's public
/// transformation, which may answer with its firewall's page: `ANAF_ERR_HTML_RESPONSE`,
/// try again later). `out_json` may be NULL; otherwise `{"path","size","message":{row}}`.
/// `ANAF_ERR_NO_MESSAGE` for a message not in the inbox or not downloaded yet.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `id`, `what` and `out_path` are
/// NUL-terminated strings; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_inbox_get(
    client: *mut AnafClient,
    id: *const c_char,
    what: *const c_char,
    out_path: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = super::opt_out(out_json, "out_json")?;
        let id = text(id, "id")?;
        let part = Part::parse(text(what, "what")?)?;
        let path = text(out_path, "out_path")?;
        let s = session(client)?;
        let size = s.inbox_part(id, part, Path::new(path))?;
        if let Some(slot) = slot {
            let row = s
                .store
                .inbox(&s.config.cif, s.config.environment.as_str())
                .get(id)?;
            super::give_json(slot, &json!({"path": path, "size": size, "message": row}));
        }
        Ok(ANAF_OK)
    })
}

/// Records that the ERP imported message `id` as `erp_ref` (its document number, say), so
/// that `{"not_imported":true}` no longer lists it. Acknowledging again replaces the
/// reference. `ANAF_ERR_NO_MESSAGE` when there is no such message.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `id` and `erp_ref` are NUL-terminated
/// strings.
#[no_mangle]
pub unsafe extern "C" fn anaf_inbox_ack(
    client: *mut AnafClient,
    id: *const c_char,
    erp_ref: *const c_char,
) -> i32 {
    entry(|| {
        let id = text(id, "id")?;
        let erp_ref = text(erp_ref, "erp_ref")?;
        let s = session(client)?;
        let now = crate::time::now();
        let found = s
            .store
            .inbox(&s.config.cif, s.config.environment.as_str())
            .ack(id, erp_ref, now)?;
        if found {
            Ok(ANAF_OK)
        } else {
            let cif = &s.config.cif;
            Err(Error::with(
                ANAF_ERR_NO_MESSAGE,
                format!("Mesajul {id} nu este în inbox-ul CIF {cif}."),
                format!("Message {id} is not in the inbox of CIF {cif}."),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_options_are_checked() {
        let o = sync_options(Some(
            r#"{"since": "2026-11-01", "wait_seconds": 5, "max_downloads": 3}"#,
        ))
        .unwrap();
        assert_eq!(o.since_ms, Some(1_793_491_200_000), "2026-11-01T00:00:00Z");
        assert_eq!(o.wait, Some(Duration::from_secs(5)));
        assert_eq!(o.max_downloads, Some(3));
        assert!(sync_options(None).unwrap().since_ms.is_none());
        let e = sync_options(Some(r#"{"sinse": 1}"#)).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_INVALID_ARGUMENT);
        assert_eq!(
            sync_options(Some("[")).unwrap_err().status,
            ANAF_ERR_INVALID_JSON
        );
        let e = sync_options(Some(r#"{"wait_seconds": 3601}"#)).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_INVALID_ARGUMENT);
    }
}
