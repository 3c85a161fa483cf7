//! `windows-dns`: the Windows Server DNS debug log (`dns.log`, "Log packets
//! for debugging", Windows Server 2003–2025), one "PACKET" line per DNS
//! message, in the field order of the log's own key:
//!
//! ```text
//! 11/24/2026 9:12:03 AM 0E58 PACKET  0000020A6B7A4F10 UDP Rcv 10.0.0.5        d2c3   Q [0001   D   NOERROR] A      (3)www(7)example(3)com(0)
//! ```
//!
//! date, time, thread id, context (`PACKET`), internal packet identifier
//! (absent on Windows Server 2003), `UDP`/`TCP`, `Snd`/`Rcv`, remote IP, xid,
//! `R` for a response (blank for a query), opcode (`Q` query, `N` notify, `U`
//! update, `?`), `[` flags in hex, flag letters, response code `]`, question
//! type (absent on Windows Server 2003), question name in DNS wire notation
//! `(3)www(7)example(3)com(0)`.
//!
//! | field | column |
//! |---|---|
//! | 1–2 date and time (the server's short-date format, local time, read as UTC) | `time` |
//! | 8 remote IP of a received query (IPv4 or IPv6) | `client_ip` |
//! | 16 question name, `(n)label` decoded, lower case | `query` |
//! | 15 question type (`A`, `AAAA`, `PTR`, ...) | `query_type` |
//! | — (a query carries no outcome; see below) | `rcode`, `answers` stay empty |
//!
//! `vendor` is `Microsoft`, `product` `Windows DNS Server`.
//!
//! **One row per client query.** A row comes from each *received standard
//! query* (`Rcv`, no `R`, opcode `Q`): the client and what it asked, each
//! query exactly once. The other packet lines of the exchange are valid but
//! skipped: the response the server sends back (`Snd` + `R`), and the
//! server's own recursion to forwarders or root servers (`Snd` query, `Rcv`
//! response), whose remote IP is another DNS server, not a client. So
//! `rcode` stays null: the outcome is only on the response line, and the
//! `NOERROR` of a query line is the question's empty code field, not an
//! outcome. Enable at least "Incoming" + "Request" + "Queries/Transfers" in
//! the debug-log settings.
//!
//! **Dates and times.** The log uses the server's regional short-date format
//! and local time without a zone; the time is read as UTC (run the server in
//! UTC, or shift downstream). Date forms: `M/D/YYYY` with an AM/PM time (US),
//! `D/M/YYYY` with a 24-hour time (the day-first locales) — in both, a
//! number above 12 is always the day —, `YYYY-MM-DD`, `YYYY/MM/DD`,
//! `DD.MM.YYYY`, `DD-MM-YYYY`, `YYYYMMDD` (2003); two-digit years are 20YY.
//!
//! **Skipped** (counted): blank lines, the header (`DNS Server log file
//! creation at ...`, `Log file wrap at ...`, `Message logging key ...` and its
//! indented table) and the indented packet dumps of "Details" logging
//! (`windows-dns: header or detail line`); dated lines of another context
//! such as `EVENT` or `Note:` (`windows-dns: not a packet line`); notify,
//! update and unknown opcodes (`windows-dns: not a standard query`);
//! responses (`windows-dns: response`); queries the server sends
//! (`windows-dns: query sent by the server`); queries for the root zone
//! (`windows-dns: root-zone query`).
//!
//! **Dead-lettered**, naming the field: an unreadable date or time, a line
//! cut short, a transport other than UDP/TCP, a direction other than
//! Snd/Rcv, an invalid remote IP, a non-hex xid or flags, a missing
//! `[flags rcode]`, a question name not in `(n)label` form, invalid UTF-8.

use std::net::IpAddr;

use chrono::{NaiveDate, NaiveTime, TimeZone, Timelike, Utc};

use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{DnsEvent, EventClass, Row, Timestamp};

/// Decoder for `windows-dns`.
pub struct WindowsDns;

const ID: &str = "windows-dns";

fn err(reason: impl std::fmt::Display) -> DecodeError {
    DecodeError::new(format!("{ID}: {reason}"))
}

/// Header lines of `dns.log` and the first line of a "Details" packet dump.
const HEADER_PREFIXES: &[&str] = &[
    "DNS Server log file creation at",
    "Log file wrap at",
    "Message logging key",
    "UDP question info at",
    "UDP response info at",
    "TCP question info at",
    "TCP response info at",
];

/// First whitespace-separated token of `s` and the rest, left-trimmed.
fn next_token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find([' ', '\t']) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

fn num(s: &str) -> Option<u32> {
    (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

fn year(s: &str) -> Option<i32> {
    let y = i32::try_from(num(s)?).ok()?;
    match s.len() {
        4 => Some(y),
        2 => Some(2000 + y),
        _ => None,
    }
}

/// A date in one of the short-date formats Windows writes; `twelve_hour` is
/// whether the time had AM/PM (US month-first order).
fn date(s: &str, twelve_hour: bool) -> Option<NaiveDate> {
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(s, "%Y%m%d").ok();
    }
    let sep = s.bytes().find(|b| matches!(b, b'/' | b'.' | b'-'))?;
    let parts: Vec<&str> = s.split(char::from(sep)).collect();
    let [a, b, c] = parts.as_slice() else { return None };
    if a.len() == 4 {
        return NaiveDate::from_ymd_opt(year(a)?, num(b)?, num(c)?);
    }
    let (a, b, y) = (num(a)?, num(b)?, year(c)?);
    let month_first = match sep {
        b'/' if a > 12 => false,
        b'/' if b > 12 => true,
        b'/' => twelve_hour,
        _ => false, // DD.MM.YYYY, DD-MM-YYYY
    };
    if month_first {
        NaiveDate::from_ymd_opt(y, a, b)
    } else {
        NaiveDate::from_ymd_opt(y, b, a)
    }
}

/// `H:MM:SS`, with an optional `AM`/`PM`.
fn clock(s: &str, ampm: Option<&str>) -> Option<NaiveTime> {
    let t = NaiveTime::parse_from_str(s, "%H:%M:%S").ok()?;
    let Some(ampm) = ampm else { return Some(t) };
    let pm = ampm.eq_ignore_ascii_case("PM");
    let hour = match t.hour() {
        12 if !pm => 0,
        12 => 12,
        h @ 1..=11 if pm => h + 12,
        h @ 1..=11 => h,
        _ => return None, // 0 or 13-23 with AM/PM
    };
    t.with_hour(hour)
}

/// Decode a question name in `(3)www(7)example(3)com(0)` notation.
fn question_name(s: &str) -> Result<String, DecodeError> {
    let bad = |pos: usize, what: &str| err(format!("field 16 (question name) `{s}`: {what} at byte {pos}"));
    let mut name = String::with_capacity(s.len());
    let mut i = 0;
    loop {
        let rest = s.get(i..).unwrap_or("");
        let Some(after_open) = rest.strip_prefix('(') else {
            return Err(bad(i, "expected `(length)`"));
        };
        let close = after_open.find(')').ok_or_else(|| bad(i, "`(` without `)`"))?;
        let len: usize = after_open[..close]
            .parse()
            .ok()
            .filter(|n| *n <= 255)
            .ok_or_else(|| bad(i, "label length is not a number up to 255"))?;
        i += close + 2;
        if len == 0 {
            if i != s.len() {
                return Err(bad(i, "text after the final `(0)`"));
            }
            return Ok(name);
        }
        let label = s
            .get(i..i + len)
            .filter(|l| !l.contains(['(', ')']))
            .ok_or_else(|| bad(i, &format!("label shorter than its length {len}")))?;
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str(label);
        i += len;
    }
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Decoder for WindowsDns {
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
        let line = record_text(record).map_err(|e| err(e.reason))?;
        if line.trim().is_empty() {
            return Ok(DecodeOutcome::Skipped("windows-dns: blank line"));
        }
        if line.starts_with([' ', '\t']) || HEADER_PREFIXES.iter().any(|p| line.starts_with(p)) {
            return Ok(DecodeOutcome::Skipped("windows-dns: header or detail line"));
        }

        // Fields 1-2: date, time [AM|PM].
        let (d, rest) = next_token(line);
        let (t, mut rest) = next_token(rest);
        let mut ampm = None;
        let (maybe, after) = next_token(rest);
        if ["AM", "PM"].iter().any(|m| maybe.eq_ignore_ascii_case(m)) {
            ampm = Some(maybe);
            rest = after;
        }
        let when = date(d, ampm.is_some()).zip(clock(t, ampm)).ok_or_else(|| {
            err(format!(
                "fields 1-2 (date and time) `{d} {t}{}` are not a date and time",
                ampm.map(|m| format!(" {m}")).unwrap_or_default()
            ))
        })?;
        let time = Timestamp::from_datetime(&Utc.from_utc_datetime(&when.0.and_time(when.1)));

        // Fields 3-4: thread id, context.
        let (thread, rest) = next_token(rest);
        let (context, rest) = next_token(rest);
        if thread.is_empty() || context.is_empty() {
            return Err(err("line ends after the date and time (fields 3-4, thread id and context, missing)"));
        }
        if context != "PACKET" {
            return Ok(DecodeOutcome::Skipped("windows-dns: not a packet line"));
        }

        // Fields 5-11, up to `[`.
        let (head, bracket) =
            rest.split_once('[').ok_or_else(|| err("no `[flags rcode]` (fields 12-14): line cut short?"))?;
        let toks: Vec<&str> = head.split_ascii_whitespace().collect();
        let first_is_transport = toks.first().is_some_and(|t| *t == "UDP" || *t == "TCP");
        if let Some(id) = toks.first().filter(|t| !first_is_transport && !is_hex(t)) {
            return Err(err(format!("field 5 (packet identifier) `{id}` is neither hexadecimal nor UDP/TCP")));
        }
        let toks = if first_is_transport { &toks[..] } else { toks.get(1..).unwrap_or(&[]) };
        let [proto, dir, ip, xid, qr_op @ ..] = toks else {
            return Err(err(format!("packet fields 5-11 `{}` are incomplete", head.trim())));
        };
        if *proto != "UDP" && *proto != "TCP" {
            return Err(err(format!("field 6 (transport) `{proto}` is not UDP or TCP")));
        }
        if *dir != "Snd" && *dir != "Rcv" {
            return Err(err(format!("field 7 (direction) `{dir}` is not Snd or Rcv")));
        }
        let ip = ip.split('%').next().unwrap_or(ip);
        let ip: IpAddr = ip.parse().map_err(|_| err(format!("field 8 (remote IP) `{ip}` is not an IP address")))?;
        if !is_hex(xid) {
            return Err(err(format!("field 9 (xid) `{xid}` is not hexadecimal")));
        }
        let (response, opcode) = match qr_op {
            [op] => (false, *op),
            ["R", op] => (true, *op),
            _ => {
                return Err(err(format!(
                    "fields 10-11 (response flag, opcode) `{}` are not `[R] opcode`",
                    qr_op.join(" ")
                )))
            }
        };
        if !matches!(opcode, "Q" | "N" | "U" | "?") {
            return Err(err(format!("field 11 (opcode) `{opcode}` is not Q, N, U or ?")));
        }

        // Fields 12-14: `[flags-hex flag-letters rcode]`.
        let (flags, question) =
            bracket.split_once(']').ok_or_else(|| err("`[` without `]` in the flags (fields 12-14)"))?;
        let flag_toks: Vec<&str> = flags.split_ascii_whitespace().collect();
        let (Some(hex), Some(_rcode)) = (flag_toks.first(), flag_toks.last().filter(|_| flag_toks.len() >= 2)) else {
            return Err(err(format!("flags `[{flags}]` (fields 12-14) are not `[hex letters rcode]`")));
        };
        if !is_hex(hex) {
            return Err(err(format!("field 12 (flags) `{hex}` is not hexadecimal")));
        }

        // Fields 15-16: [question type] question name.
        let question = question.trim();
        let (qtype, qname) = if question.starts_with('(') {
            (None, question)
        } else {
            let (qt, name) = next_token(question);
            (Some(qt), name)
        };
        if qname.is_empty() {
            return Err(err("no question name (field 16)"));
        }
        if let Some(qt) = qtype {
            if !qt.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(err(format!("field 15 (question type) `{qt}` is not a DNS type")));
            }
        }
        let query = question_name(qname)?.trim_end_matches('.').to_ascii_lowercase();

        if opcode != "Q" {
            return Ok(DecodeOutcome::Skipped("windows-dns: not a standard query"));
        }
        if response {
            return Ok(DecodeOutcome::Skipped("windows-dns: response"));
        }
        if *dir == "Snd" {
            return Ok(DecodeOutcome::Skipped("windows-dns: query sent by the server"));
        }
        if query.is_empty() {
            return Ok(DecodeOutcome::Skipped("windows-dns: root-zone query"));
        }
        out.push(Row::Dns(DnsEvent {
            time,
            vendor: Some("Microsoft".into()),
            product: Some("Windows DNS Server".into()),
            client_ip: Some(ip.to_string().into()),
            query: Some(query.into()),
            query_type: qtype.map(Into::into),
            ..Default::default()
        }));
        Ok(DecodeOutcome::Parsed(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const USIEM: &str = include_str!("../../../../tests/data/vendor/windows-dns/windns-sample-lines.txt");

    /// Lines in the documented field order (the log's own "Message logging key").
    const DOCUMENTED: &[&str] = &[
        "11/24/2026 9:12:03 AM 0E58 PACKET  0000020A6B7A4F10 UDP Rcv 10.0.0.5        d2c3   Q [0001   D   NOERROR] A      (3)www(7)example(3)com(0)",
        "11/24/2026 9:12:03 PM 0E58 PACKET  0000020A6B7A4F10 TCP Rcv 2001:db8::5     1a2b   Q [0001   D   NOERROR] AAAA   (3)WWW(7)Example(3)COM(0)",
        "11/24/2026 12:05:00 AM 0E58 PACKET  0000020A6B7A4F10 UDP Rcv 10.0.0.6        1a2c   Q [0001   D   NOERROR] TXT    (6)_dmarc(7)example(3)com(0)",
        "20261124 09:12:03 8A0 PACKET  UDP Rcv 10.0.0.7  2a0d   Q [0001   D   NOERROR] (3)www(7)example(3)com(0)",
        "24.11.2026 21:12:03 0E58 PACKET  0000020A6B7A4F10 UDP Rcv 10.0.0.8        d2c4   Q [0001   D   NOERROR] PTR    (1)8(1)0(1)0(2)10(7)in-addr(4)arpa(0)",
        "11/24/2026 9:12:03 AM 0E58 PACKET  0000020A6B7A4F10 UDP Rcv 10.0.0.5        d2c5   U [0028       NOERROR] SOA    (7)example(3)com(0)",
        "11/24/2026 9:12:03 AM 0E58 PACKET  0000020A6B7A4F10 UDP Rcv 10.0.0.5        d2c6   Q [0001   D   NOERROR] NS     (0)",
        "11/24/2026 9:12:03 AM 0E58 PACKET  0000020A6B7A4F10 UDP Snd 10.0.0.5        d2c3 R Q [8385 A DR NXDOMAIN] A      (3)www(7)example(3)com(0)",
        "11/24/2026 9:12:01 AM 0AB4 EVENT   The DNS server has finished the background loading of zones.",
    ];

    const HEADER: &str = "DNS Server log file creation at 11/24/2026 9:12:01 AM\nLog file wrap at 11/24/2026 9:12:01 AM\n\nMessage logging key (for packets - other items use a subset of these fields):\n\tField #  Information         Values\n\t-------  -----------         ------\n\t   1     Date\n\t  10     Query/Response      R = Response\n\t                             blank = Query\nUDP question info at 000000BDDD8B1F10\n  Socket = 800\n  Remote addr 10.0.0.5, port 53211\n";

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row<'static>>), DecodeError> {
        let mut out = Vec::new();
        let o = WindowsDns.decode(line.as_bytes(), RecordContext::default(), &mut out)?;
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

    fn skip(line: &str) -> &'static str {
        match decode(line) {
            Ok((DecodeOutcome::Skipped(r), rows)) if rows.is_empty() => r,
            other => panic!("expected a skip for {line}, got {other:?}"),
        }
    }

    fn reason(line: &str) -> String {
        match decode(line) {
            Err(e) => e.reason,
            other => panic!("expected an error for {line}, got {other:?}"),
        }
    }

    fn fields<'e>(e: &'e DnsEvent<'_>) -> (String, &'e str, &'e str, Option<&'e str>) {
        (
            e.time.to_rfc3339(),
            e.client_ip.as_deref().unwrap_or(""),
            e.query.as_deref().unwrap_or(""),
            e.query_type.as_deref(),
        )
    }

    fn usiem(i: usize) -> &'static str {
        USIEM.lines().nth(i).unwrap_or_default()
    }

    #[test]
    fn usiem_sample_one_row_per_received_query() {
        // The exchange of a client query answered via recursion to 8.8.4.4:
        // upstream response, the server's own query, the client's query, the answer.
        assert_eq!(skip(usiem(0)), "windows-dns: response");
        assert_eq!(skip(usiem(1)), "windows-dns: query sent by the server");
        let e = dns(usiem(2));
        assert_eq!(fields(&e), ("2021-12-22T21:46:04.000Z".into(), "10.20.0.6", "login.live.com", Some("A")));
        assert_eq!(e.rcode, None, "a query line carries no outcome");
        assert!(e.answers.is_empty());
        assert_eq!((e.vendor.as_deref(), e.product.as_deref()), (Some("Microsoft"), Some("Windows DNS Server")));
        assert_eq!(skip(usiem(3)), "windows-dns: response");
        // 12-hour clock with AM: US month-first date (usiem reads it day-first; Windows writes the US short date with AM/PM).
        let e = dns(usiem(4));
        assert_eq!(
            fields(&e),
            ("2013-06-05T10:00:32.000Z".into(), "10.161.60.71", "somecomputer.domain.com", Some("A"))
        );
    }

    #[test]
    fn documented_lines_clocks_dates_ipv6() {
        let e = dns(DOCUMENTED[0]);
        assert_eq!(fields(&e), ("2026-11-24T09:12:03.000Z".into(), "10.0.0.5", "www.example.com", Some("A")));
        let e = dns(DOCUMENTED[1]);
        assert_eq!(fields(&e), ("2026-11-24T21:12:03.000Z".into(), "2001:db8::5", "www.example.com", Some("AAAA")));
        let e = dns(DOCUMENTED[2]);
        assert_eq!(fields(&e), ("2026-11-24T00:05:00.000Z".into(), "10.0.0.6", "_dmarc.example.com", Some("TXT")));
        // Windows Server 2003: yyyymmdd, no packet identifier, no question type.
        let e = dns(DOCUMENTED[3]);
        assert_eq!(fields(&e), ("2026-11-24T09:12:03.000Z".into(), "10.0.0.7", "www.example.com", None));
        let e = dns(DOCUMENTED[4]);
        assert_eq!(fields(&e), ("2026-11-24T21:12:03.000Z".into(), "10.0.0.8", "8.0.0.10.in-addr.arpa", Some("PTR")));
        // Day-first 24-hour dates; an unambiguous month-first one.
        let ddmm = DOCUMENTED[0].replace("11/24/2026 9:12:03 AM", "05/11/2026 09:12:03");
        assert_eq!(dns(&ddmm).time.to_rfc3339(), "2026-11-05T09:12:03.000Z");
        let mmdd = DOCUMENTED[0].replace("11/24/2026 9:12:03 AM", "11/24/2026 09:12:03");
        assert_eq!(dns(&mmdd).time.to_rfc3339(), "2026-11-24T09:12:03.000Z");
        let iso = DOCUMENTED[0].replace("11/24/2026 9:12:03 AM", "2026-11-24 09:12:03");
        assert_eq!(dns(&iso).time.to_rfc3339(), "2026-11-24T09:12:03.000Z");
    }

    #[test]
    fn skipped_lines() {
        for l in HEADER.lines() {
            let r = skip(l);
            assert!(r == "windows-dns: header or detail line" || r == "windows-dns: blank line", "{l}: {r}");
        }
        assert_eq!(skip(DOCUMENTED[5]), "windows-dns: not a standard query");
        assert_eq!(skip(DOCUMENTED[6]), "windows-dns: root-zone query");
        assert_eq!(skip(DOCUMENTED[7]), "windows-dns: response");
        assert_eq!(skip(DOCUMENTED[8]), "windows-dns: not a packet line");
    }

    #[test]
    fn malformed_lines_are_dead_lettered_naming_the_field() {
        let l = DOCUMENTED[0];
        assert!(reason("hello world").contains("fields 1-2 (date and time)"));
        assert!(reason(&l.replace("11/24/2026", "13/13/2026")).contains("fields 1-2"));
        assert!(reason(&l.replace("9:12:03 AM", "19:12:03 AM")).contains("fields 1-2"));
        assert!(reason("11/24/2026 9:12:03 AM").contains("fields 3-4"));
        assert!(reason(&l.replace("10.0.0.5 ", "10.0.0.256 ")).contains("field 8 (remote IP) `10.0.0.256`"));
        assert!(reason(&l.replace("0000020A6B7A4F10 UDP", "UDQ")).contains("field 5"));
        assert!(reason(&l.replace("0000020A6B7A4F10 UDP", "0000020A6B7A4F10 SCTP")).contains("field 6"));
        assert!(reason(&l.replace("Rcv", "Fwd")).contains("field 7"));
        assert!(reason(&l.replace("d2c3", "zz")).contains("field 9"));
        assert!(reason(&l.replace("   Q [", " X Q [")).contains("fields 10-11"));
        assert!(reason(&l.replace("] A ", " A ")).contains("`[` without `]`"));
        assert!(reason(&l.replace("[0001   D   NOERROR]", "[0001]")).contains("fields 12-14"));
        assert!(reason(&l.replace("(7)example", "(9)example")).contains("field 16"));
        assert!(reason(&l.replace("(3)com(0)", "(3)com")).contains("field 16"));
        assert!(reason(&l.replace("(3)com(0)", "(3)com(0)x")).contains("after the final"));
        assert!(reason(&l.replace("(3)www", "(99999999999999999999)www")).contains("field 16"));
        assert!(reason(&l[..l.len() - 3]).contains("field 16"));
        let bad = WindowsDns.decode(b"11/24/2026 \xff", RecordContext::default(), &mut Vec::new());
        assert!(bad.is_err_and(|e| e.reason.contains("UTF-8")));
    }

    #[test]
    fn documented_example_json() {
        let (_, mut rows) = decode(DOCUMENTED[0]).unwrap_or_else(|e| panic!("{e}"));
        let id = crate::origin::event_id("stdin", None, 1);
        let origin = crate::origin::origin_string("stdin", None, 1);
        rows[0].set_origin(&id, &origin, ID);
        let json = rows[0].to_json();
        println!("{json}");
        assert_eq!(json["client_ip"], "10.0.0.5");
        assert_eq!(json["format"], "windows-dns");
    }

    /// Exactly one outcome, with rows only when parsed.
    fn one_outcome(bytes: &[u8]) -> Result<(), TestCaseError> {
        let mut out = Vec::new();
        match WindowsDns.decode(bytes, RecordContext::default(), &mut out) {
            Ok(DecodeOutcome::Parsed(n)) => {
                prop_assert!(n == 1 && out.len() == 1);
                if let Some(Row::Dns(e)) = out.first() {
                    let q = e.query.as_deref().unwrap_or("");
                    prop_assert!(!q.is_empty() && !q.ends_with('.') && q == q.to_ascii_lowercase());
                }
            }
            Ok(DecodeOutcome::Skipped(r)) => prop_assert!(out.is_empty() && r.starts_with("windows-dns: ")),
            Err(e) => prop_assert!(out.is_empty() && e.reason.starts_with("windows-dns: ")),
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
            which in 0usize..14, pos in 0usize..200, byte in any::<u8>(), cut in 0usize..200, del in 0usize..8,
        ) {
            let lines: Vec<&str> = USIEM.lines().chain(DOCUMENTED.iter().copied()).collect();
            let mut l = lines[which % lines.len()].as_bytes().to_vec();
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
