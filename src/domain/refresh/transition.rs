//! The refresh state machine. `RefreshTicket::create` starts a ticket and
//! `RefreshTicket::apply` moves it; both are pure and return the effects
//! (audits, messages, ITSM calls, timers) the store commits with the state.

use chrono::{DateTime, Utc};
use strum::{IntoEnumIterator, IntoStaticStr};

use super::approval::{Approval, Approvers};
use super::{Cadence, NewRefreshTicket, Platform, RefreshStatus, RefreshTicket, Style, System, WizardAnswers};
use crate::domain::devices::DeviceChange;
use crate::domain::effects::Effects;
use crate::domain::service::request::TransactionKind;
use crate::domain::{
    AuditField, DomainError, Effect, ItsmRequest, PersonId, Recipient, RefreshTicketId, SlotId, Template, Timer,
    TimerKind,
};

/// A refresh transition's context: its policy is the cadence.
pub type Ctx<'a> = crate::domain::Ctx<'a, Cadence>;

#[derive(Debug, Clone, PartialEq, Eq, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum RefreshEvent {
    TimerFired {
        kind: TimerKind,
        step: u16,
    },
    /// The customer (or staff, for `pending_location_information`) finished
    /// the wizard; `needs_approval` when they asked for something beyond
    /// the proposed model.
    WizardCompleted {
        needs_approval: bool,
        location: Option<String>,
        shipping_address: Option<String>,
        /// The customer's answers on the page; none when staff provide
        /// the location.
        answers: Option<Box<WizardAnswers>>,
    },
    /// Where TDX says the existing system is, before anyone said.
    LocationReported {
        location: String,
    },
    /// An approver's decision, or (`by: None`) the desk operator's for
    /// every approver. Under `all` and `majority` one decision may leave
    /// the ticket awaiting the others.
    Approved {
        by: Option<PersonId>,
    },
    Denied {
        by: Option<PersonId>,
        reason: String,
    },
    /// `bulk` is the order-group assignment that advances the ticket; a
    /// single-ticket edit only swaps the hardware (`000_*`).
    ReplacementAssigned {
        system: System,
        tracking_number: Option<String>,
        bulk: bool,
    },
    ItsmSystemFound,
    ItsmRequestCreated {
        request: String,
    },
    SlotsAvailable,
    SlotPicked {
        slot: SlotId,
        starts_at: DateTime<Utc>,
    },
    Rescheduled {
        slot: SlotId,
        starts_at: DateTime<Utc>,
    },
    CustomerRescheduleTriggered,
    PutOnHold {
        reason: String,
    },
    Released,
    DeliveryConfirmed,
    Cancelled {
        reason: String,
    },
}

const WIZARD_TIMERS: [TimerKind; 3] = [TimerKind::CustomerBegin, TimerKind::WizardReminder, TimerKind::WizardExpired];
const APPROVAL_TIMERS: [TimerKind; 2] = [TimerKind::ApprovalReminder, TimerKind::ApprovalFallback];

/// A ticket being changed and the effects of the change so far.
struct Step {
    t: RefreshTicket,
    fx: Effects,
}

impl Step {
    fn new(t: RefreshTicket) -> Self {
        let fx = Effects::new(t.reference());
        Self { t, fx }
    }

    fn status(&mut self, to: RefreshStatus) {
        self.fx.status(Some(self.t.status), to);
        self.t.status = to;
    }

    fn notify_customer(&mut self, template: Template, suffix: Option<String>) {
        if let Some(contact) = self.t.contact() {
            self.fx.notify(template, Recipient::Customer(contact), suffix);
        }
    }

    /// Every holder of an undecided request is asked, once per person
    /// and ticket (the key), however often the request moves.
    fn ask_holders(&mut self) {
        let Some(approval) = &self.t.approval else { return };
        let holders: Vec<PersonId> =
            approval.asks.iter().filter(|a| a.vote.is_none()).flat_map(|a| a.with.clone()).collect();
        for p in dedup(holders) {
            self.fx.notify(Template::ApprovalRequest, Recipient::Approver(p), Some(p.to_string()));
        }
    }

    /// Every approval request already posted is edited to show the
    /// approval as it is now, each as its reader sees it.
    fn edit_requests(&mut self) {
        let round = self.t.approval.as_ref().map_or(0, |a| a.round);
        self.fx.notify(Template::ApprovalRequest, Recipient::ApprovalMessages, Some(format!("r{round}")));
    }

    /// The approval's outcome: approved goes on to ordering, denied
    /// cancels (with the reason of the decision that made it).
    fn decide(&mut self, approved: bool, reason: &str) {
        self.fx.notify(Template::ApprovalDecided, Recipient::ApprovalMessages, None);
        self.fx.push(Effect::CancelTimers(APPROVAL_TIMERS.to_vec()));
        if approved {
            self.enter_ordering();
        } else {
            self.status(RefreshStatus::Cancelled);
            self.fx.audit(AuditField::Denied, None, Some(reason.to_owned()));
            self.notify_customer(Template::RefreshDenied, None);
        }
    }

    /// Records a decision; the rule says whether it decides the ticket.
    fn vote(&mut self, by: Option<PersonId>, approve: bool, reason: &str) -> Result<(), DomainError> {
        let Some(approval) = self.t.approval.as_mut() else {
            // Awaiting its first routing: the decision is the decision.
            self.decide(approve, reason);
            return Ok(());
        };
        let before: Vec<PersonId> = approval.asks.iter().filter(|a| a.vote.is_none()).map(|a| a.approver).collect();
        approval.vote(by, approve)?;
        let (outcome, decided) = (approval.outcome(), approval.asks.clone());
        let for_whom: Vec<String> = decided
            .iter()
            .filter(|a| a.vote.is_some() && before.contains(&a.approver))
            .map(|a| a.approver.to_string())
            .collect();
        let verdict = if approve { "approved" } else { "denied" };
        self.fx.audit(AuditField::ApprovalVote, Some(for_whom.join(",")), Some(verdict.to_owned()));
        match outcome {
            Some(approved) => self.decide(approved, reason),
            None => self.edit_requests(),
        }
        Ok(())
    }

    /// Ordering is skipped when the replacement is already known (bump down).
    /// Delivered: the desk's refresh transaction is recorded, billed to
    /// the old device's agency, and the replacement takes its place.
    fn delivered(&mut self) {
        let old = self.t.existing.serial.clone();
        self.fx.push(Effect::Transaction {
            kind: TransactionKind::refresh(),
            minutes: 0,
            agency: None,
            device: Some(old.clone()),
        });
        if let Some(new) = &self.t.replacement {
            self.fx.push(Effect::Device(DeviceChange::Replace {
                old,
                new: new.serial.clone(),
                model: new.model.clone(),
                platform: new.platform,
            }));
        }
    }

    fn enter_ordering(&mut self) {
        match self.t.replacement.clone().filter(|_| self.t.bump_down) {
            Some(system) => {
                self.status(RefreshStatus::PendingItsmExistence);
                self.fx.push(Effect::Itsm(ItsmRequest::LookupSystem { serial: system.serial }));
            }
            None => self.status(RefreshStatus::PendingOrdering),
        }
    }
}

impl RefreshTicket {
    /// A new ticket. `no_customer` tickets go straight to ordering with no
    /// mail; the rest get the invite and wizard timers of the cadence.
    pub fn create(id: RefreshTicketId, new: NewRefreshTicket, ctx: &Ctx) -> Result<(Self, Vec<Effect>), DomainError> {
        new.check()?;
        let mut s = Step::new(Self::fresh(id, new, ctx.now));
        s.fx.audit(AuditField::Created, None, None);
        if s.t.no_customer {
            s.enter_ordering();
        } else {
            s.fx.status(None, RefreshStatus::PendingWizard);
            s.fx.list.extend(wizard_timers(ctx));
        }
        Ok((s.t, s.fx.list))
    }

    /// The ticket as it is created at `at`, before its first transition.
    pub(crate) fn fresh(id: RefreshTicketId, new: NewRefreshTicket, at: DateTime<Utc>) -> Self {
        RefreshTicket {
            id,
            status: RefreshStatus::PendingWizard,
            held_from: None,
            style: new.style,
            customer: new.customer,
            delegate: new.delegate,
            no_customer: new.no_customer,
            bump_down: new.replacement.is_some(),
            team: new.team,
            config: new.config,
            existing: new.existing,
            replacement: new.replacement,
            tracking_number: None,
            location: new.location,
            shipping_address: None,
            answers: None,
            approval: None,
            slot: None,
            appointment_at: None,
            itsm_request: None,
            reschedules: 0,
            created_at: at,
        }
    }

    pub fn apply(&self, event: RefreshEvent, ctx: &Ctx) -> Result<(Self, Vec<Effect>), DomainError> {
        use RefreshEvent as E;
        use RefreshStatus as S;

        let illegal = |e: &RefreshEvent| DomainError::IllegalTransition { state: self.status.into(), event: e.into() };
        let mut s = Step::new(self.clone());
        match (&event, self.status) {
            (
                E::TimerFired {
                    kind: kind @ (TimerKind::CustomerBegin | TimerKind::WizardReminder | TimerKind::WizardExpired),
                    step,
                },
                S::PendingWizard,
            ) => {
                s.fx.push(Effect::TimerDone { kind: *kind, step: *step });
                match kind {
                    TimerKind::CustomerBegin => s.notify_customer(Template::CustomerBegin, None),
                    TimerKind::WizardReminder => s.notify_customer(Template::WizardReminder, Some(step.to_string())),
                    _ => {
                        s.status(S::PendingLocationInformation);
                        s.fx.notify(Template::LocationInfoNeeded, Recipient::TeamChannel(s.t.team), None);
                    }
                }
            }
            (E::TimerFired { kind: TimerKind::SlotReminder, step }, S::DeliveryScheduled) => {
                s.fx.push(Effect::TimerDone { kind: TimerKind::SlotReminder, step: *step });
                s.notify_customer(Template::SlotReminder, Some(s.t.reschedules.to_string()));
            }
            (
                E::WizardCompleted { needs_approval, location, shipping_address, answers },
                S::PendingWizard | S::PendingLocationInformation,
            ) => {
                if s.t.style == Style::RemoteCustomer && shipping_address.is_none() {
                    return Err(DomainError::Invalid("a remote customer refresh needs a shipping address".into()));
                }
                if let (Some(was), Some(now)) = (&s.t.location, location)
                    && was != now
                {
                    // 000_*: a changed location is confirmed against TDX's data by the team.
                    s.fx.audit(AuditField::Location, Some(was.clone()), Some(now.clone()));
                    s.fx.push(Effect::Itsm(ItsmRequest::ConfirmLocation { from: was.clone(), to: now.clone() }));
                }
                s.t.answers = answers.as_deref().cloned();
                s.t.location = location.clone();
                s.t.shipping_address = shipping_address.clone();
                s.fx.push(Effect::CancelTimers(WIZARD_TIMERS.to_vec()));
                if *needs_approval {
                    // Who is asked is worked out by `route_approval`, with the directory.
                    s.status(S::RequiresApproval);
                } else {
                    s.enter_ordering();
                }
            }
            (E::LocationReported { location }, S::PendingWizard | S::PendingLocationInformation)
                if s.t.location.is_none() =>
            {
                s.fx.audit(AuditField::Location, None, Some(location.clone()));
                s.t.location = Some(location.clone());
            }
            (E::Approved { by }, S::RequiresApproval) => s.vote(*by, true, "")?,
            (E::Denied { by, reason }, S::RequiresApproval) => s.vote(*by, false, reason)?,
            (E::TimerFired { kind: TimerKind::ApprovalReminder, step }, S::RequiresApproval) => {
                s.fx.push(Effect::TimerDone { kind: TimerKind::ApprovalReminder, step: *step });
                let waiting = s.t.approval.iter().flat_map(|a| &a.asks).filter(|a| a.vote.is_none());
                for p in dedup(waiting.flat_map(|a| a.with.clone()).collect()) {
                    s.fx.notify(Template::ApprovalReminder, Recipient::Approver(p), Some(format!("{step}/{p}")));
                }
            }
            (E::TimerFired { kind: TimerKind::ApprovalFallback, step }, S::RequiresApproval) => {
                s.fx.push(Effect::TimerDone { kind: TimerKind::ApprovalFallback, step: *step });
                if let Some(approval) = s.t.approval.as_mut() {
                    // `route_approval` moves what is undecided to the fallback.
                    approval.overdue = true;
                    let waiting: Vec<PersonId> =
                        approval.asks.iter().filter(|a| a.vote.is_none()).map(|a| a.approver).collect();
                    for p in dedup(waiting) {
                        s.fx.notify(Template::ApprovalFallback, Recipient::Approver(p), Some(p.to_string()));
                    }
                }
            }
            (E::ReplacementAssigned { system, tracking_number, bulk: false }, status) if !status.is_terminal() => {
                s.fx.audit(
                    AuditField::Replacement,
                    s.t.replacement.as_ref().map(|r| r.serial.clone()),
                    Some(system.serial.clone()),
                );
                s.t.replacement = Some(system.clone());
                if tracking_number.is_some() {
                    s.t.tracking_number = tracking_number.clone();
                }
            }
            (E::ReplacementAssigned { system, tracking_number, bulk: true }, S::PendingOrdering) => {
                if s.t.style == Style::RemoteCustomer && !s.t.no_customer && tracking_number.is_none() {
                    return Err(DomainError::Invalid("a remote customer replacement needs a tracking number".into()));
                }
                s.fx.audit(
                    AuditField::Replacement,
                    s.t.replacement.as_ref().map(|r| r.serial.clone()),
                    Some(system.serial.clone()),
                );
                s.t.replacement = Some(system.clone());
                s.t.tracking_number = tracking_number.clone();
                s.status(S::PendingItsmExistence);
                s.fx.push(Effect::Itsm(ItsmRequest::LookupSystem { serial: system.serial.clone() }));
            }
            (E::ItsmSystemFound, S::PendingItsmExistence) => system_found(&mut s, ctx),
            (E::ItsmRequestCreated { request }, S::DeliveryScheduled | S::PendingDelivery)
                if s.t.itsm_request.is_none() =>
            {
                s.fx.audit(AuditField::ItsmRequest, None, Some(request.clone()));
                s.t.itsm_request = Some(request.clone());
                match (s.t.style, s.t.replacement.as_ref().map(|r| r.platform)) {
                    // Windows at-home systems are prestaged by the vendor (`000_*`).
                    (Style::RemoteCustomer, Some(Platform::Windows)) => {
                        s.fx.push(Effect::Itsm(ItsmRequest::ClosePrestageTask))
                    }
                    (Style::RemoteCustomer, _) => {}
                    _ => s.fx.notify(Template::TeamTdxAlert, Recipient::TeamChannel(s.t.team), None),
                }
            }
            (E::SlotsAvailable, S::PendingScheduleSlotDiscovery) => {
                s.status(S::PendingCustomerScheduling);
                s.notify_customer(Template::SlotInvitation, Some(s.t.reschedules.to_string()));
            }
            (E::SlotPicked { slot, starts_at }, S::PendingCustomerScheduling) => {
                book(&mut s, *slot, *starts_at, ctx);
                s.status(S::DeliveryScheduled);
                s.fx.push(Effect::Itsm(match s.t.itsm_request {
                    None => ItsmRequest::CreateRequest { slot: Some(*slot) },
                    Some(_) => ItsmRequest::UpdateAppointment { slot: *slot },
                }));
            }
            (E::Rescheduled { slot, starts_at }, S::DeliveryScheduled) => {
                book(&mut s, *slot, *starts_at, ctx);
                s.t.reschedules += 1;
                s.fx.push(Effect::Itsm(ItsmRequest::UpdateAppointment { slot: *slot }));
                s.notify_customer(Template::RescheduleConfirmation, Some(s.t.reschedules.to_string()));
            }
            (E::CustomerRescheduleTriggered, S::DeliveryScheduled) => {
                s.fx.push(Effect::CancelTimers(vec![TimerKind::SlotReminder]));
                if let Some(old) = s.t.slot {
                    s.fx.push(Effect::Unbook(old));
                }
                s.fx.audit(AuditField::Slot, s.t.slot.map(|x| x.to_string()), None);
                s.t.slot = None;
                s.t.appointment_at = None;
                s.t.reschedules += 1;
                s.status(S::PendingCustomerScheduling);
                s.notify_customer(Template::SlotInvitation, Some(s.t.reschedules.to_string()));
            }
            (E::PutOnHold { reason }, status) if !status.is_terminal() && status != S::OnHold => {
                s.t.held_from = Some(status);
                s.status(S::OnHold);
                s.fx.hold(reason);
            }
            (E::Released, S::OnHold) => {
                let back = s.t.held_from.take().ok_or_else(|| illegal(&event))?;
                s.status(back);
                s.fx.release();
            }
            (E::DeliveryConfirmed, S::PendingDelivery | S::DeliveryScheduled) => {
                s.status(S::Complete);
                s.fx.push(Effect::CancelTimers(TimerKind::iter().collect()));
                s.delivered();
            }
            (E::Cancelled { reason }, status) if !status.is_terminal() => {
                if status == S::RequiresApproval {
                    s.fx.notify(Template::ApprovalDecided, Recipient::ApprovalMessages, None);
                }
                s.t.held_from = None;
                s.status(S::Cancelled);
                s.fx.audit(AuditField::CancelReason, None, Some(reason.clone()));
                s.fx.push(Effect::CancelTimers(TimerKind::iter().collect()));
            }
            _ => return Err(illegal(&event)),
        }
        Ok((s.t, s.fx.list))
    }
}

impl RefreshTicket {
    /// Who holds each approver's request of a ticket awaiting approval, by
    /// what the directory says now: the first routing asks the holders and
    /// starts the reminders and the fallback step; later ones move what
    /// moved (new holders asked, every posted request edited) and change
    /// nothing when nothing moved. Removing approvers may decide it.
    pub fn route_approval(&self, approvers: &Approvers, ctx: &Ctx) -> Result<(Self, Vec<Effect>), DomainError> {
        let mut s = Step::new(self.clone());
        if self.status != RefreshStatus::RequiresApproval {
            return Ok((s.t, s.fx.list));
        }
        let cal = ctx.calendar;
        let today = cal.local(ctx.now).date();
        let first = self.approval.is_none();
        let before = self.approval.clone().unwrap_or(Approval {
            rule: approvers.settings.rule,
            asks: Vec::new(),
            overdue: false,
            round: 0,
        });
        let mut after = before.routed(approvers, today);
        if after.asks.is_empty() {
            return Err(DomainError::Invalid(format!("nobody approves {}: its config has no approver", self.id)));
        }
        if !first && after.asks == before.asks {
            return Ok((s.t, s.fx.list));
        }
        for ask in &after.asks {
            let was = before.asks.iter().find(|a| a.approver == ask.approver);
            if was.is_none_or(|w| w.with != ask.with) {
                let list = |w: &[PersonId]| w.iter().map(PersonId::to_string).collect::<Vec<_>>().join(",");
                let from = was.map(|w| list(&w.with));
                s.fx.audit(AuditField::ApprovalWith, from, Some(format!("{} ({})", list(&ask.with), ask.via)));
            }
        }
        after.round += 1;
        if first {
            let on = |days| cal.at_local(cal.add_business_days(today, days), ctx.policy.send_at);
            for (i, days) in approvers.settings.reminder_days.iter().enumerate() {
                let step = u16::try_from(i + 1).expect("a handful of reminders");
                s.fx.push(Effect::SetTimer(Timer { kind: TimerKind::ApprovalReminder, step, due_at: on(*days) }));
            }
            if !approvers.fallback.is_empty() {
                let due_at = on(approvers.settings.fallback_days);
                s.fx.push(Effect::SetTimer(Timer { kind: TimerKind::ApprovalFallback, step: 0, due_at }));
            }
        }
        let outcome = after.outcome();
        s.t.approval = Some(after);
        match outcome {
            Some(approved) => s.decide(approved, "decided when an approver left the config"),
            None => {
                s.ask_holders();
                if !first {
                    s.edit_requests();
                }
            }
        }
        Ok((s.t, s.fx.list))
    }
}

fn dedup(mut people: Vec<PersonId>) -> Vec<PersonId> {
    people.sort();
    people.dedup();
    people
}

/// The invite at the next business morning, reminders on the configured
/// business days after the invite day, and the give-up step (`000_*`).
fn wizard_timers(ctx: &Ctx) -> Vec<Effect> {
    let cal = ctx.calendar;
    let invite_at = cal.next_business_morning_at(ctx.now, ctx.policy.send_at);
    let invite_day = cal.local(invite_at).date();
    let on = |days| cal.at_local(cal.add_business_days(invite_day, days), ctx.policy.send_at);
    let mut timers = vec![Timer { kind: TimerKind::CustomerBegin, step: 0, due_at: invite_at }];
    for (i, days) in ctx.policy.reminder_days.iter().enumerate() {
        let step = u16::try_from(i + 1).expect("a handful of reminders");
        timers.push(Timer { kind: TimerKind::WizardReminder, step, due_at: on(*days) });
    }
    timers.push(Timer { kind: TimerKind::WizardExpired, step: 0, due_at: on(ctx.policy.expire_days) });
    timers.into_iter().map(Effect::SetTimer).collect()
}

/// TDX knows the replacement: each style takes its own road to delivery.
fn system_found(s: &mut Step, ctx: &Ctx) {
    use RefreshStatus as S;
    if s.t.no_customer {
        // A generic midnight appointment on the day it is ready (`000_*`).
        let day = ctx.calendar.local(ctx.now).date();
        s.t.appointment_at = Some(ctx.calendar.at_local(day, chrono::NaiveTime::MIN));
        s.status(S::DeliveryScheduled);
        // Every refresh has its TDX request and tasks (`000_*`), labs too.
        s.fx.push(Effect::Itsm(ItsmRequest::CreateRequest { slot: None }));
        return;
    }
    match s.t.style {
        Style::OnPrem | Style::UnitSpecifiedLocation => s.status(S::PendingScheduleSlotDiscovery),
        Style::RemoteCustomer => {
            s.status(S::PendingDelivery);
            s.notify_customer(Template::TrackingNumber, None);
            s.fx.push(Effect::Itsm(ItsmRequest::CreateRequest { slot: None }));
            if s.t.replacement.as_ref().is_some_and(|r| r.platform == Platform::Mac) {
                s.fx.notify(Template::MacMdmRequest, Recipient::MacEngineering, None);
            }
        }
    }
}

/// Books a slot and schedules its reminder at the cadence's send time on the
/// business day before the appointment (at once if that time has passed).
fn book(s: &mut Step, slot: SlotId, starts_at: DateTime<Utc>, ctx: &Ctx) {
    s.fx.audit(AuditField::Slot, s.t.slot.map(|x| x.to_string()), Some(slot.to_string()));
    if let Some(old) = s.t.slot {
        s.fx.push(Effect::Unbook(old));
    }
    s.fx.push(Effect::Book(slot));
    s.t.slot = Some(slot);
    s.t.appointment_at = Some(starts_at);
    if s.t.contact().is_some() {
        let cal = ctx.calendar;
        let day = cal.local(starts_at).date();
        let before = (1..=31).map(|n| day - chrono::Days::new(n)).find(|d| cal.is_business_day(*d)).unwrap_or(day);
        let due_at = cal.at_local(before, ctx.policy.send_at).max(ctx.now).min(starts_at);
        s.fx.push(Effect::SetTimer(Timer { kind: TimerKind::SlotReminder, step: 0, due_at }));
    }
}
