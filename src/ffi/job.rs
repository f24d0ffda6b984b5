//! The poll of a call begun on a thread of the DLL (`client::job`), as the C API answers it
//! for the inbox sync and the upload batch alike.

use super::give_json;
use crate::client::job::{Job, Poll, Progress};
use crate::error::{Error, Result};
use crate::status::ANAF_PENDING;
use serde_json::{json, Value};
use std::ffi::c_char;
use std::sync::Mutex;

/// `ANAF_PENDING` with `{"status":"running","progress":{…}}` while the job runs; once it
/// ended, its JSON with `"status":"done"` and the status `verdict` gives for it (or its
/// error) — once: the job is then gone, and the next poll answers `none`.
pub(crate) fn poll<P: Progress>(
    job: &Mutex<Option<Job<P>>>,
    none: i32,
    slot: &mut *mut c_char,
    verdict: impl FnOnce(&Value) -> Result<i32>,
) -> Result<i32> {
    let mut guard = job.lock().unwrap_or_else(|p| p.into_inner());
    let Some(j) = guard.as_mut() else {
        return Err(Error::new(none));
    };
    let outcome = match j.poll() {
        Poll::Running(progress) => {
            give_json(slot, &json!({"status": "running", "progress": progress}));
            return Ok(ANAF_PENDING);
        }
        Poll::Done(outcome) => outcome,
    };
    *guard = None;
    let done = |mut v: Value| {
        match &mut v {
            Value::Object(m) => {
                m.insert("status".into(), json!("done"));
            }
            _ => v = json!({"status": "done"}),
        }
        v
    };
    match outcome {
        Ok(v) => {
            let v = done(v);
            give_json(slot, &v);
            verdict(&v)
        }
        Err((e, v)) => {
            give_json(slot, &done(v));
            Err(e)
        }
    }
}
