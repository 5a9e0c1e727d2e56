//! SQL, as StartQuery's `queryLanguage: SQL` takes it (OpenSearch's direct-query dialect, which
//! is Spark SQL): one `SELECT` over the log groups its `FROM` names, parsed by `sqlparser` and
//! translated into the Logs Insights language, run by the same engine.
//!
//! Supported: `SELECT [DISTINCT] items FROM \`group\` | \`logGroups(logGroupIdentifier: […])\`
//! [AS a] [WHERE …] [GROUP BY …] [HAVING …] [ORDER BY … [ASC|DESC]] [LIMIT n [OFFSET m]]`,
//! with the aggregates `COUNT(*)`, `COUNT(x)`, `COUNT(DISTINCT x)`, `SUM`, `AVG`, `MIN`, `MAX`,
//! `STDDEV`/`STDDEV_SAMP`, the operators, `[NOT] IN`, `[NOT] BETWEEN`, `[NOT] LIKE`, `IS [NOT]
//! NULL`, `CASE`, `CAST` to numbers and strings, one `[INNER | LEFT [OUTER]] JOIN` on an
//! equality (as the Logs Insights `join`), `column [NOT] IN (SELECT …)` in WHERE (as a Logs
//! Insights subquery), `UNION [ALL]`, `INTERSECT` and `EXCEPT` (later SELECTs as subqueries
//! whose rows follow, are kept or are dropped), and the functions in [`FUNCTIONS`]. Anything
//! else (other subqueries, window functions, …) is a [`QueryError`] naming it at its place.
//!
//! Result columns are the `SELECT` items in order, named by their alias, a column by its name,
//! and any other item as Spark names it (`count(1)` for `COUNT(*)`, otherwise the function's
//! name in lowercase with its arguments as written); `SELECT *` gives whole records.

use crate::translate::{name, string, Piece};
use crate::{Query, QueryError, Source};
use sqlparser::ast::{
    BinaryOperator, CastKind, CeilFloorKind, DataType, DateTimeField, Distinct, Expr, FunctionArg,
    FunctionArgExpr, FunctionArguments, GroupByExpr, InTarget, LimitClause, ObjectNamePart,
    OrderByKind, OrderBySort, SelectItem, SetExpr, Spanned, Statement, TableFactor, UnaryOperator,
    Value,
};
use sqlparser::dialect::DatabricksDialect;
use sqlparser::parser::Parser;

type R<T> = Result<T, QueryError>;

thread_local! {
    /// While a subquery translates: the outer query's table alias (a column it qualifies would
    /// make the subquery correlated, which is not supported).
    static OUTER_ALIAS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A subquery's translation `f`, one level deeper, at most
/// [`crate::translate::MAX_SUBQUERY_DEPTH`] deep (`at` places the error).
fn nested<T>(p: &Places, at: &sqlparser::ast::Query, f: impl FnOnce() -> R<T>) -> R<T> {
    crate::translate::subquery_level(f)
        .unwrap_or_else(|| p.err(at, crate::translate::too_deep("subqueries")))
}

/// Translates a subquery of the query whose alias is `outer` (the aliases of every query it
/// is inside stay known: a nested subquery cannot read them either).
fn with_outer<T>(outer: Option<&str>, f: impl FnOnce() -> T) -> T {
    let saved = OUTER_ALIAS.with(|o| {
        let mut o = o.borrow_mut();
        let n = o.len();
        o.extend(outer.map(str::to_string));
        n
    });
    let r = f();
    OUTER_ALIAS.with(|o| o.borrow_mut().truncate(saved));
    r
}

/// SQL's own functions → (Logs Insights function, fewest and most arguments), besides
/// [`crate::translate::COMMON_FUNCTIONS`]. `substr`/`substring` and the null tests are
/// rewritten ([`Tr::function`]).
const FUNCTIONS: &[(&str, &str, usize, usize)] = &[
    ("lcase", "tolower", 1, 1),
    ("ucase", "toupper", 1, 1),
    ("char_length", "strlen", 1, 1),
    ("character_length", "strlen", 1, 1),
    ("len", "strlen", 1, 1),
    ("concat", "concat", 1, 64),
    ("nvl", "coalesce", 2, 2),
    ("greatest", "greatest", 1, 64),
    ("least", "least", 1, 64),
    // Spark's casts written as functions (`string(x)` is [`Tr::function`]'s).
    ("int", "toInt", 1, 1),
    ("bigint", "toLong", 1, 1),
    ("double", "toDouble", 1, 1),
    ("float", "toDouble", 1, 1),
    ("tinyint", "ppl_tinyint", 1, 1),
    ("smallint", "ppl_smallint", 1, 1),
    ("boolean", "ppl_boolean", 1, 1),
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
    // Written from `stddev` and `count` (translate::variance).
    ("var_samp", "\u{1}var_samp"),
    ("variance", "\u{1}var_samp"),
    ("var_pop", "\u{1}var_pop"),
    ("stddev_pop", "\u{1}stddev_pop"),
    ("approx_count_distinct", "count_distinct"),
    // (Written by [`Tr::function`] itself.)
    ("count_if", "count"),
    ("percentile_approx", "pct"),
    ("approx_percentile", "pct"),
    ("percentile", "ppl_percentile"),
    ("median", "ppl_percentile"),
];

/// The columns a correlated scalar subquery's rows carry: the correlation keys and the value.
fn correlated_key(i: usize) -> String {
    format!("corr_key{i}")
}
const CORRELATED_VALUE: &str = "corr_value";

/// Where a correlated scalar subquery's lookups point until the subquery's place is known.
const CORRELATED_MARK: usize = 1 << 20;

/// The hidden field the k-th correlated scalar subquery's value takes on each row.
fn correlated_name(k: usize) -> String {
    format!("{}corr{k}", crate::translate::PLACEHOLDER)
}

/// The precedence class of an operator whose chains are written flat.
fn op_class(op: &BinaryOperator) -> Option<u8> {
    match op {
        BinaryOperator::Or => Some(0),
        BinaryOperator::And => Some(1),
        BinaryOperator::Plus | BinaryOperator::Minus => Some(2),
        BinaryOperator::Multiply | BinaryOperator::Divide | BinaryOperator::Modulo => Some(3),
        _ => None,
    }
}

fn op_text(op: &BinaryOperator) -> Option<&'static str> {
    Some(match op {
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
        _ => return None,
    })
}

/// A literal `INTERVAL`'s parts as `timestampadd` takes them (see [`Tr::interval`]); `None`
/// for an expression or what this engine does not read.
fn literal_interval(iv: &sqlparser::ast::Interval) -> Option<Vec<(&'static str, String)>> {
    let lead = iv
        .leading_field
        .as_ref()
        .map(|f| interval_unit(&f.to_string()));
    let last = iv
        .last_field
        .as_ref()
        .map(|f| interval_unit(&f.to_string()));
    let text = match iv.value.as_ref() {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(s.clone()),
            Value::Number(n, _) => Some(n.clone()),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => Some(format!("-{n}")),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }?;
    match (lead, last) {
        (Some(Some(u)), None) => interval_amounts(&[(text.trim(), u)]),
        (Some(Some(a)), Some(Some(b))) => interval_range(text.trim(), a, b),
        (None, None) => {
            let words: Vec<&str> = text.split_whitespace().collect();
            let words = match words.first() {
                Some(w) if w.eq_ignore_ascii_case("interval") => &words[1..],
                _ => &words[..],
            };
            if words.is_empty() || words.len() % 2 == 1 {
                return None;
            }
            let pairs: Option<Vec<(&str, &'static str)>> = words
                .chunks(2)
                .map(|c| interval_unit(c[1]).map(|u| (c[0], u)))
                .collect();
            interval_amounts(&pairs?)
        }
        _ => None,
    }
}

/// A literal interval of fixed length in milliseconds (no months or years), for `RANGE`
/// offsets over times.
fn interval_millis(iv: &sqlparser::ast::Interval) -> Option<f64> {
    let mut ms = 0.0;
    for (u, n) in literal_interval(iv)? {
        let n: f64 = n.parse().ok()?;
        ms += n * match u {
            "DAY" => 86_400_000.0,
            "HOUR" => 3_600_000.0,
            "MINUTE" => 60_000.0,
            "SECOND" => 1_000.0,
            "MICROSECOND" => 0.001,
            _ => return None,
        };
    }
    Some(ms)
}

/// `f(col, @message, 'path')`: a column read with its JSON array or object in the message as
/// the fallback discovery leaves it (`ppl_array_of`, `ppl_or_json`).
fn json_fallback(f: &str, col: &str, path: &str) -> R<String> {
    Ok(format!(
        "{f}({col}, {}, {})",
        name("@message", 0, 0)?,
        string(path)
    ))
}

/// An interval unit's name (singular or plural, any case) as `timestampadd` takes it.
fn interval_unit(w: &str) -> Option<&'static str> {
    let w = w.to_ascii_uppercase();
    let w = w.strip_suffix('S').unwrap_or(&w);
    Some(match w {
        "YEAR" => "YEAR",
        "MONTH" => "MONTH",
        "WEEK" => "WEEK",
        "DAY" => "DAY",
        "HOUR" => "HOUR",
        "MINUTE" => "MINUTE",
        "SECOND" => "SECOND",
        "MILLISECOND" => "MILLISECOND",
        "MICROSECOND" => "MICROSECOND",
        _ => return None,
    })
}

/// Amounts of units as `timestampadd` arguments: months and years whole, the rest gathered in
/// microseconds unless whole in their own unit (so `INTERVAL 1.5 HOURS` is 5,400,000,000 µs).
fn interval_amounts(parts: &[(&str, &'static str)]) -> Option<Vec<(&'static str, String)>> {
    let micros = |u: &str| -> Option<i128> {
        Some(match u {
            "WEEK" => 604_800_000_000,
            "DAY" => 86_400_000_000,
            "HOUR" => 3_600_000_000,
            "MINUTE" => 60_000_000,
            "SECOND" => 1_000_000,
            "MILLISECOND" => 1_000,
            "MICROSECOND" => 1,
            _ => return None,
        })
    };
    let mut out = vec![];
    let mut months: i128 = 0;
    let mut small: i128 = 0;
    for &(n, u) in parts {
        let x: f64 = n.parse().ok().filter(|x: &f64| x.is_finite())?;
        match u {
            "YEAR" | "MONTH" => {
                if x.fract() != 0.0 || x.abs() > 1e6 {
                    return None;
                }
                months += x as i128 * if u == "YEAR" { 12 } else { 1 };
            }
            _ => {
                let m = micros(u)? as f64 * x;
                if m.abs() > 1e17 {
                    return None;
                }
                small += m.round() as i128;
            }
        }
    }
    if months != 0 {
        out.push(("MONTH", months.to_string()));
    }
    if small != 0 || out.is_empty() {
        let (u, n) = [
            ("DAY", 86_400_000_000),
            ("HOUR", 3_600_000_000),
            ("MINUTE", 60_000_000),
            ("SECOND", 1_000_000),
        ]
        .into_iter()
        .find(|(_, m)| small % m == 0)
        .map_or(("MICROSECOND", small), |(u, m)| (u, small / m));
        out.push((u, n.to_string()));
    }
    Some(out)
}

/// `INTERVAL 'text' a TO b`: `'y-m'` (YEAR TO MONTH), `'d h[:m[:s]]'` (DAY TO …), `'h:m[:s]'`
/// (HOUR TO …), `'m:s'` (MINUTE TO SECOND), with an optional leading sign for the whole.
fn interval_range(
    t: &str,
    a: &'static str,
    b: &'static str,
) -> Option<Vec<(&'static str, String)>> {
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let units: &[&'static str] = match (a, b) {
        ("YEAR", "MONTH") => &["YEAR", "MONTH"],
        ("DAY", "HOUR") => &["DAY", "HOUR"],
        ("DAY", "MINUTE") => &["DAY", "HOUR", "MINUTE"],
        ("DAY", "SECOND") => &["DAY", "HOUR", "MINUTE", "SECOND"],
        ("HOUR", "MINUTE") => &["HOUR", "MINUTE"],
        ("HOUR", "SECOND") => &["HOUR", "MINUTE", "SECOND"],
        ("MINUTE", "SECOND") => &["MINUTE", "SECOND"],
        _ => return None,
    };
    let fields: Vec<&str> = if a == "YEAR" {
        t.split('-').collect()
    } else if a == "DAY" {
        let (d, rest) = t.split_once(' ')?;
        std::iter::once(d).chain(rest.split(':')).collect()
    } else {
        t.split(':').collect()
    };
    if fields.len() != units.len()
        || fields.iter().enumerate().any(|(i, f)| {
            f.is_empty()
                || !f.chars().all(|c| {
                    c.is_ascii_digit() || (c == '.' && i == units.len() - 1 && b == "SECOND")
                })
        })
    {
        return None;
    }
    let signed: Vec<String> = fields
        .iter()
        .map(|f| if neg { format!("-{f}") } else { f.to_string() })
        .collect();
    let pairs: Vec<(&str, &'static str)> = signed
        .iter()
        .map(String::as_str)
        .zip(units.iter().copied())
        .collect();
    interval_amounts(&pairs)
}

/// A SELECT whose items hold window functions inside expressions, each window moved to a hidden
/// item of its own and read there by its hidden name; with the names of the items so
/// rewritten (computed once the windows are). `None` when no item holds one.
fn lift_windows(s: &sqlparser::ast::Select) -> Option<(sqlparser::ast::Select, Vec<String>)> {
    fn lift(e: &mut Expr, out: &mut Vec<(Expr, String)>, top: bool) {
        if let Expr::Function(f) = e {
            if f.over.is_some() {
                if !top {
                    let hidden = format!("{}win{}", crate::translate::PLACEHOLDER, out.len());
                    let call =
                        std::mem::replace(e, Expr::Identifier(sqlparser::ast::Ident::new(&hidden)));
                    out.push((call, hidden));
                }
                return;
            }
        }
        for x in children_mut(e).into_iter().flatten() {
            lift(x, out, false);
        }
    }
    let mut out = s.clone();
    let mut hidden = Vec::new();
    let mut post = Vec::new();
    for item in &mut out.projection {
        let (e, col) = match item {
            SelectItem::ExprWithAlias { expr, alias } => (expr, alias.value.clone()),
            // (Unnamed, it is named as Spark names it: an alias is needed to read it back.)
            _ => continue,
        };
        let before = hidden.len();
        lift(e, &mut hidden, true);
        if hidden.len() > before {
            post.push(col);
        }
    }
    if hidden.is_empty() {
        return None;
    }
    for (call, n) in hidden {
        out.projection.push(SelectItem::ExprWithAlias {
            expr: call,
            alias: sqlparser::ast::Ident::new(n),
        });
    }
    Some((out, post))
}

/// `SELECT explode(a) [AS x], …` (or `explode_outer`) as `SELECT x, … LATERAL VIEW
/// explode(a) AS x`, as Spark generates the rows from the SELECT's input; `None` without a
/// generator. One generator per SELECT, not with aggregates or GROUP BY (Spark generates after
/// grouping there: not supported yet).
fn select_generator(p: &Places, s: &sqlparser::ast::Select) -> R<Option<sqlparser::ast::Select>> {
    let generator = |e: &Expr| matches!(e, Expr::Function(f) if f.over.is_none() && matches!(f.name.to_string().to_ascii_lowercase().as_str(), "explode" | "explode_outer" | "posexplode" | "posexplode_outer" | "inline" | "inline_outer" | "stack"));
    let found: Vec<usize> = s
        .projection
        .iter()
        .enumerate()
        .filter(|(_, i)| match i {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => generator(e),
            _ => false,
        })
        .map(|(k, _)| k)
        .collect();
    let Some(&k) = found.first() else {
        return Ok(None);
    };
    let item = &s.projection[k];
    if found.len() > 1 {
        return p.err(
            &s.projection[found[1]],
            "only one generator (explode) is allowed in a SELECT",
        );
    }
    let grouped = !matches!(&s.group_by, GroupByExpr::Expressions(l, m) if l.is_empty() && m.is_empty())
        || s.having.is_some()
        || s.projection.iter().any(|i| match i {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                has_aggregate(e)
            }
            _ => false,
        });
    if grouped || s.distinct.is_some() {
        return p.err(
            item,
            "explode in a grouped or DISTINCT SELECT is not supported yet: explode in a LATERAL VIEW (or a subquery in FROM) and group its rows",
        );
    }
    let (expr, alias) = match item {
        SelectItem::UnnamedExpr(e) => (e, sqlparser::ast::Ident::new("col")),
        SelectItem::ExprWithAlias { expr, alias } => (expr, alias.clone()),
        _ => return Ok(None),
    };
    let fname = match expr {
        Expr::Function(f) => f.name.to_string().to_ascii_lowercase(),
        _ => String::new(),
    };
    let with_pos = fname.starts_with("pos");
    let mut out = s.clone();
    // (posexplode as an item gives `pos` and its element under the alias, `col` unnamed;
    // stack its columns `col0`, `col1`, …)
    let aliases = if with_pos {
        vec![sqlparser::ast::Ident::new("pos"), alias.clone()]
    } else if fname == "stack" {
        let cols = match expr {
            Expr::Function(f) => match &f.args {
                FunctionArguments::List(l) => match l.args.first() {
                    Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))) => {
                        match &v.value {
                            sqlparser::ast::Value::Number(n, _) => n
                                .parse::<usize>()
                                .ok()
                                .filter(|&r| r >= 1)
                                .map(|r| l.args.len().saturating_sub(1).div_ceil(r)),
                            _ => None,
                        }
                    }
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        match (cols, item) {
            (Some(c), SelectItem::UnnamedExpr(_)) => (0..c)
                .map(|i| sqlparser::ast::Ident::new(format!("col{i}")))
                .collect(),
            _ => {
                return p.err(
                    item,
                    "stack as a SELECT item names its columns col0, col1, …: use it unnamed, or in a LATERAL VIEW to name them",
                )
            }
        }
    } else if fname.starts_with("inline") {
        return p.err(
            item,
            "inline as a SELECT item is not supported yet: use LATERAL VIEW inline(a) t [AS a, b]",
        );
    } else {
        vec![alias.clone()]
    };
    out.projection.splice(
        k..=k,
        aliases
            .iter()
            .map(|a| SelectItem::UnnamedExpr(Expr::Identifier(a.clone()))),
    );
    // (After the query's own views: the item may read their columns.)
    out.lateral_views.push(sqlparser::ast::LateralView {
        lateral_view: expr.clone(),
        lateral_view_name: sqlparser::ast::ObjectName::from(vec![sqlparser::ast::Ident::new(
            "generated",
        )]),
        lateral_col_alias: aliases,
        outer: false,
    });
    Ok(Some(out))
}

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

    /// `node`'s place (the whole query when it has none).
    fn span(&self, node: &impl Spanned) -> (usize, usize) {
        let s = node.span();
        if s.start.line == 0 {
            (0, self.n)
        } else {
            let start = self.at(s.start.line, s.start.column);
            (start, self.at(s.end.line, s.end.column).max(start))
        }
    }

    /// An error at `node`'s place (the whole query when it has none).
    fn err<T>(&self, node: &impl Spanned, message: impl Into<String>) -> R<T> {
        let (start, end) = self.span(node);
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
    /// The log group's name, which may also qualify a column (`g.x`).
    table: String,
    /// The fields the expressions read so far outside null tests (`NOT` over them is false
    /// when one is missing: SQL's NULL logic).
    seen: Vec<String>,
    /// Every field read, for the check against a FROM subquery's columns.
    seen_all: Vec<String>,
    /// Within an aggregating query's HAVING and ORDER BY: the group keys (their expression
    /// and the name their value has in the rows); another column is refused.
    keys: Option<Vec<(Expr, String)>>,
    /// (Logs Insights aggregate text, the name its value has in the rows).
    aggs: Vec<(String, String)>,
    /// Translating a `SELECT` item of an aggregating query: aggregates are written as calls.
    in_stats: bool,
    /// Aggregates are allowed here (an aggregating query's items, `HAVING`, `ORDER BY`).
    aggregating: bool,
    /// With a JOIN: the right side's alias and log group; every column is then qualified and
    /// read as `<alias>.<field>`, as the join names the fields of both sides.
    join: Option<(String, String)>,
    /// The queries of the `IN (SELECT …)` subqueries met so far, in order.
    subs: Vec<Query>,
    /// The scalar subqueries `(SELECT …)` met so far (their query and the column they
    /// select), by their number in `ppl_scalar(j)`.
    scalars: Vec<(Query, String)>,
    /// The correlated scalar subqueries met so far: their query (grouped by the correlation
    /// key) and the outer column its key is compared with; the value reaches each row by a
    /// lookup under the hidden name [`correlated_name`]`(k)`.
    correlated: Vec<(Query, Vec<String>)>,
    /// Translating a subquery (which may not hold one).
    inner: bool,
    /// Translating the WHERE clause (the only place a subquery may be).
    in_where: bool,
    /// The LATERAL VIEWs' names (`t` of `LATERAL VIEW explode(a) t AS x`): `t.x` is `x`.
    laterals: Vec<String>,
    /// The parameters of the lambdas being translated, innermost last, and the hidden fields
    /// they are set as.
    bound: Vec<(String, String)>,
    /// The lambdas translated so far (their parameters' hidden names are numbered by it).
    lambdas: usize,
}

impl Tr<'_> {
    /// A column: its name without the table alias.
    fn column(&self, parts: &[sqlparser::ast::Ident]) -> String {
        let parts: Vec<&str> = parts.iter().map(|i| i.value.as_str()).collect();
        if let [a, rest @ ..] = parts.as_slice() {
            if !rest.is_empty() && self.laterals.iter().any(|l| l.eq_ignore_ascii_case(a)) {
                return rest.join(".");
            }
        }
        let qualifier = |a: &str| {
            self.alias
                .as_deref()
                .map_or(a == self.table, |al| a.eq_ignore_ascii_case(al))
        };
        match (parts.as_slice(), &self.join) {
            // A join names each side's fields `<alias>.<field>`.
            ([a, rest @ ..], Some((right, group))) if !rest.is_empty() => {
                if qualifier(a) {
                    format!("{}.{}", self.alias.as_deref().unwrap_or(a), rest.join("."))
                } else if a.eq_ignore_ascii_case(right) || a == group {
                    format!("{right}.{}", rest.join("."))
                } else {
                    parts.join(".")
                }
            }
            ([a, rest @ ..], None) if !rest.is_empty() && qualifier(a) => rest.join("."),
            _ => parts.join("."),
        }
    }

    /// Whether two expressions are the same (columns by their resolved names).
    fn same(&self, a: &Expr, b: &Expr) -> bool {
        let col = |e: &Expr| match e {
            Expr::Identifier(i) => Some(i.value.clone()),
            Expr::CompoundIdentifier(parts) => Some(self.column(parts)),
            _ => None,
        };
        match (col(a), col(b)) {
            (Some(x), Some(y)) => x == y,
            (None, None) => a.to_string() == b.to_string(),
            _ => false,
        }
    }

    /// A column read by an expression.
    fn field(&mut self, e: &Expr, n: &str) -> R<String> {
        if n.starts_with(|c: char| c.is_ascii_digit()) {
            return self
                .places
                .err(e, format!("{n} is not a number or a column"));
        }
        if self.keys.is_some() {
            return self.places.err(
                e,
                format!(
                    "{n} must be a GROUP BY expression, an aggregate or a SELECT item's alias here"
                ),
            );
        }
        let x = name(n, 0, 0)?;
        self.seen.push(x.clone());
        self.seen_all.push(x.clone());
        Ok(x)
    }

    /// `column IN (SELECT y FROM \`g\` …)`: a Logs Insights subquery over `g` whose query is the
    /// translated SELECT (its one item named as the column, Logs Insights comparing by name).
    fn in_subquery(
        &mut self,
        e: &Expr,
        column: &Expr,
        subquery: &sqlparser::ast::Query,
    ) -> R<String> {
        let p = self.places;
        if !self.in_where {
            return p.err(
                e,
                "a subquery is supported only in WHERE: column [NOT] IN (SELECT …)",
            );
        }
        if let Expr::Tuple(values) = column {
            return self.tuple_in_subquery(values, subquery);
        }
        let col = match column {
            Expr::Identifier(i) if self.join.is_none() => i.value.clone(),
            Expr::CompoundIdentifier(parts) => self.column(parts),
            // Another expression is compared as a tuple of one.
            _ => return self.tuple_in_subquery(std::slice::from_ref(column), subquery),
        };
        let x = self.expr(column)?;
        let mut q = subquery.clone();
        let SetExpr::Select(sel) = q.body.as_mut() else {
            return p.err(subquery, "a subquery is one SELECT");
        };
        let [item] = sel.projection.as_mut_slice() else {
            return p.err(subquery, "a subquery selects one column");
        };
        let value = match item {
            SelectItem::UnnamedExpr(v) | SelectItem::ExprWithAlias { expr: v, .. } => v.clone(),
            _ => return p.err(subquery, "a subquery selects one column"),
        };
        *item = SelectItem::ExprWithAlias {
            expr: value,
            alias: sqlparser::ast::Ident::new(col),
        };
        let inner = self.in_select(subquery, &q)?;
        if inner.join.is_some() {
            return p.err(subquery, "a subquery with a JOIN is not supported yet");
        }
        self.subs.push(inner);
        // (The SOURCE written here only places the subquery: its log groups are put in after
        // parsing, from its FROM.)
        Ok(format!("{x} in (SOURCE 'subquery' | fields {x})"))
    }

    /// The translation of an `IN` subquery's SELECT `q` (`at` places errors), at most
    /// [`crate::translate::MAX_SUBQUERY_DEPTH`] deep.
    fn in_select(&self, at: &sqlparser::ast::Query, q: &sqlparser::ast::Query) -> R<Query> {
        let p = self.places;
        nested(p, at, || {
            with_outer(self.alias.as_deref(), || select_query(p, q, true))
        })
    }

    /// `(a, b, …) IN (SELECT x, y, … FROM \`g\` …)`: the values compared together with the
    /// subquery's columns in order (a row missing one of its values is unknown: it passes
    /// neither `IN` nor `NOT IN`).
    fn tuple_in_subquery(
        &mut self,
        values: &[Expr],
        subquery: &sqlparser::ast::Query,
    ) -> R<String> {
        let p = self.places;
        let SetExpr::Select(sel) = subquery.body.as_ref() else {
            return p.err(subquery, "a subquery is one SELECT");
        };
        let n = values.len();
        if sel.projection.len() != n
            || sel.projection.iter().any(|i| {
                !matches!(
                    i,
                    SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }
                )
            })
        {
            return p.err(
                subquery,
                format!("the subquery must select {n} columns, one for each value compared"),
            );
        }
        let texts = values.iter().map(|v| self.expr(v)).collect::<R<Vec<_>>>()?;
        let inner = self.in_select(subquery, subquery)?;
        if inner.join.is_some() {
            return p.err(subquery, "a subquery with a JOIN is not supported yet");
        }
        if inner.output_fields().is_none_or(|c| c.len() != n) {
            return p.err(
                subquery,
                format!("the subquery must select {n} columns, one for each value compared"),
            );
        }
        self.subs.push(inner);
        // (The SOURCE only places the subquery: its log groups come from its FROM.)
        Ok(crate::translate::tuple_in(&texts, "subquery"))
    }

    /// A scalar subquery `(SELECT …)`: run first (over its own FROM and the same time range);
    /// its one value takes the place of `ppl_scalar(j)` before the query runs (no row: NULL;
    /// more than one: the query fails, as Spark's does).
    fn scalar_subquery(&mut self, e: &Expr, q: &sqlparser::ast::Query) -> R<String> {
        let p = self.places;
        if self.inner {
            return p.err(e, "a subquery inside a subquery is not supported yet");
        }
        if let Some(t) = self.correlated_scalar(e, q)? {
            return Ok(t);
        }
        let outer = self
            .alias
            .clone()
            .or_else(|| (!self.table.is_empty()).then(|| self.table.clone()));
        let inner = nested(p, q, || {
            with_outer(outer.as_deref(), || select_query(p, q, true))
        })?;
        if inner.join.is_some() {
            return p.err(e, "a subquery with a JOIN is not supported yet");
        }
        let field = match inner.output_fields().as_deref() {
            Some([one]) => one.clone(),
            _ => return p.err(e, "a scalar subquery selects one column"),
        };
        let j = self.scalars.len();
        self.scalars.push((inner, field));
        let x = format!("ppl_scalar({j})");
        // (A NULL value makes `NOT` over a comparison with it false, as a missing field does.)
        self.seen.push(x.clone());
        Ok(x)
    }

    /// A scalar subquery correlated by equalities, `(SELECT agg(…) FROM \`g\` AS b WHERE
    /// b.k = a.k [AND …])`: run first grouped by `b.k`, its value per key reaches each outer
    /// row by a lookup on `a.k` (no group: NULL, or 0 for a count, as an aggregate over no row
    /// gives). `None` when the subquery names no outer column in such an equality.
    fn correlated_scalar(&mut self, e: &Expr, q: &sqlparser::ast::Query) -> R<Option<String>> {
        let p = self.places;
        if self.inner {
            return p.err(e, "a subquery inside a subquery is not supported yet");
        }
        let SetExpr::Select(sel) = q.body.as_ref() else {
            return Ok(None);
        };
        let inner_alias = match sel.from.as_slice() {
            [f] if f.joins.is_empty() => match &f.relation {
                TableFactor::Table { alias: Some(a), .. } => a.name.value.clone(),
                _ => return Ok(None),
            },
            _ => return Ok(None),
        };
        // (Without an alias the table's name qualifies the outer columns.)
        let outer_alias = self.alias.clone().unwrap_or_else(|| self.table.clone());
        if outer_alias.is_empty() || outer_alias.eq_ignore_ascii_case(&inner_alias) {
            return Ok(None);
        }
        let Some((pairs, rest)) = correlation(sel, &inner_alias, &outer_alias) else {
            return Ok(None);
        };
        let need = "a correlated scalar subquery selects one aggregate call, without GROUP BY or HAVING: (SELECT COUNT(*) FROM `g` AS b WHERE b.k = a.k)";
        // (A call of one aggregate: over a key without rows its value is known, NULL or 0.)
        let item = match sel.projection.as_slice() {
            [SelectItem::UnnamedExpr(x) | SelectItem::ExprWithAlias { expr: x, .. }] if matches!(x, Expr::Function(f) if f.over.is_none() && AGGREGATES.iter().any(|(a, _)| f.name.to_string().eq_ignore_ascii_case(a))) => {
                x.clone()
            }
            _ => return p.err(e, need),
        };
        if q.limit_clause.is_some() {
            return p.err(
                e,
                "LIMIT or OFFSET in a correlated subquery is not supported",
            );
        }
        let grouped = !matches!(&sel.group_by, GroupByExpr::Expressions(l, _) if l.is_empty())
            || sel.having.is_some();
        if grouped {
            return p.err(e, need);
        }
        if self.join.is_some() || self.keys.is_some() || self.in_stats || self.aggregating {
            return p.err(
                e,
                "a correlated subquery in a query with a JOIN or GROUP BY is not supported yet",
            );
        }
        let mut q2 = q.clone();
        // (One row per key: an order or a limit changes nothing.)
        q2.limit_clause = None;
        q2.order_by = None;
        let SetExpr::Select(sel2) = q2.body.as_mut() else {
            return Ok(None);
        };
        let ident = |n: &str| sqlparser::ast::Ident::new(n);
        // One key column per equality, grouped by all of them.
        let mut projection: Vec<SelectItem> = pairs
            .iter()
            .enumerate()
            .map(|(i, (inner_col, _))| SelectItem::ExprWithAlias {
                expr: inner_col.clone(),
                alias: ident(&correlated_key(i)),
            })
            .collect();
        projection.push(SelectItem::ExprWithAlias {
            expr: item.clone(),
            alias: ident(CORRELATED_VALUE),
        });
        sel2.projection = projection;
        sel2.group_by =
            GroupByExpr::Expressions(pairs.iter().map(|(i, _)| i.clone()).collect(), Vec::new());
        sel2.selection = rest;
        let inner = nested(p, q, || {
            with_outer(Some(&outer_alias), || select_query(p, &q2, true))
        })?;
        if inner.join.is_some() || !inner.subs.is_empty() {
            return p.err(e, "a correlated subquery holds no JOIN or subquery");
        }
        let mut outers = Vec::new();
        for (_, outer_col) in &pairs {
            let Expr::CompoundIdentifier(parts) = outer_col else {
                return p.err(e, need);
            };
            let outer = self.column(parts);
            // (The outer column is read — a missing one makes the lookup find nothing, which
            // the value answers for — but `NOT` needs no test of it.)
            let from = self.seen.len();
            self.field(outer_col, &outer)?;
            self.seen.truncate(from);
            outers.push(outer);
        }
        let k = self.correlated.len();
        self.correlated.push((inner, outers));
        let x = name(&correlated_name(k), 0, 0)?;
        // A count over no row is 0 (always a value); another aggregate NULL, as a missing
        // field is.
        let counts = matches!(&item, Expr::Function(f)
            if ["count", "count_if", "approx_count_distinct"].contains(&f.name.to_string().to_ascii_lowercase().as_str()));
        Ok(Some(if counts {
            format!("coalesce({x}, 0)")
        } else {
            self.seen.push(x.clone());
            x
        }))
    }

    /// `[NOT] EXISTS (SELECT … FROM \`g\` AS b WHERE b.k = a.k [AND …])`, correlated by one
    /// equality between a column of each side: `a.k [NOT] IN (SELECT b.k FROM \`g\` AS b
    /// WHERE …)`.
    fn exists(&mut self, e: &Expr, q: &sqlparser::ast::Query, negated: bool) -> R<String> {
        let p = self.places;
        let need = "EXISTS is supported correlated by equalities between a column of each side, both qualified by their table's alias: EXISTS (SELECT … FROM `g` AS b WHERE b.k = a.k …)";
        let SetExpr::Select(sel) = q.body.as_ref() else {
            return p.err(e, "a subquery is one SELECT");
        };
        let inner_alias = match sel.from.as_slice() {
            [f] if f.joins.is_empty() => match &f.relation {
                TableFactor::Table { alias: Some(a), .. } => a.name.value.clone(),
                _ => return p.err(e, need),
            },
            _ => return p.err(e, need),
        };
        let Some(outer_alias) = self.alias.clone() else {
            return p.err(e, need);
        };
        if outer_alias.eq_ignore_ascii_case(&inner_alias) {
            return p.err(
                e,
                "EXISTS needs an alias for its subquery's table other than the outer query's",
            );
        }
        let grouped = !matches!(&sel.group_by, GroupByExpr::Expressions(l, _) if l.is_empty())
            || sel.having.is_some()
            || sel.projection.iter().any(|i| match i {
                SelectItem::UnnamedExpr(x) | SelectItem::ExprWithAlias { expr: x, .. } => {
                    has_aggregate(x)
                }
                _ => false,
            });
        if grouped {
            return p.err(
                e,
                "EXISTS over a grouped or aggregating subquery is not supported yet",
            );
        }
        let Some((mut pairs, rest)) = correlation(sel, &inner_alias, &outer_alias) else {
            return p.err(e, need);
        };
        if pairs.len() > 1 {
            // Several equalities: the rows of each outer row's keys, counted.
            let mut q2 = q.clone();
            q2.limit_clause = None;
            q2.order_by = None;
            let SetExpr::Select(sel2) = q2.body.as_mut() else {
                return p.err(e, "a subquery is one SELECT");
            };
            sel2.projection = vec![SelectItem::UnnamedExpr(parse_expr("COUNT(*)").map_err(
                |m| QueryError {
                    start: 0,
                    end: p.n,
                    message: m,
                },
            )?)];
            let Some(n) = self.correlated_scalar(e, &q2)? else {
                return p.err(e, need);
            };
            return Ok(format!("({n} {} 0)", if negated { "=" } else { ">" }));
        }
        let Some((inner_col, outer_col)) = pairs.pop() else {
            return p.err(e, need);
        };
        let mut q2 = q.clone();
        // (A LIMIT or an order inside EXISTS changes nothing per outer row.)
        q2.limit_clause = None;
        q2.order_by = None;
        let SetExpr::Select(sel2) = q2.body.as_mut() else {
            return p.err(e, "a subquery is one SELECT");
        };
        sel2.projection = vec![SelectItem::UnnamedExpr(inner_col)];
        sel2.selection = rest;
        let from = self.seen.len();
        let t = self.in_subquery(e, &outer_col, &q2)?;
        if !negated {
            return Ok(t);
        }
        // A row whose key is missing matches no inner row: NOT EXISTS holds for it, as in
        // Spark (NOT IN alone would be unknown there).
        self.seen.truncate(from);
        let Expr::CompoundIdentifier(parts) = &outer_col else {
            return p.err(e, need);
        };
        let k = name(&self.column(parts), 0, 0)?;
        Ok(format!("((not ispresent({k})) or (not {t}))"))
    }

    /// `NOT e` over the text of `e`, whose fields are `seen[from..]`.
    fn negate(&self, e: &str, from: usize) -> String {
        crate::translate::negate(e, &self.seen[from..])
    }

    /// A chain of one operator class (`a AND b AND c`, `a + b - c`): written flat, as both
    /// languages associate it left, not nested as deep as it is long.
    fn chain(&mut self, e: &Expr, class: u8) -> R<String> {
        let mut spine = vec![];
        let mut at = e;
        while let Expr::BinaryOp { left, op, right } = at {
            if op_class(op) != Some(class) {
                break;
            }
            spine.push((op, right.as_ref()));
            at = left;
        }
        spine.reverse();
        // `INTERVAL … + t`: the interval moves the time on its right.
        let mut lead = None;
        if let (Expr::Interval(iv), Some((BinaryOperator::Plus, first))) = (at, spine.first()) {
            lead = Some(iv);
            at = first;
            spine.remove(0);
        }
        let mut out = format!("({}", self.expr(at)?);
        if let Some(iv) = lead {
            out = self.shifted(at, iv, format!("{out})"), false)?;
            out.insert(0, '(');
        }
        for (op, right) in spine {
            if let Expr::Interval(iv) = right {
                let minus = matches!(op, BinaryOperator::Minus);
                out = format!("({}", self.shifted(right, iv, format!("{out})"), minus)?);
                continue;
            }
            let r = self.expr(right)?;
            out.push_str(&format!(" {} {r}", op_text(op).unwrap_or("?")));
        }
        out.push(')');
        Ok(out)
    }

    /// A time `t` moved by an interval (back when `minus`): one `timestampadd` per unit, larger
    /// units first, as Spark adds months before days before microseconds.
    fn shifted(
        &mut self,
        e: &Expr,
        iv: &sqlparser::ast::Interval,
        t: String,
        minus: bool,
    ) -> R<String> {
        let mut out = t;
        for (unit, n) in self.interval(e, iv)? {
            let n = if minus { format!("(-{n})") } else { n };
            out = format!("ppl_timestampadd({}, {n}, {out})", string(unit));
        }
        Ok(out)
    }

    /// The parts of `INTERVAL …`: `INTERVAL 3 HOURS`, `INTERVAL '3' HOUR`, `INTERVAL '1 day 2
    /// hours'`, `INTERVAL '1 10:30:00' DAY TO SECOND`, `INTERVAL '1-6' YEAR TO MONTH`, or an
    /// expression with its unit (`INTERVAL n DAY`). Fractions of days and smaller units are
    /// kept to the microsecond; months and years take whole numbers.
    fn interval(
        &mut self,
        e: &Expr,
        iv: &sqlparser::ast::Interval,
    ) -> R<Vec<(&'static str, String)>> {
        // An expression with one unit (`INTERVAL n * 5 MINUTE`).
        let literal = matches!(iv.value.as_ref(), Expr::Value(_) | Expr::UnaryOp { .. });
        if let (false, Some(f), None) = (literal, &iv.leading_field, &iv.last_field) {
            if let Some(u @ ("YEAR" | "MONTH" | "WEEK" | "DAY" | "HOUR" | "MINUTE" | "SECOND")) =
                interval_unit(&f.to_string())
            {
                let n = self.expr(&iv.value)?;
                return Ok(vec![(u, n)]);
            }
        }
        let parts = literal_interval(iv);
        let p = self.places;
        match parts {
            Some(parts) => Ok(parts),
            None => p.err(
                e,
                format!(
                    "{iv} is not an interval this engine reads: write INTERVAL n unit, INTERVAL 'n unit …' or INTERVAL 'text' unit TO unit, with YEAR, MONTH, WEEK, DAY, HOUR, MINUTE, SECOND, MILLISECOND or MICROSECOND"
                ),
            ),
        }
    }

    fn expr(&mut self, e: &Expr) -> R<String> {
        let p = self.places;
        if !self.bound.is_empty() {
            // A lambda's parameter (before any column or key of that name); read, so that
            // `NOT` over a comparison with a NULL element is not true.
            if let Expr::Identifier(i) = e {
                if let Some((_, h)) = self
                    .bound
                    .iter()
                    .rev()
                    .find(|(p, _)| p.eq_ignore_ascii_case(&i.value))
                {
                    let x = name(&h.clone(), 0, 0)?;
                    self.seen.push(x.clone());
                    return Ok(x);
                }
            }
            // (Spark refuses subqueries in higher-order functions.)
            if matches!(
                e,
                Expr::Subquery(_)
                    | Expr::Exists { .. }
                    | Expr::In {
                        target: InTarget::Subquery(_),
                        ..
                    }
            ) {
                return p.err(e, "a subquery inside a lambda is not supported");
            }
        }
        // In HAVING and ORDER BY of an aggregating query, a group key (or an item's alias)
        // stands for its value.
        if let Some(keys) = &self.keys {
            if let Some((_, n)) = keys.iter().find(|(k, _)| self.same(k, e)) {
                return name(&n.clone(), 0, 0);
            }
        }
        if let Expr::Identifier(i) = e {
            // A hidden column of the translation's own (a lifted window): read as it is.
            if i.value.starts_with(crate::translate::PLACEHOLDER) {
                return name(&i.value, 0, 0);
            }
        }
        // `x.key` of a lambda's parameter `x` holding a map.
        if let Expr::CompoundIdentifier(parts) = e {
            if let Some((_, h)) = parts.first().and_then(|first| {
                self.bound
                    .iter()
                    .rev()
                    .find(|(p, _)| p.eq_ignore_ascii_case(&first.value))
            }) {
                let mut out = name(&h.clone(), 0, 0)?;
                for k in &parts[1..] {
                    out = format!("ppl_array_get({out}, {})", string(&k.value));
                }
                return Ok(out);
            }
        }
        let text = match e {
            Expr::Identifier(i) if self.join.is_some() => {
                return p.err(
                    e,
                    format!(
                        "in a query with a JOIN, qualify {} with its table's alias",
                        i.value
                    ),
                )
            }
            Expr::Identifier(i) => self.field(e, &i.value.clone())?,
            Expr::CompoundIdentifier(parts) => {
                if let (true, [q, _, ..]) = (self.inner, parts.as_slice()) {
                    let outer = OUTER_ALIAS
                        .with(|o| o.borrow().iter().any(|o| o.eq_ignore_ascii_case(&q.value)));
                    let own = self
                        .alias
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(&q.value));
                    if !own && outer {
                        return p.err(
                            e,
                            "a subquery reading the outer query's columns (correlated) is not supported yet (EXISTS and scalar subqueries correlated by equalities are)",
                        );
                    }
                }
                if let (Some((right, _)), [q, _, ..]) = (&self.join, parts.as_slice()) {
                    let left = self.alias.as_deref().unwrap_or_default();
                    if !q.value.eq_ignore_ascii_case(left) && !q.value.eq_ignore_ascii_case(right) {
                        return p.err(
                            e,
                            format!(
                                "{} names no side of the join: qualify columns with {left} or {right}",
                                q.value
                            ),
                        );
                    }
                }
                let n = self.column(parts);
                self.field(e, &n)?
            }
            Expr::Value(v) => match &v.value {
                // Written as Logs Insights reads numbers (no exponent, no leading dot).
                Value::Number(n, _) => match n.parse::<f64>() {
                    Ok(x) if x.is_finite() => crate::value::fmt_num(x),
                    _ => return p.err(e, format!("{n} is not a number")),
                },
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => string(s),
                Value::Boolean(b) => format!("ppl_boolean('{b}')"),
                // (The engine has no null literal: `nullif` of equal values is null. Read as a
                // missing field is, so that `NOT` over a comparison with it is not true.)
                Value::Null => {
                    let x = "ppl_nullif(0, 0)".to_string();
                    self.seen.push(x.clone());
                    x
                }
                _ => return p.err(e, format!("the value {} is not supported yet", v.value)),
            },
            Expr::Nested(inner) => format!("({})", self.expr(inner)?),
            // `a[i]` (0-based), `m['key']`, `a[i].key`.
            Expr::CompoundFieldAccess { root, access_chain } => {
                // (`req.items[1]` may come as `req` with `.items` in the chain: one column.)
                let mut root = root.as_ref().clone();
                let mut chain = access_chain.as_slice();
                while let (Some(sqlparser::ast::AccessExpr::Dot(Expr::Identifier(i))), Expr::Identifier(_) | Expr::CompoundIdentifier(_)) = (chain.first(), &root) {
                    let mut parts = match root {
                        Expr::Identifier(r) => vec![r],
                        Expr::CompoundIdentifier(ps) => ps,
                        _ => unreachable!("matched above"),
                    };
                    parts.push(i.clone());
                    root = Expr::CompoundIdentifier(parts);
                    chain = &chain[1..];
                }
                let before = self.seen.len();
                let r = self.expr(&root)?;
                let mut out = match root {
                    Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                        self.array_column(&root, r, before)?
                    }
                    _ => r,
                };
                for a in chain {
                    let key = match a {
                        sqlparser::ast::AccessExpr::Subscript(
                            sqlparser::ast::Subscript::Index { index },
                        ) => self.expr(index)?,
                        sqlparser::ast::AccessExpr::Dot(Expr::Identifier(i)) => string(&i.value),
                        _ => return p.err(e, "only a[i], m['key'] and .key are supported here"),
                    };
                    out = format!("ppl_array_get({out}, {key})");
                }
                // (A missing element is NULL: `NOT` over it is not true.)
                self.seen.truncate(before);
                self.seen.push(out.clone());
                out
            }
            Expr::Interval(_) => {
                return p.err(
                    e,
                    "an INTERVAL is read only added to or subtracted from a time (`@timestamp` - INTERVAL 1 HOUR)",
                )
            }
            Expr::UnaryOp { op, expr } => {
                let from = self.seen.len();
                let x = self.expr(expr)?;
                match op {
                    UnaryOperator::Not => self.negate(&x, from),
                    UnaryOperator::Minus => format!("(-{x})"),
                    UnaryOperator::Plus => x,
                    other => return p.err(e, format!("the operator {other} is not supported yet")),
                }
            }
            Expr::BinaryOp { op, .. } if op_class(op).is_some() => {
                self.chain(e, op_class(op).unwrap_or(0))?
            }
            // `a <=> b`: equal, or both NULL (it answers for missing fields itself).
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Spaceship,
                right,
            } => {
                let from = self.seen.len();
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                self.seen.truncate(from);
                format!("ppl_null_safe_eq({l}, {r})")
            }
            Expr::BinaryOp { left, op, right } => {
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                if matches!(op, BinaryOperator::StringConcat) {
                    return Ok(format!("concat({l}, {r})"));
                }
                let Some(op) = op_text(op) else {
                    return p.err(e, format!("the operator {op} is not supported yet"));
                };
                format!("({l} {op} {r})")
            }
            // Null tests answer for missing fields themselves.
            Expr::IsNull(x) | Expr::IsNotNull(x) => {
                let from = self.seen.len();
                let t = self.expr(x)?;
                self.seen.truncate(from);
                if matches!(e, Expr::IsNull(_)) {
                    format!("(not ispresent({t}))")
                } else {
                    format!("ispresent({t})")
                }
            }
            Expr::In {
                expr,
                target: InTarget::List(list),
                negated,
                global: false,
            } => {
                let from = self.seen.len();
                let x = self.expr(expr)?;
                let items = list.iter().map(|i| self.expr(i)).collect::<R<Vec<_>>>()?;
                let t = format!("({x} in [{}])", items.join(", "));
                if *negated {
                    self.negate(&t, from)
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
                let from = self.seen.len();
                let (x, lo, hi) = (self.expr(expr)?, self.expr(low)?, self.expr(high)?);
                let t = format!("({x} >= {lo} and {x} <= {hi})");
                if *negated {
                    self.negate(&t, from)
                } else {
                    t
                }
            }
            Expr::Like {
                negated,
                any: false,
                expr,
                pattern,
                escape_char,
            }
            | Expr::ILike {
                negated,
                any: false,
                expr,
                pattern,
                escape_char,
            } => {
                // `ESCAPE 'c'`: one character, a literal.
                let esc = match escape_char.as_deref() {
                    None => '\\',
                    Some(Expr::Value(v)) => match &v.value {
                        Value::SingleQuotedString(c) | Value::DoubleQuotedString(c)
                            if c.chars().count() == 1 =>
                        {
                            c.chars().next().unwrap_or('\\')
                        }
                        _ => return p.err(e, "ESCAPE takes one character in quotes"),
                    },
                    Some(_) => return p.err(e, "ESCAPE takes one character in quotes"),
                };
                let from = self.seen.len();
                let x = self.expr(expr)?;
                let Expr::Value(v) = pattern.as_ref() else {
                    return p.err(pattern.as_ref(), "LIKE takes a string pattern");
                };
                let (Value::SingleQuotedString(pat) | Value::DoubleQuotedString(pat)) = &v.value
                else {
                    return p.err(pattern.as_ref(), "LIKE takes a string pattern");
                };
                let mut re = match crate::translate::like_regex_escaped(pat, esc) {
                    Ok(re) => re,
                    Err(m) => return p.err(pattern.as_ref(), m),
                };
                if matches!(e, Expr::ILike { .. }) {
                    re.insert_str(1, "(?i)");
                }
                let t = format!("({x} like {re})");
                if *negated {
                    self.negate(&t, from)
                } else {
                    t
                }
            }
            // `x RLIKE 'pattern'` / `REGEXP`: the pattern matches somewhere in the text.
            Expr::RLike {
                negated,
                expr,
                pattern,
                ..
            } => {
                let from = self.seen.len();
                let x = self.expr(expr)?;
                if let Expr::Value(v) = pattern.as_ref() {
                    if let Value::SingleQuotedString(pat) | Value::DoubleQuotedString(pat) =
                        &v.value
                    {
                        if let Err(m) = regex::Regex::new(pat) {
                            return p.err(
                                pattern.as_ref(),
                                format!("the pattern does not compile here: {m}"),
                            );
                        }
                    }
                }
                let t = format!("ppl_rlike({x}, {})", self.expr(pattern)?);
                if *negated {
                    self.negate(&t, from)
                } else {
                    t
                }
            }
            // `POSITION(sub IN text)`: 1-based, 0 when absent.
            Expr::Position { expr, r#in } => {
                format!("ppl_locate({}, {})", self.expr(expr)?, self.expr(r#in)?)
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                // (CASE answers for missing fields itself.)
                let from = self.seen.len();
                let subject = operand.as_deref().map(|o| self.expr(o)).transpose()?;
                let mut args = Vec::new();
                for w in conditions {
                    let c = self.expr(&w.condition)?;
                    if let Some(s) = &subject {
                        // (The subject is written again for every WHEN.)
                        crate::translate::spend(s.len(), 0, p.n)?;
                    }
                    args.push(match &subject {
                        Some(s) => format!("({s} = {c})"),
                        None => c,
                    });
                    args.push(self.expr(&w.result)?);
                }
                if let Some(d) = else_result {
                    args.push(self.expr(d)?);
                }
                self.seen.truncate(from);
                format!("case({})", args.join(", "))
            }
            Expr::Function(f) => self.function(e, f)?,
            Expr::Subquery(q) => self.scalar_subquery(e, q)?,
            Expr::Exists { subquery, negated } => self.exists(e, subquery, *negated)?,
            Expr::In {
                expr,
                target: InTarget::Subquery(subquery),
                negated,
                global: false,
            } => {
                let from = self.seen.len();
                let t = self.in_subquery(e, expr, subquery)?;
                if *negated {
                    self.negate(&t, from)
                } else {
                    t
                }
            }
            // CAST / TRY_CAST / `::` to a number or a string type; a value that does not
            // convert is null, as Spark's (non-ANSI) CAST gives it.
            Expr::Cast {
                kind: CastKind::Cast | CastKind::TryCast | CastKind::DoubleColon,
                expr,
                data_type,
                format: None,
            } => {
                let convert = match data_type {
                    DataType::Int(_) | DataType::Integer(_) => "toInt",
                    DataType::BigInt(_) | DataType::Int64 => "toLong",
                    DataType::TinyInt(_) => "ppl_tinyint",
                    DataType::SmallInt(_) => "ppl_smallint",
                    DataType::Boolean | DataType::Bool => "ppl_boolean",
                    DataType::Double(_)
                    | DataType::Float(_)
                    | DataType::Float64
                    | DataType::Real => "toDouble",
                    DataType::String(_)
                    | DataType::Varchar(_)
                    | DataType::Char(_)
                    | DataType::Text => "",
                    // (The engine's date functions: a date as `yyyy-MM-dd` text, a time.)
                    DataType::Date => "ppl_date",
                    DataType::Timestamp(..) | DataType::Datetime(_) => "ppl_timestamp",
                    other => {
                        return p.err(
                            e,
                            format!(
                            "CAST to {other} is not supported yet (to numbers, strings, dates and timestamps it is)"
                        ),
                        )
                    }
                };
                let x = self.expr(expr)?;
                if convert.is_empty() {
                    // A null stays null (concat alone would make it empty text).
                    format!("if(ispresent({x}), concat({x}), {x})")
                } else {
                    format!("{convert}({x})")
                }
            }
            Expr::Trim {
                expr,
                trim_where: None,
                trim_what: None,
                trim_characters: None,
            } => format!("trim({})", self.expr(expr)?),
            // `TRIM([BOTH | LEADING | TRAILING] [chars] FROM text)`.
            Expr::Trim {
                expr,
                trim_where,
                trim_what,
                trim_characters: None,
            } => {
                use sqlparser::ast::TrimWhereField as W;
                let x = self.expr(expr)?;
                let chars = match trim_what {
                    Some(c) => self.expr(c)?,
                    None => string(" "),
                };
                let mode = match trim_where {
                    Some(W::Leading) => "L",
                    Some(W::Trailing) => "T",
                    _ => "B",
                };
                format!("ppl_trim_chars({x}, {chars}, {})", string(mode))
            }
            // `EXTRACT(field FROM time)`.
            Expr::Extract { field, expr, .. } => {
                let t = self.expr(expr)?;
                match date_part(&field.to_string(), &t) {
                    Some(x) => x,
                    None => {
                        return p.err(
                            e,
                            format!("EXTRACT({field} …) is not supported yet (YEAR, QUARTER, MONTH, WEEK, DAY, DAYOFWEEK, DOW, DOW_ISO, DOY, HOUR, MINUTE and SECOND are)"),
                        )
                    }
                }
            }
            Expr::Ceil {
                expr,
                field: CeilFloorKind::DateTimeField(DateTimeField::NoDateTime),
            } => format!("ceil({})", self.expr(expr)?),
            Expr::Floor {
                expr,
                field: CeilFloorKind::DateTimeField(DateTimeField::NoDateTime),
            } => format!("floor({})", self.expr(expr)?),
            // 1-based in SQL, 0-based in Logs Insights.
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.expr(expr)?];
                args.push(match substring_from {
                    Some(f) => self.expr(f)?,
                    None => "1".into(),
                });
                if let Some(n) = substring_for {
                    args.push(self.expr(n)?);
                }
                crate::translate::substr(&args)
            }
            other => {
                let what = other.to_string();
                let short: String = what.chars().take(40).collect();
                return p.err(e, format!("{short} is not supported yet in SQL queries"));
            }
        };
        // (The whole query is the place: a node's span is computed over its whole subtree,
        // which a long AND chain makes deep.)
        crate::translate::bounded(text, 0, self.places.n)
    }

    /// A column (`col`, its Logs Insights text, the fields it read being `seen[before..]`) read
    /// as an array: its list or JSON text, or the array at its path in the JSON message. A
    /// missing array is what `NOT` tests (not the column, which discovery never makes).
    fn array_column(&mut self, x: &Expr, col: String, before: usize) -> R<String> {
        let path = match x {
            Expr::Identifier(i) => i.value.clone(),
            Expr::CompoundIdentifier(parts) => self.column(parts),
            _ => return Ok(col),
        };
        if self.keys.is_some() || self.seen.len() != before + 1 {
            return Ok(col);
        }
        self.seen.truncate(before);
        let arr = json_fallback("ppl_array_of", &col, &path)?;
        self.seen.push(arr.clone());
        Ok(arr)
    }

    /// An expression read as an array ([`Tr::array_column`] when it is a column).
    fn array_arg(&mut self, x: &Expr) -> R<String> {
        let before = self.seen.len();
        let col = self.expr(x)?;
        self.array_column(x, col, before)
    }

    /// Spark's higher-order functions: `transform(a, x -> …)` (or `(x, i) -> …`), `filter`,
    /// `exists`, `forall`, `aggregate(a, start, (acc, x) -> …[, acc -> …])` (also `reduce`):
    /// the engine's `ppl_…` call with the lambda's body, its parameters read as hidden fields
    /// (see `Evaluator::higher_order`). `None` for another function.
    fn higher_order(
        &mut self,
        e: &Expr,
        lower: &str,
        list: &sqlparser::ast::FunctionArgumentList,
    ) -> R<Option<String>> {
        let p = self.places;
        let ours = match lower {
            "transform" => "ppl_transform",
            "filter" => "ppl_filter",
            "exists" => "ppl_exists",
            "forall" => "ppl_forall",
            "aggregate" | "reduce" => "ppl_aggregate",
            "zip_with" => "ppl_zip_with",
            "array_sort" if list.args.len() == 2 => "ppl_array_sort_by",
            "map_filter" => "ppl_map_filter",
            "transform_values" => "ppl_transform_values",
            "transform_keys" => "ppl_transform_keys",
            _ => return Ok(None),
        };
        let args: Vec<&Expr> = list
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Ok(x),
                _ => p.err(e, format!("{lower}'s arguments are an array and a lambda")),
            })
            .collect::<R<_>>()?;
        // A lambda of 1..=n parameters: their names and its body.
        let lambda = |x: &Expr, n: usize| -> R<(Vec<String>, Expr)> {
            match x {
                Expr::Lambda(l) if !l.params.is_empty() && l.params.len() <= n => Ok((
                    l.params.iter().map(|q| q.name.value.clone()).collect(),
                    l.body.as_ref().clone(),
                )),
                _ => p.err(
                    x,
                    format!("{lower} takes a lambda of at most {n} parameter(s) here (x -> …)"),
                ),
            }
        };
        let from = self.seen.len();
        let array = match args.first() {
            Some(a) => self.array_arg(a)?,
            None => return p.err(e, format!("{lower} takes an array")),
        };
        let call = match (ours, args.as_slice()) {
            ("ppl_aggregate", [_, start, merge, rest @ ..]) if rest.len() <= 1 => {
                let start = self.expr(start)?;
                let (ps, b) = lambda(merge, 2)?;
                if ps.len() != 2 {
                    return p.err(
                        *merge,
                        "aggregate's merge takes two parameters: (acc, x) -> …",
                    );
                }
                let (merge, names) = self.lambda_body(&ps, &b)?;
                let mut t = format!(
                    "ppl_aggregate({array}, {start}, {merge}, {})",
                    names.join(", ")
                );
                if let Some(f) = rest.first() {
                    let (ps, b) = lambda(f, 1)?;
                    let (finish, names) = self.lambda_body(&ps, &b)?;
                    t.pop();
                    t.push_str(&format!(", {finish}, {})", names[0]));
                }
                t
            }
            ("ppl_zip_with", [_, other, f]) => {
                let other = self.array_arg(other)?;
                let (ps, b) = lambda(f, 2)?;
                if ps.len() != 2 {
                    return p.err(*f, "zip_with takes (x, y) -> …");
                }
                let (b, names) = self.lambda_body(&ps, &b)?;
                format!("ppl_zip_with({array}, {other}, {b}, {})", names.join(", "))
            }
            ("ppl_array_sort_by", [_, f]) => {
                let (ps, b) = lambda(f, 2)?;
                if ps.len() != 2 {
                    return p.err(*f, "array_sort's comparator takes (left, right) -> …");
                }
                let (b, names) = self.lambda_body(&ps, &b)?;
                format!("ppl_array_sort_by({array}, {b}, {})", names.join(", "))
            }
            ("ppl_map_filter" | "ppl_transform_values" | "ppl_transform_keys", [_, f]) => {
                let (ps, b) = lambda(f, 2)?;
                if ps.len() != 2 {
                    return p.err(*f, format!("{lower} takes (k, v) -> …"));
                }
                let (b, names) = self.lambda_body_guarded(&ps, &b, ours == "ppl_map_filter")?;
                format!("{ours}({array}, {b}, {})", names.join(", "))
            }
            ("ppl_aggregate", _) => return p.err(
                e,
                "aggregate takes an array, a start value, (acc, x) -> … and optionally acc -> …",
            ),
            (_, [_, f]) => {
                let n = if matches!(ours, "ppl_transform" | "ppl_filter") {
                    2
                } else {
                    1
                };
                let (ps, b) = lambda(f, n)?;
                let condition = ours != "ppl_transform";
                let (b, names) = self.lambda_body_guarded(&ps, &b, condition)?;
                format!("{ours}({array}, {b}, {})", names.join(", "))
            }
            _ => return p.err(e, format!("{lower} takes an array and a lambda")),
        };
        // (NULL over a missing array: `NOT` tests the call.)
        self.seen.truncate(from);
        self.seen.push(call.clone());
        Ok(Some(call))
    }

    /// A lambda's body translated with its parameters bound to fresh hidden fields: the text
    /// and the fields' names as string literals.
    fn lambda_body(&mut self, params: &[String], body: &Expr) -> R<(String, Vec<String>)> {
        self.lambda_body_guarded(params, body, false)
    }

    /// [`Tr::lambda_body`]; `condition`: the body decides (filter, exists, forall), and is NULL
    /// where a value it reads is (as SQL compares NULL), not false.
    fn lambda_body_guarded(
        &mut self,
        params: &[String],
        body: &Expr,
        condition: bool,
    ) -> R<(String, Vec<String>)> {
        self.lambdas += 1;
        let hidden: Vec<String> = (0..params.len())
            .map(|i| format!("{}l{}_{i}", crate::translate::PLACEHOLDER, self.lambdas))
            .collect();
        let depth = self.bound.len();
        self.bound
            .extend(params.iter().cloned().zip(hidden.iter().cloned()));
        let from = self.seen.len();
        let t = self.expr(body);
        let read: Vec<String> = self.seen.drain(from..).collect();
        self.bound.truncate(depth);
        let mut t = t?;
        if condition && !read.is_empty() {
            let mut present: Vec<String> = Vec::new();
            for f in read {
                let test = format!("ispresent({f})");
                if !present.contains(&test) {
                    present.push(test);
                }
            }
            t = format!("if({}, {t}, ppl_nullif(0, 0))", present.join(" and "));
        }
        Ok((t, hidden.iter().map(|h| string(h)).collect()))
    }

    /// An aggregate's argument or filter: it reads the records (any column), not the groups.
    fn record_expr(&mut self, x: &Expr) -> R<String> {
        let saved = std::mem::replace(&mut self.aggregating, false);
        let keys = self.keys.take();
        let r = self.expr(x);
        self.aggregating = saved;
        self.keys = keys;
        r
    }

    fn function(&mut self, e: &Expr, f: &sqlparser::ast::Function) -> R<String> {
        let p = self.places;
        let fname = f.name.to_string();
        let lower = fname.to_ascii_lowercase();
        let is_aggregate = AGGREGATES.iter().any(|(a, _)| *a == lower);
        if f.over.is_some() {
            return p.err(
                e,
                format!("the window function {fname} is allowed only in SELECT items (inside an expression, give the SELECT item an alias)"),
            );
        }
        if (f.filter.is_some() && !is_aggregate)
            || !f.within_group.is_empty()
            || f.null_treatment.is_some()
            || f.parameters != FunctionArguments::None
        {
            return p.err(
                e,
                format!("{fname} with OVER, FILTER or WITHIN GROUP is not supported yet"),
            );
        }
        let FunctionArguments::List(list) = &f.args else {
            return match &f.args {
                // `CURRENT_TIMESTAMP`, `CURRENT_DATE` without parentheses.
                FunctionArguments::None if lower == "current_timestamp" => Ok("ppl_now()".into()),
                FunctionArguments::None if lower == "current_date" => {
                    Ok("ppl_date(ppl_now())".into())
                }
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
            // `agg(…) FILTER (WHERE cond)`: the aggregate over the rows where cond holds, its
            // argument null elsewhere.
            let cond = match f.filter.as_deref() {
                Some(c) => Some(self.record_expr(c)?),
                None => None,
            };
            let only = |arg: String| match &cond {
                Some(c) => format!("if({c}, {arg}, ppl_nullif(0, 0))"),
                None => arg,
            };
            let call = match (lower.as_str(), list.args.as_slice(), distinct) {
                ("count", [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)], false) => {
                    match &cond {
                        Some(_) => format!("count({})", only("1".into())),
                        None => "count(*)".to_string(),
                    }
                }
                // `count_if(cond)`: the rows where it holds.
                ("count_if", [FunctionArg::Unnamed(FunctionArgExpr::Expr(x))], false) => {
                    let c = self.record_expr(x)?;
                    format!("count({})", only(format!("if({c}, 1, ppl_nullif(0, 0))")))
                }
                // `percentile_approx(x, p[, accuracy])`, p in [0, 1]: `pct` (an actual value
                // of the column, as Spark's approximation gives).
                // `median(x)`: Spark's exact `percentile(x, 0.5)`, interpolated.
                ("median", [FunctionArg::Unnamed(FunctionArgExpr::Expr(x))], false) => {
                    let arg = only(self.record_expr(x)?);
                    format!("ppl_percentile({arg}, 50)")
                }
                (
                    "percentile_approx" | "approx_percentile" | "percentile",
                    [FunctionArg::Unnamed(FunctionArgExpr::Expr(x)), FunctionArg::Unnamed(FunctionArgExpr::Expr(pe)), rest @ ..],
                    false,
                ) if rest.len() <= usize::from(lower != "percentile") => {
                    // One percentage, or an array of them (an array of the values).
                    let fracs: Vec<f64> = match pe {
                        Expr::Function(af)
                            if af.name.to_string().eq_ignore_ascii_case("array")
                                && matches!(&af.args, FunctionArguments::List(l) if !l.args.is_empty() && l.args.len() <= 100) =>
                        {
                            let FunctionArguments::List(l) = &af.args else {
                                unreachable!("matched above")
                            };
                            l.args
                                .iter()
                                .map(|a| match a {
                                    FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => literal(x),
                                    _ => None,
                                })
                                .map(|v| match v {
                                    Some(crate::value::Value::Num(f))
                                        if (0.0..=1.0).contains(&f) =>
                                    {
                                        Some(f)
                                    }
                                    _ => None,
                                })
                                .collect::<Option<Vec<f64>>>()
                                .unwrap_or_default()
                        }
                        _ => match literal(pe) {
                            Some(crate::value::Value::Num(f)) if (0.0..=1.0).contains(&f) => {
                                vec![f]
                            }
                            _ => Vec::new(),
                        },
                    };
                    if fracs.is_empty() {
                        return p.err(
                            pe,
                            format!(
                                "{fname} takes a percentage between 0 and 1 as a number literal, or an array of them"
                            ),
                        );
                    }
                    if let [FunctionArg::Unnamed(FunctionArgExpr::Expr(acc))] = rest {
                        if !matches!(literal(acc), Some(crate::value::Value::Num(a)) if a >= 1.0) {
                            return p.err(acc, "the accuracy is a positive number literal");
                        }
                    }
                    let arg = only(self.record_expr(x)?);
                    // (`percentile` is exact and interpolates between values.)
                    let f = if lower == "percentile" {
                        "ppl_percentile"
                    } else {
                        "pct"
                    };
                    // (A percentage to 10 decimals: `0.55 · 100` is not exactly 55.)
                    let calls: Vec<String> = fracs
                        .iter()
                        .map(|frac| {
                            let pct = (frac * 100.0 * 1e10).round() / 1e10;
                            format!("{f}({arg}, {})", crate::value::fmt_num(pct))
                        })
                        .collect();
                    match calls.as_slice() {
                        [one] if !matches!(pe, Expr::Function(_)) => one.clone(),
                        _ => format!("ppl_array({})", calls.join(", ")),
                    }
                }
                (_, [FunctionArg::Unnamed(FunctionArgExpr::Expr(x))], distinct) => {
                    let arg = self.record_expr(x).map(&only);
                    match (lower.as_str(), distinct) {
                        ("count", true) => format!("count_distinct({})", arg?),
                        (_, true) => {
                            return p.err(e, format!("{fname}(DISTINCT …) is not supported yet"))
                        }
                        _ => match ours.strip_prefix('\u{1}') {
                            Some(v) => crate::translate::variance(v, &arg?).unwrap_or_default(),
                            None => format!("{ours}({})", arg?),
                        },
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
        if let Some(t) = self.higher_order(e, &lower, list)? {
            return Ok(t);
        }
        let mut args = Vec::new();
        let from = self.seen.len();
        // `TIMESTAMPDIFF(DAY, …)`: the unit is a word, not a column.
        let unit_first = matches!(lower.as_str(), "timestampdiff" | "timestampadd");
        let arrays = crate::translate::SQL_ARRAY_FUNCTIONS
            .iter()
            .find(|(s, ..)| *s == lower)
            .map_or(&[][..], |(_, ours, ..)| crate::translate::array_args(ours));
        for (k, a) in list.args.iter().enumerate() {
            match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Identifier(u)))
                    if unit_first && k == 0 =>
                {
                    args.push(string(&u.value))
                }
                // An array column: discovery keeps only its elements (`tags.0`), so the array
                // is read from the JSON message when the column is missing.
                FunctionArg::Unnamed(FunctionArgExpr::Expr(
                    x @ (Expr::Identifier(_) | Expr::CompoundIdentifier(_)),
                )) if arrays.contains(&k) => args.push(self.array_arg(x)?),
                // A column put into an array or map: its value, or the JSON array or object
                // at its path in the message.
                FunctionArg::Unnamed(FunctionArgExpr::Expr(
                    x @ (Expr::Identifier(_) | Expr::CompoundIdentifier(_)),
                )) if matches!(lower.as_str(), "array" | "map" | "named_struct")
                    && self.bound.is_empty() =>
                {
                    let col = self.expr(x)?;
                    let path = match x {
                        Expr::Identifier(i) => i.value.clone(),
                        Expr::CompoundIdentifier(parts) => self.column(parts),
                        _ => unreachable!("matched above"),
                    };
                    if path.starts_with('@') || self.keys.is_some() || self.join.is_some() {
                        args.push(col);
                    } else {
                        args.push(json_fallback("ppl_or_json", &col, &path)?);
                    }
                }
                FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => args.push(self.expr(x)?),
                _ => return p.err(e, format!("{fname}'s arguments are not supported yet")),
            }
        }
        // Defaults and null tests answer for missing fields themselves.
        if [
            "coalesce",
            "nvl",
            "ifnull",
            "if",
            "nvl2",
            "isnull",
            "isnotnull",
        ]
        .contains(&lower.as_str())
        {
            self.seen.truncate(from);
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
            // Each array's elements under its column's name (`0`, `1`, … for another
            // expression), as Spark names the structs' fields.
            "arrays_zip" => {
                count(1, 16)?;
                let names = list
                    .args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Identifier(c))) => {
                            string(&c.value)
                        }
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::CompoundIdentifier(
                            parts,
                        ))) => string(&parts.last().map_or(String::new(), |c| c.value.clone())),
                        _ => string(&i.to_string()),
                    })
                    .collect::<Vec<_>>();
                Ok(format!(
                    "ppl_arrays_zip_named({}, {}, {})",
                    args.len(),
                    names.join(", "),
                    args.join(", ")
                ))
            }
            // 1-based in SQL, 0-based in Logs Insights.
            "substr" | "substring" => {
                count(2, 3)?;
                Ok(crate::translate::substr(&args))
            }
            "isnull" | "isnotnull" => {
                count(1, 1)?;
                Ok(if lower == "isnull" {
                    format!("(not ispresent({}))", args[0])
                } else {
                    format!("ispresent({})", args[0])
                })
            }
            "string" => {
                count(1, 1)?;
                // A null stays null (concat alone would make it empty text).
                Ok(format!("if(ispresent({0}), concat({0}), {0})", args[0]))
            }
            // `instr(text, sub)`: `locate` with its arguments the other way round.
            "instr" => {
                count(2, 2)?;
                Ok(format!("ppl_locate({}, {})", args[1], args[0]))
            }
            // Spark's conversions: a Java pattern reads the text as `parseDate` does (UTC).
            "to_timestamp" | "to_date" => {
                count(1, 2)?;
                let t = match args.get(1) {
                    Some(f) => format!("fromMillis(parseDate({}, {f}))", args[0]),
                    None => format!("ppl_timestamp({})", args[0]),
                };
                Ok(if lower == "to_date" {
                    format!("ppl_date({t})")
                } else {
                    t
                })
            }
            "timestamp_seconds" | "timestamp_millis" => {
                count(1, 1)?;
                let scale = if lower == "timestamp_seconds" {
                    " * 1000"
                } else {
                    ""
                };
                Ok(format!("fromMillis(toNumber({}){scale})", args[0]))
            }
            "unix_millis" | "unix_seconds" => {
                count(1, 1)?;
                let ms = format!("toMillis(ppl_timestamp({}))", args[0]);
                Ok(if lower == "unix_seconds" {
                    format!("floor({ms} / 1000)")
                } else {
                    ms
                })
            }
            // `date_format(time, 'yyyy-MM-dd')`: Spark's (Java) pattern letters, in UTC.
            "date_format" => {
                count(2, 2)?;
                let Some(pattern) = crate::translate::literal_text(&args[1]) else {
                    return p.err(e, "date_format takes its pattern as a string literal");
                };
                match crate::javadate::to_strftime(&pattern) {
                    Ok(f) => Ok(format!(
                        "formatDate(ppl_timestamp({}), {}, 'UTC')",
                        args[0],
                        string(&f)
                    )),
                    Err(m) => p.err(e, format!("date_format: {m}")),
                }
            }
            "date_part" => {
                count(2, 2)?;
                let part = crate::translate::literal_text(&args[0]).unwrap_or_default();
                match date_part(&part, &args[1]) {
                    Some(x) => Ok(x),
                    None => p.err(e, "date_part takes a literal field: YEAR, QUARTER, MONTH, WEEK, DAY, DAYOFWEEK, DOW, DOW_ISO, DOY, HOUR, MINUTE or SECOND"),
                }
            }
            "btrim" => {
                count(1, 2)?;
                let chars = args.get(1).cloned().unwrap_or_else(|| string(" "));
                Ok(format!("ppl_trim_chars({}, {chars}, 'B')", args[0]))
            }
            // `add_months(date, n)`: a date (the day clamped to the month's end).
            "add_months" => {
                count(2, 2)?;
                Ok(format!(
                    "ppl_date(ppl_timestampadd('MONTH', {}, {}))",
                    args[1], args[0]
                ))
            }
            // `trunc(date, 'MONTH')`: the first day of its year, quarter, month or week.
            "trunc" => {
                count(2, 2)?;
                let unit = trunc_period(&args[1], true);
                match unit {
                    Some(u) => Ok(format!(
                        "ppl_date(dateFloor(ppl_timestamp({}), {u}))",
                        args[0]
                    )),
                    None => p.err(
                        e,
                        "trunc takes a literal unit: YEAR, QUARTER, MONTH or WEEK",
                    ),
                }
            }
            // `date_trunc('HOUR', ts)`: the start of its period (weeks start on Monday).
            "date_trunc" => {
                count(2, 2)?;
                let unit = trunc_period(&args[0], false);
                match unit {
                    Some(u) => Ok(format!("dateFloor(ppl_timestamp({}), {u})", args[1])),
                    None => p.err(
                        e,
                        "date_trunc takes a literal unit: YEAR, QUARTER, MONTH, WEEK, DAY, HOUR, MINUTE, SECOND or MILLISECOND",
                    ),
                }
            }
            // `rand([seed])`/`random([seed])`: a number in [0, 1) per row.
            "rand" | "random" => {
                count(0, 1)?;
                crate::translate::rand_call(args.first().map(String::as_str))
            }
            "nvl2" => {
                count(3, 3)?;
                Ok(format!(
                    "if(ispresent({}), {}, {})",
                    args[0], args[1], args[2]
                ))
            }
            _ => match FUNCTIONS
                .iter()
                .chain(crate::translate::COMMON_FUNCTIONS)
                .chain(crate::translate::INTERNAL_FUNCTIONS)
                .chain(crate::translate::SQL_JSON_FUNCTIONS)
                .chain(crate::translate::SQL_ARRAY_FUNCTIONS)
                .find(|(s, ..)| *s == lower)
            {
                Some(&(_, ours, lo, hi)) => {
                    count(lo, hi)?;
                    if let Err(m) = crate::translate::check_regex_literal(ours, &args) {
                        return p.err(e, m);
                    }
                    let call = format!("{ours}({})", args.join(", "));
                    // An array function may be NULL over present arguments (`element_at` past
                    // the end): `NOT` tests the call itself.
                    if crate::translate::SQL_ARRAY_FUNCTIONS
                        .iter()
                        .any(|(_, o, ..)| *o == ours)
                    {
                        self.seen.truncate(from);
                        self.seen.push(call.clone());
                    }
                    Ok(call)
                }
                None => match crate::translate::shared_function(&lower, &args) {
                    Some(r) => r.or_else(|m| p.err(e, m)),
                    None => p.err(e, format!("the SQL function {fname} is not supported yet")),
                },
            },
        }
    }
}

/// The period `trunc` (`dates`: a year, quarter, month or week) or `date_trunc` (down to the
/// millisecond) names by its literal unit (Logs Insights text), as a Logs Insights period.
fn trunc_period(unit: &str, dates: bool) -> Option<&'static str> {
    let u = crate::translate::literal_text(unit)?.to_ascii_uppercase();
    let period = match u.as_str() {
        "YEAR" | "YYYY" | "YY" => "1y",
        "QUARTER" => "1q",
        "MONTH" | "MM" | "MON" => "1mo",
        "WEEK" => "1w",
        _ if dates => return None,
        "DAY" | "DD" => "1d",
        "HOUR" => "1h",
        "MINUTE" => "1m",
        "SECOND" => "1s",
        "MILLISECOND" => "1ms",
        _ => return None,
    };
    Some(period)
}

/// `EXTRACT(field FROM t)` / `date_part('field', t)` as the engine's date functions, for the
/// Logs Insights text `t`; `None` for a field not supported.
fn date_part(field: &str, t: &str) -> Option<String> {
    let f = field.trim().to_ascii_uppercase();
    Some(match f.as_str() {
        "YEAR" | "YEARS" | "Y" | "YR" | "YRS" => format!("ppl_year({t})"),
        "QUARTER" | "QTR" => format!("ppl_quarter({t})"),
        "MONTH" | "MONTHS" | "MON" | "MONS" => format!("ppl_month({t})"),
        "WEEK" | "WEEKS" | "W" => format!("ppl_week({t})"),
        "DAY" | "DAYS" | "D" => format!("ppl_day({t})"),
        "DAYOFWEEK" | "DOW" => format!("ppl_dayofweek({t})"),
        "DAYOFWEEK_ISO" | "DOW_ISO" | "ISODOW" => format!("(ppl_weekday({t}) + 1)"),
        "DOY" | "DAYOFYEAR" => format!("ppl_dayofyear({t})"),
        "HOUR" | "HOURS" | "H" | "HR" | "HRS" => format!("ppl_hour({t})"),
        "MINUTE" | "MINUTES" | "M" | "MIN" | "MINS" => format!("ppl_minute({t})"),
        // (With its fraction, as Spark gives seconds.)
        "SECOND" | "SECONDS" | "S" | "SEC" | "SECS" => {
            format!(
                "(ppl_second({t}) + (toMillis(ppl_timestamp({t})) % 1000 + 1000) % 1000 / 1000)"
            )
        }
        _ => return None,
    })
}

/// A positive whole number literal (an ordinal of the SELECT items).
fn ordinal(e: &Expr) -> Option<usize> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse::<usize>().ok().filter(|k| *k > 0),
            _ => None,
        },
        _ => None,
    }
}

/// The columns `e` reads (as far as the translation reads expressions).
fn columns(e: &Expr, tr: &Tr<'_>, out: &mut Vec<String>) {
    match e {
        Expr::Identifier(i) => out.push(i.value.clone()),
        Expr::CompoundIdentifier(parts) => out.push(tr.column(parts)),
        // A lambda reads the columns its body names other than its parameters.
        Expr::Lambda(l) => {
            let mut inner = Vec::new();
            columns(&l.body, tr, &mut inner);
            out.extend(
                inner
                    .into_iter()
                    .filter(|c| !l.params.iter().any(|p| is_param(&p.name.value, c))),
            );
        }
        e => children(e)
            .into_iter()
            .flatten()
            .for_each(|x| columns(x, tr, out)),
    }
}

/// Whether a column name is a lambda's parameter `p` or a key under it (`p.sku`).
fn is_param(p: &str, column: &str) -> bool {
    column.eq_ignore_ascii_case(p)
        || column
            .get(..p.len() + 1)
            .is_some_and(|h| h.ends_with('.') && h[..p.len()].eq_ignore_ascii_case(p))
}

/// Whether `e` holds an aggregate call (among the expressions translated; any other form is
/// refused when translated).
fn has_aggregate(e: &Expr) -> bool {
    if let Expr::Function(f) = e {
        let n = f.name.to_string().to_ascii_lowercase();
        if AGGREGATES.iter().any(|(a, _)| *a == n) && f.over.is_none() {
            return true;
        }
    }
    children(e).is_some_and(|c| c.into_iter().any(has_aggregate))
}

/// The expressions directly inside `e` that the translation's walkers look into: operands,
/// a function's unnamed arguments, a CASE's parts, …; `None` for a shape they do not know
/// (subqueries, lambdas, …).
fn children(e: &Expr) -> Option<Vec<&Expr>> {
    Some(match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Value(_) => Vec::new(),
        Expr::Nested(x)
        | Expr::UnaryOp { expr: x, .. }
        | Expr::IsNull(x)
        | Expr::IsNotNull(x)
        | Expr::Cast { expr: x, .. }
        | Expr::Ceil { expr: x, .. }
        | Expr::Floor { expr: x, .. } => vec![x],
        Expr::Trim {
            expr, trim_what, ..
        } => std::iter::once(expr.as_ref())
            .chain(trim_what.as_deref())
            .collect(),
        Expr::BinaryOp { left, right, .. } => vec![left, right],
        Expr::In {
            expr,
            target: InTarget::List(list),
            ..
        } => std::iter::once(expr.as_ref()).chain(list).collect(),
        Expr::Between {
            expr, low, high, ..
        } => vec![expr, low, high],
        Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => {
            vec![expr, pattern]
        }
        Expr::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => std::iter::once(expr.as_ref())
            .chain(substring_from.as_deref())
            .chain(substring_for.as_deref())
            .collect(),
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => operand
            .as_deref()
            .into_iter()
            .chain(conditions.iter().flat_map(|w| [&w.condition, &w.result]))
            .chain(else_result.as_deref())
            .collect(),
        Expr::Function(f) => match &f.args {
            FunctionArguments::List(l) => l
                .args
                .iter()
                .filter_map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
        _ => return None,
    })
}

/// [`children`], to change them.
fn children_mut(e: &mut Expr) -> Option<Vec<&mut Expr>> {
    Some(match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Value(_) => Vec::new(),
        Expr::Nested(x)
        | Expr::UnaryOp { expr: x, .. }
        | Expr::IsNull(x)
        | Expr::IsNotNull(x)
        | Expr::Cast { expr: x, .. }
        | Expr::Ceil { expr: x, .. }
        | Expr::Floor { expr: x, .. } => vec![x],
        Expr::Trim {
            expr, trim_what, ..
        } => std::iter::once(expr.as_mut())
            .chain(trim_what.as_deref_mut())
            .collect(),
        Expr::BinaryOp { left, right, .. } => vec![left, right],
        Expr::In {
            expr,
            target: InTarget::List(list),
            ..
        } => std::iter::once(expr.as_mut()).chain(list).collect(),
        Expr::Between {
            expr, low, high, ..
        } => vec![expr, low, high],
        Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => {
            vec![expr, pattern]
        }
        Expr::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => std::iter::once(expr.as_mut())
            .chain(substring_from.as_deref_mut())
            .chain(substring_for.as_deref_mut())
            .collect(),
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => operand
            .as_deref_mut()
            .into_iter()
            .chain(
                conditions
                    .iter_mut()
                    .flat_map(|w| [&mut w.condition, &mut w.result]),
            )
            .chain(else_result.as_deref_mut())
            .collect(),
        Expr::Function(f) => match &mut f.args {
            FunctionArguments::List(l) => l
                .args
                .iter_mut()
                .filter_map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
        _ => return None,
    })
}

/// The column name Spark gives an item without alias.
fn spark_name(e: &Expr, tr: &Tr<'_>) -> String {
    match e {
        Expr::Identifier(i) => i.value.clone(),
        // Spark names a column by its name, without its table's alias.
        Expr::CompoundIdentifier(parts) if tr.join.is_some() => {
            parts.last().map(|i| i.value.clone()).unwrap_or_default()
        }
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

/// The log groups of a `FROM` item — a group's name, or the selectors `logGroups(logGroupIdentifier:
/// […])` and `filterIndex(…)` in any order (no names: every Standard log group) — and the
/// Logs Insights conditions its `filterIndex` gives.
fn groups(p: &Places, node: &impl Spanned, text: &str) -> R<(Vec<String>, Vec<String>)> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let selectors = ["loggroups(", "filterindex(", "datasource("];
    if !selectors.iter().any(|s| lower.starts_with(s)) {
        return Ok((vec![t.to_string()], Vec::new()));
    }
    let (mut names, mut conditions) = (None, Vec::new());
    let mut rest = t;
    while !rest.is_empty() {
        let lower = rest.to_ascii_lowercase();
        let Some(sel) = selectors.iter().find(|s| lower.starts_with(*s)) else {
            return p.err(
                node,
                "expected logGroups(…) or filterIndex(…) after a selector",
            );
        };
        let open = sel.len();
        let Some(close) = closing(&rest[open..]) else {
            return p.err(node, format!("{}…) is not closed", &rest[..open]));
        };
        let inner = rest[open..open + close].trim();
        match *sel {
            "loggroups(" if names.is_none() => names = Some(log_group_list(p, node, inner)?),
            "filterindex(" if conditions.is_empty() => {
                for c in split_top(inner) {
                    conditions.push(index_condition(p, node, c.trim())?);
                }
            }
            "datasource(" => {
                return p.err(
                    node,
                    "dataSource(…) is not supported: there are no data sources here; name log groups with logGroups(logGroupIdentifier: […])",
                )
            }
            _ => return p.err(node, format!("{}…) is given twice", &rest[..open])),
        }
        rest = rest[open + close + 1..].trim_start();
    }
    Ok((names.unwrap_or_default(), conditions))
}

/// The length of `s` up to its unquoted, unbracketed `)`.
fn closing(s: &str) -> Option<usize> {
    let (mut depth, mut quote) = (0usize, None);
    for (i, ch) in s.char_indices() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(ch),
            (None, '(' | '[') => depth += 1,
            (None, ']') => depth = depth.saturating_sub(1),
            (None, ')') if depth == 0 => return Some(i),
            (None, ')') => depth -= 1,
            _ => {}
        }
    }
    None
}

/// `s` split at its commas outside quotes and brackets.
fn split_top(s: &str) -> Vec<&str> {
    let (mut out, mut from, mut depth, mut quote) = (Vec::new(), 0, 0usize, None);
    for (i, ch) in s.char_indices() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(ch),
            (None, '(' | '[') => depth += 1,
            (None, ')' | ']') => depth = depth.saturating_sub(1),
            (None, ',') if depth == 0 => {
                out.push(&s[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[from..]);
    out
}

/// A quoted text (`'…'`, `"…"`) and what follows it.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let q = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let end = s[1..].find(q)? + 1;
    Some((&s[1..end], &s[end + 1..]))
}

/// One `filterIndex` condition, `'field' = value` or `'field' IN [values]`, as Logs Insights
/// text.
fn index_condition(p: &Places, node: &impl Spanned, c: &str) -> R<String> {
    let bad = || {
        p.err(
            node,
            "filterIndex takes 'field' = value or 'field' IN [values, …] conditions",
        )
    };
    let Some((field, rest)) = quoted(c) else {
        return bad();
    };
    if field.is_empty() {
        return bad();
    }
    let value = |v: &str| -> Option<String> {
        let v = v.trim();
        match quoted(v) {
            Some((t, "")) => Some(string(t)),
            Some(_) => None,
            None => v
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(crate::value::fmt_num),
        }
    };
    let f = name(field, 0, 0)?;
    let rest = rest.trim_start();
    if let Some(v) = rest.strip_prefix('=') {
        return match value(v) {
            Some(v) => Ok(format!("{f} = {v}")),
            None => bad(),
        };
    }
    if rest.get(..2).is_some_and(|w| w.eq_ignore_ascii_case("in")) {
        let list = rest[2..].trim();
        let Some(list) = list.strip_prefix('[').and_then(|l| l.strip_suffix(']')) else {
            return bad();
        };
        let vals: Option<Vec<String>> = split_top(list).into_iter().map(value).collect();
        return match vals {
            Some(v) if !v.is_empty() => Ok(format!("{f} in [{}]", v.join(", "))),
            _ => bad(),
        };
    }
    bad()
}

/// `logGroupIdentifier: ['…', …]`, the inside of `logGroups(…)`.
fn log_group_list(p: &Places, node: &impl Spanned, inner: &str) -> R<Vec<String>> {
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

/// A FROM or JOIN relation that is one log group name in back quotes, with its alias: every
/// modifier of the table (sampling, time travel, hints, column aliases, …) is refused, not
/// dropped. `what` names the clause in the messages.
fn plain_table<'r>(
    p: &Places,
    relation: &'r TableFactor,
    what: &str,
) -> R<(
    &'r sqlparser::ast::Ident,
    Option<&'r sqlparser::ast::TableAlias>,
)> {
    let TableFactor::Table {
        name: table,
        alias,
        args: None,
        with_hints,
        version: None,
        with_ordinality: false,
        partitions,
        json_path: None,
        sample: None,
        index_directives,
        inheritance: None,
    } = relation
    else {
        return p.err(
            relation,
            format!("this {what} form is not supported yet: {what} takes a log group (no subquery, table function, sampling, time travel or hint)"),
        );
    };
    if !with_hints.is_empty()
        || !partitions.is_empty()
        || !index_directives.is_empty()
        || alias
            .as_ref()
            .is_some_and(|a| !a.columns.is_empty() || a.at.is_some())
    {
        return p.err(relation, format!("this {what} form is not supported yet"));
    }
    let [ObjectNamePart::Identifier(ident)] = table.0.as_slice() else {
        return p.err(
            relation,
            format!("{what} takes one log group name in back quotes"),
        );
    };
    Ok((ident, alias.as_ref()))
}

/// A name usable as a join alias or key in Logs Insights text as it is.
fn plain(n: &str) -> bool {
    n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `[INNER | LEFT [OUTER]] JOIN \`group\` AS r ON l.k = r.k` as a Logs Insights `join`: its
/// text, the right alias and the right log group. Both sides need an alias; the condition is
/// one equality between a column of each side (AWS allows one JOIN, INNER or LEFT OUTER).
fn join_piece(
    p: &Places,
    j: &sqlparser::ast::Join,
    left: Option<&sqlparser::ast::Ident>,
) -> R<(String, String, String)> {
    use sqlparser::ast::{JoinConstraint, JoinOperator};
    let (inner, constraint) = match &j.join_operator {
        JoinOperator::Join(c) | JoinOperator::Inner(c) => (true, c),
        JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (false, c),
        _ => return p.err(&j.relation, "only INNER and LEFT OUTER joins are supported"),
    };
    let (group, alias) = plain_table(p, &j.relation, "a JOIN")?;
    let group = group.value.clone();
    if !crate::translate::group_name_ok(&group) {
        return p.err(&j.relation, "a JOIN's right side is one log group, by name");
    }
    let (Some(left), Some(right)) = (left, alias.as_ref().map(|a| &a.name)) else {
        return p.err(
            &j.relation,
            "a JOIN needs an alias for each side: FROM `a` AS l JOIN `b` AS r ON l.k = r.k",
        );
    };
    let (l, r) = (left.value.clone(), right.value.clone());
    if !plain(&l) || !plain(&r) || l.eq_ignore_ascii_case(&r) {
        return p.err(
            &j.relation,
            "a JOIN's aliases are two different plain names (letters, digits, _)",
        );
    }
    let cond = match constraint {
        JoinConstraint::On(e) => e,
        // `USING (k)`: the column of that name on each side.
        JoinConstraint::Using(cols) => {
            let [c] = cols.as_slice() else {
                return p.err(&j.relation, "a JOIN's USING names one column");
            };
            let k = c.to_string();
            if !plain(&k) {
                return p.err(&j.relation, "a JOIN's USING column is a plain name");
            }
            let kind = if inner { "inner" } else { "left" };
            return Ok((
                format!("join type={kind} left={l} right={r} where {l}.{k} = {r}.{k} (SOURCE '{group}')"),
                r,
                group,
            ));
        }
        _ => return p.err(&j.relation, "a JOIN takes ON l.k = r.k or USING (k)"),
    };
    let key = |e: &Expr| match e {
        Expr::CompoundIdentifier(parts) if parts.len() == 2 && plain(&parts[1].value) => {
            Some((parts[0].value.clone(), parts[1].value.clone()))
        }
        _ => None,
    };
    let Expr::BinaryOp {
        left: a,
        op: BinaryOperator::Eq,
        right: b,
    } = cond
    else {
        return p.err(cond, "a JOIN's ON condition is one equality, l.k = r.k");
    };
    let (Some(a), Some(b)) = (key(a), key(b)) else {
        return p.err(
            cond,
            "a JOIN's ON condition compares a column of each side: l.k = r.k",
        );
    };
    let is = |q: &str, n: &str| q.eq_ignore_ascii_case(n);
    let (lk, rk) = if is(&a.0, &l) && is(&b.0, &r) {
        (a.1, b.1)
    } else if is(&a.0, &r) && is(&b.0, &l) {
        (b.1, a.1)
    } else {
        return p.err(
            cond,
            "a JOIN's ON condition compares a column of each side: l.k = r.k",
        );
    };
    let kind = if inner { "inner" } else { "left" };
    Ok((
        format!("join type={kind} left={l} right={r} where {l}.{lk} = {r}.{rk} (SOURCE '{group}')"),
        r,
        group,
    ))
}

/// Parses an SQL query into a [`Query`] whose [`Query::source`] names its log groups.
pub fn parse_sql(text: &str) -> R<Query> {
    crate::translate::translating(|| translate(text))
}

fn translate(text: &str) -> R<Query> {
    translate_query(text).map(|mut q| {
        crate::flatten_subqueries(&mut q.subs);
        q
    })
}

fn translate_query(text: &str) -> R<Query> {
    if let Some(i) = text
        .chars()
        .position(|c| c == crate::translate::PLACEHOLDER)
    {
        crate::translate::user_name(text, i, i + 1)?;
    }
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
    if matches!(q.body.as_ref(), SetExpr::SetOperation { .. }) {
        return union_query(p, q);
    }
    if let Some(rewritten) = grouping_sets_query(p, q)? {
        return union_query(p, &rewritten);
    }
    select_query(p, q, false)
}

/// Most grouping sets one `ROLLUP`, `CUBE` or `GROUPING SETS` may make.
const MAX_GROUPING_SETS: usize = 20;

/// `GROUP BY ROLLUP (a, b)`, `CUBE (…)`, `GROUPING SETS ((…), …)` and `WITH ROLLUP`/`WITH CUBE`:
/// one SELECT per grouping set joined by `UNION ALL`, each grouping by its set, a column not in
/// it NULL; the query's ORDER BY and LIMIT apply to the whole. `None` for plain grouping.
fn grouping_sets_query(p: &Places, q: &sqlparser::ast::Query) -> R<Option<sqlparser::ast::Query>> {
    use sqlparser::ast::{GroupByWithModifier as M, SetOperator, SetQuantifier};
    let SetExpr::Select(sel) = q.body.as_ref() else {
        return Ok(None);
    };
    let GroupByExpr::Expressions(list, mods) = &sel.group_by else {
        return Ok(None);
    };
    let many = |sets: &[Vec<Expr>]| sets.len() > MAX_GROUPING_SETS;
    // (Sized before they are built: a rollup of n parts makes n + 1 sets, a cube 2^n.)
    let too_many = |n: usize, cube: bool| {
        if cube {
            n >= usize::BITS as usize || (1usize << n) > MAX_GROUPING_SETS
        } else {
            n + 1 > MAX_GROUPING_SETS
        }
    };
    // Rollup of n parts: the first k parts, for k = n … 0.
    let rollup = |parts: &[Vec<Expr>]| -> Vec<Vec<Expr>> {
        (0..=parts.len())
            .rev()
            .map(|k| parts[..k].concat())
            .collect()
    };
    // Cube: every choice of parts, the full one first.
    let cube = |parts: &[Vec<Expr>]| -> Vec<Vec<Expr>> {
        let n = parts.len().min(16);
        (0..1usize << n)
            .rev()
            .map(|m| {
                (0..n)
                    .filter(|i| m & (1 << (n - 1 - i)) != 0)
                    .flat_map(|i| parts[i].clone())
                    .collect()
            })
            .collect()
    };
    let single = |l: &[Expr]| l.iter().map(|e| vec![e.clone()]).collect::<Vec<_>>();
    let mut fixed: Vec<Expr> = Vec::new();
    let mut sets: Option<Vec<Vec<Expr>>> = None;
    let size_error = format!("a GROUP BY makes at most {MAX_GROUPING_SETS} grouping sets here");
    for e in list {
        let made = match e {
            Expr::Rollup(parts) if too_many(parts.len(), false) => return p.err(e, size_error),
            Expr::Cube(parts) if too_many(parts.len(), true) => return p.err(e, size_error),
            Expr::GroupingSets(sets) if sets.len() > MAX_GROUPING_SETS => {
                return p.err(e, size_error)
            }
            Expr::Rollup(parts) => rollup(parts),
            Expr::Cube(parts) => cube(parts),
            Expr::GroupingSets(sets) => sets.clone(),
            other => {
                fixed.push(other.clone());
                continue;
            }
        };
        if sets.is_some() {
            return p.err(
                e,
                "one ROLLUP, CUBE or GROUPING SETS per GROUP BY is supported",
            );
        }
        sets = Some(made);
    }
    match mods.as_slice() {
        [] => {}
        [M::Rollup | M::Cube] if too_many(fixed.len(), matches!(mods[0], M::Cube)) => {
            return p.err(sel.as_ref(), size_error)
        }
        [M::Rollup] if sets.is_none() => sets = Some(rollup(&single(&fixed))),
        [M::Cube] if sets.is_none() => sets = Some(cube(&single(&fixed))),
        [M::GroupingSets(Expr::GroupingSets(g))] if sets.is_none() => sets = Some(g.clone()),
        _ => {
            return p.err(
                sel.as_ref(),
                "this grouping modifier is not supported (WITH ROLLUP, WITH CUBE and GROUPING SETS are)",
            )
        }
    }
    let Some(mut sets) = sets else {
        return Ok(None);
    };
    if !sel.sort_by.is_empty() || !sel.cluster_by.is_empty() || !sel.distribute_by.is_empty() {
        return p.err(
            sel.as_ref(),
            "SORT BY, CLUSTER BY and DISTRIBUTE BY with ROLLUP, CUBE or GROUPING SETS are not supported yet: use ORDER BY",
        );
    }
    if !mods.is_empty() {
        // (WITH ROLLUP/CUBE's columns are the sets' own.)
        fixed.clear();
    }
    if many(&sets) {
        return p.err(
            sel.as_ref(),
            format!("a GROUP BY makes at most {MAX_GROUPING_SETS} grouping sets here"),
        );
    }
    for set in &mut sets {
        let mut all = fixed.clone();
        all.append(set);
        *set = all;
    }
    let grouping: Vec<Expr> = {
        let mut seen = std::collections::HashSet::new();
        let mut g: Vec<Expr> = Vec::new();
        for e in sets.iter().flatten() {
            if seen.insert(e.to_string()) {
                g.push(e.clone());
            }
        }
        g
    };
    // A window reads every row of the result: it cannot run per grouping set.
    if lift_windows(sel).is_some() {
        return p.err(
            sel.as_ref(),
            "window functions with ROLLUP, CUBE or GROUPING SETS are not supported yet",
        );
    }
    if let Some(w) = sel.projection.iter().find(|i| {
        matches!(i, SelectItem::UnnamedExpr(Expr::Function(f)) | SelectItem::ExprWithAlias { expr: Expr::Function(f), .. } if f.over.is_some())
    }) {
        return p.err(w, "window functions with ROLLUP, CUBE or GROUPING SETS are not supported yet");
    }
    let mut chain: Option<SetExpr> = None;
    for set in &sets {
        let mut s2 = sel.as_ref().clone();
        s2.group_by = GroupByExpr::Expressions(set.clone(), Vec::new());
        let mut items = Vec::new();
        for item in &sel.projection {
            let (x, alias) = match item {
                SelectItem::UnnamedExpr(x) => (x, None),
                SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.clone())),
                other => {
                    return p.err(
                        other,
                        "SELECT * with ROLLUP, CUBE or GROUPING SETS is not supported",
                    )
                }
            };
            if has_aggregate(x) {
                items.push(item.clone());
                continue;
            }
            if !grouping.contains(x) {
                // An expression of grouping columns (or `GROUPING(c)`): the columns rolled up
                // in this set NULL, `GROUPING(c)` 1 for them and 0 for the others.
                let mut x2 = x.clone();
                let mut bad = None;
                grouping_in_set(&mut x2, &grouping, set, &mut bad);
                if let Some(b) = bad {
                    return p.err(&b, format!("{b} is not a grouping column of this GROUP BY"));
                }
                let mut read = Vec::new();
                walk_columns(&x2, &mut read);
                let names: Vec<String> = set
                    .iter()
                    .map(|g| {
                        let mut r = Vec::new();
                        walk_columns(g, &mut r);
                        r.concat()
                    })
                    .collect();
                if read.iter().any(|c| !names.contains(c)) {
                    return p.err(
                        x,
                        "with ROLLUP, CUBE or GROUPING SETS an item is an expression of the grouping columns, GROUPING(…) or an aggregate",
                    );
                }
                let alias = alias.unwrap_or_else(|| sqlparser::ast::Ident::new(x.to_string()));
                items.push(SelectItem::ExprWithAlias { expr: x2, alias });
                continue;
            }
            if set.contains(x) {
                items.push(item.clone());
                continue;
            }
            // A column rolled up in this set: NULL, under the column's name.
            let name = alias.unwrap_or_else(|| match x {
                Expr::Identifier(i) => i.clone(),
                Expr::CompoundIdentifier(parts) => parts
                    .last()
                    .cloned()
                    .unwrap_or_else(|| sqlparser::ast::Ident::new("null")),
                other => sqlparser::ast::Ident::new(other.to_string()),
            });
            items.push(SelectItem::ExprWithAlias {
                expr: Expr::Value(Value::Null.into()),
                alias: name,
            });
        }
        // The grand total of a SELECT without aggregates is still one row.
        let aggregates = items.iter().any(|i| {
            matches!(i, SelectItem::UnnamedExpr(x) | SelectItem::ExprWithAlias { expr: x, .. } if has_aggregate(x))
        });
        if set.is_empty() && !aggregates {
            s2.group_by = GroupByExpr::Expressions(
                vec![Expr::Value(Value::SingleQuotedString("()".into()).into())],
                Vec::new(),
            );
        }
        s2.projection = items;
        let right = SetExpr::Select(Box::new(s2));
        chain = Some(match chain {
            None => right,
            Some(left) => SetExpr::SetOperation {
                left: Box::new(left),
                op: SetOperator::Union,
                set_quantifier: SetQuantifier::All,
                right: Box::new(right),
            },
        });
    }
    let Some(body) = chain else {
        return Ok(None);
    };
    let mut q2 = q.clone();
    q2.body = Box::new(body);
    Ok(Some(q2))
}

/// An item's expression in one grouping set: the grouping columns rolled up in it (in
/// `grouping`, not in `set`) become NULL, `GROUPING(c)` 1 for such a column and 0 for one in
/// the set, and `GROUPING_ID(a, b, …)` those bits, the first most significant.
fn grouping_in_set(e: &mut Expr, grouping: &[Expr], set: &[Expr], bad: &mut Option<Expr>) {
    let rolled = |x: &Expr| grouping.contains(x) && !set.contains(x);
    if rolled(e) {
        *e = Expr::Value(Value::Null.into());
        return;
    }
    if let Expr::Function(f) = e {
        let fname = f.name.to_string().to_ascii_lowercase();
        if fname == "grouping" || fname == "grouping_id" {
            let args: Vec<Expr> = children(e)
                .unwrap_or_default()
                .into_iter()
                .cloned()
                .collect();
            if (fname == "grouping" && args.len() == 1)
                || (fname == "grouping_id" && !args.is_empty())
            {
                if let Some(a) = args.iter().find(|a| !grouping.contains(a)) {
                    bad.get_or_insert_with(|| a.clone());
                }
                let bits = args
                    .iter()
                    .fold(0u64, |b, a| (b << 1) | u64::from(rolled(a)));
                *e = Expr::Value(Value::Number(bits.to_string(), false).into());
                return;
            }
        }
    }
    for x in children_mut(e).into_iter().flatten() {
        grouping_in_set(x, grouping, set, bad);
    }
}

/// The columns an expression reads (identifiers, qualified or not).
fn walk_columns(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Identifier(i) => out.push(i.value.clone()),
        Expr::CompoundIdentifier(parts) => out.push(
            parts
                .iter()
                .map(|p| p.value.as_str())
                .collect::<Vec<_>>()
                .join("."),
        ),
        Expr::Lambda(l) => {
            let mut inner = Vec::new();
            walk_columns(&l.body, &mut inner);
            out.extend(
                inner
                    .into_iter()
                    .filter(|c| !l.params.iter().any(|p| is_param(&p.name.value, c))),
            );
        }
        e => match children(e) {
            Some(c) => c.into_iter().for_each(|x| walk_columns(x, out)),
            // (Anything else is taken as reading a column: refused with ROLLUP and its kin.)
            None => out.push(String::new()),
        },
    }
}

/// One SELECT (the query, or a subquery of its WHERE when `inner`) as a [`Query`] whose source
/// names its log groups.
fn select_query(p: &Places, q: &sqlparser::ast::Query, inner: bool) -> R<Query> {
    let parts = select_parts(p, q, inner)?;
    let mut query = finish(p, parts.pieces, parts.subs, parts.groups)?;
    for (j, (sub, field)) in parts.scalars.into_iter().enumerate() {
        query.subs.push(crate::SubQuery {
            source: sub.source.clone(),
            query: sub,
            field,
            append: None,
            eventstats: false,
            union: false,
            tuple: false,
            into: None,
            scalar: Some(j),
        });
    }
    // Correlated scalar subqueries feed their lookups as `eventstats` subqueries do.
    for (sub, mark) in parts.correlated {
        query.retarget_lookup(mark, query.subs.len());
        query.subs.push(crate::SubQuery {
            source: sub.source.clone(),
            query: sub,
            field: String::new(),
            append: None,
            eventstats: true,
            union: false,
            tuple: false,
            into: None,
            scalar: None,
        });
    }
    Ok(query)
}

/// Most SELECTs one chain of UNION, INTERSECT and EXCEPT joins (each runs as a subquery).
const MAX_SET_SELECTS: usize = 20;

/// A SELECT translated but not yet assembled.
struct Parts {
    pieces: Vec<Piece>,
    /// Its `IN (SELECT …)` subqueries' queries, in order.
    subs: Vec<Query>,
    groups: Vec<String>,
    /// The columns it shows, in order (empty with `*`).
    shown: Vec<String>,
    star: bool,
    /// Its scalar subqueries (query, column), by number.
    scalars: Vec<(Query, String)>,
    /// Its correlated scalar subqueries (query, marker of its lookup).
    correlated: Vec<(Query, usize)>,
}

/// The query of assembled `pieces`, its subqueries' queries put in and its log groups named.
fn finish(p: &Places, pieces: Vec<Piece>, subs: Vec<Query>, groups: Vec<String>) -> R<Query> {
    let mut query = crate::translate::assemble(&pieces, p.n)?;
    // Each `IN (SELECT …)` placeholder subquery takes its translated query and log groups.
    if query.subs.len() != subs.len() {
        return Err(QueryError {
            start: 0,
            end: p.n,
            message: "the query could not be translated".into(),
        });
    }
    for (sub, inner) in query.subs.iter_mut().zip(subs) {
        sub.source = inner.source.clone();
        sub.query = inner;
    }
    query.source = Some(Source {
        names: groups,
        ..Source::default()
    });
    Ok(query)
}

/// The pieces giving a row per element of the array `x` (Logs Insights text) under the field
/// `field`: the rows whose array is missing or empty go, or with `outer` keep one with the
/// field NULL.
fn expand_pieces(x: &str, field: &str, outer: bool, end: usize) -> R<Vec<Piece>> {
    let n_col = name(field, 0, 0)?;
    let piece = |text: String, eval: bool| Piece {
        text,
        eval,
        ready: None,
        start: 0,
        end,
    };
    let mut out = if outer {
        vec![piece(
            format!("fields if(ppl_size({x}) > 0, {x}, ppl_array(ppl_nullif(0, 0))) as {n_col}"),
            true,
        )]
    } else {
        vec![
            piece(format!("fields {x} as {n_col}"), true),
            piece(format!("filter ppl_size({n_col}) > 0"), false),
        ]
    };
    out.push(Piece::ready(
        crate::ast::Command::Expand(field.to_string()),
        end,
    ));
    Ok(out)
}

/// Most rows `stack(n, …)` makes of one row, and most columns.
const MAX_STACK_ROWS: usize = 64;
const MAX_STACK_COLUMNS: usize = 32;

/// `LATERAL VIEW stack(n, v1, v2, …) t [AS a, b, …]`: each row becomes n rows of the values in
/// order, as many columns as fill them (the last row's missing values NULL), named by the
/// view's names or `col0`, `col1`, … as Spark names them.
#[allow(clippy::too_many_arguments)]
fn lateral_stack(
    p: &Places,
    tr: &mut Tr,
    at: &Expr,
    args: &[&Expr],
    names: &[String],
    hidden: &str,
    pieces: &mut Vec<Piece>,
    lateral_columns: &mut Vec<String>,
) -> R<()> {
    let rows = match args.first() {
        Some(Expr::Value(v)) => match &v.value {
            sqlparser::ast::Value::Number(n, _) => n.parse::<usize>().ok(),
            _ => None,
        },
        _ => None,
    };
    let Some(rows) = rows.filter(|r| (1..=MAX_STACK_ROWS).contains(r)) else {
        return p.err(
            at,
            format!("stack's first argument is its number of rows, a whole number from 1 to {MAX_STACK_ROWS}"),
        );
    };
    let values = &args[1..];
    if values.is_empty() {
        return p.err(at, "stack takes the number of rows and the values");
    }
    let cols = values.len().div_ceil(rows);
    if cols > MAX_STACK_COLUMNS {
        return p.err(
            at,
            format!("stack makes at most {MAX_STACK_COLUMNS} columns (values / rows)"),
        );
    }
    let names: Vec<String> = if names.is_empty() {
        (0..cols).map(|i| format!("col{i}")).collect()
    } else if names.len() == cols {
        names.to_vec()
    } else {
        return p.err(
            at,
            format!("stack makes {cols} column(s) here: name as many"),
        );
    };
    let mut built = Vec::with_capacity(rows);
    for r in 0..rows {
        let mut pairs = Vec::with_capacity(cols * 2);
        for c in 0..cols {
            let v = match values.get(r * cols + c) {
                Some(x) => tr.expr(x)?,
                None => "ppl_nullif(0, 0)".to_string(),
            };
            pairs.push(format!("'c{c}', {v}"));
        }
        built.push(format!("ppl_map({})", pairs.join(", ")));
    }
    let n_h = name(hidden, 0, 0)?;
    let piece = |text: String, eval: bool| Piece {
        text,
        eval,
        ready: None,
        start: 0,
        end: p.n,
    };
    pieces.extend(expand_pieces(
        &format!("ppl_array({})", built.join(", ")),
        hidden,
        false,
        p.n,
    )?);
    let read: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(format!(
                "ppl_array_get({n_h}, 'c{i}') as {}",
                name(c, 0, 0)?
            ))
        })
        .collect::<R<_>>()?;
    pieces.push(piece(format!("fields {}", read.join(", ")), true));
    lateral_columns.extend(names);
    Ok(())
}

fn select_parts(p: &Places, q: &sqlparser::ast::Query, inner: bool) -> R<Parts> {
    let n = p.n;
    let whole = |m: String| QueryError {
        start: 0,
        end: n,
        message: m,
    };
    if let Some(w) = &q.with {
        return p.err(
            w,
            "WITH (common table expressions) is not supported for CloudWatch Logs",
        );
    }
    if q.fetch.is_some()
        || !q.locks.is_empty()
        || q.for_clause.is_some()
        || q.settings.is_some()
        || q.format_clause.is_some()
    {
        return p.err(q, "this query form is not supported yet");
    }
    if !q.pipe_operators.is_empty() {
        return Err(whole("pipe operators (|>) are not supported yet".into()));
    }
    let SetExpr::Select(s) = q.body.as_ref() else {
        return p.err(
            q.body.as_ref(),
            "only a single SELECT is supported (UNION, INTERSECT, EXCEPT and VALUES are not yet)",
        );
    };
    // `WINDOW w AS (…)`: each `OVER w` takes its specification.
    let resolved;
    let s = if s.named_window.is_empty() {
        s
    } else {
        resolved = Box::new(named_windows(p, s)?);
        &resolved
    };
    // FROM: exactly one log group item.
    let [from] = s.from.as_slice() else {
        return Err(whole(
            "a SQL query needs exactly one FROM item naming its log groups".into(),
        ));
    };
    if let Some(j) = from.joins.get(1) {
        return p.err(&j.relation, "only one JOIN is supported in a SELECT");
    }
    // A subquery in FROM (`FROM (SELECT …) AS t`): its pieces come first, and this SELECT
    // reads its rows (its columns, or whole records for `SELECT *`).
    let derived = match &from.relation {
        TableFactor::Derived {
            lateral: false,
            subquery,
            alias,
            sample: None,
        } => {
            if !from.joins.is_empty() {
                return p.err(
                    &from.relation,
                    "a JOIN with a subquery in FROM is not supported yet",
                );
            }
            if alias
                .as_ref()
                .is_some_and(|a| !a.columns.is_empty() || a.at.is_some())
            {
                return p.err(
                    &from.relation,
                    "column aliases of a subquery in FROM are not supported yet",
                );
            }
            // (AWS supports one level of nested subqueries.)
            let nested = matches!(subquery.body.as_ref(), SetExpr::Select(s)
                if s.from.iter().any(|f| matches!(f.relation, TableFactor::Derived { .. })));
            if inner || nested {
                return p.err(
                    &from.relation,
                    "a subquery in FROM inside another subquery is not supported (one level of nesting is)",
                );
            }
            let d = select_parts(p, subquery, false)?;
            if !d.subs.is_empty() || !d.scalars.is_empty() || !d.correlated.is_empty() {
                return p.err(
                    &from.relation,
                    "subqueries inside a subquery in FROM are not supported yet",
                );
            }
            Some((d, alias.as_ref().map(|a| a.name.value.clone())))
        }
        _ => None,
    };
    let (ident_value, alias) = match &derived {
        Some((_, a)) => (a.clone().unwrap_or_default(), None),
        None => {
            let (ident, alias) = plain_table(p, &from.relation, "FROM")?;
            (ident.value.clone(), alias)
        }
    };
    let (log_groups, index_conditions) = match &derived {
        Some((d, _)) => (d.groups.clone(), Vec::new()),
        None => groups(p, &from.relation, &ident_value)?,
    };
    let join = match from.joins.first() {
        Some(j) => Some(join_piece(p, j, alias.as_ref().map(|a| &a.name))?),
        None => None,
    };
    if join.is_some() && !index_conditions.is_empty() {
        return p.err(
            &from.relation,
            "filterIndex with a JOIN is not supported yet",
        );
    }
    // `SELECT explode(a) AS x, …`: a lateral view of its own.
    let generated;
    let s = match select_generator(p, s)? {
        Some(g) => {
            generated = Box::new(g);
            &generated
        }
        None => s,
    };
    // Window functions inside an item's expression (`COUNT(*) * 100 / SUM(COUNT(*)) OVER ()`):
    // each a hidden item of its own, the expression computed once the windows are.
    let lifted;
    let (s, post) = match lift_windows(s) {
        Some((l, post)) => {
            lifted = Box::new(l);
            (&lifted, post)
        }
        None => (s, Vec::new()),
    };
    if s.top.is_some()
        || s.into.is_some()
        || s.prewhere.is_some()
        || s.qualify.is_some()
        || !s.connect_by.is_empty()
        || !s.optimizer_hints.is_empty()
        || s.select_modifiers.is_some()
        || s.exclude.is_some()
    {
        return p.err(s.as_ref(), "this SELECT form is not supported yet");
    }
    let mut tr = Tr {
        places: p,
        alias: alias.as_ref().map(|a| a.name.value.clone()),
        table: ident_value.clone(),
        seen: Vec::new(),
        seen_all: Vec::new(),
        keys: None,
        aggs: Vec::new(),
        in_stats: false,
        aggregating: false,
        join: join
            .as_ref()
            .map(|(_, right, group)| (right.clone(), group.clone())),
        subs: Vec::new(),
        scalars: Vec::new(),
        correlated: Vec::new(),
        inner,
        in_where: false,
        laterals: Vec::new(),
        bound: Vec::new(),
        lambdas: 0,
    };
    let mut pieces: Vec<Piece> = Vec::new();
    // (The subquery's columns: what this SELECT may read; `None`: whole records.)
    let mut derived_columns = None;
    if let Some((d, _)) = derived {
        pieces.extend(d.pieces);
        if !d.star {
            derived_columns = Some(d.shown);
        }
    }
    if let Some((text, ..)) = join {
        pieces.push(Piece {
            text,
            eval: false,
            ready: None,
            start: 0,
            end: n,
        });
    }
    let piece = |text: String, eval: bool| Piece {
        text,
        eval,
        ready: None,
        start: 0,
        end: n,
    };
    if !index_conditions.is_empty() {
        pieces.push(piece(
            format!("filter {}", index_conditions.join(" and ")),
            false,
        ));
    }
    let mut lateral_columns: Vec<String> = Vec::new();
    // `LATERAL VIEW [OUTER] explode(a) t AS x`: a row per element, under x (`expand`); the
    // rows whose array is missing or empty go, unless OUTER keeps them with x NULL.
    for lv in &s.lateral_views {
        let Expr::Function(f) = &lv.lateral_view else {
            return p.err(
                &lv.lateral_view,
                "a LATERAL VIEW takes explode(array) or explode_outer(array)",
            );
        };
        let fname = f.name.to_string().to_ascii_lowercase();
        if matches!(fname.as_str(), "stack" | "inline" | "inline_outer") {
            if tr.join.is_some() {
                return p.err(
                    &lv.lateral_view,
                    "a LATERAL VIEW with a JOIN is not supported yet",
                );
            }
            let args: Vec<&Expr> = match &f.args {
                FunctionArguments::List(l)
                    if l.duplicate_treatment.is_none()
                        && l.clauses.is_empty()
                        && f.over.is_none()
                        && f.filter.is_none() =>
                {
                    l.args
                        .iter()
                        .map(|a| match a {
                            FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Ok(x),
                            _ => p.err(&lv.lateral_view, format!("{fname}'s arguments are values")),
                        })
                        .collect::<R<_>>()?
                }
                _ => return p.err(&lv.lateral_view, format!("{fname}'s arguments are values")),
            };
            let hidden = format!(
                "{}gen{}",
                crate::translate::PLACEHOLDER,
                lateral_columns.len()
            );
            let n_h = name(&hidden, 0, 0)?;
            let names: Vec<String> = lv
                .lateral_col_alias
                .iter()
                .map(|a| a.value.clone())
                .collect();
            let before = tr.seen.len();
            if fname == "stack" {
                lateral_stack(
                    p,
                    &mut tr,
                    &lv.lateral_view,
                    &args,
                    &names,
                    &hidden,
                    &mut pieces,
                    &mut lateral_columns,
                )?;
            } else {
                // inline: a row per struct (map) of the array, its values as columns — named
                // by the view's names in the struct's order, else by its keys.
                let [arg] = args.as_slice() else {
                    return p.err(&lv.lateral_view, "inline takes one array of structs");
                };
                let x = format!("ppl_elements({})", tr.array_arg(arg)?);
                let outer = lv.outer || fname.ends_with("_outer");
                pieces.extend(expand_pieces(&x, &hidden, outer, n)?);
                if names.is_empty() {
                    pieces.push(Piece::ready(
                        crate::ast::Command::Rows(crate::ast::RowCmd::Flatten {
                            field: hidden.clone(),
                            aliases: Vec::new(),
                        }),
                        n,
                    ));
                } else {
                    let read = names
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            // (The struct's keys in alphabetical order, as Spark orders
                            // the fields of structs it infers from JSON.)
                            Ok(format!(
                                "ppl_array_get({n_h}, ppl_element_at(ppl_array_sort(ppl_map_keys({n_h})), {})) as {}",
                                i + 1,
                                name(c, 0, 0)?
                            ))
                        })
                        .collect::<R<Vec<_>>>()?;
                    pieces.push(piece(format!("fields {}", read.join(", ")), true));
                    lateral_columns.extend(names.iter().cloned());
                }
            }
            tr.seen.truncate(before);
            tr.laterals.push(lv.lateral_view_name.to_string());
            continue;
        }
        let arg = match &f.args {
            FunctionArguments::List(l)
                if l.args.len() == 1
                    && l.duplicate_treatment.is_none()
                    && l.clauses.is_empty()
                    && f.over.is_none()
                    && f.filter.is_none() =>
            {
                match &l.args[0] {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => x,
                    _ => return p.err(&lv.lateral_view, "explode takes one array"),
                }
            }
            _ => return p.err(&lv.lateral_view, "explode takes one array"),
        };
        if !matches!(
            fname.as_str(),
            "explode" | "explode_outer" | "posexplode" | "posexplode_outer"
        ) {
            return p.err(
                &lv.lateral_view,
                format!("{fname} in a LATERAL VIEW is not supported yet (explode, posexplode and their _outer forms are)"),
            );
        }
        // posexplode: the element's place (from 0) and the element. A map (named by two
        // columns, three with posexplode) gives a row per entry: its key and its value.
        let with_pos = fname.starts_with("pos");
        let names = lv.lateral_col_alias.as_slice();
        let of_map = names.len() == 2 + usize::from(with_pos);
        let (pos_col, col, value_col) = match (with_pos, names) {
            (false, [c]) => (None, c.value.clone(), None),
            (false, []) => (None, "col".to_string(), None),
            (false, [k, v]) => (None, k.value.clone(), Some(v.value.clone())),
            (true, [a, b]) => (Some(a.value.clone()), b.value.clone(), None),
            (true, []) => (Some("pos".to_string()), "col".to_string(), None),
            (true, [a, k, v]) => (Some(a.value.clone()), k.value.clone(), Some(v.value.clone())),
            _ => {
                return p.err(
                    &lv.lateral_view,
                    if with_pos {
                        "posexplode makes two columns (the place and the element), three of a map (the place, the key and the value): name them"
                    } else {
                        "explode makes one column of an array, two of a map (the key and the value): name them"
                    },
                )
            }
        };
        if tr.join.is_some() {
            return p.err(
                &lv.lateral_view,
                "a LATERAL VIEW with a JOIN is not supported yet",
            );
        }
        let before = tr.seen.len();
        let x = tr.array_arg(arg)?;
        tr.seen.truncate(before);
        // (A map's entries are `{key, value}` maps; posexplode expands `{pos, col}` maps under
        // a hidden name, then reads them.)
        let x = if of_map {
            format!("ppl_map_entries({x})")
        } else {
            format!("ppl_elements({x})")
        };
        let x = if with_pos {
            format!("ppl_with_positions({x})")
        } else {
            x
        };
        let expanded = if with_pos || of_map {
            format!(
                "{}pos{}",
                crate::translate::PLACEHOLDER,
                lateral_columns.len()
            )
        } else {
            col.clone()
        };
        let n_col = name(&expanded, 0, 0)?;
        let outer = lv.outer || fname.ends_with("_outer");
        pieces.extend(expand_pieces(&x, &expanded, outer, n)?);
        let entry = if with_pos {
            format!("ppl_array_get({n_col}, 'col')")
        } else {
            n_col.clone()
        };
        let mut read = Vec::new();
        if let Some(pc) = &pos_col {
            read.push(format!(
                "ppl_array_get({n_col}, 'pos') as {}",
                name(pc, 0, 0)?
            ));
            lateral_columns.push(pc.clone());
        }
        match &value_col {
            Some(v) => {
                read.push(format!(
                    "ppl_array_get({entry}, 'key') as {}",
                    name(&col, 0, 0)?
                ));
                read.push(format!(
                    "ppl_array_get({entry}, 'value') as {}",
                    name(v, 0, 0)?
                ));
            }
            None if with_pos => read.push(format!("{entry} as {}", name(&col, 0, 0)?)),
            None => {}
        }
        if !read.is_empty() {
            pieces.push(piece(format!("fields {}", read.join(", ")), true));
        }
        tr.laterals.push(lv.lateral_view_name.to_string());
        lateral_columns.push(col);
        lateral_columns.extend(value_col);
    }
    // (The lookups of correlated scalar subqueries go here, before anything reads them.)
    let lookup_at = pieces.len();
    if let Some(w) = &s.selection {
        if has_aggregate(w) {
            return p.err(w, "aggregates are not allowed in WHERE");
        }
        tr.in_where = true;
        let f = tr.expr(w);
        tr.in_where = false;
        pieces.push(piece(format!("filter {}", f?), false));
    }
    let (group_by, group_all): (Vec<&Expr>, bool) = match &s.group_by {
        GroupByExpr::Expressions(list, mods) if mods.is_empty() => (list.iter().collect(), false),
        GroupByExpr::All(mods) if mods.is_empty() => (Vec::new(), true),
        _ => return p.err(
            s.as_ref(),
            "grouping modifiers (ROLLUP, CUBE, GROUPING SETS, WITH TOTALS) are not supported yet",
        ),
    };
    // The SELECT items: (expression or None for `*`, result name).
    let mut items: Vec<(Option<&Expr>, String)> = Vec::new();
    for item in &s.projection {
        match item {
            SelectItem::UnnamedExpr(Expr::Identifier(i))
            | SelectItem::ExprWithAlias {
                expr: Expr::Identifier(i),
                ..
            } if tr.join.is_some() => {
                return p.err(
                    item,
                    format!(
                        "in a query with a JOIN, qualify {} with its table's alias",
                        i.value
                    ),
                )
            }
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
    // `GROUP BY ALL`: every SELECT item without an aggregate (nor a window function).
    let group_by = if group_all {
        if items.iter().any(|(e, _)| e.is_none()) {
            return p.err(s.as_ref(), "GROUP BY ALL with SELECT * is not supported");
        }
        items
            .iter()
            .filter(|(_, col)| {
                !post.contains(col) && !col.starts_with(crate::translate::PLACEHOLDER)
            })
            .filter_map(|(e, _)| *e)
            .filter(|e| !has_aggregate(e) && !matches!(e, Expr::Function(f) if f.over.is_some()))
            .collect()
    } else {
        group_by
    };
    // `GROUP BY 2`: the second SELECT item (Spark's default).
    let group_by = group_by
        .into_iter()
        .map(|g| match ordinal(g) {
            Some(k) => match items
                .get(k.wrapping_sub(1))
                .filter(|(_, n)| !n.starts_with(crate::translate::PLACEHOLDER))
            {
                Some((Some(e), _)) if !has_aggregate(e) => Ok(*e),
                _ => p.err(
                    g,
                    format!("GROUP BY {k} names no SELECT item that can be grouped by"),
                ),
            },
            // `GROUP BY k`, k a SELECT item's alias (Spark's groupByAliases): its expression.
            // (An alias read so shadows a column of the same name.)
            None => match g {
                Expr::Identifier(i) => Ok(items
                    .iter()
                    .find_map(|(e, n)| match e {
                        Some(e)
                            if *n == i.value
                                && !has_aggregate(e)
                                && !matches!(e, Expr::Function(f) if f.over.is_some())
                                && !matches!(e, Expr::Identifier(x) if x.value == i.value) =>
                        {
                            Some(*e)
                        }
                        _ => None,
                    })
                    .unwrap_or(g)),
                _ => Ok(g),
            },
        })
        .collect::<R<Vec<&Expr>>>()?;
    // Two items of one name cannot both be shown.
    for (i, (_, a)) in items.iter().enumerate() {
        if items[..i].iter().any(|(_, b)| b == a) {
            return Err(whole(format!(
                "two SELECT items are named {a}: give one an alias"
            )));
        }
    }
    // Window functions are items of their own, set on the rows once the rest is computed.
    let shown: Vec<String> = items
        .iter()
        .map(|(_, n)| n.clone())
        .filter(|n| !n.starts_with(crate::translate::PLACEHOLDER))
        .collect();
    // (ORDER BY numbers and names every item, windows included.)
    let all_items: Vec<(Option<&Expr>, String)> = items
        .iter()
        .filter(|(_, n)| !n.starts_with(crate::translate::PLACEHOLDER))
        .cloned()
        .collect();
    let mut windows: Vec<(&Expr, &sqlparser::ast::Function, String)> = Vec::new();
    items.retain(|(e, col)| match e {
        Some(e @ Expr::Function(f)) if f.over.is_some() => {
            windows.push((e, f, col.clone()));
            false
        }
        _ => true,
    });
    let distinct = match &s.distinct {
        None => false,
        Some(Distinct::Distinct) => true,
        Some(Distinct::All) => false,
        Some(other) => return p.err(s.as_ref(), format!("{other} is not supported yet")),
    };
    let aggregating = distinct
        || !group_by.is_empty()
        || s.having.is_some()
        || items.iter().any(|(e, _)| e.is_some_and(has_aggregate));
    let star = items.iter().any(|(e, _)| e.is_none());
    if star && (aggregating || items.len() > 1 || !windows.is_empty()) {
        return Err(whole(
            "SELECT * goes alone, without GROUP BY, aggregates or window functions".into(),
        ));
    }
    if distinct && !windows.is_empty() {
        return p.err(
            windows[0].0,
            "window functions with SELECT DISTINCT are not supported yet",
        );
    }
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
        // Items: aggregate expressions become stats items; others must be group keys (or
        // constants).
        let mut stats_items = Vec::new();
        let mut constants = Vec::new();
        let mut of_keys: Vec<(&Expr, &String)> = Vec::new();
        for (e, col) in &items {
            // (`*` never reaches here: it goes alone, without aggregates.)
            let Some(e) = *e else { continue };
            if post.contains(col) {
                continue;
            }
            if has_aggregate(e) {
                tr.in_stats = true;
                let x = tr.expr(e);
                tr.in_stats = false;
                let x = x?;
                tr.aggs.push((x.clone(), col.clone()));
                stats_items.push(format!("{x} as {}", name(col, 0, 0)?));
            } else if !by_names.contains(col) {
                // A constant (NULL included), or an expression of the group keys
                // (`upper(host)` grouped by host), is set on each group's row after the stats.
                let mut read = Vec::new();
                walk_columns(e, &mut read);
                if read.is_empty() {
                    constants.push(format!("{} as {}", tr.expr(e)?, name(col, 0, 0)?));
                } else {
                    of_keys.push((e, col));
                }
            }
        }
        // HAVING and ORDER BY read the groups: their keys, the items' aliases, aggregates.
        let mut visible: Vec<(Expr, String)> = keys
            .iter()
            .zip(&by_names)
            .map(|(k, n)| ((*k).clone(), n.clone()))
            .collect();
        // Items of the keys read the keys only (a column that is no key is an error).
        tr.keys = Some(visible.clone());
        for (e, col) in &of_keys {
            let x = tr.expr(e)?;
            constants.push(format!("{x} as {}", name(col, 0, 0)?));
        }
        // (HAVING comes before the windows: it cannot read them, as in Spark.)
        let window_names: Vec<&String> = windows.iter().map(|(_, _, n)| n).collect();
        visible.extend(
            shown
                .iter()
                .filter(|a| !window_names.contains(a) && !post.contains(a))
                .map(|a| (Expr::Identifier(sqlparser::ast::Ident::new(a)), a.clone())),
        );
        tr.keys = Some(visible);
        let having = match &s.having {
            Some(h) => Some(tr.expr(h)?),
            None => None,
        };
        let (win_keys, win) = window_parts(&mut tr, &windows, &items)?;
        if let Some(v) = tr.keys.as_mut() {
            v.extend(window_names.iter().map(|a| {
                (
                    Expr::Identifier(sqlparser::ast::Ident::new(*a)),
                    (*a).clone(),
                )
            }));
        }
        // Items reading windows: over the groups' keys, aggregates and the windows.
        let mut post_evals = Vec::new();
        for (e, col) in &items {
            if let (Some(e), true) = (e, post.contains(col)) {
                post_evals.push(format!("{} as {}", tr.expr(e)?, name(col, 0, 0)?));
            }
        }
        if let Some(v) = tr.keys.as_mut() {
            v.extend(
                post.iter()
                    .map(|a| (Expr::Identifier(sqlparser::ast::Ident::new(a)), a.clone())),
            );
        }
        let order = order_by(&mut tr, q, s, &all_items)?;
        tr.keys = None;
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
        if !constants.is_empty() {
            pieces.push(piece(format!("fields {}", constants.join(", ")), true));
        }
        if let Some(h) = having {
            pieces.push(piece(format!("filter {h}"), false));
        }
        pieces.extend(win_keys);
        pieces.extend(win);
        if !post_evals.is_empty() {
            pieces.push(piece(format!("fields {}", post_evals.join(", ")), true));
        }
        pieces.extend(order.map(|o| piece(o, false)));
    } else {
        // Computed items are set on the rows (their names shown at the end), in order: an
        // item named after a column a later item reads would change what that item reads.
        for (i, (e, col)) in items.iter().enumerate() {
            let computed = match e {
                Some(Expr::Identifier(x)) => x.value != *col,
                Some(Expr::CompoundIdentifier(parts)) => tr.column(parts) != *col,
                Some(_) => true,
                None => false,
            };
            // (Items reading windows are computed after all the others: they come later.)
            let mut later = Vec::new();
            for (k, (e, c)) in items.iter().enumerate() {
                if let (Some(e), true) = (e, k > i || (post.contains(c) && !post.contains(col))) {
                    columns(e, &tr, &mut later);
                }
            }
            if computed && later.contains(col) {
                return Err(whole(format!(
                    "the SELECT item named {col} hides the column {col} a later item reads: give it another alias"
                )));
            }
        }
        // The windows' keys read the input columns: set before the items rename any.
        let (win_keys, win) = window_parts(&mut tr, &windows, &items)?;
        pieces.extend(win_keys);
        let mut computed = Vec::new();
        for (e, col) in &items {
            if post.contains(col) {
                continue;
            }
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
        pieces.extend(win);
        let mut post_evals = Vec::new();
        for (e, col) in &items {
            if let (Some(e), true) = (e, post.contains(col)) {
                post_evals.push(format!("{} as {}", tr.expr(e)?, name(col, 0, 0)?));
            }
        }
        if !post_evals.is_empty() {
            pieces.push(piece(format!("fields {}", post_evals.join(", ")), true));
        }
        if let Some(o) = order_by(&mut tr, q, s, &all_items)? {
            pieces.push(piece(o, false));
        }
    }
    pieces.extend(limit_pieces(p, q)?);
    if let Some(cols) = &derived_columns {
        // A column the subquery does not give is an error, as Spark has it, not a missing
        // value.
        let known = cols
            .iter()
            .chain(&lateral_columns)
            .map(|c| name(c, 0, 0))
            .collect::<R<Vec<_>>>()?;
        // (Items that are columns are shown as they are, not translated.)
        let mut read = tr.seen_all.clone();
        for (e, _) in &items {
            match e {
                Some(Expr::Identifier(i)) => read.push(name(&i.value, 0, 0)?),
                Some(Expr::CompoundIdentifier(parts)) => read.push(name(&tr.column(parts), 0, 0)?),
                _ => {}
            }
        }
        // (Hidden columns are the translation's own.)
        if let Some(f) = read
            .iter()
            .find(|f| !known.contains(f) && !f.contains(crate::translate::PLACEHOLDER))
        {
            return Err(whole(format!(
                "{} is not a column of the subquery in FROM (its columns: {})",
                f.trim_matches('`'),
                cols.join(", ")
            )));
        }
    }
    // A column that is a JSON array or object in the events is not a field of its own
    // (discovery keeps its parts, `tags.0`, `req.id`): shown, it is read from the message.
    // (Last, so only the rows shown read it.)
    // (Over a subquery in FROM, its columns are what its SELECT shows.)
    // (Not in IN and scalar subqueries: their values are compared, not shown.)
    if !star && !aggregating && !inner && tr.join.is_none() && derived_columns.is_none() {
        let mut whole = Vec::new();
        for (e, col) in &items {
            // (The column an item shows as it is or renamed: its path in the message.)
            let source = match e {
                Some(Expr::Identifier(i)) => i.value.clone(),
                Some(Expr::CompoundIdentifier(parts)) => tr.column(parts),
                _ => continue,
            };
            if !source.starts_with('@')
                && !source.starts_with(crate::translate::PLACEHOLDER)
                && !lateral_columns.contains(&source)
            {
                let c = name(col, 0, 0)?;
                whole.push(format!(
                    "{} as {c}",
                    json_fallback("ppl_or_json", &c, &source)?
                ));
            }
        }
        if !whole.is_empty() {
            pieces.push(piece(format!("fields {}", whole.join(", ")), true));
        }
    }
    if !star {
        let names = shown.iter().map(|c| name(c, 0, 0)).collect::<R<Vec<_>>>()?;
        pieces.push(piece(format!("display {}", names.join(", ")), false));
    }
    if pieces.is_empty() {
        // `SELECT * FROM g`: every record, whole (as with any other clause).
        pieces.push(piece("filter ispresent(`@timestamp`)".into(), false));
    }
    let mut correlated = Vec::new();
    for (k, (inner, outers)) in std::mem::take(&mut tr.correlated).into_iter().enumerate() {
        let lookup = crate::ast::LookupCmd {
            table: "correlated subquery".into(),
            keys: outers
                .into_iter()
                .enumerate()
                .map(|(i, o)| (correlated_key(i), crate::ast::Expr::Field(o)))
                .collect(),
            outputs: vec![CORRELATED_VALUE.into()],
            data: None,
            from_sub: Some(CORRELATED_MARK + k),
            into: vec![correlated_name(k)],
        };
        pieces.insert(
            lookup_at + k,
            Piece::ready(crate::ast::Command::Lookup(Box::new(lookup)), n),
        );
        correlated.push((inner, CORRELATED_MARK + k));
    }
    Ok(Parts {
        pieces,
        subs: std::mem::take(&mut tr.subs),
        groups: log_groups,
        shown: if star { Vec::new() } else { shown },
        star,
        scalars: std::mem::take(&mut tr.scalars),
        correlated,
    })
}

/// The pieces of a SELECT's window functions (`windows`: each item's expression, call and
/// name): the values they partition and order by (and `lag`/`lead`'s value) set as hidden
/// columns, then one [`crate::ast::RowCmd::Window`] each. An expression naming a SELECT item
/// (`items`) reads that item's column; `tr` translates the others (over the groups when it
/// has their keys).
fn window_parts(
    tr: &mut Tr<'_>,
    windows: &[(&Expr, &sqlparser::ast::Function, String)],
    items: &[(Option<&Expr>, String)],
) -> R<(Vec<Piece>, Vec<Piece>)> {
    use crate::ast::{Command, RowCmd, WindowFn};
    use sqlparser::ast::{WindowSpec, WindowType};
    let p = tr.places;
    let mut evals = Vec::new();
    let mut cmds = Vec::new();
    for (i, (e, f, out)) in windows.iter().enumerate() {
        let fname = f.name.to_string().to_ascii_lowercase();
        const WINDOW_FUNCTIONS: &[&str] = &[
            "row_number",
            "rank",
            "dense_rank",
            "percent_rank",
            "cume_dist",
            "ntile",
            "lag",
            "lead",
            "first_value",
            "last_value",
            "nth_value",
            "count",
            "sum",
            "avg",
            "mean",
            "min",
            "max",
            "stddev",
            "stddev_samp",
            "std",
            "stddev_pop",
            "variance",
            "var_samp",
            "var_pop",
        ];
        if !WINDOW_FUNCTIONS.contains(&fname.as_str()) {
            return p.err(
                *e,
                format!("the window function {fname} is not supported yet (ROW_NUMBER, RANK, DENSE_RANK, PERCENT_RANK, CUME_DIST, NTILE, LAG, LEAD, FIRST_VALUE, LAST_VALUE, NTH_VALUE and the aggregates COUNT, SUM, AVG, MIN, MAX, STDDEV, STDDEV_POP, VARIANCE and VAR_POP are)"),
            );
        }
        use crate::ast::WindowAgg as A;
        let aggregate = match fname.as_str() {
            "count" => Some(A::Count),
            "sum" => Some(A::Sum),
            "avg" | "mean" => Some(A::Avg),
            "min" => Some(A::Min),
            "max" => Some(A::Max),
            "stddev" | "stddev_samp" | "std" => Some(A::StddevSamp),
            "stddev_pop" => Some(A::StddevPop),
            "variance" | "var_samp" => Some(A::VarSamp),
            "var_pop" => Some(A::VarPop),
            _ => None,
        };
        let Some(WindowType::WindowSpec(WindowSpec {
            window_name: None,
            partition_by,
            order_by,
            window_frame,
        })) = &f.over
        else {
            return p.err(*e, "named windows are not supported yet");
        };
        let framed = aggregate.is_some() || fname.ends_with("_value");
        let frame = match window_frame {
            None => None,
            Some(_) if !framed => {
                return p.err(
                    *e,
                    format!(
                        "{fname} takes no window frame (aggregates, FIRST_VALUE and LAST_VALUE do)"
                    ),
                )
            }
            Some(w) => Some(window_frame_of(p, e, w, order_by.len())?),
        };
        // `IGNORE NULLS` on FIRST_VALUE, LAST_VALUE, NTH_VALUE, LAG and LEAD.
        let skip_nulls = matches!(
            f.null_treatment,
            Some(sqlparser::ast::NullTreatment::IgnoreNulls)
        );
        if f.filter.is_some()
            || !f.within_group.is_empty()
            || (skip_nulls
                && !fname.ends_with("_value")
                && !["lag", "lead"].contains(&fname.as_str()))
            || f.parameters != FunctionArguments::None
        {
            return p.err(
                *e,
                format!("{fname} with FILTER, WITHIN GROUP or IGNORE NULLS is not supported yet"),
            );
        }
        if out.contains('`') {
            return p.err(*e, "give the window function an alias");
        }
        // COUNT(*) over a window counts its rows.
        let star = matches!(&f.args, FunctionArguments::List(l)
            if matches!(l.args.as_slice(), [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)]));
        let args: Vec<&Expr> = match &f.args {
            _ if star => Vec::new(),
            FunctionArguments::List(l)
                if l.duplicate_treatment.is_none() && l.clauses.is_empty() =>
            {
                l.args
                    .iter()
                    .map(|a| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Ok(x),
                        _ => p.err(*e, format!("{fname}'s arguments are expressions")),
                    })
                    .collect::<R<_>>()?
            }
            FunctionArguments::None => Vec::new(),
            _ => return p.err(*e, format!("{fname}'s arguments are not supported")),
        };
        if order_by.is_empty() && !framed {
            return p.err(*e, format!("{fname} needs an ORDER BY in its OVER clause"));
        }
        if star && fname != "count" {
            return p.err(*e, format!("{fname}(*) is not a window function"));
        }
        // A key's column: the SELECT item it names or is, else the expression set hidden.
        let mut column = |x: &Expr, what: &str| -> R<String> {
            if has_aggregate(x) && !tr.aggregating {
                return p.err(x, "aggregates in a window need GROUP BY or aggregate items");
            }
            if let Expr::Identifier(id) = x {
                if windows.iter().any(|(_, _, n)| *n == id.value) {
                    return p.err(
                        x,
                        "a window function cannot read another window function's result",
                    );
                }
            }
            let hidden = format!("{}w{i}{what}", crate::translate::PLACEHOLDER);
            // Over groups a SELECT item (by its expression or name) is a group's column;
            // over records the keys read the records' own columns.
            let item = items.iter().find(|(ie, n)| {
                ie.is_some_and(|ie| ie == x) || matches!(x, Expr::Identifier(id) if id.value == *n)
            });
            let text = match item {
                Some((_, n)) if tr.aggregating => name(n, 0, 0)?,
                // A name only an item gives (`bytes * 2 AS b2`), not also a column the item
                // reads (`bytes * 2 AS bytes` leaves `bytes` the record's), as Spark refuses.
                Some((Some(ie), n))
                    if matches!(x, Expr::Identifier(id) if id.value == *n)
                        && !matches!(ie, Expr::Identifier(i) if i.value == *n)
                        && {
                            let mut read = Vec::new();
                            columns(ie, tr, &mut read);
                            !read.contains(n)
                        } =>
                {
                    return p.err(
                        x,
                        format!("a window function cannot read the SELECT item {n}: write its expression"),
                    )
                }
                _ => tr.expr(x)?,
            };
            evals.push(format!("{text} as {}", name(&hidden, 0, 0)?));
            Ok(hidden)
        };
        let partition = partition_by
            .iter()
            .enumerate()
            .map(|(j, x)| column(x, &format!("p{j}")))
            .collect::<R<Vec<_>>>()?;
        let mut order = Vec::new();
        for (j, k) in order_by.iter().enumerate() {
            if k.with_fill.is_some() {
                return p.err(&k.expr, "WITH FILL is not supported");
            }
            let desc = match &k.options.sort {
                None | Some(OrderBySort::Asc) => false,
                Some(OrderBySort::Desc) => true,
                Some(OrderBySort::Using(_)) => {
                    return p.err(&k.expr, "ORDER BY … USING is not supported yet")
                }
            };
            // (Spark: rows without a value first ascending, last descending, by default.)
            let nulls_first = k.options.nulls_first.unwrap_or(!desc);
            order.push((column(&k.expr, &format!("o{j}"))?, desc, nulls_first));
        }
        let func = match (fname.as_str(), args.as_slice(), aggregate) {
            (_, [], Some(_)) if star => WindowFn::Agg {
                kind: crate::ast::WindowAgg::Count,
                field: None,
            },
            (_, [x], Some(kind)) => WindowFn::Agg {
                kind,
                field: Some(column(x, "v")?),
            },
            (_, _, Some(_)) => return p.err(*e, format!("wrong number of arguments to {fname}")),
            ("row_number", [], _) => WindowFn::RowNumber,
            ("rank", [], _) => WindowFn::Rank,
            ("dense_rank", [], _) => WindowFn::DenseRank,
            ("percent_rank", [], _) => WindowFn::PercentRank,
            ("cume_dist", [], _) => WindowFn::CumeDist,
            ("ntile", [b], _) => match ordinal(b) {
                Some(n) => WindowFn::Ntile(n),
                None => return p.err(*b, "NTILE takes a positive whole number of buckets"),
            },
            ("first_value" | "last_value", [x, rest @ ..], _) if rest.len() <= 1 => {
                // (Spark's second argument: ignore nulls, a literal true or false.)
                let ignore = match rest.first() {
                    None => false,
                    Some(Expr::Value(v)) if matches!(v.value, Value::Boolean(_)) => {
                        v.value == Value::Boolean(true)
                    }
                    Some(o) => {
                        return p.err(*o, format!("{fname}'s second argument is true or false"))
                    }
                };
                WindowFn::Value {
                    field: column(x, "v")?,
                    last: fname == "last_value",
                    nth: 1,
                    skip_nulls: skip_nulls || ignore,
                }
            }
            // `nth_value(x, n)`: the frame's n-th row's value (NULL past its end).
            ("nth_value", [x, k], _) => match ordinal(k) {
                Some(nth) => WindowFn::Value {
                    field: column(x, "v")?,
                    last: false,
                    nth,
                    skip_nulls,
                },
                None => return p.err(*k, "NTH_VALUE takes a positive whole number"),
            },
            ("lag" | "lead", [x, rest @ ..], _) if rest.len() <= 2 => {
                let offset = match rest.first() {
                    None => 1,
                    Some(o) => match ordinal(o) {
                        Some(n) => n,
                        None if matches!(o, Expr::Value(v) if v.value == Value::Number("0".into(), false)) => {
                            0
                        }
                        None => return p.err(*o, format!("{fname}'s offset is a whole number")),
                    },
                };
                let default = match rest.get(1) {
                    None => crate::value::Value::Null,
                    Some(d) => literal(d).ok_or_else(|| QueryError {
                        start: 0,
                        end: p.n,
                        message: format!("{fname}'s default is a number, a quoted string or NULL"),
                    })?,
                };
                WindowFn::Offset {
                    field: column(x, "v")?,
                    offset,
                    default,
                    lead: fname == "lead",
                    skip_nulls,
                }
            }
            _ => return p.err(*e, format!("wrong number of arguments to {fname}")),
        };
        cmds.push(Command::Rows(RowCmd::Window {
            func,
            partition,
            order,
            frame,
            out: out.clone(),
        }));
    }
    let mut keys = Vec::new();
    if !evals.is_empty() {
        keys.push(Piece {
            text: format!("fields {}", evals.join(", ")),
            eval: true,
            ready: None,
            start: 0,
            end: p.n,
        });
    }
    let runs = cmds.into_iter().map(|c| Piece::ready(c, p.n)).collect();
    Ok((keys, runs))
}

/// A window's `ROWS`/`RANGE` frame (`RANGE` bounds are `UNBOUNDED` or `CURRENT ROW`, as
/// offsets in order values are not supported yet; `GROUPS` neither).
fn window_frame_of(
    p: &Places,
    e: &Expr,
    w: &sqlparser::ast::WindowFrame,
    order_keys: usize,
) -> R<crate::ast::Frame> {
    let unordered = order_keys == 0;
    use crate::ast::FrameBound as B;
    use crate::ast::FrameUnits as U;
    use sqlparser::ast::{WindowFrameBound, WindowFrameUnits};
    let units = match w.units {
        WindowFrameUnits::Rows => U::Rows,
        WindowFrameUnits::Range => U::Range,
        WindowFrameUnits::Groups => U::Groups,
    };
    let rows = units == U::Rows;
    let bound = |b: &WindowFrameBound| -> R<B> {
        let offset = |x: &Expr| -> R<f64> {
            // RANGE: any number, or a fixed interval over a time's milliseconds.
            let n = match x {
                Expr::Value(v) => match &v.value {
                    Value::Number(n, _) => n.parse::<f64>().ok().filter(|d| {
                        d.is_finite()
                            && *d >= 0.0
                            && (units == U::Range || (d.fract() == 0.0 && *d < 1e15))
                    }),
                    _ => None,
                },
                Expr::Interval(iv) if units == U::Range => {
                    interval_millis(iv).filter(|d| d.is_finite() && *d >= 0.0)
                }
                _ => None,
            };
            match n {
                Some(_) if units == U::Range && order_keys != 1 => p.err(
                    x,
                    "a RANGE frame with offsets needs exactly one ORDER BY value (a number or a time)",
                ),
                Some(n) => Ok(n),
                None if units == U::Range => p.err(
                    x,
                    "a RANGE frame's offset is a non-negative number, or an INTERVAL of days, hours, minutes, seconds (not months or years) over a time",
                ),
                None => p.err(x, "a frame's offset is a whole number"),
            }
        };
        Ok(match b {
            WindowFrameBound::CurrentRow => B::Current,
            WindowFrameBound::Preceding(None) | WindowFrameBound::Following(None) => B::Unbounded,
            WindowFrameBound::Preceding(Some(x)) => B::Preceding(offset(x)?),
            WindowFrameBound::Following(Some(x)) => B::Following(offset(x)?),
        })
    };
    // (UNBOUNDED FOLLOWING cannot start a frame, nor UNBOUNDED PRECEDING end one.)
    if matches!(w.start_bound, WindowFrameBound::Following(None))
        || matches!(w.end_bound, Some(WindowFrameBound::Preceding(None)))
    {
        return p.err(
            e,
            "a frame starts before it ends: UNBOUNDED PRECEDING starts, UNBOUNDED FOLLOWING ends",
        );
    }
    let start = bound(&w.start_bound)?;
    let end = match &w.end_bound {
        Some(b) => bound(b)?,
        None => B::Current,
    };
    let inverted = match (start, end) {
        (B::Preceding(a), B::Preceding(b)) => a < b,
        (B::Following(a), B::Following(b)) => a > b,
        _ => false,
    };
    if start.place(false) > end.place(true) || inverted {
        return p.err(e, "a window frame cannot start after it ends");
    }
    if !rows && unordered && (start != B::Unbounded || end != B::Unbounded) {
        let what = if units == U::Groups {
            "GROUPS"
        } else {
            "RANGE"
        };
        return p.err(
            e,
            format!("a {what} frame with CURRENT ROW or offsets needs an ORDER BY"),
        );
    }
    if units == U::Groups && unordered {
        return p.err(e, "a GROUPS frame needs an ORDER BY");
    }
    Ok(crate::ast::Frame { units, start, end })
}

/// A SELECT whose `OVER name` calls take the specifications its `WINDOW` clause names (one
/// name may stand for another).
fn named_windows(p: &Places, s: &sqlparser::ast::Select) -> R<sqlparser::ast::Select> {
    use sqlparser::ast::{NamedWindowExpr, WindowType};
    let spec = |name: &sqlparser::ast::Ident| -> R<sqlparser::ast::WindowSpec> {
        let mut at = name.clone();
        for _ in 0..=s.named_window.len() {
            let Some(def) = s
                .named_window
                .iter()
                .find(|d| d.0.value.eq_ignore_ascii_case(&at.value))
            else {
                return p.err(s, format!("no window is named {}", name.value));
            };
            match &def.1 {
                NamedWindowExpr::WindowSpec(w) => return Ok(w.clone()),
                NamedWindowExpr::NamedWindow(next) => at = next.clone(),
            }
        }
        p.err(s, "the named windows refer to each other in a circle")
    };
    let mut out = s.clone();
    out.named_window.clear();
    for item in &mut out.projection {
        let (SelectItem::UnnamedExpr(Expr::Function(f))
        | SelectItem::ExprWithAlias {
            expr: Expr::Function(f),
            ..
        }) = item
        else {
            continue;
        };
        if let Some(WindowType::NamedWindow(name)) = &f.over {
            f.over = Some(WindowType::WindowSpec(spec(name)?));
        }
    }
    Ok(out)
}

/// The (inner column, outer column) pairs of a correlation, and the rest of the WHERE.
type Correlation = (Vec<(Expr, Expr)>, Option<Expr>);

/// A subquery's correlation by equalities, each between a column qualified by its table's alias
/// (`inner`) and one qualified by the outer query's (`outer`), among its WHERE's `AND` parts:
/// the (inner column, outer column) pairs, and the WHERE of the other parts.
fn correlation(sel: &sqlparser::ast::Select, inner: &str, outer: &str) -> Option<Correlation> {
    let mut conjuncts = Vec::new();
    if let Some(w) = &sel.selection {
        and_parts(w, &mut conjuncts);
    }
    let qualified = |x: &Expr, a: &str| matches!(x, Expr::CompoundIdentifier(parts) if parts.len() == 2 && parts[0].value.eq_ignore_ascii_case(a));
    let mut keys = Vec::new();
    let mut rest = Vec::new();
    for c in conjuncts {
        let pair = match c {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => {
                if qualified(left, inner) && qualified(right, outer) {
                    Some(((**left).clone(), (**right).clone()))
                } else if qualified(right, inner) && qualified(left, outer) {
                    Some(((**right).clone(), (**left).clone()))
                } else {
                    None
                }
            }
            _ => None,
        };
        match pair {
            Some(kv) => keys.push(kv),
            None => rest.push(c.clone()),
        }
    }
    if keys.is_empty() {
        return None;
    }
    let rest = rest.into_iter().reduce(|a, b| Expr::BinaryOp {
        left: Box::new(a),
        op: BinaryOperator::And,
        right: Box::new(b),
    });
    Some((keys, rest))
}

/// One expression parsed as Spark SQL (a fixed text of the translation's own).
fn parse_expr(text: &str) -> Result<Expr, String> {
    Parser::new(&DatabricksDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| e.to_string())
}

/// The operands of an `AND` chain (parentheses looked through).
fn and_parts<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            and_parts(left, out);
            and_parts(right, out);
        }
        Expr::Nested(x) => and_parts(x, out),
        x => out.push(x),
    }
}

/// A literal's value: a number (signed), a quoted string or NULL.
fn literal(e: &Expr) -> Option<crate::value::Value> {
    use crate::value::Value as V;
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok().map(V::Num),
            Value::SingleQuotedString(t) | Value::DoubleQuotedString(t) => Some(V::Str(t.clone())),
            Value::Null => Some(V::Null),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match literal(expr)? {
            V::Num(x) => Some(V::Num(-x)),
            _ => None,
        },
        _ => None,
    }
}

/// `LIMIT k [OFFSET m]` of `q`: the pieces keeping its rows k + m and skipping m.
fn limit_pieces(p: &Places, q: &sqlparser::ast::Query) -> R<Vec<Piece>> {
    let mut pieces = Vec::new();
    match &q.limit_clause {
        None => {}
        Some(LimitClause::LimitOffset {
            limit: Some(l),
            offset,
            limit_by,
        }) if limit_by.is_empty() => {
            let whole_number = |e: &Expr| match e {
                Expr::Value(v) => match &v.value {
                    Value::Number(x, _) => x.parse::<usize>().ok(),
                    _ => None,
                },
                _ => None,
            };
            let Some(k) = whole_number(l).filter(|n| *n > 0) else {
                return p.err(l, "LIMIT takes a positive whole number");
            };
            // `LIMIT k OFFSET m` (OFFSET only with a LIMIT, as AWS has it): the first k + m
            // rows, less the first m.
            let skip = match offset {
                None => 0,
                Some(o) => {
                    let Some(m) = whole_number(&o.value) else {
                        return p.err(&o.value, "OFFSET takes a whole number");
                    };
                    m
                }
            };
            let Some(upto) = k.checked_add(skip) else {
                return p.err(l, "LIMIT plus OFFSET is too large");
            };
            pieces.push(crate::translate::limit_piece(upto, 0, p.n));
            if skip > 0 {
                pieces.push(Piece::ready(crate::ast::Command::Skip(skip), p.n));
            }
        }
        Some(other) => {
            return Err(QueryError {
                start: 0,
                end: p.n,
                message: format!(
                    "{other} is not supported yet (OFFSET without LIMIT, LIMIT BY, LIMIT m, n)"
                ),
            })
        }
    }
    Ok(pieces)
}

/// `SELECT … UNION [ALL] SELECT …` (any number, all UNION or all UNION ALL), then its
/// `ORDER BY` (the columns by name or place) and `LIMIT`: the first SELECT is the query, each
/// other runs first as a subquery whose rows follow its rows, named as its columns in their
/// places; `UNION` then drops repeated rows.
fn union_query(p: &Places, q: &sqlparser::ast::Query) -> R<Query> {
    use sqlparser::ast::{SetOperator, SetQuantifier};
    if q.with.is_some() || q.fetch.is_some() || !q.pipe_operators.is_empty() {
        return p.err(q, "this query form is not supported yet");
    }
    // The chain, walked down its left side in a loop (it is as deep as it is long): UNION,
    // INTERSECT and EXCEPT over SELECTs, at most MAX_SET_SELECTS of them.
    let mut branches: Vec<&SetExpr> = Vec::new();
    let mut kinds: Vec<(SetOperator, SetQuantifier)> = Vec::new();
    let mut at = q.body.as_ref();
    loop {
        match at {
            SetExpr::SetOperation {
                op:
                    op @ (SetOperator::Union
                    | SetOperator::Intersect
                    | SetOperator::Except
                    | SetOperator::Minus),
                set_quantifier,
                left,
                right,
            } => {
                if branches.len() >= MAX_SET_SELECTS {
                    return Err(QueryError {
                        start: 0,
                        end: p.n,
                        message: format!(
                            "a query joins at most {MAX_SET_SELECTS} SELECTs with UNION, INTERSECT or EXCEPT"
                        ),
                    });
                }
                if !matches!(right.as_ref(), SetExpr::Select(_)) {
                    return p.err(
                        right.as_ref(),
                        "the right side of a set operation is one SELECT",
                    );
                }
                branches.push(right.as_ref());
                kinds.push((*op, *set_quantifier));
                at = left.as_ref();
            }
            SetExpr::Select(_) => {
                branches.push(at);
                break;
            }
            _ => return p.err(at, "each side of a set operation is one SELECT"),
        }
    }
    branches.reverse();
    kinds.reverse();
    // (Spark's SORT BY, CLUSTER BY and DISTRIBUTE BY would apply to the last SELECT alone here.)
    for b in &branches {
        if let SetExpr::Select(s) = b {
            if !s.sort_by.is_empty() || !s.cluster_by.is_empty() || !s.distribute_by.is_empty() {
                return p.err(
                    *b,
                    "SORT BY, CLUSTER BY and DISTRIBUTE BY with UNION, INTERSECT or EXCEPT are not supported yet: use ORDER BY",
                );
            }
        }
    }
    // Either every operation is UNION ALL, or every one keeps distinct rows (UNION, INTERSECT,
    // EXCEPT): then the rows are made distinct once, at the end.
    let all = match kinds.as_slice() {
        [(_, SetQuantifier::All), ..] => true,
        [(_, SetQuantifier::None | SetQuantifier::Distinct), ..] => false,
        _ => {
            return p.err(
                q.body.as_ref(),
                "this set operation form is not supported yet",
            )
        }
    };
    let ok = kinds.iter().all(|(_, k)| {
        if all {
            matches!(k, SetQuantifier::All)
        } else {
            matches!(k, SetQuantifier::None | SetQuantifier::Distinct)
        }
    });
    if !ok {
        return p.err(
            q.body.as_ref(),
            "mixing set operations with and without ALL is not supported yet",
        );
    }
    let ops: Vec<SetOperator> = kinds.iter().map(|(op, _)| *op).collect();
    // Each SELECT as a query of its own (the chain's ORDER BY and LIMIT are the result's).
    let branch = |b: &SetExpr| sqlparser::ast::Query {
        with: None,
        body: Box::new(b.clone()),
        order_by: None,
        limit_clause: None,
        fetch: None,
        locks: Vec::new(),
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators: Vec::new(),
    };
    let main = select_parts(p, &branch(branches[0]), false)?;
    if !main.scalars.is_empty() || !main.correlated.is_empty() {
        return p.err(
            branches[0],
            "a scalar subquery in a set operation is not supported yet",
        );
    }
    if main.star {
        return p.err(
            branches[0],
            "SELECT * in a UNION is not supported yet: name the columns",
        );
    }
    let mut pieces = main.pieces;
    let mut unions = Vec::new();
    for b in &branches[1..] {
        // (Its subqueries are refused just below, with a message saying why.)
        let parts = select_parts(p, &branch(b), false)?;
        if parts.star || parts.shown.len() != main.shown.len() {
            return p.err(
                *b,
                "each SELECT of a UNION has the same number of columns (no *)",
            );
        }
        if !parts.subs.is_empty() || !parts.scalars.is_empty() || !parts.correlated.is_empty() {
            return p.err(
                *b,
                "a subquery in a later SELECT of a set operation is not supported yet",
            );
        }
        let shown = parts.shown.clone();
        let later = finish(p, parts.pieces, Vec::new(), parts.groups)?;
        if later.join.is_some() {
            return p.err(
                *b,
                "a JOIN in a later SELECT of a set operation is not supported yet",
            );
        }
        unions.push((later, shown));
    }
    for (k, (_, from)) in unions.iter().enumerate() {
        pieces.push(Piece::ready(
            crate::ast::Command::Rows(crate::ast::RowCmd::UnionRows {
                sub: main.subs.len() + k,
                keep: match ops[k] {
                    SetOperator::Intersect => Some(true),
                    SetOperator::Except | SetOperator::Minus => Some(false),
                    _ => None,
                },
                all,
                from: from.clone(),
                to: main.shown.clone(),
                rows: None,
            }),
            p.n,
        ));
    }
    let names = main
        .shown
        .iter()
        .map(|c| name(c, 0, 0))
        .collect::<R<Vec<_>>>()?;
    let piece = |text: String| Piece {
        text,
        eval: false,
        ready: None,
        start: 0,
        end: p.n,
    };
    // ORDER BY the union's columns: by name or place.
    if let Some(o) = &q.order_by {
        let OrderByKind::Expressions(list) = &o.kind else {
            return p.err(o, "ORDER BY ALL is not supported yet");
        };
        let mut keys = Vec::new();
        for k in list {
            if k.with_fill.is_some() {
                return p.err(&k.expr, "WITH FILL is not supported yet");
            }
            let at = match &k.expr {
                Expr::Identifier(i) => main.shown.iter().position(|c| *c == i.value),
                e => ordinal(e)
                    .and_then(|n| n.checked_sub(1))
                    .filter(|&n| n < names.len()),
            };
            let Some(at) = at else {
                // (The whole query is the place: a deep expression's span recurses it.)
                return Err(QueryError {
                    start: 0,
                    end: p.n,
                    message:
                        "a set operation's ORDER BY names one of its columns, by name or place"
                            .into(),
                });
            };
            let dir = match &k.options.sort {
                Some(OrderBySort::Desc) => "desc",
                _ => "asc",
            };
            // (Missing values last either way, unless NULLS FIRST.)
            if k.options.nulls_first == Some(true) {
                keys.push(format!("ispresent({}) asc", names[at]));
            }
            keys.push(format!("{} {dir}", names[at]));
        }
        pieces.push(piece(format!("sort {}", keys.join(", "))));
    }
    if !all {
        pieces.push(Piece::ready(
            crate::ast::Command::Rows(crate::ast::RowCmd::Distinct(main.shown.clone())),
            p.n,
        ));
    }
    pieces.extend(limit_pieces(p, q)?);
    let mut query = finish(p, pieces, main.subs, main.groups)?;
    for (sub, _) in unions {
        query.subs.push(crate::SubQuery {
            source: sub.source.clone(),
            query: sub,
            field: String::new(),
            append: None,
            eventstats: false,
            union: true,
            tuple: false,
            into: None,
            scalar: None,
        });
    }
    Ok(query)
}

/// `ORDER BY` (or Spark's `SORT BY`, or `CLUSTER BY`'s keys): keys by a SELECT item's name
/// when they are one, or by their expression.
fn order_by(
    tr: &mut Tr<'_>,
    q: &sqlparser::ast::Query,
    s: &sqlparser::ast::Select,
    items: &[(Option<&Expr>, String)],
) -> R<Option<String>> {
    let p = tr.places;
    // Spark's `CLUSTER BY x`: `DISTRIBUTE BY x SORT BY x`. One partition here: DISTRIBUTE BY
    // changes nothing, and the sort is over all rows.
    if !s.cluster_by.is_empty()
        && (!s.sort_by.is_empty() || !s.distribute_by.is_empty() || q.order_by.is_some())
    {
        return p.err(
            &s.cluster_by[0],
            "CLUSTER BY goes without ORDER BY, SORT BY or DISTRIBUTE BY",
        );
    }
    let clustered: Vec<sqlparser::ast::OrderByExpr> = s
        .cluster_by
        .iter()
        .map(|x| sqlparser::ast::OrderByExpr {
            expr: x.clone(),
            options: sqlparser::ast::OrderByOptions {
                sort: None,
                nulls_first: None,
            },
            with_fill: None,
        })
        .collect();
    let mut keys: Vec<&sqlparser::ast::OrderByExpr> =
        s.sort_by.iter().chain(clustered.iter()).collect();
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
        if k.with_fill.is_some() {
            return p.err(&k.expr, "WITH FILL is not supported yet");
        }
        // Missing values sort last in either direction; NULLS FIRST puts them first.
        let nulls_first = k.options.nulls_first == Some(true);
        if let Some(at) = ordinal(&k.expr) {
            let Some((_, n)) = items.get(at.wrapping_sub(1)).filter(|(e, _)| e.is_some()) else {
                return p.err(&k.expr, format!("ORDER BY {at} names no SELECT item"));
            };
            let dir = match &k.options.sort {
                Some(OrderBySort::Desc) => "desc",
                _ => "asc",
            };
            let x = name(n, 0, 0)?;
            if nulls_first {
                out.push(format!("ispresent({x}) asc"));
            }
            out.push(format!("{x} {dir}"));
            continue;
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
        if nulls_first {
            out.push(format!("ispresent({x}) asc"));
        }
        out.push(format!("{x} {dir}"));
    }
    Ok(Some(format!("sort {}", out.join(", "))))
}
