//! Remote Desktop, where the USB token is seen only if smart cards are redirected.

use super::{Check, Level};
use serde_json::json;

const TITLE: (&str, &str) = ("Remote Desktop", "Remote Desktop");

pub(super) fn check() -> Option<Check> {
    let remote = crate::platform::remote_session()?;
    let c = Check::new("remote_desktop", TITLE, Level::Ok).data(json!({ "remote": remote }));
    Some(if remote {
        c.level(Level::Warning)
            .msg(
                "Programul rulează într-o sesiune Remote Desktop: stick-ul cu semnătura se vede doar dacă smart card-urile sunt redirecționate.",
                "The program runs in a Remote Desktop session: the USB token is visible only if smart cards are redirected.",
            )
            .todo(
                "În Remote Desktop Connection > Show Options > Local Resources > More, bifați Smart cards; același driver de token trebuie instalat și pe server.",
                "In Remote Desktop Connection > Show Options > Local Resources > More, tick Smart cards; the same token driver must be installed on the server too.",
            )
    } else {
        c.msg(
            "Sesiune locală (nu Remote Desktop).",
            "Local session (not Remote Desktop).",
        )
    })
}
