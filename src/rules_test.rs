//! `floodlight rules test [PATH]`: run every rule's test cases (fixtures
//! beside the rule) and print a pass/fail table. See `docs/rules.md`.

use std::path::{Path, PathBuf};

use crate::tables::{table, Fit};
use anyhow::{Context, Result};
use floodlight_pipeline::config::Config;
use floodlight_pipeline::detect::fixtures;
use floodlight_pipeline::detect::RuleSource;

/// Run the cases; `path` is a rules directory (default: the config's
/// `[rules] dirs`, else the bundled pack) or a filter on rule ids / paths.
pub fn run(cfg: &Config, base: &Path, path: Option<&str>, verbose: bool) -> Result<i32> {
    let (source, settings) = cfg.rule_setup(base);
    let (source, filter) = match path {
        Some(p) if Path::new(p).is_dir() => (RuleSource::Dirs(vec![PathBuf::from(p)]), None),
        Some(p) if Path::new(p).is_file() => {
            let dir = Path::new(p).parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let stem = Path::new(p).file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            (RuleSource::Dirs(vec![dir.to_path_buf()]), Some(stem))
        }
        Some(p) => (source, Some(p.to_string())),
        None => (source, None),
    };
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the tokio runtime")?;
    let results =
        rt.block_on(fixtures::run(&source, &settings.params, filter.as_deref())).map_err(|e| anyhow::anyhow!(e))?;
    let mut t = table(
        &[
            ("rule", Fit::Whole),
            ("case", Fit::AtMost(30)),
            ("result", Fit::Whole),
            ("findings", Fit::Whole),
            ("what it shows", Fit::Rest),
        ],
        false,
    );
    let mut failed = 0;
    for r in &results {
        if !r.passed() {
            failed += 1;
        }
        let result = if r.passed() { "pass".to_string() } else { "FAIL".to_string() };
        t.add_row([r.rule_id.clone(), r.case.clone(), result, r.found.to_string(), r.description.trim().to_string()]);
    }
    println!("{t}");
    for r in results.iter().filter(|r| !r.passed()) {
        eprintln!("FAIL {} / {}: {}", r.rule_id, r.case, r.failure.as_deref().unwrap_or(""));
    }
    if verbose {
        eprintln!("{} case(s), {} failed", results.len(), failed);
    }
    let rules: std::collections::BTreeSet<&str> = results.iter().map(|r| r.rule_id.as_str()).collect();
    println!(
        "{} rule(s), {} case(s): {} passed, {} failed",
        rules.len(),
        results.len(),
        results.len() - failed,
        failed
    );
    Ok(if failed == 0 { 0 } else { 1 })
}
