//! Approvals that keep moving. Every change of a ticket awaiting approval
//! routes it by what the directory says at that instant (the domain's
//! [`RefreshTicket::route_approval`]); so do delegations, Slack statuses,
//! directory syncs and the midnight job, for every ticket waiting, so a
//! delegation's first and last day move requests without anyone acting.

use chrono::NaiveDate;

use super::{Error, Workflow};
use crate::domain::refresh::{Ctx, Delegation, RefreshStatus, RefreshTicket};
use crate::domain::{Actor, Effect, Person};
use crate::store::{RefreshChange, Result, StoreError};

impl Workflow {
    /// `next`, when it awaits approval, routed by the directory as it is now.
    pub(super) async fn route_approval(
        &self,
        next: RefreshTicket,
        ctx: &Ctx<'_>,
    ) -> Result<(RefreshTicket, Vec<Effect>)> {
        if next.status != RefreshStatus::RequiresApproval {
            return Ok((next, Vec::new()));
        }
        let approvers = self.store.approvers(next.config).await?;
        Ok(next.route_approval(&approvers, ctx)?)
    }

    /// Routes every ticket awaiting approval again; saves those whose
    /// requests moved. A ticket saved meanwhile by someone else was routed
    /// by that save. Returns how many moved.
    pub async fn reroute_approvals(&self) -> Result<usize> {
        let now = self.clock.now();
        let mut moved = 0;
        for (id, _) in self.store.refresh_in_status(RefreshStatus::RequiresApproval).await? {
            let current = self.store.load_refresh(id).await?;
            let calendar = self.calendar_of(&current.team)?;
            let ctx = Ctx { now, calendar: &calendar, policy: &self.cadence };
            let (next, effects) = match self.route_approval(current.value.clone(), &ctx).await {
                Ok(routed) => routed,
                Err(e @ StoreError::Domain(_)) => {
                    tracing::warn!(ticket = %id, error = %e, "approval not routed");
                    continue;
                }
                Err(e) => return Err(e),
            };
            if effects.is_empty() {
                continue;
            }
            let change = RefreshChange { current: &current, next: &next, effects: &effects, calendar: Some(&calendar) };
            match self.store.save_refresh_all(&[change], &Actor::System, now, &self.routing).await {
                Ok(()) => moved += 1,
                Err((_, StoreError::Conflict { .. })) => {}
                Err((_, e)) => return Err(e),
            }
        }
        Ok(moved)
    }

    /// Today in the desk's zone.
    pub fn today(&self) -> NaiveDate {
        self.clock.now().with_timezone(&self.zone).date_naive()
    }

    /// `who` names `delegate` to decide their approval requests from
    /// `from` (today if none) to `until`, days of the desk's zone. Requests
    /// waiting now move at once.
    pub async fn delegate(
        &self,
        who: &Person,
        delegate: &Person,
        from: Option<NaiveDate>,
        until: NaiveDate,
        by: &Actor,
    ) -> Result<String, Error> {
        if !self.store.is_approver(who.id).await.map_err(Error::Internal)? {
            return Err(Error::Told(format!("{} approves no refresh config: there is nothing to delegate.", who.name)));
        }
        if !delegate.is_staff() {
            return Err(Error::Told(format!(
                "{} is not staff: name a colleague deskbell knows as staff.",
                delegate.name
            )));
        }
        let d = Delegation { approver: who.id, delegate: delegate.id, from: from.unwrap_or(self.today()), until };
        d.check(self.today()).map_err(Error::Told)?;
        self.store.set_delegation(&d, by, self.clock.now()).await.map_err(Error::Internal)?;
        let moved = self.reroute_approvals().await.map_err(Error::Internal)?;
        tracing::info!(approver = %who.id, delegate = %delegate.id, %until, moved, "delegation set");
        Ok(format!(
            "From {} to {until}, {} decides {}'s approval requests ({moved} waiting request(s) moved now).",
            d.from, delegate.name, who.name
        ))
    }

    /// Ends `who`'s delegation; their waiting requests come back to them.
    pub async fn end_delegation(&self, who: &Person) -> Result<String, Error> {
        if !self.store.end_delegation(who.id).await.map_err(Error::Internal)? {
            return Ok(format!("{} has no delegation to end.", who.name));
        }
        let moved = self.reroute_approvals().await.map_err(Error::Internal)?;
        Ok(format!("Delegation ended: {}'s approval requests are theirs again ({moved} moved back).", who.name))
    }

    /// A Slack status changed: an away status sends the person's requests
    /// to their configs' fallback while it holds. Whether anything changed.
    pub async fn slack_status(&self, slack_user: &str, emoji: &str, text: &str) -> Result<bool> {
        let away = self.away.away(emoji, text);
        if !self.store.set_away(slack_user, away.as_deref()).await? {
            return Ok(false);
        }
        tracing::info!(slack_user, away = away.is_some(), "Slack status changed");
        self.reroute_approvals().await?;
        Ok(true)
    }
}
