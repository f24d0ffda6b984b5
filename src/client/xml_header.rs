//! The XML root of ANAF's upload and status answers:
//! `<header xmlns="…" attr…><Errors errorMessage="…"/>…</header>`.

use super::answer::{self, Reply};
use crate::error::Result;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use std::collections::BTreeMap;

/// The root of an upload or status answer: its attributes and its `Errors` messages.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct XmlHeader {
    pub namespace: String,
    pub attrs: BTreeMap<String, String>,
    pub errors: Vec<String>,
}

/// Parses `<header xmlns="…" attr…><Errors errorMessage="…"/>…</header>`, checking the
/// namespace so that another XML (or a proxy's page) is never taken for an answer.
pub fn parse_header(reply: &Reply, namespace: &str) -> Result<XmlHeader> {
    let bad = |why: &str| answer::bad_response("XML", reply, why);
    let body = reply
        .body
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&reply.body);
    let mut r = NsReader::from_reader(body);
    let mut buf = Vec::new();
    let mut out: Option<XmlHeader> = None;
    let mut depth = 0usize;
    loop {
        let (ns, ev) = r
            .read_resolved_event_into(&mut buf)
            .map_err(|e| bad(&e.to_string()))?;
        let ns_text = match ns {
            ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
            _ => String::new(),
        };
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let mut attrs = BTreeMap::new();
                for a in e.attributes() {
                    let a = a.map_err(|er| bad(&er.to_string()))?;
                    let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
                    let val = a
                        .normalized_value(quick_xml::XmlVersion::default())
                        .map_err(|er| bad(&er.to_string()))?
                        .into_owned();
                    attrs.insert(key, val);
                }
                if depth == 0 {
                    if local != "header" || ns_text != namespace {
                        return Err(bad(&format!(
                            "rădăcina este {{{ns_text}}}{local}, nu {{{namespace}}}header"
                        )));
                    }
                    out = Some(XmlHeader {
                        namespace: ns_text,
                        attrs,
                        errors: Vec::new(),
                    });
                } else if local == "Errors" {
                    if let (Some(h), Some(m)) = (out.as_mut(), attrs.get("errorMessage")) {
                        h.errors.push(m.clone());
                    }
                }
                if matches!(ev, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    out.ok_or_else(|| bad("fără element rădăcină / no root element"))
}

// ---------------------------------------------------------------------------------------
// Upload.
