//! Attribution: the person behind an address, at the event's time.
//!
//! DNS logs and many firewall rules name an address, not a person
//! (`10.1.21.13` resolved `relay.anydesk.com`). Other logs of the same
//! network name both: a firewall session with a user-id, a proxy request
//! with an authenticated user, a sign-in from a desk. Attribution learns
//! from those who was on which internal address when ([`leases`]), and gives
//! a user-less row the person seen on its source address at its event time:
//! `user_id` is that person, `user_source = 'ip_lease'`.
//!
//! # Where it runs, and why the result does not depend on scheduling
//!
//! ```text
//!  worker: enrich ──▶ split ──▶ rows with a person (or none to find) ──▶ match now
//!                        │
//!                        ├──▶ sightings (time, address, person) ──┐
//!                        └──▶ user-less rows from an internal ────┤ filed by evaluation
//!                             address, held                       │ interval (checkpointed)
//!  detection stage: once the watermark passed an interval ◀───────┘
//!     learn its sightings and attribute its held rows in event-time order
//!     ──▶ enrich again with the person ──▶ match ──▶ the rules' pending output
//! ```
//!
//! A held row is attributed only after the watermark has passed its whole
//! evaluation interval, so every sighting at or before its time that is not
//! late has arrived, whatever worker, batch or partition it came in. The
//! rules lose nothing by the wait: they consume an interval only after the
//! same watermark passed it, and attribution always runs first.
//!
//! # What is held
//!
//! Rows of `network` and `dns` with no person, from an address in
//! `[rules.attribution] networks` (the private ranges by default), on time
//! for their stream. With `rows = "unsanctioned_apps"` (the default) only
//! rows whose destination is a catalog app that is not sanctioned, which
//! is what the shadow-SaaS rules look at and keeps the held rows few; with
//! `rows = "all"` every such row waits (memory grows with the rows of one
//! interval plus the allowed lateness). Rows of the events sinks are
//! written when read, with what was known then (`user_source = 'none'`).

pub mod leases;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Mutex;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch, StringArray};
use arrow::compute::filter_record_batch;
use arrow::error::ArrowError;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::detect::pending::{interval_of, Item, Pending};
use crate::internal_events::{emit, RowsAttributed};
use crate::schema::EventClass;
use crate::transform::enrich::{source_address_column, SOURCE_LOG};
use leases::Leases;

/// Which user-less rows wait for attribution (`[rules.attribution] rows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeldRows {
    /// Rows to a catalog app that is not sanctioned.
    UnsanctionedApps,
    /// Every user-less row from an internal address.
    All,
}

/// How attribution works (`[rules.attribution]`).
#[derive(Debug, Clone)]
pub struct AttributionSettings {
    /// Off: user-less rows stay without a person.
    pub enabled: bool,
    /// How long after a person's last sighting on an address they are still
    /// taken to be on it, microseconds.
    pub max_age: i64,
    /// Which rows wait.
    pub rows: HeldRows,
    /// Internal addresses: sightings and held rows come from these.
    pub networks: Vec<IpNet>,
}

impl Default for AttributionSettings {
    fn default() -> Self {
        AttributionSettings {
            enabled: true,
            max_age: 3_600_000_000,
            rows: HeldRows::UnsanctionedApps,
            networks: private_networks(),
        }
    }
}

/// RFC 1918, carrier-grade NAT (RFC 6598), IPv6 unique-local and link-local.
pub fn private_networks() -> Vec<IpNet> {
    ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7", "fe80::/10"]
        .iter()
        .filter_map(|n| n.parse().ok())
        .collect()
}

impl AttributionSettings {
    fn internal(&self, address: &str) -> bool {
        address.parse::<IpAddr>().is_ok_and(|ip| self.networks.iter().any(|n| n.contains(&ip)))
    }
}

/// At `time`, `person` was on `ip`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Sighting {
    time: i64,
    ip: String,
    person: String,
}

/// What a worker took out of one batch for attribution ([`Attribution::split`]).
#[derive(Default)]
pub struct Deferred {
    sightings: Vec<Sighting>,
    held: Vec<(EventClass, RecordBatch)>,
}

impl Deferred {
    /// Whether there is nothing to file.
    pub fn is_empty(&self) -> bool {
        self.sightings.is_empty() && self.held.is_empty()
    }

    /// Rows held.
    pub fn held_rows(&self) -> usize {
        self.held.iter().map(|(_, b)| b.num_rows()).sum()
    }
}

/// Held rows whose attribution is decided: their class's base columns and,
/// per row, the person attribution found (null: nobody).
pub struct Attributed {
    /// The class.
    pub class: EventClass,
    /// The rows, base columns.
    pub batch: RecordBatch,
    /// The person per row.
    pub leased: StringArray,
}

/// What attribution keeps between batches; checkpointed with rule state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AttributionState {
    leases: Leases,
    /// Sightings by evaluation interval.
    sightings: BTreeMap<i64, Vec<Sighting>>,
    /// Held `network` rows (base columns).
    network: Pending,
    /// Held `dns` rows (base columns).
    dns: Pending,
    /// Every interval before this event time has been released.
    released: Option<i64>,
}

impl AttributionState {
    fn held(&mut self, class: EventClass) -> Option<&mut Pending> {
        match class {
            EventClass::Network => Some(&mut self.network),
            EventClass::Dns => Some(&mut self.dns),
            _ => None,
        }
    }

    fn first(&self) -> Option<i64> {
        [self.sightings.keys().next().copied(), self.network.first(), self.dns.first()].into_iter().flatten().min()
    }

    /// Rows held.
    pub fn held_rows(&self) -> usize {
        self.network.rows() + self.dns.rows()
    }
}

/// The attribution stage's settings and state; see the module docs.
#[derive(Debug, Default)]
pub struct Attribution {
    settings: AttributionSettings,
    state: Mutex<AttributionState>,
}

fn text<'a>(batch: &'a RecordBatch, name: &str) -> Option<&'a StringArray> {
    batch.column_by_name(name).and_then(|c| c.as_string_opt::<i32>())
}

fn times(batch: &RecordBatch) -> Option<&arrow::array::TimestampMicrosecondArray> {
    batch.column_by_name("time").and_then(|c| c.as_primitive_opt::<arrow::datatypes::TimestampMicrosecondType>())
}

impl Attribution {
    /// Attribution with `settings` and empty state.
    pub fn new(settings: AttributionSettings) -> Self {
        Attribution { settings, state: Mutex::default() }
    }

    /// The settings.
    pub fn settings(&self) -> &AttributionSettings {
        &self.settings
    }

    fn state(&self) -> std::sync::MutexGuard<'_, AttributionState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A copy of the state, for a checkpoint.
    pub fn snapshot(&self) -> AttributionState {
        self.state().clone()
    }

    /// Replace the state with a checkpoint's.
    pub fn restore(&self, state: AttributionState) {
        *self.state() = state;
    }

    /// Rows held now.
    pub fn held_rows(&self) -> usize {
        self.state().held_rows()
    }

    /// In a worker: take the sightings out of an enriched `batch` of `class`
    /// and the rows to hold, among the rows `on_time` for their stream.
    /// Returns the mask of the rows that go to the rules now (`None`: all).
    pub fn split(
        &self,
        class: EventClass,
        batch: &RecordBatch,
        on_time: impl Fn(usize) -> bool,
        deferred: &mut Deferred,
    ) -> Result<Option<BooleanArray>, ArrowError> {
        if !self.settings.enabled || batch.num_rows() == 0 {
            return Ok(None);
        }
        let missing = |c: &str| ArrowError::SchemaError(format!("attribution: column `{c}` missing"));
        let address_col = source_address_column(class);
        let addresses = text(batch, address_col).ok_or_else(|| missing(address_col))?;
        let ids = text(batch, "user_id").ok_or_else(|| missing("user_id"))?;
        let sources = text(batch, "user_source").ok_or_else(|| missing("user_source"))?;
        let time = times(batch).ok_or_else(|| missing("time"))?;
        let holds = matches!(class, EventClass::Network | EventClass::Dns);
        let app = (holds && self.settings.rows == HeldRows::UnsanctionedApps)
            .then(|| Some((text(batch, "app_id")?, text(batch, "app_status")?)))
            .flatten();
        // One check per distinct address: logs repeat them. Both tables live
        // for this batch only: the fast hasher.
        let mut internal: foldhash::HashMap<&str, bool> = foldhash::HashMap::default();
        let mut seen: foldhash::HashSet<(i64, &str, &str)> = foldhash::HashSet::default();
        let mut held = Vec::new();
        let mut any_held = false;
        for row in 0..batch.num_rows() {
            let hold = 'row: {
                if addresses.is_null(row) || time.is_null(row) {
                    break 'row false;
                }
                let address = addresses.value(row);
                let is_internal = *internal.entry(address).or_insert_with(|| self.settings.internal(address));
                if !is_internal || !on_time(row) {
                    break 'row false;
                }
                if ids.is_valid(row) {
                    // A firewall logs a person many times a second: one sighting each.
                    let sighting = (time.value(row), address, ids.value(row));
                    if sources.is_valid(row) && sources.value(row) == SOURCE_LOG && seen.insert(sighting) {
                        deferred.sightings.push(Sighting {
                            time: sighting.0,
                            ip: address.to_string(),
                            person: sighting.2.to_string(),
                        });
                    }
                    break 'row false;
                }
                holds
                    && app.is_none_or(|(id, status)| {
                        id.is_valid(row) && !(status.is_valid(row) && status.value(row) == "sanctioned")
                    })
            };
            any_held |= hold;
            held.push(hold);
        }
        if !any_held {
            return Ok(None);
        }
        let mask = BooleanArray::from(held);
        let base_len = class.base_columns().len();
        let rows = filter_record_batch(batch, &mask)?.project(&(0..base_len).collect::<Vec<_>>())?;
        deferred.held.push((class, rows));
        Ok(Some(arrow::compute::not(&mask)?))
    }

    /// In the detection stage: file what a worker deferred, by evaluation
    /// interval. Held rows behind what was already released (a stream that
    /// was idle, or appeared after the watermark passed) are attributed at
    /// once, with the table as it is, and returned.
    pub fn file(&self, deferred: Deferred, interval: i64) -> Result<Vec<Attributed>, ArrowError> {
        let mut state = self.state();
        let released = state.released.unwrap_or(i64::MIN);
        let mut late_sightings = 0u64;
        for s in deferred.sightings {
            if s.time < released {
                late_sightings += 1;
            } else {
                state.sightings.entry(interval_of(s.time, interval)).or_default().push(s);
            }
        }
        let mut now = Vec::new();
        for (class, batch) in deferred.held {
            let Some(time) = times(&batch) else { continue };
            let behind = BooleanArray::from_iter(time.iter().map(|t| Some(t.is_none_or(|t| t < released))));
            // Usually nothing is behind: the batch is filed whole.
            let (later, behind) = match behind.true_count() {
                0 => (batch, None),
                _ => (
                    filter_record_batch(&batch, &arrow::compute::not(&behind)?)?,
                    Some(filter_record_batch(&batch, &behind)?),
                ),
            };
            if let Some(p) = state.held(class) {
                p.push_batch(&later, "time", interval).map_err(ArrowError::ComputeError)?;
            }
            if let Some(behind) = behind {
                let leased = self.attribute(&state.leases, class, &behind);
                now.push(Attributed { class, batch: behind, leased });
            }
        }
        drop(state);
        emit(RowsAttributed { attributed: count(&now), unattributed: uncounted(&now), late_sightings });
        Ok(now)
    }

    /// Release every interval that ends at or before `target` (all of them
    /// when `None`, at the end of the input): learn its sightings and
    /// attribute its held rows, in event-time order.
    pub fn release(&self, target: Option<i64>, interval: i64) -> Vec<Attributed> {
        let mut out = Vec::new();
        let mut state = self.state();
        while let Some(start) = state.first().filter(|s| target.is_none_or(|t| s.saturating_add(interval) <= t)) {
            let end = start.saturating_add(interval);
            let mut sightings = state.sightings.remove(&start).unwrap_or_default();
            sightings.sort_unstable();
            sightings.dedup();
            let mut held: Vec<(EventClass, RecordBatch)> = Vec::new();
            for class in [EventClass::Network, EventClass::Dns] {
                let Some(p) = state.held(class) else { continue };
                if p.first() == Some(start) {
                    if let Some((_, items)) = p.take_first() {
                        held.extend(items.into_iter().filter_map(|i| match i {
                            Item::Batch(b) => Some((class, b)),
                            _ => None,
                        }));
                    }
                }
            }
            // Every held row of the interval, in event-time order.
            let mut rows: Vec<(i64, usize, usize)> = Vec::new();
            for (b, (_, batch)) in held.iter().enumerate() {
                if let Some(time) = times(batch) {
                    rows.extend(time.iter().enumerate().filter_map(|(r, t)| Some((t?, b, r))));
                }
            }
            let addresses: Vec<Option<&StringArray>> =
                held.iter().map(|(class, batch)| text(batch, source_address_column(*class))).collect();
            rows.sort_unstable();
            let mut leased: Vec<Vec<Option<String>>> = held.iter().map(|(_, b)| vec![None; b.num_rows()]).collect();
            let mut next = sightings.iter().peekable();
            let max_age = self.settings.max_age;
            for (t, b, r) in rows {
                while let Some(s) = next.next_if(|s| s.time <= t) {
                    state.leases.learn(&s.ip, &s.person, s.time);
                }
                let address = addresses[b].filter(|a| a.is_valid(r)).map(|a| a.value(r));
                leased[b][r] = address.and_then(|a| state.leases.at(a, t, max_age)).map(str::to_string);
            }
            for s in next {
                state.leases.learn(&s.ip, &s.person, s.time);
            }
            state.leases.forget_before(end, max_age);
            state.released = Some(state.released.map_or(end, |r| r.max(end)));
            for ((class, batch), leased) in held.into_iter().zip(leased) {
                out.push(Attributed { class, batch, leased: StringArray::from(leased) });
            }
        }
        if let Some(t) = target {
            state.released = Some(state.released.map_or(t, |r| r.max(t)));
        }
        drop(state);
        emit(RowsAttributed { attributed: count(&out), unattributed: uncounted(&out), late_sightings: 0 });
        out
    }

    /// The person on each row's address at its time, from `leases` as they are.
    fn attribute(&self, leases: &Leases, class: EventClass, batch: &RecordBatch) -> StringArray {
        let (Some(addresses), Some(time)) = (text(batch, source_address_column(class)), times(batch)) else {
            return StringArray::new_null(batch.num_rows());
        };
        (0..batch.num_rows())
            .map(|r| {
                (addresses.is_valid(r) && time.is_valid(r))
                    .then(|| leases.at(addresses.value(r), time.value(r), self.settings.max_age))
                    .flatten()
            })
            .collect()
    }
}

fn count(rows: &[Attributed]) -> u64 {
    rows.iter().map(|a| (a.leased.len() - a.leased.null_count()) as u64).sum()
}

fn uncounted(rows: &[Attributed]) -> u64 {
    rows.iter().map(|a| a.leased.null_count() as u64).sum()
}

#[cfg(test)]
mod tests;
