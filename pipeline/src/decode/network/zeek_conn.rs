//! `zeek-conn`: Zeek (formerly Bro) `conn.log`, Zeek 3.x–7.x, TSV with its
//! header block or JSON, read with the shared [`ZeekRecord`] (see
//! [`crate::decode::readers::zeek`] for the encodings, headers and JSON key forms). Every
//! record becomes one `network` row.
//!
//! | Zeek field | column |
//! |---|---|
//! | `ts` (connection start) | `time` |
//! | `id.orig_h` / `id.orig_p` | `src_ip` / `src_port` |
//! | `id.resp_h` / `id.resp_p` | `dst_ip` / `dst_port` |
//! | `proto` (`tcp`, `udp`, `icmp`; `unknown_transport` → null) | `protocol` |
//! | `service` (analyzers that matched, e.g. `dns`, `ssl,http`) | `vendor_app` |
//! | `orig_bytes` (payload bytes the originator sent) | `bytes_out` |
//! | `resp_bytes` (payload bytes the responder sent) | `bytes_in` |
//! | `conn_state` | `action` (below) |
//!
//! `vendor` and `product` are `Zeek`. For ICMP, Zeek logs the ICMP type and
//! code as `id.orig_p` / `id.resp_p`; they are kept as ports.
//!
//! Zeek is a passive sensor and decides nothing: `action` records what it
//! saw happen on the wire, in floodlight's vocabulary.
//!
//! | `conn_state` | meaning (Zeek) | `action` |
//! |---|---|---|
//! | `SF`, `S1`, `S2`, `S3`, `RSTO`, `RSTR` | established (then closed, open, half-closed or aborted) | `allow` |
//! | `RSTRH`, `SHR` | the responder answered (Zeek missed the originator's SYN) | `allow` |
//! | `OTH` | no SYN seen, midstream traffic | `allow` |
//! | `REJ` | attempt rejected: the SYN was answered with a RST | `reset` |
//! | `S0` over TCP, `SH`, `RSTOS0` | SYN never answered (dropped on the way, or nothing there) | `drop` |
//! | `S0` over UDP / ICMP | only the originator sent (normal for one-way flows) | null |
//! | unset or any other value | | null |
//!
//! Not mapped (no column in the `network` class): `duration`, `uid`,
//! `history`, `local_orig` / `local_resp`, packet and IP-byte counts,
//! `missed_bytes`, `tunnel_parents`, `ip_proto`.
//!
//! Nothing is skipped: every connection is a row. Dead-lettered: a TSV line
//! with no `#fields` header before it or with a different number of fields;
//! a stream whose `#path` (JSON: `_path`) is another log than `conn`
//! (`conn_<suffix>`, e.g. Corelight `conn_red` / `conn_long`, is accepted);
//! invalid JSON; a missing `ts`, `id.orig_h` or `id.resp_h`; a value that is
//! not of its Zeek type (a time, an IP address, a port 0–65535, a count).

use std::borrow::Cow;

use crate::decode::readers::text::{lower_case, map_str};
use crate::decode::readers::zeek::ZeekRecord;
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{EventClass, NetworkEvent, Row};

/// Decoder for `zeek-conn`.
pub struct ZeekConn;

/// `conn_state` (and the transport) → floodlight `action`; see the module doc.
fn action(state: &str, proto: Option<&str>) -> Option<&'static str> {
    match state.trim() {
        "SF" | "S1" | "S2" | "S3" | "RSTO" | "RSTR" | "RSTRH" | "SHR" | "OTH" => Some("allow"),
        "REJ" => Some("reset"),
        "SH" | "RSTOS0" => Some("drop"),
        "S0" if proto == Some("tcp") => Some("drop"),
        _ => None,
    }
}

/// Zeek fields with a column of their own (the rest go to `vendor_fields`).
const MAPPED: &[&str] = &[
    "ts",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "conn_state",
    "orig_bytes",
    "resp_bytes",
    "service",
];

impl Decoder for ZeekConn {
    fn id(&self) -> &'static str {
        "zeek-conn"
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
        let text = record_text(record)?;
        let r = ZeekRecord::parse("zeek-conn", "conn", text, ctx)?;
        let time = r.ts()?;
        let src_ip = r.addr("id.orig_h")?.ok_or_else(|| r.error("missing `id.orig_h`"))?;
        let dst_ip = r.addr("id.resp_h")?.ok_or_else(|| r.error("missing `id.resp_h`"))?;
        let protocol = r
            .text("proto")
            .map(|p| map_str(p, |p| lower_case(p.trim())))
            .filter(|p| !p.is_empty() && p != "unknown_transport");
        let mut e = NetworkEvent {
            time,
            vendor: Some("Zeek".into()),
            product: Some("Zeek".into()),
            src_ip: Some(src_ip),
            src_port: r.port("id.orig_p")?,
            dst_ip: Some(dst_ip),
            dst_port: r.port("id.resp_p")?,
            action: r.str("conn_state").and_then(|s| action(&s, protocol.as_deref())).map(Cow::Borrowed),
            bytes_out: r.count("orig_bytes")?,
            bytes_in: r.count("resp_bytes")?,
            vendor_app: match r.list("service") {
                s if s.is_empty() => None,
                s if s.len() == 1 => s.into_iter().next().map(|s| map_str(s, lower_case)),
                s => Some(Cow::Owned(s.join(",").to_ascii_lowercase())),
            },
            protocol,
            ..Default::default()
        };
        r.rest_into(MAPPED, &mut e.vendor_fields);
        out.push(Row::Network(e));
        Ok(DecodeOutcome::Parsed(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::readers::zeek::test_support::{
        assert_doc_shows, check_outcome, comparable, example_json, run, tsv_to_json, unmask,
    };
    use bytes::Bytes;
    use proptest::prelude::*;

    const BASIC: &str = include_str!("../../../../tests/data/vendor/zeek/opt.basic_conn.log");
    const FABRIC: &str = include_str!("../../../../tests/data/vendor/zeek/core.cisco-fabric-path_conn.log");
    const NOT_CONN: &str =
        include_str!("../../../../tests/data/vendor/zeek/scripts.base.frameworks.logging.ascii-json_ssh.log");

    fn net<'r>(row: &'r Row<'_>) -> &'r NetworkEvent<'r> {
        match row {
            Row::Network(e) => e,
            other => panic!("expected a network row, got {other:?}"),
        }
    }

    fn rows_of(text: &str) -> Vec<Row<'static>> {
        let (results, rows) = run(&ZeekConn, text);
        assert!(results.iter().all(|r| matches!(r, Ok(DecodeOutcome::Parsed(1)))), "{results:?}");
        assert_eq!(rows.len(), results.len());
        rows
    }

    #[test]
    fn basic_conn_tsv() {
        let rows = rows_of(&unmask(BASIC));
        assert_eq!(rows.len(), 34);
        // mDNS multicast, one-way UDP: no action.
        let first = net(&rows[0]);
        assert_eq!(first.time.to_rfc3339(), "2026-11-24T09:00:00.250Z");
        assert_eq!(first.src_ip.as_deref(), Some("141.142.220.202"));
        assert_eq!(first.src_port, Some(5353));
        assert_eq!(first.dst_ip.as_deref(), Some("224.0.0.251"));
        assert_eq!(first.dst_port, Some(5353));
        assert_eq!(first.protocol.as_deref(), Some("udp"));
        assert_eq!(first.vendor_app.as_deref(), Some("dns"));
        assert_eq!((first.bytes_out, first.bytes_in), (None, None), "`-` is unset");
        assert_eq!(first.action, None, "S0 over UDP");
        assert_eq!(first.vendor.as_deref(), Some("Zeek"));
        // IPv6.
        let v6 = net(&rows[1]);
        assert_eq!(v6.src_ip.as_deref(), Some("fe80::217:f2ff:fed7:cf65"));
        assert_eq!(v6.dst_ip.as_deref(), Some("ff02::fb"));
        // A DNS exchange: SF.
        let dns = net(&rows[3]);
        assert_eq!(dns.src_port, Some(43927));
        assert_eq!(dns.dst_ip.as_deref(), Some("141.142.2.2"));
        assert_eq!((dns.bytes_out, dns.bytes_in), (Some(38), Some(89)));
        assert_eq!(dns.action.as_deref(), Some("allow"));
        // HTTP over TCP, established and not closed: S1.
        let http = rows.iter().map(net).find(|e| e.src_port == Some(49996)).unwrap();
        assert_eq!(http.protocol.as_deref(), Some("tcp"));
        assert_eq!(http.vendor_app.as_deref(), Some("http"));
        assert_eq!((http.bytes_out, http.bytes_in), (Some(1171), Some(733)));
        assert_eq!(http.action.as_deref(), Some("allow"));
        // Midstream traffic with no service: OTH.
        let oth = net(rows.last().unwrap());
        assert_eq!(oth.src_ip.as_deref(), Some("141.142.220.235"));
        assert_eq!(oth.vendor_app, None);
        assert_eq!(oth.action.as_deref(), Some("allow"));
    }

    #[test]
    fn fabric_path_conn_tsv_tcp_s0_and_unknown_transport() {
        let rows = rows_of(&unmask(FABRIC));
        assert_eq!(rows.len(), 64);
        let first = net(&rows[0]);
        assert_eq!(first.src_ip.as_deref(), Some("1.1.1.6"));
        assert_eq!((first.src_port, first.dst_port), (Some(57005), Some(48879)));
        assert_eq!(first.protocol.as_deref(), Some("tcp"));
        assert_eq!(first.action.as_deref(), Some("drop"), "S0 over TCP");
        assert_eq!((first.bytes_out, first.bytes_in), (Some(0), Some(0)));
        let unknown = rows.iter().map(net).find(|e| e.src_port == Some(0)).unwrap();
        assert_eq!(unknown.protocol, None, "unknown_transport");
        assert_eq!(unknown.action.as_deref(), Some("allow"), "OTH");
        let v6 = rows.iter().map(net).find(|e| e.src_ip.as_deref() == Some("1234::e")).unwrap();
        assert_eq!(v6.dst_ip.as_deref(), Some("5678::"));
        // The masked originals are rejected, naming the field.
        let (masked, rows) = run(&ZeekConn, FABRIC);
        assert!(rows.is_empty());
        assert!(masked.iter().all(|r| r.as_ref().is_err_and(|e| e.reason.contains("`ts`"))), "{masked:?}");
    }

    #[test]
    fn json_gives_the_same_rows_as_tsv() {
        for sample in [BASIC, FABRIC] {
            let sample = unmask(sample);
            let tsv = rows_of(&sample);
            let json: Vec<Row<'static>> = tsv_to_json(&sample)
                .iter()
                .flat_map(|line| {
                    let mut out = Vec::new();
                    let o = ZeekConn.decode(line.as_bytes(), RecordContext::default(), &mut out);
                    assert_eq!(o, Ok(DecodeOutcome::Parsed(1)), "{line}");
                    out.into_iter().map(Row::into_static).collect::<Vec<_>>()
                })
                .collect();
            assert_eq!(comparable(&json), comparable(&tsv));
        }
    }

    #[test]
    fn json_from_the_zeek_docs() {
        // conn.log entry shown in Zeek's documentation (doc/logs/ssl.rst).
        let line = r#"{"ts":1598631659.652789,"uid":"Cg9oVc87cdxWf5Dla","id.orig_h":"192.168.4.142","id.orig_p":63213,"id.resp_h":"185.24.233.103","id.resp_p":443,"proto":"tcp","service":"ssl","duration":5.702061891555786,"orig_bytes":1467,"resp_bytes":3160,"conn_state":"SF","missed_bytes":0,"history":"ShADadTtFf","orig_pkts":11,"orig_ip_bytes":2347,"resp_pkts":8,"resp_ip_bytes":4645}"#;
        let mut out = Vec::new();
        assert_eq!(ZeekConn.decode(line.as_bytes(), RecordContext::default(), &mut out), Ok(DecodeOutcome::Parsed(1)));
        let e = net(&out[0]);
        assert_eq!(e.time.to_rfc3339(), "2020-08-28T16:20:59.652Z");
        assert_eq!(e.src_ip.as_deref(), Some("192.168.4.142"));
        assert_eq!(e.dst_port, Some(443));
        assert_eq!(e.vendor_app.as_deref(), Some("ssl"));
        assert_eq!((e.bytes_out, e.bytes_in), (Some(1467), Some(3160)));
        assert_eq!(e.action.as_deref(), Some("allow"));
        // Nested `id`, ISO 8601 time, REJ.
        let nested = r#"{"ts":"2026-11-24T09:00:00.5Z","id":{"orig_h":"10.0.0.5","orig_p":50000,"resp_h":"10.0.0.9","resp_p":22},"proto":"tcp","conn_state":"REJ","orig_bytes":0,"resp_bytes":0}"#;
        ZeekConn.decode(nested.as_bytes(), RecordContext::default(), &mut out).unwrap();
        let e = net(&out[1]);
        assert_eq!(e.time.to_rfc3339(), "2026-11-24T09:00:00.500Z");
        assert_eq!((e.src_ip.as_deref(), e.dst_port), (Some("10.0.0.5"), Some(22)));
        assert_eq!(e.action.as_deref(), Some("reset"));
    }

    #[test]
    fn conn_state_mapping() {
        assert_eq!(action("REJ", Some("tcp")), Some("reset"));
        assert_eq!(action("S0", Some("tcp")), Some("drop"));
        assert_eq!(action("S0", Some("udp")), None);
        assert_eq!(action("RSTOS0", Some("tcp")), Some("drop"));
        assert_eq!(action("SH", Some("tcp")), Some("drop"));
        for s in ["SF", "S1", "S2", "S3", "RSTO", "RSTR", "RSTRH", "SHR", "OTH"] {
            assert_eq!(action(s, Some("tcp")), Some("allow"), "{s}");
        }
        assert_eq!(action("XYZ", Some("tcp")), None);
    }

    #[test]
    fn negative_cases() {
        let sample = unmask(BASIC);
        let headers: Vec<Bytes> =
            sample.lines().filter(|l| l.starts_with('#')).map(|l| Bytes::from(l.to_string())).collect();
        let ctx = RecordContext::with_headers(&headers);
        let line = sample.lines().find(|l| !l.starts_with('#')).unwrap();
        let decode = |l: &str, ctx: RecordContext<'_>| ZeekConn.decode(l.as_bytes(), ctx, &mut Vec::new());
        // Bad address, port, count: named.
        let e = decode(&line.replace("141.142.220.202", "141.142.220.999"), ctx).unwrap_err();
        assert!(e.reason.contains("`id.orig_h`"), "{e}");
        let e = decode(&line.replacen("\t5353\t", "\t99999\t", 1), ctx).unwrap_err();
        assert!(e.reason.contains("`id.orig_p`"), "{e}");
        let bad_bytes: Vec<&str> = line.split('\t').enumerate().map(|(i, v)| if i == 9 { "-1" } else { v }).collect();
        let e = decode(&bad_bytes.join("\t"), ctx).unwrap_err();
        assert!(e.reason.contains("`orig_bytes`"), "{e}");
        // Unset address: missing.
        let no_ip: Vec<&str> = line.split('\t').enumerate().map(|(i, v)| if i == 4 { "-" } else { v }).collect();
        let e = decode(&no_ip.join("\t"), ctx).unwrap_err();
        assert!(e.reason.contains("missing `id.resp_h`"), "{e}");
        // Truncated line, no header, another log's stream.
        let e = decode(&line[..40], ctx).unwrap_err();
        assert!(e.reason.contains("#fields names 22"), "{e}");
        let e = decode(line, RecordContext::default()).unwrap_err();
        assert!(e.reason.contains("#fields"), "{e}");
        let dns = [Bytes::from_static(b"#path\tdns")];
        let e = decode(line, RecordContext::with_headers(&dns)).unwrap_err();
        assert_eq!(e.reason, "zeek-conn: this stream is a Zeek `dns` log, not `conn`");
        // A JSON line of another Zeek log: masked (invalid JSON), then without `ts`.
        let json = NOT_CONN.lines().nth(1).unwrap();
        let e = decode(json, RecordContext::default()).unwrap_err();
        assert!(e.reason.starts_with("zeek-conn: invalid JSON"), "{e}");
        let e = decode(&unmask(json), RecordContext::default()).unwrap_err();
        assert!(e.reason.contains("missing `ts`"), "{e}");
        let e = decode(r#"{"ts":1.0,"id.orig_h":"10.0.0.1"}"#, RecordContext::default()).unwrap_err();
        assert!(e.reason.contains("missing `id.resp_h`"), "{e}");
        let e = decode(r#"{"_path":"http","ts":1.0}"#, RecordContext::default()).unwrap_err();
        assert!(e.reason.contains("`http`") && e.reason.contains("`conn`"), "{e}");
        let e = decode("[1,2]", RecordContext::default()).unwrap_err();
        assert!(e.reason.contains("#fields"), "{e}");
        let e = ZeekConn.decode(b"\xff\xfe", RecordContext::default(), &mut Vec::new()).unwrap_err();
        assert!(e.reason.contains("UTF-8"), "{e}");
    }

    const DOC: &str = include_str!("../../../../docs/formats/zeek-conn.md");

    #[test]
    fn doc_example_is_current() {
        let headers = "#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tconn
#open\t2026-11-24-09-00-00
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\tcount";
        let line = "1795510800.250000\tCwjjYJ2WqgTbAqiHl6\t141.142.220.118\t49997\t208.80.152.3\t80\ttcp\thttp\t0.219720\t1125\t734\tS1\tF\tF\t0\tShADad\t6\t1445\t4\t950\t-\t6";
        let json = example_json(&ZeekConn, headers, line, "file:/var/log/zeek/conn.log", 9);
        assert_doc_shows("zeek-conn.md", DOC, &format!("{headers}\n{line}"), &json);
    }

    proptest! {
        #[test]
        fn never_panics_one_outcome(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            cut in 0usize..400,
            pos in 0usize..400,
            byte in any::<u8>(),
            pick in 0usize..64,
        ) {
            let sample = unmask(FABRIC);
            let headers: Vec<Bytes> =
                sample.lines().filter(|l| l.starts_with('#')).map(|l| Bytes::from(l.to_string())).collect();
            let lines: Vec<&str> = sample.lines().filter(|l| !l.starts_with('#')).collect();
            let line = lines[pick % lines.len()].as_bytes();
            let mut mutated = line.to_vec();
            if !mutated.is_empty() {
                let p = pos % mutated.len();
                mutated[p] = byte;
            }
            let cut = cut.min(line.len());
            let json = tsv_to_json(&sample);
            let json = json[pick % json.len()].as_bytes();
            let jcut = cut.min(json.len());
            for ctx in [RecordContext::with_headers(&headers), RecordContext::default()] {
                for rec in [&bytes[..], &mutated[..], &line[..cut], &json[..jcut]] {
                    let mut out = Vec::new();
                    let r = ZeekConn.decode(rec, ctx, &mut out);
                    check_outcome(&r, out.len());
                }
            }
        }
    }
}
