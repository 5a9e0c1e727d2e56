//! The metric store: series per (account, region), each a map from bucket start to per-unit
//! aggregates {count, sum, min, max, quantile sketch}. High-resolution data lands in 1-second
//! buckets, standard data in 1-minute buckets; reads merge buckets into any period.
//!
//! A series keeps its newest buckets in a small head map written in place and seals older ones
//! into immutable columnar blocks ([`block`]), which scans read in order and checkpoints share
//! with the live state.
//!
//! Writes are write-ahead-logged with group commit and applied on the log's writer thread (the
//! same pattern as the log store); recovery replays the log. No AWS shapes here.

pub mod block;
pub mod detector;
pub mod files;
pub mod sketch;

use block::Block;
use detector::Detector;
use files::BlockFiles;
use nephoscope_clock::SharedClock;
use nephoscope_storage::blob::LocalBlobStore;
use nephoscope_storage::codec::{DecodeError, Reader, Writer};
use nephoscope_storage::wal::{Journal, Wal};
use sketch::{Sketch, SketchRef};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock, RwLockReadGuard};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

/// A metric's identity: namespace, name and its dimensions sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
}

impl SeriesKey {
    pub fn new(namespace: &str, name: &str, mut dimensions: Vec<(String, String)>) -> Self {
        dimensions.sort();
        SeriesKey {
            namespace: namespace.into(),
            name: name.into(),
            dimensions,
        }
    }
}

/// Aggregates of the values of one bucket (or of a merged period).
#[derive(Debug, Clone, PartialEq)]
pub struct Agg {
    pub count: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub sketch: Sketch,
    /// Percentiles need raw values; a statistic set with several distinct values, or any
    /// negative value, makes them unavailable (AWS's rule).
    pub percentiles: bool,
}

impl Default for Agg {
    fn default() -> Self {
        Agg {
            count: 0.0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sketch: Sketch::default(),
            percentiles: true,
        }
    }
}

impl Agg {
    pub fn add_value(&mut self, v: f64, count: f64) {
        self.add_values(&[(v, count)]);
    }

    /// [`Agg::add_value`] for each (value, count), the sketch updated in one merge.
    pub fn add_values(&mut self, values: &[(f64, f64)]) {
        for (v, count) in values {
            self.count += count;
            self.sum += v * count;
            self.min = self.min.min(*v);
            self.max = self.max.max(*v);
            if *v < 0.0 {
                self.percentiles = false;
            }
        }
        self.sketch.add_many(values);
    }

    /// [`Agg::add_values`] of `values` each with count 1, without building the pairs (the same
    /// aggregate, bit for bit).
    pub fn add_ones(&mut self, values: &[f64]) {
        for v in values {
            self.count += 1.0;
            self.sum += v;
            self.min = self.min.min(*v);
            self.max = self.max.max(*v);
            if *v < 0.0 {
                self.percentiles = false;
            }
        }
        self.sketch.add_ones(values);
    }

    pub fn add_set(&mut self, count: f64, sum: f64, min: f64, max: f64) {
        // A set whose values are all equal still has exact percentiles.
        if min == max && (sum - min * count).abs() <= 1e-9 * sum.abs().max(1.0) {
            self.add_value(min, count);
            return;
        }
        self.count += count;
        self.sum += sum;
        self.min = self.min.min(min);
        self.max = self.max.max(max);
        self.percentiles = false;
    }

    pub fn merge(&mut self, o: &Agg) {
        self.merge_view(o.view(), true);
    }

    /// Merges `o` in; the quantile sketch only when `sketch` (statistics other than
    /// percentiles and ranges never read it).
    pub fn merge_view(&mut self, o: AggRef<'_>, sketch: bool) {
        self.count += o.count;
        self.sum += o.sum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        if sketch {
            self.sketch.merge_view(o.sketch);
        }
        self.percentiles &= o.percentiles;
    }

    pub fn view(&self) -> AggRef<'_> {
        AggRef {
            count: self.count,
            sum: self.sum,
            min: self.min,
            max: self.max,
            percentiles: self.percentiles,
            sketch: self.sketch.view(),
        }
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Agg, DecodeError> {
        let (count, sum, min, max) = (r.f64()?, r.f64()?, r.f64()?, r.f64()?);
        let percentiles = r.bool()?;
        let sketch = Sketch::decode(r)?;
        Ok(Agg {
            count,
            sum,
            min,
            max,
            sketch,
            percentiles,
        })
    }

    pub fn average(&self) -> f64 {
        if self.count > 0.0 {
            self.sum / self.count
        } else {
            0.0
        }
    }

    /// The p-th percentile (p in 0..=100), when available.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        if !self.percentiles {
            return None;
        }
        self.sketch.quantile(p / 100.0)
    }
}

/// Aggregates borrowed from a head bucket or a block row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AggRef<'a> {
    pub count: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub percentiles: bool,
    pub sketch: SketchRef<'a>,
}

impl AggRef<'_> {
    pub fn average(&self) -> f64 {
        if self.count > 0.0 {
            self.sum / self.count
        } else {
            0.0
        }
    }

    /// The p-th percentile (p in 0..=100), when available.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        if !self.percentiles {
            return None;
        }
        self.sketch.quantile(p / 100.0)
    }

    /// An owned copy, with the sketch only when `sketch`.
    pub fn to_agg(&self, sketch: bool) -> Agg {
        let mut a = Agg {
            count: self.count,
            sum: self.sum,
            min: self.min,
            max: self.max,
            sketch: Sketch::default(),
            percentiles: self.percentiles,
        };
        if sketch {
            a.sketch.merge_view(self.sketch);
        }
        a
    }

    pub fn encode(&self, w: &mut Writer) {
        for x in [self.count, self.sum, self.min, self.max] {
            w.f64(x);
        }
        w.bool(self.percentiles);
        self.sketch.encode(w);
    }
}

/// The values of one datum as published.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// (value, count) pairs: `Values` with `Counts` other than 1.
    Raw(Vec<(f64, f64)>),
    /// Values each counted once: `Value`, or `Values` without `Counts` or with counts all 1
    /// (kept as published, without a (value, count) copy; the log writes them so, tag 2).
    Ones(Vec<f64>),
    /// `StatisticValues`.
    Set {
        count: f64,
        sum: f64,
        min: f64,
        max: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub key: SeriesKey,
    pub timestamp_ms: i64,
    pub unit: String,
    /// StorageResolution 1: 1-second buckets; otherwise 1-minute buckets.
    pub high_resolution: bool,
    pub values: Values,
}

/// The aggregates of one bucket per unit, sorted by unit. Almost always one, kept inline in
/// the bucket map's node, so scanning a series streams through memory.
pub type Units = smallvec::SmallVec<[(String, Agg); 1]>;

/// The aggregates of `unit` in `units`, added when missing.
fn unit_entry(units: &mut Units, unit: String) -> &mut Agg {
    let n = match units.binary_search_by(|(u, _)| u.as_str().cmp(&unit)) {
        Ok(n) => n,
        Err(n) => {
            units.insert(n, (unit, Agg::default()));
            n
        }
    };
    &mut units[n].1
}

/// A series' head holds at most this many buckets before older ones are sealed…
pub const HEAD_MAX: usize = 64;
/// …keeping this many newest in the head.
pub const HEAD_KEEP: usize = 16;
/// Rollups merge adjacent blocks up to this many rows…
pub const BLOCK_ROWS: usize = 1024;
/// …when one of them has fewer rows than this (what rollups leave behind; a seal makes at
/// least `HEAD_MAX - HEAD_KEEP + 1`)…
pub const SMALL_BLOCK_ROWS: usize = 32;
/// …and the group is closed (the next block would not fit), or is the newest, still open group
/// and holds more than this many blocks.
pub const OPEN_GROUP_BLOCKS: usize = 32;

#[derive(Debug, Default, Clone)]
pub struct Series {
    /// The newest buckets, written in place: bucket start (epoch seconds) → aggregates per unit.
    /// Late data for older times also lands here until the next seal merges it into blocks.
    pub head: BTreeMap<i64, Units>,
    /// Sealed buckets, ascending, blocks' time ranges disjoint.
    pub blocks: Vec<Arc<Block>>,
    pub last_timestamp_ms: i64,
}

impl Series {
    pub fn is_empty(&self) -> bool {
        self.head.is_empty() && self.blocks.is_empty()
    }

    /// Calls `f` for every row (bucket and unit) with time in `start..end`, in time order;
    /// at equal times a block's rows come before the head's.
    pub fn for_each_row<'a>(
        &'a self,
        start: i64,
        end: i64,
        mut f: impl FnMut(i64, &'a str, AggRef<'a>),
    ) {
        let from = self
            .blocks
            .partition_point(|b| b.last_time().is_some_and(|t| t < start));
        let blocks = self.blocks[from..]
            .iter()
            .take_while(|b| b.first_time().is_some_and(|t| t < end));
        let last_block_time = blocks.clone().filter_map(|b| b.last_time()).last();
        let head_first = self.head.range(start..end).next().map(|(t, _)| *t);
        if head_first.is_none_or(|h| last_block_time.is_none_or(|b| h > b)) {
            // The usual case: blocks, then the head.
            for b in blocks {
                for r in b.rows_in(start, end) {
                    f(b.times()[r], b.unit(r), b.agg(r));
                }
            }
            for (t, units) in self.head.range(start..end) {
                for (u, a) in units {
                    f(*t, u, a.view());
                }
            }
            return;
        }
        // Late data in the head overlaps the blocks: order everything by time.
        let mut rows: Vec<(i64, &str, AggRef<'_>)> = Vec::new();
        for b in blocks {
            rows.extend(
                b.rows_in(start, end)
                    .map(|r| (b.times()[r], b.unit(r), b.agg(r))),
            );
        }
        for (t, units) in self.head.range(start..end) {
            rows.extend(units.iter().map(|(u, a)| (*t, u.as_str(), a.view())));
        }
        rows.sort_by_key(|r| r.0);
        for (t, u, a) in rows {
            f(t, u, a);
        }
    }

    /// Every bucket, blocks and head merged (for inspection and tests).
    pub fn buckets(&self) -> BTreeMap<i64, Units> {
        let mut out: BTreeMap<i64, Units> = BTreeMap::new();
        self.for_each_row(i64::MIN, i64::MAX, |t, u, a| {
            unit_entry(out.entry(t).or_default(), u.to_string()).merge_view(a, true)
        });
        out
    }

    /// Seals all but the newest `keep` head buckets into a block. Blocks reaching the sealed
    /// buckets' times (late data) are rebuilt with them, so blocks stay disjoint.
    fn seal(&mut self, keep: usize) {
        if self.head.len() <= keep {
            return;
        }
        let sealed = match self.head.keys().nth(self.head.len() - keep).copied() {
            Some(k) => {
                let kept = self.head.split_off(&k);
                std::mem::replace(&mut self.head, kept)
            }
            None => std::mem::take(&mut self.head),
        };
        let Some(min_t) = sealed.keys().next().copied() else {
            return;
        };
        let from = self
            .blocks
            .partition_point(|b| b.last_time().is_some_and(|t| t < min_t));
        let old: Vec<Arc<Block>> = self.blocks.drain(from..).collect();
        let block = Block::from_rows(
            old.iter().flat_map(|b| b.rows()).chain(
                sealed.iter().flat_map(|(t, units)| {
                    units.iter().map(move |(u, a)| (*t, u.as_str(), a.view()))
                }),
            ),
        );
        if !block.is_empty() {
            self.blocks.push(Arc::new(block));
        }
    }

    /// Groups of adjacent blocks that fit in [`BLOCK_ROWS`] together and hold a small block
    /// ([`SMALL_BLOCK_ROWS`]), as index ranges: the closed ones (the block after a group would
    /// not fit in it), and the newest group only when it holds more than
    /// [`OPEN_GROUP_BLOCKS`] blocks.
    ///
    /// Merging exists for the small blocks rollups leave (a block costs a few hundred bytes
    /// and a step of a scan whatever its rows). Sealed blocks are big enough as they are:
    /// merging them, and merging the newest group on every rollup, rebuilt (and a checkpoint
    /// wrote again) a growing block of up to [`BLOCK_ROWS`] rows per series each minute.
    fn compactable(&self) -> Vec<std::ops::Range<usize>> {
        let mut groups = Vec::new();
        let mergeable = |g: std::ops::Range<usize>, open: bool| {
            let blocks = &self.blocks[g.clone()];
            let worth = if open {
                blocks.len() > OPEN_GROUP_BLOCKS
            } else {
                blocks.len() > 1
            };
            (worth && blocks.iter().any(|b| b.len() < SMALL_BLOCK_ROWS)).then_some(g)
        };
        let (mut from, mut rows) = (0, 0);
        for (n, b) in self.blocks.iter().enumerate() {
            if n > from && rows + b.len() > BLOCK_ROWS {
                groups.extend(mergeable(from..n, false));
                from = n;
                rows = 0;
            }
            rows += b.len();
        }
        groups.extend(mergeable(from..self.blocks.len(), true));
        groups
    }

    fn compact(&mut self, groups: Vec<std::ops::Range<usize>>) {
        for g in groups.into_iter().rev() {
            let merged: Vec<Arc<Block>> = self.blocks.drain(g.clone()).collect();
            let block = Block::from_rows(merged.iter().flat_map(|b| b.rows()));
            self.blocks.insert(g.start, Arc::new(block));
        }
    }
}

/// Series are shared copy-on-write: a checkpoint clones the maps (keys and pointers) at its
/// rotation point and encodes off the log's writer thread, while a write to a series the
/// checkpoint still holds copies that one series first.
#[derive(Debug, Default, Clone)]
pub struct State {
    pub scopes: BTreeMap<Scope, BTreeMap<SeriesKey, Arc<Series>>>,
    /// Anomaly detectors by id.
    pub detectors: BTreeMap<Scope, BTreeMap<String, Detector>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    Put {
        scope: Scope,
        datums: Vec<Datum>,
    },
    Reset,
    /// Creates the detector, or replaces the one with its id.
    PutDetector {
        scope: Scope,
        detector: Box<Detector>,
    },
    DeleteDetector {
        scope: Scope,
        id: String,
    },
    /// Applies the retention ladder as of `now_s`: older data is merged into coarser buckets,
    /// data past the last rung is dropped. Carrying `now_s` and the ladder keeps replay exact.
    Rollup {
        now_s: i64,
        ladder: Ladder,
    },
}

/// How long each resolution is kept, in seconds of age: 1-second buckets until `high_res`,
/// 1-minute until `minute`, 5-minute until `five_minutes`, 1-hour until `hour`, then dropped.
/// CloudWatch's own ladder is the default: 3 hours, 15 days, 63 days, 455 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ladder {
    pub high_res: i64,
    pub minute: i64,
    pub five_minutes: i64,
    pub hour: i64,
}

impl Default for Ladder {
    fn default() -> Self {
        Ladder {
            high_res: 3 * 3600,
            minute: 15 * 86_400,
            five_minutes: 63 * 86_400,
            hour: 455 * 86_400,
        }
    }
}

impl Ladder {
    /// The bucket width for data of this age, `None` when past retention.
    pub fn width(&self, age: i64) -> Option<i64> {
        if age >= self.hour {
            None
        } else if age >= self.five_minutes {
            Some(3600)
        } else if age >= self.minute {
            Some(300)
        } else if age >= self.high_res {
            Some(60)
        } else {
            Some(1)
        }
    }
}

impl State {
    /// The whole state as a checkpoint, blocks inline (format 3; [`files`] writes format 4,
    /// whose blocks are references into block files).
    pub fn encode_snapshot(&self) -> Vec<u8> {
        self.encode_snapshot_as(3, &mut |b, w| b.encode(w))
    }

    /// The state in snapshot format `version`, each block written by `block`.
    pub(crate) fn encode_snapshot_as(
        &self,
        version: u8,
        block: &mut dyn FnMut(&Arc<Block>, &mut Writer),
    ) -> Vec<u8> {
        let mut w = Writer::default();
        // Format version: 1 had no blocks, 2 no detectors, 4 keeps blocks in block files.
        w.u8(version);
        w.u64(self.scopes.len() as u64);
        for (scope, series) in &self.scopes {
            w.str(&scope.account);
            w.str(&scope.region);
            w.u64(series.len() as u64);
            for (k, s) in series {
                w.str(&k.namespace);
                w.str(&k.name);
                w.u64(k.dimensions.len() as u64);
                for (n, v) in &k.dimensions {
                    w.str(n);
                    w.str(v);
                }
                w.i64(s.last_timestamp_ms);
                w.u64(s.blocks.len() as u64);
                for b in &s.blocks {
                    block(b, &mut w);
                }
                w.u64(s.head.len() as u64);
                for (t, units) in &s.head {
                    w.i64(*t);
                    w.u64(units.len() as u64);
                    for (u, a) in units {
                        w.str(u);
                        a.view().encode(&mut w);
                    }
                }
            }
        }
        w.u64(self.detectors.len() as u64);
        for (scope, detectors) in &self.detectors {
            w.str(&scope.account);
            w.str(&scope.region);
            w.u64(detectors.len() as u64);
            for d in detectors.values() {
                d.encode(&mut w);
            }
        }
        w.buf
    }

    /// A checkpoint with its blocks inline (formats 1 to 3).
    pub fn decode_snapshot(data: &[u8]) -> Result<State, DecodeError> {
        Self::decode_snapshot_with(data, &BTreeMap::new())
    }

    /// A checkpoint of any format; format 4's blocks are read from `files` (block file
    /// number → its bytes), each remembering where it lies.
    pub fn decode_snapshot_with(
        data: &[u8],
        files: &BTreeMap<u64, Vec<u8>>,
    ) -> Result<State, DecodeError> {
        let mut r = Reader::new(data);
        let version = r.u8()?;
        if !matches!(version, 1..=4) {
            return Err(DecodeError(0));
        }
        let mut st = State::default();
        for _ in 0..r.u64()? {
            let scope = Scope {
                account: r.str()?,
                region: r.str()?,
            };
            let mut series = BTreeMap::new();
            for _ in 0..r.u64()? {
                let namespace = r.str()?;
                let name = r.str()?;
                let mut dimensions = Vec::new();
                for _ in 0..r.u64()? {
                    dimensions.push((r.str()?, r.str()?));
                }
                let mut s = Series {
                    last_timestamp_ms: r.i64()?,
                    ..Series::default()
                };
                if version >= 2 {
                    for _ in 0..r.u64()? {
                        let b = if version >= 4 {
                            files::decode_block(&mut r, files)?
                        } else {
                            Block::decode(&mut r)?
                        };
                        let ordered = s.blocks.last().is_none_or(|prev| {
                            prev.last_time()
                                .zip(b.first_time())
                                .is_some_and(|(p, f)| p < f)
                        });
                        if b.is_empty() || !ordered {
                            return Err(DecodeError(0));
                        }
                        s.blocks.push(Arc::new(b));
                    }
                }
                for _ in 0..r.u64()? {
                    let t = r.i64()?;
                    let mut units = Units::new();
                    for _ in 0..r.u64()? {
                        let u = r.str()?;
                        *unit_entry(&mut units, u) = Agg::decode(&mut r)?;
                    }
                    s.head.insert(t, units);
                }
                series.insert(
                    SeriesKey {
                        namespace,
                        name,
                        dimensions,
                    },
                    Arc::new(s),
                );
            }
            st.scopes.insert(scope, series);
        }
        if version >= 3 {
            for _ in 0..r.u64()? {
                let scope = Scope {
                    account: r.str()?,
                    region: r.str()?,
                };
                let mut detectors = BTreeMap::new();
                for _ in 0..r.u64()? {
                    let d = Detector::decode(&mut r)?;
                    detectors.insert(d.id.clone(), d);
                }
                st.detectors.insert(scope, detectors);
            }
        }
        if !r.done() {
            return Err(DecodeError(data.len()));
        }
        Ok(st)
    }

    pub fn apply(&mut self, m: Mutation) {
        match m {
            Mutation::Put { scope, datums } => {
                let series = self.scopes.entry(scope).or_default();
                for d in datums {
                    let s = Arc::make_mut(series.entry(d.key).or_default());
                    let secs = d.timestamp_ms.div_euclid(1000);
                    let bucket = if d.high_resolution {
                        secs
                    } else {
                        secs - secs.rem_euclid(60)
                    };
                    let agg = unit_entry(s.head.entry(bucket).or_default(), d.unit);
                    match d.values {
                        Values::Raw(vs) => agg.add_values(&vs),
                        Values::Ones(vs) => agg.add_ones(&vs),
                        Values::Set {
                            count,
                            sum,
                            min,
                            max,
                        } => agg.add_set(count, sum, min, max),
                    }
                    s.last_timestamp_ms = s.last_timestamp_ms.max(d.timestamp_ms);
                    if s.head.len() > HEAD_MAX {
                        s.seal(HEAD_KEEP);
                    }
                }
            }
            Mutation::Reset => {
                self.scopes.clear();
                self.detectors.clear();
            }
            Mutation::PutDetector { scope, detector } => {
                self.detectors
                    .entry(scope)
                    .or_default()
                    .insert(detector.id.clone(), *detector);
            }
            Mutation::DeleteDetector { scope, id } => {
                if let Some(ds) = self.detectors.get_mut(&scope) {
                    ds.remove(&id);
                    if ds.is_empty() {
                        self.detectors.remove(&scope);
                    }
                }
            }
            Mutation::Rollup { now_s, ladder } => {
                for series in self.scopes.values_mut() {
                    for s in series.values_mut() {
                        rollup_series(s, now_s, ladder);
                    }
                    series.retain(|_, s| !s.is_empty());
                }
            }
        }
    }
}

/// Whether a bucket at `t` moves (or is dropped) in a rollup at `now_s`.
fn moves(t: i64, now_s: i64, ladder: Ladder) -> bool {
    ladder.width(now_s - t).is_none_or(|w| t.rem_euclid(w) != 0)
}

/// Moves every bucket of `s` into the bucket of its age's width (`t` rounded down to it), in
/// ascending order of `t`, and drops buckets past retention; then merges small blocks into
/// their neighbours ([`Series::compactable`]). Only buckets older than the high-resolution rung
/// can move, and only the blocks holding them are rebuilt; a series with nothing to do is not
/// touched (nor copied).
fn rollup_series(s: &mut Arc<Series>, now_s: i64, ladder: Ladder) {
    let cutoff = now_s - ladder.high_res;
    let affected: Vec<usize> = s
        .blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| {
            let old = &b.times()[..b.times().partition_point(|t| *t <= cutoff)];
            old.iter().any(|t| moves(*t, now_s, ladder))
        })
        .map(|(n, _)| n)
        .collect();
    let head_moves = s
        .head
        .range(..=cutoff)
        .any(|(t, _)| moves(*t, now_s, ladder));
    let groups = s.compactable();
    if affected.is_empty() && !head_moves && groups.is_empty() {
        return;
    }
    let s = Arc::make_mut(s);
    if let (Some(&first), Some(&last)) = (affected.first(), affected.last()) {
        // Buckets move to earlier times (at most an hour back): a block reaching those times
        // is rebuilt too, so blocks stay disjoint.
        let reach = s.blocks[first].first_time().unwrap_or(i64::MIN);
        let reach = reach - reach.rem_euclid(3600);
        let mut from = first;
        while from > 0 && s.blocks[from - 1].last_time().is_some_and(|t| t >= reach) {
            from -= 1;
        }
        let taken: Vec<Arc<Block>> = s.blocks.drain(from..=last).collect();
        let mut moved: BTreeMap<i64, Units> = BTreeMap::new();
        for (t, u, a) in taken.iter().flat_map(|b| b.rows()) {
            let Some(w) = ladder.width(now_s - t) else {
                continue;
            };
            unit_entry(moved.entry(t - t.rem_euclid(w)).or_default(), u.to_string())
                .merge_view(a, true);
        }
        let block = Block::from_rows(
            moved
                .iter()
                .flat_map(|(t, units)| units.iter().map(move |(u, a)| (*t, u.as_str(), a.view()))),
        );
        if !block.is_empty() {
            s.blocks.insert(from, Arc::new(block));
        }
    }
    if head_moves {
        let mut moved = Vec::new();
        let listed: Vec<i64> = s
            .head
            .range(..=cutoff)
            .map(|(t, _)| *t)
            .filter(|t| moves(*t, now_s, ladder))
            .collect();
        for t in listed {
            let units = s.head.remove(&t).expect("listed above");
            if let Some(w) = ladder.width(now_s - t) {
                moved.push((t - t.rem_euclid(w), units));
            }
        }
        for (target, units) in moved {
            let dest = s.head.entry(target).or_default();
            for (u, agg) in units {
                unit_entry(dest, u).merge(&agg);
            }
        }
    }
    let groups = s.compactable();
    s.compact(groups);
}

impl Mutation {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = match self {
            // Room for the usual record, so the buffer is not copied as it grows.
            Mutation::Put { datums, .. } => Writer::with_capacity(
                64 + datums
                    .iter()
                    .map(|d| {
                        let key = d.key.namespace.len()
                            + d.key.name.len()
                            + d.key
                                .dimensions
                                .iter()
                                .map(|(k, v)| k.len() + v.len() + 4)
                                .sum::<usize>();
                        let values = match &d.values {
                            Values::Raw(vs) => 16 * vs.len(),
                            Values::Ones(vs) => 8 * vs.len(),
                            Values::Set { .. } => 32,
                        };
                        key + d.unit.len() + values + 40
                    })
                    .sum::<usize>(),
            ),
            _ => Writer::default(),
        };
        match self {
            Mutation::Put { scope, datums } => {
                w.u8(1);
                w.str(&scope.account);
                w.str(&scope.region);
                w.u64(datums.len() as u64);
                for d in datums {
                    w.str(&d.key.namespace);
                    w.str(&d.key.name);
                    w.u64(d.key.dimensions.len() as u64);
                    for (k, v) in &d.key.dimensions {
                        w.str(k);
                        w.str(v);
                    }
                    w.i64(d.timestamp_ms);
                    w.str(&d.unit);
                    w.bool(d.high_resolution);
                    match &d.values {
                        // Counts of 1 (a `Value`, or `Values` without or with unit
                        // `Counts`) are not written: half the log's bytes.
                        Values::Raw(vs) if vs.iter().all(|(_, c)| *c == 1.0) => {
                            w.u8(2);
                            w.u64(vs.len() as u64);
                            for (v, _) in vs {
                                w.f64(*v);
                            }
                        }
                        Values::Ones(vs) => {
                            w.u8(2);
                            w.u64(vs.len() as u64);
                            for v in vs {
                                w.f64(*v);
                            }
                        }
                        Values::Raw(vs) => {
                            w.u8(0);
                            w.u64(vs.len() as u64);
                            for (v, c) in vs {
                                w.f64(*v);
                                w.f64(*c);
                            }
                        }
                        Values::Set {
                            count,
                            sum,
                            min,
                            max,
                        } => {
                            w.u8(1);
                            for x in [count, sum, min, max] {
                                w.f64(*x);
                            }
                        }
                    }
                }
            }
            Mutation::Reset => w.u8(2),
            Mutation::Rollup { now_s, ladder } => {
                w.u8(3);
                w.i64(*now_s);
                for x in [
                    ladder.high_res,
                    ladder.minute,
                    ladder.five_minutes,
                    ladder.hour,
                ] {
                    w.i64(x);
                }
            }
            Mutation::PutDetector { scope, detector } => {
                w.u8(4);
                w.str(&scope.account);
                w.str(&scope.region);
                detector.encode(&mut w);
            }
            Mutation::DeleteDetector { scope, id } => {
                w.u8(5);
                w.str(&scope.account);
                w.str(&scope.region);
                w.str(id);
            }
        }
        w.buf
    }

    pub fn decode(data: &[u8]) -> Result<Mutation, DecodeError> {
        let mut r = Reader::new(data);
        let m = match r.u8()? {
            1 => {
                let scope = Scope {
                    account: r.str()?,
                    region: r.str()?,
                };
                let n = r.u64()?;
                let mut datums = Vec::with_capacity((n as usize).min(1000));
                for _ in 0..n {
                    let namespace = r.str()?;
                    let name = r.str()?;
                    let mut dimensions = Vec::new();
                    for _ in 0..r.u64()? {
                        dimensions.push((r.str()?, r.str()?));
                    }
                    let timestamp_ms = r.i64()?;
                    let unit = r.str()?;
                    let high_resolution = r.bool()?;
                    let values = match r.u8()? {
                        0 => {
                            let mut vs = Vec::new();
                            for _ in 0..r.u64()? {
                                vs.push((r.f64()?, r.f64()?));
                            }
                            Values::Raw(vs)
                        }
                        2 => {
                            let n = r.u64()?;
                            // Never more room than the record's bytes can fill.
                            let mut vs = Vec::with_capacity((n as usize).min(r.remaining() / 8));
                            for _ in 0..n {
                                vs.push(r.f64()?);
                            }
                            Values::Ones(vs)
                        }
                        1 => Values::Set {
                            count: r.f64()?,
                            sum: r.f64()?,
                            min: r.f64()?,
                            max: r.f64()?,
                        },
                        _ => return Err(DecodeError(0)),
                    };
                    datums.push(Datum {
                        key: SeriesKey {
                            namespace,
                            name,
                            dimensions,
                        },
                        timestamp_ms,
                        unit,
                        high_resolution,
                        values,
                    });
                }
                Mutation::Put { scope, datums }
            }
            2 => Mutation::Reset,
            3 => Mutation::Rollup {
                now_s: r.i64()?,
                ladder: Ladder {
                    high_res: r.i64()?,
                    minute: r.i64()?,
                    five_minutes: r.i64()?,
                    hour: r.i64()?,
                },
            },
            4 => Mutation::PutDetector {
                scope: Scope {
                    account: r.str()?,
                    region: r.str()?,
                },
                detector: Box::new(Detector::decode(&mut r)?),
            },
            5 => Mutation::DeleteDetector {
                scope: Scope {
                    account: r.str()?,
                    region: r.str()?,
                },
                id: r.str()?,
            },
            _ => return Err(DecodeError(0)),
        };
        if !r.done() {
            return Err(DecodeError(data.len()));
        }
        Ok(m)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage failure: {0}")]
    Storage(String),
}

pub struct MetricStore {
    state: Arc<RwLock<State>>,
    /// The log every mutation goes through (the local WAL today).
    wal: Box<dyn Journal>,
    blobs: Arc<LocalBlobStore>,
    /// The block files checkpoints keep blocks in.
    files: Arc<BlockFiles>,
    /// Held through a checkpoint: one at a time.
    checkpointing: std::sync::Mutex<()>,
    clock: SharedClock,
}

/// Checkpoint when the write-ahead log grows past this.
pub const CHECKPOINT_BYTES: u64 = 64 << 20;

/// One period of a statistics query.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Period start, epoch seconds.
    pub start: i64,
    pub unit: String,
    pub agg: Agg,
}

impl MetricStore {
    /// Opens the store: the latest checkpoint, then the write-ahead log after it.
    pub fn open(dir: &Path, clock: SharedClock) -> Result<MetricStore, StoreError> {
        let storage = |e: &dyn std::fmt::Display| StoreError::Storage(e.to_string());
        let blobs = LocalBlobStore::open(dir.join("files")).map_err(|e| storage(&e))?;
        let (files, file_bytes) = BlockFiles::load(&blobs).map_err(|e| storage(&e))?;
        let (mut state, from_file) =
            match nephoscope_storage::checkpoint::latest(&blobs).map_err(|e| storage(&e))? {
                Some((n, bytes)) => {
                    let st = State::decode_snapshot_with(&bytes, &file_bytes)
                        .map_err(|e| StoreError::Storage(format!("checkpoint {n}: {e}")))?;
                    (st, n)
                }
                None => (State::default(), 0),
            };
        drop(file_bytes);
        let (wal, records) = Wal::open(dir.join("wal")).map_err(|e| storage(&e))?;
        for (file, r) in records {
            if file < from_file {
                continue;
            }
            let m = Mutation::decode(&r)
                .map_err(|e| StoreError::Storage(format!("log file {file}: {e}")))?;
            state.apply(m);
        }
        Ok(MetricStore {
            state: Arc::new(RwLock::new(state)),
            wal: Box::new(wal),
            blobs: Arc::new(blobs),
            files: Arc::new(files),
            checkpointing: std::sync::Mutex::new(()),
            clock,
        })
    }

    /// Applies the retention ladder now (rollups and expiry), durably.
    pub async fn rollup(&self, ladder: Ladder) -> Result<(), StoreError> {
        self.mutate(Mutation::Rollup {
            now_s: self.now().div_euclid(1000),
            ladder,
        })
        .await
    }

    /// Checkpoints when the log is large (or always with `force`), then drops the log before it.
    /// Blocking: encodes the heads and the blocks sealed since the last checkpoint on the
    /// calling thread ([`files`]).
    pub fn maintain(&self, force: bool) -> Result<bool, StoreError> {
        if !force && self.wal.size() < CHECKPOINT_BYTES {
            return Ok(false);
        }
        let _one = self.checkpointing.lock().unwrap_or_else(|p| p.into_inner());
        let err = |e: std::io::Error| StoreError::Storage(e.to_string());
        let (state, files, blobs) = (self.state.clone(), self.files.clone(), self.blobs.clone());
        // At the rotation point (on the log's writer thread) only the maps are copied; the
        // encoding runs here, while writes go on.
        nephoscope_storage::checkpoint::write_deferred(
            self.wal.as_ref(),
            &*self.blobs,
            move || {
                let frozen = state.read().unwrap_or_else(|p| p.into_inner()).clone();
                Box::new(move || files.encode(&*blobs, &frozen))
            },
        )
        .map_err(err)?;
        self.files.collect(&*self.blobs).map_err(err)?;
        Ok(true)
    }

    /// Block file numbers and sizes.
    pub fn block_files(&self) -> std::collections::BTreeMap<u64, u64> {
        self.files.sizes()
    }

    pub fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// Durably applies `m`; resolves once it is on disk and visible.
    pub async fn mutate(&self, m: Mutation) -> Result<(), StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let state = self.state.clone();
        let bytes = m.encode();
        self.wal.append(
            bytes,
            Box::new(move |written| {
                let r = match written {
                    Ok(()) => {
                        state.write().unwrap_or_else(|p| p.into_inner()).apply(m);
                        Ok(())
                    }
                    Err(e) => Err(StoreError::Storage(e.to_string())),
                };
                let _ = tx.send(r);
            }),
        );
        rx.await
            .unwrap_or_else(|_| Err(StoreError::Storage("write-ahead log writer stopped".into())))
    }

    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Series of `scope` whose namespace, name and dimensions match; a dimension filter with
    /// `None` value matches any value of that dimension name.
    pub fn list(
        &self,
        scope: &Scope,
        namespace: Option<&str>,
        name: Option<&str>,
        dimensions: &[(String, Option<String>)],
        active_since_ms: Option<i64>,
    ) -> Vec<SeriesKey> {
        let st = self.read();
        let Some(series) = st.scopes.get(scope) else {
            return Vec::new();
        };
        series
            .iter()
            .filter(|(k, s)| {
                namespace.is_none_or(|n| k.namespace == n)
                    && name.is_none_or(|n| k.name == n)
                    && active_since_ms.is_none_or(|t| s.last_timestamp_ms >= t)
                    && dimensions.iter().all(|(dn, dv)| {
                        k.dimensions
                            .iter()
                            .any(|(kn, kv)| kn == dn && dv.as_ref().is_none_or(|v| v == kv))
                    })
            })
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Aggregates of `key` per period of `period` seconds from `start` (inclusive) to `end`
    /// (exclusive), epoch seconds, per unit (only `unit` when given). Ascending by start.
    pub fn statistics(
        &self,
        scope: &Scope,
        key: &SeriesKey,
        start: i64,
        end: i64,
        period: i64,
        unit: Option<&str>,
    ) -> Vec<Point> {
        let st = self.read();
        let Some(s) = st.scopes.get(scope).and_then(|m| m.get(key)) else {
            return Vec::new();
        };
        let mut out: BTreeMap<(i64, String), Agg> = BTreeMap::new();
        let period = period.max(1);
        s.for_each_row(start, end, |t, u, a| {
            if unit.is_some_and(|want| want != u) {
                return;
            }
            let p = start + (t - start).div_euclid(period) * period;
            out.entry((p, u.to_string()))
                .or_default()
                .merge_view(a, true);
        });
        out.into_iter()
            .map(|((start, unit), agg)| Point { start, unit, agg })
            .collect()
    }
}

/// What a statistic reads of a period's aggregates.
pub struct PeriodStat<'a> {
    /// Whether the statistic reads the quantile sketch (percentiles, trimmed statistics).
    pub sketch: bool,
    pub value: &'a (dyn Fn(AggRef<'_>) -> Option<f64> + Sync),
}

impl State {
    /// One value per period of `period` seconds from `start` (inclusive) to `end` (exclusive)
    /// for the series `key`: its buckets merged per period — all units, or only `unit` — and
    /// `stat` applied. Periods without data, or whose statistic has no value, are left out.
    /// A period of one bucket is read in place; merging copies only what `stat` reads.
    #[allow(clippy::too_many_arguments)]
    pub fn period_values<'s>(
        &'s self,
        scope: &Scope,
        key: &SeriesKey,
        start: i64,
        end: i64,
        period: i64,
        unit: Option<&str>,
        stat: &PeriodStat<'_>,
    ) -> (Vec<i64>, Vec<f64>) {
        let (mut ts, mut vs) = (Vec::new(), Vec::new());
        let Some(s) = self.scopes.get(scope).and_then(|m| m.get(key)) else {
            return (ts, vs);
        };
        let period = period.max(1);
        // Periods gathered first, the statistic computed after in a tight loop: reading a
        // sketch is a cache miss per period, and a short loop keeps several in flight.
        enum Gathered<'a> {
            One(AggRef<'a>),
            /// An index into `merged`.
            Merged(usize),
        }
        let mut periods: Vec<(i64, Gathered<'s>)> = Vec::new();
        let mut merged: Vec<Agg> = Vec::new();
        // The period being gathered: its start, and its one aggregate or their merge.
        let mut current: Option<(i64, Option<AggRef<'s>>, Option<Agg>)> = None;
        let mut emit = |c: Option<(i64, Option<AggRef<'s>>, Option<Agg>)>| {
            let Some((p, single, many)) = c else {
                return;
            };
            match (single, many) {
                (_, Some(m)) => {
                    periods.push((p, Gathered::Merged(merged.len())));
                    merged.push(m);
                }
                (Some(a), None) => periods.push((p, Gathered::One(a))),
                (None, None) => {}
            }
        };
        s.for_each_row(start, end, |t, u, agg| {
            if unit.is_some_and(|want| want != u) {
                return;
            }
            let p = start + (t - start).div_euclid(period) * period;
            if current.as_ref().is_none_or(|c| c.0 != p) {
                emit(current.take());
                current = Some((p, None, None));
            }
            let c = current.as_mut().expect("set above");
            match (&mut c.1, &mut c.2) {
                (_, Some(m)) => m.merge_view(agg, stat.sketch),
                (Some(first), None) => {
                    let mut m = first.to_agg(stat.sketch);
                    m.merge_view(agg, stat.sketch);
                    c.2 = Some(m);
                }
                (None, None) => c.1 = Some(agg),
            }
        });
        emit(current);
        ts.reserve(periods.len());
        vs.reserve(periods.len());
        // Percentiles read each period's sketch, a cache miss apiece: start the loads a few
        // periods ahead so they overlap.
        const AHEAD: usize = 8;
        if stat.sketch {
            for (_, a) in periods.iter().take(AHEAD) {
                if let Gathered::One(a) = a {
                    a.sketch.touch();
                }
            }
        }
        for n in 0..periods.len() {
            if stat.sketch {
                if let Some((_, Gathered::One(ahead))) = periods.get(n + AHEAD) {
                    ahead.sketch.touch();
                }
            }
            let (p, a) = &periods[n];
            let p = *p;
            let a = match a {
                Gathered::One(a) => *a,
                Gathered::Merged(m) => merged[*m].view(),
            };
            if let Some(v) = (stat.value)(a) {
                ts.push(p);
                vs.push(v);
            }
        }
        (ts, vs)
    }
}
