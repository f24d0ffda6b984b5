//! ANAF's public e-Factura services (webservicesp, no token): validation (FACT1/FCN),
//! XML to PDF (with or without validation), and the check of ANAF's signature on a
//! downloaded invoice. The WAF in front of them answers with an HTML page at times:
//! that is `ANAF_ERR_HTML_RESPONSE`, never a parsed answer.

use super::answer::{self, Reply};
use super::efactura::{check_xml, invalid, write_file};
use super::retry::{self, Call, Payload, Retry};
use super::Session;
use crate::error::Result;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The public services refuse documents over 5 MB ("Marime fisier transmis mai mare de 5 MB").
pub(crate) const MAX_PUBLIC: usize = 5 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocStandard {
    /// An invoice (UBL/CII).
    FACT1,
    /// A credit note.
    FCN,
}

impl DocStandard {
    pub fn parse(s: &str) -> Result<DocStandard> {
        match s.trim().to_ascii_uppercase().as_str() {
            "FACT1" => Ok(DocStandard::FACT1),
            "FCN" => Ok(DocStandard::FCN),
            _ => Err(invalid(
                format!("„standard” = „{s}”: valorile permise sunt FACT1 (factură) și FCN (notă de credit)."),
                format!("\"standard\" = \"{s}\": allowed values are FACT1 (invoice) and FCN (credit note)."),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DocStandard::FACT1 => "FACT1",
            DocStandard::FCN => "FCN",
        }
    }
}

/// The answer of `validare`: `stare` ok/nok with ANAF's messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    pub stare: String,
    #[serde(default, rename = "Messages")]
    pub messages: Vec<ValidationMessage>,
    #[serde(default)]
    pub trace_id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationMessage {
    #[serde(default)]
    pub message: String,
}

impl Validation {
    pub fn is_ok(&self) -> bool {
        self.stare.trim().eq_ignore_ascii_case("ok")
    }

    pub fn texts(&self) -> Vec<String> {
        self.messages.iter().map(|m| m.message.clone()).collect()
    }
}

pub fn parse_validation(reply: &Reply) -> Result<Validation> {
    let v: Validation = serde_json::from_value(answer::json(reply)?)
        .map_err(|e| answer::bad_response("validare", reply, &e.to_string()))?;
    if v.stare.trim().is_empty() {
        return Err(answer::bad_response("validare", reply, "lipsește „stare”"));
    }
    Ok(v)
}

/// The answer of the signature check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignatureCheck {
    pub valid: bool,
    /// ANAF's message, verbatim.
    pub msg: String,
}

/// ANAF says "Fișierele încărcate au fost validate cu succes" or "... NU au putut fi validate ...".
pub fn parse_signature(reply: &Reply) -> Result<SignatureCheck> {
    let v = answer::json(reply)?;
    let msg = v
        .get("msg")
        .and_then(|m| m.as_str())
        .ok_or_else(|| answer::bad_response("msg", reply, "lipsește „msg”"))?
        .to_string();
    let upper = msg.to_uppercase();
    let valid = !upper.contains(" NU ")
        && (upper.contains("VALIDATE CU SUCCES") || upper.contains("VALIDAT CU SUCCES"));
    Ok(SignatureCheck { valid, msg })
}

pub struct Public<'a> {
    s: &'a Session,
}

impl Session {
    pub fn public(&self) -> Public<'_> {
        Public { s: self }
    }
}

impl Public<'_> {
    fn post_xml(&self, path: &str, xml: &[u8]) -> Result<Reply> {
        let base = self.s.config.public_base();
        let url = base.join(path).unwrap_or(base);
        let call = Call {
            method: Method::POST,
            url,
            payload: Payload::Bytes {
                data: xml.to_vec(),
                content_type: "text/plain",
            },
            auth: false,
            // Validation and conversion change nothing at ANAF: safe to repeat.
            retry: Retry::Safe,
            pace: None,
        };
        retry::fetch(self.s, &call)
    }

    /// Validates an invoice (FACT1) or credit note (FCN). `Ok` carries ANAF's verdict,
    /// `nok` included; errors are for calls that got no verdict.
    pub fn validate(&self, xml: &[u8], standard: DocStandard) -> Result<Validation> {
        check_xml(xml, MAX_PUBLIC)?;
        let reply = self.post_xml(&format!("validare/{}", standard.as_str()), xml)?;
        parse_validation(&reply).map_err(retry::limits)
    }

    /// Converts to PDF (with ANAF's validation first unless `validate` is false) and
    /// writes it to `pdf_path`. Returns the PDF's size. A failed validation is
    /// `ANAF_ERR_REJECTED` with ANAF's messages.
    pub fn to_pdf(
        &self,
        xml: &[u8],
        standard: DocStandard,
        validate: bool,
        pdf_path: &Path,
    ) -> Result<u64> {
        let pdf = self.pdf(xml, standard, validate)?;
        write_file(pdf_path, &pdf)?;
        Ok(pdf.len() as u64)
    }

    /// The PDF ANAF makes of the XML (see [`Public::to_pdf`]).
    pub fn pdf(&self, xml: &[u8], standard: DocStandard, validate: bool) -> Result<Vec<u8>> {
        check_xml(xml, MAX_PUBLIC)?;
        let path = if validate {
            format!("transformare/{}", standard.as_str())
        } else {
            format!("transformare/{}/DA", standard.as_str())
        };
        let reply = self.post_xml(&path, xml)?;
        if reply.body.starts_with(b"%PDF") {
            return Ok(reply.body);
        }
        let err = match parse_validation(&reply) {
            Ok(v) => answer::anaf_messages_error(&v.texts()),
            Err(_) => match answer::json_error_text(&reply.body) {
                Some(m) => answer::anaf_messages_error(&[m]),
                None => answer::bad_response("PDF", &reply, "nu începe cu %PDF"),
            },
        };
        Err(retry::limits(err))
    }

    /// Checks ANAF's signature (`semnatura_….xml`) against the invoice XML it signs.
    pub fn verify_signature(
        &self,
        xml: &[u8],
        xml_name: &str,
        signature: &[u8],
        signature_name: &str,
    ) -> Result<SignatureCheck> {
        check_xml(xml, MAX_PUBLIC)?;
        check_xml(signature, MAX_PUBLIC)?;
        let url = crate::config::join(&self.s.config.public_url, "api/validate/signature");
        let call = Call {
            method: Method::POST,
            url,
            payload: Payload::Files(vec![
                ("file", xml_name.to_string(), xml.to_vec()),
                ("signature", signature_name.to_string(), signature.to_vec()),
            ]),
            auth: false,
            retry: Retry::Safe,
            pace: None,
        };
        let reply = retry::fetch(self.s, &call)?;
        parse_signature(&reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::*;

    fn reply(body: &str) -> Reply {
        Reply {
            status: 200,
            content_type: "application/json".into(),
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn validation_answers_from_the_swagger() {
        let ok = parse_validation(&reply(
            r#"{"stare":"ok","trace_id":"c8c9da20-843f-4130-91d1-4ee8b0baaa30"}"#,
        ))
        .unwrap();
        assert!(ok.is_ok() && ok.messages.is_empty());
        let nok = parse_validation(&reply(r#"{"stare":"nok","Messages":[{"message":"E: validari globale  SCHEMATRON   eroare: [BR-CO-09]-The Seller VAT identifier"}],"trace_id":"x"}"#)).unwrap();
        assert!(!nok.is_ok());
        assert!(nok.texts()[0].contains("[BR-CO-09]"));
        assert_eq!(
            parse_validation(&reply("{}")).unwrap_err().status,
            ANAF_ERR_BAD_RESPONSE
        );
        assert_eq!(
            DocStandard::parse("UBL").unwrap_err().status,
            ANAF_ERR_INVALID_ARGUMENT
        );
    }

    #[test]
    fn signature_answers_from_the_swagger() {
        let ok = parse_signature(&reply(r#"{"msg":"Fișierele încărcate au fost validate cu succes, din perspectiva autenticității semnăturii aplicate și a apartenenței acesteia la XML-ul ce reprezintă factura electronică."}"#)).unwrap();
        assert!(ok.valid);
        let bad = parse_signature(&reply(r#"{"msg":"Fișierele încărcate NU au putut fi validate cu succes, din perspectiva autenticității semnăturii aplicate"}"#)).unwrap();
        assert!(!bad.valid);
        assert!(bad.msg.contains("NU au putut"));
    }
}
