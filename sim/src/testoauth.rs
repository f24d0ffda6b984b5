//! /TestOauth/jaxrs/hello: ANAF's "is my token good" echo. The live answer's exact shape
//! is not documented; this one echoes the name, the method, the path and the headers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Query, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::state::State;

pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/TestOauth/jaxrs/hello", get(hello).post(hello))
        .with_state(state)
}

async fn hello(
    AxState(st): AxState<Arc<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = crate::auth::bearer(&st, &headers) {
        return r;
    }
    let name = q.get("name").cloned().unwrap_or_default();
    let hdrs: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = serde_json::json!({
        "message": format!("Hello {name}"),
        "method": method.as_str(),
        "uri": uri.to_string(),
        "headers": hdrs,
    });
    crate::respond::json(StatusCode::OK, &body)
}
