//! End-to-end acknowledgements: how a source learns that everything derived
//! from one of its batches was durably written (or failed).
//!
//! A source creates one [`AckToken`] per batch. Every stage that keeps data
//! derived from the batch keeps a clone of the token; a sink drops its clone
//! only after the data is durable. When the last clone drops, the source's
//! [`AckReceiver`] gets an [`AckReport`] with the batch id and whether any
//! holder marked it failed. Nothing has to remember to "send the ack": it is
//! the token's lifetime.
//!
//! [`OffsetTracker`] turns out-of-order reports into the contiguous prefix
//! of offsets that may be committed (per file, per Kafka partition).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

/// Final state of a batch once every holder released it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStatus {
    /// Every sink durably wrote what it received from the batch.
    Delivered,
    /// At least one sink failed to write part of the batch.
    Failed,
}

/// Sent to the source when a batch's last token clone drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckReport {
    /// The id the source gave the batch.
    pub batch_id: u64,
    /// Delivered or failed.
    pub status: BatchStatus,
}

/// Called once when a batch is released, with its final status.
type ReleaseHook = Box<dyn FnOnce(BatchStatus) + Send>;

struct AckInner {
    batch_id: u64,
    failed: AtomicBool,
    tx: Option<mpsc::UnboundedSender<AckReport>>,
    hooks: Mutex<Vec<ReleaseHook>>,
}

impl Drop for AckInner {
    fn drop(&mut self) {
        let status = if self.failed.load(Ordering::Acquire) { BatchStatus::Failed } else { BatchStatus::Delivered };
        let hooks = std::mem::take(self.hooks.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner()));
        for hook in hooks {
            hook(status);
        }
        if let Some(tx) = self.tx.take() {
            // The source may have gone away (forced shutdown): nothing to tell then.
            let _ = tx.send(AckReport { batch_id: self.batch_id, status });
        }
    }
}

/// Shared handle on one source batch; see the module docs.
#[derive(Clone)]
pub struct AckToken(Arc<AckInner>);

impl std::fmt::Debug for AckToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckToken").field("batch_id", &self.0.batch_id).finish()
    }
}

impl AckToken {
    /// A token that reports nowhere (tests, `floodlight parse`).
    pub fn detached(batch_id: u64) -> Self {
        AckToken(Arc::new(AckInner { batch_id, failed: AtomicBool::new(false), tx: None, hooks: Mutex::default() }))
    }

    /// Run `hook` when the batch is released (every holder let go), with its
    /// final status, before the source hears about it. Rule-state
    /// checkpoints use it to know when what a batch changed is durable.
    pub fn on_release(&self, hook: impl FnOnce(BatchStatus) + Send + 'static) {
        self.0.hooks.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(Box::new(hook));
    }

    /// The batch id.
    pub fn batch_id(&self) -> u64 {
        self.0.batch_id
    }

    /// Mark the batch failed; the report will say [`BatchStatus::Failed`].
    pub fn fail(&self) {
        self.0.failed.store(true, Ordering::Release);
    }
}

/// Creates tokens for a source and receives their reports.
pub struct AckReceiver {
    tx: mpsc::UnboundedSender<AckReport>,
    rx: mpsc::UnboundedReceiver<AckReport>,
    next_id: u64,
    outstanding: u64,
}

impl Default for AckReceiver {
    fn default() -> Self {
        Self::new()
    }
}

impl AckReceiver {
    /// A new receiver with no outstanding batches.
    pub fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        AckReceiver { tx, rx, next_id: 0, outstanding: 0 }
    }

    /// A token for a new batch; its id is returned by [`AckToken::batch_id`].
    pub fn token(&mut self) -> AckToken {
        let id = self.next_id;
        self.next_id += 1;
        self.outstanding += 1;
        AckToken(Arc::new(AckInner {
            batch_id: id,
            failed: AtomicBool::new(false),
            tx: Some(self.tx.clone()),
            hooks: Mutex::default(),
        }))
    }

    /// Batches handed out and not yet reported.
    pub fn outstanding(&self) -> u64 {
        self.outstanding
    }

    /// A report that is ready now, without waiting.
    pub fn try_recv(&mut self) -> Option<AckReport> {
        let r = self.rx.try_recv().ok()?;
        self.outstanding -= 1;
        Some(r)
    }

    /// Wait for the next report; `None` when nothing is outstanding.
    pub async fn recv(&mut self) -> Option<AckReport> {
        if self.outstanding == 0 {
            return None;
        }
        let r = self.rx.recv().await?;
        self.outstanding -= 1;
        Some(r)
    }
}

/// Tracks ranges of offsets in flight for one stream (a file, a Kafka
/// partition) and yields the highest offset below which everything is
/// acknowledged. A failed batch blocks the prefix: nothing after it is
/// committed until it is retried and delivered.
#[derive(Debug, Default, Clone)]
pub struct OffsetTracker {
    /// first offset → (last offset, delivered?)
    pending: BTreeMap<u64, (u64, bool)>,
    committed: Option<u64>,
}

impl OffsetTracker {
    /// Register a batch covering `first..=last`.
    pub fn begin(&mut self, first: u64, last: u64) {
        self.pending.insert(first, (last, false));
    }

    /// Mark the batch starting at `first` delivered; returns the new
    /// committable offset when it advanced.
    pub fn delivered(&mut self, first: u64) -> Option<u64> {
        if let Some(entry) = self.pending.get_mut(&first) {
            entry.1 = true;
        }
        let mut advanced = None;
        while let Some((&start, &(last, done))) = self.pending.iter().next() {
            if !done {
                break;
            }
            self.pending.remove(&start);
            self.committed = Some(last);
            advanced = Some(last);
        }
        advanced
    }

    /// Forget every batch starting at or after `first` (they will be read
    /// again): a failed batch rewinds its stream to its first offset.
    pub fn rewind(&mut self, first: u64) {
        self.pending.retain(|&start, _| start < first);
    }

    /// Offsets up to `last` need no delivery (a checkpoint of the rule
    /// state holds them, so they were skipped): with nothing in flight
    /// before them, they join the committable prefix.
    pub fn covered(&mut self, last: u64) {
        if self.pending.first_key_value().is_none_or(|(&start, _)| start > last) {
            self.committed = Some(self.committed.map_or(last, |c| c.max(last)));
        }
    }

    /// The last offset of the acknowledged contiguous prefix.
    pub fn committed(&self) -> Option<u64> {
        self.committed
    }

    /// Batches still in flight.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn report_arrives_when_the_last_clone_drops() {
        let mut acks = AckReceiver::new();
        let t = acks.token();
        let sink_a = t.clone();
        let sink_b = t.clone();
        drop(t);
        drop(sink_a);
        assert!(acks.try_recv().is_none(), "one holder still has it");
        sink_b.fail();
        drop(sink_b);
        let r = acks.recv().await.unwrap();
        assert_eq!(r, AckReport { batch_id: 0, status: BatchStatus::Failed });
        assert_eq!(acks.outstanding(), 0);
        assert!(acks.recv().await.is_none());
    }

    #[tokio::test]
    async fn release_hooks_run_once_with_the_final_status() {
        let mut acks = AckReceiver::new();
        let t = acks.token();
        let seen = Arc::new(Mutex::new(Vec::new()));
        for n in 0..2 {
            let seen = seen.clone();
            t.on_release(move |s| seen.lock().unwrap().push((n, s)));
        }
        let held = t.clone();
        drop(t);
        assert!(seen.lock().unwrap().is_empty(), "not released while a holder keeps it");
        held.fail();
        drop(held);
        assert_eq!(*seen.lock().unwrap(), [(0, BatchStatus::Failed), (1, BatchStatus::Failed)]);
        assert_eq!(acks.recv().await.unwrap().status, BatchStatus::Failed);
    }

    #[test]
    fn tracker_commits_only_the_contiguous_prefix() {
        let mut t = OffsetTracker::default();
        t.begin(0, 9);
        t.begin(10, 19);
        t.begin(20, 29);
        assert_eq!(t.delivered(10), None, "0..9 still pending");
        assert_eq!(t.committed(), None);
        assert_eq!(t.delivered(0), Some(19));
        assert_eq!(t.delivered(20), Some(29));
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn covered_offsets_join_the_prefix_only_with_nothing_in_flight_before_them() {
        let mut t = OffsetTracker::default();
        t.covered(4);
        assert_eq!(t.committed(), Some(4), "skipped records are committable");
        t.begin(5, 9);
        t.covered(12);
        assert_eq!(t.committed(), Some(4), "5..9 is still in flight");
        assert_eq!(t.delivered(5), Some(9));
        t.covered(3);
        assert_eq!(t.committed(), Some(9), "never moves back");
    }

    #[test]
    fn rewind_forgets_the_failed_batch_and_everything_after_it() {
        let mut t = OffsetTracker::default();
        t.begin(0, 9);
        t.begin(10, 19);
        t.begin(20, 29);
        assert_eq!(t.delivered(20), None);
        t.rewind(10);
        assert_eq!(t.in_flight(), 1, "only 0..9 is left");
        assert_eq!(t.delivered(0), Some(9), "nothing past the rewound batch is committed");
        t.begin(10, 29);
        assert_eq!(t.delivered(10), Some(29));
    }
}
