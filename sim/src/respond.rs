//! Answer builders in ANAF's formats.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::clock;

pub fn json(status: StatusCode, v: &serde_json::Value) -> Response {
    // serde_json keeps insertion order (preserve_order is not needed: the values are
    // built with json! in ANAF's order and serde_json's Map is a BTreeMap otherwise),
    // so bodies are written by hand where the order matters; see `json_raw`.
    json_raw(status, serde_json::to_string(v).unwrap_or_default())
}

pub fn json_raw(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

pub fn xml(body: String) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        )],
        body,
    )
        .into_response()
}

/// Spring Boot's error body, as ANAF's services answer a 400:
/// {"timestamp":"05-08-2021 12:04:01","status":400,"error":"Bad Request","message":"…"}.
pub fn spring_error(now_ms: i64, status: StatusCode, message: &str) -> Response {
    let body = format!(
        r#"{{"timestamp":"{}","status":{},"error":"{}","message":{}}}"#,
        clock::dd_mm_yyyy_hms(now_ms),
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        serde_json::to_string(message).unwrap()
    );
    json_raw(status, body)
}

/// Spring's 404 body: {"timestamp":"2022-09-07T12:33:24.284+00:00","status":404,
/// "error":"Not Found","path":"/FCTEL/rest/validare/"}.
pub fn not_found(now_ms: i64, path: &str) -> Response {
    let ts = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3f+00:00");
    let body = format!(
        r#"{{"timestamp":"{ts}","status":404,"error":"Not Found","path":{}}}"#,
        serde_json::to_string(path).unwrap()
    );
    json_raw(StatusCode::NOT_FOUND, body)
}

/// Spring's 405 body, e.g. a GET on /upload.
pub fn method_not_allowed(now_ms: i64, path: &str) -> Response {
    let ts = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3f+00:00");
    let body = format!(
        r#"{{"timestamp":"{ts}","status":405,"error":"Method Not Allowed","path":{}}}"#,
        serde_json::to_string(path).unwrap()
    );
    json_raw(StatusCode::METHOD_NOT_ALLOWED, body)
}

pub fn esc_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn trace_id() -> String {
    let h = crate::state::random_token(16);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
