//! People, support teams and refresh configs. Upserts are keyed by the
//! natural key (email, team name, config name) so loading the same data
//! twice changes nothing.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError, parse_col};
use crate::domain::{
    ConfigId, ConfigOptions, Email, Person, PersonId, RefreshConfig, Role, SlackChannelId, SlackUserId, SupportTeam,
    TeamId,
};

/// A person as given by an import or the demo data.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub name: String,
    pub email: Email,
    pub slack_user: Option<SlackUserId>,
    pub roles: Vec<Role>,
}

fn bad(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("stored {what} is invalid: {e}"))
}

pub(super) fn person_from_row(row: &AnyRow) -> Result<Person> {
    let roles: String = row.try_get("roles")?;
    let slack: Option<String> = row.try_get("slack_user")?;
    Ok(Person {
        id: PersonId(row.try_get("id")?),
        name: row.try_get("name")?,
        email: Email::parse(&row.try_get::<String, _>("email")?).map_err(|e| bad("email", e))?,
        slack_user: slack.as_deref().map(SlackUserId::parse).transpose().map_err(|e| bad("slack user", e))?,
        roles: roles.split(',').filter(|r| !r.is_empty()).map(|r| parse_col("role", r)).collect::<Result<_>>()?,
    })
}

fn team_from_row(row: &AnyRow) -> Result<SupportTeam> {
    Ok(SupportTeam {
        id: TeamId(row.try_get("id")?),
        name: row.try_get("name")?,
        slack_channel: SlackChannelId::parse(&row.try_get::<String, _>("slack_channel")?)
            .map_err(|e| bad("slack channel", e))?,
        calendar: row.try_get("calendar")?,
    })
}

impl Store {
    pub async fn upsert_person(&self, p: &NewPerson) -> Result<PersonId> {
        let roles: Vec<&str> = p.roles.iter().map(|r| r.into()).collect();
        let row = sqlx::query(
            "INSERT INTO people (name, email, slack_user, roles) VALUES ($1, $2, $3, $4)
             ON CONFLICT (email) DO UPDATE SET name = excluded.name, slack_user = excluded.slack_user, roles = excluded.roles
             RETURNING id",
        )
        .bind(&p.name)
        .bind(p.email.as_str())
        .bind(p.slack_user.as_ref().map(|s| s.to_string()))
        .bind(roles.join(","))
        .fetch_one(&self.pool)
        .await?;
        Ok(PersonId(row.try_get("id")?))
    }

    pub async fn person(&self, id: PersonId) -> Result<Person> {
        let row = sqlx::query("SELECT id, name, email, slack_user, roles FROM people WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("person {id}")))?;
        person_from_row(&row)
    }

    pub async fn person_by_email(&self, email: &Email) -> Result<Option<Person>> {
        let row = sqlx::query("SELECT id, name, email, slack_user, roles FROM people WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(person_from_row).transpose()
    }

    /// The person a Slack user is, if deskbell knows them.
    pub async fn person_by_slack(&self, user: &str) -> Result<Option<Person>> {
        let row = sqlx::query("SELECT id, name, email, slack_user, roles FROM people WHERE slack_user = $1")
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(person_from_row).transpose()
    }

    pub async fn upsert_team(&self, name: &str, channel: &SlackChannelId, calendar: &str) -> Result<TeamId> {
        let row = sqlx::query(
            "INSERT INTO teams (name, slack_channel, calendar) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET slack_channel = excluded.slack_channel, calendar = excluded.calendar
             RETURNING id",
        )
        .bind(name)
        .bind(channel.as_str())
        .bind(calendar)
        .fetch_one(&self.pool)
        .await?;
        Ok(TeamId(row.try_get("id")?))
    }

    pub async fn team(&self, id: TeamId) -> Result<SupportTeam> {
        let row = sqlx::query("SELECT id, name, slack_channel, calendar FROM teams WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("team {id}")))?;
        team_from_row(&row)
    }

    pub async fn teams(&self) -> Result<Vec<SupportTeam>> {
        let rows = sqlx::query("SELECT id, name, slack_channel, calendar FROM teams ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(team_from_row).collect()
    }

    /// Creates or replaces a refresh config, approvers included.
    pub async fn upsert_config(
        &self,
        name: &str,
        approvers: &[PersonId],
        approved_models: &[String],
        options: ConfigOptions,
    ) -> Result<ConfigId> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO refresh_configs (name, approved_models, options) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET approved_models = excluded.approved_models, options = excluded.options
             RETURNING id",
        )
        .bind(name)
        .bind(serde_json::to_string(approved_models).expect("strings serialize"))
        .bind(serde_json::to_string(&options).expect("options serialize"))
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        sqlx::query("DELETE FROM config_approvers WHERE config_id = $1").bind(id).execute(&mut *tx).await?;
        for person in approvers {
            sqlx::query("INSERT INTO config_approvers (config_id, person_id) VALUES ($1, $2)")
                .bind(id)
                .bind(person.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(ConfigId(id))
    }

    pub async fn config(&self, id: ConfigId) -> Result<RefreshConfig> {
        let row = sqlx::query("SELECT id, name, approved_models, options FROM refresh_configs WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("refresh config {id}")))?;
        let approvers = sqlx::query("SELECT person_id FROM config_approvers WHERE config_id = $1 ORDER BY person_id")
            .bind(id.0)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get("person_id").map(PersonId))
            .collect::<Result<_, _>>()?;
        let models: String = row.try_get("approved_models")?;
        let options: String = row.try_get("options")?;
        Ok(RefreshConfig {
            id,
            name: row.try_get("name")?,
            approvers,
            approved_models: serde_json::from_str(&models).map_err(|e| bad("approved models", e))?,
            options: serde_json::from_str(&options).map_err(|e| bad("options", e))?,
        })
    }

    pub async fn team_by_name(&self, name: &str) -> Result<Option<SupportTeam>> {
        let row = sqlx::query("SELECT id, name, slack_channel, calendar FROM teams WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(team_from_row).transpose()
    }

    /// The person with this email, added with `role` if unknown. Unlike
    /// [`Store::upsert_person`] it never changes someone already known: an
    /// import must not strip an approver of their role.
    pub async fn ensure_person(&self, name: &str, email: &Email, role: Role) -> Result<PersonId> {
        sqlx::query("INSERT INTO people (name, email, roles) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING")
            .bind(name)
            .bind(email.as_str())
            .bind(<&str>::from(role))
            .execute(&self.pool)
            .await?;
        let row =
            sqlx::query("SELECT id FROM people WHERE email = $1").bind(email.as_str()).fetch_one(&self.pool).await?;
        Ok(PersonId(row.try_get("id")?))
    }

    pub async fn config_id(&self, name: &str) -> Result<Option<ConfigId>> {
        let row =
            sqlx::query("SELECT id FROM refresh_configs WHERE name = $1").bind(name).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get("id").map(ConfigId)).transpose()?)
    }
}

impl Store {
    /// Gives a person without one their Slack id (they joined the workspace).
    pub async fn link_slack(&self, email: &Email, user: &SlackUserId) -> Result<bool> {
        let done = sqlx::query("UPDATE people SET slack_user = $2 WHERE email = $1 AND slack_user IS NULL")
            .bind(email.as_str())
            .bind(user.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
