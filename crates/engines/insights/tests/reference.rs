//! Property tests: the engine against a naive reference evaluator written here from the AWS
//! documentation, independently of the engine's code, on random small data sets.
//!
//! Query subset (generated at random):
//! - `filter <field> <op> <number>` (op in `= != < <= > >=`), `filter <field> like /<literal>/`,
//!   zero to two of them chained in front of every other shape;
//! - `stats count(*) [as c] [by <field>]`;
//! - `stats sum(x), avg(x), min(x), max(x) [by <field>]` (with or without `as` names);
//! - `stats count_distinct(<field>) [by <field>]`;
//! - `stats rate(<number field>, <period>), histogram(<number field>, k) [by <field>]`;
//! - `fields <a>, <b> [| sort <a> asc|desc] [| limit N]`, and bare `filter` queries (every field).
//!
//! Semantics of the reference (AWS docs, "CloudWatch Logs Insights query syntax"):
//! - records outside the inclusive time range are ignored;
//! - a comparison or `like` on a field the event does not have is false (also for `!=`);
//! - numeric comparisons compare numerically; `like /lit/` is a substring test on the text;
//! - `stats` groups by value; events without the `by` field form their own group, whose row
//!   omits the key; aggregates ignore missing values, an aggregate with no input is omitted;
//!   `stats` row order is unspecified, so stats rows are compared as a set keyed by group;
//! - `sort`: "All non-number values come before all number values" in ascending order, natural
//!   order for non-numbers ("numeric portions by their length first and then by their numerical
//!   value", other portions by Unicode value), "If you sort in descending order, the sort results
//!   are the reverse"; missing values sort last in both directions; ties (and the default order,
//!   newest first) are broken by `@timestamp` descending then `@ptr` ascending (the engine's
//!   documented deterministic order);
//! - rows without an explicit `limit` are capped by StartQuery's `limit`.
//!
//! - `stats` without `by` over no matching event yields no row (no group exists).
//!
//! Where AWS documents nothing, the reference follows SQL-like null handling (missing fields
//! never satisfy a comparison; they sort last), and the generator stays clear of undocumented
//! corners: numeric comparisons and `sum/avg/min/max` only on fields that are always JSON
//! numbers (`code`, `n`, `lat`); the mixed-type field `tag` (strings and numbers) is only
//! sorted, grouped, counted and matched with `like`; `lat` (spelled `3` or `3.0`) is never a
//! grouping or `count_distinct` key.
//!
//! Every case scans the records in a random order, split over up to three executions that are
//! merged, and also checks `Execution::stats()` (scanned, matched, bytes).
//! Numbers are compared after parsing both renderings as f64, with a small relative tolerance.

use nephoscope_insights::{parse, Execution, QueryContext, Record, Stats};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

const CASES: usize = 400;
const START: i64 = 1_700_000_000_000; // 2023-11-14 22:13:20.000 UTC
const END: i64 = START + 20_000;
const STREAM: &str = "stream-r";
const LOG: &str = "123456789012:/aws/reference";

// ---------------------------------------------------------------- PRNG

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// True with probability `pct` percent.
    fn pct(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

// ---------------------------------------------------------------- data

#[derive(Debug, Clone)]
enum Val {
    Str(String),
    /// A JSON number: its text as written in the message, and its value.
    Num(String, f64),
}

impl Val {
    fn text(&self) -> &str {
        match self {
            Val::Str(s) | Val::Num(s, _) => s,
        }
    }
    fn num(&self) -> Option<f64> {
        match self {
            Val::Num(_, v) => Some(*v),
            Val::Str(_) => None,
        }
    }
    /// Identity for grouping and distinct counting: numbers by value.
    fn key(&self) -> String {
        match self {
            Val::Num(_, v) => format!("n:{v}"),
            Val::Str(s) => format!("s:{s}"),
        }
    }
}

#[derive(Debug, Clone)]
struct Rec {
    ts: i64,
    ptr: String,
    msg: String,
    /// Fields as the AWS docs define discovery for JSON events (nested keys joined with `.`).
    fields: Vec<(String, Val)>,
}

impl Rec {
    fn get(&self, name: &str) -> Option<Val> {
        if name == "@message" {
            return Some(Val::Str(self.msg.clone()));
        }
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
    fn in_range(&self) -> bool {
        (START..=END).contains(&self.ts)
    }
}

const SVC: &[&str] = &["api", "web", "db", "auth", "node2", "node10"];
const TAGS: &[&str] = &["x1", "x10", "x9", "beta", "Beta", "2b", "10a", "a-1"];
const NON_JSON: &[&str] = &[
    "plain text api 42",
    "ERROR web request failed code=5",
    "{broken json \"svc\":\"api\"",
    "[1,2,3]",
    "node10 lat 2.5",
    "{\"svc\":\"db\"",
];

fn gen_records(rng: &mut Rng) -> Vec<Rec> {
    let n = rng.below(31) as usize;
    (0..n)
        .map(|i| {
            let ts = match rng.below(100) {
                0..=4 => START - 1 - rng.below(5_000) as i64,
                5..=9 => END + 1 + rng.below(5_000) as i64,
                10..=12 => START,
                13..=15 => END,
                // coarse steps so that equal timestamps (ties) are common
                _ => START + rng.below(41) as i64 * 500,
            };
            let ptr = format!("{:06x}{i:02}", rng.below(1 << 24));
            if rng.pct(12) {
                return Rec {
                    ts,
                    ptr,
                    msg: rng.pick(NON_JSON).to_string(),
                    fields: Vec::new(),
                };
            }
            let mut fields: Vec<(String, Val)> = Vec::new();
            if rng.pct(85) {
                fields.push(("svc".into(), Val::Str(rng.pick(SVC).to_string())));
            }
            if rng.pct(80) {
                let v = rng.range(0, 6);
                fields.push(("code".into(), Val::Num(v.to_string(), v as f64)));
            }
            if rng.pct(75) {
                let v = rng.range(-5, 20);
                fields.push(("n".into(), Val::Num(v.to_string(), v as f64)));
            }
            if rng.pct(70) {
                let (text, v) = match rng.below(10) {
                    0..=5 => {
                        let v = rng.range(-8, 80) as f64 / 4.0;
                        (format!("{v}"), v)
                    }
                    6 | 7 => {
                        let v = rng.range(-2, 20) as f64;
                        (format!("{v:.1}"), v)
                    }
                    _ => {
                        let v = rng.range(0, 99_999) as f64 / 1000.0;
                        (format!("{v}"), v)
                    }
                };
                fields.push(("lat".into(), Val::Num(text, v)));
            }
            if rng.pct(60) {
                // mixed types: strings and numbers (only sorted, grouped, counted, matched)
                let v = if rng.pct(50) {
                    Val::Str(rng.pick(TAGS).to_string())
                } else {
                    let v = rng.range(-3, 12);
                    Val::Num(v.to_string(), v as f64)
                };
                fields.push(("tag".into(), v));
            }
            let mut parts: Vec<String> = fields
                .iter()
                .map(|(k, v)| match v {
                    Val::Str(s) => format!("\"{k}\":\"{s}\""),
                    Val::Num(t, _) => format!("\"{k}\":{t}"),
                })
                .collect();
            if rng.pct(15) {
                let id = format!("r{}", rng.below(100));
                parts.push(format!("\"req\":{{\"id\":\"{id}\"}}"));
                fields.push(("req.id".into(), Val::Str(id)));
            }
            // random key order
            for j in (1..parts.len()).rev() {
                parts.swap(j, rng.below(j as u64 + 1) as usize);
            }
            let sep = if rng.pct(50) { "," } else { ", " };
            Rec {
                ts,
                ptr,
                msg: format!("{{{}}}", parts.join(sep)),
                fields,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- query model

#[derive(Debug, Clone, Copy)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Eq => a == b,
            Op::Ne => a != b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
        }
    }
}

#[derive(Debug, Clone)]
enum Pred {
    Cmp(&'static str, Op, f64),
    Like(&'static str, &'static str),
}

#[derive(Debug, Clone, Copy)]
enum Agg {
    CountStar,
    Sum(&'static str),
    Avg(&'static str),
    Min(&'static str),
    Max(&'static str),
    CountDistinct(&'static str),
    /// `rate(field, period)`: the period's text and milliseconds.
    Rate(&'static str, &'static str, i64),
    /// `histogram(field, buckets)`.
    Histogram(&'static str, usize),
}

impl Agg {
    fn text(self) -> String {
        match self {
            Agg::CountStar => "count(*)".into(),
            Agg::Sum(f) => format!("sum({f})"),
            Agg::Avg(f) => format!("avg({f})"),
            Agg::Min(f) => format!("min({f})"),
            Agg::Max(f) => format!("max({f})"),
            Agg::CountDistinct(f) => format!("count_distinct({f})"),
            Agg::Rate(f, p, _) => format!("rate({f}, {p})"),
            Agg::Histogram(f, k) => format!("histogram({f}, {k})"),
        }
    }
}

#[derive(Debug, Clone)]
enum Tail {
    Stats {
        /// (column name, alias given in the query?, aggregate)
        items: Vec<(String, bool, Agg)>,
        by: Option<&'static str>,
    },
    Rows {
        cols: Option<Vec<&'static str>>,
        sort: Option<(&'static str, bool)>,
        limit: Option<usize>,
    },
}

#[derive(Debug, Clone)]
struct Spec {
    filters: Vec<Pred>,
    tail: Tail,
}

impl Spec {
    fn text(&self) -> String {
        let mut cmds: Vec<String> = self
            .filters
            .iter()
            .map(|p| match p {
                Pred::Cmp(f, op, v) => format!("filter {f} {} {v}", op.text()),
                Pred::Like(f, lit) => format!("filter {f} like /{lit}/"),
            })
            .collect();
        match &self.tail {
            Tail::Stats { items, by } => {
                let list: Vec<String> = items
                    .iter()
                    .map(|(name, aliased, a)| {
                        if *aliased {
                            format!("{} as {name}", a.text())
                        } else {
                            a.text()
                        }
                    })
                    .collect();
                let mut s = format!("stats {}", list.join(", "));
                if let Some(b) = by {
                    write!(s, " by {b}").unwrap();
                }
                cmds.push(s);
            }
            Tail::Rows { cols, sort, limit } => {
                if let Some(c) = cols {
                    cmds.push(format!("fields {}", c.join(", ")));
                }
                if let Some((f, desc)) = sort {
                    cmds.push(format!("sort {f} {}", if *desc { "desc" } else { "asc" }));
                }
                if let Some(n) = limit {
                    cmds.push(format!("limit {n}"));
                }
            }
        }
        cmds.join(" | ")
    }
}

const NUM_FIELDS: &[&str] = &["code", "n", "lat"];
const GROUP_FIELDS: &[&str] = &["svc", "code", "n", "tag"];
const ALL_FIELDS: &[&str] = &["svc", "code", "n", "lat", "tag"];

fn gen_pred(rng: &mut Rng) -> Pred {
    if rng.pct(65) {
        let f = rng.pick(NUM_FIELDS);
        let op = rng.pick(&[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge]);
        let v = if rng.pct(70) {
            rng.range(-3, 12) as f64
        } else {
            rng.range(-6, 40) as f64 / 4.0
        };
        Pred::Cmp(f, op, v)
    } else {
        match rng.below(4) {
            0 => Pred::Like("svc", rng.pick(&["a", "api", "de", "node1", "b", "x"])),
            3 => Pred::Like("tag", rng.pick(&["x", "1", "eta", "a", "-"])),
            1 => Pred::Like(
                rng.pick(&["code", "n", "lat"]),
                rng.pick(&["1", "2", "5", "0", "-"]),
            ),
            _ => Pred::Like(
                "@message",
                rng.pick(&["api", "code", "lat", "plain", "1", "web", "req"]),
            ),
        }
    }
}

fn gen_filters(rng: &mut Rng) -> Vec<Pred> {
    let n = match rng.below(10) {
        0..=3 => 0,
        4..=8 => 1,
        _ => 2,
    };
    (0..n).map(|_| gen_pred(rng)).collect()
}

fn maybe_by(rng: &mut Rng) -> Option<&'static str> {
    if rng.pct(80) {
        Some(rng.pick(GROUP_FIELDS))
    } else {
        None
    }
}

// ---------------------------------------------------------------- reference evaluator

fn ref_pred(p: &Pred, r: &Rec) -> bool {
    match p {
        Pred::Cmp(f, op, lit) => r
            .get(f)
            .and_then(|v| v.num())
            .is_some_and(|x| op.holds(x, *lit)),
        Pred::Like(f, lit) => r.get(f).is_some_and(|v| v.text().contains(lit)),
    }
}

fn ref_matched<'a>(spec: &Spec, recs: &'a [Rec]) -> Vec<&'a Rec> {
    recs.iter()
        .filter(|r| r.in_range() && spec.filters.iter().all(|p| ref_pred(p, r)))
        .collect()
}

/// Natural order of two non-number strings, as the `sort` documentation describes it.
fn natural(a: &str, b: &str) -> Ordering {
    fn chunks(s: &str) -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            let d = c.is_ascii_digit();
            match out.last_mut() {
                Some((kind, text)) if *kind == d => text.push(c),
                _ => out.push((d, c.to_string())),
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(cb.iter()) {
        let o = match (x, y) {
            ((true, p), (true, q)) => p.len().cmp(&q.len()).then_with(|| p.cmp(q)),
            ((_, p), (_, q)) => p.cmp(q),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    ca.len().cmp(&cb.len())
}

/// Ascending `sort` order of two present values.
fn sort_asc(a: &Val, b: &Val) -> Ordering {
    match (a.num(), b.num()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap(),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => natural(a.text(), b.text()),
    }
}

type Row = Vec<(String, String)>;

fn days_to_civil(z: i64) -> (i64, u32, u32) {
    // Howard Hinnant's algorithm
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn fmt_ts(ms: i64) -> String {
    let (secs, milli) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = days_to_civil(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{milli:03}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

fn ref_rows(
    spec: &Spec,
    recs: &[Rec],
    cols: &Option<Vec<&'static str>>,
    sort: &Option<(&'static str, bool)>,
    limit: Option<usize>,
    ctx_limit: usize,
) -> Vec<Row> {
    let mut m = ref_matched(spec, recs);
    m.sort_by(|a, b| {
        let by_key = match sort {
            Some((f, desc)) => match (a.get(f), b.get(f)) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(x), Some(y)) => {
                    let o = sort_asc(&x, &y);
                    if *desc {
                        o.reverse()
                    } else {
                        o
                    }
                }
            },
            None => Ordering::Equal,
        };
        by_key
            .then_with(|| b.ts.cmp(&a.ts))
            .then_with(|| a.ptr.cmp(&b.ptr))
    });
    m.truncate(limit.unwrap_or(ctx_limit));
    m.iter()
        .map(|r| {
            let mut row: Row = Vec::new();
            match cols {
                Some(cs) => {
                    for c in cs {
                        if let Some(v) = r.get(c) {
                            row.push((c.to_string(), v.text().to_string()));
                        }
                    }
                }
                None => {
                    row.push(("@timestamp".into(), fmt_ts(r.ts)));
                    row.push(("@message".into(), r.msg.clone()));
                    row.push(("@logStream".into(), STREAM.into()));
                    row.push(("@log".into(), LOG.into()));
                    for (k, v) in &r.fields {
                        row.push((k.clone(), v.text().to_string()));
                    }
                }
            }
            row.push(("@ptr".into(), r.ptr.clone()));
            row
        })
        .collect()
}

fn fmt_f(x: f64) -> String {
    format!("{x}")
}

/// Stats rows keyed by group (`"<none>"` for events without the `by` field).
fn ref_stats(
    spec: &Spec,
    recs: &[Rec],
    items: &[(String, bool, Agg)],
    by: Option<&'static str>,
) -> BTreeMap<String, Row> {
    let mut groups: BTreeMap<String, (Option<Val>, Vec<&Rec>)> = BTreeMap::new();
    for r in ref_matched(spec, recs) {
        let kv = by.and_then(|b| r.get(b));
        let k = kv.as_ref().map_or("<none>".to_string(), Val::key);
        groups
            .entry(k)
            .or_insert_with(|| (kv, Vec::new()))
            .1
            .push(r);
    }
    groups
        .into_iter()
        .map(|(k, (kv, rs))| {
            let mut row: Row = Vec::new();
            if let (Some(b), Some(v)) = (by, &kv) {
                row.push((b.to_string(), v.text().to_string()));
            }
            for (name, _, agg) in items {
                let nums =
                    |f: &str| -> Vec<f64> { rs.iter().filter_map(|r| r.get(f)?.num()).collect() };
                let v: Option<String> = match *agg {
                    Agg::CountStar => Some(rs.len().to_string()),
                    Agg::Sum(f) => {
                        let xs = nums(f);
                        (!xs.is_empty()).then(|| fmt_f(xs.iter().sum()))
                    }
                    Agg::Avg(f) => {
                        let xs = nums(f);
                        (!xs.is_empty()).then(|| fmt_f(xs.iter().sum::<f64>() / xs.len() as f64))
                    }
                    Agg::Min(f) => nums(f).into_iter().reduce(f64::min).map(fmt_f),
                    Agg::Max(f) => nums(f).into_iter().reduce(f64::max).map(fmt_f),
                    Agg::CountDistinct(f) => {
                        let s: BTreeSet<String> =
                            rs.iter().filter_map(|r| Some(r.get(f)?.key())).collect();
                        Some(s.len().to_string())
                    }
                    // Nephoscope's definitions (AWS gives one line each; docs/compatibility.md):
                    // the change between the earliest and the latest numeric value per
                    // `period`, and counts over equal-width ranges from the least value to the
                    // greatest.
                    Agg::Rate(f, _, period) => {
                        let mut pts: Vec<(i64, f64)> = rs
                            .iter()
                            .filter_map(|r| Some((r.ts, r.get(f)?.num()?)))
                            .collect();
                        pts.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
                        match (pts.first(), pts.last()) {
                            (Some(&(t0, x0)), Some(&(t1, x1))) if t1 > t0 => {
                                Some(fmt_f((x1 - x0) / (t1 - t0) as f64 * period as f64))
                            }
                            _ => None,
                        }
                    }
                    Agg::Histogram(f, k) => {
                        let xs = nums(f);
                        let lo = xs.iter().copied().reduce(f64::min);
                        let hi = xs.iter().copied().reduce(f64::max);
                        match (lo, hi) {
                            (Some(lo), Some(hi)) if lo == hi || k == 1 => Some(format!(
                                r#"{{"[{}, {}]":{}}}"#,
                                fmt_f(lo),
                                fmt_f(hi),
                                xs.len()
                            )),
                            (Some(lo), Some(hi)) => {
                                let w = (hi - lo) / k as f64;
                                let mut counts = vec![0usize; k];
                                for x in &xs {
                                    counts[(((x - lo) / w).floor() as usize).min(k - 1)] += 1;
                                }
                                let edge = |i: usize| if i == k { hi } else { lo + w * i as f64 };
                                let cells: Vec<String> = (0..k)
                                    .map(|i| {
                                        let close = if i + 1 == k { ']' } else { ')' };
                                        format!(
                                            r#""[{}, {}{close}":{}"#,
                                            fmt_f(edge(i)),
                                            fmt_f(edge(i + 1)),
                                            counts[i]
                                        )
                                    })
                                    .collect();
                                Some(format!("{{{}}}", cells.join(",")))
                            }
                            _ => None,
                        }
                    }
                };
                if let Some(v) = v {
                    row.push((name.clone(), v));
                }
            }
            (k, row)
        })
        .collect()
}

// ---------------------------------------------------------------- engine side

fn engine(q: &str, recs: &[Rec], ctx: QueryContext, rng: &mut Rng) -> (Vec<Row>, Stats) {
    let query = parse(q).unwrap_or_else(|e| panic!("engine rejected {q:?}: {e:?}"));
    // random scan order, split over up to three executions merged at the end
    let mut order: Vec<usize> = (0..recs.len()).collect();
    for j in (1..order.len()).rev() {
        order.swap(j, rng.below(j as u64 + 1) as usize);
    }
    let parts = 1 + rng.below(3) as usize;
    let mut exs: Vec<Execution> = (0..parts).map(|_| query.start(ctx)).collect();
    for i in order {
        let r = &recs[i];
        let rec = Record {
            timestamp: r.ts,
            ingestion_time: r.ts + 7,
            message: &r.msg,
            log_stream: STREAM,
            log: LOG,
            ptr: &r.ptr,
            flat: false,
        };
        let k = rng.below(parts as u64) as usize;
        exs[k].push(&rec);
    }
    let mut it = exs.into_iter();
    let mut first = it.next().unwrap();
    for e in it {
        first.merge(e);
    }
    (first.rows(), first.stats())
}

// ---------------------------------------------------------------- comparison

fn same_value(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

fn same_row(a: &Row, b: &Row, ordered: bool) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if ordered {
        a.iter()
            .zip(b)
            .all(|((k1, v1), (k2, v2))| k1 == k2 && same_value(v1, v2))
    } else {
        a.iter().all(|(k1, v1)| {
            b.iter()
                .find(|(k2, _)| k2 == k1)
                .is_some_and(|(_, v2)| same_value(v1, v2))
        })
    }
}

fn show_rows(rows: &[Row]) -> String {
    let mut s = String::new();
    for r in rows {
        let cells: Vec<String> = r.iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(s, "    {}", cells.join("; ")).unwrap();
    }
    s
}

/// Failure report; `head` names the property, the case and what differs.
fn report(
    head: &str,
    q: &str,
    ctx: &QueryContext,
    recs: &[Rec],
    expected: &str,
    got: &str,
) -> String {
    let mut s = format!(
        "{head}\nquery: {q}\nrange: [{START}, {END}], StartQuery limit {}\nrecords ({}):\n",
        ctx.limit,
        recs.len()
    );
    for r in recs {
        writeln!(
            s,
            "    ts={}{} ptr={} msg={}",
            r.ts,
            if r.in_range() { "" } else { " (out of range)" },
            r.ptr,
            r.msg
        )
        .unwrap();
    }
    write!(s, "expected (reference):\n{expected}engine:\n{got}").unwrap();
    s
}

/// Generate `CASES` cases with `gen_tail`, run engine and reference, and compare.
fn check_property(prop: &str, seed: u64, gen_tail: fn(&mut Rng) -> Tail) {
    let mut rng = Rng::new(seed);
    let mut non_empty = 0usize;
    for case in 0..CASES {
        let recs = gen_records(&mut rng);
        let mut spec = Spec {
            filters: gen_filters(&mut rng),
            tail: gen_tail(&mut rng),
        };
        if spec.filters.is_empty() && matches!(spec.tail, Tail::Rows { cols: None, .. }) {
            // a bare `filter` query needs at least one filter (the empty query is an error)
            spec.filters.push(gen_pred(&mut rng));
        }
        let q = spec.text();
        let ctx = QueryContext {
            start_ms: START,
            end_ms: END,
            now_ms: END + 60_000,
            limit: if matches!(spec.tail, Tail::Rows { .. }) && rng.pct(30) {
                1 + rng.below(12) as usize
            } else {
                10_000
            },
        };
        let (got, stats) = engine(&q, &recs, ctx, &mut rng);

        // statistics: scanned = in range, matched = in range and passing every filter
        let in_range: Vec<&Rec> = recs.iter().filter(|r| r.in_range()).collect();
        let matched = ref_matched(&spec, &recs).len();
        let bytes: usize = in_range.iter().map(|r| r.msg.len()).sum();
        let exp_stats = (in_range.len() as f64, matched as f64, bytes as f64);
        let got_stats = (
            stats.records_scanned,
            stats.records_matched,
            stats.bytes_scanned,
        );
        if exp_stats != got_stats {
            panic!(
                "{}",
                report(
                    &format!("{prop}: case {case}: statistics differ"),
                    &q,
                    &ctx,
                    &recs,
                    &format!("    stats (scanned, matched, bytes) = {exp_stats:?}\n"),
                    &format!("    stats (scanned, matched, bytes) = {got_stats:?}\n")
                )
            );
        }

        match &spec.tail {
            Tail::Rows { cols, sort, limit } => {
                let exp = ref_rows(&spec, &recs, cols, sort, *limit, ctx.limit);
                let ok = exp.len() == got.len()
                    && exp
                        .iter()
                        .zip(&got)
                        .all(|(e, g)| same_row(e, g, cols.is_some()));
                if !ok {
                    panic!(
                        "{}",
                        report(
                            &format!("{prop}: case {case}: rows differ"),
                            &q,
                            &ctx,
                            &recs,
                            &show_rows(&exp),
                            &show_rows(&got)
                        )
                    );
                }
                non_empty += usize::from(!exp.is_empty());
            }
            Tail::Stats { items, by } => {
                let exp = ref_stats(&spec, &recs, items, *by);
                // key the engine's rows the same way (value of the `by` column, if any)
                let mut keyed: BTreeMap<String, Row> = BTreeMap::new();
                let mut dup = false;
                for r in &got {
                    let kv = by.and_then(|b| r.iter().find(|(k, _)| k == b));
                    let k = match kv {
                        None => "<none>".to_string(),
                        Some((_, v)) => match v.parse::<f64>() {
                            Ok(x) => format!("n:{x}"),
                            Err(_) => format!("s:{v}"),
                        },
                    };
                    dup |= keyed.insert(k, r.clone()).is_some();
                }
                let ok = !dup
                    && exp.len() == keyed.len()
                    && exp
                        .iter()
                        .all(|(k, e)| keyed.get(k).is_some_and(|g| same_row(e, g, false)));
                if !ok {
                    let exp_rows: Vec<Row> = exp.into_values().collect();
                    panic!(
                        "{}",
                        report(
                            &format!("{prop}: case {case}: stats rows differ (set by group)"),
                            &q,
                            &ctx,
                            &recs,
                            &show_rows(&exp_rows),
                            &show_rows(&got)
                        )
                    );
                }
                non_empty += usize::from(!exp.is_empty());
            }
        }
    }
    // the generator must actually exercise the engine
    assert!(
        non_empty * 2 >= CASES,
        "{prop}: only {non_empty}/{CASES} cases had a non-empty expected result"
    );
}

// ---------------------------------------------------------------- properties

#[test]
fn filter_only_rows_match_reference() {
    check_property("filter_only", 0xA5A5_0001_DEAD_BEEF, |_| Tail::Rows {
        cols: None,
        sort: None,
        limit: None,
    });
}

#[test]
fn stats_count_by_matches_reference() {
    check_property("stats_count_by", 0x1234_5678_9ABC_DEF1, |rng| {
        let aliased = rng.pct(50);
        Tail::Stats {
            items: vec![(
                if aliased {
                    "c".into()
                } else {
                    "count(*)".into()
                },
                aliased,
                Agg::CountStar,
            )],
            by: maybe_by(rng),
        }
    });
}

#[test]
fn stats_numeric_aggregates_match_reference() {
    check_property("stats_numeric", 0x0F0F_F0F0_1357_9BDF, |rng| {
        let f = rng.pick(NUM_FIELDS);
        let aliased = rng.pct(40);
        let items = [
            ("s", Agg::Sum(f)),
            ("a", Agg::Avg(f)),
            ("lo", Agg::Min(f)),
            ("hi", Agg::Max(f)),
        ]
        .into_iter()
        .map(|(alias, a)| {
            if aliased {
                (alias.to_string(), true, a)
            } else {
                (a.text(), false, a)
            }
        })
        .collect();
        Tail::Stats {
            items,
            by: maybe_by(rng),
        }
    });
}

#[test]
fn stats_count_distinct_matches_reference() {
    check_property("stats_count_distinct", 0x7777_1111_2222_3333, |rng| {
        // `lat` is left out: it mixes `3` and `3.0` spellings whose distinctness AWS does not
        // document.
        let f = rng.pick(GROUP_FIELDS);
        let a = Agg::CountDistinct(f);
        let by = if rng.pct(40) {
            Some(rng.pick(GROUP_FIELDS))
        } else {
            None
        };
        Tail::Stats {
            items: vec![(a.text(), false, a)],
            by,
        }
    });
}

#[test]
fn stats_time_series_match_reference() {
    check_property("stats_time_series", 0x5EED_0F71_4300_0006, |rng| {
        let f = rng.pick(NUM_FIELDS);
        let period = rng.pick(&[("1s", 1_000), ("1m", 60_000), ("250ms", 250)]);
        let k = 1 + rng.below(5) as usize;
        let items = [Agg::Rate(f, period.0, period.1), Agg::Histogram(f, k)]
            .into_iter()
            .map(|a| (a.text(), false, a))
            .collect();
        Tail::Stats {
            items,
            by: maybe_by(rng),
        }
    });
}

#[test]
fn fields_sort_limit_match_reference() {
    check_property("fields_sort_limit", 0xBEEF_CAFE_F00D_0042, |rng| {
        let a = rng.pick(ALL_FIELDS);
        let b = loop {
            let b = rng.pick(&["svc", "code", "n", "lat", "tag", "@message", "req.id"]);
            if b != a {
                break b;
            }
        };
        let sort = if rng.pct(85) {
            Some((a, rng.pct(50)))
        } else {
            None
        };
        let limit = if rng.pct(80) {
            Some(1 + rng.below(15) as usize)
        } else {
            None
        };
        Tail::Rows {
            cols: Some(vec![a, b]),
            sort,
            limit,
        }
    });
}
