//! The store's integration tests, in one test binary
//! (`cargo test --workspace --test integration -- backends::`).

mod common;

mod backends;
