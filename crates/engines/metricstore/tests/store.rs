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
                // Values counted once are written without counts.
                datum(&key, 7, "None", false, Values::Ones(vec![1.5, -0.0, 3e100])),
                datum(&key, 8, "None", false, Values::Ones(vec![])),
                datum(
                    &key,
                    9,
                    "None",
                    false,
                    Values::Raw(vec![(1.5, 1.0), (2.5, 0.5)]),
                ),
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
        Mutation::Rollup {
            now_s: 5,
            ladder: Ladder::default(),
        },
        Mutation::PutDetector {
            scope: scope(),
            detector: Box::new(detector("d1", Some((1, 2)))),
        },
        Mutation::DeleteDetector {
            scope: scope(),
            id: "d1".into(),
        },
    ] {
        assert_eq!(Mutation::decode(&m.encode()).unwrap(), m);
    }
}

/// Pairs whose counts are all 1 are logged as plain values (tag 2), the bytes earlier servers
/// wrote for them, and read back as `Values::Ones`, which applies to the same state.
#[test]
fn unit_count_pairs_log_and_read_as_plain_values() {
    let key = SeriesKey::new("N", "M", vec![]);
    let put = |values: Values| Mutation::Put {
        scope: scope(),
        datums: vec![datum(&key, 60_000, "None", false, values)],
    };
    let values: Vec<f64> = (0..150).map(|i| f64::from(i % 40) * 1.25 - 3.0).collect();
    let pairs = put(Values::Raw(values.iter().map(|v| (*v, 1.0)).collect()));
    let ones = put(Values::Ones(values.clone()));
    let bytes = pairs.encode();
    assert_eq!(bytes, ones.encode());
    // Tag 2: the count, then each value as 8 bytes.
    let mut tail = vec![2u8, 150, 1];
    for v in &values {
        tail.extend_from_slice(&v.to_le_bytes());
    }
    assert!(bytes.ends_with(&tail));
    assert_eq!(Mutation::decode(&bytes).unwrap(), ones);
    let (mut a, mut b) = (State::default(), State::default());
    a.apply(pairs);
    b.apply(ones);
    assert_eq!(a.encode_snapshot(), b.encode_snapshot());
}

#[tokio::test]
async fn rollup_ladder_merges_old_data_and_drops_expired() {
    let dir = tempfile::tempdir().unwrap();
    let day = 86_400i64;
    let now_s = 1000 * day;
    let manual = Arc::new(ManualClock::new(now_s * 1000));
    let clock: SharedClock = manual.clone();
    let store = MetricStore::open(dir.path(), clock).unwrap();
    let key = SeriesKey::new("App", "Hits", vec![]);
    let at = |age_s: i64, hi: bool, v: f64| {
        datum(
            &key,
            now_s - age_s,
            "Count",
            hi,
            Values::Raw(vec![(v, 1.0)]),
        )
    };
    let datums = vec![
        at(10, true, 1.0),           // fresh high-resolution: kept at 1 s
        at(4 * 3600 + 1, true, 2.0), // > 3 h: into its minute
        at(4 * 3600 + 2, true, 3.0), // same minute
        at(20 * day, false, 4.0),    // > 15 d: into its 5 minutes
        at(100 * day, false, 5.0),   // > 63 d: into its hour
        at(500 * day, false, 6.0),   // > 455 d: gone
    ];
    store
        .mutate(Mutation::Put {
            scope: scope(),
            datums,
        })
        .await
        .unwrap();
    store.rollup(Ladder::default()).await.unwrap();
    let st = store.read();
    let series = &st.scopes[&scope()][&key];
    let starts: Vec<i64> = series.buckets().keys().map(|t| now_s - t).collect();
    drop(st);
    let minute = |age: i64| {
        let t = now_s - age;
        now_s - (t - t.rem_euclid(60))
    };
    assert!(starts.contains(&10), "{starts:?}");
    assert!(starts.contains(&minute(4 * 3600 + 1)), "{starts:?}");
    assert_eq!(starts.len(), 4, "{starts:?}");
    let total: f64 = store
        .statistics(&scope(), &key, 0, now_s + 1, now_s + 1, None)
        .iter()
        .map(|p| p.agg.sum)
        .sum();
    assert_eq!(
        total,
        1.0 + 2.0 + 3.0 + 4.0 + 5.0,
        "the expired point is gone, nothing else"
    );
}

/// The rollup as first written: every bucket re-inserted at its width, in ascending order.
fn reference_rollup(
    state: &State,
    now_s: i64,
    ladder: Ladder,
) -> Vec<(SeriesKey, Vec<(i64, Units)>)> {
    let mut out = Vec::new();
    for series in state.scopes.values() {
        for (k, s) in series {
            let mut buckets: std::collections::BTreeMap<i64, Units> = Default::default();
            for (t, units) in &s.buckets() {
                let Some(width) = ladder.width(now_s - t) else {
                    continue;
                };
                let dest = buckets.entry(t - t.rem_euclid(width)).or_default();
                for (u, agg) in units {
                    match dest.iter_mut().find(|(du, _)| du == u) {
                        Some((_, a)) => a.merge(agg),
                        None => {
                            let mut a = Agg::default();
                            a.merge(agg);
                            dest.push((u.clone(), a));
                            dest.sort_by(|x, y| x.0.cmp(&y.0));
                        }
                    }
                }
            }
            if !buckets.is_empty() {
                out.push((k.clone(), buckets.into_iter().collect()));
            }
        }
    }
    out
}

/// Equal up to the order floating-point sums were added in.
fn same(a: &[(SeriesKey, Vec<(i64, Units)>)], b: &[(SeriesKey, Vec<(i64, Units)>)]) -> bool {
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0);
    a.len() == b.len()
        && a.iter().zip(b).all(|((ka, ba), (kb, bb))| {
            ka == kb
                && ba.len() == bb.len()
                && ba.iter().zip(bb).all(|((ta, ua), (tb, ub))| {
                    ta == tb
                        && ua.len() == ub.len()
                        && ua.iter().zip(ub.iter()).all(|((na, x), (nb, y))| {
                            na == nb
                                && x.count == y.count
                                && close(x.sum, y.sum)
                                && x.min == y.min
                                && x.max == y.max
                                && x.percentiles == y.percentiles
                                && x.sketch == y.sketch
                        })
                })
        })
}

fn contents(state: &State) -> Vec<(SeriesKey, Vec<(i64, Units)>)> {
    state
        .scopes
        .values()
        .flat_map(|series| {
            series
                .iter()
                .map(|(k, s)| (k.clone(), s.buckets().into_iter().collect()))
        })
        .collect()
}

#[test]
fn rollup_in_place_equals_rebuilding_and_leaves_a_frozen_copy_alone() {
    let ladder = Ladder {
        high_res: 600,
        minute: 3_600,
        five_minutes: 7_200,
        hour: 20_000,
    };
    let mut seed = 5u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for case in 0..40 {
        let now_s = 30_000 + (next() % 1000) as i64;
        let mut state = State::default();
        let keys: Vec<SeriesKey> = (0..3)
            .map(|i| SeriesKey::new("App", &format!("m{i}"), vec![]))
            .collect();
        let datums = (0..300)
            .map(|_| {
                let age = (next() % 25_000) as i64;
                let unit = ["Count", "Seconds"][(next() % 2) as usize];
                let v = (next() % 1000) as f64 / 7.0;
                datum(
                    &keys[(next() % 3) as usize],
                    now_s - age,
                    unit,
                    next() % 2 == 0,
                    Values::Raw(vec![(v, 1.0)]),
                )
            })
            .collect();
        state.apply(Mutation::Put {
            scope: scope(),
            datums,
        });
        let want = reference_rollup(&state, now_s, ladder);
        let frozen = state.clone();
        let before = contents(&frozen);
        state.apply(Mutation::Rollup { now_s, ladder });
        assert!(
            same(&contents(&state), &want),
            "case {case}: differs from rebuilding"
        );
        assert!(
            contents(&frozen) == before,
            "case {case}: the frozen copy changed"
        );
        // A second pass (a bucket moved across a rung boundary moves again) matches too.
        let want = reference_rollup(&state, now_s + 300, ladder);
        state.apply(Mutation::Rollup {
            now_s: now_s + 300,
            ladder,
        });
        assert!(
            same(&contents(&state), &want),
            "case {case}: second pass differs"
        );
    }
}

#[test]
fn period_values_over_blocks_and_late_data_match_the_raw_values() {
    let mut seed = 9u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let key = SeriesKey::new("App", "Latency", vec![]);
    for case in 0..20 {
        let mut state = State::default();
        let mut raw: Vec<(i64, f64)> = Vec::new();
        // Mostly ascending minutes with late arrivals, in several puts (seals in between).
        for batch in 0..10 {
            let datums = (0..40)
                .map(|i| {
                    let minute = if next() % 5 == 0 {
                        (next() % 400) as i64
                    } else {
                        batch * 40 + i
                    };
                    let v = (1 + next() % 1000) as f64;
                    raw.push((minute * 60, v));
                    datum(
                        &key,
                        minute * 60,
                        "Count",
                        false,
                        Values::Raw(vec![(v, 1.0)]),
                    )
                })
                .collect();
            state.apply(Mutation::Put {
                scope: scope(),
                datums,
            });
        }
        let series = &state.scopes[&scope()][&key];
        assert!(!series.blocks.is_empty(), "case {case}: sealed into blocks");
        // A checkpoint keeps blocks and head as they are.
        let back = State::decode_snapshot(&state.encode_snapshot()).unwrap();
        let again = &back.scopes[&scope()][&key];
        assert_eq!(again.blocks, series.blocks, "case {case}");
        assert_eq!(again.head, series.head, "case {case}");
        for period in [60, 300, 3600] {
            let (start, end) = (600, 20_000);
            let sum = |a: AggRef<'_>| Some(a.sum);
            let (ts, vs) = state.period_values(
                &scope(),
                &key,
                start,
                end,
                period,
                None,
                &PeriodStat {
                    sketch: false,
                    value: &sum,
                },
            );
            let mut want: std::collections::BTreeMap<i64, f64> = Default::default();
            for (t, v) in &raw {
                if (start..end).contains(t) {
                    *want
                        .entry(start + (t - start).div_euclid(period) * period)
                        .or_default() += v;
                }
            }
            let want_ts: Vec<i64> = want.keys().copied().collect();
            assert_eq!(ts, want_ts, "case {case} period {period}");
            for (got, w) in vs.iter().zip(want.values()) {
                assert!((got - w).abs() < 1e-6, "case {case} period {period}");
            }
            // The maximum, through the sketch, equals the raw maximum within the sketch's error.
            let p100 = |a: AggRef<'_>| a.percentile(100.0);
            let (_, maxes) = state.period_values(
                &scope(),
                &key,
                start,
                end,
                period,
                None,
                &PeriodStat {
                    sketch: true,
                    value: &p100,
                },
            );
            for (n, t) in ts.iter().enumerate() {
                let exact = raw
                    .iter()
                    .filter(|(rt, _)| {
                        (start..end).contains(rt)
                            && start + (rt - start).div_euclid(period) * period == *t
                    })
                    .map(|r| r.1)
                    .fold(0.0, f64::max);
                assert!(
                    (maxes[n] - exact).abs() <= 0.0101 * exact,
                    "case {case} period {period} t {t}: {} vs {exact}",
                    maxes[n]
                );
            }
        }
    }
}

fn detector(id: &str, excluded: Option<(i64, i64)>) -> detector::Detector {
    detector::Detector {
        id: id.into(),
        target: detector::Target::Metric {
            account: None,
            key: SeriesKey::new("App", "Latency", vec![("Host".into(), "h1".into())]),
            stat: "Average".into(),
        },
        training: detector::Training {
            excluded: excluded.into_iter().collect(),
            timezone: Some("Europe/Paris".into()),
            ..Default::default()
        },
    }
}

#[tokio::test]
async fn detectors_survive_reopen_and_checkpoints_per_scope() {
    let dir = tempfile::tempdir().unwrap();
    let clock: SharedClock = Arc::new(ManualClock::new(0));
    let other = Scope {
        account: "111111111111".into(),
        region: "us-east-1".into(),
    };
    {
        let store = MetricStore::open(dir.path(), clock.clone()).unwrap();
        for id in ["a", "b"] {
            store
                .mutate(Mutation::PutDetector {
                    scope: scope(),
                    detector: Box::new(detector(id, None)),
                })
                .await
                .unwrap();
        }
        // Replaced by id, then a checkpoint, then more log after it.
        store
            .mutate(Mutation::PutDetector {
                scope: scope(),
                detector: Box::new(detector("a", Some((5, 9)))),
            })
            .await
            .unwrap();
        assert!(store.maintain(true).unwrap());
        store
            .mutate(Mutation::DeleteDetector {
                scope: scope(),
                id: "b".into(),
            })
            .await
            .unwrap();
        store
            .mutate(Mutation::PutDetector {
                scope: other.clone(),
                detector: Box::new(detector("c", None)),
            })
            .await
            .unwrap();
    }
    let store = MetricStore::open(dir.path(), clock).unwrap();
    {
        let st = store.read();
        let mine: Vec<_> = st.detectors[&scope()].values().cloned().collect();
        assert_eq!(mine, vec![detector("a", Some((5, 9)))]);
        assert_eq!(st.detectors[&other].len(), 1);
    }
    store.mutate(Mutation::Reset).await.unwrap();
    assert!(store.read().detectors.is_empty());
}

/// Every bucket of every series, blocks and head merged.
fn everything(store: &MetricStore) -> Vec<(SeriesKey, Vec<(i64, Units)>)> {
    contents(&store.read())
}

#[tokio::test]
async fn checkpoints_store_each_block_once_and_drop_unreferenced_block_files() {
    let dir = tempfile::tempdir().unwrap();
    let clock: SharedClock = Arc::new(ManualClock::new(10_000_000));
    let keys: Vec<SeriesKey> = (0..3)
        .map(|n| SeriesKey::new("App", "Latency", vec![("Host".into(), format!("h{n}"))]))
        .collect();
    async fn put_all(store: &MetricStore, keys: &[SeriesKey], minutes: std::ops::Range<i64>) {
        let datums: Vec<Datum> = minutes
            .flat_map(|m| {
                keys.iter().map(move |k| {
                    let v = (m % 17) as f64 + 1.0;
                    datum(
                        k,
                        60 * m,
                        "None",
                        false,
                        Values::Raw(vec![(v, 1.0), (2.0 * v, 1.0)]),
                    )
                })
            })
            .collect();
        store
            .mutate(Mutation::Put {
                scope: scope(),
                datums,
            })
            .await
            .unwrap();
    }
    let store = MetricStore::open(dir.path(), clock.clone()).unwrap();
    put_all(&store, &keys, 0..200).await;
    assert!(store.maintain(true).unwrap());
    let first = store.block_files();
    assert_eq!(first.len(), 1, "{first:?}");
    // Nothing sealed since: the next checkpoint writes no block file.
    put_all(&store, &keys, 200..205).await;
    assert!(store.maintain(true).unwrap());
    assert_eq!(store.block_files(), first);
    // New blocks go to a new file; the first one stays referenced.
    put_all(&store, &keys, 205..400).await;
    assert!(store.maintain(true).unwrap());
    let second = store.block_files();
    assert_eq!(second.len(), 2, "{second:?}");
    assert!(
        second[&2] < first[&1] * 2,
        "only the new blocks: {second:?}"
    );
    let before = everything(&store);
    drop(store);
    let store = MetricStore::open(dir.path(), clock.clone()).unwrap();
    assert!(
        same(&everything(&store), &before),
        "recovered from block files"
    );
    // Blocks remember their place across a restart: nothing is written again.
    assert!(store.maintain(true).unwrap());
    assert_eq!(store.block_files(), second);
    // Data late enough to rebuild every block leaves the old files dead: they are rewritten
    // or dropped, never referenced after being deleted.
    put_all(&store, &keys, 0..400).await;
    for _ in 0..2 {
        put_all(&store, &keys, 400..401).await;
        assert!(store.maintain(true).unwrap());
    }
    let after = store.block_files();
    assert!(
        !after.contains_key(&1) && !after.contains_key(&2),
        "{after:?}"
    );
    let before = everything(&store);
    drop(store);
    let store = MetricStore::open(dir.path(), clock.clone()).unwrap();
    assert!(same(&everything(&store), &before));
    store.mutate(Mutation::Reset).await.unwrap();
    assert!(store.maintain(true).unwrap());
    assert!(
        store.block_files().is_empty(),
        "a reset drops every block file"
    );
    drop(store);
    let store = MetricStore::open(dir.path(), clock).unwrap();
    assert!(store.read().scopes.is_empty());
}

#[test]
fn rollups_leave_sealed_blocks_alone_during_a_backfill() {
    // A day of minutes published in order (a backfill, as the benchmark's grid), with a
    // rollup every ten minutes: nothing is old enough to move, so rollups only compact.
    let key = SeriesKey::new("App", "Latency", vec![]);
    let now_s = 9_999_960;
    let first = now_s - 1440 * 60;
    let mut state = State::default();
    let (mut known, mut written) = (Vec::<*const block::Block>::new(), 0usize);
    for m in 0..1440i64 {
        state.apply(Mutation::Put {
            scope: scope(),
            datums: vec![datum(
                &key,
                first + 60 * m,
                "Milliseconds",
                false,
                Values::Raw(vec![((m % 23) as f64, 1.0), ((m % 7) as f64 + 0.5, 1.0)]),
            )],
        });
        if m % 10 == 9 {
            state.apply(Mutation::Rollup {
                now_s,
                ladder: Ladder::default(),
            });
        }
        let blocks = &state.scopes[&scope()][&key].blocks;
        for b in blocks {
            if !known.contains(&Arc::as_ptr(b)) {
                written += b.len();
            }
        }
        known = blocks.iter().map(Arc::as_ptr).collect();
    }
    let s = &state.scopes[&scope()][&key];
    let sealed: usize = s.blocks.iter().map(|b| b.len()).sum();
    assert_eq!(sealed + s.head.len(), 1440);
    // Sealed blocks are built once: never merged again, so never rebuilt nor rewritten.
    assert_eq!(written, sealed);
    assert!(s.blocks.iter().all(|b| b.len() > HEAD_MAX - HEAD_KEEP));
    let want: Vec<(i64, Units)> = (0..1440i64)
        .map(|m| {
            let mut a = Agg::default();
            a.add_values(&[((m % 23) as f64, 1.0), ((m % 7) as f64 + 0.5, 1.0)]);
            (
                first + 60 * m,
                Units::from_vec(vec![("Milliseconds".into(), a)]),
            )
        })
        .collect();
    assert!(same(&contents(&state), &[(key.clone(), want)]));
}

#[test]
fn rollups_merge_small_blocks_into_closed_groups() {
    // Block sizes before and after a rollup with nothing to move: groups of adjacent blocks
    // fitting in BLOCK_ROWS are merged when they hold a block under SMALL_BLOCK_ROWS and are
    // closed (the next block would not fit), or are the newest group with over
    // OPEN_GROUP_BLOCKS blocks.
    let big = BLOCK_ROWS - 8;
    let table: Vec<(Vec<usize>, Vec<usize>)> = vec![
        (vec![49; 29], vec![49; 29]),
        (vec![10, 10, big], vec![20, big]),
        (vec![big, 10, 10], vec![big, 10, 10]),
        (vec![10; 40], vec![400]),
        (vec![600, 10, 500], vec![610, 500]),
        (vec![600, 500, 10, 49], vec![600, 500, 10, 49]),
        (vec![300, 300, 300, 200], vec![300, 300, 300, 200]),
        (vec![5, 300, 300, 300, 200, 7], vec![905, 200, 7]),
        (vec![1], vec![1]),
    ];
    let key = SeriesKey::new("App", "Latency", vec![]);
    for (sizes, want) in table {
        // Hours apart: nothing moves on the ladder.
        let mut t = 0i64;
        let mut blocks = Vec::new();
        let mut a = Agg::default();
        a.add_value(1.5, 1.0);
        for n in &sizes {
            let rows: Vec<i64> = (0..*n).map(|k| t + 3600 * k as i64).collect();
            t += 3600 * *n as i64;
            blocks.push(Arc::new(block::Block::from_rows(
                rows.iter().map(|t| (*t, "Count", a.view())),
            )));
        }
        let mut state = State::default();
        state.scopes.entry(scope()).or_default().insert(
            key.clone(),
            Arc::new(Series {
                blocks,
                head: Default::default(),
                last_timestamp_ms: 0,
            }),
        );
        let before = contents(&state);
        state.apply(Mutation::Rollup {
            now_s: t + 3600,
            ladder: Ladder::default(),
        });
        let got: Vec<usize> = state
            .scopes
            .get(&scope())
            .and_then(|s| s.get(&key))
            .map_or(Vec::new(), |s| s.blocks.iter().map(|b| b.len()).collect());
        assert_eq!(got, want, "{sizes:?}");
        assert!(same(&contents(&state), &before), "{sizes:?}");
    }
}
