//! The checks of a call's arguments, made before anything goes on the network: the
//! document's size and well-formedness, CIFs, ANAF ids, day counts and list filters.

use crate::error::{Error, Result};
use crate::status::*;
use quick_xml::events::Event;

/// An argument the caller got wrong (ANAF_ERR_INVALID_ARGUMENT), in both languages.
pub(crate) fn invalid(ro: impl AsRef<str>, en: impl AsRef<str>) -> Error {
    Error::with(ANAF_ERR_INVALID_ARGUMENT, ro.as_ref(), en.as_ref())
}

/// Checks size and well-formedness: one root element, matching tags, valid attributes.
pub fn check_xml(data: &[u8], max: usize) -> Result<()> {
    if data.len() > max {
        let bytes = data.len();
        let max_mb = max / 1024 / 1024;
        return Err(Error::with(
            ANAF_ERR_TOO_LARGE,
            format!("Documentul are {bytes} octeți; limita este {max_mb} MB."),
            format!("The document has {bytes} bytes; the limit is {max_mb} MB."),
        ));
    }
    let not_xml =
        |why: String| Error::with(ANAF_ERR_NOT_XML, format!("({why})"), format!("({why})"));
    if data.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(not_xml("document gol / empty document".into()));
    }
    // ANAF takes UTF-8 only; quick-xml reads bytes it does not decode, so bad sequences
    // (stray bytes, truncated or overlong forms) would reach ANAF and come back rejected.
    if let Err(e) = std::str::from_utf8(data) {
        let byte = e.valid_up_to();
        return Err(not_xml(format!(
            "UTF-8 invalid la octetul {byte} / invalid UTF-8 at byte {byte}"
        )));
    }
    // A slice reader borrows the events from `data`: no copy into a buffer.
    let mut reader = quick_xml::Reader::from_reader(data);
    reader.config_mut().check_end_names = true;
    let mut depth: usize = 0;
    let mut roots = 0;
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| not_xml(format!("{e} @ {pos}")))?;
        match ev {
            Event::Start(_) | Event::Empty(_) if depth == 0 && roots > 0 => {
                return Err(not_xml(format!(
                    "a doua rădăcină / a second root element @ {pos}"
                )));
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                for a in e.attributes() {
                    a.map_err(|err| not_xml(format!("{err} @ {pos}")))?;
                }
                if depth == 0 {
                    roots += 1;
                }
                if matches!(ev, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(ref t)
                if depth == 0
                    && !t.iter().all(|b| {
                        b.is_ascii_whitespace() || *b == 0xEF || *b == 0xBB || *b == 0xBF
                    }) =>
            {
                return Err(not_xml(format!(
                    "text în afara rădăcinii / text outside the root @ {pos}"
                )));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if roots == 0 {
        return Err(not_xml("niciun element / no element".into()));
    }
    if depth != 0 {
        return Err(not_xml("document trunchiat / truncated document".into()));
    }
    Ok(())
}

/// A CIF argument: digits only, no RO prefix, valid control digit.
pub fn check_cif(cif: &str) -> Result<String> {
    crate::config::normalize_cif(cif).map_err(|e| {
        Error::with(
            ANAF_ERR_INVALID_ARGUMENT,
            e.detail(crate::status::Lang::Ro)
                .unwrap_or_default()
                .to_string(),
            e.detail(crate::status::Lang::En)
                .unwrap_or_default()
                .to_string(),
        )
    })
}

/// The CIF a call is for: the one the ERP passed, checked, or else the configured one.
pub fn cif_or(over: Option<&str>, configured: &str) -> Result<String> {
    over.map_or_else(|| Ok(configured.to_string()), check_cif)
}

/// An ANAF id (index de încărcare, id de descărcare): digits only.
pub fn check_id(id: &str, name: &str) -> Result<String> {
    let t = id.trim();
    if t.is_empty() || t.len() > 20 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            format!("„{name}” = „{t}” nu este un număr (doar cifre)."),
            format!("\"{name}\" = \"{t}\" is not a number (digits only)."),
        ));
    }
    Ok(t.to_string())
}

pub fn check_days(zile: i64) -> Result<u32> {
    if !(1..=60).contains(&zile) {
        return Err(invalid(
            format!("„zile” = {zile}: ANAF acceptă între 1 și 60 de zile."),
            format!("\"zile\" = {zile}: ANAF accepts 1 to 60 days."),
        ));
    }
    Ok(zile as u32)
}

/// The `filtru` of e-Factura's message lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// E: the error answers to uploads.
    Errors,
    /// T: the invoices sent.
    Sent,
    /// P: the invoices received.
    Received,
    /// R: the buyer's messages.
    BuyerMessages,
}

impl Filter {
    /// The ERP's letter (any case, blank for none); anything else is a clear error.
    pub fn parse(f: Option<&str>) -> Result<Option<Filter>> {
        let Some(s) = f.map(|s| s.trim().to_ascii_uppercase()) else {
            return Ok(None);
        };
        Ok(Some(match s.as_str() {
            "" => return Ok(None),
            "E" => Filter::Errors,
            "T" => Filter::Sent,
            "P" => Filter::Received,
            "R" => Filter::BuyerMessages,
            _ => return Err(invalid(
                format!("„filtru” = „{s}”: valorile permise sunt E (erori), T (trimise), P (primite), R (mesaje cumpărător)."),
                format!("\"filtru\" = \"{s}\": allowed values are E (errors), T (sent), P (received), R (buyer messages)."),
            )),
        }))
    }

    /// The letter ANAF takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Filter::Errors => "E",
            Filter::Sent => "T",
            Filter::Received => "P",
            Filter::BuyerMessages => "R",
        }
    }
}
