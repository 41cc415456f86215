//! The HTTP surface. Handlers take what they need from [`AppState`] and
//! answer from the database; anything slow goes through the outbox.

mod api;
mod calendar;
mod error;
mod health;
mod inbound;
mod observe;
mod pick;
mod service_api;
mod wizard;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use secrecy::SecretString;

pub use calendar::calendar_token;
pub use error::HttpError;

use crate::channels::slack::SlackChannel;
use crate::config::ApiToken;
use crate::links::Links;
use crate::templates::Templates;
use crate::workflow::Workflow;

/// What every handler may use, shared through axum state.
#[derive(Clone)]
pub struct AppState {
    /// Every change of a ticket, and the store, clock and calendars.
    pub workflow: Workflow,
    /// TDX, when configured: the refresh page asks it where a system is.
    pub itsm: Option<Arc<crate::itsm::ItsmSender>>,
    /// Signed customer links; their key also signs the calendar feeds.
    pub links: Option<Links>,
    pub templates: Arc<Templates>,
    pub api_tokens: Arc<Vec<ApiToken>>,
    pub slack_signing_secret: Option<SecretString>,
    /// For what must happen inside Slack's three seconds (opening a modal).
    pub slack: Arc<SlackChannel>,
    /// Wakes the dispatcher for replies someone is waiting for.
    pub doorbell: Arc<tokio::sync::Notify>,
    pub inbound: crate::inbound::Inbound,
    /// The shared secret of `POST /inbound/email`; without one it is off.
    pub inbound_secret: Option<SecretString>,
    pub max_message_bytes: usize,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The SMTP server as readiness checks it (the dispatcher has its own pool).
    pub mailer: Arc<crate::channels::email::Mailer>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/calendar/{file}", get(calendar::feed))
        .route("/pick/{ticket}", get(pick::page).post(pick::pick))
        .route("/refresh/{ticket}", get(wizard::page).post(wizard::post))
        .route("/api/v1/refresh/replacements", axum::routing::post(api::replacements))
        .route("/api/v1/directory", axum::routing::post(api::directory))
        .route("/api/v1/delegations/{approver}", axum::routing::put(api::set_delegation).delete(api::end_delegation))
        .route("/api/v1/service-tickets", axum::routing::post(service_api::create))
        .route("/api/v1/service-tickets/{ticket}", get(service_api::show))
        .route("/api/v1/service-tickets/{ticket}/events", axum::routing::post(service_api::event))
        .route("/inbound/email", axum::routing::post(inbound::email))
        .route("/metrics", get(observe::metrics))
        .merge(crate::slack::routes())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), observe::requests))
        .with_state(state)
}
