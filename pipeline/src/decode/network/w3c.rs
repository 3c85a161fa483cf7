//! `w3c`: W3C Extended Log File Format (W3C working draft WD-logfile), as
//! Microsoft IIS 7–10, Blue Coat / Symantec ProxySG (SGOS 6.x–7.x) and
//! other proxies write it. The most recent `#Fields:` directive in the
//! stream (passed in [`RecordContext::headers`], like Zeek's `#fields`)
//! names the columns; `#Software:` names the product and `#Date:` supplies
//! the date when there is no `date` field. Values are separated by spaces
//! (a `"quoted value"` may contain spaces; `""` inside is a quote) or, when
//! the line contains a tab, by single tabs. `-` is null.
//!
//! | W3C field (case-insensitive) | column |
//! |---|---|
//! | `date` + `time` (UTC), else `time` + the `#Date:` directive, `x-timestamp-unix` / `timestamp` (epoch), `gmttime`, `localtime` | `time` |
//! | `c-ip` / `c-port` | `src_ip` / `src_port` |
//! | `r-ip`, else `s-supplier-ip` (ProxySG upstream), else `s-ip` (IIS: the server; ProxySG: the proxy) | `dst_ip` |
//! | `cs-uri-port`, else `r-port`, else `s-port` | `dst_port` |
//! | `cs-username`, else `cs-user` | `user` |
//! | `cs-host`, else `x-cs-dns`, `r-dns`, `cs(Host)`, else the URL's host (lower case, port removed) | `host` |
//! | `cs-uri` / `cs-url`, else built from `cs-uri-scheme` `://` host [`:` non-default port] + `cs-uri-stem` / `cs-uri-path` + `?` `cs-uri-query` | `url` |
//! | `cs-method` | `http_method` |
//! | `sc-filter-result` (`OBSERVED` / `PROXIED` → `allow`, `DENIED` → `deny`), else `s-action` / `x-resultcode-httpstatus` (`*DENIED*` → `deny`, else `allow`), else `x-action` / `action` (as for `cef`) | `action` |
//! | `cs-bytes` / `sc-bytes` | `bytes_out` / `bytes_in` |
//! | `cs-categories` (ProxySG, `;`-separated), `cs-category`, `x-webcat-code-full` | `url_category` |
//! | `x-bluecoat-application-name`, `x-avc-app` (`none` = null) | `vendor_app` |
//! | `#Software:` (IIS → Microsoft / IIS, SGOS → Blue Coat / ProxySG, else the text as product) | `vendor` / `product` |
//!
//! Other fields (`cs(User-Agent)`, `sc-status`, `time-taken`, ...) are not
//! modelled. IIS logs have no action: `action` stays null.
//!
//! Directive lines (`#Software:`, `#Fields:`...) that reach the decoder are
//! skipped as `w3c: directive line`. Dead-lettered: a line with no `#Fields:`
//! header before it, a field count different from `#Fields:`, an
//! unterminated quote, an invalid address / port / byte count, no or an
//! unparsable time.

use std::borrow::Cow;
use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::decode::readers::text::action as generic_action;
use crate::decode::readers::text::{clean_host, lower_case, map_opt, map_str, upper_case, url_host};
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::time::{from_epoch_number, parse_any};
use crate::schema::{EventClass, NetworkEvent, Row, Str, Timestamp};

/// Decoder for `w3c`.
pub struct W3c;

/// The value of the most recent `#Name:` directive.
fn directive<'a>(ctx: &RecordContext<'a>, name: &str) -> Option<&'a str> {
    ctx.headers.iter().rev().find_map(|h| {
        let h = std::str::from_utf8(h).ok()?.trim_start_matches('\u{feff}');
        let (k, v) = h.strip_prefix('#')?.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Split a record into its fields.
pub(crate) fn split(line: &str) -> Result<Vec<Str<'_>>, DecodeError> {
    if line.contains('\t') {
        return Ok(line
            .split('\t')
            .map(|f| {
                let f = f.trim_matches(' ');
                match f.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
                    Some(inner) if inner.contains("\"\"") => Cow::Owned(inner.replace("\"\"", "\"")),
                    Some(inner) => Cow::Borrowed(inner),
                    None => Cow::Borrowed(f),
                }
            })
            .collect());
    }
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        if b[i] == b'[' {
            // A bracketed time (`[05/Mar/2024:15:03:07 +0100]`) is one field.
            let start = i;
            while i < b.len() && b[i] != b']' {
                i += 1;
            }
            i = (i + 1).min(b.len());
            out.push(Cow::Borrowed(&line[start..i]));
        } else if b[i] == b'"' {
            let open = i;
            i += 1;
            let mut value = String::new();
            let mut seg = i;
            loop {
                match b.get(i) {
                    None => {
                        return Err(DecodeError::new(format!(
                            "w3c: quoted field {} (opened at byte {open}) is not terminated",
                            out.len() + 1
                        )))
                    }
                    Some(b'"') if b.get(i + 1) == Some(&b'"') => {
                        value.push_str(&line[seg..=i]);
                        i += 2;
                        seg = i;
                    }
                    Some(b'"') => {
                        value.push_str(&line[seg..i]);
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            out.push(Cow::Owned(value));
        } else {
            let start = i;
            while i < b.len() && b[i] != b' ' {
                i += 1;
            }
            out.push(Cow::Borrowed(&line[start..i]));
        }
    }
    Ok(out)
}

/// Vendor and product named by `#Software:`.
fn software(s: Option<&str>) -> (Option<Str<'_>>, Option<Str<'_>>) {
    let Some(s) = s.filter(|s| !s.is_empty()) else { return (None, None) };
    let l = s.to_ascii_lowercase();
    if l.contains("internet information services") {
        (Some("Microsoft".into()), Some("IIS".into()))
    } else if l.starts_with("sgos") || l.contains("proxysg") || l.contains("blue coat") {
        (Some("Blue Coat".into()), Some("ProxySG".into()))
    } else if l.contains("asyncos for web") {
        (Some("Cisco".into()), Some("Secure Web Appliance".into()))
    } else {
        (None, Some(Cow::Borrowed(s)))
    }
}

/// A W3C date as `YYYY-MM-DD`: IIS and ProxySG write that form, the W3C
/// draft's examples `12-Jan-1996`.
fn iso_date(d: &str) -> Option<String> {
    NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(d, "%d-%b-%Y"))
        .ok()
        .map(|d| d.format("%Y-%m-%d").to_string())
}

/// ProxySG `gmttime` (`[05/03/2024:14:03:07 GMT]`) or `localtime` (`[05/Mar/2024:15:03:07 +0100]`).
fn bracket_time(v: &str) -> Option<Timestamp> {
    let v = v.trim_matches(['[', ']']).trim();
    if let Ok(dt) = DateTime::parse_from_str(v, "%d/%b/%Y:%H:%M:%S %z") {
        return Some(Timestamp::from_datetime(&dt));
    }
    let v = v.trim_end_matches("GMT").trim_end_matches("UTC").trim();
    NaiveDateTime::parse_from_str(v, "%d/%m/%Y:%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%d/%b/%Y:%H:%M:%S"))
        .ok()
        .map(|dt| Timestamp::from_datetime(&Utc.from_utc_datetime(&dt)))
}

/// W3C fields with a column of their own (the rest go to `vendor_fields`).
const MAPPED: &[&str] = &[
    "date",
    "time",
    "x-timestamp-unix",
    "timestamp",
    "gmttime",
    "localtime",
    "c-ip",
    "c-port",
    "r-ip",
    "s-supplier-ip",
    "s-ip",
    "cs-uri-port",
    "r-port",
    "s-port",
    "cs-bytes",
    "sc-bytes",
    "cs-uri",
    "cs-url",
    "cs-host",
    "x-cs-dns",
    "r-dns",
    "cs(host)",
    "cs-uri-stem",
    "cs-uri-path",
    "cs-uri-query",
    "cs-uri-scheme",
    "sc-filter-result",
    "s-action",
    "x-resultcode-httpstatus",
    "x-action",
    "action",
    "cs-method",
    "cs-username",
    "cs-user",
    "x-bluecoat-application-name",
    "x-avc-app",
    "cs-categories",
    "cs-category",
    "x-webcat-code-full",
];

impl Decoder for W3c {
    fn id(&self) -> &'static str {
        "w3c"
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
        let line = record_text(record)?;
        if line.trim_start().starts_with('#') {
            return Ok(DecodeOutcome::Skipped("w3c: directive line"));
        }
        let fields = directive(&ctx, "Fields").ok_or_else(|| {
            DecodeError::new("w3c: no `#Fields:` header before this line (the W3C header must come with the records)")
        })?;
        let names: Vec<&str> = fields.split_whitespace().collect();
        let values = split(line)?;
        if values.len() != names.len() {
            return Err(DecodeError::new(format!(
                "w3c: line has {} fields, #Fields names {}",
                values.len(),
                names.len()
            )));
        }
        let index = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
        let get = |name: &str| -> Option<&str> {
            index(name).map(|i| values[i].trim()).filter(|v| !v.is_empty() && *v != "-")
        };
        // The same value as a column value (borrowed from the line).
        let text = |name: &str| -> Option<Str<'a>> {
            let v = &values[index(name)?];
            let t = v.trim();
            if t.is_empty() || t == "-" {
                return None;
            }
            Some(match v {
                Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
                Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
            })
        };
        let first_text = |list: &[&'static str]| list.iter().find_map(|n| text(n));
        let first = |list: &[&'static str]| list.iter().find_map(|n| get(n).map(|v| (*n, v)));
        let bad = |name: &str, v: &str, what: &str| DecodeError::new(format!("w3c: `{name}` `{v}` {what}"));

        let time = if let Some(t) = get("time") {
            let date = get("date")
                .or_else(|| directive(&ctx, "Date").and_then(|d| d.split_whitespace().next()))
                .ok_or_else(|| DecodeError::new("w3c: `time` without a `date` field or `#Date:` directive"))?;
            iso_date(date)
                .and_then(|d| parse_any(&format!("{d} {t}")))
                .ok_or_else(|| bad("date time", &format!("{date} {t}"), "is not a time"))?
        } else if let Some((n, v)) = first(&["x-timestamp-unix", "timestamp"]) {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x > 0.0)
                .map(from_epoch_number)
                .ok_or_else(|| bad(n, v, "is not an epoch time"))?
        } else if let Some((n, v)) = first(&["gmttime", "localtime"]) {
            bracket_time(v).ok_or_else(|| bad(n, v, "is not a time"))?
        } else {
            return Err(DecodeError::new("w3c: no time field (`date` + `time`, `x-timestamp-unix`, `gmttime`)"));
        };

        let ip = |list: &[&'static str]| -> Result<Option<Str<'a>>, DecodeError> {
            match first(list) {
                None => Ok(None),
                Some((n, v)) => match v.parse::<IpAddr>() {
                    Ok(_) => Ok(first_text(list)),
                    Err(_) => Err(bad(n, v, "is not an IP address")),
                },
            }
        };
        let port = |list: &[&'static str]| -> Result<Option<i32>, DecodeError> {
            match first(list) {
                None => Ok(None),
                Some((n, v)) => v.parse::<u16>().map(|p| Some(i32::from(p))).map_err(|_| bad(n, v, "is not a port")),
            }
        };
        let bytes = |name: &'static str| -> Result<Option<i64>, DecodeError> {
            match get(name) {
                None => Ok(None),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .and_then(|n| i64::try_from(n).ok())
                    .map(Some)
                    .ok_or_else(|| bad(name, v, "is not a byte count")),
            }
        };

        let dst_port = port(&["cs-uri-port", "r-port", "s-port"])?;
        let direct_url = first_text(&["cs-uri", "cs-url"]);
        let host = first_text(&["cs-host", "x-cs-dns", "r-dns", "cs(host)"])
            .and_then(|h| map_opt(h, clean_host))
            .or_else(|| match &direct_url {
                Some(Cow::Borrowed(u)) => url_host(u),
                Some(Cow::Owned(u)) => url_host(u).map(|h| Cow::Owned(h.into_owned())),
                None => None,
            });
        let url = direct_url.or_else(|| {
            let path = first(&["cs-uri-stem", "cs-uri-path"]).map(|(_, p)| p);
            let query = get("cs-uri-query");
            let scheme = get("cs-uri-scheme").map(str::to_ascii_lowercase);
            if path.is_none() && query.is_none() {
                return None;
            }
            let mut u = match (&scheme, &host) {
                (Some(s), Some(h)) => {
                    let default =
                        matches!((s.as_str(), dst_port), ("http", Some(80)) | ("https", Some(443)) | (_, None));
                    let h = if h.contains(':') { format!("[{h}]") } else { h.to_string() };
                    match dst_port {
                        Some(p) if !default => format!("{s}://{h}:{p}"),
                        _ => format!("{s}://{h}"),
                    }
                }
                (None, Some(h)) => h.to_string(),
                _ => String::new(),
            };
            u.push_str(path.unwrap_or(""));
            if let Some(q) = query {
                if !q.starts_with('?') {
                    u.push('?');
                }
                u.push_str(q);
            }
            Some(Cow::Owned(u))
        });
        let action: Option<Str<'a>> = if let Some(r) = text("sc-filter-result") {
            Some(if r.eq_ignore_ascii_case("DENIED") {
                Cow::Borrowed("deny")
            } else if r.eq_ignore_ascii_case("OBSERVED") || r.eq_ignore_ascii_case("PROXIED") {
                Cow::Borrowed("allow")
            } else {
                map_str(r, lower_case)
            })
        } else if let Some((_, a)) = first(&["s-action", "x-resultcode-httpstatus"]) {
            Some(Cow::Borrowed(if a.to_ascii_uppercase().contains("DENIED") { "deny" } else { "allow" }))
        } else {
            first_text(&["x-action", "action"]).map(|a| map_str(a, generic_action))
        };
        let (vendor, product) = software(directive(&ctx, "Software"));
        let mut e = NetworkEvent {
            time,
            vendor,
            product,
            src_ip: ip(&["c-ip"])?,
            src_port: port(&["c-port"])?,
            dst_ip: ip(&["r-ip", "s-supplier-ip", "s-ip"])?,
            dst_port,
            action,
            bytes_out: bytes("cs-bytes")?,
            bytes_in: bytes("sc-bytes")?,
            host,
            url,
            http_method: text("cs-method").map(|m| map_str(m, upper_case)),
            user: first_text(&["cs-username", "cs-user"]),
            vendor_app: first_text(&["x-bluecoat-application-name", "x-avc-app"])
                .filter(|a| !a.eq_ignore_ascii_case("none")),
            url_category: first_text(&["cs-categories", "cs-category", "x-webcat-code-full"])
                .filter(|c| !c.eq_ignore_ascii_case("none")),
            ..Default::default()
        };
        for (name, v) in names.iter().zip(&values) {
            if MAPPED.iter().any(|m| m.eq_ignore_ascii_case(name)) || v.trim() == "-" {
                continue;
            }
            e.vendor_fields.push(*name, v.clone());
        }
        out.push(Row::Network(e));
        Ok(DecodeOutcome::Parsed(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    const IIS: &str = include_str!("../../../../tests/data/vendor/w3c/iis-u_ex240305.log");
    const IIS_HOST: &str = include_str!("../../../../tests/data/vendor/w3c/iis-extended-fields.log");
    const PROXYSG: &str = include_str!("../../../../tests/data/vendor/w3c/proxysg-access.log");

    /// Feed a file as the line source does: `#` lines become header context.
    fn run(text: &str) -> (Vec<Result<DecodeOutcome, DecodeError>>, Vec<Row<'static>>) {
        let mut headers = Vec::new();
        let mut results = Vec::new();
        let mut rows = Vec::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            if line.starts_with('#') {
                headers.push(Bytes::from(line.to_string()));
                continue;
            }
            let mut local = Vec::new();
            results.push(W3c.decode(line.as_bytes(), RecordContext::with_headers(&headers), &mut local));
            rows.extend(local.into_iter().map(Row::into_static));
        }
        (results, rows)
    }

    fn rows(text: &str) -> Vec<NetworkEvent<'static>> {
        let (results, rows) = run(text);
        assert!(results.iter().all(|r| matches!(r, Ok(DecodeOutcome::Parsed(1)))), "{results:?}");
        rows.into_iter()
            .map(|r| match r {
                Row::Network(e) => e,
                other => panic!("not a network row: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn iis_default_fields() {
        let r = rows(IIS);
        assert_eq!(r.len(), 3);
        let e = &r[0];
        assert_eq!(e.time.to_rfc3339(), "2024-03-05T14:03:07.000Z");
        assert_eq!((e.vendor.as_deref(), e.product.as_deref()), (Some("Microsoft"), Some("IIS")));
        assert_eq!(e.src_ip.as_deref(), Some("198.51.100.23"));
        assert_eq!((e.dst_ip.as_deref(), e.dst_port), (Some("192.0.2.20"), Some(443)));
        assert_eq!(e.http_method.as_deref(), Some("GET"));
        assert_eq!(
            e.url.as_deref(),
            Some("/owa/auth/logon.aspx?replaceCurrent=1&url=https%3a%2f%2fmail.example.com%2fowa%2f")
        );
        assert_eq!((e.user.as_deref(), e.host.as_deref(), e.action.as_deref()), (None, None, None));
        let e = &r[1];
        assert_eq!(e.user.as_deref(), Some("CORP\\ana.pereira"));
        assert_eq!(e.src_ip.as_deref(), Some("2001:db8:10::5"));
        assert_eq!(e.url.as_deref(), Some("/owa/auth.owa"));
        assert_eq!(e.http_method.as_deref(), Some("POST"));
        // The third line has no `date` field after a new header: the `#Date:` directive gives it.
        assert_eq!(r[2].time.to_rfc3339(), "2024-03-06T00:00:05.000Z");
    }

    #[test]
    fn iis_host_and_bytes() {
        let r = rows(IIS_HOST);
        let e = &r[0];
        assert_eq!(e.host.as_deref(), Some("files.example.com"));
        assert_eq!(e.url.as_deref(), Some("files.example.com/api/upload?id=7"));
        assert_eq!((e.bytes_out, e.bytes_in), (Some(5_242_880), Some(312)));
        assert_eq!(e.dst_port, Some(8443));
        assert_eq!(e.time.to_rfc3339(), "2024-03-05T14:10:02.000Z");
    }

    #[test]
    fn proxysg_quoted_fields_and_actions() {
        let r = rows(PROXYSG);
        assert_eq!(r.len(), 3);
        let e = &r[0];
        assert_eq!((e.vendor.as_deref(), e.product.as_deref()), (Some("Blue Coat"), Some("ProxySG")));
        assert_eq!(e.time.to_rfc3339(), "2024-03-05T14:03:07.000Z");
        assert_eq!(e.src_ip.as_deref(), Some("10.20.1.31"));
        assert_eq!(e.user.as_deref(), Some("ana.pereira"));
        assert_eq!(e.host.as_deref(), Some("content.dropboxapi.com"));
        assert_eq!(e.url.as_deref(), Some("tcp://content.dropboxapi.com:443/"));
        assert_eq!(e.http_method.as_deref(), Some("CONNECT"));
        assert_eq!(e.action.as_deref(), Some("allow"));
        assert_eq!((e.bytes_out, e.bytes_in), (Some(48_211_977), Some(88_341)));
        assert_eq!((e.dst_ip.as_deref(), e.dst_port), (Some("162.125.1.18"), Some(443)));
        assert_eq!(e.url_category.as_deref(), Some("Technology/Internet;File Storage/Sharing"));
        assert_eq!(e.vendor_app.as_deref(), Some("Dropbox"));
        let e = &r[1];
        assert_eq!(e.action.as_deref(), Some("deny"));
        assert_eq!(e.url.as_deref(), Some("https://www.reddit.com/r/all?sort=new"));
        assert_eq!(e.dst_ip.as_deref(), Some("192.0.2.1"), "no upstream: the proxy's s-ip");
        assert_eq!(e.vendor_app, None, "`none` is null");
        let e = &r[2];
        assert_eq!(e.src_ip.as_deref(), Some("2001:db8:10::5"));
        assert_eq!(e.url.as_deref(), Some("https://www.example.com:8443/api/v1/items?q=1"));
        assert_eq!(e.dst_ip.as_deref(), Some("2606:4700::6810:84e5"));
        assert_eq!(e.user, None);
    }

    #[test]
    fn quoting_rules() {
        let v = split(r#"a "b c" "" "say ""hi""" - "é""#).unwrap();
        assert_eq!(v, vec!["a", "b c", "", "say \"hi\"", "-", "é"]);
        assert!(split(r#"a "b c"#).unwrap_err().reason.contains("quoted field 2"));
    }

    #[test]
    fn tab_separated_with_full_urls() {
        let text = "#Software: Example Gateway 3.1\n\
            #Fields: date time c-ip cs-username cs-method cs-uri sc-status sc-bytes cs-bytes cs(User-Agent) x-action\n\
            2024-03-05\t14:20:00\t10.20.1.31\tana.pereira\tget\thttps://Docs.Google.com/document/d/1x\t200\t1200\t300\tMozilla/5.0 (X11; Linux)\tBlocked\n";
        let e = &rows(text)[0];
        assert_eq!(e.host.as_deref(), Some("docs.google.com"));
        assert_eq!(e.url.as_deref(), Some("https://Docs.Google.com/document/d/1x"));
        assert_eq!(e.action.as_deref(), Some("deny"));
        assert_eq!(e.http_method.as_deref(), Some("GET"));
        assert_eq!((e.vendor.as_deref(), e.product.as_deref()), (None, Some("Example Gateway 3.1")));
    }

    #[test]
    fn errors_and_skips() {
        let headers = [Bytes::from_static(b"#Fields: date time c-ip cs-method")];
        let ctx = RecordContext::with_headers(&headers);
        let dec = |l: &str| W3c.decode(l.as_bytes(), ctx, &mut Vec::new());
        assert_eq!(dec("#Version: 1.0").unwrap(), DecodeOutcome::Skipped("w3c: directive line"));
        assert!(dec("2024-03-05 14:00:00 10.0.0.1").unwrap_err().reason.contains("3 fields, #Fields names 4"));
        assert!(dec("2024-03-05 14:00:00 10.0.0.x GET").unwrap_err().reason.contains("`c-ip` `10.0.0.x`"));
        assert!(dec("2024-13-05 14:00:00 10.0.0.1 GET").unwrap_err().reason.contains("is not a time"));
        let e = W3c.decode(b"2024-03-05 14:00:00 10.0.0.1 GET", RecordContext::default(), &mut Vec::new());
        assert!(e.unwrap_err().reason.contains("no `#Fields:`"));
        let no_time = [Bytes::from_static(b"#Fields: c-ip cs-method")];
        let e = W3c.decode(b"10.0.0.1 GET", RecordContext::with_headers(&no_time), &mut Vec::new());
        assert!(e.unwrap_err().reason.contains("no time field"));
        let bytes = [Bytes::from_static(b"#Fields: date time sc-bytes")];
        let e = W3c.decode(b"2024-03-05 14:00:00 lots", RecordContext::with_headers(&bytes), &mut Vec::new());
        assert!(e.unwrap_err().reason.contains("`sc-bytes`"));
    }

    #[test]
    fn other_time_fields() {
        let h = [Bytes::from_static(b"#Fields: gmttime c-ip"), Bytes::from_static(b"#Software: SGOS 6.7.5.3")];
        let mut out = Vec::new();
        W3c.decode(b"[05/03/2024:14:03:07 GMT] 10.0.0.1", RecordContext::with_headers(&h), &mut out).unwrap();
        let h = [Bytes::from_static(b"#Fields: localtime x-timestamp-unix c-ip")];
        W3c.decode(b"[05/Mar/2024:15:03:07 +0100] 1709647387 10.0.0.1", RecordContext::with_headers(&h), &mut out)
            .unwrap();
        let h = [Bytes::from_static(b"#Fields: x-timestamp-unix c-ip")];
        W3c.decode(b"1709647387.5 10.0.0.1", RecordContext::with_headers(&h), &mut out).unwrap();
        let h =
            [Bytes::from_static(b"#Date: 05-Mar-1996 00:00:00"), Bytes::from_static(b"#Fields: time cs-method cs-uri")];
        W3c.decode(b"14:03:07 GET /foo.html", RecordContext::with_headers(&h), &mut out).unwrap();
        let times: Vec<String> = out.iter().map(|r| r.time().to_rfc3339()).collect();
        assert_eq!(
            times,
            [
                "2024-03-05T14:03:07.000Z",
                "2024-03-05T14:03:07.000Z",
                "2024-03-05T14:03:07.500Z",
                "1996-03-05T14:03:07.000Z"
            ]
        );
    }

    fn one_outcome(bytes: &[u8], headers: &[Bytes]) {
        let mut out = Vec::new();
        match W3c.decode(bytes, RecordContext::with_headers(headers), &mut out) {
            Ok(DecodeOutcome::Parsed(n)) => assert!(n >= 1 && n == out.len()),
            Ok(DecodeOutcome::Skipped(_)) | Err(_) => assert!(out.is_empty()),
        }
    }

    #[test]
    fn doc_example_json() {
        let headers: Vec<Bytes> =
            PROXYSG.lines().filter(|l| l.starts_with('#')).map(|l| Bytes::from(l.to_string())).collect();
        let line = PROXYSG.lines().find(|l| !l.starts_with('#')).unwrap();
        let mut out = Vec::new();
        W3c.decode(line.as_bytes(), RecordContext::with_headers(&headers), &mut out).unwrap();
        out[0].set_origin(&crate::origin::event_id("stdin", None, 7), "stdin:7", W3c.id());
        crate::decode::doc_example::check("w3c.md", &out[0].to_json());
    }

    proptest! {
        #[test]
        fn never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            pick in 0usize..64,
            at in 0usize..600,
            with in any::<u8>(),
            cut in 0usize..600,
        ) {
            let headers: Vec<Bytes> = PROXYSG.lines().filter(|l| l.starts_with('#')).map(|l| Bytes::from(l.to_string())).collect();
            one_outcome(&bytes, &headers);
            one_outcome(&bytes, &[]);
            let lines: Vec<&str> = PROXYSG.lines().filter(|l| !l.starts_with('#')).collect();
            let mut line = lines[pick % lines.len()].as_bytes().to_vec();
            let at = at % line.len().max(1);
            if at < line.len() {
                line[at] = with;
            }
            one_outcome(&line, &headers);
            line.insert(at.min(line.len()), with);
            one_outcome(&line, &headers);
            one_outcome(&line[..cut.min(line.len())], &headers);
            // The record as a header: a broken #Fields line.
            one_outcome(b"2024-03-05 14:00:00 10.0.0.1", &[Bytes::from(line.clone())]);
        }
    }
}
