//! The `deskbell` binary as an operator runs it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn deskbell(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deskbell"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("DESKBELL_CONFIG")
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .env("DESKBELL_DATABASE__URL", format!("sqlite://{}/deskbell.db", dir.display()));
    cmd
}

#[test]
fn serve_with_a_malformed_config_exits_non_zero_with_one_line_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("deskbell.toml");
    std::fs::write(&config, "[database]\nmax_connections = \"lots\"\n").unwrap();
    let out = deskbell(dir.path()).arg("--config").arg(&config).arg("serve").output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&config.display().to_string()) && stderr.contains("database.max_connections"), "{stderr}");
    assert!(!dir.path().join("deskbell.db").exists(), "nothing was started");
}

#[test]
fn check_config_accepts_the_shipped_example() {
    let dir = tempfile::tempdir().unwrap();
    let out = deskbell(dir.path()).args(["--config", "config/deskbell.example.toml", "check-config"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn serve_demo_answers_health_checks_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = KillOnDrop(
        deskbell(dir.path())
            .args(["serve", "--demo"])
            .env("DESKBELL_SERVER__BIND", "127.0.0.1:0")
            .env("DESKBELL_INBOUND__SMTP_BIND", "127.0.0.1:0")
            .env("DESKBELL_LOG__FORMAT", "json")
            .env("DESKBELL_EMAIL__DROP_DIR", dir.path().join("mail"))
            .env("DESKBELL_SLACK__LOG_FILE", dir.path().join("slack.jsonl"))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (addr, lines) = listening(&mut child);
    // The staged demo desk is at work at once: the approval request is in the Slack log.
    let slack_log = dir.path().join("slack.jsonl");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&slack_log).unwrap_or_default().contains("Approval needed: R-4") {
        assert!(Instant::now() < deadline, "no approval request in the Slack log");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let client = deskbell::net::http_client(std::time::Duration::from_secs(10));
    let healthz = client.get(format!("http://{addr}/healthz")).send().await.unwrap();
    assert_eq!((healthz.status().as_u16(), healthz.text().await.unwrap()), (200, "ok".to_owned()));
    // Ready with each dependency reported: the demo writes mail and Slack to files and has no TDX.
    let readyz = client.get(format!("http://{addr}/readyz")).send().await.unwrap();
    assert_eq!(readyz.status(), 200);
    let ready: serde_json::Value = readyz.json().await.unwrap();
    assert_eq!((ready["status"].as_str(), ready["database"].as_str()), (Some("ready"), Some("ok")), "{ready}");
    assert!(ready["smtp"].as_str().unwrap().starts_with("not configured: mail goes to"), "{ready}");
    assert!(ready["slack"].as_str().unwrap().starts_with("not configured: messages go to"), "{ready}");
    assert_eq!(ready["tdx"], "not configured");

    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    let status = child.0.wait().unwrap();
    assert!(status.success(), "exit on SIGTERM: {status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("deskbell stopped")), "{rest:?}");
}

#[test]
fn preview_renders_a_template_with_sample_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = deskbell(dir.path()).args(["preview", "ticket_received"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("Subject: We received your request: S-45"), "{stdout}");
    assert!(stdout.contains("--- HTML ---") && !stdout.contains("--- Slack ---"));
}

#[test]
fn a_broken_template_stops_check_config_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    copy_dir(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/templates")), &templates);
    std::fs::write(templates.join("slack/escalation_ping.json"), "{\n  \"text\": {{ ticket.no_such_field }}\n}\n")
        .unwrap();
    let out = deskbell(dir.path()).env("DESKBELL_TEMPLATES__DIR", &templates).arg("check-config").output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("slack/escalation_ping.json") && stderr.contains(":2"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_bad_escalation_step_stops_check_config_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/escalation.toml")).unwrap();
    let policy = dir.path().join("escalation.toml");
    std::fs::write(&policy, shipped.replacen("after = \"20m\"", "after = \"10m\"", 1)).unwrap();
    let out =
        deskbell(dir.path()).env("DESKBELL_SERVICE__ESCALATION_POLICY", &policy).arg("check-config").output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let line = shipped[..shipped.find("after = \"20m\"").unwrap()].lines().count() - 1;
    assert!(stderr.contains(&format!("escalation.toml:{line}: [[unassigned]] steps must come in order")), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn show_names_a_missing_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let out = deskbell(dir.path()).args(["show", "R-99"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr).unwrap().contains("R-99 does not exist"));
}

/// Waits for `serve`'s JSON "listening" line: the address, and the log lines to come.
pub(crate) fn listening(child: &mut KillOnDrop) -> (String, std::io::Lines<BufReader<std::process::ChildStderr>>) {
    let mut lines = BufReader::new(child.0.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "no listening line");
        let line = lines.next().expect("serve exited early").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if let Some(addr) = v["fields"]["addr"].as_str() {
            return (addr.to_owned(), lines);
        }
    }
}

/// A server under test never outlives its test, even one that fails.
pub(crate) struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_csv_with_a_byte_that_is_not_utf8_is_refused_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, b"name,email\nAnn,ann@example.edu\nJos\xe9,jose@example.edu\n").unwrap();
    let out = deskbell(dir.path()).args(["import", "people"]).arg(&csv).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("people.csv") && stderr.contains("line 3: byte 0xE9"), "{stderr}");
}
