//! Reads: events of the in-memory heads and of segment files (decoded through a bounded cache),
//! merged in (timestamp, seq) order.

use crate::segment::{self, Decoded, SegmentMeta};
use crate::state::{Event, Group, Rejection, Scope, Stream};
use crate::{Cursor, FilterPage, FilterQuery, FoundEvent, LogStore, StoreError, StreamSelection};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Decoded segments, evicted oldest-inserted first beyond a byte budget.
pub(crate) struct SegmentCache {
    budget: usize,
    used: usize,
    map: HashMap<String, (Arc<Decoded>, usize)>,
    order: VecDeque<String>,
}

impl SegmentCache {
    pub fn new(budget: usize) -> Self {
        SegmentCache {
            budget,
            used: 0,
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn get(&self, key: &str) -> Option<Arc<Decoded>> {
        self.map.get(key).map(|(d, _)| d.clone())
    }

    fn insert(&mut self, key: String, d: Arc<Decoded>) {
        let size = d.size();
        if self.map.insert(key.clone(), (d, size)).is_none() {
            self.order.push_back(key);
            self.used += size;
        }
        while self.used > self.budget && self.order.len() > 1 {
            if let Some(old) = self.order.pop_front() {
                if let Some((_, s)) = self.map.remove(&old) {
                    self.used -= s;
                }
            }
        }
    }
}

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

fn found(stream: &str, e: &Event) -> FoundEvent {
    FoundEvent {
        stream: stream.to_string(),
        timestamp: e.timestamp,
        ingestion_time: e.ingestion_time,
        seq: e.seq,
        message: e.message.to_string(),
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
            segment::decode(&meta.key, &bytes, meta.raw_bytes)
                .map_err(|e| StoreError::Storage(e.to_string()))?,
        );
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(meta.key.clone(), d.clone());
        Ok(d)
    }

    /// Decoded segments of `g` that may hold events of `streams` within [lo, hi].
    fn segments_for(
        &self,
        g: &Group,
        streams: &[&Stream],
        lo: i64,
        hi: i64,
    ) -> Result<Vec<Arc<Decoded>>, StoreError> {
        g.segments
            .iter()
            .filter(|m| m.max_ts >= lo && m.min_ts <= hi)
            .filter(|m| streams.iter().any(|s| m.streams.contains(&s.name)))
            .map(|m| self.segment(m))
            .collect()
    }

    /// Events matching `q` across the group's streams, in (timestamp, seq) order.
    pub fn filter(
        &self,
        scope: &Scope,
        group: &str,
        q: &FilterQuery<'_>,
    ) -> Result<FilterPage, StoreError> {
        let st = self.read();
        let g = st.group(scope, group).ok_or(Rejection::GroupNotFound)?;
        let floor = self.retention_floor(g);
        let streams: Vec<&Stream> = match &q.streams {
            StreamSelection::All => g.streams.values().collect(),
            StreamSelection::Prefix(p) => g
                .streams
                .range(p.clone()..)
                .take_while(|(n, _)| n.starts_with(p.as_str()))
                .map(|(_, s)| s)
                .collect(),
            StreamSelection::Names(names) => {
                names.iter().filter_map(|n| g.streams.get(n)).collect()
            }
        };
        let lo = q.start.max(floor).unwrap_or(i64::MIN);
        let hi = q.end.unwrap_or(i64::MAX);
        let decoded = self.segments_for(g, &streams, lo, hi)?;
        // One sorted source per (stream, head or segment); a k-way merge over them. Each source
        // is a window [i, j) still to consume: ascending takes from i, descending from j.
        let mut sources: Vec<(usize, usize, &[Event], &Stream)> = Vec::new();
        for s in &streams {
            let slices = std::iter::once(s.events.as_slice()).chain(
                decoded
                    .iter()
                    .filter_map(|d| d.streams.get(&s.name).map(Vec::as_slice)),
            );
            for slice in slices {
                let mut i = slice.partition_point(|e| e.timestamp < lo);
                let mut j = slice.partition_point(|e| e.timestamp <= hi);
                if let Some(c) = q.after {
                    if q.descending {
                        j = j.min(slice.partition_point(|e| (e.timestamp, e.seq) < c));
                    } else {
                        i = i.max(slice.partition_point(|e| (e.timestamp, e.seq) <= c));
                    }
                }
                if i < j {
                    sources.push((i, j, slice, s));
                }
            }
        }
        let mut out = Vec::new();
        let mut next = None;
        loop {
            let mut best: Option<(usize, Cursor)> = None;
            for (k, (i, j, slice, _)) in sources.iter().enumerate() {
                if i >= j {
                    continue;
                }
                let e = if q.descending {
                    &slice[j - 1]
                } else {
                    &slice[*i]
                };
                let c = (e.timestamp, e.seq);
                let better = best.is_none_or(|(_, b)| if q.descending { c > b } else { c < b });
                if better {
                    best = Some((k, c));
                }
            }
            let Some((k, _)) = best else { break };
            let (i, j, slice, s) = sources[k];
            let e = if q.descending {
                sources[k].1 -= 1;
                &slice[j - 1]
            } else {
                sources[k].0 += 1;
                &slice[i]
            };
            // Events of an earlier stream of the same name (deleted, re-created) stay hidden.
            if e.seq < s.first_seq {
                continue;
            }
            if q.pattern.is_none_or(|p| p(&e.message)) {
                if out.len() == q.limit {
                    next = out.last().map(|l: &FoundEvent| (l.timestamp, l.seq));
                    break;
                }
                out.push(found(&s.name, e));
            }
        }
        Ok(FilterPage {
            events: out,
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
        let st = self.read();
        let g = st.group(scope, group).ok_or(Rejection::GroupNotFound)?;
        let s = g.streams.get(stream).ok_or(Rejection::StreamNotFound)?;
        let lo = start.max(self.retention_floor(g)).unwrap_or(i64::MIN);
        let hi = end.map_or(i64::MAX, |e| e.saturating_sub(1));
        let decoded = self.segments_for(g, &[s], lo, hi)?;
        let mut all: Vec<&Event> = decoded
            .iter()
            .filter_map(|d| d.streams.get(&s.name))
            .flatten()
            .chain(s.events.iter())
            .filter(|e| e.seq >= s.first_seq && e.timestamp >= lo && e.timestamp <= hi)
            .collect();
        all.sort_unstable_by_key(|e| (e.timestamp, e.seq));
        let (a, b) = (0, all.len());
        let (x, y) = match at {
            StreamRead::Head => (a, limit.min(b)),
            StreamRead::Tail => (b.saturating_sub(limit), b),
            StreamRead::After(c) => {
                let x = all.partition_point(|e| (e.timestamp, e.seq) <= c);
                (x, (x + limit).min(b))
            }
            StreamRead::Before(c) => {
                let y = all.partition_point(|e| (e.timestamp, e.seq) < c);
                (y.saturating_sub(limit), y)
            }
        };
        Ok(all[x..y].iter().map(|e| found(&s.name, e)).collect())
    }
}

impl LogStore {
    /// Visits every visible event of `group` with a timestamp in [start, end], in no particular
    /// order, until `visit` returns false. Heads are copied and segments pinned first, so the
    /// state lock is not held while visiting (ingestion goes on during long scans). Returns the
    /// number of events visited.
    pub fn scan(
        &self,
        scope: &Scope,
        group: &str,
        start: i64,
        end: i64,
        mut visit: impl FnMut(&str, &Event) -> bool,
    ) -> Result<u64, StoreError> {
        let (heads, metas, first_seqs, lo) = {
            let st = self.read();
            let g = st.group(scope, group).ok_or(Rejection::GroupNotFound)?;
            let lo = start.max(self.retention_floor(g).unwrap_or(i64::MIN));
            let heads: Vec<(String, Vec<Event>)> = g
                .streams
                .values()
                .map(|s| {
                    let a = s.events.partition_point(|e| e.timestamp < lo);
                    let b = s.events.partition_point(|e| e.timestamp <= end);
                    (s.name.clone(), s.events[a..b.max(a)].to_vec())
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
            (heads, metas, first_seqs, lo)
        };
        let mut visited = 0;
        for meta in &metas {
            let d = self.segment(meta)?;
            for (stream, events) in &d.streams {
                let Some(first_seq) = first_seqs.get(stream) else {
                    continue;
                };
                let a = events.partition_point(|e| e.timestamp < lo);
                for e in events[a..].iter().take_while(|e| e.timestamp <= end) {
                    if e.seq < *first_seq {
                        continue;
                    }
                    visited += 1;
                    if !visit(stream, e) {
                        return Ok(visited);
                    }
                }
            }
        }
        for (stream, events) in &heads {
            for e in events {
                visited += 1;
                if !visit(stream, e) {
                    return Ok(visited);
                }
            }
        }
        Ok(visited)
    }
}
