//! The web console in a real browser: `floodlight run` writes the demo lake,
//! `floodlight serve` serves it with the console, and headless Chromium
//! (through ChromeDriver) does what an analyst does: logs in, opens every
//! page, filters the apps table, opens an app and saves a decision (the
//! overlay file changes, the audit log records it, and the next lookup shows
//! the new status), triages a finding and adds a note, runs a query and
//! downloads it as CSV, checks the pages at phone width, and logs out.
//! Every page is photographed (`target/screenshots/console-*.png`) and each
//! screenshot must not be blank.
//!
//! Needs Debian's `chromium`, `chromium-driver` (and a font):
//! `deploy/install-system-packages.sh`.

use crate::support::browser;
use crate::support::http;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _, Result};
use browser::Browser;
use fantoccini::Locator;
use serde_json::Value;

const ANALYST: &str = "fl_console_analyst_token_0123456789abcdef";

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).expect("free port").port()
}

fn floodlight(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_floodlight"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("FLOODLIGHT_LOG", "warn")
        .env("FLOODLIGHT_TEST_CONSOLE_TOKEN", ANALYST)
        .output()
        .expect("floodlight runs")
}

/// The demo organisation with its overlay as a file of the test's own (so
/// decisions can be written), a lake, and the API with the console.
fn write_config(dir: &Path, port: u16) {
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/demo/overlay.toml"), dir.join("overlay.toml"))
        .expect("copy the demo overlay");
    let text = format!(
        r#"[[sources]]
type = "demo"

[enrichments]
corporate_cidrs = ["89.160.20.112/28", "10.0.0.0/8"]
corporate_domains = ["corp.example.com"]
overlay = "overlay.toml"
directory = "embedded:demo/users.csv"

[enrichments.geoip]
demo = true

[sinks.findings]
path = "out/findings.jsonl"

[sinks.lake]
path = "out/lake"

[sinks.dead_letter]
path = "out/dead-letter.jsonl"

[server]
listen = "127.0.0.1:{port}"

[[server.tokens]]
name = "ana.analyst"
role = "analyst"
env = "FLOODLIGHT_TEST_CONSOLE_TOKEN"

[server.console]
store = "console.db"
session_ttl = "1h"
"#
    );
    std::fs::write(dir.join("floodlight.toml"), text).expect("write config");
}

struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path, port: u16) -> Server {
        let log = dir.join("serve.log");
        let child = Command::new(env!("CARGO_BIN_EXE_floodlight"))
            .args(["serve", "--config", "floodlight.toml"])
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env("FLOODLIGHT_LOG", "info")
            .env("FLOODLIGHT_TEST_CONSOLE_TOKEN", ANALYST)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start floodlight serve");
        let server = Server { child, log };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(60), "serve did not listen: {}", server.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Today plus `days`, as `YYYY-MM-DD` (UTC), from the binary's own clock.
fn day_from_today(days: i64) -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let day = secs.div_euclid(86_400) + days;
    // Civil from days (Howard Hinnant's algorithm).
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{m:02}-{d:02}", if m <= 2 { y + 1 } else { y })
}

/// Set an input's value from script (a date input's typed format depends on
/// the browser's locale; its value is always `YYYY-MM-DD`).
async fn set_value(b: &Browser, css: &str, value: &str) -> Result<()> {
    let el = b.find(css).await?;
    let arg = serde_json::to_value(&el).context("element as a script argument")?;
    b.client
        .execute("arguments[0].value = arguments[1];", vec![arg, Value::String(value.into())])
        .await
        .with_context(|| format!("set {css}"))?;
    Ok(())
}

async fn attr(b: &Browser, css: &str, name: &str) -> Result<String> {
    Ok(b.find(css).await?.attr(name).await?.unwrap_or_default())
}

/// Rows of the table `css` (waits for the table first).
async fn rows(b: &Browser, css: &str) -> Result<Vec<String>> {
    b.find(css).await?;
    let mut out = Vec::new();
    for row in b.client.find_all(Locator::Css(&format!("{css} tbody tr"))).await? {
        out.push(row.text().await?);
    }
    Ok(out)
}

/// The document is no wider than the window (tables scroll inside their own box).
async fn fits_the_window(b: &Browser) -> Result<(i64, i64)> {
    let v = b.client.execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![]).await?;
    Ok((v[0].as_i64().unwrap_or(-1), v[1].as_i64().unwrap_or(-1)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_works_through_the_console_in_a_real_browser() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let port = free_port();
    write_config(dir.path(), port);
    let run = floodlight(dir.path(), &["run", "--config", "floodlight.toml", "--no-table"]);
    ensure!(run.status.success(), "run failed: {}", String::from_utf8_lossy(&run.stderr));
    let server = Server::start(dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");
    let mut b = Browser::start(1280, 900).await?;
    b.set_screenshot_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots"));

    let result = async {
        // Without a session, a page sends you to the login (and back after it).
        b.goto(&format!("{base}/apps")).await?;
        b.wait_for_path("/login").await?;
        b.screenshot("console-login").await?;
        b.fill("#token", "fl_not_the_token").await?;
        b.click(".login button[type=submit]").await?;
        b.wait_for_text("That token is not valid.").await?;
        b.fill("#token", ANALYST).await?;
        b.click(".login button[type=submit]").await?;
        b.wait_for_path("/apps").await?;
        let session = b.cookie("floodlight-session").await?.context("a session cookie")?;
        ensure!(session.http_only() == Some(true), "the session cookie must be HttpOnly: {session:?}");
        ensure!(session.same_site().is_some_and(|s| s.is_strict()), "SameSite=Strict: {session:?}");
        let secret = session.value().to_string();

        // Overview: totals, both charts drawn, the expired Otter.ai exception.
        b.goto(&format!("{base}/?since=all")).await?;
        b.find("canvas[data-chart][data-drawn]").await?;
        let text = b.text().await?;
        ensure!(text.contains("Findings per day by family") && text.contains("Top apps not sanctioned"), "{text}");
        ensure!(text.contains("otter-ai") && text.contains("ended 2026-06-30"), "the expired exception: {text}");
        b.screenshot("console-overview").await?;

        // Discovered apps: filter, sort.
        b.goto(&format!("{base}/apps?since=all")).await?;
        let all = rows(&b, "#apps-table").await?;
        ensure!(all.len() >= 3, "apps: {all:?}");
        b.screenshot("console-apps").await?;
        b.fill("#filter-q", "otter").await?;
        b.click("form.filters button[type=submit]").await?;
        b.wait_for_text("1 of").await?;
        let filtered = rows(&b, "#apps-table").await?;
        ensure!(filtered.len() == 1 && filtered[0].contains("Otter.ai"), "filtered: {filtered:?}");
        ensure!(filtered[0].contains("unsanctioned"), "the expired exception no longer holds: {filtered:?}");

        // The app page and its decision form.
        b.click("#apps-table tbody tr td a").await?;
        b.wait_for_path("/apps/otter-ai").await?;
        b.find("#decision-form").await?;
        b.screenshot("console-app").await?;
        let csrf = attr(&b, "#decision-form input[name=csrf]", "value").await?;
        ensure!(csrf.len() == 64, "a CSRF token in the form: {csrf:?}");

        // Refused: an expiry in the past, an alternative that is not sanctioned.
        b.select("#decision-status", "monitored").await?;
        b.fill("#decision-reason", "Sales keeps the pilot while the Teams recorder is evaluated").await?;
        set_value(&b, "#decision-expires", "2020-01-31").await?;
        b.click("#decision-preview").await?;
        b.wait_for_text("is before today").await?;
        set_value(&b, "#decision-expires", &day_from_today(90)).await?;
        b.fill("#decision-alternative", "wetransfer").await?;
        b.click("#decision-preview").await?;
        b.wait_for_text("alternative `wetransfer` is not a sanctioned app").await?;

        // Accepted: preview shows the diff, save writes the overlay.
        b.fill("#decision-alternative", "corp-sft").await?;
        b.fill("#decision-owner", "sales-ops@corp.example.com").await?;
        b.click("#decision-preview").await?;
        let diff = b.find("#decision-diff").await?.text().await?;
        ensure!(
            diff.contains("+owner = \"sales-ops@corp.example.com\"") && diff.contains("+alternative = \"corp-sft\""),
            "{diff}"
        );
        b.screenshot("console-decision-diff").await?;
        b.click("#decision-save").await?;
        b.wait_for_text("Decision saved").await?;
        let overlay = std::fs::read_to_string(dir.path().join("overlay.toml"))?;
        let expires = day_from_today(90);
        ensure!(overlay.contains(&format!("expires = \"{expires}\"")) && overlay.contains("corp-sft"), "{overlay}");
        ensure!(overlay.contains("[[sanctioned]]"), "the rest of the overlay is kept: {overlay}");
        let audit = std::fs::read_to_string(dir.path().join("overlay.audit.jsonl"))?;
        ensure!(audit.contains("\"who\":\"ana.analyst\"") && audit.contains("\"app_id\":\"otter-ai\""), "{audit}");
        let text = b.text().await?;
        ensure!(text.contains("ana.analyst") && text.contains("monitored"), "history and status on the page: {text}");
        // The next lookup (the pipeline's own enrichment) sees the new status.
        let lookup = floodlight(dir.path(), &["lookup", "--config", "floodlight.toml", "domain", "otter.ai"]);
        let looked = String::from_utf8_lossy(&lookup.stdout);
        ensure!(looked.contains("\"monitored\""), "lookup after the decision: {looked}");
        // ... and so do the apps table and analyst SQL.
        b.goto(&format!("{base}/apps?since=all&q=otter")).await?;
        let after = rows(&b, "#apps-table").await?;
        ensure!(after[0].contains("monitored"), "{after:?}");

        // Findings: list, one finding, triage, a note.
        b.goto(&format!("{base}/findings?since=all")).await?;
        let findings = rows(&b, "table.findings").await?;
        ensure!(findings.len() >= 5, "findings: {findings:?}");
        b.screenshot("console-findings").await?;
        b.click("table.findings tbody tr:first-child td:nth-child(4) a").await?;
        b.find("#finding-message").await?;
        let finding_path = b.current_url().await?.replace(&base, "");
        b.select("#triage-status", "acknowledged").await?;
        b.fill("#triage-assignee", "ana.analyst").await?;
        b.click("#triage-save").await?;
        b.wait_for_text("Triage saved.").await?;
        b.fill("#note-text", "Asked the person's manager; waiting for an answer.").await?;
        b.click("#note-save").await?;
        b.wait_for_text("Note added.").await?;
        let text = b.text().await?;
        ensure!(text.contains("Acknowledged") && text.contains("waiting for an answer"), "{text}");
        b.screenshot("console-finding").await?;
        b.goto(&format!("{base}/findings?since=all&triage=acknowledged")).await?;
        let acknowledged = rows(&b, "table.findings").await?;
        ensure!(acknowledged.len() == 1, "the triage filter: {acknowledged:?}");

        // People.
        b.goto(&format!("{base}/people?since=all")).await?;
        b.screenshot("console-people").await?;
        b.click("table tbody tr td a").await?;
        b.wait_for_text("Sign-in networks").await?;
        b.screenshot("console-person").await?;

        // SQL, as a table and as CSV.
        b.goto(&format!("{base}/sql")).await?;
        b.fill("#sql", "SELECT app_id, status FROM apps WHERE app_id = 'otter-ai'").await?;
        b.click("#sql-run").await?;
        let result = rows(&b, "#sql-result").await?;
        ensure!(result.len() == 1 && result[0].contains("monitored"), "{result:?}");
        b.screenshot("console-sql").await?;
        let cookie = format!("floodlight-session={secret}");
        let form =
            format!("csrf={csrf}&format=csv&sql=SELECT+app_id%2C+status+FROM+apps+WHERE+app_id+%3D+%27otter-ai%27");
        let headers = [("Cookie", cookie.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
        let csv = http::request(port, "POST", "/sql", &headers, form.as_bytes());
        ensure!(csv.status == 200 && csv.header("content-type").is_some_and(|c| c.starts_with("text/csv")), "{csv:?}");
        ensure!(csv.text().starts_with("app_id,status\notter-ai,monitored"), "{}", csv.text());

        // Refused: no CSRF token, an unknown app.
        let no_csrf = http::request(port, "POST", "/sql", &headers, b"format=csv&sql=SELECT+1");
        ensure!(no_csrf.status == 403, "a form without the CSRF token: {}", no_csrf.status);
        let unknown = format!("csrf={csrf}&action=preview&status=monitored&reason=x");
        let r = http::request(port, "POST", "/apps/no-such-app/decision", &headers, unknown.as_bytes());
        ensure!(r.status == 422 && r.text().contains("no such app in the catalog"), "{} {}", r.status, r.text());
        let r = http::request(port, "GET", &finding_path, &[("Cookie", "floodlight-session=forged")], b"");
        ensure!(r.status == 303 && r.header("location").is_some_and(|l| l.starts_with("/login")), "{r:?}");

        // A phone: nothing wider than the screen.
        b.resize(390, 844).await?;
        for (path, name) in [("/?since=all", "console-phone-overview"), ("/apps?since=all", "console-phone-apps")] {
            b.goto(&format!("{base}{path}")).await?;
            b.find("main h1").await?;
            let (doc, window) = fits_the_window(&b).await?;
            ensure!(doc <= window, "{path}: the page is {doc} px wide in a {window} px window");
            b.screenshot(name).await?;
        }
        b.resize(1280, 900).await?;

        // Logging out ends the session on the server too.
        b.goto(&format!("{base}/")).await?;
        b.click("form.logout button").await?;
        b.wait_for_path("/login").await?;
        let r = http::request(port, "GET", "/", &[("Cookie", cookie.as_str())], b"");
        ensure!(r.status == 303, "the old session after logout: {}", r.status);
        anyhow::Ok(())
    }
    .await;
    let log = server.log();
    b.close().await?;
    result.with_context(|| format!("serve's log:\n{log}"))?;
    ensure!(!log.contains(ANALYST), "the token must never be logged");
    Ok(())
}
