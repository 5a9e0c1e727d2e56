//! The row-sequence commands ([`RowCmd`]) over the rows a query holds, in their order.

use crate::ast::{Frame, FrameBound, FrameUnits, RowCmd, WindowAgg, WindowFn};
use crate::datetime::next_period;
use crate::eval::Row;
use crate::functions::{floor_period, Env};
use crate::value::{fmt_num, sort_cmp, Value};
use std::collections::{HashMap, HashSet};

/// The field `outlier … mark=true` sets on every row: whether it is an outlier.
pub(crate) const OUTLIER_MARK: &str = "_outlier";

/// Most rows `fillmissing` inserts (the results are cut to the query's row limit anyway).
const MAX_FILLED: usize = 100_000;

/// Runs `cmd` over `rows` (`env`: the query's time range).
pub(crate) fn apply(cmd: &RowCmd, mut rows: Vec<Row>, env: &Env) -> Vec<Row> {
    match cmd {
        RowCmd::FillMissing {
            bin,
            period,
            offset_ms,
            keys,
            fills,
        } => fill_missing(rows, env, bin, *period, *offset_ms, keys, fills),
        RowCmd::AddTotals {
            name,
            row,
            col,
            fields,
        } => add_totals(rows, name, *row, *col, fields),
        RowCmd::FillDown(patterns) => {
            let mut last: Vec<(String, Value)> = Vec::new();
            for r in &mut rows {
                // Each matching field this row has becomes the one to carry on.
                for (k, v) in &r.fields {
                    if !v.is_null() && matches_any(patterns, k) {
                        match last.iter_mut().find(|(n, _)| n == k) {
                            Some(slot) => slot.1 = v.clone(),
                            None => last.push((k.clone(), v.clone())),
                        }
                    }
                }
                for (k, v) in &last {
                    if r.get_ref(k).is_none_or(Value::is_null) {
                        r.set(k, v.clone());
                    }
                }
            }
            rows
        }
        RowCmd::Accum { field, out } => {
            let mut sum = 0.0;
            for r in &mut rows {
                if let Some(x) = r.get(field).as_num() {
                    sum += x;
                    r.set(out, Value::Num(sum));
                }
            }
            rows
        }
        RowCmd::Trendline {
            n,
            field,
            out,
            weighted,
        } => {
            let values: Vec<Option<f64>> = rows.iter().map(|r| r.get(field).as_num()).collect();
            for (i, r) in rows.iter_mut().enumerate() {
                if i + 1 < *n {
                    continue;
                }
                let window = &values[i + 1 - n..=i];
                if *weighted {
                    // Weights 1..=n, the oldest row first; a row without a number: no value.
                    let sum: Option<f64> = window
                        .iter()
                        .enumerate()
                        .map(|(k, x)| x.map(|x| x * (k + 1) as f64))
                        .sum();
                    if let Some(sum) = sum {
                        r.set(out, Value::Num(sum / (n * (n + 1) / 2) as f64));
                    }
                    continue;
                }
                // The window's numbers (rows without one do not count).
                let (sum, count) = window
                    .iter()
                    .flatten()
                    .fold((0.0, 0usize), |(s, c), x| (s + x, c + 1));
                if count > 0 {
                    r.set(out, Value::Num(sum / count as f64));
                }
            }
            rows
        }
        RowCmd::Autoregress { field, lags } => {
            let values: Vec<Value> = rows.iter().map(|r| r.get(field)).collect();
            for (i, r) in rows.iter_mut().enumerate() {
                for (k, name) in lags {
                    if let Some(v) = i.checked_sub(*k).map(|j| &values[j]) {
                        if !v.is_null() {
                            r.set(name, v.clone());
                        }
                    }
                }
            }
            rows
        }
        RowCmd::Sessionize { keys, gap_ms, out } => sessionize(rows, keys, *gap_ms, out),
        RowCmd::Window {
            func,
            partition,
            order,
            frame,
            out,
        } => window(rows, func, partition, order, frame.as_ref(), out),
        RowCmd::Dedup {
            keys,
            keep,
            keepempty,
            consecutive,
            null_key,
        } => {
            let mut counts: HashMap<Vec<String>, usize> = HashMap::new();
            let mut run: Option<(Vec<String>, usize)> = None;
            rows.into_iter()
                .filter(|r| {
                    let values: Vec<Value> = keys.iter().map(|k| r.get(k)).collect();
                    if !*null_key && values.iter().any(Value::is_null) {
                        return *keepempty;
                    }
                    let key: Vec<String> = values.iter().map(Value::text_key).collect();
                    if *consecutive {
                        match &mut run {
                            Some((k, n)) if *k == key => {
                                *n += 1;
                                *n <= *keep
                            }
                            _ => {
                                run = Some((key, 1));
                                true
                            }
                        }
                    } else {
                        let n = counts.entry(key).or_insert(0);
                        *n += 1;
                        *n <= *keep
                    }
                })
                .collect()
        }
        RowCmd::Flatten { field, aliases } => rows
            .into_iter()
            .flat_map(|r| flatten(r, field, aliases))
            .collect(),
        RowCmd::AppendCols {
            overwrite,
            rows: Some(extra),
            ..
        } => {
            for (i, cells) in extra.iter().enumerate() {
                if i == rows.len() {
                    rows.push(Row::new(0, String::new(), Vec::new()));
                }
                let r = &mut rows[i];
                for (k, v) in cells {
                    if *overwrite || r.get_ref(k).is_none_or(Value::is_null) {
                        r.set(k, Value::Str(v.clone()));
                    }
                }
            }
            rows
        }
        RowCmd::AppendCols { rows: None, .. } => rows,
        RowCmd::UnionRows {
            keep: Some(keep),
            all,
            to,
            rows: Some(extra),
            ..
        } => {
            // Rows compare by their values of the columns as keys (`1.0` is `1`; a missing
            // value equals another, as SQL's set operations take NULLs).
            let of_cells = |cells: &Vec<(String, String)>| -> Vec<String> {
                to.iter()
                    .map(|c| match cells.iter().find(|(k, _)| k == c) {
                        Some((_, v)) => Value::Str(v.clone()).key(),
                        None => Value::Null.key(),
                    })
                    .collect()
            };
            if *all {
                // Each of their rows meets one of ours at most.
                let mut theirs: HashMap<Vec<String>, usize> = HashMap::new();
                for cells in extra.iter() {
                    *theirs.entry(of_cells(cells)).or_default() += 1;
                }
                rows.retain(|r| {
                    let mine: Vec<String> = to.iter().map(|c| r.get(c).text_key()).collect();
                    let met = match theirs.get_mut(&mine) {
                        Some(n) if *n > 0 => {
                            *n -= 1;
                            true
                        }
                        _ => false,
                    };
                    met == *keep
                });
                return rows;
            }
            let theirs: HashSet<Vec<String>> = extra.iter().map(of_cells).collect();
            rows.retain(|r| {
                let mine: Vec<String> = to.iter().map(|c| r.get(c).text_key()).collect();
                theirs.contains(&mine) == *keep
            });
            rows
        }
        RowCmd::Drop(fields) => {
            // (A JSON object's or array's discovered parts go with it: `req.a`, `tags.0`.)
            let gone = |k: &str| {
                fields.iter().any(|f| {
                    k == f
                        || k.strip_prefix(f.as_str())
                            .is_some_and(|rest| rest.starts_with('.'))
                })
            };
            for r in &mut rows {
                r.fields.retain(|(k, _)| !gone(k));
            }
            rows
        }
        RowCmd::Distinct(cols) => {
            let mut seen = HashSet::new();
            rows.retain(|r| {
                seen.insert(cols.iter().map(|c| r.get(c).text_key()).collect::<Vec<_>>())
            });
            rows
        }
        RowCmd::UnionRows {
            rows: Some(extra), ..
        } => {
            for cells in extra.iter() {
                let mut r = Row::new(0, String::new(), Vec::new());
                for (k, v) in cells {
                    r.set(k, Value::Str(v.clone()));
                }
                rows.push(r);
            }
            rows
        }
        RowCmd::UnionRows { rows: None, .. } => rows,
        RowCmd::Outlier {
            remove,
            param,
            lower,
            mark,
            fields,
        } => outlier(rows, *remove, *param, *lower, *mark, fields),
    }
}

/// The rows of the bins of the query's range that `stats` left out (see [`RowCmd::FillMissing`]),
/// then every row in the `stats` order (by its keys, ascending).
fn fill_missing(
    mut rows: Vec<Row>,
    env: &Env,
    bin: &str,
    (n, u): (i64, crate::lexer::Unit),
    off: i64,
    keys: &[String],
    fills: &[(String, Value)],
) -> Vec<Row> {
    let floor = |t: i64| floor_period(t.saturating_sub(off), n, u).saturating_add(off);
    let (first, last) = (floor(env.start_ms), floor(env.end_ms));
    let others: Vec<&String> = keys.iter().filter(|k| *k != bin).collect();
    // Each combination of the other keys, in the order met, and the bins each has.
    let mut combos: Vec<Vec<Value>> = Vec::new();
    let mut known: HashSet<Vec<String>> = HashSet::new();
    let mut seen: HashSet<(Vec<String>, i64)> = HashSet::new();
    for r in &rows {
        let combo: Vec<Value> = others.iter().map(|k| r.get(k)).collect();
        let ks: Vec<String> = combo.iter().map(Value::key).collect();
        if let Some(t) = r.get(bin).as_num() {
            seen.insert((ks.clone(), t as i64));
        }
        if known.insert(ks) {
            combos.push(combo);
        }
    }
    if combos.is_empty() {
        combos.push(others.iter().map(|_| Value::Null).collect());
    }
    let mut filled = 0;
    'combos: for combo in &combos {
        let ks: Vec<String> = combo.iter().map(Value::key).collect();
        let mut b = first;
        while b <= last {
            if !seen.contains(&(ks.clone(), b)) {
                if filled == MAX_FILLED {
                    break 'combos;
                }
                filled += 1;
                let mut r = Row::new(b, String::new(), Vec::new());
                for k in keys {
                    if k == bin {
                        r.set(k, Value::Time(b));
                    } else if let Some(i) = others.iter().position(|o| *o == k) {
                        if !combo[i].is_null() {
                            r.set(k, combo[i].clone());
                        }
                    }
                }
                for (f, v) in fills {
                    r.set(f, v.clone());
                }
                rows.push(r);
            }
            let next = next_period(b.saturating_sub(off), n, u).saturating_add(off);
            if next <= b {
                break;
            }
            b = next;
        }
    }
    rows.sort_by(|x, y| {
        keys.iter()
            .map(|k| sort_cmp(&x.get(k), &y.get(k), false))
            .find(|o| *o != std::cmp::Ordering::Equal)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    rows
}

/// Whether `name` matches one of `patterns` (`*`: any run of characters); no pattern: every
/// name.
fn matches_any(patterns: &[String], name: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| glob(p, name))
}

fn glob(p: &str, s: &str) -> bool {
    let Some((head, rest)) = p.split_once('*') else {
        return p == s;
    };
    let Some(mut s) = s.strip_prefix(head) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('*').collect();
    let (last, middle) = parts.split_last().unwrap_or((&"", &[]));
    for part in middle {
        match s.find(part) {
            Some(i) => s = &s[i + part.len()..],
            None => return false,
        }
    }
    s.len() >= last.len() && s.ends_with(last)
}

/// The fields `addtotals` sums in a row: those named, else every field holding a number that
/// is not a system field (`@…`) nor the total itself.
fn summed<'r>(r: &'r Row, fields: &'r [String], total: &'r str) -> Vec<(&'r str, f64)> {
    if fields.is_empty() {
        r.fields
            .iter()
            .filter(|(k, _)| !k.starts_with('@') && k != total)
            .filter_map(|(k, v)| Some((k.as_str(), numeric(v)?)))
            .collect()
    } else {
        fields
            .iter()
            .filter_map(|f| Some((f.as_str(), numeric(&r.get(f))?)))
            .collect()
    }
}

/// A number, or a string that is one (lists, maps and timestamps are not).
fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Num(_) | Value::Str(_) => v.as_num(),
        _ => None,
    }
}

fn add_totals(
    mut rows: Vec<Row>,
    total: &str,
    row: bool,
    col: bool,
    fields: &[String],
) -> Vec<Row> {
    // Column sums in the order the columns are met.
    let mut columns: Vec<(String, f64)> = Vec::new();
    // The sum of the row totals (not of whatever `total` held before).
    let mut grand = 0.0;
    for r in &mut rows {
        let cells = summed(r, fields, total);
        if col {
            for &(k, x) in &cells {
                match columns.iter_mut().find(|(n, _)| n == k) {
                    Some(c) => c.1 += x,
                    None => columns.push((k.to_string(), x)),
                }
            }
        }
        if row && !cells.is_empty() {
            let sum: f64 = cells.iter().map(|(_, x)| x).sum();
            grand += sum;
            r.set(total, Value::Num(sum));
        }
    }
    if col {
        let mut fields: Vec<(String, Value)> = columns
            .into_iter()
            .map(|(k, x)| (k, Value::Num(x)))
            .collect();
        if row {
            fields.push((total.to_string(), Value::Num(grand)));
        }
        rows.push(Row::new(0, String::new(), fields));
    }
    rows
}

/// The `p`-th percentile of sorted `xs` by nearest rank (as `pct`).
fn nearest_rank(xs: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * xs.len() as f64).ceil() as usize;
    xs[rank.clamp(1, xs.len()) - 1]
}

/// `outlier`: per field, the quartiles (nearest rank) of the rows' numeric values bound them at
/// `Q1 − param·IQR` and `Q3 + param·IQR`; a row with any value beyond a bound in use is an
/// outlier — dropped, or its values clamped to the bounds.
fn outlier(
    mut rows: Vec<Row>,
    remove: bool,
    param: f64,
    lower: bool,
    mark: bool,
    fields: &[String],
) -> Vec<Row> {
    let bounds: Vec<Option<(f64, f64)>> = fields
        .iter()
        .map(|f| {
            let mut xs: Vec<f64> = rows.iter().filter_map(|r| numeric(&r.get(f))).collect();
            if xs.is_empty() {
                return None;
            }
            xs.sort_by(f64::total_cmp);
            let (q1, q3) = (nearest_rank(&xs, 25.0), nearest_rank(&xs, 75.0));
            let iqr = q3 - q1;
            let low = if lower {
                q1 - param * iqr
            } else {
                f64::NEG_INFINITY
            };
            Some((low, q3 + param * iqr))
        })
        .collect();
    let mut kept = Vec::with_capacity(rows.len());
    for mut r in rows.drain(..) {
        let mut out = false;
        for (f, b) in fields.iter().zip(&bounds) {
            let (Some((low, high)), Some(x)) = (b, numeric(&r.get(f))) else {
                continue;
            };
            if x > *high || x < *low {
                out = true;
                if !remove {
                    r.set(f, Value::Num(x.clamp(*low, *high)));
                }
            }
        }
        if out && remove {
            continue;
        }
        if mark {
            r.set(OUTLIER_MARK, Value::Bool(out));
        }
        kept.push(r);
    }
    kept
}

/// Session numbers: each key combination's rows in time order form sessions, a gap longer
/// than `gap_ms` starting a new one; sessions are numbered from 1 by their first time (then by
/// their key), and every row gets its session's number. Rows missing a key get none.
fn sessionize(mut rows: Vec<Row>, keys: &[String], gap_ms: i64, out: &str) -> Vec<Row> {
    let mut by_key: HashMap<Vec<String>, Vec<usize>> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        let key: Option<Vec<String>> = keys
            .iter()
            .map(|k| {
                let v = r.get(k);
                (!v.is_null()).then(|| v.key())
            })
            .collect();
        if let Some(key) = key {
            by_key.entry(key).or_default().push(i);
        }
    }
    // (first time, key, the rows) of every session.
    let mut sessions: Vec<(i64, &Vec<String>, Vec<usize>)> = Vec::new();
    for (key, mut members) in by_key.iter().map(|(k, m)| (k, m.clone())) {
        members.sort_by_key(|&i| (rows[i].ts, i));
        let mut current: Vec<usize> = Vec::new();
        for i in members {
            if let Some(&prev) = current.last() {
                if rows[i].ts - rows[prev].ts > gap_ms {
                    let first = rows[current[0]].ts;
                    sessions.push((first, key, std::mem::take(&mut current)));
                }
            }
            current.push(i);
        }
        if !current.is_empty() {
            sessions.push((rows[current[0]].ts, key, current));
        }
    }
    sessions.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let numbers: Vec<(usize, usize)> = sessions
        .iter()
        .enumerate()
        .flat_map(|(n, (_, _, members))| members.iter().map(move |&i| (i, n + 1)))
        .collect();
    for (i, n) in numbers {
        rows[i].set(out, Value::Str(fmt_num(n as f64)));
    }
    rows
}

/// Most rows one row's array of objects becomes.
const MAX_FLATTENED: usize = 10_000;

/// [`RowCmd::Flatten`] of one row.
fn flatten(mut r: Row, field: &str, aliases: &[String]) -> Vec<Row> {
    let value = match r.get(field) {
        Value::Str(t) => match serde_json::from_str::<serde_json::Value>(&t) {
            Ok(j @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
                crate::functions::from_json(&j)
            }
            _ => Value::Str(t),
        },
        v => v,
    };
    // The object(s): from the value, else from the discovered `field.key` fields (an array's
    // elements discovered as `field.0.key`, `field.1.key`, …).
    let objects: Vec<Vec<(String, Value)>> = match value {
        Value::Map(m) => vec![m],
        Value::List(items) => items
            .into_iter()
            .take(MAX_FLATTENED)
            .map(|it| match it {
                Value::Map(m) => m,
                _ => Vec::new(),
            })
            .collect(),
        Value::Null => {
            let prefix = format!("{field}.");
            let keyed: Vec<(String, Value)> = r
                .fields
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.clone())))
                .filter(|(_, v)| !v.is_null())
                .collect();
            if keyed.is_empty() {
                return vec![r];
            }
            for (k, _) in &keyed {
                r.set(&format!("{prefix}{k}"), Value::Null);
            }
            let index = |k: &str| -> Option<(usize, String)> {
                let (i, rest) = k.split_once('.')?;
                Some((i.parse().ok()?, rest.to_string()))
            };
            if keyed.iter().all(|(k, _)| index(k).is_some()) {
                let mut by: Vec<(usize, Vec<(String, Value)>)> = Vec::new();
                for (k, v) in keyed {
                    let Some((i, rest)) = index(&k) else { continue };
                    match by.iter_mut().find(|(j, _)| *j == i) {
                        Some((_, o)) => o.push((rest, v)),
                        None => by.push((i, vec![(rest, v)])),
                    }
                }
                by.sort_by_key(|(i, _)| *i);
                by.into_iter().take(MAX_FLATTENED).map(|(_, o)| o).collect()
            } else {
                vec![keyed]
            }
        }
        _ => return vec![r],
    };
    r.set(field, Value::Null);
    if objects.is_empty() {
        return vec![r];
    }
    objects
        .into_iter()
        .map(|mut o| {
            // Keys in alphabetical order, as OpenSearch orders them (and names them by `as`).
            o.sort_by(|a, b| a.0.cmp(&b.0));
            let mut row = r.clone();
            for (i, (k, v)) in o.into_iter().enumerate() {
                let name = aliases.get(i).cloned().unwrap_or(k);
                row.set(&name, v);
            }
            row
        })
        .collect()
}

/// The numbers of a run of values: how many, their sum, mean and sum of squared deviations.
#[derive(Clone, Copy, Default)]
struct Moments {
    n: f64,
    sum: f64,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn join(a: Moments, b: Moments) -> Moments {
        if a.n == 0.0 {
            return b;
        }
        if b.n == 0.0 {
            return a;
        }
        let n = a.n + b.n;
        let d = b.mean - a.mean;
        Moments {
            n,
            sum: a.sum + b.sum,
            mean: a.mean + d * b.n / n,
            m2: a.m2 + b.m2 + d * d * a.n * b.n / n,
        }
    }
}

/// A segment tree of [`Moments`] over the numbers of a window's values.
struct MomentTree {
    size: usize,
    nodes: Vec<Moments>,
}

impl MomentTree {
    fn new(values: &[Value]) -> MomentTree {
        let size = values.len().next_power_of_two().max(1);
        let mut nodes = vec![Moments::default(); 2 * size];
        for (i, v) in values.iter().enumerate() {
            if let Some(x) = (!v.is_null()).then(|| v.as_num()).flatten() {
                nodes[size + i] = Moments {
                    n: 1.0,
                    sum: x,
                    mean: x,
                    m2: 0.0,
                };
            }
        }
        for i in (1..size).rev() {
            nodes[i] = Moments::join(nodes[2 * i], nodes[2 * i + 1]);
        }
        MomentTree { size, nodes }
    }

    /// The moments of values [lo, hi).
    fn query(&self, lo: usize, hi: usize) -> Moments {
        let (mut l, mut r) = (lo + self.size, hi + self.size);
        let (mut left, mut right) = (Moments::default(), Moments::default());
        while l < r {
            if l & 1 == 1 {
                left = Moments::join(left, self.nodes[l]);
                l += 1;
            }
            if r & 1 == 1 {
                r -= 1;
                right = Moments::join(self.nodes[r], right);
            }
            l /= 2;
            r /= 2;
        }
        Moments::join(left, right)
    }
}

/// [`RowCmd::Window`]: each part's rows ordered (stably) by the order fields, the function's
/// value set on each row.
fn window(
    mut rows: Vec<Row>,
    func: &WindowFn,
    partition: &[String],
    order: &[(String, bool, bool)],
    frame: Option<&Frame>,
    out: &str,
) -> Vec<Row> {
    // The parts, in the order their first rows come (values compared as keys: `1.0` is `1`).
    let mut parts: Vec<Vec<usize>> = Vec::new();
    let mut part_of: HashMap<Vec<String>, usize> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        let key: Vec<String> = partition.iter().map(|f| r.get(f).text_key()).collect();
        let next = parts.len();
        let at = *part_of.entry(key).or_insert(next);
        if at == next {
            parts.push(Vec::new());
        }
        parts[at].push(i);
    }
    for part in parts {
        let keys: Vec<Vec<Value>> = part
            .iter()
            .map(|&i| order.iter().map(|(f, ..)| rows[i].get(f)).collect())
            .collect();
        // Rows without a value first or last as each key says (Spark: first ascending, last
        // descending, unless NULLS FIRST/LAST).
        let cmp = |a: &[Value], b: &[Value]| {
            use std::cmp::Ordering;
            a.iter()
                .zip(b)
                .zip(order)
                .map(
                    |((x, y), (_, desc, nulls_first))| match (x.is_null(), y.is_null()) {
                        (true, true) => Ordering::Equal,
                        (true, false) if *nulls_first => Ordering::Less,
                        (true, false) => Ordering::Greater,
                        (false, true) if *nulls_first => Ordering::Greater,
                        (false, true) => Ordering::Less,
                        _ => sort_cmp(x, y, *desc),
                    },
                )
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        };
        let mut pos: Vec<usize> = (0..part.len()).collect();
        pos.sort_by(|&a, &b| cmp(&keys[a], &keys[b]));
        let n = pos.len();
        // Each place's peers (the rows ordered equal to it): [start, end) in `pos`.
        let mut peers = vec![(0, n); n];
        if !order.is_empty() {
            let mut k = 0;
            while k < n {
                let mut end = k + 1;
                while end < n && cmp(&keys[pos[k]], &keys[pos[end]]).is_eq() {
                    end += 1;
                }
                for p in &mut peers[k..end] {
                    *p = (k, end);
                }
                k = end;
            }
        }
        let values: Vec<Value> = match func {
            WindowFn::Offset { field, .. }
            | WindowFn::Value { field, .. }
            | WindowFn::Agg {
                field: Some(field), ..
            } => pos.iter().map(|&p| rows[part[p]].get(field)).collect(),
            WindowFn::Agg { field: None, .. } => vec![Value::Num(1.0); n],
            _ => Vec::new(),
        };
        // The frame of each place: [lo, hi) in `pos`, both never decreasing.
        let by_value = frame.is_some_and(|f| {
            f.units == FrameUnits::Range
                && [f.start, f.end]
                    .iter()
                    .any(|b| matches!(b, FrameBound::Preceding(_) | FrameBound::Following(_)))
        });
        let bounds: Vec<(usize, usize)> = match frame {
            // RANGE with offsets: by the (one, numeric) order value.
            Some(f) if by_value => {
                let nums: Vec<Option<f64>> = pos
                    .iter()
                    .map(|&p| {
                        // (A time written as text counts by its milliseconds.)
                        keys[p].first().and_then(|v| {
                            if v.is_null() {
                                None
                            } else {
                                v.as_num().or_else(|| crate::functions::time_millis(v))
                            }
                        })
                    })
                    .collect();
                range_bounds(f, &nums, order.first().is_some_and(|(_, d, _)| *d), &peers)
            }
            Some(f) if f.units == FrameUnits::Groups => groups_bounds(f, &peers),
            _ => (0..n)
                .map(|k| frame_bounds(frame, k, n, peers[k], !order.is_empty()))
                .collect(),
        };
        let results: Vec<Value> = match func {
            WindowFn::Agg { kind, .. } => frame_aggregates(*kind, &values, &bounds),
            WindowFn::Value {
                last,
                nth,
                skip_nulls,
                ..
            } => {
                // The places counted: every one, or (IGNORE NULLS) those with a value.
                let counted: Vec<usize> = (0..n)
                    .filter(|&i| !*skip_nulls || !values[i].is_null())
                    .collect();
                bounds
                    .iter()
                    .map(|&(lo, hi)| {
                        let (a, b) = (
                            counted.partition_point(|&i| i < lo),
                            counted.partition_point(|&i| i < hi),
                        );
                        let at = if *last {
                            b.checked_sub(1).filter(|&j| j >= a)
                        } else {
                            a.checked_add(nth.saturating_sub(1)).filter(|&j| j < b)
                        };
                        at.map_or(Value::Null, |j| values[counted[j]].clone())
                    })
                    .collect()
            }
            _ => {
                let (mut rank, mut dense) = (0usize, 0usize);
                // The places with a value (for LAG/LEAD IGNORE NULLS).
                let with_value: Vec<usize> = (0..values.len())
                    .filter(|&i| !values[i].is_null())
                    .collect();
                (0..n)
                    .map(|k| {
                        if k == 0 || peers[k].0 == k {
                            rank = k + 1;
                            dense += 1;
                        }
                        match func {
                            WindowFn::RowNumber => Value::Num((k + 1) as f64),
                            WindowFn::Rank => Value::Num(rank as f64),
                            WindowFn::DenseRank => Value::Num(dense as f64),
                            WindowFn::PercentRank if n > 1 => {
                                Value::Num((rank - 1) as f64 / (n - 1) as f64)
                            }
                            WindowFn::PercentRank => Value::Num(0.0),
                            WindowFn::CumeDist => Value::Num(peers[k].1 as f64 / n as f64),
                            WindowFn::Ntile(b) => {
                                let (size, rem) = (n / b, n % b);
                                let big = rem * (size + 1);
                                let bucket = if k < big {
                                    k / (size + 1)
                                } else {
                                    rem + (k - big) / size.max(1)
                                };
                                Value::Num((bucket + 1) as f64)
                            }
                            // (IGNORE NULLS: the offset-th row with a value before or
                            // after this one; an offset of 0 is the row itself.)
                            WindowFn::Offset {
                                offset,
                                default,
                                lead,
                                skip_nulls: true,
                                ..
                            } if *offset > 0 => {
                                let at = if *lead {
                                    let from = with_value.partition_point(|&i| i <= k);
                                    from.checked_add(offset - 1)
                                        .and_then(|i| with_value.get(i))
                                        .copied()
                                } else {
                                    let before = with_value.partition_point(|&i| i < k);
                                    before.checked_sub(*offset).map(|i| with_value[i])
                                };
                                match at {
                                    Some(j) => values[j].clone(),
                                    None => default.clone(),
                                }
                            }
                            WindowFn::Offset {
                                offset,
                                default,
                                lead,
                                ..
                            } => {
                                let at = if *lead {
                                    k.checked_add(*offset).filter(|&j| j < n)
                                } else {
                                    k.checked_sub(*offset)
                                };
                                match at {
                                    Some(j) => values[j].clone(),
                                    None => default.clone(),
                                }
                            }
                            WindowFn::Agg { .. } | WindowFn::Value { .. } => Value::Null,
                        }
                    })
                    .collect()
            }
        };
        for (k, v) in results.into_iter().enumerate() {
            if !v.is_null() {
                rows[part[pos[k]]].set(out, v);
            }
        }
    }
    rows
}

/// The frame of place `k` of `n` ([`Frame`]; `None`: the whole part without an order, else up
/// to the last peer), as [lo, hi).
fn frame_bounds(
    frame: Option<&Frame>,
    k: usize,
    n: usize,
    (peer_lo, peer_hi): (usize, usize),
    ordered: bool,
) -> (usize, usize) {
    let Some(f) = frame else {
        return (0, if ordered { peer_hi } else { n });
    };
    // (Offsets are whole numbers here; `as` saturates a huge one.)
    let rows = f.units == FrameUnits::Rows;
    let lo = match f.start {
        FrameBound::Unbounded => 0,
        FrameBound::Preceding(d) => k.saturating_sub(d as usize),
        FrameBound::Current if rows => k,
        FrameBound::Current => peer_lo,
        FrameBound::Following(d) => k.saturating_add(d as usize).min(n),
    };
    let hi = match f.end {
        FrameBound::Unbounded => n,
        FrameBound::Preceding(d) => (k + 1).saturating_sub(d as usize),
        FrameBound::Current if rows => k + 1,
        FrameBound::Current => peer_hi,
        FrameBound::Following(d) => k.saturating_add(d as usize).saturating_add(1).min(n),
    };
    (lo, hi.max(lo))
}

/// A `GROUPS` frame: offsets count groups of peers (`peers[k]`: the [lo, hi) of place k's
/// group, in the part's order), as [lo, hi) for each place.
fn groups_bounds(f: &Frame, peers: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let n = peers.len();
    // Each group's [lo, hi), and each place's group number.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut of = Vec::with_capacity(n);
    for &p in peers {
        if groups.last() != Some(&p) {
            groups.push(p);
        }
        of.push(groups.len() - 1);
    }
    let g_n = groups.len();
    (0..n)
        .map(|k| {
            let g = of[k];
            let lo = match f.start {
                FrameBound::Unbounded => 0,
                FrameBound::Preceding(d) => groups[g.saturating_sub(d as usize)].0,
                FrameBound::Current => groups[g].0,
                FrameBound::Following(d) => {
                    groups.get(g.saturating_add(d as usize)).map_or(n, |x| x.0)
                }
            };
            let hi = match f.end {
                FrameBound::Unbounded => n,
                FrameBound::Preceding(d) => g.checked_sub(d as usize).map_or(0, |h| groups[h].1),
                FrameBound::Current => groups[g].1,
                FrameBound::Following(d) => groups[g.saturating_add(d as usize).min(g_n - 1)].1,
            };
            (lo, hi.max(lo))
        })
        .collect()
}

/// A `RANGE` frame with offsets over one numeric order value (`nums`, in the part's order:
/// ascending, or `desc`; rows without a number together at one end): for each place, the rows
/// whose value lies within the offsets of its own; a row without a number has its peers.
fn range_bounds(
    f: &Frame,
    nums: &[Option<f64>],
    desc: bool,
    peers: &[(usize, usize)],
) -> Vec<(usize, usize)> {
    let n = nums.len();
    // The run of numbers, sorted: [a, b).
    let a = nums.iter().position(Option::is_some).unwrap_or(n);
    let b = a + nums[a..].iter().take_while(|x| x.is_some()).count();
    let vals: Vec<f64> = nums[a..b].iter().map(|x| x.unwrap_or(0.0)).collect();
    // The first place (in [a, b)) whose value is at or past `t` in the part's order, and the
    // first one strictly past it.
    let at_or_past = |t: f64| a + vals.partition_point(|&v| if desc { v > t } else { v < t });
    let past = |t: f64| a + vals.partition_point(|&v| if desc { v >= t } else { v <= t });
    // (An offset moves a value toward the part's start, `-`, or its end, `+`.)
    let step = |v: f64, d: f64, toward_end: bool| {
        if toward_end != desc {
            v + d
        } else {
            v - d
        }
    };
    (0..n)
        .map(|k| {
            let Some(v) = nums[k] else {
                return peers[k];
            };
            let lo = match f.start {
                FrameBound::Unbounded => 0,
                FrameBound::Preceding(d) => at_or_past(step(v, d, false)),
                FrameBound::Current => peers[k].0,
                FrameBound::Following(d) => at_or_past(step(v, d, true)),
            };
            let hi = match f.end {
                FrameBound::Unbounded => n,
                FrameBound::Preceding(d) => past(step(v, d, false)),
                FrameBound::Current => peers[k].1,
                FrameBound::Following(d) => past(step(v, d, true)),
            };
            (lo, hi.max(lo))
        })
        .collect()
}

/// An aggregate over each frame ([lo, hi) of `values`, both ends never decreasing): counts,
/// sums and moments from prefix sums, minimum and maximum from a sliding queue.
fn frame_aggregates(kind: WindowAgg, values: &[Value], bounds: &[(usize, usize)]) -> Vec<Value> {
    let n = values.len();
    match kind {
        WindowAgg::Min | WindowAgg::Max => {
            let better = |a: &Value, b: &Value| {
                let o = sort_cmp(a, b, false);
                if kind == WindowAgg::Min {
                    o.is_le()
                } else {
                    o.is_ge()
                }
            };
            let mut queue: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
            let mut next = 0;
            bounds
                .iter()
                .map(|&(lo, hi)| {
                    while next < hi {
                        if !values[next].is_null() {
                            while queue
                                .back()
                                .is_some_and(|&b| better(&values[next], &values[b]))
                            {
                                queue.pop_back();
                            }
                            queue.push_back(next);
                        }
                        next += 1;
                    }
                    while queue.front().is_some_and(|&f| f < lo) {
                        queue.pop_front();
                    }
                    queue
                        .front()
                        .filter(|_| lo < hi)
                        .map_or(Value::Null, |&f| values[f].clone())
                })
                .collect()
        }
        _ => {
            // Counts from prefix sums (exact); sums and moments from a tree of partial ones,
            // so a frame adds up only its own values (a large value outside it costs no
            // precision) and deviations combine as Chan's formula does.
            let mut count = vec![0usize; n + 1];
            for (i, v) in values.iter().enumerate() {
                count[i + 1] = count[i] + usize::from(!v.is_null());
            }
            let tree = MomentTree::new(values);
            bounds
                .iter()
                .map(|&(lo, hi)| {
                    let m = tree.query(lo, hi);
                    let var =
                        |ddof: f64| (m.n - ddof > 0.0).then(|| (m.m2 / (m.n - ddof)).max(0.0));
                    let v = match kind {
                        WindowAgg::Count => Some((count[hi] - count[lo]) as f64),
                        _ if m.n == 0.0 => None,
                        WindowAgg::Sum => Some(m.sum),
                        WindowAgg::Avg => Some(m.sum / m.n),
                        WindowAgg::VarSamp => var(1.0),
                        WindowAgg::VarPop => var(0.0),
                        WindowAgg::StddevSamp => var(1.0).map(f64::sqrt),
                        WindowAgg::StddevPop => var(0.0).map(f64::sqrt),
                        WindowAgg::Min | WindowAgg::Max => None,
                    };
                    v.filter(|x| x.is_finite()).map_or(Value::Null, Value::Num)
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    /// A small pseudo-random source (xorshift): the same numbers on every run.
    fn xorshift(mut seed: u64) -> impl FnMut(u64) -> u64 {
        move |m| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        }
    }

    /// `RANGE` frames with offsets give, for each row, exactly the rows whose value lies within
    /// the offsets (ascending or descending; rows without a number keep their peers).
    #[test]
    fn range_frames_match_their_definition() {
        use super::range_bounds;
        use crate::ast::{Frame, FrameBound as B};
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15u64);
        let bounds = [
            B::Unbounded,
            B::Preceding(0.0),
            B::Preceding(3.0),
            B::Current,
            B::Following(2.0),
            B::Preceding(1.5),
            B::Following(0.5),
        ];
        for _ in 0..400 {
            let desc = next(2) == 1;
            let mut nums: Vec<Option<f64>> = (0..next(9))
                .map(|_| (next(4) > 0).then(|| next(10) as f64))
                .collect();
            // In the part's order: numbers sorted, rows without one first ascending, last descending.
            nums.sort_by(|a, b| match (a, b) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, _) => {
                    if desc {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Less
                    }
                }
                (_, None) => {
                    if desc {
                        std::cmp::Ordering::Less
                    } else {
                        std::cmp::Ordering::Greater
                    }
                }
                (Some(x), Some(y)) => {
                    if desc {
                        y.total_cmp(x)
                    } else {
                        x.total_cmp(y)
                    }
                }
            });
            let n = nums.len();
            let peers: Vec<(usize, usize)> = (0..n)
                .map(|k| {
                    let lo = (0..=k)
                        .rev()
                        .take_while(|&j| nums[j] == nums[k])
                        .last()
                        .unwrap_or(k);
                    let hi = (k..n)
                        .take_while(|&j| nums[j] == nums[k])
                        .last()
                        .map_or(k + 1, |j| j + 1);
                    (lo, hi)
                })
                .collect();
            let (start, end) = (bounds[next(7) as usize], bounds[next(7) as usize]);
            if start.place(false) > end.place(true) {
                continue;
            }
            let f = Frame {
                units: crate::ast::FrameUnits::Range,
                start,
                end,
            };
            let got = range_bounds(&f, &nums, desc, &peers);
            for k in 0..n {
                let Some(v) = nums[k] else {
                    assert_eq!(got[k], peers[k], "{nums:?} {f:?} k={k}");
                    continue;
                };
                // The rows in the frame by definition (a signed distance along the order).
                let along = |x: f64| if desc { v - x } else { x - v };
                let inside = |j: usize| {
                    let Some(x) = nums[j] else { return false };
                    let d = along(x);
                    let after_start = match start {
                        B::Unbounded => true,
                        B::Preceding(o) => d >= -o,
                        B::Current => d >= 0.0,
                        B::Following(o) => d >= o,
                    };
                    let before_end = match end {
                        B::Unbounded => true,
                        B::Preceding(o) => d <= -o,
                        B::Current => d <= 0.0,
                        B::Following(o) => d <= o,
                    };
                    after_start && before_end
                };
                // (Rows without a number are compared apart: an unbounded end reaches them.)
                let want: Vec<usize> = (0..n).filter(|&j| inside(j)).collect();
                let have: Vec<usize> = (got[k].0..got[k].1)
                    .filter(|&j| nums[j].is_some())
                    .collect();
                assert_eq!(have, want, "{nums:?} {f:?} desc={desc} k={k}");
            }
        }
    }

    /// A frame's sum and variance read only its own values: a large value outside it costs
    /// no precision.
    #[test]
    fn sliding_frames_keep_precision() {
        use super::{frame_aggregates, frame_bounds};
        use crate::ast::{Frame, FrameBound as B, WindowAgg as A};
        use crate::value::Value;
        let at = |values: &[f64], start: B, kind: A| {
            let values: Vec<Value> = values.iter().map(|x| Value::Num(*x)).collect();
            let n = values.len();
            let frame = Frame {
                units: crate::ast::FrameUnits::Rows,
                start,
                end: B::Current,
            };
            let b: Vec<(usize, usize)> = (0..n)
                .map(|k| frame_bounds(Some(&frame), k, n, (k, k + 1), true))
                .collect();
            frame_aggregates(kind, &values, &b)
        };
        assert_eq!(
            at(&[1e17, 1.0, 1.0], B::Preceding(1.0), A::Sum)[2],
            Value::Num(2.0)
        );
        assert_eq!(
            at(
                &[0.0, 1e9, 1e9 + 1.0, 1e9 + 2.0],
                B::Preceding(2.0),
                A::VarSamp
            )[3],
            Value::Num(1.0)
        );
    }

    /// `GROUPS` frames give, for each row, exactly the rows whose group of peers lies within
    /// the offsets of its own group.
    #[test]
    fn groups_frames_match_their_definition() {
        use super::groups_bounds;
        use crate::ast::{Frame, FrameBound as B, FrameUnits};
        let mut next = xorshift(0x51_7cc1_b727_220au64);
        let bounds = [
            B::Unbounded,
            B::Preceding(0.0),
            B::Preceding(1.0),
            B::Preceding(3.0),
            B::Current,
            B::Following(0.0),
            B::Following(2.0),
        ];
        for _ in 0..400 {
            // Sorted order values; peers are equal values.
            let mut vals: Vec<u64> = (0..next(10)).map(|_| next(5)).collect();
            vals.sort_unstable();
            let n = vals.len();
            let peers: Vec<(usize, usize)> = (0..n)
                .map(|k| {
                    let lo = vals.iter().position(|&v| v == vals[k]).unwrap_or(k);
                    let hi = vals
                        .iter()
                        .rposition(|&v| v == vals[k])
                        .map_or(k + 1, |j| j + 1);
                    (lo, hi)
                })
                .collect();
            let (start, end) = (bounds[next(7) as usize], bounds[next(7) as usize]);
            if start.place(false) > end.place(true) {
                continue;
            }
            let f = Frame {
                units: FrameUnits::Groups,
                start,
                end,
            };
            let got = groups_bounds(&f, &peers);
            // Each row's group number.
            let mut distinct = vals.clone();
            distinct.dedup();
            let group = |k: usize| distinct.iter().position(|&v| v == vals[k]).unwrap_or(0) as i64;
            for (k, &(a, b)) in got.iter().enumerate() {
                let g = group(k);
                let lo = match start {
                    B::Unbounded => i64::MIN,
                    B::Preceding(d) => g - d as i64,
                    B::Current => g,
                    B::Following(d) => g + d as i64,
                };
                let hi = match end {
                    B::Unbounded => i64::MAX,
                    B::Preceding(d) => g - d as i64,
                    B::Current => g,
                    B::Following(d) => g + d as i64,
                };
                let want: Vec<usize> = (0..n).filter(|&j| (lo..=hi).contains(&group(j))).collect();
                let have: Vec<usize> = (a..b).collect();
                assert_eq!(have, want, "{vals:?} {f:?} k={k}");
            }
        }
    }

    /// The sliding and prefix-sum window aggregates equal a direct computation over every
    /// frame, on pseudo-random values (numbers, text, gaps) and frames.
    #[test]
    fn frame_aggregates_match_a_direct_computation() {
        use super::{frame_aggregates, frame_bounds};
        use crate::ast::{Frame, FrameBound as B, WindowAgg as A};
        use crate::value::{sort_cmp, Value};
        let mut next = xorshift(0x2545_f491_4f6c_dd1du64);
        let bounds = [
            B::Unbounded,
            B::Preceding(0.0),
            B::Preceding(2.0),
            B::Current,
            B::Following(1.0),
            B::Following(3.0),
        ];
        for _ in 0..300 {
            let n = next(9) as usize;
            let values: Vec<Value> = (0..n)
                .map(|_| match next(5) {
                    0 => Value::Null,
                    1 => Value::Str(format!("t{}", next(4))),
                    _ => Value::Num(next(7) as f64 - 2.0),
                })
                .collect();
            let (start, end) = (bounds[next(6) as usize], bounds[next(6) as usize]);
            if start.place(false) > end.place(true) {
                continue;
            }
            let frame = Frame {
                units: crate::ast::FrameUnits::Rows,
                start,
                end,
            };
            let fb: Vec<(usize, usize)> = (0..n)
                .map(|k| frame_bounds(Some(&frame), k, n, (k, k + 1), true))
                .collect();
            for kind in [
                A::Count,
                A::Sum,
                A::Avg,
                A::Min,
                A::Max,
                A::VarSamp,
                A::StddevPop,
            ] {
                let got = frame_aggregates(kind, &values, &fb);
                for (k, &(lo, hi)) in fb.iter().enumerate() {
                    let w: Vec<&Value> = values[lo..hi].iter().filter(|v| !v.is_null()).collect();
                    let nums: Vec<f64> = w.iter().filter_map(|v| v.as_num()).collect();
                    let m = nums.len() as f64;
                    let mean = nums.iter().sum::<f64>() / m;
                    let ss: f64 = nums.iter().map(|x| (x - mean) * (x - mean)).sum();
                    let want = match kind {
                        A::Count => Value::Num(w.len() as f64),
                        _ if kind != A::Min && kind != A::Max && nums.is_empty() => Value::Null,
                        A::Sum => Value::Num(nums.iter().sum()),
                        A::Avg => Value::Num(mean),
                        A::VarSamp if nums.len() < 2 => Value::Null,
                        A::VarSamp => Value::Num(ss / (m - 1.0)),
                        A::StddevPop => Value::Num((ss / m).sqrt()),
                        A::Min => w
                            .iter()
                            .min_by(|a, b| sort_cmp(a, b, false))
                            .map_or(Value::Null, |v| (*v).clone()),
                        _ => w
                            .iter()
                            .max_by(|a, b| sort_cmp(a, b, false))
                            .map_or(Value::Null, |v| (*v).clone()),
                    };
                    let close = match (&got[k], &want) {
                        (Value::Num(a), Value::Num(b)) => (a - b).abs() < 1e-9,
                        (a, b) => a == b,
                    };
                    assert!(
                        close,
                        "{kind:?} {frame:?} k={k} {values:?}: {:?} vs {want:?}",
                        got[k]
                    );
                }
            }
        }
    }

    #[test]
    fn glob_table() {
        for (p, s, want) in [
            ("cpu*", "cpu_user", true),
            ("cpu*", "cpu", true),
            ("cpu*", "xcpu", false),
            ("*_ms", "latency_ms", true),
            ("*_ms", "latency_s", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "acb", false),
            ("a*a", "a", false),
            ("host", "host", true),
            ("host", "hosts", false),
            ("*", "", true),
        ] {
            assert_eq!(glob(p, s), want, "{p} vs {s}");
        }
    }
}
