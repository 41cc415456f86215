//! Liveness (the process answers) and readiness, for load balancers and
//! orchestrators. Readiness reports each dependency — the database, the
//! SMTP server, Slack (`auth.test`), TDX (sign-in) — and fails only on the
//! database: without it nothing works, while mail, Slack and TDX calls wait
//! in the outbox until their service is back.

use std::future::Future;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;
use crate::channels::SendError;

pub async fn healthz() -> &'static str {
    "ok"
}

/// What one check says, within two seconds.
async fn probe(check: impl Future<Output = Result<String, SendError>>) -> String {
    match tokio::time::timeout(Duration::from_secs(2), check).await {
        Ok(Ok(ok)) => ok,
        Ok(Err(e)) => format!("unavailable: {e}"),
        Err(_) => "unavailable: no answer within 2 s".into(),
    }
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.workflow.store.ping().await;
    let tdx = async {
        match &state.itsm {
            Some(itsm) => probe(itsm.client.check()).await,
            None => "not configured".into(),
        }
    };
    let (smtp, slack, tdx) = tokio::join!(probe(state.mailer.check()), probe(state.slack.check()), tdx);
    let body = json!({
        "status": if database { "ready" } else { "not ready" },
        "database": if database { "ok" } else { "unavailable" },
        "smtp": smtp,
        "slack": slack,
        "tdx": tdx,
    });
    (if database { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}
