//! The file source: files named by paths or glob patterns, read once
//! (replay, trials) or followed like `tail -F` (new lines, rotation,
//! truncation, files appearing later). Gzip files (by magic bytes) are
//! decompressed on the fly; they are read once even when following. A gzip
//! file that inflates past [`MAX_GZIP_RATIO`] times the compressed bytes read
//! (plus [`GZIP_ALLOWANCE`]) is a decompression bomb: it is not read further,
//! and the source names it among the files it could not read.
//!
//! # Which file is which: fingerprints
//!
//! A file is identified by its content, not its path: the xxh3-64 hash of
//! its first [`FINGERPRINT_BYTES`] bytes (decompressed, for gzip), or of all
//! of it when it is shorter. Paths change under a reader — `fw.log` becomes
//! `fw.log.1` at rotation and a new `fw.log` appears, `fw.log.1` is
//! compressed to `fw.log.2.gz` — while the first bytes of a log never do.
//! So, as Vector's file source does:
//!
//! * a file seen at a new path is the file already being read, and reading
//!   continues where it was, under the same stream (while it is open, its
//!   inode says so without reading it);
//! * its compressed copy is not read again;
//! * a file renamed to a name the patterns no longer match is not lost: the
//!   open handle is read to its end, then its stream ends;
//! * **two files whose first 256 bytes are the same are the same file** and
//!   are read once. Logs start with timestamps, so this is what rotation
//!   and copies produce; a format that starts every file with the same long
//!   constant header would need a longer fingerprint.
//!
//! The stream of a file is named `file:<absolute path where it was first
//! seen>` (record origins and `event_id`s derive from the name and the line
//! number, so they continue across a rename) and keyed `file:<16 hex digits
//! of the fingerprint>`, the identity a checkpoint stores its position under.
//! A new file created at a path another file's stream is already named
//! after (the new `fw.log` after a rotation, in this run or in the
//! checkpoint) is named `file:<path>#<first 8 hex digits of its
//! fingerprint>`, so that its line *n* does not get the old file's origin
//! and event id.
//!
//! A plain file shorter than 256 bytes is fingerprinted whole in one-shot
//! mode. When following, it is not read until it has 256 bytes or has stayed
//! unchanged for [`STABLE_POLLS`] polls (a writer may be in the middle of its
//! first lines); it is then identified by what it has at that moment. Its
//! checkpoint is stored under that shorter fingerprint, which a later run
//! finds by hashing the file's shorter prefixes, for a file at the same path
//! only. An empty file has nothing to identify it by and is not read.
//!
//! # Where reading resumes
//!
//! With a rule-state directory, a checkpoint remembers per stream key the
//! last line read and the bytes consumed through it ([`Resume`]). A file
//! whose fingerprint has an entry continues there under the checkpointed
//! name, so line numbers and event ids continue; without an entry (or
//! without a state directory) a file is read from its start. Records after
//! the resume point need the header lines before it (Zeek `#fields`, W3C
//! `#Fields:`), so resuming reads the part before the resume point for its
//! header lines only ([`LineStream::read_headers`]: the headers come out
//! exactly as in a continuous read), then continues; for gzip that is also
//! how the decompressed bytes before the point are skipped. That read is
//! put off until the file has something after the resume point, so a file
//! that did not change since the checkpoint costs one `stat`.
//!
//! # Streams, and the order files are read in
//!
//! Every file is a stream of its own ([`crate::event_time`]), registered
//! before any of the source's files is read: a registered stream that has
//! sent nothing holds the watermark back, so no rule concludes anything
//! that a file not read yet could change. In one-shot mode the source keeps
//! at most [`MAX_OPEN_FILES`] files open and reads them a batch at a time,
//! interleaved: the next batch comes from the open file whose stream is
//! furthest behind in event time (files whose stream time is not known yet
//! first; among equals, the one read least recently). Streams then advance
//! together, and the rows the stateful rules must hold until the watermark
//! passes them stay few. Files beyond the first [`MAX_OPEN_FILES`] are opened
//! (registered) as others end; until the last is open, the source's hold
//! ([`crate::event_time::streams`]) keeps the watermark back for them, so
//! their records are not late for having been read last (the rules then
//! hold more rows meanwhile). A file read to its end ends its stream.
//!
//! # Following
//!
//! Each poll looks at the paths the patterns match, then reads every open
//! file up to its current end, interleaved the same way. A file at its end
//! is marked waiting for input, so after the runtime's idle timeout it stops
//! holding the watermark back; its next batch clears that. Only complete
//! lines are sent: an unterminated last line waits for its end, and is left
//! for the next run at shutdown. Rotation needs nothing special: the renamed
//! file is still open and still matched (read to its end and ended once no
//! pattern matches it), and the new file at the old path is a new file.
//! A file truncated or rewritten in place (`copytruncate`) waits up to
//! [`DISPLACED_POLLS`] polls for a copy of itself — a file with its
//! fingerprint — and continues in the copy from where it was; the truncated
//! file is then a new file. Without a copy it ends, and a copy that shows up
//! later is still read from where the file was.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::{File, Metadata};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use xxhash_rust::xxh3::xxh3_64;

use super::lines::{Flow, LineStream};
use super::{BatchLimits, RawBatch, Source, SourceContext, SourceError, SourceReport};
use crate::ack::{AckReceiver, BatchStatus};
use crate::event_time::{Micros, Position, Resume, StreamId, StreamOpener};

/// How many bytes of a file's start identify it.
pub const FINGERPRINT_BYTES: usize = 256;

/// Files of a one-shot source open (and registered as streams) at once.
pub const MAX_OPEN_FILES: usize = 64;

/// Polls a new file shorter than [`FINGERPRINT_BYTES`] must stay unchanged
/// before it is fingerprinted and read (following).
pub const STABLE_POLLS: u32 = 2;

/// Polls a truncated or rewritten file waits for a copy of itself (following).
pub const DISPLACED_POLLS: u32 = 2;

/// Longest a follow poll reads before it looks at the paths again, so a
/// file written faster than it is read does not keep new files waiting.
const ROUND_BUDGET: Duration = Duration::from_secs(1);

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How many bytes of content a gzip file may inflate to per compressed byte
/// read, beyond [`GZIP_ALLOWANCE`]. Logs compress 5–20:1 (the demo logs
/// concatenated over and over, up to 170:1); deflate's most, what a
/// decompression bomb uses, is about 1,000:1. Reading a bomb to its end would
/// take time, and dead-letter output, out of all proportion to the file.
pub const MAX_GZIP_RATIO: u64 = 200;

/// Content every gzip file may inflate to, whatever its ratio (a short file of repeated lines).
pub const GZIP_ALLOWANCE: u64 = 16 << 20;

/// A gzip file inflated past [`MAX_GZIP_RATIO`]: not read further.
#[derive(Debug, thiserror::Error)]
#[error(
    "gzip content inflates to more than {MAX_GZIP_RATIO} times its compressed size (limit: {MAX_GZIP_RATIO}:1 \
     beyond the first {} MiB): {content} bytes from {compressed} compressed bytes. A decompression bomb? \
     The file is not read further",
    GZIP_ALLOWANCE >> 20
)]
pub struct InflationLimit {
    /// Bytes of content inflated so far.
    pub content: u64,
    /// Compressed bytes read so far.
    pub compressed: u64,
}

/// Configuration of a file source.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// Files or glob patterns (`/var/log/pan/*.log`). Relative paths are
    /// resolved against the config file's directory.
    pub paths: Vec<String>,
    /// Input format id of every file (see `floodlight formats`).
    pub format: String,
    /// Keep reading as files grow, rotate or appear (like `tail -F`).
    #[serde(default)]
    pub follow: bool,
    /// With `follow`, how often to look for new data and new files, in ms.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// Lateness allowed in these files (`None`: the runtime's default).
    #[serde(skip)]
    pub allowed_lateness: Option<Duration>,
}

fn default_poll_ms() -> u64 {
    250
}

/// What can go wrong reading files.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A configured pattern is not a valid glob.
    #[error("invalid glob pattern `{pattern}`: {message}")]
    Pattern {
        /// The pattern as configured.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
    /// Opening or reading a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

impl FileError {
    fn io(path: &Path) -> impl FnOnce(io::Error) -> FileError + '_ {
        move |source| FileError::Io { path: path.to_path_buf(), source }
    }
}

/// Where each stream has got in event time, as far as the source can know
/// (`None`: not known yet); files are read furthest-behind first.
pub type StreamTimes = dyn Fn(StreamId) -> Option<Micros> + Send + Sync;

/// A running file source.
pub struct FileSource {
    name: String,
    config: FileSourceConfig,
    base_dir: PathBuf,
    /// Stream times other than the registry's (tests).
    times: Option<Arc<StreamTimes>>,
}

impl FileSource {
    /// A file source named `name`; relative paths resolve against `base_dir`.
    pub fn new(name: impl Into<String>, config: FileSourceConfig, base_dir: impl Into<PathBuf>) -> Self {
        FileSource { name: name.into(), config, base_dir: base_dir.into(), times: None }
    }

    /// Read the files in the order `times` gives (tests).
    #[cfg(test)]
    fn with_stream_times(mut self, times: Arc<StreamTimes>) -> Self {
        self.times = Some(times);
        self
    }
}

/// Expand the configured paths / globs into existing files, sorted, without duplicates.
pub fn expand_paths(patterns: &[String], base_dir: &Path) -> Result<Vec<PathBuf>, FileError> {
    let mut out = Vec::new();
    for pat in patterns {
        let full = if Path::new(pat).is_absolute() { PathBuf::from(pat) } else { base_dir.join(pat) };
        let full_str = full.to_string_lossy().to_string();
        let entries =
            glob::glob(&full_str).map_err(|e| FileError::Pattern { pattern: pat.clone(), message: e.to_string() })?;
        // Entries that cannot be read (a directory without permission) are skipped, as `ls` would.
        for entry in entries.flatten() {
            if entry.is_file() {
                out.push(entry.canonicalize().unwrap_or(entry));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The name of the stream of a file first seen at `path`.
fn stream_name(path: &Path) -> String {
    format!("file:{}", path.display())
}

/// The name of a new file's stream: `file:<path>`, unless another file
/// already goes by it (a new file at a rotated file's path), then with the
/// start of its fingerprint, `file:<path>#<8 hex digits>`: record origins and
/// event ids derive from the name, so two files must not share one.
fn unique_name(path: &Path, fp: &Fingerprint, streams: &StreamOpener) -> String {
    let name = stream_name(path);
    if streams.name_taken(&name, &fp.key()) {
        format!("{name}#{:08x}", fp.hash >> 32)
    } else {
        name
    }
}

/// What identifies a file; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Fingerprint {
    hash: u64,
    /// Bytes hashed: [`FINGERPRINT_BYTES`], or fewer for a short file.
    len: usize,
}

impl Fingerprint {
    /// The fingerprint of a file that starts with `head`.
    fn of(head: &[u8]) -> Fingerprint {
        let head = &head[..head.len().min(FINGERPRINT_BYTES)];
        Fingerprint { hash: xxh3_64(head), len: head.len() }
    }

    /// The stream key: `file:` and 16 hex digits.
    fn key(&self) -> String {
        format!("file:{:016x}", self.hash)
    }

    /// Whether a file starting with `head` is this file.
    fn matches(&self, head: &[u8]) -> bool {
        head.len() >= self.len && xxh3_64(&head[..self.len]) == self.hash
    }
}

/// The first bytes of a file's content.
struct Head {
    /// Up to [`FINGERPRINT_BYTES`], decompressed for gzip.
    bytes: Vec<u8>,
    gzip: bool,
}

impl Head {
    /// Read the start of `file`, leaving it positioned at its start. A gzip
    /// file cut short (still being written) is an error.
    fn read(file: &mut File) -> io::Result<Head> {
        file.seek(SeekFrom::Start(0))?;
        let mut bytes = Vec::with_capacity(FINGERPRINT_BYTES);
        (&mut *file).take(FINGERPRINT_BYTES as u64).read_to_end(&mut bytes)?;
        let gzip = bytes.starts_with(&GZIP_MAGIC);
        if gzip {
            bytes.clear();
            file.seek(SeekFrom::Start(0))?;
            MultiGzDecoder::new(BufReader::new(&mut *file)).take(FINGERPRINT_BYTES as u64).read_to_end(&mut bytes)?;
        }
        file.seek(SeekFrom::Start(0))?;
        Ok(Head { bytes, gzip })
    }

    /// Whether the content may still be growing into its fingerprint: a
    /// plain file shorter than [`FINGERPRINT_BYTES`]. (A gzip file this
    /// short was read to its end.)
    fn short(&self) -> bool {
        !self.gzip && self.bytes.len() < FINGERPRINT_BYTES
    }
}

/// A file opened to be identified, positioned at its start.
struct Found {
    path: PathBuf,
    file: File,
    meta: Metadata,
    head: Head,
}

impl Found {
    fn open(path: PathBuf) -> Result<Found, FileError> {
        let mut file = File::open(&path).map_err(FileError::io(&path))?;
        let meta = file.metadata().map_err(FileError::io(&path))?;
        let head = Head::read(&mut file).map_err(FileError::io(&path))?;
        Ok(Found { path, file, meta, head })
    }
}

/// A file's identity on disk (device and inode): while a file is open, no
/// other file can have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FileId {
    dev: u64,
    ino: u64,
}

#[cfg(unix)]
fn file_id(meta: &Metadata) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    Some(FileId { dev: meta.dev(), ino: meta.ino() })
}

#[cfg(not(unix))]
fn file_id(_meta: &Metadata) -> Option<FileId> {
    None
}

/// What a path held when it was last looked at: if it still does, what was
/// concluded about it then still holds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    id: Option<FileId>,
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        Stamp { id: file_id(meta), len: meta.len(), modified: meta.modified().ok() }
    }
}

/// A file's content as its line stream reads it.
struct Input {
    kind: InputKind,
    /// Bytes of content read so far (decompressed, for gzip).
    read: u64,
}

enum InputKind {
    Plain(File),
    Gzip(Box<Gunzip<File>>),
}

/// A reader that counts the bytes read through it.
struct Counting<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Gzip content (every member) of a file or any reader, refused with
/// [`InflationLimit`] (an `InvalidData` error) once it inflates past
/// [`MAX_GZIP_RATIO`]. The file source and `floodlight parse` read gzip
/// through it.
pub struct Gunzip<R: Read> {
    decoder: MultiGzDecoder<BufReader<Counting<R>>>,
    /// Bytes of content inflated so far.
    content: u64,
}

impl<R: Read> Gunzip<R> {
    /// The content of the gzip stream `inner`.
    pub fn new(inner: R) -> Gunzip<R> {
        Gunzip { decoder: MultiGzDecoder::new(BufReader::new(Counting { inner, bytes: 0 })), content: 0 }
    }
}

impl<R: Read> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.decoder.read(buf)?;
        self.content += n as u64;
        // What the decoder took from the file, a buffer ahead of what it inflated.
        let compressed = self.decoder.get_ref().get_ref().bytes;
        if self.content > compressed.saturating_mul(MAX_GZIP_RATIO).saturating_add(GZIP_ALLOWANCE) {
            let limit = InflationLimit { content: self.content, compressed };
            return Err(io::Error::new(io::ErrorKind::InvalidData, limit));
        }
        Ok(n)
    }
}

impl Input {
    /// `file`'s content from its start.
    fn new(file: File, gzip: bool) -> Input {
        let kind = if gzip { InputKind::Gzip(Box::new(Gunzip::new(file))) } else { InputKind::Plain(file) };
        Input { kind, read: 0 }
    }

    /// Skip `n` bytes of content (decompressing them, for gzip).
    fn skip(&mut self, n: u64) -> io::Result<()> {
        match &mut self.kind {
            InputKind::Plain(file) => {
                file.seek(SeekFrom::Start(self.read + n))?;
                self.read += n;
            }
            InputKind::Gzip(d) => self.read += io::copy(&mut (&mut **d).take(n), &mut io::sink())?,
        }
        Ok(())
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.kind {
            InputKind::Plain(file) => file.read(buf)?,
            InputKind::Gzip(d) => d.read(buf)?,
        };
        self.read += n as u64;
        Ok(n)
    }
}

/// Where batches go, and what the source tallies on the way.
struct Sending<'a> {
    acks: &'a mut AckReceiver,
    tx: &'a mpsc::Sender<RawBatch>,
    shutdown: &'a CancellationToken,
    report: &'a mut SourceReport,
}

impl Sending<'_> {
    /// Count the acknowledgements that came back meanwhile.
    fn collect_acks(&mut self) {
        while let Some(r) = self.acks.try_recv() {
            count(self.report, r.status);
        }
    }

    fn stopped(&self) -> bool {
        self.shutdown.is_cancelled() || self.tx.is_closed()
    }
}

/// What opening a file as a stream needs.
struct Opening<'a> {
    streams: &'a StreamOpener,
    format: &'a Arc<str>,
    limits: BatchLimits,
}

/// What one read of a file did.
enum Step {
    /// Sent a batch; there may be more.
    Sent,
    /// Reached the end of what the file has now (what is batched is not sent yet).
    End,
    /// Downstream is gone or shutdown was requested.
    Stop,
}

/// A file that ended: what recognises it if it shows up again (following).
struct Done {
    fp: Fingerprint,
    name: Arc<str>,
    position: Position,
}

/// An open file and the stream it is read as.
struct Reader {
    /// Where it was last seen.
    path: PathBuf,
    fp: Fingerprint,
    id: Option<FileId>,
    input: Input,
    lines: LineStream,
    /// A resumed file's checkpointed position, until the part before it has
    /// been read for its headers (put off until there is more after it).
    resume: Option<Position>,
    /// Size and modification time at the last look (following).
    last_seen: (u64, Option<SystemTime>),
    /// Matched by the patterns at the last look (following).
    findable: bool,
    /// When it was last read from, in reads of the source (round robin among equals).
    last_read: u64,
    /// Read up to its end since the poll began (following).
    drained: bool,
}

impl Reader {
    /// Register `found` as a stream (resumed at `resume`) and make it ready to read.
    fn open(found: Found, fp: Fingerprint, resume: Option<Resume>, opening: &Opening) -> Reader {
        let Found { path, file, meta, head } = found;
        let resume = resume.filter(|r| {
            let fits = head.gzip || r.position.byte <= meta.len();
            if !fits {
                warn!(
                    path = %path.display(),
                    checkpoint_byte = r.position.byte,
                    size = meta.len(),
                    "the file is shorter than where the last checkpoint says it was read up to; reading it from its start"
                );
            }
            fits
        });
        let name = resume.as_ref().map_or_else(|| unique_name(&path, &fp, opening.streams), |r| r.name.clone());
        if let Some(r) = &resume {
            debug!(path = %path.display(), stream = %name, line = r.position.record, byte = r.position.byte, "resuming");
        }
        let handle = opening.streams.open(&name, &fp.key());
        Reader {
            id: file_id(&meta),
            last_seen: (meta.len(), meta.modified().ok()),
            path,
            fp,
            input: Input::new(file, head.gzip),
            lines: LineStream::new(handle, opening.format.clone(), opening.limits, 0),
            resume: resume.map(|r| r.position).filter(|p| p.byte > 0),
            findable: true,
            last_read: 0,
            drained: false,
        }
    }

    fn stream(&self) -> StreamId {
        self.lines.stream().id()
    }

    fn is_gzip(&self) -> bool {
        matches!(self.input.kind, InputKind::Gzip(_))
    }

    /// Whether the file at `path`, as `stamp` describes it, is this one.
    fn holds(&self, path: &Path, stamp: &Stamp) -> bool {
        match (self.id, stamp.id) {
            (Some(a), Some(b)) => a == b,
            _ => self.path == path,
        }
    }

    /// The file was seen at `path` by this poll. The first path a poll sees
    /// it at is kept, so a file with two names (hard links) does not look
    /// renamed at every poll.
    fn seen_at(&mut self, path: PathBuf) {
        if self.findable {
            return;
        }
        if self.path != path {
            info!(from = %self.path.display(), to = %path.display(), stream = %self.lines.stream().name(), "file renamed; reading on");
            self.path = path;
        }
        self.findable = true;
    }

    /// Read until a batch is sent or the file's current end.
    fn read_batch(&mut self, out: &mut Sending) -> io::Result<Step> {
        if let Some(at) = self.resume {
            if let InputKind::Plain(file) = &self.input.kind {
                if file.metadata()?.len() <= at.byte {
                    // Nothing after the resume point (yet): its headers are not needed.
                    return Ok(Step::End);
                }
            }
            self.resume = None;
            let (lines, bytes) = self.lines.read_headers(&mut (&mut self.input).take(at.byte))?;
            if bytes < at.byte {
                debug!(path = %self.path.display(), "the file ends before its checkpointed position: nothing new");
            } else if lines != at.record {
                warn!(
                    path = %self.path.display(),
                    counted = lines,
                    checkpoint = at.record,
                    "the lines before the resume point are not the ones the checkpoint counted (was the file \
                     changed, or max_record_bytes?); line numbers continue from the checkpoint"
                );
            }
            self.lines.resume_at(at);
        }
        let flow = self.lines.pump_batch(&mut self.input, out.acks, out.tx, out.shutdown)?;
        Ok(match flow {
            Flow::Stop => Step::Stop,
            Flow::Continue if self.lines.at_eof() => Step::End,
            Flow::Continue => Step::Sent,
        })
    }

    /// Whether the file under the open handle no longer holds what was read
    /// from it: truncated below it, or rewritten from its start (following).
    fn displaced(&mut self) -> io::Result<bool> {
        let InputKind::Plain(file) = &mut self.input.kind else { return Ok(false) };
        let meta = file.metadata()?;
        let seen = (meta.len(), meta.modified().ok());
        let changed = seen != self.last_seen;
        self.last_seen = seen;
        if meta.len() < self.input.read {
            return Ok(true);
        }
        if !changed {
            return Ok(false);
        }
        // It changed: check that it still starts the same, then go back to where reading was.
        file.seek(SeekFrom::Start(0))?;
        let mut start = Vec::with_capacity(self.fp.len);
        (&mut *file).take(self.fp.len as u64).read_to_end(&mut start)?;
        file.seek(SeekFrom::Start(self.input.read))?;
        Ok(!self.fp.matches(&start))
    }

    /// Continue reading in `found`, a copy of this file, from the same
    /// point. On error nothing changed.
    fn switch_to(&mut self, found: Found) -> io::Result<()> {
        let mut input = Input::new(found.file, found.head.gzip);
        input.skip(self.input.read)?;
        info!(
            from = %self.path.display(),
            to = %found.path.display(),
            stream = %self.lines.stream().name(),
            "the file was truncated or rewritten after being copied: reading on in the copy"
        );
        self.input = input;
        self.id = file_id(&found.meta);
        self.last_seen = (found.meta.len(), found.meta.modified().ok());
        self.path = found.path;
        self.findable = true;
        Ok(())
    }

    /// End the stream: send every complete line read — and, when the file
    /// is read `whole`, its unterminated last line — then count it in the report.
    fn end(mut self, whole: bool, out: &mut Sending) -> (Done, Flow) {
        let flow = if out.tx.is_closed() {
            Flow::Stop
        } else if whole {
            self.lines.finish(out.acks, out.tx)
        } else {
            self.lines.flush_lines(out.acks, out.tx)
        };
        let done = Done { fp: self.fp, name: self.lines.stream().name().clone(), position: self.lines.position() };
        let (records, batches) = self.lines.end();
        out.report.records += records;
        out.report.batches += batches;
        (done, flow)
    }
}

/// The reader to read next: the one whose stream is furthest behind in
/// event time — one whose time is not known yet before any other — and
/// among equals the one read least recently.
fn next_reader(readers: &[Reader], times: &StreamTimes) -> Option<usize> {
    readers
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.drained)
        .min_by_key(|(_, r)| (times(r.stream()), r.last_read))
        .map(|(i, _)| i)
}

/// Where the last checkpoint says the file at `path`, which starts with
/// `head` (fingerprint `fp`), was read up to.
fn checkpointed(streams: &StreamOpener, fp: Fingerprint, head: &[u8], path: &Path) -> Option<Resume> {
    if let Some(r) = streams.resume(&fp.key()) {
        return Some(r);
    }
    // A file fingerprinted while it was short was checkpointed under the hash
    // of what it had then. A short prefix is a weak identity: only taken for
    // the file at the same path.
    let name = stream_name(path);
    (1..fp.len).rev().find_map(|n| streams.resume(&Fingerprint::of(&head[..n]).key()).filter(|r| r.name == name))
}

#[async_trait]
impl Source for FileSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn allowed_lateness(&self) -> Option<Duration> {
        self.config.allowed_lateness
    }

    fn input_bytes(&self) -> Option<u64> {
        if self.config.follow {
            return None;
        }
        let mut total = 0u64;
        for path in expand_paths(&self.config.paths, &self.base_dir).ok()? {
            let mut head = [0u8; 2];
            let mut file = std::fs::File::open(&path).ok()?;
            let n = file.read(&mut head).ok()?;
            if n == 2 && head == GZIP_MAGIC {
                return None; // the records are larger than the file
            }
            total += file.metadata().ok()?.len();
        }
        Some(total)
    }

    async fn run(self: Box<Self>, ctx: SourceContext) -> Result<SourceReport, SourceError> {
        let SourceContext { out, shutdown, limits, drain_timeout, streams, .. } = ctx;
        let name = self.name.clone();
        let io_error = |message: String| SourceError::Io { source_name: name.clone(), message };
        let reading = tokio::task::spawn_blocking(move || self.read(out, shutdown, limits, streams));
        let (mut acks, mut report, failures) = match reading.await {
            Ok(Ok(read)) => read,
            Ok(Err(e)) => return Err(io_error(e.to_string())),
            Err(e) => return Err(io_error(format!("reader thread failed: {e}"))),
        };
        drain(&name, &mut acks, &mut report, drain_timeout).await?;
        if !failures.is_empty() {
            let all: Vec<String> = failures.iter().map(ToString::to_string).collect();
            return Err(io_error(format!("{} file(s) could not be read: {}", failures.len(), all.join("; "))));
        }
        Ok(report)
    }
}

impl FileSource {
    /// Read the files, on a blocking thread. Fails only on a bad pattern; a
    /// file that cannot be read is logged and skipped, and in one-shot mode
    /// returned among the failures (the run then ends with an error).
    fn read(
        self,
        tx: mpsc::Sender<RawBatch>,
        shutdown: CancellationToken,
        limits: BatchLimits,
        streams: StreamOpener,
    ) -> Result<(AckReceiver, SourceReport, Vec<FileError>), FileError> {
        let paths = expand_paths(&self.config.paths, &self.base_dir)?;
        let format: Arc<str> = Arc::from(self.config.format.as_str());
        let opening = Opening { streams: &streams, format: &format, limits };
        let mut acks = AckReceiver::new();
        let mut report = SourceReport::default();
        let mut failures = Vec::new();
        let mut out = Sending { acks: &mut acks, tx: &tx, shutdown: &shutdown, report: &mut report };
        // Stream times as the workers publish them to the registry.
        let registry = streams.registry().clone();
        let published = move |id: StreamId| registry.stream_time(id);
        let times: &StreamTimes = match &self.times {
            Some(t) => &**t,
            None => &published,
        };
        if self.config.follow {
            let poll = Duration::from_millis(self.config.poll_interval_ms.max(10));
            let next_paths = || expand_paths(&self.config.paths, &self.base_dir);
            follow(paths, next_paths, poll, &opening, &mut out, times)?;
        } else {
            read_once(paths, &opening, &mut out, times, &mut failures);
        }
        out.collect_acks();
        Ok((acks, report, failures))
    }
}

/// One-shot mode: every file once, interleaved; see the module docs.
fn read_once(
    paths: Vec<PathBuf>,
    opening: &Opening,
    out: &mut Sending,
    times: &StreamTimes,
    failures: &mut Vec<FileError>,
) {
    let mut queue = identify(paths, failures);
    let mut open: Vec<Reader> = Vec::new();
    let mut reads = 0;
    loop {
        // Open files as slots free up: before the first read, as many as fit.
        while open.len() < MAX_OPEN_FILES {
            let Some(path) = queue.pop_front() else { break };
            match Found::open(path) {
                // Emptied since it was listed: nothing to read.
                Ok(found) if found.head.bytes.is_empty() => {}
                Ok(found) => {
                    let fp = Fingerprint::of(&found.head.bytes);
                    let resume = checkpointed(opening.streams, fp, &found.head.bytes, &found.path);
                    open.push(Reader::open(found, fp, resume, opening));
                }
                Err(e) => {
                    warn!(error = %e, "cannot open the file");
                    failures.push(e);
                }
            }
        }
        if queue.is_empty() {
            // Every file is a stream now. Until then (more files than may be
            // open at once) the source holds the watermark back: the files
            // still queued may hold the oldest records.
            opening.streams.opened();
        }
        if out.stopped() {
            break;
        }
        let Some(i) = next_reader(&open, times) else { break };
        reads += 1;
        open[i].last_read = reads;
        let step = open[i].read_batch(out);
        out.collect_acks();
        match step {
            Ok(Step::Sent) => {}
            Ok(Step::Stop) => break,
            Ok(Step::End) => {
                if open.swap_remove(i).end(true, out).1 == Flow::Stop {
                    break;
                }
            }
            Err(e) => {
                let r = open.swap_remove(i);
                let e = FileError::Io { path: r.path.clone(), source: e };
                warn!(error = %e, "reading the file failed; it is not read further");
                failures.push(e);
                r.end(false, out);
            }
        }
    }
    // Stopped early: end the streams that were open, with what they sent.
    for r in open {
        r.end(false, out);
    }
}

/// One path per file, in path order: paths whose first bytes are the same
/// are one file, read once, from the path that has the most bytes of it.
fn identify(paths: Vec<PathBuf>, failures: &mut Vec<FileError>) -> VecDeque<PathBuf> {
    let mut order = Vec::new();
    let mut by_fp: HashMap<Fingerprint, (PathBuf, u64)> = HashMap::new();
    for path in paths {
        // Only identified here; opened again when read, so no more than
        // MAX_OPEN_FILES descriptors are held at once.
        let found = match Found::open(path) {
            Ok(found) => found,
            Err(e) => {
                warn!(error = %e, "cannot open the file");
                failures.push(e);
                continue;
            }
        };
        if found.head.bytes.is_empty() {
            debug!(path = %found.path.display(), "empty file: nothing to read");
            continue;
        }
        let fp = Fingerprint::of(&found.head.bytes);
        let size = found.meta.len();
        match by_fp.get_mut(&fp) {
            None => {
                order.push(fp);
                by_fp.insert(fp, (found.path, size));
            }
            Some(kept) => {
                let skipped = if size > kept.1 { std::mem::replace(kept, (found.path, size)).0 } else { found.path };
                info!(
                    read = %kept.0.display(),
                    skipped = %skipped.display(),
                    "two files start with the same bytes: read as one file, once"
                );
            }
        }
    }
    order.into_iter().filter_map(|fp| by_fp.remove(&fp)).map(|(path, _)| path).collect()
}

/// Follow mode: poll the patterns and the open files until shutdown.
fn follow(
    first: Vec<PathBuf>,
    next_paths: impl Fn() -> Result<Vec<PathBuf>, FileError>,
    poll: Duration,
    opening: &Opening,
    out: &mut Sending,
    times: &StreamTimes,
) -> Result<(), FileError> {
    let mut files = Followed::default();
    let mut paths = first;
    loop {
        let copies = files.scan(paths, opening);
        // The files there at the start are streams now; files that appear
        // later start from their own first batch.
        opening.streams.opened();
        files.check_displaced(copies);
        if files.read_round(out, times) == Flow::Stop || files.age_displaced(out) == Flow::Stop {
            break;
        }
        out.collect_acks();
        if out.stopped() {
            break;
        }
        std::thread::sleep(poll);
        paths = match next_paths() {
            Ok(paths) => paths,
            Err(e) => {
                files.close(out);
                return Err(e);
            }
        };
    }
    files.close(out);
    Ok(())
}

/// Every file a following source knows of.
#[derive(Default)]
struct Followed {
    readers: Vec<Reader>,
    /// Truncated or rewritten files waiting for a copy of themselves, and for how many polls.
    displaced: Vec<(Reader, u32)>,
    /// Files that ended.
    done: Vec<Done>,
    /// Paths that hold a file already read (a compressed copy), as they were then.
    known: HashMap<PathBuf, Stamp>,
    /// Short new files waiting to be fingerprinted, and for how many polls they stayed unchanged.
    pending: HashMap<PathBuf, (Stamp, u32)>,
    /// Paths whose error was logged (once until they can be read).
    warned: HashSet<PathBuf>,
    reads: u64,
}

impl Followed {
    /// Look at every path the patterns match: mark the open files still
    /// matched, open the new ones. Returns the files that start like an open
    /// file but are not it: copies, should that file turn out truncated.
    fn scan(&mut self, paths: Vec<PathBuf>, opening: &Opening) -> Vec<Found> {
        for r in &mut self.readers {
            r.findable = false;
        }
        let mut copies = Vec::new();
        let mut seen = HashSet::new();
        for path in paths {
            // Gone since the patterns listed it: nothing to do.
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            seen.insert(path.clone());
            let stamp = Stamp::of(&meta);
            if let Some(r) = self.readers.iter_mut().find(|r| r.holds(&path, &stamp)) {
                r.seen_at(path);
                continue;
            }
            if self.known.get(&path) == Some(&stamp) {
                continue;
            }
            match Found::open(path.clone()) {
                Ok(found) => {
                    self.warned.remove(&path);
                    if !found.head.bytes.is_empty() {
                        self.place(found, &mut copies, opening);
                    }
                }
                Err(e) => {
                    if self.warned.insert(path) {
                        warn!(error = %e, "cannot read the start of the file; trying again at the next poll");
                    }
                }
            }
        }
        self.known.retain(|p, _| seen.contains(p));
        self.pending.retain(|p, _| seen.contains(p));
        copies
    }

    /// Decide what a file no open reader holds is, by its first bytes.
    fn place(&mut self, found: Found, copies: &mut Vec<Found>, opening: &Opening) {
        let head = &found.head.bytes;
        if self.readers.iter().any(|r| r.fp.matches(head)) {
            copies.push(found);
            return;
        }
        if let Some(i) = self.displaced.iter().position(|(r, _)| r.fp.matches(head)) {
            match self.displaced[i].0.switch_to(found) {
                Ok(()) => self.readers.push(self.displaced.swap_remove(i).0),
                Err(e) => warn!(error = %e, "cannot read on in the copy of a truncated file"),
            }
            return;
        }
        if let Some(i) = self.done.iter().position(|d| d.fp.matches(head)) {
            if found.head.gzip || found.meta.len() <= self.done[i].position.byte {
                // A file already read, back or compressed: nothing new in it.
                self.known.insert(found.path, Stamp::of(&found.meta));
                return;
            }
            // A file that ended shows up with more: read the rest, under its stream's name.
            let d = self.done.swap_remove(i);
            let resume = Resume { name: d.name.to_string(), position: d.position, stream_time: None };
            self.readers.push(Reader::open(found, d.fp, Some(resume), opening));
            return;
        }
        if found.head.short() {
            // Wait for more bytes, or for the file to stop changing, before fixing its identity.
            let stamp = Stamp::of(&found.meta);
            let polls = match self.pending.get(&found.path) {
                Some((s, polls)) if *s == stamp => polls + 1,
                _ => 0,
            };
            if polls < STABLE_POLLS {
                self.pending.insert(found.path, (stamp, polls));
                return;
            }
            self.pending.remove(&found.path);
        }
        let fp = Fingerprint::of(head);
        let resume = checkpointed(opening.streams, fp, head, &found.path);
        self.readers.push(Reader::open(found, fp, resume, opening));
    }

    /// Move the open files that were truncated or rewritten to their copy,
    /// or set them aside to wait for one.
    fn check_displaced(&mut self, mut copies: Vec<Found>) {
        let mut i = 0;
        while i < self.readers.len() {
            match self.readers[i].displaced() {
                Ok(false) => {
                    i += 1;
                    continue;
                }
                Ok(true) => {}
                Err(e) => {
                    warn!(path = %self.readers[i].path.display(), error = %e, "cannot look at the open file");
                    i += 1;
                    continue;
                }
            }
            let r = &mut self.readers[i];
            if let Some(j) = copies.iter().position(|c| r.fp.matches(&c.head.bytes)) {
                match r.switch_to(copies.swap_remove(j)) {
                    Ok(()) => {
                        i += 1;
                        continue;
                    }
                    Err(e) => warn!(error = %e, "cannot read on in the copy of a truncated file"),
                }
            }
            info!(path = %r.path.display(), "the file was truncated or rewritten; waiting for a copy of it");
            let r = self.readers.swap_remove(i);
            r.lines.stream().set_waiting(true);
            self.displaced.push((r, 0));
        }
    }

    /// Read every open file up to its current end, a batch at a time,
    /// furthest-behind stream first.
    fn read_round(&mut self, out: &mut Sending, times: &StreamTimes) -> Flow {
        for r in &mut self.readers {
            r.drained = false;
        }
        let started = Instant::now();
        while started.elapsed() < ROUND_BUDGET {
            let Some(i) = next_reader(&self.readers, times) else { break };
            self.reads += 1;
            let r = &mut self.readers[i];
            r.last_read = self.reads;
            let step = r.read_batch(out);
            out.collect_acks();
            let ended = match step {
                Ok(Step::Sent) => continue,
                Ok(Step::Stop) => return Flow::Stop,
                Ok(Step::End) if r.findable && !r.is_gzip() => {
                    // Caught up; more may come. Send what is batched and say the stream waits.
                    r.drained = true;
                    if r.lines.flush(out.acks, out.tx) == Flow::Stop {
                        return Flow::Stop;
                    }
                    r.lines.stream().set_waiting(true);
                    continue;
                }
                // Rotated away (no pattern matches it any more) or gzip: read to its end, so it ends.
                Ok(Step::End) => true,
                Err(e) => {
                    warn!(path = %r.path.display(), error = %e, "reading the file failed; it is not read further");
                    false
                }
            };
            let r = self.readers.swap_remove(i);
            if r.is_gzip() && r.findable {
                if let Ok(meta) = std::fs::metadata(&r.path) {
                    self.known.insert(r.path.clone(), Stamp::of(&meta));
                }
            }
            let (done, flow) = r.end(ended, out);
            self.done.push(done);
            if flow == Flow::Stop {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    /// End the truncated files that found no copy in time.
    fn age_displaced(&mut self, out: &mut Sending) -> Flow {
        let mut flow = Flow::Continue;
        for (_, polls) in &mut self.displaced {
            *polls += 1;
        }
        while let Some(i) = self.displaced.iter().position(|(_, polls)| *polls > DISPLACED_POLLS) {
            let (r, _) = self.displaced.swap_remove(i);
            info!(path = %r.path.display(), "no copy of the truncated file appeared; its stream ends");
            // What was not read before the truncation is gone with it, and so is a partial last line.
            let (done, f) = r.end(false, out);
            self.done.push(done);
            if f == Flow::Stop {
                flow = Flow::Stop;
            }
        }
        flow
    }

    /// Shutdown: send what is batched and end every stream. An unterminated
    /// last line is not sent: the next run reads it whole.
    fn close(self, out: &mut Sending) {
        for r in self.readers.into_iter().chain(self.displaced.into_iter().map(|(r, _)| r)) {
            r.end(false, out);
        }
    }
}

/// Wait for every outstanding acknowledgement, up to `timeout`.
pub(crate) async fn drain(
    name: &str,
    acks: &mut AckReceiver,
    report: &mut SourceReport,
    timeout: Duration,
) -> Result<(), SourceError> {
    let deadline = tokio::time::Instant::now() + timeout;
    while acks.outstanding() > 0 {
        match tokio::time::timeout_at(deadline, acks.recv()).await {
            Ok(Some(r)) => count(report, r.status),
            Ok(None) => break,
            Err(_) => {
                return Err(SourceError::DrainTimeout {
                    source_name: name.to_string(),
                    outstanding: acks.outstanding(),
                })
            }
        }
    }
    Ok(())
}

fn count(report: &mut SourceReport, status: BatchStatus) {
    match status {
        BatchStatus::Delivered => report.delivered += 1,
        BatchStatus::Failed => report.failed += 1,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;
    use crate::event_time::{StreamRegistry, StreamState};

    /// A record the source sent, with what came with it.
    #[derive(Debug, Clone)]
    struct Got {
        source: String,
        line: u64,
        text: String,
        headers: Vec<String>,
        stream: StreamId,
        /// Streams registered when the batch arrived.
        registered: usize,
    }

    struct Run {
        registry: Arc<StreamRegistry>,
        shutdown: CancellationToken,
        got: Arc<Mutex<Vec<Got>>>,
        source: tokio::task::JoinHandle<Result<SourceReport, SourceError>>,
        collector: tokio::task::JoinHandle<()>,
    }

    fn config(paths: &[&str], follow: bool) -> FileSourceConfig {
        FileSourceConfig {
            paths: paths.iter().map(|p| p.to_string()).collect(),
            format: "x".into(),
            follow,
            poll_interval_ms: 10,
            allowed_lateness: None,
        }
    }

    fn registry(resume: Vec<(String, Resume)>) -> Arc<StreamRegistry> {
        let registry = StreamRegistry::new(Duration::from_secs(60), Duration::from_secs(30));
        registry.set_resume(resume.into_iter().collect());
        registry
    }

    /// The file streams registered (not the source's hold).
    fn files(registry: &StreamRegistry) -> Vec<StreamState> {
        registry.snapshot().into_iter().map(|(_, s)| s).filter(|s| !s.hold).collect()
    }

    fn batches_of(max_records: usize) -> BatchLimits {
        BatchLimits { max_records, ..BatchLimits::default() }
    }

    /// Run a file source over `dir`; batches are recorded and acknowledged as they come.
    fn start(dir: &Path, config: FileSourceConfig, registry: Arc<StreamRegistry>, limits: BatchLimits) -> Run {
        start_with(FileSource::new("test", config, dir), registry, limits)
    }

    fn start_with(source: FileSource, registry: Arc<StreamRegistry>, limits: BatchLimits) -> Run {
        let (tx, mut rx) = mpsc::channel::<RawBatch>(4);
        let shutdown = CancellationToken::new();
        let ctx = SourceContext {
            out: tx,
            shutdown: shutdown.clone(),
            limits,
            drain_timeout: Duration::from_secs(5),
            flush_sinks: Arc::new(tokio::sync::Notify::new()),
            streams: registry.held_opener("test", None),
        };
        let source = tokio::spawn(Box::new(source).run(ctx));
        let got = Arc::new(Mutex::new(Vec::new()));
        let collector = {
            let (got, registry) = (got.clone(), registry.clone());
            tokio::spawn(async move {
                while let Some(b) = rx.recv().await {
                    let registered = files(&registry).len();
                    let headers: Vec<String> =
                        b.headers.iter().map(|h| String::from_utf8_lossy(h).into_owned()).collect();
                    let mut got = got.lock().unwrap();
                    for r in &b.records {
                        got.push(Got {
                            source: b.source.to_string(),
                            line: r.offset,
                            text: String::from_utf8_lossy(&r.data).into_owned(),
                            headers: headers.clone(),
                            stream: b.pos.stream,
                            registered,
                        });
                    }
                }
            })
        };
        Run { registry, shutdown, got, source, collector }
    }

    impl Run {
        fn got(&self) -> Vec<Got> {
            self.got.lock().unwrap().clone()
        }

        /// Wait until `n` records arrived (following).
        async fn wait_for(&self, n: usize) -> Vec<Got> {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let got = self.got();
                if got.len() >= n {
                    return got;
                }
                assert!(Instant::now() < deadline, "waited for {n} records, got {got:#?}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }

        /// Let a few polls pass.
        async fn polls(&self, n: u32) {
            tokio::time::sleep(Duration::from_millis(10 * u64::from(n) + 20)).await;
        }

        /// Stop (following); the report and every record.
        async fn end(self) -> (Result<SourceReport, SourceError>, Vec<Got>) {
            self.shutdown.cancel();
            self.outcome().await
        }

        /// Wait for the end (one-shot); the report and every record.
        async fn outcome(self) -> (Result<SourceReport, SourceError>, Vec<Got>) {
            let report = self.source.await.unwrap();
            self.collector.await.unwrap();
            let got = self.got.lock().unwrap().clone();
            (report, got)
        }

        async fn finish(self) -> (SourceReport, Vec<Got>) {
            let (report, got) = self.outcome().await;
            (report.expect("the source ends cleanly"), got)
        }
    }

    /// Lines `<tag><n>` padded to about 100 bytes, so three of them pass the fingerprint's 256 bytes.
    fn lines(tag: &str, numbers: std::ops::RangeInclusive<u32>) -> String {
        numbers.map(|n| format!("{tag}{n} {}\n", ".".repeat(96))).collect()
    }

    fn texts(got: &[Got]) -> Vec<String> {
        got.iter().map(|g| g.text.split(' ').next().unwrap_or_default().to_string()).collect()
    }

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new().append(true).create(true).open(path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    fn gzip(text: &str) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        gz.finish().unwrap()
    }

    fn tempdir() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().canonicalize().unwrap();
        (dir, path)
    }

    /// Every text once, in any order.
    fn assert_once(got: &[Got], expected: &[&str]) {
        let mut seen = texts(got);
        seen.sort();
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(seen, want, "{got:#?}");
    }

    #[test]
    fn fingerprints_are_the_hash_of_the_first_256_bytes() {
        let a = vec![b'a'; 300];
        let mut b = a.clone();
        b[299] = b'b';
        let fp = Fingerprint::of(&a);
        assert_eq!(fp, Fingerprint::of(&b), "bytes after the first 256 do not count");
        assert_eq!(fp.key(), format!("file:{:016x}", xxh3_64(&a[..256])));
        assert_eq!(fp.key().len(), "file:".len() + 16);
        assert!(fp.matches(&b));
        assert!(!fp.matches(&a[..200]), "a file shorter than the fingerprint is not the file");
        let short = Fingerprint::of(b"hello\n");
        assert!(short.matches(b"hello\nworld\n"), "a short fingerprint is of the start of the file");
        assert!(!short.matches(b"hallo\n"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_shot_registers_every_file_before_reading_and_interleaves_them() {
        let (_tmp, dir) = tempdir();
        for tag in ["a", "b", "c"] {
            std::fs::write(dir.join(format!("{tag}.log")), lines(tag, 1..=4)).unwrap();
        }
        std::fs::write(dir.join("empty.log"), "").unwrap();
        let run = start(&dir, config(&["*.log"], false), registry(vec![]), batches_of(2));
        let registry = run.registry.clone();
        let (report, got) = run.finish().await;
        assert_eq!(
            texts(&got),
            ["a1", "a2", "b1", "b2", "c1", "c2", "a3", "a4", "b3", "b4", "c3", "c4"],
            "a batch from each file in turn"
        );
        assert!(got.iter().all(|g| g.registered == 3), "all three files were registered before the first batch");
        assert_eq!((report.records, report.batches, report.delivered), (12, 6, 6));
        let streams = files(&registry);
        assert_eq!(streams.len(), 3, "an empty file has no stream");
        assert!(streams.iter().all(|s| s.finished), "every stream ended");
        let a = streams.iter().find(|s| s.name.ends_with("/a.log")).unwrap();
        let content = lines("a", 1..=4);
        assert_eq!(&*a.key, Fingerprint::of(content.as_bytes()).key());
        assert_eq!(&*a.name, format!("file:{}", dir.join("a.log").display()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_shot_reads_the_stream_furthest_behind_first() {
        let (_tmp, dir) = tempdir();
        for tag in ["a", "b", "c"] {
            std::fs::write(dir.join(format!("{tag}.log")), lines(tag, 1..=4)).unwrap();
        }
        let registry = registry(vec![]);
        let times: Arc<StreamTimes> = {
            let registry = registry.clone();
            Arc::new(move |id| {
                let name = registry.get(id)?.name;
                match name.rsplit('/').next() {
                    Some("a.log") => Some(300),
                    Some("b.log") => Some(100),
                    _ => None,
                }
            })
        };
        let source = FileSource::new("test", config(&["*.log"], false), &dir).with_stream_times(times);
        let (_, got) = start_with(source, registry, batches_of(2)).finish().await;
        assert_eq!(
            texts(&got),
            ["c1", "c2", "c3", "c4", "b1", "b2", "b3", "b4", "a1", "a2", "a3", "a4"],
            "unknown time first, then the lowest"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_shot_keeps_at_most_64_files_open() {
        let (_tmp, dir) = tempdir();
        for n in 0..70 {
            std::fs::write(dir.join(format!("{n:02}.log")), format!("file{n:02}\n")).unwrap();
        }
        let registry = registry(vec![]);
        // Called before every read (once per open file): what is registered
        // and open then, and whether the source still holds the watermark back.
        let (first_read, most_open) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let holds = Arc::new(Mutex::new(Vec::new()));
        let times: Arc<StreamTimes> = {
            let (registry, first_read, most_open) = (registry.clone(), first_read.clone(), most_open.clone());
            let holds = holds.clone();
            Arc::new(move |_| {
                let streams = files(&registry);
                let _ = first_read.compare_exchange(0, streams.len(), Ordering::Relaxed, Ordering::Relaxed);
                most_open.fetch_max(streams.iter().filter(|s| !s.finished).count(), Ordering::Relaxed);
                let held = registry.snapshot().iter().any(|(_, s)| s.hold && !s.finished);
                holds.lock().unwrap().push(held);
                None
            })
        };
        let source = FileSource::new("test", config(&["*.log"], false), &dir).with_stream_times(times);
        let (report, got) = start_with(source, registry.clone(), batches_of(8192)).finish().await;
        assert_eq!(report.records, 70);
        assert_eq!(got.len(), 70);
        assert_eq!(most_open.load(Ordering::Relaxed), MAX_OPEN_FILES);
        assert_eq!(
            first_read.load(Ordering::Relaxed),
            MAX_OPEN_FILES,
            "the first 64 were registered before any was read"
        );
        assert_eq!(files(&registry).len(), 70);
        // While files wait for a slot, the source holds the watermark back
        // (they may hold the oldest records); once all are open it does not.
        let holds = holds.lock().unwrap().clone();
        assert!(holds[0], "held while 6 files wait to be opened");
        assert!(!holds[holds.len() - 1], "released once the last was opened");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn files_that_start_with_the_same_bytes_are_read_once() {
        let (_tmp, dir) = tempdir();
        std::fs::write(dir.join("fw.log.1"), lines("a", 1..=3)).unwrap();
        std::fs::write(dir.join("fw.log"), lines("a", 1..=4)).unwrap();
        std::fs::write(dir.join("fw.log.2.gz"), gzip(&lines("a", 1..=3))).unwrap();
        let run = start(&dir, config(&["fw.log*"], false), registry(vec![]), batches_of(100));
        let registry = run.registry.clone();
        let (_, got) = run.finish().await;
        assert_once(&got, &["a1", "a2", "a3", "a4"]);
        assert!(got[0].source.ends_with("/fw.log"), "read from the file with the most of it");
        assert_eq!(files(&registry).len(), 1);
    }

    /// The checkpoint of `content` read through line `record`.
    fn checkpoint(content: &str, record: usize, name: &str) -> (String, Resume) {
        let byte: usize = content.split_inclusive('\n').take(record).map(str::len).sum();
        let position = Position { record: record as u64, byte: byte as u64 };
        (Fingerprint::of(content.as_bytes()).key(), Resume { name: name.into(), position, stream_time: Some(5) })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_checkpointed_file_resumes_after_its_last_line_under_its_name() {
        let (_tmp, dir) = tempdir();
        let content = lines("a", 1..=6);
        std::fs::write(dir.join("renamed.log"), &content).unwrap();
        let run = start(
            &dir,
            config(&["*.log"], false),
            registry(vec![checkpoint(&content, 3, "file:/var/log/fw.log")]),
            batches_of(100),
        );
        let (report, got) = run.finish().await;
        assert_eq!(texts(&got), ["a4", "a5", "a6"]);
        assert_eq!(got.iter().map(|g| g.line).collect::<Vec<_>>(), [4, 5, 6], "line numbers continue");
        assert!(got.iter().all(|g| g.source == "file:/var/log/fw.log"), "under the checkpointed name");
        assert_eq!(report.records, 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unchanged_checkpointed_file_reads_nothing() {
        let (_tmp, dir) = tempdir();
        let content = lines("a", 1..=3);
        std::fs::write(dir.join("a.log"), &content).unwrap();
        let run =
            start(&dir, config(&["*.log"], false), registry(vec![checkpoint(&content, 3, "file:a")]), batches_of(100));
        let registry = run.registry.clone();
        let (report, got) = run.finish().await;
        assert!(got.is_empty(), "{got:?}");
        assert_eq!(report.records, 0);
        assert!(files(&registry).iter().all(|s| s.finished && s.initial_time == Some(5)));
    }

    const ZEEK: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n\
                        #open\t2026-11-24-10-00-00\n#fields\tts\tuid\tid.orig_h\n#types\ttime\tstring\taddr\n";

    fn zeek_records(numbers: std::ops::RangeInclusive<u32>) -> String {
        numbers.map(|n| format!("1795512{n:03}.0\tC{n}\t10.0.0.{n}\n")).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn resuming_a_zeek_file_keeps_its_headers() {
        let (_tmp, dir) = tempdir();
        let content = format!("{ZEEK}{}", zeek_records(1..=4));
        std::fs::write(dir.join("conn.log"), &content).unwrap();
        // Read through the second record: the 8 header lines and 2 records.
        let run = start(
            &dir,
            config(&["conn.log"], false),
            registry(vec![checkpoint(&content, 10, "file:conn")]),
            batches_of(100),
        );
        let (_, got) = run.finish().await;
        assert_eq!(got.iter().map(|g| g.line).collect::<Vec<_>>(), [11, 12]);
        assert_eq!(got[0].headers, ZEEK.lines().collect::<Vec<_>>(), "the headers of a continuous read");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn resuming_a_gzip_file_skips_what_was_read() {
        let (_tmp, dir) = tempdir();
        let content = format!("{ZEEK}{}", zeek_records(1..=4));
        std::fs::write(dir.join("conn.log.gz"), gzip(&content)).unwrap();
        let run = start(
            &dir,
            config(&["*.gz"], false),
            registry(vec![checkpoint(&content, 11, "file:conn")]),
            batches_of(100),
        );
        let (_, got) = run.finish().await;
        assert_eq!(got.iter().map(|g| (g.line, g.source.as_str())).collect::<Vec<_>>(), [(12, "file:conn")]);
        assert!(got[0].headers.iter().any(|h| h.starts_with("#fields")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_checkpointed_while_short_is_found_after_it_grew() {
        let (_tmp, dir) = tempdir();
        let path = dir.join("small.log");
        let first = "tiny\n";
        let (key, mut resume) = checkpoint(first, 1, "");
        resume.name = stream_name(&path);
        std::fs::write(&path, format!("{first}{}", lines("a", 1..=3))).unwrap();
        // The same content at another path is not taken for it: a short prefix is a weak identity.
        std::fs::write(dir.join("other.log"), format!("{first}{}", lines("b", 1..=3))).unwrap();
        let run = start(&dir, config(&["*.log"], false), registry(vec![(key, resume)]), batches_of(100));
        let (_, got) = run.finish().await;
        let small: Vec<(u64, String)> =
            got.iter().filter(|g| g.source.ends_with("small.log")).map(|g| (g.line, g.text[..2].to_string())).collect();
        assert_eq!(small, [(2, "a1".into()), (3, "a2".into()), (4, "a3".into())]);
        assert_eq!(got.iter().filter(|g| g.source.ends_with("other.log")).count(), 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_shorter_than_its_checkpoint_is_read_from_its_start() {
        let (_tmp, dir) = tempdir();
        let content = lines("a", 1..=6);
        let (key, resume) = checkpoint(&content, 5, "file:old");
        std::fs::write(dir.join("a.log"), lines("a", 1..=3)).unwrap();
        let (_, got) =
            start(&dir, config(&["a.log"], false), registry(vec![(key, resume)]), batches_of(100)).finish().await;
        assert_eq!(texts(&got), ["a1", "a2", "a3"]);
        assert!(got[0].source.ends_with("/a.log"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_gone_before_it_is_read_ends_a_one_shot_run_with_an_error_naming_it() {
        let (_tmp, dir) = tempdir();
        for n in 0..=MAX_OPEN_FILES {
            std::fs::write(dir.join(format!("{n:02}.log")), format!("file{n:02}\n")).unwrap();
        }
        // The last file waits for a free slot; it is deleted before the first read.
        let last = dir.join(format!("{MAX_OPEN_FILES:02}.log"));
        let times: Arc<StreamTimes> = Arc::new(move |_| {
            let _ = std::fs::remove_file(&last);
            None
        });
        let source = FileSource::new("test", config(&["*.log"], false), &dir).with_stream_times(times);
        let (report, got) = start_with(source, registry(vec![]), batches_of(100)).outcome().await;
        assert_eq!(got.len(), MAX_OPEN_FILES, "the other files are read");
        let err = report.unwrap_err().to_string();
        assert!(
            err.contains("1 file(s) could not be read") && err.contains(&format!("/{MAX_OPEN_FILES:02}.log")),
            "{err}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bad_pattern_is_an_error() {
        let (_tmp, dir) = tempdir();
        let (report, _) = start(&dir, config(&["[.log"], false), registry(vec![]), batches_of(100)).outcome().await;
        assert!(report.unwrap_err().to_string().contains("invalid glob pattern `[.log`"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn following_a_rotation_with_a_reused_name_reads_every_line_once() {
        let (_tmp, dir) = tempdir();
        let log = dir.join("fw.log");
        std::fs::write(&log, lines("a", 1..=3)).unwrap();
        let run = start(&dir, config(&["fw.log*"], true), registry(vec![]), batches_of(100));
        run.wait_for(3).await;
        append(&log, &lines("a", 4..=5));
        std::fs::rename(&log, dir.join("fw.log.1")).unwrap();
        std::fs::write(&log, lines("b", 1..=3)).unwrap();
        run.wait_for(8).await;
        run.polls(5).await;
        let (report, got) = run.end().await;
        assert_once(&got, &["a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3"]);
        let a: Vec<&Got> = got.iter().filter(|g| g.text.starts_with('a')).collect();
        assert!(a.iter().all(|g| g.stream == a[0].stream && g.source == stream_name(&log)), "{a:#?}");
        assert_eq!(a.iter().map(|g| g.line).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        let b: Vec<&Got> = got.iter().filter(|g| g.text.starts_with('b')).collect();
        assert!(b.iter().all(|g| g.stream != a[0].stream));
        assert_eq!(b.iter().map(|g| g.line).collect::<Vec<_>>(), [1, 2, 3], "the new file is a new stream");
        assert_eq!(report.unwrap().records, 8);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn copytruncate_loses_nothing_and_duplicates_nothing() {
        let (_tmp, dir) = tempdir();
        let log = dir.join("fw.log");
        std::fs::write(&log, lines("a", 1..=3)).unwrap();
        let run = start(&dir, config(&["fw.log*"], true), registry(vec![]), batches_of(100));
        run.wait_for(3).await;
        // Copy, truncate, write again: shorter than before.
        append(&log, &lines("a", 4..=5));
        std::fs::copy(&log, dir.join("fw.log.1")).unwrap();
        std::fs::write(&log, lines("b", 1..=3)).unwrap();
        run.wait_for(8).await;
        // Again, the earlier copy rotated on, and the file rewritten longer than before.
        append(&log, &lines("b", 4..=4));
        std::fs::rename(dir.join("fw.log.1"), dir.join("fw.log.2")).unwrap();
        std::fs::copy(&log, dir.join("fw.log.1")).unwrap();
        std::fs::write(&log, lines("c", 1..=9)).unwrap();
        run.wait_for(18).await;
        run.polls(2 * DISPLACED_POLLS + 5).await;
        let (_, got) = run.end().await;
        let expected: Vec<String> = (1..=5)
            .map(|n| format!("a{n}"))
            .chain((1..=4).map(|n| format!("b{n}")))
            .chain((1..=9).map(|n| format!("c{n}")))
            .collect();
        assert_once(&got, &expected.iter().map(String::as_str).collect::<Vec<_>>());
        let a4 = got.iter().find(|g| g.text.starts_with("a4")).unwrap();
        assert_eq!((a4.line, a4.source.as_str()), (4, stream_name(&log).as_str()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_renamed_out_of_the_patterns_is_read_to_its_end_and_ends() {
        let (_tmp, dir) = tempdir();
        let log = dir.join("app.log");
        std::fs::write(&log, lines("a", 1..=3)).unwrap();
        let run = start(&dir, config(&["*.log"], true), registry(vec![]), batches_of(100));
        let stream = run.wait_for(3).await[0].stream;
        let mut writer = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        writer.write_all(lines("a", 4..=4).as_bytes()).unwrap();
        std::fs::rename(&log, dir.join("app.log.old")).unwrap();
        writer.write_all(b"a5 the last line, unterminated").unwrap();
        drop(writer);
        run.wait_for(5).await;
        run.polls(3).await;
        assert!(run.registry.get(stream).unwrap().finished, "read to its end, the stream ended");
        let (_, got) = run.end().await;
        assert_once(&got, &["a1", "a2", "a3", "a4", "a5"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_followed_file_at_its_end_is_waiting() {
        let (_tmp, dir) = tempdir();
        let log = dir.join("a.log");
        std::fs::write(&log, lines("a", 1..=3)).unwrap();
        let run = start(&dir, config(&["a.log"], true), registry(vec![]), batches_of(100));
        let stream = run.wait_for(3).await[0].stream;
        run.polls(2).await;
        let state = run.registry.get(stream).unwrap();
        assert!(state.waiting_since.is_some() && !state.finished, "{state:?}");
        append(&log, "a4 half a line");
        run.polls(3).await;
        assert_eq!(run.got().len(), 3, "an unterminated line waits for its end");
        append(&log, " and its end\n");
        let got = run.wait_for(4).await;
        assert_eq!(got[3].text, "a4 half a line and its end");
        let (_, got) = run.end().await;
        assert_eq!(got.len(), 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_truncated_file_without_a_copy_starts_over_as_a_new_stream() {
        let (_tmp, dir) = tempdir();
        let log = dir.join("a.log");
        std::fs::write(&log, lines("a", 1..=3)).unwrap();
        let run = start(&dir, config(&["a.log"], true), registry(vec![]), batches_of(100));
        let old = run.wait_for(3).await[0].stream;
        std::fs::write(&log, lines("b", 1..=3)).unwrap();
        let got = run.wait_for(6).await;
        run.polls(DISPLACED_POLLS + 3).await;
        assert!(run.registry.get(old).unwrap().finished, "the truncated file's stream ended");
        let b: Vec<&Got> = got.iter().filter(|g| g.text.starts_with('b')).collect();
        assert!(b.iter().all(|g| g.stream != old));
        assert_eq!(b.iter().map(|g| g.line).collect::<Vec<_>>(), [1, 2, 3]);
        let (_, got) = run.end().await;
        assert_eq!(got.len(), 6);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_short_file_is_read_once_it_stops_changing() {
        let (_tmp, dir) = tempdir();
        std::fs::write(dir.join("tiny.log"), "tiny\n").unwrap();
        let run = start(&dir, config(&["*.log"], true), registry(vec![]), batches_of(100));
        let got = run.wait_for(1).await;
        let state = run.registry.get(got[0].stream).unwrap();
        assert_eq!(&*state.key, Fingerprint::of(b"tiny\n").key());
        run.end().await.0.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_compressed_copy_of_a_file_already_read_is_not_read_again() {
        let (_tmp, dir) = tempdir();
        let log = dir.join("fw.log");
        std::fs::write(&log, lines("a", 1..=3)).unwrap();
        let run = start(&dir, config(&["fw.log*"], true), registry(vec![]), batches_of(100));
        run.wait_for(3).await;
        // Rotated and compressed: the plain file goes, its gzip copy comes.
        std::fs::write(dir.join("fw.log.1.gz"), gzip(&lines("a", 1..=3))).unwrap();
        std::fs::remove_file(&log).unwrap();
        // A gzip file that was not read before is read once.
        std::fs::write(dir.join("fw.log.2.gz"), gzip(&lines("z", 1..=2))).unwrap();
        run.wait_for(5).await;
        run.polls(5).await;
        let (_, got) = run.end().await;
        assert_once(&got, &["a1", "a2", "a3", "z1", "z2"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_gzip_bomb_is_not_read_past_its_inflation_limit() {
        let (_tmp, dir) = tempdir();
        // Three lines, then 1 GiB of zeros without a line end in 1 MB (a
        // 64 MiB member, 16 times), then a line the limit keeps unread.
        let mut zeros = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        for _ in 0..64 {
            zeros.write_all(&[0; 1 << 20]).unwrap();
        }
        let zeros = zeros.finish().unwrap();
        let mut bomb = gzip(&lines("a", 1..=3));
        for _ in 0..16 {
            bomb.extend_from_slice(&zeros);
        }
        bomb.extend(gzip(&format!("\n{}", lines("z", 1..=1))));
        std::fs::write(dir.join("bomb.log.gz"), &bomb).unwrap();
        std::fs::write(dir.join("good.log"), lines("b", 1..=3)).unwrap();
        let run = start(&dir, config(&["*"], false), registry(vec![]), BatchLimits::default());
        let (report, got) = run.outcome().await;
        let err = report.expect_err("the bomb is a file that could not be read").to_string();
        assert!(err.contains("bomb.log.gz: gzip content inflates to more than 200 times"), "{err}");
        let (pieces, lines): (Vec<Got>, Vec<Got>) = got.into_iter().partition(|g| g.text.starts_with('\0'));
        assert_once(&lines, &["a1", "a2", "a3", "b1", "b2", "b3"]);
        // Inflating stopped at 200 × the compressed bytes read (a buffer
        // ahead of what was inflated) + 16 MiB: some 30 of the 1,024 MiB.
        assert!((16..=40).contains(&pieces.len()), "{} pieces of 1 MiB read", pieces.len());
        assert!(pieces.iter().all(|p| p.text.len() == 1 << 20 && p.source.ends_with("bomb.log.gz")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn following_resumes_from_the_checkpoint_and_waits_at_the_end() {
        let (_tmp, dir) = tempdir();
        let content = lines("a", 1..=3);
        std::fs::write(dir.join("a.log"), &content).unwrap();
        let run =
            start(&dir, config(&["a.log"], true), registry(vec![checkpoint(&content, 3, "file:a")]), batches_of(100));
        run.polls(3).await;
        assert!(run.got().is_empty());
        append(&dir.join("a.log"), &lines("a", 4..=4));
        let got = run.wait_for(1).await;
        assert_eq!((got[0].line, got[0].source.as_str()), (4, "file:a"));
        run.end().await.0.unwrap();
    }
}
