//! The service ticket lifecycle of `004_*`: new → assigned → (acknowledged)
//! in progress ⇄ waiting on client → resolved → closed, with escalation to the
//! next tier and hold. Pure: effects are returned, never performed.

use strum::{IntoEnumIterator, IntoStaticStr};

use chrono::{DateTime, Utc};

use super::policy::{ChainKind, EscalationPolicy};
use super::{LAST_TIER, NewServiceTicket, ServiceKind, ServiceStatus, ServiceTicket};
use crate::domain::effects::Effects;
use crate::domain::{
    AuditField, DomainError, Effect, PersonId, Recipient, Role, ServiceTicketId, Template, Timer, TimerKind,
};

/// A service transition's context: the team's calendar with the SLA's
/// business hours, and the escalation policy.
pub type ServiceCtx<'a> = crate::domain::Ctx<'a, EscalationPolicy>;

#[derive(Debug, Clone, PartialEq, Eq, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ServiceEvent {
    Assign {
        engineer: PersonId,
    },
    Acknowledge {
        by: PersonId,
    },
    WaitOnClient,
    ClientReplied,
    /// Past the escalation threshold: up one tier, waiting for a new engineer.
    Escalate,
    PutOnHold {
        reason: String,
    },
    Released,
    Resolve,
    Close,
    Reopen,
    /// A due step of a chain, the threshold or a status-update reminder.
    TimerFired {
        kind: TimerKind,
        step: u16,
    },
}

pub(super) struct Step<'a> {
    pub t: ServiceTicket,
    pub fx: Effects,
    pub ctx: &'a ServiceCtx<'a>,
}

impl Step<'_> {
    fn status(&mut self, to: ServiceStatus) {
        self.fx.status(Some(self.t.status), to);
        self.t.status = to;
        self.t.status_since = self.ctx.now;
    }

    fn set_timer(&mut self, kind: TimerKind, step: u16, due_at: DateTime<Utc>) {
        self.fx.push(Effect::SetTimer(Timer { kind, step, due_at }));
    }

    /// Past the threshold of this tier (wall clock), the ticket goes up one.
    fn arm_threshold(&mut self) {
        let due = self.ctx.now + self.ctx.policy.targets(self.t.effective_priority()).threshold;
        self.set_timer(TimerKind::Threshold, u16::from(self.t.tier), due);
    }

    /// Open P1/P2 incidents remind their assignee to post updates.
    pub(super) fn arm_status_updates(&mut self, n: u16) {
        if self.t.kind != ServiceKind::Incident {
            return;
        }
        if let Some(every) = self.ctx.policy.status_update_every(self.t.effective_priority()) {
            self.set_timer(TimerKind::StatusUpdate, n, self.ctx.now + every);
        }
    }
}

impl ServiceTicket {
    /// A new ticket: the client is told at once that it was received, with
    /// its reference number (`004_*`, "New ticket"); its client-response
    /// target, threshold and unassigned chain start.
    pub fn create(
        id: ServiceTicketId,
        new: NewServiceTicket,
        ctx: &ServiceCtx,
    ) -> Result<(Self, Vec<Effect>), DomainError> {
        new.check()?;
        let now = ctx.now;
        let response = ctx.policy.targets(new.priority.effective(new.vip)).client_response;
        let t = ServiceTicket {
            id,
            kind: new.kind,
            priority: new.priority,
            vip: new.vip,
            issue_type: new.issue_type,
            subtype: new.subtype,
            summary: new.summary,
            contact: new.contact,
            team: new.team,
            assignee: None,
            tier: 1,
            status: ServiceStatus::New,
            held_from: None,
            acknowledged_at: None,
            epoch: 0,
            status_since: now,
            created_at: now,
            response_due_at: Some(ctx.calendar.add_business_duration(now, response)),
            responded_at: None,
        };
        let mut s = Step { fx: Effects::new(t.reference()), t, ctx };
        s.fx.audit(AuditField::Created, None, None);
        s.fx.status(None, ServiceStatus::New);
        s.fx.notify(Template::TicketReceived, Recipient::Customer(s.t.contact), None);
        s.start_chain(ChainKind::Unassigned);
        s.arm_threshold();
        Ok((s.t, s.fx.list))
    }

    pub fn apply(&self, event: ServiceEvent, ctx: &ServiceCtx) -> Result<(Self, Vec<Effect>), DomainError> {
        use ServiceEvent as E;
        use ServiceStatus as S;
        use TimerKind as K;

        let now = ctx.now;
        let illegal = |e: &ServiceEvent| DomainError::IllegalTransition { state: self.status.into(), event: e.into() };
        let mut s = Step { t: self.clone(), fx: Effects::new(self.reference()), ctx };
        match (&event, self.status) {
            // Assigning the engineer who already has the ticket is refused: no
            // new epoch, no restarted chain, nobody told again (a double
            // click, a PSA's retried webhook).
            (E::Assign { engineer }, S::Assigned | S::InProgress) if s.t.assignee == Some(*engineer) => {
                return Err(DomainError::Invalid(format!("{} is already assigned to them", s.t.reference())));
            }
            (E::Assign { engineer }, S::New | S::Assigned | S::InProgress | S::Escalated) => {
                s.fx.audit(AuditField::Assignee, s.t.assignee.map(|p| p.to_string()), Some(engineer.to_string()));
                s.t.assignee = Some(*engineer);
                s.t.acknowledged_at = None;
                s.t.epoch += 1;
                s.status(S::Assigned);
                let epoch = Some(s.t.epoch.to_string());
                s.fx.notify(Template::TechnicianAssigned, Recipient::Customer(s.t.contact), epoch.clone());
                s.fx.notify(Template::EngineerAssigned, Recipient::Staff(*engineer), epoch);
                // A new chain epoch: the old steps are gone, the new ones keyed apart.
                s.fx.push(Effect::CancelTimers(vec![K::Unassigned, K::Unacknowledged, K::StatusUpdate]));
                s.start_chain(ChainKind::Unacknowledged);
                s.arm_status_updates(1);
            }
            (E::Acknowledge { by }, S::Assigned) => {
                if s.t.assignee != Some(*by) {
                    return Err(DomainError::Invalid("only the assigned engineer can acknowledge".into()));
                }
                s.t.acknowledged_at = Some(now);
                s.t.responded_at.get_or_insert(now);
                s.fx.audit(AuditField::Acknowledged, None, Some(by.to_string()));
                s.status(S::InProgress);
                s.fx.push(Effect::CancelTimers(vec![K::Unacknowledged]));
            }
            // The threshold and the status-update reminders measure the desk's
            // time, not the client's: they stop while the ticket waits on the
            // client and start afresh when the client replies.
            (E::WaitOnClient, S::InProgress) => {
                s.status(S::WaitingOnClient);
                s.fx.push(Effect::CancelTimers(vec![K::Threshold, K::StatusUpdate]));
                s.start_chain(ChainKind::WaitingOnClient);
            }
            (E::ClientReplied, S::WaitingOnClient) => {
                s.status(S::InProgress);
                s.fx.push(Effect::CancelTimers(vec![K::WaitingOnClient]));
                s.arm_threshold();
                s.arm_status_updates(1);
            }
            // A dispatcher may escalate, or close (a duplicate, spam, raised in
            // error), a ticket nobody has taken.
            (E::Escalate, S::New | S::Escalated | S::Assigned | S::InProgress | S::WaitingOnClient) => s.escalate()?,
            (E::PutOnHold { reason }, status) if !matches!(status, S::OnHold | S::Resolved | S::Closed) => {
                s.t.held_from = Some(status);
                s.status(S::OnHold);
                s.fx.hold(reason);
            }
            (E::Released, S::OnHold) => {
                let back = s.t.held_from.take().ok_or_else(|| illegal(&event))?;
                s.resume_response_target();
                s.status(back);
                s.fx.release();
            }
            (E::Resolve, S::Assigned | S::InProgress | S::WaitingOnClient) => {
                s.status(S::Resolved);
                s.fx.push(Effect::CancelTimers(TimerKind::iter().collect()));
            }
            (E::Close, S::Resolved | S::WaitingOnClient | S::New | S::Escalated) => {
                s.status(S::Closed);
                s.fx.push(Effect::CancelTimers(TimerKind::iter().collect()));
            }
            (E::Reopen, S::Resolved) => s.status(S::InProgress),
            (E::TimerFired { kind, step }, status) => {
                let live = match kind {
                    K::Unassigned => matches!(status, S::New | S::Escalated),
                    K::Unacknowledged => status == S::Assigned,
                    K::WaitingOnClient => status == S::WaitingOnClient,
                    K::Threshold | K::StatusUpdate => !matches!(status, S::OnHold | S::Resolved | S::Closed),
                    _ => false,
                };
                if !live {
                    return Err(illegal(&event));
                }
                s.fx.push(Effect::TimerDone { kind: *kind, step: *step });
                match kind {
                    K::Unassigned => s.fire_chain(ChainKind::Unassigned, *step)?,
                    K::Unacknowledged => s.fire_chain(ChainKind::Unacknowledged, *step)?,
                    K::WaitingOnClient => s.fire_chain(ChainKind::WaitingOnClient, *step)?,
                    K::StatusUpdate => s.remind_status_update(*step),
                    // `004_*` escalates by threshold whatever the assignment.
                    _ if s.t.tier < LAST_TIER && !matches!(status, S::WaitingOnClient) => s.escalate()?,
                    // Waiting on the client or at the last tier: noted, nothing more to do.
                    _ => s.fx.audit(AuditField::ThresholdPassed, None, Some(s.t.tier.to_string())),
                }
            }
            _ => return Err(illegal(&event)),
        }
        Ok((s.t, s.fx.list))
    }
}

impl Step<'_> {
    /// Up one tier: the engineer is released and told, client and
    /// dispatchers are told, and the unassigned chain and threshold start again.
    fn escalate(&mut self) -> Result<(), DomainError> {
        if self.t.tier >= LAST_TIER {
            return Err(DomainError::Invalid(format!("{} is already at the last tier", self.t.reference())));
        }
        self.fx.audit(AuditField::Tier, Some(self.t.tier.to_string()), Some((self.t.tier + 1).to_string()));
        self.t.tier += 1;
        // A new tier is a new chain: its pings are keyed apart from the last one's.
        self.t.epoch += 1;
        let released = self.t.assignee.take();
        self.fx.audit(AuditField::Assignee, released.map(|p| p.to_string()), None);
        self.status(ServiceStatus::Escalated);
        let tier = Some(self.t.tier.to_string());
        self.fx.notify(Template::EscalatedToTier, Recipient::Customer(self.t.contact), tier.clone());
        // The dispatchers, and the engineer the new tier takes the ticket
        // from (not dropped silently), each told once.
        let told = Recipient::Escalation { roles: vec![Role::Dispatcher], assignee: released, team: None };
        self.fx.notify(Template::EscalatedToTier, told, tier);
        use TimerKind as K;
        self.fx.push(Effect::CancelTimers(vec![K::Unassigned, K::Unacknowledged, K::WaitingOnClient, K::StatusUpdate]));
        self.start_chain(ChainKind::Unassigned);
        self.arm_threshold();
        Ok(())
    }
}
