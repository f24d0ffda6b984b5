//! `anaf etransport upload | status | list`: e-Transport v2 through the library's
//! `ETransport`, as `anaf_etransport_upload_file`, `anaf_etransport_status` and
//! `anaf_etransport_list` do (uploads through the journal, like e-Factura's).

use crate::batch::{self, Step};
use crate::efactura::journal_step;
use crate::exit;
use crate::out::{self, Ctx};
use anaf_bridge::client::files::read_file;
use anaf_bridge::client::upload::UploadOutcome;
use anaf_bridge::error::Result;
use anaf_bridge::status::*;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Cmd {
    /// Uploads declarations (schema v2): the answer has the index and the UIT
    Upload(UploadArgs),
    /// The state of declarations, by index_incarcare
    Status {
        /// Upload indexes (index_incarcare)
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
    /// The declarations and notices of the last days
    List {
        /// How many days back (1..60)
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(i64).range(1..=60))]
        days: i64,
        /// The CIF (default: the configured one)
        #[arg(long)]
        cif: Option<String>,
    },
}

#[derive(Args)]
pub struct UploadArgs {
    /// Declaration XML files, or folders whose *.xml files are sent (in name order)
    #[arg(required = true, value_name = "FILE|FOLDER")]
    paths: Vec<PathBuf>,
    /// The declarant's CIF (default: the configured one)
    #[arg(long)]
    cif: Option<String>,
    /// Send even when the journal says the declaration is (or may be) at ANAF already
    #[arg(long)]
    force: bool,
}

pub fn run(ctx: &Ctx, cmd: Cmd) -> Result<u8> {
    match cmd {
        Cmd::Upload(a) => {
            let files = batch::files(&a.paths)?;
            let s = out::open(ctx)?;
            let labels: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            Ok(batch::run(ctx, "file", &labels, |file| {
                let xml = read_file(std::path::Path::new(file))?;
                Ok(
                    match s.etransport().upload(&xml, a.cif.as_deref(), a.force)? {
                        UploadOutcome::Uploaded(u) => {
                            let mut j = serde_json::to_value(&u).unwrap_or(Value::Null);
                            j["result"] = json!("uploaded");
                            Step {
                                status: ANAF_OK,
                                word: ctx.t("trimis", "uploaded").into(),
                                detail: format!(
                                    "index_incarcare {}, UIT {} ({} {})",
                                    u.index_incarcare,
                                    u.uit.as_deref().unwrap_or("-"),
                                    ctx.t("jurnal", "journal"),
                                    u.journal_id
                                ),
                                json: j,
                            }
                        }
                        UploadOutcome::AlreadyUploaded(e) => journal_step(ctx, &e, true),
                        UploadOutcome::Uncertain(e) => journal_step(ctx, &e, false),
                    },
                )
            }))
        }
        Cmd::Status { ids } => {
            let s = out::open(ctx)?;
            Ok(batch::run(ctx, "id", &ids, |id| {
                let st = s.etransport().status(id)?;
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
                    format!(" — {}", st.errors.join(" | "))
                };
                Ok(Step {
                    status,
                    word: word.into(),
                    detail: format!("{}{errors}", st.stare),
                    json: serde_json::to_value(&st).unwrap_or(Value::Null),
                })
            }))
        }
        Cmd::List { days, cif } => {
            let s = out::open(ctx)?;
            let l = s.etransport().list(days, cif.as_deref())?;
            if ctx.json {
                out::print_json(&serde_json::to_value(&l).unwrap_or(Value::Null));
                return Ok(exit::OK);
            }
            if l.mesaje.is_empty() {
                say!(
                    "{}",
                    l.titlu
                        .as_deref()
                        .unwrap_or(ctx.t("Niciun mesaj.", "No message."))
                );
                return Ok(exit::OK);
            }
            // ANAF's items differ between declarations and notices: the usual fields as
            // columns, when present.
            let cols = [
                "uit",
                "id_incarcare",
                "data_creare",
                "tip_op",
                "data_transp",
                "nr_veh",
            ];
            let present: Vec<&str> = cols
                .iter()
                .copied()
                .filter(|c| l.mesaje.iter().any(|m| !m[*c].is_null()))
                .collect();
            if present.is_empty() {
                for m in &l.mesaje {
                    say!("{m}");
                }
            } else {
                let rows: Vec<Vec<String>> = l
                    .mesaje
                    .iter()
                    .map(|m| present.iter().map(|c| out::cell(&m[*c])).collect())
                    .collect();
                out::table(&present, &rows);
            }
            say!("{} {}", l.mesaje.len(), ctx.t("mesaje", "messages"));
            Ok(exit::OK)
        }
    }
}
