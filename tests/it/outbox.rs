//! Delivery end to end, on both databases: outbox rows are sent to a fake
//! Slack that speaks Slack's JSON and to a real SMTP server on loopback, on
//! the simulated clock (backoff and pacing are checked by moving it).

use std::sync::Arc;

use chrono::Duration;
use deskbell::channels::email::{EmailChannel, Mailer};
use deskbell::channels::reply_token;
use deskbell::channels::slack::SlackChannel;
use deskbell::clock::{Clock, SimClock};
use deskbell::config::{Calendars, OutboxSettings};
use deskbell::domain::refresh::RefreshEvent;
use deskbell::domain::{Actor, Channel, Email, Template, TicketRef};
use deskbell::outbox::Dispatcher;
use deskbell::store::{NewMessage, Store};
use deskbell::templates::{Templates, sample_context};
use secrecy::SecretString;
use tokio::sync::watch;

use crate::both_databases;
use crate::support::fake_slack::{Failure, FakeSlack, Storm, TOKEN};
use crate::support::smtp::SmtpSink;
use crate::support::{calendar, fixture, local, new_refresh};

both_databases!(
    a_ticket_change_reaches_slack_and_smtp_with_real_mime,
    transient_failures_back_off_then_die_with_one_admin_alert,
    permanent_failures_die_at_once_and_smtp_4xx_retries,
    a_channel_the_app_is_not_in_tells_the_admins_what_to_do,
    retry_after_defers_that_channel_only_without_using_an_attempt,
    one_message_per_second_per_channel,
    a_dispatcher_killed_mid_send_loses_nothing_and_sends_nothing_twice,
    a_stopping_dispatcher_gives_back_the_rest_of_its_batch,
    each_recipient_gets_its_messages_in_order_across_replicas,
    replicas_share_a_channels_pace,
    a_living_holder_keeps_its_claims_and_a_dead_ones_lapse,
    a_storm_of_429s_and_500s_delivers_everything_once_in_order,
);

struct Rig {
    store: Store,
    clock: Arc<SimClock>,
    slack: FakeSlack,
    smtp: SmtpSink,
    settings: OutboxSettings,
    stop: (watch::Sender<bool>, watch::Receiver<bool>),
}

fn templates() -> Arc<Templates> {
    let mut cals = Calendars::default();
    cals.insert(calendar());
    Templates::load(concat!(env!("CARGO_MANIFEST_DIR"), "/templates").as_ref(), Arc::new(cals)).into()
}

impl Rig {
    async fn new(store: &Store) -> Self {
        let settings = OutboxSettings {
            max_attempts: 3,
            admin_email: Some(Email::parse("admins@example.edu").unwrap()),
            ..OutboxSettings::default()
        };
        Self {
            store: store.clone(),
            clock: Arc::new(SimClock::new(local(11, 2, 9, 0))),
            slack: FakeSlack::start().await,
            smtp: SmtpSink::start(),
            settings,
            stop: watch::channel(false),
        }
    }

    fn dispatcher(&self) -> Dispatcher {
        let email = EmailChannel {
            mailer: Mailer::smtp(&SecretString::from(self.smtp.url()), 4).unwrap(),
            from: "Service Desk <servicedesk@example.edu>".parse().unwrap(),
            reply: Some((Email::parse("support@example.edu").unwrap(), SecretString::from("reply-key"))),
        };
        let slack = SlackChannel::api(&self.slack.url, TOKEN);
        let clock: Arc<dyn Clock> = self.clock.clone();
        Dispatcher::new(self.store.clone(), clock, templates(), email, slack, self.settings.clone())
    }

    async fn run(&self) -> usize {
        self.dispatcher().run_once(&self.stop.1).await.unwrap()
    }

    /// Queues a sample message whose ticket reference is `r` (its text is unique).
    async fn enqueue(&self, key: &str, channel: Channel, to: &str, template: Template, r: &str) {
        let mut ctx = sample_context(template, "umich");
        ctx["ticket"]["ref"] = r.into();
        let payload = ctx.to_string();
        let m = NewMessage {
            dedupe_key: key,
            ticket: TicketRef::parse(r).ok(),
            channel,
            recipient: to,
            content: template.into(),
            payload: &payload,
            hours: None,
        };
        self.store.enqueue(&m, self.clock.now()).await.unwrap();
    }

    async fn status(&self, ticket: &str) -> Vec<String> {
        let rows = self.store.outbox_of(TicketRef::parse(ticket).unwrap()).await.unwrap();
        rows.into_iter().map(|r| r.status).collect()
    }
}

async fn a_ticket_change_reaches_slack_and_smtp_with_real_mime(store: &Store) {
    let rig = Rig::new(store).await;
    let f = fixture(store).await;
    let workflow = crate::support::workflow(store, rig.clock.clone());
    let mut new = new_refresh(&f, "5CG1");
    new.existing.model = Some("Latitude 5400".into());
    let t = workflow.create_refresh(new, &Actor::System).await.unwrap();
    let walked =
        RefreshEvent::WizardCompleted { needs_approval: true, location: None, shipping_address: None, answers: None };
    workflow.refresh(t.id, &Actor::System, walked).await.unwrap();

    assert_eq!(rig.run().await, 2);
    // Ann has a Slack id: a DM, opened once, with Approve and Deny buttons.
    let posted = rig.slack.posted();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].channel, "DANN00001");
    assert!(posted[0].text.contains(&t.reference().to_string()) && posted[0].text.contains("Cara Customer"));
    // Two approvers: the request says who is awaited, then offers the buttons.
    assert!(posted[0].blocks[1]["text"]["text"].as_str().unwrap().contains("Abe"), "{:?}", posted[0].blocks);
    assert_eq!(posted[0].blocks[2]["elements"][0]["action_id"], "approve");
    assert_eq!(rig.slack.calls(), ["conversations.open", "chat.postMessage"]);
    // Abe has none: an email, multipart, threaded by a per-ticket reply token.
    let mail = rig.smtp.messages();
    assert_eq!(mail.len(), 1);
    let m = &mail[0];
    assert!(m.contains("To: abe@example.edu"), "{m}");
    assert!(m.contains("Content-Type: multipart/alternative"), "{m}");
    assert!(m.contains("Content-Type: text/plain") && m.contains("Content-Type: text/html"), "{m}");
    assert!(m.contains("Auto-Submitted: auto-generated"), "{m}");
    let reply =
        reply_token::reply_address(&Email::parse("support@example.edu").unwrap(), &"reply-key".into(), t.reference());
    assert!(m.contains(&format!("Reply-To: {reply}")), "{m}");
    let deliveries = store.deliveries(t.reference()).await.unwrap();
    assert_eq!(deliveries.len(), 2);
    assert!(deliveries.iter().all(|d| d.outcome == "sent" && d.attempt == 1));
    let slack_id = deliveries.iter().find(|d| d.channel == "slack").unwrap().external_id.clone().unwrap();
    assert_eq!(slack_id, "DANN00001:1700000000.000001", "channel and ts, for chat.update later");
    let mail_id = deliveries.iter().find(|d| d.channel == "email").unwrap().external_id.clone().unwrap();
    assert!(m.contains(&format!("Message-ID: {mail_id}")), "the recorded Message-ID is the one sent");
    assert_eq!(rig.run().await, 0, "nothing is sent twice");
    let shown =
        deskbell::ticket_view::show(store, &Calendars::default(), t.reference(), chrono::Utc::now()).await.unwrap();
    assert!(shown.contains("Delivery log") && shown.contains("#1 sent     approval_request"), "{shown}");
}

async fn transient_failures_back_off_then_die_with_one_admin_alert(store: &Store) {
    let rig = Rig::new(store).await;
    rig.enqueue("R-1/escalation_ping", Channel::Slack, "C0DISPATCH", Template::EscalationPing, "R-1").await;
    for _ in 0..3 {
        rig.slack.fail_next(Failure::ServerError);
    }
    let start = rig.clock.now();
    assert_eq!(rig.run().await, 1);
    let log = store.deliveries(TicketRef::parse("R-1").unwrap()).await.unwrap();
    assert_eq!((log[0].outcome.as_str(), log[0].attempt), ("retry", 1));
    assert_eq!(rig.run().await, 0, "not due before its backoff");
    rig.clock.advance(Duration::seconds(23));
    assert_eq!(rig.run().await, 0, "30 s minus at most 20% jitter is at least 24 s");
    rig.clock.advance(Duration::seconds(13));
    assert_eq!(rig.run().await, 1, "due within 30 s plus 20% jitter");
    rig.clock.advance(Duration::seconds(72));
    assert_eq!(rig.run().await, 1, "second retry after about 60 s");
    let log = store.deliveries(TicketRef::parse("R-1").unwrap()).await.unwrap();
    let outcomes: Vec<_> = log.iter().map(|d| d.outcome.as_str()).collect();
    assert_eq!(outcomes, ["retry", "retry", "dead"]);
    assert!(log[2].error.as_deref().unwrap().contains("gave up after 3 attempts"));
    assert!(rig.clock.now() - start >= Duration::seconds(36 + 48));
    // The admins are told once, by email.
    assert_eq!(rig.run().await, 1);
    let mail = rig.smtp.messages();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("To: admins@example.edu") && mail[0].contains("escalation_ping"), "{}", mail[0]);
    assert_eq!(rig.run().await, 0);
    assert_eq!(rig.status("R-1").await, ["dead", "sent"]);
}

async fn permanent_failures_die_at_once_and_smtp_4xx_retries(store: &Store) {
    let rig = Rig::new(store).await;
    rig.slack.break_channel("C0GONE", "channel_not_found");
    rig.enqueue("R-2/team_tdx_alert", Channel::Slack, "C0GONE", Template::TeamTdxAlert, "R-2").await;
    rig.enqueue("R-3/customer_begin", Channel::Email, "reject5xx@example.edu", Template::CustomerBegin, "R-3").await;
    rig.enqueue("R-4/customer_begin", Channel::Email, "reject4xx@example.edu", Template::CustomerBegin, "R-4").await;
    rig.slack.break_channel("C0FLAKY", "service_unavailable");
    rig.enqueue("R-7/team_tdx_alert", Channel::Slack, "C0FLAKY", Template::TeamTdxAlert, "R-7").await;
    assert_eq!(rig.run().await, 4);
    let last =
        |r: &'static str| async move { store.deliveries(TicketRef::parse(r).unwrap()).await.unwrap().pop().unwrap() };
    let slack = last("R-2").await;
    assert_eq!((slack.outcome.as_str(), slack.error.as_deref()), ("dead", Some("channel_not_found")));
    let hard = last("R-3").await;
    assert_eq!(hard.outcome, "dead");
    assert!(hard.error.unwrap().contains("550"));
    assert_eq!(last("R-4").await.outcome, "retry", "SMTP 4xx is transient");
    assert_eq!(last("R-7").await.outcome, "retry", "an unknown Slack error code is worth retrying");
}

async fn a_channel_the_app_is_not_in_tells_the_admins_what_to_do(store: &Store) {
    let rig = Rig::new(store).await;
    rig.slack.break_channel("C0PRIVATE", "not_in_channel");
    rig.enqueue("R-8/team_tdx_alert", Channel::Slack, "C0PRIVATE", Template::TeamTdxAlert, "R-8").await;
    assert_eq!(rig.run().await, 1);
    assert_eq!(rig.status("R-8").await, ["dead", "pending"], "dead, and its admin alert queued");
    assert_eq!(rig.run().await, 1, "the admin alert");
    let mail = rig.smtp.messages();
    let alert = one_line_text(&mail[0]);
    assert!(alert.contains("not_in_channel") && alert.contains("C0PRIVATE"), "{alert}");
    assert!(alert.contains("/invite @deskbell") && alert.contains("chat:write.public"), "{alert}");
}

/// A mail's text with its lines unwrapped.
fn one_line_text(mail: &str) -> String {
    mail.replace("=\r\n", "").replace("\r\n", " ").replace('\n', " ")
}

async fn retry_after_defers_that_channel_only_without_using_an_attempt(store: &Store) {
    let rig = Rig::new(store).await;
    rig.slack.fail_next_in("C0NORTH", Failure::RateLimited { retry_after_secs: 7 });
    rig.enqueue("R-5/team_tdx_alert", Channel::Slack, "C0NORTH", Template::TeamTdxAlert, "R-5").await;
    rig.enqueue("R-6/team_tdx_alert", Channel::Slack, "C0SOUTH", Template::TeamTdxAlert, "R-6").await;
    rig.enqueue("R-10/team_tdx_alert", Channel::Slack, "C0NORTH", Template::TeamTdxAlert, "R-10").await;
    let dispatcher = rig.dispatcher();
    assert_eq!(dispatcher.run_once(&rig.stop.1).await.unwrap(), 3);
    let channels = || rig.slack.posted().into_iter().map(|p| p.channel).collect::<Vec<_>>();
    assert_eq!(channels(), ["C0SOUTH"], "a 429 holds its channel only");
    let log = store.deliveries(TicketRef::parse("R-5").unwrap()).await.unwrap();
    assert_eq!((log[0].outcome.as_str(), log[0].attempt), ("deferred", 0));
    let behind = store.deliveries(TicketRef::parse("R-10").unwrap()).await.unwrap();
    assert!(behind.is_empty(), "a message held without a call writes no log line: {behind:?}");
    rig.clock.advance(Duration::seconds(6));
    assert_eq!(dispatcher.run_once(&rig.stop.1).await.unwrap(), 0);
    rig.clock.advance(Duration::seconds(1));
    assert_eq!(dispatcher.run_once(&rig.stop.1).await.unwrap(), 2, "R-5 goes, R-10 waits for the channel's pace");
    rig.clock.advance(Duration::seconds(1));
    assert_eq!(dispatcher.run_once(&rig.stop.1).await.unwrap(), 1);
    assert_eq!(channels(), ["C0SOUTH", "C0NORTH", "C0NORTH"]);
    let north: Vec<_> = rig.slack.posted().into_iter().filter(|p| p.channel == "C0NORTH").map(|p| p.text).collect();
    assert!(north[0].contains("R-5") && north[1].contains("R-10"), "in order: {north:?}");
    assert_eq!(rig.status("R-5").await, ["sent"]);
}

async fn one_message_per_second_per_channel(store: &Store) {
    let rig = Rig::new(store).await;
    for i in 1..=3 {
        rig.enqueue(
            &format!("R-{i}/team_tdx_alert"),
            Channel::Slack,
            "C0BUSY",
            Template::TeamTdxAlert,
            &format!("R-{i}"),
        )
        .await;
    }
    rig.enqueue("R-9/team_tdx_alert", Channel::Slack, "C0QUIET", Template::TeamTdxAlert, "R-9").await;
    let dispatcher = rig.dispatcher();
    let mut sent_per_second = Vec::new();
    for _ in 0..3 {
        let before = rig.slack.posted().len();
        dispatcher.run_once(&rig.stop.1).await.unwrap();
        sent_per_second.push(rig.slack.posted().len() - before);
        rig.clock.advance(Duration::seconds(1));
    }
    assert_eq!(sent_per_second, [2, 1, 1], "the busy channel gets one a second, the quiet one is not held up");
    let busy: Vec<_> = rig.slack.posted().into_iter().filter(|p| p.channel == "C0BUSY").map(|p| p.text).collect();
    assert!(busy[0].contains("R-1") && busy[1].contains("R-2") && busy[2].contains("R-3"), "in order: {busy:?}");
}

async fn a_dispatcher_killed_mid_send_loses_nothing_and_sends_nothing_twice(store: &Store) {
    let rig = Rig::new(store).await;
    for i in 1..=12 {
        rig.enqueue(
            &format!("R-{i}/team_tdx_alert"),
            Channel::Slack,
            &format!("C0TEAM{i:02}"),
            Template::TeamTdxAlert,
            &format!("R-{i}"),
        )
        .await;
    }
    rig.slack.hold_after(5);
    let dispatcher = Arc::new(rig.dispatcher());
    let stop = rig.stop.1.clone();
    let d = dispatcher.clone();
    let task = tokio::spawn(async move { d.run_once(&stop).await });
    // Wait until the sixth message is in flight and held, then kill.
    for _ in 0..500 {
        if rig.slack.calls().iter().filter(|c| *c == "chat.postMessage").count() >= 6 {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // Killed once the five it sent are recorded: only what is in flight
    // when a process dies can ever be sent twice.
    for _ in 0..500 {
        if store.outbox_status_count("sent").await.unwrap() == 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(rig.slack.posted().len(), 5);
    assert_eq!(store.outbox_status_count("sent").await.unwrap(), 5);
    rig.slack.release();

    // A new dispatcher (a restart) finds the crashed one's rows leased until
    // the lease runs out, then delivers all of them.
    let restarted = rig.dispatcher();
    assert_eq!(restarted.run_once(&rig.stop.1).await.unwrap(), 0, "still leased");
    rig.clock.advance(Duration::seconds(deskbell::store::DEFAULT_LEASE_SECONDS as i64));
    while restarted.run_once(&rig.stop.1).await.unwrap() > 0 {}
    let mut refs: Vec<String> =
        rig.slack.posted().iter().map(|p| p.text.split_whitespace().last().unwrap().to_owned()).collect();
    refs.sort();
    refs.dedup();
    assert_eq!(refs.len(), 12, "every message delivered");
    assert_eq!(rig.slack.posted().len(), 12, "none twice");
    assert_eq!(store.outbox_status_count("sent").await.unwrap(), 12);
}

async fn a_stopping_dispatcher_gives_back_the_rest_of_its_batch(store: &Store) {
    let rig = Rig::new(store).await;
    for i in 1..=4 {
        rig.enqueue(
            &format!("R-{i}/team_tdx_alert"),
            Channel::Slack,
            &format!("C0TEAM{i}"),
            Template::TeamTdxAlert,
            &format!("R-{i}"),
        )
        .await;
    }
    let stop = watch::channel(true);
    assert_eq!(rig.dispatcher().run_once(&stop.1).await.unwrap(), 0);
    assert_eq!(store.outbox_status_count("pending").await.unwrap(), 4, "released, not stuck in 'sending'");
    assert_eq!(rig.run().await, 4, "and sent by the next dispatcher at once");
}

/// The ticket reference in a mail's subject, e.g. "R-103".
fn subject_ref(mail: &str) -> String {
    let subject = mail.lines().find_map(|l| l.strip_prefix("Subject: ")).unwrap();
    subject.rsplit('(').next().unwrap().trim_end_matches(')').to_owned()
}

async fn each_recipient_gets_its_messages_in_order_across_replicas(store: &Store) {
    let mut rig = Rig::new(store).await;
    rig.settings.batch_size = 8;
    rig.settings.slack_gap_ms = 0;
    // Five messages each to eight people and two channels, queued interleaved.
    for seq in 1..=5 {
        for who in 1..=8 {
            let (key, r) = (format!("R-{who}{seq:02}/customer_begin"), format!("R-{who}{seq:02}"));
            rig.enqueue(&key, Channel::Email, &format!("p{who}@example.edu"), Template::CustomerBegin, &r).await;
        }
        for team in 1..=2 {
            let (key, r) = (format!("R-9{team}{seq:02}/team_tdx_alert"), format!("R-9{team}{seq:02}"));
            rig.enqueue(&key, Channel::Slack, &format!("C0TEAM{team}"), Template::TeamTdxAlert, &r).await;
        }
    }
    let replicas = [rig.dispatcher(), rig.dispatcher(), rig.dispatcher()];
    async fn drain(d: &Dispatcher, stop: &watch::Receiver<bool>) {
        while d.run_once(stop).await.unwrap() > 0 {}
    }
    let stop = &rig.stop.1;
    tokio::join!(drain(&replicas[0], stop), drain(&replicas[1], stop), drain(&replicas[2], stop));
    assert_eq!(store.outbox_status_count("sent").await.unwrap(), 50);

    let mail = rig.smtp.messages();
    assert_eq!(mail.len(), 40, "each mail once");
    for who in 1..=8 {
        let to = format!("To: p{who}@example.edu");
        let got: Vec<String> = mail.iter().filter(|m| m.contains(&to)).map(|m| subject_ref(m)).collect();
        let queued: Vec<String> = (1..=5).map(|seq| format!("R-{who}{seq:02}")).collect();
        assert_eq!(got, queued, "p{who} gets their mail in the order it was queued");
    }
    for team in 1..=2 {
        let channel = format!("C0TEAM{team}");
        let got: Vec<String> = rig
            .slack
            .posted()
            .into_iter()
            .filter(|p| p.channel == channel)
            .map(|p| p.text.split_whitespace().last().unwrap().to_owned())
            .collect();
        let queued: Vec<String> = (1..=5).map(|seq| format!("R-9{team}{seq:02}")).collect();
        assert_eq!(got, queued, "{channel} in order");
    }
}

async fn replicas_share_a_channels_pace(store: &Store) {
    let rig = Rig::new(store).await;
    for i in 1..=4 {
        let (key, r) = (format!("R-{i}/team_tdx_alert"), format!("R-{i}"));
        rig.enqueue(&key, Channel::Slack, "C0BUSY", Template::TeamTdxAlert, &r).await;
    }
    let replicas = [rig.dispatcher(), rig.dispatcher(), rig.dispatcher()];
    let mut per_second = Vec::new();
    for _ in 0..4 {
        let before = rig.slack.posted().len();
        let (a, b, c) = tokio::join!(
            replicas[0].run_once(&rig.stop.1),
            replicas[1].run_once(&rig.stop.1),
            replicas[2].run_once(&rig.stop.1)
        );
        for handled in [a, b, c] {
            handled.unwrap();
        }
        per_second.push(rig.slack.posted().len() - before);
        rig.clock.advance(Duration::seconds(1));
    }
    assert_eq!(per_second, [1, 1, 1, 1], "three replicas together keep one message a second");
    let busy: Vec<_> =
        rig.slack.posted().into_iter().map(|p| p.text.split_whitespace().last().unwrap().to_owned()).collect();
    assert_eq!(busy, ["R-1", "R-2", "R-3", "R-4"]);
    let log = store.deliveries(TicketRef::parse("R-4").unwrap()).await.unwrap();
    assert_eq!(log.len(), 1, "waiting for the pace writes no log lines: {log:?}");
}

/// PostgreSQL goes away while three sent messages wait to be recorded: the
/// dispatcher keeps their outcomes and writes them when it is back, so
/// nothing is sent twice.
#[tokio::test]
async fn outcomes_wait_out_a_database_outage_and_nothing_is_sent_twice() {
    let url = crate::support::postgres::fresh_database_url().await;
    let store = Store::connect(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    let rig = Rig::new(&store).await;
    for i in 1..=3 {
        let (key, r) = (format!("R-{i}/team_tdx_alert"), format!("R-{i}"));
        rig.enqueue(&key, Channel::Slack, &format!("C0TEAM{i}"), Template::TeamTdxAlert, &r).await;
    }
    rig.slack.hold_after(0);
    let dispatcher = Arc::new(rig.dispatcher());
    let (d, stop) = (dispatcher.clone(), rig.stop.1.clone());
    let task = tokio::spawn(async move { d.run_once(&stop).await });
    let calls = || rig.slack.calls().iter().filter(|c| *c == "chat.postMessage").count();
    while calls() < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // The outage: no new connections, and the open ones cut.
    let (admin_url, name) = url.rsplit_once('/').unwrap();
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&format!("{admin_url}/postgres")).await.unwrap();
    let outage = |allow: bool| {
        format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS {allow}; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
        )
    };
    let sql = |s: String| sqlx::raw_sql(sqlx::AssertSqlSafe(s));
    sqlx::Executor::execute(&mut admin, sql(outage(false))).await.unwrap();
    rig.slack.answer_held();
    while rig.slack.posted().len() < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // Long enough for the first attempts to record to fail.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!task.is_finished(), "the outcomes wait for the database");
    sqlx::Executor::execute(&mut admin, sql(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))).await.unwrap();
    assert_eq!(task.await.unwrap().unwrap(), 3);
    assert_eq!(store.outbox_status_count("sent").await.unwrap(), 3);

    // Long after any lease: nothing is left to send again.
    rig.clock.advance(Duration::minutes(10));
    assert_eq!(rig.dispatcher().run_once(&rig.stop.1).await.unwrap(), 0);
    assert_eq!(rig.slack.posted().len(), 3, "none twice");
}

async fn a_living_holder_keeps_its_claims_and_a_dead_ones_lapse(store: &Store) {
    let rig = Rig::new(store).await;
    rig.enqueue("R-1/team_tdx_alert", Channel::Slack, "C0TEAM1", Template::TeamTdxAlert, "R-1").await;
    rig.enqueue("R-2/team_tdx_alert", Channel::Slack, "C0TEAM2", Template::TeamTdxAlert, "R-2").await;
    let (alive, dead) = (deskbell::store::Holder::default(), deskbell::store::Holder::default());
    let t0 = rig.clock.now();
    assert_eq!(store.claim_outbox(t0, &alive, 1, false).await.unwrap().len(), 1);
    assert_eq!(store.claim_outbox(t0, &dead, 1, false).await.unwrap().len(), 1);
    // The living holder renews two thirds into its lease; the dead one cannot.
    rig.clock.advance(Duration::seconds(20));
    assert_eq!(store.renew_leases(&alive.id, alive.until(rig.clock.now())).await.unwrap(), 1);
    rig.clock.advance(Duration::seconds(15));
    let taken = store.claim_outbox(rig.clock.now(), &deskbell::store::Holder::default(), 10, false).await.unwrap();
    let refs: Vec<_> = taken.iter().map(|c| c.dedupe_key.as_str()).collect();
    assert_eq!(refs, ["R-2/team_tdx_alert"], "only the dead holder's claim lapsed");
}

async fn a_storm_of_429s_and_500s_delivers_everything_once_in_order(store: &Store) {
    let rig = Rig::new(store).await;
    // One post in five a 429 (Retry-After: 1), one in twenty a 500.
    rig.slack.storm(Storm { rate_limited: 5, server_error: 20, retry_after_secs: 1 });
    for seq in 1..=3 {
        for team in 1..=10 {
            let (key, r) = (format!("R-{team}{seq:02}/team_tdx_alert"), format!("R-{team}{seq:02}"));
            rig.enqueue(&key, Channel::Slack, &format!("C0TEAM{team}"), Template::TeamTdxAlert, &r).await;
        }
    }
    let dispatcher = rig.dispatcher();
    for _ in 0..600 {
        dispatcher.run_once(&rig.stop.1).await.unwrap();
        if store.outbox_status_count("sent").await.unwrap() == 30 {
            break;
        }
        rig.clock.advance(Duration::seconds(1));
    }
    assert_eq!(store.outbox_status_count("sent").await.unwrap(), 30, "nothing lost");
    let posted = rig.slack.posted();
    let mut keys: Vec<_> = posted.iter().filter_map(|p| p.key.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!((posted.len(), keys.len()), (30, 30), "each once");
    for team in 1..=10 {
        let channel = format!("C0TEAM{team}");
        let got: Vec<_> = posted.iter().filter(|p| p.channel == channel).filter_map(|p| p.key.clone()).collect();
        let queued: Vec<_> = (1..=3).map(|seq| format!("R-{team}{seq:02}/team_tdx_alert")).collect();
        assert_eq!(got, queued, "{channel} in order through the storm");
    }
    // One log line per call Slack answered, none for messages held back.
    let calls = rig.slack.calls().iter().filter(|c| *c == "chat.postMessage").count();
    let mut lines = 0;
    for team in 1..=10 {
        for seq in 1..=3 {
            lines += store.deliveries(TicketRef::parse(&format!("R-{team}{seq:02}")).unwrap()).await.unwrap().len();
        }
    }
    assert!(calls > 30, "the storm hit: {calls} calls");
    assert_eq!(lines, calls);
}
