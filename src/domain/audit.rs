//! Audits record what deskbell and people changed; events record what was
//! seen changing in external systems (TDX, ServiceNow).

use super::{PersonId, TicketRef};
use chrono::{DateTime, Utc};

/// Who caused a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Person(PersonId),
    /// deskbell itself (timers, cron jobs).
    System,
    /// An external system such as TDX, by name.
    External(String),
}

impl Actor {
    /// Reads back what [`Actor`]'s `Display` wrote (`person:12`, `system`,
    /// `external:tdx`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.split_once(':') {
            None if s == "system" => Some(Self::System),
            Some(("person", id)) => id.parse().ok().map(|id| Self::Person(PersonId(id))),
            Some(("external", name)) if !name.is_empty() => Some(Self::External(name.to_owned())),
            _ => None,
        }
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Person(id) => write!(f, "person:{id}"),
            Self::System => f.write_str("system"),
            Self::External(name) => write!(f, "external:{name}"),
        }
    }
}

vocabulary! {
    /// What an audit line is about; stored as its snake_case name, and the key
    /// a message's template reads the change under (`audits.denied`).
    pub enum AuditField {
        Created,
        Status,
        HoldReason,
        CancelReason,
        /// An approver's reason to deny.
        Denied,
        Replacement,
        /// The customer changed where their system is (`000_*`).
        Location,
        ItsmRequest,
        Slot,
        Assignee,
        Acknowledged,
        ThresholdPassed,
        Tier,
        /// Somebody tried what they may not: the action, and why not.
        Refused,
        /// A customer's emailed reply, as read.
        CustomerNote,
        /// An approval decision: on whose behalf (person ids), and which.
        ApprovalVote,
        /// An approver's request moved: from whom to whom (person ids, why).
        ApprovalWith,
        /// A step of an order's approval decided: the step, and how.
        OrderApproval,
        /// The devices of a decommission were sanitized.
        Sanitized,
        /// The transaction a close recorded: its kind and minutes.
        Transaction,
    }
}

/// One audited change: `what` changed from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub what: AuditField,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Change {
    pub fn new(what: AuditField, from: impl Into<Option<String>>, to: impl Into<Option<String>>) -> Self {
        Self { what, from: from.into(), to: to.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub ticket: TicketRef,
    pub actor: Actor,
    pub change: Change,
    pub at: DateTime<Utc>,
}

/// A change observed in an external system, kept as the system reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalEvent {
    pub ticket: TicketRef,
    pub source: String,
    pub kind: String,
    pub detail: String,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_round_trip_through_text() {
        for a in [Actor::System, Actor::Person(PersonId(12)), Actor::External("tdx".into())] {
            assert_eq!(Actor::parse(&a.to_string()), Some(a));
        }
        assert_eq!(Actor::parse("person:x"), None);
        assert_eq!(Actor::parse("robot"), None);
    }
}
