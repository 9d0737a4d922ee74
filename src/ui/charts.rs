//! Bar charts drawn on the server as SVG, for the summary report's buckets. Series are told apart by
//! pattern (solid, hatched, dotted) as well as colour, and every chart is followed by the same
//! numbers as a table.

use maud::{html, Markup};

use crate::api::reports::Bucket;
use crate::ui::page;

const W: f64 = 960.0;
const H: f64 = 200.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 30.0;

pub struct Series {
    pub label: &'static str,
    pub values: Vec<Option<f64>>,
}

/// How a chart's values read: how to write one, and the top of the axis when it is fixed (a rate
/// runs to 100 %, whatever the data) rather than the largest value.
pub struct Scale {
    pub format: fn(f64) -> String,
    pub top: Option<f64>,
}

pub const COUNT: Scale = Scale {
    format: count,
    top: None,
};
pub const SECONDS: Scale = Scale {
    format: seconds,
    top: None,
};
pub const RATE: Scale = Scale {
    format: percent,
    top: Some(1.0),
};

/// Grouped bars, one group per bucket.
pub fn bars(id: &str, title: &str, labels: &[String], series: &[Series], scale: &Scale) -> Markup {
    let format = scale.format;
    let largest = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .copied()
        .fold(0.0_f64, f64::max);
    let max = match scale.top {
        Some(top) => top,
        None if largest > 0.0 => largest,
        None => 1.0,
    };
    let groups = labels.len().max(1) as f64;
    let step = (W - LEFT) / groups;
    let width = ((step - 4.0) / series.len().max(1) as f64).max(1.0);
    let y = |v: f64| (H - BOTTOM) - (v / max) * (H - BOTTOM - 10.0);
    let every = (labels.len() / 8).max(1);
    html! {
        figure.chart {
            figcaption #(format!("{id}-title")) { (title) }
            p.legend {
                @for (n, s) in series.iter().enumerate() {
                    span class=(format!("key series-{n}")) {} " " (s.label) " "
                }
            }
            svg.chart role="img" aria-labelledby=(format!("{id}-title")) viewBox=(format!("0 0 {W} {H}"))
                width=(W) height=(H) xmlns="http://www.w3.org/2000/svg" {
                title { (title) "; the table below has the numbers" }
                defs {
                    pattern id=(format!("{id}-hatch")) patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)" {
                        rect.hatch-bg width="6" height="6" {}
                        line.hatch-line x1="0" y1="0" x2="0" y2="6" {}
                    }
                    pattern id=(format!("{id}-dots")) patternUnits="userSpaceOnUse" width="6" height="6" {
                        rect.dots-bg width="6" height="6" {}
                        circle.dots-dot cx="3" cy="3" r="1.4" {}
                    }
                }
                line.axis x1=(LEFT) y1=(H - BOTTOM) x2=(W) y2=(H - BOTTOM) {}
                text.tick-label x="4" y="16" { (format(max)) }
                text.tick-label x="4" y=(H - BOTTOM) { (format(0.0)) }
                @for (i, label) in labels.iter().enumerate() {
                    @let x0 = LEFT + i as f64 * step + 2.0;
                    @for (n, s) in series.iter().enumerate() {
                        @if let Some(Some(v)) = s.values.get(i) {
                            @let fill = match n { 0 => "series-0".to_owned(), 1 => format!("url(#{id}-hatch)"), _ => format!("url(#{id}-dots)") };
                            rect class=(format!("bar series-{n}")) fill=[(n > 0).then_some(fill)]
                                x=(x0 + n as f64 * width) y=(y(*v)) width=(width) height=((H - BOTTOM) - y(*v)) {}
                        }
                    }
                    @if i % every == 0 {
                        text.tick-label x=(x0) y=(H - 10.0) { (label) }
                    }
                }
            }
        }
    }
}

pub fn count(v: f64) -> String {
    format!("{v:.0}")
}

pub fn seconds(v: f64) -> String {
    format!("{:.1} s", v / 1000.0)
}

pub fn percent(v: f64) -> String {
    format!("{:.0} %", v * 100.0)
}

/// The summary report's numbers, one row per bucket: the charts' twin.
pub fn table(caption: &str, buckets: &[Bucket]) -> Markup {
    html! {
        table {
            caption { (caption) }
            thead { tr {
                th scope="col" { "Bucket (UTC)" } th scope="col" { "Calls" } th scope="col" { "Connected" }
                th scope="col" { "Failed" } th scope="col" { "Duration p50" } th scope="col" { "Duration p95" }
                th scope="col" { "Participants" } th scope="col" { "Key presses" } th scope="col" { "Media success" }
            } }
            tbody {
                @for b in buckets {
                    tr {
                        th scope="row" { (page::time(b.start)) }
                        td.num { (b.calls) } td.num { (b.connected) } td.num { (b.failed) }
                        td.num { (page::duration(b.duration_p50_ms.map(|v| v as i64))) }
                        td.num { (page::duration(b.duration_p95_ms.map(|v| v as i64))) }
                        td.num { (b.participants) }
                        td.num { (b.dtmf_tones) }
                        td.num { (b.media_success_rate.map_or("—".to_owned(), percent)) }
                    }
                }
            }
        }
    }
}

/// The calls chart of a report: calls, connected, failed per bucket.
pub fn calls(id: &str, title: &str, labels: &[String], buckets: &[Bucket]) -> Markup {
    let of = |f: fn(&Bucket) -> i64| buckets.iter().map(|b| Some(f(b) as f64)).collect();
    bars(
        id,
        title,
        labels,
        &[
            Series {
                label: "calls",
                values: of(|b| b.calls),
            },
            Series {
                label: "connected (hatched)",
                values: of(|b| b.connected),
            },
            Series {
                label: "failed (dotted)",
                values: of(|b| b.failed),
            },
        ],
        &COUNT,
    )
}
