//! webservicesp.anaf.ro, no token: /prod/FCTEL/rest/validare/{FACT1|FCN},
//! /prod/FCTEL/rest/transformare/{FACT1|FCN}[/DA] (a real PDF) and
//! /api/validate/signature (multipart file + signature). /test/… paths answer the same.
//! /api/PlatitorTvaRest/v9/tva (the company lookup) is `registry`'s.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State as AxState};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;

use crate::respond::{json_raw, not_found, trace_id};
use crate::state::State;
use crate::xmlinfo::{self, XmlInfo};

pub fn router(st: Arc<State>) -> Router {
    let st2 = st.clone();
    let st3 = st.clone();
    Router::new()
        .route("/{env}/FCTEL/rest/validare/{standard}", post(validare))
        .route(
            "/{env}/FCTEL/rest/transformare/{standard}",
            post(transformare),
        )
        .route(
            "/{env}/FCTEL/rest/transformare/{standard}/{novld}",
            post(transformare_novld),
        )
        .route("/api/validate/signature", post(signature))
        .route("/api/PlatitorTvaRest/v9/tva", post(crate::registry::tva))
        .fallback(move |uri: Uri| {
            let st = st2.clone();
            async move {
                // Spring reports the path inside the application, without /prod.
                let p = uri.path();
                let p = p
                    .strip_prefix("/prod")
                    .or_else(|| p.strip_prefix("/test"))
                    .unwrap_or(p);
                not_found(st.clock.now_ms(), p)
            }
        })
        .method_not_allowed_fallback(move |uri: Uri| {
            let st = st3.clone();
            async move { crate::respond::method_not_allowed(st.clock.now_ms(), uri.path()) }
        })
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(st)
}

fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn nok(messages: &[String]) -> Response {
    let items: Vec<String> = messages
        .iter()
        .map(|m| format!(r#"{{"message":{}}}"#, js(m)))
        .collect();
    json_raw(
        StatusCode::OK,
        format!(
            r#"{{"stare":"nok","Messages":[{}],"trace_id":"{}"}}"#,
            items.join(","),
            trace_id()
        ),
    )
}

/// The checks both validare and transformare run. Ok(info) or the messages.
fn validate(standard: &str, body: &[u8], check_rules: bool) -> Result<XmlInfo, Vec<String>> {
    if standard != "FACT1" && standard != "FCN" {
        return Err(vec![
            "Valorile acceptate pentru parametrul standard sunt FACT1 si FCN".into(),
        ]);
    }
    if body.len() > 5 * 1024 * 1024 {
        return Err(vec!["Marime fisier transmis mai mare de 5 MB.".into()]);
    }
    let info = xmlinfo::parse(body).map_err(|e| {
        vec![format!(
            "E: Fisierul transmis nu este valid. org.xml.sax.SAXParseException; {e}"
        )]
    })?;
    if !check_rules {
        return Ok(info);
    }
    let root = if standard == "FACT1" {
        "Invoice"
    } else {
        "CreditNote"
    };
    let mut errs = Vec::new();
    if info.root != root {
        errs.push(format!(
            "E: validari globale  XSD   eroare: cvc-elt.1.a: Cannot find the declaration of element '{}'.",
            info.root
        ));
    }
    if let Some(c) = info.first(&[
        "AccountingSupplierParty/Party/PartyTaxScheme/CompanyID",
        "AccountingSupplierParty/Party/PartyLegalEntity/CompanyID",
    ]) {
        if let Some(d) = xmlinfo::cif_digits(&c) {
            if !xmlinfo::cif_valid(&d) {
                errs.push(format!("E: AccountingSupplierParty (1) sectiune Party (1) sectiune PartyTaxScheme (1) sectiune CompanyID (1)  eroare regula: R_BT_32_cui: Cui vanzator incorect / validare CUI ({d}) "));
            }
        }
    }
    if String::from_utf8_lossy(body).contains("anaf-sim:nok") {
        errs.push("E: validari globale  SCHEMATRON   eroare: [BR-RO-SIM]-Factura a fost marcata anaf-sim:nok".into());
    }
    if errs.is_empty() {
        Ok(info)
    } else {
        Err(errs)
    }
}

async fn validare(
    AxState(st): AxState<Arc<State>>,
    Path((_env, standard)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Some(e) = st.take_technical_error() {
        return nok(&[e]);
    }
    match validate(&standard, &body, true) {
        Ok(_) => json_raw(
            StatusCode::OK,
            format!(r#"{{"stare":"ok","trace_id":"{}"}}"#, trace_id()),
        ),
        Err(m) => nok(&m),
    }
}

async fn transformare(
    AxState(st): AxState<Arc<State>>,
    Path((_env, standard)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Some(e) = st.take_technical_error() {
        return nok(&[e]);
    }
    to_pdf(&st, &standard, &body, true)
}

async fn transformare_novld(
    AxState(st): AxState<Arc<State>>,
    Path((env, standard, novld)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    if let Some(e) = st.take_technical_error() {
        return nok(&[e]);
    }
    if novld != "DA" {
        return not_found(
            st.clock.now_ms(),
            &format!("/FCTEL/rest/transformare/{standard}/{novld}").replace(&format!("/{env}"), ""),
        );
    }
    to_pdf(&st, &standard, &body, false)
}

fn to_pdf(st: &State, standard: &str, body: &[u8], check: bool) -> Response {
    let info = match validate(standard, body, check) {
        Ok(i) => i,
        Err(m) => return nok(&m),
    };
    let g = |paths: &[&str]| info.first(paths).unwrap_or_default();
    let lines = vec![
        format!(
            "{} {}",
            if standard == "FCN" {
                "Nota de creditare"
            } else {
                "Factura"
            },
            g(&["Invoice/ID", "CreditNote/ID", "ExchangedDocument/ID"])
        ),
        format!("Data emiterii: {}", g(&["IssueDate"])),
        format!(
            "Furnizor: {} ({})",
            g(&[
                "AccountingSupplierParty/Party/PartyLegalEntity/RegistrationName",
                "AccountingSupplierParty/Party/PartyName/Name"
            ]),
            g(&["AccountingSupplierParty/Party/PartyTaxScheme/CompanyID"])
        ),
        format!(
            "Client: {} ({})",
            g(&[
                "AccountingCustomerParty/Party/PartyLegalEntity/RegistrationName",
                "AccountingCustomerParty/Party/PartyName/Name"
            ]),
            g(&[
                "AccountingCustomerParty/Party/PartyTaxScheme/CompanyID",
                "AccountingCustomerParty/Party/PartyLegalEntity/CompanyID"
            ])
        ),
        format!(
            "Total de plata: {} {}",
            g(&["LegalMonetaryTotal/PayableAmount"]),
            g(&["DocumentCurrencyCode"])
        ),
        "Generat de anaf-sim (simulator ANAF)".to_string(),
    ];
    st.lock().counters.pdfs += 1;
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/pdf")],
        pdf(&lines),
    )
        .into_response()
}

/// A one-page PDF 1.4 with Helvetica text; offsets in the xref table are exact.
pub fn pdf(lines: &[String]) -> Vec<u8> {
    let mut content = String::from("BT\n/F1 12 Tf\n50 790 Td\n16 TL\n");
    for l in lines {
        content.push_str(&format!("({}) Tj T*\n", pdf_text(l)));
    }
    content.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
        format!("<< /Length {} >>\nstream\n{}endstream", content.len(), content),
    ];
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{}\nendobj\n", i + 1, o).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn pdf_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ă' | 'â' => 'a',
            'Ă' | 'Â' => 'A',
            'î' => 'i',
            'Î' => 'I',
            'ș' | 'ş' => 's',
            'Ș' | 'Ş' => 'S',
            'ț' | 'ţ' => 't',
            'Ț' | 'Ţ' => 'T',
            c if c.is_ascii() && !c.is_ascii_control() => c,
            _ => '?',
        })
        .flat_map(|c| match c {
            '(' | ')' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

const SIG_OK: &str = "Fișierele încărcate au fost validate cu succes, din perspectiva autenticității semnăturii aplicate și a apartenenței acesteia la XML-ul ce reprezintă factura electronică. Documentul factură de tip XML cu semnătura de validare atașată, este considerat document original din perspectiva legislativă și este generat prin intermediul sistemului național RO e-Factura.";
const SIG_NOK: &str = "Fișierele încărcate NU au putut fi validate cu succes, din perspectiva autenticității semnăturii aplicate și a apartenenței acesteia la XML-ul ce reprezintă factura electronică. Documentul factură de tip XML cu semnătura de validare atașată, NU poate fi considerat document original din perspectiva legislativă și NU este generat prin intermediul sistemului național RO e-Factura.";

async fn signature(AxState(st): AxState<Arc<State>>, mut mp: Multipart) -> Response {
    let mut file = None;
    let mut sig = None;
    while let Ok(Some(field)) = mp.next_field().await {
        let name = field.name().unwrap_or("").to_string();
        let data = field.bytes().await.unwrap_or_default();
        match name.as_str() {
            "file" => file = Some(data),
            "signature" => sig = Some(data),
            _ => {}
        }
    }
    let ok = match (file, sig) {
        (Some(f), Some(s)) => signature_matches(&st, &f, &s),
        _ => {
            return crate::respond::spring_error(
                st.clock.now_ms(),
                StatusCode::BAD_REQUEST,
                "Parametrii file si signature sunt obligatorii",
            )
        }
    };
    json_raw(
        StatusCode::OK,
        format!(r#"{{"msg":{}}}"#, js(if ok { SIG_OK } else { SIG_NOK })),
    )
}

/// The signature file must be one the simulator issued for exactly this file.
fn signature_matches(st: &State, file: &[u8], sig: &[u8]) -> bool {
    use sha2::Digest;
    let Ok(info) = xmlinfo::parse(sig) else {
        return false;
    };
    let (Some(digest), Some(value)) = (
        info.first(&["DigestValue"]),
        info.first(&["SignatureValue"]),
    ) else {
        return false;
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    if b64.encode(sha2::Sha256::digest(file)) != digest {
        return false;
    }
    let Ok(raw) = b64.decode(value.as_bytes()) else {
        return false;
    };
    st.signer.verify_bytes(digest.as_bytes(), &raw)
}
