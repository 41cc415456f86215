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

use crate::support::app::TestApp;
use crate::support::fake_slack::FakeSlack;
use crate::support::{Fixture, fixture};

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
    let t = app.create(&f, "APPR1").await;
    let walked =
        RefreshEvent::WizardCompleted { needs_approval: true, location: None, shipping_address: None, answers: None };
    app.workflow().refresh(t, &Actor::System, walked).await.unwrap();
    app.deliver_outbox().await;
    assert!(fake.posted().len() == 2, "both approval requests");
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
    let app = TestApp::builder().slack(&fake).start().await;
    let (_, t) = awaiting_approval(&app, &fake).await;
    let store = &app.res.store;
    let r = TicketRef::from(t).to_string();
    assert!(fake.posted().iter().all(|p| p.text.starts_with("Approval needed: R-1")), "{:?}", fake.posted());

    // Eve is staff but no approver of LSA 2026: refused, audited, unchanged.
    let code = app.click(&fake, "UEVE00001", "trigger-eve", "approve", &r).await;
    assert_eq!(code, 200);
    app.deliver_outbox().await;
    assert!(response_texts(&fake).iter().any(|t| t.contains("Only approvers of LSA 2026")), "the refusal");
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
    app.click(&fake, "UANN00001", "trigger-ann-1", "approve", &r).await;
    assert_eq!(status(store, t).await, RefreshStatus::PendingOrdering);
    app.click(&fake, "UANN00001", "trigger-ann-2", "approve", &r).await;
    app.click(&fake, "UABE00001", "trigger-abe", "deny", &r).await;
    app.deliver_outbox().await;
    let already =
        response_texts(&fake).into_iter().filter(|t| t.starts_with("R-1 was already approved by Ann Approver"));
    assert_eq!(already.count(), 2, "two 'already approved' answers");
    assert_eq!(decisions(store, t).await, 1, "one transition");
    assert!(fake.views().is_empty(), "no deny modal for a decided ticket");

    // Both approvers' requests were edited in place, buttons gone.
    app.deliver_outbox().await;
    assert!(fake.updated().len() == 2, "both requests edited");
    let mut edited: Vec<(String, String)> = fake.updated().into_iter().map(|(c, ts, _)| (c, ts)).collect();
    edited.sort();
    // Each at the ts its DM was posted with (the two DMs go side by side, in either order).
    let mut requests: Vec<(String, String)> =
        fake.posted().into_iter().enumerate().map(|(i, p)| (p.channel, format!("1700000000.{:06}", i + 1))).collect();
    requests.sort();
    assert_eq!(requests.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(), ["DABE00001", "DANN00001"]);
    assert_eq!(edited, requests);
    assert!(fake.updated().iter().all(|(_, _, text)| text == "R-1: approved by Ann Approver"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_at_the_decision_ends_showing_it_on_sqlite() {
    a_request_slack_was_still_posting_when_the_decision_came_ends_showing_it(None, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_at_the_decision_ends_showing_it_on_postgres() {
    let url = crate::support::postgres::fresh_database_url().await;
    a_request_slack_was_still_posting_when_the_decision_came_ends_showing_it(Some(url), 1).await;
}

/// Both requests are being posted (side by side) when the decision comes:
/// neither has a message to edit yet, and both end showing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_in_flight_at_the_decision_ends_showing_it_on_sqlite() {
    a_request_slack_was_still_posting_when_the_decision_came_ends_showing_it(None, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_in_flight_at_the_decision_ends_showing_it_on_postgres() {
    let url = crate::support::postgres::fresh_database_url().await;
    a_request_slack_was_still_posting_when_the_decision_came_ends_showing_it(Some(url), 0).await;
}

/// Slack answers `answered` approval requests and holds the rest while the
/// decision is taken.
async fn a_request_slack_was_still_posting_when_the_decision_came_ends_showing_it(
    database_url: Option<String>,
    answered: usize,
) {
    let fake = FakeSlack::start().await;
    let app = TestApp::builder().database(database_url).slack(&fake).start().await;
    let store = &app.res.store;
    let f = fixture(store).await;
    store.upsert_person(&person("Abe Approver", "abe@example.edu", "UABE00001", vec![Role::Approver])).await.unwrap();
    let t = app.create(&f, "SLOW1").await;
    // Slack answers `answered` requests, then holds the others: in flight, claimed by the dispatcher.
    fake.hold_after(answered);
    let walked =
        RefreshEvent::WizardCompleted { needs_approval: true, location: None, shipping_address: None, answers: None };
    app.workflow().refresh(t, &Actor::System, walked).await.unwrap();
    let r = TicketRef::from(t).to_string();
    let decide_meanwhile = async {
        // The delivery round is on the other branch; Slack holds Abe's post.
        while !(fake.posted().len() == answered
            && fake.calls().iter().filter(|c| *c == "chat.postMessage").count() == 2)
        {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        app.click(&fake, "UANN00001", "trigger-ann", "approve", &r).await;
        assert_eq!(status(store, t).await, RefreshStatus::PendingOrdering);
        fake.answer_held();
    };
    let within = std::time::Duration::from_secs(30);
    tokio::time::timeout(within, async { tokio::join!(app.deliver_outbox(), decide_meanwhile) }).await.unwrap();
    // Abe's request, posted after the decision, is edited to show it: no live buttons anywhere.
    app.deliver_outbox().await;
    assert!(fake.updated().len() == 2, "both requests edited");
    let mut edited: Vec<String> = fake.updated().into_iter().map(|(c, _, text)| format!("{c} {text}")).collect();
    edited.sort();
    assert_eq!(edited, ["DABE00001 R-1: approved by Ann Approver", "DANN00001 R-1: approved by Ann Approver"]);
}

#[tokio::test]
async fn deny_asks_for_a_reason_in_a_modal() {
    let fake = FakeSlack::start().await;
    let app = TestApp::builder().slack(&fake).start().await;
    let (_, t) = awaiting_approval(&app, &fake).await;
    let r = TicketRef::from(t).to_string();
    app.click(&fake, "UABE00001", "trigger-deny", "deny", &r).await;
    let views = fake.views();
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].0, "trigger-deny");
    assert_eq!(views[0].1["callback_id"], "deny");
    assert_eq!(views[0].1["private_metadata"], "R-1");
    let replies = app.res.store.outbox_of(t.into()).await.unwrap();
    assert!(replies.iter().all(|m| m.channel != "slack_response"), "the modal opened: nothing to say");

    let empty = json!({ "reason": { "reason": { "type": "plain_text_input", "value": "  " } } });
    let (_, body) = app.submit_view("UABE00001", "deny", &r, empty).await;
    assert_eq!(body["response_action"], "errors", "a reason is required");
    assert_eq!(status(&app.res.store, t).await, RefreshStatus::RequiresApproval);

    let reason = json!({ "reason": { "reason": { "type": "plain_text_input", "value": "No budget this year" } } });
    let (code, body) = app.submit_view("UABE00001", "deny", &r, reason).await;
    assert_eq!((code, body), (200, Value::Null), "an empty 200 closes the modal");
    assert_eq!(status(&app.res.store, t).await, RefreshStatus::Cancelled);
    app.deliver_outbox().await;
    assert!(fake.updated().len() == 2, "both requests edited");
    assert!(fake.updated().iter().all(|(_, _, text)| text == "R-1: denied by Abe Approver"), "{:?}", fake.updated());
}

/// Ann approves while Abe submits his denial: exactly one wins, the loser
/// is told who won, and both messages end showing the winner.
async fn concurrent_approve_and_deny(database_url: Option<String>) {
    let fake = FakeSlack::start().await;
    let app = TestApp::builder().database(database_url).slack(&fake).start().await;
    let (_, t) = awaiting_approval(&app, &fake).await;
    let r = TicketRef::from(t).to_string();
    let reason = json!({ "reason": { "reason": { "type": "plain_text_input", "value": "Too expensive" } } });
    let (_, (_, denial)) = tokio::join!(
        app.click(&fake, "UANN00001", "trigger-race", "approve", &r),
        app.submit_view("UABE00001", "deny", &r, reason),
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
            app.deliver_outbox().await;
            assert!(response_texts(&fake).iter().any(|t| t.starts_with("R-1 was already denied")), "Ann told");
            "R-1: denied by Abe Approver"
        }
        other => panic!("unexpected {other}"),
    };
    app.deliver_outbox().await;
    assert!(fake.updated().len() == 2, "both requests edited");
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
    let app = TestApp::builder().slack(fake).start().await;
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
    let (mine, other) = (app.scheduling(&f, "RS1").await, app.scheduling(&f, "RS2").await);
    let workflow = app.workflow();
    workflow.pick_slot(other, &Actor::System, deskbell::domain::SlotId(slots[0])).await.unwrap();

    // An engineer may not; a refresh manager gets the modal of free slots.
    let refused = app.slack_command("UEVE00001", "/reschedule", "R-1").await;
    assert!(refused["text"].as_str().unwrap().starts_with("Only refresh managers"), "{refused}");
    assert!(fake.views().is_empty());
    let opened = app.slack_command("URITA0001", "/reschedule", "R-1").await;
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
    let (_, full) = app.submit_view("URITA0001", "reschedule", "R-1", pick(slots[0])).await;
    assert_eq!(full["errors"]["slot"], "That slot filled meanwhile; pick another.", "{full}");
    assert_eq!(store.load_refresh(mine).await.unwrap().value.slot, None);
    let (code, ok) = app.submit_view("URITA0001", "reschedule", "R-1", pick(slots[1])).await;
    assert_eq!((code, ok), (200, Value::Null));
    let booked = store.load_refresh(mine).await.unwrap().value;
    assert_eq!((booked.status, booked.slot.map(|s| s.0)), (RefreshStatus::DeliveryScheduled, Some(slots[1])));

    // Asking the customer to pick again.
    let ask = json!({ "ask_customer": { "ask_customer": { "type": "checkboxes", "selected_options": [{ "value": "yes" }] } } });
    let (code, _) = app.submit_view("URITA0001", "reschedule", "R-1", ask).await;
    assert_eq!(code, 200);
    assert_eq!(status(store, mine).await, RefreshStatus::PendingCustomerScheduling);
}

#[tokio::test]
async fn customers_in_slack_pick_a_slot_from_dm_buttons() {
    let fake = FakeSlack::start().await;
    let app = TestApp::builder().slack(&fake).start().await;
    let store = &app.res.store;
    let f = fixture(store).await;
    store.upsert_person(&person("Cara Customer", "cara@example.edu", "UCARA0001", vec![Role::Customer])).await.unwrap();
    let slots = two_slots(store, &f).await;
    let t = app.scheduling(&f, "DM1").await;
    app.deliver_outbox().await;
    assert!(fake.posted().iter().any(|p| p.channel == "DCARA0001"), "the slot invitation DM");
    let dm = fake.posted().into_iter().find(|p| p.channel == "DCARA0001").unwrap();
    let buttons = dm.blocks[1]["elements"].as_array().unwrap();
    let values: Vec<&str> = buttons.iter().map(|b| b["value"].as_str().unwrap()).collect();
    assert_eq!(values, [format!("R-1/{}", slots[0]), format!("R-1/{}", slots[1])]);

    // Someone else took the first slot meanwhile: Cara gets the fresh list.
    let other = app.scheduling(&f, "DM2").await;
    app.res
        .workflow(Arc::new(SystemClock))
        .pick_slot(other, &Actor::System, deskbell::domain::SlotId(slots[0]))
        .await
        .unwrap();
    let first = buttons[0]["action_id"].as_str().unwrap();
    app.click(&fake, "UCARA0001", "trigger-cara-1", first, values[0]).await;
    app.deliver_outbox().await;
    assert!(fake.responses().len() == 1, "the fresh list");
    let fresh = &fake.responses()[0];
    assert!(fresh["blocks"][0]["text"]["text"].as_str().unwrap().starts_with("That time was just taken."), "{fresh}");
    assert_eq!(fresh["blocks"][1]["elements"].as_array().unwrap().len(), 1);
    assert_eq!(status(store, t).await, RefreshStatus::PendingCustomerScheduling);

    // A stranger may not pick Cara's slot; Cara may.
    let second = buttons[1]["action_id"].as_str().unwrap();
    app.click(&fake, "UEVE00001", "trigger-eve-pick", second, values[1]).await;
    app.click(&fake, "UCARA0001", "trigger-cara-2", second, values[1]).await;
    assert_eq!(status(store, t).await, RefreshStatus::DeliveryScheduled);
    app.deliver_outbox().await;
    assert!(fake.responses().len() == 3, "two more answers");
    let texts = response_texts(&fake);
    assert!(texts.iter().any(|t| t.starts_with("Only the customer of R-1")), "{texts:?}");
    assert!(texts.iter().any(|t| t.starts_with("Booked: ")), "{texts:?}");
}

#[tokio::test]
async fn hold_release_slots_and_help_from_slash_commands() {
    let fake = FakeSlack::start().await;
    let (app, f, slots) = with_manager(&fake).await;
    let store = &app.res.store;
    let t = app.scheduling(&f, "H1").await;

    let text = |v: Value| v["text"].as_str().unwrap().to_owned();
    assert!(
        text(app.slack_command("UEVE00001", "/hold", "R-1 customer on leave").await)
            .starts_with("Only refresh managers")
    );
    assert_eq!(
        text(app.slack_command("URITA0001", "/hold", "R-1").await),
        "Say why: /hold R-12 waiting for the customer's return from leave"
    );
    assert_eq!(text(app.slack_command("URITA0001", "/hold", "R-1 customer on leave").await), "R-1 is now on hold.");
    assert_eq!(text(app.slack_command("URITA0001", "/hold", "R-1 again").await), "R-1 is already on hold.", "in words");
    assert_eq!(status(store, t).await, RefreshStatus::OnHold);
    assert_eq!(
        text(app.slack_command("URITA0001", "/release", "R-1").await),
        "R-1 is now pending customer scheduling."
    );
    assert_eq!(
        text(app.slack_command("URITA0001", "/release", "R-1").await),
        "R-1 is not on hold (it is pending customer scheduling).",
        "release twice"
    );
    // A ticket that does not exist is an answer, not an HTTP error.
    assert_eq!(text(app.slack_command("URITA0001", "/hold", "R-99999 lost").await), "R-99999 does not exist.");
    assert_eq!(text(app.slack_command("UEVE00001", "/ticket", "R-99999").await), "R-99999 does not exist.");
    let code = app.click(&fake, "URITA0001", "trigger-stale", "approve", "R-99999").await;
    assert_eq!(code, 200, "a stale button of a ticket that is gone");
    app.deliver_outbox().await;
    assert!(response_texts(&fake).iter().any(|t| t == "R-99999 does not exist."), "the answer");

    let listed = app.slack_command("UEVE00001", "/slots", "R-1").await;
    assert_eq!(text(listed.clone()), "Free slots of NIT North for R-1:");
    let picks: Vec<&str> =
        listed["blocks"].as_array().unwrap()[1..].iter().map(|b| b["accessory"]["value"].as_str().unwrap()).collect();
    assert_eq!(picks, [format!("R-1/{}", slots[0]), format!("R-1/{}", slots[1])]);
    let by_team = app.slack_command("UEVE00001", "/slots", "nit north").await;
    assert_eq!(by_team["blocks"].as_array().unwrap().len(), 3);
    assert!(by_team["blocks"][1].get("accessory").is_none(), "no Pick without a ticket");

    let help = text(app.slack_command("UEVE00001", "/deskbell", "help").await);
    assert!(help.contains("`/reschedule R-12`") && help.contains("`/slots [team] [YYYY-MM-DD] | R-12`"), "{help}");
}

#[tokio::test]
async fn events_are_acted_on_once_and_link_new_members() {
    let fake = FakeSlack::start().await;
    let app = TestApp::builder().slack(&fake).start().await;
    let store = &app.res.store;
    fixture(store).await;
    let event = json!({
        "token": "XXYYZZ", "team_id": "T0001", "api_app_id": "A123456", "type": "event_callback",
        "event_id": "Ev0PV52K21", "event_time": 1_700_000_000,
        "event": { "type": "team_join", "user": { "id": "UCARA0001", "team_id": "T0001", "name": "cara",
            "profile": { "email": "cara@example.edu", "real_name": "Cara Customer" } } },
    });
    let resp = app.slack_post("/slack/events", event.to_string(), 0, true).await;
    assert_eq!(resp.status(), 200);
    let cara = store.person_by_email(&Email::parse("cara@example.edu").unwrap()).await.unwrap().unwrap();
    assert_eq!(cara.slack_user.map(|u| u.to_string()).as_deref(), Some("UCARA0001"));
    assert_eq!(store.act_on_slack_event("Ev0PV52K21", Utc::now(), None).await.unwrap(), None, "recorded");
    // Slack's retry of the same event (X-Slack-Retry-Num: 1) is acknowledged, not redone.
    let resp = app.slack_post("/slack/events", event.to_string(), 0, true).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn engineers_take_service_tickets_from_the_ping_buttons() {
    use deskbell::domain::service::{Priority, ServiceStatus};
    let fake = FakeSlack::start().await;
    let app = TestApp::builder().slack(&fake).start().await;
    let store = &app.res.store;
    let f = fixture(store).await;
    store.upsert_person(&person("Cara Customer", "cara@example.edu", "UCARA0001", vec![Role::Customer])).await.unwrap();
    let new = crate::support::incident(&f, Priority::P1);
    let t = app.workflow().create_service(new, &Actor::System).await.unwrap().id;
    app.click(&fake, "UCARA0001", "trigger-cara-ack", "acknowledge", "S-1").await;
    app.click(&fake, "UEVE00001", "trigger-eve-take", "assign_to_me", "S-1").await;
    let taken = store.load_service(t).await.unwrap().value;
    assert_eq!((taken.status, taken.assignee), (ServiceStatus::InProgress, Some(f.engineer)));
    assert!(taken.acknowledged_at.is_some());
    app.deliver_outbox().await;
    assert!(fake.responses().len() == 2, "both answers");
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
    app.click(&fake, "UEVE00001", "trigger-eve-again", "assign_to_me", "S-1").await;
    app.click(&fake, "UEVE00001", "trigger-eve-ack", "acknowledge", "S-1").await;
    app.deliver_outbox().await;
    assert!(fake.responses().len() == 4, "the answers");
    assert_eq!(response_texts(&fake)[2..], ["S-1 is already yours.", "S-1 is already yours."]);
    assert_eq!(store.audits(t.into()).await.unwrap().len(), history, "no history row");
    assert_eq!(messages().await, queued, "no email, no DM");
    assert_eq!(store.load_service(t).await.unwrap().value, taken, "the chain was not restarted");
}

#[tokio::test]
async fn staff_provide_the_location_nobody_answered_from_the_alert_or_a_command() {
    let fake = FakeSlack::start().await;
    let (app, f, _) = with_manager(&fake).await;
    let t = app.create(&f, "NOANSWER").await;
    let expired = RefreshEvent::TimerFired { kind: deskbell::domain::TimerKind::WizardExpired, step: 0 };
    app.workflow().refresh(t, &Actor::System, expired).await.unwrap();
    assert_eq!(status(&app.res.store, t).await, RefreshStatus::PendingLocationInformation);
    app.deliver_outbox().await;
    let alert = fake.posted().into_iter().find(|p| p.channel == "CNORTH001").expect("the team is alerted");
    let button = &alert.blocks[1]["elements"][0];
    assert_eq!((button["action_id"].as_str(), button["value"].as_str()), (Some("provide_location"), Some("R-1")));

    // Only refresh managers (and the customer) may give it.
    app.click(&fake, "UEVE00001", "trigger-eve", "provide_location", "R-1").await;
    app.deliver_outbox().await;
    assert!(response_texts(&fake).iter().any(|t| t.starts_with("Only the customer of R-1 or refresh managers")));
    assert!(fake.views().is_empty());
    app.click(&fake, "URITA0001", "trigger-rita", "provide_location", "R-1").await;
    let views = fake.views();
    assert_eq!((views.len(), views[0].1["callback_id"].as_str()), (1, Some("location")), "{views:?}");

    let given = |text: &str| json!({ "location": { "location": { "type": "plain_text_input", "value": text } } });
    let (_, empty) = app.submit_view("URITA0001", "location", "R-1", given(" ")).await;
    assert_eq!(empty["response_action"], "errors", "a location is required");
    let (code, saved) = app.submit_view("URITA0001", "location", "R-1", given("Angell Hall 1010")).await;
    assert_eq!((code, saved), (200, Value::Null), "an empty 200 closes the modal");
    let ticket = app.res.store.load_refresh(t).await.unwrap().value;
    assert_eq!((ticket.status, ticket.location.as_deref()), (RefreshStatus::PendingOrdering, Some("Angell Hall 1010")));
    let again = app.slack_command("URITA0001", "/location", "R-1").await;
    assert_eq!(again["text"], "R-1 is pending ordering: it needs no location now.");
}
