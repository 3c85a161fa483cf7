//! The rule file format: one TOML file per rule under `queries/<family>/`,
//! holding metadata and the SQL. See `docs/rules.md`.
//!
//! ```toml
//! id = "SS-05"
//! title = "Remote-access or tunnel software in use"
//! family = "shadow_saas"
//! severity = "medium"
//! class = "dns"
//! attack = ["T1219.002"]
//! description = "..."
//! message = "{user} used {app_name} ({app_category}) ..."
//! [dedup]
//! key = ["user", "app_id"]
//! period = "24h"
//! [params]
//! categories = ["remote_access"]
//! sql = """SELECT ... FROM dns WHERE app_category IN {{categories}} ..."""
//! ```
//!
//! `{{name}}` in the SQL is replaced by the parameter's value as a SQL
//! literal (strings quoted, lists as `('a', 'b')`). Organisations override
//! parameters in config without editing the rule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::schema::EventClass;

/// Rule families (the detection catalogue's three groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// SS-xx: unsanctioned SaaS.
    ShadowSaas,
    /// PF-xx: mail forwarded to personal / external addresses.
    EmailForwarding,
    /// WF-xx: public Wi-Fi / tethering sign-ins.
    PublicNetwork,
}

impl Family {
    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::ShadowSaas => "shadow_saas",
            Family::EmailForwarding => "email_forwarding",
            Family::PublicNetwork => "public_network",
        }
    }
}

/// Finding severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// How repeated matches are folded into one finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dedup {
    /// Output columns that identify "the same thing" (e.g. `["user", "app_id"]`).
    pub key: Vec<String>,
    /// Window in which the same key raises one finding (`1h`, `24h`, `7d`).
    #[serde(default = "default_period")]
    pub period: String,
}

fn default_period() -> String {
    "24h".into()
}

/// A rule as written in its file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// Catalogue id (`SS-05`, `PF-02`, `WF-01`).
    pub id: String,
    /// Short title.
    pub title: String,
    /// Family.
    pub family: Family,
    /// Severity of findings.
    pub severity: Severity,
    /// Event class (table) the rule reads.
    pub class: String,
    /// Evaluation mode; `streaming` (per micro-batch filter / aggregate).
    #[serde(default = "default_mode")]
    pub mode: String,
    /// MITRE ATT&CK technique ids.
    #[serde(default)]
    pub attack: Vec<String>,
    /// Free tags (`shadow_it.genai`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// What the rule detects and why it matters.
    pub description: String,
    /// Known benign causes.
    #[serde(default)]
    pub false_positives: Vec<String>,
    /// Links.
    #[serde(default)]
    pub references: Vec<String>,
    /// Message template: `{column}` is replaced by the output column's value.
    pub message: String,
    /// Dedup settings.
    pub dedup: Dedup,
    /// Parameters with defaults, substituted into `{{name}}` in the SQL.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// The query.
    pub sql: String,
    /// Disabled rules are listed but not run.
    #[serde(default = "default_true")]
    pub enabled: bool,
}

fn default_mode() -> String {
    "streaming".into()
}
fn default_true() -> bool {
    true
}

/// A loaded, validated rule definition (not yet compiled).
#[derive(Debug, Clone)]
pub struct RuleDef {
    /// The file as written.
    pub file: RuleFile,
    /// Where it came from.
    pub path: PathBuf,
    /// Class it reads.
    pub class: EventClass,
    /// Dedup period.
    pub period: Duration,
    /// SQL with parameters substituted.
    pub sql: String,
    /// 1-based line in the file where the SQL text starts.
    pub sql_line: usize,
}

/// A rule that could not be loaded: file, line and what is wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct RuleError {
    /// Rule file.
    pub path: PathBuf,
    /// Line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl RuleDef {
    /// Parse and validate one rule file's text. `overrides` replace parameter defaults.
    pub fn parse(
        path: &Path,
        text: &str,
        overrides: Option<&BTreeMap<String, toml::Value>>,
    ) -> Result<RuleDef, RuleError> {
        let err = |line: Option<usize>, message: String| RuleError { path: path.to_path_buf(), line, message };
        let file: RuleFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let mut message = e.message().to_string();
            if message.contains("missing field `sql`") && text.lines().any(|l| l.trim_start().starts_with("sql")) {
                message.push_str(" (hint: `sql = ...` must come before the [dedup] and [params] tables; TOML puts keys written after a table header inside that table)");
            }
            err(line, message)
        })?;
        let key_line = |key: &str| text.lines().position(|l| l.trim_start().starts_with(key)).map(|i| i + 1);
        let class: EventClass = file.class.parse().map_err(|m| err(key_line("class"), m))?;
        if file.mode != "streaming" {
            return Err(err(
                key_line("mode"),
                format!("mode `{}` is not supported yet (supported: streaming)", file.mode),
            ));
        }
        if !valid_id(&file.id) {
            return Err(err(
                key_line("id"),
                format!("id `{}` must look like SS-01, PF-02 or WF-03 (letters, dash, digits)", file.id),
            ));
        }
        let period = humantime::parse_duration(&file.dedup.period)
            .map_err(|e| err(key_line("period"), format!("dedup.period `{}`: {e}", file.dedup.period)))?;
        if period.is_zero() {
            return Err(err(key_line("period"), "dedup.period must be greater than zero".into()));
        }
        if file.dedup.key.is_empty() {
            return Err(err(key_line("key"), "dedup.key must name at least one output column".into()));
        }
        let mut params = file.params.clone();
        if let Some(over) = overrides {
            for (k, v) in over {
                if !params.contains_key(k) {
                    return Err(err(
                        None,
                        format!(
                            "config overrides parameter `{k}`, which rule {} does not have (it has: {})",
                            file.id,
                            params.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
                params.insert(k.clone(), v.clone());
            }
        }
        let sql = substitute(&file.sql, &params).map_err(|m| err(key_line("sql"), m))?;
        let sql_line = key_line("sql").unwrap_or(1);
        Ok(RuleDef { file, path: path.to_path_buf(), class, period, sql, sql_line })
    }

    /// Load one rule file.
    pub fn load(path: &Path, overrides: Option<&BTreeMap<String, toml::Value>>) -> Result<RuleDef, RuleError> {
        let text = std::fs::read_to_string(path).map_err(|e| RuleError {
            path: path.to_path_buf(),
            line: None,
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(path, &text, overrides)
    }

    /// The rule id.
    pub fn id(&self) -> &str {
        &self.file.id
    }
}

fn valid_id(id: &str) -> bool {
    let mut parts = id.splitn(2, '-');
    let (Some(a), Some(b)) = (parts.next(), parts.next()) else { return false };
    !a.is_empty()
        && a.chars().all(|c| c.is_ascii_uppercase())
        && !b.is_empty()
        && b.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn line_of(text: &str, byte: usize) -> usize {
    text.get(..byte).map_or(1, |t| t.matches('\n').count() + 1)
}

/// Render a parameter as a SQL literal.
fn literal(v: &toml::Value) -> Result<String, String> {
    Ok(match v {
        toml::Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Array(a) => {
            if a.is_empty() {
                return Err("list parameters must not be empty (SQL has no empty IN list)".into());
            }
            let items: Result<Vec<_>, _> = a.iter().map(literal).collect();
            format!("({})", items?.join(", "))
        }
        other => return Err(format!("parameter value {other} is not a string, number, boolean or list")),
    })
}

/// Replace `{{name}}` with parameter literals; unknown names are errors.
pub fn substitute(sql: &str, params: &BTreeMap<String, toml::Value>) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("unclosed `{{` in sql")?;
        let name = after[..end].trim();
        let value = params
            .get(name)
            .ok_or_else(|| format!("sql uses parameter `{{{{{name}}}}}`, which is not declared in [params]"))?;
        out.push_str(&literal(value).map_err(|e| format!("parameter `{name}`: {e}"))?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Every `*.toml` rule file under `dir`, recursively, sorted.
pub fn rule_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let p = entry?.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "fixtures") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|e| e == "toml") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = r#"
id = "SS-05"
title = "t"
family = "shadow_saas"
severity = "medium"
class = "dns"
description = "d"
message = "{user}"
sql = """
SELECT user FROM dns WHERE app_category IN {{cats}} AND 1 < {{ min }}
"""
[dedup]
key = ["user"]
period = "24h"
[params]
cats = ["remote_access", "vpn_proxy"]
min = 3
"#;

    #[test]
    fn substitutes_parameters_and_applies_overrides() {
        let r = RuleDef::parse(Path::new("r.toml"), RULE, None).unwrap();
        assert!(r.sql.contains("IN ('remote_access', 'vpn_proxy') AND 1 < 3"), "{}", r.sql);
        assert_eq!(r.period, Duration::from_secs(86400));
        assert_eq!(r.sql_line, 9);
        let mut over = BTreeMap::new();
        over.insert("min".to_string(), toml::Value::Integer(10));
        let r = RuleDef::parse(Path::new("r.toml"), RULE, Some(&over)).unwrap();
        assert!(r.sql.contains("1 < 10"));
        over.insert("nope".to_string(), toml::Value::Integer(1));
        let e = RuleDef::parse(Path::new("r.toml"), RULE, Some(&over)).unwrap_err();
        assert!(e.message.contains("`nope`"), "{e}");
    }

    #[test]
    fn errors_name_file_and_line() {
        let bad = RULE.replace("severity = \"medium\"", "severity = \"urgent\"");
        let e = RuleDef::parse(Path::new("queries/x.toml"), &bad, None).unwrap_err();
        assert_eq!(e.line, Some(5));
        assert!(e.to_string().starts_with("queries/x.toml:5:"), "{e}");
        let bad = RULE.replace("class = \"dns\"", "class = \"proxy\"");
        let e = RuleDef::parse(Path::new("x.toml"), &bad, None).unwrap_err();
        assert_eq!(e.line, Some(6));
        let sql_block = &RULE[RULE.find("sql = ").unwrap()..RULE.find("[dedup]").unwrap()];
        let misplaced = format!("{}{sql_block}", RULE.replace(sql_block, ""));
        let e = RuleDef::parse(Path::new("x.toml"), &misplaced, None).unwrap_err();
        assert!(e.message.contains("must come before"), "{e}");
        let bad = RULE.replace("{{cats}}", "{{categories}}");
        assert!(RuleDef::parse(Path::new("x.toml"), &bad, None).unwrap_err().message.contains("categories"));
    }
}
