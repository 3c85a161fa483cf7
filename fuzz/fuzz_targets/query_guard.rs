//! Fuzz target `query_guard`: the analyst API's read-only guard (which SQL
//! an analyst may send). Any text is checked, and the answer is a verdict,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    let _ = floodlight_analyst::guard::check_read_only(sql);
});
