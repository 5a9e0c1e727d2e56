//! Mergeable partial aggregates for `stats`.

use crate::ast::AggKind;
use crate::value::{sort_cmp, Value};
use std::cmp::Ordering;
/// Sets of distinct values' fingerprints ([`fingerprint`]), hashed again with foldhash's fast
/// hash: compact, cache-friendly sets instead of sets of strings.
type HashSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A 128-bit fingerprint of a value's key: SipHash-1-3 with a 128-bit output under a key drawn
/// at random once per process, so every execution of a query (and every merge) agrees, and
/// nobody outside can aim for collisions. Two distinct values share a fingerprint with
/// probability about n² / 2¹²⁹ for n distinct values (below 10⁻²¹ for a billion):
/// `count_distinct` counts fingerprints.
pub(crate) fn fingerprint(key: &str) -> u128 {
    use siphasher::sip128::{Hasher128, SipHasher13};
    use std::hash::{BuildHasher, Hasher};
    static KEY: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();
    let &(k0, k1) = KEY.get_or_init(|| {
        let r = std::hash::RandomState::new();
        (r.hash_one(0u8), r.hash_one(1u8))
    });
    let mut h = SipHasher13::new_with_keys(k0, k1);
    h.write(key.as_bytes());
    h.finish128().as_u128()
}

/// A `count_distinct` state: the fingerprints of the distinct values met.
///
/// Values met one by one go straight into `set`. A caller that already knows a value is new
/// to it (the column scans' per-group bitmaps of entry ids) hands its fingerprint to
/// [`DistinctSet::add_new`], which only appends: hashing into sets of tens of thousands of
/// values in the middle of a scan costs a cache miss each, and building the set once, sized,
/// when states merge (or when the caller's bitmap starts over) is several times cheaper.
#[derive(Debug, Clone, Default)]
pub struct DistinctSet {
    set: HashSet<u128>,
    /// Fingerprints given to [`DistinctSet::add_new`] since the last [`DistinctSet::absorb`]:
    /// none twice; some may also be in `set`.
    fresh: Vec<u128>,
}

impl DistinctSet {
    pub(crate) fn insert(&mut self, fp: u128) {
        self.set.insert(fp);
    }

    /// Adds a fingerprint the caller has not given here since the last
    /// [`DistinctSet::absorb`] (it may have been [`DistinctSet::insert`]ed).
    pub(crate) fn add_new(&mut self, fp: u128) {
        self.fresh.push(fp);
    }

    /// Moves the fresh fingerprints into the set (before a caller's record of what it gave
    /// starts over).
    pub(crate) fn absorb(&mut self) {
        if self.fresh.is_empty() {
            return;
        }
        self.set.reserve(self.fresh.len());
        self.set.extend(self.fresh.drain(..));
    }

    /// How many distinct values.
    pub(crate) fn len(&self) -> usize {
        if self.set.is_empty() {
            self.fresh.len()
        } else {
            self.set.len() + self.fresh.iter().filter(|f| !self.set.contains(f)).count()
        }
    }

    /// Leaves no fresh fingerprints: the other side's were given under another caller's
    /// record.
    fn merge(&mut self, mut o: DistinctSet) {
        if o.set.len() + o.fresh.len() > self.set.len() + self.fresh.len() {
            std::mem::swap(self, &mut o);
        }
        self.absorb();
        self.set.reserve(o.set.len() + o.fresh.len());
        self.set.extend(o.set);
        self.set.extend(o.fresh);
    }
}

#[derive(Debug, Clone)]
pub enum AggState {
    Count(u64),
    Distinct(DistinctSet),
    Sum(f64, bool),
    Avg(f64, u64),
    /// min/max/sortsFirst/sortsLast: best value so far.
    Best(Option<Value>),
    /// Values one by one, and values met many times at once with their counts (by bits).
    Pct(Vec<f64>, HashMap<u64, u64>),
    /// n, mean, M2 (Welford / Chan merge).
    Stddev(u64, f64, f64),
    /// (timestamp, tiebreak pointer, value) of the earliest/latest event having the field.
    At(Option<(i64, String, Value)>),
    /// `rate`: (time, number) of the earliest and the latest event with a numeric value (of
    /// events at the same time, the smallest value counts as earliest, the largest as latest,
    /// so the answer does not depend on the order records arrive in).
    Rate(Option<(i64, f64)>, Option<(i64, f64)>),
    /// `take`: (timestamp, pointer, value) of the earliest records having the field, at most
    /// the count (kept past it until twice as many, then cut).
    Take(Vec<(i64, String, Value)>, usize),
}

impl AggState {
    /// The empty state of an aggregate (its parameter sizes `take`'s).
    pub fn for_spec(a: &crate::ast::AggSpec) -> AggState {
        match a.kind {
            AggKind::Take => AggState::Take(Vec::new(), a.p as usize),
            k => AggState::new(k),
        }
    }

    pub fn new(k: AggKind) -> AggState {
        match k {
            AggKind::Count | AggKind::CountStar => AggState::Count(0),
            AggKind::CountDistinct => AggState::Distinct(DistinctSet::default()),
            AggKind::Sum => AggState::Sum(0.0, false),
            AggKind::Avg => AggState::Avg(0.0, 0),
            AggKind::Min | AggKind::Max | AggKind::SortsFirst | AggKind::SortsLast => {
                AggState::Best(None)
            }
            AggKind::Pct | AggKind::Percentile | AggKind::Histogram => {
                AggState::Pct(Vec::new(), HashMap::default())
            }
            AggKind::Stddev => AggState::Stddev(0, 0.0, 0.0),
            AggKind::Earliest | AggKind::Latest => AggState::At(None),
            AggKind::Rate => AggState::Rate(None, None),
            AggKind::Take => AggState::Take(Vec::new(), 10),
        }
    }

    /// Add one value; `scratch` is a reusable buffer (distinct keys are built in it).
    pub fn update(&mut self, k: AggKind, v: &Value, ts: i64, ptr: &str, scratch: &mut String) {
        if k == AggKind::CountStar {
            if let AggState::Count(c) = self {
                *c += 1;
            }
            return;
        }
        if v.is_null() {
            return;
        }
        match self {
            AggState::Count(c) => *c += 1,
            AggState::Distinct(s) => {
                v.key_into(scratch);
                s.insert(fingerprint(scratch));
            }
            AggState::Sum(s, any) => {
                if let Some(n) = v.as_num() {
                    *s += n;
                    *any = true;
                }
            }
            AggState::Avg(s, n) => {
                if let Some(x) = v.as_num() {
                    *s += x;
                    *n += 1;
                }
            }
            AggState::Best(b) => {
                if matches!(k, AggKind::Min | AggKind::Max) && v.as_num().is_none() {
                    return;
                }
                if b.as_ref().is_none_or(|cur| better(k, v, cur)) {
                    *b = Some(v.clone());
                }
            }
            AggState::Pct(vs, _) => {
                if let Some(x) = v.as_num() {
                    vs.push(x);
                }
            }
            AggState::Stddev(n, mean, m2) => {
                if let Some(x) = v.as_num() {
                    *n += 1;
                    let d = x - *mean;
                    *mean += d / *n as f64;
                    *m2 += d * (x - *mean);
                }
            }
            AggState::At(cur) => {
                if cur
                    .as_ref()
                    .is_none_or(|c| at_better(k, (ts, ptr), (c.0, &c.1)))
                {
                    *cur = Some((ts, ptr.to_string(), v.clone()));
                }
            }
            AggState::Rate(first, last) => {
                if let Some(x) = v.as_num() {
                    rate_add(first, last, (ts, x));
                }
            }
            AggState::Take(held, cap) => {
                held.push((ts, ptr.to_string(), v.clone()));
                if held.len() >= 2 * *cap + 64 {
                    take_cut(held, *cap);
                }
            }
        }
    }

    /// [`AggState::update`] with a non-null value whose number (`as_num`) is `num` and whose
    /// key's [`fingerprint`] is `fp` (read only by `count_distinct`), worked out once for
    /// many records that share the value.
    pub(crate) fn update_known(
        &mut self,
        k: AggKind,
        v: &Value,
        num: Option<f64>,
        fp: u128,
        scratch: &mut String,
    ) {
        match self {
            AggState::Count(c) => *c += 1,
            AggState::Distinct(s) => {
                s.insert(fp);
            }
            AggState::Sum(..) | AggState::Avg(..) | AggState::Pct(..) | AggState::Stddev(..) => {
                if let Some(x) = num {
                    self.add_num(x);
                }
            }
            // The column-fed executor leaves queries with `earliest`, `latest` and `rate` (which
            // need each record's time) to the record path.
            AggState::Best(_) | AggState::At(_) | AggState::Rate(..) | AggState::Take(..) => {
                self.update(k, v, 0, "", scratch)
            }
        }
    }

    /// `n` values `x` into a `pct` state (nothing for another).
    pub(crate) fn add_many(&mut self, x: f64, n: u64) {
        if let AggState::Pct(_, weighted) = self {
            *weighted.entry(x.to_bits()).or_insert(0) += n;
        }
    }

    /// [`AggState::update`] of `count`, `sum`, `avg`, `pct` or `stddev` with a non-null value
    /// whose number is `x`.
    #[inline]
    pub(crate) fn add_num(&mut self, x: f64) {
        match self {
            AggState::Count(c) => *c += 1,
            AggState::Sum(s, any) => {
                *s += x;
                *any = true;
            }
            AggState::Avg(s, n) => {
                *s += x;
                *n += 1;
            }
            AggState::Pct(vs, _) => vs.push(x),
            AggState::Stddev(n, mean, m2) => {
                *n += 1;
                let d = x - *mean;
                *mean += d / *n as f64;
                *m2 += d * (x - *mean);
            }
            _ => {}
        }
    }

    pub fn merge(&mut self, k: AggKind, o: AggState) {
        match (self, o) {
            (AggState::Count(a), AggState::Count(b)) => *a += b,
            (AggState::Distinct(a), AggState::Distinct(b)) => a.merge(b),
            (AggState::Sum(a, x), AggState::Sum(b, y)) => {
                *a += b;
                *x |= y;
            }
            (AggState::Avg(a, n), AggState::Avg(b, m)) => {
                *a += b;
                *n += m;
            }
            (AggState::Best(a), AggState::Best(Some(b)))
                if a.as_ref().is_none_or(|cur| better(k, &b, cur)) =>
            {
                *a = Some(b);
            }
            (AggState::Pct(a, wa), AggState::Pct(b, wb)) => {
                a.extend(b);
                for (x, n) in wb {
                    *wa.entry(x).or_insert(0) += n;
                }
            }
            (AggState::Stddev(n, mean, m2), AggState::Stddev(n2, mean2, m22)) => {
                if n2 == 0 {
                    return;
                }
                let tot = *n + n2;
                let d = mean2 - *mean;
                *m2 += m22 + d * d * (*n as f64) * (n2 as f64) / tot as f64;
                *mean += d * n2 as f64 / tot as f64;
                *n = tot;
            }
            (AggState::At(a), AggState::At(Some(b)))
                if a.as_ref()
                    .is_none_or(|c| at_better(k, (b.0, &b.1), (c.0, &c.1))) =>
            {
                *a = Some(b);
            }
            (AggState::Rate(first, last), AggState::Rate(f2, l2)) => {
                for p in [f2, l2].into_iter().flatten() {
                    rate_add(first, last, p);
                }
            }
            (AggState::Take(a, cap), AggState::Take(b, _)) => {
                a.extend(b);
                take_cut(a, *cap);
            }
            _ => {}
        }
    }

    /// The aggregate's value; `k` and `p` are its [`crate::ast::AggSpec`]'s kind and parameter.
    pub fn finish(&self, k: AggKind, p: f64) -> Value {
        match self {
            AggState::Pct(vs, weighted) if k == AggKind::Histogram => {
                histogram(vs, weighted, p as usize)
            }
            AggState::Rate(Some((t0, x0)), Some((t1, x1))) if t1 > t0 => {
                let r = (x1 - x0) / (t1 - t0) as f64 * p;
                if r.is_finite() {
                    Value::Num(r)
                } else {
                    Value::Null
                }
            }
            AggState::Rate(..) => Value::Null,
            AggState::Count(c) => Value::Num(*c as f64),
            AggState::Distinct(s) => Value::Num(s.len() as f64),
            AggState::Sum(s, any) => {
                if *any {
                    Value::Num(*s)
                } else {
                    Value::Null
                }
            }
            AggState::Avg(s, n) => {
                if *n == 0 {
                    Value::Null
                } else {
                    Value::Num(*s / *n as f64)
                }
            }
            AggState::Best(b) => b.clone().unwrap_or(Value::Null),
            AggState::Pct(vs, weighted) if k == AggKind::Percentile => {
                // The values at the two ranks around p · (n − 1), interpolated.
                let (all, total) = counted(vs, weighted);
                if total == 0 {
                    return Value::Null;
                }
                let at = snap(p * (total - 1) as f64 / 100.0);
                let (lo, frac) = (at.floor() as u64, at - at.floor());
                let nth = |i: u64| {
                    let mut seen = 0;
                    for &(x, n) in &all {
                        seen += n;
                        if seen > i {
                            return x;
                        }
                    }
                    all.last().map_or(0.0, |l| l.0)
                };
                let a = nth(lo);
                if frac == 0.0 {
                    return Value::Num(a);
                }
                // (As Spark weighs the two values.)
                let hi = (lo + 1) as f64;
                Value::Num((hi - at) * a + (at - lo as f64) * nth(lo + 1))
            }
            AggState::Pct(vs, weighted) if !weighted.is_empty() => {
                // The rank-th smallest, found by walking the counts.
                let (all, total) = counted(vs, weighted);
                let rank = (snap(p * total as f64 / 100.0).ceil() as u64).clamp(1, total);
                let mut seen = 0;
                for (x, n) in all {
                    seen += n;
                    if seen >= rank {
                        return Value::Num(x);
                    }
                }
                Value::Null
            }
            AggState::Pct(vs, _) => {
                if vs.is_empty() {
                    return Value::Null;
                }
                // nearest-rank percentile: the rank-th smallest value
                let mut v = vs.clone();
                let rank = snap(p * v.len() as f64 / 100.0).ceil() as usize;
                let at = rank.clamp(1, v.len()) - 1;
                let (_, x, _) = v
                    .select_nth_unstable_by(at, |a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
                Value::Num(*x)
            }
            AggState::Stddev(n, _, m2) => {
                if *n < 2 {
                    if *n == 1 {
                        Value::Num(0.0)
                    } else {
                        Value::Null
                    }
                } else {
                    Value::Num((m2 / (*n - 1) as f64).sqrt())
                }
            }
            AggState::At(a) => a.as_ref().map(|x| x.2.clone()).unwrap_or(Value::Null),
            AggState::Take(held, cap) => {
                let mut held = held.clone();
                take_cut(&mut held, *cap);
                Value::List(held.into_iter().map(|(_, _, v)| v).collect())
            }
        }
    }
}

/// A percentile state's values, each with its count, in order, and how many there are.
fn counted(vs: &[f64], weighted: &HashMap<u64, u64>) -> (Vec<(f64, u64)>, u64) {
    let mut all: Vec<(f64, u64)> = weighted
        .iter()
        .map(|(&x, &n)| (f64::from_bits(x), n))
        .collect();
    all.extend(vs.iter().map(|&x| (x, 1)));
    all.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
    let total = all.iter().map(|(_, n)| n).sum();
    (all, total)
}

/// A rank computed in floating point, taken as the whole number it is meant to be when it is
/// within rounding of one (`0.55 · 100` is `55.00000000000001`).
fn snap(x: f64) -> f64 {
    let r = x.round();
    if (x - r).abs() <= 1e-9 * r.abs().max(1.0) {
        r
    } else {
        x
    }
}

/// `take`'s values in record order (time, then pointer), cut to `cap`.
fn take_cut(held: &mut Vec<(i64, String, Value)>, cap: usize) {
    held.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    held.truncate(cap);
}

/// Take the point `(t, x)` into `rate`'s earliest and latest points.
fn rate_add(first: &mut Option<(i64, f64)>, last: &mut Option<(i64, f64)>, (t, x): (i64, f64)) {
    if first.is_none_or(|(t0, x0)| (t, x) < (t0, x0)) {
        *first = Some((t, x));
    }
    if last.is_none_or(|(t1, x1)| (t, x) > (t1, x1)) {
        *last = Some((t, x));
    }
}

/// `histogram`'s map: `buckets` equal-width ranges from the smallest value to the largest, each
/// named `[low, high)` (the last `[low, high]`, holding the largest value) with how many values
/// it holds, in ascending order; all values equal: one range `[x, x]`. No values: null.
fn histogram(vs: &[f64], weighted: &HashMap<u64, u64>, buckets: usize) -> Value {
    let all = || {
        vs.iter()
            .map(|&x| (x, 1u64))
            .chain(weighted.iter().map(|(&b, &n)| (f64::from_bits(b), n)))
            .filter(|(x, _)| x.is_finite())
    };
    let Some((lo, hi)) = all().fold(None, |acc: Option<(f64, f64)>, (x, _)| match acc {
        None => Some((x, x)),
        Some((l, h)) => Some((l.min(x), h.max(x))),
    }) else {
        return Value::Null;
    };
    let fmt = crate::value::fmt_num;
    let width = (hi - lo) / buckets.max(1) as f64;
    // Ranges too wide for f64, or too narrow to tell their edges apart: one range.
    let distinct = (0..buckets).all(|i| lo + width * (i as f64) < lo + width * ((i + 1) as f64));
    if lo == hi || buckets <= 1 || !width.is_finite() || !distinct {
        let n: u64 = all().map(|(_, n)| n).sum();
        let name = format!("[{}, {}]", fmt(lo), fmt(hi));
        return Value::Map(vec![(name, Value::Num(n as f64))]);
    }
    let mut counts = vec![0u64; buckets];
    for (x, n) in all() {
        let i = (((x - lo) / width).floor() as usize).min(buckets - 1);
        counts[i] += n;
    }
    let edge = |i: usize| {
        if i == buckets {
            hi
        } else {
            lo + width * i as f64
        }
    };
    let map = counts
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let close = if i + 1 == buckets { ']' } else { ')' };
            let name = format!("[{}, {}{close}", fmt(edge(i)), fmt(edge(i + 1)));
            (name, Value::Num(n as f64))
        })
        .collect();
    Value::Map(map)
}

fn better(k: AggKind, v: &Value, cur: &Value) -> bool {
    let o = match k {
        AggKind::Min | AggKind::Max => {
            let o = v
                .as_num()
                .unwrap_or(0.0)
                .partial_cmp(&cur.as_num().unwrap_or(0.0))
                .unwrap_or(Ordering::Equal);
            // deterministic among numerically equal values ("1" vs "1.0")
            o.then_with(|| cur.render().cmp(&v.render()))
        }
        _ => sort_cmp(v, cur, false).then_with(|| v.render().cmp(&cur.render())),
    };
    match k {
        AggKind::Min | AggKind::SortsFirst => o == Ordering::Less,
        _ => o == Ordering::Greater,
    }
}

fn at_better(k: AggKind, cand: (i64, &str), cur: (i64, &str)) -> bool {
    let o = cand.0.cmp(&cur.0).then_with(|| cand.1.cmp(cur.1));
    if k == AggKind::Earliest {
        o == Ordering::Less
    } else {
        o == Ordering::Greater
    }
}
