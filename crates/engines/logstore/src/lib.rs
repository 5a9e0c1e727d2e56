//! The log store: log groups, streams and events per account and region.
//!
//! Every change is a [`Mutation`] appended to the write-ahead log with group commit; the writer
//! thread applies it to the in-memory state in log order after `fdatasync`, and only then is the
//! caller answered. Reads take a shared lock on the state. Expired events (retention) are never
//! returned and are dropped physically by [`LogStore::expire`].
//!
//! No AWS shapes here: the Logs service crate maps requests to these calls.

mod codec;
mod state;

pub use state::{Event, Group, Mutation, Rejection, Scope, State, Stream};

use nephoscope_clock::SharedClock;
use nephoscope_storage::wal::Wal;
use std::path::Path;
use std::sync::{Arc, RwLock, RwLockReadGuard};

pub const DAY_MS: i64 = 86_400_000;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error("storage failure: {0}")]
    Storage(String),
}

pub struct LogStore {
    state: Arc<RwLock<State>>,
    wal: Wal,
    clock: SharedClock,
    appended: tokio::sync::broadcast::Sender<Arc<Appended>>,
}

/// Events just made durable, as announced to live subscribers (Live Tail).
#[derive(Debug, Clone)]
pub struct Appended {
    pub scope: Scope,
    pub group: String,
    pub stream: String,
    pub ingestion_time: i64,
    /// (timestamp, message)
    pub events: Vec<(i64, String)>,
}

/// Announcements a slow subscriber may fall behind by before it starts losing the oldest.
const LIVE_BACKLOG: usize = 1024;

/// Which streams a filter reads.
#[derive(Debug, Clone)]
pub enum StreamSelection {
    All,
    Names(Vec<String>),
    Prefix(String),
}

/// An event as returned by reads.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundEvent {
    pub stream: String,
    pub timestamp: i64,
    pub ingestion_time: i64,
    pub seq: u64,
    pub message: String,
}

/// A position in the (timestamp, seq) order of events.
pub type Cursor = (i64, u64);

pub struct FilterQuery<'a> {
    pub streams: StreamSelection,
    pub start: Option<i64>,
    pub end: Option<i64>,
    /// Keeps an event when it returns true (a compiled filter pattern).
    pub pattern: Option<&'a (dyn Fn(&str) -> bool + Sync)>,
    pub limit: usize,
    /// Return only events strictly after this position.
    pub after: Option<Cursor>,
}

pub struct FilterPage {
    pub events: Vec<FoundEvent>,
    /// Where to continue when more events may match.
    pub next: Option<Cursor>,
    pub searched_streams: Vec<String>,
}

impl LogStore {
    /// Opens (or creates) the store under `dir`, replaying its write-ahead log.
    pub fn open(dir: &Path, clock: SharedClock) -> Result<LogStore, StoreError> {
        let (wal, records) =
            Wal::open(dir.join("wal")).map_err(|e| StoreError::Storage(e.to_string()))?;
        let mut state = State::default();
        let n = records.len();
        for (i, r) in records.into_iter().enumerate() {
            let m = Mutation::decode(&r)
                .map_err(|e| StoreError::Storage(format!("record {i}: {e}")))?;
            // Rejections were answered as such before the crash; replay reproduces them.
            let _ = state.apply(m);
        }
        if n > 0 {
            tracing::info!(records = n, "log store recovered from the write-ahead log");
        }
        Ok(LogStore {
            state: Arc::new(RwLock::new(state)),
            wal,
            clock,
            appended: tokio::sync::broadcast::channel(LIVE_BACKLOG).0,
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// Durably applies `m`; resolves after it is on disk and visible.
    pub async fn mutate(&self, m: Mutation) -> Result<state::Applied, StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let bytes = m.encode();
        let state = self.state.clone();
        let appended = self.appended.clone();
        self.wal.append(
            bytes,
            Box::new(move |written| {
                let result = match written {
                    Ok(()) => {
                        // Copy events for live subscribers only when there are any.
                        let announce = match &m {
                            Mutation::PutEvents {
                                scope,
                                group,
                                stream,
                                ingestion_time,
                                events,
                            } if appended.receiver_count() > 0 => Some(Appended {
                                scope: scope.clone(),
                                group: group.clone(),
                                stream: stream.clone(),
                                ingestion_time: *ingestion_time,
                                events: events.clone(),
                            }),
                            _ => None,
                        };
                        let mut st = state.write().unwrap_or_else(|p| p.into_inner());
                        let r = st.apply(m).map_err(StoreError::from);
                        drop(st);
                        if let (Ok(_), Some(a)) = (&r, announce) {
                            let _ = appended.send(Arc::new(a));
                        }
                        r
                    }
                    Err(e) => Err(StoreError::Storage(e.to_string())),
                };
                let _ = tx.send(result);
            }),
        );
        rx.await
            .unwrap_or_else(|_| Err(StoreError::Storage("write-ahead log writer stopped".into())))
    }

    /// Events as they become durable, from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<Appended>> {
        self.appended.subscribe()
    }

    /// A consistent view of the state for reads.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The oldest timestamp a read may return for `group` (retention), if any.
    pub fn retention_floor(&self, group: &Group) -> Option<i64> {
        group
            .retention_days
            .map(|d| self.now() - i64::from(d) * DAY_MS)
    }

    /// Drops events past retention in every group; returns how many groups were swept.
    pub async fn expire(&self) -> Result<usize, StoreError> {
        let work: Vec<(Scope, String, i64)> = {
            let st = self.read();
            st.scopes
                .iter()
                .flat_map(|(scope, groups)| {
                    groups.values().filter_map(move |g| {
                        let floor = self.retention_floor(g)?;
                        let oldest = g
                            .streams
                            .values()
                            .filter_map(|s| s.events.first())
                            .map(|e| e.timestamp)
                            .min()?;
                        (oldest < floor).then(|| (scope.clone(), g.name.clone(), floor))
                    })
                })
                .collect()
        };
        let n = work.len();
        for (scope, group, before) in work {
            match self
                .mutate(Mutation::Expire {
                    scope,
                    group,
                    before,
                })
                .await
            {
                Ok(_) | Err(StoreError::Rejected(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// Events matching `q` across the group's streams, in (timestamp, seq) order.
    pub fn filter(
        &self,
        scope: &Scope,
        group: &str,
        q: &FilterQuery<'_>,
    ) -> Result<FilterPage, Rejection> {
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
        // k-way merge over the streams' sorted events.
        let mut heads: Vec<(usize, &Stream)> = streams
            .iter()
            .map(|s| {
                let i = match q.after {
                    Some((ts, seq)) if ts >= lo => s
                        .events
                        .partition_point(|e| (e.timestamp, e.seq) <= (ts, seq)),
                    _ => s.events.partition_point(|e| e.timestamp < lo),
                };
                (i, *s)
            })
            .collect();
        let mut out = Vec::new();
        let mut next = None;
        loop {
            let mut best: Option<usize> = None;
            for (k, (i, s)) in heads.iter().enumerate() {
                if let Some(e) = s.events.get(*i) {
                    if e.timestamp > hi {
                        continue;
                    }
                    if best.is_none_or(|b| {
                        let (bi, bs) = heads[b];
                        let be = &bs.events[bi];
                        (e.timestamp, e.seq) < (be.timestamp, be.seq)
                    }) {
                        best = Some(k);
                    }
                }
            }
            let Some(k) = best else { break };
            let (i, s) = heads[k];
            let e = &s.events[i];
            heads[k].0 += 1;
            if q.pattern.is_none_or(|p| p(&e.message)) {
                if out.len() == q.limit {
                    next = out.last().map(|l: &FoundEvent| (l.timestamp, l.seq));
                    break;
                }
                out.push(FoundEvent {
                    stream: s.name.clone(),
                    timestamp: e.timestamp,
                    ingestion_time: e.ingestion_time,
                    seq: e.seq,
                    message: e.message.to_string(),
                });
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
    ) -> Result<Vec<FoundEvent>, Rejection> {
        let st = self.read();
        let g = st.group(scope, group).ok_or(Rejection::GroupNotFound)?;
        let s = g.streams.get(stream).ok_or(Rejection::StreamNotFound)?;
        let lo = start.max(self.retention_floor(g)).unwrap_or(i64::MIN);
        let a = s.events.partition_point(|e| e.timestamp < lo);
        let b = match end {
            Some(end) => s.events.partition_point(|e| e.timestamp < end),
            None => s.events.len(),
        }
        .max(a);
        let pos = |c: Cursor| {
            s.events
                .partition_point(|e| (e.timestamp, e.seq) <= c)
                .clamp(a, b)
        };
        let (x, y) = match at {
            StreamRead::Head => (a, (a + limit).min(b)),
            StreamRead::Tail => (b.saturating_sub(limit).max(a), b),
            StreamRead::After(c) => {
                let x = pos(c);
                (x, (x + limit).min(b))
            }
            StreamRead::Before(c) => {
                // Events strictly before the cursor.
                let y = s
                    .events
                    .partition_point(|e| (e.timestamp, e.seq) < c)
                    .clamp(a, b);
                (y.saturating_sub(limit).max(a), y)
            }
        };
        Ok(s.events[x..y]
            .iter()
            .map(|e| FoundEvent {
                stream: s.name.clone(),
                timestamp: e.timestamp,
                ingestion_time: e.ingestion_time,
                seq: e.seq,
                message: e.message.to_string(),
            })
            .collect())
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
