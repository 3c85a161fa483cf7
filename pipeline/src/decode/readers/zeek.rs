//! Shared reading of Zeek (formerly Bro) logs, Zeek 3.x–7.x, for the
//! `zeek-*` decoders: one [`ZeekRecord`] gives access by Zeek field name
//! (`ts`, `id.orig_h`, `service`, ...) whichever of Zeek's two ASCII encodings
//! the record is in.
//!
//! * **TSV** (`LogAscii` default). The header block before the records
//!   (passed in [`RecordContext::headers`], the latest value of each header
//!   wins) defines how to read a line:
//!
//!   | header | meaning | default when absent |
//!   |---|---|---|
//!   | `#separator \x09` | field separator, `\xHH`-escaped | tab |
//!   | `#set_separator` | separator of `set[..]` / `vector[..]` elements | `,` |
//!   | `#unset_field` | an unset (`&optional`) field | `-` |
//!   | `#empty_field` | an empty string, set or vector | `(empty)` |
//!   | `#path` | the log stream (`conn`, `dns`, ...) | not checked |
//!   | `#fields` | the column names | none: the line is dead-lettered |
//!
//!   Values are un-escaped (`\xHH` → the byte; Zeek writes the separator and
//!   non-printable bytes that way). The unset / empty markers are compared
//!   before un-escaping, so an escaped `\x2d` is the string `-`.
//! * **JSON** (`LogAscii::use_json=T`, or a shipper that writes Zeek's JSON),
//!   one object per line. A dotted name (`id.orig_h`) is looked up as a flat
//!   key first, then as a path through nested objects (`{"id":{"orig_h":..}}`);
//!   keys match case-insensitively. `ts` is epoch seconds (or milliseconds:
//!   `JSON::TS_MILLIS`) or ISO 8601 (`JSON::TS_ISO8601`). Unset fields are
//!   absent or `null`.
//!
//! The stream must be the log the decoder expects: a TSV `#path` or JSON
//! `_path` naming another log is an error naming both. `<log>_<suffix>` paths
//! (Corelight-style `conn_red`, `ssl_red`, `conn_long`: the same log,
//! reduced or split) count as the log; fields are read by name, so a
//! reduced log just leaves the missing columns unset.
//!
//! Typed getters return `Ok(None)` for an unset or absent field and an error
//! naming the field and its value when the value does not have the type
//! Zeek logs it with (`addr`, `port`, `count`, `bool`, `time`).

use std::borrow::Cow;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::json;
use crate::decode::{DecodeError, RecordContext};
use crate::schema::time::{from_epoch_number, parse_any};
use crate::schema::{Str, Timestamp, VendorFields};

/// One Zeek log record (TSV line or JSON object) with field access by name.
pub struct ZeekRecord<'a> {
    format: &'static str,
    body: Body<'a>,
}

enum Body<'a> {
    Tsv(Tsv<'a>),
    Json(Map<String, Value>),
}

struct Tsv<'a> {
    names: Vec<&'a str>,
    values: Vec<&'a str>,
    set_sep: Cow<'a, str>,
    unset: &'a str,
    empty: &'a str,
}

/// Replace `\xHH` escapes with the byte they stand for (invalid UTF-8 is
/// replaced by U+FFFD); other text is returned as is.
pub fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains("\\x") {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if let Some([b'x', h, l]) = b.get(i + 1..i + 4) {
                if let (Some(h), Some(l)) = (hex(*h), hex(*l)) {
                    out.push((h << 4) | l);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// The value of the latest header `#<name>` in `headers`, the name followed
/// by the field separator (or a tab or space).
fn header<'h>(headers: &'h [bytes::Bytes], name: &str, sep: &str) -> Option<&'h str> {
    headers.iter().rev().find_map(|h| {
        let h = std::str::from_utf8(h).ok()?;
        let rest = h.strip_prefix('#')?.strip_prefix(name)?;
        let value = if sep.is_empty() { None } else { rest.strip_prefix(sep) };
        let value = value.or_else(|| rest.strip_prefix(['\t', ' ']))?;
        Some(value.trim_end_matches(['\r', '\n']))
    })
}

/// Whether a stream path names the log `log` (`conn`, or `conn_<suffix>`).
fn path_is(path: &str, log: &str) -> bool {
    path == log || path.strip_prefix(log).is_some_and(|rest| rest.starts_with('_'))
}

fn parse_time(text: &str) -> Option<Timestamp> {
    let t = match text.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => from_epoch_number(n),
        Ok(_) => return None,
        Err(_) => parse_any(text)?,
    };
    DateTime::<Utc>::from_timestamp_micros(t.0).map(|_| t)
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim() {
        "T" | "t" | "true" | "True" | "TRUE" => Some(true),
        "F" | "f" | "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Shorten a value for an error message.
fn shown(v: &str) -> String {
    let mut s: String = v.chars().take(60).collect();
    if s.len() < v.len() {
        s.push('…');
    }
    s
}

impl<'a> ZeekRecord<'a> {
    /// Read `text` (one record, already trimmed of its line ending) as a
    /// record of the Zeek log `log` (`conn`, `dns`, ...). `format` is the
    /// decoder id, prefixed to error messages.
    ///
    /// Errors: invalid JSON or not an object; a TSV line without a `#fields`
    /// header before it or with a different number of fields; a `#path` /
    /// `_path` naming another log.
    pub fn parse(
        format: &'static str,
        log: &str,
        text: &'a str,
        ctx: RecordContext<'a>,
    ) -> Result<ZeekRecord<'a>, DecodeError> {
        if text.trim_start().starts_with('{') {
            let obj = json::parse_object(text).map_err(|e| DecodeError::new(format!("{format}: {}", e.reason)))?;
            if let Some(Value::String(path)) = json::get(&obj, "_path") {
                if !path_is(path.trim(), log) {
                    return Err(DecodeError::new(format!(
                        "{format}: this record is from a Zeek `{}` log (`_path`), not `{log}`",
                        shown(path.trim())
                    )));
                }
            }
            return Ok(ZeekRecord { format, body: Body::Json(obj) });
        }
        let headers = ctx.headers;
        let sep = match header(headers, "separator", "") {
            Some(s) => match unescape(s.trim_end()) {
                s if s.is_empty() => Cow::Borrowed("\t"),
                s => s,
            },
            None => Cow::Borrowed("\t"),
        };
        if let Some(path) = header(headers, "path", &sep) {
            if !path_is(path.trim(), log) {
                return Err(DecodeError::new(format!(
                    "{format}: this stream is a Zeek `{}` log, not `{log}`",
                    shown(path.trim())
                )));
            }
        }
        let fields = header(headers, "fields", &sep).ok_or_else(|| {
            DecodeError::new(format!("{format}: TSV line without a #fields header before it (or use Zeek JSON)"))
        })?;
        let names: Vec<&str> = fields.split(sep.as_ref()).collect();
        let values: Vec<&str> = text.split(sep.as_ref()).collect();
        if values.len() != names.len() {
            return Err(DecodeError::new(format!(
                "{format}: line has {} fields, #fields names {}",
                values.len(),
                names.len()
            )));
        }
        let set_sep = match header(headers, "set_separator", &sep).map(unescape) {
            Some(s) if !s.is_empty() => s,
            _ => Cow::Borrowed(","),
        };
        let unset = header(headers, "unset_field", &sep).filter(|s| !s.is_empty()).unwrap_or("-");
        let empty = header(headers, "empty_field", &sep).filter(|s| !s.is_empty()).unwrap_or("(empty)");
        Ok(ZeekRecord { format, body: Body::Tsv(Tsv { names, values, set_sep, unset, empty }) })
    }

    /// Whether the record was JSON (else TSV).
    pub fn is_json(&self) -> bool {
        matches!(self.body, Body::Json(_))
    }

    /// Whether the log has this column: named by `#fields` (TSV), or present
    /// as a key (JSON, where unset fields are usually left out).
    pub fn has(&self, name: &str) -> bool {
        match &self.body {
            Body::Tsv(t) => t.names.contains(&name),
            Body::Json(obj) => json_value(obj, name).is_some(),
        }
    }

    /// A decode error prefixed with the decoder id.
    pub fn error(&self, msg: impl std::fmt::Display) -> DecodeError {
        DecodeError::new(format!("{}: {msg}", self.format))
    }

    /// The raw TSV text of a field, `None` when unset or not a column.
    fn tsv_raw<'s>(t: &'s Tsv<'a>, name: &str) -> Option<&'s str> {
        let i = t.names.iter().position(|n| *n == name)?;
        t.values.get(i).copied().filter(|v| *v != t.unset)
    }

    /// A field as text: `None` when unset, absent or empty (JSON: also the
    /// string `"null"`, as [`json::str_at`]). JSON numbers and booleans are
    /// rendered as text; JSON arrays and objects are `None`.
    pub fn str(&self, name: &str) -> Option<Cow<'_, str>> {
        match &self.body {
            Body::Tsv(t) => {
                let v = Self::tsv_raw(t, name)?;
                if v == t.empty || v.is_empty() {
                    return None;
                }
                Some(unescape(v))
            }
            Body::Json(obj) => match json_value(obj, name)? {
                Value::String(s) if !s.is_empty() && s != "null" => Some(Cow::Borrowed(s.as_str())),
                Value::Number(n) => Some(Cow::Owned(n.to_string())),
                Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
                _ => None,
            },
        }
    }

    /// A field as text for a row column: like [`ZeekRecord::str`], but
    /// borrowed from the record (TSV) or owned (JSON), not from `self`.
    pub fn text(&self, name: &str) -> Option<Str<'a>> {
        match &self.body {
            Body::Tsv(t) => {
                let v = Self::tsv_value(t, name)?;
                if v == t.empty || v.is_empty() {
                    return None;
                }
                Some(unescape(v))
            }
            Body::Json(_) => self.str(name).map(|s| Cow::Owned(s.into_owned())),
        }
    }

    /// A `set[..]` / `vector[..]` field as its elements (empty when unset,
    /// absent or empty). A JSON string counts as one element.
    pub fn list(&self, name: &str) -> Vec<Str<'a>> {
        match &self.body {
            Body::Tsv(t) => match Self::tsv_value(t, name) {
                None => Vec::new(),
                Some(v) if v == t.empty || v.is_empty() => Vec::new(),
                Some(v) => v.split(t.set_sep.as_ref()).map(unescape).collect(),
            },
            Body::Json(obj) => match json_value(obj, name) {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|v| match v {
                        Value::String(s) => Some(Cow::Owned(s.clone())),
                        Value::Number(n) => Some(Cow::Owned(n.to_string())),
                        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
                        _ => None,
                    })
                    .collect(),
                Some(Value::String(s)) if !s.is_empty() => vec![Cow::Owned(s.clone())],
                _ => Vec::new(),
            },
        }
    }

    /// Every set field not named in `mapped`, into `out` under its Zeek name
    /// (the fields a decoder has no column for). JSON arrays and objects are
    /// kept as compact JSON text.
    pub fn rest_into(&self, mapped: &[&str], out: &mut VendorFields<'a>) {
        match &self.body {
            Body::Tsv(t) => {
                for (name, v) in t.names.iter().zip(&t.values) {
                    if *v == t.unset || *v == t.empty || v.is_empty() || mapped.contains(name) {
                        continue;
                    }
                    out.push(*name, unescape(v));
                }
            }
            Body::Json(obj) => {
                for (k, v) in obj {
                    if k == "_path" || mapped.iter().any(|m| m.eq_ignore_ascii_case(k)) {
                        continue;
                    }
                    let text = match v {
                        Value::Null => continue,
                        Value::Array(a) if a.is_empty() => continue,
                        Value::String(s) => s.clone(),
                        Value::Object(o) => {
                            // Nested `id`-style objects: one entry per leaf (`id.orig_h`).
                            for (sub, sv) in o {
                                let name = format!("{k}.{sub}");
                                if mapped.iter().any(|m| m.eq_ignore_ascii_case(&name)) || sv.is_null() {
                                    continue;
                                }
                                let t = match sv {
                                    Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                };
                                out.push(name, t);
                            }
                            continue;
                        }
                        other => other.to_string(),
                    };
                    out.push(k.clone(), text);
                }
            }
        }
    }

    /// The raw TSV text of a field with the record's lifetime.
    fn tsv_value(t: &Tsv<'a>, name: &str) -> Option<&'a str> {
        let i = t.names.iter().position(|n| *n == name)?;
        t.values.get(i).copied().filter(|v| *v != t.unset)
    }

    /// A `time` field as a UTC timestamp (epoch seconds/milliseconds or ISO 8601).
    pub fn time(&self, name: &str) -> Result<Option<Timestamp>, DecodeError> {
        let parsed = match &self.body {
            Body::Json(obj) => match json_value(obj, name) {
                None | Some(Value::Null) => return Ok(None),
                Some(Value::Number(n)) => n
                    .as_f64()
                    .filter(|f| f.is_finite())
                    .map(from_epoch_number)
                    .filter(|t| DateTime::<Utc>::from_timestamp_micros(t.0).is_some()),
                Some(Value::String(s)) => parse_time(s),
                Some(_) => None,
            },
            Body::Tsv(_) => match self.str(name) {
                None => return Ok(None),
                Some(s) => parse_time(&s),
            },
        };
        match parsed {
            Some(t) => Ok(Some(t)),
            None => Err(self.error(format!("`{name}` `{}` is not a time", shown(&self.text_of(name))))),
        }
    }

    /// The record's `ts`, required.
    pub fn ts(&self) -> Result<Timestamp, DecodeError> {
        self.time("ts")?.ok_or_else(|| self.error("missing `ts`"))
    }

    /// An `addr` field, checked to be an IPv4 or IPv6 address and written
    /// in its canonical form.
    pub fn addr(&self, name: &str) -> Result<Option<Str<'a>>, DecodeError> {
        let Some(v) = self.text(name) else { return Ok(None) };
        match v.trim().parse::<IpAddr>() {
            Ok(ip) => match v {
                Cow::Borrowed(b) if b.len() == b.trim().len() && !b.contains(':') => Ok(Some(Cow::Borrowed(b))),
                _ => Ok(Some(Cow::Owned(ip.to_string()))),
            },
            Err(_) => Err(self.error(format!("`{name}` `{}` is not an IP address", shown(&v)))),
        }
    }

    /// A `port` field (0–65535).
    pub fn port(&self, name: &str) -> Result<Option<i32>, DecodeError> {
        let Some(v) = self.str(name) else { return Ok(None) };
        match v.trim().parse::<u16>() {
            Ok(p) => Ok(Some(i32::from(p))),
            Err(_) => Err(self.error(format!("`{name}` `{}` is not a port", shown(&v)))),
        }
    }

    /// A `count` field (a non-negative integer).
    pub fn count(&self, name: &str) -> Result<Option<i64>, DecodeError> {
        let Some(v) = self.str(name) else { return Ok(None) };
        match v.trim().parse::<u64>().ok().and_then(|n| i64::try_from(n).ok()) {
            Some(n) => Ok(Some(n)),
            None => Err(self.error(format!("`{name}` `{}` is not a count", shown(&v)))),
        }
    }

    /// A `bool` field (`T`/`F` in TSV, `true`/`false` in JSON).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, DecodeError> {
        let Some(v) = self.str(name) else { return Ok(None) };
        match parse_bool(&v) {
            Some(b) => Ok(Some(b)),
            None => Err(self.error(format!("`{name}` `{}` is not a bool", shown(&v)))),
        }
    }

    /// The field's value as text for error messages.
    fn text_of(&self, name: &str) -> String {
        match &self.body {
            Body::Tsv(_) => self.str(name).map(Cow::into_owned).unwrap_or_default(),
            Body::Json(obj) => json_value(obj, name).map(Value::to_string).unwrap_or_default(),
        }
    }
}

/// `name` as a flat key (`id.orig_h`), else as a path of nested keys.
fn json_value<'m>(obj: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    let v = json::get(obj, name).or_else(|| {
        if !name.contains('.') {
            return None;
        }
        let keys: Vec<&str> = name.split('.').collect();
        json::path(obj, &keys)
    })?;
    (!v.is_null()).then_some(v)
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers for the `zeek-*` decoder tests.

    use bytes::Bytes;
    use serde_json::{Map, Number, Value};

    use crate::decode::{DecodeError, DecodeOutcome, Decoder, RecordContext};
    use crate::schema::Row;

    /// Zeek's test baselines mask timestamps; put a real one back
    /// (2026-11-24T09:00:00.250Z).
    pub fn unmask(text: &str) -> String {
        text.replace("XXXXXXXXXX.XXXXXX", "1795510800.250000")
    }

    /// Decode every record of a log file (header lines become context), as a
    /// line source does: one outcome per record, the rows of all of them.
    pub fn run(d: &dyn Decoder, text: &str) -> (Vec<Result<DecodeOutcome, DecodeError>>, Vec<Row<'static>>) {
        let mut headers: Vec<Bytes> = Vec::new();
        let mut results = Vec::new();
        let mut rows = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                if line.starts_with("#separator") {
                    headers.clear();
                }
                headers.push(Bytes::from(line.to_string()));
                continue;
            }
            let mut local = Vec::new();
            let r = d.decode(line.as_bytes(), RecordContext::with_headers(&headers), &mut local);
            check_outcome(&r, local.len());
            rows.extend(local.into_iter().map(Row::into_static));
            results.push(r);
        }
        (results, rows)
    }

    /// Rows for comparing TSV with JSON decoding: every column as is, and the
    /// `vendor_fields` names only (their text differs by encoding: `T` vs
    /// `true`, rounded vs full-precision numbers), sorted.
    pub fn comparable(rows: &[Row<'_>]) -> Vec<(Row<'static>, Vec<String>)> {
        rows.iter()
            .map(|r| {
                let mut r = r.clone().into_static();
                let fields = match &mut r {
                    Row::Network(e) => std::mem::take(&mut e.vendor_fields),
                    Row::Dns(e) => std::mem::take(&mut e.vendor_fields),
                    Row::Auth(e) => std::mem::take(&mut e.vendor_fields),
                    Row::Oauth(e) => std::mem::take(&mut e.vendor_fields),
                    Row::Email(e) => std::mem::take(&mut e.vendor_fields),
                };
                let mut names: Vec<String> = fields.0.into_iter().map(|(k, _)| k.into_owned()).collect();
                names.sort();
                (r, names)
            })
            .collect()
    }

    /// Exactly one outcome: `Parsed(n)` appended n ≥ 1 rows, anything else none.
    pub fn check_outcome(r: &Result<DecodeOutcome, DecodeError>, appended: usize) {
        match r {
            Ok(DecodeOutcome::Parsed(n)) => assert!(*n >= 1 && *n == appended, "{r:?} but {appended} rows"),
            Ok(DecodeOutcome::Skipped(_)) | Err(_) => assert_eq!(appended, 0, "{r:?} but {appended} rows"),
        }
    }

    /// The normalized JSON (`Row::to_json`, pretty-printed) of the first row
    /// `d` makes of `line` after `headers`, with the origin columns the decode
    /// stage would set for line `line_no` of the file `source`. The examples
    /// in `docs/formats/` are this output.
    pub fn example_json(d: &dyn Decoder, headers: &str, line: &str, source: &str, line_no: u64) -> String {
        let h: Vec<Bytes> = headers.lines().map(|l| Bytes::from(l.to_string())).collect();
        let mut rows = Vec::new();
        let r = d.decode(line.as_bytes(), RecordContext::with_headers(&h), &mut rows);
        assert_eq!(r, Ok(DecodeOutcome::Parsed(1)));
        let row = &mut rows[0];
        row.set_origin(
            &crate::origin::event_id(source, None, line_no),
            &crate::origin::origin_string(source, None, line_no),
            d.id(),
        );
        serde_json::to_string_pretty(&row.to_json()).expect("serializable")
    }

    /// Assert that a format doc (`docs/formats/<page>`, its text `doc`)
    /// shows `input` and, as its example output, `output`.
    pub fn assert_doc_shows(page: &str, doc: &str, input: &str, output: &str) {
        assert!(doc.contains(input), "the doc's example input should be:\n{input}");
        let value: serde_json::Value = serde_json::from_str(output).expect("example_json output is JSON");
        crate::decode::doc_example::check(page, &value);
    }

    /// The data lines of a TSV log rewritten as Zeek's JSON writer writes
    /// them (types from `#types`: numbers, `true`/`false`, arrays; unset
    /// fields left out; flat `id.orig_h` keys).
    pub fn tsv_to_json(text: &str) -> Vec<String> {
        let mut fields: Vec<String> = Vec::new();
        let mut types: Vec<String> = Vec::new();
        let mut out = Vec::new();
        for line in text.lines() {
            if let Some(f) = line.strip_prefix("#fields\t") {
                fields = f.split('\t').map(str::to_string).collect();
                continue;
            }
            if let Some(t) = line.strip_prefix("#types\t") {
                types = t.split('\t').map(str::to_string).collect();
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let mut obj = Map::new();
            for ((name, ty), v) in fields.iter().zip(&types).zip(line.split('\t')) {
                if v == "-" {
                    continue;
                }
                let value = if ty.starts_with("set[") || ty.starts_with("vector[") {
                    let items: Vec<&str> = if v == "(empty)" { Vec::new() } else { v.split(',').collect() };
                    Value::Array(items.into_iter().map(|s| Value::String(s.into())).collect())
                } else {
                    match ty.as_str() {
                        "count" | "port" | "int" => Value::Number(v.parse::<i64>().expect("number").into()),
                        "time" | "interval" | "double" => {
                            Value::Number(Number::from_f64(v.parse().expect("number")).expect("finite"))
                        }
                        "bool" => Value::Bool(v == "T"),
                        _ if v == "(empty)" => Value::String(String::new()),
                        _ => Value::String(v.into()),
                    }
                };
                obj.insert(name.clone(), value);
            }
            out.push(Value::Object(obj).to_string());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    const CONN: &str = include_str!("../../../../tests/data/vendor/zeek/opt.basic_conn.log");

    fn headers(text: &str) -> Vec<Bytes> {
        text.lines().filter(|l| l.starts_with('#')).map(|l| Bytes::from(l.to_string())).collect()
    }

    #[test]
    fn tsv_fields_by_name_with_the_header_block() {
        let h = headers(CONN);
        let line = "1795510800.25\tCmES5u32sYpV7JYN\t141.142.220.118\t43927\t141.142.2.2\t53\tudp\tdns\t0.000435\t38\t89\tSF\tF\tF\t0\tDd\t1\t66\t1\t117\t-\t17";
        let r = ZeekRecord::parse("zeek-conn", "conn", line, RecordContext::with_headers(&h)).unwrap();
        assert!(!r.is_json());
        assert_eq!(r.ts().unwrap().to_rfc3339(), "2026-11-24T09:00:00.250Z");
        assert_eq!(r.addr("id.orig_h").unwrap().as_deref(), Some("141.142.220.118"));
        assert_eq!(r.port("id.resp_p").unwrap(), Some(53));
        assert_eq!(r.count("resp_bytes").unwrap(), Some(89));
        assert_eq!(r.bool("local_orig").unwrap(), Some(false));
        assert_eq!(r.str("history").as_deref(), Some("Dd"));
        assert_eq!(r.str("tunnel_parents"), None, "`-` is unset");
        assert!(r.list("tunnel_parents").is_empty());
        assert!(r.has("duration") && !r.has("query"));
        assert_eq!(r.str("query"), None);
    }

    #[test]
    fn tsv_escapes_sets_and_custom_separators() {
        let h: Vec<Bytes> = [
            "#separator \\x7c",
            "#set_separator|;",
            "#empty_field|EMPTY",
            "#unset_field|NONE",
            "#path|http",
            "#fields|ts|uri|tags|username|host",
        ]
        .into_iter()
        .map(Bytes::from)
        .collect();
        let r = ZeekRecord::parse(
            "zeek-http",
            "http",
            "1.5|/a\\x7cb\\x5cx|A;B\\x3bC|NONE|EMPTY",
            RecordContext::with_headers(&h),
        )
        .unwrap();
        assert_eq!(r.str("uri").as_deref(), Some("/a|b\\x"));
        assert_eq!(r.list("tags"), vec!["A", "B;C"]);
        assert_eq!(r.str("username"), None);
        assert_eq!(r.str("host"), None, "empty is None");
        assert_eq!(r.ts().unwrap().to_rfc3339(), "1970-01-01T00:00:01.500Z");
        // An escaped `-` is the string, not the unset marker.
        let h = [Bytes::from_static(b"#fields\tts\tuser")];
        let r = ZeekRecord::parse("zeek-x", "x", "1\t\\x2d", RecordContext::with_headers(&h)).unwrap();
        assert_eq!(r.str("user").as_deref(), Some("-"));
    }

    #[test]
    fn json_flat_nested_and_iso_times() {
        let flat = r#"{"ts":1598377391.921726,"id.orig_h":"192.168.4.49","id.orig_p":56718,"resumed":false,"cert_chain_fuids":["F2","F3"],"server_name":null}"#;
        let r = ZeekRecord::parse("zeek-ssl", "ssl", flat, RecordContext::default()).unwrap();
        assert!(r.is_json());
        assert_eq!(r.ts().unwrap().to_rfc3339(), "2020-08-25T17:43:11.921Z");
        assert_eq!(r.port("id.orig_p").unwrap(), Some(56718));
        assert_eq!(r.bool("resumed").unwrap(), Some(false));
        assert_eq!(r.list("cert_chain_fuids"), vec!["F2", "F3"]);
        assert_eq!(r.str("server_name"), None);
        assert!(!r.has("server_name"), "null is unset");
        let nested = r#"{"ts":"2020-09-16T14:01:26.194646Z","id":{"orig_h":"2001:DB8::1","resp_p":443}}"#;
        let r = ZeekRecord::parse("zeek-ssl", "ssl", nested, RecordContext::default()).unwrap();
        assert_eq!(r.ts().unwrap().to_rfc3339(), "2020-09-16T14:01:26.194Z");
        assert_eq!(r.addr("id.orig_h").unwrap().as_deref(), Some("2001:db8::1"));
        assert_eq!(r.port("id.resp_p").unwrap(), Some(443));
        let millis = r#"{"ts":1598377391921}"#;
        let r = ZeekRecord::parse("zeek-ssl", "ssl", millis, RecordContext::default()).unwrap();
        assert_eq!(r.ts().unwrap().to_rfc3339(), "2020-08-25T17:43:11.921Z");
    }

    #[test]
    fn errors_name_the_field_or_the_paths() {
        let h = [Bytes::from_static(b"#fields\tts\tid.orig_h\tid.orig_p\torig_bytes\tlocal_orig")];
        let ctx = RecordContext::with_headers(&h);
        let r = ZeekRecord::parse("zeek-conn", "conn", "NaN\t10.0.0.300\t70000\t-5\tyes", ctx).unwrap();
        for (e, field) in [
            (r.ts().unwrap_err(), "`ts`"),
            (r.addr("id.orig_h").unwrap_err(), "`id.orig_h`"),
            (r.port("id.orig_p").unwrap_err(), "`id.orig_p`"),
            (r.count("orig_bytes").unwrap_err(), "`orig_bytes`"),
            (r.bool("local_orig").unwrap_err(), "`local_orig`"),
        ] {
            assert!(e.reason.starts_with("zeek-conn: ") && e.reason.contains(field), "{e}");
        }
        let e = ZeekRecord::parse("zeek-conn", "conn", "1\t2", ctx).err().unwrap();
        assert!(e.reason.contains("2 fields, #fields names 5"), "{e}");
        let e = ZeekRecord::parse("zeek-conn", "conn", "1\t2", RecordContext::default()).err().unwrap();
        assert!(e.reason.contains("#fields"), "{e}");
        let dns = [Bytes::from_static(b"#path\tdns"), h[0].clone()];
        let e = ZeekRecord::parse("zeek-conn", "conn", "1\t2", RecordContext::with_headers(&dns)).err().unwrap();
        assert!(e.reason.contains("`dns`") && e.reason.contains("`conn`"), "{e}");
        let red = [Bytes::from_static(b"#path\tconn_red"), h[0].clone()];
        assert!(ZeekRecord::parse("zeek-conn", "conn", "1\t-\t-\t-\t-", RecordContext::with_headers(&red)).is_ok());
        let e = ZeekRecord::parse("zeek-conn", "conn", r#"{"_path":"http","ts":1}"#, ctx).err().unwrap();
        assert!(e.reason.contains("`http`") && e.reason.contains("`conn`"), "{e}");
        let e = ZeekRecord::parse("zeek-conn", "conn", "{\"ts\":", ctx).err().unwrap();
        assert!(e.reason.starts_with("zeek-conn: invalid JSON"), "{e}");
        let r = ZeekRecord::parse("zeek-conn", "conn", r#"{"ts":[1]}"#, ctx).unwrap();
        assert!(r.ts().unwrap_err().reason.contains("`ts` `[1]`"));
        let r = ZeekRecord::parse("zeek-conn", "conn", r#"{"ts":1e300}"#, ctx).unwrap();
        assert!(r.ts().is_err(), "out of range");
        let r = ZeekRecord::parse("zeek-conn", "conn", r#"{"uid":"C1"}"#, ctx).unwrap();
        assert!(r.ts().unwrap_err().reason.contains("missing `ts`"));
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}", bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let h = headers(CONN);
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let mut odd = vec![Bytes::from(text.clone())];
            odd.push(Bytes::from(format!("#separator {s}")));
            odd.push(Bytes::from(format!("#fields{s}ts{s}a")));
            for ctx in [RecordContext::with_headers(&h), RecordContext::with_headers(&odd), RecordContext::default()] {
                for t in [s.as_str(), text.as_str()] {
                    if let Ok(r) = ZeekRecord::parse("zeek-x", "conn", t, ctx) {
                        let _ = (r.ts(), r.addr("id.orig_h"), r.port("id.orig_p"), r.count("orig_bytes"));
                        let _ = (r.bool("local_orig"), r.list("tunnel_parents"), r.str("a"), r.has("b"));
                    }
                }
            }
            let _ = unescape(&s);
            let _ = unescape(&text);
        }
    }
}
