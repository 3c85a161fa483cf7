//! End-to-end throughput harness: vendor-format files → parsing → full
//! enrichment → the whole rule pack → sinks, through the real runtime.
//!
//! ```sh
//! cargo bench --workspace --bench end_to_end                          # mixed corpus, 1M and 10M records
//! cargo bench --workspace --bench end_to_end -- --fortigate           # one FortiGate file, 1M and 10M lines
//! cargo bench --workspace --bench end_to_end -- --fortigate --workers 1 1000000
//! cargo bench --workspace --bench end_to_end -- 2000000 4000000       # records per run
//! cargo bench --workspace --bench end_to_end -- --lake 1000000        # also write every event to the Parquet lake
//! cargo bench --workspace --bench end_to_end -- --uniform 800000      # the four-family mix of the first figures
//! cargo bench --workspace --bench end_to_end -- --keep /var/tmp/fl-bench --fortigate 10000000
//! ```
//!
//! Two inputs:
//!
//! * **the mixed corpus** (`tests/support/corpus.rs`, `REALISTIC`): ten
//!   files in ten vendor formats with the volume shares of a typical
//!   enterprise: PAN-OS TRAFFIC and URL logs, FortiGate, Zeek conn (TSV),
//!   Zeek DNS (JSON), BIND, Umbrella, Okta, Entra ID sign-ins, M365 audit;
//!   2,000 users, ~3% of web traffic to shadow-IT apps;
//! * **the FortiGate file** (`--fortigate`, `fortigate_full`): full FortiOS
//!   7 `traffic/forward` lines of about 670 bytes, 2,000 users, ten
//!   destination hosts of which three are shadow SaaS: the shape of the
//!   standing target (500k events/s per core).
//!
//! Both run through the whole job: parsing, the catalog, the MaxMind test
//! databases, the network-type and email classes, all the rules, findings
//! and dead letters to JSON-lines files (the lake only with `--lake`).
//!
//! Each size runs in **its own child process** (the harness runs itself with
//! `--child`), so its peak RSS (VmHWM) is that size's alone. The figures:
//!
//! * `events/s`: events over wall-clock seconds;
//! * `per CPU-s`: events over the child's user + system CPU seconds, from
//!   pipeline build to exit; the per-core rate, whatever `--workers` is;
//! * `peak RSS`: the child's VmHWM, mmdb pages included;
//! * for the FortiGate file, `kv scan`: a bare single-threaded key=value scan
//!   of the same file in this harness (memchr, quotes honoured, no
//!   allocation), in lines per CPU-second, and `ratio`: the job's per-CPU
//!   rate over it, the share of what the hardware allows that floodlight
//!   reaches.
//!
//! Corpus files are written to a temporary directory (`TMPDIR`) and removed
//! after the run: 10M FortiGate lines take 6.7 GB. With `--keep DIR` they go
//! to `DIR/<input>-<records>/` and stay, and a later run with the same
//! `--keep` reuses them (for profiling: `perf record -g -- <bench binary>
//! --child DIR/fortigate-1000000` runs the job alone on a kept corpus).

/// The allocator the `floodlight` binary uses (src/main.rs), so the figures are its.
/// With `--features bench-system-alloc`, the system's malloc instead, for heap
/// profilers that see only malloc (`heaptrack <bench binary> --child DIR`;
/// benches/RESULTS.md, "Memory").
#[cfg(not(feature = "bench-system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use floodlight_pipeline::config::Config;
use floodlight_pipeline::internal_events::{counters, metric};
use floodlight_pipeline::runtime;
use tokio_util::sync::CancellationToken;

#[path = "../tests/support/corpus.rs"]
mod corpus;

/// Which input a run reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Input {
    Realistic,
    Fortigate,
    Uniform,
}

impl Input {
    fn name(self) -> &'static str {
        match self {
            Input::Realistic => "realistic",
            Input::Fortigate => "fortigate",
            Input::Uniform => "uniform",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Input::Realistic => "mixed ten-format corpus",
            Input::Fortigate => "FortiGate traffic file (~670-byte lines)",
            Input::Uniform => "uniform four-family corpus",
        }
    }

    /// The (file, format) pairs this input is read from.
    fn files(self) -> Vec<(String, &'static str)> {
        match self {
            Input::Realistic => {
                corpus::REALISTIC.iter().map(|(name, format, ..)| (name.to_string(), *format)).collect()
            }
            Input::Fortigate => vec![("fortigate.log".into(), "fortigate")],
            Input::Uniform => vec![
                ("fw.log".into(), "panos"),
                ("dns.log".into(), "zeek-dns"),
                ("okta.log".into(), "okta"),
                ("m365.log".into(), "m365-audit"),
            ],
        }
    }

    /// Write `records` records into `dir`, as [`Input::files`].
    fn write(self, dir: &Path, records: usize) -> std::io::Result<()> {
        match self {
            Input::Realistic => corpus::write_realistic(dir, records).map(drop),
            Input::Fortigate => corpus::write_fortigate(dir, records).map(drop),
            Input::Uniform => corpus::write_corpus(dir, records),
        }
    }
}

/// The command line: flags anywhere, sizes as bare numbers (cargo adds
/// `--bench`, which is ignored).
struct Args {
    input: Input,
    lake: bool,
    workers: usize,
    sizes: Vec<usize>,
    child: Option<PathBuf>,
    keep: Option<PathBuf>,
}

fn parse_args() -> Args {
    let mut args =
        Args { input: Input::Realistic, lake: false, workers: 0, sizes: Vec::new(), child: None, keep: None };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--fortigate" => args.input = Input::Fortigate,
            "--uniform" => args.input = Input::Uniform,
            "--realistic" => args.input = Input::Realistic,
            "--lake" => args.lake = true,
            "--workers" => args.workers = it.next().and_then(|w| w.parse().ok()).unwrap_or(0),
            "--child" => args.child = it.next().map(PathBuf::from),
            "--keep" => args.keep = it.next().map(PathBuf::from),
            other => args.sizes.extend(other.parse::<usize>().ok()),
        }
    }
    if args.sizes.is_empty() {
        args.sizes = vec![1_000_000, 10_000_000];
    }
    args
}

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The floor: count the key=value pairs of every line of `path`, one
/// thread, no allocation beyond the read buffer. A value in double quotes
/// runs to its closing quote. Returns (lines, pairs, CPU seconds).
fn bare_kv_scan(path: &Path) -> (usize, usize, f64) {
    let started = cpu_time();
    let mut file = std::fs::File::open(path).expect("corpus file");
    let mut buf = vec![0u8; 1 << 20];
    let (mut lines, mut pairs, mut carry) = (0usize, 0usize, 0usize);
    loop {
        let n = file.read(&mut buf[carry..]).expect("read corpus");
        let filled = carry + n;
        let mut start = 0;
        while let Some(end) = memchr::memchr(b'\n', &buf[start..filled]) {
            pairs += count_pairs(&buf[start..start + end]);
            lines += 1;
            start += end + 1;
        }
        if n == 0 {
            break;
        }
        buf.copy_within(start..filled, 0);
        carry = filled - start;
    }
    (lines, pairs, (cpu_time() - started).as_secs_f64())
}

/// The pairs of one `k=v k="v w"` line.
fn count_pairs(line: &[u8]) -> usize {
    let mut pairs = 0;
    let mut rest = line;
    while let Some(eq) = memchr::memchr(b'=', rest) {
        pairs += 1;
        let value = &rest[eq + 1..];
        let end = if value.first() == Some(&b'"') {
            memchr::memchr(b'"', &value[1..]).map_or(value.len(), |q| q + 2)
        } else {
            memchr::memchr(b' ', value).unwrap_or(value.len())
        };
        rest = &value[end..];
    }
    pairs
}

fn config_text(files: &[(String, &str)], workers: usize, lake: bool) -> String {
    let mut text = format!("[runtime]\nworkers = {workers}\n");
    for (file, format) in files {
        let _ = write!(text, "[[sources]]\ntype = \"file\"\npaths = [\"{file}\"]\nformat = \"{format}\"\n");
    }
    text.push_str(
        r#"
[enrichments]
corporate_cidrs = ["89.160.20.112/28", "10.0.0.0/8"]
corporate_domains = ["corp.example.com"]
[enrichments.geoip]
demo = true
[sinks.findings]
path = "out/findings.jsonl"
[sinks.dead_letter]
path = "out/dead.jsonl"
"#,
    );
    if lake {
        text.push_str("[sinks.lake]\npath = \"out/lake\"\nevents = true\n");
    }
    text
}

/// One run, in this (child) process: `dir/bench.toml` → one result line.
fn child(dir: &Path) {
    let text = std::fs::read_to_string(dir.join("bench.toml")).expect("bench.toml");
    let cfg = Config::parse(&text, Path::new("bench.toml")).expect("config");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    counters().reset();
    let (wall, cpu) = (Instant::now(), cpu_time());
    let summary = rt.block_on(async {
        let p = cfg.build(dir).await.expect("pipeline");
        runtime::run(p, CancellationToken::new()).await
    });
    let (secs, cpu_secs) = (wall.elapsed().as_secs_f64(), (cpu_time() - cpu).as_secs_f64());
    let dead = summary.total(metric::DEAD_LETTERED);
    assert_eq!(dead, 0, "the corpus must decode cleanly");
    println!(
        "RESULT {} {} {secs} {cpu_secs} {}",
        summary.total(metric::EVENTS_EMITTED),
        summary.findings_total,
        peak_rss_mib()
    );
}

fn main() {
    let args = parse_args();
    if let Some(dir) = &args.child {
        // As `floodlight` does at start (see `runtime::memory`).
        floodlight_pipeline::runtime::memory::disable_transparent_huge_pages();
        return child(dir);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "end-to-end: {}, {cores} core(s), workers: {}, whole rule pack, all enrichments{}",
        args.input.describe(),
        if args.workers == 0 { "one per core".to_string() } else { args.workers.to_string() },
        if args.lake { ", events to the Parquet lake" } else { "" }
    );
    let kv = args.input == Input::Fortigate;
    println!(
        "{:>10} {:>10} {:>9} {:>9} {:>9} {:>10} {:>10} {:>9}{}",
        "records",
        "events",
        "findings",
        "seconds",
        "CPU-s",
        "events/s",
        "per CPU-s",
        "RSS MiB",
        if kv { format!(" {:>12} {:>7}", "kv scan/CPU-s", "ratio") } else { String::new() }
    );
    for n in &args.sizes {
        let temp;
        let dir = match &args.keep {
            Some(keep) => keep.join(format!("{}-{n}", args.input.name())),
            None => {
                temp = tempfile::tempdir().expect("tempdir");
                temp.path().to_path_buf()
            }
        };
        let config = dir.join("bench.toml");
        // A kept corpus is complete once its bench.toml exists (written
        // after the files); it is reused with this run's settings.
        if args.keep.is_none() || !config.exists() {
            std::fs::create_dir_all(&dir).expect("corpus directory");
            args.input.write(&dir, *n).expect("corpus");
        }
        let files = args.input.files();
        let _ = std::fs::remove_dir_all(dir.join("out"));
        std::fs::write(&config, config_text(&files, args.workers, args.lake)).expect("config");
        let scan = kv.then(|| bare_kv_scan(&dir.join("fortigate.log")));
        let out = Command::new(std::env::current_exe().expect("own path"))
            .arg("--child")
            .arg(&dir)
            .output()
            .expect("run the child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let Some(result) = stdout.lines().find_map(|l| l.strip_prefix("RESULT ")) else {
            panic!("the run of {n} failed: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
        };
        let f: Vec<f64> = result.split_whitespace().filter_map(|v| v.parse().ok()).collect();
        let [events, findings, secs, cpu_secs, rss] = f[..] else { panic!("bad result line: {result}") };
        let per_cpu = events / cpu_secs;
        let mut row = format!(
            "{n:>10} {events:>10} {findings:>9} {secs:>9.2} {cpu_secs:>9.2} {:>10.0} {per_cpu:>10.0} {rss:>9.1}",
            events / secs
        );
        if let Some((lines, pairs, scan_secs)) = scan {
            assert!(pairs >= lines * 30, "the scan must see every pair ({pairs} in {lines} lines)");
            let scan_rate = lines as f64 / scan_secs;
            let _ = write!(row, " {scan_rate:>12.0} {:>7.3}", per_cpu / scan_rate);
        }
        println!("{row}");
    }
}
