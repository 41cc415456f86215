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
    settings.server.calendar_secret = Some("calendar-key".into());
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

#[tokio::test]
async fn a_team_calendar_is_served_only_with_its_token() {
    use chrono::{Duration, Utc};
    use deskbell::domain::SlackChannelId;
    let app = spawn_app().await;
    let store = &app.res.store;
    let team = store.upsert_team("NIT North", &SlackChannelId::parse("C0NORTH01").unwrap(), "umich").await.unwrap();
    let other = store.upsert_team("NIT South", &SlackChannelId::parse("C0SOUTH01").unwrap(), "umich").await.unwrap();
    let start = Utc::now() + Duration::days(2);
    store.add_slot(team, start, start + Duration::hours(1), 2).await.unwrap();
    let client = deskbell::net::http_client(std::time::Duration::from_secs(10));
    let get = |path: String| client.get(format!("{}{path}", app.address)).send();
    let token = deskbell::http::calendar_token(&"calendar-key".into(), team);

    assert_eq!(get(format!("/calendar/{team}.ics")).await.unwrap().status(), 403, "no token");
    let others = deskbell::http::calendar_token(&"calendar-key".into(), other);
    assert_eq!(
        get(format!("/calendar/{team}.ics?token={others}")).await.unwrap().status(),
        403,
        "another team's token"
    );
    let resp = get(format!("/calendar/{team}.ics?token={token}")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/calendar; charset=utf-8");
    let ics = resp.text().await.unwrap();
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 1);
    assert!(
        ics.contains("X-WR-TIMEZONE:America/Detroit") && ics.contains("SUMMARY:Refresh slot (0 of 2 booked)"),
        "{ics}"
    );
    let nobody = deskbell::http::calendar_token(&"calendar-key".into(), deskbell::domain::TeamId(99));
    assert_eq!(get(format!("/calendar/99.ics?token={nobody}")).await.unwrap().status(), 404);
}
