//! `m365-audit`: Microsoft 365 Unified Audit Log records (Management Activity
//! API, `Search-UnifiedAuditLog` `AuditData`, or a SIEM export), one JSON
//! object per line, original or lower-cased keys.
//!
//! * Exchange cmdlets → `email` rows:
//!   `New-InboxRule` / `Set-InboxRule` / `UpdateInboxRules` (`kind = inbox_rule`),
//!   `Set-Mailbox` with forwarding parameters (`mailbox_forwarding`),
//!   `New-TransportRule` / `Set-TransportRule` (`transport_rule`).
//! * `UserLoggedIn` / `UserLoginFailed` (Azure AD workload) → `auth` rows.
//! * Every other operation is skipped (`m365-audit: operation not modelled`).
//!
//! | field | column |
//! |---|---|
//! | `CreationTime` (UTC, no zone) | `time` |
//! | `Operation` | `operation` / `event_type` |
//! | mailbox: `Mailbox` or `Identity` parameter when it is an address, else `ObjectId` before `\`, else `UserId` | `user` |
//! | `UserId` when it differs from the mailbox | `actor` |
//! | `ClientIP` (port and brackets removed) | `src_ip` |
//! | `ResultStatus` (`True`/`Succeeded` → `success`, `False`/`Failed` → `failure`) | `result` |
//! | `Name` parameter (inbox rules: else `Identity`) | `rule_name` |
//! | `ForwardTo`, `ForwardAsAttachmentTo`, `RedirectTo`, `ForwardingSmtpAddress`, `ForwardingAddress`, `BlindCopyTo`, `CopyTo`, `RedirectMessageTo`, `AddToRecipients` (every address, `smtp:` and display names removed) | `forward_to` |
//! | `DeleteMessage`/`MarkAsRead` = True, `MoveToFolder` to RSS / Archive / Deleted Items / Junk / Conversation History, or `DeliverToMailboxAndForward` = False | `hides_mail` |

use serde_json::{Map, Value};

use super::time::parse_any;
use super::{json, record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{AuthEvent, EmailEvent, EventClass, Row};

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

const HIDING_FOLDERS: &[&str] =
    &["rss feeds", "rss subscriptions", "archive", "deleted items", "junk email", "conversation history"];

/// `Parameters` (or `OperationProperties`) as (name, value) pairs.
fn parameters(obj: &Map<String, Value>) -> Vec<(String, String)> {
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

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

fn is_true(v: Option<&str>) -> bool {
    v.and_then(json::parse_bool).unwrap_or(false)
}

/// Every address in a parameter value: `a@x;b@y`, `smtp:a@x`, `"Ana" [SMTP:a@x]`.
pub fn addresses(value: &str) -> Vec<String> {
    value
        .split([';', ','])
        .filter_map(|piece| {
            let at = piece.find('@')?;
            let is_part = |c: char| !(c.is_whitespace() || "[]<>\"'()".contains(c));
            // Past the last separator before `@` (which may be several bytes long, e.g. U+00A0).
            let start =
                piece[..at].char_indices().rev().find(|(_, c)| !is_part(*c)).map_or(0, |(i, c)| i + c.len_utf8());
            let end = piece[at..].find(|c: char| !is_part(c)).map_or(piece.len(), |i| at + i);
            let mut addr = &piece[start..end];
            if let Some((scheme, rest)) = addr.split_once(':') {
                if scheme.eq_ignore_ascii_case("smtp") {
                    addr = rest;
                }
            }
            (addr.len() > 2).then(|| addr.to_string())
        })
        .collect()
}

/// `1.2.3.4:5678` → `1.2.3.4`; `[::1]:443` → `::1`; IPv6 unchanged.
fn client_ip(raw: &str) -> Option<String> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next().map(str::to_string);
    }
    match s.rsplit_once(':') {
        Some((ip, port)) if !ip.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => Some(ip.to_string()),
        _ => Some(s.to_string()),
    }
}

fn result(v: Option<String>) -> Option<String> {
    v.map(|r| match r.to_ascii_lowercase().as_str() {
        "true" | "succeeded" | "success" | "partiallysucceeded" => "success".to_string(),
        "false" | "failed" | "failure" => "failure".to_string(),
        other => other.to_string(),
    })
}

impl Decoder for M365Audit {
    fn id(&self) -> &'static str {
        "m365-audit"
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Email, EventClass::Auth]
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
        let vendor = Some("Microsoft".to_string());
        let product = Some("Microsoft 365 Unified Audit Log".to_string());

        if op == "userloggedin" || op == "userloginfailed" {
            let ua = match json::get(&obj, "ExtendedProperties") {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_object)
                    .find(|i| json::str_at(i, &["Name"]).is_some_and(|n| n.eq_ignore_ascii_case("UserAgent")))
                    .and_then(|i| json::str_at(i, &["Value"])),
                _ => None,
            };
            out.push(Row::Auth(AuthEvent {
                time,
                vendor,
                product,
                event_type: Some(operation),
                user: user_id,
                src_ip,
                app: json::str_at(&obj, &["ApplicationId"]),
                result: Some(if op == "userloggedin" { "success" } else { "failure" }.to_string()),
                reason: json::str_at(&obj, &["LogonError"]),
                user_agent: ua,
                ..Default::default()
            }));
            return Ok(DecodeOutcome::Parsed(1));
        }

        let kind = match op.as_str() {
            "new-inboxrule" | "set-inboxrule" | "updateinboxrules" => "inbox_rule",
            "set-mailbox" => "mailbox_forwarding",
            "new-transportrule" | "set-transportrule" => "transport_rule",
            _ => return Ok(DecodeOutcome::Skipped("m365-audit: operation not modelled")),
        };
        let params = parameters(&obj);
        let mut forward_to = Vec::new();
        for p in FORWARD_PARAMS {
            if let Some(v) = param(&params, p) {
                forward_to.extend(addresses(v));
            }
        }
        if kind == "inbox_rule" && op == "updateinboxrules" && forward_to.is_empty() {
            // Outlook's rule blob: addresses appear inside the RuleActions property.
            if let Some(actions) = param(&params, "RuleActions") {
                if actions.to_ascii_lowercase().contains("forward") || actions.to_ascii_lowercase().contains("redirect")
                {
                    forward_to.extend(addresses(actions));
                }
            }
        }
        if kind == "mailbox_forwarding"
            && !params.iter().any(|(n, _)| {
                FORWARD_PARAMS.iter().any(|f| f.eq_ignore_ascii_case(n))
                    || n.eq_ignore_ascii_case("DeliverToMailboxAndForward")
            })
        {
            return Ok(DecodeOutcome::Skipped("m365-audit: Set-Mailbox without forwarding settings"));
        }
        let hides = is_true(param(&params, "DeleteMessage"))
            || is_true(param(&params, "MarkAsRead"))
            || param(&params, "MoveToFolder")
                .is_some_and(|f| HIDING_FOLDERS.contains(&f.trim().to_ascii_lowercase().as_str()))
            || param(&params, "DeliverToMailboxAndForward").and_then(json::parse_bool) == Some(false);
        let object_id = json::str_at(&obj, &["ObjectId"]);
        let mailbox = param(&params, "Mailbox")
            .filter(|m| m.contains('@'))
            .map(str::to_string)
            .or_else(|| param(&params, "Identity").filter(|i| i.contains('@') && !i.contains('\\')).map(str::to_string))
            .or_else(|| {
                object_id.as_deref().and_then(|o| o.split('\\').next()).filter(|o| o.contains('@')).map(str::to_string)
            })
            .or_else(|| user_id.clone());
        let actor = user_id.filter(|u| Some(u) != mailbox.as_ref());
        let rule_name = param(&params, "Name")
            .or_else(|| param(&params, "RuleName"))
            .or_else(|| if kind == "mailbox_forwarding" { None } else { param(&params, "Identity") })
            .map(str::to_string);
        out.push(Row::Email(EmailEvent {
            time,
            vendor,
            product,
            kind: Some(kind.to_string()),
            operation: Some(operation),
            user: mailbox,
            actor,
            rule_name,
            forward_to,
            hides_mail: Some(hides),
            result: res,
            src_ip,
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
        assert_eq!(addresses("Ana\u{a0}ana@gmail.com"), ["ana@gmail.com"]);
        assert_eq!(addresses("\u{a0}@"), Vec::<String>::new());
    }

    use super::*;
    use proptest::prelude::*;

    const EXCHANGE: &str = include_str!("../../../tests/data/vendor/m365/Microsoft365.Audit.Exchange.jsonl");
    const AAD: &str = include_str!("../../../tests/data/vendor/m365/Microsoft365.Audit.AzureActiveDirectory.jsonl");
    const DEMO: &str = include_str!("../../../deploy/demo/logs/m365-audit--unified-audit.log");

    fn samples(text: &str) -> Vec<String> {
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v.get("log").map(Value::to_string))
            .collect()
    }

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row>), DecodeError> {
        let mut out = Vec::new();
        let o = M365Audit.decode(line.as_bytes(), RecordContext::default(), &mut out)?;
        Ok((o, out))
    }

    fn email(line: &str) -> EmailEvent {
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
    fn address_extraction() {
        assert_eq!(addresses("smtp:a@x.com;b@y.org"), vec!["a@x.com", "b@y.org"]);
        assert_eq!(addresses("\"Ana\" [SMTP:ana@gmail.com]"), vec!["ana@gmail.com"]);
        assert_eq!(addresses("Ana Pereira <ana@gmail.com>, no-address"), vec!["ana@gmail.com"]);
        assert!(addresses("Internal Contact").is_empty());
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
            let _ = addresses(&String::from_utf8_lossy(&bytes));
        }
    }
}
