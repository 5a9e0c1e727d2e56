//! Replays the `insights_query` fuzz target's seeds and saved crash inputs under `cargo test`
//! (a copy of the target's driver: keep the two in step).

use nephoscope_insights::{parse, QueryContext, Record};
use std::path::Path;

fn drive(data: &[u8]) {
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
            // Every side (subqueries, a join's right side) reads the same events.
            let feed = |q: &nephoscope_insights::Query| {
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
                    });
                }
                exec
            };
            let sides: Vec<_> = q
                .subqueries()
                .iter()
                .map(|s| feed(&s.query).rows())
                .collect();
            for (i, rows) in sides.iter().enumerate() {
                q.attach_subquery(i, rows).unwrap();
            }
            if let Some(j) = q.join_side() {
                let rows = feed(j.query()).rows();
                let _ = q.attach_join(&rows, 50);
            }
            let exec = feed(&q);
            let _ = exec.rows();
        }
        Err(e) => assert!(e.start <= e.end, "{e:?}"),
    }
}

#[test]
fn insights_query_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [
        root.join("../../../fuzz/seeds/insights_query"),
        root.join("tests/fuzz-regressions/insights_query"),
    ] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            drive(&std::fs::read(entry.path()).unwrap());
            n += 1;
        }
    }
    assert!(n > 0, "no seeds found");
}
