//! `anaf diagnose`: the report of `anaf_diagnose` (or of `anaf_diagnose_config` when the
//! client cannot be opened), as lines a technician reads: the verdict, what was checked,
//! what was found and what to do.

use crate::exit;
use crate::out::{self, Ctx};
use anaf_bridge::client::Session;
use anaf_bridge::diagnose;
use anaf_bridge::error::Result;
use serde_json::Value;

pub fn run(ctx: &Ctx) -> Result<u8> {
    let cfg = ctx.config()?;
    let lang = cfg.language;
    // As anaf_diagnose with a client; as anaf_diagnose_config when opening fails (a
    // read-only database, a wrong ca_file): the rest is still checked.
    let spinner = ctx.spinner(ctx.t("Verific…", "Checking…").to_string());
    let (report, open_error) = match Session::open(cfg.clone()) {
        Ok(s) => (diagnose::run(&s.config, Some(&s)), None),
        Err(e) => (diagnose::run(&cfg, None), Some(e)),
    };
    spinner.finish_and_clear();
    let v = report.to_json(lang);
    if ctx.json {
        out::print_json(&v);
    } else {
        print(ctx, &v, &ctx.loaded.source.describe());
        if let Some(e) = &open_error {
            say!(
                "\n{} {}",
                ctx.t(
                    "Clientul nu a putut fi deschis:",
                    "The client could not be opened:"
                ),
                out::message(e, lang)
            );
        }
    }
    Ok(if v["ok"] == Value::Bool(true) {
        exit::OK
    } else {
        exit::DIAGNOSE_PROBLEM
    })
}

fn print(ctx: &Ctx, v: &Value, source: &str) {
    say!(
        "anaf-bridge {} — {} {source}",
        anaf_bridge::VERSION,
        ctx.t("configurarea", "configuration")
    );
    say!();
    let verdict = |s: &str| match s {
        "ok" => "ok",
        "warning" => ctx.t("atenție", "warning"),
        "problem" => ctx.t("PROBLEMĂ", "PROBLEM"),
        _ => ctx.t("omis", "skipped"),
    };
    let width = ["ok", "warning", "problem", "skipped"]
        .iter()
        .map(|s| verdict(s).chars().count())
        .max()
        .unwrap_or(8);
    let todo = ctx.t("Ce faceți:", "What to do:");
    for c in v["checks"].as_array().into_iter().flatten() {
        let word = verdict(c["status"].as_str().unwrap_or(""));
        let pad = " ".repeat(width - word.chars().count());
        say!(
            "{word}{pad}  {}: {}",
            c["title"].as_str().unwrap_or(""),
            c["message"].as_str().unwrap_or("")
        );
        if let Some(a) = c["action"].as_str().filter(|a| !a.is_empty()) {
            say!("{}  {todo} {a}", " ".repeat(width));
        }
    }
    say!();
    say!("{}", v["summary"].as_str().unwrap_or(""));
}
