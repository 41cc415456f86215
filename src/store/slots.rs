//! Slot preferences and schedule slots of support teams.

use chrono::{DateTime, NaiveTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::rows::{from_ms, ms};
use super::{Result, Store, StoreError};
use crate::domain::{ScheduleSlot, SlotId, SlotPreference, TeamId, TicketRef};

fn slot_from_row(row: &AnyRow) -> Result<ScheduleSlot> {
    let count = |c: &str| -> Result<u32> { Ok(u32::try_from(row.try_get::<i64, _>(c)?).unwrap_or(0)) };
    Ok(ScheduleSlot {
        id: SlotId(row.try_get("id")?),
        team: TeamId(row.try_get("team_id")?),
        starts_at: from_ms(row.try_get("starts_at")?)?,
        ends_at: from_ms(row.try_get("ends_at")?)?,
        capacity: count("capacity")?,
        booked: count("booked")?,
    })
}

/// Replaces a team's weekly preferences.
pub(super) async fn put_slot_preferences(
    conn: &mut AnyConnection,
    team: TeamId,
    prefs: &[SlotPreference],
) -> Result<()> {
    sqlx::query("DELETE FROM slot_preferences WHERE team_id = $1").bind(team.0).execute(&mut *conn).await?;
    for p in prefs {
        sqlx::query(
            "INSERT INTO slot_preferences (team_id, weekday, start_time, length_minutes, capacity)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(team.0)
        .bind(p.weekday.to_string())
        .bind(p.start.format("%H:%M").to_string())
        .bind(i64::from(p.length_minutes))
        .bind(i64::from(p.capacity))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn slot_preferences(conn: &mut AnyConnection, team: TeamId) -> Result<Vec<SlotPreference>> {
    let rows = sqlx::query(
        "SELECT weekday, start_time, length_minutes, capacity FROM slot_preferences WHERE team_id = $1 ORDER BY id",
    )
    .bind(team.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let weekday: String = r.try_get("weekday")?;
            let start: String = r.try_get("start_time")?;
            Ok(SlotPreference {
                team,
                weekday: weekday.parse().map_err(|_| StoreError::Invalid(format!("stored weekday '{weekday}'")))?,
                start: NaiveTime::parse_from_str(&start, "%H:%M")
                    .map_err(|_| StoreError::Invalid(format!("stored start time '{start}'")))?,
                length_minutes: u32::try_from(r.try_get::<i64, _>("length_minutes")?).unwrap_or(0),
                capacity: u32::try_from(r.try_get::<i64, _>("capacity")?).unwrap_or(0),
            })
        })
        .collect()
}

impl Store {
    /// Replaces a team's weekly preferences (tests, scenarios; a directory
    /// sync sets them with the team).
    pub async fn set_slot_preferences(&self, team: TeamId, prefs: &[SlotPreference]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        put_slot_preferences(&mut tx, team, prefs).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn slot_preferences(&self, team: TeamId) -> Result<Vec<SlotPreference>> {
        slot_preferences(&mut *self.pool.acquire().await?, team).await
    }

    /// Adds a slot; a slot the team already has (or deleted) at that start
    /// is kept as is. True if a slot was added.
    pub async fn add_slot(
        &self,
        team: TeamId,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        capacity: u32,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO schedule_slots (team_id, starts_at, ends_at, capacity) VALUES ($1, $2, $3, $4)
             ON CONFLICT (team_id, starts_at) DO NOTHING",
        )
        .bind(team.0)
        .bind(ms(starts_at))
        .bind(ms(ends_at))
        .bind(i64::from(capacity))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn slots(&self, team: TeamId, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<ScheduleSlot>> {
        let rows = sqlx::query(
            "SELECT * FROM schedule_slots WHERE team_id = $1 AND starts_at >= $2 AND starts_at < $3 AND deleted_at IS NULL
             ORDER BY starts_at",
        )
        .bind(team.0)
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(slot_from_row).collect()
    }

    pub async fn slot(&self, id: SlotId) -> Result<ScheduleSlot> {
        let row = sqlx::query("SELECT * FROM schedule_slots WHERE id = $1 AND deleted_at IS NULL")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("slot {id}")))?;
        slot_from_row(&row)
    }

    /// Seats still free in a team's slots starting after `from`.
    pub async fn free_seats(&self, team: TeamId, from: DateTime<Utc>) -> Result<i64> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(capacity - booked), 0) AS BIGINT) AS free FROM schedule_slots
             WHERE team_id = $1 AND starts_at > $2 AND deleted_at IS NULL",
        )
        .bind(team.0)
        .bind(ms(from))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("free")?)
    }

    /// The tickets booked into a team's slots starting in `from..to`.
    pub async fn slot_bookings(
        &self,
        team: TeamId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<crate::ics::Booking>> {
        let rows = sqlx::query(
            "SELECT t.id, t.slot_id, p.name FROM refresh_tickets t
             JOIN schedule_slots s ON s.id = t.slot_id
             LEFT JOIN people p ON p.id = t.customer_id
             WHERE s.team_id = $1 AND s.starts_at >= $2 AND s.starts_at < $3 AND t.status <> 'cancelled'
             ORDER BY t.id",
        )
        .bind(team.0)
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(crate::ics::Booking {
                    slot: SlotId(r.try_get("slot_id")?),
                    ticket: format!("R-{}", r.try_get::<i64, _>("id")?),
                    customer: r.try_get::<Option<String>, _>("name")?.unwrap_or_else(|| "no customer".into()),
                })
            })
            .collect()
    }

    /// Deletes an unselected slot (a tombstone stays, so the nightly
    /// generation does not bring it back); a booked one is refused.
    pub async fn delete_slot(&self, id: SlotId, now: DateTime<Utc>) -> Result<()> {
        self.slot(id).await?.check_deletable()?;
        // The booked = 0 guard closes the race with a booking made meanwhile.
        let deleted = sqlx::query(
            "UPDATE schedule_slots SET deleted_at = $2 WHERE id = $1 AND booked = 0 AND deleted_at IS NULL",
        )
        .bind(id.0)
        .bind(ms(now))
        .execute(&self.pool)
        .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::Invalid(format!("slot {id} was booked meanwhile and cannot be deleted")));
        }
        Ok(())
    }
}

impl Store {
    /// The next free slots of a refresh ticket's team as slot-picking
    /// messages offer them (`[{ "id", "starts_at" }]`).
    pub async fn offered_slots(&self, ticket: TicketRef, now: DateTime<Utc>) -> Result<serde_json::Value> {
        let mut conn = self.pool.acquire().await?;
        super::context::free_slots(&mut conn, ticket, now).await
    }
}
