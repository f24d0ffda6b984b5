//! The computer's clock against ANAF's: tokens and TLS are judged by time.

use super::{Check, Level};
use serde_json::json;

const TITLE: (&str, &str) = ("Ceasul calculatorului", "Computer clock");

/// Seconds the local clock is ahead (+) or behind (−) a server's HTTP Date header.
fn clock_skew(server_date: &str, local: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    let server = chrono::DateTime::parse_from_rfc2822(server_date.trim()).ok()?;
    Some(local.timestamp() - server.timestamp())
}

/// Compares the local clock with `date`, a server's (host, HTTP Date header).
pub(super) fn check(date: Option<(String, String)>) -> Check {
    let c = Check::new("clock", TITLE, Level::Ok);
    let Some((host, server_date)) = date else {
        return c.level(Level::Skipped).msg(
            "Ceasul nu a putut fi comparat: niciun server ANAF nu a răspuns.",
            "The clock could not be compared: no ANAF server answered.",
        );
    };
    let now = chrono::Utc::now();
    let Some(skew) = clock_skew(&server_date, now) else {
        return c
            .level(Level::Skipped)
            .data(json!({ "server_date": server_date }))
            .msg(
                format!("{host} a trimis o dată de neînțeles: {server_date}."),
                format!("{host} sent an unreadable date: {server_date}."),
            );
    };
    let data = json!({ "host": host, "server_date": server_date, "local_date": now.to_rfc2822(), "skew_seconds": skew });
    let (ahead_ro, ahead_en) = if skew > 0 {
        ("înainte", "ahead of")
    } else {
        ("în urmă", "behind")
    };
    let abs = skew.unsigned_abs();
    let shown = if abs >= 120 {
        format!("{} min", abs / 60)
    } else {
        format!("{abs} s")
    };
    let todo = (
        "Sincronizați ora: Setări Windows > Oră și limbă > Sincronizați acum (sau serverul de timp al domeniului).",
        "Synchronise the time: Windows Settings > Time & language > Sync now (or the domain time server).",
    );
    if abs > 300 {
        c.level(Level::Problem)
            .data(data)
            .msg(
                format!("Ceasul calculatorului este cu {shown} {ahead_ro} față de ANAF ({host}); conexiunile securizate și tokenurile pot fi refuzate."),
                format!("The computer clock is {shown} {ahead_en} ANAF ({host}); secure connections and tokens may be refused."),
            )
            .todo(todo.0, todo.1)
    } else if abs > 60 {
        c.level(Level::Warning)
            .data(data)
            .msg(
                format!("Ceasul calculatorului este cu {shown} {ahead_ro} față de ANAF ({host})."),
                format!("The computer clock is {shown} {ahead_en} ANAF ({host})."),
            )
            .todo(todo.0, todo.1)
    } else {
        c.data(data).msg(
            format!("Ceasul este sincron cu ANAF (diferență {skew} s)."),
            format!("The clock agrees with ANAF (difference {skew} s)."),
        )
    }
}

/// Without an HTTP client no server's clock can be asked.
pub(super) fn without_client() -> Check {
    Check::new("clock", TITLE, Level::Skipped).msg(
        "Ceasul nu a putut fi comparat: clientul HTTP nu a putut fi creat.",
        "The clock could not be compared: the HTTP client could not be built.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_from_http_date() {
        let local = chrono::DateTime::parse_from_rfc3339("2026-11-23T16:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            clock_skew("Mon, 23 Nov 2026 15:50:00 GMT", local),
            Some(600)
        );
        assert_eq!(
            clock_skew("Mon, 23 Nov 2026 16:00:30 GMT", local),
            Some(-30)
        );
        assert_eq!(clock_skew("yesterday", local), None);
    }
}
