//! The rows of `anaf_token` and the refresh lease that coordinates processes.
//!
//! Every write is one short write transaction; no lock is ever held while ANAF is being
//! called. The refresh protocol (see docs/token-table.md):
//! 1. [`Store::claim`]: under the row's write lock, if the row's `version` is still the one
//!    the caller saw and no live process holds the lease, write `lease_owner`,
//!    `lease_until` and `lease_refresh_hash` (the hash of the refresh token about to be
//!    spent), and commit.
//! 2. Call ANAF with that refresh token (no lock held). The row keeps the old pair, so a
//!    crash before ANAF answers leaves the table exactly as before.
//! 3. [`Store::finish`]: under the row's write lock, if the row still holds the spent
//!    refresh token, write the new pair, `previous_refresh_hash`, `version + 1`, clear the
//!    lease.
//!
//! Others that find the lease taken wait for `version` to change (or the lease to lapse).
//! The SQL is portable (no upsert, no engine-only functions): the decisions are made here.
//!
//! The tokens are sealed in the table (`seal`); the statements here move the stored text as
//! it is and compare refresh tokens by their hashes. Only the `Store` methods, at the edge,
//! seal what they write and open what they answer.
//!
//! Here: the rows and how they are read, and the plain reads and deletes. The lease
//! protocol is in `refresh`, the check of who holds a lease in `owner`, the writing of a
//! pair in `pair` and `login`, the update of rows written before sealing in `old_rows`.

mod login;
mod old_rows;
mod owner;
mod pair;
mod refresh;
#[cfg(test)]
pub(crate) mod tests;

pub(super) use old_rows::seal_old_rows;
pub(super) use owner::owner_may_be_alive;
pub use owner::process_owner;
pub use refresh::effective_margin;

use super::db::{args, Conn, DbResult, Row, Write};
use super::seal::{self, place};
use super::Store;
use crate::error::Result;
use once_cell::sync::Lazy;

/// The key of a row: one token per company, OAuth application and environment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Profile {
    pub cif: String,
    pub client_id: String,
    pub environment: String,
}

/// One row of `anaf_token`, its tokens opened. Times are seconds since 1970 UTC
/// (`lease_until`: milliseconds). Hashes are [`seal::hash`]es of refresh tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRow {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub access_expires_at: i64,
    pub refresh_expires_at: i64,
    pub cert_serial: Option<String>,
    pub obtained_at: i64,
    pub refreshed_at: Option<i64>,
    pub version: i64,
    /// The refresh token this pair replaced.
    pub previous_refresh_hash: Option<String>,
    pub refresh_refused_at: Option<i64>,
    pub refresh_error: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    /// The refresh token the lease holder is spending.
    pub lease_refresh_hash: Option<String>,
    /// This pair's refresh token (what the statements compare).
    pub refresh_hash: Option<String>,
}

/// A pair to store, from a login, an import or a refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub access_expires_at: i64,
    pub refresh_expires_at: i64,
    pub cert_serial: Option<String>,
}

/// The outcome of [`Store::claim`].
#[derive(Debug)]
pub enum Claim {
    /// The lease is ours: spend `row.refresh_token`. `interrupted` is set when we took over
    /// the lease of a process that died while spending this same refresh token.
    Claimed { row: TokenRow, interrupted: bool },
    /// The row changed since the caller looked (another refresh or login committed).
    Changed(TokenRow),
    /// Another live process or thread holds the lease until `until` (ms).
    Busy {
        row: TokenRow,
        owner: String,
        until: i64,
    },
    /// There is no row.
    Missing,
}

/// The outcome of [`Store::finish`].
#[derive(Debug)]
pub enum Finish {
    /// The new pair is stored.
    Committed(TokenRow),
    /// The row no longer holds the refresh token we spent (a new login or import replaced
    /// it meanwhile): ours was not written; here is the row as it is.
    Superseded(TokenRow),
    /// The row was deleted meanwhile (anaf_delete_token): nothing was written.
    Deleted,
}

const COLUMNS: &str = "access_token, refresh_token, token_type, access_expires_at, \
    refresh_expires_at, cert_serial, obtained_at, refreshed_at, version, \
    previous_refresh_hash, refresh_refused_at, refresh_error, lease_owner, lease_until, \
    lease_refresh_hash, refresh_hash";

/// A profile from the first three columns of a row (`cif, client_id, environment`).
pub(super) fn profile_of(r: &Row) -> DbResult<Profile> {
    Ok(Profile {
        cif: r.text(0)?,
        client_id: r.text(1)?,
        environment: r.text(2)?,
    })
}

/// The SELECT of a whole row.
pub static SELECT_ROW: Lazy<String> = Lazy::new(|| {
    format!("SELECT {COLUMNS} FROM anaf_token WHERE cif = ? AND client_id = ? AND environment = ?")
});

fn read_row(r: &Row) -> DbResult<TokenRow> {
    Ok(TokenRow {
        access_token: r.text(0)?,
        refresh_token: r.text(1)?,
        token_type: r.text(2)?,
        access_expires_at: r.int(3)?,
        refresh_expires_at: r.int(4)?,
        cert_serial: r.opt_text(5)?,
        obtained_at: r.int(6)?,
        refreshed_at: r.opt_int(7)?,
        version: r.int(8)?,
        previous_refresh_hash: r.opt_text(9)?,
        refresh_refused_at: r.opt_int(10)?,
        refresh_error: r.opt_text(11)?,
        lease_owner: r.opt_text(12)?,
        lease_until: r.opt_int(13)?,
        lease_refresh_hash: r.opt_text(14)?,
        refresh_hash: r.opt_text(15)?,
    })
}

/// The hash of a stored row's refresh token: its `refresh_hash`, or for a row written
/// before sealing (or by the ERP itself) the hash of the token it holds as it is.
fn refresh_hash_of(raw: &TokenRow) -> Option<String> {
    raw.refresh_hash
        .clone()
        .or_else(|| (!seal::is_sealed(&raw.refresh_token)).then(|| seal::hash(&raw.refresh_token)))
}
fn load_in(c: &mut dyn Conn, p: &Profile) -> DbResult<Option<TokenRow>> {
    c.query_row(&SELECT_ROW, args![&p.cif, &p.client_id, &p.environment])?
        .map(|r| read_row(&r))
        .transpose()
}

/// `Some(cert_serial)` of the profile's row, if it has one; a damaged serial reads as none.
fn serial_in(c: &mut dyn Conn, p: &Profile) -> DbResult<Option<Option<String>>> {
    Ok(c.query_row(
        "SELECT cert_serial FROM anaf_token WHERE cif = ? AND client_id = ? AND environment = ?",
        args![&p.cif, &p.client_id, &p.environment],
    )?
    .map(|r| r.opt_text(0).unwrap_or(None)))
}

/// The scope a write transaction serializes on for this profile's row (`Conn::serialize`;
/// on a server, the row of `anaf_lock` another program would hold to block the token).
pub fn lock_scope(p: &Profile) -> String {
    format!("token/{}/{}/{}", p.cif, p.client_id, p.environment)
}

/// Makes the rest of a write transaction exclusive for this profile's row.
pub(super) fn lock_in(c: &mut dyn Conn, p: &Profile) -> DbResult<()> {
    c.serialize(&lock_scope(p))
}
/// The fast path's SELECT: the access token of the row that serves a company, what decides
/// whether it may be handed out, and the row's CIF (its tokens are sealed under it).
const SELECT_FRESH: &str =
    "SELECT t.access_token, t.access_expires_at, t.refresh_expires_at, t.refreshed_at, \
     t.refresh_refused_at, t.cif, t.cert_serial FROM anaf_token_cif s JOIN anaf_token t \
     ON t.cif = s.token_cif AND t.client_id = s.client_id AND t.environment = s.environment \
     WHERE s.cif = ? AND s.client_id = ? AND s.environment = ?";

impl Store {
    /// The fast path of `access_token` for the company `cif`: the access token of the row
    /// that serves it if, at `now`, it has more than [`effective_margin`] left and the
    /// refresh token is neither expired nor refused; `None` otherwise (or when no assigned
    /// row, or a damaged one: the slow path says what is wrong). With `serial`, only a token
    /// of that certificate (the ERP said which one serves the company). One indexed SELECT.
    pub fn fresh_access_token(
        &self,
        cif: &str,
        client_id: &str,
        environment: &str,
        serial: Option<&str>,
        now: i64,
        margin: i64,
    ) -> Result<Option<String>> {
        let row = self.read(|c| c.query_row(SELECT_FRESH, args![cif, client_id, environment]))?;
        let Some(r) = row else { return Ok(None) };
        let fresh = || -> DbResult<Option<String>> {
            let access_expires_at = r.int(1)?;
            let usable = access_expires_at - now
                > effective_margin(access_expires_at, r.opt_int(3)?, margin)
                && r.int(2)? > now
                && r.opt_int(4)?.is_none();
            usable.then(|| r.text(0)).transpose()
        };
        let Some(stored) = fresh().unwrap_or(None) else {
            return Ok(None);
        };
        let Ok(token_cif) = r.text(5) else {
            return Ok(None);
        };
        if let Some(want) = serial {
            let of_it = r.opt_text(6).ok().flatten();
            if !of_it.is_some_and(|have| crate::config::same_serial(&have, want)) {
                return Ok(None);
            }
        }
        let at = seal::place_of("access_token", &token_cif, client_id, environment);
        let mut last = self.opened_access.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((place, text, token)) = last.as_ref() {
            if *place == at && *text == stored {
                return Ok(Some(token.to_string()));
            }
        }
        // A value that does not open goes to the slow path too, which says why.
        let Ok(token) = self.open_value(&stored, &at) else {
            return Ok(None);
        };
        let out = token.to_string();
        *last = Some((at, stored, token));
        Ok(Some(out))
    }

    /// `Some(serial)` when the profile has a row (nothing opened: no key needed).
    pub fn token_row_serial(&self, p: &Profile) -> Result<Option<Option<String>>> {
        self.read(|c| serial_in(c, p))
    }

    /// The row of a profile, if any.
    pub fn load(&self, p: &Profile) -> Result<Option<TokenRow>> {
        let raw = self.read(|c| load_in(c, p))?;
        raw.map(|r| self.opened(p, r)).transpose()
    }
    /// Deletes the row and answers it as it was (its refresh token is what a revoke
    /// needs; `Err` when it cannot be opened, after the row is gone).
    pub fn remove(&self, p: &Profile) -> Result<Option<TokenRow>> {
        let raw = self.write(Write::durable(), |c| remove_in(c, p))?;
        raw.map(|r| self.opened(p, r)).transpose()
    }

    /// Deletes the row; `true` if there was one (nothing to open: no key needed).
    pub fn delete(&self, p: &Profile) -> Result<bool> {
        Ok(self.write(Write::durable(), |c| remove_in(c, p))?.is_some())
    }
    /// A row as read, its tokens opened.
    fn opened(&self, p: &Profile, mut raw: TokenRow) -> Result<TokenRow> {
        raw.access_token = self
            .open_value(&raw.access_token, &place("access_token", p))?
            .to_string();
        raw.refresh_token = self
            .open_value(&raw.refresh_token, &place("refresh_token", p))?
            .to_string();
        if raw.refresh_hash.is_none() {
            raw.refresh_hash = Some(seal::hash(&raw.refresh_token));
        }
        Ok(raw)
    }
}
fn remove_in(c: &mut dyn Conn, p: &Profile) -> DbResult<Option<TokenRow>> {
    lock_in(c, p)?;
    let row = load_in(c, p)?;
    c.execute(
        "DELETE FROM anaf_token WHERE cif = ? AND client_id = ? AND environment = ?",
        args![&p.cif, &p.client_id, &p.environment],
    )?;
    Ok(row)
}
