//! What happened to a ticket: its audits and the messages queued for it.

use sqlx::Row;

use super::rows::from_ms;
use super::{Result, Store};
use crate::domain::TicketRef;

/// One audit row as shown to people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub actor: String,
    pub what: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// One queued or sent message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub dedupe_key: String,
    pub channel: String,
    pub recipient: String,
    pub template: String,
    pub status: String,
    pub not_before: chrono::DateTime<chrono::Utc>,
}

impl Store {
    pub async fn audits(&self, ticket: TicketRef) -> Result<Vec<AuditRow>> {
        let rows = sqlx::query("SELECT actor, what, from_value, to_value, at FROM audits WHERE ticket = $1 ORDER BY id")
            .bind(ticket.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditRow {
                    actor: r.try_get("actor")?,
                    what: r.try_get("what")?,
                    from: r.try_get("from_value")?,
                    to: r.try_get("to_value")?,
                    at: from_ms(r.try_get("at")?)?,
                })
            })
            .collect()
    }

    pub async fn outbox_of(&self, ticket: TicketRef) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query(
            "SELECT dedupe_key, channel, recipient, template, status, not_before FROM outbox WHERE ticket = $1 ORDER BY id",
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
                })
            })
            .collect()
    }
}
