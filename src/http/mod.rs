//! The HTTP surface. Handlers take what they need from [`AppState`] and
//! answer from the database; anything slow goes through the outbox.

mod calendar;
mod health;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use secrecy::SecretString;

pub use calendar::calendar_token;

use crate::clock::Clock;
use crate::config::Calendars;
use crate::store::Store;

/// What every handler may use, shared through axum state.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub calendars: Arc<Calendars>,
    pub calendar_secret: Option<SecretString>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/calendar/{file}", get(calendar::feed))
        .with_state(state)
}
