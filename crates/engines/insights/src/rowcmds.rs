//! The row-sequence commands ([`RowCmd`]) over the rows a query holds, in their order.

use crate::ast::{RowCmd, WindowAgg, WindowFn};
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
            out,
        } => window(rows, func, partition, order, out),
        RowCmd::Dedup {
            keys,
            keep,
            keepempty,
            consecutive,
        } => {
            let mut counts: HashMap<Vec<String>, usize> = HashMap::new();
            let mut run: Option<(Vec<String>, usize)> = None;
            rows.into_iter()
                .filter(|r| {
                    let values: Vec<Value> = keys.iter().map(|k| r.get(k)).collect();
                    if values.iter().any(Value::is_null) {
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
            let theirs: HashSet<Vec<String>> = extra.iter().map(of_cells).collect();
            rows.retain(|r| {
                let mine: Vec<String> = to.iter().map(|c| r.get(c).text_key()).collect();
                theirs.contains(&mine) == *keep
            });
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

/// A window aggregate's running state.
#[derive(Default)]
struct WindowAcc {
    count: usize,
    /// Values that are numbers, and their sum.
    nums: usize,
    sum: f64,
    best: Option<Value>,
}

impl WindowAcc {
    fn add(&mut self, kind: WindowAgg, v: &Value) {
        if v.is_null() {
            return;
        }
        self.count += 1;
        if let Some(x) = v.as_num() {
            self.nums += 1;
            self.sum += x;
        }
        let better = |b: &Value| match kind {
            WindowAgg::Min => sort_cmp(v, b, false).is_lt(),
            WindowAgg::Max => sort_cmp(v, b, false).is_gt(),
            _ => false,
        };
        if matches!(kind, WindowAgg::Min | WindowAgg::Max) && self.best.as_ref().is_none_or(better)
        {
            self.best = Some(v.clone());
        }
    }

    fn value(&self, kind: WindowAgg) -> Value {
        match kind {
            WindowAgg::Count => Value::Num(self.count as f64),
            WindowAgg::Sum if self.nums > 0 => Value::Num(self.sum),
            WindowAgg::Avg if self.nums > 0 => Value::Num(self.sum / self.nums as f64),
            WindowAgg::Min | WindowAgg::Max => self.best.clone().unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }
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

/// [`RowCmd::Window`]: each part's rows ordered (stably) by the order fields, the function's
/// value set on each row.
fn window(
    mut rows: Vec<Row>,
    func: &WindowFn,
    partition: &[String],
    order: &[(String, bool)],
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
            .map(|&i| order.iter().map(|(f, _)| rows[i].get(f)).collect())
            .collect();
        // As Spark orders a window: rows without a value first ascending, last descending.
        let cmp = |a: &[Value], b: &[Value]| {
            use std::cmp::Ordering;
            a.iter()
                .zip(b)
                .zip(order)
                .map(|((x, y), (_, desc))| match (x.is_null(), y.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) if *desc => Ordering::Greater,
                    (true, false) => Ordering::Less,
                    (false, true) if *desc => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    _ => sort_cmp(x, y, *desc),
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        };
        let mut pos: Vec<usize> = (0..part.len()).collect();
        pos.sort_by(|&a, &b| cmp(&keys[a], &keys[b]));
        let values: Vec<Value> = match func {
            WindowFn::Offset { field, .. }
            | WindowFn::Agg {
                field: Some(field), ..
            } => pos.iter().map(|&p| rows[part[p]].get(field)).collect(),
            WindowFn::Agg { field: None, .. } => vec![Value::Num(1.0); pos.len()],
            _ => Vec::new(),
        };
        if let WindowFn::Agg { kind, .. } = func {
            // The whole part without an order; else each run of rows ordered equal (peers)
            // adds its values, then every one of them gets the total so far.
            let mut acc = WindowAcc::default();
            let mut k = 0;
            while k < pos.len() {
                let mut end = k + 1;
                if order.is_empty() {
                    end = pos.len();
                } else {
                    while end < pos.len() && cmp(&keys[pos[k]], &keys[pos[end]]).is_eq() {
                        end += 1;
                    }
                }
                for v in &values[k..end] {
                    acc.add(*kind, v);
                }
                let v = acc.value(*kind);
                if !v.is_null() {
                    for &p in &pos[k..end] {
                        rows[part[p]].set(out, v.clone());
                    }
                }
                k = end;
            }
            continue;
        }
        let (mut rank, mut dense) = (0usize, 0usize);
        for (k, &p) in pos.iter().enumerate() {
            if k == 0 || cmp(&keys[pos[k - 1]], &keys[p]).is_ne() {
                rank = k + 1;
                dense += 1;
            }
            let v = match func {
                WindowFn::RowNumber => Value::Num((k + 1) as f64),
                WindowFn::Rank => Value::Num(rank as f64),
                WindowFn::DenseRank => Value::Num(dense as f64),
                WindowFn::Agg { .. } => Value::Null,
                WindowFn::Offset {
                    offset,
                    default,
                    lead,
                    ..
                } => {
                    let at = if *lead {
                        k.checked_add(*offset).filter(|&j| j < values.len())
                    } else {
                        k.checked_sub(*offset)
                    };
                    match at {
                        Some(j) => values[j].clone(),
                        None => default.clone(),
                    }
                }
            };
            if !v.is_null() {
                rows[part[p]].set(out, v);
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::glob;

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
