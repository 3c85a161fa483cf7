//! A Sigma `detection` → a SQL condition over one floodlight table.
//!
//! Sigma's matching rules, kept exactly:
//!
//! * strings match **without regard to case** (`ILIKE`), unless `|cased`;
//!   `*` and `?` are wildcards, `\*`, `\?` and `\\` their literal forms;
//! * a list of values is any of them (`|all`: every one); a map is every
//!   field; a list of maps is any map;
//! * a field the event does not have matches nothing, and `not` of it is
//!   true: every field test is `coalesce(test, false)`, so SQL's NULL never
//!   leaks into `not`;
//! * `null` is "the field is absent" (`IS NULL`); `''` is empty or absent
//!   (floodlight does not keep empty values).
//!
//! Modifiers: `contains`, `startswith`, `endswith`, `all`, `cased`, `re`
//! (with `i`, `m`, `s`), `cidr` (IPv4), `base64`, `base64offset`, `exists`,
//! `lt`, `lte`, `gt`, `gte`, `fieldref`. Anything else (`windash`, `wide`,
//! `utf16*`, `expand`, IPv6 `cidr`, regexes Rust's engine cannot run) is
//! refused with the reason, never approximated.

use base64::Engine;
use floodlight_pipeline::schema::EventClass;
use serde_norway::{Mapping as YamlMap, Value};

use crate::condition::Cond;
use crate::mapping::{Column, Kind, LogSourceMap, Mapping};
use crate::Refusal;

/// What the conversion of one rule for one class needs.
pub struct Ctx<'a> {
    /// The mapping tables.
    pub mapping: &'a Mapping,
    /// The rule's log source.
    pub logsource: &'a LogSourceMap,
    /// The table the SQL reads.
    pub class: EventClass,
    /// The rule's searches.
    pub searches: &'a YamlMap,
    /// Sigma fields the rule tests, with their columns, in order of appearance.
    pub used: Vec<(String, Column)>,
}

impl Ctx<'_> {
    /// The condition as SQL.
    pub fn condition(&mut self, cond: &Cond) -> Result<String, Refusal> {
        Ok(match cond {
            Cond::Search(name) => {
                let v = self
                    .searches
                    .get(name.as_str())
                    .ok_or_else(|| Refusal::new("invalid condition", format!("no search `{name}`")))?;
                self.search(v)?
            }
            Cond::And(items) => join(items.iter().map(|c| self.condition(c)).collect::<Result<_, _>>()?, "AND"),
            Cond::Or(items) => join(items.iter().map(|c| self.condition(c)).collect::<Result<_, _>>()?, "OR"),
            Cond::Not(c) => format!("NOT {}", self.condition(c)?),
        })
    }

    fn search(&mut self, v: &Value) -> Result<String, Refusal> {
        match v {
            Value::Mapping(m) => self.selection(m),
            Value::Sequence(items) if items.iter().all(|i| i.is_mapping()) && !items.is_empty() => {
                let mut parts = Vec::new();
                for i in items {
                    if let Value::Mapping(m) = i {
                        parts.push(self.selection(m)?);
                    }
                }
                Ok(join(parts, "OR"))
            }
            Value::Sequence(items) => self.keywords(items, &[]),
            Value::String(_) | Value::Number(_) => self.keywords(std::slice::from_ref(v), &[]),
            _ => Err(Refusal::new("invalid detection", "a search must be a map, a list of maps or a list of keywords")),
        }
    }

    fn selection(&mut self, m: &YamlMap) -> Result<String, Refusal> {
        if m.is_empty() {
            return Err(Refusal::new("invalid detection", "an empty selection"));
        }
        let mut parts = Vec::new();
        for (k, v) in m {
            let Some(key) = k.as_str() else {
                return Err(Refusal::new("invalid detection", "a field name that is not text"));
            };
            let mut split = key.split('|');
            let field = split.next().unwrap_or_default();
            let mods: Vec<String> = split.map(|s| s.to_ascii_lowercase()).collect();
            if field.is_empty() {
                let values = match v {
                    Value::Sequence(items) => items.clone(),
                    other => vec![other.clone()],
                };
                parts.push(self.keywords(&values, &mods)?);
                continue;
            }
            let col = self.logsource.column(self.mapping, field, self.class)?;
            if !self.used.iter().any(|(f, _)| f == field) {
                self.used.push((field.to_string(), col.clone()));
            }
            parts.push(self.field(field, &col, &mods, v)?);
        }
        Ok(join(parts, "AND"))
    }

    fn keywords(&mut self, values: &[Value], mods: &[String]) -> Result<String, Refusal> {
        if self.logsource.keywords.is_empty() {
            return Err(Refusal::new(
                "keywords",
                format!(
                    "keyword search needs the raw log line, which floodlight does not keep; logsource {} names no keyword columns (set `keywords` with --mapping)",
                    self.logsource.name
                ),
            ));
        }
        let mut mods = mods.to_vec();
        if !mods.iter().any(|m| matches!(m.as_str(), "contains" | "startswith" | "endswith" | "re")) {
            mods.push("contains".into());
        }
        let list = Value::Sequence(values.to_vec());
        let mut any = Vec::new();
        for name in self.logsource.keywords.clone() {
            let col = self.logsource.column(self.mapping, &name, self.class)?;
            any.push(self.field(&name, &col, &mods, &list)?);
        }
        Ok(join(any, "OR"))
    }

    fn field(&mut self, field: &str, col: &Column, mods: &[String], v: &Value) -> Result<String, Refusal> {
        let known = [
            "contains",
            "startswith",
            "endswith",
            "all",
            "cased",
            "re",
            "i",
            "m",
            "s",
            "cidr",
            "base64",
            "base64offset",
            "exists",
            "lt",
            "lte",
            "gt",
            "gte",
            "fieldref",
        ];
        if let Some(m) = mods.iter().find(|m| !known.contains(&m.as_str())) {
            return Err(Refusal::new(
                "unsupported modifier",
                format!("`{field}|{m}`: floodlight does not support the `{m}` modifier"),
            ));
        }
        let has = |m: &str| mods.iter().any(|x| x == m);
        if has("exists") {
            let want = match v {
                Value::Bool(b) => *b,
                Value::String(s) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {
                    s.eq_ignore_ascii_case("true")
                }
                _ => return Err(Refusal::new("invalid detection", format!("`{field}|exists` takes true or false"))),
            };
            return Ok(format!("({} IS {}NULL)", col.expr, if want { "NOT " } else { "" }));
        }
        let values: Vec<Value> = match v {
            Value::Sequence(items) if items.is_empty() => {
                return Err(Refusal::new("invalid detection", format!("`{field}` has an empty list")))
            }
            Value::Sequence(items) => items.clone(),
            other => vec![other.clone()],
        };
        let mut parts = Vec::new();
        for value in &values {
            parts.push(self.one(field, col, mods, value)?);
        }
        Ok(join(parts, if has("all") { "AND" } else { "OR" }))
    }

    fn one(&mut self, field: &str, col: &Column, mods: &[String], v: &Value) -> Result<String, Refusal> {
        let has = |m: &str| mods.iter().any(|x| x == m);
        let e = &col.expr;
        if v.is_null() {
            return Ok(format!("({e} IS NULL)"));
        }
        let text = crate::document::text(Some(v))
            .ok_or_else(|| Refusal::new("invalid detection", format!("`{field}`: a value that is not a scalar")))?;
        let refuse_kind = |what: &str| unmatchable(field, e, mods, what);
        if has("fieldref") {
            let other = self.logsource.column(self.mapping, &text, self.class)?;
            return Ok(format!("coalesce({e} = {}, false)", other.expr));
        }
        for (m, op) in [("lt", "<"), ("lte", "<="), ("gt", ">"), ("gte", ">=")] {
            if has(m) {
                let n: f64 = text.parse().map_err(|_| {
                    Refusal::new("invalid detection", format!("`{field}|{m}` needs a number, not `{text}`"))
                })?;
                let lhs = match col.kind {
                    Kind::Int | Kind::Float => e.clone(),
                    Kind::Text => format!("TRY_CAST({e} AS DOUBLE)"),
                    _ => return Err(refuse_kind("not a number")),
                };
                return Ok(format!("coalesce({lhs} {op} {}, false)", number(n)));
            }
        }
        if has("re") {
            let mut flags = String::new();
            for (m, f) in [("i", 'i'), ("m", 'm'), ("s", 's')] {
                if has(m) {
                    flags.push(f);
                }
            }
            let pattern = if flags.is_empty() { text.clone() } else { format!("(?{flags}){text}") };
            if let Err(err) = regex::Regex::new(&pattern) {
                return Err(Refusal::new(
                    "unsupported regex",
                    format!("`{field}|re`: {}", err.to_string().lines().last().unwrap_or("invalid regex")),
                ));
            }
            if col.kind != Kind::Text {
                return Err(refuse_kind("not text"));
            }
            return Ok(format!("coalesce({e} ~ {}, false)", literal(&pattern)));
        }
        if has("cidr") {
            if col.kind != Kind::Text {
                return Err(refuse_kind("not text"));
            }
            return cidr(field, e, &text);
        }
        let encoded: Vec<String> = if has("base64offset") {
            if !has("contains") {
                return Err(Refusal::new("invalid detection", format!("`{field}|base64offset` needs `|contains`")));
            }
            base64_offsets(text.as_bytes())
        } else if has("base64") {
            vec![base64::engine::general_purpose::STANDARD.encode(text.as_bytes())]
        } else {
            vec![text.clone()]
        };
        let mut parts = Vec::new();
        for text in encoded {
            parts.push(self.string_match(field, col, mods, v, &text)?);
        }
        Ok(join(parts, "OR"))
    }

    fn string_match(
        &self,
        field: &str,
        col: &Column,
        mods: &[String],
        v: &Value,
        text: &str,
    ) -> Result<String, Refusal> {
        let has = |m: &str| mods.iter().any(|x| x == m);
        let e = &col.expr;
        let affix = has("contains") || has("startswith") || has("endswith");
        let refuse_kind = |what: &str| unmatchable(field, e, mods, what);
        match col.kind {
            Kind::Bool => {
                let b = match v {
                    Value::Bool(b) => Some(*b),
                    _ if text.eq_ignore_ascii_case("true") => Some(true),
                    _ if text.eq_ignore_ascii_case("false") => Some(false),
                    _ => None,
                };
                match (b, affix) {
                    (Some(b), false) => Ok(format!("coalesce({e} = {b}, false)")),
                    _ => Err(refuse_kind("a boolean")),
                }
            }
            Kind::Int | Kind::Float => match (text.parse::<f64>(), affix || like_pattern(text).1) {
                (Ok(n), false) => Ok(format!("coalesce({e} = {}, false)", number(n))),
                _ => Err(refuse_kind("a number")),
            },
            Kind::Text | Kind::List => {
                let (pattern, wild) = like_pattern(text);
                let op = if has("cased") { "LIKE" } else { "ILIKE" };
                if col.kind == Kind::List {
                    if wild {
                        return Err(refuse_kind("a list (a wildcard inside a value could span two elements)"));
                    }
                    // Elements joined by the unit separator, which no value holds.
                    let joined = format!("(chr(31) || array_to_string({e}, chr(31)) || chr(31))");
                    let (pre, post) = match (has("contains"), has("startswith"), has("endswith")) {
                        (true, _, _) => ("%", "%"),
                        (_, true, _) => ("%\u{1f}", "%"),
                        (_, _, true) => ("%", "\u{1f}%"),
                        _ => ("%\u{1f}", "\u{1f}%"),
                    };
                    let pre = pre.replace('\u{1f}', "' || chr(31) || '");
                    let post = post.replace('\u{1f}', "' || chr(31) || '");
                    let pattern = literal(&pattern);
                    return Ok(format!("coalesce({joined} {op} ('{pre}' || {pattern} || '{post}'), false)"));
                }
                if text.is_empty() && !affix {
                    return Ok(format!("(coalesce({e}, '') = '')"));
                }
                let pattern = if has("contains") {
                    format!("%{pattern}%")
                } else if has("startswith") {
                    format!("{pattern}%")
                } else if has("endswith") {
                    format!("%{pattern}")
                } else {
                    pattern
                };
                Ok(format!("coalesce({e} {op} {}, false)", literal(&pattern)))
            }
            Kind::Other => Err(refuse_kind("neither text nor a number")),
        }
    }
}

fn describe(mods: &[String]) -> String {
    if mods.is_empty() {
        "a plain value".into()
    } else {
        format!("|{}", mods.join("|"))
    }
}

fn join(parts: Vec<String>, op: &str) -> String {
    if parts.len() == 1 {
        parts.into_iter().next().unwrap_or_default()
    } else {
        format!("({})", parts.join(&format!(" {op} ")))
    }
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

pub use floodlight_pipeline::detect::rule::sql_string as literal;

/// The refusal for a value that `field`'s column type cannot be matched with.
fn unmatchable(field: &str, e: &str, mods: &[String], what: &str) -> Refusal {
    Refusal::new(
        "unsupported match",
        format!("`{field}` ({e}) is {what}: it cannot be matched with {}", describe(mods)),
    )
}

/// A Sigma value as a LIKE pattern (escape `\`), and whether it has a wildcard.
pub fn like_pattern(s: &str) -> (String, bool) {
    let mut out = String::new();
    let mut wild = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some('*') | Some('?') | Some('\\') => {
                    let n = chars.next().unwrap_or('\\');
                    if n == '\\' {
                        out.push_str("\\\\");
                    } else {
                        out.push(n);
                    }
                }
                _ => out.push_str("\\\\"),
            },
            '*' => {
                wild = true;
                out.push('%');
            }
            '?' => {
                wild = true;
                out.push('_');
            }
            '%' | '_' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    (out, wild)
}

/// pySigma's three base64 renderings of a value at offsets 0, 1 and 2.
fn base64_offsets(value: &[u8]) -> Vec<String> {
    let start = [0usize, 2, 3];
    let end = [0usize, 3, 2];
    (0..3)
        .map(|i| {
            let mut padded = vec![b' '; i];
            padded.extend_from_slice(value);
            let enc = base64::engine::general_purpose::STANDARD.encode(&padded);
            let cut = end[(value.len() + i) % 3];
            let stop = enc.len().saturating_sub(cut);
            enc.get(start[i]..stop).unwrap_or("").to_string()
        })
        .collect()
}

/// `|cidr` on an IPv4 text column: the prefix's addresses as LIKE patterns.
fn cidr(field: &str, e: &str, text: &str) -> Result<String, Refusal> {
    let net: ipnet::Ipv4Net = match text.parse::<ipnet::IpNet>() {
        Ok(ipnet::IpNet::V4(n)) => n.trunc(),
        Ok(ipnet::IpNet::V6(_)) => {
            return Err(Refusal::new(
                "unsupported match",
                format!("`{field}|cidr` {text}: IPv6 prefixes cannot be matched exactly on address text (it has several spellings)"),
            ))
        }
        Err(_) => return Err(Refusal::new("invalid detection", format!("`{field}|cidr`: `{text}` is not a prefix"))),
    };
    let len = net.prefix_len();
    let octets = net.network().octets();
    let whole = (len / 8) as usize;
    let rest = len % 8;
    let mut patterns = Vec::new();
    let prefix: Vec<String> = octets[..whole].iter().map(|o| o.to_string()).collect();
    if whole == 4 {
        return Ok(format!("coalesce({e} = {}, false)", literal(&prefix.join("."))));
    }
    if rest == 0 {
        patterns.push(prefix.clone());
    } else {
        let base = octets[whole];
        let count = 1u16 << (8 - rest);
        for k in 0..count {
            let mut p = prefix.clone();
            p.push((u16::from(base) + k).to_string());
            patterns.push(p);
        }
    }
    let likes: Vec<String> = patterns
        .into_iter()
        .map(|p| {
            if p.is_empty() {
                format!("{e} IS NOT NULL")
            } else if p.len() == 4 {
                format!("{e} = {}", literal(&p.join(".")))
            } else {
                format!("{e} LIKE {}", literal(&format!("{}.%", p.join("."))))
            }
        })
        .collect();
    Ok(format!("coalesce({}, false)", join(likes, "OR")))
}

/// The event types a rule selects on (outside `not`), by literal value.
pub fn positive_event_types(cond: &Cond, searches: &YamlMap, field: &str, negated: bool, out: &mut Vec<String>) {
    match cond {
        Cond::Not(c) => positive_event_types(c, searches, field, !negated, out),
        Cond::And(v) | Cond::Or(v) => v.iter().for_each(|c| positive_event_types(c, searches, field, negated, out)),
        Cond::Search(name) if !negated => {
            let maps: Vec<&YamlMap> = match searches.get(name.as_str()) {
                Some(Value::Mapping(m)) => vec![m],
                Some(Value::Sequence(items)) => items.iter().filter_map(Value::as_mapping).collect(),
                _ => Vec::new(),
            };
            for m in maps {
                for (k, v) in m {
                    let Some(key) = k.as_str() else { continue };
                    let (f, mods) = key.split_once('|').unwrap_or((key, ""));
                    if !f.eq_ignore_ascii_case(field) {
                        continue;
                    }
                    let values = match v {
                        Value::Sequence(items) => items.clone(),
                        other => vec![other.clone()],
                    };
                    for v in values {
                        if let Some(t) = crate::document::text(Some(&v)) {
                            let t = match mods {
                                "" => t,
                                "startswith" => format!("{t}*"),
                                "endswith" => format!("*{t}"),
                                "contains" => format!("*{t}*"),
                                _ => continue,
                            };
                            out.push(t);
                        }
                    }
                }
            }
        }
        Cond::Search(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_sql_wildcards_and_keep_sigma_ones() {
        assert_eq!(like_pattern("a*b?c"), ("a%b_c".to_string(), true));
        assert_eq!(like_pattern(r"50%_off\*"), (r"50\%\_off*".to_string(), false));
        assert_eq!(like_pattern(r"C:\Windows\\x"), (r"C:\\Windows\\x".to_string(), false));
        assert_eq!(literal("it's"), "'it''s'");
    }

    #[test]
    fn base64_offsets_match_pysigma() {
        // pySigma's documented example: `/bin/bash` → L2Jpbi9iYXNo, 9iaW4vYmFza, vYmluL2Jhc2
        assert_eq!(base64_offsets(b"/bin/bash"), ["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]);
    }

    #[test]
    fn cidr_prefixes_become_exact_text_patterns() {
        assert_eq!(cidr("ip", "ip", "10.0.0.0/8").ok().as_deref(), Some("coalesce(ip LIKE '10.%', false)"));
        let p = cidr("ip", "ip", "192.168.4.0/22").unwrap_or_default();
        for o in 4..8 {
            assert!(p.contains(&format!("'192.168.{o}.%'")), "{p}");
        }
        assert!(!p.contains("192.168.8."), "{p}");
        assert_eq!(cidr("ip", "ip", "1.2.3.4/32").ok().as_deref(), Some("coalesce(ip = '1.2.3.4', false)"));
        assert_eq!(cidr("ip", "ip", "fe80::/10").map_err(|r| r.kind), Err("unsupported match"));
    }
}
