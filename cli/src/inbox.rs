//! `anaf inbox sync | list | get`: the e-Factura inbox kept in the token database. The sync
//! runs as `anaf_inbox_sync_begin` / `anaf_inbox_sync_poll` do (the library's `Job` on a
//! thread of its own, its progress polled for the bar); list and get read the rows and
//! files as `anaf_inbox_list` and `anaf_inbox_get`.

use crate::exit;
use crate::out::{self, Ctx};
use anaf_bridge::client::inbox::{Job, Part, SyncOptions};
use anaf_bridge::client::job::Poll;
use anaf_bridge::error::{Error, Result};
use anaf_bridge::status::*;
use anaf_bridge::store::inbox::Filter;
use clap::{Args, Subcommand};
use indicatif::ProgressStyle;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Subcommand)]
pub enum Cmd {
    /// Brings the inbox up to date: lists what arrived since the last run, downloads each new message once
    Sync(SyncArgs),
    /// The messages of the inbox, newest first
    List(ListArgs),
    /// Writes one part of a downloaded message to a file
    Get(GetArgs),
}

#[derive(Args)]
pub struct SyncArgs {
    /// List from this day (YYYY-MM-DD) instead of from where the last run ended
    #[arg(long, value_name = "YYYY-MM-DD")]
    since: Option<String>,
    /// Wait up to this many seconds for another workstation's sync instead of answering busy
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=3600))]
    wait_seconds: Option<u64>,
    /// Download at most this many messages in this run
    #[arg(long)]
    max_downloads: Option<usize>,
}

#[derive(Args)]
pub struct ListArgs {
    /// ANAF's message type, e.g. "FACTURA PRIMITA"
    #[arg(long = "type")]
    message_type: Option<String>,
    /// The supplier's CIF
    #[arg(long)]
    supplier: Option<String>,
    /// listed, downloaded, failed or expired
    #[arg(long)]
    state: Option<String>,
    /// Only what the ERP has not imported (acknowledged) yet
    #[arg(long)]
    not_imported: bool,
    /// Created on or after this day
    #[arg(long, value_name = "YYYY-MM-DD")]
    from: Option<String>,
    /// Created on or before this day
    #[arg(long, value_name = "YYYY-MM-DD")]
    to: Option<String>,
    /// At most this many messages
    #[arg(long)]
    limit: Option<usize>,
}

#[derive(Args)]
pub struct GetArgs {
    /// The message's id (from anaf inbox list)
    id: String,
    /// Which part: xml (the invoice), zip (as ANAF gave it), signature (ANAF's), pdf (made by ANAF once, then kept)
    #[arg(long, default_value = "xml", value_parser = ["xml", "zip", "signature", "pdf"])]
    what: String,
    /// Where to write it (default: <id>.xml, <id>.zip, <id>_semnatura.xml or <id>.pdf in the current folder)
    #[arg(long, short)]
    out: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, cmd: Cmd) -> Result<u8> {
    match cmd {
        Cmd::Sync(a) => sync(ctx, a),
        Cmd::List(a) => list(ctx, a),
        Cmd::Get(a) => get(ctx, a),
    }
}

/// `YYYY-MM-DD` as the Unix ms of its start (UTC), as the C API reads its dates.
fn day_ms(arg: &str, d: &str) -> Result<i64> {
    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .map(|d| {
            d.and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                .and_utc()
                .timestamp_millis()
        })
        .map_err(|_| {
            Error::with(
                ANAF_ERR_INVALID_ARGUMENT,
                format!("--{arg} „{d}”: o dată AAAA-LL-ZZ."),
                format!("--{arg} \"{d}\": a date YYYY-MM-DD."),
            )
        })
}

fn sync(ctx: &Ctx, a: SyncArgs) -> Result<u8> {
    let o = SyncOptions {
        since_ms: a.since.as_deref().map(|d| day_ms("since", d)).transpose()?,
        wait: a.wait_seconds.map(Duration::from_secs),
        max_downloads: a.max_downloads,
    };
    let s = out::open(ctx)?;
    let session = s.clone();
    let mut job = Job::start("anaf-inbox-sync", move |p, _| {
        session.inbox_sync_with(&o, p)
    });
    let bar = ctx.spinner(ctx.t("Pornesc…", "Starting…").to_string());
    let mut downloading = false;
    let outcome = loop {
        match job.poll() {
            Poll::Running(p) => {
                let n = |k: &str| p[k].as_u64().unwrap_or(0);
                match p["phase"].as_str() {
                    Some("downloading") => {
                        if !downloading {
                            downloading = true;
                            bar.set_length(n("total"));
                            bar.set_style(
                                ProgressStyle::with_template(
                                    "{bar:30} {pos}/{len} {elapsed} {wide_msg}",
                                )
                                .unwrap_or_else(|_| ProgressStyle::default_bar()),
                            );
                        }
                        bar.set_position(n("downloaded") + n("failed"));
                        bar.set_message(format!(
                            "{} ({} {}, {} {})",
                            ctx.t("descarc", "downloading"),
                            n("parsed"),
                            ctx.t("citite", "read"),
                            n("failed"),
                            ctx.t("eșuate", "failed"),
                        ));
                    }
                    Some("listing") => bar.set_message(format!(
                        "{}: {} {}, {} {}",
                        ctx.t("listez", "listing"),
                        n("listed"),
                        ctx.t("listate", "listed"),
                        n("new"),
                        ctx.t("noi", "new")
                    )),
                    _ => {}
                }
                std::thread::sleep(Duration::from_millis(150));
            }
            Poll::Done(outcome) => break outcome,
        }
    };
    bar.finish_and_clear();
    let (result, v) = match outcome {
        Ok(v) => (Ok(()), v),
        Err((e, v)) => (Err(e), v),
    };
    if !v.is_null() {
        if ctx.json {
            let mut v = v.clone();
            if let (Err(e), Value::Object(m)) = (&result, &mut v) {
                m.insert("error".into(), out::error_json(e, ctx.lang));
            }
            out::print_json(&v);
        } else {
            summary(ctx, &v);
        }
    }
    match result {
        Ok(()) => Ok(exit::OK),
        // The answer is out already: the error on stderr, and its exit code.
        Err(e) if !v.is_null() => Ok(out::fail(&e, ctx.lang, false)),
        Err(e) => Err(e),
    }
}

fn summary(ctx: &Ctx, v: &Value) {
    let n = |k: &str| out::cell(&v[k]);
    let by_type = v["new_by_type"]
        .as_object()
        .filter(|m| !m.is_empty())
        .map(|m| {
            let parts: Vec<String> = m.iter().map(|(k, c)| format!("{k}: {c}")).collect();
            format!(" ({})", parts.join(", "))
        })
        .unwrap_or_default();
    let mut rows = vec![
        (ctx.t("Noi", "New"), format!("{}{by_type}", n("new"))),
        (ctx.t("Listate", "Listed"), n("listed")),
        (ctx.t("Descărcate", "Downloaded"), n("downloaded")),
        (ctx.t("Eșuate", "Failed"), n("failed")),
        (ctx.t("Expirate", "Expired"), n("expired")),
        (ctx.t("Rămase", "Left"), n("left")),
        (
            ctx.t("Încărcări confirmate", "Uploads settled"),
            n("journal_settled"),
        ),
        (
            ctx.t("Complet", "Complete"),
            if v["complete"] == Value::Bool(true) {
                ctx.t("da", "yes")
            } else {
                ctx.t("nu", "no")
            }
            .into(),
        ),
    ];
    if let Some(m) = v["stopped"]["message"].as_str() {
        rows.push((ctx.t("Oprit", "Stopped"), m.to_string()));
    }
    if let Some(t) = v["synced_until"].as_str() {
        rows.push((ctx.t("Listat până la", "Listed until"), t.to_string()));
    }
    out::pairs(&rows);
}

fn list(ctx: &Ctx, a: ListArgs) -> Result<u8> {
    let f = Filter {
        message_type: a.message_type,
        supplier_cif: a.supplier,
        state: a.state,
        not_imported: a.not_imported,
        from_ms: a.from.as_deref().map(|d| day_ms("from", d)).transpose()?,
        // "to" includes its whole day.
        to_ms: a
            .to
            .as_deref()
            .map(|d| day_ms("to", d))
            .transpose()?
            .map(|ms| ms + 86_400_000),
        limit: a.limit,
    };
    let s = out::open(ctx)?;
    let rows = s
        .store
        .inbox(&s.config.cif, s.config.environment.as_str())
        .list(&f)?;
    if ctx.json {
        out::print_json(&json!({"count": rows.len(), "messages": rows}));
        return Ok(exit::OK);
    }
    if rows.is_empty() {
        say!(
            "{}",
            ctx.t(
                "Niciun mesaj (anaf inbox sync aduce mesajele noi).",
                "No message (anaf inbox sync brings the new ones)."
            )
        );
        return Ok(exit::OK);
    }
    let header = [
        "id",
        ctx.t("creat", "created"),
        ctx.t("tip", "type"),
        ctx.t("furnizor", "supplier"),
        ctx.t("număr", "number"),
        ctx.t("de plată", "payable"),
        ctx.t("stare", "state"),
        ctx.t("importat", "imported"),
    ];
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let supplier = match (r["supplier_name"].as_str(), r["supplier_cif"].as_str()) {
                (Some(n), Some(c)) => format!("{} ({c})", out::clip(n, 30)),
                (Some(n), None) => out::clip(n, 30),
                (None, Some(c)) => c.to_string(),
                (None, None) => "-".into(),
            };
            let payable = match (r["payable"].as_str(), r["currency"].as_str()) {
                (Some(p), Some(c)) => format!("{p} {c}"),
                (Some(p), None) => p.to_string(),
                _ => "-".into(),
            };
            vec![
                out::cell(&r["message_id"]),
                anaf_time(r["created_at"].as_str().unwrap_or("-")),
                out::cell(&r["message_type"]),
                supplier,
                out::cell(&r["invoice_number"]),
                payable,
                out::cell(&r["state"]),
                out::cell(&r["erp_ref"]),
            ]
        })
        .collect();
    out::table(&header, &table);
    say!("{} {}", rows.len(), ctx.t("mesaje", "messages"));
    Ok(exit::OK)
}

/// ANAF's `YYYYMMDDHHMM` (Romanian time) as `YYYY-MM-DD HH:MM`.
fn anaf_time(t: &str) -> String {
    chrono::NaiveDateTime::parse_from_str(t, "%Y%m%d%H%M")
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| t.to_string())
}

fn get(ctx: &Ctx, a: GetArgs) -> Result<u8> {
    let part = Part::parse(&a.what)?;
    let path = a.out.unwrap_or_else(|| {
        // The id is ANAF's, digits only; anything else is kept out of the file name.
        let id: String = a.id.chars().filter(char::is_ascii_alphanumeric).collect();
        PathBuf::from(match part {
            Part::Xml => format!("{id}.xml"),
            Part::Zip => format!("{id}.zip"),
            Part::Signature => format!("{id}_semnatura.xml"),
            Part::Pdf => format!("{id}.pdf"),
        })
    });
    let s = out::open(ctx)?;
    let size = s.inbox_part(&a.id, part, &path)?;
    if ctx.json {
        let row = s
            .store
            .inbox(&s.config.cif, s.config.environment.as_str())
            .get(&a.id)?;
        out::print_json(&json!({"path": path, "size": size, "message": row}));
    } else {
        say!(
            "{} {} ({size} {})",
            ctx.t("Scris:", "Written:"),
            path.display(),
            ctx.t("octeți", "bytes")
        );
    }
    Ok(exit::OK)
}
