//! Service tickets in the database, saved the same optimistic way as refresh
//! tickets through [`commit_change`].

use chrono::{DateTime, Utc};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use super::commit::{Change, Routing, commit_change};
use super::refresh::{Versioned, json_col, team_calendar};
use super::rows::{flag, from_ms, ms, opt_from_ms};
use super::{Result, Store, StoreError, parse_col};
use crate::domain::service::{NewServiceTicket, ServiceCtx, ServiceTicket};
use crate::domain::{Actor, Effect, PersonId, ServiceTicketId, TeamId};

fn service_from_row(row: &AnyRow) -> Result<Versioned<ServiceTicket>> {
    let held_from: Option<String> = row.try_get("held_from")?;
    let value = ServiceTicket {
        id: ServiceTicketId(row.try_get("id")?),
        kind: parse_col("kind", &row.try_get::<String, _>("kind")?)?,
        priority: parse_col("priority", &row.try_get::<String, _>("priority")?)?,
        vip: flag(row, "vip")?,
        issue_type: row.try_get("issue_type")?,
        subtype: row.try_get("subtype")?,
        summary: row.try_get("summary")?,
        contact: PersonId(row.try_get("contact_id")?),
        team: TeamId(row.try_get("team_id")?),
        assignee: row.try_get::<Option<i64>, _>("assignee_id")?.map(PersonId),
        tier: u8::try_from(row.try_get::<i64, _>("tier")?).unwrap_or(u8::MAX),
        status: parse_col("status", &row.try_get::<String, _>("status")?)?,
        held_from: held_from.map(|s| parse_col("status", &s)).transpose()?,
        acknowledged_at: opt_from_ms(row.try_get("acknowledged_at")?)?,
        epoch: u32::try_from(row.try_get::<i64, _>("epoch")?).unwrap_or(u32::MAX),
        status_since: from_ms(row.try_get("status_since")?)?,
        created_at: from_ms(row.try_get("created_at")?)?,
        response_due_at: opt_from_ms(row.try_get("response_due_at")?)?,
        responded_at: opt_from_ms(row.try_get("responded_at")?)?,
        agency: row.try_get("agency")?,
        request: json_col(row, "request")?,
    };
    Ok(Versioned { value, version: row.try_get("version")?, team: team_calendar(row)? })
}

fn update_row(t: &ServiceTicket, expected: i64, now: DateTime<Utc>) -> Query<'static, Any, AnyArguments> {
    sqlx::query(
        "UPDATE service_tickets SET kind = $2, priority = $3, vip = $4, issue_type = $5, subtype = $6, summary = $7,
            contact_id = $8, team_id = $9, assignee_id = $10, tier = $11, status = $12, held_from = $13,
            acknowledged_at = $14, epoch = $15, status_since = $16, updated_at = $17, version = version + 1,
            response_due_at = $19, responded_at = $20, agency = $21, request = $22
         WHERE id = $1 AND version = $18",
    )
    .bind(t.id.0)
    .bind(<&str>::from(t.kind))
    .bind(<&str>::from(t.priority))
    .bind(t.vip)
    .bind(t.issue_type.clone())
    .bind(t.subtype.clone())
    .bind(t.summary.clone())
    .bind(t.contact.0)
    .bind(t.team.0)
    .bind(t.assignee.map(|p| p.0))
    .bind(i64::from(t.tier))
    .bind(<&str>::from(t.status))
    .bind(t.held_from.map(<&str>::from))
    .bind(t.acknowledged_at.map(ms))
    .bind(i64::from(t.epoch))
    .bind(ms(t.status_since))
    .bind(ms(now))
    .bind(expected)
    .bind(t.response_due_at.map(ms))
    .bind(t.responded_at.map(ms))
    .bind(t.agency.clone())
    .bind(t.request.as_ref().map(|r| serde_json::to_string(r).expect("requests serialize")))
}

impl Store {
    pub async fn create_service(
        &self,
        new: NewServiceTicket,
        actor: &Actor,
        ctx: &ServiceCtx<'_>,
        routing: &Routing,
    ) -> Result<ServiceTicket> {
        new.check()?;
        let now = ctx.now;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO service_tickets (kind, priority, vip, issue_type, subtype, summary, contact_id, team_id, tier,
                status, epoch, status_since, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, 'new', 0, $9, $9, $9) RETURNING id",
        )
        .bind(<&str>::from(new.kind))
        .bind(<&str>::from(new.priority))
        .bind(new.vip)
        .bind(new.issue_type.clone())
        .bind(new.subtype.clone())
        .bind(new.summary.clone())
        .bind(new.contact.0)
        .bind(new.team.0)
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await?;
        let id = ServiceTicketId(row.try_get("id")?);
        let (ticket, effects) = ServiceTicket::create(id, new, ctx)?;
        commit_change(
            &mut tx,
            update_row(&ticket, 0, now),
            &Change { ticket: id.into(), seq: 1, actor, now, routing, calendar: None },
            &effects,
        )
        .await?;
        tx.commit().await?;
        Ok(ticket)
    }

    pub async fn load_service(&self, id: ServiceTicketId) -> Result<Versioned<ServiceTicket>> {
        let row = sqlx::query(
            "SELECT t.*, tm.name AS team_name, tm.calendar AS team_calendar
             FROM service_tickets t JOIN teams tm ON tm.id = t.team_id WHERE t.id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("S-{id}")))?;
        service_from_row(&row)
    }

    /// Saves a computed transition; [`StoreError::Conflict`] if another writer won.
    pub async fn save_service(
        &self,
        m: &ServiceMove,
        actor: &Actor,
        now: DateTime<Utc>,
        routing: &Routing,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        save_service_in(&mut tx, m, actor, now, routing).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A service ticket's transition, computed and not yet saved.
#[derive(Debug, Clone)]
pub struct ServiceMove {
    pub current: Versioned<ServiceTicket>,
    pub next: ServiceTicket,
    pub effects: Vec<Effect>,
}

/// Saves a transition in the caller's transaction, if the ticket is still
/// at the version it was read at.
pub(super) async fn save_service_in(
    conn: &mut sqlx::AnyConnection,
    m: &ServiceMove,
    actor: &Actor,
    now: DateTime<Utc>,
    routing: &Routing,
) -> Result<()> {
    let version = m.current.version;
    let change = Change { ticket: m.next.id.into(), seq: version + 1, actor, now, routing, calendar: None };
    commit_change(conn, update_row(&m.next, version, now), &change, &m.effects).await
}
