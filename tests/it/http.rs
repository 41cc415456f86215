//! The HTTP surface of the running application: health, calendar feeds,
//! the slot page, the bulk and directory APIs, service tickets.

use chrono::Utc;

use crate::support::app::TestApp;

#[tokio::test]
async fn health_and_readiness_follow_the_database() {
    let app = TestApp::start().await;
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
async fn readiness_reports_each_dependency_and_fails_only_on_the_database() {
    use crate::support::{fake_slack::FakeSlack, fake_tdx::FakeTdx, smtp::SmtpSink};
    let (slack, tdx, smtp) = (FakeSlack::start().await, FakeTdx::start().await, SmtpSink::start());
    let app = TestApp::builder().slack(&slack).tdx(&tdx).smtp(&smtp).start().await;
    let client = deskbell::net::http_client(std::time::Duration::from_secs(10));
    let ready = || async {
        let resp = client.get(format!("{}/readyz", app.address)).send().await.unwrap();
        (resp.status().as_u16(), resp.json::<serde_json::Value>().await.unwrap())
    };
    let (code, body) = ready().await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["smtp"], "ok");
    assert_eq!(body["slack"], "ok: deskbell in Deskbell Test", "Slack's auth.test answered");
    assert_eq!(body["tdx"], "ok", "TDX signed in");
    drop(smtp);
    let (code, body) = ready().await;
    assert_eq!(code, 200, "mail waits in the outbox: still ready");
    assert!(body["smtp"].as_str().unwrap().starts_with("unavailable"), "{body}");
    app.res.store.close().await;
    let (code, body) = ready().await;
    assert_eq!((code, body["database"].as_str()), (503, Some("unavailable")));
}

#[tokio::test]
async fn a_team_calendar_is_served_only_with_its_token() {
    use chrono::{Duration, Utc};
    use deskbell::domain::SlackChannelId;
    let app = TestApp::start().await;
    let store = &app.res.store;
    let team = store.upsert_team("NIT North", &SlackChannelId::parse("C0NORTH01").unwrap(), "umich").await.unwrap();
    let other = store.upsert_team("NIT South", &SlackChannelId::parse("C0SOUTH01").unwrap(), "umich").await.unwrap();
    let start = Utc::now() + Duration::days(2);
    store.add_slot(team, start, start + Duration::hours(1), 2).await.unwrap();
    let client = deskbell::net::http_client(std::time::Duration::from_secs(10));
    let get = |path: String| client.get(format!("{}{path}", app.address)).send();
    let token = deskbell::http::calendar_token(&"link-key".into(), team);

    assert_eq!(get(format!("/calendar/{team}.ics")).await.unwrap().status(), 403, "no token");
    let others = deskbell::http::calendar_token(&"link-key".into(), other);
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
    let nobody = deskbell::http::calendar_token(&"link-key".into(), deskbell::domain::TeamId(99));
    assert_eq!(get(format!("/calendar/99.ics?token={nobody}")).await.unwrap().status(), 404);
}

#[tokio::test]
async fn a_customer_picks_a_slot_from_the_signed_link() {
    use chrono::Duration;
    use deskbell::domain::TicketRef;
    use deskbell::links::Links;
    let app = TestApp::start().await;
    let store = &app.res.store;
    let f = crate::support::fixture(store).await;
    store
        .upsert_team("NIT North", &deskbell::domain::SlackChannelId::parse("CNORTH001").unwrap(), "umich")
        .await
        .unwrap();
    let mut ids = Vec::new();
    for serial in ["P1", "P2"] {
        ids.push(TicketRef::Refresh(app.scheduling(&f, serial).await));
    }
    let soon = Utc::now() + Duration::days(2);
    store.add_slot(f.team, soon, soon + Duration::hours(1), 1).await.unwrap();
    store.add_slot(f.team, soon + Duration::days(1), soon + Duration::days(1) + Duration::hours(1), 1).await.unwrap();
    let slot_ids: Vec<i64> =
        store.slots(f.team, Utc::now(), soon + Duration::days(3)).await.unwrap().iter().map(|s| s.id.0).collect();

    let links = Links { public_url: app.address.clone(), secret: "link-key".into() };
    let client = deskbell::net::http_client(std::time::Duration::from_secs(10));
    let url = |t: TicketRef| links.pick_slot(t);
    let forged = format!("{}/pick/{}?token=0000000000000000", app.address, ids[0]);
    assert_eq!(client.get(forged).send().await.unwrap().status(), 403);
    let page = client.get(url(ids[0])).send().await.unwrap().text().await.unwrap();
    assert_eq!(page.matches("<button type=\"submit\">Pick</button>").count(), 2, "{page}");

    // Another team's slot id in a tampered form: the page again with a notice, not a 500.
    let channel = deskbell::domain::SlackChannelId::parse("CSOUTH001").unwrap();
    let south = store.upsert_team("NIT South", &channel, "umich").await.unwrap();
    store.add_slot(south, soon, soon + Duration::hours(1), 5).await.unwrap();
    let foreign = store.slots(south, Utc::now(), soon + Duration::days(1)).await.unwrap()[0].id.0;
    let resp = client.post(url(ids[0])).form(&[("slot", foreign)]).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    assert!(page.contains("not offered for your appointment"), "{page}");
    assert_eq!(page.matches("<button type=\"submit\">Pick</button>").count(), 2, "the team's free slots: {page}");
    let junk = client.post(url(ids[0])).form(&[("slot", "lunchtime")]).send().await.unwrap();
    assert!(junk.status().is_client_error(), "{}", junk.status());

    let booked = client.post(url(ids[0])).form(&[("slot", slot_ids[0])]).send().await.unwrap().text().await.unwrap();
    assert!(booked.contains("You are booked for"), "{booked}");
    let full = client.post(url(ids[1])).form(&[("slot", slot_ids[0])]).send().await.unwrap().text().await.unwrap();
    assert!(full.contains("That time was just taken"), "{full}");
    assert_eq!(full.matches("<button type=\"submit\">Pick</button>").count(), 1, "the fresh list");
    let again = client.get(url(ids[0])).send().await.unwrap().text().await.unwrap();
    assert!(again.contains("You are booked for"));
}

#[tokio::test]
async fn replacements_are_assigned_through_the_api_by_refresh_admins_only() {
    use deskbell::domain::Actor;
    use deskbell::domain::refresh::{RefreshEvent, RefreshStatus};
    use serde_json::json;
    let app = TestApp::start().await;
    let store = &app.res.store;
    let f = crate::support::fixture(store).await;
    let workflow = app.workflow();
    let t = workflow.create_refresh(crate::support::new_refresh(&f, "API1"), &Actor::System).await.unwrap();
    let walked =
        RefreshEvent::WizardCompleted { needs_approval: false, location: None, shipping_address: None, answers: None };
    workflow.refresh(t.id, &Actor::System, walked).await.unwrap();

    let client = deskbell::net::http_client(std::time::Duration::from_secs(10));
    let url = format!("{}/api/v1/refresh/replacements", app.address);
    let good = json!([{ "existing_serial": "API1", "replacement_serial": "NEW-API1", "platform": "windows" }]);
    let post = |token: Option<&str>, body: serde_json::Value| {
        let mut req = client.post(&url).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let anonymous = post(None, good.clone()).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    assert_eq!(post(Some("guessed-token"), good.clone()).await.unwrap().status(), 401);
    assert_eq!(post(Some("helpdesk-token"), good.clone()).await.unwrap().status(), 403, "help desk is read-only");

    let bad = json!([
        { "existing_serial": "API1", "replacement_serial": "NEW-API1", "platform": "beos" },
        { "existing_serial": "NOPE", "replacement_serial": "X", "platform": "mac" },
        { "existing_serial": "API1" },
    ]);
    let refused = post(Some("depot-token"), bad).await.unwrap();
    assert_eq!(refused.status(), 422);
    let errors: serde_json::Value = refused.json().await.unwrap();
    let errors: Vec<&str> = errors["errors"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert!(errors[0].starts_with("item 0: platform 'beos'"), "{errors:?}");
    assert!(errors[1].starts_with("item 1: no open ticket for serial NOPE"), "{errors:?}");
    assert!(errors[2].starts_with("item 2: missing field"), "{errors:?}");
    assert_eq!(store.load_refresh(t.id).await.unwrap().value.status, RefreshStatus::PendingOrdering, "nothing changed");

    // One serial twice, the second item the bad one: refused whole, the first not applied.
    let twice = json!([
        { "existing_serial": "API1", "replacement_serial": "NEW-API1", "platform": "windows" },
        { "existing_serial": "API1", "replacement_serial": "OTHER", "platform": "windows" },
    ]);
    let refused = post(Some("depot-token"), twice).await.unwrap();
    assert_eq!(refused.status(), 422);
    let body = refused.text().await.unwrap();
    assert!(body.contains("item 1: serial API1 is also in item 0"), "{body}");
    assert_eq!(store.load_refresh(t.id).await.unwrap().value.status, RefreshStatus::PendingOrdering, "nothing changed");

    let done = post(Some("depot-token"), good).await.unwrap();
    assert_eq!(done.status(), 200);
    let body: serde_json::Value = done.json().await.unwrap();
    assert_eq!(body["tickets"][0], json!({ "ticket": t.reference().to_string(), "status": "pending_itsm_existence" }));
    let audits = store.audits(t.reference()).await.unwrap();
    assert!(audits.iter().any(|a| a.actor == Actor::External("api:depot".into())
        && a.change.what == deskbell::domain::AuditField::Replacement));
}

#[tokio::test]
async fn service_tickets_are_opened_and_moved_through_the_api() {
    use serde_json::{Value, json};
    let app = TestApp::start().await;
    crate::support::fixture(&app.res.store).await;
    let client = deskbell::net::http_client(std::time::Duration::from_secs(10));
    let call = |path: &str, token: &str, body: Option<Value>| {
        let url = format!("{}/api/v1/service-tickets{path}", app.address);
        let req = match body {
            Some(b) => client.post(url).json(&b),
            None => client.get(url),
        };
        req.bearer_auth(token).send()
    };
    let new = json!({
        "kind": "incident", "priority": "P2", "vip": true, "issue_type": "Network", "subtype": "VPN - Troubleshooting",
        "summary": "VPN down for the dean's office", "contact_email": "dean@example.edu", "contact_name": "Dean Dee",
        "team": "NIT North",
    });
    assert_eq!(call("", "depot-token", Some(new.clone())).await.unwrap().status(), 403, "refresh admins may not");
    assert_eq!(call("", "nope", Some(new.clone())).await.unwrap().status(), 401);
    let mut bad = new.clone();
    bad["priority"] = "P9".into();
    assert_eq!(call("", "helpdesk-token", Some(bad)).await.unwrap().status(), 422);
    // No "Dear ," mail: a blank contact name (and a blank summary) is refused, naming the fields.
    let mut nameless = new.clone();
    nameless["contact_name"] = "  ".into();
    nameless["summary"] = "".into();
    let refused = call("", "helpdesk-token", Some(nameless)).await.unwrap();
    assert_eq!(refused.status(), 422);
    let body = refused.text().await.unwrap();
    assert!(body.contains("contact_name is empty") && body.contains("summary is empty"), "{body}");

    let created = call("", "helpdesk-token", Some(new)).await.unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(
        (created["ticket"].as_str(), created["effective_priority"].as_str()),
        (Some("S-1"), Some("P1")),
        "VIP: one up"
    );
    assert_eq!(created["sla"]["state"], "due");

    let event = |body: Value| call("/S-1/events", "helpdesk-token", Some(body));
    let unknown = event(json!({ "event": "assign", "engineer": "nobody@example.edu" })).await.unwrap();
    assert_eq!(unknown.status(), 422);
    let customer = event(json!({ "event": "assign", "engineer": "cara@example.edu" })).await.unwrap();
    assert_eq!(customer.status(), 422, "a customer is not staff");
    let body = customer.text().await.unwrap();
    assert!(body.contains("engineer: cara@example.edu is not service desk staff"), "{body}");
    let assigned: Value =
        event(json!({ "event": "assign", "engineer": "eve@example.edu" })).await.unwrap().json().await.unwrap();
    assert_eq!(
        (assigned["status"].as_str(), assigned["assignee"].as_str()),
        (Some("assigned"), Some("eve@example.edu"))
    );
    let acked: Value =
        event(json!({ "event": "acknowledge", "by": "eve@example.edu" })).await.unwrap().json().await.unwrap();
    assert_eq!((acked["status"].as_str(), acked["sla"]["state"].as_str()), (Some("in_progress"), Some("met")));
    let illegal = event(json!({ "event": "reopen" })).await.unwrap();
    assert_eq!(illegal.status(), 422);
    let body: Value = illegal.json().await.unwrap();
    assert!(body.to_string().contains("not allowed while the ticket is in_progress"), "{body}");
    let shown: Value = call("/S-1", "helpdesk-token", None).await.unwrap().json().await.unwrap();
    assert_eq!(shown, acked);
    assert_eq!(call("/R-1", "helpdesk-token", None).await.unwrap().status(), 404);
}

#[tokio::test]
async fn an_identity_system_replaces_the_directory_through_the_api() {
    let app = TestApp::start().await;
    let client = deskbell::net::http_client(std::time::Duration::from_secs(10));
    let url = format!("{}/api/v1/directory", app.address);
    let doc = serde_json::json!({
        "people": [{ "name": "Ann Approver", "email": "ann@acme.test", "roles": ["approver"] }],
        "teams": [{ "name": "Field", "slack_channel": "C0FIELD01", "calendar": "umich" }],
        "configs": [{ "name": "Finance", "approvers": ["ann@acme.test"] }],
    });
    let post = |token: &str, url: String, body: String| client.post(url).bearer_auth(token).body(body).send();
    let refused = post("depot-token", url.clone(), doc.to_string()).await.unwrap();
    assert_eq!(refused.status(), 403, "only app admins replace the directory");

    let dry = post("idm-token", format!("{url}?dry_run=true"), doc.to_string()).await.unwrap();
    assert_eq!(dry.status(), 200);
    assert_eq!(dry.json::<serde_json::Value>().await.unwrap()["added"].as_array().unwrap().len(), 3);
    assert!(app.res.store.team_by_name("Field").await.unwrap().is_none(), "a dry run changes nothing");

    let mut bad = doc.clone();
    bad["teams"][0]["calendar"] = "nowhere".into();
    bad["people"][0]["email"] = "not-an-email".into();
    let resp = post("idm-token", url.clone(), bad.to_string()).await.unwrap();
    assert_eq!(resp.status(), 422);
    let body = resp.text().await.unwrap();
    assert!(body.contains("not-an-email"), "{body}");
    assert_eq!(post("idm-token", url.clone(), "{\"people\": [".into()).await.unwrap().status(), 422);
    assert!(app.res.store.team_by_name("Field").await.unwrap().is_none(), "a bad document changes nothing");

    let done = post("idm-token", url.clone(), doc.to_string()).await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(app.res.store.team_by_name("Field").await.unwrap().is_some());
    let again: serde_json::Value = post("idm-token", url, doc.to_string()).await.unwrap().json().await.unwrap();
    assert!(again["added"].as_array().unwrap().is_empty() && again["changed"].as_array().unwrap().is_empty());
}
