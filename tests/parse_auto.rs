//! End-to-end test of `floodlight parse --format auto` on one file that
//! mixes real lines of every input format (from `tests/data/vendor/`), with
//! the Zeek TSV and W3C header lines before their records, as a collector
//! concatenating several devices' logs would write it.
//!
//! How `floodlight parse` passes header context: every `#` line is kept and
//! handed to all the records after it (never forgotten); `auto` reads the
//! latest Zeek `#fields` / W3C `#Fields:` line (and the latest `#path`) and
//! takes a record as that format only when it has as many fields as the
//! header names; other records are recognised by their own markers. Hence
//! the order of the blocks below:
//!
//! 1. header-less formats (syslog, CSV, key=value, JSON) first, interleaved;
//! 2. the Zeek TSV logs, each after its own header block, with header-less
//!    lines between their records (they have no tab, so they do not fit a
//!    Zeek header and their markers decide);
//! 3. the W3C logs after the Zeek ones: a W3C `#Fields:` header overrides
//!    the Zeek `#fields` one for every record after it, so no Zeek TSV
//!    record may follow it (one would need its Zeek header block again).
//!    Between W3C records only JSON and lines whose field count differs
//!    from the header's are safe: a line with exactly as many
//!    whitespace-separated fields as `#Fields:` names *is* a W3C record;
//! 4. the message-trace CSV with its header row as a `#` line last: once
//!    such a header is in the context, every non-JSON line with a comma is
//!    read against it (`m365-message-trace`), so only JSON may follow. The
//!    message-trace CSV rows of block 1 are recognised without a header, by
//!    their default column layouts.
//!
//! Block 1 also repeats the JSON formats with every key lower-cased, as many
//! collectors write them: `auto` must recognise those too.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const VENDOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/vendor");

/// A vendor sample's text, without a byte-order mark.
fn vendor(path: &str) -> String {
    let full = Path::new(VENDOR).join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
    text.trim_start_matches('\u{feff}').to_string()
}

/// Line `n` (1-based) of a vendor sample.
fn line(path: &str, n: usize) -> String {
    let text = vendor(path);
    let l = text.lines().nth(n - 1).unwrap_or_else(|| panic!("{path} has no line {n}"));
    assert!(!l.starts_with('#') && !l.trim().is_empty(), "{path}:{n} is not a record");
    l.to_string()
}

/// Line `n` of a Zeek btest baseline, whose timestamps are masked
/// (`XXXXXXXXXX.XXXXXX`), with a real one (as the decoders' unit tests do).
fn zeek_line(path: &str, n: usize) -> String {
    line(path, n).replace("XXXXXXXXXX.XXXXXX", "1795510800.250000")
}

/// The record of a Panther test case (line `n`), which wraps it in `{"log": ...}`.
fn panther(path: &str, n: usize) -> String {
    let case: Value = serde_json::from_str(&line(path, n)).expect("a Panther test case is JSON");
    case["log"].to_string()
}

/// A JSON record with every key lower-cased (values untouched), as many collectors write them
/// (the pipeline's own `json::lowercase_keys` is test-only, so not reachable from here).
fn lower_keys(record: &str) -> String {
    fn walk(v: Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), walk(v))).collect()),
            Value::Array(a) => Value::Array(a.into_iter().map(walk).collect()),
            other => other,
        }
    }
    walk(serde_json::from_str(record).expect("a JSON record")).to_string()
}

/// The header block right before line `n` of a sample: the `#` lines that
/// immediately precede it.
fn headers_before(path: &str, n: usize) -> Vec<String> {
    let text = vendor(path);
    let lines: Vec<&str> = text.lines().take(n - 1).collect();
    let start = lines.iter().rposition(|l| !l.starts_with('#')).map_or(0, |i| i + 1);
    assert!(start < lines.len(), "{path}: no header lines before line {n}");
    lines[start..].iter().map(|l| l.to_string()).collect()
}

/// One line of the mixed file.
enum Item {
    /// A `#` header line.
    Header(String),
    /// A record and the format it must be recognised as (each gives one row).
    Record(&'static str, String),
}

use Item::{Header, Record};

fn block(headers: Vec<String>) -> impl Iterator<Item = Item> {
    headers.into_iter().map(Header)
}

/// The mixed file, line by line.
fn mixed() -> Vec<Item> {
    // `floodlight-json` has no vendor sample: floodlight's own normalized JSON (docs/formats/floodlight-json.md).
    let floodlight_json = [
        r#"{"class":"email","time":"2026-11-24T09:00:00Z","kind":"inbox_rule","user":"ana@corp.example.com","forward_to":["ana.p@gmail.com"],"hides_mail":true}"#,
        r#"{"class":"dns","time":"2026-11-24T09:12:03.120Z","client_ip":"10.0.0.5","query":"www.example.com","query_type":"A","rcode":"NOERROR"}"#,
    ];
    let mut items = vec![
        // 1. Header-less formats, interleaved.
        Record("panos", line("panos/panos-syslog.csv", 1)),
        Record("okta", panther("okta/Okta.SystemLog.jsonl", 2)),
        Record("cisco-asa", line("cisco-asa/asa-documented-lines.log", 1)),
        Record("m365-audit", line("m365/m365-audit.documented.jsonl", 1)),
        Record("fortigate", line("fortigate/fortigate-documented.log", 1)),
        Record("squid", line("squid/access-documented.log", 1)),
        Record("entra-signin", line("entra/entra-signin.documented.jsonl", 1)),
        Record("cef", line("cef/cef-documented.log", 1)),
        Record("bind-query", line("bind/query-log-arm.log", 1)),
        Record("entra-audit", line("entra/entra-audit.documented.jsonl", 1)),
        Record("windows-dns", line("windows-dns/windns-sample-lines.txt", 3)),
        Record("umbrella-dns", line("umbrella/umbrella-dns-documented.csv", 1)),
        Record("google-workspace", line("google-workspace/google-workspace.documented.jsonl", 1)),
        Record("m365-message-trace", line("m365/message-trace-powershell.csv", 2)),
        Record("github-audit", line("github/github-audit.documented.jsonl", 1)),
        Record("github-webhook", line("github/github-webhook.jsonl", 1)),
        // Not `paloalto-sample-lines.txt` line 1: a PAN-OS line that starts with the receive time (no
        // syslog header, no leading FUTURE_USE field) parses as `panos` but `auto` does not recognise it
        // (its marker wants `,<time>,<serial>,<TYPE>,`). Line 2 has the syslog header and the field.
        Record("panos", line("panos/paloalto-sample-lines.txt", 2)),
        Record("zeek-ssl", line("zeek/ssl-doc.json", 1)),
        Record("m365-message-trace", line("m365/message-trace-admin-center.csv", 2)),
        Record("floodlight-json", floodlight_json[0].to_string()),
        Record("cisco-asa", line("cisco-asa/asa-syslog.log", 4)),
        Record("umbrella-dns", panther("umbrella/CiscoUmbrella.DNS.jsonl", 1)),
        Record("fortigate", line("fortigate/fortigate-documented.log", 6)),
        Record("m365-message-trace", line("m365/message-trace.documented.jsonl", 1)),
        Record("cef", line("cef/cef-documented.log", 3)),
        Record("okta", panther("okta/Okta.SystemLog.jsonl", 13)),
        Record("windows-dns", line("windows-dns/windns-sample-lines.txt", 5)),
        Record("google-workspace", line("google-workspace/google-workspace.documented.jsonl", 5)),
        Record("bind-query", line("bind/query-log-arm.log", 3)),
        Record("entra-signin", line("entra/entra-signin.documented.jsonl", 2)),
        Record("umbrella-dns", line("umbrella/umbrella-dns-documented.csv", 4)),
        Record("m365-audit", line("m365/m365-audit.documented.jsonl", 5)),
        Record("github-audit", line("github/github-audit.documented.jsonl", 4)),
        Record("github-webhook", line("github/github-webhook.jsonl", 3)),
        Record("zeek-ssl", line("zeek/ssl-doc.json", 2)),
        Record("entra-audit", line("entra/entra-audit.documented.jsonl", 3)),
        // The JSON formats again, with the lower-cased keys collectors write.
        Record("okta", lower_keys(&panther("okta/Okta.SystemLog.jsonl", 2))),
        Record("m365-audit", lower_keys(&line("m365/m365-audit.documented.jsonl", 1))),
        Record("entra-signin", lower_keys(&line("entra/entra-signin.documented.jsonl", 1))),
        Record("entra-audit", lower_keys(&line("entra/entra-audit.documented.jsonl", 1))),
        Record("google-workspace", lower_keys(&line("google-workspace/google-workspace.documented.jsonl", 1))),
        Record("github-audit", lower_keys(&line("github/github-audit.documented.jsonl", 1))),
        Record("github-webhook", lower_keys(&line("github/github-webhook.jsonl", 2))),
        Record("umbrella-dns", lower_keys(&panther("umbrella/CiscoUmbrella.DNS.jsonl", 1))),
        Record("m365-message-trace", lower_keys(&line("m365/message-trace.documented.jsonl", 1))),
    ];
    // 2. Zeek TSV logs, each after its header block, with header-less lines in between.
    items.extend(block(headers_before("zeek/opt.basic_dns.log", 10)));
    items.extend([
        Record("zeek-dns", zeek_line("zeek/opt.basic_dns.log", 10)),
        Record("bind-query", line("bind/query-log-arm.log", 4)),
        Record("zeek-dns", zeek_line("zeek/opt.basic_dns.log", 11)),
        Record("okta", panther("okta/Okta.SystemLog.jsonl", 4)),
    ]);
    items.extend(block(headers_before("zeek/opt.basic_conn.log", 10)));
    items.extend([
        Record("zeek-conn", zeek_line("zeek/opt.basic_conn.log", 10)),
        Record("squid", line("squid/access-documented.log", 4)),
        Record("zeek-conn", zeek_line("zeek/opt.basic_conn.log", 11)),
        Record("panos", line("panos/panos-syslog.csv", 6)),
    ]);
    items.extend(block(headers_before("zeek/opt.basic_http.log", 10)));
    items.extend([
        Record("zeek-http", zeek_line("zeek/opt.basic_http.log", 10)),
        Record("cef", line("cef/cef-documented.log", 4)),
        Record("zeek-http", zeek_line("zeek/opt.basic_http.log", 11)),
        Record("floodlight-json", floodlight_json[1].to_string()),
    ]);
    items.extend(block(headers_before("zeek/ssl-doc.log", 9)));
    items.push(Record("zeek-ssl", line("zeek/ssl-doc.log", 9)));
    items.push(Record("cisco-asa", line("cisco-asa/asa-documented-lines.log", 2)));
    items.extend(block(headers_before("zeek/ssl-doc.log", 19)));
    items.push(Record("zeek-ssl", line("zeek/ssl-doc.log", 19)));
    // 3. W3C logs (after every Zeek record), with JSON and one line that does not fit the header in between.
    items.extend(block(headers_before("w3c/iis-u_ex240305.log", 5)));
    items.extend([
        Record("w3c", line("w3c/iis-u_ex240305.log", 5)),
        Record("github-audit", line("github/github-audit.documented.jsonl", 2)),
        Record("w3c", line("w3c/iis-u_ex240305.log", 6)),
        // Far more whitespace-separated fields than the header names: not a W3C record.
        Record("fortigate", line("fortigate/fortigate-documented.log", 2)),
    ]);
    items.extend(block(headers_before("w3c/proxysg-access.log", 7)));
    items.extend([
        Record("w3c", line("w3c/proxysg-access.log", 7)),
        Record("m365-audit", line("m365/m365-audit.documented.jsonl", 3)),
        Record("w3c", line("w3c/proxysg-access.log", 8)),
    ]);
    // 4. The message-trace CSV after its header row, given as a `#` line; only JSON after it.
    items.push(Header(format!("#{}", vendor("m365/message-trace-powershell.csv").lines().next().unwrap())));
    items.extend([
        Record("m365-message-trace", line("m365/message-trace-powershell.csv", 3)),
        Record("google-workspace", line("google-workspace/google-workspace.documented.jsonl", 2)),
        Record("m365-message-trace", line("m365/message-trace-powershell.csv", 4)),
        Record("entra-audit", line("entra/entra-audit.documented.jsonl", 4)),
    ]);
    items
}

#[test]
fn auto_recognises_every_line_of_a_file_mixing_every_format() {
    let items = mixed();
    let mut text = String::new();
    // Expected format of each record, by 1-based line number in the file.
    let mut want_at: BTreeMap<u64, &str> = BTreeMap::new();
    let mut want: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let l = match item {
            Header(h) => h,
            Record(format, r) => {
                want_at.insert(i as u64 + 1, format);
                *want.entry(format).or_default() += 1;
                r
            }
        };
        assert!(!l.contains('\n') && !l.is_empty());
        text.push_str(l);
        text.push('\n');
    }
    // The file covers every registered format but `auto` itself.
    for f in floodlight_pipeline::decode::formats() {
        assert!(f.id == "auto" || want.contains_key(f.id), "the mixed file has no `{}` line", f.id);
    }

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed.log");
    std::fs::write(&file, &text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_floodlight"))
        .args(["parse", "--format", "auto"])
        .arg(&file)
        .env("NO_COLOR", "1")
        .env("FLOODLIGHT_LOG", "warn")
        .output()
        .expect("floodlight runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    let rows: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON row per line"))
        .collect();
    let mut got: BTreeMap<&str, usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    let origin_prefix = format!("file:{}:", file.display());
    for row in &rows {
        let format = row["format"].as_str().expect("a format");
        *got.entry(format).or_default() += 1;
        let origin = row["origin"].as_str().expect("an origin");
        let line_no: u64 = origin.strip_prefix(&origin_prefix).and_then(|n| n.parse().ok()).expect(origin);
        if want_at.get(&line_no) != Some(&format) {
            wrong.push(format!("line {line_no}: want {:?}, got {format}", want_at.get(&line_no)));
        }
    }
    assert!(wrong.is_empty(), "misrecognised lines:\n{}\n{stderr}", wrong.join("\n"));
    assert_eq!(got, want, "{stderr}");

    let records = want_at.len();
    let summary = format!("{records} parsed, 0 dead-lettered (0 skipped as not modelled, {records} events)");
    assert!(stderr.contains(&summary), "want `{summary}`, got:\n{stderr}");
}
