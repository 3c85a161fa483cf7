//! The stdin source: records from standard input, one per line, in one
//! format. A batch is sent whenever input pauses (a short read), so piping
//! `tail -f` into floodlight gives findings without waiting for a full batch.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::file::drain;
use super::lines::{Flow, LineStream};
use super::{Source, SourceContext, SourceError, SourceReport};
use crate::ack::AckReceiver;

/// Configuration of the stdin source.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdinSourceConfig {
    /// Input format id of the records.
    pub format: String,
}

/// A running stdin source.
pub struct StdinSource {
    name: String,
    format: String,
}

impl StdinSource {
    /// A stdin source named `name` reading `format`.
    pub fn new(name: impl Into<String>, config: StdinSourceConfig) -> Self {
        StdinSource { name: name.into(), format: config.format }
    }
}

#[async_trait]
impl Source for StdinSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(self: Box<Self>, ctx: SourceContext) -> Result<SourceReport, SourceError> {
        let SourceContext { out, shutdown, limits, drain_timeout, .. } = ctx;
        let format: Arc<str> = Arc::from(self.format.as_str());
        let name = self.name.clone();
        let worker_name = name.clone();
        let handle = tokio::task::spawn_blocking(move || -> Result<(AckReceiver, SourceReport), SourceError> {
            let mut acks = AckReceiver::new();
            let mut stream = LineStream::new(Arc::from("stdin"), format, limits, 0);
            let stdin = std::io::stdin();
            let mut lock = stdin.lock();
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
            let report = SourceReport { records: stream.records, batches: stream.batches, ..Default::default() };
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
