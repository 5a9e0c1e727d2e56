//! The metric store against a real data directory.

use nephoscope_clock::{ManualClock, SharedClock};
use nephoscope_metricstore::*;
use std::sync::Arc;

fn scope() -> Scope {
    Scope {
        account: "000000000000".into(),
        region: "us-east-1".into(),
    }
}

fn datum(key: &SeriesKey, ts_s: i64, unit: &str, hi: bool, values: Values) -> Datum {
    Datum {
        key: key.clone(),
        timestamp_ms: ts_s * 1000,
        unit: unit.into(),
        high_resolution: hi,
        values,
    }
}

#[tokio::test]
async fn statistics_survive_reopen_and_merge_into_periods() {
    let dir = tempfile::tempdir().unwrap();
    let clock: SharedClock = Arc::new(ManualClock::new(0));
    let key = SeriesKey::new(
        "App",
        "Latency",
        vec![("Route".into(), "/a".into()), ("Host".into(), "h1".into())],
    );
    assert_eq!(key.dimensions[0].0, "Host", "dimensions are sorted");
    {
        let store = MetricStore::open(dir.path(), clock.clone()).unwrap();
        let datums = vec![
            datum(
                &key,
                60,
                "Milliseconds",
                false,
                Values::Raw(vec![(10.0, 1.0), (20.0, 3.0)]),
            ),
            datum(
                &key,
                119,
                "Milliseconds",
                false,
                Values::Raw(vec![(30.0, 1.0)]),
            ),
            datum(
                &key,
                125,
                "Milliseconds",
                false,
                Values::Set {
                    count: 2.0,
                    sum: 10.0,
                    min: 4.0,
                    max: 6.0,
                },
            ),
            datum(&key, 130, "Count", false, Values::Raw(vec![(1.0, 1.0)])),
        ];
        store
            .mutate(Mutation::Put {
                scope: scope(),
                datums,
            })
            .await
            .unwrap();
    }
    let store = MetricStore::open(dir.path(), clock.clone()).unwrap();
    assert!(store.maintain(true).unwrap());
    drop(store);
    // Recovery from the checkpoint alone.
    let store = MetricStore::open(dir.path(), clock).unwrap();
    let one_minute = store.statistics(&scope(), &key, 60, 180, 60, Some("Milliseconds"));
    assert_eq!(one_minute.len(), 2);
    let a = &one_minute[0].agg;
    assert_eq!(
        (one_minute[0].start, a.count, a.sum, a.min, a.max),
        (60, 5.0, 100.0, 10.0, 30.0)
    );
    assert!((a.percentile(50.0).unwrap() - 20.0).abs() <= 0.2);
    assert_eq!(
        one_minute[1].agg.percentile(50.0),
        None,
        "statistic sets hide percentiles"
    );
    let five = store.statistics(&scope(), &key, 0, 300, 300, None);
    let units: Vec<&str> = five.iter().map(|p| p.unit.as_str()).collect();
    assert_eq!(units, ["Count", "Milliseconds"], "units are never merged");
    assert_eq!(five[1].agg.count, 7.0);
    let listed = store.list(&scope(), Some("App"), None, &[("Route".into(), None)], None);
    assert_eq!(listed, vec![key.clone()]);
    assert!(store
        .list(
            &scope(),
            None,
            None,
            &[("Route".into(), Some("/b".into()))],
            None
        )
        .is_empty());
    let other = Scope {
        account: "111111111111".into(),
        region: "us-east-1".into(),
    };
    assert!(
        store.list(&other, None, None, &[], None).is_empty(),
        "accounts are isolated"
    );
}

#[tokio::test]
async fn high_resolution_keeps_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let clock: SharedClock = Arc::new(ManualClock::new(0));
    let store = MetricStore::open(dir.path(), clock).unwrap();
    let key = SeriesKey::new("App", "Hits", vec![]);
    let datums = (0..10)
        .map(|i| {
            datum(
                &key,
                1000 + i,
                "Count",
                true,
                Values::Raw(vec![(i as f64, 1.0)]),
            )
        })
        .collect();
    store
        .mutate(Mutation::Put {
            scope: scope(),
            datums,
        })
        .await
        .unwrap();
    let per_5s = store.statistics(&scope(), &key, 1000, 1010, 5, None);
    let sums: Vec<f64> = per_5s.iter().map(|p| p.agg.sum).collect();
    assert_eq!(sums, vec![10.0, 35.0]);
}

#[test]
fn mutation_round_trip() {
    let key = SeriesKey::new("N", "M", vec![("D".into(), "v".into())]);
    for m in [
        Mutation::Put {
            scope: scope(),
            datums: vec![
                datum(&key, -1, "None", true, Values::Raw(vec![(1.5, 2.0)])),
                datum(
                    &key,
                    5,
                    "Count",
                    false,
                    Values::Set {
                        count: 1.0,
                        sum: 2.0,
                        min: 2.0,
                        max: 2.0,
                    },
                ),
            ],
        },
        Mutation::Reset,
    ] {
        assert_eq!(Mutation::decode(&m.encode()).unwrap(), m);
    }
}
