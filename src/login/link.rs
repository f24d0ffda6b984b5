//! The browser link: a URL, valid 5 hours, that whoever holds the USB token opens in a
//! browser on any computer; the token it produces is imported by the ERP on its own.
//!
//! The DLL asks the vendor's `anaf-relay` (config `relay_url`) for a link, presenting the
//! key the vendor issued to this installation (config `relay_key`) and sending the
//! application's client_id, an X25519 public key made for this link, and the SHA-256 of a
//! random retrieval secret. The client secret never goes to the relay: the relay has its
//! own copy in the vendor's configuration (it must exchange ANAF's code within 60
//! seconds, without the DLL). The relay seals the tokens to that public key,
//! so what it stores it cannot read; the DLL retrieves them once, presenting the
//! retrieval secret, and the relay deletes them.
//!
//! The pending link (id, retrieval secret, private key, expiry) is kept in the table
//! `anaf_link` of the ERP's database (`store::links`), one row per profile (CIF,
//! client_id, environment), so a poll from another handle or another process (the ERP's
//! token form reopened) can finish it. The row is deleted once the token is stored, or when the link expired
//! or the relay no longer knows it. Its secrets give access only to this link's sealed
//! answer, which is never worth more than the token row beside it.

use crate::client::token::TokenInfo;
use crate::client::Session;
use crate::error::{Error, Result};
use crate::status::*;
use crate::store::links::LinkRow as Row;
use crate::store::Profile;
use crate::time::{now, rfc3339};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// The relay's clock may run ahead of ours: the DLL declares a link expired on its own
/// only this long after the relay's `expires_at` (the relay's answer decides before).
const CLOCK_GRACE: i64 = 300;
/// How long one poller holds the row while it talks to the relay.
const CLAIM_SECONDS: i64 = 60;
/// One poll's HTTP budget: a poll must not block the ERP's form.
const POLL_TIMEOUT: Duration = Duration::from_secs(15);
/// Pause between polls in [`wait`].
const WAIT_STEP: Duration = Duration::from_millis(1000);

/// What `begin` hands back.
#[derive(Clone, Debug)]
pub struct Link {
    pub id: String,
    pub url: String,
    /// Unix seconds (the relay's clock).
    pub expires_at: i64,
}

/// A poll that did not fail.
#[derive(Clone, Debug)]
pub enum Poll {
    /// Not yet.
    Pending { link: Link },
    /// The token is in the table.
    Done { info: Box<TokenInfo> },
}

fn local_time(unix: i64) -> String {
    use chrono::TimeZone;
    chrono::Local
        .timestamp_opt(unix, 0)
        .single()
        .map(|t| t.format("%d.%m.%Y %H:%M").to_string())
        .unwrap_or_else(|| unix.to_string())
}

fn load(session: &Session, p: &Profile) -> Result<Option<Row>> {
    session.store.links().load(p)
}

fn delete_row(session: &Session, p: &Profile, link_id: &str) -> Result<()> {
    session.store.links().delete(p, link_id)
}

fn relay_base(session: &Session) -> Result<url::Url> {
    session.config.relay_url.clone().ok_or_else(|| {
        Error::with(
            ANAF_ERR_INVALID_CONFIG,
            "Câmpul \"relay_url\" lipsește: adresa serverului anaf-relay al furnizorului este necesară pentru linkul de generare token.",
            "Field \"relay_url\" is missing: the vendor's anaf-relay address is needed for the token link.",
        )
    })
}

fn relay_endpoint(base: &str, rel: &str) -> Result<url::Url> {
    let u = url::Url::parse(base)
        .map_err(|e| Error::verbatim(ANAF_ERR_INVALID_CONFIG, format!("relay_url: {e}")))?;
    Ok(crate::config::join(&u, rel))
}

fn net(e: reqwest::Error, relay: &str) -> Error {
    let (err, _) = crate::client::answer::network_error(&e);
    let detail = err.detail(Lang::En).unwrap_or("").to_string();
    Error::with(
        err.status,
        format!("Serverul anaf-relay {relay} nu răspunde {detail}"),
        format!("The anaf-relay server {relay} does not answer {detail}"),
    )
}

/// Sends one request to the relay: its HTTP status and body (JSON with a sealed token
/// pair at most, so no more than `MAX_TOKEN_ANSWER` is read).
fn relay_answer(request: reqwest::RequestBuilder, relay: &str) -> Result<(u16, Vec<u8>)> {
    use crate::client::http::{self, BodyError, MAX_TOKEN_ANSWER};
    http::block_on(async move {
        let r = request.send().await.map_err(|e| net(e, relay))?;
        let (status, url) = (r.status().as_u16(), r.url().clone());
        match http::read_body(r, MAX_TOKEN_ANSWER).await {
            Ok(body) => Ok((status, body)),
            Err(BodyError::Net(e)) => Err(net(e, relay)),
            Err(BodyError::TooLarge) => Err(http::too_large(&url, MAX_TOKEN_ANSWER)),
        }
    })
}

fn relay_http_error(status: u16, relay: &str) -> Error {
    Error::with(
        ANAF_ERR_HTTP,
        format!("Serverul anaf-relay {relay} a răspuns HTTP {status}."),
        format!("The anaf-relay server {relay} answered HTTP {status}."),
    )
}

/// A link is for the handle's own company (its answer is stored as that company's login).
fn profile(session: &Session) -> Result<Profile> {
    session.own_profile()
}

/// Creates a link at the relay and remembers it; replaces any link pending for this
/// profile (which is cancelled at the relay, best effort).
pub fn begin(session: &Session) -> Result<Link> {
    let cfg = &session.config;
    let base = relay_base(session)?;
    let p = profile(session)?;
    let relay_key = Zeroizing::new(format!(
        "Bearer {}",
        cfg.relay_key.as_deref().ok_or_else(|| {
            Error::with(
                ANAF_ERR_INVALID_CONFIG,
                "Câmpul \"relay_key\" lipsește: cheia instalației, primită de la furnizorul programului, este necesară pentru linkul de generare token.",
                "Field \"relay_key\" is missing: this installation's key, issued by the ERP vendor, is needed for the token link.",
            )
        })?
    ));
    if let Some(old) = load(session, &p)? {
        cancel_at_relay(session, &old);
        delete_row(session, &p, &old.link_id)?;
    }

    let key = StaticSecret::random_from_rng(OsRng);
    let public = PublicKey::from(&key);
    let mut raw = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(raw.as_mut());
    let secret = Zeroizing::new(URL_SAFE_NO_PAD.encode(raw.as_ref()));
    crate::log::mask_in_log(&secret);
    let verifier: [u8; 32] = Sha256::digest(secret.as_bytes()).into();

    let mut body = json!({
        "client_id": p.client_id,
        "public_key": URL_SAFE_NO_PAD.encode(public.as_bytes()),
        "verifier": URL_SAFE_NO_PAD.encode(verifier),
        "cif": cfg.cif,
    });
    if let Some(r) = &cfg.redirect_uri {
        body["redirect_uri"] = json!(r);
    }
    let body = Zeroizing::new(body.to_string());
    let relay = base.as_str().to_string();
    let url = crate::config::join(&base, "api/links");
    let http = session.http.clone();
    let payload = body.as_bytes().to_vec();
    let request = http
        .post(url)
        .header(reqwest::header::AUTHORIZATION, relay_key.to_string())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .timeout(POLL_TIMEOUT)
        .body(payload);
    let (status, answer) = relay_answer(request, &relay)?;
    let v: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
    match status {
        201 | 200 => {}
        409 => {
            let cb = v.get("callback_url").and_then(Value::as_str).unwrap_or("?");
            return Err(Error::with(
                ANAF_ERR_REDIRECT_MISMATCH,
                format!("Pentru linkul prin browser, Callback URL din SPV (și \"redirect_uri\") trebuie să fie adresa serverului anaf-relay: {cb}"),
                format!("For the browser link, the Callback URL in SPV (and \"redirect_uri\") must be the anaf-relay's address: {cb}"),
            ));
        }
        401 => {
            return Err(Error::with(
                ANAF_ERR_INVALID_CONFIG,
                format!("Serverul anaf-relay {relay} nu recunoaște cheia acestei instalații (\"relay_key\"); cereți furnizorului programului cheia corectă."),
                format!("The anaf-relay server {relay} does not recognise this installation's key (\"relay_key\"); ask the ERP vendor for the right key."),
            ))
        }
        403 if v.get("error").and_then(Value::as_str) == Some("cif_not_allowed") => {
            let cif = &cfg.cif;
            return Err(Error::with(
                ANAF_ERR_LINK_FAILED,
                format!(
                    "Serverul anaf-relay {relay} nu face linkuri pentru CIF {cif} cu cheia acestei instalații; cereți furnizorului programului să adauge firma."
                ),
                format!(
                    "The anaf-relay server {relay} makes no links for CIF {cif} with this installation's key; ask the ERP vendor to add the company."
                ),
            ))
        }
        403 => {
            let client_id = &p.client_id;
            return Err(Error::with(
                ANAF_ERR_LINK_FAILED,
                format!(
                    "Serverul anaf-relay {relay} nu deservește acest client_id ({client_id}) pentru această instalație"
                ),
                format!(
                    "The anaf-relay server {relay} does not serve this client_id ({client_id}) for this installation"
                ),
            ))
        }
        429 => {
            return Err(Error::with(
                ANAF_ERR_LINK_FAILED,
                format!("Serverul anaf-relay {relay} a primit prea multe cereri de la această instalație; încercați peste câteva minute."),
                format!("The anaf-relay server {relay} got too many requests from this installation; try again in a few minutes."),
            ))
        }
        503 => {
            return Err(Error::with(
                ANAF_ERR_LINK_FAILED,
                format!("Serverul anaf-relay {relay} este ocupat; încercați peste câteva minute."),
                format!("The anaf-relay server {relay} is busy; try again in a few minutes."),
            ))
        }
        s => return Err(relay_http_error(s, &relay)),
    }
    let (Some(id), Some(link_url), Some(expires_at)) = (
        v.get("id").and_then(Value::as_str),
        v.get("url").and_then(Value::as_str),
        v.get("expires_at").and_then(Value::as_i64),
    ) else {
        return Err(Error::with(
            ANAF_ERR_BAD_RESPONSE,
            format!("Răspunsul serverului anaf-relay {relay} nu are id/url/expires_at."),
            format!("The anaf-relay server {relay} answered without id/url/expires_at."),
        ));
    };
    if !(link_url.starts_with("https://") || link_url.starts_with("http://"))
        || id.is_empty()
        || id.len() > 100
    {
        return Err(Error::verbatim(
            ANAF_ERR_BAD_RESPONSE,
            format!("anaf-relay {relay}: link"),
        ));
    }
    let private_key = Zeroizing::new(URL_SAFE_NO_PAD.encode(key.to_bytes()));
    let row = Row {
        link_id: id.to_string(),
        url: link_url.to_string(),
        relay_url: relay.to_string(),
        secret: secret.clone(),
        private_key,
        expires_at,
        sealed_answer: None,
        last_reason: None,
        last_detail: None,
        last_attempt: None,
    };
    session.store.links().put(&p, &row, now())?;
    ::log::info!(
        target: "anaf::link",
        "link {} created at {relay}, valid until {}",
        &id[..id.len().min(6)],
        local_time(expires_at)
    );
    Ok(Link {
        id: id.to_string(),
        url: link_url.to_string(),
        expires_at,
    })
}

fn cancel_at_relay(session: &Session, row: &Row) {
    let Ok(url) = relay_endpoint(&row.relay_url, &format!("api/links/{}", row.link_id)) else {
        return;
    };
    let http = session.http.clone();
    let bearer = format!("Bearer {}", row.secret.as_str());
    let _ = crate::client::http::block_on(async move {
        http.delete(url)
            .header(reqwest::header::AUTHORIZATION, bearer)
            .timeout(Duration::from_secs(5))
            .send()
            .await
    });
}

/// Forgets the pending link here and at the relay. `false` when there was none.
pub fn cancel(session: &Session) -> Result<bool> {
    let p = profile(session)?;
    match load(session, &p)? {
        None => Ok(false),
        Some(row) => {
            cancel_at_relay(session, &row);
            delete_row(session, &p, &row.link_id)?;
            ::log::info!(target: "anaf::link", "link {} cancelled", &row.link_id[..row.link_id.len().min(6)]);
            Ok(true)
        }
    }
}

fn link_of(row: &Row) -> Link {
    Link {
        id: row.link_id.clone(),
        url: row.url.clone(),
        expires_at: row.expires_at,
    }
}

fn expired_error(expires_at: i64) -> Error {
    let at = local_time(expires_at);
    Error::with(
        ANAF_ERR_LINK_EXPIRED,
        format!("(a expirat la {at})"),
        format!("(it expired at {at})"),
    )
}

fn failed_error(reason: &str, description: &str, expires_at: i64) -> Error {
    let until = local_time(expires_at);
    let (ro, en) = match reason {
        "access_denied" => (
            "ANAF a refuzat accesul: stick-ul nu a fost introdus sau certificatul nu este înrolat în SPV pentru acest CIF.".to_string(),
            "ANAF denied access: the USB token was not plugged in or the certificate is not enrolled in SPV for this CIF.".to_string(),
        ),
        "code_expired" => (
            "Codul ANAF a expirat înainte de schimbul lui (60 de secunde).".to_string(),
            "ANAF's code expired before it was exchanged (60 seconds).".to_string(),
        ),
        "invalid_client" => (
            "ANAF nu a acceptat Client ID / Client Secret; copiați-le din nou din SPV.".to_string(),
            "ANAF did not accept the Client ID / Client Secret; copy them again from SPV.".to_string(),
        ),
        "redirect_mismatch" => (
            "Callback URL din SPV nu este adresa serverului anaf-relay.".to_string(),
            "The Callback URL in SPV is not the anaf-relay's address.".to_string(),
        ),
        "network" => (
            "Serverul anaf-relay nu a putut contacta ANAF.".to_string(),
            "The anaf-relay server could not reach ANAF.".to_string(),
        ),
        other => (format!("Motiv: {other}."), format!("Reason: {other}.")),
    };
    let desc = if description.is_empty() {
        String::new()
    } else {
        format!(" ({description})")
    };
    Error::with(
        ANAF_ERR_LINK_FAILED,
        format!("{ro}{desc} Linkul poate fi deschis din nou până la {until}."),
        format!("{en}{desc} The link can be opened again until {until}."),
    )
}

/// Opens the sealed answer with the link's private key; the token JSON, wiped on drop.
fn open_sealed(row: &Row, sealed: &Value) -> Option<Zeroizing<Vec<u8>>> {
    let b = |k: &str| {
        sealed
            .get(k)
            .and_then(Value::as_str)
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
    };
    let sealed = anaf_link_seal::Sealed {
        ephemeral_public_key: b("ephemeral_public_key")?.try_into().ok()?,
        nonce: b("nonce")?.try_into().ok()?,
        ciphertext: b("ciphertext")?,
    };
    let secret: Zeroizing<[u8; 32]> = Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(row.private_key.as_bytes())
            .ok()?
            .try_into()
            .ok()?,
    );
    anaf_link_seal::open(&secret, &row.link_id, &sealed)
}

/// Stores the tokens of an answer kept in the row, then deletes the row.
fn finish(session: &Session, p: &Profile, row: &Row, sealed_text: &str) -> Result<Poll> {
    let sealed: Value = serde_json::from_str(sealed_text).unwrap_or(Value::Null);
    let Some(plain) = open_sealed(row, &sealed) else {
        delete_row(session, p, &row.link_id)?;
        return Err(Error::with(
            ANAF_ERR_LINK_FAILED,
            "Tokenul primit de la serverul anaf-relay nu a putut fi deschis (cheie greșită sau date alterate); generați un link nou.",
            "The token received from the anaf-relay server could not be opened (wrong key or altered data); create a new link.",
        ));
    };
    let v: Value = serde_json::from_slice(&plain).unwrap_or(Value::Null);
    let access = v.get("access_token").and_then(Value::as_str).unwrap_or("");
    let refresh = v.get("refresh_token").and_then(Value::as_str).unwrap_or("");
    let expires_in = v.get("expires_in").and_then(|e| {
        e.as_u64()
            .or_else(|| e.as_str().and_then(|s| s.trim().parse().ok()))
    });
    crate::log::mask_in_log(access);
    crate::log::mask_in_log(refresh);
    // Whoever opened the link chose the certificate: it may not be the configured one.
    let got = crate::client::jwt::claims(access).and_then(|c| c.serial);
    let mismatch = match (session.config.cert_serial.as_deref(), got.as_deref()) {
        (Some(want), Some(got)) if !super::cert::same_serial(want, got) => {
            Some((want.to_string(), got.to_string()))
        }
        _ => None,
    };
    if let (Some((want, got)), true) = (&mismatch, session.config.link_serial_refuse) {
        delete_row(session, p, &row.link_id)?;
        return Err(Error::with(
            ANAF_ERR_LINK_FAILED,
            format!("Linkul a fost folosit cu certificatul {got}, nu cu cel configurat ({want}); tokenul nu a fost păstrat (\"link_serial\": \"refuse\"). Generați un link nou și folosiți certificatul {want}."),
            format!("The link was used with certificate {got}, not the configured one ({want}); the token was not kept (\"link_serial\": \"refuse\"). Create a new link and use certificate {want}."),
        ));
    }
    let mut info = session.store_token_response(access, refresh, expires_in)?;
    if let Some((want, got)) = mismatch {
        ::log::warn!(target: "anaf::link", "the link's token was obtained with certificate {got}, not the configured {want}");
        info.warning = Some(format!(
            "the token was obtained with certificate {got}, not the configured cert_serial {want}"
        ));
    }
    delete_row(session, p, &row.link_id)?;
    ::log::info!(
        target: "anaf::link",
        "link {}: token imported (certificate serial {})",
        &row.link_id[..row.link_id.len().min(6)],
        info.serial.as_deref().unwrap_or("?")
    );
    Ok(Poll::Done {
        info: Box::new(info),
    })
}

/// Asks the relay once (non-blocking apart from one short HTTP request).
/// `Ok(Pending)`, `Ok(Done)` (token stored), or an error: `ANAF_ERR_NO_LINK`,
/// `ANAF_ERR_LINK_EXPIRED`, `ANAF_ERR_LINK_FAILED` (the link stays usable until it
/// expires), or a network / database error (the link stays pending).
pub fn poll(session: &Session) -> Result<Poll> {
    let p = profile(session)?;
    let Some(row) = load(session, &p)? else {
        return Err(Error::new(ANAF_ERR_NO_LINK));
    };
    // An answer already fetched but not yet stored (an earlier poll was interrupted).
    if let Some(sealed) = row.sealed_answer.clone() {
        return finish(session, &p, &row, &sealed);
    }
    let t = now();
    if t > row.expires_at + CLOCK_GRACE {
        cancel_at_relay(session, &row);
        delete_row(session, &p, &row.link_id)?;
        return Err(expired_error(row.expires_at));
    }
    // One poller at a time per link, across threads and processes.
    let claimed = session
        .store
        .links()
        .claim(&p, &row.link_id, t + CLAIM_SECONDS, t)?;
    if !claimed {
        return Ok(Poll::Pending {
            link: link_of(&row),
        });
    }
    let result = ask_relay(session, &p, &row);
    // Release the claim if the row is still there.
    let _ = session.store.links().release(&p, &row.link_id);
    result
}

fn ask_relay(session: &Session, p: &Profile, row: &Row) -> Result<Poll> {
    let url = relay_endpoint(&row.relay_url, &format!("api/links/{}/poll", row.link_id))?;
    let http = session.http.clone();
    let bearer = Zeroizing::new(format!("Bearer {}", row.secret.as_str()));
    let auth = bearer.to_string();
    let request = http
        .post(url)
        .header(reqwest::header::AUTHORIZATION, auth)
        .timeout(POLL_TIMEOUT);
    let (status, body) = relay_answer(request, &row.relay_url)?;
    let body = Zeroizing::new(body);
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match (status, v.get("status").and_then(Value::as_str)) {
        (200, Some("pending")) => {
            if row.last_reason.is_some() {
                session.store.links().clear_failure(p, &row.link_id)?;
            }
            Ok(Poll::Pending { link: link_of(row) })
        }
        (200, Some("failed")) => {
            let reason = v
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("oauth")
                .to_string();
            let desc = v
                .get("error_description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let attempt = v.get("attempt").and_then(Value::as_i64).unwrap_or(0);
            session
                .store
                .links()
                .set_failure(p, &row.link_id, &reason, &desc, attempt)?;
            Err(failed_error(&reason, &desc, row.expires_at))
        }
        (200, Some("done")) => {
            // Keep the sealed answer first: if storing the token fails now, the next poll
            // finishes from the row (the relay has already deleted its copy).
            let sealed = json!({
                "ephemeral_public_key": v.get("ephemeral_public_key"),
                "nonce": v.get("nonce"),
                "ciphertext": v.get("ciphertext"),
            })
            .to_string();
            session
                .store
                .links()
                .set_sealed_answer(p, &row.link_id, &sealed)?;
            finish(session, p, row, &sealed)
        }
        (410, Some("expired")) => {
            delete_row(session, p, &row.link_id)?;
            Err(expired_error(row.expires_at))
        }
        (410, _) => {
            delete_row(session, p, &row.link_id)?;
            Err(Error::with(
                ANAF_ERR_LINK_FAILED,
                "Linkul a fost anulat; generați un link nou.",
                "The link was cancelled; create a new link.",
            ))
        }
        (404, _) => {
            delete_row(session, p, &row.link_id)?;
            if now() >= row.expires_at {
                Err(expired_error(row.expires_at))
            } else {
                let relay = &row.relay_url;
                Err(Error::with(
                    ANAF_ERR_LINK_FAILED,
                    format!(
                        "Serverul anaf-relay {relay} nu mai cunoaște acest link (a fost deja preluat sau serverul a fost repornit); generați un link nou."
                    ),
                    format!(
                        "The anaf-relay server {relay} no longer knows this link (already imported, or the server was restarted); create a new link."
                    ),
                ))
            }
        }
        (s, _) => Err(relay_http_error(s, &row.relay_url)),
    }
}

/// Polls until the link is done, expired or failed, or `timeout` passes
/// (`ANAF_ERR_TIMEOUT`; the link stays pending and may be polled again).
pub fn wait(session: &Session, timeout: Duration) -> Result<Poll> {
    let start = Instant::now();
    let p = profile(session)?;
    // A failure already reported before this wait is not news: the holder may be retrying.
    let seen = load(session, &p)?.and_then(|r| r.last_attempt);
    loop {
        let r = poll(session);
        let keep_waiting = match &r {
            Ok(Poll::Pending { .. }) => true,
            // A relay that does not answer for a moment is not the end of the wait.
            Err(e) if e.status == ANAF_ERR_NETWORK || e.status == ANAF_ERR_TIMEOUT => true,
            Err(e) if e.status == ANAF_ERR_LINK_FAILED => {
                let now_attempt = load(session, &p)
                    .ok()
                    .flatten()
                    .and_then(|r| r.last_attempt);
                now_attempt.is_some() && now_attempt == seen
            }
            _ => false,
        };
        if !keep_waiting {
            return r;
        }
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            return match r {
                Err(e) if e.status == ANAF_ERR_NETWORK || e.status == ANAF_ERR_TIMEOUT => Err(e),
                _ => {
                    let until = load(session, &p)?
                        .map(|row| local_time(row.expires_at))
                        .unwrap_or_default();
                    Err(Error::with(
                        ANAF_ERR_TIMEOUT,
                        format!("Tokenul nu a fost generat încă în browser; linkul rămâne valabil până la {until}."),
                        format!("The token was not generated in the browser yet; the link stays valid until {until}."),
                    ))
                }
            };
        }
        std::thread::sleep(left.min(WAIT_STEP));
    }
}

/// The JSON the C API hands out with a poll: no secret in it.
pub fn describe(session: &Session, outcome: &Result<Poll>) -> Value {
    let base = |status: &str| json!({ "status": status });
    match outcome {
        Ok(Poll::Pending { link }) => json!({
            "status": "pending",
            "link_id": link.id,
            "url": link.url,
            "expires_at": rfc3339(link.expires_at),
        }),
        Ok(Poll::Done { info }) => json!({
            "status": "done",
            "token": serde_json::to_value(info).unwrap_or(Value::Null),
        }),
        Err(e) => {
            let status = match e.status {
                ANAF_ERR_LINK_EXPIRED => "expired",
                ANAF_ERR_LINK_FAILED => "failed",
                ANAF_ERR_NO_LINK => "none",
                _ => "error",
            };
            let mut v = base(status);
            v["code"] = json!(e.status);
            v["message"] = json!(e.message(session.config.language));
            if e.status == ANAF_ERR_LINK_FAILED {
                if let Ok(p) = profile(session) {
                    if let Ok(Some(row)) = load(session, &p) {
                        v["reason"] = json!(row.last_reason);
                        v["detail"] = json!(row.last_detail);
                        v["url"] = json!(row.url);
                        v["expires_at"] = json!(rfc3339(row.expires_at));
                    }
                }
            }
            v
        }
    }
}
