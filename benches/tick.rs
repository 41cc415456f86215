//! Timer tick cost: 1 000 due cadence steps among 100 000 and among
//! 1 000 000 open refresh tickets (each with a pending step), SQLite file.
//! The tick reads only due rows, so both should cost about the same.
//!
//! `cargo bench --bench tick` runs the full sizes; under `cargo test` it runs
//! small ones as a smoke test.

use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use deskbell::calendar::BusinessCalendar;
use deskbell::clock::SimClock;
use deskbell::config::Calendars;
use deskbell::domain::refresh::Cadence;
use deskbell::domain::{ConfigOptions, Email, Role, SlackChannelId};
use deskbell::scheduler::TimerTick;
use deskbell::store::{NewPerson, Routing, Store};
use deskbell::workflow::Workflow;
use sqlx::Executor;

/// Loads `open` tickets in one statement each for tickets and timers; the
/// first `due` tickets have their invite due now, the rest a month out.
async fn load(dir: &std::path::Path, open: u64, due: u64, now_ms: i64) -> Store {
    let url = format!("sqlite://{}/tick-{open}.db", dir.display());
    let store = Store::connect(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    let person = NewPerson {
        name: "Cara".into(),
        email: Email::parse("cara@example.edu").unwrap(),
        slack_user: None,
        roles: vec![Role::Customer],
    };
    store.upsert_person(&person).await.unwrap();
    store.upsert_team("NIT", &SlackChannelId::parse("C0NIT0001").unwrap(), "umich").await.unwrap();
    store.upsert_config("LSA", &[], ConfigOptions::default()).await.unwrap();
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let tickets = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {open})
         INSERT INTO refresh_tickets (status, style, customer_id, no_customer, bump_down, team_id, config_id,
             existing_serial, existing_platform, created_at, updated_at, version)
         SELECT 'pending_wizard', 'on_prem', 1, 0, 0, 1, 1, 'SN' || i, 'windows', {now_ms}, {now_ms}, 1 FROM n"
    );
    conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(tickets))).await.unwrap();
    let month = now_ms + 30 * 86_400_000;
    let timers = format!(
        "INSERT INTO timers (ticket, kind, step, due_at)
         SELECT 'R-' || id, 'customer_begin', 0, CASE WHEN id <= {due} THEN {now_ms} - 1000 ELSE {month} END
         FROM refresh_tickets"
    );
    conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(timers))).await.unwrap();
    store
}

#[tokio::main]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (sizes, due): (&[u64], u64) = if full { (&[100_000, 1_000_000], 1_000) } else { (&[2_000, 20_000], 100) };
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 3, 15, 5, 0).unwrap();
    for &open in sizes {
        let loading = Instant::now();
        let store = load(dir.path(), open, due, now.timestamp_millis()).await;
        let loaded = loading.elapsed();
        let mut calendars = Calendars::default();
        calendars.insert(BusinessCalendar::standard("umich", chrono_tz::America::Detroit));
        let workflow = Workflow {
            store: store.clone(),
            calendars: Arc::new(calendars),
            cadence: Arc::new(Cadence::default()),
            routing: Routing::default(),
            clock: Arc::new(SimClock::new(now)),
            policy: Arc::new(deskbell::config::escalation::load("config/escalation.toml".as_ref()).unwrap()),
            requests: Arc::new(deskbell::config::requests::load("config/service_requests.toml".as_ref()).unwrap()),
            zone: chrono_tz::America::Detroit,
            away: Arc::default(),
        };
        let tick = TimerTick::new(workflow, due as i64);
        let start = Instant::now();
        let fired = tick.run_once().await.unwrap();
        let took = start.elapsed();
        assert_eq!(fired as u64, due);
        assert_eq!(store.outbox_status_count("pending").await.unwrap() as u64, due, "one invite per due step");
        let idle = Instant::now();
        assert_eq!(tick.run_once().await.unwrap(), 0);
        println!(
            "tick: {due} due of {open:>9} open tickets: {:>7.1} ms ({:.2} ms per step); idle tick {:.2} ms; load {:.1} s",
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e3 / due as f64,
            idle.elapsed().as_secs_f64() * 1e3,
            loaded.as_secs_f64()
        );
    }
}
