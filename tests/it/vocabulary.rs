//! The words that cross modules are types, not string contracts: no source
//! file names an outbox channel (`Channel` does), a scheduled job (`Job`), a
//! message template (`Template`), an audit field (`AuditField`) or a Slack
//! button (`SlackAction`) by its stored text, and the Slack templates take
//! their buttons' ids from the renderer.

use std::path::Path;

use strum::IntoEnumIterator;

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_source_names_an_outbox_channel_or_a_job_as_a_string() {
    let mut files = Vec::new();
    sources(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")), &mut files);
    let names = ["email", "slack", "slack_update", "slack_response", "slack_home", "tdx"];
    let contracts: Vec<String> = names
        .iter()
        .flat_map(|n| {
            [
                format!("channel == \"{n}\""),
                format!("channel: \"{n}\""),
                format!("channel <> '{n}'"),
                format!("channel = '{n}'"),
            ]
        })
        .chain(["\"slack_update\"", "\"slack_response\"", "\"slack_home\""].map(str::to_owned))
        // Nor a scheduled job (`scheduler::Job` does).
        .chain(
            [
                "slot_generation",
                "slot_discovery",
                "tdx_check",
                "approval_digest",
                "approval_routing",
                "kpi_digest",
                "slack_link",
                "device_lifecycle",
            ]
            .map(|job| format!("\"{job}\"")),
        )
        // Nor a template (`tracking_number` is also a ticket's field,
        // `app_home` a key of Slack's manifest), an audit field, or a Slack
        // button by its id.
        .chain(
            deskbell::domain::Template::iter()
                .filter(|t| {
                    ![deskbell::domain::Template::TrackingNumber, deskbell::domain::Template::AppHome].contains(t)
                })
                .map(|t| format!("\"{t}\"")),
        )
        .chain(["what == \"", "what = '", "audit(\"", "Change::new(\""].map(str::to_owned))
        .chain(["\"action_id\": \"".to_owned()])
        .chain(deskbell::domain::SlackAction::iter().flat_map(|a| [format!("\"{a}\" =>"), format!("\"{a}:")]))
        .collect();
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if contracts.iter().any(|c| line.contains(c.as_str())) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "vocabulary named as strings:\n{}", found.join("\n"));
}

#[test]
fn slack_templates_take_button_ids_from_the_renderer() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/slack"));
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        assert!(!text.contains("\"action_id\": \""), "{}: a button id written out", entry.path().display());
    }
}
