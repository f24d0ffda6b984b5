//! ANAF's limits: 429 and the daily-quota texts get distinct statuses and pause the
//! process-wide pacer; the per-message and per-CIF daily quotas are also counted in the
//! database, so the DLL stops before ANAF has to say no. One test function: the pacer is
//! shared by every thread of the process and a back-off would stall parallel tests.

mod common;
#[path = "fixtures/svc.rs"]
mod svc;

use anaf_bridge::client::pacer;
use anaf_bridge::status::*;
use anaf_sim::{Fault, QuotaKind};
use common::{Fixture, CIF};
use serde_json::json;
use std::time::Duration;
use svc::*;

fn rasp(n: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Raspuns xmlns=\"mfp:anaf:dgti:efactura:mesajCumparator:v1\"><IdFactura>{n}</IdFactura><Mesaj>Factura acceptata</Mesaj></Raspuns>"
    )
    .into_bytes()
}

#[test]
fn rate_limit_and_daily_quotas() {
    let fx = Fixture::new();
    fx.sim.set_processing_secs(0);
    let cl = client(&fx, json!({}));

    // 429: its own status, and no call leaves the process before Retry-After (60 s).
    fx.sim
        .inject_on("/test/FCTEL/rest/listaMesajeFactura", Fault::RateLimited, 1);
    let (rc, v, err) = list(&cl, 1, None);
    assert_eq!(rc, ANAF_ERR_RATE_LIMITED, "{err}");
    assert!(v.is_none());
    assert_eq!(fx.sim.counters().faults_fired, 1, "429 is not retried");
    let pause = pacer::global().pause_remaining();
    assert!(pause > Duration::from_secs(55), "paused for {pause:?}");
    pacer::global().reset();

    // Upload one invoice to have a message to ask about.
    let (rc, v, err) = upload(&cl, &invoice_numbered("Q001"), None);
    assert_eq!(rc, ANAF_OK, "{err}");
    let index = v.unwrap()["index_incarcare"].as_str().unwrap().to_string();

    // ANAF's quota text for stareMesaj: a distinct status with ANAF's words, and a pause.
    fx.sim.set_quota_limit(QuotaKind::Stare, 2);
    for _ in 0..2 {
        let (rc, _, err) = status(&cl, &index);
        assert_eq!(rc, ANAF_OK, "{err}");
    }
    let (rc, _, err) = status(&cl, &index);
    assert_eq!(rc, ANAF_ERR_QUOTA_EXCEEDED, "{err}");
    assert!(
        err.contains("S-au facut deja"),
        "ANAF's text is kept: {err}"
    );
    assert!(pacer::global().pause_remaining() > Duration::from_millis(500));
    pacer::global().reset();

    // Until ANAF's day ends, the message stays refused.
    let (rc, v, err) = status(&cl, &index);
    assert_eq!(rc, ANAF_ERR_QUOTA_EXCEEDED, "{err}");
    assert!(v.is_none());
    pacer::global().reset();
    fx.sim.reset_quotas();
    let (rc, v, err) = status(&cl, &index);
    assert_eq!(rc, ANAF_OK, "{err}");
    let id = v.unwrap()["id_descarcare"].as_str().unwrap().to_string();
    // Downloads: ANAF's limit (lowered to 2 in the simulator) ...
    fx.sim.set_quota_limit(QuotaKind::Descarcare, 2);
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let (rc, _, err) = download(&cl, &id, &dir.path().join("a.zip"), false);
        assert_eq!(rc, ANAF_OK, "{err}");
    }
    let (rc, _, err) = download(&cl, &id, &dir.path().join("b.zip"), false);
    assert_eq!(rc, ANAF_ERR_QUOTA_EXCEEDED, "{err}");
    assert!(err.contains("S-au facut deja 2 descarcari"), "{err}");
    assert!(!dir.path().join("b.zip").exists(), "no file on failure");
    pacer::global().reset();

    // ... and the DLL's own count: the 11th download of a message today is refused
    // before the network, whatever ANAF would say.
    fx.sim.reset_quotas();
    fx.sim.set_quota_limit(QuotaKind::Descarcare, 1000);
    let session = fx.session(json!({}));
    let used = anaf_bridge::store::journal::calls_today(
        &session.store,
        "descarcare",
        &format!("{CIF}/{id}"),
    )
    .unwrap();
    assert_eq!(used, 3, "every download attempt was counted");
    for _ in used..10 {
        anaf_bridge::store::journal::count_call(
            &session.store,
            "descarcare",
            &format!("{CIF}/{id}"),
            10,
        )
        .unwrap();
    }
    let before = fx.sim.counters().requests;
    let (rc, _, err) = download(&cl, &id, &dir.path().join("c.zip"), false);
    assert_eq!(rc, ANAF_ERR_QUOTA_EXCEEDED, "{err}");
    assert!(err.contains("anaf-bridge") && err.contains("10"), "{err}");
    assert_eq!(fx.sim.counters().requests, before, "stopped before ANAF");
    assert_eq!(
        pacer::global().pause_remaining(),
        Duration::ZERO,
        "a local stop does not pause the pacer"
    );

    // RASP uploads: ANAF's daily limit per CIF, reported with its text.
    fx.sim.set_quota_limit(QuotaKind::UploadRasp, 1);
    let (rc, _, err) = upload(&cl, &rasp("1"), Some(r#"{"standard":"RASP"}"#));
    assert_eq!(rc, ANAF_OK, "{err}");
    let (rc, _, err) = upload(&cl, &rasp("2"), Some(r#"{"standard":"RASP"}"#));
    assert_eq!(rc, ANAF_ERR_QUOTA_EXCEEDED, "{err}");
    assert!(
        err.contains("S-au incarcat deja 1 de mesaje de tip RASP"),
        "{err}"
    );
    pacer::global().reset();
    // A refused RASP is not a duplicate: sent again once the quota allows it.
    fx.sim.reset_quotas();
    let (rc, _, err) = upload(&cl, &rasp("2"), Some(r#"{"standard":"RASP"}"#));
    assert_eq!(rc, ANAF_OK, "{err}");
}
