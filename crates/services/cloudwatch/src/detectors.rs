//! PutAnomalyDetector, DescribeAnomalyDetectors and DeleteAnomalyDetector: anomaly detectors kept
//! durably in the metric store (per account and Region), and the state of their training.
//!
//! A detector is identified by what it models: the metric (account, namespace, name, dimensions)
//! and statistic, or the metric math queries. Its `AnomalyDetectorId` is derived from that
//! identity, so putting the same detector again updates it and keeps its id.
//!
//! How a detector's training is judged (StateValue) and followed by ANOMALY_DETECTION_BAND is in
//! [`crate::training`].

use crate::anomaly::Hours;
use crate::stat::Stat;
use crate::training::{evaluate, state};
use crate::{invalid_combination, invalid_value, missing, output, scope, series_key};
use nephoscope_metricstore::detector::{Detector, Target, Training};
use nephoscope_metricstore::{MetricStore, Mutation};
use nephoscope_model::generated::cloudwatch::SERVICE;
use nephoscope_model::types::cloudwatch::*;
use nephoscope_model::Timestamp;
use nephoscope_wire::{ApiError, RequestContext};
use serde_json::Value;

/// Anomaly detection models per account and Region (AWS's quota).
pub const MAX_DETECTORS: usize = 500;
/// Excluded time ranges per detector.
pub const MAX_EXCLUDED_RANGES: usize = 10;
/// DescribeAnomalyDetectors page size: the default and the largest MaxResults.
pub const MAX_PAGE: usize = 100;
/// AnomalyDetectorIds per DescribeAnomalyDetectors call.
pub const MAX_IDS: usize = 50;
/// MetricDataQueries per metric math detector.
pub const MAX_MATH_QUERIES: usize = 100;

fn not_found(what: &str) -> ApiError {
    ApiError::modeled(
        &SERVICE,
        "ResourceNotFoundException",
        format!("No anomaly detector found for {what}."),
    )
}

/// The metric fields of a request: the deprecated top-level ones or SingleMetricAnomalyDetector.
struct MetricFields {
    account: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
    dimensions: Option<Vec<Dimension>>,
    stat: Option<String>,
}

impl MetricFields {
    fn any(&self) -> bool {
        self.namespace.is_some()
            || self.name.is_some()
            || self.dimensions.is_some()
            || self.stat.is_some()
    }
}

/// What a Put or Delete request names: a metric (old or new form) or a math expression.
fn target_of(
    store: &MetricStore,
    ctx: &RequestContext,
    legacy: MetricFields,
    single: Option<SingleMetricAnomalyDetector>,
    math: Option<MetricMathAnomalyDetector>,
) -> Result<Target, ApiError> {
    match (legacy.any(), single, math) {
        (true, Some(_), _) | (true, _, Some(_)) => Err(invalid_combination(
            "Namespace, MetricName, Dimensions and Stat cannot be used with SingleMetricAnomalyDetector or MetricMathAnomalyDetector.",
        )),
        (_, Some(_), Some(_)) => Err(invalid_combination(
            "SingleMetricAnomalyDetector and MetricMathAnomalyDetector cannot be used together.",
        )),
        (false, None, None) => Err(missing(
            "Specify SingleMetricAnomalyDetector, MetricMathAnomalyDetector, or the metric's Namespace, MetricName and Stat.",
        )),
        (true, None, None) => metric_target(legacy, ""),
        (false, Some(s), None) => metric_target(
            MetricFields {
                account: s.account_id,
                namespace: s.namespace,
                name: s.metric_name,
                dimensions: s.dimensions,
                stat: s.stat,
            },
            "SingleMetricAnomalyDetector.",
        ),
        (false, None, Some(m)) => math_target(store, ctx, m),
    }
}

fn metric_target(f: MetricFields, prefix: &str) -> Result<Target, ApiError> {
    let required = |v: Option<String>, name: &str| {
        v.ok_or_else(|| missing(format!("The parameter {prefix}{name} is required.")))
    };
    let namespace = required(f.namespace, "Namespace")?;
    let name = required(f.name, "MetricName")?;
    let stat = required(f.stat, "Stat")?;
    Stat::parse(&stat)?;
    let dims = f.dimensions.unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    for d in &dims {
        let n = d.name.as_deref().unwrap_or_default();
        if !seen.insert(n) {
            return Err(invalid_value(format!(
                "The dimension {n} appears more than once in {prefix}Dimensions."
            )));
        }
    }
    Ok(Target::Metric {
        account: f.account,
        key: series_key(&namespace, &name, &dims),
        stat,
    })
}

/// The queries of a math detector: exactly one returns data, an expression giving one series.
fn math_target(
    store: &MetricStore,
    ctx: &RequestContext,
    m: MetricMathAnomalyDetector,
) -> Result<Target, ApiError> {
    let queries = m.metric_data_queries.unwrap_or_default();
    if queries.is_empty() {
        return Err(missing(
            "The parameter MetricMathAnomalyDetector.MetricDataQueries is required.",
        ));
    }
    if queries.len() > MAX_MATH_QUERIES {
        return Err(invalid_value(format!(
            "MetricMathAnomalyDetector.MetricDataQueries can have at most {MAX_MATH_QUERIES} queries."
        )));
    }
    let returning: Vec<&MetricDataQuery> = queries
        .iter()
        .filter(|q| q.return_data != Some(false))
        .collect();
    let [ret] = returning[..] else {
        return Err(invalid_value(format!(
            "Exactly one query of MetricMathAnomalyDetector.MetricDataQueries must have ReturnData true (the expression the detector models); {} do.",
            returning.len()
        )));
    };
    let Some(expr) = ret.expression.as_deref() else {
        return Err(invalid_value(
            "The query of MetricMathAnomalyDetector.MetricDataQueries with ReturnData true must be a metric math Expression.",
        ));
    };
    let searches = crate::search::extract_calls(expr, |n| format!("s{n}"))
        .map(|(_, calls)| !calls.is_empty())
        .unwrap_or(true);
    if searches || crate::metricsql::parse(expr).is_some() || crate::anomaly::parse(expr).is_some()
    {
        return Err(invalid_value(format!(
            "The expression {expr} of a metric math anomaly detector must be metric math returning a single time series: SEARCH, Metrics Insights queries and ANOMALY_DETECTION_BAND are not allowed."
        )));
    }
    // The same checks as GetMetricData (ids, periods, statistics, references), over the last
    // hour; the expression must give one series.
    let now = store.now().div_euclid(1000);
    let results = evaluate(store, ctx, &queries, now - 3_600, now).map_err(|e| {
        invalid_value(format!(
            "Invalid MetricMathAnomalyDetector: {}",
            e.message.replace(
                "MetricDataQueries.member",
                "MetricMathAnomalyDetector.MetricDataQueries.member"
            )
        ))
    })?;
    if results.len() != 1 {
        return Err(invalid_value(format!(
            "The expression {expr} of a metric math anomaly detector must return a single time series; it returns {}.",
            results.len()
        )));
    }
    Ok(Target::Math {
        queries: serde_json::to_string(&queries)
            .map_err(|e| ApiError::serialization(e.to_string()))?,
    })
}

/// 128-bit FNV-1a: stable across versions and platforms, unlike std's hashers.
fn fnv128(bytes: &[u8]) -> u128 {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in bytes {
        h ^= u128::from(*b);
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    h
}

/// The id of the detector of `target`: a hash of its identity, shaped like a UUID. A metric of
/// the caller's own account is the same detector with or without AccountId.
fn detector_id(ctx: &RequestContext, target: &Target) -> String {
    let identity = match target {
        Target::Metric { account, key, stat } => {
            let mut s = format!(
                "metric\n{}\n{}\n{}\n{stat}",
                account.as_deref().unwrap_or(&ctx.account_id),
                key.namespace,
                key.name
            );
            for (n, v) in &key.dimensions {
                s.push_str(&format!("\n{n}={v}"));
            }
            s
        }
        Target::Math { queries } => format!("math\n{queries}"),
    };
    let h = format!("{:032x}", fnv128(identity.as_bytes()));
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn millis(t: &Option<Timestamp>) -> i64 {
    (t.unwrap_or_default().0 * 1000.0).round() as i64
}

fn training_of(
    config: Option<AnomalyDetectorConfiguration>,
    characteristics: Option<MetricCharacteristics>,
) -> Result<Training, ApiError> {
    let config = config.unwrap_or_default();
    let ranges = config.excluded_time_ranges.unwrap_or_default();
    if ranges.len() > MAX_EXCLUDED_RANGES {
        return Err(invalid_value(format!(
            "Configuration.ExcludedTimeRanges can have at most {MAX_EXCLUDED_RANGES} time ranges; it has {}.",
            ranges.len()
        )));
    }
    let mut excluded = Vec::with_capacity(ranges.len());
    for (n, r) in ranges.iter().enumerate() {
        let (s, e) = (millis(&r.start_time), millis(&r.end_time));
        if s >= e {
            return Err(invalid_value(format!(
                "The StartTime of Configuration.ExcludedTimeRanges.member.{} must be before its EndTime.",
                n + 1
            )));
        }
        excluded.push((s, e));
    }
    if let Some(tz) = &config.metric_timezone {
        if Hours::zone(tz).is_none() {
            return Err(invalid_value(format!(
                "The value {tz} for parameter Configuration.MetricTimezone is not a time zone of the tz database."
            )));
        }
    }
    Ok(Training {
        excluded,
        timezone: config.metric_timezone,
        periodic_spikes: characteristics.and_then(|c| c.periodic_spikes),
        adaptation_speed: config.adaptation_speed,
        outlier_filtering: config.outlier_filtering_strength,
    })
}

pub async fn put_anomaly_detector(
    store: &MetricStore,
    ctx: &RequestContext,
    req: PutAnomalyDetectorInput,
) -> Result<Value, ApiError> {
    let target = target_of(
        store,
        ctx,
        MetricFields {
            account: None,
            namespace: req.namespace,
            name: req.metric_name,
            dimensions: req.dimensions,
            stat: req.stat,
        },
        req.single_metric_anomaly_detector,
        req.metric_math_anomaly_detector,
    )?;
    let training = training_of(req.configuration, req.metric_characteristics)?;
    let id = detector_id(ctx, &target);
    let scope = scope(ctx);
    {
        let st = store.read();
        let existing = st.detectors.get(&scope);
        let count = existing.map_or(0, |d| d.len());
        if count >= MAX_DETECTORS && !existing.is_some_and(|d| d.contains_key(&id)) {
            return Err(ApiError::modeled(
                &SERVICE,
                "LimitExceededException",
                format!(
                    "The limit of {MAX_DETECTORS} anomaly detection models per account and Region is reached."
                ),
            ));
        }
    }
    store
        .mutate(Mutation::PutDetector {
            scope,
            detector: Box::new(Detector {
                id: id.clone(),
                target,
                training,
            }),
        })
        .await
        .map_err(|e| crate::put::storage_error(e, &ctx.request_id))?;
    output(PutAnomalyDetectorOutput {
        anomaly_detector_id: Some(id),
    })
}

pub async fn delete_anomaly_detector(
    store: &MetricStore,
    ctx: &RequestContext,
    req: DeleteAnomalyDetectorInput,
) -> Result<Value, ApiError> {
    let legacy = MetricFields {
        account: None,
        namespace: req.namespace,
        name: req.metric_name,
        dimensions: req.dimensions,
        stat: req.stat,
    };
    let (id, what) = match req.anomaly_detector_id {
        Some(id) => {
            if legacy.any()
                || req.single_metric_anomaly_detector.is_some()
                || req.metric_math_anomaly_detector.is_some()
            {
                return Err(invalid_combination(
                    "AnomalyDetectorId cannot be used with a metric or a metric math expression; it identifies the detector alone.",
                ));
            }
            let what = format!("the id {id}");
            (id, what)
        }
        None => {
            let target = target_of(
                store,
                ctx,
                legacy,
                req.single_metric_anomaly_detector,
                req.metric_math_anomaly_detector,
            )?;
            let what = match &target {
                Target::Metric { key, stat, .. } => {
                    format!(
                        "the metric {}/{} and statistic {stat}",
                        key.namespace, key.name
                    )
                }
                Target::Math { .. } => "this metric math expression".to_string(),
            };
            (detector_id(ctx, &target), what)
        }
    };
    let scope = scope(ctx);
    let exists = store
        .read()
        .detectors
        .get(&scope)
        .is_some_and(|d| d.contains_key(&id));
    if !exists {
        return Err(not_found(&what));
    }
    store
        .mutate(Mutation::DeleteDetector { scope, id })
        .await
        .map_err(|e| crate::put::storage_error(e, &ctx.request_id))?;
    output(DeleteAnomalyDetectorOutput {})
}

pub fn describe_anomaly_detectors(
    store: &MetricStore,
    ctx: &RequestContext,
    req: DescribeAnomalyDetectorsInput,
) -> Result<Value, ApiError> {
    let ids = req.anomaly_detector_ids.unwrap_or_default();
    let filtered = req.namespace.is_some()
        || req.metric_name.is_some()
        || req.dimensions.is_some()
        || req.anomaly_detector_types.is_some();
    if !ids.is_empty() && filtered {
        return Err(invalid_combination(
            "AnomalyDetectorIds cannot be used with Namespace, MetricName, Dimensions or AnomalyDetectorTypes.",
        ));
    }
    if ids.len() > MAX_IDS {
        return Err(invalid_value(format!(
            "AnomalyDetectorIds can have at most {MAX_IDS} identifiers."
        )));
    }
    let page = match req.max_results {
        Some(n) if n as usize > MAX_PAGE => {
            return Err(invalid_value(format!(
                "The value {n} for parameter MaxResults is invalid: the maximum is {MAX_PAGE}."
            )))
        }
        Some(n) => n.max(1) as usize,
        None => MAX_PAGE,
    };
    let types = req.anomaly_detector_types.unwrap_or_default();
    let (single, math) = if types.is_empty() {
        (true, false)
    } else {
        (
            types.iter().any(|t| t == "SINGLE_METRIC"),
            types.iter().any(|t| t == "METRIC_MATH"),
        )
    };
    let dims: Vec<(String, String)> = req
        .dimensions
        .unwrap_or_default()
        .into_iter()
        .map(|d| (d.name.unwrap_or_default(), d.value.unwrap_or_default()))
        .collect();
    let after = match &req.next_token {
        Some(t) if t.is_empty() || !t.chars().all(|c| c.is_ascii_hexdigit() || c == '-') => {
            return Err(ApiError::modeled(
                &SERVICE,
                "InvalidNextToken",
                "The service returned an invalid next token.",
            ))
        }
        t => t.clone(),
    };
    let wanted = |d: &Detector| -> bool {
        if !ids.is_empty() {
            return ids.contains(&d.id);
        }
        match &d.target {
            Target::Metric { key, .. } => {
                single
                    && req.namespace.as_ref().is_none_or(|n| *n == key.namespace)
                    && req.metric_name.as_ref().is_none_or(|n| *n == key.name)
                    && dims.iter().all(|want| key.dimensions.contains(want))
            }
            Target::Math { .. } => math,
        }
    };
    // Ids are ordered; a token is the last id of the page before.
    let selected: Vec<Detector> = {
        let st = store.read();
        st.detectors
            .get(&scope(ctx))
            .into_iter()
            .flat_map(|m| m.values())
            .filter(|d| after.as_ref().is_none_or(|a| d.id.as_str() > a.as_str()))
            .filter(|d| wanted(d))
            .take(page + 1)
            .cloned()
            .collect()
    };
    let more = selected.len() > page;
    let now = store.now().div_euclid(1000);
    let detectors: Vec<AnomalyDetector> = selected
        .iter()
        .take(page)
        .map(|d| describe(store, ctx, d, now))
        .collect();
    let next_token = more
        .then(|| detectors.last().and_then(|d| d.anomaly_detector_id.clone()))
        .flatten();
    output(DescribeAnomalyDetectorsOutput {
        anomaly_detectors: Some(detectors),
        next_token,
    })
}

fn describe(store: &MetricStore, ctx: &RequestContext, d: &Detector, now: i64) -> AnomalyDetector {
    let t = &d.training;
    let configuration = AnomalyDetectorConfiguration {
        excluded_time_ranges: Some(
            t.excluded
                .iter()
                .map(|(s, e)| Range {
                    start_time: Some(Timestamp(*s as f64 / 1000.0)),
                    end_time: Some(Timestamp(*e as f64 / 1000.0)),
                })
                .collect(),
        ),
        metric_timezone: t.timezone.clone(),
        adaptation_speed: t.adaptation_speed.clone(),
        outlier_filtering_strength: t.outlier_filtering.clone(),
    };
    let mut out = AnomalyDetector {
        anomaly_detector_id: Some(d.id.clone()),
        configuration: Some(configuration),
        state_value: Some(state(store, ctx, d, now).into()),
        metric_characteristics: t.periodic_spikes.map(|p| MetricCharacteristics {
            periodic_spikes: Some(p),
        }),
        ..Default::default()
    };
    match &d.target {
        Target::Metric { account, key, stat } => {
            let dims: Vec<Dimension> = key
                .dimensions
                .iter()
                .map(|(n, v)| Dimension {
                    name: Some(n.clone()),
                    value: Some(v.clone()),
                })
                .collect();
            out.namespace = Some(key.namespace.clone());
            out.metric_name = Some(key.name.clone());
            out.dimensions = Some(dims.clone());
            out.stat = Some(stat.clone());
            out.single_metric_anomaly_detector = Some(SingleMetricAnomalyDetector {
                account_id: account.clone(),
                namespace: Some(key.namespace.clone()),
                metric_name: Some(key.name.clone()),
                dimensions: Some(dims),
                stat: Some(stat.clone()),
            });
        }
        Target::Math { queries } => {
            out.metric_math_anomaly_detector = Some(MetricMathAnomalyDetector {
                metric_data_queries: serde_json::from_str(queries).ok(),
            });
        }
    }
    out
}
