//! Hostile input through the `floodlight` binary: one line of 100 MB, JSON
//! nested 10,000 deep, a line of a million `key=value` pairs and a gzip bomb.
//! Each run has good records before and after the hostile one and checks
//! that they become events, that the hostile input goes to the dead-letter
//! output with its origin (or, for the bomb, that the file is refused with an
//! error naming the limit), and that the run's peak RSS and time stay bounded.
//! The limits are listed in docs/operations.md, "Hostile input".
#![cfg(target_os = "linux")]

use crate::support::cli;
use crate::support::traffic;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli::{floodlight, json_lines};
use serde_json::Value;
use traffic::{signin, DAY};

/// Peak RSS a run may reach. A run of a few good lines peaks at about
/// 130 MiB (the binary, the rule pack, the enrichment data); the hostile
/// runs peak at 150–380 MiB, whatever the size of the hostile input, because
/// what is in flight is bounded by the channels between the stages (a few
/// batches of at most 8 MiB of records each, and their dead letters). A
/// record held whole, or a file decompressed into memory, goes over.
const MAX_RSS_MIB: u64 = 512;

/// Longest a run may take. Each takes seconds; reading the 10 GiB of the gzip
/// bomb to its end would take minutes (1 GiB took 18 s before the limit).
const DEADLINE: Duration = Duration::from_secs(90);

/// The longest record a line source sends: longer lines are cut into pieces
/// of this size (`BatchLimits::max_record_bytes`).
const MAX_RECORD_BYTES: usize = 1 << 20;
/// The reason every piece of a line over `MAX_RECORD_BYTES` is dead-lettered with.
const PIECE: &str = "a piece of a line longer than max_record_bytes (1048576 bytes)";

/// The end of a `floodlight run`.
struct Finished {
    /// The exit code.
    code: Option<i32>,
    peak_rss_mib: u64,
    elapsed: Duration,
    stderr: String,
}

impl Finished {
    /// Assert the bounds every hostile run keeps.
    fn assert_bounded(&self, case: &str) {
        assert!(
            self.peak_rss_mib < MAX_RSS_MIB,
            "{case}: peak RSS {} MiB, more than {MAX_RSS_MIB} MiB\n{}",
            self.peak_rss_mib,
            self.stderr
        );
        println!("{case}: peak RSS {} MiB, {:.1} s", self.peak_rss_mib, self.elapsed.as_secs_f64());
    }
}

/// A temporary directory, by its canonical path (record origins use it).
fn tempdir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = tmp.path().canonicalize().expect("a canonical path");
    (tmp, dir)
}

/// A config reading each `(file, format)` once, events to a Parquet lake and
/// dead letters to `dead.jsonl`.
fn config(sources: &[(&str, &str)]) -> String {
    let mut config = String::new();
    for (path, format) in sources {
        config += &format!("[[sources]]\ntype = \"file\"\npaths = [\"{path}\"]\nformat = \"{format}\"\n");
    }
    config
        + "[enrichments]\ncorporate_cidrs = [\"10.0.0.0/8\"]\n[sinks.lake]\npath = \"lake\"\n\
              [sinks.dead_letter]\npath = \"dead.jsonl\"\n"
}

/// `floodlight run` with `config` in `dir`, killed at [`DEADLINE`],
/// measuring its peak RSS: the child's `VmHWM`, polled every few
/// milliseconds until it exits. (Not `wait4`'s `ru_maxrss`: Linux carries
/// the parent's peak across `exec` into it, so it would count the test's own
/// memory.)
fn run(dir: &Path, config: &str) -> Finished {
    std::fs::write(dir.join("c.toml"), config).expect("config written");
    floodlight_bounded(dir, &["run", "--config", "c.toml", "--no-table"])
}

/// `floodlight` with `args` in `dir`, bounded and measured as [`run`] says.
fn floodlight_bounded(dir: &Path, args: &[&str]) -> Finished {
    let stderr_path = dir.join("floodlight.stderr");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_floodlight"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("FLOODLIGHT_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("floodlight runs");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let status = loop {
        // Gone (a zombie has no `VmHWM`) once it exited.
        let hwm = std::fs::read_to_string(&status_file).ok().and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("VmHWM:")?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
        });
        peak_kib = peak_kib.max(hwm.unwrap_or(0));
        if let Some(status) = child.try_wait().expect("waiting for floodlight") {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            panic!("floodlight {args:?} still running after {DEADLINE:?}\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(peak_kib > 0, "no VmHWM read from {status_file}");
    Finished {
        code: status.code(),
        peak_rss_mib: peak_kib / 1024,
        elapsed: started.elapsed(),
        stderr: std::fs::read_to_string(&stderr_path).expect("stderr written"),
    }
}

/// `file:<dir>/<name>:<line>`, a record's origin.
fn origin(dir: &Path, name: &str, line: u64) -> String {
    format!("file:{}:{line}", dir.join(name).display())
}

/// The origin of every event in the run's lake.
fn event_origins(dir: &Path) -> BTreeSet<String> {
    let sql = "SELECT origin FROM network UNION ALL SELECT origin FROM auth UNION ALL SELECT origin FROM oauth";
    let out = floodlight(dir, &["query", "--config", "c.toml", "--format", "json", sql]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let row: Value = serde_json::from_str(l).expect("a JSON row");
            row["origin"].as_str().expect("an origin").to_string()
        })
        .collect()
}

/// The run's dead letters.
fn dead_letters(dir: &Path) -> Vec<Value> {
    json_lines(&dir.join("dead.jsonl"))
}

fn text<'a>(letter: &'a Value, key: &str) -> &'a str {
    letter[key].as_str().unwrap_or_else(|| panic!("no `{key}` in {}", short(letter)))
}

/// A dead letter without its raw record, for messages.
fn short(letter: &Value) -> String {
    let mut letter = letter.clone();
    if let Some(l) = letter.as_object_mut() {
        l.remove("raw");
    }
    letter.to_string()
}

/// Write `parts` one after the other to `path`.
fn write(path: &Path, parts: &[&[u8]]) {
    let mut f = BufWriter::new(File::create(path).expect("file created"));
    for p in parts {
        f.write_all(p).expect("written");
    }
    f.flush().expect("flushed");
}

/// An Okta sign-in of user `n`, `n` minutes into 10:00 on the test day.
fn good_signin(n: u64) -> String {
    signin(&format!("good{n}"), DAY + 10 * 3600 + n * 60, &format!("user{n}@corp.example.com"), "81.2.69.142")
}

/// `letters` must be the pieces of `line`, on lines from `first` of `name`:
/// each at most `max_record_bytes`, every byte kept.
fn assert_pieces(dir: &Path, mut letters: Vec<&Value>, name: &str, first: u64, line: &str) {
    letters.sort_by_key(|d| d["offset"].as_u64());
    let pieces = line.len().div_ceil(MAX_RECORD_BYTES) as u64;
    let origins: Vec<&str> = letters.iter().map(|d| text(d, "origin")).collect();
    let expected: Vec<String> = (first..first + pieces).map(|n| origin(dir, name, n)).collect();
    assert_eq!(origins, expected, "one dead letter per piece, by line number");
    assert!(letters.iter().all(|d| text(d, "raw").len() <= MAX_RECORD_BYTES));
    let kept: String = letters.iter().map(|d| text(d, "raw")).collect();
    assert!(kept == line, "the pieces are the line: {} bytes kept of {}", kept.len(), line.len());
}

#[test]
fn a_line_of_100_mb_is_dead_lettered_in_pieces_and_reading_goes_on() {
    let (_tmp, dir) = tempdir();
    let mut hostile = format!(
        "{{\"eventType\":\"user.session.start\",\"published\":\"2026-11-24T10:00:30.000Z\",\"blob\":\"{}\"}}",
        "x".repeat(100 << 20)
    )
    .into_bytes();
    // Every piece but the first starts with `#` and every piece but the last
    // ends with `\r`: a piece is data, neither a header line nor half a CRLF.
    for at in (MAX_RECORD_BYTES..hostile.len()).step_by(MAX_RECORD_BYTES) {
        hostile[at - 1] = b'\r';
        hostile[at] = b'#';
    }
    let hostile = String::from_utf8(hostile).expect("ASCII");
    let (before, after) = (good_signin(0), good_signin(1));
    write(&dir.join("long.log"), &[before.as_bytes(), hostile.as_bytes(), b"\n", after.as_bytes()]);
    let finished = run(&dir, &config(&[("long.log", "okta")]));
    assert_eq!(finished.code, Some(0), "{}", finished.stderr);

    // 101 pieces of at most 1 MiB on lines 2 to 102: the next line is line 103.
    let pieces = hostile.len().div_ceil(MAX_RECORD_BYTES) as u64;
    assert_eq!(pieces, 101);
    let events = event_origins(&dir);
    assert_eq!(events, BTreeSet::from([origin(&dir, "long.log", 1), origin(&dir, "long.log", 2 + pieces)]));
    let dead = dead_letters(&dir);
    assert_pieces(&dir, dead.iter().collect(), "long.log", 2, &hostile);
    for d in &dead {
        assert_eq!(text(d, "format"), "okta");
        assert!(text(d, "reason").starts_with(PIECE), "{}", short(d));
    }
    finished.assert_bounded("100 MB line");
}

#[test]
fn json_nested_10_000_deep_is_dead_lettered_naming_the_depth_limit() {
    let (_tmp, dir) = tempdir();
    let deep_object = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    // Deep inside a record with every format's markers: `auto` recognises it.
    let deep_marked = format!(
        "{{\"eventType\":\"user.session.start\",\"published\":\"2026-11-24T10:00:30.000Z\",\"class\":\"network\",\
         \"action\":\"org.oauth_app_access_approved\",\"actor\":\"octo\",\"@timestamp\":1795939200123,\"x\":{deep_array}}}"
    );
    let hostile = [&deep_object, &deep_array, &deep_marked];
    let github = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/vendor/github/github-audit.documented.jsonl"
    ))
    .expect("the documented GitHub audit events");
    let github = format!("{}\n", github.lines().next().expect("an event"));
    let flow = |n: u64| {
        format!("{{\"class\":\"network\",\"time\":\"2026-11-24T10:0{n}:00Z\",\"src_ip\":\"10.1.2.3\",\"host\":\"example.org\"}}\n")
    };
    let files = [
        ("okta.log", "okta", good_signin(0), good_signin(1)),
        ("github.log", "github-audit", github.clone(), github),
        ("normalized.log", "floodlight-json", flow(0), flow(1)),
        ("auto.log", "auto", good_signin(0), good_signin(1)),
    ];
    for (name, _, before, after) in &files {
        let mut parts: Vec<&[u8]> = vec![before.as_bytes()];
        for h in hostile {
            parts.extend([h.as_bytes(), &b"\n"[..]]);
        }
        parts.push(after.as_bytes());
        write(&dir.join(name), &parts);
    }
    let sources: Vec<(&str, &str)> = files.iter().map(|(name, format, _, _)| (*name, *format)).collect();
    let finished = run(&dir, &config(&sources));
    assert_eq!(finished.code, Some(0), "{}", finished.stderr);

    let expected: BTreeSet<String> =
        files.iter().flat_map(|(name, ..)| [origin(&dir, name, 1), origin(&dir, name, 5)]).collect();
    assert_eq!(event_origins(&dir), expected, "the lines around the deep ones are events");
    let dead = dead_letters(&dir);
    let depth = "invalid JSON: nested more than 127 levels deep (the limit) at line 1 column ";
    for (name, format, ..) in &files {
        for (i, h) in hostile.iter().enumerate() {
            let at = origin(&dir, name, 2 + i as u64);
            let d = dead.iter().find(|d| text(d, "origin") == at).unwrap_or_else(|| panic!("no dead letter for {at}"));
            assert_eq!(text(d, "raw"), **h, "{at}: kept whole");
            let reason = text(d, "reason");
            match (*format, i) {
                // `auto` finds no format's markers in these: it never parses them.
                ("auto", 0 | 1) => assert!(reason.starts_with("auto: not recognised"), "{at}: {reason}"),
                ("auto", _) => assert!(reason.starts_with(&format!("auto (okta): {depth}")), "{at}: {reason}"),
                _ => assert!(reason.starts_with(depth), "{at}: {reason}"),
            }
        }
    }
    assert_eq!(dead.len(), files.len() * hostile.len(), "nothing else is dead-lettered");
    finished.assert_bounded("JSON nested 10,000 deep");
}

#[test]
fn a_line_of_a_million_key_value_pairs_is_dead_lettered_in_pieces_and_reading_goes_on() {
    let (_tmp, dir) = tempdir();
    let hostile: String = (0..1_000_000).map(|i| format!("k{i}=v{i} ")).collect();
    let hostile = hostile.trim_end();
    let fortigate = |n: u64| {
        traffic::fortigate("FGT-HQ", DAY + 10 * 3600 + n * 60, n, "ana.pereira", "10.20.1.31", "www.dropbox.com", n)
    };
    let (before, after) = (fortigate(1), fortigate(2));
    for name in ["fortigate.log", "auto.log"] {
        write(&dir.join(name), &[before.as_bytes(), hostile.as_bytes(), b"\n", after.as_bytes()]);
    }
    let finished = run(&dir, &config(&[("fortigate.log", "fortigate"), ("auto.log", "auto")]));
    assert_eq!(finished.code, Some(0), "{}", finished.stderr);

    let pieces = hostile.len().div_ceil(MAX_RECORD_BYTES) as u64;
    assert_eq!(pieces, 16, "a line of {} bytes", hostile.len());
    let expected: BTreeSet<String> = ["fortigate.log", "auto.log"]
        .into_iter()
        .flat_map(|name| [origin(&dir, name, 1), origin(&dir, name, 2 + pieces)])
        .collect();
    assert_eq!(event_origins(&dir), expected, "the lines around the hostile one are events");
    let dead = dead_letters(&dir);
    for name in ["fortigate.log", "auto.log"] {
        let prefix = format!("file:{}:", dir.join(name).display());
        let letters: Vec<&Value> = dead.iter().filter(|d| text(d, "origin").starts_with(&prefix)).collect();
        for d in &letters {
            assert!(text(d, "reason").starts_with(PIECE), "{}", short(d));
        }
        assert_pieces(&dir, letters, name, 2, hostile);
    }
    finished.assert_bounded("a million key=value pairs");
}

/// Write the gzip bomb to `path`: two good lines, then 10 GiB of zeros
/// without a line end in 10 MB, then a good line, each in gzip members of
/// their own.
fn write_bomb(path: &Path) {
    let gzip = |bytes: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(bytes).expect("compressed");
        gz.finish().expect("compressed")
    };
    // 64 MiB of zeros, streamed through the encoder a MiB at a time: one gzip
    // member of 64 KiB. The bomb is 160 of them.
    let zeros = {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        for _ in 0..64 {
            gz.write_all(&[0; 1 << 20]).expect("compressed");
        }
        gz.finish().expect("compressed")
    };
    let before = gzip((good_signin(0) + &good_signin(1)).as_bytes());
    let after = gzip(format!("\n{}", good_signin(2)).as_bytes());
    let mut parts: Vec<&[u8]> = vec![&before];
    parts.extend(std::iter::repeat_n(&zeros[..], 160));
    parts.push(&after);
    write(path, &parts);
    let size = std::fs::metadata(path).expect("the bomb").len();
    assert!(size < 12 << 20, "{size} bytes inflate to 10 GiB");
}

#[test]
fn a_gzip_bomb_is_refused_at_its_inflation_limit_and_the_other_files_are_read() {
    let (_tmp, dir) = tempdir();
    write_bomb(&dir.join("bomb.log.gz"));
    std::fs::write(dir.join("next.log"), good_signin(3) + &good_signin(4)).expect("written");
    let finished = run(&dir, &config(&[("*.log*", "okta")]));

    // The bomb is a file the source could not read: the run says so and exits 2.
    assert_eq!(finished.code, Some(2), "{}", finished.stderr);
    let bomb = dir.join("bomb.log.gz");
    let refused = format!("{}: gzip content inflates to more than 200 times its compressed size", bomb.display());
    assert!(finished.stderr.contains(&refused), "{}", finished.stderr);
    assert!(finished.stderr.contains("A decompression bomb?"), "{}", finished.stderr);
    // The lines before the bomb and the other file are read; the line after
    // the bomb is not (reading on would mean inflating the 10 GiB).
    let expected = BTreeSet::from([
        origin(&dir, "bomb.log.gz", 1),
        origin(&dir, "bomb.log.gz", 2),
        origin(&dir, "next.log", 1),
        origin(&dir, "next.log", 2),
    ]);
    assert_eq!(event_origins(&dir), expected);
    // What was inflated before the limit are pieces of the endless line, dead-lettered.
    let mut dead = dead_letters(&dir);
    dead.sort_by_key(|d| d["offset"].as_u64());
    assert!((16..=40).contains(&dead.len()), "{} MiB inflated of 10,240", dead.len());
    for (i, d) in dead.iter().enumerate() {
        assert_eq!(text(d, "origin"), origin(&dir, "bomb.log.gz", 3 + i as u64));
        let raw = text(d, "raw");
        assert!(raw.len() == MAX_RECORD_BYTES && raw.bytes().all(|b| b == 0), "{}", short(d));
    }
    finished.assert_bounded("gzip bomb");
}

/// A piece of a cut line is never decoded: the first piece of a FortiGate
/// line with a million extra fields looks like a `traffic` log (decoded, it
/// was an event with some 76,000 `vendor_fields`), but every piece is
/// dead-lettered whole with a reason naming `max_record_bytes`.
#[test]
fn a_cut_line_is_never_decoded_and_its_dead_letters_name_the_limit() {
    let (_tmp, dir) = tempdir();
    let fortigate = |n: u64| {
        traffic::fortigate("FGT-HQ", DAY + 10 * 3600 + n * 60, n, "ana.pereira", "10.20.1.31", "www.dropbox.com", n)
    };
    let extra: String = (0..1_000_000).map(|i| format!(" k{i}=v{i}")).collect();
    let hostile = format!("{}{extra}", fortigate(2).trim_end());
    let (before, after) = (fortigate(1), fortigate(3));
    write(&dir.join("fortigate.log"), &[before.as_bytes(), hostile.as_bytes(), b"\n", after.as_bytes()]);
    let finished = run(&dir, &config(&[("fortigate.log", "fortigate")]));
    assert_eq!(finished.code, Some(0), "{}", finished.stderr);
    let pieces = hostile.len().div_ceil(MAX_RECORD_BYTES) as u64;
    let expected = BTreeSet::from([origin(&dir, "fortigate.log", 1), origin(&dir, "fortigate.log", 2 + pieces)]);
    assert_eq!(event_origins(&dir), expected, "no piece of the cut line is an event");
    let dead = dead_letters(&dir);
    for d in &dead {
        assert!(text(d, "reason").contains("max_record_bytes"), "{}", short(d));
    }
    assert_pieces(&dir, dead.iter().collect(), "fortigate.log", 2, &hostile);
}

/// `floodlight parse` reads like the sources do: a line over the record
/// limit is reported and skipped, not held whole, and a gzip bomb is refused
/// at the same inflation limit.
#[test]
fn parse_bounds_long_lines_and_gzip_bombs_too() {
    let (_tmp, dir) = tempdir();
    let mut long = good_signin(0);
    long.push_str(&"x".repeat(100 << 20));
    long.push('\n');
    long.push_str(&good_signin(1));
    std::fs::write(dir.join("long.log"), &long).expect("written");
    let finished = floodlight_bounded(&dir, &["parse", "--format", "okta", "long.log"]);
    assert_eq!(finished.code, Some(0), "{}", finished.stderr);
    assert!(finished.stderr.contains("long.log:2: a line longer than 1048576 bytes"), "{}", finished.stderr);
    assert!(finished.stderr.contains("2 parsed, 1 dead-lettered"), "{}", finished.stderr);
    finished.assert_bounded("parse: 100 MB line");

    write_bomb(&dir.join("bomb.log.gz"));
    let finished = floodlight_bounded(&dir, &["parse", "--format", "okta", "bomb.log.gz"]);
    assert_ne!(finished.code, Some(0), "{}", finished.stderr);
    assert!(finished.stderr.contains("gzip content inflates to more than 200 times"), "{}", finished.stderr);
    finished.assert_bounded("parse: gzip bomb");
}
