//! The SLA and escalation policy (`004_*`) as data: targets per priority
//! and the steps of each chain. Loaded from `config/escalation.toml` by
//! `config::escalation`; the state machine only reads it.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use strum::{Display, IntoStaticStr};

use super::Priority;
use crate::calendar::BusinessCalendar;
use crate::domain::{Role, Template};

/// How a delay is counted: on the wall clock, or in business hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    #[default]
    Wall,
    Business,
}

impl Clock {
    /// `after` past `from` on this clock.
    pub fn add(self, calendar: &BusinessCalendar, from: DateTime<Utc>, after: Duration) -> DateTime<Utc> {
        match self {
            Clock::Wall => from + after,
            Clock::Business => calendar.add_business_duration(from, after),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    pub internal_response: Duration,
    /// Counted in business hours.
    pub client_response: Duration,
    pub threshold: Duration,
}

/// Who a chain step tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Who {
    Assignee,
    Client,
    TeamChannel,
    Dispatcher,
    ServiceManager,
    ServiceDirector,
}

impl Who {
    pub fn role(self) -> Option<Role> {
        match self {
            Who::Dispatcher => Some(Role::Dispatcher),
            Who::ServiceManager => Some(Role::ServiceManager),
            Who::ServiceDirector => Some(Role::ServiceDirector),
            Who::Assignee | Who::Client | Who::TeamChannel => None,
        }
    }
}

/// The chains of `004_*`; each keys its timers and its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Display, IntoStaticStr, Deserialize)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ChainKind {
    Unassigned,
    Unacknowledged,
    WaitingOnClient,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainStep {
    pub priorities: Vec<Priority>,
    pub clock: Clock,
    pub after: Duration,
    pub notify: Vec<Who>,
    pub template: Template,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationPolicy {
    /// Business hours for client-response targets and business-clock steps;
    /// days off come from the team's calendar.
    pub business_hours: (NaiveTime, NaiveTime),
    /// P1 to P5.
    pub targets: [Targets; 5],
    pub unassigned: Vec<ChainStep>,
    pub unacknowledged: Vec<ChainStep>,
    pub waiting_on_client: Vec<ChainStep>,
    /// Open incidents of these priorities remind the assignee to post an
    /// update this often.
    pub status_updates: Vec<(Priority, Duration)>,
}

impl EscalationPolicy {
    pub fn targets(&self, p: Priority) -> Targets {
        self.targets[p as usize]
    }

    pub fn chain(&self, kind: ChainKind) -> &[ChainStep] {
        match kind {
            ChainKind::Unassigned => &self.unassigned,
            ChainKind::Unacknowledged => &self.unacknowledged,
            ChainKind::WaitingOnClient => &self.waiting_on_client,
        }
    }

    pub fn status_update_every(&self, p: Priority) -> Option<Duration> {
        self.status_updates.iter().find(|(q, _)| *q == p).map(|(_, d)| *d)
    }

    /// The team's calendar with the SLA's business hours.
    pub fn sla_calendar(&self, team: &BusinessCalendar) -> BusinessCalendar {
        let mut c = team.clone();
        (c.day_start, c.day_end) = self.business_hours;
        c
    }
}
