//! The Slack bot's HTTP edge: signed requests only, answered fast from the
//! database; anything slower goes through the outbox.

pub mod catalogue;
mod commands;
mod delegate;
mod events;
pub mod home;
mod interactions;
pub mod limits;
pub mod linking;
mod location;
pub(crate) mod modals;
mod reply;
mod slots;
pub mod socket;
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

/// A workflow outcome at the Slack edge: the words for the person who
/// clicked or typed, or our own failure for the HTTP edge to log.
fn told(e: crate::workflow::Error) -> Result<String, crate::http::HttpError> {
    e.for_people().ok_or_else(|| e.into())
}
