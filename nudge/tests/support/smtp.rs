//! A real SMTP server on loopback for e-mail tests: `smtp_sink.py` beside
//! this file, run with the aiosmtpd that `deploy/install-python-tools.sh`
//! installs (through `deploy/install-test-tools.sh`, in the README's test
//! command).
//!
//! ```ignore
//! let sink = SmtpSink::start(&repo_root, SmtpSinkOptions::default());
//! // ... send to 127.0.0.1:sink.port() ...
//! let mail = sink.wait_for(1, Duration::from_secs(10));
//! assert_eq!(mail[0].header("Subject"), Some("Hello"));
//! ```
//!
//! Options make it demand STARTTLS (or speak TLS from the first byte) with a
//! given certificate, and AUTH with a given user and password. Each accepted
//! message is recorded with its envelope, raw data, whether TLS was on, the
//! authenticated user, its decoded headers and its decoded text and HTML
//! parts. The server is killed when the `SmtpSink` is dropped.
//!
//! Other crates' tests reuse it with
//! `#[path = "../nudge/tests/support/smtp.rs"] mod smtp;` and pass their repo
//! root; it needs only `serde_json` and `tempfile`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL: &str = "deploy/install-python-tools.sh";

/// How the sink behaves. The default: plain SMTP, no AUTH.
#[derive(Debug, Clone, Default)]
pub struct SmtpSinkOptions {
    /// Offer STARTTLS with this PEM certificate and key, and require it.
    pub starttls: Option<(PathBuf, PathBuf)>,
    /// Speak TLS from the first byte (SMTPS) with this certificate and key.
    pub implicit_tls: Option<(PathBuf, PathBuf)>,
    /// Require AUTH PLAIN or LOGIN with this user and password.
    pub auth: Option<(String, String)>,
}

/// One message the sink accepted.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`).
    pub rcpt_tos: Vec<String>,
    /// The message as received, headers and encoded body.
    pub data: String,
    /// Whether the session was encrypted.
    pub tls: bool,
    /// The user that authenticated, if any.
    pub auth_user: Option<String>,
    /// Headers, decoded (RFC 2047), by name as sent; the last of repeats.
    pub headers: BTreeMap<String, String>,
    /// The decoded `text/plain` part, if any.
    pub text: Option<String>,
    /// The decoded `text/html` part, if any.
    pub html: Option<String>,
}

impl ReceivedMail {
    /// A decoded header, by name in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A running `smtp_sink.py`.
pub struct SmtpSink {
    child: Child,
    /// Held open: the sink exits when its stdin closes.
    _stdin: Option<ChildStdin>,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts the sink (repo_root is the clone's top directory) and waits up
    /// to 30 s until it listens. Panics, naming the install command, if
    /// aiosmtpd is not installed.
    pub fn start(repo_root: &Path, options: SmtpSinkOptions) -> SmtpSink {
        let python = python(repo_root);
        let script = repo_root.join("nudge/tests/support/smtp_sink.py");
        let dir = tempfile::tempdir().expect("temp dir for the SMTP sink");
        let out = dir.path().join("mail.jsonl");
        let log = dir.path().join("sink.log");
        let mut cmd = Command::new(&python);
        cmd.arg(&script).arg("0").arg("--out").arg(&out);
        if let Some((cert, key)) = &options.starttls {
            cmd.arg("--starttls").arg(cert).arg(key);
        }
        if let Some((cert, key)) = &options.implicit_tls {
            cmd.arg("--tls").arg(cert).arg(key);
        }
        if let Some((user, password)) = &options.auth {
            cmd.arg("--auth").arg(format!("{user}:{password}"));
        }
        let mut child = cmd
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("create sink.log"))
            .spawn()
            .unwrap_or_else(|e| panic!("start {} {}: {e}", python.display(), script.display()));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("sink stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut sink = SmtpSink { child, _stdin: stdin, port: 0, dir };
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => line,
            Err(_) => panic!("smtp_sink.py did not start within 30 s:\n{}", sink.log()),
        };
        let port = line.trim().strip_prefix("listening 127.0.0.1:").and_then(|p| p.parse().ok()).unwrap_or_else(|| {
            panic!("smtp_sink.py said {line:?} instead of `listening 127.0.0.1:PORT`:\n{}", sink.log())
        });
        sink.port = port;
        sink
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What the sink has logged (errors, Python tracebacks).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sink.log")).unwrap_or_default()
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let text = std::fs::read_to_string(self.dir.path().join("mail.jsonl")).unwrap_or_default();
        text.lines().filter(|l| !l.trim().is_empty()).map(parse).collect()
    }

    /// Waits until at least `n` messages arrived and returns them all; panics
    /// after `timeout`.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let start = Instant::now();
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            if start.elapsed() > timeout {
                panic!("{} of {n} messages after {timeout:?}:\n{}", got.len(), self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The virtualenv's python, with aiosmtpd; panics with what to run if missing.
fn python(repo_root: &Path) -> PathBuf {
    let script = repo_root.join(INSTALL);
    let out =
        Command::new(&script).arg("--path").output().unwrap_or_else(|e| panic!("run {} --path: {e}", script.display()));
    assert!(out.status.success(), "{} --path failed: {}", script.display(), String::from_utf8_lossy(&out.stderr));
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        bin.join("aiosmtpd").exists() && bin.join("python").exists(),
        "aiosmtpd is not installed in {}: run deploy/install-test-tools.sh (or {INSTALL})",
        bin.display()
    );
    bin.join("python")
}

fn parse(line: &str) -> ReceivedMail {
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("sink line {line:?}: {e}"));
    let s = |k: &str| v[k].as_str().map(str::to_string);
    ReceivedMail {
        mail_from: s("mail_from").unwrap_or_default(),
        rcpt_tos: v["rcpt_tos"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect(),
        data: s("data").unwrap_or_default(),
        tls: v["tls"].as_bool().unwrap_or(false),
        auth_user: s("auth_user"),
        headers: v["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect(),
        text: s("text"),
        html: s("html"),
    }
}
