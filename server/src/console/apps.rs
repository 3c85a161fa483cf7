//! `/apps`: the apps people use (from firewall and proxy events), and one
//! app's page with the **decision form**.
//!
//! The list filters by words (name or id), category, status and minimum
//! risk, and sorts by any column (`?sort=bytes_up&dir=desc`); with
//! JavaScript, htmx refreshes the table as you type. Each row has a
//! sparkline of events per day.
//!
//! The app page shows the catalog entry (vendor, domains, OAuth clients,
//! risk factors), the organisation's decision, the people using it, its
//! findings and the decision history from the audit log. Deciding is two
//! steps: *Preview* plans the decision ([`super::decisions`]) and shows the
//! overlay's diff; *Save* writes it if the file is still what the preview was
//! based on (otherwise the new diff is shown again), records it in the audit
//! log under the session's token name, and refreshes the catalog.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use floodlight_analyst::reports::{DiscoveredApp, FindingFilter};
use floodlight_enrichments::{AppStatus, Date, Decision};
use maud::{html, Markup};
use serde::Deserialize;

use super::decisions::{text_hash, Current, Editable};
use super::layout::{
    self, app_link, badge, bytes, count, field, number, path_segment, person_link, query_value, sparkline, Section,
};
use super::session::{Viewer, CSRF_FIELD};
use super::window::{Span, Window};
use super::ConsoleState;

/// The list's query parameters.
#[derive(Debug, Default, Deserialize)]
pub struct AppsQuery {
    /// Words in the name or id.
    pub q: Option<String>,
    /// Catalog category.
    pub category: Option<String>,
    /// `sanctioned`, `monitored`, `unsanctioned` or `unknown`.
    pub status: Option<String>,
    /// Minimum risk (0–10).
    pub risk: Option<String>,
    /// Column to sort by.
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub dir: Option<String>,
    /// The window (`7d`, `30d`, …).
    pub since: Option<String>,
}

/// The sortable columns: (key, header, numeric, default direction descending).
const COLUMNS: [(&str, &str, bool, bool); 10] = [
    ("name", "App", false, false),
    ("category", "Category", false, false),
    ("risk", "Risk", true, true),
    ("status", "Status", false, false),
    ("users", "People", true, true),
    ("events", "Events", true, true),
    ("bytes_up", "Uploaded", true, true),
    ("bytes_down", "Downloaded", true, true),
    ("first_seen", "First seen", false, true),
    ("last_seen", "Last seen", false, true),
];

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Keep the apps `q` asks for.
pub fn filter_apps<'a>(apps: &'a [DiscoveredApp], q: &AppsQuery) -> Vec<&'a DiscoveredApp> {
    let words = non_empty(&q.q).map(str::to_lowercase);
    let min_risk = non_empty(&q.risk).and_then(|r| r.parse::<i64>().ok());
    apps.iter()
        .filter(|a| match &words {
            Some(w) => {
                a.app_id.to_lowercase().contains(w)
                    || a.name.as_deref().unwrap_or_default().to_lowercase().contains(w)
                    || a.category.as_deref().unwrap_or_default().to_lowercase().contains(w)
            }
            None => true,
        })
        .filter(|a| non_empty(&q.category).is_none_or(|c| a.category.as_deref() == Some(c)))
        .filter(|a| non_empty(&q.status).is_none_or(|s| a.status.as_deref().unwrap_or("unknown") == s))
        .filter(|a| min_risk.is_none_or(|m| a.risk.unwrap_or(0) >= m))
        .collect()
}

/// Sort by `key` (one of the columns; people by default).
pub fn sort_apps(apps: &mut [&DiscoveredApp], key: &str, descending: bool) {
    let text = |a: &DiscoveredApp| -> String {
        match key {
            "name" => a.name.clone().unwrap_or_else(|| a.app_id.clone()).to_lowercase(),
            "category" => a.category.clone().unwrap_or_default(),
            "status" => a.status.clone().unwrap_or_default(),
            "first_seen" => a.first_seen.clone().unwrap_or_default(),
            "last_seen" => a.last_seen.clone().unwrap_or_default(),
            _ => String::new(),
        }
    };
    let num = |a: &DiscoveredApp| -> i64 {
        match key {
            "risk" => a.risk.unwrap_or(0),
            "events" => a.events,
            "bytes_up" => a.bytes_up,
            "bytes_down" => a.bytes_down,
            _ => a.users,
        }
    };
    let numeric = COLUMNS.iter().find(|c| c.0 == key).is_none_or(|c| c.2);
    apps.sort_by(|a, b| {
        let o = if numeric { num(a).cmp(&num(b)) } else { text(a).cmp(&text(b)) };
        let o = if descending { o.reverse() } else { o };
        o.then_with(|| a.app_id.cmp(&b.app_id))
    });
}

/// `GET /apps`.
pub async fn list(
    State(state): State<ConsoleState>,
    Extension(viewer): Extension<Viewer>,
    Query(q): Query<AppsQuery>,
) -> Response {
    let window = state.window.window(&state.lake, Span::parse(q.since.as_deref())).await;
    state.decisions.current(&state.lake).await;
    let apps = match state.lake.discovered_apps(window.since()).await {
        Ok(a) => a,
        Err(e) => return layout::lake_error(&viewer, Section::Apps, &e),
    };
    let key = non_empty(&q.sort).filter(|k| COLUMNS.iter().any(|c| c.0 == *k)).unwrap_or("users").to_string();
    let default_desc = COLUMNS.iter().find(|c| c.0 == key).is_none_or(|c| c.3);
    let descending = match non_empty(&q.dir) {
        Some("asc") => false,
        Some("desc") => true,
        _ => default_desc,
    };
    let mut shown = filter_apps(&apps, &q);
    sort_apps(&mut shown, &key, descending);
    let mut categories: Vec<&str> = apps.iter().filter_map(|a| a.category.as_deref()).collect();
    categories.sort_unstable();
    categories.dedup();

    let body = html! {
        h1 { "Discovered apps" }
        p .lead { "SaaS apps seen in firewall and proxy logs, with the organisation's decision on each." }
        (layout::window_form("/apps", &window, &[]))
        form .filters method="get" action="/apps" role="search"
            hx-get="/apps" hx-target="#apps-results" hx-select="#apps-results" hx-swap="outerHTML"
            hx-trigger="input changed delay:300ms, change" hx-push-url="true" {
            input type="hidden" name="since" value=(window.span.as_str());
            input type="hidden" name="sort" value=(key);
            input type="hidden" name="dir" value=(if descending { "desc" } else { "asc" });
            label { "Name or id" input #filter-q type="search" name="q" value=(q.q.clone().unwrap_or_default()) placeholder="e.g. transfer"; }
            label { "Category"
                select name="category" {
                    option value="" { "Any" }
                    @for c in &categories {
                        option value=(c) selected[q.category.as_deref() == Some(*c)] { (c.replace('_', " ")) }
                    }
                }
            }
            label { "Status"
                select #filter-status name="status" {
                    option value="" { "Any" }
                    @for s in ["sanctioned", "monitored", "unsanctioned", "unknown"] {
                        option value=(s) selected[q.status.as_deref() == Some(s)] { (s) }
                    }
                }
            }
            label { "Risk at least"
                select name="risk" {
                    option value="" { "Any" }
                    @for r in [3, 5, 7, 9] {
                        option value=(r) selected[q.risk.as_deref() == Some(r.to_string().as_str())] { (r) }
                    }
                }
            }
            button type="submit" .secondary { "Filter" }
        }
        div #apps-results {
            p .muted aria-live="polite" { (shown.len()) " of " (apps.len()) " apps" }
            div .table-wrap {
                table #apps-table {
                    caption .visually-hidden { "Discovered apps; column headers sort the table" }
                    thead { tr {
                        @for (k, label, numeric, desc_first) in COLUMNS {
                            (sort_header(&q, &window, &key, descending, k, label, numeric, desc_first))
                        }
                        th scope="col" { "Events per day" }
                    } }
                    tbody {
                        @for a in &shown {
                            tr {
                                td { (app_link(&a.app_id, a.name.as_deref().unwrap_or_default())) }
                                td { (a.category.as_deref().unwrap_or("—").replace('_', " ")) }
                                td .num { (a.risk.map(|r| r.to_string()).unwrap_or_else(|| "—".into())) }
                                td { (badge("status", a.status.as_deref().unwrap_or("unknown")))
                                    @if let (Some(exp), Some("monitored")) = (&a.expires, a.status.as_deref()) { br; span .muted { "until " (exp) } } }
                                td .num { (count(a.users)) }
                                td .num { (count(a.events)) }
                                td .num { (bytes(a.bytes_up)) }
                                td .num { (bytes(a.bytes_down)) }
                                td { (layout::time(a.first_seen.as_deref().unwrap_or_default())) }
                                td { (layout::time(a.last_seen.as_deref().unwrap_or_default())) }
                                td { (sparkline(&a.trend.iter().map(|t| t.events).collect::<Vec<_>>(), "events per day")) }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page(&viewer, Section::Apps, "Discovered apps", body).into_response()
}

#[allow(clippy::too_many_arguments)]
fn sort_header(
    q: &AppsQuery,
    window: &Window,
    key: &str,
    descending: bool,
    column: &str,
    label: &str,
    numeric: bool,
    desc_first: bool,
) -> Markup {
    let active = key == column;
    let next_desc = if active { !descending } else { desc_first };
    let mut href =
        format!("/apps?sort={column}&dir={}&since={}", if next_desc { "desc" } else { "asc" }, window.span.as_str());
    for (name, v) in [("q", &q.q), ("category", &q.category), ("status", &q.status), ("risk", &q.risk)] {
        if let Some(v) = non_empty(v) {
            href.push_str(&format!("&{name}={}", query_value(v)));
        }
    }
    let sort = if active { Some(if descending { "descending" } else { "ascending" }) } else { None };
    html! {
        th scope="col" class=[numeric.then_some("num")] aria-sort=[sort] {
            a href=(href) { (label) }
        }
    }
}

/// The decision form's fields.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DecisionForm {
    /// `preview` or `save`.
    #[serde(default)]
    pub action: String,
    /// `sanctioned`, `monitored` or `unsanctioned`.
    #[serde(default)]
    pub status: String,
    /// Why (required).
    #[serde(default)]
    pub reason: String,
    /// Who answers for it.
    #[serde(default)]
    pub owner: String,
    /// The last day it holds (`YYYY-MM-DD`).
    #[serde(default)]
    pub expires: String,
    /// The sanctioned app to use instead.
    #[serde(default)]
    pub alternative: String,
    /// The SHA-256 of the overlay text the preview was based on.
    #[serde(default)]
    pub base: String,
}

impl DecisionForm {
    /// The decision the fields describe, or what is wrong with them.
    pub fn decision(&self, app_id: &str) -> Result<Decision, String> {
        let status: AppStatus =
            self.status.trim().parse().map_err(|_| {
                format!("choose a status: sanctioned, monitored or unsanctioned (not `{}`)", self.status)
            })?;
        let mut d = Decision::new(app_id, status, self.reason.trim());
        if !self.owner.trim().is_empty() {
            d = d.with_owner(self.owner.trim());
        }
        if !self.expires.trim().is_empty() {
            let day: Date = self
                .expires
                .trim()
                .parse()
                .map_err(|_| format!("the expiry `{}` is not a date (YYYY-MM-DD)", self.expires.trim()))?;
            d = d.with_expiry(day);
        }
        if !self.alternative.trim().is_empty() {
            d = d.with_alternative(self.alternative.trim());
        }
        Ok(d)
    }

    fn from_current(app: Option<&floodlight_enrichments::App>) -> DecisionForm {
        match app {
            Some(a) => DecisionForm {
                status: a.status.as_str().to_string(),
                reason: a.status_reason.clone().unwrap_or_default(),
                owner: a.owner.clone().unwrap_or_default(),
                expires: a.expires.map(|d| d.to_string()).unwrap_or_default(),
                alternative: a.alternative.clone().unwrap_or_default(),
                ..DecisionForm::default()
            },
            None => DecisionForm::default(),
        }
    }
}

/// What the app page shows around the form.
#[derive(Debug, Default)]
struct FormState {
    values: Option<DecisionForm>,
    problem: Option<String>,
    notice: Option<String>,
}

/// Query or form parameters of a console page.
#[derive(Debug, Deserialize)]
pub struct AppPageQuery {
    since: Option<String>,
    saved: Option<String>,
}

/// `GET /apps/{id}`.
pub async fn page(
    State(state): State<ConsoleState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    Query(q): Query<AppPageQuery>,
) -> Response {
    let notice = q.saved.is_some().then(|| "Decision saved. The overlay file and the audit log were updated.".into());
    app_page(
        &state,
        &viewer,
        &id,
        Span::parse(q.since.as_deref()),
        FormState { notice, ..FormState::default() },
        StatusCode::OK,
    )
    .await
}

async fn app_page(
    state: &ConsoleState,
    viewer: &Viewer,
    id: &str,
    span: Span,
    form: FormState,
    status: StatusCode,
) -> Response {
    let window = state.window.window(&state.lake, span).await;
    let current = state.decisions.current(&state.lake).await;
    let app = current.catalog.get(id).cloned();
    let people = match state.lake.app_people(id, window.since(), 200).await {
        Ok(p) => p,
        Err(e) => return layout::lake_error(viewer, Section::Apps, &e),
    };
    if app.is_none() && people.is_empty() {
        // A decision about an app nobody knows is refused with its reason (422);
        // a page for one is not found.
        let status = if form.problem.is_some() { status } else { StatusCode::NOT_FOUND };
        return (
            status,
            layout::page(
                viewer,
                Section::Apps,
                "No such app",
                html! {
                    h1 { "No such app" }
                    @if let Some(p) = &form.problem { p .error role="alert" #decision-error { (p) } }
                    p { "The catalog has no app " code { (id) } " and the lake has no event for it." }
                    p { a href="/apps" { "All apps" } }
                },
            ),
        )
            .into_response();
    }
    let filter = FindingFilter { app: Some(id.to_string()), since: window.since(), ..FindingFilter::default() };
    let findings = match state.lake.findings(&filter, 25, None).await {
        Ok(f) => f.findings,
        Err(e) => return layout::lake_error(viewer, Section::Apps, &e),
    };
    let history = state.decisions.history(id, 20);
    let name = app.as_ref().map(|a| a.name.clone()).unwrap_or_else(|| id.to_string());
    let values = form.values.clone().unwrap_or_else(|| DecisionForm::from_current(app.as_ref()));

    let body = html! {
        p .muted { a href="/apps" { "Apps" } " / " (name) }
        h1 { (name) " " (badge("status", app.as_ref().map(|a| a.status.as_str()).unwrap_or("unknown"))) }
        @if let Some(n) = &form.notice { p .notice role="status" { (n) } }
        (layout::window_form(&format!("/apps/{}", path_segment(id)), &window, &[]))
        div .grid2 {
            section .panel {
                h2 { "What it is" }
                @if let Some(a) = &app {
                    dl .facts {
                        dt { "Id" } dd { code { (a.id) } }
                        dt { "Vendor" } dd { (a.vendor) }
                        dt { "Category" } dd { (a.category.as_str().replace('_', " ")) }
                        dt { "Risk" } dd { (a.risk) " of 10"
                            @if !a.risk_factors.is_empty() {
                                ": " (a.risk_factors.iter().map(|f| f.as_str().replace('_', " ")).collect::<Vec<_>>().join(", "))
                            } }
                        dt { "Domains" } dd { (a.domains.join(", ")) }
                        dt { "OAuth clients" } dd { @if a.client_ids.is_empty() && a.oauth_names.is_empty() { span .muted { "none known" } }
                            @else { (a.client_ids.iter().chain(a.oauth_names.iter()).cloned().collect::<Vec<_>>().join(", ")) } }
                        @if let Some(n) = &a.notes { dt { "Notes" } dd { (n) } }
                    }
                } @else {
                    p .muted { "Not in the catalog: seen in the lake only." }
                }
            }
            section .panel {
                h2 { "The organisation's decision" }
                @if let Some(a) = &app {
                    dl .facts {
                        dt { "Status" } dd { (badge("status", a.status.as_str())) }
                        dt { "Reason" } dd { (a.status_reason.as_deref().unwrap_or("—")) }
                        dt { "Owner" } dd { (a.owner.as_deref().unwrap_or("—")) }
                        dt { "Until" } dd { (a.expires.map(|d| d.to_string()).unwrap_or_else(|| "no expiry".into())) }
                        dt { "Use instead" } dd { @match &a.alternative {
                            Some(alt) => (app_link(alt, current.catalog.get(alt).map(|x| x.name.as_str()).unwrap_or(alt))),
                            None => "—",
                        } }
                    }
                }
            }
        }
        section .panel #decide {
            h2 { "Decide" }
            (decision_form(viewer, id, &values, &current, state.decisions.editable(), form.problem.as_deref()))
        }
        section {
            h2 { "People using it" }
            @if people.is_empty() { p .muted { "Nobody in " (window.describe()) "." } } @else {
                div .table-wrap { table {
                    thead { tr { th scope="col" { "Person" } th scope="col" .num { "Devices" } th scope="col" .num { "Events" }
                        th scope="col" .num { "Uploaded" } th scope="col" .num { "Downloaded" } th scope="col" { "Last seen" } } }
                    tbody { @for p in &people { tr {
                        td { (person_link(&field(p, "user"))) }
                        td .num { (count(number(p, "devices"))) }
                        td .num { (count(number(p, "events"))) }
                        td .num { (bytes(number(p, "bytes_up"))) }
                        td .num { (bytes(number(p, "bytes_down"))) }
                        td { (layout::time(&field(p, "last_seen"))) }
                    } } }
                } }
            }
        }
        section {
            h2 { "Findings" }
            (super::findings::findings_table(&findings, &Default::default()))
            p { a href=(format!("/findings?app={}", query_value(id))) { "All findings about " (name) } }
        }
        section {
            h2 { "Decision history" }
            @if history.is_empty() { p .muted { "No decision was recorded from floodlight for this app." } } @else {
                div .table-wrap { table {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "Before" } th scope="col" { "After" } } }
                    tbody { @for r in &history { tr {
                        td { (layout::time(&r.time)) }
                        td { (r.who) }
                        td { @match &r.before { Some(b) => (rule_summary(b)), None => span .muted { "no entry" } } }
                        td { (rule_summary(&r.after)) }
                    } } }
                } }
            }
        }
    };
    (status, layout::page(viewer, Section::Apps, &name, body)).into_response()
}

fn rule_summary(r: &Decision) -> Markup {
    html! {
        (badge("status", r.status.as_str())) " " (r.reason)
        @if let Some(o) = &r.owner { span .muted { " · owner " (o) } }
        @if let Some(e) = &r.expires { span .muted { " · until " (e) } }
        @if let Some(a) = &r.alternative { span .muted { " · instead: " (a) } }
    }
}

fn decision_form(
    viewer: &Viewer,
    id: &str,
    values: &DecisionForm,
    current: &Current,
    editable: Editable,
    problem: Option<&str>,
) -> Markup {
    let sanctioned: Vec<(&str, &str)> = current
        .catalog
        .iter()
        .filter(|a| a.status == AppStatus::Sanctioned)
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    html! {
        @if let Editable::No(why) = &editable {
            p .warning { "Decisions cannot be saved here: " (why) }
        }
        @if let Some(p) = problem { p .error role="alert" #decision-error { (p) } }
        form .stack #decision-form method="post" action=(format!("/apps/{}/decision", path_segment(id))) {
            input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
            input type="hidden" name="action" value="preview";
            label { "Status"
                select #decision-status name="status" required {
                    @for s in ["sanctioned", "monitored", "unsanctioned"] {
                        option value=(s) selected[values.status == s] { (s) }
                    }
                }
            }
            label { "Reason (shown to people in findings and nudges)"
                textarea #decision-reason name="reason" required { (values.reason) }
            }
            label { "Owner" input #decision-owner type="text" name="owner" value=(values.owner) placeholder="it-finance@corp.example.com"; }
            label { "Until (last day it holds; leave empty for no expiry)"
                input #decision-expires type="date" name="expires" value=(values.expires); }
            label { "Sanctioned alternative (an app id)"
                input #decision-alternative type="text" name="alternative" list="sanctioned-apps" value=(values.alternative) autocomplete="off"; }
            datalist #sanctioned-apps {
                @for (sid, sname) in &sanctioned { option value=(sid) { (sname) } }
            }
            div .actions { button type="submit" #decision-preview { "Preview the change" } }
        }
    }
}

/// `POST /apps/{id}/decision`: preview (diff) or save.
pub async fn decide(
    State(state): State<ConsoleState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let refuse = |problem: String, values: DecisionForm| FormState {
        values: Some(values),
        problem: Some(problem),
        notice: None,
    };
    let decision = match form.decision(&id) {
        Ok(d) => d,
        Err(p) => {
            return app_page(
                &state,
                &viewer,
                &id,
                Span::default(),
                refuse(p, form.clone()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let current = state.decisions.current(&state.lake).await;
    let today = Date::today_utc();
    let plan = match state.decisions.plan(&current.text, decision.clone(), today) {
        Ok(p) => p,
        Err(e) => {
            return app_page(
                &state,
                &viewer,
                &id,
                Span::default(),
                refuse(e.to_string(), form.clone()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let changed_since_preview = form.action == "save" && form.base != text_hash(&current.text);
    if form.action != "save" || changed_since_preview {
        let warning = changed_since_preview.then_some(
            "The overlay changed since your preview (someone else saved a decision, or it was edited by hand). \
             Here is your change against the file as it is now.",
        );
        return preview_page(
            &viewer,
            &id,
            &form,
            &plan.diff(),
            &text_hash(&current.text),
            warning,
            plan.changes_file(),
        );
    }
    match state.decisions.save(plan, viewer.name()) {
        Ok(record) => {
            tracing::info!(target: "floodlight_server", app = %record.app_id, who = %record.who,
                status = %record.after.status.as_str(), "console: decision saved");
            state.decisions.current(&state.lake).await;
            Redirect::to(&format!("/apps/{}?saved=1", path_segment(&id))).into_response()
        }
        Err(e) => {
            app_page(&state, &viewer, &id, Span::default(), refuse(e.to_string(), form.clone()), StatusCode::CONFLICT)
                .await
        }
    }
}

fn preview_page(
    viewer: &Viewer,
    id: &str,
    form: &DecisionForm,
    diff: &str,
    base: &str,
    warning: Option<&str>,
    changes: bool,
) -> Response {
    let body = html! {
        p .muted { a href="/apps" { "Apps" } " / " a href=(format!("/apps/{}", path_segment(id))) { (id) } " / decision" }
        h1 { "Check the change to the overlay" }
        @if let Some(w) = warning { p .warning role="alert" { (w) } }
        @if changes {
            p { "Saving writes this change to the overlay file and records it in the audit log as " strong { (viewer.name()) } "." }
            pre #decision-diff aria-label="Unified diff of the overlay file" {
                @for line in diff.lines() {
                    @let class = if line.starts_with("+++") || line.starts_with("---") { "" }
                        else if line.starts_with('+') { "add" } else if line.starts_with('-') { "del" }
                        else if line.starts_with("@@") { "hunk" } else { "" };
                    span class=(class) { (line) } "\n"
                }
            }
        } @else {
            p .notice { "The overlay already says this; saving only records the confirmation in the audit log." }
        }
        form method="post" action=(format!("/apps/{}/decision", path_segment(id))) .actions {
            input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
            input type="hidden" name="action" value="save";
            input type="hidden" name="base" value=(base);
            input type="hidden" name="status" value=(form.status);
            input type="hidden" name="reason" value=(form.reason);
            input type="hidden" name="owner" value=(form.owner);
            input type="hidden" name="expires" value=(form.expires);
            input type="hidden" name="alternative" value=(form.alternative);
            button type="submit" #decision-save { "Save the decision" }
            a href=(format!("/apps/{}#decide", path_segment(id))) { "Cancel" }
        }
    };
    layout::page(viewer, Section::Apps, "Check the change", body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(id: &str, users: i64, bytes_up: i64, status: &str, category: &str) -> DiscoveredApp {
        DiscoveredApp {
            app_id: id.into(),
            name: Some(id.to_uppercase()),
            category: Some(category.into()),
            risk: Some(users),
            status: Some(status.into()),
            expires: None,
            alternative: None,
            users,
            devices: 1,
            events: 1,
            bytes_up,
            bytes_down: 0,
            first_seen: None,
            last_seen: None,
            trend: Vec::new(),
        }
    }

    #[test]
    fn filter_and_sort_the_apps_table() {
        let apps = vec![
            app("wetransfer", 3, 500, "unsanctioned", "file_sharing"),
            app("dropbox", 5, 100, "monitored", "file_sharing"),
            app("chatgpt", 9, 50, "unsanctioned", "genai"),
        ];
        let q = AppsQuery { status: Some("unsanctioned".into()), ..AppsQuery::default() };
        let mut shown = filter_apps(&apps, &q);
        sort_apps(&mut shown, "bytes_up", true);
        assert_eq!(shown.iter().map(|a| a.app_id.as_str()).collect::<Vec<_>>(), ["wetransfer", "chatgpt"]);
        let q = AppsQuery { q: Some("DROP".into()), ..AppsQuery::default() };
        assert_eq!(filter_apps(&apps, &q).len(), 1);
        let q = AppsQuery { category: Some("file_sharing".into()), risk: Some("4".into()), ..AppsQuery::default() };
        assert_eq!(filter_apps(&apps, &q).iter().map(|a| a.app_id.as_str()).collect::<Vec<_>>(), ["dropbox"]);
        let mut all = filter_apps(&apps, &AppsQuery::default());
        sort_apps(&mut all, "name", false);
        assert_eq!(all.iter().map(|a| a.app_id.as_str()).collect::<Vec<_>>(), ["chatgpt", "dropbox", "wetransfer"]);
    }

    #[test]
    fn the_form_says_what_is_wrong_before_the_plan() {
        let f = DecisionForm { status: "maybe".into(), reason: "x".into(), ..DecisionForm::default() };
        assert!(f.decision("dropbox").unwrap_err().contains("choose a status"));
        let f = DecisionForm {
            status: "monitored".into(),
            reason: "x".into(),
            expires: "31/03/2027".into(),
            ..DecisionForm::default()
        };
        assert!(f.decision("dropbox").unwrap_err().contains("not a date"));
        let f = DecisionForm {
            status: "unsanctioned".into(),
            reason: " too risky ".into(),
            alternative: "onedrive".into(),
            ..DecisionForm::default()
        };
        let d = f.decision("wetransfer").expect("valid");
        assert_eq!((d.reason.as_str(), d.alternative.as_deref(), d.owner), ("too risky", Some("onedrive"), None));
    }
}
