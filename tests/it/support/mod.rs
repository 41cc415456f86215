//! Shared test helpers: fresh databases of both kinds and fixtures.

pub mod app;
pub mod browser;
pub mod fake_slack;
pub mod fake_tdx;
pub mod postgres;
pub mod smtp;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::America::Detroit;
use deskbell::calendar::BusinessCalendar;
use deskbell::domain::{ConfigOptions, Email, PersonId, Role, SlackChannelId, SlackUserId, TeamId};
use deskbell::store::{NewPerson, Store};

/// A database under test and what keeps it alive.
pub struct TestDb {
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/deskbell.db", dir.path().display());
    let store = Store::connect(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    TestDb { store, _dir: Some(dir) }
}

pub async fn postgres() -> TestDb {
    let store = Store::connect(&postgres::fresh_database_url().await, 8).await.unwrap();
    store.migrate().await.unwrap();
    TestDb { store, _dir: None }
}

/// Runs one async test body against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::support::sqlite().await;
                super::$name(&db.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::support::postgres().await;
                super::$name(&db.store).await;
            }
        }
    )*};
}

/// Runs a test that starts its own application on a fresh SQLite file
/// (`None`), then on a fresh PostgreSQL database.
pub async fn run_on_both(test: impl AsyncFn(Option<String>)) {
    test(None).await;
    test(Some(postgres::fresh_database_url().await)).await;
}

pub fn calendar() -> BusinessCalendar {
    let mut c = BusinessCalendar::standard("umich", Detroit);
    for (m, d) in [(9, 7), (11, 26), (11, 27)] {
        c.holidays.insert(NaiveDate::from_ymd_opt(2026, m, d).unwrap());
    }
    c
}

pub fn local(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    calendar().at_local(NaiveDate::from_ymd_opt(2026, m, d).unwrap(), NaiveTime::from_hms_opt(h, min, 0).unwrap())
}

/// A small directory: a customer, a delegate, two approvers, a dispatcher,
/// one team and one refresh config.
pub struct Fixture {
    pub customer: PersonId,
    pub delegate: PersonId,
    pub approvers: [PersonId; 2],
    pub engineer: PersonId,
    pub team: TeamId,
    pub config: deskbell::domain::ConfigId,
}

pub async fn fixture(store: &Store) -> Fixture {
    let person = |name: &str, email: &str, slack: Option<&str>, roles: Vec<Role>| NewPerson {
        name: name.into(),
        email: Email::parse(email).unwrap(),
        slack_user: slack.map(|s| SlackUserId::parse(s).unwrap()),
        roles,
    };
    let customer =
        store.upsert_person(&person("Cara Customer", "cara@example.edu", None, vec![Role::Customer])).await.unwrap();
    let delegate =
        store.upsert_person(&person("Dan Delegate", "dan@example.edu", None, vec![Role::Delegate])).await.unwrap();
    let a1 = store
        .upsert_person(&person("Ann Approver", "ann@example.edu", Some("UANN00001"), vec![Role::Approver]))
        .await
        .unwrap();
    let a2 = store.upsert_person(&person("Abe Approver", "abe@example.edu", None, vec![Role::Approver])).await.unwrap();
    let engineer = store
        .upsert_person(&person(
            "Eve Engineer",
            "eve@example.edu",
            Some("UEVE00001"),
            vec![Role::Engineer, Role::Dispatcher],
        ))
        .await
        .unwrap();
    let team = store.upsert_team("NIT North", &SlackChannelId::parse("CNORTH001").unwrap(), "umich").await.unwrap();
    let config = store.upsert_config("LSA 2026", &[a1, a2], ConfigOptions::default()).await.unwrap();
    Fixture { customer, delegate, approvers: [a1, a2], engineer, team, config }
}

/// A new on-prem Windows refresh ticket of the fixture's customer.
pub fn new_refresh(f: &Fixture, serial: &str) -> deskbell::domain::refresh::NewRefreshTicket {
    use deskbell::domain::refresh::{NewRefreshTicket, Platform, Style, System};
    NewRefreshTicket {
        style: Style::OnPrem,
        customer: Some(f.customer),
        delegate: None,
        no_customer: false,
        team: f.team,
        config: f.config,
        existing: System { serial: serial.into(), model: Some("Dell 5400".into()), platform: Platform::Windows },
        replacement: None,
        location: None,
    }
}

/// The workflow on a store with the test calendar, on a simulated clock.
pub fn workflow(store: &Store, clock: std::sync::Arc<deskbell::clock::SimClock>) -> deskbell::workflow::Workflow {
    let mut calendars = deskbell::config::Calendars::default();
    calendars.insert(calendar());
    deskbell::workflow::Workflow {
        store: store.clone(),
        calendars: std::sync::Arc::new(calendars),
        cadence: std::sync::Arc::new(deskbell::domain::refresh::Cadence::default()),
        routing: deskbell::store::Routing::default(),
        clock,
        policy: std::sync::Arc::new(escalation_policy()),
        requests: std::sync::Arc::new(request_policy()),
        zone: chrono_tz::America::Detroit,
        away: std::sync::Arc::new(deskbell::config::SlackSettings::default().away()),
    }
}

/// The shipped SLA and escalation policy.
pub fn escalation_policy() -> deskbell::domain::service::policy::EscalationPolicy {
    deskbell::config::escalation::load(concat!(env!("CARGO_MANIFEST_DIR"), "/config/escalation.toml").as_ref()).unwrap()
}

/// The shipped service request policy.
pub fn request_policy() -> deskbell::domain::service::request::RequestPolicy {
    deskbell::config::requests::load(concat!(env!("CARGO_MANIFEST_DIR"), "/config/service_requests.toml").as_ref())
        .unwrap()
}

/// A VPN incident of the fixture's customer.
pub fn incident(
    f: &Fixture,
    priority: deskbell::domain::service::Priority,
) -> deskbell::domain::service::NewServiceTicket {
    deskbell::domain::service::NewServiceTicket {
        kind: deskbell::domain::service::ServiceKind::Incident,
        priority,
        vip: false,
        issue_type: "Network".into(),
        subtype: "VPN - Troubleshooting".into(),
        summary: "VPN down".into(),
        contact: f.customer,
        team: f.team,
        agency: None,
        request: None,
    }
}

/// Walks a new refresh ticket to `pending_customer_scheduling`: wizard done,
/// replacement `NEW-<serial>` assigned and found in TDX, slots offered.
pub async fn offer_slots(workflow: &deskbell::workflow::Workflow, t: deskbell::domain::RefreshTicketId, serial: &str) {
    use deskbell::domain::Actor;
    use deskbell::domain::refresh::{Platform, RefreshEvent, System};
    let system = System { serial: format!("NEW-{serial}"), model: None, platform: Platform::Windows };
    for event in [
        RefreshEvent::WizardCompleted { needs_approval: false, location: None, shipping_address: None, answers: None },
        RefreshEvent::ReplacementAssigned { system, tracking_number: None, bulk: true },
        RefreshEvent::ItsmSystemFound,
        RefreshEvent::SlotsAvailable,
    ] {
        workflow.refresh(t, &Actor::System, event).await.unwrap();
    }
}
