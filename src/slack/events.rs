//! The Events API endpoint (`POST /slack/events`). Slack checks the URL
//! with a `url_verification` challenge before it sends anything else, and
//! retries an event it did not see acknowledged within three seconds, so
//! each `event_id` is acted on once (recorded in the database, which every
//! replica shares).
//!
//! deskbell subscribes to `team_join`: someone joining the workspace with
//! an email deskbell knows gets their Slack id, and from then on their
//! staff messages come as DMs and their slot invitations with buttons.
//! And to `app_home_opened`: the person's Home is published (and
//! republished as what it shows changes). And to `user_change`: a status saying its person is away (`[slack]
//! away_emoji`, `away_words`) sends their approval requests to the
//! fallback while it holds. Acting on a status twice changes nothing, so
//! it is acted on before the event is recorded.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::verify::SlackBody;
use crate::domain::{Email, SlackUserId};
use crate::http::{AppState, HttpError};

pub async fn handle(State(state): State<AppState>, SlackBody(body): SlackBody) -> Result<Json<Value>, HttpError> {
    let envelope: Value = serde_json::from_slice(&body).map_err(|e| HttpError::Unprocessable(vec![e.to_string()]))?;
    match envelope["type"].as_str() {
        Some("url_verification") => return Ok(Json(json!({ "challenge": envelope["challenge"] }))),
        Some("event_callback") => {}
        _ => return Ok(Json(json!({}))),
    }
    let Some(event_id) = envelope["event_id"].as_str() else {
        return Err(HttpError::Unprocessable(vec!["event_callback without event_id".into()]));
    };
    let event = &envelope["event"];
    if event["type"] == "app_home_opened"
        && event["tab"] == "home"
        && let Some(user) = event["user"].as_str()
    {
        super::home::opened(&state.workflow.store, user, event_id, state.workflow.clock.now()).await?;
        state.doorbell.notify_one();
    }
    if event["type"] == "user_change"
        && let Some(user) = event["user"]["id"].as_str()
    {
        let profile = &event["user"]["profile"];
        let (emoji, text) = (profile["status_emoji"].as_str(), profile["status_text"].as_str());
        state.workflow.slack_status(user, emoji.unwrap_or_default(), text.unwrap_or_default()).await?;
    }
    let joined = (event["type"] == "team_join")
        .then(|| {
            let user = SlackUserId::parse(event["user"]["id"].as_str().unwrap_or_default()).ok()?;
            let email = Email::parse(event["user"]["profile"]["email"].as_str().unwrap_or_default()).ok()?;
            Some((email, user))
        })
        .flatten();
    let link = joined.as_ref().map(|(email, user)| (email, user));
    match state.workflow.store.act_on_slack_event(event_id, state.workflow.clock.now(), link).await? {
        None => tracing::debug!(event_id, "Slack event seen before (a retry); not acted on again"),
        Some(true) => tracing::info!(event_id, "linked a new workspace member to their deskbell person"),
        Some(false) => {}
    }
    Ok(Json(json!({})))
}
