//! The two kinds of failure this crate has, kept apart on purpose:
//!
//! - [`ServerError`]: the server cannot start or keep serving (a token that
//!   cannot be read, a bad certificate, a port in use). The binary prints it
//!   and exits.
//! - [`ApiError`]: one request failed. It becomes an HTTP status and the
//!   JSON body every error of the API has, `{"error": "<code>", "message":
//!   "<sentence>"}`: `error` is a stable machine-readable code, `message` is
//!   for people. Internals (file paths, DataFusion plans, panics) never
//!   reach the body; they go to the server log under the request's id.
//!
//! How [`AnalystError`] maps to a status (also in the OpenAPI document):
//!
//! | analyst error | status | `error` |
//! |---|---|---|
//! | `Refused` (a statement kind or table function the guard forbids, several statements) | 400 | `forbidden_statement` |
//! | `Refused` (does not parse, too complex, empty) and `Input` from analyst SQL | 400 | `bad_query` |
//! | `Input` from a report (a bad cursor) | 400 | `bad_request` |
//! | `NotFound` | 404 | `not_found` |
//! | `Timeout` | **408** Request Timeout | `query_timeout` |
//! | `Memory` | **507** Insufficient Storage | `query_memory` |
//! | `Lake` | 503 | `lake_unavailable` |
//! | `Output` | 500 | `output_error` |
//! | `Input` where no request value was involved (the catalog) | 500 | `internal` |
//!
//! 408 rather than 504 for a query that ran out of its time limit: the
//! limit is the request's own (`timeout_ms`, or the server's `[query]
//! timeout`) and the fix is a narrower query, so it is the client's error;
//! a 5xx would tell monitoring the server is failing and, worse, invite
//! the generic retry policies (retry on 502/503/504) to run the same
//! expensive query again and again on a machine the pipeline shares.
//! 507 rather than 413 for a query that needed more memory than the pool:
//! 413 already means "request body too large" here (the 1 MiB body limit)
//! and the two need different fixes; 507 is in no common retry list.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use floodlight_analyst::{AnalystError, GuardError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why the server could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The `[server]` section has problems (setting, problem).
    #[error("[server]: {}", .0.iter().map(|(k, p)| format!("{k}: {p}")).collect::<Vec<_>>().join("; "))]
    Config(Vec<(String, String)>),
    /// The console's store cannot be opened (the URL's password is never printed).
    #[error("[server.console] store: {0}")]
    Store(#[from] floodlight_store::StoreError),
    /// The console's catalog or overlay cannot be loaded.
    #[error("[server.console]: {0}")]
    Console(String),
    /// `[nudges]` cannot be used (a secret, a channel, the templates).
    #[error("[nudges]: {0}")]
    Nudges(String),
    /// A token's `sha256` is not 64 hex digits.
    #[error("token `{name}`: `sha256` must be 64 hex digits (`floodlight token hash`)")]
    TokenHash {
        /// The token's name.
        name: String,
    },
    /// A token's environment variable is not set, or empty (its value is never printed).
    #[error("token `{name}`: environment variable `{var}` is not set or empty")]
    TokenEnv {
        /// The token's name.
        name: String,
        /// The variable.
        var: String,
    },
    /// A token's file cannot be read.
    #[error("token `{name}`: cannot read `{}`: {source}", path.display())]
    TokenFile {
        /// The token's name.
        name: String,
        /// The file, as resolved against the config's directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A token's file holds nothing but white space.
    #[error("token `{name}`: `{}` is empty", path.display())]
    TokenFileEmpty {
        /// The token's name.
        name: String,
        /// The file.
        path: PathBuf,
    },
    /// The TLS certificate or key cannot be loaded.
    #[error("TLS: {0}")]
    Tls(String),
    /// `[admin]` or its metrics recorder cannot be set up.
    #[error("[admin]: {0}")]
    Admin(String),
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed after the server started.
    #[error("the API server failed: {0}")]
    Serve(#[from] std::io::Error),
}

/// The JSON body of every error answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable code: `unauthorized`, `forbidden`, `bad_request`, `bad_query`,
    /// `forbidden_statement`, `not_found`, `method_not_allowed`,
    /// `payload_too_large`, `query_timeout`, `query_memory`,
    /// `lake_unavailable`, `output_error`, `internal`.
    #[schema(example = "forbidden_statement")]
    pub error: String,
    /// What happened, in a sentence for people.
    #[schema(
        example = "INSERT is not allowed: the query interface is read-only (SELECT, WITH, VALUES and EXPLAIN only)"
    )]
    pub message: String,
}

/// The HTTP status a query that ran out of time gets (see the module docs).
pub const TIMEOUT_STATUS: StatusCode = StatusCode::REQUEST_TIMEOUT;
/// The HTTP status a query that needed more memory than the pool gets.
pub const MEMORY_STATUS: StatusCode = StatusCode::INSUFFICIENT_STORAGE;

/// One failed request: a status, a code and a message.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `error` code.
    pub code: &'static str,
    /// The `message`.
    pub message: String,
}

/// Where an [`AnalystError`] came from: decides what `Input` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Analyst SQL: `Input` is a mistake in the query.
    Sql,
    /// A report with request parameters: `Input` is a bad parameter.
    Report,
    /// No request value was involved: `Input` is our failure.
    Internal,
}

impl ApiError {
    /// Any status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    /// 400 `bad_request`: a parameter or body the API cannot use.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500 `internal`. `detail` goes to the log, never to the client.
    pub fn internal(detail: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(target: "floodlight_server", error = %detail, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the server log has the details (look for this answer's x-request-id)",
        )
    }

    /// Turn an analyst error into an answer; see the table in the module docs.
    pub fn from_analyst(e: AnalystError, origin: Origin) -> ApiError {
        match e {
            AnalystError::Refused(g @ (GuardError::Syntax(_) | GuardError::TooComplex(_) | GuardError::Empty)) => {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_query", g.to_string())
            }
            AnalystError::Refused(g) => ApiError::new(StatusCode::BAD_REQUEST, "forbidden_statement", g.to_string()),
            AnalystError::Timeout { seconds } => ApiError::new(
                TIMEOUT_STATUS,
                "query_timeout",
                format!("the query was stopped after {seconds} s (the time limit); narrow it with a `date` filter"),
            ),
            e @ AnalystError::Memory { .. } => ApiError::new(MEMORY_STATUS, "query_memory", e.to_string()),
            AnalystError::NotFound(m) => ApiError::not_found(m),
            AnalystError::Input(m) => match origin {
                Origin::Sql => ApiError::new(StatusCode::BAD_REQUEST, "bad_query", m),
                Origin::Report => ApiError::bad_request(m),
                Origin::Internal => ApiError::internal(&m),
            },
            AnalystError::Lake(detail) => {
                // The detail names paths, buckets and endpoints: log only.
                tracing::warn!(target: "floodlight_server", error = %detail, "lake unavailable");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "lake_unavailable", "the lake cannot be read right now")
            }
            e @ AnalystError::Output(_) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "output_error", e.to_string())
            }
            AnalystError::Internal(detail) => ApiError::internal(&detail),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody { error: self.code.to_string(), message: self.message.clone() }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyst_errors_map_to_the_documented_statuses() {
        let cases = [
            (AnalystError::Refused(GuardError::Forbidden { kind: "INSERT".into() }), 400, "forbidden_statement"),
            (AnalystError::Refused(GuardError::Several(2)), 400, "forbidden_statement"),
            (AnalystError::Refused(GuardError::Syntax("x".into())), 400, "bad_query"),
            (AnalystError::Refused(GuardError::Empty), 400, "bad_query"),
            (AnalystError::Refused(GuardError::TooComplex("x".into())), 400, "bad_query"),
            (AnalystError::Timeout { seconds: 1.0 }, 408, "query_timeout"),
            (AnalystError::Memory { limit_mib: 16, detail: "d".into() }, 507, "query_memory"),
            (AnalystError::NotFound("x".into()), 404, "not_found"),
            (AnalystError::Input("x".into()), 400, "bad_query"),
            (AnalystError::Lake("s3://secret-bucket/x".into()), 503, "lake_unavailable"),
            (AnalystError::Output("x".into()), 500, "output_error"),
        ];
        for (e, status, code) in cases {
            let a = ApiError::from_analyst(e, Origin::Sql);
            assert_eq!((a.status.as_u16(), a.code), (status, code), "{a}");
            assert!(!a.message.contains("secret-bucket"), "{a}");
        }
        let a = ApiError::from_analyst(AnalystError::Input("bad cursor".into()), Origin::Report);
        assert_eq!((a.status.as_u16(), a.code), (400, "bad_request"));
        let a = ApiError::from_analyst(AnalystError::Input("plan detail".into()), Origin::Internal);
        assert_eq!((a.status.as_u16(), a.code), (500, "internal"));
        assert!(!a.message.contains("plan detail"));
    }

    #[test]
    fn unauthorized_answers_carry_the_challenge() {
        let r = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "no").into_response();
        assert_eq!(r.headers().get(header::WWW_AUTHENTICATE).map(|v| v.as_bytes()), Some(&b"Bearer"[..]));
    }
}
