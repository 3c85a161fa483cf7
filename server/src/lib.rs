//! The analyst HTTP API: what `floodlight serve` (and `run --serve`)
//! answers, for SOC tools, notebooks and scripts that want the lake
//! without a shell on the machine.
//!
//! It is a thin layer over `floodlight-analyst`: the same read-only guard
//! and limits as `floodlight query`, the reports of
//! `floodlight_analyst::reports`. What this crate adds is HTTP:
//!
//! | endpoint | what | who |
//! |---|---|---|
//! | `POST /api/v1/query` | one read-only SQL statement; JSON, CSV or Arrow | analyst |
//! | `GET /api/v1/findings` | findings with filters, a page at a time | analyst |
//! | `GET /api/v1/findings/{id}` | one finding, its revisions and sample events | analyst |
//! | `GET /api/v1/apps/discovered` | the discovery report | analyst |
//! | `GET /api/v1/users/{user}` | one person's picture | analyst |
//! | `GET /api/v1/tables` | the tables and their columns | analyst |
//! | `GET /api/v1/admin/tokens` | the configured tokens (names, roles) | admin |
//! | `GET /api/v1/openapi.json` | the OpenAPI 3.1 document | anyone |
//!
//! - [`auth`]: bearer tokens, kept as SHA-256 hashes, compared in constant time;
//! - [`api`]: the handlers, each with the `#[utoipa::path]` that documents it;
//! - [`model`]: the bodies, the same types for serving and documenting;
//! - [`error`]: start-up errors and the API's JSON errors (which status means what);
//! - [`extract`]: extractors whose failures are JSON errors;
//! - [`params`]: `since`, `until`, `cursor`: their documented grammar and its parser;
//! - [`access`]: request ids, the access log, JSON for axum's own 404/405;
//! - [`serve`](mod@serve): HTTP or HTTPS (rustls, ring), graceful shutdown;
//! - [`admin`]: the admin listener (`/healthz`, `/readyz`, `/metrics`), no token, its own port.
//!
//! ```no_run
//! # async fn demo(lake: floodlight_analyst::Lake, cfg: floodlight_pipeline::analyst_config::ServerConfig)
//! # -> Result<(), floodlight_server::ServerError> {
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! floodlight_server::serve(lake, &cfg, std::path::Path::new("/etc/floodlight"), None, shutdown).await?;
//! # Ok(()) }
//! ```

pub mod access;
pub mod admin;
pub mod api;
pub mod auth;
pub mod console;
pub mod error;
pub mod extract;
pub mod model;
pub mod nudges;
pub mod params;
pub mod serve;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;
use floodlight_analyst::Lake;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use api::AppState;
pub use auth::{hash_token, Auth, Caller};
pub use console::Console;
pub use error::{ApiError, ErrorBody, ServerError};
pub use serve::{serve, serve_on, ConnectionLimits, Tls};

/// The largest request body the API reads (1 MiB): larger ones get 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Every route, with the document they make together.
fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(base_document())
        .merge(api::public_routes())
        .merge(api::analyst_routes())
        .merge(api::admin_routes())
}

/// The document's parts no handler provides: info, tags, the security scheme.
fn base_document() -> OpenApi {
    use utoipa::openapi::tag::TagBuilder;
    use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApiBuilder};
    let info = InfoBuilder::new()
        .title("floodlight analyst API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "SQL, findings and reports over floodlight's Parquet lake. Every endpoint but this document needs \
             `Authorization: Bearer <token>`. Errors are JSON: `{\"error\": code, \"message\": text}`.",
        ))
        .build();
    let tag = |name: &str, about: &str| TagBuilder::new().name(name).description(Some(about)).build();
    OpenApiBuilder::new()
        .info(info)
        .tags(Some([
            tag("query", "Analyst SQL on the lake's tables"),
            tag("findings", "Findings and their evidence"),
            tag("reports", "Discovery report and people"),
            tag("admin", "Administration (admin tokens only)"),
            tag("meta", "This document"),
        ]))
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)))
                .build(),
        ))
        .build()
}

/// The OpenAPI 3.1 document of the API, generated from the handlers.
pub fn openapi() -> OpenApi {
    documented_routes().into_openapi()
}

/// The API as an axum router: every route, its guard, the access log.
pub fn router(lake: Lake, auth: Auth) -> Router {
    app(lake, auth, None)
}

/// The API and, with `console`, the web console under `/` (see
/// [`console`]): what `floodlight serve` answers.
pub fn app(lake: Lake, auth: Auth, console: Option<Console>) -> Router {
    let auth = Arc::new(auth);
    let store = console.as_ref().map(|c| c.store.clone());
    let nudger = console.as_ref().and_then(|c| c.nudger.clone());
    let console_routes = console.map(|c| console::router(lake.clone(), auth.clone(), c));
    // Serialized once, here rather than per request.
    let document = match openapi().to_json() {
        Ok(json) => Bytes::from(json),
        Err(e) => {
            tracing::error!(target: "floodlight_server", error = %e, "cannot serialize the OpenAPI document");
            Bytes::from_static(b"{}")
        }
    };
    let state = AppState { lake, auth: auth.clone(), openapi: document, store, nudger };
    let guarded = api::analyst_routes()
        .merge(api::admin_routes().route_layer(from_fn(auth::require_admin)))
        .route_layer(from_fn_with_state(auth, auth::require_token));
    let (routes, _) = OpenApiRouter::new().merge(api::public_routes()).merge(guarded).split_for_parts();
    let mut routes = routes.with_state(state);
    if let Some(console) = console_routes {
        routes = routes.merge(console);
    }
    routes
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(access::panic_answer))
        .layer(from_fn(access::json_errors))
        .layer(from_fn(access::access_log))
}
