//! Who may do what to a ticket. Slack, the API and the CLI's staff
//! commands all ask here, so a button cannot do more than its person may.

use strum::{Display, IntoStaticStr};

use super::refresh::RefreshTicket;
use super::{Person, RefreshConfig, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Display, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    Approve,
    Deny,
    Reschedule,
    Hold,
    Release,
    Cancel,
    /// Answer the refresh wizard: the customer, or staff providing the
    /// location of a ticket nobody answered for.
    WalkWizard,
    PickSlot,
    Acknowledge,
    AssignToMe,
    /// Record that a decommission's devices were sanitized.
    RecordSanitization,
}

/// Why a person may not act; said to them and kept in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

impl Person {
    /// Anyone deskbell knows other than customers and their delegates.
    pub fn is_staff(&self) -> bool {
        self.roles.iter().any(|r| !matches!(r, Role::Customer | Role::Delegate))
    }

    fn manages_refresh(&self) -> bool {
        self.has_role(Role::RefreshManager) || self.has_role(Role::RefreshAdmin)
    }

    /// May this person do `action` on a refresh ticket of `config`?
    /// Approving and denying belong to the config's approvers and to whoever
    /// holds one of their requests (a delegate, the fallback); moving
    /// appointments and holds to refresh managers and admins; a customer
    /// (or delegate) may pick a slot for their own ticket.
    pub fn may_refresh(&self, action: Action, ticket: &RefreshTicket, config: &RefreshConfig) -> Result<(), Refusal> {
        let allowed = match action {
            Action::Approve | Action::Deny => match &ticket.approval {
                Some(approval) => approval.involves(self.id),
                None => config.approvers.contains(&self.id),
            },
            Action::Reschedule | Action::Hold | Action::Release | Action::Cancel => self.manages_refresh(),
            Action::PickSlot | Action::WalkWizard => self.manages_refresh() || ticket.contact() == Some(self.id),
            Action::Acknowledge | Action::AssignToMe | Action::RecordSanitization => false,
        };
        if allowed {
            return Ok(());
        }
        let who = match action {
            Action::Approve | Action::Deny => format!("approvers of {}", config.name),
            Action::PickSlot | Action::WalkWizard => {
                format!("the customer of {} or refresh managers", ticket.reference())
            }
            _ => "refresh managers and admins".to_owned(),
        };
        Err(Refusal(format!("Only {who} may {} {}.", verb(action), ticket.reference())))
    }

    /// Engineers and dispatchers work service tickets.
    pub fn may_service(&self, action: Action) -> Result<(), Refusal> {
        let allowed = matches!(action, Action::Acknowledge | Action::AssignToMe | Action::RecordSanitization)
            && (self.has_role(Role::Engineer) || self.has_role(Role::Dispatcher));
        if allowed { Ok(()) } else { Err(Refusal(format!("Only engineers and dispatchers may {}.", verb(action)))) }
    }
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Approve => "approve",
        Action::Deny => "deny",
        Action::Reschedule => "reschedule",
        Action::Hold => "put on hold",
        Action::Release => "release",
        Action::Cancel => "cancel",
        Action::WalkWizard => "answer the wizard of",
        Action::PickSlot => "pick a slot for",
        Action::Acknowledge => "acknowledge tickets",
        Action::AssignToMe => "take tickets",
        Action::RecordSanitization => "record a sanitization",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PersonId;
    use crate::domain::testing::{config, person, refresh_ticket};

    #[test]
    fn only_the_configs_approvers_decide() {
        let ann = person(1, &[Role::Approver]);
        let other = person(2, &[Role::Approver, Role::RefreshAdmin]);
        let cfg = config(&[PersonId(1)]);
        let t = refresh_ticket(PersonId(9));
        assert_eq!(ann.may_refresh(Action::Approve, &t, &cfg), Ok(()));
        assert_eq!(ann.may_refresh(Action::Deny, &t, &cfg), Ok(()));
        let refused = other.may_refresh(Action::Approve, &t, &cfg).unwrap_err();
        assert!(refused.0.contains("approvers of"), "{refused}");
    }

    #[test]
    fn managers_move_appointments_and_customers_pick_their_own() {
        let cfg = config(&[]);
        let t = refresh_ticket(PersonId(9));
        let manager = person(1, &[Role::RefreshManager]);
        let engineer = person(2, &[Role::Engineer]);
        let customer = person(9, &[Role::Customer]);
        let stranger = person(10, &[Role::Customer]);
        for action in [Action::Reschedule, Action::Hold, Action::Release, Action::PickSlot] {
            assert_eq!(manager.may_refresh(action, &t, &cfg), Ok(()), "{action}");
            assert!(engineer.may_refresh(action, &t, &cfg).is_err(), "{action}");
        }
        assert_eq!(customer.may_refresh(Action::PickSlot, &t, &cfg), Ok(()));
        assert!(customer.may_refresh(Action::Hold, &t, &cfg).is_err());
        assert!(stranger.may_refresh(Action::PickSlot, &t, &cfg).is_err());
        assert!(engineer.may_service(Action::Acknowledge).is_ok());
        assert!(customer.may_service(Action::AssignToMe).is_err());
        assert!(!customer.is_staff() && engineer.is_staff());
    }
}
