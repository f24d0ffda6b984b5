//! The optional log file: what the DLL did and why, for the ERP's support people.
//! Rotated by size; anything that looks like a token or secret is masked before writing.

use once_cell::sync::Lazy;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const MAX_BYTES: u64 = 5 * 1024 * 1024;
const KEEP: usize = 3;

struct Sink {
    path: PathBuf,
    file: Option<File>,
    written: u64,
}

static SINK: Lazy<Mutex<Option<Sink>>> = Lazy::new(|| Mutex::new(None));
static SECRETS: Lazy<Mutex<Vec<String>>> = Lazy::new(|| Mutex::new(Vec::new()));

struct Logger;

impl ::log::Log for Logger {
    fn enabled(&self, _: &::log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &::log::Record) {
        if !record.target().starts_with("anaf") {
            return;
        }
        let line = format!(
            "{} {:5} {}: {}\n",
            chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f"),
            record.level(),
            record.target(),
            record.args()
        );
        write_line(&redact(&line));
    }
    fn flush(&self) {}
}

static LOGGER: Logger = Logger;

/// Sends the log to `path` (the first client that names a file wins; later ones append there too).
pub fn init(path: &Path) {
    let mut sink = SINK.lock().unwrap_or_else(|p| p.into_inner());
    if sink.is_none() {
        let written = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        *sink = Some(Sink {
            path: path.to_path_buf(),
            file: None,
            written,
        });
        if ::log::set_logger(&LOGGER).is_ok() {
            ::log::set_max_level(::log::LevelFilter::Debug);
        }
    }
}

/// Registers a secret (client secret, PIN, a token) that must never appear in the log:
/// from now on [`redact`] writes `***` wherever it occurs (six characters or more, so a
/// short value does not mask ordinary words).
pub fn mask_in_log(secret: &str) {
    if secret.len() >= 6 {
        let mut s = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
        if !s.iter().any(|x| x == secret) {
            s.push(secret.to_string());
        }
    }
}

/// Masks registered secrets, JWTs and `Bearer`/`code=`/`refresh_token=` values.
pub fn redact(line: &str) -> String {
    let mut out = line.to_string();
    for s in SECRETS.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        out = out.replace(s.as_str(), "***");
    }
    // JWTs: three base64url parts starting with "eyJ".
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(i) = rest.find("eyJ") {
        result.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .unwrap_or(tail.len());
        if tail[..end].matches('.').count() >= 2 {
            result.push_str("eyJ***");
        } else {
            result.push_str(&tail[..end]);
        }
        rest = &tail[end..];
    }
    result.push_str(rest);
    let mut result = without_url_credentials(&result);
    for key in [
        "code=",
        "refresh_token=",
        "access_token=",
        "client_secret=",
        "Bearer ",
    ] {
        result = mask_after(&result, key);
    }
    for key in SECRET_JSON_KEYS {
        result = mask_json_value(&result, key);
    }
    result
}

/// JSON members whose string value is a secret, whatever its shape (not only a JWT).
const SECRET_JSON_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "client_secret",
    "code",
    "token_key",
    "token_key_previous",
    "retrieval_secret",
    "private_key",
    "client_cert_password",
    "relay_key",
];

/// `"key": "value"` → `"key": "***"` (spaces around the colon allowed, escapes skipped).
fn mask_json_value(line: &str, key: &str) -> String {
    let quoted = format!("\"{key}\"");
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(&quoted) {
        let after = &rest[i + quoted.len()..];
        let value_at = after
            .trim_start()
            .strip_prefix(':')
            .map(str::trim_start)
            .filter(|v| v.starts_with('"'));
        let Some(value) = value_at else {
            out.push_str(&rest[..i + quoted.len()]);
            rest = after;
            continue;
        };
        let head = after.len() - value.len() + 1;
        out.push_str(&rest[..i + quoted.len() + head]);
        let body = &value[1..];
        let mut end = body.len();
        let mut escaped = false;
        for (j, c) in body.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = j;
                    break;
                }
                _ => {}
            }
        }
        if end > 0 {
            out.push_str("***");
        }
        rest = &body[end..];
    }
    out.push_str(rest);
    out
}

/// `scheme://user:password@host` → `scheme://***@host`: proxy URLs from `HTTPS_PROXY` or
/// the Windows settings carry their credentials that way.
pub fn without_url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        let tail = &rest[i + 3..];
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'' || c == ',')
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&tail[at..end]);
            }
            None => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn mask_after(line: &str, key: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        let tail = &rest[i + key.len()..];
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '&' || c == '"' || c == ',')
            .unwrap_or(tail.len());
        if end > 0 {
            out.push_str("***");
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn write_line(line: &str) {
    let mut guard = SINK.lock().unwrap_or_else(|p| p.into_inner());
    let Some(sink) = guard.as_mut() else { return };
    if sink.written + line.len() as u64 > MAX_BYTES {
        sink.file = None;
        rotate(&sink.path);
        sink.written = 0;
    }
    if sink.file.is_none() {
        sink.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&sink.path)
            .ok();
    }
    if let Some(f) = sink.file.as_mut() {
        if f.write_all(line.as_bytes()).is_ok() {
            sink.written += line.len() as u64;
        }
    }
}

fn rotated(path: &Path, n: usize) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(format!(".{n}"));
    PathBuf::from(p)
}

fn rotate(path: &Path) {
    let _ = fs::remove_file(rotated(path, KEEP));
    for n in (1..KEEP).rev() {
        let _ = fs::rename(rotated(path, n), rotated(path, n + 1));
    }
    let _ = fs::rename(path, rotated(path, 1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_masked() {
        assert_eq!(
            redact("proxy https=Some(\"http://ana:Parola1@proxy.firma.local:3128\") bypass"),
            "proxy https=Some(\"http://***@proxy.firma.local:3128\") bypass"
        );
        assert_eq!(
            without_url_credentials("http://proxy:3128/x"),
            "http://proxy:3128/x"
        );
        assert_eq!(
            without_url_credentials("a https://u@h/p and socks5://x:y@z:1"),
            "a https://***@h/p and socks5://***@z:1"
        );
    }

    #[test]
    fn redaction_masks_tokens_and_secrets() {
        mask_in_log("s3cr3t-value");
        let line = "secret s3cr3t-value jwt eyJhbGc.eyJzdWIi.sig Bearer abc code=XYZ&state=1";
        let r = redact(line);
        assert!(!r.contains("s3cr3t-value"));
        assert!(!r.contains("eyJzdWIi"));
        assert!(!r.contains("abc"));
        assert!(!r.contains("XYZ"));
        assert!(r.contains("state=1"));
        let json = r#"{"access_token":"opaque-1","refresh_token" : "op\"aque-2","code": "c0de","cif":"14399840","note":"code"}"#;
        let r = redact(json);
        assert!(
            !r.contains("opaque") && !r.contains("aque-2") && !r.contains("c0de"),
            "{r}"
        );
        assert!(
            r.contains(r#""cif":"14399840""#) && r.contains(r#""note":"code""#),
            "{r}"
        );
    }

    #[test]
    fn rotation_names() {
        assert_eq!(
            rotated(Path::new("/a/b.log"), 2),
            PathBuf::from("/a/b.log.2")
        );
    }
}
