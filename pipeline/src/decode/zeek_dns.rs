//! `zeek-dns`: Zeek (formerly Bro) `dns.log`, Zeek 3.x–7.x, in either of its
//! two encodings:
//!
//! * **TSV** with its header block: the most recent `#fields` line in the
//!   stream names the columns, `#set_separator` the list separator
//!   (default `,`); `-` is unset and `(empty)` an empty list;
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
//! Lines without a query (e.g. replies Zeek could not match) are skipped as
//! `zeek-dns: no query`. A TSV line with no `#fields` header before it, or
//! whose `#path` is not `dns`, is dead-lettered.

use serde_json::Value;

use super::time::{from_epoch_number, parse_any};
use super::{json, record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{DnsEvent, EventClass, Row, Timestamp};

/// Decoder for `zeek-dns`.
pub struct ZeekDns;

fn header_value<'a>(ctx: &RecordContext<'a>, name: &str) -> Option<&'a str> {
    ctx.headers.iter().rev().find_map(|h| {
        let h = std::str::from_utf8(h).ok()?;
        let rest = h.strip_prefix('#')?.strip_prefix(name)?;
        rest.strip_prefix(['\t', ' '])
    })
}

fn time_of(v: &Value) -> Option<Timestamp> {
    match v {
        Value::Number(n) => n.as_f64().map(from_epoch_number),
        Value::String(s) => parse_any(s),
        _ => None,
    }
}

fn clean_query(q: &str) -> Option<String> {
    let q = q.trim().trim_end_matches('.').to_ascii_lowercase();
    (!q.is_empty() && q != "-").then_some(q)
}

fn event(time: Timestamp) -> DnsEvent {
    DnsEvent { time, vendor: Some("Zeek".into()), product: Some("Zeek".into()), ..Default::default() }
}

impl ZeekDns {
    fn json(&self, text: &str, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
        let obj = json::parse_object(text)?;
        let ts = json::get(&obj, "ts")
            .and_then(time_of)
            .ok_or_else(|| DecodeError::new("zeek-dns: missing or invalid `ts`"))?;
        let mut e = event(ts);
        e.client_ip = json::str_at(&obj, &["id.orig_h"]).or_else(|| json::str_at(&obj, &["id", "orig_h"]));
        e.query = json::str_at(&obj, &["query"]).and_then(|q| clean_query(&q));
        e.query_type = json::str_at(&obj, &["qtype_name"]);
        e.rcode = json::str_at(&obj, &["rcode_name"]);
        if let Some(Value::Array(a)) = json::get(&obj, "answers") {
            e.answers = a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
        }
        if e.query.is_none() {
            return Ok(DecodeOutcome::Skipped("zeek-dns: no query"));
        }
        out.push(Row::Dns(e));
        Ok(DecodeOutcome::Parsed(1))
    }

    fn tsv(&self, text: &str, ctx: &RecordContext<'_>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
        if let Some(path) = header_value(ctx, "path") {
            if path.trim() != "dns" {
                return Err(DecodeError::new(format!(
                    "zeek-dns: this stream is a Zeek `{}` log, not `dns`",
                    path.trim()
                )));
            }
        }
        let fields = header_value(ctx, "fields").ok_or_else(|| {
            DecodeError::new("zeek-dns: TSV line without a #fields header before it (or use Zeek JSON)")
        })?;
        let names: Vec<&str> = fields.split('\t').collect();
        let values: Vec<&str> = text.split('\t').collect();
        if values.len() != names.len() {
            return Err(DecodeError::new(format!(
                "zeek-dns: line has {} fields, #fields names {}",
                values.len(),
                names.len()
            )));
        }
        let set_sep = header_value(ctx, "set_separator").map(str::trim).filter(|s| !s.is_empty()).unwrap_or(",");
        let get = |name: &str| {
            names.iter().position(|n| *n == name).and_then(|i| values.get(i)).copied().filter(|v| *v != "-")
        };
        let ts_text = get("ts").ok_or_else(|| DecodeError::new("zeek-dns: missing `ts`"))?;
        let ts = ts_text
            .parse::<f64>()
            .ok()
            .map(from_epoch_number)
            .or_else(|| parse_any(ts_text))
            .ok_or_else(|| DecodeError::new(format!("zeek-dns: `ts` `{ts_text}` is not a time")))?;
        let mut e = event(ts);
        e.client_ip = get("id.orig_h").map(str::to_string);
        e.query = get("query").and_then(clean_query);
        e.query_type = get("qtype_name").map(str::to_string);
        e.rcode = get("rcode_name").map(str::to_string);
        e.answers = match get("answers") {
            Some("(empty)") | None => Vec::new(),
            Some(a) => a.split(set_sep).map(str::to_string).collect(),
        };
        if e.query.is_none() {
            return Ok(DecodeOutcome::Skipped("zeek-dns: no query"));
        }
        out.push(Row::Dns(e));
        Ok(DecodeOutcome::Parsed(1))
    }
}

impl Decoder for ZeekDns {
    fn id(&self) -> &'static str {
        "zeek-dns"
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Dns]
    }

    fn decode(&self, record: &[u8], ctx: RecordContext<'_>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
        let text = record_text(record)?;
        if text.trim_start().starts_with('{') {
            self.json(text, out)
        } else {
            self.tsv(text, &ctx, out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    const TSV: &str = include_str!("../../../tests/data/vendor/zeek/opt.basic_dns.log");

    fn run(text: &str) -> (Vec<Result<DecodeOutcome, DecodeError>>, Vec<Row>) {
        let mut headers = Vec::new();
        let mut results = Vec::new();
        let mut rows = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                headers.push(Bytes::from(line.to_string()));
                continue;
            }
            results.push(ZeekDns.decode(line.as_bytes(), RecordContext { headers: &headers }, &mut rows));
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
        let e = ZeekDns.decode(b"1.0\tx", RecordContext { headers: &conn }, &mut Vec::new()).unwrap_err();
        assert!(e.reason.contains("`conn`"), "{e}");
        let o = ZeekDns.decode(br#"{"ts":1.0,"query":"-"}"#, RecordContext::default(), &mut Vec::new()).unwrap();
        assert_eq!(o, DecodeOutcome::Skipped("zeek-dns: no query"));
        assert!(ZeekDns.decode(br#"{"query":"x"}"#, RecordContext::default(), &mut Vec::new()).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let headers = [Bytes::from_static(b"#fields\tts\tid.orig_h\tquery\tanswers")];
            let _ = ZeekDns.decode(&bytes, RecordContext { headers: &headers }, &mut Vec::new());
            let _ = ZeekDns.decode(&bytes, RecordContext::default(), &mut Vec::new());
        }
    }
}
