//! Planning and execution: streaming prefix, mergeable collector, in-memory tail.

use crate::agg::AggState;
use crate::ast::*;
use crate::fieldscan::FieldScanner;
use crate::functions::Env;
use crate::value::{sort_cmp, text_of, Value};
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
        /// `anomaly` follows it.
        anomaly: bool,
    },
    /// `relevantfields`: the fields (every field of the rows but `skip` when empty) compared
    /// between the rows meeting `cond` and the others.
    Relevant {
        fields: Vec<String>,
        cond: Expr,
        skip: Vec<String>,
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
    /// Non-system field names the query may read or write, with every dotted prefix
    /// (`a.b.c` brings `a` and `a.b`): the only discovered fields a record row needs.
    pub wanted: Vec<String>,
    /// Which of [`SYSTEM_FIELDS`] a record row needs.
    pub sys: [bool; 6],
    /// Which of them a `stats` run's row needs once the leading filters are known to pass (a
    /// `filter @message like …` decided on the raw message needs no copy of it in the row).
    pub sys_passed: [bool; 6],
    /// Output rows show every field of their record (no `fields`/`display`/`stats`): held rows
    /// are completed from their record when the results are rendered.
    pub all_fields: bool,
    /// The streaming prefix keeps one row per record (no `unnest`).
    pub single_row: bool,
    /// Something reads a record's `@ptr` (record rows, the field, `earliest`/`latest`).
    pub needs_ptr: bool,
    /// Rows are kept newest first by record time alone (`sort @timestamp desc`, explicit or
    /// implied, and no command rewrites `@timestamp`): see `Execution::time_floor`.
    pub time_order: bool,
    /// `limit any n` right after the streaming prefix (no sort, dedup or stats before it):
    /// any n rows will do, so a scan may stop as soon as it holds n.
    pub limit_any: bool,
    /// Record rows carry every field from the start (a `join` whose rows show every field).
    pub full_rows: bool,
}

pub fn build_plan(cmds: Vec<Command>, default_limit_hint: Option<usize>) -> Plan {
    let _ = default_limit_hint;
    // output columns
    let mut cols: Option<Vec<String>> = None;
    let mut display: Option<Vec<String>> = None;
    let mut with_ptr = true;
    let mut has_limit = false;
    let mut names: Vec<String> = vec!["@timestamp".to_string()];
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
            Command::RelevantFields { .. } => {
                cols = Some(
                    crate::relevant::COLUMNS
                        .iter()
                        .map(|n| n.to_string())
                        .collect(),
                );
                display = None;
                with_ptr = false;
            }
            Command::Pattern(_) | Command::Diff(_) | Command::Anomaly => {
                let names = match c {
                    Command::Diff(_) => crate::pattern::DIFF_COLUMNS,
                    Command::Anomaly => crate::pattern::ANOMALY_COLUMNS,
                    _ => crate::pattern::PATTERN_COLUMNS,
                };
                cols = Some(names.iter().map(|n| n.to_string()).collect());
                display = None;
                with_ptr = false;
            }
            Command::Limit { .. } => has_limit = true,
            // A join names every field of both sides anew (`<alias>.<field>`): the fields a
            // `fields`, `display` or `stats` chose before it are no more; rows show whole.
            Command::Join(_) => {
                cols = None;
                display = None;
            }
            // After `fields` or `stats`, the looked-up columns join the output.
            Command::Lookup(l) => {
                if let Some(v) = cols.as_mut() {
                    for o in l.written() {
                        if !v.contains(o) {
                            v.push(o.clone());
                        }
                    }
                }
            }
            Command::CidrLookup(l) => {
                if let Some(v) = cols.as_mut() {
                    for (_, o) in &l.outputs {
                        if !v.contains(o) {
                            v.push(o.clone());
                        }
                    }
                }
            }
            // So do the fields a row command adds (after `display`, only those it names).
            Command::Rows(rc) => {
                for o in rc.writes() {
                    for v in [cols.as_mut(), display.as_mut()].into_iter().flatten() {
                        if !v.iter().any(|x| x == o) {
                            v.push(o.to_string());
                        }
                    }
                }
            }
            _ => {}
        }
        referenced_names(c, &mut |f| {
            if !names.iter().any(|n| n == f) {
                names.push(f.to_string());
            }
        });
    }
    // After a join, `<left>.<field>` is the left row's `<field>`.
    let join = cmds.iter().find_map(|c| match c {
        Command::Join(j) => Some(j.left.clone()),
        _ => None,
    });
    if let Some(left) = &join {
        let prefix = format!("{left}.");
        let stripped: Vec<String> = names
            .iter()
            .filter_map(|n| n.strip_prefix(&prefix).map(str::to_string))
            .collect();
        for n in stripped {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    let columns = display.or(cols);
    // A join showing every field joins whole records: their rows are built in full.
    // So do the records `relevantfields` reads every field of.
    let full_rows = (join.is_some() && columns.is_none())
        || cmds.iter().any(|c| {
            matches!(c, Command::RelevantFields { fields, .. } if fields.is_empty())
                // (flatten reads every `field.key` of the records)
                || matches!(c, Command::Rows(RowCmd::Flatten { .. }))
        });
    let all_fields = columns.is_none() && !full_rows;
    let mut wanted: Vec<String> = Vec::new();
    let mut sys = [false; 6];
    for n in &names {
        if let Some(i) = SYSTEM_FIELDS.iter().position(|s| s == n) {
            sys[i] = true;
            continue;
        }
        let mut end = n.len();
        loop {
            if !wanted.iter().any(|w| *w == n[..end]) {
                wanted.push(n[..end].to_string());
            }
            match n[..end].rfind('.') {
                Some(p) => end = p,
                None => break,
            }
        }
    }
    let mut sys_passed = [false; 6];
    sys_passed[0] = true;
    for c in cmds.iter().skip_while(|c| matches!(c, Command::Filter(_))) {
        referenced_names(c, &mut |f| {
            if let Some(i) = SYSTEM_FIELDS.iter().position(|s| *s == f) {
                sys_passed[i] = true;
            }
        });
    }
    let split = cmds
        .iter()
        .position(|c| !c.is_streaming())
        .unwrap_or(cmds.len());
    let mut rest = cmds;
    let tail_all = rest.split_off(split);
    let prefix = rest;
    let mut it = tail_all.into_iter().peekable();
    let mut limit_any = false;
    let collector = match it.peek() {
        Some(Command::Stats(_)) => match it.next() {
            Some(Command::Stats(s)) => Collector::Stats(s),
            _ => unreachable!(),
        },
        Some(Command::RelevantFields { .. }) => match it.next() {
            Some(Command::RelevantFields { fields, cond, skip }) => {
                Collector::Relevant { fields, cond, skip }
            }
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
            let anomaly = matches!(it.peek(), Some(Command::Anomaly));
            if anomaly {
                it.next();
            }
            Collector::Pattern {
                field,
                diff,
                anomaly,
            }
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
            if let Some(Command::Limit { n, any }) = it.peek() {
                bound = Some(*n);
                limit_any = *any && !explicit_sort && dedup.is_none();
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
    let single_row = !prefix.iter().any(|c| {
        matches!(
            c,
            Command::Unnest { .. }
                | Command::Expand(_)
                | Command::Join(_)
                | Command::Parse {
                    mode: ParseMode::Multi(_),
                    ..
                }
        )
    });
    let mut assigns_ts = false;
    for c in &prefix {
        let mut check = |n: &str| assigns_ts |= n == "@timestamp";
        match c {
            Command::Fields(ps) | Command::Display(ps) | Command::Eval(ps) => {
                ps.iter().for_each(|p| check(&p.name))
            }
            Command::Parse { mode, .. } => mode.names().into_iter().for_each(check),
            Command::Unnest { into, .. } => check(into),
            Command::Expand(name) | Command::Json { alias: name, .. } => check(name),
            Command::Lookup(l) => l.written().iter().for_each(|n| check(n)),
            Command::CidrLookup(l) => l.outputs.iter().for_each(|(_, n)| check(n)),
            _ => {}
        }
    }
    let time_order = !assigns_ts
        && matches!(&collector, Collector::Rows { order, .. }
            if matches!(order.as_slice(), [SortKey { expr: Expr::Field(f), desc: true }] if f == "@timestamp"));
    if !matches!(collector, Collector::Stats(_)) || join.is_some() {
        sys_passed = sys;
    }
    let needs_ptr = sys[5]
        || match &collector {
            Collector::Rows { .. } => true,
            Collector::Stats(st) => st
                .aggs
                .iter()
                .any(|a| matches!(a.kind, AggKind::Earliest | AggKind::Latest | AggKind::Take)),
            Collector::Pattern { .. } | Collector::Relevant { .. } => false,
        };
    Plan {
        needs_ptr,
        prefix,
        collector,
        tail,
        columns,
        with_ptr,
        has_limit,
        wanted,
        sys,
        sys_passed,
        all_fields,
        single_row,
        time_order,
        limit_any,
        full_rows,
    }
}

/// Every name a command may look a row up by or write: fields in expressions, a call's text
/// (a stats column is found by it), and the names `fields`, `display`, `parse` and `unnest`
/// assign (`stats` builds new rows).
pub(crate) fn referenced_names(c: &Command, f: &mut dyn FnMut(&str)) {
    visit_fields(c, f);
    let mut calls = |e: &Expr| visit_calls(e, f);
    match c {
        Command::Fields(ps) | Command::Display(ps) | Command::Eval(ps) => {
            ps.iter().for_each(|p| calls(&p.expr))
        }
        Command::Filter(e) => calls(e),
        Command::Stats(s) => {
            s.aggs
                .iter()
                .filter_map(|a| a.arg.as_ref())
                .for_each(&mut calls);
            s.by.iter().for_each(|p| calls(&p.expr));
            s.items.iter().for_each(|p| calls(&p.expr));
        }
        Command::Sort(k) => k.iter().for_each(|k| calls(&k.expr)),
        Command::Parse { field, .. } => calls(field),
        Command::Dedup(d) => d.iter().for_each(&mut calls),
        Command::Unnest { field, .. } | Command::Pattern(field) => calls(field),
        Command::Json { value, .. } => calls(value),
        Command::RelevantFields { cond, .. } => calls(cond),
        Command::Lookup(l) => l.keys.iter().for_each(|(_, e)| calls(e)),
        Command::Limit { .. }
        | Command::Skip(_)
        | Command::Diff(_)
        | Command::Anomaly
        | Command::Join(_)
        | Command::Expand(_)
        | Command::CidrLookup(_)
        | Command::Rows(_) => {}
    }
    match c {
        Command::Fields(ps) | Command::Display(ps) | Command::Eval(ps) => {
            ps.iter().for_each(|p| f(&p.name))
        }
        Command::Parse { mode, .. } => mode.names().into_iter().for_each(&mut *f),
        Command::Unnest { into, .. } => f(into),
        Command::Expand(name) | Command::Json { alias: name, .. } => f(name),
        Command::Lookup(l) => l.written().iter().for_each(|n| f(n)),
        Command::Rows(rc) => rc.writes().into_iter().for_each(&mut *f),
        Command::CidrLookup(l) => l.outputs.iter().for_each(|(_, n)| f(n)),
        _ => {}
    }
}

/// Whether `e` calls a function that reads its record's time without naming it (`bin`).
pub(crate) fn reads_record_time(e: &Expr) -> bool {
    match e {
        Expr::Call { name, args, .. } => {
            name.eq_ignore_ascii_case("bin") || args.iter().any(reads_record_time)
        }
        Expr::Neg(a) | Expr::Not(a) => reads_record_time(a),
        Expr::Bin(_, a, b) | Expr::Index(a, b) => reads_record_time(a) || reads_record_time(b),
        Expr::Like { expr, pat, .. } => reads_record_time(expr) || reads_record_time(pat),
        Expr::In { expr, list, .. } => {
            reads_record_time(expr) || list.iter().any(reads_record_time)
        }
        Expr::InSub { expr, .. } => reads_record_time(expr),
        Expr::List(l) => l.iter().any(reads_record_time),
        _ => false,
    }
}

fn visit_calls(e: &Expr, f: &mut dyn FnMut(&str)) {
    match e {
        Expr::Call { args, text, .. } => {
            f(text);
            args.iter().for_each(|x| visit_calls(x, f))
        }
        Expr::Neg(a) | Expr::Not(a) => visit_calls(a, f),
        Expr::Bin(_, a, b) | Expr::Index(a, b) => {
            visit_calls(a, f);
            visit_calls(b, f)
        }
        Expr::Like { expr, pat, .. } => {
            visit_calls(expr, f);
            visit_calls(pat, f)
        }
        Expr::In { expr, list, .. } => {
            visit_calls(expr, f);
            list.iter().for_each(|x| visit_calls(x, f))
        }
        Expr::InSub { expr, .. } => visit_calls(expr, f),
        Expr::List(l) => l.iter().for_each(|x| visit_calls(x, f)),
        _ => {}
    }
}

fn visit_fields(c: &Command, f: &mut dyn FnMut(&str)) {
    let mut ex = |e: &Expr| visit_expr(e, f);
    match c {
        Command::Fields(ps) | Command::Display(ps) | Command::Eval(ps) => {
            ps.iter().for_each(|p| ex(&p.expr))
        }
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
        // An array discovery did not keep is read from the message.
        Command::Expand(field) => {
            f(field);
            f("@message");
        }
        Command::Json { value, .. } => ex(value),
        Command::RelevantFields { fields, cond, .. } => {
            ex(cond);
            fields.iter().for_each(|n| f(n));
        }
        Command::Rows(rc) => rc.reads().into_iter().for_each(&mut *f),
        Command::CidrLookup(l) => f(&l.ip),
        Command::Lookup(l) => l.keys.iter().for_each(|(_, e)| ex(e)),
        Command::Join(j) => f(&j.left_key),
        Command::Limit { .. } | Command::Skip(_) | Command::Diff(_) | Command::Anomaly => {}
    }
}

pub(crate) fn visit_expr(e: &Expr, f: &mut dyn FnMut(&str)) {
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
        Expr::InSub { expr, .. } => visit_expr(expr, f),
        Expr::List(l) | Expr::Call { args: l, .. } => l.iter().for_each(|x| visit_expr(x, f)),
        _ => {}
    }
}

// ---------------- streaming commands ----------------

/// Apply one row-level command to a batch of rows (also used for the in-memory tail).
pub fn apply(cmd: &Command, rows: Vec<Row>, ev: &Evaluator) -> Vec<Row> {
    match cmd {
        Command::Fields(ps) | Command::Display(ps) | Command::Eval(ps) => rows
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
        Command::Parse {
            field,
            mode: ParseMode::Multi(re),
        } => {
            let mut out = Vec::new();
            for r in rows {
                let Some(src) = ev.eval(field, &r).as_str() else {
                    out.push(r);
                    continue;
                };
                let before = out.len();
                for c in re.re.captures_iter(&src) {
                    let mut x = r.clone();
                    for (i, n) in &re.names {
                        if let Some(m) = c.get(*i) {
                            x.set_str(n, m.as_str());
                        }
                    }
                    out.push(x);
                }
                if out.len() == before {
                    out.push(r);
                }
            }
            out
        }
        Command::Parse { field, mode } => rows
            .into_iter()
            .map(|mut r| {
                let Some(src) = ev.eval(field, &r).as_str() else {
                    return r;
                };
                parse_into(mode, &src, &mut r);
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
        Command::Expand(field) => {
            let mut out = Vec::new();
            for r in rows {
                if out.len() >= MAX_EXPANDED_TOTAL {
                    break;
                }
                match expand_items(field, &r) {
                    Some(items) => {
                        let room = MAX_EXPANDED_TOTAL - out.len();
                        for it in items.into_iter().take(MAX_EXPANDED.min(room)) {
                            let mut c = r.clone();
                            c.set(field, it);
                            out.push(c);
                        }
                    }
                    None => out.push(r),
                }
            }
            out
        }
        Command::Rows(rc) => crate::rowcmds::apply(rc, rows, ev.env),
        Command::RelevantFields { fields, cond, skip } => {
            let mut rel = crate::relevant::Relevance::default();
            for r in &rows {
                rel.add(r, fields, skip, ev.eval(cond, r).truthy());
            }
            rel.finish()
        }
        Command::CidrLookup(l) => rows
            .into_iter()
            .map(|mut r| {
                cidr_row(l, &mut r);
                r
            })
            .collect(),
        Command::Json { value, alias } => rows
            .into_iter()
            .map(|mut r| {
                json_into(value, alias, &mut r, ev);
                r
            })
            .collect(),
        Command::Sort(keys) => {
            let mut keyed: Vec<(Vec<Value>, Row)> = rows
                .into_iter()
                .map(|r| (keys.iter().map(|k| ev.eval(&k.expr, &r)).collect(), r))
                .collect();
            keyed.sort_by(|a, b| cmp_keys(&a.0, &b.0, keys));
            keyed.into_iter().map(|x| x.1).collect()
        }
        Command::Limit { n, .. } => rows.into_iter().take(*n).collect(),
        Command::Skip(n) => rows.into_iter().skip(*n).collect(),
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
        // The parser only accepts `diff` and `anomaly` directly after the collecting `pattern`,
        // which takes them.
        Command::Diff(_) | Command::Anomaly => rows,
        Command::Lookup(l) => rows
            .into_iter()
            .map(|mut r| {
                lookup_row(l, &mut r, ev);
                r
            })
            .collect(),
        Command::Join(j) => {
            let mut out = Vec::new();
            for r in rows {
                join_row(j, r, &mut out);
            }
            out
        }
        Command::Stats(s) => {
            let mut g = Groups::default();
            for r in &rows {
                g.push(s, r, ev.env);
            }
            g.finish(s, ev.env)
        }
    }
}

/// `lookup` on one row: the output columns of the table row whose key columns equal the row's
/// fields (as text), when there is one.
fn lookup_row(l: &LookupCmd, r: &mut Row, ev: &Evaluator) {
    let Some(data) = &l.data else {
        return;
    };
    let mut key = Vec::with_capacity(l.keys.len());
    for (_, e) in &l.keys {
        let v = ev.eval(e, r);
        // (An eventstats lookup's keys are `Value::key`s, as its groups were made.)
        if l.from_sub.is_some() {
            if v.is_null() {
                return;
            }
            key.push(v.text_key());
            continue;
        }
        match text_of(&v) {
            Some(t) => key.push(t.into_owned()),
            None => return,
        }
    }
    if let Some(values) = data.rows.get(&key) {
        for (n, v) in l.written().iter().zip(values) {
            // (An eventstats aggregate without a value stays unset.)
            if l.from_sub.is_none() || !v.is_empty() {
                r.set_str(n, v);
            }
        }
    }
}

/// `cidrlookup`: the columns of the most specific range holding the row's address.
fn cidr_row(l: &CidrLookupCmd, r: &mut Row) {
    let Some(data) = &l.data else {
        return;
    };
    let Some(addr) = text_of(&r.get(&l.ip)).and_then(|t| t.trim().parse().ok()) else {
        return;
    };
    let Some(values) = data.find(addr) else {
        return;
    };
    for ((_, field), v) in l.outputs.iter().zip(values) {
        let has = r
            .get_ref(field)
            .is_some_and(|x| !x.is_null() && text_of(x).is_none_or(|t| !t.is_empty()));
        if !(l.new_only && has) {
            r.set_str(field, v);
        }
    }
}

/// Gives every `x in (subquery i)` in `e` the subquery's values.
pub fn attach_set(e: &mut Expr, i: usize, set: &std::sync::Arc<std::collections::HashSet<String>>) {
    walk_mut(e, &mut |x| {
        if let Expr::InSub { sub, set: s, .. } = x {
            if *sub == i {
                *s = Some(set.clone());
            }
        }
        false
    });
}

/// Replaces every `ppl_scalar(j)` call in `e` by `literal` (SQL's scalar subquery j's value).
pub fn replace_scalar(e: &mut Expr, j: usize, literal: &Expr) {
    walk_mut(e, &mut |x| match x {
        Expr::Call { name, args, .. }
            if name == "ppl_scalar"
                && matches!(args.as_slice(), [Expr::Num(n)] if *n == j as f64) =>
        {
            *x = literal.clone();
            true
        }
        _ => false,
    });
}

/// Calls `f` on `e` and, unless it answers true (it replaced the node), on every expression
/// inside it.
pub(crate) fn walk_mut(e: &mut Expr, f: &mut dyn FnMut(&mut Expr) -> bool) {
    if f(e) {
        return;
    }
    match e {
        Expr::Neg(a) | Expr::Not(a) => walk_mut(a, f),
        Expr::Bin(_, a, b) | Expr::Index(a, b) => {
            walk_mut(a, f);
            walk_mut(b, f);
        }
        Expr::Like { expr, pat, .. } => {
            walk_mut(expr, f);
            walk_mut(pat, f);
        }
        Expr::In { expr, list, .. } => {
            walk_mut(expr, f);
            list.iter_mut().for_each(|x| walk_mut(x, f));
        }
        Expr::InSub { expr, .. } => walk_mut(expr, f),
        Expr::List(l) | Expr::Call { args: l, .. } => l.iter_mut().for_each(|x| walk_mut(x, f)),
        _ => {}
    }
}

/// Calls `f` on every expression a command evaluates on rows (filters, projections, sort and
/// dedup keys).
pub fn command_exprs_mut(c: &mut Command, f: &mut dyn FnMut(&mut Expr)) {
    match c {
        Command::Filter(e) => f(e),
        Command::Fields(ps) | Command::Display(ps) | Command::Eval(ps) => {
            ps.iter_mut().for_each(|p| f(&mut p.expr))
        }
        Command::Sort(keys) => keys.iter_mut().for_each(|k| f(&mut k.expr)),
        Command::Dedup(es) => es.iter_mut().for_each(&mut *f),
        Command::Stats(st) => stats_exprs_mut(st, f),
        _ => {}
    }
}

/// [`command_exprs_mut`] for a `stats`: its items, keys and aggregates' arguments.
pub fn stats_exprs_mut(st: &mut StatsCmd, f: &mut dyn FnMut(&mut Expr)) {
    st.items
        .iter_mut()
        .chain(st.by.iter_mut())
        .for_each(|p| f(&mut p.expr));
    st.aggs
        .iter_mut()
        .filter_map(|a| a.arg.as_mut())
        .for_each(f);
}

/// The plan of a join's right side: the records holding the key, with the fields the outer
/// plan reads as `<right>.<field>` (every field when the outer rows show every field).
pub fn join_right_plan(outer: &Plan, right: &str, key: &str) -> Plan {
    let present = Expr::Call {
        name: "ispresent".into(),
        args: vec![Expr::Field(key.to_string())],
        text: format!("ispresent({key})"),
    };
    let mut cmds = vec![Command::Filter(present)];
    if !outer.full_rows {
        let prefix = format!("{right}.");
        let mut names: Vec<String> = vec![key.to_string()];
        for n in &outer.wanted {
            if let Some(f) = n.strip_prefix(&prefix) {
                if !names.iter().any(|x| x == f) {
                    names.push(f.to_string());
                }
            }
        }
        cmds.push(Command::Fields(
            names
                .into_iter()
                .map(|n| Proj {
                    expr: Expr::Field(n.clone()),
                    name: n,
                })
                .collect(),
        ));
    }
    build_plan(cmds, None)
}

/// `join` of one row: a row per right-side row with the same key (all fields named with
/// their side's alias), or for a left join without a match the row's own fields alone.
fn join_row(j: &JoinCmd, r: Row, out: &mut Vec<Row>) {
    let key = r
        .get_ref(&j.left_key)
        .filter(|v| !v.is_null())
        .map(Value::key);
    let matches = key
        .as_ref()
        .and_then(|k| j.data.as_ref().and_then(|d| d.rows.get(k)));
    if matches.is_none() && j.inner {
        return;
    }
    let Row {
        ts, ptr, fields, ..
    } = r;
    let left: Vec<(String, Value)> = fields
        .into_iter()
        .map(|(k, v)| (format!("{}.{k}", j.left), v))
        .collect();
    match matches {
        Some(rights) => {
            for right in rights {
                let mut f = left.clone();
                f.extend(right.iter().cloned());
                out.push(Row::new(ts, ptr.clone(), f));
            }
        }
        None => out.push(Row::new(ts, ptr, left)),
    }
}

/// One `parse` of `src` into the row (every mode but `multi`, which makes rows).
/// The fields a `parse` with a pattern (glob or regex) assigns from `src`, as `f(name, value)`
/// in the order [`parse_into`] sets them; other modes assign nothing here.
pub(crate) fn parse_captures(mode: &ParseMode, src: &str, f: &mut dyn FnMut(&str, &str)) {
    match mode {
        ParseMode::Glob(re, names) => {
            crate::captures::captures(&re.re, re.fast.as_deref(), src, &mut |i, m| {
                if let Some(n) = i.checked_sub(1).and_then(|i| names.get(i)) {
                    f(n, m);
                }
            });
        }
        ParseMode::Regex(re) | ParseMode::Multi(re) => {
            crate::captures::captures(&re.re, re.fast.as_deref(), src, &mut |i, m| {
                for (_, n) in re.names.iter().filter(|(g, _)| *g == i) {
                    f(n, m);
                }
            });
        }
        ParseMode::Logfmt(_) | ParseMode::Csv(_) => {}
    }
}

fn parse_into(mode: &ParseMode, src: &str, r: &mut Row) {
    match mode {
        ParseMode::Glob(..) | ParseMode::Regex(_) | ParseMode::Multi(_) => {
            parse_captures(mode, src, &mut |n, m| r.set_str(n, m));
        }
        ParseMode::Logfmt(alias) => {
            let pairs = crate::textparse::logfmt(src);
            if !pairs.is_empty() {
                let map = pairs.into_iter().map(|(k, v)| (k, Value::Str(v))).collect();
                r.set(alias, Value::Map(map));
            }
        }
        ParseMode::Csv(names) => {
            for (n, v) in names.iter().zip(crate::textparse::csv_line(src)) {
                r.set_str(n, &v);
            }
        }
    }
}

/// Most rows `expand` makes of one row (each a copy of it).
const MAX_EXPANDED: usize = 10_000;
/// Most rows one `expand` gives in all (SQL's chained LATERAL VIEWs multiply).
const MAX_EXPANDED_TOTAL: usize = 1_000_000;

/// `json field=… as alias`: the alias set to the value found, left as it is when none is.
fn json_into(value: &Expr, alias: &str, r: &mut Row, ev: &Evaluator) {
    let v = ev.eval(value, r);
    if !v.is_null() {
        r.set(alias, v);
    }
}

/// The elements `expand field` makes rows of: the field's list (`jsonParse`), the JSON array its
/// text holds, or — discovery keeps no arrays, only their elements (`items.0`) — the array at
/// the field's dotted path in the JSON message. `None` (the row stays as it is) when the value
/// is no array; an empty array makes no rows.
fn expand_items(field: &str, r: &Row) -> Option<Vec<Value>> {
    let array = |text: &str| match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Array(a)) => Some(a.iter().map(expanded).collect()),
        _ => None,
    };
    match r.get(field) {
        Value::List(items) => Some(items),
        Value::Str(text) => array(&text),
        Value::Null => {
            let message = r.get("@message").as_str()?;
            match crate::functions::json_at_path(&message, field)? {
                serde_json::Value::Array(a) => Some(a.iter().map(expanded).collect()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// An array element as `expand` gives it: scalars as text, as discovered fields are; objects
/// and arrays as maps and lists (`items.name` reads into them).
fn expanded(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Number(n) => Value::Str(n.to_string()),
        serde_json::Value::Bool(b) => Value::Str(b.to_string()),
        other => crate::functions::from_json(other),
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

// ---------------- single-row prefix ----------------

/// Apply one streaming command to a single row in place (the prefix without `unnest`); false
/// when a filter drops the row. `tmp` is a reusable buffer.
pub fn apply_one(cmd: &Command, r: &mut Row, ev: &Evaluator, tmp: &mut String) -> bool {
    match cmd {
        Command::Filter(e) => ev.eval(e, r).truthy(),
        Command::Lookup(l) => {
            lookup_row(l, r, ev);
            true
        }
        Command::CidrLookup(l) => {
            cidr_row(l, r);
            true
        }
        Command::Fields(ps) | Command::Display(ps) | Command::Eval(ps) => {
            for p in ps {
                if !matches!(&p.expr, Expr::Field(f) if *f == p.name) {
                    let v = ev.eval(&p.expr, r);
                    r.set(&p.name, v);
                }
            }
            true
        }
        Command::Json { value, alias } => {
            json_into(value, alias, r, ev);
            true
        }
        Command::Parse { field, mode } => {
            {
                let v = ev.eval_ref(field, r);
                let Some(src) = text_of(&v) else {
                    return true;
                };
                tmp.clear();
                tmp.push_str(&src);
            }
            parse_into(mode, tmp, r);
            true
        }
        other => {
            let rows = apply(other, vec![std::mem::take(r)], ev);
            match rows.into_iter().next() {
                Some(x) => {
                    *r = x;
                    true
                }
                None => false,
            }
        }
    }
}

// ---------------- stats groups ----------------

/// One group: its key strings (for ordering ties), key values and partial aggregates.
#[derive(Clone)]
pub struct Group {
    ks: Vec<String>,
    keys: Vec<Value>,
    states: Vec<AggState>,
}

/// Group keys and their partial aggregates, found by an encoding of the key strings built in
/// a reused buffer (no allocation per record for a known group).
#[derive(Default, Clone)]
pub struct Groups {
    index: HashMap<String, usize, foldhash::fast::RandomState>,
    groups: Vec<Group>,
    buf: String,
    part: String,
}

/// Appends one key component, length-suffixed so that component boundaries are unambiguous.
fn encode_part(buf: &mut String, part: &str) {
    use std::fmt::Write;
    buf.push_str(part);
    let _ = write!(buf, "\u{0}{:x};", part.len());
}

impl Groups {
    pub fn push(&mut self, s: &StatsCmd, r: &Row, env: &Env) {
        let g = self.index_of(s, r, env);
        let states = &mut self.groups[g].states;
        let ev = Evaluator {
            env,
            aggs: &[],
            bin_offset: s.offset_ms,
        };
        for (a, st) in s.aggs.iter().zip(states.iter_mut()) {
            match &a.arg {
                Some(e) => {
                    let v = ev.eval_ref(e, r);
                    st.update(a.kind, &v, r.ts, &r.ptr, &mut self.part);
                }
                None => st.update(a.kind, &Value::Null, r.ts, &r.ptr, &mut self.part),
            }
        }
    }

    /// The partial aggregates of group `g` ([`Groups::index_of`]).
    pub fn states_mut(&mut self, g: usize) -> &mut [AggState] {
        &mut self.groups[g].states
    }

    /// The group row `r` belongs to, created if new.
    pub fn index_of(&mut self, s: &StatsCmd, r: &Row, env: &Env) -> usize {
        // Without `by` there is one group, under the empty key.
        if s.by.is_empty() && !self.groups.is_empty() {
            return 0;
        }
        let ev = Evaluator {
            env,
            aggs: &[],
            bin_offset: s.offset_ms,
        };
        self.buf.clear();
        let mut vals: [Option<std::borrow::Cow<'_, Value>>; 4] = Default::default();
        let few = s.by.len() <= vals.len();
        for (i, p) in s.by.iter().enumerate() {
            let v = ev.eval_ref(&p.expr, r);
            v.key_into(&mut self.part);
            encode_part(&mut self.buf, &self.part);
            if few {
                vals[i] = Some(v);
            }
        }
        let g = match self.index.get(self.buf.as_str()) {
            Some(&g) => g,
            None => {
                let keys: Vec<Value> = if few {
                    vals.iter_mut()
                        .take(s.by.len())
                        .map(|v| v.take().map(|v| v.into_owned()).unwrap_or(Value::Null))
                        .collect()
                } else {
                    s.by.iter().map(|p| ev.eval(&p.expr, r)).collect()
                };
                let ks = keys.iter().map(Value::key).collect();
                self.groups.push(Group {
                    ks,
                    keys,
                    states: s.aggs.iter().map(AggState::for_spec).collect(),
                });
                self.index.insert(self.buf.clone(), self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        g
    }

    pub fn merge(&mut self, s: &StatsCmd, o: Groups) {
        for grp in o.groups {
            self.buf.clear();
            for k in &grp.ks {
                encode_part(&mut self.buf, k);
            }
            match self.index.get(self.buf.as_str()) {
                Some(&g) => {
                    let mine = &mut self.groups[g].states;
                    for ((a, m), t) in s.aggs.iter().zip(mine.iter_mut()).zip(grp.states) {
                        m.merge(a.kind, t);
                    }
                }
                None => {
                    self.index.insert(self.buf.clone(), self.groups.len());
                    self.groups.push(grp);
                }
            }
        }
    }

    /// Final rows, ordered by group keys (ascending, natural order).
    pub fn finish(&self, s: &StatsCmd, env: &Env) -> Vec<Row> {
        // No record: with `one_row`, the aggregates over nothing.
        let empty;
        let mut groups: Vec<&Group> = self.groups.iter().collect();
        if groups.is_empty() && s.one_row && s.by.is_empty() {
            empty = Group {
                ks: Vec::new(),
                keys: Vec::new(),
                states: s.aggs.iter().map(AggState::for_spec).collect(),
            };
            groups.push(&empty);
        }
        groups.sort_by(|a, b| {
            let o = a
                .keys
                .iter()
                .zip(b.keys.iter())
                .map(|(x, y)| sort_cmp(x, y, false))
                .find(|o| *o != Ordering::Equal);
            o.unwrap_or(Ordering::Equal).then_with(|| a.ks.cmp(&b.ks))
        });
        groups
            .into_iter()
            .map(|grp| {
                let vals: Vec<Value> = s
                    .aggs
                    .iter()
                    .zip(&grp.states)
                    .map(|(a, st)| st.finish(a.kind, a.p))
                    .collect();
                let ev = Evaluator {
                    env,
                    aggs: &vals,
                    bin_offset: 0,
                };
                let mut r = Row::default();
                for (p, k) in s.by.iter().zip(&grp.keys) {
                    r.set(&p.name, k.clone());
                }
                for it in &s.items {
                    let v = ev.eval(&it.expr, &r);
                    r.set(&it.name, v);
                }
                if let Some(t) = grp.keys.iter().find_map(|k| {
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

/// What a held row needs from its record to show every field at the end.
#[derive(Clone, Debug)]
pub struct HeldRecord {
    pub ingestion_time: i64,
    pub message: String,
    pub log_stream: String,
    pub log: String,
}

#[derive(Clone)]
pub struct Held {
    pub sk: Vec<Value>,
    pub dk: Option<Vec<String>>,
    pub row: Row,
    /// Set when the output shows every field ([`Plan::all_fields`]).
    pub rec: Option<Box<HeldRecord>>,
}

/// The order of held rows: sort keys, then newest first, then `@ptr`.
pub fn key_cmp(a: (&[Value], i64, &str), b: (&[Value], i64, &str), order: &[SortKey]) -> Ordering {
    cmp_keys(a.0, b.0, order)
        .then_with(|| b.1.cmp(&a.1))
        .then_with(|| a.2.cmp(b.2))
}

pub fn held_cmp(a: &Held, b: &Held, order: &[SortKey]) -> Ordering {
    key_cmp(
        (&a.sk, a.row.ts, &a.row.ptr),
        (&b.sk, b.row.ts, &b.row.ptr),
        order,
    )
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

/// The full row of a record: the six system fields and every discovered field.
pub fn record_row(r: &Record<'_>) -> Row {
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
    // The validating scanner finds every field as full discovery does, without building the
    // message as a JSON tree (it falls back to that itself for anything unusual).
    thread_local! {
        static SCANNER: std::cell::RefCell<FieldScanner> = std::cell::RefCell::default();
    }
    SCANNER.with(|s| {
        s.borrow_mut().extract_all(r.message, &mut |k, v| {
            if !SYSTEM_FIELDS.contains(&k) {
                fields.push((k.to_string(), Value::Str(v.to_string())));
            }
        })
    });
    Row::new(r.timestamp, r.ptr.to_string(), fields)
}

/// Fill `row` (recycled) with the fields of `r` the plan reads: the needed system fields, then
/// the wanted discovered fields, in the order [`record_row`] has them. Every name a query can
/// read or write is in the plan, so every operation sees the same values as on the full row.
pub fn fill_row(r: &Record<'_>, plan: &Plan, scan: &mut FieldScanner, row: &mut Row) {
    fill_row_with(r, plan, &plan.wanted, scan, row);
}

/// [`fill_row`] with the discovered fields of `wanted` only (which holds every dotted prefix
/// of its names).
pub fn fill_row_with(
    r: &Record<'_>,
    plan: &Plan,
    wanted: &[String],
    scan: &mut FieldScanner,
    row: &mut Row,
) {
    fill_system(r, &plan.sys, row);
    scan.extract_marked(r.message, r.flat, wanted, &mut |k, v| row.push_str(k, v));
}

/// [`fill_row`] for a record known to pass the leading filters: the system fields of
/// [`Plan::sys_passed`].
pub fn fill_row_passed(r: &Record<'_>, plan: &Plan, scan: &mut FieldScanner, row: &mut Row) {
    fill_system(r, &plan.sys_passed, row);
    scan.extract_marked(r.message, r.flat, &plan.wanted, &mut |k, v| {
        row.push_str(k, v)
    });
}

/// Recycle `row` for record `r` with the system fields the plan needs.
fn fill_system(r: &Record<'_>, sys: &[bool; 6], row: &mut Row) {
    row.recycle();
    row.ts = r.timestamp;
    row.ptr.clear();
    row.ptr.push_str(r.ptr);
    for (i, name) in SYSTEM_FIELDS.iter().enumerate() {
        if !sys[i] {
            continue;
        }
        match i {
            0 => row.push(name, Value::Time(r.timestamp)),
            1 => row.push_str(name, r.message),
            2 => row.push_str(name, r.log_stream),
            3 => row.push_str(name, r.log),
            4 => row.push(name, Value::Time(r.ingestion_time)),
            _ => row.push_str(name, r.ptr),
        }
    }
}

/// [`fill_row`] with the discovered fields given (`values[i]` is `plan.wanted[i]`'s value)
/// instead of found in the message. Names are unique, so the order they go in changes nothing
/// a query without whole records can see.
pub fn fill_row_from(r: &Record<'_>, plan: &Plan, values: &[Option<&str>], row: &mut Row) {
    fill_system(r, &plan.sys, row);
    for (name, v) in plan.wanted.iter().zip(values) {
        if let Some(v) = v {
            row.push_str(name, v);
        }
    }
}

/// The row a held row stands for when every field is shown: its record's full row with the
/// held row's fields laid over it. The held row has exactly the full row's entries for each
/// name it carries (in order) plus the ones commands appended, so each of its entries takes
/// the next place of that name in the full row, or goes at the end.
pub fn complete(row: &Row, rec: &HeldRecord) -> Row {
    let full = record_row(&Record {
        timestamp: row.ts,
        ingestion_time: rec.ingestion_time,
        message: &rec.message,
        log_stream: &rec.log_stream,
        log: &rec.log,
        ptr: &row.ptr,
        flat: false,
    });
    let mut fields = full.fields;
    let mut used = vec![false; fields.len()];
    for (k, v) in &row.fields {
        match (0..fields.len()).find(|&i| !used[i] && fields[i].0 == *k) {
            Some(i) => {
                used[i] = true;
                fields[i].1 = v.clone();
            }
            None => {
                fields.push((k.clone(), v.clone()));
                used.push(true);
            }
        }
    }
    Row::new(row.ts, row.ptr.clone(), fields)
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
            // (Hidden columns a translation sets, named from a control character, never show.)
            for (k, v) in &r.fields {
                if !SYSTEM_FIELDS.contains(&k.as_str())
                    && !k.starts_with(crate::translate::PLACEHOLDER)
                {
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
