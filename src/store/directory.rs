//! People, groups, support teams and refresh configs. A directory sync
//! applies a whole [`Directory`] in one transaction and says what it
//! changed; people and teams are deactivated, never deleted, because
//! history names them. Upserts are keyed by the natural key (email, team
//! name, config name) so loading the same data twice changes nothing.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use strum::{Display, EnumString, IntoStaticStr};

use super::rows::ms;
use super::{Result, Serial, Store, StoreError, parse_col};
pub use crate::directory::NewPerson;
use crate::directory::{ApproverRef, DirConfig, DirTeam, Directory};
use crate::domain::refresh::{Delegation, Platform};
use crate::domain::{
    Actor, ApprovedModel, ConfigId, ConfigOptions, Email, Person, PersonId, RefreshConfig, Role, SlackChannelId,
    SlackUserId, SlotPreference, SupportTeam, TeamId,
};

/// Where a person came from. A directory sync deactivates only the
/// `directory` people its file no longer lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Display, EnumString, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum PersonSource {
    Directory,
    /// `deskbell import people`.
    Import,
    /// A customer named by a ticket (batch import, service API).
    Ticket,
}

/// What a sync did (or, on a dry run, would do), a line per change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub deactivated: Vec<String>,
}

impl SyncReport {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.deactivated.is_empty()
    }
}

impl std::fmt::Display for SyncReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (sign, lines) in [("+", &self.added), ("~", &self.changed), ("-", &self.deactivated)] {
            for l in lines {
                writeln!(f, "{sign} {l}")?;
            }
        }
        write!(f, "{} added, {} changed, {} deactivated", self.added.len(), self.changed.len(), self.deactivated.len())
    }
}

fn bad(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("stored {what} is invalid: {e}"))
}

/// The active people holding `role`, in a connection (a change's
/// transaction resolving who a message reaches).
pub(super) async fn people_holding(conn: &mut AnyConnection, role: Role) -> Result<Vec<Person>> {
    let rows = sqlx::query(
        "SELECT id, name, email, slack_user, roles FROM people
         WHERE deactivated_at IS NULL AND ',' || roles || ',' LIKE '%,' || $1 || ',%' ORDER BY id",
    )
    .bind(<&str>::from(role))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(person_from_row).collect()
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
        location: row.try_get("location")?,
    })
}

fn roles_text(roles: &[Role]) -> String {
    roles.iter().map(<&str>::from).collect::<Vec<_>>().join(",")
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("directory values serialize")
}

/// Adds or updates a person by email and reactivates them; a Slack id the
/// person already has is kept when none is given. Returns the id and, for
/// a known person, what changed.
async fn put_person(
    conn: &mut AnyConnection,
    p: &NewPerson,
    source: PersonSource,
) -> Result<(PersonId, Option<Vec<String>>)> {
    let old = sqlx::query("SELECT id, name, email, slack_user, roles, deactivated_at FROM people WHERE email = $1")
        .bind(p.email.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(slack) = &p.slack_user {
        let holder = sqlx::query("SELECT email FROM people WHERE slack_user = $1 AND email <> $2")
            .bind(slack.as_str())
            .bind(p.email.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(h) = holder {
            let other: String = h.try_get("email")?;
            return Err(StoreError::Invalid(format!("{}: slack_user {slack} already belongs to {other}", p.email)));
        }
    }
    let Some(old) = old else {
        let row = sqlx::query(
            "INSERT INTO people (name, email, slack_user, roles, source) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&p.name)
        .bind(p.email.as_str())
        .bind(p.slack_user.as_ref().map(|s| s.to_string()))
        .bind(roles_text(&p.roles))
        .bind(<&str>::from(source))
        .fetch_one(&mut *conn)
        .await?;
        return Ok((PersonId(row.try_get("id")?), None));
    };
    let was = person_from_row(&old)?;
    let slack_user = p.slack_user.clone().or(was.slack_user.clone());
    let mut changes = Vec::new();
    if was.name != p.name {
        changes.push(format!("name '{}' → '{}'", was.name, p.name));
    }
    if was.slack_user != slack_user {
        changes.push(format!("slack_user {} → {}", opt(&was.slack_user), opt(&slack_user)));
    }
    if was.roles != p.roles {
        changes.push(format!("roles [{}] → [{}]", roles_text(&was.roles), roles_text(&p.roles)));
    }
    if old.try_get::<Option<i64>, _>("deactivated_at")?.is_some() {
        changes.push("reactivated".into());
    }
    sqlx::query(
        "UPDATE people SET name = $2, slack_user = $3, roles = $4, source = $5, deactivated_at = NULL WHERE id = $1",
    )
    .bind(was.id.0)
    .bind(&p.name)
    .bind(slack_user.map(|s| s.to_string()))
    .bind(roles_text(&p.roles))
    .bind(<&str>::from(source))
    .execute(&mut *conn)
    .await?;
    Ok((was.id, Some(changes)))
}

fn opt(v: &Option<impl std::fmt::Display>) -> String {
    v.as_ref().map(|v| v.to_string()).unwrap_or_else(|| "none".into())
}

async fn person_id(conn: &mut AnyConnection, email: &Email) -> Result<PersonId> {
    let row = sqlx::query("SELECT id FROM people WHERE email = $1 AND deactivated_at IS NULL")
        .bind(email.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::Invalid(format!("{email} is not an active person of the directory")))?;
    Ok(PersonId(row.try_get("id")?))
}

/// Gives the person with `email` their Slack id, unless they have one.
pub(super) async fn link_slack_in(conn: &mut AnyConnection, email: &Email, user: &SlackUserId) -> Result<bool> {
    let done = sqlx::query("UPDATE people SET slack_user = $2 WHERE email = $1 AND slack_user IS NULL")
        .bind(email.as_str())
        .bind(user.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ids of the rows of `table` whose `deactivated_at` is null, by name column.
async fn active_names(conn: &mut AnyConnection, sql: &'static str) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

async fn deactivate(conn: &mut AnyConnection, sql: &'static str, id: i64, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(sql).bind(id).bind(ms(now)).execute(&mut *conn).await?;
    Ok(())
}

impl Store {
    /// Applies a directory in one transaction: what it lists is added or
    /// updated, directory people, teams, configs and groups it no longer
    /// lists are deactivated (groups removed). Refused, with nothing
    /// changed, when a config with tickets awaiting approval would be left
    /// without an active approver. `dry_run` reports and rolls back.
    pub async fn sync_directory(&self, d: &Directory, now: DateTime<Utc>, dry_run: bool) -> Result<SyncReport> {
        let mut tx = self.begin_write().await?;
        Serial::Directory.take(&mut tx, self.backend).await?;
        let mut report = SyncReport::default();
        sync_people(&mut tx, d, now, &mut report).await?;
        sync_groups(&mut tx, d, &mut report).await?;
        for t in &d.teams {
            sync_team(&mut tx, t, &mut report).await?;
        }
        for (id, name) in active_names(&mut tx, "SELECT id, name FROM teams WHERE deactivated_at IS NULL").await? {
            if !d.teams.iter().any(|t| t.name == name) {
                deactivate(&mut tx, "UPDATE teams SET deactivated_at = $2 WHERE id = $1", id, now).await?;
                report.deactivated.push(format!("team '{name}'"));
            }
        }
        for c in &d.configs {
            sync_config(&mut tx, c, d, &mut report).await?;
        }
        let configs = "SELECT id, name FROM refresh_configs WHERE deactivated_at IS NULL";
        for (id, name) in active_names(&mut tx, configs).await? {
            if !d.configs.iter().any(|c| c.name == name) {
                deactivate(&mut tx, "UPDATE refresh_configs SET deactivated_at = $2 WHERE id = $1", id, now).await?;
                report.deactivated.push(format!("config '{name}'"));
            }
        }
        for del in &d.delegations {
            let approver = person_id(&mut tx, &del.approver).await?;
            let delegate = person_id(&mut tx, &del.delegate).await?;
            let from = del.from.unwrap_or_else(|| now.date_naive());
            let delegation = Delegation { approver, delegate, from, until: del.until };
            if super::approvals::put_delegation(&mut tx, &delegation, &Actor::System, now).await? {
                report.changed.push(format!("delegation {} → {} until {}", del.approver, del.delegate, del.until));
            }
        }
        check_approvals_can_move(&mut tx).await?;
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(report)
    }

    /// `deskbell import people`: adds or updates each person (never
    /// deactivates anyone), all in one transaction.
    pub async fn import_people(&self, people: &[NewPerson]) -> Result<SyncReport> {
        let mut tx = self.begin_write().await?;
        Serial::Directory.take(&mut tx, self.backend).await?;
        let mut report = SyncReport::default();
        for p in people {
            record_person(&mut report, p, put_person(&mut tx, p, PersonSource::Import).await?.1);
        }
        tx.commit().await?;
        Ok(report)
    }
}

fn record_person(report: &mut SyncReport, p: &NewPerson, changes: Option<Vec<String>>) {
    match changes {
        None => report.added.push(format!("person {} ({}) [{}]", p.email, p.name, roles_text(&p.roles))),
        Some(c) if !c.is_empty() => report.changed.push(format!("person {}: {}", p.email, c.join(", "))),
        Some(_) => {}
    }
}

async fn sync_people(
    conn: &mut AnyConnection,
    d: &Directory,
    now: DateTime<Utc>,
    report: &mut SyncReport,
) -> Result<()> {
    for p in &d.people {
        record_person(report, p, put_person(conn, p, PersonSource::Directory).await?.1);
    }
    let listed = "SELECT id, email FROM people WHERE source = 'directory' AND deactivated_at IS NULL";
    for (id, email) in active_names(conn, listed).await? {
        if !d.people.iter().any(|p| p.email.as_str() == email) {
            deactivate(conn, "UPDATE people SET deactivated_at = $2 WHERE id = $1", id, now).await?;
            report.deactivated.push(format!("person {email}"));
        }
    }
    Ok(())
}

async fn sync_groups(conn: &mut AnyConnection, d: &Directory, report: &mut SyncReport) -> Result<()> {
    for (id, name) in active_names(conn, "SELECT id, name FROM person_groups").await? {
        if !d.groups.iter().any(|g| g.name == name) {
            sqlx::query("DELETE FROM person_groups WHERE id = $1").bind(id).execute(&mut *conn).await?;
            report.deactivated.push(format!("group '{name}' (removed)"));
        }
    }
    for g in &d.groups {
        let old = sqlx::query("SELECT id FROM person_groups WHERE name = $1")
            .bind(&g.name)
            .fetch_optional(&mut *conn)
            .await?;
        let is_new = old.is_none();
        let id: i64 = match old {
            Some(r) => r.try_get("id")?,
            None => sqlx::query("INSERT INTO person_groups (name) VALUES ($1) RETURNING id")
                .bind(&g.name)
                .fetch_one(&mut *conn)
                .await?
                .try_get("id")?,
        };
        let before: BTreeSet<String> = sqlx::query(
            "SELECT p.email FROM group_members m JOIN people p ON p.id = m.person_id WHERE m.group_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get("email"))
        .collect::<Result<_, _>>()?;
        sqlx::query("DELETE FROM group_members WHERE group_id = $1").bind(id).execute(&mut *conn).await?;
        for m in &g.members {
            let person =
                person_id(conn, m).await.map_err(|e| StoreError::Invalid(format!("group '{}': {e}", g.name)))?;
            sqlx::query("INSERT INTO group_members (group_id, person_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(person.0)
                .execute(&mut *conn)
                .await?;
        }
        let after: BTreeSet<String> = g.members.iter().map(|m| m.to_string()).collect();
        if is_new {
            report.added.push(format!("group '{}' [{}]", g.name, list(&after)));
        } else if before != after {
            report.changed.push(format!("group '{}': [{}] → [{}]", g.name, list(&before), list(&after)));
        }
    }
    Ok(())
}

fn list(v: &BTreeSet<String>) -> String {
    v.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// Adds or updates a team by name and reactivates it; `None` changes for a new team.
async fn put_team(conn: &mut AnyConnection, t: &DirTeam) -> Result<(TeamId, Option<Vec<String>>)> {
    let old =
        sqlx::query("SELECT id, name, slack_channel, calendar, location, deactivated_at FROM teams WHERE name = $1")
            .bind(&t.name)
            .fetch_optional(&mut *conn)
            .await?;
    let changes = match &old {
        None => None,
        Some(row) => {
            let was = team_from_row(row)?;
            let mut c = Vec::new();
            if was.slack_channel != t.slack_channel {
                c.push(format!("slack_channel {} → {}", was.slack_channel, t.slack_channel));
            }
            if was.calendar != t.calendar {
                c.push(format!("calendar {} → {}", was.calendar, t.calendar));
            }
            if was.location != t.location {
                c.push(format!("location {} → {}", opt(&was.location), opt(&t.location)));
            }
            if row.try_get::<Option<i64>, _>("deactivated_at")?.is_some() {
                c.push("reactivated".into());
            }
            Some(c)
        }
    };
    let row = sqlx::query(
        "INSERT INTO teams (name, slack_channel, calendar, location) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET slack_channel = excluded.slack_channel, calendar = excluded.calendar,
            location = excluded.location, deactivated_at = NULL
         RETURNING id",
    )
    .bind(&t.name)
    .bind(t.slack_channel.as_str())
    .bind(&t.calendar)
    .bind(t.location.clone())
    .fetch_one(&mut *conn)
    .await?;
    Ok((TeamId(row.try_get("id")?), changes))
}

async fn sync_team(conn: &mut AnyConnection, t: &DirTeam, report: &mut SyncReport) -> Result<()> {
    let (id, changes) = put_team(conn, t).await?;
    let prefs: Vec<SlotPreference> = t
        .slots
        .iter()
        .map(|s| SlotPreference {
            team: id,
            weekday: s.weekday,
            start: s.start,
            length_minutes: s.length_minutes,
            capacity: s.capacity,
        })
        .collect();
    let slots_changed = super::slots::slot_preferences(conn, id).await? != prefs;
    if slots_changed {
        super::slots::put_slot_preferences(conn, id, &prefs).await?;
    }
    match changes {
        None => report.added.push(format!(
            "team '{}' (#{}, calendar {}, {} slot preference(s))",
            t.name,
            t.slack_channel,
            t.calendar,
            prefs.len()
        )),
        Some(mut c) => {
            if slots_changed {
                c.push(format!("{} slot preference(s)", prefs.len()));
            }
            if !c.is_empty() {
                report.changed.push(format!("team '{}': {}", t.name, c.join(", ")));
            }
        }
    }
    Ok(())
}

/// Adds or replaces a config by name, approvers included, and reactivates it.
async fn put_config(
    conn: &mut AnyConnection,
    c: &DirConfig,
    approvers: &[PersonId],
    groups: &[i64],
) -> Result<(ConfigId, Option<Vec<String>>)> {
    let old = sqlx::query("SELECT id, deactivated_at FROM refresh_configs WHERE name = $1")
        .bind(&c.name)
        .fetch_optional(&mut *conn)
        .await?;
    let (before, deactivated) = match &old {
        Some(r) => {
            let was = config_in(conn, ConfigId(r.try_get("id")?)).await?;
            (Some(was), r.try_get::<Option<i64>, _>("deactivated_at")?.is_some())
        }
        None => (None, false),
    };
    let row = sqlx::query(
        "INSERT INTO refresh_configs (name, approved_models, options, peripheral_bundle, peripherals, software,
            approval_settings, fallback)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (name) DO UPDATE SET approved_models = excluded.approved_models, options = excluded.options,
            peripheral_bundle = excluded.peripheral_bundle, peripherals = excluded.peripherals,
            software = excluded.software, approval_settings = excluded.approval_settings,
            fallback = excluded.fallback, deactivated_at = NULL
         RETURNING id",
    )
    .bind(&c.name)
    .bind(json(&c.approved_models))
    .bind(json(&c.options))
    .bind(json(&c.peripheral_bundle))
    .bind(json(&c.peripherals))
    .bind(json(&c.software))
    .bind(json(&c.approval))
    .bind(c.fallback.clone())
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = row.try_get("id")?;
    sqlx::query("DELETE FROM config_approvers WHERE config_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM config_approver_groups WHERE config_id = $1").bind(id).execute(&mut *conn).await?;
    for person in approvers {
        sqlx::query("INSERT INTO config_approvers (config_id, person_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(person.0)
            .execute(&mut *conn)
            .await?;
    }
    for group in groups {
        sqlx::query("INSERT INTO config_approver_groups (config_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(group)
            .execute(&mut *conn)
            .await?;
    }
    let Some(was) = before else { return Ok((ConfigId(id), None)) };
    let now = config_in(conn, ConfigId(id)).await?;
    let mut changes = Vec::new();
    if was.approvers != now.approvers {
        changes.push(format!("{} → {} active approver(s)", was.approvers.len(), now.approvers.len()));
    }
    if was.approved_models != now.approved_models {
        changes.push("approved models".into());
    }
    if (&was.peripheral_bundle, &was.peripherals, &was.software)
        != (&now.peripheral_bundle, &now.peripherals, &now.software)
    {
        changes.push("catalogues".into());
    }
    if was.options != now.options {
        changes.push("options".into());
    }
    if deactivated {
        changes.push("reactivated".into());
    }
    Ok((ConfigId(id), Some(changes)))
}

async fn sync_config(conn: &mut AnyConnection, c: &DirConfig, d: &Directory, report: &mut SyncReport) -> Result<()> {
    let (mut people, mut groups) = (Vec::new(), Vec::new());
    for a in c.approver_refs(&d.groups) {
        let inside = |e: StoreError| StoreError::Invalid(format!("config '{}': approver {e}", c.name));
        match a {
            ApproverRef::Person(email) => people.push(person_id(conn, &email).await.map_err(inside)?),
            ApproverRef::Group(name) => groups.push(
                sqlx::query("SELECT id FROM person_groups WHERE name = $1")
                    .bind(&name)
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get::<i64, _>("id")?,
            ),
        }
    }
    match put_config(conn, c, &people, &groups).await?.1 {
        None => report.added.push(format!("config '{}' ({} approver entr(ies))", c.name, c.approvers.len())),
        Some(changes) if !changes.is_empty() => {
            report.changed.push(format!("config '{}': {}", c.name, changes.join(", ")))
        }
        Some(_) => {}
    }
    Ok(())
}

/// No refresh may wait for approval from nobody: every config with tickets
/// awaiting approval keeps at least one active approver.
async fn check_approvals_can_move(conn: &mut AnyConnection) -> Result<()> {
    let stuck = sqlx::query(
        "SELECT c.name, COUNT(*) AS waiting FROM refresh_tickets t JOIN refresh_configs c ON c.id = t.config_id
         WHERE t.status = 'requires_approval'
           AND NOT EXISTS (SELECT 1 FROM active_approvers a WHERE a.config_id = c.id)
         GROUP BY c.name ORDER BY c.name",
    )
    .fetch_all(&mut *conn)
    .await?;
    if stuck.is_empty() {
        return Ok(());
    }
    let names = stuck
        .iter()
        .map(|r| {
            Ok(format!(
                "'{}' ({} ticket(s) awaiting approval)",
                r.try_get::<String, _>("name")?,
                r.try_get::<i64, _>("waiting")?
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Err(StoreError::Invalid(format!(
        "refused, nothing changed: config {} would have no active approver; name another approver first",
        names.join(", ")
    )))
}

/// A config with its active approvers (named or through groups).
async fn config_in(conn: &mut AnyConnection, id: ConfigId) -> Result<RefreshConfig> {
    let row = sqlx::query(
        "SELECT id, name, approved_models, options, peripheral_bundle, peripherals, software FROM refresh_configs WHERE id = $1",
    )
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("refresh config {id}")))?;
    let approvers = sqlx::query("SELECT person_id FROM active_approvers WHERE config_id = $1 ORDER BY person_id")
        .bind(id.0)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get("person_id").map(PersonId))
        .collect::<Result<_, _>>()?;
    let list = |col: &str| -> Result<Vec<String>> {
        serde_json::from_str(&row.try_get::<String, _>(col)?).map_err(|e| bad(col, e))
    };
    Ok(RefreshConfig {
        id,
        name: row.try_get("name")?,
        approvers,
        approved_models: approved_models(&row.try_get::<String, _>("approved_models")?)?,
        peripheral_bundle: list("peripheral_bundle")?,
        peripherals: list("peripherals")?,
        software: list("software")?,
        options: serde_json::from_str(&row.try_get::<String, _>("options")?).map_err(|e| bad("options", e))?,
    })
}

/// Approved models as stored: `{model, platform}` objects; configs made
/// before platforms were recorded hold bare names, read as platform `other`.
fn approved_models(text: &str) -> Result<Vec<ApprovedModel>> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Model(ApprovedModel),
        Name(String),
    }
    let stored: Vec<Stored> = serde_json::from_str(text).map_err(|e| bad("approved models", e))?;
    Ok(stored
        .into_iter()
        .map(|s| match s {
            Stored::Model(m) => m,
            Stored::Name(model) => ApprovedModel { model, platform: Platform::Other },
        })
        .collect())
}

impl Store {
    /// Adds or updates one person (tests, scenarios); see [`Store::sync_directory`].
    pub async fn upsert_person(&self, p: &NewPerson) -> Result<PersonId> {
        let mut conn = self.pool.acquire().await?;
        Ok(put_person(&mut conn, p, PersonSource::Import).await?.0)
    }

    /// The active people holding `role`.
    pub async fn people_with_role(&self, role: Role) -> Result<Vec<Person>> {
        people_holding(&mut *self.pool.acquire().await?, role).await
    }

    /// The active members of the group with this name (none if there is no such group).
    pub async fn group_members(&self, group: &str) -> Result<Vec<PersonId>> {
        let rows = sqlx::query(
            "SELECT m.person_id FROM group_members m JOIN person_groups g ON g.id = m.group_id
             JOIN people p ON p.id = m.person_id WHERE g.name = $1 AND p.deactivated_at IS NULL ORDER BY m.person_id",
        )
        .bind(group.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(PersonId(r.try_get("person_id")?))).collect()
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

    /// The active person a Slack user is, if deskbell knows them.
    pub async fn person_by_slack(&self, user: &str) -> Result<Option<Person>> {
        let row = sqlx::query(
            "SELECT id, name, email, slack_user, roles FROM people WHERE slack_user = $1 AND deactivated_at IS NULL",
        )
        .bind(user)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(person_from_row).transpose()
    }

    /// Adds or updates one team without a location (tests, scenarios).
    pub async fn upsert_team(&self, name: &str, channel: &SlackChannelId, calendar: &str) -> Result<TeamId> {
        let t = DirTeam {
            name: name.into(),
            slack_channel: channel.clone(),
            calendar: calendar.into(),
            location: None,
            slots: Vec::new(),
        };
        let mut conn = self.pool.acquire().await?;
        Ok(put_team(&mut conn, &t).await?.0)
    }

    pub async fn team(&self, id: TeamId) -> Result<SupportTeam> {
        let row = sqlx::query("SELECT id, name, slack_channel, calendar, location FROM teams WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("team {id}")))?;
        team_from_row(&row)
    }

    /// The active teams.
    pub async fn teams(&self) -> Result<Vec<SupportTeam>> {
        let rows = sqlx::query(
            "SELECT id, name, slack_channel, calendar, location FROM teams WHERE deactivated_at IS NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(team_from_row).collect()
    }

    /// An active team by name.
    pub async fn team_by_name(&self, name: &str) -> Result<Option<SupportTeam>> {
        let row = sqlx::query(
            "SELECT id, name, slack_channel, calendar, location FROM teams WHERE name = $1 AND deactivated_at IS NULL",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(team_from_row).transpose()
    }

    /// Creates or replaces a config with named approvers and no catalogues
    /// (tests, scenarios); see [`Store::sync_directory`].
    pub async fn upsert_config(&self, name: &str, approvers: &[PersonId], options: ConfigOptions) -> Result<ConfigId> {
        let c = DirConfig {
            name: name.into(),
            approvers: Vec::new(),
            approved_models: Vec::new(),
            peripheral_bundle: Vec::new(),
            peripherals: Vec::new(),
            software: Vec::new(),
            options,
            approval: Default::default(),
            fallback: None,
        };
        let mut tx = self.begin_write().await?;
        let id = put_config(&mut tx, &c, approvers, &[]).await?.0;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn config(&self, id: ConfigId) -> Result<RefreshConfig> {
        config_in(&mut *self.pool.acquire().await?, id).await
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

    /// An active config by name.
    pub async fn config_id(&self, name: &str) -> Result<Option<ConfigId>> {
        let row = sqlx::query("SELECT id FROM refresh_configs WHERE name = $1 AND deactivated_at IS NULL")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("id").map(ConfigId)).transpose()?)
    }

    /// Active staff (anyone with a role beyond customer or delegate) who
    /// have no Slack id, least recently looked up first.
    pub async fn unlinked_staff(&self, limit: i64) -> Result<Vec<Person>> {
        let rows = sqlx::query(
            "SELECT id, name, email, slack_user, roles FROM people
             WHERE slack_user IS NULL AND deactivated_at IS NULL
               AND roles NOT IN ('', 'customer', 'delegate', 'customer,delegate', 'delegate,customer')
             ORDER BY COALESCE(slack_lookup_at, 0), id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(person_from_row).collect()
    }

    pub async fn mark_slack_lookup(&self, id: PersonId, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE people SET slack_lookup_at = $2 WHERE id = $1")
            .bind(id.0)
            .bind(ms(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Gives a person without one their Slack id (found by email).
    pub async fn link_slack(&self, email: &Email, user: &SlackUserId) -> Result<bool> {
        link_slack_in(&mut *self.pool.acquire().await?, email, user).await
    }
}
