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

use super::db::{args, Arg, Conn, DbResult, Row, Write};
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

/// A pair as it is written: the tokens sealed (the access token readable when the ERP
/// opted in), the refresh token's hash.
pub(super) struct Sealed<'a> {
    t: &'a NewTokens,
    pub(super) access: String,
    pub(super) refresh: String,
    pub(super) refresh_hash: String,
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

/// This process's identity in `lease_owner`: `host/pid/nonce`.
pub fn process_owner() -> &'static str {
    static OWNER: Lazy<String> = Lazy::new(|| {
        use rand::Rng;
        let nonce: u64 = rand::thread_rng().gen();
        format!("{}/{}/{nonce:016x}", host_name(), std::process::id())
    });
    &OWNER
}

fn host_name() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is writable for its whole length; gethostname NUL-terminates
        // on success (we also stop at the buffer end).
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).replace('/', "_");
        }
        "unknown".into()
    }
    #[cfg(not(unix))]
    {
        std::env::var("COMPUTERNAME")
            .unwrap_or_else(|_| "unknown".into())
            .replace('/', "_")
    }
}

/// Whether the holder of a lease may still be working. Only a process on this host can be
/// checked; a lease of this very process is stale by construction (the caller holds the
/// process-wide refresh lock for the profile, so no other thread of ours is refreshing).
pub(super) fn owner_may_be_alive(owner: &str) -> bool {
    let mine = process_owner();
    if owner == mine {
        return false;
    }
    let mut parts = owner.splitn(3, '/');
    let (host, pid) = match (parts.next(), parts.next()) {
        (Some(h), Some(p)) => (h, p.parse::<u32>().ok()),
        _ => return true,
    };
    let my_host = mine.split('/').next().unwrap_or_default();
    if host != my_host {
        return true;
    }
    match pid {
        Some(pid) if pid == std::process::id() => false,
        Some(pid) => pid_alive(pid),
        None => true,
    }
}

#[cfg(unix)]
fn pid_alive(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return true;
    }
    // SAFETY: signal 0 only checks for existence and permission; it sends nothing.
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    let exists = rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    // A process that ended but that its parent has not reaped yet (a zombie) still
    // answers signal 0, and will never finish its refresh.
    exists && !zombie(pid)
}

/// Linux: the state field of /proc/<pid>/stat is `Z` (after the command, which is in
/// parentheses and may itself hold spaces or parentheses).
#[cfg(unix)]
fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|st| {
            st.rfind(')')
                .map(|i| st[i + 1..].trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

#[cfg(windows)]
fn pid_alive(pid: u32) -> bool {
    use windows::Win32::Foundation::{CloseHandle, STILL_ACTIVE};
    use windows::Win32::System::Threading::{
        GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
    };
    // SAFETY: OpenProcess only queries; the handle is closed before returning and
    // `code` is a valid place for the exit code.
    unsafe {
        match OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, false, pid) {
            Ok(h) => {
                let mut code = 0u32;
                let r = GetExitCodeProcess(h, &mut code);
                let _ = CloseHandle(h);
                r.is_err() || code == STILL_ACTIVE.0 as u32
            }
            // ERROR_INVALID_PARAMETER: no such process. Anything else (access denied for
            // another user's process on a terminal server): assume alive, the lease lapses
            // by its time limit.
            Err(e) => e.code().0 as u32 != 0x8007_0057,
        }
    }
}

#[cfg(not(any(unix, windows)))]
fn pid_alive(_pid: u32) -> bool {
    // Not checked on this platform: the lease lapses by its time limit.
    true
}

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

    /// Stores a pair from a new login or an import in the row of `p`, which then serves its
    /// own CIF: replaces the tokens, counts a new version, clears any refusal and lease (a
    /// refresh still in flight elsewhere will find its refresh token gone and discard its
    /// answer). The replaced refresh token's hash is kept in `previous_refresh_hash`.
    pub fn put(&self, p: &Profile, t: &NewTokens, now: i64) -> Result<TokenRow> {
        self.put_into(p, p, &[], t, now)
    }

    /// Stores the pair of a login made for the company `own`, in the row of the login's
    /// certificate: the row that already holds a token of that serial (so that one login
    /// and one refresh serve every company the certificate acts for), else `own`'s. The
    /// companies the certificate's older rows served move to it. Answers the row's profile.
    pub fn put_login(&self, own: &Profile, t: &NewTokens, now: i64) -> Result<(Profile, TokenRow)> {
        let (target, others) = match t.cert_serial.as_deref() {
            None => (own.clone(), vec![]),
            Some(serial) => {
                let rows = self.read(|c| {
                    super::served::rows_of_serial_in(c, &own.client_id, &own.environment, serial)
                })?;
                let serving = self.serving(own)?.map(|s| s.token_cif);
                let chosen = if rows.contains(&own.cif) || rows.is_empty() {
                    own.cif.clone()
                } else {
                    serving
                        .filter(|c| rows.contains(c))
                        .unwrap_or_else(|| rows[0].clone())
                };
                let others = rows.into_iter().filter(|c| *c != chosen).collect();
                let target = Profile {
                    cif: chosen,
                    ..own.clone()
                };
                (target, others)
            }
        };
        let row = self.put_into(&target, own, &others, t, now)?;
        Ok((target, row))
    }

    /// The write of [`Store::put`] and [`Store::put_login`]: the pair into `p`'s row, `own`
    /// served by it, the companies of the rows `others` moved to it.
    fn put_into(
        &self,
        p: &Profile,
        own: &Profile,
        others: &[String],
        t: &NewTokens,
        now: i64,
    ) -> Result<TokenRow> {
        let sealed = self.sealed(p, t)?;
        let raw = self.write(Write::durable(), |c| {
            lock_in(c, p)?;
            // Only the serial: a login is also how a damaged row is written over.
            let before = serial_in(c, p)?;
            let updated = replace_pair_in(c, p, &sealed, now, Source::Login)?;
            if updated == 0 {
                c.execute(
                    "INSERT INTO anaf_token (access_token, refresh_token, refresh_hash, token_type,
                         access_expires_at, refresh_expires_at, cert_serial, obtained_at,
                         cif, client_id, environment, refreshed_at, version)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 1)",
                    &pair_args(p, &sealed, now),
                )?;
            }
            let serial = t.cert_serial.as_deref();
            let same_certificate = match (before.as_ref().and_then(|r| r.as_deref()), serial) {
                (Some(a), Some(b)) => crate::config::same_serial(a, b),
                (None, None) => true,
                _ => false,
            };
            if before.is_some() && !same_certificate {
                // Another certificate (a renewed one, say): the companies this row served
                // stay assigned, but ANAF has yet to accept a call for them with it.
                c.execute(
                    "UPDATE anaf_token_cif SET accepted_at = NULL, cert_serial = ?
                      WHERE token_cif = ? AND client_id = ? AND environment = ?",
                    args![serial, &p.cif, &p.client_id, &p.environment],
                )?;
            }
            for other in others {
                c.execute(
                    "UPDATE anaf_token_cif SET token_cif = ?
                      WHERE token_cif = ? AND client_id = ? AND environment = ?",
                    args![&p.cif, other, &p.client_id, &p.environment],
                )?;
            }
            super::served::serve_in(c, own, &p.cif, serial, super::served::By::Login, now)?;
            Ok(load_in(c, p)?.expect("row just written"))
        })?;
        // A pair rescued from the token this login replaced is obsolete now.
        super::rescue::settle_orphans(self, now);
        self.opened(p, raw)
    }

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

    /// A pair as it is written (the store's key is needed: no token is written readable,
    /// except an access token the ERP opted in to read).
    pub(super) fn sealed<'a>(&self, p: &Profile, t: &'a NewTokens) -> Result<Sealed<'a>> {
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

/// Where a new pair comes from: a login (or an import) starts a pair's life, a refresh
/// continues it (and keeps the serial when ANAF's answer names none).
enum Source {
    Login,
    Refresh,
}

/// Writes a new pair over the row's, counting a version and clearing any refusal and lease;
/// the number of rows changed (0: no row).
fn replace_pair_in(
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
fn pair_args<'a>(p: &'a Profile, t: &'a Sealed<'_>, now: i64) -> [Arg<'a>; 11] {
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

fn remove_in(c: &mut dyn Conn, p: &Profile) -> DbResult<Option<TokenRow>> {
    lock_in(c, p)?;
    let row = load_in(c, p)?;
    c.execute(
        "DELETE FROM anaf_token WHERE cif = ? AND client_id = ? AND environment = ?",
        args![&p.cif, &p.client_id, &p.environment],
    )?;
    Ok(row)
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

/// Brings the rows of `anaf_token` written before sealing (schema 4 and older, or by the
/// ERP itself) to what this DLL writes: the tokens sealed, the compared refresh tokens
/// hashed. The tokens themselves do not change (nor the version): a refresh in flight in
/// another process commits as usual. Rows already sealed are only read.
pub(super) fn seal_old_rows(store: &Store) -> Result<()> {
    let sealer = store.seal.as_ref();
    // One read of every row at open; only a row that needs it is written. A damaged row
    // is left alone here: the call that uses it says what is wrong.
    let rows = store.read(|c| {
        c.query(
            &format!("SELECT cif, client_id, environment, {COLUMNS} FROM anaf_token"),
            &[],
        )
    })?;
    let rows =
        rows.iter().filter_map(
            |r| match (profile_of(r), read_row(&Row(r.0[3..].to_vec()))) {
                (Ok(p), Ok(raw)) => Some((p, raw)),
                (_, Err(e)) | (Err(e), _) => {
                    ::log::warn!(target: "anaf::store", "a damaged token row is not sealed: {e}");
                    None
                }
            },
        );
    for (p, raw) in rows {
        if brought_up_to_date(raw, sealer, &p).is_none() {
            continue;
        }
        store.write(Write::durable(), |c| {
            lock_in(c, &p)?;
            let Some(r) = load_in(c, &p)?.and_then(|r| brought_up_to_date(r, sealer, &p)) else {
                return Ok(());
            };
            c.execute(
                "UPDATE anaf_token SET access_token = ?, refresh_token = ?, refresh_hash = ?,
                     previous_refresh_hash = ?, lease_refresh_hash = ?
                 WHERE cif = ? AND client_id = ? AND environment = ?",
                args![
                    &r.access_token,
                    &r.refresh_token,
                    r.refresh_hash.as_ref(),
                    r.previous_refresh_hash.as_ref(),
                    r.lease_refresh_hash.as_ref(),
                    &p.cif,
                    &p.client_id,
                    &p.environment
                ],
            )
            .map(|_| ())
        })?;
        ::log::info!(target: "anaf::store", "token row of CIF {} sealed", p.cif);
    }
    Ok(())
}

/// A stored row as this DLL would write it, or `None` if it already is (or cannot be
/// improved: a value under a key this configuration does not have stays as it is).
fn brought_up_to_date(
    raw: TokenRow,
    sealer: Option<&seal::Sealer>,
    p: &Profile,
) -> Option<TokenRow> {
    let mut r = raw.clone();
    let hash_kept = |h: &mut Option<String>| {
        if let Some(v) = h.as_mut().filter(|v| !seal::is_hash(v)) {
            *v = seal::hash(v);
        }
    };
    hash_kept(&mut r.previous_refresh_hash);
    hash_kept(&mut r.lease_refresh_hash);
    if r.refresh_hash.is_none() {
        r.refresh_hash = if seal::is_sealed(&r.refresh_token) {
            sealer
                .and_then(|s| s.open(&r.refresh_token, &place("refresh_token", p)).ok())
                .map(|t| seal::hash(&t))
        } else {
            Some(seal::hash(&r.refresh_token))
        };
    }
    if let Some(s) = sealer {
        // Readable, or sealed under a previous key that opens: sealed under this one.
        let reseal = |v: &mut String, column: &str, readable_ok: bool| {
            let at = place(column, p);
            if s.is_current(v) || (readable_ok && !seal::is_sealed(v)) {
                return;
            }
            if let Ok(plain) = s.open(v, &at) {
                *v = s.seal(&plain, &at);
            }
        };
        reseal(&mut r.refresh_token, "refresh_token", false);
        reseal(&mut r.access_token, "access_token", s.share_access_token);
    }
    (r != raw).then_some(r)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::status::*;
    use std::time::Duration;

    fn profile() -> Profile {
        Profile {
            cif: "14399840".into(),
            client_id: "cid".into(),
            environment: "test".into(),
        }
    }

    fn pair(a: &str, r: &str) -> NewTokens {
        NewTokens {
            access_token: a.into(),
            refresh_token: r.into(),
            token_type: "Bearer".into(),
            access_expires_at: 2_000_000_000,
            refresh_expires_at: 2_100_000_000,
            cert_serial: Some("ABCD".into()),
        }
    }

    fn temp() -> (tempfile::TempDir, Store) {
        let d = tempfile::tempdir().unwrap();
        let s = keyed(Store::open(&d.path().join("t.db")).unwrap());
        (d, s)
    }

    pub(crate) fn keyed(s: Store) -> Store {
        s.sealed_with(Some(seal::Sealer::derive("test secret", "client_secret")))
            .unwrap()
    }

    #[test]
    fn put_load_and_versions() {
        let (_d, s) = temp();
        let p = profile();
        assert!(s.load(&p).unwrap().is_none());
        let r = s.put(&p, &pair("a1", "r1"), 100).unwrap();
        assert_eq!(r.version, 1);
        assert_eq!(r.obtained_at, 100);
        let r = s.put(&p, &pair("a2", "r2"), 200).unwrap();
        assert_eq!(r.version, 2);
        assert_eq!(
            r.previous_refresh_hash.as_deref(),
            Some(seal::hash("r1").as_str())
        );
        assert_eq!(s.load(&p).unwrap().unwrap(), r);
        let other = Profile {
            environment: "prod".into(),
            ..profile()
        };
        assert!(s.load(&other).unwrap().is_none());
    }

    #[test]
    fn fast_path_finds_only_a_token_needing_nothing() {
        let (_d, s) = temp();
        let p = profile();
        let f = |now: i64, margin: i64| {
            s.fresh_access_token(&p.cif, &p.client_id, &p.environment, None, now, margin)
                .unwrap()
        };
        assert_eq!(f(1_000_000_000, 100), None, "no row");
        s.put(&p, &pair("a1", "r1"), 1).unwrap();
        assert_eq!(f(1_000_000_000, 100).as_deref(), Some("a1"));
        assert_eq!(f(2_000_000_000 - 100, 100), None, "within the margin");
        assert_eq!(f(2_000_000_000 - 101, 100).as_deref(), Some("a1"));
        assert_eq!(
            f(2_100_000_000, -200_000_000),
            None,
            "refresh token expired"
        );
        // A pair from a refresh that lives less than the margin: refreshed at half its life.
        let short = NewTokens {
            access_expires_at: 1_000_000_000 + 3_600,
            ..pair("a2", "r2")
        };
        let Finish::Committed(_) = s.finish(&p, "me", "r1", &short, 1_000_000_000).unwrap() else {
            panic!()
        };
        assert_eq!(f(1_000_000_000 + 1_700, 14 * 86_400).as_deref(), Some("a2"));
        assert_eq!(f(1_000_000_000 + 1_900, 14 * 86_400), None);
        s.put(&p, &pair("a1", "r1"), 1).unwrap();
        s.sqlite(|c| c.execute("UPDATE anaf_token SET access_expires_at = 'later'", []))
            .unwrap();
        assert_eq!(
            f(1_000_000_000, 100),
            None,
            "a damaged row goes to the slow path"
        );
        s.put(&p, &pair("a1", "r1"), 1).unwrap();
        s.refuse(&p, "me", "r1", "invalid_grant", 5).unwrap();
        assert_eq!(f(1_000_000_000, 100), None, "refresh token refused");
    }

    #[test]
    fn lease_protocol() {
        let (_d, s) = temp();
        let p = profile();
        assert!(matches!(
            s.claim(&p, "me", None, 0, 1000).unwrap(),
            Claim::Missing
        ));
        let r = s.put(&p, &pair("a1", "r1"), 100).unwrap();
        // A version the caller did not see: someone else already refreshed.
        assert!(matches!(
            s.claim(&p, "me", Some(r.version + 7), 0, 1000).unwrap(),
            Claim::Changed(_)
        ));
        let Claim::Claimed { row, interrupted } =
            s.claim(&p, "me", Some(r.version), 1_000, 5_000).unwrap()
        else {
            panic!()
        };
        assert!(!interrupted);
        assert_eq!(
            row.lease_refresh_hash.as_deref(),
            Some(seal::hash("r1").as_str())
        );
        // Another (remote, so presumed alive) owner is told to wait while the lease runs...
        let remote = "other-host/1/00";
        match s.claim(&p, remote, Some(r.version), 2_000, 5_000).unwrap() {
            Claim::Busy { owner, until, .. } => {
                assert_eq!(owner, "me");
                assert_eq!(until, 6_000);
            }
            c => panic!("{c:?}"),
        }
        // ...and takes it over once it lapsed, knowing r1 may have been spent.
        match s.claim(&p, remote, Some(r.version), 7_000, 5_000).unwrap() {
            Claim::Claimed { interrupted, row } => {
                assert!(interrupted);
                assert_eq!(row.lease_owner.as_deref(), Some(remote));
            }
            c => panic!("{c:?}"),
        }
        // The first owner's late answer still lands (the row holds the token it spent).
        let f = s.finish(&p, "me", "r1", &pair("a2", "r2"), 300).unwrap();
        let Finish::Committed(row) = f else {
            panic!("{f:?}")
        };
        assert_eq!(row.version, r.version + 1);
        assert_eq!(row.refresh_token, "r2");
        assert_eq!(
            row.previous_refresh_hash.as_deref(),
            Some(seal::hash("r1").as_str())
        );
        assert_eq!(row.refreshed_at, Some(300));
        assert_eq!(row.lease_owner, None);
        // A second answer for the same spent token is not written over it.
        let f = s.finish(&p, remote, "r1", &pair("a3", "r3"), 301).unwrap();
        let Finish::Superseded(row) = f else {
            panic!("{f:?}")
        };
        assert_eq!(row.refresh_token, "r2");
    }

    #[test]
    fn dead_local_owner_is_taken_over_at_once() {
        let (_d, s) = temp();
        let p = profile();
        let r = s.put(&p, &pair("a1", "r1"), 100).unwrap();
        let host = process_owner().split('/').next().unwrap().to_string();
        // A pid that cannot exist on Linux (above pid_max's ceiling of 2^22) nor on
        // Windows (process ids are multiples of 4).
        let dead = format!("{host}/4194305/00");
        let Claim::Claimed { .. } = s.claim(&p, &dead, Some(r.version), 0, 60_000).unwrap() else {
            panic!()
        };
        match s.claim(&p, "x", Some(r.version), 1, 60_000).unwrap() {
            Claim::Claimed { interrupted, .. } => assert!(interrupted),
            c => panic!("{c:?}"),
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_dead_but_unreaped_holder_is_dead() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        // Not waited for: once it exits it stays a zombie until reaped.
        let t = std::time::Instant::now();
        while !zombie(child.id()) {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "the child never became a zombie"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let host = process_owner().split('/').next().unwrap().to_string();
        assert!(!owner_may_be_alive(&format!("{host}/{}/00", child.id())));
        assert!(owner_may_be_alive(&format!("{host}/1/00")), "init is alive");
        child.wait().unwrap();
    }

    #[test]
    fn refuse_marks_only_the_spent_token() {
        let (_d, s) = temp();
        let p = profile();
        s.put(&p, &pair("a1", "r1"), 100).unwrap();
        let row = s
            .refuse(&p, "me", "other", "invalid_grant", 5)
            .unwrap()
            .unwrap();
        assert_eq!(row.refresh_refused_at, None);
        let row = s
            .refuse(&p, "me", "r1", "invalid_grant", 5)
            .unwrap()
            .unwrap();
        assert_eq!(row.refresh_refused_at, Some(5));
        assert_eq!(
            row.refresh_token, "r1",
            "tokens are never deleted by a refusal"
        );
        // A new login clears the mark.
        let row = s.put(&p, &pair("a2", "r2"), 6).unwrap();
        assert_eq!(row.refresh_refused_at, None);
        assert!(s.delete(&p).unwrap());
        assert!(!s.delete(&p).unwrap());
    }

    #[test]
    fn locked_database_is_reported_as_locked() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("t.db");
        let s = keyed(Store::open_with(&path, Duration::from_millis(200)).unwrap());
        s.put(&profile(), &pair("a1", "r1"), 1).unwrap();
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE;").unwrap();
        let e = s.claim(&profile(), "me", None, 0, 1000).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_DATABASE_LOCKED, "{e:?}");
        // Readers are not blocked by the writer (WAL).
        assert_eq!(s.load(&profile()).unwrap().unwrap().access_token, "a1");
        other.execute_batch("ROLLBACK;").unwrap();
        assert!(matches!(
            s.claim(&profile(), "me", None, 0, 1000).unwrap(),
            Claim::Claimed { .. }
        ));
    }

    #[test]
    fn a_write_waiting_for_a_lock_does_not_hold_up_readers_of_the_same_handle() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("t.db");
        let s = keyed(Store::open_with(&path, Duration::from_millis(1_500)).unwrap());
        s.put(&profile(), &pair("a1", "r1"), 1).unwrap();
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE;").unwrap();
        let done = AtomicBool::new(false);
        std::thread::scope(|sc| {
            sc.spawn(|| {
                let r = s.claim(&profile(), "me", None, 0, 1000);
                done.store(true, Ordering::SeqCst);
                assert_eq!(r.unwrap_err().status, ANAF_ERR_DATABASE_LOCKED);
            });
            std::thread::sleep(Duration::from_millis(200));
            assert_eq!(s.load(&profile()).unwrap().unwrap().access_token, "a1");
            assert!(
                !done.load(Ordering::SeqCst),
                "the read did not wait for the writer"
            );
        });
        other.execute_batch("ROLLBACK;").unwrap();
    }

    #[test]
    fn read_only_database_reads_but_refuses_to_claim() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("t.db");
        keyed(Store::open(&path).unwrap())
            .put(&profile(), &pair("a1", "r1"), 1)
            .unwrap();
        let ro = keyed(
            Store::open_flags(
                &path,
                Duration::from_millis(200),
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .unwrap(),
        );
        assert_eq!(ro.load(&profile()).unwrap().unwrap().refresh_token, "r1");
        let e = ro.claim(&profile(), "me", None, 0, 1000).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_DATABASE_READONLY, "{e:?}");
    }

    #[test]
    fn corrupt_row_and_file_are_reported() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("t.db");
        let s = keyed(Store::open(&path).unwrap());
        s.put(&profile(), &pair("a1", "r1"), 1).unwrap();
        s.sqlite(|c| c.execute("UPDATE anaf_token SET access_expires_at = 'soon'", []))
            .unwrap();
        let e = s.load(&profile()).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_DATABASE_CORRUPT, "{e:?}");
        // Opening the file again works: the damaged row is reported where it is used.
        let again = keyed(Store::open(&path).unwrap());
        let e = again.load(&profile()).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_DATABASE_CORRUPT, "{e:?}");

        let junk = d.path().join("junk.db");
        std::fs::write(&junk, vec![0x5au8; 8192]).unwrap();
        let e = Store::open(&junk).err().unwrap();
        assert_eq!(e.status, ANAF_ERR_DATABASE_CORRUPT, "{e:?}");
        assert_eq!(
            std::fs::read(&junk).unwrap(),
            vec![0x5au8; 8192],
            "left untouched"
        );
    }

    #[test]
    fn newer_file_is_refused_by_open() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("t.db");
        drop(Store::open(&path).unwrap());
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute("UPDATE anaf_schema SET version = 99", [])
            .unwrap();
        // As a newer DLL might leave it: the rollback journal, not WAL.
        let _: String = c
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .unwrap();
        drop(c);
        let before = std::fs::read(&path).unwrap();
        let e = Store::open(&path).err().unwrap();
        assert_eq!(e.status, ANAF_ERR_DATABASE_NEWER);
        assert!(e.message(crate::status::Lang::En).contains("99"));
        assert!(
            std::fs::read(&path).unwrap() == before,
            "the newer file is left untouched"
        );
        assert!(!d.path().join("t.db-wal").exists());
    }

    #[test]
    fn a_token_table_of_another_program_is_refused_at_open() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("t.db");
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE anaf_schema (id INTEGER PRIMARY KEY, version INTEGER NOT NULL);
             INSERT INTO anaf_schema VALUES (1, 4);
             CREATE TABLE anaf_token (cif TEXT, token TEXT);",
        )
        .unwrap();
        drop(c);
        let e = Store::open(&path).err().unwrap();
        assert_eq!(e.status, ANAF_ERR_DATABASE, "{e:?}");
        assert!(
            e.message(crate::status::Lang::En)
                .contains("table anaf_token lacks the columns"),
            "{e:?}"
        );
    }

    #[test]
    fn workstations_opening_a_new_file_together_all_get_it() {
        for _ in 0..5 {
            let d = tempfile::tempdir().unwrap();
            let path = d.path().join("new.db");
            let barrier = std::sync::Barrier::new(8);
            std::thread::scope(|sc| {
                for _ in 0..8 {
                    sc.spawn(|| {
                        barrier.wait();
                        Store::open(&path).map(drop).unwrap();
                    });
                }
            });
        }
    }

    #[test]
    fn open_under_another_programs_lock_waits_one_busy_timeout() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("t.db");
        drop(Store::open(&path).unwrap());
        let other = rusqlite::Connection::open(&path).unwrap();
        let _: String = other
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .unwrap();
        other
            .execute_batch("BEGIN EXCLUSIVE; UPDATE anaf_schema SET version = version;")
            .unwrap();
        let busy = Duration::from_millis(1_500);
        let t = std::time::Instant::now();
        let e = Store::open_with(&path, busy).err().unwrap();
        let waited = t.elapsed();
        assert_eq!(e.status, ANAF_ERR_DATABASE_LOCKED, "{e:?}");
        assert!(
            waited < busy * 3 / 2,
            "waited {waited:?} for a busy timeout of {busy:?}"
        );
        other.execute_batch("ROLLBACK").unwrap();
    }

    #[test]
    fn version_1_file_with_a_row_migrates_forward() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("t.db");
        {
            let mut c = rusqlite::Connection::open(&path).unwrap();
            super::super::schema::migrate_to(&mut c, 1).unwrap();
            assert_eq!(super::super::schema::version(&c).unwrap(), 1);
            c.execute(
                "INSERT INTO anaf_token (cif, client_id, environment, access_token, refresh_token,
                    access_expires_at, refresh_expires_at, obtained_at)
                 VALUES ('14399840', 'cid', 'test', 'a1', 'r1', 2000000000, 2100000000, 5)",
                [],
            )
            .unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(
            s.schema_version().unwrap(),
            super::super::schema::ANAF_SCHEMA_VERSION
        );
        let row = s.load(&profile()).unwrap().unwrap();
        assert_eq!(
            (
                row.access_token.as_str(),
                row.version,
                row.token_type.as_str()
            ),
            ("a1", 1, "Bearer")
        );
        let days: i64 = s
            .sqlite(|c| {
                c.query_row("SELECT access_days_left FROM anaf_token_v", [], |r| {
                    r.get(0)
                })
            })
            .unwrap();
        assert!(days > 0);
    }

    fn raw_columns(s: &Store, cols: &str) -> Vec<Option<String>> {
        let n = cols.split(',').count();
        s.sqlite(|c| {
            c.query_row(&format!("SELECT {cols} FROM anaf_token"), [], |r| {
                (0..n)
                    .map(|i| r.get(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
        })
        .unwrap()
    }

    #[test]
    fn the_table_holds_no_token_and_the_view_shows_none() {
        let (_d, s) = temp();
        let p = profile();
        s.put(&p, &pair("access-1", "refresh-1"), 1).unwrap();
        s.put(&p, &pair("access-2", "refresh-2"), 2).unwrap();
        let Claim::Claimed { .. } = s.claim(&p, "me", None, 0, 1000).unwrap() else {
            panic!()
        };
        let raw = raw_columns(
            &s,
            "access_token, refresh_token, previous_refresh_hash, lease_refresh_hash, refresh_hash",
        );
        for v in raw.iter().flatten() {
            assert!(!v.contains("access-") && !v.contains("refresh-"), "{v}");
        }
        assert!(seal::is_sealed(raw[0].as_ref().unwrap()));
        assert!(seal::is_sealed(raw[1].as_ref().unwrap()));
        assert_eq!(raw[2], Some(seal::hash("refresh-1")));
        assert_eq!(raw[3], Some(seal::hash("refresh-2")));
        assert_eq!(raw[4], Some(seal::hash("refresh-2")));
        let view: Option<String> = s
            .sqlite(|c| c.query_row("SELECT access_token FROM anaf_token_v", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(view, None, "the view shows no sealed value");
        // The file itself has neither token in it anywhere (secure_delete, no plain copy).
        drop(s);
        for f in ["t.db", "t.db-wal"] {
            if let Ok(bytes) = std::fs::read(_d.path().join(f)) {
                let text = String::from_utf8_lossy(&bytes);
                assert!(
                    !text.contains("refresh-1") && !text.contains("refresh-2"),
                    "{f}"
                );
            }
        }
    }

    #[test]
    fn an_access_token_the_erp_opted_in_to_is_readable_and_the_refresh_token_is_not() {
        let d = tempfile::tempdir().unwrap();
        let mut key = seal::Sealer::derive("test secret", "client_secret");
        key.share_access_token = true;
        let s = Store::open(&d.path().join("t.db"))
            .unwrap()
            .sealed_with(Some(key))
            .unwrap();
        s.put(&profile(), &pair("access-1", "refresh-1"), 1)
            .unwrap();
        let raw = raw_columns(&s, "access_token, refresh_token");
        assert_eq!(raw[0].as_deref(), Some("access-1"));
        assert!(seal::is_sealed(raw[1].as_ref().unwrap()));
        let view: Option<String> = s
            .sqlite(|c| c.query_row("SELECT access_token FROM anaf_token_v", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(view.as_deref(), Some("access-1"));
        assert_eq!(
            s.load(&profile()).unwrap().unwrap().refresh_token,
            "refresh-1"
        );
    }

    #[test]
    fn a_schema_4_file_is_sealed_on_first_open_and_its_refresh_goes_on() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("t.db");
        {
            let mut c = rusqlite::Connection::open(&path).unwrap();
            super::super::schema::migrate_to(&mut c, 4).unwrap();
            // A refresh of r0 in flight by a process on another host, as schema 4 kept it.
            c.execute(
                "INSERT INTO anaf_token (cif, client_id, environment, access_token, refresh_token,
                    access_expires_at, refresh_expires_at, obtained_at, previous_refresh_token,
                    lease_owner, lease_until, lease_refresh_token)
                 VALUES ('14399840', 'cid', 'test', 'a0', 'r0', 2000000000, 2100000000, 5,
                    'r-1', 'other-host/1/00', 1, 'r0')",
                [],
            )
            .unwrap();
            c.execute(
                "INSERT INTO anaf_link (cif, client_id, environment, link_id, url, relay_url,
                    retrieval_secret, private_key, created_at, expires_at)
                 VALUES ('14399840', 'cid', 'test', 'L1', 'u', 'r', 'secret-x', 'key-x', 1, 2)",
                [],
            )
            .unwrap();
        }
        let s = keyed(Store::open(&path).unwrap());
        let raw = raw_columns(
            &s,
            "access_token, refresh_token, previous_refresh_hash, lease_refresh_hash, refresh_hash",
        );
        assert!(seal::is_sealed(raw[0].as_ref().unwrap()), "{raw:?}");
        assert!(seal::is_sealed(raw[1].as_ref().unwrap()), "{raw:?}");
        assert_eq!(raw[2], Some(seal::hash("r-1")));
        assert_eq!(raw[3], Some(seal::hash("r0")));
        assert_eq!(raw[4], Some(seal::hash("r0")));
        let link: (String, String) = s
            .sqlite(|c| {
                c.query_row(
                    "SELECT retrieval_secret, private_key FROM anaf_link",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            })
            .unwrap();
        assert!(
            seal::is_sealed(&link.0) && seal::is_sealed(&link.1),
            "{link:?}"
        );
        let l = s.links().load(&profile()).unwrap().unwrap();
        assert_eq!(
            (l.secret.as_str(), l.private_key.as_str()),
            ("secret-x", "key-x")
        );
        // The lapsed holder was spending r0: whoever takes over knows it.
        match s.claim(&profile(), "me", None, 10, 1000).unwrap() {
            Claim::Claimed { row, interrupted } => {
                assert!(interrupted);
                assert_eq!(
                    (row.access_token.as_str(), row.refresh_token.as_str()),
                    ("a0", "r0")
                );
            }
            c => panic!("{c:?}"),
        }
        let Finish::Committed(row) = s
            .finish(&profile(), "me", "r0", &pair("a1", "r1"), 20)
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(row.previous_refresh_hash, Some(seal::hash("r0")));
    }

    #[test]
    fn another_key_is_named_and_the_row_stays_as_it_is() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("t.db");
        keyed(Store::open(&path).unwrap())
            .put(&profile(), &pair("a1", "r1"), 1)
            .unwrap();
        let before = raw_columns(
            &keyed(Store::open(&path).unwrap()),
            "access_token, refresh_token",
        );
        let other = Store::open(&path)
            .unwrap()
            .sealed_with(Some(seal::Sealer::derive(
                "rotated secret",
                "client_secret",
            )))
            .unwrap();
        let e = other.load(&profile()).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_INVALID_CONFIG, "{e:?}");
        assert!(
            e.message(crate::status::Lang::En).contains("another key"),
            "{e:?}"
        );
        assert_eq!(
            other
                .fresh_access_token("14399840", "cid", "test", None, 1_000_000_000, 100)
                .unwrap(),
            None,
            "the fast path leaves it to the slow one, which says why"
        );
        assert!(other.claim(&profile(), "me", None, 0, 1000).is_err());
        assert_eq!(raw_columns(&other, "access_token, refresh_token"), before);
        let nokey = Store::open(&path).unwrap();
        assert_eq!(
            nokey.load(&profile()).unwrap_err().status,
            ANAF_ERR_INVALID_CONFIG
        );
        assert_eq!(
            nokey
                .put(&profile(), &pair("a2", "r2"), 2)
                .unwrap_err()
                .status,
            ANAF_ERR_INVALID_CONFIG,
            "no token is written unsealed"
        );
    }

    #[test]
    fn the_file_is_owner_only_and_deletes_securely() {
        let (d, s) = temp();
        let on: i64 = s
            .sqlite(|c| c.query_row("PRAGMA secure_delete", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(on, 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            s.put(&profile(), &pair("a1", "r1"), 1).unwrap();
            for f in ["t.db", "t.db-wal"] {
                let mode = std::fs::metadata(d.path().join(f))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o077, 0, "{f}: {mode:o}");
            }
        }
        let _ = d;
    }
}
