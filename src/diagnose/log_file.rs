//! The log file, when one is configured.

use super::{Check, Level};
use crate::config::Config;
use serde_json::json;

const TITLE: (&str, &str) = ("Fișierul jurnal", "Log file");

pub(super) fn check(cfg: &Config) -> Option<Check> {
    let path = cfg.log_file.as_ref()?;
    let c = Check::new("log_file", TITLE, Level::Ok)
        .data(json!({ "path": path.display().to_string() }));
    let shown = path.display();
    Some(
        match std::fs::OpenOptions::new().create(true).append(true).open(path) {
            Ok(_) => c.msg(
                format!("Jurnalul se scrie în {shown}."),
                format!("The log is written to {shown}."),
            ),
            Err(e) => c
                .level(Level::Warning)
                .msg(
                    format!("Jurnalul {shown} nu poate fi scris: {e}."),
                    format!("The log {shown} cannot be written: {e}."),
                )
                .todo(
                    "Alegeți pentru log_file un folder în care utilizatorul poate scrie (de exemplu %LOCALAPPDATA%).",
                    "Choose a folder the user can write to for log_file (for example %LOCALAPPDATA%).",
                ),
        },
    )
}
