//! Fuzz target `enrichment`: the readers of what users give the enrichment
//! stage: the overlay and the app catalog (TOML), the user directory (CSV
//! and JSON). Each returns a value or an error, never a panic; a directory
//! that loads answers lookups
//! (`floodlight_pipeline::decode::fuzzing::check_enrichment`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    floodlight_pipeline::decode::fuzzing::check_enrichment(data);
});
