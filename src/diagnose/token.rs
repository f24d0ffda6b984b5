//! The stored token: present, days left, refresh refused, obtained with which certificate.

use super::{Check, Level};
use crate::client::Session;
use crate::status::{Lang, ANAF_ERR_INVALID_CONFIG, ANAF_ERR_NO_TOKEN};
use serde_json::json;

const TITLE: (&str, &str) = ("Tokenul ANAF", "ANAF token");

/// Token present, days left on both tokens, refresh refused, serial of the certificate
/// it was obtained with against the configured one. Reads the row only: no refresh.
pub(super) fn check(s: &Session) -> Check {
    let c = Check::new("token", TITLE, Level::Ok);
    let info = match s.token_info() {
        Ok(i) => i,
        Err(e) if e.status == ANAF_ERR_NO_TOKEN => {
            let cif = &s.config.cif;
            return c
                .level(Level::Problem)
                .data(json!({ "present": false }))
                .msg(
                    format!("Nu există token ANAF pentru CIF {cif} în baza de date."),
                    format!("There is no ANAF token for CIF {cif} in the database."),
                )
                .todo(
                    "Generați tokenul o dată, cu stick-ul de semnătură conectat (Generare token ANAF), sau trimiteți linkul de generare celui care are stick-ul.",
                    "Generate the token once, with the USB token plugged in (Generate ANAF token), or send the token link to whoever holds the USB token.",
                );
        }
        Err(e) if e.status == ANAF_ERR_INVALID_CONFIG => {
            return c
                .level(Level::Skipped)
                .msg(e.message(Lang::Ro), e.message(Lang::En));
        }
        Err(e) => {
            return c
                .level(Level::Problem)
                .data(json!({ "status": e.status, "status_name": crate::status::name(e.status) }))
                .msg(e.message(Lang::Ro), e.message(Lang::En))
                .todo(
                    "Vedeți verificarea bazei de date de mai sus.",
                    "See the database check above.",
                );
        }
    };
    let data = json!({
        "present": true,
        "days_left": info.days_left,
        "refresh_days_left": info.refresh_days_left,
        "access_expires_at": info.access_expires_at,
        "refresh_expires_at": info.refresh_expires_at,
        "serial": info.serial,
        "login_required": info.login_required,
    });
    let (d, rd) = (info.days_left, info.refresh_days_left);
    let regenerate = (
        "Generați un token nou cu stick-ul de semnătură conectat (sau prin linkul pentru browser).",
        "Generate a new token with the USB token plugged in (or through the browser link).",
    );
    if info.login_required || rd <= 0 {
        let why_ro = info
            .refresh_error
            .as_deref()
            .map(|e| format!(" ANAF: {e}."))
            .unwrap_or_default();
        return c
            .level(Level::Problem)
            .data(data)
            .msg(
                format!("Tokenul nu mai poate fi reîmprospătat (tokenul de refresh a expirat sau a fost refuzat); tokenul de acces mai are {d} zile.{why_ro}"),
                format!("The token can no longer be refreshed (the refresh token expired or was refused); the access token has {d} days left.{why_ro}"),
            )
            .todo(regenerate.0, regenerate.1);
    }
    if let (Some(cfg), Some(tok)) = (&s.config.cert_serial, &info.serial) {
        if !crate::config::same_serial(cfg, tok) {
            return c
                .level(Level::Warning)
                .data(data)
                .msg(
                    format!("Tokenul a fost obținut cu alt certificat (seria {tok}) decât cel configurat ({cfg})."),
                    format!("The token was obtained with another certificate (serial {tok}) than the configured one ({cfg})."),
                )
                .todo(
                    "Dacă certificatul a fost schimbat, completați seria nouă în ERP și generați tokenul din nou.",
                    "If the certificate was replaced, enter the new serial in the ERP and generate the token again.",
                );
        }
    }
    if rd <= 30 {
        return c
            .level(Level::Warning)
            .data(data)
            .msg(
                format!("Tokenul mai poate fi reîmprospătat doar {rd} zile; după aceea este nevoie de stick-ul de semnătură."),
                format!("The token can be refreshed for only {rd} more days; after that the USB token is needed."),
            )
            .todo(regenerate.0, regenerate.1);
    }
    c.data(data).msg(
        format!("Token prezent: tokenul de acces mai are {d} zile (se reîmprospătează singur), tokenul de refresh {rd} zile."),
        format!("Token present: the access token has {d} days left (it refreshes itself), the refresh token {rd} days."),
    )
}

/// Without a session the token cannot be read.
pub(super) fn without_session() -> Check {
    Check::new("token", TITLE, Level::Skipped).msg(
        "Tokenul nu a putut fi citit: clientul nu a putut fi deschis (vezi celelalte verificări).",
        "The token could not be read: the client could not be opened (see the other checks).",
    )
}
