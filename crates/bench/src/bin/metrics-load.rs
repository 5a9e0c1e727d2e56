//! `metrics-load`: CloudWatch metrics benchmark against the real `nephoscope` binary over HTTP +
//! SigV4 on 127.0.0.1 — PutMetricData throughput per protocol, GetMetricData of 500 queries ×
//! 1,440 points, a day of high-resolution data, and percentile error against exact values — with
//! VictoriaMetrics and `moto_server` as optional same-run peers.
//!
//! ```text
//! cargo build --release -p nephoscope-server -p nephoscope-bench
//! cargo run --release -p nephoscope-bench --bin metrics-load -- \
//!     [--series N] [--minutes M] [--values V] [--concurrency C] [--reps R]
//!     [--protocols json,query,cbor] [--no-gzip] [--split] [--paged-reps P] [--idle-seconds I]
//!     [--hires-seconds S]
//!     [--hires-values V] [--peers] [--moto-batches B] [--seed S] [--keep]
//! ```
//!
//! The server is `$NEPHOSCOPE_BIN` or `target/release/nephoscope`; the peers are
//! `$VICTORIA_METRICS` or `victoria-metrics`, and `$MOTO_SERVER` or `moto_server`, on the PATH.
//! Every figure is printed, none asserted. See `docs/dev/benchmarks.md`.

use bytes::Bytes;
use nephoscope_bench::metrics::{
    check_gmd_answer, check_victoria_answer, get_metric_data_body, put_batches, quantile,
    run_writers, settle, start_nephoscope, start_victoria, victoria_batches, victoria_query_body,
    Batch, CwClient, ErrorStats, Exact, Grid, IngestStats, Protocol, RequestFor, MAX_DATA_POINTS,
    MAX_VALUES,
};
use nephoscope_bench::procfs::{self, cmdline, cpu_seconds, loadavg, rss, self_cpu, ScratchDir};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// At most this many MetricStat queries per GetMetricData (AWS's limit).
const MAX_QUERIES: u32 = 500;
/// Series index of the high-resolution series (apart from the grid's).
const HIRES_SERIES: u32 = 9000;
/// CloudWatch keeps 1-second data for 3 hours.
const HIRES_RETENTION_S: u32 = 3 * 3600;

#[derive(Debug, Clone)]
struct Opts {
    series: u32,
    minutes: u32,
    values: usize,
    concurrency: usize,
    reps: u32,
    protocols: Vec<Protocol>,
    gzip: bool,
    split: bool,
    paged_reps: u32,
    idle_seconds: u64,
    hires_seconds: u32,
    hires_values: usize,
    peers: bool,
    moto_batches: usize,
    seed: u64,
    keep: bool,
}

const USAGE: &str =
    "usage: metrics-load [--series N] [--minutes M] [--values V] [--concurrency C] \
[--reps R] [--protocols json,query,cbor] [--no-gzip] [--split] [--paged-reps P] [--idle-seconds I] [--hires-seconds S] \
[--hires-values V] [--peers] [--moto-batches B] [--seed S] [--keep]";

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        series: 500,
        minutes: 1440,
        values: MAX_VALUES,
        concurrency: 4,
        reps: 20,
        protocols: Protocol::ALL.to_vec(),
        gzip: true,
        split: false,
        paged_reps: 1,
        idle_seconds: 61,
        hires_seconds: 86_400,
        hires_values: 10,
        peers: false,
        moto_batches: 10,
        seed: 42,
        keep: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let bad = |e: &dyn std::fmt::Display| format!("{flag}: {e}");
        match flag {
            "--peers" => o.peers = true,
            "--keep" => o.keep = true,
            "--no-gzip" => o.gzip = false,
            "--split" => o.split = true,
            "-h" | "--help" => return Err(String::new()),
            _ => {
                let v = args
                    .get(i + 1)
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value"))?;
                match flag {
                    "--series" => o.series = v.parse().map_err(|e| bad(&e))?,
                    "--minutes" => o.minutes = v.parse().map_err(|e| bad(&e))?,
                    "--values" => o.values = v.parse().map_err(|e| bad(&e))?,
                    "--concurrency" => o.concurrency = v.parse().map_err(|e| bad(&e))?,
                    "--reps" => o.reps = v.parse().map_err(|e| bad(&e))?,
                    "--hires-seconds" => o.hires_seconds = v.parse().map_err(|e| bad(&e))?,
                    "--hires-values" => o.hires_values = v.parse().map_err(|e| bad(&e))?,
                    "--paged-reps" => o.paged_reps = v.parse().map_err(|e| bad(&e))?,
                    "--idle-seconds" => o.idle_seconds = v.parse().map_err(|e| bad(&e))?,
                    "--moto-batches" => o.moto_batches = v.parse().map_err(|e| bad(&e))?,
                    "--seed" => o.seed = v.parse().map_err(|e| bad(&e))?,
                    "--protocols" => {
                        o.protocols = v
                            .split(',')
                            .map(|p| {
                                Protocol::parse(p.trim())
                                    .ok_or_else(|| format!("unknown protocol {p}"))
                            })
                            .collect::<Result<_, _>>()?
                    }
                    _ => return Err(format!("unknown option {flag}")),
                }
                i += 1;
            }
        }
        i += 1;
    }
    if o.series == 0 || o.series > 8000 {
        return Err("--series must be 1..=8000".into());
    }
    // PutMetricData accepts data up to two weeks old.
    if o.minutes == 0 || o.minutes > 13 * 1440 {
        return Err("--minutes must be 1..=18720 (13 days)".into());
    }
    if o.values == 0 || o.values > MAX_VALUES || o.hires_values == 0 {
        return Err(format!("--values must be 1..={MAX_VALUES}"));
    }
    if o.hires_values > MAX_VALUES {
        return Err(format!("--hires-values must be 1..={MAX_VALUES}"));
    }
    if o.hires_seconds > 13 * 86_400 || !o.hires_seconds.is_multiple_of(60) {
        return Err("--hires-seconds must be a multiple of 60 up to 13 days (0 skips)".into());
    }
    if o.concurrency == 0 || o.concurrency > 256 {
        return Err("--concurrency must be 1..=256".into());
    }
    if o.protocols.is_empty() {
        return Err("--protocols needs at least one of json, query, cbor".into());
    }
    o.reps = o.reps.clamp(1, 1000);
    o.paged_reps = o.paged_reps.min(100);
    o.idle_seconds = o.idle_seconds.min(600);
    Ok(o)
}

#[tokio::main]
async fn main() -> ExitCode {
    let opts = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("metrics-load: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(opts).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("metrics-load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn first_line(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd)
        .args(args)
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

fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// One ingest run against one server.
#[derive(Default)]
struct IngestPhase {
    label: String,
    stats: IngestStats,
    batches: usize,
    /// Datums in the smallest and largest batch.
    datums_per_call: (usize, usize),
    gen_time: Duration,
    server_cpu: f64,
    client_cpu: f64,
    settle_cpu: f64,
    settle_wall: Duration,
    rss: Option<(u64, u64)>,
    load: String,
    /// Final checkpoint at SIGTERM: CPU-s and wall time (nephoscope only).
    stop: Option<(f64, Duration)>,
}

impl IngestPhase {
    fn per_cpu(&self, n: u64, with_settle: bool) -> f64 {
        let cpu = self.server_cpu + if with_settle { self.settle_cpu } else { 0.0 };
        n as f64 / cpu.max(1e-9)
    }
}

#[allow(clippy::too_many_arguments)]
async fn ingest(
    label: String,
    http: &CwClient,
    pid: u32,
    build: RequestFor,
    batches: Vec<Batch>,
    gen_time: Duration,
    concurrency: usize,
    settle_min: Duration,
) -> IngestPhase {
    let mut ph = IngestPhase {
        label,
        batches: batches.len(),
        gen_time,
        datums_per_call: (
            batches.iter().map(|b| b.datums).min().unwrap_or(0),
            batches.iter().map(|b| b.datums).max().unwrap_or(0),
        ),
        ..Default::default()
    };
    let load0 = procfs::loadavg1();
    let cpu0 = cpu_seconds(pid);
    let self0 = self_cpu().own;
    ph.stats = run_writers(&http.http, build, Arc::new(batches), concurrency).await;
    ph.server_cpu = cpu_seconds(pid) - cpu0;
    ph.client_cpu = self_cpu().own - self0;
    ph.load = format!("{load0} → {}", procfs::loadavg1());
    let (w, c) = settle(pid, settle_min, Duration::from_secs(120)).await;
    ph.settle_wall = w;
    ph.settle_cpu = c;
    ph.rss = rss(pid);
    ph
}

/// Repeated calls of one query shape.
#[derive(Default)]
struct QueryRun {
    label: String,
    calls_per_rep: usize,
    latencies: Vec<Duration>,
    server_cpu: f64,
    answer_bytes: usize,
    errors: ErrorStats,
    failures: Vec<String>,
}

impl QueryRun {
    fn cpu_per_rep(&self) -> f64 {
        self.server_cpu / self.latencies.len().max(1) as f64
    }
}

/// How a query shape is repeated.
#[derive(Clone, Copy)]
struct Repeat {
    /// Timed repetitions.
    reps: u32,
    /// One untimed repetition first.
    warmup: bool,
    /// Follow `NextToken` (JSON 1.0 GetMetricData) until the answer has none.
    paged: bool,
    /// Points the shape should answer (for the error table).
    expected: u64,
}

/// The `NextToken` of a JSON answer (searched from the end: it follows the results).
fn next_token(body: &[u8]) -> Option<String> {
    let key = b"\"NextToken\":\"";
    let at = body.windows(key.len()).rposition(|w| w == key)? + key.len();
    let len = body[at..].iter().position(|b| *b == b'"')?;
    Some(String::from_utf8_lossy(&body[at..at + len]).into_owned())
}

/// `body` (a JSON object) with `"NextToken": token` added.
fn with_token(body: &Bytes, token: &str) -> Bytes {
    let mut v = body[..body.len() - 1].to_vec();
    v.extend_from_slice(format!(",\"NextToken\":{}}}", serde_json::Value::from(token)).as_bytes());
    Bytes::from(v)
}

/// Runs `bodies` (one repetition: sequential calls, each followed through its pages when
/// `paged`) as `how` says; checks the first repetition's answers with `check`. Latency of a
/// repetition is the sum of its calls'.
#[allow(clippy::too_many_arguments)]
async fn repeat_queries(
    label: String,
    how: Repeat,
    pid: u32,
    bodies: &[Bytes],
    send: &(dyn Fn(Bytes) -> hyper::Request<http_body_util::Full<Bytes>> + Sync),
    http: &nephoscope_bench::aws::AwsClient,
    check: &(dyn Fn(&[u8]) -> Result<ErrorStats, String> + Sync),
) -> QueryRun {
    let mut run = QueryRun {
        label,
        ..Default::default()
    };
    for rep in 0..how.reps + u32::from(how.warmup) {
        let c0 = cpu_seconds(pid);
        let mut total = Duration::ZERO;
        let mut ok = true;
        let mut calls = 0;
        'bodies: for body in bodies {
            let mut token: Option<String> = None;
            // Bounded: AWS's 100,800-point pages of a 500-query request are at most ~8,000.
            for _page in 0..10_000 {
                let b = match &token {
                    Some(t) => with_token(body, t),
                    None => body.clone(),
                };
                calls += 1;
                match http.send(send(b)).await {
                    Ok(r) if r.status == 200 => {
                        total += r.latency;
                        if rep == 0 {
                            run.answer_bytes += r.body.len();
                            match check(&r.body) {
                                Ok(e) => run.errors.merge(&e),
                                Err(e) => run.failures.push(e),
                            }
                        }
                        token = if how.paged { next_token(&r.body) } else { None };
                        if token.is_none() {
                            break;
                        }
                    }
                    Ok(r) => {
                        ok = false;
                        run.failures.push(format!(
                            "HTTP {}: {}",
                            r.status,
                            String::from_utf8_lossy(&r.body[..r.body.len().min(400)])
                        ));
                        break 'bodies;
                    }
                    Err(e) => {
                        ok = false;
                        run.failures.push(e);
                        break 'bodies;
                    }
                }
            }
        }
        run.calls_per_rep = calls;
        if !ok {
            break;
        }
        if rep > 0 || !how.warmup {
            run.latencies.push(total);
            run.server_cpu += cpu_seconds(pid) - c0;
        }
    }
    run.errors.expected = how.expected;
    run
}

struct HiRes {
    grid: Grid,
    ingest: IngestPhase,
    queries: Vec<QueryRun>,
}

struct Victoria {
    version: String,
    cmd: String,
    ingest: IngestPhase,
    queries: Vec<QueryRun>,
    series_returned: Vec<usize>,
    stopped: String,
}

struct Moto {
    version: String,
    cmd: String,
    ingest: IngestPhase,
    stopped: String,
}

async fn wait_ready(http: &CwClient, path: &str, deadline: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < deadline {
        match http.http.get(path).await {
            Ok(r) if r.status == 200 => return Ok(started.elapsed()),
            Ok(r) => last = format!("HTTP {}", r.status),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("not ready within {deadline:?}: {last}"))
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

/// A running nephoscope with its own data directory.
struct Server {
    name: String,
    proc: nephoscope_bench::procfs::Spawned,
    pid: u32,
    cw: CwClient,
    data_dir: PathBuf,
    log: PathBuf,
}

/// What stopping a server showed.
struct Stopped {
    name: String,
    wall: Duration,
    cpu: f64,
    exit: String,
    disk: u64,
    errors: usize,
    warnings: usize,
    problems: Vec<String>,
}

impl Server {
    async fn start(bin: &Path, scratch: &Path, tag: &str, config: &Path) -> Result<Server, String> {
        let data_dir = scratch.join(format!("data-{tag}"));
        std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
        let log = scratch.join(format!("nephoscope-{tag}.stderr.log"));
        let (proc, port) = start_nephoscope(bin, &data_dir, config, &log)?;
        let pid = proc.pid();
        let cw = CwClient::new(port);
        let ready = wait_ready(&cw, "/_nephoscope/health", Duration::from_secs(30)).await?;
        println!("nephoscope ({tag}) pid {pid} on 127.0.0.1:{port}, healthy after {ready:.2?}");
        Ok(Server {
            name: format!("nephoscope ({tag})"),
            proc,
            pid,
            cw,
            data_dir,
            log,
        })
    }

    /// SIGTERM and wait (final checkpoint; CPU read from the zombie), then disk and stderr.
    fn stop(&mut self) -> Stopped {
        let alive = matches!(self.proc.child.try_wait(), Ok(None));
        let before = cpu_seconds(self.pid);
        let (wall, cpu, exit) = if alive {
            self.proc.terminate(Duration::from_secs(300))
        } else {
            (Duration::ZERO, None, "had already exited".into())
        };
        let (disk, _, _) = procfs::disk_usage(&self.data_dir);
        let (errors, warnings, problems) = stderr_problems(&self.log);
        Stopped {
            name: self.name.clone(),
            wall,
            cpu: cpu.map(|c| c - before).unwrap_or(f64::NAN),
            exit,
            disk,
            errors,
            warnings,
            problems,
        }
    }
}

fn namespace(p: Protocol) -> String {
    format!("Nephoscope/Bench/{}", p.short())
}

fn cw_builder(http: &CwClient, proto: Protocol) -> RequestFor {
    let http = http.clone();
    Arc::new(move |b: &Batch| http.signed(proto, "PutMetricData", b.body.clone(), b.gzip))
}

async fn run(opts: Opts) -> Result<(), String> {
    let ncpu = threads();
    println!("== nephoscope metrics-load ==");
    println!(
        "args: {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    println!(
        "config: series={} minutes={} values/datum={} concurrency={} reps={} protocols={} gzip={} \
         split={} paged-reps={} hires-seconds={} hires-values={} peers={} moto-batches={} seed={}",
        opts.series,
        opts.minutes,
        opts.values,
        opts.concurrency,
        opts.reps,
        opts.protocols
            .iter()
            .map(|p| p.short())
            .collect::<Vec<_>>()
            .join(","),
        opts.gzip,
        opts.split,
        opts.paged_reps,
        opts.hires_seconds,
        opts.hires_values,
        opts.peers,
        opts.moto_batches,
        opts.seed
    );
    println!(
        "host: {ncpu} CPUs, load average {} (CPU-seconds are the primary figures; wall-clock \
         rates share the CPUs with this load generator)",
        loadavg()
    );
    let bin = nephoscope_bench::procfs::server_bin();
    println!("server: {}", bin.display());
    let mut scratch = ScratchDir::new("nephoscope-metrics-bench").map_err(|e| e.to_string())?;
    scratch.keep = opts.keep;
    // 1-second data kept for longer than the high-resolution day, so Period 1 reaches all of it.
    let hires_hours = (i64::from(opts.hires_seconds) / 3600 + 2).max(3);
    let config = scratch.path.join("nephoscope.toml");
    std::fs::write(
        &config,
        format!("[metrics]\nhigh_resolution_hours = {hires_hours}\n"),
    )
    .map_err(|e| e.to_string())?;
    println!(
        "scratch: {}{}",
        scratch.path.display(),
        if opts.keep { " (kept)" } else { "" }
    );

    println!(
        "every protocol gets a fresh server (empty data directory; config [metrics] \
         high_resolution_hours = {hires_hours}); the first protocol's server then answers the \
         queries"
    );

    let now_s = nephoscope_bench::aws::now_ms() / 1000;
    let minute_now = now_s - now_s.rem_euclid(60);
    let grid = Grid {
        seed: opts.seed,
        series: opts.series,
        buckets: opts.minutes,
        // Ends two minutes before now: every minute is complete.
        start_s: minute_now - (i64::from(opts.minutes) + 2) * 60,
        step_s: 60,
        values: opts.values,
        first_series: 0,
    };
    println!(
        "grid: {} series × {} minutes ({} … {}), one datum of {} distinct values (Counts all 1) \
         per series and minute: {} datums, {} values",
        grid.series,
        grid.buckets,
        nephoscope_bench::metrics::iso8601(grid.start_s),
        nephoscope_bench::metrics::iso8601(grid.start_s + 60 * i64::from(grid.buckets)),
        grid.values,
        thousands(grid.datums() as u64),
        thousands(grid.total_values())
    );

    // ------------------------------------------------------------ ingest per protocol
    let mut ingests = Vec::new();
    let mut main: Option<Server> = None;
    let mut stopped = Vec::new();
    for &p in &opts.protocols {
        let mut sv = Server::start(&bin, &scratch.path, p.short(), &config).await?;
        let (spid, cw) = (sv.pid, sv.cw.clone());
        let ns = namespace(p);
        println!(
            "ingest {}: encoding {} datums{} ...",
            p.name(),
            thousands(grid.datums() as u64),
            if opts.gzip { " (gzip)" } else { "" }
        );
        let t = Instant::now();
        let batches = put_batches(p, &ns, &grid, grid.datums(), opts.gzip, ncpu);
        let gen = t.elapsed();
        println!(
            "  {} requests prepared in {:.1} s; sending ...",
            batches.len(),
            gen.as_secs_f64()
        );
        let ph = ingest(
            format!("{}{}", p.name(), if opts.gzip { " gz" } else { "" }),
            &cw,
            spid,
            cw_builder(&cw, p),
            batches,
            gen,
            opts.concurrency,
            Duration::from_secs(11),
        )
        .await;
        println!(
            "  {} values acked in {:.1} s, {:.2} server CPU-s (+{:.2} after), {} failed requests",
            thousands(ph.stats.values_acked),
            ph.stats.wall.as_secs_f64(),
            ph.server_cpu,
            ph.settle_cpu,
            ph.stats.failed_requests
        );
        let mut ph = ph;
        if main.is_none() {
            main = Some(sv);
        } else {
            let st = sv.stop();
            ph.stop = Some((st.cpu, st.wall));
            stopped.push(st);
        }
        ingests.push((p, ph));
    }
    let mut server = main.ok_or("no protocol")?;
    let (spid, cw) = (server.pid, server.cw.clone());

    // ------------------------------------------------------------ GetMetricData
    let qproto = opts.protocols[0];
    let qns = namespace(qproto);
    let q = grid.series.min(MAX_QUERIES);
    let qgrid = Grid { series: q, ..grid };
    println!(
        "exact statistics of the query set ({q} series × {} minutes) ...",
        grid.buckets
    );
    let truth = Arc::new(qgrid.truth(0.99, ncpu));
    let points = q as usize * grid.buckets as usize;
    let (qstart, qend) = (grid.start_s, grid.start_s + 60 * i64::from(grid.buckets));
    let send_json: Box<dyn Fn(Bytes) -> hyper::Request<http_body_util::Full<Bytes>> + Sync> = {
        let cw = cw.clone();
        Box::new(move |b: Bytes| cw.signed(Protocol::Json, "GetMetricData", b, false))
    };
    let mut queries = Vec::new();
    for (stat, pct) in [("Average", false), ("p99", true)] {
        println!(
            "GetMetricData {q} × {} {stat}, {} repetitions ...",
            grid.buckets, opts.reps
        );
        let one = vec![Bytes::from(get_metric_data_body(
            &qns,
            0..q,
            stat,
            60,
            qstart,
            qend,
            (points > MAX_DATA_POINTS).then_some(points),
        ))];
        let truth = truth.clone();
        let buckets = grid.buckets as usize;
        let check = move |b: &[u8]| check_gmd_answer(b, &truth, 0, buckets, qstart, 60, pct);
        let timed = Repeat {
            reps: opts.reps,
            warmup: true,
            paged: false,
            expected: points as u64,
        };
        queries.push(
            repeat_queries(
                format!(
                    "{q} queries × {} min, {stat}, one call{}",
                    grid.buckets,
                    if points > MAX_DATA_POINTS {
                        format!(" (MaxDatapoints {points})")
                    } else {
                        String::new()
                    }
                ),
                timed,
                spid,
                &one,
                &*send_json,
                &cw.http,
                &check,
            )
            .await,
        );
        if stat == "Average" && opts.paged_reps > 0 {
            println!(
                "GetMetricData {q} × {} {stat} with the default MaxDatapoints (100,800), following \
                 NextToken, {} repetition(s) ...",
                grid.buckets, opts.paged_reps
            );
            let body = Bytes::from(get_metric_data_body(
                &qns,
                0..q,
                stat,
                60,
                qstart,
                qend,
                None,
            ));
            queries.push(
                repeat_queries(
                    "same, default MaxDatapoints, paged (NextToken)".to_string(),
                    Repeat {
                        reps: opts.paged_reps,
                        warmup: false,
                        paged: true,
                        expected: points as u64,
                    },
                    spid,
                    &[body],
                    &*send_json,
                    &cw.http,
                    &check,
                )
                .await,
            );
        }
        if opts.split && points > MAX_DATA_POINTS {
            let per = (MAX_DATA_POINTS / grid.buckets as usize).max(1) as u32;
            let bodies: Vec<Bytes> = (0..q)
                .step_by(per as usize)
                .map(|s| {
                    Bytes::from(get_metric_data_body(
                        &qns,
                        s..(s + per).min(q),
                        stat,
                        60,
                        qstart,
                        qend,
                        None,
                    ))
                })
                .collect();
            queries.push(
                repeat_queries(
                    format!(
                        "same, as {} calls of ≤ {per} queries (≤ 100,800 points each)",
                        bodies.len()
                    ),
                    timed,
                    spid,
                    &bodies,
                    &*send_json,
                    &cw.http,
                    &check,
                )
                .await,
            );
        }
    }

    // ------------------------------------------------------------ high resolution
    let hires = if opts.hires_seconds > 0 {
        let hgrid = Grid {
            seed: opts.seed,
            series: 1,
            buckets: opts.hires_seconds,
            start_s: minute_now - i64::from(opts.hires_seconds) - 120,
            step_s: 1,
            values: opts.hires_values,
            first_series: HIRES_SERIES,
        };
        let ns = "Nephoscope/Bench/HighRes";
        println!(
            "high resolution: 1 series × {} seconds × {} values (StorageResolution 1) ...",
            thousands(u64::from(hgrid.buckets)),
            hgrid.values
        );
        let t = Instant::now();
        let batches = put_batches(Protocol::Json, ns, &hgrid, hgrid.datums(), opts.gzip, ncpu);
        let gen = t.elapsed();
        let ingest = ingest(
            format!("hi-res JSON 1.0{}", if opts.gzip { " gz" } else { "" }),
            &cw,
            spid,
            cw_builder(&cw, Protocol::Json),
            batches,
            gen,
            opts.concurrency,
            Duration::from_secs(1),
        )
        .await;
        let per_second = Arc::new(hgrid.truth(0.99, ncpu));
        let per_minute = Arc::new(hgrid.truth_grouped(0.99, 60));
        let hstart = hgrid.start_s;
        let hend = hstart + i64::from(hgrid.buckets);
        let mut hq = Vec::new();
        let mut shapes: Vec<(String, i64, i64, Arc<Vec<Exact>>)> = Vec::new();
        if hgrid.buckets as usize <= MAX_DATA_POINTS {
            shapes.push((
                format!(
                    "Period 1 p99 over all {} s",
                    thousands(u64::from(hgrid.buckets))
                ),
                1,
                hstart,
                per_second.clone(),
            ));
        }
        if hgrid.buckets > HIRES_RETENTION_S {
            let skip = (hgrid.buckets - HIRES_RETENTION_S) as usize;
            shapes.push((
                "Period 1 p99 over the last 3 h".into(),
                1,
                hstart + skip as i64,
                Arc::new(per_second[skip..].to_vec()),
            ));
        }
        shapes.push((
            format!("Period 60 p99 over all {} min", hgrid.buckets / 60),
            60,
            hstart,
            per_minute.clone(),
        ));
        for (label, period, start, truth) in shapes {
            println!("  GetMetricData {label}, {} repetitions ...", opts.reps);
            let body = Bytes::from(get_metric_data_body(
                ns,
                HIRES_SERIES..HIRES_SERIES + 1,
                "p99",
                period,
                start,
                hend,
                None,
            ));
            let buckets = truth.len();
            let check = move |b: &[u8]| {
                check_gmd_answer(b, &truth, HIRES_SERIES, buckets, start, period, true)
            };
            hq.push(
                repeat_queries(
                    label,
                    Repeat {
                        reps: opts.reps,
                        warmup: true,
                        paged: false,
                        expected: buckets as u64,
                    },
                    spid,
                    &[body],
                    &*send_json,
                    &cw.http,
                    &check,
                )
                .await,
            );
        }
        Some(HiRes {
            grid: hgrid,
            ingest,
            queries: hq,
        })
    } else {
        None
    };

    // ------------------------------------------------------------ idle upkeep, stop
    let idle = if opts.idle_seconds > 0 {
        println!(
            "idle: measuring the server's background CPU for {} s ...",
            opts.idle_seconds
        );
        let c0 = cpu_seconds(spid);
        tokio::time::sleep(Duration::from_secs(opts.idle_seconds)).await;
        Some(cpu_seconds(spid) - c0)
    } else {
        None
    };
    let rss_end = rss(spid);
    let main_stop = server.stop();
    if let Some((_, ph)) = ingests.first_mut() {
        ph.stop = Some((main_stop.cpu, main_stop.wall));
    }

    // ------------------------------------------------------------ peers
    let (victoria, moto) = if opts.peers {
        let v = run_victoria(&opts, &grid, q, &truth, &scratch.path).await;
        let m = run_moto(&opts, &grid, &scratch.path).await;
        (Some(v), Some(m))
    } else {
        (None, None)
    };

    // ------------------------------------------------------------ report
    println!();
    println!(
        "== Ingest: PutMetricData, SigV4, {} writers, keep-alive HTTP/1.1, bodies ≤ 1,000,000 B as sent{} ==",
        opts.concurrency,
        if opts.gzip {
            " (gzip level 1, Content-Encoding: gzip, signed over the compressed bytes)"
        } else {
            ""
        }
    );
    println!(
        "\"values\" are entries of the Values arrays (each a data point; Counts are all 1, so \
         values = samples); \"datums\" are MetricData members (API datums)."
    );
    let mut cols: Vec<&IngestPhase> = ingests.iter().map(|(_, p)| p).collect();
    if let Some(h) = &hires {
        cols.push(&h.ingest);
    }
    let vm_ok = victoria.as_ref().and_then(|v| v.as_ref().ok());
    let moto_ok = moto.as_ref().and_then(|m| m.as_ref().ok());
    if let Some(v) = vm_ok {
        cols.push(&v.ingest);
    }
    if let Some(m) = moto_ok {
        cols.push(&m.ingest);
    }
    print_ingest_table(&cols);
    if let Some(Err(e)) = &victoria {
        println!("VictoriaMetrics peer failed: {e}");
    }
    if let Some(Err(e)) = &moto {
        println!("moto_server peer failed: {e}");
    }
    if let Some(v) = vm_ok {
        println!(
            "VictoriaMetrics: {} `{}`; /api/v1/import JSON lines of the same grid (one line per \
             series and 20 minutes, a minute's values at distinct milliseconds; ~1 MB bodies before \
             compression); its \"datums\" column counts lines",
            v.version, v.cmd
        );
        println!("  stopped: {}", v.stopped);
    }
    if let Some(m) = moto_ok {
        println!(
            "moto_server: {} `{}`; the first {} JSON 1.0 batches of the grid, uncompressed \
             (≤ 1,000,000 B each)",
            m.version, m.cmd, opts.moto_batches
        );
        println!("  stopped: {}", m.stopped);
    }

    println!();
    println!(
        "== GetMetricData (JSON 1.0): {q} MetricStat queries × {} one-minute points over the {} \
         namespace, {} timed repetitions after one warm-up ==",
        grid.buckets,
        qproto.name(),
        opts.reps
    );
    println!(
        "\"one call\" sets MaxDatapoints to the shape's points when they exceed AWS's default \
         100,800; \"paged\" keeps the default and follows NextToken (no warm-up); \"calls\" is \
         requests per repetition"
    );
    print_query_table(&queries, "nephoscope");
    if let Some(v) = vm_ok {
        println!(
            "VictoriaMetrics /api/v1/query_range, step 60, 127.0.0.1, -search.disableCache: the \
             same {} series × {} points ({} series returned per query)",
            q,
            grid.buckets,
            v.series_returned
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" / ")
        );
        print_query_table(&v.queries, "victoria-metrics");
    }

    if let Some(h) = &hires {
        println!();
        println!(
            "== High resolution: one series, {} s of StorageResolution 1 data ({} values per \
             second), GetMetricData p99 (JSON 1.0) ==",
            thousands(u64::from(h.grid.buckets)),
            h.grid.values
        );
        print_query_table(&h.queries, "nephoscope");
    }

    println!();
    println!("== Server ==");
    if let Some((r, hwm)) = rss_end {
        println!(
            "nephoscope ({}) RSS before stop: {} (peak {})",
            qproto.name(),
            mib(r),
            mib(hwm)
        );
    }
    if let Some(c) = idle {
        println!(
            "idle background CPU over {} s with that state (upkeep ticks: checkpoints, the \
             once-a-minute rollup): {c:.2} CPU-s",
            opts.idle_seconds
        );
    }
    for st in stopped.iter().chain(std::iter::once(&main_stop)) {
        println!(
            "{}: SIGTERM → exit {:.2} s, {:.2} CPU-s for the final checkpoint; {}; data dir {} \
             allocated; stderr: {} error lines, {} warning lines",
            st.name,
            st.wall.as_secs_f64(),
            st.cpu,
            st.exit,
            mib(st.disk),
            st.errors,
            st.warnings
        );
        for p in &st.problems {
            println!("  {p}");
        }
    }

    // ------------------------------------------------------------ summary
    println!();
    println!("== Summary against the issue's targets (figures, not assertions) ==");
    let vm_rate = vm_ok.map(|v| v.ingest.per_cpu(v.ingest.stats.values_acked, true));
    let moto_rate = moto_ok.map(|m| m.ingest.per_cpu(m.ingest.stats.values_acked, false));
    println!(
        "  ingest, values (data points) per server CPU-s — target ≥ 1,000,000, ≥ VictoriaMetrics, \
         ≥ 25× moto:"
    );
    for (p, ph) in &ingests {
        let during = ph.per_cpu(ph.stats.values_acked, false);
        let all = ph.per_cpu(ph.stats.values_acked, true);
        println!(
            "    {:<12} {:>12} during the requests, {:>12} incl. background until idle ({} API \
             datums/s per CPU-s){}{}",
            p.name(),
            thousands(during as u64),
            thousands(all as u64),
            thousands(ph.per_cpu(ph.stats.datums_acked, true) as u64),
            vm_rate
                .map(|v| format!("; {:.2}× VictoriaMetrics", all / v.max(1e-9)))
                .unwrap_or_default(),
            moto_rate
                .map(|m| format!("; {:.0}× moto", all / m.max(1e-9)))
                .unwrap_or_default()
        );
    }
    if let Some(v) = vm_rate {
        println!(
            "    VictoriaMetrics {} samples per CPU-s (import + background until idle)",
            thousands(v as u64)
        );
    }
    if let Some(m) = moto_rate {
        println!("    moto_server {} values per CPU-s", thousands(m as u64));
    }
    for qr in &queries {
        println!(
            "  GetMetricData {} — target p50 ≤ 100 ms, p99 ≤ 250 ms: p50 {} p99 {}{}",
            qr.label,
            ms(quantile(&qr.latencies, 0.5)),
            ms(quantile(&qr.latencies, 0.99)),
            if qr.failures.is_empty() {
                String::new()
            } else {
                format!(" — {} FAILURES", qr.failures.len())
            }
        );
    }
    if let Some(v) = vm_ok {
        for qr in &v.queries {
            println!(
                "    VictoriaMetrics {}: p50 {} p99 {}",
                qr.label,
                ms(quantile(&qr.latencies, 0.5)),
                ms(quantile(&qr.latencies, 0.99))
            );
        }
    }
    let mut pct = ErrorStats::default();
    for qr in queries.iter().filter(|q| q.label.contains("p99")) {
        pct.merge(&qr.errors);
    }
    if let Some(h) = &hires {
        for qr in &h.queries {
            pct.merge(&qr.errors);
        }
    }
    println!(
        "  p99 relative error against exact values (target ≤ 1 %): max {} mean {} over {} points \
         ({} over 1 %); against the interpolated p99: max {} mean {}",
        pctf(pct.max),
        pctf(pct.mean()),
        thousands(pct.points),
        pct.over_1pct,
        pctf(pct.max_interp),
        pctf(pct.mean_interp())
    );
    if opts.keep {
        println!("kept: {}", scratch.path.display());
    }
    Ok(())
}

async fn run_victoria(
    opts: &Opts,
    grid: &Grid,
    q: u32,
    truth: &Arc<Vec<Exact>>,
    scratch: &Path,
) -> Result<Victoria, String> {
    let bin = std::env::var("VICTORIA_METRICS").unwrap_or_else(|_| "victoria-metrics".into());
    // Debian's build prints an empty -version: ask dpkg then.
    let version = first_line(&bin, &["-version"])
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            first_line("dpkg-query", &["-W", "-f=${Version}", "victoria-metrics"])
                .map(|v| format!("victoria-metrics {v} (Debian package)"))
        })
        .unwrap_or_else(|| "version ?".into());
    let dir = scratch.join("victoria");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    println!("peer: starting {bin} ...");
    let (mut vm, port) = start_victoria(
        &bin,
        &dir,
        &scratch.join("victoria.log"),
        &["-search.disableCache", "-loggerLevel=WARN"],
    )?;
    let pid = vm.pid();
    let http = CwClient::new(port);
    let ready = wait_ready(&http, "/health", Duration::from_secs(60)).await?;
    let cmd = cmdline(pid);
    println!("victoria-metrics pid {pid} on 127.0.0.1:{port}, ready after {ready:.2?}");
    let t = Instant::now();
    let batches = victoria_batches(grid, 20, 1_000_000, q, opts.gzip, threads());
    let gen = t.elapsed();
    let build: RequestFor = {
        let http = http.clone();
        Arc::new(move |b: &Batch| {
            http.plain_post("/api/v1/import", "application/json", b.body.clone(), b.gzip)
        })
    };
    let ingest = ingest(
        format!("VictoriaMetrics{}", if opts.gzip { " gz" } else { "" }),
        &http,
        pid,
        build,
        batches,
        gen,
        opts.concurrency,
        Duration::from_secs(5),
    )
    .await;
    let send: Box<dyn Fn(Bytes) -> hyper::Request<http_body_util::Full<Bytes>> + Sync> = {
        let http = http.clone();
        Box::new(move |b: Bytes| {
            http.plain_post(
                "/api/v1/query_range",
                "application/x-www-form-urlencoded",
                b,
                false,
            )
        })
    };
    let mut queries = Vec::new();
    let mut series_returned = Vec::new();
    let buckets = grid.buckets as usize;
    let start = grid.start_s;
    for (expr, label, pct) in [
        (
            "avg_over_time(bench_latency{qset=\"1\"}[60s])".to_string(),
            "avg_over_time(…[60s])",
            false,
        ),
        (
            "quantile_over_time(0.99, bench_latency{qset=\"1\"}[60s])".to_string(),
            "quantile_over_time(0.99, …[60s])",
            true,
        ),
    ] {
        println!("  query_range {expr}, {} repetitions ...", opts.reps);
        let body = victoria_query_body(&expr, start, grid.buckets);
        let returned = std::sync::Mutex::new(0usize);
        let truth = truth.clone();
        let check = |b: &[u8]| {
            check_victoria_answer(b, &truth, buckets, start, pct).map(|(e, n)| {
                *returned.lock().unwrap_or_else(|p| p.into_inner()) = n;
                e
            })
        };
        queries.push(
            repeat_queries(
                format!("{q} series × {} min, {label}", grid.buckets),
                Repeat {
                    reps: opts.reps,
                    warmup: true,
                    paged: false,
                    expected: truth.len() as u64,
                },
                pid,
                &[body],
                &*send,
                &http.http,
                &check,
            )
            .await,
        );
        series_returned.push(*returned.lock().unwrap_or_else(|p| p.into_inner()));
    }
    let (wall, _, status) = vm.terminate(Duration::from_secs(60));
    Ok(Victoria {
        version,
        cmd,
        ingest,
        queries,
        series_returned,
        stopped: format!("{:.2} s after SIGTERM, {status}", wall.as_secs_f64()),
    })
}

async fn run_moto(opts: &Opts, grid: &Grid, scratch: &Path) -> Result<Moto, String> {
    let bin = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
    let version = Command::new("python3")
        .args(["-c", "import moto; print(moto.__version__)"])
        .output()
        .ok()
        .map(|o| format!("moto {}", String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_else(|| "moto ?".into());
    println!("peer: starting {bin} ...");
    let (mut moto, port) = procfs::start_moto(&bin, &scratch.join("moto.log"))?;
    let pid = moto.pid();
    let http = CwClient::new(port);
    let ready = wait_ready(&http, "/moto-api/", Duration::from_secs(60)).await?;
    let cmd = cmdline(pid);
    println!("moto_server pid {pid} on 127.0.0.1:{port}, ready after {ready:.2?}");
    let t = Instant::now();
    let datums = grid.datums().min(opts.moto_batches * 1000);
    let mut batches = put_batches(
        Protocol::Json,
        &namespace(Protocol::Json),
        grid,
        datums,
        false,
        threads(),
    );
    batches.truncate(opts.moto_batches);
    let gen = t.elapsed();
    let ingest = ingest(
        "moto_server JSON 1.0".into(),
        &http,
        pid,
        cw_builder(&http, Protocol::Json),
        batches,
        gen,
        opts.concurrency,
        Duration::from_secs(1),
    )
    .await;
    let (wall, _, status) = moto.terminate(Duration::from_secs(30));
    Ok(Moto {
        version,
        cmd,
        ingest,
        stopped: format!("{:.2} s after SIGTERM, {status}", wall.as_secs_f64()),
    })
}

// ------------------------------------------------------------------ formatting

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
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

fn ms(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.1} ms", d.as_secs_f64() * 1e3))
        .unwrap_or_else(|| "-".into())
}

fn pctf(x: f64) -> String {
    format!("{:.3} %", x * 100.0)
}

fn print_ingest_table(cols: &[&IngestPhase]) {
    let w = 22;
    let row = |label: &str, f: &dyn Fn(&IngestPhase) -> String| {
        let mut line = format!("  {label:<44}");
        for c in cols {
            line.push_str(&format!(" {:>w$}", f(c)));
        }
        println!("{line}");
    };
    row("", &|p| p.label.clone());
    row("requests of prepared (failed)", &|p| {
        format!(
            "{} of {} ({})",
            p.stats.requests, p.batches, p.stats.failed_requests
        )
    });
    row("datums per request (min..max)", &|p| {
        format!("{}..{}", p.datums_per_call.0, p.datums_per_call.1)
    });
    row("bytes sent / before compression (MB)", &|p| {
        format!(
            "{:.1} / {:.1}",
            p.stats.bytes_sent as f64 / 1e6,
            p.stats.raw_bytes_acked as f64 / 1e6
        )
    });
    row("values acknowledged", &|p| thousands(p.stats.values_acked));
    row("datums acknowledged", &|p| thousands(p.stats.datums_acked));
    row("wall time", &|p| {
        format!("{:.2} s", p.stats.wall.as_secs_f64())
    });
    row("values/s (wall)", &|p| {
        thousands((p.stats.values_acked as f64 / p.stats.wall.as_secs_f64().max(1e-9)) as u64)
    });
    row("server CPU-s during the requests", &|p| {
        format!("{:.2}", p.server_cpu)
    });
    row("values/s per server CPU-s", &|p| {
        thousands(p.per_cpu(p.stats.values_acked, false) as u64)
    });
    row("datums/s per server CPU-s", &|p| {
        thousands(p.per_cpu(p.stats.datums_acked, false) as u64)
    });
    row("+ background CPU-s until idle (waited)", &|p| {
        format!("{:.2} ({:.0} s)", p.settle_cpu, p.settle_wall.as_secs_f64())
    });
    row("values/s per server CPU-s incl. that", &|p| {
        thousands(p.per_cpu(p.stats.values_acked, true) as u64)
    });
    row("ack latency p50 / p99", &|p| {
        format!(
            "{} / {}",
            ms(p.stats.latency(0.5)),
            ms(p.stats.latency(0.99))
        )
    });
    row("ack latency max", &|p| ms(p.stats.latency(1.0)));
    row("load generator CPU-s (signing, sending)", &|p| {
        format!("{:.2}", p.client_cpu)
    });
    row("encoding before the clock", &|p| {
        format!("{:.1} s", p.gen_time.as_secs_f64())
    });
    row("final checkpoint at SIGTERM: CPU-s (wall)", &|p| {
        p.stop
            .map(|(c, w)| format!("{c:.2} ({:.1} s)", w.as_secs_f64()))
            .unwrap_or_else(|| "-".into())
    });
    row("server RSS after (peak)", &|p| {
        p.rss
            .map(|(r, h)| {
                format!(
                    "{:.0} ({:.0}) MiB",
                    r as f64 / 1048576.0,
                    h as f64 / 1048576.0
                )
            })
            .unwrap_or_else(|| "-".into())
    });
    row("1-min load before → after", &|p| p.load.clone());
    for p in cols {
        for f in &p.stats.failures {
            println!(
                "  {} FAILURE: {}",
                p.label,
                f.chars().take(400).collect::<String>()
            );
        }
    }
}

fn print_query_table(runs: &[QueryRun], server: &str) {
    println!("  ({server}: latency from sending to the last byte of the answer; CPU-s of the server process per repetition)");
    println!(
        "  {:<66} {:>5} {:>9} {:>9} {:>9} {:>11} {:>9} {:>10} {:>10} {:>10}",
        "query",
        "calls",
        "p50",
        "p99",
        "max",
        "CPU-s/rep",
        "answer MB",
        "points",
        "max err",
        "mean err"
    );
    for r in runs {
        println!(
            "  {:<66} {:>5} {:>9} {:>9} {:>9} {:>11.3} {:>9.1} {:>10} {:>10} {:>10}",
            r.label,
            r.calls_per_rep,
            ms(quantile(&r.latencies, 0.5)),
            ms(quantile(&r.latencies, 0.99)),
            ms(quantile(&r.latencies, 1.0)),
            r.cpu_per_rep(),
            r.answer_bytes as f64 / 1e6,
            format!("{}/{}", r.errors.points, r.errors.expected),
            pctf(r.errors.max),
            pctf(r.errors.mean())
        );
        if r.errors.unexpected > 0 {
            println!(
                "    {} unexpected points in the answer",
                r.errors.unexpected
            );
        }
        if r.label.contains("p99") || r.label.contains("quantile") {
            println!(
                "    against the interpolated p99: max {} mean {}; {} points over 1 % off the rank-rule value",
                pctf(r.errors.max_interp),
                pctf(r.errors.mean_interp()),
                r.errors.over_1pct
            );
        }
        for f in r.failures.iter().take(3) {
            println!("    FAILURE: {}", f.chars().take(400).collect::<String>());
        }
    }
}
