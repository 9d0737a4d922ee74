//! `calltrail emulator campaign`: the wildfire alert. N outbound calls placed at R per second, each
//! simulated by the emulator's core (ring, connect, participant snapshot, the alert played, "press 1
//! to confirm", hang up; callees mixed by a scenario), their callbacks rendered in the chosen format,
//! signed with the chosen scheme and POSTed to one receiver over a pool of keep-alive connections,
//! as fast as that receiver takes them.
//!
//! `plan` (what to run) → `driver` (the simulation and the application, one task) → `sender` (the
//! connection pool: signing, retries) over `http` (a minimal HTTP/1.1 client); `stats` counts and
//! reports; `sink` is a receiver that accepts everything, to measure the campaign alone.

mod driver;
pub mod plan;
mod sender;
pub mod sink;
pub mod stats;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;

use crate::emulator::campaign::driver::Driver;
use crate::emulator::campaign::plan::{Behaviour, Plan};
use crate::emulator::campaign::sender::{Pool, Shared, Target};
use crate::emulator::campaign::stats::{Counters, Summary};
use crate::emulator::config::CallbackAuth;
use crate::emulator::delivery::sign::JwtSigner;

/// A campaign that cannot start; the message names the option.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(String);

/// Runs the campaign to its end: every call ended, every callback delivered or dropped.
pub async fn run(
    plan: Plan,
    jwt: Arc<JwtSigner>,
    webhook_secret: &str,
) -> Result<Summary, PlanError> {
    let target = target(&plan, jwt, webhook_secret)?;
    let counters = Arc::new(Counters::default());
    let shared = Arc::new(Shared {
        target,
        counters: counters.clone(),
        first_failure: Mutex::new(None),
    });
    let pool = Pool::start(&shared, plan.connections);
    let cpu_before = stats::process_cpu();
    let started = Instant::now();
    let samples = Arc::new(Mutex::new(Vec::new()));
    let progress = tokio::spawn(progress(
        counters.clone(),
        plan.calls,
        plan.progress,
        samples.clone(),
    ));
    let mut driver = Driver::new(&plan, &pool.queues, counters.clone());
    driver.run().await;
    let tally = std::mem::take(&mut driver.tally);
    let placing = tally.placing;
    drop(driver);
    // Retries may still be owed; their tasks hold the queues open until they have sent.
    while counters.outstanding() > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let latencies = pool.finish().await;
    progress.abort();
    let cpu = (stats::process_cpu().saturating_sub(cpu_before)).as_secs_f64();
    let delivered = Counters::get(&counters.delivered);
    let placed = Counters::get(&counters.placed);
    let first_failure = shared
        .first_failure
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let samples = samples.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(Summary {
        calls: placed,
        seconds,
        calls_per_second: placed as f64 / placing.as_secs_f64().max(1.0 / plan.rate),
        callbacks_delivered: delivered,
        callbacks_per_second: delivered as f64 / seconds,
        steady_callbacks_per_second: steady_rate(&samples, &plan, placing)
            .unwrap_or(delivered as f64 / seconds),
        latency_p50_ms: latencies.quantile_ms(0.5),
        latency_p99_ms: latencies.quantile_ms(0.99),
        latency_max_ms: latencies.max_ms(),
        retries: Counters::get(&counters.retries),
        failed: Counters::get(&counters.failed),
        first_failure,
        behaviours: Behaviour::ALL
            .iter()
            .map(|b| {
                (
                    b.name().to_owned(),
                    tally.behaviours.get(b).copied().unwrap_or(0),
                )
            })
            .collect(),
        connected: tally.connected,
        confirmed: tally.confirmed,
        peak_open_calls: Counters::get(&counters.peak_open),
        cpu_seconds: cpu,
        cpu_us_per_callback: if delivered > 0 {
            cpu * 1e6 / delivered as f64
        } else {
            0.0
        },
        peak_rss_mb: stats::peak_rss_mb(),
        format: format!("{:?}", plan.format).to_lowercase(),
        auth: serde_json::to_value(plan.auth)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    })
}

/// Checks the plan and works out where and how callbacks go.
fn target(plan: &Plan, jwt: Arc<JwtSigner>, webhook_secret: &str) -> Result<Target, PlanError> {
    let fail = |m: String| Err(PlanError(m));
    if plan.calls == 0 {
        return fail("--calls: must be at least 1".into());
    }
    if !(plan.rate > 0.0 && plan.rate.is_finite()) {
        return fail("--rate: must be a positive number of calls per second".into());
    }
    if plan.connections == 0 {
        return fail("--connections: must be at least 1".into());
    }
    if !(plan.speed > 0.0 && plan.speed.is_finite()) {
        return fail("--speed: must be a positive number".into());
    }
    if plan.max_attempts == 0 {
        return fail("emulator.delivery.max_attempts: must be at least 1".into());
    }
    plan.scenario
        .check()
        .map_err(|e| PlanError(format!("--scenario: {e}")))?;
    let url = url::Url::parse(&plan.callback)
        .map_err(|e| PlanError(format!("--callback: not a URL: {e}")))?;
    if url.scheme() != "http" {
        return fail(format!(
            "--callback: the campaign speaks plain HTTP/1.1 to the receiver (http://host:port/path); {} is not supported",
            url.scheme()
        ));
    }
    let Some(host) = url.host_str() else {
        return fail("--callback: the URL has no host".into());
    };
    let port = url.port_or_known_default().unwrap_or(80);
    let mut path = url.path().to_owned();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    let webhook_key = match plan.auth {
        CallbackAuth::WebhookSignature => webhook_secret
            .strip_prefix("whsec_")
            .and_then(|k| base64::engine::general_purpose::STANDARD.decode(k).ok())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                PlanError("emulator.webhook_secret: must be whsec_ and base64".into())
            })?,
        _ => Vec::new(),
    };
    Ok(Target {
        authority: format!("{host}:{port}"),
        path,
        auth: plan.auth,
        jwt,
        webhook_key,
        run_id: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
        max_attempts: plan.max_attempts,
        retry_initial: plan.retry_initial,
        retry_max: plan.retry_max,
        timeout: plan.timeout,
    })
}

/// One sample a second: seconds since the start, callbacks delivered, calls placed.
type Sample = (f64, u64, u64);

/// Samples the counters every second and, when asked, prints a progress line to stderr.
async fn progress(
    counters: Arc<Counters>,
    calls: u64,
    print: bool,
    samples: Arc<Mutex<Vec<Sample>>>,
) {
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    let (mut last_delivered, mut last_placed) = (0, 0);
    loop {
        ticker.tick().await;
        let t = started.elapsed().as_secs_f64();
        let delivered = Counters::get(&counters.delivered);
        let placed = Counters::get(&counters.placed);
        samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((t, delivered, placed));
        if print {
            eprintln!(
                "campaign {t:>4.0}s: placed {placed}/{calls} ({}/s), open {}, callbacks {delivered} delivered ({}/s), {} retries, {} failed",
                placed - last_placed,
                Counters::get(&counters.open),
                delivered - last_delivered,
                Counters::get(&counters.retries),
                Counters::get(&counters.failed),
            );
        }
        (last_delivered, last_placed) = (delivered, placed);
    }
}

/// The delivery rate once calls are ending as fast as they start: from one whole call's length
/// after the start to the last placement. `None` when that window is under two seconds.
fn steady_rate(samples: &[Sample], plan: &Plan, placing: Duration) -> Option<f64> {
    let s = &plan.scenario;
    let answered = s.ring_seconds + s.message_seconds + s.prompt_seconds + s.silence_seconds;
    let call = answered.max(s.no_answer_seconds) / plan.speed;
    let end = placing.as_secs_f64();
    let window: Vec<&Sample> = samples
        .iter()
        .filter(|(t, _, _)| *t >= call && *t <= end)
        .collect();
    let (first, last) = (window.first()?, window.last()?);
    let seconds = last.0 - first.0;
    (seconds >= 2.0).then(|| (last.1 - first.1) as f64 / seconds)
}
