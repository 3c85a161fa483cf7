//! Tests of the enrichment stage over the bundled default snapshot.
