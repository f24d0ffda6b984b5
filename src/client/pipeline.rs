//! One ANAF call, the same way for every service (built from its description in
//! `endpoint`): the process pacer, the Bearer token (silent refresh, one retry after a
//! 401), retries with backoff only where a second request cannot do harm, and the shared
//! classification of the answer.
//!
//! Runs on the host's thread: the token code may block on the runtime itself, so only
//! the network part of each attempt runs inside `block_on`.

use super::answer::{self, NetFailure, Reply};
use super::{http, pacer, Session};
use crate::error::Error;
use crate::status::*;
use reqwest::Method;
use std::time::Duration;
use url::Url;

/// When a failed attempt may be repeated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Reads and pure computations (GET, validation, PDF): on 5xx, resets, timeouts.
    Safe,
    /// Uploads: only when the connection was never made (nothing reached ANAF).
    OnlyIfNotSent,
}

/// The body of a request.
#[derive(Clone, Debug)]
pub enum Payload {
    None,
    Bytes {
        data: Vec<u8>,
        content_type: &'static str,
    },
    /// Multipart form: (field, file name, bytes).
    Files(Vec<(&'static str, String, Vec<u8>)>),
}

#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    pub url: Url,
    pub payload: Payload,
    /// Needs the Bearer token (the OAuth API); the public services do not.
    pub auth: bool,
    pub retry: Retry,
    /// A pace of the service's own besides the API's (the VAT registry's one request a
    /// second).
    pub pace: Option<Pace>,
    /// The most of an answer read (`http::MAX_ANSWER` for the services).
    pub max_answer: usize,
}

/// A service's own limit: its pacer in this process and its scope in the database's pace
/// (kept by every process sharing the database, as the API's is).
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    pub pacer: &'static pacer::Pacer,
    pub per_minute: u32,
    pub scope: &'static str,
}

/// A call that ended without a usable answer; `maybe_received` says whether ANAF may have
/// got (and acted on) the request — what the upload journal needs to know.
#[derive(Debug)]
pub struct Failure {
    pub error: Error,
    pub maybe_received: bool,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            error,
            maybe_received: false,
        }
    }
}

/// Attempts of a `Retry::Safe` call (the first one included).
pub(crate) const ATTEMPTS: u32 = 3;
/// The first pause between attempts; doubles each time.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(200);

fn backoff(attempt: u32) -> Duration {
    // A little jitter so that several threads do not come back in step.
    let jitter = rand::random::<u64>() % 100;
    FIRST_BACKOFF * 2u32.pow(attempt.saturating_sub(1)) + Duration::from_millis(jitter)
}

enum Attempt {
    Reply(Reply),
    Net(Error, NetFailure),
    /// An answer came but was refused unread (past its size limit): not retried.
    Refused(Error),
}

async fn attempt(s: &Session, call: &Call, token: Option<&str>) -> Attempt {
    let mut rb = s.http.request(call.method.clone(), call.url.clone());
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    rb = match &call.payload {
        Payload::None => rb,
        Payload::Bytes { data, content_type } => rb
            .header(reqwest::header::CONTENT_TYPE, *content_type)
            .body(data.clone()),
        Payload::Files(files) => {
            let mut form = reqwest::multipart::Form::new();
            for (field, name, data) in files {
                let part = reqwest::multipart::Part::bytes(data.clone()).file_name(name.clone());
                form = form.part(*field, part);
            }
            rb.multipart(form)
        }
    };
    let resp = match rb.send().await {
        Ok(r) => r,
        Err(e) => {
            let (err, f) = answer::network_error(&e);
            return Attempt::Net(err, f);
        }
    };
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let retry_after = answer::retry_after(resp.headers());
    match http::read_body(resp, call.max_answer).await {
        Ok(body) => Attempt::Reply(Reply {
            status,
            content_type,
            retry_after,
            body,
        }),
        // The status line came, so the request reached ANAF; the body broke off.
        Err(http::BodyError::Net(e)) => {
            Attempt::Net(answer::network_error(&e).0, NetFailure::Unknown)
        }
        Err(http::BodyError::TooLarge) => {
            Attempt::Refused(http::too_large(&call.url, call.max_answer))
        }
    }
}

/// The scope of the pace the API's calls keep in the database.
fn shared_scope(s: &Session) -> String {
    format!("api/{}", s.config.environment.as_str())
}

fn sleep_until_ms(at_ms: i64) {
    let wait = at_ms - crate::time::now_ms();
    if wait > 0 {
        std::thread::sleep(Duration::from_millis(wait as u64));
    }
}

/// Waits for the call's turn, every attempt: its service's own pace, the process-wide
/// one, and for the API (the calls with a token) the pace kept in the database. Both the
/// API's and a service's own are kept there too, by every process and workstation sharing
/// it (store::pace). A database that cannot be written leaves the call to the process's.
fn wait_turn(s: &Session, call: &Call) {
    let shared = |scope: &str, per_minute: u32| {
        let interval = pacer::interval(per_minute).as_millis().max(1) as i64;
        let now = crate::time::now_ms();
        match s.store.reserve_slot(scope, interval, now) {
            Ok(slot) => sleep_until_ms(slot),
            Err(e) => {
                ::log::warn!(target: "anaf::pacer", "the shared pace of {scope} could not be kept: {e:?}")
            }
        }
    };
    if let Some(p) = call.pace {
        let at = p.pacer.reserve(p.per_minute);
        std::thread::sleep(at.saturating_duration_since(std::time::Instant::now()));
        shared(p.scope, p.per_minute);
    }
    let rate = s.config.rate_limit_per_minute;
    let at = pacer::global().reserve(rate);
    std::thread::sleep(at.saturating_duration_since(std::time::Instant::now()));
    if call.auth {
        shared(&shared_scope(s), rate);
    }
}

/// A limit answer: the other processes sharing the database pause too.
fn pause_shared(s: &Session, pause: Duration) {
    let until = crate::time::now_ms() + pause.as_millis() as i64;
    if let Err(e) = s.store.pause_slots(&shared_scope(s), until) {
        ::log::warn!(target: "anaf::pacer", "the shared pause could not be written: {e:?}");
    }
}

/// Makes the call and returns a 2xx answer that is not an HTML page; every other outcome
/// is a classified error.
pub fn send(s: &Session, call: &Call) -> std::result::Result<Reply, Failure> {
    let mut token = if call.auth {
        Some(s.access_token()?)
    } else {
        None
    };
    let mut refreshed = false;
    let mut n = 0;
    loop {
        n += 1;
        wait_turn(s, call);
        let outcome = http::block_on(attempt(s, call, token.as_deref()));
        let retryable;
        let failure = match outcome {
            Attempt::Reply(r) if r.status == 401 && call.auth && !refreshed => {
                // The stored token was refused: refresh once and repeat with the new one.
                refreshed = true;
                n -= 1;
                let rejected = token.take().unwrap_or_default();
                ::log::info!(target: "anaf::call", "401 from {}: refreshing the token once", call.url.path());
                token = Some(s.access_token_after_401(&rejected)?);
                continue;
            }
            Attempt::Reply(r) => match answer::check_http(&r) {
                Ok(()) => {
                    pacer::global().relax();
                    if call.auth {
                        s.note_answer(&call.url, &r.body);
                    }
                    return Ok(r);
                }
                Err(e) => {
                    if e.status == ANAF_ERR_RATE_LIMITED {
                        let pause = pacer::global().back_off(r.retry_after);
                        if call.auth {
                            pause_shared(s, pause);
                        }
                    }
                    let server_error = r.status >= 500 && e.status == ANAF_ERR_HTTP;
                    // A service's own pace was kept and still refused (another machine
                    // asked just before, or the request waited for its connection): the call
                    // changes nothing, so it goes again after the pause.
                    let paced_refusal = e.status == ANAF_ERR_RATE_LIMITED && call.pace.is_some();
                    retryable = (server_error || paced_refusal) && call.retry == Retry::Safe;
                    // A 500 may have half-done the work; gateways (502-504) did not pass it on.
                    let maybe = r.status == 500;
                    Failure {
                        error: e,
                        maybe_received: maybe,
                    }
                }
            },
            Attempt::Net(e, NetFailure::NotSent) => {
                retryable = true;
                Failure {
                    error: e,
                    maybe_received: false,
                }
            }
            Attempt::Net(e, NetFailure::Unknown) => {
                retryable = call.retry == Retry::Safe;
                Failure {
                    error: e,
                    maybe_received: true,
                }
            }
            // ANAF answered (so it got the request); the same answer would come again.
            Attempt::Refused(e) => {
                retryable = false;
                Failure {
                    error: e,
                    maybe_received: true,
                }
            }
        };
        if !retryable || n >= ATTEMPTS {
            ::log::warn!(target: "anaf::call", "{} {}: {:?}", call.method, call.url.path(), failure.error);
            return Err(failure);
        }
        let pause = backoff(n);
        ::log::info!(
            target: "anaf::call",
            "{} {} attempt {n} failed ({}), again in {pause:?}",
            call.method,
            call.url.path(),
            crate::status::name(failure.error.status)
        );
        std::thread::sleep(pause);
    }
}

/// A limit answer found in a body (quota text): the pacer pauses too.
pub fn limits(e: Error) -> Error {
    if e.status == ANAF_ERR_QUOTA_EXCEEDED || e.status == ANAF_ERR_RATE_LIMITED {
        pacer::global().back_off(None);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows() {
        assert!(
            backoff(1) >= FIRST_BACKOFF && backoff(1) < FIRST_BACKOFF + Duration::from_millis(100)
        );
        assert!(backoff(2) >= FIRST_BACKOFF * 2);
        assert!(backoff(3) >= FIRST_BACKOFF * 4);
    }
}
