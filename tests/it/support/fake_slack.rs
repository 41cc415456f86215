//! A fake Slack Web API on loopback that answers in Slack's real JSON (the
//! shapes of api.slack.com/methods), records every call, and can be told to
//! fail: 429 with `Retry-After`, HTTP 500, or an API error code such as
//! `channel_not_found` for a channel. It can also hold messages after the n-th, to crash a
//! dispatcher mid-send.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const TOKEN: &str = "xoxb-test-token";
/// The app-level token Socket Mode connects with.
pub const APP_TOKEN: &str = "xapp-1-test-token";

/// What the test tells the Socket Mode connections.
#[derive(Debug, Clone)]
enum SocketCmd {
    Send(String),
    Drop,
}

/// What the next chat.postMessage answers instead of succeeding.
#[derive(Debug, Clone)]
pub enum Failure {
    RateLimited { retry_after_secs: u64 },
    ServerError,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Posted {
    pub channel: String,
    pub text: String,
    pub blocks: Value,
    /// When it arrived, by the machine's clock (for lateness figures).
    pub at: chrono::DateTime<chrono::Utc>,
    /// The sender's key, from the message metadata.
    pub key: Option<String>,
}

/// A share of chat.postMessage calls answered with failures, by a counter
/// (so a run is repeatable): every `rate_limited`-th call a 429, every
/// `server_error`-th a 500 (0: never).
#[derive(Debug, Clone, Copy, Default)]
pub struct Storm {
    pub rate_limited: usize,
    pub server_error: usize,
    pub retry_after_secs: u64,
}

#[derive(Default)]
struct Inner {
    calls: Vec<String>,
    /// Files asked for by files.getUploadURLExternal: id → (name, length, bytes uploaded).
    uploads: HashMap<String, (String, usize, Option<Vec<u8>>)>,
    shared: Vec<SharedFile>,
    posted: Vec<Posted>,
    script: VecDeque<Failure>,
    channel_script: HashMap<String, VecDeque<Failure>>,
    broken_channels: HashMap<String, &'static str>,
    hold_after: Option<usize>,
    storm: Storm,
    post_calls: usize,
    updated: Vec<(String, String, String)>,
    edits: Vec<Posted>,
    responses: Vec<Value>,
    views: Vec<(String, Value)>,
    published: Vec<(String, Value)>,
    socket_connections: usize,
    acks: Vec<Value>,
}

/// A file shared by files.completeUploadExternal, with its message.
#[derive(Debug, Clone)]
pub struct SharedFile {
    pub channel: String,
    pub title: String,
    pub name: String,
    pub content: String,
    pub blocks: Value,
}

#[derive(Clone)]
struct Fake {
    inner: Arc<Mutex<Inner>>,
    socket: tokio::sync::broadcast::Sender<SocketCmd>,
    /// The WebSocket URL apps.connections.open hands out.
    socket_url: Arc<Mutex<String>>,
    /// Never notified: held requests wait until their client goes away.
    gate: Arc<Notify>,
}

pub struct FakeSlack {
    /// The base URL to configure as `[slack] api_url`.
    pub url: String,
    fake: Fake,
}

impl FakeSlack {
    pub async fn start() -> Self {
        let fake = Fake {
            inner: Arc::default(),
            socket: tokio::sync::broadcast::channel(64).0,
            socket_url: Arc::default(),
            gate: Arc::default(),
        };
        let app = Router::new()
            .route("/api/{method}", get(handle).post(handle))
            .route("/response/{id}", post(respond))
            .route("/upload/{id}", post(upload))
            .route("/socket", get(socket))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api", listener.local_addr().unwrap());
        *fake.socket_url.lock().unwrap() = format!("ws://{}/socket", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, fake }
    }

    pub fn fail_next(&self, f: Failure) {
        self.fake.inner.lock().unwrap().script.push_back(f);
    }

    /// Answers a share of chat.postMessage calls with 429s and 500s.
    pub fn storm(&self, storm: Storm) {
        self.fake.inner.lock().unwrap().storm = storm;
    }

    /// The next chat.postMessage to `channel` fails so.
    pub fn fail_next_in(&self, channel: &str, f: Failure) {
        self.fake.inner.lock().unwrap().channel_script.entry(channel.into()).or_default().push_back(f);
    }

    pub fn break_channel(&self, channel: &str, code: &'static str) {
        self.fake.inner.lock().unwrap().broken_channels.insert(channel.into(), code);
    }

    /// Accept `n` more messages, then hold every later one unanswered.
    pub fn hold_after(&self, n: usize) {
        let mut inner = self.fake.inner.lock().unwrap();
        inner.hold_after = Some(inner.posted.len() + n);
    }

    /// Stops holding later messages; those already held stay unanswered
    /// (their dispatcher was killed while waiting).
    pub fn release(&self) {
        self.fake.inner.lock().unwrap().hold_after = None;
    }

    /// Stops holding and answers the messages held so far: a slow Slack
    /// that catches up.
    pub fn answer_held(&self) {
        self.release();
        self.fake.gate.notify_waiters();
    }

    /// Every file shared (the upload flow of files.getUploadURLExternal,
    /// the upload URL and files.completeUploadExternal, done in order).
    pub fn shared(&self) -> Vec<SharedFile> {
        self.fake.inner.lock().unwrap().shared.clone()
    }

    pub fn posted(&self) -> Vec<Posted> {
        self.fake.inner.lock().unwrap().posted.clone()
    }

    /// (channel, ts, text) of every chat.update.
    pub fn updated(&self) -> Vec<(String, String, String)> {
        self.fake.inner.lock().unwrap().updated.clone()
    }

    /// Every chat.update as the message it leaves, blocks included.
    pub fn edits(&self) -> Vec<Posted> {
        self.fake.inner.lock().unwrap().edits.clone()
    }

    /// A response URL, as Slack puts in interaction payloads.
    pub fn response_url(&self, id: &str) -> String {
        format!("{}/response/{id}", self.url.trim_end_matches("/api"))
    }

    /// Bodies posted to response URLs.
    pub fn responses(&self) -> Vec<Value> {
        self.fake.inner.lock().unwrap().responses.clone()
    }

    /// (trigger_id, view) of every views.open.
    pub fn views(&self) -> Vec<(String, Value)> {
        self.fake.inner.lock().unwrap().views.clone()
    }

    /// (user_id, view) of every views.publish (App Home).
    pub fn published(&self) -> Vec<(String, Value)> {
        self.fake.inner.lock().unwrap().published.clone()
    }

    /// Sends a Socket Mode envelope to the connected client(s).
    pub fn socket_send(&self, envelope: Value) {
        let _ = self.fake.socket.send(SocketCmd::Send(envelope.to_string()));
    }

    /// Drops the Socket Mode connection mid-stream, as a network failure would.
    pub fn socket_drop(&self) {
        let _ = self.fake.socket.send(SocketCmd::Drop);
    }

    /// How many Socket Mode connections were opened so far.
    pub fn socket_connections(&self) -> usize {
        self.fake.inner.lock().unwrap().socket_connections
    }

    /// The acknowledgements the client sent, in order.
    pub fn acks(&self) -> Vec<Value> {
        self.fake.inner.lock().unwrap().acks.clone()
    }

    /// Method names in call order (`conversations.open`, `chat.postMessage`, …).
    pub fn calls(&self) -> Vec<String> {
        self.fake.inner.lock().unwrap().calls.clone()
    }
}

/// A Socket Mode connection: `hello`, then what the test sends; every
/// message the client sends is an acknowledgement, recorded.
async fn socket(State(fake): State<Fake>, upgrade: axum::extract::ws::WebSocketUpgrade) -> Response {
    use axum::extract::ws::Message;
    upgrade.on_upgrade(move |mut ws| async move {
        let mut commands = fake.socket.subscribe();
        fake.inner.lock().unwrap().socket_connections += 1;
        let hello = json!({ "type": "hello", "num_connections": 1, "debug_info": { "host": "fake-slack" },
            "connection_info": { "app_id": "A123456" } });
        if ws.send(Message::Text(hello.to_string().into())).await.is_err() {
            return;
        }
        loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Ok(SocketCmd::Send(text)) => {
                        if ws.send(Message::Text(text.into())).await.is_err() {
                            return;
                        }
                    }
                    // Gone without a close frame, as a dropped network would be.
                    Ok(SocketCmd::Drop) | Err(_) => return,
                },
                msg = ws.recv() => match msg {
                    Some(Ok(Message::Text(text))) => {
                        let ack: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        fake.inner.lock().unwrap().acks.push(ack);
                    }
                    Some(Ok(_)) => {}
                    _ => return,
                },
            }
        }
    })
}

fn ok(body: Value) -> Response {
    let mut body = body;
    body["ok"] = true.into();
    axum::Json(body).into_response()
}

fn api_error(code: &str) -> Response {
    axum::Json(json!({ "ok": false, "error": code })).into_response()
}

/// Web API methods take JSON bodies or, for reads, query parameters.
async fn handle(
    State(fake): State<Fake>,
    Path(method): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let authorized = bearer.as_deref() == Some(&format!("Bearer {TOKEN}"));
    fake.inner.lock().unwrap().calls.push(method.clone());
    if method == "apps.connections.open" {
        // An app-level token, not the bot's (api.slack.com/methods/apps.connections.open).
        return match bearer.as_deref() == Some(&format!("Bearer {APP_TOKEN}")) {
            true => ok(json!({ "url": fake.socket_url.lock().unwrap().clone() })),
            false => api_error("invalid_auth"),
        };
    }
    if !authorized {
        return api_error("not_authed");
    }
    let mut req: Value = serde_json::from_str(&body).unwrap_or_else(|_| json!({}));
    for (k, v) in query {
        req[k] = v.into();
    }
    match method.as_str() {
        "conversations.open" => {
            let user = req["users"].as_str().or_else(|| req["users"][0].as_str()).unwrap_or_default();
            ok(json!({ "channel": { "id": format!("D{}", user.trim_start_matches('U')) } }))
        }
        "chat.postMessage" => post_message(fake, req).await,
        // api.slack.com/methods/files.getUploadURLExternal: filename and length required.
        "files.getUploadURLExternal" => {
            let (Some(name), Some(length)) =
                (req["filename"].as_str(), req["length"].as_str().and_then(|l| l.parse::<usize>().ok()))
            else {
                return api_error("invalid_arguments");
            };
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default().to_owned();
            let mut inner = fake.inner.lock().unwrap();
            let id = format!("F{:08}", inner.uploads.len() + 1);
            inner.uploads.insert(id.clone(), (name.to_owned(), length, None));
            ok(json!({ "upload_url": format!("http://{host}/upload/{id}"), "file_id": id }))
        }
        // api.slack.com/methods/files.completeUploadExternal: every file uploaded, in full.
        "files.completeUploadExternal" => {
            let files = match &req["files"] {
                Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                other => other.clone(),
            };
            let mut inner = fake.inner.lock().unwrap();
            let mut done = Vec::new();
            for f in files.as_array().cloned().unwrap_or_default() {
                let id = f["id"].as_str().unwrap_or_default();
                let Some((name, length, Some(bytes))) = inner.uploads.get(id).cloned() else {
                    return api_error("file_not_found");
                };
                if bytes.len() != length {
                    return api_error("file_upload_size_mismatch");
                }
                let title = f["title"].as_str().unwrap_or(&name).to_owned();
                done.push(json!({ "id": id, "name": name, "title": title }));
                inner.shared.push(SharedFile {
                    channel: req["channel_id"].as_str().unwrap_or_default().to_owned(),
                    title,
                    name,
                    content: String::from_utf8_lossy(&bytes).into_owned(),
                    blocks: req["blocks"].clone(),
                });
            }
            ok(json!({ "files": done }))
        }
        "chat.update" => {
            let s = |k: &str| req[k].as_str().unwrap_or_default().to_owned();
            let mut inner = fake.inner.lock().unwrap();
            inner.updated.push((s("channel"), s("ts"), s("text")));
            let edit = Posted {
                channel: s("channel"),
                text: s("text"),
                blocks: req["blocks"].clone(),
                at: chrono::Utc::now(),
                key: None,
            };
            inner.edits.push(edit);
            drop(inner);
            let message = json!({ "text": req["text"], "type": "message", "bot_id": "B0DESKBELL", "ts": req["ts"] });
            ok(json!({ "channel": req["channel"], "ts": req["ts"], "text": req["text"], "message": message }))
        }
        "views.open" => {
            let trigger = req["trigger_id"].as_str().unwrap_or_default().to_owned();
            fake.inner.lock().unwrap().views.push((trigger, req["view"].clone()));
            // The view as Slack echoes it (api.slack.com/methods/views.open).
            let mut view = req["view"].clone();
            for (k, v) in [
                ("id", json!("V0DESKBELL1")),
                ("team_id", json!("T0001")),
                ("state", json!({ "values": {} })),
                ("hash", json!("1569362015.55b5e41b")),
                ("clear_on_close", json!(false)),
                ("notify_on_close", json!(false)),
                ("root_view_id", json!("V0DESKBELL1")),
                ("previous_view_id", Value::Null),
                ("app_id", json!("A123456")),
                ("external_id", json!("")),
                ("bot_id", json!("B0DESKBELL")),
            ] {
                view[k] = v;
            }
            ok(json!({ "view": view }))
        }
        "views.publish" => {
            let user = req["user_id"].as_str().unwrap_or_default().to_owned();
            fake.inner.lock().unwrap().published.push((user, req["view"].clone()));
            let mut view = req["view"].clone();
            view["id"] = json!("V0HOME0001");
            ok(json!({ "view": view }))
        }
        "auth.test" => ok(json!({
            "url": "https://deskbell-test.slack.com/",
            "team": "Deskbell Test",
            "user": "deskbell",
            "team_id": "T0DESK001",
            "user_id": "U0BOT0001",
            "bot_id": "B0DESKBELL",
            "is_enterprise_install": false,
        })),
        "users.lookupByEmail" => match req["email"].as_str() {
            Some("ann@example.edu") => ok(json!({ "user": { "id": "UANN00001", "team_id": "T0001", "name": "ann" } })),
            _ => api_error("users_not_found"),
        },
        _ => api_error("unknown_method"),
    }
}

async fn post_message(fake: Fake, req: Value) -> Response {
    let channel = req["channel"].as_str().unwrap_or_default().to_owned();
    let held = {
        let mut inner = fake.inner.lock().unwrap();
        inner.post_calls += 1;
        let (n, storm) = (inner.post_calls, inner.storm);
        let stormy = if storm.rate_limited > 0 && n % storm.rate_limited == 0 {
            Some(Failure::RateLimited { retry_after_secs: storm.retry_after_secs })
        } else if storm.server_error > 0 && n % storm.server_error == 1 {
            Some(Failure::ServerError)
        } else {
            None
        };
        let scripted = inner.channel_script.get_mut(&channel).and_then(VecDeque::pop_front);
        if let Some(failure) = scripted.or_else(|| inner.script.pop_front()).or(stormy) {
            return match failure {
                Failure::RateLimited { retry_after_secs } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, retry_after_secs.to_string())],
                    axum::Json(json!({ "ok": false, "error": "ratelimited" })),
                )
                    .into_response(),
                Failure::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
            };
        }
        if let Some(code) = inner.broken_channels.get(&channel) {
            return api_error(code);
        }
        inner.hold_after.is_some_and(|n| inner.posted.len() >= n)
    };
    if held {
        // The dispatcher is killed while waiting here; nothing is recorded.
        fake.gate.notified().await;
    }
    let mut inner = fake.inner.lock().unwrap();
    let text = req["text"].as_str().unwrap_or_default().to_owned();
    let at = chrono::Utc::now();
    let key = req["metadata"]["event_payload"]["key"].as_str().map(str::to_owned);
    inner.posted.push(Posted { channel: channel.clone(), text: text.clone(), blocks: req["blocks"].clone(), at, key });
    let ts = format!("1700000000.{:06}", inner.posted.len());
    ok(json!({
        "channel": channel,
        "ts": ts,
        "message": { "text": text, "type": "message", "subtype": "bot_message", "bot_id": "B0DESKBELL", "ts": ts },
    }))
}

/// Response URLs take any JSON and answer `ok` as text, as Slack's do.
async fn respond(State(fake): State<Fake>, body: String) -> Response {
    fake.inner.lock().unwrap().responses.push(serde_json::from_str(&body).unwrap_or_default());
    "ok".into_response()
}

/// The upload URL files.getUploadURLExternal handed out: the raw bytes,
/// answered as Slack does (`OK - <length>`, plain text).
async fn upload(State(fake): State<Fake>, Path(id): Path<String>, body: axum::body::Bytes) -> Response {
    let mut inner = fake.inner.lock().unwrap();
    match inner.uploads.get_mut(&id) {
        Some(file) => {
            file.2 = Some(body.to_vec());
            format!("OK - {}", body.len()).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such upload").into_response(),
    }
}
