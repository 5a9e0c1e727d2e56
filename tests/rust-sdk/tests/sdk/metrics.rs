//! CloudWatch metrics over Smithy RPC v2 CBOR (aws-sdk-cloudwatch): PutMetricData with every
//! datum shape and dimensions, GetMetricStatistics, GetMetricData and ListMetrics read back with
//! exact values (tag-1 timestamps and doubles decoded by the SDK), and modeled errors.
//!
//! Data points are written 60-65 minutes in the past on 5-minute boundaries, with dyadic values,
//! so every basic statistic is exact; percentiles must be within 1 % of the exact value.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use aws_sdk_cloudwatch::operation::get_metric_statistics::GetMetricStatisticsError;
use aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataError;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Datapoint, Dimension, DimensionFilter, LabelOptions, Metric, MetricDataQuery, MetricDatum, MetricStat, ScanBy,
    StandardUnit, Statistic, StatisticSet, StatusCode,
};
use aws_sdk_cloudwatch::Client;
use nephoscope_rust_sdk_tests::{expect_service_error, Server, ServiceFailure};

/// Epoch seconds 60-65 minutes ago, on a 5-minute boundary.
fn base_time() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    now / 300 * 300 - 3600
}

fn at(t: i64) -> DateTime {
    DateTime::from_secs(t)
}

fn dim(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

fn web() -> Vec<Dimension> {
    vec![dim("Host", "web-1"), dim("AZ", "az-a")]
}

fn unique_namespace() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    format!("neph-rust/{}-{nanos}", std::process::id())
}

/// Datapoints sorted by timestamp (GetMetricStatistics returns them in no particular order).
fn sorted(mut points: Vec<Datapoint>) -> Vec<Datapoint> {
    points.sort_by_key(|p| p.timestamp().map(|t| t.secs()));
    points
}

fn secs(p: &Datapoint) -> i64 {
    let t = p
        .timestamp()
        .unwrap_or_else(|| panic!("datapoint without a timestamp: {p:?}"));
    assert_eq!(t.subsec_nanos(), 0, "period starts are whole seconds: {p:?}");
    t.secs()
}

/// Exact percentile bounds: the order statistics around rank p/100 * (n - 1).
fn assert_percentile(got: f64, values: &[f64], p: f64, what: &str) {
    let mut s = values.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let r = p / 100.0 * (s.len() - 1) as f64;
    let (lo, hi) = (s[r.floor() as usize], s[r.ceil() as usize]);
    assert!(
        lo * 0.99 <= got && got <= hi * 1.01,
        "{what}: p{p} = {got}, exact {lo}..{hi} (1 % relative error allowed)"
    );
}

fn assert_cbor<E: ProvideErrorMetadata>(what: &str, failure: &ServiceFailure<E>) {
    assert_eq!(
        failure.header("smithy-protocol"),
        Some("rpc-v2-cbor"),
        "{what}: headers {:?}",
        failure.headers
    );
    assert_eq!(failure.status, 400, "{what}: HTTP status");
    assert_eq!(
        failure.query_error_type(),
        Some("Sender"),
        "{what}: x-amzn-query-error type"
    );
}

async fn publish(cw: &Client, ns: &str, t0: i64) {
    let datums = vec![
        // minute 0: two single values and a Values/Counts datum
        MetricDatum::builder()
            .metric_name("Latency")
            .set_dimensions(Some(web()))
            .timestamp(at(t0 + 3))
            .value(12.5)
            .unit(StandardUnit::Milliseconds)
            .build(),
        MetricDatum::builder()
            .metric_name("Latency")
            .set_dimensions(Some(web()))
            .timestamp(at(t0 + 20))
            .value(0.25)
            .unit(StandardUnit::Milliseconds)
            .build(),
        MetricDatum::builder()
            .metric_name("Latency")
            .set_dimensions(Some(web()))
            .timestamp(at(t0 + 40))
            .set_values(Some(vec![1.0, 2.5, 40.125, 7.0]))
            .set_counts(Some(vec![3.0, 1.0, 2.0, 4.0]))
            .unit(StandardUnit::Milliseconds)
            .build(),
        // minute 1: a statistic set (hides percentiles for its period)
        MetricDatum::builder()
            .metric_name("Latency")
            .set_dimensions(Some(web()))
            .timestamp(at(t0 + 65))
            .statistic_values(
                StatisticSet::builder()
                    .sample_count(4.0)
                    .sum(10.0)
                    .minimum(1.0)
                    .maximum(4.0)
                    .build(),
            )
            .unit(StandardUnit::Milliseconds)
            .build(),
        // minute 2: Values without Counts
        MetricDatum::builder()
            .metric_name("Latency")
            .set_dimensions(Some(web()))
            .timestamp(at(t0 + 130))
            .set_values(Some(vec![8.0, 16.0, 0.5]))
            .unit(StandardUnit::Milliseconds)
            .build(),
        // another series of the same name, and a high-resolution one
        MetricDatum::builder()
            .metric_name("Latency")
            .dimensions(dim("Host", "web-2"))
            .timestamp(at(t0 + 5))
            .value(99.0)
            .build(),
        MetricDatum::builder()
            .metric_name("HiRes")
            .timestamp(at(t0 + 1))
            .value(3.0)
            .storage_resolution(1)
            .unit(StandardUnit::Count)
            .build(),
        MetricDatum::builder()
            .metric_name("HiRes")
            .timestamp(at(t0 + 2))
            .value(0.1)
            .storage_resolution(1)
            .unit(StandardUnit::Count)
            .build(),
    ];
    cw.put_metric_data()
        .namespace(ns)
        .set_metric_data(Some(datums))
        .send()
        .await
        .expect("PutMetricData");
}

#[tokio::test]
async fn put_metric_data_then_read_back_exactly() {
    let server = Server::start();
    let cw = server.cloudwatch().await;
    let (ns, t0) = (unique_namespace(), base_time());
    publish(&cw, &ns, t0).await;

    // GetMetricStatistics: every basic statistic, per minute, exact.
    let minute0: Vec<f64> = [vec![12.5, 0.25], vec![1.0; 3], vec![2.5], vec![40.125; 2], vec![7.0; 4]].concat();
    let minute2 = [8.0, 16.0, 0.5];
    let want: [(i64, f64, f64, f64, f64); 3] = [
        (t0, 12.0, minute0.iter().sum(), 0.25, 40.125),
        (t0 + 60, 4.0, 10.0, 1.0, 4.0),
        (t0 + 120, 3.0, 24.5, 0.5, 16.0),
    ];
    let mut req = cw
        .get_metric_statistics()
        .namespace(&ns)
        .metric_name("Latency")
        .dimensions(dim("AZ", "az-a")) // order of dimensions does not matter
        .dimensions(dim("Host", "web-1"))
        .start_time(at(t0))
        .end_time(at(t0 + 300))
        .period(60);
    for s in ["SampleCount", "Sum", "Average", "Minimum", "Maximum"] {
        req = req.statistics(Statistic::from(s));
    }
    let out = req.send().await.expect("GetMetricStatistics");
    assert_eq!(out.label(), Some("Latency"));
    let points = sorted(out.datapoints().to_vec());
    assert_eq!(points.len(), 3, "{points:?}");
    for (p, (t, n, sum, min, max)) in points.iter().zip(want) {
        assert_eq!(secs(p), t, "{p:?}");
        assert_eq!(
            (p.sample_count(), p.sum(), p.minimum(), p.maximum(), p.average()),
            (Some(n), Some(sum), Some(min), Some(max), Some(sum / n)),
            "{p:?}"
        );
        assert_eq!(p.unit(), Some(&StandardUnit::Milliseconds), "{p:?}");
        assert!(p.extended_statistics().is_none_or(|m| m.is_empty()), "{p:?}");
    }

    // Percentiles: minute 0 and 2 have them; the statistic-set minute does not.
    let out = cw
        .get_metric_statistics()
        .namespace(&ns)
        .metric_name("Latency")
        .set_dimensions(Some(web()))
        .start_time(at(t0))
        .end_time(at(t0 + 180))
        .period(60)
        .extended_statistics("p50")
        .extended_statistics("p90")
        .extended_statistics("p100")
        .send()
        .await
        .expect("GetMetricStatistics percentiles");
    let by_time: BTreeMap<i64, Datapoint> = out.datapoints().iter().map(|p| (secs(p), p.clone())).collect();
    for (t, raw) in [(t0, &minute0[..]), (t0 + 120, &minute2[..])] {
        let ext = by_time[&t].extended_statistics().expect("ExtendedStatistics");
        for (name, p) in [("p50", 50.0), ("p90", 90.0), ("p100", 100.0)] {
            assert_percentile(ext[name], raw, p, &format!("minute at {t}"));
        }
        assert!(
            by_time[&t].sum().is_none(),
            "only what was asked for: {:?}",
            by_time[&t]
        );
    }
    let set_minute = by_time
        .get(&(t0 + 60))
        .and_then(|p| p.extended_statistics())
        .cloned()
        .unwrap_or_default();
    assert!(
        !set_minute.contains_key("p50"),
        "statistic set with distinct values: {set_minute:?}"
    );

    // Unit filter: the data is in Milliseconds, not Seconds.
    let out = cw
        .get_metric_statistics()
        .namespace(&ns)
        .metric_name("Latency")
        .set_dimensions(Some(web()))
        .start_time(at(t0))
        .end_time(at(t0 + 300))
        .period(300)
        .statistics(Statistic::Sum)
        .unit(StandardUnit::Seconds)
        .send()
        .await
        .expect("GetMetricStatistics unit filter");
    assert!(out.datapoints().is_empty(), "{out:?}");

    // High resolution, 1-second periods; 0.1 comes back as the same double.
    let out = cw
        .get_metric_statistics()
        .namespace(&ns)
        .metric_name("HiRes")
        .start_time(at(t0))
        .end_time(at(t0 + 10))
        .period(1)
        .statistics(Statistic::Sum)
        .send()
        .await
        .expect("GetMetricStatistics period 1");
    let got: Vec<(i64, Option<f64>)> = sorted(out.datapoints().to_vec())
        .iter()
        .map(|p| (secs(p), p.sum()))
        .collect();
    assert_eq!(got, vec![(t0 + 1, Some(3.0)), (t0 + 2, Some(0.1))]);

    // GetMetricData: label, ReturnData false, ascending and the default (descending) order.
    let metric = Metric::builder()
        .namespace(&ns)
        .metric_name("Latency")
        .set_dimensions(Some(web()))
        .build();
    let stat = |period: i32, s: &str| {
        MetricStat::builder()
            .metric(metric.clone())
            .period(period)
            .stat(s)
            .build()
    };
    let queries = vec![
        MetricDataQuery::builder()
            .id("total")
            .label("latency total")
            .metric_stat(stat(60, "Sum"))
            .build(),
        MetricDataQuery::builder()
            .id("hidden")
            .return_data(false)
            .metric_stat(stat(60, "Maximum"))
            .build(),
        MetricDataQuery::builder()
            .id("median")
            .metric_stat(stat(60, "p50"))
            .build(),
        MetricDataQuery::builder()
            .id("n")
            .metric_stat(stat(120, "SampleCount"))
            .build(),
    ];
    let asc = cw
        .get_metric_data()
        .set_metric_data_queries(Some(queries.clone()))
        .start_time(at(t0))
        .end_time(at(t0 + 300))
        .scan_by(ScanBy::TimestampAscending)
        .send()
        .await
        .expect("GetMetricData ascending");
    let ids: Vec<&str> = asc.metric_data_results().iter().filter_map(|r| r.id()).collect();
    assert_eq!(ids, ["total", "median", "n"], "ReturnData false leaves a query out");
    let r = &asc.metric_data_results()[0];
    assert_eq!(r.label(), Some("latency total"));
    assert_eq!(r.status_code(), Some(&StatusCode::Complete));
    let times: Vec<i64> = r.timestamps().iter().map(|t| t.secs()).collect();
    assert_eq!(times, [t0, t0 + 60, t0 + 120]);
    assert_eq!(r.values(), [want[0].2, 10.0, 24.5]);
    let median = &asc.metric_data_results()[1];
    assert_eq!(median.label(), Some("Latency"), "default label: the metric name");
    let times: Vec<i64> = median.timestamps().iter().map(|t| t.secs()).collect();
    assert_eq!(times, [t0, t0 + 120], "no percentile for the statistic-set minute");
    assert_percentile(median.values()[0], &minute0, 50.0, "GetMetricData p50, minute 0");
    assert_percentile(median.values()[1], &minute2, 50.0, "GetMetricData p50, minute 2");
    let n = &asc.metric_data_results()[2];
    let times: Vec<i64> = n.timestamps().iter().map(|t| t.secs()).collect();
    assert_eq!((times, n.values().to_vec()), (vec![t0, t0 + 120], vec![16.0, 3.0]));

    let desc = cw
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(at(t0))
        .end_time(at(t0 + 300))
        .send()
        .await
        .expect("GetMetricData default order");
    for (a, d) in asc.metric_data_results().iter().zip(desc.metric_data_results()) {
        assert_eq!(a.id(), d.id());
        let mut values = a.values().to_vec();
        values.reverse();
        assert_eq!(d.values(), values, "descending is the ascending answer reversed");
        let mut times = a.timestamps().to_vec();
        times.reverse();
        assert_eq!(d.timestamps(), times);
    }

    // Dynamic labels with LabelOptions, and SEARCH nested in math, over CBOR.
    let with_labels = cw
        .get_metric_data()
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("n")
                .label("${PROP('MetricName')} ${PROP('Stat')}/${PROP('Period')} n=${DATAPOINT_COUNT} max=${MAX} at ${MAX_TIME}")
                .metric_stat(stat(120, "SampleCount"))
                .build(),
        )
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("all")
                .label("all: ${SUM}")
                .expression(format!("SUM(SEARCH('{{{ns},AZ,Host}} MetricName=\"Latency\"', 'SampleCount', 120))"))
                .build(),
        )
        .label_options(LabelOptions::builder().timezone("-0800").build())
        .start_time(at(t0))
        .end_time(at(t0 + 300))
        .send()
        .await
        .expect("GetMetricData with dynamic labels");
    let labels: Vec<(&str, &str)> = with_labels
        .metric_data_results()
        .iter()
        .filter_map(|r| Some((r.id()?, r.label()?)))
        .collect();
    // The maximum is at t0, shown at UTC-8: the date, then this clock time and offset.
    let local = (t0 - 8 * 3600).rem_euclid(86_400);
    let clock = format!("T{:02}:{:02}:{:02}-08:00", local / 3600, local % 3600 / 60, local % 60);
    let (id, label) = labels[0];
    assert_eq!(id, "n");
    let (text, when) = label.split_once(" at ").expect("a time in the label");
    assert_eq!(text, "Latency SampleCount/120 n=2 max=16");
    assert!(when.len() == 25 && when.ends_with(&clock), "{label} (want …{clock})");
    let all = &with_labels.metric_data_results()[1];
    assert_eq!(
        all.values(),
        [3.0, 16.0],
        "SUM of the one matching series, newest first"
    );
    assert_eq!(all.label(), Some("all: 19"));

    // ListMetrics: everything, by name, by dimension value, by dimension name only.
    let list = |name: Option<&str>, filters: Vec<DimensionFilter>| {
        let cw = cw.clone();
        let ns = ns.clone();
        let name = name.map(str::to_string);
        async move {
            let out = cw
                .list_metrics()
                .namespace(ns)
                .set_metric_name(name)
                .set_dimensions(Some(filters))
                .send()
                .await
                .expect("ListMetrics");
            assert!(out.next_token().is_none(), "{out:?}");
            let mut got: Vec<(String, Vec<(String, String)>)> = out
                .metrics()
                .iter()
                .map(|m| {
                    let mut dims: Vec<(String, String)> = m
                        .dimensions()
                        .iter()
                        .map(|d| {
                            (
                                d.name().unwrap_or_default().into(),
                                d.value().unwrap_or_default().into(),
                            )
                        })
                        .collect();
                    dims.sort();
                    (m.metric_name().unwrap_or_default().to_string(), dims)
                })
                .collect();
            got.sort();
            got
        }
    };
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    let web1 = ("Latency".to_string(), vec![s("AZ", "az-a"), s("Host", "web-1")]);
    let web2 = ("Latency".to_string(), vec![s("Host", "web-2")]);
    let hires = ("HiRes".to_string(), vec![]);
    assert_eq!(list(None, vec![]).await, vec![hires, web1.clone(), web2.clone()]);
    assert_eq!(list(Some("Latency"), vec![]).await, vec![web1.clone(), web2.clone()]);
    let host = |v: Option<&str>| {
        DimensionFilter::builder()
            .name("Host")
            .set_value(v.map(str::to_string))
            .build()
    };
    assert_eq!(list(None, vec![host(Some("web-2"))]).await, vec![web2.clone()]);
    assert_eq!(list(None, vec![host(None)]).await, vec![web1.clone(), web2]);
    let az = DimensionFilter::builder().name("AZ").build();
    assert_eq!(list(Some("Latency"), vec![az, host(None)]).await, vec![web1]);
}

#[tokio::test]
async fn invalid_parameter_combination_is_the_modeled_exception() {
    let server = Server::start();
    let cw = server.cloudwatch().await;
    let ns = unique_namespace();
    let both = MetricDatum::builder()
        .metric_name("m")
        .value(1.0)
        .statistic_values(
            StatisticSet::builder()
                .sample_count(1.0)
                .sum(1.0)
                .minimum(1.0)
                .maximum(1.0)
                .build(),
        )
        .build();
    let fine = MetricDatum::builder().metric_name("fine").value(1.0).build();
    let res = cw
        .put_metric_data()
        .namespace(&ns)
        .metric_data(fine)
        .metric_data(both)
        .send()
        .await;
    let failure = expect_service_error("PutMetricData(Value and StatisticValues)", res);
    assert_cbor("PutMetricData", &failure);
    assert_eq!(
        failure.code(),
        Some("InvalidParameterCombination"),
        "query-compatible code"
    );
    let message = failure.message().unwrap_or_default().to_string();
    assert!(message.contains("MetricData.member.2"), "names the datum: {message:?}");
    match &failure.err {
        PutMetricDataError::InvalidParameterCombinationException(e) => {
            assert_eq!(e.message(), Some(message.as_str()));
        }
        other => panic!("expected PutMetricDataError::InvalidParameterCombinationException, got {other:?}"),
    }
    // The whole batch was refused.
    let out = cw.list_metrics().namespace(&ns).send().await.expect("ListMetrics");
    assert!(out.metrics().is_empty(), "{out:?}");

    // The other datum errors PutMetricData models.
    let res = cw
        .put_metric_data()
        .namespace("AWS/EC2")
        .metric_data(MetricDatum::builder().metric_name("m").value(1.0).build())
        .send()
        .await;
    let failure = expect_service_error("PutMetricData(AWS/ namespace)", res);
    assert_cbor("PutMetricData AWS/", &failure);
    assert!(failure.err.is_invalid_parameter_value_exception(), "{:?}", failure.err);
    assert_eq!(failure.code(), Some("InvalidParameterValue"));
    let res = cw
        .put_metric_data()
        .namespace(&ns)
        .metric_data(MetricDatum::builder().value(1.0).build()) // no MetricName
        .send()
        .await;
    let failure = expect_service_error("PutMetricData(no MetricName)", res);
    assert_cbor("PutMetricData no MetricName", &failure);
    assert!(
        failure.err.is_missing_required_parameter_exception(),
        "{:?}",
        failure.err
    );
    assert_eq!(failure.code(), Some("MissingParameter"));
}

#[tokio::test]
async fn get_metric_statistics_errors_are_modeled() {
    let server = Server::start();
    let cw = server.cloudwatch().await;
    let (ns, t0) = (unique_namespace(), base_time());
    let base = || {
        cw.get_metric_statistics()
            .namespace(&ns)
            .metric_name("m")
            .start_time(at(t0))
            .end_time(at(t0 + 3600))
            .period(60)
    };

    let failure = expect_service_error("no statistics", base().send().await);
    assert_cbor("no statistics", &failure);
    assert!(
        matches!(
            failure.err,
            GetMetricStatisticsError::MissingRequiredParameterException(_)
        ),
        "{:?}",
        failure.err
    );
    assert_eq!(failure.code(), Some("MissingParameter"));

    let failure = expect_service_error("period 45", base().period(45).statistics(Statistic::Sum).send().await);
    assert_cbor("period 45", &failure);
    assert!(failure.err.is_invalid_parameter_value_exception(), "{:?}", failure.err);
    assert!(
        failure.message().unwrap_or_default().contains("Period"),
        "{:?}",
        failure.err
    );

    let res = base()
        .statistics(Statistic::Sum)
        .extended_statistics("p99")
        .send()
        .await;
    let failure = expect_service_error("Statistics and ExtendedStatistics", res);
    assert_cbor("Statistics and ExtendedStatistics", &failure);
    assert!(
        failure.err.is_invalid_parameter_combination_exception(),
        "{:?}",
        failure.err
    );

    let res = base()
        .start_time(at(t0 - 86_400))
        .end_time(at(t0 + 60))
        .statistics(Statistic::Sum)
        .send()
        .await;
    let failure = expect_service_error("1,441 data points", res);
    assert_cbor("1,441 data points", &failure);
    assert!(
        failure.err.is_invalid_parameter_combination_exception(),
        "{:?}",
        failure.err
    );
    assert_eq!(failure.code(), Some("InvalidParameterCombination"));
    // 1,440 is allowed.
    let out = base()
        .start_time(at(t0 - 86_400 + 60))
        .end_time(at(t0 + 60))
        .statistics(Statistic::Sum)
        .send()
        .await
        .expect("1,440 data points");
    assert!(out.datapoints().is_empty());
}
