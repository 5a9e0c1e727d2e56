//! Upkeep: flushing heads into segment files, checkpointing the state so the write-ahead log can
//! be truncated, and deleting segment files nothing refers to any more.

use crate::state::{Mutation, Scope};
use crate::{segment, LogStore, StoreError, SEGMENTS};

/// When upkeep acts.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Flush a group whose head holds this many message bytes...
    pub flush_bytes: u64,
    /// ...or whose oldest head event was ingested this long ago (milliseconds).
    pub flush_age_ms: i64,
    /// Checkpoint when the write-ahead log is this large.
    pub checkpoint_bytes: u64,
    /// Budget of the decoded-segment cache.
    pub cache_bytes: usize,
    /// Compaction merges segments smaller than this (raw bytes)...
    pub compact_below_bytes: u64,
    /// ...when at least this many of them are waiting, into files of at most this size.
    pub compact_min_segments: usize,
    pub compact_target_bytes: u64,
    /// Finds the discovered fields kept as columns beside each message block (none: no
    /// columns).
    pub fields: Option<crate::fields::Extractor>,
    /// Segments whose newest event is younger than this (milliseconds) are hot: their message
    /// blocks are LZ4 (scans inflate them 3–4× faster; files about 1.8× larger). Older ones
    /// are written, or rewritten once they age, with zstd. 0: zstd always.
    pub hot_ms: i64,
}

/// Hot segments rewritten with zstd in one round of upkeep, at most.
const RECODES_PER_ROUND: usize = 8;
/// The end of a hot segment's key ([`Policy::hot_ms`]): upkeep finds them by it.
pub(crate) const HOT_SUFFIX: &str = ".hot.seg";

impl Default for Policy {
    fn default() -> Self {
        Policy {
            flush_bytes: 8 << 20,
            flush_age_ms: 60_000,
            checkpoint_bytes: 64 << 20,
            cache_bytes: 512 << 20,
            compact_below_bytes: 16 << 20,
            compact_min_segments: 4,
            // Merged files stay well inside the decoded-segment cache, which bounds memory.
            compact_target_bytes: 64 << 20,
            fields: None,
            hot_ms: 24 * 3_600_000,
        }
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct MaintainReport {
    pub flushed_segments: usize,
    /// Segments merged away by compaction.
    pub compacted_segments: usize,
    /// Hot segments rewritten with zstd once they aged ([`Policy::hot_ms`]).
    pub recoded_segments: usize,
    pub checkpointed: bool,
    pub deleted_files: usize,
}

/// The end of a segment's key: hot ones are told by it.
fn suffix(codec: segment::Codec) -> &'static str {
    match codec {
        segment::Codec::Lz4 => HOT_SUFFIX,
        segment::Codec::Zstd => ".seg",
    }
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Storage(e.to_string())
}

impl LogStore {
    /// One round of upkeep. `force` flushes every non-empty head and checkpoints regardless of
    /// the policy (used at shutdown and by tests).
    pub async fn maintain(&self, force: bool) -> Result<MaintainReport, StoreError> {
        let _one_at_a_time = self.maintenance.lock().await;
        let now = self.now();
        let due: Vec<(Scope, String, u64)> = {
            let st = self.read();
            st.scopes
                .iter()
                .flat_map(|(scope, groups)| {
                    groups.values().filter_map(move |g| {
                        let bytes: usize = g
                            .streams
                            .values()
                            .flat_map(|s| &s.events)
                            .map(|e| e.message.len())
                            .sum();
                        let oldest = g
                            .streams
                            .values()
                            .flat_map(|s| &s.events)
                            .map(|e| e.ingestion_time)
                            .min()?;
                        let due = force
                            || bytes as u64 >= self.policy.flush_bytes
                            || now - oldest >= self.policy.flush_age_ms;
                        due.then(|| (scope.clone(), g.name.clone(), g.id))
                    })
                })
                .collect()
        };
        let mut report = MaintainReport::default();
        for (scope, name, id) in due {
            if self.flush_group(scope, name, id).await? {
                report.flushed_segments += 1;
            }
        }
        report.compacted_segments = self.compact().await?;
        report.recoded_segments = self.recode(now).await?;
        if force || self.wal.size() >= self.policy.checkpoint_bytes {
            self.checkpoint()?;
            report.checkpointed = true;
        }
        report.deleted_files = self.collect_garbage().map_err(io)?;
        Ok(report)
    }

    /// Writes the group's head events into a segment file, then records it. False when there
    /// was nothing to flush (or the group went away meanwhile).
    async fn flush_group(&self, scope: Scope, name: String, id: u64) -> Result<bool, StoreError> {
        let streams: Vec<(String, Vec<crate::Event>)> = {
            let st = self.read();
            let Some(g) = st.group(&scope, &name).filter(|g| g.id == id) else {
                return Ok(false);
            };
            g.streams
                .values()
                .filter(|s| !s.events.is_empty())
                .map(|s| (s.name.clone(), s.events.clone()))
                .collect()
        };
        let Some(max_seq) = streams.iter().flat_map(|(_, e)| e).map(|e| e.seq).max() else {
            return Ok(false);
        };
        let codec = self.codec_for(&streams);
        let key = format!("{SEGMENTS}{id}/{max_seq:020}{}", suffix(codec));
        let (bytes, meta) =
            segment::encode(&key, &streams, self.policy.fields.as_deref(), codec).map_err(io)?;
        self.blobs.put(&key, &bytes).map_err(io)?;
        match self
            .mutate(Mutation::AddSegment {
                scope,
                group: name,
                group_id: id,
                meta,
            })
            .await
        {
            Ok(_) => Ok(true),
            // The group was deleted meanwhile; its file is collected as garbage.
            Err(StoreError::Rejected(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Merges runs of small segments of each group into larger ones (size-tiered), dropping
    /// events that retention or a stream deletion already hides. Returns segments merged away.
    async fn compact(&self) -> Result<usize, StoreError> {
        let plans: Vec<(Scope, String, u64, Vec<crate::segment::SegmentMeta>)> = {
            let st = self.read();
            let mut plans = Vec::new();
            for (scope, groups) in &st.scopes {
                for g in groups.values() {
                    let mut run = Vec::new();
                    let mut run_bytes = 0;
                    let small = g
                        .segments
                        .iter()
                        .filter(|m| m.raw_bytes < self.policy.compact_below_bytes);
                    for m in small {
                        if run_bytes + m.raw_bytes > self.policy.compact_target_bytes
                            && run.len() >= self.policy.compact_min_segments
                        {
                            plans.push((
                                scope.clone(),
                                g.name.clone(),
                                g.id,
                                std::mem::take(&mut run),
                            ));
                            run_bytes = 0;
                        }
                        run_bytes += m.raw_bytes;
                        run.push(m.clone());
                    }
                    if run.len() >= self.policy.compact_min_segments {
                        plans.push((scope.clone(), g.name.clone(), g.id, run));
                    }
                }
            }
            plans
        };
        let mut merged = 0;
        for (scope, name, id, run) in plans {
            let lo = run.iter().map(|m| m.max_seq).min().unwrap_or_default();
            let hi = run.iter().map(|m| m.max_seq).max().unwrap_or_default();
            let n = run.len();
            if self
                .rewrite(scope, name, id, run, |codec| {
                    format!("{SEGMENTS}{id}/{hi:020}.c{lo:020}{}", suffix(codec))
                })
                .await?
            {
                merged += n;
            }
        }
        Ok(merged)
    }

    /// Rewrites hot segments whose newest event has aged past [`Policy::hot_ms`] with zstd (a
    /// few a round). Returns how many.
    async fn recode(&self, now: i64) -> Result<usize, StoreError> {
        // Without a hot tier, hot files left from a configuration with one are all due.
        let floor = if self.policy.hot_ms > 0 {
            now.saturating_sub(self.policy.hot_ms)
        } else {
            i64::MAX
        };
        let failed = self
            .recode_failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let failed = &failed;
        let due: Vec<(Scope, String, u64, crate::segment::SegmentMeta)> = {
            let st = self.read();
            st.scopes
                .iter()
                .flat_map(|(scope, groups)| {
                    groups.values().flat_map(move |g| {
                        g.segments
                            .iter()
                            .filter(move |m| m.key.ends_with(HOT_SUFFIX) && m.max_ts < floor)
                            .filter(|m| !failed.contains(&m.key))
                            .map(move |m| (scope.clone(), g.name.clone(), g.id, m.clone()))
                    })
                })
                .take(RECODES_PER_ROUND)
                .collect()
        };
        let mut recoded = 0;
        for (scope, name, id, m) in due {
            let (seq, key) = (m.max_seq, m.key.clone());
            match self
                .rewrite(scope, name, id, vec![m], |codec| {
                    format!("{SEGMENTS}{id}/{seq:020}.z{}", suffix(codec))
                })
                .await
            {
                Ok(true) => recoded += 1,
                Ok(false) => {}
                // The file stays as it is (its reads report the damage); upkeep goes on.
                Err(e) => {
                    tracing::error!(segment = key.as_str(), error = %e, "a hot segment could not be rewritten with zstd");
                    self.recode_failed
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(key);
                }
            }
        }
        Ok(recoded)
    }

    /// The codec of a new segment holding `streams`: LZ4 while its newest event is hot.
    fn codec_for(&self, streams: &[(String, Vec<crate::Event>)]) -> segment::Codec {
        let newest = streams
            .iter()
            .flat_map(|(_, e)| e.iter().map(|e| e.timestamp))
            .max();
        match newest {
            Some(t) if self.policy.hot_ms > 0 && t >= self.now() - self.policy.hot_ms => {
                segment::Codec::Lz4
            }
            _ => segment::Codec::Zstd,
        }
    }

    /// Replaces the segments `run` of a group by one file holding their events that are still
    /// visible (`key` names it, given its codec). False when the group changed meanwhile.
    async fn rewrite(
        &self,
        scope: Scope,
        name: String,
        id: u64,
        run: Vec<crate::segment::SegmentMeta>,
        key: impl Fn(segment::Codec) -> String,
    ) -> Result<bool, StoreError> {
        // What is still visible decides what the new file keeps.
        let (keep, floor) = {
            let st = self.read();
            let Some(g) = st.group(&scope, &name).filter(|g| g.id == id) else {
                return Ok(false);
            };
            let keep: std::collections::HashMap<String, u64> = g
                .streams
                .values()
                .map(|s| (s.name.clone(), s.first_seq))
                .collect();
            (keep, self.retention_floor(g).unwrap_or(i64::MIN))
        };
        let mut streams: std::collections::BTreeMap<String, Vec<crate::Event>> = Default::default();
        for m in &run {
            let d = self.segment(m)?;
            for (s, range) in &d.streams {
                let Some(first_seq) = keep.get(s) else {
                    continue;
                };
                streams.entry(s.clone()).or_default().extend(
                    range
                        .clone()
                        .map(|i| d.event(i))
                        .filter(|e| e.seq >= *first_seq && e.timestamp >= floor)
                        .map(|e| e.to_event()),
                );
            }
        }
        let streams: Vec<(String, Vec<crate::Event>)> = streams
            .into_iter()
            .filter(|(_, e)| !e.is_empty())
            .map(|(s, mut e)| {
                e.sort_unstable_by_key(|e| (e.timestamp, e.seq));
                (s, e)
            })
            .collect();
        let hi = run.iter().map(|m| m.max_seq).max().unwrap_or_default();
        let codec = self.codec_for(&streams);
        let key = key(codec);
        let (bytes, mut meta) =
            segment::encode(&key, &streams, self.policy.fields.as_deref(), codec).map_err(io)?;
        // An all-expired run still replaces its inputs, by an empty segment.
        meta.max_seq = meta.max_seq.max(hi);
        self.blobs.put(&key, &bytes).map_err(io)?;
        let old: Vec<String> = run.iter().map(|m| m.key.clone()).collect();
        match self
            .mutate(Mutation::ReplaceSegments {
                scope,
                group: name,
                group_id: id,
                old,
                new: meta,
            })
            .await
        {
            Ok(_) => Ok(true),
            Err(StoreError::Rejected(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Captures the state at a log rotation point, stores it, and drops the log before it.
    fn checkpoint(&self) -> Result<(), StoreError> {
        let state = self.state.clone();
        let n = nephoscope_storage::checkpoint::write(
            self.wal.as_ref(),
            self.blobs.as_ref(),
            move || {
                state
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .encode_snapshot()
            },
        )
        .map_err(io)?;
        tracing::debug!(checkpoint = n, "log store checkpoint");
        Ok(())
    }

    /// Deletes segment files no group refers to (deleted groups, expired segments, flushes that
    /// a crash interrupted before they were recorded). Runs only when no flush is in flight.
    pub(crate) fn collect_garbage(&self) -> std::io::Result<usize> {
        let referenced: std::collections::HashSet<String> = {
            let st = self.read();
            st.scopes
                .values()
                .flat_map(|g| g.values())
                .flat_map(|g| g.segments.iter().map(|m| m.key.clone()))
                .collect()
        };
        let mut deleted = 0;
        for key in self.blobs.list(SEGMENTS)? {
            if !referenced.contains(&key) {
                self.blobs.delete(&key)?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}
