//! Inbound email: customers' replies threaded back onto their tickets.
//! Every message is stored raw first (`receive`), then processed
//! (`process`): auto-replies and bounces are recorded and change nothing
//! else; a reply is matched to its ticket by the signed `+token` of the
//! address it was sent to, then by the Message-ID it answers, then by a
//! `[R-12]` (or a bare `R-12`) in the subject from that ticket's own customer. A match adds
//! the reply to the ticket as a customer note, brings a service ticket
//! back from waiting on the client, and tells the people working it.

pub mod parse;
pub mod smtp;

use secrecy::SecretString;
use serde_json::json;

use crate::channels::reply_token;
use crate::domain::service::{ServiceEvent, ServiceStatus};
use crate::domain::{Actor, Channel, Email, Template, TicketRef};
use crate::store::{Envelope, InboundOutcome, InboundWork, Note, OwnedMessage, Result, StoreError};
use crate::workflow::Workflow;
use parse::{Parsed, parse, reply_text, subject_ticket};

/// Slack shows at most 3 000 characters of a text block.
const NOTE_IN_SLACK: usize = 2_900;

#[derive(Clone)]
pub struct Inbound {
    pub workflow: Workflow,
    /// The key of reply tokens (`[email] reply_secret`).
    pub reply_secret: Option<SecretString>,
    pub max_attachment_bytes: usize,
    pub helpdesk_channel: Option<crate::domain::SlackChannelId>,
}

impl Inbound {
    /// The processor `settings` describe, working through `workflow`.
    pub fn new(settings: &crate::config::Settings, workflow: Workflow) -> Self {
        Self {
            workflow,
            reply_secret: settings.email.reply_secret.clone(),
            max_attachment_bytes: settings.inbound.max_attachment_bytes,
            helpdesk_channel: settings.inbound.helpdesk_channel.clone(),
        }
    }

    /// Stores the message exactly as received, then processes it. A
    /// processing failure leaves it stored for `deskbell inbound retry`.
    pub async fn receive(&self, source: &str, envelope: &Envelope, raw: &[u8]) -> Result<i64> {
        let id = self.workflow.store.store_inbound(source, envelope, raw, self.workflow.clock.now()).await?;
        if let Err(e) = self.process(id).await {
            tracing::error!(id, error = %e, "inbound message stored but not processed; retry with `deskbell inbound retry`");
        }
        Ok(id)
    }

    /// Processes a stored message (again); returns what became of it.
    pub async fn process(&self, id: i64) -> Result<InboundOutcome> {
        let store = &self.workflow.store;
        let row = store.inbound(id).await?;
        if row.status == "threaded" {
            let on = row.ticket.map(|t| format!(" onto {t}")).unwrap_or_default();
            return Err(StoreError::Invalid(format!(
                "message {id} was already threaded{on}; running it again would repeat it"
            )));
        }
        let (outcome, work) = match parse(&row.raw) {
            Err(why) => (outcome("malformed", Some(why), None, None), InboundWork::default()),
            Ok(p) => {
                let envelope = Envelope {
                    from: row.envelope_from.clone(),
                    to: row.envelope_to.split(',').filter(|s| !s.is_empty()).map(str::to_lowercase).collect(),
                };
                self.classify(id, &p, &envelope).await?
            }
        };
        tracing::info!(id, status = outcome.status, reason = ?outcome.reason, ticket = ?outcome.ticket, "inbound email");
        store.finish_inbound(id, &outcome, &work, self.workflow.clock.now(), &self.workflow.routing).await?;
        Ok(outcome)
    }

    /// What became of a message, and what that writes.
    async fn classify(&self, id: i64, p: &Parsed, envelope: &Envelope) -> Result<(InboundOutcome, InboundWork)> {
        let store = &self.workflow.store;
        let now = self.workflow.clock.now();
        let with = |status, reason: Option<String>, ticket| {
            let mut o = outcome(status, reason, ticket, p.from.clone());
            o.message_id = p.message_id.clone();
            o
        };
        if let Some(b) = &p.bounce {
            let why =
                format!("bounced ({}) for {}", b.status, b.recipient.as_deref().unwrap_or("an unknown recipient"));
            let matched = match &b.original_message_id {
                Some(mid) => store.mark_bounce(mid, b.recipient.as_deref(), &why, now).await?,
                None => false,
            };
            let reason = if matched { why } else { format!("{why}; no message of ours matched") };
            return Ok((with("bounce", Some(reason), None), InboundWork::default()));
        }
        // RFC 3834 auto-replies and RFC 3464 reports are sent with the null
        // reverse-path, which the SMTP envelope shows even without headers.
        let null_sender = (envelope.from.as_deref() == Some("")).then(|| "null reverse-path (MAIL FROM:<>)".to_owned());
        if let Some(why) = p.automatic.clone().or(null_sender) {
            return Ok((with("auto_reply", Some(why), None), InboundWork::default()));
        }
        let Some(from) = p.from.clone() else {
            return Ok((with("malformed", Some("no From address".into()), None), InboundWork::default()));
        };
        let (ticket, how) = match self.thread(p, &envelope.to, &from).await? {
            Ok(found) => found,
            Err(why) => {
                let work = InboundWork { tell: self.announce_unmatched(id, p, &from, &why), ..Default::default() };
                return Ok((with("unmatched", Some(why), None), work));
            }
        };
        let work = self.apply(id, ticket, p, &from).await?;
        Ok((with("threaded", Some(how.into()), Some(ticket)), work))
    }

    /// The ticket a reply belongs to, and how it was found; or why none.
    async fn thread(
        &self,
        p: &Parsed,
        envelope: &[String],
        from: &str,
    ) -> Result<std::result::Result<(TicketRef, &'static str), String>> {
        let store = &self.workflow.store;
        // A plus-address is a claim: it must verify, or the mail matches nothing.
        let tokens: Vec<&String> = envelope.iter().chain(&p.recipients).filter(|r| r.contains('+')).collect();
        if let (Some(secret), false) = (&self.reply_secret, tokens.is_empty()) {
            let genuine =
                tokens.iter().find_map(|r| Email::parse(r).ok().and_then(|e| reply_token::verify(&e, secret)));
            return Ok(match genuine {
                Some(t) => Ok((t, "reply address")),
                None => Err(format!("forged or damaged reply address {}", tokens[0])),
            });
        }
        for id in &p.replies_to {
            if let Some(t) = store.ticket_of_message_id(id).await? {
                return Ok(Ok((t, "In-Reply-To")));
            }
        }
        if let Some(t) = subject_ticket(&p.subject) {
            let contacts = self.contacts(t).await?;
            return Ok(if contacts.iter().any(|c| c == from) {
                Ok((t, "subject"))
            } else {
                Err(format!("{t} in the subject, but {from} is not its customer"))
            });
        }
        Ok(Err("no reply address, known Message-ID or ticket in the subject".into()))
    }

    /// The addresses of a ticket's customer side (customer and delegate, or contact).
    async fn contacts(&self, t: TicketRef) -> Result<Vec<String>> {
        let store = &self.workflow.store;
        let ids = match t {
            TicketRef::Refresh(id) => match store.load_refresh(id).await {
                Ok(r) => [r.value.customer, r.value.delegate].into_iter().flatten().collect(),
                Err(StoreError::NotFound(_)) => vec![],
                Err(e) => return Err(e),
            },
            TicketRef::Service(id) => match store.load_service(id).await {
                Ok(s) => vec![s.value.contact],
                Err(StoreError::NotFound(_)) => vec![],
                Err(e) => return Err(e),
            },
        };
        let mut out = Vec::new();
        for id in ids {
            out.push(store.person(id).await?.email.to_string());
        }
        Ok(out)
    }

    /// The note, the service ticket back from waiting, the people told.
    async fn apply(&self, id: i64, t: TicketRef, p: &Parsed, from: &str) -> Result<InboundWork> {
        let store = &self.workflow.store;
        let mut note = reply_text(&p.text);
        for (name, size) in &p.attachments {
            let over = if *size > self.max_attachment_bytes { ", over the attachment limit" } else { "" };
            note.push_str(&format!("\n[attachment {name}, {} KB{over}]", size.div_ceil(1024)));
        }
        let actor = Actor::External(format!("email:{from}"));
        let (mut assignee, mut moved) = (None, None);
        if let TicketRef::Service(id) = t {
            let ticket = store.load_service(id).await?.value;
            assignee = ticket.assignee;
            if ticket.status == ServiceStatus::WaitingOnClient {
                moved = Some(self.workflow.service_move(id, ServiceEvent::ClientReplied).await?);
            }
        }
        let (channel, to) = match assignee {
            Some(p) => store.person(p).await?.address(false).route(),
            None => (Channel::Slack, self.team_channel(t).await?),
        };
        let short: String = note.chars().take(NOTE_IN_SLACK).collect();
        let payload = json!({
            "ticket": { "ref": t.to_string() },
            "reply": { "from": from, "text": short, "subject": p.subject },
            "recipient": { "name": "" },
        });
        let tell = tell(id, Some(t), channel, to, &payload);
        Ok(InboundWork { note: Some(Note { ticket: t, actor, text: note }), moved, tell: Some(tell) })
    }

    async fn team_channel(&self, t: TicketRef) -> Result<String> {
        let store = &self.workflow.store;
        let team = match t {
            TicketRef::Refresh(id) => store.load_refresh(id).await?.value.team,
            TicketRef::Service(id) => store.load_service(id).await?.value.team,
        };
        Ok(store.team(team).await?.slack_channel.to_string())
    }

    fn announce_unmatched(&self, id: i64, p: &Parsed, from: &str, why: &str) -> Option<OwnedMessage> {
        let channel = self.helpdesk_channel.as_ref()?;
        let short: String = reply_text(&p.text).chars().take(NOTE_IN_SLACK).collect();
        let payload = json!({
            "ticket": { "ref": "unmatched" },
            "reply": { "from": from, "text": format!("{short}\n({why})"), "subject": p.subject },
            "recipient": { "name": "help desk" },
        });
        Some(tell(id, None, Channel::Slack, channel.to_string(), &payload))
    }
}

/// The message telling people of inbound message `id`; keyed by it, so a
/// retry tells nobody twice.
fn tell(id: i64, t: Option<TicketRef>, channel: Channel, to: String, payload: &serde_json::Value) -> OwnedMessage {
    OwnedMessage {
        dedupe_key: format!("inbound/{id}"),
        ticket: t,
        channel,
        recipient: to,
        template: Template::CustomerReply,
        payload: payload.to_string(),
    }
}

fn outcome(
    status: &'static str,
    reason: Option<String>,
    ticket: Option<TicketRef>,
    sender: Option<String>,
) -> InboundOutcome {
    InboundOutcome { status, reason, ticket, sender, message_id: None }
}
