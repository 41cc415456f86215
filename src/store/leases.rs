//! Leases: every claim (an outbox row, a timer, a cron run) names the
//! process that holds it, and that process renews its leases while it
//! lives ([`keep_alive`]). A lease is short, so a replica that dies loses
//! its claims within seconds; one that lives keeps them however long a send
//! or a database outage takes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration as StdDuration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

use super::rows::ms;
use super::{Result, Store};
use crate::clock::Clock;

/// Who holds claims, and for how long a claim outlives its last renewal.
#[derive(Debug, Clone)]
pub struct Holder {
    pub id: Arc<str>,
    pub lease: Duration,
}

/// How long a claim outlives its holder's last renewal, by default.
pub const DEFAULT_LEASE_SECONDS: u64 = 30;

impl Default for Holder {
    fn default() -> Self {
        Self::new(Duration::seconds(DEFAULT_LEASE_SECONDS as i64))
    }
}

impl Holder {
    /// A holder no other has: its process id, start time and a count.
    pub fn new(lease: Duration) -> Self {
        static MADE: AtomicU64 = AtomicU64::new(0);
        let started = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        Self { id: format!("{}-{started:x}-{n}", std::process::id()).into(), lease }
    }

    /// When a claim made or renewed `now` runs out.
    pub fn until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + self.lease
    }
}

impl Store {
    /// Extends every lease `holder` has to `until`; how many claims it holds.
    pub async fn renew_leases(&self, holder: &str, until: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let mut held = 0;
        for sql in [
            "UPDATE outbox SET locked_until = $2 WHERE claimed_by = $1 AND status = 'sending'",
            "UPDATE timers SET locked_until = $2 WHERE claimed_by = $1",
            "UPDATE job_runs SET locked_until = $2 WHERE claimed_by = $1 AND finished_at IS NULL",
        ] {
            held += sqlx::query(sql).bind(holder).bind(ms(until)).execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(held)
    }
}

/// Renews `holder`'s leases every third of a lease until `stop`. A failed
/// renewal (the database away) is tried again at the next beat, while the
/// lease still runs.
pub async fn keep_alive(store: Store, clock: Arc<dyn Clock>, holder: Holder, mut stop: watch::Receiver<bool>) {
    let beat = (holder.lease / 3).to_std().unwrap_or(StdDuration::from_secs(1)).max(StdDuration::from_millis(100));
    while !*stop.borrow() {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(beat) => {}
        }
        if let Err(e) = store.renew_leases(&holder.id, holder.until(clock.now())).await {
            tracing::warn!(error = %e, "cannot renew leases; trying again");
        }
    }
}
