//! A mergeable quantile sketch with relative error: values fall into logarithmic buckets of
//! ratio γ = (1+α)/(1−α), so any quantile estimate is within α (1 %) of a true value (the
//! DDSketch construction). Negative values use mirrored buckets; zero has its own bucket.

/// Relative accuracy of quantile estimates.
pub const ALPHA: f64 = 0.01;

/// Bins in value order, ascending by key, in one allocation of 12 bytes a bin (reading a
/// percentile touches one cache line or two). A key encodes sign and logarithmic index: zero is
/// 0, a positive value with index i is `OFFSET + i`, a negative one `-(OFFSET + i)` — so key
/// order is value order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sketch {
    bins: Vec<Bin>,
    count: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C, packed)]
pub(crate) struct Bin {
    key: i32,
    count: f64,
}

impl Bin {
    pub(crate) const EMPTY: Bin = Bin { key: 0, count: 0.0 };

    /// A bin of `key`, when that is a key values can have.
    pub(crate) fn new(key: i32, count: f64) -> Option<Bin> {
        (-2 * OFFSET < key && key < 2 * OFFSET).then_some(Bin { key, count })
    }

    pub(crate) fn key(&self) -> i32 {
        self.key
    }

    pub(crate) fn count(&self) -> f64 {
        self.count
    }
}

/// A borrowed sketch: its bins and total (a [`Sketch`], or a row of a sealed block).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SketchRef<'a> {
    bins: &'a [Bin],
    /// A copy of the highest bins (a suffix of `bins`) kept where a block scan reads them in
    /// order, so high quantiles need not touch `bins`; empty for a head bucket.
    top: &'a [Bin],
    count: f64,
}

impl<'a> SketchRef<'a> {
    pub(crate) fn new(bins: &'a [Bin], top: &'a [Bin], count: f64) -> SketchRef<'a> {
        debug_assert!(top.len() <= bins.len());
        SketchRef { bins, top, count }
    }

    pub(crate) fn bins(&self) -> &'a [Bin] {
        self.bins
    }

    /// Encoded as positive (index, count) pairs ascending, negative ones by ascending magnitude,
    /// the zero count and the total.
    pub fn encode(&self, w: &mut nephoscope_storage::codec::Writer) {
        let zero_at = self.bins.partition_point(|b| b.key < 0);
        let pos_at = self.bins.partition_point(|b| b.key <= 0);
        w.u64((self.bins.len() - pos_at) as u64);
        for b in &self.bins[pos_at..] {
            w.i64(i64::from(b.key - OFFSET));
            w.f64(b.count);
        }
        w.u64(zero_at as u64);
        for b in self.bins[..zero_at].iter().rev() {
            w.i64(i64::from(-b.key - OFFSET));
            w.f64(b.count);
        }
        w.f64(if pos_at > zero_at {
            self.bins[zero_at].count
        } else {
            0.0
        });
        w.f64(self.count);
    }

    pub fn count(&self) -> f64 {
        self.count
    }

    /// Loads the top bin, so a quantile read soon after finds it in cache (reads of many
    /// sketches otherwise wait for one cache miss at a time).
    pub fn touch(&self) {
        std::hint::black_box(self.top.last().or(self.bins.last()).map(|b| b.count));
    }

    /// The value at quantile `q` in [0, 1], or None when empty: the value at rank
    /// ⌊q·(n−1)⌋ of the ascending values. High quantiles walk from the top, so p99 reads a
    /// few bins, not all of them.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count <= 0.0 || self.bins.is_empty() {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * (self.count - 1.0)).max(0.0);
        if q <= 0.5 {
            let mut seen = 0.0;
            for b in self.bins {
                seen += b.count;
                if seen > rank {
                    return Some(key_value(b.key));
                }
            }
            return self.bins.last().map(|b| key_value(b.key));
        }
        // From the top: the answer is the first bin whose values below it number ≤ rank. The
        // copy of the top bins first, then the rest of `bins` below them.
        let mut above = 0.0;
        let below_top = &self.bins[..self.bins.len() - self.top.len()];
        for b in self.top.iter().rev().chain(below_top.iter().rev()) {
            above += b.count;
            if self.count - above <= rank {
                return Some(key_value(b.key));
            }
        }
        self.bins.first().map(|b| key_value(b.key))
    }

    /// Buckets as (representative value, count), ascending; for trimmed statistics.
    pub fn buckets(&self) -> impl Iterator<Item = (f64, f64)> + 'a {
        self.bins.iter().map(|b| (key_value(b.key), b.count))
    }
}

/// Indexes stay within ±40,000 (magnitudes 1e-9..f64::MAX), well below this.
const OFFSET: i32 = 1 << 20;

/// The bucket ratio γ and its logarithm (a literal: `ln` is not const; a test checks it).
const GAMMA: f64 = (1.0 + ALPHA) / (1.0 - ALPHA);
const GAMMA_LN: f64 = 0.020000666706669435;

/// Values smaller than this in magnitude count as zero (keeps bucket indexes bounded).
const MIN_MAGNITUDE: f64 = 1e-9;

fn index(x: f64) -> i32 {
    (x.ln() / GAMMA_LN).ceil() as i32
}

fn key(x: f64) -> i32 {
    if x.abs() < MIN_MAGNITUDE {
        0
    } else if x > 0.0 {
        OFFSET + index(x)
    } else {
        -(OFFSET + index(-x))
    }
}

/// The representative value of a bucket: the point whose relative error to both bounds is α.
fn value(i: i32) -> f64 {
    2.0 * (i as f64 * GAMMA_LN).exp() / (1.0 + GAMMA)
}

/// The representative value of a key.
fn key_value(k: i32) -> f64 {
    match k.cmp(&0) {
        std::cmp::Ordering::Equal => 0.0,
        std::cmp::Ordering::Greater => value(k - OFFSET),
        std::cmp::Ordering::Less => -value(-k - OFFSET),
    }
}

type DecodeResult<T> = Result<T, nephoscope_storage::codec::DecodeError>;

impl Sketch {
    pub fn encode(&self, w: &mut nephoscope_storage::codec::Writer) {
        self.view().encode(w)
    }

    pub fn decode(r: &mut nephoscope_storage::codec::Reader<'_>) -> DecodeResult<Sketch> {
        let bad = || nephoscope_storage::codec::DecodeError(0);
        let side = |r: &mut nephoscope_storage::codec::Reader<'_>| -> DecodeResult<Vec<_>> {
            let mut out = Vec::new();
            for _ in 0..r.u64()? {
                let i = i32::try_from(r.i64()?)
                    .ok()
                    .filter(|i| i.abs() < OFFSET)
                    .ok_or_else(bad)?;
                out.push((i, r.f64()?));
            }
            Ok(out)
        };
        let positive = side(r)?;
        let negative = side(r)?;
        let zero = r.f64()?;
        let count = r.f64()?;
        let mut bins: Vec<Bin> = negative
            .into_iter()
            .map(|(i, c)| (-(OFFSET + i), c))
            .chain((zero > 0.0).then_some((0, zero)))
            .chain(positive.into_iter().map(|(i, c)| (OFFSET + i, c)))
            .map(|(key, count)| Bin { key, count })
            .collect();
        bins.sort_by_key(|b| b.key);
        if bins.windows(2).any(|w| w[0].key == w[1].key) {
            return Err(bad());
        }
        Ok(Sketch { bins, count })
    }

    pub fn add(&mut self, x: f64, count: f64) {
        if !x.is_finite() || count <= 0.0 {
            return;
        }
        let k = key(x);
        match self.bins.binary_search_by_key(&k, |b| b.key) {
            Ok(n) => self.bins[n].count += count,
            Err(n) => self.bins.insert(n, Bin { key: k, count }),
        }
        self.count += count;
    }

    /// Adds many (value, count) pairs: bins computed and sorted, then merged in one pass (the
    /// same bins as adding them one by one; fractional counts may sum in another order).
    pub fn add_many(&mut self, values: &[(f64, f64)]) {
        if values.len() < 8 {
            for (v, c) in values {
                self.add(*v, *c);
            }
            return;
        }
        let kept = |(v, c): &&(f64, f64)| v.is_finite() && *c > 0.0;
        let first = values.iter().find(kept).map(|(_, c)| *c);
        if let Some(c) = first.filter(|c| values.iter().filter(kept).all(|p| p.1 == *c)) {
            self.add_keys(
                values.iter().filter(kept).map(|(v, _)| key(*v)).collect(),
                c,
            );
            return;
        }
        let mut bins: Vec<Bin> = values
            .iter()
            .filter(kept)
            .map(|(v, c)| Bin {
                key: key(*v),
                count: *c,
            })
            .collect();
        // Stable, so equal keys add their counts in the order given.
        bins.sort_by_key(|b| b.key);
        let mut folded: Vec<Bin> = Vec::with_capacity(bins.len());
        let mut total = 0.0;
        for b in bins {
            total += b.count;
            match folded.last_mut() {
                Some(last) if last.key == b.key => last.count += b.count,
                _ => folded.push(b),
            }
        }
        self.add_folded(folded, total);
    }

    /// [`Sketch::add_many`] of `values` each with count 1 (the same bins and count).
    pub fn add_ones(&mut self, values: &[f64]) {
        if values.len() < 8 {
            for v in values {
                self.add(*v, 1.0);
            }
            return;
        }
        self.add_keys(
            values
                .iter()
                .filter(|v| v.is_finite())
                .map(|v| key(*v))
                .collect(),
            1.0,
        );
    }

    /// Adds the bin keys `keys`, each with count `c`. Equal counts add up the same in any
    /// order: only the keys are sorted, unstably.
    fn add_keys(&mut self, mut keys: Vec<i32>, c: f64) {
        keys.sort_unstable();
        let mut folded: Vec<Bin> = Vec::with_capacity(keys.len());
        let mut total = 0.0;
        for k in keys {
            total += c;
            match folded.last_mut() {
                Some(last) if last.key == k => last.count += c,
                _ => folded.push(Bin { key: k, count: c }),
            }
        }
        self.add_folded(folded, total);
    }

    /// Adds sorted bins of distinct keys holding `total`.
    fn add_folded(&mut self, folded: Vec<Bin>, total: f64) {
        if self.bins.is_empty() {
            // The first values of a bucket: the folded bins are the sketch (no copy).
            self.count += total;
            self.bins = folded;
            return;
        }
        self.merge_view(SketchRef {
            bins: &folded,
            top: &[],
            count: total,
        });
    }

    pub fn merge(&mut self, other: &Sketch) {
        self.merge_view(other.view());
    }

    pub fn merge_view(&mut self, other: SketchRef<'_>) {
        self.count += other.count;
        if other.bins.is_empty() {
            return;
        }
        if self.bins.is_empty() {
            self.bins.extend_from_slice(other.bins);
            return;
        }
        let (x, y) = (&self.bins, other.bins);
        let mut out = Vec::with_capacity(x.len() + y.len());
        let (mut a, mut b) = (0, 0);
        while a < x.len() && b < y.len() {
            let (ka, kb) = (x[a].key, y[b].key);
            if ka < kb {
                out.push(x[a]);
                a += 1;
            } else if kb < ka {
                out.push(y[b]);
                b += 1;
            } else {
                out.push(Bin {
                    key: ka,
                    count: x[a].count + y[b].count,
                });
                a += 1;
                b += 1;
            }
        }
        out.extend_from_slice(&x[a..]);
        out.extend_from_slice(&y[b..]);
        self.bins = out;
    }

    pub fn count(&self) -> f64 {
        self.count
    }

    /// Heap bytes held (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.bins.capacity() * std::mem::size_of::<Bin>()
    }

    /// Releases spare capacity (a bucket that is no longer written to).
    pub fn shrink(&mut self) {
        self.bins.shrink_to_fit();
    }

    pub fn view(&self) -> SketchRef<'_> {
        SketchRef {
            bins: &self.bins,
            top: &[],
            count: self.count,
        }
    }

    /// The value at quantile `q` in [0, 1]: see [`SketchRef::quantile`].
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.view().quantile(q)
    }

    /// Buckets as (representative value, count), ascending; for trimmed statistics.
    pub fn buckets(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.view().buckets()
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
    fn gamma_constants() {
        assert_eq!(GAMMA_LN, GAMMA.ln());
        assert!((GAMMA_LN.exp() - GAMMA).abs() < 1e-15);
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

    /// Reference: the ascending cumulative walk over the buckets.
    fn walk(s: &Sketch, q: f64) -> Option<f64> {
        let rank = (q * (s.count() - 1.0)).max(0.0);
        let mut seen = 0.0;
        for (v, c) in s.buckets() {
            seen += c;
            if seen > rank {
                return Some(v);
            }
        }
        s.buckets().last().map(|b| b.0)
    }

    #[test]
    fn quantiles_from_the_top_match_the_ascending_walk_and_codec_round_trips() {
        let mut seed = 11u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..300 {
            let mut s = Sketch::default();
            for _ in 0..(1 + next() % 200) {
                let v = match next() % 5 {
                    0 => 0.0,
                    1 => -((next() % 10_000) as f64) / 7.0,
                    _ => (next() % 1_000_000) as f64 / 13.0,
                };
                let c = if case % 3 == 0 {
                    (1 + next() % 4) as f64
                } else {
                    1.0
                };
                s.add(v, c);
            }
            for q in [0.0, 0.25, 0.5, 0.51, 0.75, 0.9, 0.99, 0.999, 1.0] {
                assert_eq!(s.quantile(q), walk(&s, q), "case {case} q {q}");
            }
            let mut w = nephoscope_storage::codec::Writer::default();
            s.encode(&mut w);
            let mut r = nephoscope_storage::codec::Reader::new(&w.buf);
            assert_eq!(Sketch::decode(&mut r).unwrap(), s);
            assert!(r.done());
        }
    }

    #[test]
    fn adding_many_equals_adding_one_by_one() {
        let mut seed = 3u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Counts 1 to 3, or all equal (1, or a fraction): those take the
        // path that sorts keys alone.
        for (n, equal) in [0, 1, 7, 8, 150, 1000]
            .into_iter()
            .flat_map(|n| [(n, None), (n, Some(1.0)), (n, Some(0.25))])
        {
            let values: Vec<(f64, f64)> = (0..n)
                .map(|i| {
                    let v = match next() % 6 {
                        0 => 0.0,
                        1 => -((next() % 500) as f64),
                        2 => f64::NAN,
                        _ => (next() % 100_000) as f64 / 3.0,
                    };
                    (
                        v,
                        if i % 9 == 0 {
                            0.0
                        } else {
                            equal.unwrap_or((1 + next() % 3) as f64)
                        },
                    )
                })
                .collect();
            let (mut one, mut many) = (Sketch::default(), Sketch::default());
            one.add(5.0, 1.0);
            many.add(5.0, 1.0);
            for (v, c) in &values {
                one.add(*v, *c);
            }
            many.add_many(&values);
            assert_eq!(one, many, "{n} values, counts {equal:?}");
            // The same values each counted once, as pairs and plain, into an empty sketch
            // and into one holding a bin.
            let ones: Vec<f64> = values.iter().map(|(v, _)| *v).collect();
            let pairs: Vec<(f64, f64)> = ones.iter().map(|v| (*v, 1.0)).collect();
            for start in [None, Some(5.0)] {
                let (mut a, mut b) = (Sketch::default(), Sketch::default());
                if let Some(v) = start {
                    a.add(v, 1.0);
                    b.add(v, 1.0);
                }
                a.add_many(&pairs);
                b.add_ones(&ones);
                assert_eq!(a, b, "{n} values each once");
            }
        }
    }
}
