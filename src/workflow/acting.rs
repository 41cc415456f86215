//! What a person asks for, checked: who asks ([`Requester`]), whether they
//! may ([`crate::domain::access`]; a refusal is audited and told), the
//! change applied to the ticket as it was checked, and a race lost told as
//! what happened instead. Slack, the API, the CLI and the customer's pages
//! come through here, so each checks the same way and each click loads the
//! ticket once.
//!
//! [`Error`] keeps apart what the person is told (they can act on it;
//! nothing changed) from our own failures (logged, never shown): the Slack
//! edge answers the first ephemerally, the HTTP edge with a 4xx.

use crate::domain::access::Action;
use crate::domain::refresh::{ApprovalDecision, RefreshEvent, RefreshTicket, Style};
use crate::domain::service::{ServiceEvent, ServiceTicket};
use crate::domain::{Actor, DomainError, Person, RefreshTicketId, ServiceTicketId, SlotId, TicketRef};
use crate::store::{StoreError, Versioned};

use super::Workflow;

/// Who asks for a change, as the edge established it.
#[derive(Debug, Clone, Copy)]
pub enum Requester<'a> {
    /// deskbell's own clocks and jobs, and the desk's operator at the CLI.
    System,
    /// A person deskbell knows (by their Slack account): checked against
    /// what they may do.
    Person(&'a Person),
    /// Whoever holds the signed link of this ticket: its customer, or
    /// their delegate.
    Link(TicketRef),
}

impl Requester<'_> {
    fn actor(&self, ticket: &RefreshTicket) -> Actor {
        match self {
            Self::System => Actor::System,
            Self::Person(p) => Actor::Person(p.id),
            Self::Link(_) => ticket.contact().map(Actor::Person).unwrap_or(Actor::System),
        }
    }
}

/// A change a person asks for.
#[derive(Debug, Clone)]
pub enum Request {
    Event(RefreshEvent),
    /// Book this slot, or move the appointment to it.
    Slot(SlotId),
    /// Staff give where a ticket's system is (or, at home, where to ship):
    /// the wizard's answer nobody gave.
    Location(String),
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Said to the person as it is: not theirs to do, not possible now, a
    /// race lost. Nothing changed.
    #[error("{0}")]
    Told(String),
    /// The slot filled (or went) meanwhile: show the fresh list.
    #[error("slot {0} is taken")]
    SlotTaken(SlotId),
    /// What the person gave is wrong, each problem naming its field.
    /// Nothing changed.
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
    /// A ticket or slot the request names does not exist.
    #[error("{0} does not exist")]
    Missing(String),
    /// Ours: logged, never shown.
    #[error(transparent)]
    Internal(StoreError),
}

impl Error {
    /// A store outcome of a change of `ticket`, sorted into what the person
    /// is told and what is ours.
    pub fn about(ticket: TicketRef, e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => Self::Told(d.for_people(ticket)),
            StoreError::Conflict { ticket } => Self::Told(format!("{ticket} changed meanwhile; look again and retry.")),
            StoreError::SlotFull(slot) => Self::SlotTaken(slot),
            StoreError::NotFound(what) => Self::Missing(what),
            StoreError::Invalid(why) => Self::Told(why),
            other => Self::Internal(other),
        }
    }

    /// What the person who asked reads; `None` for our own failures.
    pub fn for_people(&self) -> Option<String> {
        match self {
            Self::Told(text) => Some(text.clone()),
            Self::Invalid(problems) => Some(problems.join("; ")),
            Self::SlotTaken(_) => Some("That slot filled meanwhile; pick another.".into()),
            Self::Missing(what) => Some(format!("{what} does not exist.")),
            Self::Internal(_) => None,
        }
    }
}

/// A location given for `ticket` as the event its wizard would have sent.
fn location_event(ticket: &RefreshTicket, given: String) -> RefreshEvent {
    let (location, shipping_address) = match ticket.style {
        Style::RemoteCustomer => (None, Some(given)),
        _ => (Some(given), None),
    };
    RefreshEvent::WizardCompleted { needs_approval: false, location, shipping_address, answers: None }
}

impl Workflow {
    /// The active person with this Slack account.
    pub async fn slack_person(&self, slack_user: &str) -> Result<Person, Error> {
        match self.store.person_by_slack(slack_user).await {
            Ok(Some(p)) => Ok(p),
            Ok(None) => {
                Err(Error::Told("deskbell does not know your Slack account; ask a refresh admin to add it.".into()))
            }
            Err(e) => Err(Error::Internal(e)),
        }
    }

    /// The ticket as it is now, if `who` may do `action` to it; a person's
    /// refusal is audited.
    pub async fn check(
        &self,
        who: &Requester<'_>,
        action: Action,
        id: RefreshTicketId,
    ) -> Result<Versioned<RefreshTicket>, Error> {
        let t = TicketRef::from(id);
        let about = |e| Error::about(t, e);
        let current = self.store.load_refresh(id).await.map_err(about)?;
        match who {
            Requester::System => Ok(current),
            Requester::Link(link) if *link == t && matches!(action, Action::PickSlot | Action::WalkWizard) => {
                Ok(current)
            }
            Requester::Link(_) => Err(Error::Told(format!("This link is not for {t}."))),
            Requester::Person(person) => {
                let config = self.store.config(current.value.config).await.map_err(about)?;
                let Err(refusal) = person.may_refresh(action, &current.value, &config) else { return Ok(current) };
                let (actor, now) = (Actor::Person(person.id), self.clock.now());
                self.store.record_refusal(t, &actor, action.into(), &refusal.0, now).await.map_err(about)?;
                tracing::info!(ticket = %t, person = %person.id, %action, "refused");
                Err(Error::Told(refusal.0))
            }
        }
    }

    /// Does what `who` asks to the ticket as it was checked. Decisions
    /// made at the same instant (`all`, `majority`) are each applied to the
    /// ticket as the other left it; a decision someone else made first is
    /// told as that decision.
    pub async fn act(
        &self,
        who: &Requester<'_>,
        action: Action,
        id: RefreshTicketId,
        request: Request,
    ) -> Result<RefreshTicket, Error> {
        const DECISION_RETRIES: u32 = 3;
        let t = TicketRef::from(id);
        let decision = matches!(action, Action::Approve | Action::Deny);
        let mut retries = 0;
        loop {
            let current = self.check(who, action, id).await?;
            let actor = who.actor(&current.value);
            let event = match request.clone() {
                Request::Event(event) => event,
                Request::Slot(slot) => self.slot_event(&current.value, slot).await.map_err(|e| Error::about(t, e))?,
                Request::Location(given) => location_event(&current.value, given),
            };
            match self.commit(vec![(current, event)], &actor).await {
                Ok(mut done) => return Ok(done.pop().expect("one change in, one ticket out")),
                Err((_, StoreError::Conflict { .. })) if decision && retries < DECISION_RETRIES => retries += 1,
                Err((_, StoreError::Domain(DomainError::IllegalTransition { .. }) | StoreError::Conflict { .. }))
                    if decision =>
                {
                    return Err(Error::Told(self.decided(id).await?));
                }
                Err((_, e)) => return Err(Error::about(t, e)),
            }
        }
    }

    /// Acknowledge, or Assign to me (and acknowledge), a service ticket.
    pub async fn take(&self, who: &Person, action: Action, id: ServiceTicketId) -> Result<ServiceTicket, Error> {
        let t = TicketRef::from(id);
        let (actor, about) = (Actor::Person(who.id), |e| Error::about(t, e));
        if let Err(no) = who.may_service(action) {
            self.store.record_refusal(t, &actor, action.into(), &no.0, self.clock.now()).await.map_err(about)?;
            return Err(Error::Told(no.0));
        }
        let current = self.store.load_service(id).await.map_err(about)?.value;
        if current.assignee == Some(who.id) && current.acknowledged_at.is_some() {
            // Pressed again: nothing to change.
            return Err(Error::Told(format!("{t} is already yours.")));
        }
        if action == Action::AssignToMe {
            self.service(id, &actor, ServiceEvent::Assign { engineer: who.id }).await.map_err(about)?;
        }
        self.service(id, &actor, ServiceEvent::Acknowledge { by: who.id }).await.map_err(about)
    }

    /// "R-12 was already approved by Ann Approver (Tue Nov 24, 10:42 AM EST)."
    pub async fn decided(&self, id: RefreshTicketId) -> Result<String, Error> {
        let t = TicketRef::from(id);
        let about = |e| Error::about(t, e);
        let audits = self.store.audits(t).await.map_err(about)?;
        // The audits of one transition share its instant.
        let decided = audits.iter().rev().find_map(|a| {
            let same = audits.iter().filter(|b| b.at == a.at).map(|b| &b.change);
            ApprovalDecision::in_change(same).map(|d| (a, d))
        });
        let Versioned { value: ticket, team, .. } = self.store.load_refresh(id).await.map_err(about)?;
        let Some((a, verb)) = decided else {
            return Ok(format!("{t} is not waiting for approval (it is {}).", ticket.status));
        };
        let by = match &a.actor {
            Actor::Person(p) => self.store.person(*p).await.map_err(about)?.name,
            other => other.to_string(),
        };
        let tz = self.calendar_of(&team).map_err(about)?.tz;
        Ok(format!("{t} was already {verb} by {by} ({}).", crate::calendar::staff_time(a.at, tz)))
    }
}
