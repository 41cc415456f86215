//! The Events API endpoint (`POST /slack/events`). Slack checks the URL
//! with a `url_verification` challenge before it sends anything else.

use axum::Json;
use serde_json::{Value, json};

use super::verify::SlackBody;
use crate::http::HttpError;

pub async fn handle(SlackBody(body): SlackBody) -> Result<Json<Value>, HttpError> {
    let event: Value = serde_json::from_slice(&body).map_err(|e| HttpError::Unprocessable(vec![e.to_string()]))?;
    match event["type"].as_str() {
        Some("url_verification") => Ok(Json(json!({ "challenge": event["challenge"] }))),
        // Acknowledged at once; deskbell subscribes to no event yet.
        _ => Ok(Json(json!({}))),
    }
}
