//! Commands on tickets and inbound mail: show one, act on one as the desk's
//! operator, list and retry inbound messages.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::domain::access::Action;
use crate::domain::refresh::RefreshEvent;
use crate::domain::{SlotId, TicketRef};
use crate::startup::Resources;
use crate::workflow::{Request, Requester};

use super::TicketAction;

pub async fn show(settings: &Settings, ticket: TicketRef) -> anyhow::Result<()> {
    let res = Resources::open(settings).await?;
    print!("{}", crate::ticket_view::show(&res.store, &res.calendars, ticket, SystemClock.now()).await?);
    Ok(())
}

/// A staff action through the same workflow entry Slack uses; the
/// operator at the CLI acts as the system.
pub async fn act(settings: &Settings, ticket: TicketRef, action: TicketAction) -> anyhow::Result<()> {
    let TicketRef::Refresh(id) = ticket else { anyhow::bail!("{ticket} is not a refresh ticket") };
    let (action, request) = match action {
        TicketAction::Hold { reason } => (Action::Hold, Request::Event(RefreshEvent::PutOnHold { reason })),
        TicketAction::Release => (Action::Release, Request::Event(RefreshEvent::Released)),
        TicketAction::CustomerReschedule => {
            (Action::Reschedule, Request::Event(RefreshEvent::CustomerRescheduleTriggered))
        }
        TicketAction::Reschedule { slot } => (Action::Reschedule, Request::Slot(SlotId(slot))),
        TicketAction::Cancel { reason } => (Action::Cancel, Request::Event(RefreshEvent::Cancelled { reason })),
    };
    let res = Resources::open(settings).await?;
    let t = res.workflow(Arc::new(SystemClock)).act(&Requester::System, action, id, request).await?;
    println!("{} is now {}", t.reference(), t.status);
    Ok(())
}

pub async fn inbound_list(settings: &Settings, status: Option<&str>, limit: i64) -> anyhow::Result<()> {
    let res = Resources::open(settings).await?;
    for m in res.store.inbound_list(status, limit).await? {
        let ticket = m.ticket.map(|t| t.to_string()).unwrap_or_else(|| "-".into());
        let at = m.received_at.format("%Y-%m-%d %H:%M");
        let (sender, reason) = (m.sender.unwrap_or_default(), m.reason.unwrap_or_default());
        println!("{:>6}  {at}  {:<8} {:<10} {ticket:<7} {sender}  {reason}", m.id, m.source, m.status);
    }
    Ok(())
}

pub async fn inbound_retry(settings: &Settings, id: i64) -> anyhow::Result<()> {
    let res = Resources::open(settings).await?;
    let inbound = crate::inbound::Inbound::new(settings, res.workflow(Arc::new(SystemClock)));
    let o = inbound.process(id).await?;
    let ticket = o.ticket.map(|t| format!(" on {t}")).unwrap_or_default();
    println!("message {id}: {}{ticket} ({})", o.status, o.reason.unwrap_or_default());
    Ok(())
}
