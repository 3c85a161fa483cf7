//! Sources: where raw records come from.
//!
//! A [`Source`] reads records, groups them into [`RawBatch`]es (by count,
//! bytes or time) and sends them downstream; each batch carries an
//! [`AckToken`](crate::ack::AckToken) whose report comes back to the source
//! once every sink has durably written what came from it. A source returns
//! from [`Source::run`] only after its outstanding batches are acknowledged
//! (or the drain deadline passed), so a finite run never exits with data in
//! flight.
//!
//! * [`file`] — files (globs), one-shot or `follow` (tail), plain or gzip.
//! * [`stdin`] — standard input.
//! * [`embedded`] — the demo logs compiled into the binary.
//! * [`kafka`] — a Kafka consumer group, at-least-once.
//! * [`lines`] — the line splitter all three share.

pub mod embedded;
pub mod file;
pub mod kafka;
pub mod lines;
pub mod stdin;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ack::AckToken;
use crate::event_time::{StreamOpener, StreamPos};

/// One raw record and its position in its stream.
#[derive(Debug, Clone)]
pub struct RawRecord {
    /// Line number (files, 1-based) or offset (Kafka).
    pub offset: u64,
    /// The raw bytes, without the line terminator.
    pub data: Bytes,
    /// Set when the record is a piece of a line longer than the input's
    /// `max_record_bytes` (this limit): no decoder sees it, it is
    /// dead-lettered whole, naming the limit, so that a fragment that
    /// happens to look like a log line never becomes an event.
    pub cut_at: Option<usize>,
}

impl RawRecord {
    /// A whole record.
    pub fn new(offset: u64, data: Bytes) -> Self {
        RawRecord { offset, data, cut_at: None }
    }
}

/// A batch of raw records from one stream, in one format.
#[derive(Debug)]
pub struct RawBatch {
    /// Stream name: `file:/abs/path.log`, `stdin`, `demo:panos.log`, `kafka:topic`.
    pub source: Arc<str>,
    /// Kafka partition, when there is one.
    pub partition: Option<i32>,
    /// Input format id of every record in the batch.
    pub format: Arc<str>,
    /// Header lines (`#...`) seen before these records in the stream.
    pub headers: Arc<[Bytes]>,
    /// The records, in stream order.
    pub records: Vec<RawRecord>,
    /// Acknowledgement handle; dropped by the last holder after durable write.
    pub ack: AckToken,
    /// The batch's stream, its number in it, and the position after it.
    pub pos: StreamPos,
}

/// Limits that close a batch: whichever comes first.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// At most this many records.
    pub max_records: usize,
    /// At most about this many bytes of record data.
    pub max_bytes: usize,
    /// At most this long between the first record and sending (streaming inputs).
    pub max_wait: Duration,
    /// Longest record accepted whole; longer lines are cut into records of this size.
    pub max_record_bytes: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_records: 8192,
            max_bytes: 8 << 20,
            max_wait: Duration::from_millis(100),
            max_record_bytes: 1 << 20,
        }
    }
}

/// What a running source is given.
pub struct SourceContext {
    /// Where batches go (bounded: a full channel is backpressure).
    pub out: mpsc::Sender<RawBatch>,
    /// Cancelled on shutdown: stop reading, then drain.
    pub shutdown: CancellationToken,
    /// Batch limits.
    pub limits: BatchLimits,
    /// How long to wait for outstanding acknowledgements after input ends.
    pub drain_timeout: Duration,
    /// Notify to ask the sinks to make everything they hold durable now
    /// (close open files) so held acknowledgements come back: used by
    /// sources that must drain early (a Kafka partition revoke) or that
    /// reached their in-flight limit.
    pub flush_sinks: Arc<tokio::sync::Notify>,
    /// Registers the source's streams (a file, a Kafka partition, stdin)
    /// before it reads them, and numbers their batches: see [`crate::event_time`].
    pub streams: StreamOpener,
}

/// Errors a source can end with.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Reading failed.
    #[error("{source_name}: {message}")]
    Io {
        /// Stream name.
        source_name: String,
        /// What failed.
        message: String,
    },
    /// Some batches were not acknowledged before the drain deadline.
    #[error("{source_name}: {outstanding} batch(es) not acknowledged within the drain deadline")]
    DrainTimeout {
        /// Stream name.
        source_name: String,
        /// Batches still unacknowledged.
        outstanding: u64,
    },
}

/// Summary a source returns when it ends.
#[derive(Debug, Clone, Default)]
pub struct SourceReport {
    /// Records read.
    pub records: u64,
    /// Batches sent.
    pub batches: u64,
    /// Batches acknowledged as delivered.
    pub delivered: u64,
    /// Batches acknowledged as failed.
    pub failed: u64,
}

/// The readiness check of the source named `name` ([`crate::health`]).
pub fn readiness_check(name: &str) -> String {
    format!("source {name}")
}

/// A producer of raw batches. Kafka implements the same trait.
#[async_trait]
pub trait Source: Send {
    /// The configured name of this source (for logs and metrics).
    fn name(&self) -> &str;

    /// How far behind its stream's newest event a record may be and still be
    /// used by the stateful rules (`allowed_lateness` of the source); `None`:
    /// the runtime's default.
    fn allowed_lateness(&self) -> Option<Duration> {
        None
    }

    /// The bytes this source will read in all, when it knows before it
    /// starts (files read once, the embedded demo); `None` for endless
    /// input (Kafka, stdin, followed files) and compressed files. Progress
    /// displays use it for a time left.
    fn input_bytes(&self) -> Option<u64> {
        None
    }

    /// What the source must reach before the process is ready, when that
    /// takes time (`joining consumer group floodlight`): the source then
    /// passes its readiness check `source <name>` itself
    /// ([`crate::health::Health::pass`]). `None` (files, stdin): ready once started.
    fn connects_to(&self) -> Option<String> {
        None
    }

    /// Read until the input ends or shutdown is requested, then wait for
    /// outstanding acknowledgements.
    async fn run(self: Box<Self>, ctx: SourceContext) -> Result<SourceReport, SourceError>;
}
