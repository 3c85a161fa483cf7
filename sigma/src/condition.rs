//! Sigma's `condition` expression: search identifiers joined by `and`, `or`,
//! `not`, parentheses, and `1 of` / `all of` a pattern or `them`.
//!
//! ```text
//! expr    := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" unary | "(" expr ")" | quant | IDENT
//! quant   := ("1" | "any" | "all") "of" (PATTERN | "them")
//! ```
//!
//! Keywords are case-insensitive. The deprecated aggregation pipe
//! (`selection | count() by src_ip > 10`) is refused: Sigma 2 writes it as a
//! correlation rule.

use crate::Refusal;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// A search identifier.
    Search(String),
    /// All of these.
    And(Vec<Cond>),
    /// Any of these.
    Or(Vec<Cond>),
    /// Not this.
    Not(Box<Cond>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Word(String),
}

fn tokens(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Tok>| {
        if !word.is_empty() {
            out.push(Tok::Word(std::mem::take(word)));
        }
    };
    for c in s.chars() {
        match c {
            '(' => {
                flush(&mut word, &mut out);
                out.push(Tok::Open);
            }
            ')' => {
                flush(&mut word, &mut out);
                out.push(Tok::Close);
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Parse `condition` against the rule's search identifiers.
pub fn parse(condition: &str, searches: &[String]) -> Result<Cond, Refusal> {
    if condition.contains('|') {
        return Err(Refusal::new(
            "deprecated aggregation",
            format!(
                "condition `{}` uses the Sigma 1 aggregation pipe (`| count() ...`); write it as a correlation rule (event_count / value_count)",
                condition.trim()
            ),
        ));
    }
    let toks = tokens(condition);
    let mut p = Parser { toks, pos: 0, searches };
    let c = p.expr()?;
    if p.pos != p.toks.len() {
        return Err(p.error("unexpected text after the end of the expression"));
    }
    Ok(c)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    searches: &'a [String],
}

impl Parser<'_> {
    fn error(&self, what: &str) -> Refusal {
        Refusal::new("invalid condition", format!("{what} (at token {})", self.pos + 1))
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }

    fn expr(&mut self) -> Result<Cond, Refusal> {
        let mut items = vec![self.and()?];
        while self.keyword("or") {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Cond::Or(items) })
    }

    fn and(&mut self) -> Result<Cond, Refusal> {
        let mut items = vec![self.unary()?];
        while self.keyword("and") {
            self.pos += 1;
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Cond::And(items) })
    }

    fn unary(&mut self) -> Result<Cond, Refusal> {
        match self.toks.get(self.pos).cloned() {
            None => Err(self.error("the expression ends where a search identifier was expected")),
            Some(Tok::Open) => {
                self.pos += 1;
                let c = self.expr()?;
                if self.toks.get(self.pos) != Some(&Tok::Close) {
                    return Err(self.error("missing `)`"));
                }
                self.pos += 1;
                Ok(c)
            }
            Some(Tok::Close) => Err(self.error("unexpected `)`")),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("not") => {
                self.pos += 1;
                Ok(Cond::Not(Box::new(self.unary()?)))
            }
            Some(Tok::Word(w)) if matches!(self.toks.get(self.pos + 1), Some(Tok::Word(of)) if of.eq_ignore_ascii_case("of")) =>
            {
                let all = if w.eq_ignore_ascii_case("all") {
                    true
                } else if w == "1" || w.eq_ignore_ascii_case("any") {
                    false
                } else {
                    return Err(Refusal::new(
                        "unsupported condition",
                        format!("`{w} of`: only `1 of`, `any of` and `all of` are Sigma"),
                    ));
                };
                let Some(Tok::Word(pattern)) = self.toks.get(self.pos + 2).cloned() else {
                    return Err(self.error("`of` must be followed by a pattern or `them`"));
                };
                self.pos += 3;
                let names: Vec<String> = if pattern.eq_ignore_ascii_case("them") {
                    self.searches.iter().filter(|s| !s.starts_with('_')).cloned().collect()
                } else {
                    self.searches.iter().filter(|s| glob(&pattern, s)).cloned().collect()
                };
                if names.is_empty() {
                    return Err(Refusal::new(
                        "invalid condition",
                        format!("`{w} of {pattern}` matches no search identifier"),
                    ));
                }
                let items: Vec<Cond> = names.into_iter().map(Cond::Search).collect();
                Ok(if items.len() == 1 {
                    items.into_iter().next().unwrap_or(Cond::And(Vec::new()))
                } else if all {
                    Cond::And(items)
                } else {
                    Cond::Or(items)
                })
            }
            Some(Tok::Word(w)) => {
                if !self.searches.contains(&w) {
                    return Err(Refusal::new(
                        "invalid condition",
                        format!("the condition names `{w}`, which the detection does not define"),
                    ));
                }
                self.pos += 1;
                Ok(Cond::Search(w))
            }
        }
    }
}

/// `*` matches any run of characters (Sigma's identifier patterns: `selection_*`).
pub fn glob(pattern: &str, s: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn precedence_quantifiers_and_errors() {
        let s = names(&["selection_a", "selection_b", "filter_main_x", "filter_main_y", "other"]);
        let c = parse("1 of selection_* and not 1 of filter_main_*", &s).expect("parses");
        assert_eq!(
            c,
            Cond::And(vec![
                Cond::Or(vec![Cond::Search("selection_a".into()), Cond::Search("selection_b".into())]),
                Cond::Not(Box::new(Cond::Or(vec![
                    Cond::Search("filter_main_x".into()),
                    Cond::Search("filter_main_y".into())
                ]))),
            ])
        );
        // `and` binds tighter than `or`; parentheses override.
        let c = parse("other or selection_a AND selection_b", &s).expect("parses");
        assert!(matches!(&c, Cond::Or(items) if items.len() == 2 && matches!(items[1], Cond::And(_))));
        let c = parse("(other or selection_a) and selection_b", &s).expect("parses");
        assert!(matches!(&c, Cond::And(items) if matches!(items[0], Cond::Or(_))));
        assert_eq!(parse("all of them", &s).map(|c| matches!(c, Cond::And(v) if v.len() == 5)), Ok(true));
        assert_eq!(parse("selection | count() by x > 5", &s).map_err(|r| r.kind), Err("deprecated aggregation"));
        assert_eq!(parse("missing", &s).map_err(|r| r.kind), Err("invalid condition"));
        assert_eq!(parse("(other", &s).map_err(|r| r.kind), Err("invalid condition"));
        assert_eq!(parse("2 of selection_*", &s).map_err(|r| r.kind), Err("unsupported condition"));
        assert!(glob("sel*", "selection") && !glob("sel*x", "selection") && glob("*", ""));
    }
}
