//! Refresh tickets: one customer's device being replaced, walked through the
//! Otto workflow of `000_*` (wizard, approval, ordering, ITSM existence, slot
//! discovery and picking, delivery) and its customer email cadence.

mod approval;
mod transition;
mod wizard;

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

pub use approval::{
    Approval, ApprovalRule, ApprovalSettings, Approvers, Ask, AwayStatus, Delegation, Route, Via, Vote,
};
pub use transition::{Ctx, RefreshEvent};
pub use wizard::{DeviceChoice, FieldErrors, MAX_TEXT, ShippingAddress, WizardAnswers, WizardForm};

use super::{AuditField, ConfigId, DomainError, PersonId, RefreshTicketId, SlotId, TeamId, TicketRef};

vocabulary! {
    /// How an approval ended. Worked out once, here: the approvers' edited
    /// messages and the answers to late clicks both say it.
    pub enum ApprovalDecision {
        Approved,
        Denied,
        Cancelled,
    }
}

impl ApprovalDecision {
    /// The decision a status change made, if it was one: the ticket left
    /// `requires_approval` for ordering or for cancellation (a denial when
    /// the approver gave a reason). A hold is no decision.
    pub fn of(from: RefreshStatus, to: RefreshStatus, denied: bool) -> Option<Self> {
        match (from, to) {
            (RefreshStatus::RequiresApproval, RefreshStatus::PendingOrdering) => Some(Self::Approved),
            (RefreshStatus::RequiresApproval, RefreshStatus::Cancelled) if denied => Some(Self::Denied),
            (RefreshStatus::RequiresApproval, RefreshStatus::Cancelled) => Some(Self::Cancelled),
            _ => None,
        }
    }

    /// The decision among the audited changes of one transition.
    pub fn in_change<'a>(changes: impl IntoIterator<Item = &'a super::Change>) -> Option<Self> {
        let (mut status, mut denied) = (None, false);
        for c in changes {
            match c.what {
                AuditField::Status => {
                    status = Some((c.from.as_deref()?.parse().ok()?, c.to.as_deref()?.parse().ok()?));
                }
                AuditField::Denied => denied = true,
                _ => {}
            }
        }
        let (from, to) = status?;
        Self::of(from, to, denied)
    }
}

vocabulary! {
    pub enum RefreshStatus {
        /// Created; the customer is invited to walk the wizard.
        PendingWizard,
        RequiresApproval,
        PendingOrdering,
        PendingItsmExistence,
        PendingScheduleSlotDiscovery,
        PendingCustomerScheduling,
        PendingDelivery,
        DeliveryScheduled,
        PendingLocationInformation,
        OnHold,
        Complete,
        Cancelled,
    }
}

impl RefreshStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Complete | Self::Cancelled)
    }
}

vocabulary! {
    pub enum Style {
        /// Delivered on campus in a slot the customer picks.
        OnPrem,
        /// Shipped to the customer's home by the vendor, with a tracking number.
        RemoteCustomer,
        /// The customer comes to a location the unit chose, in a picked slot.
        UnitSpecifiedLocation,
    }
}

vocabulary! {
    pub enum Platform {
        Windows,
        Mac,
        Other,
    }
}

/// A computer: the customer's existing one or its replacement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct System {
    pub serial: String,
    pub model: Option<String>,
    pub platform: Platform,
}

/// When the cadence sends, in business days after the invite day (`000_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cadence {
    pub send_at: NaiveTime,
    pub reminder_days: Vec<u32>,
    pub expire_days: u32,
}

impl Default for Cadence {
    fn default() -> Self {
        Self {
            send_at: NaiveTime::from_hms_opt(10, 5, 0).expect("valid time"),
            reminder_days: vec![5, 10],
            expire_days: 14,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTicket {
    pub id: RefreshTicketId,
    pub status: RefreshStatus,
    /// The status to return to when released from `on_hold`.
    pub held_from: Option<RefreshStatus>,
    pub style: Style,
    /// The user of the existing system.
    pub customer: Option<PersonId>,
    /// A VIP's assistant who receives every message instead of the user.
    pub delegate: Option<PersonId>,
    /// Labs and loaners: no mail at all.
    pub no_customer: bool,
    /// The replacement is provided at creation (legacy or recycled device).
    pub bump_down: bool,
    pub team: TeamId,
    pub config: ConfigId,
    pub existing: System,
    pub replacement: Option<System>,
    pub tracking_number: Option<String>,
    pub location: Option<String>,
    pub shipping_address: Option<String>,
    /// What the customer answered on the refresh page, once they have.
    pub answers: Option<WizardAnswers>,
    /// Who holds each approver's request and what they decided, once the
    /// ticket awaits approval.
    pub approval: Option<Approval>,
    pub slot: Option<SlotId>,
    pub appointment_at: Option<DateTime<Utc>>,
    pub itsm_request: Option<String>,
    /// How many times a slot was (re)offered or moved; keys repeated messages.
    pub reschedules: u32,
    pub created_at: DateTime<Utc>,
}

/// The fields an admin or a batch import gives for a new ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshTicket {
    pub style: Style,
    pub customer: Option<PersonId>,
    pub delegate: Option<PersonId>,
    pub no_customer: bool,
    pub team: TeamId,
    pub config: ConfigId,
    pub existing: System,
    pub replacement: Option<System>,
    /// Where the existing system is, as the batch knows it: the customer's
    /// page shows it for them to confirm or change.
    pub location: Option<String>,
}

impl NewRefreshTicket {
    /// The rules a new ticket must satisfy before it exists at all.
    pub fn check(&self) -> Result<(), DomainError> {
        if !self.no_customer && self.customer.is_none() {
            return Err(DomainError::Invalid("a ticket needs a customer unless it is no_customer".into()));
        }
        if self.existing.serial.trim().is_empty() {
            return Err(DomainError::Invalid("the existing system needs a serial number".into()));
        }
        Ok(())
    }
}

impl RefreshTicket {
    pub fn reference(&self) -> TicketRef {
        self.id.into()
    }

    /// Who receives customer mail: the delegate if any, else the user, and
    /// nobody on a `no_customer` ticket.
    pub fn contact(&self) -> Option<PersonId> {
        if self.no_customer { None } else { self.delegate.or(self.customer) }
    }
}

#[cfg(test)]
mod tests;
