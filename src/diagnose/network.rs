//! Each ANAF host: DNS, the connection, TLS; and the Date header the clock is judged by.

use super::{Check, Level};
use crate::client::http::{error_chain as chain, is_tls};
use crate::client::proxy::system_proxy;
use crate::config::Config;
use crate::error::Error;
use crate::status::Lang;
use serde_json::json;
use std::time::{Duration, Instant};

const TITLE_TLS: (&str, &str) = (
    "Certificate de încredere (TLS)",
    "Trusted certificates (TLS)",
);

#[derive(Debug)]
struct Probe {
    addresses: Result<Vec<String>, String>,
    http: Result<(u16, Option<String>), reqwest::Error>,
    elapsed: Duration,
}

async fn probe(client: &reqwest::Client, url: &url::Url, dns_timeout: Duration) -> Probe {
    let started = Instant::now();
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses =
        match tokio::time::timeout(dns_timeout, tokio::net::lookup_host((host.as_str(), port)))
            .await
        {
            Ok(Ok(addrs)) => Ok(addrs.map(|a| a.ip().to_string()).collect::<Vec<_>>()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("timeout {} s", dns_timeout.as_secs())),
        };
    let http = client.get(url.clone()).send().await.map(|r| {
        let date = r
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (r.status().as_u16(), date)
    });
    Probe {
        addresses,
        http,
        elapsed: started.elapsed(),
    }
}

/// The HTTP client could not be built (a wrong `ca_file`): nothing can be reached.
pub(super) fn unbuilt_client(e: &Error) -> Check {
    Check::new("tls_trust", TITLE_TLS, Level::Problem)
        .msg(e.message(Lang::Ro), e.message(Lang::En))
        .todo(
            "Corectați ca_file în configurare (un certificat PEM care există).",
            "Fix ca_file in the configuration (an existing PEM certificate).",
        )
}

/// Probes the three ANAF hosts at once. Returns their checks and the Date header (host,
/// date) the clock is compared with: the API host's, else the first that answered.
pub(super) fn check(
    cfg: &Config,
    client: &reqwest::Client,
) -> (Vec<Check>, Option<(String, String)>) {
    let hosts: [(&'static str, (&'static str, &'static str), url::Url); 3] = [
        (
            "network_identity",
            ("Server de autentificare ANAF", "ANAF identity provider"),
            cfg.idp_url.clone(),
        ),
        (
            "network_api",
            (
                "Serverul API ANAF (e-Factura, e-Transport)",
                "ANAF API server (e-Factura, e-Transport)",
            ),
            cfg.api_url.clone(),
        ),
        (
            "network_public",
            (
                "Servicii publice ANAF (validare, PDF)",
                "ANAF public services (validation, PDF)",
            ),
            cfg.public_url.clone(),
        ),
    ];
    let dns_timeout = cfg.connect_timeout;
    let probes = crate::client::http::block_on(async {
        tokio::join!(
            probe(client, &hosts[0].2, dns_timeout),
            probe(client, &hosts[1].2, dns_timeout),
            probe(client, &hosts[2].2, dns_timeout),
        )
    });
    let probes = [probes.0, probes.1, probes.2];
    let proxied = system_proxy().is_some();
    let mut checks = Vec::new();
    let mut date: Option<(String, String)> = None;
    for ((id, title, url), p) in hosts.iter().zip(probes.iter()) {
        let shown = url.as_str();
        let host = url.host_str().unwrap_or_default();
        let mut data = json!({
            "url": shown,
            "addresses": p.addresses.as_ref().ok(),
            "elapsed_ms": p.elapsed.as_millis() as u64,
            "timeout_seconds": cfg.timeout.as_secs(),
        });
        let c = Check::new(id, *title, Level::Ok);
        if let (Err(dns), false) = (&p.addresses, proxied) {
            data["error"] = json!(dns);
            checks.push(
                c.level(Level::Problem)
                    .data(data)
                    .msg(
                        format!("Numele {host} nu poate fi rezolvat (DNS): {dns}."),
                        format!("The name {host} cannot be resolved (DNS): {dns}."),
                    )
                    .todo(
                        "Verificați conexiunea la internet și serverul DNS (sau proxy-ul firmei).",
                        "Check the internet connection and the DNS server (or the company proxy).",
                    ),
            );
            continue;
        }
        match &p.http {
            Ok((status, d)) => {
                data["http_status"] = json!(status);
                // The API host's clock is the one tokens and calls are judged by.
                if let (true, Some(d)) = (date.is_none() || *id == "network_api", d) {
                    date = Some((host.to_string(), d.clone()));
                }
                let ms = p.elapsed.as_millis();
                checks.push(c.data(data).msg(
                    format!("{host} răspunde (HTTP {status}, {ms} ms)."),
                    format!("{host} answers (HTTP {status}, {ms} ms)."),
                ));
            }
            Err(e) => {
                let text = chain(e);
                data["error"] = json!(text);
                let c = c.level(Level::Problem).data(data);
                let c = if e.is_timeout() {
                    let s = cfg.timeout.as_secs();
                    c.msg(
                        format!("{host} nu a răspuns în {s} secunde."),
                        format!("{host} did not answer within {s} seconds."),
                    )
                    .todo(
                        "Verificați firewall-ul și proxy-ul; dacă rețeaua este lentă, măriți timeout_seconds.",
                        "Check the firewall and the proxy; on a slow network raise timeout_seconds.",
                    )
                } else if is_tls(&text)
                    && *id == "network_identity"
                    && text.to_ascii_lowercase().contains("alert")
                {
                    // The identity provider asks for the client certificate in the handshake:
                    // being refused without one means the host was reached.
                    c.level(Level::Ok).msg(
                        format!("{host} răspunde (cere certificatul de semnătură la conectare)."),
                        format!(
                            "{host} answers (it asks for the signing certificate on connection)."
                        ),
                    )
                } else if is_tls(&text) {
                    c.msg(
                        format!("Conexiunea securizată cu {host} a eșuat: {text}."),
                        format!("The secure connection to {host} failed: {text}."),
                    )
                    .todo(
                        "De obicei un antivirus sau firewall care inspectează HTTPS: adăugați certificatul lui în Windows (Trusted Root) sau în ca_file; verificați și data calculatorului.",
                        "Usually an antivirus or firewall that inspects HTTPS: add its certificate to Windows (Trusted Root) or to ca_file; also check the computer's date.",
                    )
                } else {
                    c.msg(
                        format!("{host} nu poate fi contactat: {text}."),
                        format!("{host} cannot be reached: {text}."),
                    )
                    .todo(
                        "Verificați conexiunea la internet, firewall-ul și proxy-ul (Opțiuni Internet > Conexiuni > Setări LAN).",
                        "Check the internet connection, the firewall and the proxy (Internet Options > Connections > LAN settings).",
                    )
                };
                checks.push(c);
            }
        }
    }
    (checks, date)
}
