//! Fuzz target `rules`: the rule loader. Any text is parsed as a rule file
//! (TOML with its SQL, parameters, fixtures); an error names the file, and
//! nothing panics (`floodlight_pipeline::decode::fuzzing::check_rule`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    floodlight_pipeline::decode::fuzzing::check_rule(data);
});
