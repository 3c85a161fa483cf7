//! The runtime: stages as tokio tasks joined by bounded channels.
//!
//! ```text
//!  sources ──mpsc(capacity)──▶ N workers ──mpsc(capacity)──▶ sink stage
//!  (one task each)            decode → enrich → detect       dedup → every sink
//! ```
//!
//! * **Backpressure, bounded memory**: both channels are bounded; when the
//!   sinks are slow the workers block on send, the raw channel fills and the
//!   sources block — nothing buffers without limit. In flight at most
//!   `2 × capacity + workers` batches.
//! * **Parallelism**: `workers` tasks (default: one per core) pull raw
//!   batches from the shared channel; each runs decode, enrichment and every
//!   rule of the batch's classes. Rules were planned once at start-up.
//! * **Acknowledgements**: each raw batch's [`AckToken`](crate::ack::AckToken)
//!   rides along in its [`Output`]; sinks hold a clone until durable.
//! * **Shutdown**: cancelling the token stops the sources; they send what
//!   they have, the workers finish every batch in flight, the sinks flush,
//!   acknowledgements reach the sources, and [`run`] returns a summary.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Mutex};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn, Instrument};

use crate::dead_letter::DeadLetter;
use crate::decode::stage::decode_batch;
use crate::decode::{decoder_for, Decoder};
use crate::detect::DetectionEngine;
use crate::internal_events::{counters, emit, EventsEmitted, SinkFailed, SinkWritten};
use crate::schema::{Finding, Timestamp};
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
}

/// Run until every source ends (or `shutdown` is cancelled and in-flight
/// work is drained).
pub async fn run(pipeline: Pipeline, shutdown: CancellationToken) -> RunSummary {
    let started = Instant::now();
    let Pipeline { sources, enricher, engine, sinks, options } = pipeline;
    let capacity = options.channel_capacity.max(1);
    let (raw_tx, raw_rx) = mpsc::channel::<RawBatch>(capacity);
    let (out_tx, out_rx) = mpsc::channel::<Output>(capacity);

    let flush_sinks = Arc::new(tokio::sync::Notify::new());
    let mut source_tasks = Vec::new();
    for source in sources {
        let name = source.name().to_string();
        let ctx = SourceContext {
            out: raw_tx.clone(),
            shutdown: shutdown.clone(),
            limits: options.limits,
            drain_timeout: options.drain_timeout,
            flush_sinks: flush_sinks.clone(),
        };
        let span = tracing::info_span!("source", source = %name);
        let handle = tokio::spawn(async move { source.run(ctx).await }.instrument(span));
        source_tasks.push((name, handle));
    }
    drop(raw_tx);

    let raw_rx = Arc::new(Mutex::new(raw_rx));
    let mut workers = Vec::new();
    for id in 0..options.worker_count() {
        let rx = raw_rx.clone();
        let tx = out_tx.clone();
        let enricher = enricher.clone();
        let engine = engine.clone();
        let span = tracing::debug_span!("worker", worker = id);
        workers.push(tokio::spawn(worker(rx, tx, enricher, engine).instrument(span)));
    }
    drop(out_tx);

    let sink_task = tokio::spawn(sink_stage(out_rx, sinks, options.clone(), flush_sinks, engine.clone()));
    let checkpoint_stop = CancellationToken::new();
    let checkpointer =
        tokio::spawn(checkpoint_task(engine.clone(), options.checkpoint_interval, checkpoint_stop.clone()));
    let rule_watcher = options
        .rule_watch
        .clone()
        .map(|w| tokio::spawn(crate::detect::watch_rules(engine.clone(), w, checkpoint_stop.clone())));

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
    if let Ok(stage) = sink_task.await {
        summary.findings = stage.findings;
    }
    // Everything is written and acknowledged now: the last checkpoint holds all of it.
    checkpoint_stop.cancel();
    let _ = checkpointer.await;
    if let Some(w) = rule_watcher {
        let _ = w.await;
    }
    if let Err(e) = engine.checkpoint(options.drain_timeout).await {
        warn!(error = %e, "final rule-state checkpoint failed");
    }
    engine.report_state();
    summary.counters = counters().snapshot();
    summary.findings_total = summary.total(crate::internal_events::metric::FINDINGS);
    summary.suppressed_total = summary.total(crate::internal_events::metric::FINDINGS_SUPPRESSED);
    summary.elapsed = started.elapsed();
    summary
}

async fn worker(
    rx: Arc<Mutex<mpsc::Receiver<RawBatch>>>,
    tx: mpsc::Sender<Output>,
    enricher: Arc<Enricher>,
    engine: Arc<DetectionEngine>,
) {
    let mut decoders: HashMap<String, Arc<dyn Decoder>> = HashMap::new();
    loop {
        let batch = { rx.lock().await.recv().await };
        let Some(batch) = batch else { break };
        let output = process(&batch, &mut decoders, &enricher, &engine).await;
        if tx.send(output).await.is_err() {
            // The sink stage is gone (it failed); the ack token drops as not
            // failed only if we let it — mark it failed so nothing is committed.
            batch.ack.fail();
            break;
        }
    }
}

/// Dead-letter every record of `batch` with `reason`.
fn reject_all(batch: &RawBatch, reason: &str) -> Vec<DeadLetter> {
    batch
        .records
        .iter()
        .map(|r| DeadLetter::new(&batch.source, batch.partition, r.offset, &batch.format, reason.to_string(), &r.data))
        .collect()
}

/// Decode, enrich and detect one raw batch.
pub async fn process(
    batch: &RawBatch,
    decoders: &mut HashMap<String, Arc<dyn Decoder>>,
    enricher: &Enricher,
    engine: &DetectionEngine,
) -> Output {
    let mut output =
        Output { events: Vec::new(), findings: Vec::new(), dead_letters: Vec::new(), ack: batch.ack.clone() };
    let decoder = match decoders.get(&*batch.format) {
        Some(d) => d.clone(),
        None => match decoder_for(&batch.format) {
            Some(d) => {
                decoders.insert(batch.format.to_string(), d.clone());
                d
            }
            None => {
                output.dead_letters = reject_all(batch, &format!("unknown input format `{}`", batch.format));
                return output;
            }
        },
    };
    let decoded = match decode_batch(decoder.as_ref(), batch) {
        Ok(d) => d,
        Err(e) => {
            output.dead_letters = reject_all(batch, &format!("could not build the Arrow batch: {e}"));
            return output;
        }
    };
    output.dead_letters = decoded.dead_letters;
    let now = Timestamp::now();
    for (class, b) in decoded.batches {
        match enricher.enrich(class, &b) {
            Ok(enriched) => {
                emit(EventsEmitted { class: class.as_str(), rows: enriched.num_rows() as u64 });
                output.findings.extend(engine.detect(class, &enriched, now, &output.ack).await);
                output.events.push((class, enriched));
            }
            Err(e) => {
                // Not a record problem: a bug or a schema mismatch. Fail the
                // batch so it is re-read rather than committed.
                tracing::error!(class = class.as_str(), error = %e, "enrichment failed; batch marked failed");
                output.ack.fail();
            }
        }
    }
    output
}

struct StageResult {
    findings: Vec<Finding>,
}

/// Checkpoint rule state every `interval` until `stop`.
async fn checkpoint_task(engine: Arc<DetectionEngine>, interval: Duration, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticker.tick() => {
                // A failure is logged and counted by the engine; the previous checkpoint stays.
                let _ = engine.checkpoint(interval).await;
                engine.report_state();
            }
        }
    }
}

async fn sink_stage(
    mut rx: mpsc::Receiver<Output>,
    mut sinks: Vec<Box<dyn Sink>>,
    options: RuntimeOptions,
    flush_requested: Arc<tokio::sync::Notify>,
    engine: Arc<DetectionEngine>,
) -> StageResult {
    let mut result = StageResult { findings: Vec::new() };
    let mut ticker = tokio::time::interval(options.flush_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next = tokio::select! {
            o = rx.recv() => o,
            _ = ticker.tick() => {
                write_updates(&mut sinks, &engine);
                flush_all(&mut sinks, false);
                continue;
            }
            _ = flush_requested.notified() => {
                // A source needs its acknowledgements now (revoke, in-flight limit).
                flush_all(&mut sinks, true);
                continue;
            }
        };
        let Some(output) = next else { break };
        let room = options.keep_findings.saturating_sub(result.findings.len());
        result.findings.extend(output.findings.iter().take(room).cloned());
        write_output(&mut sinks, &output);
        if rx.is_empty() {
            tokio::task::block_in_place(|| flush_sinks(&mut sinks, false));
        }
        drop(output);
    }
    write_updates(&mut sinks, &engine);
    flush_all(&mut sinks, true);
    info!("sink stage finished");
    result
}

/// Write one output to every sink; a failed write marks its batch failed.
fn write_output(sinks: &mut [Box<dyn Sink>], output: &Output) {
    tokio::task::block_in_place(|| {
        for sink in sinks.iter_mut() {
            match sink.write(output) {
                Ok(rows) => emit(SinkWritten { sink: sink.name(), rows }),
                Err(e) => {
                    emit(SinkFailed { sink: sink.name(), error: &e.to_string() });
                    output.ack.fail();
                }
            }
        }
    });
}

/// Findings whose repeat counts changed, written again with their totals.
fn write_updates(sinks: &mut [Box<dyn Sink>], engine: &DetectionEngine) {
    let updates = engine.take_updates();
    if updates.is_empty() {
        return;
    }
    let output = Output {
        events: Vec::new(),
        findings: updates,
        dead_letters: Vec::new(),
        ack: crate::ack::AckToken::detached(u64::MAX),
    };
    write_output(sinks, &output);
}

fn flush_all(sinks: &mut [Box<dyn Sink>], force: bool) {
    tokio::task::block_in_place(|| flush_sinks(sinks, force));
}

fn flush_sinks(sinks: &mut [Box<dyn Sink>], force: bool) {
    for sink in sinks.iter_mut() {
        if let Err(e) = sink.flush(force) {
            emit(SinkFailed { sink: sink.name(), error: &e.to_string() });
        }
    }
}

/// Cancel `token` on SIGINT or SIGTERM.
pub fn cancel_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the run gracefully");
                    let _ = ctrl_c.await;
                    token.cancel();
                    return;
                }
            };
            tokio::select! {
                _ = ctrl_c => info!("SIGINT received: draining in-flight batches"),
                _ = term.recv() => info!("SIGTERM received: draining in-flight batches"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
        token.cancel();
    });
}
