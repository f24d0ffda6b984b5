//! The proxy the connections go through (the one the HTTP client uses).

use super::{Check, Level};
use crate::client::proxy::system_proxy;
use serde_json::json;

const TITLE: (&str, &str) = ("Proxy", "Proxy");

pub(super) fn check() -> Check {
    let c = Check::new("proxy", TITLE, Level::Ok);
    match system_proxy() {
        None => c.data(json!({ "proxy": null })).msg(
            "Fără proxy: conexiune directă la ANAF.",
            "No proxy: direct connection to ANAF.",
        ),
        Some(p) => {
            // What the report shows is read by support staff: no proxy password in it.
            let mask = |u: &Option<String>| u.as_deref().map(crate::log::without_url_credentials);
            let (https, http) = (mask(&p.https), mask(&p.http));
            let shown = https.clone().or(http.clone()).unwrap_or_default();
            let source_ro = if p.source == "windows" {
                "din Opțiuni Internet Windows"
            } else {
                "din variabilele de mediu"
            };
            let source_en = if p.source == "windows" {
                "from Windows Internet Options"
            } else {
                "from the environment variables"
            };
            c.data(json!({ "source": p.source, "https": https, "http": http, "bypass": p.bypass }))
                .msg(
                    format!("Conexiunile trec prin proxy-ul {shown} ({source_ro})."),
                    format!("Connections go through the proxy {shown} ({source_en})."),
                )
        }
    }
}
