//! The rule file format: one TOML file per rule under `queries/<family>/`,
//! holding metadata, the SQL and the settings of its mode. `docs/rules.md`
//! is the full reference; in short:
//!
//! ```toml
//! id = "SS-05"
//! title = "Remote-access or tunnel software in use"
//! family = "shadow_saas"
//! severity = "medium"
//! class = "dns"
//! mode = "streaming"            # streaming | windowed | first_seen | correlation
//! attack = ["T1219.002"]
//! description = "..."
//! message = "{user} used {app_name} ({app_category}) ..."
//! sql = """SELECT ... FROM dns WHERE app_category IN {{categories}} ..."""
//! [dedup]
//! key = ["user", "app_id"]
//! period = "24h"
//! [params]
//! categories = ["remote_access"]
//! ```
//!
//! Any rule may set `lateness = "15m"`: how far behind its stream's newest
//! event a row may arrive and still count for it (at least the stream's own
//! allowed lateness; see [`crate::event_time`]).
//!
//! Windowed rules add `[window]` (size, slide, key, aggregates,
//! `where`, optional `[window.baseline]`), first-seen rules `[first_seen]`
//! (key, lookback, learning), correlation rules `[correlation]` (entity,
//! within, `[correlation.first]` and `[[correlation.then]]` steps with their
//! own class and SQL).
//!
//! `{{name}}` in SQL (the rule's, a `where` condition, a step's) is replaced
//! by the parameter's value as a SQL literal (strings quoted, lists as
//! `('a', 'b')`); in a setting such as `lookback = "{{lookback}}"` by its
//! plain text. Organisations override parameters in config without editing
//! the rule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::correlation::CorrelationSpec;
use super::first_seen::FirstSeenSpec;
use super::windowed::{AggSpec, BaselineSpec, WindowSpec};
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
    /// Rules brought from another format (`floodlight rules import-sigma`).
    Imported,
}

impl Family {
    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::ShadowSaas => "shadow_saas",
            Family::EmailForwarding => "email_forwarding",
            Family::PublicNetwork => "public_network",
            Family::Imported => "imported",
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

/// `[window]` of a windowed rule, as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowFile {
    /// Window length (`1h`, `7d`).
    pub size: String,
    /// Slide; omitted = `size` (tumbling windows).
    #[serde(default)]
    pub slide: Option<String>,
    /// Same as the rule's top-level `lateness` (kept for rules written before it existed).
    #[serde(default)]
    pub lateness: Option<String>,
    /// Output columns the window is kept per (`["user", "app_id"]`).
    pub key: Vec<String>,
    /// Event-time column of the SQL output (default `time`).
    #[serde(default)]
    pub time: Option<String>,
    /// `name = "func(column)"`: count(), sum(), min(), max(), distinct(), sample(), first().
    #[serde(default)]
    pub aggregates: BTreeMap<String, String>,
    /// SQL condition over the `window` table that makes a window a finding.
    #[serde(rename = "where")]
    pub condition: String,
    /// Extra output columns computed from the window (`"cardinality(users) AS user_count"`).
    #[serde(default)]
    pub select: Vec<String>,
    /// Optional per-key baseline of past windows.
    #[serde(default)]
    pub baseline: Option<BaselineFile>,
    /// Most keys kept (default 1,000,000).
    #[serde(default)]
    pub max_keys: Option<usize>,
    /// No findings for windows that start less than this after the state's
    /// first event (default `0s`): lets `first()` and baselines learn.
    #[serde(default)]
    pub learning: Option<String>,
    /// How long a key is remembered after its last event (for `first()`;
    /// default: the baseline's days, else nothing beyond its panes).
    #[serde(default)]
    pub remember: Option<String>,
}

/// `[window.baseline]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    /// The aggregate whose past values form the baseline.
    pub of: String,
    /// Days of history (default 30).
    #[serde(default = "default_baseline_days")]
    pub days: u32,
    /// Quantile, 0–1 (default 0.95).
    #[serde(default = "default_quantile")]
    pub quantile: f64,
}

fn default_baseline_days() -> u32 {
    30
}
fn default_quantile() -> f64 {
    0.95
}

/// `[first_seen]` of a first-seen rule, as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstSeenFile {
    /// Output columns that make the key (`["user", "app_id"]`).
    pub key: Vec<String>,
    /// A key unseen for this long is new again (`30d`).
    pub lookback: String,
    /// No findings until the state is this old (default `0s`).
    #[serde(default)]
    pub learning: Option<String>,
    /// Event-time column of the SQL output (default `time`).
    #[serde(default)]
    pub time: Option<String>,
    /// Most keys kept (default 1,000,000).
    #[serde(default)]
    pub max_keys: Option<usize>,
}

/// `[correlation]` of a correlation rule, as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrelationFile {
    /// The column every step returns that names the entity (`user`).
    pub entity: String,
    /// The second event must follow the first within this (`1h`).
    pub within: String,
    /// Events kept per entity and side (default 16).
    #[serde(default)]
    pub max_per_entity: Option<usize>,
    /// The first event.
    pub first: StepFile,
    /// What may follow it (any of these).
    pub then: Vec<StepFile>,
}

/// One step of a correlation rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepFile {
    /// Event class (table) the step reads.
    pub class: String,
    /// Its query; returns the entity column, `time` and `event_id`.
    pub sql: String,
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
    /// Event class (table) the rule reads, or a list (`["network", "dns"]`):
    /// the rule runs on batches of each, and its SQL may read all of them
    /// (`... FROM network UNION ALL ... FROM dns`; per batch only one has
    /// rows). Correlation rules name it per step.
    #[serde(default)]
    pub class: Option<ClassList>,
    /// `streaming`, `windowed`, `first_seen` or `correlation`.
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
    /// The query (all modes but correlation).
    #[serde(default)]
    pub sql: Option<String>,
    /// Disabled rules are listed but not run.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// How far behind its stream's newest event a row may be and still count
    /// for this rule (default: the stream's allowed lateness; a rule can only
    /// allow more).
    #[serde(default)]
    pub lateness: Option<String>,
    /// Dedup settings.
    pub dedup: Dedup,
    /// Parameters with defaults, substituted into `{{name}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, toml::Value>,
    /// Windowed mode settings.
    #[serde(default)]
    pub window: Option<WindowFile>,
    /// First-seen mode settings.
    #[serde(default)]
    pub first_seen: Option<FirstSeenFile>,
    /// Correlation mode settings.
    #[serde(default)]
    pub correlation: Option<CorrelationFile>,
    /// Who wrote the rule, when it came from elsewhere (imported Sigma rules keep their author).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The rule's licence when it is not the rule pack's (imported Sigma rules: `DRL-1.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Where an imported rule came from; `rules export-sigma` reuses its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<ImportedFrom>,
}

/// `[imported]`: the provenance of a rule converted from another format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedFrom {
    /// The source format (`sigma`).
    pub format: String,
    /// The rule's id in that format (a Sigma UUID).
    pub id: String,
    /// The file it was converted from, as given to the importer.
    pub file: String,
    /// The source rule's status (`stable`, `test`, `experimental`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The source's log source, as written (`product: okta, service: okta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logsource: Option<String>,
    /// Date of the source rule, and of its last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Last modification of the source rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
}

fn default_mode() -> String {
    "streaming".into()
}
fn default_true() -> bool {
    true
}

/// `class = "dns"` or `class = ["network", "dns"]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClassList {
    /// One class.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl ClassList {
    fn names(&self) -> Vec<&str> {
        match self {
            ClassList::One(c) => vec![c.as_str()],
            ClassList::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// A windowed rule, validated.
#[derive(Debug, Clone)]
pub struct WindowDef {
    /// Window settings (aggregates as written; the implicit ones are added at compile).
    pub spec: WindowSpec,
    /// The `where` condition, parameters substituted.
    pub condition: String,
    /// Extra columns, parameters substituted.
    pub select: Vec<String>,
}

/// One step of a correlation rule, validated.
#[derive(Debug, Clone)]
pub struct StepDef {
    /// Class it reads.
    pub class: EventClass,
    /// SQL with parameters substituted.
    pub sql: String,
}

/// A correlation rule, validated.
#[derive(Debug, Clone)]
pub struct CorrelationDef {
    /// Settings.
    pub spec: CorrelationSpec,
    /// The first event.
    pub first: StepDef,
    /// What may follow.
    pub then: Vec<StepDef>,
}

/// How a rule is evaluated.
#[derive(Debug, Clone)]
pub enum ModeDef {
    /// A filter / projection / aggregate over each micro-batch.
    Streaming,
    /// Event-time windows with thresholds.
    Windowed(WindowDef),
    /// Keys not seen in a lookback period.
    FirstSeen(FirstSeenSpec),
    /// A followed by B for the same entity.
    Correlation(CorrelationDef),
}

impl ModeDef {
    /// The mode's name as written in rule files.
    pub fn name(&self) -> &'static str {
        match self {
            ModeDef::Streaming => "streaming",
            ModeDef::Windowed(_) => "windowed",
            ModeDef::FirstSeen(_) => "first_seen",
            ModeDef::Correlation(_) => "correlation",
        }
    }
}

/// A loaded, validated rule definition (not yet compiled).
#[derive(Debug, Clone)]
pub struct RuleDef {
    /// The file as written.
    pub file: RuleFile,
    /// Where it came from.
    pub path: PathBuf,
    /// Class it reads (the first of `classes`; correlation: the first step's).
    pub class: EventClass,
    /// Every class whose batches the rule's main SQL runs on.
    pub classes: Vec<EventClass>,
    /// Dedup period.
    pub period: Duration,
    /// SQL with parameters substituted (correlation: the first step's).
    pub sql: String,
    /// 1-based line in the file where the SQL text starts.
    pub sql_line: usize,
    /// Mode and its settings.
    pub mode: ModeDef,
    /// Parameters after config overrides.
    pub params: BTreeMap<String, toml::Value>,
    /// The lateness the rule allows beyond its streams' own, microseconds (0: none).
    pub lateness: i64,
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

/// Default bound on keys per stateful rule.
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Appended to errors caused by a top-level key written after a table header.
const MISPLACED_HINT: &str = " (hint: top-level keys such as `sql = ...` must come before the first [table]; TOML puts keys written after a table header inside that table)";

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
            if message.contains("missing field") && text.lines().any(|l| l.trim_start().starts_with("sql")) {
                message.push_str(MISPLACED_HINT);
            }
            err(line, message)
        })?;
        let key_line = |key: &str| {
            text.lines()
                .position(|l| {
                    let l = l.trim_start();
                    l.strip_prefix(key).is_some_and(|r| r.trim_start().starts_with('=') || r.starts_with(']'))
                })
                .map(|i| i + 1)
        };
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
        // `{{name}}` in a setting (durations, lists) is replaced by the parameter's text.
        let setting = |name: &str, v: &str| substitute_text(v, &params).map_err(|m| err(key_line(name), m));
        let duration = |name: &str, v: &str| -> Result<i64, RuleError> {
            let v = setting(name, v)?;
            let d = humantime::parse_duration(&v).map_err(|e| err(key_line(name), format!("{name} `{v}`: {e}")))?;
            Ok(micros(d))
        };
        let class_of =
            |name: &str, c: &str| -> Result<EventClass, RuleError> { c.parse().map_err(|m| err(key_line(name), m)) };
        let needs = |table: &str, present: bool| -> Result<(), RuleError> {
            if present {
                Ok(())
            } else {
                Err(err(key_line("mode"), format!("mode `{}` needs a [{table}] table", file.mode)))
            }
        };
        let unexpected = |table: &str, present: bool| -> Result<(), RuleError> {
            if present {
                Err(err(
                    key_line(&format!("[{table}")),
                    format!("[{table}] is only read by mode `{table}`; this rule's mode is `{}`", file.mode),
                ))
            } else {
                Ok(())
            }
        };
        let main_sql = |file: &RuleFile| -> Result<(String, usize), RuleError> {
            let sql = file.sql.as_deref().ok_or_else(|| {
                let mut message = format!("mode `{}` needs `sql = ...`", file.mode);
                if text.lines().any(|l| l.trim_start().starts_with("sql")) {
                    message.push_str(MISPLACED_HINT);
                }
                err(None, message)
            })?;
            Ok((substitute(sql, &params).map_err(|m| err(key_line("sql"), m))?, key_line("sql").unwrap_or(1)))
        };
        let main_classes = |file: &RuleFile| -> Result<Vec<EventClass>, RuleError> {
            let c =
                file.class.as_ref().ok_or_else(|| err(None, format!("mode `{}` needs `class = ...`", file.mode)))?;
            let names = c.names();
            if names.is_empty() {
                return Err(err(key_line("class"), "class must name at least one event class".into()));
            }
            names.into_iter().map(|n| class_of("class", n)).collect()
        };
        let (classes, sql, sql_line, mode) = match file.mode.as_str() {
            "streaming" => {
                unexpected("window", file.window.is_some())?;
                unexpected("first_seen", file.first_seen.is_some())?;
                unexpected("correlation", file.correlation.is_some())?;
                let (sql, line) = main_sql(&file)?;
                (main_classes(&file)?, sql, line, ModeDef::Streaming)
            }
            "windowed" => {
                needs("window", file.window.is_some())?;
                unexpected("first_seen", file.first_seen.is_some())?;
                unexpected("correlation", file.correlation.is_some())?;
                let w = file.window.as_ref().ok_or_else(|| err(None, "no [window]".into()))?;
                let size = duration("size", &w.size)?;
                let slide = match &w.slide {
                    Some(s) => duration("slide", s)?,
                    None => size,
                };
                if size <= 0 || slide <= 0 || size % slide != 0 {
                    return Err(err(
                        key_line("size"),
                        "window.size must be a positive multiple of window.slide".into(),
                    ));
                }
                if size / slide > 10_000 {
                    return Err(err(
                        key_line("slide"),
                        "window.size / window.slide must be at most 10,000 panes".into(),
                    ));
                }
                let mut aggregates = Vec::new();
                for (name, expr) in &w.aggregates {
                    let expr = setting("aggregates", expr)?;
                    aggregates.push(AggSpec::parse(name, &expr).map_err(|m| err(key_line(name), m))?);
                }
                let baseline = match &w.baseline {
                    None => None,
                    Some(b) => {
                        if !(0.0..=1.0).contains(&b.quantile) || b.days == 0 {
                            return Err(err(
                                key_line("quantile"),
                                "window.baseline: quantile must be within 0–1 and days at least 1".into(),
                            ));
                        }
                        Some(BaselineSpec {
                            of: b.of.clone(),
                            history: i64::from(b.days) * 86_400_000_000,
                            quantile: b.quantile,
                        })
                    }
                };
                if w.key.is_empty() {
                    return Err(err(key_line("key"), "window.key must name at least one output column".into()));
                }
                let spec = WindowSpec {
                    size,
                    slide,
                    key: w.key.clone(),
                    time: w.time.clone().unwrap_or_else(|| "time".into()),
                    aggregates,
                    baseline,
                    max_keys: w.max_keys.unwrap_or(DEFAULT_MAX_KEYS),
                    learning: duration("learning", w.learning.as_deref().unwrap_or("0s"))?,
                    remember: match &w.remember {
                        Some(r) => duration("remember", r)?,
                        None => 0,
                    },
                };
                let condition = substitute(&w.condition, &params).map_err(|m| err(key_line("where"), m))?;
                let select = w
                    .select
                    .iter()
                    .map(|c| substitute(c, &params).map_err(|m| err(key_line("select"), m)))
                    .collect::<Result<Vec<_>, _>>()?;
                let (sql, line) = main_sql(&file)?;
                (main_classes(&file)?, sql, line, ModeDef::Windowed(WindowDef { spec, condition, select }))
            }
            "first_seen" => {
                needs("first_seen", file.first_seen.is_some())?;
                unexpected("window", file.window.is_some())?;
                unexpected("correlation", file.correlation.is_some())?;
                let f = file.first_seen.as_ref().ok_or_else(|| err(None, "no [first_seen]".into()))?;
                if f.key.is_empty() {
                    return Err(err(key_line("key"), "first_seen.key must name at least one output column".into()));
                }
                let spec = FirstSeenSpec {
                    key: f.key.clone(),
                    time: f.time.clone().unwrap_or_else(|| "time".into()),
                    lookback: duration("lookback", &f.lookback)?,
                    learning: duration("learning", f.learning.as_deref().unwrap_or("0s"))?,
                    max_keys: f.max_keys.unwrap_or(DEFAULT_MAX_KEYS),
                };
                let (sql, line) = main_sql(&file)?;
                (main_classes(&file)?, sql, line, ModeDef::FirstSeen(spec))
            }
            "correlation" => {
                needs("correlation", file.correlation.is_some())?;
                unexpected("window", file.window.is_some())?;
                unexpected("first_seen", file.first_seen.is_some())?;
                if file.sql.is_some() {
                    return Err(err(
                        key_line("sql"),
                        "correlation rules put their SQL in [correlation.first] and [[correlation.then]]".into(),
                    ));
                }
                let c = file.correlation.as_ref().ok_or_else(|| err(None, "no [correlation]".into()))?;
                if c.then.is_empty() {
                    return Err(err(
                        key_line("[correlation"),
                        "correlation needs at least one [[correlation.then]] step".into(),
                    ));
                }
                let step = |s: &StepFile| -> Result<StepDef, RuleError> {
                    Ok(StepDef {
                        class: class_of("class", &s.class)?,
                        sql: substitute(&s.sql, &params).map_err(|m| err(key_line("sql"), m))?,
                    })
                };
                let first = step(&c.first)?;
                let then = c.then.iter().map(step).collect::<Result<Vec<_>, _>>()?;
                let spec = CorrelationSpec {
                    entity: c.entity.clone(),
                    within: duration("within", &c.within)?,
                    max_per_entity: c.max_per_entity.unwrap_or(16).max(1),
                };
                let classes = vec![first.class];
                (
                    classes,
                    first.sql.clone(),
                    key_line("sql").unwrap_or(1),
                    ModeDef::Correlation(CorrelationDef { spec, first, then }),
                )
            }
            other => {
                return Err(err(
                    key_line("mode"),
                    format!("mode `{other}` is not one of streaming, windowed, first_seen, correlation"),
                ))
            }
        };
        let class = classes[0];
        let window_lateness = file.window.as_ref().and_then(|w| w.lateness.clone());
        let lateness = match (&file.lateness, &window_lateness) {
            (Some(_), Some(_)) => {
                return Err(err(
                    key_line("lateness"),
                    "set `lateness` once: at the top of the rule (window.lateness is its old name)".into(),
                ))
            }
            (Some(l), None) | (None, Some(l)) => duration("lateness", l)?,
            (None, None) => 0,
        };
        let mut file = file;
        file.message = substitute_text(&file.message, &params).map_err(|m| err(key_line("message"), m))?;
        Ok(RuleDef { file, path: path.to_path_buf(), class, classes, period, sql, sql_line, mode, params, lateness })
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

    /// A hash of everything that shapes the rule's state (mode, SQL, window,
    /// key, lookback...): checkpointed state is restored only into a rule
    /// with the same fingerprint.
    pub fn fingerprint(&self) -> String {
        let mut parts: Vec<String> =
            vec![self.id().to_string(), self.file.mode.clone(), self.sql.clone(), self.file.dedup.key.join(",")];
        match &self.mode {
            ModeDef::Streaming => {}
            ModeDef::Windowed(w) => parts.push(format!("{:?}", w.spec)),
            ModeDef::FirstSeen(f) => parts.push(format!("{f:?}")),
            ModeDef::Correlation(c) => parts.push(format!("{:?}{:?}{:?}", c.spec, c.first, c.then)),
        }
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        crate::origin::stable_id(&refs)
    }

    /// The classes the rule reads.
    pub fn classes(&self) -> Vec<EventClass> {
        match &self.mode {
            ModeDef::Correlation(c) => {
                let mut v: Vec<EventClass> =
                    std::iter::once(c.first.class).chain(c.then.iter().map(|s| s.class)).collect();
                v.sort();
                v.dedup();
                v
            }
            _ => self.classes.clone(),
        }
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

/// A text as a SQL string literal: `it's` → `'it''s'`.
pub fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Render a parameter as a SQL literal.
fn literal(v: &toml::Value) -> Result<String, String> {
    Ok(match v {
        toml::Value::String(s) => sql_string(s),
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

/// Replace `{{name}}` in a setting with the parameter's plain text (a
/// string without quotes, a number); unknown names are errors.
pub fn substitute_text(text: &str, params: &BTreeMap<String, toml::Value>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("unclosed `{{`")?;
        let name = after[..end].trim();
        let value = params
            .get(name)
            .ok_or_else(|| format!("uses parameter `{{{{{name}}}}}`, which is not declared in [params]"))?;
        match value {
            toml::Value::String(s) => out.push_str(s),
            toml::Value::Integer(i) => out.push_str(&i.to_string()),
            toml::Value::Float(f) => out.push_str(&f.to_string()),
            other => {
                return Err(format!(
                    "parameter `{name}` = {other} cannot be used in a setting (strings and numbers only)"
                ))
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
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

/// Every `*.toml` rule file under `dir`, recursively, sorted. Hidden
/// directories are skipped: a Kubernetes ConfigMap volume keeps every file
/// twice, once under a `..data` / `..<timestamp>` directory.
pub fn rule_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let p = entry?.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "fixtures" && !n.to_string_lossy().starts_with('.')) {
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

    #[test]
    fn rule_files_skip_fixtures_and_hidden_directories() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a.toml", "sub/b.toml", "fixtures/SS-01/case.toml", "..data/a.toml", "..2026_12_05/a.toml", "c.sql"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let found: Vec<PathBuf> =
            rule_files(dir.path()).unwrap().iter().map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf()).collect();
        assert_eq!(found, [PathBuf::from("a.toml"), PathBuf::from("sub/b.toml")]);
    }

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
