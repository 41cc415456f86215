//! The `deskbell` command line. Parses arguments and calls into the library;
//! every error ends the process non-zero with one line on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use std::sync::Arc;

use deskbell::clock::{Clock, SystemClock};
use deskbell::config::Settings;
use deskbell::startup::{Application, Resources, load_policy, shutdown_signal};
use deskbell::{demo, import, telemetry};

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
        /// Load the demo teams, people, configs and ticket batch from config/demo/.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Import data from files.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Validate the configuration, calendars and templates without starting.
    CheckConfig,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Create refresh tickets from a CSV of serial numbers and customer data.
    RefreshBatch { file: PathBuf },
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
    let settings = Settings::load(cli.config.as_deref())?;
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
        Command::Import(ImportCommand::RefreshBatch { file }) => {
            let csv = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let res = Resources::open(&settings).await?;
            let created = import::refresh_batch(&res.store, &res.calendars, &res.routing, clock.now(), &csv)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let refs: Vec<String> = created.iter().map(|t| t.reference().to_string()).collect();
            println!("imported {} refresh ticket(s): {}", created.len(), refs.join(", "));
        }
        Command::Serve { demo } => {
            let res = Resources::open(&settings).await?;
            if demo {
                demo::load(&res, "config/demo".as_ref(), clock.now()).await?;
            }
            let app = Application::build(&settings, &res, Arc::new(SystemClock)).await?;
            app.run_until_stopped(shutdown_signal()).await?;
        }
    }
    Ok(())
}
