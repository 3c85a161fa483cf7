//! `okta`: Okta System Log events (API `/api/v1/logs`, event hooks, or a
//! SIEM export), one JSON object per line, original or lower-cased keys.
//!
//! A record is one event, or a batch of them:
//!
//! * an **event-hook delivery** (`{"eventType": "com.okta.event_hook", ...,
//!   "data": {"events": [...]}}`, the body Okta POSTs to a hook endpoint) or an
//!   **API page** (the JSON array `GET /api/v1/logs` returns) gives a row per
//!   event. The batch stays one record with one outcome: if any of its events is
//!   malformed, the whole batch is dead-lettered naming the event
//!   (`data.events[1]: okta: missing `eventType``), so replaying it loses and
//!   duplicates nothing; a batch of only unmodelled events is skipped;
//! * an **AWS EventBridge** event from Okta's log streaming (`{"detail-type":
//!   "SystemLog", "detail": {event}}`) is unwrapped to its `detail`.
//!
//! * Sign-ins — `user.session.start`, `user.authentication.*` (SSO, MFA,
//!   verify) — become `auth` rows.
//! * OAuth — `app.oauth2.*consent.grant` (action `consent`),
//!   `*consent.revoke` (`revoke`), `app.oauth2.*token.grant*` (`grant`: a token issued under an existing consent) —
//!   become `oauth` rows.
//! * Every other event type is skipped (`okta: event type not modelled`).
//!
//! | Okta field | column |
//! |---|---|
//! | `published` (none, or not a time: the event is kept with the time inferred, `time_inferred`) | `time` |
//! | `eventType` | `event_type` |
//! | `actor.alternateId` / `actor.displayName` | `user` / `user_name` |
//! | `client.ipAddress` | `src_ip` |
//! | `client.userAgent.rawUserAgent` / `.os` | `user_agent` / `os` |
//! | `client.device` | `device` |
//! | `outcome.result` (`SUCCESS` → `success`, `FAILURE`/`DENY` → `failure`) / `outcome.reason` | `result` / `reason` |
//! | `target[]` of type `AppInstance` (auth) or `PublicClientApp`/`AppInstance` (oauth): `displayName` | `app` / `client_app` |
//! | `debugContext.debugData.clientId` (else the client target's `id`) | `client_id` |
//! | `debugContext.debugData.grantedScopes` / `scopes` (space or comma separated) | `scopes` |
//! | `uuid`, `severity`, `displayMessage`, `legacyEventType`, `actor.id` / `.type`, `client.zone`, `client.userAgent.browser`, `client.geographicalContext.country` / `.state` / `.city` / `.postalCode` / `.geolocation.lat` / `.geolocation.lon`, `authenticationContext.externalSessionId` / `.rootSessionId` / `.authenticationProvider` / `.credentialProvider` / `.credentialType` / `.interface` / `.issuer.id` / `.issuer.type`, `securityContext.asNumber` / `.asOrg` / `.isp` / `.domain` / `.isProxy`, `debugContext.debugData.` `requestId` / `requestUri` / `url` / `threatSuspected` / `risk` / `behaviors` / `factor` / `deviceFingerprint` / `authnRequestId` / `origin`, `transaction.id` / `.type` / `.detail.*`, `request.ipChain` (compact JSON) | `vendor_fields`, under these names (whatever the case of the record's keys) |

use serde_json::{Map, Value};

use crate::decode::readers::json;
use crate::decode::readers::json::{decode_items, keep_paths};
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::time::parse_any;
use crate::schema::{AuthEvent, EventClass, OauthEvent, Row, Str, Timestamp, VendorFields};

/// Decoder for `okta`.
pub struct Okta;

/// Okta fields with no column, kept in `vendor_fields` under these names.
const VENDOR_FIELDS: &[&str] = &[
    "uuid",
    "severity",
    "displayMessage",
    "legacyEventType",
    "actor.id",
    "actor.type",
    "client.zone",
    "client.userAgent.browser",
    "client.geographicalContext.country",
    "client.geographicalContext.state",
    "client.geographicalContext.city",
    "client.geographicalContext.postalCode",
    "client.geographicalContext.geolocation",
    "authenticationContext.externalSessionId",
    "authenticationContext.rootSessionId",
    "authenticationContext.authenticationProvider",
    "authenticationContext.credentialProvider",
    "authenticationContext.credentialType",
    "authenticationContext.interface",
    "authenticationContext.issuer",
    "securityContext.asNumber",
    "securityContext.asOrg",
    "securityContext.isp",
    "securityContext.domain",
    "securityContext.isProxy",
    "debugContext.debugData.requestId",
    "debugContext.debugData.requestUri",
    "debugContext.debugData.url",
    "debugContext.debugData.threatSuspected",
    "debugContext.debugData.risk",
    "debugContext.debugData.behaviors",
    "debugContext.debugData.factor",
    "debugContext.debugData.deviceFingerprint",
    "debugContext.debugData.authnRequestId",
    "debugContext.debugData.origin",
    "transaction.id",
    "transaction.type",
    "transaction.detail",
    "request.ipChain",
];

fn result(r: Option<Str<'static>>) -> Option<Str<'static>> {
    r.map(|r| match r.to_ascii_uppercase().as_str() {
        "SUCCESS" | "ALLOW" => "success".into(),
        "FAILURE" | "DENY" => "failure".into(),
        _ => r.to_ascii_lowercase().into(),
    })
}

/// The first target of one of `types`: (displayName, id).
fn target(obj: &Map<String, Value>, types: &[&str]) -> Option<(Option<Str<'static>>, Option<Str<'static>>)> {
    let Some(Value::Array(targets)) = json::get(obj, "target") else { return None };
    targets.iter().filter_map(Value::as_object).find_map(|t| {
        let ty = json::str_at(t, &["type"])?;
        types
            .iter()
            .any(|x| x.eq_ignore_ascii_case(&ty))
            .then(|| (json::str_at(t, &["displayName"]), json::str_at(t, &["id"])))
    })
}

impl Decoder for Okta {
    fn id(&self) -> &'static str {
        "okta"
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Auth, EventClass::Oauth]
    }

    fn decode(&self, record: &[u8], _ctx: RecordContext<'_>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
        let text = record_text(record)?;
        if text.trim_start().starts_with('[') {
            // One page of `GET /api/v1/logs`, written as the array the API returns.
            let items = json::parse_array(text)?;
            return decode_items("events", &items, "okta: empty array", out, decode_event);
        }
        let obj = json::parse_object(text)?;
        match json::path(&obj, &["data", "events"]) {
            Some(Value::Array(events)) => {
                decode_items("data.events", events, "okta: event hook delivery with no events", out, decode_event)
            }
            _ => match json::get(&obj, "detail") {
                Some(Value::Object(detail)) if json::get(&obj, "eventType").is_none() => decode_event(detail, out),
                _ => decode_event(&obj, out),
            },
        }
    }
}

/// Decode one System Log event.
fn decode_event(obj: &Map<String, Value>, out: &mut Vec<Row<'_>>) -> Result<DecodeOutcome, DecodeError> {
    let event_type = json::str_at(obj, &["eventType"]).ok_or_else(|| DecodeError::new("okta: missing `eventType`"))?;
    // No or an unreadable `published`: kept, with the time inferred (`time_inferred`).
    let time = json::str_at(obj, &["published"]).and_then(|p| parse_any(&p)).unwrap_or(Timestamp::UNKNOWN);
    let et = event_type.to_ascii_lowercase();
    let user = json::str_at(obj, &["actor", "alternateId"]);
    let src_ip = json::str_at(obj, &["client", "ipAddress"]);
    let user_agent = json::str_at(obj, &["client", "userAgent", "rawUserAgent"]);
    let outcome = result(json::str_at(obj, &["outcome", "result"]));
    let vendor = Some("Okta".into());
    let product = Some("Okta System Log".into());
    let mut vendor_fields = VendorFields::default();
    keep_paths(obj, VENDOR_FIELDS, &mut vendor_fields);
    if et == "user.session.start" || et.starts_with("user.authentication.") {
        let mfa = et.contains("mfa") || json::path(obj, &["debugContext", "debugData", "factor"]).is_some();
        out.push(Row::Auth(AuthEvent {
            time,
            vendor,
            product,
            user,
            user_name: json::str_at(obj, &["actor", "displayName"]),
            src_ip,
            app: target(obj, &["AppInstance"]).and_then(|t| t.0),
            result: outcome,
            reason: json::str_at(obj, &["outcome", "reason"]),
            mfa: mfa.then_some(true),
            user_agent,
            os: json::str_at(obj, &["client", "userAgent", "os"]),
            device: json::str_at(obj, &["client", "device"]),
            event_type: Some(event_type),
            vendor_fields,
            ..Default::default()
        }));
        return Ok(DecodeOutcome::Parsed(1));
    }
    if et.starts_with("app.oauth2.") || et.starts_with("user.consent.") {
        let action = if et.contains("consent.grant") {
            "consent"
        } else if et.contains("consent.revoke") {
            "revoke"
        } else if et.contains("token.grant") {
            "grant"
        } else {
            return Ok(DecodeOutcome::Skipped("okta: event type not modelled"));
        };
        let client = target(obj, &["PublicClientApp", "AppInstance", "Client"]);
        let client_id = json::str_at(obj, &["debugContext", "debugData", "clientId"])
            .or_else(|| client.as_ref().and_then(|c| c.1.clone()));
        let scopes = json::str_at(obj, &["debugContext", "debugData", "grantedScopes"])
            .or_else(|| json::str_at(obj, &["debugContext", "debugData", "scopes"]))
            .map(|s| s.split([' ', ',']).filter(|x| !x.is_empty()).map(|x| Str::Owned(x.to_string())).collect())
            .unwrap_or_default();
        out.push(Row::Oauth(OauthEvent {
            time,
            vendor,
            product,
            event_type: Some(event_type),
            user,
            client_app: client.and_then(|c| c.0),
            client_id,
            scopes,
            action: Some(action.into()),
            result: outcome,
            src_ip,
            user_agent,
            vendor_fields,
            ..Default::default()
        }));
        return Ok(DecodeOutcome::Parsed(1));
    }
    Ok(DecodeOutcome::Skipped("okta: event type not modelled"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLES: &str = include_str!("../../../../tests/data/vendor/okta/Okta.SystemLog.jsonl");
    const DEMO: &str = include_str!("../../../../deploy/demo/logs/okta--system-log.log");

    /// The Panther test corpus wraps each Okta event in `{"log": ...}`.
    fn samples() -> Vec<String> {
        SAMPLES
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v.get("log").map(Value::to_string))
            .collect()
    }

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row<'_>>), DecodeError> {
        let mut out = Vec::new();
        let o = Okta.decode(line.as_bytes(), RecordContext::default(), &mut out)?;
        Ok((o, out))
    }

    #[test]
    fn session_start_is_an_auth_row() {
        let line = samples().into_iter().find(|l| l.contains("\"user.session.start\"")).unwrap();
        let (_, rows) = decode(&line).unwrap();
        let Row::Auth(a) = &rows[0] else { panic!("expected auth") };
        assert_eq!(a.user.as_deref(), Some("homer@springfield.gov"));
        assert_eq!(a.user_name.as_deref(), Some("Homer Simpson"));
        assert_eq!(a.src_ip.as_deref(), Some("1.1.1.1"));
        assert_eq!(a.os.as_deref(), Some("Mac OS X"));
        assert_eq!(a.time.to_rfc3339(), "2022-03-22T14:21:53.225Z");
        // Lower-cased keys, as some collectors write them, decode the same.
        let lower_line = line.to_ascii_lowercase();
        let (_, lower) = decode(&lower_line).unwrap();
        let Row::Auth(l) = &lower[0] else { panic!() };
        assert_eq!(l.src_ip, a.src_ip);
    }

    #[test]
    fn consent_grant_is_an_oauth_row() {
        let line = DEMO.lines().find(|l| l.contains("consent.grant")).unwrap();
        let (_, rows) = decode(line).unwrap();
        let Row::Oauth(o) = &rows[0] else { panic!("expected oauth") };
        assert_eq!(o.user.as_deref(), Some("dana.kim@corp.example.com"));
        assert_eq!(o.client_app.as_deref(), Some("Otter.ai"));
        assert_eq!(o.client_id.as_deref(), Some("0oa8otter2026xyz"));
        assert_eq!(o.action.as_deref(), Some("consent"));
        assert!(o.scopes.iter().any(|s| s == "offline_access"));
        assert_eq!(o.result.as_deref(), Some("success"));
    }

    #[test]
    fn vendor_fields_keep_what_has_no_column() {
        let line = samples().into_iter().find(|l| l.contains("casey.hill@hey.com")).unwrap();
        let (_, rows) = decode(&line).unwrap();
        let Row::Auth(a) = &rows[0] else { panic!("expected auth") };
        let v = &a.vendor_fields;
        assert_eq!(v.get("uuid"), Some("aac560bd-f125-11ee-9caa-cd5d09945def"));
        assert_eq!(v.get("severity"), Some("INFO"));
        assert_eq!(v.get("displayMessage"), Some("User login to Okta"));
        assert_eq!(v.get("legacyEventType"), Some("core.user_auth.login_success"));
        assert_eq!(v.get("actor.id"), Some("00ubewfku1EX0WCFk697"));
        assert_eq!(v.get("authenticationContext.externalSessionId"), Some("idxvF50v_5sT2-GOA7_K0Amyw"));
        assert_eq!(v.get("securityContext.asNumber"), Some("7018"));
        assert_eq!(v.get("securityContext.asOrg"), Some("at&t corp."));
        assert_eq!(v.get("securityContext.isp"), Some("att services inc"));
        assert_eq!(v.get("securityContext.domain"), Some("sbcglobal.net"));
        assert_eq!(v.get("securityContext.isProxy"), Some("false"));
        assert_eq!(v.get("client.geographicalContext.country"), Some("United States"));
        assert_eq!(v.get("client.geographicalContext.city"), Some("Atlanta"));
        assert_eq!(v.get("client.geographicalContext.geolocation.lat"), Some("33.9794"));
        assert_eq!(v.get("debugContext.debugData.requestUri"), Some("/idp/idx/challenge/answer"));
        assert_eq!(v.get("debugContext.debugData.threatSuspected"), Some("false"));
        assert_eq!(v.get("transaction.id"), Some("601b158a3b3e23be5bbf74d0fe63cd78"));
        assert_eq!(v.get("transaction.type"), Some("WEB"));
        let chain: Value = serde_json::from_str(v.get("request.ipChain").unwrap()).unwrap();
        assert_eq!(chain[0]["ip"], "99.108.5.25");
        // Mapped fields, `"null"` and empty objects are not repeated.
        assert_eq!(v.get("client.ipAddress"), None);
        assert_eq!(v.get("client.zone"), None);
        assert_eq!(v.get("transaction.detail"), None);
        assert_eq!(a.src_ip.as_deref(), Some("99.108.5.25"));
        assert_eq!(a.app.as_deref(), Some("Okta Dashboard"));
        // Lower-cased keys give the same names.
        let lower_line = line.to_ascii_lowercase();
        let (_, lower) = decode(&lower_line).unwrap();
        let Row::Auth(l) = &lower[0] else { panic!() };
        let names = |v: &VendorFields| v.0.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>();
        assert_eq!(names(&l.vendor_fields), names(v));
        assert_eq!(l.vendor_fields.get("securityContext.asNumber"), Some("7018"));

        let grant = DEMO.lines().find(|l| l.contains("consent.grant")).unwrap();
        let (_, rows) = decode(grant).unwrap();
        let Row::Oauth(o) = &rows[0] else { panic!("expected oauth") };
        assert_eq!(o.vendor_fields.get("uuid"), Some("e0a6"));
        assert_eq!(o.vendor_fields.get("actor.id"), Some("00udana"));
        assert_eq!(o.vendor_fields.get("client.userAgent.browser"), Some("CHROME"));
        assert_eq!(o.vendor_fields.get("debugContext.debugData.clientId"), None, "in `client_id`");
    }

    #[test]
    fn event_hook_delivery_gives_a_row_per_event() {
        let events: Vec<&str> =
            DEMO.lines().filter(|l| l.contains("session.start") || l.contains("consent.grant")).take(3).collect();
        assert_eq!(events.len(), 3);
        let hook = format!(
            r#"{{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1","source":"https://corp.okta.com/api/v1/eventHooks/who8","eventId":"b5a188b9","eventTime":"2026-11-24T08:06:00.000Z","contentType":"application/json","data":{{"events":[{}]}}}}"#,
            events.join(",")
        );
        let (outcome, rows) = decode(&hook).unwrap();
        assert_eq!(outcome, DecodeOutcome::Parsed(3));
        let singly: Vec<String> =
            events.iter().flat_map(|e| decode(e).unwrap().1).map(|r| r.to_json().to_string()).collect();
        assert_eq!(rows.iter().map(|r| r.to_json().to_string()).collect::<Vec<_>>(), singly);
        // Collectors that lower-case keys lower-case the envelope too.
        let (outcome, _) = decode(&hook.to_ascii_lowercase()).unwrap();
        assert_eq!(outcome, DecodeOutcome::Parsed(3));
        // `auto` recognises the delivery as Okta.
        assert_eq!(
            crate::decode::auto::recognise(hook.as_bytes(), RecordContext::default()).map(|d| d.id()),
            Some("okta")
        );

        // One malformed event dead-letters the whole delivery, saying which and why.
        let untyped = events[0].replacen("\"eventType\"", "\"type\"", 1);
        let bad = hook.replacen(events[0], &untyped, 1);
        let err = decode(&bad).unwrap_err();
        assert_eq!(err.reason, "data.events[0]: okta: missing `eventType`");
        // An event without `published` is not malformed: kept, its time left to infer.
        let untimed = hook.replacen("\"published\"", "\"pub\"", 1);
        let (outcome, rows) = decode(&untimed).unwrap();
        assert_eq!(outcome, DecodeOutcome::Parsed(3));
        assert_eq!(rows[0].time(), Timestamp::UNKNOWN);
        assert_ne!(rows[1].time(), Timestamp::UNKNOWN);
        let not_object = hook.replacen("\"events\":[", "\"events\":[7,", 1);
        assert_eq!(decode(&not_object).unwrap_err().reason, "data.events[0]: is not a JSON object");
        // An API page (the array `GET /api/v1/logs` returns) decodes like the delivery.
        let page = format!("[{}]", events.join(","));
        let (outcome, page_rows) = decode(&page).unwrap();
        assert_eq!(outcome, DecodeOutcome::Parsed(3));
        assert_eq!(page_rows.iter().map(|r| r.to_json().to_string()).collect::<Vec<_>>(), singly);
        assert_eq!(decode("[]").unwrap().0, DecodeOutcome::Skipped("okta: empty array"));

        // Only unmodelled events, or none: skipped, not parsed.
        let impersonation = samples().into_iter().find(|l| l.contains("impersonation.grant")).unwrap();
        let only_skipped = format!(r#"{{"eventType":"com.okta.event_hook","data":{{"events":[{impersonation}]}}}}"#);
        assert_eq!(decode(&only_skipped).unwrap().0, DecodeOutcome::Skipped("okta: event type not modelled"));
        let empty = r#"{"eventType":"com.okta.event_hook","data":{"events":[]}}"#;
        assert_eq!(decode(empty).unwrap().0, DecodeOutcome::Skipped("okta: event hook delivery with no events"));
    }

    #[test]
    fn eventbridge_detail_is_unwrapped() {
        let line = DEMO.lines().find(|l| l.contains("consent.grant")).unwrap();
        let wrapped = format!(
            r#"{{"version":"0","id":"4f3e","detail-type":"SystemLog","source":"aws.partner/okta.com/corp/okta-logs","account":"123456789012","time":"2026-11-24T08:06:00Z","region":"eu-west-1","resources":[],"detail":{line}}}"#
        );
        let (outcome, rows) = decode(&wrapped).unwrap();
        assert_eq!(outcome, DecodeOutcome::Parsed(1));
        assert_eq!(rows[0].to_json(), decode(line).unwrap().1[0].to_json());
        assert_eq!(
            crate::decode::auto::recognise(wrapped.as_bytes(), RecordContext::default()).map(|d| d.id()),
            Some("okta")
        );
    }

    #[test]
    fn vendor_fields_are_bounded() {
        let long = "x".repeat(5000);
        let line = format!(
            r#"{{"eventType":"user.session.start","published":"2026-01-01T00:00:00Z","displayMessage":"{long}","transaction":{{"detail":{{{}}}}}}}"#,
            (0..100).map(|i| format!(r#""f{i}":"{i}""#)).collect::<Vec<_>>().join(",")
        );
        let (_, rows) = decode(&line).unwrap();
        let Row::Auth(a) = &rows[0] else { panic!("expected auth") };
        assert_eq!(a.vendor_fields.get("displayMessage").map(str::len), Some(1000));
        assert_eq!(a.vendor_fields.len(), 40);
    }

    #[test]
    fn every_sample_is_parsed_or_skipped_and_junk_rejected() {
        let (mut ok, mut redacted) = (0, 0);
        for line in samples() {
            match decode(&line) {
                // The corpus redacts or omits some timestamps: those events are kept, their time left to infer.
                Ok((_, rows)) => {
                    ok += 1;
                    redacted += usize::from(rows.iter().any(|r| r.time() == Timestamp::UNKNOWN));
                }
                Err(e) => panic!("{line}: {e}"),
            }
        }
        assert!(ok >= 5 && redacted >= 1, "ok {ok}, redacted {redacted}");
        let impersonation = samples().into_iter().find(|l| l.contains("impersonation.grant")).unwrap();
        assert_eq!(decode(&impersonation).unwrap().0, DecodeOutcome::Skipped("okta: event type not modelled"));
        let broken = DEMO.lines().last().unwrap();
        assert!(decode(broken).unwrap_err().reason.contains("invalid JSON"));
        assert!(decode(r#"{"published":"2026-01-01T00:00:00Z"}"#).unwrap_err().reason.contains("eventType"));
        let (_, rows) = decode(r#"{"eventType":"user.session.start","published":"yesterday"}"#).unwrap();
        assert_eq!(rows[0].time(), Timestamp::UNKNOWN, "not a time: left to infer");
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..2000) {
            let _ = Okta.decode(&bytes, RecordContext::default(), &mut Vec::new());
            let line = DEMO.lines().next().unwrap();
            let cut = cut.min(line.len());
            let _ = Okta.decode(&line.as_bytes()[..cut], RecordContext::default(), &mut Vec::new());
        }
    }

    #[test]
    fn doc_example_json() {
        let line = samples().into_iter().find(|l| l.contains("casey.hill@hey.com")).unwrap();
        let (_, mut rows) = decode(&line).unwrap();
        rows[0].set_origin(&crate::origin::event_id("stdin", None, 1), "stdin:1", Okta.id());
        crate::decode::doc_example::check("okta.md", &rows[0].to_json());
    }
}
