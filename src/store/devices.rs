//! Managed devices, their state over time and the desk's transactions:
//! imported from a CSV, changed by closed requests and completed refreshes
//! (inside the ticket's transaction), counted for the invoice.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::outbox::insert_message;
use super::rows::ms;
use super::{NewMessage, Result, Store, StoreError, parse_col};
use crate::domain::devices::{Device, DeviceChange};
use crate::domain::service::request::TransactionKind;
use crate::domain::{ConfigId, TeamId, TicketRef};

/// A device as imported: the record and who looks after it.
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub device: Device,
    pub team: TeamId,
    pub config: ConfigId,
}

/// A device in service whose term ends soon, with its team and config by name.
#[derive(Debug, Clone)]
pub struct DueDevice {
    pub id: i64,
    pub device: Device,
    pub team: String,
    pub config: String,
}

/// One line of the transactions report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransactionLine {
    pub agency: String,
    pub kind: String,
    pub count: i64,
    pub minutes: i64,
}

fn day(text: &str) -> Result<NaiveDate> {
    parse_col("date", text)
}

fn device_from_row(r: &AnyRow) -> Result<Device> {
    let warranty: Option<String> = r.try_get("warranty_end")?;
    Ok(Device {
        serial: r.try_get("serial")?,
        model: r.try_get("model")?,
        platform: parse_col("platform", &r.try_get::<String, _>("platform")?)?,
        user_name: r.try_get("user_name")?,
        user_email: r.try_get("user_email")?,
        location: r.try_get("location")?,
        in_service_on: day(&r.try_get::<String, _>("in_service_on")?)?,
        term_months: u32::try_from(r.try_get::<i64, _>("term_months")?).unwrap_or(u32::MAX),
        warranty_end: warranty.as_deref().map(day).transpose()?,
        agency: r.try_get("agency")?,
        state: parse_col("state", &r.try_get::<String, _>("state")?)?,
    })
}

/// Records a device's state (and agency) from `at` on, for the billing view.
async fn record_state(
    conn: &mut AnyConnection,
    serial: &str,
    ticket: Option<TicketRef>,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO device_events (device_id, state, agency, at, ticket)
         SELECT id, state, agency, $2, $3 FROM devices WHERE serial = $1",
    )
    .bind(serial.to_owned())
    .bind(ms(at))
    .bind(ticket.map(|t| t.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Applies a ticket's device change inside its transaction; `today` is
/// the desk's day (a replacement's first day of service).
pub(super) async fn apply_change(
    conn: &mut AnyConnection,
    ticket: TicketRef,
    change: &DeviceChange,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<()> {
    let missing = |serial: &str| StoreError::Invalid(format!("no managed device has the serial {serial}"));
    match change {
        DeviceChange::Move { serial, user_name, user_email, location } => {
            let done = sqlx::query(
                "UPDATE devices SET user_name = $2, user_email = $3, location = $4, state = 'in_service'
                 WHERE serial = $1",
            )
            .bind(serial.clone())
            .bind(user_name.clone())
            .bind(user_email.clone())
            .bind(location.clone())
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() == 0 {
                return Err(missing(serial));
            }
            record_state(conn, serial, Some(ticket), now).await
        }
        DeviceChange::Retire { serial, state } => {
            let done = sqlx::query("UPDATE devices SET state = $2 WHERE serial = $1")
                .bind(serial.clone())
                .bind(<&str>::from(*state))
                .execute(&mut *conn)
                .await?;
            if done.rows_affected() == 0 {
                return Err(missing(serial));
            }
            record_state(conn, serial, Some(ticket), now).await
        }
        // A refresh of a device deskbell does not manage changes no record.
        DeviceChange::Replace { old, new, model, platform } => {
            let retired = sqlx::query("UPDATE devices SET state = 'decommissioned' WHERE serial = $1")
                .bind(old.clone())
                .execute(&mut *conn)
                .await?;
            if retired.rows_affected() == 0 {
                return Ok(());
            }
            record_state(conn, old, Some(ticket), now).await?;
            sqlx::query(
                "INSERT INTO devices (serial, model, platform, user_name, user_email, location, in_service_on,
                    term_months, warranty_end, agency, team_id, config_id, state)
                 SELECT $2, $3, $4, user_name, user_email, location, $5, term_months, NULL, agency, team_id,
                    config_id, 'in_service' FROM devices WHERE serial = $1
                 ON CONFLICT (serial) DO UPDATE SET state = 'in_service', in_service_on = excluded.in_service_on,
                    user_name = excluded.user_name, user_email = excluded.user_email, location = excluded.location,
                    agency = excluded.agency, lifecycle_told_at = NULL",
            )
            .bind(old.clone())
            .bind(new.clone())
            .bind(model.clone())
            .bind(<&str>::from(*platform))
            .bind(today.to_string())
            .execute(&mut *conn)
            .await?;
            record_state(conn, new, Some(ticket), now).await
        }
    }
}

/// Records a closed ticket's transaction, billed to `agency` or else to
/// the agency of the device `device`.
pub(super) async fn record_transaction(
    conn: &mut AnyConnection,
    ticket: TicketRef,
    kind: &TransactionKind,
    minutes: u32,
    (agency, device): (Option<&str>, Option<&str>),
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO transactions (ticket, agency, kind, minutes, at)
         VALUES ($1, COALESCE($2, (SELECT agency FROM devices WHERE serial = $3), ''), $4, $5, $6)",
    )
    .bind(ticket.to_string())
    .bind(agency.map(str::to_owned))
    .bind(device.map(str::to_owned))
    .bind(kind.0.clone())
    .bind(i64::from(minutes))
    .bind(ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Adds or updates (by serial) every device, in one transaction; each
    /// state is recorded from `since(device)` on.
    pub async fn import_devices(
        &self,
        devices: &[NewDevice],
        since: impl Fn(&Device) -> DateTime<Utc>,
    ) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        for d in devices {
            let v = &d.device;
            sqlx::query(
                "INSERT INTO devices (serial, model, platform, user_name, user_email, location, in_service_on,
                    term_months, warranty_end, agency, team_id, config_id, state)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (serial) DO UPDATE SET model = excluded.model, platform = excluded.platform,
                    user_name = excluded.user_name, user_email = excluded.user_email, location = excluded.location,
                    in_service_on = excluded.in_service_on, term_months = excluded.term_months,
                    warranty_end = excluded.warranty_end, agency = excluded.agency, team_id = excluded.team_id,
                    config_id = excluded.config_id, state = excluded.state",
            )
            .bind(v.serial.clone())
            .bind(v.model.clone())
            .bind(<&str>::from(v.platform))
            .bind(v.user_name.clone())
            .bind(v.user_email.clone())
            .bind(v.location.clone())
            .bind(v.in_service_on.to_string())
            .bind(i64::from(v.term_months))
            .bind(v.warranty_end.map(|d| d.to_string()))
            .bind(v.agency.clone())
            .bind(d.team.0)
            .bind(d.config.0)
            .bind(<&str>::from(v.state))
            .execute(&mut *tx)
            .await?;
            record_state(&mut tx, &v.serial, None, since(v)).await?;
        }
        tx.commit().await?;
        Ok(devices.len())
    }

    pub async fn device(&self, serial: &str) -> Result<Option<Device>> {
        let row = sqlx::query("SELECT * FROM devices WHERE serial = $1")
            .bind(serial.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    /// Devices in service per agency at the instant `at`: `(agency, count)`.
    pub async fn billing(&self, at: DateTime<Utc>) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT e.agency, COUNT(*) AS n FROM device_events e
             WHERE e.id = (SELECT e2.id FROM device_events e2 WHERE e2.device_id = e.device_id AND e2.at < $1
                           ORDER BY e2.at DESC, e2.id DESC LIMIT 1)
               AND e.state = 'in_service'
             GROUP BY e.agency ORDER BY e.agency",
        )
        .bind(ms(at))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("agency")?, r.try_get("n")?))).collect()
    }

    /// Transactions recorded in `from..to`, per agency and kind.
    pub async fn transactions(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<TransactionLine>> {
        let rows = sqlx::query(
            "SELECT agency, kind, COUNT(*) AS n, CAST(SUM(minutes) AS BIGINT) AS minutes FROM transactions
             WHERE at >= $1 AND at < $2 GROUP BY agency, kind ORDER BY agency, kind",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TransactionLine {
                    agency: r.try_get("agency")?,
                    kind: r.try_get("kind")?,
                    count: r.try_get("n")?,
                    minutes: r.try_get("minutes")?,
                })
            })
            .collect()
    }

    /// Devices in service whose term ends by `horizon` and not already in
    /// a refresh, by team; with `told`, also those the refresh admins were
    /// told of.
    pub async fn due_devices(&self, horizon: NaiveDate, told: bool) -> Result<Vec<DueDevice>> {
        let rows = sqlx::query(
            "SELECT d.*, t.name AS team_name, c.name AS config_name FROM devices d
             JOIN teams t ON t.id = d.team_id JOIN refresh_configs c ON c.id = d.config_id
             WHERE d.state = 'in_service' AND ($1 OR d.lifecycle_told_at IS NULL)
               AND NOT EXISTS (SELECT 1 FROM refresh_tickets r WHERE r.existing_serial = d.serial
                               AND r.status NOT IN ('complete', 'cancelled'))
             ORDER BY t.name, d.serial",
        )
        .bind(told)
        .fetch_all(&self.pool)
        .await?;
        let mut due = Vec::new();
        for r in &rows {
            let device = device_from_row(r)?;
            if device.due_for_refresh(horizon) {
                due.push(DueDevice {
                    id: r.try_get("id")?,
                    device,
                    team: r.try_get("team_name")?,
                    config: r.try_get("config_name")?,
                });
            }
        }
        Ok(due)
    }

    /// Queues the lifecycle messages and marks their devices told, at once.
    pub async fn tell_lifecycle(&self, devices: &[i64], messages: &[NewMessage<'_>], now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for m in messages {
            insert_message(&mut tx, m, now, now).await?;
        }
        for id in devices {
            sqlx::query("UPDATE devices SET lifecycle_told_at = $2 WHERE id = $1")
                .bind(*id)
                .bind(ms(now))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
