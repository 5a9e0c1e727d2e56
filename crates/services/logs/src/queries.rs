//! Logs Insights query API: StartQuery runs the Insights engine over the log store in the
//! background; GetQueryResults shows partial then final rows; StopQuery, DescribeQueries,
//! GetLogRecord (by `@ptr`) and GetLogGroupFields (field discovery) complete the family.

use crate::{
    decode_token, encode_token, error, invalid, output, resolve_identifier, scope, store_error,
};
use base64::Engine;
use nephoscope_insights as insights;
use nephoscope_logstore::{FilterQuery, LogStore, Scope, StreamSelection};
use nephoscope_model::types::logs::*;
use nephoscope_storage::blob::BlobStore;
use nephoscope_storage::codec::{Reader, Writer};
use nephoscope_wire::{ApiError, RequestContext};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Limits of Logs Insights queries: AWS's values by default, raisable by configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Queries one account may run at once.
    pub max_concurrent: usize,
    /// Log groups one query may read.
    pub max_log_groups: usize,
    /// Longest run before the query ends with status Timeout.
    pub timeout: std::time::Duration,
    /// Longest run of one subquery (AWS: "Inner query execution is limited to 30 seconds");
    /// longer fails the query.
    pub subquery_timeout: std::time::Duration,
    /// Most rows a subquery without its own `limit` may return (AWS's default result size);
    /// more fails the query rather than comparing with a cut-off set.
    pub subquery_max_rows: usize,
    /// Most distinct key values on the right side of a join (AWS: 50,000); more fails the
    /// query.
    pub join_max_keys: usize,
    /// How long StartQuery waits for its query to end before answering: a query done by then
    /// is Complete at the first GetQueryResults.
    pub start_wait: std::time::Duration,
    /// Most rows a query may hold when every matching record must be kept (row commands such
    /// as SQL's windows or `expand` over whole records); more fails the query.
    pub max_held_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_concurrent: 100,
            max_log_groups: 50,
            timeout: std::time::Duration::from_secs(3600),
            subquery_timeout: std::time::Duration::from_secs(30),
            subquery_max_rows: DEFAULT_LIMIT,
            join_max_keys: 50_000,
            start_wait: std::time::Duration::from_millis(20),
            max_held_rows: 1_000_000,
        }
    }
}
/// Default and largest number of result rows.
pub const DEFAULT_LIMIT: usize = 10_000;
/// The latest time a query may name, in epoch seconds (9999-12-31T23:59:59Z).
const MAX_EPOCH_S: i64 = 253_402_300_799;
/// Publish partial results every this many scanned events.
const PARTIAL_EVERY: u64 = 50_000;
/// GetLogGroupFields searches 8 minutes either side of `time`, or the last 15 minutes.
const FIELDS_AROUND_MS: i64 = 8 * 60 * 1000;
const FIELDS_RECENT_MS: i64 = 15 * 60 * 1000;
const FIELDS_SAMPLE: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Scheduled,
    Running,
    Complete,
    Failed,
    Cancelled,
    Timeout,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "Scheduled",
            Status::Running => "Running",
            Status::Complete => "Complete",
            Status::Failed => "Failed",
            Status::Cancelled => "Cancelled",
            Status::Timeout => "Timeout",
        }
    }
}

struct Entry {
    scope: Scope,
    query_string: String,
    /// `CWLI` or `PPL`.
    language: String,
    groups: Vec<String>,
    create_time: i64,
    status: Status,
    rows: Vec<Vec<(String, String)>>,
    stats: insights::Stats,
    duration_ms: i64,
    cancel: Arc<AtomicBool>,
}

/// A query and its results are kept this long after it starts (AWS: results are available
/// for 7 days).
pub const KEPT_MS: i64 = 7 * 86_400_000;

/// Queries of every account, by id, for [`KEPT_MS`]. With a blob store, every ended query is
/// written there (fsync'd) and read back when the server starts, so results outlive restarts.
#[derive(Default)]
pub struct Queries {
    entries: Mutex<HashMap<String, Entry>>,
    pub limits: Limits,
    results: Option<Arc<dyn BlobStore>>,
}

const RESULTS: &str = "results/";

impl Queries {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn with_limits(limits: Limits) -> Queries {
        Queries {
            limits,
            ..Queries::default()
        }
    }

    /// Keeps ended queries in `blobs`, loading those younger than [`KEPT_MS`] at `now_ms` and
    /// deleting older ones.
    pub fn keep_results(&mut self, blobs: Arc<dyn BlobStore>, now_ms: i64) -> std::io::Result<()> {
        let mut entries = self.lock();
        for key in blobs.list(RESULTS)? {
            let id = key.trim_start_matches(RESULTS).to_string();
            match decode_entry(&blobs.get(&key)?) {
                Some(e) if now_ms - e.create_time < KEPT_MS => {
                    entries.insert(id, e);
                }
                Some(_) => blobs.delete(&key)?,
                None => {
                    tracing::warn!(key, "unreadable query result skipped");
                }
            }
        }
        drop(entries);
        self.results = Some(blobs);
        Ok(())
    }

    /// Drops queries older than [`KEPT_MS`] (and their stored results).
    fn expire(&self, now_ms: i64) {
        let old: Vec<String> = {
            let mut q = self.lock();
            let old: Vec<String> = q
                .iter()
                .filter(|(_, e)| now_ms - e.create_time >= KEPT_MS)
                .map(|(id, _)| id.clone())
                .collect();
            for id in &old {
                q.remove(id);
            }
            old
        };
        if let Some(blobs) = &self.results {
            for id in old {
                if let Err(e) = blobs.delete(&format!("{RESULTS}{id}")) {
                    tracing::warn!(query_id = id, error = %e, "cannot delete an expired query result");
                }
            }
        }
    }

    /// Writes the ended query `id` to the blob store, if there is one.
    fn persist(&self, id: &str) {
        let Some(blobs) = &self.results else {
            return;
        };
        let Some(bytes) = self.lock().get(id).map(encode_entry) else {
            return;
        };
        if let Err(e) = blobs.put(&format!("{RESULTS}{id}"), &bytes) {
            tracing::error!(query_id = id, error = %e, "cannot store the query's results");
        }
    }

    pub fn clear(&self) {
        let ids: Vec<String> = self.lock().drain().map(|(id, _)| id).collect();
        if let Some(blobs) = &self.results {
            for id in ids {
                let _ = blobs.delete(&format!("{RESULTS}{id}"));
            }
        }
    }
}

fn encode_entry(e: &Entry) -> Vec<u8> {
    let mut w = Writer::default();
    // Version 2 adds the query language after the query (version 1: CWLI).
    w.u8(2);
    w.str(&e.scope.account);
    w.str(&e.scope.region);
    w.str(&e.query_string);
    w.str(&e.language);
    w.u64(e.groups.len() as u64);
    for g in &e.groups {
        w.str(g);
    }
    w.i64(e.create_time);
    w.str(e.status.as_str());
    for x in [
        e.stats.records_scanned,
        e.stats.records_matched,
        e.stats.bytes_scanned,
    ] {
        w.f64(x);
    }
    w.i64(e.duration_ms);
    w.u64(e.rows.len() as u64);
    for row in &e.rows {
        w.u64(row.len() as u64);
        for (f, v) in row {
            w.str(f);
            w.str(v);
        }
    }
    w.buf
}

fn decode_entry(data: &[u8]) -> Option<Entry> {
    let mut r = Reader::new(data);
    let version = r.u8().ok()?;
    if !(1..=2).contains(&version) {
        return None;
    }
    let scope = Scope {
        account: r.str().ok()?,
        region: r.str().ok()?,
    };
    let query_string = r.str().ok()?;
    let language = match version {
        1 => "CWLI".to_string(),
        _ => r.str().ok()?,
    };
    let mut groups = Vec::new();
    for _ in 0..r.u64().ok()? {
        groups.push(r.str().ok()?);
    }
    let create_time = r.i64().ok()?;
    let status = match r.str().ok()?.as_str() {
        "Complete" => Status::Complete,
        "Failed" => Status::Failed,
        "Cancelled" => Status::Cancelled,
        "Timeout" => Status::Timeout,
        _ => return None,
    };
    let stats = insights::Stats {
        records_scanned: r.f64().ok()?,
        records_matched: r.f64().ok()?,
        bytes_scanned: r.f64().ok()?,
    };
    let duration_ms = r.i64().ok()?;
    let mut rows = Vec::new();
    for _ in 0..r.u64().ok()? {
        let mut row = Vec::new();
        for _ in 0..r.u64().ok()? {
            row.push((r.str().ok()?, r.str().ok()?));
        }
        rows.push(row);
    }
    r.done().then_some(Entry {
        scope,
        query_string,
        language,
        groups,
        create_time,
        status,
        rows,
        stats,
        duration_ms,
        cancel: Arc::new(AtomicBool::new(false)),
    })
}

/// `@ptr`: an opaque, URL-safe reference to one event of the caller's account.
pub(crate) fn encode_ptr(group: &str, stream: &str, ts: i64, seq: u64) -> String {
    let raw = format!("{group}\u{1f}{stream}\u{1f}{ts}\u{1f}{seq}");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_ptr(ptr: &str) -> Option<(String, String, i64, u64)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(ptr)
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let mut parts = raw.split('\u{1f}');
    let (g, s, ts, seq) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    Some((g.into(), s.into(), ts.parse().ok()?, seq.parse().ok()?))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn malformed(e: &insights::QueryError) -> ApiError {
    error("MalformedQueryException", e.message.clone()).with_field(
        "queryCompileError",
        serde_json::json!({
            "location": { "startCharOffset": e.start, "endCharOffset": e.end },
            "message": e.message,
        }),
    )
}

/// StartQuery: the query is started, then waited for up to [`Limits::start_wait`].
pub async fn start(
    store: &Arc<LogStore>,
    queries: &Arc<Queries>,
    lookups: &crate::lookups::LookupTables,
    ctx: &RequestContext,
    req: StartQueryRequest,
) -> Result<Value, ApiError> {
    let (out, running) = launch(store, queries, lookups, ctx, req)?;
    let wait = queries.limits.start_wait;
    if !wait.is_zero() {
        // The query goes on if it is not done by then; its answer is already made.
        let _ = tokio::time::timeout(wait, running).await;
    }
    Ok(out)
}

/// Starts a query: its id, and a receiver told when its status is final.
fn launch(
    store: &Arc<LogStore>,
    queries: &Arc<Queries>,
    lookups: &crate::lookups::LookupTables,
    ctx: &RequestContext,
    req: StartQueryRequest,
) -> Result<(Value, tokio::sync::oneshot::Receiver<()>), ApiError> {
    let scope = scope(ctx);
    let language = req.query_language.clone().unwrap_or_else(|| "CWLI".into());
    let query_string = req.query_string.clone().unwrap_or_default();
    let mut query = match language.as_str() {
        "CWLI" => insights::parse(&query_string),
        // A subset of OpenSearch PPL and of SQL, translated (`crates/engines/insights/src/ppl.rs`,
        // `sql.rs`).
        "PPL" => insights::parse_ppl(&query_string),
        "SQL" => insights::parse_sql(&query_string),
        other => {
            return Err(invalid(format!(
                "queryLanguage {other} is not supported by Nephoscope yet; use CWLI, PPL or SQL"
            )))
        }
    }
    .map_err(|e| malformed(&e))?;
    query.hold_at_most(queries.limits.max_held_rows);
    query
        .attach_lookups(&|name| lookups.get(&scope, name).map(|t| (t.fields, t.records)))
        .map_err(|e| match e {
            insights::LookupError::NoTable(_) => error(
                "ResourceNotFoundException",
                format!("{}.", capitalize(&e.to_string())),
            ),
            _ => invalid(format!("{}.", capitalize(&e.to_string()))),
        })?;
    let named = req.log_group_name.is_some()
        || req.log_group_names.is_some()
        || req.log_group_identifiers.is_some();
    let groups: Vec<String> = match (
        &req.log_group_name,
        &req.log_group_names,
        &req.log_group_identifiers,
    ) {
        // SQL names its log groups in FROM (names or ARNs), never in the request.
        _ if language == "SQL" && named => {
            return Err(invalid(
                "A SQL query names its log groups in its FROM clause, not in logGroupName, logGroupNames or logGroupIdentifiers.",
            ))
        }
        // (Only `filterIndex(…)` in FROM: every Standard log group, as without field indexes
        // no group is told apart.)
        _ if language == "SQL" && query.source().is_some_and(|s| s.names.is_empty()) => {
            source_groups(store, &scope, query.source().expect("checked"))
        }
        _ if language == "SQL" => query
            .source()
            .map(|s| s.names.clone())
            .unwrap_or_default()
            .iter()
            .map(|id| resolve_identifier(&scope, id))
            .collect::<Result<_, _>>()?,
        _ if query.source().is_some() && named => {
            return Err(invalid(
                "A query that starts with SOURCE cannot also name log groups in logGroupName, logGroupNames or logGroupIdentifiers.",
            ))
        }
        (None, None, None) if query.source().is_some() => {
            source_groups(store, &scope, query.source().expect("checked"))
        }
        (Some(n), None, None) => vec![n.clone()],
        (None, Some(ns), None) => ns.clone(),
        (None, None, Some(ids)) => ids
            .iter()
            .map(|id| resolve_identifier(&scope, id))
            .collect::<Result<_, _>>()?,
        (None, None, None) => {
            return Err(invalid(
                "One of logGroupName, logGroupNames or logGroupIdentifiers must be specified.",
            ))
        }
        _ => {
            return Err(invalid(
                "logGroupName, logGroupNames and logGroupIdentifiers are mutually exclusive.",
            ))
        }
    };
    // A group named twice (by name and by ARN, say) is read once.
    let mut groups = groups;
    {
        let mut seen = std::collections::HashSet::new();
        groups.retain(|g| seen.insert(g.clone()));
    }
    let max_groups = queries.limits.max_log_groups;
    // (SOURCE logGroups(...) may select up to 10,000, as AWS's may.)
    // (Groups a SOURCE selects, or SQL's `filterIndex(…)` alone, may number up to AWS's
    // SOURCE limit; groups named one by one, the configured count.)
    let selected = |src: &insights::Source| language != "SQL" || src.names.is_empty();
    let by_source = query.source().is_some_and(selected);
    if by_source && groups.len() > insights::MAX_SOURCE_GROUPS {
        return Err(invalid(format!(
            "The query selects {} log groups, more than {}: select fewer (another namePrefix, names, or logGroups(…) in FROM).",
            groups.len(),
            insights::MAX_SOURCE_GROUPS
        )));
    }
    if !by_source && groups.len() > max_groups {
        return Err(invalid(format!(
            "A query can read at most {max_groups} log groups."
        )));
    }
    {
        let st = store.read();
        for g in &groups {
            if st.group(&scope, g).is_none() {
                return Err(error(
                    "ResourceNotFoundException",
                    format!(
                        "Log group '{g}' does not exist for account ID '{}'",
                        scope.account
                    ),
                ));
            }
        }
    }
    // The log groups of each subquery (its SOURCE, or the query's own) and of the join's right
    // side: the same checks as the query's.
    // (A SQL subquery's FROM may name its groups by ARN, as the query's own FROM may.)
    let sides: Vec<Vec<String>> = query
        .subqueries()
        .iter()
        .map(|sq| match &sq.source {
            Some(src) if language == "SQL" && !src.names.is_empty() => src
                .names
                .iter()
                .map(|id| resolve_identifier(&scope, id))
                .collect::<Result<_, _>>(),
            Some(src) => Ok(source_groups(store, &scope, src)),
            None => Ok(groups.clone()),
        })
        .collect::<Result<_, _>>()?;
    let caps: Vec<usize> = query
        .subqueries()
        .iter()
        .map(|sq| match &sq.source {
            Some(src) if language == "SQL" && src.names.is_empty() => insights::MAX_SOURCE_GROUPS,
            None if by_source => insights::MAX_SOURCE_GROUPS,
            _ => max_groups,
        })
        .collect();
    let join_groups = query
        .join_side()
        .map(|j| source_groups(store, &scope, &j.source));
    for (k, side) in sides.iter().chain(&join_groups).enumerate() {
        let cap = caps.get(k).copied().unwrap_or(max_groups);
        if side.len() > cap {
            return Err(invalid(format!(
                "A query can read at most {cap} log groups."
            )));
        }
        let st = store.read();
        for g in side {
            if st.group(&scope, g).is_none() {
                return Err(error(
                    "ResourceNotFoundException",
                    format!(
                        "Log group '{g}' does not exist for account ID '{}'",
                        scope.account
                    ),
                ));
            }
        }
    }
    let (mut start_s, mut end_s) = (
        req.start_time.unwrap_or_default(),
        req.end_time.unwrap_or_default(),
    );
    // `SOURCE … START=… END=…` (the console's time range) overrides the request's.
    if let Some(src) = query.source().filter(|_| language != "SQL") {
        let now_ms = store.now();
        // (An instant before 1970 reads from 1970, as the earliest startTime does.)
        if let Some(t) = src.start {
            start_s = t.at(now_ms).div_euclid(1000).max(0);
        }
        if let Some(t) = src.end {
            end_s = t.at(now_ms).div_euclid(1000).max(0);
        }
        if (src.start.is_some() || src.end.is_some()) && end_s < start_s {
            return Err(malformed(&insights::QueryError {
                start: 0,
                end: query_string.chars().count(),
                message: "SOURCE's END is before its START (or the request's startTime)".into(),
            }));
        }
    }
    if end_s < start_s {
        return Err(invalid(
            "endTime must be greater than or equal to startTime.",
        ));
    }
    // Times are epoch seconds; past the year 9999 they are no dates (and overflow in ms).
    if end_s > MAX_EPOCH_S {
        return Err(invalid(format!(
            "startTime and endTime must be at most {MAX_EPOCH_S} (9999-12-31T23:59:59Z)."
        )));
    }
    let limit = req.limit.map_or(DEFAULT_LIMIT, |l| l as usize);

    queries.expire(store.now());
    let id = uuid::Uuid::new_v4().to_string();
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let mut q = queries.lock();
        let running = q
            .values()
            .filter(|e| e.scope == scope && matches!(e.status, Status::Scheduled | Status::Running))
            .count();
        let max = queries.limits.max_concurrent;
        if running >= max {
            return Err(error(
                "LimitExceededException",
                format!("Account has reached the maximum of {max} concurrent queries."),
            ));
        }
        q.insert(
            id.clone(),
            Entry {
                scope: scope.clone(),
                query_string,
                language,
                groups: groups.clone(),
                create_time: store.now(),
                status: Status::Scheduled,
                rows: Vec::new(),
                stats: insights::Stats::default(),
                duration_ms: 0,
                cancel: cancel.clone(),
            },
        );
    }
    let (store, queries, qid) = (store.clone(), queries.clone(), id.clone());
    let now = store.now();
    let (ended, running) = tokio::sync::oneshot::channel();
    tokio::task::spawn_blocking(move || {
        let sources = Sources {
            groups,
            subqueries: sides,
            join: join_groups,
        };
        // A panic in the engine ends the query as Failed (not Running for ever, holding its
        // place among the concurrent queries); the server goes on.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run(
                &store, &queries, &qid, query, &scope, &sources, start_s, end_s, limit, now,
                &cancel,
            )
        }));
        if ran.is_err() {
            tracing::error!(query_id = qid, "query failed: the engine panicked");
            if let Some(e) = queries.lock().get_mut(&qid) {
                if e.status != Status::Cancelled {
                    e.status = Status::Failed;
                }
            }
        }
        // The status is final: a waiting StartQuery may answer while the results are kept.
        let _ = ended.send(());
        queries.persist(&qid);
    });
    Ok((output(StartQueryResponse { query_id: Some(id) })?, running))
}

/// The log groups a query reads: its own, each subquery's and its join's right side's.
struct Sources {
    groups: Vec<String>,
    subqueries: Vec<Vec<String>>,
    join: Option<Vec<String>>,
}

/// The log groups a `SOURCE` selects: the groups it names (they must exist; checked by the
/// caller), or those whose names start with one of its prefixes, of its class if it has one.
fn source_groups(store: &LogStore, scope: &Scope, src: &insights::Source) -> Vec<String> {
    if !src.names.is_empty() {
        // (A group named twice is read once.)
        let mut seen = std::collections::HashSet::new();
        return src
            .names
            .iter()
            .filter(|n| seen.insert(n.as_str()))
            .cloned()
            .collect();
    }
    // No prefix: every log group; no class: the Standard class, as AWS selects them.
    let class = src.class.as_deref().unwrap_or("STANDARD");
    let st = store.read();
    st.scopes
        .get(scope)
        .into_iter()
        .flatten()
        .filter(|(name, g)| {
            (src.name_prefixes.is_empty()
                || src
                    .name_prefixes
                    .iter()
                    .any(|p| name.starts_with(p.as_str())))
                && g.class == class
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Why a subquery or a join's right side ended the query before its own scan.
enum SideFailure {
    Failed(String),
    Cancelled,
}

/// Runs the subqueries and the join's right side over the same time range and attaches their
/// rows to `query`; their scan statistics are added to `extra`.
#[allow(clippy::too_many_arguments)]
fn run_sides(
    store: &LogStore,
    limits: &Limits,
    query: &mut insights::Query,
    scope: &Scope,
    sources: &Sources,
    ctx: insights::QueryContext,
    cancel: &AtomicBool,
    extra: &mut insights::Stats,
) -> Result<(), SideFailure> {
    let nothing = |_: &insights::Execution| {};
    let mut side = |q: &insights::Query,
                    groups: &[String],
                    limit: usize,
                    timeout: std::time::Duration,
                    what: &str|
     -> Result<Vec<Vec<(String, String)>>, SideFailure> {
        let ctx = insights::QueryContext { limit, ..ctx };
        let mut exec = q.start(ctx);
        let outcome = crate::queryscan::Feed {
            store,
            scope,
            query: q,
            ctx,
            cancel,
            started: std::time::Instant::now(),
            timeout,
            partial: &nothing,
            partial_every: u64::MAX,
            next_partial: Default::default(),
        }
        .run(groups, &q.scan_ranges(&ctx), &mut exec);
        if cancel.load(Ordering::Relaxed) {
            return Err(SideFailure::Cancelled);
        }
        if let Some(e) = outcome.failed {
            return Err(SideFailure::Failed(format!("{what}: {e}")));
        }
        if outcome.timed_out {
            return Err(SideFailure::Failed(format!(
                "{what}: execution is limited to {} seconds",
                timeout.as_secs()
            )));
        }
        if exec.overflowed() {
            return Err(SideFailure::Failed(format!(
                "{what}: it holds more than {} rows",
                limits.max_held_rows
            )));
        }
        let st = exec.stats();
        extra.records_scanned += st.records_scanned;
        extra.bytes_scanned += st.bytes_scanned;
        Ok(exec.rows())
    };
    for i in query.subquery_order() {
        let sub = query.subqueries()[i].clone();
        // An appendcols subquery adds at most its `max=` rows (the rest are not asked for).
        let max = sub.append.unwrap_or(limits.subquery_max_rows);
        let rows = side(
            &sub.query,
            &sources.subqueries[i],
            max.saturating_add(1),
            limits.subquery_timeout,
            "inner query",
        )?;
        // (An eventstats subquery's rows are its groups, a union's are results: all are needed,
        // whatever their limits.)
        if sub.append.is_none()
            && (sub.eventstats || sub.union || !sub.has_limit())
            && rows.len() > max
        {
            return Err(SideFailure::Failed(format!(
                "inner query returned more than {max} rows"
            )));
        }
        query
            .attach_subquery(i, &rows)
            .map_err(|e| SideFailure::Failed(e.to_string()))?;
    }
    if let (Some(join), Some(groups)) = (query.join_side().cloned(), &sources.join) {
        // Every right-side record with the key is kept; the distinct keys are capped.
        let rows = side(join.query(), groups, usize::MAX / 4, limits.timeout, "join")?;
        query
            .attach_join(&rows, limits.join_max_keys)
            .map_err(|e| SideFailure::Failed(e.to_string()))?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn run(
    store: &LogStore,
    queries: &Queries,
    id: &str,
    mut query: insights::Query,
    scope: &Scope,
    sources: &Sources,
    start_s: i64,
    end_s: i64,
    limit: usize,
    now: i64,
    cancel: &AtomicBool,
) {
    let set = |f: &mut dyn FnMut(&mut Entry)| {
        if let Some(e) = queries.lock().get_mut(id) {
            f(e);
        }
    };
    // A StopQuery that came first wins: the query stays Cancelled.
    set(&mut |e| {
        if e.status == Status::Scheduled {
            e.status = Status::Running;
        }
    });
    let started = std::time::Instant::now();
    let (start_ms, end_ms) = (start_s * 1000, end_s * 1000 + 999);
    let ctx = insights::QueryContext {
        start_ms,
        end_ms,
        now_ms: now,
        limit,
    };
    let mut extra = insights::Stats::default();
    match run_sides(
        store,
        &queries.limits,
        &mut query,
        scope,
        sources,
        ctx,
        cancel,
        &mut extra,
    ) {
        Ok(()) => {}
        Err(failure) => {
            let duration = started.elapsed().as_millis() as i64;
            set(&mut |e| {
                if e.status != Status::Cancelled {
                    e.status = Status::Failed;
                }
                e.stats = extra;
                e.duration_ms = duration;
            });
            if let SideFailure::Failed(why) = failure {
                tracing::warn!(query_id = id, error = %why, "query failed");
            }
            return;
        }
    }
    let query = &query;
    let groups = &sources.groups[..];
    let mut exec = query.start(ctx);
    // The query's range, and with `diff` the period it is compared with.
    let ranges = query.scan_ranges(&ctx);
    let publish = |x: &insights::Execution| {
        let (rows, stats) = (x.rows(), x.stats());
        set(&mut |en| {
            en.rows = rows.clone();
            en.stats = stats;
        });
    };
    let outcome = crate::queryscan::Feed {
        store,
        scope,
        query,
        ctx,
        cancel,
        started,
        timeout: queries.limits.timeout,
        partial: &publish,
        partial_every: PARTIAL_EVERY,
        next_partial: Default::default(),
    }
    .run(groups, &ranges, &mut exec);
    let (mut failed, timed_out) = (outcome.failed, outcome.timed_out);
    // Holding more rows than allowed leaves the results incomplete: the query fails.
    if failed.is_none() && exec.overflowed() {
        failed = Some(nephoscope_logstore::StoreError::Storage(format!(
            "the query holds more than {} rows ([logs] insights_max_held_rows)",
            queries.limits.max_held_rows
        )));
    }
    let (rows, mut stats) = (exec.rows(), exec.stats());
    stats.records_scanned += extra.records_scanned;
    stats.bytes_scanned += extra.bytes_scanned;
    let duration = started.elapsed().as_millis() as i64;
    set(&mut |e| {
        if e.status == Status::Cancelled {
            return;
        }
        e.status = if failed.is_some() {
            Status::Failed
        } else if timed_out {
            Status::Timeout
        } else {
            Status::Complete
        };
        e.rows = rows.clone();
        e.stats = stats;
        e.duration_ms = duration;
    });
    if let Some(e) = failed {
        tracing::error!(query_id = id, error = %e, "query failed");
    }
}

impl Queries {
    /// The results of query `id` as CSV for a lookup table: the columns in the order they
    /// first appear (`@ptr` left out). Only a completed or cancelled query has them.
    pub(crate) fn results_csv(&self, scope: &Scope, id: &str) -> Result<String, ApiError> {
        let q = self.lock();
        let e = find(&q, scope, id)?;
        if !matches!(e.status, Status::Complete | Status::Cancelled) {
            return Err(invalid(format!(
                "Query {id} has not completed or been cancelled (status {}).",
                e.status.as_str()
            )));
        }
        let mut columns: Vec<&str> = Vec::new();
        for (f, _) in e.rows.iter().flatten() {
            if f != "@ptr" && !columns.contains(&f.as_str()) {
                columns.push(f);
            }
        }
        if columns.is_empty() {
            return Err(invalid(format!("Query {id} returned no fields.")));
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        let failed = |e: csv::Error| {
            invalid(format!(
                "The results of query {id} cannot be written as CSV: {e}"
            ))
        };
        w.write_record(&columns).map_err(failed)?;
        for row in &e.rows {
            let cells = columns.iter().map(|c| {
                row.iter()
                    .find(|(f, _)| f == c)
                    .map_or("", |(_, v)| v.as_str())
            });
            w.write_record(cells).map_err(failed)?;
        }
        let bytes = w.into_inner().map_err(|e| {
            invalid(format!(
                "The results of query {id} cannot be written as CSV: {e}"
            ))
        })?;
        String::from_utf8(bytes).map_err(|e| invalid(e.to_string()))
    }
}

fn find<'a>(q: &'a HashMap<String, Entry>, scope: &Scope, id: &str) -> Result<&'a Entry, ApiError> {
    q.get(id)
        .filter(|e| &e.scope == scope)
        .ok_or_else(|| error("ResourceNotFoundException", "Query does not exist."))
}

/// Serialized straight to bytes under the JSON protocols (no value tree: an answer can hold
/// 10,000 rows).
pub fn results(
    queries: &Queries,
    ctx: &RequestContext,
    req: GetQueryResultsRequest,
) -> Result<nephoscope_wire::Output, ApiError> {
    let scope = scope(ctx);
    let q = queries.lock();
    let e = find(&q, &scope, req.query_id.as_deref().unwrap_or_default())?;
    // Pages of `maxItems` rows (all rows when absent or 0), continued by `nextToken`.
    let offset: usize = match &req.next_token {
        Some(t) => decode_token(t)?
            .parse()
            .map_err(|_| invalid("The specified nextToken is invalid."))?,
        None => 0,
    };
    let max = match req.max_items {
        Some(m) if m > 0 => m as usize,
        _ => usize::MAX,
    };
    let next_token = (e.status == Status::Complete && offset.saturating_add(max) < e.rows.len())
        .then(|| encode_token(&(offset + max).to_string()));
    let results: Vec<Vec<ResultField>> = e
        .rows
        .iter()
        .skip(offset)
        .take(max)
        .map(|row| {
            row.iter()
                .map(|(f, v)| ResultField {
                    field: Some(f.clone()),
                    value: Some(v.clone()),
                })
                .collect()
        })
        .collect();
    Ok(nephoscope_wire::Output::typed(GetQueryResultsResponse {
        query_language: Some(e.language.clone()),
        results: Some(results),
        statistics: Some(QueryStatistics {
            records_matched: Some(e.stats.records_matched),
            records_scanned: Some(e.stats.records_scanned),
            bytes_scanned: Some(e.stats.bytes_scanned),
            estimated_records_skipped: Some(0.0),
            estimated_bytes_skipped: Some(0.0),
            log_groups_scanned: Some(e.groups.len() as f64),
            result_count: Some(e.rows.len() as f64),
        }),
        status: Some(e.status.as_str().into()),
        encryption_key: None,
        next_token,
    }))
}

pub fn stop(
    queries: &Queries,
    ctx: &RequestContext,
    req: StopQueryRequest,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    let mut q = queries.lock();
    let id = req.query_id.unwrap_or_default();
    find(&q, &scope, &id)?;
    let e = q.get_mut(&id).expect("found above");
    if !matches!(e.status, Status::Scheduled | Status::Running) {
        // AWS: "If the query has already ended, the operation returns an error indicating that
        // the specified query is not running."
        return Err(invalid(format!(
            "Query {id} is not running (status {}).",
            e.status.as_str()
        )));
    }
    e.cancel.store(true, Ordering::Relaxed);
    e.status = Status::Cancelled;
    output(StopQueryResponse {
        success: Some(true),
    })
}

pub fn describe(
    queries: &Queries,
    ctx: &RequestContext,
    req: DescribeQueriesRequest,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    let q = queries.lock();
    let mut list: Vec<(&String, &Entry)> = q
        .iter()
        .filter(|(_, e)| e.scope == scope)
        .filter(|(_, e)| {
            req.query_language
                .as_deref()
                .is_none_or(|l| l == e.language)
        })
        .filter(|(_, e)| {
            req.log_group_name
                .as_ref()
                .is_none_or(|g| e.groups.contains(g))
        })
        .filter(|(_, e)| req.status.as_deref().is_none_or(|s| s == e.status.as_str()))
        .collect();
    // Newest first, then by id for a stable order across pages.
    list.sort_by(|a, b| b.1.create_time.cmp(&a.1.create_time).then(a.0.cmp(b.0)));
    let offset: usize = match &req.next_token {
        Some(t) => decode_token(t)?
            .parse()
            .map_err(|_| invalid("The specified nextToken is invalid."))?,
        None => 0,
    };
    let max = req.max_results.map_or(1000, |m| m as usize);
    let page: Vec<QueryInfo> = list
        .iter()
        .skip(offset)
        .take(max)
        .map(|(id, e)| QueryInfo {
            query_language: Some(e.language.clone()),
            query_id: Some((*id).clone()),
            query_string: Some(e.query_string.clone()),
            status: Some(e.status.as_str().into()),
            create_time: Some(e.create_time),
            log_group_name: e.groups.first().cloned(),
            query_duration: Some(e.duration_ms),
            bytes_scanned: Some(e.stats.bytes_scanned),
            user_identity: None,
        })
        .collect();
    let next_token = (offset + max < list.len()).then(|| encode_token(&(offset + max).to_string()));
    output(DescribeQueriesResponse {
        queries: Some(page),
        next_token,
    })
}

pub fn log_record(
    store: &LogStore,
    ctx: &RequestContext,
    req: GetLogRecordRequest,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    let bad = || invalid("The specified logRecordPointer is invalid.");
    let (group, stream, ts, seq) =
        decode_ptr(req.log_record_pointer.as_deref().unwrap_or_default()).ok_or_else(bad)?;
    let q = FilterQuery {
        streams: StreamSelection::Names(vec![stream.clone()]),
        start: Some(ts),
        end: Some(ts),
        pattern: None,
        limit: 10_000,
        after: None,
        descending: false,
        required: &[],
    };
    let page = store
        .filter(&scope, &group, &q)
        .map_err(|e| store_error(e, &ctx.request_id))?;
    let e = page
        .events
        .into_iter()
        .find(|e| e.seq == seq)
        .ok_or_else(|| {
            error(
                "ResourceNotFoundException",
                "The log record does not exist.",
            )
        })?;
    let mut record: BTreeMap<String, String> =
        insights::message_fields(&e.message).into_iter().collect();
    record.insert("@timestamp".to_string(), e.timestamp.to_string());
    record.insert("@ingestionTime".to_string(), e.ingestion_time.to_string());
    record.insert("@logStream".to_string(), e.stream.clone());
    record.insert("@log".to_string(), format!("{}:{group}", scope.account));
    record.insert("@message".to_string(), e.message.clone());
    output(GetLogRecordResponse {
        log_record: Some(record),
    })
}

pub fn group_fields(
    store: &LogStore,
    ctx: &RequestContext,
    req: GetLogGroupFieldsRequest,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    let group = crate::group_name(
        &scope,
        req.log_group_name.as_deref(),
        req.log_group_identifier.as_deref(),
    )?;
    let (from, to) = match req.time {
        Some(t) => (t * 1000 - FIELDS_AROUND_MS, t * 1000 + FIELDS_AROUND_MS),
        None => (store.now() - FIELDS_RECENT_MS, store.now()),
    };
    let mut messages = Vec::new();
    store
        .scan(&scope, &group, from, to, |_, e| {
            messages.push(e.message.to_string());
            messages.len() < FIELDS_SAMPLE
        })
        .map_err(|e| store_error(e, &ctx.request_id))?;
    let fields = insights::discover_fields(messages.iter().map(String::as_str));
    output(GetLogGroupFieldsResponse {
        log_group_fields: Some(
            fields
                .into_iter()
                .map(|(name, percent)| LogGroupField {
                    name: Some(name),
                    percent: Some(percent.round() as i32),
                })
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ptr_round_trip() {
        let p = encode_ptr("/aws/g", "s:1", -5, 42);
        assert_eq!(
            decode_ptr(&p),
            Some(("/aws/g".into(), "s:1".into(), -5, 42))
        );
        assert_eq!(decode_ptr("not a pointer!"), None);
    }
}
