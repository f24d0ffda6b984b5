//! e-Transport (against ANAF's swagger pages), the public host, TestOauth, bearer
//! checks, faults, limits, the control API and the binary.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anaf_sim::{Fault, QuotaKind};
use common::ojson::{parse, same_shape, J};
use common::*;

fn assert_shape(example: &J, actual: &str, volatile: &[&str]) {
    if let Err(e) = same_shape(example, &parse(actual), volatile) {
        let cut = |s: String| s.chars().take(700).collect::<String>();
        panic!(
            "{e}\nanswer:  {}\nexample: {}",
            cut(actual.to_string()),
            cut(to_text(example))
        );
    }
}

const VOL: &[&str] = &[
    "dateResponse",
    "trace_id",
    "index_incarcare",
    "UIT",
    "timestamp",
];

fn et_ex(page: &str, path: &str, method: &str, name: &str) -> J {
    etransport_example(page, path, method, "200", name)
}

fn et_request(name: &str) -> String {
    let spec = etransport_spec("upload_param.html");
    let J::Obj(c) = spec.at(&[
        "paths",
        "/upload/{standard}/{cif}/{versiune}",
        "post",
        "requestBody",
        "content",
    ]) else {
        panic!()
    };
    c[0].1.at(&["examples", name, "value"]).str().to_string()
}

#[test]
fn etransport_matches_swagger_pages() {
    let sim = start();
    let tok = sim.mint_tokens("8000000000", "AB12").access_token;
    let t = Some(tok.as_str());
    const UP: &str = "/upload/{standard}/{cif}/{versiune}";
    let up = |path: &str, body: String| {
        post_api(&sim, &format!("/test/ETRANSPORT/ws/v1/{path}"), t, body)
    };
    let v2 = et_request("structura xml pentru ETRANSP v2");
    let v1 = et_request("structura xml pentru ETRANSP v1");

    let (s, body) = up("upload/ETRANSP/8000000000/2", v2.clone());
    assert_eq!(s, 200);
    assert_shape(
        &et_ex("upload_param.html", UP, "post", "incarcare cu succes v2"),
        &body,
        VOL,
    );
    let index = parse(&body).at(&["index_incarcare"]).clone();
    let J::Num(index) = index else { panic!() };
    let uit = parse(&body).at(&["UIT"]).str().to_string();
    assert_eq!(uit.len(), 16);
    let (_, body) = up("upload/ETRANSP/8000000000/1", v1);
    assert_shape(
        &et_ex("upload_param.html", UP, "post", "incarcare cu succes v1"),
        &body,
        VOL,
    );

    for (path, name) in [
        ("upload/XYZ/8000000000/2", "standard invalid"),
        ("upload/ETRANSP/123a/2", "cif invalid"),
        ("upload/ETRANSP/21/2", "lipsa drepturi pentru cif"),
    ] {
        let (_, body) = up(path, v2.clone());
        assert_shape(&et_ex("upload_param.html", UP, "post", name), &body, VOL);
    }
    let (_, body) = up(
        "upload/ETRANSP/8000000000/2",
        "<?xml version=\"1.0\"?>\n<a></a>".into(),
    );
    assert_shape(
        &et_ex("upload_param.html", UP, "post", "fisier transmis invalid"),
        &body,
        VOL,
    );
    let (_, body) = up(
        "upload/ETRANSP/8000000000/2",
        format!("{v2}{}", " ".repeat(5 * 1024 * 1024)),
    );
    assert_shape(
        &et_ex(
            "upload_param.html",
            UP,
            "post",
            "dimensiune fisier prea mare",
        ),
        &body,
        VOL,
    );

    // stareMesaj: in prelucrare, then ok.
    const ST: &str = "/stareMesaj/{id_incarcare}";
    let st = |id: &str| get_text(&sim, &format!("/test/ETRANSPORT/ws/v1/stareMesaj/{id}"), t).1;
    assert_shape(
        &et_ex("stare.html", ST, "get", "in prelucrare"),
        &st(&index),
        VOL,
    );
    sim.advance_clock(Duration::from_secs(3));
    assert_shape(
        &et_ex("stare.html", ST, "get", "prelucrare cu succes"),
        &st(&index),
        VOL,
    );
    let (_, nok) = up(
        "upload/ETRANSP/8000000000/2",
        v2.replace("denumire1", "anaf-sim:nok"),
    );
    let J::Num(nok_id) = parse(&nok).at(&["index_incarcare"]).clone() else {
        panic!()
    };
    sim.advance_clock(Duration::from_secs(3));
    assert_shape(
        &et_ex("stare.html", ST, "get", "prelucrare esuata"),
        &st(&nok_id),
        VOL,
    );
    assert_shape(
        &et_ex("stare.html", ST, "get", "index invalid"),
        &st("a"),
        VOL,
    );
    assert_shape(
        &et_ex("stare.html", ST, "get", "declaratie transport inexistenta"),
        &st("1"),
        VOL,
    );
    sim.set_quota_limit(QuotaKind::Stare, 100);
    for _ in 0..98 {
        st(&index);
    }
    assert_shape(
        &et_ex("stare.html", ST, "get", "limita apeluri zilnice atinsa"),
        &st(&index),
        VOL,
    );

    // lista.
    const LI: &str = "/lista/{zile}/{cif}";
    let li =
        |z: &str, c: &str| get_text(&sim, &format!("/test/ETRANSPORT/ws/v1/lista/{z}/{c}"), t).1;
    let body = li("1", "8000000000");
    // ANAF's example mixes ok and error items; compare with each kind.
    let ex = et_ex("lista.html", LI, "get", "lista mesaje");
    let J::Arr(ex_items) = ex.at(&["mesaje"]) else {
        panic!()
    };
    let v = parse(&body);
    let J::Arr(items) = v.at(&["mesaje"]) else {
        panic!("{body}")
    };
    assert_eq!(items.len(), 3, "{body}");
    let item_vol = &[
        "uit",
        "pc_tara",
        "tr_tara",
        "id_incarcare",
        "data_creare",
        "data_transp",
        "cod_decl",
        "pc_cod",
        "pc_den",
        "tr_cod",
        "tr_den",
        "nr_veh",
        "tip_op",
        "mesaj",
    ];
    let ok_items: Vec<&J> = items.iter().filter(|i| i.get("uit").is_some()).collect();
    let err_items: Vec<&J> = items.iter().filter(|i| i.get("uit").is_none()).collect();
    assert_eq!((ok_items.len(), err_items.len()), (2, 1));
    for i in ok_items {
        same_shape(&ex_items[0], i, item_vol).unwrap();
    }
    same_shape(&ex_items[2], err_items[0], item_vol).unwrap();
    let first_v2 = items
        .iter()
        .find(|i| i.get("uit").map(|u| u.str() == uit).unwrap_or(false))
        .expect("the v2 declaration");
    assert_eq!(first_v2.at(&["nr_veh"]).str(), "Z01ZZZ");
    assert_eq!(first_v2.at(&["data_transp"]).str(), "20220719000000");
    assert_eq!(first_v2.at(&["tip_op"]).str(), "30");
    let top_vol = &[
        "mesaje",
        "serial",
        "cui",
        "dateResponse",
        "trace_id",
        "titlu",
    ];
    assert_shape(&ex, &body, top_vol);
    assert_eq!(
        v.at(&["titlu"]).str(),
        "Lista Mesaje disponibile din ultimele 1 zile"
    );
    for (z, c, name) in [
        ("60a", "8000000000", "numar zile invalid"),
        ("61", "8000000000", "numar de zile in afara intervalului"),
        ("1", "123a", "cif invalid"),
    ] {
        assert_shape(&et_ex("lista.html", LI, "get", name), &li(z, c), VOL);
    }
    let other = sim.mint_tokens("14399840", "AB13").access_token;
    assert!(get_text(
        &sim,
        "/test/ETRANSPORT/ws/v1/lista/60/14399840",
        Some(&other)
    )
    .1
    .contains("Nu exista mesaje in ultimele 60 zile"));
    assert_shape(
        &et_ex("lista.html", LI, "get", "lipsa mesaje"),
        &get_text(
            &sim,
            "/test/ETRANSPORT/ws/v1/lista/60/14399840",
            Some(&other),
        )
        .1,
        VOL,
    );
    for c in ["14399840", "8000006", "8000000000"] {
        sim.set_enrolled("AB13", c, false);
    }
    assert_shape(
        &et_ex("lista.html", LI, "get", "lipsa drepturi"),
        &get_text(
            &sim,
            "/test/ETRANSPORT/ws/v1/lista/60/14399840",
            Some(&other),
        )
        .1,
        VOL,
    );
    assert_shape(
        &et_ex("stare.html", ST, "get", "lipsa drepturi"),
        &get_text(
            &sim,
            &format!("/test/ETRANSPORT/ws/v1/stareMesaj/{index}"),
            Some(&other),
        )
        .1,
        VOL,
    );
    assert_shape(
        &et_ex("upload_param.html", UP, "post", "lipsa drepturi"),
        &post_api(
            &sim,
            "/test/ETRANSPORT/ws/v1/upload/ETRANSP/14399840/2",
            Some(&other),
            v2.clone(),
        )
        .1,
        VOL,
    );
    // A path without the CIF: Spring's 404.
    let r = get_api(&sim, "/test/ETRANSPORT/ws/v1/lista/", t);
    assert_eq!(r.status(), 404);
    assert_shape(
        &etransport_example("lista.html", LI, "get", "404", "cale incorecta"),
        &r.text().unwrap(),
        VOL,
    );
    assert_eq!(sim.counters().etransport_uploads["8000000000"], 3);
}

fn post_public(sim: &anaf_sim::Sim, path: &str, body: String) -> reqwest::blocking::Response {
    client(sim)
        .post(format!("{}{}", sim.public_url(), path))
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .unwrap()
}

#[test]
fn public_validare_and_transformare_match_swagger() {
    let sim = start();
    let good = ubl_invoice("14399840", "8000006");
    let ex = |file: &str, path: &str, code: &str, name: &str| {
        parse(&swagger_example(file, path, "post", code, name))
    };
    let v = |std: &str, body: String| {
        post_public(&sim, &format!("/prod/FCTEL/rest/validare/{std}"), body)
            .text()
            .unwrap()
    };

    assert_shape(
        &ex(
            "validare.json",
            "/validare/{standard}",
            "200",
            "validare succes",
        ),
        &v("FACT1", good.clone()),
        &["trace_id"],
    );
    // ANAF's failed-validation example lists three messages; the last is the seller-CUI rule.
    let bad = ubl_invoice("1234", "8000006");
    let got = parse(&v("FACT1", bad.clone()));
    let exv = ex(
        "validare.json",
        "/validare/{standard}",
        "200",
        "validare esuata",
    );
    let J::Arr(ex_msgs) = exv.at(&["Messages"]) else {
        panic!()
    };
    assert_eq!(got.at(&["stare"]).str(), "nok");
    assert_eq!(got.at(&["Messages"]), &J::Arr(vec![ex_msgs[2].clone()]));
    assert_eq!(got.keys(), exv.keys());
    assert_shape(
        &ex(
            "validare.json",
            "/validare/{standard}",
            "200",
            "standard invalid",
        ),
        &v("FACT2", good.clone()),
        &["trace_id"],
    );
    assert_shape(
        &ex(
            "validare.json",
            "/validare/{standard}",
            "200",
            "dimensiune prea mare",
        ),
        &v("FACT1", format!("{good}{}", " ".repeat(5 * 1024 * 1024))),
        &["trace_id"],
    );
    let r = post_public(&sim, "/prod/FCTEL/rest/validare/", good.clone());
    assert_eq!(r.status(), 404);
    assert_shape(
        &ex(
            "validare.json",
            "/validare/{standard}",
            "404",
            "request invalid",
        ),
        &r.text().unwrap(),
        &["timestamp"],
    );
    sim.inject_technical_error(2);
    let te = ex(
        "validare.json",
        "/validare/{standard}",
        "200",
        "eroare tehica",
    );
    assert_shape(&te, &mask_code(&v("FACT1", good.clone())), &["trace_id"]);
    let body = post_public(&sim, "/prod/FCTEL/rest/transformare/FACT1", good.clone())
        .text()
        .unwrap();
    assert_shape(
        &ex(
            "xmltopdf.json",
            "/transformare/{standard}",
            "200",
            "eroare tehica",
        ),
        &mask_code(&body),
        &["trace_id"],
    );
    // The credit note example validates as FCN.
    let cn = swagger_request("validare.json", "/validare/{standard}", "post", "FCN");
    assert!(v("FCN", cn).contains("\"stare\":\"ok\""));

    // transformare: a real PDF whose xref offsets point at its objects.
    let r = post_public(&sim, "/prod/FCTEL/rest/transformare/FACT1", good.clone());
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().unwrap().to_vec();
    check_pdf(&pdf);
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("Total de plata: 41340576.71 RON"), "{text}");
    // Validation errors come back as JSON; /DA skips validation.
    let body = post_public(&sim, "/prod/FCTEL/rest/transformare/FACT1", bad.clone())
        .text()
        .unwrap();
    assert_eq!(
        parse(&body).at(&["Messages"]),
        &J::Arr(vec![ex_msgs[2].clone()])
    );
    let r = post_public(&sim, "/prod/FCTEL/rest/transformare/FACT1/DA", bad);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    check_pdf(&r.bytes().unwrap());
    let tex = |name: &str| ex("xmltopdf.json", "/transformare/{standard}", "200", name);
    assert_shape(
        &tex("standard invalid"),
        &post_public(&sim, "/prod/FCTEL/rest/transformare/XYZ", good.clone())
            .text()
            .unwrap(),
        &["trace_id"],
    );
    let r = post_public(&sim, "/prod/FCTEL/rest/transformare/", good);
    assert_eq!(r.status(), 404);
    assert_shape(
        &ex(
            "xmltopdf.json",
            "/transformare/{standard}",
            "404",
            "request invalid",
        ),
        &r.text().unwrap(),
        &["timestamp"],
    );
}

fn check_pdf(pdf: &[u8]) {
    fn find(h: &[u8], n: &[u8]) -> Option<usize> {
        h.windows(n.len()).rposition(|w| w == n)
    }
    assert!(pdf.starts_with(b"%PDF-1.4\n"));
    assert!(pdf.ends_with(b"%%EOF\n"));
    let sx = find(pdf, b"startxref\n").unwrap() + 10;
    let line = |at: usize| {
        let end = at + pdf[at..].iter().position(|&b| b == b'\n').unwrap();
        std::str::from_utf8(&pdf[at..end]).unwrap().to_string()
    };
    let xref: usize = line(sx).parse().unwrap();
    assert!(pdf[xref..].starts_with(b"xref\n0 6\n"));
    let table = &pdf[xref + 9 + 20..];
    for n in 0..5 {
        let off: usize = std::str::from_utf8(&table[n * 20..n * 20 + 10])
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            pdf[off..].starts_with(format!("{} 0 obj", n + 1).as_bytes()),
            "object {} at {off}",
            n + 1
        );
    }
}

#[test]
fn bearer_checks_everywhere() {
    let sim = start();
    sim.set_lifetimes(Duration::from_secs(60), Duration::from_secs(3600));
    let pair = sim.mint_tokens("14399840", "AA01");
    let paths = [
        "/prod/FCTEL/rest/stareMesaj?id_incarcare=1",
        "/test/FCTEL/rest/listaMesajeFactura?zile=1&cif=14399840",
        "/prod/FCTEL/rest/listaMesajePaginatieFactura?startTime=1&endTime=2&cif=14399840&pagina=1",
        "/test/FCTEL/rest/descarcare?id=1",
        "/prod/ETRANSPORT/ws/v1/lista/1/14399840",
        "/test/ETRANSPORT/ws/v1/stareMesaj/1",
        "/TestOauth/jaxrs/hello?name=x",
    ];
    for p in paths {
        assert_eq!(get_api(&sim, p, None).status(), 401, "{p} without a token");
        assert_eq!(
            get_api(&sim, p, Some("not.a.jwt")).status(),
            401,
            "{p} with garbage"
        );
        assert_eq!(
            get_api(&sim, p, Some(&pair.refresh_token)).status(),
            401,
            "{p} with a refresh token"
        );
        assert_eq!(
            get_api(&sim, p, Some(&pair.access_token)).status(),
            200,
            "{p} with the token"
        );
    }
    // A wrong method: Spring's 405 JSON.
    let r = get_api(
        &sim,
        "/prod/FCTEL/rest/upload?standard=UBL&cif=14399840",
        Some(&pair.access_token),
    );
    assert_eq!(r.status(), 405);
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v["error"], "Method Not Allowed");
    let r = client(&sim)
        .get(format!(
            "{}/prod/FCTEL/rest/validare/FACT1",
            sim.public_url()
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 405);
    // The same token works on prod and test.
    assert!(get_text(
        &sim,
        "/prod/FCTEL/rest/listaMesajeFactura?zile=1&cif=14399840",
        Some(&pair.access_token)
    )
    .1
    .contains("Nu exista mesaje"));
    // Another company: ANAF's 200 answer, or a bare 403 with the switch.
    let foreign = "/prod/FCTEL/rest/listaMesajeFactura?zile=1&cif=18547290";
    sim.set_enrolled("FF", "18547290", true);
    assert!(get_text(&sim, foreign, Some(&pair.access_token))
        .1
        .contains("Nu aveti drept in SPV pentru CIF=18547290"));
    sim.set_foreign_cif_403(true);
    assert_eq!(
        get_api(&sim, foreign, Some(&pair.access_token)).status(),
        403
    );
    // Expired.
    sim.advance_clock(Duration::from_secs(61));
    let r = get_api(&sim, paths[0], Some(&pair.access_token));
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    assert!(sim.counters().unauthorized >= 22);
}

#[test]
fn faults_and_limits() {
    let sim = start();
    let tok = sim.mint_tokens("14399840", "FA17").access_token;
    let t = Some(tok.as_str());
    let hello = "/TestOauth/jaxrs/hello?name=x";

    sim.inject(Fault::HtmlRejected, 1);
    let r = get_api(&sim, hello, t);
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r
        .text()
        .unwrap()
        .contains("<title>Request Rejected</title>"));
    assert_eq!(get_api(&sim, hello, t).status(), 200, "one time only");
    assert!(get_api(&sim, hello, t).headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("json"));

    sim.inject(Fault::Status(503), 2);
    assert_eq!(get_api(&sim, hello, t).status(), 503);
    assert_eq!(get_api(&sim, hello, t).status(), 503);
    assert_eq!(get_api(&sim, hello, t).status(), 200);

    sim.inject(Fault::Reset, 1);
    let e = client(&sim)
        .get(format!("{}{hello}", sim.api_url()))
        .bearer_auth(&tok)
        .send();
    assert!(e.is_err(), "connection reset expected, got {e:?}");
    assert_eq!(get_api(&sim, hello, t).status(), 200);

    sim.inject(Fault::Latency(Duration::from_millis(700)), 1);
    let t0 = Instant::now();
    assert_eq!(get_api(&sim, hello, t).status(), 200);
    assert!(t0.elapsed() >= Duration::from_millis(700));

    sim.inject(Fault::RateLimited, 1);
    assert_eq!(get_api(&sim, hello, t).status(), 429);

    // Restricted to a path prefix, on any host (here the token endpoint).
    sim.inject_on("/anaf-oauth2/v1/token", Fault::Status(502), 1);
    assert_eq!(get_api(&sim, hello, t).status(), 200, "not for other paths");
    let pair = sim.mint_tokens("14399840", "FA17");
    assert_eq!(refresh(&sim, &pair.refresh_token).0, 502);
    assert_eq!(
        refresh(&sim, &pair.refresh_token).0,
        200,
        "the faulted call did not spend it"
    );

    // The public host gets prefix-less faults too.
    sim.inject(Fault::HtmlRejected, 1);
    let body = client(&sim)
        .post(format!(
            "{}/prod/FCTEL/rest/validare/FACT1",
            sim.public_url()
        ))
        .body("<a/>")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(body.contains("Request Rejected"));

    // Per-minute limit on the simulator clock.
    sim.set_per_minute_limit(3);
    sim.advance_clock(Duration::from_secs(60));
    for _ in 0..3 {
        assert_eq!(get_api(&sim, hello, t).status(), 200);
    }
    assert_eq!(get_api(&sim, hello, t).status(), 429);
    sim.advance_clock(Duration::from_secs(60));
    assert_eq!(get_api(&sim, hello, t).status(), 200);
    let c = sim.counters();
    assert_eq!(c.rate_limited, 1);
    assert_eq!(c.faults_fired, 8);
    assert!(c.requests >= 15, "{c:?}");
}

#[test]
fn control_api_over_http() {
    let sim = start();
    let base = format!("{}/_sim", sim.api_url());
    let c = client(&sim);
    let post = |p: &str, v: serde_json::Value| -> serde_json::Value {
        let r = c.post(format!("{base}{p}")).json(&v).send().unwrap();
        assert_eq!(r.status(), 200, "{p}");
        r.json().unwrap()
    };
    let info: serde_json::Value = c
        .get(format!("{base}/info"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(info["api_url"], sim.api_url());
    assert_eq!(info["idp_url"], sim.idp_url());
    assert_eq!(info["ca_pem"], sim.ca_pem_path().to_str().unwrap());

    let cert = post("/certs", serde_json::json!({"serial": "0a:bc"}));
    assert_eq!(cert["serial"], "ABC");
    assert!(std::path::Path::new(cert["p12"].as_str().unwrap()).exists());
    let pair = post(
        "/tokens",
        serde_json::json!({"cif": "14399840", "serial": "ABC"}),
    );
    let tok = pair["access_token"].as_str().unwrap();
    assert_eq!(
        get_api(&sim, "/TestOauth/jaxrs/hello?name=a", Some(tok)).status(),
        200
    );

    post("/lifetimes", serde_json::json!({"access_secs": 30}));
    let short = post(
        "/tokens",
        serde_json::json!({"cif": "14399840", "serial": "ABC"}),
    );
    assert_eq!(short["expires_in"], 30);
    let before = sim.now_ms();
    let clock = post("/clock", serde_json::json!({"advance_secs": 31}));
    assert!(clock["now_ms"].as_i64().unwrap() >= before + 31_000);
    assert_eq!(
        get_api(
            &sim,
            "/TestOauth/jaxrs/hello?name=a",
            Some(short["access_token"].as_str().unwrap())
        )
        .status(),
        401
    );

    post(
        "/faults",
        serde_json::json!({"fault": "status", "status": 500, "times": 1, "path_prefix": "/TestOauth"}),
    );
    assert_eq!(
        get_api(&sim, "/TestOauth/jaxrs/hello?name=a", Some(tok)).status(),
        500
    );
    post(
        "/enrolment",
        serde_json::json!({"serial": "ABC", "cif": "14399840", "enrolled": false}),
    );
    assert!(get_text(
        &sim,
        "/prod/FCTEL/rest/listaMesajeFactura?zile=1&cif=14399840",
        Some(tok)
    )
    .1
    .contains("Nu aveti drept in SPV"));
    post("/switches", serde_json::json!({"revoke_login_wall": true}));
    let r = c
        .post(format!("{}/anaf-oauth2/v1/revoke", sim.idp_url()))
        .basic_auth("sim-client-id", Some("sim-client-secret"))
        .form(&[("token", tok)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 302);
    post("/quotas", serde_json::json!({"kind": "lista", "limit": 0}));
    post(
        "/enrolment",
        serde_json::json!({"serial": "ABC", "cif": "14399840", "enrolled": true}),
    );
    assert!(get_text(
        &sim,
        "/prod/FCTEL/rest/listaMesajeFactura?zile=1&cif=14399840",
        Some(tok)
    )
    .1
    .contains("S-au facut deja 0 interogari"));
    let counters: serde_json::Value = c
        .get(format!("{base}/counters"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(counters["requests"].as_u64().unwrap() >= 4);
    assert_eq!(counters["faults_fired"], 1);
    let bad = c
        .post(format!("{base}/faults"))
        .json(&serde_json::json!({"fault": "nope"}))
        .send()
        .unwrap();
    assert_eq!(bad.status(), 400);
}

fn spawn_binary(extra: &[&str]) -> (std::process::Child, serde_json::Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_anaf-sim"))
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
    (child, v)
}

fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let t0 = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "anaf-sim did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn binary_prints_its_urls_and_stops_on_stdin_eof_and_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port_file = dir.path().join("sim.json");
    let state = dir.path().join("state");
    let (mut child, v) = spawn_binary(&[
        "--exit-on-stdin-eof",
        "--state-dir",
        state.to_str().unwrap(),
        "--port-file",
        port_file.to_str().unwrap(),
    ]);
    for k in [
        "idp_url",
        "api_url",
        "public_url",
        "control_url",
        "ca_pem",
        "client_id",
        "client_secret",
        "redirect_uri",
    ] {
        assert!(v[k].is_string(), "{k} in {v}");
    }
    let on_disk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&port_file).unwrap()).unwrap();
    assert_eq!(on_disk, v);
    let ca = std::fs::read(v["ca_pem"].as_str().unwrap()).unwrap();
    assert!(v["ca_pem"]
        .as_str()
        .unwrap()
        .starts_with(state.to_str().unwrap()));
    let http = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .use_rustls_tls()
        .build()
        .unwrap();
    let info: serde_json::Value = http
        .get(format!("{}/info", v["control_url"].as_str().unwrap()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(info["api_url"], v["api_url"]);
    // The start certificate logs in.
    let cc = &v["client_cert"];
    let mut pem = std::fs::read(cc["cert_pem"].as_str().unwrap()).unwrap();
    pem.extend(std::fs::read(cc["key_pem"].as_str().unwrap()).unwrap());
    let browser = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .identity(reqwest::Identity::from_pem(&pem).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .use_rustls_tls()
        .build()
        .unwrap();
    let r = browser
        .get(format!(
            "{}/anaf-oauth2/v1/authorize?response_type=code&client_id=sim-client-id&redirect_uri=https%3A%2F%2Flocalhost%3A9443%2Fanaf%2Fcallback",
            v["idp_url"].as_str().unwrap()
        ))
        .send()
        .unwrap();
    assert!(r.headers()["location"].to_str().unwrap().contains("?code="));

    // stdin EOF stops it, cleanly.
    drop(child.stdin.take());
    assert!(wait_exit(&mut child).success());
    assert!(!port_file.exists(), "port file removed at exit");

    // Restarted on the same state dir: the same CA, so a configured ca_file stays valid.
    let (mut child, v2) = spawn_binary(&["--state-dir", state.to_str().unwrap()]);
    assert_eq!(std::fs::read(v2["ca_pem"].as_str().unwrap()).unwrap(), ca);
    let st = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(st.success());
    assert!(wait_exit(&mut child).success());
    let _ = child.stdin.take().map(|mut s| s.write_all(b""));
}

#[test]
fn binary_help_explains_the_controls() {
    let out = Command::new(env!("CARGO_BIN_EXE_anaf-sim"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "--state-dir",
        "--port-file",
        "--exit-on-stdin-eof",
        "/_sim/tokens",
        "/_sim/faults",
        "/_sim/clock",
        "html_rejected",
        "access_denied",
    ] {
        assert!(s.contains(needle), "--help lacks {needle}");
    }
}
