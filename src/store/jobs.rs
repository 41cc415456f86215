//! Cron job runs: one row per job and due time. The unique (job, due_at)
//! makes exactly one replica win each run; the rows are the run history. A
//! run is leased to its holder: one whose holder died unfinished is taken
//! again when its lease runs out.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::leases::Holder;
use super::rows::{from_ms, ms, opt_from_ms};
use super::{Result, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    pub job: String,
    pub due_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
}

impl Store {
    /// The due time of the job's latest run, finished or still held at
    /// `now` (a run whose holder died does not count: it is run again).
    pub async fn last_job_due(&self, job: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let row = sqlx::query(
            "SELECT MAX(due_at) AS due FROM job_runs WHERE job = $1
             AND (finished_at IS NOT NULL OR locked_until IS NULL OR locked_until > $2)",
        )
        .bind(job)
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await?;
        row.try_get::<Option<i64>, _>("due")?.map(from_ms).transpose()
    }

    /// Claims the run of `job` for `due_at` for `holder`; `None` if another
    /// replica has it (or finished it).
    pub async fn claim_job_run(
        &self,
        job: &str,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
        holder: &Holder,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "INSERT INTO job_runs (job, due_at, started_at, claimed_by, locked_until) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (job, due_at) DO UPDATE SET started_at = excluded.started_at,
                claimed_by = excluded.claimed_by, locked_until = excluded.locked_until
             WHERE job_runs.finished_at IS NULL AND job_runs.locked_until <= excluded.started_at
             RETURNING id",
        )
        .bind(job)
        .bind(ms(due_at))
        .bind(ms(now))
        .bind(&*holder.id)
        .bind(ms(holder.until(now)))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    pub async fn finish_job_run(&self, id: i64, now: DateTime<Utc>, outcome: &str) -> Result<()> {
        sqlx::query(
            "UPDATE job_runs SET finished_at = $2, outcome = $3, claimed_by = NULL, locked_until = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(ms(now))
        .bind(outcome)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The most recent runs, newest first.
    pub async fn job_runs(&self, limit: i64) -> Result<Vec<JobRun>> {
        let rows = sqlx::query(
            "SELECT job, due_at, started_at, finished_at, outcome FROM job_runs ORDER BY due_at DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(JobRun {
                    job: r.try_get("job")?,
                    due_at: from_ms(r.try_get("due_at")?)?,
                    started_at: from_ms(r.try_get("started_at")?)?,
                    finished_at: opt_from_ms(r.try_get("finished_at")?)?,
                    outcome: r.try_get("outcome")?,
                })
            })
            .collect()
    }
}
