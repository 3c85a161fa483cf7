//! JSON-lines sink: one JSON object per line, to stdout or a file (appended).
//! Used twice: for findings (the OCSF-aligned finding row) and for the
//! dead-letter output (raw record, origin, reason).
//!
//! A write goes to the OS before `write` returns; for files the batch's
//! acknowledgement is held until `flush` has `fsync`ed it. Stdout is
//! considered durable once flushed.
//!
//! A file that ends in part of a line (the process was killed while writing
//! it) is cut back to its last whole line when the sink opens it: that line's
//! batch was never acknowledged, so it is written again, whole.

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

/// Cut `file` back to just after its last `\n` when it ends in part of a
/// line; how many bytes were cut.
fn cut_torn_line(file: &File) -> std::io::Result<Option<u64>> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata()?.len();
    let mut end = len;
    let mut buf = vec![0u8; 64 * 1024];
    let mut reader = file;
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        reader.seek(SeekFrom::Start(start))?;
        reader.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            end = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    if end == len {
        return Ok(None);
    }
    file.set_len(end)?;
    file.sync_all()?;
    Ok(Some(len - end))
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
            let file = OpenOptions::new().create(true).read(true).append(true).open(path).map_err(io)?;
            if let Some(cut) = cut_torn_line(&file).map_err(io)? {
                tracing::warn!(
                    sink = %name,
                    path = %path.display(),
                    bytes = cut,
                    "the file ended in part of a line (a crash while writing); cut it back to its last whole line, \
                     whose batch is written again"
                );
            }
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

    fn writes_events(&self) -> bool {
        false
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_cut_when_the_file_is_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("findings.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"b\":2}\n{\"c\":").unwrap();
        drop(JsonLinesSink::open("findings", Stream::Findings, &path).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"b\":2}\n");
        // Whole lines are left alone; so is an empty file.
        drop(JsonLinesSink::open("findings", Stream::Findings, &path).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"b\":2}\n");
        let torn_only = dir.path().join("torn.jsonl");
        std::fs::write(&torn_only, "x".repeat(200_000)).unwrap();
        drop(JsonLinesSink::open("findings", Stream::Findings, &torn_only).unwrap());
        assert_eq!(std::fs::read(&torn_only).unwrap(), b"");
        drop(JsonLinesSink::open("findings", Stream::Findings, &dir.path().join("new.jsonl")).unwrap());
        assert_eq!(std::fs::read(dir.path().join("new.jsonl")).unwrap(), b"");
    }
}
