//! Engine-only timing of Logs Insights queries (no server, no store): for profiling.
//!
//! ```text
//! cargo run --release -p nephoscope-bench --bin gen-apigw -- 500000 /tmp/apigw.ndjson
//! cargo run --release -p nephoscope-insights --example insights-engine -- /tmp/apigw.ndjson [QUERY] [REPS] [--blocks]
//! ```
//! Reads one message per line (the `.ts` sidecar gives timestamps when present), runs each
//! query `REPS` times over them and prints the best time and GB/s; with `QUERY`, only it.
//! With `--blocks`, the messages go in as the store's scans give them: blocks of 2,048,
//! marked flat (as the store marks the generator's lines).

use nephoscope_insights::{parse, QueryContext, Record};
use std::time::Instant;

const QUERIES: [&str; 6] = [
    "filter status >= 500 | stats count(*) by bin(5m)",
    r"filter @message like /(?i)python-requests\/2\.\d+/ | stats count(*)",
    r#"parse @message /"resourcePath":"(?<route>[^"]+)".*"responseLatency":(?<latency>\d+)/ | stats avg(latency) by route"#,
    "sort @timestamp desc | limit 100",
    "stats count_distinct(user) by resourcePath",
    "stats pct(responseLatency, 99) by resourcePath",
];

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let blocks = args.iter().any(|a| a == "--blocks");
    args.retain(|a| a != "--blocks");
    let path = args
        .first()
        .expect("usage: insights-engine FILE.ndjson [QUERY] [REPS]");
    let text = std::fs::read_to_string(path).expect("read messages");
    let ts: Vec<i64> = std::fs::read_to_string(format!("{path}.ts"))
        .map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default();
    let msgs: Vec<&str> = text.lines().collect();
    let bytes: usize = msgs.iter().map(|m| m.len()).sum();
    let queries: Vec<String> = match args.get(1) {
        Some(q) if !q.is_empty() => vec![q.clone()],
        _ => QUERIES.iter().map(|q| q.to_string()).collect(),
    };
    let reps: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(3);
    for q in &queries {
        let query = parse(q).expect("query parses");
        let mut best = f64::MAX;
        let mut rows = 0;
        for _ in 0..reps {
            let t = Instant::now();
            let mut ex = query.start(QueryContext {
                start_ms: i64::MIN,
                end_ms: i64::MAX,
                now_ms: 0,
                limit: 10_000,
            });
            let whole =
                blocks && (ex.reads_message_blocks() || ex.reads_blocks() || ex.searches_texts());
            if whole && ex.searches_texts() {
                // As the store's scan does: each block's text searched once, the records it
                // may match pushed, the others counted.
                let (mut text, mut spans, mut picked) = (String::new(), Vec::new(), Vec::new());
                for (b, chunk) in msgs.chunks(2048).enumerate() {
                    text.clear();
                    spans.clear();
                    for m in chunk {
                        let start = text.len() as u32;
                        text.push_str(m);
                        spans.push((start, text.len() as u32));
                    }
                    let all = !ex.candidates(&text, &spans, &mut picked);
                    let mut next = picked.iter().copied().peekable();
                    for (i, m) in chunk.iter().enumerate() {
                        let t = ts.get(b * 2048 + i).copied().unwrap_or(0);
                        let pick = next.next_if(|(j, _)| *j == i);
                        if !all && pick.is_none() {
                            ex.count_unmatched(t, m.len());
                            continue;
                        }
                        let r = Record {
                            timestamp: t,
                            ingestion_time: 0,
                            message: m,
                            log_stream: "s",
                            log: "123456789012:/g",
                            ptr: "ptr",
                            flat: true,
                        };
                        if pick.is_some_and(|(_, sure)| sure) {
                            ex.push_passed(&r);
                        } else {
                            ex.push(&r);
                        }
                    }
                }
            } else if whole {
                for (b, chunk) in msgs.chunks(2048).enumerate() {
                    ex.push_messages(chunk.iter().enumerate().map(|(i, m)| {
                        let i = b * 2048 + i;
                        (ts.get(i).copied().unwrap_or(i as i64 * 2), *m, true)
                    }));
                }
            }
            for (i, m) in msgs.iter().enumerate() {
                if whole {
                    break;
                }
                ex.push(&Record {
                    timestamp: ts.get(i).copied().unwrap_or(i as i64 * 2),
                    ingestion_time: 0,
                    message: m,
                    log_stream: "s",
                    log: "123456789012:/g",
                    ptr: "ptr",
                    flat: false,
                });
            }
            rows = ex.rows().len();
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{:>8.3} s {:>7.3} GB/s {:>7.1} M rows/s  {rows:>6} rows  {q}",
            best,
            bytes as f64 / best / 1e9,
            msgs.len() as f64 / best / 1e6
        );
    }
}
