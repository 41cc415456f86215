use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};
use strum::IntoEnumIterator;

use super::policy::EscalationPolicy;
use crate::calendar::BusinessCalendar;
use crate::domain::{Effect, TimerKind};

use super::*;
use crate::domain::testing::{assert_transition, notifications};
use crate::domain::{Recipient, Role, Template};

fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap()
}

static POLICY: LazyLock<EscalationPolicy> = LazyLock::new(crate::domain::testing::escalation_policy);
static CALENDAR: LazyLock<BusinessCalendar> =
    LazyLock::new(|| POLICY.sla_calendar(&BusinessCalendar::standard("umich", chrono_tz::America::Detroit)));

fn ctx(now: DateTime<Utc>) -> ServiceCtx<'static> {
    ServiceCtx { now, calendar: &CALENDAR, policy: &POLICY }
}

fn new_ticket() -> NewServiceTicket {
    NewServiceTicket {
        kind: ServiceKind::Incident,
        priority: Priority::P1,
        vip: false,
        issue_type: "Hardware".into(),
        subtype: "Workstation - Troubleshooting".into(),
        summary: "Nobody can log in".into(),
        contact: PersonId(1),
        team: TeamId(1),
        agency: None,
        request: None,
    }
}

const ENGINEER: PersonId = PersonId(7);

fn ticket_in(status: ServiceStatus) -> ServiceTicket {
    let (mut t, _) = ServiceTicket::create(ServiceTicketId(1), new_ticket(), &ctx(now())).unwrap();
    t.status = status;
    if !matches!(status, ServiceStatus::New | ServiceStatus::Escalated) {
        t.assignee = Some(ENGINEER);
    }
    if status == ServiceStatus::OnHold {
        t.held_from = Some(ServiceStatus::InProgress);
    }
    t
}

fn events() -> Vec<(&'static str, ServiceEvent)> {
    vec![
        ("assign_other", ServiceEvent::Assign { engineer: PersonId(8) }),
        ("acknowledge", ServiceEvent::Acknowledge { by: ENGINEER }),
        ("wait", ServiceEvent::WaitOnClient),
        ("client_replied", ServiceEvent::ClientReplied),
        ("escalate", ServiceEvent::Escalate),
        ("hold", ServiceEvent::PutOnHold { reason: "vendor".into() }),
        ("released", ServiceEvent::Released),
        ("resolve", ServiceEvent::Resolve),
        ("close", ServiceEvent::Close { work: None }),
        ("decide", ServiceEvent::Decide { by: None, verdict: super::request::Verdict::Approve }),
        ("sanitized", ServiceEvent::Sanitized { by: ENGINEER }),
        ("reopen", ServiceEvent::Reopen),
        ("timer_unassigned", ServiceEvent::TimerFired { kind: TimerKind::Unassigned, step: 0 }),
        ("timer_unacknowledged", ServiceEvent::TimerFired { kind: TimerKind::Unacknowledged, step: 0 }),
        ("timer_waiting", ServiceEvent::TimerFired { kind: TimerKind::WaitingOnClient, step: 0 }),
        ("timer_threshold", ServiceEvent::TimerFired { kind: TimerKind::Threshold, step: 1 }),
        ("timer_status_update", ServiceEvent::TimerFired { kind: TimerKind::StatusUpdate, step: 1 }),
        ("timer_refresh", ServiceEvent::TimerFired { kind: TimerKind::CustomerBegin, step: 0 }),
    ]
}

fn legal(status: ServiceStatus, event: &str) -> Option<ServiceStatus> {
    use ServiceStatus::*;
    Some(match (status, event) {
        (New | Assigned | InProgress | Escalated, "assign_other") => Assigned,
        (Assigned, "acknowledge") => InProgress,
        (InProgress, "wait") => WaitingOnClient,
        (WaitingOnClient, "client_replied") => InProgress,
        (New | Escalated | Assigned | InProgress | WaitingOnClient, "escalate") => Escalated,
        (New | Assigned | InProgress | WaitingOnClient | Escalated, "hold") => OnHold,
        (OnHold, "released") => InProgress,
        (Assigned | InProgress | WaitingOnClient, "resolve") => Resolved,
        (Resolved | WaitingOnClient | New | Escalated, "close") => Closed,
        (Resolved, "reopen") => InProgress,
        (New | Escalated, "timer_unassigned") => status,
        (Assigned, "timer_unacknowledged") => Assigned,
        (WaitingOnClient, "timer_waiting") => WaitingOnClient,
        (New | Escalated | Assigned | InProgress, "timer_threshold") => Escalated,
        (WaitingOnClient, "timer_threshold") => status,
        (New | Assigned | InProgress | WaitingOnClient | Escalated, "timer_status_update") => status,
        _ => return None,
    })
}

#[test]
fn every_status_and_event_pair_is_legal_or_a_typed_error() {
    let mut checked = 0;
    for status in ServiceStatus::iter() {
        for (name, event) in events() {
            let got = ticket_in(status).apply(event, &ctx(now()));
            assert_transition(status, name, legal(status, name), got, |t| t.status);
            checked += 1;
        }
    }
    assert_eq!(checked, 8 * 18);
}

#[test]
fn creation_tells_the_client_it_was_received() {
    let (t, effects) = ServiceTicket::create(ServiceTicketId(45), new_ticket(), &ctx(now())).unwrap();
    assert_eq!(t.status, ServiceStatus::New);
    assert_eq!(
        notifications(&effects),
        vec![(Template::TicketReceived, Recipient::Customer(PersonId(1)), "S-45/ticket_received".into())]
    );
    let timers: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::SetTimer(t) => Some((t.kind, t.step, (t.due_at - now()).num_minutes())),
            _ => None,
        })
        .collect();
    let unassigned = |step, minutes| (TimerKind::Unassigned, step, minutes);
    assert_eq!(timers, [unassigned(0, 15), unassigned(1, 20), unassigned(2, 30), (TimerKind::Threshold, 1, 120)]);
    assert!(t.response_due_at.is_some() && t.responded_at.is_none());
}

#[test]
fn assigning_the_engineer_who_has_it_changes_nothing_and_tells_nobody() {
    for status in [ServiceStatus::Assigned, ServiceStatus::InProgress] {
        let t = ticket_in(status);
        let refused = t.apply(ServiceEvent::Assign { engineer: ENGINEER }, &ctx(now())).unwrap_err();
        assert_eq!(refused.to_string(), "S-1 is already assigned to them", "{status}: no new epoch, no messages");
    }
}

#[test]
fn each_assignment_starts_a_new_epoch_and_tells_client_and_engineer() {
    let t = ticket_in(ServiceStatus::New);
    let (t, effects) = t.apply(ServiceEvent::Assign { engineer: ENGINEER }, &ctx(now())).unwrap();
    assert_eq!((t.epoch, t.assignee), (1, Some(ENGINEER)));
    assert_eq!(
        notifications(&effects),
        vec![
            (Template::TechnicianAssigned, Recipient::Customer(PersonId(1)), "S-1/technician_assigned/1".into()),
            (Template::EngineerAssigned, Recipient::Staff(ENGINEER), "S-1/engineer_assigned/1".into()),
        ]
    );
    assert!(t.apply(ServiceEvent::Assign { engineer: ENGINEER }, &ctx(now())).is_err(), "same engineer twice");
    let (t, _) = t.apply(ServiceEvent::Assign { engineer: PersonId(8) }, &ctx(now())).unwrap();
    assert_eq!(t.epoch, 2);
}

#[test]
fn only_the_assignee_acknowledges() {
    let t = ticket_in(ServiceStatus::Assigned);
    assert!(matches!(
        t.apply(ServiceEvent::Acknowledge { by: PersonId(99) }, &ctx(now())),
        Err(DomainError::Invalid(_))
    ));
    let later = now() + Duration::minutes(12);
    let (t, _) = t.apply(ServiceEvent::Acknowledge { by: ENGINEER }, &ctx(later)).unwrap();
    assert_eq!((t.status, t.acknowledged_at, t.status_since), (ServiceStatus::InProgress, Some(later), later));
}

#[test]
fn escalation_moves_up_a_tier_and_stops_at_onsite() {
    let mut t = ticket_in(ServiceStatus::InProgress);
    let (e, effects) = t.apply(ServiceEvent::Escalate, &ctx(now())).unwrap();
    assert_eq!((e.tier, e.assignee), (2, None));
    let dispatchers = |r: &Recipient| matches!(r, Recipient::Escalation { roles, .. } if roles == &[Role::Dispatcher]);
    assert!(notifications(&effects).iter().any(|n| dispatchers(&n.1)));
    t.tier = LAST_TIER;
    assert!(matches!(t.apply(ServiceEvent::Escalate, &ctx(now())), Err(DomainError::Invalid(_))));
}

#[test]
fn status_updates_are_asked_only_of_an_engineer_who_acknowledged() {
    let fired = ServiceEvent::TimerFired { kind: TimerKind::StatusUpdate, step: 1 };
    let asked = |t: &ServiceTicket| {
        let (_, effects) = t.apply(fired.clone(), &ctx(now())).unwrap();
        notifications(&effects).iter().any(|n| n.0 == Template::StatusUpdateReminder)
    };
    let mut t = ticket_in(ServiceStatus::Assigned);
    assert!(!asked(&t), "not acknowledged: the unacknowledged chain chases them instead");
    t.acknowledged_at = Some(now());
    t.status = ServiceStatus::InProgress;
    assert!(asked(&t));
}

#[test]
fn the_released_engineer_is_told() {
    let (_, effects) = ticket_in(ServiceStatus::InProgress).apply(ServiceEvent::Escalate, &ctx(now())).unwrap();
    let told = Recipient::Escalation { roles: vec![Role::Dispatcher], assignee: Some(ENGINEER), team: None };
    assert!(notifications(&effects).contains(&(Template::EscalatedToTier, told, "S-1/escalated_to_tier/2".into())));
}

#[test]
fn an_unassigned_p1_past_its_threshold_goes_up_a_tier_and_pings_again() {
    let t = ticket_in(ServiceStatus::New);
    let fired = ServiceEvent::TimerFired { kind: TimerKind::Threshold, step: 1 };
    let (up, effects) = t.apply(fired, &ctx(now())).unwrap();
    assert_eq!((up.status, up.tier, up.epoch), (ServiceStatus::Escalated, 2, t.epoch + 1));
    let unassigned: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::SetTimer(timer) if timer.kind == TimerKind::Unassigned => Some(timer.step),
            _ => None,
        })
        .collect();
    assert_eq!(unassigned, [0, 1, 2], "the unassigned chain of the new tier runs");
    let (closed, _) = t.apply(ServiceEvent::Close { work: None }, &ctx(now())).unwrap();
    assert_eq!(closed.status, ServiceStatus::Closed, "a dispatcher closes a duplicate nobody took");
}

#[test]
fn vip_tickets_move_one_priority_up() {
    assert_eq!(Priority::P3.effective(true), Priority::P2);
    assert_eq!(Priority::P1.effective(true), Priority::P1);
    assert_eq!(Priority::P4.effective(false), Priority::P4);
    let mut new = new_ticket();
    new.kind = ServiceKind::Request;
    assert!(new.check().is_err(), "a request must be P5");
}
