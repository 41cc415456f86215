//! The one way a ticket changes: its new row, the audits, the outbox rows and
//! the timers of the transition are written in the caller's transaction, so
//! they commit together or not at all (DESIGN rule 3).

use chrono::{DateTime, Utc};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};

use serde_json::json;

use super::context::{change_context, free_slots, ticket_context};
use super::outbox::{NewMessage, insert_message};
use super::recipients::resolve;
use super::rows::{from_ms, ms};
use super::{Result, StoreError};
use crate::calendar::BusinessCalendar;
use crate::domain::{Actor, Channel, Content, Effect, Email, Recipient, Template, TicketRef};
use crate::mail_hours::MailHours;

/// What configuration adds to the directory in addressing a message: the
/// addresses of other teams, and the hours mail to customers and approvers
/// may leave in (none: at once).
#[derive(Debug, Clone, Default)]
pub struct Routing {
    pub mac_engineering: Option<Email>,
    /// The asset team's channel: told of service requests made and closed.
    pub asset_channel: Option<crate::domain::SlackChannelId>,
    pub mail_hours: Option<MailHours>,
}

impl Routing {
    /// When a message held to `hours` (a calendar's name) and due `at` may leave.
    pub fn release(&self, hours: Option<&str>, at: DateTime<Utc>) -> DateTime<Utc> {
        match (&self.mail_hours, hours) {
            (Some(h), Some(calendar)) => h.release(calendar, at),
            _ => at,
        }
    }
}

/// Who changed which ticket when; `seq` is the ticket's new row version.
/// With the ticket's business calendar, a release from hold gives each step
/// its remaining business days; without one, the time spent on hold.
pub(super) struct Change<'a> {
    pub ticket: TicketRef,
    pub seq: i64,
    pub actor: &'a Actor,
    pub now: DateTime<Utc>,
    pub routing: &'a Routing,
    pub calendar: Option<&'a BusinessCalendar>,
}

/// One line of a ticket's trail: who changed what, when.
pub(super) async fn insert_audit(
    conn: &mut AnyConnection,
    ticket: TicketRef,
    actor: &Actor,
    change: &crate::domain::Change,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO audits (ticket, actor, what, from_value, to_value, at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(ticket.to_string())
        .bind(actor.to_string())
        .bind(<&str>::from(change.what))
        .bind(change.from.clone())
        .bind(change.to.clone())
        .bind(ms(at))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Runs the optimistic update of the ticket row (`… WHERE version = $n`),
/// then writes the effects. Zero rows updated means another writer won.
pub(super) async fn commit_change(
    conn: &mut AnyConnection,
    update: Query<'_, Any, AnyArguments>,
    change: &Change<'_>,
    effects: &[Effect],
) -> Result<()> {
    let Change { ticket, seq, actor, now, routing, calendar } = *change;
    if update.execute(&mut *conn).await?.rows_affected() == 0 {
        return Err(StoreError::Conflict { ticket });
    }
    let ticket_s = ticket.to_string();
    super::home::republish(conn, ticket, now).await?;
    let mut snapshot = None;
    for effect in effects {
        match effect {
            Effect::Audit(audit) => insert_audit(conn, ticket, actor, audit, now).await?,
            Effect::Notify(n) => {
                if snapshot.is_none() {
                    snapshot =
                        Some((ticket_context(conn, ticket).await?, change_context(conn, actor, now, effects).await?));
                }
                let (ticket_ctx, change_ctx) = snapshot.as_ref().expect("set above");
                let held = matches!(n.to, Recipient::Customer(_) | Recipient::Approver(_));
                let calendar = ticket_ctx["team"]["calendar"].as_str().filter(|_| held);
                for t in resolve(conn, ticket, n, routing).await? {
                    let mut payload = json!({ "ticket": ticket_ctx, "recipient": { "name": t.name, "id": t.person.map(|p| p.0) }, "change": change_ctx });
                    if let Some(step) = &n.step {
                        payload["step"] = json!(step);
                    }
                    if n.template == Template::SlotInvitation && t.channel == Channel::Slack {
                        payload["slots"] = free_slots(conn, ticket, now).await?;
                    }
                    let payload = payload.to_string();
                    let m = NewMessage {
                        dedupe_key: &t.key,
                        ticket: Some(ticket),
                        channel: t.channel,
                        recipient: &t.to,
                        content: n.template.into(),
                        payload: &payload,
                        hours: calendar.filter(|_| t.channel == Channel::Email),
                    };
                    insert_message(conn, &m, now, routing.release(m.hours, now)).await?;
                    if t.parked {
                        park(conn, &t.key).await?;
                    }
                }
            }
            Effect::Itsm(request) => {
                // One ITSM call of a kind per transition: the ticket version keys it.
                let key = format!("{ticket_s}/tdx/{}/{seq}", request.action());
                let payload = serde_json::to_string(request).expect("ITSM requests serialize");
                let m = NewMessage {
                    dedupe_key: &key,
                    ticket: Some(ticket),
                    channel: Channel::Tdx,
                    recipient: Channel::Tdx.into(),
                    content: Content::Itsm(request.action()),
                    payload: &payload,
                    hours: None,
                };
                insert_message(conn, &m, now, now).await?;
            }
            Effect::SetTimer(t) => {
                sqlx::query(
                    "INSERT INTO timers (ticket, kind, step, due_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (ticket, kind, step) DO UPDATE SET due_at = excluded.due_at, paused_at = NULL",
                )
                .bind(&ticket_s)
                .bind(<&str>::from(t.kind))
                .bind(i64::from(t.step))
                .bind(ms(t.due_at))
                .execute(&mut *conn)
                .await?;
            }
            Effect::CancelTimers(kinds) => {
                for kind in kinds {
                    sqlx::query("DELETE FROM timers WHERE ticket = $1 AND kind = $2")
                        .bind(&ticket_s)
                        .bind(<&str>::from(*kind))
                        .execute(&mut *conn)
                        .await?;
                }
            }
            Effect::Book(slot) => {
                let booked = sqlx::query(
                    "UPDATE schedule_slots SET booked = booked + 1 WHERE id = $1 AND booked < capacity AND deleted_at IS NULL",
                )
                .bind(slot.0)
                .execute(&mut *conn)
                .await?;
                if booked.rows_affected() == 0 {
                    return Err(StoreError::SlotFull(*slot));
                }
            }
            Effect::Unbook(slot) => {
                sqlx::query("UPDATE schedule_slots SET booked = booked - 1 WHERE id = $1 AND booked > 0")
                    .bind(slot.0)
                    .execute(&mut *conn)
                    .await?;
            }
            Effect::TimerDone { kind, step } => {
                sqlx::query("DELETE FROM timers WHERE ticket = $1 AND kind = $2 AND step = $3")
                    .bind(&ticket_s)
                    .bind(<&str>::from(*kind))
                    .bind(i64::from(*step))
                    .execute(&mut *conn)
                    .await?;
            }
            Effect::PauseTimers => {
                sqlx::query("UPDATE timers SET paused_at = $2 WHERE ticket = $1 AND paused_at IS NULL")
                    .bind(&ticket_s)
                    .bind(ms(now))
                    .execute(&mut *conn)
                    .await?;
            }
            Effect::ResumeTimers if calendar.is_some() => {
                let cal = calendar.expect("checked by the guard");
                let paused =
                    sqlx::query("SELECT id, due_at, paused_at FROM timers WHERE ticket = $1 AND paused_at IS NOT NULL")
                        .bind(&ticket_s)
                        .fetch_all(&mut *conn)
                        .await?;
                for row in paused {
                    let (due, held) = (from_ms(row.try_get("due_at")?)?, from_ms(row.try_get("paused_at")?)?);
                    sqlx::query("UPDATE timers SET due_at = $2, paused_at = NULL WHERE id = $1")
                        .bind(row.try_get::<i64, _>("id")?)
                        .bind(ms(cal.resume_after_hold(held, due, now)))
                        .execute(&mut *conn)
                        .await?;
                }
            }
            Effect::Device(change) => {
                let today = calendar.map_or(now.date_naive(), |c| now.with_timezone(&c.tz).date_naive());
                super::devices::apply_change(conn, ticket, change, now, today).await?;
            }
            Effect::Transaction { kind, minutes, agency, device } => {
                let billed = (agency.as_deref(), device.as_deref());
                super::devices::record_transaction(conn, ticket, kind, *minutes, billed, now).await?;
            }
            Effect::ResumeTimers => {
                sqlx::query(
                    "UPDATE timers SET due_at = due_at + ($2 - paused_at), paused_at = NULL
                     WHERE ticket = $1 AND paused_at IS NOT NULL",
                )
                .bind(&ticket_s)
                .bind(ms(now))
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    Ok(())
}

/// Keeps a message as a record only: it is never claimed or sent.
async fn park(conn: &mut AnyConnection, key: &str) -> Result<()> {
    sqlx::query("UPDATE outbox SET status = 'parked' WHERE dedupe_key = $1").bind(key).execute(&mut *conn).await?;
    Ok(())
}
