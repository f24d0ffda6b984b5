//! The company lookup: ANAF's public registry of VAT payers (`PlatitorTvaRest/v9/tva`, no
//! token), so that an ERP fills in a partner from its CIF — name, address, VAT registration
//! and its periods, VAT on receipt, split VAT, inactive or struck off, e-Factura registry.
//!
//! ANAF takes at most 100 CIFs a request and one request a second: a longer list is sent in
//! chunks of 100, spaced by a pace of this service's own (besides the API's), kept in the
//! process and in the database for every process sharing it.
//! The v9 answer is `{"found": [...], "notFound": [...]}` with no `cod`/`message` wrapper.

use super::answer::{self, Reply};
use super::endpoint::{Base, Endpoint};
use super::pacer::Pacer;
use super::pipeline::Pace;
use super::Session;
use crate::error::{Error, Result};
use crate::status::{ANAF_ERR_BAD_RESPONSE, ANAF_ERR_INVALID_ARGUMENT};
use serde_json::{json, Map, Value};

/// ANAF's limits for the service (doc_WS_V9): 100 CIFs a request, one request a second,
/// kept with a margin (a request that waited for a new connection must not arrive within a
/// second of the next one).
pub(crate) const MAX_PER_REQUEST: usize = 100;
const REQUESTS_PER_MINUTE: u32 = 55;

/// One request a second for the whole process.
static PACER: Pacer = Pacer::new();

/// `api/PlatitorTvaRest/v9/tva`: a lookup changes nothing, safe to repeat.
pub const VAT_REGISTRY: Endpoint = Endpoint::post(Base::PublicRoot, "api/PlatitorTvaRest/v9/tva")
    .without_token()
    .paced(Pace {
        pacer: &PACER,
        per_minute: REQUESTS_PER_MINUTE,
        scope: "registry",
    });

/// What `anaf_company_lookup` was asked: the CIFs as the ERP holds them (`RO` prefix,
/// spaces and numbers accepted) and the day the data should describe.
pub struct Lookup {
    /// Valid CIFs, digits only, each once, in the order given.
    pub cifs: Vec<String>,
    /// Entries that are not CIFs, with the reason (not sent to ANAF).
    pub invalid: Vec<Value>,
    /// `YYYY-MM-DD`.
    pub date: String,
}

fn invalid(ro: impl Into<String>, en: impl Into<String>) -> Error {
    Error::with(ANAF_ERR_INVALID_ARGUMENT, ro, en)
}

impl Lookup {
    /// Reads the ERP's list: a JSON array of CIFs (strings or numbers); `date` is
    /// `YYYY-MM-DD`, or empty for today (Romania's date).
    pub fn parse(cifs_json: &str, date: Option<&str>) -> Result<Lookup> {
        let v: Value = serde_json::from_str(cifs_json).map_err(|e| {
            invalid(
                format!("Lista de CIF-uri nu este JSON valid: {e}"),
                format!("The CIF list is not valid JSON: {e}"),
            )
        })?;
        let Value::Array(items) = v else {
            return Err(invalid(
                "Lista de CIF-uri trebuie să fie un tablou JSON, de ex. [\"RO14399840\", 8000000000].",
                "The CIF list must be a JSON array, e.g. [\"RO14399840\", 8000000000].",
            ));
        };
        let mut out = Lookup {
            cifs: Vec::new(),
            invalid: Vec::new(),
            date: match date.map(str::trim).filter(|d| !d.is_empty()) {
                Some(d) => check_date(d)?,
                None => crate::store::journal::romania_time(chrono::Utc::now())
                    .format("%Y-%m-%d")
                    .to_string(),
            },
        };
        for item in &items {
            let raw = match item {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => other.to_string(),
            };
            // Partners' CIFs come as the invoices print them: "RO 14399840".
            let bare: String = raw.split_whitespace().collect();
            let bare = match bare.get(..2) {
                Some(p) if p.eq_ignore_ascii_case("ro") => bare[2..].to_string(),
                _ => bare,
            };
            match crate::config::normalize_cif(&bare) {
                Ok(cif) if !out.cifs.contains(&cif) => out.cifs.push(cif),
                Ok(_) => {}
                Err(e) => out.invalid.push(json!({
                    "cif": raw,
                    "message": e.message(crate::status::Lang::Ro),
                    "message_en": e.message(crate::status::Lang::En),
                })),
            }
        }
        if out.cifs.is_empty() {
            let given = items.len();
            return Err(invalid(
                format!("Niciun CIF valid în listă ({given} date)."),
                format!("No valid CIF in the list ({given} given)."),
            ));
        }
        Ok(out)
    }
}

fn check_date(d: &str) -> Result<String> {
    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .map(|_| d.to_string())
        .map_err(|_| {
            invalid(
                format!("Data „{d}” nu este de forma AAAA-LL-ZZ."),
                format!("The date \"{d}\" is not YYYY-MM-DD."),
            )
        })
}

impl Session {
    /// Looks the CIFs up in ANAF's registry: `{"date","found":[…],"not_found":[…],
    /// "invalid":[…],"requests":n}`; each found company in the fields an ERP fills in, and
    /// ANAF's own record under `"anaf"`.
    pub fn company_lookup(&self, q: &Lookup) -> Result<Value> {
        let (mut found, mut not_found, mut requests) = (Vec::new(), Vec::new(), 0);
        for chunk in q.cifs.chunks(MAX_PER_REQUEST) {
            let body: Vec<Value> = chunk
                .iter()
                // Digits only, at most 10: a u64 always.
                .map(|c| json!({"cui": c.parse::<u64>().unwrap_or(0), "data": q.date}))
                .collect();
            let (f, n) = VAT_REGISTRY
                .request(self)?
                .body(
                    serde_json::to_vec(&body).unwrap_or_default(),
                    "application/json",
                )
                .decode(parse)?;
            requests += 1;
            found.extend(f);
            not_found.extend(n);
        }
        Ok(json!({
            "date": q.date,
            "found": found,
            "not_found": not_found,
            "invalid": q.invalid,
            "requests": requests,
        }))
    }
}

/// ANAF's answer: the companies found (as [`company`] gives them) and the CIFs not found.
fn parse(reply: &Reply) -> Result<(Vec<Value>, Vec<String>)> {
    let v = answer::json(reply)?;
    let (Some(found), Some(missing)) = (v["found"].as_array(), v["notFound"].as_array()) else {
        if let Some(m) = answer::json_error_text(&reply.body) {
            return Err(answer::anaf_messages_error(&[m]));
        }
        return Err(answer::bad_response(
            "found/notFound",
            reply,
            "lipsesc „found” și „notFound”",
        ));
    };
    let found = found.iter().map(company).collect::<Result<Vec<_>>>()?;
    let not_found = missing
        .iter()
        .map(|c| match c {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    Ok((found, not_found))
}

/// One found company, in the names the README documents.
fn company(r: &Value) -> Result<Value> {
    let g = &r["date_generale"];
    let cif = match &g["cui"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => {
            return Err(Error::with(
                ANAF_ERR_BAD_RESPONSE,
                format!("Registrul ANAF a dat o firmă fără „date_generale.cui”: {r}"),
                format!("ANAF's registry gave a company without \"date_generale.cui\": {r}"),
            ))
        }
    };
    let text = |v: &Value| match v {
        Value::String(s) if !s.trim().is_empty() => Value::String(s.trim().to_string()),
        _ => Value::Null,
    };
    let flag = |v: &Value| v.as_bool().map(Value::Bool).unwrap_or(Value::Null);
    let address = |a: &Value, p: &str| {
        let mut m = Map::new();
        for (name, key) in [
            ("street", "denumire_Strada"),
            ("number", "numar_Strada"),
            ("locality", "denumire_Localitate"),
            ("county", "denumire_Judet"),
            ("county_code", "cod_JudetAuto"),
            ("country", "tara"),
            ("details", "detalii_Adresa"),
            ("postal_code", "cod_Postal"),
        ] {
            m.insert(name.into(), text(&a[format!("{p}{key}")]));
        }
        Value::Object(m)
    };
    let vat = &r["inregistrare_scop_Tva"];
    let on_receipt = &r["inregistrare_RTVAI"];
    let inactive = &r["stare_inactiv"];
    let split = &r["inregistrare_SplitTVA"];
    Ok(json!({
        "cif": cif,
        "name": text(&g["denumire"]),
        "address": text(&g["adresa"]),
        "reg_com": text(&g["nrRegCom"]),
        "phone": text(&g["telefon"]),
        "postal_code": text(&g["codPostal"]),
        "caen": text(&g["cod_CAEN"]),
        "legal_form": text(&g["forma_juridica"]),
        "registration_status": text(&g["stare_inregistrare"]),
        "registration_date": text(&g["data_inregistrare"]),
        "iban": text(&g["iban"]),
        "vat_payer": flag(&vat["scpTVA"]),
        "vat_periods": vat["perioade_TVA"].as_array().cloned().unwrap_or_default(),
        "vat_on_receipt": flag(&on_receipt["statusTvaIncasare"]),
        "split_vat": flag(&split["statusSplitTVA"]),
        "inactive": flag(&inactive["statusInactivi"]),
        "inactive_since": text(&inactive["dataInactivare"]),
        "struck_off_on": text(&inactive["dataRadiere"]),
        "e_factura": flag(&g["statusRO_e_Factura"]),
        "e_factura_since": text(&g["data_inreg_Reg_RO_e_Factura"]),
        "seat_address": address(&r["adresa_sediu_social"], "s"),
        "fiscal_address": address(&r["adresa_domiciliu_fiscal"], "d"),
        "anaf": r,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_erps_cifs_are_read_as_invoices_print_them() {
        let q = Lookup::parse(
            r#"["RO14399840", " ro 14399840", 8000000000, "14399841", {"x":1}]"#,
            Some("2026-11-30"),
        )
        .unwrap();
        assert_eq!(q.cifs, ["14399840", "8000000000"]);
        assert_eq!(q.invalid.len(), 2);
        assert!(q.invalid[0]["message"]
            .as_str()
            .unwrap()
            .contains("cifra de control"));
        assert_eq!(q.date, "2026-11-30");
        assert!(Lookup::parse(r#"["14399841"]"#, None).is_err());
        assert!(Lookup::parse(r#"{"cui": 1}"#, None).is_err());
        assert!(Lookup::parse(r#"["14399840"]"#, Some("30.11.2026")).is_err());
        assert_eq!(
            Lookup::parse(r#"["14399840"]"#, None).unwrap().date.len(),
            10
        );
    }

    #[test]
    fn a_found_company_keeps_anafs_record() {
        let r = json!({
            "date_generale": {"cui": 14399840, "denumire": "DANTE INTERNATIONAL SA ",
                "statusRO_e_Factura": true, "data_inreg_Reg_RO_e_Factura": "2022-07-01"},
            "inregistrare_scop_Tva": {"scpTVA": true, "perioade_TVA": [{"data_inceput_ScpTVA": "2003-01-01"}]},
            "stare_inactiv": {"statusInactivi": false, "dataRadiere": ""},
            "adresa_sediu_social": {"sdenumire_Localitate": "Mun. București Sec. 6"},
        });
        let c = company(&r).unwrap();
        assert_eq!(c["cif"], "14399840");
        assert_eq!(c["name"], "DANTE INTERNATIONAL SA");
        assert_eq!(
            (c["e_factura"].clone(), c["vat_payer"].clone()),
            (json!(true), json!(true))
        );
        assert_eq!(c["struck_off_on"], Value::Null);
        assert_eq!(c["split_vat"], Value::Null, "absent, not false");
        assert_eq!(c["seat_address"]["locality"], "Mun. București Sec. 6");
        assert_eq!(c["anaf"], r);
        assert!(company(&json!({"date_generale": {}})).is_err());
    }
}
