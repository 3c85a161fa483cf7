//! `entra-signin`: Microsoft Entra ID (Azure AD) sign-in logs, one JSON
//! object per line, original or lower-cased keys. Three shapes are accepted:
//!
//! * the Microsoft Graph [`signIn`] resource (`GET /auditLogs/signIns`, v1.0
//!   and beta; `networkLocationDetails`, `authenticationRequirement`,
//!   `mfaDetail`, `userAgent` and `signInEventTypes` are beta / diagnostic-only
//!   fields, read when present);
//! * the Azure Monitor diagnostic-settings record (storage account, Log
//!   Analytics export, Event Hub) with the sign-in under `properties` and the
//!   category (`SignInLogs`, `NonInteractiveUserSignInLogs`,
//!   `ServicePrincipalSignInLogs`, `ManagedIdentitySignInLogs`, ...) at the top;
//! * a batch: an Event Hub message `{"records": [...]}` or a Graph page
//!   `{"value": [...]}`, one row per sign-in in it.
//!
//! | field | column |
//! |---|---|
//! | `properties.createdDateTime` / `createdDateTime`, else the diagnostic `time` | `time` |
//! | diagnostic `category`, else `signInEventTypes[0]`, else `signIn` | `event_type` |
//! | `userPrincipalName`, else `servicePrincipalName`, else `userId` / `servicePrincipalId` | `user` |
//! | `userDisplayName`, else `servicePrincipalName` | `user_name` |
//! | `ipAddress`, else the diagnostic `callerIpAddress` (IPv4 or IPv6; a value that is not an address is dropped) | `src_ip` |
//! | `appDisplayName`, else `servicePrincipalName`, else `appId` | `app` |
//! | `status.errorCode` (`0` → `success`, anything else → `failure`), else the diagnostic `resultType` (code, `Success` / `Failure`) | `result` |
//! | failures: `errorCode: failureReason` (else the diagnostic `resultDescription`, else `status.additionalDetails`) | `reason` |
//! | `authenticationRequirement` (`multiFactorAuthentication` → true, `singleFactorAuthentication` → false), else `mfaDetail.authMethod` present → true | `mfa` |
//! | `userAgent` | `user_agent` |
//! | `deviceDetail.operatingSystem` | `os` |
//! | `deviceDetail.displayName`, else `deviceDetail.deviceId` | `device` |
//!
//! Not mapped, for want of a column: `location`, `clientAppUsed`,
//! `conditionalAccessStatus` / `appliedConditionalAccessPolicies`,
//! `networkLocationDetails` (named / trusted networks), `isInteractive`, risk
//! levels, `autonomousSystemNumber`, `resourceDisplayName`.
//!
//! Skipped (valid, nothing to model): diagnostic records of another category
//! (`AuditLogs`, ...) and Graph directory-audit records
//! (`entra-signin: not a sign-in record`); a batch with no sign-in in it.
//! Dead-lettered: invalid JSON, a record without `createdDateTime` / `time`
//! or with an unparseable one, a record naming no user, service principal,
//! app or address; in a batch, any bad element dead-letters the whole batch
//! (no rows are emitted from it) and the reason names the element.
//!
//! The helpers [`clean_ip`] and [`decode_batch`] are shared with the other
//! SaaS audit decoders (`entra-audit`, `google-workspace`, `github-audit`).
//!
//! [`signIn`]: https://learn.microsoft.com/graph/api/resources/signin

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::time::parse_any;
use super::{json, record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{AuthEvent, EventClass, Row, Timestamp};

/// Decoder for `entra-signin`.
pub struct EntraSignin;

const NOT_SIGN_IN: &str = "entra-signin: not a sign-in record";

/// An IP address as logged (`1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`,
/// `[2001:db8::1]:443`) in canonical form, or `None` when it is not one.
pub(crate) fn clean_ip(raw: &str) -> Option<String> {
    let s = raw.trim();
    let candidate = if let Some(rest) = s.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        match s.rsplit_once(':') {
            Some((ip, port)) if !ip.contains(':') && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => ip,
            _ => s,
        }
    };
    candidate.parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

/// Decode a batch envelope: when `obj` holds an array under one of `keys`
/// (`records`, `value`, `items`), decode every element with `one`. Returns
/// `None` when `obj` is not a batch. All or nothing: a bad element (not an
/// object, or a decode error) truncates `out` back to where it was and
/// dead-letters the batch with the element's index in the reason. A batch
/// whose elements are all skipped is skipped with the first element's reason
/// (`empty` when it has none).
pub(crate) fn decode_batch<F>(
    obj: &Map<String, Value>,
    keys: &[&str],
    empty: &'static str,
    out: &mut Vec<Row>,
    mut one: F,
) -> Option<Result<DecodeOutcome, DecodeError>>
where
    F: FnMut(&Map<String, Value>, &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError>,
{
    let (key, items) = keys.iter().find_map(|k| match json::get(obj, k) {
        Some(Value::Array(items)) => Some((*k, items)),
        _ => None,
    })?;
    Some(decode_items(key, items, empty, out, |item, out| match item.as_object() {
        Some(o) => one(o, out),
        None => Err(DecodeError::new("is not a JSON object")),
    }))
}

/// Decode every element of `items` with `one` (see [`decode_batch`]); `key`
/// names the array in error reasons.
pub(crate) fn decode_items<F>(
    key: &str,
    items: &[Value],
    empty: &'static str,
    out: &mut Vec<Row>,
    mut one: F,
) -> Result<DecodeOutcome, DecodeError>
where
    F: FnMut(&Value, &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError>,
{
    let start = out.len();
    let mut rows = 0;
    let mut skipped: Option<&'static str> = None;
    for (i, item) in items.iter().enumerate() {
        match one(item, out) {
            Ok(DecodeOutcome::Parsed(n)) => rows += n,
            Ok(DecodeOutcome::Skipped(reason)) => {
                skipped.get_or_insert(reason);
            }
            Err(e) => {
                out.truncate(start);
                return Err(DecodeError::new(format!("{key}[{i}]: {}", e.reason)));
            }
        }
    }
    if rows > 0 {
        Ok(DecodeOutcome::Parsed(rows))
    } else {
        Ok(DecodeOutcome::Skipped(skipped.unwrap_or(empty)))
    }
}

/// The time at the first of `keys` (paths) present, or a decode error naming them.
pub(crate) fn time_at(
    sources: &[(&Map<String, Value>, &[&str])],
    prefix: &str,
    names: &str,
) -> Result<Timestamp, DecodeError> {
    let (raw, name) = sources
        .iter()
        .find_map(|(obj, path)| json::str_at(obj, path).map(|v| (v, path.join("."))))
        .ok_or_else(|| DecodeError::new(format!("{prefix}: missing {names}")))?;
    parse_any(&raw).ok_or_else(|| DecodeError::new(format!("{prefix}: `{name}` `{raw}` is not a time")))
}

fn result_of(inner: &Map<String, Value>, outer: Option<&Map<String, Value>>) -> (Option<String>, Option<i64>) {
    if let Some(code) = json::i64_at(inner, &["status", "errorCode"]) {
        return (Some(if code == 0 { "success" } else { "failure" }.to_string()), Some(code));
    }
    let Some(outer) = outer else { return (None, None) };
    if let Some(code) = json::i64_at(outer, &["resultType"]) {
        return (Some(if code == 0 { "success" } else { "failure" }.to_string()), Some(code));
    }
    for key in ["resultType", "resultSignature"] {
        match json::str_at(outer, &[key]).map(|s| s.to_ascii_lowercase()).as_deref() {
            Some("success" | "succeeded") => return (Some("success".to_string()), None),
            Some("failure" | "failed") => return (Some("failure".to_string()), None),
            _ => {}
        }
    }
    (None, None)
}

fn reason_of(inner: &Map<String, Value>, outer: Option<&Map<String, Value>>, code: Option<i64>) -> Option<String> {
    let text = json::str_at(inner, &["status", "failureReason"])
        .filter(|r| r != "Other.")
        .or_else(|| outer.and_then(|o| json::str_at(o, &["resultDescription"])))
        .or_else(|| json::str_at(inner, &["status", "additionalDetails"]));
    match (code, text) {
        (Some(c), Some(t)) => Some(format!("{c}: {t}")),
        (Some(c), None) => Some(c.to_string()),
        (None, t) => t,
    }
}

fn mfa_of(inner: &Map<String, Value>) -> Option<bool> {
    match json::str_at(inner, &["authenticationRequirement"]).map(|s| s.to_ascii_lowercase()).as_deref() {
        Some("multifactorauthentication") => return Some(true),
        Some("singlefactorauthentication") => {
            return Some(json::str_at(inner, &["mfaDetail", "authMethod"]).is_some());
        }
        _ => {}
    }
    json::str_at(inner, &["mfaDetail", "authMethod"]).map(|_| true)
}

/// Decode one sign-in record (Graph or diagnostic shape).
fn decode_one(obj: &Map<String, Value>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
    let (inner, outer) = match json::get(obj, "properties") {
        Some(Value::Object(p)) => (p, Some(obj)),
        _ => (obj, None),
    };
    let category = outer.and_then(|o| json::str_at(o, &["category"]));
    if let Some(c) = &category {
        if !c.to_ascii_lowercase().contains("signin") {
            return Ok(DecodeOutcome::Skipped(NOT_SIGN_IN));
        }
    }
    if json::get(inner, "activityDisplayName").is_some() || json::get(inner, "activityDateTime").is_some() {
        return Ok(DecodeOutcome::Skipped(NOT_SIGN_IN));
    }
    let mut sources: Vec<(&Map<String, Value>, &[&str])> = vec![(inner, &["createdDateTime"])];
    if let Some(o) = outer {
        sources.push((o, &["time"]));
    }
    let time = time_at(&sources, "entra-signin", "`createdDateTime` (or the diagnostic `time`)")?;
    let s = |k: &str| json::str_at(inner, &[k]);
    let sp_name = s("servicePrincipalName");
    let user =
        s("userPrincipalName").or_else(|| sp_name.clone()).or_else(|| s("userId")).or_else(|| s("servicePrincipalId"));
    let src_ip = s("ipAddress")
        .or_else(|| outer.and_then(|o| json::str_at(o, &["callerIpAddress"])))
        .and_then(|ip| clean_ip(&ip));
    let app = s("appDisplayName").or_else(|| sp_name.clone()).or_else(|| s("appId"));
    if user.is_none() && src_ip.is_none() && app.is_none() {
        return Err(DecodeError::new("entra-signin: record names no user, service principal, app or IP address"));
    }
    let event_type = category
        .or_else(|| match json::get(inner, "signInEventTypes") {
            Some(Value::Array(t)) => t.iter().find_map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_string)),
            _ => None,
        })
        .unwrap_or_else(|| "signIn".to_string());
    let (result, code) = result_of(inner, outer);
    let reason = if result.as_deref() == Some("failure") { reason_of(inner, outer, code) } else { None };
    out.push(Row::Auth(AuthEvent {
        time,
        vendor: Some("Microsoft".to_string()),
        product: Some("Microsoft Entra ID".to_string()),
        event_type: Some(event_type),
        user,
        user_name: s("userDisplayName").or(sp_name),
        src_ip,
        app,
        result,
        reason,
        mfa: mfa_of(inner),
        user_agent: s("userAgent"),
        os: json::str_at(inner, &["deviceDetail", "operatingSystem"]),
        device: json::str_at(inner, &["deviceDetail", "displayName"])
            .or_else(|| json::str_at(inner, &["deviceDetail", "deviceId"])),
        ..Default::default()
    }));
    Ok(DecodeOutcome::Parsed(1))
}

impl Decoder for EntraSignin {
    fn id(&self) -> &'static str {
        "entra-signin"
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Auth]
    }

    fn decode(&self, record: &[u8], _ctx: RecordContext<'_>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
        let obj = json::parse_object(record_text(record)?)?;
        if let Some(r) = decode_batch(&obj, &["records", "value"], "entra-signin: empty batch", out, decode_one) {
            return r;
        }
        decode_one(&obj, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PANTHER: &str = include_str!("../../../tests/data/vendor/entra/Azure.Audit.jsonl");
    const DOCUMENTED: &str = include_str!("../../../tests/data/vendor/entra/entra-signin.documented.jsonl");

    /// The Panther test corpus wraps each record in `{"log": ...}`.
    fn panther() -> Vec<String> {
        PANTHER
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v.get("log").map(Value::to_string))
            .collect()
    }

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row>), DecodeError> {
        let mut out = Vec::new();
        let o = EntraSignin.decode(line.as_bytes(), RecordContext::default(), &mut out)?;
        Ok((o, out))
    }

    fn auth(line: &str) -> AuthEvent {
        match decode(line).unwrap() {
            (DecodeOutcome::Parsed(1), mut rows) => match rows.pop() {
                Some(Row::Auth(a)) => a,
                other => panic!("expected auth, got {other:?}"),
            },
            other => panic!("expected one row, got {other:?}"),
        }
    }

    fn find(lines: &[String], needle: &str) -> String {
        lines.iter().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no sample with {needle}")).clone()
    }

    #[test]
    fn graph_sign_in_with_mfa_over_ipv6() {
        let a = auth(DOCUMENTED.lines().next().unwrap());
        assert_eq!(a.time.to_rfc3339(), "2026-11-24T08:02:11.530Z");
        assert_eq!(a.user.as_deref(), Some("dana.kim@contoso.com"));
        assert_eq!(a.user_name.as_deref(), Some("Dana Kim"));
        assert_eq!(a.src_ip.as_deref(), Some("2001:db8:4a1c:1200::2c"));
        assert_eq!(a.app.as_deref(), Some("Graph Explorer"));
        assert_eq!(a.result.as_deref(), Some("success"));
        assert_eq!(a.reason, None);
        assert_eq!(a.mfa, Some(true));
        assert_eq!(a.os.as_deref(), Some("MacOs"));
        assert_eq!(a.device, None, "empty deviceDetail fields are not values");
        assert_eq!(a.event_type.as_deref(), Some("interactiveUser"));
        assert!(a.user_agent.as_deref().unwrap().contains("Safari"));
        assert_eq!(a.vendor.as_deref(), Some("Microsoft"));
    }

    #[test]
    fn graph_sign_in_failure_keeps_the_error_code() {
        let a = auth(DOCUMENTED.lines().nth(1).unwrap());
        assert_eq!(a.result.as_deref(), Some("failure"));
        assert_eq!(
            a.reason.as_deref(),
            Some("50126: Error validating credentials due to invalid username or password.")
        );
        assert_eq!(a.src_ip.as_deref(), Some("203.0.113.77"));
        assert_eq!(a.mfa, Some(false));
        assert_eq!(a.time.to_rfc3339(), "2026-11-24T08:05:42.000Z");
    }

    #[test]
    fn event_hub_batch_yields_the_sign_ins_and_skips_the_rest() {
        let (o, rows) = decode(DOCUMENTED.lines().nth(2).unwrap()).unwrap();
        assert_eq!(o, DecodeOutcome::Parsed(1));
        let Row::Auth(a) = &rows[0] else { panic!("expected auth") };
        assert_eq!(a.event_type.as_deref(), Some("NonInteractiveUserSignInLogs"));
        assert_eq!(a.user.as_deref(), Some("ana.pereira@contoso.com"));
        assert_eq!(a.device.as_deref(), Some("LT-APEREIRA"));
        assert_eq!(a.os.as_deref(), Some("Windows 11"));
        assert_eq!(a.time.to_rfc3339(), "2026-11-24T09:12:58.304Z", "createdDateTime, not the export time");
        // A batch of nothing but audit records is skipped; a bad element dead-letters the batch.
        let audit_only = r#"{"records":[{"category":"AuditLogs","time":"2026-01-01T00:00:00Z","properties":{}}]}"#;
        assert_eq!(decode(audit_only).unwrap().0, DecodeOutcome::Skipped(NOT_SIGN_IN));
        assert_eq!(decode(r#"{"value":[]}"#).unwrap().0, DecodeOutcome::Skipped("entra-signin: empty batch"));
        let bad = r#"{"value":[{"createdDateTime":"2026-01-01T00:00:00Z","ipAddress":"1.2.3.4"},7]}"#;
        assert_eq!(decode(bad).unwrap_err().reason, "value[1]: is not a JSON object");
        let mut out = Vec::new();
        let bad_time = r#"{"value":[{"createdDateTime":"2026-01-01T00:00:00Z","ipAddress":"1.2.3.4"},{"createdDateTime":"soon","ipAddress":"1.2.3.4"}]}"#;
        let e = EntraSignin.decode(bad_time.as_bytes(), RecordContext::default(), &mut out).unwrap_err();
        assert!(e.reason.starts_with("value[1]: entra-signin: `createdDateTime`"), "{}", e.reason);
        assert!(out.is_empty(), "no rows from a dead-lettered batch");
    }

    #[test]
    fn diagnostic_sign_ins_from_the_panther_corpus() {
        let lines = panther();
        let lockout = auth(&find(&lines, "lockout-attack-001"));
        assert_eq!(lockout.user.as_deref(), Some("boromir@lotr.com"));
        assert_eq!(lockout.src_ip.as_deref(), Some("4.4.4.4"));
        assert_eq!(lockout.app.as_deref(), Some("Microsoft Office"));
        assert_eq!(lockout.result.as_deref(), Some("failure"));
        assert!(lockout.reason.as_deref().unwrap().starts_with("50053: "));
        assert_eq!(lockout.mfa, Some(false));
        assert_eq!(lockout.time.to_rfc3339(), "2025-01-15T08:15:23.456Z", "no createdDateTime: the record time");
        assert_eq!(lockout.event_type.as_deref(), Some("SignInLogs"));

        let ropc = auth(&find(&lines, "ropc-signin-001"));
        assert_eq!(ropc.result.as_deref(), Some("success"), "resultType 0");
        assert_eq!(ropc.time.to_rfc3339(), "2025-01-15T09:30:25.123Z");
        assert_eq!(ropc.os.as_deref(), Some("Unknown"));
        assert_eq!(ropc.user_agent.as_deref(), Some("python-requests/2.28.1"));

        let office = auth(&find(&lines, "office365-001"));
        assert_eq!(office.result.as_deref(), Some("success"), "resultType `Success`, no status");

        // Lower-cased keys (`calleripaddress`, `operationname`), service principal sign-in.
        let sp = auth(&find(&lines, "\"riskLevelDuringSignIn\":\"low\""));
        assert_eq!(sp.user.as_deref(), Some("some-service-principal"));
        assert_eq!(sp.app.as_deref(), Some("some-service-principal"));
        assert_eq!(sp.result.as_deref(), Some("failure"));
        assert_eq!(sp.reason.as_deref(), Some("7000215"));
        assert_eq!(sp.event_type.as_deref(), Some("ServicePrincipalSignInLogs"));
        assert_eq!(sp.time.to_rfc3339(), "2023-07-26T22:58:30.983Z");

        let legacy = auth(&find(&lines, "Authenticated SMTP"));
        assert_eq!(legacy.user.as_deref(), Some("homer.simpson@springfield.org"));
        assert_eq!(legacy.user_name.as_deref(), Some("A User Display Name"));
        assert_eq!(legacy.src_ip.as_deref(), Some("12.12.12.12"));
        assert_eq!(legacy.app.as_deref(), Some("Office 365 Exchange Online"));
        assert_eq!(legacy.user_agent.as_deref(), Some("BAV2ROPC"));
        assert_eq!(legacy.os.as_deref(), Some("MacOs"));
    }

    #[test]
    fn every_panther_record_is_parsed_or_skipped() {
        let (mut parsed, mut skipped) = (0, 0);
        for line in panther() {
            match decode(&line) {
                Ok((DecodeOutcome::Parsed(1), _)) => parsed += 1,
                Ok((DecodeOutcome::Skipped(r), _)) => {
                    assert_eq!(r, NOT_SIGN_IN);
                    skipped += 1
                }
                other => panic!("{line}: {other:?}"),
            }
        }
        assert_eq!((parsed, skipped), (19, 16));
        // The same records with every key lower-cased give the same rows.
        for line in panther() {
            let lower = line.to_ascii_lowercase();
            if let (Ok((_, a)), Ok((_, b))) = (decode(&line), decode(&lower)) {
                let (Some(Row::Auth(a)), Some(Row::Auth(b))) = (a.first(), b.first()) else { continue };
                assert_eq!((a.time, &a.src_ip, &a.result), (b.time, &b.src_ip, &b.result));
            }
        }
    }

    #[test]
    fn malformed_records_are_dead_lettered() {
        assert!(decode("{not json").unwrap_err().reason.contains("invalid JSON"));
        assert!(decode("[1]").unwrap_err().reason.contains("expected a JSON object"));
        assert!(decode(r#"{"userPrincipalName":"a@b.c"}"#).unwrap_err().reason.contains("missing `createdDateTime`"));
        assert!(decode(r#"{"createdDateTime":"yesterday","userPrincipalName":"a@b.c"}"#)
            .unwrap_err()
            .reason
            .contains("is not a time"));
        assert!(decode(r#"{"createdDateTime":"2026-01-01T00:00:00Z"}"#).unwrap_err().reason.contains("names no user"));
        let e = EntraSignin.decode(&[0xff, 0xfe], RecordContext::default(), &mut Vec::new()).unwrap_err();
        assert!(e.reason.contains("not valid UTF-8"));
        // Audit records are valid but not sign-ins.
        let audit = r#"{"activityDisplayName":"Add user","activityDateTime":"2026-01-01T00:00:00Z"}"#;
        assert_eq!(decode(audit).unwrap().0, DecodeOutcome::Skipped(NOT_SIGN_IN));
    }

    #[test]
    fn ip_cleaning() {
        assert_eq!(clean_ip("1.2.3.4").as_deref(), Some("1.2.3.4"));
        assert_eq!(clean_ip(" 1.2.3.4:5678 ").as_deref(), Some("1.2.3.4"));
        assert_eq!(clean_ip("2001:DB8:0:0::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(clean_ip("[2001:db8::1]:443").as_deref(), Some("2001:db8::1"));
        assert_eq!(clean_ip("::ffff:1.2.3.4").as_deref(), Some("::ffff:1.2.3.4"));
        assert_eq!(clean_ip("unknown"), None);
        assert_eq!(clean_ip(""), None);
        assert_eq!(clean_ip("["), None);
    }

    #[test]
    fn print_normalized_example() {
        // The example in docs/formats/entra-signin.md: `cargo test ... print_normalized_example -- --nocapture`.
        let (_, mut rows) = decode(DOCUMENTED.lines().next().unwrap()).unwrap();
        // Origin columns as the decode stage sets them for line 1 of the file.
        let source = "file:/var/log/entra/signin.jsonl";
        let (id, origin) = (crate::origin::event_id(source, None, 1), crate::origin::origin_string(source, None, 1));
        rows[0].set_origin(&id, &origin, "entra-signin");
        println!("{}", serde_json::to_string_pretty(&rows[0].to_json()).unwrap());
    }

    proptest! {
        #[test]
        fn never_panics_and_gives_one_outcome(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            cut in 0usize..4000,
            flip in 0usize..4000,
            byte in any::<u8>(),
        ) {
            let mut out = Vec::new();
            match EntraSignin.decode(&bytes, RecordContext::default(), &mut out) {
                Ok(DecodeOutcome::Parsed(n)) => prop_assert_eq!(n, out.len()),
                Ok(DecodeOutcome::Skipped(_)) | Err(_) => prop_assert!(out.is_empty()),
            }
            let lines: Vec<String> = DOCUMENTED.lines().map(str::to_string).chain(panther()).collect();
            let line = lines[flip % lines.len()].as_bytes();
            let mut mutated = line[..cut.min(line.len())].to_vec();
            if !mutated.is_empty() {
                let i = flip % mutated.len();
                mutated[i] = byte;
            }
            let mut out = Vec::new();
            match EntraSignin.decode(&mutated, RecordContext::default(), &mut out) {
                Ok(DecodeOutcome::Parsed(n)) => prop_assert_eq!(n, out.len()),
                Ok(DecodeOutcome::Skipped(_)) | Err(_) => prop_assert!(out.is_empty()),
            }
            let _ = clean_ip(&String::from_utf8_lossy(&bytes));
        }
    }
}
