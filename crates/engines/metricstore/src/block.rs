//! Sealed buckets: one series' older buckets as immutable columns, sorted by (time, unit).
//!
//! A scan reads the time column and the aggregate columns in order and a row's sketch bins
//! from one shared array, so reading a day of minutes streams through memory instead of
//! chasing a pointer per bucket. Blocks are never changed: sealing and rollups build new
//! ones, so a checkpoint shares them with the live state for free.

use crate::sketch::{Bin, SketchRef};
use crate::{Agg, AggRef};
use nephoscope_storage::codec::{DecodeError, Reader, Writer};
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Block {
    times: Vec<i64>,
    /// Index into `unit_names`.
    units: Vec<u16>,
    unit_names: Vec<String>,
    count: Vec<f64>,
    sum: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
    percentiles: Vec<bool>,
    sketch_count: Vec<f64>,
    /// Row i's bins are `bins[bin_end[i - 1]..bin_end[i]]` (from 0 for the first row).
    bin_end: Vec<u32>,
    bins: Vec<Bin>,
    /// A copy of each row's highest [`TOP`] bins (right-aligned; `top_len` of them are real):
    /// high quantiles read them in row order instead of one cache miss per row in `bins`.
    tops: Vec<[Bin; TOP]>,
    top_len: Vec<u8>,
    /// Where a checkpoint stored this block, once one has (see [`crate::files`]).
    stored: StoredCell,
}

/// Where a checkpoint stored a block: block file, byte offset and length of its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub file: u64,
    pub offset: u64,
    pub len: u64,
}

/// The place of a block in the block files, shared by every state holding the block. It is
/// not part of the block's value: a copy starts unstored, and equality ignores it.
#[derive(Debug, Default)]
struct StoredCell(Mutex<Option<Stored>>);

impl Clone for StoredCell {
    fn clone(&self) -> Self {
        StoredCell::default()
    }
}

impl PartialEq for StoredCell {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Highest bins copied per row (p99 of up to ~800 samples needs no more).
pub const TOP: usize = 8;

/// First byte and version of [`Block::encode_compact`].
const COMPACT: u8 = 0;
const COMPACT_VERSION: u8 = 1;

/// A count written as an integer by [`Block::encode_compact`] (read back exactly).
fn whole_count(c: f64) -> bool {
    (1.0..9_007_199_254_740_992.0).contains(&c) && c.fract() == 0.0
}

impl Block {
    pub fn len(&self) -> usize {
        self.times.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    pub fn times(&self) -> &[i64] {
        &self.times
    }

    pub fn first_time(&self) -> Option<i64> {
        self.times.first().copied()
    }

    pub fn last_time(&self) -> Option<i64> {
        self.times.last().copied()
    }

    pub fn unit(&self, row: usize) -> &str {
        &self.unit_names[usize::from(self.units[row])]
    }

    pub fn agg(&self, row: usize) -> AggRef<'_> {
        let from = if row == 0 {
            0
        } else {
            self.bin_end[row - 1] as usize
        };
        AggRef {
            count: self.count[row],
            sum: self.sum[row],
            min: self.min[row],
            max: self.max[row],
            percentiles: self.percentiles[row],
            sketch: SketchRef::new(
                &self.bins[from..self.bin_end[row] as usize],
                &self.tops[row][TOP - usize::from(self.top_len[row])..],
                self.sketch_count[row],
            ),
        }
    }

    /// The rows whose time is in `start..end`.
    pub fn rows_in(&self, start: i64, end: i64) -> std::ops::Range<usize> {
        self.times.partition_point(|t| *t < start)..self.times.partition_point(|t| *t < end)
    }

    /// Appends a row; rows must come in (time, unit) order without repeats.
    pub fn push(&mut self, time: i64, unit: &str, a: AggRef<'_>) {
        debug_assert!(self
            .times
            .last()
            .is_none_or(|t| *t < time || (*t == time && self.unit(self.len() - 1) < unit)));
        let u = match self.unit_names.iter().position(|n| n == unit) {
            Some(u) => u,
            None => {
                self.unit_names.push(unit.to_string());
                self.unit_names.len() - 1
            }
        };
        self.times.push(time);
        self.units.push(u16::try_from(u).unwrap_or(u16::MAX));
        self.count.push(a.count);
        self.sum.push(a.sum);
        self.min.push(a.min);
        self.max.push(a.max);
        self.percentiles.push(a.percentiles);
        self.sketch_count.push(a.sketch.count());
        let bins = a.sketch.bins();
        let n = bins.len().min(TOP);
        let mut top = [Bin::EMPTY; TOP];
        top[TOP - n..].copy_from_slice(&bins[bins.len() - n..]);
        self.tops.push(top);
        self.top_len.push(n as u8);
        self.bins.extend_from_slice(bins);
        self.bin_end.push(self.bins.len() as u32);
    }

    /// Builds a block from rows in time order: rows of equal time and unit are merged, in order.
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = (i64, &'a str, AggRef<'a>)>) -> Block {
        let mut rows: Vec<(i64, &str, AggRef<'_>)> = rows.into_iter().collect();
        // Stable: equal (time, unit) rows keep their order, so merging is deterministic.
        rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut block = Block::default();
        let mut n = 0;
        while n < rows.len() {
            let (t, u, first) = rows[n];
            let mut m = n + 1;
            while m < rows.len() && rows[m].0 == t && rows[m].1 == u {
                m += 1;
            }
            if m == n + 1 {
                block.push(t, u, first);
            } else {
                let mut merged = Agg::default();
                for r in &rows[n..m] {
                    merged.merge_view(r.2, true);
                }
                block.push(t, u, merged.view());
            }
            n = m;
        }
        block
    }

    /// Every row, in order.
    pub fn rows(&self) -> impl Iterator<Item = (i64, &str, AggRef<'_>)> + '_ {
        (0..self.len()).map(|r| (self.times[r], self.unit(r), self.agg(r)))
    }

    pub fn encode(&self, w: &mut Writer) {
        w.u64(self.len() as u64);
        for (t, u, a) in self.rows() {
            w.i64(t);
            w.str(u);
            a.encode(w);
        }
    }

    /// The block as block files keep it ([`crate::files`]): a marker byte that the row-by-row
    /// encoding of [`Block::encode`] never starts with (its row count, never 0 for a stored
    /// block) and a version; the unit names; then per row the time as a difference from the
    /// previous row's, the unit's index, the aggregates and the sketch's bins — each key as its
    /// difference from the previous key, each count as an integer when all of the row's are
    /// whole numbers (values counted once, as published: ~2 bytes a bin instead of ~11).
    pub fn encode_compact(&self, w: &mut Writer) {
        w.u8(COMPACT);
        w.u8(COMPACT_VERSION);
        w.u64(self.len() as u64);
        w.u64(self.unit_names.len() as u64);
        for u in &self.unit_names {
            w.str(u);
        }
        let mut prev_t = 0i64;
        for r in 0..self.len() {
            let t = self.times[r];
            w.i64(t.wrapping_sub(prev_t));
            prev_t = t;
            w.u64(u64::from(self.units[r]));
            let a = self.agg(r);
            for x in [a.count, a.sum, a.min, a.max] {
                w.f64(x);
            }
            w.bool(a.percentiles);
            w.f64(a.sketch.count());
            let bins = a.sketch.bins();
            w.u64(bins.len() as u64);
            let whole = bins.iter().all(|b| whole_count(b.count()));
            w.bool(whole);
            let mut prev = 0i32;
            for (n, b) in bins.iter().enumerate() {
                if n == 0 {
                    w.i64(i64::from(b.key()));
                } else {
                    w.u64((i64::from(b.key()) - i64::from(prev)) as u64);
                }
                prev = b.key();
                if whole {
                    w.u64(b.count() as u64);
                } else {
                    w.f64(b.count());
                }
            }
        }
    }

    /// A block as a block file keeps it: [`Block::encode_compact`]'s encoding, or the
    /// row-by-row one of [`Block::encode`] that block files written before it hold.
    pub fn decode_stored(bytes: &[u8]) -> Result<Block, DecodeError> {
        let mut r = Reader::new(bytes);
        let b = if bytes.len() > 1 && bytes[0] == COMPACT {
            Block::decode_compact(&mut r)?
        } else {
            Block::decode(&mut r)?
        };
        if !r.done() {
            return Err(DecodeError(0));
        }
        Ok(b)
    }

    fn decode_compact(r: &mut Reader<'_>) -> Result<Block, DecodeError> {
        let bad = || DecodeError(0);
        if r.u8()? != COMPACT || r.u8()? != COMPACT_VERSION {
            return Err(bad());
        }
        let n = r.u64()?;
        let mut names = Vec::new();
        for _ in 0..r.u64()? {
            names.push(r.str()?);
        }
        let mut block = Block::default();
        let mut bins: Vec<Bin> = Vec::new();
        let mut t = 0i64;
        for _ in 0..n {
            t = t.wrapping_add(r.i64()?);
            let unit = usize::try_from(r.u64()?)
                .ok()
                .and_then(|u| names.get(u))
                .ok_or_else(bad)?;
            let (count, sum, min, max) = (r.f64()?, r.f64()?, r.f64()?, r.f64()?);
            let percentiles = r.bool()?;
            let sketch_count = r.f64()?;
            let len = r.u64()?;
            let whole = r.bool()?;
            bins.clear();
            let mut key = 0i64;
            for k in 0..len {
                key = if k == 0 {
                    r.i64()?
                } else {
                    let step = i64::try_from(r.u64()?).map_err(|_| bad())?;
                    if step < 1 {
                        return Err(bad());
                    }
                    key.checked_add(step).ok_or_else(bad)?
                };
                let c = if whole { r.u64()? as f64 } else { r.f64()? };
                let key = i32::try_from(key).map_err(|_| bad())?;
                bins.push(Bin::new(key, c).ok_or_else(bad)?);
            }
            if block
                .times
                .last()
                .is_some_and(|last| (*last, block.unit(block.len() - 1)) >= (t, unit.as_str()))
            {
                return Err(bad());
            }
            block.push(
                t,
                unit,
                AggRef {
                    count,
                    sum,
                    min,
                    max,
                    percentiles,
                    sketch: SketchRef::new(&bins, &[], sketch_count),
                },
            );
        }
        Ok(block)
    }

    /// Where a checkpoint stored this block.
    pub fn stored(&self) -> Option<Stored> {
        *self.stored.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records where a checkpoint stored this block (once that file is durable).
    pub fn set_stored(&self, at: Stored) {
        *self.stored.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Block, DecodeError> {
        let n = r.u64()?;
        let mut rows = Vec::with_capacity((n as usize).min(1 << 16));
        for _ in 0..n {
            rows.push((r.i64()?, r.str()?, Agg::decode(r)?));
        }
        if rows
            .windows(2)
            .any(|w| (w[0].0, &w[0].1) >= (w[1].0, &w[1].1))
        {
            return Err(DecodeError(0));
        }
        let mut block = Block::default();
        for (t, u, a) in &rows {
            block.push(*t, u, a.view());
        }
        Ok(block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_rows_answer_quantiles_as_their_sketches() {
        let mut seed = 17u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let aggs: Vec<Agg> = (0..60)
            .map(|i| {
                let mut a = Agg::default();
                // 1 to 300 values: fewer bins than the top copy, and many more.
                let n = 1 + (next() % if i % 3 == 0 { 6 } else { 300 }) as usize;
                let values: Vec<(f64, f64)> = (0..n)
                    .map(|_| ((next() % 100_000) as f64 / 7.0, (1 + next() % 3) as f64))
                    .collect();
                a.add_values(&values);
                a
            })
            .collect();
        let block = Block::from_rows(
            aggs.iter()
                .enumerate()
                .map(|(t, a)| (t as i64, "Count", a.view())),
        );
        for (row, a) in aggs.iter().enumerate() {
            for p in [0.0, 1.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 100.0] {
                assert_eq!(
                    block.agg(row).percentile(p),
                    a.percentile(p),
                    "row {row} p{p}"
                );
            }
        }
    }

    /// Block files keep the compact encoding; those written before it, the row-by-row one.
    /// Both read back as the same block.
    #[test]
    fn compact_and_row_encodings_read_back_as_the_block() {
        let mut seed = 5u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut rows: Vec<(i64, &str, Agg)> = Vec::new();
        for i in 0..40i64 {
            let mut a = Agg::default();
            match i % 4 {
                // Values counted once: whole counts.
                0 | 1 => a.add_ones(
                    &(0..1 + next() % 200)
                        .map(|_| (next() % 100_000) as f64 / 7.0 - 1000.0)
                        .collect::<Vec<_>>(),
                ),
                // Fractional counts, zeros and negative values.
                2 => a.add_values(
                    &(0..1 + next() % 50)
                        .map(|k| {
                            let v = if k % 5 == 0 {
                                0.0
                            } else {
                                -((next() % 999) as f64)
                            };
                            (v, (1 + next() % 8) as f64 / 4.0)
                        })
                        .collect::<Vec<_>>(),
                ),
                // A statistic set: no bins.
                _ => a.add_set(10.0, 55.0, 1.0, 10.0),
            }
            // Times far apart (and negative), two units at some times.
            let t = (i - 20) * 86_400_000_000 + (next() % 1000) as i64;
            rows.push((t, "Count", a.clone()));
            if i % 3 == 0 {
                rows.push((t, "Seconds", a));
            }
        }
        let block = Block::from_rows(rows.iter().map(|(t, u, a)| (*t, *u, a.view())));
        assert_eq!(block.len(), rows.len());
        let (mut compact, mut old) = (Writer::default(), Writer::default());
        block.encode_compact(&mut compact);
        block.encode(&mut old);
        assert_eq!(Block::decode_stored(&compact.buf).unwrap(), block);
        assert_eq!(Block::decode_stored(&old.buf).unwrap(), block);
        assert!(
            compact.buf.len() * 2 < old.buf.len(),
            "{} {}",
            compact.buf.len(),
            old.buf.len()
        );
        // Cut short, or with a byte more, neither reads.
        for buf in [&compact.buf, &old.buf] {
            assert!(Block::decode_stored(&buf[..buf.len() - 1]).is_err());
            let mut longer = buf.clone();
            longer.push(0);
            assert!(Block::decode_stored(&longer).is_err());
        }
        // Every single-byte change either fails or reads as some valid block (no panic).
        for at in 0..compact.buf.len().min(4000) {
            let mut b = compact.buf.clone();
            b[at] ^= 0x41;
            let _ = Block::decode_stored(&b);
        }
    }
}
