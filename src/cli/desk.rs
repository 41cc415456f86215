//! Commands that set up and look after the desk: configuration, the
//! database, the directory, imports, slots and the scheduled jobs.

use std::path::Path;
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::domain::SlotId;
use crate::import;
use crate::startup::{Resources, load_policy};

use super::ImportCommand;

pub fn check_config(settings: &Settings) -> anyhow::Result<()> {
    load_policy(settings)?;
    println!("configuration ok");
    Ok(())
}

pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    Resources::open(settings).await?;
    println!("database migrated");
    Ok(())
}

pub fn check_directory(settings: &Settings, file: &Path) -> anyhow::Result<()> {
    let policy = load_policy(settings)?;
    let d = crate::directory::load(file, &policy.calendars.names())
        .map_err(|errors| anyhow::anyhow!("{} problem(s):\n  {}", errors.len(), errors.join("\n  ")))?;
    let (p, g, t, c) = (d.people.len(), d.groups.len(), d.teams.len(), d.configs.len());
    println!("{}: ok ({p} people, {g} groups, {t} teams, {c} refresh configs)", file.display());
    Ok(())
}

pub async fn sync_directory(settings: &Settings, file: &Path, dry_run: bool) -> anyhow::Result<()> {
    let res = Resources::open(settings).await?;
    let report = res.sync_directory(file, SystemClock.now(), dry_run).await?;
    println!("{report}{}", if dry_run { " (dry run: nothing changed)" } else { "" });
    Ok(())
}

/// Every import reads one CSV and applies all of its rows or none.
pub async fn import(settings: &Settings, what: ImportCommand) -> anyhow::Result<()> {
    let file = match &what {
        ImportCommand::People { file }
        | ImportCommand::RefreshBatch { file }
        | ImportCommand::Replacements { file }
        | ImportCommand::Reschedules { file }
        | ImportCommand::Devices { file } => file.clone(),
    };
    let csv = import::read_csv(&file)?;
    let res = Resources::open(settings).await?;
    let workflow = res.workflow(Arc::new(SystemClock));
    let refs = |done: Vec<crate::domain::refresh::RefreshTicket>| {
        (done.len(), done.iter().map(|t| t.reference().to_string()).collect::<Vec<_>>().join(", "))
    };
    let said = match what {
        ImportCommand::People { .. } => import::people(&res.store, &csv).await.map(|report| report.to_string()),
        ImportCommand::RefreshBatch { .. } => import::refresh_batch(&workflow, &csv)
            .await
            .map(refs)
            .map(|(n, refs)| format!("imported {n} refresh ticket(s): {refs}")),
        ImportCommand::Replacements { .. } => import::replacements(&workflow, &csv)
            .await
            .map(refs)
            .map(|(n, refs)| format!("assigned {n} replacement(s): {refs}")),
        ImportCommand::Reschedules { .. } => {
            import::reschedules(&workflow, &csv).await.map(|done| format!("rescheduled {} ticket(s)", done.len()))
        }
        ImportCommand::Devices { .. } => crate::devices::import(&res.store, &csv, res.zone, SystemClock.now())
            .await
            .map(|n| format!("imported {n} device(s)")),
    };
    println!("{}", said.map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?);
    Ok(())
}

pub async fn list_slots(settings: &Settings, team: &str) -> anyhow::Result<()> {
    let res = Resources::open(settings).await?;
    let t = res.store.team_by_name(team).await?.ok_or_else(|| anyhow::anyhow!("no team is called '{team}'"))?;
    let cal = res.calendars.for_team(&t)?;
    let now = SystemClock.now();
    for s in res.store.slots(t.id, now, now + chrono::Duration::days(36)).await? {
        let at = s.starts_at.with_timezone(&cal.tz).format("%a %Y-%m-%d %H:%M");
        println!("{:>6}  {at}  {}/{} booked", s.id, s.booked, s.capacity);
    }
    Ok(())
}

pub async fn delete_slot(settings: &Settings, slot: i64) -> anyhow::Result<()> {
    let res = Resources::open(settings).await?;
    res.store.delete_slot(SlotId(slot), SystemClock.now()).await?;
    println!("slot {slot} deleted");
    Ok(())
}

pub async fn calendar_url(settings: &Settings, team: &str) -> anyhow::Result<()> {
    let secret =
        settings.server.link_secret.as_ref().ok_or_else(|| anyhow::anyhow!("server.link_secret is not set"))?;
    let res = Resources::open(settings).await?;
    let t = res.store.team_by_name(team).await?.ok_or_else(|| anyhow::anyhow!("no team is called '{team}'"))?;
    let token = crate::http::calendar_token(secret, t.id);
    println!("{}/calendar/{}.ics?token={token}", settings.server.public_url.trim_end_matches('/'), t.id);
    Ok(())
}

/// The scheduled jobs with their next due time, then their recent runs.
pub async fn jobs(settings: &Settings, limit: i64) -> anyhow::Result<()> {
    let res = Resources::open(settings).await?;
    let jobs = settings.scheduler.schedules().map_err(anyhow::Error::msg)?;
    println!("Jobs (local time {})", res.zone);
    for (name, schedule) in &jobs {
        let next = schedule.after(&SystemClock.now().with_timezone(&res.zone)).next();
        let next = next.map(|t| t.format("%a %Y-%m-%d %H:%M %Z").to_string()).unwrap_or_else(|| "never".into());
        println!("  {:<16} {:<18} next {next}", <&str>::from(*name), schedule.source());
    }
    println!("Recent runs");
    for run in res.store.job_runs(limit).await? {
        let took = run.finished_at.map(|f| format!("{} ms", (f - run.started_at).num_milliseconds()));
        let outcome = run.outcome.unwrap_or_else(|| "running".into());
        println!(
            "  {}  {:<16} {:>9}  {outcome}",
            run.due_at.with_timezone(&res.zone).format("%Y-%m-%d %H:%M %Z"),
            run.job,
            took.unwrap_or_default()
        );
    }
    Ok(())
}

pub async fn billing(settings: &Settings, at: chrono::NaiveDate) -> anyhow::Result<()> {
    let res = Resources::open(settings).await?;
    print!("{}", crate::devices::billing(&res.store, at, res.zone).await?);
    Ok(())
}

pub async fn devices_due(settings: &Settings) -> anyhow::Result<()> {
    let res = Resources::open(settings).await?;
    let today = SystemClock.now().with_timezone(&res.zone).date_naive();
    let due = res.store.due_devices(today + chrono::Days::new(res.requests.horizon_days.into()), true).await?;
    print!("{}", crate::devices::refresh_batch(&due));
    Ok(())
}

pub async fn transactions(settings: &Settings, from: chrono::NaiveDate, to: chrono::NaiveDate) -> anyhow::Result<()> {
    let res = Resources::open(settings).await?;
    print!("{}", crate::devices::transactions(&res.store, from, to, res.zone).await?);
    Ok(())
}
