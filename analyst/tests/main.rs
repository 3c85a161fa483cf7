//! The analyst crate's integration tests, in one test binary
//! (`cargo test --workspace --test integration -- <module>::`).

mod demo_lake;
