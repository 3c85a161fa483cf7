//! `mode = "windowed"`: event-time windows, for thresholds over many events
//! (bytes uploaded per user and app per hour, distinct users per forwarding
//! destination per 7 days).
//!
//! The rule's SQL runs per micro-batch as a filter / projection and returns
//! one row per contributing event. This module folds those rows into
//! per-key *panes* (slide-sized slices of event time), so a window of any
//! size that is a multiple of the slide is the merge of its panes: tumbling
//! windows have one pane, a 7-day window sliding by a day has seven.
//!
//! Rows arrive here in event-time order, one evaluation interval at a time,
//! once the watermark has passed the interval (see [`crate::event_time`]):
//! [`WindowState::fold`] adds an interval's rows, then
//! [`WindowState::evaluate`] turns every window they touched into one row of
//! the rule's `window` table, whose `window.where` condition (SQL, planned
//! once) picks the rows that become findings. A window that stays over its
//! threshold is found again at later intervals with the same `finding_id`:
//! the finding is updated with the window's current totals.
//!
//! * **Order**: every aggregate gives the same value whatever order its rows
//!   came in: `sample()` keeps the earliest values by event time and
//!   `distinct()` the smallest, when there are more than they keep.
//! * **Replays**: a pane remembers the `event_id`s that went into it, so the
//!   same event read twice (Kafka replay after a crash, a file read again)
//!   counts once.
//! * **Eviction**: a pane is dropped once no open window contains it (its
//!   window ends before what has been released).
//! * **Baseline**: `window.baseline` keeps, per key, the closed windows'
//!   values of one aggregate for `days`, and exposes their `quantile`
//!   (windows without activity count as 0) as the `baseline` column, so a
//!   threshold can be "3× this person's usual".
//! * **Bounds**: at most `max_keys` keys per rule; beyond that the least
//!   recently active are dropped (counted). Sizes are metrics.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Builder, Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::columns::{Reader, ValueKind};

/// How many values `distinct()` keeps per window.
pub const MAX_DISTINCT: usize = 1000;
/// How many values `sample()` keeps per window.
pub const MAX_SAMPLE: usize = 10;
/// How many event ids a pane remembers for replay protection.
pub const MAX_SEEN_PER_PANE: usize = 100_000;

/// An aggregate function of `[window.aggregates]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    /// `count()`: rows.
    Count,
    /// `sum(x)`.
    Sum,
    /// `min(x)`.
    Min,
    /// `max(x)`.
    Max,
    /// `distinct(x)`: the distinct values (the 1,000 smallest), a list.
    Distinct,
    /// `sample(x)`: the values of the earliest rows by event time (up to 10), a list.
    Sample,
    /// `first(x)`: the smallest value the key ever had (kept beyond the
    /// windows for `remember`): e.g. `first(time)`, when the key first appeared.
    First,
}

impl AggFunc {
    fn parse(name: &str) -> Option<AggFunc> {
        Some(match name {
            "count" => AggFunc::Count,
            "sum" => AggFunc::Sum,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            "distinct" => AggFunc::Distinct,
            "sample" => AggFunc::Sample,
            "first" => AggFunc::First,
            _ => return None,
        })
    }
}

/// One aggregate: `name = "func(input)"`.
#[derive(Debug, Clone)]
pub struct AggSpec {
    /// Output column name in the `window` table.
    pub name: String,
    /// The function.
    pub func: AggFunc,
    /// Input column of the rule's SQL output (`None` for `count()`).
    pub input: Option<String>,
}

impl AggSpec {
    /// Parse `func(input)`; errors say what is accepted.
    pub fn parse(name: &str, expr: &str) -> Result<AggSpec, String> {
        let e = expr.trim();
        let bad = || {
            format!(
                "aggregate `{name} = \"{expr}\"` must be one of count(), sum(col), min(col), max(col), distinct(col), sample(col), first(col)"
            )
        };
        let (f, rest) = e.split_once('(').ok_or_else(bad)?;
        let input = rest.strip_suffix(')').ok_or_else(bad)?.trim();
        let func = AggFunc::parse(f.trim()).ok_or_else(bad)?;
        let input = match (func, input.is_empty()) {
            (AggFunc::Count, true) => None,
            (AggFunc::Count, false) => Some(input.to_string()),
            (_, true) => return Err(bad()),
            (_, false) => Some(input.to_string()),
        };
        if let Some(i) = &input {
            if !i.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("aggregate `{name}`: `{i}` must be an output column name of the rule's sql"));
            }
        }
        Ok(AggSpec { name: name.to_string(), func, input })
    }
}

/// `window.baseline`: a per-key quantile of past windows.
#[derive(Debug, Clone)]
pub struct BaselineSpec {
    /// The aggregate whose past values form the baseline.
    pub of: String,
    /// How much history, in microseconds.
    pub history: i64,
    /// The quantile (0–1), e.g. 0.95.
    pub quantile: f64,
}

/// A windowed rule's settings, validated.
#[derive(Debug, Clone)]
pub struct WindowSpec {
    /// Window length, microseconds.
    pub size: i64,
    /// Slide (= pane length), microseconds; `size` for tumbling windows.
    pub slide: i64,
    /// Key columns.
    pub key: Vec<String>,
    /// Event-time column of the SQL output.
    pub time: String,
    /// Aggregates, the implicit ones included.
    pub aggregates: Vec<AggSpec>,
    /// Optional baseline.
    pub baseline: Option<BaselineSpec>,
    /// Most keys kept.
    pub max_keys: usize,
    /// No findings for windows starting within this of the state's first event, microseconds.
    pub learning: i64,
    /// Keys are remembered this long after their last event, microseconds.
    pub remember: i64,
}

/// A window aggregate as resolved against the SQL output schema.
#[derive(Debug, Clone)]
struct Resolved {
    spec: AggSpec,
    kind: ValueKind,
}

/// A compiled windowed rule's evaluator: spec, resolved types and the
/// `window` table schema.
#[derive(Debug, Clone)]
pub struct Windowing {
    spec: WindowSpec,
    aggs: Vec<Resolved>,
    has_event_id: bool,
    schema: SchemaRef,
}

impl Windowing {
    /// Resolve `spec` against the rule SQL's output schema. Adds the implicit
    /// aggregates a finding uses (`event_count`, `first_seen`, `last_seen`,
    /// `event_ids`) unless the rule names them.
    pub fn new(mut spec: WindowSpec, sql_output: &Schema) -> Result<Windowing, String> {
        let has = |n: &str| sql_output.field_with_name(n).is_ok();
        for k in spec.key.iter().chain(std::iter::once(&spec.time)) {
            if !has(k) {
                return Err(format!("window column `{k}` is not returned by the sql"));
            }
        }
        let implicit: [(&str, &str); 4] = [
            ("event_count", "count()"),
            ("first_seen", "min(time)"),
            ("last_seen", "max(time)"),
            ("event_ids", "sample(event_id)"),
        ];
        for (name, expr) in implicit {
            if spec.aggregates.iter().any(|a| a.name == name) {
                continue;
            }
            let expr = expr.replace("(time)", &format!("({})", spec.time));
            if name == "event_ids" && !has("event_id") {
                continue;
            }
            spec.aggregates.push(AggSpec::parse(name, &expr)?);
        }
        let mut aggs = Vec::new();
        for a in &spec.aggregates {
            let kind = match &a.input {
                None => ValueKind::Int,
                Some(i) => {
                    let f = sql_output
                        .field_with_name(i)
                        .map_err(|_| format!("aggregate `{}` reads `{i}`, which the sql does not return", a.name))?;
                    ValueKind::of(f.data_type())
                }
            };
            if a.func == AggFunc::First && !matches!(kind, ValueKind::Int | ValueKind::Time | ValueKind::Float) {
                return Err(format!("aggregate `{}`: first() needs a numeric or time column", a.name));
            }
            if a.func == AggFunc::Sum && matches!(kind, ValueKind::Text | ValueKind::Time) {
                return Err(format!("aggregate `{}`: sum() needs a numeric column", a.name));
            }
            if spec.key.contains(&a.name) || a.name == "window_start" || a.name == "window_end" || a.name == "baseline"
            {
                return Err(format!("aggregate name `{}` clashes with a key or built-in column", a.name));
            }
            aggs.push(Resolved { spec: a.clone(), kind });
        }
        if let Some(b) = &spec.baseline {
            if !aggs.iter().any(|a| a.spec.name == b.of && matches!(a.kind, ValueKind::Int | ValueKind::Float)) {
                return Err(format!("baseline.of = `{}` must name a numeric aggregate", b.of));
            }
        }
        let mut fields: Vec<Field> = spec.key.iter().map(|k| Field::new(k, DataType::Utf8, true)).collect();
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        fields.push(Field::new("window_start", ts.clone(), false));
        fields.push(Field::new("window_end", ts, false));
        for a in &aggs {
            let t = match (a.spec.func, a.kind) {
                (AggFunc::Count, _) => DataType::Int64,
                (AggFunc::Distinct | AggFunc::Sample, _) => {
                    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
                }
                (_, k) => k.data_type(),
            };
            fields.push(Field::new(&a.spec.name, t, true));
        }
        if spec.baseline.is_some() {
            fields.push(Field::new("baseline", DataType::Float64, true));
        }
        Ok(Windowing { has_event_id: has("event_id"), aggs, spec, schema: Arc::new(Schema::new(fields)) })
    }

    /// The `window` table's schema (what `window.where` selects from).
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The settings.
    pub fn spec(&self) -> &WindowSpec {
        &self.spec
    }
}

/// One aggregate's running value in a pane.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
enum Acc {
    Int(Option<i64>),
    Float(Option<f64>),
    Text(Option<String>),
    /// `distinct()`: the smallest values, at most [`MAX_DISTINCT`].
    Set(BTreeSet<String>),
    /// `sample()`: (event time, value) of the earliest rows, at most [`MAX_SAMPLE`], sorted.
    List(Vec<(i64, String)>),
}

impl Acc {
    fn empty(a: &Resolved) -> Acc {
        match (a.spec.func, a.kind) {
            (AggFunc::Count, _) => Acc::Int(Some(0)),
            (AggFunc::Distinct, _) => Acc::Set(BTreeSet::new()),
            (AggFunc::Sample, _) => Acc::List(Vec::new()),
            (_, ValueKind::Int | ValueKind::Time) => Acc::Int(None),
            (_, ValueKind::Float) => Acc::Float(None),
            (_, ValueKind::Text) => Acc::Text(None),
        }
    }

    fn add(&mut self, func: AggFunc, r: Option<&Reader>, row: usize, time: i64) {
        match (self, func) {
            (Acc::Int(n), AggFunc::Count) => {
                if r.is_none_or(|r| r.is_valid(row)) {
                    *n = Some(n.unwrap_or(0) + 1);
                }
            }
            (Acc::Int(v), f) => {
                if let Some(x) = r.and_then(|r| r.int(row)) {
                    *v = Some(match (*v, f) {
                        (None, _) => x,
                        (Some(a), AggFunc::Sum) => a.saturating_add(x),
                        (Some(a), AggFunc::Min | AggFunc::First) => a.min(x),
                        (Some(a), _) => a.max(x),
                    });
                }
            }
            (Acc::Float(v), f) => {
                if let Some(x) = r.and_then(|r| r.float(row)) {
                    *v = Some(match (*v, f) {
                        (None, _) => x,
                        (Some(a), AggFunc::Sum) => a + x,
                        (Some(a), AggFunc::Min | AggFunc::First) => a.min(x),
                        (Some(a), _) => a.max(x),
                    });
                }
            }
            (Acc::Text(v), f) => {
                if let Some(x) = r.and_then(|r| r.text_ref(row)) {
                    let keep = match (v.as_deref(), f) {
                        (None, _) => true,
                        (Some(a), AggFunc::Min) => *x < *a,
                        (Some(a), _) => *x > *a,
                    };
                    if keep {
                        *v = Some(x.into_owned());
                    }
                }
            }
            (Acc::Set(s), _) => {
                if let Some(x) = r.and_then(|r| r.text_ref(row)) {
                    insert_bounded(s, &x);
                }
            }
            (Acc::List(l), _) => {
                if let Some(x) = r.and_then(|r| r.text_ref(row)) {
                    insert_sample(l, time, &x);
                }
            }
        }
    }

    fn merge(&mut self, other: &Acc, func: AggFunc) {
        match (self, other) {
            (Acc::Int(a), Acc::Int(b)) => {
                *a = match (*a, *b) {
                    (None, x) | (x, None) => x,
                    (Some(x), Some(y)) => Some(match func {
                        AggFunc::Count | AggFunc::Sum => x.saturating_add(y),
                        AggFunc::Min | AggFunc::First => x.min(y),
                        _ => x.max(y),
                    }),
                }
            }
            (Acc::Float(a), Acc::Float(b)) => {
                *a = match (*a, *b) {
                    (None, x) | (x, None) => x,
                    (Some(x), Some(y)) => Some(match func {
                        AggFunc::Sum => x + y,
                        AggFunc::Min | AggFunc::First => x.min(y),
                        _ => x.max(y),
                    }),
                }
            }
            (Acc::Text(a), Acc::Text(Some(y))) => {
                let keep = match (a.as_ref(), func) {
                    (None, _) => true,
                    (Some(x), AggFunc::Min) => y < x,
                    (Some(x), _) => y > x,
                };
                if keep {
                    *a = Some(y.clone());
                }
            }
            (Acc::Text(_), Acc::Text(None)) => {}
            (Acc::Set(a), Acc::Set(b)) => {
                for x in b {
                    insert_bounded(a, x);
                }
            }
            (Acc::List(a), Acc::List(b)) => {
                for (t, x) in b {
                    insert_sample(a, *t, x);
                }
            }
            _ => {}
        }
    }

    fn as_f64(&self) -> f64 {
        match self {
            Acc::Int(v) => v.unwrap_or(0) as f64,
            Acc::Float(v) => v.unwrap_or(0.0),
            _ => 0.0,
        }
    }

    fn as_i64(&self) -> Option<i64> {
        match self {
            Acc::Int(v) => *v,
            Acc::Float(v) => v.map(|f| f as i64),
            _ => None,
        }
    }
}

/// Keep the [`MAX_DISTINCT`] smallest values: the same set whatever the
/// order. A value already in the set (most rows) is not copied.
fn insert_bounded(s: &mut BTreeSet<String>, x: &str) {
    if s.contains(x) {
        return;
    }
    if s.len() < MAX_DISTINCT {
        s.insert(x.to_string());
    } else if s.last().is_some_and(|last| x < last.as_str()) {
        s.insert(x.to_string());
        s.pop_last();
    }
}

/// Keep the [`MAX_SAMPLE`] earliest (time, value) pairs, sorted.
fn insert_sample(l: &mut Vec<(i64, String)>, time: i64, x: &str) {
    let at = l.partition_point(|(t, v)| (*t, v.as_str()) < (time, x));
    if at >= MAX_SAMPLE || l.get(at).is_some_and(|(t, v)| *t == time && v == x) {
        return;
    }
    l.insert(at, (time, x.to_string()));
    l.truncate(MAX_SAMPLE);
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct Pane {
    accs: Vec<Acc>,
    seen: HashSet<u64>,
    /// Distinct events folded in.
    #[serde(default)]
    rows: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct KeyState {
    values: Vec<Option<String>>,
    panes: BTreeMap<i64, Pane>,
    /// Closed windows: (start, baseline value), only non-zero ones.
    history: Vec<(i64, f64)>,
    /// Windows starting before this have been recorded into `history`.
    recorded_until: i64,
    last_active: i64,
    /// Per aggregate, the all-time value of `first()` aggregates.
    #[serde(default)]
    first: Vec<Acc>,
}

/// The panes of one evaluated window: what a finding counts its events and
/// bytes over, so that windows merged into one finding count each event once.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowPanes {
    /// The window's key, as the rule's key columns joined.
    pub key: String,
    /// The window's start.
    pub start: i64,
    /// (pane start, distinct events, bytes) of each pane in the window.
    pub panes: Vec<(i64, i64, Option<i64>)>,
}

/// The windows touched by the rows folded in since the last evaluation:
/// the panes (their starts) of each key.
pub type Touched = BTreeMap<String, BTreeSet<i64>>;

/// The state of one windowed rule. Serializable for checkpoints.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct WindowState {
    keys: HashMap<String, KeyState>,
    /// The first event time this state saw (learning starts there).
    #[serde(default)]
    created: Option<i64>,
    /// Panes were last evicted at this release point.
    evicted_at: Option<i64>,
    /// Keys dropped because the rule had `max_keys`.
    pub dropped_keys: u64,
}

/// The key of a row into `buf`: the key columns' values joined by U+001F
/// (a null as NUL).
pub fn key_of(keys: &[Reader], row: usize, buf: &mut String) {
    buf.clear();
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            buf.push('\u{1f}');
        }
        match (k.str(row), k) {
            (Some(v), _) => buf.push_str(v),
            (None, Reader::Text(_)) => buf.push('\u{0}'),
            (None, _) => buf.push_str(k.text(row).as_deref().unwrap_or("\u{0}")),
        }
    }
}

impl WindowState {
    /// Keys held.
    pub fn keys(&self) -> usize {
        self.keys.len()
    }

    /// Panes held, all keys.
    pub fn panes(&self) -> usize {
        self.keys.values().map(|k| k.panes.len()).sum()
    }

    /// Fold rows of the rule's SQL output into the state (any order);
    /// returns the panes they touched.
    pub fn fold(&mut self, w: &Windowing, batch: &RecordBatch, touched: &mut Touched) -> Result<(), String> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let keys: Vec<Reader> =
            w.spec.key.iter().map(|k| Reader::new(batch, k, ValueKind::Text)).collect::<Result<_, _>>()?;
        let time = Reader::new(batch, &w.spec.time, ValueKind::Time)?;
        let inputs: Vec<Option<Reader>> = w
            .aggs
            .iter()
            .map(|a| a.spec.input.as_ref().map(|i| Reader::new(batch, i, a.kind)).transpose())
            .collect::<Result<_, _>>()?;
        let ids = if w.has_event_id { Some(Reader::new(batch, "event_id", ValueKind::Text)?) } else { None };
        let mut key_buf = String::new();
        for row in 0..batch.num_rows() {
            let Some(t) = time.int(row) else { continue };
            self.created = Some(self.created.map_or(t, |c| c.min(t)));
            key_of(&keys, row, &mut key_buf);
            let pane_start = t.div_euclid(w.spec.slide) * w.spec.slide;
            // A key is new once; the rows after it find it without copying
            // the key or its values.
            if !self.keys.contains_key(key_buf.as_str()) {
                let values = keys.iter().map(|k| k.text(row)).collect();
                let state = KeyState { values, recorded_until: i64::MIN, ..Default::default() };
                self.keys.insert(key_buf.clone(), state);
            }
            let Some(ks) = self.keys.get_mut(key_buf.as_str()) else { continue };
            ks.last_active = ks.last_active.max(t);
            let pane = ks.panes.entry(pane_start).or_insert_with(|| Pane {
                accs: w.aggs.iter().map(Acc::empty).collect(),
                seen: HashSet::new(),
                rows: 0,
            });
            if let Some(id) = ids.as_ref().and_then(|r| r.str(row)) {
                let h = xxh3_64(id.as_bytes());
                if pane.seen.contains(&h) {
                    continue;
                }
                if pane.seen.len() < MAX_SEEN_PER_PANE {
                    pane.seen.insert(h);
                }
            }
            pane.rows += 1;
            for (acc, (a, r)) in pane.accs.iter_mut().zip(w.aggs.iter().zip(&inputs)) {
                acc.add(a.spec.func, r.as_ref(), row, t);
            }
            if ks.first.len() != w.aggs.len() {
                ks.first = w.aggs.iter().map(Acc::empty).collect();
            }
            for ((acc, a), r) in ks.first.iter_mut().zip(&w.aggs).zip(&inputs) {
                if a.spec.func == AggFunc::First {
                    acc.add(AggFunc::First, r.as_ref(), row, t);
                }
            }
            match touched.get_mut(key_buf.as_str()) {
                Some(panes) => {
                    panes.insert(pane_start);
                }
                None => {
                    touched.insert(key_buf.clone(), BTreeSet::from([pane_start]));
                }
            }
        }
        Ok(())
    }

    /// The `window` rows of every window containing a touched pane, with
    /// the panes each is made of (in the same order).
    pub fn evaluate(
        &self,
        w: &Windowing,
        touched: &Touched,
    ) -> Result<Option<(RecordBatch, Vec<WindowPanes>)>, String> {
        let mut starts: BTreeSet<(&str, i64)> = BTreeSet::new();
        for (key, pane) in touched.iter().flat_map(|(key, panes)| panes.iter().map(move |p| (key, p))) {
            let mut ws = pane - w.spec.size + w.spec.slide;
            while ws <= *pane {
                starts.insert((key.as_str(), ws));
                ws += w.spec.slide;
            }
        }
        if starts.is_empty() {
            return Ok(None);
        }
        let bytes_idx = w.aggs.iter().position(|a| a.spec.name == "bytes" && a.spec.func == AggFunc::Sum);
        let mut rows = RowsBuilder::new(w, starts.len());
        let mut infos = Vec::with_capacity(starts.len());
        let learned_from = self.created.map_or(i64::MAX, |c| c.saturating_add(w.spec.learning));
        for (key, ws) in starts {
            if w.spec.learning > 0 && ws < learned_from {
                continue;
            }
            let Some(ks) = self.keys.get(key) else { continue };
            let mut accs = merged(w, ks, ws);
            for (i, a) in w.aggs.iter().enumerate() {
                if a.spec.func == AggFunc::First {
                    if let Some(f) = ks.first.get(i) {
                        accs[i] = f.clone();
                    }
                }
            }
            let baseline = w.spec.baseline.as_ref().map(|b| quantile(ks, ws, w.spec.size, b));
            rows.push(w, ks, ws, &accs, baseline);
            let panes = ks
                .panes
                .range(ws..ws + w.spec.size)
                .map(|(p, pane)| (*p, pane.rows, bytes_idx.and_then(|i| pane.accs.get(i)).and_then(Acc::as_i64)))
                .collect();
            infos.push(WindowPanes { key: key.to_string(), start: ws, panes });
        }
        if infos.is_empty() {
            return Ok(None);
        }
        rows.finish(w).map(|b| Some((b, infos)))
    }

    /// Record windows closed by `released` (every row before it has been
    /// folded in) into the baseline history, drop panes no open window
    /// needs, and bound the number of keys. Runs once per slide.
    pub fn evict(&mut self, w: &Windowing, released: i64) {
        let wm = released;
        if self.evicted_at.is_some_and(|e| wm < e + w.spec.slide) {
            return;
        }
        self.evicted_at = Some(wm);
        for ks in self.keys.values_mut() {
            if let Some(b) = &w.spec.baseline {
                let idx = w.aggs.iter().position(|a| a.spec.name == b.of).unwrap_or(0);
                let mut closed: BTreeSet<i64> = BTreeSet::new();
                for p in ks.panes.keys() {
                    let mut ws = p - w.spec.size + w.spec.slide;
                    while ws <= *p {
                        if ws >= ks.recorded_until && ws + w.spec.size <= wm {
                            closed.insert(ws);
                        }
                        ws += w.spec.slide;
                    }
                }
                for ws in &closed {
                    let v = merged(w, ks, *ws).get(idx).map_or(0.0, Acc::as_f64);
                    if v != 0.0 {
                        ks.history.push((*ws, v));
                    }
                }
                if let Some(last) = closed.last() {
                    ks.recorded_until = last + w.spec.slide;
                }
                let oldest = wm - b.history;
                ks.history.retain(|(s, _)| *s >= oldest);
            }
            ks.panes.retain(|p, _| p + w.spec.size > wm);
        }
        let keep = w.spec.baseline.as_ref().map_or(0, |b| b.history).max(w.spec.remember);
        self.keys.retain(|_, ks| !ks.panes.is_empty() || ks.last_active.saturating_add(keep) > wm);
        if self.keys.len() > w.spec.max_keys {
            let mut by_age: Vec<(i64, String)> = self.keys.iter().map(|(k, s)| (s.last_active, k.clone())).collect();
            by_age.sort();
            let excess = self.keys.len() - w.spec.max_keys;
            for (_, k) in by_age.into_iter().take(excess) {
                self.keys.remove(&k);
                self.dropped_keys += 1;
            }
        }
    }
}

/// The window starting at `ws`: every pane in it, merged.
fn merged(w: &Windowing, ks: &KeyState, ws: i64) -> Vec<Acc> {
    let mut accs: Vec<Acc> = w.aggs.iter().map(Acc::empty).collect();
    for (_, pane) in ks.panes.range(ws..ws + w.spec.size) {
        for ((acc, other), a) in accs.iter_mut().zip(&pane.accs).zip(&w.aggs) {
            acc.merge(other, a.spec.func);
        }
    }
    accs
}

/// The baseline quantile for the window starting at `ws`: over the closed
/// windows of the last `history` before it, inactive windows counting as 0.
fn quantile(ks: &KeyState, ws: i64, size: i64, b: &BaselineSpec) -> f64 {
    let windows = (b.history / size.max(1)).max(1) as usize;
    let mut vals: Vec<f64> =
        ks.history.iter().filter(|(s, _)| *s < ws && *s >= ws - b.history).map(|(_, v)| *v).collect();
    if vals.is_empty() {
        return 0.0;
    }
    vals.sort_by(|a, c| a.total_cmp(c));
    // Rank among `windows` values of which the missing ones are zeros.
    let rank = ((b.quantile * windows as f64).ceil() as usize).clamp(1, windows);
    let zeros = windows.saturating_sub(vals.len());
    if rank <= zeros {
        0.0
    } else {
        vals[(rank - zeros - 1).min(vals.len() - 1)]
    }
}

/// Builds the `window` table batch.
struct RowsBuilder {
    keys: Vec<StringBuilder>,
    start: TimestampMicrosecondBuilder,
    end: TimestampMicrosecondBuilder,
    aggs: Vec<AggBuilder>,
    baseline: Float64Builder,
}

enum AggBuilder {
    Int(Int64Builder),
    Time(TimestampMicrosecondBuilder),
    Float(Float64Builder),
    Text(StringBuilder),
    List(ListBuilder<StringBuilder>),
}

impl RowsBuilder {
    fn new(w: &Windowing, n: usize) -> Self {
        RowsBuilder {
            keys: w.spec.key.iter().map(|_| StringBuilder::with_capacity(n, n * 16)).collect(),
            start: TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC"),
            end: TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC"),
            aggs: w
                .aggs
                .iter()
                .map(|a| match (a.spec.func, a.kind) {
                    (AggFunc::Count, _) => AggBuilder::Int(Int64Builder::with_capacity(n)),
                    (AggFunc::Distinct | AggFunc::Sample, _) => {
                        AggBuilder::List(ListBuilder::new(StringBuilder::new()))
                    }
                    (_, ValueKind::Int) => AggBuilder::Int(Int64Builder::with_capacity(n)),
                    (_, ValueKind::Time) => {
                        AggBuilder::Time(TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC"))
                    }
                    (_, ValueKind::Float) => AggBuilder::Float(Float64Builder::with_capacity(n)),
                    (_, ValueKind::Text) => AggBuilder::Text(StringBuilder::new()),
                })
                .collect(),
            baseline: Float64Builder::with_capacity(n),
        }
    }

    fn push(&mut self, w: &Windowing, ks: &KeyState, ws: i64, accs: &[Acc], baseline: Option<f64>) {
        for (b, v) in self.keys.iter_mut().zip(&ks.values) {
            b.append_option(v.as_deref());
        }
        self.start.append_value(ws);
        self.end.append_value(ws + w.spec.size);
        for (b, acc) in self.aggs.iter_mut().zip(accs) {
            match (b, acc) {
                (AggBuilder::Int(b), Acc::Int(v)) => b.append_option(*v),
                (AggBuilder::Time(b), Acc::Int(v)) => b.append_option(*v),
                (AggBuilder::Float(b), Acc::Float(v)) => b.append_option(*v),
                (AggBuilder::Text(b), Acc::Text(v)) => b.append_option(v.as_deref()),
                (AggBuilder::List(b), Acc::Set(s)) => {
                    for x in s {
                        b.values().append_value(x);
                    }
                    b.append(true);
                }
                (AggBuilder::List(b), Acc::List(l)) => {
                    for (_, x) in l {
                        b.values().append_value(x);
                    }
                    b.append(true);
                }
                (AggBuilder::Int(b), _) => b.append_null(),
                (AggBuilder::Time(b), _) => b.append_null(),
                (AggBuilder::Float(b), _) => b.append_null(),
                (AggBuilder::Text(b), _) => b.append_null(),
                (AggBuilder::List(b), _) => b.append(false),
            }
        }
        self.baseline.append_option(baseline);
    }

    fn finish(mut self, w: &Windowing) -> Result<RecordBatch, String> {
        let mut cols: Vec<ArrayRef> = self.keys.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef).collect();
        cols.push(Arc::new(self.start.finish()));
        cols.push(Arc::new(self.end.finish()));
        for b in &mut self.aggs {
            cols.push(match b {
                AggBuilder::Int(b) => Arc::new(b.finish()),
                AggBuilder::Time(b) => Arc::new(b.finish()),
                AggBuilder::Float(b) => Arc::new(b.finish()),
                AggBuilder::Text(b) => Arc::new(b.finish()),
                AggBuilder::List(b) => Arc::new(b.finish()),
            });
        }
        if w.spec.baseline.is_some() {
            cols.push(Arc::new(self.baseline.finish()));
        }
        RecordBatch::try_new(w.schema(), cols).map_err(|e| format!("window table: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray, TimestampMicrosecondArray};

    const MIN: i64 = 60_000_000;

    fn spec() -> WindowSpec {
        WindowSpec {
            size: 60 * MIN,
            slide: 30 * MIN,
            key: vec!["user".into()],
            time: "time".into(),
            aggregates: vec![
                AggSpec::parse("bytes", "sum(bytes_out)").unwrap(),
                AggSpec::parse("hosts", "distinct(host)").unwrap(),
                AggSpec::parse("first_hosts", "sample(host)").unwrap(),
            ],
            baseline: None,
            max_keys: 100,
            learning: 0,
            remember: 0,
        }
    }

    /// Rows (user, host, bytes, minute, event id).
    fn batch(rows: &[(&str, String, i64, i64, String)]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("user", DataType::Utf8, true),
            Field::new("host", DataType::Utf8, true),
            Field::new("bytes_out", DataType::Int64, true),
            Field::new("time", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true),
            Field::new("event_id", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())),
                Arc::new(StringArray::from(rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>())),
                Arc::new(Int64Array::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
                Arc::new(
                    TimestampMicrosecondArray::from(rows.iter().map(|r| r.3 * MIN).collect::<Vec<_>>())
                        .with_timezone("UTC"),
                ),
                Arc::new(StringArray::from(rows.iter().map(|r| r.4.clone()).collect::<Vec<_>>())),
            ],
        )
        .unwrap()
    }

    fn evaluate(w: &Windowing, batches: &[RecordBatch]) -> (RecordBatch, Vec<WindowPanes>) {
        let mut state = WindowState::default();
        let mut touched = Touched::new();
        for b in batches {
            state.fold(w, b, &mut touched).unwrap();
        }
        state.evaluate(w, &touched).unwrap().unwrap()
    }

    #[test]
    fn windows_are_the_same_whatever_order_and_batching_their_rows_came_in() {
        // More hosts than sample() keeps, some repeated; and one event twice (a replay).
        let rows: Vec<(&str, String, i64, i64, String)> = (0..40)
            .map(|i| ("ana", format!("h{:02}.example", (i * 7) % 23), 10 + i, i * 2, format!("e{i}")))
            .chain(std::iter::once(("ana", "h00.example".to_string(), 10, 0, "e0".to_string())))
            .collect();
        let sample = batch(&rows);
        let w = Windowing::new(spec(), &sample.schema()).unwrap();
        let (one, panes) = evaluate(&w, &[sample]);
        let mut reversed = rows.clone();
        reversed.reverse();
        let (a, b) = reversed.split_at(13);
        let (other, other_panes) = evaluate(&w, &[batch(b), batch(a)]);
        assert_eq!(one, other, "the window table does not depend on arrival order");
        assert_eq!(panes, other_panes);
        // Windows [0,60) [30,90) of 40 events at 2-minute steps, and the replay counted once.
        let counts: Vec<i64> = panes.iter().map(|p| p.panes.iter().map(|(_, n, _)| n).sum()).collect();
        assert_eq!(counts.iter().sum::<i64>(), 15 + 30 + 25 + 10, "{panes:?}");
        let first_hosts = one.column_by_name("first_hosts").unwrap();
        let first_window = first_hosts.as_any().downcast_ref::<arrow::array::ListArray>().unwrap().value(1);
        let got: Vec<&str> =
            first_window.as_any().downcast_ref::<StringArray>().unwrap().iter().map(|v| v.unwrap()).collect();
        assert_eq!(got.len(), MAX_SAMPLE);
        assert_eq!(got[0], "h00.example", "sample() keeps the earliest rows");
    }

    proptest::proptest! {
        /// The kept distinct values and samples are the smallest ones,
        /// whatever the order the rows came in and however often a value
        /// repeats.
        #[test]
        fn distinct_and_sample_keep_the_smallest_whatever_the_order(
            rows in proptest::collection::vec((0i64..50, "[a-z]{0,3}"), 0..3000),
            shuffle in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 0..64),
        ) {
            let mut shuffled = rows.clone();
            for (i, at) in shuffle.iter().enumerate() {
                let n = shuffled.len();
                if n > 1 {
                    shuffled.swap(i % n, at.index(n));
                }
            }
            let mut want_set: Vec<String> = rows.iter().map(|(_, v)| v.clone()).collect();
            want_set.sort();
            want_set.dedup();
            want_set.truncate(MAX_DISTINCT);
            let mut want_sample = rows.clone();
            want_sample.sort();
            want_sample.dedup();
            want_sample.truncate(MAX_SAMPLE);
            for order in [&rows, &shuffled] {
                let (mut set, mut sample) = (BTreeSet::new(), Vec::new());
                for (t, v) in order.iter() {
                    insert_bounded(&mut set, v);
                    insert_sample(&mut sample, *t, v);
                }
                proptest::prop_assert_eq!(set.into_iter().collect::<Vec<_>>(), want_set.clone());
                proptest::prop_assert_eq!(&sample, &want_sample);
            }
        }
    }
}
