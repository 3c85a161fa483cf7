//! The Python tools the integration tests run, installed once per machine
//! outside the clone by `deploy/install-python-tools.sh` (which the README's
//! test command runs, through `deploy/install-test-tools.sh`):
//! `moto_server`, an S3-compatible server on loopback, and `schemathesis`,
//! property-based testing of an OpenAPI API.
//!
//! Moto does not check request signatures: an `object_store` client with
//! `AWS_ACCESS_KEY_ID=test` / `AWS_SECRET_ACCESS_KEY=test` (set on that
//! client or on the child process, never process-wide) works as it is. It
//! does check that a request is signed at all for object reads, overwrites
//! and deletes (an anonymous request is refused with 403 on a private
//! object), so the raw helpers here send a dummy `Authorization` header where
//! that matters.
#![allow(dead_code)]

// The including test file declares `mod http;` (tests/support/http.rs) beside this module.
use super::http;

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const INSTALL: &str = "deploy/install-python-tools.sh";

/// A syntactically plausible SigV4 header: moto only looks for its presence
/// (an anonymous request may not read or replace a private object).
const DUMMY_AUTH: &str = "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/s3/aws4_request, \
                          SignedHeaders=host, Signature=0000000000000000000000000000000000000000000000000000000000000000";

/// The virtualenv's bin directory holding `moto_server` and `schemathesis`;
/// panics naming the install command if they are not installed.
pub fn tools_bin() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(INSTALL);
    let out =
        Command::new(&script).arg("--path").output().unwrap_or_else(|e| panic!("run {} --path: {e}", script.display()));
    assert!(out.status.success(), "{} --path failed: {}", script.display(), String::from_utf8_lossy(&out.stderr));
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        bin.join("moto_server").exists(),
        "moto_server and schemathesis are not installed in {}: run {INSTALL} \
         (deploy/install-test-tools.sh, in the README's test command, does)",
        bin.display()
    );
    bin
}

/// A `moto_server` (in-memory S3) on a free loopback port, killed on drop.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`, for an `object_store` client's endpoint
    /// (with `allow_http` and path-style requests, which are the default
    /// when an endpoint is set).
    pub endpoint: String,
    port: u16,
    child: Child,
    /// Holds the server's log, `moto.log`; also its working directory.
    dir: tempfile::TempDir,
}

impl S3Server {
    /// Starts the server and waits (up to 20 s) until it accepts connections.
    pub fn start() -> S3Server {
        let bin = tools_bin();
        let dir = tempfile::tempdir().expect("temp dir for moto_server");
        let port = free_port();
        let log = File::create(dir.path().join("moto.log")).expect("create moto.log");
        let child = Command::new(bin.join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .current_dir(dir.path())
            // So the log is complete if we have to show it.
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("moto.log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.join("moto_server").display()));
        // From here on a panic drops the server, which kills the child.
        let mut server = S3Server { endpoint: format!("http://127.0.0.1:{port}"), port, child, dir };
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().expect("moto_server status") {
                panic!("moto_server exited ({status}) before listening on {port}:\n{}", server.log());
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if started.elapsed() > Duration::from_secs(20) {
                panic!("moto_server did not listen on {port} within 20 s:\n{}", server.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Someone else may have taken the port between free_port and the bind.
        std::thread::sleep(Duration::from_millis(50));
        if let Some(status) = server.child.try_wait().expect("moto_server status") {
            panic!("moto_server exited ({status}) on port {port}:\n{}", server.log());
        }
        server
    }

    /// What the server has logged so far (one line per request).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("moto.log")).unwrap_or_else(|e| format!("(no log: {e})"))
    }

    /// Creates a bucket (an unsigned `PUT /name`, which moto accepts).
    pub fn create_bucket(&self, name: &str) {
        self.expect_ok("PUT", &format!("/{}", encode(name, false)), None, b"");
    }

    /// Writes an object, replacing any.
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) {
        let path = format!("/{}/{}", encode(bucket, false), encode(key, true));
        self.expect_ok("PUT", &path, Some(DUMMY_AUTH), body);
    }

    /// An object's content; panics if there is none.
    pub fn get_object(&self, bucket: &str, key: &str) -> Vec<u8> {
        let path = format!("/{}/{}", encode(bucket, false), encode(key, true));
        self.expect_ok("GET", &path, Some(DUMMY_AUTH), b"")
    }

    /// Every key in the bucket, in S3's (lexicographic) order, following
    /// ListObjectsV2 pagination (moto pages at 1,000 keys like S3).
    pub fn list_keys(&self, bucket: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut path = format!("/{}?list-type=2", encode(bucket, false));
            if let Some(t) = &token {
                path.push_str("&continuation-token=");
                path.push_str(&encode(t, false));
            }
            let body = self.expect_ok("GET", &path, None, b"");
            let xml = String::from_utf8(body).expect("ListObjectsV2 answer is UTF-8");
            // <Key> occurs only in <Contents> here (no delimiter, so no
            // <CommonPrefixes>, and those use <Prefix>).
            keys.extend(tag_values(&xml, "Key").into_iter().map(|k| xml_unescape(&k)));
            if tag_values(&xml, "IsTruncated").first().map(String::as_str) != Some("true") {
                return keys;
            }
            let next = tag_values(&xml, "NextContinuationToken");
            let next = next.first().unwrap_or_else(|| panic!("truncated listing without a continuation token: {xml}"));
            token = Some(xml_unescape(next));
        }
    }

    /// One HTTP/1.1 request; the status code and the body. Panics on a
    /// connection or protocol error.
    pub fn request(&self, method: &str, path: &str, auth: Option<&str>, body: &[u8]) -> (u16, Vec<u8>) {
        let mut headers = Vec::new();
        if !body.is_empty() {
            // Not form-encoded: moto (werkzeug) would consume such a body as
            // form fields and store an empty object.
            headers.push(("Content-Type", "application/octet-stream"));
        }
        if let Some(a) = auth {
            headers.push(("Authorization", a));
        }
        let answer = http::request(self.port, method, path, &headers, body);
        (answer.status, answer.body)
    }

    fn expect_ok(&self, method: &str, path: &str, auth: Option<&str>, body: &[u8]) -> Vec<u8> {
        let (status, answer) = self.request(method, path, auth, body);
        assert_eq!(status, 200, "{method} {path}: HTTP {status}: {}", String::from_utf8_lossy(&answer));
        answer
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `schemathesis run` against `openapi_url` (fetched with the same header),
/// sending every test request to `base_url` with `Authorization: Bearer
/// TOKEN`: all checks (server errors, status codes, content types, response
/// headers and schemas, rejection of invalid data and acceptance of valid
/// data, missing auth ignored, ...), a fixed seed, at most 20 generated cases
/// per operation and generation mode, one worker. A run where an operation
/// answered only 401/403 fails too (a wrong token would otherwise pass).
/// `config_extra` is appended to the generated `schemathesis.toml` (e.g.
/// per-operation `[[operations]]` settings). `extra` goes last on the
/// command line, and a repeated option's last value wins (e.g.
/// `["--max-examples", "50"]`, `["--exclude-checks", "positive_data_acceptance"]`,
/// `["--phases", "examples,coverage"]`, `["--include-path-regex", "^/api/"]`).
///
/// Runs in a scratch directory (schemathesis leaves `.hypothesis` and
/// `.schemathesis` in its working directory); the output names each failure
/// with a `curl` command that reproduces it.
pub fn schemathesis(openapi_url: &str, base_url: &str, token: &str, config_extra: &str, extra: &[&str]) -> Output {
    let bin = tools_bin().join("schemathesis");
    let dir = tempfile::tempdir().expect("temp dir for schemathesis");
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(&config, format!("[warnings]\nfail-on = [\"missing_auth\"]\n{config_extra}"))
        .expect("write schemathesis.toml");
    let header = format!("Authorization: Bearer {token}");
    let out = Command::new(&bin)
        .arg("--no-color")
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(openapi_url)
        .args(["--url", base_url])
        .args(["--header", &header])
        .args(["--checks", "all"])
        .args(["--seed", "42"])
        .args(["--max-examples", "20"])
        .args(["--workers", "1"])
        .args(["--generation-database", "none"])
        .args(["--request-timeout", "10"])
        .args(extra)
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e} (install it with {INSTALL})", bin.display()));
    out
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).expect("bind a free loopback port").port()
}

/// Percent-encodes all but RFC 3986's unreserved characters (and `/` when
/// `keep_slash`, for object keys in a path).
fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The text of every `<tag>…</tag>` in `xml`, in order (still escaped).
fn tag_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        rest = &rest[start + open.len()..];
        let end = rest.find(&close).unwrap_or_else(|| panic!("unclosed <{tag}> in {xml}"));
        out.push(rest[..end].to_string());
        rest = &rest[end + close.len()..];
    }
    out
}

/// Undoes XML's escapes: the five named entities and numeric references.
fn xml_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| entity.strip_prefix('#').map(|dec| dec.parse::<u32>()))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}
