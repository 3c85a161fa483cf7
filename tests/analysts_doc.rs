//! Every SQL example in `docs/analysts.md` runs, as printed, on a fresh
//! demo lake with `floodlight query`, and answers something: the analyst
//! guide stays true.

use crate::support::cli;

/// The ```sql blocks of the guide, in order.
fn sql_blocks(doc: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sql") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), l) => {
                block.push_str(l);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_example_question_runs_on_the_demo_lake() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/analysts.md")).expect("the guide");
    let blocks = sql_blocks(&doc);
    assert_eq!(blocks.len(), 20, "twenty questions");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = cli::floodlight(dir.path(), &["run", "--no-table"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    for (i, sql) in blocks.iter().enumerate() {
        // No --config: the README's promise that `query` works on the demo lake as is.
        let out = cli::floodlight(dir.path(), &["query", "--format", "json", sql]);
        assert!(out.status.success(), "question {} failed: {}\n{sql}", i + 1, String::from_utf8_lossy(&out.stderr));
        let rows = String::from_utf8_lossy(&out.stdout).lines().count();
        assert!(rows > 0, "question {} answers nothing on the demo lake:\n{sql}", i + 1);
    }
}
