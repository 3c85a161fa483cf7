//! `floodlight decide`: record the organisation's decision on one app in the
//! overlay file, from the command line ("comply or explain").
//!
//! ```text
//! floodlight decide dropbox --status monitored --reason "Finance shares statements with the auditor" \
//!     --owner it-finance@corp.example.com --expires 2027-03-31 --config floodlight.toml
//! ```
//!
//! The decision is checked against the configured catalog (unknown app,
//! empty reason, expiry in the past, an alternative that is not sanctioned:
//! refused, nothing written), the change is shown as a diff, and after a
//! confirmation (`--yes`, or `y` at the prompt on a terminal) the overlay is
//! replaced atomically and the decision appended to `<overlay>.audit.jsonl`
//! beside it. A running pipeline with hot reload picks the new overlay up.
//! The work is done by [`floodlight_enrichments::DecisionPlan`].

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{bail, Result};
use floodlight_enrichments::files::resolve;
use floodlight_enrichments::{base_catalog, Date, Decision, DecisionPlan};
use floodlight_pipeline::config::Config;

/// What `floodlight decide` was asked.
pub struct DecideArgs {
    /// The `[[app]]` entry to write.
    pub decision: Decision,
    /// Save without asking.
    pub yes: bool,
    /// The name for the audit log (default: `$USER`).
    pub who: Option<String>,
}

use floodlight_enrichments::decision::audit_log_for;

/// Plan, show, confirm, save. Exit code 0 when saved (or nothing to change),
/// 1 when not confirmed.
pub fn run(cfg: &Config, base: &Path, args: DecideArgs) -> Result<i32> {
    let Some(overlay) = &cfg.enrichments.overlay else {
        bail!(
            "the config names no overlay file: add `overlay = \"overlay.toml\"` under [enrichments] \
             (the file may not exist yet; it is created)"
        );
    };
    let path = resolve(base, overlay);
    let catalog = base_catalog(&cfg.enrichments, base)?;
    let plan = DecisionPlan::new(&path, &catalog, args.decision, Date::today_utc())?;

    if plan.changes_file() {
        print!("{}", plan.diff());
    } else {
        println!("{} already says this about `{}`.", path.display(), plan.after().id);
    }
    if !args.yes {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            eprintln!("Not saved: add --yes to save without a prompt.");
            return Ok(1);
        }
        eprint!("Save this decision to {}? [y/N] ", path.display());
        std::io::stderr().flush()?;
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("Not saved.");
            return Ok(1);
        }
    }
    let who = args.who.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".into());
    let audit = audit_log_for(&path);
    let record = plan.save(&audit, &who)?;
    eprintln!(
        "Saved {}; recorded in {} ({} at {}). A running pipeline with hot reload applies it within seconds.",
        path.display(),
        audit.display(),
        record.who,
        record.time
    );
    Ok(0)
}
