//! The App Home as Slack drives it: signed `app_home_opened` events, the
//! `views.publish` calls the fake Slack records, one Home per role, its
//! buttons through the same authorization as the messages', republishing
//! gathered per person, and the size cut.

use chrono::Duration;
use deskbell::domain::refresh::RefreshEvent;
use deskbell::domain::service::Priority;
use deskbell::domain::{Actor, AuditField, Email, Role, SlackUserId, TimerKind};
use deskbell::store::NewPerson;
use serde_json::{Value, json};

use crate::support::app::TestApp;
use crate::support::fake_slack::FakeSlack;
use crate::support::{fixture, incident};

fn opened(event_id: &str, user: &str) -> String {
    json!({
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "team_id": "T0001",
        "api_app_id": "A123456",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1_767_000_000,
        "event": { "type": "app_home_opened", "user": user, "channel": "D0HOME001", "tab": "home", "event_ts": "1767000000.000100" },
    })
    .to_string()
}

async fn open_home(app: &TestApp, event_id: &str, user: &str) {
    assert_eq!(app.slack_post("/slack/events", opened(event_id, user), 0, true).await.status(), 200);
    app.deliver_outbox().await;
}

/// The last Home published for `user`, as text.
fn home(slack: &FakeSlack, user: &str) -> (Value, String) {
    let (_, view) = slack.published().into_iter().rev().find(|(u, _)| u == user).expect("a Home published");
    let text = view.to_string();
    (view, text)
}

fn buttons(view: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for b in view["blocks"].as_array().unwrap() {
        let elements = b["elements"].as_array().cloned().unwrap_or_default();
        for e in elements.iter().chain(b.get("accessory")).filter(|e| e["type"] == "button") {
            out.push((e["action_id"].as_str().unwrap().to_owned(), e["value"].as_str().unwrap().to_owned()));
        }
    }
    out
}

async fn desk() -> (TestApp, FakeSlack) {
    let slack = FakeSlack::start().await;
    let app = TestApp::builder().slack(&slack).sim_clock().open_all_hours().start().await;
    (app, slack)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_sees_its_own_home_and_its_buttons_work_with_the_same_rights() {
    let (app, slack) = desk().await;
    let store = &app.res.store;
    let f = fixture(store).await;
    let rae = NewPerson {
        name: "Rae Admin".into(),
        email: Email::parse("rae@example.edu").unwrap(),
        slack_user: Some(SlackUserId::parse("URAE00001").unwrap()),
        roles: vec![Role::RefreshAdmin],
    };
    store.upsert_person(&rae).await.unwrap();
    let w = app.workflow();
    let waiting = app.create(&f, "HOME1").await;
    let walked =
        RefreshEvent::WizardCompleted { needs_approval: true, location: None, shipping_address: None, answers: None };
    w.refresh(waiting, &Actor::System, walked).await.unwrap();
    let lost = app.create(&f, "HOME2").await;
    w.refresh(lost, &Actor::System, RefreshEvent::TimerFired { kind: TimerKind::WizardExpired, step: 0 })
        .await
        .unwrap();
    w.create_service(incident(&f, Priority::P1), &Actor::System).await.unwrap();
    app.deliver_outbox().await;

    // The approver: what awaits them, with the buttons.
    open_home(&app, "EvH1", "UANN00001").await;
    let (ann, text) = home(&slack, "UANN00001");
    assert_eq!(ann["type"], "home");
    assert!(text.contains("Awaiting your approval") && text.contains("*R-1* Cara Customer"), "{text}");
    assert!(text.contains("*LSA 2026*: pending location information 1 · requires approval 1"), "{text}");
    assert_eq!(buttons(&ann), [("approve".into(), "R-1".into()), ("deny".into(), "R-1".into())]);
    assert!(!text.contains("Problems") && !text.contains("Open service tickets"), "{text}");

    // The refresh admin: the Problems, with Provide location.
    open_home(&app, "EvH2", "URAE00001").await;
    let (rae, text) = home(&slack, "URAE00001");
    assert!(text.contains("Problems") && text.contains("*R-2* Cara Customer: no location"), "{text}");
    assert_eq!(buttons(&rae), [("provide_location".into(), "R-2".into())]);

    // The dispatcher: the queue by SLA with its state.
    open_home(&app, "EvH3", "UEVE00001").await;
    let (eve, text) = home(&slack, "UEVE00001");
    assert!(text.contains("*S-1* P1 — VPN down") && text.contains("due in"), "{text}");
    assert_eq!(buttons(&eve), [("assign_to_me".into(), "S-1".into()), ("acknowledge".into(), "S-1".into())]);

    // Someone deskbell does not know.
    open_home(&app, "EvH4", "UNOBODY01").await;
    assert!(home(&slack, "UNOBODY01").1.contains("does not know your Slack account"));

    // Eve presses Approve on R-1 (a forged view): refused as in a message, told by DM, audited.
    assert_eq!(app.click_home("UEVE00001", "trig-eve", "approve", "R-1").await, 200);
    app.deliver_outbox().await;
    let told = slack.posted().into_iter().rev().find(|p| p.channel == "DEVE00001").unwrap();
    assert!(told.text.contains("Only approvers of LSA 2026"), "{}", told.text);
    let audits = store.audits(waiting.into()).await.unwrap();
    assert!(audits.iter().any(|a| a.change.what == AuditField::Refused));

    // Ann approves from her Home: the Homes showing it are republished once the window closes.
    let before = slack.published().len();
    assert_eq!(app.click_home("UANN00001", "trig-ann", "approve", "R-1").await, 200);
    let eve_takes = app.click_home("UEVE00001", "trig-eve2", "assign_to_me", "S-1").await;
    assert_eq!(eve_takes, 200);
    app.deliver_outbox().await;
    assert_eq!(slack.published().len(), before, "gathered, not yet published");
    app.advance_clock(Duration::seconds(6)).await;
    let after: Vec<String> = slack.published()[before..].iter().map(|(u, _)| u.clone()).collect();
    let mut once = after.clone();
    once.sort();
    once.dedup();
    assert_eq!(once.len(), after.len(), "one publish per person per window: {after:?}");
    assert!(after.contains(&"UANN00001".to_owned()) && after.contains(&"UEVE00001".to_owned()), "{after:?}");
    assert!(home(&slack, "UANN00001").1.contains("Nothing awaits your decision."));
    assert!(home(&slack, "UEVE00001").1.contains("Eve Engineer"), "the queue shows the assignee");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_home_is_cut_within_slacks_limits_with_a_count_and_a_hint() {
    let (app, slack) = desk().await;
    let store = &app.res.store;
    let f = fixture(store).await;
    let w = app.workflow();
    let batch = (0..60).map(|i| crate::support::new_refresh(&f, &format!("MANYH{i}"))).collect();
    let created = w.create_refresh_all(batch, &Actor::System).await.unwrap();
    let walked = || RefreshEvent::WizardCompleted {
        needs_approval: true,
        location: None,
        shipping_address: None,
        answers: None,
    };
    w.refresh_all(created.iter().map(|t| (t.id, walked())).collect(), &Actor::System).await.unwrap();
    for _ in 0..12 {
        w.create_service(incident(&f, Priority::P3), &Actor::System).await.unwrap();
    }
    open_home(&app, "EvLong", "UANN00001").await;
    let (view, text) = home(&slack, "UANN00001");
    let blocks = view["blocks"].as_array().unwrap();
    assert!(blocks.len() <= deskbell::slack::limits::VIEW_BLOCKS, "{} blocks", blocks.len());
    assert_eq!(deskbell::slack::limits::broken(blocks, deskbell::slack::limits::VIEW_BLOCKS), Vec::<String>::new());
    assert!(text.contains("… and 20 more awaiting you"), "{text}");
}
