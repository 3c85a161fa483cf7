//! `/sql`: the read-only SQL console. The same guard and limits as
//! `floodlight query` and `POST /api/v1/query` (one `SELECT`/`WITH`/
//! `VALUES`/`EXPLAIN`, no table functions that read files, time, row and
//! memory limits); the answer as a table, or downloaded as CSV.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use floodlight_analyst::{write_result, Format, QueryResult};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{self, Section};
use super::session::{Viewer, CSRF_FIELD};
use super::ConsoleState;

/// What the box holds before anything is asked.
pub const EXAMPLE: &str = "SELECT rule_id, severity, count(*) AS findings\nFROM findings_latest\nGROUP BY rule_id, severity\nORDER BY findings DESC";

/// `GET /sql`.
pub async fn form(State(state): State<ConsoleState>, Extension(viewer): Extension<Viewer>) -> Response {
    render(&state, &viewer, EXAMPLE, None, None)
}

/// The form's fields.
#[derive(Debug, Deserialize)]
pub struct SqlForm {
    /// The statement.
    pub sql: String,
    /// `table` (default) or `csv`.
    #[serde(default)]
    pub format: String,
}

/// `POST /sql`: run it; a table, or a CSV file with `format=csv`.
pub async fn run(
    State(state): State<ConsoleState>,
    Extension(viewer): Extension<Viewer>,
    Form(form): Form<SqlForm>,
) -> Response {
    let result = match state.lake.query(&form.sql).await {
        Ok(r) => r,
        Err(e) => {
            let mut r = render(&state, &viewer, &form.sql, None, Some(e.to_string()));
            *r.status_mut() = StatusCode::BAD_REQUEST;
            return r;
        }
    };
    tracing::info!(target: "floodlight_server", who = %viewer.name(), rows = result.rows, "console: SQL query");
    if form.format == "csv" {
        let mut body = Vec::new();
        if let Err(e) = write_result(&result, Format::Csv, &mut body) {
            return render(&state, &viewer, &form.sql, None, Some(e.to_string()));
        }
        return (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"floodlight-query.csv\""),
            ],
            body,
        )
            .into_response();
    }
    render(&state, &viewer, &form.sql, Some(&result), None)
}

fn render(
    state: &ConsoleState,
    viewer: &Viewer,
    sql: &str,
    result: Option<&QueryResult>,
    problem: Option<String>,
) -> Response {
    let limits = state.lake.limits();
    let body = html! {
        h1 { "SQL" }
        p .lead { "Read-only SQL over the lake's tables (" code { "findings_latest" } ", " code { "network" } ", "
            code { "dns" } ", " code { "auth" } ", " code { "oauth" } ", " code { "email" } ", " code { "apps" } ", "
            code { "users" } "). At most " (limits.max_rows) " rows, " (limits.timeout.as_secs()) " s." }
        form .stack #sql-form method="post" action="/sql" {
            input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
            label for="sql" { "Statement" }
            textarea .sql #sql name="sql" spellcheck="false" required { (sql) }
            div .actions {
                button type="submit" name="format" value="table" #sql-run { "Run" }
                button type="submit" name="format" value="csv" .secondary #sql-csv { "Download CSV" }
            }
        }
        @if let Some(p) = &problem { p .error role="alert" #sql-error { (p) } }
        @if let Some(r) = result { (table(r)) }
    };
    layout::page(viewer, Section::Sql, "SQL", body).into_response()
}

fn table(result: &QueryResult) -> Markup {
    let rows = floodlight_analyst::format::rows_json(&result.batches).unwrap_or_default();
    let columns: Vec<String> = result.schema.fields().iter().map(|f| f.name().clone()).collect();
    html! {
        p .muted #sql-summary aria-live="polite" { (result.rows) " rows in " (format!("{:.3}", result.elapsed.as_secs_f64())) " s"
            @if result.truncated { " — cut at the row limit" } }
        div .table-wrap { table #sql-result {
            thead { tr { @for c in &columns { th scope="col" { (c) } } } }
            tbody { @for r in &rows { tr { @for c in &columns { td { (layout::field(r, c)) } } } } }
        } }
    }
}
