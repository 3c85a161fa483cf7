//! `panos`: Palo Alto Networks PAN-OS syslog, CSV payload (PAN-OS 8.x–11.x
//! field order), with or without a syslog header (RFC 3164 or 5424), and
//! with or without the leading `FUTURE_USE` field that some forwarders strip.
//!
//! | PAN-OS field (0-based, after the header) | column |
//! |---|---|
//! | 6 generated time (`YYYY/MM/DD HH:MM:SS`, device local time, read as UTC) | `time` |
//! | 7 source / 8 destination address | `src_ip` / `dst_ip` |
//! | 12 source user | `user` |
//! | 14 application (App-ID) | `vendor_app` |
//! | 24 / 25 source / destination port | `src_port` / `dst_port` |
//! | 29 IP protocol | `protocol` |
//! | 30 action (`allow`, `deny`, `drop*`, `reset-*`, `alert`, `block-url`...) | `action` (`allow`, `deny`, `drop`, `reset`, `alert`) |
//! | TRAFFIC 32 / 33 bytes sent / received | `bytes_out` / `bytes_in` |
//! | TRAFFIC 37 / THREAT 33 category | `url_category` |
//! | THREAT `url` 31 URL (`host/path`) | `url`, and its host → `host` |
//!
//! TRAFFIC and THREAT logs become `network` rows. Other log types (SYSTEM,
//! CONFIG, HIP-MATCH, GLOBALPROTECT, USERID, ...) are skipped, counted as
//! `panos: log type not modelled`. A line with no log type, too few fields
//! or an invalid address / port / number is dead-lettered naming the field.

use std::borrow::Cow;

use crate::decode::readers::text::{self, bad_value, lower_case, map_str, split_csv};
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::time::parse_any;
use crate::schema::{EventClass, NetworkEvent, Row, Str};

/// Decoder for `panos`.
pub struct Panos;

const TYPES: &[&str] = &[
    "TRAFFIC",
    "THREAT",
    "SYSTEM",
    "CONFIG",
    "HIP-MATCH",
    "GLOBALPROTECT",
    "USERID",
    "AUTH",
    "DECRYPTION",
    "TUNNEL",
    "CORRELATION",
    "IPTAG",
    "SCTP",
    "GTP",
];

/// Map PAN-OS actions to floodlight's.
fn action(a: &str) -> Str<'_> {
    let a = a.trim();
    let lower = |s: &'static str| Cow::Borrowed(s);
    if a.eq_ignore_ascii_case("allow") || a.eq_ignore_ascii_case("continue") || a.eq_ignore_ascii_case("override") {
        return lower("allow");
    }
    if ["deny", "block", "block-url", "block-continue", "block-override", "sinkhole"]
        .iter()
        .any(|x| a.eq_ignore_ascii_case(x))
    {
        return lower("deny");
    }
    if a.eq_ignore_ascii_case("alert") {
        return lower("alert");
    }
    let l = lower_case(a);
    if l.starts_with("drop") {
        return lower("drop");
    }
    if l.starts_with("reset") {
        return lower("reset");
    }
    l
}

/// Where the PAN-OS payload starts: (receive time, serial, index of the
/// type field, log type).
///
/// The type field is the first field that is a known log type, preceded by
/// the serial number and the receive time (`YYYY/MM/DD HH:MM:SS`); before
/// those come the optional `FUTURE_USE` field and syslog header, which are
/// dropped. Scans the first fields only: no allocation.
fn payload(line: &str) -> Option<(&str, &str, usize, &'static str)> {
    let b = line.as_bytes();
    let mut commas = [0usize; 12];
    let mut n = 0;
    let mut from = 0;
    while n < commas.len() {
        let Some(p) = memchr::memchr(b',', &b[from..]) else { break };
        commas[n] = from + p;
        n += 1;
        from += p + 1;
        // The type field sits between comma k-1 and comma k, k >= 2.
        if n >= 3 {
            let field = &line[commas[n - 2] + 1..commas[n - 1]];
            if let Some(t) = TYPES.iter().find(|t| **t == field) {
                let serial = &line[commas[n - 3] + 1..commas[n - 2]];
                let before = &line[..commas[n - 3]];
                let recv = before.rsplit(',').next()?;
                // Without a `1,` FUTURE_USE field the syslog header is glued to the time: keep its last 19 chars.
                let recv = if recv.len() > 19 && recv.is_char_boundary(recv.len() - 19) {
                    &recv[recv.len() - 19..]
                } else {
                    recv
                };
                return Some((recv, serial, commas[n - 2] + 1, t));
            }
        }
    }
    None
}

fn field<'f>(f: &'f [Str<'_>], i: usize) -> Option<&'f str> {
    f.get(i).map(|v| v.trim()).filter(|s| !s.is_empty())
}

/// Field `i`, borrowed from the line when it was not quoted with escapes.
fn text<'a>(f: &mut [Str<'a>], i: usize) -> Option<Str<'a>> {
    let v = f.get_mut(i)?;
    let t = v.trim();
    if t.is_empty() {
        return None;
    }
    let v = std::mem::take(v);
    Some(match v {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
    })
}

fn num<T: std::str::FromStr>(f: &[Str<'_>], i: usize, name: &str) -> Result<Option<T>, DecodeError> {
    match field(f, i) {
        None => Ok(None),
        Some(v) => {
            v.parse::<T>().map(Some).map_err(|_| bad_value("panos", format_args!("field {i} ({name})"), v, "a number"))
        }
    }
}

fn ip<'a>(f: &mut [Str<'a>], i: usize, name: &str) -> Result<Option<Str<'a>>, DecodeError> {
    match text(f, i) {
        None => Ok(None),
        Some(Cow::Borrowed(v)) => text::ip("panos", format_args!("field {i} ({name})"), Some(v)),
        Some(Cow::Owned(v)) => {
            Ok(text::ip("panos", format_args!("field {i} ({name})"), Some(&v))?.map(|a| Cow::Owned(a.into_owned())))
        }
    }
}

/// Host of a PAN-OS URL field (`www.example.com/path`, `https://x:8443/p`),
/// lower case, borrowed from the URL when it already is.
pub fn url_host(url: &str) -> Option<Str<'_>> {
    let u = url.trim().trim_matches(['"', '\\']);
    let u = u.split_once("://").map_or(u, |(_, rest)| rest);
    let host = u.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = match host.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let host = host.trim_end_matches('.');
    (!host.is_empty()).then(|| lower_case(host))
}

/// Names of the fields kept in `vendor_fields` (doc index → PAN-OS name), per log type.
const TRAFFIC_EXTRA: &[(usize, &str)] = &[
    (2, "serial"),
    (4, "subtype"),
    (9, "natsrc"),
    (10, "natdst"),
    (11, "rule"),
    (13, "dstuser"),
    (15, "vsys"),
    (16, "from"),
    (17, "to"),
    (18, "inbound_if"),
    (19, "outbound_if"),
    (22, "sessionid"),
    (34, "packets"),
    (35, "start"),
    (36, "elapsed"),
    (39, "seqno"),
    (41, "srcloc"),
    (42, "dstloc"),
    (46, "session_end_reason"),
];
const THREAT_EXTRA: &[(usize, &str)] = &[
    (2, "serial"),
    (4, "subtype"),
    (9, "natsrc"),
    (10, "natdst"),
    (11, "rule"),
    (13, "dstuser"),
    (15, "vsys"),
    (16, "from"),
    (17, "to"),
    (22, "sessionid"),
    (32, "threatid"),
    (34, "severity"),
    (35, "direction"),
    (36, "seqno"),
    (38, "srcloc"),
    (39, "dstloc"),
];

impl Decoder for Panos {
    fn id(&self) -> &'static str {
        "panos"
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
        let line = record_text(record)?;
        let (recv, serial, type_at, log_type) = payload(line)
            .ok_or_else(|| DecodeError::new("panos: no PAN-OS log type field (TRAFFIC, THREAT, ...) found"))?;
        if log_type != "TRAFFIC" && log_type != "THREAT" {
            return Ok(DecodeOutcome::Skipped("panos: log type not modelled"));
        }
        // Fields numbered as in Palo Alto's documentation: 0 FUTURE_USE, 1 receive time, 2 serial, 3 type, ...
        let mut f: Vec<Str<'a>> = Vec::with_capacity(128);
        f.extend([Cow::Borrowed("1"), Cow::Borrowed(recv), Cow::Borrowed(serial)]);
        split_csv(&line[type_at..], b',', &mut f);
        let min = if log_type == "TRAFFIC" { 34 } else { 32 };
        if f.len() < min {
            return Err(DecodeError::new(format!(
                "panos: {log_type} line has {} fields, expected at least {min} (truncated?)",
                f.len()
            )));
        }
        let generated = field(&f, 6).or_else(|| field(&f, 1)).unwrap_or("");
        let time =
            parse_any(generated).ok_or_else(|| bad_value("panos", "field 6 (generated time)", generated, "a time"))?;
        let is_url = field(&f, 4).is_some_and(|s| s.eq_ignore_ascii_case("url"));
        let mut e = NetworkEvent {
            time,
            vendor: Some(Cow::Borrowed("Palo Alto Networks")),
            product: Some(Cow::Borrowed("PAN-OS")),
            src_ip: ip(&mut f, 7, "source address")?,
            dst_ip: ip(&mut f, 8, "destination address")?,
            src_port: num(&f, 24, "source port")?,
            dst_port: num(&f, 25, "destination port")?,
            protocol: text(&mut f, 29).map(|p| map_str(p, lower_case)),
            action: text(&mut f, 30).map(|a| map_str(a, action)),
            ..Default::default()
        };
        e.user = text(&mut f, 12);
        e.vendor_app = text(&mut f, 14);
        let extra = if log_type == "TRAFFIC" {
            e.bytes_out = num(&f, 32, "bytes sent")?;
            e.bytes_in = num(&f, 33, "bytes received")?;
            e.url_category = text(&mut f, 37).filter(|c| c != "any");
            TRAFFIC_EXTRA
        } else {
            e.url_category = text(&mut f, 33).filter(|c| c != "any");
            if is_url {
                if let Some(url) = text(&mut f, 31) {
                    let url = map_str(url, |u| Cow::Borrowed(u.trim_matches(['"', '\\'])));
                    e.host = match &url {
                        Cow::Borrowed(u) => url_host(u),
                        Cow::Owned(u) => url_host(u).map(|h| Cow::Owned(h.into_owned())),
                    };
                    e.url = Some(url);
                }
            }
            THREAT_EXTRA
        };
        for (i, name) in extra {
            if let Some(v) = text(&mut f, *i) {
                e.vendor_fields.push(*name, v);
            }
        }
        out.push(Row::Network(e));
        Ok(DecodeOutcome::Parsed(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const METRON: &str = include_str!("../../../../tests/data/vendor/panos/panos-syslog.csv");
    const USIEM: &str = include_str!("../../../../tests/data/vendor/panos/paloalto-sample-lines.txt");
    const DEMO: &str = include_str!("../../../../deploy/demo/logs/panos--fw01.log");

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row<'static>>), DecodeError> {
        let mut out = Vec::new();
        let o = Panos.decode(line.as_bytes(), RecordContext::default(), &mut out)?;
        Ok((o, out.into_iter().map(Row::into_static).collect()))
    }

    fn net(line: &str) -> NetworkEvent<'static> {
        match decode(line).unwrap().1.pop() {
            Some(Row::Network(e)) => e,
            other => panic!("expected a network row, got {other:?}"),
        }
    }

    #[test]
    fn threat_line_with_syslog_header() {
        let e = net(METRON.lines().next().unwrap());
        assert_eq!(e.time.to_rfc3339(), "2015-01-05T05:38:58.000Z");
        assert_eq!(e.src_ip.as_deref(), Some("10.0.0.115"));
        assert_eq!(e.dst_ip.as_deref(), Some("216.0.10.198"));
        assert_eq!(e.user.as_deref(), Some("example\\user.name"));
        assert_eq!(e.vendor_app.as_deref(), Some("web-browsing"));
        assert_eq!((e.src_port, e.dst_port), (Some(54180), Some(80)));
        assert_eq!(e.protocol.as_deref(), Some("tcp"));
        assert_eq!(e.action.as_deref(), Some("reset"));
        assert_eq!(e.host, None, "vulnerability logs carry no URL host");
    }

    #[test]
    fn traffic_line_without_header_or_future_field() {
        let line = USIEM.lines().find(|l| l.starts_with("2021/02/05")).unwrap();
        let e = net(line);
        assert_eq!(e.time.to_rfc3339(), "2021-02-05T15:05:55.000Z");
        assert_eq!(e.dst_port, Some(514));
        assert_eq!(e.protocol.as_deref(), Some("udp"));
        assert_eq!(e.action.as_deref(), Some("deny"));
        assert_eq!((e.bytes_out, e.bytes_in), (Some(102), Some(0)));
    }

    #[test]
    fn threat_url_line_gives_host_and_url() {
        let line = USIEM.lines().find(|l| l.contains("THREAT,url")).unwrap();
        let e = net(line);
        assert_eq!(e.host.as_deref(), Some("www.google.nl"));
        assert_eq!(e.url.as_deref(), Some("www.google.nl/"));
        assert_eq!(e.url_category.as_deref(), Some("search-engines"));
        assert_eq!(e.action.as_deref(), Some("alert"));
        let demo = net(DEMO.lines().nth(1).unwrap());
        assert_eq!(demo.host.as_deref(), Some("www.ilovepdf.com"));
        assert_eq!(demo.user.as_deref(), Some("corp\\ana.pereira"));
    }

    #[test]
    fn system_logs_are_skipped_and_broken_lines_rejected() {
        let system = DEMO.lines().find(|l| l.contains(",SYSTEM,")).unwrap();
        assert_eq!(decode(system).unwrap().0, DecodeOutcome::Skipped("panos: log type not modelled"));
        let truncated = DEMO.lines().last().unwrap();
        assert!(decode(truncated).unwrap_err().reason.contains("fields"), "{truncated}");
        assert!(decode("hello world").unwrap_err().reason.contains("log type"));
        let bad_ip = METRON.lines().next().unwrap().replace("10.0.0.115", "10.0.0.999");
        assert!(decode(&bad_ip).unwrap_err().reason.contains("source address"));
    }

    #[test]
    fn every_sample_line_decodes() {
        for line in METRON.lines().filter(|l| !l.trim().is_empty()) {
            assert!(decode(line).is_ok(), "{line}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), cut in 0usize..400) {
            let _ = Panos.decode(&bytes, RecordContext::default(), &mut Vec::new());
            let line = METRON.lines().next().unwrap();
            let cut = cut.min(line.len());
            let _ = Panos.decode(&line.as_bytes()[..cut], RecordContext::default(), &mut Vec::new());
        }
    }

    #[test]
    fn doc_example_json() {
        let (_, mut rows) = decode(USIEM.lines().find(|l| l.contains("THREAT,url")).unwrap()).unwrap();
        rows[0].set_origin(&crate::origin::event_id("stdin", None, 1), "stdin:1", Panos.id());
        crate::decode::doc_example::check("panos.md", &rows[0].to_json());
    }
}
