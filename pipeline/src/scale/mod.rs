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
