//! ANAF's endpoints, each described once (where it lives, its method, whether it needs the
//! token, when it may be repeated, the daily quota it counts against, a pace of its own),
//! and the one way a call to one is made: [`Endpoint::request`] builds it, [`Request::send`]
//! counts the quota and goes through the pipeline, [`Request::decode`] also reads the answer
//! (an ANAF limit found in it pauses the pacer).
//!
//! A new endpoint is a `pub const` here beside its service's others, its answer type and
//! parser in the service, and its export in `ffi`.

use super::answer::Reply;
use super::http;
use super::pipeline::{self, Call, Failure, Pace, Payload, Retry};
use super::Session;
use crate::error::{Error, Result};
use crate::status::*;
use crate::store::journal;
use reqwest::Method;
use url::Url;

/// Where an endpoint's path starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// A service of the OAuth API, under the environment (`…/prod/FCTEL/rest/`).
    Api(&'static str),
    /// The OAuth API's root (`TestOauth`, which has no environment).
    ApiRoot,
    /// The public e-Factura services (validation, PDF): `prod/FCTEL/rest/` under the
    /// public address, whatever the environment.
    Public,
    /// The public services' root (the signature check, the VAT registry).
    PublicRoot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
}

/// What a call counts against: ANAF's daily limit of the kind, per CIF or per message
/// (limiteApeluriAPI.txt). The kind names the count in the database, which every process
/// sharing it keeps: it never changes once released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub kind: &'static str,
    pub per_day: u32,
}

impl Quota {
    /// Counts one call under `key` (a CIF, or `cif/id` for a message); past the limit,
    /// ANAF_ERR_QUOTA_EXCEEDED before anything is sent.
    pub fn count(&self, s: &Session, key: &str) -> Result<u32> {
        journal::count_call(&s.store, self.kind, key, self.per_day)
    }

    /// The calls of the day so far under `key`.
    pub fn used(&self, s: &Session, key: &str) -> Result<u32> {
        journal::calls_today(&s.store, self.kind, key)
    }
}

/// The quota key of one message of the session's company: its CIF and its id.
pub fn message_key(s: &Session, id: &str) -> String {
    format!("{}/{}", s.config.cif, id)
}

/// One ANAF endpoint.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    pub base: Base,
    /// The path under the base; a request may add segments (`stareMesaj/{id}`).
    pub path: &'static str,
    pub verb: Verb,
    /// Needs the Bearer token.
    pub auth: bool,
    pub retry: Retry,
    pub quota: Option<Quota>,
    /// A pace of the service's own besides the API's.
    pub pace: Option<Pace>,
    /// The most of an answer read before it is refused.
    pub max_answer: usize,
}

impl Endpoint {
    /// A GET on the OAuth API, repeated safely, counted against nothing.
    pub const fn get(base: Base, path: &'static str) -> Endpoint {
        Endpoint {
            base,
            path,
            verb: Verb::Get,
            auth: true,
            retry: Retry::Safe,
            quota: None,
            pace: None,
            max_answer: http::MAX_ANSWER,
        }
    }

    /// A POST on the OAuth API that changes nothing at ANAF (safe to repeat).
    pub const fn post(base: Base, path: &'static str) -> Endpoint {
        let mut e = Endpoint::get(base, path);
        e.verb = Verb::Post;
        e
    }

    /// An upload: repeated only when nothing reached ANAF.
    pub const fn sent_once(mut self) -> Endpoint {
        self.retry = Retry::OnlyIfNotSent;
        self
    }

    /// A public service: no token.
    pub const fn without_token(mut self) -> Endpoint {
        self.auth = false;
        self
    }

    /// An answer that is a few KB when right (TestOauth): refused past `max`.
    pub const fn answer_at_most(mut self, max: usize) -> Endpoint {
        self.max_answer = max;
        self
    }

    pub const fn paced(mut self, pace: Pace) -> Endpoint {
        self.pace = Some(pace);
        self
    }

    pub const fn counted(mut self, quota: Quota) -> Endpoint {
        self.quota = Some(quota);
        self
    }

    /// A request to this endpoint for the session's configuration.
    pub fn request<'s>(&'static self, s: &'s Session) -> Result<Request<'s>> {
        let c = &s.config;
        let base = match self.base {
            Base::Api(service) => c.api_base(service),
            Base::ApiRoot => crate::config::join(&c.api_url, ""),
            Base::Public => c.public_base(),
            Base::PublicRoot => crate::config::join(&c.public_url, ""),
        };
        // A base that takes no path (a `mailto:` typed as the API's address) is the
        // configuration's fault, said so, never a call sent somewhere else.
        let url = base.join(self.path).map_err(|e| {
            let path = self.path;
            Error::with(
                ANAF_ERR_INVALID_CONFIG,
                format!("Adresa „{base}” nu primește calea „{path}”: {e}"),
                format!("The address \"{base}\" does not take the path \"{path}\": {e}"),
            )
        })?;
        Ok(Request {
            s,
            endpoint: self,
            url,
            payload: Payload::None,
            count_as: None,
        })
    }
}

/// A call being built; nothing is sent before [`Request::send`].
pub struct Request<'s> {
    s: &'s Session,
    endpoint: &'static Endpoint,
    url: Url,
    payload: Payload,
    count_as: Option<String>,
}

impl Request<'_> {
    /// Adds `?name=value`.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.url.query_pairs_mut().append_pair(name, value);
        self
    }

    /// Adds `?name=DA` when `on` (ANAF's flags).
    pub fn flag(self, name: &str, on: bool) -> Self {
        if on {
            self.query(name, "DA")
        } else {
            self
        }
    }

    /// Adds a path segment, escaped (`lista/{zile}/{cif}`).
    pub fn segment(mut self, value: &str) -> Self {
        if let Ok(mut p) = self.url.path_segments_mut() {
            p.pop_if_empty().push(value);
        }
        self
    }

    pub fn body(mut self, data: Vec<u8>, content_type: &'static str) -> Self {
        self.payload = Payload::Bytes { data, content_type };
        self
    }

    /// A multipart form: (field, file name, bytes).
    pub fn files(mut self, files: Vec<(&'static str, String, Vec<u8>)>) -> Self {
        self.payload = Payload::Files(files);
        self
    }

    /// The key the endpoint's quota is counted under; the session's CIF when not given.
    pub fn count_as(mut self, key: impl Into<String>) -> Self {
        self.count_as = Some(key.into());
        self
    }

    /// The call as the pipeline takes it, for senders that count on their own (the
    /// journaled uploads).
    pub fn into_call(self) -> Call {
        let e = self.endpoint;
        Call {
            method: match e.verb {
                Verb::Get => Method::GET,
                Verb::Post => Method::POST,
            },
            url: self.url,
            payload: self.payload,
            auth: e.auth,
            retry: e.retry,
            pace: e.pace,
            max_answer: e.max_answer,
        }
    }

    /// Counts the quota, then sends; `maybe_received` of a failure says whether ANAF may
    /// have acted on it.
    pub fn send(self) -> std::result::Result<Reply, Failure> {
        let s = self.s;
        if let Some(q) = self.endpoint.quota {
            let key = self.count_as.as_deref().unwrap_or(&s.config.cif);
            q.count(s, key)?;
        }
        pipeline::send(s, &self.into_call())
    }

    pub fn fetch(self) -> Result<Reply> {
        self.send().map_err(|f| f.error)
    }

    /// Sends and reads the answer with `parse`.
    pub fn decode<T>(self, parse: impl FnOnce(&Reply) -> Result<T>) -> Result<T> {
        let reply = self.fetch()?;
        parse(&reply).map_err(pipeline::limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::etransport::STATUS;
    use crate::client::token::TEST_OAUTH;

    fn session(api: &str) -> (tempfile::TempDir, Session) {
        let d = tempfile::tempdir().unwrap();
        let cfg = serde_json::json!({
            "database": d.path().join("t.db"),
            "cif": "14399840",
            "api_url": api,
            "environment": "test",
        });
        let c = crate::config::Config::from_json(&cfg.to_string()).unwrap();
        (d, Session::open(c).unwrap())
    }

    #[test]
    fn paths_join_their_base_and_segments_are_escaped() {
        let (_d, s) = session("https://api.anaf.ro/");
        let r = STATUS.request(&s).unwrap().segment("12 34/5");
        assert_eq!(
            r.into_call().url.as_str(),
            "https://api.anaf.ro/test/ETRANSPORT/ws/v1/stareMesaj/12%2034%2F5"
        );
        let r = TEST_OAUTH.request(&s).unwrap().query("name", "anaf bridge");
        assert_eq!(
            r.into_call().url.as_str(),
            "https://api.anaf.ro/TestOauth/jaxrs/hello?name=anaf+bridge"
        );
    }
}
