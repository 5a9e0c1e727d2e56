//! SQL, as StartQuery's `queryLanguage: SQL` takes it (OpenSearch's direct-query dialect, which
//! is Spark SQL): one `SELECT` over the log groups its `FROM` names, parsed by `sqlparser` and
//! translated into the Logs Insights language, run by the same engine.
//!
//! Supported: `SELECT [DISTINCT] items FROM \`group\` | \`logGroups(logGroupIdentifier: […])\`
//! [AS a] [WHERE …] [GROUP BY …] [HAVING …] [ORDER BY … [ASC|DESC]] [LIMIT n]`, with the
//! aggregates `COUNT(*)`, `COUNT(x)`, `COUNT(DISTINCT x)`, `SUM`, `AVG`, `MIN`, `MAX`,
//! `STDDEV`/`STDDEV_SAMP`, the operators, `[NOT] IN`, `[NOT] BETWEEN`, `[NOT] LIKE`, `IS [NOT]
//! NULL`, `CASE`, and the functions in [`FUNCTIONS`]. Anything else (joins, set operations,
//! subqueries, window functions, `OFFSET`, `CAST`, …) is a [`QueryError`] naming it at its place.
//!
//! Result columns are the `SELECT` items in order, named by their alias, a column by its name,
//! and any other item as Spark names it (`count(1)` for `COUNT(*)`, otherwise the function's
//! name in lowercase with its arguments as written); `SELECT *` gives whole records.

use crate::translate::{like_regex, name, string, Piece};
use crate::{Query, QueryError, Source};
use sqlparser::ast::{
    BinaryOperator, Distinct, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr,
    InTarget, LimitClause, ObjectNamePart, OrderByKind, OrderBySort, SelectItem, SetExpr, Spanned,
    Statement, TableFactor, UnaryOperator, Value,
};
use sqlparser::dialect::DatabricksDialect;
use sqlparser::parser::Parser;

type R<T> = Result<T, QueryError>;

/// SQL function → (Logs Insights function, fewest and most arguments). `substr`/`substring`
/// and `sha2` are rewritten ([`Tr::function`]).
const FUNCTIONS: &[(&str, &str, usize, usize)] = &[
    ("abs", "abs", 1, 1),
    ("ceil", "ceil", 1, 1),
    ("ceiling", "ceil", 1, 1),
    ("floor", "floor", 1, 1),
    ("sqrt", "sqrt", 1, 1),
    ("ln", "log", 1, 1),
    ("round", "round", 1, 2),
    ("lower", "tolower", 1, 1),
    ("lcase", "tolower", 1, 1),
    ("upper", "toupper", 1, 1),
    ("ucase", "toupper", 1, 1),
    ("trim", "trim", 1, 1),
    ("ltrim", "ltrim", 1, 1),
    ("rtrim", "rtrim", 1, 1),
    ("length", "strlen", 1, 1),
    ("char_length", "strlen", 1, 1),
    ("character_length", "strlen", 1, 1),
    ("len", "strlen", 1, 1),
    ("concat", "concat", 1, 64),
    ("replace", "replace", 3, 3),
    ("coalesce", "coalesce", 1, 64),
    ("nvl", "coalesce", 2, 2),
    ("ifnull", "coalesce", 2, 2),
    ("if", "if", 3, 3),
    ("md5", "md5", 1, 1),
    ("greatest", "greatest", 1, 64),
    ("least", "least", 1, 64),
];

/// SQL aggregate → the Logs Insights one.
const AGGREGATES: &[(&str, &str)] = &[
    ("count", "count"),
    ("sum", "sum"),
    ("avg", "avg"),
    ("mean", "avg"),
    ("min", "min"),
    ("max", "max"),
    ("stddev", "stddev"),
    ("stddev_samp", "stddev"),
    ("std", "stddev"),
];

/// Char offsets of a `sqlparser` location (1-based line and column).
struct Places {
    /// The char offset of each line's start.
    lines: Vec<usize>,
    n: usize,
}

impl Places {
    fn new(text: &str) -> Places {
        let mut lines = vec![0];
        for (i, c) in text.chars().enumerate() {
            if c == '\n' {
                lines.push(i + 1);
            }
        }
        Places {
            lines,
            n: text.chars().count(),
        }
    }

    fn at(&self, line: u64, column: u64) -> usize {
        let Some(&start) = (line as usize)
            .checked_sub(1)
            .and_then(|l| self.lines.get(l))
        else {
            return 0;
        };
        (start + (column as usize).saturating_sub(1)).min(self.n)
    }

    /// An error at `node`'s place (the whole query when it has none).
    fn err<T>(&self, node: &impl Spanned, message: impl Into<String>) -> R<T> {
        let s = node.span();
        let (start, end) = if s.start.line == 0 {
            (0, self.n)
        } else {
            (
                self.at(s.start.line, s.start.column),
                self.at(s.end.line, s.end.column),
            )
        };
        Err(QueryError {
            start,
            end: end.max(start),
            message: message.into(),
        })
    }
}

/// Translation state: the table's alias, and within an aggregating query the aggregates met
/// outside the `SELECT` items (`HAVING`, `ORDER BY`), computed under hidden names.
struct Tr<'a> {
    places: &'a Places,
    alias: Option<String>,
    /// (Logs Insights aggregate text, the name its value has in the rows).
    aggs: Vec<(String, String)>,
    /// Translating a `SELECT` item of an aggregating query: aggregates are written as calls.
    in_stats: bool,
    /// Aggregates are allowed here (an aggregating query's items, `HAVING`, `ORDER BY`).
    aggregating: bool,
}

impl Tr<'_> {
    /// A column: its name without the table alias.
    fn column(&self, parts: &[sqlparser::ast::Ident]) -> String {
        let parts: Vec<&str> = parts.iter().map(|i| i.value.as_str()).collect();
        match (parts.as_slice(), &self.alias) {
            ([a, rest @ ..], Some(alias)) if !rest.is_empty() && a.eq_ignore_ascii_case(alias) => {
                rest.join(".")
            }
            _ => parts.join("."),
        }
    }

    fn expr(&mut self, e: &Expr) -> R<String> {
        let p = self.places;
        Ok(match e {
            Expr::Identifier(i) => name(&i.value, 0, 0)?,
            Expr::CompoundIdentifier(parts) => name(&self.column(parts), 0, 0)?,
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => n.clone(),
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => string(s),
                _ => return p.err(e, format!("the value {} is not supported yet", v.value)),
            },
            Expr::Nested(inner) => format!("({})", self.expr(inner)?),
            Expr::UnaryOp { op, expr } => {
                let x = self.expr(expr)?;
                match op {
                    UnaryOperator::Not => format!("(not {x})"),
                    UnaryOperator::Minus => format!("(-{x})"),
                    UnaryOperator::Plus => x,
                    other => return p.err(e, format!("the operator {other} is not supported yet")),
                }
            }
            Expr::BinaryOp { left, op, right } => {
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                let op = match op {
                    BinaryOperator::Plus => "+",
                    BinaryOperator::Minus => "-",
                    BinaryOperator::Multiply => "*",
                    BinaryOperator::Divide => "/",
                    BinaryOperator::Modulo => "%",
                    BinaryOperator::Eq => "=",
                    BinaryOperator::NotEq => "!=",
                    BinaryOperator::Lt => "<",
                    BinaryOperator::LtEq => "<=",
                    BinaryOperator::Gt => ">",
                    BinaryOperator::GtEq => ">=",
                    BinaryOperator::And => "and",
                    BinaryOperator::Or => "or",
                    BinaryOperator::StringConcat => return Ok(format!("concat({l}, {r})")),
                    other => return p.err(e, format!("the operator {other} is not supported yet")),
                };
                format!("({l} {op} {r})")
            }
            Expr::IsNull(x) => format!("(not ispresent({}))", self.expr(x)?),
            Expr::IsNotNull(x) => format!("ispresent({})", self.expr(x)?),
            Expr::In {
                expr,
                target: InTarget::List(list),
                negated,
                global: false,
            } => {
                let x = self.expr(expr)?;
                let items = list.iter().map(|i| self.expr(i)).collect::<R<Vec<_>>>()?;
                let t = format!("({x} in [{}])", items.join(", "));
                if *negated {
                    format!("(not {t})")
                } else {
                    t
                }
            }
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let (x, lo, hi) = (self.expr(expr)?, self.expr(low)?, self.expr(high)?);
                let t = format!("({x} >= {lo} and {x} <= {hi})");
                if *negated {
                    format!("(not {t})")
                } else {
                    t
                }
            }
            Expr::Like {
                negated,
                any: false,
                expr,
                pattern,
                escape_char: None,
            }
            | Expr::ILike {
                negated,
                any: false,
                expr,
                pattern,
                escape_char: None,
            } => {
                let x = self.expr(expr)?;
                let Expr::Value(v) = pattern.as_ref() else {
                    return p.err(pattern.as_ref(), "LIKE takes a string pattern");
                };
                let (Value::SingleQuotedString(pat) | Value::DoubleQuotedString(pat)) = &v.value
                else {
                    return p.err(pattern.as_ref(), "LIKE takes a string pattern");
                };
                let mut re = like_regex(pat);
                if matches!(e, Expr::ILike { .. }) {
                    re.insert_str(1, "(?i)");
                }
                let t = format!("({x} like {re})");
                if *negated {
                    format!("(not {t})")
                } else {
                    t
                }
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let subject = operand.as_deref().map(|o| self.expr(o)).transpose()?;
                let mut args = Vec::new();
                for w in conditions {
                    let c = self.expr(&w.condition)?;
                    args.push(match &subject {
                        Some(s) => format!("({s} = {c})"),
                        None => c,
                    });
                    args.push(self.expr(&w.result)?);
                }
                if let Some(d) = else_result {
                    args.push(self.expr(d)?);
                }
                format!("case({})", args.join(", "))
            }
            Expr::Function(f) => self.function(e, f)?,
            // 1-based in SQL, 0-based in Logs Insights.
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let x = self.expr(expr)?;
                let from = match substring_from {
                    Some(f) => format!("({} - 1)", self.expr(f)?),
                    None => "0".into(),
                };
                match substring_for {
                    Some(n) => format!("substr({x}, {from}, {})", self.expr(n)?),
                    None => format!("substr({x}, {from})"),
                }
            }
            other => {
                let what = other.to_string();
                let short: String = what.chars().take(40).collect();
                return p.err(e, format!("{short} is not supported yet in SQL queries"));
            }
        })
    }

    fn function(&mut self, e: &Expr, f: &sqlparser::ast::Function) -> R<String> {
        let p = self.places;
        let fname = f.name.to_string();
        let lower = fname.to_ascii_lowercase();
        if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() {
            return p.err(
                e,
                format!("{fname} with OVER, FILTER or WITHIN GROUP is not supported yet"),
            );
        }
        let FunctionArguments::List(list) = &f.args else {
            return match &f.args {
                FunctionArguments::None => {
                    p.err(e, format!("the function {fname} is not supported yet"))
                }
                _ => p.err(e, "subqueries are not supported yet"),
            };
        };
        if !list.clauses.is_empty() {
            return p.err(e, format!("{fname}'s clauses are not supported yet"));
        }
        let distinct = matches!(
            list.duplicate_treatment,
            Some(sqlparser::ast::DuplicateTreatment::Distinct)
        );
        if let Some(&(_, ours)) = AGGREGATES.iter().find(|(a, _)| *a == lower) {
            if !self.aggregating {
                return p.err(e, format!("the aggregate {fname} is not allowed here"));
            }
            let call = match (lower.as_str(), list.args.as_slice(), distinct) {
                ("count", [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)], false) => {
                    "count(*)".to_string()
                }
                (_, [FunctionArg::Unnamed(FunctionArgExpr::Expr(x))], distinct) => {
                    let saved = std::mem::replace(&mut self.aggregating, false);
                    let arg = self.expr(x);
                    self.aggregating = saved;
                    match (lower.as_str(), distinct) {
                        ("count", true) => format!("count_distinct({})", arg?),
                        (_, true) => {
                            return p.err(e, format!("{fname}(DISTINCT …) is not supported yet"))
                        }
                        _ => format!("{ours}({})", arg?),
                    }
                }
                _ => return p.err(e, format!("{fname} takes one argument")),
            };
            if self.in_stats {
                return Ok(call);
            }
            // Outside the items (HAVING, ORDER BY): the value an item computes, or a hidden
            // aggregate of its own.
            if let Some((_, n)) = self.aggs.iter().find(|(c, _)| *c == call) {
                return name(&n.clone(), 0, 0);
            }
            let hidden = format!("{}{}", crate::translate::PLACEHOLDER, "hidden");
            let n = format!("{hidden}{}", self.aggs.len());
            self.aggs.push((call, n.clone()));
            return name(&n, 0, 0);
        }
        let mut args = Vec::new();
        for a in &list.args {
            match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => args.push(self.expr(x)?),
                _ => return p.err(e, format!("{fname}'s arguments are not supported yet")),
            }
        }
        if distinct {
            return p.err(e, format!("{fname}(DISTINCT …) is not supported yet"));
        }
        let count = |lo: usize, hi: usize| -> R<()> {
            if args.len() < lo || args.len() > hi {
                return p.err(e, format!("{fname} takes {lo} to {hi} arguments"));
            }
            Ok(())
        };
        match lower.as_str() {
            // 1-based in SQL, 0-based in Logs Insights.
            "substr" | "substring" => {
                count(2, 3)?;
                let from = format!("({} - 1)", args[1]);
                Ok(match args.get(2) {
                    Some(n) => format!("substr({}, {from}, {n})", args[0]),
                    None => format!("substr({}, {from})", args[0]),
                })
            }
            "sha2" => {
                count(2, 2)?;
                if args[1] != "256" {
                    return p.err(e, "sha2 is supported with 256 bits only");
                }
                Ok(format!("sha256({})", args[0]))
            }
            _ => match FUNCTIONS.iter().find(|(s, ..)| *s == lower) {
                Some(&(_, ours, lo, hi)) => {
                    count(lo, hi)?;
                    Ok(format!("{ours}({})", args.join(", ")))
                }
                None => p.err(e, format!("the SQL function {fname} is not supported yet")),
            },
        }
    }
}

/// Whether `e` holds an aggregate call (among the expressions translated; any other form is
/// refused when translated).
fn has_aggregate(e: &Expr) -> bool {
    match e {
        Expr::Function(f) => {
            let n = f.name.to_string().to_ascii_lowercase();
            (AGGREGATES.iter().any(|(a, _)| *a == n) && f.over.is_none())
                || match &f.args {
                    FunctionArguments::List(l) => l.args.iter().any(|a| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => has_aggregate(x),
                        _ => false,
                    }),
                    _ => false,
                }
        }
        Expr::Nested(x) | Expr::UnaryOp { expr: x, .. } | Expr::IsNull(x) | Expr::IsNotNull(x) => {
            has_aggregate(x)
        }
        Expr::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            has_aggregate(expr)
                || substring_from.as_deref().is_some_and(has_aggregate)
                || substring_for.as_deref().is_some_and(has_aggregate)
        }
        Expr::BinaryOp { left, right, .. } => has_aggregate(left) || has_aggregate(right),
        Expr::In {
            expr,
            target: InTarget::List(list),
            ..
        } => has_aggregate(expr) || list.iter().any(has_aggregate),
        Expr::Between {
            expr, low, high, ..
        } => has_aggregate(expr) || has_aggregate(low) || has_aggregate(high),
        Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => {
            has_aggregate(expr) || has_aggregate(pattern)
        }
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            operand.as_deref().is_some_and(has_aggregate)
                || conditions
                    .iter()
                    .any(|w| has_aggregate(&w.condition) || has_aggregate(&w.result))
                || else_result.as_deref().is_some_and(has_aggregate)
        }
        _ => false,
    }
}

/// The column name Spark gives an item without alias.
fn spark_name(e: &Expr, tr: &Tr<'_>) -> String {
    match e {
        Expr::Identifier(i) => i.value.clone(),
        Expr::CompoundIdentifier(parts) => tr.column(parts),
        Expr::Function(f) => {
            let n = f.name.to_string().to_ascii_lowercase();
            let args = match &f.args {
                FunctionArguments::List(l) => {
                    if n == "count"
                        && matches!(
                            l.args.as_slice(),
                            [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)]
                        )
                    {
                        return "count(1)".into();
                    }
                    let inner: Vec<String> = l.args.iter().map(|a| a.to_string()).collect();
                    let d = match l.duplicate_treatment {
                        Some(sqlparser::ast::DuplicateTreatment::Distinct) => "DISTINCT ",
                        _ => "",
                    };
                    format!("{d}{}", inner.join(", "))
                }
                _ => String::new(),
            };
            format!("{n}({args})")
        }
        other => other.to_string(),
    }
}

/// The log groups of a `FROM` item: a group's name, or `logGroups(logGroupIdentifier: […])`.
fn groups(p: &Places, node: &impl Spanned, text: &str) -> R<Vec<String>> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("filterindex(") || lower.starts_with("datasource(") {
        return p.err(node, "filterIndex and dataSource are not supported yet");
    }
    let Some(rest) = lower.strip_prefix("loggroups(") else {
        return Ok(vec![t.to_string()]);
    };
    let inner = &t[t.len() - rest.len()..];
    let Some(inner) = inner.trim_end().strip_suffix(')') else {
        return p.err(node, "logGroups(…) is not closed");
    };
    let inner = inner.trim();
    let Some(list) = inner
        .strip_prefix("logGroupIdentifier")
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix(':'))
        .map(str::trim)
        .and_then(|r| r.strip_prefix('['))
        .and_then(|r| r.strip_suffix(']'))
    else {
        return p.err(node, "expected logGroups(logGroupIdentifier: ['…', …])");
    };
    let mut out = Vec::new();
    for item in list.split(',') {
        let item = item.trim();
        let name = item
            .strip_prefix('\'')
            .and_then(|i| i.strip_suffix('\''))
            .or_else(|| item.strip_prefix('"').and_then(|i| i.strip_suffix('"')));
        match name {
            Some(n) if !n.is_empty() => out.push(n.to_string()),
            _ => return p.err(node, "expected quoted log group identifiers"),
        }
    }
    if out.is_empty() || out.len() > 50 {
        return p.err(node, "logGroups(…) takes 1 to 50 log groups");
    }
    Ok(out)
}

/// Parses an SQL query into a [`Query`] whose [`Query::source`] names its log groups.
pub fn parse_sql(text: &str) -> R<Query> {
    crate::translate::PLACEHOLDERS.with(|p| p.borrow_mut().clear());
    let r = translate(text);
    crate::translate::PLACEHOLDERS.with(|p| p.borrow_mut().clear());
    r
}

fn translate(text: &str) -> R<Query> {
    let places = Places::new(text);
    let p = &places;
    let n = p.n;
    let whole = |m: String| QueryError {
        start: 0,
        end: n,
        message: m,
    };
    let statements = Parser::new(&DatabricksDialect {})
        .with_recursion_limit(64)
        .try_with_sql(text)
        .and_then(|mut parser| parser.parse_statements())
        .map_err(|e| whole(e.to_string()))?;
    let [Statement::Query(q)] = statements.as_slice() else {
        return Err(whole(match statements.len() {
            0 => "query is empty".into(),
            1 => "only SELECT queries are supported".into(),
            _ => "only one statement is allowed".into(),
        }));
    };
    if let Some(w) = &q.with {
        return p.err(w, "WITH (common table expressions) is not supported yet");
    }
    if q.fetch.is_some() || !q.locks.is_empty() || q.for_clause.is_some() || q.settings.is_some() {
        return p.err(q.as_ref(), "this query form is not supported yet");
    }
    let SetExpr::Select(s) = q.body.as_ref() else {
        return p.err(
            q.body.as_ref(),
            "only a single SELECT is supported (UNION, INTERSECT, EXCEPT and VALUES are not yet)",
        );
    };
    // FROM: exactly one log group item.
    let [from] = s.from.as_slice() else {
        return Err(whole(
            "a SQL query needs exactly one FROM item naming its log groups".into(),
        ));
    };
    if let Some(j) = from.joins.first() {
        return p.err(&j.relation, "JOIN is not supported yet");
    }
    let TableFactor::Table {
        name: table,
        alias,
        args: None,
        ..
    } = &from.relation
    else {
        return p.err(
            &from.relation,
            "FROM takes a log group (subqueries and table functions are not supported yet)",
        );
    };
    let [ObjectNamePart::Identifier(ident)] = table.0.as_slice() else {
        return p.err(
            &from.relation,
            "FROM takes one log group name in back quotes",
        );
    };
    let log_groups = groups(p, &from.relation, &ident.value)?;
    if s.top.is_some()
        || s.into.is_some()
        || !s.lateral_views.is_empty()
        || s.prewhere.is_some()
        || !s.cluster_by.is_empty()
        || !s.distribute_by.is_empty()
        || !s.named_window.is_empty()
        || s.qualify.is_some()
        || !s.connect_by.is_empty()
    {
        return p.err(s.as_ref(), "this SELECT form is not supported yet");
    }
    let mut tr = Tr {
        places: p,
        alias: alias.as_ref().map(|a| a.name.value.clone()),
        aggs: Vec::new(),
        in_stats: false,
        aggregating: false,
    };
    let mut pieces: Vec<Piece> = Vec::new();
    let piece = |text: String, eval: bool| Piece {
        text,
        eval,
        start: 0,
        end: n,
    };
    if let Some(w) = &s.selection {
        if has_aggregate(w) {
            return p.err(w, "aggregates are not allowed in WHERE");
        }
        pieces.push(piece(format!("filter {}", tr.expr(w)?), false));
    }
    let group_by: Vec<&Expr> = match &s.group_by {
        GroupByExpr::Expressions(list, mods) if mods.is_empty() => list.iter().collect(),
        _ => {
            return p.err(
                s.as_ref(),
                "GROUP BY ALL and grouping modifiers are not supported yet",
            )
        }
    };
    // The SELECT items: (expression or None for `*`, result name).
    let mut items: Vec<(Option<&Expr>, String)> = Vec::new();
    for item in &s.projection {
        match item {
            SelectItem::UnnamedExpr(e) => items.push((Some(e), spark_name(e, &tr))),
            SelectItem::ExprWithAlias { expr, alias } => {
                items.push((Some(expr), alias.value.clone()))
            }
            SelectItem::Wildcard(opts)
                if opts.opt_exclude.is_none()
                    && opts.opt_except.is_none()
                    && opts.opt_replace.is_none()
                    && opts.opt_rename.is_none()
                    && opts.opt_ilike.is_none() =>
            {
                items.push((None, "*".into()))
            }
            other => return p.err(other, "this SELECT item is not supported yet"),
        }
    }
    let distinct = match &s.distinct {
        None => false,
        Some(Distinct::Distinct) => true,
        Some(other) => return p.err(s.as_ref(), format!("{other} is not supported yet")),
    };
    let aggregating = distinct
        || !group_by.is_empty()
        || s.having.is_some()
        || items.iter().any(|(e, _)| e.is_some_and(has_aggregate));
    let star = items.iter().any(|(e, _)| e.is_none());
    if star && (aggregating || items.len() > 1) {
        return Err(whole(
            "SELECT * goes alone, without GROUP BY or aggregates".into(),
        ));
    }
    // Names of the results: shown, in order.
    let shown: Vec<String> = items.iter().map(|(_, n)| n.clone()).collect();
    if aggregating {
        tr.aggregating = true;
        // Group keys: a SELECT item's name when an item is the same expression, else hidden.
        let mut by = Vec::new();
        let keys: Vec<&Expr> = if distinct {
            if !group_by.is_empty() {
                return Err(whole(
                    "SELECT DISTINCT with GROUP BY is not supported yet".into(),
                ));
            }
            items.iter().filter_map(|(e, _)| *e).collect()
        } else {
            group_by
        };
        let mut by_names = Vec::new();
        for (k, key) in keys.iter().enumerate() {
            if has_aggregate(key) {
                return p.err(*key, "aggregates are not allowed in GROUP BY");
            }
            let x = tr.expr(key)?;
            let same = items
                .iter()
                .find(|(e, _)| e.is_some_and(|e| e == *key))
                .map(|(_, n)| n.clone());
            let col = same.unwrap_or_else(|| format!("{}key{k}", crate::translate::PLACEHOLDER));
            by.push(format!("{x} as {}", name(&col, 0, 0)?));
            by_names.push(col);
        }
        // Items: aggregate expressions become stats items; others must be group keys.
        let mut stats_items = Vec::new();
        for (e, col) in &items {
            let e = e.expect("no * here");
            if has_aggregate(e) {
                tr.in_stats = true;
                let x = tr.expr(e);
                tr.in_stats = false;
                let x = x?;
                tr.aggs.push((x.clone(), col.clone()));
                stats_items.push(format!("{x} as {}", name(col, 0, 0)?));
            } else if !by_names.contains(col) {
                return p.err(e, "a SELECT item of a grouped query must be a GROUP BY expression or an aggregate");
            }
        }
        let having = match &s.having {
            Some(h) => Some(tr.expr(h)?),
            None => None,
        };
        let order = order_by(&mut tr, q, s, &items)?;
        for (call, hidden) in tr.aggs.clone() {
            if hidden.starts_with(crate::translate::PLACEHOLDER) {
                stats_items.push(format!("{call} as {}", name(&hidden, 0, 0)?));
            }
        }
        if stats_items.is_empty() {
            // Only group keys: one row per combination.
            stats_items.push(format!(
                "count(*) as {}",
                name(&format!("{}count", crate::translate::PLACEHOLDER), 0, 0)?
            ));
        }
        let mut st = format!("stats {}", stats_items.join(", "));
        if !by.is_empty() {
            st.push_str(" by ");
            st.push_str(&by.join(", "));
        }
        pieces.push(piece(st, false));
        if let Some(h) = having {
            pieces.push(piece(format!("filter {h}"), false));
        }
        pieces.extend(order.map(|o| piece(o, false)));
    } else {
        // Computed items are set on the rows (their names shown at the end).
        let mut computed = Vec::new();
        for (e, col) in &items {
            let plain = match e {
                Some(Expr::Identifier(i)) => i.value == *col,
                Some(Expr::CompoundIdentifier(parts)) => tr.column(parts) == *col,
                Some(_) => false,
                None => true,
            };
            if let (false, Some(e)) = (plain, e) {
                computed.push(format!("{} as {}", tr.expr(e)?, name(col, 0, 0)?));
            }
        }
        if !computed.is_empty() {
            pieces.push(piece(format!("fields {}", computed.join(", ")), true));
        }
        if let Some(o) = order_by(&mut tr, q, s, &items)? {
            pieces.push(piece(o, false));
        }
    }
    match &q.limit_clause {
        None => {}
        Some(LimitClause::LimitOffset {
            limit: Some(l),
            offset: None,
            limit_by,
        }) if limit_by.is_empty() => {
            let ok = match l {
                Expr::Value(v) => match &v.value {
                    Value::Number(x, _) => x.parse::<usize>().ok().filter(|n| *n > 0),
                    _ => None,
                },
                _ => None,
            };
            let Some(k) = ok else {
                return p.err(l, "LIMIT takes a positive whole number");
            };
            pieces.push(piece(format!("limit {k}"), false));
        }
        Some(other) => {
            return Err(whole(format!(
                "{other} is not supported yet (OFFSET, LIMIT BY)"
            )))
        }
    }
    if !star {
        let names = shown.iter().map(|c| name(c, 0, 0)).collect::<R<Vec<_>>>()?;
        pieces.push(piece(format!("display {}", names.join(", ")), false));
    }
    if pieces.is_empty() {
        // `SELECT * FROM g`: every record.
        pieces.push(piece("fields @timestamp, @message".into(), false));
    }
    let cmds = crate::translate::assemble(&pieces, n)?;
    let mut query = Query::from_commands(cmds);
    query.source = Some(Source {
        names: log_groups,
        name_prefixes: Vec::new(),
        class: None,
    });
    Ok(query)
}

/// `ORDER BY` (or Spark's `SORT BY`): keys by a SELECT item's name when they are one, or by
/// their expression.
fn order_by(
    tr: &mut Tr<'_>,
    q: &sqlparser::ast::Query,
    s: &sqlparser::ast::Select,
    items: &[(Option<&Expr>, String)],
) -> R<Option<String>> {
    let p = tr.places;
    let mut keys: Vec<&sqlparser::ast::OrderByExpr> = s.sort_by.iter().collect();
    if let Some(o) = &q.order_by {
        match &o.kind {
            OrderByKind::Expressions(list) => keys.extend(list),
            OrderByKind::All(_) => return p.err(o, "ORDER BY ALL is not supported yet"),
        }
        if o.interpolate.is_some() {
            return p.err(o, "INTERPOLATE is not supported yet");
        }
    }
    if keys.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for k in keys {
        if k.options.nulls_first.is_some() || k.with_fill.is_some() {
            return p.err(
                &k.expr,
                "NULLS FIRST/LAST and WITH FILL are not supported yet",
            );
        }
        let by_item = items
            .iter()
            .find(|(e, n)| {
                e.is_some_and(|e| *e == k.expr)
                    || matches!(&k.expr, Expr::Identifier(i) if i.value == *n)
            })
            .map(|(_, n)| n.clone());
        let x = match by_item {
            Some(n) => name(&n, 0, 0)?,
            None => tr.expr(&k.expr)?,
        };
        let dir = match &k.options.sort {
            None | Some(OrderBySort::Asc) => "asc",
            Some(OrderBySort::Desc) => "desc",
            Some(OrderBySort::Using(_)) => {
                return p.err(&k.expr, "ORDER BY … USING is not supported yet")
            }
        };
        out.push(format!("{x} {dir}"));
    }
    Ok(Some(format!("sort {}", out.join(", "))))
}
