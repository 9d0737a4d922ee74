//! What a campaign counts while it runs (shared counters, a progress line a second) and what it
//! reports at the end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::emulator::campaign::plan::Behaviour;

/// Counters shared by the driver and the senders; relaxed atomics (each is a tally on its own).
#[derive(Debug, Default)]
pub struct Counters {
    pub placed: AtomicU64,
    pub ended: AtomicU64,
    /// Callbacks handed to the senders (one POST each, whatever its attempts).
    pub queued: AtomicU64,
    /// Callbacks answered 2xx.
    pub delivered: AtomicU64,
    /// Attempts after a first one that had no 2xx answer.
    pub retries: AtomicU64,
    /// Callbacks dropped after their last attempt.
    pub failed: AtomicU64,
    /// Calls open now, and the most open at once.
    pub open: AtomicU64,
    pub peak_open: AtomicU64,
}

impl Counters {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Callbacks neither delivered nor dropped yet.
    pub fn outstanding(&self) -> u64 {
        Self::get(&self.queued) - Self::get(&self.delivered) - Self::get(&self.failed)
    }
}

/// Latencies in microseconds, log-linear buckets (32 per power of two: within about 3 %).
#[derive(Debug, Clone)]
pub struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    max: u64,
}

const SUB: u64 = 32;

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            buckets: vec![0; 64 * SUB as usize],
            count: 0,
            max: 0,
        }
    }
}

impl Histogram {
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket(micros)] += 1;
        self.count += 1;
        self.max = self.max.max(micros);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.count += other.count;
        self.max = self.max.max(other.max);
    }

    /// The `q` quantile in milliseconds (the upper edge of its bucket); 0 when empty.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((self.count as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return upper_edge(i).min(self.max) as f64 / 1000.0;
            }
        }
        self.max as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.max as f64 / 1000.0
    }
}

/// Values below 2·SUB have a bucket each; above, SUB buckets per power of two.
fn bucket(v: u64) -> usize {
    if v < 2 * SUB {
        return v as usize;
    }
    let exp = 63 - u64::from(v.leading_zeros()); // ≥ 6
    let shift = exp - 5;
    let index = 2 * SUB + (exp - 6) * SUB + ((v >> shift) - SUB);
    usize::try_from(index).unwrap_or(usize::MAX)
}

fn upper_edge(i: usize) -> u64 {
    let i = i as u64;
    if i < 2 * SUB {
        return i;
    }
    let exp = (i - 2 * SUB) / SUB + 6;
    let shift = exp - 5;
    let mantissa = (i - 2 * SUB) % SUB + SUB;
    ((mantissa + 1) << shift) - 1
}

/// The end of a campaign, as printed and as `--json` writes it.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub calls: u64,
    pub seconds: f64,
    pub calls_per_second: f64,
    pub callbacks_delivered: u64,
    pub callbacks_per_second: f64,
    /// The rate while calls start and end at the campaign's pace (without the ramps at either
    /// end), when the campaign is long enough to have one.
    pub steady_callbacks_per_second: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
    pub retries: u64,
    pub failed: u64,
    /// What went wrong with the first attempt that had no 2xx answer.
    pub first_failure: Option<String>,
    /// Calls by what their callee did.
    pub behaviours: Vec<(String, u64)>,
    pub connected: u64,
    pub confirmed: u64,
    pub peak_open_calls: u64,
    /// CPU time of this process (user + system) over the campaign, in seconds.
    pub cpu_seconds: f64,
    /// Microseconds of this process's CPU per delivered callback.
    pub cpu_us_per_callback: f64,
    /// Peak resident memory of this process (VmHWM), in MB.
    pub peak_rss_mb: f64,
    pub format: String,
    pub auth: String,
}

impl Summary {
    pub fn behaviour_count(&self, b: Behaviour) -> u64 {
        self.behaviours
            .iter()
            .find(|(name, _)| name == b.name())
            .map_or(0, |(_, n)| *n)
    }

    /// The human-readable report (stdout).
    pub fn text(&self) -> String {
        let mix: Vec<String> = self
            .behaviours
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        format!(
            "campaign: {calls} calls in {secs:.1} s: {cps:.0} calls/s placed\n\
             callbacks: {delivered} delivered ({format}, {auth}): {cbps:.0}/s \
             ({steady:.0}/s steady); latency p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.1} ms; \
             {retries} retries, {failed} failed\n\
             calls: {mix}; {connected} connected, {confirmed} confirmed; \
             at most {open} open at once\n\
             emulator: {cpu:.2} s CPU ({us:.1} µs per callback), peak RSS {rss:.1} MB",
            calls = self.calls,
            secs = self.seconds,
            cps = self.calls_per_second,
            delivered = self.callbacks_delivered,
            format = self.format,
            auth = self.auth,
            cbps = self.callbacks_per_second,
            steady = self.steady_callbacks_per_second,
            p50 = self.latency_p50_ms,
            p99 = self.latency_p99_ms,
            max = self.latency_max_ms,
            retries = self.retries,
            failed = self.failed,
            mix = mix.join(", "),
            connected = self.connected,
            confirmed = self.confirmed,
            open = self.peak_open_calls,
            cpu = self.cpu_seconds,
            us = self.cpu_us_per_callback,
            rss = self.peak_rss_mb,
        ) + &self
            .first_failure
            .as_ref()
            .map(|f| format!("\nfirst failure: {f}"))
            .unwrap_or_default()
    }
}

/// This process's CPU time (user + system) so far, from `/proc/self/stat`; zero where there is
/// no `/proc`.
pub fn process_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are the 14th and 15th fields of the line: 12th and 13th after the command.
    let total = ticks(11) + ticks(12);
    // The kernel's USER_HZ is 100 on every Linux platform this runs on.
    Duration::from_millis(total * 10)
}

/// Peak resident memory (VmHWM) in MB; zero where there is no `/proc`.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_a_few_percent() {
        let mut h = Histogram::default();
        for micros in 1..=10_000u64 {
            h.record(Duration::from_micros(micros));
        }
        let p50 = h.quantile_ms(0.5);
        let p99 = h.quantile_ms(0.99);
        assert!((5.0..=5.2).contains(&p50), "{p50}");
        assert!((9.9..=10.0).contains(&p99), "{p99}");
        assert_eq!(h.max_ms(), 10.0);
        let mut other = Histogram::default();
        other.record(Duration::from_secs(2));
        h.merge(&other);
        assert_eq!(h.max_ms(), 2000.0);
        assert_eq!(Histogram::default().quantile_ms(0.5), 0.0);
        for v in [0, 1, 63, 64, 65, 1000, 1 << 20, u64::MAX / 2] {
            assert!(upper_edge(bucket(v)) >= v, "{v}");
        }
    }

    #[test]
    fn this_process_has_used_cpu_and_memory() {
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(process_cpu() > Duration::ZERO);
        assert!(peak_rss_mb() > 1.0);
    }
}
