//! Slash commands (`POST /slack/commands`, form-encoded as Slack sends
//! them). Answers come straight from the database, well inside Slack's
//! three seconds, as ephemeral messages only the caller sees.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::verify::SlackBody;
use crate::domain::{Role, TicketRef};
use crate::http::{AppState, HttpError};

/// The fields of Slack's slash-command payload that deskbell reads.
#[derive(Debug, Deserialize)]
pub struct Command {
    pub command: String,
    #[serde(default)]
    pub text: String,
    pub user_id: String,
}

fn ephemeral(text: String, blocks: Vec<Value>) -> Json<Value> {
    Json(json!({ "response_type": "ephemeral", "text": text, "blocks": blocks }))
}

pub async fn handle(State(state): State<AppState>, SlackBody(body): SlackBody) -> Result<Json<Value>, HttpError> {
    let cmd: Command =
        serde_urlencoded::from_bytes(&body).map_err(|e| HttpError::Unprocessable(vec![e.to_string()]))?;
    let person = state.store.person_by_slack(&cmd.user_id).await?;
    let staff = person.as_ref().is_some_and(|p| p.roles.iter().any(|r| !matches!(r, Role::Customer | Role::Delegate)));
    if !staff {
        return Ok(ephemeral(
            "deskbell does not know you as staff; ask a refresh admin to add your Slack account.".into(),
            vec![],
        ));
    }
    match cmd.command.as_str() {
        "/ticket" => ticket(&state, cmd.text.trim()).await,
        other => {
            Ok(ephemeral(format!("deskbell has no command {other}. Try /ticket R-12, a serial or a customer."), vec![]))
        }
    }
}

/// `/ticket <R-n | serial | customer name or email>`.
async fn ticket(state: &AppState, query: &str) -> Result<Json<Value>, HttpError> {
    if query.is_empty() {
        return Ok(ephemeral("Usage: /ticket R-12, a serial number, or a customer's name or email".into(), vec![]));
    }
    let found = match TicketRef::parse(query) {
        Ok(t @ TicketRef::Refresh(_)) => vec![t],
        Ok(t) => {
            return Ok(ephemeral(format!("{t} is a service ticket; /ticket shows refresh tickets for now."), vec![]));
        }
        Err(_) => state.store.find_refresh(query, 10).await?.into_iter().map(|(id, _)| id.into()).collect(),
    };
    match found.as_slice() {
        [] => Ok(ephemeral(format!("No refresh ticket matches \u{201c}{query}\u{201d}."), vec![])),
        [one] => {
            let card = crate::ticket_view::show(&state.store, *one).await?;
            let status = card.lines().next().unwrap_or_default().to_owned();
            let block = json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("```{card}```") } });
            Ok(ephemeral(status, vec![block]))
        }
        many => {
            let refs: Vec<String> = many.iter().map(|t| t.to_string()).collect();
            Ok(ephemeral(format!("{} tickets match: {}. Ask for one of them.", many.len(), refs.join(", ")), vec![]))
        }
    }
}
