//! Noise control: one finding per (rule, key, window), however many batches
//! match, with the repeats counted on it.
//!
//! `finding_id` already encodes rule, dedup key and window, so dedup is a
//! bounded map of ids raised recently. The first match is raised at once
//! (`revision` 1, `suppressed_count` 0). Later matches with the same id are
//! suppressed: they add to its `suppressed_count` and `event_count` and move
//! its `last_seen`, and [`DedupSet::take_updates`] hands out the changed
//! findings again (same id, `revision` + 1) so consumers that upsert on
//! `finding_id` see the totals. An id is forgotten when its dedup window
//! has passed (nothing can match it any more) or, beyond `capacity`, oldest
//! first; a forgotten id that matches again is raised again with the same
//! id, so upserts still collapse it.
//!
//! The set is part of the rule state that checkpoints persist, so a restart
//! (or a replay of the same logs) does not raise a finding twice.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::schema::Finding;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// The finding as last raised or updated.
    finding: Finding,
    /// The end of its dedup window (event time, microseconds).
    expires: i64,
    /// Changed since the last update was handed out.
    dirty: bool,
}

/// Bounded memory of finding ids already raised.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DedupSet {
    capacity: usize,
    order: VecDeque<String>,
    entries: HashMap<String, Entry>,
    /// Newest event time seen minus two days: ids whose dedup window ended
    /// before it are dropped.
    horizon: i64,
    /// The horizon at the last expiry sweep: a sweep walks every id, so it
    /// runs once per hour of event time, not once per finding.
    #[serde(default = "never")]
    swept_at: i64,
}

fn never() -> i64 {
    i64::MIN
}

/// Event time between two expiry sweeps (microseconds).
const SWEEP_EVERY: i64 = 3_600_000_000;

impl DedupSet {
    /// A set remembering at most `capacity` ids (at least 1).
    pub fn new(capacity: usize) -> Self {
        DedupSet {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            entries: HashMap::new(),
            horizon: i64::MIN,
            swept_at: i64::MIN,
        }
    }

    /// Offer a finding whose dedup window ends at `expires`. `true`: it is
    /// new, raise it (its `revision` and `suppressed_count` are set);
    /// `false`: a repeat, counted on the first one.
    pub fn admit(&mut self, finding: &mut Finding, expires: i64) -> bool {
        if let Some(e) = self.entries.get_mut(&finding.finding_id) {
            let f = &mut e.finding;
            f.suppressed_count = Some(f.suppressed_count.unwrap_or(0) + 1);
            f.event_count = Some(f.event_count.unwrap_or(1) + finding.event_count.unwrap_or(1));
            f.last_seen = match (f.last_seen, finding.last_seen) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            if let (Some(a), Some(b)) = (f.bytes, finding.bytes) {
                // Windowed rules report the window's total: keep the largest.
                f.bytes = Some(a.max(b));
            }
            if super::findings::severity_rank(&finding.severity) > super::findings::severity_rank(&f.severity) {
                // An escalation (e.g. a third message in the window): the update says so.
                f.severity = finding.severity.clone();
                f.message = finding.message.clone();
                f.evidence = finding.evidence.clone();
            }
            e.dirty = true;
            return false;
        }
        finding.revision = Some(1);
        finding.suppressed_count = Some(0);
        // Measured in event time, not window ends: rules' periods run from an
        // hour to 30 days, so a 30-day window's end lies weeks after the event
        // and would make every shorter window of the same day look long past.
        let newest = finding.last_seen.unwrap_or(finding.time).0;
        self.horizon = self.horizon.max(newest.saturating_sub(2 * 86_400_000_000));
        self.expire();
        if self.order.len() >= self.capacity {
            while let Some(old) = self.order.pop_front() {
                if self.entries.remove(&old).is_some() {
                    break;
                }
            }
        }
        self.order.push_back(finding.finding_id.clone());
        self.entries.insert(finding.finding_id.clone(), Entry { finding: finding.clone(), expires, dirty: false });
        true
    }

    /// Drop ids whose dedup window ended well before the newest event seen
    /// (at most once per hour of event time; `capacity` bounds the set between sweeps).
    fn expire(&mut self) {
        let horizon = self.horizon;
        if horizon < self.swept_at.saturating_add(SWEEP_EVERY) {
            return;
        }
        self.swept_at = horizon;
        let before = self.entries.len();
        self.entries.retain(|_, e| e.expires >= horizon);
        if self.entries.len() != before {
            let entries = &self.entries;
            self.order.retain(|id| entries.contains_key(id));
        }
    }

    /// The findings whose counts changed since the last call, as updates
    /// (same `finding_id`, next `revision`).
    pub fn take_updates(&mut self) -> Vec<Finding> {
        let mut out = Vec::new();
        for e in self.entries.values_mut().filter(|e| e.dirty) {
            e.dirty = false;
            e.finding.revision = Some(e.finding.revision.unwrap_or(1) + 1);
            out.push(e.finding.clone());
        }
        out.sort_by(|a, b| a.finding_id.cmp(&b.finding_id));
        out
    }

    /// How many repeats of `finding_id` were suppressed.
    pub fn suppressed(&self, finding_id: &str) -> u64 {
        self.entries.get(finding_id).and_then(|e| e.finding.suppressed_count).map_or(0, |n| n as u64)
    }

    /// Ids currently remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Timestamp;

    fn finding(id: &str, events: i64, last: i64) -> Finding {
        Finding {
            finding_id: id.into(),
            event_count: Some(events),
            last_seen: Some(Timestamp(last)),
            ..Default::default()
        }
    }

    #[test]
    fn repeats_are_suppressed_counted_and_handed_out_as_updates() {
        let mut d = DedupSet::new(10);
        let mut a = finding("a", 1, 10);
        assert!(d.admit(&mut a, 100));
        assert_eq!((a.revision, a.suppressed_count), (Some(1), Some(0)));
        assert!(!d.admit(&mut finding("a", 2, 30), 100));
        assert!(!d.admit(&mut finding("a", 1, 20), 100));
        assert!(d.admit(&mut finding("b", 1, 10), 100));
        assert_eq!(d.suppressed("a"), 2);
        assert_eq!(d.suppressed("b"), 0);
        let updates = d.take_updates();
        assert_eq!(updates.len(), 1, "only a changed");
        let u = &updates[0];
        assert_eq!((u.finding_id.as_str(), u.revision, u.suppressed_count), ("a", Some(2), Some(2)));
        assert_eq!(u.event_count, Some(4));
        assert_eq!(u.last_seen, Some(Timestamp(30)));
        assert!(d.take_updates().is_empty(), "nothing changed since");
    }

    #[test]
    fn memory_is_bounded_and_oldest_forgotten_first() {
        let mut d = DedupSet::new(2);
        assert!(d.admit(&mut finding("a", 1, 0), 100));
        assert!(d.admit(&mut finding("b", 1, 0), 100));
        assert!(d.admit(&mut finding("c", 1, 0), 100));
        assert_eq!(d.len(), 2);
        assert!(d.admit(&mut finding("a", 1, 0), 100), "a was evicted, so it is admitted again");
        assert!(!d.admit(&mut finding("c", 1, 0), 100));
    }

    #[test]
    fn ids_whose_window_has_long_passed_are_forgotten() {
        let day = 86_400_000_000;
        let mut d = DedupSet::new(100);
        assert!(d.admit(&mut finding("old", 1, 0), day));
        assert!(d.admit(&mut finding("new", 1, 10 * day), 11 * day));
        assert_eq!(d.len(), 1, "the old window ended more than two days before the newest event");
    }

    #[test]
    fn a_long_dedup_period_does_not_make_shorter_ones_forget() {
        // Two findings about the same hour: a 1-hour dedup window and a 30-day
        // one, whose (epoch-aligned) end is weeks later.
        let (hour, day) = (3_600_000_000, 86_400_000_000);
        let now = 20_781 * day + 9 * hour;
        let mut d = DedupSet::new(100);
        assert!(d.admit(&mut finding("hourly", 1, now), now + hour));
        assert!(d.admit(&mut finding("monthly", 1, now), now + 9 * day));
        assert!(!d.admit(&mut finding("hourly", 1, now + 60_000_000), now + hour), "still remembered");
        assert_eq!(d.suppressed("hourly"), 1);
        assert_eq!(d.take_updates().len(), 1, "an update, not a second revision 1");
    }
}
