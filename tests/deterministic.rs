//! Findings that do not depend on scheduling.
//!
//! One generated input — two firewall streams (one in time order, one
//! jittered within the allowed lateness), sign-ins and OAuth consents in
//! two more streams, about 104,000 records — runs through `floodlight run`
//! with 1, 2 and 4 workers, small and large batches and several channel
//! capacities. Every run must write the same findings: the same ids, the
//! same revisions in order, and the same final content (totals,
//! `suppressed_count`, first and last seen, message), for windowed (SS-02,
//! SS-03), first-seen (SS-01), correlation (WF-03) and streaming rules.
//! Windowed and correlation findings must count each source record once.
//! A DNS log that names no user rides along: every SS-05 finding it raises
//! names the person the firewalls showed on that desk (attribution in event
//! time), with every scheduling.
//!
//! A second input feeds two streams whose clocks are 20 minutes apart:
//! nothing within the allowed lateness is dropped, and rows planted further
//! behind their own stream are counted and dead-lettered as late (or used,
//! when the source allows that much lateness).

use crate::support::cli;
use crate::support::traffic;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use cli::{floodlight, json_lines};
use serde_json::Value;
use traffic::{by_rule, final_revisions, fortigate, generate, hour_of, DAY};

fn config(files: &[(String, String, String)], workers: usize, batch: usize, capacity: usize, extra: &str) -> String {
    let mut c =
        format!("[runtime]\nworkers = {workers}\nbatch_max_records = {batch}\nchannel_capacity = {capacity}\n\n");
    for (name, format, _) in files {
        let _ = write!(
            c,
            "[[sources]]\ntype = \"file\"\nname = \"{name}\"\npaths = [\"{name}\"]\nformat = \"{format}\"\n\n"
        );
    }
    c.push_str(extra);
    c.push_str(
        "[enrichments]\ncorporate_cidrs = [\"10.0.0.0/8\"]\ncorporate_domains = [\"corp.example.com\"]\n\
         [enrichments.reload]\nenabled = false\n[enrichments.geoip]\ndemo = true\n\
         [rules.params.SS-01]\nlearning = \"0s\"\n[rules.params.SS-10]\nlearning = \"0s\"\n\
         [sinks.findings]\npath = \"out/findings.jsonl\"\n[sinks.dead_letter]\npath = \"out/dead.jsonl\"\n",
    );
    c
}

/// Run in `dir`; the findings file's records in order.
fn run(dir: &Path, config: &str) -> (Vec<Value>, String) {
    let _ = std::fs::remove_dir_all(dir.join("out"));
    std::fs::write(dir.join("c.toml"), config).unwrap();
    let out = floodlight(dir, &["run", "--no-table", "--config", "c.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    (json_lines(&dir.join("out/findings.jsonl")), stderr)
}

/// The number on the summary row starting with `label` (stderr table).
fn summary_count(stderr: &str, label: &str) -> u64 {
    let line = stderr.lines().find(|l| l.trim_start_matches(['│', '|', ' ']).starts_with(label));
    let line = line.unwrap_or_else(|| panic!("no `{label}` row in:\n{stderr}"));
    line.split(['│', '┆', '|']).filter_map(|c| c.trim().parse().ok()).next_back().unwrap()
}

#[test]
fn findings_do_not_depend_on_workers_batches_or_interleaving() {
    let mut input = generate(50_000);
    input.files.push(input.dns.clone());
    let dir = tempfile::tempdir().unwrap();
    for (name, _, text) in &input.files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let records: usize = input.files.iter().map(|(_, _, t)| t.lines().count()).sum();
    assert!(records >= 100_000, "{records}");

    let mut reference: Option<(String, BTreeMap<String, Value>)> = None;
    for (workers, batch, capacity) in [(1, 8192, 4), (2, 700, 4), (4, 700, 1), (2, 8192, 8), (4, 8192, 2), (1, 700, 1)]
    {
        let what = format!("workers {workers}, batches of {batch}, channel capacity {capacity}");
        let (findings, stderr) = run(dir.path(), &config(&input.files, workers, batch, capacity, ""));
        assert_eq!(summary_count(&stderr, "records received"), records as u64, "{what}");
        assert_eq!(summary_count(&stderr, "late records dead-lettered"), 0, "{what}: {stderr}");
        let last = final_revisions(&findings);
        match &reference {
            None => {
                // The input exercises every kind of rule, and updates.
                for rule in ["SS-01", "SS-02", "SS-03", "SS-04", "WF-01", "WF-03"] {
                    assert!(!by_rule(&last, rule).is_empty(), "no {rule} finding with {what}");
                }
                assert!(last.values().any(|f| f["revision"].as_i64() > Some(1)), "no finding was updated");

                // Windowed: each SS-03 finding counts exactly the requests of its user and hour.
                let ss03 = by_rule(&last, "SS-03");
                let over: Vec<_> = input.genai.iter().filter(|(_, (_, b))| *b > 1_048_576).collect();
                assert_eq!(ss03.len(), over.len(), "one SS-03 finding per user-hour over 1 MB");
                for f in ss03 {
                    let key = (f["user"].as_str().unwrap().to_string(), hour_of(f));
                    let (n, bytes) = input.genai[&key];
                    assert_eq!((f["event_count"].as_i64(), f["bytes"].as_i64()), (Some(n), Some(bytes)), "{f}");
                    let message = f["message"].as_str().unwrap();
                    assert!(message.contains(&format!("sent {bytes} bytes")), "{message}");
                    assert!(message.contains(&format!("({n} requests)")), "{message}");
                }
                // Correlation: each WF-03 finding counts the distinct sign-ins and consents it paired.
                let wf03 = by_rule(&last, "WF-03");
                assert_eq!(wf03.len(), input.pairs.len(), "one WF-03 finding per user and sign-in hour");
                for f in wf03 {
                    let key = (f["user"].as_str().unwrap().to_string(), hour_of(f));
                    assert_eq!(f["event_count"].as_i64(), Some(input.pairs[&key].len() as i64), "{f}");
                }
                // Attribution: the DNS log names only desks; each SS-05
                // finding names the person of the desk, once per person.
                let ss05 = by_rule(&last, "SS-05");
                let named: BTreeSet<&str> = ss05.iter().map(|f| f["user"].as_str().unwrap()).collect();
                let want: BTreeSet<&str> = input.anydesk_users.iter().map(String::as_str).collect();
                assert_eq!(named, want, "SS-05 names the people at the desks");
                for f in &ss05 {
                    let evidence: Value = serde_json::from_str(f["evidence"].as_str().unwrap()).unwrap();
                    assert_eq!(evidence["user_source"], "ip_lease", "{f}");
                }
                reference = Some((what, last));
            }
            Some((first, want)) => {
                let got_ids: BTreeSet<&String> = last.keys().collect();
                let want_ids: BTreeSet<&String> = want.keys().collect();
                assert_eq!(got_ids, want_ids, "finding ids differ between {first} and {what}");
                for (id, f) in want {
                    assert_eq!(&last[id], f, "finding {id} differs between {first} and {what}");
                }
            }
        }
    }
}

#[test]
fn skewed_clocks_drop_nothing_and_late_rows_are_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let start = DAY + 10 * 3600;
    // Two firewalls, the branch's clock 20 minutes behind; both send a
    // request to ChatGPT every 10 seconds for each of three people.
    let mut hq = String::new();
    let mut branch = String::new();
    let mut counted: BTreeMap<(String, u64), (i64, i64)> = BTreeMap::new();
    let mut late_lines = 0;
    for i in 0..720u64 {
        for (u, user) in ["ana", "bo", "cy"].iter().enumerate() {
            let t = start + i * 10 + u as u64;
            hq.push_str(&fortigate("FGT-HQ", t, i, user, "10.1.0.5", "chatgpt.com", 20_000));
            let tb = t - 1200;
            branch.push_str(&fortigate("FGT-BRANCH", tb, i, user, "10.2.0.5", "chatgpt.com", 30_000));
            for (tt, b) in [(t, 20_000), (tb, 30_000)] {
                let e = counted.entry((user.to_string(), tt / 3600 * 3600)).or_default();
                e.0 += 1;
                e.1 += b;
            }
        }
        // Every 100th step the branch replays a request from 10 minutes
        // earlier: behind its own stream by more than the minute allowed.
        if i % 100 == 99 {
            let t = start + i * 10 - 1200 - 600;
            branch.push_str(&fortigate("FGT-BRANCH", t, 9000 + i, "dee", "10.2.0.9", "chatgpt.com", 900_000));
            late_lines += 1;
        }
    }
    std::fs::write(dir.path().join("hq.log"), &hq).unwrap();
    std::fs::write(dir.path().join("branch.log"), &branch).unwrap();
    let files: Vec<(String, String, String)> = vec![
        ("hq.log".into(), "fortigate".into(), String::new()),
        ("branch.log".into(), "fortigate".into(), String::new()),
    ];
    for workers in [1, 2] {
        let (findings, stderr) = run(dir.path(), &config(&files, workers, 256, 2, ""));
        let last = final_revisions(&findings);
        // Nothing within the lateness was dropped: every hour of every person counts every request.
        let ss03 = by_rule(&last, "SS-03");
        let want: Vec<_> = counted.iter().filter(|(_, (_, b))| *b > 1_048_576).collect();
        assert_eq!(ss03.len(), want.len(), "{stderr}");
        for f in ss03 {
            let key = (f["user"].as_str().unwrap().to_string(), hour_of(f));
            assert_eq!(
                (f["event_count"].as_i64(), f["bytes"].as_i64()),
                (Some(counted[&key].0), Some(counted[&key].1))
            );
        }
        // The planted late requests: counted, dead-lettered with the reason, not used.
        assert_eq!(summary_count(&stderr, "late records dead-lettered"), late_lines, "{stderr}");
        let dead = json_lines(&dir.path().join("out/dead.jsonl"));
        assert_eq!(dead.len() as u64, late_lines);
        for d in &dead {
            let reason = d["reason"].as_str().unwrap();
            assert!(reason.starts_with("late:") && reason.contains("SS-03"), "{reason}");
            assert!(d["raw"].as_str().unwrap().contains("user=\"dee\""), "{d}");
        }
        assert!(by_rule(&last, "SS-01").iter().all(|f| f["user"] != "dee"), "a late row was used");
    }
    // Quiet logs: per batch only DEBUG; at INFO a run logs its start, the
    // findings summary and the end, however many batches it had.
    std::fs::write(dir.path().join("c.toml"), config(&files, 2, 64, 2, "")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_floodlight"))
        .args(["run", "--no-table", "--config", "c.toml"])
        .current_dir(dir.path())
        .env("FLOODLIGHT_LOG", "info")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let info: Vec<&str> = stderr.lines().filter(|l| l.contains(" INFO ")).collect();
    assert!(
        info.len() < 20,
        "{} INFO lines for {} batches:\n{}",
        info.len(),
        hq.lines().count() / 64 * 2,
        info.join("\n")
    );
    assert!(info.iter().any(|l| l.contains("findings written")), "{stderr}");
    let warnings = stderr.lines().filter(|l| l.contains(" WARN ")).count();
    assert!(warnings <= 2, "late records are warned about at most once per 10 s and stream:\n{stderr}");

    // A source that allows that much lateness uses them.
    let mut c = config(&files, 2, 256, 2, "");
    c = c.replace("paths = [\"branch.log\"]\n", "paths = [\"branch.log\"]\nallowed_lateness = \"15m\"\n");
    let (findings, stderr) = run(dir.path(), &c);
    assert_eq!(summary_count(&stderr, "late records dead-lettered"), 0, "{stderr}");
    let last = final_revisions(&findings);
    assert!(by_rule(&last, "SS-01").iter().any(|f| f["user"] == "dee"), "{stderr}");
}
