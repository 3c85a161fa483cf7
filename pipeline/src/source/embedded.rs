//! The embedded source: the demo logs compiled into the binary (from
//! `deploy/demo/logs/`), so `floodlight run` works on a fresh machine with
//! no files and no Kafka. Each file is named `<format>--<anything>.log`; the
//! part before `--` is its input format id.

use std::sync::Arc;

use async_trait::async_trait;
use include_dir::{include_dir, Dir};

use super::file::drain;
use super::lines::{Flow, LineStream};
use super::{Source, SourceContext, SourceError, SourceReport};
use crate::ack::AckReceiver;

static DEMO_LOGS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../deploy/demo/logs");

/// One embedded demo file: (name, format id, bytes).
pub fn demo_files() -> Vec<(&'static str, &'static str, &'static [u8])> {
    let mut files: Vec<_> = DEMO_LOGS
        .files()
        .filter_map(|f| {
            let name = f.path().file_name()?.to_str()?;
            let format = name.split_once("--")?.0;
            Some((name, format, f.contents()))
        })
        .collect();
    files.sort_by_key(|f| f.0);
    files
}

/// The source that replays the embedded demo logs once.
pub struct EmbeddedDemoSource;

#[async_trait]
impl Source for EmbeddedDemoSource {
    fn name(&self) -> &str {
        "demo"
    }

    fn input_bytes(&self) -> Option<u64> {
        Some(demo_files().iter().map(|(_, _, bytes)| bytes.len() as u64).sum())
    }

    async fn run(self: Box<Self>, ctx: SourceContext) -> Result<SourceReport, SourceError> {
        let SourceContext { out, shutdown, limits, drain_timeout, streams, .. } = ctx;
        let handle = tokio::task::spawn_blocking(move || {
            let mut acks = AckReceiver::new();
            let mut report = SourceReport::default();
            // Every demo log is a stream of its own, registered before any is
            // read: the logs cover the same day, and a log not yet read must
            // hold the watermark back.
            let files = demo_files();
            let mut pending: Vec<_> = files
                .iter()
                .map(|(name, format, bytes)| {
                    let label = format!("demo:{name}");
                    (LineStream::new(streams.open(&label, &label), Arc::from(*format), limits, 0), *bytes)
                })
                .collect();
            streams.opened();
            for (mut stream, bytes) in pending.drain(..) {
                let mut reader = bytes;
                let flow = stream.pump(&mut reader, &mut acks, &out, &shutdown, false).unwrap_or(Flow::Stop);
                if flow == Flow::Continue {
                    stream.finish(&mut acks, &out);
                }
                let (records, batches) = stream.end();
                report.records += records;
                report.batches += batches;
                if flow == Flow::Stop {
                    break;
                }
            }
            (acks, report)
        });
        let (mut acks, mut report) = handle.await.map_err(|e| SourceError::Io {
            source_name: "demo".into(),
            message: format!("reader thread failed: {e}"),
        })?;
        drain("demo", &mut acks, &mut report, drain_timeout).await?;
        Ok(report)
    }
}
