//! The API's request and response bodies, as Rust types that are both what
//! the handlers serialize and what the OpenAPI document describes
//! ([`utoipa::ToSchema`]), so the two cannot drift apart.
//!
//! The report answers mirror the structs of `floodlight_analyst::reports`
//! field for field. Each `From` conversion takes the analyst struct apart
//! with a full pattern (no `..`), so a field added there stops this crate
//! from compiling until it is added here too, and to the document.
//!
//! Rows of lake tables (findings, events, directory entries) are JSON
//! objects with one key per column, `null` for an empty value; the
//! document describes them as free-form objects and names their tables
//! (`GET /api/v1/tables` lists the columns).

use floodlight_analyst::lake::{ColumnInfo, TableInfo};
use floodlight_analyst::reports::{DiscoveredApp, FindingDetail, FindingsPage, TrendPoint, UserProfile};
use floodlight_pipeline::analyst_config::Role;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

/// One row of a lake table: column name → value.
pub type Row = Map<String, Value>;

/// The most rows a query may ask for (larger limits are refused; the
/// server's own `[query] max_rows` applies when lower).
pub const MAX_ROWS_LIMIT: u64 = 1_000_000_000;
/// The longest time limit a query may ask for, in ms (one day; the
/// server's own `[query] timeout` applies when lower).
pub const MAX_TIMEOUT_MS: u64 = 86_400_000;
/// The shortest: one second. Shorter limits measure the machine's load
/// more than the query, and answer nothing useful.
pub const MIN_TIMEOUT_MS: u64 = 1_000;

/// How a query answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QueryFormat {
    /// One JSON document: columns, rows, counts (`application/json`).
    Json,
    /// CSV with a header line (`text/csv`).
    Csv,
    /// The Arrow IPC stream format (`application/vnd.apache.arrow.stream`).
    Arrow,
}

/// `POST /api/v1/query`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// One read-only statement: `SELECT`, `WITH`, `VALUES` or `EXPLAIN`.
    #[schema(example = "SELECT rule_id, count(*) AS n FROM findings_latest GROUP BY rule_id")]
    pub sql: String,
    /// Answer format. Without it, the `Accept` header decides (`text/csv`,
    /// `application/vnd.apache.arrow.stream`), else JSON.
    #[serde(default)]
    pub format: Option<QueryFormat>,
    /// Return at most this many rows (never more than the server's limit).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub max_rows: Option<u64>,
    /// Stop the query after this many milliseconds, at least 1000 (never
    /// later than the server's own limit).
    #[serde(default)]
    #[schema(minimum = 1_000, maximum = 86_400_000)]
    pub timeout_ms: Option<u64>,
}

/// A column of a query answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QueryColumn {
    /// Column name.
    pub name: String,
    /// Type (`string`, `int64`, `timestamp`, `list<string>`, ...).
    #[serde(rename = "type")]
    pub data_type: String,
}

/// The JSON answer to a query.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QueryAnswer {
    /// The columns, in order.
    pub columns: Vec<QueryColumn>,
    /// The rows: column name → value (`null` when empty).
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Row>,
    /// Number of rows returned.
    pub row_count: u64,
    /// Whether the row limit cut the answer short.
    pub truncated: bool,
    /// How long the query took, in milliseconds.
    pub elapsed_ms: u64,
}

/// `GET /api/v1/findings` parameters. Empty values do not filter.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingsParams {
    /// Rule id (`SS-03`).
    pub rule: Option<String>,
    /// Family (`shadow_saas`, `email_forwarding`, `public_network`, or `imported` for converted Sigma rules).
    pub family: Option<String>,
    /// Severity (`info`, `low`, `medium`, `high`, `critical`).
    pub severity: Option<String>,
    /// The person the finding is about.
    pub user: Option<String>,
    /// App id or name (case-insensitive).
    pub app: Option<String>,
    /// Findings at or after this: a span back from now (`7d`, `36h`,
    /// `90m`), a `YYYY-MM-DD` date (UTC) or an RFC 3339 time.
    #[param(schema_with = crate::params::time_schema)]
    pub since: Option<String>,
    /// Findings before this (same forms as `since`).
    #[param(schema_with = crate::params::time_schema)]
    pub until: Option<String>,
    /// Words to find in the message or rule title (case-insensitive).
    pub q: Option<String>,
    /// Findings per page (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(schema_with = crate::params::cursor_schema)]
    pub cursor: Option<String>,
}

/// `since` for the reports that take only that.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SinceParams {
    /// Only data at or after this: a span back from now (`7d`, `36h`,
    /// `90m`), a `YYYY-MM-DD` date (UTC) or an RFC 3339 time. Everything without it.
    #[param(schema_with = crate::params::time_schema)]
    pub since: Option<String>,
}

/// A page of findings, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FindingsPageBody {
    /// The findings (latest revision of each): rows of `findings_latest`.
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<Row>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<FindingsPage> for FindingsPageBody {
    fn from(p: FindingsPage) -> Self {
        let FindingsPage { findings, next_cursor } = p;
        FindingsPageBody { findings, next_cursor }
    }
}

/// One finding with its history and evidence.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FindingDetailBody {
    /// The latest revision: a row of `findings`.
    #[schema(value_type = Object)]
    pub finding: Row,
    /// Every revision, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub revisions: Vec<Row>,
    /// The sample events the finding names: rows of the event table of its class.
    #[schema(value_type = Vec<Object>)]
    pub sample_events: Vec<Row>,
}

impl From<FindingDetail> for FindingDetailBody {
    fn from(d: FindingDetail) -> Self {
        let FindingDetail { finding, revisions, sample_events } = d;
        FindingDetailBody { finding, revisions, sample_events }
    }
}

/// One day of an app's use.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrendPointBody {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Events that day.
    pub events: i64,
    /// Distinct people that day.
    pub users: i64,
    /// Bytes uploaded that day.
    pub bytes_up: i64,
}

impl From<TrendPoint> for TrendPointBody {
    fn from(t: TrendPoint) -> Self {
        let TrendPoint { date, events, users, bytes_up } = t;
        TrendPointBody { date, events, users, bytes_up }
    }
}

/// One app of the discovery report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DiscoveredAppBody {
    /// Catalog id.
    pub app_id: String,
    /// Display name.
    pub name: Option<String>,
    /// Catalog category.
    pub category: Option<String>,
    /// Risk score, 0 (benign) to 10.
    pub risk: Option<i64>,
    /// `sanctioned`, `monitored`, `unsanctioned` or `unknown`.
    pub status: Option<String>,
    /// When a `monitored` exception ends (`YYYY-MM-DD`).
    pub expires: Option<String>,
    /// The sanctioned alternative.
    pub alternative: Option<String>,
    /// Distinct people.
    pub users: i64,
    /// Distinct devices (device name, or source IP without one).
    pub devices: i64,
    /// Events.
    pub events: i64,
    /// Bytes sent to the app.
    pub bytes_up: i64,
    /// Bytes received from it.
    pub bytes_down: i64,
    /// First event (RFC 3339).
    pub first_seen: Option<String>,
    /// Last event (RFC 3339).
    pub last_seen: Option<String>,
    /// Events, people and bytes per day, oldest first.
    pub trend: Vec<TrendPointBody>,
}

impl From<DiscoveredApp> for DiscoveredAppBody {
    fn from(a: DiscoveredApp) -> Self {
        let DiscoveredApp {
            app_id,
            name,
            category,
            risk,
            status,
            expires,
            alternative,
            users,
            devices,
            events,
            bytes_up,
            bytes_down,
            first_seen,
            last_seen,
            trend,
        } = a;
        DiscoveredAppBody {
            app_id,
            name,
            category,
            risk,
            status,
            expires,
            alternative,
            users,
            devices,
            events,
            bytes_up,
            bytes_down,
            first_seen,
            last_seen,
            trend: trend.into_iter().map(Into::into).collect(),
        }
    }
}

/// The discovery report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DiscoveredAppsBody {
    /// The start of the report (RFC 3339); `null`: everything the lake holds.
    pub since: Option<String>,
    /// Riskiest and most used first.
    pub apps: Vec<DiscoveredAppBody>,
}

/// One person's shadow-IT picture.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserProfileBody {
    /// The person as asked for.
    pub user: String,
    /// Their directory entry (a row of `users`), when the directory knows them.
    #[schema(value_type = Option<Object>)]
    pub directory: Option<Row>,
    /// Their findings by rule: `rule_id`, `rule_title`, `severity`,
    /// `findings`, `events`, `last_seen`.
    #[schema(value_type = Vec<Object>)]
    pub findings_by_rule: Vec<Row>,
    /// Their latest findings, newest first (at most 50): rows of `findings_latest`.
    #[schema(value_type = Vec<Object>)]
    pub recent_findings: Vec<Row>,
    /// The catalogued apps they used, most used first: `app_id`, `app_name`,
    /// `app_category`, `app_status`, `app_alternative`, `events`, `bytes_up`,
    /// `first_seen`, `last_seen`.
    #[schema(value_type = Vec<Object>)]
    pub apps: Vec<Row>,
}

impl From<UserProfile> for UserProfileBody {
    fn from(p: UserProfile) -> Self {
        let UserProfile { user, directory, findings_by_rule, recent_findings, apps } = p;
        UserProfileBody { user, directory, findings_by_rule, recent_findings, apps }
    }
}

/// A column of a lake table.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ColumnBody {
    /// Column name.
    pub name: String,
    /// Type (`string`, `int64`, `timestamp`, `list<string>`, ...).
    pub data_type: String,
    /// Whether it may be null.
    pub nullable: bool,
}

/// A table or view analysts can query.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TableBody {
    /// Table or view name.
    pub name: String,
    /// What one row is.
    pub about: String,
    /// Its columns.
    pub columns: Vec<ColumnBody>,
}

impl From<TableInfo> for TableBody {
    fn from(t: TableInfo) -> Self {
        let TableInfo { name, about, columns } = t;
        TableBody {
            name,
            about,
            columns: columns
                .into_iter()
                .map(|c| {
                    let ColumnInfo { name, data_type, nullable } = c;
                    ColumnBody { name, data_type, nullable }
                })
                .collect(),
        }
    }
}

/// The lake's tables.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TablesBody {
    /// Every table and view, findings first, `*_raw` last.
    pub tables: Vec<TableBody>,
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleBody {
    /// Queries, findings, reports.
    Analyst,
    /// All of that, plus administration.
    Admin,
}

impl From<Role> for RoleBody {
    fn from(r: Role) -> Self {
        match r {
            Role::Analyst => RoleBody::Analyst,
            Role::Admin => RoleBody::Admin,
        }
    }
}

/// A configured token (never its secret or hash).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenBody {
    /// Who holds it.
    pub name: String,
    /// What it may do.
    pub role: RoleBody,
}

/// The configured tokens.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokensBody {
    /// In configuration order.
    pub tokens: Vec<TokenBody>,
}

/// `GET /api/v1/reports/explanations`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExplanationsBody {
    /// The start of the report (`null`: every answer kept).
    pub since: Option<String>,
    /// Whether answers are collected here: `false` when the console (whose
    /// store keeps them) is disabled.
    pub collecting: bool,
    /// Answers counted.
    pub answers: u64,
    /// By app, most "need it" answers first.
    pub by_app: Vec<crate::console::explanations::AnswerGroup>,
    /// By the sanctioned alternative the nudge offered.
    pub by_alternative: Vec<crate::console::explanations::AnswerGroup>,
}
