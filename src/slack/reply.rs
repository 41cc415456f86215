//! Answers to one person's click. Slack ignores the HTTP body of a
//! `block_actions` request, so answers go to the interaction's
//! `response_url` (ephemeral by default) through the outbox: retried like
//! every message, and in the ticket's delivery log. The dispatcher is rung
//! so the answer does not wait for its next poll.

use serde_json::{Value, json};

use crate::domain::{Template, TicketRef};
use crate::http::{AppState, HttpError};
use crate::store::NewMessage;

/// Where the answers to one interaction go.
pub struct Replier<'a> {
    pub state: &'a AppState,
    pub response_url: Option<&'a str>,
    /// Who clicked: answered by DM when there is no `response_url` (a
    /// button on their App Home).
    pub user: &'a str,
    /// Unique per interaction: keys its answer, so a retried request
    /// answers once.
    pub trigger_id: &'a str,
}

impl Replier<'_> {
    pub async fn text(&self, ticket: Option<TicketRef>, text: &str) -> Result<(), HttpError> {
        let ctx = json!({ "ticket": { "ref": ticket.map(|t| t.to_string()) }, "reply": { "text": text } });
        self.send(ticket, Template::InteractionReply, ctx).await
    }

    /// A reply rendered with a ticket template, e.g. the fresh list of free
    /// slots after the one picked filled.
    pub async fn send(&self, ticket: Option<TicketRef>, template: Template, ctx: Value) -> Result<(), HttpError> {
        let (channel, to) = match self.response_url {
            Some(url) => (crate::domain::Channel::SlackResponse, url),
            None => (crate::domain::Channel::Slack, self.user),
        };
        let key = format!("slack/reply/{}", self.trigger_id);
        let payload = ctx.to_string();
        let m = NewMessage {
            dedupe_key: &key,
            ticket,
            channel,
            recipient: to,
            content: template.into(),
            payload: &payload,
            hours: None,
        };
        self.state.workflow.store.enqueue(&m, self.state.workflow.clock.now()).await?;
        self.state.doorbell.notify_one();
        Ok(())
    }
}
