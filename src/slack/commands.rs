//! Slash commands (`POST /slack/commands`, form-encoded as Slack sends
//! them). Answers come straight from the database, well inside Slack's
//! three seconds, as ephemeral messages only the caller sees.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;

use chrono::Duration;

use super::catalogue;
use super::limits;
use super::modals;
use super::slots;
use super::verify::SlackBody;
use crate::domain::access::Action;
use crate::domain::refresh::RefreshEvent;
use crate::domain::{Person, RefreshTicketId, TicketRef};
use crate::http::{AppState, HttpError};
use crate::workflow::{Request, Requester, SLOT_HORIZON_DAYS};

/// The fields of Slack's slash-command payload that deskbell reads.
#[derive(Debug, Deserialize)]
pub struct Command {
    pub command: String,
    #[serde(default)]
    pub text: String,
    pub user_id: String,
    #[serde(default)]
    pub trigger_id: String,
}

/// An answer only the caller sees, fitted to Slack's limits.
pub(super) fn ephemeral(text: String, mut blocks: Vec<Value>) -> Json<Value> {
    limits::fit(&mut blocks, limits::MESSAGE_BLOCKS, "narrow the question");
    Json(json!({ "response_type": "ephemeral", "text": limits::cut(&text, limits::FALLBACK_TEXT), "blocks": blocks }))
}

/// A ticket's card as one code block within a section's limit: the lines
/// that do not fit (the oldest history last) are left out, with their
/// count and where to read them all.
fn card_text(card: &str, t: TicketRef) -> String {
    let note = |left: usize| format!("… and {left} more (deskbell show {t})");
    let budget = limits::SECTION_TEXT - "``````".len() - note(usize::MAX).chars().count() - 1;
    let lines: Vec<&str> = card.lines().collect();
    let (mut out, mut used) = (String::new(), 0);
    for (i, line) in lines.iter().enumerate() {
        used += line.chars().count() + 1;
        if used > budget {
            out.push_str(&note(lines.len() - i));
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    format!("```{out}```")
}

pub async fn handle(State(state): State<AppState>, SlackBody(body): SlackBody) -> Result<Json<Value>, HttpError> {
    let cmd: Command =
        serde_urlencoded::from_bytes(&body).map_err(|e| HttpError::Unprocessable(vec![e.to_string()]))?;
    let span =
        tracing::info_span!("slack_command", command = %cmd.command, user = %cmd.user_id, trigger_id = %cmd.trigger_id);
    run(state, cmd).instrument(span).await
}

async fn run(state: AppState, cmd: Command) -> Result<Json<Value>, HttpError> {
    let Some(who) = state.workflow.store.person_by_slack(&cmd.user_id).await?.filter(Person::is_staff) else {
        return Ok(ephemeral(
            "deskbell does not know you as staff; ask a refresh admin to add your Slack account.".into(),
            vec![],
        ));
    };
    let text = cmd.text.trim();
    let answer = match cmd.command.as_str() {
        "/ticket" => ticket(&state, text).await,
        "/slots" => slots::list(&state, text).await,
        "/deskbell" => Ok(ephemeral(catalogue::help(), vec![])),
        "/reschedule" => reschedule(&state, &who, text, &cmd.trigger_id).await.map(|a| ephemeral(a, vec![])),
        "/hold" => hold(&state, &who, text).await.map(|a| ephemeral(a, vec![])),
        "/release" => release(&state, &who, text).await.map(|a| ephemeral(a, vec![])),
        "/location" => location(&state, &who, text, &cmd.trigger_id).await.map(|a| ephemeral(a, vec![])),
        "/delegate" => super::delegate::command(&state, &who, text).await.map(|a| ephemeral(a, vec![])),
        "/request" => request(&state, text, &cmd.trigger_id).await.map(|a| ephemeral(a, vec![])),
        other => Ok(ephemeral(format!("deskbell has no command {other}. Try /deskbell help."), vec![])),
    };
    // A ticket or slot that does not exist is an answer for the person, not an HTTP error Slack would show.
    match answer {
        Err(HttpError::Missing(what)) => Ok(ephemeral(format!("{what} does not exist."), vec![])),
        other => other,
    }
}

/// The refresh ticket a command names first, and the rest of its text.
fn ticket_arg(text: &str) -> Result<(RefreshTicketId, &str), String> {
    let (first, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    match TicketRef::parse(first) {
        Ok(TicketRef::Refresh(id)) => Ok((id, rest.trim())),
        _ => Err(format!("Start with a refresh ticket, such as R-12 (got \u{201c}{first}\u{201d}).")),
    }
}

/// `/reschedule R-12`: a modal with the team's free slots.
async fn reschedule(state: &AppState, who: &Person, text: &str, trigger_id: &str) -> Result<String, HttpError> {
    let id = match ticket_arg(text) {
        Ok((id, _)) => id,
        Err(usage) => return Ok(usage),
    };
    let ticket = match state.workflow.check(&Requester::Person(who), Action::Reschedule, id).await {
        Ok(t) => t.value,
        Err(e) => return super::told(e),
    };
    let now = state.workflow.clock.now();
    let free = state.workflow.store.slots(ticket.team, now, now + Duration::days(SLOT_HORIZON_DAYS as i64 + 1)).await?;
    let tz = state.workflow.calendar(ticket.team).await?.tz;
    match state.slack.open_view(trigger_id, &modals::reschedule(id.into(), &free, tz)).await {
        Ok(()) => Ok(format!("Rescheduling {}…", TicketRef::from(id))),
        Err(e) => Ok(format!("Slack did not open the form ({e}); try again.")),
    }
}

/// `/request KIND`: the kind's modal, for a request taken by phone.
async fn request(state: &AppState, text: &str, trigger_id: &str) -> Result<String, HttpError> {
    let policy = &state.workflow.requests;
    let kind = match policy.kind(text) {
        Ok(kind) => kind,
        Err(_) => {
            let kinds: Vec<&str> = policy.kinds.iter().map(|k| k.name.0.as_str()).collect();
            return Ok(format!("Usage: /request KIND, one of: {}", kinds.join(", ")));
        }
    };
    let teams: Vec<String> = state.workflow.store.teams().await?.into_iter().map(|t| t.name).collect();
    match state.slack.open_view(trigger_id, &modals::request(kind, &teams)).await {
        Ok(()) => Ok(format!("Opening a request: {}…", kind.label)),
        Err(e) => Ok(format!("Slack did not open the form ({e}); try again.")),
    }
}

/// `/location R-12`: the location modal.
async fn location(state: &AppState, who: &Person, text: &str, trigger_id: &str) -> Result<String, HttpError> {
    let id = match ticket_arg(text) {
        Ok((id, _)) => id,
        Err(usage) => return Ok(usage),
    };
    let opened = super::location::open(state, who, id, trigger_id).await?;
    Ok(opened.unwrap_or_else(|| format!("Giving the location of {}…", TicketRef::from(id))))
}

/// `/hold R-12 reason`.
async fn hold(state: &AppState, who: &Person, text: &str) -> Result<String, HttpError> {
    let (id, reason) = match ticket_arg(text) {
        Ok((_, "")) => return Ok("Say why: /hold R-12 waiting for the customer's return from leave".into()),
        Ok(found) => found,
        Err(usage) => return Ok(usage),
    };
    let hold = RefreshEvent::PutOnHold { reason: reason.to_owned() };
    staff(state, who, Action::Hold, id, hold).await
}

/// `/release R-12`.
async fn release(state: &AppState, who: &Person, text: &str) -> Result<String, HttpError> {
    let id = match ticket_arg(text) {
        Ok((id, _)) => id,
        Err(usage) => return Ok(usage),
    };
    staff(state, who, Action::Release, id, RefreshEvent::Released).await
}

/// A staff command's change, and its outcome in words.
async fn staff(
    state: &AppState,
    who: &Person,
    action: Action,
    id: RefreshTicketId,
    event: RefreshEvent,
) -> Result<String, HttpError> {
    match state.workflow.act(&Requester::Person(who), action, id, Request::Event(event)).await {
        Ok(t) => Ok(format!("{} is now {}.", t.reference(), t.status.to_string().replace('_', " "))),
        Err(e) => super::told(e),
    }
}

/// `/ticket <R-n | serial | customer name or email>`.
async fn ticket(state: &AppState, query: &str) -> Result<Json<Value>, HttpError> {
    if query.is_empty() {
        return Ok(ephemeral("Usage: /ticket R-12, a serial number, or a customer's name or email".into(), vec![]));
    }
    let found = match TicketRef::parse(query) {
        Ok(t) => vec![t],
        Err(_) => state.workflow.store.find_refresh(query, 10).await?.into_iter().map(|(id, _)| id.into()).collect(),
    };
    match found.as_slice() {
        [] => Ok(ephemeral(format!("No refresh ticket matches \u{201c}{query}\u{201d}."), vec![])),
        [one] => {
            let card = crate::ticket_view::show(
                &state.workflow.store,
                &state.workflow.calendars,
                *one,
                state.workflow.clock.now(),
            )
            .await?;
            // The card quotes customers' names and replies: text, never markup.
            let card = crate::templates::mrkdwn_escape(&card);
            let status = card.lines().next().unwrap_or_default().to_owned();
            let block = json!({ "type": "section", "text": { "type": "mrkdwn", "text": card_text(&card, *one) } });
            Ok(ephemeral(status, vec![block]))
        }
        many => {
            let refs: Vec<String> = many.iter().map(|t| t.to_string()).collect();
            Ok(ephemeral(format!("{} tickets match: {}. Ask for one of them.", many.len(), refs.join(", ")), vec![]))
        }
    }
}
