//! `anaf`: anaf-bridge on the command line, for the ERP's support technician (is the token
//! there, does ANAF answer), the administrator's scheduled tasks (the nightly inbox sync,
//! the pending statuses) and the developer trying a call against anaf-sim. It runs the
//! library's own Rust code (`Session`, the same the C API calls), with the configuration
//! JSON of `anaf_open`.

#[macro_use]
mod out;
mod batch;
mod config;
mod diagnose;
mod efactura;
mod etransport;
mod exit;
mod inbox;
mod lookup;
mod token;

use anaf_bridge::status::Lang;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

const ABOUT: &str =
    "anaf-bridge on the command line: diagnose, the ANAF token, e-Factura, the inbox, e-Transport.";

const CONFIG_HELP: &str = "\
The configuration is the JSON of anaf_open, found in this order: --config FILE; the ANAF_CONFIG \
variable (the JSON itself, or a file's path); anaf.json in the current folder; anaf.json beside \
the executable. Relative paths in a file are taken from that file's folder. Messages follow the \
configuration's \"language\" (ro by default); --lang overrides it.";

#[derive(Parser)]
#[command(name = "anaf", version, about = ABOUT, long_about = None)]
struct Cli {
    /// The configuration file (the JSON of anaf_open)
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Language of the messages (default: the configuration's "language")
    #[arg(long, global = true, value_enum)]
    lang: Option<LangArg>,
    /// Print the answer as JSON on stdout (errors too)
    #[arg(long, global = true)]
    json: bool,
    /// No progress bars
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    Ro,
    En,
}

#[derive(Subcommand)]
enum Command {
    /// Checks this computer's setup (anaf_diagnose): ok / problem / what to do
    Diagnose,
    /// The ANAF token: info, login, link, refresh, test, import, delete
    #[command(subcommand)]
    Token(token::Cmd),
    /// Uploads invoices to e-Factura, through the upload journal (files, or folders of *.xml)
    Upload(efactura::UploadArgs),
    /// The processing state of uploads (stareMesaj), by index or every pending one
    Status(efactura::StatusArgs),
    /// The upload journal of the configured CIF
    Journal(efactura::JournalArgs),
    /// Settles uploads whose answer never came (ANAF_ERR_UPLOAD_UNCERTAIN)
    Resolve(efactura::ResolveArgs),
    /// The e-Factura inbox in the token database: sync, list, get
    #[command(subcommand)]
    Inbox(inbox::Cmd),
    /// e-Transport: upload, status, list
    #[command(subcommand)]
    Etransport(etransport::Cmd),
    /// Companies from ANAF's public registry of VAT payers, by CIF
    Lookup(lookup::Args),
}

/// The command line, with where the configuration comes from and the exit codes after
/// the top-level help.
fn command() -> clap::Command {
    Cli::command().after_help(format!("{CONFIG_HELP}\n\n{}", exit::TABLE))
}

fn main() -> ExitCode {
    let cli = Cli::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit());
    ExitCode::from(run(cli))
}

fn run(cli: Cli) -> u8 {
    let lang_flag = cli.lang.map(|l| match l {
        LangArg::Ro => Lang::Ro,
        LangArg::En => Lang::En,
    });
    let loaded = match config::load(cli.config.as_deref()) {
        Ok(l) => l,
        Err(e) => return out::fail(&e, lang_flag.unwrap_or_default(), cli.json),
    };
    let lang = lang_flag
        .or_else(|| anaf_bridge::config::peek_language(&loaded.json))
        .unwrap_or_default();
    let ctx = out::Ctx {
        lang,
        json: cli.json,
        progress: !cli.quiet && !cli.json && out::terminal(),
        lang_flag,
        loaded,
    };
    let done = match cli.command {
        Command::Diagnose => diagnose::run(&ctx),
        Command::Token(c) => token::run(&ctx, c),
        Command::Upload(a) => efactura::upload(&ctx, a),
        Command::Status(a) => efactura::status(&ctx, a),
        Command::Journal(a) => efactura::journal(&ctx, a),
        Command::Resolve(a) => efactura::resolve(&ctx, a),
        Command::Inbox(c) => inbox::run(&ctx, c),
        Command::Etransport(c) => etransport::run(&ctx, c),
        Command::Lookup(a) => lookup::run(&ctx, a),
    };
    match done {
        Ok(code) => code,
        Err(e) => out::fail(&e, ctx.lang, ctx.json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn the_help_shows_the_exit_codes() {
        let help = command().render_help().to_string();
        assert!(help.contains("Exit codes"), "{help}");
        assert!(help.contains("8  diagnose found a problem"), "{help}");
    }
}
