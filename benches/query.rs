//! Analyst query latency over a large lake (issue: SOC analysts).
//!
//! Generates (once, cached under `target/bench-lake-<N>`) a lake of N
//! firewall events (default 10,000,000) over 30 days, 5,000 people and 200
//! catalogued apps, plus findings (one per 100 events), written in the lake
//! sink's layout (`events/class=network/date=.../*.parquet`). Then times,
//! each several times after one warm-up run:
//!
//! - the discovery report over the last 7 days (`Lake::discovered_apps`);
//! - the discovery report over everything;
//! - a findings filter (rule + severity + last 7 days, first page);
//! - one person's findings via SQL over `findings_latest`;
//!
//! - counts and a per-app aggregate over the de-duplicating view `network`
//!   next to the same over `network_raw`;
//!
//! and prints how many files the physical plan reads for a 7-day filter next
//! to the whole lake's, so partition pruning is visible.
//!
//! ```sh
//! cargo bench --bench query                # 10M events
//! cargo bench --bench query -- 2000000     # another size
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{
    new_null_array, ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use floodlight_analyst::reports::FindingFilter;
use floodlight_analyst::{Lake, LakeSpec, QueryLimits};
use floodlight_pipeline::schema::{finding_schema, ClassSchemas, EventClass, Finding, FindingBuilder, Timestamp};
use floodlight_pipeline::sinks::lake::LakeLocation;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DAYS: i64 = 30;
const USERS: u64 = 5_000;
const APPS: u64 = 200;
const DAY_US: i64 = 86_400_000_000;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn end_of_lake() -> i64 {
    // The lake ends "now", so `since 7d` means the last 7 of its 30 days.
    Timestamp::now().micros()
}

fn write_parquet(path: &Path, batches: &[RecordBatch]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let file = std::fs::File::create(path).expect("create");
    let props = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default())).build();
    let mut w = ArrowWriter::try_new(file, batches[0].schema(), Some(props)).expect("writer");
    for b in batches {
        w.write(b).expect("write");
    }
    w.close().expect("close");
}

fn network_batch(rng: &mut Rng, day: i64, start_id: u64, n: usize) -> RecordBatch {
    let schema = EventClass::Network.enriched_schema();
    let day_start = end_of_lake() - (DAYS - day) * DAY_US;
    let mut ids = Vec::with_capacity(n);
    let mut times = Vec::with_capacity(n);
    let mut users = Vec::with_capacity(n);
    let mut devices = Vec::with_capacity(n);
    let mut apps = Vec::with_capacity(n);
    let mut names = Vec::with_capacity(n);
    let mut cats = Vec::with_capacity(n);
    let mut risks = Vec::with_capacity(n);
    let mut statuses = Vec::with_capacity(n);
    let mut hosts = Vec::with_capacity(n);
    let mut up = Vec::with_capacity(n);
    let mut down = Vec::with_capacity(n);
    for i in 0..n {
        let r = rng.next();
        let user = r % USERS;
        let app = (r >> 20) % APPS;
        ids.push(format!("{:032x}", u128::from(start_id + i as u64) * 0x9E37_79B9));
        times.push(day_start + (i as i64 * (DAY_US / n as i64)));
        users.push(format!("user{user}"));
        devices.push(format!("pc-{user}"));
        apps.push(format!("app{app}"));
        names.push(format!("App {app}"));
        cats.push(["genai", "file_sharing", "pdf_tools", "messaging"][(app % 4) as usize].to_string());
        risks.push((app % 10) as i32);
        statuses.push(["unsanctioned", "sanctioned", "monitored"][(app % 3) as usize].to_string());
        hosts.push(format!("www.app{app}.example"));
        up.push(((r >> 40) % 2_000_000) as i64);
        down.push(((r >> 8) % 5_000_000) as i64);
    }
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| -> ArrayRef {
            let s = |v: &Vec<String>| Arc::new(StringArray::from_iter_values(v)) as ArrayRef;
            match f.name().as_str() {
                "event_id" => s(&ids),
                "time" => Arc::new(TimestampMicrosecondArray::from(times.clone()).with_timezone("UTC")),
                "origin" => Arc::new(StringArray::from_iter_values(std::iter::repeat_n("bench", n))),
                "format" => Arc::new(StringArray::from_iter_values(std::iter::repeat_n("fortigate", n))),
                "user" => s(&users),
                "device" => s(&devices),
                "host" => s(&hosts),
                "app_id" => s(&apps),
                "app_name" => s(&names),
                "app_category" => s(&cats),
                "app_risk" => Arc::new(Int32Array::from(risks.clone())),
                "app_status" => s(&statuses),
                "bytes_out" => Arc::new(Int64Array::from(up.clone())),
                "bytes_in" => Arc::new(Int64Array::from(down.clone())),
                _ => new_null_array(f.data_type(), n),
            }
        })
        .collect();
    RecordBatch::try_new(schema, columns).expect("network batch")
}

fn findings_batch(rng: &mut Rng, day: i64, n: usize) -> RecordBatch {
    let day_start = end_of_lake() - (DAYS - day) * DAY_US;
    let mut b = FindingBuilder::with_capacity(n);
    for i in 0..n {
        let r = rng.next();
        let rule = ["SS-01", "SS-03", "SS-04", "SS-10", "PF-02", "WF-01"][(r % 6) as usize];
        let t = Timestamp(day_start + i as i64 * (DAY_US / n as i64));
        let user = format!("user{}", (r >> 8) % USERS);
        b.append(&Finding {
            finding_id: format!("{:032x}", u128::from(r)),
            time: t,
            detected_at: t,
            rule_id: rule.to_string(),
            rule_title: format!("Rule {rule}"),
            family: "shadow_saas".into(),
            severity: ["low", "medium", "high"][((r >> 4) % 3) as usize].to_string(),
            attack: vec!["T1567".into()],
            class: "network".into(),
            user: Some(user.clone()),
            src_ip: None,
            device: None,
            app_id: Some(format!("app{}", (r >> 20) % APPS)),
            app_name: None,
            app_category: None,
            app_status: None,
            app_alternative: None,
            event_count: Some(3),
            bytes: Some(1000),
            first_seen: Some(t),
            last_seen: Some(t),
            sample_event_ids: vec![],
            evidence: None,
            message: format!("{user} did something with app {}", (r >> 20) % APPS),
            revision: Some(1),
            suppressed_count: Some(0),
        });
    }
    RecordBatch::try_new(finding_schema(), b.finish_columns()).expect("findings batch")
}

fn generate(root: &Path, events: u64) {
    let marker = root.join(".complete");
    if marker.exists() {
        eprintln!("reusing the lake at {}", root.display());
        return;
    }
    let _ = std::fs::remove_dir_all(root);
    let started = Instant::now();
    let mut rng = Rng(42);
    let per_day = events / DAYS as u64;
    let chunk = 500_000usize;
    for day in 0..DAYS {
        let date = Timestamp(end_of_lake() - (DAYS - day) * DAY_US).date();
        let mut left = per_day as usize;
        let mut part = 0;
        while left > 0 {
            let n = left.min(chunk);
            let batch = network_batch(&mut rng, day, day as u64 * per_day + (per_day as usize - left) as u64, n);
            let batches: Vec<RecordBatch> = (0..n).step_by(65_536).map(|o| batch.slice(o, 65_536.min(n - o))).collect();
            write_parquet(
                &root.join(format!("events/class=network/date={date}/part-bench-{part:03}.parquet")),
                &batches,
            );
            left -= n;
            part += 1;
        }
        let f = findings_batch(&mut rng, day, (per_day / 100) as usize);
        write_parquet(&root.join(format!("findings/class=network/date={date}/part-bench-000.parquet")), &[f]);
        eprint!(".");
    }
    std::fs::write(&marker, b"").expect("marker");
    eprintln!("\ngenerated {events} events in {:.1} s", started.elapsed().as_secs_f64());
}

async fn time<F, Fut, T>(what: &str, runs: usize, f: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    f().await; // warm-up: file listing and metadata caches
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        f().await;
        times.push(t.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<55} median {:>8.1} ms   min {:>8.1} ms   max {:>8.1} ms",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
}

/// How many files the plan for `sql` reads (the file groups of its scans).
async fn files_read(lake: &Lake, sql: &str) -> usize {
    use datafusion::datasource::physical_plan::FileScanConfig;
    use datafusion::datasource::source::DataSourceExec;
    use datafusion::physical_plan::ExecutionPlan;
    fn count(plan: &Arc<dyn ExecutionPlan>) -> usize {
        let here = plan
            .downcast_ref::<DataSourceExec>()
            .and_then(|scan| scan.data_source().downcast_ref::<FileScanConfig>())
            .map_or(0, |config| config.file_groups.iter().map(|g| g.len()).sum());
        here + plan.children().into_iter().map(count).sum::<usize>()
    }
    let frame = lake.context().sql(sql).await.expect("plan");
    count(&frame.create_physical_plan().await.expect("physical plan"))
}

fn main() {
    let events: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000_000);
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-lake-{events}"));
    generate(&root, events);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let limits = QueryLimits {
            timeout: Duration::from_secs(600),
            max_rows: 1_000_000,
            memory_bytes: 2 * 1024 * 1024 * 1024,
            ..QueryLimits::default()
        };
        let lake = Lake::open(LakeSpec {
            location: LakeLocation::Local(root.clone()),
            schemas: ClassSchemas::builtin(),
            enrichments: None,
            window: None,
            limits,
        })
        .await
        .expect("lake");
        let now = Timestamp::now();
        let week = Timestamp(now.micros() - 7 * DAY_US);
        println!(
            "lake: {events} network events over {DAYS} days, {} findings, {} cores",
            events / 100,
            limits.partitions
        );

        let all = files_read(&lake, "SELECT count(*) FROM network").await;
        let pruned = files_read(&lake, &format!("SELECT count(*) FROM network WHERE date >= '{}'", week.date())).await;
        println!(
            "partition pruning: the network scan reads {all} files for the whole lake, {pruned} for `date >= '{}'`",
            week.date()
        );

        time("events, de-duplicated view, whole lake (count)", 3, || async {
            lake.query("SELECT count(*) FROM network").await.expect("sql")
        })
        .await;
        let per_app = |table: &str| {
            format!(
                "SELECT app_id, count(DISTINCT \"user\"), count(*), sum(bytes_out) FROM {table} \
                 WHERE date >= '{}' GROUP BY app_id",
                week.date()
            )
        };
        let (view, raw) = (per_app("network"), per_app("network_raw"));
        time("per-app people/events/bytes, view `network`, 7 days", 3, || async {
            lake.query(&view).await.expect("sql")
        })
        .await;
        time("the same over `network_raw` (copies included)", 3, || async { lake.query(&raw).await.expect("sql") })
            .await;
        time("discovery report, last 7 days", 5, || async { lake.discovered_apps(Some(week)).await.expect("report") })
            .await;
        time("discovery report, all 30 days", 3, || async { lake.discovered_apps(None).await.expect("report") }).await;
        let filter = FindingFilter {
            rule: Some("SS-03".into()),
            severity: Some("high".into()),
            since: Some(week),
            ..FindingFilter::default()
        };
        time("findings filter (rule + severity + 7 days), first 100", 5, || async {
            lake.findings(&filter, 100, None).await.expect("findings")
        })
        .await;
        time("findings of one person (SQL, findings_latest)", 5, || async {
            lake.query("SELECT * FROM findings_latest WHERE \"user\" = 'user42' ORDER BY time DESC").await.expect("sql")
        })
        .await;
        time("events of one person, last 7 days (SQL, network)", 5, || async {
            lake.query(&format!(
                "SELECT app_id, count(*) FROM network WHERE \"user\" = 'user42' AND date >= '{}' GROUP BY app_id",
                week.date()
            ))
            .await
            .expect("sql")
        })
        .await;
    });
}
