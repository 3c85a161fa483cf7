//! Noise control: one finding per (rule, key, window), however many batches
//! match.
//!
//! Because `finding_id` already encodes rule, dedup key and window, dedup is
//! a bounded set of ids seen recently. A repeat is suppressed and counted on
//! the first finding's id. The set holds at most `capacity` ids; beyond that
//! the oldest are forgotten (a forgotten id that matches again produces the
//! same `finding_id`, so downstream upserts still collapse it).

use std::collections::{HashMap, VecDeque};

/// Bounded memory of finding ids already raised.
#[derive(Debug)]
pub struct DedupSet {
    capacity: usize,
    order: VecDeque<String>,
    suppressed: HashMap<String, u64>,
}

impl DedupSet {
    /// A set remembering at most `capacity` ids (at least 1).
    pub fn new(capacity: usize) -> Self {
        DedupSet { capacity: capacity.max(1), order: VecDeque::new(), suppressed: HashMap::new() }
    }

    /// `true` the first time `finding_id` is offered (raise it), `false`
    /// for repeats (suppress it; the suppression is counted).
    pub fn admit(&mut self, finding_id: &str) -> bool {
        if let Some(n) = self.suppressed.get_mut(finding_id) {
            *n += 1;
            return false;
        }
        if self.order.len() == self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.suppressed.remove(&old);
            }
        }
        self.order.push_back(finding_id.to_string());
        self.suppressed.insert(finding_id.to_string(), 0);
        true
    }

    /// How many repeats of `finding_id` were suppressed.
    pub fn suppressed(&self, finding_id: &str) -> u64 {
        self.suppressed.get(finding_id).copied().unwrap_or(0)
    }

    /// Ids currently remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_suppressed_and_counted() {
        let mut d = DedupSet::new(10);
        assert!(d.admit("a"));
        assert!(!d.admit("a"));
        assert!(!d.admit("a"));
        assert!(d.admit("b"));
        assert_eq!(d.suppressed("a"), 2);
        assert_eq!(d.suppressed("b"), 0);
    }

    #[test]
    fn memory_is_bounded_and_oldest_forgotten_first() {
        let mut d = DedupSet::new(2);
        assert!(d.admit("a"));
        assert!(d.admit("b"));
        assert!(d.admit("c"));
        assert_eq!(d.len(), 2);
        assert!(d.admit("a"), "a was evicted, so it is admitted again");
        assert!(!d.admit("c"));
    }
}
