//! Log source and field mappings: Sigma's names → floodlight's tables and
//! columns, as data (`sigma/data/mapping.toml`, extended by the user's
//! `--mapping` files).

use std::collections::BTreeMap;

use arrow::datatypes::DataType;
use floodlight_pipeline::schema::EventClass;
use serde::Deserialize;

use crate::condition::glob;
use crate::document::LogSource;
use crate::Refusal;

/// The built-in mapping.
pub const BUILTIN: &str = include_str!("../data/mapping.toml");

/// Log sources and field tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Log sources, first match wins.
    #[serde(default)]
    pub logsource: Vec<LogSourceMap>,
    /// Field tables by name.
    #[serde(default)]
    pub fields: BTreeMap<String, BTreeMap<String, String>>,
}

/// One `[[logsource]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSourceMap {
    /// Name in reports.
    pub name: String,
    /// Any of these matches.
    #[serde(rename = "match")]
    pub matches: Vec<MatchKeys>,
    /// Tables read.
    #[serde(default)]
    pub classes: Vec<String>,
    /// Input formats whose rows count (empty: all).
    #[serde(default)]
    pub formats: Vec<String>,
    /// The field table.
    #[serde(default)]
    pub fields: Option<String>,
    /// Columns a keyword list searches.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Known but not read: why.
    #[serde(default)]
    pub refuse: Option<String>,
    /// The event-type field and the event types the reader decodes.
    #[serde(default)]
    pub event_type: Option<EventTypes>,
}

/// `match = [{ product = "okta" }]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchKeys {
    /// Sigma `product`.
    pub product: Option<String>,
    /// Sigma `category`.
    pub category: Option<String>,
    /// Sigma `service`.
    pub service: Option<String>,
}

/// `[logsource.event_type]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventTypes {
    /// The Sigma field naming the event type.
    pub field: String,
    /// What the reader keeps, for refusals.
    pub reader: String,
    /// Decoded event types (`*` wildcard) and their class.
    pub decoded: Vec<DecodedType>,
}

/// One decoded event type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodedType {
    /// Pattern, `*` wildcard, compared without regard to case.
    pub pattern: String,
    /// Class its rows land in.
    pub class: String,
}

/// A column a Sigma field maps to.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// SQL expression (`url`, `vendor_fields['displayMessage']`).
    pub expr: String,
    /// Its type (vendor fields are strings).
    pub kind: Kind,
}

/// The kinds of column the conversion treats differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Text,
    /// Integer.
    Int,
    /// Floating point.
    Float,
    /// Boolean.
    Bool,
    /// List of text.
    List,
    /// Anything else (time, maps): only null checks.
    Other,
}

impl Mapping {
    /// The built-in mapping.
    pub fn builtin() -> Mapping {
        // The built-in file is tested; a parse failure here is a build defect.
        toml::from_str(BUILTIN).unwrap_or(Mapping { logsource: Vec::new(), fields: BTreeMap::new() })
    }

    /// Parse a user mapping file.
    pub fn parse(text: &str) -> Result<Mapping, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Add a user's mapping: same-name log sources replace the built-in ones,
    /// new ones come first; field entries are added or replaced.
    pub fn extend(&mut self, other: Mapping) {
        let mut new_sources = Vec::new();
        for ls in other.logsource {
            match self.logsource.iter_mut().find(|l| l.name == ls.name) {
                Some(existing) => *existing = ls,
                None => new_sources.push(ls),
            }
        }
        new_sources.append(&mut self.logsource);
        self.logsource = new_sources;
        for (table, entries) in other.fields {
            self.fields.entry(table).or_default().extend(entries);
        }
    }

    /// The log source a rule's `logsource` maps to.
    pub fn logsource(&self, ls: &LogSource) -> Result<&LogSourceMap, Refusal> {
        let eq = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => have.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(w)),
        };
        let found = self.logsource.iter().find(|m| {
            m.matches
                .iter()
                .any(|k| eq(&k.product, &ls.product) && eq(&k.category, &ls.category) && eq(&k.service, &ls.service))
        });
        match found {
            None => Err(Refusal::new(
                "unmapped logsource",
                format!("no mapping for logsource {ls}; add one with --mapping (docs/rules.md#sigma)"),
            )),
            Some(m) => match &m.refuse {
                Some(why) => Err(Refusal::new("logsource not read", why.clone())),
                None => Ok(m),
            },
        }
    }
}

impl LogSourceMap {
    /// The classes, parsed.
    pub fn classes(&self) -> Result<Vec<EventClass>, Refusal> {
        self.classes
            .iter()
            .map(|c| {
                c.parse::<EventClass>().map_err(|e| Refusal::new("invalid mapping", format!("{}: {e}", self.name)))
            })
            .collect()
    }

    /// The column `field` maps to in `class`, or why there is none.
    pub fn column(&self, mapping: &Mapping, field: &str, class: EventClass) -> Result<Column, Refusal> {
        let table = self.fields.as_deref().unwrap_or("");
        let unmapped = || {
            Refusal::new(
                "unmapped field",
                format!("field `{field}` of logsource {} has no floodlight column; map it with --mapping", self.name),
            )
        };
        let expr = if table == "identity" {
            mapping.fields.get(table).and_then(|t| lookup(t, field)).unwrap_or_else(|| field.to_string())
        } else {
            mapping.fields.get(table).and_then(|t| lookup(t, field)).ok_or_else(unmapped)?
        };
        let schema = class.enriched_schema();
        let (name, vendor_key) = match expr.split_once('[') {
            Some((name, _)) => (name.trim(), true),
            None => (expr.trim(), false),
        };
        let Ok(f) = schema.field_with_name(name) else {
            return Err(if table == "identity" {
                unmapped()
            } else {
                Refusal::new(
                    "unmapped field",
                    format!("field `{field}` maps to `{expr}`, which table `{class}` does not have"),
                )
            });
        };
        let kind = if vendor_key {
            Kind::Text
        } else {
            match f.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _) => Kind::Text,
                DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => Kind::Int,
                DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => Kind::Int,
                DataType::Float32 | DataType::Float64 => Kind::Float,
                DataType::Boolean => Kind::Bool,
                DataType::List(_) | DataType::LargeList(_) => Kind::List,
                _ => Kind::Other,
            }
        };
        Ok(Column { expr, kind })
    }

    /// The class an event type lands in, if the reader decodes it.
    pub fn decoded_class(&self, value: &str) -> Option<&str> {
        let et = self.event_type.as_ref()?;
        let lower = value.to_ascii_lowercase();
        et.decoded.iter().find(|d| glob(&d.pattern.to_ascii_lowercase(), &lower)).map(|d| d.class.as_str())
    }
}

fn lookup(table: &BTreeMap<String, String>, field: &str) -> Option<String> {
    table.get(field).or_else(|| table.iter().find(|(k, _)| k.eq_ignore_ascii_case(field)).map(|(_, v)| v)).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_mapping_parses_and_every_column_exists() {
        let m: Mapping = toml::from_str(BUILTIN).expect("built-in mapping parses");
        assert!(m.logsource.len() >= 10);
        for ls in &m.logsource {
            let classes = ls.classes().expect("classes parse");
            if ls.refuse.is_some() {
                continue;
            }
            let table = ls.fields.as_deref().expect("a field table");
            if table == "identity" {
                continue;
            }
            for field in m.fields[table].keys() {
                // Each field must exist in at least one of the log source's classes.
                assert!(
                    classes.iter().any(|c| ls.column(&m, field, *c).is_ok()),
                    "{}: `{field}` maps to no column of {:?}",
                    ls.name,
                    ls.classes
                );
            }
            if let Some(et) = &ls.event_type {
                for d in &et.decoded {
                    assert!(ls.classes.contains(&d.class), "{}: {} is not one of its classes", ls.name, d.class);
                }
            }
        }
        let okta = LogSource { product: None, category: None, service: Some("okta".into()) };
        assert_eq!(m.logsource(&okta).map(|l| l.name.as_str()), Ok("okta"));
        assert_eq!(m.logsource(&okta).ok().and_then(|l| l.decoded_class("User.Session.Start")), Some("auth"));
        let gw = LogSource { product: None, category: None, service: Some("google_workspace.admin".into()) };
        assert_eq!(m.logsource(&gw).err().map(|r| r.kind), Some("logsource not read"));
        let win = LogSource { product: Some("windows".into()), category: None, service: Some("security".into()) };
        assert_eq!(m.logsource(&win).err().map(|r| r.kind), Some("unmapped logsource"));
    }

    #[test]
    fn a_user_mapping_replaces_by_name_and_adds_fields() {
        let mut m = Mapping::builtin();
        let user = Mapping::parse(
            r#"
[[logsource]]
name = "proxy"
match = [{ category = "proxy" }]
classes = ["network"]
fields = "proxy"
keywords = ["url", "host"]
[fields.proxy]
c-useragent = "vendor_fields['ua']"
"#,
        )
        .expect("parses");
        let before = m.logsource.len();
        m.extend(user);
        assert_eq!(m.logsource.len(), before);
        let proxy = m.logsource(&LogSource { category: Some("proxy".into()), ..Default::default() }).expect("found");
        assert_eq!(proxy.keywords, ["url", "host"]);
        let col = proxy.column(&m, "C-UserAgent", EventClass::Network).expect("mapped");
        assert_eq!((col.expr.as_str(), col.kind), ("vendor_fields['ua']", Kind::Text));
        assert_eq!(proxy.column(&m, "cs-host", EventClass::Network).map(|c| c.kind), Ok(Kind::Text));
        assert_eq!(proxy.column(&m, "cs-cookie", EventClass::Network).map_err(|r| r.kind), Err("unmapped field"));
    }
}
