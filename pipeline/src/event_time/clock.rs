//! Stream time: the newest event time of a stream's contiguous prefix of
//! batches, whatever order the batches are processed in.
//!
//! [`PrefixMax`] folds `(batch number, batch's newest event time)` pairs that
//! arrive in any order into the maximum over batches `0..n` with no gap.
//! [`StreamClocks`] is the workers' shared view: a worker that decoded batch
//! `n` publishes its newest event time, then waits (briefly: batch `n − 1`
//! was taken from the queue before it) for the stream time of everything
//! before `n`, against which its rows' lateness is judged. Every batch taken
//! from the queue must be published, even when it fails, or its successors
//! would wait for it; [`Publication`] does it on drop.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::streams::{Position, StreamId, StreamPos, StreamRegistry};
use super::Micros;

/// The maximum over the contiguous prefix of out-of-order batch values.
#[derive(Debug, Clone, Default)]
pub struct PrefixMax {
    /// Batches `0..next` are folded in.
    next: u64,
    max: Option<Micros>,
    position: Position,
    pending: BTreeMap<u64, (Option<Micros>, Position)>,
}

impl PrefixMax {
    /// A prefix that starts from `max` (a checkpointed stream time).
    pub fn starting_at(max: Option<Micros>) -> Self {
        PrefixMax { max, ..Default::default() }
    }

    /// Record batch `seq`'s newest event time and the position after it. For
    /// each batch the prefix grows by, `on_advance(seq, max before seq, its
    /// newest time, the position after it)` is called in order. Returns
    /// whether the prefix grew.
    pub fn insert_with(
        &mut self,
        seq: u64,
        value: Option<Micros>,
        position: Position,
        mut on_advance: impl FnMut(u64, Option<Micros>, Option<Micros>, Position),
    ) -> bool {
        if seq < self.next {
            return false;
        }
        self.pending.insert(seq, (value, position));
        let mut grew = false;
        while let Some((v, p)) = self.pending.remove(&self.next) {
            on_advance(self.next, self.max, v, p);
            self.max = max_opt(self.max, v);
            self.position = p;
            self.next += 1;
            grew = true;
        }
        grew
    }

    /// Record batch `seq`; returns whether the prefix grew.
    pub fn insert(&mut self, seq: u64, value: Option<Micros>, position: Position) -> bool {
        self.insert_with(seq, value, position, |_, _, _, _| {})
    }

    /// The newest event time of the prefix.
    pub fn max(&self) -> Option<Micros> {
        self.max
    }

    /// How many batches the prefix holds.
    pub fn len(&self) -> u64 {
        self.next
    }

    /// Whether the prefix holds no batch.
    pub fn is_empty(&self) -> bool {
        self.next == 0
    }

    /// The position after the prefix's last batch.
    pub fn position(&self) -> Position {
        self.position
    }

    /// Batches seen beyond a gap.
    pub fn waiting(&self) -> usize {
        self.pending.len()
    }
}

/// The larger of two optional times.
pub fn max_opt(a: Option<Micros>, b: Option<Micros>) -> Option<Micros> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) | (None, x) => x,
    }
}

#[derive(Debug, Default)]
struct WorkerClock {
    prefix: PrefixMax,
    /// Stream time before each batch, for batches whose worker has not taken it yet.
    before: HashMap<u64, Option<Micros>>,
    /// Stream time before each of the last [`HISTORY`] batches, for a re-read.
    history: BTreeMap<u64, Option<Micros>>,
    /// A re-read in progress.
    replay: Option<Replay>,
}

/// Batches whose stream time a clock remembers for a re-read: more than a
/// source keeps in flight, so a failed batch is always among them.
const HISTORY: usize = 4096;

/// A re-read (see [`crate::event_time::streams::Rewind`]): from batch
/// `from`, batches that end by `until` are judged against `max`, the stream
/// time of the records before them in the stream, grown batch by batch.
#[derive(Debug, Clone, Copy)]
struct Replay {
    from: u64,
    until: Position,
    max: Option<Micros>,
}

impl WorkerClock {
    /// Take up a source's re-read, when the failed batch's time is known.
    fn rewind(&mut self, r: crate::event_time::streams::Rewind) {
        if let Some(max) = self.history.get(&r.failed) {
            self.replay = Some(Replay { from: r.replay_from, until: r.until, max: *max });
        }
    }

    /// The stream time before batch `seq` (which ends at `position`, newest
    /// time `value`), `max` being the newest time of every batch before it.
    /// Batches of a re-read get the time of the records before them, as
    /// the first time they were read.
    fn before_batch(
        &mut self,
        seq: u64,
        max: Option<Micros>,
        value: Option<Micros>,
        position: Position,
    ) -> Option<Micros> {
        let before = match &mut self.replay {
            Some(r) if seq >= r.from => {
                let before = r.max;
                r.max = max_opt(r.max, value);
                if position >= r.until {
                    // The re-read has caught up with where the stream was read.
                    self.replay = None;
                }
                before
            }
            _ => max,
        };
        self.history.insert(seq, before);
        while self.history.len() > HISTORY {
            self.history.pop_first();
        }
        before
    }
}

/// The workers' view of every stream's time; see the module docs.
#[derive(Debug)]
pub struct StreamClocks {
    registry: Option<Arc<StreamRegistry>>,
    clocks: Mutex<HashMap<StreamId, WorkerClock>>,
    published: Notify,
}

impl StreamClocks {
    /// Clocks for the streams of `registry` (which seeds checkpointed stream times).
    pub fn new(registry: Option<Arc<StreamRegistry>>) -> Arc<StreamClocks> {
        Arc::new(StreamClocks { registry, clocks: Mutex::default(), published: Notify::new() })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<StreamId, WorkerClock>> {
        self.clocks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publish the newest event time of the batch at `pos` (`None`: it had no events).
    pub fn publish(&self, pos: &StreamPos, newest: Option<Micros>) {
        if pos.is_detached() {
            return;
        }
        {
            let mut clocks = self.lock();
            let clock = clocks.entry(pos.stream).or_insert_with(|| WorkerClock {
                prefix: PrefixMax::starting_at(
                    self.registry.as_ref().and_then(|r| r.get(pos.stream)).and_then(|s| s.initial_time),
                ),
                before: HashMap::new(),
                history: BTreeMap::new(),
                replay: None,
            });
            if let Some(r) = self.registry.as_ref().and_then(|reg| reg.take_rewind(pos.stream)) {
                clock.rewind(r);
            }
            let mut advanced = Vec::new();
            let grew = clock.prefix.insert_with(pos.seq, newest, pos.position, |seq, max, value, position| {
                advanced.push((seq, max, value, position));
            });
            for (seq, max, value, position) in advanced {
                let before = clock.before_batch(seq, max, value, position);
                clock.before.insert(seq, before);
            }
            if let (true, Some(r)) = (grew, &self.registry) {
                r.set_stream_time(pos.stream, clock.prefix.max());
            }
        }
        self.published.notify_waiters();
    }

    /// The stream time before the batch at `pos` (the newest event time of
    /// every earlier batch of its stream), once those are all published. Call
    /// after [`StreamClocks::publish`] for `pos`. `None` when the stream had no
    /// event before, or `stop` was cancelled while waiting.
    pub async fn before(&self, pos: &StreamPos, stop: &CancellationToken) -> Option<Micros> {
        if pos.is_detached() {
            return None;
        }
        loop {
            let notified = self.published.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut clocks = self.lock();
                if let Some(v) = clocks.get_mut(&pos.stream).and_then(|c| c.before.remove(&pos.seq)) {
                    return v;
                }
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = stop.cancelled() => return None,
            }
        }
    }

    /// Forget a stream whose batches have all been processed.
    pub fn forget(&self, stream: StreamId) {
        self.lock().remove(&stream);
    }

    /// A guard that publishes `pos` with no events if nothing else did.
    pub fn publication(self: &Arc<Self>, pos: StreamPos) -> Publication {
        Publication { clocks: self.clone(), pos, done: false }
    }
}

/// Publishes its batch on drop unless [`Publication::publish`] was called,
/// so a batch that fails (or a worker that panics) never blocks the batches
/// after it.
#[derive(Debug)]
pub struct Publication {
    clocks: Arc<StreamClocks>,
    pos: StreamPos,
    done: bool,
}

impl Publication {
    /// Publish the batch's newest event time.
    pub fn publish(&mut self, newest: Option<Micros>) {
        if !self.done {
            self.done = true;
            self.clocks.publish(&self.pos, newest);
        }
    }
}

impl Drop for Publication {
    fn drop(&mut self) {
        self.publish(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pos(seq: u64) -> StreamPos {
        StreamPos { stream: StreamId(1), seq, position: Position { record: seq, byte: 0 } }
    }

    #[test]
    fn prefix_max_only_counts_batches_without_a_gap() {
        let mut p = PrefixMax::default();
        assert!(!p.insert(1, Some(50), Position::default()), "batch 0 is missing");
        assert_eq!((p.max(), p.len(), p.waiting()), (None, 0, 1));
        let mut seen = Vec::new();
        assert!(p.insert_with(0, Some(10), Position { record: 5, byte: 0 }, |s, m, _, _| seen.push((s, m))));
        assert_eq!(seen, [(0, None), (1, Some(10))]);
        assert_eq!((p.max(), p.len()), (Some(50), 2));
        assert!(!p.insert(1, Some(99), Position::default()), "a batch already folded in is ignored");
        p.insert(2, None, Position { record: 9, byte: 0 });
        assert_eq!((p.max(), p.position().record), (Some(50), 9), "a batch without events keeps the time");
    }

    #[tokio::test]
    async fn a_batch_learns_the_time_of_every_batch_before_it_whatever_the_order() {
        let clocks = StreamClocks::new(None);
        let stop = CancellationToken::new();
        clocks.publish(&pos(2), Some(300));
        clocks.publish(&pos(0), Some(100));
        let waiting = {
            let clocks = clocks.clone();
            let stop = stop.clone();
            tokio::spawn(async move { clocks.before(&pos(2), &stop).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "batch 1 is not published yet");
        {
            let mut guard = clocks.publication(pos(1));
            guard.publish(Some(50));
        }
        assert_eq!(waiting.await.unwrap(), Some(100), "max of batches 0 and 1");
        assert_eq!(clocks.before(&pos(0), &stop).await, None, "nothing before the first batch");
        assert_eq!(clocks.before(&pos(1), &stop).await, Some(100));
    }

    /// A source re-reads from a failed batch: the re-read batches are judged
    /// against the stream time their records had the first time (the
    /// records before them), not against the records read after them; once
    /// the re-read passes where the stream had been read, the whole stream's
    /// time applies again.
    #[tokio::test]
    async fn a_re_read_keeps_the_stream_time_of_the_first_read() {
        let registry = StreamRegistry::new(Duration::from_secs(60), Duration::from_secs(60));
        let mut stream = registry.opener(None).open("kafka:t/0", "kafka:t/0");
        let clocks = StreamClocks::new(Some(registry.clone()));
        let stop = CancellationToken::new();
        // First read: records 0-29 in three batches, times 100, 900, 500.
        let first: Vec<StreamPos> = (0..3).map(|i| stream.next_pos(Position { record: 9 + 10 * i, byte: 0 })).collect();
        for (p, t) in first.iter().zip([100, 900, 500]) {
            clocks.publish(p, Some(t));
        }
        assert_eq!(clocks.before(&first[1], &stop).await, Some(100));
        assert_eq!(clocks.before(&first[2], &stop).await, Some(900));
        // Batch 1 failed: the source reads records 10-39 again, in batches
        // of 15 (the last goes past where it had read).
        stream.rewind(first[1].seq);
        let again: Vec<StreamPos> =
            [24, 39].iter().map(|&r| stream.next_pos(Position { record: r, byte: 0 })).collect();
        clocks.publish(&again[0], Some(900));
        clocks.publish(&again[1], Some(950));
        assert_eq!(clocks.before(&again[0], &stop).await, Some(100), "as batch 1 the first time");
        assert_eq!(clocks.before(&again[1], &stop).await, Some(900), "records 10-24 before it");
        // After the re-read, the stream time of everything read.
        let next = stream.next_pos(Position { record: 49, byte: 0 });
        clocks.publish(&next, Some(960));
        assert_eq!(clocks.before(&next, &stop).await, Some(950));
    }

    #[tokio::test]
    async fn a_dropped_publication_unblocks_the_next_batch() {
        let clocks = StreamClocks::new(None);
        let stop = CancellationToken::new();
        clocks.publish(&pos(1), Some(5));
        drop(clocks.publication(pos(0)));
        assert_eq!(clocks.before(&pos(1), &stop).await, None);
        clocks.publish(&pos(7), Some(1));
        stop.cancel();
        assert_eq!(clocks.before(&pos(7), &stop).await, None, "cancelled while waiting");
    }
}
