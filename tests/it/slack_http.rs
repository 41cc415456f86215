//! The Slack endpoints over HTTP with payloads shaped like Slack's (the
//! slash-command form fields, the url_verification event), correctly
//! signed, and forged, stale, unsigned or oversized.

use chrono::Utc;
use deskbell::domain::Actor;

use crate::support::app::{TestApp, slash_command};

#[tokio::test]
async fn only_signed_fresh_small_requests_are_served() {
    let app = TestApp::start().await;
    let a = &app.address;
    assert_eq!(
        app.slack_post("/slack/commands", slash_command("UEVE00001", "/ticket", "R-1"), 0, false).await.status(),
        401,
        "unsigned"
    );
    assert_eq!(
        app.slack_post("/slack/commands", slash_command("UEVE00001", "/ticket", "R-1"), 301, true).await.status(),
        401,
        "stale"
    );
    let client = deskbell::net::http_client(std::time::Duration::from_secs(10));
    let forged = client
        .post(format!("{a}/slack/commands"))
        .header("X-Slack-Request-Timestamp", Utc::now().timestamp().to_string())
        .header("X-Slack-Signature", "v0=0000000000000000000000000000000000000000000000000000000000000000")
        .body(slash_command("UEVE00001", "/ticket", "R-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401, "forged");
    let body = forged.text().await.unwrap();
    assert!(body.contains("not signed by Slack") && !body.contains("bearer"), "{body}");
    let huge = "x".repeat(deskbell::slack::MAX_BODY + 1);
    assert_eq!(app.slack_post("/slack/commands", huge, 0, true).await.status(), 413, "over 64 KiB");
    let challenge = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let resp = app.slack_post("/slack/events", challenge.into(), 0, true).await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["challenge"], "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
}

#[tokio::test]
async fn slash_ticket_shows_a_card_a_pick_list_or_a_refusal() {
    let app = TestApp::start().await;
    let store = &app.res.store;
    let f = crate::support::fixture(store).await;
    for serial in ["5CG1", "5CG2"] {
        app.workflow().create_refresh(crate::support::new_refresh(&f, serial), &Actor::System).await.unwrap();
    }
    let ask = |user: &'static str, text: &'static str| app.slack_command(user, "/ticket", text);
    // Eve is staff with a Slack id; by reference and by serial, a card.
    let card = ask("UEVE00001", "R-1").await;
    assert_eq!(card["response_type"], "ephemeral");
    assert!(card["text"].as_str().unwrap().starts_with("R-1  pending_wizard"), "{card}");
    assert!(card["blocks"][0]["text"]["text"].as_str().unwrap().contains("Cara Customer"), "{card}");
    assert!(ask("UEVE00001", "5CG2").await["text"].as_str().unwrap().starts_with("R-2"));
    // By customer name: both tickets, newest first.
    let many = ask("UEVE00001", "cara").await;
    assert_eq!(many["text"], "2 tickets match: R-2, R-1. Ask for one of them.");
    assert!(ask("UEVE00001", "nobody").await["text"].as_str().unwrap().starts_with("No refresh ticket matches"));
    // Someone deskbell does not know as staff is refused.
    let stranger = ask("UNKNOWN01", "R-1").await;
    assert!(stranger["text"].as_str().unwrap().contains("does not know you as staff"), "{stranger}");
}

#[tokio::test]
async fn a_ticket_card_shows_hostile_names_as_text() {
    let app = TestApp::start().await;
    let store = &app.res.store;
    let f = crate::support::fixture(store).await;
    let evil = deskbell::domain::Email::parse("evil@example.edu").unwrap();
    let who = store.ensure_person("<!channel> <https://evil.example|Cara>", &evil, deskbell::domain::Role::Customer);
    let who = who.await.unwrap();
    let mut new = crate::support::new_refresh(&f, "5CG666");
    new.customer = Some(who);
    app.workflow().create_refresh(new, &Actor::System).await.unwrap();
    let resp = app.slack_post("/slack/commands", slash_command("UEVE00001", "/ticket", "R-1"), 0, true).await;
    let card = resp.json::<serde_json::Value>().await.unwrap();
    let text = card["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(text.contains("&lt;!channel&gt; &lt;https://evil.example|Cara&gt;"), "{text}");
    assert!(!text.contains("<!channel>") && !text.contains("<https://evil"), "{text}");
}

#[tokio::test]
async fn a_long_ticket_history_fits_in_one_section_with_a_pointer_to_the_rest() {
    use deskbell::domain::service::{Priority, ServiceEvent};
    let app = TestApp::start().await;
    let store = &app.res.store;
    let f = crate::support::fixture(store).await;
    let workflow = app.res.workflow(std::sync::Arc::new(deskbell::clock::SystemClock));
    let s = workflow.create_service(crate::support::incident(&f, Priority::P1), &Actor::System).await.unwrap().id;
    for i in 0..60 {
        let hold = ServiceEvent::PutOnHold { reason: format!("waiting for the vendor's part, call {i} of many") };
        workflow.service(s, &Actor::System, hold).await.unwrap();
        workflow.service(s, &Actor::System, ServiceEvent::Released).await.unwrap();
    }
    let resp = app.slack_post("/slack/commands", slash_command("UEVE00001", "/ticket", "S-1"), 0, true).await;
    assert_eq!(resp.status(), 200);
    let card = resp.json::<serde_json::Value>().await.unwrap();
    let text = card["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(text.chars().count() <= deskbell::slack::limits::SECTION_TEXT, "{} characters", text.chars().count());
    assert!(text.starts_with("```S-1") && text.ends_with("```"), "{text}");
    assert!(text.contains(" more (deskbell show S-1)"), "{text}");
}
