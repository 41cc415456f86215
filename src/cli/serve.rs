//! `deskbell serve`: the directory applied (or the demo staged), then the
//! application until a shutdown signal.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::startup::{Application, Resources, shutdown_signal};

pub async fn serve(mut settings: Settings, demo: bool) -> anyhow::Result<()> {
    if demo && settings.server.link_secret.is_none() {
        // The demo's signed links (slot picking) need a key; a real desk sets its own.
        settings.server.link_secret = Some("deskbell-demo-link-key".into());
    }
    let res = Resources::open(&settings).await?;
    let now = SystemClock.now();
    let mut open = Vec::new();
    if demo {
        let links = settings
            .server
            .link_secret
            .clone()
            .map(|secret| crate::links::Links { public_url: settings.server.public_url.clone(), secret });
        open = crate::demo::stage(&res, links.as_ref(), now).await?;
    } else if let Some(file) = &settings.directory.file {
        let report = res.sync_directory(file, now, false).await?;
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
    app.run_until_stopped(shutdown_signal()).await
}
