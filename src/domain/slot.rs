//! Schedule slots: the delivery appointments customers pick, generated from
//! each support team's weekly preferences.

use chrono::{DateTime, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

use super::{DomainError, SlotId, TeamId};

/// One weekly recurring availability window of a support team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotPreference {
    pub team: TeamId,
    pub weekday: Weekday,
    pub start: NaiveTime,
    pub length_minutes: u32,
    pub capacity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleSlot {
    pub id: SlotId,
    pub team: TeamId,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: u32,
    pub booked: u32,
}

impl ScheduleSlot {
    pub fn is_free(&self) -> bool {
        self.booked < self.capacity
    }

    /// A booked slot is somebody's appointment: it may not be deleted.
    pub fn check_deletable(&self) -> Result<(), DomainError> {
        if self.booked > 0 {
            return Err(DomainError::Invalid(format!(
                "slot {} has {} booking(s) and cannot be deleted; reschedule them first",
                self.id, self.booked
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booked_slots_are_not_deletable() {
        let at = DateTime::<Utc>::from_timestamp(0, 0).unwrap();
        let mut s = ScheduleSlot { id: SlotId(1), team: TeamId(1), starts_at: at, ends_at: at, capacity: 2, booked: 0 };
        assert!(s.is_free() && s.check_deletable().is_ok());
        s.booked = 2;
        assert!(!s.is_free());
        assert!(s.check_deletable().is_err());
    }
}
