//! A client for the TeamDynamix Web API: a login (admin service account or
//! user) for a JWT that is reused until shortly before it expires (24 h),
//! and the ticket, task, feed and asset calls deskbell makes. TDX allows 60
//! calls per 60 seconds per address; the window is counted in the database,
//! so replicas share it, and past it the client answers "rate limited" at
//! once so the outbox defers the call instead of sleeping.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::channels::SendError;
use crate::store::Store;

const CALLS_PER_WINDOW: i64 = 60;
const WINDOW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// The window's key in the shared rate limits.
const RATE_KEY: &str = "tdx";
/// TDX tokens live 24 hours; renew an hour early.
const TOKEN_LIFETIME: Duration = Duration::from_secs(23 * 3600);

/// How deskbell signs in: an admin service account (BEID and web services
/// key, `/api/auth/loginadmin`) or a user or service account
/// (`/api/auth/login`).
#[derive(Debug, Clone)]
pub enum TdxLogin {
    Admin { beid: SecretString, key: SecretString },
    User { username: String, password: SecretString },
}

pub struct TdxClient {
    http: reqwest::Client,
    /// e.g. `https://example.teamdynamix.com/TDWebApi`
    base: String,
    login: TdxLogin,
    token: Mutex<Option<(String, Instant)>>,
    /// Where the calls of every replica are counted.
    store: Store,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TdxTask {
    #[serde(rename = "ID")]
    pub id: i64,
    pub title: String,
}

/// A ticket's status as TDX reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TdxStatus {
    pub status_name: String,
    /// TeamDynamix.Api.Statuses.StatusClass: 3 is Completed, 4 Cancelled.
    pub status_class: i64,
}

impl TdxStatus {
    pub fn is_done(&self) -> bool {
        self.status_class == 3
    }
}

impl TdxClient {
    pub fn new(base: &str, login: TdxLogin, store: Store) -> Self {
        let http = crate::net::http_client(Duration::from_secs(30));
        Self { http, base: base.trim_end_matches('/').to_owned(), login, token: Mutex::new(None), store }
    }

    /// Counts a call against the 60-per-60-s window, or says how long to wait.
    /// TDX's window runs on real time, not the business clock (which a
    /// simulation moves at will).
    async fn admit(&self) -> Result<(), SendError> {
        let now = chrono::Utc::now();
        let admitted = self.store.admit_call(RATE_KEY, now, CALLS_PER_WINDOW, WINDOW).await;
        match admitted.map_err(|e| SendError::Transient(e.to_string()))? {
            None => Ok(()),
            Some(at) => Err(SendError::RateLimited { retry_after: (at - now).to_std().unwrap_or_default() }),
        }
    }

    /// Whether TDX lets deskbell sign in (a token is reused while valid).
    pub async fn check(&self) -> Result<String, SendError> {
        self.token(false).await.map(|_| "ok".into())
    }

    /// Calls made by every replica in the last 60 seconds (TDX allows 60).
    pub async fn calls_in_window(&self) -> usize {
        let counted = self.store.calls_in_window(RATE_KEY, chrono::Utc::now(), WINDOW).await;
        counted.map_or(0, |n| n as usize)
    }

    async fn login(&self) -> Result<String, SendError> {
        self.admit().await?;
        let (path, body) = match &self.login {
            TdxLogin::Admin { beid, key } => {
                ("loginadmin", json!({ "BEID": beid.expose_secret(), "WebServicesKey": key.expose_secret() }))
            }
            TdxLogin::User { username, password } => {
                ("login", json!({ "username": username, "password": password.expose_secret() }))
            }
        };
        let resp = self.http.post(format!("{}/api/auth/{path}", self.base)).json(&body).send().await.map_err(net)?;
        let status = resp.status();
        let text = resp.text().await.map_err(net)?;
        match status {
            StatusCode::OK => Ok(text.trim().trim_matches('"').to_owned()),
            s if s.is_server_error() => Err(SendError::Transient(format!("TDX login: HTTP {s}"))),
            s => Err(SendError::Permanent(format!("TDX login refused: HTTP {s}"))),
        }
    }

    async fn token(&self, renew: bool) -> Result<String, SendError> {
        let mut token = self.token.lock().await;
        match &*token {
            Some((jwt, at)) if !renew && at.elapsed() < TOKEN_LIFETIME => Ok(jwt.clone()),
            _ => {
                let jwt = self.login().await?;
                *token = Some((jwt.clone(), Instant::now()));
                Ok(jwt)
            }
        }
    }

    /// One API call; a 401 (an expired token) logs in again once.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, SendError> {
        for renew in [false, true] {
            let jwt = self.token(renew).await?;
            self.admit().await?;
            let mut req = self.http.request(method.clone(), format!("{}/api/{path}", self.base)).bearer_auth(&jwt);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let resp = req.send().await.map_err(net)?;
            let status = resp.status();
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .map(Duration::from_secs);
            let text = resp.text().await.map_err(net)?;
            match status {
                s if s.is_success() => return Ok(serde_json::from_str(&text).unwrap_or(Value::Null)),
                StatusCode::UNAUTHORIZED if !renew => continue,
                StatusCode::TOO_MANY_REQUESTS => {
                    return Err(SendError::RateLimited { retry_after: retry_after.unwrap_or(Duration::from_secs(60)) });
                }
                s if s.is_server_error() => return Err(SendError::Transient(format!("TDX {path}: HTTP {s}"))),
                s => return Err(SendError::Permanent(format!("TDX {path}: HTTP {s}: {}", text.trim()))),
            }
        }
        Err(SendError::Permanent(format!("TDX {path}: unauthorized after a fresh login")))
    }

    /// The asset id of a serial number in the asset application, if TDX knows it.
    pub async fn find_asset(&self, asset_app: i64, serial: &str) -> Result<Option<i64>, SendError> {
        let found = self
            .call(Method::POST, &format!("{asset_app}/assets/search"), Some(json!({ "SerialLike": serial })))
            .await?;
        Ok(found
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["SerialNumber"].as_str() == Some(serial))
            .and_then(|a| a["ID"].as_i64()))
    }

    /// Where TDX says the asset with `serial` is: its location and room.
    pub async fn asset_location(&self, asset_app: i64, serial: &str) -> Result<Option<String>, SendError> {
        let found = self
            .call(Method::POST, &format!("{asset_app}/assets/search"), Some(json!({ "SerialLike": serial })))
            .await?;
        let asset = found.as_array().into_iter().flatten().find(|a| a["SerialNumber"].as_str() == Some(serial));
        let part = |a: &Value, k: &str| a[k].as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        Ok(asset.and_then(|a| match (part(a, "LocationName"), part(a, "LocationRoomName")) {
            (Some(place), Some(room)) => Some(format!("{place} {room}")),
            (place, room) => place.or(room),
        }))
    }

    /// Creates a ticket from `ticket` (TDX's Ticket JSON) and its tasks;
    /// returns the new ticket's id.
    pub async fn create_ticket(&self, app: i64, ticket: &Value, tasks: &[Value]) -> Result<i64, SendError> {
        let path = format!("{app}/tickets?EnableNotifyReviewer=false&NotifyRequestor=false&NotifyResponsible=false");
        let created = self.call(Method::POST, &path, Some(ticket.clone())).await?;
        let id =
            created["ID"].as_i64().ok_or_else(|| SendError::Permanent("TDX created a ticket without an ID".into()))?;
        for task in tasks {
            self.call(Method::POST, &format!("{app}/tickets/{id}/tasks"), Some(task.clone())).await?;
        }
        Ok(id)
    }

    pub async fn tasks(&self, app: i64, ticket: i64) -> Result<Vec<TdxTask>, SendError> {
        let tasks = self.call(Method::GET, &format!("{app}/tickets/{ticket}/tasks"), None).await?;
        serde_json::from_value(tasks).map_err(|e| SendError::Permanent(format!("TDX tasks: {e}")))
    }

    /// Replaces a task (new dates after a reschedule).
    pub async fn update_task(&self, app: i64, ticket: i64, task: i64, body: &Value) -> Result<(), SendError> {
        self.call(Method::PUT, &format!("{app}/tickets/{ticket}/tasks/{task}"), Some(body.clone())).await.map(drop)
    }

    /// Completes a task with a comment in its feed.
    pub async fn complete_task(&self, app: i64, ticket: i64, task: i64, comment: &str) -> Result<(), SendError> {
        let entry = json!({ "Comments": comment, "PercentComplete": 100, "IsPrivate": false });
        self.call(Method::POST, &format!("{app}/tickets/{ticket}/tasks/{task}/feed"), Some(entry)).await.map(drop)
    }

    /// Adds a comment to the ticket's feed.
    pub async fn comment(&self, app: i64, ticket: i64, comment: &str) -> Result<(), SendError> {
        let entry = json!({ "Comments": comment, "IsPrivate": false, "Notify": [] });
        self.call(Method::POST, &format!("{app}/tickets/{ticket}/feed"), Some(entry)).await.map(drop)
    }

    pub async fn status(&self, app: i64, ticket: i64) -> Result<TdxStatus, SendError> {
        let t = self.call(Method::GET, &format!("{app}/tickets/{ticket}"), None).await?;
        serde_json::from_value(t).map_err(|e| SendError::Permanent(format!("TDX ticket {ticket}: {e}")))
    }
}

fn net(e: reqwest::Error) -> SendError {
    SendError::Transient(format!("TDX unreachable: {e}"))
}
