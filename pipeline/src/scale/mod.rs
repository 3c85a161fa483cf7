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

    /// Send `record` to `part`. The sink holds `ack` until the record is
    /// durable and marks it failed if it cannot be written.
    fn send(&self, part: u32, record: &PartRecord, ack: AckToken) -> Result<(), String>;

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

    fn send(&self, part: u32, record: &PartRecord, ack: AckToken) -> Result<(), String> {
        self.records.lock().unwrap_or_else(|p| p.into_inner()).push((part, record.to_bytes()));
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
            options: conn.options.clone(),
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
