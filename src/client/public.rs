//! ANAF's public e-Factura services (webservicesp, no token): validation (FACT1/FCN),
//! XML to PDF (with or without validation), and the check of ANAF's signature on a
//! downloaded invoice. The WAF in front of them answers with an HTML page at times:
//! that is `ANAF_ERR_HTML_RESPONSE`, never a parsed answer.

use super::answer::{self, Reply};
use super::endpoint::{Base, Endpoint, Request};
use super::files::write_file;
use super::input::{check_xml, invalid};
use super::pipeline;
use super::Session;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The public services refuse documents over 5 MB ("Marime fisier transmis mai mare de 5 MB").
pub(crate) const MAX_PUBLIC: usize = 5 * 1024 * 1024;

// Validation and conversion change nothing at ANAF: safe to repeat.
/// `validare/{FACT1|FCN}`.
pub const VALIDATE: Endpoint = Endpoint::post(Base::Public, "validare").without_token();
/// `transformare/{FACT1|FCN}[/DA]` (`DA`: without validating first).
pub const PDF: Endpoint = Endpoint::post(Base::Public, "transformare").without_token();
/// `api/validate/signature`: a multipart form of the invoice and ANAF's signature.
pub const SIGNATURE: Endpoint =
    Endpoint::post(Base::PublicRoot, "api/validate/signature").without_token();

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
    /// A request of `endpoint` for `standard`, the XML as its body.
    fn with_xml(
        &self,
        endpoint: &'static Endpoint,
        standard: DocStandard,
        xml: &[u8],
    ) -> Result<Request<'_>> {
        Ok(endpoint
            .request(self.s)?
            .segment(standard.as_str())
            .body(xml.to_vec(), "text/plain"))
    }

    /// Validates an invoice (FACT1) or credit note (FCN). `Ok` carries ANAF's verdict,
    /// `nok` included; errors are for calls that got no verdict.
    pub fn validate(&self, xml: &[u8], standard: DocStandard) -> Result<Validation> {
        check_xml(xml, MAX_PUBLIC)?;
        self.with_xml(&VALIDATE, standard, xml)?
            .decode(parse_validation)
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
        let mut r = self.with_xml(&PDF, standard, xml)?;
        if !validate {
            r = r.segment("DA");
        }
        let reply = r.fetch()?;
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
        Err(pipeline::limits(err))
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
        SIGNATURE
            .request(self.s)?
            .files(vec![
                ("file", xml_name.to_string(), xml.to_vec()),
                ("signature", signature_name.to_string(), signature.to_vec()),
            ])
            .decode(parse_signature)
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
