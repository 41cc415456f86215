//! Managed devices (`001_*`): each has an assigned user, a location, a
//! model, a warranty, the agency billed for it and a 48-month term; billing
//! follows the count in service. Requests and completed refreshes change
//! them through [`DeviceChange`] effects, saved with the ticket's change.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::refresh::Platform;

vocabulary! {
    pub enum DeviceState {
        /// Deployed and billed.
        InService,
        /// Sanitized and held by the agency: not billed.
        Spare,
        /// Stored for disaster response: not billed.
        DisasterReserve,
        /// Removed from service (surplus, transfer, replaced).
        Decommissioned,
    }
}

/// The term of a line-of-service device unless its record says otherwise.
pub const DEFAULT_TERM_MONTHS: u32 = 48;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub serial: String,
    pub model: Option<String>,
    pub platform: Platform,
    pub user_name: Option<String>,
    pub user_email: Option<String>,
    pub location: Option<String>,
    pub in_service_on: NaiveDate,
    pub term_months: u32,
    pub warranty_end: Option<NaiveDate>,
    pub agency: String,
    pub state: DeviceState,
}

impl Device {
    /// The last day of its term.
    pub fn term_ends_on(&self) -> NaiveDate {
        self.in_service_on.checked_add_months(Months::new(self.term_months)).unwrap_or(NaiveDate::MAX)
    }

    /// In service, with its term ending on or before `horizon`.
    pub fn due_for_refresh(&self, horizon: NaiveDate) -> bool {
        self.state == DeviceState::InService && self.term_ends_on() <= horizon
    }
}

/// What a closed request or a completed refresh does to device records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceChange {
    /// A new user or location; a spare or reserve device back in service.
    Move { serial: String, user_name: String, user_email: String, location: String },
    /// Out of service: kept as a spare, held in reserve, or removed.
    Retire { serial: String, state: DeviceState },
    /// A refresh delivered: the replacement enters service where the old
    /// device was (its user, location, agency, team and config), which leaves.
    Replace { old: String, new: String, model: Option<String>, platform: Platform },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(on: NaiveDate) -> Device {
        Device {
            serial: "5CG1".into(),
            model: None,
            platform: Platform::Windows,
            user_name: None,
            user_email: None,
            location: None,
            in_service_on: on,
            term_months: DEFAULT_TERM_MONTHS,
            warranty_end: None,
            agency: "DOTD".into(),
            state: DeviceState::InService,
        }
    }

    #[test]
    fn a_term_ends_48_months_after_service_began_and_only_devices_in_service_fall_due() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let d = device(day(2023, 3, 31));
        assert_eq!(d.term_ends_on(), day(2027, 3, 31));
        assert!(d.due_for_refresh(day(2027, 3, 31)));
        assert!(!d.due_for_refresh(day(2027, 3, 30)));
        let spare = Device { state: DeviceState::Spare, ..d };
        assert!(!spare.due_for_refresh(day(2030, 1, 1)));
    }
}
