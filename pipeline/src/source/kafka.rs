//! The Kafka source: a consumer group over configured topics (exact names or
//! regular expressions), each mapped to an input format, delivering
//! at-least-once.
//!
//! * **One thread** polls a librdkafka `BaseConsumer`; records are grouped
//!   per partition into [`RawBatch`]es that close by count, bytes or time
//!   ([`BatchLimits`]) and go into the same pipeline as file records.
//! * **Offsets**: auto-commit is off. Each batch's offset range is registered
//!   in its partition's [`OffsetTracker`]; when the batch's acknowledgement
//!   reports that every sink wrote everything derived from it (events,
//!   findings, dead letters), the contiguous prefix advances and is committed
//!   (asynchronously every `commit_interval`, synchronously on revoke and
//!   shutdown). A record that is still unwritten holds back every later
//!   offset of its partition.
//! * **Failures**: a batch a sink could not write is re-read: its partition
//!   is rewound to the batch's first offset (everything after it in flight
//!   is forgotten, so nothing past it is ever committed) after a backoff.
//! * **Backpressure**: when the pipeline's channel is full, when
//!   `max_in_flight_batches` are unacknowledged, or during a backoff, every
//!   assigned partition is paused (the consumer keeps polling, so it stays
//!   in the group) and resumed when there is room again. Memory is bounded by
//!   the in-flight limit, not by the backlog.
//! * **Rebalance**: on revoke, records of the revoked partitions not yet
//!   sent are dropped (the next owner reads them), in-flight batches get up
//!   to `revoke_timeout` to be written (the sinks are asked to flush), the
//!   prefix is committed synchronously, and the partitions' state is dropped.
//! * **Shutdown**: the same, for every partition, within the drain deadline.
//! * **Restart with rule state** (`[rules] state_dir`): the checkpoint records
//!   how far each partition's records are in the rule state; a partition
//!   resumes exactly there — records before it are skipped, and if the group
//!   committed beyond it, the partition is read again from it — so the rules
//!   see every record once across crashes (the event sinks may get a record
//!   twice, as at-least-once delivery allows). To that end, with a state
//!   directory offsets are committed no further than the last checkpoint
//!   written holds, as Flink commits on checkpoint completion.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::Message;
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use regex::Regex;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tracing::{info, warn};

use super::{BatchLimits, RawBatch, RawRecord, Source, SourceContext, SourceError, SourceReport};
use crate::ack::{AckReceiver, BatchStatus, OffsetTracker};
use crate::event_time::{CommitLimit, Position, StreamHandle, StreamOpener};
use crate::internal_events::{
    emit, BatchAcknowledged, KafkaBatchRewound, KafkaClientError, KafkaCommitFailed, KafkaConsumption,
    KafkaConsumptionStalled, KafkaOffsetCommitted, KafkaRebalanced, KafkaRecordsConsumed, RecordsReceived,
};
use crate::kafka::{client_config, log_to_tracing, publish_lag, CONSUMER_DEFAULTS};

/// Where consumption starts for a partition the group has no offset for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartFrom {
    /// The oldest record the broker keeps (the default: nothing is skipped).
    #[default]
    Earliest,
    /// Only records produced after the group first joined.
    Latest,
}

/// One `topics` entry: an exact topic or a regular expression, and the input format of its records.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicRoute {
    /// Exact topic name.
    #[serde(default)]
    pub topic: Option<String>,
    /// Regular expression matched against whole topic names (`fw\..*`).
    #[serde(default)]
    pub pattern: Option<String>,
    /// Input format id of the records (`panos`, `okta`, ...).
    pub format: String,
}

/// Configuration of a Kafka source (`[[sources]] type = "kafka"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceConfig {
    /// Name in logs and metrics (default: `kafka-<n>`).
    #[serde(default)]
    pub name: Option<String>,
    /// Bootstrap brokers, `host:port[,host:port...]`.
    pub brokers: String,
    /// Consumer group id.
    pub group_id: String,
    /// Topics to consume and their formats; the first matching entry wins.
    pub topics: Vec<TopicRoute>,
    /// Where to start when the group has no committed offset.
    #[serde(default)]
    pub start_from: StartFrom,
    /// Unacknowledged batches allowed before consumption pauses.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight_batches: usize,
    /// How often delivered offsets are committed (asynchronously).
    #[serde(default = "default_commit_interval")]
    pub commit_interval: String,
    /// How long a revoked partition's in-flight batches may take to be
    /// written before the partition is let go; keep it below `session.timeout.ms`.
    #[serde(default = "default_revoke_timeout")]
    pub revoke_timeout: String,
    /// librdkafka properties passed through (`security.protocol`, `sasl.*`, `ssl.*`, `fetch.*`...).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Lateness allowed within a partition (default: `[runtime] allowed_lateness`).
    #[serde(default)]
    pub allowed_lateness: Option<String>,
}

fn default_max_in_flight() -> usize {
    64
}
fn default_commit_interval() -> String {
    "1s".into()
}
fn default_revoke_timeout() -> String {
    "10s".into()
}

impl KafkaSourceConfig {
    /// The librdkafka subscription list: exact names, and patterns as `^...$` regexes.
    pub fn subscriptions(&self) -> Vec<String> {
        self.topics
            .iter()
            .filter_map(|r| match (&r.topic, &r.pattern) {
                (Some(t), _) => Some(t.clone()),
                (None, Some(p)) => Some(anchored(p)),
                (None, None) => None,
            })
            .collect()
    }
}

fn anchored(pattern: &str) -> String {
    let p = pattern.strip_prefix('^').unwrap_or(pattern);
    let p = p.strip_suffix('$').unwrap_or(p);
    format!("^{p}$")
}

/// Topic name → format, from the configured routes.
#[derive(Debug, Clone)]
struct Routes(Vec<(Route, Arc<str>)>);

#[derive(Debug, Clone)]
enum Route {
    Exact(String),
    Pattern(Regex),
}

impl Routes {
    fn new(config: &KafkaSourceConfig) -> Result<Routes, String> {
        let mut routes = Vec::new();
        for (i, r) in config.topics.iter().enumerate() {
            let route = match (&r.topic, &r.pattern) {
                (Some(t), None) => Route::Exact(t.clone()),
                (None, Some(p)) => {
                    Route::Pattern(Regex::new(&anchored(p)).map_err(|e| format!("topics[{i}].pattern: {e}"))?)
                }
                _ => return Err(format!("topics[{i}]: set exactly one of `topic` and `pattern`")),
            };
            routes.push((route, Arc::from(r.format.as_str())));
        }
        Ok(Routes(routes))
    }

    fn format_for(&self, topic: &str) -> Option<Arc<str>> {
        self.0
            .iter()
            .find(|(r, _)| match r {
                Route::Exact(t) => t == topic,
                Route::Pattern(re) => re.is_match(topic),
            })
            .map(|(_, f)| f.clone())
    }
}

impl KafkaSourceConfig {
    /// Whether `topic` is one this source reads (an exact name or a pattern of `topics`).
    pub fn reads_topic(&self, topic: &str) -> bool {
        Routes::new(self).is_ok_and(|r| r.format_for(topic).is_some())
    }
}

/// Problems with a Kafka source configuration, as (setting suffix, message).
pub fn config_problems(config: &KafkaSourceConfig) -> Vec<(String, String)> {
    let mut p = Vec::new();
    if config.brokers.trim().is_empty() {
        p.push(("brokers".into(), "must name at least one broker (`host:port`)".into()));
    }
    if config.group_id.trim().is_empty() {
        p.push(("group_id".into(), "must not be empty".into()));
    }
    if config.topics.is_empty() {
        p.push(("topics".into(), "must list at least one topic or pattern".into()));
    }
    if let Err(e) = Routes::new(config) {
        let (setting, msg) =
            e.split_once(": ").map(|(a, b)| (a.to_string(), b.to_string())).unwrap_or(("topics".into(), e));
        p.push((setting, msg));
    }
    if config.max_in_flight_batches == 0 {
        p.push(("max_in_flight_batches".into(), "must be at least 1".into()));
    }
    for (k, msg) in crate::kafka::option_problems(&config.options, crate::kafka::CONSUMER_FIXED) {
        p.push((format!("options.\"{k}\""), msg));
    }
    if let (Ok(revoke), Some(session)) = (
        humantime::parse_duration(&config.revoke_timeout),
        config.options.get("session.timeout.ms").and_then(|v| v.parse::<u64>().ok()).or(Some(45_000)),
    ) {
        if revoke.as_millis() as u64 >= session {
            p.push((
                "revoke_timeout".into(),
                format!(
                    "`{}` must be shorter than the session timeout ({session} ms), or the group evicts this consumer while it drains",
                    config.revoke_timeout
                ),
            ));
        }
    }
    p
}

/// A running Kafka source.
pub struct KafkaSource {
    name: String,
    config: KafkaSourceConfig,
    commit_interval: Duration,
    revoke_timeout: Duration,
    allowed_lateness: Option<Duration>,
}

impl KafkaSource {
    /// A Kafka source named `name`; the durations are the parsed
    /// `commit_interval`, `revoke_timeout` and `allowed_lateness`.
    pub fn new(
        name: String,
        config: KafkaSourceConfig,
        commit_interval: Duration,
        revoke_timeout: Duration,
        allowed_lateness: Option<Duration>,
    ) -> Self {
        KafkaSource { name, config, commit_interval, revoke_timeout, allowed_lateness }
    }
}

#[async_trait]
impl Source for KafkaSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn allowed_lateness(&self) -> Option<Duration> {
        self.allowed_lateness
    }

    fn connects_to(&self) -> Option<String> {
        Some(format!("joining consumer group `{}` at {}", self.config.group_id, self.config.brokers))
    }

    async fn run(self: Box<Self>, ctx: SourceContext) -> Result<SourceReport, SourceError> {
        let name = self.name.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| self.consume(ctx)))
            .await
            .map_err(|e| SourceError::Io { source_name: name, message: format!("consumer thread failed: {e}") })?
    }
}

type Tp = (Arc<str>, i32);

fn tp_label(tp: &Tp) -> String {
    format!("{}/{}", tp.0, tp.1)
}

/// Records read from one partition, not yet sent.
struct Pending {
    records: Vec<RawRecord>,
    bytes: usize,
    started: Instant,
}

struct PartitionState {
    /// `kafka:<topic>`.
    source: Arc<str>,
    /// Input format (`None`: the topic matches no route; records are dead-lettered).
    format: Arc<str>,
    tracker: OffsetTracker,
    pending: Option<Pending>,
    /// The offset last committed (next record to read).
    committed: Option<i64>,
    /// The partition's stream (event time is tracked per partition).
    stream: StreamHandle,
    /// When the last record arrived (or the partition was assigned).
    last_record: Instant,
    /// The checkpointed rule state holds this partition up to (not
    /// including) this offset: reading resumes exactly there.
    resume_from: Option<Resume>,
}

/// Where a partition resumes: the first offset the rule-state checkpoint
/// does not hold, and whether a seek to it was issued already.
#[derive(Debug, Clone, Copy)]
struct Resume {
    next: i64,
    sought: bool,
}

/// What to do with a record of a partition that resumes from a checkpoint.
#[derive(Debug, PartialEq, Eq)]
enum Resuming {
    /// Take it.
    Take,
    /// Its effects are in the checkpointed state already: skip it.
    Skip,
    /// The group's committed offset is past the checkpoint: read again from `next`.
    Seek(i64),
}

struct InFlight {
    tp: Tp,
    first: u64,
    /// The batch's number in its partition's stream.
    seq: u64,
}

/// Why consumption is paused.
fn pause_reason(channel_full: bool, in_flight_full: bool, backing_off: bool) -> Option<&'static str> {
    if backing_off {
        Some("backoff")
    } else if in_flight_full {
        Some("in_flight_limit")
    } else if channel_full {
        Some("channel_full")
    } else {
        None
    }
}

/// State shared between the polling loop and the rebalance callbacks (which
/// run inside `poll`, on the same thread).
struct State {
    acks: AckReceiver,
    in_flight: HashMap<u64, InFlight>,
    partitions: HashMap<Tp, PartitionState>,
    routes: Routes,
    limits: BatchLimits,
    /// Batches sent but not yet acknowledged, at most.
    max_in_flight: usize,
    out: mpsc::Sender<RawBatch>,
    /// Asks the sinks to make what they hold durable (revoke, in-flight limit).
    flush_sinks: Arc<tokio::sync::Notify>,
    report: SourceReport,
    assignment_changed: bool,
    backoff_until: Option<Instant>,
    failures_in_a_row: u32,
    /// Registers each partition as a stream when it is assigned.
    streams: StreamOpener,
}

/// How long consumption stays paused before it is reported (INFO) as a stall:
/// shorter pauses are ordinary backpressure, counted but logged at DEBUG.
const STALL_AFTER: Duration = Duration::from_secs(1);

/// How long a running partition goes without a record before it counts as
/// waiting for input (and, after the idle timeout, stops holding the watermark).
const QUIET_AFTER: Duration = Duration::from_millis(500);

impl State {
    fn partition(&mut self, topic: &str, partition: i32) -> &mut PartitionState {
        let key: Tp = (Arc::from(topic), partition);
        let routes = &self.routes;
        let streams = &self.streams;
        self.partitions.entry(key).or_insert_with(|| {
            let label = format!("kafka:{topic}/{partition}");
            let resume = streams.resume(&label);
            if let (Some(r), CommitLimit::Checkpointed(_)) = (&resume, streams.registry().commit_limit(&label)) {
                // The state it resumes from is durable: what it holds may be
                // committed even before this owner checkpoints anything.
                streams.registry().set_checkpointed_one(&label, r.position);
            }
            let resume_from = resume.map(|r| Resume {
                next: i64::try_from(r.position.record).unwrap_or(i64::MAX).saturating_add(1),
                sought: false,
            });
            PartitionState {
                source: Arc::from(format!("kafka:{topic}").as_str()),
                format: routes.format_for(topic).unwrap_or_else(|| Arc::from("")),
                tracker: OffsetTracker::default(),
                pending: None,
                committed: None,
                stream: streams.open(&label, &label),
                last_record: Instant::now(),
                resume_from,
            }
        })
    }

    /// Whether to take a record at `offset` of a partition: with a rule-state
    /// checkpoint, reading continues exactly after what the state holds, so
    /// a restart neither counts a record twice nor misses one, whatever the
    /// group committed (commits run ahead of checkpoints).
    fn resuming(&mut self, topic: &str, partition: i32, offset: i64) -> Resuming {
        let ps = self.partition(topic, partition);
        let Some(r) = ps.resume_from.as_mut() else { return Resuming::Take };
        if offset < r.next {
            ps.tracker.covered(offset.max(0) as u64);
            return Resuming::Skip;
        }
        if offset > r.next && !r.sought {
            r.sought = true;
            return Resuming::Seek(r.next);
        }
        if offset > r.next {
            warn!(
                topic,
                partition,
                checkpoint = r.next,
                offset,
                "the checkpointed position is no longer in the partition (retention); continuing from the oldest record"
            );
        }
        ps.resume_from = None;
        Resuming::Take
    }

    /// Mark running partitions that had no record for a while as waiting for input.
    fn mark_quiet(&mut self, paused: bool) {
        for ps in self.partitions.values() {
            let quiet = !paused && ps.pending.is_none() && ps.last_record.elapsed() >= QUIET_AFTER;
            ps.stream.set_waiting(quiet);
        }
    }

    /// Append one consumed record to its partition's pending batch.
    fn push(&mut self, topic: &str, partition: i32, offset: i64, data: Bytes) {
        let limits = self.limits;
        let ps = self.partition(topic, partition);
        ps.last_record = Instant::now();
        ps.stream.set_waiting(false);
        let pending = ps.pending.get_or_insert_with(|| Pending {
            records: Vec::with_capacity(limits.max_records.min(4096)),
            bytes: 0,
            started: Instant::now(),
        });
        pending.bytes += data.len();
        pending.records.push(RawRecord::new(offset.max(0) as u64, data));
    }

    /// Send every pending batch that is full or old enough (or all, when
    /// `all`), as long as fewer than `max_in_flight` are unacknowledged.
    /// Returns false when the channel had no room for one of them.
    fn send_due(&mut self, all: bool) -> bool {
        let limits = self.limits;
        let due: Vec<Tp> = self
            .partitions
            .iter()
            .filter(|(_, ps)| {
                ps.pending.as_ref().is_some_and(|p| {
                    all || p.records.len() >= limits.max_records
                        || p.bytes >= limits.max_bytes
                        || p.started.elapsed() >= limits.max_wait
                })
            })
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in due {
            if !all && self.in_flight.len() >= self.max_in_flight {
                break;
            }
            let permit = match self.out.try_reserve() {
                Ok(p) => p,
                Err(TrySendError::Full(())) | Err(TrySendError::Closed(())) => return false,
            };
            let token = self.acks.token();
            let Some(ps) = self.partitions.get_mut(&tp) else { continue };
            let Some(pending) = ps.pending.take() else { continue };
            let (Some(first), Some(last)) = (pending.records.first(), pending.records.last()) else { continue };
            let (first, last) = (first.offset, last.offset);
            ps.tracker.begin(first, last);
            let n = pending.records.len() as u64;
            emit(RecordsReceived { source: &ps.source, records: n, bytes: pending.bytes as u64 });
            emit(KafkaRecordsConsumed { topic: &tp.0, partition: tp.1, records: n });
            self.report.records += n;
            self.report.batches += 1;
            let pos = ps.stream.next_pos(Position { record: last, byte: 0 });
            self.in_flight.insert(token.batch_id(), InFlight { tp: tp.clone(), first, seq: pos.seq });
            permit.send(RawBatch {
                source: ps.source.clone(),
                partition: Some(tp.1),
                format: ps.format.clone(),
                headers: Arc::from(Vec::new()),
                records: pending.records,
                ack: token,
                pos,
            });
        }
        true
    }

    /// Apply every acknowledgement that has arrived. Failed batches rewind
    /// their partition (when `consumer` is given and the partition is still ours).
    fn apply_acks(&mut self, consumer: &BaseConsumer<KafkaContext>) {
        while let Some(report) = self.acks.try_recv() {
            let Some(f) = self.in_flight.remove(&report.batch_id) else {
                // A batch of a partition that was rewound or revoked since: ignore.
                continue;
            };
            match report.status {
                BatchStatus::Delivered => {
                    emit(BatchAcknowledged { source: "kafka", status: "delivered" });
                    self.report.delivered += 1;
                    self.failures_in_a_row = 0;
                    if let Some(ps) = self.partitions.get_mut(&f.tp) {
                        ps.tracker.delivered(f.first);
                    }
                }
                BatchStatus::Failed => {
                    emit(BatchAcknowledged { source: "kafka", status: "failed" });
                    self.report.failed += 1;
                    self.rewind(consumer, &f.tp, f.first, f.seq);
                }
            }
        }
    }

    /// Re-read `tp` from `first`, the first record of its batch `seq`:
    /// forget it and everything after it. The re-read records keep the
    /// lateness they had the first time ([`StreamHandle::rewind`]).
    fn rewind(&mut self, consumer: &BaseConsumer<KafkaContext>, tp: &Tp, first: u64, seq: u64) {
        let Some(ps) = self.partitions.get_mut(tp) else { return };
        ps.tracker.rewind(first);
        ps.stream.rewind(seq);
        ps.pending = None;
        self.in_flight.retain(|_, f| !(f.tp == *tp && f.first >= first));
        self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
        let backoff = Duration::from_millis(100u64 << self.failures_in_a_row.min(6)).min(Duration::from_secs(5));
        self.backoff_until = Some(Instant::now() + backoff);
        emit(KafkaBatchRewound {
            topic: &tp.0,
            partition: tp.1,
            offset: first as i64,
            backoff_ms: backoff.as_millis() as u64,
        });
        if let Err(e) = consumer.seek(&tp.0, tp.1, Offset::Offset(first as i64), Duration::from_secs(10)) {
            // The partition could not be repositioned: nothing after `first`
            // is committed anyway; the next owner or restart re-reads it.
            warn!(topic = %tp.0, partition = tp.1, error = %e, "seek for re-read failed");
        }
    }

    /// Commit the delivered prefix of `only` (or of every partition).
    fn commit(&mut self, consumer: &BaseConsumer<KafkaContext>, mode: CommitMode, only: Option<&[Tp]>) {
        let mut tpl = TopicPartitionList::new();
        let mut advanced = Vec::new();
        for (tp, ps) in &self.partitions {
            if only.is_some_and(|o| !o.contains(tp)) {
                continue;
            }
            let Some(last) = ps.tracker.committed() else { continue };
            let mut next = last as i64 + 1;
            // With checkpointed rule state, never commit past what the last
            // checkpoint holds: a crash then re-reads what the state lacks.
            let label = format!("kafka:{}/{}", tp.0, tp.1);
            match self.streams.registry().commit_limit(&label) {
                CommitLimit::Delivered => {}
                CommitLimit::Checkpointed(None) => continue,
                CommitLimit::Checkpointed(Some(p)) => {
                    next = next.min(i64::try_from(p.record).unwrap_or(i64::MAX).saturating_add(1));
                }
            }
            if ps.committed.is_some_and(|c| c >= next) {
                continue;
            }
            if tpl.add_partition_offset(&tp.0, tp.1, Offset::Offset(next)).is_ok() {
                advanced.push((tp.clone(), next));
            }
        }
        if advanced.is_empty() {
            return;
        }
        match consumer.commit(&tpl, mode) {
            Ok(()) => {
                for (tp, next) in advanced {
                    if let Some(ps) = self.partitions.get_mut(&tp) {
                        ps.committed = Some(next);
                    }
                    // Reported here for both modes (an asynchronous commit once
                    // sent): the commit callback did not fire for asynchronous
                    // commits in the tests against tansu, so the gauge cannot
                    // rely on it. Failures it does report are counted there.
                    emit(KafkaOffsetCommitted { topic: &tp.0, partition: tp.1, offset: next });
                }
            }
            Err(e) => emit(KafkaCommitFailed { target: "all", error: &e.to_string() }),
        }
    }

    /// Wait (up to `deadline`) until no batch of `tps` is in flight, asking
    /// the sinks to flush; then commit their prefix synchronously.
    fn drain(&mut self, consumer: &BaseConsumer<KafkaContext>, tps: &[Tp], deadline: Instant) -> u64 {
        let outstanding = |st: &State| st.in_flight.values().filter(|f| tps.contains(&f.tp)).count() as u64;
        let mut asked = false;
        while outstanding(self) > 0 && Instant::now() < deadline {
            if !asked {
                self.flush_sinks.notify_one();
                asked = true;
            }
            self.apply_acks(consumer);
            std::thread::sleep(Duration::from_millis(5));
        }
        self.apply_acks(consumer);
        self.commit(consumer, CommitMode::Sync, Some(tps));
        outstanding(self)
    }
}

/// The consumer's librdkafka context: logs, statistics, commits and rebalances.
struct KafkaContext {
    client: String,
    /// The source's readiness check, passed at the first assignment.
    readiness: String,
    state: Mutex<Option<State>>,
    revoke_timeout: Duration,
}

impl KafkaContext {
    fn state(&self) -> MutexGuard<'_, Option<State>> {
        // A panic while holding the lock cannot leave offsets half-committed
        // in a way that matters: the tracker only ever moves forward.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ClientContext for KafkaContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        log_to_tracing(&self.client, level, fac, log_message);
    }

    fn stats(&self, statistics: Statistics) {
        publish_lag(&statistics);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        emit(KafkaClientError { client: &self.client, error: &error.to_string(), reason });
    }
}

fn tps_of(tpl: &TopicPartitionList) -> Vec<Tp> {
    tpl.elements().iter().map(|e| (Arc::from(e.topic()), e.partition())).collect()
}

impl ConsumerContext for KafkaContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else { return };
        let tps = tps_of(tpl);
        let labels: Vec<String> = tps.iter().map(tp_label).collect();
        emit(KafkaRebalanced { kind: "revoked", partitions: &labels });
        let mut guard = self.state();
        let Some(st) = guard.as_mut() else { return };
        for tp in &tps {
            if let Some(ps) = st.partitions.get_mut(tp) {
                ps.pending = None;
            }
        }
        let left = st.drain(consumer, &tps, Instant::now() + self.revoke_timeout);
        if left > 0 {
            warn!(
                batches = left,
                "revoked partitions still had batches in flight at the revoke deadline; the next owner re-reads them"
            );
        }
        st.in_flight.retain(|_, f| !tps.contains(&f.tp));
        for tp in &tps {
            st.partitions.remove(tp);
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let tps = tps_of(tpl);
                let labels: Vec<String> = tps.iter().map(tp_label).collect();
                emit(KafkaRebalanced { kind: "assigned", partitions: &labels });
                // In the group now (even with no partitions: it stands by for a rebalance).
                crate::health::health().pass(&self.readiness);
                if labels.is_empty() {
                    warn!(
                        "this consumer was assigned no partitions and stays idle until the next rebalance \
                         (the group has at least as many members as the topics have partitions)"
                    );
                }
                // librdkafka keeps a partition's pause flag across a revoke and
                // a new assignment: a partition paused before a rebalance would
                // come back paused while the loop believes it is running. Start
                // every assigned partition running; the loop pauses it again
                // if it has to (`assignment_changed`).
                if let Err(e) = consumer.resume(tpl) {
                    warn!(error = %e, "cannot resume newly assigned kafka partitions");
                }
                if let Some(st) = self.state().as_mut() {
                    st.assignment_changed = true;
                    // Each partition is a stream from now on: it holds the
                    // watermark back until its records have been seen.
                    for (topic, partition) in &tps {
                        st.partition(topic, *partition);
                    }
                    // The source's hold on the watermark ends with its first assignment.
                    st.streams.opened();
                }
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => warn!(error = %e, "kafka rebalance error"),
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) => {
                for e in offsets.elements() {
                    if let Offset::Offset(o) = e.offset() {
                        emit(KafkaOffsetCommitted { topic: e.topic(), partition: e.partition(), offset: o });
                    }
                }
            }
            Err(e) => emit(KafkaCommitFailed { target: "all", error: &e.to_string() }),
        }
    }
}

impl KafkaSource {
    fn consume(self, ctx: SourceContext) -> Result<SourceReport, SourceError> {
        let SourceContext { out, shutdown, limits, drain_timeout, flush_sinks, streams } = ctx;
        // Waiting for the group to assign partitions: after the idle timeout
        // the source stops holding other sources' watermarks back.
        streams.set_waiting(true);
        let io = |message: String| SourceError::Io { source_name: self.name.clone(), message };
        let routes = Routes::new(&self.config).map_err(io)?;
        let mut defaults: Vec<(&str, &str)> = CONSUMER_DEFAULTS.to_vec();
        defaults.push((
            "auto.offset.reset",
            match self.config.start_from {
                StartFrom::Earliest => "earliest",
                StartFrom::Latest => "latest",
            },
        ));
        let fixed = [
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("group.id", self.config.group_id.as_str()),
        ];
        let config = client_config(&self.config.brokers, &defaults, &self.config.options, &fixed);
        let context = KafkaContext {
            client: format!("source:{}", self.name),
            readiness: crate::source::readiness_check(&self.name),
            state: Mutex::new(Some(State {
                acks: AckReceiver::new(),
                in_flight: HashMap::new(),
                partitions: HashMap::new(),
                routes,
                limits,
                max_in_flight: self.config.max_in_flight_batches.max(1),
                out,
                flush_sinks,
                report: SourceReport::default(),
                assignment_changed: false,
                backoff_until: None,
                failures_in_a_row: 0,
                streams,
            })),
            revoke_timeout: self.revoke_timeout,
        };
        let consumer: BaseConsumer<KafkaContext> =
            config.create_with_context(context).map_err(|e| io(format!("cannot create the consumer: {e}")))?;
        let subs = self.config.subscriptions();
        let sub_refs: Vec<&str> = subs.iter().map(String::as_str).collect();
        consumer.subscribe(&sub_refs).map_err(|e| io(format!("cannot subscribe to {subs:?}: {e}")))?;
        info!(brokers = %self.config.brokers, group = %self.config.group_id, topics = ?subs, "kafka source subscribed");

        let max_in_flight = self.config.max_in_flight_batches.max(1);
        let mut paused: Option<&'static str> = None;
        // When the current pause began, and whether it was reported as a stall.
        let mut paused_since: Option<(Instant, bool)> = None;
        let mut last_commit = Instant::now();
        let mut asked_flush = false;
        while !shutdown.is_cancelled() {
            {
                let mut guard = consumer.context().state();
                let Some(st) = guard.as_mut() else { break };
                st.apply_acks(&consumer);
                if last_commit.elapsed() >= self.commit_interval {
                    st.commit(&consumer, CommitMode::Async, None);
                    last_commit = Instant::now();
                }
                let backing_off = st.backoff_until.is_some_and(|t| Instant::now() < t);
                let channel_full = !backing_off && !st.send_due(false);
                let in_flight_full = st.in_flight.len() >= max_in_flight;
                if in_flight_full && !asked_flush {
                    // Sinks that hold acknowledgements until a file closes are asked to close it now.
                    st.flush_sinks.notify_one();
                    asked_flush = true;
                } else if !in_flight_full {
                    asked_flush = false;
                }
                let want = pause_reason(channel_full, in_flight_full, backing_off);
                st.mark_quiet(want.is_some());
                let reapply = std::mem::take(&mut st.assignment_changed);
                drop(guard);
                if want != paused || (reapply && want.is_some()) {
                    set_paused(&consumer, want);
                    if want.is_some() != paused.is_some() {
                        paused_since = want.map(|_| (Instant::now(), false));
                    }
                    paused = want;
                }
                if let (Some(reason), Some((since, reported))) = (paused, paused_since.as_mut()) {
                    if !*reported && since.elapsed() >= STALL_AFTER {
                        *reported = true;
                        emit(KafkaConsumptionStalled { reason, after: since.elapsed() });
                    }
                }
            }
            let timeout = if paused.is_some() { Duration::from_millis(20) } else { Duration::from_millis(50) };
            match consumer.poll(timeout) {
                Some(Ok(msg)) => {
                    let data = msg.payload().map(Bytes::copy_from_slice).unwrap_or_default();
                    let (topic, partition, offset) = (msg.topic().to_string(), msg.partition(), msg.offset());
                    drop(msg);
                    let decision = consumer.context().state().as_mut().map(|st| st.resuming(&topic, partition, offset));
                    match decision {
                        Some(Resuming::Take) => {
                            if let Some(st) = consumer.context().state().as_mut() {
                                st.push(&topic, partition, offset, data);
                            }
                        }
                        Some(Resuming::Seek(next)) => {
                            info!(topic = %topic, partition, from = next, "re-reading from the rule-state checkpoint");
                            if let Err(e) =
                                consumer.seek(&topic, partition, Offset::Offset(next), Duration::from_secs(10))
                            {
                                warn!(topic = %topic, partition, error = %e, "seek to the checkpointed position failed");
                            }
                        }
                        Some(Resuming::Skip) | None => {}
                    }
                }
                Some(Err(e)) => warn!(error = %e, "kafka consume error"),
                None => {}
            }
        }

        // Shutdown: stop fetching, send what was read if there is room,
        // wait for the in-flight batches, commit, leave the group.
        set_paused(&consumer, Some("shutdown"));
        let deadline = Instant::now() + drain_timeout;
        let mut guard = consumer.context().state();
        let Some(st) = guard.as_mut() else { return Ok(SourceReport::default()) };
        while !st.send_due(true) && Instant::now() < deadline {
            st.apply_acks(&consumer);
            std::thread::sleep(Duration::from_millis(5));
        }
        let all: Vec<Tp> = st.partitions.keys().cloned().collect();
        let left = st.drain(&consumer, &all, deadline);
        let report = st.report.clone();
        // Drop the state (and its channel sender) before closing the consumer:
        // closing revokes the partitions, and there is nothing left to drain.
        *guard = None;
        drop(guard);
        consumer.unsubscribe();
        if left > 0 {
            return Err(SourceError::DrainTimeout { source_name: self.name.clone(), outstanding: left });
        }
        Ok(report)
    }
}

fn set_paused(consumer: &BaseConsumer<KafkaContext>, reason: Option<&'static str>) {
    let Ok(assignment) = consumer.assignment() else { return };
    let result = match reason {
        Some(_) => consumer.pause(&assignment),
        None => consumer.resume(&assignment),
    };
    match result {
        Ok(()) => emit(KafkaConsumption { paused: reason.is_some(), reason: reason.unwrap_or("") }),
        Err(e) => warn!(error = %e, "cannot pause/resume kafka partitions"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(topics: Vec<TopicRoute>) -> KafkaSourceConfig {
        KafkaSourceConfig {
            name: None,
            brokers: "127.0.0.1:9092".into(),
            group_id: "g".into(),
            topics,
            start_from: StartFrom::Earliest,
            max_in_flight_batches: 64,
            commit_interval: "1s".into(),
            revoke_timeout: "10s".into(),
            options: BTreeMap::new(),
            allowed_lateness: None,
        }
    }

    fn route(topic: Option<&str>, pattern: Option<&str>, format: &str) -> TopicRoute {
        TopicRoute { topic: topic.map(String::from), pattern: pattern.map(String::from), format: format.into() }
    }

    #[test]
    fn topics_map_to_formats_first_match_wins() {
        let c = config(vec![
            route(Some("fw.panos"), None, "panos"),
            route(None, Some("fw\\..*"), "floodlight-json"),
            route(None, Some("^dns-.*$"), "zeek-dns"),
        ]);
        let r = Routes::new(&c).unwrap();
        assert_eq!(r.format_for("fw.panos").as_deref(), Some("panos"));
        assert_eq!(r.format_for("fw.other").as_deref(), Some("floodlight-json"));
        assert_eq!(r.format_for("dns-zeek").as_deref(), Some("zeek-dns"));
        assert_eq!(r.format_for("xfw.panos"), None, "patterns match whole names");
        assert_eq!(c.subscriptions(), ["fw.panos", "^fw\\..*$", "^dns-.*$"]);
    }

    #[test]
    fn problems_name_the_setting() {
        let mut c = config(vec![route(None, Some("("), "panos"), route(Some("a"), Some("b"), "okta")]);
        c.revoke_timeout = "60s".into();
        c.max_in_flight_batches = 0;
        c.options.insert("enable.auto.commit".into(), "true".into());
        let p = config_problems(&c);
        let settings: Vec<&str> = p.iter().map(|(s, _)| s.as_str()).collect();
        assert!(settings.contains(&"topics[0].pattern"), "{p:?}");
        assert!(settings.contains(&"max_in_flight_batches"), "{p:?}");
        assert!(settings.contains(&"options.\"enable.auto.commit\""), "{p:?}");
        assert!(settings.contains(&"revoke_timeout"), "{p:?}");
        let c = config(vec![route(Some("a"), None, "okta")]);
        assert!(config_problems(&c).is_empty(), "{:?}", config_problems(&c));
    }

    #[test]
    fn pause_reasons_have_a_priority() {
        assert_eq!(pause_reason(false, false, false), None);
        assert_eq!(pause_reason(true, false, false), Some("channel_full"));
        assert_eq!(pause_reason(true, true, false), Some("in_flight_limit"));
        assert_eq!(pause_reason(true, true, true), Some("backoff"));
    }
}
