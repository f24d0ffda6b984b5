//! The bridge's clock, in the units the token table and the C API's JSON use: Unix seconds
//! (or milliseconds for leases) and RFC 3339 UTC text.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds now; 0 on a clock set before 1970 (every expiry then reads as past).
pub fn now() -> i64 {
    since_epoch().map_or(0, |d| d.as_secs() as i64)
}

/// Unix milliseconds now (leases and paces); 0 on a clock set before 1970.
pub fn now_ms() -> i64 {
    since_epoch().map_or(0, |d| d.as_millis() as i64)
}

fn since_epoch() -> Option<std::time::Duration> {
    SystemTime::now().duration_since(UNIX_EPOCH).ok()
}

/// Unix seconds as RFC 3339 UTC to the second (`2026-11-23T16:00:00Z`); a value past
/// chrono's range stays its number, so the ERP still sees what the table holds.
pub fn rfc3339(unix: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(unix, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_to_the_second() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_536_000), "2026-11-24T16:00:00Z");
        assert_eq!(rfc3339(i64::MAX), i64::MAX.to_string());
        assert!((now_ms() / 1000 - now()).abs() <= 1);
    }
}
