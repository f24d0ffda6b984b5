//! `anaf_inbox_sync`: brings the company's e-Factura inbox in the ERP's database up to date.
//!
//! One run, under the company's sync lease (one run per CIF and environment, whatever the
//! workstation): list with the paginated call from where the last complete listing ended
//! (less an overlap, because ANAF lists a message up to ~15 minutes after its creation
//! time), never asking for an end past ANAF's clock; keep each new message once; then
//! download every message not downloaded yet, oldest first, store its ZIP and what its
//! invoice says. A run stopped anywhere (killed, quota, network) leaves rows the next run
//! continues from: listings are repeated (cheap, 100 000 a day), downloads are not (10 a
//! day per message).

use super::answer::Reply;
use super::archive::Archive;
use super::efactura::Message;
use super::invoice;
use super::Session;
use crate::error::{Error, Result};
use crate::status::*;
use crate::store::inbox::{Kept, Lease, Listed, Parsed};
use base64::Engine;
use chrono::{NaiveDateTime, TimeZone, Utc};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const DAY_MS: i64 = 86_400_000;
/// How long a run's lease lasts without renewal (renewed between pages and downloads).
const LEASE_MS: i64 = 120_000;
/// The end of a listing stays this far behind our clock, which may be ahead of ANAF's
/// (an `endTime` a second past ANAF's clock fails the whole listing).
const END_MARGIN_MS: i64 = 120_000;
/// Each listing starts this far before the end of the last complete one: messages appear
/// in the list minutes after their creation time.
const RELIST_OVERLAP_MS: i64 = 3_600_000;
/// ANAF's window: 60 days back from its clock (kept 10 minutes inside).
const WINDOW_MS: i64 = 60 * DAY_MS - 600_000;
/// How many listed messages are stored per transaction.
const BATCH: usize = 500;

/// How far a run is, for the ERP's screen while it runs (`anaf_inbox_sync_poll`).
#[derive(Debug, Default)]
pub struct Progress {
    /// 0 starting (waiting for the lease), 1 listing, 2 downloading, 3 done.
    pub phase: AtomicU64,
    pub listed: AtomicU64,
    pub new: AtomicU64,
    /// Messages to download in this run.
    pub total: AtomicU64,
    pub downloaded: AtomicU64,
    /// Downloaded and read without a `parse_error`.
    pub parsed: AtomicU64,
    pub failed: AtomicU64,
}

impl super::job::Progress for Progress {
    fn json(&self) -> Value {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let phase = ["starting", "listing", "downloading", "done"]
            .get(g(&self.phase) as usize)
            .copied()
            .unwrap_or("done");
        json!({
            "phase": phase, "listed": g(&self.listed), "new": g(&self.new),
            "total": g(&self.total), "downloaded": g(&self.downloaded),
            "parsed": g(&self.parsed), "failed": g(&self.failed),
        })
    }
}

impl Progress {
    fn set(a: &AtomicU64, v: u64) {
        a.store(v, Ordering::Relaxed);
    }

    fn add(a: &AtomicU64) {
        a.fetch_add(1, Ordering::Relaxed);
    }
}

/// A sync running on a thread of its own (`anaf_inbox_sync_begin`).
pub type Job = super::job::Job<Progress>;

/// What the ERP asks of a run (`options_json` of `anaf_inbox_sync`).
#[derive(Clone, Debug, Default)]
pub struct SyncOptions {
    /// List from here (Unix ms) instead of from the last run's end (the first run: instead
    /// of ANAF's 60 days).
    pub since_ms: Option<i64>,
    /// Wait (up to this long) for another workstation's run instead of answering busy.
    pub wait: Option<Duration>,
    /// Download at most this many messages in this run (the rest waits for the next).
    pub max_downloads: Option<usize>,
}

/// The inbox syncs running in this process, by store and company; removed on drop.
struct Running(String);

static RUNNING: once_cell::sync::Lazy<std::sync::Mutex<std::collections::HashSet<String>>> =
    once_cell::sync::Lazy::new(Default::default);

impl Running {
    fn take(key: &str) -> Option<Running> {
        let mut set = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        set.insert(key.to_string())
            .then(|| Running(key.to_string()))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.0);
    }
}

/// ANAF's `data_creare` (`YYYYMMDDHHMM`, Romanian time) as Unix ms.
fn created_ms(data_creare: &str) -> Option<i64> {
    let local = NaiveDateTime::parse_from_str(data_creare, "%Y%m%d%H%M").ok()?;
    // Summer time (+3) if it reads back as the same local time, else winter (+2).
    [3, 2].into_iter().find_map(|h| {
        let utc = Utc.from_utc_datetime(&(local - chrono::Duration::hours(h)));
        (crate::store::journal::romania_time(utc) == local).then(|| utc.timestamp_millis())
    })
}

/// `cif_emitent=…` / `cif_beneficiar=…` from the `detalii` text (the list's own fields are
/// documented but not sent).
fn cif_in(detalii: &str, key: &str) -> Option<String> {
    let at = detalii.find(key)? + key.len();
    let digits: String = detalii[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then_some(digits)
}

fn listed(m: &Message, now_ms: i64) -> Listed {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Listed {
        message_id: m.id.clone(),
        message_type: m.tip.clone(),
        created_at: m.data_creare.clone(),
        created_ms: created_ms(&m.data_creare).unwrap_or(now_ms),
        id_solicitare: opt(&m.id_solicitare),
        detalii: opt(&m.detalii),
        supplier_cif: cif_in(&m.detalii, "cif_emitent="),
        customer_cif: cif_in(&m.detalii, "cif_beneficiar="),
    }
}

fn iso(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The entry of a message's ZIP: its XML (`{id}.xml`, else the first XML that is not
/// ANAF's signature), or the signature.
fn entry_of(a: &Archive<'_>, id: &str, signature: bool) -> Option<usize> {
    let names: Vec<&str> = a.zip.file_names().collect();
    let is_sig = |n: &str| n.to_ascii_lowercase().starts_with("semnatura");
    let index = |name: &str| a.zip.index_for_name(name);
    if signature {
        return names.iter().find(|n| is_sig(n)).and_then(|n| index(n));
    }
    let wanted = format!("{id}.xml");
    names
        .iter()
        .find(|n| n.eq_ignore_ascii_case(&wanted))
        .or_else(|| {
            names
                .iter()
                .find(|n| n.to_ascii_lowercase().ends_with(".xml") && !is_sig(n))
        })
        .and_then(|n| index(n))
}

/// What a downloaded ZIP holds: the message's XML read as an invoice, or why it could not
/// be.
fn read_zip(id: &str, message_type: &str, zip: &Reply) -> Parsed {
    let fail = |why: String| Parsed {
        parse_error: Some(why),
        ..Parsed::default()
    };
    let mut archive = match Archive::open(zip) {
        Ok(a) => a,
        Err(e) => return fail(e.message(crate::status::Lang::Ro)),
    };
    let Some(i) = entry_of(&archive, id, false) else {
        let names: Vec<&str> = archive.zip.file_names().collect();
        return fail(format!(
            "ZIP-ul nu conține XML-ul mesajului / the ZIP has no message XML ({})",
            names.join(", ")
        ));
    };
    let xml = match archive.read(i) {
        Ok(x) => x,
        Err(e) => return fail(e.message(crate::status::Lang::Ro)),
    };
    if message_type.starts_with("FACTURA") {
        invoice::parse(&xml)
    } else {
        // ANAF's error list or a buyer's message: kept, not an invoice.
        let errors = invoice::anaf_errors(&xml);
        Parsed {
            anaf_errors: (!errors.is_empty()).then(|| json!(errors).to_string()),
            ..Parsed::default()
        }
    }
}

impl Session {
    /// One run of the inbox sync (see the module's comment). The answer says what was
    /// done; a run that stopped early says why in `"stopped"` and answers its error.
    pub fn inbox_sync(&self, o: &SyncOptions) -> std::result::Result<Value, (Error, Value)> {
        self.inbox_sync_with(o, &Progress::default())
    }

    /// As [`Session::inbox_sync`], counting its progress in `progress`.
    pub fn inbox_sync_with(
        &self,
        o: &SyncOptions,
        progress: &Progress,
    ) -> std::result::Result<Value, (Error, Value)> {
        let cif = self.config.cif.as_str();
        let env = self.config.environment.as_str();
        let inbox = self.store.inbox(cif, env);
        let now = || crate::time::now_ms();
        let started = Instant::now();
        let no_json = |e: Error| (e, Value::Null);
        // Threads of one process share the lease's owner: they are kept apart here.
        let key = format!("{}|{cif}|{env}", self.store.path.display());
        let _running = loop {
            if let Some(g) = Running::take(&key) {
                break g;
            }
            if o.wait.is_some_and(|w| started.elapsed() < w) {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            return Err(no_json(Error::with(
                ANAF_ERR_SYNC_BUSY,
                format!("Inbox-ul CIF {cif} se sincronizează chiar acum în acest program (alt fir); reîncercați după ce termină."),
                format!("The inbox of CIF {cif} is being synced right now in this program (another thread); try again once it is done."),
            )));
        };
        let synced_until = loop {
            match inbox.lease(now(), LEASE_MS).map_err(no_json)? {
                Lease::Taken { synced_until } => break synced_until,
                Lease::Busy { owner, until } => {
                    if o.wait.is_some_and(|w| started.elapsed() < w) {
                        std::thread::sleep(Duration::from_millis(250));
                        continue;
                    }
                    let until = iso(until);
                    return Err(no_json(Error::with(
                        ANAF_ERR_SYNC_BUSY,
                        format!("Inbox-ul CIF {cif} se sincronizează chiar acum pe {owner} (până la {until}); reîncercați după ce termină."),
                        format!("The inbox of CIF {cif} is being synced right now by {owner} (until {until}); try again once it is done."),
                    )));
                }
            }
        };
        let mut summary = Map::new();
        let outcome = self.inbox_run(o, synced_until, &mut summary, progress);
        Progress::set(&progress.phase, 3);
        let stopped = outcome.as_ref().err().map(|e| {
            json!({"status": crate::status::name(e.status), "code": e.status, "message": e.message(self.config.language)})
        });
        summary.insert("complete".into(), json!(stopped.is_none()));
        summary.insert("stopped".into(), stopped.unwrap_or(Value::Null));
        if let Ok(c) = inbox.counts() {
            summary.insert("inbox".into(), c);
        }
        let summary = Value::Object(summary);
        let _ = inbox.release(now(), &summary);
        match outcome {
            Ok(()) => Ok(summary),
            Err(e) => Err((e, summary)),
        }
    }

    /// What a downloaded message says of one of our uploads, written to its journal row.
    fn settle_journal(&self, m: &crate::store::inbox::Pending, p: &Parsed) -> Result<u64> {
        let Some(index) = &m.id_solicitare else {
            return Ok(0);
        };
        let rejected = match m.message_type.as_str() {
            "FACTURA TRIMISA" => None,
            "ERORI FACTURA" => Some(p.anaf_errors.clone().unwrap_or_else(|| "[]".into())),
            _ => return Ok(0),
        };
        crate::store::journal::settle_from_inbox(
            &self.store,
            &self.config.cif,
            index,
            rejected.as_deref(),
        )
    }

    fn inbox_run(
        &self,
        o: &SyncOptions,
        synced_until: Option<i64>,
        out: &mut Map<String, Value>,
        progress: &Progress,
    ) -> Result<()> {
        let cif = self.config.cif.as_str();
        let env = self.config.environment.as_str();
        let inbox = self.store.inbox(cif, env);
        let now = crate::time::now_ms();
        out.insert("cif".into(), json!(cif));
        out.insert("environment".into(), json!(env));

        // Listing.
        let end = now - END_MARGIN_MS;
        let earliest = now - WINDOW_MS;
        // `since` always wins: the ERP's way to list a longer window again.
        let start = match (o.since_ms, synced_until) {
            (Some(s), _) => s,
            (None, Some(u)) => u - RELIST_OVERLAP_MS,
            (None, None) => earliest,
        }
        .max(earliest);
        let mut new_by_type: Map<String, Value> = Map::new();
        let mut new = 0u64;
        let mut listed_count = 0u64;
        let mut pages = 0u32;
        Progress::set(&progress.phase, 1);
        if start < end {
            out.insert("window".into(), json!({"from": iso(start), "to": iso(end)}));
            let mut batch: Vec<Listed> = Vec::with_capacity(BATCH);
            let mut flush = |batch: &mut Vec<Listed>| -> Result<()> {
                for m in inbox.add_listed(batch, now / 1000)? {
                    new += 1;
                    Progress::add(&progress.new);
                    let n = new_by_type
                        .entry(m.message_type.clone())
                        .or_insert(json!(0));
                    *n = json!(n.as_u64().unwrap_or(0) + 1);
                }
                batch.clear();
                inbox.renew(crate::time::now_ms(), LEASE_MS)?;
                Ok(())
            };
            let listing = self.efactura().list_paged(start, end, None, |m| {
                listed_count += 1;
                Progress::add(&progress.listed);
                batch.push(listed(&m, now));
                if batch.len() >= BATCH {
                    flush(&mut batch)?;
                }
                Ok(())
            });
            let flushed = flush(&mut batch);
            out.insert("listed".into(), json!(listed_count));
            out.insert("new".into(), json!(new));
            // Listed again (the hour of overlap, or `since`): already in the inbox.
            out.insert("skipped".into(), json!(listed_count.saturating_sub(new)));
            out.insert("new_by_type".into(), Value::Object(new_by_type));
            let paged = listing?;
            flushed?;
            pages = paged.pages;
            inbox.listed_until(end)?;
            out.insert("synced_until".into(), json!(iso(end)));
        }
        out.insert("list_pages".into(), json!(pages));
        let quota = super::efactura::LIST_PAGES;
        let used = quota.used(self, cif)?;
        out.insert(
            "list_calls_left_today".into(),
            json!(quota.per_day.saturating_sub(used)),
        );

        // Downloads.
        let mut downloaded = 0u64;
        let mut settled = 0u64;
        let mut failed = 0u64;
        let mut expired = 0u64;
        let mut download_calls = 0u64;
        let pending = inbox.pending()?;
        out.insert("to_download".into(), json!(pending.len()));
        let limit = o.max_downloads.unwrap_or(usize::MAX);
        Progress::set(&progress.total, pending.len().min(limit) as u64);
        Progress::set(&progress.phase, 2);
        let mut renewed = Instant::now();
        let result = (|| -> Result<()> {
            for m in pending.iter().take(limit) {
                // Renewed once a third of its time has passed: one write, not one per message.
                if renewed.elapsed() > Duration::from_millis(LEASE_MS as u64 / 3) {
                    renewed = Instant::now();
                    if !inbox.renew(crate::time::now_ms(), LEASE_MS)? {
                        return Err(Error::with(
                        ANAF_ERR_SYNC_BUSY,
                        "Sincronizarea a pierdut dreptul exclusiv (a durat prea mult între două descărcări); rulați din nou.",
                        "The sync lost its lease (too long between two downloads); run it again.",
                    ));
                    }
                }
                download_calls += 1;
                match self.efactura().fetch_zip(&m.message_id) {
                    Ok(reply) => {
                        let p = read_zip(&m.message_id, &m.message_type, &reply);
                        let zip = self.keep(&m.message_id, "zip", &reply.body)?;
                        inbox.downloaded(
                            &m.message_id,
                            &zip,
                            &super::files::sha256_hex(&reply.body),
                            reply.body.len() as i64,
                            &p,
                            crate::time::now(),
                        )?;
                        downloaded += 1;
                        Progress::add(&progress.downloaded);
                        if p.parse_error.is_none() {
                            Progress::add(&progress.parsed);
                        }
                        settled += self.settle_journal(m, &p)?;
                    }
                    Err(e) if gone_for_good(&e) => {
                        inbox.failed(
                            &m.message_id,
                            "expired",
                            &e.message(crate::status::Lang::Ro),
                        )?;
                        expired += 1;
                    }
                    // This message's own daily quota, or ANAF's refusal of this one message:
                    // the others go on.
                    Err(e)
                        if e.status == ANAF_ERR_QUOTA_EXCEEDED
                            || e.status == ANAF_ERR_REJECTED
                            || e.status == ANAF_ERR_BAD_RESPONSE =>
                    {
                        inbox.failed(
                            &m.message_id,
                            "failed",
                            &e.message(crate::status::Lang::Ro),
                        )?;
                        failed += 1;
                    }
                    // The network, the token, the rate limit, an HTML page: stop; the next
                    // run goes on from here.
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })();
        out.insert("downloaded".into(), json!(downloaded));
        // Requests to ANAF this run: the list's pages and every download tried.
        out.insert("calls".into(), json!(pages as u64 + download_calls));
        out.insert("journal_settled".into(), json!(settled));
        out.insert("failed".into(), json!(failed));
        out.insert("expired".into(), json!(expired));
        out.insert(
            "left".into(),
            json!(pending.len() as u64 - downloaded - failed - expired),
        );
        result
    }
}

/// A part of a downloaded message (`anaf_inbox_get`'s `what`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Zip,
    Xml,
    Signature,
    Pdf,
}

impl Part {
    pub fn parse(s: &str) -> Result<Part> {
        Ok(match s {
            "zip" => Part::Zip,
            "xml" => Part::Xml,
            "signature" => Part::Signature,
            "pdf" => Part::Pdf,
            other => {
                return Err(Error::with(
                    ANAF_ERR_INVALID_ARGUMENT,
                    format!("„{other}” nu este o parte a mesajului: zip, xml, signature sau pdf."),
                    format!(
                        "\"{other}\" is not a part of the message: zip, xml, signature or pdf."
                    ),
                ))
            }
        })
    }
}

impl Session {
    /// Where a downloaded ZIP or a PDF made of it is kept: in the configured `inbox_folder`
    /// (`<cif>/<environment>/<id>.<ext>`, written whole, then renamed), else in the row.
    fn keep(&self, message_id: &str, ext: &str, data: &[u8]) -> Result<Kept> {
        let Some(root) = &self.config.inbox_folder else {
            return Ok(Kept::Base64(
                base64::engine::general_purpose::STANDARD.encode(data),
            ));
        };
        let dir = root
            .join(&self.config.cif)
            .join(self.config.environment.as_str());
        std::fs::create_dir_all(&dir).map_err(|e| {
            let dir = dir.display();
            Error::with(
                ANAF_ERR_FILE,
                format!("Folderul inbox-ului „{dir}”: {e}"),
                format!("The inbox folder \"{dir}\": {e}"),
            )
        })?;
        // The id is ANAF's, digits only (the list is checked): a plain file name.
        let name: String = message_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let path = dir.join(format!("{name}.{ext}"));
        super::files::write_file(&path, data)?;
        Ok(Kept::File(path.display().to_string()))
    }

    /// The bytes of what [`Session::keep`] kept.
    fn open_kept(message_id: &str, what: &str, kept: Kept) -> Result<Vec<u8>> {
        match kept {
            Kept::Base64(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|e| {
                    Error::with(
                        ANAF_ERR_DATABASE_CORRUPT,
                        format!(
                            "{what} mesajului {message_id} din baza de date este deteriorat: {e}"
                        ),
                        format!(
                            "The {what} of message {message_id} in the database is damaged: {e}"
                        ),
                    )
                }),
            Kept::File(path) => super::files::read_file(std::path::Path::new(&path)),
        }
    }

    /// The ZIP of a downloaded message, as ANAF gave it.
    pub fn inbox_zip(&self, message_id: &str) -> Result<Vec<u8>> {
        let cif = self.config.cif.as_str();
        let inbox = self.store.inbox(cif, self.config.environment.as_str());
        let kept = inbox.zip(message_id)?.ok_or_else(|| {
            Error::with(
                ANAF_ERR_NO_MESSAGE,
                format!("Mesajul {message_id} nu este în inbox-ul CIF {cif} sau nu a fost descărcat încă (anaf_inbox_sync)."),
                format!("Message {message_id} is not in the inbox of CIF {cif} or was not downloaded yet (anaf_inbox_sync)."),
            )
        })?;
        Self::open_kept(message_id, "ZIP", kept)
    }

    /// One part of a downloaded message written to `path`; its size. The PDF is made by
    /// ANAF's public transformation (without validation: ANAF validated the invoice when it
    /// was sent) the first time it is asked for, and kept: the next ask costs no call. A
    /// failed transformation (the WAF's page, ANAF's messages) keeps nothing, so a later
    /// ask tries again.
    pub fn inbox_part(&self, message_id: &str, part: Part, path: &std::path::Path) -> Result<u64> {
        let inbox = self
            .store
            .inbox(&self.config.cif, self.config.environment.as_str());
        if part == Part::Pdf {
            if let Some(kept) = inbox.pdf(message_id)? {
                let pdf = Self::open_kept(message_id, "PDF", kept)?;
                super::files::write_file(path, &pdf)?;
                return Ok(pdf.len() as u64);
            }
        }
        let zip = self.inbox_zip(message_id)?;
        if part == Part::Zip {
            super::files::write_file(path, &zip)?;
            return Ok(zip.len() as u64);
        }
        let reply = Reply {
            status: 200,
            content_type: "application/zip".into(),
            retry_after: None,
            body: zip,
        };
        let mut archive = Archive::open(&reply)?;
        let i = entry_of(&archive, message_id, part == Part::Signature).ok_or_else(|| {
            let names = archive.zip.file_names().collect::<Vec<&str>>().join(", ");
            Error::with(
                ANAF_ERR_BAD_RESPONSE,
                format!("ZIP-ul mesajului {message_id} nu conține partea cerută ({names})."),
                format!("The ZIP of message {message_id} lacks the part asked for ({names})."),
            )
        })?;
        let data = archive.read(i)?;
        if part == Part::Pdf {
            let kind = inbox
                .get(message_id)?
                .and_then(|v| v["doc_kind"].as_str().map(str::to_string));
            let standard = if kind.as_deref() == Some("credit_note") {
                super::public::DocStandard::FCN
            } else {
                super::public::DocStandard::FACT1
            };
            let pdf = self.public().pdf(&data, standard, false)?;
            super::files::write_file(path, &pdf)?;
            let kept = self.keep(message_id, "pdf", &pdf)?;
            inbox.keep_pdf(message_id, &kept, pdf.len() as i64, crate::time::now())?;
            return Ok(pdf.len() as u64);
        }
        super::files::write_file(path, &data)?;
        Ok(data.len() as u64)
    }
}

/// ANAF no longer has the message (downloads are kept 60 days).
fn gone_for_good(e: &Error) -> bool {
    e.detail(crate::status::Lang::Ro).is_some_and(|d| {
        d.contains("nu mai poate fi descarcat") || d.contains("nu exista inregistrata")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_creare_is_romanian_time() {
        // 1 Nov (winter, +2) and 1 Jul (summer, +3).
        assert_eq!(
            created_ms("202611011415").map(iso).as_deref(),
            Some("2026-11-01T12:15:00Z")
        );
        assert_eq!(
            created_ms("202607011415").map(iso).as_deref(),
            Some("2026-07-01T11:15:00Z")
        );
        assert_eq!(created_ms("2026"), None);
    }

    #[test]
    fn cifs_from_detalii() {
        let d = "Factura cu id_incarcare=5001 emisa de cif_emitent=8000000000 pentru cif_beneficiar=14399840";
        assert_eq!(cif_in(d, "cif_emitent=").as_deref(), Some("8000000000"));
        assert_eq!(cif_in(d, "cif_beneficiar=").as_deref(), Some("14399840"));
        assert_eq!(cif_in("Erori de validare", "cif_emitent="), None);
    }
}
