//! Downloads: the ZIP of a message (`descarcare`), saved and unpacked, and the settling
//! of an uncertain upload by finding its document among the invoices sent.

use super::{EFactura, Message, DOWNLOAD};
use crate::client::answer::{self, Reply};
use crate::client::archive::Archive;
use crate::client::endpoint::message_key;
use crate::client::files::{sha256_hex, write_file};
use crate::client::input::{check_days, check_id, invalid, Filter};
use crate::client::pipeline;
use crate::error::{Error, Result};
use crate::status::*;
use crate::store::journal::{self, Entry, State};
use serde::Serialize;
use std::path::{Path, PathBuf};

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

impl EFactura<'_> {
    /// `descarcare?id=`: the ZIP's bytes (counted against the 10 downloads a day).
    pub(crate) fn fetch_zip(&self, id: &str) -> Result<Reply> {
        let reply = DOWNLOAD
            .request(self.s)?
            .query("id", id)
            .count_as(message_key(self.s, id))
            .fetch()?;
        if !reply.body.starts_with(b"PK\x03\x04") {
            let e = match answer::json_error_text(&reply.body) {
                Some(msg) => answer::anaf_messages_error(&[msg]),
                None => answer::bad_response("ZIP", &reply, "nu începe cu PK"),
            };
            return Err(pipeline::limits(e));
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
            let efactura = entry.service().is_some_and(|s| s.is_efactura());
            if !efactura || entry.cif != self.s.config.cif {
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
            .list(zile as i64, Some(Filter::Sent))?
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
                let dir = dir.display();
                return Err(Error::with(
                    ANAF_ERR_FILE,
                    format!("Folderul „{dir}” nu există."),
                    format!("The folder \"{dir}\" does not exist."),
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
