//! Reporting-query benchmark driver: issues each main `/api/v1` query many times, one at a time, over
//! HTTP against a running calltrail and prints the latency percentiles. `scripts/bench-queries.sh`
//! sets everything up (database, synthetic data, service) and runs it; see BENCHMARKS.md.
//!
//! Environment: CALLTRAIL_BENCH_URL (default http://127.0.0.1:8080), CALLTRAIL_BENCH_TOKEN (an API
//! token), CALLTRAIL_BENCH_CALLS (calls in the data set, default 100000), CALLTRAIL_BENCH_ITERATIONS
//! (per query, default 300; the summary runs a tenth as often).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

struct Bench {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Bench {
    /// One request, timed until the whole body has arrived.
    async fn get(&self, path: &str) -> (Duration, Value) {
        let started = Instant::now();
        let response = self
            .client
            .get(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        let body = response.bytes().await.expect("body");
        let elapsed = started.elapsed();
        assert!(status.is_success(), "GET {path}: {status} {body:?}");
        (elapsed, serde_json::from_slice(&body).expect("JSON"))
    }
}

/// xorshift64*: reproducible choices without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

fn time_param(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo test --all-targets` runs benches without `--bench`: nothing to measure then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let bench = Bench {
        client: reqwest::Client::new(),
        base: env("CALLTRAIL_BENCH_URL", "http://127.0.0.1:8080"),
        token: std::env::var("CALLTRAIL_BENCH_TOKEN").expect("CALLTRAIL_BENCH_TOKEN"),
    };
    let calls: u64 = env("CALLTRAIL_BENCH_CALLS", "100000")
        .parse()
        .expect("a count");
    let iterations: usize = env("CALLTRAIL_BENCH_ITERATIONS", "300")
        .parse()
        .expect("a count");

    let first = bench.get("/api/v1/calls?limit=1").await.1;
    let last = bench.get("/api/v1/calls?limit=1&order=desc").await.1;
    let time_of = |page: &Value| -> DateTime<Utc> {
        page["items"][0]["first_event_at"]
            .as_str()
            .expect("a call")
            .parse()
            .expect("RFC 3339")
    };
    let (start, end) = (time_of(&first), time_of(&last));
    let span = (end - start).num_seconds().max(1) as u64;

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut cursors: [Option<String>; 2] = [None, None];
    type Make<'a> = Box<dyn FnMut(&mut Rng, &[Option<String>; 2]) -> String + 'a>;
    let random_time =
        move |rng: &mut Rng| start + chrono::TimeDelta::seconds(rng.below(span) as i64);
    let queries: Vec<(&str, usize, Option<usize>, Make<'_>)> = vec![
        (
            "call participant history",
            iterations,
            None,
            Box::new(|rng, _| {
                format!("/api/v1/calls/bench-call-{}/participants", rng.below(calls))
            }),
        ),
        (
            "call timeline",
            iterations,
            None,
            Box::new(|rng, _| format!("/api/v1/calls/bench-call-{}/events", rng.below(calls))),
        ),
        (
            "audit-log page, no filter (following cursors)",
            iterations,
            Some(0),
            Box::new(|_, c| match &c[0] {
                Some(cursor) => format!("/api/v1/events?limit=50&cursor={cursor}"),
                None => "/api/v1/events?limit=50".to_owned(),
            }),
        ),
        (
            "audit-log page, from a random time",
            iterations,
            None,
            Box::new(move |rng, _| {
                format!(
                    "/api/v1/events?limit=50&from={}",
                    time_param(random_time(rng))
                )
            }),
        ),
        (
            "audit-log page, type=PlayFailed (following cursors)",
            iterations,
            Some(1),
            Box::new(|_, c| {
                match &c[1] {
                Some(cursor) => format!("/api/v1/events?limit=50&type=Microsoft.Communication.PlayFailed&cursor={cursor}"),
                None => "/api/v1/events?limit=50&type=Microsoft.Communication.PlayFailed".to_owned(),
            }
            }),
        ),
        (
            "audit-log page, correlation_id",
            iterations,
            None,
            Box::new(|rng, _| {
                format!(
                    "/api/v1/events?limit=50&correlation_id=corr-bench-call-{}",
                    rng.below(calls)
                )
            }),
        ),
        (
            "audit-log page, json_path over one hour",
            iterations / 3,
            None,
            Box::new(move |rng, _| {
                let from = random_time(rng);
                format!(
                    "/api/v1/events?limit=50&json_path=data.resultInformation.subCode&json_value=8536&from={}&to={}",
                    time_param(from),
                    time_param(from + chrono::TimeDelta::hours(1))
                )
            }),
        ),
        (
            "calls list page, from a random time",
            iterations,
            None,
            Box::new(move |rng, _| {
                format!(
                    "/api/v1/calls?limit=50&from={}",
                    time_param(random_time(rng))
                )
            }),
        ),
        (
            "calls list page, outcome=failed",
            iterations,
            None,
            Box::new(move |rng, _| {
                format!(
                    "/api/v1/calls?limit=50&outcome=failed&from={}",
                    time_param(random_time(rng))
                )
            }),
        ),
        (
            "participant's calls",
            iterations,
            None,
            Box::new(|rng, _| {
                format!(
                    "/api/v1/participants/4%3A%2B1425{:07}/calls",
                    rng.below(20_000)
                )
            }),
        ),
        (
            "30-day summary, bucket=day",
            (iterations / 10).max(10),
            None,
            Box::new(move |_, _| {
                format!(
                    "/api/v1/reports/summary?from={}&to={}&bucket=day",
                    time_param(end - chrono::TimeDelta::days(30)),
                    time_param(end)
                )
            }),
        ),
    ];

    println!("| query | requests | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    for (name, n, chain, mut make) in queries {
        let warmup = (n / 10).max(3);
        let mut times = Vec::with_capacity(n);
        for i in 0..warmup + n {
            let path = make(&mut rng, &cursors);
            let (elapsed, body) = bench.get(&path).await;
            if let Some(slot) = chain {
                cursors[slot] = body["next_cursor"].as_str().map(str::to_owned);
            }
            if i >= warmup {
                times.push(elapsed);
            }
        }
        times.sort();
        println!(
            "| {name} | {n} | {:.2} | {:.2} | {:.2} |",
            percentile(&times, 0.50),
            percentile(&times, 0.99),
            times.last().expect("measured").as_secs_f64() * 1000.0
        );
    }
}
