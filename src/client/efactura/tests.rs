use super::*;
use crate::client::answer::Reply;
use crate::client::input::{check_cif, check_days, check_id, check_xml, Filter};

fn reply(body: &str, ct: &str) -> Reply {
    Reply {
        status: 200,
        content_type: ct.into(),
        retry_after: None,
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn upload_answers_from_the_swagger() {
    let ok = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<header xmlns=\"mfp:anaf:dgti:spv:respUploadFisier:v1\" dateResponse=\"202108051140\" ExecutionStatus=\"0\" index_incarcare=\"3828\"/>";
    assert_eq!(
        parse_upload(&reply(ok, "application/xml")).unwrap(),
        ("3828".to_string(), Some("202108051140".to_string()))
    );
    let rasp = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<header xmlns=\"mfp:anaf:dgti:spv:respUploadFisier:v1\" dateResponse=\"202401260957\" ExecutionStatus=\"1\">\r\n    <Errors errorMessage=\"S-au incarcat deja 1000 de mesaje de tip RASP pentru cui=1234 in cursul zilei\"/>\r\n</header>";
    let e = parse_upload(&reply(rasp, "application/xml")).unwrap_err();
    assert_eq!(e.status, ANAF_ERR_QUOTA_EXCEEDED);
    assert!(e.message(Lang::Ro).contains("S-au incarcat deja 1000"));
    let bad = "<?xml version=\"1.0\"?><header xmlns=\"mfp:anaf:dgti:spv:respUploadFisier:v1\" ExecutionStatus=\"1\"><Errors errorMessage=\"Fisierul transmis nu este valid. org.xml.sax.SAXParseException; cvc-elt.1.a: Cannot find the declaration of element &apos;Invoice1&apos;. \"/></header>";
    let e = parse_upload(&reply(bad, "application/xml")).unwrap_err();
    assert_eq!(e.status, ANAF_ERR_REJECTED);
    assert!(e.message(Lang::En).contains("'Invoice1'"), "{e:?}");
    let right = "<header xmlns=\"mfp:anaf:dgti:spv:respUploadFisier:v1\" ExecutionStatus=\"1\"><Errors errorMessage=\"Nu aveti drept in SPV pentru CIF=1234\"/></header>";
    assert_eq!(
        parse_upload(&reply(right, "")).unwrap_err().status,
        ANAF_ERR_UNAUTHORIZED
    );
    // A prefixed namespace is the same namespace.
    let pref = "<a:header xmlns:a=\"mfp:anaf:dgti:spv:respUploadFisier:v1\" ExecutionStatus=\"0\" index_incarcare=\"5\"/>";
    assert_eq!(parse_upload(&reply(pref, "")).unwrap().0, "5");
    // Another namespace is not an upload answer.
    let other = "<header xmlns=\"mfp:anaf:dgti:efactura:stareMesajFactura:v1\" stare=\"ok\"/>";
    assert_eq!(
        parse_upload(&reply(other, "")).unwrap_err().status,
        ANAF_ERR_BAD_RESPONSE
    );
    assert_eq!(
        parse_upload(&reply("{\"a\":1}", "")).unwrap_err().status,
        ANAF_ERR_BAD_RESPONSE
    );
}

#[test]
fn status_answers_from_the_swagger() {
    let p = |s: &str| parse_status(&reply(s, "application/xml"));
    let ok = p("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<header xmlns=\"mfp:anaf:dgti:efactura:stareMesajFactura:v1\" stare=\"ok\" id_descarcare=\"1234\"/>").unwrap();
    assert!(ok.is_ok() && ok.is_final());
    assert_eq!(ok.id_descarcare.as_deref(), Some("1234"));
    let pending = p(
        "<header xmlns=\"mfp:anaf:dgti:efactura:stareMesajFactura:v1\" stare=\"in prelucrare\"/>",
    )
    .unwrap();
    assert!(pending.is_pending());
    let xml_err = p("<header xmlns=\"mfp:anaf:dgti:efactura:stareMesajFactura:v1\" stare=\"XML cu erori nepreluat de sistem\"/>").unwrap();
    assert!(xml_err.is_final() && !xml_err.is_ok());
    let e = p("<header xmlns=\"mfp:anaf:dgti:efactura:stareMesajFactura:v1\">\n    <Errors errorMessage=\"S-au facut deja 20 descarcari de mesaj in cursul zilei\"/>\n</header>").unwrap_err();
    assert_eq!(e.status, ANAF_ERR_QUOTA_EXCEEDED);
    let e = p("<header xmlns=\"mfp:anaf:dgti:efactura:stareMesajFactura:v1\"><Errors errorMessage=\"Nu exista factura cu id_incarcare= 15000\"/></header>").unwrap_err();
    assert_eq!(e.status, ANAF_ERR_REJECTED);
    assert!(e.message(Lang::En).contains("id_incarcare= 15000"));
    // A state and ANAF's reasons together: the state is kept, with the reasons.
    let nok = p("<header xmlns=\"mfp:anaf:dgti:efactura:stareMesajFactura:v1\" stare=\"nok\" id_descarcare=\"77\"><Errors errorMessage=\"XML cu erori: BR-CO-15\"/></header>").unwrap();
    assert_eq!(
        (nok.stare.as_str(), nok.id_descarcare.as_deref()),
        ("nok", Some("77"))
    );
    assert_eq!(nok.errors, ["XML cu erori: BR-CO-15"]);
    assert!(nok.is_final() && !nok.is_ok());
}

#[test]
fn lists_from_the_swagger() {
    let l = parse_list(&reply(r#"{"mesaje":[{"data_creare":"202211011415","cif":"8000000000","id_solicitare":"5001130147","detalii":"Erori de validare identificate la factura primita cu id_incarcare=5001130147","tip":"ERORI FACTURA","id":"3001293434"}],"serial":"1234AA456","cui":"8000000000","titlu":"Lista Mesaje disponibile din ultimele 1 zile"}"#, "application/json")).unwrap();
    assert_eq!(l.mesaje.len(), 1);
    assert_eq!(l.mesaje[0].id, "3001293434");
    assert_eq!(l.mesaje[0].tip, "ERORI FACTURA");
    let empty = parse_list(&reply(
        r#"{"eroare":"Nu exista mesaje in ultimele 15 zile","titlu":"Lista Mesaje"}"#,
        "",
    ))
    .unwrap();
    assert!(empty.mesaje.is_empty());
    let e = parse_list(&reply(r#"{"eroare":"S-au facut deja 1000 interogari de lista mesaje de catre utilizator in cursul zilei","titlu":"Lista Mesaje"}"#, "")).unwrap_err();
    assert_eq!(e.status, ANAF_ERR_QUOTA_EXCEEDED);
    let e = parse_list(&reply(r#"{"eroare":"Lista de mesaje este mai mare decat numarul de 500 elemente permise in pagina. Folositi endpoint-ul cu paginatie.","titlu":"Lista Mesaje"}"#, "")).unwrap_err();
    assert!(is_too_many_text(&e));
    let p = parse_page(&reply(r#"{"mesaje":[{"data_creare":"202210311452","cif":"8000000000","id_solicitare":"5001120362","detalii":"x","tip":"ERORI FACTURA","id":3001474425}],"numar_inregistrari_in_pagina":1,"numar_total_inregistrari_per_pagina":500,"numar_total_inregistrari":14130,"numar_total_pagini":29,"index_pagina_curenta":29,"serial":"1234AA456","cui":"8000000000","titlu":"t"}"#, "")).unwrap().unwrap();
    assert_eq!(p.numar_total_pagini, Some(29));
    assert_eq!(p.mesaje[0].id, "3001474425");
    assert!(parse_page(&reply(
        r#"{"eroare":"Nu exista mesaje in intervalul selectat","titlu":"Lista Mesaje"}"#,
        ""
    ))
    .unwrap()
    .is_none());
}

#[test]
fn input_checks() {
    assert!(check_xml(
        b"<?xml version=\"1.0\"?>\n<Invoice xmlns=\"a\"><b x=\"1\"/></Invoice>\n",
        MAX_UPLOAD
    )
    .is_ok());
    assert!(check_xml(b"\xEF\xBB\xBF<a/>", MAX_UPLOAD).is_ok());
    // Invalid UTF-8: a stray byte, a truncated sequence, an overlong form, a surrogate.
    for bad in [
        &b"<a>\xFF</a>"[..],
        b"<a>\xC8</a>",
        b"<a>\xC0\xAF</a>",
        b"<a>\xED\xA0\x80</a>",
        b"<a x=\"\xE2\x82\"/>",
    ] {
        let e = check_xml(bad, MAX_UPLOAD).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_NOT_XML, "{bad:?}");
        assert!(
            e.message(Lang::En).contains("invalid UTF-8 at byte"),
            "{e:?}"
        );
    }
    assert!(check_xml("<a>ș</a>".as_bytes(), MAX_UPLOAD).is_ok());
    for bad in [
        &b""[..],
        b"   ",
        b"hello",
        b"<a><b></a>",
        b"<a>",
        b"<a/><b/>",
        b"<a x=1/>",
        b"{\"a\":1}",
        b"<a/>trailing",
    ] {
        let e = check_xml(bad, MAX_UPLOAD).unwrap_err();
        assert_eq!(
            e.status,
            ANAF_ERR_NOT_XML,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    assert_eq!(
        check_xml(&[b' '; 11], 10).unwrap_err().status,
        ANAF_ERR_TOO_LARGE
    );
    assert_eq!(Standard::parse("ubl").unwrap(), Standard::UBL);
    assert_eq!(
        Standard::parse("XML").unwrap_err().status,
        ANAF_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        check_cif("RO14399840").unwrap_err().status,
        ANAF_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        check_cif("14399841").unwrap_err().status,
        ANAF_ERR_INVALID_ARGUMENT
    );
    assert_eq!(check_days(0).unwrap_err().status, ANAF_ERR_INVALID_ARGUMENT);
    assert_eq!(
        check_days(61).unwrap_err().status,
        ANAF_ERR_INVALID_ARGUMENT
    );
    assert_eq!(check_days(60).unwrap(), 60);
    assert_eq!(
        check_id("12a", "id").unwrap_err().status,
        ANAF_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        Filter::parse(Some("x")).unwrap_err().status,
        ANAF_ERR_INVALID_ARGUMENT
    );
    assert_eq!(Filter::parse(Some("e")).unwrap(), Some(Filter::Errors));
    assert_eq!(Filter::parse(Some(" ")).unwrap(), None);
}
