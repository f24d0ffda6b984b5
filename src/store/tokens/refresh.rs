//! The refresh lease (the protocol in the module's documentation): claim it, store the
//! pair ANAF answered, record a refusal, give it back.

use super::owner::owner_may_be_alive;
use super::pair::{replace_pair_in, Source};
use super::{load_in, lock_in, refresh_hash_of, Claim, Finish, NewTokens, Profile, TokenRow};
use crate::error::Result;
use crate::store::db::{args, Conn, DbResult, Write};
use crate::store::seal;
use crate::store::Store;

/// The margin a row is refreshed at: the configured one, except for a pair that came from
/// a refresh and lives less than that: then half its lifetime, so that short-lived tokens
/// (ANAF's older documents say one hour) do not make every call refresh again.
pub fn effective_margin(
    row_access_expires_at: i64,
    row_refreshed_at: Option<i64>,
    margin: i64,
) -> i64 {
    match row_refreshed_at {
        Some(r) => margin.min((row_access_expires_at - r) / 2),
        None => margin,
    }
}
impl Store {
    /// Tries to take the refresh lease (step 1 of the protocol). `seen_version` is the
    /// version the caller based its decision on; `None` accepts any version (forced refresh).
    pub fn claim(
        &self,
        p: &Profile,
        owner: &str,
        seen_version: Option<i64>,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Claim> {
        let claim = self.write(Write::durable(), |c| {
            claim_in(c, p, owner, seen_version, now_ms, ttl_ms)
        })?;
        Ok(match claim {
            Claim::Claimed { row, interrupted } => Claim::Claimed {
                row: self.opened(p, row)?,
                interrupted,
            },
            Claim::Changed(row) => Claim::Changed(self.opened(p, row)?),
            Claim::Busy { row, owner, until } => Claim::Busy {
                row: self.opened(p, row)?,
                owner,
                until,
            },
            Claim::Missing => Claim::Missing,
        })
    }

    /// Stores the pair ANAF returned for `spent` (step 3), if the row still holds `spent`.
    pub fn finish(
        &self,
        p: &Profile,
        owner: &str,
        spent: &str,
        t: &NewTokens,
        now: i64,
    ) -> Result<Finish> {
        self.finish_within(self.busy_timeout(), p, owner, spent, t, now)
    }

    /// As [`Store::finish`], waiting at most `busy` for another program's lock (a first,
    /// short attempt before the pair is put in the rescue file).
    pub fn finish_within(
        &self,
        busy: std::time::Duration,
        p: &Profile,
        owner: &str,
        spent: &str,
        t: &NewTokens,
        now: i64,
    ) -> Result<Finish> {
        self.finish_hashed(busy, p, Some(owner), &seal::hash(spent), t, now)
    }

    /// Commits a pair found in a rescue file if the row still holds the refresh token
    /// spent for it; `false` when the row holds another (or there is none).
    pub fn commit_rescued(
        &self,
        p: &Profile,
        spent_hash: &str,
        t: &NewTokens,
        now: i64,
    ) -> Result<bool> {
        let fin = self.finish_hashed(self.busy_timeout(), p, None, spent_hash, t, now)?;
        Ok(matches!(fin, Finish::Committed(_)))
    }

    fn finish_hashed(
        &self,
        busy: std::time::Duration,
        p: &Profile,
        owner: Option<&str>,
        spent_hash: &str,
        t: &NewTokens,
        now: i64,
    ) -> Result<Finish> {
        let sealed = self.sealed(p, t)?;
        let fin = self.write(Write::within(busy), |c| {
            lock_in(c, p)?;
            let Some(row) = load_in(c, p)? else {
                return Ok(Finish::Deleted);
            };
            if refresh_hash_of(&row).as_deref() != Some(spent_hash) {
                if let Some(owner) = owner {
                    release_in(c, p, owner)?;
                }
                return Ok(Finish::Superseded(load_in(c, p)?.unwrap_or(row)));
            }
            replace_pair_in(c, p, &sealed, now, Source::Refresh)?;
            Ok(Finish::Committed(load_in(c, p)?.expect("row just updated")))
        })?;
        Ok(match fin {
            Finish::Committed(row) => Finish::Committed(self.opened(p, row)?),
            Finish::Superseded(row) => Finish::Superseded(self.opened(p, row)?),
            Finish::Deleted => Finish::Deleted,
        })
    }

    /// Records that ANAF refused `spent` for good (invalid_grant): the row keeps its tokens
    /// (the access token may still work for a while) but is marked as needing a new login,
    /// so no process spends the dead refresh token again. Releases our lease.
    pub fn refuse(
        &self,
        p: &Profile,
        owner: &str,
        spent: &str,
        why: &str,
        now: i64,
    ) -> Result<Option<TokenRow>> {
        let spent = seal::hash(spent);
        let raw = self.write(Write::durable(), |c| {
            lock_in(c, p)?;
            let holds_spent =
                load_in(c, p)?.and_then(|r| refresh_hash_of(&r)).as_deref() == Some(&spent);
            if holds_spent {
                c.execute(
                    "UPDATE anaf_token SET refresh_refused_at = ?, refresh_error = ?
                     WHERE cif = ? AND client_id = ? AND environment = ?",
                    args![now, why, &p.cif, &p.client_id, &p.environment],
                )?;
            }
            release_in(c, p, owner)?;
            load_in(c, p)
        })?;
        raw.map(|r| self.opened(p, r)).transpose()
    }

    /// Gives the lease back without changing the tokens (the refresh failed transiently).
    pub fn release(&self, p: &Profile, owner: &str) -> Result<()> {
        self.write(Write::durable(), |c| release_in(c, p, owner).map(|_| ()))
    }
}

fn release_in(c: &mut dyn Conn, p: &Profile, owner: &str) -> DbResult<u64> {
    c.execute(
        "UPDATE anaf_token SET lease_owner = NULL, lease_until = NULL, lease_refresh_hash = NULL
         WHERE cif = ? AND client_id = ? AND environment = ? AND lease_owner = ?",
        args![&p.cif, &p.client_id, &p.environment, owner],
    )
}

fn claim_in(
    c: &mut dyn Conn,
    p: &Profile,
    owner: &str,
    seen_version: Option<i64>,
    now_ms: i64,
    ttl_ms: i64,
) -> DbResult<Claim> {
    lock_in(c, p)?;
    let Some(row) = load_in(c, p)? else {
        return Ok(Claim::Missing);
    };
    if let Some(v) = seen_version {
        if row.version != v {
            return Ok(Claim::Changed(row));
        }
    }
    let current = refresh_hash_of(&row);
    let mut interrupted = false;
    if let (Some(o), Some(until)) = (&row.lease_owner, row.lease_until) {
        let live = until > now_ms && o != owner && owner_may_be_alive(o);
        if live {
            return Ok(Claim::Busy {
                owner: o.clone(),
                until,
                row,
            });
        }
        // A lapsed or dead lease: its holder may have spent this very refresh token.
        interrupted = current.is_some() && row.lease_refresh_hash == current;
        ::log::warn!(
            target: "anaf::store",
            "taking over the refresh lease of {o} (until {until}, now {now_ms}; refresh token in flight: {interrupted})"
        );
    }
    c.execute(
        "UPDATE anaf_token SET lease_owner = ?, lease_until = ?, lease_refresh_hash = ?
         WHERE cif = ? AND client_id = ? AND environment = ?",
        args![
            owner,
            now_ms + ttl_ms,
            current.as_ref(),
            &p.cif,
            &p.client_id,
            &p.environment
        ],
    )?;
    let row = load_in(c, p)?.expect("row just updated");
    Ok(Claim::Claimed { row, interrupted })
}
