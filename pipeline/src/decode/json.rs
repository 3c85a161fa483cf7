//! Helpers for JSON vendor formats: case-insensitive key access (collectors
//! often lower-case every key: `eventType` arrives as `eventtype`) and typed
//! getters that never panic.

use serde_json::{Map, Value};

use super::DecodeError;

/// Parse a record as a JSON object.
pub fn parse_object(text: &str) -> Result<Map<String, Value>, DecodeError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(DecodeError::new(format!("expected a JSON object, found {}", kind(&other)))),
        Err(e) => Err(DecodeError::new(format!("invalid JSON at line {} column {}: {e}", e.line(), e.column()))),
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
    let (first, rest) = keys.split_first()?;
    let mut cur = get(obj, first)?;
    for k in rest {
        cur = get(cur.as_object()?, k)?;
    }
    Some(cur)
}

/// A non-empty string at `keys` (numbers and booleans are rendered as text).
pub fn str_at(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    match path(obj, keys)? {
        Value::String(s) if !s.is_empty() && s != "null" => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
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
