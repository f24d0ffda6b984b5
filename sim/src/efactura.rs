//! e-Factura (filled in by the e-Factura slice).

#[derive(Default)]
pub struct Store {}

pub fn router(_st: std::sync::Arc<crate::state::State>) -> axum::Router {
    axum::Router::new()
}
