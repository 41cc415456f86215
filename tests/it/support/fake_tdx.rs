//! A fake TeamDynamix Web API on loopback: admin login returning a JWT as
//! text, Bearer-checked ticket, task, feed and asset endpoints in TDX's JSON
//! (PascalCase), a 429 past 60 calls a minute, and a log of every call.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub const BEID: &str = "beid-0001";
pub const KEY: &str = "web-services-key";
pub const USER: &str = "svc-deskbell";
pub const PASSWORD: &str = "correct horse";

#[derive(Default)]
struct Inner {
    logins: usize,
    calls: Vec<String>,
    assets: HashSet<String>,
    /// Where assets are, as TDX's LocationName and LocationRoomName.
    locations: HashMap<String, (String, String)>,
    tickets: HashMap<i64, Value>,
    tasks: HashMap<i64, Vec<Value>>,
    feed: Vec<(i64, Value)>,
    task_feed: Vec<(i64, i64, Value)>,
    next_id: i64,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<Inner>>);

pub struct FakeTdx {
    /// The base to configure as `[tdx] base_url`.
    pub url: String,
    fake: Fake,
}

impl FakeTdx {
    pub async fn start() -> Self {
        let fake = Fake::default();
        fake.0.lock().unwrap().next_id = 480_000;
        let app = Router::new()
            .route("/TDWebApi/api/auth/loginadmin", post(login))
            .route("/TDWebApi/api/auth/login", post(login))
            .route("/TDWebApi/api/{app}/assets/search", post(asset_search))
            .route("/TDWebApi/api/{app}/tickets", post(create_ticket))
            .route("/TDWebApi/api/{app}/tickets/{id}", get(get_ticket))
            .route("/TDWebApi/api/{app}/tickets/{id}/feed", post(ticket_feed))
            .route("/TDWebApi/api/{app}/tickets/{id}/tasks", get(list_tasks).post(add_task))
            .route("/TDWebApi/api/{app}/tickets/{id}/tasks/{task}", axum::routing::put(update_task))
            .route("/TDWebApi/api/{app}/tickets/{id}/tasks/{task}/feed", post(task_feed))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/TDWebApi", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, fake }
    }

    /// TDX knows this replacement serial from now on.
    pub fn add_asset(&self, serial: &str) {
        self.fake.0.lock().unwrap().assets.insert(serial.into());
    }

    /// TDX knows this serial, in `building`, room `room`.
    pub fn add_asset_at(&self, serial: &str, building: &str, room: &str) {
        let mut inner = self.fake.0.lock().unwrap();
        inner.assets.insert(serial.into());
        inner.locations.insert(serial.into(), (building.into(), room.into()));
    }

    /// Sets a ticket's status class (3 = Completed).
    pub fn set_status(&self, id: i64, class: i64, name: &str) {
        let mut inner = self.fake.0.lock().unwrap();
        let t = inner.tickets.get_mut(&id).expect("a created ticket");
        t["StatusClass"] = class.into();
        t["StatusName"] = name.into();
    }

    pub fn tickets(&self) -> HashMap<i64, Value> {
        self.fake.0.lock().unwrap().tickets.clone()
    }

    pub fn tasks(&self, ticket: i64) -> Vec<Value> {
        self.fake.0.lock().unwrap().tasks.get(&ticket).cloned().unwrap_or_default()
    }

    /// (task id, feed entry) of every task feed post.
    pub fn task_feed(&self) -> Vec<(i64, i64, Value)> {
        self.fake.0.lock().unwrap().task_feed.clone()
    }

    pub fn feed(&self) -> Vec<(i64, Value)> {
        self.fake.0.lock().unwrap().feed.clone()
    }

    pub fn logins(&self) -> usize {
        self.fake.0.lock().unwrap().logins
    }

    /// "METHOD path" of every call (logins included), in order.
    pub fn calls(&self) -> Vec<String> {
        self.fake.0.lock().unwrap().calls.clone()
    }
}

/// The answer to a call that may not go through (no token, over the limit).
fn refused(fake: &Fake, headers: &HeaderMap, call: String) -> Option<Response> {
    let mut inner = fake.0.lock().unwrap();
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if bearer != format!("Bearer jwt-{}", inner.logins) || inner.logins == 0 {
        // A refused call still counts against TDX's rate limit.
        inner.calls.push(format!("{call} (401)"));
        return Some((StatusCode::UNAUTHORIZED, "unauthorized").into_response());
    }
    if inner.calls.len() > 60 {
        return Some((StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "60")], "rate limited").into_response());
    }
    inner.calls.push(call);
    None
}

fn next_id(fake: &Fake) -> i64 {
    let mut inner = fake.0.lock().unwrap();
    inner.next_id += 1;
    inner.next_id
}

async fn login(State(fake): State<Fake>, uri: axum::http::Uri, body: String) -> Response {
    let creds: Value = serde_json::from_str(&body).unwrap_or_default();
    fake.0.lock().unwrap().calls.push(format!("POST {}", uri.path().trim_start_matches("/TDWebApi/api/")));
    let admin = creds["BEID"] == BEID && creds["WebServicesKey"] == KEY;
    let user = creds["username"] == USER && creds["password"] == PASSWORD;
    if !admin && !user {
        return (StatusCode::UNAUTHORIZED, "invalid credentials").into_response();
    }
    let mut inner = fake.0.lock().unwrap();
    inner.logins += 1;
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("jwt-{}", inner.logins)).into_response()
}

async fn asset_search(State(fake): State<Fake>, Path(app): Path<i64>, headers: HeaderMap, body: String) -> Response {
    if let Some(r) = refused(&fake, &headers, format!("POST {app}/assets/search")) {
        return r;
    }
    let serial =
        serde_json::from_str::<Value>(&body).unwrap_or_default()["SerialLike"].as_str().unwrap_or_default().to_owned();
    let inner = fake.0.lock().unwrap();
    let (place, room) = inner.locations.get(&serial).cloned().unwrap_or_default();
    let found = if inner.assets.contains(&serial) {
        vec![json!({
            "ID": 9000 + serial.len(), "SerialNumber": serial, "AppID": app,
            "LocationName": place, "LocationRoomName": room,
        })]
    } else {
        vec![]
    };
    axum::Json(found).into_response()
}

async fn create_ticket(State(fake): State<Fake>, Path(app): Path<i64>, headers: HeaderMap, body: String) -> Response {
    if let Some(r) = refused(&fake, &headers, format!("POST {app}/tickets")) {
        return r;
    }
    let mut ticket: Value = serde_json::from_str(&body).unwrap_or_default();
    let id = next_id(&fake);
    ticket["ID"] = id.into();
    ticket["AppID"] = app.into();
    ticket["StatusName"] = "New".into();
    ticket["StatusClass"] = 1.into();
    fake.0.lock().unwrap().tickets.insert(id, ticket.clone());
    axum::Json(ticket).into_response()
}

async fn get_ticket(State(fake): State<Fake>, Path((app, id)): Path<(i64, i64)>, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&fake, &headers, format!("GET {app}/tickets/{id}")) {
        return r;
    }
    match fake.0.lock().unwrap().tickets.get(&id) {
        Some(t) => axum::Json(t.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

async fn ticket_feed(
    State(fake): State<Fake>,
    Path((app, id)): Path<(i64, i64)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = refused(&fake, &headers, format!("POST {app}/tickets/{id}/feed")) {
        return r;
    }
    fake.0.lock().unwrap().feed.push((id, serde_json::from_str(&body).unwrap_or_default()));
    axum::Json(json!({ "ID": next_id(&fake), "Body": "" })).into_response()
}

async fn add_task(
    State(fake): State<Fake>,
    Path((app, id)): Path<(i64, i64)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = refused(&fake, &headers, format!("POST {app}/tickets/{id}/tasks")) {
        return r;
    }
    let mut task: Value = serde_json::from_str(&body).unwrap_or_default();
    task["ID"] = next_id(&fake).into();
    task["TicketID"] = id.into();
    task["PercentComplete"] = 0.into();
    fake.0.lock().unwrap().tasks.entry(id).or_default().push(task.clone());
    axum::Json(task).into_response()
}

async fn list_tasks(State(fake): State<Fake>, Path((app, id)): Path<(i64, i64)>, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&fake, &headers, format!("GET {app}/tickets/{id}/tasks")) {
        return r;
    }
    axum::Json(fake.0.lock().unwrap().tasks.get(&id).cloned().unwrap_or_default()).into_response()
}

async fn update_task(
    State(fake): State<Fake>,
    Path((app, id, task)): Path<(i64, i64, i64)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = refused(&fake, &headers, format!("PUT {app}/tickets/{id}/tasks/{task}")) {
        return r;
    }
    let update: Value = serde_json::from_str(&body).unwrap_or_default();
    let mut inner = fake.0.lock().unwrap();
    let Some(t) = inner.tasks.get_mut(&id).and_then(|ts| ts.iter_mut().find(|t| t["ID"] == task)) else {
        return (StatusCode::NOT_FOUND, "no such task").into_response();
    };
    for key in ["StartDate", "EndDate"] {
        t[key] = update[key].clone();
    }
    axum::Json(t.clone()).into_response()
}

async fn task_feed(
    State(fake): State<Fake>,
    Path((app, id, task)): Path<(i64, i64, i64)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = refused(&fake, &headers, format!("POST {app}/tickets/{id}/tasks/{task}/feed")) {
        return r;
    }
    let entry: Value = serde_json::from_str(&body).unwrap_or_default();
    let mut inner = fake.0.lock().unwrap();
    if let Some(t) = inner.tasks.get_mut(&id).and_then(|ts| ts.iter_mut().find(|t| t["ID"] == task)) {
        t["PercentComplete"] = entry["PercentComplete"].clone();
    }
    inner.task_feed.push((id, task, entry));
    axum::Json(json!({ "ID": 1, "Body": "" })).into_response()
}
