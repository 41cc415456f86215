//! The directory as data (DESIGN rule 7): the people with their roles, the
//! groups, the support teams and the refresh configs of one desk, read from
//! a directory file (`deskbell directory sync`, `[directory] file` at start),
//! the REST API or a people CSV, and applied by one store function. The demo
//! is only such a file. This module reads and checks a document; nothing
//! here touches the database.

mod file;

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveTime, Weekday};
use serde::Deserialize;

pub use file::{from_json, from_toml, load};

use crate::domain::refresh::ApprovalSettings;
use crate::domain::{ApprovedModel, ConfigOptions, Email, Role, SlackChannelId, SlackUserId};

/// A checked directory: every email parsed and unique, every calendar
/// found, every approver a group of the file or an email. People named by
/// email but not listed (staff from `import people`) are looked up when
/// the directory is applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    pub people: Vec<NewPerson>,
    pub groups: Vec<DirGroup>,
    pub teams: Vec<DirTeam>,
    pub configs: Vec<DirConfig>,
    pub delegations: Vec<DirDelegation>,
}

/// An approver's delegation set by the directory (as `/delegate` does):
/// `{ approver = "ann@…", delegate = "dee@…", until = 2027-01-08 }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirDelegation {
    pub approver: Email,
    pub delegate: Email,
    #[serde(default, with = "day::optional")]
    pub from: Option<NaiveDate>,
    #[serde(with = "day")]
    pub until: NaiveDate,
}

/// A person as a directory file, an import or a ticket gives them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    pub name: String,
    pub email: Email,
    #[serde(default)]
    pub slack_user: Option<SlackUserId>,
    #[serde(default)]
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirGroup {
    pub name: String,
    pub members: Vec<Email>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirTeam {
    pub name: String,
    pub slack_channel: SlackChannelId,
    /// A calendar file's name in the calendars directory.
    pub calendar: String,
    /// Where unit-specified-location refreshes are handed over.
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub slots: Vec<DirSlot>,
}

/// A weekly slot preference: `{ weekday = "Tue", start = "09:00", … }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirSlot {
    pub weekday: Weekday,
    #[serde(with = "hh_mm")]
    pub start: NaiveTime,
    pub length_minutes: u32,
    pub capacity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirConfig {
    pub name: String,
    /// People (by email) or groups (by name) who approve this config's refreshes.
    pub approvers: Vec<String>,
    #[serde(default)]
    pub approved_models: Vec<ApprovedModel>,
    /// The peripherals every refresh of this config gets.
    #[serde(default)]
    pub peripheral_bundle: Vec<String>,
    /// What a customer may choose from when customizing peripherals.
    #[serde(default)]
    pub peripherals: Vec<String>,
    /// The curated software a customer may request.
    #[serde(default)]
    pub software: Vec<String>,
    #[serde(default)]
    pub options: ConfigOptions,
    /// The rule, reminders and fallback days of its approvals.
    #[serde(default)]
    pub approval: ApprovalSettings,
    /// Who approves (a person by email, or a group) when the approvers are
    /// away or slow; without one, requests wait for the approvers.
    #[serde(default)]
    pub fallback: Option<String>,
}

/// One approver entry of a config, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApproverRef {
    Person(Email),
    Group(String),
}

impl DirConfig {
    /// Each approver entry as a group (when a group has that name) or a person.
    pub fn approver_refs(&self, groups: &[DirGroup]) -> Vec<ApproverRef> {
        self.approvers
            .iter()
            .map(|a| match groups.iter().any(|g| g.name == *a) {
                true => ApproverRef::Group(a.clone()),
                false => ApproverRef::Person(Email::parse(a).expect("checked by Directory::check")),
            })
            .collect()
    }
}

/// A day as a TOML date (`2027-01-08`, unquoted) or, in JSON, a string.
mod day {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Day {
        Toml(toml::value::Datetime),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        let text = match Day::deserialize(d)? {
            Day::Toml(t) => t.to_string(),
            Day::Text(s) => s,
        };
        text.parse().map_err(|_| serde::de::Error::custom(format!("'{text}' is not a day (YYYY-MM-DD)")))
    }

    pub mod optional {
        use super::*;

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
}

mod hh_mm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let s = String::deserialize(d)?;
        NaiveTime::parse_from_str(&s, "%H:%M")
            .map_err(|_| serde::de::Error::custom(format!("start '{s}' is not a time of day HH:MM")))
    }
}

/// Where an entry sits in its document, for errors: `line 12` in a file,
/// `people[3]` in a JSON body.
pub type Place = String;

/// Names longer than this are refused: they end up in Slack and mail.
const MAX_NAME: usize = 200;

impl Directory {
    /// Checks entries read with their places against the calendars that
    /// exist; every problem is reported, each `place: why`.
    pub fn check(
        people: Vec<(Place, NewPerson)>,
        groups: Vec<(Place, DirGroup)>,
        teams: Vec<(Place, DirTeam)>,
        configs: Vec<(Place, DirConfig)>,
        delegations: Vec<(Place, DirDelegation)>,
        calendars: &[&str],
    ) -> Result<Self, Vec<String>> {
        let mut errors = Vec::new();
        let mut bad = |place: &Place, why: String| errors.push(format!("{place}: {why}"));
        let mut emails: HashMap<&Email, &Place> = HashMap::new();
        let mut slack_ids: HashMap<&SlackUserId, &Place> = HashMap::new();
        for (place, p) in &people {
            if p.name.trim().is_empty() || p.name.len() > MAX_NAME {
                bad(place, format!("person {}: name must have 1 to {MAX_NAME} characters", p.email));
            }
            if let Some(first) = emails.insert(&p.email, place) {
                bad(place, format!("person {} is also at {first}", p.email));
            }
            if let Some(id) = &p.slack_user
                && let Some(first) = slack_ids.insert(id, place)
            {
                bad(place, format!("slack_user {id} is also given at {first}"));
            }
        }
        let mut group_names = HashSet::new();
        for (place, g) in &groups {
            if !group_names.insert(g.name.as_str()) {
                bad(place, format!("group '{}' is defined twice", g.name));
            }
            if g.name.contains('@') {
                bad(
                    place,
                    format!("group '{}': a group name cannot contain @ (approvers name people by email)", g.name),
                );
            }
        }
        let mut team_names = HashSet::new();
        for (place, t) in &teams {
            if !team_names.insert(t.name.as_str()) {
                bad(place, format!("team '{}' is defined twice", t.name));
            }
            if t.name.trim().is_empty() || t.name.len() > MAX_NAME {
                bad(place, format!("team name must have 1 to {MAX_NAME} characters, not '{}'", t.name));
            }
            if !calendars.contains(&t.calendar.as_str()) {
                let known = if calendars.is_empty() { "none".into() } else { calendars.join(", ") };
                bad(
                    place,
                    format!("team '{}': calendar '{}' is not in the calendars directory ({known})", t.name, t.calendar),
                );
            }
            for s in t.slots.iter().filter(|s| s.length_minutes == 0 || s.capacity == 0) {
                bad(
                    place,
                    format!(
                        "team '{}': the {} {} slot needs a length and a capacity above 0",
                        t.name, s.weekday, s.start
                    ),
                );
            }
        }
        let mut config_names = HashSet::new();
        for (place, c) in &configs {
            if !config_names.insert(c.name.as_str()) {
                bad(place, format!("config '{}' is defined twice", c.name));
            }
            if c.approvers.is_empty() {
                bad(place, format!("config '{}' has no approvers", c.name));
            }
            for a in c.approvers.iter().filter(|a| !group_names.contains(a.as_str()) && Email::parse(a).is_err()) {
                bad(place, format!("config '{}': approver '{a}' is neither an email nor a group of this file", c.name));
            }
            if let Some(f) =
                c.fallback.as_ref().filter(|f| !group_names.contains(f.as_str()) && Email::parse(f).is_err())
            {
                bad(place, format!("config '{}': fallback '{f}' is neither an email nor a group of this file", c.name));
            }
            if let Err(why) = c.approval.check() {
                bad(place, format!("config '{}': {why}", c.name));
            }
        }
        for (place, d) in &delegations {
            if d.approver == d.delegate {
                bad(place, format!("{} cannot delegate to themselves", d.approver));
            }
            if d.from.is_some_and(|from| from > d.until) {
                bad(place, format!("the delegation of {} ends before it starts", d.approver));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        fn strip<T>(v: Vec<(Place, T)>) -> Vec<T> {
            v.into_iter().map(|(_, x)| x).collect()
        }
        Ok(Self {
            people: strip(people),
            groups: strip(groups),
            teams: strip(teams),
            configs: strip(configs),
            delegations: strip(delegations),
        })
    }
}
