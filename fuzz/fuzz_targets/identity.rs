//! Fuzz target `identity`: runs every decoder of the family (okta, entra-signin, entra-audit,
//! google-workspace, github-audit, github-webhook) on the input's last line, with the lines before it as header
//! lines, and checks the invariants of `floodlight_pipeline::decode::fuzzing` (no panic,
//! `Parsed(n)` means n rows, nothing appended otherwise, rows convert to JSON).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    floodlight_pipeline::decode::fuzzing::check_family("identity", data);
});
