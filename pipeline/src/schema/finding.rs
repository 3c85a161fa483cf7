//! The finding: what a rule emits (OCSF Detection Finding 2004-aligned).
//!
//! One row per (rule, entity key, dedup window). `finding_id` is a hash of
//! exactly that triple, so replaying the same logs yields the same ids and
//! every sink can upsert on it.

use super::Timestamp;
use crate::row_type;

row_type! {
    /// A shadow-IT finding.
    pub struct Finding / FindingBuilder {
        /// Deterministic id: hash of rule id, dedup key values and dedup window start.
        finding_id: String,
        /// Event time of the first matching event.
        time: Timestamp,
        /// When floodlight raised the finding.
        detected_at: Timestamp,
        /// Catalogue id of the rule (e.g. `PF-02`).
        rule_id: String,
        /// Rule title.
        rule_title: String,
        /// `shadow_saas`, `email_forwarding` or `public_network`.
        family: String,
        /// `info`, `low`, `medium`, `high` or `critical`.
        severity: String,
        /// MITRE ATT&CK technique ids.
        attack: Vec<String>,
        /// Event class the rule read (`network`, `dns`, `auth`, `oauth`, `email`).
        class: String,
        /// The user the finding is about.
        user: Option<String>,
        /// The source IP involved, when relevant.
        src_ip: Option<String>,
        /// The device involved, when relevant.
        device: Option<String>,
        /// Catalog id of the app involved.
        app_id: Option<String>,
        /// Name of the app involved.
        app_name: Option<String>,
        /// Catalog category of the app.
        app_category: Option<String>,
        /// Status of the app for this organisation.
        app_status: Option<String>,
        /// The sanctioned app IT can offer instead.
        app_alternative: Option<String>,
        /// How many events matched.
        event_count: Option<i64>,
        /// Bytes involved (e.g. uploaded), when relevant.
        bytes: Option<i64>,
        /// Time of the first matching event.
        first_seen: Option<Timestamp>,
        /// Time of the last matching event.
        last_seen: Option<Timestamp>,
        /// Up to five `event_id`s of matching events.
        sample_event_ids: Vec<String>,
        /// Every other column the rule returned, as a JSON object.
        evidence: Option<String>,
        /// What was seen, why it matters, and what to offer instead, in plain words.
        message: String,
        /// 1 when first raised; each update with new totals (same `finding_id`) counts up.
        revision: Option<i32>,
        /// Matches of the same rule, key and window folded into this finding since it was raised.
        suppressed_count: Option<i64>,
    }
}
