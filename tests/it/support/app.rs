//! The application as the integration tests use it: built in-process on
//! port 0 with a fresh database, answering HTTP and SMTP, with methods for
//! what a test does to it — create tickets, send signed Slack commands,
//! clicks and modal submissions, and deliver the outbox. The dispatcher
//! does not run on its own: `deliver_outbox` runs it until nothing is due,
//! so a test asserts on what was sent at a moment it chooses.

use std::sync::Arc;

use chrono::Utc;
use deskbell::clock::{Clock, SimClock, SystemClock};
use deskbell::config::Settings;
use deskbell::domain::{Actor, RefreshTicketId};
use deskbell::outbox::Dispatcher;
use deskbell::scheduler::Scheduler;
use deskbell::startup::{Application, Resources};
use deskbell::workflow::Workflow;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::fake_slack::FakeSlack;
use super::fake_tdx::FakeTdx;
use super::{Fixture, new_refresh};

/// The Slack app's signing secret the test app checks requests against.
pub const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

pub struct TestApp {
    pub address: String,
    /// The inbound SMTP listener's port.
    pub smtp_port: u16,
    pub res: Resources,
    clock: Arc<dyn Clock>,
    /// Set when the app runs on a simulated clock (`Builder::sim_clock`).
    sim: Option<Arc<SimClock>>,
    database_url: String,
    dispatcher: Arc<Dispatcher>,
    scheduler: Arc<Scheduler>,
    dir: tempfile::TempDir,
}

/// What the test app runs on: a fresh SQLite file unless told otherwise,
/// Slack's log file unless given a (fake) Slack Web API.
#[derive(Default)]
pub struct Builder {
    database_url: Option<String>,
    slack_api_url: Option<String>,
    tdx_url: Option<String>,
    smtp_url: Option<String>,
    socket_mode: bool,
    all_hours: bool,
    sim: Option<chrono::DateTime<Utc>>,
}

impl Builder {
    pub fn database(mut self, url: Option<String>) -> Self {
        self.database_url = url;
        self
    }

    pub fn slack(mut self, fake: &FakeSlack) -> Self {
        self.slack_api_url = Some(fake.url.clone());
        self
    }

    /// Slack reaches the app over Socket Mode (the fake Slack's WebSocket).
    pub fn socket_mode(mut self) -> Self {
        self.socket_mode = true;
        self
    }

    /// Mail goes to this SMTP server instead of the drop directory.
    pub fn smtp(mut self, sink: &super::smtp::SmtpSink) -> Self {
        self.smtp_url = Some(sink.url());
        self
    }

    pub fn tdx(mut self, fake: &FakeTdx) -> Self {
        self.tdx_url = Some(fake.url.clone());
        self
    }

    /// A simulated clock, starting now, that only `advance_clock` moves;
    /// timers and cron jobs then run when the test moves it.
    pub fn sim_clock(self) -> Self {
        self.sim_clock_at(Utc::now())
    }

    /// A simulated clock starting at `at`.
    pub fn sim_clock_at(mut self, at: chrono::DateTime<Utc>) -> Self {
        self.sim = Some(at);
        self
    }

    /// The team calendar (`umich`) open every day, all day: mail held for
    /// business hours leaves at once, whenever the test runs.
    pub fn open_all_hours(mut self) -> Self {
        self.all_hours = true;
        self
    }

    pub async fn start(self) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::default();
        settings.server.bind = "127.0.0.1:0".parse().unwrap();
        settings.database.url =
            self.database_url.unwrap_or_else(|| format!("sqlite://{}/deskbell.db", dir.path().display()));
        if let Some(url) = self.slack_api_url {
            settings.slack.api_url = url;
            settings.slack.bot_token = Some(super::fake_slack::TOKEN.into());
        }
        if self.socket_mode {
            settings.slack.app_token = Some(super::fake_slack::APP_TOKEN.into());
        }
        if let Some(url) = self.smtp_url {
            settings.email.smtp_url = Some(url.into());
        }
        if let Some(url) = self.tdx_url {
            settings.tdx.base_url = Some(url);
            settings.tdx.beid = Some(super::fake_tdx::BEID.into());
            settings.tdx.web_services_key = Some(super::fake_tdx::KEY.into());
        }
        // Each delivery round sends all that is due; Slack's per-channel
        // pace is the outbox tests' to check, on the simulated clock.
        settings.outbox.slack_gap_ms = 0;
        let repo = |path: &str| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        settings.refresh.calendars_dir = repo("config/calendars");
        if self.all_hours {
            let dir = dir.path().join("calendars");
            std::fs::create_dir_all(&dir).unwrap();
            let always = "time_zone = \"America/Detroit\"\nbusiness_day_start = \"00:00\"\nbusiness_day_end = \"23:59\"\nweekend = []\nholidays = []\n";
            std::fs::write(dir.join("umich.toml"), always).unwrap();
            settings.refresh.calendars_dir = dir;
        }
        settings.templates.dir = repo("templates");
        settings.service.escalation_policy = repo("config/escalation.toml");
        settings.service.requests_policy = repo("config/service_requests.toml");
        settings.service.asset_channel = Some(deskbell::domain::SlackChannelId::parse("CASSETS01").unwrap());
        settings.inbound.smtp_bind = Some("127.0.0.1:0".parse().unwrap());
        settings.inbound.webhook_secret = Some("inbound-secret".into());
        settings.email.reply_to = Some(deskbell::domain::Email::parse("support@example.edu").unwrap());
        settings.email.reply_secret = Some("reply-key".into());
        settings.email.drop_dir = dir.path().join("mail");
        settings.server.link_secret = Some("link-key".into());
        settings.server.public_url = "http://deskbell.test".into();
        settings.slack.signing_secret = Some(SIGNING_SECRET.into());
        settings.slack.log_file = dir.path().join("slack.jsonl");
        let token = |name: &str, role| deskbell::config::ApiToken {
            name: name.into(),
            token: format!("{name}-token").into(),
            roles: vec![role],
        };
        settings.api.tokens = vec![
            token("depot", deskbell::domain::Role::RefreshAdmin),
            token("helpdesk", deskbell::domain::Role::HelpDesk),
            token("idm", deskbell::domain::Role::AppAdmin),
        ];
        let res = Resources::open(&settings).await.unwrap();
        let sim = self.sim.map(|at| Arc::new(SimClock::new(at)));
        let clock: Arc<dyn Clock> = match &sim {
            Some(sim) => sim.clone(),
            None => Arc::new(SystemClock),
        };
        let app = Application::build(&settings, &res, clock.clone()).await.unwrap();
        let address = format!("http://127.0.0.1:{}", app.port());
        let smtp_port = app.smtp_port().expect("the test app listens for inbound email");
        let (dispatcher, scheduler) = (app.dispatcher(), app.scheduler());
        tokio::spawn(app.serve_requests_until_stopped(std::future::pending()));
        let database_url = settings.database.url.clone();
        TestApp { address, smtp_port, res, clock, sim, database_url, dispatcher, scheduler, dir }
    }
}

impl TestApp {
    /// On a fresh SQLite database, Slack written to its log file.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The application's workflow, on its clock.
    pub fn workflow(&self) -> Workflow {
        self.res.workflow(self.clock.clone())
    }

    pub fn now(&self) -> chrono::DateTime<Utc> {
        self.clock.now()
    }

    /// Moves the simulated clock on to `at` (see `advance_clock`).
    pub async fn advance_to(&self, at: chrono::DateTime<Utc>) {
        self.advance_clock(at - self.now()).await;
    }

    /// Applies a directory file's text, as `deskbell directory sync` does.
    pub async fn sync_directory(&self, toml: &str) -> anyhow::Result<deskbell::store::SyncReport> {
        let file = self.dir.path().join("directory.toml");
        std::fs::write(&file, toml).unwrap();
        self.res.sync_directory(&file, self.now(), false).await
    }

    /// Moves the simulated clock on by `by`, an hour at a time, firing what
    /// falls due (timers, cron jobs) and delivering what that sends.
    pub async fn advance_clock(&self, by: chrono::Duration) {
        let sim = self.sim.as_ref().expect("advance_clock needs Builder::sim_clock");
        let end = sim.now() + by;
        while sim.now() < end {
            sim.set((sim.now() + chrono::Duration::hours(1)).min(end));
            for _ in 0..10 {
                self.scheduler.run_once().await.unwrap();
                if self.deliver_outbox().await == 0 {
                    break;
                }
            }
        }
    }

    /// Sets the simulated clock to `at` at once (months on, without the
    /// nights between) and runs what is due then: each cron job its latest
    /// due time, as after a long stop.
    pub async fn jump_to(&self, at: chrono::DateTime<Utc>) {
        self.sim.as_ref().expect("jump_to needs Builder::sim_clock").set(at);
        self.scheduler.run_once().await.unwrap();
        self.deliver_outbox().await;
    }

    /// The `deskbell` command on this app's database.
    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_deskbell"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("DESKBELL_CONFIG")
            .env_remove("RUST_LOG")
            .env("DESKBELL_DATABASE__URL", &self.database_url);
        cmd
    }

    /// A new on-prem refresh ticket of the fixture's customer, created now.
    pub async fn create(&self, f: &Fixture, serial: &str) -> RefreshTicketId {
        self.workflow().create_refresh(new_refresh(f, serial), &Actor::System).await.unwrap().id
    }

    /// A refresh ticket walked to `pending_customer_scheduling` (offered slots).
    pub async fn scheduling(&self, f: &Fixture, serial: &str) -> RefreshTicketId {
        let t = self.create(f, serial).await;
        super::offer_slots(&self.workflow(), t, serial).await;
        t
    }

    /// The mail sent so far (the test app writes it as `.eml` files).
    pub fn mail(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.dir.path().join("mail")) else { return Vec::new() };
        let mut files: Vec<_> = dir.flatten().map(|e| e.path()).collect();
        files.sort();
        files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect()
    }

    /// Runs the dispatcher until nothing is due; how many it handled.
    pub async fn deliver_outbox(&self) -> usize {
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        let mut handled = 0;
        for _ in 0..20 {
            match self.dispatcher.run_once(&stopped).await.unwrap() {
                0 => return handled,
                n => handled += n,
            }
        }
        panic!("the outbox was still busy after 20 rounds");
    }

    /// POSTs `body` to a Slack endpoint signed `age_secs` ago with the
    /// app's signing secret, or unsigned.
    pub async fn slack_post(&self, path: &str, body: String, age_secs: i64, sign: bool) -> reqwest::Response {
        // Signed at the app's time: Slack's five minutes are checked on its clock.
        let ts = (self.clock.now().timestamp() - age_secs).to_string();
        let client = deskbell::net::http_client(std::time::Duration::from_secs(10));
        let content_type =
            if path.ends_with("events") { "application/json" } else { "application/x-www-form-urlencoded" };
        let mut req = client.post(format!("{}{path}", self.address)).header("content-type", content_type);
        if sign {
            let sig = deskbell::slack::signature(&SecretString::from(SIGNING_SECRET), &ts, body.as_bytes());
            req = req.header("X-Slack-Request-Timestamp", &ts).header("X-Slack-Signature", sig);
        }
        req.body(body).send().await.unwrap()
    }

    /// A slash command as Slack sends it; the ephemeral answer.
    pub async fn slack_command(&self, user: &str, command: &str, text: &str) -> Value {
        let resp = self.slack_post("/slack/commands", slash_command(user, command, text), 0, true).await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    /// A button click (`block_actions`) whose answers go to the fake
    /// Slack's `response_url` of `trigger`.
    pub async fn click(&self, fake: &FakeSlack, user: &str, trigger: &str, action_id: &str, value: &str) -> u16 {
        self.interact(block_actions(fake, user, trigger, action_id, value)).await.0
    }

    /// A raw message posted to the inbound-mail webhook, as a mail service
    /// forwards it; the answer (202 asserted).
    pub async fn mail_in(&self, raw: impl Into<reqwest::Body>) -> Value {
        let client = deskbell::net::http_client(std::time::Duration::from_secs(60));
        let resp = client
            .post(format!("{}/inbound/email", self.address))
            .bearer_auth("inbound-secret")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202);
        resp.json().await.unwrap()
    }

    /// A button pressed on the App Home: `block_actions` from a view
    /// container, which Slack sends without a `response_url`.
    pub async fn click_home(&self, user: &str, trigger: &str, action_id: &str, value: &str) -> u16 {
        let payload = json!({
            "type": "block_actions",
            "user": { "id": user, "username": "someone", "name": "someone", "team_id": "T0001" },
            "api_app_id": "A123456",
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "container": { "type": "view", "view_id": "V0HOME0001" },
            "trigger_id": trigger,
            "team": { "id": "T0001", "domain": "umich" },
            "view": { "id": "V0HOME0001", "type": "home", "team_id": "T0001", "blocks": [] },
            "actions": [{
                "action_id": action_id, "block_id": "home", "value": value, "type": "button",
                "text": { "type": "plain_text", "text": "Approve" }, "action_ts": "1700000001.000100",
            }],
        });
        self.interact(serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()).await.0
    }

    /// A modal submitted (`view_submission`): the status and the body, in
    /// which Slack reads `response_action`.
    pub async fn submit_view(&self, user: &str, callback: &str, ticket: &str, values: Value) -> (u16, Value) {
        self.interact(view_submission(user, callback, ticket, values)).await
    }

    async fn interact(&self, body: String) -> (u16, Value) {
        let resp = self.slack_post("/slack/interactions", body, 0, true).await;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// The form fields of a slash command, as Slack posts them.
pub fn slash_command(user: &str, command: &str, text: &str) -> String {
    serde_urlencoded::to_string([
        ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
        ("team_id", "T0001"),
        ("team_domain", "umich"),
        ("channel_id", "C2147483705"),
        ("channel_name", "nit-north"),
        ("user_id", user),
        ("user_name", "someone"),
        ("command", command),
        ("text", text),
        ("api_app_id", "A123456"),
        ("response_url", "https://hooks.slack.com/commands/1234/5678"),
        ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
    ])
    .unwrap()
}

fn block_actions(fake: &FakeSlack, user: &str, trigger: &str, action_id: &str, value: &str) -> String {
    let payload = json!({
        "type": "block_actions",
        "user": { "id": user, "username": "someone", "name": "someone", "team_id": "T0001" },
        "api_app_id": "A123456",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "container": { "type": "message", "message_ts": "1700000000.000001", "channel_id": "DANN00001", "is_ephemeral": false },
        "trigger_id": trigger,
        "team": { "id": "T0001", "domain": "umich" },
        "channel": { "id": "DANN00001", "name": "directmessage" },
        "response_url": fake.response_url(trigger),
        "actions": [{
            "action_id": action_id, "block_id": "approval", "value": value, "type": "button",
            "text": { "type": "plain_text", "text": "Approve" }, "action_ts": "1700000001.000100",
        }],
    });
    serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
}

fn view_submission(user: &str, callback: &str, ticket: &str, values: Value) -> String {
    let payload = json!({
        "type": "view_submission",
        "team": { "id": "T0001", "domain": "umich" },
        "user": { "id": user, "username": "someone", "name": "someone", "team_id": "T0001" },
        "api_app_id": "A123456",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "trigger_id": "12466734323.1395872398.ac4d3a9c8f7e3f1d5e5d8b3c1f7b8a1e",
        "view": {
            "id": "V0DESKBELL1", "team_id": "T0001", "type": "modal", "callback_id": callback,
            "private_metadata": ticket, "hash": "156772938.1827394",
            "title": { "type": "plain_text", "text": "deskbell" },
            "state": { "values": values },
        },
        "response_urls": [],
    });
    serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
}
