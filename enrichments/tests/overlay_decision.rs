//! Recording decisions in the overlay file (`floodlight_enrichments::decision`)
//! through the public API: a copy of `tests/data/overlay/overlay.toml` in a
//! temporary directory, the embedded catalog, a fixed "today".

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use floodlight_enrichments::overlay::AppRule;
use floodlight_enrichments::{
    AppCatalog, AppStatus, AuditRecord, Date, Decision, DecisionError, DecisionPlan, Overlay,
};

const TODAY: &str = "2026-11-24";

fn today() -> Date {
    TODAY.parse().expect("a date")
}

fn day(s: &str) -> Date {
    s.parse().expect("a date")
}

fn fixture_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/overlay/overlay.toml");
    std::fs::read_to_string(path).expect("fixture")
}

/// A temporary directory holding a copy of the example overlay.
struct Setup {
    dir: tempfile::TempDir,
    overlay: PathBuf,
    audit: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let overlay = dir.path().join("overlay.toml");
    std::fs::write(&overlay, fixture_text()).expect("write overlay");
    let audit = dir.path().join("overlay.audit.jsonl");
    Setup { dir, overlay, audit }
}

impl Setup {
    fn read(&self) -> String {
        std::fs::read_to_string(&self.overlay).expect("read overlay")
    }

    fn plan(&self, decision: Decision) -> Result<DecisionPlan, DecisionError> {
        DecisionPlan::new(&self.overlay, &AppCatalog::embedded(), decision, today())
    }

    fn files(&self) -> BTreeSet<String> {
        std::fs::read_dir(self.dir.path())
            .expect("list dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    }

    fn audit_lines(&self) -> Vec<String> {
        match std::fs::read_to_string(&self.audit) {
            Ok(text) => text.lines().map(str::to_string).collect(),
            Err(_) => Vec::new(),
        }
    }
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

const DROPBOX_REASON: &str = "reason = \"Finance shares statements with the external auditor\"\n";
const DROPBOX_EXPIRES: &str =
    "expires = \"2027-03-31\"          # last day of the exception; afterwards: unsanctioned\n";

#[test]
fn updating_an_entry_changes_only_its_keys_and_keeps_everything_else_byte_for_byte() {
    let s = setup();
    let old = s.read();
    assert!(old.contains(DROPBOX_REASON) && old.contains(DROPBOX_EXPIRES), "fixture changed");
    let decision = Decision::new("dropbox", AppStatus::Monitored, "Auditor access extended for the 2027 audit")
        .with_owner("it-finance@corp.example.com");
    let plan = s.plan(decision).expect("plan");
    let expected = old
        .replace(DROPBOX_REASON, "reason = \"Auditor access extended for the 2027 audit\"\n")
        .replace(DROPBOX_EXPIRES, "");
    assert_eq!(plan.new_text(), expected, "reason changed, expires removed, nothing else");
    assert_eq!(plan.old_text(), old);
    assert!(plan.changes_file());
    assert_eq!(plan.before().and_then(|r| r.expires), Some(day("2027-03-31")));
    assert_eq!(plan.after().expires, None);
    assert_eq!(s.read(), old, "planning writes nothing");
    plan.save(&s.audit, "ana.pereira").expect("save");
    assert_eq!(s.read(), expected);
    // The header comment, the other [[app]] entries (with their comments), the
    // [[category]] and [[sanctioned]] entries are all still there verbatim.
    let saved = s.read();
    let head = "# Example organisation overlay (format: docs/enrichment.md, \"Organisation overlay\").\n\
                # Used by enrichments/tests/catalog_overlay.rs.\n\n[[app]]\nid = \"dropbox\"\nstatus = \"monitored\"\n";
    assert!(saved.starts_with(head), "{saved}");
    let rest_start = old.find("[[app]]\nid = \"wetransfer\"").expect("wetransfer entry");
    assert!(saved.ends_with(&old[rest_start..]), "everything after dropbox is unchanged");
}

#[test]
fn changed_values_keep_their_comment_and_new_keys_go_last() {
    let s = setup();
    let old = s.read();
    let plan = s
        .plan(
            Decision::new("wetransfer", AppStatus::Monitored, "Agency deliveries for the 2025 campaign")
                .with_owner("marketing-ops@corp.example.com")
                .with_expiry(day("2027-06-30")),
        )
        .expect("plan");
    assert_eq!(
        plan.new_text(),
        old.replace(
            "expires = 2025-12-31            # a TOML date works too",
            "expires = \"2027-06-30\"            # a TOML date works too"
        )
    );
    let plan = s
        .plan(
            Decision::new("zoom", AppStatus::Monitored, "Customer webinars until Teams webinars roll out")
                .with_owner("events@corp.example.com"),
        )
        .expect("plan");
    let zoom_before = "[[app]]\nid = \"zoom\"\nstatus = \"unsanctioned\"\nreason = \"Teams only since the 2026 consolidation\"\nalternative = \"microsoft-teams\"\n";
    let zoom_after = "[[app]]\nid = \"zoom\"\nstatus = \"monitored\"\nreason = \"Customer webinars until Teams webinars roll out\"\nowner = \"events@corp.example.com\"\n";
    assert!(old.contains(zoom_before), "fixture changed");
    assert_eq!(plan.new_text(), old.replace(zoom_before, zoom_after), "alternative removed, owner added last");
}

#[test]
fn a_new_app_is_appended_and_the_overlay_gives_it_the_decision() {
    let s = setup();
    let old = s.read();
    let decision = Decision::new("box", AppStatus::Monitored, "Legal exchanges case files with outside counsel")
        .with_owner("legal-ops@corp.example.com")
        .with_expiry(day("2027-01-31"))
        .with_alternative("corp-sft");
    let plan = s.plan(decision).expect("plan");
    assert_eq!(plan.before(), None);
    let entry =
        "[[app]]\nid = \"box\"\nstatus = \"monitored\"\nreason = \"Legal exchanges case files with outside counsel\"\n\
                 owner = \"legal-ops@corp.example.com\"\nexpires = \"2027-01-31\"\nalternative = \"corp-sft\"\n";
    assert_eq!(plan.new_text(), format!("{old}\n{entry}"), "appended after everything, one blank line before");
    plan.save(&s.audit, "ana.pereira").expect("save");

    let saved = s.read();
    let overlay = Overlay::from_toml(&saved, "overlay.toml").expect("the saved file parses");
    assert_eq!(overlay.apps.len(), 4);
    assert_eq!(overlay.categories.len(), 2);
    assert_eq!(overlay.sanctioned.len(), 1);
    let catalog = AppCatalog::embedded().with_overlay(&overlay, today()).expect("and applies");
    let b = catalog.get("box").expect("box");
    assert_eq!(b.status, AppStatus::Monitored);
    assert_eq!(b.status_reason.as_deref(), Some("Legal exchanges case files with outside counsel"));
    assert_eq!(b.owner.as_deref(), Some("legal-ops@corp.example.com"));
    assert_eq!(b.expires, Some(day("2027-01-31")));
    assert_eq!(b.alternative.as_deref(), Some("corp-sft"));
    let later = AppCatalog::embedded().with_overlay(&overlay, day("2027-02-01")).expect("applies");
    assert_eq!(later.get("box").expect("box").status, AppStatus::Unsanctioned, "and lapses after its last day");
}

#[test]
fn a_missing_or_empty_file_is_an_empty_overlay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let overlay = dir.path().join("overlay.toml");
    let audit = dir.path().join("audit.jsonl");
    let decision =
        Decision::new("chatgpt", AppStatus::Unsanctioned, "AI policy 2026").with_alternative("microsoft-copilot");
    let entry = "[[app]]\nid = \"chatgpt\"\nstatus = \"unsanctioned\"\nreason = \"AI policy 2026\"\nalternative = \"microsoft-copilot\"\n";
    let plan = DecisionPlan::new(&overlay, &AppCatalog::embedded(), decision.clone(), today()).expect("plan");
    assert_eq!((plan.old_text(), plan.new_text()), ("", entry));
    plan.save(&audit, "ops").expect("save");
    assert_eq!(std::fs::read_to_string(&overlay).expect("read"), entry, "file created");

    std::fs::write(&overlay, "").expect("empty it");
    let plan = DecisionPlan::new(&overlay, &AppCatalog::embedded(), decision, today()).expect("plan");
    assert_eq!(plan.new_text(), entry);
}

#[test]
fn every_rejection_names_the_app_and_leaves_the_file_alone() {
    let s = setup();
    let old = s.read();
    let rejected = |decision: Decision| -> DecisionError {
        let e = s.plan(decision).expect_err("must be refused");
        assert_eq!(s.read(), old, "file unchanged after: {e}");
        e
    };

    let e = rejected(Decision::new("dropbx", AppStatus::Monitored, "x"));
    assert!(matches!(&e, DecisionError::UnknownApp { app_id, own_app: false } if app_id == "dropbx"), "{e:?}");
    assert_eq!(e.to_string(), "app `dropbx`: no such app in the catalog");
    let e = rejected(Decision::new("corp-sft", AppStatus::Monitored, "x"));
    assert!(matches!(&e, DecisionError::UnknownApp { own_app: true, .. }), "{e:?}");
    assert!(e.to_string().contains("one of the overlay's own [[sanctioned]] apps"), "{e}");

    let e = rejected(Decision::new("dropbox", AppStatus::Monitored, "  \n"));
    assert!(matches!(&e, DecisionError::EmptyReason { app_id } if app_id == "dropbox"), "{e:?}");
    assert!(e.to_string().contains("must say why"), "{e}");

    let e = rejected(Decision::new("dropbox", AppStatus::Monitored, "x").with_expiry(day("2026-11-23")));
    assert!(
        matches!(&e, DecisionError::ExpiryInPast { app_id, expires, today: t }
            if app_id == "dropbox" && *expires == day("2026-11-23") && *t == today()),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "app `dropbox`: expires 2026-11-23 is before today (2026-11-24); the expiry is the last day the decision holds"
    );
    s.plan(Decision::new("dropbox", AppStatus::Monitored, "x").with_expiry(today()))
        .expect("expiring today is fine: today is its last day");

    let e = rejected(Decision::new("dropbox", AppStatus::Monitored, "x").with_alternative("box"));
    assert!(
        matches!(&e, DecisionError::AlternativeNotSanctioned { app_id, alternative, .. }
            if app_id == "dropbox" && alternative == "box"),
        "{e:?}"
    );
    assert!(e.to_string().contains("alternative `box` is not a sanctioned app"), "{e}");
    let e = rejected(Decision::new("dropbox", AppStatus::Monitored, "x").with_alternative("nope"));
    assert!(
        matches!(&e, DecisionError::AlternativeNotSanctioned { alternative, .. } if alternative == "nope"),
        "{e:?}"
    );
    assert!(e.to_string().contains("not an app in the catalog or the overlay"), "the overlay check's words: {e}");
    // An alternative the same decision unsanctions.
    let e = rejected(
        Decision::new("microsoft-onedrive", AppStatus::Unsanctioned, "x").with_alternative("microsoft-onedrive"),
    );
    assert!(
        matches!(&e, DecisionError::AlternativeNotSanctioned { alternative, .. } if alternative == "microsoft-onedrive"),
        "{e:?}"
    );

    let e = rejected(Decision::new("dropbox", AppStatus::Sanctioned, "x").with_alternative("microsoft-onedrive"));
    assert!(
        matches!(&e, DecisionError::SanctionedWithAlternative { app_id, alternative }
            if app_id == "dropbox" && alternative == "microsoft-onedrive"),
        "{e:?}"
    );

    // Breaking another entry: zoom's entry offers microsoft-teams.
    let e = rejected(Decision::new("microsoft-teams", AppStatus::Unsanctioned, "Moving to Zoom"));
    assert!(matches!(&e, DecisionError::Invalid(_)), "{e:?}");
    assert!(e.to_string().contains("[[app]] `zoom`: alternative: `microsoft-teams` is not sanctioned"), "{e}");

    assert!(!s.audit.exists(), "no audit record for refused decisions");
    assert_eq!(s.files(), names(&["overlay.toml"]));
}

#[test]
fn an_overlay_that_does_not_parse_or_is_bundled_is_not_edited() {
    let s = setup();
    std::fs::write(&s.overlay, "[[app]]\nid = \"dropbox\"\nstatus = \"tolerated\"\nreason = \"x\"\n").expect("write");
    let e = s.plan(Decision::new("zoom", AppStatus::Monitored, "x")).expect_err("broken file");
    assert!(matches!(&e, DecisionError::CurrentInvalid(_)), "{e:?}");
    assert!(e.to_string().contains("line 3") && e.to_string().contains("tolerated"), "{e}");
    let bundled = DecisionPlan::new(
        "embedded:demo/overlay.toml",
        &AppCatalog::embedded(),
        Decision::new("zoom", AppStatus::Monitored, "x"),
        today(),
    )
    .expect_err("bundled");
    assert!(matches!(&bundled, DecisionError::Bundled { .. }), "{bundled:?}");
}

#[test]
fn the_diff_shows_removed_and_added_lines() {
    let s = setup();
    let plan =
        s.plan(Decision::new("dropbox", AppStatus::Unsanctioned, "Statements now go through Corp SFT")).expect("plan");
    let diff = plan.diff();
    let expected = [
        "--- a/overlay.toml",
        "+++ b/overlay.toml",
        "@@ -3,10 +3,8 @@",
        " ",
        " [[app]]",
        " id = \"dropbox\"",
        "-status = \"monitored\"",
        "-reason = \"Finance shares statements with the external auditor\"",
        "-owner = \"it-finance@corp.example.com\"",
        "-expires = \"2027-03-31\"          # last day of the exception; afterwards: unsanctioned",
        "+status = \"unsanctioned\"",
        "+reason = \"Statements now go through Corp SFT\"",
        " ",
        " [[app]]",
        " id = \"wetransfer\"",
        "",
    ]
    .join("\n");
    assert_eq!(diff, expected);
    // A decision the entry already records changes nothing.
    let same = s
        .plan(
            Decision::new("zoom", AppStatus::Unsanctioned, "Teams only since the 2026 consolidation")
                .with_alternative("microsoft-teams"),
        )
        .expect("plan");
    assert!(!same.changes_file());
    assert_eq!(same.diff(), "");
}

#[test]
fn a_file_changed_since_planning_is_a_conflict_and_keeps_the_other_edit() {
    let s = setup();
    let plan = s.plan(Decision::new("dropbox", AppStatus::Unsanctioned, "Exception withdrawn")).expect("plan");
    let other_edit = s.read().replace("Teams only since", "Teams only (really) since");
    std::fs::write(&s.overlay, &other_edit).expect("someone else saves");
    let e = plan.save(&s.audit, "ana.pereira").expect_err("conflict");
    assert!(matches!(&e, DecisionError::Conflict { path } if *path == s.overlay), "{e:?}");
    assert!(e.to_string().contains("changed since it was read"), "{e}");
    assert_eq!(s.read(), other_edit, "the other edit survives");
    assert_eq!(s.files(), names(&["overlay.toml"]), "no temp file, no audit log");

    // A plan from the text a console showed earlier conflicts the same way.
    let shown = fixture_text();
    let plan = DecisionPlan::from_text(
        &s.overlay,
        shown,
        &AppCatalog::embedded(),
        Decision::new("box", AppStatus::Monitored, "Pilot"),
        today(),
    )
    .expect("plan");
    assert!(matches!(plan.save(&s.audit, "ops"), Err(DecisionError::Conflict { .. })));
    assert_eq!(s.read(), other_edit);

    // Planned on the current text, it saves.
    s.plan(Decision::new("box", AppStatus::Monitored, "Pilot")).expect("plan").save(&s.audit, "ops").expect("save");
    assert!(s.read().starts_with(&other_edit), "{}", s.read());
}

#[test]
fn each_save_appends_one_json_line_with_before_and_after() {
    let s = setup();
    let first = s
        .plan(Decision::new("dropbox", AppStatus::Unsanctioned, "Exception withdrawn"))
        .expect("plan")
        .save(&s.audit, "ana.pereira")
        .expect("save");
    let second = s
        .plan(Decision::new("box", AppStatus::Monitored, "Pilot").with_expiry(day("2027-01-31")))
        .expect("plan")
        .save(&s.audit, "joao.silva")
        .expect("save");
    let lines = s.audit_lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let parsed: Vec<serde_json::Value> =
        lines.iter().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    let keys: BTreeSet<String> = parsed[0].as_object().expect("object").keys().cloned().collect();
    assert_eq!(keys, names(&["time", "who", "app_id", "before", "after", "file"]));
    let file = s.overlay.display().to_string();
    assert_eq!(
        parsed[0],
        serde_json::json!({
            "time": first.time,
            "who": "ana.pereira",
            "app_id": "dropbox",
            "before": {
                "id": "dropbox",
                "status": "monitored",
                "reason": "Finance shares statements with the external auditor",
                "owner": "it-finance@corp.example.com",
                "expires": "2027-03-31",
            },
            "after": {"id": "dropbox", "status": "unsanctioned", "reason": "Exception withdrawn"},
            "file": file,
        })
    );
    assert_eq!(
        parsed[1],
        serde_json::json!({
            "time": second.time,
            "who": "joao.silva",
            "app_id": "box",
            "before": null,
            "after": {"id": "box", "status": "monitored", "reason": "Pilot", "expires": "2027-01-31"},
            "file": file,
        })
    );
    let t = &first.time;
    assert!(t.len() == 24 && &t[10..11] == "T" && t.ends_with('Z'), "RFC 3339 UTC: {t}");
    let records: Vec<AuditRecord> = lines.iter().map(|l| serde_json::from_str(l).expect("record")).collect();
    assert_eq!(records, vec![first, second]);
    assert_eq!(
        records[0].before,
        Some(AppRule {
            id: "dropbox".into(),
            status: AppStatus::Monitored,
            reason: "Finance shares statements with the external auditor".into(),
            owner: Some("it-finance@corp.example.com".into()),
            expires: Some(day("2027-03-31")),
            alternative: None,
        })
    );
}

#[test]
fn a_saved_file_is_complete_and_leaves_no_temporary_files() {
    let s = setup();
    let plan = s.plan(Decision::new("box", AppStatus::Monitored, "Pilot")).expect("plan");
    let expected = plan.new_text().to_string();
    plan.save(&s.audit, "ops").expect("save");
    assert_eq!(s.read(), expected);
    assert_eq!(s.files(), names(&["overlay.toml", "overlay.audit.jsonl"]));

    // An audit log that cannot be opened stops the save before the rename.
    let plan = s.plan(Decision::new("dropbox", AppStatus::Unsanctioned, "Withdrawn")).expect("plan");
    let e = plan.save(s.dir.path().join("no/such/dir/audit.jsonl"), "ops").expect_err("audit log");
    assert!(matches!(&e, DecisionError::AuditOpen { .. }), "{e:?}");
    assert_eq!(s.read(), expected, "nothing written");
    assert_eq!(s.files(), names(&["overlay.toml", "overlay.audit.jsonl"]));
}

#[cfg(unix)]
#[test]
fn saving_keeps_the_permissions_and_a_symlink() {
    use std::os::unix::fs::{symlink, PermissionsExt};

    let s = setup();
    std::fs::set_permissions(&s.overlay, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    s.plan(Decision::new("box", AppStatus::Monitored, "Pilot")).expect("plan").save(&s.audit, "ops").expect("save");
    let mode = std::fs::metadata(&s.overlay).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);

    // Kubernetes-style: the configured name is a symlink to the real file.
    let real_dir = s.dir.path().join("data");
    std::fs::create_dir(&real_dir).expect("mkdir");
    std::fs::rename(&s.overlay, real_dir.join("overlay.toml")).expect("move");
    symlink(real_dir.join("overlay.toml"), &s.overlay).expect("symlink");
    let plan = s.plan(Decision::new("zoom", AppStatus::Monitored, "Webinars")).expect("plan");
    let expected = plan.new_text().to_string();
    plan.save(&s.audit, "ops").expect("save");
    assert!(std::fs::symlink_metadata(&s.overlay).expect("lstat").file_type().is_symlink(), "still a symlink");
    assert_eq!(std::fs::read_to_string(real_dir.join("overlay.toml")).expect("read"), expected);
    let left: BTreeSet<String> = std::fs::read_dir(&real_dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, names(&["overlay.toml"]));

    // A new file is readable by the pipeline's user too.
    let fresh = s.dir.path().join("fresh.toml");
    DecisionPlan::new(&fresh, &AppCatalog::embedded(), Decision::new("box", AppStatus::Monitored, "Pilot"), today())
        .expect("plan")
        .save(&s.audit, "ops")
        .expect("save");
    assert_eq!(std::fs::metadata(&fresh).expect("stat").permissions().mode() & 0o777, 0o644);
}

#[test]
fn a_decision_reads_from_the_json_a_console_sends() {
    let d: Decision = serde_json::from_str(
        r#"{"id": "dropbox", "status": "monitored", "reason": "Auditor", "expires": "2027-03-31"}"#,
    )
    .expect("decision");
    assert_eq!(d, Decision::new("dropbox", AppStatus::Monitored, "Auditor").with_expiry(day("2027-03-31")));
    assert_eq!(serde_json::to_value(&d).expect("json")["expires"], "2027-03-31");
    let e =
        serde_json::from_str::<Decision>(r#"{"id": "dropbox", "status": "monitored", "reason": "x", "onwer": "me"}"#)
            .expect_err("unknown key");
    assert!(e.to_string().contains("onwer"), "{e}");
    let e = serde_json::from_str::<Decision>(r#"{"id": "dropbox", "status": "tolerated", "reason": "x"}"#)
        .expect_err("unknown status");
    assert!(e.to_string().contains("tolerated"), "{e}");
}
