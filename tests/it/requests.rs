//! Service requests and the device lifecycle (#20, `001_*`) on a desk set
//! up from its own directory file, on the simulated clock, with the fake
//! Slack: each kind's required fields (API 422), an order's two approvals
//! with Slack's buttons and a race, a decommission's sanitization, the
//! device count per agency before and after a decommission and a move, the
//! work a close records and the month's transactions report, and the
//! nightly lifecycle job whose file imports as a refresh batch.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::America::Detroit;
use deskbell::domain::refresh::{Platform, RefreshEvent, System};
use deskbell::domain::service::request::Verdict;
use deskbell::domain::service::{NewServiceTicket, Priority, ServiceEvent, ServiceKind, ServiceStatus};
use deskbell::domain::{Actor, Email, ServiceTicketId, TicketRef};
use deskbell::workflow::{Error, RequestForm, Requester, ServiceForm};
use serde_json::{Value, json};

use crate::support::app::TestApp;
use crate::support::fake_slack::{FakeSlack, SharedFile};
use crate::support::run_on_both;

const DESK: &str = r#"
[[people]]
name = "Ann Agency"
email = "ann@example.edu"
slack_user = "UANN00001"
roles = ["approver"]

[[people]]
name = "Al Agency"
email = "al@example.edu"
slack_user = "UAL000001"
roles = ["approver"]

[[people]]
name = "Eve Euc"
email = "eve@example.edu"
slack_user = "UEVE00001"
roles = ["approver"]

[[people]]
name = "Ed Engineer"
email = "ed@example.edu"
slack_user = "UED000001"
roles = ["engineer"]

[[people]]
name = "Rae Admin"
email = "rae@example.edu"
slack_user = "URAE00001"
roles = ["refresh_admin"]

[[groups]]
name = "LSA approvers"
members = ["ann@example.edu", "al@example.edu"]

[[groups]]
name = "EUC approvers"
members = ["eve@example.edu"]

[[teams]]
name = "NIT North"
slack_channel = "CNORTH001"
calendar = "umich"

[[configs]]
name = "LSA 2027"
approvers = ["LSA approvers"]
"#;

const DEVICES: &str = "\
serial,platform,agency,team,config,in_service,state,model,user_name,user_email,location,term_months
LSA-1,windows,LSA,NIT North,LSA 2027,2023-06-01,,Dell 5400,Cara Customer,cara@example.edu,Angell Hall 1,
LSA-2,windows,LSA,NIT North,LSA 2027,2023-06-20,,Dell 5400,Rita Remote,rita@example.edu,Angell Hall 2,
LSA-3,mac,LSA,NIT North,LSA 2027,2024-01-15,,MacBook Air,,,Mason Hall lab,
LSA-4,windows,LSA,NIT North,LSA 2027,2026-01-15,spare,Dell 7450,,,,
DOT-1,windows,DOTD,NIT North,LSA 2027,2025-02-01,,Dell 7450,Dot User,dot@example.edu,Capitol 3,36
";

fn local(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Detroit.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap().to_utc()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn desk(database_url: Option<String>, start: DateTime<Utc>) -> (TestApp, FakeSlack) {
    let slack = FakeSlack::start().await;
    let app = TestApp::builder().database(database_url).slack(&slack).sim_clock_at(start).start().await;
    app.sync_directory(DESK).await.unwrap();
    let n = deskbell::devices::import(&app.res.store, DEVICES, Detroit, app.now()).await.unwrap();
    assert_eq!(n, 5);
    (app, slack)
}

async fn person(app: &TestApp, email: &str) -> deskbell::domain::Person {
    app.res.store.person_by_email(&Email::parse(email).unwrap()).await.unwrap().unwrap()
}

/// A P5 request of Cara's (LSA) of `kind` with `fields`.
async fn open(app: &TestApp, kind: &str, fields: &[(&str, &str)]) -> Result<ServiceTicketId, Error> {
    let form = ServiceForm {
        kind: ServiceKind::Request,
        priority: Priority::P5,
        vip: false,
        issue_type: String::new(),
        subtype: String::new(),
        summary: format!("{kind} for Cara"),
        contact_name: "Cara Customer".into(),
        contact_email: "cara@example.edu".into(),
        team: "NIT North".into(),
        agency: Some("LSA".into()),
        request: Some(RequestForm {
            kind: kind.into(),
            fields: fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }),
    };
    Ok(app.workflow().open_service(&form, &Actor::System).await?.id)
}

async fn status(app: &TestApp, t: ServiceTicketId) -> ServiceStatus {
    app.res.store.load_service(t).await.unwrap().value.status
}

async fn billing(app: &TestApp, at: NaiveDate) -> String {
    deskbell::devices::billing(&app.res.store, at, Detroit).await.unwrap()
}

/// Ed takes the ticket and acknowledges it.
async fn take(app: &TestApp, t: ServiceTicketId) {
    let ed = person(app, "ed@example.edu").await;
    app.workflow().service(t, &Actor::System, ServiceEvent::Assign { engineer: ed.id }).await.unwrap();
    app.workflow().service(t, &Actor::Person(ed.id), ServiceEvent::Acknowledge { by: ed.id }).await.unwrap();
}

fn refused<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(e) => e.for_people().expect("told, not our failure"),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_needs_the_agency_then_the_desk_in_slack_and_cannot_advance_before() {
    run_on_both(order_approvals).await;
}

async fn order_approvals(database_url: Option<String>) {
    let (app, slack) = desk(database_url, local(2027, 3, 1, 9)).await;
    // Every missing field at once, and nothing opened.
    let e = refused(open(&app, "order_new_device", &[("cost_approved", "no")]).await);
    for said in ["items: Catalogue item(s) is required", "replaces: Serial or service tag", "cost_approved: The agency"]
    {
        assert!(e.contains(said), "{said}: {e}");
    }
    assert!(app.res.store.load_service(ServiceTicketId(1)).await.is_err(), "nothing was opened");

    let given = [("items", "Standard laptop"), ("replaces", "LSA-1"), ("cost_approved", "yes")];
    let t = open(&app, "order_new_device", &given).await.unwrap();
    assert_eq!(status(&app, t).await, ServiceStatus::OnHold);
    app.deliver_outbox().await;
    let asked = |user: &str| {
        let dm = format!("D{}", &user[1..]);
        slack.posted().into_iter().filter(|p| p.channel == dm && p.text.starts_with("Order approval needed")).count()
    };
    assert_eq!((asked("UANN00001"), asked("UAL000001"), asked("UEVE00001")), (1, 1, 0), "the agency first");
    let notice: Vec<_> = slack.posted().into_iter().filter(|p| p.channel == "CASSETS01").collect();
    assert_eq!(notice.len(), 1, "the asset team is told of the new request");
    assert!(notice[0].text.contains("S-1 opened: order new device for LSA"), "{}", notice[0].text);

    // Unapproved, it cannot be worked.
    let ed = person(&app, "ed@example.edu").await;
    let assign = app.workflow().service(t, &Actor::System, ServiceEvent::Assign { engineer: ed.id }).await;
    assert!(assign.is_err(), "an unapproved order cannot be assigned");
    let release = app.workflow().service(t, &Actor::System, ServiceEvent::Released).await;
    assert!(release.unwrap_err().to_string().contains("awaits its approvals"));
    let eve = person(&app, "eve@example.edu").await;
    let early = refused(app.workflow().decide_request(&Requester::Person(&eve), t, Verdict::Approve).await);
    assert!(early.contains("only the agency approvers decide"), "{early}");

    // Both agency approvers press Approve at once: one approval, one told.
    let (ann, al) = (person(&app, "ann@example.edu").await, person(&app, "al@example.edu").await);
    let w = app.workflow();
    let (by_ann, by_al) = (Requester::Person(&ann), Requester::Person(&al));
    let (a, b) =
        tokio::join!(w.decide_request(&by_ann, t, Verdict::Approve), w.decide_request(&by_al, t, Verdict::Approve));
    let told: Vec<String> = [a, b].into_iter().filter_map(|r| r.err()).filter_map(|e| e.for_people()).collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("the agency approval was already given (S-1)"), "{told:?}");
    let audits = app.res.store.audits(TicketRef::from(t)).await.unwrap();
    let votes = audits.iter().filter(|a| a.change.what == deskbell::domain::AuditField::OrderApproval).count();
    assert_eq!(votes, 1, "one agency approval recorded");
    assert_eq!(status(&app, t).await, ServiceStatus::OnHold, "the desk has not approved");
    app.deliver_outbox().await;
    assert_eq!(asked("UEVE00001"), 1, "then the desk is asked");
    // The agency's requests now show the approval, their buttons gone.
    for dm in ["DANN00001", "DAL000001"] {
        let edit = slack.edits().into_iter().rev().find(|e| e.channel == dm).expect("the request edited");
        let shown = edit.blocks.to_string();
        assert!(shown.contains(":white_check_mark: agency approved · :hourglass: desk awaited"), "{shown}");
        assert!(!shown.contains("\"actions\""), "no buttons: {shown}");
    }

    // The desk approves with Slack's button: the order is released to be worked.
    let code = app.click(&slack, "UEVE00001", "T1", "approve", "S-1").await;
    assert_eq!(code, 200);
    assert_eq!(status(&app, t).await, ServiceStatus::New);
    let again = app.click(&slack, "UEVE00001", "T2", "approve", "S-1").await;
    assert_eq!(again, 200);
    app.deliver_outbox().await;
    // Each click's answer goes to its own response_url, in either order.
    let mut replies: Vec<String> =
        slack.responses().iter().filter_map(|r| r["text"].as_str().map(str::to_owned)).collect();
    replies.sort();
    assert_eq!(replies, ["S-1 is not awaiting approval (it is new).", "S-1: your approval is recorded."]);
    take(&app, t).await;
    assert_eq!(status(&app, t).await, ServiceStatus::InProgress);

    // A denied order closes and its customer is told.
    let t2 = open(&app, "order_new_device", &given).await.unwrap();
    app.deliver_outbox().await;
    assert_eq!(app.click(&slack, "UAL000001", "T3", "deny", "S-2").await, 200);
    let (_, modal) = slack.views().pop().expect("the deny modal");
    assert_eq!((modal["callback_id"].as_str(), modal["private_metadata"].as_str()), (Some("deny"), Some("S-2")));
    let blank = json!({ "reason": { "reason": { "type": "plain_text_input", "value": " " } } });
    let (_, body) = app.submit_view("UAL000001", "deny", "S-2", blank).await;
    assert_eq!(body["response_action"], "errors", "a reason is required: {body}");
    let why = json!({ "reason": { "reason": { "type": "plain_text_input", "value": "Not in this year's budget" } } });
    let (code, body) = app.submit_view("UAL000001", "deny", "S-2", why).await;
    assert_eq!((code, body), (200, Value::Null));
    assert_eq!(status(&app, t2).await, ServiceStatus::Closed);
    app.deliver_outbox().await;
    let mail =
        app.mail().into_iter().find(|m| m.contains("S-2: your order was not approved")).expect("the customer is told");
    assert!(mail.contains("To: cara@example.edu") && mail.contains("Not in this year's budget"), "{mail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decommission_and_a_move_change_the_devices_billed_per_agency() {
    run_on_both(decommission_and_move).await;
}

async fn decommission_and_move(database_url: Option<String>) {
    let (app, slack) = desk(database_url, local(2027, 3, 1, 9)).await;
    let before = "date,agency,devices_in_service\n2027-03-01,DOTD,1\n2027-03-01,LSA,3\n";
    assert_eq!(billing(&app, day(2027, 3, 1)).await, before);
    assert_eq!(billing(&app, day(2023, 6, 10)).await, "date,agency,devices_in_service\n2023-06-10,LSA,1\n");

    let e =
        refused(open(&app, "decommission_device", &[("serials", "LSA-2 NOPE-9"), ("disposition", "landfill")]).await);
    assert!(e.contains("disposition: 'landfill' is not one of spare, disaster_reserve, surplus"), "{e}");
    assert!(e.contains("serials: no managed device has the serial NOPE-9"), "{e}");

    let t = open(&app, "decommission_device", &[("serials", "LSA-2"), ("disposition", "spare")]).await.unwrap();
    assert_eq!(status(&app, t).await, ServiceStatus::New, "only orders wait for approval");
    take(&app, t).await;
    let w = app.workflow();
    let early = w.service(t, &Actor::System, ServiceEvent::Resolve).await.unwrap_err().to_string();
    assert!(early.contains("record the sanitization of LSA-2 before S-1 is resolved"), "{early}");
    let ed = person(&app, "ed@example.edu").await;
    app.advance_to(local(2027, 3, 2, 10)).await;
    // Ed's assignment in Slack carries the button; only engineers and dispatchers may press it.
    let assigned = slack.posted().into_iter().find(|p| p.channel == "DED000001").expect("Ed is told");
    assert!(assigned.blocks.to_string().contains("\"action_id\":\"record_sanitization\""), "{}", assigned.blocks);
    assert_eq!(app.click(&slack, "UANN00001", "T1", "record_sanitization", "S-1").await, 200);
    assert_eq!(app.click(&slack, "UED000001", "T2", "record_sanitization", "S-1").await, 200);
    app.deliver_outbox().await;
    let mut replies: Vec<String> =
        slack.responses().iter().filter_map(|r| r["text"].as_str().map(str::to_owned)).collect();
    replies.sort();
    assert_eq!(
        replies,
        [
            "Only engineers and dispatchers may record a sanitization.",
            "S-1: the sanitization is recorded; it may be resolved."
        ]
    );
    let shown = deskbell::ticket_view::show(&app.res.store, &app.res.calendars, t.into(), app.now()).await.unwrap();
    let card = "  agency      LSA\n  request     decommission_device\n              disposition: spare\n              serials: LSA-2\n  sanitized   yes\n";
    assert!(shown.contains(card), "{shown}");
    w.service(t, &Actor::Person(ed.id), ServiceEvent::Resolve).await.unwrap();
    let bare = w.service(t, &Actor::Person(ed.id), ServiceEvent::Close { work: None }).await.unwrap_err();
    assert!(bare.to_string().contains("closing S-1 needs the time spent and the transaction kind"), "{bare}");
    assert_eq!(status(&app, t).await, ServiceStatus::Resolved, "refused: nothing changed");
    let work = w.work(Some("decommission"), Some(40)).unwrap();
    w.service(t, &Actor::Person(ed.id), ServiceEvent::Close { work }).await.unwrap();
    assert_eq!(app.res.store.device("LSA-2").await.unwrap().unwrap().state.to_string(), "spare");
    assert_eq!(billing(&app, day(2027, 3, 1)).await, before, "the day before is as it was");
    assert_eq!(
        billing(&app, day(2027, 3, 2)).await,
        "date,agency,devices_in_service\n2027-03-02,DOTD,1\n2027-03-02,LSA,2\n"
    );

    // The spare goes back into service with a new user: billed again.
    let moved = [
        ("serial", "LSA-4"),
        ("new_user_name", "Nia New"),
        ("new_user_email", "nia@example.edu"),
        ("new_location", "Angell Hall 3"),
    ];
    let m = open(&app, "move_reassign_device", &moved).await.unwrap();
    take(&app, m).await;
    app.advance_to(local(2027, 3, 3, 10)).await;
    w.service(m, &Actor::Person(ed.id), ServiceEvent::Resolve).await.unwrap();
    let work = w.work(Some("device_move"), Some(25)).unwrap();
    w.service(m, &Actor::Person(ed.id), ServiceEvent::Close { work }).await.unwrap();
    let d = app.res.store.device("LSA-4").await.unwrap().unwrap();
    assert_eq!(
        (d.state.to_string(), d.user_email.as_deref(), d.location.as_deref()),
        ("in_service".into(), Some("nia@example.edu"), Some("Angell Hall 3"))
    );
    assert_eq!(
        billing(&app, day(2027, 3, 3)).await,
        "date,agency,devices_in_service\n2027-03-03,DOTD,1\n2027-03-03,LSA,3\n"
    );

    app.deliver_outbox().await;
    let notices: Vec<String> =
        slack.posted().into_iter().filter(|p| p.channel == "CASSETS01").map(|p| p.text).collect();
    assert_eq!(
        notices,
        [
            "S-1 opened: decommission device for LSA",
            "S-1 closed: decommission device for LSA",
            "S-2 opened: move reassign device for LSA",
            "S-2 closed: move reassign device for LSA"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closes_record_their_work_and_the_months_transactions_are_reported_per_agency() {
    run_on_both(transactions_report).await;
}

async fn transactions_report(database_url: Option<String>) {
    let (app, _slack) = desk(database_url, local(2027, 2, 26, 9)).await;
    let w = app.workflow();
    let ed = person(&app, "ed@example.edu").await;
    let store = &app.res.store;
    let team = store.team_by_name("NIT North").await.unwrap().unwrap().id;
    let incident = |agency: &str| NewServiceTicket {
        kind: ServiceKind::Incident,
        priority: Priority::P3,
        vip: false,
        issue_type: "Hardware".into(),
        subtype: "Workstation".into(),
        summary: "Laptop will not boot".into(),
        contact: ed.id,
        team,
        agency: Some(agency.into()),
        request: None,
    };
    // (day, agency, kind, minutes): the last day of February and the first
    // of April fall outside March.
    let closes = [
        (local(2027, 2, 26, 10), "LSA", "hardware_repair", 30),
        (local(2027, 3, 1, 10), "LSA", "hardware_repair", 45),
        (local(2027, 3, 10, 10), "LSA", "reimage", 60),
        (local(2027, 3, 15, 10), "DOTD", "hardware_repair", 20),
        (local(2027, 3, 31, 16), "LSA", "hardware_repair", 15),
        (local(2027, 4, 1, 10), "DOTD", "reimage", 90),
    ];
    for (at, agency, kind, minutes) in closes {
        app.advance_to(at).await;
        let t = w.create_service(incident(agency), &Actor::System).await.unwrap().id;
        take(&app, t).await;
        w.service(t, &Actor::Person(ed.id), ServiceEvent::Resolve).await.unwrap();
        let work = w.work(Some(kind), Some(minutes)).unwrap();
        w.service(t, &Actor::Person(ed.id), ServiceEvent::Close { work }).await.unwrap();
    }
    let bad = refused(w.work(Some("fax_repair"), Some(5)));
    assert!(bad.contains("no transaction kind is called 'fax_repair'"), "{bad}");
    assert!(refused(w.work(Some("reimage"), None)).contains("both the transaction kind and the minutes"));

    let march = deskbell::devices::transactions(store, day(2027, 3, 1), day(2027, 3, 31), Detroit).await.unwrap();
    assert_eq!(
        march,
        "agency,kind,transactions,minutes\nDOTD,hardware_repair,1,20\nLSA,hardware_repair,2,60\nLSA,reimage,1,60\n"
    );
    let kpis = store.kpis(local(2027, 3, 10, 0), local(2027, 3, 11, 0)).await.unwrap();
    assert_eq!(kpis.transactions, 1, "the digest counts the day's transactions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_job_tells_refresh_admins_once_and_its_file_imports_as_a_refresh_batch() {
    run_on_both(lifecycle).await;
}

async fn lifecycle(database_url: Option<String>) {
    // LSA-1 and LSA-2 end their 48 months on 2027-06-01 and 06-20, LSA-3 on
    // 2028-01-15, DOT-1 its 36 on 2028-02-01; LSA-4 is a spare.
    let (app, slack) = desk(database_url, local(2027, 1, 30, 9)).await;
    let w = app.workflow();
    assert_eq!(w.tell_lifecycle().await.unwrap(), 0, "nothing within 120 days of Jan 30");
    // The files shared with the refresh admin, with their message.
    let told = |slack: &FakeSlack| -> Vec<SharedFile> {
        slack.shared().into_iter().filter(|f| f.channel == "DRAE00001").collect()
    };
    // The nightly job at 02:00: LSA-1 on Feb 1, 120 days before its end.
    app.advance_to(local(2027, 2, 1, 1)).await;
    assert!(told(&slack).is_empty());
    app.advance_to(local(2027, 2, 1, 3)).await;
    let first = told(&slack);
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].name.as_str(), first[0].title.as_str()),
        ("nit-north-refresh-2027-02-01.csv", "nit-north-refresh-2027-02-01.csv")
    );
    let said = first[0].blocks.to_string();
    assert!(said.contains("*1 device(s) of NIT North* reach the end of their term within 120 days"), "{said}");
    assert!(first[0].content.contains("LSA-1,windows,on_prem,NIT North,LSA 2027,Dell 5400,Cara Customer"));
    // Then LSA-2 alone: LSA-1 is not told twice.
    app.advance_to(local(2027, 2, 20, 3)).await;
    let second = told(&slack);
    assert_eq!(second.len(), 2, "one file a night with news, none without");
    assert_eq!(
        second[1].content,
        "serial,platform,style,team,config,model,customer_name,customer_email,no_customer,location\n\
         LSA-2,windows,on_prem,NIT North,LSA 2027,Dell 5400,Rita Remote,rita@example.edu,false,Angell Hall 2\n"
    );

    // The files import cleanly as a refresh batch.
    let mut created = Vec::new();
    for f in &second {
        created.extend(deskbell::import::refresh_batch(&w, &f.content).await.unwrap());
    }
    let serials: Vec<&str> = created.iter().map(|t| t.existing.serial.as_str()).collect();
    assert_eq!(serials, ["LSA-1", "LSA-2"]);
    assert_eq!(created[0].location.as_deref(), Some("Angell Hall 1"));
    let horizon = w.today() + chrono::Days::new(120);
    assert!(app.res.store.due_devices(horizon, true).await.unwrap().is_empty(), "now in a refresh");

    // Months on, LSA-3 (a shared lab machine: no user) crosses the horizon.
    app.jump_to(local(2027, 9, 17, 3)).await;
    let runs = app.res.store.job_runs(20).await.unwrap();
    let run = runs.iter().find(|r| r.job == "device_lifecycle").expect("the nightly run");
    assert_eq!(run.outcome.as_deref(), Some("ok: 1 devices due for refresh told"), "{runs:?}");
    let third = told(&slack);
    assert_eq!(third.len(), 3);
    assert!(third[2].content.contains("LSA-3,mac,on_prem,NIT North,LSA 2027,MacBook Air,,,true,Mason Hall lab"));

    // Its refresh delivered: the replacement enters service where it was,
    // the old one leaves, the agency's count stays, a refresh is recorded.
    let lab = deskbell::import::refresh_batch(&w, &third[2].content).await.unwrap()[0].id;
    let new = System { serial: "NEW-3".into(), model: Some("MacBook Air M4".into()), platform: Platform::Mac };
    for event in [
        RefreshEvent::ReplacementAssigned { system: new, tracking_number: None, bulk: true },
        RefreshEvent::ItsmSystemFound,
        RefreshEvent::DeliveryConfirmed,
    ] {
        w.refresh(lab, &Actor::System, event).await.unwrap();
    }
    let store = &app.res.store;
    assert_eq!(store.device("LSA-3").await.unwrap().unwrap().state.to_string(), "decommissioned");
    let replacement = store.device("NEW-3").await.unwrap().unwrap();
    assert_eq!(
        (replacement.agency.as_str(), replacement.location.as_deref(), replacement.in_service_on),
        ("LSA", Some("Mason Hall lab"), day(2027, 9, 17))
    );
    assert_eq!(
        billing(&app, day(2027, 9, 17)).await,
        "date,agency,devices_in_service\n2027-09-17,DOTD,1\n2027-09-17,LSA,3\n"
    );
    let report = deskbell::devices::transactions(store, day(2027, 9, 1), day(2027, 9, 30), Detroit).await.unwrap();
    assert_eq!(report, "agency,kind,transactions,minutes\nLSA,refresh,1,0\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_opens_a_request_with_every_problem_told_at_once_and_closes_it_with_its_work() {
    run_on_both(api_request).await;
}

async fn api_request(database_url: Option<String>) {
    let (app, slack) = desk(database_url, local(2027, 3, 1, 9)).await;
    let client = deskbell::net::http_client(std::time::Duration::from_secs(10));
    let call = |path: &str, body: Value| {
        client
            .post(format!("{}/api/v1/service-tickets{path}", app.address))
            .bearer_auth("helpdesk-token")
            .json(&body)
            .send()
    };
    let mut new = json!({
        "kind": "request", "priority": "P5", "issue_type": "Hardware", "subtype": "Move",
        "summary": "Move Rita's laptop", "contact_email": "rita@example.edu", "contact_name": "Rita Remote",
        "team": "NIT North",
        "request": { "kind": "move_reassign_device", "fields": { "serial": "LSA-2", "new_user_email": "not-an-email" } },
    });
    let refused = call("", new.clone()).await.unwrap();
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    let problems: Vec<String> = serde_json::from_value(body["errors"].clone()).unwrap();
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(problems.iter().any(|p| p.starts_with("new_user_name:")), "{problems:?}");
    assert!(problems.iter().any(|p| p.starts_with("new_user_email:")), "{problems:?}");
    assert!(problems.iter().any(|p| p.starts_with("new_location:")), "{problems:?}");
    assert!(problems.iter().any(|p| p.starts_with("agency:")), "{problems:?}");
    new["agency"] = "LSA".into();
    new["request"]["fields"] = json!({
        "serial": "LSA-2", "new_user_name": "Nia <!channel> New", "new_user_email": "nia@example.edu",
        "new_location": "<https://evil.example|Angell 4> & co",
    });
    let created = call("", new).await.unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["request"]["kind"], "move_reassign_device");
    let event = |body: Value| call("/S-1/events", body);
    event(json!({ "event": "assign", "engineer": "ed@example.edu" })).await.unwrap();
    event(json!({ "event": "acknowledge", "by": "ed@example.edu" })).await.unwrap();
    event(json!({ "event": "resolve" })).await.unwrap();
    let bare = event(json!({ "event": "close" })).await.unwrap();
    assert_eq!(bare.status(), 422);
    assert!(bare.text().await.unwrap().contains("needs the time spent and the transaction kind"));
    let closed = event(json!({ "event": "close", "transaction": "device_move", "minutes": 30 })).await.unwrap();
    assert_eq!(closed.status(), 200);
    let closed: Value = closed.json().await.unwrap();
    assert_eq!(closed["status"], "closed");
    let d = app.res.store.device("LSA-2").await.unwrap().unwrap();
    assert_eq!(d.user_email.as_deref(), Some("nia@example.edu"));
    assert_eq!(d.user_name.as_deref(), Some("Nia <!channel> New"), "kept as typed");
    // Text people typed reaches Slack as text: no @channel, no disguised link.
    app.deliver_outbox().await;
    let notice = slack.posted().into_iter().find(|p| p.channel == "CASSETS01").expect("the asset team is told");
    let shown = notice.blocks.to_string();
    assert!(shown.contains("Nia &lt;!channel&gt; New"), "{shown}");
    assert!(shown.contains("&lt;https://evil.example|Angell 4&gt; &amp; co"), "{shown}");
    assert!(!shown.contains("<!channel>") && !shown.contains("<https://evil"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_taken_by_phone_opens_from_slack_with_each_problem_under_its_input() {
    run_on_both(request_modal).await;
}

async fn request_modal(database_url: Option<String>) {
    let (app, slack) = desk(database_url, local(2027, 3, 1, 9)).await;
    let said = app.slack_command("UED000001", "/request", "").await["text"].as_str().unwrap().to_owned();
    assert!(said.contains("one of: order_new_device, move_reassign_device, decommission_device"), "{said}");
    let said = app.slack_command("UED000001", "/request", "decommission_device").await;
    assert_eq!(said["text"], "Opening a request: Decommission device…");
    let (_, view) = slack.views().pop().expect("the modal was opened");
    assert_eq!(
        (view["callback_id"].as_str(), view["private_metadata"].as_str()),
        (Some("request"), Some("decommission_device"))
    );
    let blocks: Vec<&str> =
        view["blocks"].as_array().unwrap().iter().map(|b| b["block_id"].as_str().unwrap()).collect();
    assert_eq!(
        blocks,
        ["contact_name", "contact_email", "agency", "team", "summary", "field.serials", "field.disposition"]
    );

    let typed = |v: &str| json!({ "type": "plain_text_input", "value": v });
    let picked = |v: &str| json!({ "type": "static_select", "selected_option": { "value": v } });
    let mut values = json!({
        "contact_name": { "contact_name": typed("Rita Remote") },
        "contact_email": { "contact_email": typed("rita@") },
        "agency": { "agency": typed("LSA") },
        "team": { "team": picked("NIT North") },
        "summary": { "summary": typed("Retire Rita's old laptop") },
        "field.serials": { "field.serials": typed("LSA-2, GONE-1") },
        "field.disposition": { "field.disposition": { "type": "static_select", "selected_option": null } },
    });
    let (code, body) = app.submit_view("UED000001", "request", "decommission_device", values.clone()).await;
    assert_eq!(code, 200);
    assert_eq!(body["response_action"], "errors", "{body}");
    let errors = &body["errors"];
    assert!(errors["contact_email"].as_str().unwrap().starts_with("contact_email:"), "{body}");
    assert!(errors["field.serials"].as_str().unwrap().contains("no managed device has the serial GONE-1"), "{body}");
    assert!(errors["field.disposition"].as_str().unwrap().contains("is required"), "{body}");
    assert!(app.res.store.load_service(ServiceTicketId(1)).await.is_err(), "nothing was opened");

    values["contact_email"]["contact_email"] = typed("rita@example.edu");
    values["field.serials"]["field.serials"] = typed("LSA-2");
    values["field.disposition"]["field.disposition"] = picked("surplus");
    let (code, body) = app.submit_view("UED000001", "request", "decommission_device", values).await;
    assert_eq!((code, body), (200, Value::Null), "an empty 200 closes the modal");
    let t = app.res.store.load_service(ServiceTicketId(1)).await.unwrap().value;
    let request = t.request.expect("a named request");
    assert_eq!((request.kind.0.as_str(), request.field("disposition")), ("decommission_device", "surplus"));
    assert_eq!((t.priority, t.agency.as_deref()), (Priority::P5, Some("LSA")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_devices_file_with_a_broken_row_imports_nothing_and_the_commands_read_what_was_imported() {
    let app = TestApp::builder().sim_clock_at(local(2027, 3, 1, 9)).start().await;
    app.sync_directory(DESK).await.unwrap();
    let broken = format!(
        "{DEVICES}LSA-1,windows,LSA,NIT North,LSA 2027,2024-01-01,,,,,,\n\
         BAD-1,toaster,LSA,Nowhere,LSA 2027,2024-13-01,lost,,,bob@,,-3\n"
    );
    let e = deskbell::devices::import(&app.res.store, &broken, Detroit, app.now()).await.unwrap_err().to_string();
    assert!(e.starts_with("2 bad row(s), nothing imported"), "{e}");
    assert!(e.contains("line 7: serial LSA-1 is also on line 2"), "{e}");
    assert!(e.contains("line 8: platform 'toaster' is not one of"), "{e}");
    assert!(app.res.store.device("LSA-1").await.unwrap().is_none(), "nothing imported");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("devices.csv");
    std::fs::write(&file, DEVICES).unwrap();
    let run = |args: &[&str]| {
        let out = app.command().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(run(&["import", "devices", file.to_str().unwrap()]), "imported 5 device(s)\n");
    assert_eq!(
        run(&["devices", "billing", "--at", "2026-12-31"]),
        "date,agency,devices_in_service\n2026-12-31,DOTD,1\n2026-12-31,LSA,3\n"
    );
    assert_eq!(
        run(&["report", "transactions", "--from", "2027-03-01", "--to", "2027-03-31"]),
        "agency,kind,transactions,minutes\n"
    );
    let due = run(&["devices", "due"]);
    assert!(
        due.starts_with("serial,platform,style,team,config,model,customer_name,customer_email,no_customer,location\n"),
        "{due}"
    );
}
