//! Transforms between decode and detect. Today: enrichment, which appends
//! the catalog, GeoIP and email columns to each decoded batch.

pub mod enrich;

pub use enrich::Enricher;
