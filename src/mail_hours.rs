//! People are written to in their hours (DESIGN rule 9): mail to customers
//! and approvers leaves only inside business hours on business days of
//! their ticket's team calendar; what falls outside, whatever queued it (a
//! cron job, a wall-clock chain step, a retry), waits for the next business
//! morning. Staff pings are never held.

use std::sync::Arc;

use chrono::{DateTime, NaiveTime, Utc};

use crate::config::Calendars;

#[derive(Debug, Clone)]
pub struct MailHours {
    pub calendars: Arc<Calendars>,
    /// The local time held mail leaves at.
    pub morning: NaiveTime,
}

impl MailHours {
    /// When mail due `at` for people on `calendar` may leave.
    pub fn release(&self, calendar: &str, at: DateTime<Utc>) -> DateTime<Utc> {
        match self.calendars.get(calendar) {
            Some(c) => c.mail_time(at, self.morning),
            None => at,
        }
    }
}
