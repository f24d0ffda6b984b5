//! `anaf_diagnose`: one call that checks every cause the ERP vendors list under
//! "Acces denied" (certificate serial, DLL bitness and folder, WebView2 runtime, Remote
//! Desktop smart cards) and the rest of what breaks in the field (database, network,
//! proxy, TLS trust, clock, token). Each check says ok / warning / problem and, when
//! something is wrong, what to do, in the client's language.
//!
//! Above the services: it asks the client, the login window, the store and the platform,
//! and only the FFI (and the `anaf` tool) ask it. One module per check; the report model
//! in `report`.

mod bitness;
mod clock;
mod database;
mod log_file;
mod network;
mod oauth;
mod proxy;
mod remote;
mod report;
mod serial;
mod token;
mod webview;

pub use report::{Check, Level, Report};

use crate::client::Session;
use crate::config::Config;
use crate::status::Lang;

/// Runs every check. With a session the token and the session's own HTTP client are
/// used; without one (the configuration could not open a client) the rest still runs.
pub fn run(cfg: &Config, session: Option<&Session>) -> Report {
    let mut checks = vec![
        serial::check(cfg),
        oauth::check(cfg),
        bitness::check(),
        webview::check(cfg),
    ];
    if let Some(c) = remote::check() {
        checks.push(c);
    }
    checks.push(database::check(cfg, session));
    if let Some(c) = log_file::check(cfg) {
        checks.push(c);
    }
    checks.push(proxy::check());
    let built;
    let http = match session {
        Some(s) => Some(&s.http),
        None => match crate::client::http::build_client(cfg) {
            Ok(c) => {
                built = c;
                Some(&built)
            }
            Err(e) => {
                checks.push(network::unbuilt_client(&e));
                None
            }
        },
    };
    match http {
        Some(client) => {
            let (hosts, date) = network::check(cfg, client);
            checks.extend(hosts);
            checks.push(clock::check(date));
        }
        None => checks.push(clock::without_client()),
    }
    checks.push(match session {
        Some(s) => token::check(s),
        None => token::without_session(),
    });
    // For the developer: the findings in the log, in English.
    for c in &checks {
        ::log::info!(target: "anaf::diagnose", "{} {}: {}", c.id, c.level.as_str(), c.message(Lang::En));
    }
    Report { checks }
}
