//! Runs a scenario: the real domain, workflow, timer tick, cron jobs,
//! templates and outbox on a fresh SQLite database and a simulated clock
//! that jumps from one due thing to the next. Delivery is replaced by a
//! recorder: each due outbox row is rendered with the real templates,
//! written down and marked sent; TDX calls are answered at once (the
//! system is found, the request created), as a healthy TDX would.

use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use chrono::{DateTime, Days, Duration, Utc};
use chrono_tz::Tz;

use super::scenario::{Action, Event, Scenario};
use crate::clock::{Clock, SimClock};
use crate::config::Settings;
use crate::domain::refresh::{NewRefreshTicket, RefreshEvent, System};
use crate::domain::service::{NewServiceTicket, ServiceEvent};
use crate::domain::{
    Actor, Channel, Content, Email, ItsmRequest, PersonId, Role, SlackChannelId, SlackUserId, TicketRef,
};
use crate::scheduler::{Scheduler, TimerTick};
use crate::startup::Resources;
use crate::store::{NewPerson, Outcome, Store};
use crate::templates::Templates;
use crate::workflow::Workflow;

/// One line of the output, in time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Message {
        at: DateTime<Utc>,
        channel: Channel,
        to: String,
        ticket: Option<TicketRef>,
        template: Content,
        subject: String,
        dedupe_key: String,
    },
    Status {
        at: DateTime<Utc>,
        ticket: TicketRef,
        from: Option<String>,
        to: String,
    },
}

impl Line {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Line::Message { at, .. } | Line::Status { at, .. } => *at,
        }
    }
}

/// The time zone times are shown in: the first team's calendar.
pub fn display_zone(res: &Resources, scenario: &Scenario) -> Tz {
    scenario.teams.first().and_then(|t| res.calendars.get(&t.calendar)).map(|c| c.tz).unwrap_or(chrono_tz::UTC)
}

struct Sim {
    workflow: Workflow,
    scheduler: Scheduler,
    clock: Arc<SimClock>,
    templates: Arc<Templates>,
    messages: Vec<Line>,
    /// TDX request numbers handed out.
    requests: u32,
}

/// Runs `events` from start to end; `settings` give the policies.
pub async fn run(
    settings: &Settings,
    res: &Resources,
    scenario: &Scenario,
    events: &[Event],
) -> anyhow::Result<Vec<Line>> {
    let start = scenario.start.to_utc();
    let end = scenario.end.to_utc();
    setup(&res.store, scenario, start).await?;
    let clock = Arc::new(SimClock::new(start));
    let workflow = res.workflow(clock.clone());
    let scheduler = Scheduler {
        tick: TimerTick::new(workflow.clone(), 1_000),
        itsm: None,
        // Linking staff to Slack ids asks Slack itself: nothing to simulate.
        jobs: settings
            .scheduler
            .schedules()
            .map_err(|e| anyhow!(e))?
            .into_iter()
            .filter(|(job, _)| *job != crate::scheduler::Job::SlackLink)
            .collect(),
        time_zone: res.zone,
        interval: std::time::Duration::from_secs(1),
        doorbell: None,
        kpi_channel: settings.service.kpi_channel.clone(),
        slack: None,
    };
    let mut sim =
        Sim { workflow, scheduler, clock, templates: res.templates.clone(), messages: Vec::new(), requests: 0 };
    let mut next_event = 0;
    // The jobs catch up at the first round (as a fresh deskbell does), then
    // run when their cron time comes.
    let mut next_job = Some(start);
    loop {
        let now = sim.clock.now();
        let due_event = events.get(next_event).map(|e| e.at.to_utc());
        let due = [
            due_event,
            sim.workflow.store.next_timer_due().await?,
            sim.workflow.store.next_outbox_due(true).await?,
            next_job,
        ]
        .into_iter()
        .flatten()
        .map(|d| d.max(now))
        .min();
        let Some(due) = due.filter(|d| *d <= end) else { break };
        sim.clock.set(due);
        while let Some(e) = events.get(next_event).filter(|e| e.at.to_utc() <= due) {
            sim.apply(e).await.with_context(|| format!("{}: {} {}", e.line, e.ticket, <&str>::from(&e.action)))?;
            next_event += 1;
        }
        if next_job.is_some_and(|j| j <= due) {
            sim.scheduler.run_once().await?;
            next_job = sim.next_job(due);
        } else {
            while sim.scheduler.tick.run_once().await? > 0 {}
        }
        sim.deliver().await?;
        if sim.clock.now() == now && due == now && events.get(next_event).is_none_or(|e| e.at.to_utc() > now) {
            // Nothing moved and nothing new is due at this instant: step on.
            sim.clock.set(now + Duration::seconds(1));
        }
    }
    let mut lines: Vec<(DateTime<Utc>, u8, usize, Line)> = Vec::new();
    for (i, (ticket, from, to, at)) in res.store.status_changes().await?.into_iter().enumerate() {
        lines.push((at, 0, i, Line::Status { at, ticket, from, to }));
    }
    for (i, m) in sim.messages.into_iter().enumerate() {
        lines.push((m.at(), 1, i, m));
    }
    lines.sort_by_key(|(at, rank, i, _)| (*at, *rank, *i));
    Ok(lines.into_iter().map(|(.., l)| l).collect())
}

/// The scenario's people, teams (with their slot preferences) and configs,
/// applied as a directory, the way a desk's own file is.
async fn setup(store: &Store, s: &Scenario, now: DateTime<Utc>) -> anyhow::Result<()> {
    use crate::directory::{DirConfig, DirSlot, DirTeam, Directory};
    let mut d = Directory::default();
    for p in &s.people {
        let email = Email::parse(&p.email).map_err(|e| anyhow!("person {}: {e}", p.name))?;
        let slack_user =
            p.slack.as_deref().map(SlackUserId::parse).transpose().map_err(|e| anyhow!("person {}: {e}", p.name))?;
        d.people.push(NewPerson { name: p.name.clone(), email, slack_user, roles: p.roles.clone() });
    }
    for t in &s.teams {
        let slack_channel = SlackChannelId::parse(&t.channel).map_err(|e| anyhow!("team {}: {e}", t.name))?;
        let slots = t
            .slots
            .iter()
            .map(|p| DirSlot { weekday: p.weekday, start: p.start, length_minutes: p.minutes, capacity: p.capacity })
            .collect();
        d.teams.push(DirTeam {
            name: t.name.clone(),
            slack_channel,
            calendar: t.calendar.clone(),
            location: None,
            slots,
        });
    }
    for c in &s.configs {
        d.configs.push(DirConfig {
            name: c.name.clone(),
            approvers: c.approvers.clone(),
            approved_models: Vec::new(),
            peripheral_bundle: Vec::new(),
            peripherals: Vec::new(),
            software: Vec::new(),
            options: Default::default(),
            approval: c.approval.clone(),
            fallback: c.fallback.clone(),
        });
    }
    store.sync_directory(&d, now, false).await?;
    Ok(())
}

async fn person(store: &Store, email: &str) -> anyhow::Result<PersonId> {
    let e = Email::parse(email)?;
    Ok(store.person_by_email(&e).await?.ok_or_else(|| anyhow!("nobody is {email} (add them to [[people]])"))?.id)
}

impl Sim {
    fn next_job(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tz = self.scheduler.time_zone;
        self.scheduler
            .jobs
            .iter()
            .filter_map(|(_, s)| s.after(&now.with_timezone(&tz)).next())
            .map(|t| t.to_utc())
            .min()
    }

    async fn apply(&mut self, e: &Event) -> anyhow::Result<()> {
        let store = &self.workflow.store;
        let w = &self.workflow;
        let refresh = |t: TicketRef| match t {
            TicketRef::Refresh(id) => Ok(id),
            TicketRef::Service(_) => Err(anyhow!("{t} is a service ticket")),
        };
        let service = |t: TicketRef| match t {
            TicketRef::Service(id) => Ok(id),
            TicketRef::Refresh(_) => Err(anyhow!("{t} is a refresh ticket")),
        };
        match &e.action {
            Action::CreateRefresh { style, team, config, serial, platform, customer, delegate, replacement } => {
                let team = store.team_by_name(team).await?.ok_or_else(|| anyhow!("no team is called {team}"))?;
                let config = store.config_id(config).await?.ok_or_else(|| anyhow!("no config is called {config}"))?;
                let customer = match customer {
                    Some(c) => Some(person(store, c).await?),
                    None => None,
                };
                let delegate = match delegate {
                    Some(d) => Some(person(store, d).await?),
                    None => None,
                };
                let new = NewRefreshTicket {
                    style: *style,
                    no_customer: customer.is_none(),
                    customer,
                    delegate,
                    team: team.id,
                    config,
                    existing: System { serial: serial.clone(), model: None, platform: *platform },
                    replacement: replacement.clone().map(|serial| System { serial, model: None, platform: *platform }),
                    location: None,
                };
                let t = w.create_refresh(new, &Actor::System).await?;
                anyhow::ensure!(TicketRef::from(t.id) == e.ticket, "created {} instead", t.reference());
            }
            Action::CreateService { priority, vip, kind, summary, contact, team } => {
                let team = store.team_by_name(team).await?.ok_or_else(|| anyhow!("no team is called {team}"))?;
                let contact = store.ensure_person(contact, &Email::parse(contact)?, Role::Customer).await?;
                let new = NewServiceTicket {
                    kind: *kind,
                    priority: *priority,
                    vip: *vip,
                    issue_type: "Simulated".into(),
                    subtype: "Simulated".into(),
                    summary: summary.clone(),
                    contact,
                    team: team.id,
                    agency: None,
                    request: None,
                };
                let t = w.create_service(new, &Actor::System).await?;
                anyhow::ensure!(TicketRef::from(t.id) == e.ticket, "created {} instead", t.reference());
            }
            Action::PickSlot { slot } | Action::Reschedule { slot } => {
                let id = refresh(e.ticket)?;
                let team = store.load_refresh(id).await?.value.team;
                let now = self.clock.now();
                let free: Vec<_> = store
                    .slots(team, now, now + Days::new(crate::workflow::SLOT_HORIZON_DAYS + 1))
                    .await?
                    .into_iter()
                    .filter(|s| s.is_free())
                    .collect();
                let chosen = free
                    .get(slot.saturating_sub(1))
                    .ok_or_else(|| anyhow!("there are only {} free slots", free.len()))?;
                w.pick_slot(id, &Actor::System, chosen.id).await?;
            }
            action => {
                let (actor, event) = match action {
                    Action::WalkWizard { needs_approval, location, shipping_address } => (
                        Actor::System,
                        Ev::R(RefreshEvent::WizardCompleted {
                            needs_approval: *needs_approval,
                            location: location.clone(),
                            shipping_address: shipping_address.clone(),
                            answers: None,
                        }),
                    ),
                    Action::Approve { by } => {
                        let by = person(store, by).await?;
                        (Actor::Person(by), Ev::R(RefreshEvent::Approved { by: Some(by) }))
                    }
                    Action::Deny { by, reason } => {
                        let by = person(store, by).await?;
                        (Actor::Person(by), Ev::R(RefreshEvent::Denied { by: Some(by), reason: reason.clone() }))
                    }
                    Action::AssignReplacement { serial, platform, tracking_number } => (
                        Actor::System,
                        Ev::R(RefreshEvent::ReplacementAssigned {
                            system: System { serial: serial.clone(), model: None, platform: *platform },
                            tracking_number: tracking_number.clone(),
                            bulk: true,
                        }),
                    ),
                    Action::CustomerReschedule => (Actor::System, Ev::R(RefreshEvent::CustomerRescheduleTriggered)),
                    Action::Hold { reason } => match e.ticket {
                        TicketRef::Refresh(_) => {
                            (Actor::System, Ev::R(RefreshEvent::PutOnHold { reason: reason.clone() }))
                        }
                        TicketRef::Service(_) => {
                            (Actor::System, Ev::S(ServiceEvent::PutOnHold { reason: reason.clone() }))
                        }
                    },
                    Action::Release => match e.ticket {
                        TicketRef::Refresh(_) => (Actor::System, Ev::R(RefreshEvent::Released)),
                        TicketRef::Service(_) => (Actor::System, Ev::S(ServiceEvent::Released)),
                    },
                    Action::Cancel { reason } => {
                        (Actor::System, Ev::R(RefreshEvent::Cancelled { reason: reason.clone() }))
                    }
                    Action::TdxInstalled => (Actor::External("tdx".into()), Ev::R(RefreshEvent::DeliveryConfirmed)),
                    Action::Assign { engineer } => {
                        let engineer = person(store, engineer).await?;
                        (Actor::Person(engineer), Ev::S(ServiceEvent::Assign { engineer }))
                    }
                    Action::Acknowledge { by } => {
                        let p = person(store, by).await?;
                        (Actor::Person(p), Ev::S(ServiceEvent::Acknowledge { by: p }))
                    }
                    Action::WaitOnClient => (Actor::System, Ev::S(ServiceEvent::WaitOnClient)),
                    Action::CustomerReply => (Actor::System, Ev::S(ServiceEvent::ClientReplied)),
                    Action::Escalate => (Actor::System, Ev::S(ServiceEvent::Escalate)),
                    Action::Resolve => (Actor::System, Ev::S(ServiceEvent::Resolve)),
                    Action::Close => (Actor::System, Ev::S(ServiceEvent::Close { work: None })),
                    Action::CreateRefresh { .. }
                    | Action::CreateService { .. }
                    | Action::PickSlot { .. }
                    | Action::Reschedule { .. } => {
                        unreachable!("handled above")
                    }
                };
                match event {
                    Ev::R(ev) => drop(w.refresh(refresh(e.ticket)?, &actor, ev).await?),
                    Ev::S(ev) => drop(w.service(service(e.ticket)?, &actor, ev).await?),
                }
            }
        }
        Ok(())
    }

    /// Records every due message as sent and answers TDX calls.
    async fn deliver(&mut self) -> anyhow::Result<()> {
        let (store, holder) = (self.workflow.store.clone(), crate::store::Holder::default());
        loop {
            let now = self.clock.now();
            let rows = store.claim_outbox(now, &holder, 1_000, true).await?;
            if rows.is_empty() {
                return Ok(());
            }
            let mut done = Vec::with_capacity(rows.len());
            for row in rows {
                let subject = self.subject(&row)?;
                if row.channel == Channel::Tdx {
                    self.answer_tdx(&row).await?;
                }
                self.messages.push(Line::Message {
                    at: now,
                    channel: row.channel,
                    to: row.recipient.clone(),
                    ticket: row.ticket,
                    template: row.content,
                    subject,
                    dedupe_key: row.dedupe_key.clone(),
                });
                let outcome = Outcome::Sent { external_id: "simulated".into() };
                done.push(crate::store::Finished { row, outcome, at: now, alert: None });
            }
            store.finish_outbox(&done).await?;
        }
    }

    /// What the recipient sees first: an email's subject, a Slack
    /// message's text, a TDX call's name. Rendering is the real one, so a
    /// broken template fails the simulation.
    fn subject(&self, row: &crate::store::Claimed) -> anyhow::Result<String> {
        let Some(template) = row.content.template() else {
            return Ok(row.content.to_string());
        };
        let ctx: serde_json::Value = serde_json::from_str(&row.payload)?;
        let rendered = match row.channel {
            Channel::Email => self.templates.email_subject(template, &ctx),
            _ => self.templates.slack(template, &ctx).map(|m| m.text),
        };
        rendered.map_err(|e| anyhow!("{}: {e}", row.dedupe_key))
    }

    /// A healthy TDX: the system is known, the request is created.
    async fn answer_tdx(&mut self, row: &crate::store::Claimed) -> anyhow::Result<()> {
        let Some(TicketRef::Refresh(id)) = row.ticket else { return Ok(()) };
        let event = match serde_json::from_str::<ItsmRequest>(&row.payload)? {
            ItsmRequest::LookupSystem { .. } => RefreshEvent::ItsmSystemFound,
            ItsmRequest::CreateRequest { .. } => {
                self.requests += 1;
                RefreshEvent::ItsmRequestCreated { request: format!("TDX-{}", 40_000 + self.requests) }
            }
            ItsmRequest::UpdateAppointment { .. }
            | ItsmRequest::ClosePrestageTask
            | ItsmRequest::ConfirmLocation { .. } => {
                return Ok(());
            }
        };
        self.workflow.refresh(id, &Actor::External("tdx".into()), event).await?;
        Ok(())
    }
}

enum Ev {
    R(RefreshEvent),
    S(ServiceEvent),
}
