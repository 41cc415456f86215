//! Refresh tickets in the database: rows read with their version, and
//! transitions saved only if nobody else saved in between
//! ([`Store::save_refresh_all`]). The one caller that computes the
//! transitions is [`crate::workflow::Workflow`].

use chrono::{DateTime, Utc};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};

use super::commit::{Change, Routing, commit_change};
use super::rows::{flag, from_ms, ms, opt_from_ms};
use super::{Result, Store, StoreError, parse_col};
use crate::calendar::BusinessCalendar;
use crate::domain::refresh::{Ctx, NewRefreshTicket, RefreshStatus, RefreshTicket, System};
use crate::domain::{Actor, ConfigId, Effect, PersonId, RefreshTicketId, SlotId, TeamId};

/// One ticket's transition to save: from `current` to `next` with its
/// effects; `calendar` is the team's, for timers released from hold.
pub struct RefreshChange<'a> {
    pub current: &'a Versioned<RefreshTicket>,
    pub next: &'a RefreshTicket,
    pub effects: &'a [Effect],
    pub calendar: Option<&'a BusinessCalendar>,
}

/// One approver's Friday digest: their open tickets; mail hours follow
/// the calendar of the first ticket's team.
#[derive(Debug, Clone)]
pub struct ApproverDigest {
    pub approver: PersonId,
    pub email: String,
    pub name: String,
    pub calendar: String,
    pub tickets: Vec<serde_json::Value>,
}

/// A ticket as read, with the row version a save must still find and its
/// team's calendar (read in the same query: every change needs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: i64,
    pub team: TeamCalendar,
}

/// A team's name and the name of its business calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamCalendar {
    pub name: String,
    pub calendar: String,
}

/// Read from `tm.name AS team_name, tm.calendar AS team_calendar`.
pub(super) fn team_calendar(row: &AnyRow) -> Result<TeamCalendar> {
    Ok(TeamCalendar { name: row.try_get("team_name")?, calendar: row.try_get("team_calendar")? })
}

fn refresh_from_row(row: &AnyRow) -> Result<Versioned<RefreshTicket>> {
    let replacement = match row.try_get::<Option<String>, _>("replacement_serial")? {
        Some(serial) => Some(System {
            serial,
            model: row.try_get("replacement_model")?,
            platform: parse_col("platform", &row.try_get::<String, _>("replacement_platform")?)?,
        }),
        None => None,
    };
    let held_from: Option<String> = row.try_get("held_from")?;
    let value = RefreshTicket {
        id: RefreshTicketId(row.try_get("id")?),
        status: parse_col("status", &row.try_get::<String, _>("status")?)?,
        held_from: held_from.map(|s| parse_col("status", &s)).transpose()?,
        style: parse_col("style", &row.try_get::<String, _>("style")?)?,
        customer: row.try_get::<Option<i64>, _>("customer_id")?.map(PersonId),
        delegate: row.try_get::<Option<i64>, _>("delegate_id")?.map(PersonId),
        no_customer: flag(row, "no_customer")?,
        bump_down: flag(row, "bump_down")?,
        team: TeamId(row.try_get("team_id")?),
        config: ConfigId(row.try_get("config_id")?),
        existing: System {
            serial: row.try_get("existing_serial")?,
            model: row.try_get("existing_model")?,
            platform: parse_col("platform", &row.try_get::<String, _>("existing_platform")?)?,
        },
        replacement,
        tracking_number: row.try_get("tracking_number")?,
        location: row.try_get("location")?,
        shipping_address: row.try_get("shipping_address")?,
        answers: json_col(row, "wizard_answers")?,
        approval: json_col(row, "approval")?,
        slot: row.try_get::<Option<i64>, _>("slot_id")?.map(SlotId),
        appointment_at: opt_from_ms(row.try_get("appointment_at")?)?,
        itsm_request: row.try_get("itsm_request")?,
        reschedules: u32::try_from(row.try_get::<i64, _>("reschedules")?).unwrap_or(u32::MAX),
        created_at: from_ms(row.try_get("created_at")?)?,
    };
    Ok(Versioned { value, version: row.try_get("version")?, team: team_calendar(row)? })
}

/// A nullable JSON column as its value.
pub(super) fn json_col<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> Result<Option<T>> {
    let text: Option<String> = row.try_get(col)?;
    text.map(|json| serde_json::from_str(&json).map_err(|e| StoreError::Invalid(format!("{col}: {e}")))).transpose()
}

/// The whole row, saved only if it still has version `expected`.
fn update_row(t: &RefreshTicket, expected: i64, now: DateTime<Utc>) -> Query<'static, Any, AnyArguments> {
    let replacement = t.replacement.as_ref();
    sqlx::query(
        "UPDATE refresh_tickets SET status = $2, held_from = $3, style = $4, customer_id = $5, delegate_id = $6,
            no_customer = $7, bump_down = $8, team_id = $9, config_id = $10, existing_serial = $11,
            existing_model = $12, existing_platform = $13, replacement_serial = $14, replacement_model = $15,
            replacement_platform = $16, tracking_number = $17, location = $18, shipping_address = $19,
            slot_id = $20, appointment_at = $21, itsm_request = $22, reschedules = $23, updated_at = $24,
            wizard_answers = $26, approval = $27, version = version + 1
         WHERE id = $1 AND version = $25",
    )
    .bind(t.id.0)
    .bind(<&str>::from(t.status))
    .bind(t.held_from.map(<&str>::from))
    .bind(<&str>::from(t.style))
    .bind(t.customer.map(|p| p.0))
    .bind(t.delegate.map(|p| p.0))
    .bind(t.no_customer)
    .bind(t.bump_down)
    .bind(t.team.0)
    .bind(t.config.0)
    .bind(t.existing.serial.clone())
    .bind(t.existing.model.clone())
    .bind(<&str>::from(t.existing.platform))
    .bind(replacement.map(|r| r.serial.clone()))
    .bind(replacement.and_then(|r| r.model.clone()))
    .bind(replacement.map(|r| <&str>::from(r.platform)))
    .bind(t.tracking_number.clone())
    .bind(t.location.clone())
    .bind(t.shipping_address.clone())
    .bind(t.slot.map(|s| s.0))
    .bind(t.appointment_at.map(ms))
    .bind(t.itsm_request.clone())
    .bind(i64::from(t.reschedules))
    .bind(ms(now))
    .bind(expected)
    .bind(t.answers.as_ref().map(|a| serde_json::to_string(a).expect("answers serialize")))
    .bind(t.approval.as_ref().map(|a| serde_json::to_string(a).expect("approvals serialize")))
}

async fn create_in(
    conn: &mut AnyConnection,
    new: NewRefreshTicket,
    actor: &Actor,
    ctx: &Ctx<'_>,
    routing: &Routing,
) -> Result<RefreshTicket> {
    new.check()?;
    let serial = new.existing.serial.clone();
    let row = sqlx::query(
        "INSERT INTO refresh_tickets (status, style, no_customer, bump_down, team_id, config_id, existing_serial,
            existing_platform, created_at, updated_at, location)
         VALUES ('pending_wizard', $1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING id",
    )
    .bind(<&str>::from(new.style))
    .bind(new.no_customer)
    .bind(new.replacement.is_some())
    .bind(new.team.0)
    .bind(new.config.0)
    .bind(serial.clone())
    .bind(<&str>::from(new.existing.platform))
    .bind(ms(ctx.now))
    .bind(new.location.clone())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Invalid(format!("an open refresh ticket already exists for serial {serial}"))
        }
        _ => e.into(),
    })?;
    let id = RefreshTicketId(row.try_get("id")?);
    let (ticket, effects) = RefreshTicket::create(id, new, ctx)?;
    commit_change(
        conn,
        update_row(&ticket, 0, ctx.now),
        &Change { ticket: id.into(), seq: 1, actor, now: ctx.now, routing, calendar: Some(ctx.calendar) },
        &effects,
    )
    .await?;
    Ok(ticket)
}

impl Store {
    /// Creates all tickets in one transaction: a batch is applied whole or
    /// not at all. The error names the (0-based) item that failed.
    pub async fn create_refresh_batch(
        &self,
        items: Vec<(NewRefreshTicket, Ctx<'_>)>,
        actor: &Actor,
        routing: &Routing,
    ) -> Result<Vec<RefreshTicket>, (usize, StoreError)> {
        let mut tx = self.pool.begin().await.map_err(|e| (0, e.into()))?;
        let mut created = Vec::with_capacity(items.len());
        for (i, (new, ctx)) in items.into_iter().enumerate() {
            created.push(create_in(&mut tx, new, actor, &ctx, routing).await.map_err(|e| (i, e))?);
        }
        tx.commit().await.map_err(|e| (created.len(), e.into()))?;
        Ok(created)
    }

    /// The open (not complete or cancelled) ticket of an existing system.
    pub async fn open_refresh_by_serial(&self, serial: &str) -> Result<Option<RefreshTicketId>> {
        let row = sqlx::query(
            "SELECT id FROM refresh_tickets WHERE existing_serial = $1 AND status NOT IN ('complete', 'cancelled')",
        )
        .bind(serial)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("id").map(RefreshTicketId)).transpose()?)
    }

    /// Tickets in a status with their teams, oldest first (for the jobs that
    /// move tickets along: slot discovery, the daily TDX check).
    pub async fn refresh_in_status(&self, status: RefreshStatus) -> Result<Vec<(RefreshTicketId, TeamId)>> {
        let rows = sqlx::query("SELECT id, team_id FROM refresh_tickets WHERE status = $1 ORDER BY id")
            .bind(<&str>::from(status))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((RefreshTicketId(r.try_get("id")?), TeamId(r.try_get("team_id")?)))).collect()
    }

    /// Every approver with the open tickets of the configs they approve, for
    /// the Friday digest.
    pub async fn approver_digests(&self) -> Result<Vec<ApproverDigest>> {
        let rows = sqlx::query(
            "SELECT a.person_id, ap.email, ap.name AS approver, t.id, t.status, c.name AS customer,
                COALESCE(t.replacement_model, t.existing_model, t.existing_serial) AS model, tm.calendar,
                t.wizard_answers
             FROM active_approvers a
             JOIN people ap ON ap.id = a.person_id
             JOIN refresh_tickets t ON t.config_id = a.config_id
             JOIN teams tm ON tm.id = t.team_id
             LEFT JOIN people c ON c.id = t.customer_id
             WHERE t.status NOT IN ('complete', 'cancelled')
             ORDER BY a.person_id, t.id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut digests: Vec<ApproverDigest> = Vec::new();
        for r in &rows {
            let approver = PersonId(r.try_get("person_id")?);
            let line = serde_json::json!({
                "ref": format!("R-{}", r.try_get::<i64, _>("id")?),
                "status": r.try_get::<String, _>("status")?,
                "customer": r.try_get::<Option<String>, _>("customer")?.unwrap_or_else(|| "no customer".into()),
                "model": r.try_get::<String, _>("model")?,
                "asked": super::context::asked(r.try_get("wizard_answers")?)?,
            });
            match digests.last_mut() {
                Some(d) if d.approver == approver => d.tickets.push(line),
                _ => digests.push(ApproverDigest {
                    approver,
                    email: r.try_get("email")?,
                    name: r.try_get("approver")?,
                    calendar: r.try_get("calendar")?,
                    tickets: vec![line],
                }),
            }
        }
        Ok(digests)
    }

    /// Refresh tickets whose existing serial or customer email is `query`,
    /// or else whose customer's name contains it (any case), newest first.
    /// Serial and email are index lookups; only a name scans the people.
    pub async fn find_refresh(&self, query: &str, limit: i64) -> Result<Vec<(RefreshTicketId, String)>> {
        let query = query.trim();
        let by_key = sqlx::query(
            "SELECT t.id AS id, COALESCE(c.name, 'no customer') AS who FROM refresh_tickets t
             LEFT JOIN people c ON c.id = t.customer_id
             WHERE t.existing_serial = $1
             UNION
             SELECT t.id AS id, c.name AS who FROM people c JOIN refresh_tickets t ON t.customer_id = c.id
             WHERE c.email = LOWER($1)
             ORDER BY id DESC LIMIT $2",
        )
        .bind(query)
        .bind(limit);
        let mut rows = by_key.fetch_all(&self.pool).await?;
        if rows.is_empty() && !query.contains('@') {
            // The people whose name contains the pattern in any case (a scan
            // of names only), then their tickets by the customer index.
            let pattern = format!("%{}%", query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            rows = sqlx::query(
                "SELECT t.id AS id, c.name AS who FROM people c
                 JOIN refresh_tickets t ON t.customer_id = c.id
                 WHERE c.id IN (SELECT id FROM people WHERE LOWER(name) LIKE LOWER($1) ESCAPE '\\'
                                ORDER BY id DESC LIMIT $2)
                 ORDER BY t.id DESC LIMIT $2",
            )
            .bind(pattern)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        }
        rows.iter().map(|r| Ok((RefreshTicketId(r.try_get("id")?), r.try_get("who")?))).collect()
    }

    /// How many refresh tickets exist at all.
    pub async fn refresh_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM refresh_tickets").fetch_one(&self.pool).await?.try_get("n")?)
    }

    pub async fn load_refresh(&self, id: RefreshTicketId) -> Result<Versioned<RefreshTicket>> {
        let row = sqlx::query(
            "SELECT t.*, tm.name AS team_name, tm.calendar AS team_calendar
             FROM refresh_tickets t JOIN teams tm ON tm.id = t.team_id WHERE t.id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("R-{id}")))?;
        refresh_from_row(&row)
    }

    /// Saves every change in one transaction, all or none (bulk operations);
    /// the error names the (0-based) change that failed.
    pub async fn save_refresh_all(
        &self,
        changes: &[RefreshChange<'_>],
        actor: &Actor,
        now: DateTime<Utc>,
        routing: &Routing,
    ) -> Result<(), (usize, StoreError)> {
        let mut tx = self.pool.begin().await.map_err(|e| (0, e.into()))?;
        for (i, c) in changes.iter().enumerate() {
            let update = update_row(c.next, c.current.version, now);
            let seq = c.current.version + 1;
            let change = Change { ticket: c.next.id.into(), seq, actor, now, routing, calendar: c.calendar };
            commit_change(&mut tx, update, &change, c.effects).await.map_err(|e| (i, e))?;
        }
        tx.commit().await.map_err(|e| (changes.len(), e.into()))?;
        Ok(())
    }
}
