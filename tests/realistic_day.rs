//! Acceptance test: a realistic day of mixed logs — all four families,
//! thirteen vendor formats, 300 people — through `floodlight run`, and the
//! exact set of findings it must raise. Benign traffic (sanctioned apps,
//! sites the catalog does not know, internal mail rules, consents to
//! sanctioned apps) raises none; every planted shadow-IT behaviour raises
//! what the rule pack's defaults say it should. The day and the expected
//! findings come from `support/day.rs`.

use crate::support::day;

use crate::support::cli;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use cli::{floodlight, json_lines};
use serde_json::Value;

/// The config: one file source per log, the organisation's networks,
/// domains, overlay and directory, the bundled MaxMind test databases, and
/// the rule pack with its defaults — except that SS-01's and SS-10's
/// learning period (7 days of event time before a fresh state reports
/// first uses) is set to 0s, as docs/rules.md shows, so a one-day replay
/// can raise them.
fn config(day: &day::Day) -> String {
    let mut c = String::from("[runtime]\nbatch_max_wait = \"50ms\"\n\n");
    for f in &day.files {
        let name = f.name.split('.').next().unwrap_or(f.name);
        c.push_str(&format!(
            "[[sources]]\ntype = \"file\"\nname = \"{name}\"\npaths = [\"logs/{}\"]\nformat = \"{}\"\n\n",
            f.name, f.format
        ));
    }
    c.push_str(
        r#"[enrichments]
corporate_cidrs = ["89.160.20.112/28", "10.0.0.0/8"]
corporate_domains = ["corp.example.com"]
overlay = "overlay.toml"
directory = "users.csv"

[enrichments.reload]
enabled = false

[enrichments.geoip]
demo = true

[rules.params.SS-01]
learning = "0s"
[rules.params.SS-10]
learning = "0s"

[sinks.findings]
path = "out/findings.jsonl"
[sinks.dead_letter]
path = "out/dead-letter.jsonl"
"#,
    );
    c
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// (rule id, who, what) of a finding; see `day::Key`.
fn key_of(f: &Value) -> day::Key {
    let rule = text(&f["rule_id"]).expect("rule_id");
    let evidence: Value =
        text(&f["evidence"]).map_or(Value::Null, |e| serde_json::from_str(&e).expect("evidence JSON"));
    let user = text(&f["user"]);
    let src = text(&f["src_ip"]);
    let who = user.clone().or_else(|| src.clone());
    let what = text(&f["app_id"]).or_else(|| text(&evidence["dest_address"])).or_else(|| {
        if user.is_some() {
            src.clone()
        } else {
            None
        }
    });
    (rule, who.unwrap_or_default(), what.unwrap_or_default())
}

/// The number on the summary row starting with `label` (stderr table).
fn summary_count(stderr: &str, label: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.trim_start_matches(['│', '|', ' ']).starts_with(label))
        .unwrap_or_else(|| panic!("no `{label}` row in:\n{stderr}"));
    line.split(['│', '┆', '|'])
        .filter_map(|c| c.trim().parse().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no count in `{line}`"))
}

/// Whether `hay` names `needle` as a whole identifier (not a prefix of a
/// longer name or address).
fn mentions(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// Whether a message shows a value the rule's row did not have (`?`).
fn has_placeholder(message: &str) -> bool {
    message.split_whitespace().any(|w| w.trim_matches(|c: char| "\"'(),.:;".contains(c)) == "?")
}

#[test]
fn a_realistic_day_raises_exactly_the_planted_findings() {
    let started = Instant::now();
    let day = day::generate();
    // REALISTIC_DAY_KEEP=1 keeps the logs, config and output for a look.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let _cleanup = if std::env::var_os("REALISTIC_DAY_KEEP").is_some() {
        eprintln!("realistic day: keeping {}", tmp.keep().display());
        None
    } else {
        Some(tmp)
    };
    let dir = root.as_path();
    let expected_dead = day.write(dir).unwrap();
    std::fs::write(dir.join("floodlight.toml"), config(&day)).unwrap();
    let expected_text: String = day.expected.iter().map(|(k, why)| format!("{k:?}\t{why}\n")).collect();
    std::fs::write(dir.join("expected.txt"), expected_text).unwrap();
    let (records, skipped, dead) = (day.records() as u64, day.skipped() as u64, day.dead() as u64);
    eprintln!(
        "realistic day: {} people ({} planted), {records} records in {} files, {skipped} skippable, {dead} malformed, {} findings expected",
        day.users.len(),
        day.planted.len(),
        day.files.len(),
        day.expected.len()
    );
    for f in &day.files {
        eprintln!("  {:<24} {:<20} {:>6} records", f.name, f.format, f.records());
    }

    // The config is valid and compiles the whole pack.
    let out = floodlight(dir, &["validate", "--config", "floodlight.toml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("({} source(s), 20 rule(s) compiled)", day.files.len())), "{stdout}");

    let run_started = Instant::now();
    let out = floodlight(dir, &["run", "--no-table", "--config", "floodlight.toml"]);
    let run_time = run_started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");

    // Every record read, and each one's outcome: parsed, skipped (documented
    // reason), or dead-lettered.
    assert_eq!(summary_count(&stderr, "records received"), records, "{stderr}");
    assert_eq!(summary_count(&stderr, "records skipped"), skipped, "{stderr}");
    assert_eq!(summary_count(&stderr, "records dead-lettered"), dead, "{stderr}");
    assert_eq!(summary_count(&stderr, "events decoded"), records - skipped - dead, "{stderr}");
    assert_eq!(summary_count(&stderr, "events enriched and emitted"), records - skipped - dead, "{stderr}");
    assert_eq!(summary_count(&stderr, "rule errors"), 0, "{stderr}");
    // Okta records without a usable time are kept (with their stream's time), and said so.
    assert!(
        stderr.lines().any(|l| l.contains("kept with their stream's time") && l.contains("okta")),
        "no warning about Okta records with an inferred time:\n{stderr}"
    );
    assert_eq!(summary_count(&stderr, "sink errors"), 0, "{stderr}");
    for f in &day.files {
        let name = f.name.split('.').next().unwrap_or(f.name);
        let line = format!("source {name}: {} records in ", f.records());
        assert!(stderr.contains(&line), "expected `{line}` in:\n{stderr}");
    }
    let sources: Vec<&str> = stderr.lines().filter(|l| l.starts_with("source ")).collect();
    assert_eq!(sources.len(), day.files.len(), "{stderr}");
    assert!(sources.iter().all(|l| l.ends_with(", 0 failed")), "{stderr}");

    // The dead letters are exactly the planted malformed lines, with file, line and reason.
    let dead_letters = json_lines(&dir.join("out/dead-letter.jsonl"));
    let got_dead: BTreeSet<(String, String)> = dead_letters
        .iter()
        .map(|d| {
            let origin = text(&d["origin"]).expect("origin");
            let file = origin.rsplit('/').next().unwrap_or(&origin).to_string();
            (file, text(&d["format"]).unwrap_or_default())
        })
        .collect();
    let want_dead: BTreeSet<(String, String)> =
        expected_dead.iter().map(|(f, line, format, _)| (format!("{f}:{line}"), format.to_string())).collect();
    assert_eq!(got_dead, want_dead, "{dead_letters:#?}");
    for (f, line, _, reason) in &expected_dead {
        let d = dead_letters
            .iter()
            .find(|d| text(&d["origin"]).is_some_and(|o| o.ends_with(&format!("/{f}:{line}"))))
            .expect("dead letter");
        assert!(text(&d["reason"]).is_some_and(|r| r.contains(reason)), "{f}:{line}: {d}");
        assert!(text(&d["raw"]).is_some(), "{d}");
    }

    // The findings: exactly the expected set.
    let findings = json_lines(&dir.join("out/findings.jsonl"));
    let got: BTreeSet<day::Key> = findings.iter().map(key_of).collect();
    let want: BTreeSet<day::Key> = day.expected.keys().cloned().collect();
    let missing: Vec<String> = want.difference(&got).map(|k| format!("  {k:?}  <- {}", day.expected[k])).collect();
    let unexpected: Vec<String> = got
        .difference(&want)
        .map(|k| {
            let f = findings.iter().find(|f| key_of(f) == *k).expect("a finding");
            format!("  {k:?}: {}", f["message"])
        })
        .collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing findings:\n{}\nunexpected findings:\n{}",
        missing.join("\n"),
        unexpected.join("\n")
    );
    let rules: BTreeSet<&str> = want.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(rules.len(), 20, "the day covers every rule of the pack: {rules:?}");
    // One finding (one finding_id) per expected key; later matches are revisions of it:
    // raised once as revision 1, each update with the next revision. (Updates are
    // written by the sink stage's flush, so one may land before the revision it
    // follows: consumers keep the highest revision per finding_id.)
    let ids: BTreeMap<&str, day::Key> =
        findings.iter().map(|f| (f["finding_id"].as_str().expect("finding_id"), key_of(f))).collect();
    assert_eq!(ids.len(), want.len(), "finding ids: {ids:#?}");
    let mut revisions: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for f in &findings {
        let id = f["finding_id"].as_str().expect("finding_id");
        revisions.entry(id).or_default().push(f["revision"].as_i64().expect("revision"));
    }
    for (id, revs) in &mut revisions {
        revs.sort_unstable();
        assert!(revs.iter().copied().eq(1..=revs.len() as i64), "{:?} {id}: revisions {revs:?}", ids[id]);
    }

    // Each finding reads as a sentence, names no benign person, and no sanctioned app.
    for f in &findings {
        let message = text(&f["message"]).unwrap_or_default();
        assert!(message.len() > 30 && !message.contains('{') && !has_placeholder(&message), "{f}");
        assert_ne!(f["app_status"], "sanctioned", "{f}");
        let app = text(&f["app_id"]).unwrap_or_default();
        assert!(!day::SANCTIONED_APPS.contains(&app.as_str()), "{f}");
    }
    let all = std::fs::read_to_string(dir.join("out/findings.jsonl")).unwrap();
    for (_, who, _) in want.iter().filter(|k| !k.1.is_empty()) {
        assert!(mentions(&all, &who.replace('\\', "\\\\")), "the check below would not see {who}");
    }
    for u in day.users.iter().filter(|u| !day.planted.contains(&u.idx)) {
        for id in u.identifiers() {
            assert!(!mentions(&all, &id), "a finding names the benign {} ({id})", u.email);
        }
    }

    // The highest revision of some findings has the escalated severity.
    let mut latest: BTreeMap<day::Key, &Value> = BTreeMap::new();
    for f in &findings {
        let k = key_of(f);
        let newer = latest.get(&k).is_none_or(|old| f["revision"].as_i64() > old["revision"].as_i64());
        if newer {
            latest.insert(k, f);
        }
    }
    for (k, severity) in &day.severities {
        let f = latest.get(k).unwrap_or_else(|| panic!("no finding {k:?}"));
        assert_eq!(f["severity"], *severity, "{k:?}: {f}");
    }

    // Attribution: AnyDesk resolved from the hot desk, DNS only, names the
    // person the firewall showed there that afternoon, not the morning's.
    let afternoon = day.users[day::HOT_DESK_AFTERNOON].account.clone();
    let morning = day.users[day::HOT_DESK_MORNING].account.clone();
    let ss05 = latest.get(&("SS-05".into(), afternoon.clone(), "anydesk".into())).expect("SS-05 for the hot desk");
    assert_eq!(text(&ss05["src_ip"]).as_deref(), Some(day::HOT_DESK), "{ss05}");
    let evidence: Value = serde_json::from_str(&text(&ss05["evidence"]).unwrap()).unwrap();
    assert_eq!(evidence["user_source"], "ip_lease", "{ss05}");
    assert!(text(&ss05["message"]).unwrap().starts_with(&format!("{afternoon} ({})", day::HOT_DESK)), "{ss05}");
    assert!(!latest.keys().any(|k| k.1 == morning && k.2 == "anydesk"), "the morning's colleague is not named");
    assert!(!latest.keys().any(|k| k.1 == day::HOT_DESK), "the desk is never the finding's subject");

    // Shadow-SaaS findings offer the sanctioned alternative.
    let converter = day.users[day::ILOVEPDF_USER].account.clone();
    let ilovepdf = latest[&("SS-04".into(), converter.clone(), "ilovepdf".into())];
    assert_eq!(ilovepdf["app_alternative"], "Adobe Acrobat", "{ilovepdf}");
    let message = text(&ilovepdf["message"]).unwrap();
    // The count in the message is the first batch's (both uploads may or may not share
    // one batch); the finding's latest revision has the total.
    assert!(message.starts_with(&format!("{converter} sent ")), "{message}");
    assert!(message.contains(" request(s) to iLovePDF (file_conversion). Documents"), "{message}");
    assert_eq!(ilovepdf["event_count"], 2, "{ilovepdf}");
    assert!(message.ends_with("The sanctioned alternative is Adobe Acrobat."), "{message}");
    let otter = latest.iter().find(|(k, _)| k.0 == "SS-06" && k.2 == "otter-ai").map(|(_, f)| *f).expect("SS-06 otter");
    assert_eq!(otter["app_alternative"], "Microsoft Teams", "{otter}");
    let message = text(&otter["message"]).unwrap();
    assert!(message.contains("The app is unsanctioned for the organisation."), "{message}");
    assert!(message.ends_with("The sanctioned alternative is Microsoft Teams."), "{message}");

    eprintln!(
        "realistic day: {} findings ({} distinct) from {records} records; run {run_time:.1?}, test {:.1?}",
        findings.len(),
        want.len(),
        started.elapsed()
    );
}
