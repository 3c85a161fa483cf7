//! The questions the web console's pages ask besides the reports of
//! [`crate::reports`]: how far the lake reaches, findings per day for the
//! overview's charts, who uses one app, where one person signs in from, and
//! the people with the most findings.
//!
//! Like the reports, every value is a query parameter and every time filter
//! also filters `date`, so only the days asked for are read.

use floodlight_pipeline::schema::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::AnalystError;
use crate::format::rows_json;
use crate::lake::Lake;
use crate::reports::{int, text, Params};

/// Findings of one family and severity raised on one day (by the day of
/// their first event), for the overview's charts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingsPerDay {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// `shadow_saas`, `email_forwarding`, `public_network`.
    pub family: String,
    /// `info` ... `critical`.
    pub severity: String,
    /// Findings (latest revision of each).
    pub findings: i64,
}

impl Lake {
    /// The newest day (`YYYY-MM-DD`) with findings, firewall or sign-in
    /// events; `None` for an empty lake. Reads partition folders' values,
    /// not the files' rows.
    pub async fn newest_day(&self) -> Result<Option<String>, AnalystError> {
        let sql = "SELECT max(d) AS d FROM (SELECT max(date) AS d FROM findings_raw \
                   UNION ALL SELECT max(date) AS d FROM network_raw \
                   UNION ALL SELECT max(date) AS d FROM auth_raw)";
        let rows = rows_json(&self.query_params(sql, Params::default().values, 1).await?.batches)?;
        Ok(rows.first().and_then(|r| text(r, "d")))
    }

    /// Findings per day, family and severity since `since`, oldest day first.
    pub async fn findings_per_day(&self, since: Option<Timestamp>) -> Result<Vec<FindingsPerDay>, AnalystError> {
        let mut p = Params::default();
        p.since(since);
        let sql = format!(
            "SELECT date, family, severity, count(*) AS findings FROM findings_latest{} \
             GROUP BY date, family, severity ORDER BY date, family, severity",
            p.where_clause()
        );
        let rows = rows_json(&self.query_params(&sql, p.values, 100_000).await?.batches)?;
        Ok(rows
            .iter()
            .map(|r| FindingsPerDay {
                date: text(r, "date").unwrap_or_default(),
                family: text(r, "family").unwrap_or_default(),
                severity: text(r, "severity").unwrap_or_default(),
                findings: int(r, "findings"),
            })
            .collect())
    }

    /// The people using `app_id` (firewall and proxy events) since `since`,
    /// most events first, at most `limit`: `user`, `devices`, `events`,
    /// `bytes_up`, `bytes_down`, `first_seen`, `last_seen`.
    pub async fn app_people(
        &self,
        app_id: &str,
        since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<Map<String, Value>>, AnalystError> {
        let mut p = Params::default();
        let app = p.text(app_id);
        p.when(format!("app_id = {app}"));
        p.since(since);
        let sql = format!(
            "SELECT COALESCE(\"user\", '') AS \"user\", count(DISTINCT COALESCE(device, src_ip)) AS devices, \
                    count(*) AS events, CAST(COALESCE(sum(bytes_out), 0) AS BIGINT) AS bytes_up, \
                    CAST(COALESCE(sum(bytes_in), 0) AS BIGINT) AS bytes_down, \
                    min(time) AS first_seen, max(time) AS last_seen \
             FROM network{} GROUP BY COALESCE(\"user\", '') ORDER BY events DESC, \"user\" LIMIT {limit}",
            p.where_clause()
        );
        rows_json(&self.query_params(&sql, p.values, limit).await?.batches)
    }

    /// Where `user` signed in from since `since` (identity provider sign-ins):
    /// per network type, country, city and network owner, with the sign-ins,
    /// the failed ones and the last one, most sign-ins first.
    pub async fn sign_in_networks(
        &self,
        user: &str,
        since: Option<Timestamp>,
    ) -> Result<Vec<Map<String, Value>>, AnalystError> {
        let mut p = Params::default();
        let u = p.text(user);
        p.when(format!("(\"user\" = {u} OR lower(user_email) = lower({u}))"));
        p.since(since);
        let sql = format!(
            "SELECT network_type, geo_country, geo_city, as_org, count(*) AS sign_ins, \
                    count(*) FILTER (WHERE lower(result) IN ('failure', 'failed', 'deny', 'denied')) AS failures, \
                    count(DISTINCT src_ip) AS addresses, max(time) AS last_seen \
             FROM auth{} GROUP BY network_type, geo_country, geo_city, as_org \
             ORDER BY sign_ins DESC, last_seen DESC LIMIT 200",
            p.where_clause()
        );
        rows_json(&self.query_params(&sql, p.values, 200).await?.batches)
    }

    /// How many people have findings since `since`.
    pub async fn count_people_with_findings(&self, since: Option<Timestamp>) -> Result<i64, AnalystError> {
        let mut p = Params::default();
        p.when("\"user\" IS NOT NULL".into());
        p.since(since);
        let sql = format!("SELECT count(DISTINCT \"user\") AS people FROM findings_latest{}", p.where_clause());
        let rows = rows_json(&self.query_params(&sql, p.values, 1).await?.batches)?;
        Ok(rows.first().map(|r| int(r, "people")).unwrap_or(0))
    }

    /// The people with findings since `since`, most findings first, at most
    /// `limit`: `user`, `findings`, `high` (high or critical ones), `rules`,
    /// `apps`, `last_seen`.
    pub async fn people_with_findings(
        &self,
        since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<Map<String, Value>>, AnalystError> {
        let mut p = Params::default();
        p.when("\"user\" IS NOT NULL".into());
        p.since(since);
        let sql = format!(
            "SELECT \"user\", count(*) AS findings, \
                    count(*) FILTER (WHERE severity IN ('high', 'critical')) AS high, \
                    count(DISTINCT rule_id) AS rules, count(DISTINCT app_id) AS apps, max(last_seen) AS last_seen \
             FROM findings_latest{} GROUP BY \"user\" ORDER BY findings DESC, \"user\" LIMIT {limit}",
            p.where_clause()
        );
        rows_json(&self.query_params(&sql, p.values, limit).await?.batches)
    }
}
