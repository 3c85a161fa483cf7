//! `google-workspace`: Google Workspace Admin SDK Reports API activities
//! (`activities.list`, `reports_v1`), one JSON object per line, original or
//! lower-cased keys. Accepted shapes:
//!
//! * the [`activity`] resource: `id.time`, `id.applicationName`, `actor.email`,
//!   `ipAddress`, `events[]` each with `type`, `name` and `parameters[]` of
//!   `name` plus one of `value`, `multiValue`, `boolValue`, `intValue`,
//!   `multiIntValue`, `messageValue`, `multiMessageValue`;
//! * the flattened form several collectors write (Panther, some SIEM
//!   exports): one event per record, `name` / `type` at the top level and
//!   `parameters` as an object of name → value;
//! * a page of `activities.list` (`{"kind": "admin#reports#activities",
//!   "items": [...]}`), one outcome for the whole page.
//!
//! One activity may carry several events; each modelled event is one row
//! (`Parsed(n)`), the others are ignored. An activity with no modelled event
//! is skipped (`google-workspace: event not modelled`).
//!
//! | application / event | class | mapping |
//! |---|---|---|
//! | `login` `login_success` / `login_failure` | `auth` | `result` `success` / `failure`; `reason` = `login_failure_type`; `mfa` from `login_challenge_method` (a second factor among the methods → true, only `password` / `none` → false) or `is_second_factor`; `user` = `actor.email`, else `affected_email_address` |
//! | `saml` `login_success` / `login_failure` (Google as SAML IdP) | `auth` | `app` = `application_name`; `reason` = `failure_type`; `device` = `device_id` |
//! | `token` `authorize` / `revoke` | `oauth` | `action` `authorize` / `revoke`; `client_app` = `app_name`; `client_id` = `client_id`; `scopes` = `scope` (else the `scope_name`s of `scope_data`); `admin_consent` false |
//! | `admin` `AUTHORIZE_API_CLIENT_ACCESS` / `REMOVE_API_CLIENT_ACCESS` (domain-wide delegation) | `oauth` | `action` `grant` / `revoke`; `client_id` = `API_CLIENT_NAME`; `scopes` = `API_SCOPES` (list or comma-separated); `admin_consent` true |
//! | `login` or `user_accounts` `email_forwarding_out_of_domain` | `email` | `kind` `mailbox_forwarding`; `forward_to` = `email_forwarding_destination_address` |
//! | `admin` `CREATE_` / `CHANGE_` / `DELETE_GMAIL_SETTING` (and `*_EMAIL_SETTING`) whose `SETTING_NAME` is a routing setting (contains `ROUT`, `ALIAS`, `FORWARD` or `CONTENT_COMPLIANCE`, or is `MESSAGE_SECURITY_RULE`) | `email` | `kind` `routing_setting`; `rule_name` = `SETTING_NAME`, with `: USER_DEFINED_SETTING_NAME` when there is one; `forward_to` = every address in `NEW_VALUE`; `actor` = `actor.email` |
//!
//! Common columns: `id.time` → `time` (UTC); `{applicationName}.{event name}`
//! → `event_type` (auth, oauth; e.g. `login.login_success`); the event name →
//! `operation` (email); `ipAddress` → `src_ip` (IPv4 / IPv6); `actor.email`
//! → `user`. Audit events record completed actions, so `oauth` and `email`
//! rows have `result` `success`.
//!
//! Fields with no column go into `vendor_fields`: `id.uniqueQualifier`,
//! `id.customerId`, `actor.profileId`, `actor.callerType`, `actor.key`,
//! `actor.applicationInfo.oauthClientId` / `.applicationName` /
//! `.impersonation`, `ownerDomain`, `networkInfo.ipAsn` / `.regionCode` /
//! `.subdivisionCode`, `resourceDetails` (compact JSON), the
//! `ipAddress` when it is not an IP address, the event's `type`, and every
//! parameter of the event whose value is not in a column as
//! `parameters.<name>` (e.g. `parameters.login_type`,
//! `parameters.is_suspicious`, `parameters.client_type`,
//! `parameters.ORG_UNIT_NAME`; multi-values as compact JSON). The parameters a
//! row's columns are read from are not repeated there, except
//! `login_challenge_method` / `is_second_factor` (`mfa` only summarises them)
//! and `NEW_VALUE` (`forward_to` holds only its addresses). The Gmail
//! forwarding disposition is not in the event. Drive `change_user_access`
//! (a file shared with one person: `target_user` → `forward_to`, `doc_title`
//! → `subject`, `kind = file_share`; skipped when `new_value` is `none`, i.e.
//! access removed) becomes an `email` row for PF-07. Other applications and
//! Drive events (`gmail` message logs, `calendar`,
//! ...) and other events (`logout`, `login_challenge`, account warnings, 2SV
//! changes, ...) are skipped.
//!
//! No `id.time`, or one that is not a time: the activity is kept, with the
//! time inferred (`time_inferred`, see `docs/schema.md`). Dead-lettered:
//! invalid JSON, a missing `id.applicationName`, an event that is not an
//! object or has no `name`; in a page, any bad activity dead-letters the
//! page, naming it.
//!
//! [`activity`]: https://developers.google.com/admin-sdk/reports/reference/rest/v1/activities

use serde_json::{Map, Value};

use crate::decode::readers::json;
use crate::decode::readers::json::{decode_batch, keep_paths, time_at};
use crate::decode::readers::text::{clean_ip, mail_addresses};
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{AuthEvent, EmailEvent, EventClass, OauthEvent, Row, Str, Timestamp, VendorFields};

/// Decoder for `google-workspace`.
pub struct GoogleWorkspace;

const NOT_MODELLED: &str = "google-workspace: event not modelled";

/// Activity fields with no column, kept in `vendor_fields` under these names.
const VENDOR_FIELDS: &[&str] = &[
    "id.uniqueQualifier",
    "id.customerId",
    "actor.profileId",
    "actor.callerType",
    "actor.key",
    "actor.applicationInfo.oauthClientId",
    "actor.applicationInfo.applicationName",
    "actor.applicationInfo.impersonation",
    "ownerDomain",
    "networkInfo.ipAsn",
    "networkInfo.regionCode",
    "networkInfo.subdivisionCode",
    "resourceDetails",
];

/// Login challenge methods that are a second factor (or replace the password with one).
const SECOND_FACTORS: &[&str] = &[
    "backup_code",
    "google_authenticator",
    "google_prompt",
    "idv_any_phone",
    "idv_preregistered_phone",
    "internal_two_factor",
    "offline_otp",
    "passkey",
    "security_key",
    "security_key_otp",
    "two_step_verification",
];

/// One event of an activity, parameters normalised to plain JSON values.
struct Event {
    name: Str<'static>,
    /// The event's `type`.
    kind: Option<Str<'static>>,
    params: Vec<(Str<'static>, Value)>,
}

impl Event {
    fn get(&self, name: &str) -> Option<&Value> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    fn text(&self, name: &str) -> Option<Str<'static>> {
        match self.get(name)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone().into()),
            Value::Number(n) => Some(n.to_string().into()),
            Value::Bool(b) => Some(b.to_string().into()),
            _ => None,
        }
    }

    fn list(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) if !s.is_empty() => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect(),
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            _ => Vec::new(),
        }
    }

    fn flag(&self, name: &str) -> Option<bool> {
        match self.get(name)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => json::parse_bool(s),
            _ => None,
        }
    }
}

/// The value of a Reports API parameter, whichever typed field holds it.
fn param_value(p: &Map<String, Value>) -> Value {
    const FIELDS: &[&str] =
        &["value", "multiValue", "boolValue", "intValue", "multiIntValue", "messageValue", "multiMessageValue"];
    FIELDS.iter().find_map(|f| json::get(p, f).cloned()).unwrap_or(Value::Null)
}

fn parameters(v: Option<&Value>) -> Vec<(Str<'static>, Value)> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_object)
            .filter_map(|p| json::str_at(p, &["name"]).map(|n| (n, param_value(p))))
            .collect(),
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (Str::Owned(k.clone()), v.clone())).collect(),
        _ => Vec::new(),
    }
}

fn events(obj: &Map<String, Value>) -> Result<Vec<Event>, DecodeError> {
    if let Some(Value::Array(items)) = json::get(obj, "events") {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let e = item
                .as_object()
                .ok_or_else(|| DecodeError::new(format!("google-workspace: `events[{i}]` is not an object")))?;
            let name = json::str_at(e, &["name"])
                .ok_or_else(|| DecodeError::new(format!("google-workspace: `events[{i}]` has no `name`")))?;
            out.push(Event { name, kind: json::str_at(e, &["type"]), params: parameters(json::get(e, "parameters")) });
        }
        return Ok(out);
    }
    match json::str_at(obj, &["name"]) {
        Some(name) => Ok(vec![Event {
            name,
            kind: json::str_at(obj, &["type"]),
            params: parameters(json::get(obj, "parameters")),
        }]),
        None => Err(DecodeError::new("google-workspace: missing `events` (or a flattened event `name`)")),
    }
}

/// Common fields of an activity.
struct Activity {
    app: Str<'static>,
    time: Timestamp,
    actor: Option<Str<'static>>,
    src_ip: Option<Str<'static>>,
    /// The activity's fields with no column, shared by its rows.
    vendor_fields: VendorFields<'static>,
}

fn vendor() -> Option<Str<'static>> {
    Some("Google".into())
}

fn product() -> Option<Str<'static>> {
    Some("Google Workspace".into())
}

/// The activity's vendor fields, then the event's `type` and its parameters
/// not in `mapped` (their value is in a column) as `parameters.<name>`.
fn vendor_fields(a: &Activity, e: &Event, mapped: &[&str]) -> VendorFields<'static> {
    let mut out = a.vendor_fields.clone();
    if let Some(kind) = &e.kind {
        out.push("type", kind.clone());
    }
    for (name, value) in &e.params {
        if !mapped.iter().any(|m| m.eq_ignore_ascii_case(name)) {
            json::flatten_into(&mut out, format!("parameters.{name}"), value);
        }
    }
    out
}

fn is_routing_setting(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    n.contains("ROUT")
        || n.contains("ALIAS")
        || n.contains("FORWARD")
        || n.contains("CONTENT_COMPLIANCE")
        || n == "MESSAGE_SECURITY_RULE"
}

fn mfa(e: &Event) -> Option<bool> {
    if e.flag("is_second_factor") == Some(true) {
        return Some(true);
    }
    let methods = e.list("login_challenge_method");
    if methods.is_empty() {
        return None;
    }
    Some(methods.iter().any(|m| SECOND_FACTORS.contains(&m.to_ascii_lowercase().as_str())))
}

fn split_scopes(values: Vec<String>) -> Vec<Str<'static>> {
    let mut out: Vec<Str<'static>> = Vec::new();
    for v in values {
        for s in v.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
            if !out.iter().any(|x| x == s) {
                out.push(s.to_string().into());
            }
        }
    }
    out
}

fn scope_data_names(e: &Event) -> Vec<String> {
    let Some(Value::Array(items)) = e.get("scope_data") else { return Vec::new() };
    items
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|m| parameters(json::get(m, "parameter")))
        .filter(|(n, _)| n.eq_ignore_ascii_case("scope_name"))
        .filter_map(|(_, v)| v.as_str().map(str::to_string))
        .collect()
}

/// The row for one event, or `None` when it is not modelled.
fn row(a: &Activity, e: &Event) -> Option<Row<'static>> {
    let app = a.app.to_ascii_lowercase();
    let name = e.name.as_ref();
    let event_type = Some(format!("{}.{}", a.app, e.name).into());
    match (app.as_str(), name) {
        ("login" | "saml", "login_success" | "login_failure") => {
            let failure = name == "login_failure";
            let saml = app == "saml";
            let mut mapped =
                if saml { vec!["application_name", "failure_type", "device_id"] } else { vec!["login_failure_type"] };
            if a.actor.is_none() {
                mapped.push("affected_email_address");
            }
            Some(Row::Auth(AuthEvent {
                time: a.time,
                vendor: vendor(),
                product: product(),
                event_type,
                user: a.actor.clone().or_else(|| e.text("affected_email_address")),
                src_ip: a.src_ip.clone(),
                app: if saml { e.text("application_name") } else { None },
                result: Some(if failure { "failure" } else { "success" }.into()),
                reason: if failure { e.text(if saml { "failure_type" } else { "login_failure_type" }) } else { None },
                mfa: if saml { None } else { mfa(e) },
                device: if saml { e.text("device_id") } else { None },
                vendor_fields: vendor_fields(a, e, &mapped),
                ..Default::default()
            }))
        }
        ("token", "authorize" | "revoke") => {
            let mut scopes = split_scopes(e.list("scope"));
            if scopes.is_empty() {
                scopes = split_scopes(scope_data_names(e));
            }
            Some(Row::Oauth(OauthEvent {
                time: a.time,
                vendor: vendor(),
                product: product(),
                event_type,
                user: a.actor.clone(),
                client_app: e.text("app_name"),
                client_id: e.text("client_id"),
                scopes,
                action: Some(name.to_string().into()),
                admin_consent: Some(false),
                result: Some("success".into()),
                src_ip: a.src_ip.clone(),
                vendor_fields: vendor_fields(a, e, &["app_name", "client_id", "scope", "scope_data"]),
                ..Default::default()
            }))
        }
        ("admin", "AUTHORIZE_API_CLIENT_ACCESS" | "REMOVE_API_CLIENT_ACCESS") => {
            let grant = name == "AUTHORIZE_API_CLIENT_ACCESS";
            Some(Row::Oauth(OauthEvent {
                time: a.time,
                vendor: vendor(),
                product: product(),
                event_type,
                user: a.actor.clone(),
                client_id: e.text("API_CLIENT_NAME"),
                scopes: split_scopes(e.list("API_SCOPES")),
                action: Some(if grant { "grant" } else { "revoke" }.into()),
                admin_consent: Some(true),
                result: Some("success".into()),
                src_ip: a.src_ip.clone(),
                vendor_fields: vendor_fields(a, e, &["API_CLIENT_NAME", "API_SCOPES"]),
                ..Default::default()
            }))
        }
        ("login" | "user_accounts", "email_forwarding_out_of_domain") => {
            let dest = e.text("email_forwarding_destination_address");
            let forward_to = dest.map(|d| {
                let found = mail_addresses(&d);
                if found.is_empty() {
                    vec![d]
                } else {
                    found.into_iter().map(Into::into).collect()
                }
            });
            Some(Row::Email(EmailEvent {
                time: a.time,
                vendor: vendor(),
                product: product(),
                kind: Some("mailbox_forwarding".into()),
                operation: Some(e.name.clone()),
                user: a.actor.clone(),
                forward_to: forward_to.unwrap_or_default(),
                result: Some("success".into()),
                src_ip: a.src_ip.clone(),
                vendor_fields: vendor_fields(a, e, &["email_forwarding_destination_address"]),
                ..Default::default()
            }))
        }
        ("drive", "change_user_access") => {
            // A file or folder shared with one person; `new_value` `none` takes access away.
            let target = e.text("target_user").map(|t| t.trim().to_ascii_lowercase()).filter(|t| t.contains('@'))?;
            if e.text("new_value").is_some_and(|v| v == "none") || e.list("new_value").iter().any(|v| v == "none") {
                return None;
            }
            Some(Row::Email(EmailEvent {
                time: a.time,
                vendor: vendor(),
                product: product(),
                kind: Some("file_share".into()),
                operation: Some(e.name.clone()),
                user: a.actor.clone(),
                subject: e.text("doc_title"),
                forward_to: vec![target.into()],
                result: Some("success".into()),
                src_ip: a.src_ip.clone(),
                vendor_fields: vendor_fields(a, e, &["target_user", "doc_title"]),
                ..Default::default()
            }))
        }
        ("admin", _)
            if (name.ends_with("_GMAIL_SETTING") || name.ends_with("_EMAIL_SETTING"))
                && e.text("SETTING_NAME").is_some_and(|s| is_routing_setting(&s)) =>
        {
            let setting = e.text("SETTING_NAME").unwrap_or_default();
            let rule_name = match e.text("USER_DEFINED_SETTING_NAME") {
                Some(u) => format!("{setting}: {u}").into(),
                None => setting,
            };
            Some(Row::Email(EmailEvent {
                time: a.time,
                vendor: vendor(),
                product: product(),
                kind: Some("routing_setting".into()),
                operation: Some(e.name.clone()),
                user: a.actor.clone(),
                actor: a.actor.clone(),
                rule_name: Some(rule_name),
                forward_to: e
                    .text("NEW_VALUE")
                    .map(|v| mail_addresses(&v).into_iter().map(Into::into).collect())
                    .unwrap_or_default(),
                result: Some("success".into()),
                src_ip: a.src_ip.clone(),
                vendor_fields: vendor_fields(a, e, &["SETTING_NAME", "USER_DEFINED_SETTING_NAME"]),
                ..Default::default()
            }))
        }
        _ => None,
    }
}

fn decode_one(obj: &Map<String, Value>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
    let app = json::str_at(obj, &["id", "applicationName"])
        .ok_or_else(|| DecodeError::new("google-workspace: missing `id.applicationName`"))?;
    // No or an unreadable `id.time`: kept, with the time inferred (`time_inferred`).
    let time = time_at(&[(obj, &["id", "time"])], "google-workspace", "`id.time`").unwrap_or(Timestamp::UNKNOWN);
    let events = events(obj)?;
    let src_ip = json::str_at(obj, &["ipAddress"]).and_then(|ip| clean_ip(&ip));
    let mut vendor_fields = VendorFields::default();
    keep_paths(obj, VENDOR_FIELDS, &mut vendor_fields);
    if src_ip.is_none() {
        // Not an address: kept as logged rather than dropped.
        keep_paths(obj, &["ipAddress"], &mut vendor_fields);
    }
    let activity = Activity { app, time, actor: json::str_at(obj, &["actor", "email"]), src_ip, vendor_fields };
    let before = out.len();
    out.extend(events.iter().filter_map(|e| row(&activity, e)));
    match out.len() - before {
        0 => Ok(DecodeOutcome::Skipped(NOT_MODELLED)),
        n => Ok(DecodeOutcome::Parsed(n)),
    }
}

impl Decoder for GoogleWorkspace {
    fn id(&self) -> &'static str {
        "google-workspace"
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Auth, EventClass::Oauth, EventClass::Email]
    }

    fn decode(&self, record: &[u8], _ctx: RecordContext<'_>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
        let obj = json::parse_object(record_text(record)?)?;
        if let Some(r) = decode_batch(&obj, &["items"], "google-workspace: empty page", out, decode_one) {
            return r;
        }
        decode_one(&obj, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PANTHER: &str = include_str!("../../../../tests/data/vendor/google-workspace/GSuite.ActivityEvent.jsonl");
    const DOCUMENTED: &str =
        include_str!("../../../../tests/data/vendor/google-workspace/google-workspace.documented.jsonl");

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
        let o = GoogleWorkspace.decode(line.as_bytes(), RecordContext::default(), &mut out)?;
        Ok((o, out))
    }

    fn one(line: &str) -> Row<'_> {
        match decode(line).unwrap() {
            (DecodeOutcome::Parsed(1), mut rows) => rows.pop().unwrap(),
            other => panic!("expected one row, got {other:?}"),
        }
    }

    #[test]
    fn login_success_and_failure() {
        let Row::Auth(ok) = one(documented(0)) else { panic!("expected auth") };
        assert_eq!(ok.time.to_rfc3339(), "2026-11-24T08:31:12.402Z");
        assert_eq!(ok.user.as_deref(), Some("dana.kim@example.com"));
        assert_eq!(ok.src_ip.as_deref(), Some("2001:db8:85a3::8a2e:370:7334"));
        assert_eq!(ok.result.as_deref(), Some("success"));
        assert_eq!(ok.mfa, Some(true), "google_authenticator challenge");
        assert_eq!(ok.event_type.as_deref(), Some("login.login_success"));
        assert_eq!(ok.vendor.as_deref(), Some("Google"));
        let Row::Auth(bad) = one(documented(1)) else { panic!("expected auth") };
        assert_eq!(bad.result.as_deref(), Some("failure"));
        assert_eq!(bad.reason.as_deref(), Some("login_failure_invalid_password"));
        assert_eq!(bad.mfa, Some(false), "password only");
        assert_eq!(bad.src_ip.as_deref(), Some("203.0.113.41"));
        let Row::Auth(saml) = one(documented(7)) else { panic!("expected auth") };
        assert_eq!(saml.app.as_deref(), Some("Notion"));
        assert_eq!(saml.result.as_deref(), Some("failure"));
        assert_eq!(saml.reason.as_deref(), Some("failure_app_not_enabled_for_user"));
        assert_eq!(saml.event_type.as_deref(), Some("saml.login_failure"));
    }

    #[test]
    fn token_authorize_and_revoke() {
        let Row::Oauth(o) = one(documented(2)) else { panic!("expected oauth") };
        assert_eq!(o.action.as_deref(), Some("authorize"));
        assert_eq!(o.user.as_deref(), Some("dana.kim@example.com"));
        assert_eq!(o.client_app.as_deref(), Some("Otter.ai"));
        assert_eq!(o.client_id.as_deref(), Some("1087654321098-4tq8h1s0example0otter0ai.apps.googleusercontent.com"));
        assert_eq!(
            o.scopes,
            [
                "https://www.googleapis.com/auth/calendar.readonly",
                "https://www.googleapis.com/auth/gmail.readonly",
                "openid",
                "https://www.googleapis.com/auth/userinfo.email"
            ]
        );
        assert_eq!(o.admin_consent, Some(false));
        assert_eq!(o.time.to_rfc3339(), "2026-11-24T09:02:40.551Z");
        let Row::Oauth(r) = one(documented(3)) else { panic!("expected oauth") };
        assert_eq!(r.action.as_deref(), Some("revoke"));
        assert_eq!(r.scopes, ["https://www.googleapis.com/auth/gmail.readonly"]);
        let Row::Oauth(dwd) = one(documented(6)) else { panic!("expected oauth") };
        assert_eq!(dwd.action.as_deref(), Some("grant"));
        assert_eq!(dwd.admin_consent, Some(true));
        assert_eq!(dwd.client_id.as_deref(), Some("102938475610293847561"));
        assert_eq!(
            dwd.scopes,
            ["https://mail.google.com/", "https://www.googleapis.com/auth/admin.directory.user.readonly"]
        );
        assert_eq!(dwd.user.as_deref(), Some("it.admin@example.com"));
    }

    #[test]
    fn forwarding_and_routing_become_email_rows() {
        let Row::Email(f) = one(documented(4)) else { panic!("expected email") };
        assert_eq!(f.kind.as_deref(), Some("mailbox_forwarding"));
        assert_eq!(f.user.as_deref(), Some("eve.martin@example.com"));
        assert_eq!(f.forward_to, ["eve.martin1988@gmail.com"]);
        assert_eq!(f.operation.as_deref(), Some("email_forwarding_out_of_domain"));
        assert_eq!(f.src_ip.as_deref(), Some("198.51.100.14"));
        // Two events in one activity: the routing rule is modelled, the spam list is not.
        let (o, rows) = decode(documented(5)).unwrap();
        assert_eq!(o, DecodeOutcome::Parsed(1));
        let Row::Email(r) = &rows[0] else { panic!("expected email") };
        assert_eq!(r.kind.as_deref(), Some("routing_setting"));
        assert_eq!(r.rule_name.as_deref(), Some("EMAIL_ROUTE: Copy finance mail"));
        assert_eq!(r.forward_to, ["archive@exfil-example.net"]);
        assert_eq!(r.operation.as_deref(), Some("CREATE_GMAIL_SETTING"));
        assert_eq!(r.actor.as_deref(), Some("it.admin@example.com"));
        assert_eq!(r.time.to_rfc3339(), "2026-11-24T11:20:41.906Z");
        // The Panther corpus' flattened forwarding events have no `id.time`:
        // kept, with the time left for the pipeline to infer.
        for line in panther().iter().filter(|l| l.contains("email_forwarding_out_of_domain")) {
            let (outcome, rows) = decode(line).unwrap();
            assert_eq!((outcome, rows[0].time()), (DecodeOutcome::Parsed(1), Timestamp::UNKNOWN), "{line}");
        }
        // With a time they decode (parameters as an object).
        let flat = r#"{"id":{"applicationName":"login","time":"2022-12-11 01:06:26.303000000"},"actor":{"email":"homer.simpson@springfield.io"},"type":"email_forwarding_change","name":"email_forwarding_out_of_domain","parameters":{"email_forwarding_destination_address":"HSimpsone@gmail.com"}}"#;
        let Row::Email(h) = one(flat) else { panic!("expected email") };
        assert_eq!(h.forward_to, ["HSimpsone@gmail.com"]);
        assert_eq!(h.time.to_rfc3339(), "2022-12-11T01:06:26.303Z");
    }

    #[test]
    fn several_events_give_several_rows_and_pages_are_decoded() {
        let two = r#"{"id":{"applicationName":"token","time":"2026-11-24T09:00:00Z"},"actor":{"email":"a@example.com"},"events":[{"type":"auth","name":"authorize","parameters":[{"name":"client_id","value":"1"},{"name":"scope","multiValue":["openid"]}]},{"type":"auth","name":"request"},{"type":"auth","name":"authorize","parameters":[{"name":"client_id","value":"2"}]}]}"#;
        let (o, rows) = decode(two).unwrap();
        assert_eq!(o, DecodeOutcome::Parsed(2));
        let ids: Vec<_> = rows
            .iter()
            .map(|r| match r {
                Row::Oauth(o) => o.client_id.clone().unwrap(),
                _ => panic!(),
            })
            .collect();
        assert_eq!(ids, ["1", "2"]);
        let (o, rows) = decode(documented(8)).unwrap();
        assert_eq!(o, DecodeOutcome::Parsed(1), "login_success parsed, logout not modelled");
        let Row::Auth(a) = &rows[0] else { panic!() };
        assert_eq!(a.user.as_deref(), Some("ana.pereira@example.com"));
        assert_eq!(a.mfa, None);
        assert_eq!(decode(r#"{"items":[]}"#).unwrap().0, DecodeOutcome::Skipped("google-workspace: empty page"));
    }

    #[test]
    fn panther_corpus_outcomes() {
        let lines = panther();
        // 48 of the corpus' activities have no `id.time`: kept with the time
        // left to infer; only those without any event are still dead-lettered.
        let (mut parsed, mut untimed, mut skipped, mut no_events) = (0, 0, 0, 0);
        for line in &lines {
            match decode(line) {
                Ok((DecodeOutcome::Parsed(_), rows)) => {
                    parsed += 1;
                    untimed += usize::from(rows.iter().all(|r| r.time() == Timestamp::UNKNOWN));
                }
                Ok((DecodeOutcome::Skipped(NOT_MODELLED), _)) => skipped += 1,
                Err(e) if e.reason.contains("missing `events`") => no_events += 1,
                other => panic!("{line}: {other:?}"),
            }
        }
        assert_eq!((parsed, untimed, skipped, no_events), (16, 10, 87, 6));
        // Panther's Drive sharing samples are file shares to their target user (3 of them without a time).
        let mut shares = 0;
        for line in lines.iter().filter(|l| l.contains("change_user_access")) {
            if let Ok((DecodeOutcome::Parsed(_), rows)) = decode(line) {
                let Row::Email(e) = &rows[0] else { panic!("expected email: {line}") };
                assert_eq!(e.kind.as_deref(), Some("file_share"));
                assert_eq!(e.forward_to.len(), 1);
                assert!(line.contains(&format!("\"target_user\":\"{}\"", e.forward_to[0])), "{line}");
                shares += 1;
            }
        }
        assert_eq!(shares, 5);
        let authorize = lines.iter().find(|l| l.contains("SuspiciousThirdPartyApp")).unwrap();
        let Row::Oauth(o) = one(authorize) else { panic!("expected oauth") };
        assert_eq!(o.client_app.as_deref(), Some("SuspiciousThirdPartyApp"));
        assert_eq!(
            o.client_id.as_deref(),
            Some("123456789012-abcdefghijklmnopqrstuvwxyz123456.apps.googleusercontent.com")
        );
        assert_eq!(o.scopes.len(), 4);
        assert!(o.scopes.iter().any(|s| s == "https://www.googleapis.com/auth/admin.directory.user"));
        assert_eq!(o.src_ip.as_deref(), Some("192.0.2.1"));
        assert_eq!(o.time.to_rfc3339(), "2024-01-15T10:30:00.000Z");
        let saml = lines.iter().find(|l| l.contains("Some SAML Application")).unwrap();
        let Row::Auth(s) = one(saml) else { panic!("expected auth") };
        assert_eq!(s.app.as_deref(), Some("Some SAML Application"));
        assert_eq!(s.src_ip.as_deref(), Some("10.10.10.10"));
        assert_eq!(s.time.to_rfc3339(), "2022-05-26T15:26:09.421Z");
        // An e-mail setting that is not about routing is not modelled.
        let marketplace = lines.iter().find(|l| l.contains("ENABLE_G_SUITE_MARKETPLACE")).unwrap();
        assert_eq!(decode(marketplace).unwrap().0, DecodeOutcome::Skipped(NOT_MODELLED));
        // Lower-cased keys decode the same.
        let lower =
            authorize.replace("\"applicationName\"", "\"applicationname\"").replace("\"ipAddress\"", "\"ipaddress\"");
        let Row::Oauth(l) = one(&lower) else { panic!() };
        assert_eq!((l.src_ip, l.client_id), (o.src_ip, o.client_id));
    }

    #[test]
    fn vendor_fields_keep_what_has_no_column() {
        let Row::Auth(ok) = one(documented(0)) else { panic!("expected auth") };
        let v = &ok.vendor_fields;
        assert_eq!(v.get("id.uniqueQualifier"), Some("-4410012378812663801"));
        assert_eq!(v.get("id.customerId"), Some("C03az79cb"));
        assert_eq!(v.get("actor.profileId"), Some("114511147312345678901"));
        assert_eq!(v.get("actor.callerType"), Some("USER"));
        assert_eq!(v.get("ownerDomain"), Some("example.com"));
        assert_eq!(v.get("type"), Some("login"));
        assert_eq!(v.get("parameters.login_type"), Some("google_password"));
        assert_eq!(v.get("parameters.is_suspicious"), Some("false"));
        assert_eq!(v.get("parameters.login_challenge_method"), Some(r#"["password","google_authenticator"]"#));
        assert_eq!(v.get("ipAddress"), None, "an address: in `src_ip`");
        let Row::Auth(bad) = one(documented(1)) else { panic!("expected auth") };
        assert_eq!(bad.vendor_fields.get("parameters.login_failure_type"), None, "in `reason`");

        let Row::Oauth(o) = one(documented(2)) else { panic!("expected oauth") };
        assert_eq!(o.vendor_fields.get("parameters.client_type"), Some("WEB"));
        assert_eq!(o.vendor_fields.get("type"), Some("auth"));
        for mapped in ["client_id", "app_name", "scope", "scope_data"] {
            assert_eq!(o.vendor_fields.get(&format!("parameters.{mapped}")), None, "{mapped}");
        }

        // The routing rule keeps the raw setting and the org unit; the spam-list event has no row.
        let (_, rows) = decode(documented(5)).unwrap();
        let Row::Email(r) = &rows[0] else { panic!("expected email") };
        assert_eq!(r.vendor_fields.get("parameters.ORG_UNIT_NAME"), Some("Finance"));
        assert_eq!(
            r.vendor_fields.get("parameters.NEW_VALUE"),
            Some("Add more recipients: archive@exfil-example.net; Affect: inbound, internal-receiving")
        );
        assert_eq!(r.vendor_fields.get("parameters.SETTING_NAME"), None, "in `rule_name`");
        assert_eq!(r.vendor_fields.get("type"), Some("EMAIL_SETTINGS"));

        let Row::Auth(saml) = one(documented(7)) else { panic!("expected auth") };
        assert_eq!(saml.vendor_fields.get("parameters.initiated_by"), Some("sp"));
        assert_eq!(saml.vendor_fields.get("parameters.orgunit_path"), Some("/Sales"));
        assert_eq!(
            saml.vendor_fields.get("parameters.saml_status_code"),
            Some("urn:oasis:names:tc:SAML:2.0:status:Requester")
        );
        assert_eq!(saml.vendor_fields.get("parameters.application_name"), None, "in `app`");

        // A value that is not an IP address is kept rather than dropped.
        let odd = documented(0).replace("2001:db8:85a3::8a2e:370:7334", "unknown");
        let Row::Auth(u) = one(&odd) else { panic!("expected auth") };
        assert_eq!(u.src_ip, None);
        assert_eq!(u.vendor_fields.get("ipAddress"), Some("unknown"));
    }

    #[test]
    fn malformed_records_are_dead_lettered() {
        assert!(decode("{not json").unwrap_err().reason.contains("invalid JSON"));
        assert!(decode(r#"{"id":{"time":"2026-01-01T00:00:00Z"}}"#).unwrap_err().reason.contains("id.applicationName"));
        // A time that is not one is not malformed: the activity is kept (here
        // with nothing modelled in it, skipped).
        assert_eq!(
            decode(r#"{"id":{"applicationName":"login","time":"noon"},"events":[]}"#).unwrap().0,
            DecodeOutcome::Skipped(NOT_MODELLED)
        );
        assert!(decode(r#"{"id":{"applicationName":"login","time":"2026-01-01T00:00:00Z"}}"#)
            .unwrap_err()
            .reason
            .contains("missing `events`"));
        assert!(decode(
            r#"{"id":{"applicationName":"login","time":"2026-01-01T00:00:00Z"},"events":[{"type":"login"}]}"#
        )
        .unwrap_err()
        .reason
        .contains("`events[0]` has no `name`"));
        assert!(decode(r#"{"id":{"applicationName":"login","time":"2026-01-01T00:00:00Z"},"events":[3]}"#)
            .unwrap_err()
            .reason
            .contains("`events[0]` is not an object"));
        let page = format!(r#"{{"items":[{},{{"id":{{}}}}]}}"#, documented(0));
        let mut out = Vec::new();
        let e = GoogleWorkspace.decode(page.as_bytes(), RecordContext::default(), &mut out).unwrap_err();
        assert!(e.reason.starts_with("items[1]: google-workspace: missing `id.applicationName`"), "{}", e.reason);
        assert!(out.is_empty());
        assert_eq!(
            decode(r#"{"id":{"applicationName":"drive","time":"2026-01-01T00:00:00Z"},"events":[]}"#).unwrap().0,
            DecodeOutcome::Skipped(NOT_MODELLED)
        );
    }

    #[test]
    fn print_normalized_example() {
        // The example in docs/formats/google-workspace.md: `cargo test ... print_normalized_example -- --nocapture`.
        let (_, mut rows) = decode(documented(2)).unwrap();
        // Origin columns as the decode stage sets them for line 1 of the file.
        let source = "file:/var/log/gws/token.jsonl";
        let (id, origin) = (crate::origin::event_id(source, None, 1), crate::origin::origin_string(source, None, 1));
        rows[0].set_origin(&id, &origin, "google-workspace");
        println!("{}", serde_json::to_string_pretty(&rows[0].to_json()).unwrap());
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
            match GoogleWorkspace.decode(&bytes, RecordContext::default(), &mut out) {
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
            match GoogleWorkspace.decode(&mutated, RecordContext::default(), &mut out) {
                Ok(DecodeOutcome::Parsed(n)) => prop_assert_eq!(n, out.len()),
                Ok(DecodeOutcome::Skipped(_)) | Err(_) => prop_assert!(out.is_empty()),
            }
        }
    }
}
