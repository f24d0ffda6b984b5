//! `anaf_diagnose`: one call that checks every cause the ERP vendors list under
//! "Acces denied" (certificate serial, DLL bitness and folder, WebView2 runtime, Remote
//! Desktop smart cards) and the rest of what breaks in the field (database, network,
//! proxy, TLS trust, clock, token). Each check says ok / warning / problem and, when
//! something is wrong, what to do, in the client's language.

use crate::client::proxy::system_proxy;
use crate::client::Session;
use crate::config::{Config, Storage};
use crate::error::Error;
use crate::login::Engine;
use crate::platform;
use crate::status::Lang;
use crate::store::{Probed, Store};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How bad a check's finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Ok,
    /// Works, but something is likely to hurt later or elsewhere.
    Warning,
    /// Will make token generation or ANAF calls fail.
    Problem,
    /// The check could not run here (nothing to judge).
    Skipped,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Problem => "problem",
            Level::Skipped => "skipped",
        }
    }
}

/// One finding: what was checked, the verdict, and what to do, in both languages.
#[derive(Clone, Debug)]
pub struct Check {
    pub id: &'static str,
    pub level: Level,
    title: (&'static str, &'static str),
    message: (String, String),
    action: Option<(String, String)>,
    pub data: Value,
}

impl Check {
    fn new(id: &'static str, title: (&'static str, &'static str), level: Level) -> Self {
        Check {
            id,
            level,
            title,
            message: (String::new(), String::new()),
            action: None,
            data: Value::Object(Map::new()),
        }
    }

    fn msg(mut self, ro: impl Into<String>, en: impl Into<String>) -> Self {
        self.message = (ro.into(), en.into());
        self
    }

    fn todo(mut self, ro: impl Into<String>, en: impl Into<String>) -> Self {
        self.action = Some((ro.into(), en.into()));
        self
    }

    fn data(mut self, v: Value) -> Self {
        self.data = v;
        self
    }

    fn pick<'a>(pair: (&'a str, &'a str), lang: Lang) -> &'a str {
        match lang {
            Lang::Ro => pair.0,
            Lang::En => pair.1,
        }
    }

    pub fn message(&self, lang: Lang) -> &str {
        Self::pick((&self.message.0, &self.message.1), lang)
    }

    pub fn to_json(&self, lang: Lang) -> Value {
        json!({
            "id": self.id,
            "status": self.level.as_str(),
            "title": Self::pick(self.title, lang),
            "message": self.message(lang),
            "action": self.action.as_ref().map(|a| Self::pick((&a.0, &a.1), lang)),
            "data": self.data,
        })
    }
}

/// All findings of one run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn get(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    pub fn count(&self, level: Level) -> usize {
        self.checks.iter().filter(|c| c.level == level).count()
    }

    pub fn to_json(&self, lang: Lang) -> Value {
        let problems = self.count(Level::Problem);
        let warnings = self.count(Level::Warning);
        let summary = match (lang, problems, warnings) {
            (Lang::Ro, 0, 0) => "Totul este în regulă.".to_string(),
            (Lang::En, 0, 0) => "Everything is in order.".to_string(),
            (Lang::Ro, p, w) => format!("{p} probleme, {w} avertismente."),
            (Lang::En, p, w) => format!("{p} problem(s), {w} warning(s)."),
        };
        json!({
            "ok": problems == 0,
            "problems": problems,
            "warnings": warnings,
            "summary": summary,
            "language": if lang == Lang::En { "en" } else { "ro" },
            "version": crate::VERSION,
            "checked_at": chrono::Utc::now().to_rfc3339(),
            "checks": self.checks.iter().map(|c| c.to_json(lang)).collect::<Vec<_>>(),
        })
    }
}

/// Runs every check. With a session the token and the session's own HTTP client are
/// used; without one (the configuration could not open a client) the rest still runs.
pub fn run(cfg: &Config, session: Option<&Session>) -> Report {
    let mut checks = vec![
        check_serial(cfg),
        check_oauth_fields(cfg),
        check_bitness(),
        check_webview(cfg),
    ];
    if let Some(c) = check_remote_session() {
        checks.push(c);
    }
    checks.push(check_database(cfg, session));
    if let Some(c) = check_log_file(cfg) {
        checks.push(c);
    }
    checks.push(check_proxy());
    let built;
    let http = match session {
        Some(s) => Some(&s.http),
        None => match crate::client::http::build_client(cfg) {
            Ok(c) => {
                built = c;
                Some(&built)
            }
            Err(e) => {
                checks.push(
                    Check::new("tls_trust", TITLE_TLS, Level::Problem)
                        .msg(e.message(Lang::Ro), e.message(Lang::En))
                        .todo(
                            "Corectați ca_file în configurare (un certificat PEM care există).",
                            "Fix ca_file in the configuration (an existing PEM certificate).",
                        ),
                );
                None
            }
        },
    };
    match http {
        Some(client) => {
            let (hosts, clock) = check_network(cfg, client);
            checks.extend(hosts);
            checks.push(clock);
        }
        None => checks.push(Check::new("clock", TITLE_CLOCK, Level::Skipped).msg(
            "Ceasul nu a putut fi comparat: clientul HTTP nu a putut fi creat.",
            "The clock could not be compared: the HTTP client could not be built.",
        )),
    }
    checks.push(match session {
        Some(s) => check_token(s),
        None => Check::new("token", TITLE_TOKEN, Level::Skipped).msg(
            "Tokenul nu a putut fi citit: clientul nu a putut fi deschis (vezi celelalte verificări).",
            "The token could not be read: the client could not be opened (see the other checks).",
        ),
    });
    // For the developer: the findings in the log, in English.
    for c in &checks {
        ::log::info!(target: "anaf::diagnose", "{} {}: {}", c.id, c.level.as_str(), c.message(Lang::En));
    }
    Report { checks }
}

const TITLE_SERIAL: (&str, &str) = ("Seria certificatului", "Certificate serial");
const TITLE_OAUTH: (&str, &str) = ("Aplicația OAuth din SPV", "OAuth application from SPV");
const TITLE_BITNESS: (&str, &str) = ("DLL: 32/64 de biți și folder", "DLL: 32/64-bit and folder");
const TITLE_WEBVIEW: (&str, &str) = (
    "Fereastra de autentificare (WebView2)",
    "Login window (WebView2)",
);
const TITLE_RDP: (&str, &str) = ("Remote Desktop", "Remote Desktop");
const TITLE_DB: (&str, &str) = ("Baza de date cu tokenul", "Token database");
const TITLE_LOG: (&str, &str) = ("Fișierul jurnal", "Log file");
const TITLE_PROXY: (&str, &str) = ("Proxy", "Proxy");
const TITLE_TLS: (&str, &str) = (
    "Certificate de încredere (TLS)",
    "Trusted certificates (TLS)",
);
const TITLE_CLOCK: (&str, &str) = ("Ceasul calculatorului", "Computer clock");
const TITLE_TOKEN: (&str, &str) = ("Tokenul ANAF", "ANAF token");

// ---------------------------------------------------------------- certificate serial

fn check_serial(cfg: &Config) -> Check {
    let c = Check::new("cert_serial", TITLE_SERIAL, Level::Ok);
    let Some(serial) = &cfg.cert_serial else {
        return c
            .level(Level::Problem)
            .msg(
                "Seria certificatului de semnătură electronică nu este completată (cauza cea mai frecventă a erorii \"Acces denied\").",
                "The serial number of the signing certificate is not set (the most frequent cause of \"Acces denied\").",
            )
            .todo(
                "Completați în ERP seria certificatului: în Windows, certmgr.msc > Personal > Certificates > certificatul > Details > Serial number; copiați-o fără spații.",
                "Enter the certificate serial in the ERP: in Windows, certmgr.msc > Personal > Certificates > the certificate > Details > Serial number; copy it without spaces.",
            );
    };
    let normalised = cfg
        .notes
        .iter()
        .any(|n| n.starts_with("cert_serial normalised"));
    let data = json!({ "serial": serial, "normalised": normalised, "length": serial.len() });
    if normalised {
        return c
            .level(Level::Warning)
            .data(data)
            .msg(
                format!("Seria era scrisă cu spații sau separatori; anaf-bridge a folosit-o curățată: {serial}."),
                format!("The serial was written with spaces or separators; anaf-bridge used it cleaned: {serial}."),
            )
            .todo(
                format!("Scrieți seria în ERP exact așa: {serial} (alte programe nu o curăță)."),
                format!("Write the serial in the ERP exactly as: {serial} (other programs do not clean it)."),
            );
    }
    if serial.len() < 8 {
        return c
            .level(Level::Warning)
            .data(data)
            .msg(
                format!("Seria {serial} pare prea scurtă pentru un certificat calificat."),
                format!("The serial {serial} looks too short for a qualified certificate."),
            )
            .todo(
                "Verificați că ați copiat seria întreagă din detaliile certificatului.",
                "Check that the whole serial was copied from the certificate details.",
            );
    }
    c.data(data).msg(
        format!("Seria certificatului este completată corect: {serial}."),
        format!("The certificate serial is set correctly: {serial}."),
    )
}

impl Check {
    fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }
}

// ---------------------------------------------------------------- OAuth fields

fn check_oauth_fields(cfg: &Config) -> Check {
    let c = Check::new("oauth_config", TITLE_OAUTH, Level::Ok);
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

// ---------------------------------------------------------------- DLL bitness and folder

fn check_bitness() -> Check {
    let bits = usize::BITS;
    let module = platform::module_path();
    let os64 = platform::os_is_64bit();
    let mut data = json!({
        "dll_bits": bits,
        "process_bits": bits,
        "os_bits": if os64 { 64 } else { 32 },
        "module": module.as_ref().map(|p| p.display().to_string()),
    });
    let c = Check::new("dll_bitness", TITLE_BITNESS, Level::Ok);
    // A process can only load a DLL of its own bitness, so the loaded copy is right by
    // construction; what breaks ERPs is the copy of the other bitness in the other
    // system folder (the 32-bit ERP and the 64-bit one on the same computer).
    let mut wrong = Vec::new();
    // The copies looked for have the loaded DLL's name; a program that has the library
    // built in (anaf.exe) looks for the DLL the ERPs load.
    let file_name = module
        .as_ref()
        .and_then(|m| m.file_name())
        .map(|n| n.to_os_string());
    let built_in = file_name.as_ref().is_some_and(|n| {
        let n = n.to_string_lossy().to_ascii_lowercase();
        !(n.ends_with(".dll") || n.ends_with(".so") || n.contains(".so.") || n.ends_with(".dylib"))
    });
    let name = file_name
        .filter(|_| !built_in)
        .unwrap_or_else(|| "anaf_bridge.dll".into());
    let mut copies = 0;
    for (folder, want_bits) in platform::system_folders() {
        let file = folder.join(&name);
        if !file.exists() {
            continue;
        }
        copies += 1;
        let found = platform::file_machine(&file).and_then(platform::machine_bits);
        data[folder.display().to_string()] = json!(found);
        if found != Some(want_bits) {
            wrong.push((file, want_bits, found));
        }
    }
    let here = module
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "?".into());
    if let Some((file, want, found)) = wrong.first() {
        let found = found.map(|b| b.to_string()).unwrap_or_else(|| "?".into());
        let src = if *want == 64 { "win-x64" } else { "win-x86" };
        let f = file.display();
        return c
            .level(Level::Problem)
            .data(data)
            .msg(
                format!("În {f} este DLL-ul de {found} biți, dar acolo trebuie cel de {want} de biți: programele de {want} de biți nu îl pot încărca (\"Acces denied\" / DLL negăsit)."),
                format!("{f} holds the {found}-bit DLL, but that folder needs the {want}-bit one: {want}-bit programs cannot load it (\"Acces denied\" / DLL not found)."),
            )
            .todo(
                format!("Copiați DLL-ul din folderul {src} peste {f}. Regula: Windows 64 de biți: win-x64 în System32, win-x86 în SysWOW64; Windows 32 de biți: win-x86 în System32. Sau rulați anaf-bridge-setup.exe."),
                format!("Copy the DLL from the {src} folder over {f}. The rule: 64-bit Windows: win-x64 into System32, win-x86 into SysWOW64; 32-bit Windows: win-x86 into System32. Or run anaf-bridge-setup.exe."),
            );
    }
    let os = if os64 { 64 } else { 32 };
    if built_in {
        let n = name.to_string_lossy();
        return c.data(data).msg(
            format!("Programul {here} ({bits} de biți, sistem de {os} de biți) are biblioteca inclusă; copiile {n} din folderele de sistem: {copies}, fiecare cu bitness-ul potrivit."),
            format!("The program {here} ({bits}-bit, {os}-bit system) has the library built in; copies of {n} in the system folders: {copies}, each of the right bitness."),
        );
    }
    c.data(data).msg(
        format!("DLL de {bits} de biți într-un program de {bits} de biți (sistem de {os} de biți), încărcat din {here}."),
        format!("{bits}-bit DLL in a {bits}-bit program ({os}-bit system), loaded from {here}."),
    )
}

// ---------------------------------------------------------------- login window runtime

fn check_webview(cfg: &Config) -> Check {
    let c = Check::new("webview2", TITLE_WEBVIEW, Level::Ok);
    match crate::login::engine(cfg.webview2_folder.as_deref()) {
        Engine::Found { name, version } => c
            .data(json!({ "engine": name, "version": version }))
            .msg(
                format!("{name} este instalat (versiunea {version})."),
                format!("{name} is installed (version {version})."),
            ),
        Engine::Missing { detail } => {
            let bits = if usize::BITS == 64 { "X64" } else { "X86" };
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

// ---------------------------------------------------------------- Remote Desktop

fn check_remote_session() -> Option<Check> {
    let remote = platform::remote_session()?;
    let c = Check::new("remote_desktop", TITLE_RDP, Level::Ok).data(json!({ "remote": remote }));
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

// ---------------------------------------------------------------- database

/// The store the configuration names, probed by the store itself: through the handle's
/// store when there is one, else without one (`anaf_diagnose_config`).
fn check_database(cfg: &Config, session: Option<&Session>) -> Check {
    let c = Check::new("database", TITLE_DB, Level::Ok);
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

fn check_log_file(cfg: &Config) -> Option<Check> {
    let path = cfg.log_file.as_ref()?;
    let c = Check::new("log_file", TITLE_LOG, Level::Ok)
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

// ---------------------------------------------------------------- proxy

fn check_proxy() -> Check {
    let c = Check::new("proxy", TITLE_PROXY, Level::Ok);
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

// ---------------------------------------------------------------- network, TLS, clock

#[derive(Debug)]
struct Probe {
    addresses: Result<Vec<String>, String>,
    http: Result<(u16, Option<String>), reqwest::Error>,
    elapsed: Duration,
}

async fn probe(client: &reqwest::Client, url: &url::Url, dns_timeout: Duration) -> Probe {
    let started = Instant::now();
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses =
        match tokio::time::timeout(dns_timeout, tokio::net::lookup_host((host.as_str(), port)))
            .await
        {
            Ok(Ok(addrs)) => Ok(addrs.map(|a| a.ip().to_string()).collect::<Vec<_>>()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("timeout {} s", dns_timeout.as_secs())),
        };
    let http = client.get(url.clone()).send().await.map(|r| {
        let date = r
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (r.status().as_u16(), date)
    });
    Probe {
        addresses,
        http,
        elapsed: started.elapsed(),
    }
}

/// The chain of an error's sources, joined, for classification and for the developer.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.contains(&t) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

fn is_tls(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    ["certificate", "tls", "handshake", "unknownissuer", "alert"]
        .iter()
        .any(|k| t.contains(k))
}

fn check_network(cfg: &Config, client: &reqwest::Client) -> (Vec<Check>, Check) {
    let hosts: [(&'static str, (&'static str, &'static str), url::Url); 3] = [
        (
            "network_identity",
            ("Server de autentificare ANAF", "ANAF identity provider"),
            cfg.idp_url.clone(),
        ),
        (
            "network_api",
            (
                "Serverul API ANAF (e-Factura, e-Transport)",
                "ANAF API server (e-Factura, e-Transport)",
            ),
            cfg.api_url.clone(),
        ),
        (
            "network_public",
            (
                "Servicii publice ANAF (validare, PDF)",
                "ANAF public services (validation, PDF)",
            ),
            cfg.public_url.clone(),
        ),
    ];
    let dns_timeout = cfg.connect_timeout;
    let probes = crate::client::http::block_on(async {
        tokio::join!(
            probe(client, &hosts[0].2, dns_timeout),
            probe(client, &hosts[1].2, dns_timeout),
            probe(client, &hosts[2].2, dns_timeout),
        )
    });
    let probes = [probes.0, probes.1, probes.2];
    let proxied = system_proxy().is_some();
    let mut checks = Vec::new();
    let mut date: Option<(String, String)> = None;
    for ((id, title, url), p) in hosts.iter().zip(probes.iter()) {
        let shown = url.as_str();
        let host = url.host_str().unwrap_or_default();
        let mut data = json!({
            "url": shown,
            "addresses": p.addresses.as_ref().ok(),
            "elapsed_ms": p.elapsed.as_millis() as u64,
            "timeout_seconds": cfg.timeout.as_secs(),
        });
        let c = Check::new(id, *title, Level::Ok);
        if let (Err(dns), false) = (&p.addresses, proxied) {
            data["error"] = json!(dns);
            checks.push(
                c.level(Level::Problem)
                    .data(data)
                    .msg(
                        format!("Numele {host} nu poate fi rezolvat (DNS): {dns}."),
                        format!("The name {host} cannot be resolved (DNS): {dns}."),
                    )
                    .todo(
                        "Verificați conexiunea la internet și serverul DNS (sau proxy-ul firmei).",
                        "Check the internet connection and the DNS server (or the company proxy).",
                    ),
            );
            continue;
        }
        match &p.http {
            Ok((status, d)) => {
                data["http_status"] = json!(status);
                // The API host's clock is the one tokens and calls are judged by.
                if let (true, Some(d)) = (date.is_none() || *id == "network_api", d) {
                    date = Some((host.to_string(), d.clone()));
                }
                let ms = p.elapsed.as_millis();
                checks.push(c.data(data).msg(
                    format!("{host} răspunde (HTTP {status}, {ms} ms)."),
                    format!("{host} answers (HTTP {status}, {ms} ms)."),
                ));
            }
            Err(e) => {
                let text = chain(e);
                data["error"] = json!(text);
                let c = c.level(Level::Problem).data(data);
                let c = if e.is_timeout() {
                    let s = cfg.timeout.as_secs();
                    c.msg(
                        format!("{host} nu a răspuns în {s} secunde."),
                        format!("{host} did not answer within {s} seconds."),
                    )
                    .todo(
                        "Verificați firewall-ul și proxy-ul; dacă rețeaua este lentă, măriți timeout_seconds.",
                        "Check the firewall and the proxy; on a slow network raise timeout_seconds.",
                    )
                } else if is_tls(&text)
                    && *id == "network_identity"
                    && text.to_ascii_lowercase().contains("alert")
                {
                    // The identity provider asks for the client certificate in the handshake:
                    // being refused without one means the host was reached.
                    c.level(Level::Ok).msg(
                        format!("{host} răspunde (cere certificatul de semnătură la conectare)."),
                        format!(
                            "{host} answers (it asks for the signing certificate on connection)."
                        ),
                    )
                } else if is_tls(&text) {
                    c.msg(
                        format!("Conexiunea securizată cu {host} a eșuat: {text}."),
                        format!("The secure connection to {host} failed: {text}."),
                    )
                    .todo(
                        "De obicei un antivirus sau firewall care inspectează HTTPS: adăugați certificatul lui în Windows (Trusted Root) sau în ca_file; verificați și data calculatorului.",
                        "Usually an antivirus or firewall that inspects HTTPS: add its certificate to Windows (Trusted Root) or to ca_file; also check the computer's date.",
                    )
                } else {
                    c.msg(
                        format!("{host} nu poate fi contactat: {text}."),
                        format!("{host} cannot be reached: {text}."),
                    )
                    .todo(
                        "Verificați conexiunea la internet, firewall-ul și proxy-ul (Opțiuni Internet > Conexiuni > Setări LAN).",
                        "Check the internet connection, the firewall and the proxy (Internet Options > Connections > LAN settings).",
                    )
                };
                checks.push(c);
            }
        }
    }
    (checks, check_clock(date))
}

/// Seconds the local clock is ahead (+) or behind (−) a server's HTTP Date header.
pub fn clock_skew(server_date: &str, local: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    let server = chrono::DateTime::parse_from_rfc2822(server_date.trim()).ok()?;
    Some(local.timestamp() - server.timestamp())
}

fn check_clock(date: Option<(String, String)>) -> Check {
    let c = Check::new("clock", TITLE_CLOCK, Level::Ok);
    let Some((host, server_date)) = date else {
        return c.level(Level::Skipped).msg(
            "Ceasul nu a putut fi comparat: niciun server ANAF nu a răspuns.",
            "The clock could not be compared: no ANAF server answered.",
        );
    };
    let now = chrono::Utc::now();
    let Some(skew) = clock_skew(&server_date, now) else {
        return c
            .level(Level::Skipped)
            .data(json!({ "server_date": server_date }))
            .msg(
                format!("{host} a trimis o dată de neînțeles: {server_date}."),
                format!("{host} sent an unreadable date: {server_date}."),
            );
    };
    let data = json!({ "host": host, "server_date": server_date, "local_date": now.to_rfc2822(), "skew_seconds": skew });
    let (ahead_ro, ahead_en) = if skew > 0 {
        ("înainte", "ahead of")
    } else {
        ("în urmă", "behind")
    };
    let abs = skew.unsigned_abs();
    let shown = if abs >= 120 {
        format!("{} min", abs / 60)
    } else {
        format!("{abs} s")
    };
    let todo = (
        "Sincronizați ora: Setări Windows > Oră și limbă > Sincronizați acum (sau serverul de timp al domeniului).",
        "Synchronise the time: Windows Settings > Time & language > Sync now (or the domain time server).",
    );
    if abs > 300 {
        c.level(Level::Problem)
            .data(data)
            .msg(
                format!("Ceasul calculatorului este cu {shown} {ahead_ro} față de ANAF ({host}); conexiunile securizate și tokenurile pot fi refuzate."),
                format!("The computer clock is {shown} {ahead_en} ANAF ({host}); secure connections and tokens may be refused."),
            )
            .todo(todo.0, todo.1)
    } else if abs > 60 {
        c.level(Level::Warning)
            .data(data)
            .msg(
                format!("Ceasul calculatorului este cu {shown} {ahead_ro} față de ANAF ({host})."),
                format!("The computer clock is {shown} {ahead_en} ANAF ({host})."),
            )
            .todo(todo.0, todo.1)
    } else {
        c.data(data).msg(
            format!("Ceasul este sincron cu ANAF (diferență {skew} s)."),
            format!("The clock agrees with ANAF (difference {skew} s)."),
        )
    }
}

// ---------------------------------------------------------------- token

fn check_token(s: &Session) -> Check {
    token_check::check(s)
}

mod token_check {
    use super::*;
    use crate::status::{ANAF_ERR_INVALID_CONFIG, ANAF_ERR_NO_TOKEN};

    /// Token present, days left on both tokens, refresh refused, serial of the certificate
    /// it was obtained with against the configured one. Reads the row only: no refresh.
    pub(super) fn check(s: &Session) -> Check {
        let c = Check::new("token", TITLE_TOKEN, Level::Ok);
        let info = match s.token_info() {
            Ok(i) => i,
            Err(e) if e.status == ANAF_ERR_NO_TOKEN => {
                return c
                    .level(Level::Problem)
                    .data(json!({ "present": false }))
                    .msg(
                        format!("Nu există token ANAF pentru CIF {} în baza de date.", s.config.cif),
                        format!("There is no ANAF token for CIF {} in the database.", s.config.cif),
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
                    .data(
                        json!({ "status": e.status, "status_name": crate::status::name(e.status) }),
                    )
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
            if !cfg.eq_ignore_ascii_case(tok)
                && !tok
                    .trim_start_matches('0')
                    .eq_ignore_ascii_case(cfg.trim_start_matches('0'))
            {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_from_http_date() {
        let local = chrono::DateTime::parse_from_rfc3339("2026-11-23T16:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            clock_skew("Mon, 23 Nov 2026 15:50:00 GMT", local),
            Some(600)
        );
        assert_eq!(
            clock_skew("Mon, 23 Nov 2026 16:00:30 GMT", local),
            Some(-30)
        );
        assert_eq!(clock_skew("yesterday", local), None);
    }
}
