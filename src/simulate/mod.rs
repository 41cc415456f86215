//! `deskbell simulate`: who will be told what and when, before a policy,
//! calendar or template change goes live. A scenario (see
//! `docs/simulate.md`) runs through the real engine on a simulated clock;
//! nothing leaves the machine.

pub mod run;
pub mod scenario;

use std::fmt::Write as _;
use std::path::Path;

use anyhow::anyhow;
use chrono_tz::Tz;
use serde::Serialize;

use crate::config::Settings;
use crate::startup::Resources;
use run::Line;

/// Keeps the calling thread, and the threads it starts from now on (the
/// runtime's, sqlx's SQLite worker), on one CPU. A simulation is one chain
/// of round trips between the runtime and the SQLite worker: on one CPU
/// each hand-off is a plain context switch, where across CPUs it is a
/// wake-up of a sleeping core (about 5x slower end to end; benches/simulate
/// measures it). Call it before the runtime is built; where the platform
/// cannot pin, nothing changes.
pub fn keep_to_one_cpu() {
    if let Some(first) = core_affinity::get_core_ids().and_then(|ids| ids.into_iter().next()) {
        core_affinity::set_for_current(first);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Jsonl,
    Table,
}

/// Runs the scenario in `file` with `settings`' policies on a fresh
/// in-memory database; returns the report.
pub async fn simulate(mut settings: Settings, file: &Path, format: Format) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(file).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    let (scenario, events) = scenario::parse(&text).map_err(|e| anyhow!("{}:{e}", file.display()))?;
    // A throwaway in-memory database of one connection.
    settings.database.url = "sqlite::memory:".into();
    if let Some(mac) = &scenario.mac_engineering_email {
        settings.refresh.mac_engineering_email = Some(mac.clone());
    }
    let res = Resources::open(&settings).await?;
    let lines = run::run(&settings, &res, &scenario, &events).await.map_err(|e| anyhow!("{}:{e:#}", file.display()))?;
    let tz = run::display_zone(&res, &scenario);
    res.store.close().await;
    Ok(render(&lines, tz, format))
}

// Fields in the order people read them.
#[derive(Serialize)]
struct MessageJson<'a> {
    at: String,
    channel: crate::domain::Channel,
    to: [&'a str; 1],
    ticket: Option<String>,
    template: &'a str,
    subject: &'a str,
    dedupe_key: &'a str,
}

#[derive(Serialize)]
struct StatusJson<'a> {
    at: String,
    ticket: String,
    status: Change<'a>,
}

#[derive(Serialize)]
struct Change<'a> {
    from: Option<&'a str>,
    to: &'a str,
}

/// One JSON object a line, or an aligned table.
pub fn render(lines: &[Line], tz: Tz, format: Format) -> String {
    let mut out = String::new();
    let time = |l: &Line| l.at().with_timezone(&tz).to_rfc3339();
    match format {
        Format::Jsonl => {
            for l in lines {
                let json = match l {
                    Line::Message { channel, to, ticket, template, subject, dedupe_key, .. } => {
                        serde_json::to_string(&MessageJson {
                            at: time(l),
                            channel: *channel,
                            to: [to],
                            ticket: ticket.map(|t| t.to_string()),
                            template: template.name(),
                            subject,
                            dedupe_key,
                        })
                    }
                    Line::Status { ticket, from, to, .. } => serde_json::to_string(&StatusJson {
                        at: time(l),
                        ticket: ticket.to_string(),
                        status: Change { from: from.as_deref(), to },
                    }),
                };
                let _ = writeln!(out, "{}", json.expect("plain data serializes"));
            }
        }
        Format::Table => {
            let rows: Vec<[String; 5]> = lines
                .iter()
                .map(|l| {
                    let at = l.at().with_timezone(&tz).format("%a %Y-%m-%d %H:%M %Z").to_string();
                    match l {
                        Line::Message { channel, to, ticket, template, subject, .. } => {
                            let t = ticket.map(|t| t.to_string()).unwrap_or_else(|| "-".into());
                            [at, t, format!("{channel} {template}"), to.clone(), subject.clone()]
                        }
                        Line::Status { ticket, from, to, .. } => {
                            let from = from.clone().unwrap_or_else(|| "(new)".into());
                            [at, ticket.to_string(), "status".into(), String::new(), format!("{from} → {to}")]
                        }
                    }
                })
                .collect();
            let header = ["when", "ticket", "what", "to", "subject / change"].map(str::to_owned);
            let width = |i: usize| rows.iter().chain([&header]).map(|r| r[i].chars().count()).max().unwrap_or(0);
            let widths = [width(0), width(1), width(2), width(3)];
            for r in std::iter::once(&header).chain(&rows) {
                let _ = writeln!(
                    out,
                    "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}",
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2],
                    w3 = widths[3]
                );
            }
        }
    }
    out
}
