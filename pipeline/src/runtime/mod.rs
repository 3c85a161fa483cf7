//! The runtime: stages as tokio tasks joined by bounded channels.
//!
//! ```text
//!  sources ──mpsc(capacity)──▶ N workers ──mpsc(capacity)──▶ detection ──mpsc(capacity)──▶ sink stage
//!  (one task each)            decode → enrich → match        stage (1 task)               every sink
//! ```
//!
//! * **Backpressure, bounded memory**: every channel is bounded; when the
//!   sinks are slow the stages block on send, the raw channel fills and the
//!   sources block — nothing buffers without limit.
//! * **Parallelism**: `workers` tasks (default: one per core) pull raw
//!   batches from the shared channel; each decodes, enriches, learns its
//!   stream's time before the batch ([`crate::event_time`]) and runs every
//!   rule's SQL over the rows on time for it.
//! * **Determinism**: the detection stage is the only place rule state
//!   changes. It files what the rules matched by event time and consumes it
//!   as the watermark passes, so findings and their revisions do not depend
//!   on which worker finished first, on batch sizes or on how sources interleave.
//! * **Acknowledgements**: each raw batch's [`AckToken`](crate::ack::AckToken)
//!   rides along in its [`Output`]; sinks hold a clone until durable.
//! * **Shutdown**: cancelling the token stops the sources; they send what
//!   they have, the workers finish every batch in flight, the detection
//!   stage consumes what is pending (when the input ended, or when there is
//!   no state directory to keep it in), the sinks flush, acknowledgements
//!   reach the sources, and [`run`] returns a summary.

pub mod memory;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Array, BooleanArray, TimestampMicrosecondArray};
use arrow::record_batch::RecordBatch;
use tokio::sync::{mpsc, Mutex};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn, Instrument};

use crate::attribute::Deferred;
use crate::dead_letter::DeadLetter;
use crate::decode::stage::{decode_batch, Decoded};
use crate::decode::{decoder_for, Decoder};
use crate::detect::{DetectionEngine, Matched, StageLate};
use crate::event_time::{
    Micros, Position, RecordTimes, Resume, RowMargins, StreamClocks, StreamOpener, StreamPos, StreamRegistry,
    Watermarks,
};
use crate::health::health;
use crate::internal_events::{
    counters, emit, BufferLevel, DrainDeadlineMissed, DrainStarted, EventsEmitted, FindingsSummary,
    LateRecordsDeadLettered, LateRowsDropped, SinkFailed, SinkWritten, StageBatchTimed, WatermarkAdvanced,
};
use crate::schema::{EventClass, Finding, Timestamp, VendorFieldsFilter};
use crate::sinks::{Output, Sink};
use crate::source::{BatchLimits, RawBatch, Source, SourceContext, SourceError, SourceReport};
use crate::transform::Enricher;

/// Runtime settings.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Worker tasks doing decode/enrich/detect (0 = one per core).
    pub workers: usize,
    /// Capacity (in batches) of each channel between stages.
    pub channel_capacity: usize,
    /// Micro-batch limits for sources.
    pub limits: BatchLimits,
    /// How long sources wait for outstanding acknowledgements at the end.
    pub drain_timeout: Duration,
    /// How often sinks are asked to flush / roll.
    pub flush_interval: Duration,
    /// How often rule state is checkpointed (with a state directory).
    pub checkpoint_interval: Duration,
    /// How many findings the summary keeps for display.
    pub keep_findings: usize,
    /// Watch the rule files and swap in changed rules (`[rules] reload`).
    pub rule_watch: Option<crate::detect::RuleWatch>,
    /// How far behind its stream's newest event a record may be and still
    /// count for stateful rules, unless its source says otherwise.
    pub allowed_lateness: Duration,
    /// How long a stream whose source waits for input holds the watermark back.
    pub idle_timeout: Duration,
    /// Which vendor fields the decode stage keeps.
    pub vendor_fields: VendorFieldsPolicy,
    /// Whether enriched events travel on to the sinks in [`Output::events`]
    /// whatever the sinks; they also do when a sink of the run says it
    /// writes them ([`Sink::writes_events`]: the lake with `events`, a Kafka
    /// `events_topic`, any sink that does not say). Without one, a worker
    /// drops a batch's events once the rules have run, instead of the
    /// channels to the detection stage and the sinks holding every batch in
    /// flight whole.
    pub send_events: bool,
}

/// Which vendor fields the decode stage writes into `vendor_fields`
/// (`[runtime] vendor_fields`).
#[derive(Debug, Clone)]
pub enum VendorFieldsPolicy {
    /// All of them when events are written out or a rule in service reads
    /// the column (decided per batch, so a reloaded rule that reads it gets
    /// it); none otherwise.
    Auto {
        /// Whether the lake or Kafka writes enriched events.
        events_written: bool,
    },
    /// Always this filter.
    Fixed(VendorFieldsFilter),
}

impl VendorFieldsPolicy {
    /// The filter for a batch that `rules` will read.
    pub fn filter(&self, rules: &crate::detect::RuleSet) -> VendorFieldsFilter {
        match self {
            VendorFieldsPolicy::Auto { events_written: true } => VendorFieldsFilter::All,
            VendorFieldsPolicy::Auto { events_written: false } if rules.reads_vendor_fields() => {
                VendorFieldsFilter::All
            }
            VendorFieldsPolicy::Auto { events_written: false } => VendorFieldsFilter::None,
            VendorFieldsPolicy::Fixed(f) => f.clone(),
        }
    }
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            workers: 0,
            channel_capacity: 4,
            limits: BatchLimits::default(),
            drain_timeout: Duration::from_secs(30),
            flush_interval: Duration::from_secs(1),
            checkpoint_interval: Duration::from_secs(30),
            keep_findings: 10_000,
            rule_watch: None,
            allowed_lateness: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30),
            vendor_fields: VendorFieldsPolicy::Fixed(VendorFieldsFilter::All),
            send_events: true,
        }
    }
}

impl RuntimeOptions {
    /// The effective number of workers.
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        }
    }
}

/// What a finite run did.
#[derive(Debug, Default)]
pub struct RunSummary {
    /// Per source: its report, or the error it ended with.
    pub sources: Vec<(String, Result<SourceReport, String>)>,
    /// Findings raised (up to `keep_findings`), in order.
    pub findings: Vec<Finding>,
    /// Findings raised in total.
    pub findings_total: u64,
    /// Matches suppressed by dedup.
    pub suppressed_total: u64,
    /// Every counter at the end of the run: (metric, label, value).
    pub counters: Vec<(String, String, u64)>,
    /// Wall time.
    pub elapsed: Duration,
}

impl RunSummary {
    /// Sum of one metric over its labels.
    pub fn total(&self, metric: &str) -> u64 {
        self.counters.iter().filter(|(m, _, _)| m == metric).map(|(_, _, v)| *v).sum()
    }
}

/// Everything a run needs.
pub struct Pipeline {
    /// Sources to read.
    pub sources: Vec<Box<dyn Source>>,
    /// Enrichment stage.
    pub enricher: Arc<Enricher>,
    /// Compiled rules.
    pub engine: Arc<DetectionEngine>,
    /// Sinks (every output goes to each).
    pub sinks: Vec<Box<dyn Sink>>,
    /// Settings.
    pub options: RuntimeOptions,
    /// Where each stream was read up to at the last checkpoint (sources resume there).
    pub resume: BTreeMap<String, Resume>,
    /// Scale-out ([`crate::scale`]): rule output goes to parts instead of a
    /// detection stage in this process, and this replica's parts are read back.
    pub scale: Option<crate::scale::ScaleOut>,
}

/// Run until every source ends (or `shutdown` is cancelled and in-flight
/// work is drained).
pub async fn run(pipeline: Pipeline, shutdown: CancellationToken) -> RunSummary {
    let started = Instant::now();
    let Pipeline { sources, enricher, engine, sinks, options, resume, scale } = pipeline;
    let capacity = options.channel_capacity.max(1);
    let (raw_tx, raw_rx) = mpsc::channel::<RawBatch>(capacity);
    let (processed_tx, processed_rx) = mpsc::channel::<Processed>(capacity);
    let (out_tx, out_rx) = mpsc::channel::<Output>(capacity);

    let registry = StreamRegistry::new(options.allowed_lateness, options.idle_timeout);
    let mut marks = Watermarks::new(registry.clone());
    if engine.has_state_dir() {
        // Sources commit (Kafka) only what the last checkpoint holds.
        registry.set_checkpointed(resume.iter().map(|(k, r)| (k.clone(), r.position)));
    }
    marks.restore(resume);
    let clocks = StreamClocks::new(Some(registry.clone()));
    // Stops workers that wait for a batch which will never come (a failed stage).
    let abort = CancellationToken::new();

    let flush_sinks = Arc::new(tokio::sync::Notify::new());
    // Every source holds the watermark back until it has opened its first
    // streams, so each gets its opener before any of them starts: a source
    // scheduled late must not find the watermark past its records.
    let openers: Vec<StreamOpener> =
        sources.iter().map(|s| registry.held_opener(s.name(), s.allowed_lateness())).collect();
    let mut source_tasks = Vec::new();
    for (source, streams) in sources.into_iter().zip(openers) {
        let name = source.name().to_string();
        let check = crate::source::readiness_check(&name);
        match source.connects_to() {
            Some(what) => health().expect(&check, what),
            None => health().pass(&check),
        }
        let ctx = SourceContext {
            out: raw_tx.clone(),
            shutdown: shutdown.clone(),
            limits: options.limits,
            drain_timeout: options.drain_timeout,
            flush_sinks: flush_sinks.clone(),
            streams,
        };
        let span = tracing::info_span!("source", source = %name);
        let handle = tokio::spawn(async move { source.run(ctx).await }.instrument(span));
        source_tasks.push((name, handle));
    }
    health().pass(crate::health::SOURCES);
    drop(raw_tx);

    let raw_rx = Arc::new(Mutex::new(raw_rx));
    let send_events = options.send_events || sinks.iter().any(|s| s.writes_events());
    let mut workers = Vec::new();
    for id in 0..options.worker_count() {
        let ctx = WorkerContext {
            enricher: enricher.clone(),
            engine: engine.clone(),
            clocks: clocks.clone(),
            registry: Some(registry.clone()),
            stop: abort.clone(),
            vendor_fields: options.vendor_fields.clone(),
            send_events,
        };
        let span = tracing::debug_span!("worker", worker = id);
        workers.push(tokio::spawn(worker(raw_rx.clone(), processed_tx.clone(), ctx).instrument(span)));
    }
    drop(processed_tx);

    let (parts, back) = match scale {
        Some(s) => (Some(s.parts), s.back),
        None => (None, None),
    };
    let back = back.map(|b| spawn_back(b, &engine, &options, &shutdown, &flush_sinks, out_tx.clone()));
    let detection = match parts {
        Some(sink) => {
            let front = crate::scale::Repartitioner::new(marks, sink, out_tx);
            tokio::spawn(front.run(processed_rx).instrument(tracing::debug_span!("repartition")))
        }
        None => {
            let stage = DetectionStage {
                engine: engine.clone(),
                enricher: enricher.clone(),
                marks,
                clocks: clocks.clone(),
                out: out_tx,
                shutdown: shutdown.clone(),
                checkpoint_interval: options.checkpoint_interval,
                drain_timeout: options.drain_timeout,
                writers: Vec::new(),
                summary: BTreeMap::new(),
                summary_since: Instant::now(),
            };
            tokio::spawn(stage.run(processed_rx).instrument(tracing::debug_span!("detection")))
        }
    };
    let sink_task = {
        let (options, span) = (options.clone(), tracing::debug_span!("sinks"));
        tokio::task::spawn_blocking(move || span.in_scope(|| sink_stage(out_rx, sinks, options, flush_sinks)))
    };
    let watcher_stop = CancellationToken::new();
    let rule_watcher = options
        .rule_watch
        .clone()
        .map(|w| tokio::spawn(crate::detect::watch_rules(engine.clone(), w, watcher_stop.clone())));

    let mut summary = RunSummary::default();
    for (name, handle) in source_tasks {
        let result = match handle.await {
            Ok(Ok(report)) => Ok(report),
            Ok(Err(e)) => {
                warn!(source = %name, error = %e, "source ended with an error");
                Err(e.to_string())
            }
            Err(e) => {
                Err(SourceError::Io { source_name: name.clone(), message: format!("task failed: {e}") }.to_string())
            }
        };
        summary.sources.push((name, result));
    }
    for w in workers {
        let _ = w.await;
    }
    if let Some((name, source, stage)) = back {
        let result = match source.await {
            Ok(Ok(report)) => Ok(report),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(format!("task failed: {e}")),
        };
        summary.sources.push((name, result));
        let _ = stage.await;
    }
    let streams = match detection.await {
        Ok(streams) => streams,
        Err(e) => {
            warn!(error = %e, "the detection stage failed");
            BTreeMap::new()
        }
    };
    if let Ok(stage) = sink_task.await {
        summary.findings = stage.findings.into_values().collect();
        summary.findings.sort_by(|a, b| (a.time, &a.finding_id).cmp(&(b.time, &b.finding_id)));
    }
    abort.cancel();
    watcher_stop.cancel();
    if let Some(w) = rule_watcher {
        let _ = w.await;
    }
    // Everything is written and acknowledged now: the last checkpoint holds all of it.
    if let Some((epoch, json)) = engine.snapshot(&streams) {
        if let Err(e) = engine.write_checkpoint(epoch, json, options.drain_timeout).await {
            warn!(error = %e, "final rule-state checkpoint failed");
        }
    }
    engine.report_state();
    summary.counters = counters().snapshot();
    summary.findings_total = summary.total(crate::internal_events::metric::FINDINGS);
    summary.suppressed_total = summary.total(crate::internal_events::metric::FINDINGS_SUPPRESSED);
    summary.elapsed = started.elapsed();
    summary
}

/// Start the back of a replica: its source on the repartition topic and the
/// parts stage ([`crate::scale::parts`]), writing to `out`. Returns the
/// source's name and both tasks.
fn spawn_back(
    back: crate::scale::Back,
    engine: &Arc<DetectionEngine>,
    options: &RuntimeOptions,
    shutdown: &CancellationToken,
    flush_sinks: &Arc<tokio::sync::Notify>,
    out: mpsc::Sender<Output>,
) -> (String, tokio::task::JoinHandle<Result<SourceReport, SourceError>>, tokio::task::JoinHandle<()>) {
    use crate::scale::parts::{resume_lookup, PartsStage, Restored};
    let crate::scale::Back { source, topic, changelog, expected } = back;
    let registry = StreamRegistry::new(options.allowed_lateness, options.idle_timeout);
    // Offsets of a part are committed only behind its snapshot in the changelog.
    registry.set_checkpointed(Vec::new());
    let restored = Restored::default();
    registry.set_resume_lookup(resume_lookup(topic, changelog.clone(), restored.clone()));
    let (tx, rx) = mpsc::channel::<RawBatch>(options.channel_capacity.max(1));
    let name = source.name().to_string();
    let ctx = SourceContext {
        out: tx,
        shutdown: shutdown.clone(),
        limits: options.limits,
        drain_timeout: options.drain_timeout,
        flush_sinks: flush_sinks.clone(),
        streams: registry.held_opener(&name, None),
    };
    let span = tracing::info_span!("source", source = %name);
    let source = tokio::spawn(async move { source.run(ctx).await }.instrument(span));
    let stage = PartsStage {
        template: engine.clone(),
        expected,
        idle_timeout: options.idle_timeout,
        changelog,
        restored,
        registry,
        out,
        checkpoint_interval: options.checkpoint_interval,
        drain_timeout: options.drain_timeout,
    };
    let stage = tokio::spawn(stage.run(rx).instrument(tracing::debug_span!("parts")));
    (name, source, stage)
}

/// What a worker needs besides its batches.
#[derive(Clone)]
pub struct WorkerContext {
    /// Enrichment stage.
    pub enricher: Arc<Enricher>,
    /// Compiled rules.
    pub engine: Arc<DetectionEngine>,
    /// Every stream's time, as the workers publish it.
    pub clocks: Arc<StreamClocks>,
    /// The streams (their allowed lateness); `None`: every stream allows the default minute.
    pub registry: Option<Arc<StreamRegistry>>,
    /// Cancelled when waiting for an earlier batch's stream time is pointless.
    pub stop: CancellationToken,
    /// Which vendor fields decoded batches keep.
    pub vendor_fields: VendorFieldsPolicy,
    /// Whether [`Output::events`] is filled ([`RuntimeOptions::send_events`]).
    pub send_events: bool,
}

/// One raw batch, processed by a worker: its events and dead letters, what
/// the rules matched, and its place in its stream.
pub struct Processed {
    /// Events and dead letters (findings come later, from the detection stage).
    pub output: Output,
    /// Rule output, to be folded in by the detection stage.
    pub matched: Vec<Matched>,
    /// Sightings and rows held for attribution, to be filed by the detection stage.
    pub deferred: Deferred,
    /// The batch's stream position.
    pub pos: StreamPos,
    /// The number of its first record (line number, Kafka offset).
    pub first: u64,
    /// Its newest event time.
    pub newest: Option<Micros>,
}

async fn worker(rx: Arc<Mutex<mpsc::Receiver<RawBatch>>>, tx: mpsc::Sender<Processed>, ctx: WorkerContext) {
    let mut decoders: HashMap<String, Arc<dyn Decoder>> = HashMap::new();
    loop {
        let batch = {
            let mut rx = rx.lock().await;
            let batch = rx.recv().await;
            emit(BufferLevel { buffer: "raw", len: rx.len(), capacity: rx.max_capacity() });
            batch
        };
        let Some(batch) = batch else { break };
        let busy = health().busy("worker");
        let processed = process(&batch, &mut decoders, &ctx).await;
        drop(busy);
        if tx.send(processed).await.is_err() {
            // The detection stage is gone (it failed): mark the batch failed
            // so nothing is committed.
            batch.ack.fail();
            break;
        }
    }
}

/// Decode, enrich and match one raw batch: its events and dead letters, and
/// what every rule matched among the rows on time for it.
pub async fn process(
    batch: &RawBatch,
    decoders: &mut HashMap<String, Arc<dyn Decoder>>,
    ctx: &WorkerContext,
) -> Processed {
    // Published on every path: later batches of the stream wait for it.
    let mut publication = ctx.clocks.publication(batch.pos);
    let mut processed = Processed {
        output: Output { events: Vec::new(), findings: Vec::new(), dead_letters: Vec::new(), ack: batch.ack.clone() },
        matched: Vec::new(),
        deferred: Deferred::default(),
        pos: batch.pos,
        first: batch.records.first().map_or(0, |r| r.offset),
        newest: None,
    };
    let decoder = match decoders.get(&*batch.format) {
        Some(d) => d.clone(),
        None => match decoder_for(&batch.format) {
            Some(d) => {
                decoders.insert(batch.format.to_string(), d.clone());
                d
            }
            None => {
                let reason = format!("unknown input format `{}`", batch.format);
                processed.output.dead_letters =
                    Decoded::rejected(batch, &batch.format, "unknown_format", &reason).dead_letters;
                return processed;
            }
        },
    };
    let started = Instant::now();
    let vendor_fields = ctx.vendor_fields.filter(&ctx.engine.rule_set());
    let decoded = match decode_batch(decoder.as_ref(), batch, &vendor_fields) {
        Ok(d) => d,
        Err(e) => {
            let reason = format!("could not build the Arrow batch: {e}");
            processed.output.dead_letters = Decoded::rejected(batch, decoder.id(), "arrow", &reason).dead_letters;
            return processed;
        }
    };
    emit(StageBatchTimed { stage: "decode", elapsed: started.elapsed() });
    processed.output.dead_letters = decoded.dead_letters;
    let started = Instant::now();
    let mut enriched = Vec::with_capacity(decoded.batches.len());
    for (class, b) in decoded.batches {
        match ctx.enricher.enrich(class, &b) {
            Ok(e) => {
                emit(EventsEmitted { class: class.as_str(), rows: e.num_rows() as u64 });
                enriched.push((class, e));
            }
            Err(e) => {
                // Not a record problem: a bug or a schema mismatch. Fail the
                // batch so it is re-read rather than committed.
                tracing::error!(class = class.as_str(), error = %e, "enrichment failed; batch marked failed");
                processed.output.ack.fail();
            }
        }
    }
    emit(StageBatchTimed { stage: "enrich", elapsed: started.elapsed() });
    // Event time: the batch's newest event goes to its stream's clock, and
    // the stream time before the batch comes back, to judge lateness by.
    // Inferred times (records without a usable time) never move the clock.
    let known: Vec<(EventClass, Vec<(u32, Micros)>)> =
        enriched.iter().map(|(class, b)| (*class, row_times(b, &decoded.row_records[class.index()], false))).collect();
    let record_times = RecordTimes::new(batch.records.len(), known.iter().flat_map(|(_, t)| t.iter().copied()));
    processed.newest = record_times.newest();
    publication.publish(processed.newest);
    let before = ctx.clocks.before(&batch.pos, &ctx.stop).await;
    let times = if decoded.time_inferred == 0 {
        known
    } else {
        infer_times(&mut enriched, &decoded.row_records, &record_times, before);
        enriched.iter().map(|(class, b)| (*class, row_times(b, &decoded.row_records[class.index()], true))).collect()
    };
    let stream = ctx.registry.as_ref().and_then(|r| r.get(batch.pos.stream));
    let stream_lateness = stream.as_ref().map_or(60_000_000, |s| s.lateness);
    let mut late: Vec<(String, Micros, EventClass, Vec<String>)> = Vec::new();
    let started = Instant::now();
    for ((class, b), (_, rows)) in enriched.iter().zip(&times) {
        let margins = RowMargins::new(&record_times, before, rows.iter().copied());
        // Rows without a person from an internal address wait for
        // attribution; the others (and the sightings) go on now.
        let on_time = |row: usize| margins.margin(row) <= stream_lateness;
        let keep = ctx.engine.attribution().split(*class, b, on_time, &mut processed.deferred).unwrap_or_else(|e| {
            tracing::error!(class = class.as_str(), error = %e, "attribution could not read the batch; rows go on unattributed");
            None
        });
        let m = match keep.map(|mask| (arrow::compute::filter_record_batch(b, &mask), mask)) {
            None => ctx.engine.match_batch(*class, b, Some(&margins), stream_lateness).await,
            Some((Ok(kept), mask)) => {
                let kept_rows = rows.iter().zip(mask.values().iter()).filter(|(_, k)| *k).map(|(r, _)| *r);
                let margins = RowMargins::new(&record_times, before, kept_rows);
                ctx.engine.match_batch(*class, &kept, Some(&margins), stream_lateness).await
            }
            Some((Err(e), _)) => {
                tracing::error!(class = class.as_str(), error = %e, "could not set held rows aside; batch marked failed");
                processed.output.ack.fail();
                continue;
            }
        };
        processed.matched.extend(m.matched);
        late.extend(m.late.into_iter().map(|l| (l.rule, l.lateness, *class, l.event_ids)));
    }
    emit(StageBatchTimed { stage: "match", elapsed: started.elapsed() });
    if !late.is_empty() {
        let letters = late_dead_letters(batch, &enriched, &decoded.row_records, &late, before);
        processed.output.dead_letters.extend(letters);
    }
    if ctx.send_events {
        processed.output.events = enriched;
    }
    processed
}

/// (record index, event time) of the rows of an enriched class batch, in
/// row order: every row, or (`with_inferred` false) those whose time is the
/// record's own.
fn row_times(batch: &RecordBatch, records: &[u32], with_inferred: bool) -> Vec<(u32, Micros)> {
    let Some(col) = batch.column_by_name("time") else { return Vec::new() };
    let Some(times) = col.as_any().downcast_ref::<TimestampMicrosecondArray>() else {
        return Vec::new();
    };
    let inferred = batch.column_by_name("time_inferred").and_then(|c| c.as_any().downcast_ref::<BooleanArray>());
    let own = |row: usize| with_inferred || inferred.is_none_or(|i| !i.is_valid(row) || !i.value(row));
    records
        .iter()
        .zip(times.iter())
        .enumerate()
        .filter(|(row, _)| own(*row))
        .filter_map(|(_, (r, t))| t.map(|t| (*r, t)))
        .collect()
}

/// Give every row the decoder could not time ([`Timestamp::UNKNOWN`],
/// `time_inferred`) its stream's time before its record: the newest event
/// time of the stream's earlier records (batches before this one and
/// records before it in this one), which does not depend on batch sizes or
/// workers; the time it was read when nothing came before it.
fn infer_times(
    enriched: &mut [(EventClass, RecordBatch)],
    row_records: &[Vec<u32>; 5],
    record_times: &RecordTimes,
    before: Option<Micros>,
) {
    let read = Timestamp::now().micros();
    for (class, batch) in enriched.iter_mut() {
        let Some(index) = batch.schema().index_of("time").ok() else { continue };
        let Some(times) = batch.column(index).as_any().downcast_ref::<TimestampMicrosecondArray>() else {
            continue;
        };
        if !times.values().contains(&Timestamp::UNKNOWN.micros()) {
            continue;
        }
        let records = &row_records[class.index()];
        let values: Vec<Micros> = times
            .values()
            .iter()
            .zip(records)
            .map(
                |(&t, &rec)| {
                    if t == Timestamp::UNKNOWN.micros() {
                        record_times.inferred_time(before, rec, read)
                    } else {
                        t
                    }
                },
            )
            .collect();
        let inferred = TimestampMicrosecondArray::from(values).with_data_type(times.data_type().clone());
        let mut columns = batch.columns().to_vec();
        columns[index] = Arc::new(inferred);
        match RecordBatch::try_new(batch.schema(), columns) {
            Ok(b) => *batch = b,
            // Same schema, same length: cannot fail.
            Err(e) => tracing::error!(class = class.as_str(), error = %e, "could not set inferred times"),
        }
    }
}

/// One dead letter per record whose rows some rule could not use because
/// they were late, naming the rules; and the late counts per rule and stream.
fn late_dead_letters(
    batch: &RawBatch,
    enriched: &[(EventClass, RecordBatch)],
    row_records: &[Vec<u32>; 5],
    late: &[(String, Micros, EventClass, Vec<String>)],
    stream_time: Option<Micros>,
) -> Vec<DeadLetter> {
    // event id → record index, for the classes with late rows.
    let mut record_of: HashMap<String, u32> = HashMap::new();
    for (class, b) in enriched {
        if !late.iter().any(|(_, _, c, _)| c == class) {
            continue;
        }
        let Ok(ids) = crate::detect::columns::Reader::new(b, "event_id", crate::detect::columns::ValueKind::Text)
        else {
            continue;
        };
        for (row, rec) in row_records[class.index()].iter().enumerate() {
            if let Some(id) = ids.text(row) {
                record_of.insert(id, *rec);
            }
        }
    }
    let mut per_record: BTreeMap<u32, BTreeMap<&str, Micros>> = BTreeMap::new();
    for (rule, lateness, _, ids) in late {
        emit(LateRowsDropped { stream: &batch.source, rule, rows: ids.len() as u64 });
        for id in ids {
            if let Some(rec) = record_of.get(id) {
                per_record.entry(*rec).or_default().insert(rule.as_str(), *lateness);
            }
        }
    }
    emit(LateRecordsDeadLettered { stream: &batch.source, records: per_record.len() as u64 });
    let reached = stream_time.map_or_else(String::new, |t| {
        format!(" (its stream had reached {} before this batch)", Timestamp(t).to_rfc3339())
    });
    per_record
        .into_iter()
        .filter_map(|(rec, rules)| {
            let r = batch.records.get(rec as usize)?;
            let list: Vec<String> = rules
                .iter()
                .map(|(rule, l)| {
                    let allows = humantime::format_duration(Duration::from_secs((*l).max(0) as u64 / 1_000_000));
                    format!("{rule} (allows {allows})")
                })
                .collect();
            let reason = format!(
                "late: the event is further behind the newest earlier event of its stream than {} allow, so \
                 they did not use it{reached}. Raise the source's `allowed_lateness` if its log is this much \
                 out of order",
                list.join(", ")
            );
            Some(DeadLetter::new(&batch.source, batch.partition, r.offset, &batch.format, reason, &r.data))
        })
        .collect()
}

/// The dead letter of a rule row that reached the detection stage behind
/// what its rule had consumed, counted.
pub(crate) fn stage_late_letter(stream: &str, late: StageLate) -> DeadLetter {
    emit(LateRowsDropped { stream, rule: &late.rule, rows: 1 });
    emit(LateRecordsDeadLettered { stream, records: 1 });
    DeadLetter::new(
        stream,
        None,
        0,
        "floodlight-rule-row",
        format!(
            "late for {}: event time {} is behind {}, up to which the rule had consumed its input (the stream was \
             idle, or started after the watermark had passed); event ids {}",
            late.rule,
            Timestamp(late.time).to_rfc3339(),
            Timestamp(late.released).to_rfc3339(),
            late.event_ids.join(", ")
        ),
        &bytes::Bytes::from(late.row),
    )
}

/// The detection stage: the one place rule state changes; see the module docs.
struct DetectionStage {
    engine: Arc<DetectionEngine>,
    /// Enriches attributed rows again with their person.
    enricher: Arc<Enricher>,
    marks: Watermarks,
    clocks: Arc<StreamClocks>,
    out: mpsc::Sender<Output>,
    shutdown: CancellationToken,
    checkpoint_interval: Duration,
    drain_timeout: Duration,
    /// Checkpoint writers still waiting for their epoch to be written.
    writers: Vec<tokio::task::JoinHandle<()>>,
    /// Per rule, findings (new, updated) written since the last summary.
    summary: BTreeMap<String, (u64, u64)>,
    summary_since: Instant,
}

/// How often stages look at the clock between batches: idle streams stop
/// holding watermarks back with time, not data.
pub(crate) const STAGE_TICK: Duration = Duration::from_millis(200);

/// An interval ticking every `period` that, when the stage was busy, waits
/// a whole period again instead of bursting the ticks it missed.
pub(crate) fn ticker(period: Duration) -> tokio::time::Interval {
    let mut t = tokio::time::interval(period);
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
}

/// How often the detection stage logs what it raised (INFO).
const SUMMARY_EVERY: Duration = Duration::from_secs(60);

impl DetectionStage {
    /// Run until the workers are done; returns where each stream was read up to.
    async fn run(mut self, mut rx: mpsc::Receiver<Processed>) -> BTreeMap<String, Resume> {
        let mut tick = ticker(STAGE_TICK);
        let mut checkpoint = ticker(self.checkpoint_interval.max(Duration::from_millis(100)));
        checkpoint.tick().await;
        loop {
            tokio::select! {
                p = rx.recv() => {
                    let Some(p) = p else { break };
                    emit(BufferLevel { buffer: "processed", len: rx.len(), capacity: rx.max_capacity() });
                    let busy = health().busy("detection");
                    let started = Instant::now();
                    if !self.receive(p).await {
                        return self.marks.table().clone();
                    }
                    emit(StageBatchTimed { stage: "detect", elapsed: started.elapsed() });
                    drop(busy);
                }
                _ = tick.tick() => {
                    // Idle streams stop holding the watermark back with time, not data.
                    if !self.advance().await {
                        return self.marks.table().clone();
                    }
                    for (stream, micros) in self.marks.stream_watermarks() {
                        emit(WatermarkAdvanced { stream: &stream, micros });
                    }
                    if self.summary_since.elapsed() >= SUMMARY_EVERY {
                        self.summarize();
                    }
                }
                _ = checkpoint.tick() => self.checkpoint(),
            }
        }
        // Everything was received. When the input ended (or there is nowhere
        // to keep pending rows), consume everything; on a shutdown with a
        // state directory, pending rows stay in the checkpoint instead.
        if !self.shutdown.is_cancelled() || !self.engine.has_state_dir() {
            let ack = crate::ack::AckToken::detached(u64::MAX);
            let (findings, late) = self.engine.advance_all(None, &self.enricher, Timestamp::now(), &ack).await;
            self.send_findings(findings, late, ack).await;
        } else {
            self.advance().await;
        }
        self.summarize();
        for w in self.writers.drain(..) {
            let _ = w.await;
        }
        self.marks.table().clone()
    }

    fn summarize(&mut self) {
        emit(FindingsSummary { by_rule: &self.summary, period: self.summary_since.elapsed() });
        self.summary.clear();
        self.summary_since = Instant::now();
    }

    /// Take one processed batch in; false when the sinks are gone.
    async fn receive(&mut self, p: Processed) -> bool {
        self.marks.received(&p.pos, p.newest);
        let stream_name = self.marks.registry().get(p.pos.stream).map(|s| s.name.to_string());
        let mut output = p.output;
        let late_rows = self.engine.take_in(&self.enricher, p.matched, p.deferred, &output.ack).await;
        let stream = stream_name.as_deref().unwrap_or("?");
        output.dead_letters.extend(late_rows.into_iter().map(|late| stage_late_letter(stream, late)));
        if self.out.send(output).await.is_err() {
            return false;
        }
        for gone in self.marks.sweep() {
            self.clocks.forget(gone);
        }
        self.advance().await
    }

    /// Consume what the watermarks allow; false when the sinks are gone.
    async fn advance(&mut self) -> bool {
        let frontier = self.marks.frontier(std::time::Instant::now());
        let ack = crate::ack::AckToken::detached(u64::MAX);
        let (findings, late) = self.engine.advance_all(Some(&frontier), &self.enricher, Timestamp::now(), &ack).await;
        self.send_findings(findings, late, ack).await
    }

    /// Findings, and rows released by attribution that a rule had already
    /// passed (dead letters), to the sinks.
    async fn send_findings(&mut self, findings: Vec<Finding>, late: Vec<StageLate>, ack: crate::ack::AckToken) -> bool {
        if findings.is_empty() && late.is_empty() {
            return true;
        }
        let dead_letters: Vec<DeadLetter> = late.into_iter().map(|l| stage_late_letter("attribution", l)).collect();
        for f in &findings {
            let e = self.summary.entry(f.rule_id.clone()).or_default();
            if f.revision.unwrap_or(1) <= 1 {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
        let output = Output { events: Vec::new(), findings, dead_letters, ack };
        self.out.send(output).await.is_ok()
    }

    /// Snapshot the state now (consistent: nothing is changing it) and write
    /// it once the batches it holds are written.
    fn checkpoint(&mut self) {
        self.writers.retain(|w| !w.is_finished());
        if !self.writers.is_empty() {
            // The previous checkpoint still waits for its batches to be
            // written: one writer at a time, so an older snapshot never
            // replaces a newer one; the next tick takes a fresh snapshot.
            return;
        }
        let Some((epoch, json)) = self.engine.snapshot(self.marks.table()) else { return };
        let engine = self.engine.clone();
        let timeout = self.checkpoint_interval.max(self.drain_timeout);
        let registry = self.marks.registry().clone();
        let positions: Vec<(String, Position)> =
            self.marks.table().iter().map(|(k, r)| (k.clone(), r.position)).collect();
        self.writers.push(tokio::spawn(async move {
            // A failure is logged and counted; the previous checkpoint stays.
            if let Ok(Some(_)) = engine.write_checkpoint(epoch, json, timeout).await {
                registry.set_checkpointed(positions);
            }
            engine.report_state();
        }));
    }
}

struct StageResult {
    /// The latest revision of every finding written, by id.
    findings: BTreeMap<String, Finding>,
}

/// What wakes the sink stage.
enum SinkWake {
    /// An output, or `None` when the detection stage is done.
    Output(Option<Output>),
    /// The flush interval passed.
    Tick,
    /// A source needs its acknowledgements now (revoke, in-flight limit).
    FlushNow,
}

/// The sink stage: writes every output to every sink, in order, and
/// flushes them every `flush_interval`, when its channel runs empty and
/// when a source asks.
///
/// It runs on a thread of its own (`spawn_blocking`, for the whole run),
/// so sinks may block (files, a Kafka producer's queue, lake uploads)
/// without taking a runtime worker, and no runtime worker is handed over
/// to a new thread for each write (as `block_in_place` does): what the
/// sinks allocate stays on one thread, which keeps the allocator's
/// per-thread pages few. The runtime is entered on this thread, so a sink
/// may use [`tokio::runtime::Handle::current`] and `block_on` it.
fn sink_stage(
    mut rx: mpsc::Receiver<Output>,
    mut sinks: Vec<Box<dyn Sink>>,
    options: RuntimeOptions,
    flush_requested: Arc<tokio::sync::Notify>,
) -> StageResult {
    let runtime = tokio::runtime::Handle::current();
    let mut result = StageResult { findings: BTreeMap::new() };
    let mut ticker = ticker(options.flush_interval);
    loop {
        // Only the wait is async; writing and flushing happen outside
        // `block_on`, so a sink's own `block_on` is not nested in it.
        let wake = runtime.block_on(async {
            tokio::select! {
                o = rx.recv() => SinkWake::Output(o),
                _ = ticker.tick() => SinkWake::Tick,
                _ = flush_requested.notified() => SinkWake::FlushNow,
            }
        });
        let output = match wake {
            SinkWake::Output(Some(output)) => output,
            SinkWake::Output(None) => break,
            SinkWake::Tick => {
                flush_sinks(&mut sinks, false);
                continue;
            }
            SinkWake::FlushNow => {
                flush_sinks(&mut sinks, true);
                continue;
            }
        };
        emit(BufferLevel { buffer: "output", len: rx.len(), capacity: rx.max_capacity() });
        let busy = health().busy("sinks");
        let started = Instant::now();
        for f in &output.findings {
            if result.findings.len() < options.keep_findings || result.findings.contains_key(&f.finding_id) {
                result.findings.insert(f.finding_id.clone(), f.clone());
            }
        }
        write_output(&mut sinks, &output);
        if rx.is_empty() {
            flush_sinks(&mut sinks, false);
        }
        emit(StageBatchTimed { stage: "sink", elapsed: started.elapsed() });
        drop(busy);
        drop(output);
    }
    flush_sinks(&mut sinks, true);
    info!("sink stage finished");
    result
}

/// Write one output to every sink; a failed write marks its batch failed.
fn write_output(sinks: &mut [Box<dyn Sink>], output: &Output) {
    for sink in sinks.iter_mut() {
        match sink.write(output) {
            Ok(rows) => emit(SinkWritten { sink: sink.name(), kind: sink.kind(), rows }),
            Err(e) => {
                emit(SinkFailed { sink: sink.name(), kind: sink.kind(), error: &e.to_string() });
                output.ack.fail();
            }
        }
    }
}

fn flush_sinks(sinks: &mut [Box<dyn Sink>], force: bool) {
    for sink in sinks.iter_mut() {
        if let Err(e) = sink.flush(force) {
            emit(SinkFailed { sink: sink.name(), kind: sink.kind(), error: &e.to_string() });
        }
    }
}

/// How long after [`drain_deadline`]'s drain timeout the process still
/// gets to close sinks, write the last checkpoint and commit, before the
/// watchdog of [`cancel_on_signals`] ends it.
pub const DRAIN_MARGIN: Duration = Duration::from_secs(5);

/// The hard deadline after SIGTERM for a run with this drain timeout:
/// `drain_timeout` + [`DRAIN_MARGIN`]. Kubernetes' `terminationGracePeriodSeconds`
/// must exceed it (plus any `preStop` pause).
pub fn drain_deadline(drain_timeout: Duration) -> Duration {
    drain_timeout + DRAIN_MARGIN
}

/// Cancel `token` on SIGINT or SIGTERM: the process stops being ready
/// ([`DrainStarted`]) and drains. With a `deadline`, a watchdog ends the
/// process (exit code 3, [`DrainDeadlineMissed`]) if the drain has not
/// finished by then; a second signal ends it at once (exit code 130).
pub fn cancel_on_signals(token: CancellationToken, deadline: Option<Duration>) {
    tokio::spawn(async move {
        let Some(signal) = next_signal().await else {
            return;
        };
        emit(DrainStarted { signal, deadline });
        token.cancel();
        let watchdog = async {
            match deadline {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = watchdog => {
                if let Some(deadline) = deadline {
                    emit(DrainDeadlineMissed { deadline });
                }
                std::process::exit(3);
            }
            Some(again) = next_signal() => {
                tracing::warn!(signal = again, "second signal during the drain: exiting now");
                std::process::exit(130);
            }
        }
    });
}

/// The next SIGINT or SIGTERM (`None`: no signal can be received).
async fn next_signal() -> Option<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the run gracefully");
                return tokio::signal::ctrl_c().await.ok().map(|_| "SIGINT");
            }
        };
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.ok().map(|_| "SIGINT"),
            _ = term.recv() => Some("SIGTERM"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.ok().map(|_| "SIGINT")
    }
}
