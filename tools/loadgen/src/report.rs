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
                check_cell(r.check.as_ref()),
            ]
        })
        .collect();
    markdown(&header, rows)
}

fn check_cell(check: Option<&Check>) -> String {
    match check {
        None => "-".to_owned(),
        Some(c) if c.ok => format!("ok {}", c.acknowledged),
        Some(c) => format!("FAILED missing {} doubled {}", c.missing, c.doubled),
    }
}

/// A Markdown table, each column padded to its widest cell.
fn markdown(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
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

/// One group run of a comparison (`scripts/bench-compare.sh`): its result, tagged with the
/// variant it measured and the round it ran in.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ComparedRun {
    pub variant: String,
    pub round: u32,
    #[serde(flatten)]
    pub result: RunResult,
}

impl ComparedRun {
    /// Whether every acknowledged event of the run was found stored exactly once.
    pub fn checked_ok(&self) -> bool {
        self.result.check.as_ref().is_some_and(|c| c.ok)
    }
}

/// Every run of a comparison, round by round; then per variant (in the order they first ran) the
/// median and range of events/s, the medians of p99 and CPU per event, and events/s against the
/// first variant's run of the same round.
pub fn comparison(runs: &[ComparedRun]) -> String {
    let mut variants: Vec<&str> = Vec::new();
    for run in runs {
        if !variants.contains(&run.variant.as_str()) {
            variants.push(&run.variant);
        }
    }
    let position = |r: &ComparedRun| variants.iter().position(|v| *v == r.variant);
    let mut ordered: Vec<&ComparedRun> = runs.iter().collect();
    ordered.sort_by_key(|r| (r.round, position(r)));
    let rows = ordered
        .iter()
        .map(|r| {
            let x = &r.result;
            vec![
                r.round.to_string(),
                r.variant.clone(),
                format!("{:.0}", x.events_per_second),
                opt(x.p50_ms, 2),
                opt(x.p99_ms, 2),
                opt(per_event_us(x.server_cpu_percent, x.events_per_second), 1),
                opt(per_event_us(x.postgres_cpu_percent, x.events_per_second), 1),
                percent(x.machine_cpu_percent),
                check_cell(x.check.as_ref()),
            ]
        })
        .collect();
    let mut out = markdown(
        &[
            "round",
            "variant",
            "events/s",
            "p50 ms",
            "p99 ms",
            "server µs/event",
            "postgres µs/event",
            "machine CPU",
            "check",
        ],
        rows,
    );
    let Some(first) = variants.first() else {
        return out;
    };
    let in_round = |variant: &str, round: u32| {
        runs.iter()
            .find(|r| r.variant == variant && r.round == round)
    };
    let rows = variants
        .iter()
        .map(|variant| {
            let mine: Vec<&RunResult> = ordered
                .iter()
                .filter(|r| r.variant == *variant)
                .map(|r| &r.result)
                .collect();
            let rates: Vec<f64> = mine.iter().map(|r| r.events_per_second).collect();
            let range = match (median(&rates), rates.iter().copied().reduce(f64::min)) {
                (Some(m), Some(low)) => {
                    let high = rates.iter().copied().fold(low, f64::max);
                    format!("{m:.0} ({low:.0}–{high:.0})")
                }
                _ => "-".to_owned(),
            };
            let cpu = |pick: fn(&RunResult) -> Option<f64>| {
                let v: Vec<f64> = mine
                    .iter()
                    .filter_map(|r| per_event_us(pick(r), r.events_per_second))
                    .collect();
                opt(median(&v), 1)
            };
            let against: Vec<String> = ordered
                .iter()
                .filter(|r| r.variant == *variant && r.variant != *first)
                .filter_map(|r| {
                    let base = in_round(first, r.round)?;
                    (base.result.events_per_second > 0.0).then(|| {
                        format!(
                            "{:.2}",
                            r.result.events_per_second / base.result.events_per_second
                        )
                    })
                })
                .collect();
            let p99: Vec<f64> = mine.iter().filter_map(|r| r.p99_ms).collect();
            vec![
                variant.to_string(),
                mine.len().to_string(),
                range,
                opt(median(&p99), 2),
                cpu(|r| r.server_cpu_percent),
                cpu(|r| r.postgres_cpu_percent),
                if against.is_empty() {
                    "-".to_owned()
                } else {
                    against.join(" ")
                },
            ]
        })
        .collect();
    let against_header = format!("events/s against {first}, round by round");
    out.push('\n');
    out.push_str(&markdown(
        &[
            "variant",
            "runs",
            "events/s median (min–max)",
            "p99 ms median",
            "server µs/event",
            "postgres µs/event",
            &against_header,
        ],
        rows,
    ));
    out
}

/// The middle value (the mean of the two middle ones for an even count); `None` when empty.
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
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
    // Several instances on one database (the `multi` run) must not cost PostgreSQL more per event
    // than one: they share its group commit rather than adding their own overhead to it. 15 %
    // leaves room for a shared machine's noise.
    if let Some(multi) = find("multi") {
        let pg = |r: &RunResult| per_event_us(r.postgres_cpu_percent, r.events_per_second);
        match (pg(multi), pg(group)) {
            (Some(m), Some(g)) if g > 0.0 => verdict(
                "PostgreSQL µs/event, multi / group <= 1.15",
                format!("{m:.1} / {g:.1} µs = {:.2}x", m / g),
                Some(m / g <= 1.15),
            ),
            _ => verdict(
                "PostgreSQL µs/event, multi / group <= 1.15",
                "no PostgreSQL CPU measured".to_owned(),
                None,
            ),
        }
    }
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

    fn compared(variant: &str, round: u32, events_per_second: f64, ok: bool) -> ComparedRun {
        let line = format!(
            r#"{{"variant":"{variant}","round":{round},"label":"group","senders":64,"window_seconds":10.0,"ok_requests":10,"ok_events":16,"events_per_second":{events_per_second},"requests_per_second":0.5,"events_per_request":1.6,"median_event_bytes":1000,"p50_ms":1.0,"p95_ms":2.0,"p99_ms":{p99},"max_ms":4.0,"overloaded":0,"rejected_p50_ms":null,"rejected_p99_ms":null,"unavailable":0,"other_status":0,"io_errors":0,"resent":0,"duplicates_answered":0,"server_cpu_percent":50.0,"postgres_cpu_percent":100.0,"loadgen_cpu_percent":5.0,"machine_cpu_percent":150.0,"metrics":null,"check":{{"acknowledged":16,"answered_stored":16,"rows":16,"missing":{missing},"doubled":0,"unacknowledged":0,"ok":{ok}}},"failures":[]}}"#,
            p99 = f64::from(round) * 10.0,
            missing = u8::from(!ok),
        );
        serde_json::from_str(&line).unwrap()
    }

    #[test]
    fn a_comparison_lists_every_run_and_sums_up_each_variant_against_the_first() {
        let runs = [
            compared("after", 2, 12_000.0, true),
            compared("before", 1, 10_000.0, true),
            compared("after", 1, 11_000.0, true),
            compared("before", 2, 8_000.0, true),
            compared("before", 3, 9_000.0, true),
            compared("after", 3, 9_900.0, false),
        ];
        assert!(runs[0].checked_ok());
        assert!(!runs[5].checked_ok());
        let text = comparison(&runs);
        let lines: Vec<&str> = text.lines().collect();
        // Runs round by round, each round in the order the variants first appear in the file.
        let runs_in_order: Vec<(&str, &str)> = lines[2..8]
            .iter()
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (cells[1], cells[2])
            })
            .collect();
        assert_eq!(
            runs_in_order,
            [
                ("1", "after"),
                ("1", "before"),
                ("2", "after"),
                ("2", "before"),
                ("3", "after"),
                ("3", "before"),
            ],
            "{text}"
        );
        // 50 % and 100 % of a core at 10,000 events/s: 50 and 100 µs per event.
        assert!(
            lines[3].contains("| 50.0 ") && lines[3].contains("| 100.0 "),
            "{text}"
        );
        assert!(lines[6].contains("FAILED missing 1"), "{text}");
        // The first variant in the file is the reference; medians, ranges and per-round ratios.
        let after = lines.iter().find(|l| l.starts_with("| after ")).unwrap();
        let before = lines.iter().find(|l| l.starts_with("| before ")).unwrap();
        assert!(
            text.contains("events/s against after, round by round"),
            "{text}"
        );
        assert!(after.contains("11000 (9900–12000)"), "{after}");
        assert!(after.contains("| 20.00 "), "median p99: {after}");
        let last_cell = |l: &str| {
            l.trim_end_matches('|')
                .rsplit('|')
                .next()
                .unwrap()
                .trim()
                .to_owned()
        };
        assert_eq!(
            last_cell(after),
            "-",
            "the reference has no ratio to itself: {after}"
        );
        assert!(before.contains("9000 (8000–10000)"), "{before}");
        assert!(before.contains("0.91 0.67 0.91"), "{before}");
        let columns: Vec<usize> = lines
            .iter()
            .filter(|l| l.starts_with('|'))
            .map(|l| l.matches(" | ").count())
            .collect();
        assert_eq!(columns.len(), 2 + 6 + 2 + 2, "{text}");
    }

    #[test]
    fn medians_take_the_middle() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
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
