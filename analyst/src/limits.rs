//! Limits every analyst query runs under: wall time, rows returned, and the
//! DataFusion memory pool (no spilling to disk), so one careless query cannot
//! take the machine from the pipeline running beside it.

use std::time::Duration;

/// Query limits. The defaults suit an interactive analyst on the machine
/// that also ingests: 30 s, 10,000 rows, 512 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Stop a query after this long.
    pub timeout: Duration,
    /// Return at most this many rows (the answer says when it was cut).
    pub max_rows: usize,
    /// The session's memory pool; a query that needs more fails.
    pub memory_bytes: usize,
    /// Parallel partitions per query.
    pub partitions: usize,
    /// Queries running at once on one lake (they share its memory pool);
    /// more wait for a turn, within their time limit.
    pub concurrent: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            timeout: Duration::from_secs(30),
            max_rows: 10_000,
            memory_bytes: 512 * 1024 * 1024,
            partitions: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).min(8),
            concurrent: 4,
        }
    }
}
