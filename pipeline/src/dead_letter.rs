//! The dead-letter record: a raw record floodlight could not decode (or
//! could not process), kept whole with where it came from and why.

use base64::Engine;
use bytes::Bytes;
use serde::Serialize;

use crate::origin::origin_string;

/// A record that could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// `file:/x.log:12`, `kafka:topic/3@991`.
    pub origin: String,
    /// Stream name (`file:/x.log`, `kafka:topic`).
    pub source: String,
    /// Kafka partition, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    /// Line number (files) or offset (Kafka).
    pub offset: u64,
    /// Input format the record was decoded as.
    pub format: String,
    /// Why it failed.
    pub reason: String,
    /// When floodlight rejected it (RFC 3339).
    pub rejected_at: String,
    /// The record as text, when it is valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// The record as base64, when it is not valid UTF-8 (nothing is lost).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_base64: Option<String>,
}

impl DeadLetter {
    /// A dead letter for `data` read from `source` at `offset`.
    pub fn new(source: &str, partition: Option<i32>, offset: u64, format: &str, reason: String, data: &Bytes) -> Self {
        let (raw, raw_base64) = match std::str::from_utf8(data) {
            Ok(s) => (Some(s.to_string()), None),
            Err(_) => (None, Some(base64::engine::general_purpose::STANDARD.encode(data))),
        };
        DeadLetter {
            origin: origin_string(source, partition, offset),
            source: source.to_string(),
            partition,
            offset,
            format: format.to_string(),
            reason,
            rejected_at: crate::schema::Timestamp::now().to_rfc3339(),
            raw,
            raw_base64,
        }
    }
}
