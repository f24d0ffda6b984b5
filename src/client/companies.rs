//! One certificate, many companies: which token row a handle's CIF uses, the ERP's
//! assignment of a CIF to a certificate's token, and what ANAF's answers say about it.
//!
//! A handle is opened for one CIF; the token it uses is the row `store::served` assigns to
//! that CIF. A login made for a CIF stores its pair in the row of its certificate (one row
//! per certificate, whichever company logged in first), so an accountant who logs in once
//! serves every firm her certificate is enrolled for. A CIF is served once the ERP says so
//! (`"token_for": "certificate"`, `anaf_token_assign`) or a login was made for it; ANAF's
//! answers then confirm it (an accepted call) or take it back ("Nu aveti drept in SPV pentru
//! CIF=…"). ANAF stays the judge: a refused CIF still calls with the token, so a right
//! granted later in SPV works without anything done here.

use super::Session;
use crate::error::{Error, Result};
use crate::status::*;
use crate::store::served::{By, Served};
use crate::store::Profile;
use crate::time::now;
use serde::Serialize;
use std::time::{Duration, Instant};

/// An accepted call is written down at most this often per handle (the first one at once).
const ACCEPTED_EVERY: Duration = Duration::from_secs(600);
/// Bodies longer than this are downloads, not ANAF's messages: not searched.
const MESSAGE_BODY_MAX: usize = 64 * 1024;

/// What a handle remembers between calls about its company's assignment.
#[derive(Default)]
pub struct Memo {
    /// An unassigned row of its own was assigned (or trying failed: a read-only database).
    adopted: bool,
    accepted_noted: Option<Instant>,
}

/// One company in `anaf_token_info`'s `cifs`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CifInfo {
    pub cif: String,
    /// The token may act for it: ANAF has not refused it since it was assigned.
    pub served: bool,
    /// `login`, `config`, `erp`, `row` (a row of its own) or `migration`.
    pub assigned_by: String,
    pub assigned_at: String,
    /// When ANAF last accepted a call for it with this token (RFC 3339, UTC).
    pub accepted_at: Option<String>,
    pub refused_at: Option<String>,
    /// ANAF's words when it refused, with the certificate's serial.
    pub status: Option<String>,
}

impl CifInfo {
    fn of(s: &Served) -> CifInfo {
        let t = crate::time::rfc3339;
        CifInfo {
            cif: s.cif.clone(),
            served: s.served(),
            assigned_by: s.assigned_by.clone(),
            assigned_at: t(s.assigned_at),
            accepted_at: s.accepted_at.map(t),
            refused_at: s.refused_at.map(t),
            status: s.refused_error.as_ref().map(|w| match &s.cert_serial {
                Some(serial) => format!("{w} (certificat / certificate {serial})"),
                None => w.clone(),
            }),
        }
    }
}

/// ANAF's words when a certificate has no SPV right for `cif` (or for any CIF), as found in
/// an answer's body (an XML attribute, a JSON string).
fn no_right_words(body: &[u8], cif: &str) -> Option<String> {
    // Every answer of an authorized call passes here: both texts name SPV, so a body that
    // does not is let go without a copy.
    if body.len() > MESSAGE_BODY_MAX || !body.windows(3).any(|w| w.eq_ignore_ascii_case(b"spv")) {
        return None;
    }
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    let for_cif = format!("cif={cif}");
    let at = ["nu aveti drept in spv", "nu exista niciun cif"]
        .iter()
        .filter_map(|p| lower.find(p))
        .min()?;
    let words: String = text[at..]
        .chars()
        .take_while(|c| !matches!(c, '"' | '<' | '\'' | '\n'))
        .take(300)
        .collect();
    let w = words.to_ascii_lowercase();
    // "... pentru CIF=<another>" is about another company (not this handle's).
    let about_us = !w.contains("cif=") || w.replace(' ', "").contains(&for_cif);
    about_us.then(|| words.trim().to_string())
}

impl Session {
    /// The key of this handle's company: its CIF, the OAuth application, the environment.
    pub fn own_profile(&self) -> Result<Profile> {
        let client_id = self.config.client_id.clone().ok_or_else(|| {
            Error::with(
                ANAF_ERR_INVALID_CONFIG,
                "Câmpul \"client_id\" lipsește; este necesar pentru token.",
                "Field \"client_id\" is missing; it is needed for the token.",
            )
        })?;
        Ok(Profile {
            cif: self.config.cif.clone(),
            client_id,
            environment: self.config.environment.as_str().to_string(),
        })
    }

    /// The key of the token row that serves this handle's company: the one assigned to it;
    /// with `"token_for": "certificate"` and none yet, the row of `cert_serial`'s token
    /// (assigned from now on); else the company's own row.
    pub fn profile(&self) -> Result<Profile> {
        let own = self.own_profile()?;
        let serving = self.store.serving(&own)?;
        let assigned = serving.is_some();
        if let Some(s) = serving.filter(|s| self.acceptable(s)) {
            return Ok(Profile {
                cif: s.token_cif,
                ..own
            });
        }
        if let Some(serial) = self.wanted_serial() {
            let found = self
                .store
                .token_of_serial(&own.client_id, &own.environment, serial)?;
            if let Some(p) = found {
                self.store
                    .serve(&own, &p.cif, Some(serial), By::Config, now())?;
                ::log::info!(target: "anaf::token", "CIF {} served by the token of certificate {serial} (row {})", own.cif, p.cif);
                return Ok(p);
            }
        }
        if !assigned {
            self.adopt_own_row(&own);
        }
        Ok(own)
    }

    /// The certificate whose token must serve this company (`"token_for": "certificate"`).
    pub(crate) fn wanted_serial(&self) -> Option<&str> {
        self.config
            .cert_serial
            .as_deref()
            .filter(|_| self.config.token_for_certificate)
    }

    /// Whether an assignment suits this handle: any does, unless the configuration names
    /// the certificate (then a login made for the company with another one does not).
    fn acceptable(&self, s: &Served) -> bool {
        match (self.wanted_serial(), &s.cert_serial) {
            (None, _) => true,
            (Some(want), Some(have)) => crate::config::same_serial(want, have),
            (Some(_), None) => false,
        }
    }

    /// A row of its own that nobody assigned (an older DLL's, or one the ERP wrote) is
    /// assigned to its CIF with its certificate, so that the one-SELECT path finds it. Tried once per handle;
    /// a database that cannot be written still works through the slower path.
    fn adopt_own_row(&self, own: &Profile) {
        let mut memo = self.companies.lock().unwrap_or_else(|p| p.into_inner());
        if memo.adopted {
            return;
        }
        memo.adopted = true;
        let adopted = self.store.token_row_serial(own).and_then(|row| {
            if let Some(serial) = &row {
                self.store
                    .serve(own, &own.cif, serial.as_deref(), By::Row, now())?;
            }
            Ok(row.is_some())
        });
        match adopted {
            Ok(true) => {
                ::log::info!(target: "anaf::token", "CIF {}: its own token row is now assigned to it", own.cif)
            }
            Ok(false) => {}
            Err(e) => {
                ::log::warn!(target: "anaf::token", "CIF {}: its own row could not be assigned: {e:?}", own.cif)
            }
        }
    }

    /// `anaf_token_assign`: this handle's CIF is served from now on by the token of the
    /// certificate `serial` (the configured `cert_serial` when `None`), obtained by a login
    /// made for any company. `ANAF_ERR_NO_TOKEN` when no such token is stored.
    pub fn assign_token(&self, serial: Option<&str>) -> Result<super::token::TokenInfo> {
        let own = self.own_profile()?;
        let serial = match serial.map(str::trim).filter(|s| !s.is_empty()) {
            // The serial is an argument here, not the configuration's.
            Some(raw) => crate::config::normalize_serial(raw).map_err(|mut e| {
                e.status = ANAF_ERR_INVALID_ARGUMENT;
                e
            })?,
            None => self.config.cert_serial.clone().ok_or_else(|| {
                Error::with(
                    ANAF_ERR_INVALID_ARGUMENT,
                    "Nu s-a dat seria certificatului, iar configurarea nu are \"cert_serial\".",
                    "No certificate serial was given, and the configuration has no \"cert_serial\".",
                )
            })?,
        };
        let Some(p) = self
            .store
            .token_of_serial(&own.client_id, &own.environment, &serial)?
        else {
            let environment = &own.environment;
            return Err(Error::with(
                ANAF_ERR_NO_TOKEN,
                format!("Nu există niciun token obținut cu certificatul {serial} (mediul {environment}). Autentificați-vă o dată cu acest certificat, pentru oricare dintre firmele lui."),
                format!("No token obtained with certificate {serial} is stored (environment {environment}). Log in once with this certificate, for any of its companies."),
            ));
        };
        self.store
            .serve(&own, &p.cif, Some(&serial), By::Erp, now())?;
        ::log::info!(target: "anaf::token", "CIF {} assigned to the token of certificate {serial} (row {})", own.cif, p.cif);
        self.token_info()
    }

    /// The companies the token of `p` serves, for `anaf_token_info`.
    pub(crate) fn cifs_of(&self, p: &Profile) -> Vec<CifInfo> {
        match self.store.served_by(p) {
            Ok(list) => list.iter().map(CifInfo::of).collect(),
            Err(e) => {
                ::log::warn!(target: "anaf::token", "the companies of the token could not be read: {e:?}");
                Vec::new()
            }
        }
    }

    /// What an answer of ANAF's API (2xx) says about this handle's company: the token's
    /// certificate has no SPV right for it, or — for a call that names the CIF — the
    /// token was accepted for it. Best effort: the answer itself goes on to its service.
    pub(crate) fn note_answer(&self, url: &url::Url, body: &[u8]) {
        let cif = self.config.cif.as_str();
        let names_cif = url
            .query_pairs()
            .any(|(k, v)| k.eq_ignore_ascii_case("cif") && v == cif)
            || url
                .path_segments()
                .is_some_and(|mut s| s.any(|seg| seg == cif));
        if !names_cif {
            return;
        }
        let refused = no_right_words(body, cif);
        if refused.is_none() {
            let mut memo = self.companies.lock().unwrap_or_else(|p| p.into_inner());
            if memo
                .accepted_noted
                .is_some_and(|at| at.elapsed() < ACCEPTED_EVERY)
            {
                return;
            }
            memo.accepted_noted = Some(Instant::now());
        }
        let noted = (|| -> Result<()> {
            let (own, p) = (self.own_profile()?, self.profile()?);
            match &refused {
                None => self.store.note_accepted(&own, &p.cif, None, now()),
                Some(words) => {
                    let serial = self.store.load(&p)?.and_then(|r| r.cert_serial);
                    ::log::warn!(target: "anaf::token", "CIF {}: ANAF refused the token of certificate {serial:?}: {words}", own.cif);
                    self.store
                        .note_refused(&own, &p.cif, serial.as_deref(), words, now())
                }
            }
        })();
        if let Err(e) = noted {
            ::log::warn!(target: "anaf::token", "what ANAF said about CIF {cif} could not be written: {e:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_anafs_words_about_this_company_only() {
        let xml = br#"<header ExecutionStatus="1"><Errors errorMessage="Nu aveti drept in SPV pentru CIF=1234"/></header>"#;
        assert_eq!(
            no_right_words(xml, "1234").as_deref(),
            Some("Nu aveti drept in SPV pentru CIF=1234")
        );
        assert_eq!(no_right_words(xml, "99"), None);
        let json =
            br#"{"eroare":"Nu exista niciun CIF pentru care sa aveti drept in SPV","titlu":"x"}"#;
        assert_eq!(
            no_right_words(json, "1234").as_deref(),
            Some("Nu exista niciun CIF pentru care sa aveti drept in SPV")
        );
        assert_eq!(no_right_words(br#"{"mesaje":[]}"#, "1234"), None);
        let big = vec![b'x'; MESSAGE_BODY_MAX + 1];
        assert_eq!(no_right_words(&big, "1234"), None);
    }
}
