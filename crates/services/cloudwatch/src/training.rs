//! What an anomaly detector's model trains on: its StateValue, and the detector whose
//! ExcludedTimeRanges and MetricTimezone an ANOMALY_DETECTION_BAND follows.
//!
//! **StateValue** is decided from the data the model of [`crate::anomaly`] would train on — the
//! detector's series in the two weeks before now, excluded time ranges left out — counted as
//! values of the statistic per [`STATE_PERIOD`] seconds for a single metric, and as the points of
//! the returning expression (at the queries' own periods) for metric math:
//!
//! * `PENDING_TRAINING`: no value at all (nothing to train on yet), or a metric of another
//!   account (Nephoscope has no cross-account observability, so it never reads one);
//! * `TRAINED_INSUFFICIENT_DATA`: some values, but fewer than [`crate::anomaly::MIN_TRAINING`];
//! * `TRAINED`: enough values for a model — ANOMALY_DETECTION_BAND draws a band.

use crate::anomaly::{MIN_TRAINING, TRAINING_SECONDS};
use crate::scope;
use crate::stat::Stat;
use nephoscope_metricstore::detector::{Detector, Target};
use nephoscope_metricstore::{MetricStore, PeriodStat, SeriesKey};
use nephoscope_model::types::cloudwatch::*;
use nephoscope_model::Timestamp;
use nephoscope_wire::{ApiError, RequestContext};

/// The period at which a single-metric detector's training values are counted.
pub const STATE_PERIOD: i64 = 300;

/// The points of every returned series of `queries` over `start..end` (epoch seconds).
pub(crate) fn evaluate(
    store: &MetricStore,
    ctx: &RequestContext,
    queries: &[MetricDataQuery],
    start: i64,
    end: i64,
) -> Result<Vec<Vec<(i64, f64)>>, ApiError> {
    let answer = crate::read::compute_metric_data(
        store,
        ctx,
        GetMetricDataInput {
            metric_data_queries: Some(queries.to_vec()),
            start_time: Some(Timestamp(start as f64)),
            end_time: Some(Timestamp(end as f64)),
            ..Default::default()
        },
    )?;
    Ok(answer.into_iter().map(|(_, points)| points).collect())
}

/// The detector of the metric `key` and statistic `stat` in the caller's account, if any: the
/// one whose training an ANOMALY_DETECTION_BAND follows.
pub(crate) fn for_metric(
    store: &MetricStore,
    ctx: &RequestContext,
    key: &SeriesKey,
    stat: Stat,
) -> Option<Detector> {
    let st = store.read();
    st.detectors
        .get(&scope(ctx))?
        .values()
        .find_map(|d| match &d.target {
            Target::Metric {
                account,
                key: k,
                stat: s,
            } if k == key
                && account.as_deref().is_none_or(|a| a == ctx.account_id)
                && Stat::parse(s).is_ok_and(|s| s == stat) =>
            {
                Some(d.clone())
            }
            _ => None,
        })
}

/// StateValue from the values training would use now (see the module's documentation).
pub(crate) fn state(
    store: &MetricStore,
    ctx: &RequestContext,
    d: &Detector,
    now: i64,
) -> &'static str {
    let (start, end) = (now - TRAINING_SECONDS, now);
    let times: Vec<(i64, i64)> = match &d.target {
        Target::Metric { account, .. }
            if account.as_deref().is_some_and(|a| a != ctx.account_id) =>
        {
            Vec::new()
        }
        Target::Metric { key, stat, .. } => {
            let Ok(stat) = Stat::parse(stat) else {
                return "PENDING_TRAINING";
            };
            let value = |a: nephoscope_metricstore::AggRef<'_>| stat.value(a);
            let (ts, _) = store.read().period_values(
                &scope(ctx),
                key,
                start - start.rem_euclid(STATE_PERIOD),
                end,
                STATE_PERIOD,
                None,
                &PeriodStat {
                    sketch: stat.needs_sketch(),
                    value: &value,
                },
            );
            ts.into_iter().map(|t| (t, STATE_PERIOD)).collect()
        }
        Target::Math { queries } => {
            let queries: Vec<MetricDataQuery> = serde_json::from_str(queries).unwrap_or_default();
            let period = queries
                .iter()
                .find_map(|q| q.metric_stat.as_ref().and_then(|m| m.period))
                .map_or(60, i64::from);
            evaluate(store, ctx, &queries, start, end)
                .ok()
                .and_then(|r| r.into_iter().next())
                .unwrap_or_default()
                .into_iter()
                .map(|(t, _)| (t, period))
                .collect()
        }
    };
    let used = times
        .iter()
        .filter(|(t, period)| !overlaps_excluded(d, *t, *period))
        .count();
    match used {
        0 => "PENDING_TRAINING",
        n if n < MIN_TRAINING => "TRAINED_INSUFFICIENT_DATA",
        _ => "TRAINED",
    }
}

/// Whether the period of `period` seconds from `t` overlaps a time range `d` excludes.
pub(crate) fn overlaps_excluded(d: &Detector, t: i64, period: i64) -> bool {
    let (from, to) = (t * 1000, (t + period.max(1)) * 1000);
    d.training
        .excluded
        .iter()
        .any(|(s, e)| from <= *e && to > *s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::{delete_anomaly_detector, put_anomaly_detector};
    use nephoscope_metricstore::{Datum, Mutation, Values};
    use serde_json::json;

    /// 2024-01-15 00:00 UTC.
    const NOW: i64 = 1_705_276_800;
    const DAY: i64 = 86_400;

    fn ctx() -> RequestContext {
        RequestContext {
            request_id: "r".into(),
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
            access_key_id: "AK".into(),
            principal: "root".into(),
        }
    }

    /// The (upper, lower) band of App/Latency Average per minute from `from` for 2 minutes.
    fn band(store: &MetricStore, from: i64) -> Vec<(f64, f64)> {
        let req: GetMetricDataInput = serde_json::from_value(json!({
            "MetricDataQueries": [
                {"Id": "m1", "ReturnData": false, "MetricStat": {"Metric": {
                    "Namespace": "App", "MetricName": "Latency"}, "Period": 60, "Stat": "Average"}},
                {"Id": "b", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)"}],
            "StartTime": from, "EndTime": from + 120}))
        .unwrap();
        let answer = crate::read::compute_metric_data(store, &ctx(), req).unwrap();
        let (upper, lower) = (&answer[0].1, &answer[1].1);
        upper.iter().zip(lower).map(|(u, l)| (u.1, l.1)).collect()
    }

    #[tokio::test]
    async fn the_band_follows_a_detectors_time_zone_and_excluded_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let clock: nephoscope_clock::SharedClock =
            std::sync::Arc::new(nephoscope_clock::ManualClock::new(NOW * 1000));
        let store = MetricStore::open(dir.path(), clock).unwrap();
        // Three days: 10 at 12:10 UTC (17:40 in Kolkata), 30 at 12:40 UTC (18:10 in Kolkata);
        // a fourth day with 1000 at 12:10, which a detector may exclude.
        let mut points = Vec::new();
        for d in 1..=3 {
            points.push((NOW - d * DAY + 12 * 3600 + 600, 10.0));
            points.push((NOW - d * DAY + 12 * 3600 + 2400, 30.0));
        }
        let spike = NOW - 4 * DAY + 12 * 3600 + 600;
        points.push((spike, 1000.0));
        let datums = points
            .iter()
            .map(|(t, v)| Datum {
                key: SeriesKey::new("App", "Latency", vec![]),
                timestamp_ms: t * 1000,
                unit: "None".into(),
                high_resolution: false,
                values: Values::Ones(vec![*v]),
            })
            .collect();
        store
            .mutate(Mutation::Put {
                scope: scope(&ctx()),
                datums,
            })
            .await
            .unwrap();
        let at = NOW + 12 * 3600 + 600;
        let put = |config: serde_json::Value| {
            serde_json::from_value::<PutAnomalyDetectorInput>(json!({
                "Namespace": "App", "MetricName": "Latency", "Stat": "Average",
                "Configuration": config}))
            .unwrap()
        };
        let mean = |b: &[(f64, f64)]| (b[0].0 + b[0].1) / 2.0;
        // No detector: UTC hour 12 holds all seven values.
        let none = band(&store, at);
        assert_eq!(none.len(), 2);
        assert!((mean(&none) - 1120.0 / 7.0).abs() < 1e-9, "{none:?}");
        // Excluding the spike: hour 12 holds 10, 30 three times each.
        let excluded = json!({"ExcludedTimeRanges": [
            {"StartTime": spike - 60, "EndTime": spike + 60}]});
        put_anomaly_detector(&store, &ctx(), put(excluded.clone()))
            .await
            .unwrap();
        let b = band(&store, at);
        assert!(
            (mean(&b) - 20.0).abs() < 1e-9 && (b[0].0 - 40.0).abs() < 1e-9,
            "{b:?}"
        );
        // Kolkata hours: 12:10 UTC is 17:40 there, an hour of only the 10s.
        let mut config = excluded;
        config["MetricTimezone"] = json!("Asia/Kolkata");
        put_anomaly_detector(&store, &ctx(), put(config))
            .await
            .unwrap();
        let b = band(&store, at);
        assert_eq!(b[0], (10.0, 10.0), "{b:?}");
        // Another statistic's detector does not apply to Average.
        delete_anomaly_detector(
            &store,
            &ctx(),
            serde_json::from_value(
                json!({"Namespace": "App", "MetricName": "Latency", "Stat": "Average"}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
        put_anomaly_detector(
            &store,
            &ctx(),
            serde_json::from_value(
                json!({"Namespace": "App", "MetricName": "Latency", "Stat": "Sum",
                "Configuration": {"MetricTimezone": "Asia/Kolkata"}}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(band(&store, at), none);
    }
}
