//! Outbox throughput: 10 000 messages through one dispatcher to the fake
//! Slack Web API, then 10 000 to a real SMTP server, both on loopback, with
//! the store on a SQLite file (or `BENCH_DATABASE_URL`). The email figure is
//! given as a ratio to a plain SMTP client (Python's smtplib on as many
//! connections, no database) sending the same mail into the same server in
//! the same run.
//!
//! `cargo bench --bench outbox` runs the full size; under `cargo test` it
//! runs 50 messages of each, as a smoke test of the benchmark itself.

// Shared with the integration tests, which use all of it.
#[allow(dead_code)]
#[path = "../tests/it/support/fake_slack.rs"]
mod fake_slack;
#[path = "../tests/it/support/smtp.rs"]
mod smtp;

use std::sync::Arc;
use std::time::Instant;

use deskbell::calendar::BusinessCalendar;
use deskbell::channels::email::{EmailChannel, Mailer};
use deskbell::channels::slack::SlackChannel;
use deskbell::clock::{Clock, SystemClock};
use deskbell::config::{Calendars, OutboxSettings};
use deskbell::domain::{Channel, Template};
use deskbell::outbox::Dispatcher;
use deskbell::store::{NewMessage, Store};
use deskbell::templates::{Templates, sample_context};
use secrecy::SecretString;

async fn store(dir: &std::path::Path) -> Store {
    let url = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.display()));
    let store = Store::connect(&url, 8).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn fill(store: &Store, n: usize, channel: Channel, template: Template, to: impl Fn(usize) -> String) {
    let clock = SystemClock;
    for i in 0..n {
        let mut ctx = sample_context(template, "umich");
        ctx["ticket"]["ref"] = format!("R-{i}").into();
        let (key, to, payload) = (format!("bench/{channel}/{i}"), to(i), ctx.to_string());
        let m = NewMessage {
            dedupe_key: &key,
            ticket: None,
            channel,
            recipient: &to,
            content: template.into(),
            payload: &payload,
            hours: None,
        };
        store.enqueue(&m, clock.now()).await.unwrap();
    }
}

async fn drain(dispatcher: &Dispatcher, n: usize, what: &str) -> f64 {
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let start = Instant::now();
    let mut sent = 0;
    while sent < n {
        let done = dispatcher.run_once(&stopped).await.unwrap();
        assert!(done > 0, "the outbox ran dry before {n} messages");
        sent += done;
    }
    report(what, n, start)
}

fn report(what: &str, n: usize, start: Instant) -> f64 {
    let secs = start.elapsed().as_secs_f64();
    println!("{what:<28} {n:>6} messages in {secs:>6.2} s = {:>7.0} messages/s", n as f64 / secs);
    n as f64 / secs
}

/// The reference: Python's `smtplib`, a plain SMTP client, sending the
/// same customer mail (rendered once) `concurrency` connections at a time,
/// with nothing recorded.
async fn plain_smtp(port: u16, n: usize, concurrency: usize, templates: &Templates) -> f64 {
    let mail = templates.email(Template::CustomerBegin, &sample_context(Template::CustomerBegin, "umich")).unwrap();
    let body = format!(
        "From: Service Desk <servicedesk@example.edu>\r\nSubject: {}\r\nContent-Type: text/html\r\n\r\n{}",
        mail.subject, mail.html
    );
    let script = r#"
import smtplib, sys, threading
port, n, k, body = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.stdin.read()
def run(part):
    s = smtplib.SMTP("127.0.0.1", port)
    for i in part:
        s.sendmail("servicedesk@example.edu", [f"customer{i}@example.edu"], body.encode())
    s.quit()
threads = [threading.Thread(target=run, args=(range(j, n, k),)) for j in range(k)]
[t.start() for t in threads]
[t.join() for t in threads]
"#;
    let start = Instant::now();
    let mut child = std::process::Command::new("python3")
        .args(["-c", script, &port.to_string(), &n.to_string(), &concurrency.to_string()])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), body.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success(), "the reference client failed");
    report("plain SMTP client (smtplib)", n, start)
}

#[tokio::main]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 10_000 } else { 50 };
    let dir = tempfile::tempdir().unwrap();
    let slack_fake = fake_slack::FakeSlack::start().await;
    let sink = smtp::SmtpSink::start();
    let mut cals = Calendars::default();
    cals.insert(BusinessCalendar::standard("umich", chrono_tz::America::Detroit));
    let templates =
        Arc::new(Templates::load(concat!(env!("CARGO_MANIFEST_DIR"), "/templates").as_ref(), Arc::new(cals)));

    let slack_store = store(&dir.path().join("slack")).await;
    fill(&slack_store, n, Channel::Slack, Template::TeamTdxAlert, |i| format!("C{i:08}")).await;
    let email = EmailChannel {
        mailer: Mailer::smtp(&SecretString::from(sink.url()), 16).unwrap(),
        from: "Service Desk <servicedesk@example.edu>".parse().unwrap(),
        reply: None,
    };
    let settings = OutboxSettings { batch_size: 200, email_concurrency: 16, ..OutboxSettings::default() };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let slack = SlackChannel::api(&slack_fake.url, fake_slack::TOKEN);
    let dispatcher = Dispatcher::new(slack_store, clock.clone(), templates.clone(), email, slack, settings.clone());
    drain(&dispatcher, n, "slack chat.postMessage").await;
    assert_eq!(slack_fake.posted().len(), n);

    let reference = plain_smtp(sink.port, n, 16, &templates).await;
    let mail_store = store(&dir.path().join("mail")).await;
    fill(&mail_store, n, Channel::Email, Template::CustomerBegin, |i| format!("customer{i}@example.edu")).await;
    let email = EmailChannel {
        mailer: Mailer::smtp(&SecretString::from(sink.url()), 16).unwrap(),
        from: "Service Desk <servicedesk@example.edu>".parse().unwrap(),
        reply: None,
    };
    let slack = SlackChannel::api(&slack_fake.url, fake_slack::TOKEN);
    let dispatcher = Dispatcher::new(mail_store, clock, templates, email, slack, settings);
    let outbox = drain(&dispatcher, n, "email over SMTP").await;
    assert_eq!(sink.messages().len(), 2 * n);
    println!("email through the outbox / plain SMTP client: {:.2}", outbox / reference);
}
