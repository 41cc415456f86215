//! Escalation chains as timers (`004_*`): a chain's steps are set when the
//! chain starts, each due at its delay on its clock; a step that fires
//! while its condition still holds tells its people once, keyed by chain,
//! cycle and step. Starting a chain again (a new assignment) replaces its
//! steps and keys them apart, so an old chain never fires.

use chrono::{DateTime, Utc};

use super::ServiceTicket;
use super::policy::{ChainKind, Who};
use super::transition::Step;
use crate::domain::{DomainError, PingStep, Recipient, Template, TimerKind};

impl ChainKind {
    pub fn timer(self) -> TimerKind {
        match self {
            ChainKind::Unassigned => TimerKind::Unassigned,
            ChainKind::Unacknowledged => TimerKind::Unacknowledged,
            ChainKind::WaitingOnClient => TimerKind::WaitingOnClient,
        }
    }
}

impl Step<'_> {
    /// Which run of a chain this is: assignment epochs for the people
    /// chains, the moment the ticket started waiting for the client.
    fn cycle(&self, kind: ChainKind) -> String {
        match kind {
            ChainKind::Unassigned | ChainKind::Unacknowledged => self.t.epoch.to_string(),
            ChainKind::WaitingOnClient => self.t.status_since.timestamp().to_string(),
        }
    }

    /// Sets the chain's steps for the ticket's (effective) priority, counted
    /// from now.
    pub(super) fn start_chain(&mut self, kind: ChainKind) {
        let p = self.t.effective_priority();
        let (now, calendar) = (self.ctx.now, self.ctx.calendar);
        for (i, step) in self.ctx.policy.chain(kind).iter().enumerate() {
            if step.priorities.contains(&p) {
                let due = step.clock.add(calendar, now, step.after);
                self.fx.push(crate::domain::Effect::SetTimer(crate::domain::Timer {
                    kind: kind.timer(),
                    step: u16::try_from(i).unwrap_or(u16::MAX),
                    due_at: due,
                }));
            }
        }
    }

    /// Tells the step's people: staff by Slack DM (email without a Slack
    /// id) and the team channel, each once; the client by email.
    pub(super) fn fire_chain(&mut self, kind: ChainKind, step: u16) -> Result<(), DomainError> {
        let policy = self.ctx.policy;
        let s = policy
            .chain(kind)
            .get(usize::from(step))
            .ok_or_else(|| DomainError::Invalid(format!("{kind} has no step {step} in the policy")))?;
        let key = format!("{kind}/{}/{step}", self.cycle(kind));
        let ping = PingStep { chain: kind.to_string(), number: step + 1, minutes: s.after.num_minutes() };
        let roles: Vec<_> = s.notify.iter().filter_map(|w| w.role()).collect();
        let assignee = self.t.assignee.filter(|_| s.notify.contains(&Who::Assignee));
        let team = s.notify.contains(&Who::TeamChannel).then_some(self.t.team);
        if !roles.is_empty() || assignee.is_some() || team.is_some() {
            self.fx.notify_step(s.template, Recipient::Escalation { roles, assignee, team }, &key, ping.clone());
        }
        if s.notify.contains(&Who::Client) {
            self.fx.notify_step(s.template, Recipient::Customer(self.t.contact), &format!("{key}/client"), ping);
        }
        Ok(())
    }

    /// The n-th status-update reminder, and the next one. Keyed by the
    /// instant it is due: the run restarts from 1 when a client replies.
    /// An engineer who has not acknowledged is chased by the unacknowledged
    /// chain, not asked for updates on work they have not taken up.
    pub(super) fn remind_status_update(&mut self, n: u16) {
        if let Some(assignee) = self.t.assignee.filter(|_| self.t.acknowledged_at.is_some()) {
            let key = format!("status_update/{}/{}", self.t.epoch, self.ctx.now.timestamp());
            let every = self.ctx.policy.status_update_every(self.t.effective_priority());
            let ping = PingStep {
                chain: "status_update".into(),
                number: n,
                minutes: every.map(|d| d.num_minutes()).unwrap_or_default(),
            };
            self.fx.notify_step(Template::StatusUpdateReminder, Recipient::Staff(assignee), &key, ping);
        }
        self.arm_status_updates(n + 1);
    }

    /// Leaving hold: the client-response target gets back the business
    /// time it still had when the hold began (`status_since`).
    pub(super) fn resume_response_target(&mut self) {
        let (cal, now, held) = (self.ctx.calendar, self.ctx.now, self.t.status_since);
        if let (Some(due), None) = (self.t.response_due_at, self.t.responded_at) {
            self.t.response_due_at = Some(cal.add_business_duration(now, cal.business_duration_between(held, due)));
        }
    }
}

/// Where a ticket stands against its client-response target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sla {
    Due(DateTime<Utc>),
    Met {
        on_time: bool,
    },
    Breached,
    /// On hold: the clock stands still.
    Paused,
}

impl ServiceTicket {
    pub fn sla(&self, now: DateTime<Utc>) -> Option<Sla> {
        let due = self.response_due_at?;
        Some(match self.responded_at {
            Some(at) => Sla::Met { on_time: at <= due },
            None if self.status == super::ServiceStatus::OnHold => Sla::Paused,
            None if now > due => Sla::Breached,
            None => Sla::Due(due),
        })
    }
}
