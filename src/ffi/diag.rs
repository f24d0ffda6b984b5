//! The diagnostics of the C API: one call that tells the accountant (and the ERP's
//! support) what is wrong with this computer's setup, check by check.

use super::{entry, give_json, out, session, text, AnafClient};
use crate::config::Config;
use crate::diagnose;
use crate::status::ANAF_OK;
use std::ffi::c_char;

/// Checks this computer's setup for the client and returns a report in `*out_json` (free
/// with `anaf_free`): `{"ok", "problems", "warnings", "summary", "checks": [{"id",
/// "status": "ok"|"warning"|"problem"|"skipped", "title", "message", "action", "data"}]}`,
/// in the client's language. Checks: certificate serial, OAuth fields, DLL bitness and the
/// copies in System32 / SysWOW64, WebView2 runtime, Remote Desktop, database writable,
/// log file, proxy, each ANAF host (DNS, connection, TLS), clock skew, the stored token.
/// Returns `ANAF_OK` when the report was made, whatever it found.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_diagnose(client: *mut AnafClient, out_json: *mut *mut c_char) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let s = session(client)?;
        let report = diagnose::run(&s.config, Some(&s));
        give_json(slot, &report.to_json(s.config.language));
        Ok(ANAF_OK)
    })
}

/// As `anaf_diagnose`, from a configuration JSON instead of an open client: for when
/// `anaf_open` itself fails (a read-only or unreachable database, a wrong `ca_file`).
/// The configuration must still parse; the database is probed, not created.
///
/// # Safety
/// `config_json` is NULL or a NUL-terminated string; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_diagnose_config(
    config_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let cfg = Config::from_json(text(config_json, "config_json")?)?;
        let report = diagnose::run(&cfg, None);
        give_json(slot, &report.to_json(cfg.language));
        Ok(ANAF_OK)
    })
}
