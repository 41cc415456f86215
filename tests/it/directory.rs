//! The directory as data, both databases: a sync adds, changes and
//! deactivates in one transaction, reports what it did, changes nothing
//! twice, resolves approver groups, and refuses to leave tickets awaiting
//! approval without an approver. `import people` is all or nothing.

use std::sync::Arc;

use chrono::Utc;
use deskbell::clock::SimClock;
use deskbell::directory::{Directory, from_toml};
use deskbell::domain::refresh::{NewRefreshTicket, Platform, RefreshEvent, RefreshStatus, Style, System};
use deskbell::domain::{Actor, Email, Role};
use deskbell::store::Store;

use crate::both_databases;
use crate::support::{local, workflow};

both_databases!(
    a_sync_adds_then_changes_nothing_then_deactivates_what_left_the_file,
    approver_groups_resolve_to_their_active_members,
    leaving_waiting_tickets_without_an_approver_is_refused_and_changes_nothing,
    importing_people_is_all_or_nothing_and_keeps_directory_roles_apart,
    staff_without_a_slack_id_are_linked_by_email_and_customers_are_not_asked,
);

const DESK: &str = r#"
[[people]]
name = "Ann Approver"
email = "ann@acme.test"
slack_user = "U0ANN0001"
roles = ["approver"]

[[people]]
name = "Bea Backup"
email = "bea@acme.test"
roles = ["approver", "refresh_manager"]

[[groups]]
name = "Finance approvers"
members = ["ann@acme.test", "bea@acme.test"]

[[teams]]
name = "Field Services"
slack_channel = "C0FIELD01"
calendar = "umich"
location = "Building 4, room 12"
slots = [{ weekday = "Tue", start = "09:00", length_minutes = 60, capacity = 2 }]

[[configs]]
name = "Finance 2027"
approvers = ["Finance approvers"]
approved_models = [{ model = "ThinkPad T14", platform = "windows" }]
software = ["SPSS"]
"#;

fn desk(text: &str) -> Directory {
    from_toml(text, &["umich"]).unwrap()
}

async fn a_sync_adds_then_changes_nothing_then_deactivates_what_left_the_file(store: &Store) {
    let now = Utc::now();
    let dry = store.sync_directory(&desk(DESK), now, true).await.unwrap();
    assert_eq!(dry.added.len(), 5, "{dry}");
    assert!(store.team_by_name("Field Services").await.unwrap().is_none(), "a dry run changes nothing");

    let first = store.sync_directory(&desk(DESK), now, false).await.unwrap();
    assert_eq!(first, dry, "the dry run said exactly what the sync did");
    let team = store.team_by_name("Field Services").await.unwrap().unwrap();
    assert_eq!(team.location.as_deref(), Some("Building 4, room 12"));
    assert_eq!(store.slot_preferences(team.id).await.unwrap().len(), 1);
    assert!(store.sync_directory(&desk(DESK), now, false).await.unwrap().is_empty(), "twice changes nothing");

    // Bea leaves the file; Ann gets another role; a customer named by a ticket is not the file's to remove.
    let cara = store.ensure_person("Cara", &Email::parse("cara@acme.test").unwrap(), Role::Customer).await.unwrap();
    let next = DESK
        .replace("[[people]]\nname = \"Bea Backup\"\nemail = \"bea@acme.test\"\nroles = [\"approver\", \"refresh_manager\"]\n", "")
        .replace("members = [\"ann@acme.test\", \"bea@acme.test\"]", "members = [\"ann@acme.test\"]")
        .replace("roles = [\"approver\"]", "roles = [\"approver\", \"dispatcher\"]");
    let report = store.sync_directory(&desk(&next), now, false).await.unwrap();
    assert_eq!(report.deactivated, vec!["person bea@acme.test".to_string()], "{report}");
    assert!(report.changed.iter().any(|c| c.contains("ann@acme.test") && c.contains("dispatcher")), "{report}");
    let bea = store.person_by_email(&Email::parse("bea@acme.test").unwrap()).await.unwrap().unwrap();
    assert_eq!(bea.name, "Bea Backup", "deactivated, never deleted");
    assert!(store.person(cara).await.is_ok());
    let config = store.config(store.config_id("Finance 2027").await.unwrap().unwrap()).await.unwrap();
    assert_eq!(config.approvers.len(), 1, "only Ann is left to approve");

    // The team leaves the file: deactivated, no longer offered for imports.
    let without_team =
        next.split("[[teams]]").next().unwrap().to_owned() + "[[configs]]" + next.split("[[configs]]").nth(1).unwrap();
    let report = store.sync_directory(&desk(&without_team), now, false).await.unwrap();
    assert_eq!(report.deactivated, vec!["team 'Field Services'".to_string()], "{report}");
    assert!(store.team_by_name("Field Services").await.unwrap().is_none());
    assert_eq!(store.team(team.id).await.unwrap().name, "Field Services", "history still names it");
}

async fn approver_groups_resolve_to_their_active_members(store: &Store) {
    store.sync_directory(&desk(DESK), Utc::now(), false).await.unwrap();
    let id = store.config_id("Finance 2027").await.unwrap().unwrap();
    let config = store.config(id).await.unwrap();
    let ann = store.person_by_email(&Email::parse("ann@acme.test").unwrap()).await.unwrap().unwrap();
    let bea = store.person_by_email(&Email::parse("bea@acme.test").unwrap()).await.unwrap().unwrap();
    assert_eq!(config.approvers, vec![ann.id, bea.id], "the group's members approve");
    assert_eq!(config.approved_models[0].model, "ThinkPad T14");
    assert_eq!(config.software, vec!["SPSS".to_string()]);
}

async fn leaving_waiting_tickets_without_an_approver_is_refused_and_changes_nothing(store: &Store) {
    let text = DESK.replace("members = [\"ann@acme.test\", \"bea@acme.test\"]", "members = [\"bea@acme.test\"]");
    store.sync_directory(&desk(&text), Utc::now(), false).await.unwrap();
    let team = store.team_by_name("Field Services").await.unwrap().unwrap();
    let config = store.config_id("Finance 2027").await.unwrap().unwrap();
    let clock = Arc::new(SimClock::new(local(12, 1, 9, 0)));
    let w = workflow(store, clock);
    let cara = store.ensure_person("Cara", &Email::parse("cara@acme.test").unwrap(), Role::Customer).await.unwrap();
    let new = NewRefreshTicket {
        style: Style::OnPrem,
        customer: Some(cara),
        delegate: None,
        no_customer: false,
        team: team.id,
        config,
        existing: System { serial: "SER-9".into(), model: None, platform: Platform::Windows },
        replacement: None,
        location: None,
    };
    let t = w.create_refresh(new, &Actor::System).await.unwrap();
    let event =
        RefreshEvent::WizardCompleted { needs_approval: true, location: None, shipping_address: None, answers: None };
    assert_eq!(w.refresh(t.id, &Actor::System, event).await.unwrap().status, RefreshStatus::RequiresApproval);

    let gone = text
        .replace("[[people]]\nname = \"Bea Backup\"\nemail = \"bea@acme.test\"\nroles = [\"approver\", \"refresh_manager\"]\n", "")
        .replace("members = [\"bea@acme.test\"]", "members = []");
    let err = store.sync_directory(&desk(&gone), Utc::now(), false).await.unwrap_err().to_string();
    assert!(err.contains("'Finance 2027' (1 ticket(s) awaiting approval)") && err.contains("nothing changed"), "{err}");
    let bea = store.person_by_email(&Email::parse("bea@acme.test").unwrap()).await.unwrap().unwrap();
    assert_eq!(store.config(config).await.unwrap().approvers, vec![bea.id], "Bea still approves: nothing changed");
}

async fn importing_people_is_all_or_nothing_and_keeps_directory_roles_apart(store: &Store) {
    let bad = "name,email,slack_user,roles\nDee Dispatcher,dee@acme.test,U0DEE0001,dispatcher\nBroken,not-an-email,,\nEd,ed@acme.test,,engineer;wizard\n";
    let err = deskbell::import::people(store, bad).await.unwrap_err().to_string();
    assert!(err.contains("line 3: email") && err.contains("line 4: role 'wizard'"), "{err}");
    assert!(
        store.person_by_email(&Email::parse("dee@acme.test").unwrap()).await.unwrap().is_none(),
        "nothing imported"
    );

    let good = "name,email,slack_user,roles\nDee Dispatcher,dee@acme.test,U0DEE0001,dispatcher\nEd Engineer,ed@acme.test,,engineer service_manager\n";
    let report = deskbell::import::people(store, good).await.unwrap();
    assert_eq!(report.added.len(), 2, "{report}");
    let ed = store.person_by_email(&Email::parse("ed@acme.test").unwrap()).await.unwrap().unwrap();
    assert_eq!(ed.roles, vec![Role::Engineer, Role::ServiceManager]);
    // A directory sync does not deactivate people it did not bring.
    let report = store.sync_directory(&desk(DESK), Utc::now(), false).await.unwrap();
    assert!(report.deactivated.is_empty(), "{report}");
    assert!(store.person_by_slack("U0DEE0001").await.unwrap().is_some());
}

async fn staff_without_a_slack_id_are_linked_by_email_and_customers_are_not_asked(store: &Store) {
    use deskbell::channels::slack::SlackChannel;
    use deskbell::slack::linking::link_staff;
    let fake = crate::support::fake_slack::FakeSlack::start().await;
    let slack = SlackChannel::api(&fake.url, crate::support::fake_slack::TOKEN);
    let csv = "name,email,slack_user,roles\nAnn,ann@example.edu,,approver\nNobody,nobody@example.edu,,engineer\n";
    deskbell::import::people(store, csv).await.unwrap();
    store.ensure_person("Cara", &Email::parse("cara@example.edu").unwrap(), Role::Customer).await.unwrap();

    let now = Utc::now();
    assert_eq!(link_staff(store, &slack, now, 40).await.unwrap(), (1, 2), "Ann linked, the customer not asked");
    let ann = store.person_by_email(&Email::parse("ann@example.edu").unwrap()).await.unwrap().unwrap();
    assert_eq!(ann.slack_user.unwrap().as_str(), "UANN00001");
    assert_eq!(fake.calls().iter().filter(|c| *c == "users.lookupByEmail").count(), 2);
    assert_eq!(link_staff(store, &slack, now, 40).await.unwrap(), (0, 1), "only the unlinked are asked again");
}
