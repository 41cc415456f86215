//! Delivery under faults, as a desk that outgrew one machine runs it:
//! `deskbell serve` replicas on one PostgreSQL, a fake Slack (which can
//! answer 429s and 500s) and a real SMTP sink on loopback, P1 incidents
//! created through the REST API with the P1 steps shortened to seconds, and
//! one fault per scenario: none, SIGKILL or SIGTERM of a replica,
//! PostgreSQL stopped (`pg_ctl stop -m fast`) and started again, a Slack
//! 429/500 storm. It waits until all is delivered and prints, per scenario,
//! what was expected, delivered, duplicated (the same outbox row received
//! twice: Slack metadata key, email Message-ID) and missed, arrival
//! lateness per channel (a ping's due time is its step's; any other
//! message's, the commit that queued it) and the most posts one Slack
//! channel received within one second. It fails when a scenario breaks the
//! promises of the README ("Delivery under faults").
//!
//! `scripts/chaos` runs the full size (1 000 incidents, steps at 15/20/30 s,
//! every scenario); under `cargo test` it runs a small one (60 incidents,
//! steps at 4/6/9 s, 6 s leases, the SIGKILL and PostgreSQL restart
//! scenarios). Loopback only, bounded in time; it stops only what it started.

#[allow(dead_code)]
#[path = "../tests/it/support/fake_slack.rs"]
mod fake_slack;
#[allow(dead_code)]
#[path = "../tests/it/support/postgres.rs"]
mod postgres;
#[allow(dead_code)]
#[path = "../tests/it/support/smtp.rs"]
mod smtp;

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use deskbell::channels::email::{EmailChannel, Mailer};
use futures::{StreamExt, stream};
use serde_json::json;
use sqlx::Row;

use fake_slack::{FakeSlack, Storm};
use smtp::SmtpSink;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Sigkill,
    Sigterm,
    PostgresRestart,
    SlackStorm,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Sigkill => "sigkill",
            Self::Sigterm => "sigterm",
            Self::PostgresRestart => "postgres-restart",
            Self::SlackStorm => "slack-storm",
        }
    }
}

const ALL: [Fault; 5] = [Fault::None, Fault::Sigterm, Fault::Sigkill, Fault::PostgresRestart, Fault::SlackStorm];

#[derive(Debug, Clone, Copy)]
struct Size {
    tickets: usize,
    replicas: usize,
    /// The P1 unassigned steps, in seconds after the incident is opened.
    steps: [u64; 3],
    lease_seconds: u64,
    postgres_down: Duration,
}

/// Messages are batched by this many per claim (the README's in-flight bound).
const BATCH: usize = 100;
const FROM: &str = "Service Desk <desk@chaos.test>";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench");
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let mut size = if full {
        Size {
            tickets: 1000,
            replicas: 3,
            steps: [15, 20, 30],
            lease_seconds: 30,
            postgres_down: Duration::from_secs(10),
        }
    } else {
        Size { tickets: 60, replicas: 3, steps: [4, 6, 9], lease_seconds: 6, postgres_down: Duration::from_secs(3) }
    };
    if let Some(n) = value("--tickets") {
        size.tickets = n.parse().expect("--tickets N");
    }
    let faults: Vec<Fault> = match value("--scenario") {
        Some(name) => vec![
            *ALL.iter()
                .find(|f| f.name() == name)
                .expect("--scenario: none, sigkill, sigterm, postgres-restart, slack-storm"),
        ],
        None if full => ALL.to_vec(),
        None => vec![Fault::Sigkill, Fault::PostgresRestart],
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!(
        "chaos: {} P1 incidents, {} replicas, steps {:?} s, {} s leases",
        size.tickets, size.replicas, size.steps, size.lease_seconds
    );
    let mut failed = Vec::new();
    for fault in faults {
        let report = runtime.block_on(scenario(size, fault));
        report.print();
        if let Err(why) = report.check(size) {
            failed.push(format!("{}: {why}", fault.name()));
        }
    }
    assert!(failed.is_empty(), "chaos scenarios failed:\n{}", failed.join("\n"));
}

/// One replica: its process and HTTP port.
struct Replica {
    child: Child,
    port: u16,
}

async fn scenario(size: Size, fault: Fault) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let db = postgres::fresh_database_url().await;
    let slack = FakeSlack::start().await;
    if fault == Fault::SlackStorm {
        slack.storm(Storm { rate_limited: 5, server_error: 20, retry_after_secs: 1 });
    }
    let sink = SmtpSink::start();
    let teams = size.tickets.div_ceil(10);
    write_desk(dir.path(), size, teams);
    let mut replicas: Vec<Replica> =
        (0..size.replicas).map(|i| start_replica(dir.path(), i, &db, &slack.url, &sink.url(), size)).collect();
    let http = deskbell::net::http_client(Duration::from_secs(30));
    for (i, r) in replicas.iter().enumerate() {
        wait_healthy(&http, r.port, &dir.path().join(format!("replica{i}.log"))).await;
    }

    // The incidents, through the API of every replica in turn.
    let opened = Instant::now();
    let ports: Vec<u16> = replicas.iter().map(|r| r.port).collect();
    stream::iter(0..size.tickets)
        .for_each_concurrent(32, |i| {
            let (http, port) = (http.clone(), ports[i % ports.len()]);
            async move { open_incident(&http, port, i, i % teams).await }
        })
        .await;
    let opening = opened.elapsed();

    // The fault, just after the first pings fell due: the victim holds claims.
    tokio::time::sleep(
        Duration::from_secs(size.steps[0]).saturating_sub(opened.elapsed()) + Duration::from_millis(300),
    )
    .await;
    match fault {
        Fault::None | Fault::SlackStorm => {}
        Fault::Sigkill => signal(&mut replicas[0], libc::SIGKILL),
        Fault::Sigterm => signal(&mut replicas[0], libc::SIGTERM),
        Fault::PostgresRestart => {
            let down = size.postgres_down;
            tokio::task::spawn_blocking(move || postgres::restart(down)).await.unwrap();
        }
    }

    // Until nothing is left to send (bounded). In the storm one call in
    // twenty is a 500, so a post may fail three times in a row and wait out
    // 30 + 60 + 120 s of backoff, its channel's later posts behind it.
    let store = connect(&db).await;
    let backoff = if fault == Fault::SlackStorm { 210 } else { 0 };
    let deadline = opened + Duration::from_secs(size.steps[2] + 3 * size.lease_seconds + 120 + backoff);
    loop {
        let quiet = opened.elapsed() > Duration::from_secs(size.steps[2] + 2) && pending(&store).await == Some(0);
        if quiet || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for r in &mut replicas {
        stop(r);
    }
    let mut report = measure(&store, &slack, &sink, size, fault, opening).await;
    store.close().await;
    report.complaints = complaints(dir.path(), size.replicas);
    report
}

/// What the replicas logged at warn or error, by message, most frequent first.
fn complaints(dir: &Path, replicas: usize) -> Vec<(usize, String)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for i in 0..replicas {
        let log = std::fs::read_to_string(dir.join(format!("replica{i}.log"))).unwrap_or_default();
        for line in log.lines() {
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            let message = entry["fields"]["message"].as_str().unwrap_or("?");
            let level = entry["level"].as_str().unwrap_or("?");
            *counts.entry(format!("{level} {message}")).or_default() += 1;
        }
    }
    let mut sorted: Vec<(usize, String)> = counts.into_iter().map(|(m, n)| (n, m)).collect();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted
}

/// The desk: a dispatcher, a service manager and a director (pinged by
/// email), one team channel per ten incidents, the shipped escalation
/// policy with the P1 unassigned steps at `size.steps` seconds: ten
/// messages an incident (the client's receipt, six staff pings, three team
/// channel pings).
fn write_desk(dir: &Path, size: Size, teams: usize) {
    let mut directory = String::new();
    for (name, email, role) in [
        ("Dee Dispatcher", "dee@chaos.test", "dispatcher"),
        ("Max Manager", "max@chaos.test", "service_manager"),
        ("Dora Director", "dora@chaos.test", "service_director"),
    ] {
        directory += &format!("[[people]]\nname = \"{name}\"\nemail = \"{email}\"\nroles = [\"{role}\"]\n\n");
    }
    for t in 0..teams {
        directory +=
            &format!("[[teams]]\nname = \"Team {t}\"\nslack_channel = \"C0T{t:06}\"\ncalendar = \"umich\"\n\n");
    }
    std::fs::write(dir.join("directory.toml"), directory).unwrap();
    // Open all hours: the clients' receipts (customer mail) are not held to
    // business hours, whenever the run is.
    std::fs::create_dir_all(dir.join("calendars")).unwrap();
    let always = "time_zone = \"America/Detroit\"\nbusiness_day_start = \"00:00\"\nbusiness_day_end = \"23:59\"\nweekend = []\nholidays = []\n";
    std::fs::write(dir.join("calendars/umich.toml"), always).unwrap();
    let shipped = std::fs::read_to_string(repo("config/escalation.toml")).unwrap();
    let mut policy = shipped;
    for (minutes, secs) in ["15m", "20m", "30m"].iter().zip(size.steps) {
        let at = policy.find(&format!("after = \"{minutes}\"")).expect("the shipped P1 steps");
        policy.replace_range(at..at + 13, &format!("after = \"{secs}s\""));
    }
    std::fs::write(dir.join("escalation.toml"), policy).unwrap();
}

fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn start_replica(dir: &Path, i: usize, db: &str, slack: &str, smtp: &str, size: Size) -> Replica {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let d = dir.display();
    let settings = format!(
        "[server]\nbind = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\nlink_secret = \"chaos\"\n\
         [database]\nurl = \"{db}\"\nmax_connections = 16\nlease_seconds = {lease}\n\
         [slack]\napi_url = \"{slack}\"\nbot_token = \"{token}\"\nsigning_secret = \"chaos\"\n\
         [email]\nsmtp_url = \"{smtp}\"\nfrom = \"{FROM}\"\n\
         [outbox]\nbatch_size = {BATCH}\nemail_concurrency = 16\npoll_interval_ms = 200\n\
         [api]\ntokens = [{{ name = \"chaos\", token = \"chaos-token\", roles = [\"dispatcher\"] }}]\n\
         [directory]\nfile = \"{d}/directory.toml\"\n[templates]\ndir = \"{templates}\"\n\
         [refresh]\ncalendars_dir = \"{d}/calendars\"\n[service]\nescalation_policy = \"{d}/escalation.toml\"\n\
         [inbound]\nsmtp_bind = \"127.0.0.1:0\"\n[log]\nformat = \"json\"\nfilter = \"warn\"\n",
        lease = size.lease_seconds,
        token = fake_slack::TOKEN,
        templates = repo("templates"),
    );
    let config = dir.join(format!("replica{i}.toml"));
    std::fs::write(&config, settings).unwrap();
    let log = std::fs::File::create(dir.join(format!("replica{i}.log"))).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deskbell"));
    cmd.arg("--config").arg(&config).arg("serve").stdout(log.try_clone().unwrap()).stderr(log);
    // SAFETY: prctl is async-signal-safe; this runs in the child before exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    Replica { child: cmd.spawn().expect("start deskbell serve"), port }
}

async fn wait_healthy(http: &reqwest::Client, port: u16, log: &Path) {
    for _ in 0..300 {
        if http.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("replica on port {port} did not start:\n{}", std::fs::read_to_string(log).unwrap_or_default());
}

async fn open_incident(http: &reqwest::Client, port: u16, i: usize, team: usize) {
    let body = json!({
        "kind": "incident", "priority": "P1", "issue_type": "Hardware", "subtype": "Laptop",
        "summary": format!("Chaos {i}"), "contact_email": format!("client{i}@chaos.test"),
        "contact_name": format!("Client {i}"), "team": format!("Team {team}"),
    });
    let url = format!("http://127.0.0.1:{port}/api/v1/service-tickets");
    let resp = http.post(url).bearer_auth("chaos-token").json(&body).send().await.expect("the API answers");
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap_or_default());
}

/// Sends `sig` to a replica this harness started, by its PID, and reaps it.
fn signal(r: &mut Replica, sig: i32) {
    // SAFETY: kill has no memory preconditions; the PID is our own child's.
    unsafe { libc::kill(r.child.id() as i32, sig) };
    let _ = r.child.wait();
}

/// SIGTERM, then SIGKILL if it has not stopped within 30 s.
fn stop(r: &mut Replica) {
    if r.child.try_wait().ok().flatten().is_some() {
        return;
    }
    // SAFETY: as in `signal`.
    unsafe { libc::kill(r.child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if r.child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(r, libc::SIGKILL);
}

async fn connect(db: &str) -> sqlx::PgPool {
    for _ in 0..100 {
        if let Ok(pool) = sqlx::PgPool::connect(db).await {
            return pool;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("cannot connect to {db}");
}

/// Messages still to send, or `None` while the database is away.
async fn pending(store: &sqlx::PgPool) -> Option<i64> {
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE status IN ('pending', 'sending') AND channel <> 'tdx'")
            .fetch_one(store)
            .await
            .ok()?;
    row.try_get("n").ok()
}

struct Report {
    fault: Fault,
    opening: Duration,
    /// Per channel (email, slack): expected, delivered, duplicates, missed, lateness (s).
    channels: Vec<(String, Counts)>,
    burst: usize,
    /// The replicas' warnings and errors: (count, level and message).
    complaints: Vec<(usize, String)>,
}

#[derive(Default)]
struct Counts {
    expected: usize,
    delivered: usize,
    duplicates: usize,
    missed: usize,
    late: Vec<f64>,
    /// How long after its due time each message was queued (s): a ping's
    /// timer firing late, as opposed to its delivery.
    queued: Vec<f64>,
}

async fn measure(
    store: &sqlx::PgPool,
    slack: &FakeSlack,
    sink: &SmtpSink,
    size: Size,
    fault: Fault,
    opening: Duration,
) -> Report {
    let opened: HashMap<String, i64> = sqlx::query("SELECT id, created_at FROM service_tickets")
        .fetch_all(store)
        .await
        .unwrap()
        .iter()
        .map(|r| (format!("S-{}", r.get::<i64, _>("id")), r.get::<i64, _>("created_at")))
        .collect();
    let rows = sqlx::query("SELECT dedupe_key, channel, created_at FROM outbox WHERE channel IN ('email', 'slack')")
        .fetch_all(store)
        .await
        .unwrap();
    // When each message was due: a P1 step's time, else when it was queued.
    let due = |key: &str, created: i64| -> i64 {
        let parts: Vec<&str> = key.split('/').collect();
        match parts.as_slice() {
            [ticket, "unassigned", "0", step, ..] => match (opened.get(*ticket), step.parse::<usize>()) {
                (Some(at), Ok(step)) if step < 3 => at + size.steps[step] as i64 * 1000,
                _ => created,
            },
            _ => created,
        }
    };
    let email = EmailChannel { mailer: Mailer::Files("/nonexistent".into()), from: FROM.parse().unwrap(), reply: None };
    // What was received: identity -> arrival times (ms).
    let mut received: HashMap<(String, String), Vec<i64>> = HashMap::new();
    for (at, mail) in sink.arrivals() {
        let id = mail.lines().find_map(|l| l.strip_prefix("Message-ID: ")).unwrap_or_default().trim().to_owned();
        let at = DateTime::<Utc>::from(at).timestamp_millis();
        received.entry(("email".into(), id)).or_default().push(at);
    }
    let mut per_channel: HashMap<String, Vec<i64>> = HashMap::new();
    for p in slack.posted() {
        received.entry(("slack".into(), p.key.unwrap_or_default())).or_default().push(p.at.timestamp_millis());
        per_channel.entry(p.channel).or_default().push(p.at.timestamp_millis());
    }
    let mut counts: HashMap<String, Counts> = HashMap::new();
    for row in &rows {
        let (key, channel, created): (String, String, i64) =
            (row.get("dedupe_key"), row.get("channel"), row.get("created_at"));
        let id = if channel == "email" { email.message_id(&key) } else { key.clone() };
        let c = counts.entry(channel.clone()).or_default();
        c.expected += 1;
        c.queued.push((created - due(&key, created)) as f64 / 1000.0);
        match received.get(&(channel, id)) {
            Some(times) => {
                c.delivered += 1;
                c.duplicates += times.len() - 1;
                let first = times.iter().min().unwrap();
                c.late.push((first - due(&key, created)) as f64 / 1000.0);
            }
            None => c.missed += 1,
        }
    }
    let burst = per_channel
        .into_values()
        .map(|mut times| {
            times.sort();
            let (mut best, mut from) = (0, 0);
            for to in 0..times.len() {
                while times[to] - times[from] >= 1000 {
                    from += 1;
                }
                best = best.max(to - from + 1);
            }
            best
        })
        .max()
        .unwrap_or(0);
    let mut channels: Vec<(String, Counts)> = counts.into_iter().collect();
    channels.sort_by(|a, b| a.0.cmp(&b.0));
    Report { fault, opening, channels, burst, complaints: Vec::new() }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

impl Report {
    fn print(&self) {
        println!("\nscenario {} (incidents opened in {:.1} s)", self.fault.name(), self.opening.as_secs_f64());
        println!("  channel  expected delivered duplicates missed  late p50    p99    max  queued p99 (s)");
        for (name, c) in &self.channels {
            let (mut late, mut queued) = (c.late.clone(), c.queued.clone());
            late.sort_by(f64::total_cmp);
            queued.sort_by(f64::total_cmp);
            println!(
                "  {name:<8} {:>8} {:>9} {:>10} {:>6} {:>9.2} {:>6.2} {:>6.2} {:>11.2}",
                c.expected,
                c.delivered,
                c.duplicates,
                c.missed,
                percentile(&late, 0.5),
                percentile(&late, 0.99),
                late.last().copied().unwrap_or(0.0),
                percentile(&queued, 0.99)
            );
        }
        println!("  most posts one Slack channel received within one second: {}", self.burst);
        for (n, message) in self.complaints.iter().take(5) {
            println!("  logged {n}x: {message}");
        }
    }

    /// The README's promises for this fault.
    fn check(&self, size: Size) -> Result<(), String> {
        let total = |f: fn(&Counts) -> usize| self.channels.iter().map(|(_, c)| f(c)).sum::<usize>();
        let (missed, duplicates) = (total(|c| c.missed), total(|c| c.duplicates));
        if total(|c| c.expected) < size.tickets * 10 {
            return Err(format!("only {} messages were queued", total(|c| c.expected)));
        }
        if missed > 0 {
            return Err(format!("{missed} missed"));
        }
        let allowed = if self.fault == Fault::Sigkill { BATCH } else { 0 };
        if duplicates > allowed {
            return Err(format!("{duplicates} duplicates (at most {allowed})"));
        }
        let worst = self.channels.iter().flat_map(|(_, c)| c.late.iter().copied()).fold(0.0, f64::max);
        if self.fault == Fault::Sigkill && worst > 60.0 {
            return Err(format!("a message arrived {worst:.1} s after its due time (at most 60 s)"));
        }
        if self.burst > 2 {
            return Err(format!("a Slack channel received {} posts within one second", self.burst));
        }
        Ok(())
    }
}
