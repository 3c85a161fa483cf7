//! `/people`: the people with findings, and one person's page: who they are
//! (from the directory), the apps they use with each app's status, their
//! findings with triage, and the networks they sign in from (office, home,
//! café Wi-Fi, a phone's hotspot).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use floodlight_analyst::AnalystError;
use maud::html;
use serde::Deserialize;
use serde_json::Value;

use super::findings::findings_table;
use super::layout::{self, app_link, badge, bytes, count, field, number, path_segment, person_link, Section};
use super::session::Viewer;
use super::window::Span;
use super::ConsoleState;

/// Query or form parameters of a console page.
#[derive(Debug, Deserialize)]
pub struct PeopleQuery {
    user: Option<String>,
    since: Option<String>,
}

/// `GET /people` (`?user=` goes to that person's page).
pub async fn list(
    State(state): State<ConsoleState>,
    Extension(viewer): Extension<Viewer>,
    Query(q): Query<PeopleQuery>,
) -> Response {
    if let Some(user) = q.user.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        return Redirect::to(&format!("/people/{}", path_segment(user))).into_response();
    }
    let window = state.window.window(&state.lake, Span::parse(q.since.as_deref())).await;
    let people = match state.lake.people_with_findings(window.since(), 500).await {
        Ok(p) => p,
        Err(e) => return layout::lake_error(&viewer, Section::People, &e),
    };
    let body = html! {
        h1 { "People" }
        form .filters method="get" action="/people" role="search" {
            label { "Person (user name or e-mail)" input #person type="search" name="user" required; }
            button type="submit" .secondary { "Open" }
        }
        (layout::window_form("/people", &window, &[]))
        h2 { "People with findings" }
        @if people.is_empty() { p .muted { "Nobody has findings in " (window.describe()) "." } } @else {
            div .table-wrap { table {
                thead { tr { th scope="col" { "Person" } th scope="col" .num { "Findings" } th scope="col" .num { "High or critical" }
                    th scope="col" .num { "Rules" } th scope="col" .num { "Apps" } th scope="col" { "Last seen" } } }
                tbody { @for p in &people { tr {
                    td { (person_link(&field(p, "user"))) }
                    td .num { (count(number(p, "findings"))) }
                    td .num { (count(number(p, "high"))) }
                    td .num { (number(p, "rules")) }
                    td .num { (number(p, "apps")) }
                    td { (layout::time(&field(p, "last_seen"))) }
                } } }
            } }
        }
    };
    layout::page(&viewer, Section::People, "People", body).into_response()
}

/// Query or form parameters of a console page.
#[derive(Debug, Deserialize)]
pub struct PersonQuery {
    since: Option<String>,
}

/// `GET /people/{user}`.
pub async fn page(
    State(state): State<ConsoleState>,
    Extension(viewer): Extension<Viewer>,
    Path(user): Path<String>,
    Query(q): Query<PersonQuery>,
) -> Response {
    let window = state.window.window(&state.lake, Span::parse(q.since.as_deref())).await;
    state.decisions.current(&state.lake).await;
    let profile = match state.lake.user_profile(&user, window.since()).await {
        Ok(p) => p,
        Err(AnalystError::NotFound(_)) => {
            let body = html! {
                h1 { (user) }
                p { "Not in the directory, and no findings or app use in " (window.describe()) "." }
                (layout::window_form(&format!("/people/{}", path_segment(&user)), &window, &[]))
            };
            return (axum::http::StatusCode::NOT_FOUND, layout::page(&viewer, Section::People, &user, body))
                .into_response();
        }
        Err(e) => return layout::lake_error(&viewer, Section::People, &e),
    };
    let networks = match state.lake.sign_in_networks(&user, window.since()).await {
        Ok(n) => n,
        Err(e) => return layout::lake_error(&viewer, Section::People, &e),
    };
    let ids: Vec<String> = profile.recent_findings.iter().map(|f| field(f, "finding_id")).collect();
    let triage = match state.store.triage_many(&ids).await {
        Ok(t) => t,
        Err(e) => return layout::store_error(&e),
    };
    let dir = profile.directory.clone().unwrap_or_default();
    let shown_name = dir.get("display_name").and_then(Value::as_str).unwrap_or(&user).to_string();
    let body = html! {
        p .muted { a href="/people" { "People" } " / " (user) }
        h1 { (shown_name) }
        (layout::window_form(&format!("/people/{}", path_segment(&user)), &window, &[]))
        div .grid2 {
            section .panel {
                h2 { "Directory" }
                @if dir.is_empty() { p .muted { "Not in the directory." } } @else {
                    dl .facts {
                        @for (k, label) in [("user", "User"), ("email", "E-mail"), ("department", "Department"),
                            ("role", "Role"), ("manager", "Manager")] {
                            @if !field(&dir, k).is_empty() { dt { (label) } dd { (field(&dir, k)) } }
                        }
                    }
                }
            }
            section .panel {
                h2 { "Findings by rule" }
                @if profile.findings_by_rule.is_empty() { p .muted { "No findings." } } @else {
                    ul { @for r in &profile.findings_by_rule { li {
                        code { (field(r, "rule_id")) } " " (field(r, "rule_title")) " "
                        (badge("severity", &field(r, "severity"))) " × " (number(r, "findings"))
                    } } }
                }
            }
        }
        section {
            h2 { "Apps" }
            @if profile.apps.is_empty() { p .muted { "No catalogued app in firewall or proxy logs." } } @else {
                div .table-wrap { table {
                    thead { tr { th scope="col" { "App" } th scope="col" { "Status" } th scope="col" .num { "Events" }
                        th scope="col" .num { "Uploaded" } th scope="col" { "Use instead" } th scope="col" { "Last seen" } } }
                    tbody { @for a in &profile.apps { tr {
                        td { (app_link(&field(a, "app_id"), &field(a, "app_name"))) }
                        td { (badge("status", if field(a, "app_status").is_empty() { "unknown".into() } else { field(a, "app_status") }.as_str())) }
                        td .num { (count(number(a, "events"))) }
                        td .num { (bytes(number(a, "bytes_up"))) }
                        td { (app_link(&field(a, "app_alternative"), &field(a, "app_alternative"))) }
                        td { (layout::time(&field(a, "last_seen"))) }
                    } } }
                } }
            }
        }
        section {
            h2 { "Sign-in networks" }
            @if networks.is_empty() { p .muted { "No sign-ins in " (window.describe()) "." } } @else {
                div .table-wrap { table {
                    thead { tr { th scope="col" { "Network" } th scope="col" { "Where" } th scope="col" { "Owner" }
                        th scope="col" .num { "Sign-ins" } th scope="col" .num { "Failed" } th scope="col" .num { "Addresses" }
                        th scope="col" { "Last" } } }
                    tbody { @for n in &networks { tr {
                        td { (badge("network", if field(n, "network_type").is_empty() { "unknown".into() } else { field(n, "network_type") }.as_str())) }
                        td { (field(n, "geo_city")) @if !field(n, "geo_city").is_empty() && !field(n, "geo_country").is_empty() { ", " } (field(n, "geo_country")) }
                        td { (field(n, "as_org")) }
                        td .num { (count(number(n, "sign_ins"))) }
                        td .num { (count(number(n, "failures"))) }
                        td .num { (count(number(n, "addresses"))) }
                        td { (layout::time(&field(n, "last_seen"))) }
                    } } }
                } }
            }
        }
        section {
            h2 { "Latest findings" }
            (findings_table(&profile.recent_findings, &triage))
            p { a href=(format!("/findings?user={}", layout::query_value(&user))) { "All findings about " (shown_name) } }
        }
        p .muted { "Also known as: " (person_link(&user)) }
    };
    layout::page(&viewer, Section::People, &shown_name, body).into_response()
}
