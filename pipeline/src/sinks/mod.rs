//! Sinks: where findings, events and dead letters are written.
//!
//! Every sink gets every [`Output`] (one per source batch, after decode,
//! enrichment, detection and dedup). A sink that writes synchronously and
//! durably lets go of the batch's [`AckToken`] at once; a sink that buffers
//! (the Parquet lake keeps a file open until it rolls) keeps a clone of the
//! token until the data is durable. The source hears about the batch only
//! when every sink has let go; a failed write marks the token failed.
//!
//! * [`jsonl`] — JSON lines to stdout or a file: findings, or dead letters.
//! * [`lake`] — Parquet files partitioned `kind/class=<class>/date=<day>/`.
//! * [`kafka`] — findings, events and dead letters to Kafka topics, acknowledged by delivery reports.

pub mod jsonl;
pub mod kafka;
pub mod lake;

use arrow::record_batch::RecordBatch;

use crate::ack::AckToken;
use crate::dead_letter::DeadLetter;
use crate::schema::{EventClass, Finding};

/// Everything derived from one source batch.
#[derive(Debug)]
pub struct Output {
    /// Enriched events, per class.
    pub events: Vec<(EventClass, RecordBatch)>,
    /// New findings (already deduplicated).
    pub findings: Vec<Finding>,
    /// Records that could not be decoded.
    pub dead_letters: Vec<DeadLetter>,
    /// The source batch's acknowledgement.
    pub ack: AckToken,
}

/// Why a sink could not write.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// An I/O error on a path.
    #[error("{sink}: {path}: {source}")]
    Io {
        /// Sink name.
        sink: String,
        /// File or directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Encoding the data failed.
    #[error("{sink}: cannot encode: {message}")]
    Encode {
        /// Sink name.
        sink: String,
        /// What failed.
        message: String,
    },
}

/// A destination for pipeline output.
///
/// The sink stage calls a run's sinks one after the other, on a thread of
/// its own: a sink may block (write files, wait for a producer's queue),
/// and the runtime is entered there, so it may also
/// `tokio::runtime::Handle::current().block_on(..)` an async client.
pub trait Sink: Send {
    /// Name for logs and metrics (`component_id`).
    fn name(&self) -> &str;

    /// What kind of sink it is, for metrics (`component_type`: `jsonl`, `kafka`, `lake`...).
    fn kind(&self) -> &'static str {
        "custom"
    }

    /// Whether this sink reads [`Output::events`]. When no sink of a run
    /// does, workers drop each batch's events once the rules have run
    /// instead of sending them on (less held in flight). A sink that does
    /// not say reads them.
    fn writes_events(&self) -> bool {
        true
    }

    /// Write what this sink takes from `output`. A sink that is not durable
    /// yet when this returns keeps `output.ack.clone()` until it is. Returns
    /// the number of rows written.
    fn write(&mut self, output: &Output) -> Result<u64, SinkError>;

    /// Make everything written so far durable and release held acknowledgements.
    /// Called periodically (roll checks) with `force = false` and at shutdown
    /// with `force = true`.
    fn flush(&mut self, force: bool) -> Result<(), SinkError>;
}
