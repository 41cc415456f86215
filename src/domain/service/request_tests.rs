//! Named requests on the pure ticket: an order's two approvals, a
//! decommission's sanitization, the work a close records, the device
//! changes it makes.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};

use super::request::{ApprovalStep, NewRequest, RequestPolicy, TransactionKind, Verdict, Work};
use super::*;
use crate::calendar::BusinessCalendar;
use crate::domain::devices::{DeviceChange, DeviceState};
use crate::domain::testing::notifications;
use crate::domain::{DomainError, Effect, Recipient, Template};

static POLICY: LazyLock<policy::EscalationPolicy> = LazyLock::new(crate::domain::testing::escalation_policy);
static CALENDAR: LazyLock<BusinessCalendar> =
    LazyLock::new(|| POLICY.sla_calendar(&BusinessCalendar::standard("umich", chrono_tz::America::Detroit)));
static REQUESTS: LazyLock<RequestPolicy> =
    LazyLock::new(|| crate::config::requests::parse(include_str!("../../../config/service_requests.toml")).unwrap());

fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap()
}

fn ctx() -> ServiceCtx<'static> {
    ServiceCtx { now: now(), calendar: &CALENDAR, policy: &POLICY }
}

const AGENCY_APPROVER: PersonId = PersonId(20);
const DESK_APPROVER: PersonId = PersonId(30);
const BOTH: PersonId = PersonId(40);
const ENGINEER: PersonId = PersonId(7);

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn create(kind: &str, given: &[(&str, &str)]) -> (ServiceTicket, Vec<Effect>) {
    let kind = REQUESTS.kind(kind).unwrap().clone();
    let fields = kind.check(&fields(given)).unwrap();
    let approvers = match kind.action {
        request::RequestAction::Order => {
            vec![(ApprovalStep::Agency, vec![AGENCY_APPROVER, BOTH]), (ApprovalStep::Desk, vec![DESK_APPROVER, BOTH])]
        }
        _ => Vec::new(),
    };
    let new = NewServiceTicket {
        kind: ServiceKind::Request,
        priority: Priority::P5,
        vip: false,
        issue_type: "Hardware".into(),
        subtype: kind.label.clone(),
        summary: "A request".into(),
        contact: PersonId(1),
        team: TeamId(1),
        agency: Some("LSA".into()),
        request: Some(NewRequest { kind, fields, approvers }),
    };
    ServiceTicket::create(ServiceTicketId(5), new, &ctx()).unwrap()
}

fn request(kind: &str, given: &[(&str, &str)]) -> ServiceTicket {
    create(kind, given).0
}

const ORDER: [(&str, &str); 3] = [("items", "Standard laptop"), ("replaces", "5CG1"), ("cost_approved", "yes")];

fn order() -> ServiceTicket {
    request("order_new_device", &ORDER)
}

fn apply(t: &ServiceTicket, event: ServiceEvent) -> Result<(ServiceTicket, Vec<Effect>), DomainError> {
    t.apply(event, &ctx())
}

fn refused(t: &ServiceTicket, event: ServiceEvent) -> String {
    match apply(t, event) {
        Err(DomainError::Invalid(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Who is asked to decide; the requests already posted are edited apart.
fn asked(effects: &[Effect]) -> Vec<PersonId> {
    notifications(effects)
        .into_iter()
        .filter(|(template, ..)| *template == Template::RequestApproval)
        .filter_map(|(_, to, _)| match to {
            Recipient::Approver(p) => Some(p),
            Recipient::ApprovalMessages => None,
            other => panic!("{other:?}"),
        })
        .collect()
}

fn edits(effects: &[Effect]) -> usize {
    notifications(effects).iter().filter(|(_, to, _)| *to == Recipient::ApprovalMessages).count()
}

#[test]
fn every_missing_or_bad_field_is_told_at_once() {
    let kind = REQUESTS.kind("decommission_device").unwrap();
    let errors = kind.check(&fields(&[("disposition", "landfill"), ("colour", "red")])).unwrap_err();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].starts_with("colour: decommission_device has no such field"), "{errors:?}");
    assert!(errors[1].starts_with("serials: Serial(s)"), "{errors:?}");
    assert!(errors[2].contains("'landfill' is not one of spare, disaster_reserve, surplus"), "{errors:?}");
    let long = "x".repeat(request::MAX_FIELD + 1);
    let errors = kind.check(&fields(&[("serials", &long), ("disposition", "spare")])).unwrap_err();
    assert_eq!(errors, ["serials: is longer than 500 characters"]);
    let order = REQUESTS.kind("order_new_device").unwrap();
    let errors = order.check(&fields(&[("items", "laptop"), ("replaces", "5CG1"), ("cost_approved", "no")]));
    assert!(errors.unwrap_err()[0].starts_with("cost_approved: The agency approves"));
}

#[test]
fn an_order_waits_on_hold_for_the_agency_then_the_desk_and_cannot_advance_before() {
    let (t, created) = create("order_new_device", &ORDER);
    assert_eq!(t.status, ServiceStatus::OnHold);
    assert_eq!(asked(&created), [AGENCY_APPROVER, BOTH]);
    assert!(created.contains(&Effect::PauseTimers));
    assert!(refused(&t, ServiceEvent::Released).contains("awaits its approvals"));
    assert!(matches!(
        apply(&t, ServiceEvent::Assign { engineer: ENGINEER }),
        Err(DomainError::IllegalTransition { .. })
    ));
    assert!(
        refused(&t, ServiceEvent::Decide { by: Some(DESK_APPROVER), verdict: Verdict::Approve })
            .contains("only the agency")
    );

    assert_eq!(edits(&created), 0);
    let (t, fx) = apply(&t, ServiceEvent::Decide { by: Some(BOTH), verdict: Verdict::Approve }).unwrap();
    assert_eq!(t.status, ServiceStatus::OnHold, "the desk has not approved yet");
    assert_eq!(asked(&fx), [DESK_APPROVER, BOTH]);
    assert_eq!(edits(&fx), 1, "the agency's requests show the decision");
    // Whoever approved for the agency may not approve for the desk too.
    assert!(refused(&t, ServiceEvent::Decide { by: Some(BOTH), verdict: Verdict::Approve }).contains("another person"));
    let late = refused(&t, ServiceEvent::Decide { by: Some(AGENCY_APPROVER), verdict: Verdict::Approve });
    assert!(late.contains("the agency approval was already given (S-5)"), "{late}");

    let (t, fx) = apply(&t, ServiceEvent::Decide { by: Some(DESK_APPROVER), verdict: Verdict::Approve }).unwrap();
    assert_eq!(t.status, ServiceStatus::New);
    assert!(fx.contains(&Effect::ResumeTimers));
    assert!(matches!(
        apply(&t, ServiceEvent::Decide { by: Some(DESK_APPROVER), verdict: Verdict::Approve }),
        Err(DomainError::IllegalTransition { .. })
    ));
    assert!(apply(&t, ServiceEvent::Assign { engineer: ENGINEER }).is_ok());
}

#[test]
fn a_denied_order_closes_and_the_customer_and_asset_team_are_told() {
    let (t, fx) =
        apply(&order(), ServiceEvent::Decide { by: Some(AGENCY_APPROVER), verdict: deny("over budget") }).unwrap();
    assert_eq!(t.status, ServiceStatus::Closed);
    let told: Vec<_> = notifications(&fx).into_iter().map(|(template, to, _)| (template, to)).collect();
    assert!(told.contains(&(Template::RequestDenied, Recipient::Customer(PersonId(1)))), "{told:?}");
    assert!(told.contains(&(Template::AssetTeamNotice, Recipient::AssetTeam)), "{told:?}");
    let why = fx.iter().find_map(|e| match e {
        Effect::Audit(c) if c.what == crate::domain::AuditField::Denied => c.to.clone(),
        _ => None,
    });
    assert_eq!(why.as_deref(), Some("over budget"), "the reason is kept for the customer's mail");
    let blank = refused(&order(), ServiceEvent::Decide { by: Some(AGENCY_APPROVER), verdict: deny("  ") });
    assert!(blank.contains("say why"), "{blank}");
}

fn deny(reason: &str) -> Verdict {
    Verdict::Deny { reason: reason.into() }
}

fn worked(t: ServiceTicket) -> ServiceTicket {
    let (t, _) = apply(&t, ServiceEvent::Assign { engineer: ENGINEER }).unwrap();
    apply(&t, ServiceEvent::Acknowledge { by: ENGINEER }).unwrap().0
}

fn repair(minutes: u32) -> Option<Work> {
    Some(Work { kind: TransactionKind("decommission".into()), minutes })
}

#[test]
fn a_decommission_is_sanitized_before_it_resolves_and_records_its_work_when_it_closes() {
    let t = worked(request("decommission_device", &[("serials", "5CG1, 5CG2"), ("disposition", "spare")]));
    assert!(refused(&t, ServiceEvent::Resolve).contains("record the sanitization of 5CG1, 5CG2"));
    let (t, _) = apply(&t, ServiceEvent::Sanitized { by: ENGINEER }).unwrap();
    assert!(refused(&t, ServiceEvent::Sanitized { by: ENGINEER }).contains("already"));
    let (t, _) = apply(&t, ServiceEvent::Resolve).unwrap();
    assert!(refused(&t, ServiceEvent::Close { work: None }).contains("needs the time spent"));
    assert!(refused(&t, ServiceEvent::Close { work: repair(0) }).contains("at least one minute"));
    let (t, fx) = apply(&t, ServiceEvent::Close { work: repair(45) }).unwrap();
    assert_eq!(t.status, ServiceStatus::Closed);
    let spare =
        |serial: &str| Effect::Device(DeviceChange::Retire { serial: serial.into(), state: DeviceState::Spare });
    assert!(fx.contains(&spare("5CG1")) && fx.contains(&spare("5CG2")), "{fx:?}");
    assert!(fx.contains(&Effect::Transaction {
        kind: TransactionKind("decommission".into()),
        minutes: 45,
        agency: Some("LSA".into()),
        device: None,
    }));
}

#[test]
fn closing_a_move_gives_the_device_its_new_user_and_place_and_an_untaken_request_records_nothing() {
    let given = [
        ("serial", "5CG1"),
        ("new_user_name", "Nia New"),
        ("new_user_email", "nia@example.edu"),
        ("new_location", "Angell Hall 2"),
    ];
    let t = worked(request("move_reassign_device", &given));
    let (t, _) = apply(&t, ServiceEvent::Resolve).unwrap();
    let (_, fx) = apply(&t, ServiceEvent::Close { work: repair(20) }).unwrap();
    assert!(fx.contains(&Effect::Device(DeviceChange::Move {
        serial: "5CG1".into(),
        user_name: "Nia New".into(),
        user_email: "nia@example.edu".into(),
        location: "Angell Hall 2".into(),
    })));
    // A duplicate the dispatcher closes untaken: no work, no device change.
    let (_, fx) = apply(&request("move_reassign_device", &given), ServiceEvent::Close { work: None }).unwrap();
    assert!(!fx.iter().any(|e| matches!(e, Effect::Device(_) | Effect::Transaction { .. })), "{fx:?}");
}
