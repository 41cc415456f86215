//! `deskbell serve --demo`: a few teams, people, refresh configs and a
//! ticket batch from `config/demo/`, so a fresh clone shows the product at
//! work. Loading twice changes nothing.

use std::path::Path;

use anyhow::Context as _;
use chrono::{DateTime, NaiveTime, Utc, Weekday};
use serde::Deserialize;

use crate::domain::{ConfigOptions, Email, Role, SlackChannelId, SlackUserId, SlotPreference};
use crate::startup::Resources;
use crate::store::NewPerson;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoFile {
    people: Vec<DemoPerson>,
    teams: Vec<DemoTeam>,
    configs: Vec<DemoConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoPerson {
    name: String,
    email: Email,
    slack_user: Option<SlackUserId>,
    roles: Vec<Role>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoTeam {
    name: String,
    slack_channel: SlackChannelId,
    calendar: String,
    #[serde(default)]
    slots: Vec<DemoSlot>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoSlot {
    weekday: Weekday,
    start: String,
    length_minutes: u32,
    capacity: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoConfig {
    name: String,
    approvers: Vec<Email>,
    approved_models: Vec<String>,
    #[serde(default)]
    options: ConfigOptions,
}

/// Loads `dir/demo.toml`, then imports `dir/batch.csv` if no ticket exists yet.
pub async fn load(res: &Resources, dir: &Path, now: DateTime<Utc>) -> anyhow::Result<()> {
    let path = dir.join("demo.toml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let demo: DemoFile = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), crate::config::one_line(&e.to_string())))?;
    let store = &res.store;
    for p in &demo.people {
        let new = NewPerson {
            name: p.name.clone(),
            email: p.email.clone(),
            slack_user: p.slack_user.clone(),
            roles: p.roles.clone(),
        };
        store.upsert_person(&new).await?;
    }
    for t in &demo.teams {
        let team = store.upsert_team(&t.name, &t.slack_channel, &t.calendar).await?;
        let prefs = t
            .slots
            .iter()
            .map(|s| {
                let start = NaiveTime::parse_from_str(&s.start, "%H:%M").with_context(|| {
                    format!("{}: team {}: start '{}' is not HH:MM", path.display(), t.name, s.start)
                })?;
                Ok(SlotPreference {
                    team,
                    weekday: s.weekday,
                    start,
                    length_minutes: s.length_minutes,
                    capacity: s.capacity,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        store.set_slot_preferences(team, &prefs).await?;
    }
    for c in &demo.configs {
        let mut approvers = Vec::new();
        for email in &c.approvers {
            let person = store.person_by_email(email).await?.with_context(|| {
                format!("{}: config {}: approver {email} is not among the people", path.display(), c.name)
            })?;
            approvers.push(person.id);
        }
        store.upsert_config(&c.name, &approvers, &c.approved_models, c.options).await?;
    }
    res.check_teams().await?;
    if store.refresh_count().await? == 0 {
        let batch = dir.join("batch.csv");
        let csv = std::fs::read_to_string(&batch).with_context(|| format!("cannot read {}", batch.display()))?;
        let created = crate::import::refresh_batch(store, &res.calendars, &res.routing, now, &csv).await?;
        tracing::info!(tickets = created.len(), "demo batch imported");
    }
    Ok(())
}
