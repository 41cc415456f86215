//! The outbox as the dispatcher sees it: claim due rows under a lease, then
//! record what each attempt did. Every attempt is also written to the
//! delivery log shown on the ticket.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::leases::Holder;
use super::rows::{from_ms, ms};
use super::{Backend, Claim, Result, Serial, Store, StoreError, claim_sql, parse_col};
use crate::domain::{Channel, Content, Template, TicketRef};

/// A message claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: i64,
    pub dedupe_key: String,
    pub ticket: Option<TicketRef>,
    pub channel: Channel,
    pub recipient: String,
    pub content: Content,
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: i64,
    pub not_before: DateTime<Utc>,
    /// The calendar whose business hours this mail waits for, if any.
    pub hours: Option<String>,
}

/// What happened to one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        external_id: String,
    },
    /// A failed attempt; try again at `at`.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Given up: a permanent error or the last attempt.
    Dead {
        error: String,
    },
    /// Slack said "429, retry after": try at `at`, no attempt used.
    Deferred {
        at: DateTime<Utc>,
        reason: String,
    },
    /// Not attempted: its channel's pace, or an earlier message to the same
    /// recipient that must wait, holds it until `at`. No call was made, so
    /// the delivery log has no line for it.
    Paced {
        at: DateTime<Utc>,
    },
}

impl Outcome {
    /// When a message that was not delivered or given up goes next.
    pub fn later(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Retry { at, .. } | Self::Deferred { at, .. } | Self::Paced { at } => Some(*at),
            Self::Sent { .. } | Self::Dead { .. } => None,
        }
    }
}

/// An attempt to record: the claimed row, what became of it, when, and the
/// admin alert it raises (a dead message's).
#[derive(Debug, Clone)]
pub struct Finished {
    pub row: Claimed,
    pub outcome: Outcome,
    pub at: DateTime<Utc>,
    pub alert: Option<OwnedMessage>,
}

impl Finished {
    /// An approval request just posted: a decision taken meanwhile must
    /// follow it (see [`follow_decision`]).
    fn posted_request(&self) -> bool {
        matches!(self.outcome, Outcome::Sent { .. })
            && self.row.channel == Channel::Slack
            && self.row.content == Content::Message(Template::ApprovalRequest)
    }
}

/// One line of a ticket's delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub dedupe_key: String,
    pub channel: String,
    pub recipient: String,
    pub template: String,
    pub attempt: i64,
    pub at: DateTime<Utc>,
    pub outcome: String,
    pub error: Option<String>,
    pub external_id: Option<String>,
}

// Rows due now, or claimed by a holder whose lease ran out (it died); TDX
// calls only when TDX is configured ($4). A recipient's messages wait while
// an earlier one is being sent: each recipient gets them in order.
const CLAIM: Claim = claim_sql!(
    "UPDATE outbox SET status = 'sending', locked_until = $2, claimed_by = $6
    WHERE id IN (SELECT id FROM outbox o WHERE (channel <> $5 OR $4)
        AND ((status = 'pending' AND not_before <= $1) OR (status = 'sending' AND locked_until <= $1))
        AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.recipient = o.recipient AND e.channel = o.channel
            AND e.id < o.id AND e.status = 'sending' AND e.locked_until > $1)
        ORDER BY not_before, id LIMIT $3",
    ") RETURNING id, dedupe_key, ticket, channel, recipient, template, payload, attempts, not_before, hours"
);

fn claimed_from_row(row: &AnyRow) -> Result<Claimed> {
    let ticket: Option<String> = row.try_get("ticket")?;
    let channel = parse_col("channel", &row.try_get::<String, _>("channel")?)?;
    let name: String = row.try_get("template")?;
    let content = Content::parse(channel, &name)
        .ok_or_else(|| StoreError::Invalid(format!("unknown template '{name}' in the database")))?;
    Ok(Claimed {
        id: row.try_get("id")?,
        dedupe_key: row.try_get("dedupe_key")?,
        ticket: ticket.and_then(|t| TicketRef::parse(&t).ok()),
        channel,
        recipient: row.try_get("recipient")?,
        content,
        payload: row.try_get("payload")?,
        attempts: row.try_get("attempts")?,
        not_before: from_ms(row.try_get("not_before")?)?,
        hours: row.try_get("hours")?,
    })
}

impl Store {
    /// Claims up to `limit` due messages for `holder`, oldest first, TDX
    /// calls included `with_tdx`. Claims are taken one at a time (on
    /// PostgreSQL under an advisory lock), so a replica never takes a
    /// recipient's next message while another takes the one before it.
    pub async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        holder: &Holder,
        limit: i64,
        with_tdx: bool,
    ) -> Result<Vec<Claimed>> {
        let claim = sqlx::query(CLAIM.sql(self.backend))
            .bind(ms(now))
            .bind(ms(holder.until(now)))
            .bind(limit)
            .bind(with_tdx)
            .bind(<&str>::from(Channel::Tdx))
            .bind(&*holder.id);
        let rows = match self.backend {
            // One statement: SQLite's single writer already takes turns.
            Backend::Sqlite => claim.fetch_all(&self.pool).await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                Serial::OutboxClaim.take(&mut tx, self.backend).await?;
                let rows = claim.fetch_all(&mut *tx).await?;
                tx.commit().await?;
                rows
            }
        };
        let mut claimed = rows.iter().map(claimed_from_row).collect::<Result<Vec<_>>>()?;
        claimed.sort_by_key(|c| (c.not_before, c.id));
        Ok(claimed)
    }

    /// Records attempts and their delivery-log lines in one transaction
    /// (one commit for many messages), with the admin alerts they raise.
    pub async fn finish_outbox(&self, done: &[Finished]) -> Result<()> {
        if done.is_empty() {
            return Ok(());
        }
        let mut locked: Vec<TicketRef> =
            done.iter().filter(|f| f.posted_request()).filter_map(|f| f.row.ticket).collect();
        let mut tx = if locked.is_empty() { self.pool.begin().await? } else { self.begin_write().await? };
        // The tickets first, in one order: a decision taken meanwhile waits
        // for this batch, and two batches never wait for each other.
        locked.sort_by_key(|t| t.to_string());
        locked.dedup();
        for ticket in &locked {
            lock_ticket(&mut tx, self.backend, *ticket).await?;
        }
        for f in done {
            record(&mut tx, f).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Gives `holder`'s claimed rows back untouched (a dispatcher stopping
    /// cleanly).
    pub async fn release_outbox(&self, holder: &str) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET status = 'pending', locked_until = NULL, claimed_by = NULL
             WHERE claimed_by = $1 AND status = 'sending'",
        )
        .bind(holder)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The delivery log of a ticket, oldest first.
    pub async fn deliveries(&self, ticket: TicketRef) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(
            "SELECT o.dedupe_key, o.channel, o.recipient, o.template, d.attempt, d.at, d.outcome, d.error, d.external_id
             FROM delivery_attempts d JOIN outbox o ON o.id = d.outbox_id WHERE d.ticket = $1 ORDER BY d.id",
        )
        .bind(ticket.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Delivery {
                    dedupe_key: r.try_get("dedupe_key")?,
                    channel: r.try_get("channel")?,
                    recipient: r.try_get("recipient")?,
                    template: r.try_get("template")?,
                    attempt: r.try_get("attempt")?,
                    at: from_ms(r.try_get("at")?)?,
                    outcome: r.try_get("outcome")?,
                    error: r.try_get("error")?,
                    external_id: r.try_get("external_id")?,
                })
            })
            .collect()
    }

    /// When the next pending message is due (TDX calls included `with_tdx`):
    /// where a simulated clock jumps to.
    pub async fn next_outbox_due(&self, with_tdx: bool) -> Result<Option<DateTime<Utc>>> {
        let row = sqlx::query(
            "SELECT MIN(not_before) AS due FROM outbox
             WHERE status = 'pending' AND (channel <> $2 OR $1)",
        )
        .bind(with_tdx)
        .bind(<&str>::from(Channel::Tdx))
        .fetch_one(&self.pool)
        .await?;
        row.try_get::<Option<i64>, _>("due")?.map(from_ms).transpose()
    }

    /// Counts of outbox rows by status, for health and benchmarks.
    pub async fn outbox_status_count(&self, status: &str) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE status = $1")
            .bind(status)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    /// How many rows each channel has in each state, for metrics.
    pub async fn outbox_counts(&self) -> Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query("SELECT channel, status, COUNT(*) AS n FROM outbox GROUP BY channel, status")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("channel")?, r.try_get("status")?, r.try_get("n")?))).collect()
    }

    /// Enqueues one message outside any ticket transition (admin alerts,
    /// benchmarks); a second enqueue with the same key is ignored.
    pub async fn enqueue(&self, m: &NewMessage<'_>, now: DateTime<Utc>) -> Result<()> {
        self.enqueue_due(m, now, now).await
    }

    /// Enqueues one message created `now` that may leave from `due` on.
    pub async fn enqueue_due(&self, m: &NewMessage<'_>, now: DateTime<Utc>, due: DateTime<Utc>) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        insert_message(&mut conn, m, now, due).await
    }
}

/// Holds the ticket's row until the transaction ends, so a decision on it
/// and the recording of one of its approval requests never interleave.
async fn lock_ticket(conn: &mut sqlx::AnyConnection, backend: Backend, ticket: TicketRef) -> Result<()> {
    if let (Backend::Postgres, TicketRef::Refresh(id)) = (backend, ticket) {
        sqlx::query("SELECT id FROM refresh_tickets WHERE id = $1 FOR UPDATE").bind(id.0).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Records one attempt: the row's new state, its delivery-log line (none
/// for a message that was only paced: no call was made), and its alert.
async fn record(conn: &mut sqlx::AnyConnection, f: &Finished) -> Result<()> {
    let Finished { row, outcome, at, alert } = f;
    let (status, not_before, error, external_id, outcome_name) = match outcome {
        Outcome::Sent { external_id } => ("sent", row.not_before, None, Some(external_id.as_str()), "sent"),
        Outcome::Retry { at, error } => ("pending", *at, Some(error.as_str()), None, "retry"),
        Outcome::Dead { error } => ("dead", row.not_before, Some(error.as_str()), None, "dead"),
        Outcome::Deferred { at, reason } => ("pending", *at, Some(reason.as_str()), None, "deferred"),
        Outcome::Paced { at: next } => return paced(conn, row.id, *next, *at).await,
    };
    let attempts = row.attempts + i64::from(!matches!(outcome, Outcome::Deferred { .. }));
    sqlx::query(
        "UPDATE outbox SET status = $2, attempts = $3, not_before = $4, last_error = $5,
            external_id = COALESCE($6, external_id), locked_until = NULL, claimed_by = NULL, updated_at = $7
         WHERE id = $1",
    )
    .bind(row.id)
    .bind(status)
    .bind(attempts)
    .bind(ms(not_before))
    .bind(error)
    .bind(external_id)
    .bind(ms(*at))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO delivery_attempts (outbox_id, ticket, attempt, at, outcome, error, external_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(row.id)
    .bind(row.ticket.map(|t| t.to_string()))
    .bind(attempts)
    .bind(ms(*at))
    .bind(outcome_name)
    .bind(error)
    .bind(external_id)
    .execute(&mut *conn)
    .await?;
    if let Some(m) = alert {
        insert_message(conn, &m.as_new(), *at, *at).await?;
    }
    if let (true, Outcome::Sent { external_id }) = (f.posted_request(), outcome) {
        follow_decision(conn, row, external_id, *at).await?;
    }
    Ok(())
}

/// A message held back without a call keeps its attempts and log as they were.
async fn paced(conn: &mut sqlx::AnyConnection, id: i64, next: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = 'pending', not_before = $2, locked_until = NULL, claimed_by = NULL,
            updated_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(ms(next))
    .bind(ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An approval request posted while the decision was being taken (the
/// dispatcher held it, so the decision could neither withdraw nor edit it)
/// is edited to show the decision right after it is posted.
async fn follow_decision(
    conn: &mut sqlx::AnyConnection,
    row: &Claimed,
    posted_as: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(ticket) = row.ticket else { return Ok(()) };
    let decided = sqlx::query(
        "SELECT payload FROM outbox WHERE ticket = $1 AND template = $2 AND id > $3 ORDER BY id DESC LIMIT 1",
    )
    .bind(ticket.to_string())
    .bind(<&str>::from(Template::ApprovalDecided))
    .bind(row.id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(decided) = decided else { return Ok(()) };
    let payload: String = decided.try_get("payload")?;
    let key = format!("{ticket}/{}/late/{}", Template::ApprovalDecided, row.id);
    let m = NewMessage {
        dedupe_key: &key,
        ticket: Some(ticket),
        channel: Channel::SlackUpdate,
        recipient: posted_as,
        content: Template::ApprovalDecided.into(),
        payload: &payload,
        hours: None,
    };
    insert_message(conn, &m, now, now).await
}

/// A message to enqueue, already addressed.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub dedupe_key: &'a str,
    pub ticket: Option<TicketRef>,
    pub channel: Channel,
    pub recipient: &'a str,
    pub content: Content,
    pub payload: &'a str,
    /// The calendar whose business hours this mail waits for, if any.
    pub hours: Option<&'a str>,
}

/// A message to enqueue that owns its fields (built before the transaction
/// that enqueues it).
#[derive(Debug, Clone)]
pub struct OwnedMessage {
    pub dedupe_key: String,
    pub ticket: Option<TicketRef>,
    pub channel: Channel,
    pub recipient: String,
    pub template: Template,
    pub payload: String,
}

impl OwnedMessage {
    pub fn as_new(&self) -> NewMessage<'_> {
        NewMessage {
            dedupe_key: &self.dedupe_key,
            ticket: self.ticket,
            channel: self.channel,
            recipient: &self.recipient,
            content: self.template.into(),
            payload: &self.payload,
            hours: None,
        }
    }
}

/// Inserts a message created `now`, due at `not_before`, unless its key exists.
pub(super) async fn insert_message(
    conn: &mut sqlx::AnyConnection,
    m: &NewMessage<'_>,
    now: DateTime<Utc>,
    not_before: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (dedupe_key, ticket, channel, recipient, template, payload, hours, not_before, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(m.dedupe_key)
    .bind(m.ticket.map(|t| t.to_string()))
    .bind(<&str>::from(m.channel))
    .bind(m.recipient)
    .bind(m.content.name())
    .bind(m.payload)
    .bind(m.hours)
    .bind(ms(not_before))
    .bind(ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
