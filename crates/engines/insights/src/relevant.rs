//! `relevantfields [fields] where condition`: how differently each field is distributed in
//! the rows meeting the condition and in the others (the baseline). Mergeable state: counts per
//! field, side and value; the scores come out of the merged counts, so they do not depend on
//! how records are split or ordered.

use crate::eval::Row;
use crate::value::{fmt_num, Value};
use std::collections::{BTreeMap, HashMap};

/// A field's distinct values counted per side before it counts as high-cardinality (its
/// categorical score is then taken from presence alone).
const MAX_VALUES: usize = 10_000;
/// Distinct rounded numbers kept per side before a field's numeric score is given up.
const MAX_NUMBERS: usize = 100_000;
/// The output columns.
pub const COLUMNS: &[&str] = &[
    "@fieldName",
    "@relevanceScore",
    "@topRelevanceContributors",
    "@conditionalMedian",
    "@baselineMedian",
];

/// Contributors listed per field.
const TOP: usize = 3;

/// One side's counts of one field.
#[derive(Debug, Default, Clone)]
struct Side {
    /// Rows on this side having the field.
    present: u64,
    values: HashMap<String, u64>,
    /// Numbers rounded to 4 significant digits (by their bits) → count.
    numbers: HashMap<u64, u64>,
    /// A present value that is no number.
    text: bool,
}

#[derive(Debug, Default, Clone)]
struct FieldCounts {
    cond: Side,
    base: Side,
    /// Too many distinct values (or numbers) to keep: on either side, over the whole run.
    many_values: bool,
    many_numbers: bool,
}

/// The state of a `relevantfields` run.
#[derive(Debug, Default, Clone)]
pub struct Relevance {
    fields: BTreeMap<String, FieldCounts>,
    /// Rows meeting the condition, and the others.
    cond_rows: u64,
    base_rows: u64,
}

/// `x` to 4 significant digits (the numbers' medians and distributions are read at that
/// precision).
fn round4(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let e = x.abs().log10().floor() as i32 - 3;
    let scale = 10f64.powi(e);
    (x / scale).round() * scale
}

impl Relevance {
    /// One row: `fields` (every field of the row but `skip` when empty), on the condition's
    /// side or the baseline's.
    pub fn add(&mut self, row: &Row, fields: &[String], skip: &[String], meets: bool) {
        if meets {
            self.cond_rows += 1;
        } else {
            self.base_rows += 1;
        }
        let mut one = |name: &str, v: &Value| {
            if v.is_null() {
                return;
            }
            let fc = self.fields.entry(name.to_string()).or_default();
            let side = if meets { &mut fc.cond } else { &mut fc.base };
            side.present += 1;
            if !fc.many_values {
                *side.values.entry(v.render()).or_insert(0) += 1;
                if side.values.len() > MAX_VALUES {
                    fc.many_values = true;
                }
            }
            match v.as_num().filter(|x| x.is_finite()) {
                Some(x) if !fc.many_numbers => {
                    *side.numbers.entry(round4(x).to_bits()).or_insert(0) += 1;
                    if side.numbers.len() > MAX_NUMBERS {
                        fc.many_numbers = true;
                    }
                }
                Some(_) => {}
                None => side.text = true,
            }
            if fc.many_values {
                fc.cond.values = HashMap::new();
                fc.base.values = HashMap::new();
            }
            if fc.many_numbers {
                fc.cond.numbers = HashMap::new();
                fc.base.numbers = HashMap::new();
            }
        };
        if fields.is_empty() {
            for (k, v) in &row.fields {
                if !k.starts_with('@') && !skip.contains(k) {
                    one(k, v);
                }
            }
        } else {
            for f in fields {
                one(f, &row.get(f));
            }
        }
    }

    pub fn merge(&mut self, o: Relevance) {
        self.cond_rows += o.cond_rows;
        self.base_rows += o.base_rows;
        for (name, fc) in o.fields {
            let mine = self.fields.entry(name).or_default();
            mine.many_values |= fc.many_values;
            mine.many_numbers |= fc.many_numbers;
            for (a, b) in [(&mut mine.cond, fc.cond), (&mut mine.base, fc.base)] {
                a.present += b.present;
                a.text |= b.text;
                for (k, n) in b.values {
                    *a.values.entry(k).or_insert(0) += n;
                }
                for (k, n) in b.numbers {
                    *a.numbers.entry(k).or_insert(0) += n;
                }
            }
            if mine.cond.values.len() > MAX_VALUES || mine.base.values.len() > MAX_VALUES {
                mine.many_values = true;
            }
            if mine.cond.numbers.len() > MAX_NUMBERS || mine.base.numbers.len() > MAX_NUMBERS {
                mine.many_numbers = true;
            }
            if mine.many_values {
                mine.cond.values = HashMap::new();
                mine.base.values = HashMap::new();
            }
            if mine.many_numbers {
                mine.cond.numbers = HashMap::new();
                mine.base.numbers = HashMap::new();
            }
        }
    }

    /// One row per field: `@fieldName`, `@relevanceScore` (0 to 1), `@topRelevanceContributors`,
    /// and for numeric fields `@conditionalMedian`, `@baselineMedian`; highest score first.
    pub fn finish(&self) -> Vec<Row> {
        let (nc, nb) = (self.cond_rows as f64, self.base_rows as f64);
        let mut out: Vec<(f64, Row)> = Vec::new();
        for (name, fc) in &self.fields {
            let numeric = !fc.cond.text && !fc.base.text && !fc.many_numbers;
            let mut r = Row::default();
            r.set("@fieldName", Value::Str(name.clone()));
            let score = if numeric {
                let (mc, mb) = (median(&fc.cond.numbers), median(&fc.base.numbers));
                if let Some(m) = mc {
                    r.set("@conditionalMedian", Value::Num(m));
                }
                if let Some(m) = mb {
                    r.set("@baselineMedian", Value::Num(m));
                }
                ks(&fc.cond.numbers, &fc.base.numbers)
            } else {
                // Share of each side's rows per value, the rows without the field included.
                let share = |n: u64, rows: f64| if rows > 0.0 { n as f64 / rows } else { 0.0 };
                let missing = (
                    share(nc as u64 - fc.cond.present.min(nc as u64), nc),
                    share(nb as u64 - fc.base.present.min(nb as u64), nb),
                );
                let mut shifts: Vec<(String, f64, f64)> =
                    vec![("(missing)".into(), missing.0, missing.1)];
                if fc.many_values {
                    shifts.push((
                        "(present)".into(),
                        share(fc.cond.present, nc),
                        share(fc.base.present, nb),
                    ));
                } else {
                    let mut keys: Vec<&String> =
                        fc.cond.values.keys().chain(fc.base.values.keys()).collect();
                    keys.sort();
                    keys.dedup();
                    for k in keys {
                        let c = fc.cond.values.get(k).copied().unwrap_or(0);
                        let b = fc.base.values.get(k).copied().unwrap_or(0);
                        shifts.push((k.clone(), share(c, nc), share(b, nb)));
                    }
                }
                let tvd = shifts.iter().map(|(_, c, b)| (c - b).abs()).sum::<f64>() / 2.0;
                shifts.sort_by(|x, y| {
                    (y.1 - y.2)
                        .abs()
                        .total_cmp(&(x.1 - x.2).abs())
                        .then_with(|| x.0.cmp(&y.0))
                });
                let top: Vec<String> = shifts
                    .iter()
                    .filter(|(_, c, b)| c != b)
                    .take(TOP)
                    .map(|(k, c, b)| format!("{k}: {}% vs {}%", pct(*c), pct(*b)))
                    .collect();
                if !top.is_empty() {
                    r.set("@topRelevanceContributors", Value::Str(top.join(", ")));
                }
                tvd
            };
            // With no rows on one side there is nothing to compare.
            let score = if nc == 0.0 || nb == 0.0 {
                r.set("@topRelevanceContributors", Value::Null);
                0.0
            } else {
                (score.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0
            };
            r.set("@relevanceScore", Value::Num(score));
            out.push((score, r));
        }
        out.sort_by(|a, b| {
            b.0.total_cmp(&a.0).then_with(|| {
                a.1.get("@fieldName")
                    .render()
                    .cmp(&b.1.get("@fieldName").render())
            })
        });
        out.into_iter().map(|(_, r)| r).collect()
    }
}

fn pct(x: f64) -> String {
    fmt_num((x * 1000.0).round() / 10.0)
}

/// Sorted (value, count) pairs of a side's numbers.
fn sorted(m: &HashMap<u64, u64>) -> Vec<(f64, u64)> {
    let mut v: Vec<(f64, u64)> = m.iter().map(|(&b, &n)| (f64::from_bits(b), n)).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

/// The median by nearest rank.
fn median(m: &HashMap<u64, u64>) -> Option<f64> {
    let v = sorted(m);
    let total: u64 = v.iter().map(|(_, n)| n).sum();
    let rank = total.div_ceil(2).max(1);
    let mut seen = 0;
    for (x, n) in v {
        seen += n;
        if seen >= rank {
            return Some(x);
        }
    }
    None
}

/// The Kolmogorov–Smirnov statistic of two sides' numbers: the largest gap between their
/// cumulative shares (0 when a side has none).
fn ks(a: &HashMap<u64, u64>, b: &HashMap<u64, u64>) -> f64 {
    let (ta, tb): (u64, u64) = (a.values().sum(), b.values().sum());
    if ta == 0 || tb == 0 {
        return 0.0;
    }
    let mut xs: Vec<f64> = a
        .keys()
        .chain(b.keys())
        .map(|&k| f64::from_bits(k))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let (mut ca, mut cb, mut gap) = (0u64, 0u64, 0.0f64);
    for x in xs {
        ca += a.get(&x.to_bits()).copied().unwrap_or(0);
        cb += b.get(&x.to_bits()).copied().unwrap_or(0);
        gap = gap.max((ca as f64 / ta as f64 - cb as f64 / tb as f64).abs());
    }
    gap
}
