//! How a Logs Insights query is fed from the store. Each scanned range of each log group is cut
//! into pieces holding about the same number of events (from the segments' and heads' time
//! spans); the pieces are scanned on every core, each worker into its own execution, and the
//! executions are merged (their results do not depend on how the input was split). A query that
//! keeps only the newest rows (`sort @timestamp desc | limit n`, or no sort at all, with no
//! `filter`) scans the pieces newest first instead and, as soon as older events cannot change
//! its result, only counts the rest for the statistics.

use nephoscope_insights as insights;
use nephoscope_logstore::{LogStore, Scope, StoreError};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Below this many events in all, one worker scans everything.
const PARALLEL_MIN_EVENTS: f64 = 50_000.0;
/// Pieces per worker (more pieces balance uneven work between workers).
const PIECES_PER_WORKER: usize = 4;
/// Pieces of a newest-first scan (the first ones are usually enough).
const NEWEST_FIRST_PIECES: usize = 256;
/// Resolution of the event-count histogram pieces are cut from.
const BUCKETS: usize = 512;

/// One piece: a log group and an inclusive time range (epoch ms).
#[derive(Debug, Clone)]
struct Piece<'g> {
    group: &'g str,
    from: i64,
    to: i64,
}

/// What stopped a scan early.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub failed: Option<StoreError>,
    pub timed_out: bool,
}

/// Shared per run: limits and the partial-results hook.
pub(crate) struct Feed<'a> {
    pub store: &'a LogStore,
    pub scope: &'a Scope,
    pub query: &'a insights::Query,
    pub ctx: insights::QueryContext,
    pub cancel: &'a AtomicBool,
    pub started: Instant,
    pub timeout: Duration,
    /// Called every `partial_every` events of one worker with its execution so far.
    pub partial: &'a (dyn Fn(&insights::Execution) + Sync),
    pub partial_every: u64,
}

/// Cuts `[from, to]` of `group` into at most `n` ascending, disjoint pieces that cover it and
/// hold about the same number of events; also returns the events counted.
fn cut<'g>(
    store: &LogStore,
    scope: &Scope,
    group: &'g str,
    from: i64,
    to: i64,
    n: usize,
) -> (Vec<Piece<'g>>, f64) {
    let whole = vec![Piece { group, from, to }];
    let mut spans: Vec<(i64, i64, f64)> = Vec::new();
    {
        let st = store.read();
        let Some(g) = st.group(scope, group) else {
            return (whole, 0.0);
        };
        for m in &g.segments {
            if m.max_ts >= from && m.min_ts <= to && m.count > 0 {
                // Events spread evenly over the segment's span, the part in range counted.
                let (a, b) = (m.min_ts.max(from), m.max_ts.min(to));
                let share = (b - a + 1) as f64 / (m.max_ts - m.min_ts + 1) as f64;
                spans.push((a, b, m.count as f64 * share));
            }
        }
        for s in g.streams.values() {
            let a = s.events.partition_point(|e| e.timestamp < from);
            let b = s.events.partition_point(|e| e.timestamp <= to);
            if b > a {
                let (lo, hi) = (s.events[a].timestamp, s.events[b - 1].timestamp);
                spans.push((lo, hi, (b - a) as f64));
            }
        }
    }
    let total: f64 = spans.iter().map(|s| s.2).sum();
    let (Some(lo), Some(hi)) = (
        spans.iter().map(|s| s.0).min(),
        spans.iter().map(|s| s.1).max(),
    ) else {
        return (whole, total);
    };
    if n <= 1 || hi <= lo {
        return (whole, total);
    }
    let width = ((hi - lo + 1) as f64 / BUCKETS as f64).max(1.0);
    let bucket = |t: i64| (((t - lo) as f64 / width) as usize).min(BUCKETS - 1);
    let mut hist = vec![0.0f64; BUCKETS];
    for &(a, b, c) in &spans {
        let (i, j) = (bucket(a), bucket(b));
        let per = c / (j - i + 1) as f64;
        for h in &mut hist[i..=j] {
            *h += per;
        }
    }
    let mut pieces = Vec::with_capacity(n);
    let mut start = from;
    let mut acc = 0.0;
    let step = total / n as f64;
    for (i, h) in hist.iter().enumerate() {
        acc += h;
        if pieces.len() + 1 < n && acc >= step * (pieces.len() + 1) as f64 {
            let end = lo + ((i + 1) as f64 * width) as i64 - 1;
            if end >= start && end < to {
                pieces.push(Piece {
                    group,
                    from: start,
                    to: end,
                });
                start = end + 1;
            }
        }
    }
    pieces.push(Piece {
        group,
        from: start,
        to,
    });
    (pieces, total)
}

impl Feed<'_> {
    /// Scans `ranges` of every group into `exec`.
    pub(crate) fn run(
        &self,
        groups: &[String],
        ranges: &[(i64, i64)],
        exec: &mut insights::Execution,
    ) -> Outcome {
        let newest_first = exec.newest_first();
        let workers = if newest_first {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
        };
        let per_range = if newest_first {
            NEWEST_FIRST_PIECES
        } else {
            workers * PIECES_PER_WORKER
        };
        let mut pieces = Vec::new();
        let mut total = 0.0;
        for group in groups {
            for &(from, to) in ranges {
                let (p, n) = cut(self.store, self.scope, group, from, to, per_range);
                pieces.extend(p);
                total += n;
            }
        }
        let timed_out = AtomicBool::new(false);
        let failed: Mutex<Option<StoreError>> = Mutex::new(None);
        if newest_first {
            // Newest pieces first, across groups; stop once the rest is older than the floor.
            pieces.sort_by_key(|p| std::cmp::Reverse(p.to));
            let mut seen = 0;
            let mut rest = pieces.len();
            for (i, p) in pieces.iter().enumerate() {
                if exec.time_floor().is_some_and(|f| p.to < f) {
                    rest = i;
                    break;
                }
                if !self.piece(p, exec, &mut seen, true, &timed_out, &failed) {
                    break;
                }
            }
            // The older pieces only count in the statistics: adjacent ones of a group are
            // walked as one range.
            let skipped = if exec.counts_skipped() {
                rest
            } else {
                pieces.len()
            };
            let mut older: Vec<Piece<'_>> = pieces[skipped..].to_vec();
            older.sort_by(|a, b| (a.group, a.from).cmp(&(b.group, b.from)));
            older.dedup_by(|next, prev| {
                let adjacent = next.group == prev.group && next.from == prev.to.saturating_add(1);
                if adjacent {
                    prev.to = next.to;
                }
                adjacent
            });
            for p in &older {
                // Only sizes are needed: no message is read.
                if let Err(e) = self
                    .store
                    .scan_sizes(self.scope, p.group, p.from, p.to, |t, n| {
                        exec.count_skipped(t, n);
                        !self.cancel.load(Ordering::Relaxed)
                    })
                {
                    if let Ok(mut f) = failed.lock() {
                        f.get_or_insert(e);
                    }
                    break;
                }
            }
        } else if workers <= 1 || total < PARALLEL_MIN_EVENTS {
            let mut seen = 0;
            for p in &pieces {
                if !self.piece(p, exec, &mut seen, true, &timed_out, &failed) {
                    break;
                }
            }
        } else {
            let next = AtomicUsize::new(0);
            let parts: Vec<insights::Execution> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..workers)
                    .map(|w| {
                        let (next, pieces, timed_out, failed) =
                            (&next, &pieces, &timed_out, &failed);
                        s.spawn(move || {
                            let mut mine = self.query.start(self.ctx);
                            let mut seen = 0;
                            while let Some(p) = pieces.get(next.fetch_add(1, Ordering::Relaxed)) {
                                if !self.piece(p, &mut mine, &mut seen, w == 0, timed_out, failed) {
                                    break;
                                }
                            }
                            mine
                        })
                    })
                    .collect();
                handles.into_iter().filter_map(|h| h.join().ok()).collect()
            });
            for part in parts {
                exec.merge(part);
            }
        }
        Outcome {
            failed: failed.into_inner().unwrap_or_else(|p| p.into_inner()),
            timed_out: timed_out.load(Ordering::Relaxed),
        }
    }

    /// Scans one piece into `exec`; false when the whole run must stop.
    fn piece(
        &self,
        p: &Piece<'_>,
        exec: &mut insights::Execution,
        seen: &mut u64,
        publish: bool,
        timed_out: &AtomicBool,
        failed: &Mutex<Option<StoreError>>,
    ) -> bool {
        let stop = || {
            self.cancel.load(Ordering::Relaxed)
                || timed_out.load(Ordering::Relaxed)
                || failed.lock().map_or(true, |f| f.is_some())
        };
        if stop() {
            return false;
        }
        let log = format!("{}:{}", self.scope.account, p.group);
        let needs_ptr = self.query.needs_ptr();
        let mut ptr = String::new();
        let r = self
            .store
            .scan(self.scope, p.group, p.from, p.to, |stream, e| {
                if self.cancel.load(Ordering::Relaxed) || timed_out.load(Ordering::Relaxed) {
                    return false;
                }
                if seen.is_multiple_of(4096) && self.started.elapsed() > self.timeout {
                    timed_out.store(true, Ordering::Relaxed);
                    return false;
                }
                if needs_ptr {
                    ptr = crate::queries::encode_ptr(p.group, stream, e.timestamp, e.seq);
                }
                exec.push(&insights::Record {
                    timestamp: e.timestamp,
                    ingestion_time: e.ingestion_time,
                    message: e.message,
                    log_stream: stream,
                    log: &log,
                    ptr: &ptr,
                });
                *seen += 1;
                if publish && seen.is_multiple_of(self.partial_every) {
                    (self.partial)(exec);
                }
                true
            });
        if let Err(e) = r {
            if let Ok(mut f) = failed.lock() {
                f.get_or_insert(e);
            }
            return false;
        }
        !stop()
    }
}
