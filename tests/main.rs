//! floodlight's end-to-end tests, one module per capability, all in one test
//! binary (`cargo test --workspace --test integration -- <module>::`): one
//! binary links the pipeline, DataFusion and the servers once instead of once
//! per file, which saves CI minutes of linking and gigabytes of disk.
//! What each module checks: its own docs, and docs/testing.md.

mod support;

mod analyst_api;
mod analysts_doc;
mod console;
mod decide;
mod deploy_manifests;
mod deterministic;
mod end_to_end;
mod faults;
mod file_source;
mod fuzz_smoke;
mod hostile_input;
mod kafka;
mod nudges;
mod operations_doc;
mod parse_auto;
mod realistic_day;
mod rule_state;
mod s3_lake;
mod scale_out;
mod sigma;
mod terminal;
