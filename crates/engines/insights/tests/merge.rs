//! Property: one pass == any split into two executions merged == shuffled order.
mod common;
use common::*;
use nephoscope_insights::{parse, Execution, Query};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const QUERIES: &[&str] = &[
    "stats count(*) as n, sum(v) as s, avg(v) as a, min(v) as mn, max(v) as mx by k",
    "stats pct(v, 50) as p50, pct(v, 90) as p90, stddev(v) as sd, count_distinct(k) as dk",
    "stats earliest(v) as e, latest(v) as l, sortsFirst(k) as sf, sortsLast(k) as sl by bin(1m)",
    "filter v > 3 | stats count(*) as n by k, bin(30s) | sort n desc, k asc | limit 5",
    "stats count(v) as n by k | stats avg(n) as a, max(n) as m",
    "fields k, v | sort v desc | limit 7",
    "fields k, v | limit 5",
    "fields k | sort k asc | dedup k",
    "fields k, v | dedup k | limit 3",
    "filter k like /a|b/ | fields k, v * 2 as w",
    "parse @message \"k*:\" as kk | stats count(*) by kk",
    "fields v | sort v asc | limit 4 | filter v > 2",
    "pattern @message",
    "filter v > 3 | pattern concat(k, ' ', v) | sort @sampleCount desc | limit 3",
    "pattern @message | diff",
    "stats rate(v, 1m) as r, histogram(v, 3) as h, count_over_time(v) as c by k",
    "stats rate(v, 10s) as r, sum_over_time(v) as s by bin(1m)",
    "expand tags | stats count(*) as n by tags, k",
    "fields k, v | sort v asc | accum v as a | autoregress v p=1-2 | filldown k | addtotals col=true v, a",
    "fields k, v | sessionize k maxspan 30s | countFrequent k, session_id",
    "relevantfields where v > 4",
    "relevantfields k, tags.0 where v >= 5 | limit 2",
    "stats count(*) as n by k, v | relevantfields k, n where v > 5",
];

fn data(rng: &mut Rng, n: usize) -> Vec<Ev> {
    let keys = ["a", "b", "c", "d"];
    let msgs: Vec<(i64, String)> = (0..n)
        .map(|_| {
            let ts = T0 + rng.below(300_000) as i64;
            let m = match rng.below(5) {
                0 => format!(
                    r#"{{"k":"{}","tags":["{}","{}"]}}"#,
                    keys[rng.below(4) as usize],
                    keys[rng.below(4) as usize],
                    keys[rng.below(4) as usize]
                ),
                1 => "plain text".to_string(),
                _ => format!(
                    r#"{{"k":"{}","v":{}}}"#,
                    keys[rng.below(4) as usize],
                    rng.below(10)
                ),
            };
            (ts, m)
        })
        .collect();
    let refs: Vec<(i64, &str)> = msgs.iter().map(|(t, m)| (*t, m.as_str())).collect();
    evs(&refs)
}

fn feed(q: &Query, evs: &[&Ev]) -> Execution {
    let mut x = q.start(ctx());
    for e in evs {
        x.push(&rec(e));
    }
    x
}

/// Numbers compared with a relative tolerance (stddev merges in a different float order).
fn same(a: &[Vec<(String, String)>], b: &[Vec<(String, String)>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(r, s)| {
            r.len() == s.len()
                && r.iter().zip(s).all(|((k1, v1), (k2, v2))| {
                    k1 == k2
                        && (v1 == v2
                            || matches!((v1.parse::<f64>(), v2.parse::<f64>()), (Ok(x), Ok(y)) if (x - y).abs() <= 1e-9 * x.abs().max(1.0)))
                })
        })
}

#[test]
fn split_merge_and_order_independence() {
    let mut rng = Rng(0x9E3779B97F4A7C15);
    for round in 0..40 {
        let n = 1 + rng.below(40) as usize;
        let events = data(&mut rng, n);
        for q in QUERIES {
            let query = parse(q).unwrap();
            let all: Vec<&Ev> = events.iter().collect();
            let want = feed(&query, &all).rows();
            // random split into two halves, merged
            let cut = rng.below(n as u64 + 1) as usize;
            let mut left = feed(&query, &all[..cut]);
            left.merge(feed(&query, &all[cut..]));
            let got = left.rows();
            assert!(
                same(&want, &got),
                "round {round} query {q}\nwant {want:?}\ngot  {got:?}"
            );
            assert_eq!(left.stats(), feed(&query, &all).stats());
            // shuffled order
            let mut sh = all.clone();
            for i in (1..sh.len()).rev() {
                sh.swap(i, rng.below(i as u64 + 1) as usize);
            }
            let got = feed(&query, &sh).rows();
            assert!(
                same(&want, &got),
                "round {round} shuffled query {q}\nwant {want:?}\ngot  {got:?}"
            );
        }
    }
}

#[test]
fn limit_stops_scan_and_stats() {
    let mut rng = Rng(42);
    let events = data(&mut rng, 50);
    let q = parse("fields k | limit 3").unwrap();
    let mut x = q.start(ctx());
    let mut pushed = 0;
    for e in &events {
        if x.is_satisfied() {
            break;
        }
        x.push(&rec(e));
        pushed += 1;
    }
    assert_eq!(pushed, 3);
    assert_eq!(x.rows().len(), 3);
    for q in [
        "fields k | sort k | limit 3",
        "stats count(*)",
        "fields k | dedup k | limit 1",
    ] {
        let q = parse(q).unwrap();
        let x = feed(&q, &events.iter().collect::<Vec<_>>());
        assert!(!x.is_satisfied());
    }
    // statistics
    let q = parse("filter ispresent(v)").unwrap();
    let x = feed(&q, &events.iter().collect::<Vec<_>>());
    let s = x.stats();
    assert_eq!(s.records_scanned, 50.0);
    assert_eq!(s.records_matched, x.rows().len() as f64);
    assert_eq!(
        s.bytes_scanned,
        events.iter().map(|e| e.msg.len()).sum::<usize>() as f64
    );
    // records outside the time range are not scanned; StartQuery limit caps the rows
    let mut c = ctx();
    c.start_ms = T0 + 150_000;
    c.limit = 2;
    let mut x = q.start(c);
    for e in &events {
        x.push(&rec(e));
    }
    assert_eq!(
        x.stats().records_scanned,
        events.iter().filter(|e| e.ts >= c.start_ms).count() as f64
    );
    assert!(x.rows().len() <= 2);
}

#[test]
fn diff_splits_and_merges() {
    // Query the second half of the data's five minutes; `diff` compares with the first half.
    let mut rng = Rng(7);
    let mut c = ctx();
    c.start_ms = T0 + 150_000;
    c.end_ms = T0 + 299_999;
    for q in [
        "pattern @message | diff",
        "filter ispresent(v) | pattern concat(k, v) | diff | sort @changeType",
    ] {
        let query = parse(q).unwrap();
        for _ in 0..20 {
            let n = 1 + rng.below(60) as usize;
            let events = data(&mut rng, n);
            let all: Vec<&Ev> = events.iter().collect();
            let run = |evs: &[&Ev]| {
                let mut x = query.start(c);
                for e in evs {
                    x.push(&rec(e));
                }
                x
            };
            let want = run(&all).rows();
            let cut = rng.below(all.len() as u64 + 1) as usize;
            let mut left = run(&all[..cut]);
            left.merge(run(&all[cut..]));
            assert_eq!(want, left.rows(), "{q}");
            assert_eq!(
                left.stats().records_scanned,
                all.len() as f64,
                "both periods are scanned"
            );
        }
    }
}

/// `count_distinct` over blocks built from messages counts a value once whatever its text
/// (`1`, `1.0`, `"01"`), across blocks and merged executions, as over records.
#[test]
fn message_blocks_count_equal_values_once() {
    let q = parse("stats count_distinct(x) as d by g").unwrap();
    let ev = evs(&[
        (T0, r#"{"x":1,"g":"a"}"#),
        (T0 + 1, r#"{"x":1.0,"g":"a"}"#),
        (T0 + 2, r#"{"x":"01","g":"a"}"#),
        (T0 + 3, r#"{"x":2,"g":"a"}"#),
        (T0 + 4, r#"{"x":"2","g":"b"}"#),
        (T0 + 5, r#"{"x":1,"g":"a"}"#),
        (T0 + 6, r#"{"x":"1e0","g":"b"}"#),
    ]);
    let mut by_records = q.start(ctx());
    for e in &ev {
        by_records.push(&rec(e));
    }
    let want = by_records.rows();
    assert_eq!(show(&want), ["g=a; d=2", "g=b; d=2"]);
    let feed = |ex: &mut Execution, part: &[Ev]| {
        ex.push_messages(part.iter().map(|e| {
            (
                e.ts,
                e.msg.as_str(),
                nephoscope_logstore::flat::is_flat_object(&e.msg),
            )
        }));
    };
    // One execution, two blocks.
    let mut one = q.start(ctx());
    assert!(one.reads_blocks());
    feed(&mut one, &ev[..3]);
    feed(&mut one, &ev[3..]);
    assert_eq!(one.rows(), want);
    // Two executions merged.
    let (mut a, mut b) = (q.start(ctx()), q.start(ctx()));
    feed(&mut a, &ev[..4]);
    feed(&mut b, &ev[4..]);
    a.merge(b);
    assert_eq!(a.rows(), want);
}
