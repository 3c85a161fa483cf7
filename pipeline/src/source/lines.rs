//! The line splitter shared by the file, stdin and embedded sources: reads
//! from any blocking `Read`, cuts lines (LF or CRLF) without copying, keeps
//! `#` header lines as batch context, batches by count / bytes, and sends
//! batches with an ack token. Runs on a blocking thread.
//!
//! Every batch carries the [`Position`] after it: the number of the last
//! line cut and the bytes of input consumed through the end of that line
//! (its terminator included). The two always describe the same point, so a
//! reader positioned at `byte` continues with line `record + 1`; that is what
//! a checkpoint stores and what [`LineStream::resume_at`] continues from.
//! Lines counted are the lines cut: empty lines and header lines count, and
//! a line longer than [`BatchLimits::max_record_bytes`] is cut into pieces
//! that count one each. Bytes of an unterminated last line count only once
//! the line is cut: at end of input by [`LineStream::finish`], never by a
//! flush, so a stream that stops in the middle of a line resumes at its start.
//!
//! The pieces of a cut line are records, whatever their bytes: a piece that
//! starts with `#` is not a header line, and a `\r` at the end of a piece
//! that is not the line's last is data, not half of a CRLF. Each carries
//! [`RawRecord::cut_at`], so the decode stage dead-letters it whole, naming
//! the limit, and never decodes it (a fragment that looks like a log line
//! must not become an event). So every byte of the line reaches the
//! dead-letter output, and the headers stay those of the lines around it.
//!
//! Header lines (`#...`: Zeek `#fields`, W3C `#Fields:`) give the records
//! after them their context. A header block that starts with `#separator`
//! (Zeek) replaces the headers before it; other header lines add to them.
//! Lines skipped on purpose (through `skip_through`, or before a resume point
//! by [`LineStream::read_headers`]) still update the headers, so the records
//! after them are read with the same context as in a continuous read.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{BatchLimits, RawBatch, RawRecord};
use crate::ack::AckReceiver;
use crate::event_time::{Position, StreamHandle};
use crate::internal_events::{emit, RecordsReceived};

/// How many bytes one read asks for.
const CHUNK: usize = 256 * 1024;

/// Header lines kept between two records: a bound against a file of nothing but `#` lines.
const MAX_PENDING_HEADERS: usize = 64;

/// State of one line stream (a file, stdin) across reads.
pub struct LineStream {
    source: Arc<str>,
    stream: StreamHandle,
    /// Bytes consumed up to the end of the last line cut.
    consumed: u64,
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
    skip_through: u64,
    eof: bool,
    /// The last line cut was a piece of a longer line whose end is still to come.
    cutting: bool,
}

/// Why sending stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    /// Keep reading.
    Continue,
    /// Downstream is gone or shutdown was requested.
    Stop,
}

/// Where a line cut off the buffer sits in its input line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// A whole line.
    Whole,
    /// A piece of a line longer than `max_record_bytes`; more of it follows.
    Piece,
    /// The rest of such a line, up to its terminator (or the end of input).
    LastPiece,
}

/// What a line cut from the input turned out to be.
enum Line {
    /// A record to send.
    Record(Bytes),
    /// A header line (now pending: it applies to the records after it).
    Header,
    /// An empty line, or a record skipped on purpose.
    Nothing,
}

impl LineStream {
    /// A line stream in `format`, sending its batches as `stream` (whose
    /// name is the batches' `source`). Lines up to `skip_through` are read
    /// but not sent; header lines among them still apply to the records after.
    pub fn new(stream: StreamHandle, format: Arc<str>, limits: BatchLimits, skip_through: u64) -> Self {
        LineStream {
            source: stream.name().clone(),
            stream,
            consumed: 0,
            format,
            headers: Arc::from(Vec::new()),
            pending_headers: Vec::new(),
            buf: BytesMut::with_capacity(CHUNK),
            line_no: 0,
            batch: Vec::with_capacity(limits.max_records.min(65536)),
            batch_bytes: 0,
            batch_started: None,
            limits,
            records: 0,
            batches: 0,
            skip_through,
            eof: false,
            cutting: false,
        }
    }

    /// Whether the last read returned end of input.
    pub fn at_eof(&self) -> bool {
        self.eof
    }

    /// The line number of the last line seen.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// Continue numbering after `position` (a resumed stream whose reader
    /// was positioned there): the next line is `position.record + 1`. Bytes
    /// read but not yet cut into lines are dropped: they came from before
    /// the position.
    pub fn resume_at(&mut self, position: Position) {
        // Whether the position is inside a cut line stays as the read of the
        // part before it (`read_headers`) left it.
        self.buf.clear();
        self.line_no = position.record;
        self.consumed = position.byte;
    }

    /// The stream this reads.
    pub fn stream(&self) -> &StreamHandle {
        &self.stream
    }

    /// Where the stream is: the last line cut and the bytes through it.
    pub fn position(&self) -> Position {
        Position { record: self.line_no, byte: self.consumed }
    }

    /// End the stream (nothing more will be sent), returning the records
    /// read and the batches sent. What is batched but not sent, and an
    /// unterminated last line, are dropped: call [`LineStream::finish`] or
    /// [`LineStream::flush`] first.
    pub fn end(self) -> (u64, u64) {
        let (records, batches) = (self.records, self.batches);
        self.stream.finish();
        (records, batches)
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
        loop {
            if shutdown.is_cancelled() {
                return Ok(Flow::Stop);
            }
            let n = self.fill(reader)?;
            if n == 0 {
                return Ok(Flow::Continue);
            }
            if self.split_lines(acks, out) == Flow::Stop {
                return Ok(Flow::Stop);
            }
            let short = flush_on_short_read && n < CHUNK;
            if (short || self.timed_out()) && self.flush(acks, out) == Flow::Stop {
                return Ok(Flow::Stop);
            }
            if short {
                return Ok(Flow::Continue);
            }
        }
    }

    /// Read until one batch has been sent or `reader` is at its end
    /// ([`LineStream::at_eof`]); what is batched at the end stays batched.
    /// Lines after the batch stay in the buffer for the next call, so a
    /// source can interleave several streams exactly a batch at a time.
    pub fn pump_batch<R: Read>(
        &mut self,
        reader: &mut R,
        acks: &mut AckReceiver,
        out: &mpsc::Sender<RawBatch>,
        shutdown: &CancellationToken,
    ) -> std::io::Result<Flow> {
        let sent = self.batches;
        loop {
            if shutdown.is_cancelled() {
                return Ok(Flow::Stop);
            }
            while self.batches == sent {
                let Some((line, cut)) = self.cut_line() else { break };
                if self.push_line(line.freeze(), cut, acks, out) == Flow::Stop {
                    return Ok(Flow::Stop);
                }
            }
            if self.batches == sent && self.timed_out() && self.flush(acks, out) == Flow::Stop {
                return Ok(Flow::Stop);
            }
            if self.batches > sent {
                self.eof = false;
                return Ok(Flow::Continue);
            }
            if self.fill(reader)? == 0 {
                return Ok(Flow::Continue);
            }
        }
    }

    /// Read all of `reader` (the part of the input before a resume point)
    /// for its header lines only: every line is counted and skipped, nothing
    /// is sent, and the headers are what a continuous read would have had
    /// at the end of it. Returns the lines and bytes cut; an unterminated
    /// remainder is dropped. Call on a stream that has sent nothing yet.
    pub fn read_headers<R: Read>(&mut self, reader: &mut R) -> std::io::Result<(u64, u64)> {
        let skip = std::mem::replace(&mut self.skip_through, u64::MAX);
        let result = (|| {
            while self.fill(reader)? > 0 {
                while let Some((line, cut)) = self.cut_line() {
                    // Every line is skipped, so nothing is batched that a header would flush.
                    self.take_line(line.freeze(), cut);
                }
            }
            // A resume point after a piece of a cut line leaves that piece
            // here, exactly `max_record_bytes` without its line's end: a
            // continuous read cut it as a piece once more of the line came.
            if self.buf.len() == self.limits.max_record_bytes {
                let (piece, cut) = self.cut_piece(self.limits.max_record_bytes);
                self.take_line(piece.freeze(), cut);
            }
            Ok((self.line_no, self.consumed))
        })();
        self.skip_through = skip;
        self.buf.clear();
        result
    }

    /// Read one chunk into the buffer; the bytes read (0 at end of input).
    fn fill<R: Read>(&mut self, reader: &mut R) -> std::io::Result<usize> {
        let old_len = self.buf.len();
        self.buf.resize(old_len + CHUNK, 0);
        loop {
            match reader.read(&mut self.buf[old_len..]) {
                Ok(n) => {
                    self.buf.truncate(old_len + n);
                    self.eof = n == 0;
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(old_len);
                    return Err(e);
                }
            }
        }
    }

    fn timed_out(&self) -> bool {
        self.batch_started.is_some_and(|t| t.elapsed() >= self.limits.max_wait)
    }

    /// Cut the next line (without its LF) off the buffer, counting the bytes
    /// consumed. A line longer than `max_record_bytes` is cut into pieces of
    /// that size as soon as the buffer shows it is longer, whether or not its
    /// end has been read yet: where a long line is cut then depends only on
    /// the input, not on how reads happened to return it, so a resumed read
    /// numbers lines as a continuous one did.
    fn cut_line(&mut self) -> Option<(BytesMut, Cut)> {
        let max = self.limits.max_record_bytes;
        match memchr::memchr(b'\n', &self.buf) {
            Some(i) if i <= max => {
                let mut line = self.buf.split_to(i + 1);
                line.truncate(i);
                self.consumed += i as u64 + 1;
                Some((line, self.line_end()))
            }
            Some(_) => Some(self.cut_piece(max)),
            None if self.buf.len() > max => Some(self.cut_piece(max)),
            None => None,
        }
    }

    fn cut_piece(&mut self, max: usize) -> (BytesMut, Cut) {
        self.consumed += max as u64;
        self.cutting = true;
        (self.buf.split_to(max), Cut::Piece)
    }

    /// What the line ending here is: whole, or the rest of a cut line.
    fn line_end(&mut self) -> Cut {
        if std::mem::take(&mut self.cutting) {
            Cut::LastPiece
        } else {
            Cut::Whole
        }
    }

    fn split_lines(&mut self, acks: &mut AckReceiver, out: &mpsc::Sender<RawBatch>) -> Flow {
        while let Some((line, cut)) = self.cut_line() {
            if self.push_line(line.freeze(), cut, acks, out) == Flow::Stop {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    /// Number a line and take in what it says about headers. Only a whole
    /// line can be a header, and only a line's end can be a CRLF.
    fn take_line(&mut self, mut line: Bytes, cut: Cut) -> Line {
        self.line_no += 1;
        if cut != Cut::Piece && line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if line.is_empty() {
            return Line::Nothing;
        }
        if cut == Cut::Whole && line.first() == Some(&b'#') {
            // Header context (Zeek `#fields`, W3C `#Fields:`) for the records after it.
            self.pending_headers.push(line);
            if self.pending_headers.len() > MAX_PENDING_HEADERS {
                self.pending_headers.remove(0);
            }
            return Line::Header;
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
        if self.line_no <= self.skip_through {
            return Line::Nothing;
        }
        Line::Record(line)
    }

    fn push_line(&mut self, line: Bytes, cut: Cut, acks: &mut AckReceiver, out: &mpsc::Sender<RawBatch>) -> Flow {
        let line = match self.take_line(line, cut) {
            Line::Record(line) => line,
            // The batch so far was read with the headers before this one: send it with them.
            Line::Header if !self.batch.is_empty() => return self.flush(acks, out),
            Line::Header | Line::Nothing => return Flow::Continue,
        };
        if self.batch_started.is_none() {
            self.batch_started = Some(Instant::now());
        }
        self.batch_bytes += line.len();
        let cut_at = (cut != Cut::Whole).then_some(self.limits.max_record_bytes);
        self.batch.push(RawRecord { offset: self.line_no, data: line, cut_at });
        self.records += 1;
        if self.batch.len() >= self.limits.max_records || self.batch_bytes >= self.limits.max_bytes {
            return self.flush(acks, out);
        }
        Flow::Continue
    }

    /// Send what is batched, including a final unterminated line (call at end of input).
    pub fn finish(&mut self, acks: &mut AckReceiver, out: &mpsc::Sender<RawBatch>) -> Flow {
        if !self.buf.is_empty() {
            let rest = self.buf.split().freeze();
            self.consumed += rest.len() as u64;
            let cut = self.line_end();
            if self.push_line(rest, cut, acks, out) == Flow::Stop {
                return Flow::Stop;
            }
        }
        self.flush(acks, out)
    }

    /// Send every complete line read so far; an unterminated last line is
    /// not sent (and not counted in the position): a stream stopped early.
    pub fn flush_lines(&mut self, acks: &mut AckReceiver, out: &mpsc::Sender<RawBatch>) -> Flow {
        if self.split_lines(acks, out) == Flow::Stop {
            return Flow::Stop;
        }
        self.flush(acks, out)
    }

    /// Send the current batch, if any. Its position is the stream's: the last
    /// line cut, which may be a header or an empty line after the last record.
    pub fn flush(&mut self, acks: &mut AckReceiver, out: &mpsc::Sender<RawBatch>) -> Flow {
        self.batch_started = None;
        if self.batch.is_empty() {
            return Flow::Continue;
        }
        let records = std::mem::replace(&mut self.batch, Vec::with_capacity(self.limits.max_records.min(65536)));
        let bytes = std::mem::take(&mut self.batch_bytes);
        let ack = acks.token();
        emit(RecordsReceived { source: &self.source, records: records.len() as u64, bytes: bytes as u64 });
        let pos = self.stream.next_pos(self.position());
        let batch = RawBatch {
            source: self.source.clone(),
            partition: None,
            format: self.format.clone(),
            headers: self.headers.clone(),
            records,
            ack,
            pos,
        };
        self.batches += 1;
        match out.blocking_send(batch) {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stop,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_time::StreamOpener;

    struct Harness {
        acks: AckReceiver,
        tx: mpsc::Sender<RawBatch>,
        rx: mpsc::Receiver<RawBatch>,
        stop: CancellationToken,
    }

    impl Harness {
        fn new() -> Harness {
            let (tx, rx) = mpsc::channel(1024);
            Harness { acks: AckReceiver::new(), tx, rx, stop: CancellationToken::new() }
        }

        fn stream(&self, limits: BatchLimits, skip_through: u64) -> LineStream {
            LineStream::new(StreamOpener::standalone().open("test", "test"), Arc::from("x"), limits, skip_through)
        }

        fn batches(&mut self) -> Vec<RawBatch> {
            let mut out = Vec::new();
            while let Ok(b) = self.rx.try_recv() {
                out.push(b);
            }
            out
        }
    }

    fn text(r: &RawRecord) -> &str {
        std::str::from_utf8(&r.data).unwrap()
    }

    /// The input after `position` must be the lines after `position.record`.
    fn check_resume_point(input: &[u8], batch: &RawBatch, next: Option<&str>) {
        let rest = &input[batch.pos.position.byte as usize..];
        let first = rest.split(|b| *b == b'\n').next().map(|l| String::from_utf8_lossy(l).trim_end().to_string());
        assert_eq!(first.as_deref().filter(|l| !l.is_empty()), next, "input after {:?}", batch.pos.position);
    }

    #[test]
    fn positions_count_crlf_unterminated_lines_and_split_records_exactly() {
        let mut h = Harness::new();
        let limits = BatchLimits { max_records: 2, max_record_bytes: 8, ..BatchLimits::default() };
        let mut s = h.stream(limits, 0);
        let input = b"one\r\ntwo\n\nthree-is-too-long\r\nfour\nfive";
        let flow = s.pump(&mut &input[..], &mut h.acks, &h.tx, &h.stop, false).unwrap();
        assert_eq!(flow, Flow::Continue);
        assert!(s.at_eof());
        assert_eq!(s.position().byte, 34, "`five` is not cut until the input ends");
        s.finish(&mut h.acks, &h.tx);
        assert_eq!(s.position().byte, input.len() as u64);
        let batches = h.batches();
        let lines: Vec<(u64, &str)> = batches.iter().flat_map(|b| &b.records).map(|r| (r.offset, text(r))).collect();
        assert_eq!(
            lines,
            [(1, "one"), (2, "two"), (4, "three-is"), (5, "-too-lon"), (6, "g"), (7, "four"), (8, "five")],
            "CR stripped, the empty line counted, the long line cut into pieces of 8 bytes"
        );
        let positions: Vec<(u64, u64)> = batches.iter().map(|b| (b.pos.position.record, b.pos.position.byte)).collect();
        assert_eq!(positions, [(2, 9), (5, 26), (7, 34), (8, 38)]);
        check_resume_point(input, &batches[0], None); // an empty line follows
        check_resume_point(input, &batches[1], Some("g"));
        check_resume_point(input, &batches[2], Some("five"));
        check_resume_point(input, &batches[3], None);
    }

    #[test]
    fn a_header_after_records_ends_their_batch_and_the_position_covers_it() {
        let mut h = Harness::new();
        let mut s = h.stream(BatchLimits::default(), 0);
        let input = b"#fields\ta\nr1\n#fields\tb\nr2\n";
        s.pump(&mut &input[..], &mut h.acks, &h.tx, &h.stop, false).unwrap();
        s.finish(&mut h.acks, &h.tx);
        let batches = h.batches();
        assert_eq!(batches.len(), 2);
        assert_eq!(&*batches[0].headers, [Bytes::from_static(b"#fields\ta")]);
        assert_eq!(batches[0].pos.position, Position { record: 3, byte: 23 }, "through the header that ended it");
        check_resume_point(input, &batches[0], Some("r2"));
        assert_eq!(batches[1].headers.len(), 2, "W3C-style headers add up");
        assert_eq!(batches[1].records[0].offset, 4);
    }

    #[test]
    fn skipped_lines_still_bring_their_headers() {
        let mut h = Harness::new();
        let mut s = h.stream(BatchLimits::default(), 3);
        let input = b"#separator \\x09\n#fields\ta\tb\nold\nnew\n";
        s.pump(&mut &input[..], &mut h.acks, &h.tx, &h.stop, false).unwrap();
        s.finish(&mut h.acks, &h.tx);
        let batches = h.batches();
        let records: Vec<&str> = batches.iter().flat_map(|b| &b.records).map(text).collect();
        assert_eq!(records, ["new"]);
        assert_eq!(batches[0].headers.len(), 2);
        assert_eq!(s.records, 1, "skipped lines are not counted as read");
    }

    #[test]
    fn read_headers_then_resume_continues_as_a_continuous_read_would() {
        let input = b"#separator \\x09\n#fields\ta\nr1\nr2\n#separator \\x09\n#fields\tb\nr3\nr4\nr5\n";
        // The continuous read.
        let mut h = Harness::new();
        let mut s = h.stream(BatchLimits { max_records: 1, ..BatchLimits::default() }, 0);
        s.pump(&mut &input[..], &mut h.acks, &h.tx, &h.stop, false).unwrap();
        s.finish(&mut h.acks, &h.tx);
        let all = h.batches();
        let r3 = all.iter().position(|b| text(&b.records[0]) == "r3").unwrap();
        let resume = all[r3].pos.position;
        assert_eq!(resume, Position { record: 7, byte: 61 });

        // Resumed after r3: the headers come from the second block only.
        let mut h2 = Harness::new();
        let mut s2 = h2.stream(BatchLimits::default(), 0);
        let (lines, bytes) = s2.read_headers(&mut (&input[..]).take(resume.byte)).unwrap();
        assert_eq!((lines, bytes), (resume.record, resume.byte));
        s2.resume_at(resume);
        let mut rest = &input[resume.byte as usize..];
        s2.pump(&mut rest, &mut h2.acks, &h2.tx, &h2.stop, false).unwrap();
        s2.finish(&mut h2.acks, &h2.tx);
        let resumed = h2.batches();
        assert_eq!(resumed.len(), 1);
        let got: Vec<(u64, &str)> = resumed[0].records.iter().map(|r| (r.offset, text(r))).collect();
        assert_eq!(got, [(8, "r4"), (9, "r5")]);
        assert_eq!(resumed[0].headers, all[r3 + 1].headers, "the same headers as without the restart");
        assert_eq!(&*resumed[0].headers, [Bytes::from_static(b"#separator \\x09"), Bytes::from_static(b"#fields\tb")]);
        assert_eq!(resumed[0].pos.position, Position { record: 9, byte: input.len() as u64 });
    }

    #[test]
    fn pump_batch_sends_one_batch_at_a_time() {
        let mut h = Harness::new();
        let mut s = h.stream(BatchLimits { max_records: 2, ..BatchLimits::default() }, 0);
        let input = b"a\nb\nc\nd\ne\n";
        let mut reader = &input[..];
        s.pump_batch(&mut reader, &mut h.acks, &h.tx, &h.stop).unwrap();
        assert_eq!((s.batches, s.at_eof()), (1, false));
        assert!(reader.is_empty(), "one read took the whole input; `c` to `e` wait in the buffer");
        s.pump_batch(&mut reader, &mut h.acks, &h.tx, &h.stop).unwrap();
        assert_eq!((s.batches, s.at_eof()), (2, false));
        s.pump_batch(&mut reader, &mut h.acks, &h.tx, &h.stop).unwrap();
        assert!(s.at_eof());
        assert_eq!(s.batches, 2, "`e` stays batched at the end of input");
        s.finish(&mut h.acks, &h.tx);
        let sizes: Vec<usize> = h.batches().iter().map(|b| b.records.len()).collect();
        assert_eq!(sizes, [2, 2, 1]);
    }

    #[test]
    fn pieces_of_a_cut_line_are_records_whatever_their_bytes() {
        let mut h = Harness::new();
        let mut s = h.stream(BatchLimits { max_record_bytes: 8, ..BatchLimits::default() }, 0);
        // A long CRLF line whose first piece ends in `\r` and whose second
        // starts with `#`, a real header, a record, and an unterminated long
        // last line whose rest starts with `#`.
        let long = b"aaaaaaa\r#bbbbbbbcc";
        let input = [&long[..], b"\r\n#f\tx\nr\ndddddddd#e"].concat();
        s.pump(&mut &input[..], &mut h.acks, &h.tx, &h.stop, false).unwrap();
        s.finish(&mut h.acks, &h.tx);
        let batches = h.batches();
        let records: Vec<(u64, &[u8])> =
            batches.iter().flat_map(|b| &b.records).map(|r| (r.offset, &r.data[..])).collect();
        assert_eq!(
            records,
            [(1, &b"aaaaaaa\r"[..]), (2, b"#bbbbbbb"), (3, b"cc"), (5, b"r"), (6, b"dddddddd"), (7, b"#e")],
            "no piece is a header line, only the line's end loses its CR"
        );
        assert_eq!(records[..3].iter().flat_map(|(_, d)| d.iter().copied()).collect::<Vec<u8>>(), long);
        assert!(batches[0].headers.is_empty(), "a piece starting with `#` is no header");
        let last = batches.last().unwrap();
        assert_eq!(&*last.headers, [Bytes::from_static(b"#f\tx")], "only the real header");
        assert_eq!(s.position(), Position { record: 7, byte: input.len() as u64 });
    }

    #[test]
    fn resuming_inside_a_cut_line_reads_its_pieces_as_a_continuous_read_does() {
        let input = b"x\n#aaaaaaa#bbbbbbbcc\nd\n";
        let limits = BatchLimits { max_records: 1, max_record_bytes: 8, ..BatchLimits::default() };
        let mut h = Harness::new();
        let mut s = h.stream(limits, 0);
        s.pump(&mut &input[..], &mut h.acks, &h.tx, &h.stop, false).unwrap();
        s.finish(&mut h.acks, &h.tx);
        let all = h.batches();
        let got = |batches: &[RawBatch]| -> Vec<(u64, String)> {
            batches.iter().flat_map(|b| &b.records).map(|r| (r.offset, text(r).to_string())).collect()
        };
        let continuous = got(&all);
        assert_eq!(continuous.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        // Resumed after the first piece of the long line.
        let resume = all[1].pos.position;
        assert_eq!(resume, Position { record: 2, byte: 10 });
        let mut h2 = Harness::new();
        let mut s2 = h2.stream(limits, 0);
        let counted = s2.read_headers(&mut (&input[..]).take(resume.byte)).unwrap();
        assert_eq!(counted, (resume.record, resume.byte), "the piece before the resume point is counted");
        s2.resume_at(resume);
        s2.pump(&mut &input[resume.byte as usize..], &mut h2.acks, &h2.tx, &h2.stop, false).unwrap();
        s2.finish(&mut h2.acks, &h2.tx);
        let resumed = h2.batches();
        assert_eq!(got(&resumed), continuous[2..], "the rest of the line is pieces, not a header");
        assert!(resumed.iter().all(|b| b.headers.is_empty()));
    }
}
