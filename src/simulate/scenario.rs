//! The scenario file of `deskbell simulate` (TOML, documented in
//! `docs/simulate.md`): a time window, the people, teams and configs, and a
//! timeline of events. Checked whole before anything runs; each mistake
//! names its line.

use chrono::{DateTime, FixedOffset, NaiveTime, Weekday};
use serde::Deserialize;
use toml::Spanned;

use crate::domain::refresh::{Platform, Style};
use crate::domain::service::{Priority, ServiceKind};
use crate::domain::{Role, TicketRef};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    /// Overrides `[refresh] mac_engineering_email` (remote Mac refreshes).
    #[serde(default)]
    pub mac_engineering_email: Option<crate::domain::Email>,
    #[serde(default)]
    pub people: Vec<PersonSpec>,
    #[serde(default)]
    pub teams: Vec<TeamSpec>,
    #[serde(default)]
    pub configs: Vec<ConfigSpec>,
    #[serde(default)]
    pub events: Vec<Spanned<EventSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonSpec {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub slack: Option<String>,
    pub roles: Vec<Role>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotSpec {
    pub weekday: Weekday,
    pub start: NaiveTime,
    #[serde(default = "hour")]
    pub minutes: u32,
    #[serde(default = "one")]
    pub capacity: u32,
}

fn hour() -> u32 {
    60
}
fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamSpec {
    pub name: String,
    pub channel: String,
    pub calendar: String,
    #[serde(default)]
    pub slots: Vec<SlotSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigSpec {
    pub name: String,
    /// Approvers' emails.
    #[serde(default)]
    pub approvers: Vec<String>,
    #[serde(default)]
    pub approval: crate::domain::refresh::ApprovalSettings,
    /// The fallback approver's email.
    #[serde(default)]
    pub fallback: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventSpec {
    pub at: DateTime<FixedOffset>,
    /// `R-1`, `S-1`…: tickets are numbered in the order they are created.
    pub ticket: String,
    #[serde(flatten)]
    pub action: Action,
}

/// What happens; `do = "…"` in the file.
#[derive(Debug, Clone, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "do", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    CreateRefresh {
        style: Style,
        team: String,
        config: String,
        serial: String,
        #[serde(default = "windows")]
        platform: Platform,
        #[serde(default)]
        customer: Option<String>,
        #[serde(default)]
        delegate: Option<String>,
        /// A bump-down replacement known at creation.
        #[serde(default)]
        replacement: Option<String>,
    },
    WalkWizard {
        #[serde(default)]
        needs_approval: bool,
        #[serde(default)]
        location: Option<String>,
        #[serde(default)]
        shipping_address: Option<String>,
    },
    Approve {
        by: String,
    },
    Deny {
        by: String,
        reason: String,
    },
    AssignReplacement {
        serial: String,
        #[serde(default = "windows")]
        platform: Platform,
        #[serde(default)]
        tracking_number: Option<String>,
    },
    /// The n-th free slot of the ticket's team (from 1).
    PickSlot {
        #[serde(default = "first")]
        slot: usize,
    },
    Reschedule {
        slot: usize,
    },
    CustomerReschedule,
    Hold {
        reason: String,
    },
    Release,
    Cancel {
        reason: String,
    },
    /// TDX reports the system installed: the delivery is complete.
    TdxInstalled,
    CreateService {
        priority: Priority,
        #[serde(default)]
        vip: bool,
        #[serde(default = "incident")]
        kind: ServiceKind,
        summary: String,
        contact: String,
        team: String,
    },
    Assign {
        engineer: String,
    },
    Acknowledge {
        by: String,
    },
    WaitOnClient,
    CustomerReply,
    Escalate,
    Resolve,
    Close,
}

fn windows() -> Platform {
    Platform::Windows
}
fn first() -> usize {
    1
}
fn incident() -> ServiceKind {
    ServiceKind::Incident
}

/// One checked event: its time, ticket and line.
#[derive(Debug, Clone)]
pub struct Event {
    pub line: usize,
    pub at: DateTime<FixedOffset>,
    pub ticket: TicketRef,
    pub action: Action,
}

/// Line numbers of byte offsets, from the newlines' offsets counted once
/// (a scenario has one event per few lines, tens of thousands of them).
struct Lines(Vec<usize>);

impl Lines {
    fn of(text: &str) -> Self {
        Lines(text.match_indices('\n').map(|(i, _)| i).collect())
    }

    fn at(&self, offset: usize) -> usize {
        self.0.partition_point(|&newline| newline < offset) + 1
    }
}

/// Reads and checks a scenario; errors are `line: why`.
pub fn parse(text: &str) -> Result<(Scenario, Vec<Event>), String> {
    let lines = Lines::of(text);
    let mut scenario: Scenario = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| lines.at(s.start)).unwrap_or(1);
        format!("{at}: {}", crate::config::one_line(e.message()))
    })?;
    if scenario.end <= scenario.start {
        return Err("1: end must be after start".into());
    }
    let (mut refresh, mut service) = (0, 0);
    let mut events = Vec::new();
    for spanned in std::mem::take(&mut scenario.events) {
        let l = lines.at(spanned.span().start);
        let e = spanned.into_inner();
        let ticket = TicketRef::parse(&e.ticket).map_err(|err| format!("{l}: {err}"))?;
        if e.at < scenario.start || e.at > scenario.end {
            return Err(format!("{l}: {} is outside the scenario ({} to {})", e.at, scenario.start, scenario.end));
        }
        if let Some(before) = events.last().map(|b: &Event| b.at)
            && e.at < before
        {
            return Err(format!("{l}: events must be in time order ({} is before {before})", e.at));
        }
        let created = match (&e.action, ticket) {
            (Action::CreateRefresh { .. }, TicketRef::Refresh(id)) => {
                refresh += 1;
                Some((id.0, refresh))
            }
            (Action::CreateService { .. }, TicketRef::Service(id)) => {
                service += 1;
                Some((id.0, service))
            }
            (Action::CreateRefresh { .. } | Action::CreateService { .. }, _) => {
                return Err(format!("{l}: a created ticket is R-n for a refresh, S-n for a service ticket"));
            }
            _ => None,
        };
        match created {
            Some((id, n)) if id != n => return Err(format!("{l}: the ticket created here is {}", number(ticket, n))),
            Some(_) => {}
            None => {
                let known = match ticket {
                    TicketRef::Refresh(id) => id.0 <= refresh,
                    TicketRef::Service(id) => id.0 <= service,
                };
                if !known {
                    return Err(format!("{l}: unknown ticket {ticket} (not created before this event)"));
                }
            }
        }
        events.push(Event { line: l, at: e.at, ticket, action: e.action });
    }
    Ok((scenario, events))
}

fn number(t: TicketRef, n: i64) -> String {
    match t {
        TicketRef::Refresh(_) => format!("R-{n}"),
        TicketRef::Service(_) => format!("S-{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
start = "2026-11-02T09:00:00-05:00"
end = "2026-11-03T09:00:00-05:00"

[[events]]
at = "2026-11-02T09:00:00-05:00"
ticket = "S-1"
do = "create_service"
priority = "P1"
summary = "VPN down"
contact = "cara@example.edu"
team = "NIT North"

[[events]]
at = "2026-11-02T09:05:00-05:00"
ticket = "S-1"
do = "assign"
engineer = "eve@example.edu"
"#;

    #[test]
    fn a_good_scenario_reads() {
        let (_, events) = parse(BASE).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].line, 14, "the [[events]] header");
    }

    #[test]
    fn mistakes_name_their_line() {
        let unknown = BASE.replace("ticket = \"S-1\"\ndo = \"assign\"", "ticket = \"S-2\"\ndo = \"assign\"");
        assert_eq!(parse(&unknown).unwrap_err(), "14: unknown ticket S-2 (not created before this event)");
        let early = BASE.replace("2026-11-02T09:05:00-05:00", "2026-11-01T09:05:00-05:00");
        assert!(parse(&early).unwrap_err().starts_with("14: 2026-11-01 09:05:00 -05:00 is outside the scenario"));
        let bad_time = BASE.replace("2026-11-02T09:05:00-05:00", "tomorrow");
        assert!(parse(&bad_time).unwrap_err().starts_with("15: "), "{}", parse(&bad_time).unwrap_err());
        let bad_event = BASE.replace("do = \"assign\"", "do = \"teleport\"");
        assert!(parse(&bad_event).unwrap_err().contains("teleport"));
    }
}
