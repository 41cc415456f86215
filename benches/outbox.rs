//! Outbox throughput: 10 000 messages through one dispatcher to the fake
//! Slack Web API, then 10 000 to a real SMTP server, both on loopback, with
//! the store on a SQLite file (or `BENCH_DATABASE_URL`).
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

async fn drain(dispatcher: &Dispatcher, n: usize, what: &str) {
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let start = Instant::now();
    let mut sent = 0;
    while sent < n {
        let done = dispatcher.run_once(&stopped).await.unwrap();
        assert!(done > 0, "the outbox ran dry before {n} messages");
        sent += done;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{what:<28} {n:>6} messages in {secs:>6.2} s = {:>7.0} messages/s", n as f64 / secs);
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

    let mail_store = store(&dir.path().join("mail")).await;
    fill(&mail_store, n, Channel::Email, Template::CustomerBegin, |i| format!("customer{i}@example.edu")).await;
    let email = EmailChannel {
        mailer: Mailer::smtp(&SecretString::from(sink.url()), 16).unwrap(),
        from: "Service Desk <servicedesk@example.edu>".parse().unwrap(),
        reply: None,
    };
    let slack = SlackChannel::api(&slack_fake.url, fake_slack::TOKEN);
    let dispatcher = Dispatcher::new(mail_store, clock, templates, email, slack, settings);
    drain(&dispatcher, n, "email over SMTP").await;
    assert_eq!(sink.messages().len(), n);
}
