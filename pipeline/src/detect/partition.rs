//! Rule output split by key, and carried between processes.
//!
//! To run on several machines (scale-out, [`crate::scale`]), each rule's
//! state must live in exactly one place per key: one person's uploads
//! (SS-02), one app's adoption (SS-10). Every piece of a rule's state is
//! keyed by some of its output columns:
//!
//! | mode | state keyed by |
//! |---|---|
//! | streaming | `[dedup] key` (the finding store) |
//! | windowed | `[window] key` (the panes) and `[dedup] key` |
//! | first-seen | `[first_seen] key` and `[dedup] key` |
//! | correlation | `[correlation] entity` and `[dedup] key` |
//!
//! A rule's *partition key* is the columns every one of them shares
//! ([`CompiledRule::partition_key`]): SS-02's is `user, app_id`, SS-10's
//! `app_id`. Two rows with the same values there always meet the same
//! state, so rows can be sent to a part chosen by a stable hash of the rule
//! id and those values ([`Matched::split`]): every key lives in exactly one
//! part. A rule whose keys share no column (none in this pack) goes to one
//! part whole: correct, just not spread.
//!
//! [`WireMatched`] is the form rule output travels in: rows as JSON, rule
//! output batches in the Arrow IPC format, with the rule's fingerprint so a
//! process running another version of the rule refuses them instead of
//! folding them into the wrong state.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, UInt32Array};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use xxhash_rust::xxh3::Xxh3;

use super::{CompiledRule, DetectionEngine, Kind, MatchOutput, Matched};

/// Correlation rule output: (step, row).
type Steps = Vec<(u8, Map<String, Value>)>;

impl CompiledRule {
    /// The output columns that every piece of the rule's state is keyed by:
    /// the `[dedup] key` columns that the mode's own key also has (all of
    /// them for a streaming rule). Empty: the rule's state cannot be split.
    pub fn partition_key(&self) -> Vec<String> {
        let dedup = &self.def.file.dedup.key;
        let mode: Option<Vec<String>> = match &self.kind {
            Kind::Streaming { .. } => None,
            Kind::Windowed { windowing, .. } => Some(windowing.spec().key.clone()),
            Kind::FirstSeen { spec, .. } => Some(spec.key.clone()),
            Kind::Correlation { spec, .. } => Some(vec![spec.entity.clone()]),
        };
        match mode {
            None => dedup.clone(),
            Some(mode) => dedup.iter().filter(|c| mode.contains(c)).cloned().collect(),
        }
    }
}

/// The part (of `parts`) that a row with these key values belongs to.
fn part_of(rule: &str, values: impl IntoIterator<Item = Option<String>>, parts: u32) -> u32 {
    let mut h = Xxh3::new();
    h.update(rule.as_bytes());
    for v in values {
        h.update(&[0x1f]);
        match v {
            Some(v) => {
                h.update(&[1]);
                h.update(v.as_bytes());
            }
            None => h.update(&[0]),
        }
    }
    (h.digest() % u64::from(parts.max(1))) as u32
}

/// A JSON row's part: its key values as JSON text (strings without quotes).
fn row_part(rule: &str, key: &[String], row: &Map<String, Value>, parts: u32) -> u32 {
    let values = key.iter().map(|c| match row.get(c) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => Some(v.to_string()),
    });
    part_of(rule, values, parts)
}

/// Each row's part in a rule output batch.
fn batch_parts(rule: &str, key: &[String], batch: &RecordBatch, parts: u32) -> Result<Vec<u32>, String> {
    let options = FormatOptions::default();
    let mut columns = Vec::with_capacity(key.len());
    for c in key {
        let col = batch
            .column_by_name(c)
            .ok_or_else(|| format!("the rule output has no column `{c}` of its partition key"))?;
        columns.push(col.clone());
    }
    let formatters = columns
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((0..batch.num_rows())
        .map(|row| {
            let values =
                columns
                    .iter()
                    .zip(&formatters)
                    .map(|(c, f)| if c.is_null(row) { None } else { Some(f.value(row).to_string()) });
            part_of(rule, values, parts)
        })
        .collect())
}

impl Matched {
    /// Split the rows by their rule's partition key into `parts` parts:
    /// (part, rows of that part), parts without rows left out.
    pub fn split(self, parts: u32) -> Result<Vec<(u32, Matched)>, String> {
        let key = self.rule.partition_key();
        let id = self.rule.def.id().to_string();
        let rule = self.rule;
        let with = |output: MatchOutput| Matched { rule: rule.clone(), output };
        Ok(match self.output {
            MatchOutput::Rows(rows) => {
                let mut by: BTreeMap<u32, Vec<Map<String, Value>>> = BTreeMap::new();
                for row in rows {
                    by.entry(row_part(&id, &key, &row, parts)).or_default().push(row);
                }
                by.into_iter().map(|(p, rows)| (p, with(MatchOutput::Rows(rows)))).collect()
            }
            MatchOutput::Candidates(batches) => {
                // Parts from the key columns as JSON, as `Rows` are split,
                // so a row goes to the same part whichever form it came in.
                let names: Vec<&str> = key.iter().map(String::as_str).collect();
                let mut by: BTreeMap<u32, Vec<RecordBatch>> = BTreeMap::new();
                for b in batches {
                    let keys = super::output_json::columns_as_json(&b, &names)?;
                    let mut rows: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
                    for (i, row) in keys.iter().enumerate() {
                        rows.entry(row_part(&id, &key, row, parts)).or_default().push(i as u32);
                    }
                    split_rows(&b, rows, &mut by)?;
                }
                by.into_iter().map(|(p, b)| (p, with(MatchOutput::Candidates(b)))).collect()
            }
            MatchOutput::Steps(steps) => {
                let mut by: BTreeMap<u32, Steps> = BTreeMap::new();
                for (step, row) in steps {
                    by.entry(row_part(&id, &key, &row, parts)).or_default().push((step, row));
                }
                by.into_iter().map(|(p, steps)| (p, with(MatchOutput::Steps(steps)))).collect()
            }
            MatchOutput::Batches(batches) => {
                let mut by: BTreeMap<u32, Vec<RecordBatch>> = BTreeMap::new();
                for b in batches {
                    let of = batch_parts(&id, &key, &b, parts)?;
                    let mut rows: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
                    for (row, p) in of.into_iter().enumerate() {
                        rows.entry(p).or_default().push(row as u32);
                    }
                    split_rows(&b, rows, &mut by)?;
                }
                by.into_iter().map(|(p, b)| (p, with(MatchOutput::Batches(b)))).collect()
            }
        })
    }

    /// The rows in the form they travel in.
    pub fn to_wire(&self) -> WireMatched {
        WireMatched {
            rule: self.rule.def.id().to_string(),
            fingerprint: self.rule.fingerprint.clone(),
            output: match &self.output {
                MatchOutput::Rows(r) => WireOutput::Rows(r.clone()),
                // Candidates travel as JSON rows, the wire form peers of
                // every version read.
                MatchOutput::Candidates(b) => WireOutput::Rows(super::json_rows(self.rule.def.id(), b)),
                MatchOutput::Steps(s) => WireOutput::Steps(s.clone()),
                MatchOutput::Batches(b) => WireOutput::Batches(b.iter().cloned().map(IpcBatch).collect()),
            },
        }
    }
}

/// File the rows of `batch` under the part each is listed for: the batch
/// itself when all go to one part, else a copy of each part's rows.
fn split_rows(
    batch: &RecordBatch,
    rows: BTreeMap<u32, Vec<u32>>,
    by: &mut BTreeMap<u32, Vec<RecordBatch>>,
) -> Result<(), String> {
    if rows.len() == 1 {
        if let Some(p) = rows.keys().next() {
            by.entry(*p).or_default().push(batch.clone());
        }
        return Ok(());
    }
    for (p, idx) in rows {
        let part = arrow::compute::take_record_batch(batch, &UInt32Array::from(idx))
            .map_err(|e| format!("could not split rule output: {e}"))?;
        by.entry(p).or_default().push(part);
    }
    Ok(())
}

/// A rule's output for one part of one batch, as it travels between
/// processes (JSON; record batches as Arrow IPC, base64).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireMatched {
    /// The rule id.
    pub rule: String,
    /// The rule's fingerprint where the rows were matched.
    pub fingerprint: String,
    /// The rows.
    pub output: WireOutput,
}

/// The rows of a [`WireMatched`], by the rule's mode.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireOutput {
    /// Streaming rules: finding candidates.
    Rows(Vec<Map<String, Value>>),
    /// Windowed and first-seen rules: the SQL's rows.
    Batches(Vec<IpcBatch>),
    /// Correlation rules: (step, row).
    Steps(Steps),
}

/// A record batch that serializes as Arrow IPC stream bytes in base64.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IpcBatch(#[serde(with = "super::pending::ipc")] pub RecordBatch);

impl WireMatched {
    /// Take the first half of the rows out (a batch of one record batch
    /// is sliced), leaving the rest.
    pub fn take_half(&mut self) -> WireMatched {
        let output = match &mut self.output {
            WireOutput::Rows(r) => {
                let tail = r.split_off(r.len() / 2);
                WireOutput::Rows(std::mem::replace(r, tail))
            }
            WireOutput::Steps(s) => {
                let tail = s.split_off(s.len() / 2);
                WireOutput::Steps(std::mem::replace(s, tail))
            }
            WireOutput::Batches(b) if b.len() >= 2 => {
                let tail = b.split_off(b.len() / 2);
                WireOutput::Batches(std::mem::replace(b, tail))
            }
            WireOutput::Batches(b) => {
                let mut head = Vec::new();
                if let Some(one) = b.first_mut() {
                    let n = one.0.num_rows();
                    head.push(IpcBatch(one.0.slice(0, n / 2)));
                    one.0 = one.0.slice(n / 2, n - n / 2);
                }
                WireOutput::Batches(head)
            }
        };
        WireMatched { rule: self.rule.clone(), fingerprint: self.fingerprint.clone(), output }
    }

    /// Rows carried.
    pub fn rows(&self) -> usize {
        match &self.output {
            WireOutput::Rows(r) => r.len(),
            WireOutput::Steps(s) => s.len(),
            WireOutput::Batches(b) => b.iter().map(|b| b.0.num_rows()).sum(),
        }
    }
}

impl DetectionEngine {
    /// The rows of `wire` as output of this engine's version of the rule,
    /// to [`DetectionEngine::ingest`]. An error names a rule this engine
    /// does not run, or runs in another version.
    pub fn from_wire(&self, wire: WireMatched) -> Result<Matched, String> {
        let rule: Arc<CompiledRule> = self
            .rule(&wire.rule)
            .ok_or_else(|| format!("rule {} is not loaded here: the replicas run different rule sets", wire.rule))?;
        if rule.fingerprint != wire.fingerprint {
            return Err(format!(
                "rule {} differs from the version that matched these rows: the replicas run different rule versions",
                wire.rule
            ));
        }
        let output = match wire.output {
            WireOutput::Rows(r) => MatchOutput::Rows(r),
            WireOutput::Steps(s) => MatchOutput::Steps(s),
            WireOutput::Batches(b) => MatchOutput::Batches(b.into_iter().map(|b| b.0).collect()),
        };
        Ok(Matched { rule, output })
    }

    /// The same rules, planned once and shared, with fresh state of their
    /// own: one part's engine in scale-out. It keeps as many findings per
    /// rule, evaluates at the same interval and writes updates as often; its snapshots are kept by
    /// the caller (the changelog), and it does not attribute (parts receive
    /// rule output only).
    pub fn fresh_part(&self) -> DetectionEngine {
        let shared = Arc::new(super::Shared {
            checkpoints: super::checkpoint::Checkpoints::external(),
            dedup_capacity: self.shared.dedup_capacity,
            interval: self.shared.interval,
            update_every: self.shared.update_every,
            attribution: crate::attribute::Attribution::new(crate::attribute::AttributionSettings {
                enabled: false,
                ..Default::default()
            }),
        });
        let set = self.set.load_full();
        let rules = set
            .rules
            .iter()
            .map(|r| {
                let state = r.fresh_state(shared.dedup_capacity);
                Arc::new(CompiledRule {
                    def: r.def.clone(),
                    fingerprint: r.fingerprint.clone(),
                    kind: r.kind.clone(),
                    state: Arc::new(std::sync::Mutex::new(state)),
                })
            })
            .collect();
        let set = super::RuleSet::new(rules, set.base_task.clone());
        DetectionEngine { set: arc_swap::ArcSwap::from_pointee(set), shared }
    }
}
