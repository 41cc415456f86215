//! Approvals that keep moving (#16), on a desk set up from its own
//! directory file, on the simulated clock, with the fake Slack: reminders
//! and the fallback at their local times across a holiday and a hold, a
//! delegation's days, an away status from signed `user_change` events,
//! the `all` and `majority` rules with a denial and with races, `/delegate`
//! and the REST API's refusals, and an approver removed by a sync.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::America::Detroit;
use deskbell::domain::refresh::{NewRefreshTicket, Platform, RefreshEvent, RefreshStatus, Style, System};
use deskbell::domain::{Actor, AuditField, Email, PersonId, RefreshTicketId, TicketRef, TimerKind};
use serde_json::{Value, json};

use crate::support::app::TestApp;
use crate::support::fake_slack::{FakeSlack, Posted};
use crate::support::run_on_both;

const DESK: &str = r#"
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
name = "Bea Approver"
email = "bea@example.edu"
slack_user = "UBEA00001"
roles = ["approver"]

[[people]]
name = "Dee Deputy"
email = "dee@example.edu"
slack_user = "UDEE00001"
roles = ["refresh_admin"]

[[people]]
name = "Fred Fallback"
email = "fred@example.edu"
slack_user = "UFRE00001"
roles = ["refresh_manager"]

[[people]]
name = "Cara Customer"
email = "cara@example.edu"
roles = ["customer"]

[[teams]]
name = "NIT North"
slack_channel = "CNORTH001"
calendar = "umich"

[[configs]]
name = "LSA 2027"
approvers = ["ann@example.edu", "abe@example.edu", "bea@example.edu"]
approval = { rule = "RULE" }
fallback = "fred@example.edu"
"#;

fn local(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Detroit.with_ymd_and_hms(2027, m, d, h, min, 0).unwrap().to_utc()
}

/// The desk of `DESK` under `rule`, on a simulated clock from `start`.
async fn desk(database_url: Option<String>, rule: &str, start: DateTime<Utc>) -> (TestApp, FakeSlack) {
    let slack = FakeSlack::start().await;
    let app = TestApp::builder().database(database_url).slack(&slack).sim_clock_at(start).start().await;
    app.sync_directory(&DESK.replace("RULE", rule)).await.unwrap();
    (app, slack)
}

async fn person(app: &TestApp, email: &str) -> PersonId {
    app.res.store.person_by_email(&Email::parse(email).unwrap()).await.unwrap().unwrap().id
}

/// A refresh of Cara's whose customer asked for more than proposed: it
/// awaits approval, its requests delivered.
async fn awaiting(app: &TestApp, serial: &str) -> RefreshTicketId {
    let store = &app.res.store;
    let new = NewRefreshTicket {
        style: Style::OnPrem,
        customer: Some(person(app, "cara@example.edu").await),
        delegate: None,
        no_customer: false,
        team: store.team_by_name("NIT North").await.unwrap().unwrap().id,
        config: store.config_id("LSA 2027").await.unwrap().unwrap(),
        existing: System { serial: serial.into(), model: Some("Dell 5400".into()), platform: Platform::Windows },
        replacement: None,
        location: None,
    };
    let w = app.workflow();
    let t = w.create_refresh(new, &Actor::System).await.unwrap().id;
    let walked = RefreshEvent::WizardCompleted {
        needs_approval: true,
        location: Some("Angell Hall".into()),
        shipping_address: None,
        answers: None,
    };
    w.refresh(t, &Actor::System, walked).await.unwrap();
    app.deliver_outbox().await;
    t
}

async fn status(app: &TestApp, t: RefreshTicketId) -> RefreshStatus {
    app.res.store.load_refresh(t).await.unwrap().value.status
}

/// Messages posted to one person's DM (`UANN00001` → `DANN00001`).
fn dms(slack: &FakeSlack, user: &str) -> Vec<Posted> {
    let dm = format!("D{}", &user[1..]);
    slack.posted().into_iter().filter(|p| p.channel == dm).collect()
}

/// The approval requests posted to one person (not reminders or notices).
fn requests(slack: &FakeSlack, user: &str) -> Vec<Posted> {
    dms(slack, user).into_iter().filter(|p| p.text.starts_with("Approval needed")).collect()
}

/// The last edit of one person's approval request, as its text and blocks.
fn last_edit(slack: &FakeSlack, user: &str) -> String {
    let dm = format!("D{}", &user[1..]);
    let edit = slack.edits().into_iter().rev().find(|e| e.channel == dm).expect("an edit");
    format!("{} {}", edit.text, edit.blocks)
}

fn has_buttons(blocks: &Value) -> bool {
    blocks.as_array().unwrap().iter().any(|b| b["type"] == "actions")
}

async fn due(app: &TestApp, t: RefreshTicketId, kind: TimerKind) -> Vec<String> {
    let timers = app.res.store.timers_of(t.into()).await.unwrap();
    let mut due: Vec<String> = timers
        .iter()
        .filter(|x| x.kind == kind && !x.paused)
        .map(|x| x.due_at.with_timezone(&Detroit).format("%a %b %-d %H:%M").to_string())
        .collect();
    due.sort();
    due
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_and_the_fallback_come_at_local_times_across_a_holiday_and_a_hold() {
    run_on_both(reminders_and_fallback).await;
}

async fn reminders_and_fallback(database_url: Option<String>) {
    // Thursday before MLK Day (Monday Jan 18, a university holiday).
    let (app, slack) = desk(database_url, "any", local(1, 14, 9, 0)).await;
    let t = awaiting(&app, "SLOW1").await;
    for who in ["UANN00001", "UABE00001", "UBEA00001"] {
        let request = dms(&slack, who);
        assert_eq!(request.len(), 1, "{who}: one request");
        assert!(has_buttons(&request[0].blocks), "{who}: with buttons");
    }
    assert!(dms(&slack, "UFRE00001").is_empty(), "the fallback waits");
    // Two and five business days, at the cadence's 10:05, then seven for the fallback.
    assert_eq!(due(&app, t, TimerKind::ApprovalReminder).await, ["Fri Jan 22 10:05", "Tue Jan 19 10:05"]);
    assert_eq!(due(&app, t, TimerKind::ApprovalFallback).await, ["Tue Jan 26 10:05"]);
    let calendars = &app.res.calendars;
    let shown = deskbell::ticket_view::show(&app.res.store, calendars, t.into(), app.now()).await.unwrap();
    assert!(shown.contains("approval    rule: any\n              :hourglass: Ann Approver\n"), "{shown}");
    assert!(shown.contains("Tue Jan 19 2027 10:05 EST     approval_reminder 1"), "{shown}");

    app.advance_to(local(1, 19, 10, 4)).await;
    let reminded = |slack: &FakeSlack| slack.posted().iter().filter(|p| p.text.starts_with("Reminder:")).count();
    assert_eq!(reminded(&slack), 0, "not before 10:05 on the second business day");
    app.advance_to(local(1, 19, 10, 5)).await;
    assert_eq!(reminded(&slack), 3, "each approver reminded once");
    let rows = app.res.store.outbox_of(t.into()).await.unwrap();
    let reminder = rows.iter().find(|r| r.template == "approval_reminder").unwrap();
    assert_eq!(reminder.created_at, local(1, 19, 10, 5));

    // A business day on hold moves what is left by a business day.
    app.advance_to(local(1, 20, 9, 0)).await;
    let hold = RefreshEvent::PutOnHold { reason: "budget freeze".into() };
    app.workflow().refresh(t, &Actor::System, hold).await.unwrap();
    app.advance_to(local(1, 21, 9, 0)).await;
    app.workflow().refresh(t, &Actor::System, RefreshEvent::Released).await.unwrap();
    assert_eq!(due(&app, t, TimerKind::ApprovalReminder).await, ["Mon Jan 25 10:05"]);
    assert_eq!(due(&app, t, TimerKind::ApprovalFallback).await, ["Wed Jan 27 10:05"]);

    app.advance_to(local(1, 27, 10, 4)).await;
    assert!(dms(&slack, "UFRE00001").is_empty(), "not before its time");
    app.advance_to(local(1, 27, 10, 5)).await;
    let fred = dms(&slack, "UFRE00001");
    assert_eq!(fred.len(), 1, "the fallback is asked once");
    assert!(has_buttons(&fred[0].blocks));
    let text = fred[0].blocks.to_string();
    assert!(text.contains("You decide for Ann Approver: nobody decided in time"), "{text}");
    for who in ["UANN00001", "UABE00001", "UBEA00001"] {
        assert!(dms(&slack, who).iter().any(|p| p.text.contains("went to the fallback")), "{who} told");
        assert!(last_edit(&slack, who).contains("overdue, with Fred Fallback"), "{who}: {}", last_edit(&slack, who));
    }

    // Fred decides for all three.
    assert_eq!(app.click(&slack, "UFRE00001", "trigger-fred", "approve", "R-1").await, 200);
    assert_eq!(status(&app, t).await, RefreshStatus::PendingOrdering);
    let audits = app.res.store.audits(t.into()).await.unwrap();
    let vote = audits.iter().find(|a| a.change.what == AuditField::ApprovalVote).unwrap();
    assert_eq!(vote.actor, Actor::Person(person(&app, "fred@example.edu").await));
    assert_eq!(vote.change.from.as_deref().unwrap().split(',').count(), 3, "on behalf of all three");
    app.deliver_outbox().await;
    for who in ["UANN00001", "UABE00001", "UBEA00001", "UFRE00001"] {
        let edit = last_edit(&slack, who);
        assert!(edit.starts_with("R-1: approved by Fred Fallback"), "{who}: {edit}");
        assert!(edit.contains("Ann Approver: approved by Fred Fallback on their behalf"), "{edit}");
    }
    assert!(
        app.res
            .store
            .timers_of(t.into())
            .await
            .unwrap()
            .iter()
            .all(|x| !matches!(x.kind, TimerKind::ApprovalReminder | TimerKind::ApprovalFallback))
    );
}

/// A signed slash command's ephemeral answer text.
async fn command(app: &TestApp, user: &str, command: &str, text: &str) -> String {
    app.slack_command(user, command, text).await["text"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegation_window_moves_requests_there_and_back_without_a_second_message() {
    run_on_both(delegation_window).await;
}

async fn delegation_window(database_url: Option<String>) {
    let (app, slack) = desk(database_url, "any", local(1, 4, 9, 0)).await;
    let said = command(&app, "UANN00001", "/delegate", "<@UDEE00001|dee> from 2027-01-06 until 2027-01-07").await;
    assert!(said.contains("From 2027-01-06 to 2027-01-07, Dee Deputy decides Ann Approver's"), "{said}");
    let t = awaiting(&app, "DELEG1").await;
    assert_eq!(requests(&slack, "UANN00001").len(), 1, "before the window, Ann is asked");
    assert!(requests(&slack, "UDEE00001").is_empty());

    // The hourly job at midnight opens the window.
    app.advance_to(local(1, 6, 0, 0)).await;
    let dee = requests(&slack, "UDEE00001");
    assert_eq!(dee.len(), 1, "the delegate is asked");
    assert!(has_buttons(&dee[0].blocks));
    assert!(dee[0].blocks.to_string().contains("You decide for Ann Approver as their delegate."));
    assert!(last_edit(&slack, "UANN00001").contains("Ann Approver: with Dee Deputy, their delegate"));
    let listed = command(&app, "UDEE00001", "/delegate", "").await;
    assert!(listed.contains("Awaiting your decision (1):\n• R-1"), "{listed}");

    // The window closes: back to Ann, who already has her message.
    app.advance_to(local(1, 8, 0, 0)).await;
    assert_eq!(requests(&slack, "UANN00001").len(), 1, "no second request to Ann");
    assert_eq!(requests(&slack, "UDEE00001").len(), 1, "nor to Dee");
    let reminded: Vec<String> =
        slack.posted().into_iter().filter(|p| p.text.starts_with("Reminder")).map(|p| p.channel).collect();
    assert!(
        reminded.contains(&"DDEE00001".to_owned()) && !reminded.contains(&"DANN00001".to_owned()),
        "the holder is reminded: {reminded:?}"
    );
    let dee_now = slack.edits().into_iter().rev().find(|e| e.channel == "DDEE00001").unwrap();
    assert!(!has_buttons(&dee_now.blocks), "Dee's copy no longer offers to decide: {}", dee_now.blocks);
    let refused = app.click(&slack, "UDEE00001", "trigger-dee", "approve", "R-1").await;
    assert_eq!(refused, 200);
    assert_eq!(status(&app, t).await, RefreshStatus::RequiresApproval, "Dee may no longer decide");
    app.deliver_outbox().await;
    assert!(slack.responses().last().unwrap()["text"].as_str().unwrap().contains("Only approvers"));

    // A delegation decides for the approver, and both see it.
    command(&app, "UANN00001", "/delegate", "<@UDEE00001|dee> until 2027-01-09").await;
    app.deliver_outbox().await;
    app.click(&slack, "UDEE00001", "trigger-dee2", "approve", "R-1").await;
    assert_eq!(status(&app, t).await, RefreshStatus::PendingOrdering);
    app.deliver_outbox().await;
    assert!(last_edit(&slack, "UANN00001").contains("Ann Approver: approved by Dee Deputy on their behalf"));
    assert!(last_edit(&slack, "UDEE00001").starts_with("R-1: approved by Dee Deputy"));
}

fn user_change(event_id: &str, user: &str, emoji: &str, text: &str) -> String {
    json!({
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1_767_000_000,
        "team_id": "T0DESK001",
        "event": {
            "type": "user_change",
            "user": {
                "id": user,
                "team_id": "T0DESK001",
                "name": "ann",
                "profile": { "status_text": text, "status_emoji": emoji, "status_expiration": 0, "email": "ann@example.edu" },
            },
            "cache_ts": 1_767_000_000,
            "event_ts": "1767000000.000100",
        },
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_away_status_from_signed_user_change_events_sends_requests_to_the_fallback_and_back() {
    run_on_both(away_status).await;
}

async fn away_status(database_url: Option<String>) {
    let (app, slack) = desk(database_url, "all", local(1, 4, 9, 0)).await;
    let t = awaiting(&app, "AWAY1").await;
    // A forged event changes nothing.
    let forged = app.slack_post("/slack/events", user_change("Ev1", "UANN00001", ":palm_tree:", ""), 0, false).await;
    assert_eq!(forged.status(), 401);
    assert!(dms(&slack, "UFRE00001").is_empty());

    let away = app.slack_post("/slack/events", user_change("Ev2", "UANN00001", ":palm_tree:", "Back Jan 11"), 0, true);
    assert_eq!(away.await.status(), 200);
    app.deliver_outbox().await;
    let fred = dms(&slack, "UFRE00001");
    assert_eq!(fred.len(), 1, "the fallback holds Ann's request");
    assert!(fred[0].blocks.to_string().contains("You decide for Ann Approver, who is away."));
    assert!(last_edit(&slack, "UANN00001").contains("Ann Approver is away: with Fred Fallback"));
    // Slack retries the same event: acted on once.
    app.slack_post("/slack/events", user_change("Ev2", "UANN00001", ":palm_tree:", "Back Jan 11"), 0, true).await;
    let edits = slack.edits().len();
    app.deliver_outbox().await;
    assert_eq!(slack.edits().len(), edits);

    // Back: a status with nothing away in it.
    app.slack_post("/slack/events", user_change("Ev3", "UANN00001", ":coffee:", "In the office"), 0, true).await;
    app.deliver_outbox().await;
    assert_eq!(dms(&slack, "UANN00001").len(), 1, "Ann has her message already");
    let fred_now = slack.edits().into_iter().rev().find(|e| e.channel == "DFRE00001").unwrap();
    assert!(!has_buttons(&fred_now.blocks), "{}", fred_now.blocks);
    assert!(
        last_edit(&slack, "UANN00001").contains(":hourglass: Ann Approver\\n"),
        "{}",
        last_edit(&slack, "UANN00001")
    );
    assert_eq!(status(&app, t).await, RefreshStatus::RequiresApproval);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_all_one_denial_denies_and_messages_show_who_is_awaited() {
    run_on_both(all_with_a_denial).await;
}

async fn all_with_a_denial(database_url: Option<String>) {
    let (app, slack) = desk(database_url, "all", local(1, 4, 9, 0)).await;
    let t = awaiting(&app, "ALL1").await;
    app.click(&slack, "UANN00001", "trigger-ann", "approve", "R-1").await;
    assert_eq!(status(&app, t).await, RefreshStatus::RequiresApproval, "one of three is not all");
    app.deliver_outbox().await;
    for who in ["UANN00001", "UABE00001", "UBEA00001"] {
        let edit = last_edit(&slack, who);
        assert!(edit.contains(":white_check_mark: Ann Approver approved"), "{who}: {edit}");
        assert!(edit.contains(":hourglass: Abe Approver") && edit.contains(":hourglass: Bea Approver"), "{edit}");
    }
    let ann = slack.edits().into_iter().rev().find(|e| e.channel == "DANN00001").unwrap();
    assert!(!has_buttons(&ann.blocks), "Ann decided: her copy has no buttons");
    // Pressed again: told, nothing changes.
    app.click(&slack, "UANN00001", "trigger-ann2", "approve", "R-1").await;
    app.deliver_outbox().await;
    assert!(slack.responses().last().unwrap()["text"].as_str().unwrap().contains("already decided"));

    let reason = json!({ "reason": { "reason": { "type": "plain_text_input", "value": "Not this year" } } });
    let (code, _) = app.submit_view("UBEA00001", "deny", "R-1", reason).await;
    assert_eq!(code, 200);
    assert_eq!(status(&app, t).await, RefreshStatus::Cancelled);
    app.deliver_outbox().await;
    assert!(last_edit(&slack, "UABE00001").starts_with("R-1: denied by Bea Approver"));
}

/// Two approvers press Approve at the same instant under `majority` of
/// three: both decisions are recorded and the ticket is approved once.
async fn majority_race(database_url: Option<String>) {
    let (app, slack) = desk(database_url, "majority", local(1, 4, 9, 0)).await;
    let t = awaiting(&app, "MAJ1").await;
    let (a, b) = tokio::join!(
        app.click(&slack, "UANN00001", "trigger-a", "approve", "R-1"),
        app.click(&slack, "UABE00001", "trigger-b", "approve", "R-1"),
    );
    assert_eq!((a, b), (200, 200));
    assert_eq!(status(&app, t).await, RefreshStatus::PendingOrdering);
    let audits = app.res.store.audits(TicketRef::from(t)).await.unwrap();
    let votes = audits.iter().filter(|a| a.change.what == AuditField::ApprovalVote).count();
    let decided = audits
        .iter()
        .filter(|a| a.change.what == AuditField::Status && a.change.from.as_deref() == Some("requires_approval"))
        .count();
    assert_eq!((votes, decided), (2, 1), "both votes, one decision");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn majority_decided_by_two_at_once_on_sqlite() {
    majority_race(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn majority_decided_by_two_at_once_on_postgres() {
    majority_race(Some(crate::support::postgres::fresh_database_url().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_majority_a_tie_that_cannot_be_won_denies() {
    let (app, slack) = desk(None, "majority", local(1, 4, 9, 0)).await;
    let t = awaiting(&app, "MAJ2").await;
    let deny = |why: &str| json!({ "reason": { "reason": { "type": "plain_text_input", "value": why } } });
    app.submit_view("UANN00001", "deny", "R-1", deny("No")).await;
    assert_eq!(status(&app, t).await, RefreshStatus::RequiresApproval, "one denial of three");
    app.click(&slack, "UABE00001", "trigger-b", "approve", "R-1").await;
    assert_eq!(status(&app, t).await, RefreshStatus::RequiresApproval, "one each");
    app.submit_view("UBEA00001", "deny", "R-1", deny("Too expensive")).await;
    assert_eq!(status(&app, t).await, RefreshStatus::Cancelled);
    let audits = app.res.store.audits(TicketRef::from(t)).await.unwrap();
    let reason = audits.iter().find(|a| a.change.what == AuditField::Denied).unwrap();
    assert_eq!(reason.change.to.as_deref(), Some("Too expensive"));
}

#[tokio::test]
async fn bad_delegations_are_refused_with_a_clear_answer_by_slack_and_the_api() {
    let (app, _slack) = desk(None, "any", local(1, 4, 9, 0)).await;
    let ask = |text: &'static str| command(&app, "UANN00001", "/delegate", text);
    assert!(ask("<@UANN00001|ann> until 2027-01-08").await.contains("cannot delegate to yourself"));
    assert!(ask("cara@example.edu until 2027-01-08").await.contains("Cara Customer is not staff"));
    assert!(ask("<@UDEE00001|dee> until 2027-01-03").await.contains("2027-01-03 is in the past"));
    assert!(ask("<@UDEE00001|dee> until next week").await.contains("is not a day"));
    assert!(ask("<@UNOBODY01> until 2027-01-08").await.contains("does not know"));
    assert!(command(&app, "UDEE00001", "/delegate", "<@UFRE00001> until 2027-01-08").await.contains("approves no"));
    assert!(app.res.store.delegations().await.unwrap().is_empty(), "nothing was set");
    assert!(ask("").await.contains("You have no delegation"));
    assert!(ask("off").await.contains("has no delegation to end"));

    let api = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let req = deskbell::net::http_client(std::time::Duration::from_secs(10))
            .request(method, format!("{}{path}", app.address))
            .bearer_auth("depot-token");
        async move { if let Some(b) = body { req.json(&b) } else { req }.send().await.unwrap() }
    };
    let put =
        |who: &'static str, body: Value| api(reqwest::Method::PUT, &format!("/api/v1/delegations/{who}"), Some(body));
    let past = put("ann@example.edu", json!({ "delegate": "dee@example.edu", "until": "2026-12-01" })).await;
    assert_eq!(past.status(), 422);
    assert!(past.text().await.unwrap().contains("in the past"));
    let unknown = put("zed@example.edu", json!({ "delegate": "dee@example.edu", "until": "2027-01-08" })).await;
    assert_eq!(unknown.status(), 422);
    let garbled = put("ann@example.edu", json!({ "delegate": "dee@example.edu", "until": "soon" })).await;
    assert_eq!(garbled.status(), 422);
    assert!(app.res.store.delegations().await.unwrap().is_empty(), "nothing was set");
    let set = put("ann@example.edu", json!({ "delegate": "dee@example.edu", "until": "2027-01-08" })).await;
    assert_eq!(set.status(), 200);
    assert_eq!(app.res.store.delegations().await.unwrap().len(), 1);
    let ended = api(reqwest::Method::DELETE, "/api/v1/delegations/ann@example.edu", None).await;
    assert_eq!(ended.status(), 200);
    assert!(app.res.store.delegations().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_approver_removed_by_a_sync_has_their_request_withdrawn_and_nobody_left_is_refused() {
    let (app, slack) = desk(None, "all", local(1, 4, 9, 0)).await;
    let t = awaiting(&app, "SYNC1").await;
    let without_bea = DESK.replace("RULE", "all").replace(", \"bea@example.edu\"]", "]");
    app.sync_directory(&without_bea).await.unwrap();
    app.deliver_outbox().await;
    let bea = slack.edits().into_iter().rev().find(|e| e.channel == "DBEA00001").unwrap();
    assert!(!has_buttons(&bea.blocks), "Bea's request is withdrawn: {}", bea.blocks);
    assert!(!last_edit(&slack, "UANN00001").contains("Bea Approver"), "no longer awaited");
    // Ann and Abe approve: all of those left.
    app.click(&slack, "UANN00001", "t1", "approve", "R-1").await;
    app.click(&slack, "UABE00001", "t2", "approve", "R-1").await;
    assert_eq!(status(&app, t).await, RefreshStatus::PendingOrdering);

    let t2 = awaiting(&app, "SYNC2").await;
    let nobody =
        without_bea.replace("approvers = [\"ann@example.edu\", \"abe@example.edu\"]", "approvers = [\"Nobody\"]");
    let nobody = nobody + "\n[[groups]]\nname = \"Nobody\"\nmembers = []\n";
    let err = app.sync_directory(&nobody).await.unwrap_err();
    assert!(format!("{err:#}").contains("would have no active approver"), "{err:#}");
    assert_eq!(
        app.res
            .store
            .approvers(app.res.store.config_id("LSA 2027").await.unwrap().unwrap())
            .await
            .unwrap()
            .people
            .len(),
        2
    );
    assert_eq!(status(&app, t2).await, RefreshStatus::RequiresApproval);
}

#[tokio::test]
async fn a_directory_file_sets_delegations_and_names_its_bad_lines() {
    let (app, slack) = desk(None, "any", local(1, 4, 9, 0)).await;
    let t = awaiting(&app, "FILE1").await;
    let bad = DESK.replace("RULE", "any")
        + "\n[[delegations]]\napprover = \"ann@example.edu\"\ndelegate = \"ann@example.edu\"\nuntil = 2027-01-08\n";
    let err = app.sync_directory(&bad).await.unwrap_err();
    let line = bad.lines().position(|l| l == "[[delegations]]").unwrap() + 1;
    assert!(
        format!("{err:#}").contains(&format!("directory.toml:{line}: ann@example.edu cannot delegate to themselves")),
        "{err:#}"
    );
    assert!(app.res.store.delegations().await.unwrap().is_empty(), "nothing changed");

    let good = DESK.replace("RULE", "any")
        + "\n[[delegations]]\napprover = \"ann@example.edu\"\ndelegate = \"dee@example.edu\"\nuntil = 2027-01-08\n";
    let report = app.sync_directory(&good).await.unwrap();
    assert!(report.to_string().contains("delegation ann@example.edu → dee@example.edu until 2027-01-08"), "{report}");
    app.deliver_outbox().await;
    assert_eq!(requests(&slack, "UDEE00001").len(), 1, "the waiting request moved at the sync");
    let again = app.sync_directory(&good).await.unwrap();
    assert!(!again.to_string().contains("delegation"), "an unchanged delegation is not a change: {again}");
    assert_eq!(status(&app, t).await, RefreshStatus::RequiresApproval);
}

#[tokio::test]
async fn forty_approvers_with_long_names_stay_within_slacks_limits() {
    use deskbell::slack::limits;
    let slack = FakeSlack::start().await;
    let app = TestApp::builder().slack(&slack).sim_clock_at(local(1, 4, 9, 0)).start().await;
    let mut desk = DESK.replace("RULE", "majority").replace(
        "approvers = [\"ann@example.edu\", \"abe@example.edu\", \"bea@example.edu\"]",
        "approvers = [\"Everyone\"]",
    );
    let mut members = Vec::new();
    for i in 0..40 {
        let name = format!("Approver {i} {}", "<!channel> Longname-".repeat(8));
        desk += &format!(
            "\n[[people]]\nname = \"{name}\"\nemail = \"a{i}@example.edu\"\nslack_user = \"UAP{i:06}\"\nroles = [\"approver\"]\n"
        );
        members.push(format!("\"a{i}@example.edu\""));
    }
    desk += &format!("\n[[groups]]\nname = \"Everyone\"\nmembers = [{}]\n", members.join(", "));
    app.sync_directory(&desk).await.unwrap();
    let t = awaiting(&app, "MANY1").await;
    app.click(&slack, "UAP000000", "trigger-0", "approve", "R-1").await;
    app.deliver_outbox().await;
    assert_eq!(status(&app, t).await, RefreshStatus::RequiresApproval);
    let (posted, edits) = (slack.posted(), slack.edits());
    assert_eq!(posted.len(), 40);
    assert_eq!(edits.len(), 40, "every copy edited at the decision");
    for m in posted.iter().chain(&edits) {
        assert_eq!(limits::broken(m.blocks.as_array().unwrap(), limits::MESSAGE_BLOCKS), Vec::<String>::new());
        assert!(m.text.chars().count() <= limits::FALLBACK_TEXT);
        assert!(!m.blocks.to_string().contains("<!channel>"), "names are text");
    }
    assert!(edits[0].blocks.to_string().contains(" more (deskbell show R-1)"), "the list is cut with a pointer");
}
