//! `entra-audit`: Microsoft Entra ID (Azure AD) audit logs, one JSON object
//! per line, original or lower-cased keys. Accepted shapes:
//!
//! * the Microsoft Graph [`directoryAudit`] resource (`GET /auditLogs/directoryAudits`);
//! * the Azure Monitor diagnostic-settings record (category `AuditLogs`) with
//!   the audit record under `properties`;
//! * the Microsoft 365 unified audit log record of the `AzureActiveDirectory`
//!   workload (Management Activity API, `Search-UnifiedAuditLog` `AuditData`):
//!   `Operation` ending in `.`, `ModifiedProperties` of `Name` / `NewValue`,
//!   `Target` of `ID` / `Type`, `ExtendedProperties` holding `additionalDetails`;
//! * a batch: an Event Hub message `{"records": [...]}` or a Graph page
//!   `{"value": [...]}`, one outcome for the whole batch.
//!
//! Modelled activities become `oauth` rows; every other activity is skipped
//! (`entra-audit: activity not modelled`):
//!
//! | activity | `action` | client (`client_app` / `client_id`) | `scopes` | `admin_consent` |
//! |---|---|---|---|---|
//! | `Consent to application` | `consent` | the `ServicePrincipal` target's `displayName`; `additionalDetails` `AppId`, else the first GUID of `TargetId.ServicePrincipalNames`, else `ClientId` in `ConsentAction.Permissions`, else the target `id` | every `Scope:` after `=>` in `ConsentAction.Permissions` | `ConsentContext.IsAdminConsent` (else `OnBehalfOfAll`, else `ConsentType: AllPrincipals`) |
//! | `Add delegated permission grant`, `Add OAuth2PermissionGrant` | `grant` | `ServicePrincipal.DisplayName` / `ServicePrincipal.AppId`, else the second `ServicePrincipal` target (its object id) | `DelegatedPermissionGrant.Scope` (any `*.Scope` property), split on spaces | `DelegatedPermissionGrant.ConsentType` `AllPrincipals` → true, `Principal` → false |
//! | `Add app role assignment to service principal` (application permission) | `grant` | `ServicePrincipal.DisplayName` / `ServicePrincipal.AppId`, else `ServicePrincipal.ObjectID` | `AppRole.Value` | true (only an administrator can grant application permissions) |
//! | `Add app role assignment grant to user` (a user assigned to an app; `user` is `User.UPN`, else the initiator) | `grant` | `ServicePrincipal.DisplayName` / `ServicePrincipal.AppId`, else `ServicePrincipal.ObjectID` | `AppRole.Value` (empty for the default role) | null |
//!
//! Common columns:
//!
//! | field | column |
//! |---|---|
//! | `activityDateTime` (diagnostic: `properties.activityDateTime`, else `time`; unified log: `CreationTime`, UTC) | `time` |
//! | `activityDisplayName` (diagnostic: else `operationName`; unified log: `Operation`) as logged | `event_type` |
//! | `initiatedBy.user.userPrincipalName`, else `initiatedBy.app.displayName` (unified log: `UserId`) | `user` |
//! | `initiatedBy.user.ipAddress`, else `callerIpAddress` (unified log: `ClientIP` / `ActorIpAddress`) | `src_ip` |
//! | `result` / `ResultStatus` (`success`, `failure`, else lower-cased as logged) | `result` |
//! | `additionalDetails` `User-Agent` | `user_agent` |
//! | `id`, `category`, `correlationId`, `loggedByService`, `operationType`, `resultReason`, `initiatedBy.user.id` / `.displayName`, `initiatedBy.app.appId` / `.servicePrincipalId`; diagnostic record: `tenantId`, `resultSignature`, `correlationId` (when `properties` has none) (unified log: `Id`, `Workload`, `RecordType`, `OrganizationId`, `UserKey`, `UserType`, `ObjectId`, `ActorContextId`, `AzureActiveDirectoryEventType`, `InterSystemsId`) | `vendor_fields`, under these names (properties of the diagnostic record without the `properties.` prefix, as in the Graph shape) |
//! | every modified property whose value is not in a column (the ones the activity's row above reads are), by its new value; every other `additionalDetails` entry (unified log: `ExtendedProperties`) | `vendor_fields` as `modifiedProperties.<name>` / `additionalDetails.<key>`, in every shape |
//!
//! Property values are read from `newValue`, with the JSON string quoting
//! Entra adds (`"\"True\""`) removed. The client id is the application
//! (OAuth client) id when the record carries it; `Add delegated permission
//! grant` usually names only the client's service-principal object id, which
//! is then used. `DelegatedPermissionGrant.Scope` is the grant's full scope
//! list after the change, not only the scopes added.
//!
//! Skipped: other activities, sign-in records (`entra-audit: sign-in record,
//! not an audit record`), empty batches. Dead-lettered: invalid JSON, no
//! activity name, no or unparseable time; in a batch, any bad element
//! dead-letters the whole batch (no rows emitted), naming the element.
//!
//! [`directoryAudit`]: https://learn.microsoft.com/graph/api/resources/directoryaudit

use serde_json::{Map, Value};

use crate::decode::readers::json;
use crate::decode::readers::json::{decode_batch, keep_paths, time_at};
use crate::decode::readers::text::clean_ip;
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{EventClass, OauthEvent, Row, Str, Timestamp, VendorFields};

/// Decoder for `entra-audit`.
pub struct EntraAudit;

const NOT_MODELLED: &str = "entra-audit: activity not modelled";
const SIGN_IN: &str = "entra-audit: sign-in record, not an audit record";

/// Graph / diagnostic fields with no column, kept in `vendor_fields` under these names.
const GRAPH_VENDOR_FIELDS: &[&str] = &[
    "id",
    "category",
    "correlationId",
    "loggedByService",
    "operationType",
    "resultReason",
    "initiatedBy.user.id",
    "initiatedBy.user.displayName",
    "initiatedBy.app.appId",
    "initiatedBy.app.servicePrincipalId",
];

/// Fields of the diagnostic-settings envelope kept in `vendor_fields`.
const DIAGNOSTIC_VENDOR_FIELDS: &[&str] = &["correlationId", "tenantId", "resultSignature"];

/// Unified-audit-log fields with no column, kept in `vendor_fields` under these names.
const UNIFIED_VENDOR_FIELDS: &[&str] = &[
    "Id",
    "Workload",
    "RecordType",
    "OrganizationId",
    "UserKey",
    "UserType",
    "ObjectId",
    "ActorContextId",
    "AzureActiveDirectoryEventType",
    "InterSystemsId",
];

/// `additionalDetails` keys whose value is in a column.
const MAPPED_DETAILS: &[&str] = &["User-Agent", "UserAgent"];

/// A target resource: object id, display name, type.
#[derive(Debug, Default)]
struct Target {
    id: Option<Str<'static>>,
    name: Option<Str<'static>>,
    kind: Option<Str<'static>>,
}

/// An audit record in a shape-independent form.
#[derive(Debug)]
struct Audit {
    activity: Str<'static>,
    time: Timestamp,
    result: Option<Str<'static>>,
    user: Option<Str<'static>>,
    src_ip: Option<Str<'static>>,
    details: Vec<(Str<'static>, Str<'static>)>,
    targets: Vec<Target>,
    /// Modified properties: name → new value (unquoted).
    props: Vec<(Str<'static>, Option<String>)>,
    object_id: Option<Str<'static>>,
    /// The record's own fields with no column (shape-specific names).
    vendor_fields: VendorFields<'static>,
}

impl Audit {
    fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_deref())
            .filter(|v| !v.trim().is_empty())
    }

    fn detail(&self, key: &str) -> Option<&str> {
        self.details
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_ref())
            .filter(|v| !v.is_empty())
    }
}

/// `"\"True\""` → `True`; values that are not a JSON string are kept, trimmed of quotes.
fn unquote(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.as_str(),
        Value::Null => return None,
        other => return Some(other.to_string()),
    };
    let t = s.trim();
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        if let Ok(inner) = serde_json::from_str::<String>(t) {
            return Some(inner);
        }
    }
    Some(t.trim_matches('"').to_string())
}

fn modified_properties(items: Option<&Value>, props: &mut Vec<(Str<'static>, Option<String>)>) {
    let Some(Value::Array(items)) = items else { return };
    for p in items.iter().filter_map(Value::as_object) {
        let name = json::str_at(p, &["displayName"]).or_else(|| json::str_at(p, &["Name"]));
        let value = json::get(p, "newValue").and_then(unquote);
        if let Some(name) = name {
            props.push((name, value));
        }
    }
}

fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() })
}

fn normalise_result(r: Option<Str<'static>>) -> Option<Str<'static>> {
    r.map(|r| match r.to_ascii_lowercase().as_str() {
        "success" | "succeeded" | "true" => "success".into(),
        "failure" | "failed" | "false" => "failure".into(),
        other => other.to_string().into(),
    })
}

/// Read the Graph / diagnostic shape.
fn from_graph(obj: &Map<String, Value>) -> Result<Result<Audit, &'static str>, DecodeError> {
    let (inner, outer) = match json::get(obj, "properties") {
        Some(Value::Object(p)) => (p, Some(obj)),
        _ => (obj, None),
    };
    let category = outer.and_then(|o| json::str_at(o, &["category"])).unwrap_or_default();
    if category.to_ascii_lowercase().contains("signin") {
        return Ok(Err(SIGN_IN));
    }
    let activity = json::str_at(inner, &["activityDisplayName"])
        .or_else(|| outer.and_then(|o| json::str_at(o, &["operationName"])));
    let Some(activity) = activity else {
        if json::get(inner, "createdDateTime").is_some() {
            return Ok(Err(SIGN_IN));
        }
        return Err(DecodeError::new("entra-audit: missing `activityDisplayName`"));
    };
    let mut sources: Vec<(&Map<String, Value>, &[&str])> = vec![(inner, &["activityDateTime"])];
    if let Some(o) = outer {
        sources.push((o, &["time"]));
    }
    let time = time_at(&sources, "entra-audit", "`activityDateTime` (or the diagnostic `time`)")?;
    let mut targets = Vec::new();
    let mut props = Vec::new();
    if let Some(Value::Array(items)) = json::get(inner, "targetResources") {
        for t in items.iter().filter_map(Value::as_object) {
            targets.push(Target {
                id: json::str_at(t, &["id"]),
                name: json::str_at(t, &["displayName"]).or_else(|| json::str_at(t, &["userPrincipalName"])),
                kind: json::str_at(t, &["type"]),
            });
            modified_properties(json::get(t, "modifiedProperties"), &mut props);
        }
    }
    let mut details = Vec::new();
    if let Some(Value::Array(items)) = json::get(inner, "additionalDetails") {
        for d in items.iter().filter_map(Value::as_object) {
            if let (Some(k), Some(v)) = (json::str_at(d, &["key"]), json::str_at(d, &["value"])) {
                details.push((k, v));
            }
        }
    }
    let mut vendor_fields = VendorFields::default();
    keep_paths(inner, GRAPH_VENDOR_FIELDS, &mut vendor_fields);
    if let Some(o) = outer {
        keep_paths(o, DIAGNOSTIC_VENDOR_FIELDS, &mut vendor_fields);
    }
    Ok(Ok(Audit {
        activity,
        time,
        result: normalise_result(
            json::str_at(inner, &["result"]).or_else(|| outer.and_then(|o| json::str_at(o, &["result"]))),
        ),
        user: json::str_at(inner, &["initiatedBy", "user", "userPrincipalName"])
            .or_else(|| json::str_at(inner, &["initiatedBy", "app", "displayName"]))
            .or_else(|| json::str_at(inner, &["initiatedBy", "app", "servicePrincipalName"])),
        src_ip: json::str_at(inner, &["initiatedBy", "user", "ipAddress"])
            .or_else(|| outer.and_then(|o| json::str_at(o, &["callerIpAddress"])))
            .and_then(|ip| clean_ip(&ip)),
        details,
        targets,
        props,
        object_id: None,
        vendor_fields,
    }))
}

/// Read the unified-audit-log shape (`Operation`, `CreationTime`).
fn from_unified(obj: &Map<String, Value>, activity: Str<'static>) -> Result<Audit, DecodeError> {
    let time = time_at(&[(obj, &["CreationTime"])], "entra-audit", "`CreationTime`")?;
    let mut props = Vec::new();
    modified_properties(json::get(obj, "ModifiedProperties"), &mut props);
    let mut targets = Vec::new();
    if let Some(Value::Array(items)) = json::get(obj, "Target") {
        for t in items.iter().filter_map(Value::as_object) {
            let id = json::str_at(t, &["ID"]);
            // Type 1 is a display name; the others are ids of several kinds.
            if json::i64_at(t, &["Type"]) == Some(1) {
                targets.push(Target { name: id, ..Default::default() });
            } else {
                targets.push(Target { id, kind: json::str_at(t, &["Type"]), ..Default::default() });
            }
        }
    }
    let mut details = Vec::new();
    if let Some(Value::Array(items)) = json::get(obj, "ExtendedProperties") {
        for p in items.iter().filter_map(Value::as_object) {
            let (Some(name), Some(value)) = (json::str_at(p, &["Name"]), json::str_at(p, &["Value"])) else { continue };
            if name.eq_ignore_ascii_case("additionalDetails") {
                if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&value) {
                    details.extend(
                        m.iter().filter_map(|(k, v)| {
                            v.as_str().map(|v| (Str::Owned(k.clone()), Str::Owned(v.to_string())))
                        }),
                    );
                }
            } else {
                details.push((name, value));
            }
        }
    }
    let mut vendor_fields = VendorFields::default();
    keep_paths(obj, UNIFIED_VENDOR_FIELDS, &mut vendor_fields);
    Ok(Audit {
        activity,
        time,
        result: normalise_result(json::str_at(obj, &["ResultStatus"])),
        user: json::str_at(obj, &["UserId"]),
        src_ip: json::str_at(obj, &["ClientIP"])
            .or_else(|| json::str_at(obj, &["ActorIpAddress"]))
            .and_then(|ip| clean_ip(&ip)),
        details,
        targets,
        props,
        object_id: json::str_at(obj, &["ObjectId"]),
        vendor_fields,
    })
}

/// Every scope granted in a `ConsentAction.Permissions` value: the text after
/// `=>` (the state after the change), each `Scope:` up to the next `,` or `]`.
fn consent_scopes(permissions: &str) -> Vec<String> {
    let after = permissions.split_once("=>").map_or(permissions, |(_, a)| a);
    let mut scopes: Vec<String> = Vec::new();
    for piece in after.split("Scope:").skip(1) {
        let end = piece.find([',', ']']).unwrap_or(piece.len());
        for s in piece[..end].split_whitespace() {
            if !scopes.iter().any(|x| x == s) {
                scopes.push(s.to_string());
            }
        }
    }
    scopes
}

/// `ClientId: <guid>` in a `ConsentAction.Permissions` value (a service-principal object id).
fn permissions_client_id(permissions: &str) -> Option<String> {
    let after = permissions.split_once("=>").map_or(permissions, |(_, a)| a);
    let rest = after.split_once("ClientId:")?.1.trim_start();
    let id: String = rest.chars().take_while(|c| c.is_ascii_hexdigit() || *c == '-').collect();
    is_guid(&id).then_some(id)
}

fn split_scopes(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for x in s.split_whitespace() {
        if !out.iter().any(|y| y == x) {
            out.push(x.to_string());
        }
    }
    out
}

fn owned(s: &str) -> Str<'static> {
    Str::Owned(s.to_string())
}

fn oauth_row(a: &Audit, out: &mut Vec<Row>) -> DecodeOutcome {
    let act = a.activity.trim().trim_end_matches('.').to_ascii_lowercase();
    let sp_targets =
        || a.targets.iter().filter(|t| t.kind.as_deref().is_some_and(|k| k.eq_ignore_ascii_case("ServicePrincipal")));
    // `mapped`: the modified properties and additional details the columns are read from.
    let (action, client_app, client_id, scopes, admin_consent, mapped) = match act.as_str() {
        "consent to application" => {
            let target = sp_targets().next().or_else(|| a.targets.iter().find(|t| t.name.is_some()));
            let client_app =
                target.and_then(|t| t.name.clone()).or_else(|| a.targets.iter().find_map(|t| t.name.clone()));
            let permissions = a.prop("ConsentAction.Permissions").unwrap_or_default();
            let client_id = a
                .detail("AppId")
                .map(owned)
                .or_else(|| {
                    a.prop("TargetId.ServicePrincipalNames")
                        .and_then(|n| n.split(';').map(str::trim).find(|x| is_guid(x)).map(owned))
                })
                .or_else(|| permissions_client_id(permissions).map(Into::into))
                .or_else(|| target.and_then(|t| t.id.clone()))
                .or_else(|| a.object_id.clone());
            let admin = a
                .prop("ConsentContext.IsAdminConsent")
                .and_then(json::parse_bool)
                .or_else(|| a.prop("ConsentContext.OnBehalfOfAll").and_then(json::parse_bool))
                .or_else(|| permissions.contains("ConsentType: AllPrincipals").then_some(true));
            let mapped = vec![
                "ConsentAction.Permissions",
                "ConsentContext.IsAdminConsent",
                "ConsentContext.OnBehalfOfAll",
                "AppId",
            ];
            ("consent", client_app, client_id, consent_scopes(permissions), admin, mapped)
        }
        "add delegated permission grant" | "add oauth2permissiongrant" => {
            let scope_prop =
                a.prop("DelegatedPermissionGrant.Scope").map(|s| ("DelegatedPermissionGrant.Scope", s)).or_else(|| {
                    a.props
                        .iter()
                        .find(|(n, v)| n.to_ascii_lowercase().ends_with(".scope") && v.is_some())
                        .and_then(|(n, v)| Some((n.as_ref(), v.as_deref()?)))
                });
            let resource_id = a.targets.first().and_then(|t| t.id.clone());
            let client_target = sp_targets().skip(1).find(|t| t.id != resource_id);
            let client_app = a
                .prop("ServicePrincipal.DisplayName")
                .map(owned)
                .or_else(|| client_target.and_then(|t| t.name.clone()));
            let client_id = a
                .prop("ServicePrincipal.AppId")
                .map(owned)
                .or_else(|| a.prop("ServicePrincipal.ObjectID").map(owned))
                .or_else(|| client_target.and_then(|t| t.id.clone()));
            let admin = match a.prop("DelegatedPermissionGrant.ConsentType").map(str::to_ascii_lowercase).as_deref() {
                Some("allprincipals") => Some(true),
                Some("principal") => Some(false),
                _ => None,
            };
            let mut mapped = vec![
                "ServicePrincipal.DisplayName",
                "ServicePrincipal.AppId",
                "ServicePrincipal.ObjectID",
                "DelegatedPermissionGrant.ConsentType",
            ];
            mapped.extend(scope_prop.map(|(n, _)| n));
            (
                "grant",
                client_app,
                client_id,
                scope_prop.map(|(_, s)| split_scopes(s)).unwrap_or_default(),
                admin,
                mapped,
            )
        }
        "add app role assignment to service principal" => {
            let client_app = a.prop("ServicePrincipal.DisplayName").map(owned);
            let client_id = a.prop("ServicePrincipal.AppId").or_else(|| a.prop("ServicePrincipal.ObjectID")).map(owned);
            let scopes = a.prop("AppRole.Value").map(split_scopes).unwrap_or_default();
            let mapped = vec![
                "ServicePrincipal.DisplayName",
                "ServicePrincipal.AppId",
                "ServicePrincipal.ObjectID",
                "AppRole.Value",
            ];
            ("grant", client_app, client_id, scopes, Some(true), mapped)
        }
        "add app role assignment grant to user" => {
            // A user assigned to an application (user consent writes one for the app's default role).
            let client_app = a.prop("ServicePrincipal.DisplayName").map(owned);
            let client_id = a.prop("ServicePrincipal.AppId").or_else(|| a.prop("ServicePrincipal.ObjectID")).map(owned);
            let scopes = a.prop("AppRole.Value").map(split_scopes).unwrap_or_default();
            let mapped = vec![
                "ServicePrincipal.DisplayName",
                "ServicePrincipal.AppId",
                "ServicePrincipal.ObjectID",
                "AppRole.Value",
                "User.UPN",
            ];
            ("grant", client_app, client_id, scopes, None, mapped)
        }
        _ => return DecodeOutcome::Skipped(NOT_MODELLED),
    };
    let mut vendor_fields = a.vendor_fields.clone();
    let is_mapped = |name: &str| mapped.iter().chain(MAPPED_DETAILS).any(|m| m.eq_ignore_ascii_case(name));
    for (name, value) in &a.props {
        if let Some(v) = value.as_deref().filter(|_| !is_mapped(name)) {
            json::flatten_into(&mut vendor_fields, format!("modifiedProperties.{name}"), &Value::String(v.to_string()));
        }
    }
    for (key, value) in &a.details {
        if !is_mapped(key) {
            json::flatten_into(
                &mut vendor_fields,
                format!("additionalDetails.{key}"),
                &Value::String(value.to_string()),
            );
        }
    }
    out.push(Row::Oauth(OauthEvent {
        time: a.time,
        vendor: Some("Microsoft".into()),
        product: Some("Microsoft Entra ID".into()),
        event_type: Some(a.activity.clone()),
        // An app role assignment names the user it grants to; everything else, who acted.
        user: (act == "add app role assignment grant to user")
            .then(|| a.prop("User.UPN").map(owned))
            .flatten()
            .or_else(|| a.user.clone()),
        client_app,
        client_id,
        scopes: scopes.into_iter().map(Into::into).collect(),
        action: Some(action.into()),
        admin_consent,
        result: a.result.clone(),
        src_ip: a.src_ip.clone(),
        user_agent: a.detail("User-Agent").or_else(|| a.detail("UserAgent")).map(owned),
        vendor_fields,
        ..Default::default()
    }));
    DecodeOutcome::Parsed(1)
}

pub(crate) fn decode_one(obj: &Map<String, Value>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
    let unified_op = if json::get(obj, "activityDisplayName").is_none() && json::get(obj, "properties").is_none() {
        json::str_at(obj, &["Operation"])
    } else {
        None
    };
    let audit = match unified_op {
        Some(op) => from_unified(obj, op)?,
        None => match from_graph(obj)? {
            Ok(a) => a,
            Err(skip) => return Ok(DecodeOutcome::Skipped(skip)),
        },
    };
    Ok(oauth_row(&audit, out))
}

impl Decoder for EntraAudit {
    fn id(&self) -> &'static str {
        "entra-audit"
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Oauth]
    }

    fn decode(&self, record: &[u8], _ctx: RecordContext<'_>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
        let obj = json::parse_object(record_text(record)?)?;
        if let Some(r) = decode_batch(&obj, &["records", "value"], "entra-audit: empty batch", out, decode_one) {
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
    const PANTHER_UAL: &str =
        include_str!("../../../../tests/data/vendor/entra/Microsoft365.Audit.AzureActiveDirectory.jsonl");
    const DOCUMENTED: &str = include_str!("../../../../tests/data/vendor/entra/entra-audit.documented.jsonl");
    const SIGNINS: &str = include_str!("../../../../tests/data/vendor/entra/entra-signin.documented.jsonl");

    fn panther(text: &str) -> Vec<String> {
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v.get("log").map(Value::to_string))
            .collect()
    }

    fn documented(i: usize) -> &'static str {
        DOCUMENTED.lines().nth(i).unwrap()
    }

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row<'_>>), DecodeError> {
        let mut out = Vec::new();
        let o = EntraAudit.decode(line.as_bytes(), RecordContext::default(), &mut out)?;
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

    #[test]
    fn user_consent_to_application() {
        let o = oauth(documented(0));
        assert_eq!(o.time.to_rfc3339(), "2026-11-24T10:02:17.560Z");
        assert_eq!(o.event_type.as_deref(), Some("Consent to application"));
        assert_eq!(o.action.as_deref(), Some("consent"));
        assert_eq!(o.user.as_deref(), Some("dana.kim@contoso.com"));
        assert_eq!(o.client_app.as_deref(), Some("Otter.ai"));
        assert_eq!(o.client_id.as_deref(), Some("388b9dd8-d98f-46f3-8eed-4418346e5673"));
        assert_eq!(o.scopes, ["openid", "profile", "offline_access", "User.Read", "Mail.Read", "Calendars.Read"]);
        assert_eq!(o.admin_consent, Some(false));
        assert_eq!(o.result.as_deref(), Some("success"));
        assert_eq!(o.src_ip.as_deref(), Some("203.0.113.77"));
        assert_eq!(o.user_agent.as_deref(), Some("EvoSTS"));
    }

    #[test]
    fn admin_consent_and_the_grants_it_writes() {
        let consent = oauth(documented(1));
        assert_eq!(consent.admin_consent, Some(true));
        assert_eq!(consent.user.as_deref(), Some("it.admin@contoso.com"));
        assert_eq!(consent.client_app.as_deref(), Some("Acme Mail Archiver"));
        assert_eq!(consent.client_id.as_deref(), Some("c2b7a4f1-6e3d-4b9a-8f0c-1d2e3f4a5b6c"));
        assert_eq!(consent.scopes, ["Mail.ReadWrite", "Files.Read.All", "offline_access"]);

        let delegated = oauth(documented(2));
        assert_eq!(delegated.action.as_deref(), Some("grant"));
        assert_eq!(delegated.event_type.as_deref(), Some("Add delegated permission grant"));
        assert_eq!(delegated.scopes, ["Mail.ReadWrite", "Files.Read.All", "offline_access"]);
        assert_eq!(delegated.admin_consent, Some(true), "ConsentType AllPrincipals");
        assert_eq!(delegated.client_app, None, "the record does not name the client");
        assert_eq!(
            delegated.client_id.as_deref(),
            Some("9e2d4c6b-8a0f-4e1d-b3c5-7a9f1e3d5b70"),
            "service principal object id"
        );
        assert_eq!(delegated.time.to_rfc3339(), "2026-11-24T11:40:03.096Z");

        let app_role = oauth(documented(3));
        assert_eq!(app_role.action.as_deref(), Some("grant"));
        assert_eq!(app_role.scopes, ["Mail.Read"]);
        assert_eq!(app_role.client_app.as_deref(), Some("Acme Mail Archiver"));
        assert_eq!(app_role.client_id.as_deref(), Some("c2b7a4f1-6e3d-4b9a-8f0c-1d2e3f4a5b6c"));
        assert_eq!(app_role.admin_consent, Some(true));
        assert!(app_role.user_agent.as_deref().unwrap().contains("Edg/"));
    }

    #[test]
    fn the_same_consent_in_every_shape_gives_the_same_row() {
        let graph = oauth(documented(0));
        for (shape, line) in [("diagnostic", documented(4)), ("unified audit log", documented(5))] {
            let o = oauth(line);
            // The unified audit log keeps whole seconds.
            assert_eq!(o.time.micros() / 1_000_000, graph.time.micros() / 1_000_000, "{shape}");
            assert_eq!(o.user, graph.user, "{shape}");
            assert_eq!(o.client_app, graph.client_app, "{shape}");
            assert_eq!(o.client_id, graph.client_id, "{shape}");
            assert_eq!(o.scopes, graph.scopes, "{shape}");
            assert_eq!(o.admin_consent, graph.admin_consent, "{shape}");
            assert_eq!(o.src_ip, graph.src_ip, "{shape}");
            assert_eq!(o.result, graph.result, "{shape}");
            assert_eq!(o.user_agent, graph.user_agent, "{shape}");
        }
        assert_eq!(oauth(documented(5)).event_type.as_deref(), Some("Consent to application."));
        // Lower-cased keys decode the same (values keep their case here).
        let lower = json::lowercase_keys(documented(0));
        assert_eq!(oauth(&lower).scopes, graph.scopes);
        assert_eq!(oauth(&lower).client_id, graph.client_id);
        // An Event Hub batch of audit records.
        let batch = format!(r#"{{"records":[{},{}]}}"#, documented(4), documented(6));
        assert_eq!(decode(&batch).unwrap().0, DecodeOutcome::Parsed(1));
    }

    #[test]
    fn vendor_fields_keep_what_has_no_column() {
        let graph = oauth(documented(0));
        let v = &graph.vendor_fields;
        assert_eq!(v.get("id"), Some("Directory_5b1e7c2a-3f40-4d6e-9a18-0c7d2e4f6a81_NLX4M_39874102"));
        assert_eq!(v.get("category"), Some("ApplicationManagement"));
        assert_eq!(v.get("correlationId"), Some("07436f62-c179-427f-a8ae-9055d22ef754"));
        assert_eq!(v.get("loggedByService"), Some("Core Directory"));
        assert_eq!(v.get("operationType"), Some("Assign"));
        assert_eq!(v.get("initiatedBy.user.id"), Some("d7cc485d-2c1b-422c-98fd-5ce52859a4a3"));
        assert_eq!(v.get("modifiedProperties.ConsentContext.IsAppOnly"), Some("False"));
        assert_eq!(v.get("modifiedProperties.ConsentContext.Tags"), Some("WindowsAzureActiveDirectoryIntegratedApp"));
        assert_eq!(
            v.get("modifiedProperties.TargetId.ServicePrincipalNames"),
            Some("388b9dd8-d98f-46f3-8eed-4418346e5673;https://otter.ai")
        );
        // In columns: `scopes`, `admin_consent`, `client_id`, `user_agent`; empty: `resultReason`.
        assert_eq!(v.get("modifiedProperties.ConsentAction.Permissions"), None);
        assert_eq!(v.get("modifiedProperties.ConsentContext.IsAdminConsent"), None);
        assert_eq!(v.get("additionalDetails.AppId"), None);
        assert_eq!(v.get("additionalDetails.User-Agent"), None);
        assert_eq!(v.get("resultReason"), None);

        let diagnostic = oauth(documented(4));
        let v = &diagnostic.vendor_fields;
        assert_eq!(v.get("id"), graph.vendor_fields.get("id"));
        assert_eq!(v.get("tenantId"), Some("72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert_eq!(
            v.get("modifiedProperties.TargetId.ServicePrincipalNames"),
            Some("388b9dd8-d98f-46f3-8eed-4418346e5673;https://otter.ai")
        );

        let unified = oauth(documented(5));
        let v = &unified.vendor_fields;
        assert_eq!(v.get("Id"), Some("2b6f3c1e-9d8a-4e7b-a5c4-3f2e1d0c9b8a"));
        assert_eq!(v.get("Workload"), Some("AzureActiveDirectory"));
        assert_eq!(v.get("RecordType"), Some("8"));
        assert_eq!(v.get("ObjectId"), Some("4c43a528-ba33-40b0-8821-c8643587f351"));
        assert_eq!(v.get("InterSystemsId"), Some("07436f62-c179-427f-a8ae-9055d22ef754"));
        assert_eq!(
            v.get("modifiedProperties.ConsentContext.IsAppOnly"),
            Some("False"),
            "the Graph name in every shape"
        );
        assert_eq!(v.get("additionalDetails.extendedAuditEventCategory"), Some("ServicePrincipal"));
        assert_eq!(v.get("additionalDetails.AppId"), None);

        let delegated = oauth(documented(2));
        assert_eq!(delegated.vendor_fields.get("modifiedProperties.DelegatedPermissionGrant.Scope"), None);
        assert_eq!(delegated.vendor_fields.get("modifiedProperties.DelegatedPermissionGrant.ConsentType"), None);
        assert_eq!(
            delegated.vendor_fields.get("additionalDetails.AppId"),
            Some("00000003-0000-0000-c000-000000000000"),
            "the resource's app id: not the client's, so not in `client_id`"
        );
        let app_role = oauth(documented(3));
        assert_eq!(
            app_role.vendor_fields.get("modifiedProperties.AppRole.DisplayName"),
            Some("Read mail in all mailboxes")
        );
        assert_eq!(
            app_role.vendor_fields.get("modifiedProperties.AppRole.Id"),
            Some("810c84a8-4a9e-49e6-bf7d-12d183f40d01")
        );
        assert_eq!(app_role.vendor_fields.get("modifiedProperties.AppRole.Value"), None, "in `scopes`");
    }

    #[test]
    fn other_activities_and_sign_ins_are_skipped() {
        assert_eq!(decode(documented(6)).unwrap().0, DecodeOutcome::Skipped(NOT_MODELLED));
        let (mut skipped, mut signins) = (0, 0);
        for line in panther(PANTHER) {
            match decode(&line).unwrap().0 {
                DecodeOutcome::Skipped(NOT_MODELLED) => skipped += 1,
                DecodeOutcome::Skipped(SIGN_IN) => signins += 1,
                other => panic!("{line}: {other:?}"),
            }
        }
        assert_eq!((skipped, signins), (16, 19));
        for line in panther(PANTHER_UAL) {
            assert_eq!(decode(&line).unwrap().0, DecodeOutcome::Skipped(NOT_MODELLED), "{line}");
        }
        for line in SIGNINS.lines() {
            assert!(matches!(decode(line).unwrap().0, DecodeOutcome::Skipped(_)), "{line}");
        }
    }

    #[test]
    fn malformed_records_are_dead_lettered() {
        assert!(decode("{not json").unwrap_err().reason.contains("invalid JSON"));
        assert!(decode(r#"{"category":"AuditLogs"}"#).unwrap_err().reason.contains("missing `activityDisplayName`"));
        assert!(decode(r#"{"activityDisplayName":"Consent to application"}"#)
            .unwrap_err()
            .reason
            .contains("missing `activityDateTime`"));
        assert!(decode(r#"{"activityDisplayName":"Consent to application","activityDateTime":"never"}"#)
            .unwrap_err()
            .reason
            .contains("is not a time"));
        assert!(decode(r#"{"Operation":"Consent to application.","Workload":"AzureActiveDirectory"}"#)
            .unwrap_err()
            .reason
            .contains("missing `CreationTime`"));
        let batch = format!(r#"{{"value":[{},{{"activityDisplayName":"x"}}]}}"#, documented(0));
        let mut out = Vec::new();
        let e = EntraAudit.decode(batch.as_bytes(), RecordContext::default(), &mut out).unwrap_err();
        assert!(e.reason.starts_with("value[1]: entra-audit: missing `activityDateTime`"), "{}", e.reason);
        assert!(out.is_empty());
    }

    #[test]
    fn minimal_records_and_helpers() {
        // The legacy unified-log name, with the scope under another prefix.
        let legacy = r#"{"Operation":"Add OAuth2PermissionGrant.","CreationTime":"2026-01-02T03:04:05","UserId":"a@b.c","ClientIP":"[2001:db8::7]:51234","ResultStatus":"Success","ModifiedProperties":[{"Name":"OAuth2PermissionGrant.Scope","NewValue":"Mail.Read offline_access","OldValue":""}]}"#;
        let o = oauth(legacy);
        assert_eq!(o.action.as_deref(), Some("grant"));
        assert_eq!(o.scopes, ["Mail.Read", "offline_access"]);
        assert_eq!(o.src_ip.as_deref(), Some("2001:db8::7"));
        assert_eq!(o.time.to_rfc3339(), "2026-01-02T03:04:05.000Z");
        assert_eq!(consent_scopes("[[Scope: a b, X: y]] => [[Scope:  c d, Z], [Scope: d e]]"), ["c", "d", "e"]);
        assert_eq!(consent_scopes("no scopes"), Vec::<String>::new());
        assert_eq!(
            permissions_client_id("[] => [[Id: x, ClientId: 4c43a528-ba33-40b0-8821-c8643587f351, PrincipalId: ]]")
                .as_deref(),
            Some("4c43a528-ba33-40b0-8821-c8643587f351")
        );
        assert_eq!(unquote(&Value::String("\"True\"".into())).as_deref(), Some("True"));
        assert_eq!(unquote(&Value::String("\"broken".into())).as_deref(), Some("broken"));
        assert_eq!(unquote(&Value::Null), None);
        assert!(is_guid("388b9dd8-d98f-46f3-8eed-4418346e5673"));
        assert!(!is_guid("https://otter.ai"));
    }

    #[test]
    fn print_normalized_example() {
        // The example in docs/formats/entra-audit.md: `cargo test ... print_normalized_example -- --nocapture`.
        let (_, mut rows) = decode(documented(0)).unwrap();
        // Origin columns as the decode stage sets them for line 1 of the file.
        let source = "file:/var/log/entra/audit.jsonl";
        let (id, origin) = (crate::origin::event_id(source, None, 1), crate::origin::origin_string(source, None, 1));
        rows[0].set_origin(&id, &origin, "entra-audit");
        println!("{}", serde_json::to_string_pretty(&rows[0].to_json()).unwrap());
    }

    proptest! {
        #[test]
        fn never_panics_and_gives_one_outcome(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            cut in 0usize..6000,
            flip in 0usize..6000,
            byte in any::<u8>(),
        ) {
            let mut out = Vec::new();
            match EntraAudit.decode(&bytes, RecordContext::default(), &mut out) {
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
            match EntraAudit.decode(&mutated, RecordContext::default(), &mut out) {
                Ok(DecodeOutcome::Parsed(n)) => prop_assert_eq!(n, out.len()),
                Ok(DecodeOutcome::Skipped(_)) | Err(_) => prop_assert!(out.is_empty()),
            }
            let text = String::from_utf8_lossy(&bytes);
            let _ = consent_scopes(&text);
            let _ = permissions_client_id(&text);
        }
    }
}
