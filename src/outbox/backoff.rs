//! When to try a failed message again: exponential backoff with jitter, so
//! messages that failed together do not all retry in the same second.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

/// The wait after `attempts` failed attempts (1 for the first failure):
/// `base · 2^(attempts-1)`, capped at `max`, times a jitter factor in
/// [0.8, 1.2) derived from the message key, so it is reproducible.
pub fn retry_delay(attempts: u32, base: Duration, max: Duration, key: &str) -> Duration {
    let exp = base.saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1))).min(max);
    let mut h = DefaultHasher::new();
    (key, attempts).hash(&mut h);
    let jitter = 0.8 + (h.finish() % 400) as f64 / 1000.0;
    exp.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_secs(30);
    const MAX: Duration = Duration::from_secs(3600);

    #[test]
    fn doubles_per_attempt_within_the_jitter_band() {
        for attempts in 1..=6u32 {
            let nominal = 30.0 * 2f64.powi(attempts as i32 - 1);
            let d = retry_delay(attempts, BASE, MAX, "R-1/customer_begin").as_secs_f64();
            assert!((nominal * 0.8..nominal * 1.2).contains(&d), "attempt {attempts}: {d}s");
        }
    }

    #[test]
    fn is_capped_and_never_overflows() {
        let d = retry_delay(200, BASE, MAX, "k");
        assert!(d <= MAX.mul_f64(1.2) && d >= MAX.mul_f64(0.8));
    }

    #[test]
    fn is_reproducible_but_spread_across_messages() {
        assert_eq!(retry_delay(3, BASE, MAX, "a"), retry_delay(3, BASE, MAX, "a"));
        let spread: std::collections::HashSet<_> =
            (0..20).map(|i| retry_delay(3, BASE, MAX, &format!("k{i}"))).collect();
        assert!(spread.len() > 10, "jitter spreads retries");
    }
}
