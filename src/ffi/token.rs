//! The token functions of the C API.

use super::{entry, give, give_json, opt_out, opt_text, out, session, text, AnafClient};
use crate::status::ANAF_OK;
use std::ffi::c_char;

/// Returns in `*out_url` (free with `anaf_free`) the ANAF authorization URL the login
/// window or the browser opens: response_type=code, client_id, redirect_uri,
/// token_content_type=jwt and `state`. `state` NULL or "" means a new random one (it can
/// be read back from the URL's `state` parameter).
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `state` is NULL or a NUL-terminated
/// string; `out_url` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_authorize_url(
    client: *mut AnafClient,
    state: *const c_char,
    out_url: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_url, "out_url")?;
        let s = session(client)?;
        let state = match opt_text(state, "state")? {
            Some(v) => v.to_string(),
            None => crate::client::oauth::new_state(),
        };
        let url = crate::client::oauth::authorize_url(&s.config, &state)?;
        give(slot, url.as_str());
        Ok(ANAF_OK)
    })
}

/// Exchanges an authorization code for a token and stores it (the manual path: the user
/// pastes either the code or the whole redirected URL `https://…?code=…&state=…`).
/// The code is valid 60 seconds at ANAF: `ANAF_ERR_CODE_EXPIRED` after that.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `code_or_redirect_url` is NULL or a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn anaf_exchange_code(
    client: *mut AnafClient,
    code_or_redirect_url: *const c_char,
) -> i32 {
    entry(|| {
        let s = session(client)?;
        let code = text(code_or_redirect_url, "code_or_redirect_url")?;
        s.exchange_code(code)?;
        Ok(ANAF_OK)
    })
}

/// Stores a token pair obtained elsewhere (an ERP's previous DLL, another tool): the
/// expiries and the certificate serial are read from the JWTs. Replaces the stored pair,
/// once checked: two JWTs of at most 16 KB, access and refresh not swapped, the refresh
/// token not expired, the configured `cert_serial` where the tokens name one; otherwise
/// `ANAF_ERR_INVALID_ARGUMENT` and the stored pair is kept.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `access_token` and `refresh_token` are
/// NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn anaf_import_token(
    client: *mut AnafClient,
    access_token: *const c_char,
    refresh_token: *const c_char,
) -> i32 {
    entry(|| {
        let s = session(client)?;
        let a = text(access_token, "access_token")?;
        let r = text(refresh_token, "refresh_token")?;
        s.import_token(a, r)?;
        Ok(ANAF_OK)
    })
}

/// Refreshes the token now (new access and refresh token, both stored atomically). If
/// another program refreshes at the same moment, its result is used (ANAF is called once).
/// `ANAF_ERR_LOGIN_REQUIRED` when the refresh token is expired or refused.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`.
#[no_mangle]
pub unsafe extern "C" fn anaf_refresh(client: *mut AnafClient) -> i32 {
    entry(|| {
        let s = session(client)?;
        s.refresh_now()?;
        Ok(ANAF_OK)
    })
}

/// Returns a valid access token in `*out_token` (free with `anaf_free`), refreshing it
/// silently when it has less than `refresh_margin_days` left. `ANAF_ERR_NO_TOKEN` when
/// none is stored; `ANAF_ERR_LOGIN_REQUIRED` when it expired and a new login with the
/// certificate is needed.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `out_token` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_get_token(
    client: *mut AnafClient,
    out_token: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_token, "out_token")?;
        let s = session(client)?;
        let token = s.access_token()?;
        give(slot, token);
        Ok(ANAF_OK)
    })
}

/// Returns in `*out_json` (free with `anaf_free`) what is known of the stored token,
/// without the token itself: `{"cif","environment","client_id","serial","token_type",
/// "access_expires_at","refresh_expires_at" (RFC 3339 UTC),"days_left","refresh_days_left",
/// "obtained_at","refreshed_at","version","login_required","refresh_error","token_cif",
/// "cifs"}`. `cif` is the handle's company, `token_cif` the one whose login keys the token's
/// row; `cifs` lists every company the token serves: `{"cif","served","assigned_by",
/// "assigned_at","accepted_at","refused_at","status"}` (`status`: ANAF's words and the
/// certificate's serial when ANAF refused the token for that CIF).
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_token_info(
    client: *mut AnafClient,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let s = session(client)?;
        let info = s.token_info()?;
        let v = serde_json::to_value(&info).unwrap_or_default();
        give_json(slot, &v);
        Ok(ANAF_OK)
    })
}

/// One certificate, many companies: this handle's CIF is served from now on by the token
/// obtained with the certificate `cert_serial` (hex, separators allowed; NULL or "" means
/// the configured `cert_serial`), whichever company's login obtained it. No login and no
/// call to ANAF: the first call for this CIF confirms it, or ANAF's refusal ("Nu aveti drept
/// in SPV pentru CIF=…") is recorded in `anaf_token_info`'s `cifs`. `ANAF_ERR_NO_TOKEN` when
/// no token of that certificate is stored. `*out_json` (NULL if not wanted; free with
/// `anaf_free`) is then what `anaf_token_info` answers.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `cert_serial` is NULL or a NUL-terminated
/// string; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_token_assign(
    client: *mut AnafClient,
    cert_serial: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = opt_out(out_json, "out_json")?;
        let s = session(client)?;
        let info = s.assign_token(opt_text(cert_serial, "cert_serial")?)?;
        if let Some(slot) = slot {
            give_json(slot, &serde_json::to_value(&info).unwrap_or_default());
        }
        Ok(ANAF_OK)
    })
}

/// Checks the token against ANAF's TestOauth service (refreshing it first if needed).
/// `ANAF_OK` when ANAF accepts it.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`.
#[no_mangle]
pub unsafe extern "C" fn anaf_test_token(client: *mut AnafClient) -> i32 {
    entry(|| {
        let s = session(client)?;
        s.test_token()?;
        Ok(ANAF_OK)
    })
}

/// Revokes the token at ANAF (best effort: ANAF's revoke is unreliable) and deletes it
/// from the table. `ANAF_OK` even if the revoke failed (the failure goes to the log);
/// `ANAF_ERR_NO_TOKEN` if nothing was stored. A token that also serves other companies is
/// kept for them: only this handle's CIF stops using it.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`.
#[no_mangle]
pub unsafe extern "C" fn anaf_delete_token(client: *mut AnafClient) -> i32 {
    entry(|| {
        let s = session(client)?;
        s.delete_token()?;
        Ok(ANAF_OK)
    })
}

/// Moves the token store of `from_config_json` into the store of `to_config_json`: every
/// token row (each CIF of the file) and the upload journal, typically from the SQLite file
/// (`"database"`) to the ERP's database server (`"odbc"`) when the ERP upgrades. Each
/// source row is marked moved (its refresh token refused there, with a text naming the
/// target), so exactly one live copy of every refresh token remains; a workstation still
/// configured with the file gets `ANAF_ERR_LOGIN_REQUIRED` saying where the token went
/// once its access token expires. Where the target already has a fresher row, the target's
/// is kept. Run again, it moves nothing twice. `*out_json` (free with `anaf_free`):
/// `{"tokens": [{"profile": {"cif", "client_id", "environment"}, "outcome": "moved" |
/// "kept_newer" | "already_moved"}], "served": {"read", "copied"}, "journal": {"read",
/// "copied"}}` (`served`: which token serves which company, copied where the target has no
/// assignment of its own).
///
/// # Safety
/// `from_config_json` and `to_config_json` are NULL or NUL-terminated strings; `out_json` is
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_store_migrate(
    from_config_json: *const c_char,
    to_config_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        use crate::config::{Config, Storage};
        use crate::error::Error;
        use crate::store::Store;
        let slot = out(out_json, "out_json")?;
        let from = Config::from_json(text(from_config_json, "from_config_json")?)?;
        let to = Config::from_json(text(to_config_json, "to_config_json")?)?;
        if from.storage == to.storage {
            return Err(Error::with(
                crate::status::ANAF_ERR_INVALID_ARGUMENT,
                "Sursa și destinația mutării sunt aceeași bază de date.",
                "The move's source and target are the same database.",
            ));
        }
        let label = match &to.storage {
            Storage::Sqlite(p) => p.display().to_string(),
            #[cfg(feature = "odbc")]
            Storage::Odbc(t) => crate::store::odbc::mask_connection_string(&t.connection),
            #[cfg(not(feature = "odbc"))]
            Storage::Odbc(_) => "odbc".to_string(),
        };
        let (source, target) = (Store::for_config(&from)?, Store::for_config(&to)?);
        let report = crate::store::migrate::migrate(&source, &target, &label, crate::time::now())?;
        ::log::info!(target: "anaf::store", "store moved to {label}: {report}");
        give_json(slot, &report);
        Ok(ANAF_OK)
    })
}
