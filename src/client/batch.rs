//! `anaf_upload_batch`: many e-Factura uploads in flight at once, within the limits.
//!
//! The journal rows of the whole batch are written first, in one write transaction (one
//! wait for the disk instead of one per invoice); each row is `sending` before its request
//! leaves, as for a single upload, so a crash anywhere leaves only rows the journal already
//! knows how to settle (`anaf_upload_resolve`). Then up to `max_in_flight` requests overlap,
//! every one under the process-wide pacer; each outcome is written to its row as it comes.

use super::efactura::{self, send_recorded, UploadOptions};
use super::Session;
use crate::error::{Error, Result};
use crate::status::{self, Lang};
use crate::store::journal::{self, Begin, State, UploadKey};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// One invoice of a batch, as the ERP gave it.
pub struct Item {
    /// The XML, or why it could not be had (a file that cannot be read).
    pub xml: Result<Vec<u8>>,
    pub opts: UploadOptions,
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
        let started = Instant::now();
        let lang = self.config.language;
        let ef = self.efactura();
        let mut answers: Vec<Option<Value>> = vec![None; items.len()];
        // What each valid item would send.
        let mut prepared = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let request = item
                .xml
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|xml| ef.upload_request(xml, &item.opts).map(|kc| (xml.len(), kc)));
            match request {
                Ok((size, (key, call))) => prepared.push((i, size, key, call)),
                Err(e) => answers[i] = Some(outcome(i, item, "invalid", Some(&e), lang)),
            }
        }
        let docs: Vec<(&UploadKey, usize, bool)> = prepared
            .iter()
            .map(|(i, size, key, _)| (key, *size, items[*i].opts.force))
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
                    let sent = send_recorded(
                        self,
                        *id,
                        || ef.before_upload(key, &item.opts),
                        call,
                        efactura::parse_upload_answer,
                    );
                    let v = match sent {
                        Ok((date, index)) => {
                            let mut v = outcome(*i, item, "uploaded", None, lang);
                            v["index_incarcare"] = json!(index);
                            v["dateResponse"] = json!(date);
                            v["journal_id"] = json!(id);
                            v["sha256"] = json!(key.sha256);
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
