//! The line splitter shared by the file, stdin and embedded sources: reads
//! from any blocking `Read`, cuts lines (LF or CRLF) without copying, keeps
//! `#` header lines as batch context, batches by count / bytes, and sends
//! batches with an ack token. Runs on a blocking thread.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{BatchLimits, RawBatch, RawRecord};
use crate::ack::{AckReceiver, OffsetTracker};
use crate::internal_events::{emit, RecordsReceived};

/// State of one line stream (a file, stdin) across reads.
pub struct LineStream {
    source: Arc<str>,
    format: Arc<str>,
    headers: Arc<[Bytes]>,
    pending_headers: Vec<Bytes>,
    buf: BytesMut,
    line_no: u64,
    batch: Vec<RawRecord>,
    batch_bytes: usize,
    batch_started: Option<Instant>,
    limits: BatchLimits,
    /// Records read so far.
    pub records: u64,
    /// Batches sent so far.
    pub batches: u64,
    /// In-flight line ranges, for checkpoints.
    pub tracker: OffsetTracker,
    /// batch id → first line, to feed the tracker from ack reports.
    pub first_line_of_batch: std::collections::HashMap<u64, u64>,
    skip_through: u64,
    eof: bool,
}

/// Why sending stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    /// Keep reading.
    Continue,
    /// Downstream is gone or shutdown was requested.
    Stop,
}

impl LineStream {
    /// A stream named `source` in `format`. Lines up to `skip_through` (a
    /// checkpoint) are read but not sent.
    pub fn new(source: Arc<str>, format: Arc<str>, limits: BatchLimits, skip_through: u64) -> Self {
        LineStream {
            source,
            format,
            headers: Arc::from(Vec::new()),
            pending_headers: Vec::new(),
            buf: BytesMut::with_capacity(256 * 1024),
            line_no: 0,
            batch: Vec::with_capacity(limits.max_records.min(65536)),
            batch_bytes: 0,
            batch_started: None,
            limits,
            records: 0,
            batches: 0,
            tracker: OffsetTracker::default(),
            first_line_of_batch: Default::default(),
            skip_through,
            eof: false,
        }
    }

    /// Whether the last read returned end of input.
    pub fn at_eof(&self) -> bool {
        self.eof
    }

    /// The batch limits of this stream.
    pub fn limits(&self) -> BatchLimits {
        self.limits
    }

    /// The line number of the last line seen.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// Read everything `reader` has until EOF (or a short read when
    /// `flush_on_short_read`), sending full batches as they fill.
    pub fn pump<R: Read>(
        &mut self,
        reader: &mut R,
        acks: &mut AckReceiver,
        out: &mpsc::Sender<RawBatch>,
        shutdown: &CancellationToken,
        flush_on_short_read: bool,
    ) -> std::io::Result<Flow> {
        const CHUNK: usize = 256 * 1024;
        loop {
            if shutdown.is_cancelled() {
                return Ok(Flow::Stop);
            }
            let old_len = self.buf.len();
            self.buf.resize(old_len + CHUNK, 0);
            let n = match reader.read(&mut self.buf[old_len..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    self.buf.truncate(old_len);
                    continue;
                }
                Err(e) => {
                    self.buf.truncate(old_len);
                    return Err(e);
                }
            };
            self.buf.truncate(old_len + n);
            if n == 0 {
                self.eof = true;
                return Ok(Flow::Continue);
            }
            self.eof = false;
            if self.split_lines(acks, out) == Flow::Stop {
                return Ok(Flow::Stop);
            }
            let timed_out = self.batch_started.is_some_and(|t| t.elapsed() >= self.limits.max_wait);
            if (flush_on_short_read && n < CHUNK) || timed_out {
                if self.flush(acks, out) == Flow::Stop {
                    return Ok(Flow::Stop);
                }
                if flush_on_short_read && n < CHUNK {
                    return Ok(Flow::Continue);
                }
            }
        }
    }

    fn split_lines(&mut self, acks: &mut AckReceiver, out: &mpsc::Sender<RawBatch>) -> Flow {
        loop {
            let pos = memchr_newline(&self.buf);
            let line = match pos {
                Some(i) => {
                    let mut line = self.buf.split_to(i + 1);
                    line.truncate(i);
                    line
                }
                None if self.buf.len() >= self.limits.max_record_bytes => {
                    self.buf.split_to(self.limits.max_record_bytes)
                }
                None => return Flow::Continue,
            };
            if self.push_line(line.freeze(), acks, out) == Flow::Stop {
                return Flow::Stop;
            }
        }
    }

    fn push_line(&mut self, mut line: Bytes, acks: &mut AckReceiver, out: &mpsc::Sender<RawBatch>) -> Flow {
        self.line_no += 1;
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if line.is_empty() || self.line_no <= self.skip_through {
            return Flow::Continue;
        }
        if line.first() == Some(&b'#') {
            // Header context (Zeek `#fields`, W3C `#Fields:`) for the records after it.
            self.pending_headers.push(line);
            if self.pending_headers.len() > 64 {
                self.pending_headers.remove(0);
            }
            if !self.batch.is_empty() && self.flush(acks, out) == Flow::Stop {
                return Flow::Stop;
            }
            return Flow::Continue;
        }
        if !self.pending_headers.is_empty() {
            let mut all: Vec<Bytes> = if self.pending_headers.first().is_some_and(|h| h.starts_with(b"#separator")) {
                Vec::new()
            } else {
                self.headers.to_vec()
            };
            all.append(&mut self.pending_headers);
            self.headers = Arc::from(all);
        }
        if self.batch_started.is_none() {
            self.batch_started = Some(Instant::now());
        }
        self.batch_bytes += line.len();
        self.batch.push(RawRecord { offset: self.line_no, data: line });
        self.records += 1;
        if self.batch.len() >= self.limits.max_records || self.batch_bytes >= self.limits.max_bytes {
            return self.flush(acks, out);
        }
        Flow::Continue
    }

    /// Send what is batched, including a final unterminated line when `eof`.
    pub fn finish(&mut self, acks: &mut AckReceiver, out: &mpsc::Sender<RawBatch>) -> Flow {
        if !self.buf.is_empty() {
            let rest = self.buf.split().freeze();
            if self.push_line(rest, acks, out) == Flow::Stop {
                return Flow::Stop;
            }
        }
        self.flush(acks, out)
    }

    /// Send the current batch, if any.
    pub fn flush(&mut self, acks: &mut AckReceiver, out: &mpsc::Sender<RawBatch>) -> Flow {
        self.batch_started = None;
        if self.batch.is_empty() {
            return Flow::Continue;
        }
        let records = std::mem::replace(&mut self.batch, Vec::with_capacity(self.limits.max_records.min(65536)));
        let bytes = std::mem::take(&mut self.batch_bytes);
        let first = records.first().map_or(0, |r| r.offset);
        let last = records.last().map_or(0, |r| r.offset);
        let ack = acks.token();
        self.tracker.begin(first, last);
        self.first_line_of_batch.insert(ack.batch_id(), first);
        emit(RecordsReceived { source: &self.source, records: records.len() as u64, bytes: bytes as u64 });
        let batch = RawBatch {
            source: self.source.clone(),
            partition: None,
            format: self.format.clone(),
            headers: self.headers.clone(),
            records,
            ack,
        };
        self.batches += 1;
        match out.blocking_send(batch) {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stop,
        }
    }
}

fn memchr_newline(buf: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', buf)
}
