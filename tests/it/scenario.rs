//! Refresh tickets walked through their cadence on the simulated clock, on
//! both databases. The clock jumps from one due timer to the next; every
//! message is asserted with the exact local time it was queued.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use deskbell::clock::{Clock, SimClock};
use deskbell::config::Calendars;
use deskbell::domain::refresh::{Cadence, Ctx, RefreshStatus};
use deskbell::domain::{Actor, TicketRef};
use deskbell::scheduler::TimerTick;
use deskbell::store::{Routing, Store};
use deskbell::workflow::Workflow;

use crate::both_databases;
use crate::support::{calendar, fixture, local, new_refresh};

both_databases!(a_customer_who_never_walks_the_wizard);

pub struct Sim {
    pub clock: Arc<SimClock>,
    pub workflow: Workflow,
    tick: TimerTick,
}

impl Sim {
    pub fn new(store: &Store, start: DateTime<Utc>) -> Self {
        let clock = Arc::new(SimClock::new(start));
        let mut calendars = Calendars::default();
        calendars.insert(calendar());
        let workflow = Workflow {
            store: store.clone(),
            calendars: Arc::new(calendars),
            cadence: Arc::new(Cadence::default()),
            routing: Routing::default(),
            clock: clock.clone(),
        };
        let tick = TimerTick { workflow: workflow.clone(), batch: 100, lease: Duration::minutes(5) };
        Self { clock, workflow, tick }
    }

    /// Jumps from due timer to due timer, firing each, until `end`.
    pub async fn run_until(&self, end: DateTime<Utc>) {
        while let Some(due) = self.workflow.store.next_timer_due().await.unwrap() {
            if due > end {
                break;
            }
            self.clock.set(due.max(self.clock.now()));
            self.tick.run_once().await.unwrap();
        }
        self.clock.set(end);
    }

    /// (local time, template, recipient) of every message queued for a ticket.
    pub async fn messages(&self, ticket: TicketRef) -> Vec<(String, String, String)> {
        let cal = calendar();
        let rows = self.workflow.store.outbox_of(ticket).await.unwrap();
        rows.into_iter()
            .map(|m| (cal.local(m.not_before).format("%a %Y-%m-%d %H:%M").to_string(), m.template, m.recipient))
            .collect()
    }
}

async fn a_customer_who_never_walks_the_wizard(store: &Store) {
    let f = fixture(store).await;
    // Friday 17:59, before the Labor Day weekend.
    let sim = Sim::new(store, local(9, 4, 17, 59));
    let cal = calendar();
    let cadence = Cadence::default();
    let ctx = Ctx { now: sim.clock.now(), calendar: &cal, cadence: &cadence };
    let t = store.create_refresh(new_refresh(&f, "NEVER1"), &Actor::System, &ctx, &Routing::default()).await.unwrap();
    sim.run_until(local(10, 31, 0, 0)).await;

    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        sim.messages(t.reference()).await,
        vec![
            s("Tue 2026-09-08 10:05", "customer_begin", "cara@example.edu"),
            s("Tue 2026-09-15 10:05", "wizard_reminder", "cara@example.edu"),
            s("Tue 2026-09-22 10:05", "wizard_reminder", "cara@example.edu"),
            s("Mon 2026-09-28 10:05", "location_info_needed", "CNORTH001"),
        ]
    );
    let now = store.load_refresh(t.id).await.unwrap().value;
    assert_eq!(now.status, RefreshStatus::PendingLocationInformation);
    assert!(store.timers_of(t.reference()).await.unwrap().is_empty(), "every step fired once and was used up");
}
