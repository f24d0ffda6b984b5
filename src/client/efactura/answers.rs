//! e-Factura's answers, typed, parsed from ANAF's real formats (the swagger's examples
//! are the tests): the upload's index, the message state, the lists and their pages.

use crate::client::answer::{self, Reply};
use crate::client::input::invalid;
use crate::client::stare::Stare;
use crate::client::xml_header::parse_header;
use crate::error::{Error, Result};
use crate::status::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const NS_UPLOAD: &str = "mfp:anaf:dgti:spv:respUploadFisier:v1";
pub const NS_STATUS: &str = "mfp:anaf:dgti:efactura:stareMesajFactura:v1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Standard {
    UBL,
    CN,
    CII,
    RASP,
}

impl Standard {
    pub fn parse(s: &str) -> Result<Standard> {
        match s.trim().to_ascii_uppercase().as_str() {
            "UBL" => Ok(Standard::UBL),
            "CN" => Ok(Standard::CN),
            "CII" => Ok(Standard::CII),
            "RASP" => Ok(Standard::RASP),
            _ => Err(invalid(
                format!("„standard” = „{s}”: valorile permise sunt UBL, CN, CII, RASP."),
                format!("\"standard\" = \"{s}\": allowed values are UBL, CN, CII, RASP."),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Standard::UBL => "UBL",
            Standard::CN => "CN",
            Standard::CII => "CII",
            Standard::RASP => "RASP",
        }
    }
}

/// What `upload` sends and how.
#[derive(Clone, Debug)]
pub struct UploadOptions {
    pub standard: Standard,
    /// The buyer is not Romanian (`extern=DA`).
    pub extern_: bool,
    /// Issued by the buyer on behalf of the seller (`autofactura=DA`).
    pub autofactura: bool,
    /// Filed by an enforcement body for the debtor (`executare=DA`).
    pub executare: bool,
    /// B2C invoice (`uploadb2c`).
    pub b2c: bool,
    /// Send even if the journal knows this document was (or may have been) uploaded.
    pub force: bool,
    /// The CIF of the call; the configured one when None.
    pub cif: Option<String>,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            standard: Standard::UBL,
            extern_: false,
            autofactura: false,
            executare: false,
            b2c: false,
            force: false,
            cif: None,
        }
    }
}

impl UploadOptions {
    pub(super) fn flags(&self) -> String {
        let mut f = Vec::new();
        if self.extern_ {
            f.push("extern");
        }
        if self.autofactura {
            f.push("autofactura");
        }
        if self.executare {
            f.push("executare");
        }
        f.join(",")
    }
}

/// ANAF accepted the document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Uploaded {
    pub index_incarcare: String,
    #[serde(rename = "dateResponse")]
    pub date_response: Option<String>,
    pub sha256: String,
    pub journal_id: i64,
}

/// [`parse_upload`] in the shape the journal's send takes: (dateResponse, index, no UIT).
pub(crate) fn parse_upload_answer(r: &Reply) -> Result<(Option<String>, String, Option<String>)> {
    let (index, date) = parse_upload(r)?;
    Ok((date, index, None))
}

/// Parses an upload answer: the index when `ExecutionStatus="0"`, ANAF's messages otherwise.
pub fn parse_upload(reply: &Reply) -> Result<(String, Option<String>)> {
    let h = parse_header(reply, NS_UPLOAD)?;
    let status = h.attrs.get("ExecutionStatus").map(String::as_str);
    match (status, h.attrs.get("index_incarcare")) {
        (Some("0"), Some(idx)) if !idx.trim().is_empty() => {
            Ok((idx.trim().to_string(), h.attrs.get("dateResponse").cloned()))
        }
        (Some("0"), _) => Err(answer::bad_response(
            "index_incarcare",
            reply,
            "ExecutionStatus=0 fără index",
        )),
        _ if !h.errors.is_empty() => Err(answer::anaf_messages_error(&h.errors)),
        _ => Err(answer::bad_response(
            "ExecutionStatus",
            reply,
            "nici index, nici Errors",
        )),
    }
}

/// The answer of `stareMesaj`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageState {
    pub stare: Stare,
    /// The download id (for the invoice on `ok`, for the error list on `nok`).
    pub id_descarcare: Option<String>,
    /// ANAF's own messages when the answer carries a state and errors together.
    pub errors: Vec<String>,
}

impl MessageState {
    /// No further change is coming.
    pub fn is_final(&self) -> bool {
        self.stare.is_final()
    }

    pub fn is_pending(&self) -> bool {
        self.stare.is_pending()
    }

    pub fn is_ok(&self) -> bool {
        self.stare.is_ok()
    }
}

pub fn parse_status(reply: &Reply) -> Result<MessageState> {
    let h = parse_header(reply, NS_STATUS)?;
    match h.attrs.get("stare") {
        // A state and errors together ("nok" with ANAF's reasons): the state is the
        // answer, the errors go with it.
        Some(s) if !s.trim().is_empty() => Ok(MessageState {
            stare: Stare::parse(s),
            id_descarcare: h.attrs.get("id_descarcare").cloned(),
            errors: h.errors,
        }),
        _ if !h.errors.is_empty() => Err(answer::anaf_messages_error(&h.errors)),
        _ => Err(answer::bad_response(
            "stare",
            reply,
            "lipsește atributul stare",
        )),
    }
}

/// What [`EFactura::wait_final`] saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Waited {
    /// The last state read (None when the quota stopped it before any check).
    pub state: Option<MessageState>,
    pub polls: u32,
    pub stopped_for_quota: bool,
    pub checks_today: u32,
}

/// One message of the lists, with ANAF's field names; unknown fields are kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    #[serde(default)]
    pub data_creare: String,
    #[serde(default)]
    pub cif: String,
    #[serde(default)]
    pub id_solicitare: String,
    #[serde(default)]
    pub detalii: String,
    #[serde(default)]
    pub tip: String,
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: String,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<String, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MessageList {
    pub mesaje: Vec<Message>,
    pub serial: Option<String>,
    pub cui: Option<String>,
    pub titlu: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ListAnswer {
    #[serde(default)]
    mesaje: Option<Vec<Message>>,
    eroare: Option<String>,
    serial: Option<String>,
    cui: Option<String>,
    titlu: Option<String>,
}

/// Parses the simple list: messages, or "Nu exista mesaje" (empty), or ANAF's error.
pub fn parse_list(reply: &Reply) -> Result<MessageList> {
    let a: ListAnswer = serde_json::from_value(answer::json(reply)?)
        .map_err(|e| answer::bad_response("lista de mesaje", reply, &e.to_string()))?;
    if let Some(err) = a.eroare {
        if answer::is_no_messages_text(&err) {
            return Ok(MessageList {
                mesaje: Vec::new(),
                serial: a.serial,
                cui: a.cui,
                titlu: Some(err),
            });
        }
        return Err(answer::anaf_messages_error(&[err]));
    }
    match a.mesaje {
        Some(m) => Ok(MessageList {
            mesaje: m,
            serial: a.serial,
            cui: a.cui,
            titlu: a.titlu,
        }),
        None => Err(answer::bad_response("mesaje", reply, "lipsește „mesaje”")),
    }
}

#[derive(Debug, Deserialize)]
pub struct PageAnswer {
    #[serde(default)]
    pub mesaje: Vec<Message>,
    pub eroare: Option<String>,
    pub numar_inregistrari_in_pagina: Option<u64>,
    pub numar_total_inregistrari_per_pagina: Option<u64>,
    pub numar_total_inregistrari: Option<u64>,
    pub numar_total_pagini: Option<u32>,
    pub index_pagina_curenta: Option<u32>,
    pub serial: Option<String>,
    pub cui: Option<String>,
    pub titlu: Option<String>,
}

/// Parses one page: `None` for "Nu exista mesaje in intervalul selectat".
pub fn parse_page(reply: &Reply) -> Result<Option<PageAnswer>> {
    let v = answer::json(reply)?;
    let p: PageAnswer = serde_json::from_value(v)
        .map_err(|e| answer::bad_response("pagina", reply, &e.to_string()))?;
    if let Some(err) = &p.eroare {
        if answer::is_no_messages_text(err) {
            return Ok(None);
        }
        return Err(answer::anaf_messages_error(std::slice::from_ref(err)));
    }
    if p.numar_total_pagini.is_none() && p.mesaje.is_empty() {
        return Err(answer::bad_response(
            "pagina",
            reply,
            "lipsesc mesaje și numar_total_pagini",
        ));
    }
    Ok(Some(p))
}

/// A summary of a paginated listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Paged {
    /// Messages handed over (each id once).
    pub count: u64,
    /// ANAF's total, as it said on the last page read.
    pub total: u64,
    pub pages: u32,
    pub serial: Option<String>,
    pub cui: Option<String>,
    pub titlu: Option<String>,
}

/// ANAF's "more than 500 messages: use the paginated list".
pub(super) fn is_too_many_text(e: &Error) -> bool {
    e.detail(Lang::Ro).is_some_and(|d| {
        d.contains("Folositi endpoint-ul cu paginatie")
            || d.contains("mai mare decat numarul de 500")
    })
}
