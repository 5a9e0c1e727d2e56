//! Reads: events of the in-memory heads and of segment files (decoded through a bounded cache),
//! merged in (timestamp, seq) order.

use crate::fields::Column;
use crate::segment::{self, Decoded, EventRef, SegmentMeta};
use crate::state::{Event, Rejection, Scope, Stream};
use crate::{Cursor, FilterPage, FilterQuery, FoundEvent, LogStore, StoreError, StreamSelection};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// Decoded segments, evicted oldest-inserted first beyond a byte budget (their memory as it
/// is when a segment is added: blocks kept inflated by single-event reads count); and the
/// per-stream totals of every segment decoded once (a few dozen bytes each, kept apart from
/// the budget).
pub(crate) struct SegmentCache {
    budget: usize,
    map: HashMap<String, Arc<Decoded>>,
    order: VecDeque<String>,
    totals: HashMap<String, Arc<[StreamTotals]>>,
}

/// Most segment totals kept; beyond it they are dropped and rebuilt as segments are read.
const MAX_TOTALS: usize = 1 << 20;

/// One stream's share of a segment: events, message bytes and the lowest seq.
#[derive(Debug, Clone)]
struct StreamTotals {
    stream: String,
    events: u64,
    bytes: u64,
    min_seq: u64,
}

fn totals_of(d: &Decoded) -> Arc<[StreamTotals]> {
    d.streams
        .iter()
        .map(|(stream, r)| StreamTotals {
            stream: stream.clone(),
            events: r.len() as u64,
            bytes: r.clone().map(|k| d.message_len(k) as u64).sum(),
            min_seq: r.clone().map(|k| d.seq(k)).min().unwrap_or(u64::MAX),
        })
        .collect()
}

impl SegmentCache {
    pub fn new(budget: usize) -> Self {
        SegmentCache {
            budget,
            map: HashMap::new(),
            order: VecDeque::new(),
            totals: HashMap::new(),
        }
    }

    fn get(&self, key: &str) -> Option<Arc<Decoded>> {
        self.map.get(key).cloned()
    }

    fn insert(&mut self, key: String, d: Arc<Decoded>, totals: Arc<[StreamTotals]>) {
        if self.totals.len() >= MAX_TOTALS {
            self.totals.clear();
        }
        self.totals.insert(key.clone(), totals);
        if self.map.insert(key.clone(), d).is_none() {
            self.order.push_back(key);
        }
        self.trim();
    }

    /// Drops the oldest segments while the cache holds more than its budget (what they hold
    /// grows as reads keep blocks and columns in them).
    fn trim(&mut self) {
        let mut used: usize = self.map.values().map(|d| d.size()).sum();
        while used > self.budget && self.order.len() > 1 {
            if let Some(old) = self.order.pop_front() {
                if let Some(d) = self.map.remove(&old) {
                    used -= d.size().min(used);
                }
            }
        }
    }
}

/// Most blocks one scan keeps inflated ([`LogStore::scan_keeping`]): a scan that reads more is
/// not one that reads a few blocks again and again.
const KEPT_BLOCKS: usize = 16;

/// Where a single-stream read starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StreamRead {
    /// The oldest events of the range.
    Head,
    /// The newest events of the range.
    Tail,
    /// Events strictly after a position.
    After(Cursor),
    /// Events strictly before a position.
    Before(Cursor),
}

fn found(stream: &str, e: EventRef<'_>) -> FoundEvent {
    FoundEvent {
        stream: stream.to_string(),
        timestamp: e.timestamp,
        ingestion_time: e.ingestion_time,
        seq: e.seq,
        message: e.message.to_string(),
    }
}

/// Events of one stream sorted by (timestamp, seq): a head slice or a range of a decoded
/// segment, read in place.
#[derive(Clone, Copy)]
enum Source<'a> {
    Head(&'a [Event]),
    Segment(&'a Decoded, usize, usize),
}

impl<'a> Source<'a> {
    fn len(&self) -> usize {
        match self {
            Source::Head(e) => e.len(),
            Source::Segment(_, a, b) => b - a,
        }
    }

    fn get(&self, i: usize) -> EventRef<'a> {
        match *self {
            Source::Head(e) => EventRef::from(&e[i]),
            Source::Segment(d, a, _) => d.event(a + i),
        }
    }

    fn key(&self, i: usize) -> Cursor {
        match *self {
            Source::Head(e) => (e[i].timestamp, e[i].seq),
            Source::Segment(d, a, _) => (d.timestamp(a + i), d.seq(a + i)),
        }
    }

    /// The first index whose (timestamp, seq) does not satisfy `below`.
    fn partition(&self, below: impl Fn(Cursor) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if below(self.key(mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// The best `limit` events seen so far in page order, plus one to know whether more follow.
struct Page {
    limit: usize,
    descending: bool,
    /// Max-heap on the page-order key: the top is the first candidate to drop.
    heap: std::collections::BinaryHeap<(i128, i128, usize)>,
    events: Vec<Option<FoundEvent>>,
}

impl Page {
    fn new(limit: usize, descending: bool) -> Page {
        Page {
            limit,
            descending,
            heap: std::collections::BinaryHeap::new(),
            events: Vec::new(),
        }
    }

    /// The key in page order: smaller comes first.
    fn order(&self, c: Cursor) -> (i128, i128) {
        let (t, s) = (i128::from(c.0), i128::from(c.1));
        if self.descending {
            (-t, -s)
        } else {
            (t, s)
        }
    }

    /// Whether an event at `c` could still make the page (or be its "one more").
    fn could_take(&self, c: Cursor) -> bool {
        if self.heap.len() <= self.limit || self.limit == usize::MAX {
            return true;
        }
        let (a, b) = self.order(c);
        self.heap.peek().is_some_and(|top| (a, b) < (top.0, top.1))
    }

    fn push(&mut self, c: Cursor, e: FoundEvent) {
        let (a, b) = self.order(c);
        self.events.push(Some(e));
        self.heap.push((a, b, self.events.len() - 1));
        if self.heap.len() > self.limit.saturating_add(1) {
            if let Some((_, _, i)) = self.heap.pop() {
                self.events[i] = None;
            }
        }
    }

    /// The page in order, and the cursor to continue from when more events follow.
    fn finish(mut self) -> (Vec<FoundEvent>, Option<Cursor>) {
        let mut keyed: Vec<((i128, i128), FoundEvent)> = self
            .heap
            .drain()
            .filter_map(|(a, b, i)| self.events[i].take().map(|e| ((a, b), e)))
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        let more = keyed.len() > self.limit;
        keyed.truncate(self.limit);
        let events: Vec<FoundEvent> = keyed.into_iter().map(|(_, e)| e).collect();
        let next = if more {
            events.last().map(|e| (e.timestamp, e.seq))
        } else {
            None
        };
        (events, next)
    }
}

impl LogStore {
    pub(crate) fn segment(&self, meta: &SegmentMeta) -> Result<Arc<Decoded>, StoreError> {
        if let Some(d) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&meta.key)
        {
            return Ok(d);
        }
        let bytes = self
            .blobs
            .get(&meta.key)
            .map_err(|e| StoreError::Storage(format!("segment {}: {e}", meta.key)))?;
        let d = Arc::new(
            segment::decode(&meta.key, bytes).map_err(|e| StoreError::Storage(e.to_string()))?,
        );
        let totals = totals_of(&d);
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(
            meta.key.clone(),
            d.clone(),
            totals,
        );
        Ok(d)
    }

    /// Events matching `q` across the group's streams, in (timestamp, seq) order (or the
    /// reverse with `q.descending`).
    ///
    /// Sources (each stream's head, each segment's range of each stream) are read one at a
    /// time, keeping only the best `limit + 1` candidates in a heap: memory stays bounded by the
    /// page, not by the data, and a source stops as soon as its next event cannot make the page.
    pub fn filter(
        &self,
        scope: &Scope,
        group: &str,
        q: &FilterQuery<'_>,
    ) -> Result<FilterPage, StoreError> {
        let (streams, metas, floor) = {
            let st = self.read();
            let g = st.group(scope, group).ok_or(Rejection::GroupNotFound)?;
            let streams: Vec<Stream> = match &q.streams {
                StreamSelection::All => g.streams.values().cloned().collect(),
                StreamSelection::Prefix(p) => g
                    .streams
                    .range(p.clone()..)
                    .take_while(|(n, _)| n.starts_with(p.as_str()))
                    .map(|(_, s)| s.clone())
                    .collect(),
                StreamSelection::Names(names) => names
                    .iter()
                    .filter_map(|n| g.streams.get(n).cloned())
                    .collect(),
            };
            let metas: Vec<SegmentMeta> = g.segments.clone();
            (streams, metas, self.retention_floor(g))
        };
        let lo = q.start.max(floor).unwrap_or(i64::MIN);
        let hi = q.end.unwrap_or(i64::MAX);
        let mut page = Page::new(q.limit, q.descending);
        // The indexes of `src` inside the time range and after the cursor.
        let bounds = |src: &Source<'_>| {
            let mut i = src.partition(|(t, _)| t < lo);
            let mut j = src.partition(|(t, _)| t <= hi);
            if let Some(c) = q.after {
                if q.descending {
                    j = j.min(src.partition(|k| k < c));
                } else {
                    i = i.max(src.partition(|k| k <= c));
                }
            }
            (i, j)
        };
        let consider = |src: Source<'_>, s: &Stream, page: &mut Page| {
            let (i, j) = bounds(&src);
            let mut visit = |k: usize| -> bool {
                let key = src.key(k);
                if !page.could_take(key) {
                    return false;
                }
                let e = src.get(k);
                // Events of an earlier stream of the same name (deleted, re-created) stay hidden.
                if e.seq >= s.first_seq && q.pattern.is_none_or(|p| p(e.message)) {
                    page.push(key, found(&s.name, e));
                }
                true
            };
            if q.descending {
                for k in (i..j).rev() {
                    if !visit(k) {
                        break;
                    }
                }
            } else {
                for k in i..j {
                    if !visit(k) {
                        break;
                    }
                }
            }
        };
        // The longest literal every match contains is the one most likely to be rare: each block
        // is searched for it in one pass, and only the messages holding it are matched in full.
        let finder = q
            .required
            .iter()
            .max_by_key(|t| t.len())
            .map(|t| memchr::memmem::Finder::new(t.as_bytes()));
        let needles = segment::Needles::new(q.required);
        let mut scratch = segment::Scratch::default();
        let mut candidates = Vec::new();
        // One stream's range `r` of a segment under a pattern, block by block: blocks whose
        // blooms rule out a required term are never decompressed, the others are decompressed
        // into a reused buffer and searched in one pass.
        let mut consider_blocks = |d: &Decoded,
                                   r: std::ops::Range<usize>,
                                   s: &Stream,
                                   pattern: &(dyn Fn(&str) -> bool + Sync),
                                   page: &mut Page| {
            let (i, j) = bounds(&Source::Segment(d, r.start, r.end));
            let (from, to) = (r.start + i, r.start + j);
            if from >= to {
                return;
            }
            let (first, last) = (d.block_of(from), d.block_of(to - 1));
            let mut blocks = first..=last;
            let mut next_block = || {
                if q.descending {
                    blocks.next_back()
                } else {
                    blocks.next()
                }
            };
            while let Some(blk) = next_block() {
                let events = d.block_events(blk);
                let events = events.start.max(from)..events.end.min(to);
                let lead = if q.descending {
                    events.end - 1
                } else {
                    events.start
                };
                if !page.could_take((d.timestamp(lead), d.seq(lead))) {
                    return;
                }
                if !needles.is_empty() && !d.block_may_contain(blk, &needles) {
                    continue;
                }
                let bytes = d.block_bytes(blk, &mut scratch);
                candidates.clear();
                // Every message is read: validate the block as UTF-8 once, not per message.
                let mut text = None;
                match &finder {
                    Some(f) => d.find_in_block(blk, bytes, events.clone(), f, &mut candidates),
                    None => {
                        text = simdutf8::basic::from_utf8(bytes).ok();
                        candidates.extend(events.clone());
                    }
                }
                let mut take = |k: usize| -> bool {
                    let key = (d.timestamp(k), d.seq(k));
                    if !page.could_take(key) {
                        return false;
                    }
                    let span = d.message_span(blk, k);
                    let message = match text {
                        Some(t) => t.get(span),
                        None => bytes.get(span).and_then(|m| std::str::from_utf8(m).ok()),
                    }
                    .unwrap_or_default();
                    if d.seq(k) >= s.first_seq && pattern(message) {
                        let e = EventRef {
                            timestamp: key.0,
                            ingestion_time: d.ingestion_time(k),
                            seq: key.1,
                            message,
                        };
                        page.push(key, found(&s.name, e));
                    }
                    true
                };
                let complete = if q.descending {
                    candidates.iter().rev().all(|&k| take(k))
                } else {
                    candidates.iter().all(|&k| take(k))
                };
                if !complete {
                    return;
                }
            }
        };
        // Segments in time order, so the page fills early and later sources stop at once.
        let mut metas: Vec<&SegmentMeta> = metas
            .iter()
            .filter(|m| m.max_ts >= lo && m.min_ts <= hi)
            .filter(|m| streams.iter().any(|s| m.streams.contains(&s.name)))
            .collect();
        if q.descending {
            metas.sort_by_key(|m| std::cmp::Reverse(m.max_ts));
        } else {
            metas.sort_by_key(|m| m.min_ts);
        }
        for m in metas {
            let bound = if q.descending { m.max_ts } else { m.min_ts };
            if !page.could_take((bound, if q.descending { u64::MAX } else { 0 })) {
                continue;
            }
            let d = self.segment(m)?;
            for s in &streams {
                if let Some(r) = d.stream(&s.name) {
                    match q.pattern {
                        Some(p) => consider_blocks(&d, r, s, p, &mut page),
                        None => consider(Source::Segment(&d, r.start, r.end), s, &mut page),
                    }
                }
            }
        }
        for s in &streams {
            consider(Source::Head(&s.events), s, &mut page);
        }
        let (events, next) = page.finish();
        Ok(FilterPage {
            events,
            next,
            searched_streams: streams.iter().map(|s| s.name.clone()).collect(),
        })
    }

    /// Up to `limit` visible events of one stream within [start, end), in ascending order,
    /// from the place `at` says (GetLogEvents' head, tail and token semantics).
    #[allow(clippy::too_many_arguments)]
    pub fn stream_events(
        &self,
        scope: &Scope,
        group: &str,
        stream: &str,
        start: Option<i64>,
        end: Option<i64>,
        at: StreamRead,
        limit: usize,
    ) -> Result<Vec<FoundEvent>, StoreError> {
        {
            let st = self.read();
            let g = st.group(scope, group).ok_or(Rejection::GroupNotFound)?;
            g.streams.get(stream).ok_or(Rejection::StreamNotFound)?;
        }
        let (descending, after) = match at {
            StreamRead::Head => (false, None),
            StreamRead::Tail => (true, None),
            StreamRead::After(c) => (false, Some(c)),
            StreamRead::Before(c) => (true, Some(c)),
        };
        let q = FilterQuery {
            streams: StreamSelection::Names(vec![stream.to_string()]),
            start,
            // GetLogEvents' end is exclusive; the filter's is inclusive.
            end: end.map(|e| e.saturating_sub(1)),
            pattern: None,
            limit,
            after,
            descending,
            required: &[],
        };
        let mut events = self.filter(scope, group, &q)?.events;
        if descending {
            events.reverse();
        }
        Ok(events)
    }

    /// Visits every visible event of `group` with a timestamp in [start, end], in no particular
    /// order, until `visit` returns false. Heads are copied and segments pinned first, so the
    /// state lock is not held while visiting (ingestion goes on during long scans). Segment
    /// messages are read block by block through one reused buffer (a scan touches each block
    /// once, so inflated blocks are not kept). Returns the number of events visited.
    pub fn scan(
        &self,
        scope: &Scope,
        group: &str,
        start: i64,
        end: i64,
        mut visit: impl FnMut(&str, EventRef<'_>) -> bool,
    ) -> Result<u64, StoreError> {
        self.scan_keeping(scope, group, start, end, false, |s, e, _| visit(s, e))
    }

    /// [`LogStore::scan`] that keeps the blocks it inflates in the segment cache when `keep`
    /// (for a scan of a few blocks that later reads come back to, such as the newest events).
    pub fn scan_keeping(
        &self,
        scope: &Scope,
        group: &str,
        start: i64,
        end: i64,
        keep: bool,
        mut visit: impl FnMut(&str, EventRef<'_>, bool) -> bool,
    ) -> Result<u64, StoreError> {
        let mut visited = 0;
        self.scan_blocks_with(scope, group, start, end, keep, |b| {
            b.events.iter().all(|e| {
                visited += 1;
                visit(b.stream, b.event(e), e.flat)
            })
        })?;
        Ok(visited)
    }

    /// [`LogStore::scan`] a block at a time: each [`BlockView`] holds the block's text (its
    /// messages concatenated) and the visible events of the range in it, so a caller can search
    /// the whole text at once. Head events come one per view.
    pub fn scan_blocks(
        &self,
        scope: &Scope,
        group: &str,
        start: i64,
        end: i64,
        visit: impl FnMut(&BlockView<'_>) -> bool,
    ) -> Result<(), StoreError> {
        self.scan_blocks_with(scope, group, start, end, false, visit)
    }

    fn scan_blocks_with(
        &self,
        scope: &Scope,
        group: &str,
        start: i64,
        end: i64,
        keep: bool,
        mut visit: impl FnMut(&BlockView<'_>) -> bool,
    ) -> Result<(), StoreError> {
        let view = self.scan_view(scope, group, start, end)?;
        let mut scratch = segment::Scratch::default();
        scratch.keep = if keep { KEPT_BLOCKS } else { 0 };
        let mut events = Vec::new();
        let r = view.walk(self, |part| match part {
            Part::Block(b) => {
                self.blocks_from_messages.fetch_add(1, Relaxed);
                b.view(&mut scratch, &mut events, &mut visit)
            }
            Part::Head(stream, e) => visit(&BlockView::one(stream, e)),
        });
        if keep {
            self.trim_cache();
        }
        r
    }

    /// Holds the segment cache to its budget after reads kept blocks or columns in it.
    fn trim_cache(&self) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).trim();
    }

    /// [`LogStore::scan`] for a reader of discovered fields: an event of a block that keeps
    /// the fields named in `wanted` as columns comes with their values
    /// ([`ScanFields::Columns`], in `wanted` order) and its message is never inflated; any
    /// other event comes with its message ([`ScanFields::Message`]).
    pub fn scan_fields(
        &self,
        scope: &Scope,
        group: &str,
        start: i64,
        end: i64,
        wanted: &[String],
        mut visit: impl FnMut(&str, ScanEvent<'_>) -> bool,
    ) -> Result<u64, StoreError> {
        let view = self.scan_view(scope, group, start, end)?;
        let mut visited = 0;
        let mut scratch = segment::Scratch::default();
        let (mut arena, mut ranges, mut events) = (String::new(), Vec::new(), Vec::new());
        let mut block = 0u64;
        let w = wanted.len();
        view.walk(self, |part| {
            let b = match part {
                Part::Head(stream, e) => {
                    return by_message(&BlockView::one(stream, e), &mut visited, &mut visit);
                }
                Part::Block(b) => b,
            };
            let all = b.d.block_events(b.blk);
            let columns =
                b.d.block_fields(b.blk, Some(wanted), &mut scratch)
                    .is_some_and(|f| f.values(wanted, all.len(), &mut arena, &mut ranges));
            if !columns {
                self.blocks_from_messages.fetch_add(1, Relaxed);
                return b.view(&mut scratch, &mut events, &mut |v| {
                    by_message(v, &mut visited, &mut visit)
                });
            }
            block += 1;
            self.blocks_from_columns.fetch_add(1, Relaxed);
            let mut values: Vec<Option<&str>> = Vec::with_capacity(w);
            let mut keys: Vec<u32> = Vec::with_capacity(w);
            for k in b.range.clone() {
                let seq = b.d.seq(k);
                if seq < b.first_seq {
                    continue;
                }
                let i = k - all.start;
                values.clear();
                values.extend(
                    ranges[i * w..(i + 1) * w]
                        .iter()
                        .map(|r| r.and_then(|(x, y)| arena.get(x as usize..y as usize))),
                );
                keys.clear();
                // A value's start in the arena: dictionary values share theirs, and distinct
                // non-empty values never share one (empty values get a key of their own).
                keys.extend(ranges[i * w..(i + 1) * w].iter().map(|r| match r {
                    None => u32::MAX,
                    Some((x, y)) if x == y => u32::MAX - 1,
                    Some((x, _)) => *x,
                }));
                visited += 1;
                let e = ScanEvent {
                    timestamp: b.d.timestamp(k),
                    ingestion_time: b.d.ingestion_time(k),
                    seq,
                    message_len: b.d.message_len(k),
                    flat: false,
                    fields: ScanFields::Columns {
                        values: &values,
                        keys: &keys,
                        block,
                    },
                };
                if !visit(b.stream, e) {
                    return false;
                }
            }
            true
        })?;
        Ok(visited)
    }

    /// [`LogStore::scan_fields`] a block at a time: the events of a block that keeps every
    /// field of `wanted` as columns come together ([`FieldPart::Columns`]) and no message of
    /// theirs is inflated; the others come with their messages ([`FieldPart::Messages`]: a
    /// block's at once, a head's one by one). Returns the number of events visited.
    pub fn scan_field_blocks(
        &self,
        scope: &Scope,
        group: &str,
        start: i64,
        end: i64,
        wanted: &[String],
        mut visit: impl FnMut(FieldPart<'_>) -> bool,
    ) -> Result<u64, StoreError> {
        let view = self.scan_view(scope, group, start, end)?;
        let mut visited = 0;
        let mut scratch = segment::Scratch::default();
        let mut events = Vec::new();
        let key = wanted.join("\u{0}");
        view.walk(self, |part| {
            let b = match part {
                Part::Head(stream, e) => {
                    visited += 1;
                    return visit(FieldPart::Messages(&BlockView::one(stream, e)));
                }
                Part::Block(b) => b,
            };
            // Events of a deleted stream of the same name may hide among these: the messages
            // are read (the view leaves those events out).
            let kept = (b.d.block_min_seq(b.blk) >= b.first_seq)
                .then(|| b.d.block_columns(b.blk, wanted, &key, &mut scratch))
                .flatten();
            let all = b.d.block_events(b.blk);
            let rel = b.range.start - all.start..b.range.end - all.start;
            let columns: Vec<Column<'_>> = match &kept {
                Some(c) => c
                    .iter()
                    .map(|c| c.as_ref().map_or(Column::Absent, |c| c.column()))
                    .map(|c| c.slice(rel.clone()))
                    .collect(),
                None => {
                    self.blocks_from_messages.fetch_add(1, Relaxed);
                    return b.view(&mut scratch, &mut events, &mut |v| {
                        visited += v.events.len() as u64;
                        visit(FieldPart::Messages(v))
                    });
                }
            };
            self.blocks_from_columns.fetch_add(1, Relaxed);
            visited += b.range.len() as u64;
            visit(FieldPart::Columns(ColumnBlock {
                stream: b.stream,
                timestamps: b.d.timestamps(b.range.clone()),
                offsets: b.d.offsets(b.range.clone()),
                columns: &columns,
            }))
        })?;
        self.trim_cache();
        Ok(visited)
    }

    /// Visits the timestamp and message length (bytes) of every event [`LogStore::scan`] would
    /// visit, without reading a message: segments answer from their columns, no block is
    /// inflated. Returns the number of events visited.
    pub fn scan_sizes(
        &self,
        scope: &Scope,
        group: &str,
        start: i64,
        end: i64,
        mut visit: impl FnMut(i64, usize) -> bool,
    ) -> Result<u64, StoreError> {
        let view = self.scan_view(scope, group, start, end)?;
        let mut visited = 0;
        view.walk(self, |part| match part {
            Part::Block(b) => b.range.clone().all(|k| {
                if b.d.seq(k) < b.first_seq {
                    return true;
                }
                visited += 1;
                visit(b.d.timestamp(k), b.d.message_len(k))
            }),
            Part::Head(_, e) => {
                visited += 1;
                visit(e.0.timestamp, e.0.message.len())
            }
        })?;
        Ok(visited)
    }

    /// The events and message bytes [`LogStore::scan`] would visit, without reading a message.
    /// A segment inside the range whose streams are all visible in full answers from totals
    /// kept since it was first decoded; others are walked column by column.
    pub fn totals(
        &self,
        scope: &Scope,
        group: &str,
        start: i64,
        end: i64,
    ) -> Result<(u64, u64), StoreError> {
        let mut view = self.scan_view(scope, group, start, end)?;
        let (mut events, mut bytes) = (0u64, 0u64);
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        view.metas.retain(|meta| {
            if meta.min_ts < view.lo || meta.max_ts > view.hi {
                return true;
            }
            let Some(t) = cache.totals.get(&meta.key) else {
                return true;
            };
            let whole = t.iter().all(|s| {
                view.first_seqs
                    .get(&s.stream)
                    .is_some_and(|&first| first <= s.min_seq)
            });
            if whole {
                events += t.iter().map(|s| s.events).sum::<u64>();
                bytes += t.iter().map(|s| s.bytes).sum::<u64>();
            }
            !whole
        });
        drop(cache);
        // The rest, block by block from the columns (event by event where a block may hold
        // events of a deleted stream of the same name).
        view.walk(self, |part| {
            match part {
                Part::Block(b) if b.d.block_min_seq(b.blk) >= b.first_seq => {
                    events += b.range.len() as u64;
                    let offsets = b.d.offsets(b.range.clone());
                    bytes += (offsets[offsets.len() - 1] - offsets[0]) as u64;
                }
                Part::Block(b) => {
                    for k in b.range.clone() {
                        if b.d.seq(k) >= b.first_seq {
                            events += 1;
                            bytes += b.d.message_len(k) as u64;
                        }
                    }
                }
                Part::Head(_, e) => {
                    events += 1;
                    bytes += e.0.message.len() as u64;
                }
            }
            true
        })?;
        Ok((events, bytes))
    }

    /// What a scan of `group` over [start, end] reads, taken under the state lock.
    fn scan_view(
        &self,
        scope: &Scope,
        group: &str,
        start: i64,
        end: i64,
    ) -> Result<ScanView, StoreError> {
        let st = self.read();
        let g = st.group(scope, group).ok_or(Rejection::GroupNotFound)?;
        let lo = start.max(self.retention_floor(g).unwrap_or(i64::MIN));
        let heads: Vec<(String, Vec<HeadEvent>)> = g
            .streams
            .values()
            .map(|s| {
                let a = s.events.partition_point(|e| e.timestamp < lo);
                let b = s.events.partition_point(|e| e.timestamp <= end);
                let events: Vec<HeadEvent> = s.events[a..b.max(a)]
                    .iter()
                    .map(|e| {
                        let span = (0, e.message.len() as u32);
                        let one = BlockEvent {
                            timestamp: e.timestamp,
                            ingestion_time: e.ingestion_time,
                            seq: e.seq,
                            span,
                            flat: false,
                        };
                        (e.clone(), [one])
                    })
                    .collect();
                (s.name.clone(), events)
            })
            .filter(|(_, e)| !e.is_empty())
            .collect();
        let metas: Vec<SegmentMeta> = g
            .segments
            .iter()
            .filter(|m| m.max_ts >= lo && m.min_ts <= end)
            .cloned()
            .collect();
        let first_seqs: HashMap<String, u64> = g
            .streams
            .values()
            .map(|s| (s.name.clone(), s.first_seq))
            .collect();
        Ok(ScanView {
            heads,
            metas,
            first_seqs,
            lo,
            hi: end,
        })
    }
}

/// A block of a scan ([`LogStore::scan_blocks`]): its text and the events of the scan in it.
#[derive(Debug, Clone, Copy)]
pub struct BlockView<'a> {
    pub stream: &'a str,
    /// The block's messages concatenated (more than the listed events' when the range or
    /// visibility leaves some out).
    pub text: &'a str,
    /// The visible events of the range, in block order.
    pub events: &'a [BlockEvent],
}

/// An event of a [`BlockView`]: its message is `text[span.0..span.1]`.
#[derive(Debug, Clone, Copy)]
pub struct BlockEvent {
    pub timestamp: i64,
    pub ingestion_time: i64,
    pub seq: u64,
    pub span: (u32, u32),
    /// The message was a flat JSON object when its segment was written ([`crate::flat`]):
    /// readers may find its top-level keys by searching for them. `false` when unknown (heads,
    /// older segments).
    pub flat: bool,
}

impl<'a> BlockView<'a> {
    /// Event `e` of this view with its message, as a field reader takes it.
    pub fn scan_event(&self, e: &BlockEvent) -> ScanEvent<'a> {
        let m = self.event(e).message;
        ScanEvent {
            timestamp: e.timestamp,
            ingestion_time: e.ingestion_time,
            seq: e.seq,
            message_len: m.len(),
            flat: e.flat,
            fields: ScanFields::Message(m),
        }
    }

    /// Event `e` of this view as an [`EventRef`].
    pub fn event(&self, e: &BlockEvent) -> EventRef<'a> {
        EventRef {
            timestamp: e.timestamp,
            ingestion_time: e.ingestion_time,
            seq: e.seq,
            message: self
                .text
                .get(e.span.0 as usize..e.span.1 as usize)
                .unwrap_or_default(),
        }
    }

    /// A head event as a view of its own.
    fn one(stream: &'a str, e: &'a HeadEvent) -> BlockView<'a> {
        BlockView {
            stream,
            text: &e.0.message,
            events: &e.1,
        }
    }
}

/// A head event copied for a scan, with its own one-event view.
type HeadEvent = (Event, [BlockEvent; 1]);

/// What a scan walks: one stream's range of a segment block, or a head event.
enum Part<'a> {
    Block(SegmentPart<'a>),
    Head(&'a str, &'a HeadEvent),
}

/// One stream's events `range` of block `blk` of a segment.
struct SegmentPart<'a> {
    stream: &'a str,
    d: &'a Decoded,
    blk: usize,
    range: std::ops::Range<usize>,
    first_seq: u64,
}

impl SegmentPart<'_> {
    /// Inflates the block through `scratch` and hands `visit` its view (the events buffer is
    /// reused). A block that is not valid UTF-8 as a whole (only damage can cause it) is
    /// handed over one event at a time, each message checked on its own.
    fn view(
        &self,
        scratch: &mut segment::Scratch,
        events: &mut Vec<BlockEvent>,
        visit: &mut dyn FnMut(&BlockView<'_>) -> bool,
    ) -> bool {
        let d = self.d;
        let bytes = d.block_bytes(self.blk, scratch);
        events.clear();
        for k in self.range.clone() {
            let seq = d.seq(k);
            if seq < self.first_seq {
                continue;
            }
            let span = d.message_span(self.blk, k);
            events.push(BlockEvent {
                timestamp: d.timestamp(k),
                ingestion_time: d.ingestion_time(k),
                seq,
                span: (span.start as u32, span.end as u32),
                flat: d.is_flat(self.blk, k),
            });
        }
        // Messages are valid UTF-8 each, so their concatenation is: one check per block,
        // then every message boundary is a char boundary.
        if let Ok(text) = simdutf8::basic::from_utf8(bytes) {
            return visit(&BlockView {
                stream: self.stream,
                text,
                events,
            });
        }
        events.iter().all(|e| {
            let m = bytes
                .get(e.span.0 as usize..e.span.1 as usize)
                .and_then(|m| std::str::from_utf8(m).ok())
                .unwrap_or_default();
            visit(&BlockView {
                stream: self.stream,
                text: m,
                events: &[BlockEvent {
                    span: (0, m.len() as u32),
                    flat: false,
                    ..*e
                }],
            })
        })
    }
}

/// The events of a view, read from their messages, each handed to `visit`.
fn by_message(
    b: &BlockView<'_>,
    visited: &mut u64,
    visit: &mut dyn FnMut(&str, ScanEvent<'_>) -> bool,
) -> bool {
    b.events.iter().all(|e| {
        *visited += 1;
        visit(b.stream, b.scan_event(e))
    })
}

/// A block's events, with the wanted fields as columns, as [`LogStore::scan_field_blocks`]
/// hands them over.
#[derive(Debug, Clone, Copy)]
pub struct ColumnBlock<'a> {
    pub stream: &'a str,
    /// Per event its time (epoch ms).
    pub timestamps: &'a [i64],
    /// Event i's message is `offsets[i + 1] - offsets[i]` bytes long.
    pub offsets: &'a [usize],
    /// The wanted fields' columns, in the order asked for, each over these events.
    pub columns: &'a [Column<'a>],
}

/// What [`LogStore::scan_field_blocks`] visits.
#[derive(Debug, Clone, Copy)]
pub enum FieldPart<'a> {
    Columns(ColumnBlock<'a>),
    /// Events with their messages: a block that keeps no columns for the fields asked for, or
    /// one event of a stream's head.
    Messages(&'a BlockView<'a>),
}

/// An event as [`LogStore::scan_fields`] hands it over.
#[derive(Debug, Clone, Copy)]
pub struct ScanEvent<'a> {
    pub timestamp: i64,
    pub ingestion_time: i64,
    pub seq: u64,
    /// The message's length in bytes (also when the message is not read).
    pub message_len: usize,
    /// The message is a flat JSON object ([`BlockEvent::flat`]).
    pub flat: bool,
    pub fields: ScanFields<'a>,
}

/// Where a field reader finds an event's fields.
#[derive(Debug, Clone, Copy)]
pub enum ScanFields<'a> {
    /// The wanted fields' values in the order asked for (`None`: the event has no such field),
    /// with a key per value: within one `block` (numbered by the scan), two events have the
    /// same key for a field only if they have the same value (`u32::MAX`: no value); equal
    /// values may still have different keys.
    Columns {
        values: &'a [Option<&'a str>],
        keys: &'a [u32],
        block: u64,
    },
    /// The message, to find the fields in.
    Message(&'a str),
}

/// A scan's snapshot of one group: copied head events, pinned segments, live streams.
struct ScanView {
    heads: Vec<(String, Vec<HeadEvent>)>,
    metas: Vec<SegmentMeta>,
    /// Live streams and the first seq visible in each (older events belong to a deleted
    /// stream of the same name).
    first_seqs: HashMap<String, u64>,
    lo: i64,
    hi: i64,
}

impl ScanView {
    /// Calls `f` on every segment block range of the scan, then on every head event, until it
    /// returns false.
    fn walk(
        &self,
        store: &LogStore,
        mut f: impl FnMut(Part<'_>) -> bool,
    ) -> Result<(), StoreError> {
        for meta in &self.metas {
            let d = store.segment(meta)?;
            for (stream, range) in &d.streams {
                let Some(&first_seq) = self.first_seqs.get(stream) else {
                    continue;
                };
                let (a, b) = self.span(&d, range);
                if a >= b {
                    continue;
                }
                for blk in d.block_of(a)..=d.block_of(b - 1) {
                    let events = d.block_events(blk);
                    let part = SegmentPart {
                        stream,
                        d: &d,
                        blk,
                        range: events.start.max(a)..events.end.min(b),
                        first_seq,
                    };
                    if !f(Part::Block(part)) {
                        return Ok(());
                    }
                }
            }
        }
        for (stream, events) in &self.heads {
            for e in events {
                if !f(Part::Head(stream, e)) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// The events of one stream's `range` of `d` inside [lo, hi], as absolute indexes.
    fn span(&self, d: &Decoded, range: &std::ops::Range<usize>) -> (usize, usize) {
        let src = Source::Segment(d, range.start, range.end);
        let a = range.start + src.partition(|(t, _)| t < self.lo);
        let b = range.start + src.partition(|(t, _)| t <= self.hi);
        (a, b.max(a))
    }
}
