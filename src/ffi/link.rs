//! The browser link of the C API: a URL valid 5 hours that whoever holds the USB token
//! opens in a browser; the ERP imports the token by polling (see `login::link`).

use super::{entry, give, give_json, opt_out, out, session, AnafClient};
use crate::login::link::{self, Poll};
use crate::status::{ANAF_OK, ANAF_PENDING};
use std::ffi::c_char;
use std::time::Duration;

fn code_of(r: &crate::error::Result<Poll>) -> crate::error::Result<i32> {
    match r {
        Ok(Poll::Done { .. }) => Ok(ANAF_OK),
        Ok(Poll::Pending { link }) => {
            // The text of anaf_last_error() for a pending link, not a stale earlier error.
            let until = chrono::DateTime::from_timestamp(link.expires_at, 0)
                .map(|t| {
                    t.with_timezone(&chrono::Local)
                        .format("%d.%m.%Y %H:%M")
                        .to_string()
                })
                .unwrap_or_default();
            super::note(&crate::error::Error::with(
                ANAF_PENDING,
                format!("Tokenul nu a fost generat încă în browser; linkul este valabil până la {until}."),
                format!("The token was not generated in the browser yet; the link is valid until {until}."),
            ));
            Ok(ANAF_PENDING)
        }
        Err(e) => Err(e.clone()),
    }
}

/// Creates a browser link at the vendor's anaf-relay (config `relay_url`) and returns its
/// URL in `*out_url` (free with `anaf_free`): valid 5 hours, to open on the computer
/// holding the USB token, or to send to the person who holds it. Replaces a link still
/// pending for this company. Needs `client_id`, `relay_url` and `relay_key`; the
/// application's Callback URL in SPV must be the relay's callback.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `out_url` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_link_begin(
    client: *mut AnafClient,
    out_url: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_url, "out_url")?;
        let s = session(client)?;
        let l = link::begin(&s)?;
        give(slot, l.url);
        Ok(ANAF_OK)
    })
}

/// Asks once whether the link's token was generated; never waits for the browser.
/// Returns `ANAF_OK` (the token is now in the table), `ANAF_PENDING` (not yet; call again
/// in a few seconds), `ANAF_ERR_LINK_EXPIRED` (5 hours passed: create a new link),
/// `ANAF_ERR_LINK_FAILED` (the browser attempt failed; the message says why and the link
/// may be opened again until it expires), `ANAF_ERR_NO_LINK`, or a network error (the link
/// stays pending). Works from any handle or process opened on the same database and
/// company, so the ERP's token form may be closed and reopened.
/// `out_json` may be NULL; otherwise it receives (free with `anaf_free`) a JSON object:
/// `{"status":"pending|done|failed|expired|none|error", "url", "expires_at", "token":{…},
/// "code", "message", "reason"}` (no secret in it).
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_link_poll(
    client: *mut AnafClient,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = opt_out(out_json, "out_json")?;
        let s = session(client)?;
        let r = link::poll(&s);
        if let Some(slot) = slot {
            give_json(slot, &link::describe(&s, &r));
        }
        code_of(&r)
    })
}

/// Like `anaf_link_poll`, but waits (polling every second) until the link is done,
/// expired or failed, for at most `timeout_seconds` (1 to 18000); then returns
/// `ANAF_ERR_TIMEOUT` and the link stays pending. For hosts that cannot poll on a timer.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_link_wait(
    client: *mut AnafClient,
    timeout_seconds: u32,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = opt_out(out_json, "out_json")?;
        let s = session(client)?;
        if timeout_seconds == 0 || timeout_seconds > 5 * 3600 {
            return Err(crate::error::Error::with(
                crate::status::ANAF_ERR_INVALID_ARGUMENT,
                "Parametrul \"timeout_seconds\" trebuie să fie între 1 și 18000.",
                "Argument \"timeout_seconds\" must be from 1 to 18000.",
            ));
        }
        let r = link::wait(&s, Duration::from_secs(timeout_seconds as u64));
        if let Some(slot) = slot {
            give_json(slot, &link::describe(&s, &r));
        }
        code_of(&r)
    })
}

/// Cancels the pending link (here and at the relay). `ANAF_ERR_NO_LINK` when none.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`.
#[no_mangle]
pub unsafe extern "C" fn anaf_link_cancel(client: *mut AnafClient) -> i32 {
    entry(|| {
        let s = session(client)?;
        if link::cancel(&s)? {
            Ok(ANAF_OK)
        } else {
            Err(crate::error::Error::new(crate::status::ANAF_ERR_NO_LINK))
        }
    })
}
