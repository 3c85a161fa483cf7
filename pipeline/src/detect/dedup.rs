//! Noise control: one finding per (rule, key, dedup window), however many
//! matches there are, with what they add up to.
//!
//! `finding_id` already encodes rule, dedup key and window, so a rule's
//! [`FindingStore`] is a bounded map of the ids it raised recently. Matches
//! come in event-time order, one evaluation interval at a time (see
//! [`crate::event_time`]). A new finding is handed out after the interval
//! that raised it (`revision` 1, [`FindingStore::take_new`]); a finding that
//! grew afterwards is handed out again with its next revision at the next
//! *update point*, the first multiple of the update interval (`[rules]
//! update_interval`, UTC-aligned) at or after the interval it grew in, once
//! every interval up to that point is consumed ([`FindingStore::due_at`],
//! [`FindingStore::take_changed`]). So a finding that grows all day is
//! written a few times an hour, not after every minute, and the revisions
//! it goes through, and its final content, depend only on the input.
//!
//! What a finding adds up, so that each source event counts once:
//!
//! * **events** (streaming, first-seen and correlation matches): the distinct
//!   `event_id`s of every match merged in are its `event_count`; `bytes` is
//!   the sum over matches that brought new events. A match whose events were
//!   all counted already (a replay) changes nothing. A streaming rule's
//!   finding keeps the ids only until their interval is consumed (a later
//!   copy is late and never comes in), then only their count.
//! * **panes** (windowed matches): the panes of every window merged in, with
//!   their distinct events and bytes, so overlapping sliding windows count an
//!   event once; `event_count` and `bytes` are the sums over the panes.
//!
//! The finding's message and evidence come from its *representative* match
//! with the totals filled in: the first match in event-time order (the
//! window itself, re-evaluated, for windowed rules), replaced only by a
//! match of higher severity (an escalation) or, between different windows,
//! by one with more events. `suppressed_count` is how many further matches
//! were folded in.
//!
//! An id is forgotten two days of event time after its dedup window ended
//! (nothing can match it any more) or, beyond `capacity`, oldest first; a
//! forgotten id that matches again is raised again with the same id, so
//! consumers that upsert on `finding_id` still collapse it. The store is part
//! of the rule's checkpointed state, so a restart does not raise a finding
//! twice.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use xxhash_rust::xxh3::xxh3_64;

use super::findings::{self, finding_from_row, severity_rank};
use super::rule::RuleDef;
use super::windowed::WindowPanes;
use crate::schema::{Finding, Timestamp};

/// Distinct event ids a finding remembers; beyond that, new matches are counted without replay protection.
pub const MAX_EVENT_IDS: usize = 100_000;
/// Values an array column of a merged finding keeps (the smallest).
pub const MAX_ARRAY_VALUES: usize = 100;

/// How one match adds to a finding.
#[derive(Debug, Clone, Copy)]
pub enum Contribution<'a> {
    /// The row's own events (its `event_ids` or `event_id`) and bytes.
    Events,
    /// One evaluated window and its panes; `sums_bytes`: the rule's `bytes` is a sum over its rows.
    Window(&'a WindowPanes, bool),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Tally {
    /// Hashes of the distinct event ids counted.
    ids: HashSet<u64>,
    /// Events counted without their id kept: beyond [`MAX_EVENT_IDS`], in
    /// matches without event ids, or let go once they could no longer
    /// come again ([`FindingStore::let_go_of_counted_ids`]).
    uncounted: i64,
    /// Sum of the bytes of the matches that brought new events.
    bytes: Option<i64>,
    /// Windowed: pane start → (distinct events, bytes).
    panes: BTreeMap<i64, (i64, Option<i64>)>,
    /// Windowed: the largest `bytes` of a window, when it is not a sum.
    window_bytes: Option<i64>,
}

impl Tally {
    /// Keep the count of the ids counted, not the ids.
    fn let_go_of_ids(&mut self) {
        if !self.ids.is_empty() {
            self.uncounted = self.uncounted.saturating_add(self.ids.len() as i64);
            self.ids = HashSet::new();
        }
    }

    fn event_count(&self) -> i64 {
        if self.panes.is_empty() {
            self.ids.len() as i64 + self.uncounted
        } else {
            self.panes.values().map(|(n, _)| n).sum()
        }
    }

    fn bytes(&self, sums_bytes: bool) -> Option<i64> {
        if self.panes.is_empty() {
            self.bytes
        } else if sums_bytes {
            self.panes.values().filter_map(|(_, b)| *b).reduce(i64::saturating_add)
        } else {
            self.window_bytes
        }
    }
}

/// How a match ranks as the representative of its finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Rank {
    severity: usize,
    /// Windowed: the window's start, when the match is a window.
    window: Option<i64>,
    events: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// The representative match's row.
    row: Map<String, Value>,
    rank: Rank,
    tally: Tally,
    sums_bytes: bool,
    first_seen: i64,
    last_seen: i64,
    /// Up to five event ids, in the order their matches came.
    samples: Vec<String>,
    /// Array columns merged over every match.
    arrays: BTreeMap<String, BTreeSet<String>>,
    matches: i64,
    /// The revision last handed out (0: not yet).
    revision: i32,
    /// The end of its dedup window (event time, microseconds).
    expires: i64,
}

/// What [`FindingStore::admit`] did with a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// A new finding.
    Raised,
    /// Folded into a finding already raised.
    Merged,
    /// Nothing new (every event already counted).
    Replay,
}

/// The findings one rule raised recently; see the module docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindingStore {
    capacity: usize,
    order: VecDeque<String>,
    entries: HashMap<String, Entry>,
    changed: BTreeSet<String>,
    /// The update point at which the changes of findings already handed
    /// out are handed out next; `None` when there are none.
    #[serde(default)]
    due_at: Option<i64>,
    /// Findings pushed out beyond `capacity` whose last changes were not
    /// handed out yet: handed out with the next new findings.
    #[serde(default)]
    evicted: Vec<(String, Entry)>,
    /// The release point at the last expiry sweep.
    swept_at: i64,
}

/// Event time between two expiry sweeps (microseconds).
const SWEEP_EVERY: i64 = 3_600_000_000;
/// How long after its dedup window ends a finding is remembered.
const REMEMBER_AFTER: i64 = 2 * 86_400_000_000;

impl Default for FindingStore {
    fn default() -> Self {
        FindingStore::new(100_000)
    }
}

fn int(row: &Map<String, Value>, key: &str) -> Option<i64> {
    match row.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

impl FindingStore {
    /// A store remembering at most `capacity` findings (at least 1).
    pub fn new(capacity: usize) -> Self {
        FindingStore {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            entries: HashMap::new(),
            changed: BTreeSet::new(),
            due_at: None,
            evicted: Vec::new(),
            swept_at: i64::MIN,
        }
    }

    /// Set the bound on findings remembered.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
    }

    /// Findings remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Fold one match of `rule` (an output row) in. Matches must come in
    /// event-time order.
    pub fn admit(
        &mut self,
        rule: &RuleDef,
        row: Map<String, Value>,
        how: Contribution<'_>,
    ) -> Result<Admitted, String> {
        let key = findings::finding_key(rule, &row)?;
        let ids = findings::all_event_ids(&row);
        let (first, last) = (key.first_seen.0, key.last_seen.0);
        let rank = Rank {
            severity: severity_rank(&findings::row_severity(rule, &row)),
            window: match how {
                Contribution::Window(w, _) => Some(w.start),
                Contribution::Events => None,
            },
            events: match how {
                Contribution::Window(w, _) => w.panes.iter().map(|(_, n, _)| n).sum(),
                Contribution::Events => ids.len().max(1) as i64,
            },
        };
        let arrays = array_columns(&row);
        let Some(e) = self.entries.get_mut(&key.finding_id) else {
            let mut tally = Tally::default();
            let sums_bytes = match how {
                Contribution::Events => {
                    add_events(&mut tally, &ids, &row);
                    false
                }
                Contribution::Window(w, sums) => {
                    add_window(&mut tally, w, &row);
                    sums
                }
            };
            let entry = Entry {
                row,
                rank,
                tally,
                sums_bytes,
                first_seen: first,
                last_seen: last,
                samples: ids.iter().take(findings::MAX_SAMPLE_EVENT_IDS).cloned().collect(),
                arrays,
                matches: 1,
                revision: 0,
                expires: key.expires,
            };
            self.insert(key.finding_id, entry);
            return Ok(Admitted::Raised);
        };
        match how {
            Contribution::Events => {
                if !add_events(&mut e.tally, &ids, &row) {
                    return Ok(Admitted::Replay);
                }
            }
            Contribution::Window(w, _) => add_window(&mut e.tally, w, &row),
        }
        e.matches += 1;
        e.first_seen = e.first_seen.min(first);
        e.last_seen = e.last_seen.max(last);
        for id in &ids {
            if e.samples.len() >= findings::MAX_SAMPLE_EVENT_IDS {
                break;
            }
            if !e.samples.contains(id) {
                e.samples.push(id.clone());
            }
        }
        for (col, values) in arrays {
            let set = e.arrays.entry(col).or_default();
            for v in values {
                insert_smallest(set, v);
            }
        }
        let replace = match (rank.window, e.rank.window) {
            (Some(a), Some(b)) if a == b => rank.severity >= e.rank.severity,
            (Some(_), Some(_)) => {
                rank.severity > e.rank.severity || (rank.severity == e.rank.severity && rank.events > e.rank.events)
            }
            _ => rank.severity > e.rank.severity,
        };
        if replace {
            e.row = row;
            e.rank = rank;
        }
        self.changed.insert(key.finding_id);
        Ok(Admitted::Merged)
    }

    fn insert(&mut self, id: String, entry: Entry) {
        if self.order.len() >= self.capacity {
            while let Some(old) = self.order.pop_front() {
                if let Some(entry) = self.entries.remove(&old) {
                    if self.changed.remove(&old) {
                        self.evicted.push((old, entry));
                    }
                    break;
                }
            }
        }
        self.order.push_back(id.clone());
        self.entries.insert(id.clone(), entry);
        self.changed.insert(id);
    }

    /// Findings raised since the last call (`revision` 1), and those pushed
    /// out beyond `capacity` with changes not handed out yet, with their
    /// totals, detected at `now`, ordered by id. Called after every
    /// interval; `end`, the interval's end, and `every`, the update
    /// interval (both microseconds), set the update point at which the
    /// other changed findings are due ([`FindingStore::due_at`]).
    pub fn take_new(&mut self, rule: &RuleDef, now: Timestamp, end: i64, every: i64) -> Vec<Finding> {
        let entries = &self.entries;
        let new: Vec<String> =
            self.changed.iter().filter(|id| entries.get(*id).is_some_and(|e| e.revision == 0)).cloned().collect();
        for id in &new {
            self.changed.remove(id);
        }
        if !self.changed.is_empty() && self.due_at.is_none() {
            self.due_at = Some(update_point(end, every));
        }
        self.hand_out(rule, now, new)
    }

    /// Keep only the counts of the events the findings changed since they
    /// were last handed out have counted, not their ids. For a rule whose
    /// every match is filed in the interval of its own events (streaming
    /// rules), call this once an interval is consumed: a later copy of
    /// those events belongs to that interval, is late, and never reaches
    /// the store, so their ids protect nothing any more, and a finding that
    /// counts a day of events does not hold a day of ids.
    pub fn let_go_of_counted_ids(&mut self) {
        for id in &self.changed {
            if let Some(e) = self.entries.get_mut(id) {
                e.tally.let_go_of_ids();
            }
        }
    }

    /// The update point at which findings that changed after they were
    /// handed out are due; hand them out ([`FindingStore::take_changed`])
    /// once every interval that ends at or before it is consumed, and
    /// before any interval after it is.
    pub fn due_at(&self) -> Option<i64> {
        self.due_at
    }

    /// Every finding that changed since it was last handed out, with its
    /// totals and its next revision, detected at `now`, ordered by id.
    pub fn take_changed(&mut self, rule: &RuleDef, now: Timestamp) -> Vec<Finding> {
        self.due_at = None;
        let ids: Vec<String> = std::mem::take(&mut self.changed).into_iter().collect();
        self.hand_out(rule, now, ids)
    }

    /// The findings `ids` and the ones pushed out with changes not handed
    /// out yet, each with its next revision, ordered by id.
    fn hand_out(&mut self, rule: &RuleDef, now: Timestamp, ids: Vec<String>) -> Vec<Finding> {
        let mut out = Vec::with_capacity(ids.len() + self.evicted.len());
        for id in ids {
            let Some(e) = self.entries.get_mut(&id) else { continue };
            e.revision += 1;
            out.extend(render_entry(rule, e, now, id));
        }
        for (id, mut e) in std::mem::take(&mut self.evicted) {
            e.revision += 1;
            out.extend(render_entry(rule, &e, now, id));
        }
        out.sort_by(|a, b| a.finding_id.cmp(&b.finding_id));
        out
    }

    /// Forget findings whose dedup window ended more than two days of event
    /// time before `released` (at most once per hour of event time).
    pub fn expire(&mut self, released: i64) {
        if released < self.swept_at.saturating_add(SWEEP_EVERY) {
            return;
        }
        self.swept_at = released;
        let horizon = released.saturating_sub(REMEMBER_AFTER);
        let before = self.entries.len();
        self.entries.retain(|_, e| e.expires >= horizon);
        if self.entries.len() != before {
            let entries = &self.entries;
            self.order.retain(|id| entries.contains_key(id));
            self.changed.retain(|id| entries.contains_key(id));
        }
    }

    /// How many matches were folded into `finding_id` after the first.
    pub fn suppressed(&self, finding_id: &str) -> i64 {
        self.entries.get(finding_id).map_or(0, |e| e.matches - 1)
    }
}

/// Count the row's events; whether any was new.
fn add_events(tally: &mut Tally, ids: &[String], row: &Map<String, Value>) -> bool {
    let bytes = int(row, "bytes").or_else(|| int(row, "bytes_out"));
    let mut new = 0;
    if ids.is_empty() {
        tally.uncounted += int(row, "event_count").unwrap_or(1).max(1);
        new = 1;
    } else {
        for id in ids {
            let h = xxh3_64(id.as_bytes());
            if tally.ids.contains(&h) {
                continue;
            }
            new += 1;
            if tally.ids.len() < MAX_EVENT_IDS {
                tally.ids.insert(h);
            } else {
                tally.uncounted += 1;
            }
        }
    }
    if new > 0 {
        if let Some(b) = bytes {
            tally.bytes = Some(tally.bytes.unwrap_or(0).saturating_add(b));
        }
    }
    new > 0
}

fn add_window(tally: &mut Tally, w: &WindowPanes, row: &Map<String, Value>) {
    for (start, n, b) in &w.panes {
        tally.panes.insert(*start, (*n, *b));
    }
    if let Some(b) = int(row, "bytes").or_else(|| int(row, "bytes_out")) {
        tally.window_bytes = Some(tally.window_bytes.map_or(b, |x| x.max(b)));
    }
}

/// The row's array columns (other than `event_ids`) as sets of text.
fn array_columns(row: &Map<String, Value>) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for (k, v) in row {
        if k == "event_ids" {
            continue;
        }
        if let Value::Array(a) = v {
            let mut set = BTreeSet::new();
            for x in a {
                insert_smallest(&mut set, x.as_str().map_or_else(|| x.to_string(), str::to_string));
            }
            out.insert(k.clone(), set);
        }
    }
    out
}

fn insert_smallest(set: &mut BTreeSet<String>, v: String) {
    if set.len() < MAX_ARRAY_VALUES {
        set.insert(v);
    } else if set.last().is_some_and(|l| v < *l) && set.insert(v) {
        set.pop_last();
    }
}

/// The first update point at or after `end`: a whole multiple of `every`
/// (microseconds since the epoch, so UTC-aligned).
pub fn update_point(end: i64, every: i64) -> i64 {
    let every = every.max(1);
    end.div_euclid(every).saturating_add(i64::from(end.rem_euclid(every) != 0)).saturating_mul(every)
}

/// [`render`] as finding `id`; a failure is reported and gives nothing.
fn render_entry(rule: &RuleDef, e: &Entry, now: Timestamp, id: String) -> Option<Finding> {
    match render(rule, e, now) {
        Ok(mut f) => {
            f.finding_id = id;
            Some(f)
        }
        Err(err) => {
            crate::internal_events::emit(crate::internal_events::RuleFailed { rule: rule.id(), error: &err });
            None
        }
    }
}

/// The finding an entry stands for now: its representative row with the totals filled in.
fn render(rule: &RuleDef, e: &Entry, now: Timestamp) -> Result<Finding, String> {
    let mut row = e.row.clone();
    let count = e.tally.event_count();
    row.insert("event_count".into(), Value::from(count));
    if let Some(b) = e.tally.bytes(e.sums_bytes) {
        row.insert("bytes".into(), Value::from(b));
    }
    row.insert("first_seen".into(), Value::from(Timestamp(e.first_seen).to_rfc3339()));
    row.insert("last_seen".into(), Value::from(Timestamp(e.last_seen).to_rfc3339()));
    for (k, set) in &e.arrays {
        row.insert(k.clone(), Value::Array(set.iter().cloned().map(Value::from).collect()));
    }
    row.insert("event_ids".into(), Value::Array(e.samples.iter().cloned().map(Value::from).collect()));
    let mut f = finding_from_row(rule, &row, now)?;
    f.time = Timestamp(e.first_seen);
    f.first_seen = Some(Timestamp(e.first_seen));
    f.last_seen = Some(Timestamp(e.last_seen));
    f.event_count = Some(count);
    f.sample_event_ids = e.samples.clone();
    f.revision = Some(e.revision);
    f.suppressed_count = Some(e.matches - 1);
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn rule() -> RuleDef {
        let text = r#"
id = "XX-01"
title = "t"
family = "shadow_saas"
severity = "medium"
class = "network"
description = "d"
message = "{user} sent {bytes} bytes in {event_count} request(s) to {hosts}"
sql = "SELECT user, time FROM network"
[dedup]
key = ["user"]
period = "1h"
"#;
        RuleDef::parse(Path::new("XX-01.toml"), text, None).unwrap()
    }

    fn row(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn hit(id: &str, minute: u32, bytes: i64, host: &str) -> Map<String, Value> {
        row(json!({"user": "ana", "event_id": id, "bytes": bytes, "hosts": [host],
                   "time": format!("2026-11-24T10:{minute:02}:00Z")}))
    }

    #[test]
    fn matches_fold_into_one_finding_counting_each_event_once() {
        let (r, now) = (rule(), Timestamp(0));
        let mut store = FindingStore::new(10);
        assert_eq!(store.admit(&r, hit("e1", 1, 100, "a.example"), Contribution::Events).unwrap(), Admitted::Raised);
        let first = store.take_changed(&r, now);
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].revision, first[0].event_count, first[0].suppressed_count), (Some(1), Some(1), Some(0)));
        assert!(store.take_changed(&r, now).is_empty(), "nothing changed since");

        assert_eq!(store.admit(&r, hit("e1", 1, 100, "a.example"), Contribution::Events).unwrap(), Admitted::Replay);
        assert!(store.take_changed(&r, now).is_empty(), "a replayed event changes nothing");
        assert_eq!(store.admit(&r, hit("e2", 5, 50, "b.example"), Contribution::Events).unwrap(), Admitted::Merged);
        assert_eq!(store.admit(&r, hit("e3", 9, 25, "a.example"), Contribution::Events).unwrap(), Admitted::Merged);
        let update = store.take_changed(&r, now);
        assert_eq!(update.len(), 1, "one update for the interval, however many matches");
        let u = &update[0];
        assert_eq!((u.finding_id.as_str(), u.revision), (first[0].finding_id.as_str(), Some(2)));
        assert_eq!((u.event_count, u.bytes, u.suppressed_count), (Some(3), Some(175), Some(2)));
        assert_eq!(u.first_seen, first[0].first_seen);
        assert_eq!(u.last_seen.map(|t| t.to_rfc3339()), Some("2026-11-24T10:09:00.000Z".to_string()));
        assert_eq!(u.message, "ana sent 175 bytes in 3 request(s) to a.example, b.example", "rendered from the totals");
        assert_eq!(u.sample_event_ids, ["e1", "e2", "e3"]);
    }

    #[test]
    fn a_higher_severity_match_becomes_the_representative() {
        let (r, now) = (rule(), Timestamp(0));
        let mut store = FindingStore::new(10);
        store.admit(&r, hit("e1", 1, 1, "a"), Contribution::Events).unwrap();
        let mut high = hit("e2", 2, 1, "b");
        high.insert("severity".into(), json!("high"));
        high.insert("user".into(), json!("ana"));
        store.admit(&r, high, Contribution::Events).unwrap();
        let f = &store.take_changed(&r, now)[0];
        assert_eq!((f.severity.as_str(), f.revision), ("high", Some(1)));
    }

    #[test]
    fn overlapping_windows_count_each_pane_once() {
        let (r, now) = (rule(), Timestamp(0));
        let mut store = FindingStore::new(10);
        let hour = 3_600_000_000;
        let base = 20_781 * 24 * hour;
        let window = |start: i64, panes: Vec<(i64, i64, Option<i64>)>| WindowPanes { key: "ana".into(), start, panes };
        let w1 = window(base, vec![(base, 4, Some(40)), (base + hour, 2, Some(20))]);
        let w2 = window(base + hour, vec![(base + hour, 3, Some(30)), (base + 2 * hour, 5, Some(50))]);
        let at = |h: i64| Timestamp(base + h * hour).to_rfc3339();
        let row1 = row(json!({"user": "ana", "first_seen": at(0), "last_seen": at(1), "bytes": 60, "hosts": []}));
        let row2 = row(json!({"user": "ana", "first_seen": at(0), "last_seen": at(2), "bytes": 80, "hosts": []}));
        store.admit(&r, row1, Contribution::Window(&w1, true)).unwrap();
        store.admit(&r, row2, Contribution::Window(&w2, true)).unwrap();
        let f = &store.take_changed(&r, now)[0];
        // Panes: base 4 (40), base+1h 3 (30: the later evaluation), base+2h 5 (50).
        assert_eq!((f.event_count, f.bytes), (Some(12), Some(120)));
    }

    #[test]
    fn memory_is_bounded_and_old_findings_expire() {
        let (r, now) = (rule(), Timestamp(0));
        let mut store = FindingStore::new(2);
        for user in ["a", "b", "c"] {
            let mut h = hit(user, 1, 1, "x");
            h.insert("user".into(), json!(user));
            assert_eq!(store.admit(&r, h, Contribution::Events).unwrap(), Admitted::Raised);
        }
        assert_eq!(store.len(), 2, "the oldest was forgotten");
        let mut written: Vec<String> = store.take_changed(&r, now).into_iter().filter_map(|f| f.user).collect();
        written.sort();
        assert_eq!(written, ["a", "b", "c"].map(String::from), "the forgotten one is still written, once");
        assert!(store.take_changed(&r, now).is_empty());
        let later = crate::schema::time::parse_any("2026-11-27T00:00:00Z").unwrap().0;
        store.expire(later);
        assert!(store.is_empty(), "their dedup windows ended more than two days ago");
    }

    /// 2026-11-24T10:`minute`:00Z, microseconds.
    fn at(minute: u32) -> i64 {
        crate::schema::time::parse_any(&format!("2026-11-24T10:{minute:02}:00Z")).unwrap().0
    }

    #[test]
    fn update_points_are_whole_multiples_of_the_update_interval() {
        let ten = 600_000_000;
        assert_eq!(update_point(at(3), ten), at(10));
        assert_eq!(update_point(at(10), ten), at(10), "a point is its own");
        assert_eq!(update_point(at(10) + 1, ten), at(20));
        assert_eq!((update_point(-1, 10), update_point(-10, 10), update_point(-11, 10)), (0, -10, -10));
        assert_eq!(update_point(7, 0), 7, "an interval of zero is taken as one microsecond");
    }

    #[test]
    fn new_findings_go_out_at_once_and_updates_wait_for_the_update_point() {
        let (r, now, ten) = (rule(), Timestamp(0), 600_000_000);
        let mut store = FindingStore::new(10);
        store.admit(&r, hit("e1", 1, 100, "a"), Contribution::Events).unwrap();
        let new = store.take_new(&r, now, at(2), ten);
        assert_eq!(new.iter().map(|f| (f.revision, f.event_count)).collect::<Vec<_>>(), [(Some(1), Some(1))]);
        assert_eq!(store.due_at(), None, "nothing waits");

        store.admit(&r, hit("e2", 2, 50, "a"), Contribution::Events).unwrap();
        assert!(store.take_new(&r, now, at(3), ten).is_empty(), "an update waits");
        assert_eq!(store.due_at(), Some(at(10)));
        // A second person's first match goes out at once; the update still waits.
        let mut bo = hit("e3", 5, 1, "a");
        bo.insert("user".into(), json!("bo"));
        store.admit(&r, bo, Contribution::Events).unwrap();
        store.admit(&r, hit("e4", 5, 25, "a"), Contribution::Events).unwrap();
        let new = store.take_new(&r, now, at(6), ten);
        assert_eq!(new.iter().map(|f| (f.user.as_deref(), f.revision)).collect::<Vec<_>>(), [(Some("bo"), Some(1))]);
        assert_eq!(store.due_at(), Some(at(10)), "the first change sets the point");

        let update = store.take_changed(&r, now);
        assert_eq!(update.len(), 1, "one revision for every change up to the point");
        assert_eq!((update[0].revision, update[0].event_count, update[0].bytes), (Some(2), Some(3), Some(175)));
        assert_eq!(store.due_at(), None);
        assert!(store.take_changed(&r, now).is_empty());

        // Checkpointed with an update waiting, restored: it still waits, then goes out.
        store.admit(&r, hit("e5", 11, 1, "a"), Contribution::Events).unwrap();
        assert!(store.take_new(&r, now, at(12), ten).is_empty());
        let mut restored: FindingStore = serde_json::from_value(serde_json::to_value(&store).unwrap()).unwrap();
        assert_eq!(restored.due_at(), Some(at(20)));
        let update = restored.take_changed(&r, now);
        assert_eq!((update[0].revision, update[0].event_count), (Some(3), Some(4)));
    }

    #[test]
    fn a_finding_forgotten_with_an_update_waiting_goes_out_with_the_next_new_ones() {
        let (r, now, ten) = (rule(), Timestamp(0), 600_000_000);
        let mut store = FindingStore::new(1);
        store.admit(&r, hit("e1", 1, 1, "a"), Contribution::Events).unwrap();
        assert_eq!(store.take_new(&r, now, at(2), ten).len(), 1);
        store.admit(&r, hit("e2", 2, 1, "a"), Contribution::Events).unwrap();
        let mut bo = hit("e3", 2, 1, "a");
        bo.insert("user".into(), json!("bo"));
        store.admit(&r, bo, Contribution::Events).unwrap();
        let out = store.take_new(&r, now, at(3), ten);
        let got: Vec<_> = out.iter().map(|f| (f.user.as_deref(), f.revision, f.event_count)).collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got.contains(&(Some("ana"), Some(2), Some(2))), "the update of the forgotten one: {got:?}");
        assert!(got.contains(&(Some("bo"), Some(1), Some(1))), "{got:?}");
        assert_eq!(store.due_at(), None);
    }

    #[test]
    fn letting_go_of_counted_ids_keeps_the_counts() {
        let (r, now, ten) = (rule(), Timestamp(0), 600_000_000);
        let mut store = FindingStore::new(10);
        store.admit(&r, hit("e1", 1, 100, "a"), Contribution::Events).unwrap();
        store.admit(&r, hit("e2", 1, 50, "a"), Contribution::Events).unwrap();
        assert_eq!(store.admit(&r, hit("e2", 1, 50, "a"), Contribution::Events).unwrap(), Admitted::Replay);
        store.let_go_of_counted_ids();
        assert!(store.entries.values().all(|e| e.tally.ids.is_empty()), "no id is held");
        let f = &store.take_new(&r, now, at(2), ten)[0];
        assert_eq!((f.event_count, f.bytes, f.suppressed_count), (Some(2), Some(150), Some(1)));
        // The next interval's events add to the count; a copy within it is still a replay.
        store.admit(&r, hit("e3", 3, 10, "a"), Contribution::Events).unwrap();
        assert_eq!(store.admit(&r, hit("e3", 3, 10, "a"), Contribution::Events).unwrap(), Admitted::Replay);
        store.let_go_of_counted_ids();
        let f = &store.take_changed(&r, now)[0];
        assert_eq!((f.event_count, f.bytes, f.revision), (Some(3), Some(160), Some(2)));
    }
}
