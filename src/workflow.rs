//! Applying refresh events the one way: load the ticket, take its team's
//! business calendar and the cadence, run the pure transition, commit it
//! with its effects. The timer tick, the cron jobs, the CLI and Slack all
//! change refresh tickets through here.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Calendars;
use crate::domain::refresh::{Cadence, Ctx, RefreshEvent, RefreshTicket};
use crate::domain::{Actor, RefreshTicketId, TeamId};
use crate::store::{Result, Routing, Store, StoreError};

#[derive(Clone)]
pub struct Workflow {
    pub store: Store,
    pub calendars: Arc<Calendars>,
    pub cadence: Arc<Cadence>,
    pub routing: Routing,
    pub clock: Arc<dyn Clock>,
}

impl Workflow {
    /// The calendar of a team, or an error naming both.
    pub async fn calendar(&self, team: TeamId) -> Result<Arc<crate::calendar::BusinessCalendar>> {
        let team = self.store.team(team).await?;
        self.calendars.for_team(&team).cloned().map_err(|e| StoreError::Invalid(e.0))
    }

    pub async fn refresh(&self, id: RefreshTicketId, actor: &Actor, event: RefreshEvent) -> Result<RefreshTicket> {
        let current = self.store.load_refresh(id).await?;
        let calendar = self.calendar(current.value.team).await?;
        let now = self.clock.now();
        let ctx = Ctx { now, calendar: &calendar, cadence: &self.cadence };
        let (next, effects) = current.value.apply(event, &ctx)?;
        self.store.save_refresh(&current, &next, &effects, actor, now, &self.routing).await?;
        Ok(next)
    }
}
