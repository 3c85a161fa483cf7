//! The front of scale-out: rule output to the parts, in place of the
//! detection stage.
//!
//! The [`Repartitioner`] takes every processed batch from the workers, as
//! the detection stage does in one process, and:
//!
//! 1. sends the batch's events and dead letters to this replica's sinks;
//! 2. splits what every rule matched by the rule's partition key and sends
//!    one [`PartRecord`] to every part, rows or not, with the input stream's
//!    time over the batches received without a gap (so a part never hears
//!    that a stream has passed a time before it has every row up to it);
//! 3. tells every part when a stream goes idle (its source waited longer
//!    than the idle timeout), so it stops holding watermarks back, and when
//!    it comes back. A stream that ends here (its partition was revoked)
//!    is not idle: it goes on at the replica that reads it next.
//!
//! Every record holds the batch's acknowledgement until the part sink
//! made it durable: the input is committed only behind what the parts have.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::warn;

use super::{PartRecord, PartSink, MAX_RECORD_BYTES};
use crate::ack::AckToken;
use crate::detect::partition::WireMatched;
use crate::event_time::{Resume, StreamId, StreamState, Watermarks};
use crate::health::health;
use crate::internal_events::{emit, BufferLevel, RuleFailed, StageBatchTimed};
use crate::runtime::{ticker, Processed, STAGE_TICK};
use crate::sinks::Output;

/// The front stage; see the module docs.
pub struct Repartitioner {
    marks: Watermarks,
    sink: Arc<dyn PartSink>,
    out: mpsc::Sender<Output>,
    /// Per stream, whether the parts were last told it is idle.
    told_idle: HashMap<StreamId, bool>,
}

impl Repartitioner {
    /// A front stage over the streams of `marks`, sending records to `sink`
    /// and events and dead letters to `out`.
    pub fn new(marks: Watermarks, sink: Arc<dyn PartSink>, out: mpsc::Sender<Output>) -> Self {
        Repartitioner { marks, sink, out, told_idle: HashMap::new() }
    }

    /// Run until the workers are done; returns where each stream was read up to.
    pub async fn run(mut self, mut rx: mpsc::Receiver<crate::runtime::Processed>) -> BTreeMap<String, Resume> {
        let mut tick = ticker(STAGE_TICK);
        loop {
            tokio::select! {
                p = rx.recv() => {
                    let Some(p) = p else { break };
                    emit(BufferLevel { buffer: "processed", len: rx.len(), capacity: rx.max_capacity() });
                    let busy = health().busy("repartition");
                    let started = Instant::now();
                    if !self.receive(p).await {
                        break;
                    }
                    emit(StageBatchTimed { stage: "repartition", elapsed: started.elapsed() });
                    drop(busy);
                }
                _ = tick.tick() => self.tell_idle(Instant::now()),
            }
        }
        self.tell_idle(Instant::now());
        self.sink.flush();
        self.marks.table().clone()
    }

    /// Take one processed batch; false when the sinks are gone.
    async fn receive(&mut self, p: Processed) -> bool {
        self.marks.received(&p.pos, p.newest);
        let Processed { output, matched, deferred, pos, first, .. } = p;
        if !deferred.is_empty() {
            // Scale-out refuses attribution at start-up; reaching here is a bug.
            warn!("rows held for attribution reached the scale-out front; they go on without a person");
        }
        let parts = self.sink.parts().max(1);
        let mut by_part: Vec<Vec<WireMatched>> = vec![Vec::new(); parts as usize];
        for m in matched {
            let rule = m.rule_id().to_string();
            match m.split(parts) {
                Ok(split) => {
                    for (part, m) in split {
                        if let Some(list) = by_part.get_mut(part as usize) {
                            list.push(m.to_wire());
                        }
                    }
                }
                Err(e) => {
                    emit(RuleFailed { rule: &rule, error: &e });
                    output.ack.fail();
                }
            }
        }
        if let Some(state) = self.marks.registry().get(pos.stream) {
            self.told_idle.insert(pos.stream, false);
            let records = by_part.into_iter().map(|rules| self.record(&state, pos.stream, first, false, rules));
            self.send_all(records, &output.ack);
        }
        self.out.send(output).await.is_ok()
    }

    /// The record telling the parts where `stream` stands, with `rules`.
    fn record(
        &self,
        state: &StreamState,
        stream: StreamId,
        first: u64,
        idle: bool,
        rules: Vec<WireMatched>,
    ) -> PartRecord {
        let resume = self.marks.table().get(&*state.key);
        PartRecord {
            stream: state.key.to_string(),
            name: state.name.to_string(),
            lateness: state.lateness,
            first,
            position: resume.map(|r| r.position).unwrap_or_default(),
            time: self.marks.stream_time(stream).or(state.initial_time),
            idle,
            rules,
        }
    }

    fn send_all(&self, records: impl Iterator<Item = PartRecord>, ack: &AckToken) {
        for (part, record) in records.enumerate() {
            let stream = record.stream.clone();
            for bytes in record.encode_within(MAX_RECORD_BYTES) {
                if let Err(e) = self.sink.send(part as u32, &stream, bytes, ack.clone()) {
                    warn!(part, error = %e, "could not send rule output to its part; the batch will be read again");
                    ack.fail();
                }
            }
        }
    }

    /// Tell every part about streams that went idle or came back.
    fn tell_idle(&mut self, now: Instant) {
        let idle_after = self.marks.registry().idle_timeout();
        for (id, state) in self.marks.registry().snapshot() {
            // A stream that ended here (a revoked partition) goes on at its
            // next owner: it keeps holding the parts' watermarks back.
            if state.hold || state.finished {
                continue;
            }
            let idle = self.marks.is_idle(id, &state, now, idle_after);
            if self.told_idle.get(&id) == Some(&idle) || (!idle && !self.told_idle.contains_key(&id)) {
                continue;
            }
            self.told_idle.insert(id, idle);
            let parts = self.sink.parts().max(1);
            let ack = AckToken::detached(u64::MAX);
            let records: Vec<PartRecord> =
                (0..parts).map(|_| self.record(&state, id, u64::MAX, idle, Vec::new())).collect();
            self.send_all(records.into_iter(), &ack);
        }
        for gone in self.marks.sweep() {
            self.told_idle.remove(&gone);
        }
    }
}
