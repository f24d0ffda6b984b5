//! The token lifecycle over the shared table: get (with silent refresh at the margin or
//! after a 401), refresh, exchange, import, info, test, delete.
//!
//! Coordination, in two levels (details and limits in docs/token-table.md):
//! - within a process, one lock per (database file, profile): threads that find the token
//!   near expiry queue behind the one refreshing and then read its result;
//! - across processes, the lease in the row (see `store::tokens`): one process spends the
//!   refresh token, the others poll the row's `version` until the new pair is committed.

use super::endpoint::{Base, Endpoint};
use super::http;
use super::oauth::{self, TokenAnswer};
use super::Session;
use crate::error::{Error, Result};
use crate::status::*;
use crate::store::{rescue, Claim, Finish, NewTokens, Profile, TokenRow};
use crate::time::{now, now_ms, rfc3339};
use once_cell::sync::Lazy;
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A token this close to its expiry (seconds) counts as expired: the call it is used for
/// must still reach ANAF in time.
const SKEW: i64 = 60;
/// Lifetimes assumed when neither `expires_in` nor a JWT `exp` says (ANAF's documented ones).
const DEFAULT_ACCESS_LIFETIME: i64 = 90 * 86_400;
const DEFAULT_REFRESH_LIFETIME: i64 = 365 * 86_400;

/// What `anaf_token_info` reports (JSON), without the tokens themselves.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TokenInfo {
    pub cif: String,
    pub environment: String,
    pub client_id: String,
    /// The certificate serial the token was obtained with (from the JWT), upper-case hex.
    pub serial: Option<String>,
    pub token_type: String,
    /// RFC 3339, UTC.
    pub access_expires_at: String,
    pub refresh_expires_at: String,
    /// Whole days the access token has left (negative once expired).
    pub days_left: i64,
    pub refresh_days_left: i64,
    pub obtained_at: String,
    pub refreshed_at: Option<String>,
    /// Counts every new pair stored (login, import, refresh).
    pub version: i64,
    /// The refresh token is expired or was refused: a new login with the certificate is needed
    /// (the access token may still work until `access_expires_at`).
    pub login_required: bool,
    /// ANAF's words when it refused the refresh token.
    pub refresh_error: Option<String>,
    /// The CIF keying the token's row (the company whose login created it); `cif` is the
    /// handle's own.
    pub token_cif: String,
    /// Every company the token serves, and those ANAF refused it for.
    pub cifs: Vec<super::companies::CifInfo>,
    /// Something the ERP should show about this token (a browser link used with another
    /// certificate than `cert_serial`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

fn days(secs: i64) -> i64 {
    secs.div_euclid(86_400)
}

/// Runs a future on the library's runtime from any thread, including a thread that is
/// itself inside a tokio runtime (then on a helper thread, so no runtime is nested).
fn run<F>(f: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| {
            s.spawn(|| super::http::block_on(f))
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    } else {
        super::http::block_on(f)
    }
}

/// One lock per (database file, profile) in this process.
fn process_lock(path: &std::path::Path, p: &Profile) -> Arc<Mutex<()>> {
    type Locks = Mutex<HashMap<(PathBuf, Profile), Arc<Mutex<()>>>>;
    static LOCKS: Lazy<Locks> = Lazy::new(|| Mutex::new(HashMap::new()));
    let key_path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    LOCKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry((key_path, p.clone()))
        .or_default()
        .clone()
}

/// Why a refresh is wanted, which decides when another's result is good enough.
#[derive(Clone, Copy)]
enum Why<'a> {
    /// The access token is within the margin.
    Margin,
    /// The API refused this access token.
    Rejected(&'a str),
    /// The caller asked for a refresh; a pair newer than `seen` satisfies it.
    Forced(i64),
}

fn no_token() -> Error {
    Error::new(ANAF_ERR_NO_TOKEN)
}

fn login_required(row: &TokenRow) -> Error {
    match &row.refresh_error {
        Some(why) => Error::verbatim(ANAF_ERR_LOGIN_REQUIRED, why.clone()),
        None => {
            let expired_at = rfc3339(row.refresh_expires_at);
            Error::with(
                ANAF_ERR_LOGIN_REQUIRED,
                format!("Tokenul de reîmprospătare a expirat la {expired_at}."),
                format!("The refresh token expired at {expired_at}."),
            )
        }
    }
}

/// `TestOauth/jaxrs/hello?name=`: answers a valid token with a greeting.
pub const TEST_OAUTH: Endpoint =
    Endpoint::get(Base::ApiRoot, "TestOauth/jaxrs/hello").answer_at_most(http::MAX_TOKEN_ANSWER);

impl Session {
    fn margin(&self) -> i64 {
        self.config.refresh_margin.as_secs() as i64
    }

    fn refresh_dead(row: &TokenRow, now: i64) -> bool {
        row.refresh_refused_at.is_some() || row.refresh_expires_at <= now
    }

    fn access_usable(row: &TokenRow, now: i64) -> bool {
        row.access_expires_at > now + SKEW
    }

    /// A valid access token: from the table, refreshed silently when it has less than the
    /// margin left. `ANAF_ERR_NO_TOKEN` when there is none, `ANAF_ERR_LOGIN_REQUIRED` when
    /// it expired and cannot be refreshed any more.
    pub fn access_token(&self) -> Result<String> {
        // Fast path: one indexed SELECT that only finds a token needing nothing.
        if let Some(client_id) = self.config.client_id.as_deref() {
            let fresh = self.store.fresh_access_token(
                &self.config.cif,
                client_id,
                self.config.environment.as_str(),
                self.wanted_serial(),
                now(),
                self.margin() + SKEW,
            )?;
            if let Some(token) = fresh {
                return Ok(token);
            }
        }
        let p = self.profile()?;
        let row = self.store.load(&p)?.ok_or_else(no_token)?;
        let now = now();
        if Self::refresh_dead(&row, now) {
            return if Self::access_usable(&row, now) {
                Ok(row.access_token)
            } else {
                Err(login_required(&row))
            };
        }
        if self.satisfied(&row, Why::Margin, now) {
            return Ok(row.access_token);
        }
        match self.refresh_flow(&p, Why::Margin) {
            Ok(fresh) => Ok(fresh.access_token),
            Err(e) => {
                // The token is only near its expiry: keep working with it and try again
                // on a later call; the failure goes to the log.
                if let Some(row) = self.store.load(&p)? {
                    if Self::access_usable(&row, now) {
                        ::log::warn!(
                            target: "anaf::token",
                            "silent refresh failed, using the current token ({} days left): {e:?}",
                            days(row.access_expires_at - now)
                        );
                        return Ok(row.access_token);
                    }
                }
                Err(e)
            }
        }
    }

    /// The API refused `rejected` (401): refresh once, unless another thread or process
    /// already replaced it, and return the new access token.
    pub fn access_token_after_401(&self, rejected: &str) -> Result<String> {
        let p = self.profile()?;
        let row = self.store.load(&p)?.ok_or_else(no_token)?;
        if row.access_token != rejected && Self::access_usable(&row, now()) {
            return Ok(row.access_token);
        }
        let fresh = self.refresh_flow(&p, Why::Rejected(rejected))?;
        if fresh.access_token == rejected {
            return Err(Error::with(
                ANAF_ERR_UNAUTHORIZED,
                "Tokenul reîmprospătat a fost respins din nou.",
                "The refreshed token was refused again.",
            ));
        }
        Ok(fresh.access_token)
    }

    /// Refreshes now (`anaf_refresh`). If another process or thread stores a newer pair
    /// while this call waits its turn, that pair is the answer (the token is never spent twice).
    pub fn refresh_now(&self) -> Result<TokenInfo> {
        let p = self.profile()?;
        self.config.oauth()?;
        let row = self.store.load(&p)?.ok_or_else(no_token)?;
        let row = self.refresh_flow(&p, Why::Forced(row.version))?;
        Ok(self.info_of(&p, &row))
    }

    /// The authorization_code grant, then stores the pair. Accepts the code or the whole
    /// redirected URL. `ANAF_ERR_CODE_EXPIRED` when ANAF says invalid_grant for the code.
    pub fn exchange_code(&self, code: &str) -> Result<TokenInfo> {
        let own = self.own_profile()?;
        let code = oauth::code_from_input(code)?;
        let answer = run(oauth::exchange_code(&self.http, &self.config, &code))?;
        let Some(refresh) = answer.refresh_token.as_deref() else {
            return Err(Error::with(
                ANAF_ERR_BAD_RESPONSE,
                "Răspunsul ANAF nu conține refresh_token.",
                "ANAF's answer has no refresh_token.",
            ));
        };
        let t = self.new_tokens(
            &answer.access_token,
            refresh,
            answer.expires_in,
            &answer.token_type,
        );
        let (p, row) = self.store.put_login(&own, &t, now())?;
        ::log::info!(target: "anaf::token", "new token stored (row {}, version {}, serial {:?})", p.cif, row.version, row.cert_serial);
        Ok(self.info_of(&p, &row))
    }

    /// Stores a pair obtained elsewhere (the browser-link flow, an import from another DLL):
    /// expiries from `expires_in` or the JWT `exp`, the serial from the JWT.
    pub fn store_token_response(
        &self,
        access_token: &str,
        refresh_token: &str,
        expires_in: Option<u64>,
    ) -> Result<TokenInfo> {
        let own = self.own_profile()?;
        let check = |v: &str, name: &str| -> Result<String> {
            let s = v.trim();
            if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(Error::with(
                    ANAF_ERR_INVALID_ARGUMENT,
                    format!("\"{name}\" este gol sau conține spații."),
                    format!("\"{name}\" is empty or contains spaces."),
                ));
            }
            Ok(s.to_string())
        };
        let a = check(access_token, "access_token")?;
        let r = check(refresh_token, "refresh_token")?;
        let t = self.new_tokens(&a, &r, expires_in, "Bearer");
        let (p, row) = self.store.put_login(&own, &t, now())?;
        Ok(self.info_of(&p, &row))
    }

    /// Stores a pair obtained elsewhere (an ERP's previous DLL, another tool), after checking
    /// that it is what it claims to be, before it replaces anything: two JWTs, not over
    /// 16 KB, the access token saying "access" and the refresh token "refresh" where they
    /// say what they are, a refresh token not expired, and the configured certificate's
    /// serial where both name one. A garbage import used to replace a working pair.
    pub fn import_token(&self, access_token: &str, refresh_token: &str) -> Result<TokenInfo> {
        let refuse = |name: &str, ro: &str, en: &str| {
            Error::with(
                ANAF_ERR_INVALID_ARGUMENT,
                format!("\"{name}\": {ro} Tokenul existent a rămas neschimbat."),
                format!("\"{name}\": {en} The stored token is unchanged."),
            )
        };
        if access_token.trim().is_empty() || refresh_token.trim().is_empty() {
            // Refused there, naming the empty one, before anything is stored.
            return self.store_token_response(access_token, refresh_token, None);
        }
        let now = now();
        for (token, name, kind) in [
            (access_token.trim(), "access_token", "access"),
            (refresh_token.trim(), "refresh_token", "refresh"),
        ] {
            if token.len() > 16 * 1024 {
                return Err(refuse(
                    name,
                    "este mai lung de 16 KB: nu este un token ANAF.",
                    "is longer than 16 KB: not an ANAF token.",
                ));
            }
            let Some(c) = super::jwt::claims(token) else {
                return Err(refuse(
                    name,
                    "nu este un JWT (trei părți base64url, cu date JSON).",
                    "is not a JWT (three base64url parts carrying JSON).",
                ));
            };
            if let Some(t) = c.token_type.as_deref() {
                if !t.eq_ignore_ascii_case(kind) {
                    return Err(refuse(
                        name,
                        &format!("este un token „{t}”, nu „{kind}” (tokenurile sunt inversate?)."),
                        &format!("is a \"{t}\" token, not \"{kind}\" (are the tokens swapped?)."),
                    ));
                }
            }
            let Some(exp) = c.exp else {
                return Err(refuse(
                    name,
                    "nu are data de expirare (exp).",
                    "has no expiry (exp).",
                ));
            };
            if kind == "refresh" && exp <= now {
                return Err(refuse(
                    name,
                    "a expirat: este necesară o autentificare nouă cu certificatul.",
                    "has expired: a new login with the certificate is needed.",
                ));
            }
            if let (Some(want), Some(got)) =
                (self.config.cert_serial.as_deref(), c.serial.as_deref())
            {
                if !crate::config::same_serial(want, got) {
                    return Err(refuse(
                        name,
                        &format!(
                            "a fost obținut cu certificatul {got}, nu cu cel configurat ({want})."
                        ),
                        &format!(
                            "was obtained with certificate {got}, not the configured one ({want})."
                        ),
                    ));
                }
            }
        }
        self.store_token_response(access_token, refresh_token, None)
    }

    /// Expiries, days left, serial, profile and last refresh of the stored token.
    pub fn token_info(&self) -> Result<TokenInfo> {
        let p = self.profile()?;
        let row = self.store.load(&p)?.ok_or_else(no_token)?;
        Ok(self.info_of(&p, &row))
    }

    /// Calls ANAF's TestOauth `hello` with the token, through the one call path (a 401
    /// refreshes once, the answer is classified as every other); returns ANAF's answer.
    pub fn test_token(&self) -> Result<String> {
        let reply = TEST_OAUTH
            .request(self)?
            .query("name", "anaf-bridge")
            .fetch()?;
        Ok(String::from_utf8_lossy(&reply.body).into_owned())
    }

    /// Deletes the row, then revokes its refresh token at ANAF, best effort. The row first:
    /// a database that cannot take the delete (locked, read-only) must not leave a token
    /// that ANAF already revoked in the table. Returns the revoke failure, if any, as a
    /// note (the local copy is gone anyway). `ANAF_ERR_NO_TOKEN` if there was none.
    ///
    /// A token that also serves other companies stays for them: only this CIF stops using it.
    pub fn delete_token(&self) -> Result<Option<Error>> {
        let (own, p) = (self.own_profile()?, self.profile()?);
        let others = self
            .store
            .served_by(&p)?
            .into_iter()
            .filter(|s| s.cif != own.cif && s.served())
            .count();
        if others > 0 {
            if !self.store.unserve(&own)? {
                return Err(no_token());
            }
            ::log::info!(target: "anaf::token", "CIF {} no longer uses the token of row {}; it still serves {others} other companies", own.cif, p.cif);
            return Ok(None);
        }
        let row = self.store.remove(&p)?.ok_or_else(no_token)?;
        self.store.unserve(&own)?;
        let note = if self.config.oauth().is_ok() && !Self::refresh_dead(&row, now()) {
            run(oauth::revoke(&self.http, &self.config, &row.refresh_token)).err()
        } else {
            None
        };
        if let Some(e) = &note {
            ::log::warn!(target: "anaf::token", "revoke at ANAF failed (the local token is deleted anyway): {e:?}");
        }
        Ok(note)
    }

    fn info_of(&self, p: &Profile, row: &TokenRow) -> TokenInfo {
        let now = now();
        TokenInfo {
            cif: self.config.cif.clone(),
            token_cif: p.cif.clone(),
            cifs: self.cifs_of(p),
            environment: p.environment.clone(),
            client_id: p.client_id.clone(),
            serial: row.cert_serial.clone(),
            token_type: row.token_type.clone(),
            access_expires_at: rfc3339(row.access_expires_at),
            refresh_expires_at: rfc3339(row.refresh_expires_at),
            days_left: days(row.access_expires_at - now),
            refresh_days_left: days(row.refresh_expires_at - now),
            obtained_at: rfc3339(row.obtained_at),
            refreshed_at: row.refreshed_at.map(rfc3339),
            version: row.version,
            login_required: Self::refresh_dead(row, now),
            refresh_error: row.refresh_error.clone(),
            warning: None,
        }
    }

    /// The row to store for a pair. Never fails: after a refresh the old refresh token is
    /// spent, so whatever ANAF sent must be kept even if its expiry has to be assumed.
    fn new_tokens(
        &self,
        access: &str,
        refresh: &str,
        expires_in: Option<u64>,
        token_type: &str,
    ) -> NewTokens {
        let now = now();
        let ac = super::jwt::claims(access);
        let rc = super::jwt::claims(refresh);
        let plausible = |s: u64| s > 0 && s <= 800 * 86_400;
        let access_expires_at = match (expires_in, ac.as_ref().and_then(|c| c.exp)) {
            (Some(s), _) if plausible(s) => now + s as i64,
            (_, Some(exp)) => exp,
            _ => {
                ::log::warn!(target: "anaf::token", "access token without expires_in or exp: assuming 90 days");
                now + DEFAULT_ACCESS_LIFETIME
            }
        };
        let refresh_expires_at = rc
            .as_ref()
            .and_then(|c| c.exp)
            .unwrap_or(now + DEFAULT_REFRESH_LIFETIME);
        let token_type =
            if token_type.trim().is_empty() || token_type.eq_ignore_ascii_case("bearer") {
                "Bearer".to_string()
            } else {
                token_type.to_string()
            };
        NewTokens {
            access_token: access.to_string(),
            refresh_token: refresh.to_string(),
            token_type,
            access_expires_at,
            refresh_expires_at,
            cert_serial: ac
                .and_then(|c| c.serial)
                .or_else(|| rc.and_then(|c| c.serial)),
        }
    }

    /// Whether `row` already satisfies `why` (so no refresh is needed).
    fn satisfied(&self, row: &TokenRow, why: Why<'_>, now: i64) -> bool {
        match why {
            Why::Margin => {
                row.access_expires_at - now
                    > crate::store::tokens::effective_margin(
                        row.access_expires_at,
                        row.refreshed_at,
                        self.margin() + SKEW,
                    )
            }
            Why::Rejected(t) => row.access_token != t && Self::access_usable(row, now),
            Why::Forced(seen) => row.version != seen,
        }
    }

    /// The coordinated refresh. Returns the row that satisfies `why`: ours, or another's.
    fn refresh_flow(&self, p: &Profile, why: Why<'_>) -> Result<TokenRow> {
        self.config.oauth()?;
        let lock = process_lock(&self.store.path, p);
        let _turn = lock.lock().unwrap_or_else(|e| e.into_inner());
        let owner = crate::store::tokens::process_owner();
        let ttl = self.config.timeout + self.config.connect_timeout + Duration::from_secs(10);
        let give_up = Instant::now() + ttl + Duration::from_secs(5);
        let mut pause = Duration::from_millis(20);
        let mut row = self.store.load(p)?.ok_or_else(no_token)?;
        loop {
            let now = now();
            if self.satisfied(&row, why, now) {
                return Ok(row);
            }
            if Self::refresh_dead(&row, now) {
                return Err(login_required(&row));
            }
            match self.store.claim(
                p,
                owner,
                Some(row.version),
                now_ms(),
                ttl.as_millis() as i64,
            )? {
                Claim::Missing => return Err(no_token()),
                Claim::Changed(r) => row = r,
                Claim::Busy {
                    row: r,
                    owner: o,
                    until,
                } => {
                    if Instant::now() >= give_up {
                        return Err(Error::with(
                            ANAF_ERR_TIMEOUT,
                            format!("Alt program ({o}) reîmprospătează tokenul și nu a terminat."),
                            format!("Another program ({o}) is refreshing the token and has not finished."),
                        ));
                    }
                    ::log::debug!(target: "anaf::token", "waiting for the refresh by {o} (lease until {until})");
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(200));
                    row = self.store.load(p)?.unwrap_or(r);
                }
                Claim::Claimed {
                    row: r,
                    interrupted,
                } => {
                    if interrupted {
                        // The previous holder died after spending this token: if ANAF's
                        // answer reached its rescue file, commit that instead of spending.
                        if let Some(t) = rescue::load(&self.store, p, &r.refresh_token) {
                            ::log::warn!(target: "anaf::token", "committing the pair rescued by an interrupted refresh");
                            return self.commit_pair(p, owner, &r.refresh_token, &t);
                        }
                    }
                    if Self::refresh_dead(&r, now) {
                        let _ = self.store.release(p, owner);
                        return Err(login_required(&r));
                    }
                    return self.spend(p, owner, r, interrupted);
                }
            }
        }
    }

    /// Spends the row's refresh token (we hold the lease) and commits the new pair.
    fn spend(
        &self,
        p: &Profile,
        owner: &str,
        row: TokenRow,
        interrupted: bool,
    ) -> Result<TokenRow> {
        let spent = row.refresh_token.clone();
        ::log::info!(target: "anaf::token", "refreshing the token (version {})", row.version);
        match run(oauth::refresh(&self.http, &self.config, &spent)) {
            Ok(answer) => self.commit(p, owner, &spent, answer),
            Err(e) if e.status == ANAF_ERR_LOGIN_REQUIRED => {
                let idp = e.detail(Lang::En).unwrap_or_default().to_string();
                let why = if interrupted {
                    format!(
                        "{idp} — a previous refresh was interrupted (the program ended) after sending this refresh token to ANAF; \
                         ANAF had already replaced it, so a new login with the certificate is needed."
                    )
                } else {
                    idp
                };
                let _ = self.store.refuse(p, owner, &spent, &why, now());
                ::log::warn!(target: "anaf::token", "refresh token refused: {why}");
                Err(Error::verbatim(ANAF_ERR_LOGIN_REQUIRED, why))
            }
            Err(e) => {
                let _ = self.store.release(p, owner);
                ::log::warn!(target: "anaf::token", "refresh failed: {e:?}");
                Err(e)
            }
        }
    }
}

// Step 3 of the refresh, the commit of a rotated pair (with its rescue file).
#[path = "token_commit.rs"]
mod commit;

#[cfg(test)]
#[path = "token_tests.rs"]
mod tests;
