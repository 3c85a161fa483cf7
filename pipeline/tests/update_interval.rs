//! A finding that keeps growing is written again at update points, not
//! after every interval.
//!
//! One person uploads to an online PDF converter every two minutes from
//! 10:00:30 to 10:34:30 (18 requests): one SS-04 finding. It is written
//! when it is raised (revision 1, one request), then again at 10:10, 10:20
//! and 10:30 with what the requests up to each point add up to, and at the
//! end of the input with all 18. The same revisions whatever the batch
//! sizes and workers; with `update_interval = "1m"` (the evaluation
//! interval) every request writes a revision, and the last one is the same.

use std::path::Path;
use std::sync::{Arc, Mutex};

use floodlight_pipeline::config::Config;
use floodlight_pipeline::runtime;
use floodlight_pipeline::sinks::{Output, Sink, SinkError};
use tokio_util::sync::CancellationToken;

/// (revision, event_count, last_seen) of every SS-04 finding revision, in
/// the order written.
type Revisions = Vec<(i64, i64, i64)>;

struct Capture(Arc<Mutex<Revisions>>);

impl Sink for Capture {
    fn name(&self) -> &str {
        "capture"
    }

    fn writes_events(&self) -> bool {
        false
    }

    fn write(&mut self, output: &Output) -> Result<u64, SinkError> {
        let mut seen = self.0.lock().expect("not poisoned");
        for f in output.findings.iter().filter(|f| f.rule_id == "SS-04") {
            let last_seen = f.last_seen.expect("a finding says when it was last seen").0;
            seen.push((i64::from(f.revision.expect("a revision")), f.event_count.expect("an event count"), last_seen));
        }
        Ok(0)
    }

    fn flush(&mut self, _force: bool) -> Result<(), SinkError> {
        Ok(())
    }
}

/// 2026-11-24T10:00:00Z, in seconds.
const TEN: i64 = 1_795_514_400;

fn upload(at: i64, session: i64) -> String {
    let s = at - TEN;
    let time = format!("10:{:02}:{:02}", s / 60, s % 60);
    format!(
        "date=2026-11-24 time={time} devname=\"FGT-HQ\" tz=\"+0000\" type=\"traffic\" subtype=\"forward\" \
         srcip=10.1.0.5 srcport=51544 dstip=104.22.56.1 dstport=443 sessionid={session} proto=6 \
         action=\"close\" user=\"ana\" sentbyte=48211 rcvdbyte=8834 hostname=\"www.ilovepdf.com\"\n"
    )
}

async fn run(dir: &Path, batch: usize, workers: usize, update_interval: &str) -> Revisions {
    let text = format!(
        "[runtime]\nworkers = {workers}\nbatch_max_records = {batch}\n\n\
         [[sources]]\ntype = \"file\"\nname = \"fw\"\npaths = [\"fw.log\"]\nformat = \"fortigate\"\n\n\
         [rules]\nupdate_interval = \"{update_interval}\"\n\n\
         [enrichments.reload]\nenabled = false\n[enrichments.geoip]\ndemo = true\n"
    );
    let cfg = Config::parse(&text, &dir.join("c.toml")).expect("the test's config is valid");
    let mut pipeline = cfg.build(dir).await.expect("the pipeline builds");
    let seen = Arc::new(Mutex::new(Vec::new()));
    pipeline.sinks.push(Box::new(Capture(seen.clone())));
    runtime::run(pipeline, CancellationToken::new()).await;
    let seen = seen.lock().expect("not poisoned").clone();
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_growing_finding_is_written_at_update_points_whatever_the_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let times: Vec<i64> = (0..18).map(|k| TEN + 30 + 120 * k).collect();
    let lines: String = times.iter().enumerate().map(|(k, t)| upload(*t, 9000 + k as i64)).collect();
    std::fs::write(dir.path().join("fw.log"), lines).expect("write");
    let micros = |t: i64| t * 1_000_000;

    // Requests up to each point: 10:00:30 raises it; 10:02:30–10:08:30
    // wait for 10:10; 10:10:30–10:18:30 for 10:20; 10:20:30–10:28:30 for
    // 10:30; the last three for the end of the input.
    let want: Revisions = vec![
        (1, 1, micros(times[0])),
        (2, 5, micros(times[4])),
        (3, 10, micros(times[9])),
        (4, 15, micros(times[14])),
        (5, 18, micros(times[17])),
    ];
    for (batch, workers) in [(1, 2), (3, 2), (100, 1)] {
        let got = run(dir.path(), batch, workers, "10m").await;
        assert_eq!(got, want, "batch {batch}, {workers} worker(s)");
    }

    // Every interval's change written: one revision per request.
    let every: Revisions = times.iter().enumerate().map(|(k, t)| (k as i64 + 1, k as i64 + 1, micros(*t))).collect();
    assert_eq!(run(dir.path(), 2, 2, "1m").await, every);
}

#[tokio::test]
async fn an_update_interval_out_of_range_is_a_config_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    for bad in ["0s", "2d", "soon"] {
        let text = format!(
            "[[sources]]\ntype = \"file\"\npaths = [\"fw.log\"]\nformat = \"fortigate\"\n\n\
             [rules]\nupdate_interval = \"{bad}\"\n"
        );
        let problems = match Config::parse(&text, &dir.path().join("c.toml")) {
            Ok(cfg) => cfg.problems(dir.path()).into_iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"),
            Err(e) => e.to_string(),
        };
        assert!(problems.contains("rules.update_interval"), "{bad}: {problems}");
    }
}
