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
    /// Root directory.
    pub root: PathBuf,
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
    path: PathBuf,
    rows: usize,
    opened: Instant,
    acks: Vec<AckToken>,
}

/// The Parquet lake sink.
pub struct LakeSink {
    name: String,
    opts: LakeOptions,
    run_id: String,
    seq: u64,
    open: BTreeMap<(&'static str, String, String), OpenFile>,
    /// Files closed so far (final paths).
    pub closed: Vec<PathBuf>,
}

impl LakeSink {
    /// A lake under `opts.root` (created when missing).
    pub fn open(name: impl Into<String>, opts: LakeOptions) -> Result<Self, SinkError> {
        let name = name.into();
        std::fs::create_dir_all(&opts.root).map_err(|source| SinkError::Io {
            sink: name.clone(),
            path: opts.root.display().to_string(),
            source,
        })?;
        let now = Timestamp::now();
        let run_id = format!("{}-{:x}", now.micros() / 1_000_000, std::process::id());
        Ok(LakeSink { name, opts, run_id, seq: 0, open: BTreeMap::new(), closed: Vec::new() })
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
            let dir = self.opts.root.join(kind).join(format!("class={class}")).join(format!("date={}", key.2));
            std::fs::create_dir_all(&dir).map_err(|e| self.io(&dir, e))?;
            self.seq += 1;
            let path = dir.join(format!("part-{}-{:05}.parquet", self.run_id, self.seq));
            let tmp = path.with_extension("parquet.inprogress");
            let file = File::create(&tmp).map_err(|e| self.io(&tmp, e))?;
            let props = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default())).build();
            let writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(|e| self.enc(e))?;
            self.open
                .insert(key.clone(), OpenFile { writer, tmp, path, rows: 0, opened: Instant::now(), acks: Vec::new() });
        }
        let name = self.name.clone();
        let f = self
            .open
            .get_mut(&key)
            .ok_or_else(|| SinkError::Encode { sink: name, message: "partition vanished".into() })?;
        f.writer.write(batch).map_err(|e| SinkError::Encode { sink: self.name.clone(), message: e.to_string() })?;
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

    fn close(&mut self, f: OpenFile) -> Result<(), SinkError> {
        let OpenFile { writer, tmp, path, acks, .. } = f;
        let file = writer.into_inner().map_err(|e| self.enc(e))?;
        file.sync_all().map_err(|e| self.io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| self.io(&path, e))?;
        if let Some(dir) = path.parent() {
            // Make the rename itself durable.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        self.closed.push(path);
        drop(acks);
        Ok(())
    }
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
            for a in &f.acks {
                a.fail();
            }
            let _ = std::fs::remove_file(&f.tmp);
        }
    }
}
