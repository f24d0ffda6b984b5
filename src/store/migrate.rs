//! Moving a store to another (the SQLite file of an ERP that now keeps the token on its
//! database server): the token rows, which companies each serves, and the upload journal
//! that protects against a second upload of the same invoice.
//!
//! Afterwards exactly one live copy of each refresh token exists. Per row: the refresh
//! lease is taken on the source (no refresh runs there meanwhile), the row is written to
//! the target, and the source row is marked moved — its refresh token refused for good
//! with a text naming where it went — which also releases the lease. A crash between the
//! second and third step leaves the source row leased until the lease lapses; running the
//! move again finishes it (the target keeps the row it already has, being as fresh).

use super::db::{args, Write};
use super::journal;
use super::tokens::{process_owner, Claim, TokenRow};
use super::{Profile, Store};
use crate::error::{Error, Result};
use crate::status::*;
use serde_json::{json, Value};

/// The start of `refresh_error` on a source row that was moved.
pub const MOVED: &str = "anaf-bridge: moved /";

/// How long the move holds a source row's lease.
const LEASE_MS: i64 = 120_000;

/// Moves every token row and journal entry of `from` into `to`. `to_label` names the target
/// in the moved rows (no password). Answers what was done, row by row.
pub fn migrate(from: &Store, to: &Store, to_label: &str, now: i64) -> Result<Value> {
    let owner = process_owner();
    let mut tokens = Vec::new();
    for p in from.profiles()? {
        let key = json!({"cif": p.cif, "client_id": p.client_id, "environment": p.environment});
        let row = match from.claim(&p, owner, None, now * 1000, LEASE_MS)? {
            Claim::Claimed {
                row,
                interrupted: false,
            } => row,
            Claim::Claimed {
                row,
                interrupted: true,
            } if moved(&row) => row,
            Claim::Claimed { .. } => {
                from.release(&p, owner)?;
                let cif = &p.cif;
                return Err(Error::with(
                    ANAF_ERR_DATABASE,
                    format!("Tokenul CIF {cif} are o reîmprospătare întreruptă: apelați întâi anaf_get_token cu configurația veche, apoi repetați mutarea."),
                    format!("The token of CIF {cif} has an interrupted refresh: call anaf_get_token with the old configuration first, then move again."),
                ));
            }
            Claim::Busy { owner: o, .. } => {
                let cif = &p.cif;
                return Err(Error::with(
                    ANAF_ERR_DATABASE_LOCKED,
                    format!("Tokenul CIF {cif} se reîmprospătează chiar acum ({o}); repetați mutarea peste un minut."),
                    format!("The token of CIF {cif} is being refreshed right now ({o}); move again in a minute."),
                ));
            }
            Claim::Changed(_) | Claim::Missing => continue,
        };
        if moved(&row) {
            from.release(&p, owner)?;
            tokens.push(json!({"profile": key, "outcome": "already_moved"}));
            continue;
        }
        let outcome = to.adopt(&p, &row)?;
        let text = format!("{MOVED} {to_label} — tokenul este acum în baza de date a ERP-ului; configurați \"odbc\" / the token now lives in the ERP's database; configure \"odbc\"");
        from.refuse(&p, owner, &row.refresh_token, &text, now)?;
        tokens.push(json!({"profile": key, "outcome": outcome}));
    }
    let served = from.all_served()?;
    let mut assigned = 0;
    for (own, s) in &served {
        assigned += usize::from(to.adopt_served(own, s)?);
    }
    let entries = journal::all(from)?;
    let copied = journal::copy_into(to, &entries)?;
    Ok(json!({
        "tokens": tokens,
        "served": {"read": served.len(), "copied": assigned},
        "journal": {"read": entries.len(), "copied": copied},
    }))
}

fn moved(row: &TokenRow) -> bool {
    row.refresh_refused_at.is_some()
        && row
            .refresh_error
            .as_deref()
            .is_some_and(|e| e.starts_with(MOVED))
}

impl Store {
    /// Every profile that has a row.
    pub fn profiles(&self) -> Result<Vec<Profile>> {
        self.read(|c| {
            c.query(
                "SELECT cif, client_id, environment FROM anaf_token ORDER BY cif, client_id, environment",
                &[],
            )?
            .iter()
            .map(super::tokens::profile_of)
            .collect()
        })
    }

    /// Takes a whole row moved from another store, unless the row here is at least as
    /// fresh (obtained or refreshed later): `"moved"` or `"kept_newer"`.
    fn adopt(&self, p: &Profile, row: &TokenRow) -> Result<&'static str> {
        let fresh = |r: &TokenRow| r.refreshed_at.unwrap_or(r.obtained_at).max(r.obtained_at);
        let pair = super::NewTokens {
            access_token: row.access_token.clone(),
            refresh_token: row.refresh_token.clone(),
            token_type: row.token_type.clone(),
            access_expires_at: row.access_expires_at,
            refresh_expires_at: row.refresh_expires_at,
            cert_serial: row.cert_serial.clone(),
        };
        // Sealed under this store's key (the target's configuration may have its own).
        let sealed = self.sealed(p, &pair)?;
        self.write(Write::durable(), |c| {
            super::tokens::lock_in(c, p)?;
            let here = c.query_row(
                "SELECT version, obtained_at, refreshed_at FROM anaf_token
                  WHERE cif = ? AND client_id = ? AND environment = ?",
                args![&p.cif, &p.client_id, &p.environment],
            )?;
            let cols = "access_token = ?, refresh_token = ?, refresh_hash = ?, token_type = ?,
                access_expires_at = ?,
                refresh_expires_at = ?, cert_serial = ?, obtained_at = ?, refreshed_at = ?,
                version = ?, refresh_refused_at = ?, refresh_error = ?, lease_owner = NULL,
                lease_until = NULL, lease_refresh_hash = NULL";
            let values = |version: i64| {
                args![
                    &sealed.access,
                    &sealed.refresh,
                    &sealed.refresh_hash,
                    &row.token_type,
                    row.access_expires_at,
                    row.refresh_expires_at,
                    row.cert_serial.as_ref(),
                    row.obtained_at,
                    row.refreshed_at,
                    version,
                    row.refresh_refused_at,
                    row.refresh_error.as_ref(),
                    &p.cif,
                    &p.client_id,
                    &p.environment
                ]
                .to_vec()
            };
            match here {
                Some(h) => {
                    let here_fresh = h.opt_int(2)?.unwrap_or(0).max(h.int(1)?);
                    if here_fresh >= fresh(row) {
                        return Ok("kept_newer");
                    }
                    let v = h.int(0)?.max(row.version) + 1;
                    c.execute(
                        &format!(
                            "UPDATE anaf_token SET {cols} WHERE cif = ? AND client_id = ? AND environment = ?"
                        ),
                        &values(v),
                    )?;
                }
                None => {
                    c.execute(
                        "INSERT INTO anaf_token (access_token, refresh_token, refresh_hash,
                             token_type, access_expires_at, refresh_expires_at, cert_serial,
                             obtained_at, refreshed_at, version, refresh_refused_at,
                             refresh_error, cif, client_id, environment)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &values(row.version),
                    )?;
                }
            }
            Ok("moved")
        })
    }
}
