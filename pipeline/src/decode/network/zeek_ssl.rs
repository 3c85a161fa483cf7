//! `zeek-ssl`: Zeek (formerly Bro) `ssl.log` (TLS, SSL and DTLS handshakes),
//! Zeek 3.x–7.x, TSV with its header block or JSON, read with the shared
//! [`ZeekRecord`] (see [`crate::decode::readers::zeek`] for the encodings, headers and JSON
//! key forms). Both default column layouts are read by name: the older one
//! (Zeek 3.x: `cert_chain_fuids`, `subject`, `issuer`, ...) and the current
//! one (`ssl_history`, `cert_chain_fps`, `sni_matches_cert`); extra columns from
//! policy scripts or packages (`validation_status`, `ja3`, ...) are ignored.
//!
//! | Zeek field | column |
//! |---|---|
//! | `ts` (SSL connection first detected) | `time` |
//! | `id.orig_h` / `id.orig_p` | `src_ip` / `src_port` |
//! | `id.resp_h` / `id.resp_p` | `dst_ip` / `dst_port` |
//! | `server_name` (SNI; lower case, trailing dot removed) | `host` |
//! | `version`: `DTLSv1x` → `udp`, other versions (`TLSv12`, `TLSv13`, `SSLv3`, ...) → `tcp`, unset → null | `protocol` |
//! | `established` `T` | `action` = `allow` |
//!
//! `vendor` and `product` are `Zeek`. Zeek is a passive sensor and decides
//! nothing: `action` is `allow` when the handshake completed, null when it
//! was aborted (`established` `F`, see `last_alert`) or unknown.
//!
//! Not mapped (no column in the `network` class): `version` itself,
//! `cipher`, `curve`, `resumed`, `last_alert`, `next_protocol` (ALPN),
//! `ssl_history`, certificate fingerprints / file ids, `subject`, `issuer`,
//! `sni_matches_cert`, `validation_status`, JA3 / JA3S.
//!
//! Skipped as `zeek-ssl: no server_name (SNI)`: handshakes without SNI
//! (clients connecting to an address, ESNI / ECH); `conn.log` has the
//! connection itself. Dead-lettered: a TSV line with no `#fields` header
//! before it or with a different number of fields; a stream whose `#path`
//! (JSON: `_path`) is another log than `ssl` (`ssl_<suffix>` is accepted);
//! invalid JSON; a missing `ts`, `id.orig_h` or `id.resp_h`; a value that is
//! not of its Zeek type (a time, an IP address, a port 0–65535, a bool).

use std::borrow::Cow;

use crate::decode::readers::text::{clean_name, map_opt};
use crate::decode::readers::zeek::ZeekRecord;
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{EventClass, NetworkEvent, Row};

/// Decoder for `zeek-ssl`.
pub struct ZeekSsl;

fn transport(version: &str) -> Option<&'static str> {
    let v = version.trim();
    if v.is_empty() {
        None
    } else if v.to_ascii_uppercase().starts_with("DTLS") {
        Some("udp")
    } else {
        Some("tcp")
    }
}

/// Zeek fields with a column of their own (the rest go to `vendor_fields`).
const MAPPED: &[&str] =
    &["ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version", "established", "server_name"];

impl Decoder for ZeekSsl {
    fn id(&self) -> &'static str {
        "zeek-ssl"
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
        let r = ZeekRecord::parse("zeek-ssl", "ssl", text, ctx)?;
        let time = r.ts()?;
        let src_ip = r.addr("id.orig_h")?.ok_or_else(|| r.error("missing `id.orig_h`"))?;
        let dst_ip = r.addr("id.resp_h")?.ok_or_else(|| r.error("missing `id.resp_h`"))?;
        let mut e = NetworkEvent {
            time,
            vendor: Some("Zeek".into()),
            product: Some("Zeek".into()),
            src_ip: Some(src_ip),
            src_port: r.port("id.orig_p")?,
            dst_ip: Some(dst_ip),
            dst_port: r.port("id.resp_p")?,
            protocol: r.str("version").and_then(|v| transport(&v)).map(Cow::Borrowed),
            action: r.bool("established")?.filter(|e| *e).map(|_| "allow".into()),
            host: r.text("server_name").and_then(|s| map_opt(s, clean_name)),
            ..Default::default()
        };
        r.rest_into(MAPPED, &mut e.vendor_fields);
        if e.host.is_none() {
            return Ok(DecodeOutcome::Skipped("zeek-ssl: no server_name (SNI)"));
        }
        out.push(Row::Network(e));
        Ok(DecodeOutcome::Parsed(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::readers::zeek::test_support::{
        assert_doc_shows, check_outcome, comparable, example_json, run, tsv_to_json,
    };
    use bytes::Bytes;
    use proptest::prelude::*;

    /// Hand-written to Zeek's documented `SSL::Info` fields (see LICENSE-NOTE.txt):
    /// a block with the older (Zeek 3.x) columns, then one with the current columns.
    const TSV: &str = include_str!("../../../../tests/data/vendor/zeek/ssl-doc.log");
    /// The ssl.log examples of Zeek's documentation (doc/logs/ssl.rst), one per line.
    const JSON: &str = include_str!("../../../../tests/data/vendor/zeek/ssl-doc.json");
    const SKIP: Result<DecodeOutcome, DecodeError> = Ok(DecodeOutcome::Skipped("zeek-ssl: no server_name (SNI)"));

    fn net<'r>(row: &'r Row<'_>) -> &'r NetworkEvent<'r> {
        match row {
            Row::Network(e) => e,
            other => panic!("expected a network row, got {other:?}"),
        }
    }

    fn headers(text: &str) -> Vec<Bytes> {
        text.lines().filter(|l| l.starts_with('#')).map(|l| Bytes::from(l.to_string())).collect()
    }

    #[test]
    fn tsv_both_layouts() {
        let (results, rows) = run(&ZeekSsl, TSV);
        assert_eq!(results.len(), 6);
        assert_eq!(results.iter().filter(|r| **r == SKIP).count(), 2, "ESNI: {results:?}");
        assert_eq!(rows.len(), 4);
        // Older (Zeek 3.x) layout, TLS 1.2.
        let e = net(&rows[0]);
        assert_eq!(e.time.to_rfc3339(), "2020-08-25T17:43:11.921Z");
        assert_eq!(e.src_ip.as_deref(), Some("192.168.4.49"));
        assert_eq!(e.src_port, Some(56718));
        assert_eq!(e.dst_ip.as_deref(), Some("13.32.202.10"));
        assert_eq!(e.dst_port, Some(443));
        assert_eq!(e.host.as_deref(), Some("www.taosecurity.com"));
        assert_eq!(e.protocol.as_deref(), Some("tcp"));
        assert_eq!(e.action.as_deref(), Some("allow"));
        assert_eq!((e.bytes_out, e.bytes_in, e.url.as_deref()), (None, None, None));
        assert_eq!(e.vendor.as_deref(), Some("Zeek"));
        // Current layout, TLS 1.3.
        let e = net(&rows[1]);
        assert_eq!(e.time.to_rfc3339(), "2020-09-01T18:07:58.585Z");
        assert_eq!(e.dst_ip.as_deref(), Some("13.32.202.2"));
        assert_eq!(e.host.as_deref(), Some("www.taosecurity.com"));
        assert_eq!(net(&rows[2]).host.as_deref(), Some("www.google.com"));
        // IPv6, aborted handshake, SNI lower-cased, no version.
        let e = net(&rows[3]);
        assert_eq!(e.src_ip.as_deref(), Some("2001:db8:10::25"));
        assert_eq!(e.dst_ip.as_deref(), Some("2001:db8:20::443"));
        assert_eq!(e.host.as_deref(), Some("files.example.org"));
        assert_eq!(e.action, None, "established F");
        assert_eq!(e.protocol, None, "version unset");
    }

    #[test]
    fn json_documentation_examples() {
        let mut rows = Vec::new();
        let results: Vec<_> =
            JSON.lines().map(|l| ZeekSsl.decode(l.as_bytes(), RecordContext::default(), &mut rows)).collect();
        assert_eq!(results.len(), 8);
        assert_eq!(results.iter().filter(|r| **r == SKIP).count(), 2, "ESNI: {results:?}");
        assert_eq!(rows.len(), 6);
        let e = net(&rows[0]);
        assert_eq!(e.time.to_rfc3339(), "2020-08-25T17:43:11.921Z");
        assert_eq!(e.host.as_deref(), Some("www.taosecurity.com"));
        assert_eq!((e.src_port, e.dst_port), (Some(56718), Some(443)));
        // ISO 8601 `ts` (JSON::TS_ISO8601), JA3 columns ignored.
        let e = net(&rows[2]);
        assert_eq!(e.time.to_rfc3339(), "2020-09-16T14:01:26.194Z");
        assert_eq!(e.host.as_deref(), Some("www.google.com"));
        assert_eq!(e.dst_ip.as_deref(), Some("172.217.15.100"));
        assert_eq!(net(&rows[3]).host.as_deref(), Some("www.corelight.com"));
        let e = net(&rows[5]);
        assert_eq!(e.src_ip.as_deref(), Some("2001:db8:10::25"));
        assert_eq!(e.host.as_deref(), Some("files.example.org"));
        assert_eq!(e.action, None);
    }

    #[test]
    fn json_and_tsv_of_the_same_handshakes_agree() {
        let (_, tsv) = run(&ZeekSsl, TSV);
        let mut json = Vec::new();
        for line in tsv_to_json(TSV) {
            let mut out = Vec::new();
            let r = ZeekSsl.decode(line.as_bytes(), RecordContext::default(), &mut out);
            assert!(r.is_ok(), "{line}: {r:?}");
            json.extend(out.into_iter().map(Row::into_static));
        }
        assert_eq!(comparable(&json), comparable(&tsv));
        // Nested `id`, DTLS.
        let nested = r#"{"ts":1600264901.5,"id":{"orig_h":"10.0.0.8","orig_p":5000,"resp_h":"10.0.0.9","resp_p":443},"version":"DTLSv12","server_name":"vpn.example.net.","established":true}"#;
        ZeekSsl.decode(nested.as_bytes(), RecordContext::default(), &mut json).unwrap();
        let e = net(json.last().unwrap());
        assert_eq!(e.protocol.as_deref(), Some("udp"));
        assert_eq!(e.host.as_deref(), Some("vpn.example.net"));
        assert_eq!(e.src_port, Some(5000));
    }

    #[test]
    fn negative_cases() {
        let h = headers(TSV);
        let ctx = RecordContext::with_headers(&h);
        let line = TSV.lines().filter(|l| !l.starts_with('#')).nth(1).unwrap();
        let decode = |l: &str, ctx: RecordContext<'_>| ZeekSsl.decode(l.as_bytes(), ctx, &mut Vec::new());
        let field = |i: usize, v: &str| -> String {
            line.split('\t').enumerate().map(|(j, f)| if j == i { v } else { f }).collect::<Vec<_>>().join("\t")
        };
        assert!(decode(line, ctx).is_ok());
        let e = decode(&field(13, "yes"), ctx).unwrap_err();
        assert!(e.reason.contains("`established` `yes`"), "{e}");
        let e = decode(&field(5, "443/tcp"), ctx).unwrap_err();
        assert!(e.reason.contains("`id.resp_p`"), "{e}");
        let e = decode(&field(2, "192.168.4"), ctx).unwrap_err();
        assert!(e.reason.contains("`id.orig_h`"), "{e}");
        let e = decode(&field(0, "-"), ctx).unwrap_err();
        assert!(e.reason.contains("missing `ts`"), "{e}");
        // A current-layout line read with only the older header block: wrong field count.
        let old: Vec<Bytes> = h.iter().take(8).cloned().collect();
        let e = decode(line, RecordContext::with_headers(&old)).unwrap_err();
        assert!(e.reason.contains("18 fields, #fields names 20"), "{e}");
        let x509 = [Bytes::from_static(b"#path\tx509")];
        let e = decode(line, RecordContext::with_headers(&x509)).unwrap_err();
        assert_eq!(e.reason, "zeek-ssl: this stream is a Zeek `x509` log, not `ssl`");
        let e = decode(r#"{"_path":"conn","ts":1}"#, ctx).unwrap_err();
        assert!(e.reason.contains("`conn`") && e.reason.contains("`ssl`"), "{e}");
        let e = decode(r#"{"ts":1,"id.resp_h":"10.0.0.1","server_name":"a.example"}"#, ctx).unwrap_err();
        assert!(e.reason.contains("missing `id.orig_h`"), "{e}");
        let e = decode(r#"{"ts":true}"#, ctx).unwrap_err();
        assert!(e.reason.contains("`ts` `true` is not a time"), "{e}");
    }

    const DOC: &str = include_str!("../../../../docs/formats/zeek-ssl.md");

    #[test]
    fn doc_example_is_current() {
        let line = JSON.lines().next().unwrap();
        let json = example_json(&ZeekSsl, "", line, "file:/var/log/zeek/ssl.log", 1);
        assert_doc_shows("zeek-ssl.md", DOC, line, &json);
    }

    proptest! {
        #[test]
        fn never_panics_one_outcome(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            cut in 0usize..600,
            pos in 0usize..600,
            byte in any::<u8>(),
            pick in 0usize..64,
        ) {
            let h = headers(TSV);
            let lines: Vec<&str> = TSV.lines().filter(|l| !l.starts_with('#')).collect();
            let line = lines[pick % lines.len()].as_bytes();
            let mut mutated = line.to_vec();
            if !mutated.is_empty() {
                let p = pos % mutated.len();
                mutated[p] = byte;
            }
            let cut = cut.min(line.len());
            let json: Vec<&str> = JSON.lines().collect();
            let json = json[pick % json.len()].as_bytes();
            let jcut = cut.min(json.len());
            let mut jmut = json.to_vec();
            let p = pos % jmut.len();
            jmut[p] = byte;
            for ctx in [RecordContext::with_headers(&h), RecordContext::default()] {
                for rec in [&bytes[..], &mutated[..], &line[..cut], &json[..jcut], &jmut[..]] {
                    let mut out = Vec::new();
                    let r = ZeekSsl.decode(rec, ctx, &mut out);
                    check_outcome(&r, out.len());
                }
            }
        }
    }
}
