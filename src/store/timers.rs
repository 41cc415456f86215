//! Pending timers: the cadence and escalation steps waiting for their time.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::rows::{from_ms, ms};
use super::{Result, Store, StoreError, parse_col};
use crate::domain::{TicketRef, TimerKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueTimer {
    pub ticket: TicketRef,
    pub kind: TimerKind,
    pub step: u16,
    pub due_at: DateTime<Utc>,
    pub paused: bool,
}

impl Store {
    /// Unpaused timers due at `now`, oldest first; reads only due rows.
    pub async fn due_timers(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<DueTimer>> {
        let rows = sqlx::query(
            "SELECT ticket, kind, step, due_at, paused_at FROM timers
             WHERE due_at <= $1 AND paused_at IS NULL ORDER BY due_at, id LIMIT $2",
        )
        .bind(ms(now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(timer_from_row).collect()
    }

    /// Every timer of one ticket, paused or not, in due order.
    pub async fn timers_of(&self, ticket: TicketRef) -> Result<Vec<DueTimer>> {
        let rows = sqlx::query(
            "SELECT ticket, kind, step, due_at, paused_at FROM timers WHERE ticket = $1 ORDER BY due_at, id",
        )
        .bind(ticket.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(timer_from_row).collect()
    }
}

fn timer_from_row(row: &sqlx::any::AnyRow) -> Result<DueTimer> {
    let ticket: String = row.try_get("ticket")?;
    Ok(DueTimer {
        ticket: TicketRef::parse(&ticket).map_err(|e| StoreError::Invalid(e.to_string()))?,
        kind: parse_col("timer kind", &row.try_get::<String, _>("kind")?)?,
        step: u16::try_from(row.try_get::<i64, _>("step")?).unwrap_or(u16::MAX),
        due_at: from_ms(row.try_get("due_at")?)?,
        paused: row.try_get::<Option<i64>, _>("paused_at")?.is_some(),
    })
}
