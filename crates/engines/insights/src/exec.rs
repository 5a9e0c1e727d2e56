//! Planning and execution: streaming prefix, mergeable collector, in-memory tail.

use crate::agg::AggState;
use crate::ast::*;
use crate::functions::Env;
use crate::value::{sort_cmp, Value};
use crate::{QueryContext, Record};
use std::cmp::Ordering;
use std::collections::HashMap;

pub const SYSTEM_FIELDS: &[&str] = &[
    "@timestamp",
    "@message",
    "@logStream",
    "@log",
    "@ingestionTime",
    "@ptr",
];

pub use crate::eval::{Evaluator, Row};

// ---------------- plan ----------------

#[derive(Debug)]
pub enum Collector {
    Stats(Box<StatsCmd>),
    /// `pattern <field>`, with the comparison period when `diff` follows it.
    Pattern {
        field: Expr,
        diff: Option<DiffPeriod>,
    },
    Rows {
        order: Vec<SortKey>,
        explicit_sort: bool,
        dedup: Option<Vec<Expr>>,
        bound: Option<usize>,
    },
}

#[derive(Debug)]
pub struct Plan {
    pub prefix: Vec<Command>,
    pub collector: Collector,
    pub tail: Vec<Command>,
    /// Output columns; `None` = every field of the record.
    pub columns: Option<Vec<String>>,
    /// Output rows carry `@ptr` (record rows, not aggregated rows).
    pub with_ptr: bool,
    pub has_limit: bool,
    pub needs_json: bool,
}

pub fn build_plan(cmds: Vec<Command>, default_limit_hint: Option<usize>) -> Plan {
    let _ = default_limit_hint;
    // output columns
    let mut cols: Option<Vec<String>> = None;
    let mut display: Option<Vec<String>> = None;
    let mut with_ptr = true;
    let mut has_limit = false;
    let mut needs_json = false;
    for c in &cmds {
        match c {
            Command::Fields(ps) => {
                let v = cols.get_or_insert_with(Vec::new);
                for p in ps {
                    if !v.contains(&p.name) {
                        v.push(p.name.clone());
                    }
                }
            }
            Command::Display(ps) => display = Some(ps.iter().map(|p| p.name.clone()).collect()),
            Command::Stats(s) => {
                cols = Some(
                    s.by.iter()
                        .chain(s.items.iter())
                        .map(|p| p.name.clone())
                        .collect(),
                );
                display = None;
                with_ptr = false;
            }
            Command::Pattern(_) | Command::Diff(_) => {
                let names = if matches!(c, Command::Diff(_)) {
                    crate::pattern::DIFF_COLUMNS
                } else {
                    crate::pattern::PATTERN_COLUMNS
                };
                cols = Some(names.iter().map(|n| n.to_string()).collect());
                display = None;
                with_ptr = false;
            }
            Command::Limit(_) => has_limit = true,
            _ => {}
        }
        visit_fields(c, &mut |f| {
            if !SYSTEM_FIELDS.contains(&f) {
                needs_json = true;
            }
        });
    }
    let columns = display.or(cols);
    if columns.is_none() {
        needs_json = true;
    }
    let split = cmds
        .iter()
        .position(|c| !c.is_streaming())
        .unwrap_or(cmds.len());
    let mut rest = cmds;
    let tail_all = rest.split_off(split);
    let prefix = rest;
    let mut it = tail_all.into_iter().peekable();
    let collector = match it.peek() {
        Some(Command::Stats(_)) => match it.next() {
            Some(Command::Stats(s)) => Collector::Stats(s),
            _ => unreachable!(),
        },
        Some(Command::Pattern(_)) => {
            let Some(Command::Pattern(field)) = it.next() else {
                unreachable!()
            };
            let diff = match it.peek() {
                Some(Command::Diff(p)) => {
                    let p = *p;
                    it.next();
                    Some(p)
                }
                _ => None,
            };
            Collector::Pattern { field, diff }
        }
        _ => {
            let mut order = vec![SortKey {
                expr: Expr::Field("@timestamp".into()),
                desc: true,
            }];
            let mut explicit_sort = false;
            let mut dedup = None;
            let mut bound = None;
            if let Some(Command::Sort(_)) = it.peek() {
                if let Some(Command::Sort(k)) = it.next() {
                    order = k;
                    explicit_sort = true;
                }
            }
            if let Some(Command::Dedup(_)) = it.peek() {
                if let Some(Command::Dedup(d)) = it.next() {
                    dedup = Some(d);
                }
            }
            if let Some(Command::Limit(n)) = it.peek() {
                bound = Some(*n);
                it.next();
            }
            Collector::Rows {
                order,
                explicit_sort,
                dedup,
                bound,
            }
        }
    };
    let tail: Vec<Command> = it.collect();
    Plan {
        prefix,
        collector,
        tail,
        columns,
        with_ptr,
        has_limit,
        needs_json,
    }
}

fn visit_fields(c: &Command, f: &mut dyn FnMut(&str)) {
    let mut ex = |e: &Expr| visit_expr(e, f);
    match c {
        Command::Fields(ps) | Command::Display(ps) => ps.iter().for_each(|p| ex(&p.expr)),
        Command::Filter(e) => ex(e),
        Command::Stats(s) => {
            s.aggs
                .iter()
                .filter_map(|a| a.arg.as_ref())
                .for_each(&mut ex);
            s.by.iter().for_each(|p| ex(&p.expr));
        }
        Command::Sort(k) => k.iter().for_each(|k| ex(&k.expr)),
        Command::Parse { field, .. } => ex(field),
        Command::Dedup(d) => d.iter().for_each(ex),
        Command::Unnest { field, .. } | Command::Pattern(field) => ex(field),
        Command::Limit(_) | Command::Diff(_) => {}
    }
}

fn visit_expr(e: &Expr, f: &mut dyn FnMut(&str)) {
    match e {
        Expr::Field(n) => f(n),
        Expr::Neg(a) | Expr::Not(a) => visit_expr(a, f),
        Expr::Bin(_, a, b) | Expr::Index(a, b) => {
            visit_expr(a, f);
            visit_expr(b, f)
        }
        Expr::Like { expr, pat, .. } => {
            visit_expr(expr, f);
            visit_expr(pat, f)
        }
        Expr::In { expr, list, .. } => {
            visit_expr(expr, f);
            list.iter().for_each(|x| visit_expr(x, f))
        }
        Expr::List(l) | Expr::Call { args: l, .. } => l.iter().for_each(|x| visit_expr(x, f)),
        _ => {}
    }
}

// ---------------- streaming commands ----------------

/// Apply one row-level command to a batch of rows (also used for the in-memory tail).
pub fn apply(cmd: &Command, rows: Vec<Row>, ev: &Evaluator) -> Vec<Row> {
    match cmd {
        Command::Fields(ps) | Command::Display(ps) => rows
            .into_iter()
            .map(|mut r| {
                for p in ps {
                    if !matches!(&p.expr, Expr::Field(f) if *f == p.name) {
                        let v = ev.eval(&p.expr, &r);
                        r.set(&p.name, v);
                    }
                }
                r
            })
            .collect(),
        Command::Filter(e) => rows
            .into_iter()
            .filter(|r| ev.eval(e, r).truthy())
            .collect(),
        Command::Parse { field, mode } => rows
            .into_iter()
            .map(|mut r| {
                let Some(src) = ev.eval(field, &r).as_str() else {
                    return r;
                };
                match mode {
                    ParseMode::Glob(re, names) => {
                        if let Some(c) = re.captures(&src) {
                            for (i, n) in names.iter().enumerate() {
                                let v = c.get(i + 1).map(|m| m.as_str()).unwrap_or("");
                                r.set(n, Value::Str(v.to_string()));
                            }
                        }
                    }
                    ParseMode::Regex(re) => {
                        if let Some(c) = re.re.captures(&src) {
                            for (i, n) in &re.names {
                                if let Some(m) = c.get(*i) {
                                    r.set(n, Value::Str(m.as_str().to_string()));
                                }
                            }
                        }
                    }
                }
                r
            })
            .collect(),
        Command::Unnest { field, into } => {
            let mut out = Vec::new();
            for r in rows {
                match ev.eval(field, &r) {
                    Value::List(items) => {
                        for it in items {
                            let mut c = r.clone();
                            c.set(into, it);
                            out.push(c);
                        }
                    }
                    Value::Null => {}
                    v => {
                        let mut c = r;
                        c.set(into, v);
                        out.push(c);
                    }
                }
            }
            out
        }
        Command::Sort(keys) => {
            let mut keyed: Vec<(Vec<Value>, Row)> = rows
                .into_iter()
                .map(|r| (keys.iter().map(|k| ev.eval(&k.expr, &r)).collect(), r))
                .collect();
            keyed.sort_by(|a, b| cmp_keys(&a.0, &b.0, keys));
            keyed.into_iter().map(|x| x.1).collect()
        }
        Command::Limit(n) => rows.into_iter().take(*n).collect(),
        Command::Dedup(fs) => {
            let mut seen = std::collections::HashSet::new();
            rows.into_iter()
                .filter(|r| match dedup_key(fs, r, ev) {
                    Some(k) => seen.insert(k),
                    None => true,
                })
                .collect()
        }
        Command::Pattern(field) => {
            let mut p = crate::pattern::Patterns::default();
            for r in &rows {
                p.current.add(&ev.eval(field, r));
            }
            p.finish(false)
        }
        // The parser only accepts `diff` directly after the collecting `pattern`, which takes it.
        Command::Diff(_) => rows,
        Command::Stats(s) => {
            let mut g = Groups::default();
            for r in &rows {
                g.push(s, r, ev.env);
            }
            g.finish(s, ev.env)
        }
    }
}

fn cmp_keys(a: &[Value], b: &[Value], keys: &[SortKey]) -> Ordering {
    for (i, k) in keys.iter().enumerate() {
        let o = sort_cmp(&a[i], &b[i], k.desc);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

fn dedup_key(fs: &[Expr], r: &Row, ev: &Evaluator) -> Option<Vec<String>> {
    fs.iter()
        .map(|f| {
            let v = ev.eval(f, r);
            if v.is_null() {
                None
            } else {
                Some(v.key())
            }
        })
        .collect()
}

// ---------------- stats groups ----------------

/// Group keys (values) and their partial aggregates.
type Group = (Vec<Value>, Vec<AggState>);

#[derive(Default, Clone)]
pub struct Groups {
    pub map: HashMap<Vec<String>, Group>,
}

impl Groups {
    pub fn push(&mut self, s: &StatsCmd, r: &Row, env: &Env) {
        let ev = Evaluator {
            env,
            aggs: &[],
            bin_offset: s.offset_ms,
        };
        let keys: Vec<Value> = s.by.iter().map(|p| ev.eval(&p.expr, r)).collect();
        let ks: Vec<String> = keys.iter().map(Value::key).collect();
        let entry = self
            .map
            .entry(ks)
            .or_insert_with(|| (keys, s.aggs.iter().map(|a| AggState::new(a.kind)).collect()));
        for (a, st) in s.aggs.iter().zip(entry.1.iter_mut()) {
            let v = a.arg.as_ref().map(|e| ev.eval(e, r)).unwrap_or(Value::Null);
            st.update(a.kind, &v, r.ts, &r.ptr);
        }
    }

    pub fn merge(&mut self, s: &StatsCmd, o: Groups) {
        for (k, (keys, states)) in o.map {
            match self.map.get_mut(&k) {
                Some(mine) => {
                    for ((a, m), t) in s.aggs.iter().zip(mine.1.iter_mut()).zip(states) {
                        m.merge(a.kind, t);
                    }
                }
                None => {
                    self.map.insert(k, (keys, states));
                }
            }
        }
    }

    /// Final rows, ordered by group keys (ascending, natural order).
    pub fn finish(&self, s: &StatsCmd, env: &Env) -> Vec<Row> {
        let mut groups: Vec<(&Vec<String>, &Group)> = self.map.iter().collect();
        groups.sort_by(|a, b| {
            let o =
                a.1 .0
                    .iter()
                    .zip(b.1 .0.iter())
                    .map(|(x, y)| sort_cmp(x, y, false))
                    .find(|o| *o != Ordering::Equal);
            o.unwrap_or(Ordering::Equal).then_with(|| a.0.cmp(b.0))
        });
        groups
            .into_iter()
            .map(|(_, (keys, states))| {
                let vals: Vec<Value> = s
                    .aggs
                    .iter()
                    .zip(states)
                    .map(|(a, st)| st.finish(a.p))
                    .collect();
                let ev = Evaluator {
                    env,
                    aggs: &vals,
                    bin_offset: 0,
                };
                let mut r = Row {
                    ts: 0,
                    ptr: String::new(),
                    fields: Vec::new(),
                };
                for (p, k) in s.by.iter().zip(keys) {
                    r.set(&p.name, k.clone());
                }
                for it in &s.items {
                    let v = ev.eval(&it.expr, &r);
                    r.set(&it.name, v);
                }
                if let Some(t) = keys.iter().find_map(|k| {
                    if let Value::Time(t) = k {
                        Some(*t)
                    } else {
                        None
                    }
                }) {
                    r.ts = t;
                }
                r
            })
            .collect()
    }
}

// ---------------- row collector ----------------

#[derive(Clone)]
pub struct Held {
    pub sk: Vec<Value>,
    pub dk: Option<Vec<String>>,
    pub row: Row,
}

pub fn held_cmp(a: &Held, b: &Held, order: &[SortKey]) -> Ordering {
    cmp_keys(&a.sk, &b.sk, order)
        .then_with(|| b.row.ts.cmp(&a.row.ts))
        .then_with(|| a.row.ptr.cmp(&b.row.ptr))
}

/// Sort, dedup and truncate held rows in place.
pub fn compact(rows: &mut Vec<Held>, order: &[SortKey], dedup: bool, bound: Option<usize>) {
    rows.sort_by(|a, b| held_cmp(a, b, order));
    if dedup {
        let mut seen = std::collections::HashSet::new();
        rows.retain(|h| match &h.dk {
            Some(k) => seen.insert(k.clone()),
            None => true,
        });
    }
    if let Some(b) = bound {
        rows.truncate(b);
    }
}

pub fn record_row(r: &Record<'_>, needs_json: bool) -> Row {
    let mut fields = vec![
        ("@timestamp".to_string(), Value::Time(r.timestamp)),
        ("@message".to_string(), Value::Str(r.message.to_string())),
        (
            "@logStream".to_string(),
            Value::Str(r.log_stream.to_string()),
        ),
        ("@log".to_string(), Value::Str(r.log.to_string())),
        ("@ingestionTime".to_string(), Value::Time(r.ingestion_time)),
        ("@ptr".to_string(), Value::Str(r.ptr.to_string())),
    ];
    if needs_json {
        crate::discover::flatten_message(r.message, &mut |k, v| {
            if !SYSTEM_FIELDS.contains(&k.as_str()) {
                fields.push((k, v));
            }
        });
    }
    Row {
        ts: r.timestamp,
        ptr: r.ptr.to_string(),
        fields,
    }
}

/// Render a final row: requested columns (or all fields), nulls omitted, `@ptr` last.
pub fn render_row(plan: &Plan, r: &Row) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let push = |name: &str, v: Value, out: &mut Vec<(String, String)>| {
        if !v.is_null() && !out.iter().any(|(k, _)| k == name) {
            out.push((name.to_string(), v.render()));
        }
    };
    match &plan.columns {
        Some(cols) => {
            for c in cols {
                push(c, r.get(c), &mut out);
            }
        }
        None => {
            for c in ["@timestamp", "@message", "@logStream", "@log"] {
                push(c, r.get(c), &mut out);
            }
            for (k, v) in &r.fields {
                if !SYSTEM_FIELDS.contains(&k.as_str()) {
                    push(k, v.clone(), &mut out);
                }
            }
        }
    }
    if plan.with_ptr && !r.ptr.is_empty() {
        out.retain(|(k, _)| k != "@ptr");
        out.push(("@ptr".to_string(), r.ptr.clone()));
    }
    out
}

pub fn env_of(ctx: &QueryContext) -> Env {
    Env {
        start_ms: ctx.start_ms,
        end_ms: ctx.end_ms,
        now_ms: ctx.now_ms,
    }
}
