//! The snapshot a message is rendered from: the ticket as it is inside the
//! transaction that queues the message, with the names templates need.
//! Stored in the outbox row, so a retry hours later still says what was
//! true when the message was queued.

use serde_json::{Value, json};
use sqlx::{AnyConnection, Row};

use super::{Result, StoreError};
use crate::domain::refresh::{Approval, Via, WizardAnswers};
use crate::domain::service::request::ServiceRequest;
use crate::domain::{PersonId, TicketRef};

fn person(name: Option<String>, email: Option<String>) -> Value {
    match (name, email) {
        (Some(name), email) => json!({ "name": name, "email": email }),
        _ => Value::Null,
    }
}

/// What the customer answered on the refresh page, a line each (none yet: empty).
pub(super) fn asked(answers: Option<String>) -> Result<Vec<String>> {
    let Some(json) = answers else { return Ok(Vec::new()) };
    let answers: WizardAnswers =
        serde_json::from_str(&json).map_err(|e| StoreError::Invalid(format!("wizard_answers: {e}")))?;
    Ok(answers.summary())
}

/// A service request as its messages show it: each field on a line, and
/// an order's steps with who may decide the pending one.
fn request(json: Option<String>) -> Result<Value> {
    let Some(json) = json else { return Ok(Value::Null) };
    let r: ServiceRequest = serde_json::from_str(&json).map_err(|e| StoreError::Invalid(format!("request: {e}")))?;
    let fields: Vec<String> =
        r.fields.iter().map(|(name, value)| format!("{}: {value}", name.replace('_', " "))).collect();
    let pending = r.pending();
    Ok(json!({
        "kind": r.kind,
        "action": r.action,
        "label": r.kind.0.replace('_', " "),
        "fields": fields,
        "pending": pending.map(|s| s.step),
        "deciders": pending.map(|s| s.with.iter().map(|p| p.0).collect::<Vec<_>>()).unwrap_or_default(),
        "sanitized": r.sanitized.is_some(),
        "steps": r.approval.iter().map(|s| match &s.vote {
            Some(v) if v.approve => format!(":white_check_mark: {} approved", s.step),
            Some(_) => format!(":no_entry: {} denied", s.step),
            None => format!(":hourglass: {} awaited", s.step),
        }).collect::<Vec<_>>().join(" · "),
    }))
}

/// A ticket's approval with names: each approver's request (with whom,
/// why, what they decided and who decided it), who may decide now (ids,
/// so each reader's copy shows buttons only to them) and who is awaited.
async fn approval(conn: &mut AnyConnection, ticket: TicketRef, json: Option<String>) -> Result<Value> {
    let Some(json) = json else { return Ok(Value::Null) };
    let a: Approval = serde_json::from_str(&json).map_err(|e| StoreError::Invalid(format!("approval: {e}")))?;
    let mut names = std::collections::HashMap::new();
    for p in a.asks.iter().flat_map(|k| std::iter::once(k.approver).chain(k.with.iter().copied())) {
        if let std::collections::hash_map::Entry::Vacant(v) = names.entry(p) {
            let row = sqlx::query("SELECT name FROM people WHERE id = $1").bind(p.0).fetch_optional(&mut *conn).await?;
            v.insert(row.map(|r| r.try_get::<String, _>("name")).transpose()?.unwrap_or_else(|| p.to_string()));
        }
    }
    let name = |p: &PersonId| names.get(p).cloned().unwrap_or_default();
    let asks: Vec<Value> = a
        .asks
        .iter()
        .map(|k| {
            let by = k.vote.as_ref().map(|v| v.by.map_or_else(|| "the desk".to_owned(), |p| name(&p)));
            json!({
                "approver": name(&k.approver),
                "approver_id": k.approver.0,
                "with": k.with.iter().map(name).collect::<Vec<_>>(),
                "with_ids": k.with.iter().map(|p| p.0).collect::<Vec<_>>(),
                "via": k.via,
                "decision": k.vote.as_ref().map(|v| if v.approve { "approved" } else { "denied" }),
                "by": by,
            })
        })
        .collect();
    let awaiting: Vec<String> = a.asks.iter().filter(|k| k.vote.is_none()).map(|k| name(&k.approver)).collect();
    // One line per approver, as every reader's copy shows them.
    let lines: Vec<String> = a
        .asks
        .iter()
        .map(|k| {
            let approver = name(&k.approver);
            let with = k.with.iter().map(name).collect::<Vec<_>>().join(", ");
            match (&k.vote, k.via) {
                (Some(v), _) => {
                    let (mark, verb) =
                        if v.approve { (":white_check_mark:", "approved") } else { (":no_entry:", "denied") };
                    match v.by {
                        Some(by) if by == k.approver => format!("{mark} {approver} {verb}"),
                        Some(by) => format!("{mark} {approver}: {verb} by {} on their behalf", name(&by)),
                        None => format!("{mark} {approver}: {verb} by the desk"),
                    }
                }
                (None, Via::Approver) => format!(":hourglass: {approver}"),
                (None, Via::Delegate) => format!(":hourglass: {approver}: with {with}, their delegate"),
                (None, Via::Away) => format!(":hourglass: {approver} is away: with {with}"),
                (None, Via::Fallback) => format!(":hourglass: {approver}: overdue, with {with}"),
            }
        })
        .collect();
    Ok(json!({
        "rule": a.rule,
        "overdue": a.overdue,
        "asks": asks,
        "awaiting": awaiting,
        "list": list(&lines, ticket),
        "lines": lines,
        "deciders": a.deciders().iter().map(|p| p.0).collect::<Vec<_>>(),
    }))
}

/// How much of a message the list of approvers may take (before mrkdwn
/// escaping); the rest is counted, pointing to the whole list.
const LIST_BUDGET: usize = 1500;

/// The approval's lines as one text, whole lines only, within the budget.
fn list(lines: &[String], ticket: TicketRef) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if out.chars().count() + line.chars().count() + 1 > LIST_BUDGET {
            out.push_str(&format!("… and {} more (deskbell show {ticket})", lines.len() - i));
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_owned()
}

/// The ticket's row, or `NotFound` naming it.
async fn one_row(
    conn: &mut AnyConnection,
    query: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ticket: TicketRef,
) -> Result<sqlx::any::AnyRow> {
    query.fetch_optional(&mut *conn).await?.ok_or_else(|| StoreError::NotFound(ticket.to_string()))
}

pub(super) async fn ticket_context(conn: &mut AnyConnection, ticket: TicketRef) -> Result<Value> {
    match ticket {
        TicketRef::Refresh(id) => {
            let query = sqlx::query(
                "SELECT t.*, c.name AS customer_name, c.email AS customer_email, d.name AS delegate_name,
                    d.email AS delegate_email, tm.name AS team_name, tm.calendar AS team_calendar,
                    rc.name AS config_name
                 FROM refresh_tickets t
                 JOIN teams tm ON tm.id = t.team_id
                 JOIN refresh_configs rc ON rc.id = t.config_id
                 LEFT JOIN people c ON c.id = t.customer_id
                 LEFT JOIN people d ON d.id = t.delegate_id
                 WHERE t.id = $1",
            );
            let r = one_row(conn, query.bind(id.0), ticket).await?;
            let replacement: Option<String> = r.try_get("replacement_serial")?;
            let appointment: Option<i64> = r.try_get("appointment_at")?;
            Ok(json!({
                "ref": ticket.to_string(),
                "kind": "refresh",
                "status": r.try_get::<String, _>("status")?,
                "style": r.try_get::<String, _>("style")?,
                "customer": person(r.try_get("customer_name")?, r.try_get("customer_email")?),
                "delegate": person(r.try_get("delegate_name")?, r.try_get("delegate_email")?),
                "team": { "name": r.try_get::<String, _>("team_name")?, "calendar": r.try_get::<String, _>("team_calendar")? },
                "config": r.try_get::<String, _>("config_name")?,
                "existing": {
                    "serial": r.try_get::<String, _>("existing_serial")?,
                    "model": r.try_get::<Option<String>, _>("existing_model")?,
                    "platform": r.try_get::<String, _>("existing_platform")?,
                },
                "replacement": replacement.map(|serial| -> Result<Value> { Ok(json!({
                    "serial": serial,
                    "model": r.try_get::<Option<String>, _>("replacement_model")?,
                    "platform": r.try_get::<Option<String>, _>("replacement_platform")?,
                }))}).transpose()?,
                "tracking_number": r.try_get::<Option<String>, _>("tracking_number")?,
                "location": r.try_get::<Option<String>, _>("location")?,
                "shipping_address": r.try_get::<Option<String>, _>("shipping_address")?,
                "appointment_at": appointment.map(super::rows::from_ms).transpose()?.map(|t| t.to_rfc3339()),
                "itsm_request": r.try_get::<Option<String>, _>("itsm_request")?,
                "asked": asked(r.try_get("wizard_answers")?)?,
                "approval": approval(conn, ticket, r.try_get("approval")?).await?,
            }))
        }
        TicketRef::Service(id) => {
            let query = sqlx::query(
                "SELECT t.*, c.name AS contact_name, c.email AS contact_email, a.name AS assignee_name,
                    a.email AS assignee_email, tm.name AS team_name, tm.calendar AS team_calendar
                 FROM service_tickets t
                 JOIN teams tm ON tm.id = t.team_id
                 JOIN people c ON c.id = t.contact_id
                 LEFT JOIN people a ON a.id = t.assignee_id
                 WHERE t.id = $1",
            );
            let r = one_row(conn, query.bind(id.0), ticket).await?;
            Ok(json!({
                "ref": ticket.to_string(),
                "kind": r.try_get::<String, _>("kind")?,
                "priority": r.try_get::<String, _>("priority")?,
                "vip": super::rows::flag(&r, "vip")?,
                "summary": r.try_get::<String, _>("summary")?,
                "issue_type": r.try_get::<String, _>("issue_type")?,
                "subtype": r.try_get::<String, _>("subtype")?,
                "status": r.try_get::<String, _>("status")?,
                "tier": r.try_get::<i64, _>("tier")?,
                "contact": person(r.try_get("contact_name")?, r.try_get("contact_email")?),
                "assignee": person(r.try_get("assignee_name")?, r.try_get("assignee_email")?),
                "team": { "name": r.try_get::<String, _>("team_name")?, "calendar": r.try_get::<String, _>("team_calendar")? },
                "agency": r.try_get::<Option<String>, _>("agency")?,
                "request": request(r.try_get("request")?)?,
            }))
        }
    }
}

/// Who made the change that queues a message, when, and what it audited
/// (`{"denied": "no budget"}`): "Denied by Ann at 10:42: no budget".
pub(super) async fn change_context(
    conn: &mut AnyConnection,
    actor: &crate::domain::Actor,
    now: chrono::DateTime<chrono::Utc>,
    effects: &[crate::domain::Effect],
) -> Result<Value> {
    use crate::domain::{Actor, Effect};
    let changes = effects.iter().filter_map(|e| match e {
        Effect::Audit(c) => Some(c),
        _ => None,
    });
    let decision = crate::domain::refresh::ApprovalDecision::in_change(changes);
    let audits: serde_json::Map<String, Value> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Audit(c) => Some((c.what.to_string(), c.to.clone().into())),
            _ => None,
        })
        .collect();
    let by = match actor {
        Actor::Person(id) => sqlx::query("SELECT name FROM people WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get::<String, _>("name"))
            .transpose()?
            .unwrap_or_else(|| actor.to_string()),
        Actor::System => "deskbell".to_owned(),
        Actor::External(name) => name.clone(),
    };
    Ok(json!({ "by": by, "at": now.to_rfc3339(), "audits": audits, "decision": decision }))
}

/// How many free slots a slot-picking message offers as buttons.
const OFFERED_SLOTS: i64 = 10;

/// The next free slots of a refresh ticket's team, for buttons.
pub(super) async fn free_slots(
    conn: &mut AnyConnection,
    ticket: TicketRef,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Value> {
    let TicketRef::Refresh(id) = ticket else { return Ok(json!([])) };
    let rows = sqlx::query(
        "SELECT s.id, s.starts_at FROM schedule_slots s JOIN refresh_tickets t ON t.team_id = s.team_id
         WHERE t.id = $1 AND s.starts_at > $2 AND s.booked < s.capacity AND s.deleted_at IS NULL
         ORDER BY s.starts_at, s.id LIMIT $3",
    )
    .bind(id.0)
    .bind(super::rows::ms(now))
    .bind(OFFERED_SLOTS)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(slot_json).collect::<Result<Vec<_>>>().map(Value::Array)
}

/// A slot as templates see it: `{ "id": 7, "starts_at": RFC 3339 }`.
fn slot_json(r: &sqlx::any::AnyRow) -> Result<Value> {
    let starts = super::rows::from_ms(r.try_get("starts_at")?)?;
    Ok(json!({ "id": r.try_get::<i64, _>("id")?, "starts_at": starts.to_rfc3339() }))
}
