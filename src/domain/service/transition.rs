//! The service ticket lifecycle of `004_*`: new → assigned → (acknowledged)
//! in progress ⇄ waiting on client → resolved → closed, with escalation to the
//! next tier and hold. Pure: effects are returned, never performed.

use strum::{IntoEnumIterator, IntoStaticStr};

use chrono::{DateTime, Utc};

use super::policy::{ChainKind, EscalationPolicy};
use super::request::{RequestAction, Sanitized, ServiceRequest, Verdict, Work};
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
    /// Closed, with the work done if it was worked (required where billable).
    Close {
        work: Option<Work>,
    },
    Reopen,
    /// A step of an order's approval decided; `by: None` is the desk's
    /// operator.
    Decide {
        by: Option<PersonId>,
        verdict: Verdict,
    },
    /// The devices of a decommission request were sanitized.
    Sanitized {
        by: PersonId,
    },
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
            agency: new.agency,
            request: new.request.map(ServiceRequest::new),
        };
        let mut s = Step { fx: Effects::new(t.reference()), t, ctx };
        s.fx.audit(AuditField::Created, None, None);
        s.fx.status(None, ServiceStatus::New);
        s.fx.notify(Template::TicketReceived, Recipient::Customer(s.t.contact), None);
        s.start_chain(ChainKind::Unassigned);
        s.arm_threshold();
        if let Some(r) = &s.t.request {
            s.fx.notify(Template::AssetTeamNotice, Recipient::AssetTeam, Some("created".into()));
            // An order waits for its approvals with its clocks stopped:
            // nobody is chased to work what may yet be denied.
            if let Some(first) = r.pending().cloned() {
                s.t.held_from = Some(ServiceStatus::New);
                s.status(ServiceStatus::OnHold);
                s.fx.hold("awaiting approval");
                s.ask(&first);
            }
        }
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
            (E::Released, S::OnHold) if s.awaits_approval() => {
                return Err(DomainError::Invalid(format!("{} awaits its approvals", s.t.reference())));
            }
            (E::Decide { by, verdict }, S::OnHold) if s.awaits_approval() => s.decide(*by, verdict)?,
            (E::Sanitized { by }, S::Assigned | S::InProgress | S::WaitingOnClient)
                if s.action() == Some(RequestAction::Decommission) =>
            {
                let r = s.t.request.as_mut().expect("a decommission is a request");
                if r.sanitized.is_some() {
                    return Err(DomainError::Invalid(format!("{} is already recorded as sanitized", self.id)));
                }
                r.sanitized = Some(Sanitized { by: *by, at: now });
                s.fx.audit(AuditField::Sanitized, None, Some(by.to_string()));
            }
            (E::Released, S::OnHold) => {
                let back = s.t.held_from.take().ok_or_else(|| illegal(&event))?;
                s.resume_response_target();
                s.status(back);
                s.fx.release();
            }
            (E::Resolve, S::Assigned | S::InProgress | S::WaitingOnClient) => {
                s.must_be_sanitized()?;
                s.status(S::Resolved);
                s.fx.push(Effect::CancelTimers(TimerKind::iter().collect()));
            }
            (E::Close { work }, S::Resolved | S::WaitingOnClient | S::New | S::Escalated) => {
                // Worked tickets record their work; a ticket nobody took
                // (a duplicate, spam) records nothing.
                if matches!(self.status, S::Resolved | S::WaitingOnClient) {
                    s.close_worked(work.as_ref())?;
                }
                s.status(S::Closed);
                s.fx.push(Effect::CancelTimers(TimerKind::iter().collect()));
                if s.t.request.is_some() {
                    s.fx.notify(Template::AssetTeamNotice, Recipient::AssetTeam, Some("closed".into()));
                }
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

/// How many steps of an order's approval are decided.
fn decided_steps(r: &ServiceRequest) -> usize {
    r.approval.iter().filter(|s| s.vote.is_some()).count()
}

impl Step<'_> {
    fn action(&self) -> Option<RequestAction> {
        self.t.request.as_ref().map(|r| r.action)
    }

    fn awaits_approval(&self) -> bool {
        self.t.request.as_ref().is_some_and(|r| r.pending().is_some())
    }

    /// Asks everyone who may decide `step` (keyed by the step and person,
    /// so each is asked once).
    fn ask(&mut self, step: &super::request::StepDecision) {
        for p in &step.with {
            self.fx.notify(Template::RequestApproval, Recipient::Approver(*p), Some(format!("{}/{p}", step.step)));
        }
    }

    /// A decision on the pending step of an order: approved, the next step
    /// is asked, or (the last) the order is released to be worked; denied,
    /// it is closed and the customer told. Whoever decided one step may
    /// not decide the next: an order needs two people.
    fn decide(&mut self, by: Option<PersonId>, verdict: &Verdict) -> Result<(), DomainError> {
        let id = self.t.id;
        let approve = *verdict == Verdict::Approve;
        if let Verdict::Deny { reason } = verdict {
            if reason.trim().is_empty() {
                return Err(DomainError::Invalid("say why the order is denied, for the customer".into()));
            }
        }
        let r = self.t.request.as_mut().expect("only requests await approval");
        if let Some(refusal) = by.and_then(|p| r.refusal(p)) {
            return Err(DomainError::Invalid(format!("{refusal} (S-{id})")));
        }
        let step = r.approval.iter_mut().find(|s| s.vote.is_none()).expect("a step is pending");
        step.vote = Some(crate::domain::refresh::Vote { approve, by });
        let decided = format!("{}: {}", step.step, if approve { "approved" } else { "denied" });
        self.fx.audit(AuditField::OrderApproval, None, Some(decided));
        // The requests already posted show the decision, their buttons gone.
        let round = Some(format!("decided/{}", decided_steps(r)));
        self.fx.notify(Template::RequestApproval, Recipient::ApprovalMessages, round);
        let next = r.pending().cloned();
        match (approve, next) {
            (true, Some(next)) => self.ask(&next),
            (true, None) => {
                let back = self.t.held_from.take().unwrap_or(ServiceStatus::New);
                self.resume_response_target();
                self.status(back);
                self.fx.release();
            }
            (false, _) => {
                if let Verdict::Deny { reason } = verdict {
                    self.fx.audit(AuditField::Denied, None, Some(reason.trim().to_owned()));
                }
                self.t.held_from = None;
                self.status(ServiceStatus::Closed);
                self.fx.push(Effect::CancelTimers(TimerKind::iter().collect()));
                self.fx.notify(Template::RequestDenied, Recipient::Customer(self.t.contact), None);
                self.fx.notify(Template::AssetTeamNotice, Recipient::AssetTeam, Some("closed".into()));
            }
        }
        Ok(())
    }

    fn must_be_sanitized(&self) -> Result<(), DomainError> {
        match &self.t.request {
            Some(r) if r.action == RequestAction::Decommission && r.sanitized.is_none() => {
                Err(DomainError::Invalid(format!(
                    "record the sanitization of {} before S-{} is resolved or closed",
                    r.field("serials"),
                    self.t.id
                )))
            }
            _ => Ok(()),
        }
    }

    /// A worked ticket closing: sanitization first for a decommission,
    /// the work where billable, then its devices changed.
    fn close_worked(&mut self, work: Option<&Work>) -> Result<(), DomainError> {
        self.must_be_sanitized()?;
        let billable = self.t.request.as_ref().is_some_and(|r| r.billable);
        match work {
            Some(w) if w.minutes == 0 => {
                return Err(DomainError::Invalid("the time spent is at least one minute".into()));
            }
            Some(w) => {
                self.fx.audit(AuditField::Transaction, None, Some(format!("{} ({} min)", w.kind, w.minutes)));
                self.fx.push(Effect::Transaction {
                    kind: w.kind.clone(),
                    minutes: w.minutes,
                    agency: self.t.agency.clone(),
                    device: None,
                });
            }
            None if billable => {
                return Err(DomainError::Invalid(format!(
                    "closing S-{} needs the time spent and the transaction kind",
                    self.t.id
                )));
            }
            None => {}
        }
        for change in self.t.request.as_ref().map(ServiceRequest::device_changes).unwrap_or_default() {
            self.fx.push(Effect::Device(change));
        }
        Ok(())
    }

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
