//! `github-webhook`: GitHub App webhook deliveries as they are logged, one
//! JSON object per line, in either of two shapes:
//!
//! * a delivery as GitHub's REST API returns it (`GET /app/hook/deliveries/{id}`,
//!   `GET /orgs/{org}/hooks/{hook_id}/deliveries/{id}`): `id`, `guid`,
//!   `delivered_at`, `event`, `action`, `request` (`headers`, `payload`),
//!   `response`;
//! * a captured HTTP request: `headers` (`X-GitHub-Event`,
//!   `X-GitHub-Delivery`, ...; names in any case, a value or a list of values)
//!   and the webhook payload in `payload` or `body`, a JSON object or a JSON
//!   object as a string.
//!
//! A GitHub App gaining or losing access to the organisation's code is shadow
//! IT to watch, so the App's installation events become `oauth` rows:
//!
//! | event (`X-GitHub-Event`) | `action` | class | `action` column |
//! |---|---|---|---|
//! | `installation` | `created` / `new_permissions_accepted` / `unsuspend` | `oauth` | `grant` |
//! | `installation` | `deleted` / `suspend` | `oauth` | `revoke` |
//! | `installation_repositories` | `added` | `oauth` | `grant` |
//! | `installation_repositories` | `removed` | `oauth` | `revoke` |
//! | `github_app_authorization` (a user revoked their authorization of the App) | `revoked` | `oauth` | `revoke` |
//!
//! | field | column |
//! |---|---|
//! | `delivered_at`, else (`installation` / `installation_repositories`) the payload's `installation.updated_at`, else `installation.created_at` (time text, or epoch seconds) | `time` |
//! | `event` (else the `X-GitHub-Event` header) `.` the payload's `action` (else the delivery's) | `event_type` |
//! | `sender.login` | `user` |
//! | `installation.app_slug` | `client_app` |
//! | `installation.client_id`, else `installation.app_id` as text, else the `X-GitHub-Hook-Installation-Target-ID` header when `X-GitHub-Hook-Installation-Target-Type` is `integration` (the App's id) | `client_id` |
//! | `installation.permissions` as `name:level` | `scopes` |
//! | `installation.account.type` (else `installation.target_type`) is `Organization` or `Enterprise`; false for `github_app_authorization` (one user's own authorization) | `admin_consent` |
//!
//! `result` is `success`: a webhook reports what happened. `vendor_fields`
//! keep: `guid` (else the `X-GitHub-Delivery` header), `delivery_id` (the
//! REST delivery's `id`), `hook_id` (the `X-GitHub-Hook-ID` header),
//! `redelivery`, and from the payload `installation.id`,
//! `installation.account.login`, `installation.account.type`,
//! `installation.repository_selection`, `repository_selection`,
//! `repositories`, `repositories_added`, `repositories_removed` (each the
//! repositories' `full_name`s as a compact JSON array), `requester.login`,
//! `installation.suspended_by.login`, `installation.suspended_at`,
//! `organization.login`, `enterprise.slug`, and `installation.app_id` when the
//! client id came from another field.
//!
//! Skipped: every other event (`push`, `pull_request`, `issues`, `ping`, ...:
//! `github-webhook: event not modelled`) and other actions of the modelled
//! events (`github-webhook: action not modelled`). Dead-lettered: invalid JSON
//! or not a JSON object; no event (no `event` and no `X-GitHub-Event`
//! header); for a modelled event, no payload or one that is not a JSON object,
//! no `action`. No time, or one that is not a time, keeps the row with the
//! time inferred (`time_inferred`, see `docs/schema.md`).

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::github_audit::scopes_of;
use crate::decode::readers::json;
use crate::decode::readers::json::{keep_paths, time_at};
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{EventClass, OauthEvent, Row, Str, Timestamp, VendorFields};

/// Decoder for `github-webhook`.
pub struct GithubWebhook;

const NOT_MODELLED: &str = "github-webhook: event not modelled";
const ACTION_NOT_MODELLED: &str = "github-webhook: action not modelled";
const NO_TIME: &str = "github-webhook: no event time";

/// The payload fields kept in `vendor_fields` under their dotted names.
const PAYLOAD_FIELDS: &[&str] = &[
    "installation.id",
    "installation.account.login",
    "installation.account.type",
    "installation.repository_selection",
    "repository_selection",
    "requester.login",
    "installation.suspended_by.login",
    "installation.suspended_at",
    "organization.login",
    "enterprise.slug",
];

/// The payload's repository lists, kept as their repositories' full names.
const REPOSITORY_LISTS: [&str; 3] = ["repositories", "repositories_added", "repositories_removed"];

/// The `action` column of a modelled event's action, `None` for another action.
fn oauth_action(event: &str, action: &str) -> Option<&'static str> {
    match (event, action) {
        ("installation", "created" | "new_permissions_accepted" | "unsuspend") => Some("grant"),
        ("installation", "deleted" | "suspend") => Some("revoke"),
        ("installation_repositories", "added") => Some("grant"),
        ("installation_repositories", "removed") => Some("revoke"),
        ("github_app_authorization", "revoked") => Some("revoke"),
        _ => None,
    }
}

/// Whether `event` (lower-case) is one of the events [`oauth_action`] models.
fn is_modelled(event: &str) -> bool {
    matches!(event, "installation" | "installation_repositories" | "github_app_authorization")
}

/// The value of request header `name` (matched case-insensitively); of a
/// list of values, as some capture tools write headers, the first.
fn header<'v>(headers: Option<&'v Map<String, Value>>, name: &str) -> Option<&'v Value> {
    match json::get(headers?, name)? {
        Value::Array(values) => values.first(),
        value => Some(value),
    }
}

/// A header's value as non-empty text.
fn header_text(headers: Option<&Map<String, Value>>, name: &str) -> Option<Str<'static>> {
    match header(headers, name)? {
        Value::String(s) if !s.trim().is_empty() => Some(Str::Owned(s.trim().to_string())),
        Value::Number(n) => Some(Str::Owned(n.to_string())),
        _ => None,
    }
}

/// The webhook payload: `payload`, else `body`, a JSON object or one written as a string.
fn payload_of(envelope: &Map<String, Value>) -> Result<Cow<'_, Map<String, Value>>, DecodeError> {
    for key in ["payload", "body"] {
        match json::get(envelope, key) {
            None | Some(Value::Null) => continue,
            Some(Value::Object(payload)) => return Ok(Cow::Borrowed(payload)),
            Some(Value::String(text)) => {
                return json::parse_object(text)
                    .map(Cow::Owned)
                    .map_err(|e| DecodeError::new(format!("github-webhook: `{key}`: {}", e.reason)));
            }
            Some(_) => return Err(DecodeError::new(format!("github-webhook: `{key}` is not a JSON object"))),
        }
    }
    Err(DecodeError::new("github-webhook: no `payload` (or `body`) in the delivery"))
}

/// The event's time: `delivered_at`, else for installation events the
/// installation's `updated_at`, else its `created_at`.
fn time_of(delivery: &Map<String, Value>, event: &str, payload: &Map<String, Value>) -> Result<Timestamp, DecodeError> {
    let sources: [(&Map<String, Value>, &[&str]); 3] = [
        (delivery, &["delivered_at"]),
        (payload, &["installation", "updated_at"]),
        (payload, &["installation", "created_at"]),
    ];
    let sources = if event == "github_app_authorization" { &sources[..1] } else { &sources[..] };
    if sources.iter().all(|(obj, path)| json::str_at(obj, path).is_none()) {
        return Err(DecodeError::new(NO_TIME));
    }
    time_at(sources, "github-webhook", "event time")
}

/// The repositories of a payload list (`repositories_added`, ...) as a JSON array of their full names.
fn repository_names(payload: &Map<String, Value>, key: &str) -> Option<Value> {
    let Some(Value::Array(repos)) = json::get(payload, key) else { return None };
    let names = repos
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|r| json::str_at(r, &["full_name"]).or_else(|| json::str_at(r, &["name"])))
        .map(|name| Value::String(name.into_owned()))
        .collect();
    Some(Value::Array(names))
}

fn decode_delivery(delivery: &Map<String, Value>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
    // A REST delivery holds the request under `request`; a captured request is the request.
    let rest_request = match json::get(delivery, "request") {
        Some(Value::Object(request)) => Some(request),
        _ => None,
    };
    let request = rest_request.unwrap_or(delivery);
    let headers = json::get(request, "headers").and_then(Value::as_object);
    let event = json::str_at(delivery, &["event"])
        .or_else(|| header_text(headers, "X-GitHub-Event"))
        .ok_or_else(|| DecodeError::new("github-webhook: no event (neither `event` nor an `X-GitHub-Event` header)"))?;
    let ev = event.to_ascii_lowercase();
    if !is_modelled(&ev) {
        return Ok(DecodeOutcome::Skipped(NOT_MODELLED));
    }
    let payload = payload_of(request)?;
    let action = json::str_at(&payload, &["action"])
        .or_else(|| json::str_at(delivery, &["action"]))
        .ok_or_else(|| DecodeError::new(format!("github-webhook: `{event}` delivery without `action`")))?;
    let Some(oauth_act) = oauth_action(&ev, &action.to_ascii_lowercase()) else {
        return Ok(DecodeOutcome::Skipped(ACTION_NOT_MODELLED));
    };
    // No or an unreadable time: kept, with the time inferred (`time_inferred`).
    let time = time_of(delivery, &ev, &payload).unwrap_or(Timestamp::UNKNOWN);

    let installation = json::get(&payload, "installation").and_then(Value::as_object);
    let client_id = json::str_at(&payload, &["installation", "client_id"]);
    // With a client id, the App's id has no column: it is kept as a vendor field.
    let keep_app_id = client_id.is_some();
    // An App's own webhook names the App as the hook's target.
    let app_hook = header_text(headers, "X-GitHub-Hook-Installation-Target-Type")
        .is_some_and(|t| t.eq_ignore_ascii_case("integration"));
    let client_id = client_id
        .or_else(|| json::str_at(&payload, &["installation", "app_id"]))
        .or_else(|| app_hook.then(|| header_text(headers, "X-GitHub-Hook-Installation-Target-ID")).flatten());
    let admin_consent = if ev == "github_app_authorization" {
        Some(false)
    } else {
        json::str_at(&payload, &["installation", "account", "type"])
            .or_else(|| json::str_at(&payload, &["installation", "target_type"]))
            .map(|t| t.eq_ignore_ascii_case("organization") || t.eq_ignore_ascii_case("enterprise"))
    };

    let mut vendor_fields = VendorFields::default();
    let guid = json::get(delivery, "guid").or_else(|| header(headers, "X-GitHub-Delivery"));
    let delivery_id = rest_request.and_then(|_| json::get(delivery, "id"));
    let delivery_fields =
        [("guid", guid), ("delivery_id", delivery_id), ("hook_id", header(headers, "X-GitHub-Hook-ID"))];
    for (name, value) in delivery_fields {
        if let Some(value) = value {
            json::flatten_into(&mut vendor_fields, name, value);
        }
    }
    keep_paths(delivery, &["redelivery"], &mut vendor_fields);
    keep_paths(&payload, PAYLOAD_FIELDS, &mut vendor_fields);
    for key in REPOSITORY_LISTS {
        if let Some(names) = repository_names(&payload, key) {
            json::flatten_into(&mut vendor_fields, key, &names);
        }
    }
    if keep_app_id {
        keep_paths(&payload, &["installation.app_id"], &mut vendor_fields);
    }

    out.push(Row::Oauth(OauthEvent {
        time,
        vendor: Some("GitHub".into()),
        product: Some("GitHub webhooks".into()),
        event_type: Some(format!("{event}.{action}").into()),
        user: json::str_at(&payload, &["sender", "login"]),
        client_app: json::str_at(&payload, &["installation", "app_slug"]),
        client_id,
        scopes: installation.map(scopes_of).unwrap_or_default(),
        action: Some(oauth_act.into()),
        admin_consent,
        result: Some("success".into()),
        vendor_fields,
        ..Default::default()
    }));
    Ok(DecodeOutcome::Parsed(1))
}

impl Decoder for GithubWebhook {
    fn id(&self) -> &'static str {
        "github-webhook"
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Oauth]
    }

    fn decode(&self, record: &[u8], _ctx: RecordContext<'_>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
        decode_delivery(&json::parse_object(record_text(record)?)?, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = include_str!("../../../../tests/data/vendor/github/github-webhook.jsonl");

    fn line(i: usize) -> &'static str {
        SAMPLE.lines().nth(i).unwrap()
    }

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row<'_>>), DecodeError> {
        let mut out = Vec::new();
        let o = GithubWebhook.decode(line.as_bytes(), RecordContext::default(), &mut out)?;
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

    /// The columns the brief names, as one comparable tuple.
    type Columns<'r> = (
        &'r str,
        Option<&'r str>,
        Option<&'r str>,
        Option<&'r str>,
        Option<&'r str>,
        Option<bool>,
        Vec<&'r str>,
        String,
    );

    fn columns<'r>(o: &'r OauthEvent<'_>) -> Columns<'r> {
        (
            o.event_type.as_deref().unwrap_or_default(),
            o.user.as_deref(),
            o.client_app.as_deref(),
            o.client_id.as_deref(),
            o.action.as_deref(),
            o.admin_consent,
            o.scopes.iter().map(|s| s.as_ref()).collect(),
            o.time.to_rfc3339(),
        )
    }

    #[test]
    fn rest_deliveries_of_app_installations() {
        // Line 1: `GET /app/hook/deliveries/{id}`, the App installed on the organization.
        let created = oauth(line(0));
        assert_eq!(
            columns(&created),
            (
                "installation.created",
                Some("octo-owner"),
                Some("review-robot"),
                Some("918273"),
                Some("grant"),
                Some(true),
                vec!["checks:write", "contents:read", "metadata:read", "pull_requests:write"],
                "2026-11-30T09:14:03.000Z".to_string(),
            )
        );
        assert_eq!(created.result.as_deref(), Some("success"));
        assert_eq!(created.vendor.as_deref(), Some("GitHub"));
        assert_eq!(created.product.as_deref(), Some("GitHub webhooks"));
        assert_eq!((created.src_ip.as_deref(), created.user_agent.as_deref()), (None, None));

        let removed = oauth(line(3));
        assert_eq!(
            columns(&removed),
            (
                "installation_repositories.removed",
                Some("octo-owner"),
                Some("review-robot"),
                Some("918273"),
                Some("revoke"),
                Some(true),
                vec![
                    "administration:read",
                    "checks:write",
                    "contents:read",
                    "metadata:read",
                    "pull_requests:write",
                    "workflows:write"
                ],
                "2026-11-30T12:30:10.000Z".to_string(),
            )
        );

        // Installed on a user account: no admin consent.
        let deleted = oauth(line(4));
        assert_eq!(
            columns(&deleted),
            (
                "installation.deleted",
                Some("sam-rivera"),
                Some("gist-sync"),
                Some("733101"),
                Some("revoke"),
                Some(false),
                vec!["contents:write", "gists:write", "metadata:read"],
                "2026-11-30T13:45:51.000Z".to_string(),
            )
        );
    }

    #[test]
    fn captured_requests_take_their_time_from_the_installation() {
        // Headers and a payload object; no `delivered_at`: `installation.updated_at`, an offset time.
        let accepted = oauth(line(1));
        assert_eq!(
            columns(&accepted),
            (
                "installation.new_permissions_accepted",
                Some("octo-owner"),
                Some("review-robot"),
                Some("918273"),
                Some("grant"),
                Some(true),
                vec![
                    "administration:read",
                    "checks:write",
                    "contents:read",
                    "metadata:read",
                    "pull_requests:write",
                    "workflows:write"
                ],
                "2026-11-30T10:02:17.000Z".to_string(),
            )
        );
        // Lower-case header names, the payload as a JSON string in `body`, epoch seconds.
        let added = oauth(line(2));
        assert_eq!(
            columns(&added),
            (
                "installation_repositories.added",
                Some("dana-kim"),
                Some("review-robot"),
                Some("918273"),
                Some("grant"),
                Some(true),
                accepted.scopes.iter().map(|s| s.as_ref()).collect(),
                "2026-11-30T11:20:00.000Z".to_string(),
            )
        );
        let suspended = oauth(line(8));
        assert_eq!(
            (suspended.event_type.as_deref(), suspended.action.as_deref(), suspended.admin_consent),
            (Some("installation.suspend"), Some("revoke"), Some(true))
        );
        assert_eq!(suspended.time.to_rfc3339(), "2026-11-30T16:40:05.000Z");
        // Without `updated_at`, `created_at`.
        let mut v: Value = serde_json::from_str(line(1)).unwrap();
        v["payload"]["installation"].as_object_mut().unwrap().remove("updated_at");
        let created_only = v.to_string();
        assert_eq!(oauth(&created_only).time.to_rfc3339(), "2026-11-30T09:14:00.000Z");
    }

    #[test]
    fn revoked_user_authorization() {
        // The payload has only `action` and `sender`: the App is the hook's target (`integration`).
        let revoked = oauth(line(5));
        assert_eq!(
            columns(&revoked),
            (
                "github_app_authorization.revoked",
                Some("dana-kim"),
                None,
                Some("918273"),
                Some("revoke"),
                Some(false),
                vec![],
                "2026-11-30T14:02:44.000Z".to_string(),
            )
        );
        // Another hook target is not the App.
        let org_hook = line(5).replace("\"integration\"", "\"organization\"");
        assert_eq!(oauth(&org_hook).client_id, None);
    }

    #[test]
    fn vendor_fields_keep_the_delivery_and_installation() {
        let created = oauth(line(0));
        let v = &created.vendor_fields;
        assert_eq!(v.get("guid"), Some("5f2a8c10-af3e-11f1-8b1e-3c7d9a1e2b44"));
        assert_eq!(v.get("delivery_id"), Some("91000001"));
        assert_eq!(v.get("hook_id"), Some("498120377"));
        assert_eq!(v.get("redelivery"), Some("false"));
        assert_eq!(v.get("installation.id"), Some("61002001"));
        assert_eq!(v.get("installation.account.login"), Some("example-corp"));
        assert_eq!(v.get("installation.account.type"), Some("Organization"));
        assert_eq!(v.get("installation.repository_selection"), Some("selected"));
        assert_eq!(v.get("repositories"), Some(r#"["example-corp/api","example-corp/web"]"#));
        // In columns, or the time: not repeated.
        for mapped in ["installation.app_id", "installation.app_slug", "delivered_at", "event", "action"] {
            assert_eq!(v.get(mapped), None, "{mapped}");
        }

        // A captured request: the delivery GUID and hook id from the headers (lower-case names here).
        let added = oauth(line(2));
        let v = &added.vendor_fields;
        assert_eq!(v.get("guid"), Some("c4e07b20-af52-11f1-8a3d-5e9b2c7f1d08"));
        assert_eq!(v.get("hook_id"), Some("498120377"));
        assert_eq!(v.get("delivery_id"), None);
        assert_eq!(v.get("repository_selection"), Some("selected"));
        assert_eq!(v.get("repositories_added"), Some(r#"["example-corp/payments"]"#));
        assert_eq!(v.get("repositories_removed"), None, "empty");

        let removed = oauth(line(3));
        assert_eq!(removed.vendor_fields.get("repositories_removed"), Some(r#"["example-corp/web"]"#));
        let suspended = oauth(line(8));
        assert_eq!(suspended.vendor_fields.get("installation.suspended_by.login"), Some("octo-owner"));
        assert_eq!(suspended.vendor_fields.get("installation.suspended_at"), Some("2026-11-30T16:40:05Z"));
        assert_eq!(oauth(line(4)).vendor_fields.get("installation.account.type"), Some("User"));

        // A client id in the installation is the client id; the App id is kept.
        let mut v: Value = serde_json::from_str(line(0)).unwrap();
        v["request"]["payload"]["installation"]["client_id"] = "Iv23liRevRob0t918273".into();
        let with_client_id = v.to_string();
        let o = oauth(&with_client_id);
        assert_eq!(o.client_id.as_deref(), Some("Iv23liRevRob0t918273"));
        assert_eq!(o.vendor_fields.get("installation.app_id"), Some("918273"));
    }

    #[test]
    fn header_names_and_values_as_capture_tools_write_them() {
        // Go's `http.Header` writes each value as a list; names in canonical MIME case.
        let mut v: Value = serde_json::from_str(line(1)).unwrap();
        let headers = v["headers"].as_object_mut().unwrap();
        let canonical: Map<String, Value> =
            headers.iter().map(|(k, val)| (k.replace("GitHub", "Github"), Value::Array(vec![val.clone()]))).collect();
        *headers = canonical;
        let go = v.to_string();
        assert!(go.contains("\"X-Github-Event\":[\"installation\"]"), "{go}");
        let o = oauth(&go);
        assert_eq!(o.event_type.as_deref(), Some("installation.new_permissions_accepted"));
        assert_eq!(o.vendor_fields.get("guid"), Some("a81d3e70-af4b-11f1-9c52-7b1e0d4f6a19"));
        // Every key lower-cased, as collectors write them: the same columns.
        for i in [0, 1, 2, 5] {
            let lower = json::lowercase_keys(line(i));
            assert_eq!(columns(&oauth(&lower)), columns(&oauth(line(i))), "line {}", i + 1);
        }
    }

    #[test]
    fn other_events_are_skipped() {
        // A push delivered to an organization webhook (`GET /orgs/{org}/hooks/{hook_id}/deliveries/{id}`).
        assert_eq!(decode(line(6)).unwrap().0, DecodeOutcome::Skipped(NOT_MODELLED));
        assert_eq!(decode(line(7)).unwrap().0, DecodeOutcome::Skipped(NOT_MODELLED), "ping");
        // Skipped without reading the payload.
        assert_eq!(
            decode(r#"{"headers":{"X-GitHub-Event":"pull_request"},"body":"not json"}"#).unwrap().0,
            DecodeOutcome::Skipped(NOT_MODELLED)
        );
        let other_action = line(0).replace("\"created\"", "\"transferred\"");
        assert_eq!(decode(&other_action).unwrap().0, DecodeOutcome::Skipped(ACTION_NOT_MODELLED));
    }

    #[test]
    fn what_is_dead_lettered() {
        let reason = |l: &str| decode(l).unwrap_err().reason;
        // No time at all (a captured `github_app_authorization` request has
        // none): not dead-lettered, kept for the pipeline to infer a time.
        let (outcome, rows) = decode(line(9)).unwrap();
        assert_eq!((outcome, rows[0].time()), (DecodeOutcome::Parsed(1), Timestamp::UNKNOWN));
        assert_eq!(time_of(&Map::new(), "github_app_authorization", &Map::new()).unwrap_err().reason, NO_TIME);
        // The collector cut the line short.
        assert!(reason(line(10)).starts_with("invalid JSON at line 1 column"), "{}", reason(line(10)));
        assert_eq!(SAMPLE.lines().count(), 11);
        assert_eq!(reason("[1]"), "expected a JSON object, found an array");
        // A bare payload: the event cannot be told.
        let bare = serde_json::from_str::<Value>(line(0)).unwrap()["request"]["payload"].to_string();
        assert_eq!(reason(&bare), "github-webhook: no event (neither `event` nor an `X-GitHub-Event` header)");
        assert_eq!(
            reason(r#"{"headers":{"X-GitHub-Event":"installation"},"body":"{\"action\":"}"#),
            "github-webhook: `body`: invalid JSON at line 1 column 10: EOF while parsing a value at line 1 column 10"
        );
        assert_eq!(
            reason(r#"{"headers":{"X-GitHub-Event":"installation"},"payload":[]}"#),
            "github-webhook: `payload` is not a JSON object"
        );
        assert_eq!(
            reason(r#"{"headers":{"X-GitHub-Event":"installation"}}"#),
            "github-webhook: no `payload` (or `body`) in the delivery"
        );
        assert_eq!(
            reason(r#"{"headers":{"X-GitHub-Event":"installation"},"payload":{"sender":{"login":"x"}}}"#),
            "github-webhook: `installation` delivery without `action`"
        );
        // A time that is not one, or none: kept, with the time left to infer.
        let bad_time = line(0).replace("\"2026-11-30T09:14:03Z\"", "\"soon\"");
        let no_time =
            r#"{"headers":{"X-GitHub-Event":"installation"},"payload":{"action":"created","installation":{"id":1}}}"#;
        for untimed in [bad_time.as_str(), no_time] {
            let (outcome, rows) = decode(untimed).unwrap();
            assert_eq!((outcome, rows[0].time()), (DecodeOutcome::Parsed(1), Timestamp::UNKNOWN), "{untimed}");
        }
    }

    #[test]
    fn sample_outcomes() {
        let outcomes: Vec<String> = SAMPLE
            .lines()
            .map(|l| match decode(l) {
                Ok((DecodeOutcome::Parsed(n), _)) => format!("parsed {n}"),
                Ok((DecodeOutcome::Skipped(r), _)) => format!("skipped: {r}"),
                Err(e) => format!("dead-lettered: {}", e.reason.split(" at ").next().unwrap_or_default()),
            })
            .collect();
        let mut want = vec!["parsed 1"; 6];
        want.extend(["skipped: github-webhook: event not modelled"; 2]);
        want.extend(["parsed 1", "parsed 1", "dead-lettered: invalid JSON"]);
        assert_eq!(outcomes, want);
    }

    #[test]
    fn doc_example_json() {
        let (_, mut rows) = decode(line(0)).unwrap();
        let source = "file:/var/log/github/app-deliveries.jsonl";
        let (id, origin) = (crate::origin::event_id(source, None, 1), crate::origin::origin_string(source, None, 1));
        rows[0].set_origin(&id, &origin, GithubWebhook.id());
        crate::decode::doc_example::check("github-webhook.md", &rows[0].to_json());
    }

    proptest! {
        #[test]
        fn never_panics_and_gives_one_outcome(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            cut in 0usize..3000,
            flip in 0usize..3000,
            byte in any::<u8>(),
        ) {
            let mut out = Vec::new();
            match GithubWebhook.decode(&bytes, RecordContext::default(), &mut out) {
                Ok(DecodeOutcome::Parsed(n)) => prop_assert_eq!(n, out.len()),
                Ok(DecodeOutcome::Skipped(_)) | Err(_) => prop_assert!(out.is_empty()),
            }
            let lines: Vec<&str> = SAMPLE.lines().collect();
            let line = lines[flip % lines.len()].as_bytes();
            let mut mutated = line[..cut.min(line.len())].to_vec();
            if !mutated.is_empty() {
                let i = flip % mutated.len();
                mutated[i] = byte;
            }
            let mut out = Vec::new();
            match GithubWebhook.decode(&mutated, RecordContext::default(), &mut out) {
                Ok(DecodeOutcome::Parsed(n)) => prop_assert_eq!(n, out.len()),
                Ok(DecodeOutcome::Skipped(_)) | Err(_) => prop_assert!(out.is_empty()),
            }
        }
    }
}
