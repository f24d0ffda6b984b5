//! What the relay knows about a link, and its clock.
//!
//! A link is a row in the database (`db`). What identifies and dates it is in clear: the
//! SHA-256 of its id (never the id), the installation that made it, its status, the
//! verifier (SHA-256 of the DLL's retrieval secret), its times. Everything else (the
//! `state` of the browser attempt, the CIF, the DLL's public key, the last failure, the
//! tokens, which are sealed to the DLL's key besides) is a [`Record`] sealed with the
//! storage key and the link id (`crypto::StorageKey`). A live link has a record; at the
//! first authenticated retrieval, a cancel or the expiry the record is deleted and a
//! tombstone remains, so that the DLL is told "expired" rather than "unknown";
//! tombstones are removed one day after the link's expiry.

use serde::{Deserialize, Serialize};
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Waiting for the browser.
    Pending,
    /// The last browser attempt failed; the link may be opened again until it expires.
    Failed,
    /// Tokens obtained and sealed for the DLL, not yet retrieved.
    Done,
    /// Tombstones: nothing secret remains.
    Retrieved,
    Expired,
    Cancelled,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Failed => "failed",
            Status::Done => "done",
            Status::Retrieved => "retrieved",
            Status::Expired => "expired",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Pending,
            Status::Failed,
            Status::Done,
            Status::Retrieved,
            Status::Expired,
            Status::Cancelled,
        ]
        .into_iter()
        .find(|x| x.name() == s)
    }

    pub fn is_live(self) -> bool {
        matches!(self, Status::Pending | Status::Failed | Status::Done)
    }
}

/// Tokens sealed to the DLL's public key (see `crypto::seal`), base64url.
#[derive(Clone, Serialize, Deserialize)]
pub struct SealedTokens {
    pub ephemeral_public_key: String,
    pub nonce: String,
    pub ciphertext: String,
}

/// The sealed part of a live link.
#[derive(Clone, Serialize, Deserialize)]
pub struct Record {
    pub client_id: String,
    /// The DLL's X25519 public key, base64url.
    pub recipient: String,
    pub cif: Option<String>,
    /// The random part of the `state` of the browser attempt in progress (one at a time;
    /// consumed by the first callback that presents it).
    pub state: Option<String>,
    /// Browser attempts started (each `/start`); reported with a failure so the DLL can
    /// tell a new failure from one it already reported.
    pub attempts: u32,
    /// The last failure: reason and description.
    pub failure: Option<(String, String)>,
    pub tokens: Option<SealedTokens>,
}

/// A link as the handlers see it (the record opened).
pub struct Link {
    pub id_hash: [u8; 32],
    pub installation: String,
    pub status: Status,
    pub verifier: [u8; 32],
    pub created: i64,
    pub expires: i64,
    /// Bumped by every write: a write based on an older read is refused.
    pub version: i64,
    pub record: Option<Record>,
}

impl Link {
    /// Whether `secret` is this link's retrieval secret (constant time).
    pub fn verify(&self, secret: &[u8]) -> bool {
        let h = crate::crypto::sha256(secret);
        bool::from(h.ct_eq(&self.verifier))
    }

    /// Applies the expiry: a live link past its time loses every secret it held.
    pub fn settle(&mut self, now: i64) -> bool {
        if now >= self.expires && self.status.is_live() {
            self.wipe(Status::Expired);
            return true;
        }
        false
    }

    /// Drops the record (state, tokens, everything sealed); keeps a tombstone.
    pub fn wipe(&mut self, status: Status) {
        self.record = None;
        self.status = status;
    }
}

/// A link as the database holds it.
#[derive(Clone, Debug)]
pub struct Row {
    pub id_hash: [u8; 32],
    pub installation: String,
    pub status: String,
    pub verifier: [u8; 32],
    pub created_at: i64,
    pub expires_at: i64,
    pub version: i64,
    /// The sealed [`Record`]; `None` for a tombstone.
    pub record: Option<Vec<u8>>,
}
