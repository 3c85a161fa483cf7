//! Kafka consumption throughput: floodlight (Kafka source → parsing → full
//! enrichment → the whole rule pack → sinks) against a bare rdkafka consumer
//! reading the same topics raw, both from a local tansu broker.
//!
//! ```sh
//! deploy/kafka/install-tansu.sh                  # once
//! cargo bench --workspace --bench kafka                      # 100k records
//! cargo bench --workspace --bench kafka -- 400000            # another size
//! ```
//!
//! The broker bounds both numbers on a small machine, so the figure that
//! matters is the ratio: how close floodlight comes to the fastest possible
//! consumer of the same broker. `kcat` is tried too and reported when it
//! cannot talk to the broker (Debian's kcat cannot talk to tansu 0.6).

/// The allocator the `floodlight` binary uses (src/main.rs), so the figures are its.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/support/corpus.rs"]
mod corpus;
#[path = "../tests/support/tansu.rs"]
mod tansu;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use floodlight_pipeline::config::Config;
use floodlight_pipeline::internal_events::{counters, metric};
use floodlight_pipeline::runtime;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use tokio_util::sync::CancellationToken;

use tansu::Broker;

const PARTITIONS: i32 = 2;

fn main() {
    let records: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let broker = Broker::start();
    let addr = broker.addr();
    let topics: Vec<(String, &str, &str)> =
        corpus::FAMILIES.iter().map(|(family, format)| (format!("bench.{family}"), *family, *format)).collect();
    for (t, _, _) in &topics {
        broker.create_topic(t, PARTITIONS);
    }

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let per_topic = records / topics.len();
    let started = Instant::now();
    rt.block_on(async {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &addr)
            .set("linger.ms", "20")
            .set("enable.idempotence", "true")
            .create()
            .expect("producer");
        for (topic, family, _) in &topics {
            let mut pending = Vec::new();
            for i in 0..per_topic {
                let line = corpus::line(family, i);
                let r = FutureRecord::<(), str>::to(topic).partition(i as i32 % PARTITIONS).payload(&line);
                pending.push(producer.send_result(r).map_err(|(e, _)| e).expect("enqueue"));
                if pending.len() >= 20_000 {
                    for f in pending.drain(..) {
                        f.await.expect("delivery").expect("delivered");
                    }
                }
            }
            for f in pending.drain(..) {
                f.await.expect("delivery").expect("delivered");
            }
        }
        producer.flush(Duration::from_secs(30)).expect("flush");
    });
    let total = per_topic * topics.len();
    println!(
        "produced {total} records to {} topics x {PARTITIONS} partitions in {:.1?}",
        topics.len(),
        started.elapsed()
    );

    // 1. A bare consumer: poll and touch every payload, nothing else.
    let bare: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &addr)
        .set("group.id", "bench-bare")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let names: Vec<&str> = topics.iter().map(|(t, _, _)| t.as_str()).collect();
    bare.subscribe(&names).expect("subscribe");
    let started = Instant::now();
    let (mut n, mut bytes) = (0usize, 0usize);
    while n < total {
        if let Some(Ok(m)) = bare.poll(Duration::from_millis(100)) {
            bytes += m.payload().map_or(0, <[u8]>::len);
            n += 1;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "bare consumer stalled at {n}");
    }
    let bare_secs = started.elapsed().as_secs_f64();
    drop(bare);

    // 2. floodlight, in process: Kafka source, whole pipeline, JSON-lines sinks.
    let dir = tempfile::tempdir().expect("tempdir");
    let routes: Vec<String> =
        topics.iter().map(|(t, _, f)| format!("{{ topic = \"{t}\", format = \"{f}\" }}")).collect();
    let cfg_text = format!(
        "[[sources]]\ntype = \"kafka\"\nbrokers = \"{addr}\"\ngroup_id = \"bench-floodlight\"\ntopics = [{}]\n\
         [enrichments]\ncorporate_cidrs = [\"89.160.20.112/28\", \"10.0.0.0/8\"]\ncorporate_domains = [\"corp.example.com\"]\n\
         [enrichments.geoip]\ndemo = true\n[sinks.findings]\npath = \"out/findings.jsonl\"\n[sinks.dead_letter]\npath = \"out/dead.jsonl\"\n",
        routes.join(", ")
    );
    let cfg = Config::parse(&cfg_text, Path::new("bench.toml")).expect("config");
    counters().reset();
    let token = CancellationToken::new();
    let started = Instant::now();
    let watcher = {
        let token = token.clone();
        std::thread::spawn(move || {
            // Every record decoded, enriched and run through the rules.
            while counters().total(metric::EVENTS_EMITTED) + counters().total(metric::DEAD_LETTERED) < total as u64 {
                std::thread::sleep(Duration::from_millis(5));
            }
            let secs = started.elapsed().as_secs_f64();
            token.cancel();
            secs
        })
    };
    let summary = rt.block_on(async {
        let p = cfg.build(dir.path()).await.expect("pipeline");
        runtime::run(p, token).await
    });
    let fl_secs = watcher.join().expect("watcher");
    let events = summary.total(metric::EVENTS_EMITTED);

    // 3. kcat, when installed.
    let kcat = Command::new("kcat")
        .args(["-C", "-b", &addr, "-t", &topics[0].0, "-e", "-q", "-o", "beginning"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let kcat_note = match kcat {
        Err(_) => "kcat not installed".to_string(),
        Ok(o) if o.status.success() => "kcat consumed the topic (see its own timing)".to_string(),
        Ok(o) => format!(
            "kcat failed against this broker: {}",
            String::from_utf8_lossy(&o.stderr).lines().next().unwrap_or("").trim()
        ),
    };

    drop(broker);
    let bare_rate = total as f64 / bare_secs;
    let fl_rate = total as f64 / fl_secs;
    println!("bare rdkafka consumer: {total} records in {bare_secs:.2}s = {bare_rate:.0} records/s ({bytes} bytes)");
    println!(
        "floodlight:            {total} records in {fl_secs:.2}s = {fl_rate:.0} records/s, {events} events, {} findings",
        summary.findings_total
    );
    println!("ratio floodlight / bare consumer: {:.2}", fl_rate / bare_rate);
    println!("{kcat_note}");
}
