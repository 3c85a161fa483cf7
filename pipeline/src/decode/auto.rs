//! `auto`: recognises the format of each record and hands it to that
//! format's decoder, for topics and files that mix vendors.
//!
//! Recognition is by cheap, unambiguous markers, checked in this order. JSON
//! markers match whatever the case of the keys (`eventType` or `eventtype`), as
//! the JSON decoders do:
//!
//! | record | format |
//! |---|---|
//! | JSON with `eventType` and `published` | `okta` |
//! | JSON with `CreationTime` and `Operation`: a consent / permission-grant operation | `entra-audit` |
//! | JSON with `CreationTime` and `Operation`: anything else | `m365-audit` |
//! | JSON with a `*SignInLogs` category (Azure Monitor form) | `entra-signin` |
//! | JSON with `activityDisplayName`, or `"category": "AuditLogs"` | `entra-audit` |
//! | JSON with `userPrincipalName` and `createdDateTime` (Graph signIn) | `entra-signin` |
//! | JSON with `"kind": "admin#reports#activity"`, or `id.applicationName` and `events` | `google-workspace` |
//! | JSON with an `X-GitHub-Event` key (a captured webhook request's header), or `guid` and `delivered_at` (a webhook delivery from GitHub's REST API) | `github-webhook` |
//! | JSON with `_document_id`, or `action` and `actor` and (`@timestamp` or `created_at`) | `github-audit` |
//! | JSON with `internalIp` and `responseCode` | `umbrella-dns` |
//! | JSON with `MessageTraceId`, or `SenderAddress` and `RecipientAddress` (any case; Graph `exchangeMessageTrace` pages too) | `m365-message-trace` |
//! | Zeek JSON (`id.orig_h` or an `id` object with `orig_h`): by `_path`, else by fields (`query` → dns, `server_name`/`cipher` → ssl, `method`/`uri` → http, else conn) | `zeek-dns` / `zeek-ssl` / `zeek-http` / `zeek-conn` |
//! | JSON with a `class` key | `floodlight-json` |
//! | a line after a Zeek `#fields` header with as many tab-separated fields: by `#path` (`dns`, `conn`, `http`, `ssl`, also `dns_<suffix>`...) | the Zeek format |
//! | a line after a W3C `#Fields:` header with as many fields | `w3c` |
//! | a CSV line after a `#`-prefixed message-trace header row | `m365-message-trace` |
//! | a message-trace CSV header row, or a row in one of its two default layouts (time, sender, recipients and a delivery status where the layout has them) | `m365-message-trace` |
//! | `CEF:<digit>|` | `cef` |
//! | `%ASA-` or `%FTD-` message id | `cisco-asa` |
//! | `logid=` and `type=` key=value pairs | `fortigate` |
//! | CSV with `,<YYYY/MM/DD HH:MM:SS>,<serial>,<TYPE>,` | `panos` (any log type) |
//! | `client ... query: ` (BIND `queries:` category) | `bind-query` |
//! | ` PACKET ` with ` Rcv ` or ` Snd ` | `windows-dns` |
//! | `"YYYY-MM-DD HH:MM:SS",` then `"Allowed"` / `"Blocked"` | `umbrella-dns` (CSV) |
//! | epoch.millis, elapsed, client, then a `CODE/status` (`TCP_MISS/200`) | `squid` |
//! | a line after a Zeek / W3C header that fits none of the above | the header's format (which dead-letters it, saying why) |
//!
//! A JSON array of objects (an API page: `okta`, `github-audit`) is recognised by
//! the same markers.
//!
//! A record that matches none is dead-lettered with a reason listing what was
//! tried. Rows keep the recognised format in their `format` column, not `auto`.

use super::dns::{bind_query::BindQuery, umbrella_dns::UmbrellaDns, windows_dns::WindowsDns, zeek_dns::ZeekDns};
use super::email::{m365_audit::M365Audit, m365_message_trace, m365_message_trace::M365MessageTrace};
use super::floodlight_json::FloodlightJson;
use super::identity::{
    entra_audit::EntraAudit, entra_signin::EntraSignin, github_audit::GithubAudit, github_webhook::GithubWebhook,
    google_workspace::GoogleWorkspace, okta::Okta,
};
use super::network::{
    cef::Cef, cisco_asa::CiscoAsa, fortigate::Fortigate, panos::Panos, squid::Squid, w3c, w3c::W3c,
    zeek_conn::ZeekConn, zeek_http::ZeekHttp, zeek_ssl::ZeekSsl,
};
use super::{DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{EventClass, Row};

/// The `auto` format.
pub struct Auto;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

/// The decoder a record belongs to, or `None`.
pub fn recognise(record: &[u8], ctx: RecordContext<'_>) -> Option<&'static dyn Decoder> {
    let start = record.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(record.len());
    let body = record[start..].strip_prefix("\u{feff}".as_bytes()).unwrap_or(&record[start..]);
    let has = |needle: &[u8]| contains(body, needle);
    let json_array = body.strip_prefix(b"[").is_some_and(|rest| rest.trim_ascii_start().first() == Some(&b'{'));
    if body.first() == Some(&b'{') || json_array {
        // Vendors' own key casing and the lower-cased form collectors write: markers are matched
        // on a lower-cased copy (values such as `AuditLogs` are matched regardless of case too).
        let lower = body.to_ascii_lowercase();
        let has = |needle: &str| contains(&lower, needle.as_bytes());
        if has("\"eventtype\"") && has("\"published\"") {
            return Some(&Okta);
        }
        if has("\"creationtime\"") && has("\"operation\"") {
            let consent =
                ["consent to application", "permission grant", "oauth2permissiongrant", "app role assignment"]
                    .iter()
                    .any(|op| has(op));
            return Some(if consent { &EntraAudit } else { &M365Audit });
        }
        if has("signinlogs\"") {
            return Some(&EntraSignin);
        }
        if has("\"activitydisplayname\"") || has("\"auditlogs\"") {
            return Some(&EntraAudit);
        }
        if has("\"userprincipalname\"") && has("\"createddatetime\"") {
            return Some(&EntraSignin);
        }
        if has("admin#reports#activity") || (has("\"applicationname\"") && has("\"events\"")) {
            return Some(&GoogleWorkspace);
        }
        // Before `github-audit`: a webhook payload has `action`, and an installation's `created_at`.
        if has("\"x-github-event\"") || (has("\"guid\"") && has("\"delivered_at\"")) {
            return Some(&GithubWebhook);
        }
        if has("\"_document_id\"")
            || (has("\"action\"") && has("\"actor\"") && (has("\"@timestamp\"") || has("\"created_at\"")))
        {
            return Some(&GithubAudit);
        }
        if has("\"internalip\"") && has("\"responsecode\"") {
            return Some(&UmbrellaDns);
        }
        if has("\"id.orig_h\"") || has("\"orig_h\"") {
            return Some(zeek_json(&lower));
        }
        if has("\"messagetraceid\"")
            || (has("\"senderaddress\"") && has("\"recipientaddress\""))
            || has("exchange/tracing/messagetraces")
        {
            return Some(&M365MessageTrace);
        }
        if has("\"class\"") {
            return Some(&FloodlightJson);
        }
        return None;
    }
    // A line that fits the Zeek / W3C / message-trace header before it is of that format; one
    // that does not is tried against the markers below first (a file mixing formats), and
    // given to the header's format last (its decoder then says what is wrong with it).
    let by_header = by_header(body, ctx);
    if let Some((d, true)) = by_header {
        return Some(d);
    }
    if let Some(i) = find(body, b"CEF:") {
        let rest = body[i + 4..].trim_ascii_start();
        if rest.first().is_some_and(u8::is_ascii_digit) && rest.get(1) == Some(&b'|') {
            return Some(&Cef);
        }
    }
    if has(b"%ASA-") || has(b"%FTD-") {
        return Some(&CiscoAsa);
    }
    if has(b"logid=") && has(b"type=") {
        return Some(&Fortigate);
    }
    if looks_like_panos(body) {
        return Some(&Panos);
    }
    if has(b"client ") && has(b"query: ") {
        return Some(&BindQuery);
    }
    if has(b" PACKET ") && (has(b" Rcv ") || has(b" Snd ")) {
        return Some(&WindowsDns);
    }
    if m365_message_trace::looks_like_csv_row(body) || m365_message_trace::is_header_bytes(body) {
        return Some(&M365MessageTrace);
    }
    if body.first() == Some(&b'"') && (has(b"\"Allowed\"") || has(b"\"Blocked\"")) {
        return Some(&UmbrellaDns);
    }
    if looks_like_squid(body) {
        return Some(&Squid);
    }
    by_header.map(|(d, _)| d)
}

/// The format the stream's header lines name for this record, and whether
/// the record fits the header (its field count matches).
fn by_header(body: &[u8], ctx: RecordContext<'_>) -> Option<(&'static dyn Decoder, bool)> {
    let fields = ctx.headers.iter().rev().find(|h| h.starts_with(b"#fields") || h.starts_with(b"#Fields:"));
    if let Some(fields) = fields {
        if fields.starts_with(b"#Fields:") {
            if m365_message_trace::has_context_header(&ctx) && !body.contains(&b'\t') && body.contains(&b',') {
                return Some((&M365MessageTrace, true));
            }
            let names = fields[8..].split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty()).count();
            let fits =
                std::str::from_utf8(body).ok().and_then(|t| w3c::split(t).ok()).is_some_and(|v| v.len() == names);
            return Some((&W3c, fits));
        }
        let path = ctx.headers.iter().rev().find_map(|h| h.strip_prefix(b"#path")).map(|p| p.trim_ascii());
        let d: &'static dyn Decoder = match path {
            Some(p) => zeek_by_path(p)?,
            None if contains(fields, b"\tquery\t") => &ZeekDns,
            None if contains(fields, b"\tserver_name\t") => &ZeekSsl,
            None if contains(fields, b"\tmethod\t") => &ZeekHttp,
            None => &ZeekConn,
        };
        let tabs = |b: &[u8]| b.iter().filter(|c| **c == b'\t').count();
        // `#fields` plus one tab before each name; a record has one tab fewer than it has fields.
        return Some((d, tabs(body) + 1 == tabs(fields)));
    }
    if m365_message_trace::has_context_header(&ctx) && body.contains(&b',') {
        return Some((&M365MessageTrace, true));
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// The Zeek decoder for a `#path` (`dns`, `conn`, ... also `dns_red`-style names).
fn zeek_by_path(path: &[u8]) -> Option<&'static dyn Decoder> {
    let base = path.split(|b| *b == b'_').next().unwrap_or(path);
    match base {
        b"dns" => Some(&ZeekDns),
        b"conn" => Some(&ZeekConn),
        b"http" => Some(&ZeekHttp),
        b"ssl" => Some(&ZeekSsl),
        _ => None,
    }
}

/// A Zeek JSON record's decoder: by `_path` when present, else by its fields
/// (`body` lower-cased: Zeek's keys and `_path` values are lower-case).
fn zeek_json(body: &[u8]) -> &'static dyn Decoder {
    if let Some(i) = find(body, b"\"_path\"") {
        let rest = &body[i + 7..];
        let value = rest.iter().position(|b| *b == b'"').map(|q| &rest[q + 1..]);
        if let Some(v) = value {
            let end = v.iter().position(|b| *b == b'"').unwrap_or(v.len());
            if let Some(d) = zeek_by_path(&v[..end]) {
                return d;
            }
        }
    }
    if contains(body, b"\"query\"") {
        &ZeekDns
    } else if contains(body, b"\"server_name\"") || contains(body, b"\"cipher\"") {
        &ZeekSsl
    } else if contains(body, b"\"method\"") || contains(body, b"\"uri\"") {
        &ZeekHttp
    } else {
        &ZeekConn
    }
}

/// Squid native access.log: `epoch.millis elapsed client CODE/status ...`.
fn looks_like_squid(line: &[u8]) -> bool {
    let mut tokens = line.split(|b| b.is_ascii_whitespace()).filter(|t| !t.is_empty());
    let (Some(time), Some(elapsed), Some(_client), Some(code)) =
        (tokens.next(), tokens.next(), tokens.next(), tokens.next())
    else {
        return false;
    };
    let numeric = |t: &[u8]| !t.is_empty() && t.iter().all(|b| b.is_ascii_digit() || *b == b'.');
    let Some(slash) = code.iter().position(|b| *b == b'/') else { return false };
    numeric(time)
        && time.contains(&b'.')
        && numeric(elapsed)
        && code[..slash].iter().all(|b| b.is_ascii_uppercase() || *b == b'_')
        && numeric(&code[slash + 1..])
}

/// PAN-OS CSV: `,<YYYY/MM/DD HH:MM:SS>,<serial>,<TYPE>,` somewhere in the line
/// (after the optional syslog header and FUTURE_USE field), any log type.
fn looks_like_panos(line: &[u8]) -> bool {
    const TIME: &[u8] = b"dddd/dd/dd dd:dd:dd";
    let is_time = |w: &[u8]| w.iter().zip(TIME).all(|(c, p)| if *p == b'd' { c.is_ascii_digit() } else { c == p });
    (0..line.len().saturating_sub(TIME.len() + 1)).any(|i| {
        if line[i] != b',' || !is_time(&line[i + 1..i + 1 + TIME.len()]) {
            return false;
        }
        let rest = &line[i + 1 + TIME.len()..];
        let Some(rest) = rest.strip_prefix(b",") else { return false };
        let serial = rest.iter().take_while(|c| c.is_ascii_alphanumeric()).count();
        let Some(rest) = rest[serial..].strip_prefix(b",") else { return false };
        let kind = rest.iter().take_while(|c| c.is_ascii_uppercase()).count();
        serial > 0 && kind > 0 && rest.get(kind) == Some(&b',')
    })
}

impl Decoder for Auto {
    fn id(&self) -> &'static str {
        "auto"
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Network, EventClass::Dns, EventClass::Auth, EventClass::Oauth, EventClass::Email]
    }

    fn decode<'a>(
        &self,
        record: &'a [u8],
        ctx: RecordContext<'a>,
        out: &mut Vec<Row<'a>>,
    ) -> Result<DecodeOutcome, DecodeError> {
        let Some(decoder) = recognise(record, ctx) else {
            return Err(DecodeError::new(
                "auto: not recognised as any registered format (see `floodlight formats`; markers in docs/formats.md)",
            ));
        };
        let first = out.len();
        let outcome = decoder
            .decode(record, ctx, out)
            .map_err(|e| DecodeError::new(format!("auto ({}): {}", decoder.id(), e.reason)))?;
        for row in &mut out[first..] {
            row.set_format(decoder.id());
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    const OKTA: &str = include_str!("../../../deploy/demo/logs/okta--system-log.log");
    const M365: &str = include_str!("../../../deploy/demo/logs/m365-audit--unified-audit.log");
    const PANOS: &str = include_str!("../../../deploy/demo/logs/panos--fw01.log");
    const ZEEK: &str = include_str!("../../../deploy/demo/logs/zeek-dns--resolver.log");

    /// Every line of a demo log: what `auto` makes of it equals what its own decoder makes of it.
    fn same_as(text: &str, own: &dyn Decoder) {
        let headers: Vec<Bytes> =
            text.lines().filter(|l| l.starts_with('#')).map(|l| Bytes::copy_from_slice(l.as_bytes())).collect();
        let ctx = RecordContext::with_headers(&headers);
        let mut parsed = 0;
        for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let ra = Auto.decode(line.as_bytes(), ctx, &mut a);
            let rb = own.decode(line.as_bytes(), ctx, &mut b);
            assert_eq!(ra.is_ok(), rb.is_ok(), "{line}: auto {ra:?} vs {} {rb:?}", own.id());
            if let (Ok(x), Ok(y)) = (&ra, &rb) {
                assert_eq!(x, y, "{line}");
                parsed += 1;
            }
            for r in &mut b {
                r.set_format(own.id());
            }
            assert_eq!(
                a.iter().map(Row::to_json).collect::<Vec<_>>(),
                b.iter().map(Row::to_json).collect::<Vec<_>>(),
                "{line}"
            );
        }
        assert!(parsed > 0, "{} demo lines were recognised", own.id());
    }

    #[test]
    fn recognises_every_demo_format_and_decodes_like_it() {
        same_as(OKTA, &Okta);
        same_as(M365, &M365Audit);
        same_as(PANOS, &Panos);
        same_as(ZEEK, &ZeekDns);
    }

    /// Lines from every vendor sample folder are recognised as their own format.
    #[test]
    fn recognises_every_vendor_sample() {
        let cases: &[(&str, &str)] = &[
            ("cisco-asa", include_str!("../../../tests/data/vendor/cisco-asa/asa-syslog.log")),
            ("fortigate", include_str!("../../../tests/data/vendor/fortigate/fortigate-documented.log")),
            ("squid", include_str!("../../../tests/data/vendor/squid/access-documented.log")),
            ("cef", include_str!("../../../tests/data/vendor/cef/cef-documented.log")),
            ("w3c", include_str!("../../../tests/data/vendor/w3c/iis-u_ex240305.log")),
            ("bind-query", include_str!("../../../tests/data/vendor/bind/query-log-arm.log")),
            ("windows-dns", include_str!("../../../tests/data/vendor/windows-dns/windns-sample-lines.txt")),
            ("umbrella-dns", include_str!("../../../tests/data/vendor/umbrella/umbrella-dns-documented.csv")),
            ("entra-signin", include_str!("../../../tests/data/vendor/entra/entra-signin.documented.jsonl")),
            ("entra-audit", include_str!("../../../tests/data/vendor/entra/entra-audit.documented.jsonl")),
            (
                "google-workspace",
                include_str!("../../../tests/data/vendor/google-workspace/google-workspace.documented.jsonl"),
            ),
            ("github-audit", include_str!("../../../tests/data/vendor/github/github-audit.documented.jsonl")),
            ("github-webhook", include_str!("../../../tests/data/vendor/github/github-webhook.jsonl")),
            ("zeek-conn", include_str!("../../../tests/data/vendor/zeek/opt.basic_conn.log")),
            ("zeek-http", include_str!("../../../tests/data/vendor/zeek/opt.basic_http.log")),
            ("zeek-ssl", include_str!("../../../tests/data/vendor/zeek/ssl-doc.json")),
            ("zeek-ssl", include_str!("../../../tests/data/vendor/zeek/ssl-doc.log")),
        ];
        for (want, text) in cases {
            let mut headers = Vec::new();
            let mut seen = 0;
            for line in text.lines() {
                if line.starts_with('#') {
                    headers.push(Bytes::copy_from_slice(line.as_bytes()));
                    continue;
                }
                if line.trim().is_empty() {
                    continue;
                }
                let got = recognise(line.as_bytes(), RecordContext::with_headers(&headers)).map(|d| d.id());
                // Lines a sample keeps on purpose as broken / foreign are fine to miss; most must match.
                if got == Some(*want) {
                    seen += 1;
                }
            }
            let total = text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).count();
            assert!(seen * 10 >= total * 8, "{want}: only {seen} of {total} sample lines recognised");
        }
    }

    /// The casing rule: a JSON record with lower-cased keys is recognised as the same
    /// format and gives the same columns as the vendor's own casing.
    #[test]
    fn lower_cased_json_keys_are_recognised_and_decode_the_same() {
        let cases: &[(&str, &str)] = &[
            ("okta", OKTA),
            ("okta", include_str!("../../../tests/data/vendor/okta/Okta.SystemLog.jsonl")),
            ("m365-audit", include_str!("../../../tests/data/vendor/m365/m365-audit.documented.jsonl")),
            ("m365-audit", include_str!("../../../tests/data/vendor/m365/Microsoft365.Audit.Exchange.jsonl")),
            ("m365-message-trace", include_str!("../../../tests/data/vendor/m365/message-trace.documented.jsonl")),
            ("entra-signin", include_str!("../../../tests/data/vendor/entra/entra-signin.documented.jsonl")),
            ("entra-audit", include_str!("../../../tests/data/vendor/entra/entra-audit.documented.jsonl")),
            (
                "google-workspace",
                include_str!("../../../tests/data/vendor/google-workspace/google-workspace.documented.jsonl"),
            ),
            (
                "google-workspace",
                include_str!("../../../tests/data/vendor/google-workspace/GSuite.ActivityEvent.jsonl"),
            ),
            ("github-audit", include_str!("../../../tests/data/vendor/github/github-audit.documented.jsonl")),
            ("github-audit", include_str!("../../../tests/data/vendor/github/GitHub.Audit.jsonl")),
            ("github-webhook", include_str!("../../../tests/data/vendor/github/github-webhook.jsonl")),
            ("umbrella-dns", include_str!("../../../tests/data/vendor/umbrella/CiscoUmbrella.DNS.jsonl")),
            ("zeek-ssl", include_str!("../../../tests/data/vendor/zeek/ssl-doc.json")),
        ];
        // Columns only: `vendor_fields` of flattened objects keep the record's own key names.
        let columns = |rows: &[Row]| -> Vec<serde_json::Value> {
            rows.iter()
                .map(|r| {
                    let mut j = r.to_json();
                    if let Some(o) = j.as_object_mut() {
                        o.remove("vendor_fields");
                    }
                    j
                })
                .collect()
        };
        for (want, text) in cases {
            let (mut recognised, mut total) = (0, 0);
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let Ok(mut v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
                // Panther's test corpora wrap each event in `{"log": ...}`.
                if let Some(inner) = v.get("log").cloned() {
                    v = inner;
                }
                let original = v.to_string();
                if recognise(original.as_bytes(), RecordContext::default()).map(|d| d.id()) != Some(*want) {
                    continue;
                }
                total += 1;
                let lower = crate::decode::readers::json::lowercase_keys(&original);
                let got = recognise(lower.as_bytes(), RecordContext::default()).map(|d| d.id());
                assert_eq!(got, Some(*want), "lower-cased keys: {lower}");
                recognised += 1;
                let (mut a, mut b) = (Vec::new(), Vec::new());
                let ra = Auto.decode(original.as_bytes(), RecordContext::default(), &mut a);
                let rb = Auto.decode(lower.as_bytes(), RecordContext::default(), &mut b);
                assert_eq!(ra, rb, "{want}: {original}");
                assert_eq!(columns(&a), columns(&b), "{want}: {original}");
            }
            assert!(total > 0 && recognised == total, "{want}: {recognised} of {total}");
        }
    }

    /// GitHub webhook deliveries and GitHub audit events are told apart, both ways, and a webhook
    /// payload without its delivery (no event to read) is not taken for either.
    #[test]
    fn github_webhook_deliveries_are_not_audit_events() {
        let id = |line: &str| recognise(line.as_bytes(), RecordContext::default()).map(|d| d.id());
        let webhook = include_str!("../../../tests/data/vendor/github/github-webhook.jsonl");
        for line in webhook.lines() {
            assert_eq!(id(line), Some("github-webhook"), "{line}");
        }
        let audit = include_str!("../../../tests/data/vendor/github/github-audit.documented.jsonl");
        for line in audit.lines() {
            assert_eq!(id(line), Some("github-audit"), "{line}");
        }
        for line in include_str!("../../../tests/data/vendor/github/GitHub.Audit.jsonl").lines() {
            assert_ne!(id(line), Some("github-webhook"), "{line}");
        }
        // The bare payload of an installation delivery: `action` and `created_at`, but no `actor`.
        let delivery: serde_json::Value = serde_json::from_str(webhook.lines().next().unwrap()).unwrap();
        let payload = delivery["request"]["payload"].to_string();
        assert_eq!(id(&payload), None);
        let mut rows = Vec::new();
        assert_eq!(
            Auto.decode(webhook.lines().nth(6).unwrap().as_bytes(), RecordContext::default(), &mut rows),
            Ok(DecodeOutcome::Skipped("github-webhook: event not modelled")),
            "a push delivery"
        );
        // A captured authorization revocation has no time: kept, for the pipeline to infer one.
        let untimed = Auto.decode(webhook.lines().nth(9).unwrap().as_bytes(), RecordContext::default(), &mut rows);
        assert_eq!(untimed, Ok(DecodeOutcome::Parsed(1)));
        assert_eq!(rows.pop().map(|r| r.time()), Some(crate::schema::Timestamp::UNKNOWN));
        Auto.decode(webhook.lines().next().unwrap().as_bytes(), RecordContext::default(), &mut rows).unwrap();
        assert_eq!(rows[0].to_json()["format"], "github-webhook");
    }

    /// A Zeek line that fits its header is Zeek even when its text looks like
    /// another format's marker (a DNS query log mentions `client ` and `query: `).
    #[test]
    fn a_line_that_fits_the_zeek_header_is_zeek() {
        let headers = [
            Bytes::from_static(b"#separator \\x09"),
            Bytes::from_static(b"#path\tdns"),
            Bytes::from_static(b"#fields\tts\tuid\tquery\tnote"),
        ];
        let ctx = RecordContext::with_headers(&headers);
        let fits = b"1700000000.0\tC1\texample.com\tclient 10.0.0.1 query: x";
        assert_eq!(recognise(fits, ctx).map(|d| d.id()), Some("zeek-dns"));
        // One field short: the markers decide first.
        let short = b"1700000000.0\tclient 10.0.0.1#5353 (x): query: x IN A";
        assert_eq!(recognise(short, ctx).map(|d| d.id()), Some("bind-query"));
    }

    #[test]
    fn json_arrays_are_recognised_by_their_events() {
        let okta: Vec<&str> = OKTA.lines().filter(|l| l.contains("session.start")).take(2).collect();
        let page = format!("[ {} ]", okta.join(","));
        let mut rows = Vec::new();
        assert_eq!(Auto.decode(page.as_bytes(), RecordContext::default(), &mut rows), Ok(DecodeOutcome::Parsed(2)));
        assert_eq!(rows[1].to_json()["format"], "okta");
        // A bracketed text line is not JSON: it goes on to the text markers.
        assert_eq!(
            recognise(b"[2026-01-01] client 10.0.0.1#5353 (x): query: x IN A", RecordContext::default())
                .map(|d| d.id()),
            Some("bind-query")
        );
    }

    #[test]
    fn rows_carry_the_recognised_format() {
        let line = OKTA.lines().find(|l| l.contains("user.session.start")).expect("a sign-in in the demo");
        let mut rows = Vec::new();
        Auto.decode(line.as_bytes(), RecordContext::default(), &mut rows).expect("decodes");
        assert_eq!(rows[0].to_json()["format"], "okta");
    }

    #[test]
    fn unrecognised_records_are_errors_naming_what_was_tried() {
        for rec in [&b"hello world"[..], b"{\"a\":1}", b"", &[0xff, 0xfe, 0x00]] {
            let err = Auto.decode(rec, RecordContext::default(), &mut Vec::new()).unwrap_err();
            assert!(err.reason.contains("not recognised"), "{err}");
        }
        let err = Auto
            .decode(b"{\"eventType\":\"user.session.start\",\"published\":", RecordContext::default(), &mut Vec::new())
            .unwrap_err();
        assert!(err.reason.starts_with("auto (okta): "), "{err}");
    }

    proptest! {
        /// Any bytes, and any demo line with bytes flipped: an outcome, never a panic.
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300), line in 0usize..40, flip in any::<(usize, u8)>()) {
            let _ = Auto.decode(&data, RecordContext::default(), &mut Vec::new());
            let all: Vec<&str> = [OKTA, M365, PANOS, ZEEK].iter().flat_map(|t| t.lines()).collect();
            let mut bytes = all[line % all.len()].as_bytes().to_vec();
            if !bytes.is_empty() {
                let i = flip.0 % bytes.len();
                bytes[i] = flip.1;
            }
            let _ = Auto.decode(&bytes, RecordContext::default(), &mut Vec::new());
        }
    }
}
