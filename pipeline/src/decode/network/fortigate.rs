//! `fortigate`: Fortinet FortiGate (FortiOS 5.6–7.x) logs in FortiOS's
//! default `key=value` syslog format, with or without a syslog `<PRI>` or
//! RFC 3164 header in front. Values are bare (`srcport=51544`) or quoted
//! (`msg="URL belongs to a denied category"`), inside quotes `\"` and `\\`
//! are escapes. Words without `=` before the first pair (a syslog header) are
//! ignored.
//!
//! | FortiOS field | column |
//! |---|---|
//! | `eventtime` (epoch; 10 digits s as in 6.0, 13 ms, 16 µs, 19 ns as in 6.2+), else `date` + `time` + `tz` (`-0800`; no `tz` = UTC) | `time` |
//! | `srcip` / `dstip` | `src_ip` / `dst_ip` |
//! | `srcport` / `dstport` | `src_port` / `dst_port` |
//! | `proto` (IP protocol number: 6 → `tcp`, 17 → `udp`, 1 → `icmp`) | `protocol` |
//! | `action` + `utmaction` (see below) | `action` |
//! | `sentbyte` / `rcvdbyte` | `bytes_out` / `bytes_in` |
//! | `user`, else `unauthuser` | `user` |
//! | `srcname` (when not just the address) | `device` |
//! | `app` (traffic: Application Control name, e.g. `Dropbox_File.Upload`) | `vendor_app` |
//! | `hostname` (lower case, port removed) | `host` |
//! | `url`: a full URL as is, a path (`/bizsquads`, FortiOS 5.6–7.0) prefixed with the host | `url` |
//! | `httpmethod` (FortiOS 7.x web filter) | `http_method` |
//! | `catdesc` (FortiGuard category) | `url_category` |
//!
//! Actions: traffic `deny` → `deny`; every other traffic action (`accept`,
//! `close`, `timeout`, `client-rst`, `server-rst`, `start`...) means the
//! policy allowed the session → `allow`, unless `utmaction` says a security
//! profile blocked it (`block` → `deny`, `reset` → `reset`). Web filter
//! `blocked` → `deny`, `passthrough` / `exempt` → `allow`, `monitor*` →
//! `alert`. `vendor` is `Fortinet`, `product` `FortiGate`.
//!
//! `type=traffic` (all subtypes) and `type=utm subtype=webfilter` become
//! `network` rows. Other types (`event`, `utm` virus / ips / app-ctrl /
//! dns / ssl ...) are skipped as `fortigate: log type not modelled`. A record
//! with no `key=value` pairs or no `type`, an unterminated quote, an invalid
//! address / port / number / `tz`, or no time is dead-lettered naming the
//! field.

use std::borrow::Cow;

use crate::decode::readers::scan::{Delimit, Delimiters, Memchr};
use crate::decode::readers::syslog::{strip_pri, zone_offset};
use crate::decode::readers::text::{
    self, clean_host, lower_case, map_opt, map_str, protocol_name, upper_case, KeySet, Pairs,
};
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::time::parse_any;
use crate::schema::{EventClass, NetworkEvent, Row, Str, Timestamp};

/// Decoder for `fortigate`.
pub struct Fortigate;

/// The `key=value` pairs of a FortiOS log line, in order. Quoted values
/// (`"..."`, with `\\"` and `\\\\` escapes) are borrowed unless they had escapes.
pub(crate) fn pairs(line: &str) -> Result<Pairs<'_>, DecodeError> {
    match Delimiters::new(line.as_bytes()) {
        Some(bitmaps) => pairs_with(line, &bitmaps),
        None => pairs_with(line, &Memchr(line.as_bytes())),
    }
}

/// [`pairs`], jumping between delimiters with `find`.
fn pairs_with<'a>(line: &'a str, find: &impl Delimit) -> Result<Pairs<'a>, DecodeError> {
    let b = line.as_bytes();
    let mut i = 0;
    let mut out = Vec::with_capacity(48);
    while i < b.len() {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        let start = i;
        i = find.key_end(i);
        if i >= b.len() || b[i] != b'=' || i == start {
            // A word without `=` (syslog header) or a stray `=`: not a pair.
            if i < b.len() && b[i] == b'=' {
                i += 1;
            }
            continue;
        }
        let key = &line[start..i];
        i += 1;
        if b.get(i) == Some(&b'"') {
            i += 1;
            let mut owned: Option<String> = None;
            let mut seg = i;
            let value_start = i;
            loop {
                // Straight to the next quote or backslash.
                i = find.quote_or_escape(i);
                match b.get(i) {
                    None => {
                        return Err(DecodeError::new(format!(
                            "fortigate: quoted value of `{key}` (at byte {start}) is not terminated"
                        )))
                    }
                    Some(b'"') => {
                        let value = match owned {
                            Some(mut o) => {
                                o.push_str(&line[seg..i]);
                                Cow::Owned(o)
                            }
                            None => Cow::Borrowed(&line[value_start..i]),
                        };
                        out.push((key, value));
                        i += 1;
                        break;
                    }
                    Some(b'\\') if matches!(b.get(i + 1), Some(b'"' | b'\\')) => {
                        let o = owned.get_or_insert_with(String::new);
                        o.push_str(&line[seg..i]);
                        o.push(char::from(b[i + 1]));
                        i += 2;
                        seg = i;
                    }
                    Some(_) => i += 1,
                }
            }
        } else {
            let vstart = i;
            i = find.value_end(i);
            out.push((key, Cow::Borrowed(&line[vstart..i])));
        }
    }
    Ok(Pairs::new(out))
}

fn ip<'a>(p: &Pairs<'a>, key: &str) -> Result<Option<Str<'a>>, DecodeError> {
    match p.text(key) {
        None => Ok(None),
        Some(Cow::Borrowed(v)) => text::ip("fortigate", format_args!("`{key}`"), Some(v)),
        Some(Cow::Owned(v)) => {
            Ok(text::ip("fortigate", format_args!("`{key}`"), Some(&v))?.map(|a| Cow::Owned(a.into_owned())))
        }
    }
}

fn port(p: &Pairs<'_>, key: &str) -> Result<Option<i32>, DecodeError> {
    match p.get(key) {
        None => Ok(None),
        Some(v) => v
            .parse::<u16>()
            .map(|n| Some(i32::from(n)))
            .map_err(|_| DecodeError::new(format!("fortigate: `{key}` `{v}` is not a port number"))),
    }
}

fn count(p: &Pairs<'_>, key: &str) -> Result<Option<i64>, DecodeError> {
    match p.get(key) {
        None => Ok(None),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .and_then(|n| i64::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| DecodeError::new(format!("fortigate: `{key}` `{v}` is not a byte count"))),
    }
}

/// `eventtime` by its number of digits, else `date` + `time` (+ `tz`).
fn time_of(p: &Pairs<'_>) -> Result<Timestamp, DecodeError> {
    if let Some(et) = p.get("eventtime") {
        let n = et
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0 && et.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| DecodeError::new(format!("fortigate: `eventtime` `{et}` is not an epoch number")))?;
        let micros = match et.len() {
            0..=11 => n * 1_000_000,
            12..=14 => n * 1_000,
            15..=17 => n,
            _ => n / 1_000,
        };
        return Ok(Timestamp(micros));
    }
    let (Some(date), Some(clock)) = (p.get("date"), p.get("time")) else {
        return Err(DecodeError::new("fortigate: no `eventtime` and no `date` + `time`"));
    };
    let local = parse_any(&format!("{date} {clock}"))
        .filter(|_| date.contains('-'))
        .ok_or_else(|| DecodeError::new(format!("fortigate: `date`/`time` `{date} {clock}` is not a time")))?;
    let offset = match p.get("tz") {
        None => 0,
        Some(tz) => {
            zone_offset(tz).ok_or_else(|| DecodeError::new(format!("fortigate: `tz` `{tz}` is not a UTC offset")))?
        }
    };
    Ok(Timestamp(local.0.saturating_sub(i64::from(offset) * 1_000_000)))
}

fn traffic_action(action: Option<&str>, utm: Option<&str>) -> Option<&'static str> {
    let a = action?;
    let is = |v: &str, set: &[&str]| set.iter().any(|x| v.eq_ignore_ascii_case(x));
    Some(if is(a, &["deny", "denied", "block", "blocked"]) {
        "deny"
    } else if starts_with_ignoring_case(a, "drop") {
        "drop"
    } else if utm.is_some_and(|u| is(u, &["block", "blocked"])) {
        "deny"
    } else if utm.is_some_and(|u| is(u, &["reset"])) {
        "reset"
    } else {
        "allow"
    })
}

/// Whether `s` starts with `prefix`, ASCII case ignored. Compares bytes: a
/// value's first `prefix.len()` bytes may end inside a character.
fn starts_with_ignoring_case(s: &str, prefix: &str) -> bool {
    s.as_bytes().get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
}

fn webfilter_action(action: &str) -> Str<'_> {
    let is = |set: &[&str]| set.iter().any(|x| action.eq_ignore_ascii_case(x));
    if is(&["blocked", "block", "deny"]) {
        Cow::Borrowed("deny")
    } else if is(&["passthrough", "exempt", "allow", "allowed", "pass"]) {
        Cow::Borrowed("allow")
    } else if starts_with_ignoring_case(action, "monitor") {
        Cow::Borrowed("alert")
    } else {
        lower_case(action)
    }
}

/// [`MAPPED`], for lookups.
static MAPPED_KEYS: std::sync::LazyLock<KeySet> = std::sync::LazyLock::new(|| KeySet::new(MAPPED));

/// FortiOS keys with a column of their own (the rest go to `vendor_fields`).
const MAPPED: &[&str] = &[
    "eventtime",
    "date",
    "time",
    "tz",
    "type",
    "subtype",
    "srcip",
    "srcport",
    "dstip",
    "dstport",
    "proto",
    "action",
    "utmaction",
    "sentbyte",
    "rcvdbyte",
    "hostname",
    "url",
    "httpmethod",
    "user",
    "unauthuser",
    "srcname",
    "app",
    "catdesc",
];

impl Decoder for Fortigate {
    fn id(&self) -> &'static str {
        "fortigate"
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Network]
    }

    fn decode<'a>(
        &self,
        record: &'a [u8],
        ctx: RecordContext<'a>,
        out: &mut Vec<Row<'a>>,
    ) -> Result<DecodeOutcome, DecodeError> {
        let line = record_text(record)?;
        let p = pairs(strip_pri(line))?.indexed(&MAPPED_KEYS);
        if p.is_empty() {
            return Err(DecodeError::new("fortigate: no `key=value` fields"));
        }
        let log_type = p
            .get("type")
            .ok_or_else(|| DecodeError::new("fortigate: no `type` field (not a FortiOS key=value log?)"))?;
        let subtype = p.get("subtype").unwrap_or("");
        let webfilter = (log_type.eq_ignore_ascii_case("utm") && subtype.eq_ignore_ascii_case("webfilter"))
            || log_type.eq_ignore_ascii_case("webfilter");
        if !log_type.eq_ignore_ascii_case("traffic") && !webfilter {
            return Ok(DecodeOutcome::Skipped("fortigate: log type not modelled"));
        }
        let time = time_of(&p)?;
        let src_ip = ip(&p, "srcip")?;
        let host = p.text("hostname").and_then(|h| map_opt(h, clean_host));
        let url = p.text("url").map(|u| match (&host, u.starts_with('/')) {
            (Some(h), true) => Cow::Owned(format!("{h}{u}")),
            _ => u,
        });
        let url_host = match &url {
            Some(Cow::Borrowed(u)) => text::url_host(u),
            Some(Cow::Owned(u)) => text::url_host(u).map(|h| Cow::Owned(h.into_owned())),
            None => None,
        };
        let mut e = NetworkEvent {
            time,
            vendor: Some("Fortinet".into()),
            product: Some("FortiGate".into()),
            src_port: port(&p, "srcport")?,
            dst_ip: ip(&p, "dstip")?,
            dst_port: port(&p, "dstport")?,
            protocol: p.text("proto").map(|v| map_str(v, protocol_name)),
            action: if webfilter {
                p.text("action").map(|a| map_str(a, webfilter_action))
            } else {
                traffic_action(p.get("action"), p.get("utmaction")).map(Cow::Borrowed)
            },
            bytes_out: count(&p, "sentbyte")?,
            bytes_in: count(&p, "rcvdbyte")?,
            host: host.or(url_host),
            url,
            http_method: p.text("httpmethod").map(|m| map_str(m, upper_case)),
            user: p.text("user").or_else(|| p.text("unauthuser")),
            device: p.text("srcname").filter(|n| Some(n) != src_ip.as_ref()),
            vendor_app: p.text("app"),
            url_category: p.text("catdesc"),
            src_ip,
            ..Default::default()
        };
        if ctx.vendor_fields {
            p.rest_into(&MAPPED_KEYS, &mut e.vendor_fields);
        }
        out.push(Row::Network(e));
        Ok(DecodeOutcome::Parsed(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DOCUMENTED: &str = include_str!("../../../../tests/data/vendor/fortigate/fortigate-documented.log");

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row<'static>>), DecodeError> {
        let mut out = Vec::new();
        let o = Fortigate.decode(line.as_bytes(), RecordContext::default(), &mut out)?;
        Ok((o, out.into_iter().map(Row::into_static).collect()))
    }

    fn net(line: &str) -> NetworkEvent<'static> {
        match decode(line) {
            Ok((DecodeOutcome::Parsed(1), mut rows)) => match rows.pop() {
                Some(Row::Network(e)) => e,
                other => panic!("expected a network row, got {other:?}"),
            },
            other => panic!("expected one row for {line}, got {other:?}"),
        }
    }

    fn line_with(needle: &str) -> &'static str {
        DOCUMENTED.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no line with {needle}"))
    }

    /// Found by the `network` fuzz target: an action whose fourth (or, in a
    /// web filter log, seventh) byte is inside a character was sliced there
    /// to compare its prefix, and the decoder panicked.
    #[test]
    fn an_action_with_a_character_across_the_prefix_is_not_cut() {
        let traffic = "eventtime=1715433139 type=\"traffic\" subtype=\"forward\" srcip=10.0.0.1 action=\"bl+\u{41a}\"";
        assert_eq!(net(traffic).action.as_deref(), Some("allow"));
        let drop = "eventtime=1715433139 type=\"traffic\" subtype=\"forward\" action=\"DROP\u{41a}\"";
        assert_eq!(net(drop).action.as_deref(), Some("drop"));
        let web =
            "eventtime=1715433139 type=\"utm\" subtype=\"webfilter\" hostname=\"a.example\" action=\"monito\u{41a}\"";
        assert_eq!(net(web).action.as_deref(), Some("monito\u{43a}"));
        let web =
            "eventtime=1715433139 type=\"utm\" subtype=\"webfilter\" hostname=\"a.example\" action=\"Monitor\u{41a}\"";
        assert_eq!(net(web).action.as_deref(), Some("alert"));
        // `fuzz/known/network-fortigate-action-slice.log`, inline: the
        // image's build context leaves `fuzz/` out.
        let artifact = b"d*ate=202f'fEFf'fEFa.tsnte=2100FTK20000001\" eventtime=17154331394 tz=\"+0100\" logid=\"0tbound \" type=\"traffic\" su\x00\x00\x00\x00\x00logid=\"0St3name=\"WeTransfer.lt\" action=\"bl+\xd0\x9a\"001lo\"";
        let mut out = Vec::new();
        assert!(Fortigate.decode(artifact, RecordContext::default(), &mut out).is_ok(), "the fuzz artifact decodes");
    }

    #[test]
    fn traffic_with_nanosecond_eventtime() {
        let e = net(line_with("sessionid=8812345"));
        assert_eq!(e.time.to_rfc3339(), "2024-03-05T14:03:07.123Z");
        assert_eq!(e.time.0, 1_709_647_387_123_456);
        assert_eq!(e.src_ip.as_deref(), Some("10.20.1.31"));
        assert_eq!(e.dst_ip.as_deref(), Some("162.125.1.18"));
        assert_eq!((e.src_port, e.dst_port), (Some(51544), Some(443)));
        assert_eq!(e.protocol.as_deref(), Some("tcp"));
        assert_eq!(e.action.as_deref(), Some("allow"));
        assert_eq!((e.bytes_out, e.bytes_in), (Some(48_211_977), Some(88_341)));
        assert_eq!(e.user.as_deref(), Some("ana.pereira"));
        assert_eq!(e.device.as_deref(), Some("LT-ANA-01"));
        assert_eq!(e.vendor_app.as_deref(), Some("Dropbox_File.Upload"));
        assert_eq!(e.host.as_deref(), Some("content.dropboxapi.com"));
        assert_eq!((e.vendor.as_deref(), e.product.as_deref()), (Some("Fortinet"), Some("FortiGate")));
    }

    #[test]
    fn traffic_time_forms_and_actions() {
        // FortiOS 5.6: bare values, no eventtime, no tz → date + time as UTC.
        let e = net(line_with("sessionid=8812399"));
        assert_eq!(e.time.to_rfc3339(), "2024-03-05T14:05:00.000Z");
        assert_eq!(e.action.as_deref(), Some("deny"));
        assert_eq!((e.bytes_out, e.bytes_in), (Some(0), Some(0)));
        assert_eq!(e.device, None, "srcname equal to srcip is not a device name");
        // FortiOS 6.0: eventtime in seconds beats the local date/time; utmaction=block → deny.
        let e = net(line_with("sessionid=8812420"));
        assert_eq!(e.time.to_rfc3339(), "2024-03-05T14:07:00.000Z");
        assert_eq!(e.action.as_deref(), Some("deny"));
        assert_eq!(e.user.as_deref(), Some("bo.lindqvist"), "unauthuser when there is no user");
        assert_eq!(e.vendor_app.as_deref(), Some("Reddit"));
        // IPv6, microsecond eventtime, UDP.
        let e = net(line_with("sessionid=8812455"));
        assert_eq!(e.time.0, 1_709_647_680_000_001);
        assert_eq!(e.src_ip.as_deref(), Some("2001:db8:10::5"));
        assert_eq!(e.dst_ip.as_deref(), Some("2606:4700::6810:84e5"));
        assert_eq!(e.protocol.as_deref(), Some("udp"));
        // date + time + tz, no eventtime.
        let e = net(line_with("sessionid=8812470"));
        assert_eq!(e.time.to_rfc3339(), "2024-03-05T14:09:30.000Z");
        assert_eq!(e.action.as_deref(), Some("allow"));
    }

    #[test]
    fn webfilter_blocked_and_passthrough() {
        let e = net(line_with("sessionid=8812501"));
        assert_eq!(e.time.to_rfc3339(), "2024-03-05T14:10:31.502Z");
        assert_eq!(e.host.as_deref(), Some("wetransfer.com"));
        assert_eq!(e.url.as_deref(), Some("wetransfer.com/uploads"));
        assert_eq!(e.url_category.as_deref(), Some("File Sharing and Storage"));
        assert_eq!(e.action.as_deref(), Some("deny"));
        assert_eq!(e.user.as_deref(), Some("ana.pereira"));
        assert_eq!((e.bytes_out, e.bytes_in), (Some(517), Some(0)));
        let e = net(line_with("sessionid=8812530"));
        assert_eq!(e.host.as_deref(), Some("docs.google.com"), "port removed");
        assert_eq!(e.url.as_deref(), Some("https://docs.google.com/document/d/1x/save?id=1"));
        assert_eq!(e.http_method.as_deref(), Some("POST"));
        assert_eq!(e.action.as_deref(), Some("allow"));
        assert_eq!(e.url_category.as_deref(), Some("Information Technology"));
    }

    /// With `vendor_fields` dropped downstream, the decoder skips collecting
    /// them and every column is as it was.
    #[test]
    fn vendor_fields_are_skipped_only_when_dropped() {
        for line in DOCUMENTED.lines() {
            let (mut with, mut without) = (Vec::new(), Vec::new());
            let ctx = RecordContext::default();
            let Ok(outcome) = Fortigate.decode(line.as_bytes(), ctx, &mut with) else { continue };
            let skip = RecordContext { vendor_fields: false, ..ctx };
            assert_eq!(Fortigate.decode(line.as_bytes(), skip, &mut without).ok(), Some(outcome), "{line}");
            for (a, b) in with.iter_mut().zip(&without) {
                let (Row::Network(a), Row::Network(b)) = (a, b) else { panic!("not network rows") };
                assert!(b.vendor_fields.is_empty(), "{line}");
                if matches!(outcome, DecodeOutcome::Parsed(_)) && line.contains("sessionid=") {
                    assert!(!a.vendor_fields.is_empty(), "the documented lines have unmapped keys: {line}");
                }
                a.vendor_fields = Default::default();
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{line}");
            }
            assert_eq!(with.len(), without.len());
        }
    }

    /// The indexed lookups answer exactly what a scan of the line answers,
    /// duplicates and empty values included.
    #[test]
    fn indexed_lookups_agree_with_a_scan() {
        let tricky = "type=traffic user= user=\"ana\" srcip=\"  \" srcip=10.0.0.1 app=x app=y url=\"\"";
        // Names past the 128th pair are found by hashing again, not from the bits.
        let long: String = (0..150).map(|i| format!("k{i}=v ")).collect::<String>() + "type=traffic dstip=10.0.0.2 z=1";
        for line in DOCUMENTED.lines().chain([tricky, long.as_str()]) {
            let Ok(plain) = pairs(strip_pri(line)) else { continue };
            let indexed = pairs(strip_pri(line)).unwrap().indexed(&MAPPED_KEYS);
            for key in MAPPED.iter().chain(&["msg", "devname", "nosuchkey"]) {
                assert_eq!(indexed.get(key), plain.get(key), "get {key} in {line}");
                assert_eq!(indexed.text(key), plain.text(key), "text {key} in {line}");
            }
            let mut rest = crate::schema::VendorFields::default();
            indexed.rest_into(&MAPPED_KEYS, &mut rest);
            let mut scanned = crate::schema::VendorFields::default();
            for (k, v) in plain.pairs_for_tests() {
                if !MAPPED.contains(k) {
                    scanned.push(*k, v.clone());
                }
            }
            assert_eq!(rest, scanned, "{line}");
        }
        let p = pairs(tricky).unwrap().indexed(&MAPPED_KEYS);
        assert_eq!((p.get("user"), p.text("user").as_deref()), (None, Some("ana")), "first pair, first filled pair");
        assert_eq!((p.get("srcip"), p.text("srcip").as_deref()), (None, Some("10.0.0.1")));
        assert_eq!(p.get("app"), Some("x"));
        assert_eq!((p.get("url"), p.text("url")), (None, None));
        for (i, name) in MAPPED.iter().enumerate() {
            assert_eq!(MAPPED_KEYS.find(name), Some(i), "{name}");
        }
        assert_eq!(MAPPED_KEYS.find("devname"), None);
        assert_eq!(MAPPED_KEYS.find(""), None);
    }

    #[test]
    fn quoted_values_and_escapes() {
        let line = line_with("sessionid=8812530");
        let p = pairs(line).unwrap();
        let msg = p.get("msg").unwrap();
        assert_eq!(msg, r#"URL belongs to an allowed category in policy "monitor-all""#);
        assert_eq!(p.get("agent"), Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"));
        let p = pairs(r#"a="x\\" b=2 c="" d="é ü""#).unwrap();
        assert_eq!(p.get("a"), Some("x\\"));
        assert_eq!(p.get("b"), Some("2"));
        assert_eq!(p.get("c"), None);
        assert_eq!(p.get("d"), Some("é ü"));
    }

    #[test]
    fn syslog_headers_are_ignored() {
        let base = line_with("sessionid=8812345");
        for prefix in ["<189>", "<189>Mar  5 15:03:07 FGT-HQ ", "Mar  5 15:03:07 10.20.0.1 "] {
            let e = net(&format!("{prefix}{base}"));
            assert_eq!(e.time.0, 1_709_647_387_123_456, "{prefix}");
            assert_eq!(e.src_ip.as_deref(), Some("10.20.1.31"));
        }
    }

    #[test]
    fn other_types_skipped_and_broken_lines_rejected() {
        for needle in ["type=\"event\"", "subtype=\"virus\""] {
            assert_eq!(
                decode(line_with(needle)).unwrap().0,
                DecodeOutcome::Skipped("fortigate: log type not modelled")
            );
        }
        let reason = |l: &str| decode(l).unwrap_err().reason;
        assert!(reason("hello world").contains("no `key=value`"));
        assert!(reason("date=2024-03-05 time=10:00:00 srcip=10.0.0.1").contains("no `type`"));
        let base = line_with("sessionid=8812345");
        assert!(reason(&base.replace("srcip=10.20.1.31", "srcip=10.20.1.311")).contains("`srcip` `10.20.1.311`"));
        assert!(reason(&base.replace("dstport=443", "dstport=https")).contains("`dstport`"));
        assert!(reason(&base.replace("sentbyte=48211977", "sentbyte=-1")).contains("`sentbyte`"));
        assert!(reason(&base.replace("eventtime=1709647387123456789", "eventtime=soon")).contains("`eventtime`"));
        let truncated = &base[..base.find("app=\"Dropbox").unwrap() + 10];
        assert!(reason(truncated).contains("quoted value of `app`"), "{truncated}");
        let no_time = "type=traffic subtype=forward srcip=10.0.0.1 dstip=10.0.0.2";
        assert!(reason(no_time).contains("no `eventtime`"));
        let bad_tz = "date=2024-03-05 time=10:00:00 tz=\"Mars\" type=traffic srcip=10.0.0.1";
        assert!(reason(bad_tz).contains("`tz` `Mars`"));
    }

    #[test]
    fn every_documented_line_has_an_outcome() {
        for line in DOCUMENTED.lines().filter(|l| !l.trim().is_empty()) {
            assert!(decode(line).is_ok(), "{line}: {:?}", decode(line));
        }
    }

    fn one_outcome(bytes: &[u8]) {
        let mut out = Vec::new();
        match Fortigate.decode(bytes, RecordContext::default(), &mut out) {
            Ok(DecodeOutcome::Parsed(n)) => assert!(n >= 1 && n == out.len()),
            Ok(DecodeOutcome::Skipped(_)) | Err(_) => assert!(out.is_empty()),
        }
    }

    #[test]
    fn doc_example_json() {
        let mut out = Vec::new();
        Fortigate.decode(line_with("sessionid=8812501").as_bytes(), RecordContext::default(), &mut out).unwrap();
        out[0].set_origin(&crate::origin::event_id("stdin", None, 1), "stdin:1", Fortigate.id());
        crate::decode::doc_example::check("fortigate.md", &out[0].to_json());
    }

    /// The splitting `pairs` did byte by byte before it used `memchr`: the
    /// oracle the property below compares it with.
    fn pairs_byte_by_byte(line: &str) -> Option<Vec<(String, String)>> {
        let b = line.as_bytes();
        let (mut i, mut out) = (0, Vec::new());
        while i < b.len() {
            while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                i += 1;
            }
            let start = i;
            while i < b.len() && !matches!(b[i], b'=' | b' ' | b'\t') {
                i += 1;
            }
            if i >= b.len() || b[i] != b'=' || i == start {
                i += usize::from(i < b.len() && b[i] == b'=');
                continue;
            }
            let key = line[start..i].to_string();
            i += 1;
            let mut value = Vec::new();
            if b.get(i) == Some(&b'"') {
                i += 1;
                loop {
                    match b.get(i)? {
                        b'"' => break,
                        b'\\' if matches!(b.get(i + 1), Some(b'"' | b'\\')) => {
                            value.push(b[i + 1]);
                            i += 1;
                        }
                        other => value.push(*other),
                    }
                    i += 1;
                }
                i += 1;
            } else {
                while i < b.len() && b[i] != b' ' && b[i] != b'\t' {
                    value.push(b[i]);
                    i += 1;
                }
            }
            out.push((key, String::from_utf8(value).ok()?));
        }
        Some(out)
    }

    proptest! {
        #[test]
        fn pairs_split_like_the_byte_by_byte_oracle(line in "[a-c=\" \\\\\té]{0,200}") {
            let owned = |p: Pairs<'_>| {
                p.pairs_for_tests().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>()
            };
            let oracle = pairs_byte_by_byte(&line);
            // The bitmaps (lines up to `Delimiters::MAX_LEN`) and memchr.
            prop_assert_eq!(pairs(&line).ok().map(owned), oracle.clone(), "{:?}", line);
            prop_assert_eq!(pairs_with(&line, &Memchr(line.as_bytes())).ok().map(owned), oracle, "{:?}", line);
        }

        #[test]
        fn never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            pick in 0usize..64,
            at in 0usize..1200,
            with in any::<u8>(),
            cut in 0usize..1200,
        ) {
            one_outcome(&bytes);
            let lines: Vec<&str> = DOCUMENTED.lines().collect();
            let mut line = lines[pick % lines.len()].as_bytes().to_vec();
            let at = at % line.len().max(1);
            if at < line.len() {
                line[at] = with;
            }
            one_outcome(&line);
            line.insert(at.min(line.len()), with);
            one_outcome(&line);
            one_outcome(&line[..cut.min(line.len())]);
        }
    }
}
