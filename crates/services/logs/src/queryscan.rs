//! How a Logs Insights query is fed from the store. Each scanned range of each log group is cut
//! into pieces holding about the same number of events (from the segments' and heads' time
//! spans); the pieces are scanned on every core, each worker into its own execution, and the
//! executions are merged (their results do not depend on how the input was split). A query that
//! keeps only the newest rows (`sort @timestamp desc | limit n`, or no sort at all, with no
//! `filter`) scans the pieces newest first instead and, as soon as older events cannot change
//! its result, only counts the rest for the statistics (from segment totals where it can).
//!
//! A piece is read one of three ways: a query reading only discovered fields takes them from
//! the blocks' field columns (its leading filters decided once per distinct value combination
//! of a block); one with leading `@message like` filters searches each block's text once and
//! pushes only the records that may match; any other gets every message.

use nephoscope_insights as insights;
use nephoscope_logstore::fields::Column;
use nephoscope_logstore::{FieldPart, LogStore, ScanEvent, ScanFields, Scope, StoreError};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Logs Insights' JSON discovery, for the log store to keep discovered fields as columns
/// beside each message block (see `nephoscope_logstore::fields`).
#[derive(Debug, Clone, Copy, Default)]
pub struct FieldDiscovery;

impl nephoscope_logstore::fields::FieldExtractor for FieldDiscovery {
    fn fields(&self, message: &str, emit: &mut dyn FnMut(&str, &str)) {
        insights::discovered_fields(message, emit);
    }
}

/// Most leading-filter inputs whose value combinations are remembered per block.
const MEMO_INPUTS: usize = 4;
/// Most combinations remembered per block (beyond, filters are evaluated record by record).
const MEMO_ENTRIES: usize = 64;

/// The leading filters' verdicts on the value combinations met in the current block, keyed by
/// the scan's per-block value keys.
#[derive(Default)]
struct FilterMemo {
    block: u64,
    seen: Vec<([u32; MEMO_INPUTS], bool)>,
}

impl FilterMemo {
    /// The verdict for a record whose value keys are `keys` (its `inputs` decide), evaluated
    /// with `eval` when this block has not met the combination yet.
    fn decide(
        &mut self,
        block: u64,
        inputs: &[usize],
        keys: &[u32],
        eval: impl FnOnce() -> bool,
    ) -> bool {
        if block != self.block {
            self.block = block;
            self.seen.clear();
        }
        let mut key = [u32::MAX; MEMO_INPUTS];
        for (k, &i) in key.iter_mut().zip(inputs) {
            *k = keys.get(i).copied().unwrap_or(u32::MAX);
        }
        if let Some(&(_, pass)) = self.seen.iter().find(|(k, _)| *k == key) {
            return pass;
        }
        let pass = eval();
        if self.seen.len() < MEMO_ENTRIES {
            self.seen.push((key, pass));
        }
        pass
    }
}

/// Below this many events in all, one worker scans everything.
const PARALLEL_MIN_EVENTS: f64 = 50_000.0;
/// Pieces per worker (more pieces balance uneven work between workers).
const PIECES_PER_WORKER: usize = 4;
/// Stack of a parallel scan worker (as the runtime's blocking threads have it,
/// `crates/server/src/main.rs`).
const SCAN_STACK: usize = 16 << 20;

/// Pieces of a newest-first scan (the first ones are usually enough: small pieces keep the
/// records pushed close to the rows wanted).
const NEWEST_FIRST_PIECES: usize = 4096;
/// Least resolution of the event-count histogram pieces are cut from (two buckets a piece at
/// least).
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
    /// Called with one worker's execution so far, after each `partial_every` events of it
    /// when [`PARTIAL_INTERVAL_MS`] have passed since the last call (results of big
    /// aggregations are costly to work out).
    pub partial: &'a (dyn Fn(&insights::Execution) + Sync),
    pub partial_every: u64,
    /// When the next partial results are due (ms since `started`).
    pub next_partial: AtomicU64,
}

/// Least time between two partial results of a run.
pub(crate) const PARTIAL_INTERVAL_MS: u64 = 200;

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
    let buckets = BUCKETS.max(2 * n);
    let width = ((hi - lo + 1) as f64 / buckets as f64).max(1.0);
    let bucket = |t: i64| (((t - lo) as f64 / width) as usize).min(buckets - 1);
    let mut hist = vec![0.0f64; buckets];
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
                // Only sizes are needed: no message is read; inside the query's range only the
                // totals matter.
                let inside = p.from >= self.ctx.start_ms && p.to <= self.ctx.end_ms;
                let r = if inside {
                    self.store
                        .totals(self.scope, p.group, p.from, p.to)
                        .map(|(n, bytes)| exec.count_skipped_many(n, bytes))
                } else {
                    self.store
                        .scan_sizes(self.scope, p.group, p.from, p.to, |t, n| {
                            exec.count_skipped(t, n);
                            !self.cancel.load(Ordering::Relaxed)
                        })
                        .map(|_| ())
                };
                if let Err(e) = r {
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
                        // (The runtime's blocking threads' stack: deep expressions evaluate
                        // here too.)
                        std::thread::Builder::new()
                            .name("insights-scan".into())
                            .stack_size(SCAN_STACK)
                            .spawn_scoped(s, move || {
                                let mut mine = self.query.start(self.ctx);
                                let mut seen = 0;
                                while let Some(p) = pieces.get(next.fetch_add(1, Ordering::Relaxed))
                                {
                                    if !self.piece(
                                        p,
                                        &mut mine,
                                        &mut seen,
                                        w == 0,
                                        timed_out,
                                        failed,
                                    ) {
                                        break;
                                    }
                                }
                                mine
                            })
                    })
                    .collect();
                // A worker that could not start or that panicked fails the query: its pieces'
                // rows would be missing from a result that looks complete.
                let mut parts = Vec::new();
                for h in handles {
                    match h
                        .map_err(|e| e.to_string())
                        .and_then(|h| h.join().map_err(|_| "a scan worker panicked".to_string()))
                    {
                        Ok(part) => parts.push(part),
                        Err(why) => {
                            if let Ok(mut f) = failed.lock() {
                                f.get_or_insert(StoreError::Storage(format!(
                                    "the query's scan failed: {why}"
                                )));
                            }
                        }
                    }
                }
                parts
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

    /// Hands `exec` to the partial-results hook if they are due.
    fn publish(&self, exec: &insights::Execution) {
        let now = self.started.elapsed().as_millis() as u64;
        if now >= self.next_partial.load(Ordering::Relaxed) {
            self.next_partial
                .store(now + PARTIAL_INTERVAL_MS, Ordering::Relaxed);
            (self.partial)(exec);
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
        // (Past the held-rows bound the query fails: no more pieces for this worker.)
        if stop() || exec.overflowed() {
            return false;
        }
        let log = format!("{}:{}", self.scope.account, p.group);
        let needs_ptr = self.query.needs_ptr();
        let mut ptr = String::new();
        // Before each record: whether the run may go on.
        let go_on = |seen: u64| {
            if self.cancel.load(Ordering::Relaxed) || timed_out.load(Ordering::Relaxed) {
                return false;
            }
            if seen.is_multiple_of(4096) && self.started.elapsed() > self.timeout {
                timed_out.store(true, Ordering::Relaxed);
                return false;
            }
            true
        };
        // Feeds one record (its discovered fields from columns, or its message).
        // `passed`: the record is known to pass the leading filters.
        let mut feed = |exec: &mut insights::Execution,
                        seen: &mut u64,
                        stream: &str,
                        e: &ScanEvent<'_>,
                        passed: bool| {
            // A record too old for a newest-rows run is only counted (no `@ptr`, no row).
            if !exec.skip_older(e.timestamp, e.message_len) {
                if needs_ptr {
                    ptr = crate::queries::encode_ptr(p.group, stream, e.timestamp, e.seq);
                }
                let (message, values) = match e.fields {
                    ScanFields::Columns { values, .. } => ("", Some(values)),
                    ScanFields::Message(m) => (m, None),
                };
                let r = insights::Record {
                    timestamp: e.timestamp,
                    ingestion_time: e.ingestion_time,
                    message,
                    log_stream: stream,
                    log: &log,
                    ptr: &ptr,
                    flat: e.flat,
                };
                match values {
                    Some(v) => exec.push_fields(&r, e.message_len, v),
                    None if passed => exec.push_passed(&r),
                    None => exec.push(&r),
                }
            }
            *seen += 1;
            if publish && seen.is_multiple_of(self.partial_every) {
                self.publish(exec);
            }
        };
        let r = if exec.reads_message_blocks() {
            // A `stats` run starting with a `parse` of the messages: blocks go in whole, as
            // their messages (the columns are built from what the parse finds).
            self.store
                .scan_blocks(self.scope, p.group, p.from, p.to, |v| {
                    if !go_on(0) {
                        return false;
                    }
                    let before = *seen;
                    exec.push_messages(
                        v.events
                            .iter()
                            .map(|e| (e.timestamp, v.event(e).message, e.flat)),
                    );
                    *seen += v.events.len() as u64;
                    if publish && before / self.partial_every != *seen / self.partial_every {
                        self.publish(exec);
                    }
                    true
                })
        } else if exec.reads_blocks() {
            // A `stats` run over discovered fields: blocks go in whole, as the columns the
            // store keeps or as columns built from their messages.
            let wanted = exec
                .column_fields()
                .map(<[String]>::to_vec)
                .unwrap_or_default();
            self.store
                .scan_field_blocks(self.scope, p.group, p.from, p.to, &wanted, |part| {
                    if !go_on(0) {
                        return false;
                    }
                    let before = *seen;
                    let b = match part {
                        // A head's event: as a record.
                        FieldPart::Messages(v) if v.events.len() == 1 => {
                            let ev = v.scan_event(&v.events[0]);
                            feed(exec, seen, v.stream, &ev, false);
                            return true;
                        }
                        FieldPart::Messages(v) => {
                            exec.push_messages(
                                v.events
                                    .iter()
                                    .map(|e| (e.timestamp, v.event(e).message, e.flat)),
                            );
                            *seen += v.events.len() as u64;
                            if publish && before / self.partial_every != *seen / self.partial_every
                            {
                                self.publish(exec);
                            }
                            return true;
                        }
                        FieldPart::Columns(b) => b,
                    };
                    let columns: Vec<insights::Column<'_>> = b
                        .columns
                        .iter()
                        .map(|c| match *c {
                            Column::Dict { text, ends, codes } => {
                                insights::Column::Dict { text, ends, codes }
                            }
                            Column::Int(v) => insights::Column::Int(v),
                            Column::Absent => insights::Column::Absent,
                        })
                        .collect();
                    exec.push_block(&insights::Block {
                        timestamps: b.timestamps,
                        offsets: b.offsets,
                        columns: &columns,
                        entry_ids: Default::default(),
                    });
                    *seen += b.timestamps.len() as u64;
                    if publish && before / self.partial_every != *seen / self.partial_every {
                        self.publish(exec);
                    }
                    true
                })
                .map(|_| ())
        } else if let Some(wanted) = exec.column_fields().map(<[String]>::to_vec) {
            // Only discovered fields are read: from the blocks' columns where they are kept.
            // Leading filters over a few of them are decided once per distinct combination of
            // their values in a block; records they reject are only counted.
            let inputs = exec
                .leading_filter_inputs()
                .filter(|i| !i.is_empty() && i.len() <= MEMO_INPUTS);
            let mut memo = FilterMemo::default();
            self.store
                .scan_fields(self.scope, p.group, p.from, p.to, &wanted, |stream, e| {
                    if !go_on(*seen) {
                        return false;
                    }
                    if let (
                        Some(inputs),
                        ScanFields::Columns {
                            values,
                            keys,
                            block,
                        },
                    ) = (&inputs, e.fields)
                    {
                        let pass = memo.decide(block, inputs, keys, || {
                            exec.leading_filters_pass(inputs, values)
                        });
                        if !pass {
                            exec.count_unmatched(e.timestamp, e.message_len);
                            *seen += 1;
                            return true;
                        }
                    }
                    feed(exec, seen, stream, &e, false);
                    true
                })
                .map(|_| ())
        } else if exec.searches_texts() {
            // Leading `@message` filters: each block's text is searched once, and only the
            // records it may match are pushed; the others are counted as scanned.
            let mut picked = Vec::new();
            let mut spans = Vec::new();
            self.store
                .scan_blocks(self.scope, p.group, p.from, p.to, |b| {
                    spans.clear();
                    spans.extend(b.events.iter().map(|e| e.span));
                    let all = !exec.candidates(b.text, &spans, &mut picked);
                    let mut next = picked.iter().copied().peekable();
                    for (i, e) in b.events.iter().enumerate() {
                        if !go_on(*seen) {
                            return false;
                        }
                        let pick = next.next_if(|(j, _)| *j == i);
                        if all || pick.is_some() {
                            let ev = b.scan_event(e);
                            feed(
                                exec,
                                seen,
                                b.stream,
                                &ev,
                                pick.is_some_and(|(_, sure)| sure),
                            );
                        } else {
                            exec.count_unmatched(e.timestamp, (e.span.1 - e.span.0) as usize);
                            *seen += 1;
                        }
                    }
                    true
                })
        } else {
            // A newest-first run reads a few blocks and the next run will read them again:
            // they are kept inflated.
            let keep = exec.newest_first();
            self.store
                .scan_keeping(
                    self.scope,
                    p.group,
                    p.from,
                    p.to,
                    keep,
                    |stream, e, flat| {
                        go_on(*seen) && {
                            let ev = ScanEvent {
                                timestamp: e.timestamp,
                                ingestion_time: e.ingestion_time,
                                seq: e.seq,
                                message_len: e.message.len(),
                                flat,
                                fields: ScanFields::Message(e.message),
                            };
                            feed(exec, seen, stream, &ev, false);
                            true
                        }
                    },
                )
                .map(|_| ())
        };
        if let Err(e) = r {
            if let Ok(mut f) = failed.lock() {
                f.get_or_insert(e);
            }
            return false;
        }
        !stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nephoscope_clock::ManualClock;
    use nephoscope_logstore::{Mutation, Policy};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    const NOW: i64 = 1_790_000_000_000;

    /// Messages of every kind discovery meets: flat and nested JSON, arrays, a literal dotted
    /// key next to the nested one, `@` keys, escapes, numbers serde_json rewrites, booleans,
    /// nulls, high-cardinality text, and lines that are not JSON.
    fn message(i: u64) -> String {
        let route = ["/a", "/b/c", "/d"][(i % 3) as usize];
        match i % 11 {
            0 => format!("plain text line {i} status=500"),
            1 => format!(
                r#"{{"status":{},"route":"{route}","latency":{},"nested":{{"a":{{"b":{}}}}},"tags":["x{}","y"]}}"#,
                200 + (i % 4) * 100,
                i * 7 % 1000,
                i % 5,
                i % 2
            ),
            2 => format!(
                r#"{{"status":500,"route":"{route}","a.b":"dotted","a":{{"b":"nested"}},"user":"u{i}"}}"#
            ),
            3 => format!(
                r#"{{"@x":"at {i}","status":"{}","msg":"say \"hi\" \u00e9","route":"{route}"}}"#,
                i % 3
            ),
            4 => format!(
                r#"{{"latency":{}.5,"big":1e3,"neg":-0,"flag":{},"none":null,"route":"{route}"}}"#,
                i % 50,
                i.is_multiple_of(2)
            ),
            5 => "{\"unterminated\": ".to_string(),
            _ => format!(
                r#"{{"status":{},"route":"{route}","latency":{},"user":"user-{:05}","n":{},"e":"{}","f":"{}"}}"#,
                [200, 404, 500, 503][(i % 4) as usize],
                i * 13 % 997,
                i * 31 % 4_000,
                i,
                ["", "x", ""][(i % 3) as usize],
                ["", "", "y"][(i % 3) as usize],
            ),
        }
    }

    async fn store(dir: &std::path::Path, fields: bool) -> LogStore {
        let clock: nephoscope_clock::SharedClock = Arc::new(ManualClock::new(NOW));
        let policy = Policy {
            fields: fields
                .then(|| Arc::new(FieldDiscovery) as nephoscope_logstore::fields::Extractor),
            ..Policy::default()
        };
        let store = LogStore::open_with(dir, clock, policy).unwrap();
        let scope = scope();
        store
            .mutate(Mutation::CreateGroup {
                scope: scope.clone(),
                name: "g".into(),
                creation_time: NOW,
                class: "STANDARD".into(),
                kms_key_id: None,
                deletion_protection: false,
                tags: BTreeMap::new(),
            })
            .await
            .unwrap();
        for stream in ["s1", "s2"] {
            store
                .mutate(Mutation::CreateStream {
                    scope: scope.clone(),
                    group: "g".into(),
                    name: stream.into(),
                    creation_time: NOW,
                })
                .await
                .unwrap();
        }
        let put = |stream: &str, from: u64, to: u64| Mutation::PutEvents {
            scope: scope.clone(),
            group: "g".into(),
            stream: stream.into(),
            ingestion_time: NOW,
            events: (from..to)
                .map(|i| (NOW - 3_600_000 + i as i64 * 300, message(i)))
                .collect(),
        };
        store.mutate(put("s1", 0, 6_000)).await.unwrap();
        store.mutate(put("s2", 6_000, 9_000)).await.unwrap();
        store.maintain(true).await.unwrap();
        // Some events stay in the head.
        store.mutate(put("s1", 9_000, 9_500)).await.unwrap();
        store
    }

    type Rows = Vec<Vec<(String, String)>>;

    /// A query's rows and statistics, and whether it read columns (record by record or a
    /// block at a time).
    fn run(store: &LogStore, text: &str) -> (Rows, insights::Stats, bool) {
        let (rows, stats, columns, _) = run_with(store, text);
        (rows, stats, columns)
    }

    /// [`run`], also telling whether the run took whole blocks of columns.
    fn scope() -> Scope {
        Scope {
            account: "000000000000".into(),
            region: "us-east-1".into(),
        }
    }

    /// The last hour, every test query's range.
    const CTX: insights::QueryContext = insights::QueryContext {
        start_ms: NOW - 3_600_000,
        end_ms: NOW,
        now_ms: NOW,
        limit: 10_000,
    };

    fn run_with(store: &LogStore, text: &str) -> (Rows, insights::Stats, bool, bool) {
        let query = insights::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        let (scope, ctx) = (scope(), CTX);
        let mut exec = query.start(ctx);
        let columns = exec.column_fields().is_some();
        let blocks = exec.reads_blocks();
        let cancel = AtomicBool::new(false);
        let outcome = Feed {
            store,
            scope: &scope,
            query: &query,
            ctx,
            cancel: &cancel,
            started: Instant::now(),
            timeout: Duration::from_secs(600),
            partial: &|_| {},
            partial_every: u64::MAX,
            next_partial: AtomicU64::new(0),
        }
        .run(&["g".to_string()], &query.scan_ranges(&ctx), &mut exec);
        assert!(outcome.failed.is_none() && !outcome.timed_out, "{text}");
        (exec.rows(), exec.stats(), columns, blocks)
    }

    /// The reference: every record pushed one by one with its message, in store order.
    fn run_records(store: &LogStore, text: &str) -> (Rows, insights::Stats) {
        let query = insights::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        let (scope, ctx) = (scope(), CTX);
        let mut exec = query.start(ctx);
        store
            .scan(&scope, "g", ctx.start_ms, ctx.end_ms, |stream, e| {
                let ptr = crate::queries::encode_ptr("g", stream, e.timestamp, e.seq);
                exec.push(&insights::Record {
                    timestamp: e.timestamp,
                    ingestion_time: e.ingestion_time,
                    message: e.message,
                    log_stream: stream,
                    log: "000000000000:g",
                    ptr: &ptr,
                    flat: false,
                });
                true
            })
            .unwrap();
        (exec.rows(), exec.stats())
    }

    /// Every query answers the same whether the discovered fields come from the blocks'
    /// columns, from columns built from the messages, or record by record.
    #[tokio::test]
    async fn column_reads_answer_as_message_reads() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let with = store(a.path(), true).await;
        let without = store(b.path(), false).await;
        let queries = [
            "stats count(*) by status",
            "stats avg(latency), pct(latency, 50), min(latency), max(latency) by route",
            "filter status >= 500 | stats count(*) by bin(5m)",
            "stats count_distinct(user) by route",
            "stats count_distinct(user), count_distinct(route), count_distinct(n) by status",
            "filter status >= 500 | stats count_distinct(user) by bin(10m)",
            "stats histogram(latency, 5), histogram(n, 3) by route",
            // Leading @message filters decided on the raw text: the rows after them.
            "filter @message like /(?i)USER-00/ | stats count(*) by route",
            r#"filter @message like "user-001" | stats count(*), count_distinct(user)"#,
            "filter @message like /user/ | stats count(*) by strlen(@message) % 5",
            "filter @message like /user/ | stats count(*) by @logStream, bin(30m)",
            "stats rate(n, 1m), count_over_time(user), sum_over_time(latency) by bin(30m)",
            "stats count(*) by `a.b`, nested.a.b",
            "filter ispresent(tags.0) | stats count(*) by tags.0, tags.1",
            "stats count(*) by `@@x`, msg",
            "stats count(*), sum(big), sum(neg) by flag",
            "filter isblank(none) | stats count(*)",
            "fields user, latency | filter user like /user-000/ | sort user asc, latency desc, @timestamp asc | limit 40",
            "fields route, n | sort n desc | limit 25",
            "filter n < 300 | fields n, route | sort n asc | limit 20",
            "stats sum(n), min(n), max(n), count(n) by route",
            "parse route '/*/*' as p1, p2 | stats count(*) by p1, p2",
            "stats latest(user), earliest(route) by status",
            "display status, @logStream | sort @timestamp desc | limit 15",
            "sort @timestamp desc | limit 7",
            "limit 12",
            "filter status = 404 or route = '/d' | stats count(*) by status, route",
            "stats count(*) by unterminated",
            "filter e = '' | stats count(*) by f",
            "filter f != '' or e = 'x' | stats count(*) by status",
            "filter isblank(e) and status >= 500 | stats count(*) by route",
            "filter status = 404 and bin(10m) > 0 | stats count(*) by bin(10m)",
            "filter route = '/a' and toMillis(bin(1h)) % 7200000 = 0 | stats count(*) by route",
            // Stats taking whole blocks: integer and dictionary columns, absent fields,
            // computed keys and arguments, several keys with a time bin, calendar bins.
            "stats count_distinct(latency), min(latency), max(status), sortsFirst(route) by route",
            "stats stddev(latency), avg(n), pct(n, 90), count(latency) by bin(30m), route",
            "filter route in ['/a', '/d'] and latency > 100 | stats count(*), count(user), sum(latency) by status",
            "stats count(*) by latency % 3",
            "stats sum(latency * 2), avg(strlen(user)), count_distinct(e) by tags.0",
            "stats count(*), max(n) by bin(1mo)",
            "filter n > 100 | stats pct(n, 99), count(*) by bin(7m)",
            "filter flag = 'true' | stats count(*), sum(neg) by none",
            "stats count(*) as c, avg(latency) as a by status, route | sort c desc | limit 5",
            "stats count(*) by status | stats count(*) as statuses",
            "filter missing > 1 or status = 500 | stats count(*) by route",
            "stats sum(missing), count(missing), count(*) by route",
            "stats count(*) by `a.b`",
            "stats count_distinct(`a.b`), count(*) by route",
            "stats count_distinct(status), pct(status, 95), pct(status, 5), pct(status, 99.9) by route",
            "stats pct(status, 10), pct(status, 25), pct(status, 40), pct(status, 60), pct(status, 75) by route",
            "stats sum(status), avg(status), pct(status, 50), count(status), count(e), stddev(big) by route",
            // A `parse` of the messages first: its captures, and the discovered fields of
            // its names where it finds nothing.
            r#"parse @message /"route":"(?<r>[^"]+)".*"latency":(?<l>\d+)/ | stats avg(l), count(*) by r"#,
            r#"parse @message '"status":*,' as status | stats count(*) by status"#,
            r#"parse @message /user-(?<u>\d+)/ | filter u > 100 | stats count(*), count(u) by route"#,
            r#"parse @message /"(?<route>\/[a-z]+)"/ | stats count(*) by route, status"#,
            r#"parse @message /"n":(?<n>\d+),"e/ | stats sum(n), count(*) by route, bin(20m)"#,
            r#"parse @message /"latency":(?<latency>\d+)\.(?<frac>\d)/ | stats count(*), sum(latency) by frac"#,
        ];
        let (mut used, mut blocks) = (0, 0);
        for q in queries {
            let (rows_a, stats_a, columns, whole) = run_with(&with, q);
            let (rows_b, stats_b, _) = run(&without, q);
            let (rows_c, stats_c) = run_records(&without, q);
            assert_eq!(rows_a, rows_b, "{q}");
            assert_eq!(stats_a, stats_b, "{q}");
            assert_eq!(rows_b, rows_c, "{q}: record by record");
            assert_eq!(stats_b, stats_c, "{q}: record by record");
            assert!(!rows_a.is_empty(), "{q} answers something");
            used += usize::from(columns);
            blocks += usize::from(whole);
        }
        assert!(used >= 12, "most of the table reads columns ({used})");
        assert!(blocks >= 18, "most stats take whole blocks ({blocks})");
        // ...and the columns are there to be read: only in the store that keeps them.
        let scope = scope();
        let wanted = ["status".to_string(), "route".to_string()];
        let from_columns = |store: &LogStore| {
            let mut n = 0;
            store
                .scan_fields(&scope, "g", i64::MIN, i64::MAX, &wanted, |_, e| {
                    n += usize::from(matches!(e.fields, ScanFields::Columns { .. }));
                    true
                })
                .unwrap();
            n
        };
        assert_eq!(from_columns(&with), 9_000, "every flushed event");
        assert_eq!(from_columns(&without), 0);
        // Leading `@message` filters search whole blocks: the same answers and statistics as
        // the same filter written so that it searches message by message.
        for (re, q) in [
            ("/status=500/", "stats count(*)"),
            ("/(?i)USER-000[0-9]+/", "stats count(*) by route"),
            ("/(?i)USER-0001[0-4]\"/", "stats count(*) by route"),
            ("/(?i)\"ROUTE\":\"\\/[ab]/", "stats count(*) by route"),
            ("'\\\"hi'", "fields msg | sort @timestamp desc | limit 5"),
            ("/0,\"tags\":\\[\"x1/", "stats count(*), sum(latency)"),
            ("/user-.*\"n\":1/", "stats count(*)"),
            ("/^\\{\"status\":5/", "stats count(*)"),
            ("'}{'", "stats count(*)"),
        ] {
            let block = format!("filter @message like {re} | {q}");
            let single = format!("filter (@message like {re} or 1 = 2) | {q}");
            for store in [&with, &without] {
                let (rows_a, stats_a, _) = run(store, &block);
                let (rows_b, stats_b, _) = run(store, &single);
                assert_eq!((&rows_a, stats_a), (&rows_b, stats_b), "{block}");
            }
        }
        // Queries reading the message never take the column path.
        for q in [
            "filter @message like /status=500/ | stats count(*)",
            "fields @message | limit 3",
        ] {
            let (rows_a, stats_a, columns) = run(&with, q);
            assert!(!columns, "{q}");
            assert_eq!(
                (rows_a, stats_a),
                {
                    let (r, s, _) = run(&without, q);
                    (r, s)
                },
                "{q}"
            );
        }
    }
}
