//! # floodlight-pipeline
//!
//! The streaming core of floodlight. Records flow through five stages, each in
//! its own module, joined by bounded channels in [`runtime`]:
//!
//! ```text
//! source ──RawBatch──▶ decode ──Arrow──▶ enrich ──Arrow──▶ detect ──findings──▶ sinks
//!   ▲                                                                          │
//!   └──────────────────────────── acknowledgements ◀───────────────────────────┘
//! ```
//!
//! * [`source`]: where raw records come from (files, stdin, the embedded demo, Kafka).
//! * [`decode`]: vendor formats → rows of one of the five [`schema`] event classes → Arrow batches.
//! * [`transform`]: batch-at-a-time enrichment (app catalog, GeoIP, email classes, who each row is about).
//! * [`attribute`]: the person behind an internal address at an event's time, learned from the logs.
//! * [`detect`]: SQL rules from `queries/`, compiled once with DataFusion, run per micro-batch.
//! * [`event_time`]: streams, stream time, lateness and watermarks: why findings do not depend on scheduling.
//! * [`sinks`]: findings to JSON lines, a Parquet lake and Kafka; rejected records to a dead-letter file or topic.
//! * [`kafka`]: librdkafka settings and client context shared by the Kafka source and sink.
//! * [`runtime`]: the stages as tokio tasks joined by bounded channels; [`config`]: the TOML config.
//! * [`scale`]: scale-out: rule output split by key across replicas, one rule engine per part.
//! * [`ack`]: acknowledgements that travel from the sinks back to the source.
//! * [`internal_events`]: every observable thing, as one typed event (log line + counter).

pub mod ack;
pub mod admin_config;
pub mod analyst_config;
pub mod attribute;
pub mod cluster_config;
pub mod config;
pub mod dead_letter;
pub mod decode;
pub mod detect;
pub mod event_time;
pub mod health;
pub mod internal_events;
pub mod kafka;
pub mod nudge_config;
pub mod origin;
pub mod runtime;
pub mod scale;
pub mod schema;
pub mod sinks;
pub mod source;
pub mod transform;
