//! What wraps every request, outermost first:
//!
//! 1. [`access_log`]: gives the request an id (`x-request-id` on the
//!    answer, and a tracing span so any error logged while it runs carries
//!    the id), then logs one INFO line on the target
//!    `floodlight_server::access` when it is answered: method, path
//!    **without the query string**, status, latency in ms, and the name of
//!    the token that called (`-` without one). Never the `Authorization`
//!    header, the token, the SQL or any row: a query string can hold a
//!    person's name, a body holds SQL, and logs travel further than the
//!    lake does.
//! 2. [`json_errors`]: answers that axum itself produces (404 for an
//!    unknown path, 405 for a method a path does not take, with its
//!    `Allow` header) come with a plain-text or empty body; this gives them
//!    the API's JSON error body, so a client parses every error one way.
//! 3. a panic catcher: a handler that panics answers 500 `internal`
//!    instead of dropping the connection.
//!
//! Every answer also gets `Cache-Control: no-store` (findings and query
//! results should not sit in shared caches), unless it says otherwise itself:
//! the console's static files are cached for good.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};

/// The header that carries a request's id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Middleware: request id, span, and the access log line.
pub async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let span = tracing::info_span!(target: "floodlight_server", "request", request_id = id);
    let mut response = next.run(request).instrument(span).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let caller = response.extensions().get::<Caller>().map(|c| c.name.clone());
    tracing::info!(
        target: "floodlight_server::access",
        request_id = id,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_ms = format_args!("{latency_ms:.1}"),
        token = %caller.as_deref().unwrap_or("-"),
        "request"
    );
    let headers = response.headers_mut();
    headers.insert(REQUEST_ID_HEADER, HeaderValue::from(id));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Middleware: JSON bodies for the error answers axum writes itself.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    // JSON errors stay as they are, and so do the console's HTML pages.
    let is_json_or_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_json_or_page {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such endpoint; the API is described at /api/v1/openapi.json"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "this endpoint does not take that method; the Allow header lists those it takes")
        }
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
        s if s.is_client_error() => ("bad_request", s.canonical_reason().unwrap_or("bad request")),
        _ => ("internal", "internal error; the server log has the details (look for this answer's x-request-id)"),
    };
    let body = ErrorBody { error: code.into(), message: message.into() };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    match serde_json::to_vec(&body) {
        Ok(bytes) => Response::from_parts(parts, Body::from(bytes)),
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

/// The answer for a handler that panicked (for `CatchPanicLayer`).
pub fn panic_answer(_payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    // The payload can hold anything the handler had; it is not logged.
    ApiError::internal(&"a request handler panicked").into_response()
}
