//! The page shell every console page shares (head, skip link, navigation,
//! the window selector) and the small pieces pages are made of: numbers and
//! times for people, status and severity badges, sparklines, error pages.
//!
//! Accessibility is built in here rather than page by page: a "skip to the
//! content" link, one `<main>` with a heading per page, `aria-current` on the
//! navigation, visible focus, colour never the only signal (badges carry
//! their word), and tables that scroll sideways on a phone instead of
//! squeezing.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use floodlight_analyst::AnalystError;
use floodlight_store::StoreError;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::{Map, Value};

use super::assets;
use super::session::{Viewer, CSRF_FIELD};
use super::window::{Span, Window};

/// The sections of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `/`
    Overview,
    /// `/apps`
    Apps,
    /// `/findings`
    Findings,
    /// `/people`
    People,
    /// `/explanations`
    Explanations,
    /// `/sql`
    Sql,
}

impl Section {
    const ALL: [(Section, &'static str, &'static str); 6] = [
        (Section::Overview, "/", "Overview"),
        (Section::Apps, "/apps", "Apps"),
        (Section::Findings, "/findings", "Findings"),
        (Section::People, "/people", "People"),
        (Section::Explanations, "/explanations", "Explanations"),
        (Section::Sql, "/sql", "SQL"),
    ];
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            // htmx must not add a <style> element (the CSP forbids inline styles) or evaluate code.
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;
            title { (title) " · floodlight" }
            link rel="stylesheet" href=(assets::url("console.css"));
            link rel="icon" href=(assets::url("favicon.svg")) type="image/svg+xml";
            script src=(assets::url("htmx.min.js")) defer {}
            script src=(assets::url("chart.umd.min.js")) defer {}
            script src=(assets::url("console.js")) defer {}
        }
    }
}

/// A page without navigation (login, errors before a session exists).
pub fn bare_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body .bare { (body) }
        }
    }
}

/// A page with the navigation for `viewer`, `section` marked current.
pub fn page(viewer: &Viewer, section: Section, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a .skip href="#main" { "Skip to the content" }
                header .top {
                    a .brand href="/" { span aria-hidden="true" { "◐ " } "floodlight" }
                    nav aria-label="Sections" {
                        ul {
                            @for (s, href, label) in Section::ALL {
                                li {
                                    @if s == section {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                    form .logout method="post" action="/logout" {
                        input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
                        span .who { (viewer.name()) " · " (viewer.caller.role.as_str()) }
                        button type="submit" { "Log out" }
                    }
                }
                main #main tabindex="-1" { (body) }
            }
        }
    }
}

/// A store timestamp (µs since the epoch) for people: `2026-12-04 09:14 UTC`.
pub fn micros_time(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The window selector (a `GET` form that keeps `keep`'s other parameters).
pub fn window_form(action: &str, window: &Window, keep: &[(&str, &str)]) -> Markup {
    html! {
        form .window method="get" action=(action) {
            @for (k, v) in keep {
                @if !v.is_empty() { input type="hidden" name=(k) value=(v); }
            }
            label for="since" { "Window" }
            select #since name="since" data-autosubmit {
                @for s in Span::ALL {
                    option value=(s.as_str()) selected[s == window.span] { (s.label()) }
                }
            }
            button type="submit" .secondary { "Show" }
            span .muted { (window.describe()) }
        }
    }
}

/// `1.2 MB`, `830 B`.
pub fn bytes(n: i64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = n.max(0) as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `12 345`.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// An RFC 3339 time as `2026-11-24 10:15 UTC`.
pub fn time(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339)
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(&format!("{rfc3339}Z")))
    {
        Ok(t) => t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => rfc3339.to_string(),
    }
}

/// A column of a JSON row as text (`""` when null).
pub fn field(row: &Map<String, Value>, column: &str) -> String {
    match row.get(column) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A column of a JSON row as a number (0 when null).
pub fn number(row: &Map<String, Value>, column: &str) -> i64 {
    row.get(column).and_then(Value::as_i64).unwrap_or(0)
}

/// A coloured badge that also says its word.
pub fn badge(kind: &str, word: &str) -> Markup {
    let class = format!("badge {kind}-{}", word.to_ascii_lowercase().replace([' ', '_'], "-"));
    html! { span class=(class) { (word.replace('_', " ")) } }
}

/// A sparkline of `values` (an inline SVG; the numbers are in its title
/// for screen readers and tooltips).
pub fn sparkline(values: &[i64], label: &str) -> Markup {
    const W: f64 = 96.0;
    const H: f64 = 22.0;
    if values.is_empty() {
        return html! { span .muted { "—" } };
    }
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = if values.len() > 1 { W / (values.len() - 1) as f64 } else { 0.0 };
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{:.1},{:.1}", i as f64 * step, H - 2.0 - (*v as f64 / max) * (H - 4.0)))
        .collect();
    let points = if values.len() == 1 { format!("0,{0} {W},{0}", H / 2.0) } else { points.join(" ") };
    let summary = format!("{label}: {}", values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "));
    html! {
        svg .spark width=(W) height=(H) viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(summary) {
            title { (summary) }
            polyline points=(points) fill="none" stroke="currentColor" stroke-width="1.5" {}
        }
    }
}

/// A link to a person's page.
pub fn person_link(user: &str) -> Markup {
    if user.is_empty() {
        return html! { span .muted { "unknown" } };
    }
    html! { a href=(format!("/people/{}", path_segment(user))) { (user) } }
}

/// A link to an app's page.
pub fn app_link(app_id: &str, name: &str) -> Markup {
    if app_id.is_empty() {
        return html! { span .muted { "—" } };
    }
    let text = if name.is_empty() { app_id } else { name };
    html! { a href=(format!("/apps/{}", path_segment(app_id))) { (text) } }
}

/// Percent-encode `s`, leaving unreserved characters and those in `keep`.
pub fn percent_encode(s: &str, keep: &[u8]) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b if keep.contains(&b) => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Percent-encode one path segment.
pub fn path_segment(s: &str) -> String {
    percent_encode(s, b"@")
}

/// Percent-encode a query parameter value.
pub fn query_value(s: &str) -> String {
    path_segment(s)
}

/// An error page for a lake that cannot answer.
pub fn lake_error(viewer: &Viewer, section: Section, e: &AnalystError) -> Response {
    let (status, what) = match e {
        AnalystError::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
        AnalystError::Input(m) => (StatusCode::BAD_REQUEST, m.clone()),
        AnalystError::Timeout { .. } => (StatusCode::REQUEST_TIMEOUT, e.to_string()),
        other => {
            tracing::warn!(target: "floodlight_server", error = %other, "console: the lake could not answer");
            (StatusCode::SERVICE_UNAVAILABLE, other.to_string())
        }
    };
    let title = if status == StatusCode::NOT_FOUND { "Not found" } else { "The lake could not answer" };
    (status, page(viewer, section, title, html! { h1 { (title) } p .error role="alert" { (what) } })).into_response()
}

/// An error page for a store (sessions, triage) that cannot answer.
pub fn store_error(e: &StoreError) -> Response {
    tracing::warn!(target: "floodlight_server", error = %e, "console: the store could not answer");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        bare_page(
            "Unavailable",
            html! {
                main #main {
                    h1 { "The console's store is unavailable" }
                    p .error role="alert" { (e.to_string()) }
                }
            },
        ),
    )
        .into_response()
}

/// A chart's data for `console.js`: JSON in a non-executed script element
/// (the CSP allows no inline script; this is data, not code).
pub fn chart_data(id: &str, json: &str) -> Markup {
    // `</` cannot end the element early once escaped as `<\/`.
    let safe = json.replace("</", "<\\/");
    html! { script type="application/json" id=(id) { (PreEscaped(safe)) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(bytes(830), "830 B");
        assert_eq!(bytes(1_234_567), "1.2 MB");
        assert_eq!(count(1_234_567), "1\u{202f}234\u{202f}567");
        assert_eq!(count(12), "12");
        assert_eq!(time("2026-11-24T10:15:00.000Z"), "2026-11-24 10:15 UTC");
        assert_eq!(time("not a time"), "not a time");
        assert_eq!(path_segment("corp\\chen li"), "corp%5Cchen%20li");
    }

    #[test]
    fn chart_data_cannot_close_its_element() {
        let m = chart_data("x", r#"{"a":"</script><script>alert(1)</script>"}"#).into_string();
        assert!(!m.contains("</script><script>"), "{m}");
    }

    #[test]
    fn sparkline_names_its_numbers() {
        let m = sparkline(&[1, 5, 2], "events per day").into_string();
        assert!(m.contains("events per day: 1, 5, 2"), "{m}");
        assert!(m.contains("polyline"), "{m}");
    }
}
