//! Records of a known format without a usable time are kept, not lost.
//!
//! An Okta event without `published` (or with one that is not a time) gets
//! its stream's time: the newest event time of the records before it. That
//! is the same whatever the batch sizes and the number of workers, and an
//! inferred time never moves the stream's clock, so a first record timed by
//! the clock on the wall cannot make the (older) records after it late.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use arrow::array::{Array, AsArray};
use arrow::datatypes::TimestampMicrosecondType;
use floodlight_pipeline::config::Config;
use floodlight_pipeline::runtime;
use floodlight_pipeline::schema::{EventClass, Timestamp};
use floodlight_pipeline::sinks::{Output, Sink, SinkError};
use tokio_util::sync::CancellationToken;

/// Collects (origin line, time, time_inferred) of every auth event.
struct Capture(Arc<Mutex<BTreeMap<u64, (i64, bool)>>>);

impl Sink for Capture {
    fn name(&self) -> &str {
        "capture"
    }

    fn write(&mut self, output: &Output) -> Result<u64, SinkError> {
        let mut seen = self.0.lock().expect("not poisoned");
        for (class, batch) in output.events.iter().filter(|(c, _)| *c == EventClass::Auth) {
            let origin = batch.column_by_name("origin").expect("origin").as_string::<i32>();
            let time = batch.column_by_name("time").expect("time").as_primitive::<TimestampMicrosecondType>();
            let inferred = batch.column_by_name("time_inferred").expect("time_inferred").as_boolean();
            for row in 0..batch.num_rows() {
                let line: u64 = origin.value(row).rsplit(':').next().and_then(|l| l.parse().ok()).expect("a line");
                assert!(inferred.is_valid(row), "{class}: time_inferred is always written");
                seen.insert(line, (time.value(row), inferred.value(row)));
            }
        }
        Ok(0)
    }

    fn flush(&mut self, _force: bool) -> Result<(), SinkError> {
        Ok(())
    }
}

fn okta(published: Option<&str>, n: usize) -> String {
    let time = published.map(|p| format!(r#""published":"{p}","#)).unwrap_or_default();
    format!(
        r#"{{"eventType":"user.session.start",{time}"actor":{{"alternateId":"ana@corp.example.com"}},"client":{{"ipAddress":"89.160.20.113"}},"outcome":{{"result":"SUCCESS"}},"uuid":"u{n}"}}"#
    ) + "\n"
}

fn micros(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text).expect("a time").timestamp_micros()
}

async fn run(dir: &Path, batch: usize, workers: usize) -> (BTreeMap<u64, (i64, bool)>, runtime::RunSummary) {
    let text = format!(
        "[runtime]\nworkers = {workers}\nbatch_max_records = {batch}\n\n\
         [[sources]]\ntype = \"file\"\nname = \"okta\"\npaths = [\"okta.log\"]\nformat = \"okta\"\n\n\
         [enrichments.reload]\nenabled = false\n[enrichments.geoip]\ndemo = true\n"
    );
    let cfg = Config::parse(&text, &dir.join("c.toml")).expect("the test's config is valid");
    let mut pipeline = cfg.build(dir).await.expect("the pipeline builds");
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    pipeline.sinks.push(Box::new(Capture(seen.clone())));
    let summary = runtime::run(pipeline, CancellationToken::new()).await;
    let seen = seen.lock().expect("not poisoned").clone();
    (seen, summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_without_a_time_get_their_streams_time_whatever_the_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (t0, t1, t_older) = ("2026-11-24T09:00:00Z", "2026-11-24T09:01:00Z", "2026-11-24T09:00:30Z");
    let lines = [
        okta(None, 1),              // 1: nothing before it: the time it was read
        okta(Some(t0), 2),          // 2
        okta(None, 3),              // 3: → t0
        okta(Some(t1), 4),          // 4
        okta(Some("yesterday"), 5), // 5: not a time → t1
        okta(Some(t_older), 6),     // 6: older, within the allowed lateness
        okta(None, 7),              // 7: → t1, the newest before it (not the last)
    ];
    std::fs::write(dir.path().join("okta.log"), lines.concat()).expect("write");
    let started = Timestamp::now().micros();

    let mut runs = Vec::new();
    // The counters are the process's: each run adds to them.
    let mut inferred_before = 0;
    for (batch, workers) in [(1, 2), (2, 2), (100, 1)] {
        let (seen, summary) = run(dir.path(), batch, workers).await;
        assert_eq!(seen.len(), 7, "batch {batch}: every record kept: {seen:?}");
        let inferred = summary.total("records_time_inferred_total");
        assert_eq!(inferred - inferred_before, 4, "batch {batch}: counted");
        inferred_before = inferred;
        assert_eq!(summary.total("records_dead_lettered_total"), 0, "batch {batch}");
        assert_eq!(summary.total("late_records_dead_lettered_total"), 0, "batch {batch}: nothing made late");
        let (first, first_inferred) = seen[&1];
        assert!(first_inferred && first >= started, "batch {batch}: line 1 read at {first}, test began {started}");
        let rest: Vec<(u64, (i64, bool))> = seen.into_iter().filter(|(line, _)| *line > 1).collect();
        runs.push(rest);
    }
    let want = vec![
        (2, (micros(t0), false)),
        (3, (micros(t0), true)),
        (4, (micros(t1), false)),
        (5, (micros(t1), true)),
        (6, (micros(t_older), false)),
        (7, (micros(t1), true)),
    ];
    for (i, got) in runs.iter().enumerate() {
        assert_eq!(got, &want, "run {i}");
    }
}
