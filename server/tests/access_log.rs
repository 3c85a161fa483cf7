//! The access log, captured: one line per request with the method, the
//! path, the status, the latency and the token's name, and nothing secret.
//!
//! Its own test binary: the capturing subscriber is the thread's default,
//! and tracing caches per call site whether anyone listens, which tests
//! running beside it without a subscriber would disturb.

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::Method;
use common::*;

/// A `MakeWriter` into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn the_access_log_names_the_token_but_holds_no_secret_sql_or_rows() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    // This test's runtime is single-threaded: the default subscriber sees every request.
    let _guard = tracing::subscriber::set_default(subscriber);

    let t = api().await;
    let marker_sql = "SELECT 'row-marker-5150' AS secret_column_marker";
    let a = sql(&t.app, serde_json::json!({ "sql": marker_sql })).await;
    assert_eq!(a.status, 200);
    let a = get(&t.app, "/api/v1/findings?user=query-string-marker&limit=2").await;
    assert_eq!(a.status, 200);
    let a = call(&t.app, Method::GET, "/api/v1/tables", Some("wrong-token-marker"), None).await;
    assert_eq!(a.status, 401);
    let a = sql(&t.app, serde_json::json!({ "sql": "SELEC 'syntax-marker'" })).await;
    assert_eq!(a.status, 400);

    let log = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    let access: Vec<&str> = log.lines().filter(|l| l.contains("floodlight_server::access")).collect();
    assert_eq!(access.len(), 4, "{log}");
    assert!(access[0].contains("method=POST") && access[0].contains("path=/api/v1/query"), "{}", access[0]);
    assert!(access[0].contains("status=200") && access[0].contains("token=soc-alice"), "{}", access[0]);
    assert!(access[0].contains("latency_ms="), "{}", access[0]);
    assert!(access[1].contains("path=/api/v1/findings ") && access[1].contains("status=200"), "{}", access[1]);
    assert!(access[2].contains("status=401") && access[2].contains("token=-"), "{}", access[2]);
    assert!(access[3].contains("status=400"), "{}", access[3]);
    for secret in [
        ANALYST_TOKEN,
        "wrong-token-marker",
        "Bearer",
        "row-marker-5150",
        "secret_column_marker",
        "query-string-marker",
        "syntax-marker",
        "limit=2",
    ] {
        assert!(!log.contains(secret), "the log holds `{secret}`:\n{log}");
    }
}
