//! The error type every layer returns: a stable status code plus detail in both languages.
//!
//! The detail keeps whatever the other side said (ANAF's own message, the SQLite error)
//! so that support can tell causes apart; the status code says what kind of failure it is.

use crate::status::{self, Lang};
use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    pub status: i32,
    detail_ro: Option<String>,
    detail_en: Option<String>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with only the general message of its status.
    pub fn new(status: i32) -> Self {
        Error {
            status,
            detail_ro: None,
            detail_en: None,
        }
    }

    /// An error with detail written in both languages.
    pub fn with(status: i32, ro: impl Into<String>, en: impl Into<String>) -> Self {
        Error {
            status,
            detail_ro: Some(ro.into()),
            detail_en: Some(en.into()),
        }
    }

    /// An error whose detail is the same in both languages (a server's own text, a path).
    pub fn verbatim(status: i32, detail: impl Into<String>) -> Self {
        let d = detail.into();
        Error {
            status,
            detail_ro: Some(d.clone()),
            detail_en: Some(d),
        }
    }

    /// The full message: the general meaning of the status, then the detail.
    pub fn message(&self, lang: Lang) -> String {
        let general = status::message(self.status, lang);
        let detail = match lang {
            Lang::Ro => self.detail_ro.as_deref(),
            Lang::En => self.detail_en.as_deref(),
        };
        match detail {
            Some(d) if !d.is_empty() => format!("{general} {d}"),
            _ => general.to_string(),
        }
    }

    /// The detail alone (no general sentence), in the given language.
    pub fn detail(&self, lang: Lang) -> Option<&str> {
        match lang {
            Lang::Ro => self.detail_ro.as_deref(),
            Lang::En => self.detail_en.as_deref(),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}({}): {}",
            status::name(self.status),
            self.status,
            self.message(Lang::En)
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::*;

    #[test]
    fn message_joins_general_and_detail() {
        let e = Error::with(ANAF_ERR_FILE, "Fișier: a.xml", "File: a.xml");
        assert!(e.message(Lang::Ro).starts_with("Fișierul nu poate"));
        assert!(e.message(Lang::Ro).ends_with("Fișier: a.xml"));
        assert!(e.message(Lang::En).ends_with("File: a.xml"));
        assert_eq!(
            Error::new(ANAF_ERR_TIMEOUT).message(Lang::En),
            "The operation timed out."
        );
    }
}
