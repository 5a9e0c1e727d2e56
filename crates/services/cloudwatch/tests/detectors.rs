//! Anomaly detectors against a real metric store: the rules of Put, Describe and Delete as tables
//! of requests and answers, training states, and the band following a detector's configuration.

use nephoscope_clock::{ManualClock, SharedClock};
use nephoscope_cloudwatch::detectors::*;
use nephoscope_metricstore::{Datum, MetricStore, Mutation, Scope, SeriesKey, Values};
use nephoscope_wire::{ApiError, RequestContext};
use serde_json::{json, Value};
use std::sync::Arc;

/// 2024-01-15 00:00 UTC.
const NOW: i64 = 1_705_276_800;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

fn ctx(account: &str) -> RequestContext {
    RequestContext {
        request_id: "r".into(),
        account_id: account.into(),
        region: "us-east-1".into(),
        access_key_id: "AK".into(),
        principal: "root".into(),
    }
}

const ME: &str = "000000000000";

struct World {
    _dir: tempfile::TempDir,
    store: MetricStore,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock: SharedClock = Arc::new(ManualClock::new(NOW * 1000));
    let store = MetricStore::open(dir.path(), clock).unwrap();
    World { _dir: dir, store }
}

impl World {
    async fn put(&self, account: &str, req: Value) -> Result<Value, ApiError> {
        put_anomaly_detector(
            &self.store,
            &ctx(account),
            serde_json::from_value(req).unwrap(),
        )
        .await
    }
    async fn delete(&self, account: &str, req: Value) -> Result<Value, ApiError> {
        delete_anomaly_detector(
            &self.store,
            &ctx(account),
            serde_json::from_value(req).unwrap(),
        )
        .await
    }
    fn describe(&self, account: &str, req: Value) -> Result<Value, ApiError> {
        describe_anomaly_detectors(
            &self.store,
            &ctx(account),
            serde_json::from_value(req).unwrap(),
        )
    }
    /// Values of App/Latency{Host=h1} at the given times (epoch seconds).
    async fn publish(&self, points: &[(i64, f64)]) {
        let datums = points
            .iter()
            .map(|(t, v)| Datum {
                key: latency(),
                timestamp_ms: t * 1000,
                unit: "None".into(),
                high_resolution: false,
                values: Values::Raw(vec![(*v, 1.0)]),
            })
            .collect();
        self.store
            .mutate(Mutation::Put {
                scope: Scope {
                    account: ME.into(),
                    region: "us-east-1".into(),
                },
                datums,
            })
            .await
            .unwrap();
    }
}

fn latency() -> SeriesKey {
    SeriesKey::new("App", "Latency", vec![("Host".into(), "h1".into())])
}

fn single() -> Value {
    json!({"SingleMetricAnomalyDetector": {
        "Namespace": "App", "MetricName": "Latency",
        "Dimensions": [{"Name": "Host", "Value": "h1"}], "Stat": "Average"}})
}

fn math() -> Value {
    json!({"MetricMathAnomalyDetector": {"MetricDataQueries": [
        {"Id": "m1", "ReturnData": false, "MetricStat": {
            "Metric": {"Namespace": "App", "MetricName": "Latency",
                       "Dimensions": [{"Name": "Host", "Value": "h1"}]},
            "Period": 300, "Stat": "Average"}},
        {"Id": "e1", "Expression": "m1 * 2", "ReturnData": true}]}})
}

fn with(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

/// The error code (query code) of a result, or "ok".
fn code(r: &Result<Value, ApiError>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => e.query_code.to_string(),
    }
}

#[tokio::test]
async fn put_rules() {
    let w = world();
    let math_queries = |qs: Value| json!({"MetricMathAnomalyDetector": {"MetricDataQueries": qs}});
    let stat_query = |id: &str, ret: bool| {
        json!({"Id": id, "ReturnData": ret, "MetricStat": {
            "Metric": {"Namespace": "App", "MetricName": "Latency"}, "Period": 60, "Stat": "Sum"}})
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        ("single", single(), "ok"),
        (
            "legacy form",
            json!({"Namespace": "App", "MetricName": "Latency", "Stat": "p99"}),
            "ok",
        ),
        ("math", math(), "ok"),
        ("nothing named", json!({}), "MissingParameter"),
        (
            "legacy without Stat",
            json!({"Namespace": "App", "MetricName": "Latency"}),
            "MissingParameter",
        ),
        (
            "single without MetricName",
            json!({"SingleMetricAnomalyDetector": {"Namespace": "App", "Stat": "Sum"}}),
            "MissingParameter",
        ),
        (
            "legacy and single",
            with(single(), json!({"Namespace": "App"})),
            "InvalidParameterCombination",
        ),
        (
            "single and math",
            with(single(), math()),
            "InvalidParameterCombination",
        ),
        (
            "unknown statistic",
            json!({"Namespace": "App", "MetricName": "Latency", "Stat": "Median"}),
            "InvalidParameterValue",
        ),
        (
            "repeated dimension",
            json!({"Namespace": "App", "MetricName": "L", "Stat": "Sum", "Dimensions": [
                {"Name": "A", "Value": "1"}, {"Name": "A", "Value": "2"}]}),
            "InvalidParameterValue",
        ),
        (
            "eleven excluded ranges",
            with(
                single(),
                json!({"Configuration": {"ExcludedTimeRanges":
                    (0..11).map(|i| json!({"StartTime": i * 10, "EndTime": i * 10 + 5})).collect::<Vec<_>>()}}),
            ),
            "InvalidParameterValue",
        ),
        (
            "range ending before it starts",
            with(
                single(),
                json!({"Configuration": {"ExcludedTimeRanges": [{"StartTime": 100, "EndTime": 50}]}}),
            ),
            "InvalidParameterValue",
        ),
        (
            "unknown time zone",
            with(
                single(),
                json!({"Configuration": {"MetricTimezone": "Mars/Base"}}),
            ),
            "InvalidParameterValue",
        ),
        (
            "ten ranges and a zone",
            with(
                single(),
                json!({"Configuration": {"MetricTimezone": "Europe/Paris", "ExcludedTimeRanges":
                    (0..10).map(|i| json!({"StartTime": i * 10, "EndTime": i * 10 + 5})).collect::<Vec<_>>()},
                    "MetricCharacteristics": {"PeriodicSpikes": true}}),
            ),
            "ok",
        ),
        (
            "math without queries",
            math_queries(json!([])),
            "MissingParameter",
        ),
        (
            "math returning nothing",
            math_queries(json!([stat_query("m1", false)])),
            "InvalidParameterValue",
        ),
        (
            "math returning two",
            math_queries(json!([stat_query("m1", true), {"Id": "e1", "Expression": "m1"}])),
            "InvalidParameterValue",
        ),
        (
            "math returning a metric",
            math_queries(json!([stat_query("m1", true)])),
            "InvalidParameterValue",
        ),
        (
            "math with SEARCH",
            math_queries(json!([{"Id": "e1", "Expression":
                "SUM(SEARCH('{App} MetricName=\"Latency\"', 'Sum', 60))"}])),
            "InvalidParameterValue",
        ),
        (
            "math with a band",
            math_queries(json!([stat_query("m1", false),
                {"Id": "e1", "Expression": "ANOMALY_DETECTION_BAND(m1)"}])),
            "InvalidParameterValue",
        ),
        (
            "math with an unknown id",
            math_queries(json!([stat_query("m1", false), {"Id": "e1", "Expression": "m2 * 2"}])),
            "InvalidParameterValue",
        ),
        (
            "math returning many series",
            math_queries(json!([stat_query("m1", false), stat_query("m2", false),
                {"Id": "e1", "Expression": "METRICS()"}])),
            "InvalidParameterValue",
        ),
        (
            "math with a bad expression",
            math_queries(json!([stat_query("m1", false), {"Id": "e1", "Expression": "m1 +"}])),
            "InvalidParameterValue",
        ),
    ];
    for (name, req, want) in cases {
        let got = w.put(ME, req).await;
        assert_eq!(code(&got), want, "{name}: {got:?}");
    }
}

#[tokio::test]
async fn ids_are_stable_and_put_updates() {
    let w = world();
    let a = w.put(ME, single()).await.unwrap()["AnomalyDetectorId"].clone();
    // The same metric through the old form, and with the caller's own AccountId: one detector.
    let legacy = json!({"Namespace": "App", "MetricName": "Latency", "Stat": "Average",
        "Dimensions": [{"Name": "Host", "Value": "h1"}],
        "Configuration": {"MetricTimezone": "Asia/Tokyo"}});
    let b = w.put(ME, legacy).await.unwrap()["AnomalyDetectorId"].clone();
    let mut own = single();
    own["SingleMetricAnomalyDetector"]["AccountId"] = json!(ME);
    let c = w.put(ME, own).await.unwrap()["AnomalyDetectorId"].clone();
    assert_eq!((&a, &a), (&b, &c));
    let id = a.as_str().unwrap();
    assert_eq!(id.len(), 36);
    let all = w.describe(ME, json!({})).unwrap();
    assert_eq!(all["AnomalyDetectors"].as_array().unwrap().len(), 1);
    // Another statistic is another detector.
    let p99 = with(single(), json!({}));
    let mut p99 = p99;
    p99["SingleMetricAnomalyDetector"]["Stat"] = json!("p99");
    assert_ne!(w.put(ME, p99).await.unwrap()["AnomalyDetectorId"], a);
}

#[tokio::test]
async fn describe_filters_types_and_pages() {
    let w = world();
    for (ns, name, host) in [
        ("App", "Latency", "h1"),
        ("App", "Latency", "h2"),
        ("App", "Errors", "h1"),
        ("Other", "Latency", "h1"),
    ] {
        w.put(
            ME,
            json!({"SingleMetricAnomalyDetector": {"Namespace": ns, "MetricName": name,
                "Dimensions": [{"Name": "Host", "Value": host}, {"Name": "Zone", "Value": "a"}],
                "Stat": "Sum"}}),
        )
        .await
        .unwrap();
    }
    let math_id = w.put(ME, math()).await.unwrap()["AnomalyDetectorId"].clone();
    w.put("111111111111", single()).await.unwrap();
    let count = |req: Value| {
        w.describe(ME, req).unwrap()["AnomalyDetectors"]
            .as_array()
            .unwrap()
            .len()
    };
    let table: Vec<(Value, usize)> = vec![
        (json!({}), 4),
        (json!({"Namespace": "App"}), 3),
        (json!({"MetricName": "Latency"}), 3),
        (json!({"Namespace": "App", "MetricName": "Latency"}), 2),
        (json!({"Dimensions": [{"Name": "Host", "Value": "h1"}]}), 3),
        (
            json!({"Dimensions": [{"Name": "Host", "Value": "h2"}, {"Name": "Zone", "Value": "a"}]}),
            1,
        ),
        (json!({"Dimensions": [{"Name": "Zone", "Value": "b"}]}), 0),
        (json!({"AnomalyDetectorTypes": ["METRIC_MATH"]}), 1),
        (
            json!({"AnomalyDetectorTypes": ["SINGLE_METRIC", "METRIC_MATH"]}),
            5,
        ),
        (json!({"AnomalyDetectorTypes": []}), 4),
        (json!({"AnomalyDetectorIds": [math_id.clone(), "nope"]}), 1),
    ];
    for (req, want) in table {
        assert_eq!(count(req.clone()), want, "{req}");
    }
    let math_one = &w
        .describe(ME, json!({"AnomalyDetectorTypes": ["METRIC_MATH"]}))
        .unwrap()["AnomalyDetectors"][0];
    assert_eq!(math_one["AnomalyDetectorId"], math_id);
    assert_eq!(
        math_one["MetricMathAnomalyDetector"]["MetricDataQueries"][1]["Expression"],
        "m1 * 2"
    );
    assert!(math_one.get("Namespace").is_none());
    // Pages of 2 over 5 detectors: every one once, in id order.
    let mut seen = Vec::new();
    let mut token: Option<Value> = None;
    loop {
        let mut req =
            json!({"MaxResults": 2, "AnomalyDetectorTypes": ["SINGLE_METRIC", "METRIC_MATH"]});
        if let Some(t) = &token {
            req["NextToken"] = t.clone();
        }
        let page = w.describe(ME, req).unwrap();
        let ds = page["AnomalyDetectors"].as_array().unwrap();
        assert!(ds.len() <= 2);
        seen.extend(
            ds.iter()
                .map(|d| d["AnomalyDetectorId"].as_str().unwrap().to_string()),
        );
        match page.get("NextToken") {
            Some(t) => token = Some(t.clone()),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!((seen.len(), &seen), (5, &sorted));
    for (req, want) in [
        (
            json!({"AnomalyDetectorIds": ["x"], "Namespace": "App"}),
            "InvalidParameterCombination",
        ),
        (
            json!({"AnomalyDetectorIds": ["x"], "AnomalyDetectorTypes": ["METRIC_MATH"]}),
            "InvalidParameterCombination",
        ),
        (json!({"MaxResults": 101}), "InvalidParameterValue"),
        (json!({"NextToken": "not a token!"}), "InvalidNextToken"),
    ] {
        assert_eq!(code(&w.describe(ME, req.clone())), want, "{req}");
    }
    // The other account sees only its own.
    let theirs = describe_anomaly_detectors(
        &w.store,
        &ctx("111111111111"),
        serde_json::from_value(json!({"AnomalyDetectorTypes": ["SINGLE_METRIC", "METRIC_MATH"]}))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(theirs["AnomalyDetectors"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn delete_by_metric_by_id_and_missing() {
    let w = world();
    let id = w.put(ME, single()).await.unwrap()["AnomalyDetectorId"].clone();
    let math_id = w.put(ME, math()).await.unwrap()["AnomalyDetectorId"].clone();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("nothing named", json!({}), "MissingParameter"),
        (
            "id and metric",
            with(single(), json!({"AnomalyDetectorId": id.clone()})),
            "InvalidParameterCombination",
        ),
        (
            "another account's",
            json!({"AnomalyDetectorId": id.clone(), "@account": "111111111111"}),
            "ResourceNotFoundException",
        ),
        ("by metric", single(), "ok"),
        ("again", single(), "ResourceNotFoundException"),
        ("math by queries", math(), "ok"),
        (
            "math by id, gone",
            json!({"AnomalyDetectorId": math_id}),
            "ResourceNotFoundException",
        ),
    ];
    for (name, mut req, want) in cases {
        let account = req
            .as_object_mut()
            .unwrap()
            .remove("@account")
            .map_or(ME.to_string(), |a| a.as_str().unwrap().to_string());
        let got = w.delete(&account, req).await;
        assert_eq!(code(&got), want, "{name}: {got:?}");
    }
    let id = w.put(ME, single()).await.unwrap()["AnomalyDetectorId"].clone();
    assert_eq!(
        code(&w.delete(ME, json!({"AnomalyDetectorId": id})).await),
        "ok"
    );
    assert_eq!(
        w.describe(ME, json!({})).unwrap()["AnomalyDetectors"],
        json!([])
    );
}

fn state_of(w: &World, req: Value) -> String {
    let out = w.describe(ME, req).unwrap();
    out["AnomalyDetectors"][0]["StateValue"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn states_follow_training_data() {
    let w = world();
    w.put(ME, single()).await.unwrap();
    w.put(ME, math()).await.unwrap();
    let mut foreign = single();
    foreign["SingleMetricAnomalyDetector"]["AccountId"] = json!("222222222222");
    w.put(ME, foreign).await.unwrap();
    let states = |w: &World| {
        [
            state_of(w, json!({"AnomalyDetectorTypes": ["METRIC_MATH"]})),
            w.describe(ME, json!({})).unwrap()["AnomalyDetectors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    format!(
                        "{}:{}",
                        d["SingleMetricAnomalyDetector"]["AccountId"]
                            .as_str()
                            .unwrap_or("own"),
                        d["StateValue"].as_str().unwrap()
                    )
                })
                .collect::<Vec<_>>()
                .join(","),
        ]
    };
    let sorted = |s: String| {
        let mut v: Vec<&str> = s.split(',').collect();
        v.sort();
        v.join(",")
    };
    let [m, s] = states(&w);
    assert_eq!(
        (m.as_str(), sorted(s).as_str()),
        (
            "PENDING_TRAINING",
            "222222222222:PENDING_TRAINING,own:PENDING_TRAINING"
        )
    );
    w.publish(&[(NOW - DAY, 1.0), (NOW - 2 * DAY, 2.0)]).await;
    let [m, s] = states(&w);
    assert_eq!(
        (m.as_str(), sorted(s).as_str()),
        (
            "TRAINED_INSUFFICIENT_DATA",
            "222222222222:PENDING_TRAINING,own:TRAINED_INSUFFICIENT_DATA"
        )
    );
    // A third value, but inside an excluded range: still insufficient.
    w.publish(&[(NOW - 3 * DAY, 3.0)]).await;
    w.put(
        ME,
        with(
            single(),
            json!({"Configuration": {"ExcludedTimeRanges": [
                {"StartTime": NOW - 3 * DAY - HOUR, "EndTime": NOW - 3 * DAY + HOUR}]}}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(own_state(&w), "TRAINED_INSUFFICIENT_DATA");
    w.put(ME, single()).await.unwrap();
    assert_eq!(own_state(&w), "TRAINED");
    assert_eq!(
        state_of(&w, json!({"AnomalyDetectorTypes": ["METRIC_MATH"]})),
        "TRAINED"
    );
    // Data older than two weeks does not count.
    let w = world();
    w.put(ME, single()).await.unwrap();
    w.publish(&[
        (NOW - 15 * DAY, 1.0),
        (NOW - 16 * DAY, 1.0),
        (NOW - 17 * DAY, 1.0),
    ])
    .await;
    assert_eq!(state_of(&w, json!({})), "PENDING_TRAINING");
}

/// The state of the single-metric detector without AccountId.
fn own_state(w: &World) -> String {
    let out = w.describe(ME, json!({})).unwrap();
    let own = out["AnomalyDetectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["SingleMetricAnomalyDetector"].get("AccountId").is_none())
        .unwrap()
        .clone();
    own["StateValue"].as_str().unwrap().to_string()
}
