//! The enrichments crate's integration tests, in one test binary
//! (`cargo test --workspace --test integration -- <module>::`).

mod catalog_overlay;
mod geo_directory_reload;
mod overlay_decision;
mod public_api;
