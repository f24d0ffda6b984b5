//! The link sessions, in memory only, with expiry.
//!
//! Nothing here ever reaches a disk. The client secret is kept sealed with the process
//! key (see `crypto::ProcessKey`) and dropped after a successful exchange, a cancel or
//! the expiry; the tokens are kept sealed to the DLL's public key and dropped at the
//! first authenticated retrieval or at the expiry. What remains afterwards is a
//! tombstone (id, verifier, times, outcome) so that the DLL is told "expired" rather
//! than "unknown"; tombstones are removed one day after the expiry.

use crate::crypto::Sealed;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

/// How long a tombstone outlives its link.
pub const TOMBSTONE_SECONDS: i64 = 24 * 3600;

/// The relay's clock: the system clock plus an offset that only tests move.
#[derive(Clone, Default, Debug)]
pub struct Clock(Arc<AtomicI64>);

impl Clock {
    /// Unix seconds.
    pub fn now(&self) -> i64 {
        let sys = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        sys + self.0.load(Ordering::Relaxed)
    }

    /// Moves the clock forward (tests: the 5-hour expiry without waiting 5 hours).
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::Relaxed);
    }
}

/// What became of a link.
pub enum Outcome {
    /// Waiting for the browser.
    Pending,
    /// The last browser attempt failed; the link may be opened again until it expires.
    Failed {
        reason: String,
        description: String,
    },
    /// Tokens obtained and sealed for the DLL, not yet retrieved.
    Done(Sealed),
    /// Tombstones: nothing secret remains.
    Retrieved,
    Expired,
    Cancelled,
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Failed { .. } => "failed",
            Outcome::Done(_) => "done",
            Outcome::Retrieved => "retrieved",
            Outcome::Expired => "expired",
            Outcome::Cancelled => "cancelled",
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(
            self,
            Outcome::Pending | Outcome::Failed { .. } | Outcome::Done(_)
        )
    }
}

pub struct Link {
    pub client_id: String,
    /// The client secret sealed with the process key; `None` once no longer needed.
    pub client_secret: Option<Vec<u8>>,
    /// SHA-256 of the DLL's retrieval secret.
    pub verifier: [u8; 32],
    /// The DLL's X25519 public key.
    pub recipient: [u8; 32],
    pub cif: Option<String>,
    pub created: i64,
    pub expires: i64,
    /// The random part of the `state` of the browser attempt in progress (one at a time;
    /// consumed by the first callback that presents it).
    pub state: Option<String>,
    /// Browser attempts started (each `/start`); reported with a failure so the DLL can
    /// tell a new failure from one it already reported.
    pub attempts: u32,
    pub outcome: Outcome,
}

impl Link {
    /// Whether `secret` is this link's retrieval secret (constant time).
    pub fn verify(&self, secret: &[u8]) -> bool {
        let h = crate::crypto::sha256(secret);
        bool::from(h.ct_eq(&self.verifier))
    }

    /// Applies the expiry: a live link past its time loses every secret it held.
    pub fn settle(&mut self, now: i64) -> bool {
        if now >= self.expires && self.outcome.is_live() {
            self.wipe(Outcome::Expired);
            return true;
        }
        false
    }

    /// Drops the client secret, the state and any sealed tokens; keeps a tombstone.
    pub fn wipe(&mut self, outcome: Outcome) {
        if let Some(s) = self.client_secret.as_mut() {
            zeroize::Zeroize::zeroize(s);
        }
        self.client_secret = None;
        self.state = None;
        self.outcome = outcome;
    }
}

#[derive(Default)]
pub struct Links {
    pub map: HashMap<String, Link>,
}

impl Links {
    pub fn live_count(&self) -> usize {
        self.map.values().filter(|l| l.outcome.is_live()).count()
    }

    /// Expires what is due and forgets old tombstones; returns (expired, removed).
    pub fn sweep(&mut self, now: i64) -> (usize, usize) {
        let mut expired = 0;
        for l in self.map.values_mut() {
            if l.settle(now) {
                expired += 1;
            }
        }
        let before = self.map.len();
        self.map
            .retain(|_, l| l.outcome.is_live() || now < l.expires + TOMBSTONE_SECONDS);
        (expired, before - self.map.len())
    }
}
