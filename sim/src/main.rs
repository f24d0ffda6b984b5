//! anaf-sim: runs the ANAF simulator until SIGTERM/SIGINT (or stdin EOF with
//! --exit-on-stdin-eof). Prints one JSON line on stdout with its URLs and files.

use std::path::PathBuf;
use std::time::Duration;

use anaf_sim::{Sim, SimConfig};

const HELP: &str = r#"anaf-sim — a faithful ANAF simulator for tests and offline development

USAGE:
    anaf-sim [OPTIONS]

Starts three HTTPS servers on 127.0.0.1, like ANAF's three hosts:
    idp     logincert.anaf.ro     /anaf-oauth2/v1/authorize | token | revoke
            (TLS asks for an optional client certificate; /authorize needs one)
    api     api.anaf.ro           /{prod,test}/FCTEL/rest/...            e-Factura
                                  /{prod,test}/ETRANSPORT/ws/v1/...      e-Transport
                                  /TestOauth/jaxrs/hello?name=...        token check
                                  /_sim/...                              control API
    public  webservicesp.anaf.ro  /prod/FCTEL/rest/validare/{FACT1|FCN}
                                  /prod/FCTEL/rest/transformare/{FACT1|FCN}[/DA]
                                  /api/validate/signature

At start it prints ONE JSON line on stdout:
    {"idp_url":..,"api_url":..,"public_url":..,"control_url":..,"ca_pem":..,"dir":..,
     "client_id":..,"client_secret":..,"redirect_uri":..,"cifs":[..],"now_ms":..,
     "client_cert":{"cert_pem":..,"key_pem":..,"p12":..,"p12_password":..,"serial":..}}
Trust "ca_pem" (the test CA) in your client; log in with "client_cert" (PEM or the
PKCS#12 file, password "anaf-sim").

OPTIONS:
    --state-dir DIR         keep certificates and the token-signing key in DIR (reused
                            at the next start, so a configured ca_file stays valid);
                            default: a temporary directory removed at exit
    --port-file FILE        also write the JSON line to FILE (written atomically)
    --idp-port N            fixed ports (default: any free port)
    --api-port N
    --public-port N
    --client-id ID          the registered application (default sim-client-id)
    --client-secret S       (default sim-client-secret)
    --redirect-uri URI      exact callback (default https://localhost:9443/anaf/callback)
    --cif CIF               a known company (repeat; default 14399840 8000006 8000000000)
    --serial HEX            serial of the client certificate issued at start (default 5A1A0001)
    --access-secs N         access token lifetime (default 7776000 = 90 days)
    --refresh-secs N        refresh token lifetime (default 31536000 = 365 days)
    --processing-secs N     seconds an upload stays "in prelucrare" (default 2)
    --per-minute-limit N    requests per minute before 429 (default 1000)
    --exit-on-stdin-eof     stop when standard input closes (so test scripts never leak it)
    -h, --help              this text

Stops cleanly on SIGTERM, SIGINT (Ctrl+C) or, with --exit-on-stdin-eof, stdin EOF.

CONTROL API (JSON, on the api host, no authentication, loopback only):
    GET  /_sim/info                      the start line's fields
    POST /_sim/certs       {"serial":"1A2B"}                  issue a client certificate
    POST /_sim/enrolment   {"serial":"1A2B","cif":"14399840","enrolled":false}
                                         not enrolled for any CIF => authorize answers
                                         302 redirect_uri?error=access_denied
    POST /_sim/apps        {"client_id":..,"client_secret":..,"redirect_uri":..}
    POST /_sim/tokens      {"cif":"14399840","serial":"1A2B"[,"client_id":..]}
                                         a token pair as /token gives it, no browser
    GET  /_sim/counters                  token_code_grants, token_refresh_grants,
                                         refresh_refused, revokes, requests, uploads{cif}..
    GET  /_sim/clock ; POST /_sim/clock  {"advance_secs":N} or {"set_ms":UNIX_MS}
    POST /_sim/lifetimes   {"access_secs":N,"refresh_secs":N}   for tokens issued next
    POST /_sim/faults      {"fault":"latency|status|reset|html_rejected|rate_limited",
                            "ms":N,"status":503,"times":1,"path_prefix":"/prod/FCTEL"}
                           without path_prefix: the api and public hosts only
    GET|DELETE /_sim/faults
    POST /_sim/switches    {"revoke_login_wall":true,"foreign_cif_403":true,
                            "per_minute_limit":N,"processing_secs":N,
                            "technical_errors":N}  (next N uploads/validations answer
                                                    "A aparut o eroare tehnica")
    POST /_sim/quotas      {"kind":"upload_rasp|stare|lista|lista_paginata|descarcare",
                            "limit":N}
    POST /_sim/quotas/reset
    POST /_sim/efactura/next-outcome {"outcome":"ok|nok|nepreluat"}

BEHAVIOUR WORTH KNOWING:
    - Tokens: RS512 JWTs (iss https://logincert.anaf.ro, serial, clientappid, role, exp..);
      codes live 60 s; every refresh returns a new pair and the old refresh token is
      refused afterwards (stricter than ANAF on purpose).
    - Every certificate serial is enrolled in SPV for every known CIF unless told
      otherwise; a CIF it is not enrolled for gets ANAF's 200 answer
      "Nu aveti drept in SPV pentru CIF=..." (or 403 with foreign_cif_403).
    - Uploads settle after processing_secs: ok, or nok when the seller CIF has a wrong
      control digit or the XML contains "anaf-sim:nok"; "anaf-sim:nepreluat" gives
      "XML cu erori nepreluat de sistem".
"#;

fn main() {
    if let Err(e) = run() {
        eprintln!("anaf-sim: {e:#}");
        std::process::exit(2);
    }
}

fn run() -> anyhow::Result<()> {
    let mut cfg = SimConfig::default();
    let mut port_file: Option<PathBuf> = None;
    let mut stdin_eof = false;
    let mut serial = "5A1A0001".to_string();
    let mut cifs: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{name} needs a value (see --help)"))
        };
        match a.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(());
            }
            "--state-dir" => cfg.state_dir = Some(PathBuf::from(val(&a)?)),
            "--port-file" => port_file = Some(PathBuf::from(val(&a)?)),
            "--idp-port" => cfg.idp_port = val(&a)?.parse()?,
            "--api-port" => cfg.api_port = val(&a)?.parse()?,
            "--public-port" => cfg.public_port = val(&a)?.parse()?,
            "--client-id" => cfg.client_id = val(&a)?,
            "--client-secret" => cfg.client_secret = val(&a)?,
            "--redirect-uri" => cfg.redirect_uri = val(&a)?,
            "--cif" => cifs.push(val(&a)?),
            "--serial" => serial = val(&a)?,
            "--access-secs" => cfg.access_lifetime = Duration::from_secs(val(&a)?.parse()?),
            "--refresh-secs" => cfg.refresh_lifetime = Duration::from_secs(val(&a)?.parse()?),
            "--processing-secs" => cfg.processing_secs = val(&a)?.parse()?,
            "--per-minute-limit" => cfg.per_minute_limit = val(&a)?.parse()?,
            "--exit-on-stdin-eof" => stdin_eof = true,
            other => anyhow::bail!("unknown option {other} (see --help)"),
        }
    }
    if !cifs.is_empty() {
        cfg.cifs = cifs;
    }
    // Signal handlers first: a SIGTERM right after the start line must stop it cleanly.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let guard = rt.enter();
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    #[cfg(unix)]
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    drop(guard);

    let sim = Sim::start(cfg)?;
    let cert = sim.client_cert(&serial);
    let mut info = sim.info_json();
    info["client_cert"] = serde_json::to_value(&cert)?;
    let line = serde_json::to_string(&info)?;
    if let Some(p) = &port_file {
        let tmp = p.with_extension("tmp");
        std::fs::write(&tmp, format!("{line}\n"))?;
        std::fs::rename(&tmp, p)?;
    }
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    eprintln!(
        "anaf-sim: idp {} | api {} | public {} | CA {} | control {}/_sim",
        sim.idp_url(),
        sim.api_url(),
        sim.public_url(),
        sim.ca_pem_path().display(),
        sim.api_url()
    );

    rt.block_on(async {
        use tokio::io::AsyncReadExt;
        #[cfg(unix)]
        let stop = async {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        };
        #[cfg(not(unix))]
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let eof = async {
            if !stdin_eof {
                return std::future::pending::<()>().await;
            }
            let mut stdin = tokio::io::stdin();
            let mut buf = [0u8; 1024];
            loop {
                match stdin.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        };
        tokio::select! {
            _ = stop => {}
            _ = eof => {}
        }
        anyhow::Ok(())
    })?;
    if let Some(p) = &port_file {
        let _ = std::fs::remove_file(p);
    }
    drop(sim);
    eprintln!("anaf-sim: stopped");
    Ok(())
}
