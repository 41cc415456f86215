//! What operators watch: a tracing span per request (method, route, a
//! request id) around every handler, request counts and latency by route,
//! and `GET /metrics` (see [`crate::metrics`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::{AppState, HttpError};

/// Runs the request inside its span and counts it by its route pattern
/// (`/pick/{ticket}`, never the ticket), so the label set stays small.
pub async fn requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = req.method().as_str().to_owned();
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| next_id().to_string(), str::to_owned);
    let span = tracing::info_span!("http", %method, %route, request_id = %id, status = tracing::field::Empty);
    let started = Instant::now();
    let response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("status", status);
    state.metrics.request(&method, &route, status, started.elapsed().as_secs_f64());
    response
}

/// A request id for requests that bring none: this process's count.
fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// `GET /metrics`: OpenMetrics text, the database's figures read now.
pub async fn metrics(State(state): State<AppState>) -> Result<Response, HttpError> {
    let tdx = match &state.itsm {
        Some(itsm) => Some(itsm.client.calls_in_window().await),
        None => None,
    };
    let text = state.metrics.render(&state.workflow.store, tdx, state.workflow.clock.now()).await?;
    let content_type = HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8");
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}
