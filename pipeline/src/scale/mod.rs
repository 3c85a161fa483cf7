//! Scale-out: stateful rules that give the same findings on many replicas.
//!
//! Replicas of one consumer group share the input partitions. That is
//! enough for decoding, enrichment and matching, which look at one record
//! at a time, but not for rule state: firewall topics are partitioned by
//! device, not by person, so one person's uploads reach every replica.
//! floodlight splits the work as Kafka Streams does:
//!
//! ```text
//!  input partitions ──▶ front (every replica)          ──▶ repartition topic ──▶ back (every replica)
//!  (consumer group)     decode → enrich → match            one part per key      one rule engine per part:
//!                       rule output split by its rule's    (rule id + user,      watermarks over the input
//!                       partition key, one record per      rule id + app)        streams, fold, dedup,
//!                       part per batch                                           findings
//! ```
//!
//! * **Front** ([`front`]): instead of the detection stage, every processed
//!   batch's rule output is split by its rule's partition key
//!   ([`crate::detect::partition`]) and sent as one [`PartRecord`] to
//!   *every* part, with the batch's input stream, position and newest event
//!   time, even when it carries no rows: that is how each part learns how
//!   far every input stream has come. Records of one input stream go out in
//!   the stream's order. The batch's acknowledgement is held until every
//!   part's record is durable, so input offsets are committed only behind
//!   what reached the parts.
//! * **Back** ([`back`]): each part has a [`RulePart`], its own rule state
//!   over the same compiled rules, and a watermark over the input streams
//!   named in its records. It files the rows as the detection stage does and
//!   consumes an interval once every input stream has passed it, so a part's
//!   findings are exactly those the one-process run raises for its keys.
//!
//! [`PartSink`] is where the front's records go and [`RulePart`] takes them
//! in; the Kafka implementation produces to the repartition topic, and tests
//! can keep them in memory.

pub mod back;
pub mod front;
pub mod kafka;
pub mod parts;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ack::AckToken;
use crate::detect::partition::WireMatched;
use crate::event_time::{Micros, Position};

pub use back::RulePart;
pub use front::Repartitioner;

/// The largest record scale-out writes to its internal topics (below
/// Kafka's default 1 MiB `message.max.bytes`): rule output and changelog
/// snapshots larger than this are split.
pub const MAX_RECORD_BYTES: usize = 512 * 1024;

/// What one batch of one input stream brought to one part: the rows of
/// every rule whose key belongs to the part (often none) and how far the
/// stream has come.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartRecord {
    /// The input stream's key (`kafka:fw.panos/3`), the same in every replica.
    pub stream: String,
    /// Its name, for logs.
    pub name: String,
    /// Rows of the stream more than this behind its newest were dropped as
    /// late by the front, microseconds.
    pub lateness: Micros,
    /// The number of the batch's first record (its offset in Kafka); with
    /// `position`, the part tells a replayed batch from a new one.
    #[serde(default)]
    pub first: u64,
    /// The position after the batch's last record.
    pub position: Position,
    /// The stream's time after the batch (its newest event time so far).
    pub time: Option<Micros>,
    /// The stream waits for input and has waited longer than the idle
    /// timeout: it no longer holds watermarks back.
    #[serde(default)]
    pub idle: bool,
    /// Rule output for this part.
    #[serde(default)]
    pub rules: Vec<WireMatched>,
}

impl PartRecord {
    /// The record as bytes for the repartition topic.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Plain data (strings, numbers, JSON maps, base64): cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The record as one or more encoded records of at most `max` bytes
    /// each (Kafka refuses records over its `message.max.bytes`, 1 MiB by
    /// default): the rows are split in halves until each half fits. Only
    /// the last record carries the stream's position and time, so a part
    /// moves the stream on only once it has every row of the batch. A
    /// single row larger than `max` goes alone, as it is.
    pub fn encode_within(self, max: usize) -> Vec<Vec<u8>> {
        let bytes = self.to_bytes();
        if bytes.len() <= max || self.rows() <= 1 {
            return vec![bytes];
        }
        let (head, tail) = self.halves();
        let mut out = head.encode_within(max);
        out.extend(tail.encode_within(max));
        out
    }

    /// The rows in two records (at least one row each): the first carries
    /// no position or time.
    fn halves(mut self) -> (PartRecord, PartRecord) {
        let head_rules = if self.rules.len() >= 2 {
            let tail = self.rules.split_off(self.rules.len() / 2);
            std::mem::replace(&mut self.rules, tail)
        } else {
            let mut rules = Vec::new();
            if let Some(one) = self.rules.first_mut() {
                rules.push(one.take_half());
            }
            rules
        };
        let head = PartRecord {
            stream: self.stream.clone(),
            name: self.name.clone(),
            lateness: self.lateness,
            first: self.first,
            position: Position::default(),
            time: None,
            idle: false,
            rules: head_rules,
        };
        (head, self)
    }

    /// A record read from the repartition topic.
    pub fn from_bytes(bytes: &[u8]) -> Result<PartRecord, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a floodlight repartition record: {e}"))
    }

    /// Rule output rows carried.
    pub fn rows(&self) -> usize {
        self.rules.iter().map(WireMatched::rows).sum()
    }
}

/// Where the front's records go: the repartition topic, or memory in tests.
pub trait PartSink: Send + Sync {
    /// How many parts rule state is split into.
    fn parts(&self) -> u32;

    /// Send one encoded record of the stream `stream` to `part`
    /// ([`PartRecord::encode_within`] [`MAX_RECORD_BYTES`]). The sink
    /// holds `ack` until the record is durable and marks it failed if it
    /// cannot be written.
    fn send(&self, part: u32, stream: &str, record: Vec<u8>, ack: AckToken) -> Result<(), String>;

    /// Make what was sent durable soon (a source waits for acknowledgements).
    fn flush(&self) {}
}

/// Parts kept in memory, in the order records were sent (one process's
/// stand-in for the repartition topic: tests, trials).
#[derive(Debug, Default)]
pub struct MemoryParts {
    parts: u32,
    records: std::sync::Mutex<Vec<(u32, Vec<u8>)>>,
}

impl MemoryParts {
    /// `parts` empty parts.
    pub fn new(parts: u32) -> MemoryParts {
        MemoryParts { parts: parts.max(1), records: std::sync::Mutex::default() }
    }

    /// Every record sent so far, as (part, bytes), in the order sent.
    pub fn records(&self) -> Vec<(u32, Vec<u8>)> {
        self.records.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl PartSink for MemoryParts {
    fn parts(&self) -> u32 {
        self.parts
    }

    fn send(&self, part: u32, _stream: &str, record: Vec<u8>, ack: AckToken) -> Result<(), String> {
        self.records.lock().unwrap_or_else(|p| p.into_inner()).push((part, record));
        drop(ack);
        Ok(())
    }
}

/// Scale-out for one run: where the front sends rule output, and the back
/// that reads this replica's parts.
pub struct ScaleOut {
    /// Where the front's records go.
    pub parts: std::sync::Arc<dyn PartSink>,
    /// The back: `None` when another process reads the parts (tests).
    pub back: Option<Back>,
}

/// The back of one replica: the repartition topic's source and the changelog.
pub struct Back {
    /// A Kafka source on the repartition topic, in the parts' group.
    pub source: Box<dyn crate::source::Source>,
    /// The repartition topic.
    pub topic: String,
    /// Where parts' state is kept.
    pub changelog: std::sync::Arc<kafka::Changelog>,
    /// The input streams every part waits for at start.
    pub expected: std::collections::BTreeSet<String>,
}

impl ScaleOut {
    /// Set up scale-out for the Kafka sources `inputs` (all on one cluster):
    /// create or check the internal topics, find the input partitions, and
    /// open the producer, the changelog and the parts' source.
    pub async fn connect(
        cluster: &crate::cluster_config::ClusterConfig,
        inputs: &[&crate::source::kafka::KafkaSourceConfig],
    ) -> Result<ScaleOut, String> {
        let first = inputs.first().ok_or("a replica needs a Kafka source")?;
        let conn = kafka::Connection { brokers: first.brokers.clone(), options: first.options.clone() };
        let timeout = humantime::parse_duration(&cluster.changelog_timeout).unwrap_or(Duration::from_secs(30));
        let topics = kafka::InternalTopics::new(&cluster.topic_prefix, cluster.partitions, cluster.replication_factor);
        topics.ensure(&conn, timeout).await?;
        let expected = {
            let conn = conn.clone();
            let inputs: Vec<crate::source::kafka::KafkaSourceConfig> = inputs.iter().map(|k| (*k).clone()).collect();
            tokio::task::spawn_blocking(move || {
                kafka::input_streams(&conn, |t| inputs.iter().any(|k| k.reads_topic(t)), timeout)
            })
            .await
            .map_err(|e| e.to_string())??
        };
        tracing::info!(
            parts = topics.parts,
            repartition = %topics.repartition,
            changelog = %topics.changelog,
            input_partitions = expected.len(),
            "scale-out: this process is one replica; rule state is split into parts"
        );
        if expected.is_empty() {
            return Err(format!(
                "none of the Kafka sources' topics exists on {}: create them before the replicas start (each \
                 part must know every input partition)",
                conn.brokers
            ));
        }
        let parts = std::sync::Arc::new(kafka::KafkaParts::open(&conn, &topics)?);
        let changelog = std::sync::Arc::new(kafka::Changelog::open(&conn, &topics, timeout)?);
        let source_config = crate::source::kafka::KafkaSourceConfig {
            name: Some("rules".into()),
            brokers: conn.brokers.clone(),
            group_id: crate::cluster_config::ClusterConfig::parts_group(&first.group_id),
            topics: vec![crate::source::kafka::TopicRoute {
                topic: Some(topics.repartition.clone()),
                pattern: None,
                format: parts::PART_FORMAT.into(),
            }],
            start_from: crate::source::kafka::StartFrom::Earliest,
            max_in_flight_batches: first.max_in_flight_batches,
            commit_interval: first.commit_interval.clone(),
            revoke_timeout: first.revoke_timeout.clone(),
            options: cluster.consumer_options(&conn.options),
            allowed_lateness: None,
        };
        let revoke = humantime::parse_duration(&first.revoke_timeout).unwrap_or(Duration::from_secs(10));
        let commit = humantime::parse_duration(&first.commit_interval).unwrap_or(Duration::from_secs(1));
        let source = crate::source::kafka::KafkaSource::new("rules".into(), source_config, commit, revoke, None);
        Ok(ScaleOut {
            parts,
            back: Some(Back { source: Box::new(source), topic: topics.repartition, changelog, expected }),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use serde_json::{json, Map, Value};

    use super::*;
    use crate::detect::partition::{IpcBatch, WireOutput};

    fn record(rules: Vec<WireMatched>) -> PartRecord {
        PartRecord {
            stream: "kafka:fw/3".into(),
            name: "kafka:fw/3".into(),
            lateness: 60_000_000,
            first: 4_000,
            position: Position { record: 4_199, byte: 0 },
            time: Some(1_795_500_000_000_000),
            idle: false,
            rules,
        }
    }

    fn rows(rule: &str, n: usize) -> WireMatched {
        let rows: Vec<Map<String, Value>> = (0..n)
            .map(|i| {
                let row = json!({"event_id": format!("e{i:05}"), "user": format!("user{i}"), "pad": "x".repeat(400)});
                row.as_object().cloned().unwrap_or_default()
            })
            .collect();
        WireMatched { rule: rule.into(), fingerprint: "f".into(), output: WireOutput::Rows(rows) }
    }

    fn event_ids(records: &[PartRecord]) -> Vec<String> {
        let mut ids = Vec::new();
        for r in records {
            for m in &r.rules {
                match &m.output {
                    WireOutput::Rows(rows) => ids.extend(rows.iter().map(|r| r["event_id"].to_string())),
                    WireOutput::Batches(b) => {
                        for b in b {
                            let col = b.0.column(0).as_any().downcast_ref::<StringArray>().map(|c| c.iter());
                            ids.extend(col.into_iter().flatten().map(|v| format!("{v:?}")));
                        }
                    }
                    WireOutput::Steps(s) => ids.extend(s.iter().map(|(_, r)| r["event_id"].to_string())),
                }
            }
        }
        ids
    }

    /// Splits `record` within `max` and checks what every split must hold.
    fn split(record: PartRecord, max: usize) -> Vec<PartRecord> {
        let whole = record.clone();
        let encoded = record.encode_within(max);
        assert!(encoded.len() > 1, "the record is larger than {max} bytes and must be split");
        let records: Vec<PartRecord> = encoded
            .iter()
            .map(|b| {
                assert!(b.len() <= max, "a split record of {} bytes is over {max}", b.len());
                PartRecord::from_bytes(b).unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        assert_eq!(event_ids(&records), event_ids(std::slice::from_ref(&whole)), "every row once, in order");
        let (last, head) = records.split_last().unwrap_or_else(|| panic!("no record"));
        for r in head {
            assert_eq!((r.time, r.position.record, r.first), (None, 0, whole.first), "only the last moves the stream");
        }
        assert_eq!((last.time, last.position, last.first), (whole.time, whole.position, whole.first));
        records
    }

    #[test]
    fn a_small_record_goes_whole() {
        let r = record(vec![rows("SS-03", 3)]);
        let bytes = r.to_bytes();
        assert_eq!(r.encode_within(MAX_RECORD_BYTES), vec![bytes]);
    }

    #[test]
    fn large_rule_output_is_split_by_rule_and_by_rows() {
        // Two rules, 2,000 rows of ~450 bytes: about 900 KiB.
        let records = split(record(vec![rows("SS-02", 1_000), rows("SS-03", 1_000)]), 64 * 1024);
        assert!(records.len() >= 14, "{} records", records.len());
        // One rule's rows alone.
        split(record(vec![rows("SS-03", 2_000)]), 64 * 1024);
    }

    #[test]
    fn one_large_record_batch_is_sliced() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("event_id", DataType::Utf8, false),
            Field::new("bytes", DataType::Int64, false),
        ]));
        let ids: Vec<String> = (0..20_000).map(|i| format!("event-{i:08}-{}", "y".repeat(40))).collect();
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(StringArray::from(ids)), Arc::new(Int64Array::from_iter_values(0..20_000))],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let wire = WireMatched {
            rule: "SS-02".into(),
            fingerprint: "f".into(),
            output: WireOutput::Batches(vec![IpcBatch(batch)]),
        };
        let records = split(record(vec![wire]), 128 * 1024);
        assert!(records.len() >= 8, "{} records", records.len());
    }

    #[test]
    fn a_single_row_over_the_limit_goes_alone() {
        let r = record(vec![rows("SS-03", 1)]);
        assert_eq!(r.encode_within(100).len(), 1);
    }
}
