//! `anaf-relay` command line. Every option of `serve` may also come from an environment
//! variable (`ANAF_RELAY_` + the option in upper case, `-` → `_`), handy in systemd units
//! and containers. See README.md.

use anaf_relay::connections::ConnLimits;
use anaf_relay::db::DbTarget;
use anaf_relay::vendor::{self, Vendor};
use anaf_relay::{Log, RelayConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

const USAGE: &str = "anaf-relay: the callback server for anaf-bridge's browser link.

Usage: anaf-relay [serve] --config relay.toml --db links.db --callback-url URL [options]
       anaf-relay keygen --customer \"SC Firma SRL\" --client-id ID [--client-id ID2] [--cif CIF] [--id ID]
       anaf-relay storage-key

serve (the default):
  --config FILE           the vendor's configuration: client secrets, installations,
                          storage key (required; see README.md)
  --db PATH|URL           where links are kept: a SQLite file, or postgres://… for
                          several instances (required unless the config file names it)
  --callback-url URL      the redirect_uri registered in SPV (required)
  --listen ADDR           address to listen on (default 127.0.0.1:8080)
  --public-url URL        base of links and API (default: the callback URL's folder)
  --idp-url URL           ANAF identity provider (default https://logincert.anaf.ro)
  --ca-file PEM           extra trusted root for the identity provider
  --tls-cert PEM          serve HTTPS with this certificate chain...
  --tls-key PEM           ...and this private key (else plain HTTP behind a proxy)
  --link-ttl-minutes N    link lifetime (default 300 = 5 hours)
  --max-links N           links kept at once, tombstones included (default 100000)
  --max-links-per-installation N   the same per installation (default 1000)
  --ip-requests-per-minute N       requests per client address (default 600)
  --key-links-per-hour N           links per installation key (default 120)
  --header-timeout-seconds N       request head and keep-alive idle timeout (default 10)
  --connection-max-seconds N       a connection is closed after this (default 300)
  --max-connections N              connections open at once (default 1024)
  --client-ip-header NAME          behind a proxy: the header with the client's address
                                   (e.g. X-Real-IP), for the rate limits
  --test-clock            enable POST /_test/clock (tests only, never in production);
                          from the environment only ANAF_RELAY_TEST_CLOCK=1|true|yes
  --help                  this text

keygen: a key for one customer installation. Prints the key (for the customer's ERP,
  \"relay_key\") and the lines to add to the configuration file.
storage-key: a new storage_key line for a new configuration file.
";

/// Options of `serve` that take a value.
const VALUED: &[&str] = &[
    "--config",
    "--db",
    "--callback-url",
    "--listen",
    "--public-url",
    "--idp-url",
    "--ca-file",
    "--tls-cert",
    "--tls-key",
    "--link-ttl-minutes",
    "--max-links",
    "--max-links-per-installation",
    "--ip-requests-per-minute",
    "--key-links-per-hour",
    "--header-timeout-seconds",
    "--connection-max-seconds",
    "--max-connections",
    "--client-ip-header",
];
const FLAGS: &[&str] = &["--test-clock", "--help"];

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let command = match args.first().map(String::as_str) {
        Some("serve") | Some("keygen") | Some("storage-key") => args.remove(0),
        _ => "serve".to_string(),
    };
    let result = match command.as_str() {
        "keygen" => keygen(args).map(|out| {
            print!("{out}");
            None
        }),
        "storage-key" => {
            let k = anaf_relay::crypto::StorageKey::generate();
            println!("storage_key = \"{}\"", k.to_text().as_str());
            Ok(None)
        }
        _ => parse(args),
    };
    match result {
        Ok(Some(cfg)) => {
            if let Err(e) = anaf_relay::run_forever(cfg) {
                eprintln!("anaf-relay: {e}");
                std::process::exit(1);
            }
        }
        Ok(None) => {}
        Err(e) if e == "help" => print!("{USAGE}"),
        Err(e) => {
            eprintln!("anaf-relay: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    }
}

/// `name=value` or `name value` pairs, checked against `valued` and `flags`.
fn options(
    args: Vec<String>,
    valued: &[&str],
    flags: &[&str],
) -> Result<Vec<(String, String)>, String> {
    let mut opts = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        if flags.contains(&name.as_str()) {
            opts.push((name, "1".into()));
        } else if valued.contains(&name.as_str()) {
            let v = match inline {
                Some(v) => v,
                None => it.next().ok_or_else(|| format!("{name} needs a value"))?,
            };
            opts.push((name, v));
        } else if name == "--allow-client-id" {
            return Err("--allow-client-id is gone: list each application as a [[client]] and each customer as an [[installation]] in the --config file".into());
        } else {
            return Err(format!("unknown option {a}"));
        }
    }
    Ok(opts)
}

/// A boolean from the environment: only an explicit yes turns it on (`0` must not).
fn env_flag(var: &str, value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "" | "0" | "false" | "no" => Ok(false),
        _ => Err(format!(
            "{var} must be 1, true or yes (on) or 0, false or no (off)"
        )),
    }
}

fn parse(args: Vec<String>) -> Result<Option<RelayConfig>, String> {
    let mut opts: Vec<(String, String)> = Vec::new();
    // Environment first, so that command-line options override it.
    for name in VALUED.iter().chain(FLAGS.iter()) {
        let var = format!(
            "ANAF_RELAY_{}",
            name.trim_start_matches("--")
                .replace('-', "_")
                .to_ascii_uppercase()
        );
        if let Ok(v) = std::env::var(&var) {
            if FLAGS.contains(name) {
                if env_flag(&var, &v)? {
                    opts.push((name.to_string(), "1".into()));
                }
            } else if !v.is_empty() {
                opts.push((name.to_string(), v));
            }
        }
    }
    opts.extend(options(args, VALUED, FLAGS)?);
    let get = |n: &str| {
        opts.iter()
            .rev()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    if get("--help").is_some() {
        return Err("help".into());
    }
    let url = |n: &str, v: String| Url::parse(&v).map_err(|e| format!("{n} \"{v}\": {e}"));
    let number = |n: &str, min: u64, max: u64| -> Result<Option<u64>, String> {
        match get(n) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(x) if (min..=max).contains(&x) => Ok(Some(x)),
                _ => Err(format!("{n} must be a number from {min} to {max}")),
            },
        }
    };
    let callback = get("--callback-url").ok_or("--callback-url is required")?;
    let callback = url("--callback-url", callback)?;
    let config = get("--config").ok_or(
        "--config is required: the file with the client secrets and the customer installations (see README.md)",
    )?;
    let vendor = Vendor::load(std::path::Path::new(&config))?;
    warn_if_readable(&config);
    let db = get("--db")
        .or_else(|| vendor.database.clone())
        .ok_or("--db is required: a SQLite file (links.db) or postgres://… (or `database` in the config file)")?;
    let mut cfg = RelayConfig::new(callback, Arc::new(vendor), DbTarget::parse(&db));
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
    if let Some(m) = number("--link-ttl-minutes", 1, 24 * 60)? {
        cfg.link_ttl = Duration::from_secs(m * 60);
    }
    if let Some(n) = number("--max-links", 1, 100_000_000)? {
        cfg.max_links = n as i64;
    }
    if let Some(n) = number("--max-links-per-installation", 1, 100_000_000)? {
        cfg.max_links_per_installation = n as i64;
    }
    if let Some(n) = number("--ip-requests-per-minute", 1, 1_000_000)? {
        cfg.rates.ip_per_minute = n as u32;
    }
    if let Some(n) = number("--key-links-per-hour", 1, 1_000_000)? {
        cfg.rates.key_links_per_hour = n as u32;
    }
    let mut conn = ConnLimits::default();
    if let Some(n) = number("--header-timeout-seconds", 1, 600)? {
        conn.header_timeout = Duration::from_secs(n);
    }
    if let Some(n) = number("--connection-max-seconds", 1, 86_400)? {
        conn.lifetime = Duration::from_secs(n);
    }
    if let Some(n) = number("--max-connections", 1, 1_000_000)? {
        conn.max_connections = n as usize;
    }
    cfg.conn = conn;
    cfg.client_ip_header = get("--client-ip-header");
    cfg.test_clock = get("--test-clock").is_some();
    if cfg.test_clock {
        eprintln!("anaf-relay: warning: --test-clock is on; never use it in production");
    }
    cfg.log = Log::stderr();
    Ok(Some(cfg))
}

/// The file holds client secrets and the storage key: say so if others may read it.
fn warn_if_readable(path: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path) {
            if m.permissions().mode() & 0o077 != 0 {
                eprintln!(
                    "anaf-relay: warning: {path} is readable by other users; it holds client secrets (chmod 600)"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn keygen(args: Vec<String>) -> Result<String, String> {
    let opts = options(
        args,
        &["--customer", "--client-id", "--cif", "--id"],
        &["--help"],
    )?;
    let all = |n: &str| -> Vec<String> {
        opts.iter()
            .filter(|(k, _)| k == n)
            .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_string()))
            .filter(|s| !s.is_empty())
            .collect()
    };
    if !all("--help").is_empty() {
        return Err("help".into());
    }
    let customer = all("--customer")
        .into_iter()
        .next()
        .ok_or("keygen needs --customer \"the customer's name\" (shown on the landing page)")?;
    let client_ids = all("--client-id");
    if client_ids.is_empty() {
        return Err("keygen needs --client-id (the application the customer's ERP uses)".into());
    }
    let cifs = all("--cif");
    if let Some(bad) = cifs
        .iter()
        .find(|c| c.is_empty() || c.len() > 12 || !c.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("--cif {bad}: digits only, without RO"));
    }
    let id = all("--id")
        .into_iter()
        .next()
        .unwrap_or_else(|| vendor::installation_id(&customer));
    let (key, hash) = vendor::new_key();
    Ok(format!(
        "# The key for {customer}'s ERP (\"relay_key\" in anaf_open's JSON). Hand it over\n\
         # privately; the relay keeps only its hash and cannot show it again.\n\
         relay_key = {}\n\n\
         # Add to the relay's configuration file, then restart the relay (links survive it):\n{}",
        key.as_str(),
        vendor::installation_entry(&id, &customer, &client_ids, &cifs, &hash)
    ))
}
