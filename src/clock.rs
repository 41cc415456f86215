//! The one source of "now". Production uses the system clock; tests and
//! `deskbell simulate` use a simulated clock they move by hand, so every
//! time-dependent rule is tested without sleeping.

use std::sync::Mutex;

use chrono::{DateTime, Duration, DurationRound, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// Wall-clock time, truncated to milliseconds (the precision stored).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().duration_trunc(Duration::milliseconds(1)).expect("millisecond truncation cannot overflow")
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct SimClock(Mutex<DateTime<Utc>>);

impl SimClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(start))
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().expect("clock lock poisoned") = to;
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock lock poisoned") += by;
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_clock_moves_only_when_told() {
        let start = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        let c = SimClock::new(start);
        assert_eq!(c.now(), start);
        c.advance(Duration::minutes(15));
        assert_eq!(c.now(), start + Duration::minutes(15));
        c.set(start);
        assert_eq!(c.now(), start);
    }

    #[test]
    fn system_clock_has_millisecond_precision() {
        assert_eq!(SystemClock.now().timestamp_subsec_nanos() % 1_000_000, 0);
    }
}
