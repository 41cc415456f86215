//! Business time: which days are business days for a support team, what a
//! local wall-clock time means as an instant, and how much business time lies
//! between two instants. The only place deskbell reasons about time zones.
//!
//! Rules from the refresh workflow (`000_*`): business hours 05:00–18:00 by
//! default; weekends, holidays and university season days are not business
//! days. Wall-clock times are resolved in the calendar's IANA zone, so a DST
//! change never moves a 10:05 send.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    pub name: String,
    pub tz: Tz,
    pub day_start: NaiveTime,
    pub day_end: NaiveTime,
    pub weekend: Vec<Weekday>,
    pub holidays: BTreeSet<NaiveDate>,
    pub season_days: BTreeSet<NaiveDate>,
}

/// A calendar file as written by admins (`config/calendars/<name>.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarFile {
    pub time_zone: Tz,
    #[serde(default = "default_start")]
    pub business_day_start: NaiveTime,
    #[serde(default = "default_end")]
    pub business_day_end: NaiveTime,
    #[serde(default = "default_weekend")]
    pub weekend: Vec<Weekday>,
    /// TOML dates, unquoted: `holidays = [2026-11-26, 2026-11-27]`.
    #[serde(default)]
    pub holidays: Vec<toml::value::Datetime>,
    #[serde(default)]
    pub season_days: Vec<toml::value::Datetime>,
}

fn date_of(d: &toml::value::Datetime) -> Result<NaiveDate, String> {
    match (d.date, d.time, d.offset) {
        (Some(date), None, None) => NaiveDate::from_ymd_opt(date.year.into(), date.month.into(), date.day.into())
            .ok_or_else(|| format!("{d} is not a date")),
        _ => Err(format!("{d} must be a plain date such as 2026-11-26")),
    }
}

fn default_start() -> NaiveTime {
    NaiveTime::from_hms_opt(5, 0, 0).expect("valid time")
}
fn default_end() -> NaiveTime {
    NaiveTime::from_hms_opt(18, 0, 0).expect("valid time")
}
fn default_weekend() -> Vec<Weekday> {
    vec![Weekday::Sat, Weekday::Sun]
}

impl CalendarFile {
    pub fn into_calendar(self, name: &str) -> Result<BusinessCalendar, String> {
        if self.business_day_start >= self.business_day_end {
            return Err(format!(
                "business_day_start ({}) must be before business_day_end ({})",
                self.business_day_start, self.business_day_end
            ));
        }
        if self.weekend.len() >= 7 {
            return Err("weekend covers every day: no business day is left".into());
        }
        Ok(BusinessCalendar {
            name: name.to_owned(),
            tz: self.time_zone,
            day_start: self.business_day_start,
            day_end: self.business_day_end,
            weekend: self.weekend,
            holidays: self.holidays.iter().map(date_of).collect::<Result<_, _>>()?,
            season_days: self.season_days.iter().map(date_of).collect::<Result<_, _>>()?,
        })
    }
}

impl BusinessCalendar {
    /// The default policy of `000_*` in one zone: 05:00–18:00, Mon–Fri.
    pub fn standard(name: &str, tz: Tz) -> Self {
        Self {
            name: name.to_owned(),
            tz,
            day_start: default_start(),
            day_end: default_end(),
            weekend: default_weekend(),
            holidays: BTreeSet::new(),
            season_days: BTreeSet::new(),
        }
    }

    pub fn is_business_day(&self, day: NaiveDate) -> bool {
        !self.weekend.contains(&day.weekday()) && !self.holidays.contains(&day) && !self.season_days.contains(&day)
    }

    /// The first business day strictly after `day`.
    pub fn next_business_day(&self, day: NaiveDate) -> NaiveDate {
        self.add_business_days(day, 1)
    }

    /// The `n`th business day after `day` (`day` itself need not be one).
    pub fn add_business_days(&self, mut day: NaiveDate, n: u32) -> NaiveDate {
        let mut left = n;
        while left > 0 {
            day = day.succ_opt().expect("date within chrono's range");
            if self.is_business_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// The instant a local wall-clock time happens. In a spring-forward gap
    /// the time does not exist and the first instant after the gap is used;
    /// in a fall-back overlap the earlier of the two is used.
    pub fn at_local(&self, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        resolve_local(self.tz, day.and_time(time))
    }

    pub fn local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.tz).naive_local()
    }

    /// The business day an instant counts as: itself when it falls on a
    /// business day before the end of business hours, else the next one
    /// (a ticket created after hours counts as created the next morning).
    pub fn counted_day(&self, at: DateTime<Utc>) -> NaiveDate {
        let local = self.local(at);
        if self.is_business_day(local.date()) && local.time() < self.day_end {
            local.date()
        } else {
            self.next_business_day(local.date())
        }
    }

    /// When mail meant to leave at `at` may go (DESIGN rule 9): then, inside
    /// business hours of a business day; else at `morning` local time of the
    /// day it counts as (the same day before opening, otherwise the next
    /// business day).
    pub fn mail_time(&self, at: DateTime<Utc>, morning: NaiveTime) -> DateTime<Utc> {
        let local = self.local(at);
        let open = (self.day_start..self.day_end).contains(&local.time());
        if self.is_business_day(local.date()) && open {
            return at;
        }
        self.at_local(self.counted_day(at), morning).max(at)
    }

    /// `time` on the business day after the day `at` counts as: the invite
    /// rule of `000_*` (created Tuesday 17:59 → Wednesday 10:05).
    pub fn next_business_morning_at(&self, at: DateTime<Utc>, time: NaiveTime) -> DateTime<Utc> {
        self.at_local(self.next_business_day(self.counted_day(at)), time)
    }

    /// Business hours between two instants (zero if `to` is not after `from`).
    pub fn business_duration_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        if to <= from {
            return total;
        }
        let mut day = self.local(from).date();
        let last = self.local(to).date();
        while day <= last {
            if self.is_business_day(day) {
                let open = self.at_local(day, self.day_start).max(from);
                let close = self.at_local(day, self.day_end).min(to);
                if close > open {
                    total += close - open;
                }
            }
            day = day.succ_opt().expect("date within chrono's range");
        }
        total
    }
}

impl BusinessCalendar {
    /// The instant `d` of business time after `from`: a one-hour target set
    /// at 16:30 on a Friday with 08:00–17:00 hours is due 08:30 on Monday.
    pub fn add_business_duration(&self, from: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
        let mut left = d;
        let mut day = self.local(from).date();
        // Ten years without a business day is a calendar mistake, not a wait.
        for _ in 0..3660 {
            if self.is_business_day(day) {
                let open = self.at_local(day, self.day_start).max(from);
                let close = self.at_local(day, self.day_end);
                if close > open {
                    if close - open >= left {
                        return open + left;
                    }
                    left -= close - open;
                }
            }
            day = day.succ_opt().expect("date within chrono's range");
        }
        from + d
    }

    /// Where a step due at `due_at` goes when a hold that began at
    /// `paused_at` ends at `now`: the business days it still had to wait are
    /// counted from the release day, and it keeps its local time of day, so a
    /// 10:05 send stays a 10:05 send. A step that was due later on the day
    /// of the pause is due on the release day (or the next business day, if
    /// that time has passed or the release day is not a business day).
    pub fn resume_after_hold(
        &self,
        paused_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let (paused_day, due) = (self.local(paused_at).date(), self.local(due_at));
        let mut left = 0;
        let mut day = paused_day;
        while day < due.date() {
            day = day.succ_opt().expect("date within chrono's range");
            if self.is_business_day(day) {
                left += 1;
            }
        }
        let release = self.local(now).date();
        let same_day = self.at_local(release, due.time());
        if left == 0 && self.is_business_day(release) && same_day >= now {
            return same_day;
        }
        self.at_local(self.add_business_days(release, left.max(1)), due.time())
    }
}

/// A time as staff read it in Slack and answers: `Mon Nov 30, 9:00 AM EST`.
pub fn staff_time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%a %b %-d, %-I:%M %p %Z").to_string()
}

/// The instant a day of `tz` begins (its first existing minute on a DST
/// change at midnight): the bounds of a day's reports.
pub fn day_start(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    resolve_local(tz, day.and_time(NaiveTime::MIN))
}

fn resolve_local(tz: Tz, naive: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earliest, _) => earliest.with_timezone(&Utc),
        // Gaps are at most an hour in every zone chrono-tz knows of today;
        // step forward until the wall clock exists again.
        LocalResult::None => resolve_local(tz, naive + Duration::minutes(30)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::Detroit;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn local(cal: &BusinessCalendar, y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
        cal.at_local(d(y, m, day), t(h, min))
    }
    fn cal() -> BusinessCalendar {
        let mut c = BusinessCalendar::standard("umich", Detroit);
        c.holidays.insert(d(2026, 9, 7)); // Labor Day, a Monday
        c.season_days.insert(d(2026, 12, 28));
        c
    }

    #[test]
    fn friday_1759_before_a_monday_holiday_is_invited_tuesday_1005() {
        let c = cal();
        let created = local(&c, 2026, 9, 4, 17, 59);
        assert_eq!(c.next_business_morning_at(created, t(10, 5)), local(&c, 2026, 9, 8, 10, 5));
    }

    #[test]
    fn created_after_hours_is_invited_the_morning_after_next() {
        let c = cal();
        let created = local(&c, 2026, 11, 10, 18, 1); // Tuesday
        assert_eq!(c.next_business_morning_at(created, t(10, 5)), local(&c, 2026, 11, 12, 10, 5));
        let at_close = local(&c, 2026, 11, 10, 18, 0);
        assert_eq!(c.next_business_morning_at(at_close, t(10, 5)), local(&c, 2026, 11, 12, 10, 5));
    }

    #[test]
    fn created_before_opening_counts_as_that_day() {
        let c = cal();
        let created = local(&c, 2026, 11, 10, 3, 0);
        assert_eq!(c.next_business_morning_at(created, t(10, 5)), local(&c, 2026, 11, 11, 10, 5));
    }

    #[test]
    fn created_on_a_weekend_counts_as_monday() {
        let c = cal();
        let created = local(&c, 2026, 11, 14, 12, 0); // Saturday
        assert_eq!(c.next_business_morning_at(created, t(10, 5)), local(&c, 2026, 11, 17, 10, 5));
    }

    #[test]
    fn five_business_days_across_the_fall_dst_change_keep_1005_local() {
        let c = cal();
        // Friday 2026-10-30 10:05 EDT (UTC-4); DST ends Sunday 2026-11-01.
        let start = local(&c, 2026, 10, 30, 10, 5);
        assert_eq!(start.to_rfc3339(), "2026-10-30T14:05:00+00:00");
        let day = c.add_business_days(c.local(start).date(), 5);
        assert_eq!(day, d(2026, 11, 6));
        let due = c.at_local(day, t(10, 5));
        assert_eq!(due.to_rfc3339(), "2026-11-06T15:05:00+00:00", "10:05 EST is 15:05 UTC");
    }

    #[test]
    fn five_business_days_across_the_spring_dst_change() {
        let c = cal();
        let day = c.add_business_days(d(2026, 3, 6), 5); // DST starts Sunday 2026-03-08
        assert_eq!(c.at_local(day, t(10, 5)).to_rfc3339(), "2026-03-13T14:05:00+00:00");
    }

    #[test]
    fn a_season_day_and_a_holiday_are_not_business_days() {
        let c = cal();
        assert!(!c.is_business_day(d(2026, 12, 28)), "season day");
        assert!(!c.is_business_day(d(2026, 9, 7)), "holiday");
        assert!(c.is_business_day(d(2026, 12, 29)));
        // Friday 25 Dec is an ordinary weekday here; 28 Dec (season) is skipped.
        assert_eq!(c.add_business_days(d(2026, 12, 25), 1), d(2026, 12, 29));
    }

    #[test]
    fn local_times_in_a_gap_or_overlap_resolve_deterministically() {
        let c = cal();
        // 02:30 does not exist on 2026-03-08 in Detroit; 03:00 EDT is next.
        assert_eq!(c.at_local(d(2026, 3, 8), t(2, 30)).to_rfc3339(), "2026-03-08T07:00:00+00:00");
        // 01:30 happens twice on 2026-11-01; the first (EDT) is taken.
        assert_eq!(c.at_local(d(2026, 11, 1), t(1, 30)).to_rfc3339(), "2026-11-01T05:30:00+00:00");
    }

    #[test]
    fn business_durations_are_added_over_nights_weekends_and_holidays() {
        let mut c = cal();
        c.day_start = NaiveTime::from_hms_opt(8, 0, 0).unwrap();
        c.day_end = NaiveTime::from_hms_opt(17, 0, 0).unwrap();
        let h = Duration::hours;
        // Friday 16:30 + 1 h, Monday is Labor Day: Tuesday 08:30.
        assert_eq!(c.add_business_duration(local(&c, 2026, 9, 4, 16, 30), h(1)), local(&c, 2026, 9, 8, 8, 30));
        // Before opening counts from opening; within the day, plain addition.
        assert_eq!(c.add_business_duration(local(&c, 2026, 9, 9, 6, 0), h(4)), local(&c, 2026, 9, 9, 12, 0));
        // 24 business hours from Wednesday 10:00: 7 + 9 + 8, Friday 16:00.
        assert_eq!(c.add_business_duration(local(&c, 2026, 9, 9, 10, 0), h(24)), local(&c, 2026, 9, 11, 16, 0));
        let from = local(&c, 2026, 9, 4, 16, 30);
        let due = c.add_business_duration(from, h(5));
        assert_eq!(c.business_duration_between(from, due), h(5));
    }

    #[test]
    fn business_duration_counts_only_open_hours_of_business_days() {
        let c = cal();
        // Friday 17:00 to Tuesday 06:00 across the Labor Day weekend: 1 h Friday + 1 h Tuesday.
        let from = local(&c, 2026, 9, 4, 17, 0);
        let to = local(&c, 2026, 9, 8, 6, 0);
        assert_eq!(c.business_duration_between(from, to), Duration::hours(2));
        assert_eq!(c.business_duration_between(to, from), Duration::zero());
        // A whole business day is 13 hours, even on the 25-hour DST day's neighbour.
        let mon = local(&c, 2026, 11, 2, 0, 0);
        let tue = local(&c, 2026, 11, 3, 0, 0);
        assert_eq!(c.business_duration_between(mon, tue), Duration::hours(13));
    }

    #[test]
    fn a_hold_resumes_with_the_business_days_left_at_the_same_local_time() {
        let c = cal();
        // Due Friday 13 Nov 10:05; held Tuesday 10 Nov 09:00 with 3 business
        // days left; released Thursday 19 Nov 15:00: due Tuesday 24 Nov 10:05.
        let due = local(&c, 2026, 11, 13, 10, 5);
        let resumed = c.resume_after_hold(local(&c, 2026, 11, 10, 9, 0), due, local(&c, 2026, 11, 19, 15, 0));
        assert_eq!(resumed, local(&c, 2026, 11, 24, 10, 5));
        // Due later on the day of the pause: the release day, if still ahead.
        let due = local(&c, 2026, 11, 10, 10, 5);
        let held = local(&c, 2026, 11, 10, 9, 0);
        assert_eq!(c.resume_after_hold(held, due, local(&c, 2026, 11, 12, 8, 0)), local(&c, 2026, 11, 12, 10, 5));
        assert_eq!(c.resume_after_hold(held, due, local(&c, 2026, 11, 12, 11, 0)), local(&c, 2026, 11, 13, 10, 5));
        // Released on a Saturday: the next business day.
        assert_eq!(c.resume_after_hold(held, due, local(&c, 2026, 11, 14, 8, 0)), local(&c, 2026, 11, 16, 10, 5));
    }

    #[test]
    fn calendar_file_rejects_inverted_hours() {
        let file: CalendarFile = toml::from_str(
            "time_zone = \"America/Detroit\"\nbusiness_day_start = \"18:00\"\nbusiness_day_end = \"05:00\"\n",
        )
        .unwrap();
        assert!(file.into_calendar("x").unwrap_err().contains("must be before"));
    }

    #[test]
    fn mail_waits_for_business_hours() {
        let c = BusinessCalendar::standard("x", chrono_tz::America::Detroit);
        let morning = NaiveTime::from_hms_opt(10, 5, 0).unwrap();
        let at = |d: u32, h: u32, m: u32| {
            c.at_local(NaiveDate::from_ymd_opt(2026, 12, d).unwrap(), NaiveTime::from_hms_opt(h, m, 0).unwrap())
        };
        assert_eq!(c.mail_time(at(1, 14, 0), morning), at(1, 14, 0), "Tuesday afternoon: at once");
        assert_eq!(c.mail_time(at(1, 2, 0), morning), at(1, 10, 5), "Tuesday 02:00: that morning");
        assert_eq!(c.mail_time(at(1, 18, 0), morning), at(2, 10, 5), "Tuesday 18:00: the next morning");
        assert_eq!(c.mail_time(at(4, 19, 0), morning), at(7, 10, 5), "Friday evening: Monday");
        assert_eq!(c.mail_time(at(6, 11, 0), morning), at(7, 10, 5), "Sunday: Monday");
    }
}
