use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::America::Detroit;
use strum::IntoEnumIterator;

use super::*;
use crate::calendar::BusinessCalendar;
use crate::domain::testing::{assert_transition, notifications};
use crate::domain::{Effect, ItsmRequest, Recipient, Template, TimerKind};

fn cal() -> BusinessCalendar {
    let mut c = BusinessCalendar::standard("umich", Detroit);
    c.holidays.insert(NaiveDate::from_ymd_opt(2026, 9, 7).unwrap());
    c
}

fn at(cal: &BusinessCalendar, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    cal.at_local(NaiveDate::from_ymd_opt(2026, m, d).unwrap(), NaiveTime::from_hms_opt(h, min, 0).unwrap())
}

fn system(serial: &str, platform: Platform) -> System {
    System { serial: serial.into(), model: None, platform }
}

fn new_ticket(style: Style) -> NewRefreshTicket {
    NewRefreshTicket {
        style,
        customer: Some(PersonId(10)),
        delegate: None,
        no_customer: false,
        team: TeamId(1),
        config: ConfigId(1),
        existing: system("OLD1", Platform::Windows),
        replacement: None,
        location: None,
    }
}

fn ticket_in(status: RefreshStatus) -> RefreshTicket {
    let c = cal();
    let cadence = Cadence::default();
    let ctx = Ctx { now: at(&c, 11, 2, 9, 0), calendar: &c, policy: &cadence };
    let (mut t, _) = RefreshTicket::create(RefreshTicketId(1), new_ticket(Style::OnPrem), &ctx).unwrap();
    t.status = status;
    if status == RefreshStatus::OnHold {
        t.held_from = Some(RefreshStatus::PendingOrdering);
    }
    t
}

/// One sample of every event, named for the table below.
fn events() -> Vec<(&'static str, RefreshEvent)> {
    let when = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
    vec![
        ("timer_customer_begin", RefreshEvent::TimerFired { kind: TimerKind::CustomerBegin, step: 0 }),
        ("timer_wizard_reminder", RefreshEvent::TimerFired { kind: TimerKind::WizardReminder, step: 1 }),
        ("timer_wizard_expired", RefreshEvent::TimerFired { kind: TimerKind::WizardExpired, step: 0 }),
        ("timer_slot_reminder", RefreshEvent::TimerFired { kind: TimerKind::SlotReminder, step: 0 }),
        (
            "wizard",
            RefreshEvent::WizardCompleted {
                needs_approval: false,
                location: Some("B1".into()),
                shipping_address: None,
                answers: None,
            },
        ),
        (
            "wizard_approval",
            RefreshEvent::WizardCompleted {
                needs_approval: true,
                location: None,
                shipping_address: None,
                answers: None,
            },
        ),
        ("approved", RefreshEvent::Approved { by: None }),
        ("denied", RefreshEvent::Denied { by: None, reason: "no budget".into() }),
        (
            "replace_single",
            RefreshEvent::ReplacementAssigned {
                system: system("NEW1", Platform::Windows),
                tracking_number: None,
                bulk: false,
            },
        ),
        (
            "replace_bulk",
            RefreshEvent::ReplacementAssigned {
                system: system("NEW1", Platform::Windows),
                tracking_number: None,
                bulk: true,
            },
        ),
        ("itsm_found", RefreshEvent::ItsmSystemFound),
        ("itsm_created", RefreshEvent::ItsmRequestCreated { request: "TDX-9".into() }),
        ("slots_available", RefreshEvent::SlotsAvailable),
        ("slot_picked", RefreshEvent::SlotPicked { slot: SlotId(5), starts_at: when }),
        ("rescheduled", RefreshEvent::Rescheduled { slot: SlotId(6), starts_at: when }),
        ("customer_reschedule", RefreshEvent::CustomerRescheduleTriggered),
        ("hold", RefreshEvent::PutOnHold { reason: "customer away".into() }),
        ("released", RefreshEvent::Released),
        ("delivered", RefreshEvent::DeliveryConfirmed),
        ("cancelled", RefreshEvent::Cancelled { reason: "left the university".into() }),
    ]
}

/// Every legal (status, event) pair of an on-prem ticket and where it leads.
/// Any pair not listed must be refused with `IllegalTransition`.
fn legal(status: RefreshStatus, event: &str) -> Option<RefreshStatus> {
    use RefreshStatus::*;
    let any_open = !status.is_terminal();
    Some(match (status, event) {
        (_, "replace_single") if any_open => status,
        (_, "cancelled") if any_open => Cancelled,
        (s, "hold") if any_open && s != OnHold => OnHold,
        (PendingWizard, "timer_customer_begin" | "timer_wizard_reminder") => PendingWizard,
        (PendingWizard, "timer_wizard_expired") => PendingLocationInformation,
        (DeliveryScheduled, "timer_slot_reminder") => DeliveryScheduled,
        (PendingWizard | PendingLocationInformation, "wizard") => PendingOrdering,
        (PendingWizard | PendingLocationInformation, "wizard_approval") => RequiresApproval,
        (RequiresApproval, "approved") => PendingOrdering,
        (RequiresApproval, "denied") => Cancelled,
        (PendingOrdering, "replace_bulk") => PendingItsmExistence,
        (PendingItsmExistence, "itsm_found") => PendingScheduleSlotDiscovery,
        (PendingDelivery | DeliveryScheduled, "itsm_created") => status,
        (PendingScheduleSlotDiscovery, "slots_available") => PendingCustomerScheduling,
        (PendingCustomerScheduling, "slot_picked") => DeliveryScheduled,
        (DeliveryScheduled, "rescheduled") => DeliveryScheduled,
        (DeliveryScheduled, "customer_reschedule") => PendingCustomerScheduling,
        (OnHold, "released") => PendingOrdering,
        (PendingDelivery | DeliveryScheduled, "delivered") => Complete,
        _ => return None,
    })
}

#[test]
fn every_status_and_event_pair_is_legal_or_a_typed_error() {
    let c = cal();
    let cadence = Cadence::default();
    let ctx = Ctx { now: at(&c, 11, 3, 9, 0), calendar: &c, policy: &cadence };
    let mut checked = 0;
    for status in RefreshStatus::iter() {
        for (name, event) in events() {
            let got = ticket_in(status).apply(event, &ctx);
            assert_transition(status, name, legal(status, name), got, |t| t.status);
            checked += 1;
        }
    }
    assert_eq!(checked, 12 * 20);
}

fn ctx_at<'a>(c: &'a BusinessCalendar, cadence: &'a Cadence, now: DateTime<Utc>) -> Ctx<'a> {
    Ctx { now, calendar: c, policy: cadence }
}

fn timers(effects: &[Effect]) -> Vec<(TimerKind, u16, DateTime<Utc>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::SetTimer(t) => Some((t.kind, t.step, t.due_at)),
            _ => None,
        })
        .collect()
}

#[test]
fn creation_schedules_invite_reminders_and_expiry_on_business_days() {
    let c = cal();
    let cadence = Cadence::default();
    // Friday 17:59 before Labor Day: invite Tuesday 10:05.
    let ctx = ctx_at(&c, &cadence, at(&c, 9, 4, 17, 59));
    let (t, effects) = RefreshTicket::create(RefreshTicketId(7), new_ticket(Style::OnPrem), &ctx).unwrap();
    assert_eq!(t.status, RefreshStatus::PendingWizard);
    assert_eq!(
        timers(&effects),
        vec![
            (TimerKind::CustomerBegin, 0, at(&c, 9, 8, 10, 5)),
            (TimerKind::WizardReminder, 1, at(&c, 9, 15, 10, 5)),
            (TimerKind::WizardReminder, 2, at(&c, 9, 22, 10, 5)),
            (TimerKind::WizardExpired, 0, at(&c, 9, 28, 10, 5)),
        ]
    );
    assert!(notifications(&effects).is_empty(), "nothing is sent at creation");
}

#[test]
fn no_customer_tickets_skip_the_wizard_and_send_nothing() {
    let c = cal();
    let cadence = Cadence::default();
    let ctx = ctx_at(&c, &cadence, at(&c, 11, 2, 9, 0));
    let mut new = new_ticket(Style::OnPrem);
    new.no_customer = true;
    new.customer = None;
    let (t, effects) = RefreshTicket::create(RefreshTicketId(1), new, &ctx).unwrap();
    assert_eq!(t.status, RefreshStatus::PendingOrdering);
    assert!(timers(&effects).is_empty());
    // Timers fired by mistake still send nothing: there is no contact.
    let mut t2 = t.clone();
    t2.status = RefreshStatus::PendingWizard;
    let (_, effects) = t2.apply(RefreshEvent::TimerFired { kind: TimerKind::CustomerBegin, step: 0 }, &ctx).unwrap();
    assert!(notifications(&effects).is_empty());
}

#[test]
fn a_customer_ticket_without_customer_is_refused() {
    let c = cal();
    let cadence = Cadence::default();
    let mut new = new_ticket(Style::OnPrem);
    new.customer = None;
    let err = RefreshTicket::create(RefreshTicketId(1), new, &ctx_at(&c, &cadence, at(&c, 11, 2, 9, 0))).unwrap_err();
    assert!(matches!(err, DomainError::Invalid(_)));
}

#[test]
fn a_delegate_receives_customer_mail_instead_of_the_user() {
    let c = cal();
    let cadence = Cadence::default();
    let ctx = ctx_at(&c, &cadence, at(&c, 11, 2, 9, 0));
    let mut new = new_ticket(Style::OnPrem);
    new.delegate = Some(PersonId(99));
    let (t, _) = RefreshTicket::create(RefreshTicketId(3), new, &ctx).unwrap();
    let (_, effects) = t.apply(RefreshEvent::TimerFired { kind: TimerKind::WizardReminder, step: 2 }, &ctx).unwrap();
    assert_eq!(
        notifications(&effects),
        vec![(Template::WizardReminder, Recipient::Customer(PersonId(99)), "R-3/wizard_reminder/2".into())]
    );
}

#[test]
fn wizard_expiry_alerts_the_team_and_walking_it_cancels_the_cadence() {
    let c = cal();
    let cadence = Cadence::default();
    let ctx = ctx_at(&c, &cadence, at(&c, 11, 2, 9, 0));
    let t = ticket_in(RefreshStatus::PendingWizard);
    let (t, effects) = t.apply(RefreshEvent::TimerFired { kind: TimerKind::WizardExpired, step: 0 }, &ctx).unwrap();
    assert_eq!(t.status, RefreshStatus::PendingLocationInformation);
    assert_eq!(notifications(&effects)[0].1, Recipient::TeamChannel(TeamId(1)));
    let walked = RefreshEvent::WizardCompleted {
        needs_approval: true,
        location: Some("B1".into()),
        shipping_address: None,
        answers: None,
    };
    let (t, effects) = t.apply(walked, &ctx).unwrap();
    assert_eq!(t.location.as_deref(), Some("B1"));
    assert!(effects.contains(&Effect::CancelTimers(vec![
        TimerKind::CustomerBegin,
        TimerKind::WizardReminder,
        TimerKind::WizardExpired
    ])));
    assert!(notifications(&effects).is_empty(), "the approvers are asked once the request is routed");
    let approvers = Approvers { people: vec![PersonId(3)], fallback: vec![PersonId(9)], ..Approvers::default() };
    let (t, effects) = t.route_approval(&approvers, &ctx).unwrap();
    assert_eq!(
        notifications(&effects),
        vec![(Template::ApprovalRequest, Recipient::Approver(PersonId(3)), "R-1/approval_request/3".into())]
    );
    // Reminders after 2 and 5 business days at the cadence's hour, the fallback after 7.
    let due = |kind| -> Vec<String> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::SetTimer(t) if t.kind == kind => Some(c.local(t.due_at).to_string()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(due(TimerKind::ApprovalReminder), ["2026-11-04 10:05:00", "2026-11-09 10:05:00"]);
    assert_eq!(due(TimerKind::ApprovalFallback), ["2026-11-11 10:05:00"]);
    // Routed again with nothing changed: nothing happens.
    assert_eq!(t.route_approval(&approvers, &ctx).unwrap().1, vec![]);
}

#[test]
fn remote_tickets_need_an_address_and_a_tracking_number() {
    let c = cal();
    let cadence = Cadence::default();
    let ctx = ctx_at(&c, &cadence, at(&c, 11, 2, 9, 0));
    let mut t = ticket_in(RefreshStatus::PendingWizard);
    t.style = Style::RemoteCustomer;
    let no_address =
        RefreshEvent::WizardCompleted { needs_approval: false, location: None, shipping_address: None, answers: None };
    assert!(matches!(t.apply(no_address, &ctx), Err(DomainError::Invalid(_))));
    t.status = RefreshStatus::PendingOrdering;
    let untracked =
        RefreshEvent::ReplacementAssigned { system: system("N", Platform::Mac), tracking_number: None, bulk: true };
    assert!(matches!(t.apply(untracked, &ctx), Err(DomainError::Invalid(_))));
}

#[test]
fn remote_mac_asks_mac_engineering_and_remote_windows_closes_prestage_once_tdx_has_the_request() {
    let c = cal();
    let cadence = Cadence::default();
    let ctx = ctx_at(&c, &cadence, at(&c, 11, 2, 9, 0));
    for (platform, expect_mdm) in [(Platform::Mac, true), (Platform::Windows, false)] {
        let mut t = ticket_in(RefreshStatus::PendingItsmExistence);
        t.style = Style::RemoteCustomer;
        t.replacement = Some(system("N", platform));
        let (t, effects) = t.apply(RefreshEvent::ItsmSystemFound, &ctx).unwrap();
        assert_eq!(t.status, RefreshStatus::PendingDelivery);
        let sent: Vec<_> = notifications(&effects).into_iter().map(|n| n.0).collect();
        assert_eq!(sent.contains(&Template::MacMdmRequest), expect_mdm);
        assert!(sent.contains(&Template::TrackingNumber));
        assert!(effects.contains(&Effect::Itsm(ItsmRequest::CreateRequest { slot: None })));
        let (_, effects) = t.apply(RefreshEvent::ItsmRequestCreated { request: "7".into() }, &ctx).unwrap();
        assert_eq!(effects.contains(&Effect::Itsm(ItsmRequest::ClosePrestageTask)), !expect_mdm);
        assert!(notifications(&effects).is_empty(), "no team alert for at-home refreshes");
    }
}

#[test]
fn bump_down_skips_ordering_and_no_customer_gets_a_midnight_slot() {
    let c = cal();
    let cadence = Cadence::default();
    let ctx = ctx_at(&c, &cadence, at(&c, 11, 2, 9, 0));
    let mut new = new_ticket(Style::OnPrem);
    new.replacement = Some(system("RECYCLED", Platform::Windows));
    let (t, _) = RefreshTicket::create(RefreshTicketId(4), new, &ctx).unwrap();
    assert!(t.bump_down);
    let walked =
        RefreshEvent::WizardCompleted { needs_approval: false, location: None, shipping_address: None, answers: None };
    let (t, effects) = t.apply(walked, &ctx).unwrap();
    assert_eq!(t.status, RefreshStatus::PendingItsmExistence);
    assert!(effects.contains(&Effect::Itsm(ItsmRequest::LookupSystem { serial: "RECYCLED".into() })));

    let mut lab = ticket_in(RefreshStatus::PendingItsmExistence);
    lab.no_customer = true;
    let (lab, effects) = lab.apply(RefreshEvent::ItsmSystemFound, &ctx).unwrap();
    assert_eq!(lab.status, RefreshStatus::DeliveryScheduled);
    assert_eq!(lab.appointment_at, Some(at(&c, 11, 2, 0, 0)));
    assert!(notifications(&effects).is_empty());
}

#[test]
fn the_tdx_alert_goes_to_the_team_for_on_prem_only() {
    let c = cal();
    let cadence = Cadence::default();
    let ctx = ctx_at(&c, &cadence, at(&c, 11, 2, 9, 0));
    let created = RefreshEvent::ItsmRequestCreated { request: "TDX-1".into() };
    let (t, effects) = ticket_in(RefreshStatus::DeliveryScheduled).apply(created.clone(), &ctx).unwrap();
    assert_eq!(t.itsm_request.as_deref(), Some("TDX-1"));
    assert_eq!(notifications(&effects)[0].0, Template::TeamTdxAlert);
    assert!(t.apply(created.clone(), &ctx).is_err(), "a second request is refused");
    let mut remote = ticket_in(RefreshStatus::PendingDelivery);
    remote.style = Style::RemoteCustomer;
    let (_, effects) = remote.apply(created, &ctx).unwrap();
    assert!(notifications(&effects).is_empty());
}

#[test]
fn customer_reschedule_offers_slots_again_and_updates_the_existing_request() {
    let c = cal();
    let cadence = Cadence::default();
    let ctx = ctx_at(&c, &cadence, at(&c, 11, 2, 9, 0));
    let mut t = ticket_in(RefreshStatus::DeliveryScheduled);
    t.slot = Some(SlotId(5));
    t.itsm_request = Some("TDX-1".into());
    let (t, effects) = t.apply(RefreshEvent::CustomerRescheduleTriggered, &ctx).unwrap();
    assert_eq!((t.status, t.slot), (RefreshStatus::PendingCustomerScheduling, None));
    assert_eq!(notifications(&effects)[0].2, "R-1/slot_invitation/1", "a new key for the new offer");
    let picked = RefreshEvent::SlotPicked { slot: SlotId(8), starts_at: at(&c, 11, 9, 9, 0) };
    let (t, effects) = t.apply(picked, &ctx).unwrap();
    assert_eq!(t.slot, Some(SlotId(8)));
    assert!(effects.contains(&Effect::Itsm(ItsmRequest::UpdateAppointment { slot: SlotId(8) })));
}

#[test]
fn hold_and_release_return_to_the_same_status() {
    let c = cal();
    let cadence = Cadence::default();
    let ctx = ctx_at(&c, &cadence, at(&c, 11, 2, 9, 0));
    let t = ticket_in(RefreshStatus::PendingCustomerScheduling);
    let (held, effects) = t.apply(RefreshEvent::PutOnHold { reason: "away".into() }, &ctx).unwrap();
    assert!(effects.contains(&Effect::PauseTimers));
    let (back, effects) = held.apply(RefreshEvent::Released, &ctx).unwrap();
    assert_eq!((back.status, back.held_from), (RefreshStatus::PendingCustomerScheduling, None));
    assert!(effects.contains(&Effect::ResumeTimers));
}

#[test]
fn an_approval_decision_is_worked_out_once_from_the_status_change() {
    use super::ApprovalDecision as D;
    use RefreshStatus as S;
    assert_eq!(D::of(S::RequiresApproval, S::PendingOrdering, false), Some(D::Approved));
    assert_eq!(D::of(S::RequiresApproval, S::Cancelled, true), Some(D::Denied));
    assert_eq!(D::of(S::RequiresApproval, S::Cancelled, false), Some(D::Cancelled));
    assert_eq!(D::of(S::RequiresApproval, S::OnHold, false), None, "a hold is no decision");
    assert_eq!(D::of(S::PendingOrdering, S::Cancelled, false), None);
    let denial = [
        crate::domain::Change::new(
            crate::domain::AuditField::Status,
            Some("requires_approval".into()),
            Some("cancelled".into()),
        ),
        crate::domain::Change::new(crate::domain::AuditField::Denied, None, Some("no budget".into())),
    ];
    assert_eq!(D::in_change(&denial), Some(D::Denied));
    assert_eq!(D::Denied.to_string(), "denied");
}

#[test]
fn a_changed_location_is_audited_and_sent_to_tdx_for_confirmation() {
    let c = cal();
    let cadence = Cadence::default();
    let ctx = Ctx { now: at(&c, 11, 2, 9, 0), calendar: &c, policy: &cadence };
    let mut t = ticket_in(RefreshStatus::PendingWizard);
    t.location = Some("Angell Hall 1010".into());
    let walk = |to: &str| RefreshEvent::WizardCompleted {
        needs_approval: false,
        location: Some(to.into()),
        shipping_address: None,
        answers: Some(Box::new(WizardAnswers { location: Some(to.into()), ..WizardAnswers::default() })),
    };
    let (next, effects) = t.apply(walk("Mason Hall 2200"), &ctx).unwrap();
    assert_eq!(next.answers.unwrap().location.as_deref(), Some("Mason Hall 2200"));
    let confirm = ItsmRequest::ConfirmLocation { from: "Angell Hall 1010".into(), to: "Mason Hall 2200".into() };
    assert!(effects.contains(&Effect::Itsm(confirm)), "{effects:?}");
    let (_, same) = t.apply(walk("Angell Hall 1010"), &ctx).unwrap();
    assert!(!same.iter().any(|e| matches!(e, Effect::Itsm(ItsmRequest::ConfirmLocation { .. }))), "confirmed as is");
}
