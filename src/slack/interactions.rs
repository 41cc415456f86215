//! Buttons and modals (`POST /slack/interactions`, a form with one
//! `payload=` JSON field). `block_actions`: Approve, Deny (opens the
//! reason modal; an order's step is decided at once), a slot's Pick
//! button, Acknowledge and Assign to me. `view_submission`: the deny,
//! reschedule, location and request modals, answered in the response body
//! (`response_action: errors` keeps the modal open).

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;

use super::modals;
use super::reply::Replier;
use super::verify::SlackBody;
use crate::domain::access::Action;
use crate::domain::refresh::{RefreshEvent, RefreshStatus};
use crate::domain::service::request::Verdict;
use crate::domain::service::{Priority, ServiceKind};
use crate::domain::{Actor, Person, RefreshTicketId, SlackAction, SlotId, Template, TicketRef};
use crate::http::{AppState, HttpError};
use crate::workflow::{Error, Request, RequestForm, Requester, ServiceForm};

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
    let span = match &interaction {
        Interaction::BlockActions { user, trigger_id, actions, .. } => {
            let action = actions.first().map(|a| a.action_id.as_str()).unwrap_or_default();
            tracing::info_span!("slack_interaction", kind = "block_actions", user = %user.id, %trigger_id, action)
        }
        Interaction::ViewSubmission { user, view } => {
            tracing::info_span!("slack_interaction", kind = "view_submission", user = %user.id, callback = %view.callback_id)
        }
        Interaction::Other => tracing::info_span!("slack_interaction", kind = "other"),
    };
    interact(state, interaction).instrument(span).await
}

async fn interact(state: AppState, interaction: Interaction) -> Result<Response, HttpError> {
    match interaction {
        Interaction::BlockActions { user, trigger_id, response_url, actions } => {
            let reply = Replier {
                state: &state,
                response_url: response_url.as_deref(),
                trigger_id: &trigger_id,
                user: &user.id,
            };
            let who = match state.workflow.slack_person(&user.id).await {
                Ok(p) => p,
                Err(unknown) => {
                    return reply.text(None, &super::told(unknown)?).await.map(|()| StatusCode::OK.into_response());
                }
            };
            for action in &actions {
                // A button's value starts with its ticket: R-12, R-12/5.
                let ticket = action.value.as_deref().and_then(|v| TicketRef::parse(v.split('/').next()?).ok());
                match act(&state, &who, action, &trigger_id, &reply).await {
                    Err(HttpError::Missing(what)) => reply.text(ticket, &format!("{what} does not exist.")).await?,
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
    let (requester, t) = (Requester::Person(who), value.map(TicketRef::parse).and_then(Result::ok));
    let Some(name) = SlackAction::of(&action.action_id) else {
        tracing::debug!(action = action.action_id, "ignored a block action");
        return Ok(());
    };
    let answer = match (name, t) {
        // An order's step: the same buttons; a denial asks why, as a refresh's does.
        (SlackAction::Approve, Some(TicketRef::Service(id))) => {
            match state.workflow.decide_request(&requester, id, Verdict::Approve).await {
                Ok(_) => format!("{}: your approval is recorded.", TicketRef::from(id)),
                Err(e) => super::told(e)?,
            }
        }
        (SlackAction::Deny, Some(t @ TicketRef::Service(_))) => {
            match state.slack.open_view(trigger_id, &modals::deny(t)).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::warn!(error = %e, "could not open the deny modal");
                    format!("Slack did not open the form ({e}); try again.")
                }
            }
        }
        (SlackAction::Approve, _) => {
            let id = refresh_id(value)?;
            let approve = Request::Event(RefreshEvent::Approved { by: Some(who.id) });
            match state.workflow.act(&requester, Action::Approve, id, approve).await {
                Ok(_) => return Ok(()),
                Err(e) => super::told(e)?,
            }
        }
        (SlackAction::Deny, _) => {
            let id = refresh_id(value)?;
            match state.workflow.check(&requester, Action::Deny, id).await {
                Err(e) => super::told(e)?,
                Ok(ticket) if ticket.value.status != RefreshStatus::RequiresApproval => {
                    super::told(state.workflow.decided(id).await.map_or_else(|e| e, Error::Told))?
                }
                Ok(_) => match state.slack.open_view(trigger_id, &modals::deny(id.into())).await {
                    Ok(()) => return Ok(()),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not open the deny modal");
                        format!("Slack did not open the form ({e}); try again.")
                    }
                },
            }
        }
        (SlackAction::PickSlot, _) => {
            let (ticket, slot) = value
                .and_then(|v| v.split_once('/'))
                .and_then(|(t, s)| Some((refresh_id(Some(t)).ok()?, SlotId(s.parse().ok()?))))
                .ok_or_else(|| HttpError::Unprocessable(vec![format!("bad slot button value {value:?}")]))?;
            return pick(state, who, ticket, slot, reply).await;
        }
        (SlackAction::ProvideLocation, _) => {
            match super::location::open(state, who, refresh_id(value)?, trigger_id).await? {
                None => return Ok(()),
                Some(answer) => answer,
            }
        }
        (SlackAction::RecordSanitization, Some(TicketRef::Service(id))) => {
            match state.workflow.sanitized(who, id).await {
                Ok(_) => format!("{}: the sanitization is recorded; it may be resolved.", TicketRef::from(id)),
                Err(e) => super::told(e)?,
            }
        }
        (SlackAction::Acknowledge | SlackAction::AssignToMe | SlackAction::RecordSanitization, _) => {
            let id = match t {
                Some(TicketRef::Service(id)) => id,
                _ => return Err(HttpError::Unprocessable(vec![format!("{value:?} is not a service ticket")])),
            };
            let act = if name == SlackAction::Acknowledge { Action::Acknowledge } else { Action::AssignToMe };
            match state.workflow.take(who, act, id).await {
                Ok(_) => format!("{} is yours, acknowledged.", TicketRef::from(id)),
                Err(e) => super::told(e)?,
            }
        }
    };
    reply.text(t, &answer).await
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
    match state.workflow.act(&Requester::Person(who), Action::PickSlot, id, Request::Slot(slot)).await {
        Ok(t2) => {
            let tz = state.workflow.calendar(t2.team).await?.tz;
            let when = t2.appointment_at.map(|at| crate::calendar::staff_time(at, tz)).unwrap_or_default();
            reply.text(Some(t), &format!("Booked: {when}. A confirmation is on its way.")).await
        }
        Err(Error::SlotTaken(_)) => {
            let mut ctx = json!({
                "ticket": state.workflow.store.ticket_context(t).await?,
                "recipient": { "name": who.name },
                "slots": state.workflow.store.offered_slots(t, state.workflow.clock.now()).await?,
                "reply": { "text": "That time was just taken." },
            });
            if let Some(links) = &state.links {
                ctx["links"] = json!({ "pick_slot": links.pick_slot(t) });
            }
            reply.send(Some(t), Template::SlotInvitation, ctx).await
        }
        Err(e) => reply.text(Some(t), &super::told(e)?).await,
    }
}

fn errors(block: &str, text: &str) -> Response {
    Json(json!({ "response_action": "errors", "errors": { block: text } })).into_response()
}

async fn submit(state: &AppState, slack_user: &str, view: &View) -> Result<Response, HttpError> {
    let block = match view.callback_id.as_str() {
        modals::DENY => modals::REASON,
        modals::RESCHEDULE => modals::SLOT,
        modals::LOCATION => modals::LOCATION,
        modals::REQUEST => modals::SUMMARY,
        _ => return Ok(StatusCode::OK.into_response()),
    };
    let who = match state.workflow.slack_person(slack_user).await {
        Ok(p) => p,
        Err(unknown) => return Ok(errors(block, &super::told(unknown)?)),
    };
    if view.callback_id == modals::REQUEST {
        return submit_request(state, &who, view).await;
    }
    if let (modals::DENY, Ok(TicketRef::Service(order))) =
        (view.callback_id.as_str(), TicketRef::parse(&view.private_metadata))
    {
        let reason = view.state.get(modals::REASON)["value"].as_str().unwrap_or_default().to_owned();
        let denied = state.workflow.decide_request(&Requester::Person(&who), order, Verdict::Deny { reason }).await;
        return Ok(match denied {
            Err(e) => errors(block, &super::told(e)?),
            Ok(_) => StatusCode::OK.into_response(),
        });
    }
    let id = refresh_id(Some(&view.private_metadata))?;
    let v = &view.state;
    let answer = match view.callback_id.as_str() {
        modals::DENY => {
            let reason = v.get(modals::REASON)["value"].as_str().unwrap_or_default().trim().to_owned();
            if reason.is_empty() {
                return Ok(errors(block, "Say why, for the customer."));
            }
            let deny = Request::Event(RefreshEvent::Denied { by: Some(who.id), reason });
            state.workflow.act(&Requester::Person(&who), Action::Deny, id, deny).await.map(drop)
        }
        modals::LOCATION => {
            let given = v.get(modals::LOCATION)["value"].as_str().unwrap_or_default();
            super::location::save(state, &who, id, given).await
        }
        _ => match reschedule(v) {
            Ok(request) => {
                state.workflow.act(&Requester::Person(&who), Action::Reschedule, id, request).await.map(drop)
            }
            Err(usage) => Err(Error::Told(usage.into())),
        },
    };
    Ok(match answer {
        Err(e) => errors(block, &super::told(e)?),
        // An empty 200 closes the modal.
        Ok(()) => StatusCode::OK.into_response(),
    })
}

/// A request taken by phone: opened as the API would open it, or every
/// problem shown under its input.
async fn submit_request(state: &AppState, who: &Person, view: &View) -> Result<Response, HttpError> {
    let v = &view.state;
    let text = |id: &str| v.get(id)["value"].as_str().unwrap_or_default().to_owned();
    let chosen = |id: &str| v.get(id)["selected_option"]["value"].as_str().unwrap_or_default().to_owned();
    let fields = v
        .values
        .keys()
        .filter_map(|block| {
            let name = block.strip_prefix(modals::FIELD_PREFIX)?;
            let input = v.get(block);
            let ticked = input["selected_options"].as_array().is_some_and(|o| !o.is_empty());
            let value = match (input["value"].as_str(), input["selected_option"]["value"].as_str()) {
                (Some(typed), _) => typed.to_owned(),
                (None, Some(picked)) => picked.to_owned(),
                (None, None) if ticked => "yes".to_owned(),
                (None, None) => String::new(),
            };
            Some((name.to_owned(), value))
        })
        .collect();
    let form = ServiceForm {
        kind: ServiceKind::Request,
        priority: Priority::P5,
        vip: false,
        issue_type: String::new(),
        subtype: String::new(),
        summary: text(modals::SUMMARY),
        contact_name: text(modals::CONTACT_NAME),
        contact_email: text(modals::CONTACT_EMAIL),
        team: chosen(modals::TEAM),
        agency: Some(text(modals::AGENCY)),
        request: Some(RequestForm { kind: view.private_metadata.clone(), fields }),
    };
    match state.workflow.open_service(&form, &Actor::Person(who.id)).await {
        Ok(_) => Ok(StatusCode::OK.into_response()),
        Err(Error::Invalid(problems)) => {
            // "serials: …" goes under the field's input; what names no input, under the summary.
            let mut shown: HashMap<String, String> = HashMap::new();
            for p in problems {
                let name = p.split([':', ' ']).next().unwrap_or_default();
                let block = match name {
                    modals::CONTACT_NAME | modals::CONTACT_EMAIL | modals::TEAM | modals::AGENCY | modals::SUMMARY => {
                        name.to_owned()
                    }
                    _ if v.values.contains_key(&format!("{}{name}", modals::FIELD_PREFIX)) => {
                        format!("{}{name}", modals::FIELD_PREFIX)
                    }
                    _ => modals::SUMMARY.to_owned(),
                };
                shown.entry(block).and_modify(|s| *s = format!("{s}; {p}")).or_insert(p);
            }
            Ok(Json(json!({ "response_action": "errors", "errors": shown })).into_response())
        }
        Err(e) => Ok(errors(modals::SUMMARY, &super::told(e)?)),
    }
}

/// What the reschedule modal asks for: the customer to pick again, or a slot.
fn reschedule(v: &ViewState) -> Result<Request, &'static str> {
    let ask = v.get(modals::ASK_CUSTOMER)["selected_options"].as_array().is_some_and(|o| !o.is_empty());
    let slot = v.get(modals::SLOT)["selected_option"]["value"].as_str().and_then(|s| s.parse().ok()).map(SlotId);
    match (ask, slot) {
        (true, _) => Ok(Request::Event(RefreshEvent::CustomerRescheduleTriggered)),
        (false, Some(slot)) => Ok(Request::Slot(slot)),
        (false, None) => Err("Pick a slot, or ask the customer to pick again."),
    }
}
