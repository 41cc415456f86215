//! The daily KPIs of `004_*`, counted over one day: service tickets closed
//! within their SLA, carried over, pending and breached, and onsite
//! (refresh) appointments completed and rescheduled, and the transactions
//! recorded.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::rows::ms;
use super::{Result, Store};
use crate::domain::AuditField;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kpis {
    /// Resolved or closed in the day…
    pub closed: i64,
    /// …of which the client was answered by the target.
    pub closed_within_sla: i64,
    /// Open at the end of the day and opened before it.
    pub carried_over: i64,
    /// Open at the end of the day.
    pub pending: i64,
    /// Client-response targets that fell due in the day unmet.
    pub breaches: i64,
    pub onsite_completed: i64,
    pub onsite_rescheduled: i64,
    /// Transactions recorded in the day (`002_*`): closed tickets' work
    /// and completed refreshes.
    pub transactions: i64,
}

impl Store {
    /// The KPIs of the day `from..to`.
    pub async fn kpis(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Kpis> {
        let audited = |what: AuditField, sql: &'static str| {
            let pool = self.pool.clone();
            async move {
                let query = sqlx::query(sql).bind(ms(from)).bind(ms(to)).bind(<&str>::from(what));
                let row = query.fetch_one(&pool).await?;
                Ok::<i64, super::StoreError>(row.try_get("n")?)
            }
        };
        let count = |sql: &'static str, binds: Vec<i64>| {
            let pool = self.pool.clone();
            async move {
                let query = binds.into_iter().fold(sqlx::query(sql), |q, b| q.bind(b));
                let row = query.fetch_one(&pool).await?;
                Ok::<i64, super::StoreError>(row.try_get("n")?)
            }
        };
        let day = || vec![ms(from), ms(to)];
        Ok(Kpis {
            closed: count(
                "SELECT COUNT(*) AS n FROM service_tickets WHERE status IN ('resolved', 'closed')
                 AND status_since >= $1 AND status_since < $2",
                day(),
            )
            .await?,
            closed_within_sla: count(
                "SELECT COUNT(*) AS n FROM service_tickets WHERE status IN ('resolved', 'closed')
                 AND status_since >= $1 AND status_since < $2 AND responded_at <= response_due_at",
                day(),
            )
            .await?,
            carried_over: count(
                "SELECT COUNT(*) AS n FROM service_tickets WHERE status NOT IN ('resolved', 'closed')
                 AND created_at < $1",
                vec![ms(from)],
            )
            .await?,
            pending: count(
                "SELECT COUNT(*) AS n FROM service_tickets WHERE status NOT IN ('resolved', 'closed')
                 AND created_at < $1",
                vec![ms(to)],
            )
            .await?,
            breaches: count(
                "SELECT COUNT(*) AS n FROM service_tickets WHERE response_due_at >= $1 AND response_due_at < $2
                 AND (responded_at IS NULL OR responded_at > response_due_at)",
                day(),
            )
            .await?,
            onsite_completed: audited(
                AuditField::Status,
                "SELECT COUNT(*) AS n FROM audits WHERE ticket LIKE 'R-%' AND what = $3
                 AND to_value = 'complete' AND at >= $1 AND at < $2",
            )
            .await?,
            onsite_rescheduled: audited(
                AuditField::Slot,
                "SELECT COUNT(*) AS n FROM audits WHERE ticket LIKE 'R-%' AND what = $3
                 AND from_value IS NOT NULL AND to_value IS NOT NULL AND at >= $1 AND at < $2",
            )
            .await?,
            transactions: count("SELECT COUNT(*) AS n FROM transactions WHERE at >= $1 AND at < $2", day()).await?,
        })
    }
}
