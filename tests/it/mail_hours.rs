//! People are written to in their hours (DESIGN rule 9), on the simulated
//! clock and both databases: mail to customers and approvers queued outside
//! the team calendar's business hours (a job at 02:00, a wall-clock step on
//! a Sunday) leaves at 10:05 on the next business morning; staff pings of a
//! live incident are never held.

use deskbell::domain::service::{Priority, ServiceEvent};
use deskbell::domain::{Actor, TicketRef};
use deskbell::store::{OutboxRow, Store};

use crate::both_databases;
use crate::scenario::Sim;
use crate::support::{fixture, local, new_refresh};

both_databases!(
    a_p1_at_two_in_the_morning_pings_staff_at_once_and_mails_the_client_at_10_05,
    a_closing_notice_falling_on_a_sunday_waits_for_monday_morning,
    the_digest_job_at_two_in_the_morning_mails_approvers_at_10_05,
);

async fn rows(store: &Store, t: impl Into<TicketRef>, template: &str) -> Vec<OutboxRow> {
    store.outbox_of(t.into()).await.unwrap().into_iter().filter(|r| r.template == template).collect()
}

async fn a_p1_at_two_in_the_morning_pings_staff_at_once_and_mails_the_client_at_10_05(store: &Store) {
    let f = fixture(store).await;
    let sim = Sim::new(store, local(12, 1, 2, 0)).await; // Tuesday, a business day
    let t = sim.create_service(crate::support::incident(&f, Priority::P1)).await;
    sim.run_until(local(12, 1, 3, 0)).await;
    let pings = rows(store, t, "escalation_ping").await;
    assert!(!pings.is_empty());
    for p in &pings {
        assert_eq!(p.status, "sent", "{p:?}");
        assert_eq!(p.not_before, p.created_at, "a staff ping leaves when due: {p:?}");
    }
    assert!(pings.iter().any(|p| p.not_before == local(12, 1, 2, 15)));
    let received = &rows(store, t, "ticket_received").await[0];
    assert_eq!(
        (received.status.as_str(), received.not_before),
        ("pending", local(12, 1, 10, 5)),
        "held for the morning"
    );
    assert!(sim.smtp.messages().iter().all(|m| !m.contains("cara@example.edu")), "nothing reached the client at night");

    sim.run_until(local(12, 1, 10, 6)).await;
    assert_eq!(rows(store, t, "ticket_received").await[0].status, "sent");
    assert!(sim.smtp.messages().iter().any(|m| m.contains("cara@example.edu")));
}

async fn a_closing_notice_falling_on_a_sunday_waits_for_monday_morning(store: &Store) {
    let f = fixture(store).await;
    let sim = Sim::new(store, local(12, 3, 9, 0)).await; // Thursday
    let t = sim.create_service(crate::support::incident(&f, Priority::P3)).await;
    sim.service_at(local(12, 3, 9, 0), t, Actor::System, ServiceEvent::Assign { engineer: f.engineer }).await;
    sim.service_at(local(12, 3, 9, 5), t, Actor::Person(f.engineer), ServiceEvent::Acknowledge { by: f.engineer })
        .await;
    sim.service_at(local(12, 3, 11, 0), t, Actor::Person(f.engineer), ServiceEvent::WaitOnClient).await;
    sim.run_until(local(12, 6, 23, 0)).await; // the 72-hour step fell due Sunday 11:00
    let notice = &rows(store, t, "closing_notice").await[0];
    assert_eq!(notice.created_at, local(12, 6, 11, 0), "the wall-clock step fired on Sunday");
    assert_eq!((notice.status.as_str(), notice.not_before), ("pending", local(12, 7, 10, 5)));
    sim.run_until(local(12, 7, 10, 6)).await;
    assert_eq!(rows(store, t, "closing_notice").await[0].status, "sent", "Monday morning");
}

async fn the_digest_job_at_two_in_the_morning_mails_approvers_at_10_05(store: &Store) {
    let f = fixture(store).await;
    let sim = Sim::new(store, local(12, 4, 2, 0)).await; // Friday
    sim.create(new_refresh(&f, "SER-1")).await;
    assert!(sim.workflow.send_digests().await.unwrap() > 0);
    let due =
        |at| async move { store.claim_outbox(at, &deskbell::store::Holder::default(), 100, false).await.unwrap() };
    let claimed = due(local(12, 4, 10, 4)).await;
    assert!(
        claimed.iter().all(|r| r.content != deskbell::domain::Template::ApprovalDigest.into()),
        "not before 10:05: {claimed:?}"
    );
    let claimed = due(local(12, 4, 10, 5)).await;
    let digests: Vec<_> =
        claimed.iter().filter(|r| r.content == deskbell::domain::Template::ApprovalDigest.into()).collect();
    assert_eq!(digests.len(), 2, "both approvers, at 10:05 local");
    assert!(digests.iter().all(|r| r.hours.as_deref() == Some("umich")));
}
