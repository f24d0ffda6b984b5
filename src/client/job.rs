//! A long call run on a thread of the DLL, for the ERP's screen: begin it, then poll it
//! (every second, say) for its progress and, once, its outcome; cancel it from any thread.
//! The inbox sync and the upload batch both run this way.

use crate::error::Error;
use crate::status::ANAF_ERR_INTERNAL;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What the call answered: its JSON, or its error with the JSON it still filled in.
pub type Outcome = std::result::Result<Value, (Error, Value)>;

/// The counters a call keeps for the screen while it runs.
pub trait Progress: Default + Send + Sync + 'static {
    fn json(&self) -> Value;
}

/// What a poll answers.
pub enum Poll {
    Running(Value),
    Done(Outcome),
}

/// A call running on a thread of its own: its progress, and its outcome once it ended.
pub struct Job<P> {
    pub progress: Arc<P>,
    cancel: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<Outcome>>,
    /// The outcome, once taken from the finished thread.
    outcome: Option<Outcome>,
}

impl<P: Progress> Job<P> {
    /// Starts `run` (given the progress to keep and the cancel flag to watch) on a thread
    /// named `name`.
    pub fn start(
        name: &str,
        run: impl FnOnce(&P, &AtomicBool) -> Outcome + Send + 'static,
    ) -> Job<P> {
        let progress = Arc::new(P::default());
        let cancel = Arc::new(AtomicBool::new(false));
        let (p, c) = (progress.clone(), cancel.clone());
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                // A panic in the call is this thread's; the host sees ANAF_ERR_INTERNAL.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&p, &c)))
                    .unwrap_or_else(|_| Err((Error::new(ANAF_ERR_INTERNAL), Value::Null)))
            })
            .ok();
        Job {
            progress,
            cancel,
            handle,
            outcome: None,
        }
    }

    /// Whether the call has ended (its outcome is ready to be polled).
    pub fn finished(&self) -> bool {
        self.outcome.is_some() || self.handle.as_ref().is_none_or(|h| h.is_finished())
    }

    /// Asks the call to stop at its next safe point.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// The call's progress while it runs, or its outcome once (the job is then spent).
    pub fn poll(&mut self) -> Poll {
        if self.outcome.is_none() && self.finished() {
            self.outcome = Some(match self.handle.take().map(|h| h.join()) {
                Some(Ok(r)) => r,
                _ => Err((Error::new(ANAF_ERR_INTERNAL), Value::Null)),
            });
        }
        match self.outcome.take() {
            Some(r) => Poll::Done(r),
            None => Poll::Running(self.progress.json()),
        }
    }
}
