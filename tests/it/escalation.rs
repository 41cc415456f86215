//! The escalation chains of `004_*` on the simulated clock, both databases:
//! the real service state machine, timer tick and dispatcher, pings to the
//! fake Slack (DMs and the team channel) and mail to a real SMTP server.
//! Every message is asserted with the local time it was queued.

use deskbell::domain::service::{Priority, ServiceEvent, ServiceStatus, Sla};
use deskbell::domain::{Actor, Email, PersonId, Role, SlackUserId};
use deskbell::store::{NewPerson, Store};

use crate::both_databases;
use crate::scenario::{Sim, m};
use crate::support::{Fixture, fixture, local};

both_databases!(
    a_p1_nobody_takes_pings_at_15_20_and_30_minutes,
    a_p1_nobody_takes_goes_up_a_tier_at_its_threshold_and_pings_again,
    assigned_at_minute_19_the_later_pings_never_fire,
    acknowledged_between_steps_stops_the_chain_and_updates_are_asked_for,
    held_at_minute_10_and_released_next_day_keeps_what_was_left,
    a_p2_client_response_target_crosses_a_weekend_and_a_holiday,
    a_reassignment_mid_chain_starts_a_new_one,
    past_the_threshold_the_ticket_goes_up_a_tier,
    waiting_on_the_client_reminds_warns_and_hands_back,
    a_days_kpis_count_closures_breaches_and_what_is_left,
    a_burst_of_due_steps_is_fired_tickets_side_by_side_each_ticket_in_order,
);

/// The fixture (Eve is engineer and dispatcher) plus Sam, a service
/// manager in Slack, Dora, a director without Slack, and Ed, an engineer.
struct Desk {
    f: Fixture,
    ed: PersonId,
}

async fn desk(store: &Store) -> Desk {
    let f = fixture(store).await;
    let person = |name: &str, email: &str, slack: Option<&str>, role| NewPerson {
        name: name.into(),
        email: Email::parse(email).unwrap(),
        slack_user: slack.map(|s| SlackUserId::parse(s).unwrap()),
        roles: vec![role],
    };
    store
        .upsert_person(&person("Sam Manager", "sam@example.edu", Some("USAM00001"), Role::ServiceManager))
        .await
        .unwrap();
    store.upsert_person(&person("Dora Director", "dora@example.edu", None, Role::ServiceDirector)).await.unwrap();
    let ed =
        store.upsert_person(&person("Ed Engineer", "ed@example.edu", Some("UED000001"), Role::Engineer)).await.unwrap();
    Desk { f, ed }
}

fn ping(at: &str, to: &str) -> (String, String, String) {
    m(at, "escalation_ping", to)
}

async fn a_p1_nobody_takes_pings_at_15_20_and_30_minutes(store: &Store) {
    let d = desk(store).await;
    let sim = Sim::new(store, local(11, 2, 9, 0)).await;
    let t = sim.create_service(crate::support::incident(&d.f, Priority::P1)).await;
    sim.run_until(local(11, 2, 10, 0)).await;
    assert_eq!(
        sim.messages(t).await,
        vec![
            m("Mon 11-02 09:00", "ticket_received", "cara@example.edu"),
            ping("Mon 11-02 09:15", "UEVE00001"),
            ping("Mon 11-02 09:15", "CNORTH001"),
            ping("Mon 11-02 09:20", "UEVE00001"),
            ping("Mon 11-02 09:20", "USAM00001"),
            ping("Mon 11-02 09:20", "CNORTH001"),
            ping("Mon 11-02 09:30", "UEVE00001"),
            ping("Mon 11-02 09:30", "USAM00001"),
            ping("Mon 11-02 09:30", "dora@example.edu"),
            ping("Mon 11-02 09:30", "CNORTH001"),
        ]
    );
    let keys: Vec<String> = store.outbox_of(t.into()).await.unwrap().into_iter().map(|r| r.dedupe_key).collect();
    assert!(keys.contains(&"S-1/unassigned/0/2/team".to_string()), "{keys:?}");
    let slack = sim.slack.posted();
    assert_eq!(slack.len(), 8, "every Slack ping delivered once");
    let last = slack.iter().find(|p| p.channel == "CNORTH001" && p.text.contains("S-1")).unwrap();
    assert_eq!(last.blocks[1]["elements"][0]["action_id"], "acknowledge", "pings carry the buttons");
    assert!(
        sim.smtp.messages().iter().any(|msg| msg.contains("dora@example.edu")),
        "the director without Slack is mailed"
    );
}

async fn a_p1_nobody_takes_goes_up_a_tier_at_its_threshold_and_pings_again(store: &Store) {
    let d = desk(store).await;
    let sim = Sim::new(store, local(11, 2, 9, 0)).await;
    let t = sim.create_service(crate::support::incident(&d.f, Priority::P1)).await;
    sim.run_until(local(11, 2, 11, 31)).await;
    let after: Vec<_> = sim.messages(t).await.into_iter().filter(|(at, ..)| at.as_str() >= "Mon 11-02 11:00").collect();
    assert_eq!(
        after,
        [
            // The two-hour threshold escalates whatever the assignment (004_*).
            m("Mon 11-02 11:00", "escalated_to_tier", "cara@example.edu"),
            m("Mon 11-02 11:00", "escalated_to_tier", "UEVE00001"),
            // Tier 2's own unassigned chain: 15, 20 and 30 minutes.
            ping("Mon 11-02 11:15", "UEVE00001"),
            ping("Mon 11-02 11:15", "CNORTH001"),
            ping("Mon 11-02 11:20", "UEVE00001"),
            ping("Mon 11-02 11:20", "USAM00001"),
            ping("Mon 11-02 11:20", "CNORTH001"),
            ping("Mon 11-02 11:30", "UEVE00001"),
            ping("Mon 11-02 11:30", "USAM00001"),
            ping("Mon 11-02 11:30", "dora@example.edu"),
            ping("Mon 11-02 11:30", "CNORTH001"),
        ]
    );
    let ticket = store.load_service(t).await.unwrap().value;
    assert_eq!((ticket.status, ticket.tier), (ServiceStatus::Escalated, 2));
    // A dispatcher closes it as a duplicate: nothing more falls due.
    sim.service_at(local(11, 2, 11, 40), t, Actor::Person(d.f.engineer), ServiceEvent::Close { work: None }).await;
    sim.run_until(local(11, 2, 15, 0)).await;
    assert_eq!(sim.messages(t).await.len(), 10 + after.len(), "no ping after the close");
    assert_eq!(store.load_service(t).await.unwrap().value.status, ServiceStatus::Closed);
}

async fn assigned_at_minute_19_the_later_pings_never_fire(store: &Store) {
    let d = desk(store).await;
    let sim = Sim::new(store, local(11, 2, 9, 0)).await;
    let t = sim.create_service(crate::support::incident(&d.f, Priority::P1)).await;
    sim.service_at(local(11, 2, 9, 19), t, Actor::Person(d.f.engineer), ServiceEvent::Assign { engineer: d.ed }).await;
    sim.run_until(local(11, 2, 9, 40)).await;
    assert_eq!(
        sim.messages(t).await,
        vec![
            m("Mon 11-02 09:00", "ticket_received", "cara@example.edu"),
            ping("Mon 11-02 09:15", "UEVE00001"),
            ping("Mon 11-02 09:15", "CNORTH001"),
            m("Mon 11-02 09:19", "technician_assigned", "cara@example.edu"),
            m("Mon 11-02 09:19", "engineer_assigned", "UED000001"),
            ping("Mon 11-02 09:34", "UED000001"),
        ]
    );
}

async fn acknowledged_between_steps_stops_the_chain_and_updates_are_asked_for(store: &Store) {
    let d = desk(store).await;
    let sim = Sim::new(store, local(11, 2, 9, 0)).await;
    let t = sim.create_service(crate::support::incident(&d.f, Priority::P1)).await;
    sim.service_at(local(11, 2, 9, 5), t, Actor::System, ServiceEvent::Assign { engineer: d.ed }).await;
    sim.service_at(local(11, 2, 9, 25), t, Actor::Person(d.ed), ServiceEvent::Acknowledge { by: d.ed }).await;
    sim.run_until(local(11, 2, 10, 30)).await;
    assert_eq!(
        sim.messages(t).await[2..],
        [
            m("Mon 11-02 09:05", "engineer_assigned", "UED000001"),
            ping("Mon 11-02 09:20", "UED000001"),
            m("Mon 11-02 10:05", "status_update_reminder", "UED000001"),
        ]
    );
    let ticket = store.load_service(t).await.unwrap().value;
    assert_eq!(ticket.sla(sim_now(&sim)), Some(Sla::Met { on_time: true }), "acknowledged within the hour");
}

fn sim_now(sim: &Sim) -> chrono::DateTime<chrono::Utc> {
    use deskbell::clock::Clock;
    sim.clock.now()
}

async fn held_at_minute_10_and_released_next_day_keeps_what_was_left(store: &Store) {
    let d = desk(store).await;
    let sim = Sim::new(store, local(11, 2, 9, 0)).await;
    let t = sim.create_service(crate::support::incident(&d.f, Priority::P1)).await;
    let hold = ServiceEvent::PutOnHold { reason: "waiting for the ISP".into() };
    sim.service_at(local(11, 2, 9, 10), t, Actor::System, hold).await;
    let held = store.load_service(t).await.unwrap().value;
    assert_eq!(held.sla(sim_now(&sim)), Some(Sla::Paused));
    sim.service_at(local(11, 3, 9, 0), t, Actor::System, ServiceEvent::Released).await;
    sim.run_until(local(11, 3, 9, 45)).await;
    let pings: Vec<_> = sim
        .messages(t)
        .await
        .into_iter()
        .filter(|(_, what, to)| what == "escalation_ping" && to == "UEVE00001")
        .collect();
    assert_eq!(
        pings,
        [
            ping("Tue 11-03 09:05", "UEVE00001"),
            ping("Tue 11-03 09:10", "UEVE00001"),
            ping("Tue 11-03 09:20", "UEVE00001")
        ]
    );
    // The client-response hour had 50 minutes left: due 09:50 on the release day.
    let released = store.load_service(t).await.unwrap().value;
    assert_eq!(released.response_due_at, Some(local(11, 3, 9, 50)));
    assert_eq!(released.status, ServiceStatus::New);
}

async fn a_p2_client_response_target_crosses_a_weekend_and_a_holiday(store: &Store) {
    let d = desk(store).await;
    // Wednesday before Thanksgiving, 15:00: two business hours left that day,
    // Thursday and Friday are holidays, then the weekend.
    let sim = Sim::new(store, local(11, 25, 15, 0)).await;
    let t = sim.create_service(crate::support::incident(&d.f, Priority::P2)).await;
    let ticket = store.load_service(t).await.unwrap().value;
    assert_eq!(ticket.response_due_at, Some(local(11, 30, 10, 0)), "4 business hours: Wed 15-17, Mon 08-10");
    assert_eq!(ticket.sla(local(11, 30, 9, 59)), Some(Sla::Due(local(11, 30, 10, 0))));
    assert_eq!(ticket.sla(local(11, 30, 10, 1)), Some(Sla::Breached));
    // The internal-response ping of a P2 is on the wall clock: 2 h later.
    sim.run_until(local(11, 25, 18, 0)).await;
    assert_eq!(
        sim.messages(t).await[1..],
        [ping("Wed 11-25 17:00", "UEVE00001"), ping("Wed 11-25 17:00", "CNORTH001")]
    );
}

async fn a_reassignment_mid_chain_starts_a_new_one(store: &Store) {
    let d = desk(store).await;
    let sim = Sim::new(store, local(11, 2, 9, 0)).await;
    let t = sim.create_service(crate::support::incident(&d.f, Priority::P1)).await;
    sim.service_at(local(11, 2, 9, 0), t, Actor::System, ServiceEvent::Assign { engineer: d.ed }).await;
    sim.service_at(local(11, 2, 9, 20), t, Actor::System, ServiceEvent::Assign { engineer: d.f.engineer }).await;
    sim.run_until(local(11, 2, 9, 55)).await;
    let pings: Vec<_> = store
        .outbox_of(t.into())
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.template == "escalation_ping")
        .map(|r| (r.dedupe_key, r.recipient))
        .collect();
    let (ed, eve) = (d.ed.0, d.f.engineer.0);
    assert_eq!(
        pings,
        [
            (format!("S-1/unacknowledged/1/0/{ed}"), "UED000001".to_string()),
            // Eve's chain, from 09:20: 15 min, then 30 min (she is also the
            // dispatcher: one ping, not two).
            (format!("S-1/unacknowledged/2/0/{eve}"), "UEVE00001".to_string()),
            (format!("S-1/unacknowledged/2/1/{eve}"), "UEVE00001".to_string()),
        ]
    );
}

async fn past_the_threshold_the_ticket_goes_up_a_tier(store: &Store) {
    let d = desk(store).await;
    let sim = Sim::new(store, local(11, 2, 9, 0)).await;
    let t = sim.create_service(crate::support::incident(&d.f, Priority::P1)).await;
    sim.service_at(local(11, 2, 9, 1), t, Actor::System, ServiceEvent::Assign { engineer: d.ed }).await;
    sim.service_at(local(11, 2, 9, 2), t, Actor::Person(d.ed), ServiceEvent::Acknowledge { by: d.ed }).await;
    sim.run_until(local(11, 2, 11, 16)).await;
    let after: Vec<_> = sim.messages(t).await.into_iter().filter(|(at, ..)| at.as_str() >= "Mon 11-02 11:00").collect();
    assert_eq!(
        after,
        [
            m("Mon 11-02 11:00", "escalated_to_tier", "cara@example.edu"),
            m("Mon 11-02 11:00", "escalated_to_tier", "UEVE00001"),
            // Ed, whom the new tier takes the ticket from, is told.
            m("Mon 11-02 11:00", "escalated_to_tier", "UED000001"),
            // Nobody holds tier 2 yet: the unassigned chain starts again.
            ping("Mon 11-02 11:15", "UEVE00001"),
            ping("Mon 11-02 11:15", "CNORTH001"),
        ]
    );
    let ticket = store.load_service(t).await.unwrap().value;
    assert_eq!((ticket.status, ticket.tier, ticket.assignee), (ServiceStatus::Escalated, 2, None));
    // The status-update reminders of the released engineer stopped.
    let updates = sim.messages(t).await.into_iter().filter(|(_, w, _)| w == "status_update_reminder").count();
    assert_eq!(updates, 1, "10:01 only");
}

async fn waiting_on_the_client_reminds_warns_and_hands_back(store: &Store) {
    let d = desk(store).await;
    let sim = Sim::new(store, local(11, 2, 9, 0)).await;
    let t = sim.create_service(crate::support::incident(&d.f, Priority::P3)).await;
    sim.service_at(local(11, 2, 9, 0), t, Actor::System, ServiceEvent::Assign { engineer: d.ed }).await;
    sim.service_at(local(11, 2, 9, 5), t, Actor::Person(d.ed), ServiceEvent::Acknowledge { by: d.ed }).await;
    sim.service_at(local(11, 2, 10, 0), t, Actor::Person(d.ed), ServiceEvent::WaitOnClient).await;
    sim.run_until(local(11, 6, 12, 0)).await;
    assert_eq!(
        sim.messages(t).await[3..],
        [
            m("Tue 11-03 10:00", "waiting_on_client_reminder", "UED000001"),
            m("Thu 11-05 10:00", "closing_notice", "cara@example.edu"),
            m("Fri 11-06 10:00", "dispatcher_close_notice", "UEVE00001"),
        ]
    );
    let ticket = store.load_service(t).await.unwrap().value;
    assert_eq!(ticket.status, ServiceStatus::WaitingOnClient, "no tier escalation while the client is awaited");
    assert!(sim.smtp.messages().iter().any(|msg| msg.contains("cara@example.edu")));
}

/// 24 P1 incidents, all three unassigned steps overdue for each: a tick
/// firing eight tickets at once queues every ticket's messages once, and
/// each ticket's in the order of its steps (the same list for every ticket).
async fn a_burst_of_due_steps_is_fired_tickets_side_by_side_each_ticket_in_order(store: &Store) {
    use std::sync::Arc;

    use deskbell::clock::{Clock, SimClock};
    use deskbell::scheduler::TimerTick;

    let d = desk(store).await;
    let clock = Arc::new(SimClock::new(local(11, 2, 9, 0)));
    let workflow = crate::support::workflow(store, clock.clone());
    let mut tickets = Vec::new();
    for _ in 0..24 {
        tickets
            .push(workflow.create_service(crate::support::incident(&d.f, Priority::P1), &Actor::System).await.unwrap());
    }
    clock.set(local(11, 2, 9, 31));
    let tick = TimerTick::new(workflow.clone(), 1_000).with_concurrency(8);
    while tick.run_once().await.unwrap() > 0 {}
    assert!(store.next_timer_due().await.unwrap().unwrap() > clock.now(), "no due step left behind");
    let mut first: Option<Vec<(String, String, String)>> = None;
    for t in &tickets {
        let reference = t.reference();
        let rows = store.outbox_of(reference).await.unwrap();
        let steps: Vec<u32> = rows
            .iter()
            .filter(|r| r.template == "escalation_ping")
            .map(|r| r.dedupe_key.split('/').nth(3).unwrap().parse().unwrap())
            .collect();
        assert!(steps.len() >= 3 && steps.is_sorted(), "{reference}: steps {steps:?} in order");
        let generic: Vec<_> = rows
            .into_iter()
            .map(|r| (r.template, r.recipient, r.dedupe_key.replace(&reference.to_string(), "S-n")))
            .collect();
        match &first {
            None => first = Some(generic),
            Some(f) => assert_eq!(&generic, f, "{reference} was told what the first ticket was, in that order"),
        }
    }
}

/// Three engine instances (timer tick and dispatcher each) on one
/// PostgreSQL database; 1 000 P1 tickets, each of its own team, whose
/// 15-minute ping falls due in the same minute. One instance dies in the
/// middle of its tick, with steps claimed and not fired; the others fire
/// them once its lease runs out. Every team channel receives its ping exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_engines_one_killed_mid_tick_send_every_ping_once_on_postgres() {
    use std::collections::HashMap;
    use std::sync::Arc;

    use deskbell::channels::email::{EmailChannel, Mailer};
    use deskbell::channels::slack::SlackChannel;
    use deskbell::clock::{Clock, SimClock};
    use deskbell::domain::SlackChannelId;
    use deskbell::domain::service::policy::Who;
    use deskbell::outbox::Dispatcher;
    use deskbell::scheduler::TimerTick;
    use deskbell::templates::Templates;

    use crate::support::fake_slack::{FakeSlack, TOKEN};

    const TICKETS: usize = 1_000;
    let db = crate::support::postgres().await;
    let store = &db.store;
    let d = desk(store).await;
    let clock = Arc::new(SimClock::new(local(11, 2, 9, 0)));
    let mut workflow = crate::support::workflow(store, clock.clone());
    // Only the team channel is pinged, and only at 15 minutes, so each
    // ticket's ping has a channel of its own (no Slack pacing in the way).
    let mut policy = crate::support::escalation_policy();
    policy.unassigned.truncate(1);
    policy.unassigned[0].notify = vec![Who::TeamChannel];
    workflow.policy = Arc::new(policy);
    for i in 0..TICKETS {
        let channel = SlackChannelId::parse(&format!("C{i:08}")).unwrap();
        let team = store.upsert_team(&format!("Team {i}"), &channel, "umich").await.unwrap();
        let mut new = crate::support::incident(&d.f, Priority::P1);
        new.team = team;
        workflow.create_service(new, &Actor::System).await.unwrap();
    }
    clock.set(local(11, 2, 9, 15));

    let slack = FakeSlack::start().await;
    let mail = tempfile::tempdir().unwrap();
    let templates = Arc::new(Templates::load(
        concat!(env!("CARGO_MANIFEST_DIR"), "/templates").as_ref(),
        workflow.calendars.clone(),
    ));
    let engine = |_| {
        let tick = TimerTick::new(workflow.clone(), 50).with_concurrency(8);
        let email = EmailChannel {
            mailer: Mailer::Files(mail.path().to_owned()),
            from: "Service Desk <servicedesk@example.edu>".parse().unwrap(),
            reply: None,
        };
        let dispatcher = Dispatcher::new(
            store.clone(),
            clock.clone(),
            templates.clone(),
            email,
            SlackChannel::api(&slack.url, TOKEN),
            deskbell::config::OutboxSettings::default(),
        );
        Arc::new((tick, dispatcher))
    };
    let engines: Vec<_> = (0..3).map(engine).collect();
    async fn drain(tick: &TimerTick) {
        while tick.run_once().await.unwrap() > 0 {}
    }
    // The first engine claims a batch of due steps and dies before firing
    // them; the others share the rest.
    let held = store.claim_due_timers(clock.now(), &deskbell::store::Holder::default(), 50).await.unwrap();
    assert_eq!(held.len(), 50);
    let (b, c) = (engines[1].clone(), engines[2].clone());
    tokio::join!(drain(&b.0), drain(&c.0));
    let pings = || async { store.outbox_status_count("pending").await.unwrap() - TICKETS as i64 };
    assert_eq!(pings().await, (TICKETS - 50) as i64, "the dead engine's steps wait for its lease");
    // The dead engine's lease runs out; the survivors fire what it held.
    clock.set(local(11, 2, 9, 21));
    tokio::join!(drain(&b.0), drain(&c.0));
    assert_eq!(pings().await, TICKETS as i64);
    assert!(store.next_timer_due().await.unwrap().unwrap() > clock.now(), "no due step left behind");

    let (_stop, stop) = tokio::sync::watch::channel(false);
    let deliver = |e: Arc<(TimerTick, Dispatcher)>, stop: tokio::sync::watch::Receiver<bool>| async move {
        while e.1.run_once(&stop).await.unwrap() > 0 {}
    };
    tokio::join!(deliver(b.clone(), stop.clone()), deliver(c.clone(), stop.clone()), deliver(engines[0].clone(), stop));
    let mut per_channel: HashMap<String, usize> = HashMap::new();
    for p in slack.posted() {
        *per_channel.entry(p.channel).or_default() += 1;
    }
    assert_eq!(per_channel.len(), TICKETS, "every team channel pinged");
    assert!(per_channel.values().all(|n| *n == 1), "none twice");
    assert_eq!(store.outbox_status_count("pending").await.unwrap(), 0);
}

async fn a_days_kpis_count_closures_breaches_and_what_is_left(store: &Store) {
    let d = desk(store).await;
    let sim = Sim::new(store, local(11, 2, 9, 0)).await;
    let carried = sim.create_service(crate::support::incident(&d.f, Priority::P3)).await;
    sim.run_until(local(11, 3, 8, 0)).await;
    // Tuesday 08:00: one answered in time and resolved, one never answered
    // (its P1 hour falls due at 09:00), one answered late and resolved.
    let on_time = sim.create_service(crate::support::incident(&d.f, Priority::P1)).await;
    let ignored = sim.create_service(crate::support::incident(&d.f, Priority::P1)).await;
    let late = sim.create_service(crate::support::incident(&d.f, Priority::P1)).await;
    for (t, hour) in [(on_time, 8), (late, 11)] {
        sim.service_at(local(11, 3, hour, 10), t, Actor::System, ServiceEvent::Assign { engineer: d.ed }).await;
        sim.service_at(local(11, 3, hour, 20), t, Actor::Person(d.ed), ServiceEvent::Acknowledge { by: d.ed }).await;
        sim.service_at(local(11, 3, hour, 40), t, Actor::Person(d.ed), ServiceEvent::Resolve).await;
    }
    let k = store.kpis(local(11, 3, 0, 0), local(11, 4, 0, 0)).await.unwrap();
    assert_eq!((k.closed, k.closed_within_sla), (2, 1), "{k:?}");
    assert_eq!(k.breaches, 2, "the late one and the ignored one: {k:?}");
    assert_eq!((k.carried_over, k.pending), (1, 2), "{k:?}");
    assert_eq!(store.load_service(carried).await.unwrap().value.status, ServiceStatus::New);
    assert_eq!(store.load_service(ignored).await.unwrap().value.sla(local(11, 4, 0, 0)), Some(Sla::Breached));
}
