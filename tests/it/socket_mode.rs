//! Socket Mode end to end over a real WebSocket on loopback: the fake
//! Slack hands out its URL (`apps.connections.open`), sends Slack's
//! envelope shapes, drops the connection mid-stream and asks for a
//! reconnect; `/ticket`, an approval and an event are handled by the same
//! code as over HTTP and acknowledged with their answers.

use deskbell::domain::Actor;
use deskbell::domain::refresh::{RefreshEvent, RefreshStatus};
use serde_json::{Value, json};

use crate::support::app::TestApp;
use crate::support::fake_slack::FakeSlack;
use crate::support::fixture;

/// Waits (bounded) for something the client does over the network.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn ack(slack: &FakeSlack, id: &str) -> Option<Value> {
    slack.acks().into_iter().find(|a| a["envelope_id"] == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_clicks_and_events_arrive_over_socket_mode_across_reconnects() {
    let slack = FakeSlack::start().await;
    let app = TestApp::builder().slack(&slack).socket_mode().open_all_hours().start().await;
    until("the first connection", || slack.socket_connections() == 1).await;
    assert!(slack.calls().contains(&"apps.connections.open".to_owned()));

    let f = fixture(&app.res.store).await;
    let t = app.create(&f, "SOCK1").await;
    let walked =
        RefreshEvent::WizardCompleted { needs_approval: true, location: None, shipping_address: None, answers: None };
    app.workflow().refresh(t, &Actor::System, walked).await.unwrap();
    app.deliver_outbox().await;

    // A slash command: acknowledged with the ephemeral answer as its payload.
    slack.socket_send(json!({
        "envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": true,
        "payload": {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO", "team_id": "T0001", "team_domain": "umich",
            "channel_id": "C2147483705", "channel_name": "nit-north", "user_id": "UEVE00001", "user_name": "eve",
            "command": "/ticket", "text": "R-1", "api_app_id": "A123456", "is_enterprise_install": "false",
            "response_url": "https://hooks.slack.com/commands/1234/5678", "trigger_id": "13345224609.738474920.8088",
        },
    }));
    until("the /ticket acknowledgement", || ack(&slack, "env-1").is_some()).await;
    let answered = ack(&slack, "env-1").unwrap();
    assert_eq!(answered["payload"]["response_type"], "ephemeral");
    assert!(answered["payload"]["blocks"].to_string().contains("R-1"), "{answered}");

    // The network drops: deskbell connects again by itself.
    slack.socket_drop();
    until("a reconnect after a dropped socket", || slack.socket_connections() == 2).await;

    // Ann's Approve, as Slack sends a block_actions envelope.
    slack.socket_send(json!({
        "envelope_id": "env-2", "type": "interactive", "accepts_response_payload": false,
        "payload": {
            "type": "block_actions",
            "user": { "id": "UANN00001", "username": "ann", "name": "ann", "team_id": "T0001" },
            "api_app_id": "A123456", "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "container": { "type": "message", "message_ts": "1700000000.000001", "channel_id": "DANN00001", "is_ephemeral": false },
            "trigger_id": "trigger-socket", "team": { "id": "T0001", "domain": "umich" },
            "channel": { "id": "DANN00001", "name": "directmessage" },
            "response_url": slack.response_url("trigger-socket"),
            "actions": [{ "action_id": "approve", "block_id": "approval", "value": "R-1", "type": "button",
                "text": { "type": "plain_text", "text": "Approve" }, "action_ts": "1700000001.000100" }],
        },
    }));
    until("the click's acknowledgement", || ack(&slack, "env-2").is_some()).await;
    assert_eq!(app.res.store.load_refresh(t).await.unwrap().value.status, RefreshStatus::PendingOrdering);

    // Slack asks for a reconnect (`disconnect`): deskbell does, at once.
    slack.socket_send(json!({ "type": "disconnect", "reason": "refresh_requested", "debug_info": { "host": "fake" } }));
    until("a reconnect on disconnect", || slack.socket_connections() == 3).await;

    // An event, then Slack's retry of it: acknowledged twice, acted on once.
    let event = json!({
        "envelope_id": "env-3", "type": "events_api", "accepts_response_payload": false, "retry_attempt": 0,
        "payload": {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO", "team_id": "T0001", "api_app_id": "A123456",
            "type": "event_callback", "event_id": "Ev0SOCKET1", "event_time": 1_767_000_000,
            "event": { "type": "app_home_opened", "user": "UANN00001", "channel": "D0HOME001", "tab": "home" },
        },
    });
    slack.socket_send(event.clone());
    until("the event's acknowledgement", || ack(&slack, "env-3").is_some()).await;
    let mut retry = event;
    retry["envelope_id"] = "env-4".into();
    retry["retry_attempt"] = 1.into();
    slack.socket_send(retry);
    until("the retry's acknowledgement", || ack(&slack, "env-4").is_some()).await;
    app.deliver_outbox().await;
    let homes = slack.published().into_iter().filter(|(u, _)| u == "UANN00001").count();
    assert_eq!(homes, 1, "the Home is published once for the event and its retry");
    assert!(slack.acks().iter().all(|a| a["envelope_id"].is_string()), "every message sent is an acknowledgement");
}
