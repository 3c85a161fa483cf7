//! Decoding: raw records in a vendor format → rows of an event class.
//!
//! A [`Decoder`] is stateless and shared by every worker; it turns one raw
//! record (a line, a Kafka message) into zero or more [`Row`]s. Per record it
//! reports one of three outcomes, all counted: parsed (rows appended), skipped
//! (valid but carries nothing for any class; the reason is counted) or an
//! error (malformed; the record goes to the dead-letter output with its origin
//! and the reason). Decoders never panic on any input.
//!
//! The folder shows the event classes: one folder per family of formats,
//! named for the class its decoders fill, one file per format, and the
//! readers the decoders share beside them:
//!
//! * [`network`]: firewalls and proxies (`panos`, `fortigate`, `cisco-asa`,
//!   `cef`, `squid`, `w3c`, `zeek-conn`, `zeek-http`, `zeek-ssl`);
//! * [`dns`]: resolvers (`bind-query`, `windows-dns`, `umbrella-dns`,
//!   `zeek-dns`);
//! * [`identity`]: sign-ins, OAuth grants and SaaS audit logs (`okta`,
//!   `entra-signin`, `entra-audit`, `google-workspace`, `github-audit`,
//!   `github-webhook`);
//! * [`email`]: mail flow and mailbox changes (`m365-message-trace`,
//!   `m365-audit`);
//! * [`readers`]: what several formats share: syslog headers, zero-copy
//!   text splitting, JSON access, the Zeek log reader;
//! * [`auto`] and [`floodlight_json`] read any class.
//!
//! Parsing times into the schema's [`Timestamp`](crate::schema::Timestamp)
//! lives with the schema, in [`crate::schema::time`].
//!
//! [`registry`] maps format ids (`panos`, `okta`, ...) to decoders. Adding a
//! format means one file in its family's folder, one line in that folder's
//! `mod.rs`, one in the registry and one in the fuzz families
//! ([`fuzzing::FAMILIES`]).

pub mod auto;
pub mod dns;
#[cfg(test)]
pub(crate) mod doc_example;
pub mod email;
pub mod floodlight_json;
#[doc(hidden)]
pub mod fuzzing;
pub mod identity;
pub mod network;
pub mod readers;
pub mod registry;
pub mod stage;

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
