//! Outbox throughput: 10 000 messages through one dispatcher to the fake
//! Slack Web API, then 10 000 to a real SMTP server, both on loopback, with
//! the store on a SQLite file (or `BENCH_DATABASE_URL`). The email figure is
//! given as a ratio to a plain SMTP client (lettre, the same pool size, no
//! database) sending the same mails into the same server in the same run.
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
use futures::StreamExt;
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

/// The reference: the same customer mails rendered up front and sent by a
/// plain SMTP client, `concurrency` at a time, with nothing recorded.
async fn plain_smtp(url: &str, n: usize, concurrency: usize, templates: &Templates) -> f64 {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .unwrap()
        .pool_config(lettre::transport::smtp::PoolConfig::new().max_size(concurrency as u32))
        .build();
    let mail = templates.email(Template::CustomerBegin, &sample_context(Template::CustomerBegin, "umich")).unwrap();
    let messages: Vec<Message> = (0..n)
        .map(|i| {
            Message::builder()
                .from("Service Desk <servicedesk@example.edu>".parse().unwrap())
                .to(format!("customer{i}@example.edu").parse().unwrap())
                .subject(mail.subject.clone())
                .multipart(lettre::message::MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
                .unwrap()
        })
        .collect();
    let start = Instant::now();
    futures::stream::iter(messages)
        .for_each_concurrent(concurrency, |m| {
            let t = &transport;
            async move {
                t.send(m).await.unwrap();
            }
        })
        .await;
    report("plain SMTP client (lettre)", n, start)
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

    let reference = plain_smtp(&sink.url(), n, 16, &templates).await;
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
