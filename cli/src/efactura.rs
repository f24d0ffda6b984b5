//! `anaf upload | status | journal | resolve`: e-Factura through the library's `EFactura`
//! and the upload journal, as `anaf_upload_file`, `anaf_status` / `anaf_status_wait`,
//! `anaf_upload_journal` and `anaf_upload_resolve` do.

use crate::batch::{self, Step};
use crate::exit;
use crate::out::{self, Ctx};
use anaf_bridge::client::batch::{Doc, Item, Job};
use anaf_bridge::client::efactura::{MessageState, Standard, UploadOptions};
use anaf_bridge::client::job::Poll;
use anaf_bridge::client::Session;
use anaf_bridge::error::{Error, Result};
use anaf_bridge::status::*;
use anaf_bridge::store::journal::{self, Entry, State};
use clap::Args;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct UploadArgs {
    /// Invoice XML files, or folders whose *.xml files are sent (in name order)
    #[arg(required = true, value_name = "FILE|FOLDER")]
    paths: Vec<PathBuf>,
    /// UBL (invoice), CN (credit note), CII, or RASP (a message to the buyer)
    #[arg(long, default_value = "UBL")]
    standard: String,
    /// The buyer is not Romanian (extern=DA)
    #[arg(long = "extern")]
    extern_: bool,
    /// Issued by the buyer on behalf of the seller (autofactura=DA)
    #[arg(long)]
    autofactura: bool,
    /// Filed by an enforcement body for the debtor (executare=DA)
    #[arg(long)]
    executare: bool,
    /// A B2C invoice (uploadb2c)
    #[arg(long)]
    b2c: bool,
    /// Send even when the journal says the document is (or may be) at ANAF already
    #[arg(long)]
    force: bool,
    /// The CIF of the upload (default: the configured one)
    #[arg(long)]
    cif: Option<String>,
}

#[derive(Args)]
pub struct StatusArgs {
    /// Upload indexes (index_incarcare)
    #[arg(value_name = "ID", required_unless_present = "pending")]
    ids: Vec<String>,
    /// Also every upload of the journal whose state is not final yet (of the last --days days)
    #[arg(long)]
    pending: bool,
    /// With --pending: how many days of the journal
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=3650))]
    days: u32,
    /// Wait until each state is final (staying within ANAF's 100 checks a day per message)
    #[arg(long)]
    wait: bool,
    /// With --wait: at most this many seconds per upload
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// With --wait: the first pause between checks, in milliseconds (then half as long again each time)
    #[arg(long, default_value_t = 2000)]
    interval_ms: u64,
}

#[derive(Args)]
pub struct JournalArgs {
    /// How many days back
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    days: u32,
}

#[derive(Args)]
pub struct ResolveArgs {
    /// Journal rows (journal_id); none: every uncertain upload of the last --days days
    #[arg(value_name = "JOURNAL_ID")]
    ids: Vec<i64>,
    /// How many days of ANAF's list of sent invoices to search (1..60)
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=60))]
    days: u32,
}

pub fn upload(ctx: &Ctx, a: UploadArgs) -> Result<u8> {
    let opts = UploadOptions {
        standard: Standard::parse(&a.standard)?,
        extern_: a.extern_,
        autofactura: a.autofactura,
        executare: a.executare,
        b2c: a.b2c,
        force: a.force,
        cif: a.cif,
    };
    let files = batch::files(&a.paths)?;
    let s = out::open(ctx)?;
    // The library's batch: the journal rows of all files in one transaction, then
    // max_in_flight uploads at once within the rate shared with every workstation.
    let items: Vec<Item> = files
        .iter()
        .map(|f| Item {
            xml: anaf_bridge::client::files::read_file(f),
            doc: Doc::Invoice(opts.clone()),
            reference: Some(f.display().to_string()),
        })
        .collect();
    let in_flight = s.config.max_in_flight as usize;
    let session = s.clone();
    let mut job = Job::start("anaf-upload-batch", move |p, cancel| {
        session
            .upload_batch_with(&items, in_flight, p, cancel)
            .map_err(|e| (e, Value::Null))
    });
    let bar = ctx.bar(files.len() as u64);
    let answer = loop {
        match job.poll() {
            Poll::Running(p) => {
                let n = |k: &str| p[k].as_u64().unwrap_or(0);
                bar.set_position(n("accepted") + n("failed"));
                bar.set_message(format!("{} {}", n("sent"), ctx.t("trimise", "sent")));
                std::thread::sleep(Duration::from_millis(100));
            }
            Poll::Done(Ok(v)) => break v,
            Poll::Done(Err((e, _))) => {
                bar.finish_and_clear();
                return Err(e);
            }
        }
    };
    bar.finish_and_clear();
    let labels: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    // The batch answers in the order given: one outcome per file, in turn.
    let mut outcomes = answer["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter();
    Ok(batch::run(ctx, "file", &labels, |_| {
        batch_step(ctx, &s, outcomes.next().unwrap_or(Value::Null))
    }))
}

/// One file's outcome in the batch's answer, as a line and its JSON.
fn batch_step(ctx: &Ctx, s: &Session, o: Value) -> Result<Step> {
    let journal = ctx.t("jurnal", "journal");
    let index = o["index_incarcare"].as_str().unwrap_or("-").to_string();
    let id = out::cell(&o["journal_id"]);
    let mut j = o.clone();
    if let Value::Object(m) = &mut j {
        m.remove("ref");
        m.remove("item");
    }
    let (status, word, detail) = match o["result"].as_str().unwrap_or("") {
        "uploaded" => (
            ANAF_OK,
            ctx.t("trimis", "uploaded"),
            format!("index_incarcare {index} ({journal} {id})"),
        ),
        // Held back by the journal: said as for a single upload, from its row.
        held @ ("already_uploaded" | "uncertain") => {
            let row = journal::get(&s.store, o["journal_id"].as_i64().unwrap_or(0))?;
            return row
                .map(|e| journal_step(ctx, &e, held == "already_uploaded"))
                .ok_or_else(|| Error::new(ANAF_ERR_INTERNAL));
        }
        "duplicate" => (
            ANAF_ALREADY_UPLOADED,
            ctx.t("dublură", "duplicate"),
            ctx.t(
                "același document ca un alt fișier al listei: trimis o dată",
                "the same document as another file of the list: sent once",
            )
            .to_string(),
        ),
        other => {
            // invalid, rejected, failed, unknown, cancelled: the item's own error (as a
            // step, not an error: the batch went on with the other files).
            let code = o["code"].as_i64().unwrap_or(ANAF_ERR_INTERNAL as i64) as i32;
            let msg = o["message"].as_str().unwrap_or(other).to_string();
            return Ok(Step {
                status: code,
                word: ctx.t("EROARE", "ERROR").into(),
                detail: format!("{}: {msg}", name(code)),
                json: j,
            });
        }
    };
    Ok(Step {
        status,
        word: word.into(),
        detail,
        json: j,
    })
}

/// An upload the journal held back: already at ANAF, or uncertain.
pub fn journal_step(ctx: &Ctx, e: &Entry, already: bool) -> Step {
    let mut j = json!({
        "result": if already { "already_uploaded" } else { "uncertain" },
        "index_incarcare": e.index_incarcare,
        "sent_at": e.started_at,
        "journal_id": e.id,
        "journal": e,
    });
    if let Some(u) = &e.uit {
        j["UIT"] = json!(u);
    }
    let journal = ctx.t("jurnal", "journal");
    if already {
        Step {
            status: ANAF_ALREADY_UPLOADED,
            word: ctx.t("deja", "already").into(),
            detail: format!(
                "index_incarcare {}, {} {} ({journal} {}); {}",
                e.index_incarcare.as_deref().unwrap_or("-"),
                ctx.t("trimis la", "sent at"),
                e.started_at,
                e.id,
                ctx.t(
                    "nu a fost trimis din nou (--force îl trimite)",
                    "not sent again (--force sends it)"
                )
            ),
            json: j,
        }
    } else {
        Step {
            status: ANAF_ERR_UPLOAD_UNCERTAIN,
            word: ctx.t("INCERT", "UNCERTAIN").into(),
            detail: format!(
                "{} {} ({journal} {}, {} „{}”): {}",
                ctx.t("încercarea din", "the attempt of"),
                e.started_at,
                e.id,
                ctx.t("stare", "state"),
                e.state,
                ctx.t(
                    "nu a fost trimis; anaf resolve caută factura la ANAF, --force o trimite oricum",
                    "not sent; anaf resolve looks for it at ANAF, --force sends it anyway"
                )
            ),
            json: j,
        }
    }
}

/// The uploads of the journal whose state ANAF has not said is final.
fn pending_ids(s: &anaf_bridge::client::Session, days: u32) -> Result<Vec<String>> {
    let rows = journal::recent(&s.store, &s.config.cif, days)?;
    let mut ids: Vec<String> = rows
        .into_iter()
        .filter(|e| e.service.starts_with("efactura") && e.state() == State::Uploaded)
        .filter(|e| {
            e.last_status
                .as_deref()
                .is_none_or(|st| st.trim().eq_ignore_ascii_case("in prelucrare"))
        })
        .filter_map(|e| e.index_incarcare)
        .collect();
    ids.reverse(); // oldest first
    Ok(ids)
}

pub fn status(ctx: &Ctx, a: StatusArgs) -> Result<u8> {
    let s = out::open(ctx)?;
    let mut ids = a.ids.clone();
    if a.pending {
        for id in pending_ids(&s, a.days)? {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            if ctx.json {
                out::print_json(
                    &json!({"count": 0, "succeeded": 0, "not_succeeded": 0, "results": []}),
                );
            } else {
                say!(
                    "{}",
                    ctx.t(
                        "Nicio încărcare în așteptarea stării.",
                        "No upload waiting for its state."
                    )
                );
            }
            return Ok(exit::OK);
        }
    }
    let timeout = Duration::from_secs(a.timeout);
    let interval = Duration::from_millis(a.interval_ms.max(1));
    Ok(batch::run(ctx, "id", &ids, |id| {
        if !a.wait {
            let st = s.efactura().status(id)?;
            return Ok(state_step(ctx, &st, state_json(&st)));
        }
        let w = s.efactura().wait_final(id, timeout, interval)?;
        let mut j = w
            .state
            .as_ref()
            .map(state_json)
            .unwrap_or_else(|| json!({"stare": null, "final": false, "ok": false}));
        j["polls"] = json!(w.polls);
        j["stopped_for_quota"] = json!(w.stopped_for_quota);
        j["checks_today"] = json!(w.checks_today);
        match &w.state {
            Some(st) if st.is_final() => Ok(state_step(ctx, st, j)),
            _ => Ok(Step {
                status: ANAF_PENDING,
                word: ctx.t("așteaptă", "pending").into(),
                detail: if w.stopped_for_quota {
                    format!(
                        "{} {} {}",
                        ctx.t("oprit: deja", "stopped:"),
                        w.checks_today,
                        ctx.t(
                            "verificări azi (limita ANAF: 100 pe zi)",
                            "checks today already (ANAF's limit: 100 a day)"
                        )
                    )
                } else {
                    format!(
                        "{} {} s ({} {})",
                        ctx.t("încă în prelucrare după", "still being processed after"),
                        a.timeout,
                        w.polls,
                        ctx.t("verificări", "checks")
                    )
                },
                json: j,
            }),
        }
    }))
}

fn state_json(st: &MessageState) -> Value {
    json!({ "stare": st.stare, "id_descarcare": st.id_descarcare, "final": st.is_final(),
            "ok": st.is_ok(), "errors": st.errors })
}

/// The line and status of a state, as `anaf_status` returns it.
fn state_step(ctx: &Ctx, st: &MessageState, json: Value) -> Step {
    let download = st
        .id_descarcare
        .as_deref()
        .map(|d| format!(", id_descarcare {d}"))
        .unwrap_or_default();
    let (status, word) = if st.is_ok() {
        (ANAF_OK, "ok")
    } else if st.is_pending() {
        (ANAF_PENDING, ctx.t("așteaptă", "pending"))
    } else {
        (ANAF_ERR_REJECTED, ctx.t("RESPINS", "REJECTED"))
    };
    let errors = if st.errors.is_empty() {
        String::new()
    } else {
        format!(" — {}", st.errors.join("; "))
    };
    Step {
        status,
        word: word.into(),
        detail: format!("{}{download}{errors}", st.stare),
        json,
    }
}

pub fn journal(ctx: &Ctx, a: JournalArgs) -> Result<u8> {
    let s = out::open(ctx)?;
    let rows = journal::recent(&s.store, &s.config.cif, a.days)?;
    if ctx.json {
        out::print_json(&json!({ "uploads": rows }));
        return Ok(exit::OK);
    }
    if rows.is_empty() {
        say!(
            "{} {} {}.",
            ctx.t("Nicio încărcare în ultimele", "No upload in the last"),
            a.days,
            ctx.t("zile", "days")
        );
        return Ok(exit::OK);
    }
    let header = [
        ctx.t("rând", "row"),
        ctx.t("trimis la", "started"),
        ctx.t("serviciu", "service"),
        ctx.t("stare", "state"),
        "index / UIT",
        ctx.t("stare ANAF", "ANAF state"),
        ctx.t("detalii", "detail"),
    ];
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|e| {
            let idx = match (&e.index_incarcare, &e.uit) {
                (Some(i), Some(u)) => format!("{i} / {u}"),
                (Some(i), None) => i.clone(),
                (None, Some(u)) => u.clone(),
                (None, None) => "-".into(),
            };
            let state = if e.forced {
                format!("{} (force)", e.state)
            } else {
                e.state.clone()
            };
            vec![
                e.id.to_string(),
                e.started_at.clone(),
                format!("{} {}", e.service, e.standard),
                state,
                idx,
                e.last_status.clone().unwrap_or_else(|| "-".into()),
                out::clip(e.detail.as_deref().unwrap_or("-"), 60),
            ]
        })
        .collect();
    out::table(&header, &table);
    Ok(exit::OK)
}

pub fn resolve(ctx: &Ctx, a: ResolveArgs) -> Result<u8> {
    let s = out::open(ctx)?;
    let ids: Vec<i64> = if a.ids.is_empty() {
        let rows = journal::recent(&s.store, &s.config.cif, a.days)?;
        // An uncertain row whose document went out later (forced) is settled already.
        let sent_later = |e: &Entry| {
            rows.iter().any(|o| {
                o.id > e.id
                    && o.state() == State::Uploaded
                    && (&o.service, &o.standard, &o.flags, &o.sha256)
                        == (&e.service, &e.standard, &e.flags, &e.sha256)
            })
        };
        let mut ids: Vec<i64> = rows
            .iter()
            .filter(|e| e.service.starts_with("efactura"))
            .filter(|e| matches!(e.state(), State::Unknown | State::Sending))
            .filter(|e| !sent_later(e))
            .map(|e| e.id)
            .collect();
        ids.reverse(); // oldest first
        ids
    } else {
        a.ids.clone()
    };
    if ids.is_empty() {
        if ctx.json {
            out::print_json(
                &json!({"count": 0, "succeeded": 0, "not_succeeded": 0, "results": []}),
            );
        } else {
            say!(
                "{}",
                ctx.t(
                    "Nicio încărcare incertă în jurnal.",
                    "No uncertain upload in the journal."
                )
            );
        }
        return Ok(exit::OK);
    }
    let labels: Vec<String> = ids.iter().map(i64::to_string).collect();
    Ok(batch::run(ctx, "journal_id", &labels, |id| {
        let id: i64 = id
            .parse()
            .map_err(|_| Error::new(ANAF_ERR_INVALID_ARGUMENT))?;
        let r = s.efactura().resolve(id, a.days as i64)?;
        let j = json!({
            "found": r.found, "checked": r.checked,
            "index_incarcare": r.entry.index_incarcare, "journal": r.entry,
        });
        Ok(if r.found {
            Step {
                status: ANAF_ALREADY_UPLOADED,
                word: ctx.t("găsit", "found").into(),
                detail: format!(
                    "{} index_incarcare {}",
                    ctx.t("factura este la ANAF:", "the invoice is at ANAF:"),
                    r.entry.index_incarcare.as_deref().unwrap_or("-")
                ),
                json: j,
            }
        } else {
            Step {
                status: ANAF_OK,
                word: ctx.t("negăsit", "not found").into(),
                detail: format!(
                    "{} {}; {}",
                    r.checked,
                    ctx.t("mesaje verificate", "messages checked"),
                    ctx.t(
                        "dacă trebuie trimisă, anaf upload --force",
                        "if it must be sent, anaf upload --force"
                    )
                ),
                json: j,
            }
        })
    }))
}
