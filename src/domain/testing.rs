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

pub fn person(id: i64, roles: &[super::Role]) -> super::Person {
    super::Person {
        id: super::PersonId(id),
        name: format!("Person {id}"),
        email: super::Email::parse(&format!("p{id}@example.edu")).unwrap(),
        slack_user: None,
        roles: roles.to_vec(),
    }
}

pub fn config(approvers: &[super::PersonId]) -> super::RefreshConfig {
    super::RefreshConfig {
        id: super::ConfigId(1),
        name: "LSA 2026".into(),
        approvers: approvers.to_vec(),
        approved_models: vec![],
        peripheral_bundle: vec![],
        peripherals: vec![],
        software: vec![],
        options: super::ConfigOptions::default(),
    }
}

/// An on-prem ticket for `customer`.
pub fn refresh_ticket(customer: super::PersonId) -> super::refresh::RefreshTicket {
    use super::refresh::{NewRefreshTicket, Platform, RefreshStatus, RefreshTicket, Style, System};
    let new = NewRefreshTicket {
        style: Style::OnPrem,
        customer: Some(customer),
        delegate: None,
        no_customer: false,
        team: super::TeamId(1),
        config: super::ConfigId(1),
        existing: System { serial: "OLD1".into(), model: None, platform: Platform::Windows },
        replacement: None,
        location: None,
    };
    let fresh = RefreshTicket::fresh(super::RefreshTicketId(1), new, chrono::DateTime::UNIX_EPOCH);
    RefreshTicket { status: RefreshStatus::RequiresApproval, ..fresh }
}

/// The shipped escalation policy (config/escalation.toml).
pub fn escalation_policy() -> super::service::policy::EscalationPolicy {
    crate::config::escalation::parse(include_str!("../../config/escalation.toml")).unwrap()
}
