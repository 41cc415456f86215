//! The `deskbell` command line. Parses arguments and calls into the library;
//! every error ends the process non-zero with one line on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use std::sync::Arc;
use strum::IntoEnumIterator;

use deskbell::clock::{Clock, SystemClock};
use deskbell::config::Settings;
use deskbell::domain::refresh::RefreshEvent;
use deskbell::domain::{Actor, SlotId, Template, TicketRef};
use deskbell::startup::{Application, Resources, load_policy, shutdown_signal};
use deskbell::{import, telemetry, ticket_view};

#[derive(Parser)]
#[command(name = "deskbell", version, about = "Slack bot and notification hub for IT service desks")]
struct Cli {
    /// The configuration file (TOML); without one, built-in defaults and
    /// DESKBELL_* environment variables are used.
    #[arg(long, global = true, env = "DESKBELL_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: HTTP endpoints and background work.
    Serve {
        /// Apply the demo directory and ticket batch from config/demo/.
        #[arg(long)]
        demo: bool,
    },
    /// The desk's directory file: people, groups, teams, refresh configs.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Apply database migrations and exit.
    Migrate,
    /// Import data from files.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Validate the configuration, calendars and templates without starting.
    CheckConfig,
    /// Render a message template, with a ticket's real data or sample data.
    Preview {
        /// A template name, such as customer_begin or escalation_ping.
        #[arg(value_parser = template_names())]
        template: String,
        /// Render for this ticket (R-12, S-45) instead of sample data.
        #[arg(long)]
        ticket: Option<TicketRef>,
    },
    /// Show a ticket: its state, history, messages and delivery log.
    Show { ticket: TicketRef },
    /// Act on a refresh ticket as staff.
    Ticket {
        ticket: TicketRef,
        #[command(subcommand)]
        action: TicketAction,
    },
    /// Schedule slots.
    #[command(subcommand)]
    Slots(SlotCommand),
    /// The subscription link of a team's slot calendar.
    CalendarUrl { team: String },
    /// Preview every message, ping and status change a scenario produces,
    /// on a simulated clock with the real engine; nothing is sent.
    Simulate {
        scenario: PathBuf,
        #[arg(long, value_enum, default_value = "jsonl")]
        format: deskbell::simulate::Format,
    },
    /// Print the Slack app manifest (YAML) generated from commands/commands.toml.
    Manifest {
        /// Where Slack reaches deskbell; defaults to [server] public_url.
        #[arg(long)]
        public_url: Option<String>,
    },
    /// Inbound email: list what came in, or process a stored message again.
    #[command(subcommand)]
    Inbound(InboundCommand),
    /// The scheduled jobs with their next due time, then their recent runs.
    Jobs {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

#[derive(Subcommand)]
enum InboundCommand {
    /// The newest inbound messages (all, or of one status: threaded,
    /// unmatched, auto_reply, bounce, malformed, stored).
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Process a stored message again (after a failure or a fix).
    Retry { id: i64 },
}

#[derive(Subcommand)]
enum DirectoryCommand {
    /// Check a directory file; every mistake is reported with its line.
    Check { file: PathBuf },
    /// Apply a directory file in one transaction: print what is added,
    /// changed and deactivated.
    Sync {
        file: PathBuf,
        /// Print what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Add or update people from a CSV (name, email, slack_user, roles).
    People { file: PathBuf },
    /// Create refresh tickets from a CSV of serial numbers and customer data.
    RefreshBatch { file: PathBuf },
    /// Assign replacement systems in bulk (existing_serial, replacement_serial,
    /// platform, model, tracking_number), advancing pending_ordering tickets.
    Replacements { file: PathBuf },
    /// Move booked appointments in bulk (ticket, slot).
    Reschedules { file: PathBuf },
}

#[derive(Subcommand)]
enum TicketAction {
    /// Put a ticket on hold: its clocks stop until it is released.
    Hold { reason: String },
    /// Release a ticket from hold.
    Release,
    /// Ask the customer to pick a new slot (Trigger Customer Reschedule).
    CustomerReschedule,
    /// Move the appointment (or book one) to a slot, as staff.
    Reschedule { slot: i64 },
    /// Cancel a ticket.
    Cancel { reason: String },
}

#[derive(Subcommand)]
enum SlotCommand {
    /// A team's slots of the next five weeks, with their bookings.
    List { team: String },
    /// Delete an unselected slot (a booked one is refused).
    Delete { slot: i64 },
}

fn template_names() -> clap::builder::PossibleValuesParser {
    Template::iter().map(<&str>::from).collect::<Vec<_>>().into()
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    if matches!(cli.command, Command::Simulate { .. }) {
        // The report is the output; the engine's own progress is noise there.
        settings.log.filter = "warn".into();
    }
    telemetry::init(&settings.log);
    let clock = SystemClock;
    match cli.command {
        Command::CheckConfig => {
            load_policy(&settings)?;
            println!("configuration ok");
        }
        Command::Migrate => {
            Resources::open(&settings).await?;
            println!("database migrated");
        }
        Command::Directory(DirectoryCommand::Check { file }) => {
            let policy = load_policy(&settings)?;
            let d = deskbell::directory::load(&file, &policy.calendars.names())
                .map_err(|errors| anyhow::anyhow!("{} problem(s):\n  {}", errors.len(), errors.join("\n  ")))?;
            let (p, g, t, c) = (d.people.len(), d.groups.len(), d.teams.len(), d.configs.len());
            println!("{}: ok ({p} people, {g} groups, {t} teams, {c} refresh configs)", file.display());
        }
        Command::Directory(DirectoryCommand::Sync { file, dry_run }) => {
            let res = Resources::open(&settings).await?;
            let report = res.sync_directory(&file, clock.now(), dry_run).await?;
            println!("{report}{}", if dry_run { " (dry run: nothing changed)" } else { "" });
        }
        Command::Import(ImportCommand::People { file }) => {
            let csv = import::read_csv(&file)?;
            let res = Resources::open(&settings).await?;
            let report =
                import::people(&res.store, &csv).await.map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            println!("{report}");
        }
        Command::Import(ImportCommand::RefreshBatch { file }) => {
            let csv = import::read_csv(&file)?;
            let res = Resources::open(&settings).await?;
            let created = import::refresh_batch(&res.store, &res.calendars, &res.routing, clock.now(), &csv)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let refs: Vec<String> = created.iter().map(|t| t.reference().to_string()).collect();
            println!("imported {} refresh ticket(s): {}", created.len(), refs.join(", "));
        }
        Command::Import(ImportCommand::Replacements { file }) => {
            let csv = import::read_csv(&file)?;
            let res = Resources::open(&settings).await?;
            let done = import::replacements(&res.workflow(Arc::new(clock)), &csv)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let refs: Vec<String> = done.iter().map(|t| t.reference().to_string()).collect();
            println!("assigned {} replacement(s): {}", done.len(), refs.join(", "));
        }
        Command::Import(ImportCommand::Reschedules { file }) => {
            let csv = import::read_csv(&file)?;
            let res = Resources::open(&settings).await?;
            let done = import::reschedules(&res.workflow(Arc::new(clock)), &csv)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            println!("rescheduled {} ticket(s)", done.len());
        }
        Command::Ticket { ticket, action } => {
            let TicketRef::Refresh(id) = ticket else { anyhow::bail!("{ticket} is not a refresh ticket") };
            let res = Resources::open(&settings).await?;
            let workflow = res.workflow(Arc::new(clock));
            let t = match action {
                TicketAction::Hold { reason } => {
                    workflow.refresh(id, &Actor::System, RefreshEvent::PutOnHold { reason }).await?
                }
                TicketAction::Release => workflow.refresh(id, &Actor::System, RefreshEvent::Released).await?,
                TicketAction::CustomerReschedule => {
                    workflow.refresh(id, &Actor::System, RefreshEvent::CustomerRescheduleTriggered).await?
                }
                TicketAction::Reschedule { slot } => workflow.pick_slot(id, &Actor::System, SlotId(slot)).await?,
                TicketAction::Cancel { reason } => {
                    workflow.refresh(id, &Actor::System, RefreshEvent::Cancelled { reason }).await?
                }
            };
            println!("{} is now {}", t.reference(), t.status);
        }
        Command::Slots(SlotCommand::List { team }) => {
            let res = Resources::open(&settings).await?;
            let t =
                res.store.team_by_name(&team).await?.ok_or_else(|| anyhow::anyhow!("no team is called '{team}'"))?;
            let cal = res.calendars.for_team(&t)?;
            let now = clock.now();
            for s in res.store.slots(t.id, now, now + chrono::Duration::days(36)).await? {
                let at = s.starts_at.with_timezone(&cal.tz).format("%a %Y-%m-%d %H:%M");
                println!("{:>6}  {at}  {}/{} booked", s.id, s.booked, s.capacity);
            }
        }
        Command::Slots(SlotCommand::Delete { slot }) => {
            let res = Resources::open(&settings).await?;
            res.store.delete_slot(SlotId(slot), clock.now()).await?;
            println!("slot {slot} deleted");
        }
        Command::Inbound(InboundCommand::List { status, limit }) => {
            let res = Resources::open(&settings).await?;
            for m in res.store.inbound_list(status.as_deref(), limit).await? {
                let ticket = m.ticket.map(|t| t.to_string()).unwrap_or_else(|| "-".into());
                let at = m.received_at.format("%Y-%m-%d %H:%M");
                let (sender, reason) = (m.sender.unwrap_or_default(), m.reason.unwrap_or_default());
                println!("{:>6}  {at}  {:<8} {:<10} {ticket:<7} {sender}  {reason}", m.id, m.source, m.status);
            }
        }
        Command::Inbound(InboundCommand::Retry { id }) => {
            let res = Resources::open(&settings).await?;
            let inbound = deskbell::inbound::Inbound::new(&settings, res.workflow(Arc::new(clock)));
            let o = inbound.process(id).await?;
            let ticket = o.ticket.map(|t| format!(" on {t}")).unwrap_or_default();
            println!("message {id}: {}{ticket} ({})", o.status, o.reason.unwrap_or_default());
        }
        Command::Simulate { scenario, format } => {
            print!("{}", deskbell::simulate::simulate(settings, &scenario, format).await?);
        }
        Command::Manifest { public_url } => {
            print!(
                "{}",
                deskbell::slack::catalogue::manifest(public_url.as_deref().unwrap_or(&settings.server.public_url))
            );
        }
        Command::Preview { template, ticket } => {
            let template: Template = template.parse()?;
            let templates = load_policy(&settings)?.templates;
            let sample = templates.sample(template);
            let ctx = match ticket {
                Some(t) => {
                    let res = Resources::open(&settings).await?;
                    let ticket = res.store.ticket_context(t).await?;
                    let name = ["delegate", "customer", "contact"]
                        .iter()
                        .find_map(|k| ticket[k]["name"].as_str())
                        .unwrap_or("Preview Recipient")
                        .to_owned();
                    let mut ctx = sample;
                    ctx["ticket"] = ticket;
                    ctx["recipient"]["name"] = name.into();
                    ctx
                }
                None => sample,
            };
            let (email, slack) = template.forms();
            if email {
                let mail = templates.email(template.into(), &ctx)?;
                println!("Subject: {}\n\n{}\n--- HTML ---\n{}", mail.subject, mail.text, mail.html);
            }
            if slack {
                let msg = templates.slack(template.into(), &ctx)?;
                println!("--- Slack ---\n{}\n{}", msg.text, serde_json::to_string_pretty(&msg.blocks)?);
            }
        }
        Command::CalendarUrl { team } => {
            let secret =
                settings.server.link_secret.as_ref().ok_or_else(|| anyhow::anyhow!("server.link_secret is not set"))?;
            let res = Resources::open(&settings).await?;
            let t =
                res.store.team_by_name(&team).await?.ok_or_else(|| anyhow::anyhow!("no team is called '{team}'"))?;
            let token = deskbell::http::calendar_token(secret, t.id);
            println!("{}/calendar/{}.ics?token={token}", settings.server.public_url.trim_end_matches('/'), t.id);
        }
        Command::Jobs { limit } => {
            let res = Resources::open(&settings).await?;
            let jobs = settings.scheduler.schedules().map_err(anyhow::Error::msg)?;
            println!("Jobs (local time {})", res.zone);
            for (name, schedule) in &jobs {
                let next = schedule.after(&clock.now().with_timezone(&res.zone)).next();
                let next = next.map(|t| t.format("%a %Y-%m-%d %H:%M %Z").to_string()).unwrap_or_else(|| "never".into());
                println!("  {:<16} {:<18} next {next}", <&str>::from(*name), schedule.source());
            }
            println!("Recent runs");
            for run in res.store.job_runs(limit).await? {
                let took = run.finished_at.map(|f| format!("{} ms", (f - run.started_at).num_milliseconds()));
                let outcome = run.outcome.unwrap_or_else(|| "running".into());
                println!(
                    "  {}  {:<16} {:>9}  {outcome}",
                    run.due_at.with_timezone(&res.zone).format("%Y-%m-%d %H:%M %Z"),
                    run.job,
                    took.unwrap_or_default()
                );
            }
        }
        Command::Show { ticket } => {
            let res = Resources::open(&settings).await?;
            print!("{}", ticket_view::show(&res.store, &res.calendars, ticket, clock.now()).await?);
        }
        Command::Serve { demo } => {
            if demo && settings.server.link_secret.is_none() {
                // The demo's signed links (slot picking) need a key; a real desk sets its own.
                settings.server.link_secret = Some("deskbell-demo-link-key".into());
            }
            let res = Resources::open(&settings).await?;
            let mut open = Vec::new();
            if demo {
                let links = settings
                    .server
                    .link_secret
                    .clone()
                    .map(|secret| deskbell::links::Links { public_url: settings.server.public_url.clone(), secret });
                open = deskbell::demo::stage(&res, links.as_ref(), clock.now()).await?;
            } else if let Some(file) = &settings.directory.file {
                let report = res.sync_directory(file, clock.now(), false).await?;
                tracing::info!(file = %file.display(), changes = %report.to_string().replace('\n', "; "), "directory applied");
            }
            let app = Application::build(&settings, &res, Arc::new(SystemClock)).await?;
            if demo {
                tracing::info!(
                    mail = %settings.email.drop_dir.display(),
                    slack = %settings.slack.log_file.display(),
                    open = %open.join(" | "),
                    "demo desk staged: mail and Slack messages are written to these files as they are sent \
                     (customer mail waits for business hours); open these"
                );
            }
            app.run_until_stopped(shutdown_signal()).await?;
        }
    }
    Ok(())
}
