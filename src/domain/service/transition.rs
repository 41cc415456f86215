//! The service ticket lifecycle of `004_*`: new → assigned → (acknowledged)
//! in progress ⇄ waiting on client → resolved → closed, with escalation to the
//! next tier and hold. Pure: effects are returned, never performed.

use strum::{IntoEnumIterator, IntoStaticStr};

use super::{LAST_TIER, NewServiceTicket, ServiceStatus, ServiceTicket};
use crate::domain::effects::Effects;
use crate::domain::{DomainError, Effect, PersonId, Recipient, Role, ServiceTicketId, Template, TimerKind};
use chrono::{DateTime, Utc};

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
}

struct Step {
    t: ServiceTicket,
    fx: Effects,
    now: DateTime<Utc>,
}

impl Step {
    fn status(&mut self, to: ServiceStatus) {
        self.fx.status(Some(self.t.status), to);
        self.t.status = to;
        self.t.status_since = self.now;
    }
}

impl ServiceTicket {
    /// A new ticket: the client is told at once that it was received, with
    /// its reference number (`004_*`, "New ticket").
    pub fn create(
        id: ServiceTicketId,
        new: NewServiceTicket,
        now: DateTime<Utc>,
    ) -> Result<(Self, Vec<Effect>), DomainError> {
        new.check()?;
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
        };
        let mut fx = Effects::new(t.reference());
        fx.audit("created", None, None);
        fx.status(None, ServiceStatus::New);
        fx.notify(Template::TicketReceived, Recipient::Customer(t.contact), None);
        Ok((t, fx.list))
    }

    pub fn apply(&self, event: ServiceEvent, now: DateTime<Utc>) -> Result<(Self, Vec<Effect>), DomainError> {
        use ServiceEvent as E;
        use ServiceStatus as S;

        let illegal = |e: &ServiceEvent| DomainError::IllegalTransition { state: self.status.into(), event: e.into() };
        let mut s = Step { t: self.clone(), fx: Effects::new(self.reference()), now };
        match (&event, self.status) {
            (E::Assign { engineer }, S::New | S::Assigned | S::InProgress | S::Escalated) => {
                if s.t.assignee == Some(*engineer) && s.t.status == S::Assigned {
                    return Err(DomainError::Invalid(format!("{} is already assigned to them", s.t.reference())));
                }
                s.fx.audit("assignee", s.t.assignee.map(|p| p.to_string()), Some(engineer.to_string()));
                s.t.assignee = Some(*engineer);
                s.t.acknowledged_at = None;
                s.t.epoch += 1;
                s.status(S::Assigned);
                let epoch = Some(s.t.epoch.to_string());
                s.fx.notify(Template::TechnicianAssigned, Recipient::Customer(s.t.contact), epoch.clone());
                s.fx.notify(Template::EngineerAssigned, Recipient::Staff(*engineer), epoch);
            }
            (E::Acknowledge { by }, S::Assigned) => {
                if s.t.assignee != Some(*by) {
                    return Err(DomainError::Invalid("only the assigned engineer can acknowledge".into()));
                }
                s.t.acknowledged_at = Some(now);
                s.fx.audit("acknowledged", None, Some(by.to_string()));
                s.status(S::InProgress);
            }
            (E::WaitOnClient, S::InProgress) => s.status(S::WaitingOnClient),
            (E::ClientReplied, S::WaitingOnClient) => s.status(S::InProgress),
            (E::Escalate, S::Assigned | S::InProgress | S::WaitingOnClient) => {
                if s.t.tier >= LAST_TIER {
                    return Err(DomainError::Invalid(format!("{} is already at the last tier", s.t.reference())));
                }
                s.fx.audit("tier", Some(s.t.tier.to_string()), Some((s.t.tier + 1).to_string()));
                s.t.tier += 1;
                s.fx.audit("assignee", s.t.assignee.take().map(|p| p.to_string()), None);
                s.status(S::Escalated);
                let tier = Some(s.t.tier.to_string());
                s.fx.notify(Template::EscalatedToTier, Recipient::Customer(s.t.contact), tier.clone());
                s.fx.notify(Template::EscalatedToTier, Recipient::Role(Role::Dispatcher), tier);
            }
            (E::PutOnHold { reason }, status) if !matches!(status, S::OnHold | S::Resolved | S::Closed) => {
                s.t.held_from = Some(status);
                s.status(S::OnHold);
                s.fx.hold(reason);
            }
            (E::Released, S::OnHold) => {
                let back = s.t.held_from.take().ok_or_else(|| illegal(&event))?;
                s.status(back);
                s.fx.release();
            }
            (E::Resolve, S::Assigned | S::InProgress | S::WaitingOnClient) => {
                s.status(S::Resolved);
                s.fx.push(Effect::CancelTimers(TimerKind::iter().collect()));
            }
            (E::Close, S::Resolved | S::WaitingOnClient) => {
                s.status(S::Closed);
                s.fx.push(Effect::CancelTimers(TimerKind::iter().collect()));
            }
            (E::Reopen, S::Resolved) => s.status(S::InProgress),
            _ => return Err(illegal(&event)),
        }
        Ok((s.t, s.fx.list))
    }
}
