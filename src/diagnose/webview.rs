//! The engine of the login window (the WebView2 runtime on Windows).

use super::{Check, Level};
use crate::config::Config;
use crate::login::Engine;
use serde_json::json;

const TITLE: (&str, &str) = (
    "Fereastra de autentificare (WebView2)",
    "Login window (WebView2)",
);

pub(super) fn check(cfg: &Config) -> Check {
    let c = Check::new("webview2", TITLE, Level::Ok);
    match crate::login::engine(cfg.webview2_folder.as_deref()) {
        Engine::Found { name, version } => c
            .data(json!({ "engine": name, "version": version }))
            .msg(
                format!("{name} este instalat (versiunea {version})."),
                format!("{name} is installed (version {version})."),
            ),
        Engine::Missing { detail } => {
            // The Evergreen runtime follows Windows' architecture, not this process's.
            let bits = crate::platform::installer_arch(crate::platform::native_machine());
            c.level(Level::Problem)
                .data(json!({ "engine": "WebView2", "version": null, "detail": detail }))
                .msg(
                    "Microsoft Edge WebView2 Runtime nu este instalat: fereastra de autentificare ANAF nu se poate deschide (\"Acces denied\").",
                    "The Microsoft Edge WebView2 Runtime is not installed: the ANAF login window cannot open (\"Acces denied\").",
                )
                .todo(
                    format!("Instalați Evergreen WebView2 Runtime de la Microsoft (https://developer.microsoft.com/microsoft-edge/webview2/, MicrosoftEdgeWebView2RuntimeInstaller{bits}.exe), apoi reporniți ERP-ul."),
                    format!("Install the Evergreen WebView2 Runtime from Microsoft (https://developer.microsoft.com/microsoft-edge/webview2/, MicrosoftEdgeWebView2RuntimeInstaller{bits}.exe), then restart the ERP."),
                )
        }
        Engine::NotBuilt => c.level(Level::Skipped).msg(
            "Această versiune a bibliotecii nu are fereastră de autentificare (folosiți linkul pentru browser).",
            "This build of the library has no login window (use the browser link).",
        ),
    }
}
