//! A mergeable quantile sketch with relative error: values fall into logarithmic buckets of
//! ratio γ = (1+α)/(1−α), so any quantile estimate is within α (1 %) of a true value (the
//! DDSketch construction). Negative values use a mirrored bucket set; zero has its own count.

use std::collections::BTreeMap;

/// Relative accuracy of quantile estimates.
pub const ALPHA: f64 = 0.01;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sketch {
    positive: BTreeMap<i32, f64>,
    negative: BTreeMap<i32, f64>,
    zero: f64,
    count: f64,
}

fn gamma_ln() -> f64 {
    ((1.0 + ALPHA) / (1.0 - ALPHA)).ln()
}

/// Values smaller than this in magnitude count as zero (keeps bucket indexes bounded).
const MIN_MAGNITUDE: f64 = 1e-9;

fn index(x: f64) -> i32 {
    (x.ln() / gamma_ln()).ceil() as i32
}

/// The representative value of a bucket: the point whose relative error to both bounds is α.
fn value(i: i32) -> f64 {
    let g = gamma_ln();
    2.0 * (i as f64 * g).exp() / (1.0 + g.exp())
}

impl Sketch {
    pub fn encode(&self, w: &mut nephoscope_storage::codec::Writer) {
        for side in [&self.positive, &self.negative] {
            w.u64(side.len() as u64);
            for (i, c) in side {
                w.i64(i64::from(*i));
                w.f64(*c);
            }
        }
        w.f64(self.zero);
        w.f64(self.count);
    }

    pub fn decode(
        r: &mut nephoscope_storage::codec::Reader<'_>,
    ) -> Result<Sketch, nephoscope_storage::codec::DecodeError> {
        let mut s = Sketch::default();
        for side in [&mut s.positive, &mut s.negative] {
            for _ in 0..r.u64()? {
                let i = i32::try_from(r.i64()?)
                    .map_err(|_| nephoscope_storage::codec::DecodeError(0))?;
                side.insert(i, r.f64()?);
            }
        }
        s.zero = r.f64()?;
        s.count = r.f64()?;
        Ok(s)
    }

    pub fn add(&mut self, x: f64, count: f64) {
        if !x.is_finite() || count <= 0.0 {
            return;
        }
        if x.abs() < MIN_MAGNITUDE {
            self.zero += count;
        } else if x > 0.0 {
            *self.positive.entry(index(x)).or_default() += count;
        } else {
            *self.negative.entry(index(-x)).or_default() += count;
        }
        self.count += count;
    }

    pub fn merge(&mut self, other: &Sketch) {
        for (i, c) in &other.positive {
            *self.positive.entry(*i).or_default() += c;
        }
        for (i, c) in &other.negative {
            *self.negative.entry(*i).or_default() += c;
        }
        self.zero += other.zero;
        self.count += other.count;
    }

    pub fn count(&self) -> f64 {
        self.count
    }

    /// The value at quantile `q` in [0, 1], or None when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count <= 0.0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * (self.count - 1.0)).max(0.0);
        let mut seen = 0.0;
        // Ascending order: most negative first (largest magnitude), then zero, then positives.
        for (i, c) in self.negative.iter().rev() {
            seen += c;
            if seen > rank {
                return Some(-value(*i));
            }
        }
        seen += self.zero;
        if seen > rank {
            return Some(0.0);
        }
        for (i, c) in &self.positive {
            seen += c;
            if seen > rank {
                return Some(value(*i));
            }
        }
        self.positive.keys().next_back().map(|i| value(*i))
    }

    /// Buckets as (representative value, count), ascending; for trimmed statistics.
    pub fn buckets(&self) -> Vec<(f64, f64)> {
        let mut out: Vec<(f64, f64)> = self
            .negative
            .iter()
            .rev()
            .map(|(i, c)| (-value(*i), *c))
            .collect();
        if self.zero > 0.0 {
            out.push((0.0, self.zero));
        }
        out.extend(self.positive.iter().map(|(i, c)| (value(*i), *c)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(values: &mut [f64], q: f64) -> f64 {
        values.sort_by(|a, b| a.partial_cmp(b).unwrap());
        values[((q * (values.len() - 1) as f64).floor()) as usize]
    }

    #[test]
    fn relative_error_within_alpha_table() {
        let mut seed = 7u64;
        let mut rand = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 1_000_000) as f64 / 1000.0 + 0.001
        };
        let mut values: Vec<f64> = (0..20_000).map(|_| rand()).collect();
        let mut s = Sketch::default();
        for v in &values {
            s.add(*v, 1.0);
        }
        for q in [0.0, 0.01, 0.5, 0.9, 0.99, 0.999, 1.0] {
            let got = s.quantile(q).unwrap();
            let want = exact(&mut values, q);
            assert!(
                (got - want).abs() <= ALPHA * want * 1.0001 + 1e-9,
                "q={q} got={got} want={want}"
            );
        }
    }

    #[test]
    fn merge_equals_single_pass_and_negatives_order() {
        let (mut a, mut b, mut all) = (Sketch::default(), Sketch::default(), Sketch::default());
        for (i, v) in [-5.0, -1.0, 0.0, 2.0, 3.0, 100.0].iter().enumerate() {
            if i % 2 == 0 {
                a.add(*v, 2.0)
            } else {
                b.add(*v, 2.0)
            }
            all.add(*v, 2.0);
        }
        a.merge(&b);
        assert_eq!(a, all);
        assert!((a.quantile(0.0).unwrap() + 5.0).abs() < 0.06);
        assert_eq!(a.quantile(0.45), Some(0.0));
        assert!((a.quantile(1.0).unwrap() - 100.0).abs() <= 1.0);
        assert_eq!(Sketch::default().quantile(0.5), None);
    }
}
