//! The cron jobs on both databases: two scheduler replicas on one database
//! run each due time once, and a restart after downtime catches up once.

use std::sync::Arc;

use chrono::{NaiveTime, Weekday};
use deskbell::clock::{Clock, SimClock};
use deskbell::config::SchedulerSettings;
use deskbell::domain::SlotPreference;
use deskbell::scheduler::{Scheduler, TimerTick};
use deskbell::store::Store;

use crate::both_databases;
use crate::support::{fixture, local};

both_databases!(
    each_due_time_runs_once_across_replicas_and_a_restart_catches_up,
    three_replicas_fire_each_due_step_exactly_once,
    a_run_whose_replica_died_is_run_again_when_its_lease_runs_out,
);

fn replica(store: &Store, clock: &Arc<SimClock>) -> Scheduler {
    let workflow = crate::support::workflow(store, clock.clone());
    let settings = SchedulerSettings::default();
    Scheduler {
        tick: TimerTick::new(workflow, 100),
        itsm: None,
        jobs: settings.schedules().unwrap(),
        time_zone: chrono_tz::America::Detroit,
        interval: std::time::Duration::from_secs(5),
        doorbell: None,
        kpi_channel: Some(deskbell::domain::SlackChannelId::parse("CKPI00001").unwrap()),
        slack: None,
    }
}

async fn each_due_time_runs_once_across_replicas_and_a_restart_catches_up(store: &Store) {
    let f = fixture(store).await;
    let tue = SlotPreference {
        team: f.team,
        weekday: Weekday::Tue,
        start: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        length_minutes: 60,
        capacity: 2,
    };
    store.set_slot_preferences(f.team, &[tue]).await.unwrap();
    let clock = Arc::new(SimClock::new(local(11, 3, 1, 0)));
    let (a, b) = (replica(store, &clock), replica(store, &clock));
    let runs = |job: &'static str| async move {
        store.job_runs(100).await.unwrap().into_iter().filter(|r| r.job == job).collect::<Vec<_>>()
    };

    // A fresh database: each job catches up on its last due time of the
    // past day, once, whichever replica gets there first.
    let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
    ra.unwrap();
    rb.unwrap();
    let generation = runs("slot_generation").await;
    assert_eq!(generation.len(), 1, "one replica ran it");
    assert_eq!(generation[0].due_at, local(11, 2, 1, 30));
    assert_eq!(generation[0].outcome.as_deref(), Some("ok: 5 slots added"), "Tuesdays 10 Nov to 8 Dec");
    assert_eq!(runs("slot_discovery").await[0].due_at, local(11, 2, 13, 0));
    a.run_once().await.unwrap();
    assert_eq!(runs("slot_generation").await.len(), 1, "and only once");

    clock.set(local(11, 3, 1, 30));
    let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
    ra.unwrap();
    rb.unwrap();
    assert_eq!(runs("slot_generation").await.len(), 2, "the night's run, once");

    // Down for a week, back on Tuesday the 10th at noon: one catch-up run
    // for that night; discovery catches up for 07:00 that day.
    clock.set(local(11, 10, 12, 0));
    let restarted = replica(store, &clock);
    restarted.run_once().await.unwrap();
    let generation = runs("slot_generation").await;
    assert_eq!(generation.len(), 3);
    assert_eq!(generation[0].due_at, local(11, 10, 1, 30));
    assert_eq!(
        generation[0].outcome.as_deref(),
        Some("ok: 1 slots added"),
        "the Tuesday that came into the five weeks"
    );
    let discovery = runs("slot_discovery").await;
    assert_eq!(discovery.iter().map(|r| r.due_at).collect::<Vec<_>>(), [local(11, 10, 7, 0), local(11, 2, 13, 0)]);
    assert_eq!(runs("tdx_check").await[0].outcome.as_deref(), Some("skipped: TDX is not configured"));

    // Friday 13th at 08:00: each approver gets the digest of their unit's
    // open tickets, once.
    let new = crate::support::new_refresh(&f, "DIGEST1");
    let at_noon = crate::support::workflow(store, Arc::new(SimClock::new(local(11, 10, 12, 0))));
    at_noon.create_refresh(new, &deskbell::domain::Actor::System).await.unwrap();
    clock.set(local(11, 13, 8, 0));
    restarted.run_once().await.unwrap();
    assert_eq!(runs("approval_digest").await[0].outcome.as_deref(), Some("ok: 2 digests queued"), "Ann and Abe");
    restarted.run_once().await.unwrap();
    let kpis = runs("kpi_digest").await;
    assert_eq!(
        kpis.iter().map(|r| r.due_at).collect::<Vec<_>>(),
        [local(11, 13, 7, 0), local(11, 10, 7, 0), local(11, 2, 7, 0)]
    );
    assert!(kpis.iter().all(|r| r.outcome.as_deref() == Some("ok: KPIs sent to CKPI00001")));
    assert_eq!(
        store.outbox_status_count("pending").await.unwrap(),
        3 + 3,
        "one digest each, the new ticket's invite, and each morning's KPIs"
    );
}

async fn three_replicas_fire_each_due_step_exactly_once(store: &Store) {
    let f = fixture(store).await;
    let batch = (0..200).map(|i| crate::support::new_refresh(&f, &format!("MANY{i}"))).collect();
    let creating = crate::support::workflow(store, Arc::new(SimClock::new(local(11, 2, 9, 0))));
    creating.create_refresh_all(batch, &deskbell::domain::Actor::System).await.unwrap();
    // Every invite is due at 10:05 the next morning; three replicas race.
    let clock = Arc::new(SimClock::new(local(11, 3, 10, 5)));
    let ticks: Vec<TimerTick> =
        (0..3).map(|_| TimerTick::new(crate::support::workflow(store, clock.clone()), 25)).collect();
    async fn drain(t: &TimerTick) -> usize {
        let mut fired = 0;
        loop {
            match t.run_once().await.unwrap() {
                0 => return fired,
                n => fired += n,
            }
        }
    }
    let (a, b, c) = tokio::join!(drain(&ticks[0]), drain(&ticks[1]), drain(&ticks[2]));
    assert_eq!(a + b + c, 200, "every due step claimed once ({a} + {b} + {c})");
    assert_eq!(store.outbox_status_count("pending").await.unwrap(), 200, "one invite per ticket, none twice");
    assert!(store.next_timer_due().await.unwrap().unwrap() > clock.now(), "nothing due is left behind");
}

async fn a_run_whose_replica_died_is_run_again_when_its_lease_runs_out(store: &Store) {
    let clock = Arc::new(SimClock::new(local(11, 3, 1, 0)));
    // A replica claims the catch-up run of the slot generation and dies.
    let dead = deskbell::store::Holder::default();
    let due = local(11, 2, 1, 30);
    assert!(store.claim_job_run("slot_generation", due, clock.now(), &dead).await.unwrap().is_some());
    let generation = || async {
        store.job_runs(100).await.unwrap().into_iter().filter(|r| r.job == "slot_generation").collect::<Vec<_>>()
    };
    let survivor = replica(store, &clock);
    survivor.run_once().await.unwrap();
    assert_eq!(generation().await[0].outcome, None, "still leased to the dead replica");
    clock.advance(chrono::Duration::seconds(deskbell::store::DEFAULT_LEASE_SECONDS as i64));
    survivor.run_once().await.unwrap();
    let runs = generation().await;
    assert_eq!(runs.len(), 1, "the same run, taken over");
    assert_eq!((runs[0].due_at, runs[0].outcome.as_deref()), (due, Some("ok: 0 slots added")));
}
