//! End-to-end tests of the file source through the `floodlight` binary:
//! files are known by a fingerprint of their first bytes, so a rotated file
//! is not read again, and with `[rules] state_dir` a restart continues where
//! the last run stopped reading.

use crate::support::cli;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cli::{files_under, floodlight, json_lines};

/// One FortiGate traffic log line, told apart from the others by `n`
/// (its session id and bytes sent).
fn fortigate(n: u32) -> String {
    format!(
        "date=2026-11-24 time=10:{:02}:00 devname=\"FGT-HQ\" devid=\"FG100FTK20000001\" tz=\"+0000\" \
         logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" vd=\"root\" srcip=10.20.1.31 \
         srcport=51544 srcintf=\"port2\" dstip=162.125.1.18 dstport=443 dstintf=\"wan1\" sessionid={n} proto=6 \
         action=\"close\" policyid=12 user=\"ana.pereira\" service=\"HTTPS\" app=\"HTTPS.BROWSER\" duration=42 \
         sentbyte={} rcvdbyte=88341 hostname=\"www.dropbox.com\" utmaction=\"allow\"\n",
        n % 60,
        1000 + n
    )
}

fn fortigates(numbers: std::ops::RangeInclusive<u32>) -> String {
    numbers.map(fortigate).collect()
}

/// A line no decoder accepts: it is dead-lettered, which shows it was read.
fn marker(name: &str) -> String {
    format!("marker {name}\n")
}

/// Each event row of the lake at `lake`, as the values of `columns`
/// separated by spaces (strings quoted), sorted.
fn lake_rows(lake: &Path, columns: &[&str]) -> Vec<String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let mut rows = Vec::new();
    for f in files_under(&lake.join("events")) {
        assert!(f.extension().is_some_and(|e| e == "parquet"), "{f:?} was not closed");
        let reader = SerializedFileReader::new(std::fs::File::open(&f).unwrap()).expect("valid parquet");
        for row in reader.get_row_iter(None).unwrap() {
            let row = row.unwrap();
            let values: Vec<String> = columns
                .iter()
                .map(|c| {
                    let value = row.get_column_iter().find(|(name, _)| name.as_str() == *c).map(|(_, v)| v.to_string());
                    value.unwrap_or_else(|| panic!("no column {c} in {f:?}"))
                })
                .collect();
            rows.push(values.join(" "));
        }
    }
    rows.sort();
    rows
}

/// `n` of `source file-0: n records in ...` in a run's summary.
fn records_read(out: &Output) -> u64 {
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("source file-0: ")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no source summary in:\n{stderr}"))
}

/// The origin of each dead-lettered line, by its text.
fn dead_letters(path: &Path) -> BTreeMap<String, String> {
    if !path.exists() {
        return BTreeMap::new();
    }
    json_lines(path)
        .iter()
        .map(|d| (d["raw"].as_str().unwrap().to_string(), d["origin"].as_str().unwrap().to_string()))
        .collect()
}

fn append(path: &Path, text: &str) {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new().append(true).create(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(unix)]
#[test]
fn a_rotated_file_with_a_reused_name_is_read_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    let log = dir.join("fw.log");
    std::fs::write(&log, fortigates(1..=3) + &marker("one")).unwrap();
    std::fs::write(
        dir.join("c.toml"),
        "[runtime]\nflush_interval = \"100ms\"\n\
         [[sources]]\ntype = \"file\"\npaths = [\"fw.log*\"]\nformat = \"fortigate\"\nfollow = true\npoll_interval = \"50ms\"\n\
         [enrichments]\ncorporate_cidrs = [\"10.0.0.0/8\"]\n\
         [sinks.lake]\npath = \"lake\"\nroll_after = \"1h\"\n[sinks.dead_letter]\npath = \"dead.jsonl\"\n",
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_floodlight"))
        .args(["run", "--config", "c.toml", "--no-table"])
        .current_dir(&dir)
        .env("FLOODLIGHT_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let dead = dir.join("dead.jsonl");
    wait_until("the first marker is dead-lettered", || dead_letters(&dead).len() == 1);

    // Rotation: the tail written just before it is still to be read, in the
    // renamed file; a new file takes the name, and the pattern matches both.
    append(&log, &(fortigates(4..=5) + &marker("two")));
    std::fs::rename(&log, dir.join("fw.log.1")).unwrap();
    std::fs::write(&log, fortigates(6..=8) + &marker("three")).unwrap();
    wait_until("every marker is dead-lettered", || dead_letters(&dead).len() == 3);
    // Give a replay of either file time to show up.
    std::thread::sleep(Duration::from_millis(500));

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let first = format!("file:{}", log.display());
    let letters = dead_letters(&dead);
    assert_eq!(letters["marker one"], format!("{first}:4"));
    assert_eq!(letters["marker two"], format!("{first}:7"), "the renamed file's tail continues its stream");
    // The new file is a new stream from its line 1, named apart from the old
    // one (origins and event ids derive from the name): `#` and the start of
    // its fingerprint.
    let (name, line) = letters["marker three"].rsplit_once(':').unwrap();
    assert_eq!(line, "4", "the new file is a new stream from its line 1");
    let suffix = name.strip_prefix(&format!("{first}#")).unwrap_or_else(|| panic!("{name}"));
    assert!(suffix.len() == 8 && suffix.chars().all(|c| c.is_ascii_hexdigit()), "{name}");
    let sent: Vec<String> = (1..=8).map(|n| (1000 + n).to_string()).collect();
    assert_eq!(lake_rows(&dir.join("lake"), &["bytes_out"]), sent, "every event once");
    assert_eq!(records_read(&out), 11);
}

/// Run floodlight once over `fw.log*` (one-shot) with a state directory,
/// writing events to `lake`.
fn run_with_state(dir: &Path, format: &str, lake: &str) -> Output {
    std::fs::write(
        dir.join("c.toml"),
        format!(
            "[[sources]]\ntype = \"file\"\npaths = [\"fw.log*\"]\nformat = \"{format}\"\n\
             [enrichments]\ncorporate_cidrs = [\"10.0.0.0/8\"]\n\
             [rules]\nstate_dir = \"state\"\n\
             [sinks.lake]\npath = \"{lake}\"\n[sinks.dead_letter]\npath = \"dead.jsonl\"\n"
        ),
    )
    .unwrap();
    let out = floodlight(dir, &["run", "--config", "c.toml", "--no-table"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn a_restart_reads_only_what_was_appended() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    let log = dir.join("fw.log");
    std::fs::write(&log, fortigates(1..=3)).unwrap();
    let one = run_with_state(&dir, "fortigate", "lake1");
    assert_eq!(records_read(&one), 3);

    append(&log, &(fortigates(4..=5) + &marker("after the restart")));
    let two = run_with_state(&dir, "fortigate", "lake2");
    assert_eq!(records_read(&two), 3, "only the appended lines");
    assert_eq!(lake_rows(&dir.join("lake2"), &["bytes_out"]), ["1004", "1005"]);
    let letters = dead_letters(&dir.join("dead.jsonl"));
    let name = format!("file:{}", log.display());
    assert_eq!(letters["marker after the restart"], format!("{name}:6"), "line numbers continue");

    // Rotated between runs, with a line not read yet: the renamed file is
    // the same file, read on from where it was; the new file from its start.
    append(&log, &fortigate(9));
    std::fs::rename(&log, dir.join("fw.log.1")).unwrap();
    std::fs::write(&log, fortigates(6..=8)).unwrap();
    let three = run_with_state(&dir, "fortigate", "lake3");
    assert_eq!(records_read(&three), 4);
    let rows = lake_rows(&dir.join("lake3"), &["bytes_out", "origin"]);
    // The new file at the old path is named apart (`#` and the start of its
    // fingerprint), so its lines do not share origins with the old file's.
    let new_name = rows[0].split('"').nth(1).and_then(|o| o.rsplit_once(':')).map(|(n, _)| n.to_string()).unwrap();
    assert!(new_name.starts_with(&format!("{name}#")), "{rows:?}");
    assert_eq!(
        rows,
        [
            format!("1006 \"{new_name}:1\""),
            format!("1007 \"{new_name}:2\""),
            format!("1008 \"{new_name}:3\""),
            format!("1009 \"{name}:7\""),
        ]
    );

    let four = run_with_state(&dir, "fortigate", "lake4");
    assert_eq!(records_read(&four), 0, "nothing new");
}

const ZEEK_HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n\
     #open\t2026-11-24-10-00-00\n\
     #fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\n\
     #types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\n";

fn zeek_conn(numbers: std::ops::RangeInclusive<u32>) -> String {
    numbers
        .map(|n| {
            format!(
                "17955120{n:02}.000000\tC{n}\t10.0.0.31\t51544\t162.125.1.18\t443\ttcp\tssl\t1.5\t{}\t2000\tSF\n",
                1000 + n
            )
        })
        .collect()
}

#[test]
fn a_restart_in_the_middle_of_a_zeek_file_keeps_its_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    let log = dir.join("fw.log");
    std::fs::write(&log, format!("{ZEEK_HEADER}{}", zeek_conn(1..=3))).unwrap();
    let one = run_with_state(&dir, "zeek-conn", "lake1");
    assert_eq!(records_read(&one), 3);

    append(&log, &zeek_conn(4..=5));
    let two = run_with_state(&dir, "zeek-conn", "lake2");
    assert_eq!(records_read(&two), 2);
    assert_eq!(
        dead_letters(&dir.join("dead.jsonl")),
        BTreeMap::new(),
        "the records after the restart had their #fields"
    );
    let name = format!("file:{}", log.display());
    assert_eq!(
        lake_rows(&dir.join("lake2"), &["bytes_out", "origin"]),
        [format!("1004 \"{name}:12\""), format!("1005 \"{name}:13\"")]
    );
}
