//! The simulator's clock: real time plus an offset that tests move forward, so that
//! code and token expiry, stareMesaj progress and the 60-day limits can be tested
//! without waiting.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};

#[derive(Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        Utc::now().timestamp_millis() + self.offset_ms.load(Ordering::SeqCst)
    }

    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    pub fn advance(&self, d: Duration) {
        self.offset_ms
            .fetch_add(d.as_millis() as i64, Ordering::SeqCst);
    }

    /// Moves the clock so that "now" is `ms` (Unix milliseconds).
    pub fn set_ms(&self, ms: i64) {
        let real = Utc::now().timestamp_millis();
        self.offset_ms.store(ms - real, Ordering::SeqCst);
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst)
    }
}

/// ANAF's servers run on Romanian time; their formatted dates are local time.
/// EET/EEST (+2/+3) by the EU rule: summer time from the last Sunday of March 01:00 UTC
/// to the last Sunday of October 01:00 UTC.
pub fn ro_time(ms: i64) -> DateTime<FixedOffset> {
    let utc = Utc
        .timestamp_millis_opt(ms)
        .single()
        .unwrap_or_else(Utc::now);
    let year = chrono::Datelike::year(&utc);
    let start = last_sunday_1utc(year, 3);
    let end = last_sunday_1utc(year, 10);
    let hours = if utc >= start && utc < end { 3 } else { 2 };
    utc.with_timezone(&FixedOffset::east_opt(hours * 3600).unwrap())
}

fn last_sunday_1utc(year: i32, month: u32) -> DateTime<Utc> {
    use chrono::{Datelike, NaiveDate, Weekday};
    let mut d = NaiveDate::from_ymd_opt(year, month, 31).unwrap();
    while d.weekday() != Weekday::Sun {
        d = d.pred_opt().unwrap();
    }
    Utc.from_utc_datetime(&d.and_hms_opt(1, 0, 0).unwrap())
}

/// "202108051140": the dateResponse / data_creare format.
pub fn yyyymmddhhmm(ms: i64) -> String {
    ro_time(ms).format("%Y%m%d%H%M").to_string()
}

/// "20221010144008": e-Transport's data_creare.
pub fn yyyymmddhhmmss(ms: i64) -> String {
    ro_time(ms).format("%Y%m%d%H%M%S").to_string()
}

/// "05-08-2021 12:04:01": the Spring error timestamp and the list titles.
pub fn dd_mm_yyyy_hms(ms: i64) -> String {
    ro_time(ms).format("%d-%m-%Y %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn romanian_offsets() {
        // 2022-02-28T08:36:14Z is winter (+2): the swagger's 1646037374000 = 10:36:14.
        assert_eq!(dd_mm_yyyy_hms(1646037374000), "28-02-2022 10:36:14");
        // 2022-07-01T12:00:00Z is summer (+3).
        assert_eq!(yyyymmddhhmm(1656676800000), "202207011500");
    }
}
