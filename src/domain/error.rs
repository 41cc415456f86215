use thiserror::Error;

/// Why the domain refused an event. Never a panic: adapters turn these into
/// an HTTP status, an ephemeral Slack reply or a CLI message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    #[error("{event} is not allowed while the ticket is {state}")]
    IllegalTransition { state: &'static str, event: &'static str },
    #[error("{0}")]
    Invalid(String),
}

impl DomainError {
    /// The refusal as a person reads it about `ticket`: statuses and events
    /// in words ("R-12 is already on hold"), not identifiers.
    pub fn for_people(&self, ticket: super::TicketRef) -> String {
        let words = |s: &str| s.replace('_', " ");
        match self {
            Self::IllegalTransition { state: "on_hold", event: "put_on_hold" } => {
                format!("{ticket} is already on hold.")
            }
            Self::IllegalTransition { state, event: "released" } => {
                format!("{ticket} is not on hold (it is {}).", words(state))
            }
            Self::IllegalTransition { state, event } => {
                format!("{ticket} is {}, so \u{201c}{}\u{201d} does not apply to it now.", words(state), words(event))
            }
            Self::Invalid(why) => why.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{RefreshTicketId, TicketRef};

    #[test]
    fn refusals_read_as_words() {
        let t = TicketRef::Refresh(RefreshTicketId(12));
        let held = DomainError::IllegalTransition { state: "on_hold", event: "put_on_hold" };
        assert_eq!(held.for_people(t), "R-12 is already on hold.");
        let release = DomainError::IllegalTransition { state: "pending_ordering", event: "released" };
        assert_eq!(release.for_people(t), "R-12 is not on hold (it is pending ordering).");
        let other = DomainError::IllegalTransition { state: "complete", event: "customer_reschedule_triggered" };
        assert_eq!(
            other.for_people(t),
            "R-12 is complete, so \u{201c}customer reschedule triggered\u{201d} does not apply to it now."
        );
    }
}
