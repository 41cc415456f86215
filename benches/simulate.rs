//! `deskbell simulate` speed: a 90-day scenario with 10 000 refresh tickets
//! (created over the first month; half walk the wizard three days later,
//! half never do and run through reminders and expiry) and 1 000 P2
//! incidents (assigned after 40 minutes, resolved an hour later).
//!
//! `cargo bench --bench simulate` runs the full size; under `cargo test` it
//! runs 200 tickets as a smoke test.

use std::fmt::Write as _;
use std::time::Instant;

use chrono::{DateTime, Duration, FixedOffset};
use deskbell::config::Settings;
use deskbell::simulate::{Format, simulate};

fn scenario(tickets: usize, incidents: usize) -> String {
    let start: DateTime<FixedOffset> = "2026-09-01T08:00:00-04:00".parse().unwrap();
    let end = start + Duration::days(90);
    let mut s = format!(
        "start = \"{}\"\nend = \"{}\"\n\n[[people]]\nname = \"Cara\"\nemail = \"cara@example.edu\"\nroles = [\"customer\"]\n\n\
         [[people]]\nname = \"Dee\"\nemail = \"dee@example.edu\"\nslack = \"UDEE00001\"\nroles = [\"dispatcher\"]\n\n\
         [[people]]\nname = \"Ed\"\nemail = \"ed@example.edu\"\nslack = \"UED000001\"\nroles = [\"engineer\"]\n\n\
         [[teams]]\nname = \"NIT\"\nchannel = \"CNIT00001\"\ncalendar = \"umich\"\n\n[[configs]]\nname = \"LSA\"\n\n",
        start.to_rfc3339(),
        end.to_rfc3339()
    );
    let mut events: Vec<(DateTime<FixedOffset>, String)> = Vec::new();
    let step = Duration::days(30) / tickets as i32;
    for i in 0..tickets {
        let at = start + step * i as i32;
        let t = format!("R-{}", i + 1);
        events.push((at, format!("ticket = \"{t}\"\ndo = \"create_refresh\"\nstyle = \"on_prem\"\nteam = \"NIT\"\nconfig = \"LSA\"\nserial = \"OLD{i}\"\ncustomer = \"cara@example.edu\"")));
        if i % 2 == 0 {
            events.push((at + Duration::days(3), format!("ticket = \"{t}\"\ndo = \"walk_wizard\"")));
        }
    }
    let step = Duration::days(60) / incidents.max(1) as i32;
    for i in 0..incidents {
        let at = start + step * i as i32;
        let t = format!("S-{}", i + 1);
        events.push((at, format!("ticket = \"{t}\"\ndo = \"create_service\"\npriority = \"P2\"\nsummary = \"VPN\"\ncontact = \"cara@example.edu\"\nteam = \"NIT\"")));
        events.push((
            at + Duration::minutes(40),
            format!("ticket = \"{t}\"\ndo = \"assign\"\nengineer = \"ed@example.edu\""),
        ));
        events.push((at + Duration::minutes(100), format!("ticket = \"{t}\"\ndo = \"resolve\"")));
    }
    events.sort_by_key(|(at, _)| *at);
    for (at, body) in events {
        let _ = write!(s, "[[events]]\nat = \"{}\"\n{body}\n\n", at.to_rfc3339());
    }
    s
}

/// The same simulation on a multi-threaded runtime (as `simulate` ran
/// before 2026-12-02) and on one thread (as the command runs it now).
fn main() {
    let multi = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let before = multi.block_on(run("multi-threaded runtime"));
    let single = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let now = single.block_on(run("one thread (the command)"));
    println!("simulate on one thread: {:.2}x the multi-threaded runtime's speed", before / now);
}

/// Runs the scenario; seconds taken.
async fn run(runtime: &str) -> f64 {
    let full = std::env::args().any(|a| a == "--bench");
    let (tickets, incidents) = if full { (10_000, 1_000) } else { (200, 20) };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.toml");
    std::fs::write(&file, scenario(tickets, incidents)).unwrap();
    let mut settings = Settings::default();
    settings.refresh.calendars_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/config/calendars").into();
    settings.templates.dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates").into();
    settings.service.escalation_policy = concat!(env!("CARGO_MANIFEST_DIR"), "/config/escalation.toml").into();
    let start = Instant::now();
    let out = simulate(settings, &file, Format::Jsonl).await.unwrap();
    let took = start.elapsed();
    let lines = out.lines().count();
    assert!(lines > tickets * 3, "every ticket produced messages and status changes ({lines} lines)");
    println!(
        "simulate ({runtime}): 90 days, {tickets} refresh tickets and {incidents} incidents: {lines} lines in {:.1} s",
        took.as_secs_f64()
    );
    took.as_secs_f64()
}
