//! The report of `anaf_diagnose`: findings with a verdict and, when something is wrong,
//! what to do, in both languages; the JSON the C API hands out.

use crate::status::Lang;
use serde_json::{json, Map, Value};

/// How bad a check's finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Ok,
    /// Works, but something is likely to hurt later or elsewhere.
    Warning,
    /// Will make token generation or ANAF calls fail.
    Problem,
    /// The check could not run here (nothing to judge).
    Skipped,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Problem => "problem",
            Level::Skipped => "skipped",
        }
    }
}

/// One finding: what was checked, the verdict, and what to do, in both languages.
#[derive(Clone, Debug)]
pub struct Check {
    pub id: &'static str,
    pub level: Level,
    title: (&'static str, &'static str),
    message: (String, String),
    action: Option<(String, String)>,
    pub data: Value,
}

impl Check {
    pub(super) fn new(id: &'static str, title: (&'static str, &'static str), level: Level) -> Self {
        Check {
            id,
            level,
            title,
            message: (String::new(), String::new()),
            action: None,
            data: Value::Object(Map::new()),
        }
    }

    pub(super) fn msg(mut self, ro: impl Into<String>, en: impl Into<String>) -> Self {
        self.message = (ro.into(), en.into());
        self
    }

    pub(super) fn todo(mut self, ro: impl Into<String>, en: impl Into<String>) -> Self {
        self.action = Some((ro.into(), en.into()));
        self
    }

    pub(super) fn data(mut self, v: Value) -> Self {
        self.data = v;
        self
    }

    pub(super) fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    fn pick<'a>(pair: (&'a str, &'a str), lang: Lang) -> &'a str {
        match lang {
            Lang::Ro => pair.0,
            Lang::En => pair.1,
        }
    }

    pub fn message(&self, lang: Lang) -> &str {
        Self::pick((&self.message.0, &self.message.1), lang)
    }

    pub fn to_json(&self, lang: Lang) -> Value {
        json!({
            "id": self.id,
            "status": self.level.as_str(),
            "title": Self::pick(self.title, lang),
            "message": self.message(lang),
            "action": self.action.as_ref().map(|a| Self::pick((&a.0, &a.1), lang)),
            "data": self.data,
        })
    }
}

/// All findings of one run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn get(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    pub fn count(&self, level: Level) -> usize {
        self.checks.iter().filter(|c| c.level == level).count()
    }

    pub fn to_json(&self, lang: Lang) -> Value {
        let problems = self.count(Level::Problem);
        let warnings = self.count(Level::Warning);
        let summary = match (lang, problems, warnings) {
            (Lang::Ro, 0, 0) => "Totul este în regulă.".to_string(),
            (Lang::En, 0, 0) => "Everything is in order.".to_string(),
            (Lang::Ro, p, w) => format!("{p} probleme, {w} avertismente."),
            (Lang::En, p, w) => format!("{p} problem(s), {w} warning(s)."),
        };
        json!({
            "ok": problems == 0,
            "problems": problems,
            "warnings": warnings,
            "summary": summary,
            "language": if lang == Lang::En { "en" } else { "ro" },
            "version": crate::VERSION,
            "checked_at": chrono::Utc::now().to_rfc3339(),
            "checks": self.checks.iter().map(|c| c.to_json(lang)).collect::<Vec<_>>(),
        })
    }
}
