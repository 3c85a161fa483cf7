//! The read-only guard: which SQL an analyst may send.
//!
//! A query is parsed with DataFusion's own parser (so what is checked is what
//! would run) and accepted only when it is exactly one statement of these
//! kinds:
//!
//! - a query: `SELECT ...`, `WITH ... SELECT ...`, `VALUES`, set operations;
//! - `EXPLAIN` (with `ANALYZE`, `VERBOSE` or a format) of such a query.
//!
//! Everything else is refused with a message that names the statement kind:
//! DDL (`CREATE`, `DROP`, `ALTER`, `CREATE EXTERNAL TABLE`), DML (`INSERT`,
//! `UPDATE`, `DELETE`, `MERGE`), `COPY`, `SET` / `RESET`, `SELECT ... INTO`,
//! transactions, several statements in one request. Inside an accepted query
//! the guard also walks every table reference, subqueries included: table
//! functions other than the pure generators (`generate_series`, `range`,
//! `unnest`) and table names that look like files or URLs are refused, so a
//! query cannot read a file the lake does not hold.
//!
//! Before parsing, the guard bounds the text's shape: at most
//! [`MAX_QUERY_BYTES`], square brackets (array subscripts) nested at most
//! [`MAX_SUBSCRIPT_DEPTH`] deep, and every bracket and parenthesis closed, by
//! its own kind. `sqlparser` backtracks on a dotted name followed by a
//! subscript (`t.c[...`) that is never closed: the work doubles with each
//! unclosed level and with each name in a dotted chain (`a. b. c[`), so
//! that 2 unclosed levels of 16-name chains took 25 s to refuse. Unbalanced
//! text is never valid SQL, so it is refused as a syntax error before the
//! parser sees it (found by the `query_guard` fuzz target twice:
//! `fuzz/known/query_guard-timeout*.sql`). Parentheses are bounded by the
//! parser's own recursion limit. A third finding needs no bracket: a
//! dotted chain of some 20 names after an operator (`a ^ ##. b. c. ...`,
//! 120 bytes) did not finish parsing in 100 s, so a dotted name may have
//! at most [`MAX_NAME_PARTS`] parts. A fourth showed that a chain does not
//! end where a name does: after a period the parser tries a whole
//! expression, so `a. b. $1. c` and `a. b. ~ c. d` are one chain through
//! the placeholder or the operator (four 7-name chains joined so took 18 s
//! to refuse). A period must therefore be followed by a name or `*`, the
//! only things DataFusion reads there. A fifth showed that closed brackets
//! are no cure when something inside them fails to parse: closed
//! subscripts nested in 7-name chains around a syntax error grew the parse
//! about twofold per period of the enclosing names (64 s), so the periods
//! of the dotted names before the brackets open at any point may add up to
//! at most [`MAX_SUBSCRIPTED_NAME_PERIODS`] (a name goes on after its
//! subscript: `a.b[1].c[` is 2).
//!
//! This check is the first of two: the session then plans the statement
//! with DataFusion's `SQLOptions` forbidding DDL, DML and statements, and
//! its catalog holds only the lake's tables (URL tables are off).

use std::ops::ControlFlow;

use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::{SetExpr, Statement, TableFactor, Visit, Visitor};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// Why a statement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// The text is not valid SQL.
    #[error("the query does not parse: {0}")]
    Syntax(String),
    /// The text is longer, or nests subscripts deeper, than the guard parses.
    #[error("the query is too complex to parse: {0}")]
    TooComplex(String),
    /// Nothing to run.
    #[error("the query is empty")]
    Empty,
    /// More than one statement.
    #[error("send one statement at a time (found {0})")]
    Several(usize),
    /// A statement kind that reads or changes something other than the lake's tables.
    #[error("{kind} is not allowed: the query interface is read-only (SELECT, WITH, VALUES and EXPLAIN only)")]
    Forbidden {
        /// The statement kind (`INSERT`, `COPY`, `CREATE EXTERNAL TABLE`, ...).
        kind: String,
    },
    /// A table function or file-like table name inside the query.
    #[error("{0}: queries read the lake's tables only (see `floodlight query --schema`)")]
    Source(String),
}

/// Table functions that generate rows without reading anything.
const PURE_TABLE_FUNCTIONS: &[&str] = &["generate_series", "range", "unnest"];

/// The longest query text the guard parses, in bytes.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

/// How deep square brackets may nest (`a[b[c[1]]]` is 3).
pub const MAX_SUBSCRIPT_DEPTH: usize = 8;

/// How many parts a dotted name may have (`catalog.schema.table.column.field` is 5).
pub const MAX_NAME_PARTS: usize = 8;

/// How many periods the dotted names before the square brackets still open
/// at any point may have together (inside `a.b.c[d.e[` it is 3).
pub const MAX_SUBSCRIPTED_NAME_PERIODS: usize = 8;

/// Check that `sql` is one read-only statement; see the module docs.
pub fn check_read_only(sql: &str) -> Result<(), GuardError> {
    check_shape(sql)?;
    let statements = DFParser::parse_sql(sql).map_err(|e| GuardError::Syntax(strip_prefix(&e.to_string())))?;
    match statements.len() {
        0 => Err(GuardError::Empty),
        1 => check_statement(&statements[0]),
        n => Err(GuardError::Several(n)),
    }
}

/// Refuse text whose parse could take long, before parsing it: too long,
/// or brackets nested too deep. The tokenizer is linear and knows strings,
/// quoted names and comments, so brackets inside them do not count.
fn check_shape(sql: &str) -> Result<(), GuardError> {
    if sql.len() > MAX_QUERY_BYTES {
        return Err(GuardError::TooComplex(format!(
            "{} bytes, more than the {MAX_QUERY_BYTES} a query may have",
            sql.len()
        )));
    }
    let tokens = Tokenizer::new(&GenericDialect {}, sql).tokenize().map_err(|e| GuardError::Syntax(e.to_string()))?;
    // The brackets and parentheses still open, innermost last, each with
    // the periods of the dotted name it follows (`a.b[` is 1; a `(` is 0).
    let mut open: Vec<(char, usize)> = Vec::new();
    // How many of them are square brackets, and their dotted names' periods together.
    let (mut subscripts, mut chained) = (0usize, 0usize);
    // Periods in the current dotted name (`a.b.c` has 2), and the token before.
    let (mut periods, mut previous): (usize, Option<&Token>) = (0, None);
    for token in &tokens {
        if matches!(token, Token::Whitespace(_)) {
            continue;
        }
        if matches!(previous, Some(Token::Period)) && !matches!(token, Token::Word(_) | Token::Mul) {
            // `t.$1`, `t.'x'` and `t. ~x` make the parser try an expression
            // after the period and backtrack when it fails, which continues
            // the dotted chain through the operator or placeholder.
            return Err(GuardError::Syntax(format!("`.` is followed by `{token}`, not a name or `*`")));
        }
        let name_before = periods;
        match token {
            Token::Period => periods += 1,
            Token::Word(_) if matches!(previous, Some(Token::Period)) => {}
            _ => periods = 0,
        }
        previous = Some(token);
        if periods >= MAX_NAME_PARTS {
            return Err(GuardError::TooComplex(format!("a dotted name of more than {MAX_NAME_PARTS} parts")));
        }
        match token {
            Token::LParen => open.push(('(', 0)),
            Token::LBracket => {
                open.push(('[', name_before));
                subscripts += 1;
                chained += name_before;
                if subscripts > MAX_SUBSCRIPT_DEPTH {
                    return Err(GuardError::TooComplex(format!(
                        "square brackets nested more than {MAX_SUBSCRIPT_DEPTH} deep"
                    )));
                }
                if chained > MAX_SUBSCRIPTED_NAME_PERIODS {
                    return Err(GuardError::TooComplex(format!(
                        "subscripts nested in dotted names of more than {MAX_SUBSCRIPTED_NAME_PERIODS} periods together"
                    )));
                }
            }
            Token::RBracket | Token::RParen => {
                let close = if matches!(token, Token::RBracket) { ']' } else { ')' };
                match (close, open.pop()) {
                    (']', Some(('[', name))) => {
                        subscripts -= 1;
                        chained -= name;
                        // `a.b[1].c` and `a.b[1][2]` go on with the name.
                        periods = name;
                    }
                    (')', Some(('(', _))) => {}
                    (_, Some((o, _))) => return Err(GuardError::Syntax(format!("`{close}` closes a `{o}`"))),
                    (_, None) => return Err(GuardError::Syntax(format!("`{close}` closes nothing"))),
                }
            }
            _ => {}
        }
    }
    match open.last() {
        Some((o, _)) => Err(GuardError::Syntax(format!("a `{o}` is never closed"))),
        None => Ok(()),
    }
}

fn strip_prefix(message: &str) -> String {
    message.trim_start_matches("SQL error: ").trim_start_matches("ParserError(").trim_end_matches(')').to_string()
}

fn forbidden(kind: impl Into<String>) -> GuardError {
    GuardError::Forbidden { kind: kind.into() }
}

fn check_statement(statement: &DfStatement) -> Result<(), GuardError> {
    match statement {
        DfStatement::Statement(inner) => check_sql_statement(inner),
        DfStatement::Explain(explain) => check_statement(&explain.statement),
        DfStatement::CreateExternalTable(_) => Err(forbidden("CREATE EXTERNAL TABLE")),
        DfStatement::CopyTo(_) => Err(forbidden("COPY")),
        DfStatement::Reset(_) => Err(forbidden("RESET")),
    }
}

fn check_sql_statement(statement: &Statement) -> Result<(), GuardError> {
    match statement {
        Statement::Query(query) => {
            if let SetExpr::Select(select) = query.body.as_ref() {
                if select.into.is_some() {
                    return Err(forbidden("SELECT ... INTO"));
                }
            }
            let mut sources = SourceCheck::default();
            let _ = statement.visit(&mut sources);
            match sources.refused {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
        Statement::Explain { statement, .. } => check_sql_statement(statement),
        other => Err(forbidden(statement_kind(other))),
    }
}

/// The leading keywords of a statement, for the error message.
fn statement_kind(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text.split_whitespace().take(3).collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let two_word = ["CREATE", "DROP", "ALTER", "SHOW", "START", "TRUNCATE"];
    match upper.first().map(String::as_str) {
        Some(first) if two_word.contains(&first) && upper.len() > 1 => {
            let second = upper[1].trim_matches(|c: char| !c.is_ascii_alphabetic());
            if matches!(second, "OR" | "TEMPORARY" | "TEMP" | "EXTERNAL" | "UNIQUE") && upper.len() > 2 {
                format!("{first} {second} {}", upper[2])
            } else {
                format!("{first} {second}")
            }
        }
        Some(first) => first.trim_matches(|c: char| !c.is_ascii_alphabetic()).to_string(),
        None => "this statement".into(),
    }
}

#[derive(Default)]
struct SourceCheck {
    refused: Option<GuardError>,
}

impl Visitor for SourceCheck {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        let refusal = match factor {
            TableFactor::Table { name, args: Some(_), .. } => {
                let function = name.to_string().to_ascii_lowercase();
                (!PURE_TABLE_FUNCTIONS.contains(&function.as_str()))
                    .then(|| format!("table function `{function}` is not allowed"))
            }
            TableFactor::Table { name, args: None, .. } => {
                let text = name.to_string();
                let looks_like_file = text.contains('/')
                    || text.contains("://")
                    || [".parquet", ".csv", ".json", ".arrow", ".avro"]
                        .iter()
                        .any(|ext| text.to_ascii_lowercase().contains(ext));
                looks_like_file.then(|| format!("`{text}` looks like a file or URL, not a table"))
            }
            TableFactor::TableFunction { expr, .. } => Some(format!("table function `{expr}` is not allowed")),
            TableFactor::Function { name, .. } => Some(format!("table function `{name}` is not allowed")),
            _ => None,
        };
        match refusal {
            Some(r) => {
                self.refused = Some(GuardError::Source(r));
                ControlFlow::Break(())
            }
            None => ControlFlow::Continue(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_and_explain_pass() {
        for sql in [
            "SELECT * FROM findings",
            "select user, count(*) from network where date >= '2026-11-01' group by user",
            "WITH x AS (SELECT app_id FROM network) SELECT * FROM x",
            "SELECT 1 UNION ALL SELECT 2",
            "VALUES (1), (2)",
            "EXPLAIN SELECT * FROM dns",
            "EXPLAIN ANALYZE SELECT count(*) FROM dns",
            "SELECT * FROM generate_series(1, 10)",
            "SELECT * FROM network WHERE user IN (SELECT user FROM findings_latest)",
            "SELECT 'a;b' AS text_with_semicolon",
        ] {
            assert_eq!(check_read_only(sql), Ok(()), "{sql}");
        }
    }

    #[test]
    fn each_writing_statement_kind_is_named() {
        for (sql, kind) in [
            ("CREATE TABLE t AS SELECT 1", "CREATE TABLE"),
            ("CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/etc/'", "CREATE EXTERNAL TABLE"),
            ("CREATE VIEW v AS SELECT 1", "CREATE VIEW"),
            ("CREATE OR REPLACE VIEW v AS SELECT 1", "CREATE OR REPLACE"),
            ("DROP TABLE findings", "DROP TABLE"),
            ("INSERT INTO findings VALUES (1)", "INSERT"),
            ("UPDATE findings SET severity = 'low'", "UPDATE"),
            ("DELETE FROM findings", "DELETE"),
            ("COPY findings TO '/tmp/x.parquet'", "COPY"),
            ("COPY (SELECT 1) TO '/tmp/x.csv'", "COPY"),
            ("SET datafusion.execution.batch_size = 1", "SET"),
            ("RESET datafusion.execution.batch_size", "RESET"),
            ("SELECT 1 INTO newtable", "SELECT ... INTO"),
            ("EXPLAIN COPY findings TO '/tmp/y.parquet'", "COPY"),
            ("EXPLAIN INSERT INTO findings VALUES (1)", "INSERT"),
            ("ALTER TABLE findings ADD COLUMN x INT", "ALTER TABLE"),
            ("TRUNCATE TABLE findings", "TRUNCATE TABLE"),
        ] {
            match check_read_only(sql) {
                Err(GuardError::Forbidden { kind: k }) => assert_eq!(k, kind, "{sql}"),
                other => panic!("{sql}: expected Forbidden({kind}), got {other:?}"),
            }
        }
    }

    #[test]
    fn file_reading_and_several_statements_are_refused() {
        for sql in [
            "SELECT * FROM read_parquet('/etc/passwd')",
            "SELECT * FROM '/etc/passwd'",
            "SELECT * FROM 's3://bucket/x.parquet'",
            "SELECT * FROM network WHERE user IN (SELECT c FROM read_csv('/etc/shadow'))",
            "SELECT * FROM (SELECT * FROM 'data.parquet') t",
        ] {
            assert!(matches!(check_read_only(sql), Err(GuardError::Source(_))), "{sql}: {:?}", check_read_only(sql));
        }
        assert_eq!(check_read_only("SELECT 1; DROP TABLE findings"), Err(GuardError::Several(2)));
        assert_eq!(check_read_only("  ;  "), Err(GuardError::Empty));
        assert!(matches!(check_read_only("SELEC 1"), Err(GuardError::Syntax(_))));
        let msg = check_read_only("DELETE FROM findings").expect_err("refused").to_string();
        assert!(msg.contains("DELETE is not allowed") && msg.contains("read-only"), "{msg}");
    }

    /// The fuzz finding: a 167-byte query whose parse doubles in time with
    /// each unclosed `t.c[` level. It is refused by its shape, before the
    /// parser sees it.
    #[test]
    fn deeply_nested_subscripts_are_refused_before_parsing() {
        // `fuzz/known/query_guard-timeout.sql`, inline: the image's build
        // context leaves `fuzz/` out.
        let known = "SElECT E.sjELo.sjT. RL[jT.$d& R[T& RL[jT. R[TZLo.sjELo.sjT. RL[jT.E.sjELo.sjV. RL[jT.$d& R[T& RL[jT. R[TZLo.sjELo.sjT. RL[jT.$d& R[T& RL[jT. R[$d& R[T& RL[jT. R[TZ . R";
        // Refused by its shape, since the fourth finding at its first
        // `.$d`, before its nesting is counted (checked just below).
        match check_read_only(known) {
            Err(GuardError::Syntax(m)) => assert_eq!(m, "`.` is followed by `$d`, not a name or `*`"),
            other => panic!("expected a syntax error, got {other:?}"),
        }
        let nested = |depth: usize| format!("SELECT x{}{}", "[1".repeat(depth), "]".repeat(depth));
        assert_eq!(check_read_only(&nested(MAX_SUBSCRIPT_DEPTH)), Ok(()));
        assert!(matches!(check_read_only(&nested(MAX_SUBSCRIPT_DEPTH + 1)), Err(GuardError::TooComplex(_))));
        // Brackets in strings, quoted names and comments are text, not nesting.
        let quoted = format!("SELECT '{0}' AS \"{0}\" -- {0}\nFROM findings", "[".repeat(40));
        assert_eq!(check_read_only(&quoted), Ok(()));
        // Closed brackets do not add up: many in a row are fine.
        assert_eq!(check_read_only(&format!("SELECT {}", vec!["x[1]"; 50].join(" + "))), Ok(()));
        // The second finding: unclosed subscripts at depth 7 whose dotted
        // chains made the parse exponential (6 s in the fuzz build).
        let second = "SELECT[ ELo:nsjT. ELoT[ jT. ELoT[ ELo:nsjT. CT[ ELECT[ ELo:nsjT. ELoT[ jT. ELELonsj. T. TTsjT. T. TTTj. T. sj. T. TTsjT. T. TTTj. T. TTsjT.oT[ ELo:nsjT.Losn: RLo\0nsjT.OU";
        let started = std::time::Instant::now();
        assert!(matches!(check_read_only(second), Err(GuardError::Syntax(_) | GuardError::TooComplex(_))));
        // Six unclosed levels of 2-name chains: the parser would double its
        // work for each level; refused by shape.
        let unclosed = format!("SELECT x{}", "[a. c".repeat(6));
        match check_read_only(&unclosed) {
            Err(GuardError::Syntax(m)) => assert_eq!(m, "a `[` is never closed"),
            other => panic!("expected a syntax error, got {other:?}"),
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "refused fast: {:?}", started.elapsed());
        // Closed, the same chains pass the shape check and the parser answers fast.
        let closed = format!("{unclosed}{}", "]".repeat(6));
        assert!(!matches!(check_read_only(&closed), Err(GuardError::TooComplex(_))));
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "parsed fast: {:?}", started.elapsed());
        for (text, message) in [
            ("SELECT (1]", "`]` closes a `(`"),
            ("SELECT 1)", "`)` closes nothing"),
            ("SELECT x[1", "a `[` is never closed"),
            ("SELECT count((1)", "a `(` is never closed"),
        ] {
            match check_read_only(text) {
                Err(GuardError::Syntax(m)) => assert_eq!(m, message, "{text}"),
                other => panic!("{text}: expected a syntax error, got {other:?}"),
            }
        }
        // The third finding: a dotted chain after an operator, no bracket
        // (more than 100 s in the fuzz build). Refused by its length.
        let third = "SELECT ELonsj^##. TTsjT. T. TTTj. T. sj. T. TTsjT. T. TTTT. T. T. FSEj. T. TTsjT. jT. T. PTTj. T. sj. T. TTsjT. T. TjT. T. FSEj. T. TTsjT. jT. T. PTTj. T. sj. . T. TTsjTT. T. FSE\u{1e}eLCTTT ";
        let started = std::time::Instant::now();
        match check_read_only(third) {
            Err(GuardError::TooComplex(m)) => assert!(m.contains("dotted name of more than 8 parts"), "{m}"),
            other => panic!("expected TooComplex, got {other:?}"),
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "refused fast: {:?}", started.elapsed());
        let dotted = |parts: usize| format!("SELECT {} FROM findings", vec!["a"; parts].join(" . "));
        assert!(!matches!(check_read_only(&dotted(MAX_NAME_PARTS)), Err(GuardError::TooComplex(_))));
        assert!(matches!(check_read_only(&dotted(MAX_NAME_PARTS + 1)), Err(GuardError::TooComplex(_))));
        // Short names side by side do not add up.
        let joins = "SELECT a.b, c.d FROM s.t JOIN u.v ON s.t.x = u.v.y JOIN w.x ON w.x.k = s.t.k WHERE e.f.g = 1";
        assert!(!matches!(check_read_only(joins), Err(GuardError::TooComplex(_))), "{joins}");
        // Brackets and parentheses in strings, names and comments are text.
        assert_eq!(check_read_only("SELECT ')]' AS \"([\" FROM findings -- (\n"), Ok(()));
        // The fourth finding: chains of allowed length continued through a
        // placeholder or an operator after a period (18 s in a release
        // build; `fuzz/known/query_guard-timeout-continued.sql`).
        let fourth =
            "SELECT x ^ a. b. b. b. b. b. b. $1. b. b. b. b. b. b. ~ a. b. b. b. b. b. b. $1. b. b. b. b. b. b. . c";
        let started = std::time::Instant::now();
        match check_read_only(fourth) {
            Err(GuardError::Syntax(m)) => assert_eq!(m, "`.` is followed by `$1`, not a name or `*`"),
            other => panic!("expected a syntax error, got {other:?}"),
        }
        for (text, after) in
            [("SELECT a. ~b FROM findings", "~"), ("SELECT t.'x' FROM t", "'x'"), ("SELECT a. (b)", "(")]
        {
            match check_read_only(text) {
                Err(GuardError::Syntax(m)) => assert_eq!(m, format!("`.` is followed by `{after}`, not a name or `*`")),
                other => panic!("{text}: expected a syntax error, got {other:?}"),
            }
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "refused fast: {:?}", started.elapsed());
        // What DataFusion reads after a period still passes: names, quoted
        // names, keywords as names and `*`.
        for text in [
            "SELECT f.* FROM findings f",
            "SELECT f.\"rule\", f. severity FROM findings AS f",
            "SELECT count(f.*) FROM findings f",
        ] {
            assert_eq!(check_read_only(text), Ok(()), "{text}");
        }
        // The fifth finding: subscripts closed but nested in 7-name chains
        // (`a.b.c.d.e.f.g[ ... a.b.c.d.e.f.g[ ... ]]`), with a syntax error
        // inside: each level multiplies the parse by about 2 per period
        // (64 s in a release build; `fuzz/known/query_guard-timeout-subscripted.sql`).
        let fifth = "SELECT ELo. E$#-ELo. E$#-Lo.sjT.jT.o.sjT.jT. RE[ ELo. E$#-Lo.sjT.jLEo. E$#-ELo. E$#-Lo.sjT.jT.o.sjT.jT. RE[ T.o.sjT.jT. RE[ ELo. E$#-Lo.sjT.jLEo. E$#-ELo. E$#-Lo.sjT.jT.o.sjT.jT. RE[ ELo. E$#-Lo.sjT.j0. RE[]SE]SEqusei\0\0\0S1. RE[]SE]SEqusei\0\0\0S\0\0ELo. E$#-Lo.sjT.j0. RE[]SE]SEqusei\0\0\0S1. RE[]SE]SEqusei\0\0\0S\0\0\0\0\0\0\0=EL";
        let started = std::time::Instant::now();
        match check_read_only(fifth) {
            Err(GuardError::TooComplex(m)) => assert!(m.contains("more than 8 periods together"), "{m}"),
            other => panic!("expected TooComplex, got {other:?}"),
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "refused fast: {:?}", started.elapsed());
        let subscripted =
            |name: &str, depth: usize| format!("SELECT {}y[1]{}", format!("{name}[").repeat(depth), "]".repeat(depth));
        // 8 periods together pass (4 + 4, or 1 at each of 8 levels)...
        assert_eq!(check_read_only(&subscripted("a.b.c.d.e", 2)), Ok(()));
        assert_eq!(check_read_only(&subscripted("a.b", 7)), Ok(()));
        // ... 9 do not (3 + 3 + 3).
        assert!(matches!(check_read_only(&subscripted("a.b.c.d", 3)), Err(GuardError::TooComplex(_))));
        // A name goes on after its subscript: `a.b.c.d[1][` is 3 periods at each level.
        assert!(matches!(check_read_only(&subscripted("a.b.c.d[1]", 3)), Err(GuardError::TooComplex(_))));
        // Subscripts side by side, or on names inside a subscript, do not add up.
        assert_eq!(check_read_only("SELECT a.b.c.d['k'][2].e, f.g.h.i[j.k.l.m] FROM t"), Ok(()));
        let long = format!("SELECT '{}'", "a".repeat(MAX_QUERY_BYTES));
        match check_read_only(&long) {
            Err(GuardError::TooComplex(m)) => assert!(m.contains("bytes"), "{m}"),
            other => panic!("expected TooComplex, got {other:?}"),
        }
        let msg = check_read_only("DELETE FROM findings").expect_err("refused").to_string();
        assert!(msg.contains("DELETE is not allowed") && msg.contains("read-only"), "{msg}");
    }
}
