//! Kafka sink: findings, optionally enriched events, and dead letters to
//! topics, with an idempotent producer (`acks=all`).
//!
//! * **findings** → `findings_topic`: the finding as JSON (the same object as
//!   the JSON-lines sink), key = `finding_id`, so a replayed finding lands on
//!   the same partition and compacted topics keep one copy.
//! * **events** → `events_topic` (optional): one enriched event per message
//!   as JSON, key = `event_id`.
//! * **dead letters** → `dead_letter_topic`: the raw record bytes, unchanged,
//!   with headers `floodlight.source_topic`, `floodlight.source_partition`,
//!   `floodlight.source_offset`, `floodlight.origin`, `floodlight.format`
//!   and `floodlight.error`.
//!
//! **Acknowledgement** comes from the broker's delivery report: every
//! message carries a clone of its batch's [`AckToken`], dropped when the
//! broker confirms the write, or marked failed when librdkafka gives up
//! (`message.timeout.ms`). A failed batch is re-read by a Kafka source.
//! When librdkafka's local queue is full (the broker is slow or down),
//! `write` waits for room — the sink stage blocks and backpressure reaches
//! the sources — up to `queue_full_timeout`, after which the batch fails.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use arrow::array::{Array, StringArray};
use arrow::record_batch::RecordBatch;
use base64::Engine;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use serde::Deserialize;

use super::{Output, Sink, SinkError};
use crate::ack::AckToken;
use crate::internal_events::{emit, KafkaClientError, SinkFailed};
use crate::kafka::{client_config, log_to_tracing, PRODUCER_DEFAULTS};

/// `[sinks.kafka]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkConfig {
    /// Bootstrap brokers, `host:port[,host:port...]`.
    pub brokers: String,
    /// Topic for findings.
    #[serde(default)]
    pub findings_topic: Option<String>,
    /// Topic for enriched events (one JSON object per event).
    #[serde(default)]
    pub events_topic: Option<String>,
    /// Topic for dead-lettered records (raw bytes plus headers).
    #[serde(default)]
    pub dead_letter_topic: Option<String>,
    /// How long `write` waits for room in librdkafka's queue before the batch fails.
    #[serde(default = "default_queue_full_timeout")]
    pub queue_full_timeout: String,
    /// librdkafka producer properties passed through (`security.protocol`, `sasl.*`, `linger.ms`...).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

fn default_queue_full_timeout() -> String {
    "60s".into()
}

/// Problems with a Kafka sink configuration, as (setting suffix, message).
pub fn config_problems(config: &KafkaSinkConfig) -> Vec<(String, String)> {
    let mut p = Vec::new();
    if config.brokers.trim().is_empty() {
        p.push(("brokers".into(), "must name at least one broker (`host:port`)".into()));
    }
    if config.findings_topic.is_none() && config.events_topic.is_none() && config.dead_letter_topic.is_none() {
        p.push((
            "findings_topic".into(),
            "set at least one of `findings_topic`, `events_topic`, `dead_letter_topic`, or remove the table".into(),
        ));
    }
    for (k, topic) in [
        ("findings_topic", &config.findings_topic),
        ("events_topic", &config.events_topic),
        ("dead_letter_topic", &config.dead_letter_topic),
    ] {
        if let Some(t) = topic {
            if t.is_empty() || t.len() > 249 || !t.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
                p.push((k.into(), format!("`{t}` is not a valid topic name (1-249 of a-z A-Z 0-9 . _ -)")));
            }
        }
    }
    for (k, msg) in crate::kafka::option_problems(&config.options, crate::kafka::PRODUCER_FIXED) {
        p.push((format!("options.\"{k}\""), msg));
    }
    p
}

/// Producer context: routes delivery reports to the batches' acknowledgements.
struct DeliveryContext {
    client: String,
}

impl ClientContext for DeliveryContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        log_to_tracing(&self.client, level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        emit(KafkaClientError { client: &self.client, error: &error.to_string(), reason });
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Box<AckToken>;

    fn delivery(&self, result: &DeliveryResult<'_>, ack: Self::DeliveryOpaque) {
        if let Err((e, _)) = result {
            emit(SinkFailed { sink: &self.client, kind: "kafka", error: &format!("delivery failed: {e}") });
            ack.fail();
        }
        // Dropping the token releases this message's hold on its batch.
    }
}

/// The Kafka sink.
pub struct KafkaSink {
    name: String,
    config: KafkaSinkConfig,
    producer: ThreadedProducer<DeliveryContext>,
    queue_full_timeout: Duration,
}

impl KafkaSink {
    /// Create the producer (it connects lazily).
    pub fn open(
        name: impl Into<String>,
        config: KafkaSinkConfig,
        queue_full_timeout: Duration,
    ) -> Result<Self, SinkError> {
        let name = name.into();
        let fixed = [("enable.idempotence", "true"), ("acks", "all")];
        let producer = client_config(&config.brokers, PRODUCER_DEFAULTS, &config.options, &fixed)
            .create_with_context(DeliveryContext { client: format!("sink:{name}") })
            .map_err(|e| SinkError::Encode {
                sink: name.clone(),
                message: format!("cannot create the producer: {e}"),
            })?;
        Ok(KafkaSink { name, config, producer, queue_full_timeout })
    }

    /// Enqueue one message, waiting for room in the local queue.
    fn send(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        payload: &[u8],
        headers: Option<OwnedHeaders>,
        ack: &AckToken,
    ) -> Result<(), SinkError> {
        self.send_to(topic, None, key, payload, headers, ack)
    }

    /// Enqueue one message for `partition` of `topic` (`None`: by key),
    /// waiting for room in the local queue; `ack` is held until the broker
    /// confirms the write, and marked failed if it never does.
    pub fn send_to(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        payload: &[u8],
        headers: Option<OwnedHeaders>,
        ack: &AckToken,
    ) -> Result<(), SinkError> {
        let deadline = Instant::now() + self.queue_full_timeout;
        let mut record = BaseRecord::with_opaque_to(topic, Box::new(ack.clone())).payload(payload);
        if let Some(p) = partition {
            record = record.partition(p);
        }
        if let Some(k) = key {
            record = record.key(k);
        }
        if let Some(h) = headers {
            record = record.headers(h);
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    if Instant::now() >= deadline {
                        return Err(self.error(format!(
                            "the producer queue stayed full for {:?} (broker slow or down)",
                            self.queue_full_timeout
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                    record = back;
                }
                Err((e, _)) => return Err(self.error(format!("cannot enqueue a message for `{topic}`: {e}"))),
            }
        }
    }

    /// Wait up to `timeout` for every queued message's delivery report.
    pub fn flush_within(&self, timeout: Duration) -> Result<(), SinkError> {
        self.producer.flush(timeout).map_err(|e| self.error(format!("flush failed: {e}")))
    }

    fn error(&self, message: String) -> SinkError {
        SinkError::Encode { sink: self.name.clone(), message }
    }

    fn write_events(&self, topic: &str, batch: &RecordBatch, ack: &AckToken) -> Result<u64, SinkError> {
        let mut buf = Vec::new();
        {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
            w.write(batch).map_err(|e| self.error(format!("cannot encode events as JSON: {e}")))?;
            w.finish().map_err(|e| self.error(format!("cannot encode events as JSON: {e}")))?;
        }
        let ids = batch.column_by_name("event_id").and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned());
        let mut n = 0;
        for (i, line) in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()).enumerate() {
            let key = ids.as_ref().filter(|a| i < a.len() && !a.is_null(i)).map(|a| a.value(i).as_bytes());
            self.send(topic, key, line, None, ack)?;
            n += 1;
        }
        Ok(n)
    }
}

impl Sink for KafkaSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "kafka"
    }

    fn writes_events(&self) -> bool {
        self.config.events_topic.is_some()
    }

    fn write(&mut self, output: &Output) -> Result<u64, SinkError> {
        let mut rows = 0;
        if let Some(topic) = &self.config.findings_topic {
            for f in &output.findings {
                let json = serde_json::to_vec(f).map_err(|e| self.error(format!("cannot encode a finding: {e}")))?;
                let headers = OwnedHeaders::new().insert(Header { key: "floodlight.rule", value: Some(&f.rule_id) });
                self.send(topic, Some(f.finding_id.as_bytes()), &json, Some(headers), &output.ack)?;
                rows += 1;
            }
        }
        if let Some(topic) = &self.config.events_topic {
            for (_, batch) in &output.events {
                rows += self.write_events(topic, batch, &output.ack)?;
            }
        }
        if let Some(topic) = &self.config.dead_letter_topic {
            for d in &output.dead_letters {
                let raw: Vec<u8> = match (&d.raw, &d.raw_base64) {
                    (Some(text), _) => text.as_bytes().to_vec(),
                    (None, Some(b64)) => base64::engine::general_purpose::STANDARD.decode(b64).unwrap_or_default(),
                    (None, None) => Vec::new(),
                };
                let partition = d.partition.map(|p| p.to_string()).unwrap_or_default();
                let offset = d.offset.to_string();
                let source_topic = d.source.strip_prefix("kafka:").unwrap_or(&d.source);
                let headers = OwnedHeaders::new()
                    .insert(Header { key: "floodlight.source_topic", value: Some(source_topic) })
                    .insert(Header { key: "floodlight.source_partition", value: Some(&partition) })
                    .insert(Header { key: "floodlight.source_offset", value: Some(&offset) })
                    .insert(Header { key: "floodlight.origin", value: Some(&d.origin) })
                    .insert(Header { key: "floodlight.format", value: Some(&d.format) })
                    .insert(Header { key: "floodlight.error", value: Some(&d.reason) });
                self.send(topic, Some(d.origin.as_bytes()), &raw, Some(headers), &output.ack)?;
                rows += 1;
            }
        }
        Ok(rows)
    }

    fn flush(&mut self, force: bool) -> Result<(), SinkError> {
        if force {
            // Wait for outstanding delivery reports; what is still undelivered
            // afterwards keeps its batch unacknowledged (never committed).
            self.producer.flush(Duration::from_secs(30)).map_err(|e| self.error(format!("flush failed: {e}")))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_the_setting() {
        let mut c = KafkaSinkConfig {
            brokers: "".into(),
            findings_topic: None,
            events_topic: None,
            dead_letter_topic: Some("bad topic!".into()),
            queue_full_timeout: "60s".into(),
            options: BTreeMap::new(),
        };
        c.options.insert("acks".into(), "1".into());
        let p = config_problems(&c);
        let settings: Vec<&str> = p.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(settings, ["brokers", "dead_letter_topic", "options.\"acks\""], "{p:?}");
    }
}
