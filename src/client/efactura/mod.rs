//! e-Factura (FCTEL/rest, OAuth): upload with the duplicate journal, stareMesaj (and a
//! wait-until-final helper within the daily quota), the simple and the paginated message
//! lists, download. Answers are typed and parsed from ANAF's real formats (`answers`);
//! every error keeps ANAF's own text.

mod answers;
mod download;
mod paged_file;
#[cfg(test)]
mod tests;

pub use answers::*;
pub use download::{Downloaded, Resolved};

use super::endpoint::{message_key, Base, Endpoint, Quota};
use super::files::sha256_hex;
use super::input::{check_days, check_id, check_xml, cif_or, invalid, Filter};
use super::upload::{journaled, UploadOutcome};
use super::Session;
use crate::error::Result;
use crate::status::*;
use crate::store::journal::{self, Service, UploadKey};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// ANAF's upload limit for e-Factura.
pub(crate) const MAX_UPLOAD: usize = 10 * 1024 * 1024;
/// Status checks the wait helper leaves for the ERP's own checks of the day.
pub(crate) const STATUS_RESERVE: u32 = 10;

const FCTEL: Base = Base::Api("FCTEL/rest");

/// `upload`: an invoice, a credit note or a RASP message. Sent again only when nothing
/// reached ANAF.
pub const UPLOAD: Endpoint = Endpoint::post(FCTEL, "upload").sent_once();
/// `uploadb2c`: a B2C invoice.
pub const UPLOAD_B2C: Endpoint = Endpoint {
    path: "uploadb2c",
    ..UPLOAD
};
/// RASP messages a CIF may upload in a day (counted before they leave).
pub const RASP_UPLOADS: Quota = Quota {
    kind: "upload-rasp",
    per_day: 1000,
};
/// Status checks of a message a day.
pub const STATUS_CHECKS: Quota = Quota {
    kind: "stareMesaj",
    per_day: 100,
};
/// Pages of the paginated list a CIF may read in a day.
pub const LIST_PAGES: Quota = Quota {
    kind: "lista-paginata",
    per_day: 100_000,
};
/// `stareMesaj?id_incarcare=`.
pub const STATUS: Endpoint = Endpoint::get(FCTEL, "stareMesaj").counted(STATUS_CHECKS);
/// `listaMesajeFactura`: 1500 a CIF a day.
pub const LIST: Endpoint = Endpoint::get(FCTEL, "listaMesajeFactura").counted(Quota {
    kind: "lista",
    per_day: 1500,
});
/// `listaMesajePaginatieFactura`.
pub const LIST_PAGED: Endpoint =
    Endpoint::get(FCTEL, "listaMesajePaginatieFactura").counted(LIST_PAGES);
/// `descarcare?id=`: 10 downloads a message a day.
pub const DOWNLOAD: Endpoint = Endpoint::get(FCTEL, "descarcare").counted(Quota {
    kind: "descarcare",
    per_day: 10,
});

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
    /// Uploads an invoice (or a RASP message). Never sends the same document twice by
    /// accident: see the journal in `store::journal`.
    pub fn upload(&self, xml: &[u8], opts: &UploadOptions) -> Result<UploadOutcome<Uploaded>> {
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
        Ok(outcome.map(|sent| Uploaded {
            index_incarcare: sent.index,
            date_response: sent.answer,
            sha256: key.sha256,
            journal_id: sent.journal_id,
        }))
    }

    /// The journal key of an upload and the request that sends it (the XML checked).
    pub(crate) fn upload_request(
        &self,
        xml: &[u8],
        opts: &UploadOptions,
    ) -> Result<(UploadKey, super::pipeline::Call)> {
        let cif = cif_or(opts.cif.as_deref(), &self.s.config.cif)?;
        check_xml(xml, MAX_UPLOAD)?;
        let key = UploadKey {
            cif: cif.clone(),
            environment: self.s.config.environment.as_str().to_string(),
            service: if opts.b2c {
                Service::EFacturaB2c
            } else {
                Service::EFactura
            },
            standard: opts.standard.as_str().to_string(),
            flags: opts.flags(),
            sha256: sha256_hex(xml),
        };
        let endpoint = if opts.b2c { &UPLOAD_B2C } else { &UPLOAD };
        let call = endpoint
            .request(self.s)?
            .query("standard", opts.standard.as_str())
            .query("cif", &cif)
            .flag("extern", opts.extern_)
            .flag("autofactura", opts.autofactura)
            .flag("executare", opts.executare)
            .body(xml.to_vec(), "text/plain")
            .into_call();
        Ok((key, call))
    }

    /// What is checked just before an upload leaves: the daily quota of RASP messages.
    pub(crate) fn before_upload(&self, key: &UploadKey, opts: &UploadOptions) -> Result<()> {
        if opts.standard == Standard::RASP {
            RASP_UPLOADS.count(self.s, &key.cif)?;
        }
        Ok(())
    }

    /// `stareMesaj`: the processing state of an upload. Counts against the daily quota
    /// of 100 checks per message.
    pub fn status(&self, id_incarcare: &str) -> Result<MessageState> {
        let id = check_id(id_incarcare, "id_incarcare")?;
        let st = STATUS
            .request(self.s)?
            .query("id_incarcare", &id)
            .count_as(message_key(self.s, &id))
            .decode(parse_status)?;
        let _ = journal::set_last_status(
            &self.s.store,
            &self.s.config.cif,
            Service::EFactura,
            &id,
            st.stare.as_str(),
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
        let key = message_key(self.s, &id);
        let quota = STATUS_CHECKS;
        let start = Instant::now();
        let mut pause = interval.max(Duration::from_millis(10));
        let mut polls = 0u32;
        let mut state = None;
        let stopped_for_quota = loop {
            let used = quota.used(self.s, &key)?;
            if used >= quota.per_day.saturating_sub(STATUS_RESERVE) {
                break true;
            }
            let st = self.status(&id)?;
            polls += 1;
            let done = st.is_final();
            state = Some(st);
            let left = timeout.saturating_sub(start.elapsed());
            if done || left.is_zero() {
                break false;
            }
            std::thread::sleep(pause.min(left));
            pause = (pause * 3 / 2).min(Duration::from_secs(30));
        };
        Ok(Waited {
            state,
            polls,
            stopped_for_quota,
            checks_today: quota.used(self.s, &key)?,
        })
    }

    /// `listaMesajeFactura`: the messages of the last `zile` days (1..60). "No messages" is
    /// an empty list. When ANAF says the list has more than 500 items, the paginated list
    /// over the same days is used instead.
    pub fn list(&self, zile: i64, filtru: Option<Filter>) -> Result<MessageList> {
        let zile = check_days(zile)?;
        let mut r = LIST
            .request(self.s)?
            .query("zile", &zile.to_string())
            .query("cif", &self.s.config.cif);
        if let Some(f) = filtru {
            r = r.query("filtru", f.as_str());
        }
        match r.decode(parse_list) {
            Err(e) if e.status == ANAF_ERR_REJECTED && is_too_many_text(&e) => {
                ::log::info!(target: "anaf::efactura", "list over 500 items: using the paginated list");
                let end = crate::time::now_ms() - 1000;
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
            other => other,
        }
    }

    /// `listaMesajePaginatieFactura` over [start_ms, end_ms], every page in order, each
    /// message handed to `sink` once (a message that moves to the next page while paging
    /// is not repeated). An end in the future is brought back to now (ANAF refuses it).
    pub fn list_paged(
        &self,
        start_ms: i64,
        end_ms: i64,
        filtru: Option<Filter>,
        mut sink: impl FnMut(Message) -> Result<()>,
    ) -> Result<Paged> {
        let end = end_ms.min(crate::time::now_ms() - 1000);
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
        let mut seen = HashSet::new();
        let mut out = Paged::default();
        let mut page = 1u32;
        loop {
            let mut r = LIST_PAGED
                .request(self.s)?
                .query("startTime", &start_ms.to_string())
                .query("endTime", &end.to_string())
                .query("cif", &self.s.config.cif)
                .query("pagina", &page.to_string());
            if let Some(f) = filtru {
                r = r.query("filtru", f.as_str());
            }
            let Some(p) = r.decode(parse_page)? else {
                break;
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
}
