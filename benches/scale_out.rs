//! Scale-out throughput on Kafka: the same generated day read by one
//! process (`role = "all"`) and by one, two and three replicas
//! (`role = "replica"`, rule state in six parts with its changelog), each
//! a `floodlight run` process of the binary this build made.
//!
//! ```sh
//! deploy/kafka/install-tansu.sh                     # once
//! cargo bench --workspace --bench scale_out                 # 50,000 lines per firewall
//! cargo bench --workspace --bench scale_out -- 200000       # another size
//! ```
//!
//! A run ends when the input group has committed the end of every input
//! partition and, with replicas, the parts' group the end of every
//! repartition partition (so every part's state is in the changelog). The
//! harness prints, per run, the wall time from the processes' start
//! (group joins included), events per wall second, the CPU seconds of the
//! floodlight processes and of the broker, and events per floodlight
//! CPU-second. On one small machine the replicas share its cores with each
//! other and with the broker, which also carries the repartition and
//! changelog traffic: expect the broker, not floodlight, to bound the
//! figures, and more replicas to add CPU rather than speed here. The point
//! of the replicas is more machines.

#[path = "../tests/support/tansu.rs"]
mod tansu;
#[path = "../tests/support/traffic.rs"]
mod traffic;

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use tansu::Broker;

const FW_TOPIC: &str = "bench.fw";
const OKTA_TOPIC: &str = "bench.okta";
const FW_PARTITIONS: i32 = 6;
const PARTS: i32 = 6;

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // Fields after the command name (which may hold spaces), from field 3 on.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|x| x.parse::<f64>().ok()).sum());
    // SAFETY: sysconf only reads a constant of the running system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks / hz.max(1.0)
}

/// The group's committed offsets on every partition of `topic`.
fn committed(consumer: &BaseConsumer, topic: &str, partitions: i32) -> Vec<i64> {
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    consumer.committed_offsets(tpl, Duration::from_secs(10)).map_or(vec![-1; partitions as usize], |l| {
        l.elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(o) => o,
                _ => -1,
            })
            .collect()
    })
}

/// Produce every line to its partition; the end offset of each.
fn produce(addr: &str, topic: &str, partitions: &[Vec<String>]) -> Vec<i64> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", addr)
            .set("linger.ms", "20")
            .set("enable.idempotence", "true")
            .create()
            .expect("producer");
        let mut ends = Vec::new();
        for (p, lines) in partitions.iter().enumerate() {
            let mut last = -1;
            for chunk in lines.chunks(20_000) {
                let mut pending = Vec::new();
                for line in chunk {
                    let r = FutureRecord::<(), str>::to(topic).partition(p as i32).payload(line.as_str());
                    pending.push(producer.send_result(r).map_err(|(e, _)| e).expect("enqueue"));
                }
                for f in pending {
                    last = f.await.expect("delivery").expect("delivered").offset;
                }
            }
            ends.push(last + 1);
        }
        producer.flush(Duration::from_secs(30)).expect("flush");
        ends
    })
}

/// One run's figures.
struct Run {
    label: String,
    wall: f64,
    cpu: f64,
    broker_cpu: f64,
    findings: usize,
}

/// Start `replicas` processes (`None`: one process, role "all") and wait
/// until they are done with the input.
fn run(broker: &Broker, replicas: Option<usize>, ends: &[(&str, Vec<i64>)], events: u64) -> Run {
    let label = replicas.map_or("all".to_string(), |n| format!("replica-{n}"));
    let group = format!("bench-{label}");
    let prefix = format!("b{}", label.replace('-', ""));
    let addr = broker.addr();
    let cluster = replicas.map_or(String::new(), |_| {
        format!("[cluster]\nrole = \"replica\"\npartitions = {PARTS}\ntopic_prefix = \"{prefix}\"\nreplication_factor = 1\n")
    });
    // One process keeps what its watermark has not passed in a state
    // directory at stop, as the replicas keep it in the changelog, so that
    // all runs count the same findings.
    let state_dir = if replicas.is_none() { "state_dir = \"state\"\n" } else { "" };
    let config = format!(
        "[[sources]]\ntype = \"kafka\"\nbrokers = \"{addr}\"\ngroup_id = \"{group}\"\n\
         topics = [{{ topic = \"{FW_TOPIC}\", format = \"fortigate\" }}, {{ topic = \"{OKTA_TOPIC}\", format = \"okta\" }}]\n\
         [enrichments]\ncorporate_cidrs = [\"89.160.20.112/28\", \"10.0.0.0/8\"]\ncorporate_domains = [\"corp.example.com\"]\n\
         [enrichments.geoip]\ndemo = true\n\
         [rules]\ncheckpoint_interval = \"1s\"\n{state_dir}[rules.attribution]\nenabled = false\n\
         [sinks.findings]\npath = \"findings.jsonl\"\n[sinks.dead_letter]\npath = \"dead.jsonl\"\n{cluster}"
    );
    let dirs: Vec<tempfile::TempDir> =
        (0..replicas.unwrap_or(1)).map(|_| tempfile::tempdir().expect("tempdir")).collect();
    let broker_before = cpu_seconds(broker.pid());
    let started = Instant::now();
    let mut children: Vec<Child> = dirs
        .iter()
        .map(|d| {
            std::fs::write(d.path().join("floodlight.toml"), &config).expect("config");
            let log = std::fs::File::create(d.path().join("floodlight.log")).expect("log");
            Command::new(env!("CARGO_BIN_EXE_floodlight"))
                .args(["run", "--config", "floodlight.toml", "--no-table"])
                .current_dir(d.path())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start floodlight")
        })
        .collect();
    let watch: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", &addr).set("group.id", "bench-watch").create().expect("consumer");
    let parts_group: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &addr)
        .set("group.id", format!("{group}.rules"))
        .create()
        .expect("consumer");
    let input_group: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", &addr).set("group.id", &group).create().expect("consumer");
    let repartition = format!("{prefix}.rules-repartition");
    loop {
        let input_done = ends.iter().all(|(t, end)| committed(&input_group, t, end.len() as i32) == *end);
        let parts_done = replicas.is_none()
            || (input_done && {
                let highs: Vec<i64> = (0..PARTS)
                    .map(|p| watch.fetch_watermarks(&repartition, p, Duration::from_secs(5)).map_or(-1, |(_, h)| h))
                    .collect();
                committed(&parts_group, &repartition, PARTS) == highs
            });
        if input_done && parts_done {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            let log = std::fs::read_to_string(dirs[0].path().join("floodlight.log")).unwrap_or_default();
            panic!("{label}: not done after 30 minutes\n{}", &log[log.len().saturating_sub(3000)..]);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu: f64 = children.iter().map(|c| cpu_seconds(c.id())).sum();
    let broker_cpu = cpu_seconds(broker.pid()) - broker_before;
    for c in &children {
        // SAFETY: signalling a child this harness started and has not reaped.
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
    }
    for c in &mut children {
        let _ = c.wait();
    }
    let mut ids = BTreeSet::new();
    for d in &dirs {
        let text = std::fs::read_to_string(d.path().join("findings.jsonl")).unwrap_or_default();
        for line in text.lines() {
            if let Ok(f) = serde_json::from_str::<serde_json::Value>(line) {
                ids.insert(f["finding_id"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    println!(
        "{label:>10}: {events} events in {wall:6.1}s wall = {:7.0} events/s; floodlight {cpu:6.1} CPU-s \
         ({:7.0} events per CPU-s), broker {broker_cpu:6.1} CPU-s; {} findings",
        events as f64 / wall,
        events as f64 / cpu.max(0.001),
        ids.len()
    );
    Run { label, wall, cpu, broker_cpu, findings: ids.len() }
}

fn main() {
    let per_device: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(50_000);
    let broker = Broker::start();
    let addr = broker.addr();
    broker.create_topic(FW_TOPIC, FW_PARTITIONS);
    broker.create_topic(OKTA_TOPIC, 2);
    let input = traffic::generate(per_device);
    let mut fw: Vec<Vec<String>> = vec![Vec::new(); FW_PARTITIONS as usize];
    let mut okta: Vec<Vec<String>> = vec![Vec::new(); 2];
    let per_fw = FW_PARTITIONS as usize / 2;
    for (name, _, text) in &input.files {
        for (i, line) in text.lines().enumerate() {
            if name.starts_with("fw-") {
                fw[i % per_fw + usize::from(name.contains("branch")) * per_fw].push(line.to_string());
            } else {
                okta[usize::from(name.contains("consent"))].push(line.to_string());
            }
        }
    }
    let events = (fw.iter().chain(&okta).map(Vec::len).sum::<usize>()) as u64;
    let started = Instant::now();
    let ends = vec![(FW_TOPIC, produce(&addr, FW_TOPIC, &fw)), (OKTA_TOPIC, produce(&addr, OKTA_TOPIC, &okta))];
    println!(
        "produced {events} events ({FW_PARTITIONS} firewall partitions, 2 Okta) in {:.1?}; {} cores",
        started.elapsed(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let runs: Vec<Run> =
        [None, Some(1), Some(2), Some(3)].into_iter().map(|n| run(&broker, n, &ends, events)).collect();
    let base = runs.iter().find(|r| r.label == "replica-1").map_or(1.0, |r| r.wall);
    println!("\n| run | wall s | events/s | vs 1 replica | floodlight CPU-s | broker CPU-s | findings |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for r in &runs {
        println!(
            "| {} | {:.1} | {:.0} | {:.2}x | {:.1} | {:.1} | {} |",
            r.label,
            r.wall,
            events as f64 / r.wall,
            base / r.wall,
            r.cpu,
            r.broker_cpu,
            r.findings
        );
    }
}
