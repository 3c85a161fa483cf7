//! `floodlight decide`: a decision recorded in the overlay from the command
//! line — shown as a diff, saved only when confirmed, audited, and refused
//! with a clear error when it would not hold.

use crate::support::cli;

use std::path::Path;

const OVERLAY: &str = r#"# Decisions of the security board; keep the reasons current.

[[app]]
id = "zoom"
status = "monitored"   # sales calls with customers who insist
reason = "Customer calls until the Teams rollout is done"
expires = "2099-06-30"
"#;

fn setup(dir: &Path) {
    std::fs::write(dir.join("floodlight.toml"), "[enrichments]\noverlay = \"overlay.toml\"\n").expect("config");
    std::fs::write(dir.join("overlay.toml"), OVERLAY).expect("overlay");
}

fn decide(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["decide", "--config", "floodlight.toml"];
    args.extend_from_slice(extra);
    cli::floodlight(dir, &args)
}

#[test]
fn a_confirmed_decision_is_saved_with_comments_kept_and_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    setup(dir.path());
    let out = decide(
        dir.path(),
        &[
            "dropbox",
            "--status",
            "monitored",
            "--reason",
            "Finance shares statements with the auditor",
            "--owner",
            "it-finance@corp.example.com",
            "--expires",
            "2099-03-31",
            "--yes",
            "--as",
            "ana.pereira",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // The diff shows the new entry.
    assert!(stdout.contains("+id = \"dropbox\"") && stdout.contains("+status = \"monitored\""), "{stdout}");
    assert!(stderr.contains("overlay.audit.jsonl"), "{stderr}");

    let text = std::fs::read_to_string(dir.path().join("overlay.toml")).expect("overlay");
    assert!(text.starts_with(OVERLAY), "the existing entries and comments are kept:\n{text}");
    assert!(text.contains("owner = \"it-finance@corp.example.com\"") && text.contains("expires = \"2099-03-31\""));

    let audit = cli::json_lines(&dir.path().join("overlay.audit.jsonl"));
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["who"], "ana.pereira");
    assert_eq!(audit[0]["app_id"], "dropbox");
    assert_eq!(audit[0]["before"], serde_json::Value::Null);
    assert_eq!(audit[0]["after"]["status"], "monitored");

    // The pipeline's own lookup now sees the decision.
    let out = cli::floodlight(dir.path(), &["lookup", "domain", "dropbox.com", "--config", "floodlight.toml"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("lookup json");
    let found = v.to_string();
    assert!(found.contains("\"monitored\"") && found.contains("Finance shares statements"), "{found}");
}

#[test]
fn without_yes_and_off_a_terminal_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    setup(dir.path());
    let out = decide(dir.path(), &["zoom", "--status", "unsanctioned", "--reason", "Teams rollout done"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("-status = \"monitored\"") && stdout.contains("+status = \"unsanctioned\""), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert_eq!(std::fs::read_to_string(dir.path().join("overlay.toml")).expect("overlay"), OVERLAY);
    assert!(!dir.path().join("overlay.audit.jsonl").exists());
}

#[test]
fn decisions_that_would_not_hold_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    setup(dir.path());
    let cases: &[(&[&str], &str)] = &[
        (&["dropbx", "--status", "monitored", "--reason", "x", "--yes"], "no such app"),
        (&["dropbox", "--status", "monitored", "--reason", "  ", "--yes"], "reason is empty"),
        (&["dropbox", "--status", "monitored", "--reason", "x", "--expires", "2020-01-01", "--yes"], "before today"),
        (
            &["dropbox", "--status", "unsanctioned", "--reason", "x", "--alternative", "wetransfer", "--yes"],
            "not a sanctioned app",
        ),
    ];
    for (args, expected) in cases {
        let out = decide(dir.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(expected), "{args:?}: expected `{expected}` in:\n{stderr}");
    }
    let out = decide(dir.path(), &["dropbox", "--status", "tolerated", "--reason", "x"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("tolerated"));
    assert_eq!(std::fs::read_to_string(dir.path().join("overlay.toml")).expect("overlay"), OVERLAY);
    assert!(!dir.path().join("overlay.audit.jsonl").exists());
}

#[test]
fn a_config_without_an_overlay_says_how_to_add_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("floodlight.toml"), "[enrichments]\n").expect("config");
    let out = decide(dir.path(), &["dropbox", "--status", "monitored", "--reason", "x", "--yes"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no overlay file") && stderr.contains("under [enrichments]"), "{stderr}");
}
