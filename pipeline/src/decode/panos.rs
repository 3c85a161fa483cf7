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

use super::{record_text, time::parse_any, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{EventClass, NetworkEvent, Row};

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
fn action(a: &str) -> String {
    let a = a.trim().to_ascii_lowercase();
    match a.as_str() {
        "allow" | "continue" | "override" => "allow".into(),
        "deny" | "block" | "block-url" | "block-continue" | "block-override" | "sinkhole" => "deny".into(),
        "alert" => "alert".into(),
        _ if a.starts_with("drop") => "drop".into(),
        _ if a.starts_with("reset") => "reset".into(),
        _ => a,
    }
}

/// The CSV payload from the receive-time field on, and the log type.
///
/// The type field is the first `,TYPE,`; before it come the serial number
/// and the receive time (`YYYY/MM/DD HH:MM:SS`), before those the optional
/// `FUTURE_USE` field and syslog header, which are dropped.
fn payload(line: &str) -> Option<(String, &'static str)> {
    let (p, t) = TYPES.iter().filter_map(|t| line.find(&format!(",{t},")).map(|p| (p, *t))).min_by_key(|(p, _)| *p)?;
    let (before_serial, serial) = line[..p].rsplit_once(',')?;
    let recv = before_serial.rsplit(',').next()?;
    // Without a `1,` FUTURE_USE field the syslog header is glued to the time: keep its last 19 chars.
    let recv = if recv.len() > 19 && recv.is_char_boundary(recv.len() - 19) { &recv[recv.len() - 19..] } else { recv };
    Some((format!("{recv},{serial}{}", &line[p..]), t))
}

fn field(f: &csv::StringRecord, i: usize) -> Option<&str> {
    f.get(i).map(str::trim).filter(|s| !s.is_empty())
}

fn ip(f: &csv::StringRecord, i: usize, name: &str) -> Result<Option<String>, DecodeError> {
    match field(f, i) {
        None => Ok(None),
        Some(v) => v
            .parse::<std::net::IpAddr>()
            .map(|a| Some(a.to_string()))
            .map_err(|_| DecodeError::new(format!("panos: field {i} ({name}) `{v}` is not an IP address"))),
    }
}

fn num<T: std::str::FromStr>(f: &csv::StringRecord, i: usize, name: &str) -> Result<Option<T>, DecodeError> {
    match field(f, i) {
        None => Ok(None),
        Some(v) => v
            .parse::<T>()
            .map(Some)
            .map_err(|_| DecodeError::new(format!("panos: field {i} ({name}) `{v}` is not a number"))),
    }
}

/// Host of a PAN-OS URL field (`www.example.com/path`, `https://x:8443/p`).
pub fn url_host(url: &str) -> Option<String> {
    let u = url.trim().trim_matches(['"', '\\']);
    let u = u.split_once("://").map_or(u, |(_, rest)| rest);
    let host = u.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = match host.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

thread_local! {
    /// One CSV state machine per thread: building it is far more expensive
    /// than splitting a line (it compiles a DFA), so it is built once.
    static CSV: std::cell::RefCell<(csv_core::Reader, Vec<u8>, Vec<usize>)> =
        std::cell::RefCell::new((csv_core::ReaderBuilder::new().build(), Vec::new(), Vec::new()));
}

/// Split one CSV line (RFC 4180 quoting) and append its fields to `rec`.
fn split_csv(line: &str, rec: &mut csv::StringRecord) -> Result<(), DecodeError> {
    use csv_core::ReadRecordResult;
    CSV.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (reader, out, ends) = &mut *guard;
        reader.reset();
        // Unquoting never makes a field longer than its input.
        out.resize(line.len() + 1, 0);
        if ends.len() < 64 {
            ends.resize(64, 0);
        }
        let mut input = line.as_bytes();
        let (mut nout, mut nends) = (0, 0);
        loop {
            let (result, i, o, e) = reader.read_record(input, &mut out[nout..], &mut ends[nends..]);
            input = &input[i..];
            nout += o;
            nends += e;
            match result {
                // No more input: an empty slice tells the reader the line is complete.
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => out.resize(out.len() * 2 + 1, 0),
                ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
                ReadRecordResult::Record | ReadRecordResult::End => break,
            }
        }
        if nends == 0 {
            return Err(DecodeError::new("panos: empty CSV payload"));
        }
        let text = std::str::from_utf8(&out[..nout])
            .map_err(|_| DecodeError::new("panos: malformed CSV: a field is not valid UTF-8"))?;
        let mut start = 0;
        for &end in &ends[..nends] {
            rec.push_field(text.get(start..end).unwrap_or(""));
            start = end;
        }
        Ok(())
    })
}

impl Decoder for Panos {
    fn id(&self) -> &'static str {
        "panos"
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Network]
    }

    fn decode(&self, record: &[u8], _ctx: RecordContext<'_>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
        let line = record_text(record)?;
        let (body, log_type) = payload(line)
            .ok_or_else(|| DecodeError::new("panos: no PAN-OS log type field (TRAFFIC, THREAT, ...) found"))?;
        if log_type != "TRAFFIC" && log_type != "THREAT" {
            return Ok(DecodeOutcome::Skipped("panos: log type not modelled"));
        }
        // Put back the FUTURE_USE field so indices match Palo Alto's documentation.
        let mut f = csv::StringRecord::new();
        f.push_field("1");
        split_csv(&body, &mut f)?;
        let min = if log_type == "TRAFFIC" { 34 } else { 32 };
        if f.len() < min {
            return Err(DecodeError::new(format!(
                "panos: {log_type} line has {} fields, expected at least {min} (truncated?)",
                f.len()
            )));
        }
        let generated = field(&f, 6).or_else(|| field(&f, 1)).unwrap_or("");
        let time = parse_any(generated)
            .ok_or_else(|| DecodeError::new(format!("panos: field 6 (generated time) `{generated}` is not a time")))?;
        let subtype = field(&f, 4).unwrap_or("").to_ascii_lowercase();
        let mut e = NetworkEvent {
            time,
            vendor: Some("Palo Alto Networks".into()),
            product: Some("PAN-OS".into()),
            src_ip: ip(&f, 7, "source address")?,
            dst_ip: ip(&f, 8, "destination address")?,
            user: field(&f, 12).map(str::to_string),
            vendor_app: field(&f, 14).map(str::to_string),
            src_port: num(&f, 24, "source port")?,
            dst_port: num(&f, 25, "destination port")?,
            protocol: field(&f, 29).map(str::to_ascii_lowercase),
            action: field(&f, 30).map(action),
            ..Default::default()
        };
        if log_type == "TRAFFIC" {
            e.bytes_out = num(&f, 32, "bytes sent")?;
            e.bytes_in = num(&f, 33, "bytes received")?;
            e.url_category = field(&f, 37).filter(|c| *c != "any").map(str::to_string);
        } else {
            e.url_category = field(&f, 33).filter(|c| *c != "any").map(str::to_string);
            if subtype == "url" {
                let url = field(&f, 31).map(|u| u.trim_matches(['"', '\\']).to_string());
                e.host = url.as_deref().and_then(url_host);
                e.url = url;
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

    const METRON: &str = include_str!("../../../tests/data/vendor/panos/panos-syslog.csv");
    const USIEM: &str = include_str!("../../../tests/data/vendor/panos/paloalto-sample-lines.txt");
    const DEMO: &str = include_str!("../../../deploy/demo/logs/panos--fw01.log");

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row>), DecodeError> {
        let mut out = Vec::new();
        let o = Panos.decode(line.as_bytes(), RecordContext::default(), &mut out)?;
        Ok((o, out))
    }

    fn net(line: &str) -> NetworkEvent {
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
}
