//! The HTTP machinery shared by every ANAF service: one tokio runtime per process and one
//! reqwest client per session (connection reuse, timeouts, the TLS trust: the system's
//! roots, and the extra CA of `ca_file` for the configured hosts only).

use crate::config::Config;
use crate::error::{Error, Result};
use crate::status::{ANAF_ERR_BAD_RESPONSE, ANAF_ERR_FILE, ANAF_ERR_INVALID_CONFIG};
use once_cell::sync::Lazy;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::future::Future;
use std::sync::Arc;
use tokio::runtime::Runtime;
use url::Url;

static RUNTIME: Lazy<Runtime> = Lazy::new(|| {
    crate::platform::pin_module();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("anaf-bridge-io")
        .enable_all()
        .build()
        .expect("tokio runtime")
});

/// The process-wide runtime; host threads block on it, it never runs host code.
pub fn runtime() -> &'static Runtime {
    &RUNTIME
}

/// Runs a future to completion from a host thread.
pub fn block_on<F: Future>(f: F) -> F::Output {
    RUNTIME.block_on(f)
}

/// The most the DLL reads of one answer of ANAF's services. The largest real ones are a
/// download's ZIP (an invoice of at most 10 MB, ANAF's upload limit, compressed, and its
/// signature) and the PDF of such an invoice; 64 MB holds them many times over and stops
/// an answer that never ends before it fills the ERP's memory.
pub(crate) const MAX_ANSWER: usize = 64 << 20;
/// The most read of an answer of the identity provider, TestOauth or the relay: JSON with
/// a token pair, a few KB.
pub(crate) const MAX_TOKEN_ANSWER: usize = 1 << 20;

/// Why a body was not read whole.
#[derive(Debug)]
pub enum BodyError {
    /// The connection broke off (or timed out) while the body came.
    Net(reqwest::Error),
    /// More than the limit came, or was announced by Content-Length.
    TooLarge,
}

/// Reads an answer's body, at most `max` bytes: refused at once when its Content-Length
/// says more, else as soon as more has arrived.
pub async fn read_body(
    mut resp: reqwest::Response,
    max: usize,
) -> std::result::Result<Vec<u8>, BodyError> {
    let announced = resp.content_length().unwrap_or(0);
    if announced > max as u64 {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::with_capacity(announced as usize);
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Net)? {
        if body.len() + chunk.len() > max {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The error for an answer of `from` past its limit.
pub fn too_large(from: &Url, max: usize) -> Error {
    // Without the query: it may carry a token or an id of no use in a message.
    let from = format!("{}{}", from.origin().ascii_serialization(), from.path());
    let mb = max.div_ceil(1 << 20);
    Error::with(
        ANAF_ERR_BAD_RESPONSE,
        format!("Răspunsul de la {from} depășește {mb} MB; nu a fost citit mai departe."),
        format!("The answer from {from} exceeds {mb} MB; it was not read further."),
    )
}

/// An error and its `source()` chain as one text, each distinct part once (reqwest,
/// hyper and rustls often repeat their source's words): what the classifiers below read
/// and what the developer is shown.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.contains(&t) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// Whether a failure's text (see [`error_chain`]) is the TLS handshake's: a certificate
/// the system does not trust (an HTTPS-inspecting antivirus or proxy), a clock far off,
/// or the server's alert (ANAF's identity provider refuses a connection without the
/// client certificate).
pub fn is_tls(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    ["certificate", "tls", "handshake", "unknownissuer", "alert"]
        .iter()
        .any(|k| t.contains(k))
}

/// Builds the session's HTTP client: the TLS trust of [`tls_config`], the system proxy,
/// the configured timeouts, no automatic redirects (ANAF's redirects carry meaning: the
/// OAuth code, the revoke login wall; and a redirect could lead to another host).
pub fn build_client(cfg: &Config) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("anaf-bridge/", env!("CARGO_PKG_VERSION")))
        .timeout(cfg.timeout)
        .connect_timeout(cfg.connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(std::time::Duration::from_secs(50))
        .use_preconfigured_tls(tls_config(cfg)?);
    // reqwest reads HTTPS_PROXY & co. itself; the Windows Internet Options proxy needs this.
    b = crate::client::proxy::apply_system_proxy(b);
    b.build().map_err(|e| {
        Error::with(
            ANAF_ERR_INVALID_CONFIG,
            format!("Clientul HTTP nu a putut fi creat: {e}"),
            format!("The HTTP client could not be built: {e}"),
        )
    })
}

/// The TLS trust of every connection the DLL makes: the system's root store (the Windows
/// store on Windows) for every host, and the extra CA of `ca_file` beside it only for the
/// hosts [`ca_hosts`] names. The simulator's CA, or a CA someone slipped into the
/// configuration, then vouches for nothing else the DLL may ever contact.
fn tls_config(cfg: &Config) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_build_error(&e))?;
    let system = system_roots();
    let mut tls = match &cfg.ca_file {
        None => builder.with_root_certificates(system),
        Some(path) => {
            let mut extended = system.clone();
            for ca in load_ca(path)? {
                extended.add(ca).map_err(|e| not_pem(path, &e))?;
            }
            let verifier = |roots: RootCertStore| {
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| tls_build_error(&e))
            };
            let scoped = ScopedCa {
                system: verifier(system)?,
                extended: verifier(extended)?,
                hosts: ca_hosts(cfg),
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(scoped))
        }
    }
    .with_no_client_auth();
    // What reqwest sets for its own configurations (HTTP/1.1 only in this build).
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tls)
}

/// The hosts `ca_file` is trusted for: those of the configured URLs — `idp_url`,
/// `api_url`, `public_url` (ANAF's own when not set: a TLS-inspecting proxy re-signs
/// them too) and `relay_url` — as lower-case names or IP addresses.
pub fn ca_hosts(cfg: &Config) -> Vec<String> {
    let mut hosts: Vec<String> = [
        Some(&cfg.idp_url),
        Some(&cfg.api_url),
        Some(&cfg.public_url),
        cfg.relay_url.as_ref(),
    ]
    .into_iter()
    .flatten()
    .filter_map(url_host)
    .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

fn url_host(u: &Url) -> Option<String> {
    Some(match u.host()? {
        url::Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
        url::Host::Ipv4(a) => a.to_string(),
        url::Host::Ipv6(a) => a.to_string(),
    })
}

/// The name the TLS handshake checks, in the form of [`ca_hosts`].
fn server_host(name: &ServerName<'_>) -> Option<String> {
    match name {
        ServerName::DnsName(d) => Some(d.as_ref().trim_end_matches('.').to_ascii_lowercase()),
        ServerName::IpAddress(a) => Some(std::net::IpAddr::from(*a).to_string()),
        _ => None,
    }
}

/// Verifies a server's certificate with the system's roots, or with the system's roots
/// plus `ca_file` when the server is one of the configured hosts.
#[derive(Debug)]
struct ScopedCa {
    system: Arc<WebPkiServerVerifier>,
    extended: Arc<WebPkiServerVerifier>,
    hosts: Vec<String>,
}

/// Whether the server the handshake is for is one of `hosts` (from [`ca_hosts`]).
fn ca_covers(hosts: &[String], name: &ServerName<'_>) -> bool {
    server_host(name).is_some_and(|h| hosts.contains(&h))
}

impl ServerCertVerifier for ScopedCa {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let roots = if ca_covers(&self.hosts, server_name) {
            &self.extended
        } else {
            &self.system
        };
        roots.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    // The handshake signatures do not depend on the roots.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.system.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.system.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.system.supported_verify_schemes()
    }
}

/// The operating system's trusted roots (on Windows the certificate store, where a
/// corporate TLS-inspection CA is normally installed). Certificates the store holds but
/// rustls cannot parse are skipped, as reqwest does.
fn system_roots() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        ::log::warn!(target: "anaf::http", "system root certificates: {e}");
    }
    let mut roots = RootCertStore::empty();
    let (added, skipped) = roots.add_parsable_certificates(found.certs);
    ::log::debug!(target: "anaf::http", "system roots: {added} added, {skipped} skipped");
    roots
}

fn load_ca(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(path).map_err(|e| {
        let path = path.display();
        Error::with(
            ANAF_ERR_FILE,
            format!("ca_file \"{path}\": {e}"),
            format!("ca_file \"{path}\": {e}"),
        )
    })?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| not_pem(path, &e))?;
    if certs.is_empty() {
        return Err(not_pem(path, &"no CERTIFICATE block"));
    }
    Ok(certs)
}

fn not_pem(path: &std::path::Path, e: &dyn std::fmt::Display) -> Error {
    let path = path.display();
    Error::with(
        ANAF_ERR_INVALID_CONFIG,
        format!("ca_file \"{path}\" nu este un certificat PEM: {e}"),
        format!("ca_file \"{path}\" is not a PEM certificate: {e}"),
    )
}

fn tls_build_error(e: &dyn std::fmt::Display) -> Error {
    Error::with(
        ANAF_ERR_INVALID_CONFIG,
        format!("Configurația TLS nu a putut fi creată: {e}"),
        format!("The TLS configuration could not be built: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> ServerName<'static> {
        ServerName::try_from(s.to_string()).unwrap()
    }

    #[test]
    fn ca_file_covers_the_configured_hosts_only() {
        let cfg = Config::from_json(
            r#"{"cif":"14399840","database":"x.db","api_url":"https://127.0.0.1:8442",
                "idp_url":"https://LOGINCERT.example.ro.:8441","relay_url":"https://[::1]:9000/anaf/"}"#,
        )
        .unwrap();
        let hosts = ca_hosts(&cfg);
        assert_eq!(
            hosts,
            [
                "127.0.0.1",
                "::1",
                "logincert.example.ro",
                "webservicesp.anaf.ro"
            ],
            "every configured URL, ANAF's default public host included"
        );
        for yes in [
            "127.0.0.1",
            "::1",
            "logincert.example.ro",
            "LoginCert.Example.RO",
        ] {
            assert!(ca_covers(&hosts, &name(yes)), "{yes}");
        }
        for no in [
            "localhost",
            "127.0.0.2",
            "api.anaf.ro",
            "example.ro",
            "evil.logincert.example.ro",
        ] {
            assert!(!ca_covers(&hosts, &name(no)), "{no}");
        }
    }

    #[test]
    fn a_ca_file_that_is_not_pem_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ca.pem");
        std::fs::write(&p, "not a certificate").unwrap();
        let cfg = Config::from_json(&format!(
            r#"{{"cif":"14399840","database":"x.db","ca_file":{}}}"#,
            serde_json::json!(p)
        ))
        .unwrap();
        let e = build_client(&cfg).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_INVALID_CONFIG);
        assert!(e
            .message(crate::status::Lang::En)
            .contains("is not a PEM certificate"));
    }
}
