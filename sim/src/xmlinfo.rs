//! Just enough XML reading for the simulator: well-formedness, the root element, and
//! the text of elements by their path of local names (namespaces ignored).

use quick_xml::events::Event;
use quick_xml::Reader;

#[derive(Debug, Default)]
pub struct XmlInfo {
    pub root: String,
    /// (path of local names joined by '/', trimmed text), in document order.
    pub values: Vec<(String, String)>,
    /// (element local name, attribute local name, value), in document order.
    pub attrs: Vec<(String, String, String)>,
}

impl XmlInfo {
    /// The first value of attribute `attr` on an element named `element`.
    pub fn attr(&self, element: &str, attr: &str) -> Option<String> {
        self.attrs
            .iter()
            .find(|(e, a, _)| e == element && a == attr)
            .map(|(_, _, v)| v.clone())
    }

    /// The first value whose path ends with one of `suffixes`.
    pub fn first(&self, suffixes: &[&str]) -> Option<String> {
        for s in suffixes {
            if let Some((_, v)) = self
                .values
                .iter()
                .find(|(p, v)| !v.is_empty() && (p == s || p.ends_with(&format!("/{s}"))))
            {
                return Some(v.clone());
            }
        }
        None
    }
}

/// Parses the document; the error reads like the Java SAX parser's message that ANAF
/// returns ("lineNumber: …; columnNumber: …; …").
pub fn parse(bytes: &[u8]) -> Result<XmlInfo, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "Invalid byte 1 of 1-byte UTF-8 sequence at offset {}.",
            e.valid_up_to()
        )
    })?;
    let mut r = Reader::from_str(text);
    r.config_mut().check_end_names = true;
    let mut stack: Vec<String> = Vec::new();
    let mut info = XmlInfo::default();
    let mut current = String::new();
    let pos = |r: &Reader<&[u8]>| {
        let off = (r.buffer_position() as usize).min(text.len());
        let before = &text[..off];
        let line = before.matches('\n').count() + 1;
        let col = off - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
        (line, col)
    };
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                collect_attrs(&e, &name, &mut info.attrs);
                if stack.is_empty() {
                    if !info.root.is_empty() {
                        let (l, c) = pos(&r);
                        return Err(format!("lineNumber: {l}; columnNumber: {c}; The markup in the document following the root element must be well-formed."));
                    }
                    info.root = name.clone();
                }
                stack.push(name);
                current.clear();
            }
            Ok(Event::Empty(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                collect_attrs(&e, &name, &mut info.attrs);
                if stack.is_empty() && info.root.is_empty() {
                    info.root = name;
                }
            }
            Ok(Event::Text(t)) => {
                if let Ok(s) = t.xml_content(quick_xml::XmlVersion::default()) {
                    current.push_str(&s);
                }
            }
            Ok(Event::CData(t)) => current.push_str(&String::from_utf8_lossy(&t)),
            Ok(Event::GeneralRef(e)) => {
                let s = match e.as_ref() {
                    b"amp" => "&".to_string(),
                    b"lt" => "<".to_string(),
                    b"gt" => ">".to_string(),
                    b"quot" => "\"".to_string(),
                    b"apos" => "'".to_string(),
                    _ => e
                        .resolve_char_ref()
                        .ok()
                        .flatten()
                        .map(|c| c.to_string())
                        .unwrap_or_default(),
                };
                current.push_str(&s);
            }
            Ok(Event::End(_)) => {
                let path = stack.join("/");
                info.values.push((path, current.trim().to_string()));
                current.clear();
                stack.pop();
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                let (l, c) = pos(&r);
                return Err(format!("lineNumber: {l}; columnNumber: {c}; {e}"));
            }
        }
    }
    if info.root.is_empty() {
        return Err("lineNumber: 1; columnNumber: 1; Content is not allowed in prolog.".into());
    }
    if !stack.is_empty() {
        let (l, c) = pos(&r);
        return Err(format!(
            "lineNumber: {l}; columnNumber: {c}; XML document structures must start and end within the same entity."
        ));
    }
    Ok(info)
}

fn collect_attrs(
    e: &quick_xml::events::BytesStart<'_>,
    element: &str,
    out: &mut Vec<(String, String, String)>,
) {
    for a in e.attributes().flatten() {
        let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
        let val = a
            .normalized_value(quick_xml::XmlVersion::default())
            .map(|v| v.into_owned())
            .unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned());
        out.push((element.to_string(), key, val));
    }
}

/// "RO 14399840" / "RO14399840" / "14399840" → "14399840" (digits only, or None).
pub fn cif_digits(s: &str) -> Option<String> {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let t = t
        .strip_prefix("RO")
        .or_else(|| t.strip_prefix("ro"))
        .unwrap_or(&t)
        .to_string();
    (!t.is_empty() && t.len() <= 13 && t.bytes().all(|b| b.is_ascii_digit())).then_some(t)
}

/// The Romanian CIF control digit (key 753217532).
pub fn cif_valid(cif: &str) -> bool {
    const KEY: [u32; 9] = [7, 5, 3, 2, 1, 7, 5, 3, 2];
    if cif.len() < 2 || cif.len() > 10 || !cif.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let d: Vec<u32> = cif.bytes().map(|b| (b - b'0') as u32).collect();
    let (body, ctrl) = d.split_at(d.len() - 1);
    let sum: u32 = body
        .iter()
        .zip(&KEY[KEY.len() - body.len()..])
        .map(|(a, b)| a * b)
        .sum();
    let c = sum * 10 % 11;
    (if c == 10 { 0 } else { c }) == ctrl[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_paths_and_cifs() {
        let x = br#"<?xml version="1.0"?><Invoice xmlns:cac="a" xmlns:cbc="b"><cbc:ID>F 1</cbc:ID>
          <cac:AccountingSupplierParty><cac:Party><cac:PartyTaxScheme><cbc:CompanyID>RO14399840</cbc:CompanyID>
          </cac:PartyTaxScheme></cac:Party></cac:AccountingSupplierParty></Invoice>"#;
        let i = parse(x).unwrap();
        assert_eq!(i.root, "Invoice");
        assert_eq!(
            i.first(&["AccountingSupplierParty/Party/PartyTaxScheme/CompanyID"])
                .as_deref(),
            Some("RO14399840")
        );
        assert_eq!(i.first(&["Invoice/ID"]).as_deref(), Some("F 1"));
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"not xml").is_err());
        assert!(cif_valid("14399840") && cif_valid("8000000000") && !cif_valid("8000009"));
    }
}
