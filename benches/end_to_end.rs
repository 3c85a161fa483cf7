//! End-to-end throughput harness: vendor-format files → parsing → full
//! enrichment → the whole rule pack → sinks, through the real runtime.
//!
//! ```sh
//! cargo bench --workspace --bench end_to_end                          # realistic mix, 1M and 4M records
//! cargo bench --workspace --bench end_to_end -- 2000000 8000000       # records per run
//! cargo bench --workspace --bench end_to_end -- --lake 1000000        # also write every event to the Parquet lake
//! cargo bench --workspace --bench end_to_end -- --uniform 800000      # the four-family mix of the first figures
//! ```
//!
//! The realistic mix (`tests/support/corpus.rs`, `REALISTIC`) is ten files
//! in ten vendor formats with the volume shares of a typical enterprise:
//! PAN-OS TRAFFIC and URL logs, FortiGate, Zeek conn (TSV), Zeek DNS
//! (JSON), BIND, Umbrella, Okta, Entra ID sign-ins, M365 audit; 2,000 users,
//! ~3% of web traffic to shadow-IT apps. Each size runs once, with one
//! worker per core; the harness prints events/s, events/s per core and the
//! peak RSS (VmHWM) of the process, which should stay flat as the input
//! grows: memory is bounded by the channels, not by the input. Run each size
//! in its own process for a clean RSS figure.

/// The allocator the `floodlight` binary uses (src/main.rs), so the figures are its.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use floodlight_pipeline::config::Config;
use floodlight_pipeline::internal_events::{counters, metric};
use floodlight_pipeline::runtime;
use tokio_util::sync::CancellationToken;

#[path = "../tests/support/corpus.rs"]
mod corpus;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let uniform = args.iter().any(|a| a == "--uniform");
    let lake = args.iter().any(|a| a == "--lake");
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![1_000_000, 4_000_000] } else { sizes };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "end-to-end: {cores} core(s), one worker per core, whole rule pack, all enrichments, {} mix{}",
        if uniform { "uniform four-family" } else { "realistic ten-format" },
        if lake { ", events to the Parquet lake" } else { "" }
    );
    println!(
        "{:>10} {:>10} {:>10} {:>9} {:>12} {:>10} {:>14}",
        "records", "events", "findings", "seconds", "events/s", "per core", "peak RSS MiB"
    );
    for n in sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        let files: Vec<(String, &str)> = if uniform {
            corpus::write_corpus(dir.path(), n).expect("corpus");
            vec![
                ("fw.log".into(), "panos"),
                ("dns.log".into(), "zeek-dns"),
                ("okta.log".into(), "okta"),
                ("m365.log".into(), "m365-audit"),
            ]
        } else {
            corpus::write_realistic(dir.path(), n).expect("corpus")
        };
        let mut cfg_text = String::new();
        for (file, format) in &files {
            let _ = write!(cfg_text, "[[sources]]\ntype = \"file\"\npaths = [\"{file}\"]\nformat = \"{format}\"\n");
        }
        cfg_text.push_str(
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
            cfg_text.push_str("[sinks.lake]\npath = \"out/lake\"\nevents = true\n");
        }
        let cfg = Config::parse(&cfg_text, Path::new("bench.toml")).expect("config");
        counters().reset();
        let started = Instant::now();
        let summary = rt.block_on(async {
            let p = cfg.build(dir.path()).await.expect("pipeline");
            runtime::run(p, CancellationToken::new()).await
        });
        let secs = started.elapsed().as_secs_f64();
        let events = summary.total(metric::EVENTS_EMITTED);
        assert_eq!(summary.total(metric::DEAD_LETTERED), 0, "the corpus must decode cleanly");
        let rate = events as f64 / secs;
        println!(
            "{n:>10} {events:>10} {:>10} {secs:>9.3} {rate:>12.0} {:>10.0} {:>14.1}",
            summary.findings_total,
            rate / cores as f64,
            peak_rss_mib()
        );
    }
}
