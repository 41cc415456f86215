//! Buttons and modals (`POST /slack/interactions`, a form with one
//! `payload=` JSON field). `block_actions`: Approve, Deny (opens the
//! reason modal), a slot's Pick button, Acknowledge and Assign to me.
//! `view_submission`: the deny and reschedule modals, answered in the
//! response body (`response_action: errors` keeps the modal open).

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::acting::{self, decide, refused, words};
use super::modals;
use super::reply::Replier;
use super::verify::SlackBody;
use crate::domain::access::Action;
use crate::domain::refresh::{RefreshEvent, RefreshStatus};
use crate::domain::service::ServiceEvent;
use crate::domain::{Actor, Person, RefreshTicketId, SlotId, Template, TicketRef};
use crate::http::{AppState, HttpError};
use crate::store::StoreError;

#[derive(Deserialize)]
struct Form {
    payload: String,
}

#[derive(Debug, Deserialize)]
struct User {
    id: String,
}

#[derive(Debug, Deserialize)]
struct ActionItem {
    action_id: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct View {
    callback_id: String,
    private_metadata: String,
    state: ViewState,
}

#[derive(Debug, Deserialize)]
struct ViewState {
    /// block_id → action_id → the element's state.
    values: HashMap<String, HashMap<String, Value>>,
}

impl ViewState {
    fn get(&self, block: &str) -> &Value {
        self.values.get(block).and_then(|b| b.get(block)).unwrap_or(&Value::Null)
    }
}

/// The parts of Slack's interaction payloads deskbell reads.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Interaction {
    BlockActions {
        user: User,
        trigger_id: String,
        #[serde(default)]
        response_url: Option<String>,
        actions: Vec<ActionItem>,
    },
    ViewSubmission {
        user: User,
        view: View,
    },
    #[serde(other)]
    Other,
}

pub async fn handle(State(state): State<AppState>, SlackBody(body): SlackBody) -> Result<Response, HttpError> {
    let bad = |e: String| HttpError::Unprocessable(vec![e]);
    let form: Form = serde_urlencoded::from_bytes(&body).map_err(|e| bad(e.to_string()))?;
    let interaction: Interaction = serde_json::from_str(&form.payload).map_err(|e| bad(format!("payload: {e}")))?;
    match interaction {
        Interaction::BlockActions { user, trigger_id, response_url, actions } => {
            let reply = Replier { state: &state, response_url: response_url.as_deref(), trigger_id: &trigger_id };
            let who = match acting::person(&state, &user.id).await? {
                Ok(p) => p,
                Err(unknown) => {
                    reply.text(None, &unknown).await?;
                    return Ok(StatusCode::OK.into_response());
                }
            };
            for action in &actions {
                match act(&state, &who, action, &trigger_id, &reply).await {
                    // A stale button of a ticket that is gone: told, not an HTTP error.
                    Err(HttpError::Missing(what)) => reply.text(None, &format!("{what} does not exist.")).await?,
                    other => other?,
                }
            }
            Ok(StatusCode::OK.into_response())
        }
        Interaction::ViewSubmission { user, view } => submit(&state, &user.id, &view).await,
        Interaction::Other => Ok(StatusCode::OK.into_response()),
    }
}

fn refresh_id(value: Option<&str>) -> Result<RefreshTicketId, HttpError> {
    match value.map(TicketRef::parse) {
        Some(Ok(TicketRef::Refresh(id))) => Ok(id),
        _ => Err(HttpError::Unprocessable(vec![format!("button value {value:?} is not a refresh ticket")])),
    }
}

async fn act(
    state: &AppState,
    who: &Person,
    action: &ActionItem,
    trigger_id: &str,
    reply: &Replier<'_>,
) -> Result<(), HttpError> {
    let value = action.value.as_deref();
    let (name, _) = action.action_id.split_once(':').unwrap_or((action.action_id.as_str(), ""));
    match name {
        "approve" => {
            let id = refresh_id(value)?;
            if let Some(answer) = decide(state, who, id, RefreshEvent::Approved).await? {
                reply.text(Some(id.into()), &answer).await?;
            }
        }
        "deny" => {
            let id = refresh_id(value)?;
            let ticket = state.store.load_refresh(id).await?.value;
            if let Some(no) = refused(state, who, Action::Deny, &ticket).await? {
                return reply.text(Some(id.into()), &no).await;
            }
            if ticket.status != RefreshStatus::RequiresApproval {
                return reply.text(Some(id.into()), &acting::decided(state, id).await?).await;
            }
            if let Err(e) = state.slack.open_view(trigger_id, &modals::deny(id.into())).await {
                tracing::warn!(error = %e, "could not open the deny modal");
                reply.text(Some(id.into()), &format!("Slack did not open the form ({e}); try again.")).await?;
            }
        }
        "pick_slot" => {
            let (ticket, slot) = value
                .and_then(|v| v.split_once('/'))
                .and_then(|(t, s)| Some((refresh_id(Some(t)).ok()?, SlotId(s.parse().ok()?))))
                .ok_or_else(|| HttpError::Unprocessable(vec![format!("bad slot button value {value:?}")]))?;
            pick(state, who, ticket, slot, reply).await?;
        }
        "acknowledge" | "assign_to_me" => {
            let id = match value.map(TicketRef::parse) {
                Some(Ok(TicketRef::Service(id))) => id,
                _ => return Err(HttpError::Unprocessable(vec![format!("{value:?} is not a service ticket")])),
            };
            let act = if name == "acknowledge" { Action::Acknowledge } else { Action::AssignToMe };
            if let Err(no) = who.may_service(act) {
                let now = state.clock.now();
                state.store.record_refusal(id.into(), &Actor::Person(who.id), act.into(), &no.0, now).await?;
                return reply.text(Some(id.into()), &no.0).await;
            }
            let current = state.store.load_service(id).await?.value;
            if current.assignee == Some(who.id) && current.acknowledged_at.is_some() {
                // Pressed again: nothing to change, nobody to tell.
                return reply.text(Some(id.into()), &format!("{} is already yours.", TicketRef::from(id))).await;
            }
            let actor = Actor::Person(who.id);
            let mut result = Ok(());
            if act == Action::AssignToMe {
                result = state.workflow.service(id, &actor, ServiceEvent::Assign { engineer: who.id }).await.map(drop);
            }
            if result.is_ok() {
                result = state.workflow.service(id, &actor, ServiceEvent::Acknowledge { by: who.id }).await.map(drop);
            }
            let answer = match result {
                Ok(()) => format!("{} is yours, acknowledged.", TicketRef::from(id)),
                Err(e) => words(e, id.into())?,
            };
            reply.text(Some(id.into()), &answer).await?;
        }
        other => tracing::debug!(action = other, "ignored a block action"),
    }
    Ok(())
}

/// A slot's Pick button; a slot that filled meanwhile is answered with
/// the fresh list.
async fn pick(
    state: &AppState,
    who: &Person,
    id: RefreshTicketId,
    slot: SlotId,
    reply: &Replier<'_>,
) -> Result<(), HttpError> {
    let t = TicketRef::from(id);
    let ticket = state.store.load_refresh(id).await?.value;
    if let Some(no) = refused(state, who, Action::PickSlot, &ticket).await? {
        return reply.text(Some(t), &no).await;
    }
    match state.workflow.pick_slot(id, &Actor::Person(who.id), slot).await {
        Ok(t2) => {
            let tz = state.workflow.calendar(t2.team).await?.tz;
            let when = t2.appointment_at.map(|at| modals::local(at, tz)).unwrap_or_default();
            reply.text(Some(t), &format!("Booked: {when}. A confirmation is on its way.")).await
        }
        Err(StoreError::SlotFull(_)) => {
            let mut ctx = json!({
                "ticket": state.store.ticket_context(t).await?,
                "recipient": { "name": who.name },
                "slots": state.store.offered_slots(t, state.clock.now()).await?,
                "reply": { "text": "That time was just taken." },
            });
            if let Some(links) = &state.links {
                ctx["links"] = json!({ "pick_slot": links.pick_slot(t) });
            }
            reply.send(Some(t), Template::SlotInvitation, ctx).await
        }
        Err(e) => reply.text(Some(t), &words(e, t)?).await,
    }
}

fn errors(block: &str, text: &str) -> Response {
    Json(json!({ "response_action": "errors", "errors": { block: text } })).into_response()
}

async fn submit(state: &AppState, slack_user: &str, view: &View) -> Result<Response, HttpError> {
    let block = match view.callback_id.as_str() {
        modals::DENY => "reason",
        modals::RESCHEDULE => "slot",
        _ => return Ok(StatusCode::OK.into_response()),
    };
    let who = match acting::person(state, slack_user).await? {
        Ok(p) => p,
        Err(unknown) => return Ok(errors(block, &unknown)),
    };
    let id = refresh_id(Some(&view.private_metadata))?;
    let v = &view.state;
    let answer = if view.callback_id == modals::DENY {
        let reason = v.get("reason")["value"].as_str().unwrap_or_default().trim().to_owned();
        if reason.is_empty() {
            return Ok(errors(block, "Say why, for the customer."));
        }
        decide(state, &who, id, RefreshEvent::Denied { reason }).await?
    } else {
        reschedule(state, &who, id, v).await?
    };
    Ok(match answer {
        Some(text) => errors(block, &text),
        // An empty 200 closes the modal.
        None => StatusCode::OK.into_response(),
    })
}

async fn reschedule(
    state: &AppState,
    who: &Person,
    id: RefreshTicketId,
    v: &ViewState,
) -> Result<acting::Answer, HttpError> {
    let ask = v.get("ask_customer")["selected_options"].as_array().is_some_and(|o| !o.is_empty());
    let slot = v.get("slot")["selected_option"]["value"].as_str().and_then(|s| s.parse().ok()).map(SlotId);
    let result = match (ask, slot) {
        (true, _) => {
            acting::staff(state, who, Action::Reschedule, id, RefreshEvent::CustomerRescheduleTriggered).await?
        }
        (false, Some(slot)) => {
            let ticket = state.store.load_refresh(id).await?.value;
            if let Some(no) = refused(state, who, Action::Reschedule, &ticket).await? {
                return Ok(Some(no));
            }
            match state.workflow.pick_slot(id, &Actor::Person(who.id), slot).await {
                Ok(t) => Ok(t),
                Err(e) => Err(words(e, id.into())?),
            }
        }
        (false, None) => return Ok(Some("Pick a slot, or ask the customer to pick again.".into())),
    };
    Ok(result.err())
}
