//! `m365-audit`: Microsoft 365 Unified Audit Log records (Office 365
//! Management Activity API `Audit.Exchange` / `Audit.AzureActiveDirectory`
//! content, `Search-UnifiedAuditLog` `AuditData`, the Purview audit search
//! export's `AuditData` column, or a SIEM export), one JSON object per line,
//! original or lower-cased keys.
//!
//! * Exchange → `email` rows:
//!   `New-InboxRule` / `Set-InboxRule` (admin and OWA, `Parameters`) and
//!   `UpdateInboxRules` (Outlook desktop / EWS, `OperationProperties`:
//!   `RuleName`, `RuleOperation`, `RuleActions`, ...) → `kind = inbox_rule`;
//!   `Set-Mailbox` with a forwarding parameter → `mailbox_forwarding`;
//!   `New-TransportRule` / `Set-TransportRule` → `transport_rule`.
//! * SharePoint / OneDrive sharing — `SharingInvitationCreated`,
//!   `AddedToSecureLink`, `AddedToSharingLink`, `SharingSet`,
//!   `SecureLinkUsed` — with an address in `TargetUserOrGroupName` →
//!   `email` rows of `kind = file_share` (`UserId` → `user`, the address →
//!   `forward_to`, `SourceFileName` (else `ObjectId`) → `subject`;
//!   `TargetUserOrGroupType`, `SiteUrl`, `SourceRelativeUrl`, `ItemType`,
//!   `EventData`, `UniqueSharingId` → `vendor_fields`). A share without an
//!   addressed recipient (a group, an anonymous or company link) is skipped.
//! * `UserLoggedIn` / `UserLoginFailed` (AzureActiveDirectory workload) → `auth` rows.
//! * Consent and permission grants of the AzureActiveDirectory workload —
//!   `Consent to application.`, `Add delegated permission grant.`,
//!   `Add OAuth2PermissionGrant.`, `Add app role assignment grant to user.`,
//!   `Add app role assignment to service principal.` → `oauth` rows, read
//!   exactly as `entra-audit` reads the unified-audit-log shape (see
//!   `docs/formats/entra-audit.md`; the row's `product` is `Microsoft Entra ID`).
//!
//! | field | column |
//! |---|---|
//! | `CreationTime` (UTC, no zone) | `time` |
//! | `Operation` | `operation` (email) / `event_type` (auth) |
//! | mailbox: `Mailbox` or `Identity` parameter when it is an address, else (inbox rules) `MailboxOwnerUPN`, else `ObjectId` before `\`, else `UserId` | `user` |
//! | `UserId` when it differs from the mailbox (an admin acting on another mailbox) | `actor` |
//! | `ClientIP`, else `ActorIpAddress` (port and brackets removed; IPv4 / IPv6) | `src_ip` |
//! | `ResultStatus` (`True`/`Succeeded` → `success`, `False`/`Failed` → `failure`) | `result` |
//! | `Name` / `RuleName` parameter, else (inbox and transport rules) `Identity` (for `mailbox\rule`, the rule's part) | `rule_name` |
//! | every address in `ForwardTo`, `ForwardAsAttachmentTo`, `RedirectTo` (inbox rules), `ForwardingSmtpAddress` (`smtp:` removed), `ForwardingAddress` (Set-Mailbox), `BlindCopyTo`, `CopyTo`, `RedirectMessageTo`, `AddToRecipients` (transport rules); `;`/`,` lists, `"Name" [SMTP:a@x]` and `Name <a@x>` forms; for `UpdateInboxRules`, the addresses in `RuleActions` actions of `ActionType` `Forward`, `ForwardAsAttachment`, `Redirect` or `Delegate` | `forward_to` |
//! | `DeleteMessage`, `SoftDeleteMessage` or `MarkAsRead` = True; `MoveToFolder` to RSS Feeds / RSS Subscriptions / Archive / Deleted Items / Junk Email / Conversation History (`:\RSS Feeds`, `mailbox:\Archive` paths too); `DeliverToMailboxAndForward` = False (forwarding without keeping a copy); a `RuleActions` action `Delete` or `MarkAsRead` | `hides_mail` |
//! | `Id`, `Workload`, `RecordType`, `OrganizationId`, `OrganizationName`, `UserType`, `UserKey`, `ObjectId`, `ExternalAccess`, `OriginatingServer`, `SessionId`, `ClientInfoString`, `AppId`, `ClientAppId`, `ActorContextId`, `AzureActiveDirectoryEventType`, `InterSystemsId`, `ErrorNumber`, `DeviceProperties` (compact JSON); mailbox-audit records also `ClientProcessName`, `ClientVersion`, `ClientIPAddress`, `LogonType`, `MailboxOwnerUPN`, `MailboxGuid`, `Item.ParentFolder.Path` | `vendor_fields`, under these names |
//! | every `Parameters[]` / `OperationProperties[]` / `ExtendedProperties[]` entry whose value is not in a column (`StopProcessingRules`, `From`, `SubjectContainsWords`, `RuleCondition`, `RuleState`, `RuleActions`, ...; a forwarding parameter that holds no address, such as `ForwardingAddress` naming a mail contact, stays here too) | `vendor_fields` as `Parameters.<Name>`, `OperationProperties.<Name>`, `ExtendedProperties.<Name>` |
//!
//! `StopProcessingRules` (`RuleState` `ExitAfterExecution` in `UpdateInboxRules`)
//! neither forwards nor hides by itself; it is kept in `vendor_fields`.
//! `RuleActions` `Move` / `Copy` actions name the folder only by id, so
//! `UpdateInboxRules` cannot show a move to a hiding folder.
//!
//! **Skipped**, counted by reason: other operations (`m365-audit: operation
//! not modelled`), `Set-Mailbox` without forwarding parameters,
//! `UpdateInboxRules` with `RuleOperation` `RemoveMailboxRule` (`m365-audit:
//! inbox rule removed`) or without any rule contents (Outlook re-syncing its
//! rules logs `ModifyMailboxRule` with empty `RuleName`, `RuleCondition` and
//! `RuleActions`), consent activities `entra-audit` does not model.
//! **Dead-lettered**: invalid JSON or UTF-8, a missing `Operation` or
//! `CreationTime`, a `CreationTime` that is not a time.

use serde_json::{Map, Value};

use crate::decode::readers::json;
use crate::decode::readers::json::keep_paths;
use crate::decode::readers::text::mail_addresses;
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::time::parse_any;
use crate::schema::{AuthEvent, EmailEvent, EventClass, Row, Str, VendorFields};

/// SharePoint / OneDrive sharing operations (lower case) that name who a
/// file or folder was shared with: `email` rows of `kind = file_share`.
const SHARING_OPERATIONS: &[&str] =
    &["sharinginvitationcreated", "addedtosecurelink", "sharingset", "addedtosharinglink", "securelinkused"];

/// A sharing record: who shared (`UserId`), what (`SourceFileName`, else
/// `ObjectId`), with whom (`TargetUserOrGroupName` when it is an address).
/// A share with no addressed target (a group, an anonymous link) is skipped.
#[allow(clippy::too_many_arguments)]
fn file_share<'a>(
    obj: &Map<String, Value>,
    operation: Str<'a>,
    time: crate::schema::Timestamp,
    user: Option<Str<'a>>,
    src_ip: Option<Str<'a>>,
    result: Option<Str<'a>>,
    mut vendor_fields: VendorFields<'a>,
    out: &mut Vec<Row<'a>>,
) -> DecodeOutcome {
    let target = json::str_at(obj, &["TargetUserOrGroupName"]).map(|t| t.trim().to_ascii_lowercase());
    let Some(target) = target.filter(|t| t.contains('@') && !t.contains(' ')) else {
        return DecodeOutcome::Skipped("m365-audit: sharing without an addressed recipient");
    };
    keep_paths(obj, SHARING_FIELDS, &mut vendor_fields);
    let item = json::str_at(obj, &["SourceFileName"]).or_else(|| json::str_at(obj, &["ObjectId"]));
    out.push(Row::Email(EmailEvent {
        time,
        vendor: Some("Microsoft".into()),
        product: Some("Microsoft 365 Unified Audit Log".into()),
        kind: Some("file_share".into()),
        operation: Some(operation),
        user,
        subject: item,
        forward_to: vec![Str::Owned(target)],
        result,
        src_ip,
        vendor_fields,
        ..Default::default()
    }));
    DecodeOutcome::Parsed(1)
}

/// Sharing-record fields kept in `vendor_fields`.
const SHARING_FIELDS: &[&str] =
    &["TargetUserOrGroupType", "SiteUrl", "SourceRelativeUrl", "ItemType", "EventData", "UniqueSharingId"];

/// Consent and permission-grant operations (lower case, without the final `.`), decoded as `entra-audit` does.
const CONSENT_OPERATIONS: &[&str] = &[
    "consent to application",
    "add delegated permission grant",
    "add oauth2permissiongrant",
    "add app role assignment grant to user",
    "add app role assignment to service principal",
];

/// Decoder for `m365-audit`.
pub struct M365Audit;

const FORWARD_PARAMS: &[&str] = &[
    "ForwardTo",
    "ForwardAsAttachmentTo",
    "RedirectTo",
    "ForwardingSmtpAddress",
    "ForwardingAddress",
    "BlindCopyTo",
    "CopyTo",
    "RedirectMessageTo",
    "AddToRecipients",
];

const HIDING_FOLDERS: &[&str] = &[
    "rss feeds",
    "rss subscriptions",
    "archive",
    "deleted items",
    "junk email",
    "junk e-mail",
    "conversation history",
];

/// The folder a `MoveToFolder` value names: `RSS Feeds`, `:\RSS Feeds`,
/// `ana@x.com:\Archive`, `\Inbox\Sub` → its last path segment, lower case.
fn folder_name(v: &str) -> String {
    let v = v.trim().trim_end_matches('\\');
    let last = v.rsplit('\\').next().unwrap_or(v);
    let last = match last.rsplit_once(':') {
        Some((_, f)) if !v.contains('\\') => f,
        _ => last,
    };
    last.trim().to_lowercase()
}

/// What Outlook's `RuleActions` (a JSON array of `{"ActionType": ...}`, or
/// text) forwards to and whether it hides mail.
fn rule_actions(actions: &str) -> (Vec<String>, bool) {
    const FORWARDS: &[&str] = &["forward", "forwardasattachment", "redirect", "delegate"];
    const HIDES: &[&str] = &["delete", "markasread"];
    match serde_json::from_str::<Value>(actions) {
        Ok(Value::Array(items)) => {
            let (mut to, mut hides) = (Vec::new(), false);
            for a in items.iter().filter_map(Value::as_object) {
                let kind = json::str_at(a, &["ActionType"]).unwrap_or_default().to_ascii_lowercase();
                if FORWARDS.contains(&kind.as_str()) {
                    to.extend(mail_addresses(&Value::Object(a.clone()).to_string().replace('"', " ")));
                }
                hides |= HIDES.contains(&kind.as_str());
            }
            (to, hides)
        }
        _ => {
            let l = actions.to_ascii_lowercase();
            let to = if l.contains("forward") || l.contains("redirect") { mail_addresses(actions) } else { Vec::new() };
            (to, l.contains("delete") || l.contains("mark as read") || l.contains("markasread"))
        }
    }
}

/// Record fields with no column, kept in `vendor_fields` under these names.
const VENDOR_FIELDS: &[&str] = &[
    "Id",
    "Workload",
    "RecordType",
    "OrganizationId",
    "OrganizationName",
    "UserType",
    "UserKey",
    "ObjectId",
    "ExternalAccess",
    "OriginatingServer",
    "SessionId",
    "ClientInfoString",
    "AppId",
    "ClientAppId",
    "ActorContextId",
    "AzureActiveDirectoryEventType",
    "InterSystemsId",
    "ErrorNumber",
    "DeviceProperties",
];

/// Mailbox-audit fields of `UpdateInboxRules` records with no column.
const ITEM_FIELDS: &[&str] = &[
    "ClientProcessName",
    "ClientVersion",
    "ClientIPAddress",
    "LogonType",
    "MailboxOwnerUPN",
    "MailboxGuid",
    "Item.ParentFolder.Path",
];

/// Keep every `Name` / `Value` entry of the `arrays` (`Parameters`, ...) in
/// `out` as `<array>.<Name>`, except the names in `mapped` (their value is in
/// a column).
fn keep_name_values(obj: &Map<String, Value>, arrays: &[&str], mapped: &[&str], out: &mut VendorFields<'_>) {
    for key in arrays {
        let Some(Value::Array(items)) = json::get(obj, key) else { continue };
        for item in items.iter().filter_map(Value::as_object) {
            let Some(name) = json::str_at(item, &["Name"]) else { continue };
            if mapped.iter().any(|m| m.eq_ignore_ascii_case(&name)) {
                continue;
            }
            if let Some(v) = json::get(item, "Value") {
                json::flatten_into(out, format!("{key}.{name}"), v);
            }
        }
    }
}

/// `Parameters` (or `OperationProperties`) as (name, value) pairs.
fn parameters(obj: &Map<String, Value>) -> Vec<(Str<'static>, Str<'static>)> {
    let mut out = Vec::new();
    for key in ["Parameters", "OperationProperties"] {
        if let Some(Value::Array(items)) = json::get(obj, key) {
            for item in items.iter().filter_map(Value::as_object) {
                if let Some(name) = json::str_at(item, &["Name"]) {
                    out.push((name, json::str_at(item, &["Value"]).unwrap_or_default()));
                }
            }
        }
    }
    out
}

fn param<'a>(params: &'a [(Str<'static>, Str<'static>)], name: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref()).filter(|v| !v.is_empty())
}

fn is_true(v: Option<&str>) -> bool {
    v.and_then(json::parse_bool).unwrap_or(false)
}

/// `1.2.3.4:5678` → `1.2.3.4`; `[::1]:443` → `::1`; IPv6 unchanged.
fn client_ip(raw: &str) -> Option<Str<'static>> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next().map(|ip| ip.to_string().into());
    }
    match s.rsplit_once(':') {
        Some((ip, port)) if !ip.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => {
            Some(ip.to_string().into())
        }
        _ => Some(s.to_string().into()),
    }
}

fn result(v: Option<Str<'static>>) -> Option<Str<'static>> {
    v.map(|r| match r.to_ascii_lowercase().as_str() {
        "true" | "succeeded" | "success" | "partiallysucceeded" => "success".into(),
        "false" | "failed" | "failure" => "failure".into(),
        other => other.to_string().into(),
    })
}

impl Decoder for M365Audit {
    fn id(&self) -> &'static str {
        "m365-audit"
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Email, EventClass::Auth, EventClass::Oauth]
    }

    fn decode(&self, record: &[u8], _ctx: RecordContext<'_>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
        let obj = json::parse_object(record_text(record)?)?;
        let operation =
            json::str_at(&obj, &["Operation"]).ok_or_else(|| DecodeError::new("m365-audit: missing `Operation`"))?;
        let created = json::str_at(&obj, &["CreationTime"])
            .ok_or_else(|| DecodeError::new("m365-audit: missing `CreationTime`"))?;
        let time = parse_any(&created)
            .ok_or_else(|| DecodeError::new(format!("m365-audit: `CreationTime` `{created}` is not a time")))?;
        let op = operation.to_ascii_lowercase();
        let user_id = json::str_at(&obj, &["UserId"]);
        let src_ip = json::str_at(&obj, &["ClientIP"])
            .or_else(|| json::str_at(&obj, &["ActorIpAddress"]))
            .and_then(|s| client_ip(&s));
        let res = result(json::str_at(&obj, &["ResultStatus"]));
        let vendor = Some("Microsoft".into());
        let product = Some("Microsoft 365 Unified Audit Log".into());
        let mut vendor_fields = VendorFields::default();
        keep_paths(&obj, VENDOR_FIELDS, &mut vendor_fields);

        if CONSENT_OPERATIONS.contains(&op.trim_end_matches('.')) {
            // The AzureActiveDirectory workload's consent records: read like `entra-audit` reads them.
            return crate::decode::identity::entra_audit::decode_one(&obj, out)
                .map_err(|e| DecodeError::new(format!("m365-audit: {}", e.reason)));
        }
        if op == "userloggedin" || op == "userloginfailed" {
            let ua = match json::get(&obj, "ExtendedProperties") {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_object)
                    .find(|i| json::str_at(i, &["Name"]).is_some_and(|n| n.eq_ignore_ascii_case("UserAgent")))
                    .and_then(|i| json::str_at(i, &["Value"])),
                _ => None,
            };
            keep_name_values(&obj, &["ExtendedProperties"], &["UserAgent"], &mut vendor_fields);
            keep_name_values(&obj, &["Parameters", "OperationProperties"], &[], &mut vendor_fields);
            out.push(Row::Auth(AuthEvent {
                time,
                vendor,
                product,
                event_type: Some(operation),
                user: user_id,
                src_ip,
                app: json::str_at(&obj, &["ApplicationId"]),
                result: Some(if op == "userloggedin" { "success" } else { "failure" }.into()),
                reason: json::str_at(&obj, &["LogonError"]),
                user_agent: ua,
                vendor_fields,
                ..Default::default()
            }));
            return Ok(DecodeOutcome::Parsed(1));
        }

        if SHARING_OPERATIONS.contains(&op.as_str()) {
            return Ok(file_share(&obj, operation, time, user_id, src_ip, res, vendor_fields, out));
        }
        let kind = match op.as_str() {
            "new-inboxrule" | "set-inboxrule" | "updateinboxrules" => "inbox_rule",
            "set-mailbox" => "mailbox_forwarding",
            "new-transportrule" | "set-transportrule" => "transport_rule",
            _ => return Ok(DecodeOutcome::Skipped("m365-audit: operation not modelled")),
        };
        let params = parameters(&obj);
        if op == "updateinboxrules" {
            let rule_op = param(&params, "RuleOperation").unwrap_or_default();
            if rule_op.eq_ignore_ascii_case("RemoveMailboxRule") {
                return Ok(DecodeOutcome::Skipped("m365-audit: inbox rule removed"));
            }
            let empty = |name: &str| param(&params, name).is_none_or(|v| matches!(v.trim(), "" | "[]" | "{}"));
            if empty("RuleName") && empty("RuleActions") && empty("RuleCondition") {
                return Ok(DecodeOutcome::Skipped(
                    "m365-audit: UpdateInboxRules without rule contents (client resync)",
                ));
            }
        }
        // Forwarding parameters whose addresses are in `forward_to` (one naming only a
        // recipient without an address, e.g. a mail contact, stays in `vendor_fields`).
        let mut forward_to = Vec::new();
        let mut mapped: Vec<&str> = Vec::new();
        for p in FORWARD_PARAMS {
            if let Some(v) = param(&params, p) {
                let found = mail_addresses(v);
                if !found.is_empty() {
                    mapped.push(p);
                    forward_to.extend(found);
                }
            }
        }
        let mut hides = false;
        if let Some(actions) = param(&params, "RuleActions") {
            let (to, hide) = rule_actions(actions);
            if !to.is_empty() && forward_to.is_empty() {
                forward_to.extend(to);
            }
            hides |= hide;
        }
        forward_to.dedup();
        if kind == "mailbox_forwarding"
            && !params.iter().any(|(n, _)| {
                FORWARD_PARAMS.iter().any(|f| f.eq_ignore_ascii_case(n))
                    || n.eq_ignore_ascii_case("DeliverToMailboxAndForward")
            })
        {
            return Ok(DecodeOutcome::Skipped("m365-audit: Set-Mailbox without forwarding settings"));
        }
        hides |= is_true(param(&params, "DeleteMessage"))
            || is_true(param(&params, "SoftDeleteMessage"))
            || is_true(param(&params, "MarkAsRead"))
            || param(&params, "MoveToFolder").is_some_and(|f| HIDING_FOLDERS.contains(&folder_name(f).as_str()))
            || param(&params, "DeliverToMailboxAndForward").and_then(json::parse_bool) == Some(false);
        let object_id = json::str_at(&obj, &["ObjectId"]);
        // The parameter that names the mailbox, and the one that names the rule.
        let mailbox_param = if param(&params, "Mailbox").is_some_and(|m| m.contains('@')) {
            Some("Mailbox")
        } else if param(&params, "Identity").is_some_and(|i| i.contains('@') && !i.contains('\\')) {
            Some("Identity")
        } else {
            None
        };
        let mailbox = mailbox_param
            .and_then(|p| param(&params, p))
            .map(|m| Str::Owned(m.to_string()))
            .or_else(|| json::str_at(&obj, &["MailboxOwnerUPN"]).filter(|_| kind == "inbox_rule"))
            .or_else(|| {
                object_id
                    .as_deref()
                    .and_then(|o| o.split('\\').next())
                    .filter(|o| o.contains('@'))
                    .map(|o| Str::Owned(o.to_string()))
            })
            .or_else(|| user_id.clone());
        let actor = user_id.filter(|u| Some(u) != mailbox.as_ref());
        let rule_param = ["Name", "RuleName"]
            .into_iter()
            .chain((kind != "mailbox_forwarding").then_some("Identity"))
            .find(|p| param(&params, p).is_some());
        let rule_name = rule_param.and_then(|p| param(&params, p)).map(|r| {
            // `Set-InboxRule -Identity mailbox\rule`: the rule's part.
            let r = if kind == "inbox_rule" { r.rsplit('\\').next().unwrap_or(r) } else { r };
            Str::Owned(r.to_string())
        });
        mapped.extend(mailbox_param.into_iter().chain(rule_param));
        keep_name_values(&obj, &["Parameters", "OperationProperties"], &mapped, &mut vendor_fields);
        keep_name_values(&obj, &["ExtendedProperties"], &[], &mut vendor_fields);
        keep_paths(&obj, ITEM_FIELDS, &mut vendor_fields);
        out.push(Row::Email(EmailEvent {
            time,
            vendor,
            product,
            kind: Some(kind.into()),
            operation: Some(operation),
            user: mailbox,
            actor,
            rule_name,
            forward_to: forward_to.into_iter().map(Into::into).collect(),
            hides_mail: Some(hides),
            result: res,
            src_ip,
            vendor_fields,
            ..Default::default()
        }));
        Ok(DecodeOutcome::Parsed(1))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn addresses_after_a_multibyte_separator() {
        // A no-break space (two bytes in UTF-8) before the address used to slice inside the character.
        assert_eq!(mail_addresses("Ana\u{a0}ana@gmail.com"), ["ana@gmail.com"]);
        assert_eq!(mail_addresses("\u{a0}@"), Vec::<String>::new());
    }

    use super::*;
    use proptest::prelude::*;

    const EXCHANGE: &str = include_str!("../../../../tests/data/vendor/m365/Microsoft365.Audit.Exchange.jsonl");
    const AAD: &str = include_str!("../../../../tests/data/vendor/m365/Microsoft365.Audit.AzureActiveDirectory.jsonl");
    const DEMO: &str = include_str!("../../../../deploy/demo/logs/m365-audit--unified-audit.log");

    fn samples(text: &str) -> Vec<String> {
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v.get("log").map(Value::to_string))
            .collect()
    }

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row<'_>>), DecodeError> {
        let mut out = Vec::new();
        let o = M365Audit.decode(line.as_bytes(), RecordContext::default(), &mut out)?;
        Ok((o, out))
    }

    fn email(line: &str) -> EmailEvent<'_> {
        match decode(line).unwrap().1.pop() {
            Some(Row::Email(e)) => e,
            other => panic!("expected email, got {other:?}"),
        }
    }

    #[test]
    fn inbox_rule_forwarding_to_gmail_and_deleting() {
        let e = email(DEMO.lines().next().unwrap());
        assert_eq!(e.kind.as_deref(), Some("inbox_rule"));
        assert_eq!(e.user.as_deref(), Some("eve.martin@corp.example.com"));
        assert_eq!(e.forward_to, vec!["eve.martin1988@gmail.com"]);
        assert_eq!(e.hides_mail, Some(true));
        assert_eq!(e.rule_name.as_deref(), Some("Keep a copy"));
        assert_eq!(e.src_ip.as_deref(), Some("2.125.160.218"));
        assert_eq!(e.result.as_deref(), Some("success"));
        assert_eq!(e.time.to_rfc3339(), "2026-11-24T10:15:00.000Z");
    }

    #[test]
    fn lower_cased_exchange_samples() {
        let lines = samples(EXCHANGE);
        let set_mailbox = lines.iter().find(|l| l.contains("marge.simpson@simpsons.com")).unwrap();
        let e = email(set_mailbox);
        assert_eq!(e.kind.as_deref(), Some("mailbox_forwarding"));
        assert_eq!(e.user.as_deref(), Some("marge.simpson@simpsons.onmicrosoft.com"));
        assert_eq!(e.forward_to, vec!["marge.simpson@simpsons.com"]);
        assert_eq!(e.hides_mail, Some(false));
        let multi = email(lines.iter().find(|l| l.contains("Multiple Forward Rule")).unwrap());
        assert_eq!(multi.forward_to.len(), 3);
        assert_eq!(multi.user.as_deref(), Some("homer.simpson@simpsons.onmicrosoft.com"));
        assert_eq!(multi.rule_name.as_deref(), Some("Multiple Forward Rule"));
        assert_eq!(multi.hides_mail, Some(true), "DeliverToMailboxAndForward=False keeps no copy");
        let move_only = email(lines.iter().find(|l| l.contains("Move emails to another folder")).unwrap());
        assert_eq!(move_only.hides_mail, Some(false), "moving to an ordinary folder hides nothing");
        assert!(move_only.forward_to.is_empty());
        for l in &lines {
            assert!(decode(l).is_ok(), "{l}");
        }
    }

    #[test]
    fn sign_ins_become_auth_rows_and_others_are_skipped() {
        let lines = samples(AAD);
        let failed = lines.iter().find(|l| l.contains("UserLoginFailed")).unwrap();
        let (_, rows) = decode(failed).unwrap();
        let Some(Row::Auth(a)) = rows.first() else { panic!("expected auth") };
        assert_eq!(a.result.as_deref(), Some("failure"));
        let update = lines.iter().find(|l| l.contains("Update user.")).unwrap();
        assert_eq!(decode(update).unwrap().0, DecodeOutcome::Skipped("m365-audit: operation not modelled"));
        assert_eq!(
            decode(DEMO.lines().last().unwrap()).unwrap().0,
            DecodeOutcome::Skipped("m365-audit: operation not modelled")
        );
        assert!(decode("{not json").unwrap_err().reason.contains("invalid JSON"));
        assert!(decode(r#"{"Operation":"New-InboxRule"}"#).unwrap_err().reason.contains("CreationTime"));
    }

    #[test]
    fn vendor_fields_keep_what_has_no_column() {
        let e = email(DEMO.lines().next().unwrap());
        let v = &e.vendor_fields;
        assert_eq!(v.get("Id"), Some("m1"));
        assert_eq!(v.get("Workload"), Some("Exchange"));
        assert_eq!(v.get("RecordType"), Some("1"));
        assert_eq!(v.get("OrganizationId"), Some("4f1c0a52-0000-4000-8000-0000c0ffee00"));
        assert_eq!(v.get("OrganizationName"), Some("corp.example.com"));
        assert_eq!(v.get("UserType"), Some("0"));
        assert_eq!(v.get("UserKey"), Some("1003200012345678"));
        assert_eq!(v.get("ObjectId"), Some("eve.martin@corp.example.com"));
        assert_eq!(v.get("ExternalAccess"), Some("false"));
        assert_eq!(v.get("SessionId"), Some("5c9f0d3e-0000-4000-8000-000000000001"));
        assert_eq!(v.get("Parameters.From"), Some("payroll@corp.example.com"));
        assert_eq!(v.get("Parameters.DeleteMessage"), Some("True"));
        assert_eq!(v.get("Parameters.StopProcessingRules"), Some("True"));
        // In columns: `rule_name`, `forward_to`.
        assert_eq!(v.get("Parameters.Name"), None);
        assert_eq!(v.get("Parameters.ForwardTo"), None);

        // Lower-cased keys: the same names.
        let lines = samples(EXCHANGE);
        let m = email(lines.iter().find(|l| l.contains("marge.simpson@simpsons.com")).unwrap());
        let v = &m.vendor_fields;
        assert_eq!(v.get("Id"), Some("111-22-33"));
        assert_eq!(v.get("UserType"), Some("2"));
        assert_eq!(v.get("ObjectId"), Some("homer.simpson"));
        assert_eq!(v.get("OriginatingServer"), Some("QWERTY (1.2.3.4)"));
        assert_eq!(v.get("Parameters.DeliverToMailboxAndForward"), Some("True"));
        assert_eq!(v.get("Parameters.Identity"), None, "the mailbox, in `user`");
        assert_eq!(v.get("Parameters.ForwardingSmtpAddress"), None);

        let lines = samples(AAD);
        let (_, rows) = decode(lines.iter().find(|l| l.contains("UserLoginFailed")).unwrap()).unwrap();
        let Some(Row::Auth(a)) = rows.first() else { panic!("expected auth") };
        let v = &a.vendor_fields;
        assert_eq!(v.get("Id"), Some("abc-def-123"));
        assert_eq!(v.get("Workload"), Some("AzureActiveDirectory"));
        assert_eq!(v.get("RecordType"), Some("15"));
        assert_eq!(v.get("ObjectId"), Some("aa-11-22-bb"));
        assert_eq!(v.get("ActorContextId"), Some("123-abc-xyz-567"));
        assert_eq!(v.get("ExtendedProperties.RequestType"), Some("Login:login"));
        assert_eq!(v.get("ExtendedProperties.UserAuthenticationMethod"), Some("1"));
        assert_eq!(v.get("ExtendedProperties.UserAgent"), None, "in `user_agent`");
    }

    #[test]
    fn address_extraction() {
        assert_eq!(mail_addresses("smtp:a@x.com;b@y.org"), vec!["a@x.com", "b@y.org"]);
        assert_eq!(mail_addresses("\"Ana\" [SMTP:ana@gmail.com]"), vec!["ana@gmail.com"]);
        assert_eq!(mail_addresses("Ana Pereira <ana@gmail.com>, no-address"), vec!["ana@gmail.com"]);
        assert!(mail_addresses("Internal Contact").is_empty());
        assert_eq!(client_ip("[2001:db8::1]:443").as_deref(), Some("2001:db8::1"));
        assert_eq!(client_ip("2001:db8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(client_ip("1.2.3.4:5678").as_deref(), Some("1.2.3.4"));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..2000) {
            let _ = M365Audit.decode(&bytes, RecordContext::default(), &mut Vec::new());
            let line = DEMO.lines().next().unwrap();
            let cut = cut.min(line.len());
            let _ = M365Audit.decode(&line.as_bytes()[..cut], RecordContext::default(), &mut Vec::new());
            let _ = mail_addresses(&String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn doc_example_json() {
        let documented = include_str!("../../../../tests/data/vendor/m365/m365-audit.documented.jsonl");
        let (_, mut rows) = decode(documented.lines().find(|l| l.contains("\"New-InboxRule\"")).unwrap()).unwrap();
        rows[0].set_origin(&crate::origin::event_id("stdin", None, 1), "stdin:1", M365Audit.id());
        crate::decode::doc_example::check("m365-audit.md", &rows[0].to_json());
    }
}
