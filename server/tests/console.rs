//! The console's guards and workflows over HTTP, without a browser (those
//! are in the root crate's `tests/console.rs`): login with its double-submit
//! cookie, the session guard, CSRF on every change, the security headers,
//! the decision workflow's refusals and conflicts, triage versions, and the
//! end of sessions whose token left the config. The store is a real SQLite
//! file; the lake is the API tests' lake.

use crate::common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use common::*;
use floodlight_enrichments::AppCatalog;
use floodlight_pipeline::analyst_config::{Role, ServerConfig, TokenConfig};
use floodlight_server::console::Decisions;
use floodlight_server::{hash_token, Auth, Console};
use floodlight_store::Store;

const OVERLAY: &str = "# Decisions of the test organisation.\n\n[[app]]\nid = \"chatgpt\"\nstatus = \"unsanctioned\"\nreason = \"GenAI through Copilot only\"\n";

struct Fixture {
    dir: tempfile::TempDir,
    app: Router,
    store: Store,
}

async fn console_with(tokens: Vec<(&str, Role, &str)>, secure_cookies: bool, store: Option<Store>) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    write_lake(dir.path());
    std::fs::write(dir.path().join("overlay.toml"), OVERLAY).expect("overlay");
    let lake = open_lake(dir.path(), limits()).await;
    let store = match store {
        Some(s) => s,
        None => Store::open(&format!("sqlite://{}", dir.path().join("console.db").display())).await.expect("store"),
    };
    let cfg = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        tls_cert: None,
        tls_key: None,
        tokens: tokens
            .into_iter()
            .map(|(name, role, secret)| TokenConfig {
                name: name.into(),
                role,
                sha256: Some(hash_token(secret)),
                env: None,
                file: None,
            })
            .collect(),
        console: Default::default(),
    };
    let auth = Auth::from_config(&cfg, Path::new(".")).expect("auth");
    let decisions = Decisions::new(AppCatalog::embedded(), Some(dir.path().join("overlay.toml")));
    let console = Console {
        store: store.clone(),
        decisions: Arc::new(decisions),
        session_ttl: Duration::from_secs(3600),
        secure_cookies,
        nudger: None,
    };
    Fixture { app: floodlight_server::app(lake, auth, Some(console)), dir, store }
}

async fn console() -> Fixture {
    console_with(vec![("soc-alice", Role::Analyst, ANALYST_TOKEN)], false, None).await
}

async fn request(app: &Router, method: Method, uri: &str, cookie: Option<&str>, form: Option<&str>) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let req = match form {
        Some(f) => req.header("content-type", "application/x-www-form-urlencoded").body(Body::from(f.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("request");
    send(app, req).await
}

fn text(a: &Answer) -> String {
    String::from_utf8_lossy(&a.body).into_owned()
}

/// The value of `name="<field>" value="..."` in a page.
fn hidden(page: &str, field: &str) -> String {
    let marker = format!("name=\"{field}\" value=\"");
    let start = page.find(&marker).unwrap_or_else(|| panic!("no field {field} in {page}")) + marker.len();
    page[start..].split('"').next().unwrap_or_default().to_string()
}

fn set_cookie<'a>(a: &'a Answer, name: &str) -> Option<&'a str> {
    a.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find(|c| c.starts_with(&format!("{name}=")))
}

/// Log in with `token`; returns the `Cookie` header value of the session and its CSRF token.
async fn login(app: &Router, token: &str) -> (String, String) {
    let form = request(app, Method::GET, "/login?next=/apps", None, None).await;
    assert_eq!(form.status, StatusCode::OK);
    let login_cookie = set_cookie(&form, "floodlight-login").expect("login cookie");
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"), "{login_cookie}");
    let csrf = hidden(&text(&form), "csrf");
    let cookie = format!("floodlight-login={csrf}");
    let answer =
        request(app, Method::POST, "/login", Some(&cookie), Some(&format!("token={token}&csrf={csrf}&next=%2Fapps")))
            .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", text(&answer));
    assert_eq!(answer.header("location"), Some("/apps"));
    let session = set_cookie(&answer, "floodlight-session").expect("session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict") && session.contains("Path=/"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain HTTP: not Secure: {session}");
    let value = session.split(';').next().expect("value").to_string();
    let page = request(app, Method::GET, "/", Some(&value), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", text(&page));
    let csrf = hidden(&text(&page), "csrf");
    (value, csrf)
}

#[tokio::test]
async fn pages_need_a_session_and_changes_need_its_csrf_token() {
    let f = console().await;
    // No session: pages go to the login, everything else is 401.
    let a = request(&f.app, Method::GET, "/findings?severity=high", None, None).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.header("location"), Some("/login?next=/findings%3Fseverity%3Dhigh"));
    let a = request(&f.app, Method::POST, "/apps/chatgpt/decision", None, Some("status=sanctioned")).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = request(&f.app, Method::GET, "/", Some("floodlight-session=made-up"), None).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);

    // The login form's own CSRF (double submit), then a wrong token.
    let form = request(&f.app, Method::GET, "/login", None, None).await;
    let csrf = hidden(&text(&form), "csrf");
    let a = request(&f.app, Method::POST, "/login", None, Some(&format!("token={ANALYST_TOKEN}&csrf={csrf}"))).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "no login cookie");
    let cookie = format!("floodlight-login={csrf}");
    let a = request(&f.app, Method::POST, "/login", Some(&cookie), Some(&format!("token=nope&csrf={csrf}"))).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(text(&a).contains("That token is not valid.") && set_cookie(&a, "floodlight-session").is_none());
    // Only local paths are followed after the login.
    let a = request(
        &f.app,
        Method::POST,
        "/login",
        Some(&cookie),
        Some(&format!("token={ANALYST_TOKEN}&csrf={csrf}&next=https%3A%2F%2Fevil.example%2F")),
    )
    .await;
    assert_eq!(a.header("location"), Some("/"));

    let (session, csrf) = login(&f.app, ANALYST_TOKEN).await;
    // A change without the CSRF token, with a wrong one, or as JSON: refused, nothing changes.
    for body in ["text=hello", "text=hello&csrf=0000", "csrf=&text=hello"] {
        let a = request(&f.app, Method::POST, "/findings/f-01/notes", Some(&session), Some(body)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{body}");
    }
    assert!(f.store.notes("f-01").await.expect("notes").is_empty());
    let a = request(
        &f.app,
        Method::POST,
        "/findings/f-01/notes",
        Some(&session),
        Some(&format!("csrf={csrf}&text=Called+alice")),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let notes = f.store.notes("f-01").await.expect("notes");
    assert_eq!((notes.len(), notes[0].author.as_str(), notes[0].text.as_str()), (1, "soc-alice", "Called alice"));

    // Logout (a change: CSRF too) ends the session in the store.
    let a = request(&f.app, Method::POST, "/logout", Some(&session), Some("csrf=wrong")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = request(&f.app, Method::POST, "/logout", Some(&session), Some(&format!("csrf={csrf}"))).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let a = request(&f.app, Method::GET, "/", Some(&session), None).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "the session is gone after logout");
}

#[tokio::test]
async fn every_page_is_locked_down_and_loads_nothing_from_elsewhere() {
    let f = console().await;
    let (session, _) = login(&f.app, ANALYST_TOKEN).await;
    for path in [
        "/?since=all",
        "/apps?since=all",
        "/apps/wetransfer?since=all",
        "/findings?since=all",
        "/findings/f-01",
        "/people?since=all",
        "/people/alice?since=all",
        "/sql",
    ] {
        let a = request(&f.app, Method::GET, path, Some(&session), None).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", text(&a));
        let csp = a.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{csp}"
        );
        assert_eq!(a.header("x-frame-options"), Some("DENY"));
        assert_eq!(a.header("cache-control"), Some("no-store"));
        let page = text(&a);
        assert!(page.contains("<main") && page.contains("<h1"), "{path}");
        // Scripts and styles come from this server only; no inline script or style.
        for (tag, attr) in [("<script", "src=\""), ("<link", "href=\"")] {
            for piece in page.split(tag).skip(1) {
                let head = piece.split('>').next().unwrap_or_default();
                if head.contains("type=\"application/json\"") {
                    continue; // chart data, not code
                }
                let at = head.find(attr).unwrap_or_else(|| panic!("{path}: inline {tag}: {head}"));
                assert!(head[at + attr.len()..].starts_with('/'), "{path}: external {tag}: {head}");
            }
        }
        assert!(!page.contains(" style=\"") && !page.contains("<style"), "{path}: inline style");
    }
    // The pages show the lake.
    let apps = text(&request(&f.app, Method::GET, "/apps?since=all&sort=bytes_up", Some(&session), None).await);
    let (we, gpt) = (apps.find("WeTransfer").expect("wetransfer"), apps.find("ChatGPT").expect("chatgpt"));
    assert!(we < gpt, "sorted by bytes uploaded, WeTransfer (7.5 kB) before ChatGPT (300 B)");
    let filtered = text(&request(&f.app, Method::GET, "/apps?since=all&q=chat", Some(&session), None).await);
    assert!(filtered.contains("1 of 2 apps") && !filtered.contains(">WeTransfer<"), "{filtered}");
    let finding = text(&request(&f.app, Method::GET, "/findings/f-01", Some(&session), None).await);
    assert!(
        finding.contains("alice used wetransfer twice")
            && finding.contains("https://attack.mitre.org/techniques/T1567/")
    );
    // Assets: cached for good, and only the listed ones.
    let css = request(&f.app, Method::GET, "/assets/console.css", None, None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("cache-control").unwrap_or_default().contains("immutable"), "{:?}", css.headers);
    assert_eq!(request(&f.app, Method::GET, "/assets/../Cargo.toml", None, None).await.status, StatusCode::NOT_FOUND);
    let js = request(&f.app, Method::GET, "/assets/chart.umd.min.js", None, None).await;
    assert!(text(&js).contains("Chart.js v4.6.1"));
}

#[tokio::test]
async fn decisions_are_checked_previewed_saved_and_audited() {
    let f = console().await;
    let (session, csrf) = login(&f.app, ANALYST_TOKEN).await;
    let post = |form: String| {
        let (app, session) = (f.app.clone(), session.clone());
        async move { request(&app, Method::POST, "/apps/wetransfer/decision", Some(&session), Some(&form)).await }
    };
    let overlay = f.dir.path().join("overlay.toml");
    // Refused before anything is written.
    let past = format!("csrf={csrf}&action=preview&status=monitored&reason=Finance&expires=2020-01-01");
    let a = post(past).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&a).contains("is before today"), "{}", text(&a));
    let alt = format!("csrf={csrf}&action=preview&status=unsanctioned&reason=Risky&alternative=chatgpt");
    let a = post(alt).await;
    assert!(text(&a).contains("alternative `chatgpt` is not a sanctioned app"), "{}", text(&a));
    let a = request(
        &f.app,
        Method::POST,
        "/apps/no-such-app/decision",
        Some(&session),
        Some(&format!("csrf={csrf}&action=preview&status=monitored&reason=x")),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&a).contains("no such app in the catalog"));
    let a = post(format!("csrf={csrf}&action=preview&status=monitored&reason=")).await;
    assert!(text(&a).contains("the reason is empty"));
    assert_eq!(std::fs::read_to_string(&overlay).expect("overlay"), OVERLAY, "nothing written");

    // Preview: the diff, and the hash of the text it was made against.
    let decision = "status=monitored&reason=Finance+sends+statements+to+the+auditor&owner=it-finance%40corp.example.com&expires=2099-03-31";
    let a = post(format!("csrf={csrf}&action=preview&{decision}")).await;
    assert_eq!(a.status, StatusCode::OK);
    let page = text(&a);
    assert!(page.contains("+id = &quot;wetransfer&quot;") || page.contains("+id = \"wetransfer\""), "{page}");
    let base = hidden(&page, "base");

    // Someone edits the file in between: saving shows the new diff instead.
    let edited = format!("{OVERLAY}# edited by hand\n");
    std::fs::write(&overlay, &edited).expect("edit");
    let a = post(format!("csrf={csrf}&action=save&base={base}&{decision}")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(text(&a).contains("The overlay changed since your preview"));
    assert_eq!(std::fs::read_to_string(&overlay).expect("overlay"), edited, "not saved over the edit");
    let base = hidden(&text(&a), "base");
    let a = post(format!("csrf={csrf}&action=save&base={base}&{decision}")).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    assert_eq!(a.header("location"), Some("/apps/wetransfer?saved=1"));
    let now = std::fs::read_to_string(&overlay).expect("overlay");
    assert!(now.starts_with(&edited), "comments and entries kept: {now}");
    assert!(
        now.contains("id = \"wetransfer\"\nstatus = \"monitored\"") && now.contains("expires = \"2099-03-31\""),
        "{now}"
    );
    let audit = std::fs::read_to_string(f.dir.path().join("overlay.audit.jsonl")).expect("audit");
    let record: serde_json::Value = serde_json::from_str(audit.trim()).expect("one JSON line");
    assert_eq!((record["who"].as_str(), record["before"].is_null()), (Some("soc-alice"), true));
    // The console's catalog (and the lake's `apps` table) show it at once.
    let page = text(&request(&f.app, Method::GET, "/apps/wetransfer?saved=1", Some(&session), None).await);
    assert!(page.contains("Decision saved") && page.contains("Finance sends statements to the auditor"));
    let rows = sql(&f.app, serde_json::json!({"sql": "SELECT status FROM apps WHERE app_id = 'wetransfer'"})).await;
    assert_eq!(rows.json()["rows"][0]["status"], "monitored");
}

#[tokio::test]
async fn triage_keeps_versions_and_sessions_follow_the_config() {
    let store_dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", store_dir.path().join("shared.db").display());
    let store = Store::open(&url).await.expect("store");
    let two = vec![("soc-alice", Role::Analyst, ANALYST_TOKEN), ("console", Role::Admin, ADMIN_TOKEN)];
    let f = console_with(two, false, Some(store.clone())).await;
    let (session, csrf) = login(&f.app, ADMIN_TOKEN).await;
    let triage = |form: String| {
        let (app, session) = (f.app.clone(), session.clone());
        async move { request(&app, Method::POST, "/findings/f-02/triage", Some(&session), Some(&form)).await }
    };
    let a = triage(format!("csrf={csrf}&status=acknowledged&assignee=bob&version=")).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", text(&a));
    let t = store.triage("f-02").await.expect("triage").expect("a row");
    assert_eq!((t.version, t.assignee.as_deref(), t.updated_by.as_str()), (1, Some("bob"), "console"));
    // A form that saw no triage (or an older version) does not overwrite.
    let a = triage(format!("csrf={csrf}&status=false_positive&version=")).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert!(text(&a).contains("Someone changed this finding"));
    let a = triage(format!("csrf={csrf}&status=resolved&version=1")).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let a = triage(format!("csrf={csrf}&status=sleeping&version=2")).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Findings the lake does not have cannot be triaged.
    let a = request(
        &f.app,
        Method::POST,
        "/findings/nope/triage",
        Some(&session),
        Some(&format!("csrf={csrf}&status=new")),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let list = text(&request(&f.app, Method::GET, "/findings?since=all&triage=resolved", Some(&session), None).await);
    assert!(list.contains("/findings/f-02") && !list.contains("/findings/f-01\""), "{list}");

    // The same store behind a server whose config no longer has the token:
    // the session ends there (a replica with the new config).
    let without = console_with(vec![("soc-alice", Role::Analyst, ANALYST_TOKEN)], true, Some(store)).await;
    let a = request(
        &without.app,
        Method::GET,
        "/",
        Some(&session.replace("floodlight-session", "__Host-floodlight-session")),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    // Secure cookies when asked for (HTTPS or a proxy that terminates it).
    let form = request(&without.app, Method::GET, "/login", None, None).await;
    let csrf = hidden(&text(&form), "csrf");
    let a = request(
        &without.app,
        Method::POST,
        "/login",
        Some(&format!("floodlight-login={csrf}")),
        Some(&format!("token={ANALYST_TOKEN}&csrf={csrf}")),
    )
    .await;
    let cookie = set_cookie(&a, "__Host-floodlight-session").expect("a __Host- cookie");
    assert!(cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"), "{cookie}");
}
