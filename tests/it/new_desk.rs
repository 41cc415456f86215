//! A desk that is not the demo sets deskbell up with the real binary, as
//! its README says: its own calendar (not `umich`, in Europe/Berlin), its
//! own directory file, a people export and a ticket batch; on SQLite and on
//! PostgreSQL. Nothing here names anything of the demo.

use std::path::Path;
use std::process::{Output, Stdio};

use crate::cli::{KillOnDrop, deskbell, listening};

const CALENDAR: &str = "time_zone = \"Europe/Berlin\"\nbusiness_day_start = \"07:00\"\nbusiness_day_end = \"17:00\"\n\
weekend = [\"Sat\", \"Sun\"]\nholidays = [2026-12-24, 2026-12-25, 2026-12-26]\n";

const DIRECTORY: &str = r#"# Acme's service desk
[[people]]
name = "Greta Approver"
email = "greta@acme.test"
slack_user = "U0GRETA01"
roles = ["approver"]

[[people]]
name = "Otto Admin"
email = "otto@acme.test"
roles = ["refresh_admin", "app_admin"]

[[teams]]
name = "Field Services Berlin"
slack_channel = "C0FIELDBE"
calendar = "acme-berlin"
location = "Haus 2, Raum 14"
slots = [{ weekday = "Wed", start = "10:00", length_minutes = 60, capacity = 2 }]

[[configs]]
name = "Finance 2027"
approvers = ["greta@acme.test"]
approved_models = [{ model = "ThinkPad T14", platform = "windows" }]
"#;

const PEOPLE: &str = "name,email,slack_user,roles\nHanna Kunde,hanna@acme.test,,customer\nDieter Dispatch,dieter@acme.test,U0DIETER1,dispatcher;engineer\n";

const BATCH: &str = "serial,platform,style,team,config,model,customer_name,customer_email\n\
PF-1001,windows,on_prem,Field Services Berlin,Finance 2027,ThinkPad T480,Hanna Kunde,hanna@acme.test\n\
PF-1002,windows,unit_specified_location,Field Services Berlin,Finance 2027,ThinkPad T480,Jan Nutzer,jan@acme.test\n";

fn run(dir: &Path, db: &str, args: &[&str]) -> Output {
    let config = dir.join("deskbell.toml");
    deskbell(dir).env("DESKBELL_DATABASE__URL", db).arg("--config").arg(&config).args(args).output().unwrap()
}

fn ok(out: Output) -> String {
    let (stdout, stderr) = (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap());
    assert!(out.status.success(), "{stdout}\n{stderr}");
    stdout
}

fn failed(out: Output) -> String {
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).unwrap()
}

async fn a_new_desk_sets_itself_up(db: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("calendars")).unwrap();
    std::fs::write(dir.join("calendars/acme-berlin.toml"), CALENDAR).unwrap();
    std::fs::write(dir.join("directory.toml"), DIRECTORY).unwrap();
    std::fs::write(dir.join("people.csv"), PEOPLE).unwrap();
    std::fs::write(dir.join("batch.csv"), BATCH).unwrap();
    let config = format!(
        "[refresh]\ncalendars_dir = \"{0}/calendars\"\n[directory]\nfile = \"{0}/directory.toml\"\n\
         [email]\ndrop_dir = \"{0}/mail\"\n[slack]\nlog_file = \"{0}/slack.jsonl\"\n",
        dir.display()
    );
    std::fs::write(dir.join("deskbell.toml"), config).unwrap();

    assert!(ok(run(dir, db, &["check-config"])).contains("configuration ok"));
    let jobs = ok(run(dir, db, &["jobs"]));
    assert!(jobs.contains("Jobs (local time Europe/Berlin)"), "{jobs}");
    assert!(jobs.contains("slot_discovery") && jobs.contains("approval_digest") && jobs.contains("CET"), "{jobs}");

    // A broken line is named and nothing changes.
    let broken = DIRECTORY.replace("roles = [\"approver\"]", "roles = [\"approver\", \"boss\"]");
    std::fs::write(dir.join("broken.toml"), &broken).unwrap();
    let line = broken[..broken.find("\"boss\"").unwrap()].lines().count();
    let err = failed(run(dir, db, &["directory", "sync", &dir.join("broken.toml").display().to_string()]));
    assert!(err.contains(&format!("broken.toml:{line}:")) && err.contains("boss"), "{err}");
    let file = dir.join("directory.toml").display().to_string();
    let dry = ok(run(dir, db, &["directory", "sync", "--dry-run", &file]));
    assert!(dry.contains("4 added, 0 changed, 0 deactivated (dry run"), "the broken file applied nothing: {dry}");

    let synced = ok(run(dir, db, &["directory", "sync", &file]));
    assert!(synced.contains("+ team 'Field Services Berlin'"), "{synced}");
    assert!(ok(run(dir, db, &["import", "people", &dir.join("people.csv").display().to_string()])).contains("2 added"));
    let imported = ok(run(dir, db, &["import", "refresh-batch", &dir.join("batch.csv").display().to_string()]));
    assert!(imported.contains("imported 2 refresh ticket(s): R-1, R-2"), "{imported}");

    // The invite waits for 10:05 in Berlin on a business morning.
    let shown = ok(run(dir, db, &["show", "R-1"]));
    let scheduled = shown.split("Scheduled").nth(1).unwrap().split("History").next().unwrap();
    assert!(scheduled.contains("10:05 CET") && scheduled.contains("customer_begin"), "{shown}");

    // serve applies the configured directory and starts.
    let mut child = KillOnDrop(
        deskbell(dir)
            .env("DESKBELL_DATABASE__URL", db)
            .arg("--config")
            .arg(dir.join("deskbell.toml"))
            .arg("serve")
            .env("DESKBELL_SERVER__BIND", "127.0.0.1:0")
            .env("DESKBELL_INBOUND__SMTP_BIND", "127.0.0.1:0")
            .env("DESKBELL_LOG__FORMAT", "json")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (addr, _) = listening(&mut child);
    let client = deskbell::net::http_client(std::time::Duration::from_secs(10));
    assert_eq!(client.get(format!("http://{addr}/readyz")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_new_desk_sets_itself_up_on_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    a_new_desk_sets_itself_up(&format!("sqlite://{}/desk.db", tmp.path().display())).await;
}

#[tokio::test]
async fn a_new_desk_sets_itself_up_on_postgres() {
    a_new_desk_sets_itself_up(&crate::support::postgres::fresh_database_url().await).await;
}
