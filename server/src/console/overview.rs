//! `/`: the overview. What an analyst (or their manager) looks at first:
//! how many findings, of which family and severity, day by day; which apps
//! that IT has not sanctioned draw the most people and the most uploaded
//! bytes; which apps appeared in the last week; and which exceptions
//! ("monitored until …") end soon or have ended.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use floodlight_analyst::dashboard::FindingsPerDay;
use floodlight_analyst::reports::DiscoveredApp;
use floodlight_enrichments::Date;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

use super::layout::{self, app_link, badge, bytes, chart_data, count, Section};
use super::session::Viewer;
use super::window::{Span, Window};
use super::ConsoleState;

/// Exceptions ending within this many days are listed.
pub const EXPIRY_HORIZON_DAYS: u64 = 30;

/// The families, in the order the charts stack them, with their colours.
const FAMILIES: [(&str, &str, &str); 4] = [
    ("shadow_saas", "Shadow SaaS", "#0b5cad"),
    ("email_forwarding", "E-mail forwarding", "#a4161a"),
    ("public_network", "Public networks", "#b36b00"),
    ("imported", "Imported rules", "#5b6770"),
];
/// The severities, most severe first, with their colours.
const SEVERITIES: [(&str, &str); 5] =
    [("critical", "#5c0a0e"), ("high", "#a4161a"), ("medium", "#d98b00"), ("low", "#2f4b7c"), ("info", "#8a96a3")];

/// Query or form parameters of a console page.
#[derive(Debug, Deserialize)]
pub struct OverviewQuery {
    since: Option<String>,
}

async fn overview(state: ConsoleState, viewer: Viewer, q: OverviewQuery) -> Response {
    let window = state.window.window(&state.lake, Span::parse(q.since.as_deref())).await;
    let current = state.decisions.current(&state.lake).await;
    let per_day = match state.lake.findings_per_day(window.since()).await {
        Ok(r) => r,
        Err(e) => return layout::lake_error(&viewer, Section::Overview, &e),
    };
    let apps = match state.lake.discovered_apps(window.since()).await {
        Ok(a) => a,
        Err(e) => return layout::lake_error(&viewer, Section::Overview, &e),
    };
    let people = match state.lake.count_people_with_findings(window.since()).await {
        Ok(n) => n,
        Err(e) => return layout::lake_error(&viewer, Section::Overview, &e),
    };
    let findings: i64 = per_day.iter().map(|r| r.findings).sum();
    let high: i64 =
        per_day.iter().filter(|r| r.severity == "high" || r.severity == "critical").map(|r| r.findings).sum();
    let not_sanctioned: Vec<&DiscoveredApp> =
        apps.iter().filter(|a| a.status.as_deref() != Some("sanctioned")).collect();
    let week_start = window.last_days(7);
    let new_apps: Vec<&DiscoveredApp> = apps
        .iter()
        .filter(|a| match (week_start, a.first_seen.as_deref()) {
            (Some(start), Some(first)) => first.get(..10).unwrap_or_default() >= start.to_string().as_str(),
            _ => false,
        })
        .collect();
    let today = Date::today_utc();
    let expiring = expiring_exceptions(&current.overlay, today);

    let mut by_people = not_sanctioned.clone();
    by_people.sort_by(|a, b| b.users.cmp(&a.users).then(b.bytes_up.cmp(&a.bytes_up)));
    let mut by_bytes = not_sanctioned.clone();
    by_bytes.sort_by(|a, b| b.bytes_up.cmp(&a.bytes_up).then(b.users.cmp(&a.users)));

    let (family_chart, severity_chart) = charts(&per_day);
    let body = html! {
        h1 { "Overview" }
        (layout::window_form("/", &window, &[]))
        section .cards aria-label="Totals" {
            (card(findings, "findings", "/findings"))
            (card(high, "high or critical", "/findings?severity=high"))
            (card(people, "people with findings", "/people"))
            (card(apps.len() as i64, "apps in use", "/apps"))
            (card(not_sanctioned.len() as i64, "not sanctioned", "/apps?status=unsanctioned"))
            (card(new_apps.len() as i64, "new in the last 7 days", "/apps?sort=first_seen&dir=desc"))
        }
        div .grid2 {
            (chart_panel("Findings per day by family", "chart-family", &family_chart, &window))
            (chart_panel("Findings per day by severity", "chart-severity", &severity_chart, &window))
        }
        div .grid2 {
            section .panel {
                h2 { "Top apps not sanctioned, by people" }
                (top_table(&by_people, "people"))
            }
            section .panel {
                h2 { "Top apps not sanctioned, by bytes uploaded" }
                (top_table(&by_bytes, "bytes"))
            }
        }
        div .grid2 {
            section .panel {
                h2 { "New apps in the last 7 days" }
                @if new_apps.is_empty() {
                    p .muted { "No app was seen for the first time in the last 7 days of data." }
                } @else {
                    ul {
                        @for a in new_apps.iter().take(15) {
                            li {
                                (app_link(&a.app_id, a.name.as_deref().unwrap_or_default())) " "
                                (badge("status", a.status.as_deref().unwrap_or("unknown")))
                                span .muted { " first seen " (layout::time(a.first_seen.as_deref().unwrap_or_default()))
                                    ", " (count(a.users)) " people" }
                            }
                        }
                    }
                }
            }
            section .panel {
                h2 { "Exceptions ending within " (EXPIRY_HORIZON_DAYS) " days" }
                @if expiring.is_empty() {
                    p .muted { "No exception ends before " (add_days(today, EXPIRY_HORIZON_DAYS)) "." }
                } @else {
                    ul {
                        @for e in &expiring {
                            li {
                                @if let Some(id) = &e.app_id { (app_link(id, id)) } @else { (e.what) }
                                " — " (e.status) ", "
                                @if e.days_left < 0 {
                                    strong .error { "ended " (e.expires) " (" ((-e.days_left)) " days ago)" }
                                } @else if e.days_left == 0 {
                                    strong { "ends today" }
                                } @else {
                                    "ends " (e.expires) " (in " (e.days_left) " days)"
                                }
                                @if let Some(owner) = &e.owner { span .muted { " · owner " (owner) } }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page(&viewer, Section::Overview, "Overview", body).into_response()
}

/// `GET /`.
pub async fn page(
    State(state): State<ConsoleState>,
    Extension(viewer): Extension<Viewer>,
    Query(q): Query<OverviewQuery>,
) -> Response {
    overview(state, viewer, q).await
}

fn card(value: i64, label: &str, href: &str) -> Markup {
    html! {
        a .card href=(href) {
            span .value { (count(value)) }
            span .label { (label) }
        }
    }
}

fn top_table(apps: &[&DiscoveredApp], by: &str) -> Markup {
    if apps.is_empty() {
        return html! { p .muted { "Every app in use is sanctioned." } };
    }
    html! {
        div .table-wrap {
            table {
                thead { tr {
                    th scope="col" { "App" } th scope="col" { "Status" }
                    th scope="col" .num { "People" } th scope="col" .num { "Uploaded" }
                } }
                tbody {
                    @for a in apps.iter().take(8) {
                        tr {
                            td { (app_link(&a.app_id, a.name.as_deref().unwrap_or_default())) }
                            td { (badge("status", a.status.as_deref().unwrap_or("unknown"))) }
                            td .num { @if by == "people" { strong { (count(a.users)) } } @else { (count(a.users)) } }
                            td .num { @if by == "bytes" { strong { (bytes(a.bytes_up)) } } @else { (bytes(a.bytes_up)) } }
                        }
                    }
                }
            }
        }
    }
}

/// A chart and, for those who do not see it, its numbers in a table.
fn chart_panel(title: &str, id: &str, spec: &serde_json::Value, window: &Window) -> Markup {
    let data_id = format!("{id}-data");
    let labels: Vec<String> = spec["labels"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let datasets = spec["datasets"].as_array().cloned().unwrap_or_default();
    html! {
        section .panel {
            h2 { (title) }
            @if labels.is_empty() {
                p .muted { "No findings in " (window.describe()) "." }
            } @else {
                div .chart { canvas data-chart=(data_id) role="img" aria-label=(format!("{title}, as a stacked bar chart; the table below has the numbers")) {} }
                (chart_data(&data_id, &spec.to_string()))
                details .data {
                    summary { "The numbers" }
                    div .table-wrap {
                        table {
                            thead { tr {
                                th scope="col" { "Day" }
                                @for d in &datasets { th scope="col" .num { (d["label"].as_str().unwrap_or_default()) } }
                            } }
                            tbody {
                                @for (i, day) in labels.iter().enumerate() {
                                    tr {
                                        th scope="row" { (day) }
                                        @for d in &datasets { td .num { (d["data"][i].as_i64().unwrap_or(0)) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The two chart specs (by family, by severity) for `console.js`.
fn charts(per_day: &[FindingsPerDay]) -> (serde_json::Value, serde_json::Value) {
    let days: BTreeSet<&str> = per_day.iter().map(|r| r.date.as_str()).collect();
    let labels: Vec<&str> = days.iter().copied().collect();
    let index: BTreeMap<&str, usize> = labels.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let series = |key: &dyn Fn(&FindingsPerDay) -> &str, name: &str| -> Vec<i64> {
        let mut v = vec![0i64; labels.len()];
        for r in per_day.iter().filter(|r| key(r) == name) {
            if let Some(i) = index.get(r.date.as_str()) {
                v[*i] += r.findings;
            }
        }
        v
    };
    let family_sets: Vec<_> = FAMILIES
        .iter()
        .map(|(id, label, color)| json!({"label": label, "color": color, "data": series(&|r| &r.family, id)}))
        .filter(|d| d["data"].as_array().is_some_and(|a| a.iter().any(|v| v.as_i64() != Some(0))))
        .collect();
    let severity_sets: Vec<_> = SEVERITIES
        .iter()
        .map(|(id, color)| json!({"label": id, "color": color, "data": series(&|r| &r.severity, id)}))
        .filter(|d| d["data"].as_array().is_some_and(|a| a.iter().any(|v| v.as_i64() != Some(0))))
        .collect();
    (
        json!({"type": "bar", "stacked": true, "labels": labels, "datasets": family_sets}),
        json!({"type": "bar", "stacked": true, "labels": labels, "datasets": severity_sets}),
    )
}

/// One exception of the overlay that ends soon or has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiring {
    /// The app (`None`: a category entry).
    pub app_id: Option<String>,
    /// What the entry covers, for people.
    pub what: String,
    /// Its status.
    pub status: String,
    /// Its last day.
    pub expires: Date,
    /// Days from today to the last day (negative: ended).
    pub days_left: i64,
    /// Who answers for it.
    pub owner: Option<String>,
}

fn add_days(d: Date, days: u64) -> Date {
    Date::from_days_since_epoch(d.days_since_epoch() + days as i64)
}

/// Overlay entries with an expiry before `today` + [`EXPIRY_HORIZON_DAYS`]
/// (ended ones included), soonest first.
pub fn expiring_exceptions(overlay: &floodlight_enrichments::Overlay, today: Date) -> Vec<Expiring> {
    let horizon = add_days(today, EXPIRY_HORIZON_DAYS);
    let mut out: Vec<Expiring> = overlay
        .apps
        .iter()
        .filter_map(|r| {
            let e = r.expires?;
            (e <= horizon).then(|| Expiring {
                app_id: Some(r.id.clone()),
                what: r.id.clone(),
                status: r.status.as_str().to_string(),
                expires: e,
                days_left: e.days_since_epoch() - today.days_since_epoch(),
                owner: r.owner.clone(),
            })
        })
        .chain(overlay.categories.iter().filter_map(|r| {
            let e = r.expires?;
            (e <= horizon).then(|| Expiring {
                app_id: None,
                what: format!("every {} app", r.category.as_str().replace('_', " ")),
                status: r.status.as_str().to_string(),
                expires: e,
                days_left: e.days_since_epoch() - today.days_since_epoch(),
                owner: r.owner.clone(),
            })
        }))
        .chain(overlay.exceptions.iter().filter(|x| x.expires <= horizon).map(|x| {
            let who: Vec<String> =
                x.users.iter().cloned().chain(x.departments.iter().map(|d| format!("department {d}"))).collect();
            Expiring {
                app_id: Some(x.app.clone()),
                what: format!("{} for {}", x.app, who.join(", ")),
                status: format!("exception for {}", who.join(", ")),
                expires: x.expires,
                days_left: x.expires.days_since_epoch() - today.days_since_epoch(),
                owner: x.owner.clone(),
            }
        }))
        .collect();
    out.sort_by(|a, b| a.expires.cmp(&b.expires).then(a.what.cmp(&b.what)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceptions_ending_soon_or_ended_are_listed_soonest_first() {
        let overlay = floodlight_enrichments::Overlay::from_toml(
            r#"
[[app]]
id = "dropbox"
status = "monitored"
reason = "Finance"
expires = "2026-12-10"

[[app]]
id = "otter-ai"
status = "monitored"
reason = "pilot"
expires = "2026-11-01"

[[app]]
id = "wetransfer"
status = "monitored"
reason = "later"
expires = "2027-06-30"

[[exception]]
app = "smallpdf"
users = ["ana.pereira"]
departments = ["Finance"]
reason = "An explanation IT accepted"
expires = "2026-11-30"
"#,
            "test",
        )
        .expect("overlay");
        let today: Date = "2026-12-03".parse().expect("date");
        let e = expiring_exceptions(&overlay, today);
        let ids: Vec<_> = e.iter().map(|x| (x.app_id.clone().unwrap_or_default(), x.days_left)).collect();
        assert_eq!(ids, vec![("otter-ai".to_string(), -32), ("smallpdf".to_string(), -3), ("dropbox".to_string(), 7)]);
        assert_eq!(e[1].status, "exception for ana.pereira, department Finance");
    }

    #[test]
    fn charts_stack_by_family_and_severity_per_day() {
        let r = |date: &str, family: &str, severity: &str, findings| FindingsPerDay {
            date: date.into(),
            family: family.into(),
            severity: severity.into(),
            findings,
        };
        let (family, severity) = charts(&[
            r("2026-11-24", "shadow_saas", "high", 2),
            r("2026-11-24", "public_network", "low", 1),
            r("2026-11-25", "shadow_saas", "low", 3),
        ]);
        assert_eq!(family["labels"], json!(["2026-11-24", "2026-11-25"]));
        let saas = &family["datasets"][0];
        assert_eq!(saas["label"], "Shadow SaaS");
        assert_eq!(saas["data"], json!([2, 3]));
        // Families without findings are left out.
        assert_eq!(family["datasets"].as_array().map(Vec::len), Some(2));
        let high = severity["datasets"].as_array().and_then(|d| d.iter().find(|s| s["label"] == "high")).cloned();
        assert_eq!(high.map(|h| h["data"].clone()), Some(json!([2, 0])));
    }
}
