//! The application built in-process on port 0, as every HTTP test will use it.

use std::sync::Arc;

use deskbell::clock::SystemClock;
use deskbell::config::Settings;
use deskbell::startup::{Application, Resources};

pub struct TestApp {
    pub address: String,
    pub res: Resources,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.server.bind = "127.0.0.1:0".parse().unwrap();
    settings.database.url = format!("sqlite://{}/deskbell.db", dir.path().display());
    settings.refresh.calendars_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/config/calendars").into();
    settings.templates.dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates").into();
    let res = Resources::open(&settings).await.unwrap();
    settings.templates.dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates").into();
    settings.email.drop_dir = dir.path().join("mail");
    settings.slack.log_file = dir.path().join("slack.jsonl");
    let app = Application::build(&settings, &res, Arc::new(SystemClock)).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp { address, res, _dir: dir }
}

#[tokio::test]
async fn health_and_readiness_follow_the_database() {
    let app = spawn_app().await;
    let client = deskbell::net::http_client(std::time::Duration::from_secs(10));
    let get = |path: &str| client.get(format!("{}{path}", app.address)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    app.res.store.close().await;
    assert_eq!(get("/readyz").await.unwrap().status(), 503, "not ready without a database");
    assert_eq!(get("/healthz").await.unwrap().status(), 200, "but still alive");
    assert_eq!(get("/nope").await.unwrap().status(), 404);
}
