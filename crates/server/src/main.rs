//! `nephoscope` — a self-hosted, wire-compatible Amazon CloudWatch.

use clap::{Parser, Subcommand};
use nephoscope_server::app::App;
use nephoscope_server::config::Config;
use nephoscope_server::serve;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// mimalloc instead of the system allocator: queries and requests allocate many small
/// short-lived strings and rows, where glibc's malloc took a quarter of a short query's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "nephoscope",
    version,
    about = "A self-hosted, wire-compatible Amazon CloudWatch"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: every service on one port.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address and port to listen on (default 127.0.0.1:4566). Port 0 picks a free port.
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<String>,
    /// Directory for all persistent state (default ./nephoscope-data).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// TOML configuration file (see docs/configuration.md).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Keep data in a temporary directory removed at exit, and enable POST /_nephoscope/reset.
    #[arg(long)]
    ephemeral: bool,
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => match serve_cmd(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("nephoscope: {e}");
                ExitCode::from(2)
            }
        },
    }
}

fn serve_cmd(args: ServeArgs) -> Result<(), String> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    let unknown_env = config
        .apply_env(std::env::vars())
        .map_err(|e| e.to_string())?;
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let Some(d) = args.data_dir {
        config.data_dir = d;
    }
    config.validate().map_err(|e| e.to_string())?;
    init_logging(&config);
    for name in unknown_env {
        tracing::warn!(variable = %name, "ignoring an environment variable the server does not know");
    }

    // The temporary directory lives until the end of this function: removed at exit.
    let _ephemeral_dir = if args.ephemeral {
        let dir = tempfile::Builder::new()
            .prefix("nephoscope-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary data directory: {e}"))?;
        config.data_dir = dir.path().to_path_buf();
        Some(dir)
    } else {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            format!(
                "cannot create data directory {}: {e}",
                config.data_dir.display()
            )
        })?;
        None
    };

    // Queries are evaluated on the blocking threads: expressions as deep as a 10,000-character
    // query allows (nested arithmetic chains) need more than tokio's 2 MiB there.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(16 << 20)
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let bound = serve::bind(&config).await.map_err(|e| e.to_string())?;
        let clock: nephoscope_clock::SharedClock = Arc::new(nephoscope_clock::SystemClock);
        let mut engines = nephoscope_server::Engines::open_with(
            &config.data_dir,
            clock.clone(),
            config.logs.field_columns,
            config.logs.hot_hours,
        )?;
        engines.live_tail_limit = std::time::Duration::from_secs(config.logs.live_tail_max_seconds);
        engines.query_limits = nephoscope_logs::queries::Limits {
            max_concurrent: config.logs.insights_max_concurrent_queries,
            max_log_groups: config.logs.insights_max_log_groups,
            timeout: std::time::Duration::from_secs(config.logs.insights_timeout_seconds),
            subquery_timeout: std::time::Duration::from_secs(
                config.logs.insights_subquery_timeout_seconds,
            ),
            subquery_max_rows: config.logs.insights_subquery_max_rows,
            join_max_keys: config.logs.insights_join_max_keys,
            start_wait: std::time::Duration::from_millis(config.logs.insights_start_wait_ms),
            max_held_rows: config.logs.insights_max_held_rows,
        };
        engines.ladder = nephoscope_metricstore::Ladder {
            high_res: config.metrics.high_resolution_hours * 3600,
            minute: config.metrics.minute_days * 86_400,
            five_minutes: config.metrics.five_minute_days * 86_400,
            hour: config.metrics.hour_days * 86_400,
        };
        let engines = Arc::new(engines);
        let app = Arc::new(App::new(
            &config,
            &bound.addr,
            clock,
            engines.services()?,
            args.ephemeral,
        ));
        app.metrics.add_source(Box::new(|out| {
            out.push_str(
                "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n",
            );
            out.push_str("# TYPE process_cpu_seconds_total counter\n");
            out.push_str(&format!(
                "process_cpu_seconds_total {:.9}\n",
                process_cpu_seconds()
            ));
        }));
        let logs = engines.logs.clone();
        app.metrics.add_source(Box::new(move |out| {
            let (columns, messages) = logs.blocks_read();
            out.push_str(
                "# HELP nephoscope_log_blocks_read_total Segment blocks read by Logs Insights scans: from their discovered-field columns, or by decompressing their messages.\n",
            );
            out.push_str("# TYPE nephoscope_log_blocks_read_total counter\n");
            out.push_str(&format!(
                "nephoscope_log_blocks_read_total{{from=\"columns\"}} {columns}\n"
            ));
            out.push_str(&format!(
                "nephoscope_log_blocks_read_total{{from=\"messages\"}} {messages}\n"
            ));
        }));
        tokio::spawn(engines.clone().run_upkeep());
        if let Some(agent) = serve::bind_emf_agent(&config).await.map_err(|e| e.to_string())? {
            tracing::info!(addr = %agent.addr, "EMF agent endpoint listening (TCP and UDP)");
            let sink = Arc::new(nephoscope_server::EmfAgent {
                logs: engines.logs.clone(),
                metrics: engines.metrics.clone(),
                account_id: config.emf_agent.account_id.clone(),
                region: config.emf_agent.region.clone(),
                defaults: nephoscope_logs::agent::AgentDefaults {
                    log_group: config.emf_agent.log_group.clone(),
                    log_stream: config.emf_agent.log_stream.clone(),
                },
            });
            tokio::spawn(serve::run_emf_agent(agent, sink));
        }
        let shutdown = serve::shutdown_signal().map_err(|e| format!("cannot install signal handlers: {e}"))?;
        let scheme = if bound.tls.is_some() { "https" } else { "http" };
        println!("nephoscope listening on {scheme}://{}", bound.addr);
        let _ = std::io::stdout().flush();
        tracing::info!(addr = %bound.addr, data_dir = %config.data_dir.display(), ephemeral = args.ephemeral, "serving");
        // On the signal, Live Tail streams end before the drain of open connections.
        let logs = engines.logs.clone();
        let shutdown = async move {
            shutdown.await;
            logs.close_subscriptions();
        };
        serve::run(bound, app, config.limits.max_body_bytes, shutdown).await;
        engines.shutdown().await;
        Ok::<(), String>(())
    })
}

/// CPU time of the whole process (every thread, ended ones included), to the nanosecond
/// (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`).
fn process_cpu_seconds() -> f64 {
    cpu_time::ProcessTime::try_now().map_or(0.0, |t| t.as_duration().as_secs_f64())
}
