//! Sigma documents as read from YAML: detection rules and correlation rules.
//!
//! A file may hold several documents (`---`), as the Sigma correlation
//! specification does to ship a correlation with the rules it refers to.
//! Everything is read loosely (a misspelled key is ignored, as Sigma tools
//! do); what the conversion needs is checked when it converts.

use std::path::{Path, PathBuf};

use serde_norway::{Mapping, Value};

use crate::Refusal;

/// One Sigma document.
#[derive(Debug, Clone)]
pub struct SigmaDoc {
    /// The file it came from.
    pub file: PathBuf,
    /// Its place in the file (0 for the first document).
    pub index: usize,
    /// Metadata every document has.
    pub meta: Meta,
    /// A detection rule or a correlation rule.
    pub body: Body,
}

/// Metadata shared by detection and correlation rules.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// `title`.
    pub title: String,
    /// `id` (a UUID), when given.
    pub id: Option<String>,
    /// `name`, by which correlation rules refer to a rule.
    pub name: Option<String>,
    /// `status`.
    pub status: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `author`.
    pub author: Option<String>,
    /// `license` (SigmaHQ rules are DRL 1.1 without saying so in the rule).
    pub license: Option<String>,
    /// `date`.
    pub date: Option<String>,
    /// `modified`.
    pub modified: Option<String>,
    /// `tags` (`attack.t1567`, `attack.exfiltration`, `cve.2023-36884`).
    pub tags: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `level`.
    pub level: Option<String>,
}

/// What a document is.
#[derive(Debug, Clone)]
pub enum Body {
    /// A detection rule.
    Detection {
        /// `logsource`: product, category, service (lower case), as given.
        logsource: LogSource,
        /// `detection` without its `condition`.
        searches: Mapping,
        /// `detection.condition` (a list of conditions is read as their `or`).
        condition: Vec<String>,
        /// `detection.timeframe`, when given (only meaningful with the deprecated aggregations).
        timeframe: Option<String>,
    },
    /// A correlation rule.
    Correlation(Correlation),
    /// Neither: the reason it cannot be read.
    Invalid(Refusal),
}

/// `logsource`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSource {
    /// `product`.
    pub product: Option<String>,
    /// `category`.
    pub category: Option<String>,
    /// `service`.
    pub service: Option<String>,
}

impl std::fmt::Display for LogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [("product", &self.product), ("category", &self.category), ("service", &self.service)]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
            .collect();
        if parts.is_empty() {
            f.write_str("(none)")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// `correlation`.
#[derive(Debug, Clone)]
pub struct Correlation {
    /// `event_count`, `value_count`, `temporal`, `temporal_ordered`.
    pub kind: String,
    /// Names or ids of the rules it correlates.
    pub rules: Vec<String>,
    /// `group-by` fields.
    pub group_by: Vec<String>,
    /// `timespan` (`1h`, `5m`, `1d`).
    pub timespan: String,
    /// `condition`: operator → value (`gte: 100`), and `field` for value_count.
    pub condition: Vec<(String, Value)>,
    /// `aliases`: alias → (rule name → field).
    pub aliases: Vec<(String, Vec<(String, String)>)>,
    /// `generate`: whether the rules it refers to are also converted on their own.
    pub generate: bool,
}

/// Every document of a YAML text.
pub fn parse_file(file: &Path, text: &str) -> Result<Vec<SigmaDoc>, Refusal> {
    let mut docs = Vec::new();
    for (index, de) in serde_norway::Deserializer::from_str(text).enumerate() {
        let value =
            <Value as serde::Deserialize>::deserialize(de).map_err(|e| Refusal::new("invalid YAML", e.to_string()))?;
        if value.is_null() {
            continue;
        }
        docs.push(read_doc(file, index, &value));
    }
    Ok(docs)
}

fn read_doc(file: &Path, index: usize, v: &Value) -> SigmaDoc {
    let meta = Meta {
        title: text(v.get("title")).unwrap_or_default(),
        id: text(v.get("id")),
        name: text(v.get("name")),
        status: text(v.get("status")),
        description: text(v.get("description")),
        references: texts(v.get("references")),
        author: text(v.get("author")),
        license: text(v.get("license")),
        date: text(v.get("date")),
        modified: text(v.get("modified")),
        tags: texts(v.get("tags")),
        falsepositives: texts(v.get("falsepositives")),
        level: text(v.get("level")),
    };
    let body = read_body(v);
    SigmaDoc { file: file.to_path_buf(), index, meta, body }
}

fn read_body(v: &Value) -> Body {
    if let Some(c) = v.get("correlation") {
        return read_correlation(c);
    }
    if v.get("type").is_some() && v.get("rules").is_some() {
        return Body::Invalid(Refusal::new(
            "malformed correlation",
            "`type` and `rules` belong under a `correlation:` key (Sigma correlation specification)",
        ));
    }
    let Some(detection) = v.get("detection").and_then(Value::as_mapping) else {
        return Body::Invalid(Refusal::new("not a Sigma rule", "no `detection` and no `correlation`"));
    };
    let ls = v.get("logsource");
    let field = |k: &str| ls.and_then(|l| l.get(k)).and_then(|x| text(Some(x))).map(|s| s.to_ascii_lowercase());
    let logsource = LogSource { product: field("product"), category: field("category"), service: field("service") };
    let mut searches = detection.clone();
    let condition = match searches.remove("condition") {
        Some(Value::String(s)) => vec![s],
        Some(Value::Sequence(list)) => list.iter().filter_map(|c| c.as_str().map(str::to_string)).collect(),
        _ => return Body::Invalid(Refusal::new("not a Sigma rule", "`detection` has no `condition`")),
    };
    let timeframe = searches.remove("timeframe").and_then(|t| text(Some(&t)));
    Body::Detection { logsource, searches, condition, timeframe }
}

fn read_correlation(c: &Value) -> Body {
    let Some(kind) = text(c.get("type")) else {
        return Body::Invalid(Refusal::new("malformed correlation", "`correlation` has no `type`"));
    };
    let rules = match c.get("rules") {
        Some(Value::Sequence(_)) => texts(c.get("rules")),
        Some(Value::String(s)) => vec![s.clone()],
        _ => {
            return Body::Invalid(Refusal::new(
                "malformed correlation",
                "`correlation.rules` must be a list of rule names or ids",
            ))
        }
    };
    let Some(timespan) = text(c.get("timespan")).or_else(|| text(c.get("timeframe"))) else {
        return Body::Invalid(Refusal::new("malformed correlation", "`correlation` has no `timespan`"));
    };
    let group_by = match c.get("group-by") {
        Some(Value::String(s)) => vec![s.clone()],
        other => texts(other),
    };
    let condition = match c.get("condition") {
        Some(Value::Mapping(m)) => {
            m.iter().filter_map(|(k, v)| k.as_str().map(|k| (k.to_ascii_lowercase(), v.clone()))).collect()
        }
        Some(Value::String(s)) => vec![("expression".to_string(), Value::String(s.clone()))],
        _ => Vec::new(),
    };
    let aliases = match c.get("aliases").and_then(Value::as_mapping) {
        Some(m) => m
            .iter()
            .filter_map(|(alias, per_rule)| {
                let per_rule = per_rule.as_mapping()?;
                let fields = per_rule
                    .iter()
                    .filter_map(|(r, f)| Some((r.as_str()?.to_string(), f.as_str()?.to_string())))
                    .collect();
                Some((alias.as_str()?.to_string(), fields))
            })
            .collect(),
        None => Vec::new(),
    };
    let generate = c.get("generate").and_then(Value::as_bool).unwrap_or(false);
    Body::Correlation(Correlation { kind, rules, group_by, timespan, condition, aliases, generate })
}

/// A scalar as text (dates and numbers included); lists and maps are not text.
pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => text(Some(&t.value)),
        _ => None,
    }
}

fn texts(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Sequence(list)) => list.iter().filter_map(|x| text(Some(x))).collect(),
        Some(other) => text(Some(other)).into_iter().collect(),
        None => Vec::new(),
    }
}
