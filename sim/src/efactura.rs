//! e-Factura on api.anaf.ro: /{prod,test}/FCTEL/rest/{upload,uploadb2c,stareMesaj,
//! listaMesajeFactura,listaMesajePaginatieFactura,descarcare}, answering in the formats
//! of ANAF's swagger (shared/anaf/swagger), texts included.
//!
//! Model: an upload is checked at once (parameters, rights, size, XML well-formedness and
//! root element, as ANAF's synchronous XSD step does), then stays "in prelucrare" for
//! `processing_secs` of simulator time. It then settles to `ok` (seller gets FACTURA
//! TRIMISA; the buyer, when its CIF is known to the simulator, FACTURA PRIMITA) or `nok`
//! (ERORI FACTURA: seller CIF with a wrong control digit, the marker `anaf-sim:nok`
//! in the XML, or a forced outcome), or "XML cu erori nepreluat de sistem" (marker
//! `anaf-sim:nepreluat` or forced). prod and test are separate systems.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::auth::{bearer, check_cif, CifCheck};
use crate::clock::{dd_mm_yyyy_hms, yyyymmddhhmm};
use crate::quotas::Kind;
use crate::respond::{esc_attr, json_raw, not_found, spring_error, xml};
use crate::state::{Inner, State};
use crate::xmlinfo;

pub const MAX_UPLOAD: usize = 10 * 1024 * 1024;
const DAY_MS: i64 = 24 * 3600 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Nok,
    /// "XML cu erori nepreluat de sistem".
    Nepreluat,
}

#[derive(Clone, Debug)]
pub struct Upload {
    pub id_incarcare: u64,
    pub id_descarcare: u64,
    pub env: String,
    pub query_cif: String,
    pub seller: Option<String>,
    pub buyer: Option<String>,
    pub standard: String,
    pub b2c: bool,
    pub extern_: bool,
    pub autofactura: bool,
    pub xml: Vec<u8>,
    pub uploaded_ms: i64,
    pub outcome: Outcome,
    pub errors: Vec<String>,
    pub settled: bool,
}

#[derive(Clone, Debug)]
pub struct Message {
    pub id: u64,
    pub env: String,
    pub cif: String,
    pub data_creare_ms: i64,
    pub id_solicitare: u64,
    pub detalii: String,
    pub tip: String,
}

pub struct Store {
    pub uploads: BTreeMap<u64, Upload>,
    pub messages: Vec<Message>,
    pub forced: VecDeque<Outcome>,
    next_incarcare: u64,
    next_descarcare: u64,
}

impl Default for Store {
    fn default() -> Self {
        let r = rand::random::<u32>() as u64 % 100_000;
        Store {
            uploads: BTreeMap::new(),
            messages: Vec::new(),
            forced: VecDeque::new(),
            next_incarcare: 5_001_000_000 + r * 10,
            next_descarcare: 3_001_000_000 + r * 10,
        }
    }
}

impl Store {
    fn ids(&mut self) -> (u64, u64) {
        self.next_incarcare += 1;
        self.next_descarcare += 1;
        (self.next_incarcare, self.next_descarcare)
    }
}

/// Turns uploads whose processing time has passed into their messages.
pub fn settle(g: &mut Inner, now_ms: i64) {
    let delay = g.processing_secs as i64 * 1000;
    // Known companies: every default one, and any a certificate is enrolled for.
    let mut known = g.cifs.clone();
    known.extend(
        g.enrolment
            .iter()
            .filter(|(_, v)| **v)
            .map(|((_, c), _)| c.clone()),
    );
    let mut new_msgs = Vec::new();
    for u in g.efactura.uploads.values_mut() {
        if u.settled || u.uploaded_ms + delay > now_ms {
            continue;
        }
        u.settled = true;
        let at = u.uploaded_ms + delay;
        let emitent = u.seller.clone().unwrap_or_else(|| u.query_cif.clone());
        let msg = |cif: &str, tip: &str, detalii: String| Message {
            id: u.id_descarcare,
            env: u.env.clone(),
            cif: cif.to_string(),
            data_creare_ms: at,
            id_solicitare: u.id_incarcare,
            detalii,
            tip: tip.to_string(),
        };
        match u.outcome {
            Outcome::Nepreluat => {}
            Outcome::Nok => new_msgs.push(msg(
                &emitent,
                "ERORI FACTURA",
                format!(
                    "Erori de validare identificate la factura primita cu id_incarcare={}",
                    u.id_incarcare
                ),
            )),
            Outcome::Ok if u.standard == "RASP" => new_msgs.push(msg(
                &u.query_cif,
                "MESAJ CUMPARATOR TRANSMIS",
                format!(
                    "Mesaj cumparator transmis cu id_incarcare={}",
                    u.id_incarcare
                ),
            )),
            Outcome::Ok => {
                let beneficiar = u.buyer.clone().unwrap_or_default();
                let detalii = format!(
                    "Factura cu id_incarcare={} emisa de cif_emitent={} pentru cif_beneficiar={}",
                    u.id_incarcare, emitent, beneficiar
                );
                let sender = if u.autofactura {
                    u.query_cif.clone()
                } else {
                    emitent.clone()
                };
                new_msgs.push(msg(&sender, "FACTURA TRIMISA", detalii.clone()));
                let receiver = if u.autofactura {
                    Some(emitent.clone())
                } else {
                    u.buyer.clone()
                };
                if let Some(b) = receiver {
                    if !u.b2c && !u.extern_ && known.contains(&b) && b != sender {
                        new_msgs.push(msg(&b, "FACTURA PRIMITA", detalii));
                    }
                }
            }
        }
    }
    g.efactura.messages.extend(new_msgs);
}

/// The day of `ms` in Romania, `YYYY-MM-DD`.
fn day_of(ms: i64) -> String {
    crate::clock::ro_time(ms).format("%Y-%m-%d").to_string()
}

/// One seeded upload from `seller` to `buyer` at `uploaded_ms`, with a generated document;
/// its index (`id_incarcare`).
fn seed_one(
    g: &mut Inner,
    env: &str,
    seller: &str,
    buyer: &str,
    uploaded_ms: i64,
    outcome: Outcome,
) -> u64 {
    let (id_incarcare, id_descarcare) = g.efactura.ids();
    let doc = crate::documents::document(id_incarcare, seller, buyer, &day_of(uploaded_ms));
    let upload = Upload {
        id_incarcare,
        id_descarcare,
        env: env.to_string(),
        query_cif: seller.to_string(),
        seller: Some(seller.to_string()),
        buyer: Some(buyer.to_string()),
        standard: doc.standard.into(),
        b2c: false,
        extern_: false,
        autofactura: false,
        xml: doc.xml.into_bytes(),
        uploaded_ms,
        outcome,
        errors: if outcome == Outcome::Nok {
            vec!["E: [BR-RO-010] Numarul facturii trebuie sa contina cel putin o cifra".into()]
        } else {
            Vec::new()
        },
        settled: false,
    };
    g.efactura.uploads.insert(id_incarcare, upload);
    id_incarcare
}

impl State {
    pub fn seed_invoices(&self, env: &str, seller: &str, buyer: &str, n: usize) -> Vec<u64> {
        let now = self.clock.now_ms();
        let delay = self.lock().processing_secs as i64 * 1000;
        // Three minutes back, one a minute: all listed by a client that keeps its listings
        // a little behind the clock it shares with the simulator.
        let at: Vec<i64> = (0..n)
            .map(|i| now - delay - 180_000 - (i as i64) * 60_000)
            .collect();
        self.seed_received(env, &[seller.to_string()], buyer, &at)
    }

    /// An inbox of realistic size for `cif`: `n` invoices received from 40 suppliers over
    /// the last `days` days (UBL invoices and credit notes, CII invoices), and for every
    /// 10th of them one the company sent itself (FACTURA TRIMISA) and, for every 25th, one
    /// ANAF rejected (ERORI FACTURA).
    pub fn seed_inbox(&self, env: &str, cif: &str, n: usize, days: i64) -> Vec<u64> {
        let now = self.clock.now_ms();
        let delay = self.lock().processing_secs as i64 * 1000;
        let span = (days * DAY_MS - delay - 3_600_000).max(60_000);
        let at: Vec<i64> = (0..n)
            .map(|i| now - delay - 300_000 - span * i as i64 / n.max(1) as i64)
            .collect();
        let suppliers: Vec<String> = (0..40).map(|i| format!("{}", 9_000_000 + i * 7)).collect();
        let ids = self.seed_received(env, &suppliers, cif, &at);
        let mut g = self.lock();
        for (i, &t) in at.iter().enumerate().step_by(10) {
            let outcome = if i % 25 == 0 {
                Outcome::Nok
            } else {
                Outcome::Ok
            };
            seed_one(&mut g, env, cif, "8000006", t, outcome);
        }
        settle(&mut g, now);
        ids
    }

    /// Received invoices from `suppliers` (in turn) to `buyer`, uploaded at `at`.
    fn seed_received(&self, env: &str, suppliers: &[String], buyer: &str, at: &[i64]) -> Vec<u64> {
        let now = self.clock.now_ms();
        let mut g = self.lock();
        g.cifs.insert(buyer.to_string());
        g.cifs.extend(suppliers.iter().cloned());
        let mut ids = Vec::with_capacity(at.len());
        for (i, &t) in at.iter().enumerate() {
            let seller = &suppliers[i % suppliers.len()];
            ids.push(seed_one(&mut g, env, seller, buyer, t, Outcome::Ok));
        }
        settle(&mut g, now);
        ids
    }
}

pub fn router(st: Arc<State>) -> Router {
    Router::new()
        .route("/{env}/FCTEL/rest/upload", post(upload))
        .route("/{env}/FCTEL/rest/uploadb2c", post(upload_b2c))
        .route("/{env}/FCTEL/rest/stareMesaj", get(stare))
        .route("/{env}/FCTEL/rest/listaMesajeFactura", get(lista))
        .route(
            "/{env}/FCTEL/rest/listaMesajePaginatieFactura",
            get(lista_paginata),
        )
        .route("/{env}/FCTEL/rest/descarcare", get(descarcare))
        // Bodies past 10 MB must reach the handler to get ANAF's own answer.
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(st)
}

fn env_ok(env: &str) -> bool {
    env == "prod" || env == "test"
}

type Q = Query<HashMap<String, String>>;

// ---------- upload ----------

fn upload_xml(now: i64, status: u8, index: Option<u64>, error: Option<&str>) -> Response {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<header xmlns=\"mfp:anaf:dgti:spv:respUploadFisier:v1\" dateResponse=\"{}\" ExecutionStatus=\"{}\"",
        yyyymmddhhmm(now),
        status
    );
    if let Some(i) = index {
        s.push_str(&format!(" index_incarcare=\"{i}\""));
    }
    match error {
        None => s.push_str("/>"),
        Some(e) => s.push_str(&format!(
            ">\n    <Errors errorMessage=\"{}\"/>\n</header>",
            esc_attr(e)
        )),
    }
    xml(s)
}

async fn upload(
    st: AxState<Arc<State>>,
    env: Path<String>,
    h: HeaderMap,
    q: Q,
    body: Bytes,
) -> Response {
    do_upload(st, env, h, q, body, false).await
}

async fn upload_b2c(
    st: AxState<Arc<State>>,
    env: Path<String>,
    h: HeaderMap,
    q: Q,
    body: Bytes,
) -> Response {
    do_upload(st, env, h, q, body, true).await
}

async fn do_upload(
    AxState(st): AxState<Arc<State>>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Query(q): Q,
    body: Bytes,
    b2c: bool,
) -> Response {
    let now = st.clock.now_ms();
    let path = format!(
        "/{env}/FCTEL/rest/{}",
        if b2c { "uploadb2c" } else { "upload" }
    );
    if !env_ok(&env) {
        return not_found(now, &path);
    }
    let claims = match bearer(&st, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (Some(standard), Some(cif)) = (q.get("standard"), q.get("cif")) else {
        return spring_error(
            now,
            StatusCode::BAD_REQUEST,
            "Parametrii standard si cif sunt obligatorii",
        );
    };
    if body.is_empty() {
        return spring_error(
            now,
            StatusCode::BAD_REQUEST,
            "Trebuie sa aveti atasat in request un fisier de tip xml",
        );
    }
    let err = |m: &str| upload_xml(now, 1, None, Some(m));
    if !["UBL", "CN", "CII", "RASP"].contains(&standard.as_str()) {
        return err("Valorile acceptate pentru parametrul standard sunt UBL, CN, CII sau RASP");
    }
    if cif.is_empty() || !cif.bytes().all(|b| b.is_ascii_digit()) {
        return err(&format!("CIF introdus= {cif} nu este un numar"));
    }
    let flag = |name: &str| q.get(name).map(|v| v == "DA");
    if flag("extern") == Some(false) {
        return err("Daca parametrul extern trebuie completat, valoarea acceptata este DA");
    }
    if flag("autofactura") == Some(false) {
        return err("Daca parametrul autofacturare trebuie completat, valoarea acceptata este DA");
    }
    if flag("executare") == Some(false) {
        return err("Daca parametrul executare trebuie completat, valoarea acceptata este DA");
    }
    if body.len() > MAX_UPLOAD {
        return err("Marime fisier transmis mai mare de 10 MB.");
    }
    if let Some(e) = st.take_technical_error() {
        return err(&e);
    }
    match check_cif(&st, &claims, cif) {
        CifCheck::Ok => {}
        CifCheck::NoCif => return err("Nu exista niciun CIF pentru care sa aveti drept in SPV"),
        CifCheck::NotForCif => return err(&format!("Nu aveti drept in SPV pentru CIF={cif}")),
        CifCheck::Forbidden(r) => return r,
    }
    if flag("executare") == Some(true) && !st.lock().executare_registry.contains(cif) {
        return err(&format!(
            "CIF introdus= {cif} nu este inregistrat in Registrul RO e-Factura executari silite"
        ));
    }
    if standard == "RASP" {
        if let Err(limit) = st.lock().quotas.hit(now, Kind::UploadRasp, cif) {
            return err(&format!(
                "S-au incarcat deja {limit} de mesaje de tip RASP pentru cui={cif} in cursul zilei"
            ));
        }
    }
    let info = match xmlinfo::parse(&body) {
        Ok(i) => i,
        Err(e) => {
            return err(&format!(
                "Fisierul transmis nu este valid. org.xml.sax.SAXParseException; {e} "
            ))
        }
    };
    let expected = match standard.as_str() {
        "UBL" => Some("Invoice"),
        "CN" => Some("CreditNote"),
        "CII" => Some("CrossIndustryInvoice"),
        _ => None,
    };
    if let Some(root) = expected {
        if info.root != root {
            return err(&format!(
                "Fisierul transmis nu este valid. org.xml.sax.SAXParseException; lineNumber: 2; columnNumber: {}; cvc-elt.1.a: Cannot find the declaration of element '{}'. ",
                info.root.len() + 3,
                info.root
            ));
        }
    }
    let seller = info
        .first(&[
            "AccountingSupplierParty/Party/PartyTaxScheme/CompanyID",
            "AccountingSupplierParty/Party/PartyLegalEntity/CompanyID",
            "SellerTradeParty/SpecifiedTaxRegistration/ID",
            "SellerTradeParty/SpecifiedLegalOrganization/ID",
        ])
        .and_then(|c| xmlinfo::cif_digits(&c));
    let buyer = info
        .first(&[
            "AccountingCustomerParty/Party/PartyTaxScheme/CompanyID",
            "AccountingCustomerParty/Party/PartyLegalEntity/CompanyID",
            "AccountingCustomerParty/Party/PartyIdentification/ID",
            "BuyerTradeParty/SpecifiedTaxRegistration/ID",
            "BuyerTradeParty/SpecifiedLegalOrganization/ID",
        ])
        .and_then(|c| xmlinfo::cif_digits(&c));
    let text = String::from_utf8_lossy(&body);
    let mut errors = Vec::new();
    let mut g = st.lock();
    let forced = g.efactura.forced.pop_front();
    let outcome = if let Some(o) = forced {
        o
    } else if text.contains("anaf-sim:nepreluat") {
        Outcome::Nepreluat
    } else if text.contains("anaf-sim:nok") {
        errors.push("E: validari globale  SCHEMATRON   eroare: [BR-RO-SIM]-Factura a fost marcata anaf-sim:nok".to_string());
        Outcome::Nok
    } else if let Some(s) = seller
        .as_ref()
        .filter(|s| standard != "RASP" && !xmlinfo::cif_valid(s))
    {
        errors.push(format!(
            "E: AccountingSupplierParty (1) sectiune Party (1) sectiune PartyTaxScheme (1) sectiune CompanyID (1)  eroare regula: R_BT_32_cui: Cui vanzator incorect / validare CUI ({s}) "
        ));
        Outcome::Nok
    } else {
        Outcome::Ok
    };
    if outcome == Outcome::Nok && errors.is_empty() {
        errors.push(
            "E: validari globale  SCHEMATRON   eroare: [BR-RO-SIM]-Rezultat nok impus de anaf-sim"
                .into(),
        );
    }
    let (id_incarcare, id_descarcare) = g.efactura.ids();
    g.efactura.uploads.insert(
        id_incarcare,
        Upload {
            id_incarcare,
            id_descarcare,
            env,
            query_cif: cif.clone(),
            seller,
            buyer,
            standard: standard.clone(),
            b2c,
            extern_: flag("extern") == Some(true),
            autofactura: flag("autofactura") == Some(true),
            xml: body.to_vec(),
            uploaded_ms: now,
            outcome,
            errors,
            settled: false,
        },
    );
    *g.counters.uploads.entry(cif.clone()).or_insert(0) += 1;
    drop(g);
    upload_xml(now, 0, Some(id_incarcare), None)
}

// ---------- stareMesaj ----------

fn stare_xml(inner: &str) -> Response {
    xml(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<header xmlns=\"mfp:anaf:dgti:efactura:stareMesajFactura:v1\"{inner}"
    ))
}

fn stare_error(m: &str) -> Response {
    stare_xml(&format!(
        ">\n    <Errors errorMessage=\"{}\"/>\n</header>",
        esc_attr(m)
    ))
}

/// May the token's certificate see this upload (enrolled for a CIF it concerns)?
fn may_see(g: &Inner, serial: &str, u: &Upload) -> bool {
    [Some(&u.query_cif), u.seller.as_ref(), u.buyer.as_ref()]
        .into_iter()
        .flatten()
        .any(|c| g.enrolled(serial, c))
}

async fn stare(
    AxState(st): AxState<Arc<State>>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    let now = st.clock.now_ms();
    if !env_ok(&env) {
        return not_found(now, &format!("/{env}/FCTEL/rest/stareMesaj"));
    }
    let claims = match bearer(&st, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(raw) = q.get("id_incarcare") else {
        return spring_error(
            now,
            StatusCode::BAD_REQUEST,
            "Parametrul id_incarcare este obligatoriu",
        );
    };
    let Ok(id) = raw.trim().parse::<u64>() else {
        return stare_error(&format!(
            "Id_incarcare introdus= {raw} nu este un numar intreg"
        ));
    };
    let mut g = st.lock();
    if !g.enrolled_any(&claims.serial) {
        return stare_error("Nu exista niciun CIF petru care sa aveti drept");
    }
    settle(&mut g, now);
    let Some(u) = g
        .efactura
        .uploads
        .get(&id)
        .filter(|u| u.env == env)
        .cloned()
    else {
        return stare_error(&format!("Nu exista factura cu id_incarcare= {id}"));
    };
    if !may_see(&g, &claims.serial, &u) {
        if g.foreign_cif_403 {
            return spring_error(now, StatusCode::FORBIDDEN, "Forbidden");
        }
        return stare_error(&format!(
            "Nu aveti dreptul de inteorgare pentru id_incarcare= {id}"
        ));
    }
    if let Err(limit) = g.quotas.hit(now, Kind::Stare, &id.to_string()) {
        return stare_error(&format!(
            "S-au facut deja {limit} descarcari de mesaj in cursul zilei"
        ));
    }
    drop(g);
    if !u.settled {
        return stare_xml(" stare=\"in prelucrare\"/>");
    }
    match u.outcome {
        Outcome::Ok => stare_xml(&format!(
            " stare=\"ok\" id_descarcare=\"{}\"/>",
            u.id_descarcare
        )),
        Outcome::Nok => stare_xml(&format!(
            " stare=\"nok\" id_descarcare=\"{}\"/>",
            u.id_descarcare
        )),
        Outcome::Nepreluat => stare_xml(" stare=\"XML cu erori nepreluat de sistem\"/>"),
    }
}

// ---------- lists ----------

fn eroare(titlu: &str, m: &str) -> Response {
    json_raw(
        StatusCode::OK,
        format!(
            r#"{{"eroare":{},"titlu":{}}}"#,
            serde_json::to_string(m).unwrap(),
            serde_json::to_string(titlu).unwrap()
        ),
    )
}

fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn mesaj_json(m: &Message) -> String {
    format!(
        r#"{{"data_creare":{},"cif":{},"id_solicitare":{},"detalii":{},"tip":{},"id":{}}}"#,
        js(&yyyymmddhhmm(m.data_creare_ms)),
        js(&m.cif),
        js(&m.id_solicitare.to_string()),
        js(&m.detalii),
        js(&m.tip),
        js(&m.id.to_string())
    )
}

fn filtru_ok(f: Option<&String>) -> Result<Option<char>, ()> {
    match f.map(String::as_str) {
        None => Ok(None),
        Some("E") => Ok(Some('E')),
        Some("T") => Ok(Some('T')),
        Some("P") => Ok(Some('P')),
        Some("R") => Ok(Some('R')),
        Some(_) => Err(()),
    }
}

fn matches_filtru(m: &Message, f: Option<char>) -> bool {
    match f {
        None => true,
        Some('E') => m.tip == "ERORI FACTURA",
        Some('T') => m.tip == "FACTURA TRIMISA",
        Some('P') => m.tip == "FACTURA PRIMITA",
        Some('R') => m.tip.starts_with("MESAJ CUMPARATOR"),
        _ => false,
    }
}

fn select(g: &Inner, env: &str, cif: &str, f: Option<char>, from: i64, to: i64) -> Vec<Message> {
    let mut v: Vec<Message> = g
        .efactura
        .messages
        .iter()
        .filter(|m| m.env == env && m.cif == cif && matches_filtru(m, f))
        .filter(|m| m.data_creare_ms >= from && m.data_creare_ms <= to)
        .cloned()
        .collect();
    v.sort_by(|a, b| {
        b.data_creare_ms
            .cmp(&a.data_creare_ms)
            .then(b.id.cmp(&a.id))
    });
    v
}

async fn lista(
    AxState(st): AxState<Arc<State>>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    let now = st.clock.now_ms();
    if !env_ok(&env) {
        return not_found(now, &format!("/{env}/FCTEL/rest/listaMesajeFactura"));
    }
    let claims = match bearer(&st, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    const T: &str = "Lista Mesaje";
    let (Some(zile), Some(cif)) = (q.get("zile"), q.get("cif")) else {
        return spring_error(
            now,
            StatusCode::BAD_REQUEST,
            "Parametrii zile si cif sunt obligatorii",
        );
    };
    if cif.is_empty() || !cif.bytes().all(|b| b.is_ascii_digit()) {
        return eroare(T, &format!("CIF introdus= {cif} nu este un numar"));
    }
    let Ok(z) = zile.trim().parse::<i64>() else {
        return eroare(
            T,
            &format!("Numarul de zile introdus= {zile} nu este un numar intreg"),
        );
    };
    if !(1..=60).contains(&z) {
        return eroare(T, "Numarul de zile trebuie sa fie intre 1 si 60");
    }
    let Ok(f) = filtru_ok(q.get("filtru")) else {
        return eroare(
            T,
            "Valorile acceptate pentru parametrul filtru sunt E, T, P sau R",
        );
    };
    match check_cif(&st, &claims, cif) {
        CifCheck::Ok => {}
        CifCheck::NoCif => {
            return eroare(T, "Nu exista niciun CIF pentru care sa aveti drept in SPV")
        }
        CifCheck::NotForCif => {
            return eroare(T, &format!("Nu aveti drept in SPV pentru CIF={cif}"))
        }
        CifCheck::Forbidden(r) => return r,
    }
    let mut g = st.lock();
    if let Err(limit) = g.quotas.hit(now, Kind::Lista, cif) {
        return eroare(
            T,
            &format!("S-au facut deja {limit} interogari de lista mesaje de catre utilizator in cursul zilei"),
        );
    }
    settle(&mut g, now);
    let msgs = select(&g, &env, cif, f, now - z * DAY_MS, now);
    drop(g);
    if msgs.is_empty() {
        return eroare(T, &format!("Nu exista mesaje in ultimele {z} zile"));
    }
    if msgs.len() > 500 {
        return eroare(
            T,
            "Lista de mesaje este mai mare decat numarul de 500 elemente permise in pagina. Folositi endpoint-ul cu paginatie.",
        );
    }
    let items: Vec<String> = msgs.iter().map(mesaj_json).collect();
    json_raw(
        StatusCode::OK,
        format!(
            r#"{{"mesaje":[{}],"serial":{},"cui":{},"titlu":{}}}"#,
            items.join(","),
            js(&claims.serial),
            js(cif),
            js(&format!("Lista Mesaje disponibile din ultimele {z} zile"))
        ),
    )
}

async fn lista_paginata(
    AxState(st): AxState<Arc<State>>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    let now = st.clock.now_ms();
    if !env_ok(&env) {
        return not_found(
            now,
            &format!("/{env}/FCTEL/rest/listaMesajePaginatieFactura"),
        );
    }
    let claims = match bearer(&st, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    const T: &str = "Lista Mesaje";
    let (Some(start), Some(end), Some(cif), Some(pagina)) = (
        q.get("startTime"),
        q.get("endTime"),
        q.get("cif"),
        q.get("pagina"),
    ) else {
        return spring_error(
            now,
            StatusCode::BAD_REQUEST,
            "Parametrii startTime, endTime, cif si pagina sunt obligatorii",
        );
    };
    let bad = |name: &str, v: &str| {
        eroare(
            T,
            &format!("{name} = {v} nu este un numar sau nu are o valoare acceptata de sistem"),
        )
    };
    if cif.is_empty() || !cif.bytes().all(|b| b.is_ascii_digit()) {
        return eroare(
            T,
            &format!(
                "CIF introdus= {cif} nu este un numar sau nu are o valoare acceptata de sistem"
            ),
        );
    }
    let Ok(start_ms) = start.trim().parse::<i64>() else {
        return bad("startTime", start);
    };
    let Ok(end_ms) = end.trim().parse::<i64>() else {
        return bad("endTime", end);
    };
    let Ok(page) = pagina.trim().parse::<u64>() else {
        return bad("pagina", pagina);
    };
    if start_ms < now - 60 * DAY_MS {
        return eroare(
            T,
            &format!(
                "startTime = {} nu poate fi mai vechi de 60 de zile fata de momentul requestului",
                dd_mm_yyyy_hms(start_ms)
            ),
        );
    }
    if end_ms <= start_ms {
        return eroare(
            T,
            &format!(
                "endTime = {} nu poate fi <= startTime = {}",
                dd_mm_yyyy_hms(end_ms),
                dd_mm_yyyy_hms(start_ms)
            ),
        );
    }
    // Judged by ANAF's clock: an endTime even a second ahead of it is refused.
    if end_ms > now {
        return eroare(
            T,
            &format!(
                "endTime = {} nu poate in viitor fata de momentul requestului",
                dd_mm_yyyy_hms(end_ms)
            ),
        );
    }
    let Ok(f) = filtru_ok(q.get("filtru")) else {
        return eroare(
            T,
            "Valorile acceptate pentru parametrul filtru sunt E, T, P sau R",
        );
    };
    match check_cif(&st, &claims, cif) {
        CifCheck::Ok => {}
        CifCheck::NoCif => {
            return eroare(T, "Nu exista niciun CIF pentru care sa aveti drept in SPV")
        }
        CifCheck::NotForCif => {
            return eroare(T, &format!("Nu aveti drept in SPV pentru CIF={cif}"))
        }
        CifCheck::Forbidden(r) => return r,
    }
    let mut g = st.lock();
    if let Err(limit) = g.quotas.hit(now, Kind::ListaPaginata, cif) {
        return eroare(
            T,
            &format!("S-au facut deja {limit} interogari de lista mesaje de catre utilizator in cursul zilei"),
        );
    }
    settle(&mut g, now);
    let msgs = select(&g, &env, cif, f, start_ms, end_ms);
    let per = g.page_size.max(1);
    drop(g);
    if msgs.is_empty() {
        return eroare(T, "Nu exista mesaje in intervalul selectat");
    }
    let total = msgs.len();
    let pages = total.div_ceil(per);
    let page = page.max(1) as usize;
    if page > pages {
        return eroare(
            T,
            &format!(
                "Pagina solicitata {page} este mai mare decat numarul toatal de pagini {pages}"
            ),
        );
    }
    let items: Vec<String> = msgs
        .iter()
        .skip((page - 1) * per)
        .take(per)
        .map(mesaj_json)
        .collect();
    json_raw(
        StatusCode::OK,
        format!(
            r#"{{"mesaje":[{}],"numar_inregistrari_in_pagina":{},"numar_total_inregistrari_per_pagina":{per},"numar_total_inregistrari":{total},"numar_total_pagini":{pages},"index_pagina_curenta":{page},"serial":{},"cui":{},"titlu":{}}}"#,
            items.join(","),
            items.len(),
            js(&claims.serial),
            js(cif),
            js(&format!(
                "Lista Mesaje disponibile din intervalul {} - {}",
                dd_mm_yyyy_hms(start_ms),
                dd_mm_yyyy_hms(end_ms)
            ))
        ),
    )
}

// ---------- descarcare ----------

async fn descarcare(
    AxState(st): AxState<Arc<State>>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    let now = st.clock.now_ms();
    if !env_ok(&env) {
        return not_found(now, &format!("/{env}/FCTEL/rest/descarcare"));
    }
    let claims = match bearer(&st, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    const T: &str = "Descarcare mesaj";
    let Some(raw) = q.get("id") else {
        return spring_error(
            now,
            StatusCode::BAD_REQUEST,
            "Parametrul id este obligatoriu",
        );
    };
    let Ok(id) = raw.trim().parse::<u64>() else {
        return eroare(
            T,
            &format!("Id descarcare introdus= {raw} nu este un numar intreg"),
        );
    };
    let mut g = st.lock();
    settle(&mut g, now);
    let msgs: Vec<Message> = g
        .efactura
        .messages
        .iter()
        .filter(|m| m.id == id && m.env == env)
        .cloned()
        .collect();
    // Downloads are kept 60 days.
    if msgs.is_empty() || msgs.iter().all(|m| now - m.data_creare_ms > 60 * DAY_MS) {
        return eroare(
            T,
            &format!("Pentru id={id} nu exista inregistrata nici o factura"),
        );
    }
    if !msgs.iter().any(|m| g.enrolled(&claims.serial, &m.cif)) {
        if g.foreign_cif_403 {
            return spring_error(now, StatusCode::FORBIDDEN, "Forbidden");
        }
        return eroare(T, "Nu aveti dreptul sa descarcati acesta factura");
    }
    if let Err(limit) = g.quotas.hit(now, Kind::Descarcare, &id.to_string()) {
        return eroare(
            T,
            &format!("S-au facut deja {limit} descarcari de mesaj in cursul zilei"),
        );
    }
    let upload = g
        .efactura
        .uploads
        .get(&msgs[0].id_solicitare)
        .cloned()
        .expect("message of an upload");
    *g.counters.downloads.entry(id.to_string()).or_default() += 1;
    drop(g);
    let zip = build_zip(&st, &upload, msgs[0].data_creare_ms);
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename={id}.zip"),
            ),
        ],
        zip,
    )
        .into_response()
}

/// The answer file of a nok upload (validation errors), as the ZIP carries it.
fn errors_xml(u: &Upload, at_ms: i64) -> Vec<u8> {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<header xmlns=\"mfp:anaf:dgti:efactura:mesajEroriFactuta:v1\" dateCreated=\"{}\" Index_incarcare=\"{}\" Cif_emitent=\"{}\">\n",
        yyyymmddhhmm(at_ms),
        u.id_incarcare,
        u.seller.clone().unwrap_or_else(|| u.query_cif.clone())
    );
    for e in &u.errors {
        s.push_str(&format!("    <Error errorMessage=\"{}\"/>\n", esc_attr(e)));
    }
    s.push_str("</header>");
    s.into_bytes()
}

/// A detached signature over the file, in XMLDSig form: SHA-256 digest of the file and
/// an RSA-SHA512 signature of that digest by the simulator's key. /api/validate/signature
/// on the public host checks both.
pub fn signature_xml(st: &State, file: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    let b64 = base64::engine::general_purpose::STANDARD;
    let digest = sha2::Sha256::digest(file);
    let digest_b64 = b64.encode(digest);
    let sig = b64.encode(st.signer.sign_bytes(digest_b64.as_bytes()));
    let ca = b64.encode(&st.pki.ca_der);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?><Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\" Id=\"anaf-sim\"><SignedInfo><CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/><SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512\"/><Reference URI=\"\"><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><DigestValue>{digest_b64}</DigestValue></Reference></SignedInfo><SignatureValue>{sig}</SignatureValue><KeyInfo><X509Data><X509Certificate>{ca}</X509Certificate></X509Data></KeyInfo></Signature>"
    )
    .into_bytes()
}

fn build_zip(st: &State, u: &Upload, at_ms: i64) -> Vec<u8> {
    let file = match u.outcome {
        Outcome::Nok => errors_xml(u, at_ms),
        _ => u.xml.clone(),
    };
    let sig = signature_xml(st, &file);
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file(format!("{}.xml", u.id_incarcare), opts)
        .expect("zip");
    w.write_all(&file).expect("zip");
    w.start_file(format!("semnatura_{}.xml", u.id_incarcare), opts)
        .expect("zip");
    w.write_all(&sig).expect("zip");
    w.finish().expect("zip").into_inner()
}
