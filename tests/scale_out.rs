//! Scale-out's core: rule output split by key over parts gives the findings
//! of one process.
//!
//! The generated day of `tests/deterministic.rs` (two firewalls, sign-ins,
//! OAuth consents, a DNS log) is cut into seven input streams, the
//! firewalls' lines dealt round-robin over two "partitions" each, so every
//! person's events spread over several streams. Three front replicas, each
//! reading some of the streams, run at once and send their rule output to
//! in-memory parts (the repartition topic's stand-in); the parts' engines
//! take the records in the order they arrived, advancing their watermark
//! after every record, and finish at the end of the input. The final
//! findings (id, revision, totals, times, message) must equal those of one
//! process reading all seven streams, for 1, 3 and 5 parts, and every key
//! must have been folded in exactly one part.

use crate::support::traffic;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use floodlight_pipeline::ack::AckToken;
use floodlight_pipeline::config::Config;
use floodlight_pipeline::runtime::run;
use floodlight_pipeline::scale::{MemoryParts, PartRecord, PartSink, RulePart, ScaleOut};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use traffic::generate;

fn config(streams: &[(String, String)]) -> String {
    let mut c = String::from("[runtime]\nworkers = 2\nbatch_max_records = 700\nchannel_capacity = 2\n\n");
    for (name, format) in streams {
        let _ = write!(
            c,
            "[[sources]]\ntype = \"file\"\nname = \"{name}\"\npaths = [\"{name}\"]\nformat = \"{format}\"\n\n"
        );
    }
    c.push_str(
        "[enrichments]\ncorporate_cidrs = [\"10.0.0.0/8\"]\ncorporate_domains = [\"corp.example.com\"]\n\
         [enrichments.reload]\nenabled = false\n[enrichments.geoip]\ndemo = true\n\
         [rules.attribution]\nenabled = false\n\
         [rules.params.SS-01]\nlearning = \"0s\"\n[rules.params.SS-10]\nlearning = \"0s\"\n",
    );
    c
}

/// The last revision of each finding, without the wall-clock `detected_at`.
fn final_revisions(findings: impl IntoIterator<Item = Value>) -> BTreeMap<String, Value> {
    let mut last: BTreeMap<String, Value> = BTreeMap::new();
    for mut f in findings {
        f.as_object_mut().unwrap().remove("detected_at");
        let id = f["finding_id"].as_str().unwrap().to_string();
        let newer = last.get(&id).is_none_or(|p| p["revision"].as_i64() < f["revision"].as_i64());
        if newer {
            last.insert(id, f);
        }
    }
    last
}

async fn pipeline(dir: &Path, streams: &[(String, String)]) -> floodlight_pipeline::runtime::Pipeline {
    let config = Config::parse(&config(streams), &dir.join("c.toml")).unwrap();
    config.build(dir).await.unwrap()
}

/// The seven streams: (file name, format), written to `dir`.
fn write_streams(dir: &Path) -> Vec<(String, String)> {
    let mut input = generate(20_000);
    input.files.push(input.dns.clone());
    let mut streams = Vec::new();
    for (name, format, text) in &input.files {
        if format == "fortigate" {
            // Round-robin over two partitions: a person's events land in both.
            let mut parts = [String::new(), String::new()];
            for (i, line) in text.lines().enumerate() {
                parts[i % 2].push_str(line);
                parts[i % 2].push('\n');
            }
            for (p, text) in parts.iter().enumerate() {
                let n = format!("{name}.p{p}");
                std::fs::write(dir.join(&n), text).unwrap();
                streams.push((n, format.clone()));
            }
        } else {
            std::fs::write(dir.join(name), text).unwrap();
            streams.push((name.clone(), format.clone()));
        }
    }
    streams
}

/// Three fronts at once over `streams`, then `parts` parts: the final
/// findings, and how many records the parts received.
async fn scaled(dir: &Path, streams: &[(String, String)], parts: u32) -> (BTreeMap<String, Value>, usize) {
    let sink = Arc::new(MemoryParts::new(parts));
    let mut fronts = Vec::new();
    let mut engine = None;
    for replica in 0..3 {
        let mine: Vec<(String, String)> = streams.iter().skip(replica).step_by(3).cloned().collect();
        let mut p = pipeline(dir, &mine).await;
        engine.get_or_insert_with(|| p.engine.clone());
        p.scale = Some(ScaleOut { parts: sink.clone() as Arc<dyn PartSink>, back: None });
        fronts.push(tokio::spawn(run(p, CancellationToken::new())));
    }
    for f in fronts {
        let summary = f.await.unwrap();
        for (name, result) in &summary.sources {
            assert!(result.is_ok(), "{name}: {result:?}");
        }
        assert!(summary.findings.is_empty(), "a front raised findings itself");
    }
    let engine = engine.unwrap();
    // Every input stream, as the parts' expected streams (with Kafka: the
    // input topics' partitions, from the broker's metadata).
    let records: Vec<(u32, PartRecord)> =
        sink.records().into_iter().map(|(p, b)| (p, PartRecord::from_bytes(&b).unwrap())).collect();
    let expected: BTreeSet<String> = records.iter().map(|(_, r)| r.stream.clone()).collect();
    assert_eq!(expected.len(), streams.len());
    let mut backs: Vec<RulePart> = (0..parts)
        .map(|p| RulePart::new(p, engine.fresh_part(), expected.clone(), std::time::Duration::from_secs(30)))
        .collect();
    let ack = AckToken::detached(0);
    // (part, finding) in the order raised.
    let mut raised = Vec::new();
    let count = records.len();
    for (part, record) in records {
        let back = &mut backs[part as usize];
        let received = back.receive(record, &ack);
        assert!(
            received.late.is_empty(),
            "{} rows late at part {part}, first {:?}",
            received.late.len(),
            received.late[0]
        );
        assert!(received.refused.is_empty(), "{:?}", received.refused);
        raised.extend(back.advance(Instant::now(), &ack).await.into_iter().map(|f| (part, f)));
    }
    for back in &backs {
        raised.extend(back.flush(&ack).await.into_iter().map(|f| (back.part(), f)));
        for (key, _, _, _) in back.streams() {
            assert!(expected.contains(&key), "part {} heard of an unknown stream {key}", back.part());
        }
    }
    let mut owner: BTreeMap<String, u32> = BTreeMap::new();
    for (part, f) in &raised {
        let first = *owner.entry(f.finding_id.clone()).or_insert(*part);
        assert_eq!(first, *part, "finding {} raised by parts {first} and {part}", f.finding_id);
    }
    let json = raised.iter().map(|(_, f)| serde_json::to_value(f).unwrap());
    (final_revisions(json), count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parts_raise_the_findings_of_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let streams = write_streams(dir.path());
    assert_eq!(streams.len(), 7, "{streams:?}");

    let one = run(pipeline(dir.path(), &streams).await, CancellationToken::new()).await;
    let one = final_revisions(one.findings.iter().map(|f| serde_json::to_value(f).unwrap()));
    let rules: BTreeSet<&str> = one.values().map(|f| f["rule_id"].as_str().unwrap()).collect();
    for stateful in ["SS-01", "SS-02", "SS-03", "SS-10", "WF-03"] {
        assert!(rules.contains(stateful), "the input raises no {stateful}: {rules:?}");
    }

    for parts in [1, 3, 5] {
        let (scaled, records) = scaled(dir.path(), &streams, parts).await;
        assert!(records > 0);
        let missing: Vec<&String> = one.keys().filter(|k| !scaled.contains_key(*k)).collect();
        let extra: Vec<&String> = scaled.keys().filter(|k| !one.contains_key(*k)).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{parts} parts: missing {missing:?}, extra {extra:?}");
        for (id, f) in &one {
            assert_eq!(&scaled[id], f, "{parts} parts: finding {id} differs");
        }
    }
}
