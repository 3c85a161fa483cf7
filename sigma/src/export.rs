//! floodlight rules → Sigma (`floodlight rules export-sigma ID`).
//!
//! A rule is exported when Sigma can say exactly what it does: a
//! `streaming` rule over one table whose `WHERE` is made of `AND`, `OR`,
//! `NOT` and comparisons of a column with literals (`=`, `<>`, `IN`,
//! `LIKE` / `ILIKE`, `IS [NOT] NULL`, `<`, `<=`, `>`, `>=`). Each comparison
//! becomes a selection (`sel1`, `sel2`, ...) and the condition mirrors the
//! SQL. SQL compares text with case (`=`), so those selections say `|cased`.
//! Fields keep floodlight's column names under `logsource: {product:
//! floodlight, category: <table>}`, which `import-sigma` maps back
//! unchanged. Anything else (functions, windows, correlations) is refused
//! with the reason.

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, SetExpr, Statement, TableFactor, UnaryOperator, Value as SqlValue,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use floodlight_pipeline::detect::rule::{ModeDef, RuleDef};
use serde_norway::{Mapping as YamlMap, Value};
use sha2::{Digest, Sha256};

use crate::Refusal;

/// The Sigma YAML of a floodlight rule, or why it has none.
pub fn export(rule: &RuleDef) -> Result<String, Refusal> {
    if !matches!(rule.mode, ModeDef::Streaming) {
        return Err(Refusal::new(
            "not expressible",
            format!("mode `{}`: only streaming rules are exported (Sigma correlations lack floodlight's baselines and dedup)", rule.mode.name()),
        ));
    }
    let stmts = Parser::parse_sql(&GenericDialect {}, &rule.sql)
        .map_err(|e| Refusal::new("not expressible", format!("the SQL does not parse: {e}")))?;
    let [Statement::Query(q)] = stmts.as_slice() else {
        return Err(Refusal::new("not expressible", "the SQL is not one query"));
    };
    let SetExpr::Select(sel) = q.body.as_ref() else {
        return Err(Refusal::new("not expressible", "UNION and other set operations have no Sigma form"));
    };
    let table = match sel.from.as_slice() {
        [t] if t.joins.is_empty() => match &t.relation {
            TableFactor::Table { name, .. } => name.to_string(),
            _ => return Err(Refusal::new("not expressible", "the query must read one table")),
        },
        _ => return Err(Refusal::new("not expressible", "the query must read one table, without joins")),
    };
    let Some(selection) = &sel.selection else {
        return Err(Refusal::new("not expressible", "a rule without WHERE matches every event"));
    };
    let mut b = Builder { searches: YamlMap::new() };
    let condition = b.expr(selection)?;

    let f = &rule.file;
    let mut doc = YamlMap::new();
    let s = |v: &str| Value::String(v.to_string());
    doc.insert(s("title"), s(&f.title));
    let id = f.imported.as_ref().map(|i| i.id.clone()).filter(|i| !i.is_empty()).unwrap_or_else(|| uuid_for(&f.id));
    doc.insert(s("id"), s(&id));
    doc.insert(s("status"), s("experimental"));
    doc.insert(s("description"), s(&f.description));
    if !f.references.is_empty() {
        doc.insert(s("references"), Value::Sequence(f.references.iter().map(|r| s(r)).collect()));
    }
    doc.insert(s("author"), s(f.author.as_deref().unwrap_or("floodlight")));
    let mut tags: Vec<Value> = f.attack.iter().map(|t| s(&format!("attack.{}", t.to_ascii_lowercase()))).collect();
    tags.extend(f.tags.iter().filter(|t| t.as_str() != "sigma").map(|t| s(&format!("floodlight.{t}"))));
    if !tags.is_empty() {
        doc.insert(s("tags"), Value::Sequence(tags));
    }
    let mut ls = YamlMap::new();
    ls.insert(s("product"), s("floodlight"));
    ls.insert(s("category"), s(&table));
    doc.insert(s("logsource"), Value::Mapping(ls));
    let mut det = b.searches;
    det.insert(s("condition"), s(&condition));
    doc.insert(s("detection"), Value::Mapping(det));
    if !f.false_positives.is_empty() {
        doc.insert(s("falsepositives"), Value::Sequence(f.false_positives.iter().map(|r| s(r)).collect()));
    }
    let level = match f.severity.as_str() {
        "info" => "informational",
        other => other,
    };
    doc.insert(s("level"), s(level));
    let mut custom = YamlMap::new();
    custom.insert(s("floodlight_id"), s(&f.id));
    doc.insert(s("custom"), Value::Mapping(custom));
    serde_norway::to_string(&Value::Mapping(doc)).map_err(|e| Refusal::new("not expressible", e.to_string()))
}

/// A stable UUID (version 8, from SHA-256) for a floodlight rule id.
fn uuid_for(id: &str) -> String {
    let h = Sha256::digest(format!("floodlight-rule:{id}"));
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

struct Builder {
    searches: YamlMap,
}

impl Builder {
    fn add(&mut self, field: String, value: Value) -> String {
        let name = format!("sel{}", self.searches.len() + 1);
        let mut m = YamlMap::new();
        m.insert(Value::String(field), value);
        self.searches.insert(Value::String(name.clone()), Value::Mapping(m));
        name
    }

    /// The Sigma condition for "`e` is TRUE".
    fn expr(&mut self, e: &Expr) -> Result<String, Refusal> {
        self.cond(e, true)
    }

    /// SQL has three truth values, Sigma two (an absent field matches
    /// nothing): `cond(e, true)` is "e is TRUE", `cond(e, false)` "e is
    /// FALSE", so that `NOT` of a comparison on an absent value stays false,
    /// as SQL has it.
    fn cond(&mut self, e: &Expr, truth: bool) -> Result<String, Refusal> {
        Ok(match e {
            Expr::Nested(inner) => format!("({})", self.cond(inner, truth)?),
            Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
                let (a, b) = (self.cond(left, truth)?, self.cond(right, truth)?);
                if truth {
                    format!("{a} and {b}")
                } else {
                    format!("({a} or {b})")
                }
            }
            Expr::BinaryOp { left, op: BinaryOperator::Or, right } => {
                let (a, b) = (self.cond(left, truth)?, self.cond(right, truth)?);
                if truth {
                    format!("({a} or {b})")
                } else {
                    format!("{a} and {b}")
                }
            }
            Expr::UnaryOp { op: UnaryOperator::Not, expr } => self.cond(expr, !truth)?,
            leaf => {
                let t = self.leaf(leaf)?;
                match (truth, nullable(leaf)) {
                    (true, _) => t,
                    (false, Some(col)) => {
                        let null = self.add(col, Value::Null);
                        format!("(not ({t}) and not {null})")
                    }
                    (false, None) => format!("not ({t})"),
                }
            }
        })
    }

    /// "`col <op> v` is TRUE" when the comparison is negative: not equal, and present.
    fn present_and_not(&mut self, name: String, col: String) -> String {
        let null = self.add(col, Value::Null);
        format!("(not {name} and not {null})")
    }

    /// A comparison (no AND / OR / NOT at its top).
    fn leaf(&mut self, e: &Expr) -> Result<String, Refusal> {
        let refuse = |e: &Expr| Refusal::new("not expressible", format!("`{e}` has no Sigma form"));
        Ok(match e {
            // `coalesce(col, d) <op> v`: the comparison, or (when `d <op> v` holds) an absent value too.
            Expr::BinaryOp { left, op, right } if coalesced(left).is_some() => {
                let (col, default) = coalesced(left).ok_or_else(|| refuse(e))?;
                let v = literal(right).ok_or_else(|| refuse(e))?;
                let plain = Expr::BinaryOp {
                    left: Box::new(Expr::Identifier(col.as_str().into())),
                    op: op.clone(),
                    right: right.clone(),
                };
                let test = self.leaf(&plain)?;
                match holds(&default, op, &v) {
                    Some(true) => {
                        let null = self.add(col, Value::Null);
                        format!("({test} or {null})")
                    }
                    Some(false) => test,
                    None => return Err(refuse(e)),
                }
            }
            Expr::BinaryOp { left, op, right } => {
                let col = column(left).ok_or_else(|| refuse(e))?;
                let v = literal(right).ok_or_else(|| refuse(e))?;
                let (suffix, negate) = match op {
                    BinaryOperator::Eq if matches!(v, Value::String(_)) => ("|cased", false),
                    BinaryOperator::Eq => ("", false),
                    BinaryOperator::NotEq if matches!(v, Value::String(_)) => ("|cased", true),
                    BinaryOperator::NotEq => ("", true),
                    BinaryOperator::Lt => ("|lt", false),
                    BinaryOperator::LtEq => ("|lte", false),
                    BinaryOperator::Gt => ("|gt", false),
                    BinaryOperator::GtEq => ("|gte", false),
                    _ => return Err(refuse(e)),
                };
                let v = match (suffix, &v) {
                    ("|cased", Value::String(s)) => Value::String(escape(s)),
                    _ => v,
                };
                let name = self.add(format!("{col}{suffix}"), v);
                if negate {
                    self.present_and_not(name, col)
                } else {
                    name
                }
            }
            Expr::InList { expr, list, negated } => {
                let col = column(expr).ok_or_else(|| refuse(e))?;
                let values: Vec<Value> = list.iter().map(literal).collect::<Option<_>>().ok_or_else(|| refuse(e))?;
                let texts = values.iter().all(|v| matches!(v, Value::String(_)));
                let values = values
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => Value::String(escape(&s)),
                        v => v,
                    })
                    .collect();
                let name = self.add(if texts { format!("{col}|cased") } else { col.clone() }, Value::Sequence(values));
                if *negated {
                    self.present_and_not(name, col)
                } else {
                    name
                }
            }
            Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
                let col = column(inner).ok_or_else(|| refuse(e))?;
                let name = self.add(col, Value::Null);
                if matches!(e, Expr::IsNotNull(_)) {
                    format!("not {name}")
                } else {
                    name
                }
            }
            Expr::Like { negated, expr, pattern, escape_char: None, .. }
            | Expr::ILike { negated, expr, pattern, escape_char: None, .. } => {
                let col = column(expr).ok_or_else(|| refuse(e))?;
                let Some(Value::String(p)) = literal(pattern) else { return Err(refuse(e)) };
                let cased = matches!(e, Expr::Like { .. });
                let name = self
                    .add(if cased { format!("{col}|cased") } else { col.clone() }, Value::String(like_to_sigma(&p)));
                if *negated {
                    self.present_and_not(name, col)
                } else {
                    name
                }
            }
            // `regexp_like(col, p[, flags])`, or over `coalesce(col, '')` when `p` cannot match ''.
            Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("regexp_like") => {
                let args = function_args(f).ok_or_else(|| refuse(e))?;
                let (col, pattern, flags) = match args.as_slice() {
                    [c, p] => (c, p, None),
                    [c, p, fl] => (c, p, Some(fl)),
                    _ => return Err(refuse(e)),
                };
                let col = match (column(col), coalesced(col)) {
                    (Some(c), _) => c,
                    (None, Some((c, Value::String(d)))) if d.is_empty() => c,
                    _ => return Err(refuse(e)),
                };
                let Some(Value::String(p)) = literal(pattern) else { return Err(refuse(e)) };
                let flags = match flags.map(literal) {
                    None => String::new(),
                    Some(Some(Value::String(fl))) if fl.chars().all(|c| matches!(c, 'i' | 'm' | 's')) => fl,
                    _ => return Err(refuse(e)),
                };
                let full = if flags.is_empty() { p.clone() } else { format!("(?{flags}){p}") };
                match regex::Regex::new(&full) {
                    Ok(re) if !re.is_match("") => {}
                    _ => return Err(refuse(e)),
                }
                let mods: String = flags.chars().map(|c| format!("|{c}")).collect();
                self.add(format!("{col}|re{mods}"), Value::String(p))
            }
            _ => return Err(refuse(e)),
        })
    }
}

/// The column whose absence makes a comparison NULL in SQL, if any.
fn nullable(e: &Expr) -> Option<String> {
    match e {
        Expr::BinaryOp { left, .. } => column(left),
        Expr::InList { expr, .. } | Expr::Like { expr, .. } | Expr::ILike { expr, .. } => column(expr),
        Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("regexp_like") => {
            function_args(f)?.first().and_then(column)
        }
        _ => None,
    }
}

/// `coalesce(col, literal)`: the column and the default.
fn coalesced(e: &Expr) -> Option<(String, Value)> {
    let Expr::Function(f) = e else { return None };
    if !f.name.to_string().eq_ignore_ascii_case("coalesce") {
        return None;
    }
    match function_args(f)?.as_slice() {
        [c, d] => Some((column(c)?, literal(d)?)),
        _ => None,
    }
}

fn function_args(f: &datafusion::sql::sqlparser::ast::Function) -> Option<Vec<Expr>> {
    use datafusion::sql::sqlparser::ast::{FunctionArg, FunctionArgExpr, FunctionArguments};
    let FunctionArguments::List(list) = &f.args else { return None };
    list.args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x.clone()),
            _ => None,
        })
        .collect()
}

/// Whether `a <op> b` holds for two literals (None: not comparable).
fn holds(a: &Value, op: &BinaryOperator, b: &Value) -> Option<bool> {
    use std::cmp::Ordering;
    let ord = match (a, b) {
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?)?,
        _ => return None,
    };
    Some(match op {
        BinaryOperator::Eq => ord == Ordering::Equal,
        BinaryOperator::NotEq => ord != Ordering::Equal,
        BinaryOperator::Lt => ord == Ordering::Less,
        BinaryOperator::LtEq => ord != Ordering::Greater,
        BinaryOperator::Gt => ord == Ordering::Greater,
        BinaryOperator::GtEq => ord != Ordering::Less,
        _ => return None,
    })
}

fn column(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(i) => Some(i.value.clone()),
        _ => None,
    }
}

fn literal(e: &Expr) -> Option<Value> {
    match e {
        Expr::Value(v) => match &v.value {
            SqlValue::SingleQuotedString(s) => Some(Value::String(s.clone())),
            SqlValue::Number(n, _) => n.parse::<i64>().ok().map(|i| Value::Number(i.into())),
            SqlValue::Boolean(b) => Some(Value::Bool(*b)),
            _ => None,
        },
        _ => None,
    }
}

/// A literal text as a Sigma value: its wildcards and backslashes escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('*', "\\*").replace('?', "\\?")
}

/// A LIKE pattern (escape `\`) as a Sigma value with wildcards.
fn like_to_sigma(p: &str) -> String {
    let mut out = String::new();
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => out.push_str(&escape(&n.to_string())),
                None => out.push_str("\\\\"),
            },
            '%' => out.push('*'),
            '_' => out.push('?'),
            c => out.push_str(&escape(&c.to_string())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(mode_sql: &str) -> RuleDef {
        let text = format!(
            "id = \"XX-01\"\ntitle = \"t\"\nfamily = \"shadow_saas\"\nseverity = \"low\"\nclass = \"network\"\n\
             description = \"d\"\nmessage = \"m\"\nattack = [\"T1567\"]\nsql = '''\n{mode_sql}\n'''\n[dedup]\nkey = [\"user\"]\n"
        );
        RuleDef::parse(std::path::Path::new("XX-01.toml"), &text, None).expect("rule parses")
    }

    fn detection(yaml: &str) -> Value {
        let v: Value = serde_norway::from_str(yaml).expect("exported YAML parses");
        v["detection"].clone()
    }

    #[test]
    fn negations_keep_sqls_null_semantics() {
        // SQL: `host <> 'x'` is not TRUE when host is NULL; Sigma's `not` of a
        // missing field is true, so the export must also require presence.
        let y = export(&rule("SELECT user, time, event_id FROM network WHERE host <> 'x' AND NOT (app_id = 'y')"))
            .expect("exports");
        let d = detection(&y);
        assert_eq!(d["condition"], "(not sel1 and not sel2) and ((not (sel3) and not sel4))", "{y}");
        assert_eq!(d["sel1"]["host|cased"], "x");
        assert!(d["sel2"]["host"].is_null() && d["sel4"]["app_id"].is_null(), "{y}");
        // A coalesce default that satisfies the comparison admits the absent value.
        let y = export(&rule("SELECT user, time, event_id FROM network WHERE coalesce(action, 'allow') = 'allow'"))
            .expect("exports");
        assert_eq!(detection(&y)["condition"], "(sel1 or sel2)", "{y}");
        // LIKE wildcards become Sigma's; literal `*` is escaped.
        let y = export(&rule("SELECT user, time, event_id FROM network WHERE url LIKE '%/a*b_\\%'")).expect("exports");
        assert_eq!(detection(&y)["sel1"]["url|cased"], "*/a\\*b?%", "{y}");
        assert!(y.contains("attack.t1567") && y.contains("floodlight_id: XX-01"), "{y}");
    }

    #[test]
    fn what_sigma_cannot_say_is_refused() {
        for sql in [
            "SELECT user, time, event_id FROM network WHERE cardinality(app_risk_factors) > 0",
            "SELECT user, time, event_id FROM network WHERE bytes_out > bytes_in",
            "SELECT user, time, event_id FROM network",
            "SELECT user, time, event_id FROM network WHERE host = 'a' UNION ALL SELECT user, time, event_id FROM network WHERE host = 'b'",
        ] {
            assert_eq!(export(&rule(sql)).map_err(|r| r.kind), Err("not expressible"), "{sql}");
        }
    }
}
