//! Is the process alive, and is it ready? What the admin listener's
//! `/healthz` and `/readyz` answer (and what Kubernetes' probes ask).
//!
//! **Readiness** is a set of named checks, each either passed or waiting
//! with a reason: `enrichments` (the data is loaded), `rules` (every rule
//! compiled), one `source <name>` per source (a file opened, a Kafka
//! consumer that joined its group), `lake` and `api` for `serve`. The
//! process is ready when every check it expects has passed and it is not
//! draining; a check nobody expects does not count. Draining starts at
//! SIGTERM / Ctrl-C ([`crate::runtime::cancel_on_signals`]) and never ends:
//! a process that drains is on its way out.
//!
//! **Liveness** is about wedged work, not idleness: a stage that takes an
//! item marks itself busy ([`Health::busy`], a guard), and the process is
//! wedged when one piece of work has been running longer than the admin
//! listener's `wedged_after`. Waiting for input is not busy. That the probe
//! is answered at all shows the async runtime still turns.
//!
//! Like the counters of [`crate::internal_events`], the state is
//! process-wide ([`health`]): stages set it without being handed anything.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The check for the rules: every rule compiled ([`crate::config::Config::build`]).
pub const RULES: &str = "rules";
/// The check for the enrichment data: loaded ([`crate::config::Config::build`]).
pub const ENRICHMENTS: &str = "enrichments";
/// The check for the sources: each started, with its own `source <name>`
/// check expected (the runtime passes it once all are).
pub const SOURCES: &str = "sources";

/// One readiness check's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Passed.
    Passed,
    /// Not yet: what it waits for (`compiling 20 rules`, `joining group floodlight`).
    Waiting(String),
}

/// What `/readyz` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// Every expected check passed and the process is not draining.
    pub ready: bool,
    /// SIGTERM (or Ctrl-C) was received: in-flight work is draining.
    pub draining: bool,
    /// Every check, by name.
    pub checks: BTreeMap<String, Check>,
}

/// A piece of work running too long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wedged {
    /// The task (`worker`, `detection`, `sink lake`...).
    pub task: String,
    /// For how long.
    pub busy_for: Duration,
}

#[derive(Default)]
struct State {
    checks: BTreeMap<String, Check>,
    draining: bool,
    busy: HashMap<u64, (String, Instant)>,
    next_busy: u64,
}

/// The process's liveness and readiness; see the module docs.
#[derive(Default)]
pub struct Health {
    state: Mutex<State>,
}

impl Health {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Expect `check` to pass before the process is ready; until then it waits for `what`.
    pub fn expect(&self, check: &str, what: impl Into<String>) {
        self.state().checks.insert(check.to_string(), Check::Waiting(what.into()));
    }

    /// `check` passed.
    pub fn pass(&self, check: &str) {
        self.state().checks.insert(check.to_string(), Check::Passed);
    }

    /// Forget `check` (a source that ended: its stream is done, not unready).
    pub fn forget(&self, check: &str) {
        self.state().checks.remove(check);
    }

    /// Start draining: from now on the process is not ready.
    pub fn set_draining(&self) {
        self.state().draining = true;
    }

    /// Whether draining started.
    pub fn draining(&self) -> bool {
        self.state().draining
    }

    /// The readiness report.
    pub fn readiness(&self) -> Readiness {
        let st = self.state();
        let all_passed = st.checks.values().all(|c| *c == Check::Passed);
        Readiness { ready: all_passed && !st.draining, draining: st.draining, checks: st.checks.clone() }
    }

    /// Mark `task` busy until the guard drops.
    pub fn busy(&'static self, task: &str) -> Busy {
        let mut st = self.state();
        let id = st.next_busy;
        st.next_busy += 1;
        st.busy.insert(id, (task.to_string(), Instant::now()));
        Busy { health: self, id }
    }

    /// The work running longer than `after`, longest first.
    pub fn wedged(&self, after: Duration) -> Vec<Wedged> {
        let now = Instant::now();
        let mut out: Vec<Wedged> = self
            .state()
            .busy
            .values()
            .filter_map(|(task, since)| {
                let busy_for = now.duration_since(*since);
                (busy_for > after).then(|| Wedged { task: task.clone(), busy_for })
            })
            .collect();
        out.sort_by_key(|w| std::cmp::Reverse(w.busy_for));
        out
    }

    /// Clear everything (tests, and between runs in one process).
    pub fn reset(&self) {
        *self.state() = State::default();
    }
}

/// A piece of work in progress; see [`Health::busy`].
pub struct Busy {
    health: &'static Health,
    id: u64,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.health.state().busy.remove(&self.id);
    }
}

/// The process-wide health.
pub fn health() -> &'static Health {
    static H: OnceLock<Health> = OnceLock::new();
    H.get_or_init(Health::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaked() -> &'static Health {
        Box::leak(Box::default())
    }

    #[test]
    fn ready_once_every_expected_check_passed_and_never_while_draining() {
        let h = leaked();
        assert!(h.readiness().ready, "nothing expected yet");
        h.expect("rules", "compiling 3 rules");
        h.expect("source logs", "joining group g");
        let r = h.readiness();
        assert!(!r.ready);
        assert_eq!(r.checks["rules"], Check::Waiting("compiling 3 rules".into()));
        h.pass("rules");
        assert!(!h.readiness().ready, "the source still waits");
        h.pass("source logs");
        assert!(h.readiness().ready);
        h.set_draining();
        let r = h.readiness();
        assert!(!r.ready && r.draining);
        h.pass("rules");
        assert!(!h.readiness().ready, "draining does not end");
    }

    #[test]
    fn only_work_running_longer_than_the_limit_is_wedged() {
        let h = leaked();
        let a = h.busy("worker");
        std::thread::sleep(Duration::from_millis(30));
        let _b = h.busy("sink lake");
        let w = h.wedged(Duration::from_millis(20));
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].task, "worker");
        assert!(w[0].busy_for >= Duration::from_millis(30));
        drop(a);
        assert!(h.wedged(Duration::from_millis(20)).is_empty(), "finished work is not wedged");
    }
}
