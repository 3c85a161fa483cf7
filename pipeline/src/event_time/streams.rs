//! Streams: the ordered inputs event time is tracked per.
//!
//! A source [opens](StreamOpener::open) one [`StreamHandle`] per stream
//! (a file, a Kafka partition, standard input) *before* it reads from it:
//! from then on the stream holds the watermark back until its first batch
//! has been seen, so no rule concludes anything its records could still
//! change. Every batch the source sends is numbered by
//! [`StreamHandle::next_pos`]; the handle says when the source is
//! [waiting](StreamHandle::set_waiting) for more input (an idle stream stops
//! holding the watermark back after the idle timeout) and when the stream
//! [ended](StreamHandle::finish) (dropping the handle ends it too).
//!
//! Streams have two names: `name` for people and logs (`file:/var/log/fw.log`)
//! and `key` for checkpoints: what identifies the stream across restarts
//! (for files a fingerprint of their first bytes, so a renamed or rotated file
//! is recognised; for Kafka `topic/partition`). A checkpoint stores, per key,
//! how far the stream was read and its stream time ([`Resume`]); sources ask
//! [`StreamOpener::resume`] where to continue.
//!
//! A source's streams are not known before it runs (files are listed, Kafka
//! partitions assigned), yet another source may already be sending. So the
//! pipeline gives each source a [held](StreamRegistry::held_opener) opener
//! before it starts any: the hold is a stream without records that keeps
//! every watermark back until the source says it has
//! [opened](StreamOpener::opened) the streams it reads first (or ends, or
//! waits for input longer than the idle timeout: a Kafka consumer still
//! waiting for its partitions). Without it, a source that happened to start
//! later would find the watermark already past its records and lose them as
//! late.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Micros;

/// A stream's id within one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u64);

/// How far a stream was read: after the last record of a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    /// The last record's number (line number in files, offset in Kafka).
    pub record: u64,
    /// Bytes of the stream consumed up to the end of that record (files; 0 elsewhere).
    pub byte: u64,
}

/// Where a batch sits in its stream: the stream, the batch's number (0, 1,
/// 2, ... in the order the source sent them) and the position after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamPos {
    /// The stream.
    pub stream: StreamId,
    /// The batch's sequence number within the stream.
    pub seq: u64,
    /// The position after the batch's last record.
    pub position: Position,
}

impl StreamPos {
    /// A position in no registered stream (tests, `floodlight parse`): the
    /// batch is the first and only one of a stream of its own.
    pub fn detached() -> StreamPos {
        StreamPos { stream: StreamId::DETACHED, seq: 0, position: Position::default() }
    }

    /// Whether the batch belongs to no registered stream.
    pub fn is_detached(&self) -> bool {
        self.stream == StreamId::DETACHED
    }
}

impl StreamId {
    /// The id of batches that belong to no registered stream.
    pub const DETACHED: StreamId = StreamId(u64::MAX);
}

/// What a checkpoint remembers of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// The stream's name when it was last read (`file:/var/log/fw.log`).
    pub name: String,
    /// Read up to here.
    pub position: Position,
    /// Its stream time then (newest event time seen).
    pub stream_time: Option<Micros>,
}

/// One registered stream, as the watermark sees it.
#[derive(Debug, Clone)]
pub struct StreamState {
    /// For people and logs.
    pub name: Arc<str>,
    /// For checkpoints.
    pub key: Arc<str>,
    /// Allowed lateness of its rows, microseconds.
    pub lateness: Micros,
    /// Batches the source has sent.
    pub sent: u64,
    /// The source will send nothing more.
    pub finished: bool,
    /// Since when the source has been waiting for input, if it is.
    pub waiting_since: Option<Instant>,
    /// The stream time it starts with (from a checkpoint).
    pub initial_time: Option<Micros>,
    /// Its stream time as the workers last published it (sources read the
    /// stream furthest behind first).
    pub stream_time: Option<Micros>,
    /// A source's hold while it opens its first streams, not a stream of
    /// records ([`StreamRegistry::held_opener`]).
    pub hold: bool,
}

impl StreamState {
    /// Start (or stop) counting how long the source has waited for input.
    fn set_waiting(&mut self, waiting: bool) {
        match (waiting, self.waiting_since) {
            (true, None) => self.waiting_since = Some(Instant::now()),
            (false, Some(_)) => self.waiting_since = None,
            _ => {}
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    streams: BTreeMap<StreamId, StreamState>,
    /// Re-reads sources asked for that the workers' clocks have not taken yet.
    rewinds: HashMap<StreamId, Rewind>,
    /// Checkpointed positions, by stream key.
    resume: HashMap<String, Resume>,
    /// With a rule-state directory: per stream key, the position the last
    /// checkpoint written holds (`None`: no checkpointing).
    durable: Option<HashMap<String, Position>>,
}

impl Inner {
    /// Register a stream (or a source's `hold`); its id.
    fn insert(
        &mut self,
        name: Arc<str>,
        key: Arc<str>,
        lateness: Micros,
        initial_time: Option<Micros>,
        hold: bool,
    ) -> StreamId {
        let id = StreamId(self.next_id);
        self.next_id += 1;
        let state = StreamState {
            name,
            key,
            lateness,
            sent: 0,
            finished: false,
            waiting_since: None,
            initial_time,
            stream_time: initial_time,
            hold,
        };
        self.streams.insert(id, state);
        id
    }
}

/// How far a source may commit a stream's offsets (Kafka).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitLimit {
    /// No rule state is checkpointed: whatever the sinks wrote.
    Delivered,
    /// Rule state is checkpointed: no further than the last checkpoint
    /// holds (`None`: nothing yet), so a restart re-reads what the state lacks.
    Checkpointed(Option<Position>),
}

/// Every stream of one pipeline. Shared by the sources (which open and
/// number streams), the workers and the detection stage.
pub struct StreamRegistry {
    inner: Mutex<Inner>,
    default_lateness: Micros,
    idle_timeout: Duration,
    /// Asked where a stream resumes when it is opened, before the table
    /// of [`StreamRegistry::set_resume`] (scale-out reads its changelog).
    resume_lookup: Mutex<Option<ResumeLookup>>,
}

/// Where a stream resumes, looked up when it is opened ([`StreamRegistry::set_resume_lookup`]).
pub type ResumeLookup = Arc<dyn Fn(&str) -> Option<Resume> + Send + Sync>;

impl std::fmt::Debug for StreamRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamRegistry")
            .field("inner", &self.inner)
            .field("default_lateness", &self.default_lateness)
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl StreamRegistry {
    /// A registry whose streams allow `default_lateness` unless their source
    /// says otherwise, and count as idle after `idle_timeout` of waiting.
    pub fn new(default_lateness: Duration, idle_timeout: Duration) -> Arc<StreamRegistry> {
        Arc::new(StreamRegistry {
            inner: Mutex::default(),
            default_lateness: super::micros(default_lateness),
            idle_timeout,
            resume_lookup: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long a waiting stream holds the watermark back.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// The lateness streams get by default, microseconds.
    pub fn default_lateness(&self) -> Micros {
        self.default_lateness
    }

    /// An opener for a source whose streams allow `lateness` (`None`: the default).
    pub fn opener(self: &Arc<Self>, lateness: Option<Duration>) -> StreamOpener {
        StreamOpener {
            registry: self.clone(),
            lateness: lateness.map_or(self.default_lateness, super::micros),
            hold: None,
        }
    }

    /// An opener for the source `source`, which holds every watermark back
    /// from now until the source has [opened](StreamOpener::opened) its
    /// first streams (see the module docs). Take one for every source before
    /// any of them starts.
    pub fn held_opener(self: &Arc<Self>, source: &str, lateness: Option<Duration>) -> StreamOpener {
        let mut opener = self.opener(lateness);
        let name: Arc<str> = Arc::from(format!("source:{source} (opening its streams)").as_str());
        let id = self.lock().insert(name.clone(), name, opener.lateness, None, true);
        opener.hold = Some(Arc::new(SourceHold { registry: self.clone(), id }));
        opener
    }

    /// Set the checkpointed positions sources resume from.
    pub fn set_resume(&self, resume: HashMap<String, Resume>) {
        self.lock().resume = resume;
    }

    /// Rule state is checkpointed: from now on commits go no further than
    /// the positions of the last checkpoint written ([`StreamRegistry::checkpointed`]).
    pub fn set_checkpointed(&self, positions: impl IntoIterator<Item = (String, Position)>) {
        self.lock().durable = Some(positions.into_iter().collect());
    }

    /// Rule state is checkpointed per stream: the state of `key` up to
    /// `position` is durable (other streams keep theirs).
    pub fn set_checkpointed_one(&self, key: &str, position: Position) {
        self.lock().durable.get_or_insert_with(HashMap::new).insert(key.to_string(), position);
    }

    /// Look up where a stream resumes when a source opens it (and asks
    /// [`StreamOpener::resume`]) with `lookup`, before the table.
    pub fn set_resume_lookup(&self, lookup: ResumeLookup) {
        *self.resume_lookup.lock().unwrap_or_else(|p| p.into_inner()) = Some(lookup);
    }

    /// How far the stream `key` may be committed.
    pub fn commit_limit(&self, key: &str) -> CommitLimit {
        match &self.lock().durable {
            None => CommitLimit::Delivered,
            Some(d) => CommitLimit::Checkpointed(d.get(key).copied()),
        }
    }

    /// A copy of every registered stream's state.
    pub fn snapshot(&self) -> Vec<(StreamId, StreamState)> {
        self.lock().streams.iter().map(|(id, s)| (*id, s.clone())).collect()
    }

    /// One stream's state.
    pub fn get(&self, id: StreamId) -> Option<StreamState> {
        self.lock().streams.get(&id).cloned()
    }

    /// The re-read a source started on `id` since the last call, if any
    /// ([`StreamHandle::rewind`]); taken by the workers' clocks.
    pub fn take_rewind(&self, id: StreamId) -> Option<Rewind> {
        self.lock().rewinds.remove(&id)
    }

    /// A stream's time as the workers last published it.
    pub fn stream_time(&self, id: StreamId) -> Option<Micros> {
        self.lock().streams.get(&id).and_then(|s| s.stream_time)
    }

    /// Record a stream's time (the workers' clocks do, as it advances).
    pub fn set_stream_time(&self, id: StreamId, time: Option<Micros>) {
        if let Some(s) = self.lock().streams.get_mut(&id) {
            s.stream_time = time;
        }
    }

    /// Forget a stream that ended and whose batches have all been consumed.
    pub fn remove(&self, id: StreamId) {
        self.lock().streams.remove(&id);
    }
}

/// What a source is given to open its streams.
#[derive(Debug, Clone)]
pub struct StreamOpener {
    registry: Arc<StreamRegistry>,
    lateness: Micros,
    /// The source's hold on the watermark, until it opened its first streams.
    hold: Option<Arc<SourceHold>>,
}

/// A stream without records that holds the watermark back while its source
/// opens its first streams; ends when [`StreamOpener::opened`] is called or
/// the last clone of the opener goes.
#[derive(Debug)]
struct SourceHold {
    registry: Arc<StreamRegistry>,
    id: StreamId,
}

impl SourceHold {
    fn state(&self, change: impl FnOnce(&mut StreamState)) {
        if let Some(s) = self.registry.lock().streams.get_mut(&self.id) {
            change(s);
        }
    }
}

impl Drop for SourceHold {
    fn drop(&mut self) {
        self.state(|s| s.finished = true);
    }
}

impl StreamOpener {
    /// An opener on a registry of its own (tests, tools).
    pub fn standalone() -> StreamOpener {
        StreamRegistry::new(Duration::from_secs(60), Duration::from_secs(30)).opener(None)
    }

    /// Register a stream named `name` (for people), identified across restarts
    /// by `key`. It holds the watermark back from now on.
    pub fn open(&self, name: &str, key: &str) -> StreamHandle {
        let name: Arc<str> = Arc::from(name);
        let mut inner = self.registry.lock();
        let initial_time = inner.resume.get(key).and_then(|r| r.stream_time);
        let id = inner.insert(name.clone(), Arc::from(key), self.lateness, initial_time, false);
        StreamHandle {
            registry: self.registry.clone(),
            id,
            name,
            next_seq: 0,
            sent_until: Position::default(),
            finished: false,
        }
    }

    /// Whether `name` already names another stream (registered now, or in the
    /// checkpoint) than the one keyed `key`: record origins and event ids
    /// derive from names, so two streams must not share one.
    pub fn name_taken(&self, name: &str, key: &str) -> bool {
        let inner = self.registry.lock();
        inner.streams.values().any(|s| &*s.name == name && &*s.key != key)
            || inner.resume.iter().any(|(k, r)| r.name == name && k != key)
    }

    /// The source has opened the streams it reads first: its hold on the
    /// watermark ends (streams it opens later start from their own first
    /// batch, as new files and reassigned partitions do). Idempotent.
    pub fn opened(&self) {
        if let Some(hold) = &self.hold {
            hold.state(|s| s.finished = true);
        }
    }

    /// Say whether the source is waiting for input before it could open its
    /// first streams (a Kafka consumer waiting for its assignment): after the
    /// idle timeout its hold stops holding the watermark back.
    pub fn set_waiting(&self, waiting: bool) {
        if let Some(hold) = &self.hold {
            hold.state(|s| s.set_waiting(waiting));
        }
    }

    /// Where the last checkpoint says the stream `key` was read up to.
    pub fn resume(&self, key: &str) -> Option<Resume> {
        let lookup = self.registry.resume_lookup.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(found) = lookup.and_then(|l| l(key)) {
            return Some(found);
        }
        self.registry.lock().resume.get(key).cloned()
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<StreamRegistry> {
        &self.registry
    }
}

/// A source re-reads part of a stream (a batch failed to be written):
/// the batches from `replay_from` on hold records already read up to
/// `until`, and their rows are as late as they were the first time, against
/// the stream time before batch `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewind {
    /// The batch that failed: the re-read starts at its first record.
    pub failed: u64,
    /// The first batch of the re-read.
    pub replay_from: u64,
    /// The position after the last record read before the re-read.
    pub until: Position,
}

/// A source's handle on one of its streams.
#[derive(Debug)]
pub struct StreamHandle {
    registry: Arc<StreamRegistry>,
    id: StreamId,
    name: Arc<str>,
    next_seq: u64,
    /// The position after the last batch sent.
    sent_until: Position,
    finished: bool,
}

impl StreamHandle {
    /// The stream's id.
    pub fn id(&self) -> StreamId {
        self.id
    }

    /// The stream's name.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The position of the next batch sent, which ends at `position`.
    pub fn next_pos(&mut self, position: Position) -> StreamPos {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.sent_until = self.sent_until.max(position);
        let mut inner = self.registry.lock();
        if let Some(s) = inner.streams.get_mut(&self.id) {
            s.sent = self.next_seq;
            s.waiting_since = None;
        }
        StreamPos { stream: self.id, seq, position }
    }

    /// Batches sent so far.
    pub fn sent(&self) -> u64 {
        self.next_seq
    }

    /// The source re-reads the stream from the first record of batch
    /// `failed` (a sink could not write it): the rows of the batches it sends
    /// next, up to where it had read, are judged late against the stream time
    /// they had the first time, not against the records read after them.
    pub fn rewind(&self, failed: u64) {
        let rewind = Rewind { failed, replay_from: self.next_seq, until: self.sent_until };
        self.registry.lock().rewinds.insert(self.id, rewind);
    }

    /// Say whether the source is waiting for new input on this stream.
    pub fn set_waiting(&self, waiting: bool) {
        self.waiting_signal().set_waiting(waiting)
    }

    /// A handle that only says whether the stream is waiting for input, for
    /// a reader that blocks (standard input) while the stream is borrowed.
    pub fn waiting_signal(&self) -> WaitingSignal {
        WaitingSignal { registry: self.registry.clone(), id: self.id }
    }

    /// The stream ended: nothing more will be sent.
    pub fn finish(mut self) {
        self.mark_finished();
    }

    fn mark_finished(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let mut inner = self.registry.lock();
        if let Some(s) = inner.streams.get_mut(&self.id) {
            s.finished = true;
        }
    }
}

/// Says whether a stream's source is waiting for input; see [`StreamHandle::waiting_signal`].
#[derive(Debug, Clone)]
pub struct WaitingSignal {
    registry: Arc<StreamRegistry>,
    id: StreamId,
}

impl WaitingSignal {
    /// Say whether the source is waiting for new input on the stream.
    pub fn set_waiting(&self, waiting: bool) {
        if let Some(s) = self.registry.lock().streams.get_mut(&self.id) {
            s.set_waiting(waiting);
        }
    }
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        self.mark_finished();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_numbered_and_end_when_their_handle_goes() {
        let reg = StreamRegistry::new(Duration::from_secs(60), Duration::from_secs(30));
        let opener = reg.opener(Some(Duration::from_secs(5)));
        let mut a = opener.open("file:/a.log", "file:aaaa");
        let b = opener.open("file:/b.log", "file:bbbb");
        assert_ne!(a.id(), b.id());
        let p0 = a.next_pos(Position { record: 10, byte: 100 });
        let p1 = a.next_pos(Position { record: 20, byte: 200 });
        assert_eq!((p0.seq, p1.seq), (0, 1));
        let state = reg.get(a.id()).unwrap();
        assert_eq!((state.sent, state.finished, state.lateness), (2, false, 5_000_000));
        b.set_waiting(true);
        assert!(reg.get(b.id()).unwrap().waiting_since.is_some());
        b.set_waiting(false);
        assert!(reg.get(b.id()).unwrap().waiting_since.is_none());
        let id = b.id();
        drop(b);
        assert!(reg.get(id).unwrap().finished, "dropping the handle ends the stream");
        a.finish();
        assert!(reg.snapshot().iter().all(|(_, s)| s.finished));
    }

    #[test]
    fn resumed_streams_start_at_their_checkpointed_time() {
        let reg = StreamRegistry::new(Duration::from_secs(60), Duration::from_secs(30));
        let r = Resume { name: "file:/a.log".into(), position: Position { record: 3, byte: 30 }, stream_time: Some(7) };
        reg.set_resume(HashMap::from([("file:aaaa".to_string(), r.clone())]));
        let opener = reg.opener(None);
        assert_eq!(opener.resume("file:aaaa"), Some(r));
        let a = opener.open("file:/renamed.log", "file:aaaa");
        assert_eq!(reg.get(a.id()).unwrap().initial_time, Some(7));
        assert_eq!(reg.get(a.id()).unwrap().lateness, 60_000_000, "the default lateness");
    }
}
