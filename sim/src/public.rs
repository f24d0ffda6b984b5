//! webservicesp.anaf.ro (filled in by the public slice).
use std::sync::Arc;

use axum::Router;

use crate::state::State;

pub fn router(_st: Arc<State>) -> Router {
    Router::new()
}
