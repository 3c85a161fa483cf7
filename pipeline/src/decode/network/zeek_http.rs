//! `zeek-http`: Zeek (formerly Bro) `http.log`, Zeek 3.x–7.x, TSV with its
//! header block or JSON, read with the shared [`ZeekRecord`] (see
//! [`crate::decode::readers::zeek`] for the encodings, headers and JSON key forms). Each
//! request/response pair Zeek logs becomes one `network` row.
//!
//! | Zeek field | column |
//! |---|---|
//! | `ts` (request start) | `time` |
//! | `id.orig_h` / `id.orig_p` | `src_ip` / `src_port` |
//! | `id.resp_h` / `id.resp_p` | `dst_ip` / `dst_port` |
//! | `host` (Host header: lower case, `:port` and trailing dot removed, `[..]` of an IPv6 literal removed) | `host` |
//! | `uri` (as logged: a path, an absolute URL through a proxy, `*`, `host:port` for CONNECT) | `url` |
//! | `method` | `http_method` |
//! | `request_body_len` | `bytes_out` |
//! | `response_body_len` | `bytes_in` |
//! | `username` (HTTP basic authentication) | `user` |
//! | `status_code` set (a response was seen) | `action` = `allow` |
//!
//! `vendor` and `product` are `Zeek`; `protocol` is `tcp`. Zeek is a passive
//! sensor and decides nothing: `action` is `allow` when it saw the server
//! answer (any `status_code`, including a `403` or Zeek's `0` for an
//! HTTP/0.9 reply), null when it saw no reply.
//!
//! Not mapped (no column in the `network` class): `user_agent`,
//! `status_code` / `status_msg` (beyond `action`), `referrer`, `origin`,
//! `version`, `trans_depth`, `info_code`, `tags`, `password`, `proxied`, the
//! file ids, names and MIME types.
//!
//! Skipped as `zeek-http: no request (method, host and uri unset)`: records
//! where Zeek saw only a reply (the request line did not parse). Dead-lettered:
//! a TSV line with no `#fields` header before it or with a different number of
//! fields; a stream whose `#path` (JSON: `_path`) is another log than `http`
//! (`http_<suffix>` is accepted); invalid JSON; a missing `ts`, `id.orig_h` or
//! `id.resp_h`; a value that is not of its Zeek type (a time, an IP address,
//! a port 0–65535, a count).

use std::borrow::Cow;

use crate::decode::readers::text::{clean_name, map_opt, map_str};
use crate::decode::readers::zeek::ZeekRecord;
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{EventClass, NetworkEvent, Row, Str};

/// Decoder for `zeek-http`.
pub struct ZeekHttp;

/// The Host header without port, brackets or trailing dot, lower case.
fn clean_host(h: &str) -> Option<Str<'_>> {
    let h = h.trim();
    let h = if let Some(rest) = h.strip_prefix('[') {
        // `[2001:db8::1]:8080`
        rest.split(']').next().unwrap_or_default()
    } else {
        match h.rsplit_once(':') {
            // One colon: `name:port` (a bare IPv6 address has several).
            Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => h,
        }
    };
    clean_name(h)
}

/// Zeek fields with a column of their own (the rest go to `vendor_fields`).
const MAPPED: &[&str] = &[
    "ts",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "status_code",
    "request_body_len",
    "response_body_len",
    "host",
    "uri",
    "method",
    "username",
];

impl Decoder for ZeekHttp {
    fn id(&self) -> &'static str {
        "zeek-http"
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
        let r = ZeekRecord::parse("zeek-http", "http", text, ctx)?;
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
            protocol: Some("tcp".into()),
            action: r.count("status_code")?.map(|_| "allow".into()),
            bytes_out: r.count("request_body_len")?,
            bytes_in: r.count("response_body_len")?,
            host: r.text("host").and_then(|h| map_opt(h, clean_host)),
            url: r.text("uri"),
            http_method: r.text("method").map(|m| map_str(m, |m| Cow::Borrowed(m.trim()))).filter(|m| !m.is_empty()),
            user: r.text("username"),
            ..Default::default()
        };
        r.rest_into(MAPPED, &mut e.vendor_fields);
        if e.http_method.is_none() && e.host.is_none() && e.url.is_none() {
            return Ok(DecodeOutcome::Skipped("zeek-http: no request (method, host and uri unset)"));
        }
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

    const BASIC: &str = include_str!("../../../../tests/data/vendor/zeek/opt.basic_http.log");
    const METHODS: &str =
        include_str!("../../../../tests/data/vendor/zeek/scripts.base.protocols.http.http-methods_http.log");

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
    fn basic_http_tsv() {
        let (results, rows) = run(&ZeekHttp, &unmask(BASIC));
        assert_eq!(results.len(), 14);
        assert!(results.iter().all(|r| matches!(r, Ok(DecodeOutcome::Parsed(1)))), "{results:?}");
        let e = net(&rows[0]);
        assert_eq!(e.time.to_rfc3339(), "2026-11-24T09:00:00.250Z");
        assert_eq!(e.src_ip.as_deref(), Some("141.142.220.118"));
        assert_eq!(e.src_port, Some(48649));
        assert_eq!(e.dst_ip.as_deref(), Some("208.80.152.118"));
        assert_eq!(e.dst_port, Some(80));
        assert_eq!(e.protocol.as_deref(), Some("tcp"));
        assert_eq!(e.http_method.as_deref(), Some("GET"));
        assert_eq!(e.host.as_deref(), Some("bits.wikimedia.org"));
        assert_eq!(e.url.as_deref(), Some("/skins-1.5/monobook/main.css"));
        assert_eq!((e.bytes_out, e.bytes_in), (Some(0), Some(0)));
        assert_eq!(e.action.as_deref(), Some("allow"), "304 seen");
        assert_eq!(e.user, None, "`-` is unset");
        assert_eq!(e.vendor.as_deref(), Some("Zeek"));
        let e = net(&rows[1]);
        assert_eq!(e.host.as_deref(), Some("upload.wikimedia.org"));
        assert_eq!(e.url.as_deref(), Some("/wikipedia/commons/6/63/Wikipedia-logo.png"));
    }

    #[test]
    fn http_methods_tsv_skips_reply_only_records() {
        let (results, rows) = run(&ZeekHttp, &unmask(METHODS));
        assert_eq!(results.len(), 49);
        let skipped = results
            .iter()
            .filter(|r| **r == Ok(DecodeOutcome::Skipped("zeek-http: no request (method, host and uri unset)")))
            .count();
        assert_eq!(skipped, 23);
        assert_eq!(rows.len(), 26);
        assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
        let options = net(&rows[0]);
        assert_eq!(options.http_method.as_deref(), Some("OPTIONS"));
        assert_eq!(options.host.as_deref(), Some("www.google.com"));
        assert_eq!(options.url.as_deref(), Some("*"));
        assert_eq!(options.bytes_in, Some(962));
        // `(empty)` uri.
        let empty = net(&rows[1]);
        assert_eq!(empty.url, None);
        assert_eq!(empty.src_port, Some(46563));
        let methods: Vec<&str> = rows.iter().filter_map(|r| net(r).http_method.as_deref()).collect();
        for m in ["GET", "CCM_POST", "CONNECT", "TRACE", "DELETE", "PUT", "POST", "HEAD"] {
            assert!(methods.contains(&m), "{m}");
        }
        // HTTP/0.9 reply: status 0 is still a reply.
        let v09 = rows.iter().map(net).find(|e| e.src_port == Some(46568)).unwrap();
        assert_eq!(v09.url.as_deref(), Some("/HTTP/1.1"));
        assert_eq!(v09.action.as_deref(), Some("allow"));
    }

    #[test]
    fn json_gives_the_same_rows_as_tsv() {
        for sample in [BASIC, METHODS] {
            let sample = unmask(sample);
            let (tsv_results, tsv) = run(&ZeekHttp, &sample);
            let mut json = Vec::new();
            let json_results: Vec<_> = tsv_to_json(&sample)
                .iter()
                .map(|line| {
                    let mut out = Vec::new();
                    let r = ZeekHttp.decode(line.as_bytes(), RecordContext::default(), &mut out);
                    json.extend(out.into_iter().map(Row::into_static));
                    r
                })
                .collect();
            assert_eq!(json_results, tsv_results);
            assert_eq!(comparable(&json), comparable(&tsv));
        }
    }

    #[test]
    fn json_nested_with_user_and_host_port() {
        let line = r#"{"ts":"2026-11-24T09:00:02Z","id":{"orig_h":"10.1.2.3","orig_p":51000,"resp_h":"2001:db8::80","resp_p":8080},"method":"POST","host":"Paste.Example.COM:8080","uri":"/api/upload","user_agent":"curl/8.0","request_body_len":48213,"response_body_len":112,"status_code":201,"username":"alice"}"#;
        let mut out = Vec::new();
        assert_eq!(ZeekHttp.decode(line.as_bytes(), RecordContext::default(), &mut out), Ok(DecodeOutcome::Parsed(1)));
        let e = net(&out[0]);
        assert_eq!(e.time.to_rfc3339(), "2026-11-24T09:00:02.000Z");
        assert_eq!(e.dst_ip.as_deref(), Some("2001:db8::80"));
        assert_eq!(e.dst_port, Some(8080));
        assert_eq!(e.host.as_deref(), Some("paste.example.com"));
        assert_eq!(e.http_method.as_deref(), Some("POST"));
        assert_eq!((e.bytes_out, e.bytes_in), (Some(48213), Some(112)));
        assert_eq!(e.user.as_deref(), Some("alice"));
        assert_eq!(e.action.as_deref(), Some("allow"));
        // No reply seen: no action.
        let line = r#"{"ts":1.0,"id.orig_h":"10.1.2.3","id.resp_h":"10.9.9.9","method":"GET","host":"x"}"#;
        ZeekHttp.decode(line.as_bytes(), RecordContext::default(), &mut out).unwrap();
        assert_eq!(net(&out[1]).action, None);
    }

    #[test]
    fn host_cleaning() {
        assert_eq!(clean_host("Example.COM:8080").as_deref(), Some("example.com"));
        assert_eq!(clean_host("example.com.").as_deref(), Some("example.com"));
        assert_eq!(clean_host("[2001:DB8::1]:443").as_deref(), Some("2001:db8::1"));
        assert_eq!(clean_host("2001:db8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(clean_host("10.0.0.1:80").as_deref(), Some("10.0.0.1"));
        assert_eq!(clean_host("host:notaport").as_deref(), Some("host:notaport"));
        assert_eq!(clean_host(" "), None);
        assert_eq!(clean_host("[").as_deref(), None);
    }

    #[test]
    fn negative_cases() {
        let sample = unmask(BASIC);
        let h = headers(&sample);
        let ctx = RecordContext::with_headers(&h);
        let line = sample.lines().find(|l| !l.starts_with('#')).unwrap();
        let decode = |l: &str, ctx: RecordContext<'_>| ZeekHttp.decode(l.as_bytes(), ctx, &mut Vec::new());
        let field = |i: usize, v: &str| -> String {
            line.split('\t').enumerate().map(|(j, f)| if j == i { v } else { f }).collect::<Vec<_>>().join("\t")
        };
        let e = decode(&field(16, "OK"), ctx).unwrap_err();
        assert!(e.reason.contains("`status_code`"), "{e}");
        let e = decode(&field(15, "1.5"), ctx).unwrap_err();
        assert!(e.reason.contains("`response_body_len`"), "{e}");
        let e = decode(&field(4, "208.80.152"), ctx).unwrap_err();
        assert!(e.reason.contains("`id.resp_h`"), "{e}");
        let e = decode(&field(0, "yesterday"), ctx).unwrap_err();
        assert!(e.reason.contains("`ts` `yesterday`"), "{e}");
        let e = decode(&format!("{line}\textra"), ctx).unwrap_err();
        assert!(e.reason.contains("31 fields, #fields names 30"), "{e}");
        let conn = [Bytes::from_static(b"#path\tconn")];
        let e = decode(line, RecordContext::with_headers(&conn)).unwrap_err();
        assert_eq!(e.reason, "zeek-http: this stream is a Zeek `conn` log, not `http`");
        let e = decode(r#"{"ts":1,"_path":"ssl","id.orig_h":"1.2.3.4","id.resp_h":"1.2.3.5"}"#, ctx).unwrap_err();
        assert!(e.reason.contains("`ssl`"), "{e}");
        let e = decode(r#"{"ts":1,"id.orig_h":"1.2.3.4","method":"GET"}"#, ctx).unwrap_err();
        assert!(e.reason.contains("missing `id.resp_h`"), "{e}");
        let e = decode("{\"ts\":1,", ctx).unwrap_err();
        assert!(e.reason.contains("invalid JSON"), "{e}");
    }

    const DOC: &str = include_str!("../../../../docs/formats/zeek-http.md");

    #[test]
    fn doc_example_is_current() {
        let headers = "#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\thttp
#open\t2026-11-24-09-00-00
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttrans_depth\tmethod\thost\turi\treferrer\tversion\tuser_agent\torigin\trequest_body_len\tresponse_body_len\tstatus_code\tstatus_msg\tinfo_code\tinfo_msg\ttags\tusername\tpassword\tproxied\torig_fuids\torig_filenames\torig_mime_types\tresp_fuids\tresp_filenames\tresp_mime_types
#types\ttime\tstring\taddr\tport\taddr\tport\tcount\tstring\tstring\tstring\tstring\tstring\tstring\tstring\tcount\tcount\tcount\tstring\tcount\tstring\tset[enum]\tstring\tstring\tset[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]";
        let line = "1795510800.250000\tCUM0KZ3MLUfNB0cl11\t141.142.220.118\t48649\t208.80.152.118\t80\t1\tGET\tbits.wikimedia.org\t/skins-1.5/monobook/main.css\thttp://www.wikipedia.org/\t1.1\tMozilla/5.0 (X11; U; Linux x86_64; en-US; rv:1.9.2.15) Gecko/20110303 Ubuntu/10.04 (lucid) Firefox/3.6.15\t-\t0\t0\t304\tNot Modified\t-\t-\t(empty)\t-\t-\t-\t-\t-\t-\t-\t-\t-";
        let json = example_json(&ZeekHttp, headers, line, "file:/var/log/zeek/http.log", 9);
        assert_doc_shows("zeek-http.md", DOC, &format!("{headers}\n{line}"), &json);
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
            let sample = unmask(METHODS);
            let h = headers(&sample);
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
            for ctx in [RecordContext::with_headers(&h), RecordContext::default()] {
                for rec in [&bytes[..], &mutated[..], &line[..cut], &json[..jcut]] {
                    let mut out = Vec::new();
                    let r = ZeekHttp.decode(rec, ctx, &mut out);
                    check_outcome(&r, out.len());
                }
            }
        }
    }
}
