//! The metric store: series per (account, region), each a map from bucket start to per-unit
//! aggregates {count, sum, min, max, quantile sketch}. High-resolution data lands in 1-second
//! buckets, standard data in 1-minute buckets; reads merge buckets into any period.
//!
//! Writes are write-ahead-logged with group commit and applied on the log's writer thread (the
//! same pattern as the log store); recovery replays the log. No AWS shapes here.

pub mod sketch;

use nephoscope_clock::SharedClock;
use nephoscope_storage::blob::LocalBlobStore;
use nephoscope_storage::codec::{DecodeError, Reader, Writer};
use nephoscope_storage::wal::{Journal, Wal};
use sketch::Sketch;
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
        self.count += count;
        self.sum += v * count;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if v < 0.0 {
            self.percentiles = false;
        }
        self.sketch.add(v, count);
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
        self.merge_parts(o, true);
    }

    /// Merges `o` in; the quantile sketch only when `sketch` (statistics other than
    /// percentiles and ranges never read it).
    pub fn merge_parts(&mut self, o: &Agg, sketch: bool) {
        self.count += o.count;
        self.sum += o.sum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        if sketch {
            self.sketch.merge(&o.sketch);
        }
        self.percentiles &= o.percentiles;
    }

    /// A copy, with the sketch only when `sketch`.
    pub fn copy_parts(&self, sketch: bool) -> Agg {
        Agg {
            count: self.count,
            sum: self.sum,
            min: self.min,
            max: self.max,
            sketch: if sketch {
                self.sketch.clone()
            } else {
                Sketch::default()
            },
            percentiles: self.percentiles,
        }
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

/// The values of one datum as published.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// (value, count) pairs: `Value`, or `Values` with `Counts`.
    Raw(Vec<(f64, f64)>),
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

#[derive(Debug, Default, Clone)]
pub struct Series {
    /// Bucket start (epoch seconds) → aggregates per unit.
    pub buckets: BTreeMap<i64, Units>,
    pub last_timestamp_ms: i64,
}

/// Series are shared copy-on-write: a checkpoint clones the maps (keys and pointers) at its
/// rotation point and encodes off the log's writer thread, while a write to a series the
/// checkpoint still holds copies that one series first.
#[derive(Debug, Default, Clone)]
pub struct State {
    pub scopes: BTreeMap<Scope, BTreeMap<SeriesKey, Arc<Series>>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    Put {
        scope: Scope,
        datums: Vec<Datum>,
    },
    Reset,
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
    /// The whole state as a checkpoint.
    pub fn encode_snapshot(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(1); // format version
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
                w.u64(s.buckets.len() as u64);
                for (t, units) in &s.buckets {
                    w.i64(*t);
                    w.u64(units.len() as u64);
                    for (u, a) in units {
                        w.str(u);
                        for x in [a.count, a.sum, a.min, a.max] {
                            w.f64(x);
                        }
                        w.bool(a.percentiles);
                        a.sketch.encode(&mut w);
                    }
                }
            }
        }
        w.buf
    }

    pub fn decode_snapshot(data: &[u8]) -> Result<State, DecodeError> {
        let mut r = Reader::new(data);
        if r.u8()? != 1 {
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
                for _ in 0..r.u64()? {
                    let t = r.i64()?;
                    let mut units = Units::new();
                    for _ in 0..r.u64()? {
                        let u = r.str()?;
                        let (count, sum, min, max) = (r.f64()?, r.f64()?, r.f64()?, r.f64()?);
                        let percentiles = r.bool()?;
                        let sketch = Sketch::decode(&mut r)?;
                        *unit_entry(&mut units, u) = Agg {
                            count,
                            sum,
                            min,
                            max,
                            sketch,
                            percentiles,
                        };
                    }
                    s.buckets.insert(t, units);
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
                    let agg = unit_entry(s.buckets.entry(bucket).or_default(), d.unit);
                    match d.values {
                        Values::Raw(vs) => {
                            for (v, c) in vs {
                                agg.add_value(v, c);
                            }
                        }
                        Values::Set {
                            count,
                            sum,
                            min,
                            max,
                        } => agg.add_set(count, sum, min, max),
                    }
                    s.last_timestamp_ms = s.last_timestamp_ms.max(d.timestamp_ms);
                }
            }
            Mutation::Reset => self.scopes.clear(),
            Mutation::Rollup { now_s, ladder } => {
                for series in self.scopes.values_mut() {
                    for s in series.values_mut() {
                        rollup_series(s, now_s, ladder);
                    }
                    series.retain(|_, s| !s.buckets.is_empty());
                }
            }
        }
    }
}

/// Moves every bucket of `s` into the bucket of its age's width (`t` rounded down to it), in
/// ascending order of `t`, and drops buckets past retention. Only buckets older than the
/// high-resolution rung can change; a series with none to change is not touched (nor copied).
fn rollup_series(s: &mut Arc<Series>, now_s: i64, ladder: Ladder) {
    let moves: Vec<(i64, Option<i64>)> = s
        .buckets
        .range(..=now_s - ladder.high_res)
        .filter_map(|(t, _)| match ladder.width(now_s - t) {
            None => Some((*t, None)),
            Some(w) => (t.rem_euclid(w) != 0).then(|| (*t, Some(t - t.rem_euclid(w)))),
        })
        .collect();
    if moves.is_empty() {
        return;
    }
    let s = Arc::make_mut(s);
    let mut moved = Vec::with_capacity(moves.len());
    for (t, target) in moves {
        let units = s.buckets.remove(&t).expect("listed above");
        if let Some(target) = target {
            moved.push((target, units));
        }
    }
    for (target, units) in moved {
        let dest = s.buckets.entry(target).or_default();
        for (u, agg) in units {
            unit_entry(dest, u).merge(&agg);
        }
    }
}

impl Mutation {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
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
                        _ => Values::Set {
                            count: r.f64()?,
                            sum: r.f64()?,
                            min: r.f64()?,
                            max: r.f64()?,
                        },
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
    blobs: LocalBlobStore,
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
        let (mut state, from_file) =
            match nephoscope_storage::checkpoint::latest(&blobs).map_err(|e| storage(&e))? {
                Some((n, bytes)) => {
                    let st = State::decode_snapshot(&bytes)
                        .map_err(|e| StoreError::Storage(format!("checkpoint {n}: {e}")))?;
                    (st, n)
                }
                None => (State::default(), 0),
            };
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
            blobs,
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
    /// Blocking: encodes the whole state on the calling thread.
    pub fn maintain(&self, force: bool) -> Result<bool, StoreError> {
        if !force && self.wal.size() < CHECKPOINT_BYTES {
            return Ok(false);
        }
        let state = self.state.clone();
        // At the rotation point (on the log's writer thread) only the maps are copied; the
        // encoding runs here, while writes go on.
        nephoscope_storage::checkpoint::write_deferred(self.wal.as_ref(), &self.blobs, move || {
            let frozen = state.read().unwrap_or_else(|p| p.into_inner()).clone();
            Box::new(move || frozen.encode_snapshot())
        })
        .map_err(|e| StoreError::Storage(e.to_string()))?;
        Ok(true)
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
        for (t, units) in s.buckets.range(start..end) {
            let p = start + (t - start).div_euclid(period.max(1)) * period.max(1);
            for (u, agg) in units {
                if unit.is_some_and(|want| want != u) {
                    continue;
                }
                out.entry((p, u.clone())).or_default().merge(agg);
            }
        }
        out.into_iter()
            .map(|((start, unit), agg)| Point { start, unit, agg })
            .collect()
    }
}

/// What a statistic reads of a period's aggregates.
pub struct PeriodStat<'a> {
    /// Whether the statistic reads the quantile sketch (percentiles, trimmed statistics).
    pub sketch: bool,
    pub value: &'a (dyn Fn(&Agg) -> Option<f64> + Sync),
}

impl State {
    /// One value per period of `period` seconds from `start` (inclusive) to `end` (exclusive)
    /// for the series `key`: its buckets merged per period — all units, or only `unit` — and
    /// `stat` applied. Periods without data, or whose statistic has no value, are left out.
    /// A period of one bucket is read in place; merging copies only what `stat` reads.
    #[allow(clippy::too_many_arguments)]
    pub fn period_values(
        &self,
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
        // The period being gathered: its start, and its one aggregate or their merge.
        let mut current: Option<(i64, Option<&Agg>, Option<Agg>)> = None;
        let mut emit = |c: Option<(i64, Option<&Agg>, Option<Agg>)>| {
            let Some((p, single, merged)) = c else {
                return;
            };
            let v = match (single, merged) {
                (_, Some(m)) => (stat.value)(&m),
                (Some(a), None) => (stat.value)(a),
                (None, None) => None,
            };
            if let Some(v) = v {
                ts.push(p);
                vs.push(v);
            }
        };
        for (t, units) in s.buckets.range(start..end) {
            let p = start + (t - start).div_euclid(period) * period;
            if current.as_ref().is_none_or(|c| c.0 != p) {
                emit(current.take());
                current = Some((p, None, None));
            }
            let c = current.as_mut().expect("set above");
            for (u, agg) in units {
                if unit.is_some_and(|want| want != u) {
                    continue;
                }
                match (&mut c.1, &mut c.2) {
                    (_, Some(m)) => m.merge_parts(agg, stat.sketch),
                    (Some(first), None) => {
                        let mut m = first.copy_parts(stat.sketch);
                        m.merge_parts(agg, stat.sketch);
                        c.2 = Some(m);
                    }
                    (None, None) => c.1 = Some(agg),
                }
            }
        }
        emit(current);
        (ts, vs)
    }
}
