//! `GET /calendar/<team id>.ics?token=…`: a team's slots and bookings for
//! calendar clients. The token is an HMAC of the team, so a link cannot be
//! guessed from another; without `server.link_secret` there is no feed.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use secrecy::SecretString;

use super::AppState;
use super::error::HttpError;
use crate::domain::TeamId;
use crate::signing::{same, tag};

pub fn calendar_token(secret: &SecretString, team: TeamId) -> String {
    tag(secret, &format!("calendar:{team}"), 16)
}

pub async fn feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, HttpError> {
    let (Some(id), Some(secret)) =
        (file.strip_suffix(".ics").and_then(|s| s.parse().ok()), state.links.as_ref().map(|l| &l.secret))
    else {
        return Err(HttpError::NotFound);
    };
    let team = TeamId(id);
    if !q.get("token").is_some_and(|t| same(&calendar_token(secret, team), t)) {
        return Err(HttpError::Forbidden);
    }
    let now = state.workflow.clock.now();
    let (from, to) = (now - Duration::days(7), now + Duration::days(36));
    let team = state.workflow.store.team(team).await?;
    let slots = state.workflow.store.slots(team.id, from, to).await?;
    let bookings = state.workflow.store.slot_bookings(team.id, from, to).await?;
    let tz = state.workflow.calendars.get(&team.calendar).map(|c| c.tz.name()).unwrap_or("UTC");
    let ics = crate::ics::render(&team.name, tz, &slots, &bookings, now);
    Ok(([(header::CONTENT_TYPE, "text/calendar; charset=utf-8")], ics).into_response())
}
