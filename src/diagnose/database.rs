//! The token database: a SQLite file, or the ERP's database server through ODBC.

use super::{Check, Level};
use crate::client::Session;
use crate::config::{Config, Storage};
use crate::error::Error;
use crate::status::Lang;
use crate::store::{Probed, Store};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

const TITLE: (&str, &str) = ("Baza de date cu tokenul", "Token database");

/// The store the configuration names, probed by the store itself: through the handle's
/// store when there is one, else without one (`anaf_diagnose_config`).
pub(super) fn check(cfg: &Config, session: Option<&Session>) -> Check {
    let c = Check::new("database", TITLE, Level::Ok);
    if let Storage::Sqlite(path) = &cfg.storage {
        if !path.exists() {
            return new_file(path, c);
        }
    }
    let started = Instant::now();
    let probed = match session {
        Some(s) => s.store.probe(),
        None => Store::probe_storage(&cfg.storage),
    };
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match (probed, &cfg.storage) {
        (Ok(Probed::File { path }), _) => file(c, &path, elapsed_ms),
        (
            Ok(Probed::Server {
                described,
                schema_version,
            }),
            _,
        ) => server(c, described, schema_version, elapsed_ms),
        (Err(err), Storage::Sqlite(path)) => file_refused(c, path, &err),
        (Err(err), Storage::Odbc(_)) => server_refused(c, &err),
    }
}

/// A SQLite file that can be read and written.
fn file(c: Check, path: &Path, elapsed_ms: u64) -> Check {
    let shown = path.display().to_string();
    match crate::platform::network_filesystem(path) {
        Some(kind) => network_database(c, &shown, kind)
            .data(json!({ "path": shown, "network_filesystem": kind, "elapsed_ms": elapsed_ms })),
        None => c
            .data(json!({ "path": shown, "network_filesystem": null, "elapsed_ms": elapsed_ms }))
            .msg(
                format!("Baza de date {shown} poate fi citită și scrisă."),
                format!("The database {shown} can be read and written."),
            ),
    }
}

fn file_refused(c: Check, path: &Path, err: &Error) -> Check {
    let shown = path.display().to_string();
    let (ro, en) = match err.status {
        crate::status::ANAF_ERR_DATABASE_READONLY => (
            "Dați utilizatorilor Windows drept de scriere (Modify) pe fișier și pe folderul lui; baza de date nu trebuie să fie într-un folder doar-citire (Program Files).",
            "Give the Windows users write (Modify) permission on the file and its folder; the database must not be in a read-only folder (Program Files).",
        ),
        crate::status::ANAF_ERR_DATABASE_LOCKED => (
            "Alt program ține baza de date blocată; închideți-l sau încercați din nou.",
            "Another program keeps the database locked; close it or try again.",
        ),
        _ => (
            "Verificați calea din configurare (database), că folderul există și că rețeaua/partajarea este accesibilă.",
            "Check the path in the configuration (database), that the folder exists and the network share is reachable.",
        ),
    };
    c.level(Level::Problem)
        .data(json!({ "path": shown, "status": err.status, "status_name": crate::status::name(err.status) }))
        .msg(err.message(Lang::Ro), err.message(Lang::En))
        .todo(ro, en)
}

/// The token store on a database server, its tables current.
fn server(c: Check, mut data: Value, schema_version: i64, elapsed_ms: u64) -> Check {
    data["schema_version"] = json!(schema_version);
    data["elapsed_ms"] = json!(elapsed_ms);
    let server = data["server"].as_str().unwrap_or_default().to_string();
    c.data(data).msg(
        format!("Tokenul se păstrează în baza de date {server} a ERP-ului (ODBC); tabelele anaf-bridge sunt la zi."),
        format!("The token lives in the ERP's {server} database (ODBC); the anaf-bridge tables are current."),
    )
}

fn server_refused(c: Check, err: &Error) -> Check {
    c.level(Level::Problem)
        .data(json!({ "backend": "odbc", "status": err.status, "status_name": crate::status::name(err.status) }))
        .msg(err.message(Lang::Ro), err.message(Lang::En))
        .todo(
            "Verificați șirul de conectare din configurare (odbc): același pe care îl folosește ERP-ul, cu driverul ODBC de aceeași arhitectură (32/64 de biți) ca ERP-ul.",
            "Check the connection string in the configuration (odbc): the one the ERP uses, with an ODBC driver of the ERP's bitness (32/64-bit).",
        )
}

/// A SQLite file on a network folder: opened without WAL (its shared-memory index does not
/// cross computers), and still not a safe place for several workstations' writes.
fn network_database(c: Check, shown: &str, kind: &str) -> Check {
    c.level(Level::Warning)
        .msg(
            format!("Baza de date {shown} este pe un folder de rețea ({kind}). anaf-bridge o deschide fără WAL, care nu funcționează prin rețea; blocarea fișierelor prin rețea rămâne totuși nesigură când mai multe stații scriu în același fișier."),
            format!("The database {shown} is on a network folder ({kind}). anaf-bridge opens it without WAL, which does not work over a network; file locking over a network is still unreliable when several workstations write to one file."),
        )
        .todo(
            "Pentru mai multe stații păstrați tokenul în baza de date a ERP-ului: în configurare \"odbc\" cu șirul de conectare al ERP-ului în locul lui \"database\" (anaf_store_migrate mută tokenul existent). Pentru o singură stație mutați fișierul pe discul ei local.",
            "For several workstations keep the token in the ERP's database: in the configuration, \"odbc\" with the ERP's connection string instead of \"database\" (anaf_store_migrate moves the existing token). For one workstation move the file to its local disk.",
        )
}

/// The database file does not exist yet (`anaf_open` creates it): its folder must exist
/// and take new files.
fn new_file(path: &Path, c: Check) -> Check {
    let shown = path.display().to_string();
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let f = folder.display().to_string();
    let probe = folder.join(format!(".anaf-diagnose-{}.tmp", std::process::id()));
    let data = json!({ "path": shown, "exists": false, "folder": f });
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            c.data(data).msg(
                format!("Baza de date {shown} nu există încă; va fi creată la prima deschidere (folderul permite scrierea)."),
                format!("The database {shown} does not exist yet; it is created on first open (the folder is writable)."),
            )
        }
        Err(e) => c
            .level(Level::Problem)
            .data(data)
            .msg(
                format!("Baza de date {shown} nu există și nu poate fi creată în {f}: {e}."),
                format!("The database {shown} does not exist and cannot be created in {f}: {e}."),
            )
            .todo(
                "Verificați calea din configurare (database): folderul trebuie să existe și utilizatorii Windows să aibă drept de scriere în el (nu Program Files).",
                "Check the path in the configuration (database): the folder must exist and the Windows users must be able to write to it (not Program Files).",
            ),
    }
}
