//! The cron jobs of the refresh workflow and the loop that runs them with
//! the timer tick. Each due time of each job runs once across replicas (the
//! run is claimed in the database), and a restart catches up on the latest
//! due time it missed instead of skipping it.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tokio::sync::watch;

use super::TimerTick;
use crate::itsm::ItsmSender;
use crate::store::Result;

/// The due time to run now: the latest occurrence after `since` (the last
/// recorded run) that is not in the future. Missed occurrences before it are
/// not run again: each job brings its state up to date in one run.
pub fn due_now(schedule: &cron::Schedule, tz: Tz, since: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule.after(&since.with_timezone(&tz)).map(|t| t.with_timezone(&Utc)).take_while(|t| *t <= now).last()
}

/// The scheduled jobs, one registry: each is named in the database (its
/// runs) and in `[scheduler]` (its schedule) by its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Job {
    /// Slots five weeks ahead from the teams' preferences (nightly).
    SlotGeneration,
    /// Invite waiting customers to pick a slot (twice a day).
    SlotDiscovery,
    /// Complete tickets whose TDX request is closed (daily).
    TdxCheck,
    /// Email approvers their unit's open refreshes (Fridays).
    ApprovalDigest,
    /// Move approval requests whose delegation began or ended (at midnight).
    ApprovalRouting,
    /// Yesterday's service desk KPIs to `[service] kpi_channel`.
    KpiDigest,
    /// Ask Slack for the ids of staff who have none.
    SlackLink,
    /// Tell the refresh admins of devices whose term ends soon (nightly).
    DeviceLifecycle,
}

pub struct Scheduler {
    pub tick: TimerTick,
    pub itsm: Option<Arc<ItsmSender>>,
    pub jobs: Vec<(Job, cron::Schedule)>,
    pub time_zone: Tz,
    pub interval: StdDuration,
    /// Rung after each batch of fired steps, so their messages (pings) go
    /// out at once instead of at the dispatcher's next poll.
    pub doorbell: Option<Arc<tokio::sync::Notify>>,
    /// Where the daily KPI digest goes.
    pub kpi_channel: Option<crate::domain::SlackChannelId>,
    /// The Slack Web API, when a bot token is configured (staff linking).
    pub slack: Option<Arc<crate::channels::slack::SlackChannel>>,
}

/// Slack ids looked up per run: users.lookupByEmail is a Tier 3 method
/// (about 50 calls a minute).
const SLACK_LOOKUPS_PER_RUN: i64 = 40;

impl Scheduler {
    /// Fires due timers, then runs every job that is due.
    pub async fn run_once(&self) -> Result<()> {
        self.fire_timers().await?;
        self.run_jobs().await
    }

    /// Fires every timer that is due, ringing the dispatcher after each batch.
    async fn fire_timers(&self) -> Result<()> {
        while self.tick.run_once().await? > 0 {
            if let Some(bell) = &self.doorbell {
                bell.notify_one();
            }
        }
        Ok(())
    }

    /// Runs every job that is due.
    async fn run_jobs(&self) -> Result<()> {
        let store = &self.tick.workflow.store;
        for (job, schedule) in &self.jobs {
            let name: &str = job.into();
            let now = self.tick.workflow.clock.now();
            // A job that never ran looks back a day, so a fresh deskbell
            // brings its state up to date at once.
            let since = store.last_job_due(name, now).await?.unwrap_or(now - chrono::Duration::days(1));
            let Some(due) = due_now(schedule, self.time_zone, since, now) else { continue };
            let Some(run) = store.claim_job_run(name, due, now, &self.tick.holder).await? else { continue };
            let outcome = self.run_job(*job).await;
            tracing::info!(job = name, %due, %outcome, "job run");
            store.finish_job_run(run, self.tick.workflow.clock.now(), &outcome).await?;
        }
        Ok(())
    }

    async fn run_job(&self, job: Job) -> String {
        let w = &self.tick.workflow;
        let result = match job {
            Job::SlotGeneration => w.generate_slots().await.map(|n| format!("ok: {n} slots added")),
            Job::SlotDiscovery => w.discover_slots().await.map(|n| format!("ok: {n} customers invited")),
            Job::ApprovalDigest => w.send_digests().await.map(|n| format!("ok: {n} digests queued")),
            Job::ApprovalRouting => w.reroute_approvals().await.map(|n| format!("ok: {n} approvals moved")),
            Job::DeviceLifecycle => w.tell_lifecycle().await.map(|n| format!("ok: {n} devices due for refresh told")),
            Job::KpiDigest => match &self.kpi_channel {
                Some(c) => w.send_kpis(c, self.time_zone).await.map(|()| format!("ok: KPIs sent to {c}")),
                None => Ok("skipped: no [service] kpi_channel".into()),
            },
            Job::SlackLink => match &self.slack {
                Some(slack) => crate::slack::linking::link_staff(&w.store, slack, w.clock.now(), SLACK_LOOKUPS_PER_RUN)
                    .await
                    .map(|(linked, asked)| format!("ok: {linked} of {asked} staff linked to Slack")),
                None => Ok("skipped: no Slack bot token".into()),
            },
            Job::TdxCheck => match &self.itsm {
                Some(itsm) => {
                    let now = w.clock.now();
                    return match itsm.check_deliveries(now).await {
                        Ok(n) => format!("ok: {n} tickets complete"),
                        Err(e) => format!("error: {e}"),
                    };
                }
                None => Ok("skipped: TDX is not configured".into()),
            },
        };
        result.unwrap_or_else(|e| format!("error: {e}"))
    }

    /// Until `stop` is set: fires timers as they fall due (waking for the
    /// next one, at most an `interval` apart) and looks for due jobs every
    /// `interval`.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let mut jobs_at = Instant::now();
        while !*stop.borrow() {
            let mut round = self.fire_timers().await;
            if round.is_ok() && Instant::now() >= jobs_at {
                jobs_at = Instant::now() + self.interval;
                round = self.run_jobs().await;
            }
            if let Err(e) = round {
                tracing::error!(error = %e, "scheduler round failed");
            }
            let wait = self.until_next_timer().await;
            tokio::select! {
                _ = stop.changed() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// How long to sleep: until the next timer falls due (a step fires when
    /// it is due, not up to an interval later), at least 50 ms and at most
    /// `interval`. A timer already due was not claimable just now (another
    /// replica holds it, or it failed): it waits the interval.
    async fn until_next_timer(&self) -> StdDuration {
        const SOONEST: StdDuration = StdDuration::from_millis(50);
        let now = self.tick.workflow.clock.now();
        match self.tick.workflow.store.next_timer_due().await {
            Ok(Some(due)) if due > now => {
                (due - now).to_std().unwrap_or_default().clamp(SOONEST, self.interval.max(SOONEST))
            }
            _ => self.interval,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn runs_the_latest_missed_occurrence_once_and_nothing_early() {
        let nightly: cron::Schedule = "0 30 1 * * *".parse().unwrap();
        let tz = chrono_tz::America::Detroit;
        // Last ran the night of the 1st; the service was down for two nights.
        let last = at("2026-11-01T06:30:00Z");
        let now = at("2026-11-04T12:00:00Z");
        assert_eq!(due_now(&nightly, tz, last, now), Some(at("2026-11-04T06:30:00Z")), "01:30 EST on the 4th");
        // Once run for that time, nothing more is due until the next night.
        assert_eq!(due_now(&nightly, tz, at("2026-11-04T06:30:00Z"), now), None);
        assert_eq!(due_now(&nightly, tz, now, at("2026-11-05T06:29:59Z")), None);
        assert_eq!(due_now(&nightly, tz, now, at("2026-11-05T06:30:00Z")), Some(at("2026-11-05T06:30:00Z")));
    }

    #[test]
    fn fridays_at_eight() {
        let friday: cron::Schedule = "0 0 8 * * Fri".parse().unwrap();
        let tz = chrono_tz::America::Detroit;
        assert_eq!(
            due_now(&friday, tz, at("2026-11-12T13:00:00Z"), at("2026-11-13T13:00:00Z")),
            Some(at("2026-11-13T13:00:00Z"))
        );
    }

    #[test]
    fn twice_a_day_in_local_time_across_dst() {
        let discovery: cron::Schedule = "0 0 7,13 * * *".parse().unwrap();
        let tz = chrono_tz::America::Detroit;
        // 07:00 EDT on Saturday 31 October, 07:00 EST on Monday 2 November.
        assert_eq!(
            due_now(&discovery, tz, at("2026-10-31T10:00:00Z"), at("2026-10-31T11:00:00Z")),
            Some(at("2026-10-31T11:00:00Z"))
        );
        assert_eq!(
            due_now(&discovery, tz, at("2026-11-02T11:00:00Z"), at("2026-11-02T12:00:00Z")),
            Some(at("2026-11-02T12:00:00Z"))
        );
    }
}
