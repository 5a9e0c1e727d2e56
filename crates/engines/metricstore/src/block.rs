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
}
