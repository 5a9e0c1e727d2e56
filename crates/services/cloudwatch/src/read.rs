//! ListMetrics, GetMetricStatistics and GetMetricData (metric statistics).

use crate::labels::Props;
use crate::stat::Stat;
use crate::{invalid_combination, invalid_value, missing, output, scope, series_key};
use nephoscope_metricstore::{MetricStore, SeriesKey};
use nephoscope_model::types::cloudwatch::*;
use nephoscope_model::Timestamp;
use nephoscope_wire::{ApiError, RequestContext};
use serde_json::Value;
use std::collections::BTreeMap;

/// ListMetrics page size.
pub const LIST_PAGE: usize = 500;
/// GetMetricStatistics answers at most this many data points.
pub const MAX_STAT_POINTS: i64 = 1440;
/// GetMetricData data points per call.
pub const MAX_DATA_POINTS: usize = 100_800;

fn metric(k: &SeriesKey) -> Metric {
    Metric {
        namespace: Some(k.namespace.clone()),
        metric_name: Some(k.name.clone()),
        dimensions: Some(
            k.dimensions
                .iter()
                .map(|(n, v)| Dimension {
                    name: Some(n.clone()),
                    value: Some(v.clone()),
                })
                .collect(),
        ),
    }
}

pub fn list_metrics(
    store: &MetricStore,
    ctx: &RequestContext,
    req: ListMetricsInput,
) -> Result<Value, ApiError> {
    let filters: Vec<(String, Option<String>)> = req
        .dimensions
        .unwrap_or_default()
        .into_iter()
        .map(|f| (f.name.unwrap_or_default(), f.value))
        .collect();
    let active_since = req
        .recently_active
        .as_ref()
        .map(|_| store.now() - 3 * 3_600_000);
    let keys = store.list(
        &scope(ctx),
        req.namespace.as_deref(),
        req.metric_name.as_deref(),
        &filters,
        active_since,
    );
    let offset: usize = match &req.next_token {
        Some(t) => t.parse().map_err(|_| {
            ApiError::modeled(
                &nephoscope_model::generated::cloudwatch::SERVICE,
                "InvalidNextToken",
                "The service returned an invalid next token.",
            )
        })?,
        None => 0,
    };
    let page: Vec<Metric> = keys
        .iter()
        .skip(offset)
        .take(LIST_PAGE)
        .map(metric)
        .collect();
    let next_token = (offset + LIST_PAGE < keys.len()).then(|| (offset + LIST_PAGE).to_string());
    output(ListMetricsOutput {
        metrics: Some(page),
        next_token,
        owning_accounts: None,
    })
}

/// Valid periods: 1, 5, 10, 20, 30 or a multiple of 60 seconds.
fn check_period(period: i64, field: &str) -> Result<(), ApiError> {
    if period < 1 || !(matches!(period, 1 | 5 | 10 | 20 | 30) || period % 60 == 0) {
        return Err(invalid_value(format!(
            "The parameter {field} must be 1, 5, 10, 20, 30, or a multiple of 60."
        )));
    }
    Ok(())
}

/// AWS rounds the start down: to the period for sub-minute periods, else to the minute.
fn round_start(start_s: i64, period: i64) -> i64 {
    let unit = if period < 60 { period } else { 60 };
    start_s - start_s.rem_euclid(unit)
}

pub fn get_metric_statistics(
    store: &MetricStore,
    ctx: &RequestContext,
    req: GetMetricStatisticsInput,
) -> Result<Value, ApiError> {
    let stats = req.statistics.unwrap_or_default();
    let extended = req.extended_statistics.unwrap_or_default();
    match (stats.is_empty(), extended.is_empty()) {
        (true, true) => {
            return Err(missing(
                "Must specify either Statistics or ExtendedStatistics.",
            ))
        }
        (false, false) => {
            return Err(invalid_combination(
                "Statistics and ExtendedStatistics are mutually exclusive; specify one of them.",
            ))
        }
        _ => {}
    }
    let plain: Vec<Stat> = stats
        .iter()
        .map(|s| Stat::parse(s))
        .collect::<Result<_, _>>()?;
    let ext: Vec<(String, Stat)> = extended
        .iter()
        .map(|s| Stat::parse(s).map(|st| (s.clone(), st)))
        .collect::<Result<_, _>>()?;
    let period = i64::from(req.period.unwrap_or_default());
    check_period(period, "Period")?;
    let (start, end) = (
        req.start_time.unwrap_or_default().0.floor() as i64,
        req.end_time.unwrap_or_default().0.ceil() as i64,
    );
    if end <= start {
        return Err(invalid_value(
            "The parameter StartTime must be less than the parameter EndTime.",
        ));
    }
    let start = round_start(start, period);
    let points = (end - start + period - 1) / period;
    if points > MAX_STAT_POINTS {
        return Err(invalid_combination(format!(
            "You have requested up to {points} datapoints, which exceeds the limit of 1,440. You may reduce the datapoints requested by increasing Period, or decreasing the time range."
        )));
    }
    let name = req.metric_name.unwrap_or_default();
    let key = series_key(
        &req.namespace.unwrap_or_default(),
        &name,
        req.dimensions.as_deref().unwrap_or_default(),
    );
    let datapoints = store
        .statistics(&scope(ctx), &key, start, end, period, req.unit.as_deref())
        .into_iter()
        .map(|p| {
            let pick = |s: Stat| plain.contains(&s).then(|| s.value(p.agg.view())).flatten();
            let extended_statistics: BTreeMap<String, f64> = ext
                .iter()
                .filter_map(|(n, s)| s.value(p.agg.view()).map(|v| (n.clone(), v)))
                .collect();
            Datapoint {
                timestamp: Some(Timestamp(p.start as f64)),
                sample_count: pick(Stat::SampleCount),
                average: pick(Stat::Average),
                sum: pick(Stat::Sum),
                minimum: pick(Stat::Minimum),
                maximum: pick(Stat::Maximum),
                unit: Some(p.unit),
                extended_statistics: (!ext.is_empty()).then_some(extended_statistics),
            }
        })
        .collect();
    output(GetMetricStatisticsOutput {
        label: Some(name),
        datapoints: Some(datapoints),
    })
}

/// A Metrics Insights query's result: one series, or one per group.
fn insights_series(
    store: &MetricStore,
    ctx: &RequestContext,
    iq: &crate::metricsql::Query,
    start: i64,
    end: i64,
    period: i64,
    id: &str,
) -> nephoscope_metricmath::MathValue {
    use nephoscope_metricmath::{MathValue, Series};
    use nephoscope_metricstore::Agg;
    type Group = (BTreeMap<i64, Agg>, Agg);
    let mut groups: BTreeMap<Vec<String>, Group> = BTreeMap::new();
    let keys = store.list(
        &scope(ctx),
        Some(&iq.namespace),
        Some(&iq.metric),
        &[],
        None,
    );
    for k in keys.iter().filter(|k| iq.selects(k)) {
        let g = groups.entry(iq.group_of(k)).or_default();
        for pt in store.statistics(&scope(ctx), k, start, end, period, None) {
            g.0.entry(pt.start).or_default().merge(&pt.agg);
            g.1.merge(&pt.agg);
        }
    }
    let mut ordered: Vec<(Vec<String>, Group)> = groups.into_iter().collect();
    if let Some((f, desc)) = iq.order {
        let v = |g: &Group| f.value(&g.1).unwrap_or(f64::NAN);
        ordered.sort_by(|a, b| {
            let o = v(&a.1).total_cmp(&v(&b.1));
            if desc {
                o.reverse()
            } else {
                o
            }
        });
    }
    ordered.truncate(iq.limit);
    let to_series = |label: String, g: &Group| {
        let (ts, vs): (Vec<i64>, Vec<f64>) =
            g.0.iter()
                .filter_map(|(t, a)| iq.func.value(a).map(|v| (*t, v)))
                .unzip();
        Series::new(label, ts, vs)
    };
    if iq.group_by.is_empty() {
        let s = ordered.first().map_or_else(
            || Series::new(id, Vec::new(), Vec::new()),
            |(_, g)| to_series(id.to_string(), g),
        );
        MathValue::Series(s)
    } else {
        MathValue::Array(
            ordered
                .iter()
                .map(|(labels, g)| to_series(labels.join(" "), g))
                .collect(),
        )
    }
}

/// One query of a GetMetricData request, resolved.
enum Planned {
    Stat {
        key: SeriesKey,
        period: i64,
        stat: Stat,
        /// The statistic as asked for (`p99`, `Average`), for `${PROP('Stat')}`.
        stat_name: String,
        unit: Option<String>,
        name: String,
    },
    Math(nephoscope_metricmath::Expression),
    Search(crate::search::Search, i64),
    Insights(crate::metricsql::Query, i64),
    Band(crate::anomaly::Band),
}

/// The band of `band` (query `id`): upper and lower series over the query range, and a message
/// when there is too little history for a model.
fn band_series(
    store: &MetricStore,
    ctx: &RequestContext,
    planned: &[(String, Planned)],
    id: &str,
    band: &crate::anomaly::Band,
    start: i64,
    end: i64,
) -> Result<(Vec<nephoscope_metricmath::Series>, Option<MessageData>), ApiError> {
    use crate::anomaly::{Hours, Model, TRAINING_SECONDS};
    use nephoscope_metricmath::Series;
    let Some((
        _,
        Planned::Stat {
            key,
            period,
            stat,
            unit,
            name,
            ..
        },
    )) = planned.iter().find(|(pid, _)| *pid == band.of)
    else {
        return Err(invalid_value(format!(
            "The expression of {id} uses ANOMALY_DETECTION_BAND on {}, which is not the Id of a MetricStat query in this request.",
            band.of
        )));
    };
    let first = round_start(start, *period);
    let job = StatJob {
        key,
        period: *period,
        stat: *stat,
        unit: unit.as_deref(),
        label: String::new(),
    };
    let history = stat_series(store, &scope(ctx), &[job], first - TRAINING_SECONDS, first);
    // A detector of this metric and statistic: its excluded ranges and time zone.
    let detector = crate::training::for_metric(store, ctx, key, *stat);
    let hours = detector
        .as_ref()
        .and_then(|d| d.training.timezone.as_deref())
        .and_then(Hours::zone)
        .unwrap_or_default();
    let training: Vec<(i64, f64)> = history
        .first()
        .map(|s| {
            s.timestamps
                .iter()
                .copied()
                .zip(s.values.iter().copied())
                .filter(|(t, _)| {
                    detector
                        .as_ref()
                        .is_none_or(|d| !crate::training::overlaps_excluded(d, *t, *period))
                })
                .collect()
        })
        .unwrap_or_default();
    let (mut ts, mut upper, mut lower) = (Vec::new(), Vec::new(), Vec::new());
    let model = Model::train_on(&training, &hours);
    if let Some(model) = &model {
        let mut t = first;
        while t < end {
            let (u, l) = model.band_on(t, band.width, &hours);
            ts.push(t);
            upper.push(u);
            lower.push(l);
            t += period;
        }
    }
    let note = model.is_none().then(|| MessageData {
        code: Some("InsufficientData".into()),
        value: Some(format!(
            "The anomaly detection band needs at least {} values of {} in the two weeks before StartTime (outside the excluded time ranges of its anomaly detector, if any).",
            crate::anomaly::MIN_TRAINING,
            band.of
        )),
    });
    Ok((
        vec![
            Series::new(format!("{name} Upper"), ts.clone(), upper),
            Series::new(format!("{name} Lower"), ts, lower),
        ],
        note,
    ))
}

/// One metric statistic series to read.
struct StatJob<'a> {
    key: &'a SeriesKey,
    period: i64,
    stat: Stat,
    unit: Option<&'a str>,
    label: String,
}

/// Below this many series a request is read on one thread.
const SERIES_PER_THREAD: usize = 16;

/// The series of `jobs`, in order, ascending by time: read under one read lock of the store,
/// split over the machine's cores when there are many.
fn stat_series(
    store: &MetricStore,
    scope: &nephoscope_metricstore::Scope,
    jobs: &[StatJob<'_>],
    start: i64,
    end: i64,
) -> Vec<nephoscope_metricmath::Series> {
    use nephoscope_metricstore::{AggRef, PeriodStat};
    let state = store.read();
    let one = |j: &StatJob<'_>| {
        let value = |a: AggRef<'_>| j.stat.value(a);
        let (ts, vs) = state.period_values(
            scope,
            j.key,
            round_start(start, j.period),
            end,
            j.period,
            j.unit,
            &PeriodStat {
                sketch: j.stat.needs_sketch(),
                value: &value,
            },
        );
        nephoscope_metricmath::Series::new(j.label.clone(), ts, vs)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len() / SERIES_PER_THREAD)
        .max(1);
    if threads == 1 {
        return jobs.iter().map(one).collect();
    }
    let per = jobs.len().div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = jobs
            .chunks(per)
            .map(|part| s.spawn(|| part.iter().map(one).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// SEARCH returns at most this many series (AWS's limit).
pub const MAX_SEARCH_SERIES: usize = 500;

/// A computed GetMetricData answer: each result with its points in answer order.
pub(crate) type Answer = Vec<(MetricDataResult, Vec<(i64, f64)>)>;

/// Answers computed for a first page, kept so the pages after it (the same request with
/// NextToken) are slices of the same answer instead of recomputing it each time.
pub struct PageCache {
    entries: std::sync::Mutex<std::collections::VecDeque<CachedAnswer>>,
    next_id: std::sync::atomic::AtomicU64,
}

struct CachedAnswer {
    id: u64,
    /// The account and the request without its NextToken.
    fingerprint: u64,
    created_ms: i64,
    answer: std::sync::Arc<Answer>,
}

/// Answers kept at most this long…
pub const PAGE_CACHE_MS: i64 = 10 * 60 * 1000;
/// …and at most this many (the oldest is dropped first).
pub const PAGE_CACHE_ENTRIES: usize = 8;

impl Default for PageCache {
    fn default() -> Self {
        PageCache {
            entries: Default::default(),
            next_id: std::sync::atomic::AtomicU64::new(1),
        }
    }
}

impl PageCache {
    fn get(&self, id: u64, fingerprint: u64, now_ms: i64) -> Option<std::sync::Arc<Answer>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|e| now_ms - e.created_ms < PAGE_CACHE_MS);
        entries
            .iter()
            .find(|e| e.id == id && e.fingerprint == fingerprint)
            .map(|e| e.answer.clone())
    }

    fn put(&self, fingerprint: u64, now_ms: i64, answer: std::sync::Arc<Answer>) -> u64 {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|e| now_ms - e.created_ms < PAGE_CACHE_MS);
        if entries.len() >= PAGE_CACHE_ENTRIES {
            entries.pop_front();
        }
        entries.push_back(CachedAnswer {
            id,
            fingerprint,
            created_ms: now_ms,
            answer,
        });
        id
    }
}

fn invalid_token() -> ApiError {
    ApiError::modeled(
        &nephoscope_model::generated::cloudwatch::SERVICE,
        "InvalidNextToken",
        "The service returned an invalid next token.",
    )
}

/// GetMetricData: the answer is computed for the first page (or taken from the page cache for
/// a NextToken), then the page of MaxDatapoints points after the token's offset is returned.
/// A token is `offset` or `offset.answer`; an answer no longer cached is computed again.
pub fn get_metric_data(
    store: &MetricStore,
    cache: &PageCache,
    ctx: &RequestContext,
    mut req: GetMetricDataInput,
) -> Result<nephoscope_wire::Output, ApiError> {
    let token = req.next_token.take();
    let (skip, cached_id): (usize, Option<u64>) = match token.as_deref() {
        None => (0, None),
        Some(t) => match t.split_once('.') {
            Some((o, id)) => (
                o.parse().map_err(|_| invalid_token())?,
                Some(id.parse().map_err(|_| invalid_token())?),
            ),
            None => (t.parse().map_err(|_| invalid_token())?, None),
        },
    };
    let fingerprint = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        ctx.account_id.hash(&mut h);
        ctx.region.hash(&mut h);
        serde_json::to_string(&req).unwrap_or_default().hash(&mut h);
        h.finish()
    };
    let now = store.now();
    let max_points = req.max_datapoints.map_or(MAX_DATA_POINTS, |m| m as usize);
    let answer = match cached_id.and_then(|id| cache.get(id, fingerprint, now).map(|a| (id, a))) {
        Some(hit) => hit,
        None => {
            let answer = std::sync::Arc::new(compute_metric_data(store, ctx, req)?);
            let total: usize = answer.iter().map(|(_, p)| p.len()).sum();
            // Only an answer that needs more pages is kept.
            let id = if skip.saturating_add(max_points) < total {
                cache.put(fingerprint, now, answer.clone())
            } else {
                0
            };
            (id, answer)
        }
    };
    Ok(page(&answer.1, answer.0, skip, max_points))
}

/// The page of up to `max_points` points after `skip` of `answer`.
fn page(answer: &Answer, id: u64, skip: usize, max_points: usize) -> nephoscope_wire::Output {
    let total: usize = answer.iter().map(|(_, p)| p.len()).sum();
    let page_end = skip.saturating_add(max_points).min(total);
    let mut at = 0usize;
    let mut results = Vec::with_capacity(answer.len());
    for (r, points) in answer {
        let (from, to) = (skip.max(at), page_end.min(at + points.len()));
        let slice = if from < to {
            &points[from - at..to - at]
        } else {
            &[][..]
        };
        let mut r = r.clone();
        if at + points.len() > page_end {
            r.status_code = Some("PartialData".into());
        }
        r.timestamps = Some(slice.iter().map(|(t, _)| Timestamp(*t as f64)).collect());
        r.values = Some(slice.iter().map(|(_, v)| *v).collect());
        results.push(r);
        at += points.len();
    }
    let next_token = (page_end < total).then(|| {
        if id == 0 {
            page_end.to_string()
        } else {
            format!("{page_end}.{id}")
        }
    });
    // Up to 100,800 points (more when MaxDatapoints allows): serialized without a value tree.
    nephoscope_wire::Output::typed(GetMetricDataOutput {
        metric_data_results: Some(results),
        next_token,
        messages: Some(Vec::new()),
    })
}

/// Every result of a GetMetricData request, in request order, with all its points.
pub(crate) fn compute_metric_data(
    store: &MetricStore,
    ctx: &RequestContext,
    req: GetMetricDataInput,
) -> Result<Answer, ApiError> {
    use nephoscope_metricmath::{EvalContext, MathValue, Series};
    let queries = req.metric_data_queries.unwrap_or_default();
    let (start, end) = (
        req.start_time.unwrap_or_default().0.floor() as i64,
        req.end_time.unwrap_or_default().0.ceil() as i64,
    );
    if end <= start {
        return Err(invalid_value(
            "The parameter StartTime must be less than the parameter EndTime.",
        ));
    }
    let offset_seconds = match req
        .label_options
        .as_ref()
        .and_then(|o| o.timezone.as_deref())
    {
        Some(tz) => crate::labels::parse_timezone(tz).map_err(invalid_value)?,
        None => 0,
    };
    let descending = match req.scan_by.as_deref() {
        None | Some("TimestampDescending") => true,
        Some("TimestampAscending") => false,
        Some(other) => {
            return Err(invalid_value(format!(
                "The value {other} for parameter ScanBy is invalid."
            )))
        }
    };

    // Resolve every query first: ids, statistics, expressions.
    let mut planned: Vec<(String, Planned)> = Vec::new();
    let mut ids = std::collections::HashSet::new();
    // SEARCH calls nested in math: (hidden id, the query it belongs to, the plan).
    let mut hidden: Vec<(String, String, Planned)> = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        let id = q.id.clone().unwrap_or_default();
        let field = |f: &str| format!("MetricDataQueries.member.{}.{f}", i + 1);
        if !id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(invalid_value(format!(
                "The value {id} for parameter {} is invalid: it must start with a lower-case letter and contain only letters, digits and underscores.",
                field("Id")
            )));
        }
        if !ids.insert(id.clone()) {
            return Err(invalid_value(format!(
                "The value {id} for parameter {} is not unique.",
                field("Id")
            )));
        }
        let p = match (&q.metric_stat, &q.expression) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(invalid_combination(format!(
                    "Exactly one of {} and {} must be specified.",
                    field("MetricStat"),
                    field("Expression")
                )))
            }
            (None, Some(expr)) if crate::anomaly::parse(expr).is_some() => {
                match crate::anomaly::parse(expr).expect("checked above") {
                    Ok(band) => Planned::Band(band),
                    Err(m) => {
                        return Err(invalid_value(format!(
                            "Invalid metric math expression in {}: {m}.",
                            field("Expression")
                        )))
                    }
                }
            }
            (None, Some(expr)) if crate::metricsql::parse(expr).is_some() => {
                let iq = crate::metricsql::parse(expr)
                    .expect("checked above")
                    .map_err(|m| {
                        invalid_value(format!(
                            "Invalid Metrics Insights query in {}: {m}",
                            field("Expression")
                        ))
                    })?;
                let period = q.period.map(i64::from).ok_or_else(|| {
                    invalid_value(format!(
                        "{} is required for a Metrics Insights query.",
                        field("Period")
                    ))
                })?;
                check_period(period, &field("Period"))?;
                Planned::Insights(iq, period)
            }
            (None, Some(expr)) => {
                let bad_search = |m: String| {
                    invalid_value(format!(
                        "Invalid SEARCH expression in {}: {m}",
                        field("Expression")
                    ))
                };
                let plan_search = |call: &str| -> Result<Planned, ApiError> {
                    let s = crate::search::parse(call)
                        .unwrap_or_else(|| Err("not a SEARCH call".into()))
                        .map_err(bad_search)?;
                    let period = s.period.or(q.period.map(i64::from)).unwrap_or(300);
                    check_period(period, &field("Expression"))?;
                    Stat::parse(&s.stat)?;
                    Ok(Planned::Search(s, period))
                };
                // SEARCH calls inside math become hidden queries the expression refers to.
                let hidden_id = |n: usize| format!("{id}__search{n}");
                let (rewritten, calls) =
                    crate::search::extract_calls(expr, hidden_id).map_err(bad_search)?;
                if calls.len() == 1 && rewritten.trim() == hidden_id(0) {
                    plan_search(&calls[0])?
                } else {
                    for (n, call) in calls.iter().enumerate() {
                        if !ids.insert(hidden_id(n)) {
                            return Err(invalid_value(format!(
                                "The Id {} is used by Nephoscope for the SEARCH calls of {id}; choose another Id.",
                                hidden_id(n)
                            )));
                        }
                        hidden.push((hidden_id(n), id.clone(), plan_search(call)?));
                    }
                    Planned::Math(nephoscope_metricmath::parse(&rewritten).map_err(|e| {
                        invalid_value(format!(
                            "Invalid metric math expression in {}: {}",
                            field("Expression"),
                            e.message
                        ))
                    })?)
                }
            }
            (Some(ms), None) => {
                let period = i64::from(ms.period.unwrap_or_default());
                check_period(period, &field("MetricStat.Period"))?;
                let m = ms.metric.clone().unwrap_or_default();
                let name = m.metric_name.clone().unwrap_or_default();
                Planned::Stat {
                    key: series_key(
                        m.namespace.as_deref().unwrap_or_default(),
                        &name,
                        m.dimensions.as_deref().unwrap_or_default(),
                    ),
                    period,
                    stat: Stat::parse(ms.stat.as_deref().unwrap_or_default())?,
                    stat_name: ms.stat.clone().unwrap_or_default(),
                    unit: ms.unit.clone(),
                    name,
                }
            }
        };
        planned.push((id, p));
    }
    // Hidden queries go after the request's own, so results (zipped with the queries) skip them.
    let parent_of: std::collections::HashMap<String, String> = hidden
        .iter()
        .map(|(h, parent, _)| (h.clone(), parent.clone()))
        .collect();
    planned.extend(hidden.into_iter().map(|(h, _, p)| (h, p)));
    let metric_ids: Vec<String> = planned
        .iter()
        .filter(|(_, p)| matches!(p, Planned::Stat { .. }))
        .map(|(id, _)| id.clone())
        .collect();
    let default_period = planned
        .iter()
        .find_map(|(_, p)| match p {
            Planned::Stat { period, .. } => Some(*period),
            Planned::Math(_) | Planned::Search(..) | Planned::Insights(..) | Planned::Band(_) => {
                None
            }
        })
        .unwrap_or(60);

    let mut truncated: std::collections::HashSet<String> = Default::default();
    // Other messages of a query's results (an anomaly band without a model).
    let mut notes: std::collections::HashMap<String, MessageData> = Default::default();
    // The series each SEARCH selects (listed before the statistics are read).
    let mut searched: std::collections::HashMap<usize, Vec<SeriesKey>> = Default::default();
    for (n, (id, p)) in planned.iter().enumerate() {
        if let Planned::Search(s, _) = p {
            let mut keys: Vec<SeriesKey> = store
                .list(&scope(ctx), None, None, &[], None)
                .into_iter()
                .filter(|k| s.selects(k))
                .collect();
            if keys.len() > MAX_SEARCH_SERIES {
                keys.truncate(MAX_SEARCH_SERIES);
                truncated.insert(parent_of.get(id).unwrap_or(id).clone());
            }
            searched.insert(n, keys);
        }
    }
    // Every metric statistic series (MetricStat queries and SEARCH results), computed together.
    let mut jobs: Vec<StatJob<'_>> = Vec::new();
    for (n, (_, p)) in planned.iter().enumerate() {
        match p {
            Planned::Stat {
                key,
                period,
                stat,
                unit,
                name,
                ..
            } => jobs.push(StatJob {
                key,
                period: *period,
                stat: *stat,
                unit: unit.as_deref(),
                label: name.clone(),
            }),
            Planned::Search(s, period) => {
                let stat = Stat::parse(&s.stat)?;
                for k in &searched[&n] {
                    // AWS labels SEARCH results by dimension values (the name when none).
                    let label = if k.dimensions.is_empty() {
                        k.name.clone()
                    } else {
                        let vals: Vec<&str> =
                            k.dimensions.iter().map(|(_, v)| v.as_str()).collect();
                        vals.join(" ")
                    };
                    jobs.push(StatJob {
                        key: k,
                        period: *period,
                        stat,
                        unit: None,
                        label,
                    });
                }
            }
            Planned::Math(_) | Planned::Insights(..) | Planned::Band(_) => {}
        }
    }
    let mut computed = stat_series(store, &scope(ctx), &jobs, start, end).into_iter();
    let mut values: std::collections::HashMap<String, MathValue> = Default::default();
    // What each metric series is, for `${PROP(…)}` in dynamic labels (one per series of a SEARCH).
    let mut props: std::collections::HashMap<String, Vec<Props>> = Default::default();
    let props_of = |k: &SeriesKey, stat: &str| Props {
        namespace: k.namespace.clone(),
        metric_name: k.name.clone(),
        dimensions: k.dimensions.clone(),
        stat: stat.to_string(),
    };
    for (n, (id, p)) in planned.iter().enumerate() {
        match p {
            Planned::Stat { key, stat_name, .. } => {
                let s = computed.next().expect("one series per MetricStat");
                values.insert(id.clone(), MathValue::Series(s));
                props.insert(id.clone(), vec![props_of(key, stat_name)]);
            }
            Planned::Search(s, _) => {
                let keys = &searched[&n];
                let series = computed.by_ref().take(keys.len()).collect();
                values.insert(id.clone(), MathValue::Array(series));
                props.insert(
                    id.clone(),
                    keys.iter().map(|k| props_of(k, &s.stat)).collect(),
                );
            }
            Planned::Insights(iq, period) => {
                let value = insights_series(
                    store,
                    ctx,
                    iq,
                    round_start(start, *period),
                    end,
                    *period,
                    id,
                );
                values.insert(id.clone(), value);
            }
            Planned::Math(_) => {}
            Planned::Band(band) => {
                let (series, note) = band_series(store, ctx, &planned, id, band, start, end)?;
                values.insert(id.clone(), MathValue::Array(series));
                if let Some(note) = note {
                    notes.insert(id.clone(), note);
                }
            }
        }
    }
    // Expressions in dependency order; a cycle or an unknown id is an error.
    let mut pending: Vec<&(String, Planned)> = planned
        .iter()
        .filter(|(_, p)| matches!(p, Planned::Math(_)))
        .collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut still = Vec::new();
        for item in pending {
            let (id, Planned::Math(expr)) = item else {
                continue;
            };
            let mut deps = expr.references();
            if expr.uses_metrics_function() {
                deps.extend(metric_ids.iter().cloned());
            }
            if let Some(unknown) = deps.iter().find(|d| !ids.contains(*d)) {
                return Err(invalid_value(format!("The expression of {id} references {unknown}, which is not the Id of a query in this request.")));
            }
            if deps.iter().all(|d| values.contains_key(d)) {
                let period = queries
                    .iter()
                    .find(|q| q.id.as_deref() == Some(id))
                    .and_then(|q| q.period)
                    .map_or(default_period, i64::from);
                let ectx = EvalContext {
                    values: &values,
                    metric_ids: &metric_ids,
                    period,
                    start,
                    end,
                };
                let v = expr.evaluate(&ectx).map_err(|e| {
                    invalid_value(format!("Error in expression {id}: {}", e.message))
                })?;
                values.insert(id.clone(), v);
            } else {
                still.push(item);
            }
        }
        if still.len() == before {
            return Err(invalid_value(
                "Metric math expressions reference each other in a cycle.",
            ));
        }
        pending = still;
    }

    // Every result in request order; then the page of MaxDatapoints points after `skip`.
    let mut results = Vec::new();
    let mut all_points: Vec<Vec<(i64, f64)>> = Vec::new();
    let label_env = crate::labels::LabelEnv {
        account: &ctx.account_id,
        region: &ctx.region,
        offset_seconds,
        now: store.now().div_euclid(1000),
    };
    for (q, (id, p)) in queries.iter().zip(&planned) {
        if q.return_data == Some(false) {
            continue;
        }
        let period = match p {
            Planned::Stat { period, .. }
            | Planned::Search(_, period)
            | Planned::Insights(_, period) => *period,
            Planned::Math(_) => q.period.map_or(default_period, i64::from),
            Planned::Band(b) => match planned.iter().find(|(pid, _)| *pid == b.of) {
                Some((_, Planned::Stat { period, .. })) => *period,
                _ => default_period,
            },
        };
        let series_props = props.remove(id).unwrap_or_default();
        let series: Vec<Series> = match values.remove(id) {
            Some(MathValue::Series(s)) => vec![s],
            Some(MathValue::Array(a)) => a,
            _ => continue,
        };
        let many = series.len() > 1;
        for (n, s) in series.into_iter().enumerate() {
            let mut points: Vec<(i64, f64)> = s
                .timestamps
                .iter()
                .copied()
                .zip(s.values.iter().copied())
                .collect();
            let default_label = if s.label.is_empty() {
                id.clone()
            } else {
                s.label.clone()
            };
            let label = match (&q.label, many) {
                (Some(l), _) if crate::labels::is_dynamic(l) => crate::labels::render(
                    l,
                    &default_label,
                    series_props.get(n),
                    period,
                    &points,
                    &label_env,
                )
                .map_err(|m| invalid_value(format!("Invalid Label of {id}: {m}")))?,
                (Some(l), false) => l.clone(),
                (Some(l), true) => format!("{l} {}", s.label),
                (None, _) => default_label,
            };
            if descending {
                points.reverse();
            }
            all_points.push(points);
            results.push(MetricDataResult {
                id: Some(id.clone()),
                label: Some(label),
                timestamps: None,
                values: None,
                status_code: Some("Complete".into()),
                messages: Some(if truncated.contains(id) {
                    vec![MessageData {
                        code: Some("MaxMetricsExceeded".into()),
                        value: Some(format!(
                            "SEARCH matched more than {MAX_SEARCH_SERIES} metrics; the first {MAX_SEARCH_SERIES} are returned"
                        )),
                    }]
                } else {
                    notes.get(id).cloned().into_iter().collect()
                }),
            });
        }
    }
    Ok(results.into_iter().zip(all_points).collect())
}
