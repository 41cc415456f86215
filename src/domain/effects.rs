//! The effects of one transition, collected while a state machine runs.
//! Shared by both ticket kinds so audits and dedupe keys look the same.

use std::fmt::Display;

use super::{AuditField, Change, Effect, Notification, PingStep, Recipient, Template, TicketRef};

pub(crate) struct Effects {
    ticket: TicketRef,
    pub list: Vec<Effect>,
}

impl Effects {
    pub fn new(ticket: TicketRef) -> Self {
        Self { ticket, list: Vec::new() }
    }

    pub fn push(&mut self, effect: Effect) {
        self.list.push(effect);
    }

    pub fn audit(&mut self, what: AuditField, from: Option<String>, to: Option<String>) {
        self.list.push(Effect::Audit(Change::new(what, from, to)));
    }

    pub fn status<S: Display>(&mut self, from: Option<S>, to: S) {
        self.audit(AuditField::Status, from.map(|s| s.to_string()), Some(to.to_string()));
    }

    /// Holding a ticket (third party, customer unavailable) stops its clocks;
    /// the reason is kept. Both kinds of ticket hold the same way.
    pub fn hold(&mut self, reason: &str) {
        self.audit(AuditField::HoldReason, None, Some(reason.to_owned()));
        self.list.push(Effect::PauseTimers);
    }

    /// Release starts the clocks again, shifted by the time on hold.
    pub fn release(&mut self) {
        self.list.push(Effect::ResumeTimers);
    }

    /// Queues a message keyed `<ticket>/<template>[/<suffix>]`; the suffix
    /// tells apart messages of one template that are meant to repeat.
    pub fn notify(&mut self, template: Template, to: Recipient, suffix: Option<String>) {
        let mut dedupe_key = format!("{}/{template}", self.ticket);
        if let Some(s) = suffix {
            dedupe_key = format!("{dedupe_key}/{s}");
        }
        self.list.push(Effect::Notify(Notification { template, to, dedupe_key, step: None }));
    }

    /// Queues a chain step's message keyed `<ticket>/<key>`
    /// (`S-9/unassigned/0/1`), so each step of each chain goes out once.
    pub fn notify_step(&mut self, template: Template, to: Recipient, key: &str, step: PingStep) {
        let dedupe_key = format!("{}/{key}", self.ticket);
        self.list.push(Effect::Notify(Notification { template, to, dedupe_key, step: Some(step) }));
    }
}
