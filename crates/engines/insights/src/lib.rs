//! CloudWatch Logs Insights query language (`queryLanguage=CWLI`): parser → plan → executor.
//!
//! A [`Query`] is parsed and planned once; each run is an [`Execution`] fed with
//! [`Record`]s in any order. Executions over disjoint blocks can be [`Execution::merge`]d;
//! the final rows do not depend on scan order or on how the input was split.
//!
//! `pattern` clusters with a fixed, documented rule instead of AWS's machine learning (see the
//! `pattern` module); `diff` needs the records of a second period too, which
//! [`Query::scan_ranges`] names. `filterIndex` filters like `filter` (there are no field
//! indexes to skip with) and `unmask()` returns its argument (nothing is masked).

mod agg;
mod ast;
mod bytes;
mod captures;
mod cidr;
mod codec;
mod columnar;
mod datetime;
mod discover;
mod eval;
mod exec;
mod expr;
mod fieldscan;
mod functions;
pub mod fuzzing;
mod grok;
mod javadate;
mod lexer;
mod parser;
mod pattern;
mod ppl;
mod prefilter;
mod relevant;
mod rowcmds;
mod rowparse;
mod servicelogs;
mod source;
mod sql;
mod textparse;
mod translate;
mod value;

pub use columnar::{Block, Column, EntryIds};
pub use discover::{discover_fields, message_fields, MAX_DISCOVERED_FIELDS};
pub use fieldscan::FieldScanner;
pub use source::{Source, TimeBound, MAX_PREFIXES, MAX_SOURCE_GROUPS};

use exec::{Collector, Evaluator, Groups, Held, Plan};
use std::sync::Arc;

/// A compile error; offsets are char offsets into the query text (AWS `queryCompileError.location`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub start: usize,
    pub end: usize,
    pub message: String,
}

/// The first `{{name}}` query-parameter placeholder of a query (char offsets, `[start, end)`),
/// `name` as PutQueryDefinition's parameter names: a letter or `_`, then letters, digits, `_`.
/// AWS substitutes such placeholders from a saved query's parameters; a query that still holds
/// one is refused rather than run with the braces as text. Comment lines (`#` first) are skipped.
fn parameter_placeholder(text: &str) -> Option<(usize, usize, &str)> {
    let mut from = 0;
    while let Some(i) = text[from..].find("{{") {
        let open = from + i;
        let line = text[..open].rfind('\n').map_or(0, |n| n + 1);
        if text[line..open].trim_start().starts_with('#') {
            from = open + 2;
            continue;
        }
        let rest = &text[open + 2..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..len];
        if rest[len..].starts_with("}}")
            && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        {
            let start = text[..open].chars().count();
            return Some((start, start + name.len() + 4, name));
        }
        from = open + 1;
    }
    None
}

/// A parsed and planned query.
#[derive(Debug, Clone)]
pub struct Query {
    plan: Arc<Plan>,
    source: Option<Source>,
    subs: Vec<SubQuery>,
    join: Option<JoinSide>,
    /// The most rows an execution holds when no row bound applies (row commands over every
    /// matching record: windows, `expand`, …); past it the execution is [`Execution::overflowed`].
    max_held: usize,
}

/// A subquery (`filter <field> in (SOURCE '<group>' | … | fields <field>)`): run it over its
/// source (the outer query's log groups when it has none) and the same time range, then hand
/// its rows to [`Query::attach_subquery`]. Subqueries are not correlated; a nested one is
/// listed with the query's own ([`SubQuery::into`]).
#[derive(Debug, Clone)]
pub struct SubQuery {
    pub source: Option<Source>,
    pub query: Query,
    /// The field whose values the outer filter compares (the subquery selects it; empty for
    /// an `appendcols` subquery).
    pub field: String,
    /// For an `appendcols` subquery: the most rows it adds (AWS's `max=`). Its rows are cut
    /// there instead of failing the query.
    pub append: Option<usize>,
    /// PPL's `eventstats`: the subquery's rows (one per group) feed the `lookup` that gives
    /// each row its group's aggregates.
    pub eventstats: bool,
    /// SQL's `UNION`: the subquery's rows follow the query's (all of them are needed).
    pub union: bool,
    /// SQL's scalar subquery `(SELECT …)` number j: its one value (of `field`) takes the
    /// place of the query's `ppl_scalar(j)` calls; more than one row fails the query.
    pub scalar: Option<usize>,
    /// `(a, b, …) in (subquery)` (PPL's and SQL's): the outer filter compares its fields'
    /// values together with the subquery's fields, in order (`field` is empty).
    pub tuple: bool,
    /// A subquery of subquery `p`'s query (its `k`th there: `Some((p, k))`), run before it and
    /// attached to it; `None` for the query's own. Nested subqueries are listed after the
    /// query's own ([`Query::subquery_order`] runs them first).
    pub into: Option<(usize, usize)>,
}

/// Lifts the subqueries of subqueries, at any depth, into `subs` (the query's own list), each
/// marked with the subquery it belongs to ([`SubQuery::into`]); one without log groups of its
/// own reads those of the subquery it is in.
pub(crate) fn flatten_subqueries(subs: &mut Vec<SubQuery>) {
    let mut k = 0;
    while k < subs.len() {
        let children = std::mem::take(&mut subs[k].query.subs);
        let base = subs.len();
        for (slot, mut c) in children.into_iter().enumerate() {
            c.into = Some(match c.into {
                None => (k, slot),
                Some((p, j)) => (base + p, j),
            });
            subs.push(c);
        }
        k += 1;
    }
    // (A subquery comes after the one it is in.)
    for i in 0..subs.len() {
        if let (None, Some((p, _))) = (&subs[i].source, subs[i].into) {
            subs[i].source = subs[p].source.clone();
        }
    }
}

impl SubQuery {
    /// True when the subquery ends in its own `limit`: its rows are exactly what it asked for.
    pub fn has_limit(&self) -> bool {
        self.query.plan.has_limit
    }
}

/// The right side of a `join`: the records of its source over the same time range, as
/// [`JoinSide::query`] selects them; hand that query's rows to [`Query::attach_join`].
#[derive(Debug, Clone)]
pub struct JoinSide {
    pub source: Source,
    /// The right alias and key field.
    pub(crate) right: String,
    pub(crate) key: String,
    /// The query over the right side's records (set once the outer plan is known).
    pub(crate) query: Option<Box<Query>>,
}

impl JoinSide {
    /// The query to run over the right side's records: those with the key, with the fields
    /// the outer query reads (every field when it shows every field).
    pub fn query(&self) -> &Query {
        self.query.as_deref().expect("set by parse")
    }
}

/// Why the rows of a subquery or a join's right side could not be attached.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AttachError {
    #[error("the query is already running")]
    Running,
    #[error("the right side of the join has more than {max} distinct values of {key}")]
    TooManyKeys { key: String, max: usize },
    #[error("more than one row returned by a subquery used as an expression")]
    ScalarRows,
}

/// Parse and plan a Logs Insights query. A leading `SOURCE logGroups(...)` is taken off and
/// exposed by [`Query::source`]; SOURCE anywhere else is an error (but inside a subquery or
/// a join).
/// Every discovered field of `message` with its value as queries read it (JSON discovery's
/// flattened names, in discovery order); none for a message that is not a JSON object.
pub fn discovered_fields(message: &str, emit: &mut dyn FnMut(&str, &str)) {
    thread_local! {
        static SCANNER: std::cell::RefCell<fieldscan::FieldScanner> = Default::default();
    }
    SCANNER.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => s.extract_all(message, emit),
        // Called again from inside `emit`: a scanner of its own.
        Err(_) => fieldscan::FieldScanner::default().extract_all(message, emit),
    });
}

/// [`discovered_fields`] by a full parse of the message: the reference the fast scanner is
/// checked against (tests and fuzzing).
pub fn discovered_fields_by_full_parse(message: &str, emit: &mut dyn FnMut(&str, &str)) {
    discover::flatten_message(message, &mut |k, v| {
        if let value::Value::Str(s) = v {
            emit(&k, &s);
        }
    });
}

pub use ppl::parse_ppl;
pub use sql::parse_sql;

pub fn parse(text: &str) -> Result<Query, QueryError> {
    if let Some((start, end, name)) = parameter_placeholder(text) {
        return Err(QueryError {
            start,
            end,
            message: format!(
                "The query parameter placeholder {{{{{name}}}}} is not supported in StartQuery yet: \
                 parameters belong to saved query definitions, and running them with values is not built."
            ),
        });
    }
    let (source, offset) = match source::split(text)? {
        Some((s, offset)) => (Some(s), offset),
        None => (None, 0),
    };
    let rest: String = text.chars().skip(offset).collect();
    let (cmds, subs, mut join) = parser::parse_query(&rest, false).map_err(|e| QueryError {
        start: e.start + offset,
        end: e.end + offset,
        message: e.message,
    })?;
    let plan = exec::build_plan(cmds, None);
    if let Some(j) = join.as_mut() {
        j.query = Some(Box::new(Query {
            plan: Arc::new(exec::join_right_plan(&plan, &j.right, &j.key)),
            source: None,
            subs: Vec::new(),
            join: None,
            max_held: usize::MAX,
        }));
    }
    Ok(Query {
        plan: Arc::new(plan),
        source,
        subs,
        join,
        max_held: usize::MAX,
    })
}

impl Query {
    /// A query of translated commands (PPL, SQL), with its join's right side when it has one.
    pub(crate) fn from_commands(cmds: Vec<ast::Command>, join: Option<JoinSide>) -> Query {
        let plan = exec::build_plan(cmds, None);
        let join = join.map(|mut j| {
            j.query = Some(Box::new(Query {
                plan: Arc::new(exec::join_right_plan(&plan, &j.right, &j.key)),
                source: None,
                subs: Vec::new(),
                join: None,
                max_held: usize::MAX,
            }));
            j
        });
        Query {
            plan: Arc::new(plan),
            source: None,
            subs: Vec::new(),
            join,
            max_held: usize::MAX,
        }
    }

    /// Sets the most rows its executions (and those of its subqueries and join side) hold
    /// when no row bound applies; past it they stop holding rows and report
    /// [`Execution::overflowed`].
    pub fn hold_at_most(&mut self, n: usize) {
        self.max_held = n;
        for s in &mut self.subs {
            s.query.hold_at_most(n);
        }
        if let Some(q) = self.join.as_mut().and_then(|j| j.query.as_mut()) {
            q.hold_at_most(n);
        }
    }
}

/// The text inside a subquery's or join's parentheses: its SOURCE, and its query when it has
/// commands. Offsets of errors are into `text`.
pub(crate) fn parse_nested(text: &str) -> Result<(Option<Source>, Option<Query>), QueryError> {
    let (source, offset) = match source::split_in(text, true)? {
        Some((s, offset)) => (Some(s), offset),
        None => (None, 0),
    };
    let rest: String = text.chars().skip(offset).collect();
    if lexer::lex(&rest)?.len() <= 1 {
        return Ok((source, None));
    }
    let (cmds, _, _) = parser::parse_query(&rest, true).map_err(|e| QueryError {
        start: e.start + offset,
        end: e.end + offset,
        message: e.message,
    })?;
    let query = Query {
        plan: Arc::new(exec::build_plan(cmds, None)),
        source: None,
        subs: Vec::new(),
        join: None,
        max_held: usize::MAX,
    };
    Ok((source, Some(query)))
}

/// A lookup table as `lookup` reads it: the header row and the records.
pub type TableRows = (Vec<String>, Vec<Vec<String>>);

/// Why a query's lookup tables could not be attached.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LookupError {
    #[error("the lookup table {0} does not exist")]
    NoTable(String),
    #[error("the lookup table {table} has no column {column}")]
    NoColumn { table: String, column: String },
    #[error("the query is already running")]
    Running,
}

/// One log event as the store hands it over.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Event time, epoch milliseconds.
    pub timestamp: i64,
    pub ingestion_time: i64,
    pub message: &'a str,
    pub log_stream: &'a str,
    /// `<account>:<group>`.
    pub log: &'a str,
    pub ptr: &'a str,
    /// The store marked the message a flat JSON object (`nephoscope_logstore::flat`): its
    /// fields are found by searching for their keys ([`FieldScanner::extract_marked`]).
    /// `false` when unknown.
    pub flat: bool,
}

/// Per-run parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryContext {
    /// Inclusive time range (epoch ms); records outside it are ignored.
    pub start_ms: i64,
    pub end_ms: i64,
    /// Query start time (for `now()`).
    pub now_ms: i64,
    /// StartQuery `limit`; applies when the query has no `limit` command.
    pub limit: usize,
}

/// Query statistics as GetQueryResults reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    pub records_scanned: f64,
    pub records_matched: f64,
    pub bytes_scanned: f64,
}

enum State {
    Groups(Groups),
    Rows(Vec<Held>),
    Patterns(pattern::Patterns),
    Relevant(relevant::Relevance),
}

/// Per-query execution state.
pub struct Execution {
    plan: Arc<Plan>,
    ctx: QueryContext,
    env: functions::Env,
    stats: Stats,
    state: State,
    /// Row bound for the row collector (explicit `limit` or the final cap).
    bound: Option<usize>,
    /// `diff`'s comparison period (inclusive, epoch ms).
    previous: Option<(i64, i64)>,
    /// Reused per record: the row, the JSON field scanner, a text buffer.
    scratch: exec::Row,
    scanner: fieldscan::FieldScanner,
    tmp: String,
    /// With a row bound: the last kept row's order key after the latest compaction. A record
    /// ordered after it can never be among the results, so it is not held.
    worst: Option<(Vec<value::Value>, i64, String)>,
    /// A necessary condition on the raw message, tested before a row is built.
    prefilter: Option<prefilter::Prefilter>,
    /// [`Query::hold_at_most`]'s bound, and whether a row was refused past it.
    max_held: usize,
    overflowed: bool,
    /// State for feeding whole blocks of column values (see [`Execution::push_block`]).
    columnar: Option<Box<columnar::Columnar>>,
    /// Columns built from messages ([`Execution::push_messages`]).
    built: Box<columnar::MessageColumns>,
    /// A `stats` run starting with `parse @message`: the discovered fields it assigns are only
    /// looked for when it leaves them unset (see [`Deferred`]).
    deferred: Option<Box<Deferred>>,
}

/// For a `stats` run whose first command is `parse @message` with a pattern: the wanted names
/// the parse assigns (no dots, no other wanted name under them), and the other wanted names.
/// The parse's value replaces a discovered field of the same name, so such a field is only
/// looked for in the message when the parse did not set it; rows then hold the same values
/// (a field found later sits later in the row, which `stats` never sees).
struct Deferred {
    names: Vec<String>,
    rest: Vec<String>,
}

impl Deferred {
    fn of(plan: &Plan) -> Option<Deferred> {
        let (Collector::Stats(_), true, false) = (&plan.collector, plan.single_row, plan.full_rows)
        else {
            return None;
        };
        let Some(ast::Command::Parse {
            field: ast::Expr::Field(f),
            mode: mode @ (ast::ParseMode::Regex(_) | ast::ParseMode::Glob(..)),
        }) = plan.prefix.first()
        else {
            return None;
        };
        if f != "@message" {
            return None;
        }
        let assigned = mode.names();
        let names: Vec<String> = plan
            .wanted
            .iter()
            .filter(|w| {
                assigned.contains(&w.as_str())
                    && !w.contains('.')
                    && !plan.wanted.iter().any(|o| {
                        o.len() > w.len()
                            && o.starts_with(w.as_str())
                            && o.as_bytes()[w.len()] == b'.'
                    })
            })
            .cloned()
            .collect();
        if names.is_empty() {
            return None;
        }
        let rest = plan
            .wanted
            .iter()
            .filter(|w| !names.contains(w))
            .cloned()
            .collect();
        Some(Deferred { names, rest })
    }
}

/// The lookup table `name` (its header row and records), or the error of a missing one.
fn table_of(
    name: &str,
    resolve: &dyn Fn(&str) -> Option<TableRows>,
) -> Result<TableRows, LookupError> {
    resolve(name).ok_or_else(|| LookupError::NoTable(name.to_string()))
}

/// Where `column` is in `table`'s header row.
fn column_of(header: &[String], table: &str, column: &str) -> Result<usize, LookupError> {
    header
        .iter()
        .position(|h| h == column)
        .ok_or_else(|| LookupError::NoColumn {
            table: table.to_string(),
            column: column.to_string(),
        })
}

/// Gives a `cidrlookup` its table's ranges (see [`ast::CidrLookupCmd`]).
fn attach_cidr(
    l: &mut ast::CidrLookupCmd,
    resolve: &dyn Fn(&str) -> Option<TableRows>,
) -> Result<(), LookupError> {
    let (header, records) = table_of(&l.table, resolve)?;
    let column = |name: &str| column_of(&header, &l.table, name);
    let ranges = match &l.cidr_column {
        Some(c) => column(c)?,
        None => header.iter().position(|h| h == "cidr").unwrap_or(0),
    };
    let outputs: Vec<usize> = l
        .outputs
        .iter()
        .map(|(c, _)| column(c))
        .collect::<Result<_, _>>()?;
    let table = cidr::CidrTable::build(records.iter().map(|rec| {
        let cell = |i: usize| rec.get(i).cloned().unwrap_or_default();
        (
            rec.get(ranges).map_or("", String::as_str),
            outputs.iter().map(|&i| cell(i)).collect(),
        )
    }));
    l.data = Some(Arc::new(table));
    Ok(())
}

impl Query {
    /// Start a run of this query.
    /// The log groups a leading `SOURCE` selects, if the query has one.
    /// The lookup tables the query's `lookup` commands name, each once.
    /// Subqueries' tables are included.
    pub fn lookup_tables(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self.plan.prefix.iter().chain(&self.plan.tail) {
            let table = match c {
                ast::Command::Lookup(l) => &l.table,
                ast::Command::CidrLookup(l) => &l.table,
                _ => continue,
            };
            if !out.contains(table) {
                out.push(table.clone());
            }
        }
        for sq in &self.subs {
            for t in sq.query.lookup_tables() {
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        out
    }

    /// Gives every `lookup` command its table: `resolve(name)` answers the header row and the
    /// records. Call before [`Query::start`]; a query with `lookup` does nothing for rows until
    /// its tables are attached.
    pub fn attach_lookups(
        &mut self,
        resolve: &dyn Fn(&str) -> Option<TableRows>,
    ) -> Result<(), LookupError> {
        for sq in &mut self.subs {
            sq.query.attach_lookups(resolve)?;
        }
        let plan = Arc::get_mut(&mut self.plan).ok_or(LookupError::Running)?;
        for c in plan.prefix.iter_mut().chain(plan.tail.iter_mut()) {
            if let ast::Command::CidrLookup(l) = c {
                attach_cidr(l, resolve)?;
                continue;
            }
            let ast::Command::Lookup(l) = c else {
                continue;
            };
            if l.from_sub.is_some() {
                continue;
            }
            let (header, records) = table_of(&l.table, resolve)?;
            let column = |name: &str| column_of(&header, &l.table, name);
            let keys: Vec<usize> = l
                .keys
                .iter()
                .map(|(c, _)| column(c))
                .collect::<Result<_, _>>()?;
            let outputs: Vec<usize> = l
                .outputs
                .iter()
                .map(|c| column(c))
                .collect::<Result<_, _>>()?;
            let mut data = ast::LookupData::default();
            for rec in &records {
                let cell = |i: usize| rec.get(i).cloned().unwrap_or_default();
                data.rows
                    .entry(keys.iter().map(|&i| cell(i)).collect())
                    .or_insert_with(|| outputs.iter().map(|&i| cell(i)).collect());
            }
            l.data = Some(Arc::new(data));
        }
        Ok(())
    }

    pub fn source(&self) -> Option<&Source> {
        self.source.as_ref()
    }

    /// Points the `appendcols` fed by subquery `from` (a placeholder number) at subquery `to`.
    pub(crate) fn retarget_appendcols(&mut self, from: usize, to: usize) {
        if let Some(plan) = Arc::get_mut(&mut self.plan) {
            for c in plan.prefix.iter_mut().chain(plan.tail.iter_mut()) {
                if let ast::Command::Rows(ast::RowCmd::AppendCols { sub, .. }) = c {
                    if *sub == from {
                        *sub = to;
                    }
                }
            }
        }
    }

    /// Points the lookups fed by subquery `from` (a placeholder number) at subquery `to`.
    pub(crate) fn retarget_lookup(&mut self, from: usize, to: usize) {
        if let Some(plan) = Arc::get_mut(&mut self.plan) {
            for c in plan.prefix.iter_mut().chain(plan.tail.iter_mut()) {
                if let ast::Command::Lookup(l) = c {
                    if l.from_sub == Some(from) {
                        l.from_sub = Some(to);
                    }
                }
            }
        }
    }

    /// Points the `eventstats` lookup at subquery `i` (PPL's translation adds it last).
    pub(crate) fn set_eventstats_sub(&mut self, i: usize) {
        if let Some(plan) = Arc::get_mut(&mut self.plan) {
            for c in plan.prefix.iter_mut().chain(plan.tail.iter_mut()) {
                if let ast::Command::Lookup(l) = c {
                    if l.from_sub.is_some() {
                        l.from_sub = Some(i);
                    }
                }
            }
        }
    }

    /// The query's subqueries, in order (see [`SubQuery`]).
    pub fn subqueries(&self) -> &[SubQuery] {
        &self.subs
    }

    /// The order to run the subqueries in: a nested subquery before the one it is in.
    pub fn subquery_order(&self) -> Vec<usize> {
        let depth = |mut i: usize| {
            let mut d = 0usize;
            while let Some((p, _)) = self.subs.get(i).and_then(|s| s.into) {
                d += 1;
                i = p;
                if d > self.subs.len() {
                    break;
                }
            }
            d
        };
        let mut order: Vec<usize> = (0..self.subs.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(depth(i)));
        order
    }

    /// Gives subquery `i` its result rows: the outer filter keeps the values of its field
    /// those rows hold (a nested subquery's go to the subquery it is in). Call before
    /// [`Query::start`], in [`Query::subquery_order`].
    pub fn attach_subquery(
        &mut self,
        i: usize,
        rows: &[Vec<(String, String)>],
    ) -> Result<(), AttachError> {
        let Some(sub) = self.subs.get(i).cloned() else {
            return Ok(());
        };
        match sub.into {
            Some((p, k)) => match self.subs.get_mut(p) {
                Some(parent) => parent.query.attach_as(k, &sub, rows),
                None => Ok(()),
            },
            None => self.attach_as(i, &sub, rows),
        }
    }

    /// Attaches the rows of subquery `sub`, this query's `i`th.
    fn attach_as(
        &mut self,
        i: usize,
        sub: &SubQuery,
        rows: &[Vec<(String, String)>],
    ) -> Result<(), AttachError> {
        if let Some(j) = sub.scalar {
            if rows.len() > 1 {
                return Err(AttachError::ScalarRows);
            }
            let cell = rows
                .first()
                .and_then(|r| r.iter().find(|(k, _)| *k == sub.field))
                .map(|(_, v)| v.clone());
            // The value as the subquery's row gives it (text compares as a number when it is
            // one); no row: NULL.
            let literal = match cell {
                Some(v) => ast::Expr::Str(v),
                None => ast::Expr::Field(format!("{}null", translate::PLACEHOLDER)),
            };
            let plan = Arc::get_mut(&mut self.plan).ok_or(AttachError::Running)?;
            let put = &mut |e: &mut ast::Expr| exec::replace_scalar(e, j, &literal);
            for c in plan.prefix.iter_mut().chain(plan.tail.iter_mut()) {
                exec::command_exprs_mut(c, put);
            }
            match &mut plan.collector {
                exec::Collector::Stats(st) => exec::stats_exprs_mut(st, put),
                exec::Collector::Rows { order, dedup, .. } => {
                    order.iter_mut().for_each(|k| put(&mut k.expr));
                    dedup.iter_mut().flatten().for_each(&mut *put);
                }
                exec::Collector::Pattern { field, .. } => put(field),
                exec::Collector::Relevant { cond, .. } => put(cond),
            }
            return Ok(());
        }
        if sub.union {
            let plan = Arc::get_mut(&mut self.plan).ok_or(AttachError::Running)?;
            for c in plan.prefix.iter_mut().chain(plan.tail.iter_mut()) {
                if let ast::Command::Rows(ast::RowCmd::UnionRows {
                    sub,
                    from,
                    to,
                    rows: slot,
                    ..
                }) = c
                {
                    if *sub != i {
                        continue;
                    }
                    // Each field of the subquery's row under the query's name in its place (and
                    // its record's `@ptr`, when it has one).
                    let renamed: Vec<Vec<(String, String)>> = rows
                        .iter()
                        .map(|r| {
                            let cell =
                                |f: &str| r.iter().find(|(k, _)| k == f).map(|(_, v)| v.clone());
                            from.iter()
                                .zip(to.iter())
                                .filter_map(|(f, t)| cell(f).map(|v| (t.clone(), v)))
                                .chain(cell("@ptr").map(|v| ("@ptr".to_string(), v)))
                                .collect()
                        })
                        .collect();
                    *slot = Some(Arc::new(renamed));
                }
            }
            return Ok(());
        }
        if sub.eventstats {
            let plan = Arc::get_mut(&mut self.plan).ok_or(AttachError::Running)?;
            for c in plan.prefix.iter_mut().chain(plan.tail.iter_mut()) {
                let ast::Command::Lookup(l) = c else {
                    continue;
                };
                if l.from_sub != Some(i) {
                    continue;
                }
                // A group whose key is missing feeds no row (its key cannot be compared).
                let mut data = ast::LookupData::default();
                for r in rows {
                    let cell =
                        |name: &str| r.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
                    // Keys as `Value::key` writes them (`1.0` and `1` are one group, as in stats).
                    let Some(key) = l
                        .keys
                        .iter()
                        .map(|(k, _)| cell(k).map(|v| value::Value::Str(v).key()))
                        .collect::<Option<Vec<_>>>()
                    else {
                        continue;
                    };
                    let out = l
                        .outputs
                        .iter()
                        .map(|o| cell(o).unwrap_or_default())
                        .collect();
                    data.rows.entry(key).or_insert(out);
                }
                l.data = Some(Arc::new(data));
            }
            return Ok(());
        }
        if let Some(max) = sub.append {
            let kept: Vec<Vec<(String, String)>> = rows
                .iter()
                .take(max)
                .map(|r| r.iter().filter(|(k, _)| k != "@ptr").cloned().collect())
                .collect();
            let kept = Arc::new(kept);
            let plan = Arc::get_mut(&mut self.plan).ok_or(AttachError::Running)?;
            for c in plan.prefix.iter_mut().chain(plan.tail.iter_mut()) {
                if let ast::Command::Rows(ast::RowCmd::AppendCols { sub, rows, .. }) = c {
                    if *sub == i {
                        *rows = Some(kept.clone());
                    }
                }
            }
            return Ok(());
        }
        let set: std::collections::HashSet<String> = if sub.tuple {
            // Its fields in order; a row missing one matches nothing.
            let names = sub.query.output_fields().unwrap_or_default();
            rows.iter()
                .filter_map(|r| {
                    let keys = names
                        .iter()
                        .map(|n| {
                            r.iter()
                                .find(|(k, _)| k == n)
                                .map(|(_, v)| value::Value::Str(v.clone()).key())
                        })
                        .collect::<Option<Vec<_>>>()?;
                    Some(functions::tuple_key(keys.into_iter()))
                })
                .collect()
        } else {
            rows.iter()
                .flat_map(|r| r.iter().filter(|(k, _)| *k == sub.field))
                .map(|(_, v)| value::Value::Str(v.clone()).key())
                .collect()
        };
        let set = Arc::new(set);
        let plan = Arc::get_mut(&mut self.plan).ok_or(AttachError::Running)?;
        for c in plan.prefix.iter_mut().chain(plan.tail.iter_mut()) {
            if let ast::Command::Filter(e) = c {
                exec::attach_set(e, i, &set);
            }
        }
        Ok(())
    }

    /// The right side of the query's `join`, if it has one.
    pub fn join_side(&self) -> Option<&JoinSide> {
        self.join.as_ref()
    }

    /// Gives the `join` its right side: the rows of [`JoinSide::query`]. More than `max_keys`
    /// distinct key values is an error (AWS: 50,000). Call before [`Query::start`].
    pub fn attach_join(
        &mut self,
        rows: &[Vec<(String, String)>],
        max_keys: usize,
    ) -> Result<(), AttachError> {
        let Some(side) = &self.join else {
            return Ok(());
        };
        let mut data = ast::JoinData::default();
        for r in rows {
            let Some((_, k)) = r.iter().find(|(k, _)| *k == side.key) else {
                continue;
            };
            let key = value::Value::Str(k.clone()).key();
            if !data.rows.contains_key(&key) && data.rows.len() >= max_keys {
                return Err(AttachError::TooManyKeys {
                    key: side.key.clone(),
                    max: max_keys,
                });
            }
            let fields = r
                .iter()
                .map(|(k, v)| (format!("{}.{k}", side.right), value::Value::Str(v.clone())))
                .collect();
            data.rows.entry(key).or_default().push(fields);
        }
        let data = Arc::new(data);
        let plan = Arc::get_mut(&mut self.plan).ok_or(AttachError::Running)?;
        for c in plan.prefix.iter_mut().chain(plan.tail.iter_mut()) {
            if let ast::Command::Join(j) = c {
                j.data = Some(data.clone());
            }
        }
        Ok(())
    }

    pub fn start(&self, ctx: QueryContext) -> Execution {
        let plan = self.plan.clone();
        let (state, bound) = match &plan.collector {
            Collector::Stats(_) => (State::Groups(Groups::default()), None),
            Collector::Pattern { .. } => (State::Patterns(pattern::Patterns::default()), None),
            Collector::Relevant { .. } => (State::Relevant(relevant::Relevance::default()), None),
            Collector::Rows { bound, .. } => {
                let tail_safe = plan.tail.iter().all(|c| {
                    matches!(
                        c,
                        ast::Command::Fields(_)
                            | ast::Command::Display(_)
                            | ast::Command::Eval(_)
                            | ast::Command::Rows(ast::RowCmd::Drop(_))
                    )
                });
                let b = bound.or(if tail_safe && !plan.has_limit {
                    Some(ctx.limit)
                } else {
                    None
                });
                (State::Rows(Vec::new()), b)
            }
        };
        let mut e =
            Execution {
                env: exec::env_of(&ctx),
                previous: self.comparison_range(&ctx),
                plan,
                ctx,
                stats: Stats::default(),
                state,
                bound,
                scratch: exec::Row::default(),
                scanner: fieldscan::FieldScanner::default(),
                tmp: String::new(),
                worst: None,
                prefilter: prefilter::Prefilter::of(&self.plan.prefix),
                // (Bounded only where row commands over whole records need every row: the other
                // unbounded runs keep holding as they did.)
                max_held: if self.plan.tail.iter().any(
                    |c| matches!(c, ast::Command::Rows(rc) if !matches!(rc, ast::RowCmd::Drop(_))),
                ) {
                    self.max_held
                } else {
                    usize::MAX
                },
                overflowed: false,
                columnar: None,
                built: Box::default(),
                deferred: None,
            };
        e.deferred = Deferred::of(&e.plan).map(Box::new);
        if e.previous.is_none() && e.column_fields().is_some() {
            e.columnar = columnar::Columnar::of(&e.plan).map(Box::new);
        } else if e.previous.is_none() && e.deferred.is_some() && e.prefilter.is_none() {
            e.columnar = columnar::Columnar::parsed(&e.plan).map(Box::new);
        }
        e
    }

    /// The comparison period `diff` reads besides `[start_ms, end_ms]` (inclusive, epoch ms).
    pub fn comparison_range(&self, ctx: &QueryContext) -> Option<(i64, i64)> {
        match &self.plan.collector {
            Collector::Pattern {
                diff: Some(period), ..
            } => Some(pattern::comparison_range(*period, ctx.start_ms, ctx.end_ms)),
            _ => None,
        }
    }

    /// The disjoint, ascending time ranges (inclusive, epoch ms) a run must feed to
    /// [`Execution::push`]: the query's range, and with `diff` its comparison period too.
    pub fn scan_ranges(&self, ctx: &QueryContext) -> Vec<(i64, i64)> {
        let mut ranges = vec![(ctx.start_ms, ctx.end_ms)];
        if let Some(p) = self.comparison_range(ctx) {
            ranges.push(p);
        }
        ranges.sort();
        let mut out: Vec<(i64, i64)> = Vec::new();
        for (s, e) in ranges {
            match out.last_mut() {
                Some(last) if s <= last.1.saturating_add(1) => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        out
    }

    /// False when nothing in the query reads a record's `@ptr`: the caller may then pass an
    /// empty one in [`Record::ptr`] instead of building it.
    pub fn needs_ptr(&self) -> bool {
        self.plan.needs_ptr
    }

    /// True when the query aggregates (`stats`): rows carry no `@ptr`.
    pub fn is_aggregation(&self) -> bool {
        !self.plan.with_ptr
    }

    /// The output field names when the query names them (`fields`/`display`/`stats`);
    /// `None` means every field of each record.
    pub fn output_fields(&self) -> Option<Vec<String>> {
        self.plan.columns.clone()
    }
}

impl Execution {
    /// Feed one record (records outside `[start_ms, end_ms]` and, with `diff`, outside the
    /// comparison period are ignored).
    pub fn push(&mut self, r: &Record<'_>) {
        self.push_with(r, r.message.len(), None, false);
    }

    /// [`Execution::push`] for a record [`Execution::candidates`] marked sure to pass the
    /// leading filters: they are not evaluated again.
    pub fn push_passed(&mut self, r: &Record<'_>) {
        self.push_with(r, r.message.len(), None, true);
    }

    /// The discovered fields this run reads, when it reads nothing else of a record's message
    /// (no `@message`, no whole records, no raw-message prefilter, no `join`): a caller that
    /// has these fields' values at hand may pass them to [`Execution::push_fields`] instead
    /// of the message.
    pub fn column_fields(&self) -> Option<&[String]> {
        let p = &self.plan;
        let eligible = !p.sys[1]
            && !p.all_fields
            && !p.full_rows
            && self.prefilter.is_none()
            && !p
                .prefix
                .iter()
                .chain(&p.tail)
                .any(|c| matches!(c, ast::Command::Join(_)));
        eligible.then_some(p.wanted.as_slice())
    }

    /// True when this run takes whole blocks of column values ([`Execution::push_block`]):
    /// a `stats` run whose filters, group keys and aggregate arguments read only discovered
    /// fields (the keys may also `bin()` the record time).
    pub fn reads_blocks(&self) -> bool {
        self.columnar.is_some()
    }

    /// True when this run takes blocks only as messages ([`Execution::push_messages`]),
    /// never as stored columns: it starts with a `parse` of the messages.
    pub fn reads_message_blocks(&self) -> bool {
        self.columnar.as_ref().is_some_and(|c| c.parsed)
    }

    /// Feeds records given as columns of their discovered fields (aligned with
    /// [`Execution::column_fields`]), as [`Execution::push_fields`] would feed them one by
    /// one. Only for a run that [`Execution::reads_blocks`]; otherwise nothing happens.
    /// A run that [`Execution::reads_message_blocks`] takes no stored columns: nothing happens.
    pub fn push_block(&mut self, b: &Block<'_>) {
        if !self.reads_message_blocks() {
            self.feed_block(b);
        }
    }

    fn feed_block(&mut self, b: &Block<'_>) {
        let (Some(c), State::Groups(groups), Collector::Stats(s)) =
            (&mut self.columnar, &mut self.state, &self.plan.collector)
        else {
            return;
        };
        c.push(
            &self.plan,
            s,
            &self.env,
            &self.ctx,
            groups,
            &mut self.stats,
            b,
        );
    }

    /// [`Execution::push_block`] for records given by their time and message (a block the
    /// store keeps no columns for): the wanted fields are found in each message as a record
    /// row would find them, and laid out as columns.
    /// Each record is (time, message, whether the store marked the message a flat JSON object:
    /// see `nephoscope_logstore::flat`).
    pub fn push_messages<'m>(&mut self, records: impl Iterator<Item = (i64, &'m str, bool)>) {
        if self.columnar.is_none() {
            return;
        }
        let mut built = std::mem::take(&mut self.built);
        let parse = match (&self.deferred, self.plan.prefix.first()) {
            (Some(d), Some(ast::Command::Parse { mode, .. })) if self.reads_message_blocks() => {
                Some(columnar::ParseFill {
                    mode,
                    names: &d.names,
                    rest: &d.rest,
                })
            }
            _ => None,
        };
        built.fill(&self.plan.wanted, records, parse.as_ref());
        {
            let mut columns = Vec::new();
            let mut ids = Vec::new();
            let block = built.block(&mut columns, &mut ids);
            self.feed_block(&block);
        }
        self.built = built;
    }

    /// True when [`Execution::candidates`] can pick, from many records' messages laid end to
    /// end, the only ones that may pass the query's leading `@message` filters.
    pub fn searches_texts(&self) -> bool {
        self.prefilter.as_ref().is_some_and(|p| p.searches_texts())
    }

    /// The indexes of `spans` (ascending byte ranges of `text`, one record's message each)
    /// whose record may pass the query's leading `@message` filters, into `out` (see
    /// [`Execution::searches_texts`]). The caller pushes those records and passes every other
    /// one to [`Execution::count_unmatched`]. False (nothing picked) when this run cannot.
    pub fn candidates(
        &self,
        text: &str,
        spans: &[(u32, u32)],
        out: &mut Vec<(usize, bool)>,
    ) -> bool {
        self.prefilter
            .as_ref()
            .is_some_and(|p| p.candidates(text, spans, out))
    }

    /// A record [`Execution::candidates`] left out: scanned, and rejected by the filters, as
    /// [`Execution::push`] would have counted it.
    pub fn count_unmatched(&mut self, timestamp: i64, message_len: usize) {
        let (current, previous) = self.in_ranges(timestamp);
        if current || previous {
            self.stats.records_scanned += 1.0;
            self.stats.bytes_scanned += message_len as f64;
        }
    }

    /// For a run reading only discovered fields ([`Execution::column_fields`]) that starts
    /// with `filter` commands reading nothing but such fields: the indexes (into
    /// `column_fields`) of every field those filters may read, if they are at most four. Whether a record passes them
    /// depends on these fields' values alone, so a caller may decide it once per distinct
    /// combination ([`Execution::leading_filters_pass`]) and count the records that fail with
    /// [`Execution::count_unmatched`] instead of pushing them.
    pub fn leading_filter_inputs(&self) -> Option<Vec<usize>> {
        let wanted = self.column_fields()?;
        let mut names: Vec<String> = Vec::new();
        let mut any = false;
        for c in self.plan.prefix.iter() {
            let ast::Command::Filter(e) = c else {
                break;
            };
            // `bin()` reads the record's time, which is not among the inputs.
            if exec::reads_record_time(e) {
                return None;
            }
            any = true;
            exec::referenced_names(c, &mut |n| names.push(n.to_string()));
        }
        if !any {
            return None;
        }
        // At most four inputs (more would make for too many combinations to remember).
        columnar::inputs_of(wanted, &names)
    }

    /// Whether a record with these discovered fields (aligned with
    /// [`Execution::column_fields`]; only `inputs`, the [`Execution::leading_filter_inputs`],
    /// are read) passes the run's leading filters.
    pub fn leading_filters_pass(&mut self, inputs: &[usize], values: &[Option<&str>]) -> bool {
        let mut row = std::mem::take(&mut self.scratch);
        row.recycle();
        for &i in inputs {
            if let (Some(name), Some(Some(v))) = (self.plan.wanted.get(i), values.get(i)) {
                row.push_str(name, v);
            }
        }
        let ev = Evaluator {
            env: &self.env,
            aggs: &[],
            bin_offset: 0,
        };
        let pass = self
            .plan
            .prefix
            .iter()
            .take_while(|c| matches!(c, ast::Command::Filter(_)))
            .all(|c| exec::apply_one(c, &mut row, &ev, &mut self.tmp));
        self.scratch = row;
        pass
    }

    /// [`Execution::push`] for a record whose message is not at hand: `values` are its
    /// discovered fields named by [`Execution::column_fields`], in that order (`None`: no such
    /// field), exactly as discovery finds them in the message; `message_len` is its length.
    /// `r.message` is not read.
    pub fn push_fields(&mut self, r: &Record<'_>, message_len: usize, values: &[Option<&str>]) {
        self.push_with(r, message_len, Some(values), false);
    }

    /// `passed`: the record is known to pass the prefix, which is one `filter` (see
    /// [`Execution::push_passed`]).
    fn push_with(
        &mut self,
        r: &Record<'_>,
        message_len: usize,
        values: Option<&[Option<&str>]>,
        passed: bool,
    ) {
        let (current, previous) = self.in_ranges(r.timestamp);
        if !current && !previous {
            return;
        }
        self.stats.records_scanned += 1.0;
        self.stats.bytes_scanned += message_len as f64;
        if values.is_none()
            && !passed
            && self
                .prefilter
                .as_ref()
                .is_some_and(|p| !p.passes(r.message))
        {
            return;
        }
        // The newest rows by record time with nothing before the sort: a record the worst row
        // held already beats cannot enter, and needs no row (it matches: no command drops it).
        if let (true, true, Some(w), Collector::Rows { order, .. }) = (
            self.plan.time_order,
            self.plan.prefix.is_empty(),
            &self.worst,
            &self.plan.collector,
        ) {
            let sk = [value::Value::Time(r.timestamp)];
            let o = exec::key_cmp((&sk, r.timestamp, r.ptr), (&w.0, w.1, &w.2), order);
            if o != std::cmp::Ordering::Less {
                self.stats.records_matched += 1.0;
                return;
            }
        }
        let mut row = std::mem::take(&mut self.scratch);
        match values {
            Some(values) => exec::fill_row_from(r, &self.plan, values, &mut row),
            None if self.plan.full_rows => row = exec::record_row(r),
            None => match &self.deferred {
                Some(d) => exec::fill_row_with(r, &self.plan, &d.rest, &mut self.scanner, &mut row),
                None if passed => exec::fill_row_passed(r, &self.plan, &mut self.scanner, &mut row),
                None => exec::fill_row(r, &self.plan, &mut self.scanner, &mut row),
            },
        }
        if self.plan.single_row {
            let keep = passed || {
                let ev = Evaluator {
                    env: &self.env,
                    aggs: &[],
                    bin_offset: 0,
                };
                let mut prefix = self.plan.prefix.iter();
                if let (Some(d), None, Some(parse)) = (&self.deferred, values, prefix.next()) {
                    // The parse first, then the discovered fields it left unset.
                    exec::apply_one(parse, &mut row, &ev, &mut self.tmp);
                    let unset: Vec<String> = d
                        .names
                        .iter()
                        .filter(|n| row.get_ref(n).is_none())
                        .cloned()
                        .collect();
                    if !unset.is_empty() {
                        self.scanner
                            .extract_marked(r.message, r.flat, &unset, &mut |k, v| {
                                row.push_str(k, v)
                            });
                    }
                } else {
                    prefix = self.plan.prefix.iter();
                }
                prefix.all(|c| exec::apply_one(c, &mut row, &ev, &mut self.tmp))
            };
            if keep {
                self.stats.records_matched += 1.0;
                self.collect(r, &row, current, previous);
            }
            self.scratch = row;
            return;
        }
        let mut rows = vec![row];
        {
            let ev = Evaluator {
                env: &self.env,
                aggs: &[],
                bin_offset: 0,
            };
            for c in &self.plan.prefix {
                rows = exec::apply(c, rows, &ev);
                if rows.is_empty() {
                    return;
                }
            }
        }
        self.stats.records_matched += 1.0;
        for row in &rows {
            self.collect(r, row, current, previous);
        }
    }

    /// Hand one row of record `r` that passed the prefix to the collector.
    fn collect(&mut self, r: &Record<'_>, row: &exec::Row, current: bool, previous: bool) {
        let ev = Evaluator {
            env: &self.env,
            aggs: &[],
            bin_offset: 0,
        };
        match (&mut self.state, &self.plan.collector) {
            (State::Groups(g), Collector::Stats(s)) => g.push(s, row, &self.env),
            // The comparison period of `diff` is no concern of `relevantfields`.
            (State::Relevant(rel), Collector::Relevant { fields, cond, skip }) if current => {
                rel.add(row, fields, skip, ev.eval(cond, row).truthy());
            }
            (State::Patterns(p), Collector::Pattern { field, anomaly, .. }) => {
                let v = ev.eval(field, row);
                if previous {
                    p.previous.add(&v);
                }
                if current && *anomaly {
                    p.add_detailed(&v, row.ts, self.ctx.start_ms, self.ctx.end_ms);
                } else if current {
                    p.current.add(&v);
                }
            }
            (State::Rows(held), Collector::Rows { order, dedup, .. }) => {
                // (Without a bound, row commands over whole records hold every row, up to the
                // configured most.)
                if self.bound.is_none() && held.len() >= self.max_held {
                    self.overflowed = true;
                    return;
                }
                let sk: Vec<value::Value> = order.iter().map(|k| ev.eval(&k.expr, row)).collect();
                if let Some(w) = &self.worst {
                    let o = exec::key_cmp((&sk, row.ts, &row.ptr), (&w.0, w.1, &w.2), order);
                    if o != std::cmp::Ordering::Less {
                        return;
                    }
                }
                let dk = dedup.as_ref().and_then(|d| {
                    d.iter()
                        .map(|e| {
                            Some(ev.eval(e, row))
                                .filter(|v| !v.is_null())
                                .map(|v| v.key())
                        })
                        .collect()
                });
                let rec = self.plan.all_fields.then(|| {
                    Box::new(exec::HeldRecord {
                        ingestion_time: r.ingestion_time,
                        message: r.message.to_string(),
                        log_stream: r.log_stream.to_string(),
                        log: r.log.to_string(),
                    })
                });
                held.push(Held {
                    sk,
                    dk,
                    row: row.clone(),
                    rec,
                });
                if let Some(b) = self.bound {
                    if held.len() > 2 * b + 64 {
                        exec::compact(held, order, dedup.is_some(), Some(b));
                        if b > 0 && held.len() == b {
                            let w = &held[b - 1];
                            self.worst = Some((w.sk.clone(), w.row.ts, w.row.ptr.clone()));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether a record at `timestamp` lies in the query's range, and in `diff`'s comparison
    /// period.
    fn in_ranges(&self, timestamp: i64) -> (bool, bool) {
        let current = timestamp >= self.ctx.start_ms && timestamp <= self.ctx.end_ms;
        let previous = self
            .previous
            .is_some_and(|(s, e)| timestamp >= s && timestamp <= e);
        (current, previous)
    }

    /// For a newest-rows run with nothing before the sort: whether a record at `timestamp`
    /// is older than the worst row held, so it cannot enter. It is then counted as
    /// [`Execution::push`] would count it, and the caller need not build the record (nor its
    /// `@ptr`). False when the run is of another kind or the record may still enter.
    pub fn skip_older(&mut self, timestamp: i64, message_len: usize) -> bool {
        let (true, true, Some(w)) = (
            self.plan.time_order,
            self.plan.prefix.is_empty(),
            &self.worst,
        ) else {
            return false;
        };
        if timestamp >= w.1 {
            return false;
        }
        let (current, previous) = self.in_ranges(timestamp);
        if current || previous {
            self.stats.records_scanned += 1.0;
            self.stats.bytes_scanned += message_len as f64;
            self.stats.records_matched += 1.0;
        }
        true
    }

    /// True when this run keeps the newest rows by record time up to a bound, so a scan that
    /// visits newer records first can stop at [`Execution::time_floor`].
    /// Its prefix never drops a record, so the records it need not look at can still be
    /// counted exactly ([`Execution::count_skipped`]). A `limit any n` run is one too, with
    /// any prefix: once it holds n rows its floor is `i64::MAX` (it needs nothing more), and
    /// the records it skips are not counted (they were not scanned).
    pub fn newest_first(&self) -> bool {
        if self.plan.limit_any {
            return self.bound.is_some_and(|b| b > 0);
        }
        self.plan.time_order
            && self.bound.is_some_and(|b| b > 0)
            && self.plan.prefix.iter().all(|c| {
                !matches!(
                    c,
                    ast::Command::Filter(_)
                        | ast::Command::Unnest { .. }
                        | ast::Command::Expand(_)
                        | ast::Command::Join(_)
                )
            })
    }

    /// A record a [`Execution::newest_first`] scan skips once older records cannot change the
    /// result: counted in the statistics exactly as [`Execution::push`] would count it.
    pub fn count_skipped(&mut self, timestamp: i64, message_len: usize) {
        // `limit any` stops scanning: what it did not read is not in the statistics.
        if self.plan.limit_any {
            return;
        }
        let current = timestamp >= self.ctx.start_ms && timestamp <= self.ctx.end_ms;
        if current {
            self.stats.records_scanned += 1.0;
            self.stats.records_matched += 1.0;
            self.stats.bytes_scanned += message_len as f64;
        }
    }

    /// [`Execution::count_skipped`] for `events` records holding `bytes` of messages, all
    /// inside `[start_ms, end_ms]`.
    pub fn count_skipped_many(&mut self, events: u64, bytes: u64) {
        if self.plan.limit_any {
            return;
        }
        self.stats.records_scanned += events as f64;
        self.stats.records_matched += events as f64;
        self.stats.bytes_scanned += bytes as f64;
    }

    /// Whether skipped records count in the statistics (not with `limit any`, whose scan stops
    /// where it stops).
    pub fn counts_skipped(&self) -> bool {
        !self.plan.limit_any
    }

    /// For a [`Execution::newest_first`] run that already holds its bound of rows: the time
    /// below which no record can change the result (records at exactly this time still can).
    pub fn time_floor(&mut self) -> Option<i64> {
        if !self.newest_first() {
            return None;
        }
        let b = self.bound?;
        let (State::Rows(held), Collector::Rows { order, dedup, .. }) =
            (&mut self.state, &self.plan.collector)
        else {
            return None;
        };
        if held.len() < b {
            return None;
        }
        // `limit any n`: n rows in hand, any n will do; nothing older (or newer) is needed.
        if self.plan.limit_any {
            return Some(i64::MAX);
        }
        exec::compact(held, order, dedup.is_some(), Some(b));
        if held.len() < b {
            return None;
        }
        let w = &held[b - 1];
        self.worst = Some((w.sk.clone(), w.row.ts, w.row.ptr.clone()));
        match w.sk.first() {
            Some(value::Value::Time(t)) => Some(*t),
            _ => None,
        }
    }

    /// Absorb the partial state of another execution of the same query (e.g. a parallel scan
    /// of other blocks).
    pub fn merge(&mut self, other: Execution) {
        self.overflowed |= other.overflowed;
        self.stats.records_scanned += other.stats.records_scanned;
        self.stats.records_matched += other.stats.records_matched;
        self.stats.bytes_scanned += other.stats.bytes_scanned;
        match (&mut self.state, other.state, &self.plan.collector) {
            (State::Groups(g), State::Groups(o), Collector::Stats(s)) => g.merge(s, o),
            (State::Patterns(p), State::Patterns(o), Collector::Pattern { .. }) => p.merge(o),
            (State::Relevant(r), State::Relevant(o), Collector::Relevant { .. }) => r.merge(o),
            (State::Rows(h), State::Rows(o), Collector::Rows { order, dedup, .. }) => {
                h.extend(o);
                if let Some(b) = self.bound {
                    exec::compact(h, order, dedup.is_some(), Some(b));
                } else if h.len() > self.max_held {
                    h.truncate(self.max_held);
                    self.overflowed = true;
                }
            }
            _ => {}
        }
    }

    /// Current (partial or final) result rows: `(field, value)` in output order.
    pub fn rows(&self) -> Vec<Vec<(String, String)>> {
        let ev = Evaluator {
            env: &self.env,
            aggs: &[],
            bin_offset: 0,
        };
        let mut rows: Vec<exec::Row> = match (&self.state, &self.plan.collector) {
            (State::Groups(g), Collector::Stats(s)) => g.finish(s, &self.env),
            (State::Patterns(p), Collector::Pattern { anomaly: true, .. }) => p.finish_anomaly(),
            (State::Patterns(p), Collector::Pattern { diff, .. }) => p.finish(diff.is_some()),
            (State::Relevant(r), Collector::Relevant { .. }) => r.finish(),
            (State::Rows(h), Collector::Rows { order, dedup, .. }) => {
                let mut h = h.clone();
                exec::compact(&mut h, order, dedup.is_some(), self.bound);
                h.into_iter()
                    .map(|x| match &x.rec {
                        Some(rec) => exec::complete(&x.row, rec),
                        None => x.row,
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        for c in &self.plan.tail {
            rows = exec::apply(c, rows, &ev);
        }
        if !self.plan.has_limit {
            rows.truncate(self.ctx.limit);
        }
        rows.iter()
            .map(|r| exec::render_row(&self.plan, r))
            .collect()
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Whether more rows than [`Query::hold_at_most`] allows had to be held: the results are
    /// incomplete and the query must fail.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The row limit is reached and nothing (sort, dedup, stats) needs more input. Rows are
    /// kept newest-first, so stopping early returns the same rows only when the scan visits
    /// records newest-first.
    pub fn is_satisfied(&self) -> bool {
        if self.overflowed {
            return true;
        }
        match (&self.state, &self.plan.collector) {
            (
                State::Rows(h),
                Collector::Rows {
                    explicit_sort: false,
                    dedup: None,
                    ..
                },
            ) => self.bound.is_some_and(|b| h.len() >= b),
            _ => false,
        }
    }
}
