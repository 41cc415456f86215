//! The storage API on both databases: round trips, the one-transaction
//! commit of a transition and its effects, dedupe, conflicts and atomic
//! batches.

use chrono::Duration;
use deskbell::domain::refresh::{Cadence, Ctx, RefreshEvent, RefreshStatus};
use deskbell::domain::service::{NewServiceTicket, Priority, ServiceEvent, ServiceKind, ServiceStatus};
use deskbell::domain::{Actor, Email, ExternalEvent, RefreshTicketId, TicketRef, TimerKind};
use std::sync::Arc;

use deskbell::clock::SimClock;
use deskbell::store::{RefreshChange, Routing, Store, StoreError};

use crate::both_databases;

/// The workflow on the test calendar, its clock stopped at `now`.
fn at(store: &Store, now: chrono::DateTime<chrono::Utc>) -> deskbell::workflow::Workflow {
    crate::support::workflow(store, Arc::new(SimClock::new(now)))
}
use crate::support::{calendar, fixture, local, new_refresh};

both_databases!(
    migrations_are_idempotent_and_the_database_answers,
    directory_upserts_are_keyed_by_natural_keys,
    creating_a_ticket_commits_its_audits_and_timers,
    a_fired_timer_queues_one_message_per_dedupe_key,
    conflicting_transitions_leave_exactly_one_winner,
    an_illegal_transition_writes_nothing,
    a_batch_with_a_bad_item_is_not_half_applied,
    holding_pauses_timers_and_release_shifts_them,
    group_recipients_fan_out_one_row_each,
    service_tickets_round_trip_and_notify_roles,
    unbooked_slots_can_be_deleted,
    external_events_are_kept_as_reported,
    tickets_are_found_by_serial_email_or_part_of_a_name,
);

async fn tickets_are_found_by_serial_email_or_part_of_a_name(store: &Store) {
    let f = fixture(store).await;
    let w = at(store, local(11, 2, 9, 0));
    for serial in ["5CG1", "5CG2"] {
        w.create_refresh(new_refresh(&f, serial), &Actor::System).await.unwrap();
    }
    let ids =
        |found: Vec<(deskbell::domain::RefreshTicketId, String)>| found.iter().map(|(id, _)| id.0).collect::<Vec<_>>();
    assert_eq!(ids(store.find_refresh("5CG1", 10).await.unwrap()), [1]);
    assert_eq!(ids(store.find_refresh("Cara@Example.edu", 10).await.unwrap()), [2, 1]);
    assert_eq!(ids(store.find_refresh("ra cust", 10).await.unwrap()), [2, 1], "any case, any part");
    assert_eq!(
        store.find_refresh("cara", 1).await.unwrap(),
        [(deskbell::domain::RefreshTicketId(2), "Cara Customer".into())]
    );
    assert!(store.find_refresh("%", 10).await.unwrap().is_empty(), "wildcards are literal");
    assert!(store.find_refresh("nobody@example.edu", 10).await.unwrap().is_empty());
}

async fn migrations_are_idempotent_and_the_database_answers(store: &Store) {
    store.migrate().await.unwrap();
    assert!(store.ping().await);
}

async fn directory_upserts_are_keyed_by_natural_keys(store: &Store) {
    let f = fixture(store).await;
    let again = fixture(store).await;
    assert_eq!((f.customer, f.team, f.config), (again.customer, again.team, again.config));
    let config = store.config(f.config).await.unwrap();
    assert_eq!(config.approvers, f.approvers.to_vec());
    let ann = store.person_by_email(&Email::parse("ANN@example.edu").unwrap()).await.unwrap().unwrap();
    assert_eq!(ann.id, f.approvers[0]);
    assert_eq!(ann.slack_user.unwrap().as_str(), "UANN00001");
    assert_eq!(store.teams().await.unwrap().len(), 1);
}

async fn creating_a_ticket_commits_its_audits_and_timers(store: &Store) {
    let f = fixture(store).await;
    let now = local(9, 4, 17, 59);
    let t = at(store, now).create_refresh(new_refresh(&f, "SN1"), &Actor::System).await.unwrap();
    let loaded = store.load_refresh(t.id).await.unwrap();
    assert_eq!(loaded.value, t, "a ticket reads back exactly as saved");
    assert_eq!(loaded.version, 1);
    let timers = store.timers_of(t.reference()).await.unwrap();
    assert_eq!(timers.len(), 4);
    assert_eq!((timers[0].kind, timers[0].due_at), (TimerKind::CustomerBegin, local(9, 8, 10, 5)));
    let audits = store.audits(t.reference()).await.unwrap();
    assert_eq!(audits.iter().map(|a| <&str>::from(a.change.what)).collect::<Vec<_>>(), ["created", "status"]);
    assert!(audits.iter().all(|a| a.actor == Actor::System && a.at == now));
    assert!(store.outbox_of(t.reference()).await.unwrap().is_empty());
    // The invite is due on Tuesday, not before.
    assert_eq!(store.next_timer_due().await.unwrap(), Some(local(9, 8, 10, 5)));
}

async fn a_fired_timer_queues_one_message_per_dedupe_key(store: &Store) {
    let f = fixture(store).await;
    let w = at(store, local(11, 2, 9, 0));
    let mut new = new_refresh(&f, "SN2");
    new.delegate = Some(f.delegate);
    let t = w.create_refresh(new, &Actor::System).await.unwrap();
    let fire = RefreshEvent::TimerFired { kind: TimerKind::CustomerBegin, step: 0 };
    for _ in 0..2 {
        w.refresh(t.id, &Actor::System, fire.clone()).await.unwrap();
    }
    let outbox = store.outbox_of(t.reference()).await.unwrap();
    assert_eq!(outbox.len(), 1, "the same dedupe key is queued once");
    assert_eq!(outbox[0].dedupe_key, format!("R-{}/customer_begin", t.id));
    assert_eq!(
        (outbox[0].channel.as_str(), outbox[0].recipient.as_str()),
        ("email", "dan@example.edu"),
        "the delegate, never the user"
    );
    assert_eq!(outbox[0].status, "pending");
}

async fn conflicting_transitions_leave_exactly_one_winner(store: &Store) {
    let f = fixture(store).await;
    let (cal, cadence) = (calendar(), Cadence::default());
    let w = at(store, local(11, 2, 9, 0));
    for round in 0..5 {
        let t = w.create_refresh(new_refresh(&f, &format!("RACE{round}")), &Actor::System).await.unwrap();
        let walked = RefreshEvent::WizardCompleted {
            needs_approval: true,
            location: None,
            shipping_address: None,
            answers: None,
        };
        w.refresh(t.id, &Actor::System, walked).await.unwrap();
        let current = store.load_refresh(t.id).await.unwrap();
        assert_eq!(current.value.status, RefreshStatus::RequiresApproval);

        // Both approvers read the same version, then both save at once.
        let mut tasks = Vec::new();
        for (who, event) in [
            (f.approvers[0], RefreshEvent::Approved { by: Some(f.approvers[0]) }),
            (f.approvers[1], RefreshEvent::Denied { by: Some(f.approvers[1]), reason: "over budget".into() }),
        ] {
            let (store, current, cal, cadence) = (store.clone(), current.clone(), cal.clone(), cadence.clone());
            tasks.push(tokio::spawn(async move {
                let ctx = Ctx { now: local(11, 2, 10, 0), calendar: &cal, policy: &cadence };
                let (next, effects) = current.value.apply(event, &ctx).unwrap();
                let (actor, change) = (
                    Actor::Person(who),
                    RefreshChange { current: &current, next: &next, effects: &effects, calendar: None },
                );
                store
                    .save_refresh_all(&[change], &actor, ctx.now, &Routing::default())
                    .await
                    .map(|_| who)
                    .map_err(|(_, e)| e)
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(who) => winners.push(who),
                Err(StoreError::Conflict { ticket }) => assert_eq!(ticket, t.reference()),
                Err(other) => panic!("expected a conflict, got {other}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one approver wins");
        let loser = if winners[0] == f.approvers[0] { f.approvers[1] } else { f.approvers[0] };
        let audits = store.audits(t.reference()).await.unwrap();
        assert!(audits.iter().any(|a| a.actor == Actor::Person(winners[0])));
        assert!(!audits.iter().any(|a| a.actor == Actor::Person(loser)), "no audit of the loser remains");
        let final_status = store.load_refresh(t.id).await.unwrap().value.status;
        let denied_msgs = store
            .outbox_of(t.reference())
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.template == "refresh_denied")
            .count();
        match final_status {
            RefreshStatus::PendingOrdering => {
                assert_eq!(denied_msgs, 0, "no outbox row of the losing deny")
            }
            RefreshStatus::Cancelled => assert_eq!(denied_msgs, 1),
            other => panic!("unexpected status {other}"),
        }
    }
}

async fn an_illegal_transition_writes_nothing(store: &Store) {
    let f = fixture(store).await;
    let w = at(store, local(11, 2, 9, 0));
    let t = w.create_refresh(new_refresh(&f, "SN3"), &Actor::System).await.unwrap();
    let err = w.refresh(t.id, &Actor::System, RefreshEvent::Approved { by: None }).await.unwrap_err();
    assert_eq!(err.to_string(), "approved is not allowed while the ticket is pending_wizard");
    assert_eq!(store.load_refresh(t.id).await.unwrap().version, 1);
    assert_eq!(store.audits(t.reference()).await.unwrap().len(), 2);
}

async fn a_batch_with_a_bad_item_is_not_half_applied(store: &Store) {
    let f = fixture(store).await;
    let cal = calendar();
    let cadence = Cadence::default();
    let ctx = Ctx { now: local(11, 2, 9, 0), calendar: &cal, policy: &cadence };
    let batch = vec![(new_refresh(&f, "B1"), ctx), (new_refresh(&f, "B2"), ctx), (new_refresh(&f, "B1"), ctx)];
    let (index, err) = store.create_refresh_batch(batch, &Actor::System, &Routing::default()).await.unwrap_err();
    assert_eq!(index, 2);
    assert!(err.to_string().contains("already exists for serial B1"), "{err}");
    // Nothing of the first two items was kept: the same batch without the
    // duplicate now succeeds from id 1's serials.
    let ok = vec![(new_refresh(&f, "B1"), ctx), (new_refresh(&f, "B2"), ctx)];
    let created = store.create_refresh_batch(ok, &Actor::System, &Routing::default()).await.unwrap();
    assert_eq!(created.len(), 2);
    for t in &created {
        assert_eq!(store.timers_of(t.reference()).await.unwrap().len(), 4, "only the kept batch has timers");
    }
}

async fn holding_pauses_timers_and_release_shifts_them(store: &Store) {
    let f = fixture(store).await;
    let created = local(11, 2, 9, 0);
    let clock = Arc::new(SimClock::new(created));
    let w = crate::support::workflow(store, clock.clone());
    let t = w.create_refresh(new_refresh(&f, "SN4"), &Actor::System).await.unwrap();
    let before = store.timers_of(t.reference()).await.unwrap();
    let hold = RefreshEvent::PutOnHold { reason: "customer on leave".into() };
    w.refresh(t.id, &Actor::System, hold).await.unwrap();
    assert!(store.timers_of(t.reference()).await.unwrap().iter().all(|x| x.paused));
    assert_eq!(store.next_timer_due().await.unwrap(), None, "paused timers never come due");
    clock.set(created + Duration::days(3));
    w.refresh(t.id, &Actor::System, RefreshEvent::Released).await.unwrap();
    let after = store.timers_of(t.reference()).await.unwrap();
    // Held three business days (Mon to Thu): each step keeps the business
    // days it had left and its local time, across the Thanksgiving break.
    let cal = calendar();
    for (b, a) in before.iter().zip(&after) {
        let was = cal.local(b.due_at);
        assert_eq!(a.due_at, cal.at_local(cal.add_business_days(was.date(), 3), was.time()));
        assert!(!a.paused);
    }
    assert!(after.iter().zip(&before).any(|(a, b)| a.due_at - b.due_at > Duration::days(3)), "one crosses the break");
}

async fn group_recipients_fan_out_one_row_each(store: &Store) {
    let f = fixture(store).await;
    let w = at(store, local(11, 2, 9, 0));
    let t = w.create_refresh(new_refresh(&f, "SN5"), &Actor::System).await.unwrap();
    let walked =
        RefreshEvent::WizardCompleted { needs_approval: true, location: None, shipping_address: None, answers: None };
    w.refresh(t.id, &Actor::System, walked).await.unwrap();
    let rows = store.outbox_of(t.reference()).await.unwrap();
    let got: Vec<_> = rows.iter().map(|r| (r.dedupe_key.clone(), r.channel.clone(), r.recipient.clone())).collect();
    let r = t.reference();
    assert_eq!(
        got,
        vec![
            (format!("{r}/approval_request/{}", f.approvers[0]), "slack".into(), "UANN00001".into()),
            (format!("{r}/approval_request/{}", f.approvers[1]), "email".into(), "abe@example.edu".into()),
        ],
        "staff with a Slack id get a DM, others mail"
    );
}

async fn service_tickets_round_trip_and_notify_roles(store: &Store) {
    let f = fixture(store).await;
    let now = local(11, 2, 9, 0);
    let new = NewServiceTicket {
        kind: ServiceKind::Incident,
        priority: Priority::P2,
        vip: true,
        issue_type: "Network".into(),
        subtype: "VPN - Troubleshooting".into(),
        summary: "VPN down for the dean's office".into(),
        contact: f.customer,
        team: f.team,
        agency: Some("LSA".into()),
        request: None,
    };
    let clock = Arc::new(SimClock::new(now));
    let w = crate::support::workflow(store, clock.clone());
    let t = w.create_service(new, &Actor::System).await.unwrap();
    assert_eq!(store.load_service(t.id).await.unwrap().value, t);
    let assign = ServiceEvent::Assign { engineer: f.engineer };
    let t = w.service(t.id, &Actor::Person(f.engineer), assign).await.unwrap();
    clock.set(now + Duration::minutes(10));
    let t = w.service(t.id, &Actor::System, ServiceEvent::Escalate).await.unwrap();
    let loaded = store.load_service(t.id).await.unwrap();
    assert_eq!((loaded.value.status, loaded.value.tier, loaded.version), (ServiceStatus::Escalated, 2, 3));
    let keys: Vec<_> =
        store.outbox_of(TicketRef::Service(t.id)).await.unwrap().into_iter().map(|r| r.dedupe_key).collect();
    let r = t.reference();
    assert_eq!(
        keys,
        vec![
            format!("{r}/ticket_received"),
            format!("{r}/technician_assigned/1"),
            format!("{r}/engineer_assigned/1"),
            format!("{r}/escalated_to_tier/2"),
            // Eve, a dispatcher and the engineer the new tier took the ticket from: told once.
            format!("{r}/escalated_to_tier/2/{}", f.engineer),
        ]
    );
}

async fn unbooked_slots_can_be_deleted(store: &Store) {
    let f = fixture(store).await;
    let start = local(11, 9, 9, 0);
    store.add_slot(f.team, start, start + Duration::hours(1), 2).await.unwrap();
    store.add_slot(f.team, start, start + Duration::hours(1), 2).await.unwrap();
    let slots = store.slots(f.team, start, start + Duration::days(1)).await.unwrap();
    assert_eq!(slots.len(), 1, "a slot at the same start is added once");
    assert!(slots[0].is_free());
    assert_eq!(store.free_seats(f.team, start - Duration::hours(1)).await.unwrap(), 2);
    store.delete_slot(slots[0].id, start).await.unwrap();
    assert!(matches!(store.delete_slot(slots[0].id, start).await, Err(StoreError::NotFound(_))));
    store.add_slot(f.team, start, start + Duration::hours(1), 2).await.unwrap();
    assert!(
        store.slots(f.team, start, start + Duration::days(1)).await.unwrap().is_empty(),
        "a deleted slot stays deleted"
    );
    assert_eq!(store.free_seats(f.team, start - Duration::hours(1)).await.unwrap(), 0);
}

async fn external_events_are_kept_as_reported(store: &Store) {
    let ticket = TicketRef::Refresh(RefreshTicketId(42));
    let event = |kind: &str, m| ExternalEvent {
        ticket,
        source: "tdx".into(),
        kind: kind.into(),
        detail: format!("{{\"StatusName\":\"{kind}\"}}"),
        at: local(11, 2, 9, m),
    };
    store.record_event(&event("installed", 0)).await.unwrap();
    store.record_event(&event("closed", 5)).await.unwrap();
    assert_eq!(store.events(ticket).await.unwrap(), vec![event("installed", 0), event("closed", 5)]);
    assert!(store.events(TicketRef::Refresh(RefreshTicketId(43))).await.unwrap().is_empty());
}
