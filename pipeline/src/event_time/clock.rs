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
    /// each batch the prefix grows by, `on_advance(seq, max before seq)` is
    /// called in order. Returns whether the prefix grew.
    pub fn insert_with(
        &mut self,
        seq: u64,
        value: Option<Micros>,
        position: Position,
        mut on_advance: impl FnMut(u64, Option<Micros>),
    ) -> bool {
        if seq < self.next {
            return false;
        }
        self.pending.insert(seq, (value, position));
        let mut grew = false;
        while let Some((v, p)) = self.pending.remove(&self.next) {
            on_advance(self.next, self.max);
            self.max = max_opt(self.max, v);
            self.position = p;
            self.next += 1;
            grew = true;
        }
        grew
    }

    /// Record batch `seq`; returns whether the prefix grew.
    pub fn insert(&mut self, seq: u64, value: Option<Micros>, position: Position) -> bool {
        self.insert_with(seq, value, position, |_, _| {})
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
            });
            let before = &mut clock.before;
            let grew = clock.prefix.insert_with(pos.seq, newest, pos.position, |seq, max| {
                before.insert(seq, max);
            });
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
        assert!(p.insert_with(0, Some(10), Position { record: 5, byte: 0 }, |s, m| seen.push((s, m))));
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
