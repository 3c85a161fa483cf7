//! The analyst tables over a real lake: the embedded demo run twice (a
//! replay writes every event and finding again), then queried.

use std::path::Path;
use std::sync::Arc;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use floodlight_analyst::reports::FindingFilter;
use floodlight_analyst::{AnalystError, Lake, LakeSpec, QueryLimits};
use floodlight_pipeline::config::Config;
use floodlight_pipeline::runtime;
use tokio_util::sync::CancellationToken;

const DEMO: &str = include_str!("../../deploy/demo/floodlight.toml");

async fn demo_run(dir: &Path) -> Config {
    let cfg = Config::parse(DEMO, Path::new("demo.toml")).expect("demo config parses");
    let pipeline = cfg.build(dir).await.expect("demo builds");
    let summary = runtime::run(pipeline, CancellationToken::new()).await;
    assert!(summary.sources.iter().all(|(_, r)| r.is_ok()), "{:?}", summary.sources);
    cfg
}

async fn open(cfg: &Config, dir: &Path, limits: QueryLimits) -> Lake {
    let lake = cfg.sinks.lake.as_ref().expect("demo has a lake");
    Lake::open(LakeSpec {
        location: lake.location(dir).expect("location"),
        schemas: cfg.class_schemas(),
        enrichments: Some(Arc::new(cfg.enrichments(dir).expect("enrichments"))),
        window: None,
        limits,
    })
    .await
    .expect("lake opens")
}

async fn count(lake: &Lake, sql: &str) -> i64 {
    let r = lake.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let col = r.batches[0].column(0).as_primitive::<Int64Type>();
    assert_eq!(col.len(), 1, "{sql}");
    col.value(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_demo_is_queried_once_per_event_and_finding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = demo_run(dir.path()).await;
    demo_run(dir.path()).await;
    let lake = open(&cfg, dir.path(), QueryLimits::default()).await;

    for class in ["network", "dns", "auth", "oauth", "email"] {
        let raw = count(&lake, &format!("SELECT count(*) FROM {class}_raw")).await;
        let distinct = count(&lake, &format!("SELECT count(DISTINCT event_id) FROM {class}_raw")).await;
        let view = count(&lake, &format!("SELECT count(*) FROM {class}")).await;
        assert!(distinct > 0, "{class}: the demo has {class} events");
        assert_eq!(raw, 2 * distinct, "{class}: two runs wrote every event twice");
        assert_eq!(view, distinct, "{class}: the view shows each event once");
    }
    let revisions =
        count(&lake, "SELECT count(DISTINCT concat(finding_id, '/', CAST(revision AS VARCHAR))) FROM findings_raw")
            .await;
    assert_eq!(count(&lake, "SELECT count(*) FROM findings").await, revisions);
    let ids = count(&lake, "SELECT count(DISTINCT finding_id) FROM findings_raw").await;
    assert!(ids > 10, "the demo raises findings");
    assert_eq!(count(&lake, "SELECT count(*) FROM findings_latest").await, ids);
    // The latest view holds the highest revision of each finding.
    assert_eq!(
        count(
            &lake,
            "SELECT count(*) FROM findings_latest l JOIN (SELECT finding_id, max(revision) AS r FROM findings GROUP BY finding_id) m \
             ON l.finding_id = m.finding_id AND l.revision = m.r"
        )
        .await,
        ids
    );
    assert!(count(&lake, "SELECT count(*) FROM apps WHERE status = 'sanctioned'").await > 0);
    assert!(count(&lake, "SELECT count(*) FROM users").await > 0);
    // The overlay's expired exception (Otter.ai) shows in `apps`.
    assert_eq!(count(&lake, "SELECT count(*) FROM apps WHERE app_id = 'otter-ai' AND status = 'unsanctioned' AND status_reason LIKE '%expired 2026-06-30%'").await, 1);

    // A date filter prunes partitions through the de-duplicating view.
    let day = lake.query("SELECT min(date) FROM network_raw").await.expect("min date");
    let day = day.batches[0].column(0).as_string::<i32>().value(0).to_string();
    let plan =
        lake.query(&format!("EXPLAIN SELECT count(*) FROM network WHERE date = '{day}'")).await.expect("explain");
    let text = floodlight_analyst::format::rows_json(&plan.batches)
        .expect("json")
        .iter()
        .map(|r| format!("{r:?}"))
        .collect::<String>();
    // Only that day's folder is read: every file the scan lists is in it.
    let dates_read: Vec<&str> =
        text.split("class=network/date=").skip(1).map(|rest| rest.get(..10).unwrap_or(rest)).collect();
    assert!(!dates_read.is_empty(), "the plan lists the files it reads: {text}");
    assert!(dates_read.iter().all(|d| *d == day), "the date filter reaches the scan: {text}");
    let other =
        lake.query("EXPLAIN SELECT count(*) FROM network WHERE date = '1999-01-01'").await.expect("explain other day");
    let other = floodlight_analyst::format::rows_json(&other.batches)
        .expect("json")
        .iter()
        .map(|r| format!("{r:?}"))
        .collect::<String>();
    assert!(!other.contains("class=network/date="), "a day the lake does not hold reads no file: {other}");

    // Reports.
    let page = lake.findings(&FindingFilter::default(), 5, None).await.expect("page 1");
    assert_eq!(page.findings.len(), 5);
    let cursor = page.next_cursor.clone().expect("more than 5 findings");
    let mut seen: Vec<String> =
        page.findings.iter().map(|f| f["finding_id"].as_str().expect("id").to_string()).collect();
    let mut cursor = Some(cursor);
    while let Some(c) = cursor {
        let next = lake.findings(&FindingFilter::default(), 5, Some(&c)).await.expect("next page");
        for f in &next.findings {
            let id = f["finding_id"].as_str().expect("id").to_string();
            assert!(!seen.contains(&id), "pages do not overlap: {id}");
            seen.push(id);
        }
        cursor = next.next_cursor;
    }
    assert_eq!(seen.len() as i64, ids, "the pages together hold every finding");

    let first = lake.findings(&FindingFilter::default(), 1, None).await.expect("one");
    let id = first.findings[0]["finding_id"].as_str().expect("id");
    let detail = lake.finding(id).await.expect("detail");
    assert_eq!(detail.finding["finding_id"], first.findings[0]["finding_id"]);
    assert!(!detail.revisions.is_empty());
    let samples = detail.finding["sample_event_ids"].as_array().expect("samples");
    assert_eq!(detail.sample_events.len(), samples.len(), "every sample event is found once");
    assert!(matches!(lake.finding("nope").await, Err(AnalystError::NotFound(_))));

    let apps = lake.discovered_apps(None).await.expect("discovery");
    assert!(!apps.is_empty());
    for a in &apps {
        let trend_events: i64 = a.trend.iter().map(|t| t.events).sum();
        assert_eq!(trend_events, a.events, "{}: the trend adds up", a.app_id);
        assert!(a.users <= a.events);
    }
    let direct = count(&lake, &format!("SELECT count(*) FROM network WHERE app_id = '{}'", apps[0].app_id)).await;
    assert_eq!(apps[0].events, direct);

    let who = first.findings[0]["user"].as_str().map(str::to_string);
    if let Some(user) = who {
        let profile = lake.user_profile(&user, None).await.expect("profile");
        assert!(!profile.recent_findings.is_empty());
    }
    assert!(matches!(lake.user_profile("nobody-at-all", None).await, Err(AnalystError::NotFound(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_stop_runaway_and_memory_hungry_queries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = Config::parse(DEMO, Path::new("demo.toml")).expect("demo config");
    let limits = QueryLimits {
        timeout: std::time::Duration::from_millis(800),
        max_rows: 100,
        memory_bytes: 16 * 1024 * 1024,
        partitions: 2,
        concurrent: 2,
    };
    let lake = open(&cfg, dir.path(), limits).await;
    let started = std::time::Instant::now();
    let err = lake.query("SELECT count(*) FROM generate_series(1, 100000000000)").await.expect_err("stopped");
    assert!(matches!(err, AnalystError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "stopped near the limit: {:?}", started.elapsed());

    let err = lake
        .query("SELECT v, repeat('x', 200) AS pad FROM generate_series(1, 3000000) AS t(v) ORDER BY pad, v DESC")
        .await
        .expect_err("too big");
    assert!(matches!(err, AnalystError::Memory { limit_mib: 16, .. }), "{err}");

    let r = lake.query("SELECT * FROM generate_series(1, 1000)").await.expect("cut");
    assert_eq!(r.rows, 100);
    assert!(r.truncated);
    let r = lake.query("SELECT * FROM generate_series(1, 100)").await.expect("whole");
    assert_eq!(r.rows, 100);
    assert!(!r.truncated);
    // The empty lake still answers (nothing written yet).
    assert_eq!(count(&lake, "SELECT count(*) FROM findings").await, 0);
}

/// Every `.parquet` file under `dir`.
fn parquet_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            parquet_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "parquet") {
            out.push(p);
        }
    }
}

/// A lake written by an older version, whose email files lack columns this
/// version adds (`time_inferred`, `sender_is_personal`, `dest_partner`),
/// still reads: the missing columns are null in old files, and queries
/// naming them work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_written_before_a_column_was_added_read_as_null() {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ArrowWriter;

    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = demo_run(dir.path()).await;
    let mut files = Vec::new();
    parquet_files(&dir.path().join("floodlight-demo-out/lake/events/class=email"), &mut files);
    assert!(!files.is_empty(), "the demo writes email events");
    for f in &files {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(f).expect("open"))
            .expect("parquet")
            .build()
            .expect("reader");
        let batches: Vec<_> = reader.map(|b| b.expect("batch")).collect();
        let keep: Vec<usize> = (0..batches[0].num_columns())
            .filter(|&i| {
                !["time_inferred", "sender_is_personal", "dest_partner"]
                    .contains(&batches[0].schema().field(i).name().as_str())
            })
            .collect();
        assert_eq!(keep.len() + 3, batches[0].num_columns(), "this version writes the three columns");
        let old: Vec<_> = batches.iter().map(|b| b.project(&keep).expect("project")).collect();
        let mut w =
            ArrowWriter::try_new(std::fs::File::create(f).expect("rewrite"), old[0].schema(), None).expect("writer");
        for b in &old {
            w.write(b).expect("write");
        }
        w.close().expect("close");
    }
    let lake = open(&cfg, dir.path(), QueryLimits::default()).await;
    let all = count(&lake, "SELECT count(*) FROM email").await;
    assert!(all > 0);
    let nulls =
        count(&lake, "SELECT count(*) FROM email WHERE time_inferred IS NULL AND sender_is_personal IS NULL AND dest_partner IS NULL").await;
    assert_eq!(nulls, all, "old files read the new columns as null");
    assert!(
        count(&lake, "SELECT count(*) FROM email WHERE dest_address LIKE '%@%'").await > 0,
        "by name, not position"
    );
}
