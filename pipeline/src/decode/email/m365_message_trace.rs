//! `m365-message-trace`: Exchange Online message trace, one message per
//! record, as `email` rows (`kind = message`). Accepted forms:
//!
//! * **JSON**, one object per line: `Get-MessageTrace` / `Get-MessageTraceV2`
//!   (Exchange Online PowerShell V3) output piped through
//!   `ConvertTo-Json -Compress` (property names `Received`, `SenderAddress`,
//!   `RecipientAddress`, `Subject`, `Status`, `ToIP`, `FromIP`, `Size`,
//!   `MessageId`, `MessageTraceId`, plus `Organization`, `StartDate`,
//!   `EndDate`, `Index` when present); the Microsoft Graph
//!   `exchangeMessageTrace` resource (`receivedDateTime`, `senderAddress`,
//!   `recipientAddress`, `fromIP`, `toIP`, `size`, `status`, `subject`,
//!   `messageId`, `id`); a batch of either — a Graph page `{"value": [...]}`
//!   or the legacy Reporting Web Service `{"d": {"results": [...]}}` — with
//!   one outcome for the whole batch. Keys match case-insensitively.
//! * **CSV**, one row per line, in either export layout:
//!   `Get-MessageTrace[V2] | Export-Csv` (the columns above) and the
//!   Exchange admin center's downloadable summary / enhanced summary report
//!   (`origin_timestamp_utc`, `sender_address`, `recipient_status`,
//!   `message_subject`, `total_bytes`, `message_id`, `network_message_id`,
//!   `original_client_ip`, `directionality`, `connector_id`,
//!   `delivery_priority`). Columns are read by name from the header row when
//!   the stream passes it as a header line (`#` + the header row, optionally
//!   `#Fields: ` + the header row); otherwise a row is read in the documented
//!   default order of its layout — the ten columns `Received, SenderAddress,
//!   RecipientAddress, Subject, Status, ToIP, FromIP, Size, MessageId,
//!   MessageTraceId`, or the eleven admin-center columns in the order above —
//!   after checking that its time and status columns hold a time and a
//!   delivery status. The header row itself, arriving as a record, is
//!   skipped (`m365-message-trace: header row`).
//!
//! | field (JSON key / CSV column, case and `_` ignored) | column |
//! |---|---|
//! | `Received` / `receivedDateTime` / `origin_timestamp_utc` (UTC; ISO 8601 with any fraction, `/Date(ms)/` as Windows PowerShell 5.1 `ConvertTo-Json` writes it, `M/d/yyyy h:mm:ss tt` and `d.M.yyyy HH:mm:ss` as `Export-Csv` writes it under en-US / de-DE cultures) | `time` |
//! | `SenderAddress` / `sender_address` | `sender` and `user` |
//! | `RecipientAddress` (`;` or `,` separated), else the addresses of `recipient_status` (`addr##Receive, Deliver;addr2##...`) | `recipients` (one row for all of them) |
//! | `Subject` / `message_subject` | `subject` |
//! | `Size` / `total_bytes` | `size` |
//! | `Status` (`Delivered`, `Failed`, `Pending`, `Expanded`, `Quarantined`, `FilteredAsSpam`, `GettingStatus`, `None`, as written), else the last event of the first recipient in `recipient_status` (`Deliver` / `Send` → `Delivered`, `Fail` → `Failed`, `Expand` → `Expanded`, `Defer` → `Pending`, `Quarantine` → `Quarantined`, others as written) | `result` |
//! | `FromIP` / `original_client_ip` (IPv4 or IPv6, checked) | `src_ip` |
//! | `directionality` (`Originating` / `2` → `outbound`, `Incoming` / `1` → `inbound`, `IntraOrg` → `internal`) | `direction` |
//! | every other field (`ToIP`, `MessageId`, `MessageTraceId`, `Organization`, `network_message_id`, `connector_id`, `delivery_priority`, `recipient_status`, ...) | `vendor_fields`, under the vendor's name |
//!
//! `vendor` is `Microsoft`, `product` `Exchange Online message trace`. The
//! message trace carries no attachment count (`attachments` stays null) and
//! no direction outside the admin-center report (`direction` is then null:
//! telling inbound from outbound by the organisation's domains is
//! enrichment's job). The PowerShell remoting and OData envelope fields
//! (`PSComputerName`, `RunspaceId`, `PSShowComputerName`, `__metadata`) are
//! not kept.
//!
//! **Skipped**: the CSV header row; blank lines; an empty batch.
//! **Dead-lettered**, naming the field and value: invalid JSON or UTF-8, a
//! record without a receive time or with one that is not a time, a size that
//! is not a number, a `FromIP` that is not an IP address, broken CSV quoting
//! that leaves too few columns, a CSV row with no header line before it that
//! matches neither default layout.

use std::borrow::Cow;

use chrono::{NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};

use crate::decode::readers::json;
use crate::decode::readers::json::decode_items;
use crate::decode::readers::text::{bad_value, ip, split_csv};
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::time::{from_epoch_number, parse_any};
use crate::schema::{EmailEvent, EventClass, Row, Str, Timestamp, VendorFields};

/// Decoder for `m365-message-trace`.
pub struct M365MessageTrace;

const ID: &str = "m365-message-trace";

/// Skip reason of the CSV header row.
pub const HEADER_ROW: &str = "m365-message-trace: header row";

fn err(reason: impl std::fmt::Display) -> DecodeError {
    DecodeError::new(format!("{ID}: {reason}"))
}

/// What a field of the message trace maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Time,
    Sender,
    Recipients,
    RecipientStatus,
    Subject,
    Status,
    FromIp,
    Size,
    Direction,
    /// PowerShell / OData envelope: not kept.
    Envelope,
    /// Known message-trace field without a column (kept in `vendor_fields`).
    Known,
    /// Any other field (kept in `vendor_fields`).
    Other,
}

/// The column a field name maps to, comparing case-insensitively and
/// ignoring `_`, spaces and a UTF-8 byte-order mark.
fn column(name: &str) -> Col {
    let mut buf = [0u8; 24];
    let mut n = 0;
    for b in name.trim_start_matches('\u{feff}').trim().trim_matches('"').bytes() {
        if b == b'_' || b == b' ' {
            continue;
        }
        if n == buf.len() {
            return Col::Other;
        }
        buf[n] = b.to_ascii_lowercase();
        n += 1;
    }
    match &buf[..n] {
        b"received" | b"receiveddatetime" | b"origintimestamputc" | b"origintimestamp" => Col::Time,
        b"senderaddress" => Col::Sender,
        b"recipientaddress" | b"recipientaddresses" => Col::Recipients,
        b"recipientstatus" => Col::RecipientStatus,
        b"subject" | b"messagesubject" => Col::Subject,
        b"status" => Col::Status,
        b"fromip" | b"originalclientip" => Col::FromIp,
        b"size" | b"totalbytes" => Col::Size,
        b"directionality" => Col::Direction,
        b"pscomputername" | b"runspaceid" | b"psshowcomputername" | b"metadata" => Col::Envelope,
        b"toip" | b"messageid" | b"messagetraceid" | b"id" | b"networkmessageid" | b"connectorid"
        | b"deliverypriority" | b"organization" | b"startdate" | b"enddate" | b"index" => Col::Known,
        _ => Col::Other,
    }
}

/// The delivery statuses `Get-MessageTrace` documents.
const STATUSES: &[&str] = &[
    "delivered",
    "failed",
    "pending",
    "expanded",
    "quarantined",
    "filteredasspam",
    "gettingstatus",
    "none",
    "resolved",
];

/// Default column order of `Get-MessageTrace | Select-Object ... | Export-Csv`.
const POWERSHELL_LAYOUT: &[&str] = &[
    "Received",
    "SenderAddress",
    "RecipientAddress",
    "Subject",
    "Status",
    "ToIP",
    "FromIP",
    "Size",
    "MessageId",
    "MessageTraceId",
];

/// Column order of the admin center's summary / enhanced summary report.
const ADMIN_CENTER_LAYOUT: &[&str] = &[
    "origin_timestamp_utc",
    "sender_address",
    "recipient_status",
    "message_subject",
    "total_bytes",
    "message_id",
    "network_message_id",
    "original_client_ip",
    "directionality",
    "connector_id",
    "delivery_priority",
];

/// Times as message traces write them: ISO 8601 (any fraction), `/Date(ms)/`,
/// `M/d/yyyy h:mm:ss tt`, `M/d/yyyy HH:mm:ss`, `d.M.yyyy HH:mm:ss`.
pub fn parse_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/")) {
        // `/Date(1709647387123)/`, optionally with an offset (`+0000`) that does not change the instant.
        let end = inner.char_indices().skip(1).find(|(_, c)| *c == '+' || *c == '-').map_or(inner.len(), |(i, _)| i);
        let millis: i64 = inner[..end].parse().ok()?;
        return Some(Timestamp(millis.checked_mul(1000)?));
    }
    if s.contains('.') && !s.contains('-') && s.contains(' ') {
        // `05.03.2024 14:03:07`: day first.
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, "%d.%m.%Y %H:%M:%S") {
            return Some(Timestamp::from_datetime(&Utc.from_utc_datetime(&dt)));
        }
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        // Epoch numbers are not a message-trace time.
        return s.parse::<f64>().ok().filter(|n| *n > 1e9).map(from_epoch_number);
    }
    parse_any(s)
}

/// `Originating` → `outbound`, `Incoming` → `inbound`.
fn direction(v: &str) -> Option<&'static str> {
    let v = v.trim();
    if v.eq_ignore_ascii_case("originating") || v == "2" || v.eq_ignore_ascii_case("outbound") {
        Some("outbound")
    } else if v.eq_ignore_ascii_case("incoming") || v == "1" || v.eq_ignore_ascii_case("inbound") {
        Some("inbound")
    } else if v.eq_ignore_ascii_case("intraorg") || v.eq_ignore_ascii_case("internal") {
        Some("internal")
    } else {
        None
    }
}

/// The status of a recipient's last `recipient_status` event.
fn event_status(event: &str) -> Str<'_> {
    let e = event.trim();
    let mapped = match e.to_ascii_lowercase().as_str() {
        "deliver" | "send" => "Delivered",
        "fail" => "Failed",
        "expand" => "Expanded",
        "defer" => "Pending",
        "quarantine" => "Quarantined",
        _ => return Cow::Borrowed(e),
    };
    Cow::Borrowed(mapped)
}

/// A text value, trimmed, borrowed when it was.
fn trimmed(v: Str<'_>) -> Option<Str<'_>> {
    let out = match v {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) if s.trim().len() == s.len() => Cow::Owned(s),
        Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
    };
    (!out.is_empty() && out != "<>").then_some(out)
}

/// The pieces of a `;`/`,` separated address list, borrowed when the list was.
fn split_list<'a>(v: &Str<'a>, out: &mut Vec<Str<'a>>) {
    match v {
        Cow::Borrowed(s) => {
            out.extend(s.split([';', ',']).map(str::trim).filter(|p| !p.is_empty()).map(Cow::Borrowed));
        }
        Cow::Owned(s) => {
            out.extend(s.split([';', ',']).map(str::trim).filter(|p| !p.is_empty()).map(|p| Cow::Owned(p.to_string())));
        }
    }
}

/// The recipients and the first recipient's last event of a
/// `recipient_status` value (`a@x##Receive, Deliver;b@y##Receive, Fail`).
fn recipient_status<'a>(v: &Str<'a>, recipients: &mut Vec<Str<'a>>) -> Option<Str<'a>> {
    fn walk<'s>(s: &'s str, recipients: &mut Vec<&'s str>) -> Option<&'s str> {
        let mut first = None;
        for piece in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (addr, events) = piece.split_once("##").unwrap_or((piece, ""));
            if !addr.trim().is_empty() {
                recipients.push(addr.trim());
            }
            if first.is_none() {
                first = events.rsplit(',').map(str::trim).find(|e| !e.is_empty());
            }
        }
        first
    }
    match v {
        Cow::Borrowed(s) => {
            let mut r = Vec::new();
            let last = walk(s, &mut r);
            recipients.extend(r.into_iter().map(Cow::Borrowed));
            last.map(event_status)
        }
        Cow::Owned(s) => {
            let mut r = Vec::new();
            let last = walk(s, &mut r);
            recipients.extend(r.into_iter().map(|a| Cow::Owned(a.to_string())));
            last.map(|e| Cow::Owned(event_status(e).into_owned()))
        }
    }
}

/// One message being assembled from (name, value) fields.
#[derive(Default)]
struct Message<'a> {
    time: Option<(Str<'a>, Str<'a>)>,
    sender: Option<Str<'a>>,
    recipients: Vec<Str<'a>>,
    status_recipients: Vec<Str<'a>>,
    subject: Option<Str<'a>>,
    status: Option<Str<'a>>,
    event_status: Option<Str<'a>>,
    from_ip: Option<(Str<'a>, Str<'a>)>,
    size: Option<(Str<'a>, Str<'a>)>,
    direction: Option<&'static str>,
    vendor_fields: VendorFields<'a>,
}

impl<'a> Message<'a> {
    /// Take one field.
    fn field(&mut self, name: Str<'a>, value: Str<'a>) {
        let col = column(&name);
        if col == Col::Envelope {
            return;
        }
        let Some(v) = trimmed(value) else { return };
        match col {
            Col::Time => self.time = Some((name, v)),
            Col::Sender => self.sender = Some(v),
            Col::Recipients => split_list(&v, &mut self.recipients),
            Col::RecipientStatus => {
                self.event_status = recipient_status(&v, &mut self.status_recipients);
                self.vendor_fields.push(name, v);
            }
            Col::Subject => self.subject = Some(v),
            Col::Status => self.status = Some(v),
            Col::FromIp => self.from_ip = Some((name, v)),
            Col::Size => self.size = Some((name, v)),
            Col::Direction => match direction(&v) {
                Some(d) => self.direction = Some(d),
                None => self.vendor_fields.push(name, v),
            },
            Col::Envelope => {}
            Col::Known | Col::Other => self.vendor_fields.push(name, v),
        }
    }

    fn into_row(self) -> Result<Row<'a>, DecodeError> {
        let (name, raw) =
            self.time.ok_or_else(|| err("missing the receive time (`Received` / `origin_timestamp_utc`)"))?;
        let time = parse_time(&raw).ok_or_else(|| bad_value(ID, format_args!("`{name}`"), &raw, "a time"))?;
        let size = match self.size {
            None => None,
            Some((name, v)) => Some(
                v.trim().parse::<i64>().map_err(|_| bad_value(ID, format_args!("`{name}`"), &v, "a size in bytes"))?,
            ),
        };
        let src_ip = match self.from_ip {
            None => None,
            Some((name, Cow::Borrowed(v))) => ip(ID, format_args!("`{name}`"), Some(v))?,
            Some((name, Cow::Owned(v))) => {
                ip(ID, format_args!("`{name}`"), Some(&v))?.map(|a| Cow::Owned(a.into_owned()))
            }
        };
        let recipients = if self.recipients.is_empty() { self.status_recipients } else { self.recipients };
        Ok(Row::Email(EmailEvent {
            time,
            vendor: Some("Microsoft".into()),
            product: Some("Exchange Online message trace".into()),
            kind: Some("message".into()),
            user: self.sender.clone(),
            sender: self.sender,
            recipients,
            subject: self.subject,
            size,
            result: self.status.or(self.event_status),
            src_ip,
            direction: self.direction.map(Cow::Borrowed),
            vendor_fields: self.vendor_fields,
            ..Default::default()
        }))
    }
}

/// A JSON value as field text (strings as they are, numbers and booleans as text).
fn json_text(v: &Value) -> Option<Str<'static>> {
    match v {
        Value::String(s) => Some(Cow::Owned(s.clone())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

fn decode_object(obj: &Map<String, Value>, out: &mut Vec<Row<'_>>) -> Result<DecodeOutcome, DecodeError> {
    let mut m = Message::default();
    for (k, v) in obj {
        match column(k) {
            Col::Envelope => {}
            Col::Known | Col::Other => {
                if let Value::Array(_) | Value::Object(_) = v {
                    json::flatten_into(&mut m.vendor_fields, Cow::Owned(k.clone()), v);
                } else if let Some(t) = json_text(v) {
                    m.field(Cow::Owned(k.clone()), t);
                }
            }
            _ => {
                if let Value::Array(items) = v {
                    // A list of recipients.
                    let joined: Vec<String> = items.iter().filter_map(json_text).map(Cow::into_owned).collect();
                    m.field(Cow::Owned(k.clone()), Cow::Owned(joined.join(";")));
                } else if let Some(t) = json_text(v) {
                    m.field(Cow::Owned(k.clone()), t);
                }
            }
        }
    }
    if m.time.is_none() && m.sender.is_none() && m.recipients.is_empty() {
        return Err(err("not a message trace record (no `Received`, `SenderAddress` or `RecipientAddress`)"));
    }
    out.push(m.into_row()?);
    Ok(DecodeOutcome::Parsed(1))
}

fn decode_json(text: &str, out: &mut Vec<Row<'_>>) -> Result<DecodeOutcome, DecodeError> {
    let obj = json::parse_object(text).map_err(|e| err(e.reason))?;
    let batch = match json::get(&obj, "value") {
        Some(Value::Array(items)) => Some(("value", items)),
        _ => match json::path(&obj, &["d", "results"]) {
            Some(Value::Array(items)) => Some(("d.results", items)),
            _ => None,
        },
    };
    if let Some((key, items)) = batch {
        return decode_items(key, items, "m365-message-trace: empty batch", out, decode_object);
    }
    decode_object(&obj, out)
}

/// The CSV header named by a header line (`#` + header row, or
/// `#Fields: ` + header row), when it is a message-trace header.
fn header_line(h: &str) -> Option<&str> {
    let h = h.trim_start_matches('\u{feff}').strip_prefix('#')?;
    let h = match h.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("Fields:") => &h[7..],
        _ => h,
    };
    let h = h.trim();
    is_header(h).then_some(h)
}

/// Whether a CSV line is a message-trace header row: it names a receive
/// time, a sender and at least one more message-trace column.
pub fn is_header(line: &str) -> bool {
    let mut fields = Vec::new();
    split_csv(line, b',', &mut fields);
    let cols: Vec<Col> = fields.iter().map(|f| column(f)).collect();
    cols.contains(&Col::Time)
        && cols.contains(&Col::Sender)
        && cols.iter().filter(|c| !matches!(c, Col::Other | Col::Envelope)).count() >= 3
}

/// The header row the stream passed before this record, if any (latest wins).
fn context_header<'a>(ctx: &RecordContext<'a>) -> Option<&'a str> {
    ctx.headers.iter().rev().find_map(|h| header_line(std::str::from_utf8(h).ok()?))
}

/// The default layout a header-less CSV row is in, checked by its time and status columns.
fn default_layout(fields: &[Str<'_>]) -> Option<&'static [&'static str]> {
    let has_at_or_empty = |s: &str| s.trim().is_empty() || s.contains('@') || s.trim() == "<>";
    match fields.len() {
        10 if parse_time(&fields[0]).is_some()
            && STATUSES.contains(&fields[4].trim().to_ascii_lowercase().as_str())
            && has_at_or_empty(&fields[1])
            && fields[2].contains('@') =>
        {
            Some(POWERSHELL_LAYOUT)
        }
        11 if parse_time(&fields[0]).is_some() && fields[2].contains("##") && has_at_or_empty(&fields[1]) => {
            Some(ADMIN_CENTER_LAYOUT)
        }
        _ => None,
    }
}

/// Whether a header-less CSV line is a message-trace row in a default layout
/// (for `auto`).
pub fn looks_like_csv_row(line: &[u8]) -> bool {
    if line.iter().filter(|b| **b == b',').count() < 9 || !line.contains(&b'@') {
        return false;
    }
    let Ok(text) = std::str::from_utf8(line) else { return false };
    let mut fields = Vec::new();
    split_csv(text.trim(), b',', &mut fields);
    default_layout(&fields).is_some()
}

/// Whether a record is a message-trace CSV header row (for `auto`).
pub fn is_header_bytes(line: &[u8]) -> bool {
    if !line.windows(6).any(|w| w.eq_ignore_ascii_case(b"sender")) {
        return false;
    }
    std::str::from_utf8(line).is_ok_and(|t| is_header(t.trim_start_matches('\u{feff}').trim()))
}

/// Whether `ctx` holds a message-trace header row (for `auto`).
pub fn has_context_header(ctx: &RecordContext<'_>) -> bool {
    context_header(ctx).is_some()
}

fn decode_csv<'a>(text: &'a str, ctx: RecordContext<'a>, out: &mut Vec<Row<'a>>) -> Result<DecodeOutcome, DecodeError> {
    let mut fields = Vec::new();
    split_csv(text, b',', &mut fields);
    if fields.len() >= 3 && is_header(text) {
        return Ok(DecodeOutcome::Skipped(HEADER_ROW));
    }
    let mut m = Message::default();
    if let Some(header) = context_header(&ctx) {
        let mut names = Vec::new();
        split_csv(header, b',', &mut names);
        if fields.len() < names.len() {
            return Err(err(format!(
                "line has {} columns, the header row names {} (broken quoting or a cut line?)",
                fields.len(),
                names.len()
            )));
        }
        // Extra trailing columns (a newer export) are kept under their 1-based position.
        let n = names.len();
        let extra = fields.split_off(n);
        for (name, value) in names.into_iter().zip(fields) {
            m.field(name, value);
        }
        for (i, value) in extra.into_iter().enumerate() {
            m.field(Cow::Owned(format!("column_{}", n + i + 1)), value);
        }
    } else {
        let layout = default_layout(&fields).ok_or_else(|| {
            err(format!(
                "CSV line with {} columns and no header row before it, in neither default layout \
                 (pass the header row as a `#` header line, or export JSON)",
                fields.len()
            ))
        })?;
        for (name, value) in layout.iter().zip(fields) {
            m.field(Cow::Borrowed(*name), value);
        }
    }
    out.push(m.into_row()?);
    Ok(DecodeOutcome::Parsed(1))
}

impl Decoder for M365MessageTrace {
    fn id(&self) -> &'static str {
        ID
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Email]
    }

    fn decode<'a>(
        &self,
        record: &'a [u8],
        ctx: RecordContext<'a>,
        out: &mut Vec<Row<'a>>,
    ) -> Result<DecodeOutcome, DecodeError> {
        let text = record_text(record).map_err(|e| err(e.reason))?.trim();
        if text.is_empty() {
            return Ok(DecodeOutcome::Skipped("m365-message-trace: blank line"));
        }
        if text.starts_with('{') {
            decode_json(text, out)
        } else {
            decode_csv(text, ctx, out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    const JSONL: &str = include_str!("../../../../tests/data/vendor/m365/message-trace.documented.jsonl");
    const POWERSHELL: &str = include_str!("../../../../tests/data/vendor/m365/message-trace-powershell.csv");
    const ADMIN: &str = include_str!("../../../../tests/data/vendor/m365/message-trace-admin-center.csv");

    fn decode_with<'a>(line: &'a str, headers: &'a [Bytes]) -> Result<(DecodeOutcome, Vec<Row<'a>>), DecodeError> {
        let mut out = Vec::new();
        let o = M365MessageTrace.decode(line.as_bytes(), RecordContext::with_headers(headers), &mut out)?;
        Ok((o, out))
    }

    fn email_with<'a>(line: &'a str, headers: &'a [Bytes]) -> EmailEvent<'a> {
        match decode_with(line, headers) {
            Ok((DecodeOutcome::Parsed(1), mut rows)) => match rows.pop() {
                Some(Row::Email(e)) => e,
                other => panic!("expected an email row, got {other:?}"),
            },
            other => panic!("expected one row for {line}, got {other:?}"),
        }
    }

    fn email(line: &str) -> EmailEvent<'_> {
        email_with(line, &[])
    }

    fn line(text: &str, i: usize) -> &str {
        text.lines().nth(i).unwrap()
    }

    #[test]
    fn powershell_7_json() {
        let e = email(line(JSONL, 0));
        assert_eq!(e.time.to_rfc3339(), "2026-11-24T09:41:07.513Z");
        assert_eq!(e.kind.as_deref(), Some("message"));
        assert_eq!(e.sender.as_deref(), Some("dana.kim@contoso.com"));
        assert_eq!(e.user.as_deref(), Some("dana.kim@contoso.com"));
        assert_eq!(e.recipients, ["dana.kim.home@gmail.com"]);
        assert_eq!(e.subject.as_deref(), Some("Q4 board deck"));
        assert_eq!(e.size, Some(48_211_977));
        assert_eq!(e.result.as_deref(), Some("Delivered"));
        assert_eq!(e.src_ip.as_deref(), Some("2001:db8:4c1::25"));
        assert_eq!(e.direction, None, "Get-MessageTrace has no direction");
        assert_eq!(e.attachments, None);
        assert_eq!(
            (e.vendor.as_deref(), e.product.as_deref()),
            (Some("Microsoft"), Some("Exchange Online message trace"))
        );
        let v = &e.vendor_fields;
        assert_eq!(v.get("ToIP"), Some("142.250.102.27"));
        assert_eq!(v.get("MessageTraceId"), Some("6f1c0a52-3b7e-4d2a-9c11-5e0f8a7b6c3d"));
        assert_eq!(v.get("Organization"), Some("contoso.onmicrosoft.com"));
        assert_eq!(v.get("MessageId"), Some("<PH0PR11MB4872C1D2E3F4A5B6@PH0PR11MB4872.namprd11.prod.outlook.com>"));
        assert_eq!(v.get("FromIP"), None, "in `src_ip`");
    }

    #[test]
    fn windows_powershell_json_with_date_literals() {
        let e = email(line(JSONL, 1));
        assert_eq!(e.time.to_rfc3339(), "2026-11-24T09:41:07.000Z");
        assert_eq!(e.result.as_deref(), Some("FilteredAsSpam"));
        assert_eq!(e.sender.as_deref(), Some("billing@saas-vendor.example"));
        assert_eq!(e.src_ip.as_deref(), Some("198.51.100.25"));
        let v = &e.vendor_fields;
        assert_eq!(v.get("StartDate"), Some("/Date(1795478400000)/"));
        assert_eq!(v.get("Index"), Some("1"));
        assert_eq!(v.get("ToIP"), None, "null is not kept");
        for envelope in ["PSComputerName", "RunspaceId", "PSShowComputerName"] {
            assert_eq!(v.get(envelope), None, "{envelope}");
        }
    }

    #[test]
    fn graph_resources_and_pages() {
        let e = email(line(JSONL, 2));
        assert_eq!(e.time.to_rfc3339(), "2026-11-24T10:02:44.000Z");
        assert_eq!(e.sender.as_deref(), Some("ops@contoso.com"));
        assert_eq!(e.recipients, ["orders@fabrikam.example"]);
        assert_eq!(e.result.as_deref(), Some("failed"));
        assert_eq!(e.size, Some(5120));
        assert_eq!(e.vendor_fields.get("id"), Some("4d3c2b1a-9e8f-4a7b-b6c5-d4e3f2a1b0c9"));
        assert_eq!(e.vendor_fields.get("toIP"), None, "empty is not kept");
        let (o, rows) = decode_with(line(JSONL, 3), &[]).unwrap();
        assert_eq!(o, DecodeOutcome::Parsed(2));
        let Row::Email(second) = &rows[1] else { panic!("expected email") };
        assert_eq!(second.recipients, ["chen.li@contoso.com"]);
        assert_eq!(second.vendor_fields.get("@odata.context"), None);
        assert_eq!(
            decode_with(r#"{"value":[]}"#, &[]).unwrap().0,
            DecodeOutcome::Skipped("m365-message-trace: empty batch")
        );
        let legacy = r#"{"d":{"results":[{"__metadata":{"id":"x","type":"TenantReporting.MessageTrace"},"Organization":"contoso.onmicrosoft.com","MessageId":"<m@x>","Received":"/Date(1395134716000)/","SenderAddress":"a@contoso.com","RecipientAddress":"b@fabrikam.example","Subject":"s","Status":"Delivered","ToIP":null,"FromIP":"192.0.2.10","Size":1000,"MessageTraceId":"5f3c7a8e-0000-4000-8000-000000000001","StartDate":"/Date(1395014400000)/","EndDate":"/Date(1395187200000)/","Index":0}]}}"#;
        let e = email(legacy);
        assert_eq!(e.time.to_rfc3339(), "2014-03-18T09:25:16.000Z");
        assert_eq!(e.vendor_fields.get("__metadata.id"), None);
    }

    #[test]
    fn powershell_csv_with_its_header_as_context() {
        let header = POWERSHELL.lines().next().unwrap();
        assert_eq!(decode_with(header, &[]).unwrap().0, DecodeOutcome::Skipped(HEADER_ROW));
        let as_context = [Bytes::from(format!("#{}", header.trim_start_matches('\u{feff}')))];
        let e = email_with(line(POWERSHELL, 1), &as_context);
        assert_eq!(e.time.to_rfc3339(), "2026-11-24T09:41:07.000Z");
        assert_eq!(e.recipients, ["dana.kim.home@gmail.com"]);
        assert_eq!(e.size, Some(48_211_977));
        assert!(matches!(e.sender, Some(Cow::Borrowed(_))), "CSV values borrow from the record");
        let two = email_with(line(POWERSHELL, 2), &as_context);
        assert_eq!(two.recipients, ["ana.pereira@contoso.com", "bob.smith@contoso.com"], "one row for every recipient");
        assert_eq!(two.subject.as_deref(), Some("Re: \"Q4\" plan, final"));
        assert_eq!(two.time.to_rfc3339(), "2026-11-24T09:44:30.000Z");
        let ndr = email_with(line(POWERSHELL, 3), &as_context);
        assert_eq!((ndr.sender, ndr.src_ip, ndr.result.as_deref()), (None, None, Some("Failed")));
        assert_eq!(ndr.time.to_rfc3339(), "2026-11-24T13:15:02.000Z", "PM");
        // `#Fields: ` form, and no header at all: the default layout gives the same rows.
        let fields = [Bytes::from(format!("#Fields: {}", header.trim_start_matches('\u{feff}')))];
        for ctx in [&fields[..], &[]] {
            let e2 = email_with(line(POWERSHELL, 2), ctx);
            assert_eq!(e2.recipients, two.recipients);
            assert_eq!(e2.vendor_fields, two.vendor_fields);
            assert_eq!(e2.result, two.result);
        }
        assert_eq!(two.vendor_fields.get("MessageTraceId"), Some("1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"));
    }

    #[test]
    fn admin_center_report_csv() {
        let header = ADMIN.lines().next().unwrap();
        assert!(header.starts_with('\u{feff}'));
        assert_eq!(decode_with(header, &[]).unwrap().0, DecodeOutcome::Skipped(HEADER_ROW));
        let out = email(line(ADMIN, 1));
        assert_eq!(out.time.to_rfc3339(), "2026-11-24T09:41:07.513Z");
        assert_eq!(out.direction.as_deref(), Some("outbound"));
        assert_eq!(out.recipients, ["dana.kim.home@gmail.com"]);
        assert_eq!(out.result.as_deref(), Some("Delivered"), "Receive, Send");
        assert_eq!(out.src_ip.as_deref(), Some("2001:db8:4c1::25"));
        assert_eq!(out.size, Some(48_211_977));
        assert_eq!(out.vendor_fields.get("network_message_id"), Some("6f1c0a523b7e4d2a9c115e0f8a7b6c3d"));
        assert_eq!(out.vendor_fields.get("delivery_priority"), Some("Normal"));
        assert_eq!(out.vendor_fields.get("recipient_status"), Some("dana.kim.home@gmail.com##Receive, Send"));
        let internal = email(line(ADMIN, 2));
        assert_eq!(internal.recipients, ["ana.pereira@contoso.com", "bob.smith@contoso.com"]);
        assert_eq!(internal.result.as_deref(), Some("Delivered"));
        let inbound = email(line(ADMIN, 3));
        assert_eq!(inbound.direction.as_deref(), Some("inbound"));
        assert_eq!(inbound.result.as_deref(), Some("Failed"));
        assert_eq!(inbound.vendor_fields.get("connector_id"), Some("Inbound from saas-vendor"));
        // With the header as context: the same row.
        let ctx = [Bytes::from(format!("#{}", header.trim_start_matches('\u{feff}')))];
        let with = email_with(line(ADMIN, 3), &ctx);
        assert_eq!(with.vendor_fields, inbound.vendor_fields);
        assert_eq!(with.direction, inbound.direction);
    }

    #[test]
    fn times_in_every_documented_form() {
        let t = |s| parse_time(s).map(Timestamp::to_rfc3339);
        assert_eq!(t("/Date(1795513267000)/").as_deref(), Some("2026-11-24T09:41:07.000Z"));
        assert_eq!(t("/Date(1795513267000+0000)/").as_deref(), Some("2026-11-24T09:41:07.000Z"));
        assert_eq!(t("2026-11-24T09:41:07.5134087Z").as_deref(), Some("2026-11-24T09:41:07.513Z"));
        assert_eq!(t("2026-11-24T10:41:07+01:00").as_deref(), Some("2026-11-24T09:41:07.000Z"));
        assert_eq!(t("11/24/2026 9:41:07 AM").as_deref(), Some("2026-11-24T09:41:07.000Z"));
        assert_eq!(t("11/24/2026 21:41:07").as_deref(), Some("2026-11-24T21:41:07.000Z"));
        assert_eq!(t("24.11.2026 09:41:07").as_deref(), Some("2026-11-24T09:41:07.000Z"));
        assert_eq!(t("yesterday"), None);
        assert_eq!(t("/Date(x)/"), None);
        assert_eq!(t("/Date(99999999999999999)/"), None, "overflow");
    }

    #[test]
    fn malformed_records_are_dead_lettered_naming_the_field() {
        let reason = |l: &str| decode_with(l, &[]).unwrap_err().reason;
        assert!(reason("{not json").contains("invalid JSON"));
        assert!(reason(r#"{"SenderAddress":"a@x.com"}"#).contains("missing the receive time"));
        assert!(reason(r#"{"foo":1}"#).contains("not a message trace record"));
        assert_eq!(
            reason(r#"{"Received":"soon","SenderAddress":"a@x.com"}"#),
            "m365-message-trace: `Received` `soon` is not a time"
        );
        assert_eq!(
            reason(r#"{"Received":"2026-11-24T09:41:07Z","SenderAddress":"a@x.com","Size":"big"}"#),
            "m365-message-trace: `Size` `big` is not a size in bytes"
        );
        assert_eq!(
            reason(r#"{"Received":"2026-11-24T09:41:07Z","FromIP":"10.0.0.999"}"#),
            "m365-message-trace: `FromIP` `10.0.0.999` is not an IP address"
        );
        assert!(reason("a,b,c").contains("no header row before it"));
        let header = [Bytes::from_static(b"#Received,SenderAddress,RecipientAddress,Status")];
        let mut out = Vec::new();
        let e =
            M365MessageTrace.decode(b"2026-11-24T09:41:07Z,a@x.com", RecordContext::with_headers(&header), &mut out);
        assert!(e.unwrap_err().reason.contains("the header row names 4"));
        assert!(reason("\u{ff}").contains("not valid UTF-8") || reason("\u{ff}").contains("no header row"));
        let mut out = Vec::new();
        let bad = M365MessageTrace.decode(&[0xff, b'{'], RecordContext::default(), &mut out).unwrap_err();
        assert!(bad.reason.starts_with("m365-message-trace: record is not valid UTF-8"), "{}", bad.reason);
        assert_eq!(decode_with("  ", &[]).unwrap().0, DecodeOutcome::Skipped("m365-message-trace: blank line"));
    }

    #[test]
    fn umbrella_and_other_csv_are_not_a_default_layout() {
        let umbrella = r#""2026-11-24 09:12:03","ana","ana,LAPTOP","10.0.0.5","198.51.100.1","Allowed","1 (A)","NOERROR","www.example.com.","Software/Technology""#;
        assert!(!looks_like_csv_row(umbrella.as_bytes()));
        assert!(looks_like_csv_row(line(POWERSHELL, 1).as_bytes()));
        assert!(looks_like_csv_row(line(ADMIN, 2).as_bytes()));
        assert!(!is_header_bytes(b"a,b,c"));
        assert!(is_header_bytes(POWERSHELL.lines().next().unwrap().as_bytes()));
    }

    #[test]
    fn doc_example_json() {
        let (_, mut rows) = decode_with(line(ADMIN, 1), &[]).unwrap();
        rows[0].set_origin(&crate::origin::event_id("stdin", None, 2), "stdin:2", ID);
        crate::decode::doc_example::check("m365-message-trace.md", &rows[0].to_json());
    }

    proptest! {
        #[test]
        fn never_panics_and_gives_one_outcome(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            which in 0usize..64,
            cut in 0usize..600,
            flip in any::<(usize, u8)>(),
        ) {
            let headers = [Bytes::from_static(b"#Received,SenderAddress,RecipientAddress,Subject,Status,ToIP,FromIP,Size")];
            let all: Vec<&str> = [JSONL, POWERSHELL, ADMIN].iter().flat_map(|t| t.lines()).collect();
            let mut mutated = all[which % all.len()].as_bytes().to_vec();
            mutated.truncate(cut.max(1));
            if !mutated.is_empty() {
                let i = flip.0 % mutated.len();
                mutated[i] = flip.1;
            }
            for data in [&bytes[..], &mutated[..]] {
                for ctx in [RecordContext::default(), RecordContext::with_headers(&headers)] {
                    let mut out = Vec::new();
                    match M365MessageTrace.decode(data, ctx, &mut out) {
                        Ok(DecodeOutcome::Parsed(n)) => prop_assert_eq!(n, out.len()),
                        Ok(DecodeOutcome::Skipped(_)) | Err(_) => prop_assert!(out.is_empty()),
                    }
                }
            }
        }
    }
}
