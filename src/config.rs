//! The configuration JSON the ERP passes to `anaf_open`: parsed by hand so that every
//! problem names its field, in the configured language.

use crate::error::{Error, Result};
use crate::status::{Lang, ANAF_ERR_INVALID_CONFIG, ANAF_ERR_INVALID_JSON};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// ANAF's two OAuth API environments; the identity provider is the same for both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Prod,
    Test,
}

impl Environment {
    /// The path segment ANAF uses (`/prod/...`, `/test/...`) and the name stored in the token table.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Prod => "prod",
            Environment::Test => "test",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub environment: Environment,
    /// Identity provider base, e.g. `https://logincert.anaf.ro`.
    pub idp_url: Url,
    /// OAuth API base, e.g. `https://api.anaf.ro`.
    pub api_url: Url,
    /// Public web services base (validation, PDF), e.g. `https://webservicesp.anaf.ro`.
    pub public_url: Url,
    /// Where the token and the DLL's tables live.
    pub storage: Storage,
    /// Numeric CIF, without the RO prefix.
    pub cif: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub redirect_uri: Option<String>,
    /// Certificate serial, upper-case hex with separators removed.
    pub cert_serial: Option<String>,
    pub language: Lang,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub login_timeout: Duration,
    /// A token with less than this left is refreshed silently.
    pub refresh_margin: Duration,
    pub log_file: Option<PathBuf>,
    /// An extra trusted root (the simulator's CA, a corporate TLS-inspection CA), PEM.
    pub ca_file: Option<PathBuf>,
    /// The login certificate on hosts without a certificate store (Linux): PEM or PKCS#12.
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
    pub client_cert_password: Option<String>,
    /// The vendor's `anaf-relay` for the browser-link flow.
    pub relay_url: Option<Url>,
    /// The key the vendor issued to this installation: the relay makes links only for it.
    pub relay_key: Option<String>,
    /// Client-side pacing of API calls (ANAF allows 1000 per minute).
    pub rate_limit_per_minute: u32,
    /// Uploads of one `anaf_upload_batch` in flight at once.
    pub max_in_flight: u32,
    /// A fixed-version WebView2 runtime folder (Windows).
    pub webview2_folder: Option<PathBuf>,
    /// Where the inbox keeps the ZIPs it downloads (`<folder>/<cif>/<environment>/<id>.zip`)
    /// instead of in the database.
    pub inbox_folder: Option<PathBuf>,
    /// Whether the upload journal's `sending` row waits for the disk before the upload
    /// leaves (`journal_sync` "full", the default) or only for the operating system
    /// ("normal": survives a crash of the ERP, not a power cut).
    pub journal_sync_full: bool,
    /// A token from the browser link obtained with another certificate than `cert_serial`:
    /// refused (`"link_serial": "refuse"`) instead of stored with a warning (`"warn"`).
    pub link_serial_refuse: bool,
    /// `"token_for": "certificate"`: this CIF is served by the token of `cert_serial`, whichever
    /// company's login obtained it (an accountant's certificate acting for many firms),
    /// instead of by a login of its own (`"cif"`, the default).
    pub token_for_certificate: bool,
    /// The secret the token columns and the rescue file are sealed under, instead of one
    /// derived from `client_secret` (store::seal).
    pub token_key: Option<String>,
    /// The `client_secret` or `token_key` the stored secrets were sealed under before it
    /// changed: they are opened with it and sealed again under the current key.
    pub token_key_previous: Option<String>,
    /// The access token is kept readable in `anaf_token` and `anaf_token_v`, for ERPs that
    /// call ANAF with it themselves; the refresh token stays sealed.
    pub share_access_token: bool,
    /// What was normalised on the way in, for the log.
    pub notes: Vec<String>,
}

pub const DEFAULT_IDP_URL: &str = "https://logincert.anaf.ro";
pub const DEFAULT_API_URL: &str = "https://api.anaf.ro";
pub const DEFAULT_PUBLIC_URL: &str = "https://webservicesp.anaf.ro";

/// Where the DLL keeps the token: exactly one of `"database"` and `"odbc"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Storage {
    /// The SQLite file at this path.
    Sqlite(PathBuf),
    /// The ERP's database server, reached through ODBC.
    Odbc(OdbcTarget),
}

/// Where on the ERP's server: the connection string, and how the DLL's tables are named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OdbcTarget {
    /// Exactly the string the ERP uses (`DSN=…`, `Driver={…};Server=…`).
    pub connection: String,
    /// `"erp_"` names the tables `erp_anaf_token`…; `"contab."` or `"contab.erp_"` puts them
    /// in schema `contab`. Empty: `anaf_token`….
    pub table_prefix: String,
}

fn storage(
    database: Option<String>,
    odbc: Option<String>,
    table_prefix: Option<String>,
) -> Result<Storage> {
    if let Some(t) = &table_prefix {
        if odbc.is_none() {
            return Err(bad(
                "table_prefix",
                "se folosește doar cu \"odbc\" (tabelele din baza de date a ERP-ului).",
                "applies only with \"odbc\" (the tables in the ERP's database).",
            ));
        }
        if !table_prefix_ok(t) {
            return Err(bad(
                "table_prefix",
                format!("„{t:.40}” nu este un prefix de tabel: litere, cifre și _, cel mult 16, opțional precedate de o schemă și un punct (\"erp_\", \"contab.\", \"contab.erp_\")."),
                format!("\"{t:.40}\" is not a table prefix: letters, digits and _, at most 16, optionally after a schema and a dot (\"erp_\", \"contab.\", \"contab.erp_\")."),
            ));
        }
    }
    match (database, odbc) {
        (Some(d), None) if !d.trim().is_empty() => Ok(Storage::Sqlite(PathBuf::from(d))),
        (None, Some(o)) if !o.trim().is_empty() => Ok(Storage::Odbc(OdbcTarget {
            connection: o,
            table_prefix: table_prefix.unwrap_or_default(),
        })),
        (Some(_), Some(_)) => Err(bad(
            "database",
            "Sunt date și \"database\" și \"odbc\": tokenul se păstrează într-un singur loc, fișierul SQLite (database) sau serverul bazei de date a ERP-ului (odbc). Lăsați una dintre ele.",
            "Both \"database\" and \"odbc\" are given: the token lives in one place, the SQLite file (database) or the ERP's database server (odbc). Keep one of them.",
        )),
        _ => Err(bad(
            "database",
            "Lipsește locul tokenului: \"database\" (calea fișierului SQLite) sau \"odbc\" (șirul de conectare ODBC al bazei de date a ERP-ului).",
            "Where the token lives is missing: \"database\" (the SQLite file's path) or \"odbc\" (the ODBC connection string of the ERP's database).",
        )),
    }
}

/// `[schema.]prefix`: identifiers every server takes unquoted.
fn table_prefix_ok(t: &str) -> bool {
    let word = |w: &str, max: usize| {
        w.len() <= max && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    match t.split_once('.') {
        Some((schema, prefix)) => {
            !schema.is_empty()
                && schema.starts_with(|c: char| c.is_ascii_alphabetic())
                && word(schema, 30)
                && word(prefix, 16)
        }
        None => !t.is_empty() && t.starts_with(|c: char| c.is_ascii_alphabetic()) && word(t, 16),
    }
}

/// Every key `anaf_open` accepts, for the unknown-key message.
pub const KEYS: &[&str] = &[
    "environment",
    "idp_url",
    "api_url",
    "public_url",
    "database",
    "odbc",
    "table_prefix",
    "cif",
    "client_id",
    "client_secret",
    "redirect_uri",
    "cert_serial",
    "language",
    "timeout_seconds",
    "connect_timeout_seconds",
    "login_timeout_seconds",
    "refresh_margin_days",
    "log_file",
    "ca_file",
    "client_cert_file",
    "client_key_file",
    "client_cert_password",
    "relay_url",
    "relay_key",
    "rate_limit_per_minute",
    "max_in_flight",
    "webview2_folder",
    "inbox_folder",
    "journal_sync",
    "link_serial",
    "token_for",
    "token_key",
    "token_key_previous",
    "share_access_token",
];

fn bad(field: &str, ro: impl AsRef<str>, en: impl AsRef<str>) -> Error {
    let (ro, en) = (ro.as_ref(), en.as_ref());
    Error::with(
        ANAF_ERR_INVALID_CONFIG,
        format!("Câmpul \"{field}\": {ro}"),
        format!("Field \"{field}\": {en}"),
    )
}

/// Fields read one by one from the JSON object, each checked for type.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(_) => Err(bad(key, "trebuie să fie text.", "must be a string.")),
        }
    }

    fn boolean(&self, key: &str) -> Result<bool> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(bad(
                key,
                "trebuie să fie true sau false.",
                "must be true or false.",
            )),
        }
    }

    fn required(&self, key: &str) -> Result<String> {
        self.string(key)?
            .ok_or_else(|| bad(key, "lipsește (obligatoriu).", "is missing (required)."))
    }

    fn number(&self, key: &str, min: u64, max: u64, default: u64) -> Result<u64> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if (min..=max).contains(&v) => Ok(v),
                _ => Err(bad(
                    key,
                    format!("trebuie să fie un număr întreg între {min} și {max}."),
                    format!("must be a whole number from {min} to {max}."),
                )),
            },
            Some(_) => Err(bad(key, "trebuie să fie un număr.", "must be a number.")),
        }
    }

    fn url(&self, key: &str, default: &str) -> Result<Url> {
        let text = self.string(key)?;
        let s = text.as_deref().unwrap_or(default);
        match Url::parse(s) {
            Ok(u) if u.scheme() == "https" => Ok(u),
            // Plain HTTP carries the bearer token and the client secret in the clear: only
            // to this computer (a simulator, a local relay behind a TLS proxy).
            Ok(u) if u.scheme() == "http" && loopback(&u) => Ok(u),
            Ok(u) if u.scheme() == "http" => Err(bad(
                key,
                format!("\"{s:.200}\" folosește http:// fără TLS; este permis doar către acest calculator (127.0.0.1, localhost). Folosiți https://."),
                format!("\"{s:.200}\" uses http:// without TLS; that is allowed only to this computer (127.0.0.1, localhost). Use https://."),
            )),
            _ => Err(bad(
                key,
                format!("\"{s:.200}\" nu este o adresă http(s) validă."),
                format!("\"{s:.200}\" is not a valid http(s) URL."),
            )),
        }
    }
}

/// A URL to this computer: 127.0.0.0/8, ::1 or localhost.
fn loopback(u: &Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The language a configuration asks for, read before the rest is checked, so that the
/// errors of that very configuration are already in its language.
pub fn peek_language(text: &str) -> Option<Lang> {
    let v: Value = serde_json::from_str(text).ok()?;
    match v.get("language")?.as_str()? {
        "ro" | "RO" => Some(Lang::Ro),
        "en" | "EN" => Some(Lang::En),
        _ => None,
    }
}

impl Config {
    /// Parses and checks the configuration JSON.
    pub fn from_json(text: &str) -> Result<Config> {
        // Notepad saves UTF-8 with a byte-order mark: it is not part of the JSON.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let value: Value = serde_json::from_str(text).map_err(|e| {
            Error::with(
                ANAF_ERR_INVALID_JSON,
                format!("Configurația: {e}"),
                format!("Configuration: {e}"),
            )
        })?;
        let Value::Object(map) = value else {
            return Err(Error::with(
                ANAF_ERR_INVALID_CONFIG,
                "Configurația trebuie să fie un obiect JSON ({...}).",
                "The configuration must be a JSON object ({...}).",
            ));
        };
        for key in map.keys() {
            if !KEYS.contains(&key.as_str()) {
                let known = KEYS.join(", ");
                return Err(bad(
                    key,
                    format!("necunoscut. Câmpuri permise: {known}."),
                    format!("is unknown. Known fields: {known}."),
                ));
            }
        }
        let f = Fields(&map);
        let mut notes = Vec::new();

        let language = match f.string("language")?.as_deref() {
            None | Some("ro") | Some("RO") => Lang::Ro,
            Some("en") | Some("EN") => Lang::En,
            Some(other) => {
                return Err(bad(
                    "language",
                    format!("\"{other}\" nu este permis; folosiți \"ro\" sau \"en\"."),
                    format!("\"{other}\" is not allowed; use \"ro\" or \"en\"."),
                ))
            }
        };
        let environment = match f.string("environment")?.as_deref() {
            None | Some("prod") => Environment::Prod,
            Some("test") => Environment::Test,
            Some(other) => {
                return Err(bad(
                    "environment",
                    format!("\"{other}\" nu este permis; folosiți \"prod\" sau \"test\"."),
                    format!("\"{other}\" is not allowed; use \"prod\" or \"test\"."),
                ))
            }
        };
        let journal_sync_full = match f.string("journal_sync")?.as_deref() {
            None | Some("full") => true,
            Some("normal") => false,
            Some(other) => {
                return Err(bad(
                    "journal_sync",
                    format!("\"{other}\" nu este permis; folosiți \"full\" sau \"normal\"."),
                    format!("\"{other}\" is not allowed; use \"full\" or \"normal\"."),
                ))
            }
        };
        let link_serial_refuse = match f.string("link_serial")?.as_deref() {
            None | Some("warn") => false,
            Some("refuse") => true,
            Some(other) => {
                return Err(bad(
                    "link_serial",
                    format!("\"{other:.40}\" nu este permis; folosiți \"warn\" sau \"refuse\"."),
                    format!("\"{other:.40}\" is not allowed; use \"warn\" or \"refuse\"."),
                ))
            }
        };
        let token_for_certificate = match f.string("token_for")?.as_deref() {
            None | Some("cif") => false,
            Some("certificate") => true,
            Some(other) => {
                return Err(bad(
                    "token_for",
                    format!(
                        "\"{other:.40}\" nu este permis; folosiți \"cif\" sau \"certificate\"."
                    ),
                    format!("\"{other:.40}\" is not allowed; use \"cif\" or \"certificate\"."),
                ))
            }
        };
        let cif = normalize_cif(&f.required("cif")?)?;
        let cert_serial = match f.string("cert_serial")? {
            None => None,
            Some(raw) => {
                let s = normalize_serial(&raw)?;
                if s != raw {
                    notes.push(format!(
                        "cert_serial normalised from \"{raw}\" to \"{s}\" (separators removed, upper case)"
                    ));
                }
                Some(s)
            }
        };
        if token_for_certificate && cert_serial.is_none() {
            return Err(bad(
                "token_for",
                "\"certificate\" cere și \"cert_serial\": seria certificatului al cărui token servește acest CIF.",
                "\"certificate\" needs \"cert_serial\" too: the serial of the certificate whose token serves this CIF.",
            ));
        }
        let redirect_uri = f.string("redirect_uri")?;
        if let Some(r) = &redirect_uri {
            match Url::parse(r) {
                Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
                _ => {
                    return Err(bad(
                        "redirect_uri",
                        format!(
                            "\"{r}\" nu este o adresă validă; copiați Callback URL exact din SPV."
                        ),
                        format!(
                            "\"{r}\" is not a valid URL; copy the Callback URL exactly from SPV."
                        ),
                    ))
                }
            }
        }
        // Not trimmed: a key is used exactly as the ERP wrote it.
        let token_key = match f.0.get("token_key") {
            None | Some(Value::Null) => None,
            Some(Value::String(k))
                if k.chars().count() >= crate::store::seal::MIN_TOKEN_KEY_CHARS =>
            {
                Some(k.clone())
            }
            Some(_) => {
                let n = crate::store::seal::MIN_TOKEN_KEY_CHARS;
                return Err(bad(
                    "token_key",
                    format!("trebuie să fie un text de cel puțin {n} caractere (aceeași valoare pe toate stațiile)."),
                    format!("must be a text of at least {n} characters (the same value on every workstation)."),
                ));
            }
        };
        let relay_url = match f.string("relay_url")? {
            None => None,
            Some(_) => Some(f.url("relay_url", "")?),
        };
        let path = |key: &str| -> Result<Option<PathBuf>> { Ok(f.string(key)?.map(PathBuf::from)) };

        Ok(Config {
            environment,
            idp_url: f.url("idp_url", DEFAULT_IDP_URL)?,
            api_url: f.url("api_url", DEFAULT_API_URL)?,
            public_url: f.url("public_url", DEFAULT_PUBLIC_URL)?,
            storage: storage(
                f.string("database")?,
                f.string("odbc")?,
                f.string("table_prefix")?,
            )?,
            cif,
            client_id: f.string("client_id")?,
            client_secret: f.string("client_secret")?,
            redirect_uri,
            cert_serial,
            language,
            timeout: Duration::from_secs(f.number("timeout_seconds", 1, 3600, 60)?),
            connect_timeout: Duration::from_secs(f.number(
                "connect_timeout_seconds",
                1,
                600,
                15,
            )?),
            login_timeout: Duration::from_secs(f.number("login_timeout_seconds", 10, 3600, 300)?),
            refresh_margin: Duration::from_secs(
                f.number("refresh_margin_days", 0, 364, 14)? * 86_400,
            ),
            log_file: path("log_file")?,
            ca_file: path("ca_file")?,
            client_cert_file: path("client_cert_file")?,
            client_key_file: path("client_key_file")?,
            client_cert_password: f.string("client_cert_password")?,
            relay_url,
            relay_key: f
                .string("relay_key")?
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty()),
            rate_limit_per_minute: f.number("rate_limit_per_minute", 1, 1000, 900)? as u32,
            // ANAF's rate is 1000 a minute (17 a second): at 300 ms an answer, 5 in flight
            // reach it; 8 keep it up to about half a second an answer.
            max_in_flight: f.number("max_in_flight", 1, 64, 8)? as u32,
            webview2_folder: path("webview2_folder")?,
            inbox_folder: path("inbox_folder")?,
            journal_sync_full,
            link_serial_refuse,
            token_for_certificate,
            token_key,
            token_key_previous: f
                .0
                .get("token_key_previous")
                .and_then(Value::as_str)
                .filter(|k| !k.is_empty())
                .map(str::to_string),
            share_access_token: f.boolean("share_access_token")?,
            notes,
        })
    }

    /// The OAuth fields a token operation needs, or an error naming the first missing one.
    pub fn oauth(&self) -> Result<(&str, &str, &str)> {
        let need = |v: &Option<String>, key: &str| -> Result<()> {
            if v.is_none() {
                Err(bad(
                    key,
                    "lipsește; este necesar pentru token.",
                    "is missing; it is needed for the token.",
                ))
            } else {
                Ok(())
            }
        };
        need(&self.client_id, "client_id")?;
        need(&self.client_secret, "client_secret")?;
        need(&self.redirect_uri, "redirect_uri")?;
        Ok((
            self.client_id.as_deref().unwrap_or_default(),
            self.client_secret.as_deref().unwrap_or_default(),
            self.redirect_uri.as_deref().unwrap_or_default(),
        ))
    }

    /// The base URL of an OAuth API service: `{api_url}/{prod|test}/{service}/`.
    pub fn api_base(&self, service_path: &str) -> Url {
        join(
            &self.api_url,
            &format!("{}/{}/", self.environment.as_str(), service_path),
        )
    }

    /// The base URL of the public e-Factura services (validation, PDF).
    pub fn public_base(&self) -> Url {
        join(&self.public_url, "prod/FCTEL/rest/")
    }

    /// The identity provider's OAuth endpoints: `authorize`, `token`, `revoke`.
    pub fn idp_endpoint(&self, name: &str) -> Url {
        join(&self.idp_url, &format!("anaf-oauth2/v1/{name}"))
    }
}

/// Joins a relative path onto a base URL, keeping any path the base already has.
pub fn join(base: &Url, rel: &str) -> Url {
    let mut b = base.clone();
    if !b.path().ends_with('/') {
        let p = format!("{}/", b.path());
        b.set_path(&p);
    }
    b.join(rel).unwrap_or(b)
}

/// Checks a Romanian CIF: digits only, no RO prefix, valid control digit.
pub fn normalize_cif(raw: &str) -> Result<String> {
    let s = raw.trim();
    // By bytes, not by slicing text: a CIF such as "1ș" must be refused, not split.
    if s.len() >= 2 && s.as_bytes()[..2].eq_ignore_ascii_case(b"ro") {
        return Err(bad(
            "cif",
            format!("\"{s}\" începe cu RO; ANAF cere CIF-ul fără prefix (doar cifre)."),
            format!("\"{s}\" starts with RO; ANAF wants the CIF without the prefix (digits only)."),
        ));
    }
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            "cif",
            format!("\"{s}\" nu este un CIF: sunt permise doar 2–10 cifre."),
            format!("\"{s}\" is not a CIF: only 2 to 10 digits are allowed."),
        ));
    }
    if s.len() < 2 || !cif_control_ok(s) {
        return Err(bad(
            "cif",
            format!("\"{s}\" are cifra de control greșită; verificați CIF-ul."),
            format!("\"{s}\" has a wrong control digit; check the CIF."),
        ));
    }
    Ok(s.to_string())
}

/// The control digit of a Romanian CIF: key 753217532 over the digits before it.
fn cif_control_ok(cif: &str) -> bool {
    const KEY: &[u32] = &[7, 5, 3, 2, 1, 7, 5, 3, 2];
    let digits: Vec<u32> = cif.bytes().map(|b| (b - b'0') as u32).collect();
    let (body, control) = digits.split_at(digits.len() - 1);
    let offset = KEY.len() - body.len();
    let sum: u32 = body.iter().zip(&KEY[offset..]).map(|(d, k)| d * k).sum();
    let c = sum * 10 % 11;
    (if c == 10 { 0 } else { c }) == control[0]
}

/// The comparable form of a serial: hex digits only, upper case, no leading zeros. Windows
/// shows "1a 2b 3c" or "00 1A 2B 3C"; users type spaces, colons, lower case, a leading zero
/// byte (DER adds one when the first bit is set).
pub fn comparable_serial(serial: &str) -> String {
    let hex: String = serial
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() && !hex.is_empty() {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Whether two serials, written in any of the usual ways, are the same number: the one
/// rule for the login window's choice, an import, a browser link.
pub fn same_serial(a: &str, b: &str) -> bool {
    let (a, b) = (comparable_serial(a), comparable_serial(b));
    !a.is_empty() && a == b
}

/// Normalises a certificate serial as Windows shows it ("1a 2b 3c", "1A:2B:3C") to
/// upper-case hex; refuses anything that is not hex (diacritics, letters past F).
pub fn normalize_serial(raw: &str) -> Result<String> {
    let cleaned: String = raw
        .chars()
        .filter(|c| {
            !c.is_whitespace() && *c != ':' && *c != '-' && *c != '\u{200e}' && *c != '\u{feff}'
        })
        .collect();
    if let Some(c) = cleaned.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(bad(
            "cert_serial",
            format!(
                "conține caracterul \"{c}\"; seria certificatului are doar cifre și literele A–F (copiați-o din detaliile certificatului)."
            ),
            format!(
                "contains \"{c}\"; a certificate serial has only digits and letters A–F (copy it from the certificate details)."
            ),
        ));
    }
    if cleaned.is_empty() {
        return Err(bad("cert_serial", "este gol.", "is empty."));
    }
    Ok(cleaned.to_ascii_uppercase())
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
