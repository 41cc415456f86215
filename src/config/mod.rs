//! Configuration in layers: built-in defaults, then `deskbell.toml` (from
//! `--config` or `DESKBELL_CONFIG`), then environment variables
//! `DESKBELL_<SECTION>__<KEY>` (and `DATABASE_URL`). Read and checked once at
//! start-up; a bad value stops the process with one line naming the file and
//! the key, before anything is served.

mod calendars;
pub mod escalation;
pub mod requests;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;

pub use calendars::Calendars;

use crate::domain::Email;
use crate::domain::refresh::Cadence;
use crate::scheduler::Job;
use strum::IntoEnumIterator;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub slack: SlackSettings,
    pub email: EmailSettings,
    pub outbox: OutboxSettings,
    pub templates: TemplateSettings,
    pub tdx: TdxSettings,
    pub scheduler: SchedulerSettings,
    pub api: ApiSettings,
    pub refresh: RefreshSettings,
    pub service: ServiceSettings,
    pub inbound: InboundSettings,
    pub directory: DirectorySettings,
    pub log: LogSettings,
}

/// The desk's directory file (people, groups, teams, refresh configs);
/// `serve` applies it at start, like `deskbell directory sync`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectorySettings {
    pub file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    /// The address people reach deskbell at, for links it hands out.
    pub public_url: String,
    /// Key of the signed links deskbell hands out (slot picking, team
    /// calendars); without it there are none.
    pub link_secret: Option<SecretString>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".into(),
            link_secret: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    /// How long a claim (a message being sent, a timer being fired, a job
    /// running) outlives the last renewal by its process: the time another
    /// replica waits to take over from one that died.
    pub lease_seconds: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        let lease_seconds = crate::store::DEFAULT_LEASE_SECONDS;
        Self { url: "sqlite://var/deskbell.db".into(), max_connections: 8, lease_seconds }
    }
}

/// Secrets are `SecretString`: their `Debug` prints `[REDACTED]`, so logging
/// the settings never leaks them.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackSettings {
    pub signing_secret: Option<SecretString>,
    pub bot_token: Option<SecretString>,
    /// An app-level token (`xapp-…`, scope `connections:write`): deskbell
    /// then receives Slack over Socket Mode instead of public URLs.
    pub app_token: Option<SecretString>,
    pub api_url: String,
    /// Without a bot token, messages are appended here instead of sent.
    pub log_file: PathBuf,
    /// A Slack status with one of these emoji says its person is away:
    /// their approval requests go to their config's fallback meanwhile.
    pub away_emoji: Vec<String>,
    /// ... or with one of these words in its text (any case).
    pub away_words: Vec<String>,
}

impl SlackSettings {
    pub fn away(&self) -> crate::domain::refresh::AwayStatus {
        crate::domain::refresh::AwayStatus { emoji: self.away_emoji.clone(), words: self.away_words.clone() }
    }
}

impl Default for SlackSettings {
    fn default() -> Self {
        Self {
            signing_secret: None,
            bot_token: None,
            app_token: None,
            api_url: "https://slack.com/api".into(),
            log_file: "var/slack.jsonl".into(),
            away_emoji: vec![":palm_tree:".into(), ":airplane:".into(), ":beach_with_umbrella:".into()],
            away_words: vec!["ooo".into(), "out of office".into(), "vacation".into(), "on leave".into()],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailSettings {
    /// The From mailbox, `Name <address>`.
    pub from: String,
    /// `smtp://host:587?tls=required`, `smtps://user:pass@host`; unset writes
    /// `.eml` files to `drop_dir` instead.
    pub smtp_url: Option<SecretString>,
    pub drop_dir: PathBuf,
    /// Base address replies go to; each ticket's mail carries
    /// `local+<ticket>.<token>@domain` so replies thread back.
    pub reply_to: Option<Email>,
    /// Key of the reply tokens; required with `reply_to`.
    pub reply_secret: Option<SecretString>,
    /// Mail to customers and approvers that falls outside their team
    /// calendar's business hours leaves at this local time of the next
    /// business day.
    pub held_mail_at: chrono::NaiveTime,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            from: "Service Desk <deskbell@localhost>".into(),
            smtp_url: None,
            drop_dir: "var/mail".into(),
            reply_to: None,
            reply_secret: None,
            held_mail_at: chrono::NaiveTime::from_hms_opt(10, 5, 0).expect("a time of day"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxSettings {
    /// Attempts before a message is dead and admins are alerted.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt up to `max_delay_seconds`.
    pub base_delay_seconds: u64,
    pub max_delay_seconds: u64,
    pub batch_size: u32,
    /// Recipients served at once (emails each on its own pooled SMTP
    /// connection); each recipient's messages go one at a time, in order.
    pub email_concurrency: u32,
    /// Pause between polls when nothing is due.
    pub poll_interval_ms: u64,
    /// The least time between two posts to one Slack channel (Slack allows
    /// about one message a second per channel).
    pub slack_gap_ms: u64,
    /// Where dead-letter alerts go: a Slack channel id, else an email.
    pub admin_slack_channel: Option<crate::domain::SlackChannelId>,
    pub admin_email: Option<Email>,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay_seconds: 30,
            max_delay_seconds: 3600,
            batch_size: 100,
            email_concurrency: 8,
            poll_interval_ms: 1000,
            slack_gap_ms: 1000,
            admin_slack_channel: None,
            admin_email: None,
        }
    }
}

/// When the background jobs run: cron expressions with seconds
/// (`sec min hour day month weekday`, day names for weekdays), read in
/// `time_zone`, which defaults to the zone of the calendars.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerSettings {
    pub time_zone: Option<chrono_tz::Tz>,
    /// How often due timers (cadence and escalation steps) are fired.
    pub tick_seconds: u64,
    /// How many tickets' due timers a replica fires at once.
    pub timer_concurrency: u32,
    /// Slots five weeks ahead from the teams' preferences (nightly).
    pub slot_generation: String,
    /// Invite waiting customers to pick a slot (twice a day).
    pub slot_discovery: String,
    /// Complete tickets whose TDX request is closed (daily).
    pub tdx_check: String,
    /// Email approvers their unit's open refreshes (Fridays).
    pub approval_digest: String,
    /// Move approval requests whose delegation began or ended.
    pub approval_routing: String,
    /// Yesterday's service desk KPIs to `[service] kpi_channel`.
    pub kpi_digest: String,
    /// Ask Slack for the ids of staff who have none (users.lookupByEmail).
    pub slack_link: String,
    /// Tell the refresh admins of devices whose term ends soon (nightly).
    pub device_lifecycle: String,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            time_zone: None,
            tick_seconds: 1,
            timer_concurrency: 8,
            slot_generation: "0 30 1 * * *".into(),
            slot_discovery: "0 0 7,13 * * *".into(),
            tdx_check: "0 0 6 * * *".into(),
            approval_digest: "0 0 8 * * Fri".into(),
            approval_routing: "0 0 0 * * *".into(),
            kpi_digest: "0 0 7 * * *".into(),
            slack_link: "0 */10 * * * *".into(),
            device_lifecycle: "0 0 2 * * *".into(),
        }
    }
}

impl SchedulerSettings {
    /// The desk's zone: `time_zone` if set, else the one zone all calendars
    /// share (UTC without calendars). Calendars in several zones need it set.
    pub fn zone(&self, calendars: &Calendars) -> Result<chrono_tz::Tz, ConfigError> {
        if let Some(tz) = self.time_zone {
            return Ok(tz);
        }
        let zones: std::collections::BTreeSet<_> = calendars.iter().map(|c| c.tz.name()).collect();
        match zones.len() {
            0 => Ok(chrono_tz::UTC),
            1 => Ok(calendars.iter().next().expect("one calendar").tz),
            _ => Err(ConfigError(format!(
                "key 'scheduler.time_zone' is not set and the calendars are in several zones ({}): set the zone the jobs run in",
                zones.into_iter().collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// Every job with its parsed schedule, or the key of one that does not parse.
    pub fn schedules(&self) -> Result<Vec<(Job, cron::Schedule)>, String> {
        Job::iter()
            .map(|job| {
                let expr = match job {
                    Job::SlotGeneration => &self.slot_generation,
                    Job::SlotDiscovery => &self.slot_discovery,
                    Job::TdxCheck => &self.tdx_check,
                    Job::ApprovalDigest => &self.approval_digest,
                    Job::ApprovalRouting => &self.approval_routing,
                    Job::KpiDigest => &self.kpi_digest,
                    Job::SlackLink => &self.slack_link,
                    Job::DeviceLifecycle => &self.device_lifecycle,
                };
                expr.parse()
                    .map(|s| (job, s))
                    .map_err(|e| format!("key 'scheduler.{job}': '{expr}' is not a cron expression: {e}"))
            })
            .collect()
    }
}

impl TdxSettings {
    /// How to sign in to TDX: the admin account if given, else the user.
    pub fn login(&self) -> Option<crate::itsm::TdxLogin> {
        use crate::itsm::TdxLogin;
        match (&self.beid, &self.web_services_key, &self.username, &self.password) {
            (Some(beid), Some(key), _, _) => Some(TdxLogin::Admin { beid: beid.clone(), key: key.clone() }),
            (_, _, Some(username), Some(password)) => {
                Some(TdxLogin::User { username: username.clone(), password: password.clone() })
            }
            _ => None,
        }
    }
}

/// Clients of the REST API (`/api/v1/…`), each with a bearer token and the
/// roles it acts with.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    pub tokens: Vec<ApiToken>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiToken {
    /// Who the client is, for audits and logs.
    pub name: String,
    pub token: SecretString,
    pub roles: Vec<crate::domain::Role>,
}

/// TeamDynamix. Without `base_url`, TDX calls wait in the outbox (and
/// tickets in `pending_itsm_existence`) until it is configured.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TdxSettings {
    /// e.g. `https://example.teamdynamix.com/TDWebApi`
    pub base_url: Option<String>,
    /// An admin service account (preferred) ...
    pub beid: Option<SecretString>,
    pub web_services_key: Option<SecretString>,
    /// ... or a user or service account with its own permissions.
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// The ticketing application the refresh requests go to.
    pub app_id: i64,
    /// The asset application replacement systems are looked up in.
    pub asset_app_id: i64,
    pub ticket_type_id: i64,
    pub account_id: i64,
    pub status_id: i64,
    pub depot_group_id: i64,
    pub nit_group_id: i64,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplateSettings {
    pub dir: PathBuf,
}

impl Default for TemplateSettings {
    fn default() -> Self {
        Self { dir: "templates".into() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RefreshSettings {
    pub calendars_dir: PathBuf,
    pub mac_engineering_email: Option<Email>,
    /// The customer's reminders, in business days after the invite (`000_*`: 5 and 10).
    pub reminder_days: Vec<u32>,
    /// Business days after the invite until an unanswered wizard expires to
    /// `pending_location_information` (`000_*`: 14).
    pub expire_days: u32,
}

impl Default for RefreshSettings {
    fn default() -> Self {
        let Cadence { reminder_days, expire_days, .. } = Cadence::default();
        Self { calendars_dir: "config/calendars".into(), mac_engineering_email: None, reminder_days, expire_days }
    }
}

impl Settings {
    /// The customer email cadence: when each message of a refresh goes out.
    /// Its hour is the morning held mail leaves at.
    pub fn cadence(&self) -> Result<Cadence, String> {
        let r = &self.refresh;
        let rising = r.reminder_days.is_sorted_by(|a, b| a < b) && r.reminder_days.first().is_none_or(|&d| d > 0);
        if !rising || r.reminder_days.last().is_some_and(|&l| l >= r.expire_days) {
            return Err(format!(
                "refresh.reminder_days {:?} must rise from 1 and come before refresh.expire_days ({})",
                r.reminder_days, r.expire_days
            ));
        }
        Ok(Cadence {
            send_at: self.email.held_mail_at,
            reminder_days: r.reminder_days.clone(),
            expire_days: r.expire_days,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceSettings {
    /// SLA targets and escalation chains (see config/escalation.toml).
    pub escalation_policy: PathBuf,
    /// The Slack channel the daily KPI digest goes to; none, no digest.
    pub kpi_channel: Option<crate::domain::SlackChannelId>,
    /// Request kinds, their fields and the transaction kinds (see
    /// config/service_requests.toml).
    pub requests_policy: PathBuf,
    /// The asset team's Slack channel, told when a service request is
    /// made and when it closes; none, nobody is told.
    pub asset_channel: Option<crate::domain::SlackChannelId>,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            escalation_policy: "config/escalation.toml".into(),
            kpi_channel: None,
            requests_policy: "config/service_requests.toml".into(),
            asset_channel: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InboundSettings {
    /// Where the SMTP listener for replies listens; unset, no listener.
    pub smtp_bind: Option<SocketAddr>,
    /// The shared secret of `POST /inbound/email`; unset, the endpoint is off.
    pub webhook_secret: Option<SecretString>,
    /// Larger messages are refused by the listener (SMTP 552).
    pub max_message_bytes: usize,
    /// Larger attachments are noted on the ticket as over the limit.
    pub max_attachment_bytes: usize,
    /// Where unmatched replies are announced (the help desk's channel).
    pub helpdesk_channel: Option<crate::domain::SlackChannelId>,
}

impl Default for InboundSettings {
    fn default() -> Self {
        Self {
            smtp_bind: Some(SocketAddr::from(([127, 0, 0, 1], 2525))),
            webhook_secret: None,
            max_message_bytes: 30 * 1024 * 1024,
            max_attachment_bytes: 10 * 1024 * 1024,
            helpdesk_channel: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A tracing filter such as `info` or `deskbell=debug,sqlx=warn`;
    /// `RUST_LOG` wins when set.
    pub filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: LogFormat::Pretty, filter: "info".into() }
    }
}

/// A configuration problem, as one line: `config error: FILE: key K: …`.
#[derive(Debug, thiserror::Error)]
#[error("config error: {0}")]
pub struct ConfigError(pub String);

/// Collapses a multi-line parser message into one line.
/// The 1-based line of byte offset `at` in `text`.
pub(crate) fn line(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// A policy file's TOML as `T`; the error starts with its line (`12: …`).
pub(crate) fn from_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| line(text, s.start)).unwrap_or(1);
        format!("{at}: {}", one_line(e.message()))
    })
}

/// A policy file read and parsed; the error names the file and line.
pub(crate) fn load_policy<T>(path: &std::path::Path, parse: impl Fn(&str) -> Result<T, String>) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}:{e}", path.display()))
}

pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Settings {
    /// Loads the layers. `file` must exist when given; with none, the
    /// defaults and the environment alone are used.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, Env::prefixed("DESKBELL_"), Env::raw().only(&["DATABASE_URL"]))
    }

    fn load_from(file: Option<&Path>, prefixed: Env, database_url: Env) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError(format!("{}: no such config file", path.display())));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let figment =
            figment.merge(prefixed.ignore(&["CONFIG"]).split("__")).merge(database_url.map(|_| "database.url".into()));
        let settings: Settings = figment.extract().map_err(|e| {
            let source = e.metadata.as_ref().map(|m| m.name.to_string()).unwrap_or_else(|| "defaults".into());
            let source = match (&e.metadata, file) {
                (Some(m), Some(path)) if m.source.as_ref().is_some_and(|s| s.file_path().is_some()) => {
                    path.display().to_string()
                }
                _ => source,
            };
            let key = if e.path.is_empty() { String::new() } else { format!("key '{}': ", e.path.join(".")) };
            ConfigError(format!("{source}: {key}{}", one_line(&e.kind.to_string())))
        })?;
        settings.check().map_err(|why| {
            let source = file.map(|p| p.display().to_string()).unwrap_or_else(|| "environment".into());
            ConfigError(format!("{source}: {why}"))
        })?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), String> {
        let url = &self.database.url;
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err("key 'database.url': expected sqlite:PATH or postgres://…".into());
        }
        if self.database.max_connections == 0 {
            return Err("key 'database.max_connections': expected at least 1".into());
        }
        if self.database.lease_seconds < 3 {
            return Err(
                "key 'database.lease_seconds': expected at least 3 (a lease is renewed every third of it)".into()
            );
        }
        if !self.slack.api_url.starts_with("http://") && !self.slack.api_url.starts_with("https://") {
            return Err("key 'slack.api_url': expected an http(s) URL".into());
        }
        if let Err(e) = self.email.from.parse::<lettre::message::Mailbox>() {
            return Err(format!("key 'email.from': expected 'Name <address>': {e}"));
        }
        if self.email.reply_to.is_some() && self.email.reply_secret.is_none() {
            return Err("key 'email.reply_secret': required when email.reply_to is set".into());
        }
        if self.tdx.base_url.is_some() && self.tdx.login().is_none() {
            return Err("keys 'tdx.beid' and 'tdx.web_services_key' (or 'tdx.username' and 'tdx.password'): required with tdx.base_url".into());
        }
        self.scheduler.schedules()?;
        if self.scheduler.tick_seconds == 0 || self.scheduler.timer_concurrency == 0 {
            return Err("keys 'scheduler.tick_seconds', 'timer_concurrency': expected at least 1".into());
        }
        if self.outbox.max_attempts == 0 || self.outbox.batch_size == 0 || self.outbox.email_concurrency == 0 {
            return Err("keys 'outbox.max_attempts', 'batch_size', 'email_concurrency': expected at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn jobs_run_in_the_calendars_zone_unless_told_and_several_zones_need_telling() {
        use crate::calendar::BusinessCalendar;
        let mut cals = Calendars::default();
        let s = SchedulerSettings::default();
        assert_eq!(s.zone(&cals).unwrap(), chrono_tz::UTC, "no calendars: UTC");
        cals.insert(BusinessCalendar::standard("berlin", chrono_tz::Europe::Berlin));
        cals.insert(BusinessCalendar::standard("hamburg", chrono_tz::Europe::Berlin));
        assert_eq!(s.zone(&cals).unwrap(), chrono_tz::Europe::Berlin);
        cals.insert(BusinessCalendar::standard("detroit", chrono_tz::America::Detroit));
        let e = s.zone(&cals).unwrap_err().0;
        assert!(e.contains("scheduler.time_zone") && e.contains("America/Detroit, Europe/Berlin"), "{e}");
        let told = SchedulerSettings { time_zone: Some(chrono_tz::America::Detroit), ..SchedulerSettings::default() };
        assert_eq!(told.zone(&cals).unwrap(), chrono_tz::America::Detroit);
    }

    fn no_env() -> (Env, Env) {
        (Env::prefixed("DESKBELL_TEST_NOTHING_"), Env::raw().only(&["DESKBELL_TEST_NOTHING"]))
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn the_cadence_is_read_from_the_settings_and_checked() {
        let (a, b) = no_env();
        let f = file("[refresh]\nreminder_days = [3, 6]\nexpire_days = 9\n[email]\nheld_mail_at = \"09:30:00\"\n");
        let cadence = Settings::load_from(Some(f.path()), a, b).unwrap().cadence().unwrap();
        assert_eq!((cadence.reminder_days, cadence.expire_days), (vec![3, 6], 9));
        assert_eq!(cadence.send_at, chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap());
        for bad in ["reminder_days = [6, 3]", "reminder_days = [0, 3]", "reminder_days = [5, 14]\nexpire_days = 14"] {
            let (a, b) = no_env();
            let f = file(&format!("[refresh]\n{bad}\n"));
            let err = Settings::load_from(Some(f.path()), a, b).unwrap().cadence().unwrap_err();
            assert!(err.contains("refresh.reminder_days"), "{bad}: {err}");
        }
    }

    #[test]
    fn defaults_serve_sqlite_on_loopback() {
        let (a, b) = no_env();
        let s = Settings::load_from(None, a, b).unwrap();
        assert_eq!(s.server.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database.url, "sqlite://var/deskbell.db");
    }

    #[test]
    fn a_bad_value_names_the_file_and_the_key() {
        let f = file("[database]\nmax_connections = \"many\"\n");
        let (a, b) = no_env();
        let err = Settings::load_from(Some(f.path()), a, b).unwrap_err().to_string();
        assert!(err.contains(&f.path().display().to_string()), "{err}");
        assert!(err.contains("database.max_connections"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let f = file("[server]\nbnd = \"127.0.0.1:1\"\n");
        let (a, b) = no_env();
        let err = Settings::load_from(Some(f.path()), a, b).unwrap_err().to_string();
        assert!(err.contains("bnd"), "{err}");
    }

    #[test]
    fn a_syntax_error_is_one_line_with_the_file() {
        let f = file("[server\nbind = 1\n");
        let (a, b) = no_env();
        let err = Settings::load_from(Some(f.path()), a, b).unwrap_err().to_string();
        assert!(err.contains(&f.path().display().to_string()) && !err.contains('\n'), "{err}");
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let (a, b) = no_env();
        let err = Settings::load_from(Some(Path::new("/nonexistent/deskbell.toml")), a, b).unwrap_err();
        assert!(err.to_string().contains("no such config file"));
    }

    // figment::Jail's closures return figment::Error, which clippy finds large.
    #[allow(clippy::result_large_err)]
    #[test]
    fn environment_overrides_the_file_and_secrets_stay_out_of_debug() {
        let f = file("[server]\nbind = \"127.0.0.1:9000\"\n[slack]\nsigning_secret = \"from-file\"\n");
        figment::Jail::expect_with(|jail| {
            jail.set_env("DESKBELL_SERVER__BIND", "127.0.0.1:9100");
            jail.set_env("DESKBELL_SLACK__SIGNING_SECRET", "s3cr3t-value");
            jail.set_env("DATABASE_URL", "postgres://db.example/deskbell");
            let s = Settings::load(Some(f.path())).unwrap();
            assert_eq!(s.server.bind.to_string(), "127.0.0.1:9100");
            assert_eq!(s.database.url, "postgres://db.example/deskbell");
            let secret = s.slack.signing_secret.as_ref().unwrap();
            assert_eq!(secrecy::ExposeSecret::expose_secret(secret), "s3cr3t-value");
            assert!(!format!("{s:?}").contains("s3cr3t"), "secrets never reach logs");
            Ok(())
        });
    }

    #[allow(clippy::result_large_err)]
    #[test]
    fn a_bad_database_url_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("DESKBELL_DATABASE__URL", "mysql://x");
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(err.contains("database.url"), "{err}");
            Ok(())
        });
    }
}
