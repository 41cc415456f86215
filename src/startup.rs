//! Builds the application from settings: database, calendars, listener.
//! `build` binds the port, so tests ask for port 0 and read the real one.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::config::{Calendars, Settings};
use crate::http::{self, AppState};
use crate::store::{Routing, Store};

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

/// What the CLI commands other than `serve` need: the migrated store and
/// the policy loaded from files.
pub struct Resources {
    pub store: Store,
    pub calendars: Arc<Calendars>,
    pub routing: Routing,
}

impl Resources {
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let calendars = Calendars::load_dir(&settings.refresh.calendars_dir)?;
        let store = Store::connect(&settings.database.url, settings.database.max_connections)
            .await
            .context("cannot open the database")?;
        store.migrate().await?;
        let routing = Routing { mac_engineering: settings.refresh.mac_engineering_email.clone() };
        Ok(Self { store, calendars: Arc::new(calendars), routing })
    }

    /// Every team must name a calendar that exists, or its cadence cannot run.
    pub async fn check_teams(&self) -> anyhow::Result<()> {
        for team in self.store.teams().await? {
            self.calendars.for_team(&team)?;
        }
        Ok(())
    }
}

impl Application {
    pub async fn build(settings: &Settings, res: &Resources) -> anyhow::Result<Self> {
        res.check_teams().await?;
        let listener = TcpListener::bind(settings.server.bind)
            .await
            .with_context(|| format!("cannot listen on {}", settings.server.bind))?;
        Ok(Self { listener, state: AppState { store: res.store.clone() } })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests
    /// and closes the database pool.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let store = self.state.store.clone();
        tracing::info!(addr = %self.listener.local_addr()?, "deskbell listening");
        axum::serve(self.listener, http::router(self.state)).with_graceful_shutdown(shutdown).await?;
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
