//! `gen-apigw N OUT.ndjson [--seed 42] [--span-s 3600] [--end-ms MS]`
//!
//! Writes N API-Gateway JSON access-log lines (NDJSON) and `OUT.ndjson.ts` (one epoch-ms
//! timestamp per line), like `shared/reference/perf-scripts/gen_apigw.py`, much faster.

use nephoscope_bench::apigw::ApiGwGenerator;
use nephoscope_bench::aws::now_ms;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-apigw: {e}");
            eprintln!("usage: gen-apigw N OUT.ndjson [--seed 42] [--span-s 3600] [--end-ms MS]");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let (mut seed, mut span_s, mut end_ms) = (42u64, 3600i64, now_ms());
    let mut i = 0;
    while i < args.len() {
        let value = |i: usize| {
            args.get(i + 1)
                .ok_or_else(|| format!("{} needs a value", args[i]))
        };
        match args[i].as_str() {
            "--seed" => seed = value(i)?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--span-s" => span_s = value(i)?.parse().map_err(|e| format!("--span-s: {e}"))?,
            "--end-ms" => end_ms = value(i)?.parse().map_err(|e| format!("--end-ms: {e}"))?,
            a if a.starts_with("--") => return Err(format!("unknown option {a}")),
            a => {
                positional.push(a.to_string());
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    let [n, out] = positional.as_slice() else {
        return Err("expected N and OUT".into());
    };
    let n: u64 = n.parse().map_err(|e| format!("N: {e}"))?;
    let open = |p: &str| {
        std::fs::File::create(p)
            .map(|f| BufWriter::with_capacity(1 << 20, f))
            .map_err(|e| format!("{p}: {e}"))
    };
    let mut f = open(out)?;
    let mut ft = open(&format!("{out}.ts"))?;
    let mut bytes = 0u64;
    for e in ApiGwGenerator::new(seed, n, end_ms, span_s * 1000) {
        bytes += e.message.len() as u64 + 1;
        writeln!(f, "{}", e.message).map_err(|e| e.to_string())?;
        writeln!(ft, "{}", e.timestamp_ms).map_err(|e| e.to_string())?;
    }
    f.flush().map_err(|e| e.to_string())?;
    ft.flush().map_err(|e| e.to_string())?;
    eprintln!(
        "wrote {n} lines, {bytes} bytes ({:.1} B/line) to {out}",
        bytes as f64 / n.max(1) as f64
    );
    Ok(())
}
