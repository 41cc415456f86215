//! A refresh from invite to TDX request through public interfaces only —
//! files and the CLI, HTTP, signed Slack requests, fake Slack and TDX —
//! on a simulated clock: `directory sync` and `import refresh-batch`, the
//! invite with its link, the page, an approval DM to every approver, the
//! Approve click, the bulk replacement API, the slot invitation and the
//! pick, the TDX request and the team alert; and a ticket nobody answers,
//! given its location by a refresh manager from the team's alert.

use chrono::Duration;
use deskbell::domain::RefreshTicketId;
use deskbell::domain::refresh::RefreshStatus;
use serde_json::json;

use crate::support::app::TestApp;
use crate::support::fake_slack::FakeSlack;
use crate::support::fake_tdx::FakeTdx;

const DIRECTORY: &str = r#"
[[people]]
name = "Ann Approver"
email = "ann@example.edu"
slack_user = "UANN00001"
roles = ["approver"]

[[people]]
name = "Abe Approver"
email = "abe@example.edu"
slack_user = "UABE00001"
roles = ["approver"]

[[people]]
name = "Rita Manager"
email = "rita@example.edu"
slack_user = "URITA0001"
roles = ["refresh_manager"]

[[teams]]
name = "NIT North"
slack_channel = "CNORTH001"
calendar = "umich"
slots = [
  { weekday = "Mon", start = "09:00", length_minutes = 60, capacity = 2 },
  { weekday = "Wed", start = "09:00", length_minutes = 60, capacity = 2 },
  { weekday = "Fri", start = "09:00", length_minutes = 60, capacity = 2 },
]

[[configs]]
name = "LSA 2027"
approvers = ["ann@example.edu", "abe@example.edu"]
approved_models = [{ model = "Latitude 7450", platform = "windows" }]
options = { can_customize_computer = true }
"#;

const BATCH: &str = "serial,platform,style,team,config,model,customer_name,customer_email,location\n\
OLD-CARA,windows,on_prem,NIT North,LSA 2027,Latitude 5400,Cara Customer,cara@example.edu,Angell Hall 1010\n\
OLD-SAM,windows,on_prem,NIT North,LSA 2027,Latitude 5400,Sam Silent,sam@example.edu,\n";

fn run(app: &TestApp, args: &[&str]) -> String {
    let out = app.command().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The decoded text of every mail to `to`.
fn mail_to(app: &TestApp, to: &str) -> Vec<String> {
    app.mail()
        .iter()
        .filter(|m| m.contains(&format!("To: {to}")))
        .map(|m| mail_parser::MessageParser::default().parse(m.as_bytes()).unwrap().body_text(0).unwrap().into_owned())
        .collect()
}

/// The path of the first `http://deskbell.test/<kind>/…` link in `text`.
fn link(text: &str, kind: &str) -> String {
    let start = text.find(&format!("http://deskbell.test/{kind}/")).expect("a link") + "http://deskbell.test".len();
    text[start..].split(|c: char| c.is_whitespace() || c == ']' || c == '>').next().unwrap().to_owned()
}

async fn status(app: &TestApp, t: i64) -> RefreshStatus {
    app.res.store.load_refresh(RefreshTicketId(t)).await.unwrap().value.status
}

async fn until(app: &TestApp, days: i64, what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..days * 4 {
        if done().await {
            return;
        }
        app.advance_clock(Duration::hours(6)).await;
    }
    panic!("{what} did not happen within {days} days");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_goes_from_invite_to_tdx_request_on_sqlite() {
    from_invite_to_tdx_request(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_goes_from_invite_to_tdx_request_on_postgres() {
    from_invite_to_tdx_request(Some(crate::support::postgres::fresh_database_url().await)).await;
}

async fn from_invite_to_tdx_request(database_url: Option<String>) {
    let (slack, tdx) = (FakeSlack::start().await, FakeTdx::start().await);
    let app =
        TestApp::builder().database(database_url).slack(&slack).tdx(&tdx).sim_clock().open_all_hours().start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("directory.toml"), DIRECTORY).unwrap();
    std::fs::write(dir.path().join("batch.csv"), BATCH).unwrap();
    run(&app, &["directory", "sync", dir.path().join("directory.toml").to_str().unwrap()]);
    let imported = run(&app, &["import", "refresh-batch", dir.path().join("batch.csv").to_str().unwrap()]);
    assert!(imported.contains("imported 2 refresh ticket(s): R-1, R-2"), "{imported}");

    // The invite carries the page's link; Cara asks for another device.
    until(&app, 5, "Cara's invite", async || !mail_to(&app, "cara@example.edu").is_empty()).await;
    let page = link(&mail_to(&app, "cara@example.edu")[0], "refresh");
    let client = deskbell::net::http_client(std::time::Duration::from_secs(10));
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let body = serde_html_form::to_string(&form).unwrap();
        client
            .post(format!("{}{path}", app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let submit = vec![
        ("step", "submit".to_owned()),
        ("location", "Angell Hall 1010".to_owned()),
        ("device", "none".to_owned()),
        ("reason", "I render video".to_owned()),
    ];
    assert_eq!(post(page.clone(), submit).await.unwrap().status(), 200);
    assert_eq!(status(&app, 1).await, RefreshStatus::RequiresApproval);
    app.deliver_outbox().await;
    let mut asked: Vec<String> = slack
        .posted()
        .iter()
        .filter(|p| p.text.starts_with("Approval needed: R-1"))
        .map(|p| p.channel.clone())
        .collect();
    asked.sort();
    assert_eq!(asked, ["DABE00001", "DANN00001"], "every approver is asked in a DM");

    // Ann approves; Depot assigns the replacement through the API.
    assert_eq!(app.click(&slack, "UANN00001", "trigger-ann", "approve", "R-1").await, 200);
    assert_eq!(status(&app, 1).await, RefreshStatus::PendingOrdering);
    tdx.add_asset("NEW-CARA");
    let replacements = client
        .post(format!("{}/api/v1/refresh/replacements", app.address))
        .bearer_auth("depot-token")
        .json(&json!([{ "existing_serial": "OLD-CARA", "replacement_serial": "NEW-CARA", "platform": "windows" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(replacements.status(), 200, "{}", replacements.text().await.unwrap());

    // TDX knows the system; slots are generated and Cara is invited to pick.
    until(&app, 5, "the slot invitation", async || status(&app, 1).await == RefreshStatus::PendingCustomerScheduling)
        .await;
    let invitation =
        mail_to(&app, "cara@example.edu").into_iter().find(|m| m.contains("/pick/R-1")).expect("a slot invitation");
    let pick = link(&invitation, "pick");
    let page_html = client.get(format!("{}{pick}", app.address)).send().await.unwrap().text().await.unwrap();
    let slot = page_html
        .split(r#"name="slot" value=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a free slot")
        .to_owned();
    assert_eq!(post(pick, vec![("slot", slot)]).await.unwrap().status(), 200);
    assert_eq!(status(&app, 1).await, RefreshStatus::DeliveryScheduled);

    // The TDX request is created and the team alerted in its channel.
    app.advance_clock(Duration::minutes(5)).await;
    assert!(tdx.tickets().values().any(|t| t["Title"].as_str().is_some_and(|t| t.starts_with("Computer refresh R-1"))));
    assert!(slack.posted().iter().any(|p| p.channel == "CNORTH001" && p.text.contains("R-1")), "the team alert");

    // Sam never answers: after 14 business days his team provides the location.
    // 14 business days; the test starts today (the CLI import runs on the
    // real clock), so they may span the winter holidays: up to 60 days.
    until(&app, 60, "Sam's ticket to need a location", async || {
        status(&app, 2).await == RefreshStatus::PendingLocationInformation
    })
    .await;
    let alert = slack
        .posted()
        .into_iter()
        .find(|p| p.channel == "CNORTH001" && p.text.contains("Location information needed for R-2"))
        .expect("the alert");
    assert_eq!(alert.blocks[1]["elements"][0]["action_id"], "provide_location");
    app.click(&slack, "URITA0001", "trigger-rita", "provide_location", "R-2").await;
    let given = json!({ "location": { "location": { "type": "plain_text_input", "value": "Mason Hall 2200" } } });
    let (code, _) = app.submit_view("URITA0001", "location", "R-2", given).await;
    assert_eq!(code, 200);
    assert_eq!(status(&app, 2).await, RefreshStatus::PendingOrdering);
}
