//! Rate limits the replicas share. Slack paces posts per channel and says
//! "429, retry after"; TeamDynamix allows 60 calls per 60 seconds. Held in
//! the database, so N replicas together keep them as one would.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use super::rows::{from_ms, ms};
use super::{Result, Store};

impl Store {
    /// Takes the turn under `key` if it is free at `now`, keeping the next
    /// one `gap` away; otherwise says when the next turn is.
    pub async fn take_turn(&self, key: &str, now: DateTime<Utc>, gap: Duration) -> Result<Option<DateTime<Utc>>> {
        let next = ms(now + gap);
        let took = sqlx::query("UPDATE rate_pace SET next_at = $2 WHERE key = $1 AND next_at <= $3")
            .bind(key)
            .bind(next)
            .bind(ms(now))
            .execute(&self.pool)
            .await?
            .rows_affected();
        if took > 0 {
            return Ok(None);
        }
        let first = sqlx::query("INSERT INTO rate_pace (key, next_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(next)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if first > 0 {
            return Ok(None);
        }
        let row = sqlx::query("SELECT next_at FROM rate_pace WHERE key = $1").bind(key).fetch_one(&self.pool).await?;
        Ok(Some(from_ms(row.try_get("next_at")?)?.max(now)))
    }

    /// No turn under `key` before `until` (a `Retry-After`).
    pub async fn hold_turns(&self, key: &str, until: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO rate_pace (key, next_at) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE
             SET next_at = CASE WHEN rate_pace.next_at > excluded.next_at THEN rate_pace.next_at ELSE excluded.next_at END",
        )
        .bind(key)
        .bind(ms(until))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Counts one call under `key` if fewer than `limit` were made in the
    /// `window` up to `now`; otherwise says when one may be made.
    pub async fn admit_call(
        &self,
        key: &str,
        now: DateTime<Utc>,
        limit: i64,
        window: Duration,
    ) -> Result<Option<DateTime<Utc>>> {
        let mut tx = self.begin_write().await?;
        // The upsert takes the key's row lock: callers of one key take turns.
        sqlx::query("INSERT INTO rate_pace (key, next_at) VALUES ($1, 0) ON CONFLICT (key) DO UPDATE SET next_at = 0")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM rate_calls WHERE key = $1 AND at <= $2")
            .bind(key)
            .bind(ms(now - window))
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM rate_calls WHERE key = $1")
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
        let (made, oldest): (i64, Option<i64>) = (row.try_get("n")?, row.try_get("oldest")?);
        if made >= limit {
            tx.commit().await?;
            let oldest = oldest.map(from_ms).transpose()?.unwrap_or(now);
            return Ok(Some(oldest + window));
        }
        sqlx::query("INSERT INTO rate_calls (key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(None)
    }

    /// Calls counted under `key` in the `window` up to `now`.
    pub async fn calls_in_window(&self, key: &str, now: DateTime<Utc>, window: Duration) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM rate_calls WHERE key = $1 AND at > $2")
            .bind(key)
            .bind(ms(now - window))
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}
