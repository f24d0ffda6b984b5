//! Fault injection and the per-minute limit, as a middleware in front of every host.
//! Faults without a path prefix apply to the API and public hosts only (the identity
//! provider is reached with `inject_on("/anaf-oauth2/...")`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::respond::html;
use crate::server::ConnInfo;
use crate::state::{Fault, State};

#[derive(Clone)]
pub struct HostCtx {
    pub state: Arc<State>,
    /// API or public host (counted, limited, and subject to prefix-less faults).
    pub service_host: bool,
}

/// The F5 ASM block page the WAF in front of webservicesp answers with HTTP 200.
pub fn request_rejected_page() -> String {
    let support_id: u64 = 10_000_000_000_000_000_000 + rand::random::<u64>() % 1_000_000_000_000;
    format!(
        "<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. \
         Please consult with your administrator.<br><br>Your support ID is: {support_id}<br><br>\
         <a href='javascript:history.back();'>[Go Back]</a></body></html>"
    )
}

pub async fn middleware(
    AxState(ctx): AxState<HostCtx>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_sim") {
        return next.run(req).await;
    }
    let st = &ctx.state;
    let now = st.clock.now_ms();
    let fault = {
        let mut g = st.lock();
        if ctx.service_host {
            g.counters.requests += 1;
        }
        let idx = g.faults.iter().position(|r| {
            r.remaining > 0
                && match &r.prefix {
                    Some(p) => path.starts_with(p.as_str()),
                    None => ctx.service_host,
                }
        });
        let fault = idx.map(|i| {
            g.faults[i].remaining -= 1;
            let f = g.faults[i].fault.clone();
            if g.faults[i].remaining == 0 {
                g.faults.remove(i);
            }
            f
        });
        if fault.is_some() {
            g.counters.faults_fired += 1;
        }
        // The per-minute limit counts every service request, faulted or not.
        if ctx.service_host && fault.is_none() {
            let minute = now.div_euclid(60_000);
            if g.minute_window.0 != minute {
                g.minute_window = (minute, 0);
            }
            g.minute_window.1 += 1;
            if g.minute_window.1 > g.per_minute_limit {
                g.counters.rate_limited += 1;
                drop(g);
                return too_many();
            }
        }
        fault
    };
    match fault {
        None => next.run(req).await,
        Some(Fault::Latency(d)) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            html(
                status,
                format!(
                    "<html><head><title>{0} {1}</title></head><body><h1>{1}</h1></body></html>",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("Error")
                ),
            )
        }
        Some(Fault::Reset) => {
            if let Some(c) = req.extensions().get::<ConnInfo>() {
                c.reset();
            }
            // Never answer: the connection task drops the socket.
            std::future::pending::<()>().await;
            unreachable!()
        }
        Some(Fault::HtmlRejected) => html(StatusCode::OK, request_rejected_page()),
        Some(Fault::RateLimited) => too_many(),
        Some(Fault::Redirect(location)) => {
            (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
        }
        Some(Fault::Body { content_type, body }) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        Some(Fault::Flood {
            content_type,
            bytes,
        }) => flood(content_type, bytes),
    }
}

/// `bytes` of filler in 64 KiB chunks, generated as they are sent.
fn flood(content_type: String, bytes: u64) -> Response {
    const CHUNK: usize = 64 * 1024;
    static FILLER: [u8; CHUNK] = [b'A'; CHUNK];
    let chunks = bytes.div_ceil(CHUNK as u64);
    let stream = futures_util::stream::iter((0..chunks).map(move |i| {
        let n = (bytes - i * CHUNK as u64).min(CHUNK as u64) as usize;
        Ok::<_, std::io::Error>(axum::body::Bytes::from_static(&FILLER[..n]))
    }));
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(stream),
    )
        .into_response()
}

/// 429 as the API gateway answers it (the body is not documented by ANAF).
fn too_many() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            ("retry-after", "60"),
            ("content-type", "text/plain; charset=utf-8"),
        ],
        "Too Many Requests",
    )
        .into_response()
}
