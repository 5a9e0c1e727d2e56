//! `logs-load`: CloudWatch Logs ingest, visibility, storage and filter-scan benchmark against the
//! real `nephoscope` binary over HTTP + SigV4 on 127.0.0.1, with `moto_server` as the optional
//! same-run peer.
//!
//! ```text
//! cargo build --release -p nephoscope-server -p nephoscope-bench
//! cargo run --release -p nephoscope-bench --bin logs-load -- \
//!     [--events N] [--concurrency C] [--scan-gb X] [--peer-moto] [--peer-events N]
//!     [--seed S] [--scan-reps R] [--keep]
//! ```
//!
//! The server binary is `$NEPHOSCOPE_BIN` or `target/release/nephoscope`; moto is `$MOTO_SERVER`
//! or `moto_server` on the PATH. Every figure is printed, none asserted. See
//! `docs/dev/benchmarks.md` for what each row means.

use nephoscope_bench::apigw::{user_name, ApiGwGenerator};
use nephoscope_bench::aws::{now_ms, AwsClient};
use nephoscope_bench::logs::{
    create_group, filter_scan, next_batch, pregenerated, run_writers, visibility_probe, Batch,
    IngestStats, Probe, MAX_BATCH_EVENTS,
};
use nephoscope_bench::procfs::{
    self, cmdline, cpu_seconds, disk_usage, loadavg, loadavg1, rss, self_cpu, ScratchDir, Spawned,
};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SPAN_MS: i64 = 3_600_000;
/// The rare term of the term-pattern scan: one user of 20,000 (≈ 3 events in 100,000).
const TERM_USER: u32 = 4242;
const JSON_PATTERN: &str = "{ $.status = 503 }";
/// `rg` equivalent of the JSON pattern (compact JSON, fixed key order).
const JSON_LITERAL: &str = "\"status\":503,";
const APPROX_EVENT_BYTES: f64 = 377.0;

#[derive(Debug, Clone)]
struct Opts {
    events: u64,
    concurrency: usize,
    scan_gb: f64,
    peer_moto: bool,
    peer_events: u64,
    seed: u64,
    scan_reps: u32,
    keep: bool,
    /// Run the server with `logs.field_columns = true`.
    field_columns: bool,
}

const USAGE: &str = "usage: logs-load [--events N] [--concurrency C] [--scan-gb X] [--peer-moto] \
[--peer-events N] [--seed S] [--scan-reps R] [--keep] [--field-columns]";

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        events: 500_000,
        concurrency: 4,
        scan_gb: 0.2,
        peer_moto: false,
        peer_events: 200_000,
        seed: 42,
        scan_reps: 2,
        keep: false,
        field_columns: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let value = || {
            args.get(i + 1)
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let bad = |e: &dyn std::fmt::Display| format!("{flag}: {e}");
        match flag {
            "--peer-moto" => o.peer_moto = true,
            "--keep" => o.keep = true,
            "--field-columns" => o.field_columns = true,
            "-h" | "--help" => return Err(String::new()),
            _ => {
                let v = value()?;
                match flag {
                    "--events" => o.events = v.parse().map_err(|e| bad(&e))?,
                    "--concurrency" => o.concurrency = v.parse().map_err(|e| bad(&e))?,
                    "--scan-gb" => o.scan_gb = v.parse().map_err(|e| bad(&e))?,
                    "--peer-events" => o.peer_events = v.parse().map_err(|e| bad(&e))?,
                    "--seed" => o.seed = v.parse().map_err(|e| bad(&e))?,
                    "--scan-reps" => o.scan_reps = v.parse().map_err(|e| bad(&e))?,
                    _ => return Err(format!("unknown option {flag}")),
                }
                i += 1;
            }
        }
        i += 1;
    }
    if o.concurrency == 0 || o.concurrency > 256 {
        return Err("--concurrency must be 1..=256".into());
    }
    if !(0.0..=64.0).contains(&o.scan_gb) {
        return Err("--scan-gb must be 0..=64".into());
    }
    o.scan_reps = o.scan_reps.clamp(1, 10);
    Ok(o)
}

#[tokio::main]
async fn main() -> ExitCode {
    let opts = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("logs-load: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(opts).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("logs-load: {e}");
            ExitCode::FAILURE
        }
    }
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

/// One ingest run against one server.
#[derive(Default)]
struct IngestPhase {
    stats: IngestStats,
    batches: usize,
    /// Events in the smallest batch but the last, and in the largest.
    batch_events: (usize, usize),
    gen_time: Duration,
    server_cpu: f64,
    client_cpu: f64,
    settle_cpu: f64,
    settle_wall: Duration,
    probes_loaded: Vec<Probe>,
    probes_idle: Vec<Probe>,
    probe_errors: Vec<String>,
    rss: Option<(u64, u64)>,
    load_before: String,
    load_after: String,
}

impl IngestPhase {
    fn mb(&self) -> f64 {
        self.stats.raw_bytes_acked as f64 / 1e6
    }
}

/// Waits until the server has been idle (≤ 1 clock tick in 0.5 s) after at least `min_wait`;
/// gives up at `max_wait`. Returns the wait and the server CPU seconds used meanwhile.
async fn settle(pid: u32, min_wait: Duration, max_wait: Duration) -> (Duration, f64) {
    let started = Instant::now();
    let first = cpu_seconds(pid);
    let mut last = first;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let c = cpu_seconds(pid);
        let delta = c - last;
        last = c;
        let waited = started.elapsed();
        if (waited >= min_wait && delta <= 0.011) || waited >= max_wait {
            return (waited, last - first);
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn ingest_phase(
    client: &AwsClient,
    pid: u32,
    group: &str,
    events: u64,
    concurrency: usize,
    seed: u64,
    settle_min: Option<Duration>,
    idle_probes: usize,
) -> Result<IngestPhase, String> {
    let mut ph = IngestPhase::default();
    let streams: Vec<String> = (0..concurrency).map(|i| format!("writer-{i:03}")).collect();
    let probe_stream = "visibility-probe".to_string();
    let mut all = streams.clone();
    all.push(probe_stream.clone());
    create_group(client, group, &all).await?;

    // Everything is generated and encoded before the clock starts.
    let t = Instant::now();
    let mut it = ApiGwGenerator::new(seed, events, now_ms(), SPAN_MS).peekable();
    let mut batches: Vec<Batch> = Vec::new();
    while let Some(b) = next_batch(&mut it, MAX_BATCH_EVENTS, |_| {}) {
        batches.push(b);
    }
    ph.gen_time = t.elapsed();
    ph.batches = batches.len();
    let full = &batches[..batches.len().saturating_sub(1).max(1).min(batches.len())];
    ph.batch_events = (
        full.iter().map(|b| b.events).min().unwrap_or(0),
        full.iter().map(|b| b.events).max().unwrap_or(0),
    );
    let source = pregenerated(batches);

    ph.load_before = loadavg1();
    let cpu0 = cpu_seconds(pid);
    let self0 = self_cpu().own;
    // Visibility under load: one probe at a time while the writers run.
    let done = Arc::new(AtomicBool::new(false));
    let prober = {
        let (client, group, done) = (client.clone(), group.to_string(), done.clone());
        let stream = probe_stream.clone();
        tokio::spawn(async move {
            let mut probes = Vec::new();
            let mut errors = Vec::new();
            tokio::time::sleep(Duration::from_millis(200)).await;
            while !done.load(Ordering::Relaxed) && probes.len() < 10_000 {
                match visibility_probe(&client, &group, &stream, Duration::from_secs(30)).await {
                    Ok(p) => probes.push(p),
                    Err(e) => {
                        errors.push(e);
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            (probes, errors)
        })
    };
    ph.stats = run_writers(client, group, &streams, source).await;
    ph.server_cpu = cpu_seconds(pid) - cpu0;
    ph.client_cpu = self_cpu().own - self0;
    ph.load_after = loadavg1();
    done.store(true, Ordering::Relaxed);
    match prober.await {
        Ok((p, e)) => {
            ph.probes_loaded = p;
            ph.probe_errors = e;
        }
        Err(e) => ph.probe_errors.push(format!("prober task: {e}")),
    }
    if let Some(min) = settle_min {
        let (w, c) = settle(pid, min, Duration::from_secs(90)).await;
        ph.settle_wall = w;
        ph.settle_cpu = c;
    }
    for _ in 0..idle_probes {
        match visibility_probe(client, group, &probe_stream, Duration::from_secs(30)).await {
            Ok(p) => ph.probes_idle.push(p),
            Err(e) => {
                ph.probe_errors.push(e);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ph.rss = rss(pid);
    Ok(ph)
}

/// What the generator knows about the scan data set.
#[derive(Debug, Default, Clone)]
struct ScanTruth {
    events: u64,
    raw_bytes: u64,
    file_bytes: u64,
    term_matches: u64,
    json_matches: u64,
}

struct QueryRun {
    name: &'static str,
    pattern: String,
    rep: u32,
    result: Result<nephoscope_bench::logs::ScanStats, String>,
    server_cpu: f64,
}

struct RgRun {
    name: &'static str,
    args: Vec<String>,
    count: Option<u64>,
    /// Timed runs averaged (after one warm-up run).
    reps: u32,
    wall: Duration,
    cpu: f64,
}

struct ScanPhase {
    truth: ScanTruth,
    ingest: IngestStats,
    ingest_cpu: f64,
    settle_cpu: f64,
    settle_wall: Duration,
    queries: Vec<QueryRun>,
    rg: Vec<RgRun>,
    rss: Option<(u64, u64)>,
}

async fn scan_phase(
    client: &AwsClient,
    pid: u32,
    opts: &Opts,
    scratch: &Path,
) -> Result<ScanPhase, String> {
    let group = "/bench/apigw-scan";
    let streams: Vec<String> = (0..opts.concurrency)
        .map(|i| format!("writer-{i:03}"))
        .collect();
    create_group(client, group, &streams).await?;
    let target = (opts.scan_gb * 1e9) as u64;
    let est_events = (target as f64 / APPROX_EVENT_BYTES * 1.2) as u64 + 10_000;
    let raw_path = scratch.join("scan.ndjson");
    let term = user_name(TERM_USER);

    // A generator thread feeds the writers through a bounded channel and writes the same raw
    // text (one message per line) for ripgrep.
    let (tx, rx) = tokio::sync::mpsc::channel::<Batch>(2 * opts.concurrency);
    let producer = {
        let (raw_path, term, seed) = (raw_path.clone(), term.clone(), opts.seed + 1);
        std::thread::spawn(move || -> Result<ScanTruth, String> {
            let f = std::fs::File::create(&raw_path).map_err(|e| e.to_string())?;
            let mut w = BufWriter::with_capacity(1 << 20, f);
            let mut truth = ScanTruth::default();
            let mut it = ApiGwGenerator::new(seed, est_events, now_ms(), SPAN_MS).peekable();
            let mut io_err = None;
            while truth.raw_bytes < target {
                let Some(b) = next_batch(&mut it, MAX_BATCH_EVENTS, |e| {
                    truth.events += 1;
                    truth.file_bytes += e.message.len() as u64 + 1;
                    truth.term_matches += u64::from(e.message.contains(term.as_str()));
                    truth.json_matches += u64::from(e.record.status == 503);
                    if let Err(err) = writeln!(w, "{}", e.message) {
                        io_err.get_or_insert(err);
                    }
                }) else {
                    break;
                };
                truth.raw_bytes += b.raw_bytes;
                if tx.blocking_send(b).is_err() {
                    return Err("writers went away".into());
                }
            }
            if let Some(e) = io_err {
                return Err(format!("{}: {e}", raw_path.display()));
            }
            w.flush().map_err(|e| e.to_string())?;
            Ok(truth)
        })
    };
    let source = Arc::new(tokio::sync::Mutex::new(rx));
    let cpu0 = cpu_seconds(pid);
    let ingest = run_writers(client, group, &streams, source).await;
    let ingest_cpu = cpu_seconds(pid) - cpu0;
    let truth = producer
        .join()
        .map_err(|_| "generator thread panicked".to_string())??;
    let (settle_wall, settle_cpu) =
        settle(pid, Duration::from_secs(11), Duration::from_secs(120)).await;

    let mut queries = Vec::new();
    let patterns: [(&'static str, String); 2] = [
        ("term (rare user)", format!("\"{term}\"")),
        ("JSON status = 503", JSON_PATTERN.to_string()),
    ];
    for rep in 1..=opts.scan_reps {
        for (name, pattern) in &patterns {
            let c0 = cpu_seconds(pid);
            let result =
                filter_scan(client, group, pattern, 1_000_000, Duration::from_secs(900)).await;
            queries.push(QueryRun {
                name,
                pattern: pattern.clone(),
                rep,
                result,
                server_cpu: cpu_seconds(pid) - c0,
            });
        }
    }
    let rss = rss(pid);

    let mut rg = Vec::new();
    if tool_version("rg", "--version").is_some() {
        let file = raw_path.display().to_string();
        for (name, lit) in [
            ("term (rare user)", term.as_str()),
            ("JSON status = 503", JSON_LITERAL),
        ] {
            // One warm-up run, then repeated runs until ≥ 1 s of wall time (CPU time comes in
            // 10 ms clock ticks), averaged.
            let args = vec!["-c".to_string(), "-F".into(), lit.to_string(), file.clone()];
            let (mut reps, mut wall, mut cpu, mut count) = (0u32, Duration::ZERO, 0.0, None);
            for i in 0..31 {
                let c0 = self_cpu().children;
                let t = Instant::now();
                let out = Command::new("rg")
                    .args(&args)
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|e| format!("rg: {e}"))?;
                let w = t.elapsed();
                let c = self_cpu().children - c0;
                let n: Option<u64> = String::from_utf8_lossy(&out.stdout).trim().parse().ok();
                count = n.or((out.status.code() == Some(1)).then_some(0));
                if i > 0 {
                    reps += 1;
                    wall += w;
                    cpu += c;
                    if wall >= Duration::from_secs(1) {
                        break;
                    }
                }
            }
            rg.push(RgRun {
                name,
                args,
                count,
                reps,
                wall: wall / reps.max(1),
                cpu: cpu / f64::from(reps.max(1)),
            });
        }
    }
    Ok(ScanPhase {
        truth,
        ingest,
        ingest_cpu,
        settle_cpu,
        settle_wall,
        queries,
        rg,
        rss,
    })
}

async fn wait_ready(
    client: &AwsClient,
    deadline: Duration,
    moto: bool,
) -> Result<Duration, String> {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < deadline {
        let r = if moto {
            client.logs("DescribeLogGroups", "{}").await
        } else {
            client.get("/_nephoscope/health").await
        };
        match r {
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

async fn run(opts: Opts) -> Result<(), String> {
    let ncpu = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!("== nephoscope logs-load ==");
    println!(
        "args: {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    println!(
        "config: events={} concurrency={} scan-gb={} peer-moto={} peer-events={} seed={} scan-reps={}",
        opts.events,
        opts.concurrency,
        opts.scan_gb,
        opts.peer_moto,
        opts.peer_events,
        opts.seed,
        opts.scan_reps
    );
    println!(
        "host: {ncpu} CPUs, load average {} (CPU-seconds are the primary figures; wall-clock \
         rates share the CPUs with this load generator)",
        loadavg()
    );
    let bin = nephoscope_bench::procfs::server_bin();
    println!("server: {}", bin.display());

    let mut scratch = ScratchDir::new("nephoscope-bench").map_err(|e| e.to_string())?;
    scratch.keep = opts.keep;
    let data_dir = scratch.path.join("data");
    std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
    let log = scratch.path.join("nephoscope.stderr.log");
    println!(
        "scratch: {}{}",
        scratch.path.display(),
        if opts.keep { " (kept)" } else { "" }
    );

    // `--field-columns`: the server keeps discovered fields as columns (`logs.field_columns`).
    let config = data_dir.with_extension("toml");
    procfs::field_columns_config(&config, opts.field_columns)?;
    let (mut server, port) = procfs::start_nephoscope_with(&bin, &data_dir, Some(&config), &log)?;
    let spid = server.pid();
    let client = AwsClient::new(port);
    let ready = wait_ready(&client, Duration::from_secs(30), false).await?;
    println!("nephoscope pid {spid} on 127.0.0.1:{port}, healthy after {ready:.2?}");

    println!(
        "ingest: generating {} events (seed {}) and timing PutLogEvents ...",
        opts.events, opts.seed
    );
    let neph = ingest_phase(
        &client,
        spid,
        "/bench/apigw-ingest",
        opts.events,
        opts.concurrency,
        opts.seed,
        Some(Duration::from_secs(11)),
        5,
    )
    .await?;

    let scan = if opts.scan_gb > 0.0 {
        println!(
            "scan: ingesting {} GB of raw messages (seed {}), then FilterLogEvents ...",
            opts.scan_gb,
            opts.seed + 1
        );
        Some(scan_phase(&client, spid, &opts, &scratch.path).await?)
    } else {
        None
    };

    let alive = matches!(server.child.try_wait(), Ok(None));
    let cpu_before_stop = cpu_seconds(spid);
    let rss_end = rss(spid);
    let (stop_wall, final_cpu, exit) = if alive {
        server.terminate(Duration::from_secs(300))
    } else {
        (Duration::ZERO, None, "had already exited".into())
    };
    let (du_alloc, du_apparent, du_dirs) = disk_usage(&data_dir);
    let (n_err, n_warn, problems) = stderr_problems(&log);

    let moto = if opts.peer_moto {
        Some(run_moto(&opts, &scratch.path).await)
    } else {
        None
    };

    // ---------------------------------------------------------------- report
    let batch_note = format!(
        "PutLogEvents batches: the largest that fit AWS's 1,048,576-byte limit (message bytes + 26 \
         per event): {}..{} events, mean {:.0} B per event (10,000 such events would be ~4 MB, \
         over the limit, so the issue's 10,000-event batches cannot be sent).",
        neph.batch_events.0,
        neph.batch_events.1,
        neph.stats.raw_bytes_acked as f64 / neph.stats.events_acked.max(1) as f64
    );
    println!();
    println!(
        "== Ingest: PutLogEvents, SigV4, {} writers, one stream each, keep-alive HTTP/1.1 ==",
        opts.concurrency
    );
    println!("{batch_note}");
    let moto_ok = moto.as_ref().and_then(|m| m.as_ref().ok());
    if let Some(Err(e)) = &moto {
        println!("moto_server peer failed: {e}");
    }
    print_ingest_table(&neph, moto_ok.map(|m| &m.phase));
    if let Some(m) = moto_ok {
        println!(
            "moto_server: {} ({}), pid {} `{}`; same batches and writers, {} events{}",
            m.version,
            m.bin,
            m.pid,
            m.cmdline,
            opts.peer_events,
            if opts.peer_events < opts.events {
                " (fewer than nephoscope's: moto keeps everything in memory and is slow)"
            } else {
                ""
            }
        );
        if let Some(r) = &m.stopped {
            println!("moto_server stopped: {r}");
        }
    }

    if let Some(s) = &scan {
        print_scan(s);
    }

    println!();
    println!("== Storage (nephoscope) ==");
    let probes = neph.probes_loaded.len() + neph.probes_idle.len();
    let stored_events = neph.stats.events_acked
        + scan.as_ref().map(|s| s.ingest.events_acked).unwrap_or(0)
        + probes as u64;
    let stored_raw =
        neph.stats.raw_bytes_acked + scan.as_ref().map(|s| s.ingest.raw_bytes_acked).unwrap_or(0);
    println!(
        "graceful stop (SIGTERM → exit): {:.2} s wall, {} server CPU-s for the final flush + \
         checkpoint; {exit}",
        stop_wall.as_secs_f64(),
        final_cpu
            .map(|c| format!("{:.2}", c - cpu_before_stop))
            .unwrap_or_else(|| "?".into())
    );
    if let Some((r, h)) = rss_end {
        println!("server RSS before stop: {} (peak {})", mib(r), mib(h));
    }
    println!(
        "data dir after stop: {} allocated (du), {} apparent, for {} events ({} MB raw) → \
         {:.1} B/event allocated, {:.1} B/event apparent; raw/disk = {:.2}×",
        mib(du_alloc),
        mib(du_apparent),
        thousands(stored_events),
        f1(stored_raw as f64 / 1e6),
        du_alloc as f64 / stored_events.max(1) as f64,
        du_apparent as f64 / stored_events.max(1) as f64,
        stored_raw as f64 / du_alloc.max(1) as f64
    );
    for d in &du_dirs {
        println!(
            "  {:<40} {:>12} allocated {:>12} apparent {:>6} files",
            d.dir,
            mib(d.allocated),
            mib(d.apparent),
            d.files
        );
    }
    println!(
        "server stderr: {n_err} error lines, {n_warn} warning lines{}",
        if problems.is_empty() { "" } else { "; first:" }
    );
    for p in problems {
        println!("  {p}");
    }

    println!();
    println!("== Summary against the issue's targets (figures, not assertions) ==");
    let per_core = neph.mb() / neph.server_cpu.max(1e-9);
    let with_flush = neph.mb() / (neph.server_cpu + neph.settle_cpu).max(1e-9);
    let peer = moto_ok
        .map(|m| {
            let x = m.phase.mb() / m.phase.server_cpu.max(1e-9);
            format!(
                "; moto_server {} MB/s per CPU-s → {:.1}×",
                f1(x),
                per_core / x
            )
        })
        .unwrap_or_default();
    println!(
        "  ingest (target ≥ 100 MB/s per core, stretch 200): {} MB/s per server CPU-s during the \
         requests, {} including the background flush{peer}",
        f1(per_core),
        f1(with_flush)
    );
    println!(
        "  p99 acknowledgement latency: {} ({} writers, ~1 MiB batches)",
        ms(neph.stats.latency_quantile(0.99)),
        opts.concurrency
    );
    println!(
        "  storage (target ≤ 60 B/event incl. indexes): {:.1} B/event after graceful stop",
        du_alloc as f64 / stored_events.max(1) as f64
    );
    let all_probes: Vec<&Probe> = neph.probes_loaded.iter().chain(&neph.probes_idle).collect();
    let invisible = all_probes
        .iter()
        .filter(|p| p.visible_after.is_none())
        .count();
    let worst = all_probes.iter().filter_map(|p| p.visible_after).max();
    println!(
        "  visibility (target < 1 s): worst {} over {} probes{}",
        ms(worst),
        probes,
        if invisible > 0 {
            format!(", {invisible} NOT visible within 30 s")
        } else {
            String::new()
        }
    );
    if let Some(s) = &scan {
        let gb = s.truth.raw_bytes as f64 / 1e9;
        println!(
            "  FilterLogEvents over {gb:.2} GB raw (target ≥ 2 GB/s per core for term patterns), \
             GB/s per server CPU-s:"
        );
        for q in &s.queries {
            let expected = if q.name.starts_with("term") {
                s.truth.term_matches
            } else {
                s.truth.json_matches
            };
            match &q.result {
                Ok(r) => println!(
                    "    {:<20} rep {}: {:>6.2}, {} matches{}",
                    q.name,
                    q.rep,
                    gb / q.server_cpu.max(1e-9),
                    r.matches,
                    if r.matches == expected {
                        " (as expected)"
                    } else {
                        " (WRONG COUNT)"
                    }
                ),
                Err(e) => println!("    {:<20} rep {}: FAILED: {e}", q.name, q.rep),
            }
        }
        for r in &s.rg {
            println!(
                "    {:<20} rg -c -F: {:>6.2}",
                r.name,
                s.truth.file_bytes as f64 / 1e9 / r.cpu.max(1e-9)
            );
        }
    }
    if opts.keep {
        println!("kept: {}", scratch.path.display());
    }
    Ok(())
}

struct MotoRun {
    phase: IngestPhase,
    version: String,
    bin: String,
    pid: u32,
    cmdline: String,
    stopped: Option<String>,
}

async fn run_moto(opts: &Opts, scratch: &Path) -> Result<MotoRun, String> {
    let bin = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
    let version = Command::new("python3")
        .args(["-c", "import moto; print(moto.__version__)"])
        .output()
        .ok()
        .map(|o| format!("moto {}", String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_else(|| "moto ?".into());
    let log = scratch.join("moto.log");
    println!("peer: starting {bin} ...");
    let (mut moto, port): (Spawned, u16) = procfs::start_moto(&bin, &log)?;
    let pid = moto.pid();
    let client = AwsClient::new(port);
    let ready = wait_ready(&client, Duration::from_secs(60), true).await?;
    let cmdline = cmdline(pid);
    println!("moto_server pid {pid} on 127.0.0.1:{port}, ready after {ready:.2?} ({cmdline})");
    let phase = ingest_phase(
        &client,
        pid,
        "/bench/apigw-ingest",
        opts.peer_events,
        opts.concurrency,
        opts.seed,
        None,
        5,
    )
    .await;
    let (wall, _, status) = moto.terminate(Duration::from_secs(30));
    Ok(MotoRun {
        phase: phase?,
        version,
        bin,
        pid,
        cmdline,
        stopped: Some(format!(
            "{:.2} s after SIGTERM, {status}",
            wall.as_secs_f64()
        )),
    })
}

// ------------------------------------------------------------------ formatting

fn f1(x: f64) -> String {
    format!("{x:.1}")
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
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

fn ms(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.1} ms", d.as_secs_f64() * 1e3))
        .unwrap_or_else(|| "-".into())
}

fn probe_summary(p: &[Probe]) -> String {
    if p.is_empty() {
        return "-".into();
    }
    let mut v: Vec<Duration> = p.iter().filter_map(|p| p.visible_after).collect();
    let missing = p.len() - v.len();
    if v.is_empty() {
        return format!("{} probes, none visible within 30 s", p.len());
    }
    v.sort();
    format!(
        "n={} p50 {} max {}{}",
        p.len(),
        ms(Some(v[v.len() / 2])),
        ms(v.last().copied()),
        if missing > 0 {
            format!(", {missing} NOT visible in 30 s")
        } else {
            String::new()
        }
    )
}

fn row(label: &str, a: String, b: Option<String>) {
    match b {
        Some(b) => println!("  {label:<52} {a:>28} {b:>28}"),
        None => println!("  {label:<52} {a:>28}"),
    }
}

fn print_ingest_table(n: &IngestPhase, m: Option<&IngestPhase>) {
    let both = |f: &dyn Fn(&IngestPhase) -> String| (f(n), m.map(f));
    let r = |label: &str, f: &dyn Fn(&IngestPhase) -> String| {
        let (a, b) = both(f);
        row(label, a, b);
    };
    row(
        "",
        "nephoscope".into(),
        m.map(|_| "moto_server".to_string()),
    );
    r("events acknowledged", &|p| thousands(p.stats.events_acked));
    r("raw log bytes acknowledged", &|p| {
        format!("{} MB", f1(p.mb()))
    });
    r("requests (batches)", &|p| {
        format!("{} ({} prepared)", p.stats.requests, p.batches)
    });
    r("failed requests / rejected events", &|p| {
        format!("{} / {}", p.stats.failed_requests, p.stats.events_rejected)
    });
    r("wall time", &|p| {
        format!("{:.2} s", p.stats.wall.as_secs_f64())
    });
    r("events/s (wall)", &|p| {
        thousands((p.stats.events_acked as f64 / p.stats.wall.as_secs_f64().max(1e-9)) as u64)
    });
    r("raw MB/s (wall)", &|p| {
        f1(p.mb() / p.stats.wall.as_secs_f64().max(1e-9))
    });
    r("server CPU-s during the requests", &|p| {
        format!("{:.2}", p.server_cpu)
    });
    r("raw MB/s per server core (CPU-s)", &|p| {
        f1(p.mb() / p.server_cpu.max(1e-9))
    });
    r("events/s per server core (CPU-s)", &|p| {
        thousands((p.stats.events_acked as f64 / p.server_cpu.max(1e-9)) as u64)
    });
    r("+ background flush after the last ack (CPU-s)", &|p| {
        if p.settle_wall.is_zero() {
            "-".into()
        } else {
            format!(
                "{:.2} (waited {:.1} s)",
                p.settle_cpu,
                p.settle_wall.as_secs_f64()
            )
        }
    });
    r("raw MB/s per server core incl. that flush", &|p| {
        f1(p.mb() / (p.server_cpu + p.settle_cpu).max(1e-9))
    });
    r("ack latency p50 / p99 / max (n requests)", &|p| {
        format!(
            "{} / {} / {} ({})",
            ms(p.stats.latency_quantile(0.5)),
            ms(p.stats.latency_quantile(0.99)),
            ms(p.stats.latency_quantile(1.0)),
            p.stats.latencies.len()
        )
    });
    r("visible in FilterLogEvents after ack, under load", &|p| {
        probe_summary(&p.probes_loaded)
    });
    r("visible in FilterLogEvents after ack, idle", &|p| {
        probe_summary(&p.probes_idle)
    });
    r("load generator CPU-s (generation excluded)", &|p| {
        format!("{:.2}", p.client_cpu)
    });
    r("generation + encoding before the clock", &|p| {
        format!("{:.2} s", p.gen_time.as_secs_f64())
    });
    r("server RSS after ingest (peak)", &|p| {
        p.rss
            .map(|(r, h)| format!("{} ({})", mib(r), mib(h)))
            .unwrap_or_else(|| "-".into())
    });
    r("1-min load average before → after", &|p| {
        format!("{} → {}", p.load_before, p.load_after)
    });
    for (name, p) in std::iter::once(("nephoscope", n)).chain(m.map(|m| ("moto_server", m))) {
        for f in p.stats.failures.iter().chain(&p.probe_errors) {
            println!(
                "  {name} FAILURE: {}",
                f.chars().take(400).collect::<String>()
            );
        }
    }
}

fn print_scan(s: &ScanPhase) {
    let t = &s.truth;
    println!();
    println!(
        "== Filter scan: FilterLogEvents over one group, {} events, {} MB raw messages ==",
        thousands(t.events),
        f1(t.raw_bytes as f64 / 1e6)
    );
    println!(
        "ingest of the scan set: {} events acked in {:.1} s ({} MB/s wall), {:.2} server CPU-s \
         ({} MB/s per core), + {:.2} CPU-s background flush and compaction (waited {:.1} s) → {} \
         MB/s per core including it; {} failed requests, {} rejected events",
        thousands(s.ingest.events_acked),
        s.ingest.wall.as_secs_f64(),
        f1(s.ingest.raw_bytes_acked as f64 / 1e6 / s.ingest.wall.as_secs_f64().max(1e-9)),
        s.ingest_cpu,
        f1(s.ingest.raw_bytes_acked as f64 / 1e6 / s.ingest_cpu.max(1e-9)),
        s.settle_cpu,
        s.settle_wall.as_secs_f64(),
        f1(s.ingest.raw_bytes_acked as f64 / 1e6 / (s.ingest_cpu + s.settle_cpu).max(1e-9)),
        s.ingest.failed_requests,
        s.ingest.events_rejected
    );
    for f in &s.ingest.failures {
        println!("  FAILURE: {f}");
    }
    println!(
        "expected matches (counted by the generator): term {} , JSON {}",
        t.term_matches, t.json_matches
    );
    if let Some((r, h)) = s.rss {
        println!("server RSS after the queries: {} (peak {})", mib(r), mib(h));
    }
    println!(
        "rep 1 is the first read of the set since ingest (segments decompressed); later reps may \
         be answered from the server's decoded-segment cache. GB/s are raw message bytes of the \
         whole group divided by the time or by the server's CPU-s."
    );
    println!(
        "  {:<22} {:<24} {:>4} {:>9} {:>6} {:>8} {:>9} {:>11} {:>14} {:>10}",
        "query",
        "pattern",
        "rep",
        "matches",
        "pages",
        "wall s",
        "CPU-s",
        "GB/s wall",
        "GB/s per core",
        "expected?"
    );
    for q in &s.queries {
        let expected = if q.name.starts_with("term") {
            t.term_matches
        } else {
            t.json_matches
        };
        match &q.result {
            Ok(r) => println!(
                "  {:<22} {:<24} {:>4} {:>9} {:>6} {:>8.2} {:>9.2} {:>11.2} {:>14.2} {:>10}",
                q.name,
                q.pattern,
                q.rep,
                r.matches,
                r.pages,
                r.wall.as_secs_f64(),
                q.server_cpu,
                t.raw_bytes as f64 / 1e9 / r.wall.as_secs_f64().max(1e-9),
                t.raw_bytes as f64 / 1e9 / q.server_cpu.max(1e-9),
                if r.matches == expected { "yes" } else { "NO" }
            ),
            Err(e) => println!(
                "  {:<22} {:<24} {:>4} FAILED after {:.2} server CPU-s: {e}",
                q.name, q.pattern, q.rep, q.server_cpu
            ),
        }
    }
    if s.rg.is_empty() {
        println!("  (rg not installed: `apt-get install ripgrep` for the comparison)");
    } else {
        println!(
            "ripgrep ({}) over the same messages as a {} MB text file (one per line, page cache warm):",
            tool_version("rg", "--version").unwrap_or_default(),
            f1(t.file_bytes as f64 / 1e6)
        );
        for r in &s.rg {
            let expected = if r.name.starts_with("term") {
                t.term_matches
            } else {
                t.json_matches
            };
            println!(
                "  {:<22} rg {:<26} count {:>8} mean of {:>2}: wall {:>6.3} s CPU {:>6.3} s → {:>6.2} GB/s per core{}",
                r.name,
                r.args[..3].join(" "),
                r.count.map(|c| c.to_string()).unwrap_or_else(|| "?".into()),
                r.reps,
                r.wall.as_secs_f64(),
                r.cpu,
                t.file_bytes as f64 / 1e9 / r.cpu.max(1e-9),
                if r.count == Some(expected) { "" } else { "  (count differs from the generator's!)" }
            );
        }
    }
}
