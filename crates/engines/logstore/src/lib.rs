//! The log store: log groups, streams and events per account and region.
//!
//! Every change is a [`Mutation`] appended to the write-ahead log with group commit; the writer
//! thread applies it to the in-memory state in log order after `fdatasync`, and only then is the
//! caller answered. New events sit in each stream's in-memory head; [`LogStore::maintain`] flushes
//! heads into immutable zstd segment files (behind the blob-store seam) and checkpoints the state
//! so the log can be truncated. Recovery = latest checkpoint + the log after it. Reads merge
//! segments (decoded through a bounded cache) and heads under a shared lock. Expired events
//! (retention) are never returned and are dropped by [`LogStore::expire`].
//!
//! No AWS shapes here: the Logs service crate maps requests to these calls.

pub mod fields;
pub mod flat;
mod maintain;
mod read;
pub mod segment;
mod state;

pub use state::{
    Event, Group, MetricFilter, Mutation, QueryDefinition, QueryParameter, Rejection, Scope, State,
    Stream, Transformation, MAX_METRIC_FILTERS, MAX_QUERY_DEFINITIONS,
};

pub use maintain::{MaintainReport, Policy};
pub use read::{BlockEvent, BlockView, ColumnBlock, FieldPart, ScanEvent, ScanFields, StreamRead};

use nephoscope_clock::SharedClock;
use nephoscope_storage::blob::{BlobStore, LocalBlobStore};
use nephoscope_storage::wal::{Journal, Wal};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

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
    /// The log every mutation goes through (the local WAL today).
    wal: Box<dyn Journal>,
    blobs: Arc<dyn BlobStore>,
    clock: SharedClock,
    appended: tokio::sync::broadcast::Sender<Arc<Appended>>,
    /// True once the server is stopping: subscribers end their streams.
    closing: tokio::sync::watch::Sender<bool>,
    cache: Mutex<read::SegmentCache>,
    /// Segment blocks scans read, by source (see [`LogStore::blocks_read`]).
    blocks_from_columns: std::sync::atomic::AtomicU64,
    blocks_from_messages: std::sync::atomic::AtomicU64,
    /// One flush/checkpoint/collection at a time.
    maintenance: tokio::sync::Mutex<()>,
    policy: Policy,
    /// Hot segments whose rewrite with zstd failed (logged): not tried again until restart,
    /// so one unreadable file does not hold up the rest of upkeep.
    recode_failed: Mutex<std::collections::HashSet<String>>,
}

const SEGMENTS: &str = "segments/";

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
    /// Newest first; `after` then means "strictly before".
    pub descending: bool,
    /// Literal substrings every match contains (from the filter pattern): segment blocks whose
    /// bloom filter rules one out are skipped without being decompressed.
    pub required: &'a [String],
}

pub struct FilterPage {
    pub events: Vec<FoundEvent>,
    /// Where to continue when more events may match.
    pub next: Option<Cursor>,
    pub searched_streams: Vec<String>,
}

impl LogStore {
    /// Opens (or creates) the store under `dir`: the latest checkpoint, then the write-ahead
    /// log after it.
    pub fn open(dir: &Path, clock: SharedClock) -> Result<LogStore, StoreError> {
        Self::open_with(dir, clock, Policy::default())
    }

    pub fn open_with(
        dir: &Path,
        clock: SharedClock,
        policy: Policy,
    ) -> Result<LogStore, StoreError> {
        let storage = |e: &dyn std::fmt::Display| StoreError::Storage(e.to_string());
        let blobs: Arc<dyn BlobStore> =
            Arc::new(LocalBlobStore::open(dir.join("files")).map_err(|e| storage(&e))?);
        let (mut state, from_file) = match nephoscope_storage::checkpoint::latest(blobs.as_ref())
            .map_err(|e| storage(&e))?
        {
            Some((n, bytes)) => {
                let st = State::decode_snapshot(&bytes)
                    .map_err(|e| StoreError::Storage(format!("checkpoint {n}: {e}")))?;
                (st, n)
            }
            None => (State::default(), 0),
        };
        let (wal, records) = Wal::open(dir.join("wal")).map_err(|e| storage(&e))?;
        let mut replayed = 0;
        for (file, r) in records {
            if file < from_file {
                continue; // already in the checkpoint
            }
            let m = Mutation::decode(&r)
                .map_err(|e| StoreError::Storage(format!("log file {file}: {e}")))?;
            // Rejections were answered as such before the crash; replay reproduces them.
            let _ = state.apply(m);
            replayed += 1;
        }
        if replayed > 0 || from_file > 0 {
            tracing::info!(checkpoint = from_file, replayed, "log store recovered");
        }
        let store = LogStore {
            state: Arc::new(RwLock::new(state)),
            wal: Box::new(wal),
            blobs,
            clock,
            appended: tokio::sync::broadcast::channel(LIVE_BACKLOG).0,
            closing: tokio::sync::watch::Sender::new(false),
            cache: Mutex::new(read::SegmentCache::new(policy.cache_bytes)),
            recode_failed: Default::default(),
            blocks_from_columns: Default::default(),
            blocks_from_messages: Default::default(),
            maintenance: tokio::sync::Mutex::new(()),
            policy,
        };
        store.collect_garbage().map_err(|e| storage(&e))?;
        Ok(store)
    }

    /// Segment blocks read by scans since start: (from their field columns, by inflating their
    /// messages).
    pub fn blocks_read(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.blocks_from_columns.load(Relaxed),
            self.blocks_from_messages.load(Relaxed),
        )
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

    /// Tells subscribers the server is stopping ([`LogStore::closing`]): streams of events
    /// end now rather than hold the server's drain of open connections.
    pub fn close_subscriptions(&self) {
        self.closing.send_replace(true);
    }

    /// Becomes true when [`LogStore::close_subscriptions`] is called.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
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
                            .chain(g.segments.iter().map(|m| m.min_ts))
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
}
