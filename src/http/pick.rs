//! The customer's slot-picking page, reached from the signed link in the
//! slot invitation: the team's free slots in local time, one click to book.
//! A slot that filled meanwhile is refused with the fresh list (`000_*`).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use chrono::Duration;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::error::HttpError;
use crate::domain::access::Action;
use crate::domain::refresh::{RefreshStatus, RefreshTicket};
use crate::domain::{RefreshTicketId, SlotId, TicketRef};
use crate::workflow::{Error, Request, Requester};

#[derive(Deserialize)]
pub struct Token {
    token: String,
}

#[derive(Deserialize)]
pub struct Pick {
    slot: i64,
}

/// The refresh ticket a customer link opens: 404 for no such ticket (or no
/// links configured), 403 for a token deskbell did not make for it. The
/// refresh page and the slot page both ask here.
pub(super) fn authorize(state: &AppState, ticket: &str, token: &str) -> Result<RefreshTicketId, HttpError> {
    let (Some(links), Ok(TicketRef::Refresh(id))) = (&state.links, TicketRef::parse(ticket)) else {
        return Err(HttpError::NotFound);
    };
    if !links.verify(TicketRef::Refresh(id), token) {
        return Err(HttpError::Forbidden);
    }
    Ok(id)
}

pub async fn page(
    State(state): State<AppState>,
    Path(ticket): Path<String>,
    Query(q): Query<Token>,
) -> Result<Html<String>, HttpError> {
    let id = authorize(&state, &ticket, &q.token)?;
    render(&state, id, None).await
}

pub async fn pick(
    State(state): State<AppState>,
    Path(ticket): Path<String>,
    Query(q): Query<Token>,
    Form(form): Form<Pick>,
) -> Result<Html<String>, HttpError> {
    let id = authorize(&state, &ticket, &q.token)?;
    let link = Requester::Link(id.into());
    let current = state.workflow.check(&link, Action::PickSlot, id).await?.value;
    if current.status != RefreshStatus::PendingCustomerScheduling {
        return render(&state, id, None).await;
    }
    match state.workflow.act(&link, Action::PickSlot, id, Request::Slot(SlotId(form.slot))).await {
        Ok(_) => render(&state, id, None).await,
        Err(Error::SlotTaken(_) | Error::Missing(_)) => {
            render(&state, id, Some("That time was just taken. Please pick another.")).await
        }
        Err(Error::Internal(e)) => Err(e.into()),
        // Another team's slot (a tampered form), a race: the page again, never a 500.
        Err(Error::Told(_) | Error::Invalid(_)) => {
            render(&state, id, Some("That time is not offered for your appointment. Please pick one of these.")).await
        }
    }
}

async fn render(state: &AppState, id: RefreshTicketId, notice: Option<&str>) -> Result<Html<String>, HttpError> {
    let t: RefreshTicket = state.workflow.store.load_refresh(id).await?.value;
    let cal = state.workflow.calendar(t.team).await?;
    let label =
        |at: chrono::DateTime<chrono::Utc>| at.with_timezone(&cal.tz).format("%A, %B %-d at %-I:%M %p").to_string();
    let now = state.workflow.clock.now();
    let (booked, slots, notice) = match t.status {
        RefreshStatus::PendingCustomerScheduling => {
            let slots = state.workflow.store.slots(t.team, now, now + Duration::days(36)).await?;
            let free: Vec<_> = slots
                .iter()
                .filter(|s| s.is_free())
                .map(|s| json!({ "id": s.id.0, "label": label(s.starts_at) }))
                .collect();
            (None, free, notice)
        }
        RefreshStatus::DeliveryScheduled => (t.appointment_at.map(label), vec![], None),
        _ => (None, vec![], Some("There is nothing to pick for this ticket right now.")),
    };
    let location =
        (t.style == crate::domain::refresh::Style::UnitSpecifiedLocation).then_some(t.location.clone()).flatten();
    let ctx = json!({ "ticket": t.reference().to_string(), "booked": booked, "slots": slots, "notice": notice, "location": location });
    Ok(Html(state.templates.page("pick", &ctx)?))
}
