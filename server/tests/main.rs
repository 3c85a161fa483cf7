//! The server crate's integration tests, in one test binary
//! (`cargo test --workspace --test integration -- <module>::`).

mod common;

mod access_log;
mod api;
mod console;
mod nudger;
mod openapi;
mod serve;
