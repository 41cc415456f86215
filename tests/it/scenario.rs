//! Refresh tickets of every style walked from creation to `complete` on the
//! simulated clock, on both databases, with the real dispatcher sending to
//! a fake Slack, a real SMTP server and a fake TDX. The clock jumps to the
//! next due timer or message; every message is asserted with the local time
//! it was queued, every TDX call by name.

use std::sync::Arc;

use chrono::{DateTime, NaiveTime, Utc};
use deskbell::channels::email::{EmailChannel, Mailer};
use deskbell::channels::slack::SlackChannel;
use deskbell::clock::{Clock, SimClock};
use deskbell::config::{Calendars, OutboxSettings, TdxSettings};
use deskbell::domain::refresh::{Cadence, NewRefreshTicket, Platform, RefreshEvent, RefreshStatus, Style, System};
use deskbell::domain::service::{NewServiceTicket, ServiceEvent};
use deskbell::domain::{Actor, Email, RefreshTicketId, ServiceTicketId, SlotPreference, TicketRef};
use deskbell::itsm::{ItsmSender, TdxClient, TdxLogin};
use deskbell::mail_hours::MailHours;
use deskbell::outbox::Dispatcher;
use deskbell::scheduler::TimerTick;
use deskbell::store::{Routing, Store};
use deskbell::templates::Templates;
use deskbell::workflow::Workflow;
use secrecy::SecretString;
use tokio::sync::watch;

use crate::both_databases;
use crate::support::fake_slack::{self, FakeSlack};
use crate::support::fake_tdx::{self, FakeTdx};
use crate::support::smtp::SmtpSink;
use crate::support::{Fixture, calendar, fixture, local, new_refresh};

both_databases!(
    a_customer_who_never_walks_the_wizard,
    every_style_from_creation_to_complete,
    a_dst_change_a_hold_and_the_thanksgiving_week,
    a_changed_location_opens_a_tdx_ticket_for_the_team,
);

/// 000_*: the customer gives another location than TDX's; the team gets a
/// TDX ticket to confirm TDX's location data.
async fn a_changed_location_opens_a_tdx_ticket_for_the_team(store: &Store) {
    let f = fixture(store).await;
    let sim = Sim::new(store, local(11, 2, 9, 0)).await;
    let mut new = new_refresh(&f, "MOVED1");
    new.location = Some("Angell Hall 1010".into());
    let t = sim.create(new).await;
    let walked = RefreshEvent::WizardCompleted {
        needs_approval: false,
        location: Some("Mason Hall 2200".into()),
        shipping_address: None,
        answers: None,
    };
    sim.at(local(11, 3, 11, 0), walked, t, Actor::Person(f.customer)).await;
    let tickets = sim.tdx.tickets();
    let confirm = tickets.values().find(|t| t["Title"] == "Confirm location for refresh R-1").expect("a TDX ticket");
    let description = confirm["Description"].as_str().unwrap();
    assert!(description.contains("Mason Hall 2200") && description.contains("Angell Hall 1010"), "{description}");
}

const APP: i64 = 31;

pub struct Sim {
    pub clock: Arc<SimClock>,
    pub workflow: Workflow,
    tick: TimerTick,
    dispatcher: Dispatcher,
    itsm: Arc<ItsmSender>,
    pub tdx: FakeTdx,
    pub slack: FakeSlack,
    pub smtp: SmtpSink,
    stop: watch::Receiver<bool>,
    _stop: watch::Sender<bool>,
}

impl Sim {
    pub async fn new(store: &Store, start: DateTime<Utc>) -> Self {
        let clock = Arc::new(SimClock::new(start));
        let mut calendars = Calendars::default();
        calendars.insert(calendar());
        let calendars = Arc::new(calendars);
        let workflow = Workflow {
            store: store.clone(),
            calendars: calendars.clone(),
            cadence: Arc::new(Cadence::default()),
            routing: Routing {
                mac_engineering: Some(Email::parse("mac-eng@example.edu").unwrap()),
                asset_channel: None,
                mail_hours: Some(MailHours {
                    calendars: calendars.clone(),
                    morning: NaiveTime::from_hms_opt(10, 5, 0).unwrap(),
                }),
            },
            clock: clock.clone(),
            policy: Arc::new(crate::support::escalation_policy()),
            requests: Arc::new(crate::support::request_policy()),
            zone: chrono_tz::America::Detroit,
            away: Arc::new(deskbell::config::SlackSettings::default().away()),
        };
        let tick = TimerTick::new(workflow.clone(), 100);
        let (tdx, slack, smtp) = (FakeTdx::start().await, FakeSlack::start().await, SmtpSink::start());
        let settings =
            TdxSettings { base_url: Some(tdx.url.clone()), app_id: APP, asset_app_id: 40, ..TdxSettings::default() };
        let login =
            TdxLogin::Admin { beid: SecretString::from(fake_tdx::BEID), key: SecretString::from(fake_tdx::KEY) };
        let client = TdxClient::new(&tdx.url, login, store.clone());
        let itsm = Arc::new(ItsmSender { client, settings, workflow: workflow.clone() });
        let templates = Templates::load(concat!(env!("CARGO_MANIFEST_DIR"), "/templates").as_ref(), calendars);
        let email = EmailChannel {
            mailer: Mailer::smtp(&SecretString::from(smtp.url()), 2).unwrap(),
            from: "Service Desk <servicedesk@example.edu>".parse().unwrap(),
            reply: None,
        };
        let dispatcher = Dispatcher::new(
            store.clone(),
            clock.clone(),
            Arc::new(templates),
            email,
            SlackChannel::api(&slack.url, fake_slack::TOKEN),
            OutboxSettings::default(),
        )
        .with_itsm(itsm.clone());
        let (stop_tx, stop) = watch::channel(false);
        Self { clock, workflow, tick, dispatcher, itsm, tdx, slack, smtp, stop, _stop: stop_tx }
    }

    fn store(&self) -> &Store {
        &self.workflow.store
    }

    /// Fires timers and delivers messages until nothing more is due by `end`,
    /// jumping the clock from one due time to the next; ends at `end`.
    pub async fn run_until(&self, end: DateTime<Utc>) {
        loop {
            let timer = self.store().next_timer_due().await.unwrap();
            let message = self.store().next_outbox_due(true).await.unwrap();
            let Some(due) = [timer, message].into_iter().flatten().min().filter(|d| *d <= end) else { break };
            self.clock.set(due.max(self.clock.now()));
            self.tick.run_once().await.unwrap();
            while self.dispatcher.run_once(&self.stop).await.unwrap() > 0 {}
        }
        self.clock.set(end.max(self.clock.now()));
    }

    /// Moves the clock to `at` (running what falls due before), then acts.
    pub async fn at(&self, at: DateTime<Utc>, event: RefreshEvent, id: RefreshTicketId, actor: Actor) {
        self.run_until(at).await;
        self.workflow.refresh(id, &actor, event).await.unwrap();
        self.run_until(at).await;
    }

    pub async fn create(&self, new: NewRefreshTicket) -> RefreshTicketId {
        self.workflow.create_refresh(new, &Actor::System).await.unwrap().id
    }

    /// (local time queued, template or TDX call, recipient) of every message.
    pub async fn messages(&self, ticket: impl Into<TicketRef>) -> Vec<(String, String, String)> {
        let cal = calendar();
        let rows = self.store().outbox_of(ticket.into()).await.unwrap();
        rows.into_iter()
            .map(|m| (cal.local(m.created_at).format("%a %m-%d %H:%M").to_string(), m.template, m.recipient))
            .collect()
    }

    pub async fn create_service(&self, new: NewServiceTicket) -> ServiceTicketId {
        self.workflow.create_service(new, &Actor::System).await.unwrap().id
    }

    /// Moves the clock to `at` (running what falls due before), then acts
    /// on a service ticket.
    pub async fn service_at(&self, at: DateTime<Utc>, id: ServiceTicketId, actor: Actor, event: ServiceEvent) {
        self.run_until(at).await;
        self.workflow.service(id, &actor, event).await.unwrap();
        self.run_until(at).await;
    }

    pub async fn status(&self, id: RefreshTicketId) -> RefreshStatus {
        self.store().load_refresh(id).await.unwrap().value.status
    }
}

pub fn m(at: &str, what: &str, to: &str) -> (String, String, String) {
    (at.to_owned(), what.to_owned(), to.to_owned())
}

async fn a_customer_who_never_walks_the_wizard(store: &Store) {
    let f = fixture(store).await;
    // Friday 17:59, before the Labor Day weekend.
    let sim = Sim::new(store, local(9, 4, 17, 59)).await;
    let t = sim.create(new_refresh(&f, "NEVER1")).await;
    sim.run_until(local(10, 31, 0, 0)).await;
    assert_eq!(
        sim.messages(t).await,
        vec![
            m("Tue 09-08 10:05", "customer_begin", "cara@example.edu"),
            m("Tue 09-15 10:05", "wizard_reminder", "cara@example.edu"),
            m("Tue 09-22 10:05", "wizard_reminder", "cara@example.edu"),
            m("Mon 09-28 10:05", "location_info_needed", "CNORTH001"),
        ]
    );
    assert_eq!(sim.status(t).await, RefreshStatus::PendingLocationInformation);
    assert!(store.timers_of(t.into()).await.unwrap().is_empty(), "every step fired once and was used up");
    assert_eq!(sim.smtp.messages().len(), 3, "the three emails reached the SMTP server");
    assert_eq!(sim.slack.posted().len(), 1, "the team alert reached Slack");
}

/// How one style is created and walked.
struct Walk {
    name: &'static str,
    style: Style,
    delegate: bool,
    no_customer: bool,
    bump_down: bool,
    platform: Platform,
}

fn ticket_for(f: &Fixture, w: &Walk) -> NewRefreshTicket {
    let mut new = new_refresh(f, &format!("OLD-{}", w.name));
    new.style = w.style;
    new.delegate = w.delegate.then_some(f.delegate);
    if w.no_customer {
        new.no_customer = true;
        new.customer = None;
    }
    if w.bump_down {
        new.replacement = Some(System { serial: format!("NEW-{}", w.name), model: None, platform: w.platform });
    }
    new
}

async fn every_style_from_creation_to_complete(store: &Store) {
    let f = fixture(store).await;
    // Monday 2 November 2026, 09:00; slots on Tuesdays at 09:00 for two.
    let sim = Sim::new(store, local(11, 2, 9, 0)).await;
    let tuesdays = SlotPreference {
        team: f.team,
        weekday: chrono::Weekday::Tue,
        start: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        length_minutes: 60,
        capacity: 2,
    };
    store.set_slot_preferences(f.team, &[tuesdays]).await.unwrap();
    let walks = [
        Walk {
            name: "onprem",
            style: Style::OnPrem,
            delegate: false,
            no_customer: false,
            bump_down: false,
            platform: Platform::Windows,
        },
        Walk {
            name: "unit",
            style: Style::UnitSpecifiedLocation,
            delegate: false,
            no_customer: false,
            bump_down: false,
            platform: Platform::Windows,
        },
        Walk {
            name: "delegate",
            style: Style::OnPrem,
            delegate: true,
            no_customer: false,
            bump_down: false,
            platform: Platform::Windows,
        },
        Walk {
            name: "remotewin",
            style: Style::RemoteCustomer,
            delegate: false,
            no_customer: false,
            bump_down: false,
            platform: Platform::Windows,
        },
        Walk {
            name: "remotemac",
            style: Style::RemoteCustomer,
            delegate: false,
            no_customer: false,
            bump_down: false,
            platform: Platform::Mac,
        },
        Walk {
            name: "lab",
            style: Style::OnPrem,
            delegate: false,
            no_customer: true,
            bump_down: false,
            platform: Platform::Windows,
        },
        Walk {
            name: "bumpdown",
            style: Style::OnPrem,
            delegate: false,
            no_customer: false,
            bump_down: true,
            platform: Platform::Windows,
        },
    ];
    let mut ids = Vec::new();
    for w in &walks {
        sim.tdx.add_asset(&format!("NEW-{}", w.name));
        ids.push(sim.create(ticket_for(&f, w)).await);
    }
    let admin = Actor::Person(f.engineer);
    let customer = Actor::Person(f.customer);

    // Wednesday 14:00: every customer walks the wizard (the lab has none).
    for (w, id) in walks.iter().zip(&ids) {
        if w.no_customer {
            continue;
        }
        let address = (w.style == Style::RemoteCustomer).then(|| "12 Elm St, Ann Arbor".to_owned());
        let walked = RefreshEvent::WizardCompleted {
            needs_approval: false,
            location: Some("Angell Hall 1010".into()),
            shipping_address: address,
            answers: None,
        };
        sim.at(local(11, 4, 14, 0), walked, *id, customer.clone()).await;
    }
    // Monday 9 November 09:00: Depot assigns the replacements in bulk.
    for (w, id) in walks.iter().zip(&ids) {
        if w.bump_down {
            continue;
        }
        let system =
            System { serial: format!("NEW-{}", w.name), model: Some("Latitude 7450".into()), platform: w.platform };
        let tracking = (w.style == Style::RemoteCustomer).then(|| format!("1Z{}", w.name.to_uppercase()));
        sim.at(
            local(11, 9, 9, 0),
            RefreshEvent::ReplacementAssigned { system, tracking_number: tracking, bulk: true },
            *id,
            admin.clone(),
        )
        .await;
    }
    // The nightly slot generation, then the noon slot discovery.
    sim.run_until(local(11, 9, 12, 0)).await;
    sim.workflow.generate_slots().await.unwrap();
    assert_eq!(
        sim.workflow.discover_slots().await.unwrap(),
        4,
        "on-prem, unit-specified, delegate and bump-down tickets"
    );
    sim.run_until(local(11, 9, 12, 0)).await;
    // Wednesday 10:00: two customers take both seats of Tuesday 17 November
    // at 09:00; the third is refused and takes the week after, as does the
    // bump-down customer.
    let slots = store.slots(f.team, local(11, 17, 0, 0), local(11, 18, 0, 0)).await.unwrap();
    let next_week = store.slots(f.team, local(11, 24, 0, 0), local(11, 25, 0, 0)).await.unwrap();
    sim.run_until(local(11, 11, 10, 0)).await;
    for i in [0, 1] {
        sim.workflow.pick_slot(ids[i], &customer, slots[0].id).await.unwrap();
    }
    let full = sim.workflow.pick_slot(ids[2], &customer, slots[0].id).await.unwrap_err();
    assert_eq!(full.to_string(), format!("slot {} is full", slots[0].id));
    for i in [2, 6] {
        sim.workflow.pick_slot(ids[i], &customer, next_week[0].id).await.unwrap();
    }
    sim.run_until(local(11, 11, 10, 0)).await;

    // Thursday 10:00: staff move the unit-specified appointment to 1 December.
    let december = store.slots(f.team, local(12, 1, 0, 0), local(12, 2, 0, 0)).await.unwrap();
    sim.run_until(local(11, 12, 10, 0)).await;
    sim.workflow.pick_slot(ids[1], &admin, december[0].id).await.unwrap();
    sim.run_until(local(11, 12, 10, 0)).await;
    let moved = sim.store().load_refresh(ids[1]).await.unwrap().value;
    let request: i64 = moved.itsm_request.unwrap().parse().unwrap();
    let at = moved.appointment_at.unwrap().to_rfc3339();
    assert!(sim.tdx.tasks(request).iter().all(|t| t["StartDate"] == at.as_str()), "the TDX tasks moved with it");
    assert!(
        sim.tdx
            .feed()
            .iter()
            .any(|(t, e)| *t == request && e["Comments"].as_str().unwrap().contains("Appointment moved"))
    );
    assert_eq!(store.slot(slots[0].id).await.unwrap().booked, 1, "the old seat was given back");

    // TDX closes every request after the last appointment; the daily check
    // at 06:00 on 2 December sees it.
    sim.run_until(local(12, 2, 5, 0)).await;
    for (id, _) in sim.tdx.tickets() {
        sim.tdx.set_status(id, 3, "Closed");
    }
    sim.clock.set(local(12, 2, 6, 0));
    assert_eq!(sim.itsm.check_deliveries(sim.clock.now()).await.unwrap(), 7);
    for id in &ids {
        assert_eq!(sim.status(*id).await, RefreshStatus::Complete, "R-{id}");
    }

    let cara = "cara@example.edu";
    let on_site = |to: &str, lookup: &str, reminder: &str| {
        vec![
            m("Tue 11-03 10:05", "customer_begin", to),
            m(lookup, "lookup_system", "tdx"),
            m("Mon 11-09 12:00", "slot_invitation", to),
            m("Wed 11-11 10:00", "create_request", "tdx"),
            m("Wed 11-11 10:00", "team_tdx_alert", "CNORTH001"),
            m(reminder, "slot_reminder", to),
        ]
    };
    assert_eq!(sim.messages(ids[0]).await, on_site(cara, "Mon 11-09 09:00", "Mon 11-16 10:05"), "on-prem");
    let mut unit = on_site(cara, "Mon 11-09 09:00", "Mon 11-30 10:05");
    unit.insert(5, m("Thu 11-12 10:00", "update_appointment", "tdx"));
    unit.insert(6, m("Thu 11-12 10:00", "reschedule_confirmation", cara));
    assert_eq!(sim.messages(ids[1]).await, unit, "unit-specified location, rescheduled by staff");
    let dan = on_site("dan@example.edu", "Mon 11-09 09:00", "Mon 11-23 10:05");
    assert_eq!(sim.messages(ids[2]).await, dan, "a delegate gets every message, the user none");
    assert_eq!(
        sim.messages(ids[3]).await,
        vec![
            m("Tue 11-03 10:05", "customer_begin", cara),
            m("Mon 11-09 09:00", "lookup_system", "tdx"),
            m("Mon 11-09 09:00", "tracking_number", cara),
            m("Mon 11-09 09:00", "create_request", "tdx"),
            m("Mon 11-09 09:00", "close_prestage_task", "tdx"),
        ],
        "remote Windows: tracking number, and the prestage task closed once the request exists"
    );
    assert_eq!(
        sim.messages(ids[4]).await,
        vec![
            m("Tue 11-03 10:05", "customer_begin", cara),
            m("Mon 11-09 09:00", "lookup_system", "tdx"),
            m("Mon 11-09 09:00", "tracking_number", cara),
            m("Mon 11-09 09:00", "create_request", "tdx"),
            m("Mon 11-09 09:00", "mac_mdm_request", "mac-eng@example.edu"),
        ],
        "remote Mac: Mac engineering is asked for the MDM setup"
    );
    assert_eq!(
        sim.messages(ids[5]).await,
        vec![
            m("Mon 11-09 09:00", "lookup_system", "tdx"),
            m("Mon 11-09 09:00", "create_request", "tdx"),
            m("Mon 11-09 09:00", "team_tdx_alert", "CNORTH001"),
        ],
        "no customer: a TDX request and the team alert, no mail at all"
    );
    assert_eq!(
        sim.messages(ids[6]).await,
        on_site(cara, "Wed 11-04 14:00", "Mon 11-23 10:05"),
        "bump down: the replacement was known, so ordering was skipped"
    );

    // The unit-specified reminder stresses the location; the prestage task is complete in TDX.
    let unit_reminder = sim
        .smtp
        .messages()
        .into_iter()
        .find(|mail| mail.contains("Angell Hall 1010") && mail.contains("must be there"));
    assert!(unit_reminder.is_some(), "the unit-specified slot reminder states the location");
    assert!(sim.tdx.task_feed().iter().any(|(_, _, e)| e["PercentComplete"] == 100));
    assert_eq!(sim.tdx.logins(), 1, "one JWT is reused for every call");
    let shown =
        deskbell::ticket_view::show(store, &Calendars::default(), ids[0].into(), sim.clock.now()).await.unwrap();
    assert!(shown.contains("Seen in other systems") && shown.contains("tdx    completed"), "{shown}");
    let creates = sim.tdx.calls().iter().filter(|c| *c == &format!("POST {APP}/tickets")).count();
    assert_eq!(creates, 7, "one TDX request per refresh");
}

async fn a_dst_change_a_hold_and_the_thanksgiving_week(store: &Store) {
    let f = fixture(store).await;
    // Friday 23 October: invited Monday 26th, 10:05 EDT.
    let sim = Sim::new(store, local(10, 23, 12, 0)).await;
    let t = sim.create(new_refresh(&f, "DST1")).await;
    // The first reminder, five business days on, is 10:05 EST: after the
    // clocks went back on 1 November, 15:05 UTC instead of 14:05.
    sim.run_until(local(11, 2, 23, 0)).await;
    let reminder = store.outbox_of(t.into()).await.unwrap()[1].created_at;
    assert_eq!(reminder.to_rfc3339(), "2026-11-02T15:05:00+00:00");
    // Held on Tuesday 3 November at noon (4 and 8 business days left for
    // the next steps), released on Tuesday 24th, before Thanksgiving.
    let hold = RefreshEvent::PutOnHold { reason: "customer on leave".into() };
    sim.at(local(11, 3, 12, 0), hold, t, Actor::Person(f.engineer)).await;
    sim.run_until(local(11, 24, 9, 0)).await;
    assert_eq!(sim.messages(t).await.len(), 2, "nothing is sent while on hold");
    sim.at(local(11, 24, 9, 0), RefreshEvent::Released, t, Actor::Person(f.engineer)).await;
    sim.run_until(local(12, 31, 0, 0)).await;
    assert_eq!(
        sim.messages(t).await,
        vec![
            m("Mon 10-26 10:05", "customer_begin", "cara@example.edu"),
            m("Mon 11-02 10:05", "wizard_reminder", "cara@example.edu"),
            // 25 Nov, then past Thanksgiving (26th, 27th): 30 Nov, 1 and 2 Dec.
            m("Wed 12-02 10:05", "wizard_reminder", "cara@example.edu"),
            m("Tue 12-08 10:05", "location_info_needed", "CNORTH001"),
        ]
    );
    assert_eq!(sim.status(t).await, RefreshStatus::PendingLocationInformation);
}
