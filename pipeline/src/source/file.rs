//! The file source: files named by paths or glob patterns, read once
//! (replay, trials) or followed like `tail -F` (new lines, rotation,
//! truncation, files appearing later). Gzip files (by magic bytes) are
//! decompressed on the fly; they are read once even when following.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};

use super::lines::{Flow, LineStream};
use super::{Source, SourceContext, SourceError, SourceReport};
use crate::ack::{AckReceiver, BatchStatus};

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
}

fn default_poll_ms() -> u64 {
    250
}

/// A running file source.
pub struct FileSource {
    name: String,
    config: FileSourceConfig,
    base_dir: PathBuf,
}

impl FileSource {
    /// A file source named `name`; relative paths resolve against `base_dir`.
    pub fn new(name: impl Into<String>, config: FileSourceConfig, base_dir: impl Into<PathBuf>) -> Self {
        FileSource { name: name.into(), config, base_dir: base_dir.into() }
    }
}

/// Expand the configured paths / globs into existing files, sorted, without duplicates.
pub fn expand_paths(patterns: &[String], base_dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for pat in patterns {
        let full = if Path::new(pat).is_absolute() { PathBuf::from(pat) } else { base_dir.join(pat) };
        let full_str = full.to_string_lossy().to_string();
        let entries = glob::glob(&full_str).map_err(|e| format!("invalid glob pattern `{pat}`: {e}"))?;
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

fn is_gzip(path: &Path) -> std::io::Result<bool> {
    let mut magic = [0u8; 2];
    let mut f = File::open(path)?;
    let n = f.read(&mut magic)?;
    Ok(n == 2 && magic == [0x1f, 0x8b])
}

struct Followed {
    path: PathBuf,
    stream: LineStream,
    file: Option<File>,
    pos: u64,
    inode: Option<u64>,
    gzip_done: bool,
}

#[cfg(unix)]
fn inode_of(meta: &std::fs::Metadata) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    Some(meta.ino())
}
#[cfg(not(unix))]
fn inode_of(_meta: &std::fs::Metadata) -> Option<u64> {
    None
}

#[async_trait]
impl Source for FileSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(self: Box<Self>, ctx: SourceContext) -> Result<SourceReport, SourceError> {
        let name = self.name.clone();
        let SourceContext { out, shutdown, limits, drain_timeout, .. } = ctx;
        let cfg = self.config.clone();
        let base = self.base_dir.clone();
        let format: Arc<str> = Arc::from(cfg.format.as_str());
        let worker_shutdown = shutdown.clone();
        let worker_name = name.clone();
        let out_worker = out.clone();
        let handle = tokio::task::spawn_blocking(move || -> Result<(AckReceiver, SourceReport), SourceError> {
            let out = out_worker;
            let io_err = |message: String| SourceError::Io { source_name: worker_name.clone(), message };
            let mut acks = AckReceiver::new();
            let mut report = SourceReport::default();
            let mut followed: Vec<Followed> = Vec::new();
            loop {
                let paths = expand_paths(&cfg.paths, &base).map_err(&io_err)?;
                for path in paths {
                    if followed.iter().any(|f| f.path == path) {
                        continue;
                    }
                    let source: Arc<str> = Arc::from(format!("file:{}", path.display()));
                    followed.push(Followed {
                        path,
                        stream: LineStream::new(source, format.clone(), limits, 0),
                        file: None,
                        pos: 0,
                        inode: None,
                        gzip_done: false,
                    });
                }
                for f in followed.iter_mut() {
                    if worker_shutdown.is_cancelled() {
                        break;
                    }
                    if read_file(f, &cfg, &mut acks, &out, &worker_shutdown)
                        .map_err(|e| io_err(format!("{}: {e}", f.path.display())))?
                        == Flow::Stop
                    {
                        break;
                    }
                }
                while let Some(r) = acks.try_recv() {
                    count(&mut report, r.status);
                }
                if !cfg.follow || worker_shutdown.is_cancelled() || out.is_closed() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(cfg.poll_interval_ms.max(10)));
            }
            for f in followed.iter_mut() {
                if !out.is_closed() {
                    f.stream.finish(&mut acks, &out);
                }
                report.records += f.stream.records;
                report.batches += f.stream.batches;
            }
            Ok((acks, report))
        });
        let (mut acks, mut report) = handle.await.map_err(|e| SourceError::Io {
            source_name: name.clone(),
            message: format!("reader thread failed: {e}"),
        })??;
        drop(out);
        drain(&name, &mut acks, &mut report, drain_timeout).await?;
        Ok(report)
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

fn read_file(
    f: &mut Followed,
    cfg: &FileSourceConfig,
    acks: &mut AckReceiver,
    out: &tokio::sync::mpsc::Sender<super::RawBatch>,
    shutdown: &tokio_util::sync::CancellationToken,
) -> std::io::Result<Flow> {
    if f.gzip_done {
        return Ok(Flow::Continue);
    }
    if is_gzip(&f.path)? {
        let mut reader = MultiGzDecoder::new(BufReader::new(File::open(&f.path)?));
        let flow = f.stream.pump(&mut reader, acks, out, shutdown, false)?;
        f.gzip_done = true;
        if flow == Flow::Continue {
            return Ok(f.stream.finish(acks, out));
        }
        return Ok(flow);
    }
    let meta = std::fs::metadata(&f.path)?;
    let inode = inode_of(&meta);
    let rotated = f.inode.is_some() && inode != f.inode;
    if f.file.is_none() || rotated || meta.len() < f.pos {
        // First open, rotation (new inode) or truncation: (re)start from the beginning.
        if f.file.is_some() && f.stream.finish(acks, out) == Flow::Stop {
            return Ok(Flow::Stop);
        }
        let mut file = File::open(&f.path)?;
        file.seek(SeekFrom::Start(0))?;
        f.file = Some(file);
        f.pos = 0;
        f.inode = inode;
        if rotated || f.stream.line_no() > 0 {
            let source = Arc::from(format!("file:{}", f.path.display()));
            f.stream = LineStream::new(source, Arc::from(cfg.format.as_str()), f.stream_limits(), 0);
        }
    }
    let Some(file) = f.file.as_mut() else { return Ok(Flow::Continue) };
    let mut counted = CountingReader { inner: file, read: 0 };
    let flow = f.stream.pump(&mut counted, acks, out, shutdown, cfg.follow)?;
    f.pos += counted.read;
    if !cfg.follow && flow == Flow::Continue {
        return Ok(f.stream.finish(acks, out));
    }
    Ok(flow)
}

impl Followed {
    fn stream_limits(&self) -> super::BatchLimits {
        self.stream.limits()
    }
}

struct CountingReader<'a, R> {
    inner: &'a mut R,
    read: u64,
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}
