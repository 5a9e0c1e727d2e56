//! The log store's state and the mutations that change it. Every mutation is a write-ahead log
//! record; `apply` is deterministic, so replaying the log rebuilds exactly the state that was
//! acknowledged.

use crate::segment::SegmentMeta;
use nephoscope_storage::codec::{DecodeError, Reader, Writer};
use std::collections::BTreeMap;

/// An account and region: the isolation boundary of every resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub timestamp: i64,
    pub ingestion_time: i64,
    /// Position in the store's total order of events; unique, increasing with ingestion.
    pub seq: u64,
    pub message: Box<str>,
}

#[derive(Debug, Clone, Default)]
pub struct Stream {
    pub name: String,
    /// The store's next seq when the stream was created: segment events of an earlier stream
    /// of the same name (deleted, then re-created) have lower seqs and stay hidden.
    pub first_seq: u64,
    pub creation_time: i64,
    pub first_event_timestamp: Option<i64>,
    pub last_event_timestamp: Option<i64>,
    pub last_ingestion_time: Option<i64>,
    pub stored_bytes: u64,
    /// Sorted by (timestamp, seq).
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Default)]
pub struct Group {
    /// Unique for the life of the store (a re-created group gets a new one).
    pub id: u64,
    pub name: String,
    pub creation_time: i64,
    pub retention_days: Option<u32>,
    pub class: String,
    pub kms_key_id: Option<String>,
    pub deletion_protection: bool,
    pub tags: BTreeMap<String, String>,
    pub streams: BTreeMap<String, Stream>,
    /// Flushed events, oldest flush first; the streams' `events` hold only newer ones.
    pub segments: Vec<SegmentMeta>,
    /// Metric filters by name.
    pub metric_filters: BTreeMap<String, MetricFilter>,
}

/// A metric filter: events matching `pattern` publish `transformations` (exactly one today).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricFilter {
    pub pattern: String,
    pub creation_time: i64,
    pub transformations: Vec<Transformation>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transformation {
    pub metric_name: String,
    pub namespace: String,
    /// A number, `$.json.selector` or `$field` of a space-delimited pattern.
    pub value: String,
    pub default_value: Option<f64>,
    /// Dimension name → `$.selector` / `$field`.
    pub dimensions: BTreeMap<String, String>,
    pub unit: Option<String>,
}

impl Group {
    pub fn stored_bytes(&self) -> u64 {
        self.streams.values().map(|s| s.stored_bytes).sum()
    }
}

#[derive(Debug, Default)]
pub struct State {
    pub scopes: BTreeMap<Scope, BTreeMap<String, Group>>,
    pub next_seq: u64,
    pub next_group_id: u64,
    /// Saved Logs Insights queries per account and region, by id.
    pub query_definitions: BTreeMap<Scope, BTreeMap<String, QueryDefinition>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryDefinition {
    pub name: String,
    pub query_string: String,
    pub log_group_names: Vec<String>,
    pub last_modified: i64,
    /// `CWLI`, `PPL` or `SQL` (definitions saved before languages were stored read as `CWLI`).
    pub query_language: String,
    /// Named placeholders (`{{name}}`) with their optional default and description.
    pub parameters: Vec<QueryParameter>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryParameter {
    pub name: String,
    pub default_value: Option<String>,
    pub description: Option<String>,
}

/// Saved queries per account and region (AWS's quota).
pub const MAX_QUERY_DEFINITIONS: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    CreateGroup {
        scope: Scope,
        name: String,
        creation_time: i64,
        class: String,
        kms_key_id: Option<String>,
        deletion_protection: bool,
        tags: BTreeMap<String, String>,
    },
    DeleteGroup {
        scope: Scope,
        name: String,
    },
    CreateStream {
        scope: Scope,
        group: String,
        name: String,
        creation_time: i64,
    },
    DeleteStream {
        scope: Scope,
        group: String,
        name: String,
    },
    PutEvents {
        scope: Scope,
        group: String,
        stream: String,
        ingestion_time: i64,
        /// (timestamp, message), already validated and in chronological order.
        events: Vec<(i64, String)>,
    },
    SetRetention {
        scope: Scope,
        group: String,
        days: Option<u32>,
    },
    Tag {
        scope: Scope,
        group: String,
        tags: BTreeMap<String, String>,
    },
    Untag {
        scope: Scope,
        group: String,
        keys: Vec<String>,
    },
    SetDeletionProtection {
        scope: Scope,
        group: String,
        enabled: bool,
    },
    /// Physically drops events older than `before` (retention).
    Expire {
        scope: Scope,
        group: String,
        before: i64,
    },
    /// Forgets everything (ephemeral servers' reset).
    Reset,
    /// A segment file holding the group's head events up to `meta.max_seq` is durable: the
    /// head drops those events and the group lists the segment.
    AddSegment {
        scope: Scope,
        group: String,
        group_id: u64,
        meta: SegmentMeta,
    },
    PutMetricFilter {
        scope: Scope,
        group: String,
        name: String,
        filter: MetricFilter,
    },
    DeleteMetricFilter {
        scope: Scope,
        group: String,
        name: String,
    },
    /// Creates or replaces a saved query. `create` refuses an id that exists; an update
    /// refuses one that does not.
    PutQueryDefinition {
        scope: Scope,
        id: String,
        create: bool,
        definition: QueryDefinition,
    },
    DeleteQueryDefinition {
        scope: Scope,
        id: String,
    },
    /// Compaction: the segments named by `old` are replaced by the one merged segment `new`.
    ReplaceSegments {
        scope: Scope,
        group: String,
        group_id: u64,
        old: Vec<String>,
        new: SegmentMeta,
    },
}

/// Why a mutation did not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("The specified log group already exists")]
    GroupExists,
    #[error("The specified log group does not exist.")]
    GroupNotFound,
    #[error("The specified log stream already exists")]
    StreamExists,
    #[error("The specified log stream does not exist.")]
    StreamNotFound,
    #[error("The log group has deletion protection enabled.")]
    DeletionProtected,
    #[error("The specified metric filter does not exist.")]
    FilterNotFound,
    #[error("A log group can have at most 100 metric filters.")]
    TooManyFilters,
    #[error("The specified query definition does not exist.")]
    QueryDefinitionNotFound,
    #[error("The account has reached the maximum of 1000 query definitions.")]
    TooManyQueryDefinitions,
}

/// What a successful mutation reports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Applied {
    /// For PutEvents: the seq of the first event stored.
    pub first_seq: u64,
}

impl State {
    pub fn group(&self, scope: &Scope, name: &str) -> Option<&Group> {
        self.scopes.get(scope)?.get(name)
    }

    fn group_mut(&mut self, scope: &Scope, name: &str) -> Result<&mut Group, Rejection> {
        self.scopes
            .get_mut(scope)
            .and_then(|g| g.get_mut(name))
            .ok_or(Rejection::GroupNotFound)
    }

    pub fn apply(&mut self, m: Mutation) -> Result<Applied, Rejection> {
        match m {
            Mutation::CreateGroup {
                scope,
                name,
                creation_time,
                class,
                kms_key_id,
                deletion_protection,
                tags,
            } => {
                let id = self.next_group_id;
                let groups = self.scopes.entry(scope).or_default();
                if groups.contains_key(&name) {
                    return Err(Rejection::GroupExists);
                }
                self.next_group_id += 1;
                groups.insert(
                    name.clone(),
                    Group {
                        id,
                        name,
                        creation_time,
                        class,
                        kms_key_id,
                        deletion_protection,
                        tags,
                        ..Group::default()
                    },
                );
            }
            Mutation::DeleteGroup { scope, name } => {
                let g = self.group_mut(&scope, &name)?;
                if g.deletion_protection {
                    return Err(Rejection::DeletionProtected);
                }
                if let Some(groups) = self.scopes.get_mut(&scope) {
                    groups.remove(&name);
                }
            }
            Mutation::CreateStream {
                scope,
                group,
                name,
                creation_time,
            } => {
                let first_seq = self.next_seq;
                let g = self.group_mut(&scope, &group)?;
                if g.streams.contains_key(&name) {
                    return Err(Rejection::StreamExists);
                }
                g.streams.insert(
                    name.clone(),
                    Stream {
                        name,
                        first_seq,
                        creation_time,
                        ..Stream::default()
                    },
                );
            }
            Mutation::DeleteStream { scope, group, name } => {
                let g = self.group_mut(&scope, &group)?;
                // Deletion protection blocks every deletion in the group, streams included.
                if g.deletion_protection {
                    return Err(Rejection::DeletionProtected);
                }
                g.streams.remove(&name).ok_or(Rejection::StreamNotFound)?;
            }
            Mutation::PutEvents {
                scope,
                group,
                stream,
                ingestion_time,
                events,
            } => {
                let first_seq = self.next_seq;
                let g = self.group_mut(&scope, &group)?;
                let s = g
                    .streams
                    .get_mut(&stream)
                    .ok_or(Rejection::StreamNotFound)?;
                let mut seq = first_seq;
                for (timestamp, message) in events {
                    s.stored_bytes += message.len() as u64;
                    s.first_event_timestamp = Some(
                        s.first_event_timestamp
                            .map_or(timestamp, |f| f.min(timestamp)),
                    );
                    s.last_event_timestamp = Some(
                        s.last_event_timestamp
                            .map_or(timestamp, |l| l.max(timestamp)),
                    );
                    let ev = Event {
                        timestamp,
                        ingestion_time,
                        seq,
                        message: message.into_boxed_str(),
                    };
                    // Batches are chronological; only out-of-order batches need an insert.
                    if s.events.last().is_none_or(|l| l.timestamp <= timestamp) {
                        s.events.push(ev);
                    } else {
                        let at = s.events.partition_point(|e| e.timestamp <= timestamp);
                        s.events.insert(at, ev);
                    }
                    seq += 1;
                }
                s.last_ingestion_time = Some(ingestion_time);
                self.next_seq = seq;
                return Ok(Applied { first_seq });
            }
            Mutation::SetRetention { scope, group, days } => {
                self.group_mut(&scope, &group)?.retention_days = days;
            }
            Mutation::Tag { scope, group, tags } => {
                self.group_mut(&scope, &group)?.tags.extend(tags);
            }
            Mutation::Untag { scope, group, keys } => {
                let g = self.group_mut(&scope, &group)?;
                for k in keys {
                    g.tags.remove(&k);
                }
            }
            Mutation::SetDeletionProtection {
                scope,
                group,
                enabled,
            } => {
                self.group_mut(&scope, &group)?.deletion_protection = enabled;
            }
            Mutation::Expire {
                scope,
                group,
                before,
            } => {
                let g = self.group_mut(&scope, &group)?;
                // Whole segments past retention go (their files are then unreferenced);
                // partly expired ones stay and reads hide their old events.
                g.segments.retain(|m| m.max_ts >= before);
                for s in g.streams.values_mut() {
                    let cut = s.events.partition_point(|e| e.timestamp < before);
                    if cut > 0 {
                        let freed: u64 =
                            s.events[..cut].iter().map(|e| e.message.len() as u64).sum();
                        s.events.drain(..cut);
                        s.stored_bytes -= freed;
                    }
                }
            }
            Mutation::Reset => {
                self.scopes.clear();
                self.query_definitions.clear();
            }
            Mutation::AddSegment {
                scope,
                group,
                group_id,
                meta,
            } => {
                let g = self.group_mut(&scope, &group)?;
                if g.id != group_id {
                    return Err(Rejection::GroupNotFound);
                }
                for name in &meta.streams {
                    if let Some(s) = g.streams.get_mut(name) {
                        s.events.retain(|e| e.seq > meta.max_seq);
                    }
                }
                g.segments.push(meta);
            }
            Mutation::PutMetricFilter {
                scope,
                group,
                name,
                filter,
            } => {
                let g = self.group_mut(&scope, &group)?;
                if !g.metric_filters.contains_key(&name)
                    && g.metric_filters.len() >= MAX_METRIC_FILTERS
                {
                    return Err(Rejection::TooManyFilters);
                }
                // Re-putting keeps the original creation time, as AWS does.
                let creation_time = g
                    .metric_filters
                    .get(&name)
                    .map_or(filter.creation_time, |f| f.creation_time);
                g.metric_filters.insert(
                    name,
                    MetricFilter {
                        creation_time,
                        ..filter
                    },
                );
            }
            Mutation::DeleteMetricFilter { scope, group, name } => {
                let g = self.group_mut(&scope, &group)?;
                g.metric_filters
                    .remove(&name)
                    .ok_or(Rejection::FilterNotFound)?;
            }
            Mutation::PutQueryDefinition {
                scope,
                id,
                create,
                definition,
            } => {
                let defs = self.query_definitions.entry(scope).or_default();
                match (create, defs.contains_key(&id)) {
                    (true, true) | (false, false) => {
                        return Err(Rejection::QueryDefinitionNotFound)
                    }
                    (true, false) if defs.len() >= MAX_QUERY_DEFINITIONS => {
                        return Err(Rejection::TooManyQueryDefinitions)
                    }
                    _ => {}
                }
                defs.insert(id, definition);
            }
            Mutation::DeleteQueryDefinition { scope, id } => {
                self.query_definitions
                    .get_mut(&scope)
                    .and_then(|d| d.remove(&id))
                    .ok_or(Rejection::QueryDefinitionNotFound)?;
            }
            Mutation::ReplaceSegments {
                scope,
                group,
                group_id,
                old,
                new,
            } => {
                let g = self.group_mut(&scope, &group)?;
                let all_there = old.iter().all(|k| g.segments.iter().any(|m| &m.key == k));
                if g.id != group_id || !all_there {
                    // Retention or a delete got there first; the merged file becomes garbage.
                    return Err(Rejection::GroupNotFound);
                }
                g.segments.retain(|m| !old.contains(&m.key));
                g.segments.push(new);
            }
        }
        Ok(Applied::default())
    }
}

fn scope_w(w: &mut Writer, s: &Scope) {
    w.str(&s.account);
    w.str(&s.region);
}

fn scope_r(r: &mut Reader<'_>) -> Result<Scope, DecodeError> {
    Ok(Scope {
        account: r.str()?,
        region: r.str()?,
    })
}

fn map_w(w: &mut Writer, m: &BTreeMap<String, String>) {
    w.u64(m.len() as u64);
    for (k, v) in m {
        w.str(k);
        w.str(v);
    }
}

fn map_r(r: &mut Reader<'_>) -> Result<BTreeMap<String, String>, DecodeError> {
    let n = r.u64()?;
    let mut m = BTreeMap::new();
    for _ in 0..n {
        let k = r.str()?;
        m.insert(k, r.str()?);
    }
    Ok(m)
}

/// Metric filters per log group (AWS's limit).
pub const MAX_METRIC_FILTERS: usize = 100;

fn filter_w(w: &mut Writer, f: &MetricFilter) {
    w.str(&f.pattern);
    w.i64(f.creation_time);
    w.u64(f.transformations.len() as u64);
    for t in &f.transformations {
        w.str(&t.metric_name);
        w.str(&t.namespace);
        w.str(&t.value);
        w.bool(t.default_value.is_some());
        w.f64(t.default_value.unwrap_or_default());
        map_w(w, &t.dimensions);
        w.opt_str(t.unit.as_deref());
    }
}

fn filter_r(r: &mut Reader<'_>) -> Result<MetricFilter, DecodeError> {
    let pattern = r.str()?;
    let creation_time = r.i64()?;
    let mut transformations = Vec::new();
    for _ in 0..r.u64()? {
        let metric_name = r.str()?;
        let namespace = r.str()?;
        let value = r.str()?;
        let has_default = r.bool()?;
        let default = r.f64()?;
        transformations.push(Transformation {
            metric_name,
            namespace,
            value,
            default_value: has_default.then_some(default),
            dimensions: map_r(r)?,
            unit: r.opt_str()?,
        });
    }
    Ok(MetricFilter {
        pattern,
        creation_time,
        transformations,
    })
}

fn query_definition_w(w: &mut Writer, d: &QueryDefinition) {
    w.str(&d.name);
    w.str(&d.query_string);
    w.u64(d.log_group_names.len() as u64);
    for g in &d.log_group_names {
        w.str(g);
    }
    w.i64(d.last_modified);
    w.str(&d.query_language);
    w.u64(d.parameters.len() as u64);
    for p in &d.parameters {
        w.str(&p.name);
        w.opt_str(p.default_value.as_deref());
        w.opt_str(p.description.as_deref());
    }
}

/// `extended`: written with the language and parameters (WAL tag 18, snapshot version 2);
/// older records end at `last_modified` and read as CWLI without parameters.
fn query_definition_r(r: &mut Reader<'_>, extended: bool) -> Result<QueryDefinition, DecodeError> {
    let name = r.str()?;
    let query_string = r.str()?;
    let mut log_group_names = Vec::new();
    for _ in 0..r.u64()? {
        log_group_names.push(r.str()?);
    }
    let last_modified = r.i64()?;
    let (query_language, mut parameters) = if extended {
        (r.str()?, Vec::new())
    } else {
        ("CWLI".to_owned(), Vec::new())
    };
    if extended {
        for _ in 0..r.u64()? {
            parameters.push(QueryParameter {
                name: r.str()?,
                default_value: r.opt_str()?,
                description: r.opt_str()?,
            });
        }
    }
    Ok(QueryDefinition {
        name,
        query_string,
        log_group_names,
        last_modified,
        query_language,
        parameters,
    })
}

fn segment_w(w: &mut Writer, m: &SegmentMeta) {
    w.str(&m.key);
    w.i64(m.min_ts);
    w.i64(m.max_ts);
    w.u64(m.count);
    w.u64(m.raw_bytes);
    w.u64(m.file_bytes);
    w.u64(m.max_seq);
    w.u64(m.streams.len() as u64);
    for s in &m.streams {
        w.str(s);
    }
}

fn segment_r(r: &mut Reader<'_>) -> Result<SegmentMeta, DecodeError> {
    let key = r.str()?;
    let min_ts = r.i64()?;
    let max_ts = r.i64()?;
    let count = r.u64()?;
    let raw_bytes = r.u64()?;
    let file_bytes = r.u64()?;
    let max_seq = r.u64()?;
    let n = r.u64()?;
    let mut streams = Vec::new();
    for _ in 0..n {
        streams.push(r.str()?);
    }
    Ok(SegmentMeta {
        key,
        min_ts,
        max_ts,
        count,
        raw_bytes,
        file_bytes,
        max_seq,
        streams,
    })
}

impl State {
    /// The whole state as a checkpoint: catalog, segment lists and head events.
    pub fn encode_snapshot(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(2); // snapshot format version (2: query definitions carry language and parameters)
        w.u64(self.next_seq);
        w.u64(self.next_group_id);
        w.u64(self.scopes.len() as u64);
        for (scope, groups) in &self.scopes {
            scope_w(&mut w, scope);
            w.u64(groups.len() as u64);
            for g in groups.values() {
                w.u64(g.id);
                w.str(&g.name);
                w.i64(g.creation_time);
                w.u64(g.retention_days.map_or(0, u64::from));
                w.str(&g.class);
                w.opt_str(g.kms_key_id.as_deref());
                w.bool(g.deletion_protection);
                map_w(&mut w, &g.tags);
                w.u64(g.metric_filters.len() as u64);
                for (name, f) in &g.metric_filters {
                    w.str(name);
                    filter_w(&mut w, f);
                }
                w.u64(g.segments.len() as u64);
                for m in &g.segments {
                    segment_w(&mut w, m);
                }
                w.u64(g.streams.len() as u64);
                for s in g.streams.values() {
                    w.str(&s.name);
                    w.u64(s.first_seq);
                    w.i64(s.creation_time);
                    for v in [
                        s.first_event_timestamp,
                        s.last_event_timestamp,
                        s.last_ingestion_time,
                    ] {
                        w.bool(v.is_some());
                        w.i64(v.unwrap_or_default());
                    }
                    w.u64(s.stored_bytes);
                    w.u64(s.events.len() as u64);
                    for e in &s.events {
                        w.i64(e.timestamp);
                        w.i64(e.ingestion_time);
                        w.u64(e.seq);
                        w.str(&e.message);
                    }
                }
            }
        }
        w.u64(self.query_definitions.len() as u64);
        for (scope, defs) in &self.query_definitions {
            scope_w(&mut w, scope);
            w.u64(defs.len() as u64);
            for (id, d) in defs {
                w.str(id);
                query_definition_w(&mut w, d);
            }
        }
        w.buf
    }

    pub fn decode_snapshot(data: &[u8]) -> Result<State, DecodeError> {
        let mut r = Reader::new(data);
        let version = r.u8()?;
        if !(1..=2).contains(&version) {
            return Err(DecodeError(0));
        }
        let mut st = State {
            next_seq: r.u64()?,
            next_group_id: r.u64()?,
            ..State::default()
        };
        for _ in 0..r.u64()? {
            let scope = scope_r(&mut r)?;
            let mut groups = BTreeMap::new();
            for _ in 0..r.u64()? {
                let mut g = Group {
                    id: r.u64()?,
                    name: r.str()?,
                    creation_time: r.i64()?,
                    retention_days: match r.u64()? {
                        0 => None,
                        d => Some(u32::try_from(d).map_err(|_| DecodeError(0))?),
                    },
                    class: r.str()?,
                    kms_key_id: r.opt_str()?,
                    deletion_protection: r.bool()?,
                    tags: map_r(&mut r)?,
                    ..Group::default()
                };
                for _ in 0..r.u64()? {
                    let name = r.str()?;
                    g.metric_filters.insert(name, filter_r(&mut r)?);
                }
                for _ in 0..r.u64()? {
                    g.segments.push(segment_r(&mut r)?);
                }
                for _ in 0..r.u64()? {
                    let mut s = Stream {
                        name: r.str()?,
                        first_seq: r.u64()?,
                        creation_time: r.i64()?,
                        ..Stream::default()
                    };
                    let mut opt = || -> Result<Option<i64>, DecodeError> {
                        let some = r.bool()?;
                        let v = r.i64()?;
                        Ok(some.then_some(v))
                    };
                    s.first_event_timestamp = opt()?;
                    s.last_event_timestamp = opt()?;
                    s.last_ingestion_time = opt()?;
                    s.stored_bytes = r.u64()?;
                    for _ in 0..r.u64()? {
                        s.events.push(Event {
                            timestamp: r.i64()?,
                            ingestion_time: r.i64()?,
                            seq: r.u64()?,
                            message: r.str()?.into_boxed_str(),
                        });
                    }
                    g.streams.insert(s.name.clone(), s);
                }
                groups.insert(g.name.clone(), g);
            }
            st.scopes.insert(scope, groups);
        }
        for _ in 0..r.u64()? {
            let scope = scope_r(&mut r)?;
            let mut defs = BTreeMap::new();
            for _ in 0..r.u64()? {
                let id = r.str()?;
                defs.insert(id, query_definition_r(&mut r, version >= 2)?);
            }
            st.query_definitions.insert(scope, defs);
        }
        if !r.done() {
            return Err(DecodeError(data.len()));
        }
        Ok(st)
    }
}

impl Mutation {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        match self {
            Mutation::CreateGroup {
                scope,
                name,
                creation_time,
                class,
                kms_key_id,
                deletion_protection,
                tags,
            } => {
                w.u8(1);
                scope_w(&mut w, scope);
                w.str(name);
                w.i64(*creation_time);
                w.str(class);
                w.opt_str(kms_key_id.as_deref());
                w.bool(*deletion_protection);
                map_w(&mut w, tags);
            }
            Mutation::DeleteGroup { scope, name } => {
                w.u8(2);
                scope_w(&mut w, scope);
                w.str(name);
            }
            Mutation::CreateStream {
                scope,
                group,
                name,
                creation_time,
            } => {
                w.u8(3);
                scope_w(&mut w, scope);
                w.str(group);
                w.str(name);
                w.i64(*creation_time);
            }
            Mutation::DeleteStream { scope, group, name } => {
                w.u8(4);
                scope_w(&mut w, scope);
                w.str(group);
                w.str(name);
            }
            Mutation::PutEvents {
                scope,
                group,
                stream,
                ingestion_time,
                events,
            } => {
                w.buf
                    .reserve(events.iter().map(|(_, m)| m.len() + 12).sum::<usize>() + 64);
                w.u8(5);
                scope_w(&mut w, scope);
                w.str(group);
                w.str(stream);
                w.i64(*ingestion_time);
                w.u64(events.len() as u64);
                for (ts, msg) in events {
                    w.i64(*ts);
                    w.str(msg);
                }
            }
            Mutation::SetRetention { scope, group, days } => {
                w.u8(6);
                scope_w(&mut w, scope);
                w.str(group);
                w.u64(days.map_or(0, u64::from));
            }
            Mutation::Tag { scope, group, tags } => {
                w.u8(7);
                scope_w(&mut w, scope);
                w.str(group);
                map_w(&mut w, tags);
            }
            Mutation::Untag { scope, group, keys } => {
                w.u8(8);
                scope_w(&mut w, scope);
                w.str(group);
                w.u64(keys.len() as u64);
                for k in keys {
                    w.str(k);
                }
            }
            Mutation::SetDeletionProtection {
                scope,
                group,
                enabled,
            } => {
                w.u8(9);
                scope_w(&mut w, scope);
                w.str(group);
                w.bool(*enabled);
            }
            Mutation::Expire {
                scope,
                group,
                before,
            } => {
                w.u8(10);
                scope_w(&mut w, scope);
                w.str(group);
                w.i64(*before);
            }
            Mutation::Reset => w.u8(11),
            Mutation::AddSegment {
                scope,
                group,
                group_id,
                meta,
            } => {
                w.u8(12);
                scope_w(&mut w, scope);
                w.str(group);
                w.u64(*group_id);
                segment_w(&mut w, meta);
            }
            Mutation::PutMetricFilter {
                scope,
                group,
                name,
                filter,
            } => {
                w.u8(14);
                scope_w(&mut w, scope);
                w.str(group);
                w.str(name);
                filter_w(&mut w, filter);
            }
            Mutation::DeleteMetricFilter { scope, group, name } => {
                w.u8(15);
                scope_w(&mut w, scope);
                w.str(group);
                w.str(name);
            }
            Mutation::PutQueryDefinition {
                scope,
                id,
                create,
                definition,
            } => {
                w.u8(18); // 16 before query definitions had a language and parameters
                scope_w(&mut w, scope);
                w.str(id);
                w.bool(*create);
                query_definition_w(&mut w, definition);
            }
            Mutation::DeleteQueryDefinition { scope, id } => {
                w.u8(17);
                scope_w(&mut w, scope);
                w.str(id);
            }
            Mutation::ReplaceSegments {
                scope,
                group,
                group_id,
                old,
                new,
            } => {
                w.u8(13);
                scope_w(&mut w, scope);
                w.str(group);
                w.u64(*group_id);
                w.u64(old.len() as u64);
                for k in old {
                    w.str(k);
                }
                segment_w(&mut w, new);
            }
        }
        w.buf
    }

    pub fn decode(data: &[u8]) -> Result<Mutation, DecodeError> {
        let mut r = Reader::new(data);
        let m = match r.u8()? {
            1 => Mutation::CreateGroup {
                scope: scope_r(&mut r)?,
                name: r.str()?,
                creation_time: r.i64()?,
                class: r.str()?,
                kms_key_id: r.opt_str()?,
                deletion_protection: r.bool()?,
                tags: map_r(&mut r)?,
            },
            2 => Mutation::DeleteGroup {
                scope: scope_r(&mut r)?,
                name: r.str()?,
            },
            3 => Mutation::CreateStream {
                scope: scope_r(&mut r)?,
                group: r.str()?,
                name: r.str()?,
                creation_time: r.i64()?,
            },
            4 => Mutation::DeleteStream {
                scope: scope_r(&mut r)?,
                group: r.str()?,
                name: r.str()?,
            },
            5 => {
                let scope = scope_r(&mut r)?;
                let group = r.str()?;
                let stream = r.str()?;
                let ingestion_time = r.i64()?;
                let n = r.u64()? as usize;
                let mut events = Vec::with_capacity(n.min(10_000));
                for _ in 0..n {
                    let ts = r.i64()?;
                    events.push((ts, r.str()?));
                }
                Mutation::PutEvents {
                    scope,
                    group,
                    stream,
                    ingestion_time,
                    events,
                }
            }
            6 => Mutation::SetRetention {
                scope: scope_r(&mut r)?,
                group: r.str()?,
                days: match r.u64()? {
                    0 => None,
                    d => Some(u32::try_from(d).map_err(|_| DecodeError(0))?),
                },
            },
            7 => Mutation::Tag {
                scope: scope_r(&mut r)?,
                group: r.str()?,
                tags: map_r(&mut r)?,
            },
            8 => {
                let scope = scope_r(&mut r)?;
                let group = r.str()?;
                let n = r.u64()?;
                let mut keys = Vec::new();
                for _ in 0..n {
                    keys.push(r.str()?);
                }
                Mutation::Untag { scope, group, keys }
            }
            9 => Mutation::SetDeletionProtection {
                scope: scope_r(&mut r)?,
                group: r.str()?,
                enabled: r.bool()?,
            },
            10 => Mutation::Expire {
                scope: scope_r(&mut r)?,
                group: r.str()?,
                before: r.i64()?,
            },
            11 => Mutation::Reset,
            12 => Mutation::AddSegment {
                scope: scope_r(&mut r)?,
                group: r.str()?,
                group_id: r.u64()?,
                meta: segment_r(&mut r)?,
            },
            14 => Mutation::PutMetricFilter {
                scope: scope_r(&mut r)?,
                group: r.str()?,
                name: r.str()?,
                filter: filter_r(&mut r)?,
            },
            15 => Mutation::DeleteMetricFilter {
                scope: scope_r(&mut r)?,
                group: r.str()?,
                name: r.str()?,
            },
            tag @ (16 | 18) => Mutation::PutQueryDefinition {
                scope: scope_r(&mut r)?,
                id: r.str()?,
                create: r.bool()?,
                definition: query_definition_r(&mut r, tag == 18)?,
            },
            17 => Mutation::DeleteQueryDefinition {
                scope: scope_r(&mut r)?,
                id: r.str()?,
            },
            13 => {
                let scope = scope_r(&mut r)?;
                let group = r.str()?;
                let group_id = r.u64()?;
                let mut old = Vec::new();
                for _ in 0..r.u64()? {
                    old.push(r.str()?);
                }
                Mutation::ReplaceSegments {
                    scope,
                    group,
                    group_id,
                    old,
                    new: segment_r(&mut r)?,
                }
            }
            _ => return Err(DecodeError(0)),
        };
        if !r.done() {
            return Err(DecodeError(data.len()));
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            account: "000000000000".into(),
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn every_mutation_round_trips() {
        let s = scope();
        let all = vec![
            Mutation::CreateGroup {
                scope: s.clone(),
                name: "g".into(),
                creation_time: 5,
                class: "STANDARD".into(),
                kms_key_id: Some("k".into()),
                deletion_protection: true,
                tags: [("a".to_string(), "b".to_string())].into(),
            },
            Mutation::DeleteGroup {
                scope: s.clone(),
                name: "g".into(),
            },
            Mutation::CreateStream {
                scope: s.clone(),
                group: "g".into(),
                name: "s".into(),
                creation_time: -1,
            },
            Mutation::DeleteStream {
                scope: s.clone(),
                group: "g".into(),
                name: "s".into(),
            },
            Mutation::PutEvents {
                scope: s.clone(),
                group: "g".into(),
                stream: "s".into(),
                ingestion_time: 9,
                events: vec![(1, "a".into()), (2, "ü".into())],
            },
            Mutation::SetRetention {
                scope: s.clone(),
                group: "g".into(),
                days: Some(7),
            },
            Mutation::SetRetention {
                scope: s.clone(),
                group: "g".into(),
                days: None,
            },
            Mutation::Tag {
                scope: s.clone(),
                group: "g".into(),
                tags: BTreeMap::new(),
            },
            Mutation::Untag {
                scope: s.clone(),
                group: "g".into(),
                keys: vec!["a".into()],
            },
            Mutation::SetDeletionProtection {
                scope: s.clone(),
                group: "g".into(),
                enabled: false,
            },
            Mutation::Expire {
                scope: s,
                group: "g".into(),
                before: 100,
            },
            Mutation::Reset,
            Mutation::PutMetricFilter {
                scope: scope(),
                group: "g".into(),
                name: "f".into(),
                filter: MetricFilter {
                    pattern: "[ip, user, status=5*]".into(),
                    creation_time: 3,
                    transformations: vec![Transformation {
                        metric_name: "Errors".into(),
                        namespace: "App".into(),
                        value: "$status".into(),
                        default_value: Some(0.0),
                        dimensions: [("User".to_string(), "$user".to_string())].into(),
                        unit: Some("Count".into()),
                    }],
                },
            },
            Mutation::DeleteMetricFilter {
                scope: scope(),
                group: "g".into(),
                name: "f".into(),
            },
            Mutation::PutQueryDefinition {
                scope: scope(),
                id: "q".into(),
                create: true,
                definition: QueryDefinition {
                    name: "errors".into(),
                    query_string: "filter @message like /ERROR/".into(),
                    log_group_names: vec!["g".into()],
                    last_modified: 9,
                    query_language: "CWLI".into(),
                    parameters: vec![QueryParameter {
                        name: "level".into(),
                        default_value: Some("ERROR".into()),
                        description: None,
                    }],
                },
            },
            Mutation::DeleteQueryDefinition {
                scope: scope(),
                id: "q".into(),
            },
            Mutation::AddSegment {
                scope: scope(),
                group: "g".into(),
                group_id: 3,
                meta: SegmentMeta {
                    key: "segments/3/1.seg".into(),
                    min_ts: -1,
                    max_ts: 9,
                    count: 2,
                    raw_bytes: 7,
                    file_bytes: 40,
                    max_seq: 11,
                    streams: vec!["s".into()],
                },
            },
        ];
        for m in all {
            assert_eq!(Mutation::decode(&m.encode()).unwrap(), m);
        }
        assert!(Mutation::decode(&[]).is_err());
        assert!(Mutation::decode(&[99]).is_err());
    }

    /// Query definitions written before they carried a language and parameters (WAL tag 16,
    /// snapshot version 1) still read, as CWLI without parameters.
    #[test]
    fn older_query_definition_records_read() {
        let mut w = Writer::default();
        w.u8(16);
        scope_w(&mut w, &scope());
        w.str("q");
        w.bool(true);
        w.str("errors");
        w.str("filter @message like /ERROR/");
        w.u64(1);
        w.str("g");
        w.i64(9);
        let Mutation::PutQueryDefinition { definition, .. } = Mutation::decode(&w.buf).unwrap()
        else {
            panic!("not a PutQueryDefinition")
        };
        assert_eq!(
            definition,
            QueryDefinition {
                name: "errors".into(),
                query_string: "filter @message like /ERROR/".into(),
                log_group_names: vec!["g".into()],
                last_modified: 9,
                query_language: "CWLI".into(),
                parameters: vec![],
            }
        );

        let mut w = Writer::default();
        w.u8(1);
        w.u64(7); // next_seq
        w.u64(3); // next_group_id
        w.u64(0); // no groups
        w.u64(1);
        scope_w(&mut w, &scope());
        w.u64(1);
        w.str("q");
        w.str("errors");
        w.str("fields @message");
        w.u64(0);
        w.i64(9);
        let st = State::decode_snapshot(&w.buf).unwrap();
        let d = &st.query_definitions[&scope()]["q"];
        assert_eq!((d.query_language.as_str(), d.parameters.len()), ("CWLI", 0));
        assert_eq!(st.next_seq, 7);
        // And the current format round-trips language and parameters.
        let again = State::decode_snapshot(&st.encode_snapshot()).unwrap();
        assert_eq!(again.query_definitions, st.query_definitions);
    }

    #[test]
    fn apply_rules_table() {
        let s = scope();
        let mut st = State::default();
        let create = |name: &str| Mutation::CreateGroup {
            scope: s.clone(),
            name: name.into(),
            creation_time: 0,
            class: "STANDARD".into(),
            kms_key_id: None,
            deletion_protection: false,
            tags: BTreeMap::new(),
        };
        assert!(st.apply(create("g")).is_ok());
        assert_eq!(st.apply(create("g")), Err(Rejection::GroupExists));
        let put = |ts: Vec<i64>| Mutation::PutEvents {
            scope: s.clone(),
            group: "g".into(),
            stream: "s".into(),
            ingestion_time: 10,
            events: ts.into_iter().map(|t| (t, format!("m{t}"))).collect(),
        };
        assert_eq!(st.apply(put(vec![1])), Err(Rejection::StreamNotFound));
        st.apply(Mutation::CreateStream {
            scope: s.clone(),
            group: "g".into(),
            name: "s".into(),
            creation_time: 0,
        })
        .unwrap();
        st.apply(put(vec![5, 6])).unwrap();
        let applied = st.apply(put(vec![1, 7])).unwrap();
        assert_eq!(applied.first_seq, 2);
        let stream = &st.group(&s, "g").unwrap().streams["s"];
        let order: Vec<i64> = stream.events.iter().map(|e| e.timestamp).collect();
        assert_eq!(order, vec![1, 5, 6, 7]);
        assert_eq!(
            (stream.first_event_timestamp, stream.last_event_timestamp),
            (Some(1), Some(7))
        );
        st.apply(Mutation::Expire {
            scope: s.clone(),
            group: "g".into(),
            before: 6,
        })
        .unwrap();
        let stream = &st.group(&s, "g").unwrap().streams["s"];
        assert_eq!(stream.events.len(), 2);
        assert_eq!(stream.stored_bytes, 4);
        st.apply(Mutation::SetDeletionProtection {
            scope: s.clone(),
            group: "g".into(),
            enabled: true,
        })
        .unwrap();
        assert_eq!(
            st.apply(Mutation::DeleteGroup {
                scope: s.clone(),
                name: "g".into()
            }),
            Err(Rejection::DeletionProtected)
        );
        let other = Scope {
            account: "111111111111".into(),
            region: "us-east-1".into(),
        };
        assert!(st.group(&other, "g").is_none(), "accounts are isolated");
    }
}
