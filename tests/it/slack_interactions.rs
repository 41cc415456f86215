//! Buttons and modals over HTTP, with correctly signed payloads shaped
//! like Slack's `block_actions` and `view_submission`, against the running
//! application whose outbox talks to the fake Slack Web API.

use std::sync::Arc;

use chrono::{Duration, Utc};
use deskbell::clock::SystemClock;
use deskbell::domain::refresh::{RefreshEvent, RefreshStatus};
use deskbell::domain::{Actor, Email, RefreshTicketId, Role, SlackUserId, TicketRef};
use deskbell::store::{NewPerson, Store};
use serde_json::{Value, json};

use crate::http::{TestApp, create, scheduling, spawn_app_with};
use crate::slack_http::post;
use crate::support::fake_slack::FakeSlack;
use crate::support::{Fixture, fixture};

/// Polls `done` until it holds: the dispatcher delivers on its own task.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

fn block_actions(fake: &FakeSlack, user: &str, trigger: &str, action_id: &str, value: &str) -> String {
    let payload = json!({
        "type": "block_actions",
        "user": { "id": user, "username": "someone", "name": "someone", "team_id": "T0001" },
        "api_app_id": "A123456",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "container": { "type": "message", "message_ts": "1700000000.000001", "channel_id": "DANN00001", "is_ephemeral": false },
        "trigger_id": trigger,
        "team": { "id": "T0001", "domain": "umich" },
        "channel": { "id": "DANN00001", "name": "directmessage" },
        "response_url": fake.response_url(trigger),
        "actions": [{
            "action_id": action_id, "block_id": "approval", "value": value, "type": "button",
            "text": { "type": "plain_text", "text": "Approve" }, "action_ts": "1700000001.000100",
        }],
    });
    serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
}

fn view_submission(user: &str, callback: &str, ticket: &str, values: Value) -> String {
    let payload = json!({
        "type": "view_submission",
        "team": { "id": "T0001", "domain": "umich" },
        "user": { "id": user, "username": "someone", "name": "someone", "team_id": "T0001" },
        "api_app_id": "A123456",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "trigger_id": "12466734323.1395872398.ac4d3a9c8f7e3f1d5e5d8b3c1f7b8a1e",
        "view": {
            "id": "V0DESKBELL1", "team_id": "T0001", "type": "modal", "callback_id": callback,
            "private_metadata": ticket, "hash": "156772938.1827394",
            "title": { "type": "plain_text", "text": "deskbell" },
            "state": { "values": values },
        },
        "response_urls": [],
    });
    serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
}

async fn interact(app: &TestApp, body: String) -> (u16, Value) {
    let resp = post(&app.address, "/slack/interactions", body, 0, true).await;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn slash(app: &TestApp, user: &str, command: &str, text: &str) -> Value {
    let body = serde_urlencoded::to_string([
        ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
        ("team_id", "T0001"),
        ("channel_id", "C2147483705"),
        ("user_id", user),
        ("command", command),
        ("text", text),
        ("response_url", "https://hooks.slack.com/commands/1234/5678"),
        ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
    ])
    .unwrap();
    let resp = post(&app.address, "/slack/commands", body, 0, true).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn person(name: &str, email: &str, slack: &str, roles: Vec<Role>) -> NewPerson {
    NewPerson {
        name: name.into(),
        email: Email::parse(email).unwrap(),
        slack_user: Some(SlackUserId::parse(slack).unwrap()),
        roles,
    }
}

/// Both approvers in Slack, a refresh manager, and a ticket waiting for
/// approval whose two requests were posted.
async fn awaiting_approval(app: &TestApp, fake: &FakeSlack) -> (Fixture, RefreshTicketId) {
    let store = &app.res.store;
    let f = fixture(store).await;
    store.upsert_person(&person("Abe Approver", "abe@example.edu", "UABE00001", vec![Role::Approver])).await.unwrap();
    let t = create(app, &f, "APPR1").await;
    let walked = RefreshEvent::WizardCompleted { needs_approval: true, location: None, shipping_address: None };
    app.res.workflow(Arc::new(SystemClock)).refresh(t, &Actor::System, walked).await.unwrap();
    eventually("both approval requests", || fake.posted().len() == 2).await;
    (f, t)
}

async fn status(store: &Store, t: RefreshTicketId) -> RefreshStatus {
    store.load_refresh(t).await.unwrap().value.status
}

/// How many times the ticket left `requires_approval`.
async fn decisions(store: &Store, t: RefreshTicketId) -> usize {
    let audits = store.audits(t.into()).await.unwrap();
    audits
        .iter()
        .filter(|a| {
            a.change.what == deskbell::domain::AuditField::Status
                && a.change.from.as_deref() == Some("requires_approval")
        })
        .count()
}

fn response_texts(fake: &FakeSlack) -> Vec<String> {
    fake.responses().iter().map(|r| r["text"].as_str().unwrap_or_default().to_owned()).collect()
}

#[tokio::test]
async fn approvers_approve_once_and_everyone_else_is_refused() {
    let fake = FakeSlack::start().await;
    let app = spawn_app_with(None, Some(&fake.url)).await;
    let (_, t) = awaiting_approval(&app, &fake).await;
    let store = &app.res.store;
    let r = TicketRef::from(t).to_string();
    assert!(fake.posted().iter().all(|p| p.text.starts_with("Approval needed: R-1")), "{:?}", fake.posted());

    // Eve is staff but no approver of LSA 2026: refused, audited, unchanged.
    let (code, _) = interact(&app, block_actions(&fake, "UEVE00001", "trigger-eve", "approve", &r)).await;
    assert_eq!(code, 200);
    eventually("the refusal", || response_texts(&fake).iter().any(|t| t.contains("Only approvers of LSA 2026"))).await;
    assert_eq!(status(store, t).await, RefreshStatus::RequiresApproval);
    let refused = store
        .audits(t.into())
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.change.what == deskbell::domain::AuditField::Refused)
        .count();
    assert_eq!(refused, 1);

    // Ann approves; her double click and Abe's stale Deny are told so.
    interact(&app, block_actions(&fake, "UANN00001", "trigger-ann-1", "approve", &r)).await;
    assert_eq!(status(store, t).await, RefreshStatus::PendingOrdering);
    interact(&app, block_actions(&fake, "UANN00001", "trigger-ann-2", "approve", &r)).await;
    interact(&app, block_actions(&fake, "UABE00001", "trigger-abe", "deny", &r)).await;
    eventually("two 'already approved' answers", || {
        response_texts(&fake).iter().filter(|t| t.starts_with("R-1 was already approved by Ann Approver")).count() == 2
    })
    .await;
    assert_eq!(decisions(store, t).await, 1, "one transition");
    assert!(fake.views().is_empty(), "no deny modal for a decided ticket");

    // Both approvers' requests were edited in place, buttons gone.
    eventually("both requests edited", || fake.updated().len() == 2).await;
    let mut edited: Vec<(String, String)> = fake.updated().into_iter().map(|(c, ts, _)| (c, ts)).collect();
    edited.sort();
    assert_eq!(
        edited,
        [("DABE00001".into(), "1700000000.000002".into()), ("DANN00001".into(), "1700000000.000001".into())]
    );
    assert!(fake.updated().iter().all(|(_, _, text)| text == "R-1: approved by Ann Approver"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_at_the_decision_ends_showing_it_on_sqlite() {
    a_request_slack_was_still_posting_when_the_decision_came_ends_showing_it(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_at_the_decision_ends_showing_it_on_postgres() {
    let url = crate::support::postgres::fresh_database_url().await;
    a_request_slack_was_still_posting_when_the_decision_came_ends_showing_it(Some(url)).await;
}

async fn a_request_slack_was_still_posting_when_the_decision_came_ends_showing_it(database_url: Option<String>) {
    let fake = FakeSlack::start().await;
    let app = spawn_app_with(database_url, Some(&fake.url)).await;
    let store = &app.res.store;
    let f = fixture(store).await;
    store.upsert_person(&person("Abe Approver", "abe@example.edu", "UABE00001", vec![Role::Approver])).await.unwrap();
    let t = create(&app, &f, "SLOW1").await;
    // Slack answers Ann's request, then holds Abe's: it is in flight, claimed by the dispatcher.
    fake.hold_after(1);
    let walked = RefreshEvent::WizardCompleted { needs_approval: true, location: None, shipping_address: None };
    app.res.workflow(Arc::new(SystemClock)).refresh(t, &Actor::System, walked).await.unwrap();
    eventually("Abe's request in flight", || {
        fake.posted().len() == 1 && fake.calls().iter().filter(|c| *c == "chat.postMessage").count() == 2
    })
    .await;
    let r = TicketRef::from(t).to_string();
    interact(&app, block_actions(&fake, "UANN00001", "trigger-ann", "approve", &r)).await;
    assert_eq!(status(store, t).await, RefreshStatus::PendingOrdering);
    fake.answer_held();
    // Abe's request, posted after the decision, is edited to show it: no live buttons anywhere.
    eventually("both requests edited", || fake.updated().len() == 2).await;
    let mut edited: Vec<String> = fake.updated().into_iter().map(|(c, _, text)| format!("{c} {text}")).collect();
    edited.sort();
    assert_eq!(edited, ["DABE00001 R-1: approved by Ann Approver", "DANN00001 R-1: approved by Ann Approver"]);
}

#[tokio::test]
async fn deny_asks_for_a_reason_in_a_modal() {
    let fake = FakeSlack::start().await;
    let app = spawn_app_with(None, Some(&fake.url)).await;
    let (_, t) = awaiting_approval(&app, &fake).await;
    let r = TicketRef::from(t).to_string();
    interact(&app, block_actions(&fake, "UABE00001", "trigger-deny", "deny", &r)).await;
    let views = fake.views();
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].0, "trigger-deny");
    assert_eq!(views[0].1["callback_id"], "deny");
    assert_eq!(views[0].1["private_metadata"], "R-1");
    let replies = app.res.store.outbox_of(t.into()).await.unwrap();
    assert!(replies.iter().all(|m| m.channel != "slack_response"), "the modal opened: nothing to say");

    let empty = json!({ "reason": { "reason": { "type": "plain_text_input", "value": "  " } } });
    let (_, body) = interact(&app, view_submission("UABE00001", "deny", &r, empty)).await;
    assert_eq!(body["response_action"], "errors", "a reason is required");
    assert_eq!(status(&app.res.store, t).await, RefreshStatus::RequiresApproval);

    let reason = json!({ "reason": { "reason": { "type": "plain_text_input", "value": "No budget this year" } } });
    let (code, body) = interact(&app, view_submission("UABE00001", "deny", &r, reason)).await;
    assert_eq!((code, body), (200, Value::Null), "an empty 200 closes the modal");
    assert_eq!(status(&app.res.store, t).await, RefreshStatus::Cancelled);
    eventually("both requests edited", || fake.updated().len() == 2).await;
    assert!(fake.updated().iter().all(|(_, _, text)| text == "R-1: denied by Abe Approver"), "{:?}", fake.updated());
}

/// Ann approves while Abe submits his denial: exactly one wins, the loser
/// is told who won, and both messages end showing the winner.
async fn concurrent_approve_and_deny(database_url: Option<String>) {
    let fake = FakeSlack::start().await;
    let app = spawn_app_with(database_url, Some(&fake.url)).await;
    let (_, t) = awaiting_approval(&app, &fake).await;
    let r = TicketRef::from(t).to_string();
    let reason = json!({ "reason": { "reason": { "type": "plain_text_input", "value": "Too expensive" } } });
    let ((_, _), (_, denial)) = tokio::join!(
        interact(&app, block_actions(&fake, "UANN00001", "trigger-race", "approve", &r)),
        interact(&app, view_submission("UABE00001", "deny", &r, reason)),
    );
    let store = &app.res.store;
    assert_eq!(decisions(store, t).await, 1, "exactly one decision");
    let won = status(store, t).await;
    let expected = match won {
        RefreshStatus::PendingOrdering => {
            assert_eq!(denial["response_action"], "errors");
            let why = denial["errors"]["reason"].as_str().unwrap();
            assert!(why.starts_with("R-1 was already approved by Ann Approver"), "{why}");
            "R-1: approved by Ann Approver"
        }
        RefreshStatus::Cancelled => {
            assert_eq!(denial, Value::Null);
            eventually("Ann told", || response_texts(&fake).iter().any(|t| t.starts_with("R-1 was already denied")))
                .await;
            "R-1: denied by Abe Approver"
        }
        other => panic!("unexpected {other}"),
    };
    eventually("both requests edited", || fake.updated().len() == 2).await;
    assert!(fake.updated().iter().all(|(_, _, text)| text == expected), "{:?}", fake.updated());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_approve_and_deny_on_postgres() {
    concurrent_approve_and_deny(Some(crate::support::postgres::fresh_database_url().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_approve_and_deny_on_sqlite() {
    concurrent_approve_and_deny(None).await;
}

/// The app with a refresh manager, Rita, and two free one-seat slots.
async fn with_manager(fake: &FakeSlack) -> (TestApp, Fixture, Vec<i64>) {
    let app = spawn_app_with(None, Some(&fake.url)).await;
    let f = fixture(&app.res.store).await;
    let rita = person("Rita Manager", "rita@example.edu", "URITA0001", vec![Role::RefreshManager]);
    app.res.store.upsert_person(&rita).await.unwrap();
    let slots = two_slots(&app.res.store, &f).await;
    (app, f, slots)
}

async fn two_slots(store: &Store, f: &Fixture) -> Vec<i64> {
    let soon = Utc::now() + Duration::days(2);
    store.add_slot(f.team, soon, soon + Duration::hours(1), 1).await.unwrap();
    store.add_slot(f.team, soon + Duration::hours(2), soon + Duration::hours(3), 1).await.unwrap();
    store.slots(f.team, Utc::now(), soon + Duration::days(1)).await.unwrap().iter().map(|s| s.id.0).collect()
}

#[tokio::test]
async fn reschedule_opens_free_slots_and_refuses_a_full_one() {
    let fake = FakeSlack::start().await;
    let (app, f, slots) = with_manager(&fake).await;
    let store = &app.res.store;
    let (mine, other) = (scheduling(&app, &f, "RS1").await, scheduling(&app, &f, "RS2").await);
    let workflow = app.res.workflow(Arc::new(SystemClock));
    workflow.pick_slot(other, &Actor::System, deskbell::domain::SlotId(slots[0])).await.unwrap();

    // An engineer may not; a refresh manager gets the modal of free slots.
    let refused = slash(&app, "UEVE00001", "/reschedule", "R-1").await;
    assert!(refused["text"].as_str().unwrap().starts_with("Only refresh managers"), "{refused}");
    assert!(fake.views().is_empty());
    let opened = slash(&app, "URITA0001", "/reschedule", "R-1").await;
    assert_eq!(opened["text"], "Rescheduling R-1…");
    let view = &fake.views()[0].1;
    let offered: Vec<&str> = view["blocks"][0]["element"]["option_groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["options"].as_array().unwrap().iter().map(|o| o["value"].as_str().unwrap()))
        .collect();
    assert_eq!(offered, [slots[1].to_string()], "the full slot is not offered");

    // The full slot (picked in a stale modal) is refused; the free one is booked.
    let pick = |slot: i64| json!({ "slot": { "slot": { "type": "static_select", "selected_option": { "value": slot.to_string() } } } });
    let (_, full) = interact(&app, view_submission("URITA0001", "reschedule", "R-1", pick(slots[0]))).await;
    assert_eq!(full["errors"]["slot"], "That slot filled meanwhile; pick another.", "{full}");
    assert_eq!(store.load_refresh(mine).await.unwrap().value.slot, None);
    let (code, ok) = interact(&app, view_submission("URITA0001", "reschedule", "R-1", pick(slots[1]))).await;
    assert_eq!((code, ok), (200, Value::Null));
    let booked = store.load_refresh(mine).await.unwrap().value;
    assert_eq!((booked.status, booked.slot.map(|s| s.0)), (RefreshStatus::DeliveryScheduled, Some(slots[1])));

    // Asking the customer to pick again.
    let ask = json!({ "ask_customer": { "ask_customer": { "type": "checkboxes", "selected_options": [{ "value": "yes" }] } } });
    let (code, _) = interact(&app, view_submission("URITA0001", "reschedule", "R-1", ask)).await;
    assert_eq!(code, 200);
    assert_eq!(status(store, mine).await, RefreshStatus::PendingCustomerScheduling);
}

#[tokio::test]
async fn customers_in_slack_pick_a_slot_from_dm_buttons() {
    let fake = FakeSlack::start().await;
    let app = spawn_app_with(None, Some(&fake.url)).await;
    let store = &app.res.store;
    let f = fixture(store).await;
    store.upsert_person(&person("Cara Customer", "cara@example.edu", "UCARA0001", vec![Role::Customer])).await.unwrap();
    let slots = two_slots(store, &f).await;
    let t = scheduling(&app, &f, "DM1").await;
    eventually("the slot invitation DM", || fake.posted().iter().any(|p| p.channel == "DCARA0001")).await;
    let dm = fake.posted().into_iter().find(|p| p.channel == "DCARA0001").unwrap();
    let buttons = dm.blocks[1]["elements"].as_array().unwrap();
    let values: Vec<&str> = buttons.iter().map(|b| b["value"].as_str().unwrap()).collect();
    assert_eq!(values, [format!("R-1/{}", slots[0]), format!("R-1/{}", slots[1])]);

    // Someone else took the first slot meanwhile: Cara gets the fresh list.
    let other = scheduling(&app, &f, "DM2").await;
    app.res
        .workflow(Arc::new(SystemClock))
        .pick_slot(other, &Actor::System, deskbell::domain::SlotId(slots[0]))
        .await
        .unwrap();
    let first = buttons[0]["action_id"].as_str().unwrap();
    interact(&app, block_actions(&fake, "UCARA0001", "trigger-cara-1", first, values[0])).await;
    eventually("the fresh list", || fake.responses().len() == 1).await;
    let fresh = &fake.responses()[0];
    assert!(fresh["blocks"][0]["text"]["text"].as_str().unwrap().starts_with("That time was just taken."), "{fresh}");
    assert_eq!(fresh["blocks"][1]["elements"].as_array().unwrap().len(), 1);
    assert_eq!(status(store, t).await, RefreshStatus::PendingCustomerScheduling);

    // A stranger may not pick Cara's slot; Cara may.
    let second = buttons[1]["action_id"].as_str().unwrap();
    interact(&app, block_actions(&fake, "UEVE00001", "trigger-eve-pick", second, values[1])).await;
    interact(&app, block_actions(&fake, "UCARA0001", "trigger-cara-2", second, values[1])).await;
    assert_eq!(status(store, t).await, RefreshStatus::DeliveryScheduled);
    eventually("two more answers", || fake.responses().len() == 3).await;
    let texts = response_texts(&fake);
    assert!(texts.iter().any(|t| t.starts_with("Only the customer of R-1")), "{texts:?}");
    assert!(texts.iter().any(|t| t.starts_with("Booked: ")), "{texts:?}");
}

#[tokio::test]
async fn hold_release_slots_and_help_from_slash_commands() {
    let fake = FakeSlack::start().await;
    let (app, f, slots) = with_manager(&fake).await;
    let store = &app.res.store;
    let t = scheduling(&app, &f, "H1").await;

    let text = |v: Value| v["text"].as_str().unwrap().to_owned();
    assert!(
        text(slash(&app, "UEVE00001", "/hold", "R-1 customer on leave").await).starts_with("Only refresh managers")
    );
    assert_eq!(
        text(slash(&app, "URITA0001", "/hold", "R-1").await),
        "Say why: /hold R-12 waiting for the customer's return from leave"
    );
    assert_eq!(text(slash(&app, "URITA0001", "/hold", "R-1 customer on leave").await), "R-1 is now on hold.");
    assert_eq!(text(slash(&app, "URITA0001", "/hold", "R-1 again").await), "R-1 is already on hold.", "in words");
    assert_eq!(status(store, t).await, RefreshStatus::OnHold);
    assert_eq!(text(slash(&app, "URITA0001", "/release", "R-1").await), "R-1 is now pending customer scheduling.");
    assert_eq!(
        text(slash(&app, "URITA0001", "/release", "R-1").await),
        "R-1 is not on hold (it is pending customer scheduling).",
        "release twice"
    );
    // A ticket that does not exist is an answer, not an HTTP error.
    assert_eq!(text(slash(&app, "URITA0001", "/hold", "R-99999 lost").await), "R-99999 does not exist.");
    assert_eq!(text(slash(&app, "UEVE00001", "/ticket", "R-99999").await), "R-99999 does not exist.");
    let (code, _) = interact(&app, block_actions(&fake, "URITA0001", "trigger-stale", "approve", "R-99999")).await;
    assert_eq!(code, 200, "a stale button of a ticket that is gone");
    eventually("the answer", || response_texts(&fake).iter().any(|t| t == "R-99999 does not exist.")).await;

    let listed = slash(&app, "UEVE00001", "/slots", "R-1").await;
    assert_eq!(text(listed.clone()), "Free slots of NIT North for R-1:");
    let picks: Vec<&str> =
        listed["blocks"].as_array().unwrap()[1..].iter().map(|b| b["accessory"]["value"].as_str().unwrap()).collect();
    assert_eq!(picks, [format!("R-1/{}", slots[0]), format!("R-1/{}", slots[1])]);
    let by_team = slash(&app, "UEVE00001", "/slots", "nit north").await;
    assert_eq!(by_team["blocks"].as_array().unwrap().len(), 3);
    assert!(by_team["blocks"][1].get("accessory").is_none(), "no Pick without a ticket");

    let help = text(slash(&app, "UEVE00001", "/deskbell", "help").await);
    assert!(help.contains("`/reschedule R-12`") && help.contains("`/slots [team] [YYYY-MM-DD] | R-12`"), "{help}");
}

#[tokio::test]
async fn events_are_acted_on_once_and_link_new_members() {
    let fake = FakeSlack::start().await;
    let app = spawn_app_with(None, Some(&fake.url)).await;
    let store = &app.res.store;
    fixture(store).await;
    let event = json!({
        "token": "XXYYZZ", "team_id": "T0001", "api_app_id": "A123456", "type": "event_callback",
        "event_id": "Ev0PV52K21", "event_time": 1_700_000_000,
        "event": { "type": "team_join", "user": { "id": "UCARA0001", "team_id": "T0001", "name": "cara",
            "profile": { "email": "cara@example.edu", "real_name": "Cara Customer" } } },
    });
    let resp = post(&app.address, "/slack/events", event.to_string(), 0, true).await;
    assert_eq!(resp.status(), 200);
    let cara = store.person_by_email(&Email::parse("cara@example.edu").unwrap()).await.unwrap().unwrap();
    assert_eq!(cara.slack_user.map(|u| u.to_string()).as_deref(), Some("UCARA0001"));
    assert_eq!(store.act_on_slack_event("Ev0PV52K21", Utc::now(), None).await.unwrap(), None, "recorded");
    // Slack's retry of the same event (X-Slack-Retry-Num: 1) is acknowledged, not redone.
    let resp = post(&app.address, "/slack/events", event.to_string(), 0, true).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn engineers_take_service_tickets_from_the_ping_buttons() {
    use deskbell::domain::service::{Priority, ServiceStatus};
    let fake = FakeSlack::start().await;
    let app = spawn_app_with(None, Some(&fake.url)).await;
    let store = &app.res.store;
    let f = fixture(store).await;
    store.upsert_person(&person("Cara Customer", "cara@example.edu", "UCARA0001", vec![Role::Customer])).await.unwrap();
    let new = crate::support::incident(&f, Priority::P1);
    let t = app.res.workflow(Arc::new(SystemClock)).create_service(new, &Actor::System).await.unwrap().id;
    interact(&app, block_actions(&fake, "UCARA0001", "trigger-cara-ack", "acknowledge", "S-1")).await;
    interact(&app, block_actions(&fake, "UEVE00001", "trigger-eve-take", "assign_to_me", "S-1")).await;
    let taken = store.load_service(t).await.unwrap().value;
    assert_eq!((taken.status, taken.assignee), (ServiceStatus::InProgress, Some(f.engineer)));
    assert!(taken.acknowledged_at.is_some());
    eventually("both answers", || fake.responses().len() == 2).await;
    let texts = response_texts(&fake);
    assert!(texts.contains(&"Only engineers and dispatchers may acknowledge tickets.".to_owned()), "{texts:?}");
    assert!(texts.contains(&"S-1 is yours, acknowledged.".to_owned()), "{texts:?}");

    // Pressed again by the engineer who has it: nothing changes, nobody is told.
    let history = store.audits(t.into()).await.unwrap().len();
    let messages = || async {
        let rows = store.outbox_of(t.into()).await.unwrap();
        rows.into_iter().filter(|m| m.template != "interaction_reply").count()
    };
    let queued = messages().await;
    interact(&app, block_actions(&fake, "UEVE00001", "trigger-eve-again", "assign_to_me", "S-1")).await;
    interact(&app, block_actions(&fake, "UEVE00001", "trigger-eve-ack", "acknowledge", "S-1")).await;
    eventually("the answers", || fake.responses().len() == 4).await;
    assert_eq!(response_texts(&fake)[2..], ["S-1 is already yours.", "S-1 is already yours."]);
    assert_eq!(store.audits(t.into()).await.unwrap().len(), history, "no history row");
    assert_eq!(messages().await, queued, "no email, no DM");
    assert_eq!(store.load_service(t).await.unwrap().value, taken, "the chain was not restarted");
}
