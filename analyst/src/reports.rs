//! The questions analysts ask every day, answered from the lake's tables:
//!
//! - [`Lake::findings`]: findings (their latest revision) filtered by rule,
//!   family, severity, person, app, time and text, newest first, a page at a
//!   time with an opaque cursor;
//! - [`Lake::finding`]: one finding with every revision and its sample
//!   events resolved from the event tables;
//! - [`Lake::discovered_apps`]: the discovery report (per app: category,
//!   risk, status, people, devices, events, bytes up and down, first and last
//!   seen, a daily trend), from firewall and proxy events;
//! - [`Lake::user_profile`]: one person's shadow-IT picture.
//!
//! Every filter value travels as a query parameter (`$1`), never spliced
//! into SQL text, and every time filter also filters `date`, so the scan is
//! pruned to the days asked for.

use std::collections::BTreeMap;

use datafusion::scalar::ScalarValue;
use floodlight_pipeline::schema::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::AnalystError;
use crate::format::rows_json;
use crate::lake::Lake;

/// Filters for [`Lake::findings`]. Empty fields do not filter.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FindingFilter {
    /// Rule id (`SS-03`).
    pub rule: Option<String>,
    /// Family (`shadow_saas`, `email_forwarding`, `public_network`).
    pub family: Option<String>,
    /// Severity (`info` ... `critical`).
    pub severity: Option<String>,
    /// The person (the finding's `user`).
    pub user: Option<String>,
    /// App id or name.
    pub app: Option<String>,
    /// Only findings whose `time` is at or after this.
    pub since: Option<Timestamp>,
    /// Only findings whose `time` is before this.
    pub until: Option<Timestamp>,
    /// Words to find in the message or title (case-insensitive).
    pub text: Option<String>,
}

/// A page of findings.
#[derive(Debug, Clone, Serialize)]
pub struct FindingsPage {
    /// The findings, newest first (latest revision of each).
    pub findings: Vec<Map<String, Value>>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One finding with its history and evidence.
#[derive(Debug, Clone, Serialize)]
pub struct FindingDetail {
    /// The latest revision.
    pub finding: Map<String, Value>,
    /// Every revision, oldest first.
    pub revisions: Vec<Map<String, Value>>,
    /// The sample events the finding names, from the event table of its class.
    pub sample_events: Vec<Map<String, Value>>,
}

/// One day of an app's trend.
#[derive(Debug, Clone, Serialize)]
pub struct TrendPoint {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Events that day.
    pub events: i64,
    /// Distinct people that day.
    pub users: i64,
    /// Bytes uploaded that day.
    pub bytes_up: i64,
}

/// One row of the discovery report.
#[derive(Debug, Clone, Serialize)]
pub struct DiscoveredApp {
    /// Catalog id.
    pub app_id: String,
    /// Display name.
    pub name: Option<String>,
    /// Catalog category.
    pub category: Option<String>,
    /// Risk score, 0 (benign) to 10.
    pub risk: Option<i64>,
    /// `sanctioned`, `monitored`, `unsanctioned` or `unknown`, with the overlay applied.
    pub status: Option<String>,
    /// When a `monitored` exception ends (`YYYY-MM-DD`).
    pub expires: Option<String>,
    /// The sanctioned alternative.
    pub alternative: Option<String>,
    /// Distinct people.
    pub users: i64,
    /// Distinct devices (device name, or source IP without one).
    pub devices: i64,
    /// Events.
    pub events: i64,
    /// Bytes sent to the app.
    pub bytes_up: i64,
    /// Bytes received from it.
    pub bytes_down: i64,
    /// First event (RFC 3339).
    pub first_seen: Option<String>,
    /// Last event (RFC 3339).
    pub last_seen: Option<String>,
    /// Events, people and bytes per day, oldest first.
    pub trend: Vec<TrendPoint>,
}

/// One person's shadow-IT picture.
#[derive(Debug, Clone, Serialize)]
pub struct UserProfile {
    /// The person as asked for.
    pub user: String,
    /// Their directory entry, when the directory knows them.
    pub directory: Option<Map<String, Value>>,
    /// Findings about them by rule: (rule_id, severity, findings).
    pub findings_by_rule: Vec<Map<String, Value>>,
    /// Their latest findings, newest first (at most 50).
    pub recent_findings: Vec<Map<String, Value>>,
    /// The catalogued apps they used, most used first.
    pub apps: Vec<Map<String, Value>>,
}

const MAX_PAGE: usize = 500;

/// Collects `$n` parameters next to the SQL that uses them.
#[derive(Default)]
pub(crate) struct Params {
    pub(crate) values: Vec<ScalarValue>,
    conditions: Vec<String>,
}

impl Params {
    pub(crate) fn text(&mut self, v: &str) -> String {
        self.values.push(ScalarValue::Utf8(Some(v.to_string())));
        format!("${}", self.values.len())
    }
    pub(crate) fn time(&mut self, t: Timestamp) -> String {
        self.values.push(ScalarValue::TimestampMicrosecond(Some(t.micros()), Some("UTC".into())));
        format!("${}", self.values.len())
    }
    pub(crate) fn when(&mut self, condition: String) {
        self.conditions.push(condition);
    }
    /// `time >= since` (and `date >= since's day`, for pruning).
    pub(crate) fn since(&mut self, since: Option<Timestamp>) {
        if let Some(s) = since {
            let d = self.text(&s.date());
            let t = self.time(s);
            self.when(format!("date >= {d} AND time >= {t}"));
        }
    }
    pub(crate) fn until(&mut self, until: Option<Timestamp>) {
        if let Some(u) = until {
            let d = self.text(&u.date());
            let t = self.time(u);
            self.when(format!("date <= {d} AND time < {t}"));
        }
    }
    pub(crate) fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }
}

/// The position after the last finding of a page: its time and id.
fn encode_cursor(time_micros: i64, finding_id: &str) -> String {
    format!("{time_micros}.{finding_id}")
}

fn decode_cursor(cursor: &str) -> Result<(i64, String), AnalystError> {
    let bad = || AnalystError::Input(format!("cursor `{cursor}` is not one this API returned"));
    let (t, id) = cursor.split_once('.').ok_or_else(bad)?;
    let t = t.parse::<i64>().map_err(|_| bad())?;
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(bad());
    }
    Ok((t, id.to_string()))
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn time_micros(row: &Map<String, Value>, column: &str) -> Option<i64> {
    let text = row.get(column)?.as_str()?;
    let parsed = chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .or_else(|| chrono::DateTime::parse_from_rfc3339(&format!("{text}Z")).ok())?;
    Some(parsed.timestamp_micros())
}

impl Lake {
    /// A page of findings matching `filter`, newest first.
    pub async fn findings(
        &self,
        filter: &FindingFilter,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<FindingsPage, AnalystError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut p = Params::default();
        for (column, value) in [
            ("rule_id", non_empty(&filter.rule)),
            ("family", non_empty(&filter.family)),
            ("severity", non_empty(&filter.severity)),
            ("user", non_empty(&filter.user)),
        ] {
            if let Some(v) = value {
                let v = p.text(v);
                p.when(format!("\"{column}\" = {v}"));
            }
        }
        if let Some(app) = non_empty(&filter.app) {
            let v = p.text(app);
            p.when(format!("(app_id = {v} OR lower(app_name) = lower({v}))"));
        }
        if let Some(text) = non_empty(&filter.text) {
            let v = p.text(&format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
            p.when(format!("(message ILIKE {v} OR rule_title ILIKE {v})"));
        }
        p.since(filter.since);
        p.until(filter.until);
        if let Some(c) = cursor {
            let (t, id) = decode_cursor(c)?;
            let day = p.text(&Timestamp(t).date());
            let tv = p.time(Timestamp(t));
            let idv = p.text(&id);
            p.when(format!("date <= {day} AND (time < {tv} OR (time = {tv} AND finding_id < {idv}))"));
        }
        let sql = format!(
            "SELECT * FROM findings_latest{} ORDER BY time DESC, finding_id DESC LIMIT {}",
            p.where_clause(),
            limit + 1
        );
        let result = self.query_params(&sql, p.values, limit + 1).await?;
        let mut findings = rows_json(&result.batches)?;
        let next_cursor = if findings.len() > limit {
            findings.truncate(limit);
            findings.last().and_then(|last| {
                let t = time_micros(last, "time")?;
                let id = last.get("finding_id")?.as_str()?;
                Some(encode_cursor(t, id))
            })
        } else {
            None
        };
        Ok(FindingsPage { findings, next_cursor })
    }

    /// One finding: its revisions and its sample events.
    pub async fn finding(&self, finding_id: &str) -> Result<FindingDetail, AnalystError> {
        let mut p = Params::default();
        let id = p.text(finding_id);
        let sql = format!("SELECT * FROM findings WHERE finding_id = {id} ORDER BY revision");
        let result = self.query_params(&sql, p.values, 10_000).await?;
        let revisions = rows_json(&result.batches)?;
        let finding = revisions
            .last()
            .cloned()
            .ok_or_else(|| AnalystError::NotFound(format!("no finding `{finding_id}` in the lake")))?;
        let class = finding.get("class").and_then(Value::as_str).unwrap_or_default().to_string();
        let mut ids: Vec<String> = Vec::new();
        for r in &revisions {
            if let Some(list) = r.get("sample_event_ids").and_then(Value::as_array) {
                for v in list.iter().filter_map(Value::as_str) {
                    if !ids.iter().any(|x| x == v) {
                        ids.push(v.to_string());
                    }
                }
            }
        }
        let mut sample_events = Vec::new();
        if !ids.is_empty() && crate::lake::event_tables().any(|t| t == class) {
            let mut p = Params::default();
            let placeholders: Vec<String> = ids.iter().map(|i| p.text(i)).collect();
            p.when(format!("event_id IN ({})", placeholders.join(", ")));
            // The sample events lie between the finding's first and last
            // event: only those days are read.
            if let (Some(first), Some(last)) = (time_micros(&finding, "first_seen"), time_micros(&finding, "last_seen"))
            {
                let from = p.text(&Timestamp(first).date());
                let to = p.text(&Timestamp(last).date());
                p.when(format!("date >= {from} AND date <= {to}"));
            }
            let sql = format!("SELECT * FROM {class}{} ORDER BY time, event_id", p.where_clause());
            let events = self.query_params(&sql, p.values, ids.len()).await?;
            sample_events = rows_json(&events.batches)?;
        }
        Ok(FindingDetail { finding, revisions, sample_events })
    }

    /// The discovery report over firewall and proxy events since `since`
    /// (everything when `None`), riskiest and most used apps first.
    pub async fn discovered_apps(&self, since: Option<Timestamp>) -> Result<Vec<DiscoveredApp>, AnalystError> {
        let mut p = Params::default();
        p.when("app_id IS NOT NULL".into());
        p.since(since);
        let filter = p.where_clause();
        let sql = format!(
            "WITH n AS (SELECT app_id, app_name, app_category, app_risk, app_status, \"user\", \
                    COALESCE(device, src_ip) AS device, bytes_out, bytes_in, time, date FROM network{filter}) \
             SELECT n.app_id, COALESCE(max(a.name), max(n.app_name)) AS name, \
                    COALESCE(max(a.category), max(n.app_category)) AS category, \
                    CAST(COALESCE(max(a.risk), max(n.app_risk)) AS BIGINT) AS risk, \
                    COALESCE(max(a.status), max(n.app_status)) AS status, max(a.expires) AS expires, \
                    max(a.alternative) AS alternative, \
                    count(DISTINCT n.\"user\") AS users, count(DISTINCT n.device) AS devices, count(*) AS events, \
                    CAST(COALESCE(sum(n.bytes_out), 0) AS BIGINT) AS bytes_up, \
                    CAST(COALESCE(sum(n.bytes_in), 0) AS BIGINT) AS bytes_down, \
                    min(n.time) AS first_seen, max(n.time) AS last_seen \
             FROM n LEFT JOIN apps a ON a.app_id = n.app_id \
             GROUP BY n.app_id ORDER BY risk DESC NULLS LAST, users DESC, events DESC, n.app_id"
        );
        let apps = rows_json(&self.query_params(&sql, p.values.clone(), 100_000).await?.batches)?;
        let trend_sql = format!(
            "SELECT app_id, date, count(*) AS events, count(DISTINCT \"user\") AS users, \
                    CAST(COALESCE(sum(bytes_out), 0) AS BIGINT) AS bytes_up \
             FROM network{filter} GROUP BY app_id, date ORDER BY app_id, date"
        );
        let mut trends: BTreeMap<String, Vec<TrendPoint>> = BTreeMap::new();
        for row in rows_json(&self.query_params(&trend_sql, p.values, 10_000_000).await?.batches)? {
            let app = row.get("app_id").and_then(Value::as_str).unwrap_or_default().to_string();
            trends.entry(app).or_default().push(TrendPoint {
                date: text(&row, "date").unwrap_or_default(),
                events: int(&row, "events"),
                users: int(&row, "users"),
                bytes_up: int(&row, "bytes_up"),
            });
        }
        Ok(apps
            .into_iter()
            .map(|row| {
                let app_id = text(&row, "app_id").unwrap_or_default();
                DiscoveredApp {
                    trend: trends.remove(&app_id).unwrap_or_default(),
                    app_id,
                    name: text(&row, "name"),
                    category: text(&row, "category"),
                    risk: row.get("risk").and_then(Value::as_i64),
                    status: text(&row, "status"),
                    expires: text(&row, "expires"),
                    alternative: text(&row, "alternative"),
                    users: int(&row, "users"),
                    devices: int(&row, "devices"),
                    events: int(&row, "events"),
                    bytes_up: int(&row, "bytes_up"),
                    bytes_down: int(&row, "bytes_down"),
                    first_seen: text(&row, "first_seen"),
                    last_seen: text(&row, "last_seen"),
                }
            })
            .collect())
    }

    /// One person: directory entry, findings by rule, latest findings, apps used.
    pub async fn user_profile(&self, user: &str, since: Option<Timestamp>) -> Result<UserProfile, AnalystError> {
        let mut p = Params::default();
        let u = p.text(user);
        let directory = rows_json(
            &self
                .query_params(
                    &format!("SELECT * FROM users WHERE \"user\" = {u} OR lower(email) = lower({u}) LIMIT 1"),
                    p.values,
                    1,
                )
                .await?
                .batches,
        )?
        .into_iter()
        .next();

        let mut p = Params::default();
        let u = p.text(user);
        p.when(format!("\"user\" = {u}"));
        p.since(since);
        let filter = p.where_clause();
        let by_rule = rows_json(
            &self
                .query_params(
                    &format!(
                        "SELECT rule_id, max(rule_title) AS rule_title, severity, count(*) AS findings, \
                                CAST(sum(event_count) AS BIGINT) AS events, max(last_seen) AS last_seen \
                         FROM findings_latest{filter} GROUP BY rule_id, severity ORDER BY findings DESC, rule_id"
                    ),
                    p.values.clone(),
                    1_000,
                )
                .await?
                .batches,
        )?;
        let recent = rows_json(
            &self
                .query_params(
                    &format!("SELECT * FROM findings_latest{filter} ORDER BY time DESC, finding_id DESC LIMIT 50"),
                    p.values.clone(),
                    50,
                )
                .await?
                .batches,
        )?;
        let mut p2 = Params::default();
        let u2 = p2.text(user);
        p2.when(format!("\"user\" = {u2}"));
        p2.when("app_id IS NOT NULL".into());
        p2.since(since);
        let apps = rows_json(
            &self
                .query_params(
                    &format!(
                        "SELECT app_id, max(app_name) AS app_name, max(app_category) AS app_category, \
                                max(app_status) AS app_status, max(app_alternative) AS app_alternative, \
                                count(*) AS events, CAST(COALESCE(sum(bytes_out), 0) AS BIGINT) AS bytes_up, \
                                min(time) AS first_seen, max(time) AS last_seen \
                         FROM network{} GROUP BY app_id ORDER BY events DESC, app_id",
                        p2.where_clause()
                    ),
                    p2.values,
                    1_000,
                )
                .await?
                .batches,
        )?;
        if directory.is_none() && by_rule.is_empty() && apps.is_empty() {
            return Err(AnalystError::NotFound(format!(
                "`{user}` is not in the directory and has no findings or app use in the lake"
            )));
        }
        Ok(UserProfile { user: user.to_string(), directory, findings_by_rule: by_rule, recent_findings: recent, apps })
    }
}

pub(crate) fn text(row: &Map<String, Value>, column: &str) -> Option<String> {
    row.get(column).and_then(Value::as_str).map(str::to_string)
}

pub(crate) fn int(row: &Map<String, Value>, column: &str) -> i64 {
    row.get(column).and_then(Value::as_i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_tampering() {
        let c = encode_cursor(1_764_000_000_000_000, "0c1a4eb08cdd400cc3ded031f9b028e5");
        assert_eq!(
            decode_cursor(&c).expect("valid"),
            (1_764_000_000_000_000, "0c1a4eb08cdd400cc3ded031f9b028e5".into())
        );
        for bad in ["", "x.y", "12.", "12.a' OR 1=1 --", "12"] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
