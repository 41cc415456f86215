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
