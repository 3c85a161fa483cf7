//! `docs/operations.md` stays true to the code: it lists every metric
//! floodlight exports (`internal_events::prom::ALL`) and no other, and every
//! runbook link of `deploy/prometheus/alerts.yaml` lands on one of its
//! sections.

use std::collections::BTreeSet;
use std::path::Path;

use floodlight_pipeline::internal_events::prom;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Every `floodlight_…` word in `text`.
fn metric_words(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("floodlight_") && w.len() > "floodlight_".len())
        .collect()
}

#[test]
fn the_metrics_table_is_the_exported_metrics() {
    let doc = read("docs/operations.md");
    let declared: BTreeSet<&str> = prom::ALL.iter().copied().collect();
    let documented = metric_words(&doc);
    let missing: Vec<_> = declared.difference(&documented).collect();
    assert!(missing.is_empty(), "docs/operations.md does not list {missing:?}");
    let unknown: Vec<_> = documented.difference(&declared).collect();
    assert!(unknown.is_empty(), "docs/operations.md names metrics floodlight does not export: {unknown:?}");
}

#[test]
fn every_runbook_link_has_its_section() {
    let doc = read("docs/operations.md");
    // GitHub's anchors for `### name` headings: lower case, spaces to dashes.
    let anchors: BTreeSet<String> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("### ").or_else(|| l.strip_prefix("## ")))
        .map(|h| h.trim().to_lowercase().replace(' ', "-"))
        .collect();
    let alerts = read("deploy/prometheus/alerts.yaml");
    let links: Vec<&str> =
        alerts.lines().filter_map(|l| l.split_once("docs/operations.md#").map(|(_, a)| a.trim())).collect();
    assert!(links.len() >= 10, "alerts.yaml has runbook links: {links:?}");
    for anchor in links {
        assert!(
            anchors.contains(anchor),
            "alerts.yaml links to #{anchor}, which docs/operations.md has no section for"
        );
    }
}
