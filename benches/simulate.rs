//! `deskbell simulate` speed: a 90-day scenario with 10 000 refresh tickets
//! (created over the first month; half walk the wizard three days later,
//! half never do and run through reminders and expiry) and 1 000 P2
//! incidents (assigned after 40 minutes, resolved an hour later), run by
//! the `deskbell` binary as a user runs it.
//!
//! `cargo bench --bench simulate -- --against BIN` also runs an earlier
//! release's binary on the same file in the same run, and checks that both
//! print the same bytes (`scripts/simulate-against REV` builds REV and does
//! this). Under `cargo test` it runs 200 tickets as a smoke test.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use chrono::{DateTime, Duration, FixedOffset};

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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench");
    let against = args.iter().position(|a| a == "--against").and_then(|i| args.get(i + 1));
    let (tickets, incidents) = if full { (10_000, 1_000) } else { (200, 20) };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.toml");
    std::fs::write(&file, scenario(tickets, incidents)).unwrap();
    let config = dir.path().join("deskbell.toml");
    let repo = env!("CARGO_MANIFEST_DIR");
    std::fs::write(
        &config,
        format!(
            "[refresh]\ncalendars_dir = \"{repo}/config/calendars\"\n[templates]\ndir = \"{repo}/templates\"\n\
             [service]\nescalation_policy = \"{repo}/config/escalation.toml\"\n"
        ),
    )
    .unwrap();
    println!("simulate: 90 days, {tickets} refresh tickets and {incidents} incidents");
    let before = against.map(|bin| run(bin.as_ref(), &config, &file, "before"));
    let now = run(env!("CARGO_BIN_EXE_deskbell").as_ref(), &config, &file, "now");
    assert!(now.lines > tickets * 3, "every ticket produced messages and status changes ({} lines)", now.lines);
    if let Some(before) = before {
        assert!(before.output == now.output, "both releases print the same report");
        println!("simulate now: {:.2}x the speed before, the same {} bytes", before.took / now.took, now.output.len());
    }
}

struct Run {
    took: f64,
    lines: usize,
    output: Vec<u8>,
}

/// Runs `bin simulate` on the scenario as a user would.
fn run(bin: &Path, config: &Path, file: &Path, label: &str) -> Run {
    let start = Instant::now();
    let out = Command::new(bin).arg("--config").arg(config).arg("simulate").arg(file).output().expect("run deskbell");
    let took = start.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}: {}", bin.display(), String::from_utf8_lossy(&out.stderr));
    let lines = out.stdout.iter().filter(|b| **b == b'\n').count();
    println!("  {label:<6} {}: {lines} lines in {took:.1} s", bin.display());
    Run { took, lines, output: out.stdout }
}
