//! Service tickets: incidents and requests with a priority (P1–P5), worked
//! by engineers in tiers, on the SLA clock of `004_*`. This module holds the
//! ticket and its lifecycle; escalation chains build on its epochs.

mod chains;
pub mod policy;
pub mod request;
mod transition;

use chrono::{DateTime, Utc};

pub use chains::Sla;
pub use transition::{ServiceCtx, ServiceEvent};

use super::{DomainError, PersonId, ServiceTicketId, TeamId, TicketRef};

vocabulary! {
    pub enum ServiceStatus {
        New,
        Assigned,
        InProgress,
        WaitingOnClient,
        Escalated,
        OnHold,
        Resolved,
        Closed,
    }
}

vocabulary! {
    pub enum ServiceKind {
        Incident,
        Request,
    }
}

vocabulary! {
    as_written
    /// P1 (nobody can work) to P5 (a service request), from `001_*`/`003_*`;
    /// stored and shown as written.
    #[derive(PartialOrd, Ord)]
    pub enum Priority {
        P1,
        P2,
        P3,
        P4,
        P5,
    }
}

impl Priority {
    /// VIP tickets are handled one priority up (`002_*`); P1 stays P1.
    pub fn effective(self, vip: bool) -> Self {
        match (vip, self) {
            (false, p) | (true, p @ Self::P1) => p,
            (true, Self::P2) => Self::P1,
            (true, Self::P3) => Self::P2,
            (true, Self::P4) => Self::P3,
            (true, Self::P5) => Self::P4,
        }
    }
}

/// Tier 1, 2, 3, then onsite support: where escalation stops.
pub const LAST_TIER: u8 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTicket {
    pub id: ServiceTicketId,
    pub kind: ServiceKind,
    pub priority: Priority,
    pub vip: bool,
    pub issue_type: String,
    pub subtype: String,
    pub summary: String,
    /// The client who reported it.
    pub contact: PersonId,
    pub team: TeamId,
    pub assignee: Option<PersonId>,
    pub tier: u8,
    pub status: ServiceStatus,
    pub held_from: Option<ServiceStatus>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Bumped on every assignment, so steps of an earlier chain never fire.
    pub epoch: u32,
    pub status_since: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// The client-response target (business hours), kept through holds.
    pub response_due_at: Option<DateTime<Utc>>,
    /// When the client was first answered: the engineer acknowledged.
    pub responded_at: Option<DateTime<Utc>>,
    /// The client agency billed for its work.
    pub agency: Option<String>,
    pub request: Option<request::ServiceRequest>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewServiceTicket {
    pub kind: ServiceKind,
    pub priority: Priority,
    pub vip: bool,
    pub issue_type: String,
    pub subtype: String,
    pub summary: String,
    pub contact: PersonId,
    pub team: TeamId,
    pub agency: Option<String>,
    /// A named service request (`001_*`), P5.
    pub request: Option<request::NewRequest>,
}

impl NewServiceTicket {
    pub fn check(&self) -> Result<(), DomainError> {
        if self.summary.trim().is_empty() {
            return Err(DomainError::Invalid("a service ticket needs a summary".into()));
        }
        if self.kind == ServiceKind::Request && self.priority != Priority::P5 {
            return Err(DomainError::Invalid("service requests are P5".into()));
        }
        if self.request.is_some() && self.kind != ServiceKind::Request {
            return Err(DomainError::Invalid("a named service request is a request, not an incident".into()));
        }
        if self.request.is_some() && self.agency.is_none() {
            return Err(DomainError::Invalid("a service request names the client agency it bills".into()));
        }
        Ok(())
    }
}

impl ServiceTicket {
    pub fn reference(&self) -> TicketRef {
        self.id.into()
    }

    pub fn effective_priority(&self) -> Priority {
        self.priority.effective(self.vip)
    }
}

#[cfg(test)]
mod request_tests;
#[cfg(test)]
mod tests;
