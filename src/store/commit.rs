//! The one way a ticket changes: its new row, the audits, the outbox rows and
//! the timers of the transition are written in the caller's transaction, so
//! they commit together or not at all (DESIGN rule 3).

use chrono::{DateTime, Utc};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};

use serde_json::json;

use super::context::ticket_context;
use super::directory::person_from_row;
use super::outbox::{NewMessage, insert_message};
use super::rows::{from_ms, ms};
use super::{Result, StoreError};
use crate::calendar::BusinessCalendar;
use crate::domain::{Actor, Address, Effect, Email, Notification, Recipient, SlackChannelId, TicketRef};

/// Addresses that come from configuration rather than the directory.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    pub mac_engineering: Option<Email>,
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
    let mut snapshot = None;
    for effect in effects {
        match effect {
            Effect::Audit(audit) => {
                sqlx::query(
                    "INSERT INTO audits (ticket, actor, what, from_value, to_value, at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&ticket_s)
                .bind(actor.to_string())
                .bind(&audit.what)
                .bind(audit.from.clone())
                .bind(audit.to.clone())
                .bind(ms(now))
                .execute(&mut *conn)
                .await?;
            }
            Effect::Notify(n) => {
                if snapshot.is_none() {
                    snapshot = Some(ticket_context(conn, ticket).await?);
                }
                for (key, address, name) in resolve(conn, n, routing).await? {
                    let (channel, to) = match address {
                        Address::Email(e) => ("email", e.to_string()),
                        Address::SlackUser(u) => ("slack", u.to_string()),
                        Address::SlackChannel(c) => ("slack", c.to_string()),
                    };
                    let payload = json!({ "ticket": snapshot, "recipient": { "name": name } }).to_string();
                    let template = n.template.into();
                    let m = NewMessage {
                        dedupe_key: &key,
                        ticket: Some(ticket),
                        channel,
                        recipient: &to,
                        template,
                        payload: &payload,
                    };
                    insert_message(conn, &m, now).await?;
                }
            }
            Effect::Itsm(request) => {
                // One ITSM call of a kind per transition: the ticket version keys it.
                let key = format!("{ticket_s}/tdx/{}/{seq}", request.name());
                let payload = serde_json::to_string(request).expect("ITSM requests serialize");
                let m = NewMessage {
                    dedupe_key: &key,
                    ticket: Some(ticket),
                    channel: "tdx",
                    recipient: "tdx",
                    template: request.name(),
                    payload: &payload,
                };
                insert_message(conn, &m, now).await?;
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

/// Turns a recipient into (dedupe key, address, name) triples. Groups fan out with
/// the person id in the key, so each member gets exactly one message. A group
/// with nobody in it is an error: a message nobody receives is a silent miss.
async fn resolve(
    conn: &mut AnyConnection,
    n: &Notification,
    routing: &Routing,
) -> Result<Vec<(String, Address, String)>> {
    let single = |address, name: String| Ok(vec![(n.dedupe_key.clone(), address, name)]);
    let group = |rows: Vec<sqlx::any::AnyRow>, what: String| -> Result<Vec<(String, Address, String)>> {
        if rows.is_empty() {
            return Err(StoreError::Invalid(format!("{what}: nobody to send {} to", n.template)));
        }
        rows.iter()
            .map(|r| person_from_row(r).map(|p| (format!("{}/{}", n.dedupe_key, p.id), p.address(false), p.name)))
            .collect()
    };
    match &n.to {
        Recipient::Customer(id) | Recipient::Staff(id) => {
            let sql = "SELECT p.id, p.name, p.email, p.slack_user, p.roles FROM people p WHERE p.id = $1";
            let row = sqlx::query(sql).bind(id.0).fetch_optional(&mut *conn).await?;
            let person = person_from_row(&row.ok_or_else(|| StoreError::NotFound(format!("person {id}")))?)?;
            let address = person.address(matches!(n.to, Recipient::Customer(_)));
            single(address, person.name)
        }
        Recipient::Approvers(config) => {
            let rows = sqlx::query(
                "SELECT p.id, p.name, p.email, p.slack_user, p.roles FROM config_approvers a
                 JOIN people p ON p.id = a.person_id WHERE a.config_id = $1 ORDER BY p.id",
            )
            .bind(config.0)
            .fetch_all(&mut *conn)
            .await?;
            group(rows, format!("refresh config {config} has no approvers"))
        }
        Recipient::Role(role) => {
            let rows = sqlx::query(
                "SELECT p.id, p.name, p.email, p.slack_user, p.roles FROM people p
                 WHERE ',' || p.roles || ',' LIKE '%,' || $1 || ',%' ORDER BY p.id",
            )
            .bind(<&str>::from(*role))
            .fetch_all(&mut *conn)
            .await?;
            group(rows, format!("no person has the role {role}"))
        }
        Recipient::TeamChannel(team) => {
            let row = sqlx::query("SELECT name, slack_channel FROM teams WHERE id = $1")
                .bind(team.0)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("team {team}")))?;
            let channel: String = row.try_get("slack_channel")?;
            let channel = SlackChannelId::parse(&channel).map_err(|e| StoreError::Invalid(e.to_string()))?;
            single(Address::SlackChannel(channel), row.try_get("name")?)
        }
        Recipient::MacEngineering => match &routing.mac_engineering {
            Some(email) => single(Address::Email(email.clone()), "Mac engineering".into()),
            None => Err(StoreError::Invalid("[refresh] mac_engineering_email is not configured".into())),
        },
    }
}
