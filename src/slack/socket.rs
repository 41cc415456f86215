//! Socket Mode, for a deskbell Slack cannot reach: with `[slack] app_token`
//! (`xapp-…`) deskbell asks `apps.connections.open` for a WebSocket URL,
//! connects out, and receives commands, interactions and events as
//! envelopes. Each envelope's payload is handed to the same handler as the
//! HTTP endpoint's body (one code path after the transport) and
//! acknowledged with the handler's answer — at once, as Slack wants within
//! three seconds. A `disconnect` message or a dropped socket reconnects
//! (backing off while Slack cannot be reached). With several replicas each
//! holds a connection; Slack gives each envelope to one of them, and what
//! Slack retries (events) is acted on once by its `event_id`.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::IntoResponse;
use futures::{SinkExt, StreamExt};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use super::verify::SlackBody;
use crate::http::AppState;

/// The longest wait between two attempts to reach Slack.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Holds a Socket Mode connection until `stop` is set.
pub async fn run(state: AppState, api_url: String, app_token: SecretString, mut stop: watch::Receiver<bool>) {
    let mut backoff = Duration::from_secs(1);
    while !*stop.borrow() {
        match connection(&state, &api_url, &app_token, &mut stop).await {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(why) => {
                tracing::warn!(%why, retry_in = ?backoff, "Socket Mode connection lost");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// The WebSocket URL Slack gives this app (`apps.connections.open`).
async fn open(api_url: &str, app_token: &SecretString) -> Result<String, String> {
    let http = crate::net::http_client(Duration::from_secs(10));
    let resp = http
        .post(format!("{}/apps.connections.open", api_url.trim_end_matches('/')))
        .bearer_auth(app_token.expose_secret())
        .send()
        .await
        .map_err(|e| format!("apps.connections.open: {e}"))?;
    let body: Value = resp.json().await.map_err(|e| format!("apps.connections.open: {e}"))?;
    match body["url"].as_str() {
        Some(url) if body["ok"] == true => Ok(url.to_owned()),
        _ => Err(format!("apps.connections.open: {}", body["error"].as_str().unwrap_or("no url"))),
    }
}

/// One connection: `Ok` when Slack asked to reconnect or deskbell stops.
async fn connection(
    state: &AppState,
    api_url: &str,
    app_token: &SecretString,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    let url = open(api_url, app_token).await?;
    // The crypto provider named, as everywhere (see net.rs).
    let tls = rustls::ClientConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() })
        .with_no_client_auth();
    let connector = tokio_tungstenite::Connector::Rustls(std::sync::Arc::new(tls));
    let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(&url, None, false, Some(connector))
        .await
        .map_err(|e| format!("connecting to Socket Mode: {e}"))?;
    tracing::info!("Socket Mode connected");
    let (mut write, mut read) = socket.split();
    // Envelopes are handled concurrently; their acknowledgements come back here.
    let (acks, mut acked) = mpsc::channel::<Value>(64);
    loop {
        tokio::select! {
            msg = read.next() => match msg {
                None => return Err("Slack closed the socket".into()),
                Some(Err(e)) => return Err(e.to_string()),
                Some(Ok(Message::Text(text))) => {
                    let envelope: Value = serde_json::from_str(&text).map_err(|e| format!("envelope: {e}"))?;
                    match envelope["type"].as_str() {
                        Some("hello") => {}
                        Some("disconnect") => {
                            tracing::info!(reason = %envelope["reason"], "Slack asked to reconnect");
                            return Ok(());
                        }
                        _ => {
                            let (state, acks) = (state.clone(), acks.clone());
                            tokio::spawn(async move {
                                if let Some(ack) = handle(state, envelope).await {
                                    let _ = acks.send(ack).await;
                                }
                            });
                        }
                    }
                }
                Some(Ok(Message::Ping(p))) => write.send(Message::Pong(p)).await.map_err(|e| e.to_string())?,
                Some(Ok(Message::Close(_))) => return Err("Slack closed the socket".into()),
                Some(Ok(_)) => {}
            },
            Some(ack) = acked.recv() => {
                write.send(Message::Text(ack.to_string().into())).await.map_err(|e| e.to_string())?;
            }
            _ = stop.changed() => {
                let _ = write.send(Message::Close(None)).await;
                return Ok(());
            }
        }
    }
}

/// An envelope through the HTTP endpoint's handler; the acknowledgement
/// (with the handler's answer as its payload), or `None` when the handler
/// failed, so Slack delivers it again.
async fn handle(state: AppState, envelope: Value) -> Option<Value> {
    let id = envelope["envelope_id"].as_str()?.to_owned();
    let payload = &envelope["payload"];
    let kind = envelope["type"].as_str().unwrap_or_default();
    let answer = match kind {
        "slash_commands" => {
            let fields: Vec<(String, String)> = payload
                .as_object()?
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                .collect();
            let body = Bytes::from(serde_urlencoded::to_string(fields).ok()?);
            super::commands::handle(State(state), SlackBody(body)).await.map(IntoResponse::into_response)
        }
        "interactive" => {
            let body = Bytes::from(serde_urlencoded::to_string([("payload", payload.to_string())]).ok()?);
            super::interactions::handle(State(state), SlackBody(body)).await
        }
        "events_api" => {
            let body = Bytes::from(payload.to_string());
            super::events::handle(State(state), SlackBody(body)).await.map(IntoResponse::into_response)
        }
        other => {
            tracing::debug!(kind = other, "Socket Mode envelope ignored");
            return Some(json!({ "envelope_id": id }));
        }
    };
    match answer {
        Ok(response) => {
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.ok()?;
            let mut ack = json!({ "envelope_id": id });
            if let Ok(body) = serde_json::from_slice::<Value>(&bytes)
                && body.as_object().is_some_and(|o| !o.is_empty())
            {
                ack["payload"] = body;
            }
            Some(ack)
        }
        Err(e) => {
            tracing::error!(kind, error = %e, "Socket Mode envelope failed; Slack will deliver it again");
            None
        }
    }
}
