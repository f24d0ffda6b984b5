use super::*;

fn minimal() -> String {
    r#"{"database":"/tmp/x.db","cif":"14399840"}"#.to_string()
}

#[test]
fn minimal_config_takes_defaults() {
    let c = Config::from_json(&minimal()).unwrap();
    assert_eq!(c.environment, Environment::Prod);
    assert_eq!(c.language, Lang::Ro);
    assert_eq!(c.timeout, Duration::from_secs(60));
    assert_eq!(c.refresh_margin, Duration::from_secs(14 * 86400));
    assert_eq!(
        c.api_base("FCTEL/rest").as_str(),
        "https://api.anaf.ro/prod/FCTEL/rest/"
    );
    assert_eq!(
        c.idp_endpoint("token").as_str(),
        "https://logincert.anaf.ro/anaf-oauth2/v1/token"
    );
    assert_eq!(
        c.public_base().as_str(),
        "https://webservicesp.anaf.ro/prod/FCTEL/rest/"
    );
}

#[test]
fn the_relay_key_is_read_trimmed_and_blank_is_none() {
    let with = |k: &str| {
        Config::from_json(&format!(
            r#"{{"database":"d","cif":"14399840","relay_key":{k}}}"#
        ))
        .unwrap()
        .relay_key
    };
    assert_eq!(with(r#"" ark_abc ""#).as_deref(), Some("ark_abc"));
    assert_eq!(with(r#""  ""#), None);
    assert_eq!(with("null"), None);
    assert!(Config::from_json(r#"{"database":"d","cif":"14399840","relay_key":5}"#).is_err());
}

#[test]
fn custom_bases_keep_their_path() {
    let c = Config::from_json(
        r#"{"database":"d","cif":"14399840","environment":"test","api_url":"http://127.0.0.1:9/sim"}"#,
    )
    .unwrap();
    assert_eq!(
        c.api_base("ETRANSPORT/ws/v1").as_str(),
        "http://127.0.0.1:9/sim/test/ETRANSPORT/ws/v1/"
    );
}

#[test]
fn a_byte_order_mark_and_text_that_is_not_a_cif() {
    let with_bom = format!("\u{feff}{}", minimal());
    assert_eq!(Config::from_json(&with_bom).unwrap().cif, "14399840");
    for bad in ["1ș", "Rș", "ș1", "１４３９９８４０", "RȘ14399840"] {
        let e = normalize_cif(bad).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_INVALID_CONFIG, "{bad}");
    }
}

#[test]
fn plain_http_only_to_this_computer() {
    let with = |k: &str, u: &str| {
        Config::from_json(&format!(
            r#"{{"database":"d","cif":"14399840","{k}":"{u}"}}"#
        ))
    };
    for k in ["idp_url", "api_url", "public_url", "relay_url"] {
        for ok in [
            "http://127.0.0.1:9/x",
            "http://127.8.0.1/",
            "http://localhost:8080/",
            "http://[::1]:9/",
            "https://api.anaf.ro",
        ] {
            assert!(with(k, ok).is_ok(), "{k} {ok}");
        }
        for bad in [
            "http://api.anaf.ro",
            "http://10.0.0.5/anaf/",
            "http://erp.example.ro/anaf/",
        ] {
            let e = with(k, bad).unwrap_err();
            assert!(
                e.message(Lang::En).contains("without TLS"),
                "{k} {bad}: {e:?}"
            );
        }
    }
}

#[test]
fn cif_rules() {
    assert_eq!(normalize_cif(" 14399840 ").unwrap(), "14399840");
    let e = normalize_cif("RO14399840").unwrap_err();
    assert_eq!(e.status, ANAF_ERR_INVALID_CONFIG);
    assert!(e.message(Lang::Ro).contains("RO"));
    assert!(normalize_cif("1439984a").is_err());
    assert!(normalize_cif("14399841").is_err(), "control digit");
    assert!(normalize_cif("").is_err());
}

#[test]
fn serial_rules() {
    assert_eq!(normalize_serial("1a 2b:3C").unwrap(), "1A2B3C");
    let e = normalize_serial("1a2ă").unwrap_err();
    assert!(e.message(Lang::En).contains("cert_serial"));
    assert!(normalize_serial("   ").is_err());
}

#[test]
fn unknown_keys_and_wrong_types_name_the_field() {
    let e = Config::from_json(r#"{"database":"d","cif":"14399840","databse":"x"}"#).unwrap_err();
    assert_eq!(e.status, ANAF_ERR_INVALID_CONFIG);
    assert!(e.message(Lang::En).contains("\"databse\""));
    let e = Config::from_json(r#"{"database":"d","cif":"14399840","timeout_seconds":"30"}"#)
        .unwrap_err();
    assert!(e.message(Lang::En).contains("timeout_seconds"));
    let e = Config::from_json(r#"{"database":"d","cif":14399840}"#).unwrap_err();
    assert!(e.message(Lang::Ro).contains("\"cif\""));
    let e = Config::from_json(r#"{"cif":"14399840"}"#).unwrap_err();
    assert!(e.message(Lang::En).contains("database"));
    assert_eq!(
        Config::from_json("{").unwrap_err().status,
        ANAF_ERR_INVALID_JSON
    );
    assert_eq!(
        Config::from_json("[]").unwrap_err().status,
        ANAF_ERR_INVALID_CONFIG
    );
    let e = Config::from_json(r#"{"database":"d","cif":"14399840","language":"de"}"#).unwrap_err();
    assert!(e.message(Lang::En).contains("language"));
}

#[test]
fn journal_sync_is_full_unless_asked_otherwise() {
    assert!(Config::from_json(&minimal()).unwrap().journal_sync_full);
    let c =
        Config::from_json(r#"{"database":"d","cif":"14399840","journal_sync":"normal"}"#).unwrap();
    assert!(!c.journal_sync_full);
    let e =
        Config::from_json(r#"{"database":"d","cif":"14399840","journal_sync":"off"}"#).unwrap_err();
    assert_eq!(e.status, ANAF_ERR_INVALID_CONFIG);
    assert!(e.message(Lang::En).contains("\"journal_sync\""));
    assert!(e.message(Lang::Ro).contains("\"full\" sau \"normal\""));
}

#[test]
fn oauth_fields_are_required_when_used() {
    let c = Config::from_json(&minimal()).unwrap();
    let e = c.oauth().unwrap_err();
    assert!(e.message(Lang::En).contains("client_id"));
}

#[test]
fn serial_normalisation_is_noted() {
    let c =
        Config::from_json(r#"{"database":"d","cif":"14399840","cert_serial":"ab cd"}"#).unwrap();
    assert_eq!(c.cert_serial.as_deref(), Some("ABCD"));
    assert_eq!(c.notes.len(), 1);
}
