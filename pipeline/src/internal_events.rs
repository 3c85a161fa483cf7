//! Everything worth observing, as one typed event each (Vector's
//! `internal_events` pattern): an event emits its log line and updates its
//! counters from one place, so logs, the end-of-run summary and (later) the
//! Prometheus endpoint can never disagree.
//!
//! Counters are process-wide, keyed by (metric name, label); they are touched
//! once per batch, never per record.
//!
//! Logs stay readable under load: what happens per batch (rows decoded,
//! findings raised) is logged at DEBUG and counted; INFO gets state changes
//! and a periodic summary ([`FindingsSummary`]); warnings and errors that can
//! repeat per batch are rate-limited per event and key, as Vector's internal
//! events are: the first is logged, then at most one every
//! [`RATE_LIMIT`], saying how many were suppressed in between.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How often a rate-limited log line may repeat (per event and key).
pub const RATE_LIMIT: Duration = Duration::from_secs(10);

/// Whether a rate-limited log line for (`event`, `key`) may be written now;
/// `Some(n)`: yes, and `n` were suppressed since the last one.
pub fn rate_limited(event: &'static str, key: &str) -> Option<u64> {
    /// (event, key) → (last logged, suppressed since).
    type Limits = HashMap<(&'static str, String), (Instant, u64)>;
    static LIMITS: OnceLock<Mutex<Limits>> = OnceLock::new();
    let mut map = LIMITS.get_or_init(Mutex::default).lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    match map.get_mut(&(event, key.to_string())) {
        None => {
            map.insert((event, key.to_string()), (now, 0));
            Some(0)
        }
        Some((last, suppressed)) if now.duration_since(*last) >= RATE_LIMIT => {
            let n = *suppressed;
            *last = now;
            *suppressed = 0;
            Some(n)
        }
        Some((_, suppressed)) => {
            *suppressed += 1;
            None
        }
    }
}

use tracing::{debug, error, info, warn};

/// Process-wide counters and gauges: (metric, label) → value.
#[derive(Default)]
pub struct Counters {
    values: Mutex<BTreeMap<(&'static str, String), u64>>,
    gauges: Mutex<BTreeMap<(&'static str, String), i64>>,
}

impl Counters {
    fn add(&self, metric: &'static str, label: &str, n: u64) {
        if let Ok(mut map) = self.values.lock() {
            *map.entry((metric, label.to_string())).or_default() += n;
        }
    }

    fn set(&self, metric: &'static str, label: &str, v: i64) {
        if let Ok(mut map) = self.gauges.lock() {
            map.insert((metric, label.to_string()), v);
        }
    }

    /// Current value of one gauge, if it was ever set.
    pub fn gauge(&self, metric: &str, label: &str) -> Option<i64> {
        self.gauges.lock().ok()?.iter().find(|((k, l), _)| *k == metric && l == label).map(|(_, v)| *v)
    }

    /// Every gauge, sorted.
    pub fn gauge_snapshot(&self) -> Vec<(String, String, i64)> {
        self.gauges
            .lock()
            .map(|m| m.iter().map(|((k, l), v)| (k.to_string(), l.clone(), *v)).collect())
            .unwrap_or_default()
    }

    /// Current value of one counter.
    pub fn get(&self, metric: &str, label: &str) -> u64 {
        self.values
            .lock()
            .map(|m| m.iter().filter(|((k, l), _)| *k == metric && l == label).map(|(_, v)| *v).sum())
            .unwrap_or(0)
    }

    /// Sum of a counter over every label.
    pub fn total(&self, metric: &str) -> u64 {
        self.values.lock().map(|m| m.iter().filter(|((k, _), _)| *k == metric).map(|(_, v)| *v).sum()).unwrap_or(0)
    }

    /// Every counter, sorted.
    pub fn snapshot(&self) -> Vec<(String, String, u64)> {
        self.values
            .lock()
            .map(|m| m.iter().map(|((k, l), v)| (k.to_string(), l.clone(), *v)).collect())
            .unwrap_or_default()
    }

    /// Reset every counter and gauge (tests, and between runs in one process).
    pub fn reset(&self) {
        if let Ok(mut m) = self.values.lock() {
            m.clear();
        }
        if let Ok(mut m) = self.gauges.lock() {
            m.clear();
        }
    }
}

/// The process-wide counters.
pub fn counters() -> &'static Counters {
    static C: OnceLock<Counters> = OnceLock::new();
    C.get_or_init(Counters::default)
}

/// An observable happening.
pub trait InternalEvent {
    /// Log it and count it.
    fn emit(self);
}

/// Emit an internal event.
pub fn emit(event: impl InternalEvent) {
    event.emit()
}

/// Metric names, one place.
pub mod metric {
    /// Raw records read by a source (label: source).
    pub const RECORDS_RECEIVED: &str = "records_received_total";
    /// Raw bytes read by a source (label: source).
    pub const BYTES_RECEIVED: &str = "bytes_received_total";
    /// Rows decoded (label: format).
    pub const EVENTS_DECODED: &str = "events_decoded_total";
    /// Records skipped as valid-but-irrelevant (label: reason).
    pub const RECORDS_SKIPPED: &str = "records_skipped_total";
    /// Records sent to the dead-letter output (label: format).
    pub const DEAD_LETTERED: &str = "records_dead_lettered_total";
    /// Enriched events handed to sinks (label: class).
    pub const EVENTS_EMITTED: &str = "events_emitted_total";
    /// Findings raised (label: rule).
    pub const FINDINGS: &str = "findings_total";
    /// Matches suppressed by dedup (label: rule).
    pub const FINDINGS_SUPPRESSED: &str = "findings_suppressed_total";
    /// Rule execution errors (label: rule).
    pub const RULE_ERRORS: &str = "rule_errors_total";
    /// Rows written by a sink (label: sink).
    pub const SINK_ROWS: &str = "sink_rows_written_total";
    /// Sink write failures (label: sink).
    pub const SINK_ERRORS: &str = "sink_errors_total";
    /// Batches acknowledged to sources (label: status).
    pub const BATCHES_ACKED: &str = "batches_acknowledged_total";
    /// Kafka records consumed (label: `topic/partition`).
    pub const KAFKA_CONSUMED: &str = "kafka_records_consumed_total";
    /// Gauge: consumer lag in records, from librdkafka statistics (label: `topic/partition`).
    pub const KAFKA_LAG: &str = "kafka_consumer_lag";
    /// Gauge: the last committed offset, i.e. the next record to read (label: `topic/partition`).
    pub const KAFKA_COMMITTED: &str = "kafka_committed_offset";
    /// Offset commits that failed (label: `topic/partition` or `all`).
    pub const KAFKA_COMMIT_ERRORS: &str = "kafka_commit_errors_total";
    /// Batches re-read after a sink failed to write them (label: `topic/partition`).
    pub const KAFKA_REWINDS: &str = "kafka_rewinds_total";
    /// Times consumption paused for backpressure (label: reason).
    pub const KAFKA_PAUSES: &str = "kafka_consumption_paused_total";
    /// Errors reported by a librdkafka client (label: client).
    pub const KAFKA_CLIENT_ERRORS: &str = "kafka_client_errors_total";
    /// Partitions assigned / revoked by rebalances (label: `assigned` or `revoked`).
    pub const KAFKA_REBALANCED: &str = "kafka_partitions_rebalanced_total";
    /// Rows a rule could not use because they were late (label: rule).
    pub const RULE_LATE_EVENTS: &str = "rule_late_events_total";
    /// Records dead-lettered because a rule could not use them, being late (label: stream).
    pub const LATE_RECORDS: &str = "late_records_dead_lettered_total";
    /// Gauge: keys (windows / first-seen keys / correlation entities) a rule holds (label: rule).
    pub const RULE_STATE_KEYS: &str = "rule_state_keys";
    /// Rule-state checkpoints written (label: `ok` or `failed`).
    pub const CHECKPOINTS: &str = "rule_checkpoints_total";
    /// Rules reloaded from changed files (label: `ok` or `rejected`).
    pub const RULE_RELOADS: &str = "rule_reloads_total";
    /// Enrichment snapshot reloads (label: `ok` or `failed`).
    pub const ENRICHMENT_RELOADS: &str = "enrichment_reloads_total";
}

fn topic_partition(topic: &str, partition: i32) -> String {
    format!("{topic}/{partition}")
}

/// Records were consumed from one Kafka partition.
pub struct KafkaRecordsConsumed<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Partition.
    pub partition: i32,
    /// Records in the batch.
    pub records: u64,
}

impl InternalEvent for KafkaRecordsConsumed<'_> {
    fn emit(self) {
        debug!(topic = self.topic, partition = self.partition, records = self.records, "kafka records consumed");
        counters().add(metric::KAFKA_CONSUMED, &topic_partition(self.topic, self.partition), self.records);
    }
}

/// librdkafka reported a partition's consumer lag.
pub struct KafkaConsumerLag<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Partition.
    pub partition: i32,
    /// Records behind the high watermark.
    pub lag: i64,
}

impl InternalEvent for KafkaConsumerLag<'_> {
    fn emit(self) {
        counters().set(metric::KAFKA_LAG, &topic_partition(self.topic, self.partition), self.lag);
    }
}

/// An offset was committed for one partition.
pub struct KafkaOffsetCommitted<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Partition.
    pub partition: i32,
    /// The committed offset (the next record to read).
    pub offset: i64,
}

impl InternalEvent for KafkaOffsetCommitted<'_> {
    fn emit(self) {
        debug!(topic = self.topic, partition = self.partition, offset = self.offset, "kafka offset committed");
        counters().set(metric::KAFKA_COMMITTED, &topic_partition(self.topic, self.partition), self.offset);
    }
}

/// An offset commit failed.
pub struct KafkaCommitFailed<'a> {
    /// `topic/partition`, or `all` when the whole commit failed.
    pub target: &'a str,
    /// Error text.
    pub error: &'a str,
}

impl InternalEvent for KafkaCommitFailed<'_> {
    fn emit(self) {
        warn!(
            target = self.target,
            error = self.error,
            "kafka offset commit failed; it is retried with the next commit"
        );
        counters().add(metric::KAFKA_COMMIT_ERRORS, self.target, 1);
    }
}

/// A sink failed to write a batch: the partition is rewound to re-read it.
pub struct KafkaBatchRewound<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Partition.
    pub partition: i32,
    /// First offset of the failed batch (where reading resumes).
    pub offset: i64,
    /// How long consumption backs off before re-reading.
    pub backoff_ms: u64,
}

impl InternalEvent for KafkaBatchRewound<'_> {
    fn emit(self) {
        warn!(
            topic = self.topic,
            partition = self.partition,
            offset = self.offset,
            backoff_ms = self.backoff_ms,
            "a sink failed to write a batch; re-reading the partition from its first offset"
        );
        counters().add(metric::KAFKA_REWINDS, &topic_partition(self.topic, self.partition), 1);
    }
}

/// Consumption paused (backpressure) or resumed.
pub struct KafkaConsumption {
    /// True when pausing, false when resuming.
    pub paused: bool,
    /// Why it paused: `channel_full`, `in_flight_limit`, `backoff`.
    pub reason: &'static str,
}

impl InternalEvent for KafkaConsumption {
    fn emit(self) {
        if self.paused {
            debug!(reason = self.reason, "kafka consumption paused");
            counters().add(metric::KAFKA_PAUSES, self.reason, 1);
        } else {
            debug!("kafka consumption resumed");
        }
    }
}

/// Consumption has stayed paused for a while (a slow or stuck sink, the
/// in-flight limit, a backoff): worth an INFO line, unlike ordinary backpressure.
pub struct KafkaConsumptionStalled {
    /// Why it paused: `channel_full`, `in_flight_limit`, `backoff`.
    pub reason: &'static str,
    /// How long it has been paused.
    pub after: Duration,
}

impl InternalEvent for KafkaConsumptionStalled {
    fn emit(self) {
        if let Some(suppressed) = rate_limited("kafka_consumption_stalled", self.reason) {
            info!(
                reason = self.reason,
                paused_ms = self.after.as_millis() as u64,
                similar_suppressed = suppressed,
                "kafka consumption paused"
            );
        }
    }
}

/// Partitions were assigned or revoked by a consumer-group rebalance.
pub struct KafkaRebalanced<'a> {
    /// `assigned` or `revoked`.
    pub kind: &'static str,
    /// The partitions, as `topic/partition`.
    pub partitions: &'a [String],
}

impl InternalEvent for KafkaRebalanced<'_> {
    fn emit(self) {
        info!(kind = self.kind, partitions = ?self.partitions, "kafka rebalance");
        counters().add(metric::KAFKA_REBALANCED, self.kind, self.partitions.len() as u64);
    }
}

/// A librdkafka client reported an error (broker down, authentication...).
pub struct KafkaClientError<'a> {
    /// Client name.
    pub client: &'a str,
    /// Error.
    pub error: &'a str,
    /// librdkafka's reason text.
    pub reason: &'a str,
}

impl InternalEvent for KafkaClientError<'_> {
    fn emit(self) {
        warn!(client = self.client, error = self.error, reason = self.reason, "kafka client error");
        counters().add(metric::KAFKA_CLIENT_ERRORS, self.client, 1);
    }
}

/// A source read records.
pub struct RecordsReceived<'a> {
    /// Stream name.
    pub source: &'a str,
    /// Records in the batch.
    pub records: u64,
    /// Bytes in the batch.
    pub bytes: u64,
}

impl InternalEvent for RecordsReceived<'_> {
    fn emit(self) {
        debug!(source = self.source, records = self.records, bytes = self.bytes, "records received");
        counters().add(metric::RECORDS_RECEIVED, self.source, self.records);
        counters().add(metric::BYTES_RECEIVED, self.source, self.bytes);
    }
}

/// A batch was decoded.
pub struct BatchDecoded<'a> {
    /// Format id.
    pub format: &'a str,
    /// Stream name.
    pub source: &'a str,
    /// Rows produced.
    pub rows: u64,
    /// Skip reasons with counts.
    pub skipped: &'a [(&'static str, u64)],
    /// Records dead-lettered.
    pub dead_lettered: u64,
}

impl InternalEvent for BatchDecoded<'_> {
    fn emit(self) {
        debug!(
            format = self.format,
            source = self.source,
            rows = self.rows,
            dead_lettered = self.dead_lettered,
            "batch decoded"
        );
        counters().add(metric::EVENTS_DECODED, self.format, self.rows);
        for (reason, n) in self.skipped {
            counters().add(metric::RECORDS_SKIPPED, reason, *n);
        }
        if self.dead_lettered > 0 {
            counters().add(metric::DEAD_LETTERED, self.format, self.dead_lettered);
            if let Some(suppressed) = rate_limited("records_dead_lettered", self.source) {
                warn!(
                    format = self.format,
                    source = self.source,
                    count = self.dead_lettered,
                    similar_suppressed = suppressed,
                    "records dead-lettered (see the dead-letter output for each one and why)"
                );
            }
        }
    }
}

/// Enriched events were handed to the sinks.
pub struct EventsEmitted {
    /// Event class.
    pub class: &'static str,
    /// Rows.
    pub rows: u64,
}

impl InternalEvent for EventsEmitted {
    fn emit(self) {
        counters().add(metric::EVENTS_EMITTED, self.class, self.rows);
    }
}

/// A rule raised findings.
pub struct FindingsRaised<'a> {
    /// Rule id.
    pub rule: &'a str,
    /// New findings.
    pub raised: u64,
    /// Matches suppressed as duplicates.
    pub suppressed: u64,
}

impl InternalEvent for FindingsRaised<'_> {
    fn emit(self) {
        if self.raised > 0 || self.suppressed > 0 {
            debug!(rule = self.rule, raised = self.raised, merged = self.suppressed, "findings raised");
        }
        if self.raised > 0 {
            counters().add(metric::FINDINGS, self.rule, self.raised);
        }
        if self.suppressed > 0 {
            counters().add(metric::FINDINGS_SUPPRESSED, self.rule, self.suppressed);
        }
    }
}

/// What the rules raised since the last summary (INFO, periodically and at the end).
pub struct FindingsSummary<'a> {
    /// Per rule: (new findings, updates of findings already raised).
    pub by_rule: &'a BTreeMap<String, (u64, u64)>,
    /// Over how long.
    pub period: Duration,
}

impl InternalEvent for FindingsSummary<'_> {
    fn emit(self) {
        if self.by_rule.is_empty() {
            return;
        }
        let new: u64 = self.by_rule.values().map(|(n, _)| n).sum();
        let updated: u64 = self.by_rule.values().map(|(_, u)| u).sum();
        let rules: Vec<String> = self
            .by_rule
            .iter()
            .map(|(rule, (n, u))| if *u > 0 { format!("{rule}: {n} new, {u} updated") } else { format!("{rule}: {n}") })
            .collect();
        info!(
            new,
            updated,
            seconds = self.period.as_secs(),
            rules = %rules.join("; "),
            "findings written"
        );
    }
}

/// Rows a rule would have matched were late: not used, dead-lettered with reason `late`.
pub struct LateRowsDropped<'a> {
    /// Stream name.
    pub stream: &'a str,
    /// Rule id.
    pub rule: &'a str,
    /// Rows.
    pub rows: u64,
}

impl InternalEvent for LateRowsDropped<'_> {
    fn emit(self) {
        if self.rows > 0 {
            debug!(stream = self.stream, rule = self.rule, rows = self.rows, "late rows not used by a rule");
            counters().add(metric::RULE_LATE_EVENTS, self.rule, self.rows);
        }
    }
}

/// Records whose rows some rule could not use, being late, went to the dead-letter output.
pub struct LateRecordsDeadLettered<'a> {
    /// Stream name.
    pub stream: &'a str,
    /// Records.
    pub records: u64,
}

impl InternalEvent for LateRecordsDeadLettered<'_> {
    fn emit(self) {
        if self.records == 0 {
            return;
        }
        counters().add(metric::LATE_RECORDS, self.stream, self.records);
        if let Some(suppressed) = rate_limited("late_records", self.stream) {
            warn!(
                stream = self.stream,
                records = self.records,
                similar_suppressed = suppressed,
                "late records dead-lettered: rules did not use them (see `allowed_lateness`)"
            );
        }
    }
}

/// The size of a stateful rule's state.
pub struct RuleStateSize<'a> {
    /// Rule id.
    pub rule: &'a str,
    /// Keys held.
    pub keys: u64,
}

impl InternalEvent for RuleStateSize<'_> {
    fn emit(self) {
        counters().set(metric::RULE_STATE_KEYS, self.rule, i64::try_from(self.keys).unwrap_or(i64::MAX));
    }
}

/// A rule-state checkpoint was written, or failed.
pub struct CheckpointWritten<'a> {
    /// The file, or the error.
    pub result: Result<&'a str, &'a str>,
    /// Rules whose state it holds.
    pub rules: usize,
}

impl InternalEvent for CheckpointWritten<'_> {
    fn emit(self) {
        match self.result {
            Ok(path) => {
                debug!(path, rules = self.rules, "rule state checkpointed");
                counters().add(metric::CHECKPOINTS, "ok", 1);
            }
            Err(error) => {
                warn!(error, "rule state checkpoint failed; the previous one stays");
                counters().add(metric::CHECKPOINTS, "failed", 1);
            }
        }
    }
}

/// Rules were reloaded after their files changed.
pub struct RulesReloaded<'a> {
    /// Rules compiled and swapped in.
    pub swapped: usize,
    /// Rule errors (each keeps the old version running).
    pub rejected: &'a [String],
}

impl InternalEvent for RulesReloaded<'_> {
    fn emit(self) {
        info!(swapped = self.swapped, rejected = self.rejected.len(), "rules reloaded");
        counters().add(metric::RULE_RELOADS, "ok", self.swapped as u64);
        for e in self.rejected {
            warn!(error = %e, "changed rule rejected; the previous version keeps running");
        }
        counters().add(metric::RULE_RELOADS, "rejected", self.rejected.len() as u64);
    }
}

/// The enrichment hot-reload watcher started.
pub struct EnrichmentReloaderStarted<'a> {
    /// The settings whose files are watched (`enrichments.overlay`, ...).
    pub files: &'a [&'a str],
    /// Whether file-system notifications work (otherwise only polling).
    pub notifications: bool,
    /// The polling interval, seconds.
    pub poll_interval_secs: u64,
}

impl InternalEvent for EnrichmentReloaderStarted<'_> {
    fn emit(self) {
        info!(
            files = %self.files.join(", "),
            notifications = self.notifications,
            poll_interval_secs = self.poll_interval_secs,
            "watching enrichment files for changes"
        );
    }
}

/// A new enrichment snapshot went into service after its files changed.
pub struct EnrichmentsReloaded<'a> {
    /// The settings whose files changed; empty for a forced reload.
    pub files: &'a [String],
}

impl InternalEvent for EnrichmentsReloaded<'_> {
    fn emit(self) {
        info!(changed = %self.files.join(", "), "enrichments reloaded");
        counters().add(metric::ENRICHMENT_RELOADS, "ok", 1);
    }
}

/// A changed enrichment file was rejected; the previous snapshot stays in service.
pub struct EnrichmentReloadFailed<'a> {
    /// The setting that names the bad file.
    pub setting: &'a str,
    /// What is wrong with it.
    pub error: &'a str,
}

impl InternalEvent for EnrichmentReloadFailed<'_> {
    fn emit(self) {
        error!(
            setting = self.setting,
            error = self.error,
            "enrichment reload rejected; the previous snapshot stays in service"
        );
        counters().add(metric::ENRICHMENT_RELOADS, "failed", 1);
    }
}

/// A rule failed on a batch.
pub struct RuleFailed<'a> {
    /// Rule id.
    pub rule: &'a str,
    /// Error text.
    pub error: &'a str,
}

impl InternalEvent for RuleFailed<'_> {
    fn emit(self) {
        counters().add(metric::RULE_ERRORS, self.rule, 1);
        if let Some(suppressed) = rate_limited("rule_failed", self.rule) {
            error!(rule = self.rule, error = self.error, similar_suppressed = suppressed, "rule execution failed");
        }
    }
}

/// A sink wrote rows durably.
pub struct SinkWritten<'a> {
    /// Sink name.
    pub sink: &'a str,
    /// Rows written.
    pub rows: u64,
}

impl InternalEvent for SinkWritten<'_> {
    fn emit(self) {
        debug!(sink = self.sink, rows = self.rows, "sink wrote rows");
        counters().add(metric::SINK_ROWS, self.sink, self.rows);
    }
}

/// A sink failed to write.
pub struct SinkFailed<'a> {
    /// Sink name.
    pub sink: &'a str,
    /// Error text.
    pub error: &'a str,
}

impl InternalEvent for SinkFailed<'_> {
    fn emit(self) {
        counters().add(metric::SINK_ERRORS, self.sink, 1);
        if let Some(suppressed) = rate_limited("sink_failed", self.sink) {
            error!(
                sink = self.sink,
                error = self.error,
                similar_suppressed = suppressed,
                "sink write failed; batch will be reported as failed"
            );
        }
    }
}

/// A source learned the fate of a batch.
pub struct BatchAcknowledged<'a> {
    /// Stream name.
    pub source: &'a str,
    /// `delivered` or `failed`.
    pub status: &'static str,
}

impl InternalEvent for BatchAcknowledged<'_> {
    fn emit(self) {
        debug!(source = self.source, status = self.status, "batch acknowledged");
        counters().add(metric::BATCHES_ACKED, self.status, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_log_lines_are_rate_limited_per_key() {
        assert_eq!(rate_limited("test_event", "a"), Some(0), "the first is logged");
        assert_eq!(rate_limited("test_event", "a"), None);
        assert_eq!(rate_limited("test_event", "a"), None);
        assert_eq!(rate_limited("test_event", "b"), Some(0), "another key has its own limit");
        assert_eq!(rate_limited("other_event", "a"), Some(0), "another event too");
    }
}
