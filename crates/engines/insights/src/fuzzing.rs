//! The code of the `insights_query`, `ppl_query`, `sql_query` and `parse_captures` fuzz targets
//! (`fuzz/fuzz_targets/`), here so plain `cargo test` replays their seeds and saved crashes
//! (`tests/fuzz_regressions.rs`).

use crate::{parse, Query, QueryContext, Record};

/// `parse` on arbitrary text and, when it parses, a run over arbitrary events (subqueries and
/// a join's right side read the same events). Input: the query, then events, separated by NUL
/// bytes (`query\0event\0event`). Nothing may panic; an error's span lies inside the query.
///
/// `is_flat` tells which messages a store would mark flat JSON objects (the store's rule,
/// `nephoscope_logstore::flat::is_flat_object`: the engine does not depend on the store); the
/// block run gets those marks.
pub fn insights_query(data: &[u8], is_flat: fn(&str) -> bool) {
    query_with(data, is_flat, parse);
}

/// [`insights_query`] for OpenSearch PPL ([`crate::parse_ppl`]): the same input and checks.
pub fn ppl_query(data: &[u8], is_flat: fn(&str) -> bool) {
    query_with(data, is_flat, crate::parse_ppl);
}

/// [`insights_query`] for SQL ([`crate::parse_sql`]): the same input and checks.
pub fn sql_query(data: &[u8], is_flat: fn(&str) -> bool) {
    query_with(data, is_flat, crate::parse_sql);
}

fn query_with(
    data: &[u8],
    is_flat: fn(&str) -> bool,
    parse: fn(&str) -> Result<Query, crate::QueryError>,
) {
    let mut parts = data.split(|b| *b == 0);
    let text = String::from_utf8_lossy(parts.next().unwrap_or_default());
    match parse(&text) {
        Ok(mut q) => {
            let ctx = QueryContext {
                start_ms: 0,
                end_ms: 1_000_000,
                now_ms: 500_000,
                limit: 100,
            };
            let messages: Vec<String> = parts
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            // `marks`: the records carry the store's flat marks (else none is marked).
            let feed_marked = |q: &Query, marks: bool| {
                let mut exec = q.start(ctx);
                for (i, message) in messages.iter().enumerate() {
                    let ptr = i.to_string();
                    exec.push(&Record {
                        timestamp: (i as i64) * 1000,
                        ingestion_time: (i as i64) * 1000 + 1,
                        message,
                        log_stream: "s",
                        log: "000000000000:g",
                        ptr: &ptr,
                        flat: marks && is_flat(message),
                    });
                }
                exec
            };
            let feed = |q: &Query| feed_marked(q, false);
            // (A nested subquery runs, and attaches, before the one it is in.)
            for i in q.subquery_order() {
                let rows = feed(&q.subqueries()[i].query).rows();
                match q.attach_subquery(i, &rows) {
                    Ok(()) => {}
                    // A scalar subquery of several rows fails its query (the answer to give).
                    Err(crate::AttachError::ScalarRows) => return,
                    Err(e) => panic!("a subquery's own rows attach: {e}"),
                }
            }
            if let Some(j) = q.join_side() {
                let rows = feed(j.query()).rows();
                let _ = q.attach_join(&rows, 50);
            }
            let exec = feed(&q);
            let rows = exec.rows();
            let _ = exec.stats();
            // Records marked flat answer as unmarked ones.
            let marked = feed_marked(&q, true);
            assert_eq!(marked.rows(), rows, "{text}");
            assert_eq!(marked.stats(), exec.stats(), "{text}");
            // A `stats` run taking blocks answers as the record-by-record run, the messages
            // given in two blocks (what is known of a value carries over from one to the next).
            let mut blocks = q.start(ctx);
            if blocks.reads_blocks() {
                let half = messages.len() / 2;
                for part in [&messages[..half], &messages[half..]] {
                    let first = if part.as_ptr() == messages.as_ptr() {
                        0
                    } else {
                        half
                    };
                    blocks.push_messages(
                        part.iter()
                            .enumerate()
                            .map(|(i, m)| (((first + i) as i64) * 1000, m.as_str(), is_flat(m))),
                    );
                }
                assert_eq!(blocks.rows(), rows, "{text}");
                assert_eq!(blocks.stats(), exec.stats(), "{text}");
            }
            // A run whose leading `@message` filters search the messages' text as a whole
            // (as the store's scan does) answers as the record-by-record run.
            let mut texts = q.start(ctx);
            if texts.searches_texts() {
                let (mut whole, mut spans, mut picked) = (String::new(), Vec::new(), Vec::new());
                for m in &messages {
                    let start = whole.len() as u32;
                    whole.push_str(m);
                    spans.push((start, whole.len() as u32));
                }
                let all = !texts.candidates(&whole, &spans, &mut picked);
                let mut next = picked.iter().copied().peekable();
                for (i, message) in messages.iter().enumerate() {
                    let pick = next.next_if(|(j, _)| *j == i);
                    let ts = (i as i64) * 1000;
                    if !all && pick.is_none() {
                        texts.count_unmatched(ts, message.len());
                        continue;
                    }
                    let ptr = i.to_string();
                    let r = Record {
                        timestamp: ts,
                        ingestion_time: ts + 1,
                        message,
                        log_stream: "s",
                        log: "000000000000:g",
                        ptr: &ptr,
                        flat: false,
                    };
                    if pick.is_some_and(|(_, sure)| sure) {
                        texts.push_passed(&r);
                    } else {
                        texts.push(&r);
                    }
                }
                assert!(next.peek().is_none(), "candidates beyond the spans: {text}");
                assert_eq!(texts.rows(), rows, "{text}");
                assert_eq!(texts.stats(), exec.stats(), "{text}");
            }
        }
        Err(e) => {
            let n = text.chars().count();
            assert!(
                e.start <= e.end && e.end <= n.max(1) + 1,
                "{e:?} in {n} chars"
            );
        }
    }
}

/// `parse`'s capture search from a regex's literal start ([`crate::captures::Prefixed`])
/// against the regex crate's own leftmost-first captures. Input: a pattern, then haystacks,
/// separated by NUL bytes. Whenever the pattern compiles and has a literal start, both must
/// find the same groups with the same text in every haystack.
pub fn parse_captures(data: &[u8]) {
    let mut parts = data.split(|b| *b == 0);
    let pattern = String::from_utf8_lossy(parts.next().unwrap_or_default());
    if pattern.len() > 200 {
        return;
    }
    let Ok(re) = regex::Regex::new(&pattern) else {
        return;
    };
    let Some(fast) = crate::captures::Prefixed::of(&pattern) else {
        return;
    };
    for hay in parts {
        let hay = String::from_utf8_lossy(hay);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let found_a = crate::captures::captures(&re, Some(&fast), &hay, &mut |i, s| {
            a.push((i, s.to_string()))
        });
        let found_b =
            crate::captures::captures(&re, None, &hay, &mut |i, s| b.push((i, s.to_string())));
        assert_eq!((found_a, &a), (found_b, &b), "{pattern:?} on {hay:?}");
    }
}
