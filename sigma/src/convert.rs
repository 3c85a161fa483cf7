//! Sigma rules → floodlight rule files.
//!
//! * A detection rule becomes a `streaming` rule: one `SELECT` per table its
//!   log source maps to (`UNION ALL` when there are several), returning
//!   `user`, `src_ip`, every field the rule tests (under its Sigma name, as
//!   evidence), `time` and `event_id`; findings fold per person and address
//!   for an hour.
//! * `event_count` and `value_count` correlations become `windowed` rules:
//!   tumbling windows of the `timespan` (as pySigma's reference backends
//!   bin time), keyed by the `group-by` fields, with the condition on
//!   `event_count` or on the number of distinct values.
//! * `temporal_ordered` of two rules becomes a `correlation` rule: the first
//!   rule's event, then the second's for the same `group-by` field within
//!   the `timespan`. Unordered `temporal`, more than two rules, or more than
//!   one group-by field are refused: floodlight's correlation mode pairs
//!   two ordered events on one entity.

use std::collections::BTreeMap;

use floodlight_pipeline::detect::rule::ClassList;
use floodlight_pipeline::detect::rule::{
    CorrelationFile, Dedup, Family, ImportedFrom, RuleFile, Severity, StepFile, WindowFile,
};
use floodlight_pipeline::schema::EventClass;
use sha2::{Digest, Sha256};

use crate::condition;
use crate::detection::{literal, positive_event_types, Ctx};
use crate::document::{Body, Correlation, Meta, SigmaDoc};
use crate::mapping::{LogSourceMap, Mapping};
use crate::Refusal;

/// One table's part of a converted detection rule.
#[derive(Debug, Clone)]
pub struct Arm {
    /// The table.
    pub class: EventClass,
    /// The `WHERE` condition (format restriction included).
    pub condition: String,
    /// Sigma fields tested, with their column expressions.
    pub used: Vec<(String, String)>,
    /// The log source it came from.
    pub logsource: LogSourceMap,
}

/// The tables and conditions of a detection rule.
pub fn arms(doc: &SigmaDoc, mapping: &Mapping) -> Result<Vec<Arm>, Refusal> {
    let (logsource, searches, conditions) = match &doc.body {
        Body::Detection { logsource, searches, condition, .. } => (logsource, searches, condition),
        Body::Correlation(_) => {
            return Err(Refusal::new("unsupported correlation", "a correlation of correlations is not supported"))
        }
        Body::Invalid(r) => return Err(r.clone()),
    };
    if let Some(s) = doc.meta.status.as_deref() {
        if s.eq_ignore_ascii_case("deprecated") || s.eq_ignore_ascii_case("unsupported") {
            return Err(Refusal::new("status", format!("the rule's status is `{s}`")));
        }
    }
    let ls = mapping.logsource(logsource)?;
    let names: Vec<String> = searches.keys().filter_map(|k| k.as_str().map(str::to_string)).collect();
    let parsed: Vec<condition::Cond> =
        conditions.iter().map(|c| condition::parse(c, &names)).collect::<Result<_, _>>()?;
    let cond = if parsed.len() == 1 { parsed[0].clone() } else { condition::Cond::Or(parsed) };
    let mut classes = ls.classes()?;
    if let Some(et) = &ls.event_type {
        let mut selected = Vec::new();
        positive_event_types(&cond, searches, &et.field, false, &mut selected);
        let mut landed = Vec::new();
        for v in &selected {
            match ls.decoded_class(v) {
                Some(c) => landed.push(c.to_string()),
                None => {
                    return Err(Refusal::new(
                        "event type not decoded",
                        format!("{} `{v}` never reaches a table: {}", et.field, et.reader),
                    ))
                }
            }
        }
        if !landed.is_empty() {
            classes.retain(|c| landed.iter().any(|l| l == c.as_str()));
        }
    }
    let mut out = Vec::new();
    for class in classes {
        let mut ctx = Ctx { mapping, logsource: ls, class, searches, used: Vec::new() };
        let mut condition = ctx.condition(&cond)?;
        if !ls.formats.is_empty() {
            let formats: Vec<String> = ls.formats.iter().map(|f| literal(f)).collect();
            condition = format!("format IN ({}) AND {condition}", formats.join(", "));
        }
        let used = ctx.used.into_iter().map(|(f, c)| (f, c.expr)).collect();
        out.push(Arm { class, condition, used, logsource: ls.clone() });
    }
    if out.is_empty() {
        return Err(Refusal::new("invalid mapping", format!("logsource {} maps to no table", ls.name)));
    }
    let first: Vec<&String> = out[0].used.iter().map(|(f, _)| f).collect();
    if out.iter().any(|a| a.used.iter().map(|(f, _)| f).collect::<Vec<_>>() != first) {
        return Err(Refusal::new("unmapped field", "the rule's fields do not exist in every table it reads"));
    }
    Ok(out)
}

/// SQL identifier for a Sigma name.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn source_ip(class: EventClass) -> &'static str {
    match class {
        EventClass::Dns => "client_ip",
        _ => "src_ip",
    }
}

const RESERVED: [&str; 4] = ["user", "src_ip", "time", "event_id"];

/// A detection rule → a streaming rule.
pub fn detection_rule(doc: &SigmaDoc, mapping: &Mapping, license: Option<&str>) -> Result<RuleFile, Refusal> {
    let arms = arms(doc, mapping)?;
    let selects: Vec<String> = arms
        .iter()
        .map(|a| {
            let src = match source_ip(a.class) {
                "src_ip" => "src_ip".to_string(),
                other => format!("{other} AS src_ip"),
            };
            let mut cols = vec!["user".to_string(), src];
            for (field, expr) in &a.used {
                if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(field)) {
                    cols.push(format!("{expr} AS {}", ident(field)));
                }
            }
            cols.push("time".into());
            cols.push("event_id".into());
            format!("SELECT {}\nFROM {}\nWHERE {}", cols.join(", "), a.class, a.condition)
        })
        .collect();
    let classes: Vec<String> = arms.iter().map(|a| a.class.to_string()).collect();
    let mut rule = base_rule(doc, license, classes);
    rule.sql = Some(format!("{}\n", selects.join("\nUNION ALL\n")));
    rule.message = format!("Sigma: {} ({{user}} from {{src_ip}}).", doc.meta.title.trim());
    rule.dedup = Dedup { key: vec!["user".into(), "src_ip".into()], period: "1h".into() };
    Ok(rule)
}

/// A correlation rule → a windowed or correlation rule, given every document read.
pub fn correlation_rule(
    doc: &SigmaDoc,
    corr: &Correlation,
    all: &[SigmaDoc],
    mapping: &Mapping,
    license: Option<&str>,
) -> Result<RuleFile, Refusal> {
    let mut bases = Vec::new();
    for r in &corr.rules {
        let found = all.iter().find(|d| d.meta.name.as_deref() == Some(r) || d.meta.id.as_deref() == Some(r));
        match found {
            None => {
                return Err(Refusal::new(
                    "missing rule",
                    format!("the correlation refers to `{r}`, which is not among the rules read"),
                ))
            }
            Some(d) => bases.push(d),
        }
    }
    if bases.is_empty() {
        return Err(Refusal::new("malformed correlation", "`correlation.rules` is empty"));
    }
    humantime::parse_duration(&corr.timespan)
        .map_err(|e| Refusal::new("malformed correlation", format!("timespan `{}`: {e}", corr.timespan)))?;
    // The group-by field of one base rule: its alias, or the field itself.
    let field_for = |group: &str, base: &SigmaDoc| -> String {
        corr.aliases
            .iter()
            .find(|(alias, _)| alias == group)
            .and_then(|(_, per)| {
                per.iter()
                    .find(|(r, _)| Some(r) == base.meta.name.as_ref() || Some(r) == base.meta.id.as_ref())
                    .map(|(_, f)| f.clone())
            })
            .unwrap_or_else(|| group.to_string())
    };
    let select = |base: &SigmaDoc, extra: Option<&str>| -> Result<Vec<(EventClass, String)>, Refusal> {
        let arms = arms(base, mapping).map_err(|r| {
            Refusal::new(r.kind, format!("rule `{}` of the correlation: {}", base.meta.title, r.reason))
        })?;
        let mut out = Vec::new();
        for a in arms {
            let mut cols = Vec::new();
            for g in &corr.group_by {
                let col = a.logsource.column(mapping, &field_for(g, base), a.class)?;
                cols.push(format!("{} AS {}", col.expr, ident(g)));
            }
            if corr.group_by.is_empty() {
                cols.push("'*' AS \"group\"".into());
            }
            if let Some(f) = extra {
                let col = a.logsource.column(mapping, &field_for(f, base), a.class)?;
                cols.push(format!("{} AS \"value\"", col.expr));
            }
            cols.push("time".into());
            cols.push("event_id".into());
            out.push((a.class, format!("SELECT {}\nFROM {}\nWHERE {}", cols.join(", "), a.class, a.condition)));
        }
        Ok(out)
    };
    let keys: Vec<String> = if corr.group_by.is_empty() { vec!["group".into()] } else { corr.group_by.clone() };
    let mut rule = base_rule(doc, license, Vec::new());
    rule.dedup = Dedup { key: keys.clone(), period: corr.timespan.clone() };
    let shown: Vec<String> = keys.iter().map(|k| format!("{k} {{{k}}}")).collect();
    match corr.kind.as_str() {
        "event_count" | "value_count" => {
            let value_field = if corr.kind == "value_count" {
                let f = corr.condition.iter().find(|(k, _)| k == "field").and_then(|(_, v)| v.as_str());
                Some(f.ok_or_else(|| Refusal::new("malformed correlation", "value_count needs `condition.field`"))?)
            } else {
                None
            };
            let mut parts = Vec::new();
            let mut classes = Vec::new();
            for b in &bases {
                for (class, sql) in select(b, value_field)? {
                    if !classes.contains(&class.to_string()) {
                        classes.push(class.to_string());
                    }
                    parts.push(sql);
                }
            }
            let measure = if value_field.is_some() { "cardinality(values)" } else { "event_count" };
            let mut conds = Vec::new();
            for (op, v) in &corr.condition {
                let sym = match op.as_str() {
                    "gt" => ">",
                    "gte" => ">=",
                    "lt" => "<",
                    "lte" => "<=",
                    "eq" => "=",
                    "field" => continue,
                    other => {
                        return Err(Refusal::new(
                            "unsupported correlation",
                            format!("condition operator `{other}` (Sigma has gt, gte, lt, lte, eq)"),
                        ))
                    }
                };
                let n = crate::document::text(Some(v))
                    .and_then(|t| t.parse::<u64>().ok())
                    .ok_or_else(|| Refusal::new("malformed correlation", format!("condition `{op}` needs a count")))?;
                if value_field.is_some() && n >= 1000 {
                    return Err(Refusal::new(
                        "unsupported correlation",
                        "value_count thresholds of 1,000 or more: floodlight's distinct() keeps 1,000 values per window",
                    ));
                }
                conds.push(format!("{measure} {sym} {n}"));
            }
            if conds.is_empty() {
                return Err(Refusal::new("malformed correlation", "the correlation has no condition"));
            }
            let mut aggregates = BTreeMap::new();
            if value_field.is_some() {
                aggregates.insert("values".to_string(), "distinct(value)".to_string());
            }
            rule.class = Some(ClassList::Many(classes));
            rule.mode = "windowed".into();
            rule.sql = Some(format!("{}\n", parts.join("\nUNION ALL\n")));
            rule.window = Some(WindowFile {
                size: corr.timespan.clone(),
                slide: None,
                lateness: None,
                key: keys.clone(),
                time: None,
                aggregates,
                condition: conds.join(" AND "),
                select: if value_field.is_some() { vec!["cardinality(values) AS value_count".into()] } else { Vec::new() },
                baseline: None,
                max_keys: None,
                learning: None,
                remember: None,
            });
            let counted = if value_field.is_some() { "{value_count} distinct value(s)" } else { "{event_count} event(s)" };
            rule.message =
                format!("Sigma: {} ({} in {}, {}).", doc.meta.title.trim(), counted, corr.timespan, shown.join(", "));
        }
        "temporal_ordered" => {
            if bases.len() != 2 {
                return Err(Refusal::new(
                    "unsupported correlation",
                    format!("temporal_ordered of {} rules: floodlight's correlation mode pairs two", bases.len()),
                ));
            }
            if corr.group_by.len() != 1 {
                return Err(Refusal::new(
                    "unsupported correlation",
                    "temporal_ordered needs exactly one group-by field: floodlight correlates on one entity column",
                ));
            }
            let all_rules = |(k, v): &(String, serde_norway::Value)| {
                k == "gte" && crate::document::text(Some(v)).as_deref() == Some("2")
            };
            if !corr.condition.iter().all(all_rules) {
                return Err(Refusal::new(
                    "unsupported correlation",
                    "a temporal condition other than all rules (`gte: 2`)",
                ));
            }
            let first = select(bases[0], None)?;
            let then = select(bases[1], None)?;
            if first.len() != 1 || then.len() != 1 {
                return Err(Refusal::new(
                    "unsupported correlation",
                    "each rule of a temporal correlation must read one table",
                ));
            }
            rule.mode = "correlation".into();
            rule.correlation = Some(CorrelationFile {
                entity: corr.group_by[0].clone(),
                within: corr.timespan.clone(),
                max_per_entity: None,
                first: StepFile { class: first[0].0.to_string(), sql: first[0].1.clone() },
                then: vec![StepFile { class: then[0].0.to_string(), sql: then[0].1.clone() }],
            });
            rule.message = format!(
                "Sigma: {} ({} then {} within {}, {}).",
                doc.meta.title.trim(),
                bases[0].meta.title.trim(),
                bases[1].meta.title.trim(),
                corr.timespan,
                shown.join(", ")
            );
        }
        "temporal" => {
            return Err(Refusal::new(
                "unsupported correlation",
                "temporal (any order): floodlight's correlation mode is ordered; write it as temporal_ordered, or as two rules",
            ))
        }
        other => {
            return Err(Refusal::new("unsupported correlation", format!("correlation type `{other}`")))
        }
    }
    Ok(rule)
}

/// The floodlight id of a Sigma rule: `SIGMA-<its UUID>`, else a hash of its file and title.
pub fn rule_id(doc: &SigmaDoc) -> String {
    match doc
        .meta
        .id
        .as_deref()
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        Some(id) => format!("SIGMA-{}", id.to_ascii_lowercase()),
        None => {
            let h = Sha256::digest(format!("{}#{}#{}", doc.file.display(), doc.index, doc.meta.title));
            format!("SIGMA-{}", &hex::encode(h)[..16])
        }
    }
}

fn base_rule(doc: &SigmaDoc, license: Option<&str>, classes: Vec<String>) -> RuleFile {
    let m: &Meta = &doc.meta;
    let mut attack = Vec::new();
    let mut tags = vec!["sigma".to_string()];
    for t in &m.tags {
        let lower = t.to_ascii_lowercase();
        match lower.strip_prefix("attack.t") {
            Some(rest) if rest.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
                attack.push(format!("T{}", rest.to_ascii_uppercase()))
            }
            _ => tags.push(lower),
        }
    }
    let severity = match m.level.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("informational") => Severity::Info,
        Some("low") => Severity::Low,
        Some("high") => Severity::High,
        Some("critical") => Severity::Critical,
        _ => Severity::Medium,
    };
    let logsource = match &doc.body {
        Body::Detection { logsource, .. } => Some(logsource.to_string()),
        _ => None,
    };
    RuleFile {
        id: rule_id(doc),
        title: if m.title.is_empty() { "Untitled Sigma rule".into() } else { m.title.trim().to_string() },
        family: Family::Imported,
        severity,
        class: if classes.len() == 1 {
            Some(ClassList::One(classes[0].clone()))
        } else if classes.is_empty() {
            None
        } else {
            Some(ClassList::Many(classes))
        },
        mode: "streaming".into(),
        attack,
        tags,
        description: m.description.clone().unwrap_or_else(|| m.title.clone()).trim().to_string(),
        false_positives: m.falsepositives.clone(),
        references: m.references.clone(),
        message: String::new(),
        sql: None,
        enabled: true,
        lateness: None,
        dedup: Dedup { key: vec!["user".into()], period: "1h".into() },
        params: BTreeMap::new(),
        window: None,
        first_seen: None,
        correlation: None,
        author: m.author.clone(),
        license: m.license.clone().or_else(|| license.map(str::to_string)),
        imported: Some(ImportedFrom {
            format: "sigma".into(),
            id: m.id.clone().unwrap_or_default(),
            file: doc.file.display().to_string(),
            status: m.status.clone(),
            logsource,
            date: m.date.clone(),
            modified: m.modified.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::parse_file;

    fn convert(yaml: &str) -> Result<RuleFile, Refusal> {
        let docs = parse_file(std::path::Path::new("t.yml"), yaml).expect("YAML");
        detection_rule(&docs[0], &Mapping::builtin(), None)
    }

    fn firewall(detection: &str) -> Result<String, Refusal> {
        let yaml = format!("title: t\nid: 00000000-0000-4000-8000-000000000001\nlogsource:\n  category: firewall\ndetection:\n{detection}\nlevel: informational\ntags: [attack.t1071.001, attack.command_and_control]\n");
        convert(&yaml).map(|r| r.sql.unwrap_or_default())
    }

    #[test]
    fn values_follow_the_columns_type() {
        let sql = firewall("  sel:\n    dst_port: [21, '23']\n    src_ip: null\n    action: ''\n  condition: sel")
            .expect("converts");
        assert!(sql.contains("coalesce(dst_port = 21, false) OR coalesce(dst_port = 23, false)"), "{sql}");
        assert!(sql.contains("(src_ip IS NULL)") && sql.contains("(coalesce(action, '') = '')"), "{sql}");
        let sql =
            firewall("  sel:\n    dst_port|gte: 1024\n    protocol|re|i: '^tc'\n  condition: sel").expect("converts");
        assert!(sql.contains("coalesce(dst_port >= 1024, false)") && sql.contains("protocol ~ '(?i)^tc'"), "{sql}");
        // A wildcard or an affix on a number cannot be matched exactly.
        let r = firewall("  sel:\n    dst_port|startswith: '8'\n  condition: sel").map_err(|r| r.kind);
        assert_eq!(r, Err("unsupported match"));
        let r = firewall("  sel:\n    dst_port: 'http'\n  condition: sel").map_err(|r| r.kind);
        assert_eq!(r, Err("unsupported match"));
        let r = firewall("  sel:\n    dst_port|expand: '%ports%'\n  condition: sel").map_err(|r| r.kind);
        assert_eq!(r, Err("unsupported modifier"));
    }

    #[test]
    fn metadata_is_kept() {
        let yaml = "title: Paste\nid: 00000000-0000-4000-8000-000000000002\nstatus: test\nauthor: A. Person\nlicense: MIT\n\
                    date: 2024-01-02\nreferences: [https://example.com]\nfalsepositives: [Developers]\nlevel: critical\n\
                    tags: [attack.t1567, attack.exfiltration, cve.2023-1]\nlogsource:\n  category: proxy\n\
                    detection:\n  sel:\n    cs-host: pastebin.com\n  condition: sel\n";
        let r = convert(yaml).expect("converts");
        assert_eq!(r.id, "SIGMA-00000000-0000-4000-8000-000000000002");
        assert_eq!((r.severity, r.family), (Severity::Critical, Family::Imported));
        assert_eq!(r.attack, ["T1567"]);
        assert_eq!(r.tags, ["sigma", "attack.exfiltration", "cve.2023-1"]);
        assert_eq!((r.author.as_deref(), r.license.as_deref()), (Some("A. Person"), Some("MIT")));
        assert_eq!(r.false_positives, ["Developers"]);
        let imported = r.imported.expect("provenance");
        assert_eq!((imported.status.as_deref(), imported.date.as_deref()), (Some("test"), Some("2024-01-02")));
        assert_eq!(imported.logsource.as_deref(), Some("category: proxy"));
        // Deprecated rules are not converted.
        let deprecated = yaml.replace("status: test", "status: deprecated");
        assert_eq!(convert(&deprecated).map_err(|r| r.kind).err(), Some("status"));
    }
}
