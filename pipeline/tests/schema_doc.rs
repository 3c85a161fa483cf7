//! `docs/schema.md` must document exactly the columns the code defines.

use floodlight_pipeline::schema::doc::{regenerate, BEGIN, END};

#[test]
fn schema_doc_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/schema.md");
    let doc = std::fs::read_to_string(path).expect("docs/schema.md exists");
    assert!(doc.contains(BEGIN) && doc.contains(END), "docs/schema.md lost its generated-section markers");
    let expected = regenerate(&doc).expect("markers in order");
    if std::env::var_os("FLOODLIGHT_BLESS").is_some() {
        std::fs::write(path, &expected).expect("write docs/schema.md");
        return;
    }
    if doc != expected {
        let diff: Vec<String> = expected
            .lines()
            .zip(doc.lines().chain(std::iter::repeat("<missing>")))
            .filter(|(e, d)| e != d)
            .take(5)
            .map(|(e, d)| format!("  doc:  {d}\n  code: {e}"))
            .collect();
        panic!(
            "docs/schema.md disagrees with the schema in code; first differences:\n{}\nRun `FLOODLIGHT_BLESS=1 cargo test -p floodlight-pipeline --test integration -- schema_doc::` after checking the change is intended.",
            diff.join("\n")
        );
    }
}

#[test]
fn every_column_of_every_class_is_in_the_doc() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/schema.md")).expect("doc");
    for class in floodlight_pipeline::schema::EventClass::ALL {
        for c in class.enriched_columns() {
            assert!(doc.contains(&format!("| `{}` |", c.name)), "column {} of {class} is not documented", c.name);
        }
    }
}
