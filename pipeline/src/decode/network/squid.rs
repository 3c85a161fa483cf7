//! `squid`: Squid's native `access.log` (`logformat squid`, the default of
//! Squid 2.6–7.x): whitespace-separated
//! `time elapsed client code/status bytes method URL user hierarchy/peer type`,
//! i.e. `%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt`.
//! Fields appended after the tenth (a custom `logformat` that adds the
//! Referer or User-Agent) are ignored.
//!
//! | field (1-based) | column |
//! |---|---|
//! | 1 time (epoch seconds with milliseconds, UTC) | `time` |
//! | 3 client address (`%>a`; a host name when `log_fqdn` is on → `device`) | `src_ip` |
//! | 4 result code / HTTP status: `*DENIED*` → `deny`, anything else → `allow` | `action` |
//! | 5 bytes sent to the client (`%<st`, headers included) | `bytes_in` |
//! | 6 method | `http_method` |
//! | 7 URL (for `CONNECT`: `host:port`) | `url`; its host (lower case, no port) → `host`, an explicit port → `dst_port` |
//! | 8 user (`-` = none; %-encoding decoded) | `user` |
//! | 9 hierarchy / peer (`HIER_DIRECT/203.0.113.7`, Squid 2 `DIRECT/...`): an address peer | `dst_ip` |
//!
//! `protocol` is `tcp`, `vendor` and `product` `Squid`. The native format
//! has no request size, so `bytes_out` stays null.
//!
//! Skipped: lines whose URL is an `error:` pseudo-URL (Squid 4+ logs
//! connections closed before a request, e.g. `NONE_NONE/000 ...
//! error:transaction-end-before-headers`) as `squid: no HTTP request`, and
//! ICP/HTCP queries between caches (`UDP_*` codes) as
//! `squid: inter-cache ICP/HTCP query`. Dead-lettered, naming the field:
//! fewer than 10 fields, a time / elapsed / size that is not a number, a
//! client that is neither an address nor a host name, a result without
//! `/status`, a hierarchy field without `/`.
//!
//! This module also holds the host / URL helpers (`clean_host`, `url_host`,
//! `url_port`) the `fortigate`, `cef` and `w3c` decoders use.

use std::borrow::Cow;

use crate::decode::readers::text::{self, lower_case, url_host, url_port};
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{EventClass, NetworkEvent, Row, Str, Timestamp, VendorFields};

/// Decoder for `squid`.
pub struct Squid;

/// Decode `%XX` escapes (Squid %-encodes user names); invalid escapes stay as they are.
fn percent_decode(s: &str) -> Str<'_> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if let (b'%', Some([h, l])) = (b[i], b.get(i + 1..i + 3)) {
            if let (Some(h), Some(l)) = (char::from(*h).to_digit(16), char::from(*l).to_digit(16)) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn err(n: usize, name: &str, v: &str, what: &str) -> DecodeError {
    DecodeError::new(format!("squid: field {n} ({name}) `{v}` {what}"))
}

fn is_host_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

impl Decoder for Squid {
    fn id(&self) -> &'static str {
        "squid"
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
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 {
            return Err(DecodeError::new(format!(
                "squid: line has {} fields, the native access.log format has 10 \
                 (time elapsed client code/status bytes method URL user hierarchy/peer type)",
                f.len()
            )));
        }
        let secs = f[0]
            .parse::<f64>()
            .ok()
            .filter(|t| t.is_finite() && *t > 0.0 && f[0].bytes().all(|b| b.is_ascii_digit() || b == b'.'))
            .ok_or_else(|| err(1, "time", f[0], "is not an epoch time"))?;
        f[1].parse::<i64>().map_err(|_| err(2, "elapsed", f[1], "is not a number of milliseconds"))?;
        let (src_ip, device) = match text::ip("squid", "field 3 (client)", Some(f[2])) {
            Ok(a) => (a, None),
            Err(_) if is_host_name(f[2]) => (None, Some(lower_case(f[2]))),
            Err(_) => return Err(err(3, "client", f[2], "is not an address or host name")),
        };
        let (code, status) = f[3].split_once('/').ok_or_else(|| err(4, "code/status", f[3], "has no `/status`"))?;
        status.parse::<u16>().map_err(|_| err(4, "code/status", f[3], "has a status that is not a number"))?;
        let bytes = f[4].parse::<u64>().map_err(|_| err(5, "bytes", f[4], "is not a byte count"))?;
        let url = f[6];
        let (_, peer) = f[8].split_once('/').ok_or_else(|| err(9, "hierarchy/peer", f[8], "has no `/`"))?;
        if url.starts_with("error:") {
            return Ok(DecodeOutcome::Skipped("squid: no HTTP request"));
        }
        if code.starts_with("UDP_") {
            return Ok(DecodeOutcome::Skipped("squid: inter-cache ICP/HTCP query"));
        }
        let method = Some(f[5]).filter(|m| *m != "-" && *m != "NONE");
        let mut vendor_fields = VendorFields::default();
        vendor_fields.push("elapsed_ms", f[1]);
        vendor_fields.push("result_code", code);
        vendor_fields.push("status", status);
        vendor_fields.push("hierarchy", f[8].split('/').next().unwrap_or(""));
        vendor_fields.push("content_type", f[9]);
        out.push(Row::Network(NetworkEvent {
            time: Timestamp((secs * 1_000_000.0).round() as i64),
            vendor: Some("Squid".into()),
            product: Some("Squid".into()),
            src_ip,
            device,
            dst_ip: text::ip("squid", "peer", Some(peer)).ok().flatten(),
            dst_port: url_port(url),
            protocol: Some("tcp".into()),
            action: Some(if code.contains("DENIED") { "deny" } else { "allow" }.into()),
            bytes_in: i64::try_from(bytes).ok(),
            host: url_host(url),
            url: Some(Cow::Borrowed(url)).filter(|u| u != "-"),
            http_method: method.map(Cow::Borrowed),
            user: Some(f[7]).filter(|u| *u != "-").map(percent_decode),
            vendor_fields,
            ..Default::default()
        }));
        Ok(DecodeOutcome::Parsed(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::readers::text::clean_host;
    use proptest::prelude::*;

    const DOCUMENTED: &str = include_str!("../../../../tests/data/vendor/squid/access-documented.log");

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row<'static>>), DecodeError> {
        let mut out = Vec::new();
        let o = Squid.decode(line.as_bytes(), RecordContext::default(), &mut out)?;
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
    fn connect_tunnel() {
        let e = net(line_with("CONNECT content.dropboxapi.com"));
        assert_eq!(e.time.to_rfc3339(), "2024-03-05T14:03:07.123Z");
        assert_eq!(e.src_ip.as_deref(), Some("10.20.1.31"));
        assert_eq!(e.host.as_deref(), Some("content.dropboxapi.com"));
        assert_eq!(e.url.as_deref(), Some("content.dropboxapi.com:443"));
        assert_eq!((e.dst_ip.as_deref(), e.dst_port), (Some("162.125.1.18"), Some(443)));
        assert_eq!(e.http_method.as_deref(), Some("CONNECT"));
        assert_eq!(e.user.as_deref(), Some("ana.pereira"));
        assert_eq!(e.action.as_deref(), Some("allow"));
        assert_eq!((e.bytes_in, e.bytes_out), (Some(48_211_977), None));
        assert_eq!((e.vendor.as_deref(), e.protocol.as_deref()), (Some("Squid"), Some("tcp")));
    }

    #[test]
    fn http_requests_denials_and_ipv6() {
        let e = net(line_with("www.example.com/index.html"));
        assert_eq!(e.url.as_deref(), Some("http://www.example.com/index.html"));
        assert_eq!(e.host.as_deref(), Some("www.example.com"));
        assert_eq!(e.dst_port, None, "no explicit port");
        assert_eq!(e.user, None);
        let e = net(line_with("TCP_DENIED/403"));
        assert_eq!(e.action.as_deref(), Some("deny"));
        assert_eq!(e.host.as_deref(), Some("www.reddit.com"));
        assert_eq!(e.dst_port, Some(8080));
        assert_eq!(e.dst_ip, None, "HIER_NONE/-");
        assert_eq!(e.user.as_deref(), Some("bo.lindqvist"));
        let e = net(line_with("api.openai.com"));
        assert_eq!(e.src_ip.as_deref(), Some("2001:db8:10::5"));
        assert_eq!(e.dst_ip.as_deref(), Some("2606:4700::6810:84e5"));
        assert_eq!(e.http_method.as_deref(), Some("POST"));
        assert_eq!(e.time.to_rfc3339(), "2024-03-05T14:03:10.500Z");
        let e = net(line_with("[2001:db8:ff::1]:443"));
        assert_eq!((e.host.as_deref(), e.dst_port), (Some("2001:db8:ff::1"), Some(443)));
        assert_eq!(e.action.as_deref(), Some("deny"));
        // Squid 2.x hierarchy code, %-encoded user.
        let e = net(line_with("DIRECT/10.30.0.5"));
        assert_eq!(e.user.as_deref(), Some("CORP\\ana.pereira"));
        assert_eq!(e.dst_ip.as_deref(), Some("10.30.0.5"));
        // A host name as client (log_fqdn on).
        let e = net(line_with("ws-0042.corp.example"));
        assert_eq!((e.src_ip, e.device.as_deref()), (None, Some("ws-0042.corp.example")));
    }

    #[test]
    fn extra_fields_after_the_tenth_are_ignored() {
        let line = format!("{} \"https://www.example.com/\" \"Mozilla/5.0 (X11)\"", line_with("index.html"));
        assert_eq!(net(&line).host.as_deref(), Some("www.example.com"));
    }

    #[test]
    fn skips_and_errors() {
        assert_eq!(decode(line_with("error:transaction")).unwrap().0, DecodeOutcome::Skipped("squid: no HTTP request"));
        assert_eq!(
            decode(line_with("UDP_HIT")).unwrap().0,
            DecodeOutcome::Skipped("squid: inter-cache ICP/HTCP query")
        );
        let reason = |l: &str| decode(l).unwrap_err().reason;
        assert!(reason("hello world").contains("has 2 fields"));
        let base = line_with("index.html");
        assert!(reason(&base.replacen("1709647388.456", "yesterday", 1)).contains("field 1 (time)"));
        assert!(reason(&base.replacen("     87 ", " x ", 1)).contains("field 2 (elapsed)"));
        assert!(reason(&base.replacen("10.20.1.44", "10.20.1.44/x", 1)).contains("field 3 (client)"));
        assert!(reason(&base.replacen("TCP_MISS/200", "TCP_MISS", 1)).contains("field 4"));
        assert!(reason(&base.replacen("TCP_MISS/200", "TCP_MISS/ok", 1)).contains("status"));
        assert!(reason(&base.replacen(" 5120 ", " -5 ", 1)).contains("field 5 (bytes)"));
        assert!(reason(&base.replacen("HIER_DIRECT/93.184.216.34", "HIER_DIRECT", 1)).contains("field 9"));
    }

    #[test]
    fn host_helpers() {
        assert_eq!(url_host("https://user:pw@Www.Example.com.:8443/x?y#z").as_deref(), Some("www.example.com"));
        assert_eq!(url_port("https://user:pw@Www.Example.com.:8443/x").unwrap_or(0), 8443);
        assert_eq!(url_host("/only/a/path"), None);
        assert_eq!(url_host("www.google.nl/"), Some("www.google.nl".into()));
        assert_eq!(url_host("http://[2001:db8::1]:8080/"), Some("2001:db8::1".into()));
        assert_eq!(url_port("http://[2001:db8::1]:8080/"), Some(8080));
        assert_eq!(clean_host("2001:db8::1"), Some("2001:db8::1".into()));
        assert_eq!(clean_host("-"), None);
        assert_eq!(percent_decode("a%40b%2"), "a@b%2");
    }

    #[test]
    fn every_documented_line_has_an_outcome() {
        for line in DOCUMENTED.lines().filter(|l| !l.trim().is_empty()) {
            assert!(decode(line).is_ok(), "{line}: {:?}", decode(line));
        }
    }

    fn one_outcome(bytes: &[u8]) {
        let mut out = Vec::new();
        match Squid.decode(bytes, RecordContext::default(), &mut out) {
            Ok(DecodeOutcome::Parsed(n)) => assert!(n >= 1 && n == out.len()),
            Ok(DecodeOutcome::Skipped(_)) | Err(_) => assert!(out.is_empty()),
        }
    }

    #[test]
    fn doc_example_json() {
        let mut out = Vec::new();
        Squid
            .decode(line_with("CONNECT content.dropboxapi.com").as_bytes(), RecordContext::default(), &mut out)
            .unwrap();
        out[0].set_origin(&crate::origin::event_id("stdin", None, 1), "stdin:1", Squid.id());
        crate::decode::doc_example::check("squid.md", &out[0].to_json());
    }

    proptest! {
        #[test]
        fn never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            pick in 0usize..64,
            at in 0usize..300,
            with in any::<u8>(),
            cut in 0usize..300,
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

        #[test]
        fn host_helpers_never_panic(s in "\\PC{0,60}") {
            let _ = (url_host(&s), url_port(&s), clean_host(&s), percent_decode(&s));
        }
    }
}
