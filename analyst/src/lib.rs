//! SQL over floodlight's Parquet lake, for SOC analysts.
//!
//! The lake sink writes enriched events and findings as hive-partitioned
//! Parquet (`<lake>/{events,findings}/class=.../date=.../*.parquet`) on a
//! local disk or an S3-compatible store. This crate opens it as a DataFusion
//! session ([`Lake`]) with one table per event class, the findings and their
//! latest revisions, and the catalog and directory as `apps` and `users`
//! ([`lake`] lists them all), and runs analyst SQL on it safely:
//!
//! - [`dedup`] shows each event once however often replays wrote it,
//!   streaming (the only state is a set of key hashes);
//! - [`guard`] accepts one read-only statement (`SELECT`, `WITH`, `EXPLAIN`),
//!   checked on the parsed statement, never by string matching;
//! - [`limits`] bound each query's wall time, rows and memory;
//! - [`format`] writes answers as a table, JSON, CSV, Parquet or Arrow IPC;
//! - [`reports`] are the questions analysts ask every day (findings with
//!   filters and cursors, one finding with its evidence, discovered apps,
//!   one person's picture), built on the same tables.
//!
//! `floodlight query` and `floodlight serve` are thin layers over it.
//!
//! ```no_run
//! # async fn demo(spec: floodlight_analyst::LakeSpec) -> Result<(), floodlight_analyst::AnalystError> {
//! let lake = floodlight_analyst::Lake::open(spec).await?;
//! let answer = lake.query("SELECT rule_id, count(*) FROM findings_latest GROUP BY rule_id").await?;
//! println!("{} rows in {:?}", answer.rows, answer.elapsed);
//! # Ok(()) }
//! ```

pub mod dashboard;
pub mod dedup;
pub mod error;
pub mod format;
pub mod guard;
pub mod lake;
pub mod limits;
pub mod query;
pub mod reports;

pub use error::AnalystError;
pub use format::{write_result, Format};
pub use guard::{check_read_only, GuardError};
pub use lake::{Lake, LakeSpec, TableInfo, Window};
pub use limits::QueryLimits;
pub use query::QueryResult;
