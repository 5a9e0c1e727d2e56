//! `insights-bench`: the Logs Insights benchmark. Ingests X GB of API-Gateway JSON access logs
//! through PutLogEvents into a real `nephoscope` server, runs the issue's six queries through
//! StartQuery + GetQueryResults, and — with `--peers` — the equivalent SQL in chDB and DuckDB
//! (embedded, through `crates/bench/peers/sql_peers.py`) over the same events written as NDJSON,
//! plus `rg -c -i` for the regex scan. Prints seconds, GB/s and M rows/s per core, the ratio to
//! chDB, and whether every engine's answers equal the generator's and each other's.
//!
//! ```text
//! CARGO_BUILD_JOBS=1 cargo build --release -p nephoscope-server -p nephoscope-bench
//! python3 -m venv .venv-bench && .venv-bench/bin/pip install chdb duckdb    # for --peers
//! cargo run --release -p nephoscope-bench --bin insights-bench -- [--gb X] [--peers]
//!     [--reps R] [--concurrency C] [--seed S] [--poll-ms M] [--peer-timeout S] [--keep]
//! ```
//!
//! The server binary is `$NEPHOSCOPE_BIN` or `target/release/nephoscope`; the peers' Python is
//! `$INSIGHTS_PEERS_PYTHON`, else `.venv-bench/bin/python` of the workspace, else `python3`.
//! Figures are printed, never asserted: see `docs/dev/benchmarks.md`.

use nephoscope_bench::apigw::ApiGwGenerator;
use nephoscope_bench::aws::{now_ms, AwsClient};
use nephoscope_bench::insights::{
    agree, nephoscope_answer, peer_answer, run_query, settle, wait_healthy, Answer, Expected,
    QueryRun, Target, QUERIES, RG_REGEX,
};
use nephoscope_bench::logs::{create_group, next_batch, run_writers, Batch, MAX_BATCH_EVENTS};
use nephoscope_bench::procfs::{
    self, cpu_seconds, loadavg, loadavg1, rss, self_cpu, ScratchDir, Spawned,
};
use serde_json::Value;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Mean message size of the generator (bytes), to turn `--gb` into an event count.
const MEAN_EVENT_BYTES: f64 = 376.6;
const GROUP: &str = "/bench/insights";

#[derive(Debug, Clone)]
struct Opts {
    gb: f64,
    peers: bool,
    reps: u32,
    concurrency: usize,
    seed: u64,
    poll_ms: u64,
    peer_timeout: u64,
    keep: bool,
    /// Run the server with `logs.field_columns = true` (the default of this benchmark).
    field_columns: bool,
}

const USAGE: &str = "usage: insights-bench [--gb X] [--peers] [--reps R] [--concurrency C] \
[--seed S] [--poll-ms M] [--peer-timeout SECONDS] [--keep] [--no-field-columns]";

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        gb: 0.2,
        peers: false,
        reps: 2,
        concurrency: 4,
        seed: 42,
        poll_ms: 20,
        peer_timeout: 1800,
        keep: false,
        field_columns: true,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let bad = |e: &dyn std::fmt::Display| format!("{flag}: {e}");
        match flag {
            "--peers" => o.peers = true,
            "--keep" => o.keep = true,
            "--no-field-columns" => o.field_columns = false,
            "-h" | "--help" => return Err(String::new()),
            _ => {
                let v = args
                    .get(i + 1)
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value"))?;
                match flag {
                    "--gb" => o.gb = v.parse().map_err(|e| bad(&e))?,
                    "--reps" => o.reps = v.parse().map_err(|e| bad(&e))?,
                    "--concurrency" => o.concurrency = v.parse().map_err(|e| bad(&e))?,
                    "--seed" => o.seed = v.parse().map_err(|e| bad(&e))?,
                    "--poll-ms" => o.poll_ms = v.parse().map_err(|e| bad(&e))?,
                    "--peer-timeout" => o.peer_timeout = v.parse().map_err(|e| bad(&e))?,
                    _ => return Err(format!("unknown option {flag}")),
                }
                i += 1;
            }
        }
        i += 1;
    }
    if !(0.001..=16.0).contains(&o.gb) {
        return Err("--gb must be 0.001..=16".into());
    }
    if o.concurrency == 0 || o.concurrency > 64 {
        return Err("--concurrency must be 1..=64".into());
    }
    o.reps = o.reps.clamp(1, 10);
    o.poll_ms = o.poll_ms.clamp(1, 1000);
    o.peer_timeout = o.peer_timeout.clamp(10, 7200);
    Ok(o)
}

#[tokio::main]
async fn main() -> ExitCode {
    let opts = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("insights-bench: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(opts).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("insights-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn peers_python() -> PathBuf {
    if let Some(p) = std::env::var_os("INSIGHTS_PEERS_PYTHON") {
        return PathBuf::from(p);
    }
    let ws = workspace();
    let venv = ws
        .canonicalize()
        .unwrap_or(ws)
        .join(".venv-bench/bin/python");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

fn tool_version(cmd: &str, arg: &str) -> Option<String> {
    let out = Command::new(cmd)
        .arg(arg)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    })
}

fn stderr_problems(log: &Path) -> (usize, usize, Vec<String>) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let (mut errors, mut warns, mut first) = (0, 0, Vec::new());
    for l in text.lines() {
        let e = l.contains("ERROR") || l.contains("panicked");
        let w = l.contains("WARN");
        errors += usize::from(e);
        warns += usize::from(w);
        if (e || w) && first.len() < 5 {
            first.push(l.chars().take(300).collect());
        }
    }
    (errors, warns, first)
}

/// One timed run of one query on one engine.
#[derive(Debug, Clone, Copy, Default)]
struct Timing {
    wall: f64,
    cpu: f64,
}

/// One engine's results for one query: every rep's timing, the last answer, or an error.
#[derive(Debug, Clone, Default)]
struct EngineQuery {
    reps: Vec<Timing>,
    answer: Option<Answer>,
    error: Option<String>,
}

impl EngineQuery {
    /// The best of the reps: the least wall time and the least CPU time (possibly of
    /// different reps).
    fn best(&self) -> Option<Timing> {
        let wall = self.reps.iter().map(|t| t.wall).min_by(f64::total_cmp)?;
        let cpu = self.reps.iter().map(|t| t.cpu).min_by(f64::total_cmp)?;
        Some(Timing { wall, cpu })
    }
}

/// A SQL peer's whole run.
#[derive(Debug, Default)]
struct Peer {
    name: &'static str,
    version: String,
    load: Option<Timing>,
    rows_loaded: u64,
    queries: Vec<(String, EngineQuery)>,
    typed_load: Option<Timing>,
    typed: Vec<(String, EngineQuery)>,
    error: Option<String>,
    process_wall: f64,
}

impl Peer {
    fn query(&self, id: &str) -> Option<&EngineQuery> {
        self.queries.iter().find(|(k, _)| k == id).map(|(_, q)| q)
    }
    fn typed(&self, id: &str) -> Option<&EngineQuery> {
        self.typed.iter().find(|(k, _)| k == id).map(|(_, q)| q)
    }
}

fn peer_queries(doc: &Value) -> Vec<(String, EngineQuery)> {
    let mut out = Vec::new();
    if let Some(m) = doc.as_object() {
        for (id, q) in m {
            let reps = q["reps"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|t| Timing {
                            wall: t["wall"].as_f64().unwrap_or(0.0),
                            cpu: t["cpu"].as_f64().unwrap_or(0.0),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut eq = EngineQuery {
                reps,
                ..Default::default()
            };
            if let Some(e) = q["error"].as_str() {
                eq.error = Some(e.to_string());
            } else {
                match peer_answer(id, &q["rows"]) {
                    Ok(a) => eq.answer = Some(a),
                    Err(e) => eq.error = Some(format!("unreadable rows: {e}")),
                }
            }
            out.push((id.clone(), eq));
        }
    }
    out
}

/// Runs `sql_peers.py --engine NAME` with a deadline; the process is killed by PID after it.
fn run_peer(name: &'static str, data: &Path, opts: &Opts, scratch: &Path) -> Peer {
    let mut peer = Peer {
        name,
        ..Default::default()
    };
    let script = workspace().join("crates/bench/peers/sql_peers.py");
    let python = peers_python();
    let log = scratch.join(format!("{name}.stderr.log"));
    let started = Instant::now();
    let spawned = std::fs::File::create(&log)
        .map_err(|e| e.to_string())
        .and_then(|err| {
            Command::new(&python)
                .arg(&script)
                .args(["--engine", name, "--data"])
                .arg(data)
                .args(["--reps", &opts.reps.to_string(), "--typed"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(err)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", python.display()))
        });
    let child = match spawned {
        Ok(c) => c,
        Err(e) => {
            peer.error = Some(e);
            return peer;
        }
    };
    let mut sp = Spawned {
        name: name.into(),
        child,
    };
    let mut stdout = sp.child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let deadline = Duration::from_secs(opts.peer_timeout);
    let status = loop {
        match sp.child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if started.elapsed() > deadline => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => {
                peer.error = Some(format!("waiting for the {name} peer: {e}"));
                return peer;
            }
        }
    };
    peer.process_wall = started.elapsed().as_secs_f64();
    let Some(status) = status else {
        drop(sp); // kills it by PID
        peer.error = Some(format!("no answer within {deadline:?}; killed"));
        return peer;
    };
    let out = reader.join().unwrap_or_default();
    let stderr_tail = || {
        let t = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = t.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    };
    let doc: Value = match serde_json::from_str(out.trim()) {
        Ok(v) => v,
        Err(e) => {
            peer.error = Some(format!(
                "{status}; output is not JSON ({e}); stderr: {}",
                stderr_tail()
            ));
            return peer;
        }
    };
    peer.version = doc["version"].as_str().unwrap_or("?").to_string();
    if let Some(e) = doc["error"].as_str() {
        let first = e.lines().next().unwrap_or(e).to_string();
        peer.error = Some(if first.contains("ModuleNotFoundError") {
            format!(
                "{first} — not installed for {}; `python3 -m venv .venv-bench && \
                 .venv-bench/bin/pip install chdb duckdb`",
                python.display()
            )
        } else {
            first
        });
    }
    let timing = |v: &Value| {
        v.is_object().then(|| Timing {
            wall: v["wall"].as_f64().unwrap_or(0.0),
            cpu: v["cpu"].as_f64().unwrap_or(0.0),
        })
    };
    peer.load = timing(&doc["load"]);
    peer.rows_loaded = doc["load"]["rows"].as_u64().unwrap_or(0);
    peer.queries = peer_queries(&doc["queries"]);
    peer.typed_load = timing(&doc["typed"]["load"]);
    peer.typed = peer_queries(&doc["typed"]["queries"]);
    peer
}

struct RgRun {
    count: Option<u64>,
    reps: u32,
    wall: f64,
    cpu: f64,
}

/// `rg -c -i REGEX FILE`: one warm-up run, then runs until ≥ 1 s of wall time, averaged.
fn run_rg(file: &Path) -> Result<RgRun, String> {
    let (mut reps, mut wall, mut cpu, mut count) = (0u32, 0.0, 0.0, None);
    for i in 0..31 {
        let c0 = self_cpu().children;
        let t = Instant::now();
        let out = Command::new("rg")
            .args(["-c", "-i", RG_REGEX])
            .arg(file)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("rg: {e}"))?;
        let w = t.elapsed().as_secs_f64();
        let c = self_cpu().children - c0;
        count = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .ok()
            .or((out.status.code() == Some(1)).then_some(0));
        if i > 0 {
            reps += 1;
            wall += w;
            cpu += c;
            if wall >= 1.0 {
                break;
            }
        }
    }
    let n = f64::from(reps.max(1));
    Ok(RgRun {
        count,
        reps,
        wall: wall / n,
        cpu: cpu / n,
    })
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(b: u64) -> String {
    format!("{:.0} MiB", b as f64 / (1024.0 * 1024.0))
}

fn secs(t: Option<Timing>) -> String {
    t.map(|t| format!("{:.3} ({:.3})", t.wall, t.cpu))
        .unwrap_or_else(|| "—".into())
}

struct Ingest {
    expected: Expected,
    file_bytes: u64,
    requests: u64,
    acked: u64,
    failed: u64,
    rejected: u64,
    failures: Vec<String>,
    wall: Duration,
    cpu: f64,
    settle_wall: Duration,
    settle_cpu: f64,
}

async fn ingest(
    client: &AwsClient,
    pid: u32,
    opts: &Opts,
    ndjson: Option<PathBuf>,
) -> Result<Ingest, String> {
    let streams: Vec<String> = (0..opts.concurrency)
        .map(|i| format!("writer-{i:03}"))
        .collect();
    create_group(client, GROUP, &streams).await?;
    let events = ((opts.gb * 1e9) / MEAN_EVENT_BYTES).round().max(1.0) as u64;
    // At least 2 ms between events so that every timestamp is distinct (query d's order is
    // then total), and at least an hour.
    let span_ms = (events as i64 * 2).max(3_600_000);
    let end_ms = now_ms() - 1_000;
    let (tx, rx) = tokio::sync::mpsc::channel::<Batch>(2 * opts.concurrency);
    let seed = opts.seed;
    let producer = std::thread::spawn(move || -> Result<(Expected, u64), String> {
        let mut ex = Expected::default();
        let mut w = match &ndjson {
            Some(p) => Some(BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?,
            )),
            None => None,
        };
        let mut file_bytes = 0u64;
        let mut io_err = None;
        let mut line = Vec::with_capacity(1024);
        let mut it = ApiGwGenerator::new(seed, events, end_ms, span_ms).peekable();
        while let Some(b) = next_batch(&mut it, MAX_BATCH_EVENTS, |e| {
            ex.observe(e);
            if let Some(w) = w.as_mut() {
                line.clear();
                line.extend_from_slice(b"{\"timestamp\":");
                line.extend_from_slice(e.timestamp_ms.to_string().as_bytes());
                line.extend_from_slice(b",\"message\":");
                serde_json::to_writer(&mut line, &e.message).expect("a string serialises");
                line.extend_from_slice(b"}\n");
                file_bytes += line.len() as u64;
                if let Err(err) = w.write_all(&line) {
                    io_err.get_or_insert(err);
                }
            }
        }) {
            if tx.blocking_send(b).is_err() {
                return Err("writers went away".into());
            }
        }
        if let Some(e) = io_err {
            return Err(format!("writing the NDJSON: {e}"));
        }
        if let Some(mut w) = w {
            w.flush().map_err(|e| e.to_string())?;
        }
        Ok((ex, file_bytes))
    });
    let source = Arc::new(tokio::sync::Mutex::new(rx));
    let cpu0 = cpu_seconds(pid);
    let st = run_writers(client, GROUP, &streams, source).await;
    let cpu = cpu_seconds(pid) - cpu0;
    let (expected, file_bytes) = producer
        .join()
        .map_err(|_| "generator thread panicked".to_string())??;
    let (settle_wall, settle_cpu) =
        settle(pid, Duration::from_secs(11), Duration::from_secs(180)).await;
    Ok(Ingest {
        expected,
        file_bytes,
        requests: st.requests,
        acked: st.events_acked,
        failed: st.failed_requests,
        rejected: st.events_rejected,
        failures: st.failures,
        wall: st.wall,
        cpu,
        settle_wall,
        settle_cpu,
    })
}

/// Nephoscope's runs of one query.
#[derive(Debug, Default)]
struct NephQuery {
    eq: EngineQuery,
    last: Option<QueryRun>,
}

async fn run(opts: Opts) -> Result<(), String> {
    let ncpu = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!("== nephoscope insights-bench ==");
    println!(
        "args: {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    println!(
        "config: gb={} peers={} reps={} concurrency={} seed={} poll-ms={} peer-timeout={}s",
        opts.gb,
        opts.peers,
        opts.reps,
        opts.concurrency,
        opts.seed,
        opts.poll_ms,
        opts.peer_timeout
    );
    println!(
        "host: {ncpu} CPUs, load average {} (CPU-seconds are the primary figures)",
        loadavg()
    );
    let bin = nephoscope_bench::procfs::server_bin();
    println!("server: {}", bin.display());
    let mut scratch = ScratchDir::new("nephoscope-insights").map_err(|e| e.to_string())?;
    scratch.keep = opts.keep;
    let data_dir = scratch.path.join("data");
    std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
    let log = scratch.path.join("nephoscope.stderr.log");
    println!(
        "scratch: {}{}",
        scratch.path.display(),
        if opts.keep { " (kept)" } else { "" }
    );

    // The server keeps discovered fields as columns unless asked not to (`logs.field_columns`).
    let config = scratch.path.join("nephoscope.toml");
    procfs::field_columns_config(&config, opts.field_columns)?;
    let (mut server, port) = procfs::start_nephoscope_with(&bin, &data_dir, Some(&config), &log)?;
    let spid = server.pid();
    let client = AwsClient::new(port);
    let ready = wait_healthy(&client, Duration::from_secs(30)).await?;
    println!("nephoscope pid {spid} on 127.0.0.1:{port}, healthy after {ready:.2?}");

    let ndjson = opts.peers.then(|| scratch.path.join("apigw.ndjson"));
    println!(
        "ingest: {} GB of raw messages (seed {}) through PutLogEvents into {GROUP}{} ...",
        opts.gb,
        opts.seed,
        if ndjson.is_some() {
            ", the same events to an NDJSON file"
        } else {
            ""
        }
    );
    let mut ing = ingest(&client, spid, &opts, ndjson.clone()).await?;
    let ex = &ing.expected;
    let raw_gb = ex.raw_bytes as f64 / 1e9;
    println!(
        "ingested {} events ({:.1} MB raw) in {:.1} s: {} requests, {} failed, {} rejected; \
         {:.2} server CPU-s + {:.2} CPU-s flush/compaction after (waited {:.1} s)",
        thousands(ing.acked),
        ex.raw_bytes as f64 / 1e6,
        ing.wall.as_secs_f64(),
        ing.requests,
        ing.failed,
        ing.rejected,
        ing.cpu,
        ing.settle_cpu,
        ing.settle_wall.as_secs_f64()
    );
    for f in &ing.failures {
        println!(
            "  INGEST FAILURE: {}",
            f.chars().take(400).collect::<String>()
        );
    }
    let rss_ingest = rss(spid);
    println!(
        "server RSS after ingest and flush: {}",
        rss_ingest
            .map(|(r, h)| format!("{} (peak {})", mib(r), mib(h)))
            .unwrap_or_else(|| "?".into())
    );
    let (_, segments, _) = procfs::disk_usage(&data_dir.join("logs/files/segments"));
    println!(
        "segment files after the flush: {:.1} MB, {:.1} B/event (logs.field_columns = {})",
        segments as f64 / 1e6,
        segments as f64 / ex.events.max(1) as f64,
        opts.field_columns
    );
    let (min_ts, max_ts) = (ex.min_ts.unwrap_or(0), ex.max_ts.unwrap_or(0));
    let (start_s, end_s) = (min_ts.div_euclid(1000) - 1, max_ts.div_euclid(1000) + 1);
    println!(
        "time range: events {min_ts}..{max_ts} ms; queries startTime={start_s} endTime={end_s} \
         (epoch seconds)"
    );

    // ------------------------------------------------------------ nephoscope queries
    let mut neph: Vec<NephQuery> = QUERIES.iter().map(|_| NephQuery::default()).collect();
    let poll = Duration::from_millis(opts.poll_ms);
    for rep in 1..=opts.reps {
        for (q, nq) in QUERIES.iter().zip(neph.iter_mut()) {
            let r = run_query(
                &client,
                spid,
                GROUP,
                q.insights,
                start_s,
                end_s,
                poll,
                Duration::from_secs(900),
            )
            .await;
            match r {
                Ok(run) => {
                    println!(
                        "  rep {rep} ({}) {:<45} {:>8.3} s wall {:>7.3} server CPU-s, {} polls, \
                         status {}, {} rows",
                        q.id,
                        q.title,
                        run.wall.as_secs_f64(),
                        run.server_cpu,
                        run.polls,
                        run.status,
                        run.results.as_array().map(Vec::len).unwrap_or(0)
                    );
                    if run.status == "Complete" {
                        nq.eq.reps.push(Timing {
                            wall: run.wall.as_secs_f64(),
                            cpu: run.server_cpu,
                        });
                        match nephoscope_answer(q.id, &run.results) {
                            Ok(a) => nq.eq.answer = Some(a),
                            Err(e) => nq.eq.error = Some(format!("unreadable results: {e}")),
                        }
                    } else {
                        nq.eq.error = Some(format!("status {}", run.status));
                    }
                    nq.last = Some(run);
                }
                Err(e) => {
                    println!("  rep {rep} ({}) FAILED: {e}", q.id);
                    nq.eq.error = Some(e);
                }
            }
        }
    }
    let rss_after = rss(spid);
    let alive = matches!(server.child.try_wait(), Ok(None));
    let (stop_wall, _, exit) = if alive {
        server.terminate(Duration::from_secs(300))
    } else {
        (Duration::ZERO, None, "had already exited".into())
    };
    let (n_err, n_warn, problems) = stderr_problems(&log);

    // ------------------------------------------------------------ peers
    let mut peers: Vec<Peer> = Vec::new();
    let mut rg: Option<Result<RgRun, String>> = None;
    if let Some(file) = &ndjson {
        println!(
            "peers: NDJSON {} ({:.1} MB, one InputLogEvent per line); python {}",
            file.display(),
            ing.file_bytes as f64 / 1e6,
            peers_python().display()
        );
        rg = Some(if tool_version("rg", "--version").is_some() {
            run_rg(file)
        } else {
            Err("rg not installed (`apt-get install ripgrep`)".into())
        });
        for name in ["chdb", "duckdb"] {
            println!("peer: {name} (load + {} reps of each query) ...", opts.reps);
            let p = run_peer(name, file, &opts, &scratch.path);
            if let Some(e) = &p.error {
                println!("  {name}: {e}");
            }
            peers.push(p);
        }
    }

    // ------------------------------------------------------------ report
    let events = ing.expected.events;
    println!();
    println!(
        "== Logs Insights over {} events, {:.3} GB of raw messages (best of {} reps for \
         nephoscope, of {} for the peers: least wall time and least CPU time) ==",
        thousands(events),
        raw_gb,
        opts.reps,
        opts.reps
    );
    for (q, nq) in QUERIES.iter().zip(&neph) {
        println!("({}) {}", q.id, q.insights);
        if let Some(run) = &nq.last {
            let s = &run.statistics;
            println!(
                "    statistics: recordsScanned {} recordsMatched {} bytesScanned {}{}",
                s["recordsScanned"],
                s["recordsMatched"],
                s["bytesScanned"],
                if s["recordsScanned"].as_f64() == Some(events as f64) {
                    ""
                } else {
                    "  (recordsScanned differs from the events ingested!)"
                }
            );
        }
        let reps: Vec<String> = nq
            .eq
            .reps
            .iter()
            .map(|t| format!("{:.3} s / {:.3} CPU-s", t.wall, t.cpu))
            .collect();
        println!("    nephoscope reps: {}", reps.join(", "));
        if let Some(e) = &nq.eq.error {
            println!("    nephoscope ERROR: {e}");
        }
        for p in &peers {
            if let Some(pq) = p.query(q.id) {
                let reps: Vec<String> = pq
                    .reps
                    .iter()
                    .map(|t| format!("{:.3} s / {:.2} CPU-s", t.wall, t.cpu))
                    .collect();
                println!("    {} reps: {}", p.name, reps.join(", "));
                if let Some(e) = &pq.error {
                    println!("    {} ERROR: {e}", p.name);
                }
            }
        }
    }

    // Correctness: every engine against the generator, and nephoscope against each peer.
    let mut verdicts: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for (q, nq) in QUERIES.iter().zip(&neph) {
        let truth = ing.expected.answer(q.id);
        let mut failed: Vec<String> = Vec::new();
        let mut missing = false;
        let mut check = |label: &str, a: Option<&Answer>, b: &Answer, ex: &mut Expected| match a {
            None => missing = true,
            Some(a) => {
                let d = agree(q.id, a, b, ex, 3);
                if !d.is_empty() {
                    notes.push(format!("({}) {label}: {}", q.id, d.join("; ")));
                    failed.push(label.to_string());
                }
            }
        };
        let na = nq.eq.answer.as_ref();
        check("nephoscope ≠ expected", na, &truth, &mut ing.expected);
        for p in &peers {
            let pa = p.query(q.id).and_then(|x| x.answer.as_ref());
            if let (Some(na), Some(pa)) = (na, pa) {
                let label = format!("nephoscope ≠ {}", p.name);
                check(&label, Some(na), pa, &mut ing.expected);
            }
            let label = format!("{} ≠ expected", p.name);
            check(&label, pa, &truth, &mut ing.expected);
        }
        verdicts.push(match (failed.is_empty(), missing) {
            (true, false) => "yes".into(),
            (true, true) => "yes (where answered)".into(),
            (false, _) => format!("NO: {}", failed.join(", ")),
        });
    }

    let chdb = peers.iter().find(|p| p.name == "chdb");
    let duck = peers.iter().find(|p| p.name == "duckdb");
    println!();
    println!(
        "Seconds are wall (server CPU-s, from its process_cpu_seconds_total, or process CPU-s in \
         parentheses); GB/s and M rows/s per \
         core are raw message bytes / events of the data set over CPU-s; × chDB is nephoscope's \
         time over chDB's (wall, and CPU). Equal? is yes when nephoscope's answer equals the \
         generator's{} (percentiles: within one rank, see the docs).",
        if peers.is_empty() {
            ""
        } else {
            ", chDB's and DuckDB's, and each peer's equals the generator's"
        }
    );
    println!();
    println!(
        "| query | nephoscope s (CPU-s) | GB/s per core | M rows/s per core | chDB s (CPU-s) | \
         DuckDB s (CPU-s) | × chDB wall / CPU | equal? |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for ((q, nq), v) in QUERIES.iter().zip(&neph).zip(&verdicts) {
        let nb = nq.eq.best();
        let cb = chdb.and_then(|p| p.query(q.id)).and_then(EngineQuery::best);
        let db = duck.and_then(|p| p.query(q.id)).and_then(EngineQuery::best);
        let ratio = match (nb, cb) {
            (Some(n), Some(c)) => format!(
                "{:.1}× / {:.1}×",
                n.wall / c.wall.max(1e-9),
                n.cpu / c.cpu.max(1e-9)
            ),
            _ => "—".into(),
        };
        println!(
            "| ({}) {} | {} | {} | {} | {} | {} | {} | {} |",
            q.id,
            q.title,
            secs(nb),
            nb.map(|t| format!("{:.3}", raw_gb / t.cpu.max(1e-9)))
                .unwrap_or_else(|| "—".into()),
            nb.map(|t| format!("{:.2}", events as f64 / 1e6 / t.cpu.max(1e-9)))
                .unwrap_or_else(|| "—".into()),
            secs(cb),
            secs(db),
            ratio,
            v
        );
    }
    if let Some(r) = &rg {
        match r {
            Ok(r) => {
                let exp = match ing.expected.answer("b") {
                    Answer::Keyed(m) => m.get("").copied().unwrap_or(-1.0) as u64,
                    Answer::Rows(_) => 0,
                };
                println!(
                    "| (b) `rg -c -i '{RG_REGEX}'` ({}, {:.1} MB NDJSON, mean of {}) | {:.3} \
                     ({:.3}) | {:.2} | | | | | {} |",
                    tool_version("rg", "--version").unwrap_or_default(),
                    ing.file_bytes as f64 / 1e6,
                    r.reps,
                    r.wall,
                    r.cpu,
                    ing.file_bytes as f64 / 1e9 / r.cpu.max(1e-9),
                    if r.count == Some(exp) { "yes" } else { "NO" }
                );
                if r.count != Some(exp) {
                    notes.push(format!("rg counted {:?}, expected {exp}", r.count));
                }
            }
            Err(e) => println!("rg: {e}"),
        }
    }
    // How often the percentile definitions happen to pick the very same value.
    if let Some(Answer::Keyed(nf)) = QUERIES
        .iter()
        .position(|q| q.id == "f")
        .and_then(|i| neph[i].eq.answer.as_ref())
    {
        for p in &peers {
            if let Some(Answer::Keyed(pf)) = p.query("f").and_then(|q| q.answer.as_ref()) {
                let same = nf.iter().filter(|(k, v)| pf.get(*k) == Some(v)).count();
                println!(
                    "(f) p99: nephoscope (nearest rank) and {} give the identical value for {} of \
                     {} routes (Equal? says whether the rest are within one rank)",
                    p.name,
                    same,
                    nf.len()
                );
            }
        }
    }
    if !notes.is_empty() {
        println!();
        println!("DIFFERENCES:");
        for n in &notes {
            println!("  {n}");
        }
    }

    if !peers.is_empty() {
        println!();
        println!(
            "Peers: load of the NDJSON into a native table (timestamp, message), then the typed \
             variant: columns extracted once at load, the same aggregates over them (informative: \
             Logs Insights has no load step)."
        );
        println!(
            "| peer | version | load s (CPU-s) | rows | typed load s | (a) | (c) | (e) | (f) |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
        for p in &peers {
            let t = |id: &str| secs(p.typed(id).and_then(EngineQuery::best));
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                p.name,
                p.version,
                secs(p.load),
                thousands(p.rows_loaded),
                secs(p.typed_load),
                t("a"),
                t("c"),
                t("e"),
                t("f")
            );
            for id in ["a", "c", "e", "f"] {
                if let (Some(pa), Some(tq)) = (
                    p.query(id).and_then(|q| q.answer.as_ref()),
                    p.typed(id).and_then(|q| q.answer.as_ref()),
                ) {
                    let d = agree(id, pa, tq, &mut ing.expected, 2);
                    if !d.is_empty() {
                        println!(
                            "  {} typed ({id}) differs from raw: {}",
                            p.name,
                            d.join("; ")
                        );
                    }
                }
            }
        }
    }

    println!();
    println!(
        "server: RSS after the queries {}; stopped in {:.2} s ({exit}); stderr: {n_err} error \
         lines, {n_warn} warning lines",
        rss_after
            .map(|(r, h)| format!("{} (peak {})", mib(r), mib(h)))
            .unwrap_or_else(|| "?".into()),
        stop_wall.as_secs_f64()
    );
    for p in problems {
        println!("  {p}");
    }

    println!();
    println!("== Against the issue's targets (figures, not assertions) ==");
    for (q, nq) in QUERIES.iter().zip(&neph) {
        let Some(b) = nq.eq.best() else {
            println!("  ({}) no successful run", q.id);
            continue;
        };
        let gbs = raw_gb / b.cpu.max(1e-9);
        let mrows = events as f64 / 1e6 / b.cpu.max(1e-9);
        let target = match q.target {
            Target::TextFilter => format!("text filter {gbs:.3} GB/s per core (target ≥ 2)"),
            Target::FieldStats => format!(
                "stats on discovered fields {mrows:.2} M rows/s per core (target ≥ 100), \
                 {gbs:.3} GB/s per core schema-on-read (target ≥ 1.5)"
            ),
            Target::ParseStats => {
                format!("schema-on-read parse + stats {gbs:.3} GB/s per core (target ≥ 1.5)")
            }
            Target::None => format!("{gbs:.3} GB/s per core (no per-core target)"),
        };
        let vs = chdb
            .and_then(|p| p.query(q.id))
            .and_then(EngineQuery::best)
            .map(|c| {
                format!(
                    "; {} chDB (wall {:.3} s vs {:.3} s)",
                    if b.wall <= c.wall {
                        "not slower than"
                    } else {
                        "SLOWER than"
                    },
                    b.wall,
                    c.wall
                )
            })
            .unwrap_or_default();
        println!("  ({}) {target}{vs}", q.id);
    }
    println!("  load average now {}", loadavg1());
    if opts.keep {
        println!("kept: {}", scratch.path.display());
    }
    Ok(())
}
