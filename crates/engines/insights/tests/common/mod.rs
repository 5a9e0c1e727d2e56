#![allow(dead_code)]
use nephoscope_insights::{parse, QueryContext, Record};

pub const T0: i64 = 1_700_000_000_000; // 2023-11-14 22:13:20.000 UTC

pub struct Ev {
    pub ts: i64,
    pub msg: String,
    pub stream: String,
    pub ptr: String,
}

pub fn evs(msgs: &[(i64, &str)]) -> Vec<Ev> {
    msgs.iter()
        .enumerate()
        .map(|(i, (ts, m))| Ev {
            ts: *ts,
            msg: m.to_string(),
            stream: "stream-a".into(),
            ptr: format!("p{i}"),
        })
        .collect()
}

pub fn ctx() -> QueryContext {
    QueryContext {
        start_ms: 0,
        end_ms: i64::MAX,
        now_ms: T0 + 3_600_000,
        limit: 10_000,
    }
}

pub fn rec(e: &Ev) -> Record<'_> {
    Record {
        timestamp: e.ts,
        ingestion_time: e.ts + 5,
        message: &e.msg,
        log_stream: &e.stream,
        log: "123456789012:/aws/test",
        ptr: &e.ptr,
        flat: false,
    }
}

/// The rows of `q` over `events`; checks on the way that the records marked as the store marks
/// flat JSON messages give the same rows.
pub fn run(q: &str, events: &[Ev]) -> Vec<Vec<(String, String)>> {
    run_with(parse, q, events)
}

/// [`run`] with another language's parser (`parse_ppl`, `parse_sql`).
pub fn run_with(
    parse: fn(&str) -> Result<nephoscope_insights::Query, nephoscope_insights::QueryError>,
    q: &str,
    events: &[Ev],
) -> Vec<Vec<(String, String)>> {
    let mut query = parse(q).unwrap_or_else(|e| panic!("parse {q:?}: {e:?}"));
    // Subqueries (without a SOURCE of their own) run first over the same events.
    for i in query.subquery_order() {
        let sub = query.subqueries()[i].query.clone();
        let mut inner = sub.start(ctx());
        for e in events {
            inner.push(&rec(e));
        }
        query
            .attach_subquery(i, &inner.rows())
            .unwrap_or_else(|e| panic!("{q}: subquery {i}: {e}"));
    }
    let mut ex = query.start(ctx());
    let mut marked = query.start(ctx());
    for e in events {
        ex.push(&rec(e));
        marked.push(&Record {
            flat: nephoscope_logstore::flat::is_flat_object(&e.msg),
            ..rec(e)
        });
    }
    let rows = ex.rows();
    assert_eq!(marked.rows(), rows, "{q}: records marked flat");
    rows
}

/// Render rows compactly: `a=1; b=2` per row.
pub fn show(rows: &[Vec<(String, String)>]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .collect()
}

pub fn check(q: &str, events: &[Ev], expected: &[&str]) {
    let got = show(&run(q, events));
    let exp: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    assert_eq!(got, exp, "query: {q}");
}

/// Runs `q` (parsed by `parse`) the way the service does: each subquery (a nested one first)
/// and the join's right side over `other` (the records of the group its SOURCE names),
/// attached, then the query over `events`.
pub fn run_over_two(
    parse: fn(&str) -> Result<nephoscope_insights::Query, nephoscope_insights::QueryError>,
    q: &str,
    events: &[Ev],
    other: &[Ev],
) -> Vec<String> {
    let mut query = parse(q).unwrap_or_else(|e| panic!("{q}: {e:?}"));
    let side_rows = |sq: &nephoscope_insights::Query| {
        let mut x = sq.start(ctx());
        for e in other {
            x.push(&rec(e));
        }
        x.rows()
    };
    for i in query.subquery_order() {
        let rows = side_rows(&query.subqueries()[i].query);
        query.attach_subquery(i, &rows).unwrap();
    }
    if let Some(j) = query.join_side() {
        let rows = side_rows(j.query());
        query.attach_join(&rows, 50_000).unwrap();
    }
    let mut ex = query.start(ctx());
    for e in events {
        ex.push(&rec(e));
    }
    show(&ex.rows())
}
