//! Everything worth observing, as one typed event each (Vector's
//! `internal_events` pattern): an event emits its log line, updates the
//! run's counters (the end-of-run summary, the progress line) and records its
//! Prometheus metrics (the admin listener's `/metrics`, through the `metrics`
//! facade) from one place, so they can never disagree.
//!
//! Counters are process-wide, keyed by (metric name, label); they are touched
//! once per batch, never per record. The Prometheus names are in [`prom`],
//! described (help text, unit) by [`describe_metrics`]; without an installed
//! recorder (`floodlight run` without `[admin]`, the tests) recording them
//! costs nothing.
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
    /// Records kept with an inferred time (label: format).
    pub const TIME_INFERRED: &str = "records_time_inferred_total";
    /// Rows held for attribution, by what it found (label: `attributed`, `unattributed`, `late_sighting`).
    pub const ATTRIBUTION: &str = "attribution_rows_total";
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
    /// Scale-out: part snapshots written to the changelog (label: `ok` or `failed`).
    pub const PART_SNAPSHOTS: &str = "scale_part_snapshots_total";
    /// Scale-out: rule rows a part already had (a replay after a partition moved), skipped (label: all).
    pub const PART_REPLAYED: &str = "scale_replayed_rows_total";
    /// Rules reloaded from changed files (label: `ok` or `rejected`).
    pub const RULE_RELOADS: &str = "rule_reloads_total";
    /// Enrichment snapshot reloads (label: `ok` or `failed`).
    pub const ENRICHMENT_RELOADS: &str = "enrichment_reloads_total";
}

/// The Prometheus metrics, one place: name constants (prefixed
/// `floodlight_`, named the way Vector names its internal metrics) and
/// [`describe_metrics`]. `docs/operations.md` lists them with their labels.
pub mod prom {
    /// Records read by a source (Vector's name; labels `component_kind="source"`, `component_id`, `component_type`).
    pub const COMPONENT_RECEIVED_EVENTS: &str = "floodlight_component_received_events_total";
    /// Bytes read by a source (labels as above).
    pub const COMPONENT_RECEIVED_BYTES: &str = "floodlight_component_received_bytes_total";
    /// Rows a sink wrote (labels `component_kind="sink"`, `component_id`, `component_type`).
    pub const COMPONENT_SENT_EVENTS: &str = "floodlight_component_sent_events_total";
    /// Errors of a component (labels as above, plus `error_type`).
    pub const COMPONENT_ERRORS: &str = "floodlight_component_errors_total";
    /// Batches waiting in a channel between stages (label `buffer_id`: `raw`, `processed`, `output`).
    pub const BUFFER_EVENTS: &str = "floodlight_buffer_events";
    /// A channel's capacity in batches (label `buffer_id`).
    pub const BUFFER_MAX_EVENTS: &str = "floodlight_buffer_max_events";
    /// Raw records read (label `source`).
    pub const RECORDS_RECEIVED: &str = "floodlight_records_received_total";
    /// Records decoded into at least one event (label `source`).
    pub const RECORDS_DECODED: &str = "floodlight_records_decoded_total";
    /// Records skipped as valid but irrelevant (labels `source`, `reason`).
    pub const RECORDS_SKIPPED: &str = "floodlight_records_skipped_total";
    /// Records dead-lettered by the decode stage (labels `source`, `reason`:
    /// `parse`, `too_long`, `no_rows`, `panic`, `unknown_format`, `arrow`).
    pub const RECORDS_DEAD_LETTERED: &str = "floodlight_records_dead_lettered_total";
    /// Records of a known format without a usable time of their own, kept
    /// with an inferred time (`time_inferred`) (label `source`).
    pub const RECORDS_TIME_INFERRED: &str = "floodlight_records_time_inferred_total";
    /// Rows without a user held for attribution, by result (label `result`:
    /// `attributed`, `unattributed`), and sightings that came too late to
    /// learn from (`late_sighting`).
    pub const ATTRIBUTION_ROWS: &str = "floodlight_attribution_rows_total";
    /// Decoded records dead-lettered because a rule could not use them, being late (label `stream`).
    pub const LATE_RECORDS: &str = "floodlight_late_records_total";
    /// Enriched events handed to the sinks (label `class`).
    pub const EVENTS_EMITTED: &str = "floodlight_events_emitted_total";
    /// Records behind a partition's high watermark (labels `topic`, `partition`).
    pub const KAFKA_LAG: &str = "floodlight_kafka_consumer_lag";
    /// A partition's last committed offset (labels `topic`, `partition`).
    pub const KAFKA_COMMITTED: &str = "floodlight_kafka_committed_offset";
    /// Records consumed from a partition (labels `topic`, `partition`).
    pub const KAFKA_CONSUMED: &str = "floodlight_kafka_records_consumed_total";
    /// Offset commits that failed.
    pub const KAFKA_COMMIT_ERRORS: &str = "floodlight_kafka_commit_errors_total";
    /// Batches re-read after a sink failed to write them (labels `topic`, `partition`).
    pub const KAFKA_REWINDS: &str = "floodlight_kafka_rewinds_total";
    /// Times consumption paused for backpressure (label `reason`).
    pub const KAFKA_PAUSES: &str = "floodlight_kafka_consumption_paused_total";
    /// Errors reported by a librdkafka client (label `client`).
    pub const KAFKA_CLIENT_ERRORS: &str = "floodlight_kafka_client_errors_total";
    /// Partitions assigned / revoked (label `kind`).
    pub const KAFKA_REBALANCED: &str = "floodlight_kafka_partitions_rebalanced_total";
    /// How long one batch took in one stage (histogram; label `stage`: `decode`, `enrich`, `match`, `detect`, `sink`).
    pub const STAGE_BATCH_DURATION: &str = "floodlight_stage_batch_duration_seconds";
    /// How long one rule took over one batch (histogram; label `rule_id`).
    pub const RULE_DURATION: &str = "floodlight_rule_duration_seconds";
    /// Rows a rule matched (label `rule_id`).
    pub const RULE_MATCHES: &str = "floodlight_rule_matches_total";
    /// Rule execution errors (label `rule_id`).
    pub const RULE_ERRORS: &str = "floodlight_rule_errors_total";
    /// Keys a stateful rule holds (label `rule_id`).
    pub const RULE_STATE_KEYS: &str = "floodlight_rule_state_keys";
    /// Rows a rule could not use, being late (label `rule_id`).
    pub const RULE_LATE_EVENTS: &str = "floodlight_rule_late_events_total";
    /// Scale-out: part snapshots written to the changelog (label `result`).
    pub const PART_SNAPSHOTS: &str = "floodlight_scale_part_snapshots_total";
    /// Scale-out: rule rows a part already had, skipped.
    pub const PART_REPLAYED: &str = "floodlight_scale_replayed_rows_total";
    /// Findings raised, new or updated (label `rule_id`).
    pub const FINDINGS_RAISED: &str = "floodlight_findings_raised_total";
    /// Matches suppressed by dedup (label `rule_id`).
    pub const FINDINGS_SUPPRESSED: &str = "floodlight_findings_suppressed_total";
    /// Rule reloads (label `result`: `ok`, `rejected`).
    pub const RULE_RELOADS: &str = "floodlight_rule_reloads_total";
    /// Rule-state checkpoints (label `result`: `ok`, `failed`).
    pub const CHECKPOINTS: &str = "floodlight_rule_checkpoints_total";
    /// Enrichment reloads (label `result`: `ok`, `rejected`).
    pub const ENRICHMENT_RELOADS: &str = "floodlight_enrichment_reloads_total";
    /// Seconds since the enrichment snapshot in service was loaded.
    pub const ENRICHMENT_SNAPSHOT_AGE: &str = "floodlight_enrichment_snapshot_age_seconds";
    /// GeoIP lookups answered from the cache.
    pub const GEOIP_CACHE_HITS: &str = "floodlight_geoip_cache_hits_total";
    /// GeoIP lookups that read the databases.
    pub const GEOIP_CACHE_MISSES: &str = "floodlight_geoip_cache_misses_total";
    /// A stream's watermark: event time up to which stateful rules consumed it, Unix seconds (label `stream`).
    pub const STREAM_WATERMARK: &str = "floodlight_stream_watermark_seconds";
    /// Sink write failures (label `sink`).
    pub const SINK_ERRORS: &str = "floodlight_sink_errors_total";
    /// Batches acknowledged to sources (label `status`).
    pub const BATCHES_ACKED: &str = "floodlight_batches_acknowledged_total";
    /// 1 when `/readyz` answers 200.
    pub const READY: &str = "floodlight_ready";
    /// 1 once SIGTERM / Ctrl-C started the drain.
    pub const DRAINING: &str = "floodlight_draining";
    /// Always 1 (label `version`).
    pub const BUILD_INFO: &str = "floodlight_build_info";

    /// Every metric above, for checks that a dashboard or alert names a real one.
    pub const ALL: &[&str] = &[
        COMPONENT_RECEIVED_EVENTS,
        COMPONENT_RECEIVED_BYTES,
        COMPONENT_SENT_EVENTS,
        COMPONENT_ERRORS,
        BUFFER_EVENTS,
        BUFFER_MAX_EVENTS,
        RECORDS_RECEIVED,
        RECORDS_DECODED,
        RECORDS_SKIPPED,
        RECORDS_DEAD_LETTERED,
        RECORDS_TIME_INFERRED,
        ATTRIBUTION_ROWS,
        LATE_RECORDS,
        EVENTS_EMITTED,
        KAFKA_LAG,
        KAFKA_COMMITTED,
        KAFKA_CONSUMED,
        KAFKA_COMMIT_ERRORS,
        KAFKA_REWINDS,
        KAFKA_PAUSES,
        KAFKA_CLIENT_ERRORS,
        KAFKA_REBALANCED,
        STAGE_BATCH_DURATION,
        RULE_DURATION,
        RULE_MATCHES,
        RULE_ERRORS,
        RULE_STATE_KEYS,
        RULE_LATE_EVENTS,
        PART_SNAPSHOTS,
        PART_REPLAYED,
        FINDINGS_RAISED,
        FINDINGS_SUPPRESSED,
        RULE_RELOADS,
        CHECKPOINTS,
        ENRICHMENT_RELOADS,
        ENRICHMENT_SNAPSHOT_AGE,
        GEOIP_CACHE_HITS,
        GEOIP_CACHE_MISSES,
        STREAM_WATERMARK,
        SINK_ERRORS,
        BATCHES_ACKED,
        READY,
        DRAINING,
        BUILD_INFO,
    ];
}

/// Give every Prometheus metric its help text and unit. Call once, after
/// installing a recorder.
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    use prom::*;
    describe_counter!(COMPONENT_RECEIVED_EVENTS, "Records read by a source.");
    describe_counter!(COMPONENT_RECEIVED_BYTES, Unit::Bytes, "Bytes read by a source.");
    describe_counter!(COMPONENT_SENT_EVENTS, "Rows a sink wrote durably.");
    describe_counter!(COMPONENT_ERRORS, "Errors of a component.");
    describe_gauge!(BUFFER_EVENTS, "Batches waiting in a channel between stages.");
    describe_gauge!(BUFFER_MAX_EVENTS, "Capacity of a channel between stages, in batches.");
    describe_counter!(RECORDS_RECEIVED, "Raw records read.");
    describe_counter!(RECORDS_DECODED, "Records decoded into at least one event.");
    describe_counter!(RECORDS_SKIPPED, "Records skipped as valid but irrelevant.");
    describe_counter!(RECORDS_DEAD_LETTERED, "Records the decode stage sent to the dead-letter output.");
    describe_counter!(
        RECORDS_TIME_INFERRED,
        "Records of a known format without a usable time of their own, kept with an inferred time."
    );
    describe_counter!(
        ATTRIBUTION_ROWS,
        "Rows without a user held for attribution, by result; sightings too late to learn from."
    );
    describe_counter!(LATE_RECORDS, "Records dead-lettered because a rule could not use them, being late.");
    describe_counter!(EVENTS_EMITTED, "Enriched events handed to the sinks.");
    describe_gauge!(KAFKA_LAG, "Records behind the partition's high watermark (librdkafka statistics).");
    describe_gauge!(KAFKA_COMMITTED, "The partition's last committed offset (the next record to read).");
    describe_counter!(KAFKA_CONSUMED, "Records consumed from the partition.");
    describe_counter!(KAFKA_COMMIT_ERRORS, "Offset commits that failed.");
    describe_counter!(KAFKA_REWINDS, "Batches re-read after a sink failed to write them.");
    describe_counter!(KAFKA_PAUSES, "Times consumption paused for backpressure.");
    describe_counter!(KAFKA_CLIENT_ERRORS, "Errors reported by a librdkafka client.");
    describe_counter!(KAFKA_REBALANCED, "Partitions assigned or revoked by consumer-group rebalances.");
    describe_histogram!(STAGE_BATCH_DURATION, Unit::Seconds, "How long one batch took in one stage.");
    describe_histogram!(RULE_DURATION, Unit::Seconds, "How long one rule took over one batch.");
    describe_counter!(RULE_MATCHES, "Rows a rule matched.");
    describe_counter!(RULE_ERRORS, "Rule execution errors.");
    describe_gauge!(RULE_STATE_KEYS, "Keys (windows, first-seen keys, correlation entities) a rule holds.");
    describe_counter!(RULE_LATE_EVENTS, "Rows a rule could not use, being late.");
    describe_counter!(PART_SNAPSHOTS, "Scale-out part snapshots written to the changelog.");
    describe_counter!(PART_REPLAYED, "Scale-out rule rows a part already had (replayed after a move), skipped.");
    describe_counter!(FINDINGS_RAISED, "Findings raised (new ones and updates).");
    describe_counter!(FINDINGS_SUPPRESSED, "Matches suppressed by dedup.");
    describe_counter!(RULE_RELOADS, "Rules reloaded from changed files.");
    describe_counter!(CHECKPOINTS, "Rule-state checkpoints written.");
    describe_counter!(ENRICHMENT_RELOADS, "Enrichment snapshot reloads.");
    describe_gauge!(ENRICHMENT_SNAPSHOT_AGE, Unit::Seconds, "Age of the enrichment snapshot in service.");
    describe_counter!(GEOIP_CACHE_HITS, "GeoIP lookups answered from the cache.");
    describe_counter!(GEOIP_CACHE_MISSES, "GeoIP lookups that read the databases.");
    describe_gauge!(STREAM_WATERMARK, Unit::Seconds, "Event time up to which stateful rules consumed the stream.");
    describe_counter!(SINK_ERRORS, "Sink write failures.");
    describe_counter!(BATCHES_ACKED, "Batches acknowledged to sources.");
    describe_gauge!(READY, "1 when the process is ready (/readyz answers 200).");
    describe_gauge!(DRAINING, "1 once SIGTERM or Ctrl-C started the drain.");
    describe_gauge!(BUILD_INFO, "Always 1; the version is a label.");
}

/// Something that records metrics read from state rather than from events
/// (a cache's counters, a snapshot's age), run just before every scrape.
pub type Collector = Box<dyn Fn() + Send + Sync>;

fn collectors() -> &'static Mutex<BTreeMap<&'static str, Collector>> {
    static C: OnceLock<Mutex<BTreeMap<&'static str, Collector>>> = OnceLock::new();
    C.get_or_init(Mutex::default)
}

/// Run `collector` before every scrape, replacing the one registered under `name`.
pub fn register_collector(name: &'static str, collector: Collector) {
    collectors().lock().unwrap_or_else(|p| p.into_inner()).insert(name, collector);
}

/// Run every collector (the admin listener does, before rendering `/metrics`).
pub fn collect() {
    for c in collectors().lock().unwrap_or_else(|p| p.into_inner()).values() {
        c();
    }
}

/// Where a source's records come from, for `component_type`: the kind of
/// source its stream names (`kafka:<topic>`, `stdin`, `demo:<file>`, or a file path).
fn source_type(source: &str) -> &'static str {
    if source.starts_with("kafka:") {
        "kafka"
    } else if source == "stdin" {
        "stdin"
    } else if source.starts_with("demo") {
        "demo"
    } else {
        "file"
    }
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
        metrics::counter!(prom::KAFKA_CONSUMED, "topic" => self.topic.to_string(), "partition" => self.partition.to_string())
            .increment(self.records);
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
        metrics::gauge!(prom::KAFKA_LAG, "topic" => self.topic.to_string(), "partition" => self.partition.to_string())
            .set(self.lag as f64);
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
        metrics::gauge!(prom::KAFKA_COMMITTED, "topic" => self.topic.to_string(), "partition" => self.partition.to_string())
            .set(self.offset as f64);
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
        metrics::counter!(prom::KAFKA_COMMIT_ERRORS).increment(1);
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
        metrics::counter!(prom::KAFKA_REWINDS, "topic" => self.topic.to_string(), "partition" => self.partition.to_string())
            .increment(1);
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
            metrics::counter!(prom::KAFKA_PAUSES, "reason" => self.reason).increment(1);
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
        metrics::counter!(prom::KAFKA_REBALANCED, "kind" => self.kind).increment(self.partitions.len() as u64);
        if self.kind == "revoked" {
            // A partition this consumer no longer owns has no lag here: its new
            // owner reports it. Without this, the last value would stay and a
            // sum over replicas would count the partition twice.
            for (topic, partition) in self.partitions.iter().filter_map(|l| l.rsplit_once('/')) {
                metrics::gauge!(prom::KAFKA_LAG, "topic" => topic.to_string(), "partition" => partition.to_string())
                    .set(0.0);
            }
        }
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
        metrics::counter!(prom::KAFKA_CLIENT_ERRORS, "client" => self.client.to_string()).increment(1);
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
        let labels = [
            ("component_kind", "source".to_string()),
            ("component_id", self.source.to_string()),
            ("component_type", source_type(self.source).to_string()),
        ];
        metrics::counter!(prom::COMPONENT_RECEIVED_EVENTS, &labels).increment(self.records);
        metrics::counter!(prom::COMPONENT_RECEIVED_BYTES, &labels).increment(self.bytes);
        metrics::counter!(prom::RECORDS_RECEIVED, "source" => self.source.to_string()).increment(self.records);
    }
}

/// A batch was decoded.
pub struct BatchDecoded<'a> {
    /// Format id.
    pub format: &'a str,
    /// Stream name.
    pub source: &'a str,
    /// Records that produced rows.
    pub records: u64,
    /// Rows produced.
    pub rows: u64,
    /// Skip reasons with counts.
    pub skipped: &'a [(&'static str, u64)],
    /// Records dead-lettered, by kind of reason (`parse`, `too_long`, `no_rows`,
    /// `panic`, `unknown_format`, `arrow`: a label, not the record's reason).
    pub dead_lettered: &'a [(&'static str, u64)],
    /// Records kept with an inferred time (no usable time of their own).
    pub time_inferred: u64,
}

impl InternalEvent for BatchDecoded<'_> {
    fn emit(self) {
        let dead_lettered: u64 = self.dead_lettered.iter().map(|(_, n)| n).sum();
        debug!(format = self.format, source = self.source, rows = self.rows, dead_lettered, "batch decoded");
        counters().add(metric::EVENTS_DECODED, self.format, self.rows);
        metrics::counter!(prom::RECORDS_DECODED, "source" => self.source.to_string()).increment(self.records);
        if self.time_inferred > 0 {
            counters().add(metric::TIME_INFERRED, self.format, self.time_inferred);
            metrics::counter!(prom::RECORDS_TIME_INFERRED, "source" => self.source.to_string())
                .increment(self.time_inferred);
            if let Some(suppressed) = rate_limited("records_time_inferred", self.source) {
                warn!(
                    format = self.format,
                    source = self.source,
                    count = self.time_inferred,
                    similar_suppressed = suppressed,
                    "records without a usable time kept with their stream's time (column time_inferred)"
                );
            }
        }
        for (reason, n) in self.skipped {
            counters().add(metric::RECORDS_SKIPPED, reason, *n);
            metrics::counter!(prom::RECORDS_SKIPPED, "source" => self.source.to_string(), "reason" => *reason)
                .increment(*n);
        }
        for (reason, n) in self.dead_lettered {
            metrics::counter!(prom::RECORDS_DEAD_LETTERED, "source" => self.source.to_string(), "reason" => *reason)
                .increment(*n);
        }
        if dead_lettered > 0 {
            counters().add(metric::DEAD_LETTERED, self.format, dead_lettered);
            if let Some(suppressed) = rate_limited("records_dead_lettered", self.source) {
                warn!(
                    format = self.format,
                    source = self.source,
                    count = dead_lettered,
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
        metrics::counter!(prom::EVENTS_EMITTED, "class" => self.class).increment(self.rows);
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
            metrics::counter!(prom::FINDINGS_RAISED, "rule_id" => self.rule.to_string()).increment(self.raised);
        }
        if self.suppressed > 0 {
            counters().add(metric::FINDINGS_SUPPRESSED, self.rule, self.suppressed);
            metrics::counter!(prom::FINDINGS_SUPPRESSED, "rule_id" => self.rule.to_string()).increment(self.suppressed);
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

/// Attribution released rows without a user: how many it named a person
/// for, how many it could not, and sightings that came too late to learn.
pub struct RowsAttributed {
    /// Rows given a person (`user_source = 'ip_lease'`).
    pub attributed: u64,
    /// Rows no sighting named a person for.
    pub unattributed: u64,
    /// Sightings behind what attribution had already released.
    pub late_sightings: u64,
}

impl InternalEvent for RowsAttributed {
    fn emit(self) {
        for (result, n) in [
            ("attributed", self.attributed),
            ("unattributed", self.unattributed),
            ("late_sighting", self.late_sightings),
        ] {
            if n > 0 {
                counters().add(metric::ATTRIBUTION, result, n);
                metrics::counter!(prom::ATTRIBUTION_ROWS, "result" => result).increment(n);
            }
        }
        if self.attributed + self.unattributed > 0 {
            debug!(attributed = self.attributed, unattributed = self.unattributed, "rows attributed");
        }
        if self.late_sightings > 0 {
            if let Some(suppressed) = rate_limited("late_sightings", "attribution") {
                warn!(
                    sightings = self.late_sightings,
                    similar_suppressed = suppressed,
                    "sightings of a person on an address came after attribution had passed their time; not learned \
                     (see `allowed_lateness`)"
                );
            }
        }
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
            metrics::counter!(prom::RULE_LATE_EVENTS, "rule_id" => self.rule.to_string()).increment(self.rows);
        }
    }
}

/// Scale-out: a part's state was written to the changelog, or could not be.
pub struct PartSnapshotWritten<'a> {
    /// The part.
    pub part: u32,
    /// Bytes written, or why not.
    pub result: Result<usize, &'a str>,
}

impl InternalEvent for PartSnapshotWritten<'_> {
    fn emit(self) {
        let label = match self.result {
            Ok(bytes) => {
                debug!(part = self.part, bytes, "part state written to the changelog");
                "ok"
            }
            Err(e) => {
                warn!(
                    part = self.part,
                    error = e,
                    "part state not written to the changelog; the previous snapshot stays"
                );
                "failed"
            }
        };
        counters().add(metric::PART_SNAPSHOTS, label, 1);
        metrics::counter!(prom::PART_SNAPSHOTS, "result" => label).increment(1);
    }
}

/// Scale-out: rule rows a part had already taken in arrived again (their
/// input was read again after its partition moved) behind what the part
/// consumed: skipped, not dead-lettered.
pub struct PartRowsReplayed {
    /// The part.
    pub part: u32,
    /// Rows.
    pub rows: u64,
}

impl InternalEvent for PartRowsReplayed {
    fn emit(self) {
        if self.rows > 0 {
            debug!(part = self.part, rows = self.rows, "replayed rule rows skipped");
            counters().add(metric::PART_REPLAYED, "all", self.rows);
            metrics::counter!(prom::PART_REPLAYED).increment(self.rows);
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
        metrics::counter!(prom::LATE_RECORDS, "stream" => self.stream.to_string()).increment(self.records);
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
        metrics::gauge!(prom::RULE_STATE_KEYS, "rule_id" => self.rule.to_string()).set(self.keys as f64);
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
                metrics::counter!(prom::CHECKPOINTS, "result" => "ok").increment(1);
            }
            Err(error) => {
                warn!(error, "rule state checkpoint failed; the previous one stays");
                counters().add(metric::CHECKPOINTS, "failed", 1);
                metrics::counter!(prom::CHECKPOINTS, "result" => "failed").increment(1);
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
        metrics::counter!(prom::RULE_RELOADS, "result" => "ok").increment(self.swapped as u64);
        for e in self.rejected {
            warn!(error = %e, "changed rule rejected; the previous version keeps running");
        }
        counters().add(metric::RULE_RELOADS, "rejected", self.rejected.len() as u64);
        metrics::counter!(prom::RULE_RELOADS, "result" => "rejected").increment(self.rejected.len() as u64);
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
        metrics::counter!(prom::ENRICHMENT_RELOADS, "result" => "ok").increment(1);
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
        metrics::counter!(prom::ENRICHMENT_RELOADS, "result" => "rejected").increment(1);
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
        metrics::counter!(prom::RULE_ERRORS, "rule_id" => self.rule.to_string()).increment(1);
        if let Some(suppressed) = rate_limited("rule_failed", self.rule) {
            error!(rule = self.rule, error = self.error, similar_suppressed = suppressed, "rule execution failed");
        }
    }
}

/// A sink wrote rows durably.
pub struct SinkWritten<'a> {
    /// Sink name.
    pub sink: &'a str,
    /// Sink kind ([`crate::sinks::Sink::kind`]).
    pub kind: &'static str,
    /// Rows written.
    pub rows: u64,
}

impl InternalEvent for SinkWritten<'_> {
    fn emit(self) {
        debug!(sink = self.sink, rows = self.rows, "sink wrote rows");
        counters().add(metric::SINK_ROWS, self.sink, self.rows);
        metrics::counter!(prom::COMPONENT_SENT_EVENTS, &sink_labels(self.sink, self.kind)).increment(self.rows);
    }
}

/// A sink failed to write.
pub struct SinkFailed<'a> {
    /// Sink name.
    pub sink: &'a str,
    /// Sink kind ([`crate::sinks::Sink::kind`]).
    pub kind: &'static str,
    /// Error text.
    pub error: &'a str,
}

impl InternalEvent for SinkFailed<'_> {
    fn emit(self) {
        counters().add(metric::SINK_ERRORS, self.sink, 1);
        metrics::counter!(prom::SINK_ERRORS, "sink" => self.sink.to_string()).increment(1);
        let mut labels = sink_labels(self.sink, self.kind).to_vec();
        labels.push(("error_type", "write_failed".to_string()));
        metrics::counter!(prom::COMPONENT_ERRORS, &labels).increment(1);
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
        metrics::counter!(prom::BATCHES_ACKED, "status" => self.status).increment(1);
    }
}

/// Component labels of a sink.
fn sink_labels(sink: &str, kind: &'static str) -> [(&'static str, String); 3] {
    [("component_kind", "sink".to_string()), ("component_id", sink.to_string()), ("component_type", kind.to_string())]
}

/// A batch went through one stage.
pub struct StageBatchTimed {
    /// `decode`, `enrich`, `match`, `detect`, `sink`.
    pub stage: &'static str,
    /// How long it took.
    pub elapsed: Duration,
}

impl InternalEvent for StageBatchTimed {
    fn emit(self) {
        metrics::histogram!(prom::STAGE_BATCH_DURATION, "stage" => self.stage).record(self.elapsed.as_secs_f64());
    }
}

/// A rule ran over one batch.
pub struct RuleEvaluated<'a> {
    /// Rule id.
    pub rule: &'a str,
    /// How long it took.
    pub elapsed: Duration,
    /// Rows it matched.
    pub matches: u64,
}

impl InternalEvent for RuleEvaluated<'_> {
    fn emit(self) {
        metrics::histogram!(prom::RULE_DURATION, "rule_id" => self.rule.to_string()).record(self.elapsed.as_secs_f64());
        if self.matches > 0 {
            metrics::counter!(prom::RULE_MATCHES, "rule_id" => self.rule.to_string()).increment(self.matches);
        }
    }
}

/// How full a channel between stages is.
pub struct BufferLevel {
    /// `raw`, `processed` or `output`.
    pub buffer: &'static str,
    /// Batches in it.
    pub len: usize,
    /// Its capacity.
    pub capacity: usize,
}

impl InternalEvent for BufferLevel {
    fn emit(self) {
        metrics::gauge!(prom::BUFFER_EVENTS, "buffer_id" => self.buffer).set(self.len as f64);
        metrics::gauge!(prom::BUFFER_MAX_EVENTS, "buffer_id" => self.buffer).set(self.capacity as f64);
    }
}

/// A stream's watermark moved.
pub struct WatermarkAdvanced<'a> {
    /// Stream name.
    pub stream: &'a str,
    /// Event time up to which stateful rules consumed it, microseconds since the epoch.
    pub micros: i64,
}

impl InternalEvent for WatermarkAdvanced<'_> {
    fn emit(self) {
        metrics::gauge!(prom::STREAM_WATERMARK, "stream" => self.stream.to_string()).set(self.micros as f64 / 1e6);
    }
}

/// The enrichment stage as a scrape sees it.
pub struct EnrichmentObserved {
    /// Age of the snapshot in service.
    pub snapshot_age: Duration,
    /// GeoIP cache hits since the last observation.
    pub geoip_hits: u64,
    /// GeoIP cache misses since the last observation.
    pub geoip_misses: u64,
}

impl InternalEvent for EnrichmentObserved {
    fn emit(self) {
        metrics::gauge!(prom::ENRICHMENT_SNAPSHOT_AGE).set(self.snapshot_age.as_secs_f64());
        metrics::counter!(prom::GEOIP_CACHE_HITS).increment(self.geoip_hits);
        metrics::counter!(prom::GEOIP_CACHE_MISSES).increment(self.geoip_misses);
    }
}

/// Readiness or draining changed, or a scrape wants them current.
pub struct HealthObserved {
    /// `/readyz` answers 200.
    pub ready: bool,
    /// Draining started.
    pub draining: bool,
}

impl InternalEvent for HealthObserved {
    fn emit(self) {
        metrics::gauge!(prom::READY).set(if self.ready { 1.0 } else { 0.0 });
        metrics::gauge!(prom::DRAINING).set(if self.draining { 1.0 } else { 0.0 });
    }
}

/// Draining started (SIGTERM, Ctrl-C).
pub struct DrainStarted {
    /// `SIGTERM` or `SIGINT`.
    pub signal: &'static str,
    /// How long the drain may take before the process exits anyway.
    pub deadline: Option<Duration>,
}

impl InternalEvent for DrainStarted {
    fn emit(self) {
        let deadline = self.deadline.map(|d| humantime::format_duration(d).to_string());
        info!(
            signal = self.signal,
            deadline = deadline.as_deref().unwrap_or("none"),
            "shutdown requested: not ready any more, draining in-flight batches"
        );
        crate::health::health().set_draining();
        emit(HealthObserved { ready: false, draining: true });
    }
}

/// The drain did not finish in time: the process exits anyway.
pub struct DrainDeadlineMissed {
    /// The deadline.
    pub deadline: Duration,
}

impl InternalEvent for DrainDeadlineMissed {
    fn emit(self) {
        error!(
            deadline = %humantime::format_duration(self.deadline),
            "the drain did not finish in time; exiting now. Uncommitted records are read again by the next \
             consumer, rule state from the last checkpoint"
        );
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
