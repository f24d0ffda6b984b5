//! The real `anaf` binary against anaf-sim: each subcommand, its `--json` answer parsed,
//! and the exit codes of each class (README "For support").

mod common;

use anaf_sim::{Fault, Outcome};
use common::*;
use serde_json::json;

const UPLOAD: &str = "/test/FCTEL/rest/upload";

#[test]
fn help_names_every_command_and_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(dir.path(), &["--help"], &[]).expect(0);
    for c in [
        "diagnose",
        "token",
        "upload",
        "status",
        "journal",
        "resolve",
        "inbox",
        "etransport",
        "Exit codes",
        "ANAF_CONFIG",
    ] {
        assert!(r.stdout.contains(c), "{c} in {}", r.stdout);
    }
    // A command line clap refuses is a usage error too.
    run_in(dir.path(), &["upload"], &[]).expect(2);
    run_in(dir.path(), &["no-such-command"], &[]).expect(2);
}

#[test]
fn without_a_configuration_the_places_looked_at_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(dir.path(), &["--lang", "en", "token", "info"], &[]).expect(2);
    assert!(
        r.stderr.contains("anaf.json") && r.stderr.contains("ANAF_CONFIG"),
        "{r:#?}"
    );
    let r = run_in(dir.path(), &["--json", "token", "info"], &[]).expect(2);
    assert_eq!(r.json()["error"]["status"], "ANAF_ERR_INVALID_CONFIG");
    // A --config file that is not there.
    let r = run_in(dir.path(), &["--config", "missing.json", "diagnose"], &[]).expect(2);
    assert!(r.stderr.contains("missing.json"), "{r:#?}");
}

#[test]
fn a_bad_configuration_is_refused_naming_the_field() {
    let env = Env::new();
    env.write_config(json!({"cif": "RO14399840"}));
    let r = env.anaf(&["--json", "token", "info"]).expect(2);
    let e = &r.json()["error"];
    assert_eq!(e["status"], "ANAF_ERR_INVALID_CONFIG", "{r:#?}");
    assert_eq!(e["exit_code"], 2);
    assert!(e["message"].as_str().unwrap().contains("cif"), "{e}");
    env.write_config(json!({"databse": "x.db"}));
    let r = env.anaf(&["diagnose"]).expect(2);
    assert!(r.stderr.contains("databse"), "{r:#?}");
    std::fs::write(env.config_path(), "{ not json").unwrap();
    let r = env.anaf(&["--json", "journal"]).expect(2);
    assert_eq!(r.json()["error"]["status"], "ANAF_ERR_INVALID_JSON");
}

#[test]
fn the_configuration_is_found_in_the_environment_and_in_the_current_folder() {
    let env = Env::new();
    env.with_token();
    // ANAF_CONFIG naming the file, from another folder: the relative database path is
    // taken from the file's folder, so the same token is found.
    let elsewhere = tempfile::tempdir().unwrap();
    let cfg = env.config_path();
    let r = run_in(
        elsewhere.path(),
        &["--json", "token", "info"],
        &[("ANAF_CONFIG", cfg.to_str().unwrap())],
    )
    .expect(0);
    assert_eq!(r.json()["cif"], CIF);
    // ANAF_CONFIG holding the JSON itself (its paths relative to the current folder).
    let inline = env
        .config_json(json!({"database": env.path("anaf.db")}))
        .to_string();
    let r = run_in(
        elsewhere.path(),
        &["--json", "token", "info"],
        &[("ANAF_CONFIG", &inline)],
    )
    .expect(0);
    assert_eq!(r.json()["serial"], SERIAL);
    // anaf.json in the current folder.
    let r = run_in(env.dir.path(), &["--json", "token", "info"], &[]).expect(0);
    assert_eq!(r.json()["environment"], "test");
}

#[test]
fn no_token_means_a_login_is_needed() {
    let env = Env::new();
    let r = env.anaf(&["token", "info"]).expect(3);
    assert!(r.stderr.contains("ANAF_ERR_NO_TOKEN"), "{r:#?}");
    let r = env.anaf(&["--json", "token", "test"]).expect(3);
    assert_eq!(r.json()["error"]["code"], -20);
    // A batch without a token is refused before anything is written or sent.
    std::fs::write(env.path("a.xml"), invoice("NT-1")).unwrap();
    std::fs::write(env.path("b.xml"), invoice("NT-2")).unwrap();
    let r = env.anaf(&["--json", "upload", "a.xml", "b.xml"]).expect(3);
    assert_eq!(r.json()["error"]["status"], "ANAF_ERR_NO_TOKEN", "{r:#?}");
    assert_eq!(env.sim.counters().uploads.values().sum::<u64>(), 0);
    let j = env.anaf(&["--json", "journal"]).json();
    assert!(
        j.to_string().contains("[]") || j["entries"].as_array().is_some_and(Vec::is_empty),
        "no row written: {j}"
    );
}

#[test]
fn the_messages_follow_the_language() {
    let env = Env::new();
    let en = env.anaf(&["token", "info"]).expect(3);
    assert!(en.stderr.starts_with("error ANAF_ERR_NO_TOKEN"), "{en:#?}");
    let ro = env.anaf(&["--lang", "ro", "token", "info"]).expect(3);
    assert!(ro.stderr.starts_with("eroare ANAF_ERR_NO_TOKEN"), "{ro:#?}");
    assert_ne!(en.stderr, ro.stderr);
    env.write_config(json!({"language": "ro"}));
    let ro2 = env.anaf(&["token", "info"]).expect(3);
    assert_eq!(ro.stderr, ro2.stderr);
}

#[test]
fn the_token_lifecycle() {
    let env = Env::new();
    env.with_token();
    let info = env.anaf(&["--json", "token", "info"]).expect(0).json();
    assert_eq!(info["serial"], SERIAL);
    assert!(info["days_left"].as_i64().unwrap() > 80, "{info}");
    assert_eq!(info["login_required"], false);
    let text = env.anaf(&["token", "info"]).expect(0).stdout;
    assert!(
        text.contains("Certificate serial") && text.contains(SERIAL),
        "{text}"
    );
    assert!(!text.contains("eyJ"), "never the tokens: {text}");

    let r = env.anaf(&["--json", "token", "test"]).expect(0);
    assert_eq!(r.json()["ok"], true);
    env.anaf(&["token", "test"]).expect(0);

    let refreshed = env.anaf(&["--json", "token", "refresh"]).expect(0).json();
    assert_eq!(
        refreshed["version"].as_i64(),
        info["version"].as_i64().map(|v| v + 1),
        "{refreshed}"
    );
    assert!(refreshed["refreshed_at"].is_string(), "{refreshed}");

    // A pair from a file, as ANAF's token answer.
    let pair = env.sim.mint_tokens(CIF, SERIAL);
    let file = env.path("tokens.json");
    std::fs::write(
        &file,
        json!({"access_token": pair.access_token, "refresh_token": pair.refresh_token}).to_string(),
    )
    .unwrap();
    let imported = env
        .anaf(&[
            "--json",
            "token",
            "import",
            "--file",
            file.to_str().unwrap(),
        ])
        .expect(0)
        .json();
    assert!(imported["version"].as_i64() > refreshed["version"].as_i64());
    // Swapped tokens are refused and the stored pair is kept.
    let r = env.anaf(&["token", "import", &pair.refresh_token, &pair.access_token]);
    assert_eq!(r.code, 2, "{r:#?}");
    env.anaf(&["token", "info"]).expect(0);

    // Deleting needs --yes.
    env.anaf(&["token", "delete"]).expect(2);
    env.anaf(&["token", "info"]).expect(0);
    let r = env.anaf(&["--json", "token", "delete", "--yes"]).expect(0);
    assert_eq!(r.json()["deleted"], true);
    env.anaf(&["token", "info"]).expect(3);
}

#[test]
fn login_and_link_say_what_the_configuration_lacks() {
    let env = Env::new();
    // The login window is not opened without the OAuth application.
    env.write_config(json!({"client_id": null, "client_secret": null}));
    let r = env.anaf(&["--json", "token", "login"]).expect(2);
    assert_eq!(
        r.json()["error"]["status"],
        "ANAF_ERR_INVALID_CONFIG",
        "{r:#?}"
    );
    // The browser link needs the vendor's relay.
    env.write_config(json!({}));
    let r = env.anaf(&["token", "link", "--no-wait"]).expect(2);
    assert!(r.stderr.contains("relay_url"), "{r:#?}");
    // Nothing pending to resume or cancel.
    let r = env.anaf(&["--json", "token", "link", "--cancel"]).expect(3);
    assert_eq!(r.json()["error"]["status"], "ANAF_ERR_NO_LINK");
}

#[test]
fn diagnose_as_a_table_and_as_json() {
    let env = Env::new();
    env.with_token();
    let r = env.anaf(&["--json", "diagnose"]);
    let v = r.json();
    let checks = v["checks"].as_array().expect("checks");
    assert!(checks.len() >= 8, "{v}");
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    for id in [
        "cert_serial",
        "oauth_config",
        "dll_bitness",
        "clock",
        "token",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    let token = checks.iter().find(|c| c["id"] == "token").unwrap();
    assert_eq!(token["status"], "ok", "{token}");
    // The exit code says whether a problem was found.
    let expected = if v["ok"] == true { 0 } else { 8 };
    assert_eq!(r.code, expected, "{v}");

    let text = env.anaf(&["diagnose"]).expect(expected).stdout;
    assert!(
        text.contains("ANAF token") && text.contains("anaf.json"),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("ok ")), "{text}");

    // Without a token: a problem, with what to do.
    env.anaf(&["token", "delete", "--yes"]).expect(0);
    let r = env.anaf(&["diagnose"]).expect(8);
    assert!(
        r.stdout.contains("PROBLEM") && r.stdout.contains("What to do:"),
        "{r:#?}"
    );
}

#[test]
fn when_anaf_cannot_be_reached() {
    let env = Env::new();
    let port = closed_port();
    let down = format!("https://127.0.0.1:{port}");
    env.write_config(json!({"api_url": down, "idp_url": down, "public_url": down,
        "timeout_seconds": 3, "connect_timeout_seconds": 2}));
    // Importing needs no network.
    env.with_token();
    let r = env.anaf(&["--json", "token", "test"]).expect(4);
    assert_eq!(r.json()["error"]["status"], "ANAF_ERR_NETWORK", "{r:#?}");
    let r = env.anaf(&["--json", "status", "5001"]).expect(4);
    assert_eq!(r.json()["results"][0]["status"], "ANAF_ERR_NETWORK");
    env.anaf(&["inbox", "sync"]).expect(4);
    env.anaf(&["etransport", "list"]).expect(4);
    let r = env.anaf(&["--json", "diagnose"]).expect(8);
    assert_eq!(r.json()["ok"], false);
}

#[test]
fn upload_a_folder_then_wait_for_the_states() {
    let env = Env::new();
    env.with_token();
    let folder = env.path("out");
    std::fs::create_dir(&folder).unwrap();
    for n in 1..=3 {
        std::fs::write(
            folder.join(format!("f{n}.xml")),
            invoice(&format!("UP-{n}")),
        )
        .unwrap();
    }
    std::fs::write(folder.join("z_broken.xml"), "this is not XML").unwrap();
    std::fs::write(folder.join("notes.txt"), "not sent").unwrap();
    let r = env.anaf(&["--json", "upload", "out"]);
    let v = r.json();
    assert_eq!(v["count"], 4, "the *.xml files of the folder: {v}");
    assert_eq!(v["succeeded"], 3, "{v}");
    let results = v["results"].as_array().unwrap();
    assert!(
        results[..3].iter().all(|x| x["result"] == "uploaded"),
        "{v}"
    );
    assert_eq!(results[3]["status"], "ANAF_ERR_NOT_XML", "{v}");
    assert_eq!(r.code, 2, "the broken file decides: {r:#?}");
    assert_eq!(env.sim.counters().uploads[CIF], 3);
    let ids: Vec<String> = results[..3]
        .iter()
        .map(|x| x["index_incarcare"].as_str().unwrap().to_string())
        .collect();

    // The same document again is not sent: the journal answers, exit 0.
    let f1 = folder.join("f1.xml");
    let r = env.anaf(&["upload", f1.to_str().unwrap()]).expect(0);
    assert!(r.stdout.starts_with("already"), "{r:#?}");
    let r = env
        .anaf(&["--json", "upload", f1.to_str().unwrap()])
        .expect(0);
    assert_eq!(r.json()["results"][0]["result"], "already_uploaded");
    assert_eq!(env.sim.counters().uploads[CIF], 3);

    // Right after the upload ANAF is still processing; the wait ends with "ok".
    let r = env.anaf(&["--json", "status", &ids[0]]);
    let first = r.json()["results"][0]["stare"].clone();
    assert!(
        (first == "in prelucrare" && r.code == 7) || (first == "ok" && r.code == 0),
        "{r:#?}"
    );
    let mut args = vec![
        "--json",
        "status",
        "--wait",
        "--timeout",
        "30",
        "--interval-ms",
        "200",
    ];
    args.extend(ids.iter().map(String::as_str));
    let v = env.anaf(&args).expect(0).json();
    assert_eq!(v["succeeded"], 3, "{v}");
    assert!(v["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["stare"] == "ok"));
    // Every state is known now: nothing pending.
    let r = env.anaf(&["status", "--pending"]).expect(0);
    assert!(r.stdout.contains("No upload waiting"), "{r:#?}");

    // A rejected invoice: exit 5, ANAF's state in the JSON.
    env.sim.force_next_outcome(Outcome::Nok);
    let f4 = env.path("f4.xml");
    std::fs::write(&f4, invoice("UP-4")).unwrap();
    let up = env
        .anaf(&["--json", "upload", f4.to_str().unwrap()])
        .expect(0)
        .json();
    let id4 = up["results"][0]["index_incarcare"]
        .as_str()
        .unwrap()
        .to_string();
    // --pending finds it in the journal.
    let r = env.anaf(&[
        "--json",
        "status",
        "--pending",
        "--wait",
        "--timeout",
        "30",
        "--interval-ms",
        "200",
    ]);
    let v = r.json();
    assert_eq!(v["results"][0]["id"], id4.as_str(), "{v}");
    assert_eq!(v["results"][0]["stare"], "nok", "{v}");
    assert_eq!(r.code, 5, "{r:#?}");

    // The journal shows the four uploads.
    let j = env.anaf(&["--json", "journal"]).expect(0).json();
    assert_eq!(j["uploads"].as_array().unwrap().len(), 4, "{j}");
    let text = env.anaf(&["journal"]).expect(0).stdout;
    assert!(
        text.contains(&ids[0]) && text.contains("uploaded"),
        "{text}"
    );
}

#[test]
fn an_upload_without_an_answer_is_uncertain_until_resolved() {
    let env = Env::new();
    env.with_token();
    let f = env.path("u.xml");
    std::fs::write(&f, invoice("UNC-1")).unwrap();
    let file = f.to_str().unwrap();
    env.sim.inject_on(UPLOAD, Fault::Reset, 1);
    let r = env.anaf(&["--json", "upload", file]).expect(4);
    assert_eq!(r.json()["results"][0]["status"], "ANAF_ERR_NETWORK");
    // Not sent again: uncertain, exit 5, the journal row named.
    let r = env.anaf(&["--json", "upload", file]).expect(5);
    let v = r.json();
    assert_eq!(v["results"][0]["result"], "uncertain", "{v}");
    let row = v["results"][0]["journal_id"].as_i64().unwrap();
    // resolve with no row looks at every uncertain one; the simulator dropped it, so it is
    // not found (exit 0, "found": false).
    let v = env.anaf(&["--json", "resolve"]).expect(0).json();
    assert_eq!(v["results"][0]["journal_id"], row.to_string(), "{v}");
    assert_eq!(v["results"][0]["found"], false, "{v}");
    env.anaf(&["resolve", "999"]).expect(2);
    // Forced, it goes out once.
    let v = env
        .anaf(&["--json", "upload", "--force", file])
        .expect(0)
        .json();
    assert_eq!(v["results"][0]["result"], "uploaded", "{v}");
    let r = env.anaf(&["resolve"]).expect(0);
    assert!(r.stdout.contains("No uncertain upload"), "{r:#?}");
}

#[test]
fn the_inbox_sync_list_and_get() {
    let env = Env::new();
    env.with_token();
    env.sim.seed_inbox("test", CIF, 5, 3);
    let v = env.anaf(&["--json", "inbox", "sync"]).expect(0).json();
    // The supplier invoices and whatever else the simulator's inbox holds.
    let n = v["listed"].as_u64().unwrap();
    assert!(n >= 5, "{v}");
    assert_eq!(v["new"], n, "{v}");
    assert_eq!(v["downloaded"], n, "{v}");
    assert_eq!(v["complete"], true, "{v}");
    // Nothing new the second time.
    let r = env.anaf(&["inbox", "sync"]).expect(0);
    assert!(
        r.stdout.contains("New") && r.stdout.contains("Complete"),
        "{r:#?}"
    );

    let v = env.anaf(&["--json", "inbox", "list"]).expect(0).json();
    assert_eq!(v["count"], n, "{v}");
    let v = env
        .anaf(&["--json", "inbox", "list", "--type", "FACTURA PRIMITA"])
        .expect(0)
        .json();
    assert_eq!(v["count"], 5, "{v}");
    let id = v["messages"][0]["message_id"].as_str().unwrap().to_string();
    let v = env
        .anaf(&["--json", "inbox", "list", "--not-imported", "--limit", "2"])
        .expect(0)
        .json();
    assert_eq!(v["count"], 2, "{v}");
    let text = env.anaf(&["inbox", "list"]).expect(0).stdout;
    assert!(
        text.contains(&id) && text.contains(&format!("{n} messages")),
        "{text}"
    );

    let r = env.anaf(&["inbox", "get", &id]).expect(0);
    let xml = std::fs::read_to_string(env.path(&format!("{id}.xml"))).unwrap();
    // An invoice or a credit note (the simulator's inbox has both).
    assert!(
        xml.contains("<Invoice") || xml.contains("<CreditNote"),
        "{r:#?}\n{xml}"
    );
    let zip = env.path("m.zip");
    let v = env
        .anaf(&[
            "--json",
            "inbox",
            "get",
            &id,
            "--what",
            "zip",
            "--out",
            zip.to_str().unwrap(),
        ])
        .expect(0)
        .json();
    assert_eq!(
        v["size"].as_u64(),
        Some(std::fs::metadata(&zip).unwrap().len())
    );
    assert_eq!(v["message"]["message_id"], id.as_str());
    let r = env.anaf(&["--json", "inbox", "get", "424242"]).expect(2);
    assert_eq!(r.json()["error"]["status"], "ANAF_ERR_NO_MESSAGE");
    env.anaf(&["inbox", "list", "--from", "yesterday"])
        .expect(2);
}

#[test]
fn etransport_upload_status_and_list() {
    let env = Env::new();
    env.with_token();
    // Processed at once: the status is final and the list has it.
    env.sim.set_processing_secs(0);
    let f = env.path("decl.xml");
    std::fs::write(&f, etransport_declaration()).unwrap();
    let v = env
        .anaf(&["--json", "etransport", "upload", f.to_str().unwrap()])
        .expect(0)
        .json();
    let up = &v["results"][0];
    assert_eq!(up["result"], "uploaded", "{v}");
    assert!(up["UIT"].is_string(), "{v}");
    let index = up["index_incarcare"].as_str().unwrap().to_string();
    // Sent once: the journal answers the second time.
    let v = env
        .anaf(&["--json", "etransport", "upload", f.to_str().unwrap()])
        .expect(0)
        .json();
    assert_eq!(v["results"][0]["result"], "already_uploaded", "{v}");

    let v = env
        .anaf(&["--json", "etransport", "status", &index])
        .expect(0)
        .json();
    assert_eq!(v["results"][0]["stare"], "ok", "{v}");
    let v = env
        .anaf(&["--json", "etransport", "list", "--days", "5"])
        .expect(0)
        .json();
    assert!(v["mesaje"].as_array().is_some_and(|m| !m.is_empty()), "{v}");
    let text = env.anaf(&["etransport", "list"]).expect(0).stdout;
    assert!(text.contains("messages"), "{text}");
}

#[test]
fn a_reader_that_goes_away_does_not_stop_the_work() {
    // `anaf upload … | head -1`: stdout closed before the lines are written.
    let env = Env::new();
    env.with_token();
    for n in 1..=2 {
        std::fs::write(
            env.path(&format!("p{n}.xml")),
            invoice(&format!("PIPE-{n}")),
        )
        .unwrap();
    }
    let cfg = env.config_path();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_anaf"))
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "upload",
            "p1.xml",
            "p2.xml",
        ])
        .current_dir(env.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.sim.counters().uploads[CIF], 2);
}

#[test]
fn a_partner_is_looked_up_by_its_cif() {
    let env = Env::new();
    // No token needed: the registry is public.
    let v = env
        .anaf(&["--json", "lookup", "RO 14399840", "8000000000"])
        .expect(0)
        .json();
    assert_eq!(v["requests"], 1, "{v}");
    let found = v["found"].as_array().unwrap();
    assert_eq!(found.len(), 2, "{v}");
    assert_eq!(found[0]["name"], "FIRMA 14399840 SRL");
    let text = env
        .anaf(&["--lang", "en", "lookup", "14399840"])
        .expect(0)
        .stdout;
    assert!(
        text.contains("FIRMA 14399840 SRL") && text.contains("VAT payer"),
        "{text}"
    );
    // A CIF with a wrong control digit is named, and the exit code says to look at it.
    let r = env
        .anaf(&["--lang", "en", "lookup", "14399841", "14399840"])
        .expect(2);
    assert!(
        r.stdout.contains("14399841") && r.stdout.contains("control digit"),
        "{}",
        r.stdout
    );
    env.anaf(&["lookup", "--date", "30.11.2026", "14399840"])
        .expect(2);
}
