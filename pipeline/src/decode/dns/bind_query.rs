//! `bind-query`: the ISC BIND 9 query log (`queries` category / `querylog
//! yes`), BIND 9.3–9.20, written to a file channel or forwarded over syslog
//! (Infoblox NIOS forwards its `named` query log and its query capture this
//! way). One line per query, as the BIND 9 ARM documents it:
//!
//! ```text
//! 24-Nov-2026 09:12:03.120 queries: info: client @0x7f91b8005490 10.0.0.5#53211 (www.example.com): query: www.example.com IN A +E(0)K (10.0.0.2)
//! ```
//!
//! Accepted around the `client ...: query: ...` message:
//!
//! * `print-time yes|local` (`DD-Mon-YYYY HH:MM:SS.mmm`), `print-time
//!   iso8601` / `iso8601-utc`, and the optional `print-category` /
//!   `print-severity` labels (`queries: info:`);
//! * a syslog header instead: RFC 3164 (`Nov 24 09:12:07 host named[1234]:`,
//!   with or without `<PRI>` and host) or RFC 5424 (`<30>1 2026-11-24T09:12:08Z
//!   host named 1234 - - ...`); a BIND timestamp inside the message (Infoblox
//!   query capture) takes precedence over the syslog one;
//! * the message forms of successive releases: with or without the client
//!   object `@0x...` (9.11+), with or without `(qname)` after the client
//!   address, with `/key name` (TSIG) after the port, with `view name:` before
//!   `query:`, with or without flags, the destination address and `[ECS ...]`.
//!
//! | BIND field | column |
//! |---|---|
//! | timestamp (BIND's, else the syslog header's) | `time` |
//! | client address before `#port` (IPv4 or IPv6, zone id dropped) | `client_ip` |
//! | query name (lower case, trailing dot removed; escapes such as `\032` kept) | `query` |
//! | query type (`A`, `AAAA`, `TYPE65`, ...) | `query_type` |
//! | — (the query log has no response code or answers) | `rcode`, `answers` stay empty |
//!
//! `vendor` is `ISC`, `product` `BIND` (also for lines from Infoblox).
//!
//! **Times.** BIND writes local time without a zone (`print-time yes`,
//! `iso8601`): it is read as UTC — run `named` in UTC or use `print-time
//! iso8601-utc` to get correct instants. A zone or `Z` in the timestamp is
//! honoured. An RFC 3164 header has no year: the year is the latest one that
//! does not put the line more than a day in the future of the decoding
//! machine's clock.
//!
//! **Skipped** (counted): blank lines; syslog messages of another program
//! (`bind-query: syslog message from another program`); BIND messages that
//! are not query-log entries, e.g. `general: notice: running` or `query (cache)
//! ... denied` (`bind-query: not a query log line`); the Infoblox response
//! capture `client ...#port UDP: query: ... response: ...` (`bind-query:
//! Infoblox response capture line`); queries for the root zone `.`
//! (`bind-query: root-zone query`).
//!
//! **Dead-lettered**, naming the field: a line without a timestamp (e.g. a
//! channel with `print-time no`), an unreadable timestamp, a query entry whose
//! client address is not `IP#port` or not an IP, a query without a class or
//! type, a class that is not a DNS class, invalid UTF-8.

use std::borrow::Cow;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

use crate::decode::readers::syslog::strip_pri;
use crate::decode::readers::text::{self, lower_case};
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::time::parse_any;
use crate::schema::{DnsEvent, EventClass, Row, Str, Timestamp, VendorFields};

/// Decoder for `bind-query`.
pub struct BindQuery;

const ID: &str = "bind-query";

fn err(reason: impl std::fmt::Display) -> DecodeError {
    DecodeError::new(format!("{ID}: {reason}"))
}

/// First whitespace-separated token of `s` and the rest, left-trimmed.
fn next_token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find([' ', '\t']) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

fn utc(dt: NaiveDateTime) -> Timestamp {
    Timestamp::from_datetime(&Utc.from_utc_datetime(&dt))
}

fn clock(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M:%S%.f").ok()
}

/// BIND's `print-time yes`: `DD-Mon-YYYY HH:MM:SS[.mmm]` at the start of `s`.
fn bind_time(s: &str) -> Option<(Timestamp, &str)> {
    let (date, rest) = next_token(s);
    if date.len() < 10 || date.as_bytes().get(2) != Some(&b'-') {
        return None;
    }
    let date = NaiveDate::parse_from_str(date, "%d-%b-%Y").ok()?;
    let (time, rest) = next_token(rest);
    Some((utc(date.and_time(clock(time)?)), rest))
}

/// An ISO 8601 date-time token (`print-time iso8601[-utc]`, RFC 5424, rsyslog).
fn iso_time(s: &str) -> Option<(Timestamp, &str)> {
    let (tok, rest) = next_token(s);
    let b = tok.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[10] != b'T' {
        return None;
    }
    Some((parse_any(tok)?, rest))
}

fn month(s: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let i = MONTHS.iter().position(|m| s.eq_ignore_ascii_case(m))?;
    u32::try_from(i + 1).ok()
}

/// The year of a year-less date: the latest year that does not put it more
/// than a day after `now`.
fn infer_year(month: u32, day: u32, time: NaiveTime, now: DateTime<Utc>) -> Option<NaiveDateTime> {
    let limit = now.naive_utc() + Duration::days(1);
    (0..=8).map(|back| now.year() + 1 - back).find_map(|year| {
        let dt = NaiveDate::from_ymd_opt(year, month, day)?.and_time(time);
        (dt <= limit).then_some(dt)
    })
}

/// RFC 3164 `Mmm dd HH:MM:SS[.mmm]` (also BIND before 9.3) at the start of `s`.
fn syslog_time(s: &str, now: DateTime<Utc>) -> Option<(Timestamp, &str)> {
    let (mon, rest) = next_token(s);
    let month = month(mon)?;
    let (day, rest) = next_token(rest);
    let day: u32 = day.parse().ok()?;
    let (time, rest) = next_token(rest);
    Some((utc(infer_year(month, day, clock(time)?, now)?), rest))
}

/// A syslog tag `prog[pid]:` or `prog:`: the program name.
fn tag_program(tok: &str) -> Option<&str> {
    let tok = tok.strip_suffix(':')?;
    let prog = match tok.split_once('[') {
        Some((p, pid)) => {
            let pid = pid.strip_suffix(']')?;
            if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p
        }
        None => tok,
    };
    let ok = !prog.is_empty() && prog.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
    ok.then_some(prog)
}

/// After an RFC 3164 timestamp: `host prog[pid]: msg` or `prog[pid]: msg`
/// (program, message), or `None` when the text is not a syslog tag but BIND's
/// own `category: severity: message`.
fn syslog_tag(s: &str) -> Option<(&str, &str)> {
    let (first, rest) = next_token(s);
    if first.contains('[') || first == "named:" {
        return tag_program(first).map(|p| (p, rest));
    }
    if first.ends_with(':') {
        return None; // a BIND category label
    }
    let (second, msg) = next_token(rest);
    tag_program(second).map(|p| (p, msg))
}

/// RFC 5424 after `<PRI>`: `1 TIMESTAMP HOST APP PROCID MSGID SD MSG`.
fn rfc5424(s: &str) -> Option<(Option<Timestamp>, &str, &str)> {
    let rest = s.strip_prefix("1 ")?;
    let (ts, rest) = next_token(rest);
    let ts = if ts == "-" { None } else { Some(parse_any(ts)?) };
    let (_host, rest) = next_token(rest);
    let (app, rest) = next_token(rest);
    let (_procid, rest) = next_token(rest);
    let (_msgid, rest) = next_token(rest);
    let msg = if let Some(m) = rest.strip_prefix('-') {
        m
    } else if rest.starts_with('[') {
        skip_structured_data(rest)?
    } else {
        return None;
    };
    Some((ts, app, msg.trim_start().trim_start_matches('\u{feff}')))
}

/// Skip RFC 5424 structured data (`[id k="v"]...`), honouring `\"`, `\\`, `\]` in values.
fn skip_structured_data(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        let mut in_value = false;
        i += 1;
        loop {
            match b.get(i)? {
                b'\\' if in_value => i += 1,
                b'"' => in_value = !in_value,
                b']' if !in_value => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    s.get(i..)
}

/// One BIND label (`queries:`, `info:`, `debug 3:`, `infoblox-responses:`) at the start of `s`.
fn strip_label(s: &str) -> Option<(&str, &str)> {
    let (tok, rest) = next_token(s);
    if tok == "debug" {
        let (level, rest) = next_token(rest);
        let level = level.strip_suffix(':')?;
        return (!level.is_empty() && level.bytes().all(|b| b.is_ascii_digit())).then_some(("debug", rest));
    }
    let word = tok.strip_suffix(':')?;
    let ok = !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some((word, rest))
}

/// The message after the syslog header / timestamp: BIND's own timestamp
/// (replaces `ts`) and labels are consumed. Returns the time, the message and
/// whether an `infoblox-responses` label was seen.
fn message(mut s: &str, mut ts: Timestamp) -> (Timestamp, &str, bool) {
    let mut responses = false;
    for _ in 0..4 {
        if s.starts_with("client ") {
            break;
        }
        if let Some((t, rest)) = bind_time(s).or_else(|| iso_time(s)) {
            ts = t;
            s = rest;
        } else if let Some((label, rest)) = strip_label(s) {
            responses |= label.eq_ignore_ascii_case("infoblox-responses");
            s = rest;
        } else {
            break;
        }
    }
    (ts, s, responses)
}

fn clean_query(q: &str) -> Str<'_> {
    lower_case(q.trim().trim_end_matches('.'))
}

fn is_dns_class(c: &str) -> bool {
    matches!(c.to_ascii_uppercase().as_str(), "IN" | "CH" | "CHAOS" | "HS" | "HESIOD" | "NONE" | "ANY")
        || c.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("CLASS"))
            && c.len() > 5
            && c.bytes().skip(5).all(|b| b.is_ascii_digit())
}

/// The client address of a query entry header:
/// `[@0x...] IP#PORT[/key NAME] [(qname)][: view NAME]`.
fn client_ip(header: &str) -> Result<Str<'_>, DecodeError> {
    let mut h = header.trim();
    if h.starts_with('@') {
        h = next_token(h).1;
    }
    let (addr, _) = next_token(h);
    let addr = addr.trim_end_matches(':');
    let (ip, port) = addr.rsplit_once('#').ok_or_else(|| err(format!("client address `{addr}` is not `IP#port`")))?;
    let port = port.split('/').next().unwrap_or(port);
    if port.parse::<u16>().is_err() {
        return Err(err(format!("client port `{port}` is not a port number")));
    }
    let ip = ip.split('%').next().unwrap_or(ip);
    text::ip(ID, "client address", Some(ip))
        .ok()
        .flatten()
        .ok_or_else(|| err(format!("client address `{ip}` is not an IP address")))
}

impl BindQuery {
    /// Decode one line with `now` as the reference for year-less syslog dates.
    fn decode_at<'a>(
        &self,
        record: &'a [u8],
        now: DateTime<Utc>,
        out: &mut Vec<Row<'a>>,
    ) -> Result<DecodeOutcome, DecodeError> {
        let text = record_text(record).map_err(|e| err(e.reason))?;
        let line = text.trim();
        if line.is_empty() {
            return Ok(DecodeOutcome::Skipped("bind-query: blank line"));
        }
        let s = strip_pri(line);
        let (ts, rest) = if let Some((ts, app, msg)) = rfc5424(s) {
            if app != "named" {
                return Ok(DecodeOutcome::Skipped("bind-query: syslog message from another program"));
            }
            // A nil (`-`) syslog time needs BIND's own inside the message.
            match ts.or_else(|| bind_time(msg).or_else(|| iso_time(msg)).map(|(t, _)| t)) {
                Some(ts) => (ts, msg),
                None => return Err(err("RFC 5424 line with no timestamp in the header or the message")),
            }
        } else {
            let (ts, rest) = bind_time(s).or_else(|| iso_time(s)).or_else(|| syslog_time(s, now)).ok_or_else(|| {
                err("no timestamp at the start of the line (expected `DD-Mon-YYYY HH:MM:SS.mmm` from `print-time`, ISO 8601 or a syslog header)")
            })?;
            match syslog_tag(rest) {
                Some((prog, _)) if prog != "named" => {
                    return Ok(DecodeOutcome::Skipped("bind-query: syslog message from another program"));
                }
                Some((_, msg)) => (ts, msg),
                None => (ts, rest),
            }
        };
        let (time, msg, infoblox_responses) = message(rest, ts);
        let Some(body) = msg.strip_prefix("client ") else {
            return Ok(DecodeOutcome::Skipped("bind-query: not a query log line"));
        };
        let Some(q) = body.find(": query: ") else {
            return Ok(DecodeOutcome::Skipped("bind-query: not a query log line"));
        };
        let header = &body[..q];
        if infoblox_responses || header.ends_with(" UDP") || header.ends_with(" TCP") {
            return Ok(DecodeOutcome::Skipped("bind-query: Infoblox response capture line"));
        }
        let ip = client_ip(header)?;
        let mut fields = body[q + ": query: ".len()..].split_ascii_whitespace();
        let name = fields.next().ok_or_else(|| err("query entry has no query name"))?;
        let class = fields.next().ok_or_else(|| err(format!("query `{name}` has no class")))?;
        let qtype = fields.next().ok_or_else(|| err(format!("query `{name}` has no type")))?;
        if !is_dns_class(class) {
            return Err(err(format!("query class `{class}` is not a DNS class")));
        }
        if !qtype.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(err(format!("query type `{qtype}` is not a DNS type")));
        }
        let query = clean_query(name);
        if query.is_empty() {
            return Ok(DecodeOutcome::Skipped("bind-query: root-zone query"));
        }
        let mut vendor_fields = VendorFields::default();
        vendor_fields.push("class", class);
        // The flags after the type (`+E(0)K`, recursion desired, EDNS, TCP, signed) and the server address.
        let rest: Vec<&str> = fields.collect();
        if let Some(flags) = rest.first() {
            vendor_fields.push("flags", *flags);
        }
        if let Some(server) = rest.iter().find(|t| t.starts_with('(')) {
            vendor_fields.push("server", server.trim_matches(['(', ')']));
        }
        out.push(Row::Dns(DnsEvent {
            time,
            vendor: Some("ISC".into()),
            product: Some("BIND".into()),
            client_ip: Some(ip),
            query: Some(query),
            query_type: Some(Cow::Borrowed(qtype)),
            vendor_fields,
            ..Default::default()
        }));
        Ok(DecodeOutcome::Parsed(1))
    }
}

impl Decoder for BindQuery {
    fn id(&self) -> &'static str {
        ID
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Dns]
    }

    fn decode<'a>(
        &self,
        record: &'a [u8],
        _ctx: RecordContext<'a>,
        out: &mut Vec<Row<'a>>,
    ) -> Result<DecodeOutcome, DecodeError> {
        self.decode_at(record, Utc::now(), out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = include_str!("../../../../tests/data/vendor/bind/query-log-arm.log");

    /// 2026-12-01: the reference "now" for year-less syslog dates.
    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().unwrap_or_default()
    }

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row<'static>>), DecodeError> {
        let mut out = Vec::new();
        let o = BindQuery.decode_at(line.as_bytes(), now(), &mut out)?;
        Ok((o, out.into_iter().map(Row::into_static).collect()))
    }

    fn dns(line: &str) -> DnsEvent<'static> {
        match decode(line) {
            Ok((DecodeOutcome::Parsed(1), mut rows)) => match rows.pop() {
                Some(Row::Dns(e)) => e,
                other => panic!("expected a dns row, got {other:?}"),
            },
            other => panic!("expected one row for {line}, got {other:?}"),
        }
    }

    fn line(i: usize) -> &'static str {
        SAMPLE.lines().nth(i).unwrap_or_default()
    }

    /// (time, client_ip, query, query_type) of a row.
    fn fields<'e>(e: &'e DnsEvent<'_>) -> (String, &'e str, &'e str, &'e str) {
        (
            e.time.to_rfc3339(),
            e.client_ip.as_deref().unwrap_or(""),
            e.query.as_deref().unwrap_or(""),
            e.query_type.as_deref().unwrap_or(""),
        )
    }

    #[test]
    fn arm_query_line_with_print_time_category_severity() {
        let e = dns(line(0));
        assert_eq!(fields(&e), ("2026-11-24T09:12:03.120Z".into(), "10.0.0.5", "www.example.com", "A"));
        assert_eq!(e.rcode, None, "the query log has no response code");
        assert!(e.answers.is_empty());
        assert_eq!((e.vendor.as_deref(), e.product.as_deref()), (Some("ISC"), Some("BIND")));
        assert_eq!((e.user.as_ref(), e.device.as_ref()), (None, None));
    }

    #[test]
    fn ipv6_clients_case_and_trailing_dot() {
        let e = dns(line(1));
        assert_eq!(fields(&e), ("2026-11-24T09:12:03.245Z".into(), "2001:db8::1", "www.example.net", "AAAA"));
        let e = dns(line(6));
        assert_eq!(fields(&e), ("2026-11-24T09:12:06.500Z".into(), "::1", "www.example.net", "AAAA"));
        // A link-local client with a zone id.
        let e = dns("24-Nov-2026 09:12:03.120 client fe80::1%eth0#5353: query: a.example IN A + (fe80::53)");
        assert_eq!(e.client_ip.as_deref(), Some("fe80::1"));
    }

    #[test]
    fn older_message_forms() {
        // view, no @0x, no category/severity, no (qname), TSIG-signed, ECS suffix.
        let e = dns(line(2));
        assert_eq!(fields(&e), ("2026-11-24T09:12:04.001Z".into(), "10.0.0.7", "mail.example.org", "MX"));
        let e = dns(line(3));
        assert_eq!(fields(&e), ("2026-11-24T09:12:05.500Z".into(), "10.0.0.8", "old.example.com", "TXT"));
        let e = dns(line(4));
        assert_eq!(fields(&e), ("2026-11-24T09:12:05.600Z".into(), "10.0.0.9", "signed.example.com", "SOA"));
        let e = dns(line(5));
        assert_eq!(fields(&e), ("2026-11-24T09:12:06.000Z".into(), "10.0.0.5", "example.com", "A"));
        // BIND 9.2-era prefix: no year in print-time, no flags.
        let e = dns("Feb 25 11:09:43.651 queries: info: client 10.0.0.3#1035: query: 3.example.com.nl IN A");
        assert_eq!(fields(&e), ("2026-02-25T11:09:43.651Z".into(), "10.0.0.3", "3.example.com.nl", "A"));
        let e = dns("24-Nov-2026 09:12:03.120 queries: info: client 10.0.0.5#53211/key tsig-key (x.example): query: x.example IN A +S (10.0.0.2)");
        assert_eq!(e.client_ip.as_deref(), Some("10.0.0.5"));
    }

    #[test]
    fn infoblox_syslog_forms() {
        let e = dns(line(7));
        assert_eq!(fields(&e), ("2026-11-24T09:12:07.000Z".into(), "10.0.0.10", "intranet.corp.example", "A"));
        let e = dns(line(8));
        assert_eq!(fields(&e), ("2026-11-24T09:12:07.000Z".into(), "10.0.0.11", "5.0.0.10.in-addr.arpa", "PTR"));
        // BIND's own timestamp inside the syslog message wins (it has a year and milliseconds).
        let e = dns(line(9));
        assert_eq!(fields(&e), ("2013-04-30T13:35:02.187Z".into(), "10.120.20.32", "foo.com", "A"));
        let e = dns(line(10));
        assert_eq!(fields(&e), ("2026-11-24T09:12:08.750Z".into(), "10.0.0.13", "cdn.example.com", "CNAME"));
        // Without host, with `client @0x... IP#port: query:` (no qname in parentheses).
        let e = dns(
            "Nov 24 09:12:07 named[1234]: client @0x7f8a1c0d2e60 10.0.0.14#53004: query: a.example IN A + (10.0.0.2)",
        );
        assert_eq!(fields(&e), ("2026-11-24T09:12:07.000Z".into(), "10.0.0.14", "a.example", "A"));
    }

    #[test]
    fn year_inference_for_rfc3164() {
        let t = NaiveTime::from_hms_opt(23, 59, 0).unwrap_or_default();
        let new_year = Utc.with_ymd_and_hms(2027, 1, 1, 0, 5, 0).single().unwrap_or_default();
        // A December line read just after new year belongs to the old year ...
        assert_eq!(infer_year(12, 31, t, new_year).map(|d| d.year()), Some(2026));
        // ... a January line read on 31 December (sender ahead of UTC) to the new one.
        let eve = Utc.with_ymd_and_hms(2026, 12, 31, 20, 0, 0).single().unwrap_or_default();
        let early = NaiveTime::from_hms_opt(0, 30, 0).unwrap_or_default();
        assert_eq!(infer_year(1, 1, early, eve).map(|d| d.year()), Some(2027));
        // 29 February goes back to the latest leap year.
        assert_eq!(infer_year(2, 29, t, eve).map(|d| d.year()), Some(2024));
    }

    #[test]
    fn skipped_lines() {
        let skip = |l: &str| match decode(l) {
            Ok((DecodeOutcome::Skipped(r), rows)) if rows.is_empty() => r,
            other => panic!("expected a skip for {l}, got {other:?}"),
        };
        assert_eq!(skip(line(11)), "bind-query: not a query log line");
        assert_eq!(skip(line(12)), "bind-query: not a query log line");
        assert_eq!(skip(line(13)), "bind-query: syslog message from another program");
        assert_eq!(skip(line(14)), "bind-query: root-zone query");
        assert_eq!(skip(""), "bind-query: blank line");
        let capture = "07-Apr-2013 20:16:49.083 client 11.22.33.44#57398 UDP: query: a2.foo.com IN A response: NOERROR +AED a2.foo.com. 28800 IN A 1.1.1.2;";
        assert_eq!(skip(capture), "bind-query: Infoblox response capture line");
        let debug = "02-May-2023 13:33:40.299 client: debug 3: client @0x2c11226c 127.0.0.1#59751: UDP request";
        assert_eq!(skip(debug), "bind-query: not a query log line");
        let rfc5424_other = "<30>1 2026-11-24T09:12:08.750Z ns1 dhcpd 987 - - DHCPACK on 10.0.0.5";
        assert_eq!(skip(rfc5424_other), "bind-query: syslog message from another program");
    }

    #[test]
    fn malformed_lines_are_dead_lettered_naming_the_field() {
        let reason = |l: &str| match decode(l) {
            Err(e) => e.reason,
            other => panic!("expected an error for {l}, got {other:?}"),
        };
        // The ARM's own example has no print-time prefix: no time, no row.
        let arm = "client @0x7f91b8005490 127.0.0.1#62536 (www.example.com): query: www.example.com IN AAAA +E(0)K (127.0.0.1)";
        assert!(reason(arm).contains("no timestamp"), "{}", reason(arm));
        assert!(reason("hello world").starts_with("bind-query: no timestamp"));
        assert!(reason("31-Feb-2026 09:12:03.120 client 10.0.0.5#1: query: a IN A").contains("no timestamp"));
        let bad_ip = line(0).replace("10.0.0.5#", "10.0.0.500#");
        assert!(reason(&bad_ip).contains("client address `10.0.0.500`"), "{}", reason(&bad_ip));
        let no_port = line(0).replace("10.0.0.5#53211", "10.0.0.5");
        assert!(reason(&no_port).contains("not `IP#port`"), "{}", reason(&no_port));
        let bad_port = line(0).replace("#53211", "#99999");
        assert!(reason(&bad_port).contains("client port"), "{}", reason(&bad_port));
        let no_type = "24-Nov-2026 09:12:03.120 client 10.0.0.5#1 (a): query: a IN";
        assert!(reason(no_type).contains("has no type"), "{}", reason(no_type));
        let bad_class = "24-Nov-2026 09:12:03.120 client 10.0.0.5#1 (a): query: a XX A + (10.0.0.2)";
        assert!(reason(bad_class).contains("query class `XX`"), "{}", reason(bad_class));
        let err = BindQuery.decode(b"24-Nov-2026 \xff", RecordContext::default(), &mut Vec::new());
        assert!(err.is_err_and(|e| e.reason.contains("UTF-8")));
    }

    #[test]
    fn every_sample_line_has_one_outcome() {
        let mut parsed = 0;
        for l in SAMPLE.lines() {
            let r = decode(l);
            assert!(r.is_ok(), "{l}: {r:?}");
            parsed += usize::from(matches!(r, Ok((DecodeOutcome::Parsed(1), _))));
        }
        assert_eq!(parsed, 11);
    }

    #[test]
    fn documented_example_json() {
        let (_, mut rows) = decode(line(0)).unwrap_or_else(|e| panic!("{e}"));
        let id = crate::origin::event_id("stdin", None, 1);
        let origin = crate::origin::origin_string("stdin", None, 1);
        rows[0].set_origin(&id, &origin, ID);
        let json = rows[0].to_json();
        println!("{json}");
        assert_eq!(json["query"], "www.example.com");
        assert_eq!(json["class"], "dns");
        assert_eq!(json["format"], "bind-query");
    }

    /// Exactly one outcome, with rows only when parsed.
    fn one_outcome(bytes: &[u8]) -> Result<(), TestCaseError> {
        let mut out = Vec::new();
        match BindQuery.decode(bytes, RecordContext::default(), &mut out) {
            Ok(DecodeOutcome::Parsed(n)) => {
                prop_assert!(n == 1 && out.len() == 1);
                if let Some(Row::Dns(e)) = out.first() {
                    let q = e.query.as_deref().unwrap_or("");
                    prop_assert!(!q.is_empty() && !q.ends_with('.') && q == q.to_ascii_lowercase());
                }
            }
            Ok(DecodeOutcome::Skipped(r)) => prop_assert!(out.is_empty() && r.starts_with("bind-query: ")),
            Err(e) => prop_assert!(out.is_empty() && e.reason.starts_with("bind-query: ")),
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            one_outcome(&bytes)?;
        }

        #[test]
        fn never_panics_on_mutated_sample_lines(
            which in 0usize..15, pos in 0usize..200, byte in any::<u8>(), cut in 0usize..200, del in 0usize..8,
        ) {
            let mut l = line(which).as_bytes().to_vec();
            if !l.is_empty() {
                let p = pos % l.len();
                l[p] = byte;
                let d = (p + del).min(l.len());
                l.drain(p..d);
            }
            one_outcome(&l)?;
            l.truncate(cut);
            one_outcome(&l)?;
        }
    }
}
