//! The words that cross modules are types, not string contracts: no source
//! file names an outbox channel (`Channel` does) or a scheduled job (`Job`
//! does) by its stored text.

use std::path::Path;

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
    let names = ["email", "slack", "slack_update", "slack_response", "tdx"];
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
        .chain(["\"slack_update\"".to_owned(), "\"slack_response\"".to_owned()])
        // Nor a scheduled job (`scheduler::Job` does).
        .chain(
            ["slot_generation", "slot_discovery", "tdx_check", "approval_digest", "kpi_digest", "slack_link"]
                .map(|job| format!("\"{job}\"")),
        )
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
    assert!(found.is_empty(), "channels or jobs named as strings:\n{}", found.join("\n"));
}
