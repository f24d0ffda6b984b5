//! Which token serves which company (`anaf_token_cif`).
//!
//! An ANAF token belongs to the certificate that logged in, and may act for every CIF that
//! certificate is enrolled for in SPV. A token row keeps the CIF of the login that created
//! it as its key (what older DLLs and the ERP's own readers of `anaf_token` look rows up
//! by); this table says which row serves each company: the CIF a login was made for, a CIF
//! the ERP assigned (configuration `"token_for": "certificate"` or `anaf_token_assign`),
//! and whether ANAF accepted or refused a call for it with that token. A refused CIF is not
//! served (the report view leaves it out) but keeps its row, so the ERP can show ANAF's
//! words and the certificate's serial.

use super::db::{args, Conn, DbResult, Row, Write};
use super::{Profile, Store};
use crate::error::Result;

/// One company and the token row that serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    pub cif: String,
    /// The `cif` of the `anaf_token` row that serves it.
    pub token_cif: String,
    /// The certificate of that token when it was assigned, accepted or refused.
    pub cert_serial: Option<String>,
    pub assigned_by: String,
    pub assigned_at: i64,
    /// When ANAF last accepted a call for this CIF with the token.
    pub accepted_at: Option<i64>,
    /// When ANAF said the certificate has no SPV right for this CIF; `refused_error` its words.
    pub refused_at: Option<i64>,
    pub refused_error: Option<String>,
}

impl Served {
    /// The token may act for this company (ANAF has not said otherwise since it was assigned).
    pub fn served(&self) -> bool {
        self.refused_at.is_none()
    }
}

/// Who said that a token serves a CIF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    /// A login (or an import) made for that CIF.
    Login,
    /// The configuration: `"token_for": "certificate"` with `cert_serial`.
    Config,
    /// The ERP's call `anaf_token_assign`.
    Erp,
    /// A token row of its own that nobody had assigned (written by an older DLL or the ERP).
    Row,
}

impl By {
    pub fn as_str(self) -> &'static str {
        match self {
            By::Login => "login",
            By::Config => "config",
            By::Erp => "erp",
            By::Row => "row",
        }
    }
}

/// Migration 7 -> 8 on a server: every token row serves its own CIF. Portable SQL (run
/// again by a second workstation, it adds nothing).
pub const MIGRATE_ROWS: &str = "INSERT INTO anaf_token_cif (cif, client_id, environment, \
     token_cif, cert_serial, assigned_by, assigned_at) \
     SELECT t.cif, t.client_id, t.environment, t.cif, t.cert_serial, 'migration', t.obtained_at \
     FROM anaf_token t WHERE NOT EXISTS (SELECT 1 FROM anaf_token_cif s \
     WHERE s.cif = t.cif AND s.client_id = t.client_id AND s.environment = t.environment)";

const SELECT: &str = "SELECT cif, token_cif, cert_serial, assigned_by, assigned_at, accepted_at, \
     refused_at, refused_error FROM anaf_token_cif";

fn read(r: &Row) -> DbResult<Served> {
    Ok(Served {
        cif: r.text(0)?,
        token_cif: r.text(1)?,
        cert_serial: r.opt_text(2)?,
        assigned_by: r.text(3)?,
        assigned_at: r.int(4)?,
        accepted_at: r.opt_int(5)?,
        refused_at: r.opt_int(6)?,
        refused_error: r.opt_text(7)?,
    })
}

fn lock_in(c: &mut dyn Conn, own: &Profile) -> DbResult<()> {
    c.serialize(&format!(
        "served/{}/{}/{}",
        own.cif, own.client_id, own.environment
    ))
}

/// Writes the assignment `s` of `own` (which has none yet).
fn insert_in(c: &mut dyn Conn, own: &Profile, s: &Served) -> DbResult<()> {
    c.execute(
        "INSERT INTO anaf_token_cif (cif, client_id, environment, token_cif, cert_serial,
             assigned_by, assigned_at, accepted_at, refused_at, refused_error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        args![
            &own.cif,
            &own.client_id,
            &own.environment,
            &s.token_cif,
            s.cert_serial.as_ref(),
            &s.assigned_by,
            s.assigned_at,
            s.accepted_at,
            s.refused_at,
            s.refused_error.as_ref()
        ],
    )
    .map(|_| ())
}

/// A new assignment of `own` to the row of `token_cif`, nothing said by ANAF yet.
fn assigned(own: &Profile, token_cif: &str, serial: Option<&str>, by: By, now: i64) -> Served {
    Served {
        cif: own.cif.clone(),
        token_cif: token_cif.to_string(),
        cert_serial: serial.map(str::to_string),
        assigned_by: by.as_str().to_string(),
        assigned_at: now,
        accepted_at: None,
        refused_at: None,
        refused_error: None,
    }
}

pub(super) fn serving_in(c: &mut dyn Conn, own: &Profile) -> DbResult<Option<Served>> {
    c.query_row(
        &format!("{SELECT} WHERE cif = ? AND client_id = ? AND environment = ?"),
        args![&own.cif, &own.client_id, &own.environment],
    )?
    .map(|r| read(&r))
    .transpose()
}

/// Assigns `own` to the token row of `token_cif`: ANAF's earlier refusal is forgotten (the
/// right may have been granted since), its acceptance kept when the token is the same.
pub(super) fn serve_in(
    c: &mut dyn Conn,
    own: &Profile,
    token_cif: &str,
    serial: Option<&str>,
    by: By,
    now: i64,
) -> DbResult<()> {
    lock_in(c, own)?;
    // accepted_at before token_cif: MySQL reads a SET's columns already updated.
    let updated = c.execute(
        "UPDATE anaf_token_cif SET
             accepted_at = CASE WHEN token_cif = ? THEN accepted_at ELSE NULL END,
             token_cif = ?, cert_serial = ?, assigned_by = ?, assigned_at = ?,
             refused_at = NULL, refused_error = NULL
         WHERE cif = ? AND client_id = ? AND environment = ?",
        args![
            token_cif,
            token_cif,
            serial,
            by.as_str(),
            now,
            &own.cif,
            &own.client_id,
            &own.environment
        ],
    )?;
    // MySQL counts changed rows, not matched ones: an assignment written again as it was
    // answers 0 too.
    if updated == 0 && serving_in(c, own)?.is_none() {
        insert_in(c, own, &assigned(own, token_cif, serial, by, now))?;
    }
    Ok(())
}

/// The token rows of a certificate, most recently renewed first.
pub(super) fn rows_of_serial_in(
    c: &mut dyn Conn,
    client_id: &str,
    environment: &str,
    serial: &str,
) -> DbResult<Vec<String>> {
    let rows = c.query(
        "SELECT cif, cert_serial, obtained_at, refreshed_at FROM anaf_token
          WHERE client_id = ? AND environment = ? AND cert_serial IS NOT NULL",
        args![client_id, environment],
    )?;
    let mut found = Vec::new();
    for r in &rows {
        if crate::config::same_serial(&r.text(1)?, serial) {
            let renewed = r.opt_int(3)?.unwrap_or(0).max(r.int(2)?);
            found.push((renewed, r.text(0)?));
        }
    }
    found.sort_by(|a, b| b.cmp(a));
    Ok(found.into_iter().map(|(_, cif)| cif).collect())
}

impl Store {
    /// Which token serves `own` (the handle's CIF), if any assignment is recorded.
    pub fn serving(&self, own: &Profile) -> Result<Option<Served>> {
        self.read(|c| serving_in(c, own))
    }

    /// The companies a token row serves (or served until ANAF refused), by CIF.
    pub fn served_by(&self, token: &Profile) -> Result<Vec<Served>> {
        self.read(|c| {
            c.query(
                &format!(
                    "{SELECT} WHERE token_cif = ? AND client_id = ? AND environment = ? ORDER BY cif"
                ),
                args![&token.cif, &token.client_id, &token.environment],
            )?
            .iter()
            .map(read)
            .collect()
        })
    }

    /// Records that the token row of `token_cif` serves `own`.
    pub fn serve(
        &self,
        own: &Profile,
        token_cif: &str,
        serial: Option<&str>,
        by: By,
        now: i64,
    ) -> Result<()> {
        self.write(Write::durable(), |c| {
            serve_in(c, own, token_cif, serial, by, now)
        })
    }

    /// The token row of the certificate `serial` (the most recently renewed one when older
    /// logins left several), as the profile that keys it.
    pub fn token_of_serial(
        &self,
        client_id: &str,
        environment: &str,
        serial: &str,
    ) -> Result<Option<Profile>> {
        let found = self.read(|c| rows_of_serial_in(c, client_id, environment, serial))?;
        Ok(found.into_iter().next().map(|cif| Profile {
            cif,
            client_id: client_id.to_string(),
            environment: environment.to_string(),
        }))
    }

    /// ANAF accepted a call for `own` made with the token of `token_cif`. Nothing changes
    /// when the company has meanwhile been assigned to another token.
    pub fn note_accepted(
        &self,
        own: &Profile,
        token_cif: &str,
        serial: Option<&str>,
        now: i64,
    ) -> Result<()> {
        self.write(Write::relaxed(), |c| {
            c.execute(
                "UPDATE anaf_token_cif SET accepted_at = ?, cert_serial = COALESCE(?, cert_serial),
                     refused_at = NULL, refused_error = NULL
                 WHERE cif = ? AND client_id = ? AND environment = ? AND token_cif = ?",
                args![
                    now,
                    serial,
                    &own.cif,
                    &own.client_id,
                    &own.environment,
                    token_cif
                ],
            )
            .map(|_| ())
        })
    }

    /// ANAF said the token's certificate has no SPV right for `own`: its words are kept and
    /// the company is no longer served (a row is written if none was).
    pub fn note_refused(
        &self,
        own: &Profile,
        token_cif: &str,
        serial: Option<&str>,
        words: &str,
        now: i64,
    ) -> Result<()> {
        self.write(Write::durable(), |c| {
            lock_in(c, own)?;
            let updated = c.execute(
                "UPDATE anaf_token_cif SET refused_at = ?, refused_error = ?,
                     cert_serial = COALESCE(?, cert_serial)
                 WHERE cif = ? AND client_id = ? AND environment = ? AND token_cif = ?",
                args![
                    now,
                    words,
                    serial,
                    &own.cif,
                    &own.client_id,
                    &own.environment,
                    token_cif
                ],
            )?;
            if updated == 0 && serving_in(c, own)?.is_none() {
                let s = Served {
                    refused_at: Some(now),
                    refused_error: Some(words.to_string()),
                    ..assigned(own, token_cif, serial, By::Row, now)
                };
                insert_in(c, own, &s)?;
            }
            Ok(())
        })
    }

    /// Every assignment, with the company's profile (a store moved to another).
    pub fn all_served(&self) -> Result<Vec<(Profile, Served)>> {
        self.read(|c| {
            c.query(
                "SELECT client_id, environment, cif, token_cif, cert_serial, assigned_by,
                        assigned_at, accepted_at, refused_at, refused_error
                   FROM anaf_token_cif ORDER BY cif, client_id, environment",
                &[],
            )?
            .iter()
            .map(|r| {
                let s = read(&Row(r.0[2..].to_vec()))?;
                let own = Profile {
                    cif: s.cif.clone(),
                    client_id: r.text(0)?,
                    environment: r.text(1)?,
                };
                Ok((own, s))
            })
            .collect()
        })
    }

    /// Takes an assignment moved from another store, unless this one has its own for the
    /// company; `true` if it was written.
    pub fn adopt_served(&self, own: &Profile, s: &Served) -> Result<bool> {
        self.write(Write::durable(), |c| {
            lock_in(c, own)?;
            if serving_in(c, own)?.is_some() {
                return Ok(false);
            }
            insert_in(c, own, s)?;
            Ok(true)
        })
    }

    /// Forgets which token serves `own`; `true` if an assignment was recorded.
    pub fn unserve(&self, own: &Profile) -> Result<bool> {
        self.write(Write::durable(), |c| {
            c.execute(
                "DELETE FROM anaf_token_cif WHERE cif = ? AND client_id = ? AND environment = ?",
                args![&own.cif, &own.client_id, &own.environment],
            )
            .map(|n| n > 0)
        })
    }
}
