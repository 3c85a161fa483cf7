//! `zeek-dns`: Zeek (formerly Bro) `dns.log`, Zeek 3.x–7.x, in either of its
//! two encodings, read with the shared [`ZeekRecord`] (see [`crate::decode::readers::zeek`]):
//!
//! * **TSV** with its header block: the most recent `#fields` line in the
//!   stream names the columns, `#separator` / `#set_separator` /
//!   `#unset_field` / `#empty_field` say how to read them (defaults: tab,
//!   `,`, `-`, `(empty)`); `\xHH` escapes are decoded;
//! * **JSON** (`LogAscii::use_json=T`), one object per line, with flat
//!   `id.orig_h` keys or a nested `id` object; `ts` as epoch seconds or ISO 8601.
//!
//! | Zeek field | column |
//! |---|---|
//! | `ts` | `time` |
//! | `id.orig_h` | `client_ip` |
//! | `query` (lower case, trailing dot removed) | `query` |
//! | `qtype_name` | `query_type` |
//! | `rcode_name` | `rcode` |
//! | `answers` | `answers` |
//!
//! `vendor` and `product` are `Zeek`.
//!
//! Lines without a query (e.g. replies Zeek could not match) are skipped as
//! `zeek-dns: no query`. Dead-lettered: a TSV line with no `#fields` header
//! before it or with a different number of fields; a stream whose `#path`
//! (JSON: `_path`) is another log than `dns` (`dns_<suffix>` is accepted);
//! invalid JSON; a missing or invalid `ts`.

use crate::decode::readers::text::{clean_name, map_opt};
use crate::decode::readers::zeek::ZeekRecord;
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{DnsEvent, EventClass, Row};

/// Decoder for `zeek-dns`.
pub struct ZeekDns;

/// Zeek fields with a column of their own (the rest go to `vendor_fields`).
const MAPPED: &[&str] = &["ts", "id.orig_h", "query", "qtype_name", "rcode_name", "answers"];

impl Decoder for ZeekDns {
    fn id(&self) -> &'static str {
        "zeek-dns"
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Dns]
    }

    fn decode<'a>(
        &self,
        record: &'a [u8],
        ctx: RecordContext<'a>,
        out: &mut Vec<Row<'a>>,
    ) -> Result<DecodeOutcome, DecodeError> {
        let text = record_text(record)?;
        let r = ZeekRecord::parse("zeek-dns", "dns", text, ctx)?;
        let mut e = DnsEvent {
            time: r.ts()?,
            vendor: Some("Zeek".into()),
            product: Some("Zeek".into()),
            client_ip: r.addr("id.orig_h")?,
            query: r.text("query").and_then(|q| map_opt(q, clean_name)),
            query_type: r.text("qtype_name"),
            rcode: r.text("rcode_name"),
            answers: r.list("answers"),
            ..Default::default()
        };
        r.rest_into(MAPPED, &mut e.vendor_fields);
        if e.query.is_none() {
            return Ok(DecodeOutcome::Skipped("zeek-dns: no query"));
        }
        out.push(Row::Dns(e));
        Ok(DecodeOutcome::Parsed(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    const TSV: &str = include_str!("../../../../tests/data/vendor/zeek/opt.basic_dns.log");

    fn run(text: &str) -> (Vec<Result<DecodeOutcome, DecodeError>>, Vec<Row<'static>>) {
        let mut headers = Vec::new();
        let mut results = Vec::new();
        let mut rows = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                headers.push(Bytes::from(line.to_string()));
                continue;
            }
            let mut local = Vec::new();
            results.push(ZeekDns.decode(line.as_bytes(), RecordContext::with_headers(&headers), &mut local));
            rows.extend(local.into_iter().map(Row::into_static));
        }
        (results, rows)
    }

    #[test]
    fn tsv_with_headers() {
        // Zeek's test baselines mask timestamps; put a real one back.
        let (results, rows) = run(&TSV.replace("XXXXXXXXXX.XXXXXX", "1795510800.250000"));
        assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
        assert_eq!(rows.len(), results.len());
        let Some(Row::Dns(first)) = rows.first() else { panic!("no rows") };
        assert_eq!(first.time.to_rfc3339(), "2026-11-24T09:00:00.250Z");
        assert_eq!(first.client_ip.as_deref(), Some("141.142.220.202"));
        assert_eq!(first.query.as_deref(), Some("gemini._sftp-ssh._tcp.local"));
        assert_eq!(first.query_type.as_deref(), Some("SRV"));
        assert_eq!(first.rcode, None, "`-` is unset");
        assert!(first.answers.is_empty());
        let Some(Row::Dns(second)) = rows.get(1) else { panic!("no second row") };
        assert_eq!(second.client_ip.as_deref(), Some("fe80::217:f2ff:fed7:cf65"));
        assert_eq!(second.rcode.as_deref(), Some("NOERROR"));
        assert_eq!(second.answers, vec!["gemini.local"]);
        // The masked original is rejected, naming the field.
        let (masked, _) = run(TSV);
        assert!(masked.iter().all(|r| r.as_ref().is_err_and(|e| e.reason.contains("`ts`"))));
    }

    #[test]
    fn json_lines_flat_or_nested() {
        let mut out = Vec::new();
        let line = r#"{"ts":1795510801.5,"id.orig_h":"10.0.0.31","query":"Relay.Net.AnyDesk.com.","qtype_name":"AAAA","rcode_name":"NXDOMAIN","answers":["a","b"]}"#;
        ZeekDns.decode(line.as_bytes(), RecordContext::default(), &mut out).unwrap();
        let Row::Dns(e) = &out[0] else { panic!() };
        assert_eq!(e.query.as_deref(), Some("relay.net.anydesk.com"));
        assert_eq!(e.time.to_rfc3339(), "2026-11-24T09:00:01.500Z");
        assert_eq!(e.answers, vec!["a", "b"]);
        let nested = r#"{"ts":"2026-11-24T09:00:00Z","id":{"orig_h":"10.1.1.1"},"query":"x.example"}"#;
        ZeekDns.decode(nested.as_bytes(), RecordContext::default(), &mut out).unwrap();
        let Row::Dns(e) = &out[1] else { panic!() };
        assert_eq!(e.client_ip.as_deref(), Some("10.1.1.1"));
    }

    #[test]
    fn errors_and_skips() {
        let e = ZeekDns.decode(b"1.0\tCx\t1.2.3.4", RecordContext::default(), &mut Vec::new()).unwrap_err();
        assert!(e.reason.contains("#fields"), "{e}");
        let conn = [Bytes::from_static(b"#path\tconn")];
        let e = ZeekDns.decode(b"1.0\tx", RecordContext::with_headers(&conn), &mut Vec::new()).unwrap_err();
        assert!(e.reason.contains("`conn`"), "{e}");
        let o = ZeekDns.decode(br#"{"ts":1.0,"query":"-"}"#, RecordContext::default(), &mut Vec::new()).unwrap();
        assert_eq!(o, DecodeOutcome::Skipped("zeek-dns: no query"));
        assert!(ZeekDns.decode(br#"{"query":"x"}"#, RecordContext::default(), &mut Vec::new()).is_err());
    }

    #[test]
    fn shared_reader_cases() {
        // `(empty)` query is no query; escapes are decoded; `_path` is checked.
        let h = [Bytes::from_static(b"#fields\tts\tid.orig_h\tquery\tanswers")];
        let ctx = RecordContext::with_headers(&h);
        let o = ZeekDns.decode(b"1.0\t10.0.0.1\t(empty)\t-", ctx, &mut Vec::new()).unwrap();
        assert_eq!(o, DecodeOutcome::Skipped("zeek-dns: no query"));
        let mut out = Vec::new();
        ZeekDns.decode(b"1.0\t10.0.0.1\tA.Example.\ta\\x2cb,c", ctx, &mut out).unwrap();
        let Row::Dns(e) = &out[0] else { panic!() };
        assert_eq!(e.query.as_deref(), Some("a.example"));
        assert_eq!(e.answers, vec!["a,b", "c"]);
        let e = ZeekDns.decode(br#"{"_path":"conn","ts":1.0,"query":"x"}"#, ctx, &mut Vec::new()).unwrap_err();
        assert!(e.reason.contains("`conn`") && e.reason.contains("`dns`"), "{e}");
        let red = [Bytes::from_static(b"#path\tdns_red"), h[0].clone()];
        assert!(ZeekDns
            .decode(b"1.0\t10.0.0.1\tx.example\t-", RecordContext::with_headers(&red), &mut Vec::new())
            .is_ok());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let headers = [Bytes::from_static(b"#fields\tts\tid.orig_h\tquery\tanswers")];
            let _ = ZeekDns.decode(&bytes, RecordContext::with_headers(&headers), &mut Vec::new());
            let _ = ZeekDns.decode(&bytes, RecordContext::default(), &mut Vec::new());
        }

        #[test]
        fn mutated_sample_lines_give_one_outcome(pos in 0usize..400, byte in any::<u8>(), cut in 0usize..400, pick in 0usize..64) {
            let sample = TSV.replace("XXXXXXXXXX.XXXXXX", "1795510800.250000");
            let headers: Vec<Bytes> =
                sample.lines().filter(|l| l.starts_with('#')).map(|l| Bytes::from(l.to_string())).collect();
            let lines: Vec<&str> = sample.lines().filter(|l| !l.starts_with('#')).collect();
            let line = lines[pick % lines.len()].as_bytes();
            let mut mutated = line.to_vec();
            let p = pos % mutated.len();
            mutated[p] = byte;
            let json = crate::decode::readers::zeek::test_support::tsv_to_json(&sample);
            let json = json[pick % json.len()].as_bytes();
            for ctx in [RecordContext::with_headers(&headers), RecordContext::default()] {
                for rec in [&mutated[..], &line[..cut.min(line.len())], &json[..cut.min(json.len())]] {
                    let mut out = Vec::new();
                    let r = ZeekDns.decode(rec, ctx, &mut out);
                    crate::decode::readers::zeek::test_support::check_outcome(&r, out.len());
                }
            }
        }
    }

    #[test]
    fn doc_example_json() {
        // The header block (without btest's comment and `#close` lines), then one record: line 9 of the stream.
        let unmasked = TSV.replace("XXXXXXXXXX.XXXXXX", "1795510800.250000");
        let headers =
            unmasked.lines().filter(|l| l.starts_with('#') && !l.starts_with("###") && !l.starts_with("#close"));
        let record = unmasked.lines().find(|l| l.contains("C37jN32gN3y3AZzyf6")).unwrap();
        let text = format!("{}\n{record}\n", headers.collect::<Vec<_>>().join("\n"));
        let (_, mut rows) = run(&text);
        rows[0].set_origin(&crate::origin::event_id("stdin", None, 9), "stdin:9", ZeekDns.id());
        crate::decode::doc_example::check("zeek-dns.md", &rows[0].to_json());
    }
}
