//! Prometheus metrics at `GET /metrics`, in the OpenMetrics text format.
//!
//! `prometheus-client` (the Prometheus project's Rust client) rather than
//! hand-written exposition: typed label sets, correct escaping and
//! histogram buckets, and a registry per application instead of a global
//! recorder, so each test app (and each replica) counts only its own.
//!
//! What the database knows (outbox rows by channel and state, inbound mail
//! by status, SLA targets met and breached) is read at scrape time, so
//! every replica reports the same; what happens inside a process (send
//! attempts, delivery latency, timer lag, HTTP requests) is counted where
//! it happens.

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::domain::{Channel, Template};
use crate::store::{Claimed, Outcome, Result, Store};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Attempt {
    channel: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Failure {
    channel: String,
    /// `transient`, `permanent`, `rate_limited` or `paced`.
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Request {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Rows {
    channel: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct State {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Sla {
    outcome: String,
}

fn seconds_buckets() -> Histogram {
    // 10 ms to about 45 minutes.
    Histogram::new(exponential_buckets(0.01, 2.0, 19))
}

pub struct Metrics {
    registry: Registry,
    attempts: Family<Attempt, Counter>,
    failures: Family<Failure, Counter>,
    delivery_seconds: Family<ChannelLabel, Histogram, fn() -> Histogram>,
    timer_lag_seconds: Histogram,
    pings: Counter,
    slack_rate_limited: Counter,
    http_requests: Family<Request, Counter>,
    http_seconds: Family<Route, Histogram, fn() -> Histogram>,
    outbox_rows: Family<Rows, Gauge>,
    inbound_mail: Family<State, Gauge>,
    sla_targets: Family<Sla, Gauge>,
    tdx_window: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Self {
            registry: Registry::with_prefix("deskbell"),
            attempts: Family::default(),
            failures: Family::default(),
            delivery_seconds: Family::new_with_constructor(seconds_buckets),
            timer_lag_seconds: seconds_buckets(),
            pings: Counter::default(),
            slack_rate_limited: Counter::default(),
            http_requests: Family::default(),
            http_seconds: Family::new_with_constructor(seconds_buckets),
            outbox_rows: Family::default(),
            inbound_mail: Family::default(),
            sla_targets: Family::default(),
            tdx_window: Gauge::default(),
        };
        let r = &mut m.registry;
        r.register("send_attempts", "Delivery attempts by channel and outcome", m.attempts.clone());
        r.register("send_failures", "Failed or deferred attempts by channel and reason", m.failures.clone());
        r.register("delivery_seconds", "From a message's due time to its delivery", m.delivery_seconds.clone());
        r.register("timer_lag_seconds", "From a timer's due time to its firing", m.timer_lag_seconds.clone());
        r.register("pings_sent", "Escalation pings delivered", m.pings.clone());
        r.register("slack_rate_limited", "Slack answers of 429 Too Many Requests", m.slack_rate_limited.clone());
        r.register("http_requests", "HTTP requests by method, route and status", m.http_requests.clone());
        r.register("http_request_seconds", "HTTP request latency by route", m.http_seconds.clone());
        r.register("outbox_rows", "Outbox rows by channel and state", m.outbox_rows.clone());
        r.register("inbound_mail", "Inbound messages by status", m.inbound_mail.clone());
        r.register("sla_targets", "Client-response targets met and breached", m.sla_targets.clone());
        r.register(
            "tdx_calls_in_window",
            "TDX calls in the current 60-second window (60 allowed)",
            m.tdx_window.clone(),
        );
        m
    }
}

impl Metrics {
    /// One delivery attempt of `row` and its outcome, `now`.
    pub fn delivered(&self, row: &Claimed, outcome: &Outcome, now: DateTime<Utc>) {
        let channel = <&str>::from(row.channel).to_owned();
        let (name, reason) = match outcome {
            Outcome::Sent { .. } => ("sent", None),
            Outcome::Retry { .. } => ("retry", Some("transient")),
            Outcome::Dead { .. } => ("dead", Some("permanent")),
            Outcome::Deferred { .. } => ("deferred", Some("rate_limited")),
            Outcome::Paced { .. } => ("deferred", Some("paced")),
        };
        self.attempts.get_or_create(&Attempt { channel: channel.clone(), outcome: name.into() }).inc();
        if let Some(reason) = reason {
            self.failures.get_or_create(&Failure { channel: channel.clone(), reason: reason.into() }).inc();
            if reason == "rate_limited" && row.channel.is_slack() {
                self.slack_rate_limited.inc();
            }
        }
        if let Outcome::Sent { .. } = outcome {
            let late = (now - row.not_before).num_milliseconds().max(0) as f64 / 1000.0;
            self.delivery_seconds.get_or_create(&ChannelLabel { channel }).observe(late);
            if row.content.template() == Some(Template::EscalationPing) && row.channel != Channel::SlackUpdate {
                self.pings.inc();
            }
        }
    }

    /// A timer due at `due_at` fired at `now`.
    pub fn timer_fired(&self, due_at: DateTime<Utc>, now: DateTime<Utc>) {
        self.timer_lag_seconds.observe((now - due_at).num_milliseconds().max(0) as f64 / 1000.0);
    }

    /// One HTTP request answered (`route` is the matched pattern, not the path).
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.http_requests.get_or_create(&Request { method: method.into(), route: route.into(), status }).inc();
        self.http_seconds.get_or_create(&Route { route: route.into() }).observe(seconds);
    }

    /// The exposition: the database's figures read now, then everything.
    pub async fn render(&self, store: &Store, tdx_calls: Option<usize>, now: DateTime<Utc>) -> Result<String> {
        self.outbox_rows.clear();
        for (channel, state, n) in store.outbox_counts().await? {
            self.outbox_rows.get_or_create(&Rows { channel, state }).set(n);
        }
        self.inbound_mail.clear();
        for (status, n) in store.inbound_counts().await? {
            self.inbound_mail.get_or_create(&State { status }).set(n);
        }
        let kpis = store.kpis(DateTime::UNIX_EPOCH, now).await?;
        self.sla_targets.get_or_create(&Sla { outcome: "met".into() }).set(kpis.closed_within_sla);
        self.sla_targets.get_or_create(&Sla { outcome: "breached".into() }).set(kpis.breaches);
        self.tdx_window.set(tdx_calls.unwrap_or(0) as i64);
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        Ok(out)
    }
}
