//! Schedule slots: the delivery appointments customers pick, generated from
//! each support team's weekly preferences.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

use super::{DomainError, SlotId, TeamId};
use crate::calendar::BusinessCalendar;

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

/// A slot to create: `(start, end, capacity)`.
pub type NewSlot = (DateTime<Utc>, DateTime<Utc>, u32);

/// The slots a team's weekly preferences give for the days `first..=last`,
/// in the team's local time; holidays and season days get none (`000_*`:
/// slots are created each night five weeks ahead).
pub fn slots_for(prefs: &[SlotPreference], cal: &BusinessCalendar, first: NaiveDate, last: NaiveDate) -> Vec<NewSlot> {
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .filter(|d| cal.is_business_day(*d))
        .flat_map(|day| {
            prefs.iter().filter(move |p| p.weekday == day.weekday()).map(move |p| {
                let start = cal.at_local(day, p.start);
                (start, start + Duration::minutes(i64::from(p.length_minutes)), p.capacity)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_give_slots_on_business_days_in_local_time() {
        let mut cal = BusinessCalendar::standard("umich", chrono_tz::America::Detroit);
        let thanksgiving = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        cal.holidays.insert(thanksgiving);
        let tue = |h| SlotPreference {
            team: TeamId(1),
            weekday: Weekday::Tue,
            start: NaiveTime::from_hms_opt(h, 0, 0).unwrap(),
            length_minutes: 60,
            capacity: 2,
        };
        let thu = SlotPreference { weekday: Weekday::Thu, ..tue(13) };
        let first = NaiveDate::from_ymd_opt(2026, 10, 26).unwrap();
        let last = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let slots = slots_for(&[tue(9), thu], &cal, first, last);
        // Five Tuesdays and four Thursdays (Thanksgiving has none).
        assert_eq!(slots.len(), 9);
        assert!(slots.iter().all(|(s, e, c)| *e - *s == Duration::hours(1) && *c == 2));
        assert!(!slots.iter().any(|(s, _, _)| cal.local(*s).date() == thanksgiving));
        // 09:00 local on both sides of the DST change (EDT, then EST).
        assert_eq!(slots[0].0.to_rfc3339(), "2026-10-27T13:00:00+00:00");
        assert_eq!(slots[2].0.to_rfc3339(), "2026-11-03T14:00:00+00:00");
    }

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
