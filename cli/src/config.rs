//! Where `anaf` finds the configuration: the same JSON as `anaf_open`, from the first of
//!
//! 1. `--config FILE`;
//! 2. the environment variable `ANAF_CONFIG`: the JSON itself when it starts with `{`,
//!    otherwise the path of a file;
//! 3. `anaf.json` in the current folder;
//! 4. `anaf.json` beside the executable (what a scheduled task finds, whose current
//!    folder is System32).
//!
//! In a configuration read from a file, relative paths (`database`, `log_file`, `ca_file`,
//! …) are taken from that file's folder, so that one `anaf.json` works from any current
//! folder; in JSON given inline they are relative to the current folder, as for `anaf_open`.

use anaf_bridge::error::{Error, Result};
use anaf_bridge::status::{ANAF_ERR_FILE, ANAF_ERR_INVALID_CONFIG};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The environment variable holding the configuration (JSON) or its path.
pub const ENV: &str = "ANAF_CONFIG";
/// The file looked for in the current folder and beside the executable.
pub const FILE_NAME: &str = "anaf.json";

/// The keys of the configuration that hold a path.
const PATH_KEYS: &[&str] = &[
    "database",
    "log_file",
    "ca_file",
    "client_cert_file",
    "client_key_file",
    "webview2_folder",
    "inbox_folder",
];

/// Where the configuration came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `--config FILE`.
    Flag(PathBuf),
    /// `ANAF_CONFIG` naming a file.
    EnvFile(PathBuf),
    /// `ANAF_CONFIG` holding the JSON.
    EnvJson,
    /// `anaf.json` in the current folder or beside the executable.
    Found(PathBuf),
}

impl Source {
    /// For messages: where the configuration was read from.
    pub fn describe(&self) -> String {
        match self {
            Source::Flag(p) | Source::EnvFile(p) | Source::Found(p) => p.display().to_string(),
            Source::EnvJson => ENV.to_string(),
        }
    }
}

/// The configuration JSON, ready for `Config::from_json`, and where it came from.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub json: String,
    pub source: Source,
}

/// Finds and reads the configuration (see the module's comment).
pub fn load(flag: Option<&Path>) -> Result<Loaded> {
    if let Some(p) = flag {
        return from_file(p, Source::Flag(p.to_path_buf()));
    }
    if let Some(v) = std::env::var_os(ENV).filter(|v| !v.is_empty()) {
        let text = v.to_string_lossy();
        if text.trim_start().starts_with('{') {
            return Ok(Loaded {
                json: text.into_owned(),
                source: Source::EnvJson,
            });
        }
        let p = PathBuf::from(&v);
        return from_file(&p, Source::EnvFile(p.clone()));
    }
    let candidates = candidates();
    for p in &candidates {
        if p.is_file() {
            return from_file(p, Source::Found(p.clone()));
        }
    }
    let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    let tried = tried.join(", ");
    Err(Error::with(
        ANAF_ERR_INVALID_CONFIG,
        format!("Nu am găsit configurarea: dați --config FIȘIER, variabila {ENV} (JSON-ul sau calea lui) sau puneți {FILE_NAME} în folderul curent ori lângă anaf (căutat: {tried})."),
        format!("No configuration found: give --config FILE, the {ENV} variable (the JSON or its path), or put {FILE_NAME} in the current folder or beside anaf (looked for: {tried})."),
    ))
}

/// `anaf.json` in the current folder, then beside the executable.
fn candidates() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Ok(d) = std::env::current_dir() {
        v.push(d.join(FILE_NAME));
    }
    if let Some(d) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        let p = d.join(FILE_NAME);
        if !v.contains(&p) {
            v.push(p);
        }
    }
    v
}

fn from_file(path: &Path, source: Source) -> Result<Loaded> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::with(
            ANAF_ERR_FILE,
            format!("Configurarea „{}” nu poate fi citită: {e}", path.display()),
            format!(
                "The configuration \"{}\" cannot be read: {e}",
                path.display()
            ),
        )
    })?;
    let folder = std::path::absolute(path)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    Ok(Loaded {
        json: anchored(&text, &folder),
        source,
    })
}

/// The JSON with its relative paths joined to `folder`. Text that is not a JSON object is
/// returned as it is: `Config::from_json` says what is wrong with it.
fn anchored(text: &str, folder: &Path) -> String {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(body) else {
        return text.to_string();
    };
    for key in PATH_KEYS {
        if let Some(Value::String(s)) = m.get(*key) {
            let p = Path::new(s);
            if !s.is_empty() && p.is_relative() && !looks_absolute_on_windows(s) {
                let joined = folder.join(p).display().to_string();
                m.insert((*key).to_string(), Value::String(joined));
            }
        }
    }
    Value::Object(m).to_string()
}

/// `C:\…`, `\\server\…`: absolute for Windows even when this build is not.
fn looks_absolute_on_windows(s: &str) -> bool {
    let b = s.as_bytes();
    s.starts_with("\\\\")
        || s.starts_with("//")
        || (b.len() >= 3
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && (b[2] == b'\\' || b[2] == b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_taken_from_the_file_folder() {
        let j = anchored(
            r#"{"database": "anaf.db", "ca_file": "/etc/ca.pem", "log_file": "C:\\ERP\\anaf.log", "cif": "14399840"}"#,
            Path::new("/srv/erp"),
        );
        let v: Value = serde_json::from_str(&j).unwrap();
        assert_eq!(
            v["database"],
            Path::new("/srv/erp/anaf.db").display().to_string()
        );
        assert_eq!(v["ca_file"], "/etc/ca.pem");
        assert_eq!(v["log_file"], "C:\\ERP\\anaf.log");
        assert_eq!(v["cif"], "14399840");
    }

    #[test]
    fn text_that_is_not_an_object_is_left_for_the_library_to_judge() {
        assert_eq!(anchored("{not json", Path::new("/x")), "{not json");
        assert_eq!(anchored("[1]", Path::new("/x")), "[1]");
    }
}
