//! What an ANAF answer means, shared by every service: the firewall's HTML page where
//! XML/JSON/PDF was expected, 401/403, 429, daily-quota texts, 5xx, ANAF's own error
//! messages. Every error keeps ANAF's own words in its detail.

use crate::error::{Error, Result};
use crate::status::*;
use std::time::Duration;

/// An HTTP answer, read whole (at most `http::MAX_ANSWER`: a ZIP or PDF is a few MB).
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text (lossy), for parsers and messages.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(strip_bom(&self.body))
    }
}

fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
}

/// The first bytes of a body, without leading whitespace and BOM, lower-cased.
fn head(body: &[u8], n: usize) -> String {
    let b = strip_bom(body);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = (start + n).min(b.len());
    String::from_utf8_lossy(&b[start..end]).to_ascii_lowercase()
}

/// True when the body is an HTML page (the WAF's "Request Rejected", a proxy or
/// maintenance page) rather than ANAF's XML, JSON, ZIP or PDF.
pub fn is_html(content_type: &str, body: &[u8]) -> bool {
    let h = head(body, 512);
    if h.starts_with("<!doctype html") || h.starts_with("<html") {
        return true;
    }
    if h.starts_with('<') && !h.starts_with("<?xml") && h.contains("<html") {
        return true;
    }
    let ct = content_type.to_ascii_lowercase();
    ct.starts_with("text/html")
        && !h.starts_with('{')
        && !h.starts_with("<?xml")
        && !h.starts_with("%pdf")
        && !h.starts_with("pk")
}

/// A short, readable summary of an HTML page: its title and the start of its text
/// (the WAF page's support ID is in there, which ANAF's helpdesk asks for).
pub fn html_summary(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut in_tag = false;
    let mut tag = String::new();
    let mut skip = false;
    for c in text.chars() {
        match c {
            '<' => {
                in_tag = true;
                tag.clear();
            }
            '>' if in_tag => {
                in_tag = false;
                let t = tag.to_ascii_lowercase();
                let name = t
                    .trim_start_matches('/')
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string();
                if name == "script" || name == "style" {
                    skip = !t.starts_with('/');
                }
                if matches!(
                    name.as_str(),
                    "br" | "p" | "div" | "title" | "tr" | "li" | "h1" | "h2"
                ) {
                    out.push(' ');
                }
            }
            _ if in_tag => tag.push(c),
            _ if skip => {}
            _ => out.push(c),
        }
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    clip(&collapsed, 300)
}

/// At most `n` characters of `s`, with an ellipsis when cut.
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

fn fold(s: &str) -> String {
    s.to_lowercase()
        .replace(['ă', 'â'], "a")
        .replace('î', "i")
        .replace(['ș', 'ş'], "s")
        .replace(['ț', 'ţ'], "t")
}

/// ANAF's daily-limit answers: "S-au facut deja 10 descarcari de mesaj in cursul zilei",
/// "S-au incarcat deja 1000 de mesaje de tip RASP ...", "S-au facut deja 100 de verificari ...".
pub fn is_quota_text(msg: &str) -> bool {
    let m = fold(msg);
    m.contains("s-au facut deja")
        || m.contains("s-au incarcat deja")
        || (m.contains("limita") && m.contains("zilnic"))
}

/// "Nu exista mesaje in ultimele N zile" / "... in intervalul selectat": an empty list.
pub fn is_no_messages_text(msg: &str) -> bool {
    fold(msg).trim_start().starts_with("nu exista mesaje")
}

/// "Nu aveti drept in SPV pentru CIF=..." / "Nu exista niciun CIF pentru care sa aveti drept".
pub fn is_no_right_text(msg: &str) -> bool {
    let m = fold(msg);
    m.contains("nu aveti drept") || m.contains("nu exista niciun cif")
}

/// The error for ANAF's own messages that came with an answer: a quota text, a missing
/// right on the CIF, or a rejection; the messages are kept verbatim.
pub fn anaf_messages_error(messages: &[String]) -> Error {
    let joined = if messages.is_empty() {
        "(ANAF nu a trimis niciun mesaj / ANAF sent no message)".to_string()
    } else {
        messages.join(" | ")
    };
    let status = if messages.iter().any(|m| is_quota_text(m)) {
        ANAF_ERR_QUOTA_EXCEEDED
    } else if messages.iter().any(|m| is_no_right_text(m)) {
        ANAF_ERR_UNAUTHORIZED
    } else {
        ANAF_ERR_REJECTED
    };
    Error::verbatim(status, format!("ANAF: {joined}"))
}

/// The message of ANAF's JSON error bodies (`message`, `eroare`, `msg`, `error_description`,
/// `Errors[].errorMessage`, `Messages[].message`), if the body is one.
pub fn json_error_text(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(strip_bom(body)).ok()?;
    for key in ["eroare", "message", "msg", "error_description"] {
        if let Some(s) = v.get(key).and_then(|x| x.as_str()) {
            if !s.trim().is_empty() {
                return Some(s.to_string());
            }
        }
    }
    for (list, key) in [("Errors", "errorMessage"), ("Messages", "message")] {
        if let Some(arr) = v.get(list).and_then(|x| x.as_array()) {
            let msgs: Vec<&str> = arr
                .iter()
                .filter_map(|e| e.get(key).and_then(|m| m.as_str()))
                .collect();
            if !msgs.is_empty() {
                return Some(msgs.join(" | "));
            }
        }
    }
    v.get("error").and_then(|x| x.as_str()).map(str::to_string)
}

fn body_hint(reply: &Reply) -> String {
    json_error_text(&reply.body).unwrap_or_else(|| clip(reply.text().trim(), 200))
}

/// The checks every answer goes through before its own parser: HTML page, 401/403, 429,
/// 5xx and other HTTP errors. `Ok` means a 2xx that is not HTML.
pub fn check_http(reply: &Reply) -> Result<()> {
    let s = reply.status;
    let html = is_html(&reply.content_type, &reply.body);
    let hint = if html {
        html_summary(&reply.body)
    } else {
        body_hint(reply)
    };
    let with_hint = |status: i32| {
        if hint.is_empty() {
            Error::verbatim(status, format!("(HTTP {s})"))
        } else {
            Error::verbatim(status, format!("(HTTP {s}) ANAF: {hint}"))
        }
    };
    match s {
        401 | 403 => return Err(with_hint(ANAF_ERR_UNAUTHORIZED)),
        429 => return Err(with_hint(ANAF_ERR_RATE_LIMITED)),
        // Gateways answer 5xx with HTML pages of their own: still a server error.
        500..=599 => return Err(with_hint(ANAF_ERR_HTTP)),
        _ => {}
    }
    if html {
        return Err(Error::with(
            ANAF_ERR_HTML_RESPONSE,
            format!("HTTP {s}; pagina: {hint}"),
            format!("HTTP {s}; page: {hint}"),
        ));
    }
    if (200..300).contains(&s) {
        return Ok(());
    }
    Err(match s {
        400 if is_quota_text(&hint) => with_hint(ANAF_ERR_QUOTA_EXCEEDED),
        400 => with_hint(ANAF_ERR_REJECTED),
        _ => with_hint(ANAF_ERR_HTTP),
    })
}

/// Parses a JSON answer, or says clearly that it is not one.
pub fn json(reply: &Reply) -> Result<serde_json::Value> {
    serde_json::from_slice(strip_bom(&reply.body))
        .map_err(|e| bad_response("JSON", reply, &e.to_string()))
}

/// ANAF answered 2xx with something that is not what the call returns.
pub fn bad_response(expected: &str, reply: &Reply, why: &str) -> Error {
    let snippet = clip(reply.text().trim(), 200);
    let status = reply.status;
    let content_type = &reply.content_type;
    Error::with(
        ANAF_ERR_BAD_RESPONSE,
        format!(
            "Se aștepta {expected} ({why}); a venit (HTTP {status}, {content_type}): {snippet}"
        ),
        format!("Expected {expected} ({why}); got (HTTP {status}, {content_type}): {snippet}"),
    )
}

/// What happened to a request that got no HTTP answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetFailure {
    /// The connection was never made: the request certainly did not reach ANAF.
    NotSent,
    /// The request may have reached ANAF (timeout, reset after sending).
    Unknown,
}

/// Maps a reqwest failure to a status, keeping its text, and says whether the request
/// may have reached the server.
pub fn network_error(e: &reqwest::Error) -> (Error, NetFailure) {
    let chain = super::http::error_chain(e);
    let tls = super::http::is_tls(&chain);
    if e.is_timeout() {
        let (ro, en) = if e.is_connect() {
            (
                "Conexiunea nu s-a putut stabili la timp",
                "The connection could not be made in time",
            )
        } else {
            ("ANAF nu a răspuns la timp", "ANAF did not answer in time")
        };
        let failure = if e.is_connect() {
            NetFailure::NotSent
        } else {
            NetFailure::Unknown
        };
        return (
            Error::with(
                ANAF_ERR_TIMEOUT,
                format!("{ro} ({chain})."),
                format!("{en} ({chain})."),
            ),
            failure,
        );
    }
    if e.is_connect() {
        let status = if tls { ANAF_ERR_TLS } else { ANAF_ERR_NETWORK };
        return (
            Error::verbatim(status, format!("({chain})")),
            NetFailure::NotSent,
        );
    }
    (
        Error::verbatim(ANAF_ERR_NETWORK, format!("({chain})")),
        NetFailure::Unknown,
    )
}

/// The Retry-After header in seconds, if any.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Lang;

    fn reply(status: u16, ct: &str, body: &str) -> Reply {
        Reply {
            status,
            content_type: ct.into(),
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    const WAF: &str = "<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. Please consult with your administrator.<br><br>Your support ID is: 1234567890123456789<br><br><a href='javascript:history.back();'>[Go Back]</a></body></html>";

    #[test]
    fn waf_page_is_html_even_with_200_and_xml_type() {
        let r = reply(200, "application/xml", WAF);
        let e = check_http(&r).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_HTML_RESPONSE);
        assert!(
            e.message(Lang::En)
                .contains("support ID is: 1234567890123456789"),
            "{e:?}"
        );
        assert!(!e.message(Lang::En).contains("<br>"));
        assert!(is_html(
            "text/html; charset=utf-8",
            b"\n  <!DOCTYPE HTML><p>x"
        ));
        // A gateway's HTML error page is a server error, not the WAF.
        let gw = reply(503, "text/html", "<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>");
        let e = check_http(&gw).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_HTTP);
        assert!(
            e.message(Lang::En).contains("503 Service Unavailable"),
            "{e:?}"
        );
    }

    #[test]
    fn xml_json_pdf_zip_are_not_html() {
        assert!(!is_html(
            "application/xml",
            b"<?xml version=\"1.0\"?><header/>"
        ));
        assert!(!is_html("text/html", b"{\"eroare\":\"x\"}"));
        assert!(!is_html("text/html", b"%PDF-1.4"));
        assert!(!is_html("application/octet-stream", b"PK\x03\x04"));
        assert!(!is_html("application/xml", b"<header xmlns=\"mfp\"/>"));
    }

    #[test]
    fn http_statuses_map_to_distinct_codes() {
        assert_eq!(
            check_http(&reply(401, "", "")).unwrap_err().status,
            ANAF_ERR_UNAUTHORIZED
        );
        assert_eq!(
            check_http(&reply(403, "", "")).unwrap_err().status,
            ANAF_ERR_UNAUTHORIZED
        );
        assert_eq!(
            check_http(&reply(429, "", "")).unwrap_err().status,
            ANAF_ERR_RATE_LIMITED
        );
        let e = check_http(&reply(
            503,
            "application/json",
            r#"{"message":"Service Unavailable"}"#,
        ))
        .unwrap_err();
        assert_eq!(e.status, ANAF_ERR_HTTP);
        assert!(
            e.message(Lang::Ro).contains("Service Unavailable")
                && e.message(Lang::Ro).contains("503")
        );
        let e = check_http(&reply(
            400,
            "application/json",
            r#"{"timestamp":"19-08-2021 11:01:56","status":400,"error":"Bad Request","message":"Parametrul id_incarcare este obligatoriu"}"#,
        ))
        .unwrap_err();
        assert_eq!(e.status, ANAF_ERR_REJECTED);
        assert!(e
            .message(Lang::En)
            .contains("Parametrul id_incarcare este obligatoriu"));
        assert!(check_http(&reply(200, "application/json", "{}")).is_ok());
    }

    #[test]
    fn anaf_texts_are_recognised() {
        assert!(is_quota_text(
            "S-au facut deja 10 descarcari de mesaj in cursul zilei"
        ));
        assert!(is_quota_text(
            "S-au incarcat deja 1000 de mesaje de tip RASP pentru cui=1234 in cursul zilei"
        ));
        assert!(is_quota_text(
            "S-au facut deja 100 de verificari, pentru id-incarcare solicitat, in cursul zilei"
        ));
        assert!(!is_quota_text("Nu exista factura cu id_incarcare= 15000"));
        assert!(is_no_messages_text("Nu exista mesaje in ultimele 15 zile"));
        assert!(is_no_messages_text(
            "Nu exista mesaje in intervalul selectat"
        ));
        assert!(!is_no_messages_text(
            "Nu exista niciun CIF pentru care sa aveti drept in SPV"
        ));
        let e = anaf_messages_error(&["Nu aveti drept in SPV pentru CIF=1234".into()]);
        assert_eq!(e.status, ANAF_ERR_UNAUTHORIZED);
        let e =
            anaf_messages_error(&["S-au facut deja 20 descarcari de mesaj in cursul zilei".into()]);
        assert_eq!(e.status, ANAF_ERR_QUOTA_EXCEEDED);
        assert!(e.message(Lang::Ro).contains("S-au facut deja 20"));
        let e = anaf_messages_error(&["A aparut o eroare tehnica. Cod: XXX".into(), "b".into()]);
        assert_eq!(e.status, ANAF_ERR_REJECTED);
        assert!(e
            .message(Lang::En)
            .ends_with("A aparut o eroare tehnica. Cod: XXX | b"));
    }

    #[test]
    fn json_error_texts() {
        assert_eq!(
            json_error_text(br#"{"eroare":"E1","titlu":"Lista Mesaje"}"#).as_deref(),
            Some("E1")
        );
        assert_eq!(
            json_error_text(
                br#"{"Errors":[{"errorMessage":"a"},{"errorMessage":"b"}],"ExecutionStatus":1}"#
            )
            .as_deref(),
            Some("a | b")
        );
        assert_eq!(json_error_text(b"not json"), None);
    }
}
