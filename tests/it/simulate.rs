//! `deskbell simulate` against its golden files: every scenario in
//! `config/scenarios/` must produce exactly its `.jsonl` twin, twice in a
//! row. After an intended change, re-bless them with
//! `DESKBELL_BLESS=1 cargo test --test it simulate` and review the diff.

use std::path::{Path, PathBuf};

use deskbell::config::Settings;
use deskbell::simulate::{Format, simulate};

fn settings() -> Settings {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut s = Settings::default();
    s.refresh.calendars_dir = root.join("config/calendars");
    s.templates.dir = root.join("templates");
    s.service.escalation_policy = root.join("config/escalation.toml");
    s
}

fn scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_scenario_matches_its_golden_file_byte_for_byte_twice() {
    let files = scenarios();
    assert!(files.len() >= 2, "the shipped scenarios");
    for file in files {
        let golden = file.with_extension("jsonl");
        let out = simulate(settings(), &file, Format::Jsonl).await.unwrap();
        if std::env::var_os("DESKBELL_BLESS").is_some() {
            std::fs::write(&golden, &out).unwrap();
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_else(|_| {
            panic!("{} is missing: run DESKBELL_BLESS=1 cargo test --test it simulate", golden.display())
        });
        assert!(out == expected, "{} differs from {}; re-bless if intended", file.display(), golden.display());
        let again = simulate(settings(), &file, Format::Jsonl).await.unwrap();
        assert!(again == out, "{}: a second run differs", file.display());
        let table = simulate(settings(), &file, Format::Table).await.unwrap();
        assert_eq!(table.lines().count(), out.lines().count() + 1, "one table row per line, and the header");
    }
}

#[tokio::test]
async fn a_bad_scenario_is_reported_with_file_and_line_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "start = \"2026-11-02T08:00:00-05:00\"\nend = \"2026-11-03T08:00:00-05:00\"\n\n[[events]]\nat = \"2026-11-02T09:00:00-05:00\"\nticket = \"R-4\"\ndo = \"release\"\n",
    )
    .unwrap();
    let err = simulate(settings(), &file, Format::Jsonl).await.unwrap_err().to_string();
    assert_eq!(err, format!("{}:4: unknown ticket R-4 (not created before this event)", file.display()));
}
