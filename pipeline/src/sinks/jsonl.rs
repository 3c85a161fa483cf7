//! JSON-lines sink: one JSON object per line, to stdout or a file (appended).
//! Used twice: for findings (the OCSF-aligned finding row) and for the
//! dead-letter output (raw record, origin, reason).
//!
//! A write goes to the OS before `write` returns; for files the batch's
//! acknowledgement is held until `flush` has `fsync`ed it. Stdout is
//! considered durable once flushed.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{Output, Sink, SinkError};
use crate::ack::AckToken;

/// What a JSON-lines sink takes from each output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Findings.
    Findings,
    /// Dead-lettered records.
    DeadLetters,
}

enum Target {
    Stdout,
    File { path: PathBuf, file: BufWriter<File> },
}

/// A JSON-lines sink.
pub struct JsonLinesSink {
    name: String,
    stream: Stream,
    target: Target,
    dirty: bool,
    /// Acknowledgements of batches written but not yet fsynced.
    pending: Vec<AckToken>,
}

impl JsonLinesSink {
    /// Write `stream` to `path` (`-` for stdout), creating parent directories.
    pub fn open(name: impl Into<String>, stream: Stream, path: &Path) -> Result<Self, SinkError> {
        let name = name.into();
        let target = if path.as_os_str() == "-" {
            Target::Stdout
        } else {
            let io = |source| SinkError::Io { sink: name.clone(), path: path.display().to_string(), source };
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            let file = OpenOptions::new().create(true).append(true).open(path).map_err(io)?;
            Target::File { path: path.to_path_buf(), file: BufWriter::new(file) }
        };
        Ok(JsonLinesSink { name, stream, target, dirty: false, pending: Vec::new() })
    }

    fn lines(&self, output: &Output) -> Result<Vec<u8>, SinkError> {
        let mut buf = Vec::new();
        let enc = |e: serde_json::Error| SinkError::Encode { sink: self.name.clone(), message: e.to_string() };
        match self.stream {
            Stream::Findings => {
                for f in &output.findings {
                    serde_json::to_writer(&mut buf, f).map_err(enc)?;
                    buf.push(b'\n');
                }
            }
            Stream::DeadLetters => {
                for d in &output.dead_letters {
                    serde_json::to_writer(&mut buf, d).map_err(enc)?;
                    buf.push(b'\n');
                }
            }
        }
        Ok(buf)
    }
}

impl Sink for JsonLinesSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "jsonl"
    }

    fn write(&mut self, output: &Output) -> Result<u64, SinkError> {
        let n = match self.stream {
            Stream::Findings => output.findings.len(),
            Stream::DeadLetters => output.dead_letters.len(),
        } as u64;
        if n == 0 {
            return Ok(0);
        }
        let buf = self.lines(output)?;
        let name = self.name.clone();
        match &mut self.target {
            Target::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(&buf).and_then(|_| out.flush()).map_err(|source| SinkError::Io {
                    sink: name,
                    path: "stdout".into(),
                    source,
                })?;
            }
            Target::File { path, file } => {
                file.write_all(&buf).and_then(|_| file.flush()).map_err(|source| SinkError::Io {
                    sink: name,
                    path: path.display().to_string(),
                    source,
                })?;
                self.dirty = true;
                self.pending.push(output.ack.clone());
            }
        }
        Ok(n)
    }

    fn flush(&mut self, _force: bool) -> Result<(), SinkError> {
        if let Target::File { path, file } = &mut self.target {
            if self.dirty {
                file.flush().and_then(|_| file.get_ref().sync_data()).map_err(|source| SinkError::Io {
                    sink: self.name.clone(),
                    path: path.display().to_string(),
                    source,
                })?;
                self.dirty = false;
            }
        }
        self.pending.clear();
        Ok(())
    }
}
