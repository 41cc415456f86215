//! Pending timers: the cadence and escalation steps waiting for their time.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::leases::Holder;
use super::rows::{from_ms, ms};
use super::{Claim, Result, Store, StoreError, claim_sql, parse_col};

// Due, unpaused, and not leased by a live claim.
const CLAIM: Claim = claim_sql!(
    "UPDATE timers SET locked_until = $2, claimed_by = $4
    WHERE id IN (SELECT id FROM timers WHERE due_at <= $1 AND paused_at IS NULL
        AND (locked_until IS NULL OR locked_until <= $1) ORDER BY due_at, id LIMIT $3",
    ") RETURNING id, ticket, kind, step, due_at, paused_at"
);
use crate::domain::{TicketRef, TimerKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueTimer {
    pub id: i64,
    pub ticket: TicketRef,
    pub kind: TimerKind,
    pub step: u16,
    pub due_at: DateTime<Utc>,
    pub paused: bool,
}

impl Store {
    /// Claims up to `limit` due timers for `holder`, oldest first. The
    /// query touches only due rows (the `due_at` index), so a tick costs the
    /// same with a thousand open tickets or a million. On PostgreSQL,
    /// replicas skip each other's claims.
    pub async fn claim_due_timers(&self, now: DateTime<Utc>, holder: &Holder, limit: i64) -> Result<Vec<DueTimer>> {
        let rows = sqlx::query(CLAIM.sql(self.backend))
            .bind(ms(now))
            .bind(ms(holder.until(now)))
            .bind(limit)
            .bind(&*holder.id)
            .fetch_all(&self.pool)
            .await?;
        let mut timers = rows.iter().map(timer_from_row).collect::<Result<Vec<_>>>()?;
        timers.sort_by_key(|t| (t.due_at, t.id));
        Ok(timers)
    }

    /// Gives back the timers `holder` claimed and did not consume (their
    /// ticket was changed meanwhile, or the database failed): the next tick
    /// tries them again.
    pub async fn release_timers(&self, holder: &str) -> Result<()> {
        sqlx::query("UPDATE timers SET locked_until = NULL, claimed_by = NULL WHERE claimed_by = $1")
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// When the next unpaused timer is due: where a simulated clock jumps to.
    pub async fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>> {
        let row =
            sqlx::query("SELECT MIN(due_at) AS due FROM timers WHERE paused_at IS NULL").fetch_one(&self.pool).await?;
        row.try_get::<Option<i64>, _>("due")?.map(from_ms).transpose()
    }

    /// Removes a timer that can no longer fire (its ticket moved on).
    pub async fn drop_timer(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM timers WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Every timer of one ticket, paused or not, in due order.
    pub async fn timers_of(&self, ticket: TicketRef) -> Result<Vec<DueTimer>> {
        let rows = sqlx::query(
            "SELECT id, ticket, kind, step, due_at, paused_at FROM timers WHERE ticket = $1 ORDER BY due_at, id",
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
        id: row.try_get("id")?,
        ticket: TicketRef::parse(&ticket).map_err(|e| StoreError::Invalid(e.to_string()))?,
        kind: parse_col("timer kind", &row.try_get::<String, _>("kind")?)?,
        step: u16::try_from(row.try_get::<i64, _>("step")?).unwrap_or(u16::MAX),
        due_at: from_ms(row.try_get("due_at")?)?,
        paused: row.try_get::<Option<i64>, _>("paused_at")?.is_some(),
    })
}
