//! `cef`: ArcSight Common Event Format (CEF 0 and 1, "Implementing ArcSight
//! CEF" rev. 25), with or without a syslog header in front:
//! `[<PRI>header ]CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|ext`.
//! In the header `\|` and `\\` are escapes; the extension is `key=value`
//! pairs whose values may contain spaces (a value ends where the next
//! ` key=` begins) and `\=`, `\\`, `\n`, `\r` escapes. `CEF: 0` (a space
//! after the colon, as FortiOS writes it) is accepted.
//!
//! | CEF key (short / full name) | column |
//! |---|---|
//! | `rt` / `deviceReceiptTime`, else `end`, else `start`, else the syslog header's time | `time` |
//! | `src` / `sourceAddress`, else `c6a2` (IPv6) | `src_ip` |
//! | `dst` / `destinationAddress`, else `c6a3` | `dst_ip` |
//! | `spt` / `sourcePort`, `dpt` / `destinationPort` | `src_port`, `dst_port` |
//! | `proto` / `transportProtocol` (`TCP`, `6`) | `protocol` (lower case, numbers as names) |
//! | `act` / `deviceAction` | `action` (see below) |
//! | `out` / `bytesOut`, `in` / `bytesIn` | `bytes_out`, `bytes_in` |
//! | `dhost` / `destinationHostName` (lower case, port removed), else the host of `request` | `host` |
//! | `request` / `requestURL` (a path-only request is prefixed with the host) | `url` |
//! | `requestMethod` | `http_method` |
//! | `suser` / `sourceUserName`, else `duser` (FortiOS puts the user there) | `user` |
//! | `shost` / `sourceHostName` | `device` |
//! | a `csN` labelled `appname` / `application`, else `app` / `applicationProtocol` | `vendor_app` |
//! | a `csN` whose label names a category (`URL Category`, `urlcat`), else `cat` / `deviceEventCategory` | `url_category` |
//! | header Device Vendor / Device Product | `vendor` / `product` |
//!
//! `in` / `out` are read from the source's point of view, as Fortinet,
//! Palo Alto Networks and most web proxies fill them (`out` = sent by the
//! client). Actions: values containing `block`, `deny`, `denied`, `reject`
//! → `deny`; `drop` → `drop`; `reset`/`rst` → `reset`; `allow`, `accept`,
//! `permit`, `pass`, `success`, `observed`, `proxied`, and session ends
//! (`close`, `timeout`, `client-rst`, `server-rst`, `start`) → `allow`;
//! `alert`, `detect`, `monitor` → `alert`; others are kept in lower case.
//!
//! Times: epoch milliseconds, ISO 8601, or the CEF text forms
//! `MMM dd [yyyy] HH:mm:ss[.SSS] [zone]`; a zone-less text time is read in
//! the extension's `dtz` zone when it is a UTC offset or abbreviation, else
//! as UTC; a year-less one gets the most recent year.
//!
//! Events with none of `src`, `dst`, `dhost`, `shost`, `request` (and
//! their IPv6 / full-name forms) are skipped as `cef: event has no network
//! fields`. Dead-lettered: no `CEF:` marker, fewer than 7 header fields, a
//! version other than 0/1, an invalid address, port or byte count, an
//! unparsable `rt` / `end` / `start` or unknown zone / `dtz`, no time at all.

use std::net::IpAddr;

use std::borrow::Cow;

use crate::decode::readers::syslog::{month_name_time, syslog_header_time, zone_offset};
use crate::decode::readers::text::{self, action, clean_host, map_opt, map_str, protocol_name, upper_case};
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::time::{from_epoch_number, parse_any};
use crate::schema::{EventClass, NetworkEvent, Row, Str, Timestamp};

/// Decoder for `cef`.
pub struct Cef;

/// The 7 header fields after `CEF:` (unescaped) and the raw extension.
fn header(body: &str) -> Result<(Vec<Str<'_>>, &str), DecodeError> {
    let b = body.as_bytes();
    let mut fields: Vec<Str<'_>> = Vec::with_capacity(7);
    let mut cur: Option<String> = None;
    let (mut seg, mut i, mut start) = (0, 0, 0);
    while i < b.len() && fields.len() < 7 {
        match b[i] {
            b'\\' if matches!(b.get(i + 1), Some(b'|' | b'\\')) => {
                let c = cur.get_or_insert_with(String::new);
                c.push_str(&body[seg..i]);
                c.push(char::from(b[i + 1]));
                i += 2;
                seg = i;
            }
            b'|' => {
                fields.push(match cur.take() {
                    Some(mut c) => {
                        c.push_str(&body[seg..i]);
                        Cow::Owned(c)
                    }
                    None => Cow::Borrowed(&body[start..i]),
                });
                i += 1;
                seg = i;
                start = i;
            }
            _ => i += 1,
        }
    }
    if fields.len() < 7 {
        return Err(DecodeError::new(format!(
            "cef: header has {} of the 7 `|`-terminated fields after `CEF:` \
             (Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|)",
            fields.len()
        )));
    }
    Ok((fields, &body[i..]))
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'[' | b']')
}

fn unescape(v: &str) -> Str<'_> {
    if !v.contains('\\') {
        return Cow::Borrowed(v);
    }
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('=') => out.push('='),
            Some('\\') => out.push('\\'),
            Some('|') => out.push('|'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// The extension's `key=value` pairs. A key is a run of `[A-Za-z0-9_.[]]`
/// after a space (or at the start) before an unescaped `=`; its value runs
/// to the space before the next key.
pub(crate) fn extension(ext: &str) -> Vec<(&str, Str<'_>)> {
    let b = ext.as_bytes();
    let mut keys: Vec<(usize, usize)> = Vec::new();
    let mut backslashes = 0usize;
    for (i, &c) in b.iter().enumerate() {
        if c == b'=' && backslashes % 2 == 0 {
            let mut s = i;
            while s > 0 && is_key_byte(b[s - 1]) {
                s -= 1;
            }
            if s < i && (s == 0 || matches!(b[s - 1], b' ' | b'\t')) {
                keys.push((s, i));
            }
        }
        backslashes = if c == b'\\' { backslashes + 1 } else { 0 };
    }
    keys.iter()
        .enumerate()
        .map(|(n, &(s, eq))| {
            let end = keys.get(n + 1).map_or(b.len(), |&(next, _)| next);
            (&ext[s..eq], unescape(ext[eq + 1..end].trim_end_matches([' ', '\t'])))
        })
        .collect()
}

type Ext<'a> = [(&'a str, Str<'a>)];

/// The first non-empty value under any of `names`, and the name it was found under.
fn get<'a>(ext: &'a Ext<'_>, names: &[&'static str]) -> Option<(&'static str, &'a str)> {
    names.iter().find_map(|n| {
        ext.iter().find(|(k, _)| k == n).map(|(_, v)| v.trim()).filter(|v| !v.is_empty()).map(|v| (*n, v))
    })
}

/// The first non-empty value under any of `names` as a column value.
fn text<'a>(ext: &Ext<'a>, names: &[&'static str]) -> Option<Str<'a>> {
    names.iter().find_map(|n| {
        let (_, v) = ext.iter().find(|(k, v)| k == n && !v.trim().is_empty())?;
        Some(map_str(v.clone(), |s| Cow::Borrowed(s.trim())))
    })
}

fn ip<'a>(ext: &Ext<'a>, names: &[&'static str]) -> Result<Option<Str<'a>>, DecodeError> {
    match text(ext, names) {
        None => Ok(None),
        Some(v) => {
            if v.parse::<IpAddr>().is_err() {
                let k = get(ext, names).map_or("", |(k, _)| k);
                return Err(DecodeError::new(format!("cef: `{k}` `{v}` is not an IP address")));
            }
            Ok(Some(v))
        }
    }
}

fn port(ext: &Ext<'_>, names: &[&'static str]) -> Result<Option<i32>, DecodeError> {
    match get(ext, names) {
        None => Ok(None),
        Some((k, v)) => v
            .parse::<u16>()
            .map(|p| Some(i32::from(p)))
            .map_err(|_| DecodeError::new(format!("cef: `{k}` `{v}` is not a port number"))),
    }
}

fn count(ext: &Ext<'_>, names: &[&'static str]) -> Result<Option<i64>, DecodeError> {
    match get(ext, names) {
        None => Ok(None),
        Some((k, v)) => v
            .parse::<u64>()
            .ok()
            .and_then(|n| i64::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| DecodeError::new(format!("cef: `{k}` `{v}` is not a byte count"))),
    }
}

/// A CEF time value: epoch milliseconds, ISO 8601 or `MMM dd [yyyy] HH:mm:ss[.SSS] [zone]`.
fn cef_time(key: &str, v: &str, dtz: Option<&str>, now: Timestamp) -> Result<Timestamp, DecodeError> {
    let bad = || DecodeError::new(format!("cef: `{key}` `{v}` is not a time"));
    if v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return v.parse::<f64>().ok().filter(|n| n.is_finite()).map(from_epoch_number).ok_or_else(bad);
    }
    if v.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return parse_any(v).ok_or_else(bad);
    }
    let toks: Vec<&str> = v.split_whitespace().collect();
    let tt = month_name_time(&toks, now).ok_or_else(bad)?;
    if let Some(extra) = toks.get(tt.used) {
        return Err(DecodeError::new(format!("cef: `{key}` `{v}`: time zone `{extra}` is not known")));
    }
    if tt.has_zone {
        return Ok(tt.ts);
    }
    let offset = match dtz {
        None => 0,
        Some(z) => zone_offset(z).ok_or_else(|| {
            DecodeError::new(format!("cef: `dtz` `{z}` is not a supported time zone (use a UTC offset)"))
        })?,
    };
    Ok(Timestamp(tt.ts.0.saturating_sub(i64::from(offset) * 1_000_000)))
}

/// The value of the first `csN` whose `csNLabel` satisfies `label`.
fn labelled<'a>(ext: &Ext<'a>, label: impl Fn(&str) -> bool) -> Option<Str<'a>> {
    const CS: [(&str, &str); 6] = [
        ("cs1", "cs1Label"),
        ("cs2", "cs2Label"),
        ("cs3", "cs3Label"),
        ("cs4", "cs4Label"),
        ("cs5", "cs5Label"),
        ("cs6", "cs6Label"),
    ];
    CS.iter().find_map(|(v, l)| {
        let name = ext.iter().find(|(k, _)| k == l)?.1.to_ascii_lowercase();
        if !label(name.trim()) {
            return None;
        }
        ext.iter()
            .find(|(k, x)| k == v && !x.trim().is_empty())
            .map(|(_, x)| map_str(x.clone(), |s| Cow::Borrowed(s.trim())))
    })
}

/// Extension keys with a column of their own (the rest go to `vendor_fields`).
const MAPPED: &[&str] = &[
    "src",
    "sourceAddress",
    "c6a2",
    "dst",
    "destinationAddress",
    "c6a3",
    "dhost",
    "destinationHostName",
    "shost",
    "sourceHostName",
    "request",
    "requestURL",
    "spt",
    "sourcePort",
    "dpt",
    "destinationPort",
    "proto",
    "transportProtocol",
    "act",
    "deviceAction",
    "out",
    "bytesOut",
    "in",
    "bytesIn",
    "requestMethod",
    "suser",
    "sourceUserName",
    "duser",
    "destinationUserName",
    "app",
    "applicationProtocol",
    "cat",
    "deviceEventCategory",
    "rt",
    "deviceReceiptTime",
    "end",
    "endTime",
    "start",
    "startTime",
    "dtz",
    "deviceTimeZone",
];

impl Cef {
    fn decode_at<'a>(
        &self,
        record: &'a [u8],
        now: Timestamp,
        out: &mut Vec<Row<'a>>,
    ) -> Result<DecodeOutcome, DecodeError> {
        let line = record_text(record)?;
        let start = line.find("CEF:").ok_or_else(|| DecodeError::new("cef: no `CEF:` header found"))?;
        let (h, ext_text) = header(&line[start + 4..])?;
        let version = h[0].trim();
        if version != "0" && version != "1" {
            return Err(DecodeError::new(format!("cef: CEF version `{version}` is not supported (0 or 1)")));
        }
        let ext = extension(ext_text);
        let v = |names: &[&'static str]| get(&ext, names).map(|(_, v)| v);
        const SRC: &[&str] = &["src", "sourceAddress", "c6a2"];
        const DST: &[&str] = &["dst", "destinationAddress", "c6a3"];
        const DHOST: &[&str] = &["dhost", "destinationHostName"];
        const SHOST: &[&str] = &["shost", "sourceHostName"];
        const REQUEST: &[&str] = &["request", "requestURL"];
        if [SRC, DST, DHOST, SHOST, REQUEST].iter().all(|names| v(names).is_none()) {
            return Ok(DecodeOutcome::Skipped("cef: event has no network fields"));
        }
        let dtz = v(&["dtz", "deviceTimeZone"]);
        let time = match get(&ext, &["rt", "deviceReceiptTime", "end", "endTime", "start", "startTime"]) {
            Some((k, t)) => cef_time(k, t, dtz, now)?,
            None => syslog_header_time(&line[..start], now).ok_or_else(|| {
                DecodeError::new("cef: no event time (`rt`, `end`, `start` or a syslog header timestamp)")
            })?,
        };
        let host = text(&ext, DHOST).and_then(|h| map_opt(h, clean_host));
        let url = text(&ext, REQUEST).map(|r| match (&host, r.starts_with('/')) {
            (Some(h), true) => Cow::Owned(format!("{h}{r}")),
            _ => r,
        });
        let url_host = match &url {
            Some(Cow::Borrowed(u)) => text::url_host(u),
            Some(Cow::Owned(u)) => text::url_host(u).map(|h| Cow::Owned(h.into_owned())),
            None => None,
        };
        let mut h = h.into_iter();
        let _version = h.next();
        let mut field = || h.next().map(|s| map_str(s, |s| Cow::Borrowed(s.trim()))).filter(|s| !s.is_empty());
        let mut e = NetworkEvent {
            time,
            vendor: field(),
            product: field(),
            src_ip: ip(&ext, SRC)?,
            dst_ip: ip(&ext, DST)?,
            src_port: port(&ext, &["spt", "sourcePort"])?,
            dst_port: port(&ext, &["dpt", "destinationPort"])?,
            protocol: text(&ext, &["proto", "transportProtocol"]).map(|p| map_str(p, protocol_name)),
            action: text(&ext, &["act", "deviceAction"]).map(|a| map_str(a, action)),
            bytes_out: count(&ext, &["out", "bytesOut"])?,
            bytes_in: count(&ext, &["in", "bytesIn"])?,
            host: host.or(url_host),
            url,
            http_method: text(&ext, &["requestMethod"]).map(|m| map_str(m, upper_case)),
            user: text(&ext, &["suser", "sourceUserName"]).or_else(|| text(&ext, &["duser", "destinationUserName"])),
            device: text(&ext, SHOST),
            vendor_app: labelled(&ext, |l| matches!(l, "appname" | "app name" | "application" | "application name"))
                .or_else(|| text(&ext, &["app", "applicationProtocol"])),
            url_category: labelled(&ext, |l| l.contains("categor") || l == "urlcat")
                .or_else(|| text(&ext, &["cat", "deviceEventCategory"])),
            ..Default::default()
        };
        // The header's signature id, name and severity, then every extension key without a column.
        for (name, value) in ["signature_id", "name", "severity"].into_iter().zip(h) {
            e.vendor_fields.push(name, value);
        }
        for (k, val) in &ext {
            if !MAPPED.contains(k) {
                e.vendor_fields.push(*k, val.clone());
            }
        }
        out.push(Row::Network(e));
        Ok(DecodeOutcome::Parsed(1))
    }
}

impl Decoder for Cef {
    fn id(&self) -> &'static str {
        "cef"
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Network]
    }

    fn decode<'a>(
        &self,
        record: &'a [u8],
        _ctx: RecordContext<'a>,
        out: &mut Vec<Row<'a>>,
    ) -> Result<DecodeOutcome, DecodeError> {
        self.decode_at(record, Timestamp::now(), out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DOCUMENTED: &str = include_str!("../../../../tests/data/vendor/cef/cef-documented.log");

    /// 2024-06-01T00:00:00Z: a fixed "now" for year-less syslog headers.
    const NOW: Timestamp = Timestamp(1_717_200_000_000_000);

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row<'static>>), DecodeError> {
        let mut out = Vec::new();
        let o = Cef.decode_at(line.as_bytes(), NOW, &mut out)?;
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

    #[test]
    fn fortigate_webfilter_in_cef() {
        let e = net(line_with("externalId=8812501"));
        assert_eq!(e.time.to_rfc3339(), "2024-03-05T14:10:31.000Z", "syslog header time, year inferred");
        assert_eq!((e.vendor.as_deref(), e.product.as_deref()), (Some("Fortinet"), Some("Fortigate")));
        assert_eq!(e.src_ip.as_deref(), Some("10.20.1.31"));
        assert_eq!(e.dst_ip.as_deref(), Some("104.244.42.1"));
        assert_eq!((e.src_port, e.dst_port), (Some(51890), Some(443)));
        assert_eq!(e.protocol.as_deref(), Some("tcp"));
        assert_eq!(e.host.as_deref(), Some("wetransfer.com"));
        assert_eq!(e.url.as_deref(), Some("wetransfer.com/uploads"));
        assert_eq!(e.action.as_deref(), Some("deny"));
        assert_eq!(e.user.as_deref(), Some("ana.pereira"), "duser when there is no suser");
        assert_eq!((e.bytes_out, e.bytes_in), (Some(517), Some(0)));
        assert_eq!(e.url_category.as_deref(), Some("utm:webfilter"), "`cat` as the device wrote it");
        assert_eq!(e.vendor_app.as_deref(), Some("HTTPS"));
    }

    #[test]
    fn proxy_event_with_rt_labels_and_escapes() {
        let e = net(line_with("CEF:0|Example Corp|Web Gateway"));
        assert_eq!(e.time.to_rfc3339(), "2024-03-05T14:03:10.000Z");
        assert_eq!(e.user.as_deref(), Some("ana.pereira@example.com"));
        assert_eq!(e.host.as_deref(), Some("chatgpt.com"));
        assert_eq!(e.url.as_deref(), Some("https://chatgpt.com/backend-api/conversation?model=x&q=a b"));
        assert_eq!(e.http_method.as_deref(), Some("POST"));
        assert_eq!(e.action.as_deref(), Some("allow"));
        assert_eq!((e.bytes_out, e.bytes_in), (Some(48_211), Some(88_341)));
        assert_eq!(e.url_category.as_deref(), Some("Online Chat"), "labelled custom string wins over `cat`");
        assert_eq!(e.vendor_app.as_deref(), Some("ChatGPT"));
        assert_eq!(e.device.as_deref(), Some("LT-ANA-01"));
        let ext = extension(line_with("CEF:0|Example Corp|Web Gateway").split("|3|").nth(1).unwrap());
        let msg = ext.iter().find(|(k, _)| *k == "msg").map(|(_, v)| v.as_ref());
        assert_eq!(msg, Some("upload a\\b c=d\nnext"));
    }

    #[test]
    fn header_escapes_ipv6_and_epoch_times() {
        let e = net(line_with("c6a2="));
        assert_eq!(e.src_ip.as_deref(), Some("2001:db8:10::5"));
        assert_eq!(e.dst_ip.as_deref(), Some("2606:4700::6810:84e5"));
        assert_eq!(e.time.to_rfc3339(), "2024-03-05T14:05:00.250Z", "rt in epoch milliseconds");
        assert_eq!(e.product.as_deref(), Some("Gate|way"), "`\\|` in the header");
        assert_eq!(e.action.as_deref(), Some("drop"));
        assert_eq!(e.protocol.as_deref(), Some("udp"));
        let iso = net(line_with("2024-03-05T14:06:00.500Z 192.0.2.5 CEF:"));
        assert_eq!(iso.time.to_rfc3339(), "2024-03-05T14:07:01.000Z", "`end` before the syslog time");
        assert_eq!(iso.action.as_deref(), Some("allow"));
    }

    #[test]
    fn text_times_with_zones() {
        let e = net(line_with("Palo Alto Networks"));
        assert_eq!(e.time.to_rfc3339(), "2024-03-05T14:08:21.000Z", "rt read in dtz=UTC");
        assert_eq!(e.user.as_deref(), Some("corp\\ana.pereira"));
        assert_eq!(e.vendor_app.as_deref(), Some("dropbox-uploading"));
        assert_eq!((e.bytes_out, e.bytes_in), (Some(120_000), Some(3_400)));
        let cet = net(line_with("rt=Mar 05 2024 15:20:00.250 CET"));
        assert_eq!(cet.time.to_rfc3339(), "2024-03-05T14:20:00.250Z");
        let offset = net(&line_with("Palo Alto Networks").replace("dtz=UTC", "dtz=+01:00"));
        assert_eq!(offset.time.to_rfc3339(), "2024-03-05T13:08:21.000Z");
        let reason = |l: &str| decode(l).unwrap_err().reason;
        assert!(reason(&line_with("Palo Alto Networks").replace("dtz=UTC", "dtz=Europe/Berlin")).contains("`dtz`"));
        assert!(reason(&line_with("CET").replace(" CET", " XYZT")).contains("time zone `XYZT`"));
        assert!(reason(&line_with("CET").replace("rt=Mar 05", "rt=Mxr 05")).contains("`rt`"));
    }

    #[test]
    fn skipped_and_rejected() {
        assert_eq!(
            decode(line_with("Initializing")).unwrap().0,
            DecodeOutcome::Skipped("cef: event has no network fields")
        );
        let reason = |l: &str| decode(l).unwrap_err().reason;
        assert!(reason("hello world").contains("no `CEF:`"));
        assert!(reason("CEF:0|Vendor|Product|1.0|100").contains("4 of the 7"));
        assert!(reason("CEF:7|V|P|1|1|n|1|src=10.0.0.1 rt=1709647387000").contains("version `7`"));
        let base = line_with("externalId=8812501");
        assert!(reason(&base.replace("src=10.20.1.31", "src=10.20.1.310")).contains("`src` `10.20.1.310`"));
        assert!(reason(&base.replace("dpt=443", "dpt=443x")).contains("`dpt`"));
        assert!(reason(&base.replace("out=517", "out=many")).contains("`out`"));
        let no_time = "CEF:0|V|P|1|1|n|1|src=10.0.0.1";
        assert!(reason(no_time).contains("no event time"));
    }

    #[test]
    fn actions() {
        for (raw, mapped) in [
            ("Blocked", "deny"),
            ("denied", "deny"),
            ("dropped", "drop"),
            ("reset-both", "reset"),
            ("server-rst", "allow"),
            ("Allowed", "allow"),
            ("close", "allow"),
            ("alert", "alert"),
            ("quarantined", "quarantined"),
        ] {
            assert_eq!(action(raw), mapped, "{raw}");
        }
    }

    #[test]
    fn every_documented_line_has_an_outcome() {
        for line in DOCUMENTED.lines().filter(|l| !l.trim().is_empty()) {
            assert!(decode(line).is_ok(), "{line}: {:?}", decode(line));
        }
    }

    fn one_outcome(bytes: &[u8]) {
        let mut out = Vec::new();
        match Cef.decode(bytes, RecordContext::default(), &mut out) {
            Ok(DecodeOutcome::Parsed(n)) => assert!(n >= 1 && n == out.len()),
            Ok(DecodeOutcome::Skipped(_)) | Err(_) => assert!(out.is_empty()),
        }
    }

    #[test]
    fn doc_example_json() {
        let mut out = Vec::new();
        Cef.decode(line_with("CEF:0|Example Corp|Web Gateway").as_bytes(), RecordContext::default(), &mut out).unwrap();
        out[0].set_origin(&crate::origin::event_id("stdin", None, 1), "stdin:1", Cef.id());
        crate::decode::doc_example::check("cef.md", &out[0].to_json());
    }

    proptest! {
        #[test]
        fn never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            pick in 0usize..64,
            at in 0usize..1200,
            with in any::<u8>(),
            cut in 0usize..1200,
        ) {
            one_outcome(&bytes);
            let mut prefixed = b"CEF:0|".to_vec();
            prefixed.extend_from_slice(&bytes);
            one_outcome(&prefixed);
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

        #[test]
        fn extension_never_panics(s in "\\PC{0,80}") {
            let _ = extension(&s);
            let _ = cef_time("rt", &s, None, NOW);
        }
    }
}
