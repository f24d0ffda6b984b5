//! Several files or IDs, one after another, under one progress bar: a line per item, a
//! JSON list with `--json`, and the exit code of the first item that did not succeed.
//! What would fail every next item the same way (no token, no network, no database)
//! stops the batch; the items left are reported as not done.

use crate::exit;
use crate::out::{self, Ctx};
use anaf_bridge::error::{Error, Result};
use anaf_bridge::status::{self, ANAF_ERR_INVALID_ARGUMENT};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// How one item ended.
pub struct Step {
    /// The library's status for this item (`ANAF_OK`, `ANAF_PENDING`, …).
    pub status: i32,
    /// The verdict word of the item's line ("ok", "trimis", …).
    pub word: String,
    /// The rest of the item's line.
    pub detail: String,
    /// The item's JSON (the batch adds its label, status and code).
    pub json: Value,
}

/// The files of the command line: each file as given, each folder's `*.xml` files in
/// name order.
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut in_dir: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| file_error(p, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && is_xml(f))
                .collect();
            in_dir.sort();
            v.extend(in_dir);
        } else {
            v.push(p.clone());
        }
    }
    if v.is_empty() {
        return Err(Error::with(
            ANAF_ERR_INVALID_ARGUMENT,
            "Niciun fișier XML de trimis în folderele date.",
            "No XML file to send in the folders given.",
        ));
    }
    Ok(v)
}

fn is_xml(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("xml"))
}

fn file_error(p: &Path, e: std::io::Error) -> Error {
    Error::with(
        anaf_bridge::status::ANAF_ERR_FILE,
        format!("„{}”: {e}", p.display()),
        format!("\"{}\": {e}", p.display()),
    )
}

/// Runs `f` on each item (`key` names it in the JSON: "file", "id", "journal_id").
pub fn run(ctx: &Ctx, key: &str, items: &[String], mut f: impl FnMut(&str) -> Result<Step>) -> u8 {
    let bar = ctx.bar(items.len() as u64);
    let mut results = Vec::new();
    let mut statuses = Vec::new();
    let mut stopped: Option<i32> = None;
    let width = 9;
    for item in items {
        let (status, json) = if let Some(why) = stopped {
            let word = ctx.t("nefăcut", "not done");
            let detail = ctx.t(
                "oprit după eroarea de mai sus",
                "stopped after the error above",
            );
            if !ctx.json {
                bar.suspend(|| say!("{word:width$} {item}  {detail}"));
            }
            (why, json!({"result": "not_done"}))
        } else {
            bar.set_message(item.clone());
            match f(item) {
                Ok(step) => {
                    let (word, detail) = (&step.word, &step.detail);
                    if !ctx.json {
                        bar.suspend(|| say!("{word:width$} {item}  {detail}"));
                    }
                    (step.status, step.json)
                }
                Err(e) => {
                    let msg = out::message(&e, ctx.lang);
                    if !ctx.json {
                        let word = ctx.t("EROARE", "ERROR");
                        bar.suspend(|| {
                            say!("{word:width$} {item}  {}: {msg}", status::name(e.status))
                        });
                    }
                    if exit::stops_batch(e.status) {
                        stopped = Some(e.status);
                    }
                    let mut j = out::error_json(&e, ctx.lang);
                    j["result"] = json!("error");
                    (e.status, j)
                }
            }
        };
        let mut j = json;
        if let Value::Object(m) = &mut j {
            m.insert(key.to_string(), json!(item));
            m.entry("status")
                .or_insert_with(|| json!(status::name(status)));
            m.entry("code").or_insert_with(|| json!(status));
        }
        results.push(j);
        statuses.push(status);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let failed = statuses
        .iter()
        .filter(|&&s| exit::code(s) != exit::OK)
        .count();
    if ctx.json {
        out::print_json(&json!({
            "count": items.len(),
            "succeeded": items.len() - failed,
            "not_succeeded": failed,
            "results": results,
        }));
    } else if items.len() > 1 {
        say!(
            "{}: {}, {}: {}",
            ctx.t("reușite", "succeeded"),
            items.len() - failed,
            ctx.t("nereușite", "not succeeded"),
            failed
        );
    }
    out::first_failure(statuses)
}
