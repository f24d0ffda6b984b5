//! `anaf-relay` command line. Every option may also come from an environment variable
//! (`ANAF_RELAY_` + the option in upper case, `-` → `_`), handy in systemd units and
//! containers. See README.md.

use anaf_relay::{Log, RelayConfig};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

const USAGE: &str = "anaf-relay: the callback server for anaf-bridge's browser link.

Usage: anaf-relay --callback-url https://erp.example.ro/anaf/callback [options]

  --callback-url URL      the redirect_uri registered in SPV (required)
  --listen ADDR           address to listen on (default 127.0.0.1:8080)
  --public-url URL        base of links and API (default: the callback URL's folder)
  --idp-url URL           ANAF identity provider (default https://logincert.anaf.ro)
  --ca-file PEM           extra trusted root for the identity provider
  --tls-cert PEM          serve HTTPS with this certificate chain...
  --tls-key PEM           ...and this private key (else plain HTTP behind a proxy)
  --link-ttl-minutes N    link lifetime (default 300 = 5 hours)
  --allow-client-id ID    only these client_ids may create links (repeat or comma list)
  --max-links N           links in progress at once (default 10000)
  --test-clock            enable POST /_test/clock (tests only, never in production)
  --help                  this text
";

fn main() {
    match parse(std::env::args().skip(1).collect()) {
        Ok(Some(cfg)) => {
            if let Err(e) = anaf_relay::run_forever(cfg) {
                eprintln!("anaf-relay: {e}");
                std::process::exit(1);
            }
        }
        Ok(None) => print!("{USAGE}"),
        Err(e) => {
            eprintln!("anaf-relay: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    }
}

fn parse(args: Vec<String>) -> Result<Option<RelayConfig>, String> {
    let mut opts: Vec<(String, String)> = Vec::new();
    let flags = ["--test-clock", "--help"];
    let known = [
        "--callback-url",
        "--listen",
        "--public-url",
        "--idp-url",
        "--ca-file",
        "--tls-cert",
        "--tls-key",
        "--link-ttl-minutes",
        "--allow-client-id",
        "--max-links",
    ];
    // Environment first, so that command-line options override it.
    for name in known.iter().chain(flags.iter()) {
        let var = format!(
            "ANAF_RELAY_{}",
            name.trim_start_matches("--")
                .replace('-', "_")
                .to_ascii_uppercase()
        );
        if let Ok(v) = std::env::var(&var) {
            if !v.is_empty() {
                opts.push((name.to_string(), v));
            }
        }
    }
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        if flags.contains(&name.as_str()) {
            opts.push((name, "1".into()));
        } else if known.contains(&name.as_str()) {
            let v = match inline {
                Some(v) => v,
                None => it.next().ok_or_else(|| format!("{name} needs a value"))?,
            };
            opts.push((name, v));
        } else {
            return Err(format!("unknown option {a}"));
        }
    }
    let get = |n: &str| {
        opts.iter()
            .rev()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    if get("--help").is_some() {
        return Ok(None);
    }
    let url = |n: &str, v: String| Url::parse(&v).map_err(|e| format!("{n} \"{v}\": {e}"));
    let callback = get("--callback-url").ok_or("--callback-url is required")?;
    let mut cfg = RelayConfig::new(url("--callback-url", callback)?);
    if cfg.callback_url.scheme() != "https" {
        eprintln!(
            "anaf-relay: warning: the callback URL is not https; ANAF accepts only https callbacks"
        );
    }
    if let Some(v) = get("--listen") {
        cfg.listen = v.parse().map_err(|e| format!("--listen \"{v}\": {e}"))?;
    }
    if let Some(v) = get("--public-url") {
        cfg.public_url = Some(url("--public-url", v)?);
    }
    if let Some(v) = get("--idp-url") {
        cfg.idp_url = url("--idp-url", v)?;
    }
    cfg.ca_file = get("--ca-file").map(PathBuf::from);
    cfg.tls_cert = get("--tls-cert").map(PathBuf::from);
    cfg.tls_key = get("--tls-key").map(PathBuf::from);
    if let Some(v) = get("--link-ttl-minutes") {
        let m: u64 = v
            .parse()
            .map_err(|_| format!("--link-ttl-minutes \"{v}\" is not a number"))?;
        if m == 0 || m > 24 * 60 {
            return Err("--link-ttl-minutes must be between 1 and 1440".into());
        }
        cfg.link_ttl = Duration::from_secs(m * 60);
    }
    if let Some(v) = get("--max-links") {
        cfg.max_links = v
            .parse()
            .map_err(|_| format!("--max-links \"{v}\" is not a number"))?;
    }
    cfg.allowed_client_ids = opts
        .iter()
        .filter(|(k, _)| k == "--allow-client-id")
        .flat_map(|(_, v)| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|s| !s.is_empty())
        .collect();
    cfg.test_clock = get("--test-clock").is_some();
    if cfg.test_clock {
        eprintln!("anaf-relay: warning: --test-clock is on; never use it in production");
    }
    cfg.log = Log::Stderr;
    Ok(Some(cfg))
}
