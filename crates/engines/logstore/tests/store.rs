//! The log store against a real data directory: durability across reopen, reads, retention.

use nephoscope_clock::{ManualClock, SharedClock};
use nephoscope_logstore::*;
use std::collections::BTreeMap;
use std::sync::Arc;

const NOW: i64 = 1_795_000_000_000;

fn scope(account: &str) -> Scope {
    Scope {
        account: account.into(),
        region: "us-east-1".into(),
    }
}

fn open(dir: &std::path::Path, clock: &Arc<ManualClock>) -> LogStore {
    let c: SharedClock = clock.clone();
    LogStore::open(dir, c).unwrap()
}

async fn setup(store: &LogStore, s: &Scope) {
    store
        .mutate(Mutation::CreateGroup {
            scope: s.clone(),
            name: "g".into(),
            creation_time: NOW,
            class: "STANDARD".into(),
            kms_key_id: None,
            deletion_protection: false,
            tags: BTreeMap::new(),
        })
        .await
        .unwrap();
    for stream in ["a", "b"] {
        store
            .mutate(Mutation::CreateStream {
                scope: s.clone(),
                group: "g".into(),
                name: stream.into(),
                creation_time: NOW,
            })
            .await
            .unwrap();
    }
}

async fn put(store: &LogStore, s: &Scope, stream: &str, events: &[(i64, &str)]) {
    store
        .mutate(Mutation::PutEvents {
            scope: s.clone(),
            group: "g".into(),
            stream: stream.into(),
            ingestion_time: NOW,
            events: events.iter().map(|(t, m)| (*t, m.to_string())).collect(),
        })
        .await
        .unwrap();
}

fn messages(events: &[FoundEvent]) -> Vec<String> {
    events.iter().map(|e| e.message.clone()).collect()
}

#[tokio::test]
async fn acknowledged_writes_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let s = scope("000000000000");
    {
        let store = open(dir.path(), &clock);
        setup(&store, &s).await;
        put(&store, &s, "a", &[(NOW - 3, "one"), (NOW - 1, "three")]).await;
        put(&store, &s, "b", &[(NOW - 2, "two")]).await;
    }
    let store = open(dir.path(), &clock);
    let q = FilterQuery {
        streams: StreamSelection::All,
        start: None,
        end: None,
        pattern: None,
        limit: 100,
        after: None,
        descending: false,
        required: &[],
    };
    let page = store.filter(&s, "g", &q).unwrap();
    assert_eq!(messages(&page.events), ["one", "two", "three"]);
    assert!(page.next.is_none());
    let other = store.filter(&scope("111111111111"), "g", &q);
    assert!(
        matches!(other, Err(StoreError::Rejected(Rejection::GroupNotFound))),
        "accounts are isolated"
    );
}

#[tokio::test]
async fn filter_pages_and_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let s = scope("000000000000");
    let store = open(dir.path(), &clock);
    setup(&store, &s).await;
    put(
        &store,
        &s,
        "a",
        &[(1, "ERROR a1"), (3, "ok a3"), (5, "ERROR a5")],
    )
    .await;
    put(&store, &s, "b", &[(2, "ERROR b2"), (4, "ERROR b4")]).await;
    let only_errors = |m: &str| m.starts_with("ERROR");
    let mut after = None;
    let mut pages = Vec::new();
    loop {
        let q = FilterQuery {
            streams: StreamSelection::All,
            start: Some(2),
            end: Some(5),
            pattern: Some(&only_errors),
            limit: 2,
            after,
            descending: false,
            required: &[],
        };
        let page = store.filter(&s, "g", &q).unwrap();
        pages.push(messages(&page.events));
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, vec![vec!["ERROR b2", "ERROR b4"], vec!["ERROR a5"]]);
    let q = FilterQuery {
        streams: StreamSelection::Prefix("b".into()),
        start: None,
        end: None,
        pattern: None,
        limit: 10,
        after: None,
        descending: false,
        required: &[],
    };
    assert_eq!(
        messages(&store.filter(&s, "g", &q).unwrap().events),
        ["ERROR b2", "ERROR b4"]
    );
}

#[tokio::test]
async fn stream_reads_table() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let s = scope("000000000000");
    let store = open(dir.path(), &clock);
    setup(&store, &s).await;
    put(
        &store,
        &s,
        "a",
        &[(10, "e10"), (20, "e20"), (30, "e30"), (40, "e40")],
    )
    .await;
    let all = store
        .stream_events(&s, "g", "a", None, None, StreamRead::Head, 10)
        .unwrap();
    let c = |i: usize| (all[i].timestamp, all[i].seq);
    for (at, start, end, limit, want) in [
        (StreamRead::Head, None, None, 2, vec!["e10", "e20"]),
        (StreamRead::Tail, None, None, 2, vec!["e30", "e40"]),
        (StreamRead::Tail, Some(15), Some(40), 10, vec!["e20", "e30"]),
        (StreamRead::After(c(1)), None, None, 10, vec!["e30", "e40"]),
        (StreamRead::Before(c(2)), None, None, 1, vec!["e20"]),
        (StreamRead::After(c(3)), None, None, 10, vec![]),
    ] {
        let got = store
            .stream_events(&s, "g", "a", start, end, at, limit)
            .unwrap();
        assert_eq!(messages(&got), want, "{at:?} {start:?} {end:?} {limit}");
    }
}

#[tokio::test]
async fn retention_hides_then_expires() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let s = scope("000000000000");
    let store = open(dir.path(), &clock);
    setup(&store, &s).await;
    put(&store, &s, "a", &[(NOW - 2 * DAY_MS, "old"), (NOW, "new")]).await;
    store
        .mutate(Mutation::SetRetention {
            scope: s.clone(),
            group: "g".into(),
            days: Some(1),
        })
        .await
        .unwrap();
    let visible = store
        .stream_events(&s, "g", "a", None, None, StreamRead::Head, 10)
        .unwrap();
    assert_eq!(
        messages(&visible),
        ["new"],
        "expired events are never returned"
    );
    assert_eq!(store.expire().await.unwrap(), 1);
    assert_eq!(
        store.read().group(&s, "g").unwrap().streams["a"]
            .events
            .len(),
        1
    );
    clock.advance_millis(2 * DAY_MS);
    assert_eq!(store.expire().await.unwrap(), 1);
    drop(store);
    let store = open(dir.path(), &clock);
    assert!(store.read().group(&s, "g").unwrap().streams["a"]
        .events
        .is_empty());
}

fn all_events(store: &LogStore, s: &Scope) -> Vec<String> {
    let q = FilterQuery {
        streams: StreamSelection::All,
        start: None,
        end: None,
        pattern: None,
        limit: 10_000,
        after: None,
        descending: false,
        required: &[],
    };
    messages(&store.filter(s, "g", &q).unwrap().events)
}

#[tokio::test]
async fn flush_checkpoint_and_recover() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let s = scope("000000000000");
    {
        let store = open(dir.path(), &clock);
        setup(&store, &s).await;
        put(&store, &s, "a", &[(1, "a1"), (5, "a5")]).await;
        put(&store, &s, "b", &[(3, "b3")]).await;
        let r = store.maintain(true).await.unwrap();
        assert_eq!(r.flushed_segments, 1);
        assert!(r.checkpointed);
        // After the flush, the head is empty and reads come from the segment.
        assert!(store.read().group(&s, "g").unwrap().streams["a"]
            .events
            .is_empty());
        put(&store, &s, "a", &[(2, "a2 after flush")]).await;
        assert_eq!(all_events(&store, &s), ["a1", "a2 after flush", "b3", "a5"]);
        let tail = store
            .stream_events(&s, "g", "a", None, None, StreamRead::Tail, 2)
            .unwrap();
        assert_eq!(messages(&tail), ["a2 after flush", "a5"]);
    }
    // Recovery: the checkpoint plus the log written after it.
    let store = open(dir.path(), &clock);
    assert_eq!(all_events(&store, &s), ["a1", "a2 after flush", "b3", "a5"]);
    // A re-created stream does not see the flushed events of its predecessor.
    store
        .mutate(Mutation::DeleteStream {
            scope: s.clone(),
            group: "g".into(),
            name: "b".into(),
        })
        .await
        .unwrap();
    store
        .mutate(Mutation::CreateStream {
            scope: s.clone(),
            group: "g".into(),
            name: "b".into(),
            creation_time: NOW,
        })
        .await
        .unwrap();
    assert_eq!(all_events(&store, &s), ["a1", "a2 after flush", "a5"]);
    // Deleting the group leaves its segment file unreferenced; upkeep deletes it.
    store
        .mutate(Mutation::DeleteGroup {
            scope: s.clone(),
            name: "g".into(),
        })
        .await
        .unwrap();
    let r = store.maintain(false).await.unwrap();
    assert_eq!(r.deleted_files, 1);
}

#[tokio::test]
async fn many_flushes_and_checkpoints_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let s = scope("000000000000");
    let mut want = Vec::new();
    for round in 0..5 {
        let store = open(dir.path(), &clock);
        if round == 0 {
            setup(&store, &s).await;
        }
        for i in 0..20 {
            let n = round * 100 + i;
            let msg = format!("m{n:04}");
            put(
                &store,
                &s,
                if i % 2 == 0 { "a" } else { "b" },
                &[(n as i64, msg.as_str())],
            )
            .await;
            want.push(msg);
            if i % 7 == 0 {
                store.maintain(i % 14 == 0).await.unwrap();
            }
        }
        assert_eq!(all_events(&store, &s), want, "round {round}");
    }
}

#[tokio::test]
async fn compaction_merges_small_segments_and_keeps_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let s = scope("000000000000");
    let store = open(dir.path(), &clock);
    setup(&store, &s).await;
    let mut want = Vec::new();
    let mut compacted = 0;
    for i in 0..10i64 {
        let msg = format!("e{i:02}");
        // Out-of-order timestamps across flushes: the merge must sort them.
        put(
            &store,
            &s,
            if i % 3 == 0 { "b" } else { "a" },
            &[((i * 7) % 10, msg.as_str())],
        )
        .await;
        want.push(((i * 7) % 10, i, msg));
        compacted += store.maintain(true).await.unwrap().compacted_segments;
    }
    assert!(compacted >= 4, "compaction merged {compacted} segments");
    let segments = store.read().group(&s, "g").unwrap().segments.len();
    assert!(segments < 10, "{segments} segments left");
    want.sort();
    let want: Vec<String> = want.into_iter().map(|(_, _, m)| m).collect();
    assert_eq!(all_events(&store, &s), want);
    drop(store);
    let store = open(dir.path(), &clock);
    assert_eq!(all_events(&store, &s), want);
    let files = std::fs::read_dir(dir.path().join("files/segments/0"))
        .unwrap()
        .count();
    assert_eq!(
        files,
        store.read().group(&s, "g").unwrap().segments.len(),
        "old files collected"
    );
}

#[tokio::test]
async fn scan_visits_heads_and_segments_in_range() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let s = scope("000000000000");
    let store = open(dir.path(), &clock);
    setup(&store, &s).await;
    put(&store, &s, "a", &[(1, "a1"), (5, "a5")]).await;
    store.maintain(true).await.unwrap();
    put(&store, &s, "b", &[(3, "b3"), (9, "b9")]).await;
    let mut seen = Vec::new();
    let n = store
        .scan(&s, "g", 2, 5, |stream, e| {
            seen.push(format!("{stream}:{}", e.message));
            true
        })
        .unwrap();
    seen.sort();
    assert_eq!(seen, ["a:a5", "b:b3"]);
    assert_eq!(n, 2);
    let mut first = 0;
    store
        .scan(&s, "g", 0, 100, |_, _| {
            first += 1;
            false
        })
        .unwrap();
    assert_eq!(first, 1, "visiting stops when asked");
}

#[tokio::test]
async fn filter_descending_pages_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let s = scope("000000000000");
    let store = open(dir.path(), &clock);
    setup(&store, &s).await;
    put(&store, &s, "a", &[(1, "a1"), (4, "a4")]).await;
    store.maintain(true).await.unwrap();
    put(&store, &s, "b", &[(2, "b2"), (3, "b3"), (5, "b5")]).await;
    let mut after = None;
    let mut pages = Vec::new();
    loop {
        let q = FilterQuery {
            streams: StreamSelection::All,
            start: Some(2),
            end: None,
            pattern: None,
            limit: 2,
            after,
            descending: true,
            required: &[],
        };
        let page = store.filter(&s, "g", &q).unwrap();
        pages.push(messages(&page.events));
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, vec![vec!["b5", "a4"], vec!["b3", "b2"]]);
}

#[tokio::test]
async fn bloom_pruned_scans_find_every_match_across_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let s = scope("000000000000");
    let store = open(dir.path(), &clock);
    setup(&store, &s).await;
    // 40,000 events: three message blocks in one segment; rare terms sit in blocks 0 and 2.
    let n = 40_000i64;
    let texts: Vec<String> = (0..n)
        .map(|i| match i {
            7 => "needle-alpha in the first block".to_string(),
            39_000 => "needle-omega in the last block".to_string(),
            _ => format!("request {i} user-{:05} status 200", i % 997),
        })
        .collect();
    for chunk in texts.chunks(5_000).enumerate() {
        let base = chunk.0 as i64 * 5_000;
        let events: Vec<(i64, &str)> = chunk
            .1
            .iter()
            .enumerate()
            .map(|(k, m)| (base + k as i64, m.as_str()))
            .collect();
        put(&store, &s, "a", &events).await;
    }
    store.maintain(true).await.unwrap();
    assert!(store.read().group(&s, "g").unwrap().streams["a"]
        .events
        .is_empty());
    let common: Vec<String> = (0..n)
        .filter(|i| i % 997 == 996 && *i != 7 && *i != 39_000)
        .map(|i| format!("request {i} user-00996 status 200"))
        .collect();
    for (term, want) in [
        (
            "needle-alpha",
            vec!["needle-alpha in the first block".to_string()],
        ),
        (
            "needle-omega",
            vec!["needle-omega in the last block".to_string()],
        ),
        ("needle-none", vec![]),
        ("user-00996", common),
    ] {
        for descending in [false, true] {
            let required = vec![term.to_string()];
            let matcher = move |m: &str| m.contains(term);
            let q = FilterQuery {
                streams: StreamSelection::All,
                start: None,
                end: None,
                pattern: Some(&matcher),
                limit: 10_000,
                after: None,
                descending,
                required: &required,
            };
            let mut got = messages(&store.filter(&s, "g", &q).unwrap().events);
            if descending {
                got.reverse();
            }
            assert_eq!(got, want, "{term} descending={descending}");
        }
    }
}

/// Block-wise scans (one search per block, bloom pruning) against a naive filter of every
/// event: occurrences straddling two messages, several streams interleaved, pages of every size
/// in both directions.
#[tokio::test]
async fn block_scans_agree_with_a_naive_filter() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let s = scope("000000000000");
    let store = open(dir.path(), &clock);
    setup(&store, &s).await;
    let n = 9_000i64;
    let text = |i: i64| match i % 500 {
        // "...nee" + "dle-7..." straddles two messages; neither matches "needle-7".
        0 => "tail nee".to_string(),
        1 => "dle-7 head".to_string(),
        2 => format!("needle-7 at {i}"),
        _ => format!("req {i} user-{:05}", i % 4_000),
    };
    for stream in ["a", "b"] {
        for start in (0..n).step_by(3_000) {
            let owned: Vec<(i64, String)> = (start..start + 3_000)
                .map(|i| (i * 2 + i64::from(stream == "b"), text(i)))
                .collect();
            let events: Vec<(i64, &str)> = owned.iter().map(|(t, m)| (*t, m.as_str())).collect();
            put(&store, &s, stream, &events).await;
        }
    }
    store.maintain(true).await.unwrap();
    let all = |descending| FilterQuery {
        streams: StreamSelection::All,
        start: None,
        end: None,
        pattern: None,
        limit: usize::MAX,
        after: None,
        descending,
        required: &[],
    };
    for term in [
        "needle-7",
        "user-00042",
        "dle-7 head",
        "absent-00001",
        "at 8502",
    ] {
        let matcher = move |m: &str| m.contains(term);
        let required = vec![term.to_string()];
        for descending in [false, true] {
            let want: Vec<String> =
                messages(&store.filter(&s, "g", &all(descending)).unwrap().events)
                    .into_iter()
                    .filter(|m| m.contains(term))
                    .collect();
            for limit in [1, 7, 10_000] {
                let mut got = Vec::new();
                let mut after = None;
                loop {
                    let q = FilterQuery {
                        pattern: Some(&matcher),
                        limit,
                        after,
                        required: &required,
                        ..all(descending)
                    };
                    let page = store.filter(&s, "g", &q).unwrap();
                    got.extend(messages(&page.events));
                    match page.next {
                        Some(c) => after = Some(c),
                        None => break,
                    }
                }
                assert_eq!(got, want, "{term} descending={descending} limit={limit}");
            }
        }
    }
}

/// Block-wise scans and size-only walks against the filter's answer, over segments of several
/// blocks and a head, for ranges cutting blocks anywhere, with a stream deleted and re-created
/// (its older events must stay hidden).
#[tokio::test]
async fn block_scans_and_size_walks_agree_with_filter() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let s = scope("000000000000");
    let store = open(dir.path(), &clock);
    setup(&store, &s).await;
    let text = |i: i64| format!("event {i} é {}", "x".repeat((i % 37) as usize));
    let put_range = |stream: &'static str, r: std::ops::Range<i64>| {
        let owned: Vec<(i64, String)> = r.map(|i| (i * 2, text(i))).collect();
        let store = &store;
        let s = &s;
        async move {
            let events: Vec<(i64, &str)> = owned.iter().map(|(t, m)| (*t, m.as_str())).collect();
            put(store, s, stream, &events).await;
        }
    };
    put_range("a", 0..5_000).await;
    put_range("b", 100..4_200).await;
    store.maintain(true).await.unwrap();
    // "b" deleted and re-created: its flushed events are gone, new ones visible.
    store
        .mutate(Mutation::DeleteStream {
            scope: s.clone(),
            group: "g".into(),
            name: "b".into(),
        })
        .await
        .unwrap();
    store
        .mutate(Mutation::CreateStream {
            scope: s.clone(),
            group: "g".into(),
            name: "b".into(),
            creation_time: NOW,
        })
        .await
        .unwrap();
    put_range("b", 3_000..6_000).await;
    store.maintain(true).await.unwrap();
    put_range("a", 5_000..5_300).await;
    for (from, to) in [
        (0, i64::MAX),
        (1, 4_097),
        (4_095, 4_096),
        (6_000, 9_000),
        (9_999, 10_700),
        (20_000, 30_000),
    ] {
        let q = FilterQuery {
            streams: StreamSelection::All,
            start: Some(from),
            end: Some(to),
            pattern: None,
            limit: usize::MAX,
            after: None,
            descending: false,
            required: &[],
        };
        let mut want: Vec<(i64, String)> = store
            .filter(&s, "g", &q)
            .unwrap()
            .events
            .into_iter()
            .map(|e| (e.timestamp, e.message))
            .collect();
        want.sort();
        let mut got = Vec::new();
        let n = store
            .scan(&s, "g", from, to, |_, e| {
                got.push((e.timestamp, e.message.to_string()));
                true
            })
            .unwrap();
        got.sort();
        assert_eq!(n as usize, got.len());
        assert_eq!(got, want, "scan of [{from}, {to}]");
        // Keeping the blocks inflated changes nothing, then or when read again from them.
        for _ in 0..2 {
            let mut kept = Vec::new();
            store
                .scan_keeping(&s, "g", from, to, true, |_, e, _| {
                    kept.push((e.timestamp, e.message.to_string()));
                    true
                })
                .unwrap();
            kept.sort();
            assert_eq!(kept, want, "kept scan of [{from}, {to}]");
        }
        let mut sizes = Vec::new();
        store
            .scan_sizes(&s, "g", from, to, |t, len| {
                sizes.push((t, len));
                true
            })
            .unwrap();
        sizes.sort();
        let want_sizes: Vec<(i64, usize)> = want.iter().map(|(t, m)| (*t, m.len())).collect();
        assert_eq!(sizes, want_sizes, "sizes of [{from}, {to}]");
        // Totals, first from the columns and then (segments decoded) from the kept totals.
        let want_totals = (
            want.len() as u64,
            want.iter().map(|(_, m)| m.len() as u64).sum::<u64>(),
        );
        for _ in 0..2 {
            assert_eq!(
                store.totals(&s, "g", from, to).unwrap(),
                want_totals,
                "totals of [{from}, {to}]"
            );
        }
    }
}

/// Keys and the codec their files declare (the magic: `NPSEG007` is LZ4, `NPSEG006` zstd).
fn files_by_codec(store: &LogStore, s: &Scope, dir: &std::path::Path) -> Vec<(String, String)> {
    let g = store.read().group(s, "g").unwrap().segments.clone();
    g.iter()
        .map(|m| {
            let bytes = std::fs::read(dir.join("files").join(&m.key)).unwrap();
            (
                m.key.rsplit('/').next().unwrap().to_string(),
                String::from_utf8_lossy(&bytes[..8]).into_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn hot_segments_are_lz4_and_turn_zstd_once_they_age() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let s = scope("000000000000");
    let store = open(dir.path(), &clock);
    setup(&store, &s).await;
    let hour = 3_600_000;
    // A recent event (hot for the default 24 hours) and, in another flush, an old one.
    let recent = "{\"level\":\"info\",\"msg\":\"recent\"}";
    put(&store, &s, "a", &[(NOW - hour, recent)]).await;
    store.maintain(true).await.unwrap();
    put(&store, &s, "b", &[(NOW - 30 * hour, "old line")]).await;
    store.maintain(true).await.unwrap();
    let mut files = files_by_codec(&store, &s, dir.path());
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files[0].0.ends_with(".hot.seg") && files[0].1 == "NPSEG007",
        "{files:?}"
    );
    assert!(
        !files[1].0.contains("hot") && files[1].1 == "NPSEG006",
        "{files:?}"
    );
    let want = vec!["old line".to_string(), recent.to_string()];
    assert_eq!(all_events(&store, &s), want);
    // Still hot 23 hours later: nothing rewritten.
    clock.advance_millis(22 * hour);
    assert_eq!(store.maintain(false).await.unwrap().recoded_segments, 0);
    // Past 24 hours the LZ4 file is rewritten with zstd, every event kept.
    clock.advance_millis(2 * hour);
    assert_eq!(store.maintain(false).await.unwrap().recoded_segments, 1);
    let files = files_by_codec(&store, &s, dir.path());
    assert!(
        files
            .iter()
            .all(|(k, m)| !k.contains("hot") && m == "NPSEG006"),
        "{files:?}"
    );
    assert_eq!(all_events(&store, &s), want);
    assert_eq!(store.maintain(false).await.unwrap().recoded_segments, 0);
    drop(store);
    let store = open(dir.path(), &clock);
    assert_eq!(all_events(&store, &s), want);
}

#[tokio::test]
async fn without_a_hot_tier_every_segment_turns_zstd() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let s = scope("000000000000");
    let c: SharedClock = clock.clone();
    {
        let store = open(dir.path(), &clock);
        setup(&store, &s).await;
        put(&store, &s, "a", &[(NOW - 1, "hot line")]).await;
        store.maintain(true).await.unwrap();
    }
    let policy = Policy {
        hot_ms: 0,
        ..Default::default()
    };
    let store = LogStore::open_with(dir.path(), c, policy).unwrap();
    let files = files_by_codec(&store, &s, dir.path());
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].1, "NPSEG007", "{files:?}");
    put(&store, &s, "b", &[(NOW, "cold line")]).await;
    // The new events go to a zstd file, and the hot file left from before is rewritten.
    let report = store.maintain(true).await.unwrap();
    assert_eq!(report.recoded_segments, 1);
    let files = files_by_codec(&store, &s, dir.path());
    assert_eq!(files.len(), 2);
    assert!(files.iter().all(|(_, m)| m == "NPSEG006"), "{files:?}");
    assert_eq!(all_events(&store, &s), vec!["hot line", "cold line"]);
}

#[tokio::test]
async fn a_hot_segment_that_cannot_be_read_does_not_stop_upkeep() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let s = scope("000000000000");
    let key = {
        let store = open(dir.path(), &clock);
        setup(&store, &s).await;
        put(&store, &s, "a", &[(NOW - 1, "hot line")]).await;
        store.maintain(true).await.unwrap();
        let key = store.read().group(&s, "g").unwrap().segments[0].key.clone();
        key
    };
    assert!(key.ends_with(".hot.seg"), "{key}");
    std::fs::write(dir.path().join("files").join(&key), b"not a segment").unwrap();
    let store = open(dir.path(), &clock);
    clock.advance_millis(48 * 3_600_000);
    put(&store, &s, "b", &[(NOW, "more")]).await;
    for _ in 0..2 {
        let report = store.maintain(true).await.unwrap();
        assert_eq!(report.recoded_segments, 0);
        assert!(report.checkpointed);
    }
}
