//! Builds the application from settings: database, policy files, channels,
//! the outbox dispatcher and the HTTP listener. `build` binds the port, so
//! tests ask for port 0 and read the real one.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::channels::email::{EmailChannel, Mailer};
use crate::channels::slack::SlackChannel;
use crate::clock::Clock;
use crate::config::{Calendars, Settings};
use crate::domain::refresh::{AwayStatus, Cadence};
use crate::domain::service::policy::EscalationPolicy;
use crate::domain::service::request::RequestPolicy;
use crate::http::{self, AppState};
use crate::inbound::Inbound;
use crate::itsm::{ItsmSender, TdxClient};
use crate::links::Links;
use crate::mail_hours::MailHours;
use crate::outbox::Dispatcher;
use crate::scheduler::{Scheduler, TimerTick};
use crate::store::{Holder, Routing, Store, SyncReport, keep_alive};
use crate::templates::Templates;
use crate::workflow::Workflow;

/// What every command needs: the migrated store and the policy loaded from
/// files (calendars, templates), all checked.
pub struct Resources {
    pub store: Store,
    pub calendars: Arc<Calendars>,
    pub templates: Arc<Templates>,
    pub escalation: Arc<EscalationPolicy>,
    pub requests: Arc<RequestPolicy>,
    pub cadence: Arc<Cadence>,
    pub routing: Routing,
    /// The desk's zone, in which the cron jobs run.
    pub zone: Tz,
    pub away: Arc<AwayStatus>,
}

/// The policy files, checked: calendars, templates, the escalation policy,
/// the refresh cadence, and the desk's zone they imply.
pub struct Policy {
    pub calendars: Arc<Calendars>,
    pub templates: Arc<Templates>,
    pub escalation: Arc<EscalationPolicy>,
    pub requests: Arc<RequestPolicy>,
    pub cadence: Arc<Cadence>,
    pub zone: Tz,
}

/// Loads and checks calendars, templates and the escalation policy; no
/// database needed.
pub fn load_policy(settings: &Settings) -> anyhow::Result<Policy> {
    let calendars = Arc::new(Calendars::load_dir(&settings.refresh.calendars_dir)?);
    let zone = settings.scheduler.zone(&calendars)?;
    let templates = Templates::load(&settings.templates.dir, calendars.clone());
    if let Err(problems) = templates.check() {
        anyhow::bail!("{} template problem(s): {}", problems.len(), problems.join("; "));
    }
    let escalation =
        crate::config::escalation::load(&settings.service.escalation_policy).map_err(anyhow::Error::msg)?;
    let requests = crate::config::requests::load(&settings.service.requests_policy).map_err(anyhow::Error::msg)?;
    let cadence = Arc::new(settings.cadence().map_err(anyhow::Error::msg)?);
    let (escalation, requests) = (Arc::new(escalation), Arc::new(requests));
    Ok(Policy { calendars, templates: Arc::new(templates), escalation, requests, cadence, zone })
}

impl Resources {
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let Policy { calendars, templates, escalation, requests, cadence, zone } = load_policy(settings)?;
        let store = Store::connect(&settings.database.url, settings.database.max_connections)
            .await
            .context("cannot open the database")?;
        store.migrate().await?;
        let mail_hours = MailHours { calendars: calendars.clone(), morning: settings.email.held_mail_at };
        let routing = Routing {
            mac_engineering: settings.refresh.mac_engineering_email.clone(),
            asset_channel: settings.service.asset_channel.clone(),
            mail_hours: Some(mail_hours),
        };
        let away = Arc::new(settings.slack.away());
        Ok(Self { store, calendars, templates, escalation, requests, cadence, routing, zone, away })
    }

    /// Reads and checks a directory file against the calendars, then
    /// applies it (or, `dry_run`, says what it would change); approval
    /// requests of approvers it removed or delegations it set move at once.
    pub async fn sync_directory(&self, file: &Path, now: DateTime<Utc>, dry_run: bool) -> anyhow::Result<SyncReport> {
        let directory = crate::directory::load(file, &self.calendars.names()).map_err(|errors| {
            anyhow::anyhow!("{} problem(s), nothing changed:\n  {}", errors.len(), errors.join("\n  "))
        })?;
        let report = self.store.sync_directory(&directory, now, dry_run).await;
        let report = report.with_context(|| format!("{}: nothing changed", file.display()))?;
        if !dry_run {
            self.workflow(Arc::new(crate::clock::SimClock::new(now))).reroute_approvals().await?;
        }
        Ok(report)
    }

    /// The workflow on this store and policy, on `clock`.
    pub fn workflow(&self, clock: Arc<dyn Clock>) -> Workflow {
        Workflow {
            store: self.store.clone(),
            calendars: self.calendars.clone(),
            cadence: self.cadence.clone(),
            routing: self.routing.clone(),
            clock,
            policy: self.escalation.clone(),
            requests: self.requests.clone(),
            zone: self.zone,
            away: self.away.clone(),
        }
    }

    /// Every team must name a calendar that exists, or its cadence cannot run.
    pub async fn check_teams(&self) -> anyhow::Result<()> {
        for team in self.store.teams().await? {
            self.calendars.for_team(&team)?;
        }
        Ok(())
    }
}

/// The SMTP server of the settings (a pool of `connections`), or the drop directory.
fn mailer(settings: &Settings, connections: u32) -> anyhow::Result<Mailer> {
    Ok(match &settings.email.smtp_url {
        Some(url) => Mailer::smtp(url, connections).map_err(anyhow::Error::msg)?,
        None => Mailer::Files(settings.email.drop_dir.clone()),
    })
}

/// The outbox dispatcher with the channels the settings describe: SMTP or
/// `.eml` files, the Slack API or a log file.
pub fn dispatcher(settings: &Settings, res: &Resources, clock: Arc<dyn Clock>) -> anyhow::Result<Dispatcher> {
    let mailer = mailer(settings, settings.outbox.email_concurrency)?;
    let from = settings.email.from.parse().context("email.from")?;
    let reply = settings.email.reply_to.clone().zip(settings.email.reply_secret.clone());
    let email = EmailChannel { mailer, from, reply };
    let slack = slack_channel(settings);
    Ok(Dispatcher::new(res.store.clone(), clock, res.templates.clone(), email, slack, settings.outbox.clone())
        .with_routing(res.routing.clone()))
}

/// The Slack Web API with the bot token, or the JSON-lines log without one.
pub fn slack_channel(settings: &Settings) -> SlackChannel {
    match &settings.slack.bot_token {
        Some(token) => SlackChannel::api(&settings.slack.api_url, secrecy::ExposeSecret::expose_secret(token)),
        None => SlackChannel::Log(settings.slack.log_file.clone()),
    }
}

pub struct Application {
    listener: TcpListener,
    /// The SMTP listener for customers' replies, if one is configured.
    smtp: Option<TcpListener>,
    max_message_bytes: usize,
    /// Slack over Socket Mode: its Web API and the app-level token.
    socket_mode: Option<(String, secrecy::SecretString)>,
    state: AppState,
    dispatcher: Arc<Dispatcher>,
    scheduler: Arc<Scheduler>,
    /// Holds this process's claims; renewed while it serves.
    holder: Holder,
    clock: Arc<dyn Clock>,
}

impl Application {
    pub async fn build(settings: &Settings, res: &Resources, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        res.check_teams().await?;
        let workflow = res.workflow(clock.clone());
        let tdx = &settings.tdx;
        let itsm = match (&tdx.base_url, tdx.login()) {
            (Some(url), Some(login)) => {
                let client = TdxClient::new(url, login, res.store.clone());
                Some(Arc::new(ItsmSender { client, settings: tdx.clone(), workflow: workflow.clone() }))
            }
            _ => {
                tracing::warn!("TDX is not configured: TDX calls wait in the outbox");
                None
            }
        };
        let links = settings
            .server
            .link_secret
            .clone()
            .map(|secret| Links { public_url: settings.server.public_url.clone(), secret });
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let holder = Holder::new(chrono::Duration::seconds(settings.database.lease_seconds as i64));
        let mut dispatcher =
            dispatcher(settings, res, clock.clone())?.with_metrics(metrics.clone()).with_holder(holder.clone());
        if let Some(itsm) = &itsm {
            dispatcher = dispatcher.with_itsm(itsm.clone());
        }
        if let Some(links) = &links {
            dispatcher = dispatcher.with_links(links.clone());
        }
        let scheduler = Scheduler {
            // Small claims, so that replicas share a burst of due steps.
            tick: TimerTick::new(workflow.clone(), 4 * i64::from(settings.scheduler.timer_concurrency))
                .with_concurrency(settings.scheduler.timer_concurrency as usize)
                .with_metrics(metrics.clone())
                .with_holder(holder.clone()),
            itsm: itsm.clone(),
            jobs: settings.scheduler.schedules().map_err(anyhow::Error::msg)?,
            time_zone: res.zone,
            interval: std::time::Duration::from_secs(settings.scheduler.tick_seconds),
            doorbell: Some(dispatcher.doorbell()),
            kpi_channel: settings.service.kpi_channel.clone(),
            slack: settings.slack.bot_token.is_some().then(|| Arc::new(slack_channel(settings))),
        };
        let smtp = match settings.inbound.smtp_bind {
            Some(addr) => Some(
                TcpListener::bind(addr).await.with_context(|| format!("cannot listen for inbound email on {addr}"))?,
            ),
            None => None,
        };
        let inbound = Inbound::new(settings, workflow.clone());
        let listener = TcpListener::bind(settings.server.bind)
            .await
            .with_context(|| format!("cannot listen on {}", settings.server.bind))?;
        Ok(Self {
            listener,
            smtp,
            max_message_bytes: settings.inbound.max_message_bytes,
            socket_mode: settings.slack.app_token.clone().map(|token| (settings.slack.api_url.clone(), token)),
            state: AppState {
                itsm,
                links,
                workflow,
                templates: res.templates.clone(),
                api_tokens: Arc::new(settings.api.tokens.clone()),
                slack_signing_secret: settings.slack.signing_secret.clone(),
                slack: Arc::new(slack_channel(settings)),
                doorbell: dispatcher.doorbell(),
                inbound,
                inbound_secret: settings.inbound.webhook_secret.clone(),
                max_message_bytes: settings.inbound.max_message_bytes,
                metrics,
                mailer: Arc::new(mailer(settings, 1)?),
            },
            dispatcher: Arc::new(dispatcher),
            scheduler: Arc::new(scheduler),
            holder,
            clock,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// The port of the inbound SMTP listener, if there is one.
    pub fn smtp_port(&self) -> Option<u16> {
        self.smtp.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port())
    }

    /// The timer tick and the cron jobs, for a caller that drives the clock.
    pub fn scheduler(&self) -> Arc<Scheduler> {
        self.scheduler.clone()
    }

    /// The outbox dispatcher, for a caller that delivers itself.
    pub fn dispatcher(&self) -> Arc<Dispatcher> {
        self.dispatcher.clone()
    }

    /// Serves, dispatches and runs the scheduler until `shutdown` completes,
    /// then finishes in-flight requests, lets the dispatcher finish its
    /// current message and give back the rest, and closes the database pool.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        self.serve(shutdown, true).await
    }

    /// Serves HTTP and SMTP only: the caller drives the dispatcher
    /// ([`Self::dispatcher`]) and the clocks, as the tests do to deliver at
    /// the moment they choose.
    pub async fn serve_requests_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        self.serve(shutdown, false).await
    }

    async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static, background: bool) -> anyhow::Result<()> {
        let store = self.state.workflow.store.clone();
        let (stop, stopped) = watch::channel(false);
        let (dispatcher, scheduler, stopped2) = (self.dispatcher.clone(), self.scheduler.clone(), stopped.clone());
        let worker = background.then(|| tokio::spawn(async move { dispatcher.run(stopped).await }));
        let jobs = background.then(|| tokio::spawn(async move { scheduler.run(stopped2).await }));
        let heartbeat = background.then(|| {
            tokio::spawn(keep_alive(store.clone(), self.clock.clone(), self.holder.clone(), stop.subscribe()))
        });
        let smtp = self.smtp.map(|listener| {
            let (inbound, limit, stopped3) = (self.state.inbound.clone(), self.max_message_bytes, stop.subscribe());
            tokio::spawn(crate::inbound::smtp::serve(listener, inbound, limit, stopped3))
        });
        let socket = self.socket_mode.map(|(api_url, token)| {
            let (state, stopped4) = (self.state.clone(), stop.subscribe());
            tokio::spawn(crate::slack::socket::run(state, api_url, token, stopped4))
        });
        tracing::info!(addr = %self.listener.local_addr()?, "deskbell listening");
        axum::serve(self.listener, http::router(self.state)).with_graceful_shutdown(shutdown).await?;
        let _ = stop.send(true);
        for task in worker.into_iter().chain(jobs).chain(heartbeat) {
            task.await?;
        }
        for task in smtp.into_iter().chain(socket) {
            task.await?;
        }
        store.close().await;
        tracing::info!("deskbell stopped");
        Ok(())
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = terminate => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    tracing::info!("shutdown requested");
}
