//! What happened: ticket audits, changes seen in external systems, the
//! messages queued, and the Slack events already acted on.

use sqlx::Row;

use super::rows::{from_ms, ms};
use super::{Result, Store, StoreError, parse_col};
use crate::domain::{Actor, Audit, AuditField, Change, ExternalEvent, TicketRef};

/// One queued or sent message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub dedupe_key: String,
    pub channel: String,
    pub recipient: String,
    pub template: String,
    pub status: String,
    pub not_before: chrono::DateTime<chrono::Utc>,
    /// When the message was queued.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Store {
    /// The snapshot templates are rendered from, as a message queued now
    /// would carry it (for `deskbell preview`).
    pub async fn ticket_context(&self, ticket: TicketRef) -> Result<serde_json::Value> {
        let mut conn = self.pool.acquire().await?;
        super::context::ticket_context(&mut conn, ticket).await
    }

    pub async fn audits(&self, ticket: TicketRef) -> Result<Vec<Audit>> {
        let rows =
            sqlx::query("SELECT actor, what, from_value, to_value, at FROM audits WHERE ticket = $1 ORDER BY id")
                .bind(ticket.to_string())
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let actor: String = r.try_get("actor")?;
                Ok(Audit {
                    ticket,
                    actor: Actor::parse(&actor)
                        .ok_or_else(|| StoreError::Invalid(format!("stored actor '{actor}'")))?,
                    change: Change {
                        what: parse_col("what", &r.try_get::<String, _>("what")?)?,
                        from: r.try_get("from_value")?,
                        to: r.try_get("to_value")?,
                    },
                    at: from_ms(r.try_get("at")?)?,
                })
            })
            .collect()
    }

    /// Keeps a change observed in an external system, as it was reported.
    pub async fn record_event(&self, e: &ExternalEvent) -> Result<()> {
        sqlx::query("INSERT INTO external_events (ticket, source, kind, detail, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(e.ticket.to_string())
            .bind(&e.source)
            .bind(&e.kind)
            .bind(&e.detail)
            .bind(ms(e.at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn events(&self, ticket: TicketRef) -> Result<Vec<ExternalEvent>> {
        let rows = sqlx::query("SELECT source, kind, detail, at FROM external_events WHERE ticket = $1 ORDER BY id")
            .bind(ticket.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ExternalEvent {
                    ticket,
                    source: r.try_get("source")?,
                    kind: r.try_get("kind")?,
                    detail: r.try_get("detail")?,
                    at: from_ms(r.try_get("at")?)?,
                })
            })
            .collect()
    }

    pub async fn outbox_of(&self, ticket: TicketRef) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query(
            "SELECT dedupe_key, channel, recipient, template, status, not_before, created_at FROM outbox
             WHERE ticket = $1 ORDER BY id",
        )
        .bind(ticket.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxRow {
                    dedupe_key: r.try_get("dedupe_key")?,
                    channel: r.try_get("channel")?,
                    recipient: r.try_get("recipient")?,
                    template: r.try_get("template")?,
                    status: r.try_get("status")?,
                    not_before: from_ms(r.try_get("not_before")?)?,
                    created_at: from_ms(r.try_get("created_at")?)?,
                })
            })
            .collect()
    }
}

impl Store {
    /// Keeps a refused attempt (a button pressed by someone who may not):
    /// the ticket is unchanged, but the trail shows who tried what.
    pub async fn record_refusal(
        &self,
        ticket: TicketRef,
        actor: &Actor,
        action: &str,
        why: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        let refused = Change::new(AuditField::Refused, Some(action.to_owned()), Some(why.to_owned()));
        super::commit::insert_audit(&mut *self.pool.acquire().await?, ticket, actor, &refused, now).await
    }
}

impl Store {
    /// Acts on a Slack event once: records its id and, for a `team_join`,
    /// links the member's Slack id to the person with their email, in one
    /// transaction, so a failed link leaves the event unrecorded and Slack's
    /// retry does it again. `None` if the event was seen before; else
    /// whether someone was linked.
    pub async fn act_on_slack_event(
        &self,
        event_id: &str,
        now: chrono::DateTime<chrono::Utc>,
        link: Option<(&crate::domain::Email, &crate::domain::SlackUserId)>,
    ) -> Result<Option<bool>> {
        let mut tx = self.begin_write().await?;
        let first =
            sqlx::query("INSERT INTO slack_events (event_id, received_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(event_id)
                .bind(super::rows::ms(now))
                .execute(&mut *tx)
                .await?;
        if first.rows_affected() == 0 {
            return Ok(None);
        }
        let linked = match link {
            Some((email, user)) => super::directory::link_slack_in(&mut tx, email, user).await?,
            None => false,
        };
        tx.commit().await?;
        Ok(Some(linked))
    }

    /// Every status change of every ticket, oldest first: (ticket, from,
    /// to, when). What `deskbell simulate` reports besides the messages.
    pub async fn status_changes(
        &self,
    ) -> Result<Vec<(TicketRef, Option<String>, String, chrono::DateTime<chrono::Utc>)>> {
        let rows = sqlx::query("SELECT ticket, from_value, to_value, at FROM audits WHERE what = $1 ORDER BY id")
            .bind(<&str>::from(AuditField::Status))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let ticket: String = r.try_get("ticket")?;
                let ticket = TicketRef::parse(&ticket).map_err(|e| StoreError::Invalid(e.to_string()))?;
                let to: Option<String> = r.try_get("to_value")?;
                Ok((ticket, r.try_get("from_value")?, to.unwrap_or_default(), from_ms(r.try_get("at")?)?))
            })
            .collect()
    }
}
