//! The back stage: the repartition topic's batches to their parts, and
//! each part's state to the changelog.
//!
//! A Kafka source in its own consumer group reads the repartition topic;
//! its partitions are the parts, so the group gives every part exactly one
//! owner. The [`PartsStage`] takes the source's raw batches (one partition
//! each):
//!
//! * **A part moves in.** When the source is assigned a partition it asks
//!   where to resume ([`resume_lookup`]): the latest snapshot of the part is
//!   read from the changelog, the source skips the records the snapshot
//!   already holds, and the stage builds the part from the snapshot before
//!   its first batch. Without a snapshot the part starts empty from the
//!   group's committed offset (or the topic's start).
//! * **Records.** Each record is a [`PartRecord`]; the part files its rows
//!   and moves its watermark, then consumes what the watermark passed. The
//!   findings travel with the batch's acknowledgement, so the batch counts
//!   as delivered only when they are written.
//! * **Changelog.** Every `checkpoint_interval`, each part's state is
//!   snapshotted between records, and written to the changelog once every
//!   finding it counts as raised is written. Only then may the source commit
//!   the part's offsets up to the snapshot
//!   ([`StreamRegistry::set_checkpointed_one`]): a new owner restores the
//!   snapshot and reads on from there, raising again, with the same ids and
//!   revisions, only the findings the old owner raised after it.
//! * **A part moves out.** Its stream ends at the source; the stage drops
//!   the part (its state is in the changelog up to the last snapshot).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tracing::{error, info, warn};

use super::back::PartSnapshot;
use super::kafka::Changelog;
use super::{PartRecord, RulePart};
use crate::ack::AckToken;
use crate::dead_letter::DeadLetter;
use crate::detect::DetectionEngine;
use crate::event_time::{Position, Resume, ResumeLookup, StreamId, StreamRegistry};
use crate::health::health;
use crate::internal_events::{emit, PartRowsReplayed, PartSnapshotWritten, StageBatchTimed};
use crate::runtime::{stage_late_letter, ticker, STAGE_TICK};
use crate::sinks::Output;
use crate::source::RawBatch;

/// The input format name of the repartition topic's records.
pub const PART_FORMAT: &str = "floodlight-part";

/// Snapshots read from the changelog when the source was assigned their
/// part, waiting for the part's first batch.
pub type Restored = Arc<Mutex<HashMap<i32, Result<PartSnapshot, String>>>>;

/// The lookup the back source asks where a repartition partition resumes:
/// it reads the part's latest snapshot from the changelog, keeps it in
/// `restored` for the stage, and returns the position it holds.
pub fn resume_lookup(topic: String, changelog: Arc<Changelog>, restored: Restored) -> ResumeLookup {
    Arc::new(move |key: &str| {
        let part = key.strip_prefix("kafka:")?.strip_prefix(topic.as_str())?.strip_prefix('/')?;
        let part: i32 = part.parse().ok()?;
        let stash = match changelog.read(u32::try_from(part).ok()?) {
            Ok(Some((_, bytes))) => PartSnapshot::read(&bytes),
            Ok(None) => return None,
            Err(e) => Err(e),
        };
        let position = stash.as_ref().ok().and_then(PartSnapshot::position);
        restored.lock().unwrap_or_else(|p| p.into_inner()).insert(part, stash);
        position.map(|position| Resume { name: key.to_string(), position, stream_time: None })
    })
}

/// One part this replica owns now.
struct Live {
    stream: StreamId,
    label: String,
    part: RulePart,
}

/// The back stage; see the module docs.
pub struct PartsStage {
    /// The compiled rules every part's engine shares.
    pub template: Arc<DetectionEngine>,
    /// The input streams every part waits for at start.
    pub expected: BTreeSet<String>,
    /// How long unseen expected streams hold a part's watermark back.
    pub idle_timeout: Duration,
    /// Where parts' state is kept.
    pub changelog: Arc<Changelog>,
    /// Snapshots waiting for their part's first batch.
    pub restored: Restored,
    /// The back source's streams (commit limits).
    pub registry: Arc<StreamRegistry>,
    /// To the sink stage.
    pub out: mpsc::Sender<Output>,
    /// How often parts are snapshotted to the changelog.
    pub checkpoint_interval: Duration,
    /// How long a snapshot waits for the findings it counts to be written.
    pub drain_timeout: Duration,
}

impl PartsStage {
    /// Run until the back source ends.
    pub async fn run(self, mut rx: mpsc::Receiver<RawBatch>) {
        let mut parts: BTreeMap<i32, Live> = BTreeMap::new();
        let mut writer: Option<tokio::task::JoinHandle<()>> = None;
        // Snapshot numbers grow across restarts and replicas: start from the clock.
        let mut seq = u64::try_from(crate::schema::Timestamp::now().micros()).unwrap_or(0);
        let mut tick = ticker(STAGE_TICK);
        let mut checkpoint = ticker(self.checkpoint_interval.max(Duration::from_millis(100)));
        checkpoint.tick().await;
        loop {
            tokio::select! {
                b = rx.recv() => {
                    let Some(batch) = b else { break };
                    let busy = health().busy("parts");
                    let started = Instant::now();
                    if !self.receive(&mut parts, batch).await {
                        return;
                    }
                    emit(StageBatchTimed { stage: "parts", elapsed: started.elapsed() });
                    drop(busy);
                }
                _ = tick.tick() => {
                    self.drop_revoked(&mut parts);
                    for live in parts.values() {
                        let ack = AckToken::detached(u64::MAX);
                        let findings = live.part.advance(Instant::now(), &ack).await;
                        if !findings.is_empty() && !self.send(findings, Vec::new(), ack).await {
                            return;
                        }
                    }
                }
                _ = checkpoint.tick() => {
                    if writer.as_ref().is_none_or(|w| w.is_finished()) {
                        seq += 1;
                        writer = Some(self.checkpoint(&parts, seq));
                    }
                }
            }
        }
        // The source ended (shutdown): the parts' state goes to the
        // changelog for whoever owns them next.
        if let Some(w) = writer.take() {
            let _ = w.await;
        }
        let _ = self.checkpoint(&parts, seq + 1).await;
        info!(parts = parts.len(), "parts stage finished; part state is in the changelog");
    }

    /// Take one batch of one part; false when the sinks are gone.
    async fn receive(&self, parts: &mut BTreeMap<i32, Live>, batch: RawBatch) -> bool {
        let Some(partition) = batch.partition else {
            warn!(source = %batch.source, "a batch without a partition reached the parts stage; ignored");
            return true;
        };
        let current = parts.get(&partition).is_some_and(|l| l.stream == batch.pos.stream);
        if !current {
            let live = self.move_in(partition, &batch);
            parts.insert(partition, live);
        }
        let Some(live) = parts.get_mut(&partition) else { return true };
        let mut dead_letters = Vec::new();
        for record in &batch.records {
            match PartRecord::from_bytes(&record.data) {
                Ok(r) => {
                    let received = live.part.receive(r, &batch.ack);
                    emit(PartRowsReplayed { part: live.part.part(), rows: received.replayed });
                    dead_letters.extend(received.late.into_iter().map(|l| stage_late_letter(&live.label, l)));
                    for (rule, why) in received.refused {
                        dead_letters.push(DeadLetter::new(
                            &batch.source,
                            batch.partition,
                            record.offset,
                            PART_FORMAT,
                            format!("rule output for {rule} refused: {why}"),
                            &record.data,
                        ));
                    }
                }
                Err(e) => dead_letters.push(DeadLetter::new(
                    &batch.source,
                    batch.partition,
                    record.offset,
                    PART_FORMAT,
                    e,
                    &record.data,
                )),
            }
        }
        live.part.read_up_to(batch.pos.position);
        let findings = live.part.advance(Instant::now(), &batch.ack).await;
        self.send(findings, dead_letters, batch.ack.clone()).await
    }

    /// A part this replica was just assigned: from the snapshot read at
    /// assignment, or empty.
    fn move_in(&self, partition: i32, batch: &RawBatch) -> Live {
        let part = u32::try_from(partition).unwrap_or_default();
        let label = format!("{}/{partition}", batch.source);
        let engine = self.template.fresh_part();
        let stashed = self.restored.lock().unwrap_or_else(|p| p.into_inner()).remove(&partition);
        let fresh = |engine| RulePart::new(part, engine, self.expected.clone(), self.idle_timeout);
        let rule_part = match stashed {
            None => {
                info!(part, "part assigned; no state in the changelog, starting empty");
                fresh(engine)
            }
            Some(Ok(saved)) => match RulePart::restore(part, engine, saved, self.expected.clone(), self.idle_timeout) {
                Ok(p) => {
                    info!(part, position = ?p.position(), "part assigned; state restored from the changelog");
                    p
                }
                Err(e) => {
                    error!(part, error = %e, "part assigned; its changelog snapshot could not be restored, starting empty");
                    fresh(self.template.fresh_part())
                }
            },
            Some(Err(e)) => {
                error!(part, error = %e, "part assigned; its changelog could not be read, starting empty");
                fresh(engine)
            }
        };
        Live { stream: batch.pos.stream, label, part: rule_part }
    }

    /// Drop the parts whose stream ended at the source (revoked).
    fn drop_revoked(&self, parts: &mut BTreeMap<i32, Live>) {
        parts.retain(|partition, live| {
            let open = self.registry.get(live.stream).is_some_and(|s| !s.finished);
            if !open {
                info!(part = partition, "part revoked; its state stays in the changelog");
            }
            open
        });
    }

    async fn send(&self, findings: Vec<crate::schema::Finding>, dead_letters: Vec<DeadLetter>, ack: AckToken) -> bool {
        if findings.is_empty() && dead_letters.is_empty() {
            return true;
        }
        self.out.send(Output { events: Vec::new(), findings, dead_letters, ack }).await.is_ok()
    }

    /// Snapshot every part now and write the snapshots once what they count
    /// is written; then the source may commit up to them.
    fn checkpoint(&self, parts: &BTreeMap<i32, Live>, seq: u64) -> tokio::task::JoinHandle<()> {
        let mut snapshots = Vec::new();
        for (partition, live) in parts {
            let Some(position) = live.part.position() else { continue };
            if let Some((epoch, bytes)) = live.part.snapshot() {
                snapshots.push((*partition, live.label.clone(), position, live.part.engine().clone(), epoch, bytes));
            }
        }
        let changelog = self.changelog.clone();
        let registry = self.registry.clone();
        let timeout = self.checkpoint_interval.max(self.drain_timeout);
        tokio::spawn(async move {
            for (partition, label, position, engine, epoch, bytes) in snapshots {
                let snapshot = Snapshot { partition, label, position, epoch, bytes, seq };
                write_snapshot(&changelog, &registry, &engine, snapshot, timeout).await;
            }
        })
    }
}

/// One part's snapshot on its way to the changelog.
struct Snapshot {
    partition: i32,
    label: String,
    position: Position,
    epoch: u64,
    bytes: Result<Vec<u8>, String>,
    seq: u64,
}

/// Write one part's snapshot once its epoch is released (every finding it
/// counts is written), then let the source commit up to it.
async fn write_snapshot(
    changelog: &Changelog,
    registry: &StreamRegistry,
    engine: &DetectionEngine,
    snapshot: Snapshot,
    timeout: Duration,
) {
    let part = u32::try_from(snapshot.partition).unwrap_or_default();
    let bytes = match snapshot.bytes {
        Ok(b) => b,
        Err(e) => {
            emit(PartSnapshotWritten { part, result: Err(&format!("cannot serialise the state: {e}")) });
            return;
        }
    };
    if !engine.wait_released(snapshot.epoch, timeout).await {
        let e = "the findings it counts were not written in time";
        emit(PartSnapshotWritten { part, result: Err(e) });
        return;
    }
    match changelog.write(part, snapshot.seq, &bytes).await {
        Ok(()) => {
            emit(PartSnapshotWritten { part, result: Ok(bytes.len()) });
            registry.set_checkpointed_one(&snapshot.label, snapshot.position);
        }
        Err(e) => emit(PartSnapshotWritten { part, result: Err(&e) }),
    }
}
