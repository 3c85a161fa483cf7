//! Every endpoint through the real router, over a small real lake.

use crate::common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request};
use common::*;
use serde_json::{json, Value};

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|r| r[key].as_str().unwrap_or_else(|| panic!("{key} in {r}")).to_string())
        .collect()
}

#[tokio::test]
async fn tables_lists_every_table_with_its_columns() {
    let t = api().await;
    let a = get(&t.app, "/api/v1/tables").await;
    assert_eq!(a.status, 200);
    let v = a.json();
    let names = strings(&v["tables"], "name");
    assert_eq!(names.first().map(String::as_str), Some("findings"));
    for table in ["findings_latest", "network", "dns", "auth", "oauth", "email", "apps", "users", "network_raw"] {
        assert!(names.iter().any(|n| n == table), "{table} in {names:?}");
    }
    let network = v["tables"].as_array().expect("tables").iter().find(|t| t["name"] == "network").expect("network");
    let time = network["columns"].as_array().expect("columns").iter().find(|c| c["name"] == "time").expect("time");
    assert_eq!(time["data_type"], "timestamp");
    assert_eq!(time["nullable"], false);
}

#[tokio::test]
async fn query_answers_json_csv_and_arrow() {
    let t = api().await;
    let q =
        "SELECT \"user\", count(*) AS events, sum(bytes_out) AS up FROM network GROUP BY \"user\" ORDER BY \"user\"";

    let a = sql(&t.app, json!({ "sql": q })).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.header("x-floodlight-rows"), Some("3"));
    assert_eq!(a.header("x-floodlight-truncated"), Some("false"));
    let v = a.json();
    assert_eq!(
        v["columns"],
        json!([{"name": "user", "type": "string"}, {"name": "events", "type": "int64"}, {"name": "up", "type": "int64"}])
    );
    assert_eq!(
        v["rows"],
        json!([
            {"user": "alice", "events": 3, "up": 7000},
            {"user": "bob", "events": 2, "up": 800},
            {"user": "carol", "events": 1, "up": 50},
        ])
    );
    assert_eq!(v["row_count"], 3);
    assert_eq!(v["truncated"], false);
    assert!(v["elapsed_ms"].is_u64());

    let a = sql(&t.app, json!({ "sql": q, "format": "csv" })).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(String::from_utf8_lossy(&a.body), "user,events,up\nalice,3,7000\nbob,2,800\ncarol,1,50\n");

    // Arrow, asked for with Accept.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/query")
        .header("authorization", format!("Bearer {ANALYST_TOKEN}"))
        .header("accept", "application/vnd.apache.arrow.stream")
        .body(Body::from(json!({ "sql": q }).to_string()))
        .expect("request");
    let a = send(&t.app, req).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("application/vnd.apache.arrow.stream"));
    assert_eq!(a.header("x-floodlight-rows"), Some("3"));
    let reader = arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(a.body), None).expect("arrow stream");
    let batches: Vec<_> = reader.collect::<Result<_, _>>().expect("batches");
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
    assert_eq!(batches[0].schema().field(0).name(), "user");
}

#[tokio::test]
async fn row_limits_cut_and_say_so() {
    let t = api().await;
    let a = sql(&t.app, json!({ "sql": "SELECT value FROM generate_series(1, 100)", "max_rows": 10 })).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("x-floodlight-truncated"), Some("true"));
    let v = a.json();
    assert_eq!((v["row_count"].as_u64(), v["truncated"].as_bool()), (Some(10), Some(true)));
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(10));

    // Exactly at the limit: not truncated.
    let a = sql(&t.app, json!({ "sql": "SELECT value FROM generate_series(1, 10)", "max_rows": 10 })).await;
    assert_eq!((a.json()["row_count"].as_u64(), a.json()["truncated"].as_bool()), (Some(10), Some(false)));

    for bad in [
        json!({"sql": "SELECT 1", "max_rows": 0}),
        json!({"sql": "SELECT 1", "timeout_ms": 999}),
        json!({"sql": "SELECT 1", "timeout_ms": 86_400_001}),
    ] {
        sql(&t.app, bad).await.error(400, "bad_request");
    }
}

#[tokio::test]
async fn forbidden_statements_are_refused_by_kind() {
    let t = api().await;
    for (statement, kind) in [
        ("INSERT INTO findings SELECT * FROM findings", "INSERT"),
        ("CREATE TABLE t AS SELECT 1", "CREATE TABLE"),
        ("COPY findings TO '/tmp/out.parquet'", "COPY"),
        ("CREATE EXTERNAL TABLE x STORED AS PARQUET LOCATION '/etc/'", "CREATE EXTERNAL TABLE"),
        ("SET datafusion.execution.batch_size = 1", "SET"),
        ("DROP TABLE findings", "DROP TABLE"),
        ("SELECT * FROM read_parquet('/etc/passwd')", "read_parquet"),
        ("SELECT 1; SELECT 2", "one statement at a time"),
    ] {
        let message = sql(&t.app, json!({ "sql": statement })).await.error(400, "forbidden_statement");
        assert!(message.contains(kind), "{statement}: {message}");
    }
    let message = sql(&t.app, json!({ "sql": "SELEC 1" })).await.error(400, "bad_query");
    assert!(message.contains("parse"), "{message}");
    let message = sql(&t.app, json!({ "sql": "SELECT * FROM no_such_table" })).await.error(400, "bad_query");
    assert!(message.contains("no_such_table"), "{message}");
    // The lake was not changed.
    let a = sql(&t.app, json!({ "sql": "SELECT count(*) AS n FROM findings_latest" })).await;
    assert_eq!(a.json()["rows"], json!([{"n": 7}]));
}

#[tokio::test]
async fn bodies_that_are_not_query_requests_are_400_and_big_ones_413() {
    let t = api().await;
    for body in [
        json!({}),
        json!({"sql": 1}),
        json!({"sql": "SELECT 1", "format": "xml"}),
        json!({"sql": "SELECT 1", "extra": 1}),
    ] {
        sql(&t.app, body).await.error(400, "bad_request");
    }
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/query")
        .header("authorization", format!("Bearer {ANALYST_TOKEN}"))
        .body(Body::from("not json"))
        .expect("request");
    send(&t.app, req).await.error(400, "bad_request");

    let big = json!({ "sql": format!("SELECT '{}'", "x".repeat(2 * 1024 * 1024)) });
    sql(&t.app, big).await.error(413, "payload_too_large");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_query_is_stopped_at_its_time_limit() {
    let t = api().await;
    let started = Instant::now();
    let a = sql(&t.app, json!({ "sql": "SELECT count(*) FROM generate_series(1, 100000000000)", "timeout_ms": 1000 }))
        .await;
    let took = started.elapsed();
    eprintln!("runaway query answered after {took:?}");
    let message = a.error(408, "query_timeout");
    assert!(message.contains("1 s"), "{message}");
    assert!(took >= Duration::from_millis(1000) && took < Duration::from_millis(2500), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_hungry_query_is_stopped_by_the_pool() {
    let t = api_with(floodlight_analyst::QueryLimits { memory_bytes: 16 * 1024 * 1024, ..limits() }).await;
    let started = Instant::now();
    let a = sql(&t.app, json!({ "sql": "SELECT value FROM generate_series(1, 50000000) ORDER BY value DESC" })).await;
    let message = a.error(507, "query_memory");
    eprintln!("memory answer after {:?}: {message}", started.elapsed());
    assert!(message.contains("16 MiB"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    // The pool is free again: the next query runs.
    let a = sql(&t.app, json!({ "sql": "SELECT count(*) AS n FROM network" })).await;
    assert_eq!(a.json()["rows"], json!([{"n": 6}]));
}

#[tokio::test]
async fn findings_page_with_cursors_without_overlap_or_gaps() {
    let t = api().await;
    let mut seen = Vec::new();
    let mut uri = "/api/v1/findings?limit=3".to_string();
    let mut pages = 0;
    loop {
        let a = get(&t.app, &uri).await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let v = a.json();
        let ids = strings(&v["findings"], "finding_id");
        assert!(ids.len() <= 3);
        seen.extend(ids);
        pages += 1;
        match v["next_cursor"].as_str() {
            Some(c) => uri = format!("/api/v1/findings?limit=3&cursor={c}"),
            None => break,
        }
        assert!(pages < 10, "cursor loop");
    }
    assert_eq!(pages, 3);
    // Newest first, each finding once, all of them.
    assert_eq!(seen, ["f-07", "f-06", "f-05", "f-04", "f-03", "f-02", "f-01"]);

    // The latest revision only.
    let a = get(&t.app, "/api/v1/findings?limit=500&rule=SS-01&user=alice").await;
    let v = a.json();
    assert_eq!(strings(&v["findings"], "finding_id"), ["f-07", "f-02", "f-01"]);
    assert_eq!(v["findings"][2]["revision"], 2);
    assert_eq!(v["next_cursor"], Value::Null);
}

#[tokio::test]
async fn findings_filters() {
    let t = api().await;
    let ids = |v: Value| strings(&v["findings"], "finding_id");
    assert_eq!(ids(get(&t.app, "/api/v1/findings?severity=low&user=bob").await.json()), ["f-05", "f-04"]);
    assert_eq!(ids(get(&t.app, "/api/v1/findings?app=ChatGPT").await.json()), ["f-06", "f-05", "f-04"]);
    assert_eq!(ids(get(&t.app, "/api/v1/findings?q=TWICE").await.json()), ["f-01"]);
    assert_eq!(ids(get(&t.app, "/api/v1/findings?family=email_forwarding").await.json()), Vec::<String>::new());
    assert_eq!(
        ids(get(&t.app, "/api/v1/findings?since=2026-11-24T12:00:00Z&until=2026-11-24T14:00:00Z").await.json()),
        ["f-05", "f-04"]
    );
    assert_eq!(ids(get(&t.app, "/api/v1/findings?since=2026-11-25").await.json()), Vec::<String>::new());
    // Empty values do not filter.
    assert_eq!(ids(get(&t.app, "/api/v1/findings?rule=&since=").await.json()).len(), 7);

    for bad in [
        "/api/v1/findings?limit=0",
        "/api/v1/findings?limit=501",
        "/api/v1/findings?limit=ten",
        "/api/v1/findings?since=last-tuesday",
        "/api/v1/findings?until=2026-13-45",
        "/api/v1/findings?cursor=not-a-cursor",
        "/api/v1/findings?cursor=%2B5.f-01",
        "/api/v1/findings?since=%207d",
        "/api/v1/findings?since=1h%2030m",
    ] {
        get(&t.app, bad).await.error(400, "bad_request");
    }
}

#[tokio::test]
async fn one_finding_with_revisions_and_sample_events() {
    let t = api().await;
    let a = get(&t.app, "/api/v1/findings/f-01").await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let v = a.json();
    assert_eq!(v["finding"]["revision"], 2);
    assert_eq!(v["finding"]["message"], "alice used wetransfer twice");
    assert_eq!(v["revisions"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["revisions"][0]["revision"], 1);
    assert_eq!(strings(&v["sample_events"], "event_id"), ["ev-01", "ev-02"]);
    assert_eq!(v["sample_events"][1]["bytes_out"], 2000);

    let message = get(&t.app, "/api/v1/findings/f-99").await.error(404, "not_found");
    assert!(message.contains("f-99"), "{message}");
}

#[tokio::test]
async fn discovered_apps_report() {
    let t = api().await;
    let v = get(&t.app, "/api/v1/apps/discovered").await.json();
    assert_eq!(v["since"], Value::Null);
    let apps = v["apps"].as_array().expect("apps");
    assert_eq!(strings(&v["apps"], "app_id"), ["wetransfer", "chatgpt"]);
    let wt = &apps[0];
    assert_eq!(wt["name"], "WeTransfer");
    assert_eq!(wt["risk"], 7);
    assert_eq!((wt["users"].as_i64(), wt["devices"].as_i64(), wt["events"].as_i64()), (Some(2), Some(3), Some(4)));
    assert_eq!((wt["bytes_up"].as_i64(), wt["bytes_down"].as_i64()), (Some(7500), Some(75)));
    assert_eq!(
        wt["trend"],
        json!([
            {"date": "2026-11-24", "events": 3, "users": 2, "bytes_up": 3500},
            {"date": "2026-11-25", "events": 1, "users": 1, "bytes_up": 4000},
        ])
    );

    let v = get(&t.app, "/api/v1/apps/discovered?since=2026-11-25").await.json();
    assert_eq!(v["since"], "2026-11-25T00:00:00.000Z");
    assert_eq!(strings(&v["apps"], "app_id"), ["wetransfer"]);
    assert_eq!(v["apps"][0]["events"], 1);

    get(&t.app, "/api/v1/apps/discovered?since=soon").await.error(400, "bad_request");
}

#[tokio::test]
async fn a_person_and_an_unknown_one() {
    let t = api().await;
    let a = get(&t.app, "/api/v1/users/bob").await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let v = a.json();
    assert_eq!(v["user"], "bob");
    assert_eq!(v["directory"], Value::Null);
    assert_eq!(
        v["findings_by_rule"]
            .as_array()
            .expect("by rule")
            .iter()
            .map(|r| (r["rule_id"].as_str().unwrap_or_default(), r["findings"].as_i64().unwrap_or_default()))
            .collect::<Vec<_>>(),
        [("SS-03", 2), ("SS-01", 1)]
    );
    assert_eq!(strings(&v["recent_findings"], "finding_id"), ["f-05", "f-04", "f-03"]);
    assert_eq!(strings(&v["apps"], "app_id"), ["chatgpt", "wetransfer"]);

    get(&t.app, "/api/v1/users/nobody").await.error(404, "not_found");
    get(&t.app, "/api/v1/users/bob?since=whenever").await.error(400, "bad_request");
}

#[tokio::test]
async fn tokens_and_roles() {
    let t = api().await;
    // No token, a wrong one, another scheme: one answer, no hint which.
    let mut messages = BTreeSet::new();
    for token_header in [None, Some("Bearer wrong-token"), Some("Basic YWxhZGRpbjpvcGVuc2VzYW1l"), Some("Bearer ")] {
        let mut req = Request::builder().uri("/api/v1/tables");
        if let Some(h) = token_header {
            req = req.header("authorization", h);
        }
        let a = send(&t.app, req.body(Body::empty()).expect("request")).await;
        messages.insert(a.error(401, "unauthorized"));
        assert_eq!(a.header("www-authenticate"), Some("Bearer"));
    }
    assert_eq!(messages.len(), 1, "{messages:?}");

    let a = call(&t.app, Method::GET, "/api/v1/admin/tokens", Some(ANALYST_TOKEN), None).await;
    assert_eq!(a.error(403, "forbidden"), "needs role admin");
    let a = call(&t.app, Method::GET, "/api/v1/admin/tokens", None, None).await;
    a.error(401, "unauthorized");

    let a = call(&t.app, Method::GET, "/api/v1/admin/tokens", Some(ADMIN_TOKEN), None).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.json(),
        json!({"tokens": [{"name": "soc-alice", "role": "analyst"}, {"name": "console", "role": "admin"}]})
    );
    let text = String::from_utf8_lossy(&a.body);
    assert!(!text.contains(&floodlight_server::hash_token(ADMIN_TOKEN)) && !text.contains(ADMIN_TOKEN));
    // An admin may do what an analyst may.
    assert_eq!(call(&t.app, Method::GET, "/api/v1/tables", Some(ADMIN_TOKEN), None).await.status, 200);
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_json() {
    let t = api().await;
    let a = get(&t.app, "/api/v1/nothing-here").await;
    a.error(404, "not_found");
    let a = call(&t.app, Method::DELETE, "/api/v1/findings", Some(ANALYST_TOKEN), None).await;
    a.error(405, "method_not_allowed");
    assert_eq!(a.header("allow"), Some("GET,HEAD"));
    let a = call(&t.app, Method::GET, "/api/v1/query", Some(ANALYST_TOKEN), None).await;
    a.error(405, "method_not_allowed");
    assert_eq!(a.header("allow"), Some("POST"));
    // Without a token the guard answers first: which methods a guarded
    // path takes is not told to strangers.
    call(&t.app, Method::GET, "/api/v1/query", None, None).await.error(401, "unauthorized");
    // The public document's path tells anyone.
    let a = call(&t.app, Method::POST, "/api/v1/openapi.json", None, None).await;
    a.error(405, "method_not_allowed");
    // Every answer has an id and is not cached.
    assert!(a.header("x-request-id").is_some_and(|id| id.parse::<u64>().is_ok()));
    assert_eq!(a.header("cache-control"), Some("no-store"));
}
