//! The endpoints: one handler each, and beside it the `#[utoipa::path]`
//! that documents it, so the OpenAPI document is generated from the same
//! code that serves. Routes are grouped by who may call them:
//!
//! | group | routes | guard |
//! |---|---|---|
//! | [`public_routes`] | `GET /api/v1/openapi.json` | none |
//! | [`analyst_routes`] | query, findings, apps, users, tables | any token |
//! | [`admin_routes`] | `GET /api/v1/admin/tokens` | an admin token |
//!
//! [`crate::router`] puts the guards on the groups; [`crate::openapi`]
//! takes the document from the same three functions, so a route cannot be
//! served without being documented, or documented without being served.
//!
//! Every answer is JSON except a query answer asked for as CSV or Arrow.
//! Every documented error status can happen, and every error has the body
//! [`ErrorBody`]; see [`crate::error`] for which status means what.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use floodlight_analyst::format::rows_json;
use floodlight_analyst::lake::type_name;
use floodlight_analyst::reports::FindingFilter;
use floodlight_analyst::{Format, Lake, QueryLimits};
use floodlight_pipeline::schema::Timestamp;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody, Origin};
use crate::extract::{ApiPath, ApiQuery, JsonBody};
use crate::model::{
    DiscoveredAppsBody, ExplanationsBody, FindingDetailBody, FindingsPageBody, FindingsParams, QueryAnswer,
    QueryColumn, QueryFormat, QueryRequest, SinceParams, TablesBody, TokenBody, TokensBody, UserProfileBody,
    MAX_ROWS_LIMIT, MAX_TIMEOUT_MS, MIN_TIMEOUT_MS,
};
use crate::params::{parse_cursor, parse_time};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The lake the API answers from.
    pub lake: Lake,
    /// The configured tokens.
    pub auth: Arc<Auth>,
    /// The OpenAPI document, serialized once.
    pub openapi: Bytes,
    /// The console's store (answers to nudges), when the console is on.
    pub store: Option<floodlight_store::Store>,
    /// Nudges, when configured (names of alternatives in reports).
    pub nudger: Option<Arc<crate::nudges::Nudger>>,
}

/// Findings per page without `limit`.
pub const DEFAULT_PAGE: u32 = 100;
/// The most findings per page.
pub const MAX_PAGE: u32 = 500;

/// `X-Floodlight-Truncated`: whether the row limit cut the answer.
pub const TRUNCATED_HEADER: HeaderName = HeaderName::from_static("x-floodlight-truncated");
/// `X-Floodlight-Rows`: rows in the answer.
pub const ROWS_HEADER: HeaderName = HeaderName::from_static("x-floodlight-rows");

/// Routes anyone may call.
pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// Routes for any valid token.
pub fn analyst_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(query))
        .routes(routes!(findings))
        .routes(routes!(finding))
        .routes(routes!(discovered_apps))
        .routes(routes!(user_profile))
        .routes(routes!(explanations_report))
        .routes(routes!(tables))
}

/// Routes for admin tokens only.
pub fn admin_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(admin_tokens))
}

/// The format an `Accept` header asks for, if it names one of ours.
fn format_from_accept(headers: &HeaderMap) -> Option<QueryFormat> {
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    accept.split(',').find_map(|item| {
        let media = item.split(';').next().unwrap_or_default().trim();
        match media.to_ascii_lowercase().as_str() {
            "application/json" => Some(QueryFormat::Json),
            "text/csv" => Some(QueryFormat::Csv),
            "application/vnd.apache.arrow.stream" => Some(QueryFormat::Arrow),
            _ => None,
        }
    })
}

/// The errors of every endpoint that reads the lake for a report: no token,
/// and the lake being slow, unreadable or too big for the memory pool. Only
/// its OpenAPI description is used (`responses(..., LakeReadErrors)`).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum LakeReadErrors {
    #[response(status = 401, description = "`unauthorized`: no valid bearer token",
        headers(("WWW-Authenticate" = String, description = "`Bearer`")))]
    Unauthorized(ErrorBody),
    #[response(status = 408, description = "`query_timeout`: the lake took longer than the query time limit")]
    Timeout(ErrorBody),
    #[response(status = 500, description = "`internal`")]
    Internal(ErrorBody),
    #[response(status = 503, description = "`lake_unavailable`: the lake cannot be read")]
    Unavailable(ErrorBody),
    #[response(status = 507, description = "`query_memory`: the query memory pool was too small")]
    Memory(ErrorBody),
}

/// Run one read-only SQL statement.
#[utoipa::path(
    post,
    path = "/api/v1/query",
    tag = "query",
    description = "Runs one read-only statement (`SELECT`, `WITH`, `VALUES`, `EXPLAIN`) on the lake's tables \
        (`GET /api/v1/tables`). The answer's format is the body's `format`, else the `Accept` header \
        (`text/csv`, `application/vnd.apache.arrow.stream`), else JSON. `max_rows` and `timeout_ms` can only \
        lower the server's own limits.",
    request_body(content = QueryRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The answer", headers(
            ("X-Floodlight-Rows" = u64, description = "Rows in the answer"),
            ("X-Floodlight-Truncated" = bool, description = "`true` when the row limit cut the answer short"),
        ), content(
            (QueryAnswer = "application/json"),
            (String = "text/csv"),
            ("application/vnd.apache.arrow.stream"),
        )),
        (status = 400, description = "`forbidden_statement`: a statement kind or table function the API refuses \
            (the message names it); `bad_query`: the SQL does not parse or plan; `bad_request`: the body is not a \
            query request", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no valid bearer token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 408, description = "`query_timeout`: the query ran past its time limit and was stopped", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over 1 MiB", body = ErrorBody),
        (status = 500, description = "`output_error` or `internal`", body = ErrorBody),
        (status = 503, description = "`lake_unavailable`: the lake cannot be read", body = ErrorBody),
        (status = 507, description = "`query_memory`: the query needed more memory than the query pool allows", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn query(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<QueryRequest>,
) -> Result<Response, ApiError> {
    let own = state.lake.limits();
    let max_rows = match request.max_rows {
        None => own.max_rows,
        Some(n) if (1..=MAX_ROWS_LIMIT).contains(&n) => usize::try_from(n).unwrap_or(usize::MAX),
        Some(_) => return Err(ApiError::bad_request(format!("`max_rows` must be 1 to {MAX_ROWS_LIMIT}"))),
    };
    let timeout = match request.timeout_ms {
        None => own.timeout,
        Some(ms) if (MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&ms) => Duration::from_millis(ms),
        Some(_) => {
            return Err(ApiError::bad_request(format!("`timeout_ms` must be {MIN_TIMEOUT_MS} to {MAX_TIMEOUT_MS}")))
        }
    };
    let format = request.format.or_else(|| format_from_accept(&headers)).unwrap_or(QueryFormat::Json);
    let result = state
        .lake
        .query_limited(&request.sql, QueryLimits { timeout, max_rows, ..own })
        .await
        .map_err(|e| ApiError::from_analyst(e, Origin::Sql))?;

    let mut response = match format {
        QueryFormat::Json => {
            let columns = result
                .schema
                .fields()
                .iter()
                .map(|f| QueryColumn { name: f.name().clone(), data_type: type_name(f.data_type()) })
                .collect();
            let rows = rows_json(&result.batches).map_err(|e| ApiError::from_analyst(e, Origin::Sql))?;
            Json(QueryAnswer {
                columns,
                row_count: rows.len() as u64,
                rows,
                truncated: result.truncated,
                elapsed_ms: u64::try_from(result.elapsed.as_millis()).unwrap_or(u64::MAX),
            })
            .into_response()
        }
        QueryFormat::Csv | QueryFormat::Arrow => {
            let format = if format == QueryFormat::Csv { Format::Csv } else { Format::Arrow };
            let mut body = Vec::new();
            floodlight_analyst::write_result(&result, format, &mut body)
                .map_err(|e| ApiError::from_analyst(e, Origin::Sql))?;
            ([(header::CONTENT_TYPE, format.content_type())], Body::from(body)).into_response()
        }
    };
    let headers = response.headers_mut();
    headers.insert(ROWS_HEADER, HeaderValue::from(result.rows as u64));
    headers.insert(TRUNCATED_HEADER, HeaderValue::from_static(if result.truncated { "true" } else { "false" }));
    Ok(response)
}

/// Findings, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/findings",
    tag = "findings",
    description = "The latest revision of each finding matching every filter given, newest first. \
        Pass `next_cursor` back as `cursor` for the next page.",
    params(FindingsParams),
    responses(
        (status = 200, description = "A page of findings", body = FindingsPageBody),
        (status = 400, description = "`bad_request`: a parameter the API cannot use (`limit` out of 1..500, \
            `since`/`until` not a time, a `cursor` it did not hand out)", body = ErrorBody),
        LakeReadErrors,
    ),
    security(("bearer" = []))
)]
async fn findings(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<FindingsParams>,
) -> Result<Json<FindingsPageBody>, ApiError> {
    let limit = p.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(format!("`limit` must be 1 to {MAX_PAGE}")));
    }
    let filter = FindingFilter {
        rule: p.rule,
        family: p.family,
        severity: p.severity,
        user: p.user,
        app: p.app,
        since: parse_time("since", p.since.as_deref())?,
        until: parse_time("until", p.until.as_deref())?,
        text: p.q,
    };
    let cursor = parse_cursor(p.cursor.as_deref())?;
    let page = state
        .lake
        .findings(&filter, limit as usize, cursor)
        .await
        .map_err(|e| ApiError::from_analyst(e, Origin::Report))?;
    Ok(Json(page.into()))
}

/// One finding with its revisions and sample events.
#[utoipa::path(
    get,
    path = "/api/v1/findings/{id}",
    tag = "findings",
    params(("id" = String, Path, description = "The finding's `finding_id`", min_length = 1)),
    responses(
        (status = 200, description = "The finding", body = FindingDetailBody),
        (status = 400, description = "`bad_request`: the id is not UTF-8", body = ErrorBody),
        (status = 404, description = "`not_found`: no finding with this id", body = ErrorBody),
        LakeReadErrors,
    ),
    security(("bearer" = []))
)]
async fn finding(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FindingDetailBody>, ApiError> {
    let detail = state.lake.finding(&id).await.map_err(|e| ApiError::from_analyst(e, Origin::Internal))?;
    Ok(Json(detail.into()))
}

/// The discovery report: SaaS apps seen in firewall and proxy events.
#[utoipa::path(
    get,
    path = "/api/v1/apps/discovered",
    tag = "reports",
    params(SinceParams),
    responses(
        (status = 200, description = "The apps, riskiest and most used first", body = DiscoveredAppsBody),
        (status = 400, description = "`bad_request`: `since` is not a time", body = ErrorBody),
        LakeReadErrors,
    ),
    security(("bearer" = []))
)]
async fn discovered_apps(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<SinceParams>,
) -> Result<Json<DiscoveredAppsBody>, ApiError> {
    let since = parse_time("since", p.since.as_deref())?;
    let apps = state.lake.discovered_apps(since).await.map_err(|e| ApiError::from_analyst(e, Origin::Internal))?;
    Ok(Json(DiscoveredAppsBody {
        since: since.map(Timestamp::to_rfc3339),
        apps: apps.into_iter().map(Into::into).collect(),
    }))
}

/// One person's shadow-IT picture.
#[utoipa::path(
    get,
    path = "/api/v1/users/{user}",
    tag = "reports",
    params(
        ("user" = String, Path, description = "The person: user name as logged, or directory e-mail", min_length = 1),
        SinceParams,
    ),
    responses(
        (status = 200, description = "Directory entry, findings and apps", body = UserProfileBody),
        (status = 400, description = "`bad_request`: `since` is not a time, or the name is not UTF-8", body = ErrorBody),
        (status = 404, description = "`not_found`: not in the directory, no findings and no app use", body = ErrorBody),
        LakeReadErrors,
    ),
    security(("bearer" = []))
)]
async fn user_profile(
    State(state): State<AppState>,
    ApiPath(user): ApiPath<String>,
    ApiQuery(p): ApiQuery<SinceParams>,
) -> Result<Json<UserProfileBody>, ApiError> {
    let since = parse_time("since", p.since.as_deref())?;
    let profile =
        state.lake.user_profile(&user, since).await.map_err(|e| ApiError::from_analyst(e, Origin::Internal))?;
    Ok(Json(profile.into()))
}

/// What people answered to their nudges, grouped by app and by sanctioned
/// alternative: the evidence for fixing the sanctioned tool.
#[utoipa::path(
    get,
    path = "/api/v1/reports/explanations",
    tag = "reports",
    params(SinceParams),
    responses(
        (status = 200, description = "Answers grouped by app and by alternative, most \"need it\" first", body = ExplanationsBody),
        (status = 400, description = "`bad_request`: `since` is not a time", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no valid bearer token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 500, description = "`internal`: the store cannot be read", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn explanations_report(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<SinceParams>,
) -> Result<Json<ExplanationsBody>, ApiError> {
    let since = parse_time("since", p.since.as_deref())?;
    // Answers live in the console's store: without it nothing is collected.
    let Some(store) = &state.store else {
        return Ok(Json(ExplanationsBody {
            since: since.map(Timestamp::to_rfc3339),
            collecting: false,
            answers: 0,
            by_app: Vec::new(),
            by_alternative: Vec::new(),
        }));
    };
    let answers =
        store.answers_since(since.map_or(0, Timestamp::micros), 100_000).await.map_err(|e| ApiError::internal(&e))?;
    let nudger = state.nudger.clone();
    let name = |id: &str| nudger.as_ref().and_then(|n| n.alternative_name(Some(id))).unwrap_or_else(|| id.to_string());
    let (by_app, by_alternative) = crate::console::explanations::group(&answers, name);
    Ok(Json(ExplanationsBody {
        since: since.map(Timestamp::to_rfc3339),
        collecting: true,
        answers: answers.len() as u64,
        by_app,
        by_alternative,
    }))
}

/// The tables and views analysts can query, with their columns.
#[utoipa::path(
    get,
    path = "/api/v1/tables",
    tag = "query",
    responses(
        (status = 200, description = "Every table and view", body = TablesBody),
        (status = 401, description = "`unauthorized`: no valid bearer token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`lake_unavailable`: the lake cannot be read", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn tables(State(state): State<AppState>) -> Result<Json<TablesBody>, ApiError> {
    let tables = state.lake.describe().await.map_err(|e| ApiError::from_analyst(e, Origin::Internal))?;
    Ok(Json(TablesBody { tables: tables.into_iter().map(Into::into).collect() }))
}

/// The configured tokens: names and roles, never secrets.
#[utoipa::path(
    get,
    path = "/api/v1/admin/tokens",
    tag = "admin",
    responses(
        (status = 200, description = "The tokens, in configuration order", body = TokensBody),
        (status = 401, description = "`unauthorized`: no valid bearer token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 403, description = "`forbidden`: the token's role is not admin", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn admin_tokens(State(state): State<AppState>) -> Json<TokensBody> {
    Json(TokensBody {
        tokens: state
            .auth
            .tokens()
            .map(|(name, role)| TokenBody { name: name.to_string(), role: role.into() })
            .collect(),
    })
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object)),
    security(())
)]
async fn openapi_json(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], state.openapi.clone()).into_response()
}

/// The answer for a path no route has.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint; the API is described at /api/v1/openapi.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_first_format_we_know() {
        let mut h = HeaderMap::new();
        assert_eq!(format_from_accept(&h), None);
        h.insert(header::ACCEPT, HeaderValue::from_static("text/html, text/csv;q=0.9, application/json"));
        assert_eq!(format_from_accept(&h), Some(QueryFormat::Csv));
        h.insert(header::ACCEPT, HeaderValue::from_static("application/vnd.apache.arrow.stream"));
        assert_eq!(format_from_accept(&h), Some(QueryFormat::Arrow));
        h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        assert_eq!(format_from_accept(&h), None);
    }
}
