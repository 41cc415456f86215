//! Staff give the location of a refresh ticket whose customer did not walk
//! the wizard (`000_*`: `pending_location_information` needs "support
//! staff to fill out the location form"): the **Provide location** button
//! of the team's alert and `/location R-12` open one modal; saving it
//! advances the ticket as the customer's page would.

use crate::domain::access::Action;
use crate::domain::refresh::{RefreshStatus, Style};
use crate::domain::{Person, RefreshTicketId, TicketRef};
use crate::http::{AppState, HttpError};
use crate::workflow::{Error, Request, Requester};

use super::{modals, told};

/// Opens the modal for `who`; otherwise what they are told.
pub async fn open(
    state: &AppState,
    who: &Person,
    id: RefreshTicketId,
    trigger_id: &str,
) -> Result<Option<String>, HttpError> {
    let ticket = match state.workflow.check(&Requester::Person(who), Action::WalkWizard, id).await {
        Ok(t) => t.value,
        Err(e) => return told(e).map(Some),
    };
    if !matches!(ticket.status, RefreshStatus::PendingWizard | RefreshStatus::PendingLocationInformation) {
        let status = ticket.status.to_string().replace('_', " ");
        return Ok(Some(format!("{} is {status}: it needs no location now.", TicketRef::from(id))));
    }
    let unit = match ticket.style {
        Style::UnitSpecifiedLocation => state.workflow.store.team(ticket.team).await?.location,
        _ => None,
    };
    let view = modals::location(id.into(), ticket.style == Style::RemoteCustomer, unit.as_deref());
    match state.slack.open_view(trigger_id, &view).await {
        Ok(()) => Ok(None),
        Err(e) => {
            tracing::warn!(error = %e, "could not open the location modal");
            Ok(Some(format!("Slack did not open the form ({e}); try again.")))
        }
    }
}

/// The modal saved: the location (or address) as the ticket's answer.
pub async fn save(state: &AppState, who: &Person, id: RefreshTicketId, given: &str) -> Result<(), Error> {
    let given = given.trim();
    if given.is_empty() {
        return Err(Error::Told("Say where: a building and room, or an address.".into()));
    }
    let location = Request::Location(given.to_owned());
    state.workflow.act(&Requester::Person(who), Action::WalkWizard, id, location).await.map(drop)
}
