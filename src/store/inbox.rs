//! The e-Factura inbox (`anaf_inbox`, one row per message ANAF listed for the company) and
//! where each company's inbox stands (`anaf_inbox_sync`: the end of the last window listed
//! completely, and the lease of the one sync running for it across every workstation).
//! The sync itself (what is listed, downloaded and parsed, in what order) is
//! `client::inbox`'s; this module keeps the rows.

use super::db::{args, DbResult, Row, Write};
use super::tokens::{owner_may_be_alive, process_owner};
use super::Store;
use crate::error::Result;
use serde_json::{json, Value};

/// A message as ANAF's list gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub message_id: String,
    pub message_type: String,
    /// ANAF's `data_creare`, `YYYYMMDDHHMM` (Romanian time).
    pub created_at: String,
    /// The same as Unix milliseconds (ordering, filters).
    pub created_ms: i64,
    pub id_solicitare: Option<String>,
    pub detalii: Option<String>,
    pub supplier_cif: Option<String>,
    pub customer_cif: Option<String>,
}

/// What was read from a downloaded invoice (every field optional: ANAF's XML of an error
/// message has none of them, and a damaged invoice may lack some).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub syntax: Option<String>,
    pub doc_kind: Option<String>,
    pub invoice_number: Option<String>,
    pub issue_date: Option<String>,
    pub due_date: Option<String>,
    pub currency: Option<String>,
    pub supplier_vat: Option<String>,
    pub supplier_name: Option<String>,
    pub customer_vat: Option<String>,
    pub customer_name: Option<String>,
    pub total_without_vat: Option<String>,
    pub vat_total: Option<String>,
    pub payable: Option<String>,
    pub line_count: Option<i64>,
    pub parse_error: Option<String>,
    /// ANAF's error list of an `ERORI FACTURA` message, as a JSON array.
    pub anaf_errors: Option<String>,
}

/// A message still to download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub message_id: String,
    pub message_type: String,
    pub id_solicitare: Option<String>,
    pub attempts: i64,
}

/// The outcome of [`Inbox::lease`].
#[derive(Debug, PartialEq, Eq)]
pub enum Lease {
    /// Ours; the inbox was listed completely up to `synced_until` (ms), if ever.
    Taken { synced_until: Option<i64> },
    /// Another live process syncs this company's inbox until `until` (ms).
    Busy { owner: String, until: i64 },
}

/// How many downloads of one message are tried before it is left as failed.
pub(crate) const MAX_ATTEMPTS: i64 = 3;

/// The rows of one company's inbox: `store.inbox(cif, environment)`.
pub struct Inbox<'s> {
    store: &'s Store,
    cif: &'s str,
    environment: &'s str,
}

impl Store {
    pub fn inbox<'s>(&'s self, cif: &'s str, environment: &'s str) -> Inbox<'s> {
        Inbox {
            store: self,
            cif,
            environment,
        }
    }
}

const KEY: &str = "cif = ? AND environment = ?";

impl Inbox<'_> {
    fn scope(&self) -> String {
        format!("inbox/{}/{}", self.cif, self.environment)
    }

    /// Takes the sync lease for `ttl_ms` unless another live process holds it.
    pub fn lease(&self, now_ms: i64, ttl_ms: i64) -> Result<Lease> {
        let owner = process_owner();
        self.store.write(Write::durable(), |c| {
            c.serialize(&self.scope())?;
            let row = c.query_row(
                &format!("SELECT synced_until, lease_owner, lease_until FROM anaf_inbox_sync WHERE {KEY}"),
                args![self.cif, self.environment],
            )?;
            let Some(r) = row else {
                c.execute(
                    "INSERT INTO anaf_inbox_sync (cif, environment, lease_owner, lease_until)
                     VALUES (?, ?, ?, ?)",
                    args![self.cif, self.environment, owner, now_ms + ttl_ms],
                )?;
                return Ok(Lease::Taken { synced_until: None });
            };
            if let (Some(o), Some(until)) = (r.opt_text(1)?, r.opt_int(2)?) {
                if until > now_ms && o != owner && owner_may_be_alive(&o) {
                    return Ok(Lease::Busy { owner: o, until });
                }
            }
            c.execute(
                &format!("UPDATE anaf_inbox_sync SET lease_owner = ?, lease_until = ? WHERE {KEY}"),
                args![owner, now_ms + ttl_ms, self.cif, self.environment],
            )?;
            Ok(Lease::Taken {
                synced_until: r.opt_int(0)?,
            })
        })
    }

    /// Extends our lease (between downloads); `false` if it is no longer ours.
    pub fn renew(&self, now_ms: i64, ttl_ms: i64) -> Result<bool> {
        self.store.write(Write::relaxed(), |c| {
            c.execute(
                &format!(
                    "UPDATE anaf_inbox_sync SET lease_until = ? WHERE {KEY} AND lease_owner = ?"
                ),
                args![now_ms + ttl_ms, self.cif, self.environment, process_owner()],
            )
            .map(|n| n > 0)
        })
    }

    /// The window up to `until_ms` was listed completely.
    pub fn listed_until(&self, until_ms: i64) -> Result<()> {
        self.store.write(Write::durable(), |c| {
            c.execute(
                &format!("UPDATE anaf_inbox_sync SET synced_until = ? WHERE {KEY}"),
                args![until_ms, self.cif, self.environment],
            )
            .map(|_| ())
        })
    }

    /// Gives the lease back, with the run's summary.
    pub fn release(&self, now_ms: i64, result: &Value) -> Result<()> {
        self.store.write(Write::durable(), |c| {
            c.execute(
                &format!(
                    "UPDATE anaf_inbox_sync SET lease_owner = NULL, lease_until = NULL,
                        last_run_at = ?, last_result = ?
                     WHERE {KEY} AND lease_owner = ?"
                ),
                args![
                    now_ms,
                    &result.to_string(),
                    self.cif,
                    self.environment,
                    process_owner()
                ],
            )
            .map(|_| ())
        })
    }

    /// Keeps the messages of one listed page that are new; answers the new ones.
    pub fn add_listed(&self, page: &[Listed], now: i64) -> Result<Vec<Listed>> {
        self.store.write(Write::durable(), |c| {
            c.serialize(&self.scope())?;
            let mut new = Vec::new();
            for m in page {
                let there = c.query_row(
                    &format!("SELECT 1 FROM anaf_inbox WHERE {KEY} AND message_id = ?"),
                    args![self.cif, self.environment, &m.message_id],
                )?;
                if there.is_some() {
                    continue;
                }
                c.execute(
                    "INSERT INTO anaf_inbox (cif, environment, message_id, message_type,
                         created_at, created_ms, id_solicitare, detalii, supplier_cif,
                         customer_cif, listed_at, state, attempts)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'listed', 0)",
                    args![
                        self.cif,
                        self.environment,
                        &m.message_id,
                        &m.message_type,
                        &m.created_at,
                        m.created_ms,
                        m.id_solicitare.as_ref(),
                        m.detalii.as_ref(),
                        m.supplier_cif.as_ref(),
                        m.customer_cif.as_ref(),
                        now
                    ],
                )?;
                new.push(m.clone());
            }
            Ok(new)
        })
    }

    /// Messages not downloaded yet (listed, or failed fewer than [`MAX_ATTEMPTS`] times),
    /// oldest first.
    pub fn pending(&self) -> Result<Vec<Pending>> {
        self.store.read(|c| {
            c.query(
                &format!(
                    "SELECT message_id, message_type, id_solicitare, attempts FROM anaf_inbox
                      WHERE {KEY} AND (state = 'listed' OR (state = 'failed' AND attempts < ?))
                      ORDER BY created_ms, message_id"
                ),
                args![self.cif, self.environment, MAX_ATTEMPTS],
            )?
            .iter()
            .map(|r| {
                Ok(Pending {
                    message_id: r.text(0)?,
                    message_type: r.text(1)?,
                    id_solicitare: r.opt_text(2)?,
                    attempts: r.int(3)?,
                })
            })
            .collect()
        })
    }

    /// Stores a downloaded message: its ZIP (base64, or the file it was written to) and
    /// what was read from it.
    pub fn downloaded(
        &self,
        message_id: &str,
        zip: &Kept,
        zip_sha256: &str,
        zip_bytes: i64,
        p: &Parsed,
        now: i64,
    ) -> Result<()> {
        // Not waited for on the disk: a row lost in a power cut costs one download again.
        self.store.write(Write::relaxed(), |c| {
            c.execute(
                &format!(
                    "UPDATE anaf_inbox SET state = 'downloaded', attempts = attempts + 1,
                        last_error = NULL, downloaded_at = ?, zip_base64 = ?, zip_file = ?,
                        zip_sha256 = ?,
                        zip_bytes = ?, syntax = ?, doc_kind = ?, invoice_number = ?,
                        issue_date = ?, due_date = ?, currency = ?, supplier_vat = ?,
                        supplier_name = ?, customer_vat = ?, customer_name = ?,
                        total_without_vat = ?, vat_total = ?, payable = ?, line_count = ?,
                        parse_error = ?, anaf_errors = ?
                     WHERE {KEY} AND message_id = ?"
                ),
                args![
                    now,
                    zip.base64(),
                    zip.file(),
                    zip_sha256,
                    zip_bytes,
                    p.syntax.as_ref(),
                    p.doc_kind.as_ref(),
                    p.invoice_number.as_ref(),
                    p.issue_date.as_ref(),
                    p.due_date.as_ref(),
                    p.currency.as_ref(),
                    p.supplier_vat.as_ref(),
                    p.supplier_name.as_ref(),
                    p.customer_vat.as_ref(),
                    p.customer_name.as_ref(),
                    p.total_without_vat.as_ref(),
                    p.vat_total.as_ref(),
                    p.payable.as_ref(),
                    p.line_count,
                    p.parse_error.as_ref(),
                    p.anaf_errors.as_ref(),
                    self.cif,
                    self.environment,
                    message_id
                ],
            )
            .map(|_| ())
        })
    }

    /// A download that failed: `state` is `failed` (tried again up to [`MAX_ATTEMPTS`]) or
    /// `expired` (ANAF keeps downloads 60 days: never tried again).
    pub fn failed(&self, message_id: &str, state: &str, error: &str) -> Result<()> {
        self.store.write(Write::relaxed(), |c| {
            c.execute(
                &format!(
                    "UPDATE anaf_inbox SET state = ?, attempts = attempts + 1, last_error = ?
                     WHERE {KEY} AND message_id = ?"
                ),
                args![state, error, self.cif, self.environment, message_id],
            )
            .map(|_| ())
        })
    }

    /// The messages a filter selects, newest first, without their ZIPs.
    pub fn list(&self, f: &Filter) -> Result<Vec<Value>> {
        let mut sql = format!("SELECT {LIST_COLUMNS} FROM anaf_inbox WHERE {KEY}");
        let mut texts: Vec<String> = Vec::new();
        if let Some(t) = &f.message_type {
            sql.push_str(" AND message_type = ?");
            texts.push(t.clone());
        }
        if let Some(s) = &f.supplier_cif {
            sql.push_str(" AND supplier_cif = ?");
            texts.push(s.clone());
        }
        if let Some(s) = &f.state {
            sql.push_str(" AND state = ?");
            texts.push(s.clone());
        }
        if f.not_imported {
            sql.push_str(" AND imported_at IS NULL");
        }
        let mut ints: Vec<i64> = Vec::new();
        if let Some(ms) = f.from_ms {
            sql.push_str(" AND created_ms >= ?");
            ints.push(ms);
        }
        if let Some(ms) = f.to_ms {
            sql.push_str(" AND created_ms < ?");
            ints.push(ms);
        }
        sql.push_str(" ORDER BY created_ms DESC, message_id DESC");
        self.store.read(|c| {
            let mut a: Vec<super::db::Arg<'_>> = vec![self.cif.into(), self.environment.into()];
            a.extend(texts.iter().map(super::db::Arg::from));
            a.extend(ints.iter().map(|&i| super::db::Arg::from(i)));
            let rows = c.query(&sql, &a)?;
            let limit = f.limit.unwrap_or(usize::MAX);
            rows.iter().take(limit).map(row_json).collect()
        })
    }

    /// One message, without its ZIP.
    pub fn get(&self, message_id: &str) -> Result<Option<Value>> {
        self.store.read(|c| {
            c.query_row(
                &format!("SELECT {LIST_COLUMNS} FROM anaf_inbox WHERE {KEY} AND message_id = ?"),
                args![self.cif, self.environment, message_id],
            )?
            .as_ref()
            .map(row_json)
            .transpose()
        })
    }

    /// Where the message's ZIP is, if it was downloaded.
    pub fn zip(&self, message_id: &str) -> Result<Option<Kept>> {
        self.kept("SELECT zip_base64, zip_file FROM anaf_inbox", message_id)
    }

    /// The (base64, file) pair `select` reads of the message's row, as a [`Kept`].
    fn kept(&self, select: &str, message_id: &str) -> Result<Option<Kept>> {
        self.store.read(|c| {
            let Some(r) = c.query_row(
                &format!("{select} WHERE {KEY} AND message_id = ?"),
                args![self.cif, self.environment, message_id],
            )?
            else {
                return Ok(None);
            };
            Ok(match (r.opt_text(0)?, r.opt_text(1)?) {
                (Some(b), _) => Some(Kept::Base64(b)),
                (None, Some(f)) => Some(Kept::File(f)),
                (None, None) => None,
            })
        })
    }

    /// The PDF kept of the message, if one was made.
    pub fn pdf(&self, message_id: &str) -> Result<Option<Kept>> {
        self.kept(
            "SELECT pdf_base64, pdf_file FROM anaf_inbox_pdf",
            message_id,
        )
    }

    /// Keeps the PDF ANAF made of the message (the first one kept stays: two workstations
    /// asking at once both got the same invoice's PDF).
    pub fn keep_pdf(&self, message_id: &str, pdf: &Kept, bytes: i64, now: i64) -> Result<()> {
        self.store.write(Write::relaxed(), |c| {
            c.serialize(&self.scope())?;
            let there = c.query_row(
                &format!("SELECT 1 FROM anaf_inbox_pdf WHERE {KEY} AND message_id = ?"),
                args![self.cif, self.environment, message_id],
            )?;
            if there.is_none() {
                c.execute(
                    "INSERT INTO anaf_inbox_pdf (cif, environment, message_id, pdf_base64,
                        pdf_file, pdf_bytes, made_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    args![
                        self.cif,
                        self.environment,
                        message_id,
                        pdf.base64(),
                        pdf.file(),
                        bytes,
                        now
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// The ERP imported the message as `erp_ref`; `false` if there is no such message.
    pub fn ack(&self, message_id: &str, erp_ref: &str, now: i64) -> Result<bool> {
        self.store.write(Write::durable(), |c| {
            c.execute(
                &format!(
                    "UPDATE anaf_inbox SET imported_at = ?, erp_ref = ?
                     WHERE {KEY} AND message_id = ?"
                ),
                args![now, erp_ref, self.cif, self.environment, message_id],
            )
            .map(|n| n > 0)
        })
    }

    /// The messages per state and type (for the sync's answer and diagnose).
    pub fn counts(&self) -> Result<Value> {
        self.store.read(|c| {
            let rows = c.query(
                &format!(
                    "SELECT state, message_type, COUNT(*) FROM anaf_inbox WHERE {KEY}
                      GROUP BY state, message_type"
                ),
                args![self.cif, self.environment],
            )?;
            let mut out = serde_json::Map::new();
            for r in &rows {
                let state = r.text(0)?;
                let entry = out
                    .entry(state)
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .expect("an object");
                entry.insert(r.text(1)?, json!(r.int(2)?));
            }
            Ok(Value::Object(out))
        })
    }
}

/// Where a downloaded ZIP or a PDF made of it is kept: in the row (base64), or in the
/// configured `inbox_folder` (the file's path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kept {
    Base64(String),
    File(String),
}

impl Kept {
    fn base64(&self) -> Option<&str> {
        match self {
            Kept::Base64(b) => Some(b),
            Kept::File(_) => None,
        }
    }

    fn file(&self) -> Option<&str> {
        match self {
            Kept::File(f) => Some(f),
            Kept::Base64(_) => None,
        }
    }
}

/// What `anaf_inbox_list` selects.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub message_type: Option<String>,
    pub supplier_cif: Option<String>,
    pub state: Option<String>,
    pub not_imported: bool,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: Option<usize>,
}

const LIST_COLUMNS: &str = "message_id, message_type, created_at, created_ms, id_solicitare, \
    detalii, supplier_cif, customer_cif, state, attempts, last_error, downloaded_at, \
    zip_file, zip_bytes, syntax, doc_kind, invoice_number, issue_date, due_date, currency, \
    supplier_vat, supplier_name, customer_vat, customer_name, total_without_vat, vat_total, \
    payable, line_count, parse_error, anaf_errors, imported_at, erp_ref, zip_sha256";

fn row_json(r: &Row) -> DbResult<Value> {
    let names = LIST_COLUMNS.split(',').map(str::trim);
    let mut m = serde_json::Map::new();
    for (i, name) in names.enumerate() {
        let v = match name {
            "created_ms" | "attempts" | "downloaded_at" | "zip_bytes" | "line_count"
            | "imported_at" => r.opt_int(i)?.map_or(Value::Null, Value::from),
            _ => r.opt_text(i)?.map_or(Value::Null, Value::from),
        };
        m.insert(name.to_string(), v);
    }
    Ok(Value::Object(m))
}
