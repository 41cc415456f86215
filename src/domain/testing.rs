//! Helpers for the state machines' tests.

use std::fmt::{Debug, Display};

use super::{DomainError, Effect, Recipient, Template};

/// The messages among some effects, as (template, recipient, dedupe key).
pub fn notifications(effects: &[Effect]) -> Vec<(Template, Recipient, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Notify(n) => Some((n.template, n.to.clone(), n.dedupe_key.clone())),
            _ => None,
        })
        .collect()
}

/// One cell of a transition table: a legal pair reaches `expected` and
/// leaves a trace; any other pair is refused with `IllegalTransition`
/// naming the state.
pub fn assert_transition<S, T>(
    status: S,
    event: &str,
    expected: Option<S>,
    got: Result<(T, Vec<Effect>), DomainError>,
    status_of: impl Fn(&T) -> S,
) where
    S: Copy + PartialEq + Debug + Display + Into<&'static str>,
    T: Debug,
{
    match (expected, got) {
        (Some(to), Ok((t, effects))) => {
            assert_eq!(status_of(&t), to, "{status} + {event}");
            assert!(!effects.is_empty(), "{status} + {event} left no trace");
        }
        (None, Err(DomainError::IllegalTransition { state, .. })) => assert_eq!(state, status.into()),
        (expected, got) => panic!("{status} + {event}: expected {expected:?}, got {got:?}"),
    }
}
