//! Progress on long work, on a terminal only.
//!
//! `run` over files shows records and bytes read of the total, events per
//! second, findings so far and the time left; over Kafka (or anything whose
//! size is not known up front) it shows the consumer lag of each partition
//! instead of a time left. `parse` writing to a file or pipe shows records
//! and bytes of its input. Nothing is drawn when stderr is not a terminal
//! (a log file, a pipe, a container) or with `--quiet`.
//!
//! The bar lives on stderr beside the logs: log lines go through
//! [`LogWriter`], which lifts the bar, writes the line and draws the bar
//! again, so neither garbles the other.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use floodlight_pipeline::internal_events::{counters, metric};
use indicatif::{HumanBytes, HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

/// The bar being drawn, if any (so log lines can lift it).
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// How often the run's bar reads the counters.
const TICK: Duration = Duration::from_millis(200);

/// Whether progress may be drawn: stderr is a terminal and not `--quiet`.
pub fn wanted(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// A bar for `total` bytes (or a spinner when the total is not known).
fn bar(total: Option<u64>) -> ProgressBar {
    let (bar, template) = match total {
        Some(t) => (
            ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
            "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg} · ETA {eta}",
        ),
        None => {
            (ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()), "{spinner} [{elapsed_precise}] {msg}")
        }
    };
    // The templates are constants: a bad one is a bug here, so fall back to
    // indicatif's default style rather than fail the user's command.
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    if let Ok(mut active) = ACTIVE.lock() {
        *active = Some(bar.clone());
    }
    bar
}

fn clear(bar: &ProgressBar) {
    bar.finish_and_clear();
    if let Ok(mut active) = ACTIVE.lock() {
        *active = None;
    }
}

/// Events per second between two readings.
fn rate(records: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        return "– ev/s".into();
    }
    format!("{} ev/s", HumanCount((records as f64 / secs) as u64))
}

/// The bar of a running pipeline; stop it before printing the results.
pub struct RunProgress {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl RunProgress {
    /// Start drawing (call inside the runtime). `total`: the bytes the
    /// sources will read, when every one of them knows.
    pub fn start(total: Option<u64>) -> RunProgress {
        let bar = bar(total);
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            loop {
                let c = counters();
                let records = c.total(metric::RECORDS_RECEIVED);
                let bytes = c.total(metric::BYTES_RECEIVED);
                let findings = c.total(metric::FINDINGS);
                let mut msg = format!(
                    "{} records · {} · {} · {} findings",
                    HumanCount(records),
                    HumanBytes(bytes),
                    rate(records, started.elapsed()),
                    HumanCount(findings)
                );
                if total.is_some() {
                    bar.set_position(bytes);
                } else {
                    let lags: Vec<String> = c
                        .gauge_snapshot()
                        .into_iter()
                        .filter(|(m, _, _)| m == metric::KAFKA_LAG)
                        .map(|(_, partition, lag)| format!("{partition} {}", HumanCount(lag.max(0) as u64)))
                        .collect();
                    if !lags.is_empty() {
                        msg.push_str(&format!(" · lag {}", lags.join(", ")));
                    }
                    bar.tick();
                }
                bar.set_message(msg);
                tokio::select! {
                    _ = stopped.cancelled() => break,
                    _ = tokio::time::sleep(TICK) => {}
                }
            }
            clear(&bar);
        });
        RunProgress { stop, task }
    }

    /// Stop and erase the bar.
    pub async fn finish(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// The bar of `floodlight parse`: records and bytes of its input.
pub struct ParseProgress {
    bar: ProgressBar,
    started: Instant,
}

impl ParseProgress {
    /// `total`: the input's size, when it is a plain file.
    pub fn start(total: Option<u64>) -> ParseProgress {
        let progress = ParseProgress { bar: bar(total), started: Instant::now() };
        progress.update(0, 0);
        progress
    }

    /// `records` and `bytes` read so far.
    pub fn update(&self, records: u64, bytes: u64) {
        self.bar.set_position(bytes);
        self.bar.set_message(format!(
            "{} records · {} · {}",
            HumanCount(records),
            HumanBytes(bytes),
            rate(records, self.started.elapsed())
        ));
    }

    /// Erase the bar.
    pub fn finish(self) {
        clear(&self.bar);
    }
}

/// stderr for the log: lifts the progress bar around each line.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let active = ACTIVE.lock().ok().and_then(|a| a.clone());
        match active {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
