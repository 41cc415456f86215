//! `POST /inbound/email`: a raw RFC 5322 message, as inbound-mail webhooks
//! deliver them, with the shared secret as a bearer token. Stored first,
//! then processed; the answer says what became of it.

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::{AppState, HttpError};
use crate::signing::same;

pub async fn email(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), HttpError> {
    let secret = state.inbound_secret.as_ref().ok_or(HttpError::NotFound)?;
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(HttpError::Unauthorized)?;
    if !same(secret.expose_secret(), presented) {
        return Err(HttpError::Unauthorized);
    }
    let raw = to_bytes(body, state.max_message_bytes).await.map_err(|_| HttpError::TooLarge)?;
    let id = state.inbound.receive("webhook", &Default::default(), &raw).await?;
    let row = state.workflow.store.inbound(id).await?;
    let answer = json!({
        "id": id, "status": row.status, "reason": row.reason, "ticket": row.ticket.map(|t| t.to_string()),
    });
    Ok((StatusCode::ACCEPTED, Json(answer)))
}
