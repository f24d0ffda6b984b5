//! `anaf_upload_batch`: many e-Factura uploads in flight at once, within the limits.
//!
//! The journal rows of the whole batch are written first, in one write transaction (one
//! wait for the disk instead of one per invoice); each row is `sending` before its request
//! leaves, as for a single upload, so a crash anywhere leaves only rows the journal already
//! knows how to settle (`anaf_upload_resolve`). Then up to `max_in_flight` requests overlap,
//! every one under the process-wide pacer; each outcome is written to its row as it comes.

use super::efactura::{self, UploadOptions};
use super::upload::send_recorded;
use super::Session;
use crate::error::{Error, Result};
use crate::status::{self, Lang};
use crate::store::journal::{self, Begin, State, UploadKey};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// How far a batch is, for the ERP's screen (`anaf_upload_batch_poll`).
#[derive(Debug, Default)]
pub struct Progress {
    /// Items in the batch.
    pub total: AtomicU64,
    /// Requests sent so far (answered or not).
    pub sent: AtomicU64,
    /// Uploaded now, or found already at ANAF.
    pub accepted: AtomicU64,
    /// Every other outcome (invalid, duplicate, uncertain, rejected, failed, unknown).
    pub failed: AtomicU64,
}

impl super::job::Progress for Progress {
    fn json(&self) -> Value {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (total, accepted, failed) = (g(&self.total), g(&self.accepted), g(&self.failed));
        json!({
            "total": total, "sent": g(&self.sent), "accepted": accepted, "failed": failed,
            "left": total.saturating_sub(accepted + failed),
        })
    }
}

/// A batch running on a thread of its own (`anaf_upload_batch_begin`).
pub type Job = super::job::Job<Progress>;

/// The items' results that count as at ANAF.
const ACCEPTED: [&str; 2] = ["uploaded", "already_uploaded"];

/// What an item of a batch is.
#[derive(Clone, Debug)]
pub enum Doc {
    /// An e-Factura invoice (or RASP message), with its upload options.
    Invoice(UploadOptions),
    /// An e-Transport declaration, for `cif` (the configured one when None).
    Transport { cif: Option<String>, force: bool },
}

impl Doc {
    fn force(&self) -> bool {
        match self {
            Doc::Invoice(o) => o.force,
            Doc::Transport { force, .. } => *force,
        }
    }
}

/// One document of a batch, as the ERP gave it.
pub struct Item {
    /// The XML, or why it could not be had (a file that cannot be read).
    pub xml: Result<Vec<u8>>,
    pub doc: Doc,
    /// The ERP's own reference, given back with the outcome.
    pub reference: Option<String>,
}

/// The outcome of one item, in the batch's answer.
fn outcome(i: usize, item: &Item, result: &str, e: Option<&Error>, lang: Lang) -> Value {
    let mut v = json!({
        "item": i,
        "ref": item.reference,
        "result": result,
    });
    if let Some(e) = e {
        v["status"] = json!(status::name(e.status));
        v["code"] = json!(e.status);
        v["message"] = json!(e.message(lang));
    }
    v
}

fn from_entry(mut v: Value, e: &journal::Entry) -> Value {
    v["journal_id"] = json!(e.id);
    v["index_incarcare"] = json!(e.index_incarcare);
    v["sent_at"] = json!(e.started_at);
    if let Some(u) = &e.uit {
        v["UIT"] = json!(u);
    }
    v
}

impl Session {
    /// Uploads the items, up to `max_in_flight` at a time. The answer: `{"items":[…each
    /// item's outcome, in the order given…],"counts":{result:n},"elapsed_ms"}`; every item
    /// ends `uploaded`, `already_uploaded`, `uncertain` (an earlier attempt got no answer:
    /// not sent), `duplicate` (the same document earlier in this batch), `invalid` (not
    /// sent: unreadable, not XML, a bad option), `rejected` (ANAF's errors), `failed` (did
    /// not reach ANAF) or `unknown` (may have reached ANAF; settle it with resolve).
    pub fn upload_batch(&self, items: &[Item], max_in_flight: usize) -> Result<Value> {
        self.upload_batch_with(
            items,
            max_in_flight,
            &Progress::default(),
            &AtomicBool::new(false),
        )
    }

    /// As [`Session::upload_batch`], counting its progress; once `cancel` is set no new
    /// request leaves, and the items not sent are `cancelled` (their rows `failed`, so the
    /// same batch run again sends them).
    pub fn upload_batch_with(
        &self,
        items: &[Item],
        max_in_flight: usize,
        progress: &Progress,
        cancel: &AtomicBool,
    ) -> Result<Value> {
        let started = Instant::now();
        progress.total.store(items.len() as u64, Ordering::Relaxed);
        // Without a usable token every item would fail the same way: refuse the batch
        // before a row is written (a login is needed first).
        self.access_token()?;
        let lang = self.config.language;
        let (ef, et) = (self.efactura(), self.etransport());
        let mut answers: Vec<Option<Value>> = vec![None; items.len()];
        // What each valid item would send.
        let mut prepared = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let request = item.xml.as_ref().map_err(Clone::clone).and_then(|xml| {
                match &item.doc {
                    Doc::Invoice(o) => ef.upload_request(xml, o),
                    Doc::Transport { cif, .. } => et.upload_request(xml, cif.as_deref()),
                }
                .map(|kc| (xml.len(), kc))
            });
            match request {
                Ok((size, (key, call))) => prepared.push((i, size, key, call)),
                Err(e) => answers[i] = Some(outcome(i, item, "invalid", Some(&e), lang)),
            }
        }
        let docs: Vec<(&UploadKey, usize, bool)> = prepared
            .iter()
            .map(|(i, size, key, _)| (key, *size, items[*i].doc.force()))
            .collect();
        let begins = journal::begin_many(&self.store, &docs, self.config.journal_sync_full)?;
        // The rows this batch wrote, to tell a duplicate within it from an earlier attempt.
        let ours: std::collections::HashMap<i64, usize> = begins
            .iter()
            .zip(&prepared)
            .filter_map(|(b, (i, ..))| match b {
                Begin::Send(id) => Some((*id, *i)),
                _ => None,
            })
            .collect();
        let mut to_send = Vec::new();
        // Progress of what is settled before any request.
        let settle = |v: &Value| {
            let counter = if ACCEPTED.contains(&v["result"].as_str().unwrap_or("")) {
                &progress.accepted
            } else {
                &progress.failed
            };
            counter.fetch_add(1, Ordering::Relaxed);
        };
        for v in answers.iter().flatten() {
            settle(v);
        }
        for (b, (i, _, key, call)) in begins.into_iter().zip(&prepared) {
            let item = &items[*i];
            match b {
                Begin::Send(id) => to_send.push((*i, id, key, call)),
                Begin::AlreadyUploaded(e) => {
                    answers[*i] = Some(from_entry(
                        outcome(*i, item, "already_uploaded", None, lang),
                        &e,
                    ))
                }
                Begin::Uncertain(e) => {
                    let mut v = match ours.get(&e.id) {
                        Some(&first) => {
                            let mut v = outcome(*i, item, "duplicate", None, lang);
                            v["same_as"] = json!(first);
                            v
                        }
                        None => outcome(*i, item, "uncertain", None, lang),
                    };
                    v = from_entry(v, &e);
                    answers[*i] = Some(v);
                }
            }
            if let Some(v) = &answers[*i] {
                settle(v);
            }
        }

        // The requests, up to max_in_flight at once.
        let next = AtomicUsize::new(0);
        let done = Mutex::new(Vec::with_capacity(to_send.len()));
        std::thread::scope(|scope| {
            for _ in 0..max_in_flight.clamp(1, to_send.len().max(1)) {
                scope.spawn(|| loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some((i, id, key, call)) = to_send.get(n) else {
                        break;
                    };
                    let item = &items[*i];
                    if cancel.load(Ordering::Relaxed) {
                        // Never sent: its row says so, and a new batch may send it.
                        let e = Error::new(status::ANAF_ERR_CANCELLED);
                        let _ = journal::finish(
                            &self.store,
                            *id,
                            State::Failed,
                            None,
                            None,
                            Some("cancelled before it was sent"),
                        );
                        let mut v = outcome(*i, item, "cancelled", Some(&e), lang);
                        v["journal_id"] = json!(id);
                        settle(&v);
                        done.lock().unwrap_or_else(|p| p.into_inner()).push((*i, v));
                        continue;
                    }
                    progress.sent.fetch_add(1, Ordering::Relaxed);
                    // What ANAF answered besides the index: its date, or the UIT.
                    let sent = match &item.doc {
                        Doc::Invoice(o) => send_recorded(
                            self,
                            *id,
                            || ef.before_upload(key, o),
                            call,
                            efactura::parse_upload_answer,
                        )
                        .map(|(date, index)| (json!({"dateResponse": date}), index)),
                        Doc::Transport { .. } => send_recorded(
                            self,
                            *id,
                            || Ok(()),
                            call,
                            super::etransport::parse_upload_answer,
                        )
                        .map(|(up, index)| {
                            (
                                json!({"UIT": up.uit, "dateResponse": up.date_response}),
                                index,
                            )
                        }),
                    };
                    let v = match sent {
                        Ok((extra, index)) => {
                            let mut v = outcome(*i, item, "uploaded", None, lang);
                            v["index_incarcare"] = json!(index);
                            v["journal_id"] = json!(id);
                            v["sha256"] = json!(key.sha256);
                            if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
                                m.extend(x);
                            }
                            v
                        }
                        Err(e) => {
                            // The journal says how it ended: rejected, failed or unknown.
                            let state = journal::get(&self.store, *id)
                                .ok()
                                .flatten()
                                .map(|r| r.state())
                                .unwrap_or(State::Unknown);
                            let mut v = outcome(*i, item, state.as_str(), Some(&e), lang);
                            v["journal_id"] = json!(id);
                            v
                        }
                    };
                    settle(&v);
                    done.lock().unwrap_or_else(|p| p.into_inner()).push((*i, v));
                });
            }
        });
        for (i, v) in done.into_inner().unwrap_or_else(|p| p.into_inner()) {
            answers[i] = Some(v);
        }

        let items: Vec<Value> = answers.into_iter().flatten().collect();
        let mut counts = serde_json::Map::new();
        for v in &items {
            let r = v["result"].as_str().unwrap_or("?").to_string();
            let n = counts.entry(r).or_insert(json!(0));
            *n = json!(n.as_u64().unwrap_or(0) + 1);
        }
        Ok(json!({
            "items": items,
            "counts": counts,
            "elapsed_ms": started.elapsed().as_millis() as u64,
        }))
    }
}

impl Session {
    /// The processing states of many uploads, up to `max_in_flight` asked at once: each one
    /// polled until final or `wait` passes (pausing `interval`, then half as long again each
    /// time, as `EFactura::wait_final` does), within its own 100 checks a day. The answers in
    /// the order given.
    pub fn status_batch(
        &self,
        ids: &[String],
        max_in_flight: usize,
        wait: std::time::Duration,
        interval: std::time::Duration,
    ) -> Vec<Result<efactura::Waited>> {
        let next = AtomicUsize::new(0);
        let done = Mutex::new(Vec::with_capacity(ids.len()));
        std::thread::scope(|scope| {
            for _ in 0..max_in_flight.clamp(1, ids.len().max(1)) {
                scope.spawn(|| loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(id) = ids.get(n) else { break };
                    let w = self.efactura().wait_final(id, wait, interval);
                    done.lock().unwrap_or_else(|p| p.into_inner()).push((n, w));
                });
            }
        });
        let mut out = done.into_inner().unwrap_or_else(|p| p.into_inner());
        out.sort_by_key(|(n, _)| *n);
        out.into_iter().map(|(_, w)| w).collect()
    }
}
