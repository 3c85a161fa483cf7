//! Helpers for JSON vendor formats: case-insensitive key access (collectors
//! often lower-case every key: `eventType` arrives as `eventtype`) and typed
//! getters that never panic.

use serde_json::{Map, Value};

use crate::decode::{DecodeError, DecodeOutcome};
use crate::schema::time::parse_any;
use crate::schema::{Row, Str, Timestamp, VendorFields};

/// How many arrays and objects deep JSON may nest: below serde_json's
/// recursion limit (128), which refuses a deeper document as it reads it,
/// before it costs stack or memory.
pub const MAX_DEPTH: usize = 127;

/// Parse a record as JSON, naming the position of a syntax error, or the
/// nesting limit when the record goes deeper than [`MAX_DEPTH`].
fn parse_value(text: &str) -> Result<Value, DecodeError> {
    serde_json::from_str::<Value>(text).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        // serde_json tells this error apart by its message only.
        if e.to_string().starts_with("recursion limit exceeded") {
            DecodeError::new(format!(
                "invalid JSON: nested more than {MAX_DEPTH} levels deep (the limit) at line {line} column {column}"
            ))
        } else {
            DecodeError::new(format!("invalid JSON at line {line} column {column}: {e}"))
        }
    })
}

/// Parse a record as a JSON object.
pub fn parse_object(text: &str) -> Result<Map<String, Value>, DecodeError> {
    match parse_value(text)? {
        Value::Object(m) => Ok(m),
        other => Err(DecodeError::new(format!("expected a JSON object, found {}", kind(&other)))),
    }
}

/// Parse a record as a JSON array (a batch of events, such as an API page).
pub fn parse_array(text: &str) -> Result<Vec<Value>, DecodeError> {
    match parse_value(text)? {
        Value::Array(items) => Ok(items),
        other => Err(DecodeError::new(format!("expected a JSON array of events, found {}", kind(&other)))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Look up `key` in `obj`: exact match first, then ASCII case-insensitive.
pub fn get<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// Follow a path of keys through nested objects, case-insensitively.
pub fn path<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    follow(obj, keys.iter().copied())
}

/// [`path`] over any sequence of keys (a dotted name split at its periods).
fn follow<'a, 'k>(obj: &'a Map<String, Value>, mut keys: impl Iterator<Item = &'k str>) -> Option<&'a Value> {
    let mut cur = get(obj, keys.next()?)?;
    for k in keys {
        cur = get(cur.as_object()?, k)?;
    }
    Some(cur)
}

/// A non-empty string at `keys` (numbers and booleans are rendered as text).
pub fn str_at(obj: &Map<String, Value>, keys: &[&str]) -> Option<Str<'static>> {
    match path(obj, keys)? {
        Value::String(s) if !s.is_empty() && s != "null" => Some(Str::Owned(s.clone())),
        Value::Number(n) => Some(Str::Owned(n.to_string())),
        Value::Bool(b) => Some(Str::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// An integer at `keys` (numbers or numeric strings).
pub fn i64_at(obj: &Map<String, Value>, keys: &[&str]) -> Option<i64> {
    match path(obj, keys)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean at `keys` (`true`/`false`, `"True"`, `"1"`).
pub fn bool_at(obj: &Map<String, Value>, keys: &[&str]) -> Option<bool> {
    match path(obj, keys)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => parse_bool(s),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        _ => None,
    }
}

/// Parse the textual booleans vendors write.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "t" => Some(true),
        "false" | "0" | "no" | "f" => Some(false),
        _ => None,
    }
}

/// Keep a vendor field that has no column: `value` goes into `out` under
/// `key`, the vendor's own (dotted) name. Strings are kept as they are,
/// numbers and booleans as text, arrays as compact JSON; an object becomes
/// one field per member (`key.member`, recursively; below three levels, the
/// rest of it as compact JSON). `null`, `"null"`, empty strings and empty
/// arrays / objects are not kept. Bounded so that one record cannot bloat
/// its row: once `out` holds 40 fields nothing more is added, and a value
/// longer than 1,000 characters is cut there.
pub fn flatten_into<'a>(out: &mut VendorFields<'a>, key: impl Into<Str<'a>>, value: &Value) {
    const MAX_FIELDS: usize = 40;
    const MAX_CHARS: usize = 1000;
    const MAX_DEPTH: usize = 3;

    fn walk<'a>(out: &mut VendorFields<'a>, key: Str<'a>, value: &Value, depth: usize) {
        if out.len() >= MAX_FIELDS {
            return;
        }
        let mut text = match value {
            Value::Null => return,
            Value::String(s) if s.is_empty() || s == "null" => return,
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(a) if a.is_empty() => return,
            Value::Object(m) if m.is_empty() => return,
            Value::Object(m) if depth < MAX_DEPTH => {
                for (k, v) in m {
                    walk(out, Str::Owned(format!("{key}.{k}")), v, depth + 1);
                }
                return;
            }
            other => other.to_string(),
        };
        if let Some((cut, _)) = text.char_indices().nth(MAX_CHARS) {
            text.truncate(cut);
        }
        out.push(key, text);
    }

    walk(out, key.into(), value, 1);
}

/// A JSON record with every key lower-cased, recursively (values untouched),
/// as many collectors write them. For the decoders' tests.
/// Keep the vendor fields at `paths` (dotted, looked up case-insensitively
/// like [`path`]) in `out`, each under its dotted name as written in
/// `paths` (so lower-cased records give the same names); a name `out`
/// already holds is not added again. See [`flatten_into`] for how
/// values are written and bounded.
pub fn keep_paths(obj: &Map<String, Value>, paths: &[&'static str], out: &mut VendorFields<'_>) {
    for &p in paths {
        if out.get(p).is_some() {
            continue;
        }
        if let Some(v) = follow(obj, p.split('.')) {
            flatten_into(out, p, v);
        }
    }
}

/// Decode a batch envelope: when `obj` holds an array under one of `keys`
/// (`records`, `value`, `items`), decode every element with `one`. Returns
/// `None` when `obj` is not a batch. All or nothing: a bad element (not an
/// object, or a decode error) truncates `out` back to where it was and
/// dead-letters the batch with the element's index in the reason. A batch
/// whose elements are all skipped is skipped with the first element's reason
/// (`empty` when it has none).
pub fn decode_batch<F>(
    obj: &Map<String, Value>,
    keys: &[&str],
    empty: &'static str,
    out: &mut Vec<Row>,
    one: F,
) -> Option<Result<DecodeOutcome, DecodeError>>
where
    F: FnMut(&Map<String, Value>, &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError>,
{
    let (key, items) = keys.iter().find_map(|k| match get(obj, k) {
        Some(Value::Array(items)) => Some((*k, items)),
        _ => None,
    })?;
    Some(decode_items(key, items, empty, out, one))
}

/// Decode every element of `items`, each a JSON object, with `one` (see
/// [`decode_batch`]); `key` names the array in error reasons.
pub fn decode_items<F>(
    key: &str,
    items: &[Value],
    empty: &'static str,
    out: &mut Vec<Row>,
    mut one: F,
) -> Result<DecodeOutcome, DecodeError>
where
    F: FnMut(&Map<String, Value>, &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError>,
{
    let start = out.len();
    let mut rows = 0;
    let mut skipped: Option<&'static str> = None;
    for (i, item) in items.iter().enumerate() {
        let outcome = match item.as_object() {
            Some(o) => one(o, out),
            None => Err(DecodeError::new("is not a JSON object")),
        };
        match outcome {
            Ok(DecodeOutcome::Parsed(n)) => rows += n,
            Ok(DecodeOutcome::Skipped(reason)) => {
                skipped.get_or_insert(reason);
            }
            Err(e) => {
                out.truncate(start);
                return Err(DecodeError::new(format!("{key}[{i}]: {}", e.reason)));
            }
        }
    }
    if rows > 0 {
        Ok(DecodeOutcome::Parsed(rows))
    } else {
        Ok(DecodeOutcome::Skipped(skipped.unwrap_or(empty)))
    }
}

/// The time at the first of `keys` (paths) present, or a decode error naming them.
pub fn time_at(
    sources: &[(&Map<String, Value>, &[&str])],
    prefix: &str,
    names: &str,
) -> Result<Timestamp, DecodeError> {
    let (raw, name) = sources
        .iter()
        .find_map(|(obj, path)| str_at(obj, path).map(|v| (v, path.join("."))))
        .ok_or_else(|| DecodeError::new(format!("{prefix}: missing {names}")))?;
    parse_any(&raw).ok_or_else(|| DecodeError::new(format!("{prefix}: `{name}` `{raw}` is not a time")))
}

#[cfg(test)]
pub(crate) fn lowercase_keys(record: &str) -> String {
    fn walk(v: Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), walk(v))).collect()),
            Value::Array(a) => Value::Array(a.into_iter().map(walk).collect()),
            other => other,
        }
    }
    walk(serde_json::from_str(record).expect("a JSON record")).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize, open: &str, close: &str) -> String {
        format!("{}1{}", open.repeat(depth), close.repeat(depth))
    }

    #[test]
    fn nesting_past_the_limit_is_refused_naming_it() {
        let limit = "invalid JSON: nested more than 127 levels deep (the limit) at line 1 column";
        for (open, close) in [("{\"a\":", "}"), ("[", "]")] {
            // The limit counts the arrays and objects around the innermost value.
            assert!(parse_value(&nested(MAX_DEPTH, open, close)).is_ok(), "{open}: {MAX_DEPTH} levels are read");
            for depth in [MAX_DEPTH + 1, 10_000] {
                let reason = parse_value(&nested(depth, open, close)).unwrap_err().reason;
                assert!(reason.starts_with(limit), "{open} x {depth}: {reason}");
            }
        }
        let deep_object = format!("{{\"eventType\":\"x\",\"v\":{}}}", nested(10_000, "[", "]"));
        assert!(parse_object(&deep_object).unwrap_err().reason.starts_with(limit));
        assert!(parse_array(&nested(10_000, "[", "]")).unwrap_err().reason.starts_with(limit));
        // Other syntax errors keep naming their position.
        assert_eq!(
            parse_value("{\"a\": ").unwrap_err().reason,
            "invalid JSON at line 1 column 6: EOF while parsing a value at line 1 column 6"
        );
    }
}
