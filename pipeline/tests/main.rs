//! The pipeline crate's integration tests, in one test binary
//! (`cargo test --workspace --test integration -- <module>::`).

mod formats_doc;
mod late_start;
mod schema_doc;
mod time_inferred;
mod update_interval;
