//! Every registered format has a page `docs/formats/<id>.md` and a row in
//! the index `docs/formats.md` that links to it and names its classes.

use std::path::PathBuf;

use floodlight_pipeline::decode::registry::{format_ids, formats};

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

fn ids() -> Vec<String> {
    let ids: Vec<String> = format_ids().split(", ").map(str::to_string).collect();
    assert!(ids.len() > 1 && ids.iter().all(|id| !id.is_empty()), "format_ids() gave {ids:?}");
    ids
}

#[test]
fn every_format_has_a_page() {
    let missing: Vec<String> = ids()
        .into_iter()
        .filter(|id| !docs().join("formats").join(format!("{id}.md")).is_file())
        .map(|id| format!("docs/formats/{id}.md"))
        .collect();
    assert!(missing.is_empty(), "formats without a page: {}", missing.join(", "));
}

#[test]
fn every_format_is_in_the_index() {
    let index = std::fs::read_to_string(docs().join("formats.md")).expect("docs/formats.md exists");
    for id in ids() {
        assert!(index.contains(&format!("`{id}`")), "docs/formats.md does not mention `{id}`");
        let link = format!("(formats/{id}.md)");
        let row = index
            .lines()
            .find(|l| l.starts_with(&format!("| `{id}` |")) && l.contains(&link))
            .unwrap_or_else(|| panic!("docs/formats.md has no table row for `{id}` linking to {link}"));
        // The second column: `auth, oauth`, or `any: network, dns, ...`.
        let cell = row.split('|').nth(2).unwrap_or_default().trim();
        let mut listed: Vec<&str> = cell.trim_start_matches("any:").split(',').map(str::trim).collect();
        let info = formats().iter().find(|f| f.id == id).expect("a registered format");
        let mut classes: Vec<&str> = info.classes().iter().map(|c| c.as_str()).collect();
        listed.sort_unstable();
        classes.sort_unstable();
        assert_eq!(listed, classes, "docs/formats.md: the classes of `{id}` are {classes:?}, its row says `{cell}`");
    }
}
