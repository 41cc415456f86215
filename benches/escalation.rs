//! Escalation benchmarks, SQLite file, everything on loopback:
//!
//! 1. Ping lateness: 10 000 P1 tickets whose first unassigned ping falls
//!    due within one minute, each to its own team channel, served by the
//!    running application (timer tick every second, dispatcher woken by the
//!    tick) against the fake Slack Web API. Lateness is the arrival time at
//!    Slack minus the step's due time: p50, p99, max.
//! 2. Tick cost: 1 000 due escalation steps among 100 000 and 1 000 000 open
//!    service tickets (each with a pending step), on the simulated clock.
//!
//! `cargo bench --bench escalation` runs the full sizes; under `cargo test`
//! it runs small ones as a smoke test.

#[allow(dead_code)]
#[path = "../tests/it/support/fake_slack.rs"]
mod fake_slack;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, TimeZone, Utc};
use deskbell::clock::{SimClock, SystemClock};
use deskbell::config::Settings;
use deskbell::domain::{Email, Role, SlackChannelId};
use deskbell::scheduler::TimerTick;
use deskbell::startup::{Application, Resources};
use deskbell::store::{NewPerson, Store};
use sqlx::Executor;

/// The shipped targets with one unassigned step: the team channel at 15 min.
const POLICY: &str = r#"
business_hours = { start = "08:00:00", end = "17:00:00" }
[targets]
P1 = { internal_response = "30m", client_response = "1h", threshold = "2h" }
P2 = { internal_response = "2h", client_response = "4h", threshold = "8h" }
P3 = { internal_response = "12h", client_response = "24h", threshold = "48h" }
P4 = { internal_response = "24h", client_response = "48h", threshold = "96h" }
P5 = { internal_response = "48h", client_response = "96h", threshold = "192h" }
[[unassigned]]
priorities = ["P1"]
after = "15m"
notify = ["team_channel"]
"#;

/// `open` new P1 tickets, the first `teams` of them each in a team of its
/// own (the rest in team 1), with their 15-minute step due at `due(i)`.
async fn load(url: &str, store: &Store, open: u64, teams: u64, due: impl Fn(u64) -> i64) {
    let customer = NewPerson {
        name: "Cara".into(),
        email: Email::parse("cara@example.edu").unwrap(),
        slack_user: None,
        roles: vec![Role::Customer],
    };
    store.upsert_person(&customer).await.unwrap();
    store.upsert_team("Team 0", &SlackChannelId::parse("C00000000").unwrap(), "umich").await.unwrap();
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(url).await.unwrap();
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {teams})
         INSERT INTO teams (name, slack_channel, calendar) SELECT 'Team ' || i, printf('C%08d', i), 'umich' FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {open})
         INSERT INTO service_tickets (kind, priority, vip, issue_type, subtype, summary, contact_id, team_id, tier,
             status, epoch, status_since, created_at, updated_at, version)
         SELECT 'incident', 'P1', 0, 'Network', 'VPN', 'VPN down', 1, CASE WHEN i <= {teams} THEN i + 1 ELSE 1 END,
             1, 'new', 0, 0, 0, 0, 1 FROM n"
    );
    conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))).await.unwrap();
    let mut values = Vec::with_capacity(open as usize);
    for i in 1..=open {
        values.push(format!("('S-{i}', 'unassigned', 0, {})", due(i)));
    }
    for chunk in values.chunks(10_000) {
        let sql = format!("INSERT INTO timers (ticket, kind, step, due_at) VALUES {}", chunk.join(","));
        conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))).await.unwrap();
    }
}

fn settings(dir: &std::path::Path, name: &str) -> Settings {
    let mut s = Settings::default();
    s.server.bind = "127.0.0.1:0".parse().unwrap();
    s.database.url = format!("sqlite://{}/{name}.db", dir.display());
    s.refresh.calendars_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/config/calendars").into();
    s.templates.dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates").into();
    let policy = dir.join("escalation.toml");
    std::fs::write(&policy, POLICY).unwrap();
    s.service.escalation_policy = policy;
    s.email.drop_dir = dir.join("mail");
    s.inbound.smtp_bind = None;
    s.slack.log_file = dir.join("slack.jsonl");
    s
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

async fn lateness(dir: &std::path::Path, pings: u64, window_secs: u64) {
    let slack = fake_slack::FakeSlack::start().await;
    let mut s = settings(dir, "lateness");
    s.slack.api_url = slack.url.clone();
    s.slack.bot_token = Some(fake_slack::TOKEN.into());
    let res = Resources::open(&s).await.unwrap();
    // The first step falls due 5 s from now, the last a window later.
    let first = Utc::now() + Duration::seconds(5);
    let due = |i: u64| first.timestamp_millis() + ((i - 1) * window_secs * 1_000 / pings) as i64;
    load(&s.database.url, &res.store, pings, pings, due).await;
    let app = Application::build(&s, &res, Arc::new(SystemClock)).await.unwrap();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let deadline = Instant::now() + StdDuration::from_secs(240);
    while (slack.posted().len() as u64) < pings {
        assert!(Instant::now() < deadline, "only {} of {pings} pings arrived", slack.posted().len());
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    let due_of: HashMap<String, DateTime<Utc>> =
        (1..=pings).map(|i| (format!("C{i:08}"), Utc.timestamp_millis_opt(due(i)).unwrap())).collect();
    let mut late: Vec<f64> =
        slack.posted().iter().map(|p| (p.at - due_of[&p.channel]).num_milliseconds() as f64 / 1e3).collect();
    assert_eq!(late.len() as u64, pings, "each ping once");
    late.sort_by(f64::total_cmp);
    println!(
        "escalation: {pings} pings due within {window_secs} s: lateness p50 {:.2} s, p99 {:.2} s, max {:.2} s",
        percentile(&late, 0.5),
        percentile(&late, 0.99),
        percentile(&late, 1.0)
    );
}

async fn tick_cost(dir: &std::path::Path, open: u64, due: u64) {
    let s = settings(dir, &format!("tick-{open}"));
    let res = Resources::open(&s).await.unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 3, 15, 0, 0).unwrap();
    let month = now + Duration::days(30);
    let loading = Instant::now();
    load(&s.database.url, &res.store, open, 0, |i| {
        if i <= due { now.timestamp_millis() } else { month.timestamp_millis() }
    })
    .await;
    let loaded = loading.elapsed();
    let tick = TimerTick::new(res.workflow(Arc::new(SimClock::new(now))), due as i64);
    let start = Instant::now();
    let fired = tick.run_once().await.unwrap();
    let took = start.elapsed();
    assert_eq!(fired as u64, due);
    assert_eq!(res.store.outbox_status_count("pending").await.unwrap() as u64, due, "one ping per due step");
    println!(
        "escalation tick: {due} due of {open:>9} open service tickets: {:>7.1} ms ({:.2} ms per step); load {:.1} s",
        took.as_secs_f64() * 1e3,
        took.as_secs_f64() * 1e3 / due as f64,
        loaded.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let dir = tempfile::tempdir().unwrap();
    let (pings, window, sizes, due): (u64, u64, &[u64], u64) =
        if full { (10_000, 60, &[100_000, 1_000_000], 1_000) } else { (100, 3, &[2_000], 100) };
    lateness(dir.path(), pings, window).await;
    for &open in sizes {
        tick_cost(dir.path(), open, due).await;
    }
}
