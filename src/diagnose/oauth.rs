//! The OAuth application's fields from SPV, without which no token is obtained.

use super::{Check, Level};
use crate::config::Config;
use serde_json::json;

const TITLE: (&str, &str) = ("Aplicația OAuth din SPV", "OAuth application from SPV");

pub(super) fn check(cfg: &Config) -> Check {
    let c = Check::new("oauth_config", TITLE, Level::Ok);
    let missing: Vec<&str> = [
        ("client_id", cfg.client_id.is_none()),
        ("client_secret", cfg.client_secret.is_none()),
        ("redirect_uri", cfg.redirect_uri.is_none()),
    ]
    .iter()
    .filter(|(_, m)| *m)
    .map(|(k, _)| *k)
    .collect();
    if !missing.is_empty() {
        let list = missing.join(", ");
        return c
            .level(Level::Problem)
            .data(json!({ "missing": missing }))
            .msg(
                format!("Lipsesc din configurare: {list}. Fără ele tokenul nu poate fi generat sau reîmprospătat."),
                format!("Missing from the configuration: {list}. Without them the token cannot be generated or refreshed."),
            )
            .todo(
                "Copiați Client ID, Client Secret și Callback URL din SPV > Editare profil Oauth (aplicația înregistrată pentru e-Factura).",
                "Copy the Client ID, Client Secret and Callback URL from SPV > Editare profil Oauth (the application registered for e-Factura).",
            );
    }
    let redirect = cfg.redirect_uri.as_deref().unwrap_or_default();
    if !redirect.starts_with("https://") {
        return c
            .level(Level::Warning)
            .data(json!({ "redirect_uri": redirect }))
            .msg(
                format!("Callback URL-ul {redirect} nu începe cu https://; SPV acceptă doar adrese https."),
                format!("The callback URL {redirect} does not start with https://; SPV accepts only https addresses."),
            )
            .todo(
                "Copiați Callback URL exact cum este înregistrat în SPV.",
                "Copy the Callback URL exactly as registered in SPV.",
            );
    }
    c.data(json!({ "redirect_uri": redirect })).msg(
        "Client ID, Client Secret și Callback URL sunt completate.",
        "Client ID, Client Secret and Callback URL are set.",
    )
}
