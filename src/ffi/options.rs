//! The options JSON objects of the C API (`options_json`): parsed once, unknown keys
//! refused by name, each member checked for its type, with the same words in every call.

use crate::error::{Error, Result};
use crate::status::*;
use serde_json::{Map, Value};

/// Parses an options JSON object (NULL or "" = `{}`), refusing unknown keys by name.
pub(crate) fn options(raw: Option<&str>, known: &[&str]) -> Result<Map<String, Value>> {
    let Some(raw) = raw else {
        return Ok(Map::new());
    };
    let v: Value = serde_json::from_str(raw).map_err(|e| {
        Error::with(
            ANAF_ERR_INVALID_JSON,
            format!("options_json: {e}"),
            format!("options_json: {e}"),
        )
    })?;
    let Value::Object(map) = v else {
        return Err(Error::with(
            ANAF_ERR_INVALID_JSON,
            "options_json trebuie să fie un obiect JSON ({...}).",
            "options_json must be a JSON object ({...}).",
        ));
    };
    for k in map.keys() {
        if !known.contains(&k.as_str()) {
            let known = known.join(", ");
            return Err(Error::with(
                ANAF_ERR_INVALID_ARGUMENT,
                format!("options_json: câmpul „{k}” nu este cunoscut; permise: {known}."),
                format!("options_json: unknown field \"{k}\"; known: {known}."),
            ));
        }
    }
    Ok(map)
}

/// The members of an options object, each checked for its type; errors name the argument.
pub(crate) struct Members {
    pub(crate) m: Map<String, Value>,
    pub(crate) arg: &'static str,
}

impl Members {
    fn bad(&self, k: &str, ro: &str, en: &str) -> Error {
        let arg = self.arg;
        Error::with(
            ANAF_ERR_INVALID_ARGUMENT,
            format!("{arg}: \"{k}\" {ro}"),
            format!("{arg}: \"{k}\" {en}"),
        )
    }

    pub(crate) fn string(&self, k: &str) -> Result<Option<String>> {
        match self.m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(k, "trebuie să fie text.", "must be a string.")),
        }
    }

    /// A day, `YYYY-MM-DD`, as the Unix ms of its start (UTC).
    pub(crate) fn day_ms(&self, k: &str) -> Result<Option<i64>> {
        self.string(k)?
            .map(|d| {
                chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map(|d| {
                        d.and_hms_opt(0, 0, 0)
                            .unwrap_or_default()
                            .and_utc()
                            .timestamp_millis()
                    })
                    .map_err(|_| self.bad(k, "este o dată AAAA-LL-ZZ.", "is a date YYYY-MM-DD."))
            })
            .transpose()
    }

    /// A whole number from `min` to `max`.
    pub(crate) fn number(&self, k: &str, min: u64, max: u64) -> Result<Option<u64>> {
        match self.m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some_and(|v| (min..=max).contains(&v)) => {
                Ok(n.as_u64())
            }
            Some(_) => Err(self.bad(
                k,
                &format!("este un număr întreg de la {min} la {max}."),
                &format!("is a whole number from {min} to {max}."),
            )),
        }
    }

    pub(crate) fn flag(&self, k: &str) -> Result<bool> {
        match self.m.get(k) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.bad(k, "este true sau false.", "is true or false.")),
        }
    }
}

/// A boolean option: true/false, 1/0, "DA"/"NU".
pub(crate) fn flag(map: &Map<String, Value>, key: &str) -> Result<bool> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(false),
        Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("DA") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("NU") => Ok(false),
        Some(other) => Err(Error::with(
            ANAF_ERR_INVALID_ARGUMENT,
            format!("options_json: „{key}” = {other} trebuie să fie true sau false."),
            format!("options_json: \"{key}\" = {other} must be true or false."),
        )),
    }
}

pub(crate) fn string_opt<'m>(map: &'m Map<String, Value>, key: &str) -> Result<Option<&'m str>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(Error::with(
            ANAF_ERR_INVALID_ARGUMENT,
            format!("options_json: „{key}” = {other} trebuie să fie text."),
            format!("options_json: \"{key}\" = {other} must be a string."),
        )),
    }
}
