//! `anaf_diagnose`: one call that checks every cause the ERP vendors list under
//! "Acces denied" (certificate serial, DLL bitness and folder, WebView2 runtime, Remote
//! Desktop smart cards) and the rest of what breaks in the field (database, network,
//! proxy, TLS trust, clock, token). Each check says ok / warning / problem and, when
//! something is wrong, what to do, in the client's language.
//!
//! It also owns the detection of the system proxy, which the HTTP client uses too.

use crate::client::Session;
use crate::config::Config;
use crate::status::Lang;
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
    checks.push(match &cfg.storage {
        crate::config::Storage::Sqlite(path) => check_database(path),
        crate::config::Storage::Odbc(target) => check_server(target, session),
    });
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

/// The PE machine of a Windows executable image: 0x14c (x86), 0x8664 (x64), 0xaa64 (ARM64).
pub fn pe_machine(image: &[u8]) -> Option<u16> {
    if image.len() < 0x40 || &image[..2] != b"MZ" {
        return None;
    }
    let pe = u32::from_le_bytes(image[0x3c..0x40].try_into().ok()?) as usize;
    let sig = image.get(pe..pe + 6)?;
    if &sig[..4] != b"PE\0\0" {
        return None;
    }
    Some(u16::from_le_bytes([sig[4], sig[5]]))
}

/// The bitness a PE machine value stands for.
pub fn machine_bits(machine: u16) -> Option<u32> {
    match machine {
        0x14c => Some(32),
        0x8664 | 0xaa64 => Some(64),
        _ => None,
    }
}

/// The PE machine of the first bytes of a file (4 KiB are enough for the headers).
pub fn file_machine(path: &Path) -> Option<u16> {
    use std::io::Read;
    let mut buf = vec![0u8; 4096];
    let mut f = std::fs::File::open(path).ok()?;
    let n = f.read(&mut buf).ok()?;
    pe_machine(&buf[..n])
}

/// The file this library was loaded from.
pub fn module_path() -> Option<PathBuf> {
    platform::module_path()
}

fn check_bitness() -> Check {
    let bits = usize::BITS;
    let module = module_path();
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
    for (folder, want_bits) in platform::system_folders(os64) {
        let file = folder.join(&name);
        if !file.exists() {
            continue;
        }
        copies += 1;
        let found = file_machine(&file).and_then(machine_bits);
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
    match platform::webview_version(cfg.webview2_folder.as_deref()) {
        WebView::Found { engine, version } => c
            .data(json!({ "engine": engine, "version": version }))
            .msg(
                format!("{engine} este instalat (versiunea {version})."),
                format!("{engine} is installed (version {version})."),
            ),
        WebView::Missing { detail } => {
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
        WebView::NotBuilt => c.level(Level::Skipped).msg(
            "Această versiune a bibliotecii nu are fereastră de autentificare (folosiți linkul pentru browser).",
            "This build of the library has no login window (use the browser link).",
        ),
    }
}

pub(crate) enum WebView {
    Found {
        engine: &'static str,
        version: String,
    },
    #[allow(dead_code)]
    Missing { detail: String },
    #[allow(dead_code)]
    NotBuilt,
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

/// Opens the database on a connection of its own and writes inside a transaction that is
/// rolled back: proves the file is reachable, readable and writable (file and folder).
fn check_database(path: &Path) -> Check {
    let c = Check::new("database", TITLE_DB, Level::Ok);
    let shown = path.display().to_string();
    if !path.exists() {
        return check_new_database(path, c);
    }
    let started = Instant::now();
    let network = crate::platform::network_filesystem(path);
    match crate::store::sqlite::probe(path) {
        Ok(()) if network.is_some() => network_database(c, &shown, network.unwrap_or_default())
            .data(json!({ "path": shown, "network_filesystem": network, "elapsed_ms": started.elapsed().as_millis() as u64 })),
        Ok(()) => c
            .data(json!({ "path": shown, "network_filesystem": null, "elapsed_ms": started.elapsed().as_millis() as u64 }))
            .msg(
                format!("Baza de date {shown} poate fi citită și scrisă."),
                format!("The database {shown} can be read and written."),
            ),
        Err(err) => {
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
    }
}

/// The token store on a database server: the open handle's connection, or a new one
/// (which also proves the tables are there or can be made).
fn check_server(target: &crate::config::OdbcTarget, session: Option<&Session>) -> Check {
    let c = Check::new("database", TITLE_DB, Level::Ok);
    let started = Instant::now();
    let probe = |s: &crate::store::Store| s.schema_version().map(|v| (s.describe(), v));
    let found = match session {
        Some(s) => probe(&s.store),
        None => {
            crate::store::Store::open_server(target, Duration::from_secs(3)).and_then(|s| probe(&s))
        }
    };
    match found {
        Ok((mut data, v)) => {
            data["schema_version"] = json!(v);
            data["elapsed_ms"] = json!(started.elapsed().as_millis() as u64);
            let server = data["server"].as_str().unwrap_or_default().to_string();
            c.data(data).msg(
                format!("Tokenul se păstrează în baza de date {server} a ERP-ului (ODBC); tabelele anaf-bridge sunt la zi."),
                format!("The token lives in the ERP's {server} database (ODBC); the anaf-bridge tables are current."),
            )
        }
        Err(err) => c
            .level(Level::Problem)
            .data(json!({ "backend": "odbc", "status": err.status, "status_name": crate::status::name(err.status) }))
            .msg(err.message(Lang::Ro), err.message(Lang::En))
            .todo(
                "Verificați șirul de conectare din configurare (odbc): același pe care îl folosește ERP-ul, cu driverul ODBC de aceeași arhitectură (32/64 de biți) ca ERP-ul.",
                "Check the connection string in the configuration (odbc): the one the ERP uses, with an ODBC driver of the ERP's bitness (32/64-bit).",
            ),
    }
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
fn check_new_database(path: &Path, c: Check) -> Check {
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

/// The proxy the HTTP client uses and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemProxy {
    /// "environment" (HTTPS_PROXY and friends) or "windows" (Internet Options).
    pub source: &'static str,
    /// For https:// URLs, e.g. `http://proxy.firma.local:3128`.
    pub https: Option<String>,
    /// For http:// URLs.
    pub http: Option<String>,
    /// Hosts that go direct, comma separated.
    pub bypass: Option<String>,
}

fn env_first(names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .find(|v| !v.trim().is_empty())
}

/// The proxy in effect: the environment variables first (as reqwest reads them), then
/// the Windows Internet Options of the current user (which reqwest does not read in this
/// build, so [`apply_system_proxy`] adds them).
pub fn system_proxy() -> Option<SystemProxy> {
    let all = env_first(&["ALL_PROXY", "all_proxy"]);
    let https = env_first(&["HTTPS_PROXY", "https_proxy"]).or(all.clone());
    let http = env_first(&["HTTP_PROXY", "http_proxy"]).or(all);
    if https.is_some() || http.is_some() {
        return Some(SystemProxy {
            source: "environment",
            https,
            http,
            bypass: env_first(&["NO_PROXY", "no_proxy"]),
        });
    }
    platform::windows_proxy()
}

/// Parses Internet Options' `ProxyServer` ("host:port" or "http=h:p;https=h:p;...") and
/// `ProxyOverride` ("*.local;10.*;<local>") into a [`SystemProxy`].
pub fn parse_windows_proxy(server: &str, overrides: Option<&str>) -> Option<SystemProxy> {
    let with_scheme = |s: &str| -> String {
        let s = s.trim();
        if s.contains("://") {
            s.to_string()
        } else {
            format!("http://{s}")
        }
    };
    let server = server.trim();
    if server.is_empty() {
        return None;
    }
    let (mut http, mut https) = (None, None);
    if server.contains('=') {
        for part in server.split(';') {
            if let Some((k, v)) = part.split_once('=') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "http" => http = Some(with_scheme(v)),
                    "https" => https = Some(with_scheme(v)),
                    _ => {}
                }
            }
        }
    } else {
        http = Some(with_scheme(server));
        https = http.clone();
    }
    if http.is_none() && https.is_none() {
        return None;
    }
    let bypass = overrides
        .map(|o| {
            o.split(';')
                .map(|e| e.trim().trim_start_matches("*."))
                .filter(|e| !e.is_empty() && *e != "<local>")
                .map(|e| {
                    // "10.*" / "192.168.*" are wildcards in Internet Options; NO_PROXY wants CIDR.
                    let parts: Vec<&str> = e.split('.').collect();
                    match parts.iter().position(|p| *p == "*") {
                        Some(i) if i > 0 && parts[..i].iter().all(|p| p.parse::<u8>().is_ok()) => {
                            let mut oct = [0u8; 4];
                            for (j, p) in parts[..i].iter().enumerate() {
                                oct[j] = p.parse().unwrap_or(0);
                            }
                            format!("{}.{}.{}.{}/{}", oct[0], oct[1], oct[2], oct[3], i * 8)
                        }
                        _ => e.to_string(),
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .filter(|s| !s.is_empty());
    Some(SystemProxy {
        source: "windows",
        https,
        http,
        bypass,
    })
}

/// Adds the Windows Internet Options proxy to a client builder when no proxy environment
/// variable is set (reqwest reads the variables itself). Corporate networks where the
/// ERP works only through the proxy configured in Windows need this.
pub fn apply_system_proxy(b: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    let Some(p) = system_proxy() else { return b };
    if p.source != "windows" {
        return b;
    }
    let no = p.bypass.as_deref().and_then(reqwest::NoProxy::from_string);
    let mut b = b;
    if let Some(u) = &p.https {
        if let Ok(px) = reqwest::Proxy::https(u.as_str()) {
            b = b.proxy(px.no_proxy(no.clone()));
        }
    }
    if let Some(u) = &p.http {
        if let Ok(px) = reqwest::Proxy::http(u.as_str()) {
            b = b.proxy(px.no_proxy(no));
        }
    }
    ::log::info!(target: "anaf::http", "using the Windows proxy: https={:?} http={:?} bypass={:?}", p.https, p.http, p.bypass);
    b
}

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

// ---------------------------------------------------------------- platform specifics

#[cfg(windows)]
mod platform {
    use super::{parse_windows_proxy, SystemProxy, WebView};
    use std::path::{Path, PathBuf};
    use windows::core::PCWSTR;

    fn wide(s: &str) -> Vec<u16> {
        s.encode_utf16().chain(std::iter::once(0)).collect()
    }

    pub fn module_path() -> Option<PathBuf> {
        use windows::Win32::Foundation::HMODULE;
        use windows::Win32::System::LibraryLoader::{
            GetModuleFileNameW, GetModuleHandleExW, GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
            GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
        };
        static ANCHOR: u8 = 0;
        let mut module = HMODULE::default();
        // SAFETY: FROM_ADDRESS reads the address of a static of this module; out pointer valid.
        unsafe {
            GetModuleHandleExW(
                GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS
                    | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                PCWSTR(&ANCHOR as *const u8 as *const u16),
                &mut module,
            )
            .ok()?;
        }
        let mut buf = vec![0u16; 32768];
        // SAFETY: the buffer is writable for its length.
        let n = unsafe { GetModuleFileNameW(Some(module), &mut buf) } as usize;
        if n == 0 {
            return None;
        }
        Some(PathBuf::from(String::from_utf16_lossy(&buf[..n])))
    }

    pub fn os_is_64bit() -> bool {
        crate::platform::os_is_64bit()
    }

    fn windows_dir() -> PathBuf {
        use windows::Win32::System::SystemInformation::GetSystemWindowsDirectoryW;
        let mut buf = vec![0u16; 1024];
        // SAFETY: the buffer is writable for its length.
        let n = unsafe { GetSystemWindowsDirectoryW(Some(&mut buf)) } as usize;
        if n == 0 || n >= buf.len() {
            return PathBuf::from(std::env::var("WINDIR").unwrap_or_else(|_| "C:\\Windows".into()));
        }
        PathBuf::from(String::from_utf16_lossy(&buf[..n]))
    }

    /// The system folders ERPs copy the DLL into, and the bitness each must hold. A
    /// 32-bit process sees the real System32 only through "Sysnative".
    pub fn system_folders(os64: bool) -> Vec<(PathBuf, u32)> {
        let win = windows_dir();
        if !os64 {
            return vec![(win.join("System32"), 32)];
        }
        let native = if usize::BITS == 64 {
            win.join("System32")
        } else {
            win.join("Sysnative")
        };
        vec![(native, 64), (win.join("SysWOW64"), 32)]
    }

    pub fn webview_version(folder: Option<&Path>) -> WebView {
        match crate::platform::webview2_version(folder) {
            Ok(version) => WebView::Found {
                engine: "Microsoft Edge WebView2 Runtime",
                version,
            },
            Err(detail) => WebView::Missing { detail },
        }
    }

    pub fn remote_session() -> Option<bool> {
        use windows::Win32::UI::WindowsAndMessaging::{GetSystemMetrics, SM_REMOTESESSION};
        // SAFETY: a plain query.
        Some(unsafe { GetSystemMetrics(SM_REMOTESESSION) } != 0)
    }

    fn reg_value(name: &str, want_dword: bool) -> Option<Vec<u8>> {
        use windows::Win32::System::Registry::{
            RegGetValueW, HKEY_CURRENT_USER, RRF_RT_REG_DWORD, RRF_RT_REG_SZ,
        };
        let key = wide("Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings");
        let value = wide(name);
        let flags = if want_dword {
            RRF_RT_REG_DWORD
        } else {
            RRF_RT_REG_SZ
        };
        let mut size: u32 = 0;
        // SAFETY: the strings are NUL-terminated and alive; first call asks the size.
        let r = unsafe {
            RegGetValueW(
                HKEY_CURRENT_USER,
                PCWSTR(key.as_ptr()),
                PCWSTR(value.as_ptr()),
                flags,
                None,
                None,
                Some(&mut size),
            )
        };
        if r.is_err() || size == 0 || size > 65536 {
            return None;
        }
        let mut buf = vec![0u8; size as usize];
        // SAFETY: buf is writable for `size` bytes.
        let r = unsafe {
            RegGetValueW(
                HKEY_CURRENT_USER,
                PCWSTR(key.as_ptr()),
                PCWSTR(value.as_ptr()),
                flags,
                None,
                Some(buf.as_mut_ptr() as *mut _),
                Some(&mut size),
            )
        };
        if r.is_err() {
            return None;
        }
        buf.truncate(size as usize);
        Some(buf)
    }

    fn reg_string(name: &str) -> Option<String> {
        let b = reg_value(name, false)?;
        let w: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&c| c != 0)
            .collect();
        Some(String::from_utf16_lossy(&w))
    }

    pub fn windows_proxy() -> Option<SystemProxy> {
        let enable = reg_value("ProxyEnable", true)?;
        if enable.len() < 4 || u32::from_le_bytes([enable[0], enable[1], enable[2], enable[3]]) == 0
        {
            return None;
        }
        let server = reg_string("ProxyServer")?;
        parse_windows_proxy(&server, reg_string("ProxyOverride").as_deref())
    }
}

#[cfg(not(windows))]
mod platform {
    use super::{SystemProxy, WebView};
    use std::path::{Path, PathBuf};

    pub fn module_path() -> Option<PathBuf> {
        static ANCHOR: u8 = 0;
        let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
        // SAFETY: dladdr only reads the address and fills `info`.
        let ok = unsafe { libc::dladdr(&ANCHOR as *const u8 as *const libc::c_void, &mut info) };
        if ok == 0 || info.dli_fname.is_null() {
            return None;
        }
        // SAFETY: dli_fname is a NUL-terminated string owned by the dynamic loader.
        let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
        let p = PathBuf::from(name.to_string_lossy().into_owned());
        Some(std::fs::canonicalize(&p).unwrap_or(p))
    }

    pub fn os_is_64bit() -> bool {
        usize::BITS == 64 || std::path::Path::new("/lib64").exists()
    }

    pub fn system_folders(_os64: bool) -> Vec<(PathBuf, u32)> {
        Vec::new()
    }

    #[cfg(feature = "login-gtk")]
    pub fn webview_version(_folder: Option<&Path>) -> WebView {
        extern "C" {
            fn webkit_get_major_version() -> std::ffi::c_uint;
            fn webkit_get_minor_version() -> std::ffi::c_uint;
            fn webkit_get_micro_version() -> std::ffi::c_uint;
        }
        // SAFETY: plain getters of the linked WebKitGTK; no initialisation needed.
        let v = unsafe {
            format!(
                "{}.{}.{}",
                webkit_get_major_version(),
                webkit_get_minor_version(),
                webkit_get_micro_version()
            )
        };
        WebView::Found {
            engine: "WebKitGTK",
            version: v,
        }
    }

    #[cfg(not(feature = "login-gtk"))]
    pub fn webview_version(_folder: Option<&Path>) -> WebView {
        WebView::NotBuilt
    }

    pub fn remote_session() -> Option<bool> {
        None
    }

    pub fn windows_proxy() -> Option<SystemProxy> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pe_machine_reads_headers() {
        let mut img = vec![0u8; 0x100];
        img[..2].copy_from_slice(b"MZ");
        img[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        img[0x80..0x84].copy_from_slice(b"PE\0\0");
        img[0x84..0x86].copy_from_slice(&0x14cu16.to_le_bytes());
        assert_eq!(pe_machine(&img), Some(0x14c));
        assert_eq!(machine_bits(0x14c), Some(32));
        img[0x84..0x86].copy_from_slice(&0x8664u16.to_le_bytes());
        assert_eq!(pe_machine(&img).and_then(machine_bits), Some(64));
        img[0x80] = b'X';
        assert_eq!(pe_machine(&img), None);
        assert_eq!(pe_machine(b"\x7fELF"), None);
    }

    #[test]
    fn windows_proxy_strings() {
        let p = parse_windows_proxy("proxy.firma.local:3128", Some("*.firma.local;10.*;<local>"))
            .unwrap();
        assert_eq!(p.https.as_deref(), Some("http://proxy.firma.local:3128"));
        assert_eq!(p.http.as_deref(), Some("http://proxy.firma.local:3128"));
        assert_eq!(p.bypass.as_deref(), Some("firma.local,10.0.0.0/8"));
        let p = parse_windows_proxy("http=a:80;https=b:8443;ftp=c:21", None).unwrap();
        assert_eq!(p.http.as_deref(), Some("http://a:80"));
        assert_eq!(p.https.as_deref(), Some("http://b:8443"));
        assert!(parse_windows_proxy("  ", None).is_none());
        assert!(parse_windows_proxy("ftp=c:21", None).is_none());
    }

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
