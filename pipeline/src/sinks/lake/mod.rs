//! The Parquet lake: enriched events and findings as Parquet files in
//! hive-style partitions, so DataFusion, DuckDB, Spark or Athena can query
//! them directly:
//!
//! ```text
//! <root>/events/class=network/date=2026-11-24/part-<run>-<seq>.parquet
//! <root>/findings/class=email/date=2026-11-24/part-<run>-<seq>.parquet
//! ```
//!
//! `date` is the event's (or finding's) UTC day. A file is written as
//! `*.parquet.inprogress` and renamed when it is closed: after `roll_rows`
//! rows, after `roll_after` has passed since it was opened, or at shutdown.
//! Readers never see a half-written file. The acknowledgements of every
//! batch with rows in an open file are held until the file is closed,
//! fsynced and renamed.
//!
//! An object-store lake ([`LakeLocation::ObjectStore`], `url = "s3://..."`)
//! writes each file to a local spool directory first and uploads it when it
//! closes (a multipart upload, so memory stays flat); the acknowledgements
//! wait for the upload, and the spool file is removed after it. Object stores
//! make an object visible only once its upload completes, so readers never
//! see a partial file there either.

pub mod location;

pub use location::{LakeLocation, LakeLocationError, LakeStore};

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::TimestampMicrosecondType;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::{Output, Sink, SinkError};
use crate::ack::AckToken;
use crate::schema::{finding_schema, FindingBuilder, Timestamp};

/// Lake settings.
#[derive(Debug, Clone)]
pub struct LakeOptions {
    /// Where the lake lives.
    pub location: LakeLocation,
    /// Local directory for files on their way to an object store (unused
    /// for a local lake). Default: the system's temporary directory.
    pub spool: Option<PathBuf>,
    /// Write enriched events.
    pub events: bool,
    /// Write findings.
    pub findings: bool,
    /// Close a file after this many rows.
    pub roll_rows: usize,
    /// Close a file this long after it was opened.
    pub roll_after: Duration,
}

struct OpenFile {
    writer: ArrowWriter<File>,
    tmp: PathBuf,
    /// Path relative to the lake root (`events/class=.../date=.../part-...parquet`).
    relative: String,
    rows: usize,
    opened: Instant,
    acks: Vec<AckToken>,
}

/// The Parquet lake sink.
pub struct LakeSink {
    name: String,
    opts: LakeOptions,
    /// Where files are written while open: the lake root itself for a local
    /// lake, the spool directory for an object store.
    work_dir: PathBuf,
    /// The object store a closed file is uploaded to (None: local lake).
    remote: Option<LakeStore>,
    run_id: String,
    seq: u64,
    open: BTreeMap<(&'static str, String, String), OpenFile>,
    /// Files closed so far (paths relative to the lake root).
    pub closed: Vec<String>,
}

impl LakeSink {
    /// A lake at `opts.location` (a local root is created when missing).
    pub fn open(name: impl Into<String>, opts: LakeOptions) -> Result<Self, SinkError> {
        let name = name.into();
        let now = Timestamp::now();
        // Unique per sink instance: seconds, process, and a counter for the
        // sinks one process opens (two runs in one second must not collide).
        static OPENED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nth = OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let run_id = format!("{}-{:x}-{nth}", now.micros() / 1_000_000, std::process::id());
        let (work_dir, remote) = match &opts.location {
            LakeLocation::Local(root) => (root.clone(), None),
            remote @ LakeLocation::ObjectStore { .. } => {
                let store =
                    remote.open().map_err(|e| SinkError::Encode { sink: name.clone(), message: e.to_string() })?;
                let spool = opts.spool.clone().unwrap_or_else(std::env::temp_dir);
                (spool.join(format!("floodlight-lake-{run_id}")), Some(store))
            }
        };
        std::fs::create_dir_all(&work_dir).map_err(|source| SinkError::Io {
            sink: name.clone(),
            path: work_dir.display().to_string(),
            source,
        })?;
        Ok(LakeSink { name, opts, work_dir, remote, run_id, seq: 0, open: BTreeMap::new(), closed: Vec::new() })
    }

    fn io(&self, path: &Path, source: std::io::Error) -> SinkError {
        SinkError::Io { sink: self.name.clone(), path: path.display().to_string(), source }
    }

    fn enc(&self, e: impl std::fmt::Display) -> SinkError {
        SinkError::Encode { sink: self.name.clone(), message: e.to_string() }
    }

    /// Append `batch` (all rows of one day) to the open file of its partition.
    fn append(
        &mut self,
        kind: &'static str,
        class: &str,
        date: String,
        batch: &RecordBatch,
        ack: &AckToken,
    ) -> Result<(), SinkError> {
        let key = (kind, class.to_string(), date);
        if !self.open.contains_key(&key) {
            self.seq += 1;
            let relative = format!("{kind}/class={class}/date={}/part-{}-{:05}.parquet", key.2, self.run_id, self.seq);
            let path = self.work_dir.join(&relative);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| self.io(dir, e))?;
            }
            let tmp = path.with_extension("parquet.inprogress");
            let file = File::create(&tmp).map_err(|e| self.io(&tmp, e))?;
            let props = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default())).build();
            let writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(|e| self.enc(e))?;
            self.open.insert(
                key.clone(),
                OpenFile { writer, tmp, relative, rows: 0, opened: Instant::now(), acks: Vec::new() },
            );
        }
        let name = self.name.clone();
        let f = self
            .open
            .get_mut(&key)
            .ok_or_else(|| SinkError::Encode { sink: name, message: "partition vanished".into() })?;
        if let Err(e) = f.writer.write(batch) {
            // The writer may have written part of a row group: the file is
            // lost, and with it every batch it holds (read again).
            if let Some(f) = self.open.remove(&key) {
                fail_and_remove(&f.acks, &f.tmp);
            }
            return Err(self.enc(e));
        }
        f.rows += batch.num_rows();
        if f.acks.last().map(AckToken::batch_id) != Some(ack.batch_id()) {
            f.acks.push(ack.clone());
        }
        if f.rows >= self.opts.roll_rows {
            if let Some(f) = self.open.remove(&key) {
                self.close(f)?;
            }
        }
        Ok(())
    }

    /// Close `f` and make it durable (or upload it); its batches are
    /// delivered only then. When that fails they are reported failed (the
    /// source reads them again) and the partial file is removed.
    fn close(&mut self, f: OpenFile) -> Result<(), SinkError> {
        let OpenFile { writer, tmp, relative, acks, .. } = f;
        let finished = match writer.into_inner() {
            Ok(file) => self.publish(file, &tmp, &relative),
            Err(e) => Err(self.enc(e)),
        };
        match finished {
            Ok(()) => {
                self.closed.push(relative);
                drop(acks);
                Ok(())
            }
            Err(e) => {
                fail_and_remove(&acks, &tmp);
                Err(e)
            }
        }
    }

    /// Move the written `tmp` to `relative`: fsync and rename in the local
    /// lake, an upload to the object store.
    fn publish(&self, file: File, tmp: &Path, relative: &str) -> Result<(), SinkError> {
        if let Some(store) = &self.remote {
            drop(file);
            let uploaded = upload(store, tmp, relative);
            let _ = std::fs::remove_file(tmp);
            return uploaded.map_err(|message| SinkError::Encode { sink: self.name.clone(), message });
        }
        file.sync_all().map_err(|e| self.io(tmp, e))?;
        let path = self.work_dir.join(relative);
        std::fs::rename(tmp, &path).map_err(|e| self.io(&path, e))?;
        if let Some(dir) = path.parent() {
            // Make the rename itself durable.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

/// Give up a file: its batches are reported failed (the source reads them
/// again) and the partial file `tmp` is removed.
fn fail_and_remove(acks: &[AckToken], tmp: &Path) {
    for a in acks {
        a.fail();
    }
    let _ = std::fs::remove_file(tmp);
}

/// Upload the closed file `tmp` to `relative` under the store's lake root,
/// in parts, so a file of any size costs a few part buffers of memory.
/// Runs on the sink stage's own thread, outside any `block_on`, so
/// blocking on the runtime here is allowed.
fn upload(store: &LakeStore, tmp: &Path, relative: &str) -> Result<(), String> {
    use std::io::Read;

    use object_store::{ObjectStoreExt, WriteMultipart};

    const PART: usize = 8 * 1024 * 1024;
    let target = store.path(relative);
    let what = |e: &dyn std::fmt::Display| format!("upload of {relative} to {}: {e}", store.root_url);
    let handle = tokio::runtime::Handle::try_current().map_err(|e| what(&e))?;
    let mut file = File::open(tmp).map_err(|e| what(&e))?;
    handle.block_on(async {
        let upload = store.store.put_multipart(&target).await.map_err(|e| what(&e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut buf = vec![0u8; 1024 * 1024];
        loop {
            let n = file.read(&mut buf).map_err(|e| what(&e))?;
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(4).await.map_err(|e| what(&e))?;
            writer.write(&buf[..n]);
        }
        writer.finish().await.map_err(|e| what(&e))?;
        Ok(())
    })
}

/// Split `batch` by the UTC day of its `time` column: (date, rows of that day).
fn split_by_day(batch: &RecordBatch) -> Result<Vec<(String, RecordBatch)>, String> {
    let times = batch
        .column_by_name("time")
        .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
        .ok_or("batch has no `time` timestamp column")?;
    let day = |i: usize| if times.is_valid(i) { times.value(i).div_euclid(86_400_000_000) } else { 0 };
    let n = batch.num_rows();
    if n == 0 {
        return Ok(Vec::new());
    }
    let first = day(0);
    if (1..n).all(|i| day(i) == first) {
        return Ok(vec![(Timestamp(first * 86_400_000_000).date(), batch.clone())]);
    }
    let mut groups: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
    for i in 0..n {
        groups.entry(day(i)).or_default().push(i as u32);
    }
    groups
        .into_iter()
        .map(|(d, idx)| {
            let b = take_record_batch(batch, &UInt32Array::from(idx)).map_err(|e| e.to_string())?;
            Ok((Timestamp(d * 86_400_000_000).date(), b))
        })
        .collect()
}

/// The findings of `output` as one Arrow batch per class the rules read.
fn findings_by_class(output: &Output) -> Result<BTreeMap<&str, RecordBatch>, String> {
    let mut groups: BTreeMap<&str, Vec<&crate::schema::Finding>> = BTreeMap::new();
    for f in &output.findings {
        groups.entry(f.class.as_str()).or_default().push(f);
    }
    groups
        .into_iter()
        .map(|(class, findings)| {
            let mut b = FindingBuilder::with_capacity(findings.len());
            for f in findings {
                b.append(f);
            }
            let batch = RecordBatch::try_new(finding_schema(), b.finish_columns()).map_err(|e| e.to_string())?;
            Ok((class, batch))
        })
        .collect()
}

impl Sink for LakeSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "lake"
    }

    fn writes_events(&self) -> bool {
        self.opts.events
    }

    fn write(&mut self, output: &Output) -> Result<u64, SinkError> {
        let mut rows = 0u64;
        if self.opts.events {
            for (class, batch) in &output.events {
                for (date, part) in split_by_day(batch).map_err(|e| self.enc(e))? {
                    rows += part.num_rows() as u64;
                    self.append("events", class.as_str(), date, &part, &output.ack)?;
                }
            }
        }
        if self.opts.findings {
            // Findings are partitioned by the class the rule read.
            for (class, batch) in findings_by_class(output).map_err(|e| self.enc(e))? {
                for (date, part) in split_by_day(&batch).map_err(|e| self.enc(e))? {
                    rows += part.num_rows() as u64;
                    self.append("findings", class, date, &part, &output.ack)?;
                }
            }
        }
        Ok(rows)
    }

    fn flush(&mut self, force: bool) -> Result<(), SinkError> {
        let due: Vec<_> = self
            .open
            .iter()
            .filter(|(_, f)| force || f.opened.elapsed() >= self.opts.roll_after)
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            if let Some(f) = self.open.remove(&k) {
                self.close(f)?;
            }
        }
        Ok(())
    }
}

impl Drop for LakeSink {
    fn drop(&mut self) {
        // Files still open are not durable: their batches are reported failed
        // (the source will re-read them), and the partial file is removed.
        for (_, f) in std::mem::take(&mut self.open) {
            fail_and_remove(&f.acks, &f.tmp);
        }
    }
}
