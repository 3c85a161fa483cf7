//! Nudges end to end: `floodlight run` reads firewall lines in which people
//! upload files to WeTransfer, raises SS-02 findings, and tells each person
//! — over a real SMTP server on loopback (`aiosmtpd`, started here) or to a
//! Slack / Teams webhook receiver on loopback — what was seen, in their
//! language, with the sanctioned alternative and a signed explain link.
//! Throttling, quiet hours, the daily cap and dry run are driven through the
//! same binary; `floodlight serve` then answers the links: once, never when
//! tampered with or expired. The browser test (Chromium) follows a link,
//! answers "I need this because …", and an admin turns the answer into an
//! exception in the console; the next run raises no finding for that person
//! and app, while a colleague's upload still raises one.
//!
//! Needs `aiosmtpd` (`deploy/install-python-tools.sh`) and, for the browser
//! test, Debian's `chromium` and `chromium-driver`.

use crate::support::browser;
use crate::support::http;
use crate::support::smtp;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _, Result};
use serde_json::Value;
use smtp::{SmtpSink, SmtpSinkOptions};

const SECRET: &str = "nudge-link-secret-for-tests-0123456789abcdef";
const ADMIN: &str = "fl_nudges_admin_token_0123456789abcdef01";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).expect("free port").port()
}

/// One FortiGate traffic line: `user` uploads `bytes` to `host` at `time` on 2026-11-24.
fn upload(time: &str, session: u32, user: &str, bytes: u64, host: &str) -> String {
    format!(
        "date=2026-11-24 time={time} devname=\"FGT-HQ\" devid=\"FG100FTK20000001\" tz=\"+0000\" logid=\"0000000013\" \
         type=\"traffic\" subtype=\"forward\" level=\"notice\" vd=\"root\" srcip=10.20.1.{} srcport=51544 \
         srcintf=\"port2\" dstip=162.125.1.18 dstport=443 dstintf=\"wan1\" sessionid={session} proto=6 \
         action=\"close\" policyid=12 user=\"{user}\" service=\"HTTPS\" app=\"HTTPS.BROWSER\" duration=42 \
         sentbyte={bytes} rcvdbyte=8834 hostname=\"{host}\" utmaction=\"allow\"\n",
        session % 200 + 10
    )
}

const BIG: u64 = 150 * 1024 * 1024;

/// Ana (Finance, English) uploads twice in two hours — two findings, one
/// nudge — and Dana (Marketing, Dutch) once.
fn three_uploads() -> String {
    [
        upload("09:00:00", 1, "ana.pereira", BIG, "wetransfer.com"),
        upload("09:10:00", 2, "dana.kim", BIG, "wetransfer.com"),
        upload("12:00:00", 3, "ana.pereira", BIG, "wetransfer.com"),
    ]
    .concat()
}

const OVERLAY: &str = r#"# Our stance on apps.
[[app]]
id = "wetransfer"
status = "unsanctioned"
reason = "Files leave without access control"
alternative = "corp-sft"

[[sanctioned]]
id = "corp-sft"
name = "Corp Secure File Transfer"
domains = ["sft.corp.example.com"]
category = "file_sharing"
"#;

/// A working directory with the firewall log, the overlay and a config
/// whose `[nudges]` table ends with `nudges` (channels, rules, extras).
struct Setup {
    dir: tempfile::TempDir,
    port: u16,
}

impl Setup {
    fn new(log: &str, nudges: &str) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        std::fs::write(dir.path().join("fw.log"), log).expect("log");
        std::fs::write(dir.path().join("overlay.toml"), OVERLAY).expect("overlay");
        let config = format!(
            r#"[[sources]]
type = "file"
paths = ["fw.log"]
format = "fortigate"

[enrichments]
corporate_cidrs = ["10.0.0.0/8"]
corporate_domains = ["corp.example.com"]
overlay = "overlay.toml"
directory = "embedded:demo/users.csv"

[sinks.findings]
path = "out/findings.jsonl"

[sinks.lake]
path = "out/lake"

[server]
listen = "127.0.0.1:{port}"

[[server.tokens]]
name = "it-admin"
role = "admin"
env = "FLOODLIGHT_TEST_ADMIN_TOKEN"

[server.console]
store = "console.db"

[nudges]
public_url = "http://127.0.0.1:{port}/"
link_secret_env = "FLOODLIGHT_TEST_LINK_SECRET"
organisation = "Corp IT"
department_languages = {{ Marketing = "nl" }}
{nudges}
"#
        );
        std::fs::write(dir.path().join("floodlight.toml"), config).expect("config");
        Setup { dir, port }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_floodlight"));
        cmd.args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env("FLOODLIGHT_LOG", "info")
            .env("FLOODLIGHT_TEST_LINK_SECRET", SECRET)
            .env("FLOODLIGHT_TEST_ADMIN_TOKEN", ADMIN);
        cmd
    }

    /// `floodlight run`; panics with its output when it fails.
    fn run(&self, envs: &[(&str, &str)]) -> Output {
        let out = self
            .command(&["run", "--config", "floodlight.toml", "--no-table"])
            .envs(envs.iter().copied())
            .output()
            .expect("floodlight runs");
        assert!(out.status.success(), "run failed:\n{}", String::from_utf8_lossy(&out.stderr));
        out
    }

    fn findings(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.path().join("out/findings.jsonl")).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).expect("finding json")).collect()
    }

    fn serve(&self) -> Server {
        let log = self.path().join("serve.log");
        let child = self
            .command(&["serve", "--config", "floodlight.toml"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start floodlight serve");
        let mut server = Server { child, log };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("serve exited ({status}): {}", server.log());
            }
            assert!(started.elapsed() < Duration::from_secs(60), "serve did not listen: {}", server.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
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

fn email_channel(smtp_port: u16) -> String {
    format!(
        "[[nudges.rule]]\nrules = [\"SS-02\"]\nmin_severity = \"medium\"\nchannel = \"email\"\n\n\
         [nudges.email]\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\n\
         from = \"Corp IT <it@corp.example.com>\"\ntimeout = \"10s\"\n"
    )
}

/// A message's plain-text part.
fn text_of(m: &smtp::ReceivedMail) -> &str {
    m.text.as_deref().unwrap_or_default()
}

/// A message's HTML part.
fn html_of(m: &smtp::ReceivedMail) -> &str {
    m.html.as_deref().unwrap_or_default()
}

/// The explain link in a message's text.
fn link_in(text: &str, port: u16) -> String {
    let start = format!("http://127.0.0.1:{port}/explain/");
    let at = text.find(&start).unwrap_or_else(|| panic!("no explain link in:\n{text}"));
    text[at..].split_whitespace().next().expect("link").to_string()
}

#[test]
fn each_person_gets_one_email_in_their_language_with_the_alternative_and_a_link() {
    let sink = SmtpSink::start(&repo(), SmtpSinkOptions::default());
    let setup = Setup::new(&three_uploads(), &email_channel(sink.port()));
    let out = setup.run(&[]);
    let log = stderr(&out);
    assert_eq!(setup.findings().len(), 3, "three upload windows, three findings: {log}");

    let mails = sink.wait_for(2, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(300));
    let mails = if sink.messages().len() > mails.len() { sink.messages() } else { mails };
    assert_eq!(mails.len(), 2, "Ana's second finding is throttled: {mails:#?}\n{log}");
    let to = |who: &str| {
        mails.iter().find(|m| m.rcpt_tos == vec![who.to_string()]).unwrap_or_else(|| panic!("no mail to {who}"))
    };
    let ana = to("ana.pereira@corp.example.com");
    assert_eq!(ana.mail_from, "it@corp.example.com");
    assert_eq!(ana.header("Content-Language"), Some("en"), "{:?}", ana.headers);
    assert!(ana.header("Subject").is_some_and(|s| s.contains("WeTransfer")), "{:?}", ana.headers);
    assert!(text_of(ana).starts_with("Hi Ana Pereira"), "{}", text_of(ana));
    assert!(text_of(ana).contains("Corp Secure File Transfer (https://sft.corp.example.com/)"), "{}", text_of(ana));
    assert!(text_of(ana).contains("157 MB"), "{}", text_of(ana));
    // Privacy: nothing about the colleague.
    assert!(!text_of(ana).contains("Dana") && !html_of(ana).contains("dana"), "{}", text_of(ana));
    let ana_link = link_in(text_of(ana), setup.port);
    assert!(html_of(ana).contains(&ana_link), "the HTML part links too");

    let dana = to("dana.kim@corp.example.com");
    assert_eq!(dana.header("Content-Language"), Some("nl"));
    assert!(text_of(dana).starts_with("Hoi Dana Kim"), "{}", text_of(dana));
    assert!(text_of(dana).contains("Gebruik hiervoor liever Corp Secure File Transfer"), "{}", text_of(dana));
    assert_ne!(link_in(text_of(dana), setup.port), ana_link, "one link per nudge");

    assert!(log.contains("nudge skipped") && log.contains("throttled: ana.pereira"), "{log}");
    assert_eq!(log.matches("nudge sent").count(), 2, "{log}");

    // A second run over the same input: the findings are not new, nobody
    // hears about them twice.
    setup.run(&[]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sink.messages().len(), 2, "{:#?}", sink.messages());
}

#[test]
fn quiet_hours_and_the_daily_cap_hold_messages_back() {
    let sink = SmtpSink::start(&repo(), SmtpSinkOptions::default());
    // Quiet around the clock (every minute but one, in UTC): nothing goes out.
    let quiet = format!(
        "daily_cap = 1\nquiet_hours = {{ start = \"{}\", end = \"{}\", timezone = \"UTC\" }}\n{}",
        minute_from_now(2),
        minute_from_now(1),
        email_channel(sink.port())
    );
    let setup = Setup::new(&three_uploads(), &quiet);
    let log = stderr(&setup.run(&[]));
    assert!(log.contains("nudge deferred") && log.contains("quiet hours"), "{log}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(sink.messages().is_empty(), "quiet hours: {:#?}", sink.messages());

    // Without quiet hours, the cap of one message a day lets one through;
    // the other waits for tomorrow.
    let capped = format!("daily_cap = 1\n{}", email_channel(sink.port()));
    let setup = Setup::new(&three_uploads(), &capped);
    let log = stderr(&setup.run(&[]));
    sink.wait_for(1, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sink.messages().len(), 1, "{:#?}", sink.messages());
    assert!(log.contains("the daily cap of 1 messages is reached"), "{log}");
}

/// `HH:MM` UTC, `minutes` from now.
fn minute_from_now(minutes: u64) -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let m = (secs / 60 + minutes) % (24 * 60);
    format!("{:02}:{:02}", m / 60, m % 60)
}

#[test]
fn dry_run_writes_what_would_be_sent_and_sends_nothing() {
    let sink = SmtpSink::start(&repo(), SmtpSinkOptions::default());
    let setup = Setup::new(&three_uploads(), &format!("dry_run = true\n{}", email_channel(sink.port())));
    let log = stderr(&setup.run(&[]));
    let text = std::fs::read_to_string(setup.path().join("nudges.dry-run.jsonl")).expect("dry-run file");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(lines.len(), 2, "{text}\n{log}");
    let dana = lines.iter().find(|l| l["to"] == "dana.kim@corp.example.com").expect("Dana's message");
    assert_eq!(dana["language"], "nl");
    assert_eq!(dana["channel"], "email");
    assert!(dana["explain_url"].as_str().is_some_and(|u| u.contains("/explain/")), "{dana}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(sink.messages().is_empty(), "dry run sent mail: {:#?}", sink.messages());
}

/// Webhook calls received: (path, JSON body).
type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// A tiny HTTP/1.1 receiver on loopback that answers `200 ok` to every POST.
fn webhook_receiver() -> (u16, Received) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let received: Received = Arc::default();
    let keep = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_string();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                keep.lock().expect("lock").push((path, json));
            }
            let mut stream = reader.into_inner();
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    (port, received)
}

#[test]
fn slack_and_teams_webhooks_carry_the_message_and_the_link() {
    let (port, received) = webhook_receiver();
    // SS-02 goes to Slack; the converter rule's findings would go to Teams.
    let nudges = "[[nudges.rule]]\nrules = [\"SS-02\"]\nchannel = \"slack\"\n\
                  [[nudges.rule]]\nfamilies = [\"shadow_saas\"]\nchannel = \"teams\"\n\
                  [nudges.slack]\nwebhook_env = \"TEST_SLACK_URL\"\n[nudges.teams]\nwebhook_env = \"TEST_TEAMS_URL\"\n";
    let log = [
        upload("09:00:00", 1, "ana.pereira", BIG, "wetransfer.com"),
        // 5 MB to a PDF converter: SS-04 (shadow_saas) → Teams.
        upload("10:00:00", 2, "dana.kim", 5 * 1024 * 1024, "www.ilovepdf.com"),
    ]
    .concat();
    let setup = Setup::new(&log, nudges);
    let slack = format!("http://127.0.0.1:{port}/services/T000/B000/slack-secret");
    let teams = format!("http://127.0.0.1:{port}/workflows/teams-secret");
    let out = setup.run(&[("TEST_SLACK_URL", &slack), ("TEST_TEAMS_URL", &teams)]);
    let log = stderr(&out);
    assert!(!log.contains("slack-secret") && !log.contains("teams-secret"), "webhook paths are secrets: {log}");
    let started = Instant::now();
    while received.lock().expect("lock").len() < 2 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let calls = received.lock().expect("lock").clone();
    let rules: Vec<String> = setup.findings().iter().map(|f| f["rule_id"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(calls.len(), 2, "{calls:#?}\nfindings {rules:?}\n{log}");
    let (_, slack_body) = calls.iter().find(|(p, _)| p.ends_with("slack-secret")).expect("a Slack call");
    assert_eq!(slack_body["recipient_email"], "ana.pereira@corp.example.com");
    assert!(slack_body["text"].as_str().is_some_and(|t| t.contains("Corp Secure File Transfer")), "{slack_body}");
    let link = slack_body["explain_url"].as_str().expect("explain_url");
    assert!(link.starts_with(&format!("http://127.0.0.1:{}/explain/", setup.port)), "{link}");
    let (_, teams_body) = calls.iter().find(|(p, _)| p.ends_with("teams-secret")).expect("a Teams call");
    let card = &teams_body["attachments"][0]["content"];
    assert_eq!(card["type"], "AdaptiveCard", "{teams_body}");
    assert_eq!(teams_body["recipient_email"], "dana.kim@corp.example.com", "{teams_body}");
    assert!(card.to_string().contains("Uitleggen"), "Dana's card is in Dutch: {card}");
}

#[test]
fn explain_links_answer_once_and_refuse_tampering_and_expiry() {
    let sink = SmtpSink::start(&repo(), SmtpSinkOptions::default());
    let setup = Setup::new(&three_uploads(), &email_channel(sink.port()));
    setup.run(&[]);
    let mails = sink.wait_for(2, Duration::from_secs(20));
    let ana = mails.iter().find(|m| m.rcpt_tos[0].starts_with("ana")).expect("Ana's mail");
    let dana = mails.iter().find(|m| m.rcpt_tos[0].starts_with("dana")).expect("Dana's mail");
    let path = |m: &smtp::ReceivedMail| {
        let link = link_in(text_of(m), setup.port);
        link[format!("http://127.0.0.1:{}", setup.port).len()..].to_string()
    };
    let (ana_path, dana_path) = (path(ana), path(dana));
    let server = setup.serve();

    let page = http::request(setup.port, "GET", &ana_path, &[], b"");
    assert_eq!(page.status, 200, "{}\n{}", page.text(), server.log());
    let html = page.text();
    assert!(html.contains("Upload spike") && html.contains("WeTransfer"), "{html}");
    assert!(html.contains("switch to Corp Secure File Transfer"), "{html}");
    assert!(!html.contains("Dana"), "only the person's own finding: {html}");
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert!(page.header("content-security-policy").is_some_and(|c| c.contains("default-src 'none'")));
    let dutch = http::request(setup.port, "GET", &dana_path, &[], b"").text();
    assert!(dutch.contains("lang=\"nl\"") && dutch.contains("Dit was ik niet"), "{dutch}");

    // Tampered: one character of the payload or the signature changed.
    for tampered in [flip(&ana_path, ana_path.len() - 3), flip(&ana_path, "/explain/".len() + 4)] {
        let r = http::request(setup.port, "GET", &tampered, &[], b"");
        assert_eq!(r.status, 403, "{tampered}: {}", r.text());
        assert!(r.text().contains("not valid"), "{}", r.text());
        let post = http::request(setup.port, "POST", &tampered, &form_headers(), b"choice=not_me");
        assert_eq!(post.status, 403);
    }

    // "Need" without a reason is asked again; with one it is stored, once.
    let r = http::request(setup.port, "POST", &ana_path, &form_headers(), b"choice=need&reason=&days=30");
    assert_eq!(r.status, 422, "{}", r.text());
    let body = b"choice=need&reason=Teams+cannot+share+the+2+GB+event+recordings&days=30";
    let r = http::request(setup.port, "POST", &ana_path, &form_headers(), body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("Thank you"), "{}", r.text());
    let again = http::request(setup.port, "GET", &ana_path, &[], b"");
    assert_eq!(again.status, 410, "{}", again.text());
    let twice = http::request(setup.port, "POST", &ana_path, &form_headers(), b"choice=not_me");
    assert_eq!(twice.status, 410, "the first answer wins: {}", twice.text());

    // The report groups it under the app and the alternative.
    let auth = format!("Bearer {ADMIN}");
    let report = http::request(setup.port, "GET", "/api/v1/reports/explanations", &[("Authorization", &auth)], b"");
    assert_eq!(report.status, 200, "{}", report.text());
    let v = report.json();
    assert_eq!((v["collecting"].as_bool(), v["answers"].as_u64()), (Some(true), Some(1)), "{v}");
    assert_eq!(v["by_app"][0]["key"], "wetransfer", "{v}");
    assert_eq!(v["by_app"][0]["need"], 1, "{v}");
    assert_eq!(v["by_alternative"][0]["name"], "Corp Secure File Transfer", "{v}");
    assert!(v["by_app"][0]["reasons"][0].as_str().is_some_and(|r| r.contains("2 GB")), "{v}");
    let anonymous = http::request(setup.port, "GET", "/api/v1/reports/explanations", &[], b"");
    assert_eq!(anonymous.status, 401);
    drop(server);

    // A link whose time is up: the nudges of a run with a one-second TTL.
    let short = Setup::new(&three_uploads(), &format!("link_ttl = \"1s\"\n{}", email_channel(sink.port())));
    let before = sink.messages().len();
    short.run(&[]);
    let mails = sink.wait_for(before + 1, Duration::from_secs(20));
    let link = link_in(text_of(&mails[before]), short.port);
    std::thread::sleep(Duration::from_secs(2));
    let _server = short.serve();
    let expired = http::request(short.port, "GET", &link[format!("http://127.0.0.1:{}", short.port).len()..], &[], b"");
    assert_eq!(expired.status, 410, "{}", expired.text());
    assert!(expired.text().contains("expired"), "{}", expired.text());
}

fn form_headers() -> Vec<(&'static str, &'static str)> {
    vec![("Content-Type", "application/x-www-form-urlencoded")]
}

/// `s` with the character at `at` replaced by another of the same alphabet.
fn flip(s: &str, at: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[at] = if b[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).expect("ascii")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_explains_in_the_browser_and_an_admin_grants_an_exception() -> Result<()> {
    let setup = Setup::new(&three_uploads(), &format!("dry_run = true\n{}", email_channel(free_port())));
    setup.run(&[]);
    let text = std::fs::read_to_string(setup.path().join("nudges.dry-run.jsonl"))?;
    let ana: Value = text
        .lines()
        .map(serde_json::from_str::<Value>)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .find(|l| l["to"] == "ana.pereira@corp.example.com")
        .context("Ana's nudge")?;
    let link = ana["explain_url"].as_str().context("link")?.to_string();
    let dana: Value = text
        .lines()
        .map(serde_json::from_str::<Value>)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .find(|l| l["to"] == "dana.kim@corp.example.com")
        .context("Dana's nudge")?;
    let dana_link = dana["explain_url"].as_str().context("link")?.to_string();
    let server = setup.serve();
    // Dana answers too (without a browser).
    let dana_path = &dana_link[format!("http://127.0.0.1:{}", setup.port).len()..];
    let r = http::request(
        setup.port,
        "POST",
        dana_path,
        &form_headers(),
        b"choice=need&reason=Our+agency+only+takes+WeTransfer+links&days=7",
    );
    ensure!(r.status == 200, "{}", r.text());
    let base = format!("http://127.0.0.1:{}", setup.port);
    let mut b = browser::Browser::start(1280, 900).await?;
    b.set_screenshot_dir(repo().join("target/screenshots"));

    let result = async {
        // The person follows the link and explains.
        b.goto(&link).await?;
        b.find("input[value=need]").await?;
        b.screenshot("nudge-explain").await?;
        b.click("input[value=need]").await?;
        b.fill("textarea[name=reason]", "Teams cannot share the 2 GB event recordings with the agency").await?;
        b.select("select[name=days]", "30").await?;
        b.click("button[type=submit]").await?;
        b.wait_for_text("Thank you").await?;
        b.screenshot("nudge-thanks").await?;

        // The admin logs in and grants an exception for Ana only.
        b.goto(&format!("{base}/login")).await?;
        b.fill("#token", ADMIN).await?;
        b.click(".login button[type=submit]").await?;
        b.wait_for_path("/").await?;
        b.goto(&format!("{base}/explanations")).await?;
        b.wait_for_text("Teams cannot share the 2 GB event recordings").await?;
        let page = b.text().await?;
        ensure!(page.contains("Corp Secure File Transfer"), "grouped by alternative: {page}");
        b.screenshot("console-explanations").await?;
        b.click("form.grant button[type=submit]").await?;
        b.wait_for_text("Decision saved").await?;
        let page = b.text().await?;
        ensure!(page.contains("granted") && page.contains("user:ana.pereira"), "{page}");

        // Dana's request is declined, with a reply.
        b.fill("form.decline textarea[name=reply]", "Please use Corp SFT: it can send to the agency too.").await?;
        b.click("form.decline button[type=submit]").await?;
        b.wait_for_text("the person was sent a reply").await?;
        ensure!(b.text().await?.contains("declined"), "{}", b.text().await?);

        // The finding's page shows the nudge and the answer.
        b.goto(&format!("{base}/findings/{}", ana["finding_id"].as_str().unwrap_or_default())).await?;
        b.wait_for_text("Their answer").await?;
        let page = b.text().await?;
        ensure!(page.contains("Teams cannot share the 2 GB") && page.contains("granted"), "{page}");
        b.screenshot("console-finding-nudge").await?;
        Ok(())
    }
    .await;
    let shots = b.screenshot_dir().to_path_buf();
    b.close().await?;
    result.with_context(|| format!("serve log:\n{}\nscreenshots in {}", server.log(), shots.display()))?;
    drop(server);

    // The overlay gained the exception, audited.
    let overlay = std::fs::read_to_string(setup.path().join("overlay.toml"))?;
    ensure!(overlay.starts_with(OVERLAY), "the rest is kept:\n{overlay}");
    ensure!(
        overlay.contains("[[exception]]")
            && overlay.contains("app = \"wetransfer\"")
            && overlay.contains("users = [\"ana.pereira\"]")
            && overlay.contains("Teams cannot share the 2 GB event recordings"),
        "{overlay}"
    );
    let audit = std::fs::read_to_string(setup.path().join("overlay.audit.jsonl"))?;
    ensure!(audit.contains("\"exception\"") && audit.contains("it-admin"), "{audit}");
    // Both people got a reply (in dry run: written beside the nudges).
    let sent: Vec<Value> = std::fs::read_to_string(setup.path().join("nudges.dry-run.jsonl"))?
        .lines()
        .map(serde_json::from_str::<Value>)
        .collect::<Result<_, _>>()?;
    ensure!(sent.len() == 4, "two nudges and two replies: {sent:#?}");
    let reply_to_dana = &sent[3];
    ensure!(reply_to_dana["to"] == "dana.kim@corp.example.com" && reply_to_dana["language"] == "nl", "{reply_to_dana}");
    ensure!(
        reply_to_dana["text"].as_str().is_some_and(|t| t.contains("Please use Corp SFT")),
        "the reply carries IT's words: {reply_to_dana}"
    );

    // The next day's uploads: none for Ana, one for her colleague.
    let next_day = [
        upload("15:00:00", 7, "ana.pereira", BIG, "wetransfer.com"),
        upload("15:05:00", 8, "dana.kim", BIG, "wetransfer.com"),
    ]
    .concat();
    std::fs::write(setup.path().join("fw.log"), next_day)?;
    std::fs::remove_dir_all(setup.path().join("out"))?;
    setup.run(&[]);
    let findings = setup.findings();
    let users: Vec<&str> = findings.iter().filter_map(|f| f["user"].as_str()).collect();
    ensure!(users == ["dana.kim"], "only Dana's upload raises a finding: {findings:#?}");
    Ok(())
}
