//! Kafka plumbing shared by the Kafka source and the Kafka sink: the
//! librdkafka client configuration (floodlight's fixed settings, its
//! defaults, and the user's pass-through `options`), its validation, and the
//! client context that routes librdkafka's log lines, errors and statistics
//! into `tracing` and the metrics.
//!
//! Settings that carry the delivery guarantee are fixed and cannot be
//! overridden through `options` (see [`CONSUMER_FIXED`], [`PRODUCER_FIXED`]);
//! `floodlight validate` says so, naming the option.

use std::collections::BTreeMap;

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use tracing::{debug, error, info, warn};

use crate::internal_events::{emit, KafkaClientError, KafkaConsumerLag};

/// Consumer settings floodlight owns: offsets are committed by floodlight
/// only once every sink has written a record (at-least-once).
pub const CONSUMER_FIXED: &[(&str, &str)] = &[
    ("enable.auto.commit", "floodlight commits offsets itself, after every sink has written the records"),
    ("enable.auto.offset.store", "floodlight stores offsets itself, after every sink has written the records"),
    ("group.id", "set it with `group_id`"),
    ("group.instance.id", "set it with `[cluster] instance_id` (it applies to every group this process joins)"),
    ("bootstrap.servers", "set it with `brokers`"),
];

/// Producer settings floodlight owns: a sink acknowledges only what the
/// broker has durably accepted, without duplicates from retries.
pub const PRODUCER_FIXED: &[(&str, &str)] = &[
    ("enable.idempotence", "the findings producer is always idempotent"),
    ("acks", "the producer always waits for every in-sync replica (acks=all)"),
    ("bootstrap.servers", "set it with `brokers`"),
];

/// Defaults floodlight sets for consumers (overridable through `options`).
pub const CONSUMER_DEFAULTS: &[(&str, &str)] =
    &[("statistics.interval.ms", "5000"), ("session.timeout.ms", "45000"), ("enable.partition.eof", "false")];

/// Defaults floodlight sets for producers (overridable through `options`).
pub const PRODUCER_DEFAULTS: &[(&str, &str)] = &[("linger.ms", "20"), ("queue.buffering.max.messages", "1000000")];

/// Build a client configuration: `bootstrap.servers`, then `defaults`, then
/// the user's `options`, then `fixed` (which win).
pub fn client_config(
    brokers: &str,
    defaults: &[(&str, &str)],
    options: &BTreeMap<String, String>,
    fixed: &[(&str, &str)],
) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers);
    for (k, v) in defaults {
        c.set(*k, *v);
    }
    for (k, v) in options {
        c.set(k, v);
    }
    for (k, v) in fixed {
        c.set(*k, *v);
    }
    c.set_log_level(RDKafkaLogLevel::Info);
    c
}

/// Problems with pass-through `options`: a fixed setting overridden, or a
/// property librdkafka rejects (unknown name, bad value). Each problem is
/// (option name, message).
pub fn option_problems(options: &BTreeMap<String, String>, fixed_names: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for (name, why) in fixed_names {
        if options.contains_key(*name) {
            problems.push((name.to_string(), format!("cannot be set here: {why}")));
        }
    }
    for (k, v) in options {
        if fixed_names.iter().any(|(n, _)| n == k) {
            continue;
        }
        let mut c = ClientConfig::new();
        c.set(k, v);
        // librdkafka checks the property name and value here; producer-only
        // and consumer-only properties are both known at this level.
        if let Err(e) = c.create_native_config() {
            problems.push((k.clone(), format!("librdkafka rejects `{k} = {v}`: {e}")));
        }
    }
    problems
}

/// Route a librdkafka log line to `tracing`.
pub fn log_to_tracing(client: &str, level: RDKafkaLogLevel, facility: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
            error!(client, facility, "librdkafka: {message}")
        }
        RDKafkaLogLevel::Warning => warn!(client, facility, "librdkafka: {message}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => info!(client, facility, "librdkafka: {message}"),
        RDKafkaLogLevel::Debug => debug!(client, facility, "librdkafka: {message}"),
    }
}

/// Publish per-partition consumer lag from a librdkafka statistics report.
pub fn publish_lag(stats: &Statistics) {
    for (topic, t) in &stats.topics {
        for (partition, p) in &t.partitions {
            // librdkafka reports the internal "UA" partition as -1, and -1 lag when unknown.
            if *partition >= 0 && p.consumer_lag >= 0 {
                emit(KafkaConsumerLag { topic, partition: *partition, lag: p.consumer_lag });
            }
        }
    }
}

/// A client context for producers: logs and errors only.
pub struct LoggingContext {
    /// Client name in logs (`source:kafka`, `sink:kafka`).
    pub client: String,
}

impl ClientContext for LoggingContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        log_to_tracing(&self.client, level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        emit(KafkaClientError { client: &self.client, error: &error.to_string(), reason });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_settings_and_unknown_properties_are_reported_by_name() {
        let mut options = BTreeMap::new();
        options.insert("enable.auto.commit".to_string(), "true".to_string());
        options.insert("fetch.max.bytes".to_string(), "1048576".to_string());
        options.insert("no.such.property".to_string(), "1".to_string());
        options.insert("session.timeout.ms".to_string(), "soon".to_string());
        let problems = option_problems(&options, CONSUMER_FIXED);
        let names: Vec<&str> = problems.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["enable.auto.commit", "no.such.property", "session.timeout.ms"], "{problems:?}");
        assert!(problems[0].1.contains("commits offsets itself"), "{problems:?}");
    }

    #[test]
    fn fixed_settings_win_over_options() {
        let mut options = BTreeMap::new();
        options.insert("acks".to_string(), "1".to_string());
        options.insert("linger.ms".to_string(), "5".to_string());
        let c = client_config("127.0.0.1:1", PRODUCER_DEFAULTS, &options, &[("acks", "all")]);
        assert_eq!(c.get("acks"), Some("all"));
        assert_eq!(c.get("linger.ms"), Some("5"));
        assert_eq!(c.get("queue.buffering.max.messages"), Some("1000000"));
        assert_eq!(c.get("bootstrap.servers"), Some("127.0.0.1:1"));
    }
}
