//! `github-audit`: GitHub audit log events (organization or enterprise audit
//! log: REST `GET /orgs/{org}/audit-log` / `GET /enterprises/{e}/audit-log`,
//! audit-log streaming to S3 / Azure / Splunk / Datadog, the JSON export of
//! the web UI; GitHub Enterprise Server's audit log through the same API or
//! export, not its syslog forwarding), one JSON object per line, original or
//! lower-cased keys. A line holding a JSON array of events
//! (one REST page) is decoded as a batch with one outcome.
//!
//! | `action` | class | `action` column | `admin_consent` |
//! |---|---|---|---|
//! | `oauth_authorization.create` / `.update` (a user authorized an OAuth app) | `oauth` | `authorize` | false |
//! | `oauth_authorization.destroy` | `oauth` | `revoke` | |
//! | `org.oauth_app_access_requested` (a member who authorized an app asks for organization access) | `oauth` | `consent` | false |
//! | `org.oauth_app_access_approved` (an owner granted the app organization access) | `oauth` | `grant` | true |
//! | `org.oauth_app_access_denied` / `_revoked` / `_blocked` | `oauth` | `revoke` | |
//! | `integration_installation.create` / `.repositories_added` / `.unsuspend` / `.version_updated` (GitHub App installed or its permissions accepted) | `oauth` | `grant` | true when installed on an organization (`org` present) |
//! | `integration_installation.destroy` / `.delete` / `.repositories_removed` / `.suspend` | `oauth` | `revoke` | |
//! | `oauth_application.destroy` / `.revoke_tokens` / `.revoke_all_tokens` | `oauth` | `revoke` | |
//! | `user.login` / `user.two_factor_challenge_success` | `auth` | `result` `success` (`mfa` true for the 2FA event) | |
//! | `user.failed_login` / `user.two_factor_challenge_failure` | `auth` | `result` `failure` | |
//!
//! | field | column |
//! |---|---|
//! | `@timestamp`, else `created_at` (epoch milliseconds, or a time text), else `timestamp` | `time` |
//! | `action` | `event_type` |
//! | `actor`, else `user` | `user` |
//! | `actor_ip` (IPv4 / IPv6) | `src_ip` |
//! | `user_agent` | `user_agent` |
//! | `oauth_application_name`, else `application_name`, else `integration` (GitHub Apps), else `name` (`integration_installation.*` only) | `client_app` |
//! | `oauth_application_client_id`, `application_client_id`, `client_id`, else `oauth_application_id`, `application_id`, `integration_id` (numeric app ids as text) | `client_id` |
//! | `scopes`, else `token_scopes`, else `oauth_scopes` (array, or comma / space separated); `permissions` object of a GitHub App as `name:level` | `scopes` |
//!
//! `result` is `success` for `oauth` rows: the audit log records actions that
//! happened. Every other field of the event goes into `vendor_fields` under
//! its own name: e.g. `_document_id`, `org` / `org_id`, `repo`, `business` /
//! `business_id`, `actor_id`, `actor_location.country_code` (objects as one
//! field per member, arrays as compact JSON), `oauth_application_id` when the
//! client id came from another field, `operation_type`,
//! `programmatic_access_type`, `transport_protocol_name`, `request_id`,
//! `user` when `actor` is the user column, `actor_ip` when it is not an IP
//! address. The time fields (`@timestamp`, `created_at`, `timestamp`) are not
//! repeated there.
//!
//! Skipped: other `oauth_application.*` events (an app registered, renamed or
//! its secret reset by its owner: `github-audit: OAuth app registration
//! change, not a grant`) and every other action (`github-audit: action not
//! modelled`). No time, or one that is not a time, keeps the row with the
//! time inferred (`time_inferred`, see `docs/schema.md`). Dead-lettered:
//! invalid JSON, no `action`; in an array, any bad element dead-letters the
//! array, naming it.

use serde_json::{Map, Value};

use crate::decode::readers::json;
use crate::decode::readers::json::decode_items;
use crate::decode::readers::text::clean_ip;
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::time::{from_epoch_number, parse_any};
use crate::schema::{AuthEvent, EventClass, OauthEvent, Row, Str, Timestamp, VendorFields};

/// Decoder for `github-audit`.
pub struct GithubAudit;

const NOT_MODELLED: &str = "github-audit: action not modelled";
const APP_REGISTRATION: &str = "github-audit: OAuth app registration change, not a grant";

const TIME_KEYS: [&str; 4] = ["@timestamp", "created_at", "at_sign_timestamp", "timestamp"];
const SCOPE_KEYS: [&str; 3] = ["scopes", "token_scopes", "oauth_scopes"];
const CLIENT_ID_KEYS: [&str; 6] = [
    "oauth_application_client_id",
    "application_client_id",
    "client_id",
    "oauth_application_id",
    "application_id",
    "integration_id",
];

fn time_of(obj: &Map<String, Value>) -> Result<Timestamp, DecodeError> {
    for key in TIME_KEYS {
        match json::get(obj, key) {
            None | Some(Value::Null) => continue,
            Some(Value::Number(n)) => {
                return n
                    .as_f64()
                    .map(from_epoch_number)
                    .ok_or_else(|| DecodeError::new(format!("github-audit: `{key}` `{n}` is not a time")));
            }
            Some(Value::String(s)) => {
                return parse_any(s)
                    .ok_or_else(|| DecodeError::new(format!("github-audit: `{key}` `{s}` is not a time")));
            }
            Some(other) => return Err(DecodeError::new(format!("github-audit: `{key}` `{other}` is not a time"))),
        }
    }
    Err(DecodeError::new("github-audit: missing `@timestamp` (or `created_at`)"))
}

/// The first of `keys` with a value: (key, value).
fn first_str(obj: &Map<String, Value>, keys: &[&'static str]) -> Option<(&'static str, Str<'static>)> {
    keys.iter().find_map(|k| json::str_at(obj, &[k]).map(|v| (*k, v)))
}

/// Every field of `obj` but the `mapped` ones (their value is in a column),
/// under its own name.
fn vendor_fields(obj: &Map<String, Value>, mapped: &[&str]) -> VendorFields<'static> {
    let mut out = VendorFields::default();
    for (k, v) in obj {
        if !TIME_KEYS.iter().chain(mapped).any(|m| m.eq_ignore_ascii_case(k)) {
            json::flatten_into(&mut out, k.clone(), v);
        }
    }
    out
}

/// The scopes of an event or of a GitHub App installation: `scopes`, else
/// `token_scopes`, else `oauth_scopes` (array, or comma / space separated),
/// then the `permissions` object as `name:level`; in order, without repeats.
pub(super) fn scopes_of(obj: &Map<String, Value>) -> Vec<Str<'static>> {
    let mut out: Vec<Str<'static>> = Vec::new();
    let mut push = |s: &str| {
        for x in s.split([',', ' ']).map(str::trim).filter(|x| !x.is_empty()) {
            if !out.iter().any(|y| y == x) {
                out.push(x.to_string().into());
            }
        }
    };
    for key in SCOPE_KEYS {
        match json::get(obj, key) {
            Some(Value::String(s)) => push(s),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(&mut push),
            _ => continue,
        }
        break;
    }
    if let Some(Value::Object(perms)) = json::get(obj, "permissions") {
        for (name, level) in perms {
            if let Some(level) = level.as_str() {
                push(&format!("{name}:{level}"));
            }
        }
    }
    out
}

/// (action column, admin consent) for the OAuth-like actions.
fn oauth_action(action: &str, has_org: bool) -> Option<Result<(&'static str, Option<bool>), &'static str>> {
    let (category, op) = action.split_once('.')?;
    let r = match (category, op) {
        ("oauth_authorization", "create" | "update") => ("authorize", Some(false)),
        ("oauth_authorization", "destroy") => ("revoke", None),
        ("org", "oauth_app_access_requested") => ("consent", Some(false)),
        ("org", "oauth_app_access_approved") => ("grant", Some(true)),
        ("org", "oauth_app_access_denied" | "oauth_app_access_revoked" | "oauth_app_access_blocked") => {
            ("revoke", None)
        }
        ("integration_installation", "create" | "repositories_added" | "unsuspend" | "version_updated") => {
            ("grant", Some(has_org))
        }
        ("integration_installation", "destroy" | "delete" | "repositories_removed" | "suspend") => ("revoke", None),
        ("oauth_application", "destroy" | "revoke_tokens" | "revoke_all_tokens") => ("revoke", None),
        ("oauth_application", _) => return Some(Err(APP_REGISTRATION)),
        _ => return None,
    };
    Some(Ok(r))
}

fn decode_one(obj: &Map<String, Value>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
    let action = json::str_at(obj, &["action"]).ok_or_else(|| DecodeError::new("github-audit: missing `action`"))?;
    // No or an unreadable time: kept, with the time inferred (`time_inferred`).
    let time = time_of(obj).unwrap_or(Timestamp::UNKNOWN);
    let act = action.to_ascii_lowercase();
    let user = first_str(obj, &["actor", "user"]);
    let src_ip = json::str_at(obj, &["actor_ip"]).and_then(|ip| clean_ip(&ip));
    let user_agent = json::str_at(obj, &["user_agent"]);
    let vendor = Some("GitHub".into());
    let product = Some("GitHub audit log".into());
    // The fields every row's columns are read from.
    let mut mapped = vec!["action", "user_agent"];
    mapped.extend(user.as_ref().map(|(k, _)| *k));
    if src_ip.is_some() {
        mapped.push("actor_ip");
    }
    let user = user.map(|(_, u)| u);

    let auth = match act.as_str() {
        "user.login" => Some(("success", None)),
        "user.failed_login" => Some(("failure", None)),
        "user.two_factor_challenge_success" => Some(("success", Some(true))),
        "user.two_factor_challenge_failure" => Some(("failure", Some(true))),
        _ => None,
    };
    if let Some((result, mfa)) = auth {
        out.push(Row::Auth(AuthEvent {
            time,
            vendor,
            product,
            event_type: Some(action),
            user,
            src_ip,
            result: Some(result.into()),
            mfa,
            user_agent,
            vendor_fields: vendor_fields(obj, &mapped),
            ..Default::default()
        }));
        return Ok(DecodeOutcome::Parsed(1));
    }

    let has_org = json::str_at(obj, &["org"]).is_some();
    let (oauth_act, admin_consent) = match oauth_action(&act, has_org) {
        Some(Ok(a)) => a,
        Some(Err(skip)) => return Ok(DecodeOutcome::Skipped(skip)),
        None => return Ok(DecodeOutcome::Skipped(NOT_MODELLED)),
    };
    let mut client_app = first_str(obj, &["oauth_application_name", "application_name", "integration"]);
    if client_app.is_none() && act.starts_with("integration_installation.") {
        client_app = json::str_at(obj, &["name"]).map(|n| ("name", n));
    }
    let client_id = first_str(obj, &CLIENT_ID_KEYS);
    mapped.extend(client_app.as_ref().map(|(k, _)| *k));
    mapped.extend(client_id.as_ref().map(|(k, _)| *k));
    mapped.extend(SCOPE_KEYS);
    mapped.push("permissions");
    out.push(Row::Oauth(OauthEvent {
        time,
        vendor,
        product,
        event_type: Some(action),
        user,
        client_app: client_app.map(|(_, v)| v),
        client_id: client_id.map(|(_, v)| v),
        scopes: scopes_of(obj),
        action: Some(oauth_act.into()),
        admin_consent,
        result: Some("success".into()),
        src_ip,
        user_agent,
        vendor_fields: vendor_fields(obj, &mapped),
        ..Default::default()
    }));
    Ok(DecodeOutcome::Parsed(1))
}

impl Decoder for GithubAudit {
    fn id(&self) -> &'static str {
        "github-audit"
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Oauth, EventClass::Auth]
    }

    fn decode(&self, record: &[u8], _ctx: RecordContext<'_>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
        let text = record_text(record)?;
        if text.trim_start().starts_with('[') {
            let items = json::parse_array(text)?;
            return decode_items("events", &items, "github-audit: empty array", out, decode_one);
        }
        decode_one(&json::parse_object(text)?, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PANTHER: &str = include_str!("../../../../tests/data/vendor/github/GitHub.Audit.jsonl");
    const DOCUMENTED: &str = include_str!("../../../../tests/data/vendor/github/github-audit.documented.jsonl");

    fn panther() -> Vec<String> {
        PANTHER
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v.get("log").map(Value::to_string))
            .collect()
    }

    fn documented(i: usize) -> &'static str {
        DOCUMENTED.lines().nth(i).unwrap()
    }

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row<'_>>), DecodeError> {
        let mut out = Vec::new();
        let o = GithubAudit.decode(line.as_bytes(), RecordContext::default(), &mut out)?;
        Ok((o, out))
    }

    fn oauth(line: &str) -> OauthEvent<'_> {
        match decode(line).unwrap() {
            (DecodeOutcome::Parsed(1), mut rows) => match rows.pop() {
                Some(Row::Oauth(o)) => o,
                other => panic!("expected oauth, got {other:?}"),
            },
            other => panic!("expected one row, got {other:?}"),
        }
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

    #[test]
    fn organization_oauth_app_approval_and_request() {
        let approved = oauth(documented(0));
        assert_eq!(approved.time.to_rfc3339(), "2026-11-29T08:00:00.123Z");
        assert_eq!(approved.event_type.as_deref(), Some("org.oauth_app_access_approved"));
        assert_eq!(approved.action.as_deref(), Some("grant"));
        assert_eq!(approved.admin_consent, Some(true));
        assert_eq!(approved.user.as_deref(), Some("octo-owner"));
        assert_eq!(approved.client_app.as_deref(), Some("CircleCI"));
        assert_eq!(approved.client_id.as_deref(), Some("93251"));
        assert_eq!(approved.src_ip.as_deref(), Some("198.51.100.9"));
        assert_eq!(approved.result.as_deref(), Some("success"));
        assert_eq!(approved.vendor.as_deref(), Some("GitHub"));
        let requested = oauth(documented(1));
        assert_eq!(requested.action.as_deref(), Some("consent"));
        assert_eq!(requested.admin_consent, Some(false));
        assert_eq!(requested.user.as_deref(), Some("dana-kim"));
        assert_eq!(requested.src_ip.as_deref(), Some("2001:db8:4a1c:1200::2c"));
    }

    #[test]
    fn user_authorization_and_app_installation() {
        let authz = oauth(documented(2));
        assert_eq!(authz.action.as_deref(), Some("authorize"));
        assert_eq!(authz.client_id.as_deref(), Some("Iv1.8a61f9b3a7aba766"));
        assert_eq!(authz.scopes, ["repo", "read:org", "user:email"]);
        assert_eq!(authz.admin_consent, Some(false));
        assert!(authz.user_agent.as_deref().unwrap().contains("Chrome/131"));
        let install = oauth(documented(3));
        assert_eq!(install.action.as_deref(), Some("grant"));
        assert_eq!(install.client_app.as_deref(), Some("Datadog CI"));
        assert_eq!(install.admin_consent, Some(true));
        assert_eq!(install.time.to_rfc3339(), "2026-11-29T09:00:00.000Z");
        // The Panther sample: time as text, app name in `name`.
        let lines = panther();
        let p = oauth(lines.iter().find(|l| l.contains("integration_installation.create")).unwrap());
        assert_eq!(p.client_app.as_deref(), Some("Datadog CI"));
        assert_eq!(p.user.as_deref(), Some("leetboy"));
        assert_eq!(p.time.to_rfc3339(), "2022-12-02T17:40:08.671Z");
        assert_eq!(p.src_ip, None);
        // Lower-cased keys decode the same.
        let upper = documented(2).replace("\"@timestamp\"", "\"@TIMESTAMP\"").replace("\"actor_ip\"", "\"ACTOR_IP\"");
        let Row::Oauth(l) = &decode(&upper).unwrap().1[0] else { panic!() };
        assert_eq!((l.time, &l.src_ip), (authz.time, &authz.src_ip));
    }

    #[test]
    fn sign_ins() {
        let ok = auth(documented(4));
        assert_eq!(ok.user.as_deref(), Some("dana-kim"));
        assert_eq!(ok.result.as_deref(), Some("success"));
        assert_eq!(ok.src_ip.as_deref(), Some("2001:db8:4a1c:1200::2c"));
        assert_eq!(ok.event_type.as_deref(), Some("user.login"));
        assert_eq!(ok.time.to_rfc3339(), "2026-11-29T06:50:00.000Z");
        let bad = auth(documented(5));
        assert_eq!(bad.result.as_deref(), Some("failure"));
        assert_eq!(bad.src_ip.as_deref(), Some("203.0.113.41"));
    }

    #[test]
    fn vendor_fields_keep_what_has_no_column() {
        let approved = oauth(documented(0));
        let v = &approved.vendor_fields;
        assert_eq!(v.get("_document_id"), Some("Qm9n2xY8kT3aLp0vW1sR4g"));
        assert_eq!(v.get("org"), Some("example-corp"));
        assert_eq!(v.get("org_id"), Some("5001"));
        assert_eq!(v.get("business"), Some("example-corp"));
        assert_eq!(v.get("business_id"), Some("42"));
        assert_eq!(v.get("actor_id"), Some("1001"));
        assert_eq!(v.get("actor_location.country_code"), Some("PT"));
        assert_eq!(v.get("operation_type"), Some("access"));
        assert_eq!(v.get("request_id"), Some("C3B1:7A1E:1F2B3C:2A3B4C:6743D8A0"));
        // In columns, or the time.
        for mapped in [
            "action",
            "actor",
            "actor_ip",
            "user_agent",
            "oauth_application_id",
            "oauth_application_name",
            "@timestamp",
            "created_at",
        ] {
            assert_eq!(v.get(mapped), None, "{mapped}");
        }

        // The client id came from `application_client_id`: the numeric app id is kept; so is `user`.
        let authz = oauth(documented(2));
        assert_eq!(authz.vendor_fields.get("oauth_application_id"), Some("93251"));
        assert_eq!(authz.vendor_fields.get("user"), Some("dana-kim"));
        assert_eq!(authz.vendor_fields.get("scopes"), None);
        assert_eq!(authz.vendor_fields.get("application_client_id"), None);

        let install = oauth(documented(3));
        assert_eq!(install.vendor_fields.get("installation_id"), Some("55501234"));
        assert_eq!(install.vendor_fields.get("repository_selection"), Some("all"));
        assert_eq!(install.vendor_fields.get("integration"), None, "in `client_app`");

        let login = auth(documented(4));
        assert_eq!(login.vendor_fields.get("operation_type"), Some("authentication"));
        assert_eq!(login.vendor_fields.get("actor_location.country_code"), Some("PT"));
        assert_eq!(login.vendor_fields.get("user"), Some("dana-kim"));

        let (_, rows) = decode(documented(7)).unwrap();
        let Row::Oauth(d) = &rows[0] else { panic!() };
        assert_eq!(d.vendor_fields.get("org"), Some("example-corp"));
    }

    #[test]
    fn vendor_fields_are_bounded() {
        let mut event: Value = serde_json::from_str(documented(4)).unwrap();
        let obj = event.as_object_mut().unwrap();
        obj.insert("transport_protocol_name".into(), Value::String("é".repeat(3000)));
        for i in 0..100 {
            obj.insert(format!("zz_extra_{i:03}"), Value::from(i));
        }
        let line = event.to_string();
        let a = auth(&line);
        assert_eq!(a.vendor_fields.len(), 40);
        assert_eq!(a.vendor_fields.get("transport_protocol_name").unwrap().chars().count(), 1000);
    }

    #[test]
    fn skips_batches_and_errors() {
        assert_eq!(decode(documented(6)).unwrap().0, DecodeOutcome::Skipped(APP_REGISTRATION));
        let (o, rows) = decode(documented(7)).unwrap();
        assert_eq!(o, DecodeOutcome::Parsed(1), "denied parsed, repo.create skipped");
        let Row::Oauth(d) = &rows[0] else { panic!() };
        assert_eq!(d.action.as_deref(), Some("revoke"));
        assert_eq!(decode("[]").unwrap().0, DecodeOutcome::Skipped("github-audit: empty array"));
        let mut out = Vec::new();
        let bad = format!("[{}, 5]", documented(0));
        let e = GithubAudit.decode(bad.as_bytes(), RecordContext::default(), &mut out).unwrap_err();
        assert_eq!(e.reason, "events[1]: is not a JSON object");
        assert!(out.is_empty());
        assert!(decode("[1,").unwrap_err().reason.contains("invalid JSON"));
        assert!(decode("{not json").unwrap_err().reason.contains("invalid JSON"));
        assert!(decode(r#"{"actor":"x","created_at":1}"#).unwrap_err().reason.contains("missing `action`"));
        // No time, or one that is not a time: kept, for the pipeline to infer one.
        for untimed in [
            r#"{"action":"user.login"}"#,
            r#"{"action":"user.login","created_at":"later"}"#,
            r#"{"action":"user.login","created_at":true}"#,
        ] {
            let (outcome, rows) = decode(untimed).unwrap();
            assert_eq!(outcome, DecodeOutcome::Parsed(1), "{untimed}");
            assert_eq!(rows[0].time(), Timestamp::UNKNOWN, "{untimed}");
        }
        assert_eq!(
            scopes_of(
                &json::parse_object(r#"{"token_scopes":"repo, workflow","permissions":{"contents":"read","x":1}}"#)
                    .unwrap()
            ),
            ["repo", "workflow", "contents:read"]
        );
    }

    #[test]
    fn panther_corpus_outcomes() {
        // 20 of the corpus' events have no time or an odd one (`"created_at":
        // "2024-12-17 00:00:00000000"`): none is dead-lettered for it any more.
        let (mut parsed, mut skipped, mut untimed) = (0, 0, 0);
        for line in panther() {
            match decode(&line) {
                Ok((DecodeOutcome::Parsed(1), rows)) => {
                    parsed += 1;
                    untimed += usize::from(rows[0].time() == Timestamp::UNKNOWN);
                }
                Ok((DecodeOutcome::Skipped(NOT_MODELLED), _)) => skipped += 1,
                other => panic!("{line}: {other:?}"),
            }
        }
        assert_eq!((parsed, skipped, untimed), (1, 71, 0));
        let disable = panther().into_iter().find(|l| l.contains("org.disable_oauth_app_restrictions")).unwrap();
        assert_eq!(decode(&disable).unwrap().0, DecodeOutcome::Skipped(NOT_MODELLED));
    }

    #[test]
    fn print_normalized_example() {
        // The example in docs/formats/github-audit.md: `cargo test ... print_normalized_example -- --nocapture`.
        let (_, mut rows) = decode(documented(2)).unwrap();
        // Origin columns as the decode stage sets them for line 1 of the file.
        let source = "file:/var/log/github/audit.jsonl";
        let (id, origin) = (crate::origin::event_id(source, None, 1), crate::origin::origin_string(source, None, 1));
        rows[0].set_origin(&id, &origin, "github-audit");
        println!("{}", serde_json::to_string_pretty(&rows[0].to_json()).unwrap());
    }

    proptest! {
        #[test]
        fn never_panics_and_gives_one_outcome(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            cut in 0usize..1500,
            flip in 0usize..1500,
            byte in any::<u8>(),
        ) {
            let mut out = Vec::new();
            match GithubAudit.decode(&bytes, RecordContext::default(), &mut out) {
                Ok(DecodeOutcome::Parsed(n)) => prop_assert_eq!(n, out.len()),
                Ok(DecodeOutcome::Skipped(_)) | Err(_) => prop_assert!(out.is_empty()),
            }
            let lines: Vec<&str> = DOCUMENTED.lines().collect();
            let line = lines[flip % lines.len()].as_bytes();
            let mut mutated = line[..cut.min(line.len())].to_vec();
            if !mutated.is_empty() {
                let i = flip % mutated.len();
                mutated[i] = byte;
            }
            let mut out = Vec::new();
            match GithubAudit.decode(&mutated, RecordContext::default(), &mut out) {
                Ok(DecodeOutcome::Parsed(n)) => prop_assert_eq!(n, out.len()),
                Ok(DecodeOutcome::Skipped(_)) | Err(_) => prop_assert!(out.is_empty()),
            }
        }
    }
}
