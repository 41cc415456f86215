//! The Slack bot's HTTP edge: signed requests only, answered fast from the
//! database; anything slower goes through the outbox.

mod acting;
pub mod catalogue;
mod commands;
mod events;
mod interactions;
pub mod limits;
pub mod linking;
mod modals;
mod reply;
mod slots;
mod verify;

pub use verify::{MAX_BODY, Refused, signature, verify};

use axum::Router;
use axum::routing::post;

use crate::http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/slack/commands", post(commands::handle))
        .route("/slack/interactions", post(interactions::handle))
        .route("/slack/events", post(events::handle))
}
