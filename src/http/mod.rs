//! The HTTP surface. Handlers take what they need from [`AppState`] and
//! answer from the database; anything slow goes through the outbox.

mod health;

use axum::Router;
use axum::routing::get;

use crate::store::Store;

/// What every handler may use, shared through axum state.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
}

pub fn router(state: AppState) -> Router {
    Router::new().route("/healthz", get(health::healthz)).route("/readyz", get(health::readyz)).with_state(state)
}
