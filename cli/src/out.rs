//! What every command shares: the language, `--json`, the session, the printing of
//! answers, tables and errors, and the progress bars (indicatif, on stderr, only when
//! both stdout and stderr are a terminal).

use crate::config::Loaded;
use crate::exit;
use anaf_bridge::client::Session;
use anaf_bridge::config::Config;
use anaf_bridge::error::{Error, Result};
use anaf_bridge::status::{self, Lang};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

/// The command line's choices every command reads.
pub struct Ctx {
    pub lang: Lang,
    pub json: bool,
    /// Progress bars are drawn (a terminal on both outputs, and not `--quiet`).
    pub progress: bool,
    /// `--lang`, which overrides the configuration's `language`.
    pub lang_flag: Option<Lang>,
    pub loaded: Loaded,
}

impl Ctx {
    /// The configuration, in the language of the command line when it chose one.
    pub fn config(&self) -> Result<Config> {
        let mut c = Config::from_json(&self.loaded.json)?;
        if let Some(l) = self.lang_flag {
            c.language = l;
        }
        Ok(c)
    }

    /// Picks the Romanian or the English text.
    pub fn t<'a>(&self, ro: &'a str, en: &'a str) -> &'a str {
        tr(self.lang, ro, en)
    }

    /// A bar over `len` steps (hidden when there is nowhere to draw it).
    pub fn bar(&self, len: u64) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let b = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    }

    /// A spinner for a wait of unknown length.
    pub fn spinner(&self, msg: String) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.set_message(msg);
        b.enable_steady_tick(Duration::from_millis(120));
        b
    }
}

/// `println!` that never fails the command: a reader that went away (`anaf … | head`)
/// or a console that is not there must not stop an upload or a sync half way.
#[macro_export]
macro_rules! say {
    () => {
        $crate::out::say_line(format_args!(""))
    };
    ($($t:tt)*) => {
        $crate::out::say_line(format_args!($($t)*))
    };
}

pub fn say_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{args}");
}

pub fn tr<'a>(lang: Lang, ro: &'a str, en: &'a str) -> &'a str {
    match lang {
        Lang::Ro => ro,
        Lang::En => en,
    }
}

/// Whether progress can be drawn: both outputs are a terminal.
pub fn terminal() -> bool {
    std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

/// Opens the session (the token database, the HTTP client) of the configuration.
pub fn open(ctx: &Ctx) -> Result<Arc<Session>> {
    Ok(Arc::new(Session::open(ctx.config()?)?))
}

/// An error's message for a person: masked like the C API's last error.
pub fn message(e: &Error, lang: Lang) -> String {
    anaf_bridge::log::redact(&e.message(lang))
}

/// The JSON of a failed step (a file, an ID) or of the whole command.
pub fn error_json(e: &Error, lang: Lang) -> Value {
    json!({
        "status": status::name(e.status),
        "code": e.status,
        "message": message(e, lang),
        "exit_code": exit::code(e.status),
    })
}

/// Reports the error that ended the command: on stderr for people, and as JSON on stdout
/// with `--json`. Returns its exit code.
pub fn fail(e: &Error, lang: Lang, json_out: bool) -> u8 {
    let word = tr(lang, "eroare", "error");
    eprintln!(
        "{word} {} ({}): {}",
        status::name(e.status),
        e.status,
        message(e, lang)
    );
    if json_out {
        print_json(&json!({ "ok": false, "error": error_json(e, lang) }));
    }
    exit::code(e.status)
}

pub fn print_json(v: &Value) {
    say!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

/// Label / value lines, the labels padded to one width.
pub fn pairs(rows: &[(&str, String)]) {
    let w = rows.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    for (k, v) in rows {
        say!("{k}{}  {v}", " ".repeat(w - width(k)));
    }
}

/// A table: a header line and the rows, each column padded to its widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut w: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < w.len() {
                w[i] = w[i].max(width(c));
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let n = cells.len();
        let mut s = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            s.push_str(c);
            if i + 1 < n {
                s.push_str(&" ".repeat(w[i] - width(c) + 2));
            }
        }
        say!("{s}");
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// A JSON value as a table cell: strings bare, null as "-".
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) if s.is_empty() => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// At most `n` characters, "…" when cut.
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// The exit code of several steps: the first that did not succeed decides.
pub fn first_failure(statuses: impl IntoIterator<Item = i32>) -> u8 {
    statuses
        .into_iter()
        .map(exit::code)
        .find(|&c| c != exit::OK)
        .unwrap_or(exit::OK)
}
