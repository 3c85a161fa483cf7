//! `/findings`: findings with filters and paging, and one finding's page
//! with its triage.
//!
//! The list filters on what the lake knows (rule, family, severity, person,
//! app, words, window) and on the triage status the store knows; it pages
//! with the lake's cursor, newest first. A finding's page shows what was
//! seen and why it matters (the message), the evidence, the sample events,
//! the sanctioned alternative, the ATT&CK techniques (linked to MITRE's
//! pages), every revision, and the **triage**: status (new, acknowledged,
//! resolved, false positive), assignee and notes, kept in the console's
//! store with their history. Two analysts changing the same finding at once
//! cannot overwrite each other: the form carries the version it showed, and a
//! stale one is refused with the current state.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use floodlight_analyst::reports::FindingFilter;
use floodlight_store::{StoreError, Triage, TriageStatus, TriageUpdate};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::layout::{
    self, app_link, badge, bytes, count, field, number, path_segment, person_link, query_value, Section,
};
use super::session::{Viewer, CSRF_FIELD};
use super::window::Span;
use super::ConsoleState;

/// Findings per page.
pub const PAGE: usize = 50;
/// Lake pages read at most to fill one page when filtering on triage status.
const MAX_SCAN_PAGES: usize = 20;

/// The list's query parameters.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FindingsQuery {
    /// Rule id.
    pub rule: Option<String>,
    /// Family.
    pub family: Option<String>,
    /// Severity.
    pub severity: Option<String>,
    /// Person.
    pub user: Option<String>,
    /// App id or name.
    pub app: Option<String>,
    /// Words in the message or title.
    pub text: Option<String>,
    /// Triage status.
    pub triage: Option<String>,
    /// Where the page starts (from the previous page).
    pub cursor: Option<String>,
    /// The window.
    pub since: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The findings table (also on the app and person pages).
pub fn findings_table(findings: &[Map<String, Value>], triage: &HashMap<String, Triage>) -> Markup {
    if findings.is_empty() {
        return html! { p .muted { "No findings." } };
    }
    html! {
        div .table-wrap { table .findings {
            thead { tr {
                th scope="col" { "When" } th scope="col" { "Severity" } th scope="col" { "Rule" }
                th scope="col" { "What" } th scope="col" { "Person" } th scope="col" { "App" } th scope="col" { "Triage" }
            } }
            tbody { @for f in findings {
                @let id = field(f, "finding_id");
                @let t = triage.get(&id);
                tr {
                    td { (layout::time(&field(f, "time"))) }
                    td { (badge("severity", &field(f, "severity"))) }
                    td { code { (field(f, "rule_id")) } }
                    td { a href=(format!("/findings/{}", path_segment(&id))) { (field(f, "rule_title")) }
                        br; span .muted { (truncate(&field(f, "message"), 160)) } }
                    td { (person_link(&field(f, "user"))) }
                    td { (app_link(&field(f, "app_id"), &field(f, "app_name"))) }
                    td { (badge("triage", t.map(|t| t.status.label()).unwrap_or("New")))
                        @if let Some(a) = t.and_then(|t| t.assignee.as_deref()) { br; span .muted { (a) } } }
                }
            } }
        } }
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

/// `GET /findings`.
pub async fn list(
    State(state): State<ConsoleState>,
    Extension(viewer): Extension<Viewer>,
    Query(q): Query<FindingsQuery>,
) -> Response {
    let window = state.window.window(&state.lake, Span::parse(q.since.as_deref())).await;
    let filter = FindingFilter {
        rule: non_empty(&q.rule),
        family: non_empty(&q.family),
        severity: non_empty(&q.severity),
        user: non_empty(&q.user),
        app: non_empty(&q.app),
        text: non_empty(&q.text),
        since: window.since(),
        until: None,
    };
    let wanted: Option<TriageStatus> = non_empty(&q.triage).and_then(|t| t.parse().ok());
    let mut shown: Vec<Map<String, Value>> = Vec::new();
    let mut triage: HashMap<String, Triage> = HashMap::new();
    let mut cursor = non_empty(&q.cursor);
    let mut next = None;
    for _ in 0..MAX_SCAN_PAGES {
        let page = match state.lake.findings(&filter, PAGE, cursor.as_deref()).await {
            Ok(p) => p,
            Err(e) => return layout::lake_error(&viewer, Section::Findings, &e),
        };
        let ids: Vec<String> = page.findings.iter().map(|f| field(f, "finding_id")).collect();
        let known = match state.store.triage_many(&ids).await {
            Ok(t) => t,
            Err(e) => return layout::store_error(&e),
        };
        for f in page.findings {
            let id = field(&f, "finding_id");
            let status = known.get(&id).map(|t| t.status).unwrap_or(TriageStatus::New);
            if wanted.is_none_or(|w| w == status) {
                shown.push(f);
            }
        }
        triage.extend(known);
        next = page.next_cursor;
        if wanted.is_none() || shown.len() >= PAGE || next.is_none() {
            break;
        }
        cursor = next.clone();
    }
    let keep = |extra: &[(&str, String)]| -> String {
        let mut parts: Vec<String> = Vec::new();
        for (k, v) in [
            ("rule", &q.rule),
            ("family", &q.family),
            ("severity", &q.severity),
            ("user", &q.user),
            ("app", &q.app),
            ("text", &q.text),
            ("triage", &q.triage),
        ] {
            if let Some(v) = non_empty(v) {
                parts.push(format!("{k}={}", query_value(&v)));
            }
        }
        parts.push(format!("since={}", window.span.as_str()));
        for (k, v) in extra {
            parts.push(format!("{k}={}", query_value(v)));
        }
        format!("/findings?{}", parts.join("&"))
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let body = html! {
        h1 { "Findings" }
        (layout::window_form("/findings", &window, &[
            ("rule", &text(&q.rule)), ("family", &text(&q.family)), ("severity", &text(&q.severity)),
            ("user", &text(&q.user)), ("app", &text(&q.app)), ("text", &text(&q.text)), ("triage", &text(&q.triage)),
        ]))
        form .filters method="get" action="/findings" role="search" {
            input type="hidden" name="since" value=(window.span.as_str());
            label { "Words" input #filter-text type="search" name="text" value=(text(&q.text)); }
            label { "Rule" input type="text" name="rule" value=(text(&q.rule)) placeholder="SS-04" size="8"; }
            label { "Family" select name="family" {
                option value="" { "Any" }
                @for f in ["shadow_saas", "email_forwarding", "public_network", "imported"] {
                    option value=(f) selected[q.family.as_deref() == Some(f)] { (f.replace('_', " ")) }
                }
            } }
            label { "Severity" select #filter-severity name="severity" {
                option value="" { "Any" }
                @for s in ["critical", "high", "medium", "low", "info"] {
                    option value=(s) selected[q.severity.as_deref() == Some(s)] { (s) }
                }
            } }
            label { "Person" input type="text" name="user" value=(text(&q.user)); }
            label { "App" input type="text" name="app" value=(text(&q.app)) size="12"; }
            label { "Triage" select #filter-triage name="triage" {
                option value="" { "Any" }
                @for s in TriageStatus::ALL.iter().copied() {
                    option value=(s.as_str()) selected[q.triage.as_deref() == Some(s.as_str())] { (s.label()) }
                }
            } }
            button type="submit" .secondary { "Filter" }
        }
        p .muted aria-live="polite" { (shown.len()) " findings on this page" }
        (findings_table(&shown, &triage))
        nav .pager aria-label="Pages" {
            @if q.cursor.is_some() { a href=(keep(&[])) { "« Newest" } }
            @if let Some(n) = &next { a href=(keep(&[("cursor", n.clone())])) rel="next" { "Older findings »" } }
        }
    };
    layout::page(&viewer, Section::Findings, "Findings", body).into_response()
}

#[derive(Debug, Default)]
struct Feedback {
    notice: Option<String>,
    problem: Option<String>,
}

/// Query or form parameters of a console page.
#[derive(Debug, Deserialize)]
pub struct FindingPageQuery {
    triaged: Option<String>,
    noted: Option<String>,
}

/// `GET /findings/{id}`.
pub async fn page(
    State(state): State<ConsoleState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    Query(q): Query<FindingPageQuery>,
) -> Response {
    let notice = if q.triaged.is_some() {
        Some("Triage saved.".to_string())
    } else {
        q.noted.is_some().then(|| "Note added.".to_string())
    };
    finding_page(&state, &viewer, &id, Feedback { notice, problem: None }, StatusCode::OK).await
}

/// MITRE ATT&CK's page for a technique id (`T1567.002` → `.../T1567/002/`).
pub fn attack_url(technique: &str) -> Option<String> {
    let t = technique.trim();
    let valid = t.starts_with('T') && t[1..].chars().all(|c| c.is_ascii_digit() || c == '.') && t.len() >= 5;
    valid.then(|| format!("https://attack.mitre.org/techniques/{}/", t.replace('.', "/")))
}

/// The sample-event columns shown, when the events have them.
const EVENT_COLUMNS: [&str; 16] = [
    "time",
    "event_type",
    "action",
    "user",
    "src_ip",
    "device",
    "dst_ip",
    "host",
    "query",
    "url",
    "app",
    "app_name",
    "bytes_out",
    "result",
    "network_type",
    "geo_country",
];

async fn finding_page(
    state: &ConsoleState,
    viewer: &Viewer,
    id: &str,
    feedback: Feedback,
    status: StatusCode,
) -> Response {
    let detail = match state.lake.finding(id).await {
        Ok(d) => d,
        Err(e) => return layout::lake_error(viewer, Section::Findings, &e),
    };
    let (triage, history, notes) =
        match tokio::try_join!(state.store.triage(id), state.store.triage_history(id), state.store.notes(id)) {
            Ok(t) => t,
            Err(e) => return layout::store_error(&e),
        };
    // The nudge about this finding and the person's answer, if any.
    let nudge = match state.store.nudge_for_finding(id).await {
        Ok(n) => n,
        Err(e) => return layout::store_error(&e),
    };
    let answer = match &nudge {
        Some(n) => match state.store.answer(&n.id).await {
            Ok(a) => a,
            Err(e) => return layout::store_error(&e),
        },
        None => None,
    };
    let current = state.decisions.current(&state.lake).await;
    let f = &detail.finding;
    let title = field(f, "rule_title");
    let app_id = field(f, "app_id");
    let alternative = field(f, "app_alternative");
    let alternative = if alternative.is_empty() {
        current.catalog.get(&app_id).and_then(|a| a.alternative.clone()).unwrap_or_default()
    } else {
        alternative
    };
    let attack: Vec<String> = f
        .get("attack")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let evidence = serde_json::from_str::<Value>(&field(f, "evidence"))
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| field(f, "evidence"));
    let columns: Vec<&str> = EVENT_COLUMNS
        .into_iter()
        .filter(|c| detail.sample_events.iter().any(|e| e.get(*c).is_some_and(|v| !v.is_null())))
        .collect();
    let status_now = triage.as_ref().map(|t| t.status).unwrap_or(TriageStatus::New);
    let body = html! {
        p .muted { a href="/findings" { "Findings" } " / " code { (id) } }
        h1 { (title) }
        p { (badge("severity", &field(f, "severity"))) " " (badge("family", &field(f, "family"))) " "
            code { (field(f, "rule_id")) } " " (badge("triage", status_now.label())) }
        @if let Some(n) = &feedback.notice { p .notice role="status" { (n) } }
        @if let Some(p) = &feedback.problem { p .error role="alert" { (p) } }
        p .lead #finding-message { (field(f, "message")) }
        div .grid2 {
            section .panel {
                h2 { "What was seen" }
                dl .facts {
                    dt { "Person" } dd { (person_link(&field(f, "user"))) }
                    @if !field(f, "device").is_empty() { dt { "Device" } dd { (field(f, "device")) } }
                    @if !field(f, "src_ip").is_empty() { dt { "Address" } dd { (field(f, "src_ip")) } }
                    dt { "App" } dd { (app_link(&app_id, &field(f, "app_name")))
                        @if !field(f, "app_status").is_empty() { " " (badge("status", &field(f, "app_status"))) } }
                    dt { "Use instead" } dd #finding-alternative { @if alternative.is_empty() { span .muted { "no sanctioned alternative is set" } }
                        @else { (app_link(&alternative, current.catalog.get(&alternative).map(|a| a.name.as_str()).unwrap_or(&alternative))) } }
                    dt { "Events" } dd { (count(number(f, "event_count")))
                        @if number(f, "bytes") > 0 { ", " (bytes(number(f, "bytes"))) } }
                    dt { "First / last" } dd { (layout::time(&field(f, "first_seen"))) " – " (layout::time(&field(f, "last_seen"))) }
                    dt { "Detected" } dd { (layout::time(&field(f, "detected_at"))) ", revision " (field(f, "revision")) }
                    @if number(f, "suppressed_count") > 0 { dt { "Suppressed" } dd { (number(f, "suppressed_count")) " repeats" } }
                    dt { "ATT&CK" } dd { @if attack.is_empty() { span .muted { "—" } } @else {
                        @for (i, t) in attack.iter().enumerate() {
                            @if i > 0 { ", " }
                            @match attack_url(t) { Some(u) => a href=(u) rel="noopener noreferrer" target="_blank" { (t) }, None => (t) }
                        }
                    } }
                }
            }
            section .panel #triage {
                h2 { "Triage" }
                form .stack method="post" action=(format!("/findings/{}/triage", path_segment(id))) {
                    input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
                    input type="hidden" name="version" value=(triage.as_ref().map(|t| t.version.to_string()).unwrap_or_default());
                    label { "Status" select #triage-status name="status" {
                        @for s in TriageStatus::ALL.iter().copied() { option value=(s.as_str()) selected[s == status_now] { (s.label()) } }
                    } }
                    label { "Assignee" input #triage-assignee type="text" name="assignee"
                        value=(triage.as_ref().and_then(|t| t.assignee.clone()).unwrap_or_default()); }
                    div .actions { button type="submit" #triage-save { "Save triage" } }
                }
                @if !history.is_empty() {
                    h3 { "History" }
                    ul { @for c in &history { li {
                        (badge("triage", c.status.label()))
                        @if let Some(a) = &c.assignee { " → " (a) }
                        span .muted { " by " (c.who) ", " (layout::micros_time(c.at)) }
                    } } }
                }
                h3 #notes { "Notes" }
                @if notes.is_empty() { p .muted { "No notes yet." } } @else {
                    ol .notes { @for n in &notes { li { strong { (n.author) } span .muted { " " (layout::micros_time(n.created_at)) } br; (n.text) } } }
                }
                form .stack method="post" action=(format!("/findings/{}/notes", path_segment(id))) {
                    input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
                    label { "Add a note" textarea #note-text name="text" required {} }
                    div .actions { button type="submit" .secondary #note-save { "Add note" } }
                }
            }
        }
        @if let Some(n) = &nudge {
            section #nudge {
                h2 { "Nudge" }
                p {
                    (n.facts.channel) " to " (n.facts.recipient.as_deref().unwrap_or(&n.facts.person))
                    " (" (n.facts.language) "): " strong { (n.state.as_str()) }
                    @if let Some(at) = n.sent_at { span .muted { " " (layout::micros_time(at)) } }
                    @if let Some(r) = &n.reason { span .muted { " — " (r) } }
                }
                @if let Some(subject) = &n.subject { p { "Subject: " q { (subject) } } }
                @if let Some(a) = &answer {
                    h3 { "Their answer" }
                    p { strong { (a.choice.as_str().replace('_', " ")) }
                        @if let Some(d) = a.requested_days { " · asked for " (d) " days" }
                        span .muted { " " (layout::micros_time(a.answered_at)) } }
                    @if let Some(r) = &a.reason { blockquote { (r) } }
                    @if let Some(d) = a.decision {
                        p { "IT " strong { (d.as_str()) }
                            @if let Some(s) = &a.scope { " for " (s) }
                            @if let Some(e) = &a.exception_expires { " until " (e) }
                            @if let Some(by) = &a.decided_by { span .muted { " by " (by) } } }
                        @if let Some(r) = &a.reply { p { "Reply: " q { (r) } } }
                    } @else if a.choice == floodlight_store::AnswerChoice::Need {
                        p { a href=(format!("/explanations#request-{}", n.id)) { "Decide on this request" } }
                    }
                } @else {
                    p .muted { "No answer yet." }
                }
            }
        }
        section {
            h2 { "Evidence" }
            pre { (evidence) }
        }
        section {
            h2 { "Sample events" }
            @if detail.sample_events.is_empty() { p .muted { "The lake holds no sample event for this finding." } } @else {
                div .table-wrap { table {
                    thead { tr { @for c in &columns { th scope="col" { (c) } } } }
                    tbody { @for e in &detail.sample_events { tr { @for c in &columns {
                        td { @if *c == "time" { (layout::time(&field(e, c))) } @else { (field(e, c)) } }
                    } } } }
                } }
            }
        }
        section {
            h2 { "Revisions" }
            div .table-wrap { table {
                thead { tr { th scope="col" .num { "Revision" } th scope="col" { "Detected" } th scope="col" .num { "Events" }
                    th scope="col" { "Last event" } th scope="col" { "Message" } } }
                tbody { @for r in &detail.revisions { tr {
                    td .num { (field(r, "revision")) }
                    td { (layout::time(&field(r, "detected_at"))) }
                    td .num { (count(number(r, "event_count"))) }
                    td { (layout::time(&field(r, "last_seen"))) }
                    td { (field(r, "message")) }
                } } }
            } }
        }
    };
    (status, layout::page(viewer, Section::Findings, &title, body)).into_response()
}

/// The triage form's fields.
#[derive(Debug, Deserialize)]
pub struct TriageForm {
    /// The new status.
    pub status: String,
    /// Who works on it (empty: nobody).
    #[serde(default)]
    pub assignee: String,
    /// The version the form showed (empty: no triage yet).
    #[serde(default)]
    pub version: String,
}

/// `POST /findings/{id}/triage`.
pub async fn triage(
    State(state): State<ConsoleState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    Form(form): Form<TriageForm>,
) -> Response {
    let outcome = save_triage(&state, &viewer, &id, &form).await;
    match outcome {
        Ok(response) => response,
        Err((problem, status)) => {
            finding_page(&state, &viewer, &id, Feedback { notice: None, problem: Some(problem) }, status).await
        }
    }
}

/// Save the triage form; `Err` is the problem to show with the page's status.
async fn save_triage(
    state: &ConsoleState,
    viewer: &Viewer,
    id: &str,
    form: &TriageForm,
) -> Result<Response, (String, StatusCode)> {
    let status = form
        .status
        .parse::<TriageStatus>()
        .map_err(|_| (format!("`{}` is not a triage status", form.status), StatusCode::UNPROCESSABLE_ENTITY))?;
    let expected = match form.version.trim() {
        "" => None,
        v => Some(
            v.parse::<i64>()
                .map_err(|_| ("the form's version is not a number".to_string(), StatusCode::UNPROCESSABLE_ENTITY))?,
        ),
    };
    // Only findings the lake has can be triaged.
    if let Err(e) = state.lake.finding(id).await {
        return Ok(layout::lake_error(viewer, Section::Findings, &e));
    }
    let assignee = Some(form.assignee.trim().to_string()).filter(|a| !a.is_empty());
    match state.store.set_triage(id, TriageUpdate { status, assignee }, viewer.name(), expected).await {
        Ok(t) => {
            tracing::info!(target: "floodlight_server", finding = %id, status = %t.status.as_str(),
                who = %viewer.name(), "console: triage saved");
            Ok(Redirect::to(&format!("/findings/{}?triaged=1#triage", path_segment(id))).into_response())
        }
        Err(StoreError::Conflict { .. }) => Err((
            "Someone changed this finding's triage after you opened it; the page now shows their change. \
             Make yours again if it still applies."
                .into(),
            StatusCode::CONFLICT,
        )),
        Err(StoreError::Invalid(m)) => Err((m, StatusCode::UNPROCESSABLE_ENTITY)),
        Err(e) => Ok(layout::store_error(&e)),
    }
}

/// The note form's field.
#[derive(Debug, Deserialize)]
pub struct NoteForm {
    /// The note.
    pub text: String,
}

/// `POST /findings/{id}/notes`.
pub async fn note(
    State(state): State<ConsoleState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    Form(form): Form<NoteForm>,
) -> Response {
    if let Err(e) = state.lake.finding(&id).await {
        return layout::lake_error(&viewer, Section::Findings, &e);
    }
    match state.store.add_note(&id, viewer.name(), &form.text).await {
        Ok(_) => Redirect::to(&format!("/findings/{}?noted=1#notes", path_segment(&id))).into_response(),
        Err(StoreError::Invalid(m)) => {
            finding_page(
                &state,
                &viewer,
                &id,
                Feedback { notice: None, problem: Some(m) },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => layout::store_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_links_go_to_mitre() {
        assert_eq!(attack_url("T1567.002").as_deref(), Some("https://attack.mitre.org/techniques/T1567/002/"));
        assert_eq!(attack_url("T1114").as_deref(), Some("https://attack.mitre.org/techniques/T1114/"));
        assert_eq!(attack_url("javascript:alert(1)"), None);
        assert_eq!(attack_url("T1"), None);
    }
}
