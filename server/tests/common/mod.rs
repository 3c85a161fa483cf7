//! A small real lake for the API tests, written the way the lake sink
//! writes it (hive partitions, the pipeline's own schemas), and helpers to
//! call the router.
#![allow(dead_code)] // Each test module uses its own share of these.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{new_null_array, ArrayRef, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use floodlight_analyst::{Lake, LakeSpec, QueryLimits};
use floodlight_pipeline::analyst_config::{Role, ServerConfig, TokenConfig};
use floodlight_pipeline::schema::{finding_schema, ClassSchemas, EventClass, Finding, FindingBuilder, Timestamp};
use floodlight_pipeline::sinks::lake::LakeLocation;
use floodlight_server::{hash_token, Auth};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub const ANALYST_TOKEN: &str = "analyst-secret-7f3a9c";
pub const ADMIN_TOKEN: &str = "admin-secret-d41d8c";

/// `2026-11-24T<hh>:00:00Z` (or another day) in microseconds.
pub fn at(day: u32, hour: u32) -> i64 {
    // 2026-11-24T00:00:00Z
    let base = 1_795_478_400_000_000i64;
    base + i64::from(day - 24) * 86_400_000_000 + i64::from(hour) * 3_600_000_000
}

struct Event {
    id: &'static str,
    day: u32,
    hour: u32,
    user: &'static str,
    device: &'static str,
    app: Option<(&'static str, &'static str, &'static str, i32)>,
    bytes_out: i64,
    bytes_in: i64,
}

const WETRANSFER: Option<(&str, &str, &str, i32)> = Some(("wetransfer", "WeTransfer", "file_sharing", 7));
const CHATGPT: Option<(&str, &str, &str, i32)> = Some(("chatgpt", "ChatGPT", "genai", 6));

fn events() -> Vec<Event> {
    let e = |id, day, hour, user, device, app, bytes_out, bytes_in| Event {
        id,
        day,
        hour,
        user,
        device,
        app,
        bytes_out,
        bytes_in,
    };
    vec![
        e("ev-01", 24, 9, "alice", "lap-alice", WETRANSFER, 1000, 10),
        e("ev-02", 24, 10, "alice", "lap-alice", WETRANSFER, 2000, 20),
        e("ev-03", 24, 11, "bob", "lap-bob", WETRANSFER, 500, 5),
        e("ev-04", 24, 12, "bob", "lap-bob", CHATGPT, 300, 3000),
        e("ev-05", 24, 13, "carol", "lap-carol", None, 50, 50),
        e("ev-06", 25, 9, "alice", "phone-alice", WETRANSFER, 4000, 40),
    ]
}

/// A batch of `schema` with the `given` columns and nulls (or empty text) elsewhere.
fn batch(schema: SchemaRef, rows: usize, given: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let columns = schema
        .fields()
        .iter()
        .map(|f| match given.iter().find(|(name, _)| name == f.name()) {
            Some((_, a)) => a.clone(),
            None if f.is_nullable() => new_null_array(f.data_type(), rows),
            None => panic!("test lake: give a value for non-null column `{}`", f.name()),
        })
        .collect();
    RecordBatch::try_new(schema, columns).expect("network batch")
}

fn network_batch(events: &[&Event]) -> RecordBatch {
    let n = events.len();
    let text = |f: &dyn Fn(&Event) -> Option<String>| -> ArrayRef {
        Arc::new(events.iter().map(|e| f(e)).collect::<StringArray>())
    };
    let times: TimestampMicrosecondArray = events.iter().map(|e| Some(at(e.day, e.hour))).collect();
    batch(
        EventClass::Network.enriched_schema(),
        n,
        vec![
            ("event_id", text(&|e| Some(e.id.into()))),
            ("time", Arc::new(times.with_timezone("UTC"))),
            ("origin", text(&|e| Some(format!("file:fw.log:{}", e.id)))),
            ("format", text(&|_| Some("panos".into()))),
            ("user", text(&|e| Some(e.user.into()))),
            ("device", text(&|e| Some(e.device.into()))),
            ("src_ip", text(&|_| Some("10.0.0.5".into()))),
            ("host", text(&|e| Some(e.app.map_or("example.com".into(), |a| format!("{}.com", a.0))))),
            ("bytes_out", Arc::new(events.iter().map(|e| Some(e.bytes_out)).collect::<Int64Array>())),
            ("bytes_in", Arc::new(events.iter().map(|e| Some(e.bytes_in)).collect::<Int64Array>())),
            ("app_id", text(&|e| e.app.map(|a| a.0.into()))),
            ("app_name", text(&|e| e.app.map(|a| a.1.into()))),
            ("app_category", text(&|e| e.app.map(|a| a.2.into()))),
            ("app_risk", Arc::new(events.iter().map(|e| e.app.map(|a| a.3)).collect::<Int32Array>())),
            ("app_status", text(&|e| e.app.map(|_| "unsanctioned".into()))),
        ],
    )
}

/// The findings of the test lake: 7 findings, `f-01` with two revisions.
pub fn findings() -> Vec<Finding> {
    let f = |id: &str, hour: u32, rule: &str, severity: &str, user: &str, app: &str, samples: &[&str]| Finding {
        finding_id: id.into(),
        time: Timestamp(at(24, hour)),
        detected_at: Timestamp(at(24, hour) + 60_000_000),
        rule_id: rule.into(),
        rule_title: if rule == "SS-01" { "Upload to unsanctioned file sharing".into() } else { "GenAI use".into() },
        family: "shadow_saas".into(),
        severity: severity.into(),
        attack: vec!["T1567".into()],
        class: "network".into(),
        user: Some(user.into()),
        app_id: Some(app.into()),
        app_name: Some(app.into()),
        event_count: Some(samples.len() as i64),
        first_seen: Some(Timestamp(at(24, hour))),
        last_seen: Some(Timestamp(at(24, hour + 1))),
        sample_event_ids: samples.iter().map(|s| s.to_string()).collect(),
        message: format!("{user} used {app}"),
        revision: Some(1),
        ..Finding::default()
    };
    vec![
        f("f-01", 9, "SS-01", "high", "alice", "wetransfer", &["ev-01"]),
        f("f-02", 10, "SS-01", "high", "alice", "wetransfer", &["ev-02"]),
        f("f-03", 11, "SS-01", "medium", "bob", "wetransfer", &["ev-03"]),
        f("f-04", 12, "SS-03", "low", "bob", "chatgpt", &["ev-04"]),
        f("f-05", 13, "SS-03", "low", "bob", "chatgpt", &[]),
        f("f-06", 14, "SS-03", "low", "carol", "chatgpt", &[]),
        f("f-07", 15, "SS-01", "high", "alice", "wetransfer", &[]),
    ]
}

fn findings_batch(rows: &[Finding]) -> RecordBatch {
    let mut b = FindingBuilder::with_capacity(rows.len());
    for f in rows {
        b.append(f);
    }
    RecordBatch::try_new(finding_schema(), b.finish_columns()).expect("findings batch")
}

fn write_parquet(path: &Path, batch: &RecordBatch) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let file = std::fs::File::create(path).expect("create parquet");
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    w.write(batch).expect("write");
    w.close().expect("close");
}

/// Write the test lake under `root`.
pub fn write_lake(root: &Path) {
    let all = events();
    for day in [24, 25] {
        let of_day: Vec<&Event> = all.iter().filter(|e| e.day == day).collect();
        write_parquet(
            &root.join(format!("events/class=network/date=2026-11-{day}/part-x.parquet")),
            &network_batch(&of_day),
        );
    }
    let dir = root.join("findings/class=network/date=2026-11-24");
    write_parquet(&dir.join("part-y.parquet"), &findings_batch(&findings()));
    // A later evaluation updated f-01: revision 2 with one more event.
    let mut f01 = findings().remove(0);
    f01.revision = Some(2);
    f01.event_count = Some(2);
    f01.sample_event_ids = vec!["ev-01".into(), "ev-02".into()];
    f01.message = "alice used wetransfer twice".into();
    write_parquet(&dir.join("part-z.parquet"), &findings_batch(&[f01]));
}

/// Generous limits for the tests that are not about limits.
pub fn limits() -> QueryLimits {
    QueryLimits {
        timeout: Duration::from_secs(60),
        max_rows: 10_000,
        memory_bytes: 256 * 1024 * 1024,
        partitions: 2,
        concurrent: 4,
    }
}

/// Open the lake at `root` with `limits`.
pub async fn open_lake(root: &Path, limits: QueryLimits) -> Lake {
    Lake::open(LakeSpec {
        location: LakeLocation::Local(root.to_path_buf()),
        schemas: ClassSchemas::builtin(),
        enrichments: None,
        window: None,
        limits,
    })
    .await
    .expect("open lake")
}

/// `[server]` with an analyst and an admin token (as hashes).
pub fn server_config() -> ServerConfig {
    let token = |name: &str, role, secret: &str| TokenConfig {
        name: name.into(),
        role,
        sha256: Some(hash_token(secret)),
        env: None,
        file: None,
    };
    ServerConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        tls_cert: None,
        tls_key: None,
        tokens: vec![token("soc-alice", Role::Analyst, ANALYST_TOKEN), token("console", Role::Admin, ADMIN_TOKEN)],
        console: Default::default(),
    }
}

pub fn auth() -> Auth {
    Auth::from_config(&server_config(), Path::new(".")).expect("auth")
}

/// A lake in a temporary directory and the router over it.
pub struct TestApi {
    pub dir: tempfile::TempDir,
    pub app: Router,
}

pub async fn api_with(limits: QueryLimits) -> TestApi {
    let dir = tempfile::tempdir().expect("tempdir");
    write_lake(dir.path());
    let lake = open_lake(dir.path(), limits).await;
    TestApi { app: floodlight_server::router(lake, auth()), dir }
}

pub async fn api() -> TestApi {
    api_with(limits()).await
}

/// An answer: status, headers and body bytes.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Assert an error answer: status, JSON error code; returns the message.
    pub fn error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "{}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.header("content-type"), Some("application/json"));
        let v = self.json();
        assert_eq!(v["error"], code, "{v}");
        v["message"].as_str().expect("message").to_string()
    }
}

/// Send one request through the router.
pub async fn call(app: &Router, method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("request");
    send(app, req).await
}

pub async fn send(app: &Router, req: Request<Body>) -> Answer {
    let response = app.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("body").to_bytes().to_vec();
    Answer { status: parts.status, headers: parts.headers, body }
}

pub async fn get(app: &Router, uri: &str) -> Answer {
    call(app, Method::GET, uri, Some(ANALYST_TOKEN), None).await
}

pub async fn sql(app: &Router, body: Value) -> Answer {
    call(app, Method::POST, "/api/v1/query", Some(ANALYST_TOKEN), Some(body)).await
}
