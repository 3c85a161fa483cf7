//! The column reference of `docs/schema.md`, generated from the column
//! definitions so the documentation cannot drift from the code: a test
//! compares the two and fails on any difference.

use std::fmt::Write;

use super::{enriched, EventClass, Finding};
use crate::schema::ColumnDef;

/// Marker lines delimiting the generated part of `docs/schema.md`.
pub const BEGIN: &str = "<!-- BEGIN GENERATED: column reference (do not edit; see pipeline/src/schema/doc.rs) -->";
/// See [`BEGIN`].
pub const END: &str = "<!-- END GENERATED -->";

fn table(out: &mut String, cols: &[ColumnDef], source: impl Fn(&ColumnDef) -> &'static str) {
    out.push_str("| column | type | nullable | set by | meaning |\n|---|---|---|---|---|\n");
    for c in cols {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            c.name,
            c.kind.doc_name(),
            if c.nullable { "yes" } else { "no" },
            source(c),
            c.doc.trim().replace('|', "\\|")
        );
    }
    out.push('\n');
}

/// The generated markdown (between the markers, exclusive).
pub fn column_reference() -> String {
    let mut out = String::new();
    for class in EventClass::ALL {
        let _ = writeln!(out, "### `{}` (OCSF class {})\n", class.as_str(), class.ocsf_class_uid());
        let base = class.base_columns();
        let groups = enriched::enrichment_groups(class);
        let cols = class.enriched_columns();
        table(&mut out, &cols, |c| {
            if base.iter().any(|b| b.name == c.name) {
                "decoder"
            } else if groups.iter().any(|g| g.iter().any(|e| e.name == c.name)) {
                "enrichment"
            } else {
                "?"
            }
        });
    }
    out.push_str("### `finding` (OCSF Detection Finding 2004)\n\n");
    table(&mut out, Finding::COLUMNS, |_| "detect");
    out
}

/// Replace the generated part of a `docs/schema.md` text.
pub fn regenerate(doc: &str) -> Option<String> {
    let start = doc.find(BEGIN)? + BEGIN.len();
    let end = doc.find(END)?;
    (start <= end).then(|| format!("{}\n\n{}{}", &doc[..start], column_reference(), &doc[end..]))
}
