//! Identifier newtypes, so a team id can never be passed where a person id is
//! expected, and ticket references (`R-12`, `S-7`) parsed in one place.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A person known to deskbell: customer, delegate, approver or staff.
    PersonId,
    /// A support team (NIT unit) with its channel and calendar.
    TeamId,
    /// A refresh config: approvers, approved models and customer options.
    ConfigId,
    /// A refresh ticket; shown to people as `R-<n>`.
    RefreshTicketId,
    /// A service ticket (incident or request); shown to people as `S-<n>`.
    ServiceTicketId,
    /// A schedule slot of a support team.
    SlotId,
);

/// The reference people see and type: `R-123` for a refresh ticket, `S-45`
/// for a service ticket. Audits, timers and dedupe keys are keyed by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TicketRef {
    Refresh(RefreshTicketId),
    Service(ServiceTicketId),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a ticket reference (expected R-<number> or S-<number>)")]
pub struct BadTicketRef(pub String);

impl TicketRef {
    pub fn parse(s: &str) -> Result<Self, BadTicketRef> {
        let bad = || BadTicketRef(s.to_owned());
        let (prefix, number) = s.trim().split_once('-').ok_or_else(bad)?;
        let n: i64 = number.parse().map_err(|_| bad())?;
        if n <= 0 {
            return Err(bad());
        }
        match prefix {
            "R" | "r" => Ok(Self::Refresh(RefreshTicketId(n))),
            "S" | "s" => Ok(Self::Service(ServiceTicketId(n))),
            _ => Err(bad()),
        }
    }
}

impl FromStr for TicketRef {
    type Err = BadTicketRef;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for TicketRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refresh(id) => write!(f, "R-{id}"),
            Self::Service(id) => write!(f, "S-{id}"),
        }
    }
}

impl From<RefreshTicketId> for TicketRef {
    fn from(id: RefreshTicketId) -> Self {
        Self::Refresh(id)
    }
}

impl From<ServiceTicketId> for TicketRef {
    fn from(id: ServiceTicketId) -> Self {
        Self::Service(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_both_kinds() {
        assert_eq!(TicketRef::parse("R-123").unwrap().to_string(), "R-123");
        assert_eq!(TicketRef::parse(" s-45 ").unwrap().to_string(), "S-45");
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "R", "R-", "R-x", "X-1", "R-0", "R--3", "123"] {
            assert!(TicketRef::parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
