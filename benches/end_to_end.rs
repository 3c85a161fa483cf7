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

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use floodlight_pipeline::config::Config;
use floodlight_pipeline::internal_events::{counters, metric};
use floodlight_pipeline::runtime;
use tokio_util::sync::CancellationToken;

const HOSTS: &[&str] = &[
    "www.ilovepdf.com/upload",
    "teams.microsoft.com/api",
    "www.dropbox.com/home",
    "chatgpt.com/backend-api/conversation",
    "www.example.org/index.html",
    "outlook.office365.com/mail",
    "pastebin.com/raw/x",
    "github.com/org/repo",
];
const QUERIES: &[&str] = &[
    "relay-1.net.anydesk.com",
    "teams.microsoft.com",
    "www.example.org",
    "api.openai.com",
    "login.microsoftonline.com",
    "cdn.example.net",
];
const IPS: &[&str] = &["214.214.214.216", "149.101.100.1", "89.160.20.115", "2.125.160.218", "81.2.69.142", "1.2.0.5"];

fn write_corpus(dir: &Path, records: usize) -> std::io::Result<()> {
    let per = records / 4;
    let mut panos = std::io::BufWriter::new(std::fs::File::create(dir.join("fw.log"))?);
    for i in 0..per {
        let host = HOSTS[i % HOSTS.len()];
        let user = format!("corp\\user{}", i % 500);
        if i % 2 == 0 {
            writeln!(panos, "<14>Nov 24 09:12:03 fw01 1,2026/11/24 09:12:03,013201001234,THREAT,url,2305,2026/11/24 09:{:02}:{:02},10.0.{}.{},104.26.4.17,89.160.20.113,104.26.4.17,allow-web,{user},,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,2026/11/24 09:12:03,{i},1,51544,443,40112,443,0x408000,tcp,alert,\"{host}\",(9999),online-storage-and-backup,informational,client-to-server,1123,0x0,10.0.0.0-10.255.255.255,United States,0,,0,,", (i / 60) % 60, i % 60, (i / 250) % 250, i % 250)?;
        } else {
            writeln!(panos, "<14>Nov 24 09:12:03 fw01 1,2026/11/24 09:12:03,013201001234,TRAFFIC,end,2305,2026/11/24 09:{:02}:{:02},10.0.{}.{},52.112.0.10,89.160.20.113,52.112.0.10,allow-web,{user},,ms-teams,vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,2026/11/24 09:12:03,{i},1,51000,443,52000,443,0x400053,tcp,allow,960213,48213,912000,42,2026/11/24 09:12:03,12,computer-and-internet-info,0,{i},0x0,10.0.0.0-10.255.255.255,United States,0,21,21,tcp-fin", (i / 60) % 60, i % 60, (i / 250) % 250, i % 250)?;
        }
    }
    let mut dns = std::io::BufWriter::new(std::fs::File::create(dir.join("dns.log"))?);
    for i in 0..per {
        writeln!(dns, "{{\"ts\":{}.5,\"uid\":\"C{i}\",\"id.orig_h\":\"10.0.{}.{}\",\"id.orig_p\":53211,\"id.resp_h\":\"10.0.0.2\",\"id.resp_p\":53,\"proto\":\"udp\",\"query\":\"{}\",\"qtype_name\":\"A\",\"rcode_name\":\"NOERROR\",\"answers\":[\"192.0.2.10\"]}}", 1795510800 + (i % 3600), (i / 250) % 250, i % 250, QUERIES[i % QUERIES.len()])?;
    }
    let mut okta = std::io::BufWriter::new(std::fs::File::create(dir.join("okta.log"))?);
    for i in 0..per {
        let ip = IPS[i % IPS.len()];
        let os = if i % 3 == 0 { "iOS" } else { "Windows 10" };
        writeln!(okta, "{{\"uuid\":\"u{i}\",\"published\":\"2026-11-24T08:{:02}:{:02}.000Z\",\"eventType\":\"user.session.start\",\"actor\":{{\"id\":\"00u{i}\",\"type\":\"User\",\"alternateId\":\"user{}@corp.example.com\",\"displayName\":\"User {}\"}},\"client\":{{\"userAgent\":{{\"rawUserAgent\":\"Mozilla/5.0\",\"os\":\"{os}\"}},\"device\":\"Computer\",\"ipAddress\":\"{ip}\"}},\"outcome\":{{\"result\":\"SUCCESS\"}},\"target\":[]}}", (i / 60) % 60, i % 60, i % 500, i % 500)?;
    }
    let mut m365 = std::io::BufWriter::new(std::fs::File::create(dir.join("m365.log"))?);
    for i in 0..per {
        let dest = if i % 2 == 0 {
            format!("user{}@gmail.com", i % 500)
        } else {
            format!("ops{}@partner.example.net", i % 50)
        };
        writeln!(m365, "{{\"CreationTime\":\"2026-11-24T10:{:02}:{:02}\",\"Id\":\"m{i}\",\"Operation\":\"New-InboxRule\",\"ResultStatus\":\"True\",\"Workload\":\"Exchange\",\"ClientIP\":\"89.160.20.116:5{}\",\"ObjectId\":\"user{}@corp.example.com\\\\r\",\"UserId\":\"user{}@corp.example.com\",\"Parameters\":[{{\"Name\":\"Name\",\"Value\":\"r{i}\"}},{{\"Name\":\"ForwardTo\",\"Value\":\"{dest}\"}},{{\"Name\":\"DeleteMessage\",\"Value\":\"True\"}}]}}", (i / 60) % 60, i % 60, i % 1000, i % 500, i % 500)?;
    }
    Ok(())
}

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
        write_corpus(dir.path(), n).expect("corpus");
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
