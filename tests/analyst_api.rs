//! The analyst's ways in, end to end with the real binary: a real `run`
//! writes the demo lake, `floodlight serve` serves it, and every endpoint,
//! the token checks, the read-only guard and the limits are exercised over
//! HTTP; answers equal what `floodlight query` prints for the same SQL;
//! schemathesis (from PyPI, `deploy/install-python-tools.sh`) fuzzes the API
//! against its own OpenAPI document; `run --serve` ingests and serves from
//! one process.

use crate::support::cli;
use crate::support::http;
use crate::support::pytools;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ANALYST: &str = "fl_analyst_token_for_tests_0123456789";
const ADMIN: &str = "fl_admin_token_for_tests_9876543210";

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).expect("free port").port()
}

/// The demo config plus a `[server]` on `port` and `[query]` limits.
fn write_config(dir: &Path, port: u16) {
    let demo = include_str!("../deploy/demo/floodlight.toml");
    let hash = |t: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_floodlight"))
            .args(["token", "hash"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().expect("stdin").write_all(t.as_bytes())?;
                c.wait_with_output()
            })
            .expect("token hash");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let text = format!(
        "{demo}\n[query]\ntimeout = \"2s\"\nmax_rows = 1000\nmemory_limit_mib = 64\n\n\
         [server]\nlisten = \"127.0.0.1:{port}\"\n\n\
         [[server.tokens]]\nname = \"alice\"\nrole = \"analyst\"\nsha256 = \"{}\"\n\n\
         [[server.tokens]]\nname = \"ops\"\nrole = \"admin\"\nenv = \"TEST_ADMIN_TOKEN\"\n",
        hash(ANALYST)
    );
    std::fs::write(dir.join("floodlight.toml"), text).expect("write config");
}

struct Server {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Server {
    fn start(dir: &Path, args: &[&str], port: u16) -> Server {
        let log = dir.join(format!("server-{port}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_floodlight"))
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env("FLOODLIGHT_LOG", "info")
            .env("TEST_ADMIN_TOKEN", ADMIN)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start floodlight");
        let server = Server { child, port, log };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(60), "the API did not listen: {}", server.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn get(&self, path: &str, token: Option<&str>) -> http::Response {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        http::request(self.port, "GET", path, &headers, b"")
    }

    fn query(&self, body: Value, token: &str, accept: Option<&str>) -> http::Response {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("Authorization", auth.as_str()), ("Content-Type", "application/json")];
        if let Some(a) = accept {
            headers.push(("Accept", a));
        }
        http::request(self.port, "POST", "/api/v1/query", &headers, body.to_string().as_bytes())
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "did not stop on SIGTERM: {}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `floodlight query --format json SQL` rows.
fn cli_rows(dir: &Path, sql: &str) -> Vec<Value> {
    let out = cli::floodlight(dir, &["query", "--config", "floodlight.toml", "--format", "json", sql]);
    assert!(out.status.success(), "query failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON row")).collect()
}

#[test]
fn serve_answers_every_endpoint_like_the_cli_and_guards_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    write_config(dir.path(), port);
    let run = cli::floodlight(dir.path(), &["run", "--no-table", "--config", "floodlight.toml"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let server = Server::start(dir.path(), &["serve", "--config", "floodlight.toml"], port);

    // Authentication.
    let r = server.get("/api/v1/findings", None);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate").map(|h| h.to_ascii_lowercase().starts_with("bearer")), Some(true));
    assert_eq!(r.json()["error"], "unauthorized");
    assert_eq!(server.get("/api/v1/findings", Some("fl_not_a_token")).status, 401);
    assert_eq!(server.get("/api/v1/admin/tokens", Some(ANALYST)).status, 403);
    let tokens = server.get("/api/v1/admin/tokens", Some(ADMIN));
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    assert!(!tokens.text().contains(ANALYST) && !tokens.text().contains(ADMIN));
    assert!(tokens.text().contains("alice"), "{}", tokens.text());

    // SQL: same answers as the command line.
    let sql = "SELECT rule_id, count(*) AS n FROM findings_latest GROUP BY rule_id ORDER BY rule_id";
    let api = server.query(json!({ "sql": sql }), ANALYST, None);
    assert_eq!(api.status, 200, "{}", api.text());
    let api = api.json();
    let rows = api["rows"].as_array().expect("rows").clone();
    assert!(!rows.is_empty());
    assert_eq!(rows, cli_rows(dir.path(), sql), "the API and `floodlight query` agree");
    assert_eq!(api["row_count"].as_u64(), Some(rows.len() as u64));

    let csv = server.query(json!({ "sql": sql }), ANALYST, Some("text/csv"));
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").is_some_and(|c| c.starts_with("text/csv")));
    assert_eq!(csv.text().lines().count(), rows.len() + 1, "{}", csv.text());
    let arrow = server.query(json!({ "sql": sql, "format": "arrow" }), ANALYST, None);
    assert_eq!(arrow.status, 200);
    assert!(arrow.body.len() > 100);

    // The guard, statement kind by statement kind.
    for (sql, kind) in [
        ("INSERT INTO findings VALUES (1)", "INSERT"),
        ("CREATE TABLE t AS SELECT 1", "CREATE TABLE"),
        ("DROP TABLE findings", "DROP TABLE"),
        ("COPY findings TO '/tmp/x.parquet'", "COPY"),
        ("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'", "CREATE EXTERNAL TABLE"),
        ("SET datafusion.execution.batch_size = 1", "SET"),
        ("DELETE FROM findings", "DELETE"),
        ("SELECT * FROM read_parquet('/etc/passwd')", "read_parquet"),
        ("SELECT * FROM '/etc/passwd'", "/etc/passwd"),
    ] {
        let r = server.query(json!({ "sql": sql }), ANALYST, None);
        assert_eq!(r.status, 400, "{sql}: {}", r.text());
        let body = r.json();
        assert!(body["message"].as_str().is_some_and(|m| m.contains(kind)), "{sql}: {body}");
    }
    // Limits: the runaway query stops at the 2 s limit, the hungry one at the pool.
    let started = Instant::now();
    let r = server.query(json!({ "sql": "SELECT count(*) FROM generate_series(1, 100000000000)" }), ANALYST, None);
    assert_eq!(r.json()["error"], "query_timeout", "{}", r.text());
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let r = server.query(
        json!({ "sql": "SELECT v, repeat('x', 200) AS pad FROM generate_series(1, 3000000) AS t(v) ORDER BY pad, v DESC" }),
        ANALYST,
        None,
    );
    assert_eq!(r.json()["error"], "query_memory", "{}", r.text());
    let r = server.query(json!({ "sql": "SELECT * FROM generate_series(1, 5000)" }), ANALYST, None);
    assert_eq!(r.json()["row_count"], 1000, "cut at [query] max_rows");
    assert_eq!(r.json()["truncated"], true);

    // Findings, with cursor pages that add up to the lake's findings.
    let total = cli_rows(dir.path(), "SELECT count(*) AS n FROM findings_latest")[0]["n"].as_u64().expect("n");
    let mut ids: Vec<String> = Vec::new();
    let mut path = "/api/v1/findings?limit=7".to_string();
    loop {
        let page = server.get(&path, Some(ANALYST));
        assert_eq!(page.status, 200, "{}", page.text());
        let page = page.json();
        for f in page["findings"].as_array().expect("findings") {
            let id = f["finding_id"].as_str().expect("id").to_string();
            assert!(!ids.contains(&id), "no overlap: {id}");
            ids.push(id);
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/findings?limit=7&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(ids.len() as u64, total);
    let high = server.get("/api/v1/findings?family=shadow_saas&severity=high", Some(ANALYST)).json();
    let expected = cli_rows(
        dir.path(),
        "SELECT count(*) AS n FROM findings_latest WHERE family = 'shadow_saas' AND severity = 'high'",
    )[0]["n"]
        .as_u64();
    assert_eq!(high["findings"].as_array().map(|a| a.len() as u64), expected);

    // One finding with its evidence.
    let detail = server.get(&format!("/api/v1/findings/{}", ids[0]), Some(ANALYST));
    assert_eq!(detail.status, 200, "{}", detail.text());
    let detail = detail.json();
    assert_eq!(detail["finding"]["finding_id"], ids[0].as_str());
    assert!(!detail["revisions"].as_array().expect("revisions").is_empty());
    let samples = detail["finding"]["sample_event_ids"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(detail["sample_events"].as_array().map(Vec::len), Some(samples));
    assert_eq!(server.get("/api/v1/findings/0000", Some(ANALYST)).status, 404);

    // The discovery report agrees with SQL on the same lake.
    let report = server.get("/api/v1/apps/discovered", Some(ANALYST));
    assert_eq!(report.status, 200, "{}", report.text());
    let report = report.json();
    let apps = report["apps"].as_array().expect("apps");
    assert!(!apps.is_empty());
    let sql_apps =
        cli_rows(dir.path(), "SELECT app_id, count(*) AS n FROM network WHERE app_id IS NOT NULL GROUP BY app_id");
    assert_eq!(apps.len(), sql_apps.len());
    for row in &sql_apps {
        let app = apps.iter().find(|a| a["app_id"] == row["app_id"]).expect("every app in the report");
        assert_eq!(app["events"], row["n"], "{}", row["app_id"]);
    }

    // One person.
    let someone = cli_rows(dir.path(), "SELECT user FROM findings_latest WHERE user IS NOT NULL ORDER BY user LIMIT 1");
    let user = someone[0]["user"].as_str().expect("a user");
    let profile = server.get(&format!("/api/v1/users/{user}"), Some(ANALYST));
    assert_eq!(profile.status, 200, "{}", profile.text());
    assert!(!profile.json()["recent_findings"].as_array().expect("findings").is_empty());
    assert_eq!(server.get("/api/v1/users/nobody-at-all", Some(ANALYST)).status, 404);

    // Tables, and the OpenAPI document without a token.
    let tables = server.get("/api/v1/tables", Some(ANALYST)).json();
    assert!(tables.to_string().contains("findings_latest"));
    let doc = server.get("/api/v1/openapi.json", None);
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    for p in ["/api/v1/query", "/api/v1/findings", "/api/v1/findings/{id}", "/api/v1/apps/discovered"] {
        assert!(doc["paths"].get(p).is_some(), "{p} documented");
    }

    // Property-based run of the API against its own OpenAPI document.
    let st = pytools::schemathesis(
        &format!("http://127.0.0.1:{port}/api/v1/openapi.json"),
        &format!("http://127.0.0.1:{port}"),
        // The admin token may call every operation (an analyst gets 403 on
        // /admin, which schemathesis counts as an operation it could not test).
        ADMIN,
        // A JSON schema cannot say which strings are SQL: a generated `sql`
        // that is not a query is rightly refused with 400.
        "[[operations]]\ninclude-path = \"/api/v1/query\"\ninclude-method = \"POST\"\n\
         checks.positive_data_acceptance.expected-statuses = [\"2xx\", \"400\"]\n",
        &[],
    );
    assert!(
        st.status.success(),
        "schemathesis found problems:\n{}\n{}",
        String::from_utf8_lossy(&st.stdout),
        String::from_utf8_lossy(&st.stderr)
    );

    // The request log names the token holder, never the token or the SQL.
    let log = server.log();
    assert!(log.contains("alice"), "{log}");
    assert!(!log.contains(ANALYST) && !log.contains(ADMIN), "no token in the log");
    assert!(!log.contains("generate_series"), "no SQL in the log");
    let status = server.stop();
    assert!(status.success(), "serve exits cleanly on SIGTERM: {status:?}");
}

#[test]
fn run_serve_ingests_and_serves_from_one_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    write_config(dir.path(), port);
    let server = Server::start(dir.path(), &["run", "--serve", "--no-table", "--config", "floodlight.toml"], port);
    // The demo input is finite: it is served while it is read, and once it
    // is written, the API shows every finding.
    let started = Instant::now();
    let served = || {
        let r = server.query(json!({ "sql": "SELECT count(*) AS n FROM findings_latest" }), ANALYST, None);
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["rows"][0]["n"].as_u64().unwrap_or(0)
    };
    while !server.log().contains("still serving") {
        served();
        assert!(started.elapsed() < Duration::from_secs(120), "the input never finished: {}", server.log());
        std::thread::sleep(Duration::from_millis(300));
    }
    let findings = cli::json_lines(&dir.path().join("floodlight-demo-out/findings.jsonl"));
    let distinct: std::collections::BTreeSet<&str> = findings.iter().filter_map(|f| f["finding_id"].as_str()).collect();
    assert!(!distinct.is_empty(), "the demo has findings");
    // A folder listing is reused for `LISTING_TTL`: files closed since a
    // query during the run show at most that late.
    let finished = Instant::now();
    loop {
        let n = served();
        if n == distinct.len() as u64 {
            break;
        }
        assert!(
            finished.elapsed() < floodlight_analyst::lake::LISTING_TTL + Duration::from_secs(5),
            "the lake served {n} of the {} findings written, {:?} after the input finished",
            distinct.len(),
            finished.elapsed()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let status = server.stop();
    assert!(status.success(), "{status:?}: {}", server_log_tail(dir.path(), port));
}

fn server_log_tail(dir: &Path, port: u16) -> String {
    std::fs::read_to_string(dir.join(format!("server-{port}.log"))).unwrap_or_default()
}
