//! e-Transport on api.anaf.ro: /{prod,test}/ETRANSPORT/ws/v1/{upload/ETRANSP/{cif}[/{1|2}],
//! stareMesaj/{id}, lista/{zile}/{cif}}, JSON answers as in ANAF's swagger pages.
//! A declaration gets its UIT at upload, stays "in prelucrare" for `processing_secs`, then
//! is `ok` (or `nok` with the marker `anaf-sim:nok` in the XML).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::auth::{bearer, check_cif, CifCheck};
use crate::clock::{yyyymmddhhmm, yyyymmddhhmmss};
use crate::quotas::Kind;
use crate::respond::{json_raw, not_found, trace_id};
use crate::state::State;
use crate::xmlinfo;

const DAY_MS: i64 = 24 * 3600 * 1000;

#[derive(Clone, Debug)]
pub struct Declaration {
    pub index: u64,
    pub env: String,
    pub cif: String,
    pub uit: String,
    pub uploaded_ms: i64,
    pub nok: bool,
    pub fields: HashMap<&'static str, String>,
}

pub struct Store {
    pub declarations: BTreeMap<u64, Declaration>,
    next: u64,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            declarations: BTreeMap::new(),
            next: 4_000_000_000 + (rand::random::<u32>() as u64 % 100_000) * 10,
        }
    }
}

pub fn router(st: Arc<State>) -> Router {
    Router::new()
        .route(
            "/{env}/ETRANSPORT/ws/v1/upload/{standard}/{cif}",
            post(upload_v1),
        )
        .route(
            "/{env}/ETRANSPORT/ws/v1/upload/{standard}/{cif}/{versiune}",
            post(upload_v),
        )
        .route("/{env}/ETRANSPORT/ws/v1/stareMesaj/{id}", get(stare))
        .route("/{env}/ETRANSPORT/ws/v1/lista/{zile}/{cif}", get(lista))
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(st)
}

fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// {"Errors":[{"errorMessage":…}],"dateResponse":…,"ExecutionStatus":1,"trace_id":…}
fn errors(now: i64, m: &str) -> Response {
    json_raw(
        StatusCode::OK,
        format!(
            r#"{{"Errors":[{{"errorMessage":{}}}],"dateResponse":"{}","ExecutionStatus":1,"trace_id":"{}"}}"#,
            js(m),
            yyyymmddhhmm(now),
            trace_id()
        ),
    )
}

fn uit() -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNPQRSTUVWXYZ0123456789";
    (0..16)
        .map(|_| A[rand::random::<usize>() % A.len()] as char)
        .collect()
}

async fn upload_v1(
    st: AxState<Arc<State>>,
    Path((env, standard, cif)): Path<(String, String, String)>,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    upload(st, env, standard, cif, "1".into(), h, body).await
}

async fn upload_v(
    st: AxState<Arc<State>>,
    Path((env, standard, cif, v)): Path<(String, String, String, String)>,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    upload(st, env, standard, cif, v, h, body).await
}

async fn upload(
    AxState(st): AxState<Arc<State>>,
    env: String,
    standard: String,
    cif: String,
    versiune: String,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = st.clock.now_ms();
    if env != "prod" && env != "test" {
        return not_found(now, &format!("/{env}/ETRANSPORT/ws/v1/upload/"));
    }
    let claims = match bearer(&st, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if standard != "ETRANSP" {
        return errors(
            now,
            "Valoarea acceptata pentru parametrul standard este ETRANSP",
        );
    }
    if versiune != "1" && versiune != "2" {
        return not_found(now, &format!("/{env}/ETRANSPORT/ws/v1/upload/"));
    }
    if cif.is_empty() || !cif.bytes().all(|b| b.is_ascii_digit()) {
        return errors(now, &format!("CIF introdus= {cif} nu este un numar"));
    }
    match check_cif(&st, &claims, &cif) {
        CifCheck::Ok => {}
        CifCheck::NoCif => {
            return errors(now, "Nu exista niciun CIF petru care sa aveti drept in SPV")
        }
        CifCheck::NotForCif => {
            return errors(now, &format!("Nu aveti drept in SPV pentru CIF={cif}"))
        }
        CifCheck::Forbidden(r) => return r,
    }
    if body.len() > 5 * 1024 * 1024 {
        return errors(now, "Marime fisier transmis mai mare de 5 MB");
    }
    let info = match xmlinfo::parse(&body) {
        Ok(i) if i.root == "eTransport" => i,
        Ok(i) => {
            return errors(
                now,
                &format!(
                    "Fisierul transmis nu este valid. org.xml.sax.SAXParseException; lineNumber: 2; columnNumber: {}; cvc-elt.1.a: Cannot find the declaration of element '{}'.",
                    i.root.len() + 3,
                    i.root
                ),
            )
        }
        Err(e) => {
            return errors(
                now,
                &format!("Fisierul transmis nu este valid. org.xml.sax.SAXParseException; {e}"),
            )
        }
    };
    let mut fields: HashMap<&'static str, String> = HashMap::new();
    let mut put = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            fields.insert(k, v);
        }
    };
    put(
        "cod_decl",
        info.attr("eTransport", "codDeclarant")
            .or(Some(cif.clone())),
    );
    put("ref_decl", info.attr("eTransport", "refDeclarant"));
    put("tip_op", info.attr("notificare", "codTipOperatiune"));
    put("pc_tara", info.attr("partenerComercial", "codTara"));
    put("pc_cod", info.attr("partenerComercial", "cod"));
    put("pc_den", info.attr("partenerComercial", "denumire"));
    put("tr_tara", info.attr("dateTransport", "codTaraOrgTransport"));
    put("tr_cod", info.attr("dateTransport", "codOrgTransport"));
    put("tr_den", info.attr("dateTransport", "denumireOrgTransport"));
    put("nr_veh", info.attr("dateTransport", "nrVehicul"));
    put(
        "data_transp",
        info.attr("dateTransport", "dataTransport")
            .map(|d| format!("{}000000", d.replace('-', ""))),
    );
    let ref_declarant = fields.get("ref_decl").cloned().unwrap_or_default();
    let nok = String::from_utf8_lossy(&body).contains("anaf-sim:nok");
    let mut g = st.lock();
    g.etransport.next += 1;
    let index = g.etransport.next;
    let code = uit();
    g.etransport.declarations.insert(
        index,
        Declaration {
            index,
            env,
            cif: cif.clone(),
            uit: code.clone(),
            uploaded_ms: now,
            nok,
            fields,
        },
    );
    *g.counters.etransport_uploads.entry(cif).or_insert(0) += 1;
    drop(g);
    let atentie = if versiune == "2" {
        r#","atentie":"Verificati starea XML-ului transmis. Codul UIT este valabil din momentul in care apare ca valid dupa apelul de stare""#
    } else {
        ""
    };
    json_raw(
        StatusCode::OK,
        format!(
            r#"{{"dateResponse":"{}","ExecutionStatus":0,"index_incarcare":{index},"UIT":"{code}","trace_id":"{}","ref_declarant":{}{atentie}}}"#,
            yyyymmddhhmm(now),
            trace_id(),
            js(&ref_declarant)
        ),
    )
}

async fn stare(
    AxState(st): AxState<Arc<State>>,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let now = st.clock.now_ms();
    if env != "prod" && env != "test" {
        return not_found(now, &format!("/{env}/ETRANSPORT/ws/v1/stareMesaj/"));
    }
    let claims = match bearer(&st, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(index) = id.trim().parse::<u64>() else {
        return errors(
            now,
            &format!("Id_incarcare introdus= {id} nu este un numar intreg"),
        );
    };
    let mut g = st.lock();
    if !g.enrolled_any(&claims.serial) {
        return errors(now, "Nu exista niciun CIF petru care sa aveti drept");
    }
    let Some(d) = g
        .etransport
        .declarations
        .get(&index)
        .filter(|d| d.env == env)
        .cloned()
    else {
        return errors(
            now,
            &format!("Nu exista declaratia de transport cu id_incarcare= {index}"),
        );
    };
    if !g.enrolled(&claims.serial, &d.cif) {
        return errors(
            now,
            &format!("Nu aveti dreptul de inteorgare pentru id_incarcare= {index}"),
        );
    }
    if let Err(limit) = g.quotas.hit(now, Kind::Stare, &format!("et:{index}")) {
        return errors(
            now,
            &format!("S-au facut deja {limit} de verificari, pentru id-incarcare solicitat, in cursul zilei"),
        );
    }
    let delay = g.processing_secs as i64 * 1000;
    drop(g);
    let (dr, tr) = (yyyymmddhhmm(now), trace_id());
    let body = if d.uploaded_ms + delay > now {
        format!(
            r#"{{"stare":"in prelucrare","dateResponse":"{dr}","ExecutionStatus":0,"trace_id":"{tr}"}}"#
        )
    } else if d.nok {
        format!(
            r#"{{"Errors":[{{"errorMessage":"UIT-ul nu poate fi identificat."}}],"stare":"nok","dateResponse":"{dr}","ExecutionStatus":1,"trace_id":"{tr}"}}"#
        )
    } else {
        format!(r#"{{"stare":"ok","dateResponse":"{dr}","ExecutionStatus":0,"trace_id":"{tr}"}}"#)
    };
    json_raw(StatusCode::OK, body)
}

async fn lista(
    AxState(st): AxState<Arc<State>>,
    Path((env, zile, cif)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let now = st.clock.now_ms();
    if env != "prod" && env != "test" {
        return not_found(now, &format!("/{env}/ETRANSPORT/ws/v1/lista/"));
    }
    let claims = match bearer(&st, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(z) = zile.trim().parse::<i64>() else {
        return errors(
            now,
            &format!("Numarul de zile introdus= {zile} nu este un numar intreg"),
        );
    };
    if !(1..=60).contains(&z) {
        return errors(now, "Numarul de zile trebuie sa fie intre 1 si 60");
    }
    if cif.is_empty() || !cif.bytes().all(|b| b.is_ascii_digit()) {
        return errors(now, &format!("CIF introdus= {cif} nu este un numar"));
    }
    match check_cif(&st, &claims, &cif) {
        CifCheck::Ok => {}
        CifCheck::NoCif => {
            return errors(now, "Nu exista niciun CIF petru care sa aveti drept in SPV")
        }
        CifCheck::NotForCif => {
            return errors(now, &format!("Nu aveti drept in SPV pentru CIF={cif}"))
        }
        CifCheck::Forbidden(r) => return r,
    }
    let mut g = st.lock();
    if let Err(limit) = g.quotas.hit(now, Kind::Lista, &format!("et:{cif}")) {
        return errors(
            now,
            &format!("S-au facut deja {limit} interogari de lista mesaje de catre utilizator in cursul zilei"),
        );
    }
    let delay = g.processing_secs as i64 * 1000;
    let mut ds: Vec<Declaration> = g
        .etransport
        .declarations
        .values()
        .filter(|d| d.env == env && d.cif == cif)
        .filter(|d| d.uploaded_ms + delay <= now && d.uploaded_ms >= now - z * DAY_MS)
        .cloned()
        .collect();
    drop(g);
    if ds.is_empty() {
        return errors(now, &format!("Nu exista mesaje in ultimele {z} zile"));
    }
    ds.sort_by_key(|d| std::cmp::Reverse(d.uploaded_ms));
    let items: Vec<String> = ds
        .iter()
        .map(|d| {
            let f = |k: &str| js(d.fields.get(k).map(String::as_str).unwrap_or(""));
            let created = yyyymmddhhmmss(d.uploaded_ms + delay);
            if d.nok {
                format!(
                    r#"{{"cod_decl":{},"sursa":"A","id_incarcare":"{}","data_creare":"{created}","mesaje":[{{"tip":"ERR","mesaj":"Nu a fost identificat UIT-ul printre notificarile valide anterioare."}}]}}"#,
                    f("cod_decl"),
                    d.index
                )
            } else {
                format!(
                    r#"{{"uit":"{}","cod_decl":{},"sursa":"A","id_incarcare":"{}","data_creare":"{created}","tip_op":{},"data_transp":{},"pc_tara":{},"pc_cod":{},"pc_den":{},"tr_tara":{},"tr_cod":{},"tr_den":{},"nr_veh":{}}}"#,
                    d.uit,
                    f("cod_decl"),
                    d.index,
                    f("tip_op"),
                    f("data_transp"),
                    f("pc_tara"),
                    f("pc_cod"),
                    f("pc_den"),
                    f("tr_tara"),
                    f("tr_cod"),
                    f("tr_den"),
                    f("nr_veh")
                )
            }
        })
        .collect();
    json_raw(
        StatusCode::OK,
        format!(
            r#"{{"mesaje":[{}],"serial":{},"cui":{},"titlu":"Lista Mesaje disponibile din ultimele {z} zile","dateResponse":"{}","ExecutionStatus":0,"trace_id":"{}"}}"#,
            items.join(","),
            js(&claims.serial),
            js(&cif),
            yyyymmddhhmm(now),
            trace_id()
        ),
    )
}
