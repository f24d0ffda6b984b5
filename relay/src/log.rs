//! The relay's log: one line per event, never a secret, a code, a token or a whole link id.
//!
//! Lines for stderr go through a bounded queue to a writer thread of their own. A stderr
//! that nobody reads (a full pipe, a stuck journald) then costs dropped lines, counted and
//! reported once the writer moves again, instead of requests that hang on a write.

use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Lines waiting for the writer before new ones are dropped.
const QUEUE: usize = 1024;

/// Where the relay's log lines go.
#[derive(Clone)]
pub enum Log {
    Stderr(Arc<Queue>),
    /// Kept in memory (tests read it back to check that nothing secret was logged).
    Memory(Arc<Mutex<Vec<String>>>),
}

pub struct Queue {
    tx: SyncSender<String>,
    /// Lines dropped since the writer last said so.
    dropped: Arc<AtomicU64>,
    /// Lines queued and not yet written (for [`Log::flush`]).
    pending: Arc<AtomicUsize>,
}

impl Log {
    /// A log to stderr through the writer thread.
    pub fn stderr() -> Log {
        let (tx, rx) = sync_channel::<String>(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let pending = Arc::new(AtomicUsize::new(0));
        let (d, p) = (dropped.clone(), pending.clone());
        let spawned = std::thread::Builder::new()
            .name("anaf-relay-log".into())
            .spawn(move || {
                let mut err = std::io::stderr();
                for line in rx {
                    let lost = d.swap(0, Ordering::Relaxed);
                    if lost > 0 {
                        let _ = writeln!(
                            err,
                            "{} anaf-relay: {lost} log line(s) dropped: stderr was not read fast enough",
                            stamp()
                        );
                    }
                    let _ = writeln!(err, "{line}");
                    p.fetch_sub(1, Ordering::Relaxed);
                }
            });
        if spawned.is_err() {
            // No thread, no log: the relay still serves.
            eprintln!("anaf-relay: the log thread could not start; logging is off");
        }
        Log::Stderr(Arc::new(Queue {
            tx,
            dropped,
            pending,
        }))
    }

    pub fn memory() -> Log {
        Log::Memory(Arc::new(Mutex::new(Vec::new())))
    }

    /// Logs one line; never blocks.
    pub fn line(&self, text: &str) {
        let line = format!("{} anaf-relay: {text}", stamp());
        match self {
            Log::Stderr(q) => {
                q.pending.fetch_add(1, Ordering::Relaxed);
                match q.tx.try_send(line) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                        q.pending.fetch_sub(1, Ordering::Relaxed);
                        q.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Log::Memory(m) => m.lock().unwrap_or_else(|p| p.into_inner()).push(line),
        }
    }

    /// Waits up to `limit` for queued lines to be written (before the process exits).
    pub fn flush(&self, limit: Duration) {
        if let Log::Stderr(q) = self {
            let start = Instant::now();
            while q.pending.load(Ordering::Relaxed) > 0 && start.elapsed() < limit {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    pub fn text(&self) -> String {
        match self {
            Log::Stderr(_) => String::new(),
            Log::Memory(m) => m.lock().unwrap_or_else(|p| p.into_inner()).join("\n"),
        }
    }
}

fn stamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
