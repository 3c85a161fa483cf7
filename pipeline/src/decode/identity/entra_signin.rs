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
//! | `id`, `correlationId`, `userId`, `appId`, `resourceDisplayName`, `resourceId`, `clientAppUsed`, `isInteractive`, `authenticationRequirement`, `authenticationProtocol`, `conditionalAccessStatus`, `appliedConditionalAccessPolicies` and `networkLocationDetails` (compact JSON), `location.countryOrRegion` / `.state` / `.city`, `riskLevelDuringSignIn`, `riskLevelAggregated`, `riskState`, `riskDetail`, `riskEventTypes_v2`, `autonomousSystemNumber`, `deviceDetail.deviceId` / `.browser` / `.trustType` / `.isCompliant` / `.isManaged`, `mfaDetail.authMethod` / `.authDetail`, `status.additionalDetails`, `servicePrincipalId`, `tokenIssuerType`, `crossTenantAccessType`, `homeTenantId`, `resourceTenantId`; diagnostic record: `tenantId`, `operationName`, `resultSignature`, `correlationId` (when `properties` has none) | `vendor_fields`, under these names (properties of the diagnostic record without the `properties.` prefix, as in the Graph shape) |
//!
//! Skipped (valid, nothing to model): diagnostic records of another category
//! (`AuditLogs`, ...) and Graph directory-audit records
//! (`entra-signin: not a sign-in record`); a batch with no sign-in in it.
//! Dead-lettered: invalid JSON, a record without `createdDateTime` / `time`
//! or with an unparseable one, a record naming no user, service principal,
//! app or address; in a batch, any bad element dead-letters the whole batch
//! (no rows are emitted from it) and the reason names the element.
//!
//! The JSON audit-record helpers it uses ([`decode_batch`], [`keep_paths`],
//! [`time_at`]) are shared with the other SaaS audit decoders and live in
//! [`crate::decode::readers::json`].
//!
//! [`signIn`]: https://learn.microsoft.com/graph/api/resources/signin

use serde_json::{Map, Value};

use crate::decode::readers::json::{self, decode_batch, keep_paths, time_at};
use crate::decode::readers::text::clean_ip;
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{AuthEvent, EventClass, Row, Str, VendorFields};

/// Decoder for `entra-signin`.
pub struct EntraSignin;

const NOT_SIGN_IN: &str = "entra-signin: not a sign-in record";

/// Sign-in fields with no column, kept in `vendor_fields` under these names.
const VENDOR_FIELDS: &[&str] = &[
    "id",
    "correlationId",
    "userId",
    "appId",
    "resourceDisplayName",
    "resourceId",
    "clientAppUsed",
    "isInteractive",
    "authenticationRequirement",
    "authenticationProtocol",
    "conditionalAccessStatus",
    "appliedConditionalAccessPolicies",
    "networkLocationDetails",
    "location.countryOrRegion",
    "location.state",
    "location.city",
    "riskLevelDuringSignIn",
    "riskLevelAggregated",
    "riskState",
    "riskDetail",
    "riskEventTypes_v2",
    "autonomousSystemNumber",
    "deviceDetail.deviceId",
    "deviceDetail.browser",
    "deviceDetail.trustType",
    "deviceDetail.isCompliant",
    "deviceDetail.isManaged",
    "mfaDetail.authMethod",
    "mfaDetail.authDetail",
    "status.additionalDetails",
    "servicePrincipalId",
    "tokenIssuerType",
    "crossTenantAccessType",
    "homeTenantId",
    "resourceTenantId",
];

/// Fields of the diagnostic-settings envelope kept in `vendor_fields`.
const DIAGNOSTIC_VENDOR_FIELDS: &[&str] = &["correlationId", "tenantId", "operationName", "resultSignature"];

fn result_of(inner: &Map<String, Value>, outer: Option<&Map<String, Value>>) -> (Option<Str<'static>>, Option<i64>) {
    if let Some(code) = json::i64_at(inner, &["status", "errorCode"]) {
        return (Some(if code == 0 { "success" } else { "failure" }.into()), Some(code));
    }
    let Some(outer) = outer else { return (None, None) };
    if let Some(code) = json::i64_at(outer, &["resultType"]) {
        return (Some(if code == 0 { "success" } else { "failure" }.into()), Some(code));
    }
    for key in ["resultType", "resultSignature"] {
        match json::str_at(outer, &[key]).map(|s| s.to_ascii_lowercase()).as_deref() {
            Some("success" | "succeeded") => return (Some("success".into()), None),
            Some("failure" | "failed") => return (Some("failure".into()), None),
            _ => {}
        }
    }
    (None, None)
}

fn reason_of(
    inner: &Map<String, Value>,
    outer: Option<&Map<String, Value>>,
    code: Option<i64>,
) -> Option<Str<'static>> {
    let text = json::str_at(inner, &["status", "failureReason"])
        .filter(|r| r != "Other.")
        .or_else(|| outer.and_then(|o| json::str_at(o, &["resultDescription"])))
        .or_else(|| json::str_at(inner, &["status", "additionalDetails"]));
    match (code, text) {
        (Some(c), Some(t)) => Some(format!("{c}: {t}").into()),
        (Some(c), None) => Some(c.to_string().into()),
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
            Some(Value::Array(t)) => {
                t.iter().find_map(|v| v.as_str().filter(|s| !s.is_empty()).map(|s| Str::Owned(s.to_string())))
            }
            _ => None,
        })
        .unwrap_or(Str::Borrowed("signIn"));
    let (result, code) = result_of(inner, outer);
    let reason = if result.as_deref() == Some("failure") { reason_of(inner, outer, code) } else { None };
    let mut vendor_fields = VendorFields::default();
    keep_paths(inner, VENDOR_FIELDS, &mut vendor_fields);
    if let Some(o) = outer {
        keep_paths(o, DIAGNOSTIC_VENDOR_FIELDS, &mut vendor_fields);
    }
    out.push(Row::Auth(AuthEvent {
        time,
        vendor: Some("Microsoft".into()),
        product: Some("Microsoft Entra ID".into()),
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
        vendor_fields,
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

    const PANTHER: &str = include_str!("../../../../tests/data/vendor/entra/Azure.Audit.jsonl");
    const DOCUMENTED: &str = include_str!("../../../../tests/data/vendor/entra/entra-signin.documented.jsonl");

    /// The Panther test corpus wraps each record in `{"log": ...}`.
    fn panther() -> Vec<String> {
        PANTHER
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v.get("log").map(Value::to_string))
            .collect()
    }

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row<'_>>), DecodeError> {
        let mut out = Vec::new();
        let o = EntraSignin.decode(line.as_bytes(), RecordContext::default(), &mut out)?;
        Ok((o, out))
    }

    fn auth(line: &str) -> AuthEvent<'_> {
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
        let line = find(&lines, "lockout-attack-001");
        let lockout = auth(&line);
        assert_eq!(lockout.user.as_deref(), Some("boromir@lotr.com"));
        assert_eq!(lockout.src_ip.as_deref(), Some("4.4.4.4"));
        assert_eq!(lockout.app.as_deref(), Some("Microsoft Office"));
        assert_eq!(lockout.result.as_deref(), Some("failure"));
        assert!(lockout.reason.as_deref().unwrap().starts_with("50053: "));
        assert_eq!(lockout.mfa, Some(false));
        assert_eq!(lockout.time.to_rfc3339(), "2025-01-15T08:15:23.456Z", "no createdDateTime: the record time");
        assert_eq!(lockout.event_type.as_deref(), Some("SignInLogs"));

        let line = find(&lines, "ropc-signin-001");
        let ropc = auth(&line);
        assert_eq!(ropc.result.as_deref(), Some("success"), "resultType 0");
        assert_eq!(ropc.time.to_rfc3339(), "2025-01-15T09:30:25.123Z");
        assert_eq!(ropc.os.as_deref(), Some("Unknown"));
        assert_eq!(ropc.user_agent.as_deref(), Some("python-requests/2.28.1"));

        let line = find(&lines, "office365-001");
        let office = auth(&line);
        assert_eq!(office.result.as_deref(), Some("success"), "resultType `Success`, no status");

        // Lower-cased keys (`calleripaddress`, `operationname`), service principal sign-in.
        let line = find(&lines, "\"riskLevelDuringSignIn\":\"low\"");
        let sp = auth(&line);
        assert_eq!(sp.user.as_deref(), Some("some-service-principal"));
        assert_eq!(sp.app.as_deref(), Some("some-service-principal"));
        assert_eq!(sp.result.as_deref(), Some("failure"));
        assert_eq!(sp.reason.as_deref(), Some("7000215"));
        assert_eq!(sp.event_type.as_deref(), Some("ServicePrincipalSignInLogs"));
        assert_eq!(sp.time.to_rfc3339(), "2023-07-26T22:58:30.983Z");

        let line = find(&lines, "Authenticated SMTP");
        let legacy = auth(&line);
        assert_eq!(legacy.user.as_deref(), Some("homer.simpson@springfield.org"));
        assert_eq!(legacy.user_name.as_deref(), Some("A User Display Name"));
        assert_eq!(legacy.src_ip.as_deref(), Some("12.12.12.12"));
        assert_eq!(legacy.app.as_deref(), Some("Office 365 Exchange Online"));
        assert_eq!(legacy.user_agent.as_deref(), Some("BAV2ROPC"));
        assert_eq!(legacy.os.as_deref(), Some("MacOs"));
    }

    #[test]
    fn vendor_fields_keep_what_has_no_column() {
        let a = auth(DOCUMENTED.lines().next().unwrap());
        let v = &a.vendor_fields;
        assert_eq!(v.get("id"), Some("66ea54eb-6301-4ee5-be62-ff5a759b8100"));
        assert_eq!(v.get("correlationId"), Some("65b1c1d4-6a7b-4cd0-8dce-7cab8fb63a51"));
        assert_eq!(v.get("userId"), Some("d7cc485d-2c1b-422c-98fd-5ce52859a4a3"));
        assert_eq!(v.get("appId"), Some("de8bc8b5-d9f9-48b1-a8ad-b748da725064"));
        assert_eq!(v.get("resourceDisplayName"), Some("Microsoft Graph"));
        assert_eq!(v.get("resourceId"), Some("00000003-0000-0000-c000-000000000000"));
        assert_eq!(v.get("conditionalAccessStatus"), Some("success"));
        assert_eq!(v.get("location.countryOrRegion"), Some("PT"));
        assert_eq!(v.get("location.city"), Some("Lisbon"));
        assert_eq!(v.get("riskLevelDuringSignIn"), Some("none"));
        assert_eq!(v.get("clientAppUsed"), Some("Browser"));
        assert_eq!(v.get("isInteractive"), Some("true"));
        assert_eq!(v.get("authenticationRequirement"), Some("multiFactorAuthentication"));
        assert_eq!(v.get("deviceDetail.browser"), Some("Safari 18.0"));
        assert_eq!(v.get("deviceDetail.isCompliant"), Some("false"));
        assert_eq!(v.get("mfaDetail.authMethod"), Some("Mobile app notification"));
        assert_eq!(v.get("status.additionalDetails"), Some("MFA requirement satisfied by claim in the token"));
        let named: Value = serde_json::from_str(v.get("networkLocationDetails").unwrap()).unwrap();
        assert_eq!(
            named,
            serde_json::json!([{"networkType": "namedNetwork", "networkNames": ["Lisbon office guest Wi-Fi"]}])
        );
        let policies: Value = serde_json::from_str(v.get("appliedConditionalAccessPolicies").unwrap()).unwrap();
        assert_eq!(policies[0]["displayName"], "Require MFA outside trusted locations");
        // Empty strings, nulls and empty arrays are not values.
        assert_eq!(v.get("deviceDetail.deviceId"), None);
        assert_eq!(v.get("mfaDetail.authDetail"), None);
        assert_eq!(v.get("riskEventTypes_v2"), None);

        // The diagnostic shape: the same names, plus the envelope's.
        let (_, rows) = decode(DOCUMENTED.lines().nth(2).unwrap()).unwrap();
        let Row::Auth(d) = &rows[0] else { panic!("expected auth") };
        let v = &d.vendor_fields;
        assert_eq!(v.get("id"), Some("9c0a4e7b-1f2d-4b3c-8d5e-6f7a8b9c0d1e"));
        assert_eq!(v.get("correlationId"), Some("1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5"), "from the envelope");
        assert_eq!(v.get("tenantId"), Some("72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert_eq!(v.get("operationName"), Some("Sign-in activity"));
        assert_eq!(v.get("location.city"), Some("Coimbra"));
        assert_eq!(v.get("isInteractive"), Some("false"));
        assert_eq!(v.get("deviceDetail.trustType"), Some("Azure AD joined"));
        assert_eq!(v.get("clientAppUsed"), Some("Mobile Apps and Desktop clients"));
        assert!(v.get("networkLocationDetails").unwrap().contains("Coimbra HQ"));
        assert!(v.len() <= 40);

        let lines = panther();
        let line = find(&lines, "\"riskLevelDuringSignIn\":\"low\"");
        let sp = auth(&line);
        assert_eq!(sp.vendor_fields.get("riskLevelDuringSignIn"), Some("low"));
        assert_eq!(sp.vendor_fields.get("servicePrincipalId"), Some("b1c34143-e405-4058-8e29-84596ad737b8"));
        assert_eq!(sp.vendor_fields.get("resourceDisplayName"), Some("Azure Storage"));
        // The envelope's keys are lower-cased here (`operationname`, `correlationid`): the same names.
        assert_eq!(sp.vendor_fields.get("operationName"), Some("Sign-in activity"));
        assert_eq!(
            sp.vendor_fields.get("correlationId"),
            Some("5889315c-c4ac-4807-99da-e17417eae786"),
            "properties first"
        );
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
