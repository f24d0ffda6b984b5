//! e-Transport (ETRANSPORT/ws/v1, OAuth, JSON answers): upload of a v2 declaration (index
//! and UIT, through the same duplicate journal as e-Factura), stareMesaj, the list.

use super::answer::{self, Reply};
use super::endpoint::{message_key, Base, Endpoint, Quota};
use super::files::sha256_hex;
use super::input::{check_days, check_id, check_xml, cif_or};
use super::pipeline::Call;
use super::stare::Stare;
use super::upload::{journaled, UploadOutcome};
use super::Session;
use crate::error::Result;
use crate::store::journal::{self, Service, UploadKey};
use serde::{Deserialize, Serialize};

/// ANAF's limit for e-Transport ("Marime fisier transmis mai mare de 5 MB").
pub(crate) const MAX_UPLOAD: usize = 5 * 1024 * 1024;

const ETRANSPORT: Base = Base::Api("ETRANSPORT/ws/v1");

/// `upload/ETRANSP/{cif}/2`: a v2 declaration, sent again only when nothing reached ANAF.
pub const UPLOAD: Endpoint = Endpoint::post(ETRANSPORT, "upload/ETRANSP").sent_once();
/// `stareMesaj/{index}`: "S-au facut deja 100 de verificari, pentru id-incarcare
/// solicitat, in cursul zilei".
pub const STATUS: Endpoint = Endpoint::get(ETRANSPORT, "stareMesaj").counted(Quota {
    kind: "etransport-stare",
    per_day: 100,
});
/// `lista/{zile}/{cif}`.
pub const LIST: Endpoint = Endpoint::get(ETRANSPORT, "lista");

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorItem {
    #[serde(default, rename = "errorMessage")]
    pub error_message: String,
}

/// The JSON envelope of every e-Transport answer.
#[derive(Clone, Debug, Default, Deserialize)]
struct Envelope {
    #[serde(rename = "ExecutionStatus")]
    execution_status: Option<i64>,
    #[serde(rename = "dateResponse")]
    date_response: Option<String>,
    trace_id: Option<String>,
    #[serde(default, rename = "Errors")]
    errors: Vec<ErrorItem>,
    index_incarcare: Option<serde_json::Value>,
    #[serde(rename = "UIT")]
    uit: Option<String>,
    ref_declarant: Option<String>,
    atentie: Option<String>,
    stare: Option<String>,
    mesaje: Option<Vec<serde_json::Value>>,
    serial: Option<String>,
    cui: Option<String>,
    titlu: Option<String>,
}

impl Envelope {
    fn parse(reply: &Reply) -> Result<Envelope> {
        serde_json::from_value(answer::json(reply)?)
            .map_err(|e| answer::bad_response("JSON e-Transport", reply, &e.to_string()))
    }

    fn messages(&self) -> Vec<String> {
        self.errors
            .iter()
            .map(|e| e.error_message.clone())
            .collect()
    }
}

/// An accepted declaration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TransportUploaded {
    pub index_incarcare: String,
    #[serde(rename = "UIT")]
    pub uit: Option<String>,
    #[serde(rename = "dateResponse")]
    pub date_response: Option<String>,
    pub trace_id: Option<String>,
    pub ref_declarant: Option<String>,
    /// ANAF's reminder that the UIT is valid only once the status says so.
    pub atentie: Option<String>,
    pub sha256: String,
    pub journal_id: i64,
}

/// [`parse_upload`] in the shape the journal's send takes: (the answer, index, UIT).
pub(crate) fn parse_upload_answer(
    r: &Reply,
) -> Result<(TransportUploaded, String, Option<String>)> {
    let up = parse_upload(r)?;
    let (index, uit) = (up.index_incarcare.clone(), up.uit.clone());
    Ok((up, index, uit))
}

pub fn parse_upload(reply: &Reply) -> Result<TransportUploaded> {
    let env = Envelope::parse(reply)?;
    if env.execution_status == Some(0) {
        let idx = match &env.index_incarcare {
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            _ => {
                return Err(answer::bad_response(
                    "index_incarcare",
                    reply,
                    "ExecutionStatus=0 fără index",
                ))
            }
        };
        return Ok(TransportUploaded {
            index_incarcare: idx,
            uit: env.uit,
            date_response: env.date_response,
            trace_id: env.trace_id,
            ref_declarant: env.ref_declarant,
            atentie: env.atentie,
            sha256: String::new(),
            journal_id: 0,
        });
    }
    if !env.errors.is_empty() {
        return Err(answer::anaf_messages_error(&env.messages()));
    }
    Err(answer::bad_response(
        "ExecutionStatus",
        reply,
        "nici index, nici Errors",
    ))
}

/// The answer of e-Transport `stareMesaj`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TransportState {
    pub stare: Stare,
    #[serde(rename = "dateResponse")]
    pub date_response: Option<String>,
    pub trace_id: Option<String>,
    /// ANAF's messages on `nok`.
    pub errors: Vec<String>,
}

impl TransportState {
    pub fn is_pending(&self) -> bool {
        self.stare.is_pending()
    }
    pub fn is_ok(&self) -> bool {
        self.stare.is_ok()
    }
}

pub fn parse_status(reply: &Reply) -> Result<TransportState> {
    let env = Envelope::parse(reply)?;
    match env.stare {
        Some(s) if !s.trim().is_empty() => Ok(TransportState {
            errors: env.errors.iter().map(|e| e.error_message.clone()).collect(),
            stare: Stare::parse(&s),
            date_response: env.date_response,
            trace_id: env.trace_id,
        }),
        _ if !env.errors.is_empty() => Err(answer::anaf_messages_error(&env.messages())),
        _ => Err(answer::bad_response("stare", reply, "lipsește „stare”")),
    }
}

/// The e-Transport list: ANAF's items verbatim (their fields differ between
/// declarations and error notices).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TransportList {
    pub mesaje: Vec<serde_json::Value>,
    pub serial: Option<String>,
    pub cui: Option<String>,
    pub titlu: Option<String>,
}

pub fn parse_list(reply: &Reply) -> Result<TransportList> {
    let env = Envelope::parse(reply)?;
    if env.execution_status == Some(1) || env.mesaje.is_none() {
        let msgs = env.messages();
        if msgs.iter().any(|m| answer::is_no_messages_text(m)) {
            return Ok(TransportList {
                mesaje: Vec::new(),
                serial: env.serial,
                cui: env.cui,
                titlu: msgs.first().cloned(),
            });
        }
        if !msgs.is_empty() {
            return Err(answer::anaf_messages_error(&msgs));
        }
        if env.mesaje.is_none() {
            return Err(answer::bad_response("mesaje", reply, "lipsește „mesaje”"));
        }
    }
    Ok(TransportList {
        mesaje: env.mesaje.unwrap_or_default(),
        serial: env.serial,
        cui: env.cui,
        titlu: env.titlu,
    })
}

pub struct ETransport<'a> {
    s: &'a Session,
}

impl Session {
    pub fn etransport(&self) -> ETransport<'_> {
        ETransport { s: self }
    }
}

impl ETransport<'_> {
    /// Uploads a v2 declaration (`upload/ETRANSP/{cif}/2`), never twice by accident.
    pub fn upload(
        &self,
        xml: &[u8],
        cif: Option<&str>,
        force: bool,
    ) -> Result<UploadOutcome<TransportUploaded>> {
        let (key, call) = self.upload_request(xml, cif)?;
        let outcome = journaled(
            self.s,
            &key,
            xml.len(),
            force,
            || Ok(()),
            &call,
            parse_upload_answer,
        )?;
        Ok(outcome.map(|sent| TransportUploaded {
            sha256: key.sha256,
            journal_id: sent.journal_id,
            ..sent.answer
        }))
    }

    /// The journal key of a declaration and the request that sends it (the XML checked).
    pub(crate) fn upload_request(
        &self,
        xml: &[u8],
        cif: Option<&str>,
    ) -> Result<(UploadKey, Call)> {
        let cif = cif_or(cif, &self.s.config.cif)?;
        check_xml(xml, MAX_UPLOAD)?;
        let key = UploadKey {
            cif: cif.clone(),
            environment: self.s.config.environment.as_str().to_string(),
            service: Service::ETransport,
            standard: "ETRANSP".into(),
            flags: "v2".into(),
            sha256: sha256_hex(xml),
        };
        let call = UPLOAD
            .request(self.s)?
            .segment(&cif)
            .segment("2")
            .body(xml.to_vec(), "application/xml")
            .into_call();
        Ok((key, call))
    }

    /// `stareMesaj/{index}`; counts against the 100 checks per declaration per day.
    pub fn status(&self, index: &str) -> Result<TransportState> {
        let id = check_id(index, "index_incarcare")?;
        let st = STATUS
            .request(self.s)?
            .segment(&id)
            .count_as(message_key(self.s, &id))
            .decode(parse_status)?;
        let _ = journal::set_last_status(
            &self.s.store,
            &self.s.config.cif,
            Service::ETransport,
            &id,
            st.stare.as_str(),
        );
        Ok(st)
    }

    /// `lista/{zile}/{cif}`; "Nu exista mesaje" is an empty list.
    pub fn list(&self, zile: i64, cif: Option<&str>) -> Result<TransportList> {
        let zile = check_days(zile)?;
        let cif = cif_or(cif, &self.s.config.cif)?;
        LIST.request(self.s)?
            .segment(&zile.to_string())
            .segment(&cif)
            .decode(parse_list)
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
    fn upload_answers_from_the_swagger() {
        let up = parse_upload(&reply(r#"{"dateResponse":"202212231132","ExecutionStatus":0,"index_incarcare":1,"UIT":"A0002","trace_id":"96cd587e-298b-4245-ad7d-2607d973f9d4","ref_declarant":"","atentie":"Verificati starea XML-ului transmis."}"#)).unwrap();
        assert_eq!(up.index_incarcare, "1");
        assert_eq!(up.uit.as_deref(), Some("A0002"));
        assert!(up.atentie.unwrap().starts_with("Verificati"));
        let e = parse_upload(&reply(r#"{"Errors":[{"errorMessage":"Fisierul transmis nu este valid. org.xml.sax.SAXParseException; lineNumber: 2; columnNumber: 4; cvc-elt.1.a: Cannot find the declaration of element 'a'."}],"dateResponse":"202203071420","ExecutionStatus":1,"trace_id":"ba912e9e"}"#)).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_REJECTED);
        assert!(e.message(Lang::En).contains("element 'a'"));
        let e = parse_upload(&reply(r#"{"Errors":[{"errorMessage":"Nu aveti drept in SPV pentru CIF=21"}],"ExecutionStatus":1}"#)).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_UNAUTHORIZED);
    }

    #[test]
    fn status_and_list_answers_from_the_swagger() {
        let ok = parse_status(&reply(r#"{"stare":"ok","dateResponse":"202208021047","ExecutionStatus":0,"trace_id":"366efb31"}"#)).unwrap();
        assert!(ok.is_ok());
        let nok = parse_status(&reply(r#"{"Errors":[{"errorMessage":"UIT-ul nu poate fi identificat."}],"stare":"nok","dateResponse":"202208021055","ExecutionStatus":1,"trace_id":"c78c23fa"}"#)).unwrap();
        assert_eq!(nok.stare, "nok");
        assert_eq!(
            nok.errors,
            vec!["UIT-ul nu poate fi identificat.".to_string()]
        );
        let e = parse_status(&reply(r#"{"Errors":[{"errorMessage":"S-au facut deja 100 de verificari, pentru id-incarcare solicitat, in cursul zilei"}],"dateResponse":"202208021114","ExecutionStatus":1}"#)).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_QUOTA_EXCEEDED);
        let l = parse_list(&reply(r#"{"mesaje":[{"uit":"XAXAXAXAXAXAXAXA1","cod_decl":"8000000000","sursa":"A","id_incarcare":"0000000001"},{"cod_decl":"8000000000","id_incarcare":"0000000003","mesaje":[{"tip":"ERR","mesaj":"Nu a fost identificat UIT-ul"}]}],"serial":"X","cui":"8000000000","titlu":"Lista Mesaje disponibile din ultimele 1 zile","dateResponse":"202210111242","ExecutionStatus":0,"trace_id":"680bdefd"}"#)).unwrap();
        assert_eq!(l.mesaje.len(), 2);
        assert_eq!(l.mesaje[0]["uit"], "XAXAXAXAXAXAXAXA1");
        let empty = parse_list(&reply(r#"{"Errors":[{"errorMessage":"Nu exista mesaje in ultimele 60 zile"}],"dateResponse":"202203071316","ExecutionStatus":1,"trace_id":"6e94d035"}"#)).unwrap();
        assert!(empty.mesaje.is_empty());
        let e = parse_list(&reply(r#"{"Errors":[{"errorMessage":"Numarul de zile trebuie sa fie intre 1 si 60"}],"ExecutionStatus":1}"#)).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_REJECTED);
    }
}
