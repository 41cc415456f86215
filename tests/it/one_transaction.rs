//! A mark and the work it guards commit together (DESIGN rule 3, as
//! `commit_change` does for a ticket): an inbound reply's note, its ticket's
//! move and the people told; a Slack event's record and the member it links.
//! A fault injected into the second step (a trigger the database raises) must
//! leave nothing half-done, and a retry must complete the work. Both databases.

use std::sync::Arc;

use deskbell::clock::SimClock;
use deskbell::domain::service::{Priority, ServiceEvent, ServiceStatus};
use deskbell::domain::{Actor, Email, SlackUserId};
use deskbell::inbound::Inbound;
use deskbell::store::{Envelope, Store};
use sqlx::AnyPool;

use crate::support::{fixture, local};

enum Db {
    Sqlite,
    Postgres,
}

/// The store under test and a second connection to the same database, for
/// the fault: a trigger that raises on `table` where `when` holds.
struct Faulty {
    store: Store,
    raw: AnyPool,
    db: Db,
    _dir: Option<tempfile::TempDir>,
}

impl Faulty {
    async fn open(db: Db) -> Self {
        let (url, dir) = match db {
            Db::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                (format!("sqlite://{}/deskbell.db", dir.path().display()), Some(dir))
            }
            Db::Postgres => (crate::support::postgres::fresh_database_url().await, None),
        };
        let store = Store::connect(&url, 4).await.unwrap();
        store.migrate().await.unwrap();
        let raw = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        Self { store, raw, db, _dir: dir }
    }

    async fn fail(&self, event: &str, table: &str, when: &str) {
        let statements = match self.db {
            Db::Sqlite => vec![format!(
                "CREATE TRIGGER injected BEFORE {event} ON {table} WHEN {when} BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
            )],
            Db::Postgres => vec![
                "CREATE FUNCTION injected() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql"
                    .to_owned(),
                format!("CREATE TRIGGER injected BEFORE {event} ON {table} FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION injected()"),
            ],
        };
        for sql in statements {
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&self.raw).await.unwrap();
        }
    }

    async fn heal(&self, table: &str) {
        let sql = match self.db {
            Db::Sqlite => "DROP TRIGGER injected".to_owned(),
            Db::Postgres => format!("DROP TRIGGER injected ON {table}"),
        };
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&self.raw).await.unwrap();
    }
}

async fn a_reply_whose_notification_fails_changes_nothing_and_a_retry_completes_it(db: Db) {
    let f = Faulty::open(db).await;
    let store = &f.store;
    let fx = fixture(store).await;
    let clock = Arc::new(SimClock::new(local(11, 2, 9, 0)));
    let workflow = crate::support::workflow(store, clock);
    let s = workflow.create_service(crate::support::incident(&fx, Priority::P3), &Actor::System).await.unwrap().id;
    let eve = Actor::Person(fx.engineer);
    workflow.service(s, &eve, ServiceEvent::Assign { engineer: fx.engineer }).await.unwrap();
    workflow.service(s, &eve, ServiceEvent::Acknowledge { by: fx.engineer }).await.unwrap();
    workflow.service(s, &eve, ServiceEvent::WaitOnClient).await.unwrap();
    let inbound = Inbound { workflow, reply_secret: None, max_attachment_bytes: 1024, helpdesk_channel: None };
    let raw = "From: Cara Customer <cara@example.edu>\r\nTo: support@example.edu\r\nSubject: Re: [S-1] VPN down\r\n\
               Message-ID: <r1@mail.example.edu>\r\nMIME-Version: 1.0\r\n\r\nIt works again.\r\n";

    f.fail("INSERT", "outbox", "NEW.template = 'customer_reply'").await;
    let id = inbound.receive("webhook", &Envelope::default(), raw.as_bytes()).await.unwrap();
    let row = store.inbound(id).await.unwrap();
    assert_eq!(row.status, "stored", "kept for a retry");
    let notes = |a: &Vec<deskbell::domain::Audit>| {
        a.iter().filter(|a| a.change.what == deskbell::domain::AuditField::CustomerNote).count()
    };
    assert_eq!(notes(&store.audits(s.into()).await.unwrap()), 0, "no note without its notification");
    assert_eq!(store.load_service(s).await.unwrap().value.status, ServiceStatus::WaitingOnClient, "not moved");

    f.heal("outbox").await;
    let done = inbound.process(id).await.unwrap();
    assert_eq!((done.status, done.ticket), ("threaded", Some(s.into())));
    assert_eq!(notes(&store.audits(s.into()).await.unwrap()), 1, "the note, once");
    assert_eq!(store.load_service(s).await.unwrap().value.status, ServiceStatus::InProgress);
    let told = store.outbox_of(s.into()).await.unwrap().into_iter().filter(|m| m.template == "customer_reply").count();
    assert_eq!(told, 1, "the engineer is told once");
}

async fn a_join_whose_link_fails_is_not_marked_and_slacks_retry_links_it(db: Db) {
    let f = Faulty::open(db).await;
    let store = &f.store;
    fixture(store).await;
    let cara = Email::parse("cara@example.edu").unwrap();
    let user = SlackUserId::parse("UCARA0001").unwrap();
    let now = chrono::Utc::now();
    f.fail("UPDATE", "people", "NEW.slack_user IS NOT NULL").await;
    assert!(store.act_on_slack_event("Ev0JOIN01", now, Some((&cara, &user))).await.is_err());
    f.heal("people").await;
    // Slack retries the event it saw no 200 for: it is acted on now.
    assert_eq!(store.act_on_slack_event("Ev0JOIN01", now, Some((&cara, &user))).await.unwrap(), Some(true));
    assert_eq!(store.person_by_email(&cara).await.unwrap().unwrap().slack_user, Some(user.clone()));
    assert_eq!(store.act_on_slack_event("Ev0JOIN01", now, Some((&cara, &user))).await.unwrap(), None, "once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_reply_on_sqlite() {
    a_reply_whose_notification_fails_changes_nothing_and_a_retry_completes_it(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_reply_on_postgres() {
    a_reply_whose_notification_fails_changes_nothing_and_a_retry_completes_it(Db::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_join_on_sqlite() {
    a_join_whose_link_fails_is_not_marked_and_slacks_retry_links_it(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_join_on_postgres() {
    a_join_whose_link_fails_is_not_marked_and_slacks_retry_links_it(Db::Postgres).await;
}
