//! One run's figures (a JSON line each, appended to a results file) and the table with the goal's
//! ratios printed from that file.

use std::fmt::Write as _;

use crate::verify::Check;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RunResult {
    pub label: String,
    pub senders: usize,
    /// Calls each sender kept open at once (results written before this existed had one).
    #[serde(default = "one")]
    pub open_calls: usize,
    pub window_seconds: f64,
    pub ok_requests: u64,
    pub ok_events: u64,
    pub events_per_second: f64,
    pub requests_per_second: f64,
    pub events_per_request: f64,
    pub median_event_bytes: u32,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// 503 overloaded answers in the window, and how fast they came.
    pub overloaded: u64,
    pub rejected_p50_ms: Option<f64>,
    pub rejected_p99_ms: Option<f64>,
    pub unavailable: u64,
    pub other_status: u64,
    pub io_errors: u64,
    /// Re-sent deliveries that were answered, and the events the server called duplicates.
    pub resent: u64,
    pub duplicates_answered: u64,
    /// CPU time over the window, as a percentage of one core (200 = both cores of two).
    pub server_cpu_percent: Option<f64>,
    pub postgres_cpu_percent: Option<f64>,
    pub loadgen_cpu_percent: Option<f64>,
    /// Every process on the machine: what is left beyond the three above is someone else's.
    pub machine_cpu_percent: Option<f64>,
    /// Time the hypervisor ran other machines while this one wanted the CPU.
    #[serde(default)]
    pub steal_percent: Option<f64>,
    pub server_peak_rss_mb: Option<f64>,
    /// Write-ahead log written over the window: what every commit has to get onto the disk.
    pub wal_mb_per_second: Option<f64>,
    pub wal_bytes_per_event: Option<f64>,
    pub metrics: Option<ServerMetrics>,
    pub check: Option<Check>,
    pub failures: Vec<String>,
}

/// Read from the server's `/metrics` after the run (whole run, warm-up included).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ServerMetrics {
    pub mean_batch_events: Option<f64>,
    pub mean_commit_ms: Option<f64>,
    pub projection_lag_seconds: Option<f64>,
    /// Calls the projector folded new events into, and calls it recomputed from their log.
    pub calls_folded: Option<f64>,
    pub calls_recomputed: Option<f64>,
    /// New events the projector took from memory (handed over by the writers) and read back.
    pub events_from_memory: Option<f64>,
    pub events_read_back: Option<f64>,
}

impl ServerMetrics {
    pub fn from_text(text: &str) -> ServerMetrics {
        let mean = |name: &str| {
            let sum = sum_of(text, &format!("{name}_sum"))?;
            let count = sum_of(text, &format!("{name}_count"))?;
            (count > 0.0).then(|| sum / count)
        };
        // A gauge (the current lag) when there is one, else the mean of a histogram or summary.
        let lag = sum_of(text, "calltrail_projection_lag_seconds")
            .or_else(|| mean("calltrail_projection_lag_seconds"));
        ServerMetrics {
            mean_batch_events: mean("calltrail_ingest_batch_events"),
            mean_commit_ms: mean("calltrail_ingest_commit_duration_seconds").map(|s| s * 1000.0),
            projection_lag_seconds: lag,
            calls_folded: sum_with(text, PROJECTION_CALLS, "way=\"folded\""),
            calls_recomputed: sum_with(text, PROJECTION_CALLS, "way=\"recomputed\""),
            events_from_memory: sum_with(text, PROJECTION_EVENTS, "from=\"memory\""),
            events_read_back: sum_with(text, PROJECTION_EVENTS, "from=\"database\""),
        }
    }
}

const PROJECTION_CALLS: &str = "calltrail_projection_calls_total";
const PROJECTION_EVENTS: &str = "calltrail_projection_events_total";

/// The sum over every label set of the samples named exactly `name`.
fn sum_of(text: &str, name: &str) -> Option<f64> {
    sum_with(text, name, "")
}

/// The sum of the samples named exactly `name` whose line contains `label` (a `key="value"`).
fn sum_with(text: &str, name: &str, label: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with(' ') || rest.starts_with('{')) || !rest.contains(label) {
            continue;
        }
        if let Some(v) = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

/// Percentile of sorted microsecond samples, in milliseconds.
pub fn percentile_ms(sorted_us: &[u32], p: f64) -> Option<f64> {
    if sorted_us.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    let i = rank.clamp(1, sorted_us.len()) - 1;
    Some(f64::from(sorted_us[i]) / 1000.0)
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map(|v| format!("{v:.decimals$}"))
        .unwrap_or_else(|| "-".to_owned())
}

/// CPU microseconds spent per stored event: comparable between runs even when the machine is
/// shared and the throughput is not.
fn per_event_us(cpu_percent: Option<f64>, events_per_second: f64) -> Option<f64> {
    cpu_percent
        .filter(|_| events_per_second > 0.0)
        .map(|p| p / 100.0 * 1e6 / events_per_second)
}

fn percent(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0}%"))
        .unwrap_or_else(|| "-".to_owned())
}

fn one() -> usize {
    1
}

/// One line for the end of a run.
pub fn line(r: &RunResult) -> String {
    format!(
        "{}: {} senders ({} open calls each), {:.0} events/s ({:.0} requests/s), p50 {} ms, p95 {} ms, p99 {} ms, 503 overloaded {}",
        r.label,
        r.senders,
        r.open_calls,
        r.events_per_second,
        r.requests_per_second,
        opt(r.p50_ms, 2),
        opt(r.p95_ms, 2),
        opt(r.p99_ms, 2),
        r.overloaded
    )
}

pub fn table(results: &[RunResult]) -> String {
    let mut out = String::new();
    let header = [
        "run",
        "senders",
        "events/s",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "503",
        "503 p99 ms",
        "server CPU",
        "postgres CPU",
        "loadgen CPU",
        "machine CPU",
        "steal",
        "server µs/event",
        "postgres µs/event",
        "peak RSS MB",
        "WAL MB/s",
        "WAL B/event",
        "batch",
        "check",
    ];
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.label.clone(),
                r.senders.to_string(),
                format!("{:.0}", r.events_per_second),
                format!("{:.0}", r.requests_per_second),
                opt(r.p50_ms, 2),
                opt(r.p95_ms, 2),
                opt(r.p99_ms, 2),
                opt(r.max_ms, 1),
                r.overloaded.to_string(),
                opt(r.rejected_p99_ms, 2),
                percent(r.server_cpu_percent),
                percent(r.postgres_cpu_percent),
                percent(r.loadgen_cpu_percent),
                percent(r.machine_cpu_percent),
                percent(r.steal_percent),
                opt(per_event_us(r.server_cpu_percent, r.events_per_second), 1),
                opt(per_event_us(r.postgres_cpu_percent, r.events_per_second), 1),
                opt(r.server_peak_rss_mb, 1),
                opt(r.wal_mb_per_second, 1),
                opt(r.wal_bytes_per_event, 0),
                opt(r.metrics.as_ref().and_then(|m| m.mean_batch_events), 1),
                match &r.check {
                    None => "-".to_owned(),
                    Some(c) if c.ok => format!("ok {}", c.acknowledged),
                    Some(c) => format!("FAILED missing {} doubled {}", c.missing, c.doubled),
                },
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut push_row = |cells: Vec<String>| {
        let line: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        let _ = writeln!(out, "| {} |", line.join(" | "));
    };
    push_row(header.iter().map(|h| h.to_string()).collect());
    push_row(widths.iter().map(|w| "-".repeat(*w)).collect());
    for row in rows {
        push_row(row);
    }
    out
}

/// The issue's goal, checked against the runs named `group`, `per-request` and `bare`.
pub fn goals(results: &[RunResult]) -> String {
    let find = |label: &str| results.iter().rev().find(|r| r.label == label);
    let mut out = String::new();
    let Some(group) = find("group") else {
        return "no run labelled \"group\": nothing to check\n".to_owned();
    };
    let mut verdict = |name: &str, value: String, pass: Option<bool>| {
        let mark = match pass {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "n/a ",
        };
        let _ = writeln!(out, "{mark}  {name:<44} {value}");
    };
    verdict(
        "events/s stored >= 40000",
        format!("{:.0}", group.events_per_second),
        Some(group.events_per_second >= 40_000.0),
    );
    match find("per-request") {
        Some(p) if p.events_per_second > 0.0 => {
            let ratio = group.events_per_second / p.events_per_second;
            verdict(
                "group commit / per-request commit >= 3",
                format!("{ratio:.2}x"),
                Some(ratio >= 3.0),
            );
        }
        _ => verdict(
            "group commit / per-request commit >= 3",
            "no per-request run".to_owned(),
            None,
        ),
    }
    match find("bare") {
        Some(b) if b.events_per_second > 0.0 => {
            let ratio = group.events_per_second / b.events_per_second;
            verdict(
                "group commit / bare handler >= 30%",
                format!("{:.1}%", ratio * 100.0),
                Some(ratio >= 0.30),
            );
        }
        _ => verdict(
            "group commit / bare handler >= 30%",
            "no bare run".to_owned(),
            None,
        ),
    }
    verdict(
        "p99 < 10 ms",
        format!("{} ms", opt(group.p99_ms, 2)),
        group.p99_ms.map(|p| p < 10.0),
    );
    verdict(
        "peak RSS of calltrail < 100 MB",
        format!("{} MB", opt(group.server_peak_rss_mb, 1)),
        group.server_peak_rss_mb.map(|m| m < 100.0),
    );
    let checked: Vec<&RunResult> = results.iter().filter(|r| r.check.is_some()).collect();
    if !checked.is_empty() {
        let all_ok = checked
            .iter()
            .all(|r| r.check.as_ref().is_some_and(|c| c.ok));
        verdict(
            "every acknowledged event stored exactly once",
            checked
                .iter()
                .map(|r| {
                    let c = r.check.as_ref().expect("filtered");
                    format!(
                        "{}: {}/{}",
                        r.label,
                        c.acknowledged - c.missing,
                        c.acknowledged
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            Some(all_ok),
        );
    }
    if let Some(o) = find("overload") {
        let total = o.ok_requests + o.overloaded;
        let share = if total > 0 {
            o.overloaded as f64 * 100.0 / total as f64
        } else {
            0.0
        };
        verdict(
            "overload: 503 answered fast, memory bounded",
            format!(
                "{} senders: {share:.0}% answered 503 (p99 {} ms), 2xx p99 {} ms, peak RSS {} MB",
                o.senders,
                opt(o.rejected_p99_ms, 2),
                opt(o.p99_ms, 2),
                opt(o.server_peak_rss_mb, 1)
            ),
            o.server_peak_rss_mb.map(|m| m < 100.0),
        );
    }
    for r in results {
        if let Some(lag) = r.metrics.as_ref().and_then(|m| m.projection_lag_seconds) {
            let _ = writeln!(out, "      projection lag ({}): {lag:.3} s", r.label);
        }
        if let Some((folded, recomputed)) = r
            .metrics
            .as_ref()
            .and_then(|m| Some((m.calls_folded?, m.calls_recomputed?)))
            .filter(|(f, r)| f + r > 0.0)
        {
            let _ = writeln!(
                out,
                "      call passes ({}): {folded:.0} folded, {recomputed:.0} recomputed ({:.1} % folded)",
                r.label,
                100.0 * folded / (folded + recomputed)
            );
        }
        if let Some(metrics) = r.metrics.as_ref() {
            let memory = metrics.events_from_memory.unwrap_or(0.0);
            let read = metrics.events_read_back.unwrap_or(0.0);
            if memory + read > 0.0 {
                let _ = writeln!(
                    out,
                    "      new events folded ({}): {memory:.0} handed over in memory, {read:.0} read back ({:.1} % in memory)",
                    r.label,
                    100.0 * memory / (memory + read)
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_means_and_gauges_are_read() {
        let text = "# TYPE calltrail_ingest_batch_events histogram\n\
            calltrail_ingest_batch_events_bucket{le=\"1\"} 3\n\
            calltrail_ingest_batch_events_sum 120\n\
            calltrail_ingest_batch_events_count 4\n\
            calltrail_projection_lag_seconds 0.25\n";
        let m = ServerMetrics::from_text(text);
        assert_eq!(m.mean_batch_events, Some(30.0));
        assert_eq!(m.mean_commit_ms, None);
        assert_eq!(m.projection_lag_seconds, Some(0.25));
        assert_eq!((m.calls_folded, m.calls_recomputed), (None, None));

        let text = "calltrail_projection_calls_total{way=\"folded\"} 90\n\
            calltrail_projection_calls_total{way=\"recomputed\"} 10\n\
            calltrail_projection_events_total{from=\"memory\"} 700\n\
            calltrail_projection_events_total{from=\"database\"} 7\n";
        let m = ServerMetrics::from_text(text);
        assert_eq!(
            (m.calls_folded, m.calls_recomputed),
            (Some(90.0), Some(10.0))
        );
        assert_eq!(
            (m.events_from_memory, m.events_read_back),
            (Some(700.0), Some(7.0))
        );
    }

    #[test]
    fn every_row_of_the_table_has_every_column() {
        let line = r#"{"label":"group","senders":64,"window_seconds":20.0,"ok_requests":10,"ok_events":16,"events_per_second":0.8,"requests_per_second":0.5,"events_per_request":1.6,"median_event_bytes":1000,"p50_ms":1.0,"p95_ms":2.0,"p99_ms":3.0,"max_ms":4.0,"overloaded":0,"rejected_p50_ms":null,"rejected_p99_ms":null,"unavailable":0,"other_status":0,"io_errors":0,"resent":0,"duplicates_answered":0,"server_cpu_percent":10.0,"postgres_cpu_percent":20.0,"loadgen_cpu_percent":5.0,"machine_cpu_percent":40.0,"steal_percent":1.0,"server_peak_rss_mb":12.0,"wal_mb_per_second":1.0,"wal_bytes_per_event":3000.0,"metrics":null,"check":null,"failures":[]}"#;
        let run: RunResult = serde_json::from_str(line).unwrap();
        let text = table(&[run.clone(), run]);
        let columns: Vec<usize> = text.lines().map(|l| l.matches(" | ").count()).collect();
        assert!(columns.iter().all(|c| *c == columns[0]), "{text}");
        assert!(goals(&[]).contains("nothing to check"));
    }

    #[test]
    fn percentiles_pick_the_rank() {
        let samples: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&samples, 50.0), Some(50.0));
        assert_eq!(percentile_ms(&samples, 99.0), Some(99.0));
        assert_eq!(percentile_ms(&samples, 100.0), Some(100.0));
        assert_eq!(percentile_ms(&[], 99.0), None);
    }
}
