//! The admin listener: what Kubernetes' probes and Prometheus ask. Its own
//! port (`[admin] listen`), no authentication, nothing an analyst could
//! use, so it is never exposed beside the API:
//!
//! | endpoint | answers |
//! |---|---|
//! | `GET /healthz` | 200 `{"status":"ok"}`; 503 naming the work that has been running longer than `[admin] wedged_after` |
//! | `GET /readyz` | 200 when rules are compiled, enrichment data is loaded and every source is connected, 503 before that and from SIGTERM on; the body lists each check |
//! | `GET /metrics` | every `floodlight_*` metric, Prometheus text format 0.0.4 |
//!
//! The metrics are recorded by `floodlight_pipeline::internal_events` (each
//! event emits its log line and its metrics from one place) into the
//! `metrics` crate's global recorder, which [`install_recorder`] sets to
//! `metrics-exporter-prometheus`'s. Gauges read from state rather than
//! events (consumer lag, snapshot age, GeoIP cache) are refreshed by the
//! registered collectors at each scrape. The listener is started before the
//! pipeline is built, so `/readyz` answers 503 while rules compile.
//!
//! ```no_run
//! # async fn demo() -> Result<(), floodlight_server::ServerError> {
//! let cfg = floodlight_pipeline::admin_config::AdminConfig::on("0.0.0.0:9598".parse().unwrap());
//! let admin = floodlight_server::admin::start(&cfg).await?;
//! println!("probes on http://{}", admin.addr);
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use floodlight_pipeline::admin_config::AdminConfig;
use floodlight_pipeline::health::{health, Check};
use floodlight_pipeline::internal_events::{self, emit, prom, HealthObserved};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::error::ServerError;
use crate::serve::{serve_named, ConnectionLimits};

/// Histogram buckets for every `*_seconds` histogram (batch stages, rule runs):
/// 100 µs to 10 s.
pub const SECONDS_BUCKETS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The Prometheus text format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Install the Prometheus recorder as the process's `metrics` recorder
/// (once; later calls return the same handle) and describe every metric.
pub fn install_recorder() -> Result<PrometheusHandle, ServerError> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .map_err(|e| ServerError::Admin(format!("metrics buckets: {e}")))?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)
        .map_err(|e| ServerError::Admin(format!("cannot install the metrics recorder: {e}")))?;
    internal_events::describe_metrics();
    metrics::gauge!(prom::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(HANDLE.get_or_init(|| handle).clone())
}

#[derive(Clone)]
struct AdminState {
    handle: PrometheusHandle,
    wedged_after: Duration,
}

/// The admin routes: `/healthz`, `/readyz`, `/metrics`.
pub fn router(handle: PrometheusHandle, wedged_after: Duration) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(scrape))
        .with_state(AdminState { handle, wedged_after })
}

/// A running admin listener.
#[derive(Debug)]
pub struct Admin {
    /// The address it listens on (the real port when `listen` said 0).
    pub addr: SocketAddr,
    /// Stops it (it otherwise runs until the process ends).
    pub stop: CancellationToken,
}

/// Install the recorder, bind `cfg.listen` and serve the admin routes in
/// the background until the process ends (or [`Admin::stop`]): it keeps
/// answering while the pipeline drains, so `/readyz` says 503 then.
pub async fn start(cfg: &AdminConfig) -> Result<Admin, ServerError> {
    let problems = cfg.problems(None);
    if !problems.is_empty() {
        return Err(ServerError::Admin(
            problems.into_iter().map(|(k, p)| format!("{k}: {p}")).collect::<Vec<_>>().join("; "),
        ));
    }
    let wedged_after = cfg.wedged_after().map_err(ServerError::Admin)?;
    let handle = install_recorder()?;
    let listener =
        TcpListener::bind(cfg.listen).await.map_err(|source| ServerError::Bind { addr: cfg.listen, source })?;
    let addr = listener.local_addr()?;
    let stop = CancellationToken::new();
    let app = router(handle.clone(), wedged_after);
    let token = stop.clone();
    // Keep the exporter's histograms from growing without bound between scrapes.
    let upkeep = handle.clone();
    let upkeep_stop = stop.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = tick.tick() => upkeep.run_upkeep(),
                _ = upkeep_stop.cancelled() => break,
            }
        }
    });
    tokio::spawn(async move {
        if let Err(e) = serve_named("admin listener", listener, app, None, ConnectionLimits::default(), token).await {
            tracing::error!(error = %e, "the admin listener failed");
        }
    });
    Ok(Admin { addr, stop })
}

async fn healthz(State(st): State<AdminState>) -> Response {
    let wedged = health().wedged(st.wedged_after);
    if wedged.is_empty() {
        return (StatusCode::OK, Json(json!({"status": "ok"}))).into_response();
    }
    let tasks: Vec<Value> =
        wedged.iter().map(|w| json!({"task": w.task, "busy_seconds": w.busy_for.as_secs_f64()})).collect();
    tracing::warn!(tasks = ?wedged.iter().map(|w| &w.task).collect::<Vec<_>>(), "liveness probe failed: work is wedged");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({
            "status": "wedged",
            "wedged_after_seconds": st.wedged_after.as_secs_f64(),
            "wedged": tasks,
        })),
    )
        .into_response()
}

async fn readyz() -> Response {
    let r = health().readiness();
    emit(HealthObserved { ready: r.ready, draining: r.draining });
    let checks: Map<String, Value> = r
        .checks
        .iter()
        .map(|(name, c)| {
            let v = match c {
                Check::Passed => json!("ok"),
                Check::Waiting(what) => json!(format!("waiting: {what}")),
            };
            (name.clone(), v)
        })
        .collect();
    let status = if r.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({"ready": r.ready, "draining": r.draining, "checks": checks}))).into_response()
}

async fn scrape(State(st): State<AdminState>) -> Response {
    internal_events::collect();
    let r = health().readiness();
    emit(HealthObserved { ready: r.ready, draining: r.draining });
    let body = st.handle.render();
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use floodlight_pipeline::internal_events::{KafkaConsumerLag, KafkaRebalanced};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get_path(app: &Router, path: &str) -> (StatusCode, String, Option<String>) {
        let resp = app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = resp.status();
        let ct = resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned(), ct)
    }

    // One test: the health state and the recorder are process-wide.
    #[tokio::test]
    async fn probes_follow_health_and_metrics_render() {
        health().reset();
        let app = router(install_recorder().unwrap(), Duration::from_millis(50));

        health().expect("rules", "compiling rules");
        let (status, body, _) = get_path(&app, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["checks"]["rules"], "waiting: compiling rules");
        assert_eq!(v["ready"], false);

        health().pass("rules");
        let (status, body, _) = get_path(&app, "/readyz").await;
        assert_eq!(status, StatusCode::OK, "{body}");

        let (status, body, _) = get_path(&app, "/healthz").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let busy = health().busy("detection");
        tokio::time::sleep(Duration::from_millis(80)).await;
        let (status, body, _) = get_path(&app, "/healthz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("\"task\":\"detection\""), "{body}");
        drop(busy);
        assert_eq!(get_path(&app, "/healthz").await.0, StatusCode::OK);

        let (status, body, ct) = get_path(&app, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ct.as_deref(), Some(CONTENT_TYPE));
        assert!(body.contains("floodlight_ready 1"), "{body}");
        assert!(body.contains(&format!("floodlight_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"))));

        // A revoked partition's lag is its new owner's to report.
        emit(KafkaConsumerLag { topic: "fw", partition: 3, lag: 1200 });
        assert!(get_path(&app, "/metrics")
            .await
            .1
            .contains("floodlight_kafka_consumer_lag{topic=\"fw\",partition=\"3\"} 1200"));
        emit(KafkaRebalanced { kind: "revoked", partitions: &["fw/3".to_string()] });
        let body = get_path(&app, "/metrics").await.1;
        assert!(body.contains("floodlight_kafka_consumer_lag{topic=\"fw\",partition=\"3\"} 0"), "{body}");

        health().set_draining();
        let (status, body, _) = get_path(&app, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("\"draining\":true"), "{body}");
        assert!(get_path(&app, "/metrics").await.1.contains("floodlight_draining 1"));
        // Draining is not death.
        assert_eq!(get_path(&app, "/healthz").await.0, StatusCode::OK);
        health().reset();
    }
}
