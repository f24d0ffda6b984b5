//! The exit codes of `anaf`: one per class of status, so that a scheduled task's history
//! (the "Last Run Result" column of the Task Scheduler) says what kind of thing failed.
//! The same table is in README.md ("For support") and in `anaf --help`.

use anaf_bridge::status::*;

/// Everything worked (also: the document was already at ANAF, `ANAF_ALREADY_UPLOADED`).
pub const OK: u8 = 0;
/// Anything else: an internal error, a function this build lacks.
pub const OTHER: u8 = 1;
/// The command line or the configuration is wrong, or an input file is (missing, not XML,
/// too large); also what clap itself answers for a bad command line.
pub const USAGE: u8 = 2;
/// No token, or a new login with the certificate is needed, or ANAF refused the token or
/// the application; the login window or the browser link failed.
pub const TOKEN: u8 = 3;
/// ANAF could not be reached or did not answer properly (network, TLS, timeout, HTTP
/// 5xx, the firewall's HTML page, too many requests): try again later.
pub const NETWORK: u8 = 4;
/// ANAF answered and refused: the document was rejected, a daily quota is used up, the
/// answer could not be understood, or an earlier upload's outcome is uncertain.
pub const REFUSED: u8 = 5;
/// The token database could not be used (locked, read-only, newer, damaged).
pub const DATABASE: u8 = 6;
/// Not finished yet: ANAF is still processing, the browser link is still waiting, or
/// another workstation is syncing the inbox. Run again later.
pub const PENDING: u8 = 7;
/// `anaf diagnose` found at least one problem.
pub const DIAGNOSE_PROBLEM: u8 = 8;

/// The exit code of a status code of the library (`ANAF_*`).
pub fn code(status: i32) -> u8 {
    match status {
        ANAF_OK | ANAF_ALREADY_UPLOADED => OK,
        ANAF_PENDING | ANAF_ERR_SYNC_BUSY | ANAF_ERR_BATCH_BUSY => PENDING,
        ANAF_ERR_NULL_POINTER
        | ANAF_ERR_INVALID_UTF8
        | ANAF_ERR_INVALID_JSON
        | ANAF_ERR_INVALID_CONFIG
        | ANAF_ERR_INVALID_ARGUMENT
        | ANAF_ERR_FILE
        | ANAF_ERR_NOT_XML
        | ANAF_ERR_TOO_LARGE
        | ANAF_ERR_NO_MESSAGE => USAGE,
        ANAF_ERR_NO_TOKEN
        | ANAF_ERR_LOGIN_REQUIRED
        | ANAF_ERR_INVALID_CLIENT
        | ANAF_ERR_OAUTH
        | ANAF_ERR_ACCESS_DENIED
        | ANAF_ERR_CANCELLED
        | ANAF_ERR_CERT_NOT_FOUND
        | ANAF_ERR_WEBVIEW2_MISSING
        | ANAF_ERR_STATE_MISMATCH
        | ANAF_ERR_CODE_EXPIRED
        | ANAF_ERR_REDIRECT_MISMATCH
        | ANAF_ERR_WINDOW
        | ANAF_ERR_UNAUTHORIZED
        | ANAF_ERR_LINK_EXPIRED
        | ANAF_ERR_LINK_FAILED
        | ANAF_ERR_NO_LINK => TOKEN,
        ANAF_ERR_NETWORK
        | ANAF_ERR_TIMEOUT
        | ANAF_ERR_TLS
        | ANAF_ERR_HTTP
        | ANAF_ERR_HTML_RESPONSE
        | ANAF_ERR_RATE_LIMITED => NETWORK,
        ANAF_ERR_REJECTED
        | ANAF_ERR_QUOTA_EXCEEDED
        | ANAF_ERR_BAD_RESPONSE
        | ANAF_ERR_UPLOAD_UNCERTAIN
        | ANAF_ERR_BATCH_INCOMPLETE => REFUSED,
        ANAF_ERR_DATABASE
        | ANAF_ERR_DATABASE_LOCKED
        | ANAF_ERR_DATABASE_READONLY
        | ANAF_ERR_DATABASE_NEWER
        | ANAF_ERR_DATABASE_CORRUPT => DATABASE,
        _ => OTHER,
    }
}

/// Whether a batch (several files) should stop after this status: what fails one file
/// the same way fails the next (no token, no network, no database).
pub fn stops_batch(status: i32) -> bool {
    matches!(code(status), TOKEN | NETWORK | DATABASE)
}

/// The table shown at the end of `anaf --help`.
pub const TABLE: &str = "\
Exit codes (with several files or IDs, the first that did not succeed decides):
  0  ok (also: already uploaded, ANAF has the document)
  1  other error (internal)
  2  bad command line, configuration or input file
  3  token: none stored, a login with the certificate is needed, or refused
  4  network: ANAF unreachable or unavailable (TLS, timeout, HTTP 5xx, 429): try later
  5  ANAF refused: rejected, quota used up, answer not understood, upload uncertain
  6  database: locked, read-only, newer, damaged
  7  pending: still processing, link not used yet, inbox busy: run again later
  8  diagnose found a problem";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_class() {
        for s in all() {
            let c = code(s);
            // Only what no user can act on falls into "other".
            if c == OTHER {
                assert!(
                    [
                        ANAF_ERR_INTERNAL,
                        ANAF_ERR_NOT_IMPLEMENTED,
                        ANAF_ERR_NO_SYNC,
                        ANAF_ERR_NO_BATCH
                    ]
                    .contains(&s),
                    "{} has no class",
                    name(s)
                );
            }
            assert!(c <= PENDING, "{}", name(s));
            assert!(TABLE.contains(&format!("\n  {c}  ")), "{c} is in the table");
        }
        assert_eq!(code(ANAF_OK), OK);
        assert_eq!(code(ANAF_ERR_NO_TOKEN), TOKEN);
        assert_eq!(code(ANAF_ERR_NETWORK), NETWORK);
        assert_eq!(code(ANAF_ERR_REJECTED), REFUSED);
        assert_eq!(code(ANAF_ERR_DATABASE_LOCKED), DATABASE);
        assert_eq!(code(ANAF_PENDING), PENDING);
        assert_eq!(code(12345), OTHER);
    }

    #[test]
    fn a_batch_stops_when_the_next_file_would_fail_the_same_way() {
        assert!(stops_batch(ANAF_ERR_NO_TOKEN));
        assert!(stops_batch(ANAF_ERR_NETWORK));
        assert!(stops_batch(ANAF_ERR_DATABASE));
        assert!(!stops_batch(ANAF_ERR_NOT_XML));
        assert!(!stops_batch(ANAF_ERR_REJECTED));
    }
}
