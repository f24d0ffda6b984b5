//! webservicesp.anaf.ro/api/PlatitorTvaRest/v9/tva: the public registry of VAT payers
//! (no token). A JSON array of up to 100 `{"cui": number, "data": "YYYY-MM-DD"}`, one
//! request a second; the answer is `{"found": [...], "notFound": [...]}` in v9's shape.
//! Every CIF is a registered company, with data made from its digits (VAT payer unless
//! divisible by 3, e-Factura when even, VAT on receipt when divisible by 5, inactive when
//! divisible by 7), except those made unknown with `Sim::set_registered`.
//!
//! What ANAF answers past its limits is not documented: here more than 100 CIFs is an HTTP
//! 400 and a second request within a second an HTTP 429, both counted.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use crate::respond::json_raw;
use crate::state::State;

#[derive(Debug, Default)]
pub struct Registry {
    /// CIFs the registry does not know.
    pub unknown: BTreeSet<String>,
    last: Option<Instant>,
    /// Requests to refuse with the 429 whenever they come (another machine's request in
    /// the same second, which this process's pace cannot see).
    pub refuse_next: u32,
}

pub const MAX_CUIS: usize = 100;
const SPACING: Duration = Duration::from_secs(1);

fn refuse(status: StatusCode, message: &str) -> Response {
    json_raw(
        status,
        json!({"cod": status.as_u16(), "message": message}).to_string(),
    )
}

pub async fn tva(AxState(st): AxState<Arc<State>>, body: Bytes) -> Response {
    let items: Vec<Value> = match serde_json::from_slice(&body) {
        Ok(Value::Array(a)) => a,
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "Cererea trebuie sa fie o lista JSON de {cui, data}",
            )
        }
    };
    let mut g = st.lock();
    g.counters.lookups += 1;
    let now = Instant::now();
    let elsewhere = g.registry.refuse_next > 0;
    g.registry.refuse_next = g.registry.refuse_next.saturating_sub(1);
    if elsewhere
        || g.registry
            .last
            .is_some_and(|t| now.duration_since(t) < SPACING)
    {
        g.counters.lookups_refused += 1;
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Limita de 1 cerere pe secunda a fost depasita",
        );
    }
    g.registry.last = Some(now);
    if items.len() > MAX_CUIS {
        g.counters.lookups_refused += 1;
        return refuse(
            StatusCode::BAD_REQUEST,
            "Numarul maxim de CUI-uri dintr-o cerere este 100",
        );
    }
    let (mut found, mut not_found) = (Vec::new(), Vec::new());
    for it in &items {
        let (Some(cui), Some(date)) = (it["cui"].as_u64(), it["data"].as_str()) else {
            return refuse(
                StatusCode::BAD_REQUEST,
                "Fiecare element are cui (numar) si data (AAAA-LL-ZZ)",
            );
        };
        if g.registry.unknown.contains(&cui.to_string()) {
            not_found.push(json!(cui));
        } else {
            found.push(company(cui, date));
        }
    }
    json_raw(
        StatusCode::OK,
        json!({"found": found, "notFound": not_found}).to_string(),
    )
}

fn company(cui: u64, date: &str) -> Value {
    let vat = !cui.is_multiple_of(3);
    let e_factura = cui.is_multiple_of(2);
    let inactive = cui.is_multiple_of(7);
    let on_receipt = cui.is_multiple_of(5);
    let address = |p: &str| {
        json!({
            format!("{p}denumire_Strada"): "Str. Memorandumului",
            format!("{p}numar_Strada"): (cui % 200 + 1).to_string(),
            format!("{p}denumire_Localitate"): "Mun. Cluj-Napoca",
            format!("{p}cod_Localitate"): "54975",
            format!("{p}denumire_Judet"): "CLUJ",
            format!("{p}cod_Judet"): "12",
            format!("{p}cod_JudetAuto"): "CJ",
            format!("{p}tara"): "",
            format!("{p}detalii_Adresa"): "",
            format!("{p}cod_Postal"): "400114",
        })
    };
    json!({
        "date_generale": {
            "cui": cui,
            "data": date,
            "denumire": format!("FIRMA {cui} SRL"),
            "adresa": format!("JUD. CLUJ, MUN. CLUJ-NAPOCA, STR. MEMORANDUMULUI, NR.{}", cui % 200 + 1),
            "nrRegCom": format!("J12/{}/2015", cui % 5000 + 1),
            "telefon": "0264000000",
            "fax": "",
            "codPostal": "400114",
            "act": "",
            "stare_inregistrare": "INREGISTRAT din data 02.02.2015",
            "data_inregistrare": "2015-02-02",
            "cod_CAEN": "6201",
            "iban": "",
            "statusRO_e_Factura": e_factura,
            "data_inreg_Reg_RO_e_Factura": if e_factura { "2022-07-01" } else { "" },
            "organFiscalCompetent": "Administraţia Judeţeană a Finanţelor Publice Cluj",
            "forma_de_proprietate": "PROPRIETATE PRIVATA-CAPITAL PRIVAT AUTOHTON",
            "forma_organizare": "PERSOANA JURIDICA",
            "forma_juridica": "SOCIETATE COMERCIALĂ CU RĂSPUNDERE LIMITATĂ",
        },
        "inregistrare_scop_Tva": {
            "scpTVA": vat,
            "perioade_TVA": if vat {
                json!([{"data_inceput_ScpTVA": "2015-02-02", "data_sfarsit_ScpTVA": "",
                        "data_anul_imp_ScpTVA": "", "mesaj_ScpTVA": ""}])
            } else {
                json!([])
            },
        },
        "inregistrare_RTVAI": {
            "dataInceputTvaInc": if on_receipt { "2019-01-01" } else { "" },
            "dataSfarsitTvaInc": "",
            "dataActualizareTvaInc": "",
            "dataPublicareTvaInc": "",
            "tipActTvaInc": "",
            "statusTvaIncasare": on_receipt,
        },
        "stare_inactiv": {
            "dataInactivare": if inactive { "2024-03-01" } else { "" },
            "dataReactivare": "",
            "dataPublicare": "",
            "dataRadiere": "",
            "statusInactivi": inactive,
        },
        "inregistrare_SplitTVA": {
            "dataInceputSplitTVA": "",
            "dataAnulareSplitTVA": "",
            "statusSplitTVA": false,
        },
        "adresa_sediu_social": address("s"),
        "adresa_domiciliu_fiscal": address("d"),
    })
}
