//! `umbrella-dns`: Cisco Umbrella (and Cisco Secure Access) DNS logs, one
//! record per line, in either form:
//!
//! * **CSV** as Umbrella exports it to S3 (`dnslogs/<date>/<...>.csv.gz`, one
//!   quoted row per query), in Cisco's documented column order; every log
//!   version from 2 on: 10 columns (v2), + most granular identity type and
//!   identity types (v3, 12 columns), + blocked categories (v4+, 13 columns);
//!   later columns (rule id, destination countries, ...) are ignored. Spaces
//!   after the separating commas (as in Cisco's examples) are accepted; the
//!   optional header row is skipped.
//! * **JSON**, one object per line, with the keys Panther gives the same
//!   columns (`timestamp`, `policyIdentity`, `identities`, `internalIp`,
//!   `externalIp`, `action`, `queryType`, `responseCode`, `domain`,
//!   `categories`, `policyIdentityType`, `identityTypes`,
//!   `blockedCategories`); `mostGranularIdentity[Type]` is accepted for
//!   `policyIdentity[Type]`, keys match case-insensitively, lists may be
//!   arrays or comma-separated strings, `timestamp` text or epoch numbers.
//!
//! | CSV column (1-based) / JSON key | column |
//! |---|---|
//! | 1 timestamp / `timestamp` (UTC) | `time` |
//! | 4 internal ip / `internalIp`; when empty, 5 external ip / `externalIp` | `client_ip` |
//! | 9 domain / `domain` (lower case, trailing dot removed) | `query` |
//! | 7 query type / `queryType` (`1 (A)` → `A`) | `query_type` |
//! | 8 response code / `responseCode` (`NOERROR`, `NXDOMAIN`, ...) | `rcode` |
//! | the first identity of a *user* type (`AD Users`, `Chromebook Users`, ...): 2 most granular identity + 11 its type, else 3 identities paired with 12 identity types; the e-mail inside `Name (user@example.com)` when present | `user` |
//! | the first identity of a *computer* type (`AD Computers`, `Roaming Computers`, `Anyconnect Roaming Client`, `Mobile Devices`), found the same way | `device` |
//!
//! `vendor` is `Cisco`, `product` `Umbrella`. Action (allowed / blocked) and
//! categories have no column in the `dns` class and are not kept. Without
//! identity types (version 2 CSV) `user` and `device` stay empty: the
//! identity alone does not say what it is.
//!
//! **Skipped** (counted): blank lines, the CSV header row (`umbrella-dns:
//! header row`), a record whose domain is empty (`umbrella-dns: no domain`).
//!
//! **Dead-lettered**, naming the field: fewer than 10 CSV columns, broken CSV
//! quoting, a JSON object without `timestamp` or `domain` (not an Umbrella DNS
//! event), an unreadable timestamp, an internal or external IP that is not an
//! IP address, invalid JSON or UTF-8.

use std::net::{IpAddr, SocketAddr};

use serde_json::{Map, Value};

use crate::decode::readers::json;
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::time::{from_epoch_number, parse_any};
use crate::schema::{DnsEvent, EventClass, Row, Timestamp, VendorFields};

/// Decoder for `umbrella-dns`.
pub struct UmbrellaDns;

const ID: &str = "umbrella-dns";

fn err(reason: impl std::fmt::Display) -> DecodeError {
    DecodeError::new(format!("{ID}: {reason}"))
}

/// The fields of one Umbrella DNS record, whichever form it came in.
#[derive(Default)]
struct Record {
    identity: Option<String>,
    identity_type: Option<String>,
    identities: Vec<String>,
    identity_types: Vec<String>,
    internal_ip: Option<String>,
    external_ip: Option<String>,
    query_type: Option<String>,
    rcode: Option<String>,
    domain: String,
    /// `vendor_fields`: action, categories, blocked categories.
    extra: Vec<(&'static str, String)>,
}

/// Split one CSV line (RFC 4180 quoting, spaces around fields allowed).
fn split_csv(line: &str) -> Result<Vec<String>, DecodeError> {
    let b = line.as_bytes();
    let mut fields = Vec::with_capacity(16);
    let mut i = 0;
    loop {
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        if b.get(i) == Some(&b'"') {
            let n = fields.len() + 1;
            let mut field = String::new();
            i += 1;
            loop {
                let q = line
                    .get(i..)
                    .and_then(|rest| rest.find('"'))
                    .map(|p| i + p)
                    .ok_or_else(|| err(format!("CSV column {n}: quoted field without closing quote")))?;
                field.push_str(&line[i..q]);
                if b.get(q + 1) == Some(&b'"') {
                    field.push('"');
                    i = q + 2;
                } else {
                    i = q + 1;
                    break;
                }
            }
            while b.get(i) == Some(&b' ') {
                i += 1;
            }
            fields.push(field);
            match b.get(i) {
                None => break,
                Some(b',') => i += 1,
                Some(_) => return Err(err(format!("CSV column {n}: text after the closing quote"))),
            }
        } else {
            let rest = line.get(i..).unwrap_or("");
            let end = rest.find(',').map_or(line.len(), |p| i + p);
            fields.push(line[i..end].trim().to_string());
            if end >= line.len() {
                break;
            }
            i = end + 1;
        }
    }
    Ok(fields)
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn list(s: &str) -> Vec<String> {
    s.split(',').filter_map(non_empty).collect()
}

/// `1 (A)` → `A`; `A` stays `A`.
fn query_type(s: &str) -> Option<String> {
    let s = s.trim();
    let inner = s.split_once('(').and_then(|(_, r)| r.strip_suffix(')')).map(str::trim);
    inner.filter(|t| !t.is_empty()).map(str::to_string).or_else(|| non_empty(s))
}

fn ip(value: Option<String>, name: &str) -> Result<Option<String>, DecodeError> {
    let Some(v) = value else { return Ok(None) };
    let parsed = v.parse::<IpAddr>().or_else(|_| v.parse::<SocketAddr>().map(|a| a.ip()));
    parsed.map(|a| Some(a.to_string())).map_err(|_| err(format!("{name} `{v}` is not an IP address")))
}

enum Kind {
    User,
    Device,
    Other,
}

fn kind(identity_type: &str) -> Kind {
    let t = identity_type.to_ascii_lowercase();
    if t.contains("user") {
        Kind::User
    } else if t.contains("computer") || t.contains("roaming") || t.contains("mobile") {
        Kind::Device
    } else {
        Kind::Other
    }
}

/// `Ana Pereira (ana.pereira@example.com)` → the e-mail; anything else as is.
fn user_name(identity: &str) -> String {
    let email = identity
        .strip_suffix(')')
        .and_then(|s| s.rsplit_once(" ("))
        .map(|(_, e)| e.trim())
        .filter(|e| e.contains('@') && !e.contains(' '));
    email.unwrap_or(identity).to_string()
}

/// (`user`, `device`) from the most granular identity and the identity list.
fn identity_columns(r: &Record) -> (Option<String>, Option<String>) {
    let (mut user, mut device) = (None, None);
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if let (Some(id), Some(t)) = (&r.identity, &r.identity_type) {
        pairs.push((id, t));
    }
    if r.identities.len() == r.identity_types.len() {
        pairs.extend(r.identities.iter().map(String::as_str).zip(r.identity_types.iter().map(String::as_str)));
    }
    for (id, t) in pairs {
        match kind(t) {
            Kind::User if user.is_none() => user = Some(user_name(id)),
            Kind::Device if device.is_none() => device = Some(id.to_string()),
            _ => {}
        }
    }
    (user, device)
}

fn row(time: Timestamp, r: Record, out: &mut Vec<Row<'_>>) -> Result<DecodeOutcome, DecodeError> {
    let query = r.domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let internal = ip(r.internal_ip.clone(), "internal ip (column 4 / `internalIp`)")?;
    let external = ip(r.external_ip.clone(), "external ip (column 5 / `externalIp`)")?;
    if query.is_empty() {
        return Ok(DecodeOutcome::Skipped("umbrella-dns: no domain"));
    }
    let (user, device) = identity_columns(&r);
    let mut vendor_fields = VendorFields::default();
    for (k, v) in r.extra {
        vendor_fields.push(k, v);
    }
    out.push(Row::Dns(DnsEvent {
        time,
        vendor: Some("Cisco".into()),
        product: Some("Umbrella".into()),
        client_ip: internal.or(external).map(Into::into),
        query: Some(query.into()),
        query_type: r.query_type.map(Into::into),
        rcode: r.rcode.map(|c| c.to_ascii_uppercase().into()),
        user: user.map(Into::into),
        device: device.map(Into::into),
        vendor_fields,
        ..Default::default()
    }));
    Ok(DecodeOutcome::Parsed(1))
}

impl UmbrellaDns {
    fn csv(&self, line: &str, out: &mut Vec<Row<'_>>) -> Result<DecodeOutcome, DecodeError> {
        let f = split_csv(line)?;
        let col = |i: usize| f.get(i).map(String::as_str).unwrap_or("");
        if col(0).eq_ignore_ascii_case("timestamp") {
            return Ok(DecodeOutcome::Skipped("umbrella-dns: header row"));
        }
        if f.len() < 10 {
            return Err(err(format!("line has {} CSV columns, expected at least 10 (truncated?)", f.len())));
        }
        let time = parse_any(col(0)).ok_or_else(|| err(format!("column 1 (timestamp) `{}` is not a time", col(0))))?;
        let r = Record {
            identity: non_empty(col(1)),
            identities: list(col(2)),
            internal_ip: non_empty(col(3)),
            external_ip: non_empty(col(4)),
            query_type: query_type(col(6)),
            rcode: non_empty(col(7)),
            domain: col(8).to_string(),
            identity_type: non_empty(col(10)),
            identity_types: list(col(11)),
            extra: [("action", col(5)), ("categories", col(9)), ("blocked_categories", col(12))]
                .into_iter()
                .map(|(k, v)| (k, v.trim().to_string()))
                .collect(),
        };
        row(time, r, out)
    }

    fn json(&self, text: &str, out: &mut Vec<Row<'_>>) -> Result<DecodeOutcome, DecodeError> {
        let obj = json::parse_object(text).map_err(|e| err(e.reason))?;
        let time = match json::get(&obj, "timestamp") {
            None => return Err(err("JSON object has no `timestamp` (not an Umbrella DNS event?)")),
            Some(Value::String(s)) => parse_any(s),
            Some(Value::Number(n)) => n.as_f64().map(from_epoch_number),
            Some(_) => None,
        }
        .ok_or_else(|| err("`timestamp` is not a time"))?;
        let domain = match json::get(&obj, "domain") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) => String::new(),
            Some(_) => return Err(err("`domain` is not a string")),
            None => return Err(err("JSON object has no `domain` (not an Umbrella DNS event?)")),
        };
        let text_at = |keys: &[&str]| keys.iter().find_map(|k| json::str_at(&obj, &[k])).and_then(|s| non_empty(&s));
        let r = Record {
            identity: text_at(&["policyIdentity", "mostGranularIdentity"]),
            identity_type: text_at(&["policyIdentityType", "mostGranularIdentityType"]),
            identities: list_at(&obj, "identities"),
            identity_types: list_at(&obj, "identityTypes"),
            internal_ip: text_at(&["internalIp"]),
            external_ip: text_at(&["externalIp"]),
            query_type: text_at(&["queryType"]).and_then(|q| query_type(&q)),
            rcode: text_at(&["responseCode"]),
            domain,
            extra: [("action", "action"), ("categories", "categories"), ("blocked_categories", "blockedCategories")]
                .into_iter()
                .filter_map(|(name, key)| match json::get(&obj, key)? {
                    Value::String(s) => Some((name, s.clone())),
                    Value::Array(a) => Some((
                        name,
                        a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect::<Vec<_>>().join(","),
                    )),
                    _ => None,
                })
                .collect(),
        };
        row(time, r, out)
    }
}

/// A list as a JSON array of strings or a comma-separated string.
fn list_at(obj: &Map<String, Value>, key: &str) -> Vec<String> {
    match json::get(obj, key) {
        Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().and_then(non_empty)).collect(),
        Some(Value::String(s)) => list(s),
        _ => Vec::new(),
    }
}

impl Decoder for UmbrellaDns {
    fn id(&self) -> &'static str {
        ID
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Dns]
    }

    fn decode<'a>(
        &self,
        record: &'a [u8],
        _ctx: RecordContext<'a>,
        out: &mut Vec<Row<'a>>,
    ) -> Result<DecodeOutcome, DecodeError> {
        let text = record_text(record).map_err(|e| err(e.reason))?;
        let text = text.trim();
        if text.is_empty() {
            return Ok(DecodeOutcome::Skipped("umbrella-dns: blank line"));
        }
        if text.starts_with('{') {
            self.json(text, out)
        } else {
            self.csv(text, out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PANTHER: &str = include_str!("../../../../tests/data/vendor/umbrella/CiscoUmbrella.DNS.jsonl");
    const CSV: &str = include_str!("../../../../tests/data/vendor/umbrella/umbrella-dns-documented.csv");

    /// The Panther test corpus wraps each event in `{"log": ...}`.
    fn panther_logs() -> Vec<String> {
        PANTHER
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v.get("log").map(Value::to_string))
            .collect()
    }

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row<'static>>), DecodeError> {
        let mut out = Vec::new();
        let o = UmbrellaDns.decode(line.as_bytes(), RecordContext::default(), &mut out)?;
        Ok((o, out.into_iter().map(Row::into_static).collect()))
    }

    fn dns(line: &str) -> DnsEvent<'static> {
        match decode(line) {
            Ok((DecodeOutcome::Parsed(1), mut rows)) => match rows.pop() {
                Some(Row::Dns(e)) => e,
                other => panic!("expected a dns row, got {other:?}"),
            },
            other => panic!("expected one row for {line}, got {other:?}"),
        }
    }

    fn csv_line(i: usize) -> &'static str {
        CSV.lines().nth(i).unwrap_or_default()
    }

    fn fields<'e>(e: &'e DnsEvent<'_>) -> (String, &'e str, &'e str, &'e str, &'e str) {
        (
            e.time.to_rfc3339(),
            e.client_ip.as_deref().unwrap_or(""),
            e.query.as_deref().unwrap_or(""),
            e.query_type.as_deref().unwrap_or(""),
            e.rcode.as_deref().unwrap_or(""),
        )
    }

    #[test]
    fn panther_json_events() {
        let logs = panther_logs();
        assert_eq!(logs.len(), 5);
        let e = dns(&logs[0]);
        assert_eq!(
            fields(&e),
            ("2020-05-21T19:20:25.000Z".into(), "136.24.229.58", "beacons3.gvt2.com", "", "NOERROR")
        );
        assert_eq!((e.vendor.as_deref(), e.product.as_deref()), (Some("Cisco"), Some("Umbrella")));
        assert_eq!((e.user.as_ref(), e.device.as_ref()), (None, None), "no identities in this event");
        let e = dns(&logs[1]);
        assert_eq!(e.query.as_deref(), Some("google.com"));
        // The other three are CrowdStrike events Panther's standard rules test
        // alongside: not Umbrella DNS, dead-lettered.
        for l in &logs[2..] {
            let e = decode(l).unwrap_err();
            assert!(e.reason.contains("`domain`") || e.reason.contains("`timestamp`"), "{e}");
        }
    }

    #[test]
    fn json_with_identities_and_alternative_keys() {
        let l = r#"{"timestamp":"2026-11-24 09:12:03","mostGranularIdentity":"LAPTOP-7F3K2","mostGranularIdentityType":"Roaming Computers","identities":["LAPTOP-7F3K2","Ana Pereira (ana.pereira@example.com)"],"identityTypes":["Roaming Computers","AD Users"],"internalIp":"","externalIp":"2001:db8:ffff::7","queryType":"28 (AAAA)","responseCode":"NXDOMAIN","domain":"Evil.Example.NET.","categories":["Malware"]}"#;
        let e = dns(l);
        assert_eq!(
            fields(&e),
            ("2026-11-24T09:12:03.000Z".into(), "2001:db8:ffff::7", "evil.example.net", "AAAA", "NXDOMAIN")
        );
        assert_eq!(e.user.as_deref(), Some("ana.pereira@example.com"));
        assert_eq!(e.device.as_deref(), Some("LAPTOP-7F3K2"));
        let epoch = r#"{"timestamp":1795511523000,"domain":"a.example.","internalip":"10.0.0.5","identities":"x,y"}"#;
        let e = dns(epoch);
        assert_eq!(fields(&e), ("2026-11-24T09:12:03.000Z".into(), "10.0.0.5", "a.example", "", ""));
    }

    #[test]
    fn cisco_documented_csv_examples() {
        // "Example of DNS Log for Allowed Action" (spaces after commas as in Cisco's page).
        let e = dns(csv_line(0));
        assert_eq!(
            fields(&e),
            ("2015-01-16T17:48:41.000Z".into(), "10.10.1.100", "domain-visited.com", "A", "NOERROR")
        );
        assert_eq!(e.user.as_deref(), Some("ActiveDirectoryUserName"), "most granular identity of type AD User");
        assert_eq!(e.device, None);
        let e = dns(csv_line(1));
        assert_eq!(e.query.as_deref(), Some("domain-visited.com"));
        assert_eq!(decode(csv_line(2)).map(|r| r.0), Ok(DecodeOutcome::Skipped("umbrella-dns: header row")));
    }

    #[test]
    fn csv_versions_users_devices_ipv6() {
        let e = dns(csv_line(3));
        assert_eq!(fields(&e), ("2026-11-24T09:12:03.000Z".into(), "10.0.0.5", "www.example.com", "AAAA", "NOERROR"));
        assert_eq!(e.user.as_deref(), Some("ana.pereira@example.com"));
        assert_eq!(e.device.as_deref(), Some("LAPTOP-7F3K2"), "paired from identities / identity types");
        let e = dns(csv_line(4));
        assert_eq!(
            fields(&e),
            ("2026-11-24T09:12:04.000Z".into(), "2001:db8::5", "x1y2z3.badexample.net", "TXT", "NXDOMAIN")
        );
        assert_eq!((e.user.as_deref(), e.device.as_deref()), (None, Some("LAPTOP-7F3K2")));
        // Version 2: 10 columns, no identity types.
        let e = dns(csv_line(5));
        assert_eq!(fields(&e), ("2026-11-24T09:12:05.000Z".into(), "10.0.0.9", "intranet.example.com", "A", "NOERROR"));
        assert_eq!((e.user.as_ref(), e.device.as_ref()), (None, None));
        // Later versions append columns (rule id, destination countries, ...).
        let v10 = format!("{},\"123456\",\"US\",\"7654321\"", csv_line(3));
        assert_eq!(dns(&v10).query.as_deref(), Some("www.example.com"));
        // No internal IP: the external one is the client.
        let no_internal = csv_line(5).replace("\"10.0.0.9\"", "\"\"");
        assert_eq!(dns(&no_internal).client_ip.as_deref(), Some("198.51.100.7"));
        let quoted = csv_line(5).replace("Business Services", "Say \"\"hi\"\", world");
        assert_eq!(dns(&quoted).query.as_deref(), Some("intranet.example.com"));
    }

    #[test]
    fn skips_and_errors() {
        let no_domain = csv_line(5).replace("intranet.example.com.", "");
        assert_eq!(decode(&no_domain).map(|r| r.0), Ok(DecodeOutcome::Skipped("umbrella-dns: no domain")));
        assert_eq!(decode("  ").map(|r| r.0), Ok(DecodeOutcome::Skipped("umbrella-dns: blank line")));
        let reason = |l: &str| decode(l).unwrap_err().reason;
        assert!(reason("\"2026-11-24 09:12:03\",\"x\"").contains("expected at least 10"));
        assert!(reason(&csv_line(5).replace("2026-11-24 09:12:05", "yesterday"))
            .contains("column 1 (timestamp) `yesterday`"));
        assert!(reason(&csv_line(5).replace("10.0.0.9", "10.0.0.999")).contains("internal ip"));
        assert!(reason(&csv_line(5).replace("198.51.100.7", "not-an-ip")).contains("external ip"));
        assert!(
            reason("\"2026-11-24 09:12:03,\"x\"").contains("closing quote")
                || reason("\"2026-11-24 09:12:03,\"x\"").contains("after the closing quote")
        );
        assert!(reason("\"2026-11-24 09:12:03\"x,a").contains("text after the closing quote"));
        assert!(reason("\"unterminated").contains("without closing quote"));
        assert!(reason("{\"timestamp\":\"2026-11-24 09:12:03\"}").contains("no `domain`"));
        assert!(reason("{\"domain\":\"a.example\"}").contains("no `timestamp`"));
        assert!(reason("{\"timestamp\":true,\"domain\":\"a\"}").contains("`timestamp` is not a time"));
        assert!(reason("{\"timestamp\":\"2026-11-24 09:12:03\",\"domain\":5}").contains("`domain` is not a string"));
        assert!(reason("{not json").starts_with("umbrella-dns: invalid JSON"));
        assert!(UmbrellaDns.decode(b"\"\xff\"", RecordContext::default(), &mut Vec::new()).is_err());
    }

    #[test]
    fn documented_example_json() {
        let (_, mut rows) = decode(csv_line(3)).unwrap_or_else(|e| panic!("{e}"));
        let id = crate::origin::event_id("stdin", None, 1);
        let origin = crate::origin::origin_string("stdin", None, 1);
        rows[0].set_origin(&id, &origin, ID);
        let json = rows[0].to_json();
        println!("{json}");
        assert_eq!(json["user"], "ana.pereira@example.com");
        assert_eq!(json["format"], "umbrella-dns");
    }

    /// Exactly one outcome, with rows only when parsed.
    fn one_outcome(bytes: &[u8]) -> Result<(), TestCaseError> {
        let mut out = Vec::new();
        match UmbrellaDns.decode(bytes, RecordContext::default(), &mut out) {
            Ok(DecodeOutcome::Parsed(n)) => {
                prop_assert!(n == 1 && out.len() == 1);
                if let Some(Row::Dns(e)) = out.first() {
                    let q = e.query.as_deref().unwrap_or("");
                    prop_assert!(!q.is_empty() && !q.ends_with('.') && q == q.to_ascii_lowercase());
                }
            }
            Ok(DecodeOutcome::Skipped(r)) => prop_assert!(out.is_empty() && r.starts_with("umbrella-dns: ")),
            Err(e) => prop_assert!(out.is_empty() && e.reason.starts_with("umbrella-dns: ")),
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            one_outcome(&bytes)?;
        }

        #[test]
        fn never_panics_on_mutated_sample_lines(
            which in 0usize..20, pos in 0usize..400, byte in any::<u8>(), cut in 0usize..400, del in 0usize..8,
        ) {
            let lines: Vec<String> = CSV.lines().map(str::to_string).chain(panther_logs()).collect();
            let mut l = lines[which % lines.len()].as_bytes().to_vec();
            if !l.is_empty() {
                let p = pos % l.len();
                l[p] = byte;
                let d = (p + del).min(l.len());
                l.drain(p..d);
            }
            one_outcome(&l)?;
            l.truncate(cut);
            one_outcome(&l)?;
        }
    }
}
