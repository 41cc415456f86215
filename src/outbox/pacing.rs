//! Slack's pacing: chat.postMessage allows about one message per second per
//! channel, and a 429 says how long to stop. Messages over the pace are
//! deferred, not failed. Pure bookkeeping; the dispatcher supplies `now`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

#[derive(Debug)]
pub struct Pacing {
    gap: Duration,
    next: HashMap<String, DateTime<Utc>>,
    paused_until: Option<DateTime<Utc>>,
}

impl Pacing {
    pub fn new(gap: Duration) -> Self {
        Self { gap, next: HashMap::new(), paused_until: None }
    }

    /// `Some(when)` if a message to `channel` must wait until then.
    pub fn wait_until(&self, channel: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let paused = self.paused_until.filter(|t| *t > now);
        let paced = self.next.get(channel).copied().filter(|t| *t > now);
        paused.max(paced)
    }

    pub fn sent(&mut self, channel: &str, now: DateTime<Utc>) {
        self.next.retain(|_, t| *t > now);
        self.next.insert(channel.to_owned(), now + self.gap);
    }

    /// Slack said "429, retry after": nothing goes to Slack until then.
    pub fn pause_until(&mut self, until: DateTime<Utc>) {
        self.paused_until = self.paused_until.max(Some(until));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_per_second_per_channel_and_pauses_for_everyone() {
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let mut p = Pacing::new(Duration::seconds(1));
        assert_eq!(p.wait_until("C1", t0), None);
        p.sent("C1", t0);
        assert_eq!(p.wait_until("C1", t0), Some(t0 + Duration::seconds(1)));
        assert_eq!(p.wait_until("C2", t0), None, "other channels are not held up");
        assert_eq!(p.wait_until("C1", t0 + Duration::seconds(1)), None);
        p.pause_until(t0 + Duration::seconds(30));
        assert_eq!(p.wait_until("C2", t0), Some(t0 + Duration::seconds(30)));
        assert_eq!(p.wait_until("C2", t0 + Duration::seconds(30)), None);
    }
}
