//! e-Factura (FCTEL/rest, OAuth): upload with the duplicate journal, stareMesaj (and a
//! wait-until-final helper within the daily quota), the simple and the paginated message
//! lists, download. Answers are typed and parsed from ANAF's real formats; every error
//! keeps ANAF's own text.

use super::answer::{self, Reply};
use super::archive::Archive;
use super::retry::{self, Call, Payload, Retry};
use super::Session;
use crate::error::{Error, Result};
use crate::status::*;
use crate::store::journal::{self, Begin, Entry, State, UploadKey};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// ANAF's upload limit for e-Factura.
pub(crate) const MAX_UPLOAD: usize = 10 * 1024 * 1024;
/// Daily limits (limiteApeluriAPI.txt).
pub(crate) const DAILY_STATUS_PER_MESSAGE: u32 = 100;
pub(crate) const DAILY_DOWNLOADS_PER_MESSAGE: u32 = 10;
pub(crate) const DAILY_SIMPLE_LISTS_PER_CIF: u32 = 1500;
pub(crate) const DAILY_PAGED_LISTS_PER_CIF: u32 = 100_000;
pub(crate) const DAILY_RASP_UPLOADS_PER_CIF: u32 = 1000;
/// Status checks the wait helper leaves for the ERP's own checks of the day.
pub(crate) const STATUS_RESERVE: u32 = 10;

pub const NS_UPLOAD: &str = "mfp:anaf:dgti:spv:respUploadFisier:v1";
pub const NS_STATUS: &str = "mfp:anaf:dgti:efactura:stareMesajFactura:v1";

// ---------------------------------------------------------------------------------------
// Input checks, before anything goes on the network.

pub(crate) fn invalid(ro: impl AsRef<str>, en: impl AsRef<str>) -> Error {
    Error::with(ANAF_ERR_INVALID_ARGUMENT, ro.as_ref(), en.as_ref())
}

/// Reads a document from disk with a clear error (missing file, folder, permissions).
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::with(
            ANAF_ERR_FILE,
            format!("„{}”: {e}", path.display()),
            format!("\"{}\": {e}", path.display()),
        )
    })
}

/// Writes a file whole or not at all (a temporary beside it, then a rename).
pub fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    let r = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    r.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::with(
            ANAF_ERR_FILE,
            format!("„{}”: {e}", path.display()),
            format!("\"{}\": {e}", path.display()),
        )
    })
}

pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".{}.part", std::process::id()));
    path.with_file_name(name)
}

/// Checks size and well-formedness: one root element, matching tags, valid attributes.
pub fn check_xml(data: &[u8], max: usize) -> Result<()> {
    if data.len() > max {
        return Err(Error::with(
            ANAF_ERR_TOO_LARGE,
            format!(
                "Documentul are {} octeți; limita este {} MB.",
                data.len(),
                max / 1024 / 1024
            ),
            format!(
                "The document has {} bytes; the limit is {} MB.",
                data.len(),
                max / 1024 / 1024
            ),
        ));
    }
    let not_xml =
        |why: String| Error::with(ANAF_ERR_NOT_XML, format!("({why})"), format!("({why})"));
    if data.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(not_xml("document gol / empty document".into()));
    }
    // ANAF takes UTF-8 only; quick-xml reads bytes it does not decode, so bad sequences
    // (stray bytes, truncated or overlong forms) would reach ANAF and come back rejected.
    if let Err(e) = std::str::from_utf8(data) {
        return Err(not_xml(format!(
            "UTF-8 invalid la octetul {0} / invalid UTF-8 at byte {0}",
            e.valid_up_to()
        )));
    }
    // A slice reader borrows the events from `data`: no copy into a buffer.
    let mut reader = quick_xml::Reader::from_reader(data);
    reader.config_mut().check_end_names = true;
    let mut depth: usize = 0;
    let mut roots = 0;
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| not_xml(format!("{e} @ {pos}")))?;
        match ev {
            Event::Start(_) | Event::Empty(_) if depth == 0 && roots > 0 => {
                return Err(not_xml(format!(
                    "a doua rădăcină / a second root element @ {pos}"
                )));
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                for a in e.attributes() {
                    a.map_err(|err| not_xml(format!("{err} @ {pos}")))?;
                }
                if depth == 0 {
                    roots += 1;
                }
                if matches!(ev, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(ref t)
                if depth == 0
                    && !t.iter().all(|b| {
                        b.is_ascii_whitespace() || *b == 0xEF || *b == 0xBB || *b == 0xBF
                    }) =>
            {
                return Err(not_xml(format!(
                    "text în afara rădăcinii / text outside the root @ {pos}"
                )));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if roots == 0 {
        return Err(not_xml("niciun element / no element".into()));
    }
    if depth != 0 {
        return Err(not_xml("document trunchiat / truncated document".into()));
    }
    Ok(())
}

/// A CIF argument: digits only, no RO prefix, valid control digit.
pub fn check_cif(cif: &str) -> Result<String> {
    crate::config::normalize_cif(cif).map_err(|e| {
        Error::with(
            ANAF_ERR_INVALID_ARGUMENT,
            e.detail(crate::status::Lang::Ro)
                .unwrap_or_default()
                .to_string(),
            e.detail(crate::status::Lang::En)
                .unwrap_or_default()
                .to_string(),
        )
    })
}

/// An ANAF id (index de încărcare, id de descărcare): digits only.
pub fn check_id(id: &str, name: &str) -> Result<String> {
    let t = id.trim();
    if t.is_empty() || t.len() > 20 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            format!("„{name}” = „{t}” nu este un număr (doar cifre)."),
            format!("\"{name}\" = \"{t}\" is not a number (digits only)."),
        ));
    }
    Ok(t.to_string())
}

pub fn check_days(zile: i64) -> Result<u32> {
    if !(1..=60).contains(&zile) {
        return Err(invalid(
            format!("„zile” = {zile}: ANAF acceptă între 1 și 60 de zile."),
            format!("\"zile\" = {zile}: ANAF accepts 1 to 60 days."),
        ));
    }
    Ok(zile as u32)
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

// ---------------------------------------------------------------------------------------
// ANAF's XML answers.

/// The root of an upload or status answer: its attributes and its `Errors` messages.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct XmlHeader {
    pub namespace: String,
    pub attrs: BTreeMap<String, String>,
    pub errors: Vec<String>,
}

/// Parses `<header xmlns="…" attr…><Errors errorMessage="…"/>…</header>`, checking the
/// namespace so that another XML (or a proxy's page) is never taken for an answer.
pub fn parse_header(reply: &Reply, namespace: &str) -> Result<XmlHeader> {
    let bad = |why: &str| answer::bad_response("XML", reply, why);
    let body = reply
        .body
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&reply.body);
    let mut r = NsReader::from_reader(body);
    let mut buf = Vec::new();
    let mut out: Option<XmlHeader> = None;
    let mut depth = 0usize;
    loop {
        let (ns, ev) = r
            .read_resolved_event_into(&mut buf)
            .map_err(|e| bad(&e.to_string()))?;
        let ns_text = match ns {
            ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
            _ => String::new(),
        };
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let mut attrs = BTreeMap::new();
                for a in e.attributes() {
                    let a = a.map_err(|er| bad(&er.to_string()))?;
                    let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
                    let val = a
                        .normalized_value(quick_xml::XmlVersion::default())
                        .map_err(|er| bad(&er.to_string()))?
                        .into_owned();
                    attrs.insert(key, val);
                }
                if depth == 0 {
                    if local != "header" || ns_text != namespace {
                        return Err(bad(&format!(
                            "rădăcina este {{{ns_text}}}{local}, nu {{{namespace}}}header"
                        )));
                    }
                    out = Some(XmlHeader {
                        namespace: ns_text,
                        attrs,
                        errors: Vec::new(),
                    });
                } else if local == "Errors" {
                    if let (Some(h), Some(m)) = (out.as_mut(), attrs.get("errorMessage")) {
                        h.errors.push(m.clone());
                    }
                }
                if matches!(ev, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    out.ok_or_else(|| bad("fără element rădăcină / no root element"))
}

// ---------------------------------------------------------------------------------------
// Upload.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Standard {
    UBL,
    CN,
    CII,
    RASP,
}

impl Standard {
    pub fn parse(s: &str) -> Result<Standard> {
        match s.trim().to_ascii_uppercase().as_str() {
            "UBL" => Ok(Standard::UBL),
            "CN" => Ok(Standard::CN),
            "CII" => Ok(Standard::CII),
            "RASP" => Ok(Standard::RASP),
            _ => Err(invalid(
                format!("„standard” = „{s}”: valorile permise sunt UBL, CN, CII, RASP."),
                format!("\"standard\" = \"{s}\": allowed values are UBL, CN, CII, RASP."),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Standard::UBL => "UBL",
            Standard::CN => "CN",
            Standard::CII => "CII",
            Standard::RASP => "RASP",
        }
    }
}

/// What `upload` sends and how.
#[derive(Clone, Debug)]
pub struct UploadOptions {
    pub standard: Standard,
    /// The buyer is not Romanian (`extern=DA`).
    pub extern_: bool,
    /// Issued by the buyer on behalf of the seller (`autofactura=DA`).
    pub autofactura: bool,
    /// Filed by an enforcement body for the debtor (`executare=DA`).
    pub executare: bool,
    /// B2C invoice (`uploadb2c`).
    pub b2c: bool,
    /// Send even if the journal knows this document was (or may have been) uploaded.
    pub force: bool,
    /// The CIF of the call; the configured one when None.
    pub cif: Option<String>,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            standard: Standard::UBL,
            extern_: false,
            autofactura: false,
            executare: false,
            b2c: false,
            force: false,
            cif: None,
        }
    }
}

impl UploadOptions {
    fn flags(&self) -> String {
        let mut f = Vec::new();
        if self.extern_ {
            f.push("extern");
        }
        if self.autofactura {
            f.push("autofactura");
        }
        if self.executare {
            f.push("executare");
        }
        f.join(",")
    }
}

/// ANAF accepted the document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Uploaded {
    pub index_incarcare: String,
    #[serde(rename = "dateResponse")]
    pub date_response: Option<String>,
    pub sha256: String,
    pub journal_id: i64,
}

/// The outcome of an upload that did not fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadOutcome {
    /// Sent now and accepted.
    Uploaded(Uploaded),
    /// Not sent: the journal knows this document is already at ANAF.
    AlreadyUploaded(Entry),
    /// Not sent: an earlier attempt got no answer; ANAF may have it.
    Uncertain(Entry),
}

/// [`parse_upload`] in the shape the journal's send takes: (dateResponse, index, no UIT).
pub(crate) fn parse_upload_answer(r: &Reply) -> Result<(Option<String>, String, Option<String>)> {
    let (index, date) = parse_upload(r)?;
    Ok((date, index, None))
}

/// Parses an upload answer: the index when `ExecutionStatus="0"`, ANAF's messages otherwise.
pub fn parse_upload(reply: &Reply) -> Result<(String, Option<String>)> {
    let h = parse_header(reply, NS_UPLOAD)?;
    let status = h.attrs.get("ExecutionStatus").map(String::as_str);
    match (status, h.attrs.get("index_incarcare")) {
        (Some("0"), Some(idx)) if !idx.trim().is_empty() => {
            Ok((idx.trim().to_string(), h.attrs.get("dateResponse").cloned()))
        }
        (Some("0"), _) => Err(answer::bad_response(
            "index_incarcare",
            reply,
            "ExecutionStatus=0 fără index",
        )),
        _ if !h.errors.is_empty() => Err(answer::anaf_messages_error(&h.errors)),
        _ => Err(answer::bad_response(
            "ExecutionStatus",
            reply,
            "nici index, nici Errors",
        )),
    }
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

/// What an upload through the journal came to.
pub(crate) enum Journaled<T> {
    /// Sent now and accepted: the parsed answer and ANAF's index.
    Sent {
        answer: T,
        index: String,
        journal_id: i64,
    },
    Already(Entry),
    Uncertain(Entry),
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
) -> Result<Journaled<T>> {
    let id = match begin_after_any_in_flight(s, key, size, force)? {
        Begin::Send(id) => id,
        Begin::AlreadyUploaded(e) => return Ok(Journaled::Already(e)),
        Begin::Uncertain(e) => return Ok(Journaled::Uncertain(e)),
    };
    let (answer, index) = send_recorded(s, id, before_send, call, parse)?;
    Ok(Journaled::Sent {
        answer,
        index,
        journal_id: id,
    })
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
        Err(with_journal_note(retry::limits(e), state))
    };
    if let Err(e) = before_send() {
        return fail(e, State::Failed);
    }
    let reply = match retry::send(s, call) {
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

/// The e-Factura service of a session.
pub struct EFactura<'a> {
    s: &'a Session,
}

impl Session {
    pub fn efactura(&self) -> EFactura<'_> {
        EFactura { s: self }
    }
}

impl<'a> EFactura<'a> {
    fn base(&self) -> url::Url {
        self.s.config.api_base("FCTEL/rest")
    }

    fn cif(&self, over: Option<&str>) -> Result<String> {
        match over {
            Some(c) => check_cif(c),
            None => Ok(self.s.config.cif.clone()),
        }
    }

    /// Uploads an invoice (or a RASP message). Never sends the same document twice by
    /// accident: see the journal in `store::journal`.
    pub fn upload(&self, xml: &[u8], opts: &UploadOptions) -> Result<UploadOutcome> {
        let (key, call) = self.upload_request(xml, opts)?;
        let outcome = journaled(
            self.s,
            &key,
            xml.len(),
            opts.force,
            || self.before_upload(&key, opts),
            &call,
            parse_upload_answer,
        )?;
        Ok(match outcome {
            Journaled::Sent {
                answer,
                index,
                journal_id,
                ..
            } => UploadOutcome::Uploaded(Uploaded {
                index_incarcare: index,
                date_response: answer,
                sha256: key.sha256,
                journal_id,
            }),
            Journaled::Already(e) => UploadOutcome::AlreadyUploaded(e),
            Journaled::Uncertain(e) => UploadOutcome::Uncertain(e),
        })
    }

    /// The journal key of an upload and the request that sends it (the XML checked).
    pub(crate) fn upload_request(
        &self,
        xml: &[u8],
        opts: &UploadOptions,
    ) -> Result<(UploadKey, Call)> {
        let cif = self.cif(opts.cif.as_deref())?;
        check_xml(xml, MAX_UPLOAD)?;
        let key = UploadKey {
            cif: cif.clone(),
            environment: self.s.config.environment.as_str().to_string(),
            service: if opts.b2c { "efactura-b2c" } else { "efactura" }.to_string(),
            standard: opts.standard.as_str().to_string(),
            flags: opts.flags(),
            sha256: sha256_hex(xml),
        };
        let mut url = self
            .base()
            .join(if opts.b2c { "uploadb2c" } else { "upload" })
            .unwrap_or_else(|_| self.base());
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("standard", opts.standard.as_str());
            q.append_pair("cif", &cif);
            if opts.extern_ {
                q.append_pair("extern", "DA");
            }
            if opts.autofactura {
                q.append_pair("autofactura", "DA");
            }
            if opts.executare {
                q.append_pair("executare", "DA");
            }
        }
        let call = Call {
            method: Method::POST,
            url,
            payload: Payload::Bytes {
                data: xml.to_vec(),
                content_type: "text/plain",
            },
            auth: true,
            retry: Retry::OnlyIfNotSent,
            pace: None,
        };
        Ok((key, call))
    }

    /// What is checked just before an upload leaves: the daily quota of RASP messages.
    pub(crate) fn before_upload(&self, key: &UploadKey, opts: &UploadOptions) -> Result<()> {
        if opts.standard == Standard::RASP {
            journal::count_call(
                &self.s.store,
                "upload-rasp",
                &key.cif,
                DAILY_RASP_UPLOADS_PER_CIF,
            )?;
        }
        Ok(())
    }

    /// `stareMesaj`: the processing state of an upload. Counts against the daily quota
    /// of 100 checks per message.
    pub fn status(&self, id_incarcare: &str) -> Result<MessageState> {
        let id = check_id(id_incarcare, "id_incarcare")?;
        let key = format!("{}/{}", self.s.config.cif, id);
        journal::count_call(&self.s.store, "stareMesaj", &key, DAILY_STATUS_PER_MESSAGE)?;
        let mut url = self
            .base()
            .join("stareMesaj")
            .unwrap_or_else(|_| self.base());
        url.query_pairs_mut().append_pair("id_incarcare", &id);
        let reply = retry::fetch(self.s, &retry::get(url))?;
        let st = parse_status(&reply).map_err(retry::limits)?;
        let _ = journal::set_last_status(
            &self.s.store,
            &self.s.config.cif,
            "efactura",
            &id,
            &st.stare,
        );
        Ok(st)
    }

    /// Polls `stareMesaj` until the state is final, `timeout` passes, or polling further
    /// would leave fewer than [`STATUS_RESERVE`] of the day's checks for this message.
    /// The pause starts at `interval` and grows by half each time, up to 30 s.
    pub fn wait_final(
        &self,
        id_incarcare: &str,
        timeout: Duration,
        interval: Duration,
    ) -> Result<Waited> {
        let id = check_id(id_incarcare, "id_incarcare")?;
        let key = format!("{}/{}", self.s.config.cif, id);
        let start = Instant::now();
        let mut pause = interval.max(Duration::from_millis(10));
        let mut polls = 0u32;
        loop {
            let used = journal::calls_today(&self.s.store, "stareMesaj", &key)?;
            if used >= DAILY_STATUS_PER_MESSAGE.saturating_sub(STATUS_RESERVE) {
                return Ok(Waited {
                    state: None,
                    polls,
                    stopped_for_quota: true,
                    checks_today: used,
                });
            }
            let st = self.status(&id)?;
            polls += 1;
            if st.is_final() {
                let used = journal::calls_today(&self.s.store, "stareMesaj", &key)?;
                return Ok(Waited {
                    state: Some(st),
                    polls,
                    stopped_for_quota: false,
                    checks_today: used,
                });
            }
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                let used = journal::calls_today(&self.s.store, "stareMesaj", &key)?;
                return Ok(Waited {
                    state: Some(st),
                    polls,
                    stopped_for_quota: false,
                    checks_today: used,
                });
            }
            std::thread::sleep(pause.min(left));
            pause = (pause * 3 / 2).min(Duration::from_secs(30));
        }
    }

    /// `listaMesajeFactura`: the messages of the last `zile` days (1..60). "No messages" is
    /// an empty list. When ANAF says the list has more than 500 items, the paginated list
    /// over the same days is used instead.
    pub fn list(&self, zile: i64, filtru: Option<&str>) -> Result<MessageList> {
        let zile = check_days(zile)?;
        let filtru = check_filter(filtru)?;
        let cif = &self.s.config.cif;
        journal::count_call(&self.s.store, "lista", cif, DAILY_SIMPLE_LISTS_PER_CIF)?;
        let mut url = self
            .base()
            .join("listaMesajeFactura")
            .unwrap_or_else(|_| self.base());
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("zile", &zile.to_string());
            q.append_pair("cif", cif);
            if let Some(f) = filtru {
                q.append_pair("filtru", f);
            }
        }
        let reply = retry::fetch(self.s, &retry::get(url))?;
        match parse_list(&reply) {
            Err(e) if e.status == ANAF_ERR_REJECTED && is_too_many_text(&e) => {
                ::log::info!(target: "anaf::efactura", "list over 500 items: using the paginated list");
                let end = chrono::Utc::now().timestamp_millis() - 1000;
                let start = end - zile as i64 * 86_400_000 + 1000;
                let mut all = Vec::new();
                let pages = self.list_paged(start, end, filtru, |m| {
                    all.push(m);
                    Ok(())
                })?;
                Ok(MessageList {
                    mesaje: all,
                    serial: pages.serial,
                    cui: pages.cui,
                    titlu: pages.titlu,
                })
            }
            other => other.map_err(retry::limits),
        }
    }

    /// `listaMesajePaginatieFactura` over [start_ms, end_ms], every page in order, each
    /// message handed to `sink` once (a message that moves to the next page while paging
    /// is not repeated). An end in the future is brought back to now (ANAF refuses it).
    pub fn list_paged(
        &self,
        start_ms: i64,
        end_ms: i64,
        filtru: Option<&str>,
        mut sink: impl FnMut(Message) -> Result<()>,
    ) -> Result<Paged> {
        let filtru = check_filter(filtru)?;
        let now = chrono::Utc::now().timestamp_millis();
        let end = end_ms.min(now - 1000);
        if start_ms <= 0 || start_ms >= end {
            return Err(invalid(
                format!("Intervalul {start_ms}..{end_ms} (ms) nu este valid: începutul trebuie să fie înaintea sfârșitului și în trecut."),
                format!("The range {start_ms}..{end_ms} (ms) is not valid: the start must be before the end and in the past."),
            ));
        }
        if end - start_ms > 60 * 86_400_000 + 60_000 {
            return Err(invalid(
                "Intervalul depășește 60 de zile (limita ANAF).",
                "The range is longer than 60 days (ANAF's limit).",
            ));
        }
        let cif = &self.s.config.cif;
        let mut seen = HashSet::new();
        let mut out = Paged::default();
        let mut page = 1u32;
        loop {
            journal::count_call(
                &self.s.store,
                "lista-paginata",
                cif,
                DAILY_PAGED_LISTS_PER_CIF,
            )?;
            let mut url = self
                .base()
                .join("listaMesajePaginatieFactura")
                .unwrap_or_else(|_| self.base());
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("startTime", &start_ms.to_string());
                q.append_pair("endTime", &end.to_string());
                q.append_pair("cif", cif);
                q.append_pair("pagina", &page.to_string());
                if let Some(f) = filtru {
                    q.append_pair("filtru", f);
                }
            }
            let reply = retry::fetch(self.s, &retry::get(url))?;
            let p: PageAnswer = match parse_page(&reply).map_err(retry::limits)? {
                None => break,
                Some(p) => p,
            };
            out.pages = p.numar_total_pagini.unwrap_or(1).max(1);
            out.total = p.numar_total_inregistrari.unwrap_or(0);
            out.serial = p.serial;
            out.cui = p.cui;
            out.titlu = p.titlu;
            for m in p.mesaje {
                if seen.insert(m.id.clone()) {
                    out.count += 1;
                    sink(m)?;
                }
            }
            if page >= out.pages {
                break;
            }
            page += 1;
        }
        Ok(out)
    }

    /// `descarcare?id=`: the ZIP's bytes (counted against the 10 downloads a day).
    pub(crate) fn fetch_zip(&self, id: &str) -> Result<Reply> {
        let key = format!("{}/{}", self.s.config.cif, id);
        journal::count_call(
            &self.s.store,
            "descarcare",
            &key,
            DAILY_DOWNLOADS_PER_MESSAGE,
        )?;
        let mut url = self
            .base()
            .join("descarcare")
            .unwrap_or_else(|_| self.base());
        url.query_pairs_mut().append_pair("id", id);
        let reply = retry::fetch(self.s, &retry::get(url))?;
        if !reply.body.starts_with(b"PK\x03\x04") {
            let e = match answer::json_error_text(&reply.body) {
                Some(msg) => answer::anaf_messages_error(&[msg]),
                None => answer::bad_response("ZIP", &reply, "nu începe cu PK"),
            };
            return Err(retry::limits(e));
        }
        Ok(reply)
    }

    /// Settles an upload the journal holds as uncertain: looks among the invoices sent in
    /// the last `zile` days, created since the attempt, for one whose XML has the same
    /// SHA-256 (downloading at most [`RESOLVE_MAX_DOWNLOADS`] candidates, newest first).
    /// Found: the journal row becomes `uploaded` with that index, so the document is never
    /// sent again. Not found: the row stays as it is and the caller may upload with `force`.
    pub fn resolve(&self, journal_id: i64, zile: i64) -> Result<Resolved> {
        let mut r = self.resolve_many(&[journal_id], zile)?;
        Ok(r.remove(0))
    }

    /// [`EFactura::resolve`] for several rows at once (a batch cut short): one listing, and
    /// each candidate downloaded once for all of them (ANAF allows 10 downloads of a
    /// message a day), at most [`RESOLVE_MAX_DOWNLOADS`] a row.
    pub fn resolve_many(&self, journal_ids: &[i64], zile: i64) -> Result<Vec<Resolved>> {
        let zile = check_days(zile)?;
        let mut rows = Vec::with_capacity(journal_ids.len());
        for &journal_id in journal_ids {
            let entry = journal::get(&self.s.store, journal_id)?.ok_or_else(|| {
                invalid(
                    format!("Rândul {journal_id} nu există în jurnalul de încărcări."),
                    format!("Row {journal_id} is not in the upload journal."),
                )
            })?;
            if !entry.service.starts_with("efactura") || entry.cif != self.s.config.cif {
                return Err(invalid(
                    format!("Rândul {journal_id} nu este o factură a acestui CIF."),
                    format!("Row {journal_id} is not an invoice of this CIF."),
                ));
            }
            rows.push(Resolved {
                found: entry.state() == State::Uploaded,
                checked: 0,
                entry,
            });
        }
        let open: Vec<usize> = (0..rows.len())
            .filter(|&i| matches!(rows[i].entry.state(), State::Unknown | State::Sending))
            .collect();
        if open.is_empty() {
            return Ok(rows);
        }
        // From five minutes before the earliest attempt.
        let since = open
            .iter()
            .filter_map(|&i| chrono::DateTime::parse_from_rfc3339(&rows[i].entry.started_at).ok())
            .map(|t| t.with_timezone(&chrono::Utc) - chrono::Duration::minutes(5))
            .min()
            .unwrap_or_else(|| chrono::Utc::now() - chrono::Duration::days(zile as i64));
        let since = journal::romania_time(since)
            .format("%Y%m%d%H%M")
            .to_string();
        let mut candidates: Vec<Message> = self
            .list(zile as i64, Some("T"))?
            .mesaje
            .into_iter()
            .filter(|m| m.data_creare.as_str() >= since.as_str() && !m.id.is_empty())
            .collect();
        candidates.sort_by(|a, b| b.data_creare.cmp(&a.data_creare));
        let mut left = open.clone();
        let mut checked = 0;
        for m in candidates
            .into_iter()
            .take(RESOLVE_MAX_DOWNLOADS * open.len())
        {
            if left.is_empty() {
                break;
            }
            let reply = self.fetch_zip(&m.id)?;
            checked += 1;
            let mut zip = Archive::open(&reply)?;
            for e in 0..zip.zip.len() {
                let name = zip.entry(e)?.name().to_ascii_lowercase();
                if !name.ends_with(".xml") || name.contains("semnatura") {
                    continue;
                }
                let sha = sha256_hex(&zip.read(e)?);
                let Some(pos) = left.iter().position(|&i| rows[i].entry.sha256 == sha) else {
                    continue;
                };
                let i = left.remove(pos);
                let id = rows[i].entry.id;
                journal::finish(
                    &self.s.store,
                    id,
                    State::Uploaded,
                    Some(&m.id_solicitare),
                    None,
                    Some("found in the message list"),
                )?;
                if let Some(e) = journal::get(&self.s.store, id)? {
                    rows[i].entry = e;
                }
                rows[i].found = true;
            }
        }
        for &i in &open {
            rows[i].checked = checked;
        }
        Ok(rows)
    }

    /// `descarcare`: saves the ZIP at `zip_path`; with `extract`, also the invoice XML and
    /// ANAF's signature beside it, under the names they have in the ZIP.
    pub fn download(&self, id: &str, zip_path: &Path, extract: bool) -> Result<Downloaded> {
        let id = check_id(id, "id")?;
        if let Some(dir) = zip_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(Error::with(
                    ANAF_ERR_FILE,
                    format!("Folderul „{}” nu există.", dir.display()),
                    format!("The folder \"{}\" does not exist.", dir.display()),
                ));
            }
        }
        let reply = self.fetch_zip(&id)?;
        let mut archive = Archive::open(&reply)?;
        write_file(zip_path, &reply.body)?;
        let mut out = Downloaded {
            zip_path: zip_path.to_path_buf(),
            size: reply.body.len() as u64,
            xml_path: None,
            signature_path: None,
            entries: archive.zip.file_names().map(str::to_string).collect(),
        };
        out.entries.sort();
        if extract {
            let dir = zip_path.parent().unwrap_or(Path::new("")).to_path_buf();
            for i in 0..archive.zip.len() {
                // Only the bare file name: a name with folders or ".." never leaves `dir`.
                let Some(name) = archive
                    .entry(i)?
                    .enclosed_name()
                    .and_then(|p| p.file_name().map(|n| n.to_os_string()))
                else {
                    continue;
                };
                let lower = name.to_string_lossy().to_ascii_lowercase();
                if !lower.ends_with(".xml") {
                    continue;
                }
                let data = archive.read(i)?;
                let target = dir.join(&name);
                write_file(&target, &data)?;
                if lower.starts_with("semnatura") {
                    out.signature_path = Some(target);
                } else {
                    out.xml_path = Some(target);
                }
            }
        }
        Ok(out)
    }
}

fn is_too_many_text(e: &Error) -> bool {
    e.detail(Lang::Ro).is_some_and(|d| {
        d.contains("Folositi endpoint-ul cu paginatie")
            || d.contains("mai mare decat numarul de 500")
    })
}

pub fn check_filter(f: Option<&str>) -> Result<Option<&'static str>> {
    match f.map(|s| s.trim().to_ascii_uppercase()) {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => match s.as_str() {
            "E" => Ok(Some("E")),
            "T" => Ok(Some("T")),
            "P" => Ok(Some("P")),
            "R" => Ok(Some("R")),
            _ => Err(invalid(
                format!("„filtru” = „{s}”: valorile permise sunt E (erori), T (trimise), P (primite), R (mesaje cumpărător)."),
                format!("\"filtru\" = \"{s}\": allowed values are E (errors), T (sent), P (received), R (buyer messages)."),
            )),
        },
    }
}

// ---------------------------------------------------------------------------------------
// Status.

/// The answer of `stareMesaj`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageState {
    /// `ok`, `nok`, `in prelucrare`, `XML cu erori nepreluat de sistem`, as ANAF says it.
    pub stare: String,
    /// The download id (for the invoice on `ok`, for the error list on `nok`).
    pub id_descarcare: Option<String>,
    /// ANAF's own messages when the answer carries a state and errors together.
    pub errors: Vec<String>,
}

impl MessageState {
    /// No further change is coming.
    pub fn is_final(&self) -> bool {
        !self.is_pending()
    }

    pub fn is_pending(&self) -> bool {
        self.stare.trim().eq_ignore_ascii_case("in prelucrare")
    }

    pub fn is_ok(&self) -> bool {
        self.stare.trim().eq_ignore_ascii_case("ok")
    }
}

pub fn parse_status(reply: &Reply) -> Result<MessageState> {
    let h = parse_header(reply, NS_STATUS)?;
    match h.attrs.get("stare") {
        // A state and errors together ("nok" with ANAF's reasons): the state is the
        // answer, the errors go with it.
        Some(s) if !s.trim().is_empty() => Ok(MessageState {
            stare: s.trim().to_string(),
            id_descarcare: h.attrs.get("id_descarcare").cloned(),
            errors: h.errors,
        }),
        _ if !h.errors.is_empty() => Err(answer::anaf_messages_error(&h.errors)),
        _ => Err(answer::bad_response(
            "stare",
            reply,
            "lipsește atributul stare",
        )),
    }
}

/// What [`EFactura::wait_final`] saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Waited {
    /// The last state read (None when the quota stopped it before any check).
    pub state: Option<MessageState>,
    pub polls: u32,
    pub stopped_for_quota: bool,
    pub checks_today: u32,
}

// ---------------------------------------------------------------------------------------
// Lists.

/// One message of the lists, with ANAF's field names; unknown fields are kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    #[serde(default)]
    pub data_creare: String,
    #[serde(default)]
    pub cif: String,
    #[serde(default)]
    pub id_solicitare: String,
    #[serde(default)]
    pub detalii: String,
    #[serde(default)]
    pub tip: String,
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: String,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<String, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MessageList {
    pub mesaje: Vec<Message>,
    pub serial: Option<String>,
    pub cui: Option<String>,
    pub titlu: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ListAnswer {
    #[serde(default)]
    mesaje: Option<Vec<Message>>,
    eroare: Option<String>,
    serial: Option<String>,
    cui: Option<String>,
    titlu: Option<String>,
}

/// Parses the simple list: messages, or "Nu exista mesaje" (empty), or ANAF's error.
pub fn parse_list(reply: &Reply) -> Result<MessageList> {
    let a: ListAnswer = serde_json::from_value(answer::json(reply)?)
        .map_err(|e| answer::bad_response("lista de mesaje", reply, &e.to_string()))?;
    if let Some(err) = a.eroare {
        if answer::is_no_messages_text(&err) {
            return Ok(MessageList {
                mesaje: Vec::new(),
                serial: a.serial,
                cui: a.cui,
                titlu: Some(err),
            });
        }
        return Err(answer::anaf_messages_error(&[err]));
    }
    match a.mesaje {
        Some(m) => Ok(MessageList {
            mesaje: m,
            serial: a.serial,
            cui: a.cui,
            titlu: a.titlu,
        }),
        None => Err(answer::bad_response("mesaje", reply, "lipsește „mesaje”")),
    }
}

#[derive(Debug, Deserialize)]
pub struct PageAnswer {
    #[serde(default)]
    pub mesaje: Vec<Message>,
    pub eroare: Option<String>,
    pub numar_inregistrari_in_pagina: Option<u64>,
    pub numar_total_inregistrari_per_pagina: Option<u64>,
    pub numar_total_inregistrari: Option<u64>,
    pub numar_total_pagini: Option<u32>,
    pub index_pagina_curenta: Option<u32>,
    pub serial: Option<String>,
    pub cui: Option<String>,
    pub titlu: Option<String>,
}

/// Parses one page: `None` for "Nu exista mesaje in intervalul selectat".
pub fn parse_page(reply: &Reply) -> Result<Option<PageAnswer>> {
    let v = answer::json(reply)?;
    let p: PageAnswer = serde_json::from_value(v)
        .map_err(|e| answer::bad_response("pagina", reply, &e.to_string()))?;
    if let Some(err) = &p.eroare {
        if answer::is_no_messages_text(err) {
            return Ok(None);
        }
        return Err(answer::anaf_messages_error(std::slice::from_ref(err)));
    }
    if p.numar_total_pagini.is_none() && p.mesaje.is_empty() {
        return Err(answer::bad_response(
            "pagina",
            reply,
            "lipsesc mesaje și numar_total_pagini",
        ));
    }
    Ok(Some(p))
}

/// A summary of a paginated listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Paged {
    /// Messages handed over (each id once).
    pub count: u64,
    /// ANAF's total, as it said on the last page read.
    pub total: u64,
    pub pages: u32,
    pub serial: Option<String>,
    pub cui: Option<String>,
    pub titlu: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Download.

/// Downloads [`EFactura::resolve`] spends at most (each counts against the 10 a day of
/// its message).
pub(crate) const RESOLVE_MAX_DOWNLOADS: usize = 20;

/// What [`EFactura::resolve`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// The invoice is at ANAF (`entry.index_incarcare` is its index).
    pub found: bool,
    /// Messages downloaded to compare.
    pub checked: usize,
    pub entry: Entry,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Downloaded {
    pub zip_path: PathBuf,
    pub size: u64,
    pub xml_path: Option<PathBuf>,
    pub signature_path: Option<PathBuf>,
    pub entries: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(body: &str, ct: &str) -> Reply {
        Reply {
            status: 200,
            content_type: ct.into(),
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn upload_answers_from_the_swagger() {
        let ok = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<header xmlns=\"mfp:anaf:dgti:spv:respUploadFisier:v1\" dateResponse=\"202108051140\" ExecutionStatus=\"0\" index_incarcare=\"3828\"/>";
        assert_eq!(
            parse_upload(&reply(ok, "application/xml")).unwrap(),
            ("3828".to_string(), Some("202108051140".to_string()))
        );
        let rasp = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<header xmlns=\"mfp:anaf:dgti:spv:respUploadFisier:v1\" dateResponse=\"202401260957\" ExecutionStatus=\"1\">\r\n    <Errors errorMessage=\"S-au incarcat deja 1000 de mesaje de tip RASP pentru cui=1234 in cursul zilei\"/>\r\n</header>";
        let e = parse_upload(&reply(rasp, "application/xml")).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_QUOTA_EXCEEDED);
        assert!(e.message(Lang::Ro).contains("S-au incarcat deja 1000"));
        let bad = "<?xml version=\"1.0\"?><header xmlns=\"mfp:anaf:dgti:spv:respUploadFisier:v1\" ExecutionStatus=\"1\"><Errors errorMessage=\"Fisierul transmis nu este valid. org.xml.sax.SAXParseException; cvc-elt.1.a: Cannot find the declaration of element &apos;Invoice1&apos;. \"/></header>";
        let e = parse_upload(&reply(bad, "application/xml")).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_REJECTED);
        assert!(e.message(Lang::En).contains("'Invoice1'"), "{e:?}");
        let right = "<header xmlns=\"mfp:anaf:dgti:spv:respUploadFisier:v1\" ExecutionStatus=\"1\"><Errors errorMessage=\"Nu aveti drept in SPV pentru CIF=1234\"/></header>";
        assert_eq!(
            parse_upload(&reply(right, "")).unwrap_err().status,
            ANAF_ERR_UNAUTHORIZED
        );
        // A prefixed namespace is the same namespace.
        let pref = "<a:header xmlns:a=\"mfp:anaf:dgti:spv:respUploadFisier:v1\" ExecutionStatus=\"0\" index_incarcare=\"5\"/>";
        assert_eq!(parse_upload(&reply(pref, "")).unwrap().0, "5");
        // Another namespace is not an upload answer.
        let other = "<header xmlns=\"mfp:anaf:dgti:efactura:stareMesajFactura:v1\" stare=\"ok\"/>";
        assert_eq!(
            parse_upload(&reply(other, "")).unwrap_err().status,
            ANAF_ERR_BAD_RESPONSE
        );
        assert_eq!(
            parse_upload(&reply("{\"a\":1}", "")).unwrap_err().status,
            ANAF_ERR_BAD_RESPONSE
        );
    }

    #[test]
    fn status_answers_from_the_swagger() {
        let p = |s: &str| parse_status(&reply(s, "application/xml"));
        let ok = p("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<header xmlns=\"mfp:anaf:dgti:efactura:stareMesajFactura:v1\" stare=\"ok\" id_descarcare=\"1234\"/>").unwrap();
        assert!(ok.is_ok() && ok.is_final());
        assert_eq!(ok.id_descarcare.as_deref(), Some("1234"));
        let pending = p("<header xmlns=\"mfp:anaf:dgti:efactura:stareMesajFactura:v1\" stare=\"in prelucrare\"/>").unwrap();
        assert!(pending.is_pending());
        let xml_err = p("<header xmlns=\"mfp:anaf:dgti:efactura:stareMesajFactura:v1\" stare=\"XML cu erori nepreluat de sistem\"/>").unwrap();
        assert!(xml_err.is_final() && !xml_err.is_ok());
        let e = p("<header xmlns=\"mfp:anaf:dgti:efactura:stareMesajFactura:v1\">\n    <Errors errorMessage=\"S-au facut deja 20 descarcari de mesaj in cursul zilei\"/>\n</header>").unwrap_err();
        assert_eq!(e.status, ANAF_ERR_QUOTA_EXCEEDED);
        let e = p("<header xmlns=\"mfp:anaf:dgti:efactura:stareMesajFactura:v1\"><Errors errorMessage=\"Nu exista factura cu id_incarcare= 15000\"/></header>").unwrap_err();
        assert_eq!(e.status, ANAF_ERR_REJECTED);
        assert!(e.message(Lang::En).contains("id_incarcare= 15000"));
        // A state and ANAF's reasons together: the state is kept, with the reasons.
        let nok = p("<header xmlns=\"mfp:anaf:dgti:efactura:stareMesajFactura:v1\" stare=\"nok\" id_descarcare=\"77\"><Errors errorMessage=\"XML cu erori: BR-CO-15\"/></header>").unwrap();
        assert_eq!(
            (nok.stare.as_str(), nok.id_descarcare.as_deref()),
            ("nok", Some("77"))
        );
        assert_eq!(nok.errors, ["XML cu erori: BR-CO-15"]);
        assert!(nok.is_final() && !nok.is_ok());
    }

    #[test]
    fn lists_from_the_swagger() {
        let l = parse_list(&reply(r#"{"mesaje":[{"data_creare":"202211011415","cif":"8000000000","id_solicitare":"5001130147","detalii":"Erori de validare identificate la factura primita cu id_incarcare=5001130147","tip":"ERORI FACTURA","id":"3001293434"}],"serial":"1234AA456","cui":"8000000000","titlu":"Lista Mesaje disponibile din ultimele 1 zile"}"#, "application/json")).unwrap();
        assert_eq!(l.mesaje.len(), 1);
        assert_eq!(l.mesaje[0].id, "3001293434");
        assert_eq!(l.mesaje[0].tip, "ERORI FACTURA");
        let empty = parse_list(&reply(
            r#"{"eroare":"Nu exista mesaje in ultimele 15 zile","titlu":"Lista Mesaje"}"#,
            "",
        ))
        .unwrap();
        assert!(empty.mesaje.is_empty());
        let e = parse_list(&reply(r#"{"eroare":"S-au facut deja 1000 interogari de lista mesaje de catre utilizator in cursul zilei","titlu":"Lista Mesaje"}"#, "")).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_QUOTA_EXCEEDED);
        let e = parse_list(&reply(r#"{"eroare":"Lista de mesaje este mai mare decat numarul de 500 elemente permise in pagina. Folositi endpoint-ul cu paginatie.","titlu":"Lista Mesaje"}"#, "")).unwrap_err();
        assert!(is_too_many_text(&e));
        let p = parse_page(&reply(r#"{"mesaje":[{"data_creare":"202210311452","cif":"8000000000","id_solicitare":"5001120362","detalii":"x","tip":"ERORI FACTURA","id":3001474425}],"numar_inregistrari_in_pagina":1,"numar_total_inregistrari_per_pagina":500,"numar_total_inregistrari":14130,"numar_total_pagini":29,"index_pagina_curenta":29,"serial":"1234AA456","cui":"8000000000","titlu":"t"}"#, "")).unwrap().unwrap();
        assert_eq!(p.numar_total_pagini, Some(29));
        assert_eq!(p.mesaje[0].id, "3001474425");
        assert!(parse_page(&reply(
            r#"{"eroare":"Nu exista mesaje in intervalul selectat","titlu":"Lista Mesaje"}"#,
            ""
        ))
        .unwrap()
        .is_none());
    }

    #[test]
    fn input_checks() {
        assert!(check_xml(
            b"<?xml version=\"1.0\"?>\n<Invoice xmlns=\"a\"><b x=\"1\"/></Invoice>\n",
            MAX_UPLOAD
        )
        .is_ok());
        assert!(check_xml(b"\xEF\xBB\xBF<a/>", MAX_UPLOAD).is_ok());
        // Invalid UTF-8: a stray byte, a truncated sequence, an overlong form, a surrogate.
        for bad in [
            &b"<a>\xFF</a>"[..],
            b"<a>\xC8</a>",
            b"<a>\xC0\xAF</a>",
            b"<a>\xED\xA0\x80</a>",
            b"<a x=\"\xE2\x82\"/>",
        ] {
            let e = check_xml(bad, MAX_UPLOAD).unwrap_err();
            assert_eq!(e.status, ANAF_ERR_NOT_XML, "{bad:?}");
            assert!(
                e.message(Lang::En).contains("invalid UTF-8 at byte"),
                "{e:?}"
            );
        }
        assert!(check_xml("<a>ș</a>".as_bytes(), MAX_UPLOAD).is_ok());
        for bad in [
            &b""[..],
            b"   ",
            b"hello",
            b"<a><b></a>",
            b"<a>",
            b"<a/><b/>",
            b"<a x=1/>",
            b"{\"a\":1}",
            b"<a/>trailing",
        ] {
            let e = check_xml(bad, MAX_UPLOAD).unwrap_err();
            assert_eq!(
                e.status,
                ANAF_ERR_NOT_XML,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            check_xml(&[b' '; 11], 10).unwrap_err().status,
            ANAF_ERR_TOO_LARGE
        );
        assert_eq!(Standard::parse("ubl").unwrap(), Standard::UBL);
        assert_eq!(
            Standard::parse("XML").unwrap_err().status,
            ANAF_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            check_cif("RO14399840").unwrap_err().status,
            ANAF_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            check_cif("14399841").unwrap_err().status,
            ANAF_ERR_INVALID_ARGUMENT
        );
        assert_eq!(check_days(0).unwrap_err().status, ANAF_ERR_INVALID_ARGUMENT);
        assert_eq!(
            check_days(61).unwrap_err().status,
            ANAF_ERR_INVALID_ARGUMENT
        );
        assert_eq!(check_days(60).unwrap(), 60);
        assert_eq!(
            check_id("12a", "id").unwrap_err().status,
            ANAF_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            check_filter(Some("x")).unwrap_err().status,
            ANAF_ERR_INVALID_ARGUMENT
        );
        assert_eq!(check_filter(Some("e")).unwrap(), Some("E"));
    }
}
