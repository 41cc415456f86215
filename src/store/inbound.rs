//! Inbound email as stored: the raw message first, then what processing
//! made of it. Also what replies and bounces need of the outbox: the ticket
//! of a Message-ID, and marking a bounced message and address.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::outbox::OwnedMessage;
use super::rows::{from_ms, ms};
use super::service::ServiceMove;
use super::{Result, Routing, Store, StoreError};
use crate::domain::{Actor, Channel, TicketRef};

/// What processing an inbound message writes besides its outcome.
#[derive(Debug, Clone, Default)]
pub struct InboundWork {
    pub note: Option<Note>,
    /// A service ticket back from waiting on its client.
    pub moved: Option<ServiceMove>,
    /// Who is told (the engineer, the team or the help desk), keyed by the message.
    pub tell: Option<OwnedMessage>,
}

/// A customer's note on a ticket.
#[derive(Debug, Clone)]
pub struct Note {
    pub ticket: TicketRef,
    pub actor: Actor,
    pub text: String,
}

/// Who the SMTP envelope says a message is from and to (empty by webhook).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// `Some("")` for the null reverse-path, `MAIL FROM:<>`.
    pub from: Option<String>,
    pub to: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRow {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub source: String,
    /// The SMTP envelope's recipients, comma-separated (none by webhook).
    pub envelope_to: String,
    /// The SMTP envelope's sender, `""` for the null reverse-path (none by webhook).
    pub envelope_from: Option<String>,
    pub raw: Vec<u8>,
    pub status: String,
    pub reason: Option<String>,
    pub ticket: Option<TicketRef>,
    pub sender: Option<String>,
}

/// What processing made of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundOutcome {
    pub status: &'static str,
    pub reason: Option<String>,
    pub ticket: Option<TicketRef>,
    pub sender: Option<String>,
    pub message_id: Option<String>,
}

/// A stored message; without `raw` selected (lists), its bytes are empty.
fn row_of(r: &sqlx::any::AnyRow, with_raw: bool) -> Result<InboundRow> {
    let ticket: Option<String> = r.try_get("ticket")?;
    Ok(InboundRow {
        id: r.try_get("id")?,
        received_at: from_ms(r.try_get("received_at")?)?,
        source: r.try_get("source")?,
        envelope_to: r.try_get("envelope_to")?,
        envelope_from: r.try_get("envelope_from")?,
        raw: if with_raw { r.try_get("raw")? } else { Vec::new() },
        status: r.try_get("status")?,
        reason: r.try_get("reason")?,
        ticket: ticket.and_then(|t| TicketRef::parse(&t).ok()),
        sender: r.try_get("sender")?,
    })
}

impl Store {
    /// Keeps a message exactly as received; returns its id.
    pub async fn store_inbound(
        &self,
        source: &str,
        envelope: &Envelope,
        raw: &[u8],
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO inbound_messages (received_at, source, envelope_to, envelope_from, raw)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(ms(now))
        .bind(source)
        .bind(envelope.to.join(","))
        .bind(envelope.from.clone())
        .bind(raw.to_vec())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    pub async fn inbound(&self, id: i64) -> Result<InboundRow> {
        let row = sqlx::query("SELECT * FROM inbound_messages WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("inbound message {id}")))?;
        row_of(&row, true)
    }

    /// The newest messages, of one status or all, without their raw bytes.
    /// How many inbound messages are in each status, for metrics.
    pub async fn inbound_counts(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM inbound_messages GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("status")?, r.try_get("n")?))).collect()
    }

    pub async fn inbound_list(&self, status: Option<&str>, limit: i64) -> Result<Vec<InboundRow>> {
        let rows = sqlx::query(
            "SELECT id, received_at, source, envelope_to, envelope_from, status, reason, ticket, sender FROM inbound_messages WHERE ($1 = '' OR status = $1) ORDER BY id DESC LIMIT $2",
        )
        .bind(status.unwrap_or_default())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| row_of(r, false)).collect()
    }

    /// Records what processing made of a message together with everything
    /// it writes (the note, the ticket's move, who is told): one
    /// transaction, so a failure leaves the message `stored` with nothing
    /// half-done, and `deskbell inbound retry` completes it.
    pub async fn finish_inbound(
        &self,
        id: i64,
        o: &InboundOutcome,
        work: &InboundWork,
        now: DateTime<Utc>,
        routing: &Routing,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if let Some(n) = &work.note {
            let note = crate::domain::Change::new(crate::domain::AuditField::CustomerNote, None, Some(n.text.clone()));
            super::commit::insert_audit(&mut tx, n.ticket, &n.actor, &note, now).await?;
        }
        if let Some(m) = &work.moved {
            let actor = work.note.as_ref().map(|n| n.actor.clone()).unwrap_or(Actor::System);
            super::service::save_service_in(&mut tx, m, &actor, now, routing).await?;
        }
        if let Some(m) = &work.tell {
            super::outbox::insert_message(&mut tx, &m.as_new(), now, now).await?;
        }
        sqlx::query(
            "UPDATE inbound_messages SET status = $2, reason = $3, ticket = $4, sender = $5, message_id = $6,
                processed_at = $7 WHERE id = $1",
        )
        .bind(id)
        .bind(o.status)
        .bind(o.reason.clone())
        .bind(o.ticket.map(|t| t.to_string()))
        .bind(o.sender.clone())
        .bind(o.message_id.clone())
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The ticket of the email deskbell sent with this Message-ID.
    pub async fn ticket_of_message_id(&self, message_id: &str) -> Result<Option<TicketRef>> {
        let row =
            sqlx::query("SELECT ticket FROM outbox WHERE external_id = $1 AND channel = $2 AND ticket IS NOT NULL")
                .bind(message_id)
                .bind(<&str>::from(Channel::Email))
                .fetch_optional(&self.pool)
                .await?;
        let ticket: Option<String> = row.map(|r| r.try_get("ticket")).transpose()?;
        Ok(ticket.and_then(|t| TicketRef::parse(&t).ok()))
    }

    /// A delivery status notification for the mail with `message_id`: the
    /// outbox row is marked bounced and the address as bouncing. Returns
    /// whether a sent message matched.
    pub async fn mark_bounce(
        &self,
        message_id: &str,
        address: Option<&str>,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE outbox SET status = 'bounced', last_error = $2, updated_at = $3
             WHERE external_id = $1 AND channel = $4 RETURNING recipient",
        )
        .bind(message_id)
        .bind(why)
        .bind(ms(now))
        .bind(<&str>::from(Channel::Email))
        .fetch_optional(&mut *tx)
        .await?;
        let recipient: Option<String> = row.map(|r| r.try_get("recipient")).transpose()?;
        if let Some(address) = address.map(str::to_owned).or(recipient.clone()) {
            sqlx::query(
                "INSERT INTO bouncing_addresses (address, since, reason) VALUES ($1, $2, $3)
                 ON CONFLICT (address) DO UPDATE SET reason = excluded.reason",
            )
            .bind(address.to_lowercase())
            .bind(ms(now))
            .bind(why)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(recipient.is_some())
    }

    pub async fn is_bouncing(&self, address: &str) -> Result<bool> {
        let row = sqlx::query("SELECT address FROM bouncing_addresses WHERE address = $1")
            .bind(address.to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}
