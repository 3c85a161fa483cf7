//! Tables that fit the terminal.
//!
//! On a terminal, tables take its width: short columns (ids, severities,
//! counts) stay whole and the long ones (messages, titles, paths) wrap
//! within their column, so no line is wider than the window. `--wide`, or
//! output that is not a terminal (a pipe, a file), keeps one line per row
//! for copying and `grep`.

use comfy_table::{presets::UTF8_FULL_CONDENSED, ColumnConstraint, ContentArrangement, Table, Width};

/// How a column may be laid out.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Never wrapped (ids, severities, short names, numbers).
    Whole,
    /// Wrapped when the table is too wide, at most this percentage of the
    /// width (names, addresses).
    AtMost(u16),
    /// Takes what is left (messages, titles).
    Rest,
}

/// A table with `columns` (header, fit); `wide`: one line per row whatever the width.
pub fn table(columns: &[(&str, Fit)], wide: bool) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header(columns.iter().map(|(h, _)| *h));
    if wide {
        t.set_content_arrangement(ContentArrangement::Disabled);
        return t;
    }
    // Dynamic: comfy-table measures the terminal (stdout); off a terminal
    // it has no width and leaves rows on one line.
    t.set_content_arrangement(ContentArrangement::Dynamic);
    for (i, (_, fit)) in columns.iter().enumerate() {
        let constraint = match fit {
            Fit::Whole => Some(ColumnConstraint::ContentWidth),
            Fit::AtMost(p) => Some(ColumnConstraint::UpperBoundary(Width::Percentage(*p))),
            Fit::Rest => None,
        };
        if let (Some(c), Some(column)) = (constraint, t.column_mut(i)) {
            column.set_constraint(c);
        }
    }
    t
}
