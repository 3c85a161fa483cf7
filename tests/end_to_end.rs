//! End-to-end tests of the `floodlight` binary: the demo run, file sources,
//! dead-lettering, `validate`, `parse` and `rules list`.

use crate::support::cli;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use cli::{files_under, floodlight, json_lines};
use serde_json::Value;

fn parquet_rows(files: &[PathBuf]) -> i64 {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    files
        .iter()
        .map(|f| {
            let r = SerializedFileReader::new(std::fs::File::open(f).unwrap()).expect("valid parquet");
            r.metadata().file_metadata().num_rows()
        })
        .sum()
}

#[test]
fn demo_run_raises_exactly_the_expected_findings() {
    let dir = tempfile::tempdir().unwrap();
    let out = floodlight(dir.path(), &["run", "--no-table"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let root = dir.path().join("floodlight-demo-out");
    let findings = json_lines(&root.join("findings.jsonl"));
    let got: BTreeSet<(String, String)> = findings
        .iter()
        .map(|f| {
            let who = f.get("user").or_else(|| f.get("src_ip")).and_then(Value::as_str).unwrap_or("").to_string();
            (f["rule_id"].as_str().unwrap().to_string(), who)
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("PF-01", "bob.smith@corp.example.com"),
        ("PF-02", "eve.martin@corp.example.com"),
        ("PF-03", "eve.martin@corp.example.com"),
        ("SS-04", "ana.pereira"),
        ("SS-04", "chen.li"),
        ("SS-05", "10.0.0.31"),
        ("SS-05", "10.0.0.34"),
        ("SS-06", "dana.kim@corp.example.com"),
        ("SS-07", "dana.kim@corp.example.com"),
        ("WF-01", "ana.pereira@corp.example.com"),
        ("WF-02", "bob.smith@corp.example.com"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, expected);
    let ids: BTreeSet<&str> = findings.iter().map(|f| f["finding_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), expected.len(), "one finding per rule and entity");

    // Findings carry what an analyst needs: app, alternative, evidence, message.
    let pf02 = findings.iter().find(|f| f["rule_id"] == "PF-02").unwrap();
    assert_eq!(pf02["severity"], "high");
    assert_eq!(pf02["family"], "email_forwarding");
    assert_eq!(pf02["attack"], serde_json::json!(["T1114.003", "T1020"]));
    let evidence: Value = serde_json::from_str(pf02["evidence"].as_str().unwrap()).unwrap();
    assert_eq!(evidence["dest_address"], "eve.martin1988@gmail.com");
    assert_eq!(evidence["dest_resembles_user"], true);
    assert_eq!(evidence["hides_mail"], true);
    let ss04 = findings.iter().find(|f| f["user"] == "ana.pereira").unwrap();
    assert_eq!(ss04["app_id"], "ilovepdf");
    assert_eq!(ss04["event_count"], 2);
    assert_eq!(ss04["sample_event_ids"].as_array().unwrap().len(), 2);
    assert!(ss04["message"].as_str().unwrap().ends_with("The sanctioned alternative is Adobe Acrobat."));
    let wf01 = findings.iter().find(|f| f["rule_id"] == "WF-01").unwrap();
    assert_eq!(wf01["src_ip"], "214.214.214.216");

    // Bad input is kept with its origin and reason.
    let dead = json_lines(&root.join("dead-letter.jsonl"));
    let origins: BTreeSet<&str> = dead.iter().map(|d| d["origin"].as_str().unwrap()).collect();
    assert_eq!(origins, BTreeSet::from(["demo:okta--system-log.log:8", "demo:panos--fw01.log:8"]));
    assert!(dead.iter().all(|d| d["raw"].as_str().is_some_and(|r| !r.is_empty())));
    assert!(dead.iter().any(|d| d["reason"].as_str().unwrap().contains("fields, expected at least")));

    // The lake: hive partitions, no half-written files, every event in it.
    let lake = files_under(&root.join("lake"));
    assert!(lake.iter().all(|f| f.extension().is_some_and(|e| e == "parquet")), "{lake:?}");
    let events: Vec<_> = lake.iter().filter(|f| f.to_string_lossy().contains("/events/")).cloned().collect();
    for class in ["network", "dns", "auth", "oauth", "email"] {
        assert!(
            events.iter().any(|f| f.to_string_lossy().contains(&format!("events/class={class}/date=2026-11-24/"))),
            "no {class} partition in {events:?}"
        );
    }
    assert_eq!(parquet_rows(&events), 22, "27 records - 3 skipped - 2 dead-lettered");
    let lake_findings: Vec<_> = lake.iter().filter(|f| f.to_string_lossy().contains("/findings/")).cloned().collect();
    assert_eq!(parquet_rows(&lake_findings), findings.len() as i64, "the lake holds what the JSON sink wrote");

    // Summary counters on stderr.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("4 acknowledged delivered, 0 failed"), "{stderr}");
}

#[test]
fn replays_produce_the_same_finding_ids() {
    let ids = |dir: &Path| -> BTreeSet<String> {
        let out = floodlight(dir, &["run", "--no-table"]);
        assert!(out.status.success());
        json_lines(&dir.join("floodlight-demo-out/findings.jsonl"))
            .iter()
            .map(|f| f["finding_id"].as_str().unwrap().to_string())
            .collect()
    };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let first = ids(a.path());
    assert_eq!(first.len(), 11);
    assert_eq!(first, ids(b.path()));
}

#[test]
fn file_source_dead_letters_malformed_lines_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/demo/logs/okta--system-log.log")).unwrap();
    let mut lines: Vec<&str> = good.lines().take(2).collect();
    lines.push("{\"eventType\": \"user.session.start\", \"published\": ");
    lines.push(good.lines().nth(1).unwrap());
    std::fs::write(dir.path().join("okta.log"), lines.join("\n") + "\n").unwrap();
    std::fs::write(
        dir.path().join("floodlight.toml"),
        r#"
[[sources]]
type = "file"
name = "okta"
paths = ["okta.log"]
format = "okta"

[enrichments]
corporate_cidrs = ["10.0.0.0/8"]
[enrichments.geoip]
demo = true

[sinks.findings]
path = "out/findings.jsonl"
[sinks.dead_letter]
path = "out/dead.jsonl"
"#,
    )
    .unwrap();
    let out = floodlight(dir.path(), &["run", "--config", "floodlight.toml", "--no-table"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dead = json_lines(&dir.path().join("out/dead.jsonl"));
    assert_eq!(dead.len(), 1);
    let origin = dead[0]["origin"].as_str().unwrap();
    assert!(origin.starts_with("file:") && origin.ends_with("okta.log:3"), "{origin}");
    assert!(dead[0]["reason"].as_str().unwrap().contains("invalid JSON"));
    // Lines 2 and 4 log the same sign-in twice: one WF-02 finding, the
    // repeat folded into it (two records, one suppressed match). Both fall in
    // the same evaluation interval, so the finding is written once.
    let findings = json_lines(&dir.path().join("out/findings.jsonl"));
    let wf02: Vec<&Value> = findings.iter().filter(|f| f["rule_id"] == "WF-02").collect();
    let ids: BTreeSet<&str> = wf02.iter().map(|f| f["finding_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "{wf02:?}");
    let last = wf02.iter().max_by_key(|f| f["revision"].as_i64()).unwrap();
    assert_eq!((last["revision"].as_i64(), last["suppressed_count"].as_i64()), (Some(1), Some(1)), "{last}");
    assert_eq!(last["event_count"], 2);
}

#[test]
fn validate_reports_file_and_line_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("bad.toml"),
        "id = \"SS-99\"\ntitle = \"t\"\nfamily = \"shadow_saas\"\nseverity = \"low\"\nclass = \"dns\"\ndescription = \"d\"\nmessage = \"m\"\nsql = \"SELECT usr FROM dns\"\n[dedup]\nkey = [\"usr\"]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("c.toml"), "[rules]\ndirs = [\"rules\"]\n").unwrap();
    let out = floodlight(dir.path(), &["validate", "--config", "c.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:8:") && err.contains("usr"), "{err}");

    std::fs::write(dir.path().join("typo.toml"), "[runtime]\nworkrs = 2\n").unwrap();
    let out = floodlight(dir.path(), &["validate", "--config", "typo.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("typo.toml:2") && err.contains("workrs"), "{err}");

    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/demo/floodlight.toml");
    let out = floodlight(dir.path(), &["validate", "--config", demo]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("20 rule(s) compiled"));
}

#[test]
fn parse_prints_normalized_json_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/demo/logs/panos--fw01.log");
    let out = floodlight(dir.path(), &["parse", "--format", "panos", file]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r["class"] == "network" && r["format"] == "panos"));
    assert_eq!(rows[1]["host"], "www.ilovepdf.com");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("6 parsed, 1 dead-lettered"), "{stderr}");
    assert!(stderr.contains("panos--fw01.log:8:"), "{stderr}");
    // The output is floodlight-json: it parses back to the same rows.
    let json_file = dir.path().join("rows.jsonl");
    std::fs::write(&json_file, stdout.as_bytes()).unwrap();
    let again = floodlight(dir.path(), &["parse", "--format", "floodlight-json", json_file.to_str().unwrap()]);
    let rows_again: Vec<Value> =
        String::from_utf8_lossy(&again.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for (a, b) in rows.iter().zip(&rows_again) {
        assert_eq!(a["host"], b["host"]);
        assert_eq!(a["time"], b["time"]);
    }
    let unknown = floodlight(dir.path(), &["parse", "--format", "nope", file]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown format `nope`"));
}

#[test]
fn rules_list_shows_the_catalogue_ids() {
    let out = floodlight(Path::new("."), &["rules", "list"]);
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    for id in ["SS-04", "SS-05", "SS-06", "PF-01", "PF-02", "WF-01", "WF-02"] {
        assert!(s.contains(id), "{id} missing from:\n{s}");
    }
}

#[test]
fn gzip_files_are_read_like_plain_ones() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/demo/logs/m365-audit--unified-audit.log")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&text).unwrap();
    std::fs::write(dir.path().join("audit.log.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        "[[sources]]\ntype = \"file\"\npaths = [\"*.gz\"]\nformat = \"m365-audit\"\n[enrichments]\ncorporate_domains = [\"corp.example.com\"]\n[sinks.findings]\npath = \"f.jsonl\"\n",
    )
    .unwrap();
    let out = floodlight(dir.path(), &["run", "--config", "c.toml", "--no-table"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rules: BTreeSet<String> =
        json_lines(&dir.path().join("f.jsonl")).iter().map(|f| f["rule_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(rules, BTreeSet::from(["PF-01".to_string(), "PF-02".to_string(), "PF-03".to_string()]));
}

#[cfg(unix)]
#[test]
fn sigterm_drains_a_followed_file_and_exits_cleanly() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("dns.log");
    std::fs::write(&log, "").unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        "[runtime]\nflush_interval = \"100ms\"\n[[sources]]\ntype = \"file\"\npaths = [\"dns.log\"]\nformat = \"zeek-dns\"\nfollow = true\npoll_interval = \"50ms\"\n[sinks.findings]\npath = \"f.jsonl\"\n[sinks.lake]\npath = \"lake\"\nroll_after = \"1h\"\n",
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_floodlight"))
        .args(["run", "--config", "c.toml", "--no-table"])
        .current_dir(dir.path())
        .env("FLOODLIGHT_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/demo/logs/zeek-dns--resolver.log"))
        .unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(demo.as_bytes()).unwrap();
    // Findings wait until the stream's time has passed their minute plus the
    // allowed lateness: a later query (ten minutes on) moves it on.
    let last = demo.lines().last().unwrap();
    let later = last.replacen("\"ts\": 1795518180.0", "\"ts\": 1795518780.0", 1);
    assert_ne!(later, last, "the demo log's last query moved");
    f.write_all(format!("{later}\n").as_bytes()).unwrap();
    drop(f);
    // Wait until the findings are out, then ask it to stop.
    let findings = dir.path().join("f.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !findings.exists() || std::fs::read_to_string(&findings).unwrap().lines().count() < 2 {
        assert!(std::time::Instant::now() < deadline, "no findings while following");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let lake = dir.path().join("lake");
    assert!(
        files_under(&lake).iter().all(|p| p.to_string_lossy().ends_with(".inprogress")),
        "lake files stay open until shutdown"
    );
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Draining closed the open Parquet files and every batch was acknowledged.
    let files = files_under(&lake);
    assert!(!files.is_empty() && files.iter().all(|p| p.extension().is_some_and(|e| e == "parquet")), "{files:?}");
    assert_eq!(
        parquet_rows(&files.iter().filter(|p| p.to_string_lossy().contains("/events/")).cloned().collect::<Vec<_>>()),
        7
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("0 failed"), "{stderr}");
}

#[test]
fn stdin_source_reads_piped_records() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        "[[sources]]\ntype = \"stdin\"\nformat = \"okta\"\n[enrichments]\ncorporate_cidrs = [\"89.160.20.112/28\"]\n[enrichments.geoip]\ndemo = true\n[sinks.findings]\npath = \"f.jsonl\"\n[sinks.dead_letter]\npath = \"d.jsonl\"\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_floodlight"))
        .args(["run", "--config", "c.toml", "--no-table"])
        .current_dir(dir.path())
        .env("FLOODLIGHT_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let demo = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/demo/logs/okta--system-log.log")).unwrap();
    child.stdin.take().unwrap().write_all(&demo).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rules: BTreeSet<String> =
        json_lines(&dir.path().join("f.jsonl")).iter().map(|f| f["rule_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(rules, BTreeSet::from(["SS-06", "SS-07", "WF-01", "WF-02"].map(String::from)));
    let dead = json_lines(&dir.path().join("d.jsonl"));
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["origin"], "stdin:8");
}

#[test]
fn every_rule_fixture_passes() {
    // The rule pack in the repository, as a detection engineer runs it:
    // every case of every rule, positive and negative.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = floodlight(root, &["rules", "test", "queries"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(summary.starts_with("20 rule(s), ") && summary.ends_with(" passed, 0 failed"), "{summary}");
    let cases: usize = summary
        .split(", ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no case count in `{summary}`"));
    assert!(cases >= 40, "at least one positive and one negative case per rule: {summary}");
    assert_eq!(stdout.matches("│ pass ").count() + stdout.matches("┆ pass ").count(), cases, "{stdout}");
}

/// The example configs users start from validate as shipped, in an
/// environment without the variables their commented-out lines mention
/// (`${...}` in a TOML comment is not interpolated).
#[test]
fn the_example_configs_validate_as_shipped() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for config in ["deploy/demo/floodlight.toml", "deploy/kafka/floodlight-kafka.toml", "deploy/image/floodlight.toml"]
    {
        let out = Command::new(env!("CARGO_BIN_EXE_floodlight"))
            .args(["validate", "--config", config])
            .current_dir(root)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{config}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("OK"), "{config}: {stdout}");
    }
    let text = std::fs::read_to_string(root.join("deploy/kafka/floodlight-kafka.toml")).unwrap();
    assert!(
        text.lines().any(|l| l.trim_start().starts_with('#') && l.contains("${")),
        "the Kafka example keeps a commented-out `${{...}}` (what this test is about)"
    );
}
