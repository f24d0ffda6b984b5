//! The per-minute pacer shared by every thread and every client of the process.
//!
//! ANAF allows 1000 calls per minute for all methods together and may block an application
//! that keeps ignoring limit answers. The pacer spaces calls evenly: each call reserves the
//! next free slot, slots are at least `60 s / rate` apart, so in any window of a minute no
//! more than `rate` calls start. A 429 or a quota answer pushes the next slot back
//! (Retry-After when ANAF sends one, else 1 s doubling up to 60 s); a success clears it.

use once_cell::sync::Lazy;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_PENALTY: Duration = Duration::from_secs(60);
pub const FIRST_PENALTY: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct State {
    /// The earliest start of the next call.
    next: Option<Instant>,
    /// The pause the next limit answer will impose.
    penalty: Duration,
}

#[derive(Debug)]
pub struct Pacer {
    state: Mutex<State>,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::new()
    }
}

/// The spacing of calls for a rate per minute, rounded up so the rate is never exceeded.
pub fn interval(per_minute: u32) -> Duration {
    let per_minute = per_minute.max(1) as u128;
    let nanos = (60_000_000_000u128).div_ceil(per_minute);
    Duration::from_nanos(nanos as u64)
}

impl Pacer {
    pub const fn new() -> Pacer {
        Pacer {
            state: Mutex::new(State {
                next: None,
                penalty: FIRST_PENALTY,
            }),
        }
    }

    /// Reserves the next slot for a caller whose configured rate is `per_minute`, and
    /// returns when it may start (now or later).
    pub fn reserve(&self, per_minute: u32) -> Instant {
        self.reserve_at(Instant::now(), per_minute)
    }

    fn reserve_at(&self, now: Instant, per_minute: u32) -> Instant {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let slot = match s.next {
            Some(n) if n > now => n,
            _ => now,
        };
        s.next = Some(slot + interval(per_minute));
        slot
    }

    /// A 429 or a quota answer came: no call starts before `retry_after` (or the current
    /// penalty, which doubles for the next time). Returns the pause imposed.
    pub fn back_off(&self, retry_after: Option<Duration>) -> Duration {
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let pause = retry_after.unwrap_or(s.penalty).min(MAX_PENALTY);
        s.penalty = (s.penalty * 2).min(MAX_PENALTY);
        let until = now + pause;
        if s.next.is_none_or(|n| n < until) {
            s.next = Some(until);
        }
        ::log::warn!(target: "anaf::pacer", "limit answer from ANAF: pausing calls for {pause:?}");
        pause
    }

    /// A call succeeded: the next limit answer starts again from the first penalty.
    pub fn relax(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.penalty = FIRST_PENALTY;
    }

    /// How long from now until the next call may start (zero when it may start now).
    pub fn pause_remaining(&self) -> Duration {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.next
            .map(|n| n.saturating_duration_since(Instant::now()))
            .unwrap_or_default()
    }

    /// Forgets every reservation and penalty (for tests that checked a back-off and
    /// must not wait it out).
    pub fn reset(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.next = None;
        s.penalty = FIRST_PENALTY;
    }
}

static GLOBAL: Lazy<Pacer> = Lazy::new(Pacer::new);

/// The pacer of the process.
pub fn global() -> &'static Pacer {
    &GLOBAL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_never_allows_more_than_the_rate() {
        assert_eq!(interval(1000), Duration::from_millis(60));
        assert_eq!(interval(60), Duration::from_secs(1));
        // 7 does not divide a minute: rounded up, 7 slots take at least a minute.
        assert!(interval(7) * 7 >= Duration::from_secs(60));
        assert_eq!(interval(0), Duration::from_secs(60));
    }

    #[test]
    fn slots_are_spaced_and_a_window_holds_at_most_the_rate() {
        let p = Pacer::new();
        let t0 = Instant::now();
        // 2500 callers arriving at once at 1000/min: slot k is at k * 60 ms.
        let slots: Vec<Instant> = (0..2500).map(|_| p.reserve_at(t0, 1000)).collect();
        assert_eq!(slots[0], t0);
        for w in slots.windows(2) {
            assert!(w[1] - w[0] >= Duration::from_millis(60));
        }
        // Any sliding minute holds at most 1000 slots.
        let mut j = 0;
        for i in 0..slots.len() {
            while j < slots.len() && slots[j] - slots[i] < Duration::from_secs(60) {
                j += 1;
            }
            assert!(j - i <= 1000, "window from slot {i} holds {}", j - i);
        }
    }

    #[test]
    fn an_idle_pacer_does_not_bank_slots() {
        let p = Pacer::new();
        let t0 = Instant::now();
        p.reserve_at(t0, 60);
        let later = t0 + Duration::from_secs(10);
        assert_eq!(p.reserve_at(later, 60), later);
        assert_eq!(p.reserve_at(later, 60), later + Duration::from_secs(1));
    }

    #[test]
    fn back_off_pushes_the_next_slot_and_doubles() {
        let p = Pacer::new();
        let before = Instant::now();
        assert_eq!(p.back_off(None), Duration::from_secs(1));
        assert!(p.reserve(1000) >= before + Duration::from_secs(1));
        assert_eq!(p.back_off(None), Duration::from_secs(2));
        assert_eq!(
            p.back_off(Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
        assert_eq!(p.back_off(Some(Duration::from_secs(500))), MAX_PENALTY);
        p.relax();
        assert_eq!(p.back_off(None), FIRST_PENALTY);
    }
}
