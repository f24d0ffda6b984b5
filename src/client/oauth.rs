//! OAuth2 against ANAF's identity provider with the `oauth2` crate: the authorize URL,
//! the authorization-code and refresh-token grants (HTTP Basic client authentication,
//! `token_content_type=jwt` everywhere) and the best-effort revoke, with every failure
//! mapped to a stable status that keeps the IdP's own words.

use super::answer::is_html;
use super::http::{error_chain, is_tls, read_body, too_large, BodyError, MAX_TOKEN_ANSWER};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::status::*;
use oauth2::basic::{BasicClient, BasicErrorResponse, BasicTokenResponse};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, HttpClientError, RedirectUrl, RefreshToken, RequestTokenError, RevocationUrl,
    StandardRevocableToken, TokenResponse, TokenUrl,
};
use std::sync::{Arc, Mutex};
use url::Url;

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointSet, EndpointSet>;

/// What the token endpoint returned.
#[derive(Clone, Debug)]
pub struct TokenAnswer {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: Option<u64>,
    pub token_type: String,
}

/// Which grant a failure belongs to (an `invalid_grant` means different things).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    Code,
    Refresh,
    Revoke,
}

/// A random, URL-safe `state` (128 bits).
pub fn new_state() -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// The URL the login window (or the browser link) opens:
/// `{idp}/anaf-oauth2/v1/authorize?response_type=code&client_id=…&state=…&redirect_uri=…&token_content_type=jwt`.
pub fn authorize_url(config: &Config, state: &str) -> Result<Url> {
    let client = client(config)?;
    let state = state.to_string();
    let (url, _) = client
        .authorize_url(move || CsrfToken::new(state))
        .add_extra_param("token_content_type", "jwt")
        .url();
    Ok(url)
}

fn url_error(key: &str, e: impl std::fmt::Display) -> Error {
    Error::with(
        ANAF_ERR_INVALID_CONFIG,
        format!("Câmpul \"{key}\": {e}"),
        format!("Field \"{key}\": {e}"),
    )
}

/// The oauth2 client for this configuration (Basic client authentication, as ANAF wants).
pub fn client(config: &Config) -> Result<Client> {
    let (id, secret, redirect) = config.oauth()?;
    Ok(BasicClient::new(ClientId::new(id.to_string()))
        .set_client_secret(ClientSecret::new(secret.to_string()))
        .set_auth_type(AuthType::BasicAuth)
        .set_auth_uri(AuthUrl::from_url(config.idp_endpoint("authorize")))
        .set_token_uri(TokenUrl::from_url(config.idp_endpoint("token")))
        .set_revocation_url(RevocationUrl::from_url(config.idp_endpoint("revoke")))
        .set_redirect_uri(
            RedirectUrl::new(redirect.to_string()).map_err(|e| url_error("redirect_uri", e))?,
        ))
}

/// What we saw of the last HTTP answer, to tell an HTML page from an empty answer from a 5xx.
#[derive(Clone, Debug, Default)]
struct Seen {
    status: u16,
    content_type: String,
    body_start: String,
    location: Option<String>,
    /// The body was past its limit and not read: the error to report.
    too_large: Option<Error>,
}

type SendError = HttpClientError<reqwest::Error>;

/// Runs one oauth2 request over the session's reqwest client, remembering what came back.
async fn send(
    http: &reqwest::Client,
    seen: &Arc<Mutex<Option<Seen>>>,
    req: oauth2::HttpRequest,
) -> std::result::Result<oauth2::HttpResponse, SendError> {
    let req: reqwest::Request = req.try_into().map_err(Box::new)?;
    let url = req.url().clone();
    let resp = http.execute(req).await.map_err(Box::new)?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let header = |n: reqwest::header::HeaderName| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.to_string())
    };
    let mut answer = Seen {
        status: status.as_u16(),
        content_type: header(reqwest::header::CONTENT_TYPE).unwrap_or_default(),
        location: header(reqwest::header::LOCATION),
        ..Seen::default()
    };
    let body = match read_body(resp, MAX_TOKEN_ANSWER).await {
        Ok(b) => b,
        Err(BodyError::Net(e)) => return Err(Box::new(e).into()),
        Err(BodyError::TooLarge) => {
            answer.too_large = Some(too_large(&url, MAX_TOKEN_ANSWER));
            *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(answer);
            return Err(HttpClientError::Other("answer too large".into()));
        }
    };
    answer.body_start = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(answer);
    let mut b = oauth2::http::Response::builder().status(status.as_u16());
    for (k, v) in headers.iter() {
        b = b.header(k.as_str(), v.as_bytes());
    }
    b.body(body).map_err(HttpClientError::Http)
}

fn answer(r: BasicTokenResponse) -> TokenAnswer {
    TokenAnswer {
        access_token: r.access_token().secret().clone(),
        refresh_token: r.refresh_token().map(|t| t.secret().clone()),
        expires_in: r.expires_in().map(|d| d.as_secs()),
        token_type: r.token_type().as_ref().to_string(),
    }
}

/// Exchanges an authorization code (valid 60 seconds at ANAF) for a token pair.
pub async fn exchange_code(
    http: &reqwest::Client,
    config: &Config,
    code: &str,
) -> Result<TokenAnswer> {
    let client = client(config)?;
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    let h = http.clone();
    let caller = move |req| {
        let (h, s) = (h.clone(), s.clone());
        async move { send(&h, &s, req).await }
    };
    let r = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .add_extra_param("token_content_type", "jwt")
        .request_async(&caller)
        .await;
    r.map(answer)
        .map_err(|e| map_error(e, take(&seen), Grant::Code))
}

/// Spends a refresh token for a new pair (ANAF rotates both tokens).
pub async fn refresh(
    http: &reqwest::Client,
    config: &Config,
    refresh_token: &str,
) -> Result<TokenAnswer> {
    let client = client(config)?;
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    let h = http.clone();
    let caller = move |req| {
        let (h, s) = (h.clone(), s.clone());
        async move { send(&h, &s, req).await }
    };
    let rt = RefreshToken::new(refresh_token.to_string());
    let r = client
        .exchange_refresh_token(&rt)
        .add_extra_param("token_content_type", "jwt")
        .request_async(&caller)
        .await;
    r.map(answer)
        .map_err(|e| map_error(e, take(&seen), Grant::Refresh))
}

/// Asks ANAF to revoke a refresh token. ANAF's `/revoke` is unreliable (it was seen
/// answering a 302 to a login wall), so callers treat failure as a note, not a stop.
pub async fn revoke(http: &reqwest::Client, config: &Config, refresh_token: &str) -> Result<()> {
    let client = client(config)?;
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    let h = http.clone();
    let caller = move |req| {
        let (h, s) = (h.clone(), s.clone());
        async move { send(&h, &s, req).await }
    };
    let req = client
        .revoke_token(StandardRevocableToken::RefreshToken(RefreshToken::new(
            refresh_token.to_string(),
        )))
        .map_err(|e| Error::verbatim(ANAF_ERR_OAUTH, format!("revoke: {e}")))?;
    match req.request_async(&caller).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let seen = take(&seen);
            if let Some(too_large) = seen.as_ref().and_then(|s| s.too_large.clone()) {
                return Err(too_large);
            }
            Err(match e {
                RequestTokenError::ServerResponse(er) => Error::verbatim(
                    ANAF_ERR_OAUTH,
                    describe(
                        er.error().as_ref(),
                        er.error_description().map(|s| s.as_str()),
                        seen.as_ref(),
                    ),
                ),
                RequestTokenError::Request(e) => transport_error(&e),
                other => unexpected_answer(&other.to_string(), seen.as_ref()),
            })
        }
    }
}

fn take(seen: &Arc<Mutex<Option<Seen>>>) -> Option<Seen> {
    seen.lock().unwrap_or_else(|p| p.into_inner()).take()
}

fn describe(code: &str, description: Option<&str>, seen: Option<&Seen>) -> String {
    let status = seen
        .map(|s| format!(" (HTTP {})", s.status))
        .unwrap_or_default();
    match description {
        Some(d) if !d.is_empty() => format!("ANAF: {code}: {d}{status}"),
        _ => format!("ANAF: {code}{status}"),
    }
}

/// The status of an OAuth error answer, for the grant it belongs to: the one rule for the
/// token endpoint's JSON, the authorize redirect's `error=` and the IdP's error pages.
/// `invalid_grant` is that grant's verdict: a code that expired or was spent (a new login
/// window gives a new one), or a refresh token ANAF no longer honours (log in again).
/// A redirect_uri complaint comes as `invalid_request` (authorize) or `invalid_grant`
/// (a code exchanged with another redirect_uri than it was issued for).
pub fn error_status(error: &str, description: Option<&str>, grant: Grant) -> i32 {
    let redirect = format!("{error} {}", description.unwrap_or_default())
        .to_ascii_lowercase()
        .contains("redirect");
    match error {
        "invalid_client" | "unauthorized_client" => ANAF_ERR_INVALID_CLIENT,
        "access_denied" => ANAF_ERR_ACCESS_DENIED,
        _ if redirect && (grant == Grant::Code || error == "invalid_request") => {
            ANAF_ERR_REDIRECT_MISMATCH
        }
        "invalid_grant" if grant == Grant::Code => ANAF_ERR_CODE_EXPIRED,
        "invalid_grant" => ANAF_ERR_LOGIN_REQUIRED,
        _ => ANAF_ERR_OAUTH,
    }
}

/// Maps an oauth2 failure to a status, keeping what the IdP said.
fn map_error(
    e: RequestTokenError<SendError, BasicErrorResponse>,
    seen: Option<Seen>,
    grant: Grant,
) -> Error {
    if let Some(too_large) = seen.as_ref().and_then(|s| s.too_large.clone()) {
        return too_large;
    }
    match e {
        RequestTokenError::ServerResponse(er) => {
            let code = er.error().as_ref().to_string();
            let desc = er.error_description().cloned();
            let text = describe(&code, desc.as_deref(), seen.as_ref());
            let status = error_status(&code, desc.as_deref(), grant);
            Error::verbatim(status, text)
        }
        RequestTokenError::Request(e) => transport_error(&e),
        RequestTokenError::Parse(err, _) => unexpected_answer(&err.to_string(), seen.as_ref()),
        RequestTokenError::Other(msg) => unexpected_answer(&msg, seen.as_ref()),
    }
}

/// A network failure: timeout, TLS, or the connection itself.
fn transport_error(e: &SendError) -> Error {
    let (text, timeout) = match e {
        HttpClientError::Reqwest(r) => (error_chain(r.as_ref()), r.is_timeout()),
        _ => (error_chain(e), false),
    };
    let status = if timeout {
        ANAF_ERR_TIMEOUT
    } else if is_tls(&text) {
        ANAF_ERR_TLS
    } else {
        ANAF_ERR_NETWORK
    };
    Error::verbatim(status, format!("({text})"))
}

/// An answer that is not the OAuth JSON: an HTML page, nothing at all, or a bare HTTP error.
fn unexpected_answer(why: &str, seen: Option<&Seen>) -> Error {
    let Some(s) = seen else {
        return Error::verbatim(ANAF_ERR_BAD_RESPONSE, format!("({why})"));
    };
    let start = s.body_start.trim_start();
    let html = is_html(&s.content_type, start.as_bytes());
    let snippet: String = start.chars().take(160).collect();
    let at = |extra: &str| format!("HTTP {}{extra}: {snippet}", s.status);
    if html {
        return Error::verbatim(ANAF_ERR_HTML_RESPONSE, at(""));
    }
    if (300..400).contains(&s.status) {
        let to = s.location.as_deref().unwrap_or("?");
        let status = s.status;
        return Error::with(
            ANAF_ERR_HTML_RESPONSE,
            format!("HTTP {status} redirecționare către {to}"),
            format!("HTTP {status} redirect to {to}"),
        );
    }
    if s.status == 429 {
        return Error::verbatim(ANAF_ERR_RATE_LIMITED, at(""));
    }
    if start.is_empty() {
        let status = s.status;
        return Error::with(
            if status == 200 {
                ANAF_ERR_BAD_RESPONSE
            } else {
                ANAF_ERR_HTTP
            },
            format!("HTTP {status}: răspuns gol ({why})"),
            format!("HTTP {status}: empty answer ({why})"),
        );
    }
    if s.status >= 400 || s.status < 200 || s.status > 299 {
        return Error::verbatim(ANAF_ERR_HTTP, at(""));
    }
    Error::verbatim(ANAF_ERR_BAD_RESPONSE, at(&format!(" ({why})")))
}

/// What the user pasted in the manual path: a bare code, or the whole redirected URL
/// (`https://…/callback?code=…&state=…`, or `?error=access_denied…`). Returns the code.
pub fn code_from_input(input: &str) -> Result<String> {
    let s = input.trim().trim_matches('"').trim();
    if s.is_empty() {
        return Err(Error::with(
            ANAF_ERR_INVALID_ARGUMENT,
            "Codul de autorizare este gol.",
            "The authorization code is empty.",
        ));
    }
    let query = if s.contains("://") {
        let u = Url::parse(s).map_err(|e| {
            Error::with(
                ANAF_ERR_INVALID_ARGUMENT,
                format!("Adresa lipită nu este validă ({e})."),
                format!("The pasted address is not valid ({e})."),
            )
        })?;
        Some(
            u.query_pairs()
                .into_owned()
                .collect::<Vec<(String, String)>>(),
        )
    } else if s.contains("code=") || s.contains("error=") {
        let q = s.trim_start_matches('?');
        Some(
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect(),
        )
    } else {
        None
    };
    let Some(pairs) = query else {
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::with(
                ANAF_ERR_INVALID_ARGUMENT,
                "Codul de autorizare conține spații; copiați-l din nou.",
                "The authorization code contains spaces; copy it again.",
            ));
        }
        return Ok(s.to_string());
    };
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if let Some(err) = get("error") {
        let desc = get("error_description").unwrap_or_default();
        let status = if err == "access_denied" {
            ANAF_ERR_ACCESS_DENIED
        } else {
            ANAF_ERR_OAUTH
        };
        return Err(Error::verbatim(status, describe(&err, Some(&desc), None)));
    }
    match get("code") {
        Some(c) if !c.trim().is_empty() => Ok(c.trim().to_string()),
        _ => Err(Error::with(
            ANAF_ERR_INVALID_ARGUMENT,
            "Adresa lipită nu conține parametrul code=.",
            "The pasted address has no code= parameter.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_json(
            r#"{"database":"x.db","cif":"14399840","client_id":"cid","client_secret":"sec",
                "redirect_uri":"https://localhost:9443/anaf/callback","idp_url":"https://127.0.0.1:1/"}"#,
        )
        .unwrap()
    }

    #[test]
    fn invalid_grant_depends_on_the_grant() {
        let st = |e: &str, d: &str, g| error_status(e, Some(d), g);
        assert_eq!(
            st("invalid_grant", "expired", Grant::Code),
            ANAF_ERR_CODE_EXPIRED
        );
        assert_eq!(
            st("invalid_grant", "expired", Grant::Refresh),
            ANAF_ERR_LOGIN_REQUIRED
        );
        let mismatch = "Redirect-URI https://x does not match";
        assert_eq!(
            st("invalid_grant", mismatch, Grant::Code),
            ANAF_ERR_REDIRECT_MISMATCH
        );
        assert_eq!(
            st("invalid_grant", mismatch, Grant::Refresh),
            ANAF_ERR_LOGIN_REQUIRED
        );
        assert_eq!(
            st("invalid_request", mismatch, Grant::Refresh),
            ANAF_ERR_REDIRECT_MISMATCH
        );
        assert_eq!(st("invalid_request", "x", Grant::Code), ANAF_ERR_OAUTH);
        assert_eq!(st("access_denied", "", Grant::Code), ANAF_ERR_ACCESS_DENIED);
        assert_eq!(
            st("unauthorized_client", "", Grant::Refresh),
            ANAF_ERR_INVALID_CLIENT
        );
    }

    #[test]
    fn authorize_url_has_every_parameter() {
        let u = authorize_url(&config(), "st4te").unwrap();
        assert_eq!(u.path(), "/anaf-oauth2/v1/authorize");
        let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "cid");
        assert_eq!(q["redirect_uri"], "https://localhost:9443/anaf/callback");
        assert_eq!(q["state"], "st4te");
        assert_eq!(q["token_content_type"], "jwt");
    }

    #[test]
    fn states_are_random_and_url_safe() {
        let a = new_state();
        assert_ne!(a, new_state());
        assert!(a.len() >= 20);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn authorize_url_needs_the_oauth_fields() {
        let c = Config::from_json(r#"{"database":"x.db","cif":"14399840"}"#).unwrap();
        assert_eq!(
            authorize_url(&c, "s").unwrap_err().status,
            ANAF_ERR_INVALID_CONFIG
        );
    }

    #[test]
    fn pasted_codes_and_urls() {
        assert_eq!(code_from_input("  abc123 ").unwrap(), "abc123");
        assert_eq!(
            code_from_input("https://localhost:9443/anaf/callback?code=x%2By&state=s").unwrap(),
            "x+y"
        );
        assert_eq!(code_from_input("?code=zz&state=1").unwrap(), "zz");
        let e =
            code_from_input("https://localhost/cb?error=access_denied&error_description=no+cert")
                .unwrap_err();
        assert_eq!(e.status, ANAF_ERR_ACCESS_DENIED);
        assert!(e.message(Lang::En).contains("no cert"));
        assert_eq!(
            code_from_input("https://localhost/cb?state=1")
                .unwrap_err()
                .status,
            ANAF_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            code_from_input("").unwrap_err().status,
            ANAF_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            code_from_input("ab cd").unwrap_err().status,
            ANAF_ERR_INVALID_ARGUMENT
        );
    }

    #[test]
    fn unexpected_answers_are_told_apart() {
        let seen = |status, ct: &str, body: &str| Seen {
            status,
            content_type: ct.into(),
            body_start: body.into(),
            location: None,
            too_large: None,
        };
        let e = unexpected_answer(
            "x",
            Some(&seen(200, "text/html", "<html>Request Rejected</html>")),
        );
        assert_eq!(e.status, ANAF_ERR_HTML_RESPONSE);
        assert!(e.message(Lang::En).contains("Request Rejected"));
        assert_eq!(
            unexpected_answer("x", Some(&seen(502, "", ""))).status,
            ANAF_ERR_HTTP
        );
        assert_eq!(
            unexpected_answer("x", Some(&seen(200, "application/json", ""))).status,
            ANAF_ERR_BAD_RESPONSE
        );
        assert_eq!(
            unexpected_answer("x", Some(&seen(429, "text/plain", "slow"))).status,
            ANAF_ERR_RATE_LIMITED
        );
        let mut r = seen(302, "", "");
        r.location = Some("https://wall/".into());
        let e = unexpected_answer("x", Some(&r));
        assert_eq!(e.status, ANAF_ERR_HTML_RESPONSE);
        assert!(e.message(Lang::En).contains("https://wall/"));
    }
}
