//! Device records in and out as CSV (`001_*`): `deskbell import devices`,
//! the refresh batch of devices whose term ends soon (the nightly job's
//! file, ready for `deskbell import refresh-batch`), the billing view and
//! the transactions report. Every row of an import is checked first; a
//! file with a bad row changes nothing.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use strum::VariantNames;

use crate::calendar::day_start;
use crate::domain::Email;
use crate::domain::devices::{DEFAULT_TERM_MONTHS, Device, DeviceState};
use crate::domain::refresh::Platform;
use crate::import::{ImportError, blank_to_none, each_once, read_rows};
use crate::store::{DueDevice, NewDevice, Store, TransactionLine};

/// One row of a devices CSV; columns after `state` may be left out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    serial: String,
    platform: String,
    agency: String,
    team: String,
    config: String,
    in_service: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    user_email: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    term_months: Option<String>,
    #[serde(default)]
    warranty_end: Option<String>,
}

fn date(what: &str, text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{what} '{text}' is not a date (YYYY-MM-DD)"))
}

async fn check(store: &Store, r: Record) -> Result<NewDevice, String> {
    let serial = blank_to_none(Some(r.serial)).ok_or("serial is empty")?;
    let one_of = |what: &str, v: &str, known: &[&str]| format!("{what} '{v}' is not one of {}", known.join(", "));
    let platform: Platform =
        r.platform.trim().parse().map_err(|_| one_of("platform", &r.platform, Platform::VARIANTS))?;
    let state: DeviceState = match blank_to_none(r.state) {
        None => DeviceState::InService,
        Some(s) => s.parse().map_err(|_| one_of("state", &s, DeviceState::VARIANTS))?,
    };
    let agency = blank_to_none(Some(r.agency)).ok_or("agency is empty")?;
    let term_months = match blank_to_none(r.term_months) {
        None => DEFAULT_TERM_MONTHS,
        Some(t) => t.parse().ok().filter(|m| *m > 0).ok_or(format!("term_months '{t}' is not a number of months"))?,
    };
    let user_email = blank_to_none(r.user_email)
        .map(|e| Email::parse(&e).map(|e| e.to_string()).map_err(|e| format!("user_email: {e}")))
        .transpose()?;
    let team = store
        .team_by_name(r.team.trim())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("team '{}' does not exist", r.team.trim()))?;
    let config = store
        .config_id(r.config.trim())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("refresh config '{}' does not exist", r.config.trim()))?;
    let device = Device {
        serial,
        model: blank_to_none(r.model),
        platform,
        user_name: blank_to_none(r.user_name),
        user_email,
        location: blank_to_none(r.location),
        in_service_on: date("in_service", &r.in_service)?,
        term_months,
        warranty_end: blank_to_none(r.warranty_end).map(|d| date("warranty_end", &d)).transpose()?,
        agency,
        state,
    };
    Ok(NewDevice { device, team: team.id, config })
}

/// `deskbell import devices FILE.csv`: adds or updates (by serial) every
/// device of a clean file. A device in service is billed from the start of
/// its in-service day (the desk's zone); one in another state from `now`.
pub async fn import(store: &Store, csv_text: &str, zone: Tz, now: DateTime<Utc>) -> Result<usize, ImportError> {
    let mut checked = Vec::new();
    for (line, record) in read_rows::<Record>(csv_text)? {
        let row = match record {
            Ok(r) => check(store, r).await,
            Err(why) => Err(why),
        };
        checked.push((line, row));
    }
    let rows = each_once(checked, |d: &NewDevice| (d.device.serial.clone(), format!("serial {}", d.device.serial)))?;
    let devices: Vec<NewDevice> = rows.into_iter().map(|(_, d)| d).collect();
    let since = |d: &Device| match d.state {
        DeviceState::InService => day_start(d.in_service_on, zone),
        _ => now,
    };
    Ok(store.import_devices(&devices, since).await?)
}

fn csv_text(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("writing to memory");
    for row in rows {
        w.write_record(&row).expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("CSV of UTF-8 text")
}

/// Devices due for refresh as a refresh batch (`000_*`): on-premises
/// refreshes for their users, at their locations; a device without a user
/// is a shared system (`no_customer`).
pub fn refresh_batch(due: &[DueDevice]) -> String {
    let header = [
        "serial",
        "platform",
        "style",
        "team",
        "config",
        "model",
        "customer_name",
        "customer_email",
        "no_customer",
        "location",
    ];
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    csv_text(
        &header,
        due.iter().map(|d| {
            let v = &d.device;
            vec![
                v.serial.clone(),
                v.platform.to_string(),
                "on_prem".into(),
                d.team.clone(),
                d.config.clone(),
                text(&v.model),
                text(&v.user_name),
                text(&v.user_email),
                v.user_email.is_none().to_string(),
                text(&v.location),
            ]
        }),
    )
}

/// `deskbell devices billing --at DATE`: devices in service per agency at
/// the end of that day.
pub async fn billing(store: &Store, day: NaiveDate, zone: Tz) -> anyhow::Result<String> {
    let end = day_start(day.succ_opt().unwrap_or(day), zone);
    let counts = store.billing(end).await?;
    let rows = counts.into_iter().map(|(agency, n)| vec![day.to_string(), agency, n.to_string()]);
    Ok(csv_text(&["date", "agency", "devices_in_service"], rows))
}

/// `deskbell report transactions --from DATE --to DATE` (both days
/// included): per agency and kind, how many and the minutes spent.
pub async fn transactions(store: &Store, from: NaiveDate, to: NaiveDate, zone: Tz) -> anyhow::Result<String> {
    anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
    let lines = store.transactions(day_start(from, zone), day_start(to.succ_opt().unwrap_or(to), zone)).await?;
    let rows = lines.into_iter().map(|TransactionLine { agency, kind, count, minutes }| {
        vec![agency, kind, count.to_string(), minutes.to_string()]
    });
    Ok(csv_text(&["agency", "kind", "transactions", "minutes"], rows))
}
