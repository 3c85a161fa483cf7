//! The address-to-person table attribution learns, in event time.
//!
//! Every record that names a person and comes from an internal address is a
//! *sighting*: at this time, this person was on this address (a firewall
//! session with a user-id, a proxy request with an authenticated user, a
//! sign-in from a desk). Sightings of one address are kept as *runs*: one
//! person seen again and again without anyone else in between is one run,
//! from its first sighting to its last.
//!
//! [`Leases::at`] answers "who was on `ip` at `t`": the person of the latest
//! run that began at or before `t`, if that run was still seen within
//! `max_age` before `t`. An address on which three or more runs reach into
//! `[t - max_age, t]` (people taking turns, a terminal server, a NAT
//! gateway) names nobody: one hand-over is a shared desk changing hands,
//! more is a shared machine.
//!
//! Sightings must be learned in event-time order ([`Leases::learn`]); the
//! attribution stage guarantees it by learning one evaluation interval at a
//! time, after the watermark passed it, so the table at any event time does
//! not depend on how batches were scheduled.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize, Serializer};

/// One person on one address, from their first to their last sighting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Run {
    person: String,
    first: i64,
    last: i64,
}

/// Runs per address; see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leases {
    /// Every sighting of a batch looks its address up: a hash map (std's
    /// keyed hash, as the addresses come from logs), written to
    /// checkpoints in address order so that a snapshot of the same table
    /// is always the same text.
    #[serde(serialize_with = "in_address_order")]
    by_ip: HashMap<String, Vec<Run>>,
}

fn in_address_order<S: Serializer>(by_ip: &HashMap<String, Vec<Run>>, s: S) -> Result<S::Ok, S::Error> {
    by_ip.iter().collect::<BTreeMap<_, _>>().serialize(s)
}

/// How many runs may reach into `[t - max_age, t]` for the latest to name the person.
const MAX_RUNS_IN_WINDOW: usize = 2;

impl Leases {
    /// Learn that `person` was on `ip` at `time`; sightings come in
    /// event-time order (an older one is folded into the latest run).
    pub fn learn(&mut self, ip: &str, person: &str, time: i64) {
        let runs = match self.by_ip.get_mut(ip) {
            Some(r) => r,
            None => self.by_ip.entry(ip.to_string()).or_default(),
        };
        match runs.last_mut() {
            Some(run) if run.person == person => run.last = run.last.max(time),
            Some(run) if time < run.last => {
                // Out of order (cannot happen through the stage): never rewrite history.
                run.last = run.last.max(time);
            }
            _ => runs.push(Run { person: person.to_string(), first: time, last: time }),
        }
    }

    /// Who was on `ip` at `t` (see the module docs).
    pub fn at(&self, ip: &str, t: i64, max_age: i64) -> Option<&str> {
        let runs = self.by_ip.get(ip)?;
        let end = runs.partition_point(|r| r.first <= t);
        let latest = runs.get(end.checked_sub(1)?)?;
        let since = t.saturating_sub(max_age);
        if latest.last.min(t) < since {
            return None;
        }
        let reaching = runs[..end].iter().rev().take_while(|r| r.last >= since).take(MAX_RUNS_IN_WINDOW + 1).count();
        (reaching <= MAX_RUNS_IN_WINDOW).then_some(latest.person.as_str())
    }

    /// Forget runs that can no longer name anyone for events at or after
    /// `from` (last seen before `from - max_age`), and addresses left empty.
    pub fn forget_before(&mut self, from: i64, max_age: i64) {
        let since = from.saturating_sub(max_age);
        self.by_ip.retain(|_, runs| {
            let keep_from = runs.partition_point(|r| r.last < since);
            runs.drain(..keep_from);
            !runs.is_empty()
        });
    }

    /// Addresses known.
    pub fn addresses(&self) -> usize {
        self.by_ip.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000_000;
    const HOUR: i64 = 60 * MIN;

    #[test]
    fn the_person_on_a_shared_desk_is_the_one_at_the_time() {
        let mut l = Leases::default();
        // Ana at the desk in the morning, Bob from 13:00.
        for m in [8 * 60, 9 * 60, 11 * 60 + 50] {
            l.learn("10.1.21.13", "ana", m * MIN);
        }
        for m in [13 * 60, 14 * 60, 16 * 60] {
            l.learn("10.1.21.13", "bob", m * MIN);
        }
        assert_eq!(l.at("10.1.21.13", 10 * HOUR, HOUR), Some("ana"));
        assert_eq!(l.at("10.1.21.13", 12 * HOUR + 30 * MIN, HOUR), Some("ana"), "Ana's run still fresh");
        assert_eq!(l.at("10.1.21.13", 14 * HOUR + 30 * MIN, HOUR), Some("bob"), "not the morning's colleague");
        assert_eq!(l.at("10.1.21.13", 13 * HOUR, HOUR), Some("bob"), "a sighting at the event's own time counts");
        assert_eq!(l.at("10.1.21.13", 7 * HOUR, HOUR), None, "before anyone was seen");
        assert_eq!(l.at("10.1.21.13", 17 * HOUR + 1, HOUR), None, "Bob last seen more than max_age before");
        assert_eq!(l.at("10.9.9.9", 10 * HOUR, HOUR), None);
    }

    #[test]
    fn a_machine_people_take_turns_on_names_nobody() {
        let mut l = Leases::default();
        for (i, who) in ["ana", "bob", "carla", "ana", "bob"].iter().enumerate() {
            l.learn("10.0.0.5", who, 9 * HOUR + i as i64 * 5 * MIN);
        }
        assert_eq!(l.at("10.0.0.5", 9 * HOUR + 30 * MIN, HOUR), None);
        // Long after the last turn: nobody was seen within max_age.
        assert_eq!(l.at("10.0.0.5", 12 * HOUR, HOUR), None);
        // A hand-over (two runs) still names the newer person.
        let mut l = Leases::default();
        l.learn("10.0.0.6", "ana", 9 * HOUR);
        l.learn("10.0.0.6", "bob", 9 * HOUR + 10 * MIN);
        assert_eq!(l.at("10.0.0.6", 9 * HOUR + 20 * MIN, HOUR), Some("bob"));
        assert_eq!(l.at("10.0.0.6", 9 * HOUR + 5 * MIN, HOUR), Some("ana"), "before the hand-over");
    }

    #[test]
    fn forgetting_keeps_what_later_events_can_use() {
        let mut l = Leases::default();
        l.learn("10.0.0.7", "ana", 8 * HOUR);
        l.learn("10.0.0.7", "bob", 10 * HOUR);
        l.learn("10.0.0.8", "carla", 8 * HOUR);
        l.forget_before(10 * HOUR + 30 * MIN, HOUR);
        assert_eq!(l.addresses(), 1);
        assert_eq!(l.at("10.0.0.7", 10 * HOUR + 45 * MIN, HOUR), Some("bob"));
        // Forgetting did not change any answer for later times.
        let mut full = Leases::default();
        full.learn("10.0.0.7", "ana", 8 * HOUR);
        full.learn("10.0.0.7", "bob", 10 * HOUR);
        for t in (10 * HOUR + 30 * MIN..12 * HOUR).step_by(MIN as usize) {
            assert_eq!(l.at("10.0.0.7", t, HOUR), full.at("10.0.0.7", t, HOUR), "{t}");
        }
    }

    #[test]
    fn the_table_survives_a_checkpoint() {
        let mut l = Leases::default();
        l.learn("10.0.0.7", "ana", HOUR);
        l.learn("10.0.0.10", "bob", HOUR);
        l.learn("10.0.0.9", "carla", HOUR);
        let text = serde_json::to_string(&l).unwrap();
        let back: Leases = serde_json::from_str(&text).unwrap();
        assert_eq!(back, l);
        let at = |ip: &str| text.find(ip).unwrap();
        assert!(at("10.0.0.10") < at("10.0.0.7") && at("10.0.0.7") < at("10.0.0.9"), "in address order: {text}");
        assert_eq!(serde_json::to_string(&back).unwrap(), text, "the same table, the same text");
    }
}
