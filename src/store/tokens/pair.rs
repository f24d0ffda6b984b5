//! A pair as it is written: sealed, and over the row's (by a login or a refresh).

use super::{NewTokens, Profile};
use crate::error::Result;
use crate::store::db::{Arg, Conn, DbResult};
use crate::store::seal::{self, place};
use crate::store::Store;

/// A pair as it is written: the tokens sealed (the access token readable when the ERP
/// opted in), the refresh token's hash.
pub(in crate::store) struct Sealed<'a> {
    t: &'a NewTokens,
    pub(in crate::store) access: String,
    pub(in crate::store) refresh: String,
    pub(in crate::store) refresh_hash: String,
}
impl Store {
    /// A pair as it is written (the store's key is needed: no token is written readable,
    /// except an access token the ERP opted in to read).
    pub(in crate::store) fn sealed<'a>(&self, p: &Profile, t: &'a NewTokens) -> Result<Sealed<'a>> {
        let s = self.sealer()?;
        Ok(Sealed {
            t,
            access: if s.share_access_token {
                t.access_token.clone()
            } else {
                s.seal(&t.access_token, &place("access_token", p))
            },
            refresh: s.seal(&t.refresh_token, &place("refresh_token", p)),
            refresh_hash: seal::hash(&t.refresh_token),
        })
    }
}

/// Where a new pair comes from: a login (or an import) starts a pair's life, a refresh
/// continues it (and keeps the serial when ANAF's answer names none).
pub(super) enum Source {
    Login,
    Refresh,
}

/// Writes a new pair over the row's, counting a version and clearing any refusal and lease;
/// the number of rows changed (0: no row).
pub(super) fn replace_pair_in(
    c: &mut dyn Conn,
    p: &Profile,
    t: &Sealed<'_>,
    now: i64,
    source: Source,
) -> DbResult<u64> {
    let (serial, times) = match source {
        Source::Login => ("?", "obtained_at = ?, refreshed_at = NULL"),
        Source::Refresh => ("COALESCE(?, cert_serial)", "refreshed_at = ?"),
    };
    // previous_refresh_hash is assigned before refresh_hash: MySQL reads the columns of a
    // SET left to right, already updated.
    let sql = format!(
        "UPDATE anaf_token SET previous_refresh_hash = refresh_hash,
             access_token = ?, refresh_token = ?, refresh_hash = ?, token_type = ?,
             access_expires_at = ?, refresh_expires_at = ?, cert_serial = {serial}, {times},
             version = version + 1, refresh_refused_at = NULL, refresh_error = NULL,
             lease_owner = NULL, lease_until = NULL, lease_refresh_hash = NULL
         WHERE cif = ? AND client_id = ? AND environment = ?"
    );
    c.execute(&sql, &pair_args(p, t, now))
}

/// The arguments of [`replace_pair_in`] and of the INSERT of a new row: the pair, the time,
/// the key.
pub(super) fn pair_args<'a>(p: &'a Profile, t: &'a Sealed<'_>, now: i64) -> [Arg<'a>; 11] {
    [
        Arg::from(&t.access),
        Arg::from(&t.refresh),
        Arg::from(&t.refresh_hash),
        Arg::from(&t.t.token_type),
        Arg::from(t.t.access_expires_at),
        Arg::from(t.t.refresh_expires_at),
        Arg::from(t.t.cert_serial.as_ref()),
        Arg::from(now),
        Arg::from(&p.cif),
        Arg::from(&p.client_id),
        Arg::from(&p.environment),
    ]
}
