//! Faults injected end to end, through the `floodlight` binary, with a
//! state directory (`[rules] state_dir`):
//!
//! - **SIGKILL in a loop**: one backlog of generated traffic, the process
//!   killed ten times at points drawn from a seeded generator, restarted each
//!   time from its last checkpoint, then run to the end, all appending to one
//!   findings file (a line a kill tore is cut when the next run opens it).
//!   The findings of all the runs together are exactly a clean run's: every
//!   finding id, its last revision and its content (totals, first and last
//!   seen, message); a
//!   revision written twice (raised again after a kill, from a replayed
//!   batch) is written the same both times.
//! - **A damaged state directory**: a checkpoint that is not gzip, one cut
//!   short, one that is not JSON, one from an older and one from a newer
//!   version of floodlight. Each is a clear error that names the file and says
//!   what to do, never a panic; moving the file away starts with empty state.
//!
//! The Kafka faults (a broker that hangs, SIGKILL of a consumer and of a
//! replica) are in `tests/kafka.rs`; hostile input in `tests/hostile_input.rs`.

use crate::support::cli;
use crate::support::traffic;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli::{floodlight, json_lines};
use serde_json::Value;
use traffic::{final_revisions, generate, Rng};

/// A config reading `files` once each, rule state in `state` (checkpointed
/// every `checkpoint`), findings to `findings`.
fn config(files: &[(String, String, String)], state: &str, checkpoint: &str, findings: &str) -> String {
    let mut c = String::from("[runtime]\nworkers = 2\nbatch_max_records = 1024\n\n");
    for (name, format, _) in files {
        let _ = write!(
            c,
            "[[sources]]\ntype = \"file\"\nname = \"{name}\"\npaths = [\"{name}\"]\nformat = \"{format}\"\n\n"
        );
    }
    let _ = write!(
        c,
        "[enrichments]\ncorporate_cidrs = [\"10.0.0.0/8\"]\ncorporate_domains = [\"corp.example.com\"]\n\
         [enrichments.reload]\nenabled = false\n[enrichments.geoip]\ndemo = true\n\
         [rules]\nstate_dir = \"{state}\"\ncheckpoint_interval = \"{checkpoint}\"\n\
         [rules.params.SS-01]\nlearning = \"0s\"\n[rules.params.SS-10]\nlearning = \"0s\"\n\
         [sinks.findings]\npath = \"{findings}\"\n[sinks.dead_letter]\npath = \"dead.jsonl\"\n"
    );
    c
}

/// The last revision of every finding in `runs` (findings files' lines, in
/// the order they were written), without `detected_at`. A revision written by
/// more than one run must be written the same each time, and each finding's
/// revisions must come 1, 2, 3... without a gap.
fn findings_of_runs(runs: &[Vec<Value>]) -> BTreeMap<String, Value> {
    let mut seen: BTreeMap<(String, i64), Value> = BTreeMap::new();
    for f in runs.iter().flatten() {
        let mut f = f.clone();
        f.as_object_mut().unwrap().remove("detected_at");
        let key = (f["finding_id"].as_str().unwrap().to_string(), f["revision"].as_i64().unwrap());
        if let Some(before) = seen.get(&key) {
            assert_eq!(before, &f, "finding {} revision {} written twice, differently", key.0, key.1);
        }
        seen.insert(key, f);
    }
    let mut last: BTreeMap<String, Value> = BTreeMap::new();
    for ((id, rev), f) in seen {
        let before = last.get(&id).map_or(0, |p| p["revision"].as_i64().unwrap());
        assert_eq!(rev, before + 1, "finding {id}: revision {rev} follows {before}");
        last.insert(id, f);
    }
    last
}

#[test]
fn ten_sigkills_at_random_points_of_one_backlog_give_the_clean_runs_findings() {
    let input = generate(60_000);
    // One directory for both: an event's id is the hash of its origin (the
    // file's path and the line), so the clean run and the killed ones must
    // read the same paths. Each has its own state directory.
    let dir = tempfile::tempdir().unwrap();
    for (name, _, text) in &input.files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }

    // The reference: one run, start to end.
    std::fs::write(dir.path().join("c.toml"), config(&input.files, "state-clean", "1s", "clean.jsonl")).unwrap();
    let started = Instant::now();
    let out = floodlight(dir.path(), &["run", "--no-table", "--config", "c.toml"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let clean_time = started.elapsed();
    let reference = final_revisions(&json_lines(&dir.path().join("clean.jsonl")));
    assert!(reference.len() > 100, "the backlog raises findings: {}", reference.len());

    // Ten kills, each at a point drawn within the first eighth of a clean
    // run (after 250 ms): they land in start-up, reading, folding or
    // checkpointing, and ten of them leave part of the backlog for the last
    // run (each run resumes from its predecessor's last checkpoint).
    // Every run appends to one findings file, as a restarted service does:
    // a line a kill tore is cut when the next run opens the file.
    std::fs::write(dir.path().join("c.toml"), config(&input.files, "state", "200ms", "killed.jsonl")).unwrap();
    let mut rng = Rng(0xdead_beef_0000_0010);
    let mut killed_mid_run = 0;
    let span = (clean_time.as_millis() as u64 / 8).max(100);
    for k in 0..10 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_floodlight"))
            .args(["run", "--no-table", "--config", "c.toml"])
            .current_dir(dir.path())
            .env("FLOODLIGHT_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("floodlight starts");
        let at = Duration::from_millis(250 + rng.next() % span);
        std::thread::sleep(at);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed_mid_run += 1;
        }
        let status = child.wait().unwrap();
        assert!(status.success() || status.code().is_none(), "run {k} failed on its own: {status:?}");
    }
    assert!(killed_mid_run >= 9, "only {killed_mid_run} of 10 kills landed before the run ended");
    assert!(dir.path().join("state/rule-state.json.gz").exists(), "the killed runs checkpointed progress");

    // Some findings were raised before a kill (the runs made progress that
    // the restarts kept), not all by the last run.
    let before_last = std::fs::metadata(dir.path().join("killed.jsonl")).map_or(0, |m| m.len());
    assert!(before_last > 0, "no run before the last raised anything: the kills came too early");

    // The last run goes to the end, from the last checkpoint.
    let out = floodlight(dir.path(), &["run", "--no-table", "--config", "c.toml"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let runs = vec![json_lines(&dir.path().join("killed.jsonl"))];

    let after_kills = findings_of_runs(&runs);
    let missing: Vec<&String> = reference.keys().filter(|k| !after_kills.contains_key(*k)).collect();
    let extra: Vec<&String> = after_kills.keys().filter(|k| !reference.contains_key(*k)).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, extra {extra:?}");
    for (id, f) in &reference {
        assert_eq!(&after_kills[id], f, "finding {id} differs after ten kills");
    }
    // No run dead-lettered anything: the generated lines are all good.
    let dead = std::fs::read_to_string(dir.path().join("dead.jsonl")).unwrap_or_default();
    assert!(dead.is_empty(), "dead letters: {}", &dead[..dead.len().min(600)]);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out).unwrap();
    out
}

#[test]
fn a_damaged_or_foreign_state_directory_is_a_clear_error_never_a_panic() {
    let input = generate(500);
    let dir = tempfile::tempdir().unwrap();
    let files = &input.files[..1];
    for (name, _, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    std::fs::write(dir.path().join("c.toml"), config(files, "state", "1s", "findings.jsonl")).unwrap();
    let out = floodlight(dir.path(), &["run", "--no-table", "--config", "c.toml"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let state = dir.path().join("state/rule-state.json.gz");
    let good = std::fs::read(&state).expect("a checkpoint was written");
    let json = gunzip(&good);
    let mut older: Value = serde_json::from_slice(&json).unwrap();
    older["version"] = 1.into();
    let mut newer = older.clone();
    newer["version"] = 99.into();

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not gzip", b"this is not a checkpoint\n".to_vec(), "cannot read the rule-state checkpoint"),
        ("cut short", good[..good.len() / 2].to_vec(), "cannot read the rule-state checkpoint"),
        ("empty", Vec::new(), "the rule-state checkpoint"),
        ("not JSON", gzip(b"\x00\x01 definitely not JSON"), "format version unknown"),
        ("JSON cut short", gzip(&json[..json.len() / 2]), "format version unknown"),
        ("an older version", gzip(&serde_json::to_vec(&older).unwrap()), "format version 1 and this floodlight"),
        ("a newer version", gzip(&serde_json::to_vec(&newer).unwrap()), "format version 99 and this floodlight"),
        ("a wrong shape", gzip(br#"{"version":2,"rules":"none"}"#), "is not readable"),
    ];
    for (what, bytes, says) in cases {
        std::fs::write(&state, &bytes).unwrap();
        let out = floodlight(dir.path(), &["run", "--no-table", "--config", "c.toml"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: the run went on over a damaged checkpoint\n{stderr}");
        assert_eq!(out.status.code(), Some(1), "{what}: an error exit, not a signal or a panic\n{stderr}");
        assert!(!stderr.contains("panicked"), "{what}: panicked\n{stderr}");
        assert!(stderr.contains(says), "{what}: the error should say `{says}`\n{stderr}");
        assert!(
            stderr.contains("state/rule-state.json.gz") && stderr.contains("move it away to start with empty state"),
            "{what}: the error should name the file and say what to do\n{stderr}"
        );
    }

    // Moved away, the run starts with empty state: it reads the file again
    // and raises what the first run raised.
    std::fs::rename(&state, dir.path().join("state/rule-state.json.gz.damaged")).unwrap();
    std::fs::write(dir.path().join("c.toml"), config(files, "state", "1s", "findings-again.jsonl")).unwrap();
    let out = floodlight(dir.path(), &["run", "--no-table", "--config", "c.toml"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(state.exists(), "a new checkpoint is written");
    let first = final_revisions(&json_lines(&dir.path().join("findings.jsonl")));
    let again = final_revisions(&json_lines(&dir.path().join("findings-again.jsonl")));
    assert!(!first.is_empty(), "the input raises findings");
    assert_eq!(first, again, "empty state: the same findings as the first run");
}
