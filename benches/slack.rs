//! `/ticket` latency: signed slash commands to `POST /slack/commands` on
//! loopback, at a fixed rate (an open loop: a slow answer does not delay
//! the next request), with 100 000 refresh tickets and their customers in
//! a SQLite file. Lookups rotate through a reference (`R-n`), a serial and
//! a customer's email and a customer's name (the only lookup that scans:
//! the people, for a part of a name). Reports p50, p99 and max of the round trip, which on
//! loopback is the server's time plus well under a millisecond.
//!
//! `cargo bench --bench slack` runs the full size; under `cargo test` it
//! runs 2 000 tickets and 50 lookups as a smoke test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deskbell::clock::SystemClock;
use deskbell::config::Settings;
use deskbell::domain::{Email, Role, SlackChannelId, SlackUserId};
use deskbell::startup::{Application, Resources};
use deskbell::store::{NewPerson, Store};
use secrecy::SecretString;
use sqlx::Executor;

const SECRET: &str = "bench-signing-secret";

/// A staff member, then `n` customers each with one on-prem ticket.
async fn load(store: &Store, url: &str, n: u64) {
    let staff = NewPerson {
        name: "Eve Engineer".into(),
        email: Email::parse("eve@example.edu").unwrap(),
        slack_user: Some(SlackUserId::parse("UEVE00001").unwrap()),
        roles: vec![Role::Engineer],
    };
    store.upsert_person(&staff).await.unwrap();
    store.upsert_team("NIT North", &SlackChannelId::parse("CNORTH001").unwrap(), "umich").await.unwrap();
    store.upsert_config("LSA", &[], deskbell::domain::ConfigOptions::default()).await.unwrap();
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(url).await.unwrap();
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
         INSERT INTO people (name, email, roles) SELECT 'Customer ' || i, 'c' || i || '@example.edu', 'customer' FROM n;
         INSERT INTO refresh_tickets (status, style, customer_id, no_customer, bump_down, team_id, config_id,
             existing_serial, existing_platform, created_at, updated_at, version)
         SELECT 'pending_wizard', 'on_prem', id, 0, 0, 1, 1, 'SN' || id, 'windows', 0, 0, 1
         FROM people WHERE roles = 'customer'"
    );
    conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))).await.unwrap();
}

fn command(text: &str) -> String {
    serde_urlencoded::to_string([
        ("team_id", "T0001"),
        ("channel_id", "C2147483705"),
        ("user_id", "UEVE00001"),
        ("command", "/ticket"),
        ("text", text),
        ("response_url", "https://hooks.slack.com/commands/1234/5678"),
        ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
    ])
    .unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (tickets, lookups, rate) = if full { (100_000, 2_000, 50) } else { (2_000, 50, 200) };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/slack-bench.db", dir.path().display());
    let mut settings = Settings::default();
    settings.server.bind = "127.0.0.1:0".parse().unwrap();
    settings.database.url = url.clone();
    settings.refresh.calendars_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/config/calendars").into();
    settings.templates.dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates").into();
    settings.slack.signing_secret = Some(SECRET.into());
    settings.slack.log_file = dir.path().join("slack.jsonl");
    settings.email.drop_dir = dir.path().join("mail");
    settings.inbound.smtp_bind = None;
    let res = Resources::open(&settings).await.unwrap();
    let loading = Instant::now();
    load(&res.store, &url, tickets).await;
    let loaded = loading.elapsed();
    let app = Application::build(&settings, &res, Arc::new(SystemClock)).await.unwrap();
    let address = format!("http://127.0.0.1:{}/slack/commands", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));

    let client = deskbell::net::http_client(Duration::from_secs(10));
    let secret = SecretString::from(SECRET);
    let mut pace = tokio::time::interval(Duration::from_secs(1) / rate);
    let mut sent = Vec::with_capacity(lookups);
    for i in 0..lookups {
        pace.tick().await;
        let n = (i as u64 * 7_919) % tickets + 1;
        let text = match i % 4 {
            0 => format!("R-{n}"),
            1 => format!("SN{}", n + 1),
            2 => format!("c{n}@example.edu"),
            _ => format!("Customer {n}"),
        };
        let body = command(&text);
        let ts = chrono::Utc::now().timestamp().to_string();
        let sig = deskbell::slack::signature(&secret, &ts, body.as_bytes());
        let req = client
            .post(&address)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("X-Slack-Request-Timestamp", ts)
            .header("X-Slack-Signature", sig)
            .body(body);
        sent.push(tokio::spawn(async move {
            let start = Instant::now();
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let body = resp.text().await.unwrap();
            assert_eq!(status, 200, "{text}: {body}");
            let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
            let elapsed = start.elapsed();
            let first = answer["text"].as_str().unwrap_or_default();
            assert!(first.starts_with("R-") || first.contains("tickets match"), "{text}: {answer}");
            (i % 4, elapsed)
        }));
    }
    let mut took = Vec::with_capacity(lookups);
    let mut kinds = vec![Vec::new(); 4];
    for s in sent {
        let (kind, t) = s.await.unwrap();
        took.push(t);
        kinds[kind].push(t);
    }
    took.sort();
    println!(
        "slack /ticket: {lookups} lookups at {rate}/s among {tickets} tickets: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (load {:.1} s)",
        percentile(&took, 0.50),
        percentile(&took, 0.99),
        percentile(&took, 1.0),
        loaded.as_secs_f64()
    );
    for (name, mut k) in ["reference", "serial", "email", "name"].iter().zip(kinds) {
        k.sort();
        println!("  by {name:<9}: p50 {:>5.1} ms, p99 {:>5.1} ms", percentile(&k, 0.5), percentile(&k, 0.99));
    }
}
