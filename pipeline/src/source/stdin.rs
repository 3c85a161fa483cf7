//! The stdin source: records from standard input, one per line, in one
//! format. A batch is sent whenever input pauses (a short read), so piping
//! `tail -f` into floodlight does not wait for a full batch; while a read
//! blocks, the stream is waiting for input (after the idle timeout it stops
//! holding the rules' watermark back).

use std::io::Read;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::file::drain;
use super::lines::{Flow, LineStream};
use super::{Source, SourceContext, SourceError, SourceReport};
use crate::ack::AckReceiver;
use crate::event_time::WaitingSignal;

/// Configuration of the stdin source.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdinSourceConfig {
    /// Input format id of the records.
    pub format: String,
    /// Lateness allowed in the input (`None`: the runtime's default).
    #[serde(skip)]
    pub allowed_lateness: Option<std::time::Duration>,
}

/// A running stdin source.
pub struct StdinSource {
    name: String,
    format: String,
    allowed_lateness: Option<std::time::Duration>,
}

impl StdinSource {
    /// A stdin source named `name` reading `format`.
    pub fn new(name: impl Into<String>, config: StdinSourceConfig) -> Self {
        StdinSource { name: name.into(), format: config.format, allowed_lateness: config.allowed_lateness }
    }
}

/// A reader that marks its stream as waiting for input while a read blocks.
struct WaitingReader<R> {
    inner: R,
    signal: WaitingSignal,
}

impl<R: Read> Read for WaitingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.signal.set_waiting(true);
        let n = self.inner.read(buf);
        self.signal.set_waiting(false);
        n
    }
}

#[async_trait]
impl Source for StdinSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn allowed_lateness(&self) -> Option<std::time::Duration> {
        self.allowed_lateness
    }

    async fn run(self: Box<Self>, ctx: SourceContext) -> Result<SourceReport, SourceError> {
        let SourceContext { out, shutdown, limits, drain_timeout, streams, .. } = ctx;
        let format: Arc<str> = Arc::from(self.format.as_str());
        let name = self.name.clone();
        let worker_name = name.clone();
        let handle = tokio::task::spawn_blocking(move || -> Result<(AckReceiver, SourceReport), SourceError> {
            let mut acks = AckReceiver::new();
            let mut stream = LineStream::new(streams.open("stdin", "stdin"), format, limits, 0);
            streams.opened();
            let stdin = std::io::stdin();
            // While a read blocks, the stream is waiting for input: after the
            // idle timeout it stops holding back the watermark.
            let mut lock = WaitingReader { inner: stdin.lock(), signal: stream.stream().waiting_signal() };
            loop {
                let before = stream.line_no();
                let flow = stream
                    .pump(&mut lock, &mut acks, &out, &shutdown, true)
                    .map_err(|e| SourceError::Io { source_name: worker_name.clone(), message: e.to_string() })?;
                if flow == Flow::Stop {
                    break;
                }
                // A pump that returned without new lines and an empty buffer means EOF.
                if stream.line_no() == before && stream.at_eof() {
                    break;
                }
            }
            if !out.is_closed() {
                stream.finish(&mut acks, &out);
            }
            let (records, batches) = stream.end();
            let report = SourceReport { records, batches, ..Default::default() };
            Ok((acks, report))
        });
        let (mut acks, mut report) = handle.await.map_err(|e| SourceError::Io {
            source_name: name.clone(),
            message: format!("reader thread failed: {e}"),
        })??;
        drain(&name, &mut acks, &mut report, drain_timeout).await?;
        Ok(report)
    }
}
