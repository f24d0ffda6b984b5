//! `anaf token …`: the token's lifecycle, through the same `Session` methods as the C API's
//! token functions (`anaf_token_info`, `anaf_generate_token`, `anaf_link_*`, `anaf_refresh`,
//! `anaf_test_token`, `anaf_import_token`, `anaf_delete_token`).

use crate::exit;
use crate::out::{self, Ctx};
use anaf_bridge::client::token::TokenInfo;
use anaf_bridge::error::{Error, Result};
use anaf_bridge::login::link::{self, Poll};
use anaf_bridge::status::*;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Subcommand)]
pub enum Cmd {
    /// What is stored: expiries, days left, certificate serial (never the tokens)
    Info,
    /// Opens ANAF's login window (the certificate on the USB token, its PIN) and stores the token
    Login,
    /// The browser link: prints a URL valid 5 hours, then waits until the token is generated with it
    Link(LinkArgs),
    /// Refreshes the token now (a new pair, stored for every workstation)
    Refresh,
    /// Asks ANAF's TestOauth whether it accepts the token
    Test,
    /// Stores a token pair obtained elsewhere (e.g. by the ERP's previous DLL)
    Import(ImportArgs),
    /// Revokes the token at ANAF (best effort) and deletes it from the table
    Delete {
        /// Yes, delete it: a new login with the certificate will be needed
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Args)]
pub struct LinkArgs {
    /// Only create the link and print its URL; do not wait for the browser
    #[arg(long)]
    no_wait: bool,
    /// Do not create a new link: wait for (or, with --no-wait, ask once about) the pending one
    #[arg(long, conflicts_with = "cancel")]
    resume: bool,
    /// Cancel the pending link
    #[arg(long)]
    cancel: bool,
    /// How long to wait for the browser, in seconds (at most the link's 5 hours)
    #[arg(long, default_value_t = 18_000, value_parser = clap::value_parser!(u64).range(1..=18_000))]
    timeout: u64,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The access token (a JWT)
    #[arg(required_unless_present = "file")]
    access_token: Option<String>,
    /// The refresh token (a JWT)
    #[arg(required_unless_present = "file")]
    refresh_token: Option<String>,
    /// A JSON file with "access_token" and "refresh_token" (as ANAF's token answer), instead
    /// of the tokens on the command line
    #[arg(long, value_name = "FILE", conflicts_with_all = ["access_token", "refresh_token"])]
    file: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, cmd: Cmd) -> Result<u8> {
    let s = out::open(ctx)?;
    match cmd {
        Cmd::Info => show(ctx, &s.token_info()?),
        Cmd::Login => {
            let bar = ctx.spinner(
                ctx.t(
                    "Fereastra de autentificare ANAF este deschisă…",
                    "The ANAF login window is open…",
                )
                .to_string(),
            );
            let r = anaf_bridge::login::generate_token(&s, 0);
            bar.finish_and_clear();
            r?;
            show(ctx, &s.token_info()?)
        }
        Cmd::Link(a) => link_cmd(ctx, &s, a),
        Cmd::Refresh => {
            let bar = ctx.spinner(ctx.t("Reîmprospătez…", "Refreshing…").to_string());
            let info = s.refresh_now();
            bar.finish_and_clear();
            show(ctx, &info?)
        }
        Cmd::Test => {
            let answer = s.test_token()?;
            if ctx.json {
                out::print_json(&json!({"ok": true, "answer": answer.trim()}));
            } else {
                say!(
                    "{} {}",
                    ctx.t("ANAF acceptă tokenul:", "ANAF accepts the token:"),
                    answer.trim()
                );
            }
            Ok(exit::OK)
        }
        Cmd::Import(a) => {
            let (access, refresh) = match a.file {
                Some(f) => from_file(&f)?,
                None => (
                    a.access_token.unwrap_or_default(),
                    a.refresh_token.unwrap_or_default(),
                ),
            };
            show(ctx, &s.import_token(access.trim(), refresh.trim())?)
        }
        Cmd::Delete { yes } => {
            if !yes {
                return Err(Error::with(
                    ANAF_ERR_INVALID_ARGUMENT,
                    "Ștergerea tokenului cere --yes: după ea este nevoie de o nouă autentificare cu certificatul.",
                    "Deleting the token needs --yes: after it a new login with the certificate is needed.",
                ));
            }
            let revoke = s.delete_token()?;
            let revoke_msg = revoke.as_ref().map(|e| out::message(e, ctx.lang));
            if ctx.json {
                out::print_json(&json!({"ok": true, "deleted": true, "revoke_error": revoke_msg}));
            } else {
                say!(
                    "{}",
                    ctx.t("Tokenul a fost șters.", "The token was deleted.")
                );
                if let Some(m) = revoke_msg {
                    say!(
                        "{} {m}",
                        ctx.t(
                            "Revocarea la ANAF nu a reușit (tokenul local este șters oricum):",
                            "The revoke at ANAF failed (the local token is deleted anyway):"
                        )
                    );
                }
            }
            Ok(exit::OK)
        }
    }
}

/// The access and refresh token of a JSON file.
fn from_file(path: &std::path::Path) -> Result<(String, String)> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::with(
            ANAF_ERR_FILE,
            format!("„{}”: {e}", path.display()),
            format!("\"{}\": {e}", path.display()),
        )
    })?;
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        Error::with(
            ANAF_ERR_INVALID_JSON,
            format!("„{}”: {e}", path.display()),
            format!("\"{}\": {e}", path.display()),
        )
    })?;
    let field = |k: &str| {
        v[k].as_str().map(str::to_string).ok_or_else(|| {
            Error::with(
                ANAF_ERR_INVALID_ARGUMENT,
                format!("„{}” nu are câmpul „{k}”.", path.display()),
                format!("\"{}\" has no \"{k}\" field.", path.display()),
            )
        })
    };
    Ok((field("access_token")?, field("refresh_token")?))
}

/// Prints what `anaf_token_info` answers.
fn show(ctx: &Ctx, info: &TokenInfo) -> Result<u8> {
    if ctx.json {
        out::print_json(&serde_json::to_value(info).unwrap_or(Value::Null));
        return Ok(exit::OK);
    }
    let days = |d: i64| format!("{d} {}", ctx.t("zile rămase", "days left"));
    let mut rows = vec![
        ("CIF", info.cif.clone()),
        (ctx.t("Mediu", "Environment"), info.environment.clone()),
        ("Client ID", info.client_id.clone()),
        (
            ctx.t("Seria certificatului", "Certificate serial"),
            info.serial.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            ctx.t("Token de acces", "Access token"),
            format!(
                "{} {} ({})",
                ctx.t("expiră", "expires"),
                info.access_expires_at,
                days(info.days_left)
            ),
        ),
        (
            ctx.t("Token de reîmprospătare", "Refresh token"),
            format!(
                "{} {} ({})",
                ctx.t("expiră", "expires"),
                info.refresh_expires_at,
                days(info.refresh_days_left)
            ),
        ),
        (ctx.t("Obținut", "Obtained"), info.obtained_at.clone()),
        (
            ctx.t("Ultima reîmprospătare", "Last refresh"),
            info.refreshed_at
                .clone()
                .unwrap_or_else(|| ctx.t("niciodată", "never").into()),
        ),
        (ctx.t("Versiune", "Version"), info.version.to_string()),
        (
            ctx.t("Autentificare necesară", "Login required"),
            if info.login_required {
                ctx.t("DA: autentificați-vă din nou cu certificatul (anaf token login sau anaf token link)", "YES: log in again with the certificate (anaf token login or anaf token link)")
            } else {
                ctx.t("nu", "no")
            }
            .into(),
        ),
    ];
    if let Some(e) = &info.refresh_error {
        rows.push((ctx.t("Refuzul ANAF", "ANAF's refusal"), e.clone()));
    }
    if let Some(w) = &info.warning {
        rows.push((ctx.t("Atenție", "Warning"), w.clone()));
    }
    out::pairs(&rows);
    Ok(exit::OK)
}

fn link_cmd(ctx: &Ctx, s: &anaf_bridge::client::Session, a: LinkArgs) -> Result<u8> {
    if a.cancel {
        if !link::cancel(s)? {
            return Err(Error::new(ANAF_ERR_NO_LINK));
        }
        if ctx.json {
            out::print_json(&json!({"ok": true, "cancelled": true}));
        } else {
            say!(
                "{}",
                ctx.t("Linkul a fost anulat.", "The link was cancelled.")
            );
        }
        return Ok(exit::OK);
    }
    if !a.resume {
        let l = link::begin(s)?;
        if ctx.json && a.no_wait {
            out::print_json(&json!({"status": "pending", "url": l.url, "link_id": l.id,
                "expires_at": rfc3339(l.expires_at)}));
        } else if !ctx.json {
            say!(
                "{}",
                ctx.t(
                    "Deschideți acest link în browserul calculatorului cu tokenul USB (valabil 5 ore):",
                    "Open this link in the browser of the computer holding the USB token (valid 5 hours):"
                )
            );
            say!("{}", l.url);
        } else {
            // --json and waiting: the URL must reach the person before the wait ends.
            eprintln!("{}", l.url);
        }
        if a.no_wait {
            return Ok(exit::OK);
        }
    }
    let r = if a.no_wait {
        link::poll(s)
    } else {
        let bar = ctx.spinner(
            ctx.t(
                "Aștept generarea tokenului în browser (Ctrl+C oprește așteptarea; linkul rămâne valabil, reluați cu --resume)…",
                "Waiting for the token to be generated in the browser (Ctrl+C stops waiting; the link stays valid, continue with --resume)…",
            )
            .to_string(),
        );
        let r = link::wait(s, Duration::from_secs(a.timeout));
        bar.finish_and_clear();
        r
    };
    if ctx.json {
        out::print_json(&link::describe(s, &r));
    }
    match r {
        Ok(Poll::Done { info }) => {
            if !ctx.json {
                say!(
                    "{}",
                    ctx.t("Tokenul a fost importat.", "The token was imported.")
                );
                show(ctx, &info)?;
            }
            Ok(exit::OK)
        }
        Ok(Poll::Pending { link }) => {
            if !ctx.json {
                say!(
                    "{} {} ({})",
                    ctx.t(
                        "Tokenul nu a fost generat încă; linkul este valabil până la",
                        "The token was not generated yet; the link is valid until"
                    ),
                    rfc3339(link.expires_at),
                    link.url
                );
            }
            Ok(exit::PENDING)
        }
        // The wait ended with the link still pending (the browser was not used in time,
        // or the relay did not answer at the end): not a failure of ANAF, run again later.
        Err(e) if e.status == ANAF_ERR_TIMEOUT => {
            out::fail(&e, ctx.lang, false);
            Ok(exit::PENDING)
        }
        Err(e) if ctx.json => {
            // The JSON (describe) is out already; the message goes to stderr.
            out::fail(&e, ctx.lang, false);
            Ok(exit::code(e.status))
        }
        Err(e) => Err(e),
    }
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}
