//! The back of scale-out: one part's rule state and its watermark.
//!
//! A [`RulePart`] is the detection stage of one part of the repartition
//! topic. Its engine runs the same compiled rules with state of its own
//! ([`DetectionEngine::fresh_part`]) and only ever sees the keys that hash to
//! its part. Its watermark is over the *input* streams, not over the
//! repartition topic: every front sends every part a record per batch, so
//! the part knows each input stream's time, and it consumes an interval
//! only once every stream that is not idle has passed it (as
//! [`crate::event_time::Frontier`] does in one process). Records of one
//! input stream arrive in the stream's order, and a stream's time in a
//! record never counts a batch whose rows were not sent before it, so no
//! row that is on time at the front can be late here.
//!
//! Streams the part expects but has not heard from yet (the input topics'
//! partitions, from the broker's metadata) hold the watermark back for the
//! idle timeout after the part starts, as a source that has not been
//! assigned its partitions does in one process.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::PartRecord;
use crate::ack::AckToken;
use crate::detect::{DetectionEngine, StageLate};
use crate::event_time::{Frontier, Micros, Position};
use crate::schema::{Finding, Timestamp};

/// One part's rule state and watermark; see the module docs.
pub struct RulePart {
    part: u32,
    engine: Arc<DetectionEngine>,
    origins: BTreeMap<String, Origin>,
    /// How far the part's own input (its repartition partition) was read.
    position: Option<Position>,
    expected: BTreeSet<String>,
    hold_until: Instant,
}

/// An input stream as one part knows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Origin {
    name: String,
    lateness: Micros,
    time: Option<Micros>,
    idle: bool,
    position: Position,
}

/// What a part made of one record.
#[derive(Debug, Default)]
pub struct Received {
    /// Rows behind what their rule had already consumed (a replay after
    /// a rebalance or a restart, or a stream that was idle).
    pub late: Vec<StageLate>,
    /// Rule output this part could not take (another rule version), with why.
    pub refused: Vec<(String, String)>,
    /// Rows of a replayed record that the part already had.
    pub replayed: u64,
}

impl RulePart {
    /// Part `part`, with `engine` (fresh state, [`DetectionEngine::fresh_part`]);
    /// the input streams in `expected` hold its watermark back until they
    /// are heard from or `idle_timeout` has passed.
    pub fn new(part: u32, engine: DetectionEngine, expected: BTreeSet<String>, idle_timeout: Duration) -> RulePart {
        RulePart {
            part,
            engine: Arc::new(engine),
            origins: BTreeMap::new(),
            position: None,
            expected,
            hold_until: Instant::now() + idle_timeout,
        }
    }

    /// The part's number.
    pub fn part(&self) -> u32 {
        self.part
    }

    /// The part's engine.
    pub fn engine(&self) -> &Arc<DetectionEngine> {
        &self.engine
    }

    /// Take one record in: its stream's time and state, and its rows, filed
    /// under the checkpoint gate of `ack`. Rows of a record that starts at
    /// or before what the part already had of its stream (the input was
    /// read again after its partition moved to another replica) and that
    /// are behind what their rule consumed are the part's already: they are
    /// counted as replayed, not returned as late.
    pub fn receive(&mut self, record: PartRecord, ack: &AckToken) -> Received {
        let replay = self
            .origins
            .get(&record.stream)
            .is_some_and(|o| record.first != u64::MAX && record.first <= o.position.record);
        let origin = self.origins.entry(record.stream.clone()).or_insert_with(|| Origin {
            name: record.name.clone(),
            lateness: record.lateness,
            time: None,
            idle: false,
            position: Position::default(),
        });
        origin.name = record.name;
        origin.lateness = record.lateness;
        origin.idle = record.idle;
        origin.time = match (origin.time, record.time) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if record.position.record >= origin.position.record {
            origin.position = record.position;
        }
        let mut received = Received::default();
        let mut matched = Vec::with_capacity(record.rules.len());
        for wire in record.rules {
            let rule = wire.rule.clone();
            match self.engine.from_wire(wire) {
                Ok(m) => matched.push(m),
                Err(e) => received.refused.push((rule, e)),
            }
        }
        let late = self.engine.ingest(matched, ack);
        if replay {
            received.replayed = late.len() as u64;
        } else {
            received.late = late;
        }
        received
    }

    /// Every input stream's time and state now.
    pub fn frontier(&self, now: Instant) -> Frontier {
        let mut f = Frontier::default();
        for o in self.origins.values() {
            if o.idle {
                f.idle.push((o.time, o.lateness));
            } else {
                f.active.push((o.time, o.lateness));
            }
        }
        if now < self.hold_until && self.expected.iter().any(|k| !self.origins.contains_key(k)) {
            f.active.push((None, 0));
        }
        f
    }

    /// Consume what the watermark allows; the findings raised or updated,
    /// in the checkpoint epoch of `out`.
    pub async fn advance(&self, now: Instant, out: &AckToken) -> Vec<Finding> {
        let frontier = self.frontier(now);
        self.engine.advance(&frontier, Timestamp::now(), out).await
    }

    /// Consume everything pending (the input ended, or the part is drained
    /// with nowhere to keep its state).
    pub async fn flush(&self, out: &AckToken) -> Vec<Finding> {
        self.engine.flush(Timestamp::now(), out).await
    }

    /// Per input stream: how far the part has its records and their time.
    pub fn streams(&self) -> Vec<(String, String, Position, Option<Micros>)> {
        self.origins.iter().map(|(k, o)| (k.clone(), o.name.clone(), o.position, o.time)).collect()
    }
}

/// A part's state as the changelog keeps it (gzip'd JSON), read by
/// [`PartSnapshot::read`] and restored by [`RulePart::restore`].
#[derive(Debug, Serialize, Deserialize)]
pub struct PartSnapshot {
    version: u32,
    /// The part's repartition partition was read up to here.
    position: Option<Position>,
    origins: BTreeMap<String, Origin>,
    /// The engine's snapshot ([`DetectionEngine::snapshot`]).
    engine: serde_json::Value,
}

/// The snapshot format written.
const SNAPSHOT_VERSION: u32 = 1;

impl RulePart {
    /// The part has read its own input up to `position`.
    pub fn read_up_to(&mut self, position: Position) {
        self.position = Some(position);
    }

    /// How far the part has read its own input.
    pub fn position(&self) -> Option<Position> {
        self.position
    }

    /// Snapshot the state now and close its checkpoint epoch: (epoch,
    /// snapshot bytes). Write the bytes only once the epoch is released
    /// ([`DetectionEngine::wait_released`]): then every finding the state
    /// counts as raised is written.
    pub fn snapshot(&self) -> Option<(u64, Result<Vec<u8>, String>)> {
        let (epoch, json) = self.engine.snapshot(&BTreeMap::new())?;
        let bytes = json.and_then(|json| {
            let engine: serde_json::Value = serde_json::from_slice(&json).map_err(|e| e.to_string())?;
            let saved = PartSnapshot {
                version: SNAPSHOT_VERSION,
                position: self.position,
                origins: self.origins.clone(),
                engine,
            };
            let json = serde_json::to_vec(&saved).map_err(|e| format!("cannot serialise part state: {e}"))?;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&json).and_then(|()| gz.finish()).map_err(|e| format!("cannot compress part state: {e}"))
        });
        Some((epoch, bytes))
    }

    /// Part `part` with the state of `saved` ([`RulePart::snapshot`]);
    /// a rule whose definition changed since starts empty.
    pub fn restore(
        part: u32,
        engine: DetectionEngine,
        saved: PartSnapshot,
        expected: BTreeSet<String>,
        idle_timeout: Duration,
    ) -> Result<RulePart, String> {
        let json = serde_json::to_vec(&saved.engine).map_err(|e| e.to_string())?;
        engine.restore_from(&json, &format!("the changelog snapshot of part {part}"))?;
        let mut restored = RulePart::new(part, engine, expected, idle_timeout);
        restored.origins = saved.origins;
        restored.position = saved.position;
        Ok(restored)
    }
}

impl PartSnapshot {
    /// Read a snapshot's bytes ([`RulePart::snapshot`]).
    pub fn read(bytes: &[u8]) -> Result<PartSnapshot, String> {
        read_snapshot(bytes)
    }

    /// Where the part's input was read up to.
    pub fn position(&self) -> Option<Position> {
        self.position
    }
}

fn read_snapshot(bytes: &[u8]) -> Result<PartSnapshot, String> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut json)
        .map_err(|e| format!("a part snapshot is not gzip data: {e}"))?;
    let saved: PartSnapshot =
        serde_json::from_slice(&json).map_err(|e| format!("a part snapshot is not readable: {e}"))?;
    if saved.version != SNAPSHOT_VERSION {
        return Err(format!(
            "a part snapshot is format version {} and this floodlight reads version {SNAPSHOT_VERSION}",
            saved.version
        ));
    }
    Ok(saved)
}
