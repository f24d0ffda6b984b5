//! An upload through the journal, the same for every service: the attempt is recorded
//! before it is sent, an attempt of the same document still in flight is waited for, and
//! how it ended is recorded, so that a document is never sent twice by accident.

use super::answer::Reply;
use super::pipeline::{self, Call};
use super::Session;
use crate::error::{Error, Result};
use crate::status::*;
use crate::store::journal::{self, Begin, Entry, State, UploadKey};
use std::time::{Duration, Instant};

/// The outcome of an upload that did not fail; `U` is the service's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadOutcome<U> {
    /// Sent now and accepted.
    Uploaded(U),
    /// Not sent: the journal knows this document is already at ANAF.
    AlreadyUploaded(Entry),
    /// Not sent: an earlier attempt got no answer; ANAF may have it.
    Uncertain(Entry),
}

impl<U> UploadOutcome<U> {
    pub fn map<V>(self, f: impl FnOnce(U) -> V) -> UploadOutcome<V> {
        match self {
            UploadOutcome::Uploaded(u) => UploadOutcome::Uploaded(f(u)),
            UploadOutcome::AlreadyUploaded(e) => UploadOutcome::AlreadyUploaded(e),
            UploadOutcome::Uncertain(e) => UploadOutcome::Uncertain(e),
        }
    }
}

/// An upload sent now and accepted: the parsed answer, ANAF's index and the journal row.
pub(crate) struct Sent<T> {
    pub answer: T,
    pub index: String,
    pub journal_id: i64,
}

/// Adds to an error what the journal now says about the attempt.
pub(crate) fn with_journal_note(e: Error, state: State) -> Error {
    let (ro, en) = match state {
        State::Unknown => (
            "Jurnalul de încărcări o păstrează ca „necunoscută”: o nouă încărcare a aceluiași fișier nu va fi trimisă automat (verificați lista de mesaje sau folosiți \"force\").",
            "The upload journal keeps it as \"unknown\": a new upload of the same file will not be sent automatically (check the message list or use \"force\").",
        ),
        _ => return e,
    };
    let d_ro = e.detail(Lang::Ro).unwrap_or_default();
    let d_en = e.detail(Lang::En).unwrap_or_default();
    Error::with(
        e.status,
        format!("{d_ro} {ro}").trim().to_string(),
        format!("{d_en} {en}").trim().to_string(),
    )
}

/// [`journal::begin`], except that an attempt of the same document still in flight (state
/// `sending`, started within the time an upload may take) is waited for, by any thread or
/// process: the double click on "send" then answers ALREADY_UPLOADED with ANAF's index, or
/// sends again if that attempt was refused. A `sending` row older than that is a crash's,
/// and stays uncertain.
fn begin_after_any_in_flight(
    s: &Session,
    key: &UploadKey,
    size: usize,
    force: bool,
) -> Result<Begin> {
    let budget = s.config.timeout + s.config.connect_timeout + Duration::from_secs(5);
    let give_up = Instant::now() + budget;
    loop {
        let b = journal::begin(&s.store, key, size, force, s.config.journal_sync_full)?;
        let Begin::Uncertain(e) = &b else {
            return Ok(b);
        };
        let started = chrono::DateTime::parse_from_rfc3339(&e.started_at)
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        let age = (chrono::Utc::now() - started).to_std().unwrap_or_default();
        if e.state() != State::Sending || age > budget {
            return Ok(b);
        }
        // Poll the row until that attempt ends, then decide again.
        loop {
            if Instant::now() >= give_up {
                return Ok(b);
            }
            std::thread::sleep(Duration::from_millis(50));
            match journal::get(&s.store, e.id)? {
                Some(now) if now.state() == State::Sending => continue,
                Some(now) if now.state() == State::Uploaded => {
                    return Ok(Begin::AlreadyUploaded(now))
                }
                Some(now) if now.state() == State::Unknown => return Ok(Begin::Uncertain(now)),
                // Refused, failed before ANAF, or the row is gone: try the begin again.
                _ => break,
            }
        }
    }
}

/// Sends an upload through the journal: records the attempt before sending (or returns
/// the earlier upload that blocks it), runs `before_send` (a quota check), sends `call`
/// and records how it ended. `parse` gives the typed answer, the index and the UIT.
pub(crate) fn journaled<T>(
    s: &Session,
    key: &UploadKey,
    size: usize,
    force: bool,
    before_send: impl FnOnce() -> Result<()>,
    call: &Call,
    parse: impl FnOnce(&Reply) -> Result<(T, String, Option<String>)>,
) -> Result<UploadOutcome<Sent<T>>> {
    let id = match begin_after_any_in_flight(s, key, size, force)? {
        Begin::Send(id) => id,
        Begin::AlreadyUploaded(e) => return Ok(UploadOutcome::AlreadyUploaded(e)),
        Begin::Uncertain(e) => return Ok(UploadOutcome::Uncertain(e)),
    };
    let (answer, index) = send_recorded(s, id, before_send, call, parse)?;
    Ok(UploadOutcome::Uploaded(Sent {
        answer,
        index,
        journal_id: id,
    }))
}

/// Sends an upload whose journal row `id` is already `sending`, and records how it ended:
/// the typed answer and ANAF's index, or the error (with what the journal now says).
pub(crate) fn send_recorded<T>(
    s: &Session,
    id: i64,
    before_send: impl FnOnce() -> Result<()>,
    call: &Call,
    parse: impl FnOnce(&Reply) -> Result<(T, String, Option<String>)>,
) -> Result<(T, String)> {
    let fail = |e: Error, state: State| -> Result<(T, String)> {
        journal::finish(&s.store, id, state, None, None, Some(&e.message(Lang::En)))?;
        Err(with_journal_note(pipeline::limits(e), state))
    };
    if let Err(e) = before_send() {
        return fail(e, State::Failed);
    }
    let reply = match pipeline::send(s, call) {
        Ok(r) => r,
        Err(f) => {
            let state = if f.maybe_received {
                State::Unknown
            } else {
                State::Failed
            };
            return fail(f.error, state);
        }
    };
    match parse(&reply) {
        Ok((answer, index, uit)) => {
            journal::finish(
                &s.store,
                id,
                State::Uploaded,
                Some(&index),
                uit.as_deref(),
                None,
            )?;
            Ok((answer, index))
        }
        // ANAF's own error list means nothing was registered; an answer that cannot be
        // read leaves the outcome unknown.
        Err(e) if e.status == ANAF_ERR_BAD_RESPONSE => fail(e, State::Unknown),
        Err(e) => fail(e, State::Rejected),
    }
}
