//! Storage over sqlx: the same repository API on SQLite (embedded, the
//! default) and PostgreSQL (several replicas on one database).
//!
//! Both databases run the same queries through sqlx's `Any` driver. That is
//! why every time is stored as Unix epoch milliseconds (`Any` cannot decode
//! PostgreSQL's `TIMESTAMPTZ`) and every query uses `$n` placeholders, which
//! both accept. Where the SQL must differ (row locks), [`Backend`] says which.

mod approvals;
mod commit;
mod context;
mod devices;
mod directory;
mod history;
mod home;
mod inbound;
mod jobs;
mod kpis;
mod leases;
mod outbox;
mod rate;
mod recipients;
mod refresh;
mod rows;
mod service;
mod slots;
mod timers;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use thiserror::Error;

pub use commit::Routing;
pub use devices::{DueDevice, NewDevice, TransactionLine};
pub use directory::{NewPerson, PersonSource, SyncReport};
pub use history::OutboxRow;
pub use inbound::{Envelope, InboundOutcome, InboundRow, InboundWork, Note};
pub use jobs::JobRun;
pub use kpis::Kpis;
pub use leases::{DEFAULT_LEASE_SECONDS, Holder, keep_alive};
pub use outbox::{Claimed, Delivery, Finished, NewMessage, Outcome, OwnedMessage};
pub use refresh::{ApproverDigest, RefreshChange, TeamCalendar, Versioned};
pub use service::ServiceMove;
pub use timers::DueTimer;

use crate::domain::{DomainError, TicketRef};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A claim statement in both dialects, written once: on PostgreSQL the
/// replicas skip the rows another one holds (`FOR UPDATE SKIP LOCKED` ends
/// the inner select, `$select`); SQLite has a single writer and no such
/// clause.
macro_rules! claim_sql {
    ($select:literal, $rest:literal) => {
        super::Claim { sqlite: concat!($select, $rest), postgres: concat!($select, " FOR UPDATE SKIP LOCKED", $rest) }
    };
}
pub(crate) use claim_sql;

pub(crate) struct Claim {
    sqlite: &'static str,
    postgres: &'static str,
}

impl Claim {
    fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

/// What replicas must do one at a time on PostgreSQL (a transaction-scoped
/// advisory lock each); SQLite has a single writer anyway.
#[derive(Debug, Clone, Copy)]
enum Serial {
    /// Claiming outbox rows: a recipient's next message is never claimed by
    /// one replica while another claims the one before it.
    OutboxClaim = 1818,
    /// Applying the directory: replicas starting together apply it in turn.
    Directory = 1819,
}

impl Serial {
    /// Waits for the other replicas' transactions doing the same.
    async fn take(self, conn: &mut sqlx::AnyConnection, backend: Backend) -> Result<()> {
        if backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(self as i64).execute(conn).await?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Another writer changed the ticket between our read and our write.
    /// Nothing of this attempt was saved.
    #[error("{ticket} was changed by someone else at the same time; nothing was saved, reload and try again")]
    Conflict { ticket: TicketRef },
    #[error("{0} does not exist")]
    NotFound(String),
    /// Every seat of the slot is taken (perhaps a moment ago).
    #[error("slot {0} is full")]
    SlotFull(crate::domain::SlotId),
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects to `sqlite://path` (created if missing, WAL journal) or
    /// `postgres://…`.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::Invalid(format!(
                "database url must start with sqlite: or postgres:// (got '{}')",
                url.split(':').next().unwrap_or_default()
            )));
        };
        if backend == Backend::Sqlite {
            create_parent_dir(url)?;
        }
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        // Each in-memory SQLite connection would be its own database.
        let max = if url.contains(":memory:") { 1 } else { max_connections.max(1) };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        if backend == Backend::Sqlite && !url.contains(":memory:") {
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        }
        Ok(Self { pool, backend })
    }

    /// A transaction that reads before it writes. SQLite must take the
    /// write lock at `BEGIN` (IMMEDIATE): a deferred one whose snapshot
    /// another writer outdated cannot upgrade and fails at once.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// True when the database answers: what `/readyz` reports.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// SQLite creates the file but not its directory (`./var/` on a fresh clone).
fn create_parent_dir(url: &str) -> Result<()> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        return Ok(());
    }
    match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Invalid(format!("cannot create database directory {}: {e}", dir.display()))),
        _ => Ok(()),
    }
}

/// Parses an enum stored as text, naming the column when the database holds
/// something this version does not know.
fn parse_col<T: FromStr>(column: &str, value: &str) -> Result<T> {
    value.parse().map_err(|_| StoreError::Invalid(format!("unknown {column} '{value}' in the database")))
}
