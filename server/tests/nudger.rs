//! The nudge sender's own rules, driven directly on a real SQLite store:
//! findings triaged false positive are never nudged, a person without an
//! address is skipped rather than retried, only the rules and severities
//! configured select findings, a finding an overlay exception covers is
//! never queued, and a finding is queued at most once.

use std::path::Path;

use chrono::Utc;
use floodlight_pipeline::config::Config;
use floodlight_pipeline::schema::Finding;
use floodlight_server::nudges::Nudger;
use floodlight_store::{NudgeState, Store, TriageStatus, TriageUpdate};

const CONFIG: &str = r#"
[enrichments]
directory = "embedded:demo/users.csv"

[nudges]
public_url = "https://floodlight.corp.example.com"
link_secret_env = "FLOODLIGHT_NUDGER_TEST_SECRET"
dry_run = true

[[nudges.rule]]
rules = ["SS-02"]
min_severity = "high"
channel = "email"

[nudges.email]
host = "smtp.corp.example.com"
from = "it@corp.example.com"
"#;

fn finding(id: &str, user: &str, severity: &str) -> Finding {
    serde_json::from_value(serde_json::json!({
        "finding_id": id,
        "time": "2026-11-24T09:00:00Z",
        "detected_at": "2026-11-24T09:05:00Z",
        "rule_id": "SS-02",
        "rule_title": "Upload spike",
        "family": "shadow_saas",
        "severity": severity,
        "attack": [],
        "class": "network",
        "user": user,
        "app_id": "wetransfer",
        "app_name": "WeTransfer",
        "app_category": "file_sharing",
        "sample_event_ids": [],
        "message": "m",
    }))
    .expect("a finding")
}

async fn nudger(dir: &Path) -> (std::sync::Arc<Nudger>, Store) {
    std::env::set_var("FLOODLIGHT_NUDGER_TEST_SECRET", "0123456789abcdef0123456789abcdef-secret");
    let cfg = Config::parse(CONFIG, Path::new("t.toml")).expect("config");
    let store = Store::open(&format!("sqlite://{}", dir.join("s.db").display())).await.expect("store");
    let n = Nudger::from_config(&cfg, dir, store.clone()).expect("nudger").expect("configured");
    (n, store)
}

#[tokio::test]
async fn false_positives_unknown_people_and_unselected_findings_are_never_sent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (n, store) = nudger(dir.path()).await;
    let now = Utc::now();

    // Severity below the rule's minimum: not selected.
    assert!(n.channel_for(&finding("f0", "ana.pereira", "medium")).is_none());
    assert!(n.enqueue(&finding("f0", "ana.pereira", "medium"), now).await.expect("enqueue").is_none());

    let fp = n.enqueue(&finding("f1", "ana.pereira", "high"), now).await.expect("enqueue").expect("queued");
    // A replay of the same finding is not queued twice.
    assert!(n.enqueue(&finding("f1", "ana.pereira", "high"), now).await.expect("enqueue").is_none());
    let stranger = n.enqueue(&finding("f2", "CORP\\nobody", "high"), now).await.expect("enqueue").expect("queued");
    store
        .set_triage("f1", TriageUpdate { status: TriageStatus::FalsePositive, assignee: None }, "soc", None)
        .await
        .expect("triage");

    assert_eq!(n.deliver_due(now).await.expect("deliver"), 0);
    let fp = store.nudge(&fp.id).await.expect("read").expect("row");
    assert_eq!(fp.state, NudgeState::Skipped);
    assert!(fp.reason.as_deref().is_some_and(|r| r.contains("false positive")), "{:?}", fp.reason);
    let stranger = store.nudge(&stranger.id).await.expect("read").expect("row");
    assert_eq!(stranger.state, NudgeState::Skipped);
    assert!(stranger.reason.as_deref().is_some_and(|r| r.contains("no e-mail address")), "{:?}", stranger.reason);
    assert!(!dir.path().join("nudges.dry-run.jsonl").exists(), "nothing was written");

    // A real one goes out (to the dry-run file), with a link that verifies.
    let ok = n.enqueue(&finding("f3", "dana.kim@corp.example.com", "critical"), now).await.expect("enqueue");
    let ok = ok.expect("queued");
    assert_eq!(ok.facts.recipient.as_deref(), Some("dana.kim@corp.example.com"));
    assert_eq!(ok.facts.person_name.as_deref(), Some("Dana Kim"));
    assert_eq!(n.deliver_due(now).await.expect("deliver"), 1);
    let url = n.explain_url(&ok);
    let token = url.rsplit('/').next().expect("token");
    assert_eq!(n.verify(token, now).expect("valid").nudge_id, ok.id);
    assert_eq!(store.nudge(&ok.id).await.expect("read").expect("row").state, NudgeState::DryRun);
}

#[tokio::test]
async fn findings_an_overlay_exception_covers_are_never_queued() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (n, store) = nudger(dir.path()).await;
    let now = Utc::now();
    // The discovery rules report the exception in the evidence: not queued,
    // whatever the severity.
    let mut f = finding("fx", "ana.pereira", "critical");
    f.evidence = Some(r#"{"app_exception":"user:ana.pereira","host":"wetransfer.com"}"#.into());
    assert!(n.enqueue(&f, now).await.expect("enqueue").is_none());
    assert!(store.nudge_for_finding("fx").await.expect("read").is_none(), "nothing stored");
    // The same finding without an exception is.
    f.evidence = Some(r#"{"app_exception":null,"host":"wetransfer.com"}"#.into());
    let queued = n.enqueue(&f, now).await.expect("enqueue").expect("queued");
    assert_eq!(queued.facts.finding_id, "fx");
}

#[tokio::test]
async fn findings_whose_person_was_attributed_from_an_address_are_never_queued() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (n, store) = nudger(dir.path()).await;
    let now = Utc::now();
    // The person seen at the desk then (a colleague may have sat there): not nudged.
    let mut f = finding("fa", "ana.pereira", "critical");
    f.evidence = Some(r#"{"user_source":"ip_lease","queries":["relay-1.net.anydesk.com"]}"#.into());
    assert!(n.enqueue(&f, now).await.expect("enqueue").is_none());
    assert!(store.nudge_for_finding("fa").await.expect("read").is_none(), "nothing stored");
    // Named by the log itself: queued.
    f.evidence = Some(r#"{"user_source":"log","queries":["relay-1.net.anydesk.com"]}"#.into());
    let queued = n.enqueue(&f, now).await.expect("enqueue").expect("queued");
    assert_eq!(queued.facts.finding_id, "fa");
}
