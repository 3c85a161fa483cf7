//! `mode = "correlation"`: event A followed by event B for the same entity
//! within a window (a public-Wi-Fi sign-in, then an OAuth grant or a
//! forwarding change within the hour).
//!
//! A correlation rule has one `first` SQL and one or more `then` SQL
//! queries, each on its own event class, all returning the entity column,
//! `time` and `event_id`. Both sides are kept per entity for `within` of
//! event time (bounded per entity), so the pair is found whichever side
//! arrives first: sources are read in parallel and a sign-in log can lag
//! the mail audit log by minutes.
//!
//! A pair becomes one output row: A's columns as they are, B's prefixed
//! `then_`, and `first_seen` / `last_seen` / `event_ids` / `minutes_between`
//! for the finding.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::schema::time::parse_any;

/// A correlation rule's settings, validated.
#[derive(Debug, Clone)]
pub struct CorrelationSpec {
    /// The column every step returns that names the entity.
    pub entity: String,
    /// B must follow A within this, microseconds.
    pub within: i64,
    /// Events kept per entity and side.
    pub max_per_entity: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    time: i64,
    event_id: String,
    row: Map<String, Value>,
}

/// The state of one correlation rule. Serializable for checkpoints.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct CorrelationState {
    firsts: HashMap<String, VecDeque<Stored>>,
    thens: HashMap<String, VecDeque<Stored>>,
    max_time: Option<i64>,
}

fn time_of(row: &Map<String, Value>) -> Option<i64> {
    match row.get("time")? {
        Value::String(s) => parse_any(s).map(|t| t.0),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn text_of(row: &Map<String, Value>, k: &str) -> Option<String> {
    match row.get(k)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        v => Some(v.to_string()),
    }
}

impl CorrelationState {
    /// Entities held (both sides).
    pub fn entities(&self) -> usize {
        self.firsts.len() + self.thens.len()
    }

    /// Record rows of the `first` step (`is_first`) or a `then` step; the
    /// output rows of every pair they complete.
    pub fn update(
        &mut self,
        spec: &CorrelationSpec,
        rows: Vec<Map<String, Value>>,
        is_first: bool,
    ) -> Vec<Map<String, Value>> {
        let mut out = Vec::new();
        for row in rows {
            let (Some(entity), Some(t)) = (text_of(&row, &spec.entity), time_of(&row)) else { continue };
            self.max_time = Some(self.max_time.map_or(t, |m| m.max(t)));
            let s = Stored { time: t, event_id: text_of(&row, "event_id").unwrap_or_default(), row };
            let (mine, theirs) =
                if is_first { (&mut self.firsts, &self.thens) } else { (&mut self.thens, &self.firsts) };
            if let Some(other) = theirs.get(&entity) {
                for o in other {
                    let (a, b) = if is_first { (&s, o) } else { (o, &s) };
                    if b.time >= a.time && b.time - a.time <= spec.within {
                        out.push(pair(a, b));
                    }
                }
            }
            let q = mine.entry(entity).or_default();
            if q.iter().any(|x| x.event_id == s.event_id && !s.event_id.is_empty()) {
                continue;
            }
            q.push_back(s);
            while q.len() > spec.max_per_entity {
                q.pop_front();
            }
        }
        self.expire(spec);
        out
    }

    fn expire(&mut self, spec: &CorrelationSpec) {
        let Some(now) = self.max_time else { return };
        for side in [&mut self.firsts, &mut self.thens] {
            side.retain(|_, q| {
                q.retain(|s| now - s.time <= spec.within);
                !q.is_empty()
            });
        }
    }
}

fn pair(a: &Stored, b: &Stored) -> Map<String, Value> {
    let mut row = a.row.clone();
    for (k, v) in &b.row {
        row.insert(format!("then_{k}"), v.clone());
    }
    row.insert("first_seen".into(), a.row.get("time").cloned().unwrap_or(Value::Null));
    row.insert("last_seen".into(), b.row.get("time").cloned().unwrap_or(Value::Null));
    row.insert("event_ids".into(), Value::Array(vec![a.event_id.clone().into(), b.event_id.clone().into()]));
    row.insert("minutes_between".into(), Value::from((b.time - a.time) / 60_000_000));
    row.insert("event_count".into(), Value::from(2));
    row
}
