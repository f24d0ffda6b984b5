//! `stare`, the processing state `stareMesaj` answers, the same words in e-Factura and
//! e-Transport; decided here once instead of by comparing strings where it is used.

use serde::{Serialize, Serializer};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stare {
    /// `ok`: registered (e-Factura: the invoice is valid; e-Transport: the UIT is).
    Ok,
    /// `nok`: refused; ANAF's reasons are in the errors or behind `id_descarcare`.
    Nok,
    /// `in prelucrare`: not decided yet.
    InPrelucrare,
    /// `XML cu erori nepreluat de sistem`: refused before processing.
    XmlCuErori,
    /// A word this DLL does not know, kept as ANAF wrote it (taken as final).
    Other(String),
}

impl Stare {
    /// ANAF's word, in any case and spacing.
    pub fn parse(s: &str) -> Stare {
        let t = s.trim();
        let is = |w: &str| t.eq_ignore_ascii_case(w);
        if is("ok") {
            Stare::Ok
        } else if is("nok") {
            Stare::Nok
        } else if is("in prelucrare") {
            Stare::InPrelucrare
        } else if is("XML cu erori nepreluat de sistem") {
            Stare::XmlCuErori
        } else {
            Stare::Other(t.to_string())
        }
    }

    /// As ANAF writes it (what the journal and the ERP's JSON hold).
    pub fn as_str(&self) -> &str {
        match self {
            Stare::Ok => "ok",
            Stare::Nok => "nok",
            Stare::InPrelucrare => "in prelucrare",
            Stare::XmlCuErori => "XML cu erori nepreluat de sistem",
            Stare::Other(s) => s,
        }
    }

    pub fn is_ok(&self) -> bool {
        *self == Stare::Ok
    }

    pub fn is_pending(&self) -> bool {
        *self == Stare::InPrelucrare
    }

    /// No further change is coming.
    pub fn is_final(&self) -> bool {
        !self.is_pending()
    }
}

impl fmt::Display for Stare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Stare {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for Stare {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anafs_words_in_any_case_and_unknown_ones_kept() {
        assert_eq!(Stare::parse(" OK "), Stare::Ok);
        assert_eq!(Stare::parse("In Prelucrare"), Stare::InPrelucrare);
        assert!(Stare::parse("in prelucrare").is_pending());
        assert!(Stare::parse("XML cu erori nepreluat de sistem").is_final());
        let other = Stare::parse("suspendat");
        assert_eq!(other, Stare::Other("suspendat".into()));
        assert!(other.is_final() && !other.is_ok());
        assert_eq!(
            serde_json::to_string(&Stare::parse("nok")).unwrap(),
            "\"nok\""
        );
    }
}
