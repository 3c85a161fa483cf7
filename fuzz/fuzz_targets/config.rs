//! Fuzz target `config`: the config loader. Any text is parsed as a
//! `floodlight.toml` (after `${VAR}` interpolation); when it parses, every
//! setting is validated (`Config::problems`). Neither may panic: a bad
//! config is a list of problems, never a crash
//! (`floodlight_pipeline::decode::fuzzing::check_config`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    floodlight_pipeline::decode::fuzzing::check_config(data);
});
