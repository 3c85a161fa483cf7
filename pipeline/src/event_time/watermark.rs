//! Watermarks: how far in event time every stream has provably got, as the
//! detection stage sees it.
//!
//! The stage records each batch it receives ([`Watermarks::received`]); a
//! stream's time counts only over the contiguous prefix of batches the stage
//! has (a batch still in a worker may hold rows older than a later one). The
//! [`Frontier`] taken from that and the [registry](super::StreamRegistry)
//! gives each rule its watermark:
//!
//! ```text
//! watermark(rule) = min over active streams of (stream time − max(stream lateness, rule lateness))
//! ```
//!
//! * a stream with no batch yet holds everything back (its rows could be of any time);
//! * a finished stream whose batches have all arrived no longer counts;
//! * an idle stream (its source has waited for input longer than the idle
//!   timeout, and all it sent has arrived) no longer counts; when every
//!   stream is idle the watermark follows the most advanced of them;
//! * the stage never lets a watermark go back ([`crate::detect`] keeps the
//!   highest it released).
//!
//! The stage also keeps, per stream key, how far it has read and its stream
//! time: what a checkpoint stores so sources resume there.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use super::clock::PrefixMax;
use super::streams::{Resume, StreamId, StreamPos, StreamRegistry, StreamState};
use super::Micros;

/// The stage's view of every stream; see the module docs.
#[derive(Debug)]
pub struct Watermarks {
    registry: Arc<StreamRegistry>,
    received: HashMap<StreamId, PrefixMax>,
    table: BTreeMap<String, Resume>,
}

/// Every stream's time and lateness at one moment, split into the streams
/// that hold watermarks back and the idle ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    /// (stream time, lateness) of streams that hold watermarks back.
    pub active: Vec<(Option<Micros>, Micros)>,
    /// (stream time, lateness) of idle streams.
    pub idle: Vec<(Option<Micros>, Micros)>,
}

impl Frontier {
    /// The watermark of a rule that allows `rule_lateness`: rows older than
    /// it can no longer arrive (unless late). `None`: nothing is settled yet.
    pub fn watermark(&self, rule_lateness: Micros) -> Option<Micros> {
        let settled = |(t, l): &(Option<Micros>, Micros)| t.map(|t| t.saturating_sub((*l).max(rule_lateness)));
        if !self.active.is_empty() {
            let mut min: Option<Micros> = None;
            for s in &self.active {
                let w = settled(s)?;
                min = Some(min.map_or(w, |m| m.min(w)));
            }
            return min;
        }
        self.idle.iter().filter_map(settled).max()
    }
}

impl Watermarks {
    /// Watermarks over the streams of `registry`.
    pub fn new(registry: Arc<StreamRegistry>) -> Self {
        Watermarks { registry, received: HashMap::new(), table: BTreeMap::new() }
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<StreamRegistry> {
        &self.registry
    }

    /// The stage received the batch at `pos`, whose newest event time is `newest`.
    pub fn received(&mut self, pos: &StreamPos, newest: Option<Micros>) {
        let Some(state) = self.registry.get(pos.stream) else { return };
        let prefix = self.received.entry(pos.stream).or_insert_with(|| PrefixMax::starting_at(state.initial_time));
        if prefix.insert(pos.seq, newest, pos.position) {
            self.table.insert(
                state.key.to_string(),
                Resume { name: state.name.to_string(), position: prefix.position(), stream_time: prefix.max() },
            );
        }
    }

    /// Every open stream's watermark: its time over the batches received
    /// without a gap, less its allowed lateness (by name; for metrics).
    pub fn stream_watermarks(&self) -> Vec<(Arc<str>, Micros)> {
        self.registry
            .snapshot()
            .into_iter()
            .filter_map(|(id, s)| Some((s.name, self.stream_time(id)?.saturating_sub(s.lateness))))
            .collect()
    }

    /// The stream time of `stream` over the batches received without a gap.
    pub fn stream_time(&self, stream: StreamId) -> Option<Micros> {
        self.received.get(&stream).and_then(PrefixMax::max)
    }

    /// Every stream's time and state now.
    pub fn frontier(&self, now: Instant) -> Frontier {
        let mut f = Frontier::default();
        let idle_after = self.registry.idle_timeout();
        for (id, s) in self.registry.snapshot() {
            let prefix = self.received.get(&id);
            let all_in = prefix.map_or(0, PrefixMax::len) >= s.sent;
            let time = prefix.and_then(PrefixMax::max).or(s.initial_time);
            if s.finished && all_in {
                continue;
            }
            if self.is_idle(id, &s, now, idle_after) {
                f.idle.push((time, s.lateness));
            } else {
                f.active.push((time, s.lateness));
            }
        }
        f
    }

    /// Whether `stream` (whose registry state is `s`) has every batch its
    /// source sent here and its source has ended or has waited for input
    /// longer than `idle_after`: it no longer holds watermarks back.
    pub fn is_idle(&self, stream: StreamId, s: &StreamState, now: Instant, idle_after: std::time::Duration) -> bool {
        let all_in = self.received.get(&stream).map_or(0, PrefixMax::len) >= s.sent;
        all_in && (s.finished || s.waiting_since.is_some_and(|w| now.saturating_duration_since(w) >= idle_after))
    }

    /// Forget streams that ended and whose batches have all arrived; their ids.
    pub fn sweep(&mut self) -> Vec<StreamId> {
        let mut gone = Vec::new();
        for (id, s) in self.registry.snapshot() {
            let all_in = self.received.get(&id).map_or(0, PrefixMax::len) >= s.sent;
            if s.finished && all_in {
                self.registry.remove(id);
                self.received.remove(&id);
                gone.push(id);
            }
        }
        gone
    }

    /// Per stream key, how far it was read and its stream time.
    pub fn table(&self) -> &BTreeMap<String, Resume> {
        &self.table
    }

    /// Start from a checkpointed table (sources resume from it).
    pub fn restore(&mut self, table: BTreeMap<String, Resume>) {
        self.registry.set_resume(table.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
        self.table = table;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_time::streams::Position;
    use std::time::Duration;

    const S: Micros = 1_000_000;

    #[test]
    fn the_slowest_active_stream_sets_the_watermark() {
        let reg = StreamRegistry::new(Duration::from_secs(10), Duration::from_secs(30));
        let opener = reg.opener(None);
        let mut w = Watermarks::new(reg.clone());
        let mut a = opener.open("a", "a");
        let mut b = opener.open("b", "b");
        let now = Instant::now();
        assert_eq!(w.frontier(now).watermark(0), None, "no stream has sent anything");
        let a0 = a.next_pos(Position::default());
        w.received(&a0, Some(100 * S));
        assert_eq!(w.frontier(now).watermark(0), None, "b holds it back");
        let b0 = b.next_pos(Position::default());
        let b1 = b.next_pos(Position { record: 7, byte: 70 });
        w.received(&b1, Some(500 * S));
        assert_eq!(w.frontier(now).watermark(0), None, "b's first batch has not arrived");
        w.received(&b0, Some(60 * S));
        assert_eq!(w.frontier(now).watermark(0), Some(90 * S), "a's 100 s minus 10 s lateness");
        assert_eq!(w.frontier(now).watermark(30 * S), Some(70 * S), "a rule allowing more lateness");
        assert_eq!(w.table()["b"].position.record, 7);
        drop(a);
        assert_eq!(w.frontier(now).watermark(0), Some(490 * S), "a ended: only b counts");
        assert_eq!(w.sweep(), vec![a0.stream]);
    }

    #[test]
    fn idle_streams_stop_holding_the_watermark_back() {
        let reg = StreamRegistry::new(Duration::from_secs(0), Duration::from_millis(0));
        let opener = reg.opener(None);
        let mut w = Watermarks::new(reg.clone());
        let mut a = opener.open("a", "a");
        let b = opener.open("b", "b");
        let a0 = a.next_pos(Position::default());
        w.received(&a0, Some(100 * S));
        assert_eq!(w.frontier(Instant::now()).watermark(0), None);
        b.set_waiting(true);
        assert_eq!(w.frontier(Instant::now()).watermark(0), Some(100 * S), "b waits for input: idle");
        a.set_waiting(true);
        assert_eq!(w.frontier(Instant::now()).watermark(0), Some(100 * S), "all idle: the most advanced");
        let a1 = a.next_pos(Position::default());
        assert_eq!(w.frontier(Instant::now()).watermark(0), Some(100 * S));
        assert!(!w.frontier(Instant::now()).active.is_empty(), "a sent a batch the stage has not seen");
        w.received(&a1, Some(120 * S));
    }

    #[test]
    fn a_source_holds_the_watermark_back_until_it_opened_its_streams() {
        let reg = StreamRegistry::new(Duration::from_secs(0), Duration::from_secs(3600));
        let mut w = Watermarks::new(reg.clone());
        let first = reg.held_opener("first", None);
        let late = reg.held_opener("late", None);
        let mut a = first.open("a", "a");
        first.opened();
        let a0 = a.next_pos(Position::default());
        w.received(&a0, Some(100 * S));
        assert_eq!(w.frontier(Instant::now()).watermark(0), None, "`late` has not opened its streams");
        let b = late.open("b", "b");
        late.opened();
        late.opened();
        assert_eq!(w.frontier(Instant::now()).watermark(0), None, "b has sent nothing yet");
        drop(b);
        assert_eq!(w.frontier(Instant::now()).watermark(0), Some(100 * S));
        assert!(w.sweep().len() >= 2, "ended holds are swept like streams");
        assert!(w.table().keys().all(|k| k == "a"), "a hold is never checkpointed");

        // A hold ends with the source's last opener, or idles out while the source waits.
        let gone = reg.held_opener("gone", None);
        let copy = gone.clone();
        drop(gone);
        assert_eq!(w.frontier(Instant::now()).watermark(0), None, "a clone of the opener still holds");
        drop(copy);
        assert_eq!(w.frontier(Instant::now()).watermark(0), Some(100 * S));
        let quick = StreamRegistry::new(Duration::from_secs(0), Duration::from_millis(0));
        let mut w = Watermarks::new(quick.clone());
        let kafka = quick.held_opener("kafka", None);
        let files = quick.held_opener("files", None);
        let mut f = files.open("f", "f");
        files.opened();
        w.received(&f.next_pos(Position::default()), Some(50 * S));
        assert_eq!(w.frontier(Instant::now()).watermark(0), None);
        kafka.set_waiting(true);
        assert_eq!(w.frontier(Instant::now()).watermark(0), Some(50 * S), "waiting for its assignment: idle");
        kafka.set_waiting(false);
        assert_eq!(w.frontier(Instant::now()).watermark(0), None);
    }
}
