//! Running the `floodlight` binary from integration tests, and reading the
//! JSON-lines files it writes. Shared by `end_to_end.rs` and `realistic_day.rs`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// `floodlight ARGS` in `dir`, without colour, logging warnings only.
pub fn floodlight(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_floodlight"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("FLOODLIGHT_LOG", "warn")
        .output()
        .expect("floodlight runs")
}

/// Every line of a JSON-lines file, parsed; panics naming the file and line.
pub fn json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect()
}

/// Every file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
