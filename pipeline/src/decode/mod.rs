//! Decoding: raw records in a vendor format → rows of an event class.
//!
//! A [`Decoder`] is stateless and shared by every worker; it turns one raw
//! record (a line, a Kafka message) into zero or more [`Row`]s. Per record it
//! reports one of three outcomes, all counted: parsed (rows appended), skipped
//! (valid but carries nothing for any class; the reason is counted) or an
//! error (malformed; the record goes to the dead-letter output with its origin
//! and the reason). Decoders never panic on any input.
//!
//! [`registry`] maps format ids (`panos`, `okta`, ...) to decoders. Adding a
//! format means one file here and one line in the registry.

pub mod auto;
pub mod bind_query;
pub mod cef;
pub mod cisco_asa;
#[cfg(test)]
pub(crate) mod doc_example;
pub mod entra_audit;
pub mod entra_signin;
pub mod floodlight_json;
pub mod fortigate;
#[doc(hidden)]
pub mod fuzzing;
pub mod github_audit;
pub mod github_webhook;
pub mod google_workspace;
pub mod json;
pub mod m365_audit;
pub mod m365_message_trace;
pub mod okta;
pub mod panos;
pub mod registry;
pub mod squid;
pub mod stage;
pub(crate) mod syslog;
pub mod text;
pub mod time;
pub mod umbrella_dns;
pub mod w3c;
pub mod windows_dns;
pub mod zeek;
pub mod zeek_conn;
pub mod zeek_dns;
pub mod zeek_http;
pub mod zeek_ssl;

use bytes::Bytes;

use crate::schema::{EventClass, Row};

pub use registry::{decoder_for, formats, FormatInfo};

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeOutcome {
    /// The record produced this many rows (at least one).
    Parsed(usize),
    /// The record is valid but carries nothing floodlight models; the reason is counted.
    Skipped(&'static str),
}

/// Why a record could not be decoded. Goes to the dead-letter output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct DecodeError {
    /// Human-readable reason, naming the field or position that was wrong.
    pub reason: String,
}

impl DecodeError {
    /// A decode error with this reason.
    pub fn new(reason: impl Into<String>) -> Self {
        DecodeError { reason: reason.into() }
    }
}

/// Context a source attaches to records: header lines seen before them in
/// the same stream (Zeek `#fields`, W3C `#Fields:`), most recent last, and
/// whether anything downstream keeps the `vendor_fields` column.
#[derive(Debug, Clone, Copy)]
pub struct RecordContext<'a> {
    /// Header lines (starting with `#`) that preceded the record in its stream.
    pub headers: &'a [Bytes],
    /// `false` when the batch's `vendor_fields` are dropped anyway
    /// (`[runtime] vendor_fields`): a decoder may then skip collecting them,
    /// which saves a copy of every unmapped key and value. A decoder that
    /// collects them regardless is correct too: the batch builder drops them.
    pub vendor_fields: bool,
}

impl<'a> RecordContext<'a> {
    /// Records after these header lines, with `vendor_fields` collected.
    pub fn with_headers(headers: &'a [Bytes]) -> Self {
        RecordContext { headers, vendor_fields: true }
    }
}

impl Default for RecordContext<'_> {
    /// No header lines; `vendor_fields` collected.
    fn default() -> Self {
        RecordContext::with_headers(&[])
    }
}

/// Turns raw records of one input format into rows.
pub trait Decoder: Send + Sync {
    /// The format id (`panos`, `okta`, ...), as used in config and `floodlight parse --format`.
    fn id(&self) -> &'static str;

    /// The event classes this format can produce.
    fn classes(&self) -> &'static [EventClass];

    /// Decode one record, appending rows to `out`. Rows may borrow text from
    /// `record` and header lines in `ctx` (slicing allocates nothing). Origin columns (`event_id`,
    /// `origin`, `format`) are filled in by the caller. On error, rows this
    /// call appended are discarded by the caller.
    fn decode<'a>(
        &self,
        record: &'a [u8],
        ctx: RecordContext<'a>,
        out: &mut Vec<Row<'a>>,
    ) -> Result<DecodeOutcome, DecodeError>;
}

/// Helper for decoders: the record as UTF-8 text, trimmed of line endings and
/// a byte-order mark, or a decode error naming the first invalid byte.
pub fn record_text(record: &[u8]) -> Result<&str, DecodeError> {
    let text = std::str::from_utf8(record).map_err(|e| {
        DecodeError::new(format!("record is not valid UTF-8 (invalid byte at position {})", e.valid_up_to()))
    })?;
    Ok(text.trim_start_matches('\u{feff}').trim_end_matches(['\r', '\n']))
}
