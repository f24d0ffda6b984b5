//! The upload journal and the daily call counters, in the same database as the token.
//!
//! Journal: every upload is recorded BEFORE it is sent (state `sending`), then finished
//! as `uploaded` (with ANAF's index), `rejected` (ANAF answered with an error: nothing was
//! registered), `failed` (certainly never reached ANAF) or `unknown` (sent, but no answer
//! came: timeout, connection reset). A crash leaves `sending`, which reads as `unknown`.
//! A later upload of the same document (same CIF, environment, service, standard, flags
//! and SHA-256 of the bytes) is not sent again while the last attempt is `uploaded` or
//! `unknown`/`sending`, unless the caller forces it.
//!
//! Counters: calls per ANAF day (Europe/Bucharest) and key, so the per-message and per-CIF
//! daily quotas of ANAF are respected by every process that shares the database.

use super::db::{args, Conn, DbResult, Row, Write};
use super::Store;
use crate::error::{Error, Result};
use crate::status::*;
use chrono::{DateTime, Datelike, Duration as ChronoDuration, NaiveDate, TimeZone, Utc, Weekday};

/// What identifies "the same upload".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadKey {
    pub cif: String,
    pub environment: String,
    pub service: Service,
    pub standard: String,
    /// The flags that change what ANAF registers (`extern,autofactura,executare`), sorted.
    pub flags: String,
    pub sha256: String,
}

/// The services whose uploads the journal keeps. Their names are what the rows hold, read
/// by other workstations' DLLs too: they never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    EFactura,
    EFacturaB2c,
    ETransport,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::EFactura => "efactura",
            Service::EFacturaB2c => "efactura-b2c",
            Service::ETransport => "etransport",
        }
    }

    /// A row's name; None for one this DLL does not know (a newer DLL's).
    pub fn parse(s: &str) -> Option<Service> {
        [Service::EFactura, Service::EFacturaB2c, Service::ETransport]
            .into_iter()
            .find(|v| v.as_str() == s)
    }

    /// An e-Factura upload, B2B or B2C (one status and one list for both).
    pub fn is_efactura(self) -> bool {
        matches!(self, Service::EFactura | Service::EFacturaB2c)
    }

    /// The rows (a LIKE pattern) whose state this service's `stareMesaj` answers.
    fn family(self) -> &'static str {
        if self.is_efactura() {
            "efactura%"
        } else {
            "etransport%"
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Sending,
    Uploaded,
    Rejected,
    Failed,
    Unknown,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Sending => "sending",
            State::Uploaded => "uploaded",
            State::Rejected => "rejected",
            State::Failed => "failed",
            State::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> State {
        match s {
            "uploaded" => State::Uploaded,
            "rejected" => State::Rejected,
            "failed" => State::Failed,
            "sending" => State::Sending,
            _ => State::Unknown,
        }
    }
}

/// One journal row.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    pub id: i64,
    pub cif: String,
    pub environment: String,
    pub service: String,
    pub standard: String,
    pub flags: String,
    pub sha256: String,
    pub size: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub state: String,
    pub index_incarcare: Option<String>,
    pub uit: Option<String>,
    pub last_status: Option<String>,
    pub detail: Option<String>,
    pub forced: bool,
}

impl Entry {
    pub fn state(&self) -> State {
        State::parse(&self.state)
    }

    pub fn service(&self) -> Option<Service> {
        Service::parse(&self.service)
    }
}

const COLUMNS: &str = "id, cif, environment, service, standard, flags, sha256, size_bytes, started_at, finished_at, state, index_incarcare, uit, last_status, detail, forced";

fn row_entry(r: &Row) -> DbResult<Entry> {
    Ok(Entry {
        id: r.int(0)?,
        cif: r.text(1)?,
        environment: r.text(2)?,
        service: r.text(3)?,
        standard: r.text(4)?,
        flags: r.opt_text(5)?.unwrap_or_default(),
        sha256: r.text(6)?,
        size: r.int(7)?,
        started_at: r.text(8)?,
        finished_at: r.opt_text(9)?,
        state: r.text(10)?,
        index_incarcare: r.opt_text(11)?,
        uit: r.opt_text(12)?,
        last_status: r.opt_text(13)?,
        detail: r.opt_text(14)?,
        forced: r.int(15)? != 0,
    })
}

/// The outcome of [`begin`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Begin {
    /// Recorded as `sending` with this row id: go ahead and send.
    Send(i64),
    /// The same document is already at ANAF (index known): do not send.
    AlreadyUploaded(Entry),
    /// The same document was sent and no answer came (or is being sent right now):
    /// ANAF may have it. Do not send unless forced.
    Uncertain(Entry),
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Looks for an earlier upload of the same document and, unless one blocks it, records
/// this attempt as `sending` — all in one write transaction, so two threads or processes
/// uploading the same file at once cannot both send it. `durable` (config `journal_sync`
/// "full") waits for the disk before returning, so the row outlives a power cut too.
pub fn begin(
    store: &Store,
    key: &UploadKey,
    size: usize,
    force: bool,
    durable: bool,
) -> Result<Begin> {
    let w = if durable {
        Write::durable()
    } else {
        Write::relaxed()
    };
    store.write(w, |c| begin_in(c, key, size, force))
}

/// [`begin`] for the documents of a batch, in one write transaction: one wait for the disk
/// for all of them. The documents are taken in the order of their keys, so two processes
/// sending overlapping batches lock them in the same order (no deadlock on a server); the
/// answers are in the order given. The same document twice in the batch: the second one
/// finds the first `sending` (Uncertain, with the first one's row).
pub fn begin_many(
    store: &Store,
    docs: &[(&UploadKey, usize, bool)],
    durable: bool,
) -> Result<Vec<Begin>> {
    let w = if durable {
        Write::durable()
    } else {
        Write::relaxed()
    };
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.sort_by(|&a, &b| {
        let (ka, kb) = (docs[a].0, docs[b].0);
        (&ka.sha256, &ka.cif, ka.service.as_str(), a).cmp(&(
            &kb.sha256,
            &kb.cif,
            kb.service.as_str(),
            b,
        ))
    });
    store.write(w, |c| {
        let mut out: Vec<Option<Begin>> = vec![None; docs.len()];
        for &i in &order {
            let (key, size, force) = docs[i];
            out[i] = Some(begin_in(c, key, size, force)?);
        }
        Ok(out.into_iter().flatten().collect())
    })
}

/// The last attempt of the same document that may have reached ANAF. `no_flags`: the key
/// has none (Oracle keeps an empty text as NULL, so that case is spelled out).
fn select_same(no_flags: bool) -> &'static str {
    static SQL: once_cell::sync::Lazy<[String; 2]> = once_cell::sync::Lazy::new(|| {
        [false, true].map(|no_flags| {
            let flags = if no_flags {
                "(flags = '' OR flags IS NULL)"
            } else {
                "flags = ?"
            };
            format!(
                "SELECT {COLUMNS} FROM anaf_upload_journal WHERE id = (
                     SELECT MAX(id) FROM anaf_upload_journal
                      WHERE cif = ? AND environment = ? AND service = ? AND standard = ?
                        AND {flags} AND sha256 = ? AND state NOT IN ('rejected', 'failed'))"
            )
        })
    });
    &SQL[no_flags as usize]
}

/// Makes the rest of a write transaction exclusive for one document of the journal.
fn lock_document(
    c: &mut dyn Conn,
    cif: &str,
    environment: &str,
    service: &str,
    sha256: &str,
) -> DbResult<()> {
    c.serialize(&format!("journal/{cif}/{environment}/{service}/{sha256}"))
}

fn begin_in(c: &mut dyn Conn, key: &UploadKey, size: usize, force: bool) -> DbResult<Begin> {
    lock_document(
        c,
        &key.cif,
        &key.environment,
        key.service.as_str(),
        &key.sha256,
    )?;
    if !force {
        let no_flags = key.flags.is_empty();
        let k = args![
            &key.cif,
            &key.environment,
            key.service.as_str(),
            &key.standard,
            (!no_flags).then_some(&key.flags),
            &key.sha256
        ];
        // Without flags the placeholder is gone from the statement: drop its argument.
        let k: Vec<_> = k
            .iter()
            .enumerate()
            .filter(|(i, _)| !(no_flags && *i == 4))
            .map(|(_, a)| *a)
            .collect();
        if let Some(r) = c.query_row(select_same(no_flags), &k)? {
            let e = row_entry(&r)?;
            return Ok(match e.state() {
                State::Uploaded => Begin::AlreadyUploaded(e),
                _ => Begin::Uncertain(e),
            });
        }
    }
    let id = c.insert_returning_id(
        "INSERT INTO anaf_upload_journal
             (cif, environment, service, standard, flags, sha256, size_bytes, started_at, state, forced)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sending', ?)",
        args![
            &key.cif,
            &key.environment,
            key.service.as_str(),
            &key.standard,
            &key.flags,
            &key.sha256,
            size as i64,
            &now_text(),
            force
        ],
    )?;
    Ok(Begin::Send(id))
}

/// Records the end of an attempt started with [`begin`]. Not waited for on the disk: lost
/// in a power cut, the row stays `sending`, which reads as "uncertain" — the cautious side.
pub fn finish(
    store: &Store,
    id: i64,
    state: State,
    index_incarcare: Option<&str>,
    uit: Option<&str>,
    detail: Option<&str>,
) -> Result<()> {
    store.write(Write::relaxed(), |c| {
        c.execute(
            "UPDATE anaf_upload_journal
                SET state = ?, finished_at = ?, index_incarcare = ?, uit = ?, detail = ?
              WHERE id = ?",
            args![
                state.as_str(),
                &now_text(),
                index_incarcare,
                uit,
                detail,
                id
            ],
        )
    })?;
    Ok(())
}

/// Notes the last known processing state (`stare`) of an uploaded document; the rows
/// changed.
pub fn set_last_status(
    store: &Store,
    cif: &str,
    service: Service,
    index: &str,
    stare: &str,
) -> Result<u64> {
    store.write(Write::relaxed(), |c| {
        c.execute(
            "UPDATE anaf_upload_journal SET last_status = ?
              WHERE cif = ? AND service LIKE ? AND index_incarcare = ?",
            args![stare, cif, service.family(), index],
        )
    })
}

/// What an inbox message says of an e-Factura upload of this CIF (index `index`): ANAF
/// accepted it (`FACTURA TRIMISA`: `last_status` ok) or rejected it (`ERORI FACTURA`: the
/// row becomes `rejected`, with ANAF's errors as its detail). The rows changed.
pub fn settle_from_inbox(
    store: &Store,
    cif: &str,
    index: &str,
    rejected_with: Option<&str>,
) -> Result<u64> {
    let Some(errors) = rejected_with else {
        return set_last_status(store, cif, Service::EFactura, index, "ok");
    };
    store.write(Write::relaxed(), |c| {
        c.execute(
            "UPDATE anaf_upload_journal SET state = 'rejected', last_status = 'nok', detail = ?
              WHERE cif = ? AND service LIKE 'efactura%' AND index_incarcare = ?",
            args![errors, cif, index],
        )
    })
}

/// The journal rows of a CIF started in the last `days` days, newest first.
pub fn recent(store: &Store, cif: &str, days: u32) -> Result<Vec<Entry>> {
    let since = (Utc::now() - ChronoDuration::days(days as i64))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let sql = format!(
        "SELECT {COLUMNS} FROM anaf_upload_journal WHERE cif = ? AND started_at >= ? ORDER BY id DESC"
    );
    store.read(|c| {
        c.query(&sql, args![cif, &since])?
            .iter()
            .map(row_entry)
            .collect()
    })
}

/// Every row, oldest first (moving a store).
pub fn all(store: &Store) -> Result<Vec<Entry>> {
    let sql = format!("SELECT {COLUMNS} FROM anaf_upload_journal ORDER BY id");
    store.read(|c| c.query(&sql, &[])?.iter().map(row_entry).collect())
}

/// Writes rows read from another store (new ids here), skipping the ones already here (the
/// same document started at the same instant): a move run twice copies nothing twice.
/// Answers how many were written.
pub fn copy_into(store: &Store, entries: &[Entry]) -> Result<usize> {
    store.write(Write::durable(), |c| {
        let mut n = 0;
        for e in entries {
            lock_document(c, &e.cif, &e.environment, &e.service, &e.sha256)?;
            let here = c.query_row(
                "SELECT id FROM anaf_upload_journal WHERE cif = ? AND environment = ?
                   AND service = ? AND sha256 = ? AND started_at = ?",
                args![&e.cif, &e.environment, &e.service, &e.sha256, &e.started_at],
            )?;
            if here.is_some() {
                continue;
            }
            c.execute(
                "INSERT INTO anaf_upload_journal (cif, environment, service, standard, flags,
                     sha256, size_bytes, started_at, finished_at, state, index_incarcare, uit,
                     last_status, detail, forced)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                args![
                    &e.cif,
                    &e.environment,
                    &e.service,
                    &e.standard,
                    &e.flags,
                    &e.sha256,
                    e.size,
                    &e.started_at,
                    e.finished_at.as_ref(),
                    &e.state,
                    e.index_incarcare.as_ref(),
                    e.uit.as_ref(),
                    e.last_status.as_ref(),
                    e.detail.as_ref(),
                    e.forced
                ],
            )?;
            n += 1;
        }
        Ok(n)
    })
}

/// One row by id.
pub fn get(store: &Store, id: i64) -> Result<Option<Entry>> {
    let sql = format!("SELECT {COLUMNS} FROM anaf_upload_journal WHERE id = ?");
    store.read(|c| {
        c.query_row(&sql, args![id])?
            .as_ref()
            .map(row_entry)
            .transpose()
    })
}

/// ANAF's day: the calendar date in Romania (EET, EEST from the last Sunday of March
/// 01:00 UTC to the last Sunday of October 01:00 UTC), when ANAF's daily quotas restart.
pub fn anaf_day(now: DateTime<Utc>) -> NaiveDate {
    romania_time(now).date()
}

/// Romanian local time (as a naive date-time), the clock of ANAF's `data_creare`.
pub fn romania_time(now: DateTime<Utc>) -> chrono::NaiveDateTime {
    let year = now.year();
    let last_sunday = |month: u32| -> DateTime<Utc> {
        let first_next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        }
        .unwrap_or_default();
        let mut d = first_next - ChronoDuration::days(1);
        while d.weekday() != Weekday::Sun {
            d -= ChronoDuration::days(1);
        }
        Utc.from_utc_datetime(&d.and_hms_opt(1, 0, 0).unwrap_or_default())
    };
    let summer = now >= last_sunday(3) && now < last_sunday(10);
    let offset = if summer { 3 } else { 2 };
    (now + ChronoDuration::hours(offset)).naive_utc()
}

/// Counts one call of `kind` on `key` for today and refuses it, without counting, when
/// `limit` calls were already made today (by any process sharing the database).
/// Returns the number of calls made today including this one.
pub fn count_call(store: &Store, kind: &str, key: &str, limit: u32) -> Result<u32> {
    let today = anaf_day(Utc::now());
    let day = today.to_string();
    let old = (today - ChronoDuration::days(2)).to_string();
    // A counter lost in a power cut is harmless: written without waiting for the disk.
    let used = store.write(Write::relaxed(), |c| {
        count_in(c, &day, &old, kind, key, limit)
    })?;
    if used >= limit {
        return Err(Error::with(
            ANAF_ERR_QUOTA_EXCEEDED,
            format!(
                "anaf-bridge a oprit apelul înainte de ANAF: s-au făcut deja {used} apeluri „{kind}” pentru {key} astăzi (limita ANAF: {limit} pe zi)."
            ),
            format!(
                "anaf-bridge stopped the call before ANAF: {used} \"{kind}\" calls for {key} were already made today (ANAF's limit: {limit} a day)."
            ),
        ));
    }
    Ok(used + 1)
}

const SELECT_COUNT: &str =
    "SELECT calls FROM anaf_call_count WHERE call_day = ? AND kind = ? AND call_key = ?";

/// Counts the call unless `limit` calls were made today; returns the count before it.
fn count_in(
    c: &mut dyn Conn,
    day: &str,
    old: &str,
    kind: &str,
    key: &str,
    limit: u32,
) -> DbResult<u32> {
    c.serialize(&format!("count/{kind}/{key}"))?;
    let used = match c.query_row(SELECT_COUNT, args![day, kind, key])? {
        Some(r) => r.int(0)?.clamp(0, u32::MAX as i64) as u32,
        None => 0,
    };
    if used >= limit {
        return Ok(used);
    }
    if used == 0 {
        c.execute(
            "INSERT INTO anaf_call_count (call_day, kind, call_key, calls) VALUES (?, ?, ?, 1)",
            args![day, kind, key],
        )?;
    } else {
        c.execute(
            "UPDATE anaf_call_count SET calls = calls + 1 WHERE call_day = ? AND kind = ? AND call_key = ?",
            args![day, kind, key],
        )?;
    }
    c.execute("DELETE FROM anaf_call_count WHERE call_day < ?", args![old])?;
    Ok(used)
}

/// How many calls of `kind` on `key` were made today.
pub fn calls_today(store: &Store, kind: &str, key: &str) -> Result<u32> {
    let day = anaf_day(Utc::now()).to_string();
    store.read(
        |c| match c.query_row(SELECT_COUNT, args![&day, kind, key])? {
            Some(r) => Ok(r.int(0)?.clamp(0, u32::MAX as i64) as u32),
            None => Ok(0),
        },
    )
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
