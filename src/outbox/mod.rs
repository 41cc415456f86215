//! The dispatcher: every message deskbell sends leaves through here. It
//! claims due outbox rows under a lease, renders each from its snapshot,
//! sends it, and records the outcome: sent (with the external id), retried
//! with backoff, deferred (`Retry-After`), paced, or dead, which alerts the
//! admins once. Several dispatchers (replicas) share the work.
//!
//! A claimed batch is split into queues, one per recipient: a queue is sent
//! in the order its messages were queued, the queues side by side. Outcomes
//! are recorded as they come, many per transaction, and are kept (and
//! written again) while the database is away: a message handed to SMTP or
//! Slack is never forgotten while the process lives.

mod backoff;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures::{StreamExt, stream};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc, watch};
use tracing::Instrument;

pub use backoff::retry_delay;

use crate::channels::SendError;
use crate::channels::email::{EmailChannel, Outgoing};
use crate::channels::slack::{Attachment, SlackChannel};
use crate::clock::Clock;
use crate::config::OutboxSettings;
use crate::domain::{Channel, Content, SlackMessageRef, Template, TicketRef};
use crate::itsm::ItsmSender;
use crate::links::Links;
use crate::metrics::Metrics;
use crate::store::{Claimed, Finished, Holder, Outcome, OwnedMessage, Routing, Store, StoreError};
use crate::templates::Templates;

pub struct Dispatcher {
    store: Store,
    clock: Arc<dyn Clock>,
    templates: Arc<Templates>,
    email: EmailChannel,
    slack: SlackChannel,
    settings: OutboxSettings,
    /// Holds this dispatcher's claims (the process's, kept alive).
    holder: Holder,
    itsm: Option<Arc<ItsmSender>>,
    links: Option<Links>,
    /// When held mail may leave: a retry of it waits for business hours too.
    routing: Routing,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
}

impl Dispatcher {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        templates: Arc<Templates>,
        email: EmailChannel,
        slack: SlackChannel,
        settings: OutboxSettings,
    ) -> Self {
        let wake = Arc::new(Notify::new());
        let routing = Routing::default();
        let metrics = Arc::default();
        Self {
            store,
            clock,
            templates,
            email,
            slack,
            settings,
            holder: Holder::default(),
            itsm: None,
            links: None,
            routing,
            wake,
            metrics,
        }
    }

    /// Retries of mail held to business hours wait for them (DESIGN rule 9).
    pub fn with_routing(self, routing: Routing) -> Self {
        Self { routing, ..self }
    }

    /// Claims under `holder` (the process's, whose leases are kept alive).
    pub fn with_holder(self, holder: Holder) -> Self {
        Self { holder, ..self }
    }

    /// Rings the dispatcher awake before its poll interval: whoever queues a
    /// message someone is waiting for (a reply to a click) rings it.
    pub fn doorbell(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Counts attempts, failures and delivery latency in `metrics`.
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Self {
        Self { metrics, ..self }
    }

    /// Messages about refresh tickets carry the customer's signed links.
    pub fn with_links(self, links: Links) -> Self {
        Self { links: Some(links), ..self }
    }

    /// Also performs the queued TDX calls.
    pub fn with_itsm(self, itsm: Arc<ItsmSender>) -> Self {
        Self { itsm: Some(itsm), ..self }
    }

    /// Delivers one batch of due messages, each recipient's in order, the
    /// recipients side by side; returns how many were handled. If `stop`
    /// turns true midway, what was not started is given back untouched for
    /// the next dispatcher.
    pub async fn run_once(&self, stop: &watch::Receiver<bool>) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let limit = i64::from(self.settings.batch_size);
        let rows = self.store.claim_outbox(now, &self.holder, limit, self.itsm.is_some()).await?;
        let (done, finished) = mpsc::unbounded_channel();
        let sending = async move {
            stream::iter(queues(rows))
                .for_each_concurrent(self.settings.email_concurrency as usize, |queue| {
                    let done = done.clone();
                    async move { self.send_queue(queue, stop, &done).await }
                })
                .await;
        };
        let ((), handled) = tokio::join!(sending, self.record(finished, stop));
        if *stop.borrow() {
            // Only rows still 'sending' are given back; finished ones stay.
            self.store.release_outbox(&self.holder.id).await?;
        }
        Ok(handled)
    }

    /// Sends one recipient's messages in order. A message that must wait
    /// (a retry, a 429, the channel's pace) holds the ones after it until
    /// the same time, without a call, so they keep their order.
    async fn send_queue(&self, queue: Vec<Claimed>, stop: &watch::Receiver<bool>, done: &Done) {
        let mut waiting = None;
        for row in queue {
            if *stop.borrow() {
                return;
            }
            let finished = match waiting {
                Some(at) => Finished { row, outcome: Outcome::Paced { at }, at: self.clock.now(), alert: None },
                None => self.handle(row).await,
            };
            waiting = finished.outcome.later();
            // The receiver lives until every queue is done.
            let _ = done.send(finished);
        }
    }

    /// Records outcomes as they come, all that are ready in one transaction.
    async fn record(&self, mut finished: mpsc::UnboundedReceiver<Finished>, stop: &watch::Receiver<bool>) -> usize {
        let (mut handled, mut batch) = (0, Vec::new());
        while finished.recv_many(&mut batch, self.settings.batch_size as usize).await > 0 {
            self.write(&batch, stop).await;
            handled += batch.len();
            batch.clear();
        }
        handled
    }

    /// Writes outcomes, again and again while the database is away (the
    /// heartbeat keeps the claims meanwhile), so a message already sent is
    /// not sent again after an outage. Only a dispatcher told to stop gives
    /// up, after a lease's time.
    async fn write(&self, batch: &[Finished], stop: &watch::Receiver<bool>) {
        let (started, mut wait) = (std::time::Instant::now(), StdDuration::from_millis(100));
        let patience = self.holder.lease.to_std().unwrap_or_default();
        loop {
            match self.store.finish_outbox(batch).await {
                Ok(()) => return,
                Err(e) if *stop.borrow() && started.elapsed() >= patience => {
                    tracing::error!(error = %e, messages = batch.len(), "outcomes not recorded: these may be sent again");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, messages = batch.len(), "cannot record outcomes yet; trying again")
                }
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(StdDuration::from_secs(5));
        }
    }

    /// Delivers one message: its outcome, and the admin alert it raises.
    async fn handle(&self, row: Claimed) -> Finished {
        let ticket = row.ticket.map(|t| t.to_string()).unwrap_or_default();
        let span = tracing::info_span!("delivery", key = %row.dedupe_key, %ticket, channel = %row.channel);
        self.handle_in(row).instrument(span).await
    }

    async fn handle_in(&self, row: Claimed) -> Finished {
        let now = self.clock.now();
        let outcome = self.deliver(&row, now).await;
        self.metrics.delivered(&row, &outcome, self.clock.now());
        match &outcome {
            Outcome::Dead { error } => tracing::error!(key = %row.dedupe_key, %error, "message dead"),
            Outcome::Retry { error, .. } => tracing::warn!(key = %row.dedupe_key, %error, "message will be retried"),
            _ => tracing::debug!(key = %row.dedupe_key, ?outcome, "message handled"),
        }
        let alert = match &outcome {
            Outcome::Dead { error } => self.alert(&row, error),
            _ => None,
        };
        Finished { row, outcome, at: now, alert }
    }

    /// Runs until `stop` is set: a batch whenever something is due, a short
    /// sleep when nothing is.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let idle = StdDuration::from_millis(self.settings.poll_interval_ms);
        while !*stop.borrow() {
            let busy = match self.run_once(&stop).await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::error!(error = %e, "outbox dispatch failed");
                    false
                }
            };
            if !busy {
                tokio::select! {
                    _ = stop.changed() => {}
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(idle) => {}
                }
            }
        }
    }

    async fn deliver(&self, row: &Claimed, now: DateTime<Utc>) -> Outcome {
        let dead = |error: String| Outcome::Dead { error };
        if row.channel == Channel::Tdx {
            return match &self.itsm {
                Some(itsm) => self.outcome(row, now, within(itsm.perform(row)).await),
                None => dead("TDX is not configured".into()),
            };
        }
        let Some(template) = row.content.template() else {
            return dead(format!("{} is not a message", row.content));
        };
        let mut ctx: Value = match serde_json::from_str(&row.payload) {
            Ok(v) => v,
            Err(e) => return dead(format!("unreadable payload: {e}")),
        };
        if let (Some(links), Some(t @ TicketRef::Refresh(_))) = (&self.links, row.ticket) {
            ctx["links"] = json!({ "pick_slot": links.pick_slot(t), "refresh": links.refresh_page(t) });
        }
        let result = match row.channel {
            Channel::Email => match self.templates.email(template, &ctx) {
                Ok(mail) => {
                    let m = Outgoing {
                        outbox_id: row.id,
                        dedupe_key: &row.dedupe_key,
                        ticket: row.ticket,
                        template,
                        to: &row.recipient,
                    };
                    within(self.email.send(&m, &mail)).await
                }
                Err(e) => return dead(format!("template: {e}")),
            },
            Channel::SlackUpdate | Channel::SlackResponse => match self.templates.slack(template, &ctx) {
                // Edits and interaction answers go to one message or person: no channel pacing.
                Ok(msg) if row.channel == Channel::SlackUpdate => match row.recipient.parse::<SlackMessageRef>() {
                    Ok(m) => within(self.slack.update(&m.channel, &m.ts, &msg)).await.map(|()| m.to_string()),
                    Err(why) => return dead(why),
                },
                Ok(msg) => {
                    within(self.slack.respond(&row.recipient, &msg, false)).await.map(|()| "response_url".into())
                }
                Err(e) => return dead(format!("template: {e}")),
            },
            Channel::Slack => {
                let msg = match self.templates.slack(template, &ctx) {
                    Ok(msg) => msg,
                    Err(e) => return dead(format!("template: {e}")),
                };
                // The channel's pace is shared by every replica.
                let pace = format!("slack:{}", row.recipient);
                let gap = Duration::milliseconds(self.settings.slack_gap_ms as i64);
                match self.store.take_turn(&pace, now, gap).await {
                    Ok(None) => {}
                    Ok(Some(at)) => return Outcome::Paced { at },
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the channel's pace; waiting a second");
                        return Outcome::Paced { at: now + Duration::seconds(1) };
                    }
                }
                let file = ctx.get("attachment").cloned().map(serde_json::from_value::<Attachment>);
                let sent = match file {
                    None => within(self.slack.post(&row.recipient, &msg, &row.dedupe_key)).await,
                    Some(Ok(file)) => within(self.slack.share(&row.recipient, &msg, &file)).await,
                    Some(Err(e)) => return dead(format!("unreadable attachment: {e}")),
                };
                if let Err(SendError::RateLimited { retry_after }) = &sent {
                    // This channel waits; the others go on.
                    if let Err(e) = self.store.hold_turns(&pace, now + to_chrono(*retry_after)).await {
                        tracing::warn!(error = %e, "cannot record Slack's Retry-After");
                    }
                }
                sent
            }
            Channel::SlackHome => match self.home(&row.recipient, now).await {
                Ok(view) => within(self.slack.publish_home(&row.recipient, &view)).await.map(|()| "home".into()),
                Err(SendError::Permanent(why)) => return dead(why),
                Err(e) => Err(e),
            },
            Channel::Tdx => return dead("a TDX call is not a message".into()),
        };
        self.outcome(row, now, result)
    }

    /// A person's Home as it is now (it is built when sent, not queued).
    async fn home(&self, slack_user: &str, now: DateTime<Utc>) -> Result<Value, SendError> {
        let store_error = |e: StoreError| SendError::Transient(e.to_string());
        let person = self.store.person_by_slack(slack_user).await.map_err(store_error)?;
        let ctx = crate::slack::home::context(&self.store, person.as_ref(), now).await.map_err(store_error)?;
        self.templates.home(&ctx).map_err(|e| SendError::Permanent(format!("template: {e}")))
    }

    /// What an attempt's result means for the message.
    fn outcome(&self, row: &Claimed, now: DateTime<Utc>, result: Result<String, SendError>) -> Outcome {
        let dead = |error: String| Outcome::Dead { error };
        match result {
            Ok(external_id) => Outcome::Sent { external_id },
            Err(SendError::Permanent(error)) => dead(error),
            Err(SendError::RateLimited { retry_after }) => {
                Outcome::Deferred { at: now + to_chrono(retry_after), reason: "rate limited (429)".into() }
            }
            Err(SendError::Transient(error)) => {
                let attempts = u32::try_from(row.attempts + 1).unwrap_or(u32::MAX);
                if attempts >= self.settings.max_attempts {
                    dead(format!("{error} (gave up after {attempts} attempts)"))
                } else {
                    let base = StdDuration::from_secs(self.settings.base_delay_seconds);
                    let max = StdDuration::from_secs(self.settings.max_delay_seconds);
                    let delay = retry_delay(attempts, base, max, &row.dedupe_key);
                    let at = self.routing.release(row.hours.as_deref(), now + to_chrono(delay));
                    Outcome::Retry { at, error }
                }
            }
        }
    }

    /// One alert per dead message, to the admins' Slack channel or mailbox;
    /// never for a dead alert itself, which would loop.
    fn alert(&self, row: &Claimed, error: &str) -> Option<OwnedMessage> {
        if row.content == Content::Message(Template::DeliveryDead) {
            return None;
        }
        let (channel, recipient) = match (&self.settings.admin_slack_channel, &self.settings.admin_email) {
            (Some(c), _) => (Channel::Slack, c.to_string()),
            (None, Some(e)) => (Channel::Email, e.to_string()),
            (None, None) => return None,
        };
        let ticket = row.ticket.map(|t| t.to_string()).unwrap_or_else(|| "-".into());
        // A team channel the app was never invited to: say how to fix it.
        let hint = error.starts_with("not_in_channel").then(|| {
            format!(
                "deskbell is not a member of <#{}>: invite it there (/invite @deskbell), or reinstall the app \
                 from `deskbell manifest`, whose chat:write.public scope lets it post in any public channel",
                row.recipient
            )
        });
        let payload = json!({
            "ticket": {
                "ref": ticket, "dedupe_key": row.dedupe_key, "channel": row.channel, "recipient": row.recipient,
                "template": row.content.name(), "error": error, "attempts": row.attempts + 1, "hint": hint,
            },
            "recipient": { "name": "deskbell admins" },
        });
        Some(OwnedMessage {
            dedupe_key: format!("{}/dead", row.dedupe_key),
            ticket: row.ticket,
            channel,
            recipient,
            template: Template::DeliveryDead,
            payload: payload.to_string(),
        })
    }
}

type Done = mpsc::UnboundedSender<Finished>;

/// A batch split into queues, one per recipient (a person, a Slack channel,
/// one posted message), each in the order its messages were queued.
fn queues(rows: Vec<Claimed>) -> Vec<Vec<Claimed>> {
    let mut queues = crate::queues::by_key(rows, |row| (row.channel, row.recipient.clone()));
    for queue in &mut queues {
        queue.sort_by_key(|r| r.id);
    }
    queues
}

/// A service that does not answer in time is a transient failure, so one
/// hung connection never stalls delivery.
async fn within<T>(send: impl Future<Output = Result<T, SendError>>) -> Result<T, SendError> {
    const SEND_TIMEOUT: StdDuration = StdDuration::from_secs(30);
    tokio::time::timeout(SEND_TIMEOUT, send)
        .await
        .unwrap_or_else(|_| Err(SendError::Transient(format!("no answer within {SEND_TIMEOUT:?}"))))
}

fn to_chrono(d: StdDuration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}
