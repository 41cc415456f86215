//! A support team's slots and bookings as an iCalendar feed (RFC 5545), so
//! staff subscribe to it in their calendar (`000_*`: calendar links per
//! team). Times are UTC, which every client converts; text is escaped and
//! lines are folded at 75 octets.

use chrono::{DateTime, Utc};

use crate::domain::ScheduleSlot;

/// One booking shown on its slot: the ticket and who it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub slot: crate::domain::SlotId,
    pub ticket: String,
    pub customer: String,
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,").replace('\n', "\\n")
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Folds a content line: no line longer than 75 octets, continuations
/// start with a space, never splitting a character.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

pub fn render(team: &str, tz: &str, slots: &[ScheduleSlot], bookings: &[Booking], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut line = |l: String| fold(&l, &mut out);
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//deskbell//refresh slots//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        line(l.to_owned());
    }
    line(format!("X-WR-CALNAME:{}", escape(&format!("{team} refresh slots"))));
    line(format!("X-WR-TIMEZONE:{tz}"));
    for s in slots {
        let booked: Vec<&Booking> = bookings.iter().filter(|b| b.slot == s.id).collect();
        let who: Vec<String> = booked.iter().map(|b| format!("{} {}", b.ticket, b.customer)).collect();
        line("BEGIN:VEVENT".into());
        line(format!("UID:slot-{}@deskbell", s.id));
        line(format!("DTSTAMP:{}", utc(now)));
        line(format!("DTSTART:{}", utc(s.starts_at)));
        line(format!("DTEND:{}", utc(s.ends_at)));
        line(format!("SUMMARY:{}", escape(&format!("Refresh slot ({} of {} booked)", s.booked, s.capacity))));
        if !who.is_empty() {
            line(format!("DESCRIPTION:{}", escape(&who.join("\n"))));
        }
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SlotId, TeamId};

    #[test]
    fn a_feed_has_one_event_per_slot_with_uid_dtstamp_and_bookings() {
        let at = DateTime::parse_from_rfc3339("2026-11-17T14:00:00Z").unwrap().with_timezone(&Utc);
        let slot = ScheduleSlot {
            id: SlotId(7),
            team: TeamId(1),
            starts_at: at,
            ends_at: at + chrono::Duration::hours(1),
            capacity: 2,
            booked: 1,
        };
        let booking = Booking { slot: SlotId(7), ticket: "R-12".into(), customer: "Smith, Cara; VIP".into() };
        let ics = render("NIT North", "America/Detroit", &[slot], &[booking], at);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(ics.contains(
            "UID:slot-7@deskbell\r\nDTSTAMP:20261117T140000Z\r\nDTSTART:20261117T140000Z\r\nDTEND:20261117T150000Z\r\n"
        ));
        assert!(ics.contains("DESCRIPTION:R-12 Smith\\, Cara\\; VIP\r\n"), "{ics}");
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        fold(&format!("SUMMARY:{}", "é".repeat(60)), &mut out);
        assert!(out.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(out.replace("\r\n ", ""), format!("SUMMARY:{}\r\n", "é".repeat(60)));
    }
}
