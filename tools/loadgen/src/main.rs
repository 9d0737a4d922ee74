//! Load generator for the ingest benchmark (`scripts/bench-ingest.sh`).
//!
//! `run` drives a server with N concurrent senders of realistic, signed callback traffic for a
//! fixed time (after a warm-up), then reports throughput, latency, CPU and memory, and checks the
//! database; `bare` is the ceiling to compare against: actix-web reading the body and answering
//! 202; `report` prints the table of the runs collected in a results file. Loopback only.

mod bare;
mod probe;
mod report;
mod sender;
mod verify;
mod wire;

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use crate::report::{percentile_ms, ComparedRun, RunResult, ServerMetrics};
use crate::sender::{Endpoint, SenderConfig, SenderOutcome, Shared, Target};
use calltrail_http1::Connection;
use calltrail_traffic::Mix;

#[derive(Parser)]
#[command(name = "calltrail-loadgen", about = "Ingest benchmark load generator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve POST /api/callbacks with a handler that reads the body and answers 202.
    Bare {
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        #[arg(long, default_value_t = 8099)]
        port: u16,
        /// HTTP worker threads; 0 = one per core, like calltrail's default.
        #[arg(long, default_value_t = 0)]
        workers: usize,
    },
    /// Send callback traffic and measure.
    Run(Box<RunArgs>),
    /// Print the table and the goal's ratios from a results file.
    Report { results: PathBuf },
    /// Print a comparison's runs and each variant's summary from its runs file (group results
    /// tagged with `variant` and `round`, as `scripts/bench-compare.sh` writes them); fails when a
    /// run's exactly-once check did not pass.
    Compare { runs: PathBuf },
}

#[derive(clap::Args)]
struct RunArgs {
    /// e.g. http://127.0.0.1:8080/api/callbacks (loopback only); several (repeated or
    /// comma-separated): instances sharing one database, the senders spread across them and each
    /// re-send sent to another one.
    #[arg(long = "url", required = true, value_delimiter = ',')]
    urls: Vec<String>,
    /// Name of this run in the results (the report compares `group`, `per-request`, `bare`).
    #[arg(long)]
    label: String,
    #[arg(long, default_value_t = 64)]
    senders: u16,
    #[arg(long, default_value_t = 3.0)]
    warmup_secs: f64,
    #[arg(long, default_value_t = 20.0)]
    duration_secs: f64,
    /// Also end the window once this many events were acknowledged in it.
    #[arg(long)]
    max_events: Option<u64>,
    /// Share of deliveries sent a second time, as a retrying sender does.
    #[arg(long, default_value_t = 2.0)]
    duplicate_percent: f64,
    /// Calls each sender keeps open at once, sending their POSTs in turn: more spreads each
    /// call's POSTs over more time, as real calls are (1: each call's POSTs back to back).
    #[arg(long, default_value_t = 1)]
    open_calls: usize,
    /// Share of calls per wire format.
    #[arg(long, default_value = "b=60,a2=20,a1=20")]
    mix: Mix,
    /// Standard Webhooks secret (whsec_…) to sign with; unsigned when absent.
    #[arg(long, env = "CALLTRAIL_BENCH_SECRET", hide_env_values = true)]
    secret: Option<String>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 30.0)]
    request_timeout_secs: f64,
    /// Runtime threads of the generator.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// The server process: its CPU time and peak RSS are reported; several (repeated or
    /// comma-separated): their sums.
    #[arg(long = "server-pid", value_delimiter = ',')]
    server_pids: Vec<u32>,
    /// The PostgreSQL postmaster: CPU time of it and all its children is reported.
    #[arg(long)]
    postgres_pid: Option<u32>,
    /// Check afterwards that every acknowledged event is in this database, once.
    #[arg(long)]
    database_url: Option<String>,
    /// Rows up to this `event_seq` were there before the run (a pre-filled database): the check
    /// reads only the rows after it.
    #[arg(long, default_value_t = 0)]
    check_after_seq: i64,
    /// The server's /metrics, read after the run (batch size, commit time, projection lag), with
    /// the bearer token in CALLTRAIL_BENCH_METRICS_TOKEN if set.
    #[arg(long)]
    metrics_url: Option<String>,
    /// Also write that /metrics text, as read, to this file (its histograms: commit time, batch
    /// size, request duration by bucket).
    #[arg(long)]
    metrics_out: Option<PathBuf>,
    /// Append the result as a JSON line to this file.
    #[arg(long)]
    results: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Bare {
            host,
            port,
            workers,
        } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .thread_name("bare")
                .enable_all()
                .build()?;
            runtime.block_on(bare::serve(&host, port, workers))?;
        }
        Command::Run(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(args.threads.max(1))
                .thread_name("loadgen")
                .enable_all()
                .build()?;
            let result = runtime.block_on(run(&args))?;
            println!("{}", report::line(&result));
            if let Some(check) = &result.check {
                println!(
                    "check: {} distinct events acknowledged, {} rows, {} missing, {} stored twice, {} stored without an answer",
                    check.acknowledged, check.rows, check.missing, check.doubled, check.unacknowledged
                );
            }
            for failure in &result.failures {
                eprintln!("  failure: {failure}");
            }
            if let Some(path) = &args.results {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening {}", path.display()))?;
                writeln!(file, "{}", serde_json::to_string(&result)?)?;
            }
            if result.check.as_ref().is_some_and(|c| !c.ok) {
                bail!("the database check failed");
            }
            if result.ok_requests == 0 {
                bail!("no request succeeded");
            }
        }
        Command::Report { results } => {
            let runs: Vec<RunResult> = read_json_lines(&results)?;
            print!("{}", report::table(&runs));
            println!();
            print!("{}", report::goals(&runs));
        }
        Command::Compare { runs } => {
            let runs: Vec<ComparedRun> = read_json_lines(&runs)?;
            print!("{}", report::comparison(&runs));
            let failed = runs.iter().filter(|r| !r.checked_ok()).count();
            if failed > 0 {
                bail!("{failed} run(s) did not pass the exactly-once check");
            }
        }
    }
    Ok(())
}

/// A file of JSON lines (blank lines skipped), one value each.
fn read_json_lines<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<Vec<T>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .with_context(|| format!("a line of {} is not a run", path.display()))
}

struct Snapshot {
    at: Instant,
    server: Option<f64>,
    postgres: Option<f64>,
    own: Option<f64>,
    machine: Option<f64>,
    steal: Option<f64>,
}

fn snapshot(args: &RunArgs) -> Snapshot {
    let machine = probe::machine_busy_and_steal_seconds();
    Snapshot {
        at: Instant::now(),
        server: sum(&args.server_pids, probe::cpu_seconds),
        postgres: args.postgres_pid.and_then(probe::tree_cpu_seconds),
        own: probe::self_cpu_seconds(),
        machine: machine.map(|m| m.0),
        steal: machine.map(|m| m.1),
    }
}

/// `read` summed over the servers: `None` without any, or when one cannot be read.
fn sum(pids: &[u32], read: impl Fn(u32) -> Option<f64>) -> Option<f64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|&pid| read(pid)).sum()
}

fn is_loopback(target: &Target) -> bool {
    let host = target
        .authority
        .rsplit_once(':')
        .map_or(target.authority.as_str(), |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn run(args: &RunArgs) -> anyhow::Result<RunResult> {
    let signer = args
        .secret
        .as_deref()
        .map(wire::Signer::new)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let mut endpoints = Vec::new();
    for url in &args.urls {
        let target = Target::parse(url).map_err(anyhow::Error::msg)?;
        if !is_loopback(&target) {
            bail!("{url}: the benchmark only sends to this machine (loopback)");
        }
        let writer = wire::RequestWriter::new(&target.path, &target.authority, signer.clone());
        endpoints.push(Endpoint { target, writer });
    }
    let config = Arc::new(SenderConfig {
        endpoints,
        mix: args.mix,
        seed: args.seed,
        duplicate_percent: args.duplicate_percent,
        request_timeout: Duration::from_secs_f64(args.request_timeout_secs),
        open_calls: args.open_calls,
    });
    let mut wal = match &args.database_url {
        Some(url) => Some(
            verify::WalPosition::connect(url)
                .await
                .map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    let shared = Arc::new(Shared::default());
    let tasks: Vec<_> = (0..args.senders)
        .map(|i| tokio::spawn(sender::run(i, config.clone(), shared.clone())))
        .collect();

    tokio::time::sleep(Duration::from_secs_f64(args.warmup_secs)).await;
    let start = snapshot(args);
    let wal_start = match wal.as_mut() {
        Some(w) => Some(w.bytes().await.map_err(anyhow::Error::msg)?),
        None => None,
    };
    shared.measuring.store(true, Relaxed);
    let deadline = start.at + Duration::from_secs_f64(args.duration_secs);
    while Instant::now() < deadline {
        if args
            .max_events
            .is_some_and(|max| shared.window.ok_events.load(Relaxed) >= max)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shared.measuring.store(false, Relaxed);
    let end = snapshot(args);
    let wal_end = match wal.as_mut() {
        Some(w) => Some(w.bytes().await.map_err(anyhow::Error::msg)?),
        None => None,
    };
    shared.stop.store(true, Relaxed);

    let mut outcomes: Vec<SenderOutcome> = Vec::with_capacity(tasks.len());
    for task in tasks {
        outcomes.push(task.await?);
    }
    let peak_rss = sum(&args.server_pids, |pid| {
        probe::peak_rss_bytes(pid).map(|bytes| bytes as f64)
    });
    let window = end.at.duration_since(start.at).as_secs_f64();
    let percent = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => Some((b - a) * 100.0 / window),
        _ => None,
    };

    let mut ok_latency: Vec<u32> = outcomes
        .iter()
        .flat_map(|o| o.ok_latency_us.iter().copied())
        .collect();
    ok_latency.sort_unstable();
    let mut rejected: Vec<u32> = outcomes
        .iter()
        .flat_map(|o| o.rejected_latency_us.iter().copied())
        .collect();
    rejected.sort_unstable();
    let mut event_bytes: Vec<u32> = outcomes
        .iter()
        .flat_map(|o| o.event_bytes.iter().copied())
        .collect();
    event_bytes.sort_unstable();
    let w = &shared.window;
    let ok_requests = w.ok_requests.load(Relaxed);
    let ok_events = w.ok_events.load(Relaxed);
    let wal_bytes = match (wal_start, wal_end) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64),
        _ => None,
    };

    let metrics = match &args.metrics_url {
        Some(url) => Some(fetch_metrics(url).await.and_then(|t| {
            if let Some(path) = &args.metrics_out {
                std::fs::write(path, &t).map_err(|e| format!("writing {}: {e}", path.display()))?;
            }
            Ok(ServerMetrics::from_text(&t))
        })),
        None => None,
    };
    let mut failures: Vec<String> = outcomes
        .iter()
        .flat_map(|o| o.failures.iter().cloned())
        .take(5)
        .collect();
    let metrics = match metrics {
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            failures.push(format!("reading /metrics: {e}"));
            None
        }
        None => None,
    };
    let check = match &args.database_url {
        Some(url) => {
            let acked: HashSet<u64> = outcomes
                .iter()
                .flat_map(|o| o.acked.iter().copied())
                .collect();
            let stored: u64 = outcomes.iter().map(|o| o.stored).sum();
            Some(
                verify::check(url, args.check_after_seq, &acked, stored)
                    .await
                    .map_err(anyhow::Error::msg)?,
            )
        }
        None => None,
    };

    Ok(RunResult {
        label: args.label.clone(),
        senders: usize::from(args.senders),
        open_calls: args.open_calls,
        window_seconds: window,
        ok_requests,
        ok_events,
        events_per_second: ok_events as f64 / window,
        requests_per_second: ok_requests as f64 / window,
        events_per_request: if ok_requests > 0 {
            ok_events as f64 / ok_requests as f64
        } else {
            0.0
        },
        median_event_bytes: event_bytes.get(event_bytes.len() / 2).copied().unwrap_or(0),
        p50_ms: percentile_ms(&ok_latency, 50.0),
        p95_ms: percentile_ms(&ok_latency, 95.0),
        p99_ms: percentile_ms(&ok_latency, 99.0),
        max_ms: percentile_ms(&ok_latency, 100.0),
        overloaded: w.overloaded.load(Relaxed),
        rejected_p50_ms: percentile_ms(&rejected, 50.0),
        rejected_p99_ms: percentile_ms(&rejected, 99.0),
        unavailable: w.unavailable.load(Relaxed),
        other_status: w.other_status.load(Relaxed),
        io_errors: w.io_errors.load(Relaxed),
        resent: outcomes.iter().map(|o| o.resent).sum(),
        duplicates_answered: outcomes.iter().map(|o| o.duplicates).sum(),
        server_cpu_percent: percent(start.server, end.server),
        postgres_cpu_percent: percent(start.postgres, end.postgres),
        loadgen_cpu_percent: percent(start.own, end.own),
        machine_cpu_percent: percent(start.machine, end.machine),
        steal_percent: percent(start.steal, end.steal),
        wal_mb_per_second: wal_bytes.map(|b| b / window / 1e6),
        wal_bytes_per_event: wal_bytes
            .filter(|_| ok_events > 0)
            .map(|b| b / ok_events as f64),
        server_peak_rss_mb: peak_rss.map(|b| b / (1024.0 * 1024.0)),
        metrics,
        check,
        failures,
    })
}

/// The bearer token sent with the `/metrics` request, when set.
const METRICS_TOKEN_VAR: &str = "CALLTRAIL_BENCH_METRICS_TOKEN";

/// How long a sender keeps trying to connect while the server is starting.
pub(crate) const STARTUP_PATIENCE: Duration = Duration::from_secs(15);

async fn fetch_metrics(url: &str) -> Result<String, String> {
    let target = Target::parse(url)?;
    let mut conn = Connection::open_patiently(&target.address(), STARTUP_PATIENCE).await?;
    // calltrail wants a scraper's token unless metrics.require_token is off; from the environment,
    // like the signing secret, so that it is not on the command line.
    let authorization = std::env::var(METRICS_TOKEN_VAR)
        .map(|token| format!("authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET {} HTTP/1.1\r\nhost: {}\r\n{authorization}\r\n",
        target.path, target.authority
    );
    let status = conn.exchange(request.as_bytes()).await?;
    if !(200..300).contains(&status) {
        return Err(format!("{url} answered {status}"));
    }
    Ok(String::from_utf8_lossy(conn.body()).into_owned())
}
