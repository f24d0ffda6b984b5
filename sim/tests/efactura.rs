//! e-Factura answers compared with the examples of ANAF's swagger (shared/anaf/swagger),
//! over real HTTPS.

mod common;

use std::io::Read;
use std::time::Duration;

use anaf_sim::{Outcome, QuotaKind};
use common::ojson::{parse, same_shape};
use common::*;

const SELLER: &str = "14399840";
const BUYER: &str = "8000006";
const SERIAL: &str = "1234AA456";

fn up_ex(name: &str) -> String {
    norm_xml(&swagger_example(
        "upload.json",
        "/upload",
        "post",
        "200",
        name,
    ))
}

fn stare_ex(name: &str) -> String {
    norm_xml(&swagger_example(
        "staremesaj.json",
        "/stareMesaj",
        "get",
        "200",
        name,
    ))
}

/// Compares a JSON answer with an example; `volatile` keys only need the same kind.
fn assert_json(example: &str, actual: &str, volatile: &[&str]) {
    if let Err(e) = same_shape(&parse(example), &parse(actual), volatile) {
        let cut = |s: &str| s.chars().take(700).collect::<String>();
        panic!("{e}\nanswer:  {}\nexample: {}", cut(actual), cut(example));
    }
}

fn spring_400(file: &str, path: &str, method: &str, name: &str, actual: (u16, String)) {
    assert_eq!(actual.0, 400, "{}", actual.1);
    let ex = swagger_example(file, path, method, "400", name);
    assert_json(&ex, &actual.1, &["timestamp"]);
}

#[test]
fn upload_answers_match_swagger() {
    let sim = start();
    let tok = sim.mint_tokens(SELLER, SERIAL).access_token;
    let t = Some(tok.as_str());
    let inv = ubl_invoice(SELLER, BUYER);
    for ep in ["upload", "uploadb2c"] {
        let p = |q: &str| format!("/prod/FCTEL/rest/{ep}?{q}");
        let (s, body) = post_api(
            &sim,
            &p(&format!("standard=UBL&cif={SELLER}")),
            t,
            inv.clone(),
        );
        assert_eq!(s, 200);
        assert_eq!(norm_xml(&body), up_ex("factura a fost incarcata cu succes"));
        assert!(body.contains("ExecutionStatus=\"0\" index_incarcare=\"5"));

        let cases: Vec<(String, String, &str)> = vec![
            (
                p(&format!("standard=XYZ&cif={SELLER}")),
                inv.clone(),
                "nu a fost specificat un standard bun",
            ),
            (
                p("standard=UBL&cif=123a"),
                inv.clone(),
                "cif-ul trebuie sa fie numeric",
            ),
            (
                p("standard=UBL&cif=1234"),
                inv.clone(),
                "nu aveti dreptul de incarcare pentru cif-ul specificat in request",
            ),
            (
                p(&format!("standard=UBL&cif={SELLER}&extern=NU")),
                inv.clone(),
                "parametrul extern este completat dar este invalid",
            ),
            (
                p(&format!("standard=UBL&cif={SELLER}&autofactura=NU")),
                inv.clone(),
                "parametrul autofactura este completat dar este invalid",
            ),
            (
                p(&format!("standard=UBL&cif={SELLER}&executare=NU")),
                inv.clone(),
                "parametrul executare este completat dar este invalid",
            ),
        ];
        for (path, body, example) in cases {
            let (s, got) = post_api(&sim, &path, t, body);
            assert_eq!(s, 200);
            assert_eq!(norm_xml(&got), up_ex(example), "{path}");
        }
        // More than 10 MB.
        let big = format!("{inv}{}", " ".repeat(10 * 1024 * 1024));
        let (_, got) = post_api(&sim, &p(&format!("standard=UBL&cif={SELLER}")), t, big);
        assert_eq!(norm_xml(&got), up_ex("marimea fisierului estre prea mare"));
        // The wrong root element: ANAF's SAX text (line and column depend on the file).
        let bad = inv
            .replacen("<Invoice ", "<Invoice1 ", 1)
            .replace("</Invoice>", "</Invoice1>");
        let (_, got) = post_api(&sim, &p(&format!("standard=UBL&cif={SELLER}")), t, bad);
        let ex = up_ex("fisierul transmis nu respecta structura UBL sau CII");
        let cut = |s: &str| s.split("lineNumber").next().unwrap().to_string();
        assert_eq!(cut(&norm_xml(&got)), cut(&ex));
        assert!(
            got.contains("cvc-elt.1.a: Cannot find the declaration of element 'Invoice1'. \"/>"),
            "{got}"
        );
        // 400s in Spring's form.
        spring_400(
            "upload.json",
            "/upload",
            "post",
            "nu ati atasat nimic in request body",
            post_api(&sim, &p(&format!("standard=UBL&cif={SELLER}")), t, ""),
        );
        spring_400(
            "upload.json",
            "/upload",
            "post",
            "nu ati completat parametrul standard sau cif",
            post_api(&sim, &p("standard=UBL"), t, inv.clone()),
        );
    }

    // ANAF's technical error, on request.
    sim.inject_technical_error(1);
    let (_, got) = post_api(
        &sim,
        &format!("/prod/FCTEL/rest/upload?standard=UBL&cif={SELLER}"),
        t,
        inv.clone(),
    );
    assert_eq!(mask_code(&norm_xml(&got)), up_ex("eroare tehnica"));
    assert!(!got.contains("XXX"), "a real code: {got}");

    // executare=DA for a CIF outside the registry of executari silite.
    sim.set_enrolled(SERIAL, "1234", true);
    sim.set_executare_registered("1234", false);
    let (_, got) = post_api(
        &sim,
        "/prod/FCTEL/rest/upload?standard=UBL&cif=1234&executare=DA",
        t,
        inv.clone(),
    );
    assert_eq!(norm_xml(&got), up_ex("parametrul executare este completat dar cif-ul nu este inregistrat in Registrul RO e-Factura executari silite"));

    // RASP daily quota per CUI (lowered to 2 to reach it).
    sim.set_quota_limit(QuotaKind::UploadRasp, 2);
    let rasp = swagger_request(
        "upload.json",
        "/upload",
        "post",
        "structura xml pentru RASP",
    );
    for _ in 0..2 {
        let (_, got) = post_api(
            &sim,
            "/prod/FCTEL/rest/upload?standard=RASP&cif=1234",
            t,
            rasp.clone(),
        );
        assert!(got.contains("ExecutionStatus=\"0\""), "{got}");
    }
    let (_, got) = post_api(
        &sim,
        "/prod/FCTEL/rest/upload?standard=RASP&cif=1234",
        t,
        rasp.clone(),
    );
    assert_eq!(
        norm_xml(&got),
        up_ex("a fost atinsa limita de apeluri zilnice").replace("1000 de mesaje", "2 de mesaje")
    );

    // A certificate enrolled for no CIF at all.
    for c in ["14399840", "8000006", "8000000000", "1234"] {
        sim.set_enrolled("DEAD", c, false);
    }
    let other = sim.mint_tokens(SELLER, "DEAD").access_token;
    sim.set_enrolled("DEAD", SELLER, false);
    let (_, got) = post_api(
        &sim,
        &format!("/prod/FCTEL/rest/upload?standard=UBL&cif={SELLER}"),
        Some(&other),
        inv.clone(),
    );
    assert_eq!(norm_xml(&got), up_ex("nu aveti dreptul de incarcare"));

    assert_eq!(sim.counters().uploads[SELLER], 2);
    // No token: 401.
    assert_eq!(
        post_api(
            &sim,
            &format!("/prod/FCTEL/rest/upload?standard=UBL&cif={SELLER}"),
            None,
            inv
        )
        .0,
        401
    );
}

fn upload_ok(sim: &anaf_sim::Sim, tok: &str, env: &str, cif: &str, body: String) -> u64 {
    let (_, got) = post_api(
        sim,
        &format!("/{env}/FCTEL/rest/upload?standard=UBL&cif={cif}"),
        Some(tok),
        body,
    );
    let i = got.find("index_incarcare=\"").expect(&got) + 17;
    got[i..i + got[i..].find('"').unwrap()].parse().unwrap()
}

#[test]
fn stare_mesaj_progress_and_errors_match_swagger() {
    let sim = start();
    let tok = sim.mint_tokens(SELLER, SERIAL).access_token;
    let t = Some(tok.as_str());
    let id = upload_ok(&sim, &tok, "test", SELLER, ubl_invoice(SELLER, BUYER));
    let stare = |id: &str| {
        get_text(
            &sim,
            &format!("/test/FCTEL/rest/stareMesaj?id_incarcare={id}"),
            t,
        )
    };
    assert_eq!(
        norm_xml(&stare(&id.to_string()).1),
        stare_ex("factura in prelucrare")
    );
    sim.advance_clock(Duration::from_secs(3));
    let (_, ok) = stare(&id.to_string());
    assert_eq!(
        norm_xml(&ok),
        stare_ex("factura a fost prelucrata cu succes")
    );
    assert!(ok.contains("id_descarcare=\"3"), "{ok}");
    // The same id does not exist on prod: separate systems.
    let (_, got) = get_text(
        &sim,
        &format!("/prod/FCTEL/rest/stareMesaj?id_incarcare={id}"),
        t,
    );
    assert!(
        got.contains(&format!("Nu exista factura cu id_incarcare= {id}")),
        "{got}"
    );

    // nok: a seller CIF with a wrong control digit; nepreluat: forced.
    let nok = upload_ok(&sim, &tok, "test", SELLER, ubl_invoice("1234567890", BUYER));
    sim.force_next_outcome(Outcome::Nepreluat);
    let nep = upload_ok(&sim, &tok, "test", SELLER, ubl_invoice(SELLER, BUYER));
    sim.advance_clock(Duration::from_secs(3));
    assert_eq!(
        norm_xml(&stare(&nok.to_string()).1),
        stare_ex("factura nu a fost prelucrata cu succes")
    );
    assert_eq!(
        norm_xml(&stare(&nep.to_string()).1),
        stare_ex("factura nu a fost preluata de sistem")
    );

    assert_eq!(
        norm_xml(&stare("aaa").1),
        stare_ex("index de incarcare nu este valid")
    );
    assert_eq!(
        norm_xml(&stare("15000").1),
        stare_ex("factura nu a fost identificata in sistem")
    );
    let (s, body) = get_text(&sim, "/test/FCTEL/rest/stareMesaj", t);
    assert_eq!(s, 400);
    assert_json(
        &swagger_example(
            "staremesaj.json",
            "/stareMesaj",
            "get",
            "400",
            "nu ati completat parametrul id_incarcare",
        ),
        &body,
        &["timestamp"],
    );

    // Another certificate, enrolled only for a CIF the upload does not concern.
    for c in [SELLER, BUYER, "8000000000"] {
        sim.set_enrolled("BEEF", c, false);
    }
    sim.set_enrolled("BEEF", "18547290", true);
    let other = sim.mint_tokens("18547290", "BEEF").access_token;
    let (_, got) = get_text(
        &sim,
        &format!("/test/FCTEL/rest/stareMesaj?id_incarcare={id}"),
        Some(&other),
    );
    assert_eq!(
        norm_xml(&got),
        stare_ex("nu aveti dreptul de interogare pentru indexul solicitat")
            .replace("= 18\"", &format!("= {id}\""))
    );
    sim.set_enrolled("BEEF", "18547290", false);
    let (_, got) = get_text(
        &sim,
        &format!("/test/FCTEL/rest/stareMesaj?id_incarcare={id}"),
        Some(&other),
    );
    assert_eq!(norm_xml(&got), stare_ex("nu aveti dreptul de interogare"));

    // The daily quota per message (the example shows 20).
    sim.set_quota_limit(QuotaKind::Stare, 20);
    sim.reset_quotas();
    for _ in 0..20 {
        assert!(stare(&id.to_string()).1.contains("stare=\"ok\""));
    }
    assert_eq!(
        norm_xml(&stare(&id.to_string()).1),
        stare_ex("a fost atinsa limita de apeluri zilnice")
    );
}

/// 02-11-2022 11:49:30 Romanian time (EET, UTC+2) in Unix ms.
const NOV_2_2022_114930: i64 = 1_667_382_570_000;

fn lista_ex(path: &str, name: &str) -> String {
    swagger_example("listamesaje.json", path, "get", "200", name)
}

#[test]
fn lista_mesaje_matches_swagger() {
    let sim = start();
    let tok = sim.mint_tokens("8000000000", "1234AA456").access_token;
    let t = Some(tok.as_str());
    let l = |q: &str| get_text(&sim, &format!("/prod/FCTEL/rest/listaMesajeFactura?{q}"), t);
    const P: &str = "/listaMesajeFactura";

    // Nothing yet: 200 with "Nu exista mesaje…", an empty list.
    assert_json(
        &lista_ex(P, "nu exista mesaje"),
        &l("zile=15&cif=8000000000").1,
        &[],
    );
    assert_json(
        &lista_ex(P, "cif este non numeric"),
        &l("zile=1&cif=aaa").1,
        &[],
    );
    assert_json(
        &lista_ex(P, "numar de zile este non numeric"),
        &l("zile=aaa&cif=8000000000").1,
        &[],
    );
    assert_json(
        &lista_ex(P, "numar de zile incorect"),
        &l("zile=61&cif=8000000000").1,
        &[],
    );
    assert_json(
        &lista_ex(P, "parametrul filtru invalid"),
        &l("zile=1&cif=8000000000&filtru=X").1,
        &[],
    );
    let (s, body) = l("zile=1");
    assert_eq!(s, 400);
    assert_json(
        &swagger_example("listamesaje.json", P, "get", "400", "lipsa zile sau cif"),
        &body,
        &["timestamp"],
    );

    // An upload by 8000000000 to a buyer known to the simulator shows up in both lists.
    let id = upload_ok(
        &sim,
        &tok,
        "prod",
        "8000000000",
        ubl_invoice("8000000000", "14399840"),
    );
    sim.advance_clock(Duration::from_secs(3));
    let (_, body) = l("zile=1&cif=8000000000");
    assert_json(
        &lista_ex(P, "cif-ul returneaza mesaje"),
        &body,
        &[
            "data_creare",
            "id_solicitare",
            "detalii",
            "tip",
            "id",
            "titlu",
        ],
    );
    let v = parse(&body);
    assert_eq!(
        v.at(&["titlu"]).str(),
        "Lista Mesaje disponibile din ultimele 1 zile"
    );
    let common::ojson::J::Arr(items) = v.at(&["mesaje"]) else {
        panic!()
    };
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].at(&["tip"]).str(), "FACTURA TRIMISA");
    assert_eq!(items[0].at(&["id_solicitare"]).str(), id.to_string());
    assert_eq!(
        items[0].at(&["detalii"]).str(),
        format!("Factura cu id_incarcare={id} emisa de cif_emitent=8000000000 pentru cif_beneficiar=14399840")
    );
    let (_, body) = l("zile=1&cif=14399840&filtru=P");
    assert!(body.contains("\"tip\":\"FACTURA PRIMITA\""), "{body}");
    assert!(l("zile=1&cif=14399840&filtru=T")
        .1
        .contains("Nu exista mesaje"));

    // Rights.
    sim.set_enrolled("1234AA456", "8000000000", false);
    assert_json(
        &lista_ex(P, "nu aveti drept pentru acest cif"),
        &l("zile=1&cif=8000000000").1,
        &[],
    );
    for c in ["14399840", "8000006"] {
        sim.set_enrolled("1234AA456", c, false);
    }
    assert_json(
        &lista_ex(P, "lipsa drepturi SPV"),
        &l("zile=1&cif=8000000000").1,
        &[],
    );
    sim.set_enrolled("1234AA456", "8000000000", true);

    // More than 500: use the paginated call.
    sim.seed_invoices("prod", "8000000000", "8000006", 501);
    assert_json(
        &lista_ex(P, "limita mesaje in pagina atinsa"),
        &l("zile=60&cif=8000000000").1,
        &[],
    );

    // Daily quota (lowered to 1: the example's text with its number).
    sim.set_quota_limit(QuotaKind::Lista, 1);
    sim.reset_quotas();
    l("zile=1&cif=8000000000");
    let ex = lista_ex(P, "limita apeluri zilnice atinsa").replace("deja 1000", "deja 1");
    assert_json(&ex, &l("zile=1&cif=8000000000").1, &[]);
}

#[test]
fn lista_paginata_matches_swagger_on_anaf_clock() {
    let sim = start();
    const P: &str = "/listaMesajePaginatieFactura";
    // The simulator's clock at the moment of ANAF's examples, so that dates match.
    let now = NOV_2_2022_114930;
    sim.set_clock_ms(now);
    let tok = sim.mint_tokens("8000000000", "1234AA456").access_token;
    let t = Some(tok.as_str());
    let l = |q: &str| {
        get_text(
            &sim,
            &format!("/prod/FCTEL/rest/listaMesajePaginatieFactura?{q}"),
            t,
        )
    };
    // 06-09-2022 09:48:20 and 02-11-2022 11:49:24, Romanian time (summer / winter).
    let (start_ms, end_ms) = (1_662_446_900_000i64, 1_667_382_564_000i64);
    let q =
        |s: &str, e: &str, p: &str| format!("startTime={s}&endTime={e}&cif=8000000000&pagina={p}");
    let (s, e) = (start_ms.to_string(), end_ms.to_string());

    assert_json(&lista_ex(P, "nu exista mesaje"), &l(&q(&s, &e, "1")).1, &[]);
    // Seeded back from a second before endTime, so all 14130 fall in the interval.
    sim.set_clock_ms(end_ms - 1000);
    sim.seed_invoices("prod", "8000000000", "8000006", 14130);
    sim.set_clock_ms(now);
    let (_, body) = l(&q(&s, &e, "29"));
    assert_json(
        &lista_ex(P, "cif-ul returneaza mesaje"),
        &body,
        &[
            "data_creare",
            "id_solicitare",
            "detalii",
            "tip",
            "id",
            "numar_inregistrari_in_pagina",
            "cif",
            "serial",
            "cui",
        ],
    );
    let v = parse(&body);
    assert_eq!(
        v.at(&["numar_total_inregistrari"]),
        &common::ojson::J::Num("14130".into())
    );
    assert_eq!(
        v.at(&["numar_total_pagini"]),
        &common::ojson::J::Num("29".into())
    );
    assert_eq!(
        v.at(&["numar_inregistrari_in_pagina"]),
        &common::ojson::J::Num("130".into())
    );
    assert_eq!(
        v.at(&["titlu"]).str(),
        "Lista Mesaje disponibile din intervalul 06-09-2022 09:48:20 - 02-11-2022 11:49:24"
    );
    assert_eq!(v.at(&["serial"]).str(), "1234AA456");

    assert_json(
        &lista_ex(P, "paginia mai mare decat total pagini"),
        &l(&q(&s, &e, "50")).1,
        &[],
    );
    assert_json(
        &lista_ex(P, "cif este non numeric"),
        &l(&format!("startTime={s}&endTime={e}&cif=aaa&pagina=1")).1,
        &[],
    );
    assert_json(
        &lista_ex(
            P,
            "startTime nu este un numar sau nu are o valoare acceptata de sistem",
        ),
        &l(&q("aaa", &e, "1")).1,
        &[],
    );
    assert_json(
        &lista_ex(
            P,
            "endTime nu este un numar sau nu are o valoare acceptata de sistem",
        ),
        &l(&q(&s, "aaa", "1")).1,
        &[],
    );
    assert_json(
        &lista_ex(
            P,
            "pagina nu este un numar sau nu are o valoare acceptata de sistem",
        ),
        &l(&q(&s, &e, "aa")).1,
        &[],
    );
    // 09-07-2022 10:41:11 (summer time): more than 60 days before the request.
    assert_json(
        &lista_ex(P, "startTime mai vechi de 60 de zile"),
        &l(&q("1657352471000", &e, "1")).1,
        &[],
    );
    // endTime 09-08-2022 10:41:11 before startTime 06-09-2022 09:48:20.
    assert_json(
        &lista_ex(P, "endTime inainte de startTime"),
        &l(&q(&s, "1660030871000", "1")).1,
        &[],
    );
    // endTime 02-12-2022 11:49:24: in the future of ANAF's clock.
    assert_json(
        &lista_ex(P, "endTime in viitor"),
        &l(&q(&s, "1669974564000", "1")).1,
        &[],
    );
    // Even one second ahead of the simulator clock is refused.
    let ahead = (sim.now_ms() + 1500).to_string();
    assert!(l(&q(&s, &ahead, "1")).1.contains("nu poate in viitor"));
    assert_json(
        &lista_ex(P, "parametrul filtru invalid"),
        &l(&format!("{}&filtru=Z", q(&s, &e, "1"))).1,
        &[],
    );
    sim.set_enrolled("1234AA456", "8000000000", false);
    assert_json(
        &lista_ex(P, "nu aveti drept pentru acest cif"),
        &l(&q(&s, &e, "1")).1,
        &[],
    );
    for c in ["14399840", "8000006"] {
        sim.set_enrolled("1234AA456", c, false);
    }
    assert_json(
        &lista_ex(P, "lipsa drepturi SPV"),
        &l(&q(&s, &e, "1")).1,
        &[],
    );
    sim.set_enrolled("1234AA456", "8000000000", true);
    sim.set_quota_limit(QuotaKind::ListaPaginata, 1);
    sim.reset_quotas();
    l(&q(&s, &e, "1"));
    let ex = lista_ex(P, "limita apeluri zilnice atinsa").replace("deja 1000", "deja 1");
    assert_json(&ex, &l(&q(&s, &e, "1")).1, &[]);
    let (st, body) = l("cif=8000000000");
    assert_eq!(st, 400);
    assert_json(
        &swagger_example(
            "listamesaje.json",
            P,
            "get",
            "400",
            "lipsa startTime, endTime, cif sau pagina",
        ),
        &body,
        &["timestamp"],
    );
}

#[test]
fn descarcare_zip_signature_expiry_and_errors() {
    let sim = start();
    let tok = sim.mint_tokens(SELLER, SERIAL).access_token;
    let t = Some(tok.as_str());
    let inv = ubl_invoice(SELLER, BUYER);
    let id = upload_ok(&sim, &tok, "prod", SELLER, inv.clone());
    sim.advance_clock(Duration::from_secs(3));
    let (_, st) = get_text(
        &sim,
        &format!("/prod/FCTEL/rest/stareMesaj?id_incarcare={id}"),
        t,
    );
    let i = st.find("id_descarcare=\"").unwrap() + 15;
    let id_d: u64 = st[i..i + st[i..].find('"').unwrap()].parse().unwrap();

    let r = get_api(&sim, &format!("/prod/FCTEL/rest/descarcare?id={id_d}"), t);
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let bytes = r.bytes().unwrap();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut names: Vec<String> = z.file_names().map(String::from).collect();
    names.sort();
    assert_eq!(
        names,
        vec![format!("{id}.xml"), format!("semnatura_{id}.xml")]
    );
    let mut xml = String::new();
    z.by_name(&format!("{id}.xml"))
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    assert_eq!(xml, inv, "the invoice comes back byte for byte");
    let mut sig = Vec::new();
    z.by_name(&format!("semnatura_{id}.xml"))
        .unwrap()
        .read_to_end(&mut sig)
        .unwrap();

    // The public signature check accepts the pair and refuses a tampered invoice.
    let check = |file: Vec<u8>| -> String {
        let form = reqwest::blocking::multipart::Form::new()
            .part(
                "file",
                reqwest::blocking::multipart::Part::bytes(file).file_name("f.xml"),
            )
            .part(
                "signature",
                reqwest::blocking::multipart::Part::bytes(sig.clone()).file_name("s.xml"),
            );
        client(&sim)
            .post(format!("{}/api/validate/signature", sim.public_url()))
            .multipart(form)
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let ok = swagger_example(
        "validaresemnatura.json",
        "/api/validate/signature",
        "post",
        "200",
        "Validare fisiere incarcate",
    );
    let nok = swagger_example(
        "validaresemnatura.json",
        "/api/validate/signature",
        "post",
        "200",
        "Nevalidare fisiere incarcate",
    );
    assert_json(&ok, &check(xml.clone().into_bytes()), &[]);
    assert_json(
        &nok,
        &check(xml.replace("Seller", "Sel1er").into_bytes()),
        &[],
    );

    const P: &str = "/descarcare";
    let ex = |n: &str| swagger_example("descarcare.json", P, "get", "200", n);
    let d = |q: &str| get_text(&sim, &format!("/prod/FCTEL/rest/descarcare?{q}"), t).1;
    assert_json(&ex("id-ul furnizat nu este valid"), &d("id=123a"), &[]);
    assert_json(
        &ex("nu exista nici o factura pentru id-ul solicitat"),
        &d("id=21"),
        &[],
    );
    let (s, body) = get_text(&sim, "/prod/FCTEL/rest/descarcare", t);
    assert_eq!(s, 400);
    assert_json(
        &swagger_example(
            "descarcare.json",
            P,
            "get",
            "400",
            "nu ati completat parametrul standard",
        ),
        &body,
        &["timestamp"],
    );
    // Another company's certificate may not download it.
    for c in [SELLER, BUYER, "8000000000"] {
        sim.set_enrolled("C0FFEE", c, false);
    }
    sim.set_enrolled("C0FFEE", "18547290", true);
    let other = sim.mint_tokens("18547290", "C0FFEE").access_token;
    let (_, body) = get_text(
        &sim,
        &format!("/prod/FCTEL/rest/descarcare?id={id_d}"),
        Some(&other),
    );
    assert_json(
        &ex("nu aveti dreptul sa descarcati factura cu id-ul mentionat in request"),
        &body,
        &[],
    );
    // 10 downloads per message per day (the example's string has a stray '}').
    for _ in 0..9 {
        assert_eq!(
            get_api(&sim, &format!("/prod/FCTEL/rest/descarcare?id={id_d}"), t).status(),
            200
        );
    }
    let limit = ex("a fost atinsa limita de apeluri zilnice");
    assert_json(&limit[..limit.len() - 1], &d(&format!("id={id_d}")), &[]);
    // Kept 60 days.
    sim.advance_clock(Duration::from_secs(61 * 24 * 3600));
    assert!(d(&format!("id={id_d}")).contains("nu exista inregistrata nici o factura"));
}

#[test]
fn b2c_extern_and_autofactura_reach_the_right_lists() {
    let sim = start();
    let tok = sim.mint_tokens(SELLER, SERIAL).access_token;
    let t = Some(tok.as_str());
    let inv = ubl_invoice(SELLER, BUYER);
    for q in [
        "uploadb2c?standard=UBL&cif=14399840",
        "upload?standard=UBL&cif=14399840&extern=DA",
    ] {
        let (_, got) = post_api(&sim, &format!("/prod/FCTEL/rest/{q}"), t, inv.clone());
        assert!(got.contains("ExecutionStatus=\"0\""), "{got}");
    }
    // Autofactura: the buyer uploads in the seller's name.
    let (_, got) = post_api(
        &sim,
        "/prod/FCTEL/rest/upload?standard=UBL&cif=8000006&autofactura=DA",
        t,
        inv.clone(),
    );
    assert!(got.contains("ExecutionStatus=\"0\""), "{got}");
    sim.advance_clock(Duration::from_secs(3));
    let list = |cif: &str| {
        get_text(
            &sim,
            &format!("/prod/FCTEL/rest/listaMesajeFactura?zile=1&cif={cif}"),
            t,
        )
        .1
    };
    let seller = list(SELLER);
    let buyer = list(BUYER);
    // B2C and extern: only the seller's copy; autofactura: the uploader's copy is TRIMISA
    // and the seller receives it.
    assert_eq!(seller.matches("FACTURA TRIMISA").count(), 2, "{seller}");
    assert_eq!(seller.matches("FACTURA PRIMITA").count(), 1, "{seller}");
    assert_eq!(buyer.matches("FACTURA TRIMISA").count(), 1, "{buyer}");
    assert_eq!(buyer.matches("FACTURA PRIMITA").count(), 0, "{buyer}");
    assert_eq!(sim.counters().uploads[SELLER], 2);
    assert_eq!(sim.counters().uploads[BUYER], 1);
}
