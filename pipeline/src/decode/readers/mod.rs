//! Readers shared by the decoders of several formats, whatever their class.
//!
//! * [`syslog`]: the headers syslog puts in front of a message (`<PRI>`,
//!   RFC 3164 and RFC 5424 times);
//! * [`text`]: zero-copy splitting of text records (`key=value` pairs, CSV,
//!   quoted fields) and the field checks and mappings text formats share;
//! * [`scan`]: bitmaps of a line's delimiters, so a `key=value` splitter
//!   jumps from one to the next without searching;
//! * [`json`]: case-insensitive access to JSON records and the helpers of
//!   the SaaS audit formats (batch envelopes, kept vendor paths, times);
//! * [`zeek`]: Zeek's TSV and JSON logs by field name, for the `zeek-*`
//!   decoders of every family.

pub mod json;
pub mod scan;
pub(crate) mod syslog;
pub mod text;
pub mod zeek;
