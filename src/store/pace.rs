//! The pace of calls to ANAF kept in the database (`anaf_pace`), so that every process and
//! workstation sharing it stays under ANAF's per-minute limit together, not each on its own.
//! A call reserves the next free slot of its scope (at least `interval` after the previous
//! one) and waits for it; a limit answer pushes the next slot back for everyone.
//! Slots are wall-clock milliseconds: workstations whose clocks differ by a second may let
//! two calls start that second apart less than the interval (Windows keeps them in sync).

use super::db::{args, Write};
use super::Store;
use crate::error::Result;

impl Store {
    /// Reserves the next slot of `scope`: not before `now_ms`, `interval_ms` after the one
    /// reserved before it. Returns its start (Unix ms).
    pub fn reserve_slot(&self, scope: &str, interval_ms: i64, now_ms: i64) -> Result<i64> {
        // Not waited for on the disk: a slot lost in a power cut only spaces less, once.
        self.write(Write::relaxed(), |c| {
            c.serialize(&format!("pace/{scope}"))?;
            let next = c
                .query_row(
                    "SELECT next_ms FROM anaf_pace WHERE scope = ?",
                    args![scope],
                )?
                .map(|r| r.int(0))
                .transpose()?;
            let slot = next.map_or(now_ms, |n| n.max(now_ms));
            if next.is_some() {
                c.execute(
                    "UPDATE anaf_pace SET next_ms = ? WHERE scope = ?",
                    args![slot + interval_ms, scope],
                )?;
            } else {
                c.execute(
                    "INSERT INTO anaf_pace (scope, next_ms) VALUES (?, ?)",
                    args![scope, slot + interval_ms],
                )?;
            }
            Ok(slot)
        })
    }

    /// ANAF answered with its limit: no call of `scope` starts before `until_ms`.
    pub fn pause_slots(&self, scope: &str, until_ms: i64) -> Result<()> {
        self.write(Write::relaxed(), |c| {
            c.serialize(&format!("pace/{scope}"))?;
            c.execute(
                "UPDATE anaf_pace SET next_ms = ? WHERE scope = ? AND next_ms < ?",
                args![until_ms, scope, until_ms],
            )
            .map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spaced_and_a_pause_pushes_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("p.db")).unwrap();
        assert_eq!(s.reserve_slot("test", 60, 1_000).unwrap(), 1_000);
        assert_eq!(s.reserve_slot("test", 60, 1_000).unwrap(), 1_060);
        assert_eq!(s.reserve_slot("test", 60, 1_010).unwrap(), 1_120);
        // Another scope has its own pace; a late caller starts at its own now.
        assert_eq!(s.reserve_slot("prod", 60, 1_000).unwrap(), 1_000);
        assert_eq!(s.reserve_slot("test", 60, 5_000).unwrap(), 5_000);
        s.pause_slots("test", 9_000).unwrap();
        assert_eq!(s.reserve_slot("test", 60, 5_100).unwrap(), 9_000);
        // A pause shorter than what is reserved changes nothing.
        s.pause_slots("test", 100).unwrap();
        assert_eq!(s.reserve_slot("test", 60, 5_100).unwrap(), 9_060);
    }
}
