//! Changing tickets the one way: load the ticket, take its team's business
//! calendar and the desk's cadence or escalation policy, run the pure
//! transition, commit it with its effects in one transaction. The timer
//! tick, the cron jobs, the CLI, the API, Slack and the customer's pages
//! all create and change tickets through here; what a person asks for is
//! checked first ([`acting`]).

mod acting;
mod approvals;
mod jobs;
mod requests;

use std::sync::Arc;

use crate::calendar::BusinessCalendar;
use crate::clock::Clock;
use crate::config::Calendars;
use crate::domain::refresh::{AwayStatus, Cadence, Ctx, NewRefreshTicket, RefreshEvent, RefreshStatus, RefreshTicket};
use crate::domain::service::policy::EscalationPolicy;
use crate::domain::service::request::RequestPolicy;
use crate::domain::service::{NewServiceTicket, ServiceCtx, ServiceEvent, ServiceTicket};
use crate::domain::{Actor, RefreshTicketId, ServiceTicketId, SlotId, TeamId};
use crate::store::{RefreshChange, Result, Routing, ServiceMove, Store, StoreError, TeamCalendar, Versioned};

pub use acting::{Error, Request, Requester};
pub use jobs::SLOT_HORIZON_DAYS;
pub use requests::{RequestForm, ServiceForm};

#[derive(Clone)]
pub struct Workflow {
    pub store: Store,
    pub calendars: Arc<Calendars>,
    pub cadence: Arc<Cadence>,
    pub routing: Routing,
    pub clock: Arc<dyn Clock>,
    pub policy: Arc<EscalationPolicy>,
    /// Request and transaction kinds.
    pub requests: Arc<RequestPolicy>,
    /// The desk's zone: days people name (a delegation's last day) are its days.
    pub zone: chrono_tz::Tz,
    /// What in a Slack status says its person is away.
    pub away: Arc<AwayStatus>,
}

impl Workflow {
    /// The calendar of a team, or an error naming both.
    pub async fn calendar(&self, team: TeamId) -> Result<Arc<BusinessCalendar>> {
        let team = self.store.team(team).await?;
        self.calendars.for_team(&team).cloned().map_err(|e| StoreError::Invalid(e.0))
    }

    /// The calendar of a ticket's team, as read with the ticket.
    pub fn calendar_of(&self, team: &TeamCalendar) -> Result<Arc<BusinessCalendar>> {
        self.calendars.of_team(&team.name, &team.calendar).cloned().map_err(|e| StoreError::Invalid(e.0))
    }

    pub async fn create_refresh(&self, new: NewRefreshTicket, actor: &Actor) -> Result<RefreshTicket> {
        let mut created = self.create_refresh_all(vec![new], actor).await.map_err(|(_, e)| e)?;
        Ok(created.pop().expect("one ticket in, one out"))
    }

    /// New refresh tickets with their cadence started, in one transaction:
    /// all of them, or (the first failure, by its 0-based index) none.
    pub async fn create_refresh_all(
        &self,
        new: Vec<NewRefreshTicket>,
        actor: &Actor,
    ) -> Result<Vec<RefreshTicket>, (usize, StoreError)> {
        let mut calendars = Vec::with_capacity(new.len());
        for (i, n) in new.iter().enumerate() {
            calendars.push(self.calendar(n.team).await.map_err(|e| (i, e))?);
        }
        let now = self.clock.now();
        let items = new
            .into_iter()
            .zip(&calendars)
            .map(|(n, calendar)| (n, Ctx { now, calendar, policy: &self.cadence }))
            .collect();
        self.store.create_refresh_batch(items, actor, &self.routing).await
    }

    pub async fn refresh(&self, id: RefreshTicketId, actor: &Actor, event: RefreshEvent) -> Result<RefreshTicket> {
        let mut done = self.refresh_all(vec![(id, event)], actor).await.map_err(|(_, e)| e)?;
        Ok(done.pop().expect("one change in, one ticket out"))
    }

    /// Applies every event to its own ticket in one transaction: all of
    /// them, or (the first failure, by its 0-based index) none.
    pub async fn refresh_all(
        &self,
        events: Vec<(RefreshTicketId, RefreshEvent)>,
        actor: &Actor,
    ) -> Result<Vec<RefreshTicket>, (usize, StoreError)> {
        let mut loaded = Vec::with_capacity(events.len());
        for (i, (id, event)) in events.into_iter().enumerate() {
            loaded.push((self.store.load_refresh(id).await.map_err(|e| (i, e))?, event));
        }
        self.commit(loaded, actor).await
    }

    /// Runs each event on the ticket as it was read and saves them all, if
    /// nobody saved any of those tickets in between.
    async fn commit(
        &self,
        events: Vec<(Versioned<RefreshTicket>, RefreshEvent)>,
        actor: &Actor,
    ) -> Result<Vec<RefreshTicket>, (usize, StoreError)> {
        let now = self.clock.now();
        let mut moves = Vec::with_capacity(events.len());
        for (i, (current, event)) in events.into_iter().enumerate() {
            let calendar = self.calendar_of(&current.team).map_err(|e| (i, e))?;
            let ctx = Ctx { now, calendar: &calendar, policy: &self.cadence };
            let (next, mut effects) = current.value.apply(event, &ctx).map_err(|e| (i, e.into()))?;
            let (next, routed) = self.route_approval(next, &ctx).await.map_err(|e| (i, e))?;
            effects.extend(routed);
            moves.push((current, next, effects, calendar));
        }
        let changes: Vec<RefreshChange> = moves
            .iter()
            .map(|(current, next, effects, calendar)| RefreshChange {
                current,
                next,
                effects,
                calendar: Some(calendar),
            })
            .collect();
        self.store.save_refresh_all(&changes, actor, now, &self.routing).await?;
        Ok(moves.into_iter().map(|(_, next, ..)| next).collect())
    }

    /// Books a slot, or moves the appointment to one; refused with
    /// [`StoreError::SlotFull`] if it filled meanwhile.
    pub async fn pick_slot(&self, id: RefreshTicketId, actor: &Actor, slot: SlotId) -> Result<RefreshTicket> {
        let current = self.store.load_refresh(id).await?;
        let event = self.slot_event(&current.value, slot).await?;
        let mut done = self.commit(vec![(current, event)], actor).await.map_err(|(_, e)| e)?;
        Ok(done.pop().expect("one change in, one ticket out"))
    }

    /// Booking `slot` for `ticket`: a first pick or a move.
    async fn slot_event(&self, ticket: &RefreshTicket, slot: SlotId) -> Result<RefreshEvent> {
        let s = self.store.slot(slot).await?;
        if s.team != ticket.team {
            return Err(StoreError::Invalid(format!("slot {slot} belongs to another support team")));
        }
        if !s.is_free() {
            return Err(StoreError::SlotFull(slot));
        }
        Ok(match ticket.status {
            RefreshStatus::DeliveryScheduled => RefreshEvent::Rescheduled { slot, starts_at: s.starts_at },
            _ => RefreshEvent::SlotPicked { slot, starts_at: s.starts_at },
        })
    }

    pub async fn service(&self, id: ServiceTicketId, actor: &Actor, event: ServiceEvent) -> Result<ServiceTicket> {
        let m = self.service_move(id, event).await?;
        self.store.save_service(&m, actor, self.clock.now(), &self.routing).await?;
        Ok(m.next)
    }

    /// A service ticket's transition, computed on the ticket as it is now and
    /// not yet saved (the caller saves it with what else it writes).
    pub async fn service_move(&self, id: ServiceTicketId, event: ServiceEvent) -> Result<ServiceMove> {
        let current = self.store.load_service(id).await?;
        let calendar = self.policy.sla_calendar(&*self.calendar_of(&current.team)?);
        let ctx = ServiceCtx { now: self.clock.now(), calendar: &calendar, policy: &self.policy };
        let (next, effects) = current.value.apply(event, &ctx)?;
        Ok(ServiceMove { current, next, effects })
    }

    /// A new service ticket, its SLA clock and escalation chains started.
    pub async fn create_service(&self, new: NewServiceTicket, actor: &Actor) -> Result<ServiceTicket> {
        let calendar = self.policy.sla_calendar(&*self.calendar(new.team).await?);
        let ctx = ServiceCtx { now: self.clock.now(), calendar: &calendar, policy: &self.policy };
        self.store.create_service(new, actor, &ctx, &self.routing).await
    }
}
