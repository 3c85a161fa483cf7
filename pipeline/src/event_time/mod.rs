//! Event time: input streams, how far each has got, and what that lets the
//! stateful rules conclude.
//!
//! Rules that keep state (windows, first-seen keys, correlations, and the
//! dedup of every rule) must give the same findings whatever the number of
//! workers, the batch sizes or the order in which parallel sources and Kafka
//! partitions happen to arrive. They get there the way Flink, Arroyo and
//! Kafka Streams do:
//!
//! * A **stream** is one ordered sequence of records: a file, a Kafka
//!   partition, standard input, a demo log ([`streams`]). Sources register
//!   their streams before reading them, number their batches, and say when a
//!   stream ended or is waiting for input.
//! * Each stream's **stream time** is the newest event time seen in it, in
//!   the stream's own order ([`clock`]); workers decode batches in parallel,
//!   but every batch learns the stream time of everything before it.
//! * A row is **late** when its event time is more than the allowed lateness
//!   behind the stream time before it ([`lateness`]). Late rows still reach
//!   the event sinks, but no rule uses them: they are counted per rule and
//!   stream and dead-lettered with reason `late`. Whether a row is late
//!   depends only on its stream's content, never on scheduling.
//! * A rule's **watermark** is the minimum, over the active streams, of their
//!   stream time minus the allowed lateness ([`watermark`]). Finished streams
//!   do not count; idle streams (a source waiting for input longer than the
//!   idle timeout) stop holding it back. Stateful rules consume their rows
//!   in event-time order, one evaluation interval at a time, only once the
//!   watermark has passed the interval: no row that is not late can still
//!   arrive for it.

pub mod clock;
pub mod lateness;
pub mod streams;
pub mod watermark;

pub use clock::{PrefixMax, StreamClocks};
pub use lateness::{RecordTimes, RowMargins};
pub use streams::{
    CommitLimit, Position, Resume, ResumeLookup, StreamHandle, StreamId, StreamOpener, StreamPos, StreamRegistry,
    StreamState, WaitingSignal,
};
pub use watermark::{Frontier, Watermarks};

/// Microseconds since the Unix epoch (event time, as [`crate::schema::Timestamp`] holds it).
pub type Micros = i64;

/// A duration as microseconds, saturating.
pub fn micros(d: std::time::Duration) -> Micros {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}
