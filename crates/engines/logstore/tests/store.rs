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
    };
    let page = store.filter(&s, "g", &q).unwrap();
    assert_eq!(messages(&page.events), ["one", "two", "three"]);
    assert!(page.next.is_none());
    let other = store.filter(&scope("111111111111"), "g", &q);
    assert!(
        matches!(other, Err(Rejection::GroupNotFound)),
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
