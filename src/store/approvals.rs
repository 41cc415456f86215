//! What routes approval requests: a config's approval settings and
//! fallback, its active approvers, the delegations people set, and who
//! Slack says is away. Read together as the domain's [`Approvers`].

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AnyConnection, Row};

use super::rows::ms;
use super::{Result, Store, StoreError};
use crate::domain::refresh::{ApprovalSettings, Approvers, Delegation};
use crate::domain::{Actor, ConfigId, PersonId};

/// A stored day (`2027-01-08`).
fn day(row: &sqlx::any::AnyRow, col: &str) -> Result<NaiveDate> {
    let text: String = row.try_get(col)?;
    text.parse().map_err(|e| StoreError::Invalid(format!("{col} '{text}': {e}")))
}

fn delegation_from_row(r: &sqlx::any::AnyRow) -> Result<Delegation> {
    Ok(Delegation {
        approver: PersonId(r.try_get("approver_id")?),
        delegate: PersonId(r.try_get("delegate_id")?),
        from: day(r, "from_day")?,
        until: day(r, "until_day")?,
    })
}

fn ids(rows: &[sqlx::any::AnyRow], col: &str) -> Result<Vec<PersonId>> {
    rows.iter().map(|r| r.try_get(col).map(PersonId).map_err(Into::into)).collect()
}

/// The active people a fallback names: the person with that email, or
/// the members of the group of that name.
async fn fallback_people(conn: &mut AnyConnection, fallback: &str) -> Result<Vec<PersonId>> {
    let rows = sqlx::query(
        "SELECT p.id FROM people p WHERE p.email = $1 AND p.deactivated_at IS NULL
         UNION
         SELECT p.id FROM person_groups g JOIN group_members m ON m.group_id = g.id
         JOIN people p ON p.id = m.person_id WHERE g.name = $1 AND p.deactivated_at IS NULL
         ORDER BY 1",
    )
    .bind(fallback)
    .fetch_all(&mut *conn)
    .await?;
    ids(&rows, "id")
}

impl Store {
    /// Everything that decides where `config`'s approval requests go now.
    pub async fn approvers(&self, config: ConfigId) -> Result<Approvers> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query("SELECT approval_settings, fallback FROM refresh_configs WHERE id = $1")
            .bind(config.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("refresh config {config}")))?;
        let settings: ApprovalSettings = serde_json::from_str(&row.try_get::<String, _>("approval_settings")?)
            .map_err(|e| StoreError::Invalid(format!("approval settings of config {config}: {e}")))?;
        let fallback = match row.try_get::<Option<String>, _>("fallback")? {
            Some(f) => fallback_people(&mut conn, &f).await?,
            None => Vec::new(),
        };
        let people = sqlx::query("SELECT person_id FROM active_approvers WHERE config_id = $1 ORDER BY person_id")
            .bind(config.0)
            .fetch_all(&mut *conn)
            .await?;
        let away = sqlx::query("SELECT id FROM people WHERE away_status IS NOT NULL AND deactivated_at IS NULL")
            .fetch_all(&mut *conn)
            .await?;
        Ok(Approvers {
            settings,
            people: ids(&people, "person_id")?,
            fallback,
            delegations: delegations_in(&mut conn).await?,
            away: ids(&away, "id")?.into_iter().collect::<HashSet<_>>(),
        })
    }

    /// Whether `p` approves (directly or through a group) an active config.
    pub async fn is_approver(&self, p: PersonId) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM active_approvers a JOIN refresh_configs c ON c.id = a.config_id
             WHERE a.person_id = $1 AND c.deactivated_at IS NULL LIMIT 1",
        )
        .bind(p.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Every delegation of active delegates, ended ones included until replaced.
    pub async fn delegations(&self) -> Result<Vec<Delegation>> {
        delegations_in(&mut *self.pool.acquire().await?).await
    }

    /// Sets `d.approver`'s delegation, replacing any other they had.
    pub async fn set_delegation(&self, d: &Delegation, by: &Actor, now: DateTime<Utc>) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        put_delegation(&mut conn, d, by, now).await.map(drop)
    }

    /// Ends `approver`'s delegation; whether they had one.
    pub async fn end_delegation(&self, approver: PersonId) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM delegations WHERE approver_id = $1").bind(approver.0).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records what a Slack status says: away (the status, kept to show)
    /// or back (`None`). Whether that changed anything.
    pub async fn set_away(&self, slack_user: &str, status: Option<&str>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE people SET away_status = $2 WHERE slack_user = $1
               AND (away_status IS NULL) <> ($2 IS NULL)",
        )
        .bind(slack_user)
        .bind(status)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

async fn delegations_in(conn: &mut AnyConnection) -> Result<Vec<Delegation>> {
    let rows = sqlx::query(
        "SELECT d.approver_id, d.delegate_id, d.from_day, d.until_day FROM delegations d
         JOIN people p ON p.id = d.delegate_id WHERE p.deactivated_at IS NULL ORDER BY d.approver_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(delegation_from_row).collect()
}

/// Sets a delegation; whether it differs from the one the approver had.
pub(super) async fn put_delegation(
    conn: &mut AnyConnection,
    d: &Delegation,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<bool> {
    let was =
        sqlx::query("SELECT approver_id, delegate_id, from_day, until_day FROM delegations WHERE approver_id = $1")
            .bind(d.approver.0)
            .fetch_optional(&mut *conn)
            .await?;
    if was.as_ref().map(delegation_from_row).transpose()?.as_ref() == Some(d) {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO delegations (approver_id, delegate_id, from_day, until_day, set_by, set_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (approver_id) DO UPDATE SET delegate_id = excluded.delegate_id, from_day = excluded.from_day,
            until_day = excluded.until_day, set_by = excluded.set_by, set_at = excluded.set_at",
    )
    .bind(d.approver.0)
    .bind(d.delegate.0)
    .bind(d.from.to_string())
    .bind(d.until.to_string())
    .bind(by.to_string())
    .bind(ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(true)
}
