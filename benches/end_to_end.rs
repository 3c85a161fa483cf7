//! End-to-end throughput harness: vendor-format files → parsing → full
//! enrichment → the whole rule pack → sinks, through the real runtime.
//!
//! ```sh
//! cargo bench --bench end_to_end                  # default sizes
//! cargo bench --bench end_to_end -- 200000 800000 # records per run
//! ```
//!
//! For each size it writes a mixed corpus (PAN-OS THREAT/url and TRAFFIC,
//! Zeek DNS JSON, Okta, M365 audit; built from the demo lines with varied
//! users, hosts and IPs) to a temp dir, runs the pipeline once with one
//! worker per core, and prints events/s, events/s per core and the peak RSS
//! (VmHWM) of the process. Peak RSS should stay flat as the input grows:
//! memory is bounded by the channels, not by the input.

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
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![200_000, 800_000] } else { sizes };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("end-to-end: {cores} core(s), one worker per core, whole rule pack, all enrichments");
    println!(
        "{:>10} {:>10} {:>12} {:>16} {:>10} {:>14}",
        "records", "events", "seconds", "events/s", "per core", "peak RSS MiB"
    );
    for n in sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        corpus::write_corpus(dir.path(), n).expect("corpus");
        let cfg_text = r#"
[[sources]]
type = "file"
paths = ["fw.log"]
format = "panos"
[[sources]]
type = "file"
paths = ["dns.log"]
format = "zeek-dns"
[[sources]]
type = "file"
paths = ["okta.log"]
format = "okta"
[[sources]]
type = "file"
paths = ["m365.log"]
format = "m365-audit"
[enrichments]
corporate_cidrs = ["89.160.20.112/28", "10.0.0.0/8"]
corporate_domains = ["corp.example.com"]
[enrichments.geoip]
demo = true
[sinks.findings]
path = "out/findings.jsonl"
[sinks.dead_letter]
path = "out/dead.jsonl"
"#;
        let cfg = Config::parse(cfg_text, Path::new("bench.toml")).expect("config");
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
            "{n:>10} {events:>10} {secs:>12.3} {rate:>16.0} {:>10.0} {:>14.1}",
            rate / cores as f64,
            peak_rss_mib()
        );
    }
}
