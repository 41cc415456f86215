//! Acting on a ticket for a Slack user: map them to a person, check they
//! may (a refusal is audited and the ticket left alone), apply the event,
//! and turn "somebody else was first" into words instead of a second
//! transition.

use crate::domain::access::Action;
use crate::domain::refresh::{ApprovalDecision, RefreshEvent, RefreshTicket};
use crate::domain::{Actor, DomainError, Person, RefreshTicketId, TicketRef};
use crate::http::{AppState, HttpError};
use crate::store::StoreError;

/// What the person is told, when they are told anything.
pub type Answer = Option<String>;

pub async fn person(state: &AppState, slack_user: &str) -> Result<Result<Person, String>, HttpError> {
    Ok(state
        .store
        .person_by_slack(slack_user)
        .await?
        .ok_or_else(|| "deskbell does not know your Slack account; ask a refresh admin to add it.".to_owned()))
}

/// The refusal text, with its audit row, if `who` may not do `action`.
pub async fn refused(
    state: &AppState,
    who: &Person,
    action: Action,
    ticket: &RefreshTicket,
) -> Result<Answer, HttpError> {
    let config = state.store.config(ticket.config).await?;
    match who.may_refresh(action, ticket, &config) {
        Ok(()) => Ok(None),
        Err(refusal) => {
            let now = state.clock.now();
            let t = TicketRef::from(ticket.id);
            state.store.record_refusal(t, &Actor::Person(who.id), action.into(), &refusal.0, now).await?;
            tracing::info!(ticket = %t, person = %who.id, %action, "refused");
            Ok(Some(refusal.0))
        }
    }
}

/// Approves or denies, once: the second click, the other approver's click
/// and a stale button are told what already happened.
pub async fn decide(
    state: &AppState,
    who: &Person,
    id: RefreshTicketId,
    event: RefreshEvent,
) -> Result<Answer, HttpError> {
    let action = if matches!(event, RefreshEvent::Approved) { Action::Approve } else { Action::Deny };
    let ticket = state.store.load_refresh(id).await?.value;
    if let Some(no) = refused(state, who, action, &ticket).await? {
        return Ok(Some(no));
    }
    match state.workflow.refresh(id, &Actor::Person(who.id), event).await {
        Ok(_) => Ok(None),
        Err(StoreError::Domain(DomainError::IllegalTransition { .. }) | StoreError::Conflict { .. }) => {
            Ok(Some(decided(state, id).await?))
        }
        Err(e) => Err(e.into()),
    }
}

/// "R-12 was already approved by Ann Approver (Tue Nov 24, 10:42 AM EST)."
pub async fn decided(state: &AppState, id: RefreshTicketId) -> Result<String, HttpError> {
    let t = TicketRef::from(id);
    let audits = state.store.audits(t).await?;
    // The audits of one transition share its instant.
    let decided = audits.iter().rev().find_map(|a| {
        let same = audits.iter().filter(|b| b.at == a.at).map(|b| &b.change);
        ApprovalDecision::in_change(same).map(|d| (a, d))
    });
    let ticket = state.store.load_refresh(id).await?.value;
    let Some((a, verb)) = decided else {
        return Ok(format!("{t} is not waiting for approval (it is {}).", ticket.status));
    };
    let by = match &a.actor {
        Actor::Person(p) => state.store.person(*p).await?.name,
        other => other.to_string(),
    };
    let tz = state.workflow.calendar(ticket.team).await?.tz;
    Ok(format!("{t} was already {verb} by {by} ({}).", super::modals::local(a.at, tz)))
}

/// Applies a staff event (hold, release, reschedule) after the check, and
/// words the outcome; domain refusals are told as they are.
pub async fn staff(
    state: &AppState,
    who: &Person,
    action: Action,
    id: RefreshTicketId,
    event: RefreshEvent,
) -> Result<Result<RefreshTicket, String>, HttpError> {
    let ticket = state.store.load_refresh(id).await?.value;
    if let Some(no) = refused(state, who, action, &ticket).await? {
        return Ok(Err(no));
    }
    match state.workflow.refresh(id, &Actor::Person(who.id), event).await {
        Ok(t) => Ok(Ok(t)),
        Err(e) => words(e, id.into()).map(Err),
    }
}

/// What a person can be told about a failed change of `ticket`; anything
/// else is ours.
pub fn words(e: StoreError, ticket: TicketRef) -> Result<String, HttpError> {
    match e {
        StoreError::Domain(d) => Ok(d.for_people(ticket)),
        StoreError::Conflict { ticket } => Ok(format!("{ticket} changed meanwhile; look again and retry.")),
        StoreError::SlotFull(_) => Ok("That slot filled meanwhile; pick another.".into()),
        StoreError::Invalid(why) => Ok(why),
        other => Err(other.into()),
    }
}
