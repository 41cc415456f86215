//! What a person's App Home shows, read when it is published: the tickets
//! awaiting their decision and their units' counts (approvers), the
//! refresh Problems (refresh managers and admins), the open service
//! tickets by SLA due time (engineers and dispatchers). And who has a Home
//! to republish when a ticket changes.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::{AnyConnection, Row};

use super::rows::{ms, opt_from_ms};
use super::{Result, Store};
use crate::domain::refresh::RefreshStatus;
use crate::domain::{Channel, PersonId, Role, Template, TicketRef};

/// How many tickets one list of a Home shows; the view's own limit cuts
/// further and says how many more.
const LIST: i64 = 40;

/// How long changes to one person's Home are gathered before it is
/// published again: a busy ticket republishes at most this often.
pub const HOME_COALESCE_MS: i64 = 5_000;

/// The roles whose Home shows tickets of this kind (three each).
fn roles_of(ticket: TicketRef) -> [Role; 3] {
    match ticket {
        TicketRef::Refresh(_) => [Role::Approver, Role::RefreshManager, Role::RefreshAdmin],
        TicketRef::Service(_) => [Role::Engineer, Role::Dispatcher, Role::ServiceManager],
    }
}

/// Queues a Home publish, at the end of the current gathering window, for
/// everyone who opened their Home and whose Home shows `ticket`'s kind.
/// One row per person and window: many changes, one publish.
pub(super) async fn republish(conn: &mut AnyConnection, ticket: TicketRef, now: DateTime<Utc>) -> Result<()> {
    let window = ms(now) / HOME_COALESCE_MS;
    let due = (window + 1) * HOME_COALESCE_MS;
    let [a, b, c] = roles_of(ticket).map(<&str>::from);
    sqlx::query(
        "INSERT INTO outbox (dedupe_key, ticket, channel, recipient, template, payload, not_before, created_at, updated_at)
         SELECT 'home/' || slack_user || '/' || $1, NULL, $2, slack_user, $3, '{}', $4, $5, $5 FROM people
         WHERE home_opened_at IS NOT NULL AND slack_user IS NOT NULL AND deactivated_at IS NULL
           AND (',' || roles || ',' LIKE '%,' || $6 || ',%' OR ',' || roles || ',' LIKE '%,' || $7 || ',%'
                OR ',' || roles || ',' LIKE '%,' || $8 || ',%')
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(window.to_string())
    .bind(<&str>::from(Channel::SlackHome))
    .bind(<&str>::from(Template::AppHome))
    .bind(due)
    .bind(ms(now))
    .bind(a)
    .bind(b)
    .bind(c)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn counts(rows: &[sqlx::any::AnyRow], group: &str) -> Result<Vec<Value>> {
    let mut out: Vec<Value> = Vec::new();
    for r in rows {
        let (name, status, n): (String, String, i64) = (r.try_get(group)?, r.try_get("status")?, r.try_get("n")?);
        let line = format!("{} {n}", status.replace('_', " "));
        match out.last_mut().filter(|o| o["name"] == name) {
            Some(o) => o["counts"] = format!("{} · {line}", o["counts"].as_str().unwrap_or_default()).into(),
            None => out.push(json!({ "name": name, "counts": line })),
        }
    }
    Ok(out)
}

impl Store {
    /// The person opened their Home; from now on it follows ticket changes.
    pub async fn home_opened(&self, slack_user: &str, now: DateTime<Utc>) -> Result<Option<crate::domain::Person>> {
        sqlx::query("UPDATE people SET home_opened_at = $2 WHERE slack_user = $1 AND deactivated_at IS NULL")
            .bind(slack_user)
            .bind(ms(now))
            .execute(&self.pool)
            .await?;
        self.person_by_slack(slack_user).await
    }

    /// The refresh tickets whose approval `p` may decide now, oldest first.
    pub async fn awaiting_decision(&self, p: PersonId) -> Result<Vec<crate::domain::RefreshTicketId>> {
        let mut mine = Vec::new();
        for (id, _) in self.refresh_in_status(RefreshStatus::RequiresApproval).await? {
            let t = self.load_refresh(id).await?.value;
            let decides = match &t.approval {
                Some(a) => a.deciders().contains(&p),
                None => self.config(t.config).await?.approvers.contains(&p),
            };
            if decides {
                mine.push(id);
            }
        }
        Ok(mine)
    }

    /// An approver's part of their Home: what awaits them, and their
    /// configs' open tickets counted by status.
    pub async fn home_approver(&self, p: PersonId) -> Result<Value> {
        let mut awaiting = Vec::new();
        let ids = self.awaiting_decision(p).await?;
        for id in ids.iter().take(LIST as usize) {
            awaiting.push(self.ticket_context((*id).into()).await?);
        }
        let rows = sqlx::query(
            "SELECT c.name, t.status, COUNT(*) AS n FROM refresh_tickets t
             JOIN refresh_configs c ON c.id = t.config_id
             JOIN active_approvers a ON a.config_id = c.id
             WHERE a.person_id = $1 AND t.status NOT IN ('complete', 'cancelled')
             GROUP BY c.name, t.status ORDER BY c.name, t.status",
        )
        .bind(p.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(
            json!({ "awaiting": awaiting, "more": ids.len().saturating_sub(LIST as usize), "units": counts(&rows, "name")? }),
        )
    }

    /// Refresh staff's Problems: tickets TDX does not know yet, tickets
    /// nobody gave a location for, tickets whose mail bounced, dead
    /// messages and unmatched mail; and open tickets by status per team.
    pub async fn home_problems(&self) -> Result<Value> {
        let mut conn = self.pool.acquire().await?;
        let in_status = async |conn: &mut AnyConnection, status: RefreshStatus| -> Result<Vec<Value>> {
            let rows = sqlx::query(
                "SELECT t.id, COALESCE(c.name, 'no customer') AS who FROM refresh_tickets t
                 LEFT JOIN people c ON c.id = t.customer_id WHERE t.status = $1 ORDER BY t.id LIMIT $2",
            )
            .bind(<&str>::from(status))
            .bind(LIST)
            .fetch_all(&mut *conn)
            .await?;
            rows.iter()
                .map(|r| {
                    let t = TicketRef::Refresh(crate::domain::RefreshTicketId(r.try_get("id")?));
                    Ok(json!({ "ref": t.to_string(), "customer": r.try_get::<String, _>("who")? }))
                })
                .collect()
        };
        let itsm = in_status(&mut conn, RefreshStatus::PendingItsmExistence).await?;
        let location = in_status(&mut conn, RefreshStatus::PendingLocationInformation).await?;
        let bounced: Vec<String> = sqlx::query(
            "SELECT DISTINCT ticket FROM outbox WHERE channel = $1 AND status = 'dead' AND ticket LIKE 'R-%'
             ORDER BY ticket LIMIT $2",
        )
        .bind(<&str>::from(Channel::Email))
        .bind(LIST)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get("ticket"))
        .collect::<Result<_, _>>()?;
        let count = async |conn: &mut AnyConnection, sql: &'static str| -> Result<i64> {
            Ok(sqlx::query(sql).fetch_one(&mut *conn).await?.try_get("n")?)
        };
        let dead = count(&mut conn, "SELECT COUNT(*) AS n FROM outbox WHERE status = 'dead'").await?;
        let unmatched =
            count(&mut conn, "SELECT COUNT(*) AS n FROM inbound_messages WHERE status = 'unmatched'").await?;
        let rows = sqlx::query(
            "SELECT tm.name, t.status, COUNT(*) AS n FROM refresh_tickets t JOIN teams tm ON tm.id = t.team_id
             WHERE t.status NOT IN ('complete', 'cancelled') GROUP BY tm.name, t.status ORDER BY tm.name, t.status",
        )
        .fetch_all(&mut *conn)
        .await?;
        Ok(json!({
            "itsm": itsm, "location": location, "bounced": bounced, "dead": dead, "unmatched": unmatched,
            "teams": counts(&rows, "name")?,
        }))
    }

    /// Open service tickets, the soonest SLA due first, with their state
    /// in words at `now`.
    pub async fn home_queue(&self, now: DateTime<Utc>) -> Result<Vec<Value>> {
        let rows = sqlx::query(
            "SELECT t.id, t.priority, t.summary, t.status, t.response_due_at, t.responded_at, a.name AS assignee
             FROM service_tickets t LEFT JOIN people a ON a.id = t.assignee_id
             WHERE t.status NOT IN ('resolved', 'closed')
             ORDER BY CASE WHEN t.response_due_at IS NULL THEN 1 ELSE 0 END, t.response_due_at, t.id LIMIT $1",
        )
        .bind(LIST)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                let due = opt_from_ms(r.try_get("response_due_at")?)?;
                let responded = r.try_get::<Option<i64>, _>("responded_at")?.is_some();
                let state = match due {
                    _ if status == "on_hold" => "paused (on hold)".to_owned(),
                    Some(_) if responded => "answered".to_owned(),
                    Some(d) if d < now => format!("breached {} min ago", (now - d).num_minutes()),
                    Some(d) => format!("due in {} min", (d - now).num_minutes()),
                    None => "no target".to_owned(),
                };
                let t = TicketRef::Service(crate::domain::ServiceTicketId(r.try_get("id")?));
                Ok(json!({
                    "ref": t.to_string(),
                    "priority": r.try_get::<String, _>("priority")?,
                    "summary": r.try_get::<String, _>("summary")?,
                    "status": status.replace('_', " "),
                    "state": state,
                    "assignee": r.try_get::<Option<String>, _>("assignee")?,
                }))
            })
            .collect()
    }
}
