//! `GET /metrics` after a scenario: an unassigned P1 pings on the
//! simulated clock, Slack answers one 429, a reply arrives by webhook; the
//! exposition parses (prometheus-parse, Prometheus's text format) and the
//! figures that must have moved did.

use std::collections::HashMap;

use deskbell::domain::Actor;
use deskbell::domain::service::Priority;
use prometheus_parse::{Scrape, Value};

use crate::support::app::TestApp;
use crate::support::fake_slack::{Failure, FakeSlack};
use crate::support::{fixture, incident};

async fn scrape(app: &TestApp) -> (String, Scrape) {
    let client = deskbell::net::http_client(std::time::Duration::from_secs(10));
    let resp = client.get(format!("{}/metrics", app.address)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = resp.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    (text, scrape)
}

/// The value of the sample `name` whose labels include `labels`.
fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = s.samples.iter().find(|x| x.metric == name && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)));
    match found.map(|x| &x.value) {
        Some(Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v)) => *v,
        Some(Value::Histogram(buckets)) => buckets.last().map_or(0.0, |b| b.count),
        Some(other) => panic!("{name}: unexpected {other:?}"),
        None => 0.0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_figures_of_a_scenario_move_where_they_should() {
    let slack = FakeSlack::start().await;
    let app = TestApp::builder().slack(&slack).sim_clock().open_all_hours().start().await;
    let (_, before) = scrape(&app).await;
    assert_eq!(value(&before, "deskbell_pings_sent_total", &[]), 0.0);

    let f = fixture(&app.res.store).await;
    app.workflow().create_service(incident(&f, Priority::P1), &Actor::System).await.unwrap();
    slack.fail_next(Failure::RateLimited { retry_after_secs: 1 });
    app.advance_clock(chrono::Duration::minutes(16)).await;
    app.advance_clock(chrono::Duration::seconds(5)).await;
    let raw = "From: Cara Customer <cara@example.edu>\r\nTo: support@example.edu\r\nSubject: hello\r\nMessage-ID: <m1@example.edu>\r\n\r\nMy VPN is still down.\r\n";
    app.mail_in(raw).await;

    let (text, after) = scrape(&app).await;
    let slack_sent = value(&after, "deskbell_send_attempts_total", &[("channel", "slack"), ("outcome", "sent")]);
    assert!(slack_sent >= 1.0, "{text}");
    assert!(value(&after, "deskbell_pings_sent_total", &[]) >= 1.0, "the 15-minute ping: {text}");
    assert_eq!(value(&after, "deskbell_slack_rate_limited_total", &[]), 1.0, "{text}");
    let failures = [("channel", "slack"), ("reason", "rate_limited")];
    assert_eq!(value(&after, "deskbell_send_failures_total", &failures), 1.0);
    assert!(value(&after, "deskbell_outbox_rows", &[("channel", "slack"), ("state", "sent")]) >= 1.0);
    assert!(value(&after, "deskbell_timer_lag_seconds_count", &[]) >= 1.0, "timers fired: {text}");
    assert!(value(&after, "deskbell_delivery_seconds_count", &[("channel", "slack")]) >= 1.0, "{text}");
    let inbound: f64 = after
        .samples
        .iter()
        .filter(|s| s.metric == "deskbell_inbound_mail")
        .map(|s| if let Value::Gauge(v) = s.value { v } else { 0.0 })
        .sum();
    assert_eq!(inbound, 1.0, "{text}");
    let http = [("route", "/inbound/email"), ("method", "POST"), ("status", "202")];
    assert_eq!(value(&after, "deskbell_http_requests_total", &http), 1.0, "{text}");
    let routes: HashMap<_, _> = after
        .samples
        .iter()
        .filter(|s| s.metric == "deskbell_http_requests_total")
        .map(|s| (s.labels.get("route").unwrap_or_default().to_owned(), ()))
        .collect();
    assert!(!routes.keys().any(|r| r.contains("S-1")), "routes are patterns, not paths: {routes:?}");
    assert_eq!(value(&after, "deskbell_sla_targets", &[("outcome", "breached")]), 0.0);
}
