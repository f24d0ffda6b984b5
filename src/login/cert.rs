//! Choosing the login certificate by its serial number, the same way on every platform.
//!
//! Windows shows a serial as "1a 2b 3c" or "00 1A 2B 3C", ERP users type it with spaces,
//! colons, lower case or a leading zero byte (DER adds one when the first bit is set):
//! serials are compared as hex digits only, upper case, without leading zeros.

use crate::error::Error;
use crate::status::ANAF_ERR_CERT_NOT_FOUND;

pub use crate::config::{comparable_serial as comparable, same_serial};

/// What to do when the server asks for a client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Send the certificate at this index of the offered list.
    Use(usize),
    /// Let the platform decide (WebView2's own picker), because nothing is configured
    /// and more than one certificate is offered.
    Ask,
    /// A serial is configured and no offered certificate has it.
    NotFound,
}

/// The rule of the issue: the certificate whose serial matches the configured one; with
/// no serial configured, the only certificate offered, else the platform's picker.
/// A configured serial that matches nothing is an error, never a silent other choice.
pub fn choose(configured: Option<&str>, offered: &[String]) -> Choice {
    match configured {
        Some(want) => match offered.iter().position(|s| same_serial(s, want)) {
            Some(i) => Choice::Use(i),
            None => Choice::NotFound,
        },
        None if offered.len() == 1 => Choice::Use(0),
        None => Choice::Ask,
    }
}

/// The error for a configured serial that none of the offered certificates has,
/// listing what was offered so the accountant can correct the serial in the ERP.
pub fn not_found_error(configured: &str, offered: &[String]) -> Error {
    let list: Vec<String> = offered.iter().map(|s| display(s)).collect();
    let configured = display(configured);
    if list.is_empty() {
        Error::with(
            ANAF_ERR_CERT_NOT_FOUND,
            format!(
                "Seria configurată: {configured}. Nu a fost oferit niciun certificat: stick-ul cu semnătura nu este conectat, driverul lui nu este instalat sau (pe Remote Desktop) smart card-urile nu sunt redirecționate."
            ),
            format!(
                "Configured serial: {configured}. No certificate was offered: the USB token is not plugged in, its driver is not installed or (on Remote Desktop) smart cards are not redirected."
            ),
        )
    } else {
        let offered = list.join(", ");
        Error::with(
            ANAF_ERR_CERT_NOT_FOUND,
            format!("Seria configurată: {configured}. Certificate disponibile: {offered}."),
            format!("Configured serial: {configured}. Certificates offered: {offered}."),
        )
    }
}

/// A serial as shown to people: upper-case hex without separators.
pub fn display(serial: &str) -> String {
    serial
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The serial number of a DER X.509 certificate, as upper-case hex (the INTEGER's
/// content bytes, so a leading 00 byte is kept as DER has it).
pub fn serial_of_der(der: &[u8]) -> Option<String> {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber INTEGER, ... } ... }
    let (tag, cert, _) = der_item(der)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, tbs, _) = der_item(cert)?;
    if tag != 0x30 {
        return None;
    }
    let (mut tag, mut body, mut rest) = der_item(tbs)?;
    if tag == 0xA0 {
        (tag, body, rest) = der_item(rest)?;
    }
    let _ = rest;
    if tag != 0x02 || body.is_empty() {
        return None;
    }
    Some(hex::encode_upper(body))
}

/// One DER item: (tag, content, what follows it).
fn der_item(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)? as usize;
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *input.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    if end > input.len() {
        return None;
    }
    Some((tag, &input[header..end], &input[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_compare_like_people_write_them() {
        assert!(same_serial("00 1a:2B 3c", "1A2B3C"));
        assert!(same_serial("1a2b3c", "001A2B3C"));
        assert!(!same_serial("1A2B3D", "1A2B3C"));
        assert!(!same_serial("", ""));
        assert_eq!(comparable("00"), "0");
    }

    #[test]
    fn choice_rules() {
        let offered = vec!["00AB".to_string(), "CD".to_string()];
        assert_eq!(choose(Some("ab"), &offered), Choice::Use(0));
        assert_eq!(choose(Some("c d"), &offered), Choice::Use(1));
        assert_eq!(choose(Some("EF"), &offered), Choice::NotFound);
        assert_eq!(choose(Some("EF"), &[]), Choice::NotFound);
        assert_eq!(choose(None, &offered), Choice::Ask);
        assert_eq!(choose(None, &offered[..1]), Choice::Use(0));
    }

    #[test]
    fn not_found_lists_the_offered_serials() {
        let e = not_found_error("EF", &["00ab".into(), "CD".into()]);
        assert_eq!(e.status, ANAF_ERR_CERT_NOT_FOUND);
        let en = e.message(crate::status::Lang::En);
        assert!(en.contains("00AB, CD"), "{en}");
        assert!(en.contains("EF"));
        let e = not_found_error("EF", &[]);
        assert!(e
            .message(crate::status::Lang::Ro)
            .contains("nu este conectat"));
    }

    #[test]
    fn serial_from_a_der_certificate() {
        // SEQUENCE { SEQUENCE { [0] { INTEGER 2 }, INTEGER 0x00C1F0, ... }, ... }
        let tbs_inner = [
            0xA0, 0x03, 0x02, 0x01, 0x02, // version v3
            0x02, 0x03, 0x00, 0xC1, 0xF0, // serial
            0x30, 0x00, // (algorithm, truncated)
        ];
        let mut tbs = vec![0x30, tbs_inner.len() as u8];
        tbs.extend_from_slice(&tbs_inner);
        let mut cert = vec![0x30, tbs.len() as u8];
        cert.extend_from_slice(&tbs);
        assert_eq!(serial_of_der(&cert).as_deref(), Some("00C1F0"));
        assert!(serial_of_der(&cert[..5]).is_none());
        assert!(serial_of_der(b"not der").is_none());
    }
}
