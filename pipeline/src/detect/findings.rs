//! From rule output rows to [`Finding`]s.
//!
//! A rule's SQL may return any columns. Columns with a known meaning fill the
//! finding's own fields (the entity, the app, counts and times, sample event
//! ids); every other column goes into `evidence` as JSON, so nothing a rule
//! computes is lost. The message template is filled from the same row, and
//! when the app has a sanctioned alternative the message says so.
//!
//! | rule output column               | finding field         |
//! |----------------------------------|-----------------------|
//! | `user`, `src_ip`, `device`       | same                  |
//! | `app_id`, `app_name`, `app_category`, `app_status`, `app_alternative` | same |
//! | `event_count` (else 1)           | `event_count`         |
//! | `bytes`, else `bytes_out`        | `bytes`               |
//! | `first_seen` (else `time`)       | `first_seen`, `time`  |
//! | `last_seen` (else `time`)        | `last_seen`           |
//! | `event_ids` (list) or `event_id` | `sample_event_ids` (≤ 5) |
//! | `severity` (`info` … `critical`) | `severity`, instead of the rule's (escalation) |
//! | anything else                    | `evidence` (JSON object) |
//!
//! `finding_id` = stable hash of (rule id, the values of the rule's
//! `dedup.key` columns, the dedup window the first event falls in), so a
//! replay of the same logs produces the same ids.

use std::time::Duration;

use arrow::record_batch::RecordBatch;
use serde_json::{Map, Value};

use super::rule::RuleDef;
use crate::origin::stable_id;
use crate::schema::time::parse_any;
use crate::schema::{Finding, Timestamp};

/// Columns that map to finding fields and therefore stay out of `evidence`.
const KNOWN: &[&str] = &[
    "user",
    "src_ip",
    "device",
    "app_id",
    "app_name",
    "app_category",
    "app_status",
    "app_alternative",
    "event_count",
    "bytes",
    "first_seen",
    "last_seen",
    "time",
    "event_ids",
    "event_id",
    "severity",
];

/// Severities from lowest to highest.
pub const SEVERITIES: &[&str] = &["info", "low", "medium", "high", "critical"];

/// The rank of a severity name (unknown names rank lowest).
pub fn severity_rank(s: &str) -> usize {
    SEVERITIES.iter().position(|x| *x == s).unwrap_or(0)
}

/// How many event ids a finding keeps as samples.
pub const MAX_SAMPLE_EVENT_IDS: usize = 5;

/// Turn one output batch of `rule` into findings, detected at `now`.
pub fn findings_from_batch(rule: &RuleDef, batch: &RecordBatch, now: Timestamp) -> Result<Vec<Finding>, String> {
    if batch.num_rows() == 0 {
        return Ok(Vec::new());
    }
    let rows = super::output_json::rows_as_json(batch)?;
    rows.iter().map(|row| finding_from_row(rule, row, now)).collect()
}

fn text(row: &Map<String, Value>, key: &str) -> Option<String> {
    match row.get(key)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn int(row: &Map<String, Value>, key: &str) -> Option<i64> {
    match row.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn time(row: &Map<String, Value>, key: &str) -> Option<Timestamp> {
    match row.get(key)? {
        Value::String(s) => parse_any(s),
        Value::Number(n) => n.as_i64().map(|v| Timestamp(v * 1_000_000)),
        _ => None,
    }
}

fn event_ids(row: &Map<String, Value>) -> Vec<String> {
    let mut ids: Vec<String> = match row.get("event_ids") {
        Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => text(row, "event_id").into_iter().collect(),
    };
    ids.sort();
    ids.dedup();
    ids.truncate(MAX_SAMPLE_EVENT_IDS);
    ids
}

/// Fill `{column}` placeholders from the row; missing values render as `?`.
pub fn render_message(template: &str, row: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) if after[..end].chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && end > 0 => {
                let key = &after[..end];
                let value = match row.get(key) {
                    Some(Value::Array(a)) => a
                        .iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                        .collect::<Vec<_>>()
                        .join(", "),
                    _ => text(row, key).unwrap_or_else(|| "?".to_string()),
                };
                out.push_str(&value);
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Start of the dedup window `t` falls in.
pub fn window_start(t: Timestamp, period: Duration) -> i64 {
    let p = i64::try_from(period.as_micros()).unwrap_or(i64::MAX).max(1);
    t.0.div_euclid(p) * p
}

/// Where a rule output row belongs: its finding, its event time and the
/// end of its dedup window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingKey {
    /// The finding the row is a match of.
    pub finding_id: String,
    /// Its first event time (`first_seen`, else `time`).
    pub first_seen: Timestamp,
    /// Its last event time (`last_seen`, else `time`).
    pub last_seen: Timestamp,
    /// The end of its dedup window, microseconds.
    pub expires: i64,
}

/// The event time a rule output row is ordered by: `first_seen`, else `time`.
pub fn row_time(row: &Map<String, Value>) -> Option<Timestamp> {
    time(row, "first_seen").or_else(|| time(row, "time"))
}

/// [`row_time`] of every row of a rule output batch: only its `first_seen`
/// and `time` columns are read, as the JSON values the whole row would
/// have, so a row waits in the same interval either way.
pub fn row_times(batch: &RecordBatch) -> Result<Vec<Option<Timestamp>>, String> {
    let rows = super::output_json::columns_as_json(batch, &["first_seen", "time"])?;
    Ok(rows.iter().map(row_time).collect())
}

/// The finding a row of `rule` belongs to; an error when it has no event time.
pub fn finding_key(rule: &RuleDef, row: &Map<String, Value>) -> Result<FindingKey, String> {
    let first_seen =
        row_time(row).ok_or_else(|| "the rule's output has no `time` (or `first_seen`) value".to_string())?;
    let last_seen = time(row, "last_seen").or_else(|| time(row, "time")).unwrap_or(first_seen).max(first_seen);
    let start = window_start(first_seen, rule.period);
    let period = i64::try_from(rule.period.as_micros()).unwrap_or(i64::MAX);
    Ok(FindingKey {
        finding_id: finding_id(rule, row, first_seen),
        first_seen,
        last_seen,
        expires: start.saturating_add(period),
    })
}

/// `finding_id`: a stable hash of the rule id, the row's dedup key values
/// and the dedup window `first_seen` falls in.
fn finding_id(rule: &RuleDef, row: &Map<String, Value>, first_seen: Timestamp) -> String {
    let mut key_parts: Vec<String> = vec![rule.id().to_string()];
    for k in &rule.file.dedup.key {
        key_parts.push(text(row, k).unwrap_or_default());
    }
    key_parts.push(window_start(first_seen, rule.period).to_string());
    let parts: Vec<&str> = key_parts.iter().map(String::as_str).collect();
    stable_id(&parts)
}

/// Every event id of a row: its `event_ids` list, else its `event_id`.
pub fn all_event_ids(row: &Map<String, Value>) -> Vec<String> {
    match row.get("event_ids") {
        Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => text(row, "event_id").into_iter().collect(),
    }
}

/// A row's severity: its `severity` column when valid, else the rule's.
pub fn row_severity(rule: &RuleDef, row: &Map<String, Value>) -> String {
    text(row, "severity")
        .filter(|s| SEVERITIES.contains(&s.as_str()))
        .unwrap_or_else(|| rule.file.severity.as_str().to_string())
}

pub(crate) fn finding_from_row(rule: &RuleDef, row: &Map<String, Value>, now: Timestamp) -> Result<Finding, String> {
    let first_seen = time(row, "first_seen").or_else(|| time(row, "time"));
    let last_seen = time(row, "last_seen").or_else(|| time(row, "time")).or(first_seen);
    let t = first_seen.unwrap_or(now);
    let finding_id = finding_id(rule, row, t);

    let evidence: Map<String, Value> =
        row.iter().filter(|(k, _)| !KNOWN.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();

    let mut message = render_message(&rule.file.message, row);
    let alternative = text(row, "app_alternative");
    if let Some(alt) = &alternative {
        if !rule.file.message.contains("{app_alternative}") {
            message.push_str(&format!(" The sanctioned alternative is {alt}."));
        }
    }

    Ok(Finding {
        finding_id,
        time: t,
        detected_at: now,
        rule_id: rule.id().to_string(),
        rule_title: rule.file.title.clone(),
        family: rule.file.family.as_str().to_string(),
        severity: row_severity(rule, row),
        attack: rule.file.attack.clone(),
        class: rule.class.as_str().to_string(),
        user: text(row, "user"),
        src_ip: text(row, "src_ip"),
        device: text(row, "device"),
        app_id: text(row, "app_id"),
        app_name: text(row, "app_name"),
        app_category: text(row, "app_category"),
        app_status: text(row, "app_status"),
        app_alternative: alternative,
        event_count: Some(int(row, "event_count").unwrap_or(1)),
        bytes: int(row, "bytes").or_else(|| int(row, "bytes_out")),
        first_seen,
        last_seen,
        sample_event_ids: event_ids(row),
        evidence: (!evidence.is_empty()).then(|| Value::Object(evidence).to_string()),
        message,
        revision: None,
        suppressed_count: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn message_fills_placeholders_and_marks_missing() {
        let r = row(json!({"user": "ana", "app_name": "WeTransfer", "bytes": 1024, "hosts": ["a", "b"]}));
        assert_eq!(
            render_message("{user} sent {bytes} B to {app_name} via {hosts}; {nope}", &r),
            "ana sent 1024 B to WeTransfer via a, b; ?"
        );
        assert_eq!(render_message("literal {braces} and { spaced }", &r), "literal ? and { spaced }");
    }

    #[test]
    fn window_start_floors_to_the_period() {
        let h = Duration::from_secs(3600);
        assert_eq!(window_start(Timestamp(3_600_000_000 + 5), h), 3_600_000_000);
        assert_eq!(window_start(Timestamp(-1), h), -3_600_000_000);
    }
}
