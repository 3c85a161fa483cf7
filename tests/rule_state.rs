//! Rule state across restarts: with `[rules] state_dir`, first-seen keys,
//! windows and dedup survive the process, so a second run continues where
//! the first stopped — a window started before the restart can cross its
//! threshold after it, a first use is not reported twice, and a replay does
//! not raise a finding again.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Run floodlight over `inputs` (file name, content), with or without a
/// state directory. Each file keeps its name across runs: an event's id is
/// the hash of its origin (file and line), so the same file read again is a
/// replay, and a new file is new events.
fn run(dir: &Path, inputs: &[(&str, String)], findings: &str, state: bool) -> Vec<Value> {
    for (name, text) in inputs {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let paths: Vec<String> = inputs.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    let paths = paths.join(", ");
    let state_line = if state { "state_dir = \"state\"\n" } else { "" };
    std::fs::write(
        dir.join("c.toml"),
        format!(
            "[[sources]]\ntype = \"file\"\npaths = [{paths}]\nformat = \"fortigate\"\n\
             [enrichments]\ncorporate_cidrs = [\"10.0.0.0/8\"]\n\
             [rules]\n{state_line}[rules.params.SS-01]\nlearning = \"0s\"\n\
             [sinks.findings]\npath = \"{findings}\"\n"
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_floodlight"))
        .args(["run", "--config", "c.toml", "--no-table"])
        .current_dir(dir)
        .env("FLOODLIGHT_LOG", "warn")
        .output()
        .expect("floodlight runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(dir.join(findings))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// One FortiGate traffic log line: `user` sent `sent` bytes to `host` at `hh:mm`.
fn line(hh_mm: &str, session: u32, host: &str, sent: u64) -> String {
    format!(
        "date=2026-11-24 time={hh_mm}:00 devname=\"FGT-HQ\" devid=\"FG100FTK20000001\" tz=\"+0000\" logid=\"0000000013\" \
         type=\"traffic\" subtype=\"forward\" level=\"notice\" vd=\"root\" srcip=10.20.1.31 srcport=51544 \
         srcintf=\"port2\" dstip=162.125.1.18 dstport=443 dstintf=\"wan1\" sessionid={session} proto=6 \
         action=\"close\" policyid=12 user=\"ana.pereira\" service=\"HTTPS\" app=\"HTTPS.BROWSER\" duration=42 \
         sentbyte={sent} rcvdbyte=88341 hostname=\"{host}\" utmaction=\"allow\"\n"
    )
}

fn keys(findings: &[Value]) -> BTreeSet<(String, String)> {
    findings
        .iter()
        .map(|f| (f["rule_id"].as_str().unwrap().to_string(), f["app_id"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn first_run() -> String {
    line("10:00", 1, "www.dropbox.com", 40_000_000)
        + &line("10:01", 2, "www.dropbox.com", 40_000_000)
        + &line("10:02", 3, "chatgpt.com", 20_000)
}

fn second_run() -> String {
    line("10:10", 4, "www.dropbox.com", 40_000_000)
        + &line("10:11", 5, "www.dropbox.com", 40_000_000)
        + &line("10:12", 6, "chatgpt.com", 20_000)
}

#[test]
fn first_seen_windowed_and_dedup_state_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let one = run(dir.path(), &[("a.log", first_run())], "f1.jsonl", true);
    // First uses of two unsanctioned apps; 80 MB to Dropbox stays under SS-02's 100 MB floor.
    assert_eq!(
        keys(&one),
        BTreeSet::from([("SS-01".into(), "chatgpt".into()), ("SS-01".into(), "dropbox".into())]),
        "{one:?}"
    );
    assert!(dir.path().join("state").read_dir().unwrap().next().is_some(), "a checkpoint was written");

    // After the restart: no second "first use", and the hour's window continues
    // (160 MB over four uploads, two of them from before the restart).
    let two = run(dir.path(), &[("b.log", second_run())], "f2.jsonl", true);
    assert_eq!(keys(&two), BTreeSet::from([("SS-02".into(), "dropbox".into())]), "{two:?}");
    // Raised when the third upload crossed 100 MB (10:10), updated by the fourth (10:11).
    let revisions: Vec<(i64, i64)> =
        two.iter().map(|f| (f["revision"].as_i64().unwrap(), f["event_count"].as_i64().unwrap())).collect();
    assert_eq!(revisions, [(1, 3), (2, 4)], "{two:?}");

    // Running again over the same files reads nothing (their read positions
    // are checkpointed), and neither does a copy under another name (a
    // file is recognised by its first bytes): nothing is raised twice.
    let three = run(dir.path(), &[("b.log", second_run())], "f3.jsonl", true);
    assert!(three.is_empty(), "{three:?}");
    let four = run(dir.path(), &[("a-copy.log", first_run())], "f4.jsonl", true);
    assert!(four.is_empty(), "{four:?}");
}

/// The control: without a state directory the same two runs forget the
/// first one — first uses are reported again and the window starts empty.
#[test]
fn without_a_state_dir_each_run_starts_empty() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &[("a.log", first_run())], "f1.jsonl", false);
    let two = run(dir.path(), &[("b.log", second_run())], "f2.jsonl", false);
    assert_eq!(
        keys(&two),
        BTreeSet::from([("SS-01".into(), "chatgpt".into()), ("SS-01".into(), "dropbox".into())]),
        "{two:?}"
    );
}

/// Attribution's address table is rule state too: the firewall named Ana on
/// 10.20.1.31 before the restart; a DNS-only AnyDesk lookup from that
/// address after it names her (without a state directory: the address).
#[test]
fn the_address_table_survives_a_restart() {
    for state in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let state_line = if state { "state_dir = \"state\"\n" } else { "" };
        let config = |file: &str, format: &str| {
            format!(
                "[[sources]]\ntype = \"file\"\npaths = [\"{file}\"]\nformat = \"{format}\"\n\
                 [rules]\n{state_line}[sinks.findings]\npath = \"findings-{format}.jsonl\"\n"
            )
        };
        std::fs::write(dir.path().join("fw.log"), first_run()).unwrap();
        let dns = "{\"ts\": 1795515600.0, \"uid\": \"D1\", \"id.orig_h\": \"10.20.1.31\", \"id.orig_p\": 53211, \
                   \"id.resp_h\": \"10.0.0.2\", \"id.resp_p\": 53, \"proto\": \"udp\", \"query\": \
                   \"relay-1.net.anydesk.com\", \"qtype_name\": \"A\", \"rcode_name\": \"NOERROR\"}\n";
        std::fs::write(dir.path().join("dns.log"), dns).unwrap();
        for (file, format) in [("fw.log", "fortigate"), ("dns.log", "zeek-dns")] {
            std::fs::write(dir.path().join("c.toml"), config(file, format)).unwrap();
            let out = Command::new(env!("CARGO_BIN_EXE_floodlight"))
                .args(["run", "--config", "c.toml", "--no-table"])
                .current_dir(dir.path())
                .env("FLOODLIGHT_LOG", "warn")
                .output()
                .expect("floodlight runs");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        let text = std::fs::read_to_string(dir.path().join("findings-zeek-dns.jsonl")).unwrap();
        let findings: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(findings.len(), 1, "{findings:?}");
        let want = if state { "ana.pereira" } else { "10.20.1.31" };
        assert_eq!(findings[0]["user"], want, "state: {state}: {findings:?}");
        assert_eq!(findings[0]["rule_id"], "SS-05");
    }
}
