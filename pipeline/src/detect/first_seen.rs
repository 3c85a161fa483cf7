//! `mode = "first_seen"` (Elastic calls it *new terms*): a finding when a
//! key (user + app, org + app, ...) appears that was not seen in the last
//! `lookback`.
//!
//! The rule's SQL runs per micro-batch and returns candidate rows; this
//! module keeps, per key, when it was first and last seen, and passes on
//! the rows whose key is new. State expires `lookback` after a key was last
//! seen, is bounded to `max_keys` (least recently seen dropped first) and is
//! checkpointed with the other rule state, so a restart does not make every
//! key new again.
//!
//! * **Learning**: for `learning` after the state was created, keys are
//!   recorded but raise nothing (a fresh deployment would otherwise find
//!   every app everyone uses).
//! * **Replays**: the row that first saw a key is remembered by its
//!   `event_id`; reading it again passes it on again, with the same
//!   `finding_id`, which dedup suppresses.

use std::collections::HashMap;

use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::columns::{Reader, ValueKind};

/// A first-seen rule's settings, validated.
#[derive(Debug, Clone)]
pub struct FirstSeenSpec {
    /// Key columns of the SQL output.
    pub key: Vec<String>,
    /// Event-time column.
    pub time: String,
    /// A key unseen for this long is new again, microseconds.
    pub lookback: i64,
    /// No findings until the state is this old (event time), microseconds.
    pub learning: i64,
    /// Most keys kept.
    pub max_keys: usize,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Entry {
    first: i64,
    last: i64,
    first_event: u64,
}

/// The state of one first-seen rule. Serializable for checkpoints.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct FirstSeenState {
    entries: HashMap<String, Entry>,
    /// Event time of the first row this state saw (learning starts there).
    created: Option<i64>,
    max_time: Option<i64>,
    expired_at: Option<i64>,
    /// New keys not raised because the rule was still learning.
    pub learned: u64,
    /// Keys dropped because of `max_keys`.
    pub dropped_keys: u64,
}

impl FirstSeenState {
    /// Keys held.
    pub fn keys(&self) -> usize {
        self.entries.len()
    }

    /// Record one batch of SQL output; the indices of rows that are new.
    pub fn update(&mut self, spec: &FirstSeenSpec, batch: &RecordBatch) -> Result<Vec<u32>, String> {
        let keys: Vec<Reader> =
            spec.key.iter().map(|k| Reader::new(batch, k, ValueKind::Text)).collect::<Result<_, _>>()?;
        let time = Reader::new(batch, &spec.time, ValueKind::Time)?;
        let ids =
            batch.column_by_name("event_id").map(|_| Reader::new(batch, "event_id", ValueKind::Text)).transpose()?;
        let mut new_rows = Vec::new();
        let mut key = String::new();
        for row in 0..batch.num_rows() {
            let Some(t) = time.int(row) else { continue };
            let created = *self.created.get_or_insert(t);
            self.max_time = Some(self.max_time.map_or(t, |m| m.max(t)));
            key.clear();
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    key.push('\u{1f}');
                }
                key.push_str(k.text(row).as_deref().unwrap_or("\u{0}"));
            }
            let event = ids.as_ref().and_then(|r| r.str(row)).map_or(0, |id| xxh3_64(id.as_bytes()));
            let is_new = match self.entries.get_mut(&key) {
                None => {
                    self.entries.insert(key.clone(), Entry { first: t, last: t, first_event: event });
                    true
                }
                Some(e) if t - e.last > spec.lookback => {
                    *e = Entry { first: t, last: t, first_event: event };
                    true
                }
                Some(e) if event != 0 && e.first_event == event => true,
                Some(e) => {
                    e.last = e.last.max(t);
                    e.first = e.first.min(t);
                    false
                }
            };
            if is_new {
                // Without a learning period nothing is held back, not even a row
                // older than the first one this state saw (sources are read in
                // parallel, so the first row seen need not be the earliest).
                if spec.learning > 0 && t < created + spec.learning {
                    self.learned += 1;
                } else {
                    new_rows.push(row as u32);
                }
            }
        }
        self.expire(spec);
        Ok(new_rows)
    }

    /// Forget keys not seen for `lookback` and bound the key count (at most
    /// once per hour of event time).
    fn expire(&mut self, spec: &FirstSeenSpec) {
        let Some(now) = self.max_time else { return };
        if self.expired_at.is_some_and(|e| now < e + 3_600_000_000) {
            return;
        }
        self.expired_at = Some(now);
        self.entries.retain(|_, e| now - e.last <= spec.lookback);
        if self.entries.len() > spec.max_keys {
            let mut by_age: Vec<(i64, String)> = self.entries.iter().map(|(k, e)| (e.last, k.clone())).collect();
            by_age.sort();
            let excess = self.entries.len() - spec.max_keys;
            for (_, k) in by_age.into_iter().take(excess) {
                self.entries.remove(&k);
                self.dropped_keys += 1;
            }
        }
    }
}
