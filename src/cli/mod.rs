//! The `deskbell` command line: what each command means, and one small
//! function per command in the module named for what it works on. `main.rs`
//! only parses the arguments and calls [`run`].

mod desk;
mod preview;
mod serve;
mod tickets;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use strum::IntoEnumIterator;

use crate::config::Settings;
use crate::domain::{Template, TicketRef};

#[derive(Parser)]
#[command(name = "deskbell", version, about = "Slack bot and notification hub for IT service desks")]
pub struct Cli {
    /// The configuration file (TOML); without one, built-in defaults and
    /// DESKBELL_* environment variables are used.
    #[arg(long, global = true, env = "DESKBELL_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
        format: crate::simulate::Format,
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
    /// Managed devices: the billing view, those due for refresh.
    #[command(subcommand)]
    Devices(DevicesCommand),
    /// Reports for the desk's invoice.
    #[command(subcommand)]
    Report(ReportCommand),
    /// The scheduled jobs with their next due time, then their recent runs.
    Jobs {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

#[derive(Subcommand)]
pub enum InboundCommand {
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
pub enum DevicesCommand {
    /// Devices in service per agency at the end of a day, as CSV.
    Billing {
        #[arg(long)]
        at: chrono::NaiveDate,
    },
    /// Devices in service whose term ends within the policy's horizon and
    /// that no refresh has yet, as a refresh batch CSV.
    Due,
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Transactions per agency and kind from one day to another (both
    /// included), as CSV.
    Transactions {
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long)]
        to: chrono::NaiveDate,
    },
}

#[derive(Subcommand)]
pub enum DirectoryCommand {
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
pub enum ImportCommand {
    /// Add or update people from a CSV (name, email, slack_user, roles).
    People { file: PathBuf },
    /// Create refresh tickets from a CSV of serial numbers and customer data.
    RefreshBatch { file: PathBuf },
    /// Assign replacement systems in bulk (existing_serial, replacement_serial,
    /// platform, model, tracking_number), advancing pending_ordering tickets.
    Replacements { file: PathBuf },
    /// Move booked appointments in bulk (ticket, slot).
    Reschedules { file: PathBuf },
    /// Add or update managed devices (serial, platform, agency, team,
    /// config, in_service, state, model, user_name, user_email, location,
    /// term_months, warranty_end).
    Devices { file: PathBuf },
}

#[derive(Subcommand)]
pub enum TicketAction {
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
pub enum SlotCommand {
    /// A team's slots of the next five weeks, with their bookings.
    List { team: String },
    /// Delete an unselected slot (a booked one is refused).
    Delete { slot: i64 },
}

fn template_names() -> clap::builder::PossibleValuesParser {
    Template::iter().map(<&str>::from).collect::<Vec<_>>().into()
}

impl Cli {
    /// Whether this is `deskbell simulate`, which runs on one thread.
    pub fn is_simulation(&self) -> bool {
        matches!(self.command, Command::Simulate { .. })
    }
}

/// Runs one command with the settings it names.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    if cli.is_simulation() {
        // The report is the output; the engine's own progress is noise there.
        settings.log.filter = "warn".into();
    }
    crate::telemetry::init(&settings.log);
    match cli.command {
        Command::Serve { demo } => serve::serve(settings, demo).await,
        Command::Directory(DirectoryCommand::Check { file }) => desk::check_directory(&settings, &file),
        Command::Directory(DirectoryCommand::Sync { file, dry_run }) => {
            desk::sync_directory(&settings, &file, dry_run).await
        }
        Command::Migrate => desk::migrate(&settings).await,
        Command::Import(what) => desk::import(&settings, what).await,
        Command::CheckConfig => desk::check_config(&settings),
        Command::Preview { template, ticket } => preview::preview(&settings, &template, ticket).await,
        Command::Show { ticket } => tickets::show(&settings, ticket).await,
        Command::Ticket { ticket, action } => tickets::act(&settings, ticket, action).await,
        Command::Slots(SlotCommand::List { team }) => desk::list_slots(&settings, &team).await,
        Command::Slots(SlotCommand::Delete { slot }) => desk::delete_slot(&settings, slot).await,
        Command::CalendarUrl { team } => desk::calendar_url(&settings, &team).await,
        Command::Simulate { scenario, format } => {
            print!("{}", crate::simulate::simulate(settings, &scenario, format).await?);
            Ok(())
        }
        Command::Manifest { public_url } => {
            print!(
                "{}",
                crate::slack::catalogue::manifest(
                    public_url.as_deref().unwrap_or(&settings.server.public_url),
                    settings.slack.app_token.is_some()
                )
            );
            Ok(())
        }
        Command::Inbound(InboundCommand::List { status, limit }) => {
            tickets::inbound_list(&settings, status.as_deref(), limit).await
        }
        Command::Inbound(InboundCommand::Retry { id }) => tickets::inbound_retry(&settings, id).await,
        Command::Jobs { limit } => desk::jobs(&settings, limit).await,
        Command::Devices(DevicesCommand::Billing { at }) => desk::billing(&settings, at).await,
        Command::Devices(DevicesCommand::Due) => desk::devices_due(&settings).await,
        Command::Report(ReportCommand::Transactions { from, to }) => desk::transactions(&settings, from, to).await,
    }
}
