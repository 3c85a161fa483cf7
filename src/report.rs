//! What `floodlight run` prints when a finite run ends.
//!
//! On stdout, the findings table (it is the run's answer, and can be
//! redirected); on stderr, a summary people read: findings by family and
//! severity, the people and apps that come up most, the stage counts, where
//! the findings, the lake and the dead letters were written, and the next
//! command to try.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use floodlight_pipeline::config::Config;
use floodlight_pipeline::internal_events::metric;
use floodlight_pipeline::runtime::RunSummary;
use floodlight_pipeline::schema::Finding;

use crate::tables::{table, Fit};

/// Severities from the most to the least urgent.
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

/// How many people and apps the summary names.
const TOP: usize = 5;

/// What to print and how.
pub struct ReportOptions<'a> {
    /// Print the findings table.
    pub findings_table: bool,
    /// One line per finding whatever the terminal width.
    pub wide: bool,
    /// The config file given with `--config` (for the next command).
    pub config_path: Option<&'a Path>,
}

/// Print the findings table (stdout) and the summary (stderr).
pub fn print(summary: &RunSummary, cfg: &Config, base: &Path, options: &ReportOptions) {
    if options.findings_table {
        print_findings(summary, options.wide);
    }
    print_summary(summary, cfg, base, options);
}

/// Who a finding is about: the person, else the source address.
fn who(f: &Finding) -> String {
    f.user.clone().or_else(|| f.src_ip.clone()).unwrap_or_default()
}

fn print_findings(summary: &RunSummary, wide: bool) {
    let mut t = table(
        &[
            ("rule", Fit::Whole),
            ("severity", Fit::Whole),
            ("user / source", Fit::AtMost(24)),
            ("app", Fit::AtMost(18)),
            ("message", Fit::Rest),
        ],
        wide,
    );
    for f in &summary.findings {
        t.add_row([
            f.rule_id.as_str(),
            f.severity.as_str(),
            who(f).as_str(),
            f.app_name.as_deref().unwrap_or(""),
            f.message.as_str(),
        ]);
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{} finding(s)", summary.findings_total);
    if !summary.findings.is_empty() {
        let _ = writeln!(out, "{t}");
    }
}

/// The `n` most frequent values, most frequent first (ties by name).
fn top<'a>(values: impl Iterator<Item = &'a str>, n: usize) -> Vec<(&'a str, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values.filter(|v| !v.is_empty()) {
        *counts.entry(v).or_default() += 1;
    }
    let mut list: Vec<_> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    list.truncate(n);
    list
}

fn print_summary(s: &RunSummary, cfg: &Config, base: &Path, options: &ReportOptions) {
    let mut err = std::io::stderr().lock();
    if !s.findings.is_empty() {
        let mut by: BTreeMap<&str, [usize; 5]> = BTreeMap::new();
        for f in &s.findings {
            let row = by.entry(f.family.as_str()).or_default();
            if let Some(i) = SEVERITIES.iter().position(|sev| *sev == f.severity) {
                row[i] += 1;
            }
        }
        let mut columns = vec![("family", Fit::Whole)];
        columns.extend(SEVERITIES.iter().map(|s| (*s, Fit::Whole)));
        columns.push(("total", Fit::Whole));
        let mut t = table(&columns, false);
        t.use_stderr();
        for (family, counts) in &by {
            let mut row = vec![family.to_string()];
            row.extend(counts.iter().map(|n| if *n == 0 { "·".to_string() } else { n.to_string() }));
            row.push(counts.iter().sum::<usize>().to_string());
            t.add_row(row);
        }
        let partial = if (s.findings.len() as u64) < s.findings_total {
            format!(" (the first {} of {})", s.findings.len(), s.findings_total)
        } else {
            String::new()
        };
        let _ = writeln!(err, "\nFindings by family and severity{partial}:\n{t}");
        let people: Vec<String> = s.findings.iter().map(who).collect();
        let people = top(people.iter().map(String::as_str), TOP);
        let apps = top(s.findings.iter().filter_map(|f| f.app_name.as_deref()), TOP);
        if !people.is_empty() {
            let mut t = table(
                &[
                    ("person or source", Fit::AtMost(40)),
                    ("findings", Fit::Whole),
                    ("app", Fit::Rest),
                    ("findings", Fit::Whole),
                ],
                false,
            );
            t.use_stderr();
            for i in 0..people.len().max(apps.len()) {
                let (person, n) = people.get(i).map(|(p, n)| (p.to_string(), n.to_string())).unwrap_or_default();
                let (app, m) = apps.get(i).map(|(a, m)| (a.to_string(), m.to_string())).unwrap_or_default();
                t.add_row([person, n, app, m]);
            }
            let _ = writeln!(err, "Most findings:\n{t}");
        }
    }

    let mut t = table(&[("stage", Fit::Rest), ("count", Fit::Whole)], false);
    t.use_stderr();
    let rows = [
        ("records received", s.total(metric::RECORDS_RECEIVED)),
        ("events decoded", s.total(metric::EVENTS_DECODED)),
        ("records skipped (valid, not modelled)", s.total(metric::RECORDS_SKIPPED)),
        ("records dead-lettered", s.total(metric::DEAD_LETTERED)),
        ("late records dead-lettered (not used by rules)", s.total(metric::LATE_RECORDS)),
        ("events enriched and emitted", s.total(metric::EVENTS_EMITTED)),
        ("findings raised", s.findings_total),
        ("matches suppressed by dedup", s.suppressed_total),
        ("rule errors", s.total(metric::RULE_ERRORS)),
        ("sink errors", s.total(metric::SINK_ERRORS)),
    ];
    for (k, v) in rows {
        t.add_row([k.to_string(), v.to_string()]);
    }
    let _ = writeln!(err, "\n{t}");
    for (name, r) in &s.sources {
        let _ = match r {
            Ok(rep) => writeln!(
                err,
                "source {name}: {} records in {} batches, {} acknowledged delivered, {} failed",
                rep.records, rep.batches, rep.delivered, rep.failed
            ),
            Err(e) => writeln!(err, "source {name}: ERROR {e}"),
        };
    }
    let _ = writeln!(err, "elapsed {:.2?}", s.elapsed);

    let outputs = cfg.sinks.outputs(base);
    if !outputs.is_empty() {
        let _ = writeln!(err, "\nWritten to:");
        for (what, at) in &outputs {
            let _ = writeln!(err, "  {what:<13} {at}");
        }
    }
    let _ = writeln!(err, "\nNext: {}", next_command(cfg, options.config_path));
}

/// The command to try after this run.
fn next_command(cfg: &Config, config_path: Option<&Path>) -> String {
    let config = config_path.map(|p| format!(" --config {}", p.display())).unwrap_or_default();
    if cfg.sinks.lake.is_some() {
        format!(
            "floodlight query{config} \"SELECT rule_id, app_name, count(*) AS findings FROM findings_latest \
             GROUP BY rule_id, app_name ORDER BY findings DESC\""
        )
    } else {
        format!("floodlight rules list{config}   (add [sinks.lake] to ask questions with `floodlight query`)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_counts_orders_and_truncates() {
        let names = ["ana", "bo", "ana", "cy", "bo", "ana", ""];
        assert_eq!(top(names.iter().copied(), 2), vec![("ana", 3), ("bo", 2)]);
        assert_eq!(top(names.iter().copied(), 5), vec![("ana", 3), ("bo", 2), ("cy", 1)]);
    }
}
